/* SPDX-License-Identifier: MIT */
/* The published view of a running analysis (DESIGN.md principle 6): the analysis thread
 * builds a complete, self-contained copy of the figures once a second and swaps it in under
 * a mutex; the live view (tui/) and the metrics endpoint (report/metrics.c) read only
 * this copy, never the live tables. */
#ifndef DV_ANALYZE_SNAPSHOT_H
#define DV_ANALYZE_SNAPSHOT_H

#include "dispatch.h"
#include "window.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SNAP_HIST 120  /* seconds of rate history */
#define SNAP_TOP 20    /* entries per top list */
#define SNAP_ALERTS 64 /* newest alerts kept */
#define SNAP_RULES 16

enum { SNAP_CLIENTS, SNAP_SERVERS, SNAP_QNAMES, SNAP_DOMAINS, SNAP_TOPS };

struct snap_alert {
    unsigned id;
    char rule[32], severity[16], state[16], key[128];
    char summary[256], reference[64];
    char client[48], server[48], victim[48], zone[128], qname[128];
    char evidence[512], evidence_file[256];
    uint64_t first_ns, last_ns, count;
    double observed;
};

struct snap_top {
    char name[96];
    uint64_t count;
};

struct snap {
    uint64_t seq; /* 0: nothing published yet */
    char source[160];
    bool live, finished;
    uint64_t wall_start_ns, wall_ns, pkt_first_ns, pkt_ns;
    uint64_t packets, messages, queries, responses, malformed;
    uint64_t kernel_drops, if_drops, loss_total;
    uint64_t loss[LOSS_N];
    uint64_t rcode[WIN_RCODES]; /* responses by RCODE (WIN_RCODES - 1 = higher codes) */
    uint64_t outcome[FLOW_OUTCOME_N];
    uint64_t edns, edns_do, tc, edns_errors;
    bool have_latency;
    uint64_t p50_us, p95_us, p99_us;
    double qps, rps;    /* over the last second (packet time in a replay, wall time live) */
    bool rates_average; /* a finished replay: qps/rps are its averages over packet time */
    float q_hist[SNAP_HIST], r_hist[SNAP_HIST]; /* oldest first */
    unsigned hist_n;
    bool have_ratio;
    double err_ratio, err_base; /* last window's errors/queries, and its running baseline */
    uint64_t windows;
    struct snap_top top[SNAP_TOPS][SNAP_TOP];
    unsigned ntop[SNAP_TOPS];
    struct snap_alert alerts[SNAP_ALERTS]; /* newest first */
    unsigned nalerts;
    uint64_t alerts_total, alerts_open;
    char rule_names[SNAP_RULES][32];
    uint64_t rule_alerts[SNAP_RULES];
    unsigned nrules;
    char store[128];        /* "off", "ok: N rows", ... */
    uint64_t store_dropped; /* detail records the store could not keep */
};

struct snap_pub {
    pthread_mutex_t mu;
    struct snap shared; /* what readers copy */
    struct snap work;   /* built by the analysis thread */
    uint64_t last_q, last_r, last_wall, last_pkt;
    uint64_t closed_edns_errors;
};

void snap_pub_init(struct snap_pub *p, const char *source, bool live, uint64_t wall_ns);
void snap_pub_destroy(struct snap_pub *p);

/* Analysis thread: a window closed; an alert line (open/update/closed) was written. */
void snap_pub_window(struct snap_pub *p, const struct win_stats *w);
void snap_pub_alert(struct snap_pub *p, const struct snap_alert *a);

/* Analysis thread: refreshes the figures from the dispatcher and capture counters and
 * publishes them. */
void snap_pub_update(struct snap_pub *p, const struct dispatch *d, const struct cap_stats *cap,
                     uint64_t wall_ns, bool finished, const char *store, uint64_t store_dropped);

/* Any thread: copies the last published snapshot. */
void snap_read(struct snap_pub *p, struct snap *out);

#endif
