/* SPDX-License-Identifier: MIT */
/* The analysis dispatcher: receives each DNS payload from capture/, decodes it once, and
 * feeds the totals, the current window, the flow store and the top-N/distinct sketches, then
 * hands the read-only results to an optional sink (rules/ plugs in there; analyze/ never
 * includes rules/). Owns all of that state; everything is sized at creation.
 *
 * Two halves: the message half (decode, totals, window counts, sketches) and the flow half
 * (flow store, transactions, the sinks). They run one after the other on the caller's
 * thread, or, after disp_pipe_start(), the flow half runs on a second thread fed through a
 * ring: each message is copied into the ring and decoded there, so the views the sinks get
 * stay valid on that thread. Both ways give identical results (the flow half sees the same
 * sequence of time steps, messages, events and window closes); tests compare them. */
#ifndef DV_ANALYZE_DISPATCH_H
#define DV_ANALYZE_DISPATCH_H

#include "dns.h"
#include "flow.h"
#include "regdom.h"
#include "sketch.h"
#include "stats.h"
#include "window.h"
#include "xfr.h"
#include "../capture/cap.h"

struct disp_config {
    struct flow_config flow;
    uint64_t window_ns;   /* window length (default 60 s) */
    uint32_t max_windows; /* finished windows kept in memory for output (oldest dropped) */
    uint32_t top_k;       /* counters per heavy-hitter sketch */
    uint32_t xfr_slots;   /* zone transfers in progress (and requests outstanding) tracked */
};

void disp_config_defaults(struct disp_config *cfg);

/* Callbacks for consumers of the analysis (rules, the store). Any may be NULL. */
#define DISP_MAX_SINKS 8
#define DISP_MAX_GAP_WINDOWS 10080 /* empty windows emitted for one gap (a week of minutes) */

/* A captured frame, after its messages were handed on (for the evidence ring); af 0 when
 * it had no IP header, else src/dst are its addresses. Views valid during the call. */
struct disp_frame {
    uint64_t ts_ns;
    int dlt;
    uint32_t caplen, wirelen;
    const uint8_t *data;
    uint8_t af;
    const uint8_t *src, *dst;
};

struct disp_sink {
    void (*on_message)(void *user, const struct dns_msg *m, const struct cap_meta *meta);
    void (*on_txn)(void *user, const struct flow_txn *txn);
    void (*on_window)(void *user, const struct win_stats *w);
    void (*on_event)(void *user, const struct cap_event *ev);
    void (*on_xfr)(void *user, const struct xfr_result *x); /* a zone transfer ended */
    void (*on_frame)(void *user, const struct disp_frame *f);
    void (*on_log)(void *user, const struct srvlog_event *ev); /* a server-log event */
    void *user;
};

struct disp_pipe;

/* The flow half's share of the current window (answered/unanswered/..., EDNS errors,
 * latency), joined with the message half's counts when the window closes. */
struct disp_back {
    uint64_t outcome[FLOW_OUTCOME_N];
    uint64_t edns_errors;
    uint64_t evicted_start; /* flow-store evictions when the window opened */
};

struct dispatch {
    /* Set up before the first message; both halves read them. */
    struct disp_config cfg;
    const struct cap_stats *cap;
    struct disp_sink sinks[DISP_MAX_SINKS];
    unsigned nsinks;
    bool want_frames; /* a sink takes frames (only then are they handed over) */
    flow_store *flow;
    struct xfr_tracker *xfr;
    struct regdom *rd;
    struct disp_pipe *pipe; /* non-NULL while the flow half runs on its own thread */
    uint64_t pipe_waits[2]; /* hand-over ring found full (producer) / empty (flow thread) */
    uint64_t pipe_cpu_ns;   /* CPU time of the flow threads */
    /* Message half: written on the caller's thread. Each half's state starts on a cache
     * line of its own, so the two threads never write to one line (false sharing). */
    _Alignas(64) struct dns_msg msg; /* decode scratch */
    struct dns_stats stats;
    uint64_t resp_size[WIN_SIZE_BUCKETS];
    bool have_win;
    struct win_stats cur; /* message half of the current window */
    uint64_t loss_start[LOSS_N];
    uint64_t wins_skipped; /* empty windows not emitted across a long gap */
    struct topn clients, servers;
    struct hll hll_clients;
    /* Flow half: written on the flow thread when there is one. */
    _Alignas(64) struct disp_back back; /* flow half of the current window */
    struct hist lat_total, lat_win;
    struct topn qnames, regdoms;
    struct hll hll_qnames, hll_regdoms;
    struct win_stats *wins; /* ring of finished windows */
    uint32_t wins_head, nwins;
    uint64_t wins_total, wins_dropped;
    _Alignas(64) char end[1]; /* nothing after the flow half shares its last line */
};

/* Creates the dispatcher; cap is the capture layer's counters (read for loss accounting).
 * Returns NULL when out of memory or without a public suffix list. */
struct dispatch *disp_new(const struct disp_config *cfg, const struct cap_stats *cap);
void disp_free(struct dispatch *d);
/* Adds a consumer; they are called in the order added. Returns ERR_FULL beyond
 * DISP_MAX_SINKS. */
int disp_add_sink(struct dispatch *d, const struct disp_sink *sink);

/* capture/ callbacks (user = the dispatcher). */
void disp_msg(void *user, const struct cap_msg *cm);
void disp_event(void *user, const struct cap_event *ev);

/* A server-log event, on the same timeline as the packets (it moves packet time to its
 * time stamp): counted in the current window, then handed to the sinks. */
void disp_log(struct dispatch *d, const struct srvlog_event *ev);

/* A frame, after cap_decode() of it: to the sinks that take frames, in the same place of
 * the sequence on either thread. Does nothing unless a sink has on_frame. */
void disp_frame(struct dispatch *d, const struct disp_frame *f);

/* Advances packet time (call once per captured frame): closes windows, expires queries. */
void disp_time(struct dispatch *d, uint64_t now_ns);

/* From now on the flow half (flow store, transactions, every sink) runs on a second thread;
 * the caller keeps calling disp_msg/disp_event/disp_time from one thread. ring_bytes sizes
 * the hand-over ring (0 = 4 MiB, at least 512 KiB). Sinks then run on that thread: they must not
 * share unsynchronised state with the caller's thread. 0, ERR_NOMEM, or ERR_INVAL if already
 * started. */
int disp_pipe_start(struct dispatch *d, size_t ring_bytes);
/* Hands over what is pending, waits until the flow half has handled all of it, and stops
 * the thread: afterwards everything runs on the caller's thread again and all state may be
 * read. No-op without a pipe. */
void disp_pipe_stop(struct dispatch *d);
/* How often the hand-over found the ring full (producer) or empty (flow thread), and the
 * flow thread's CPU time, over all pipes so far (for the debug log and the benchmark). */
void disp_pipe_stats(const struct dispatch *d, uint64_t *producer, uint64_t *consumer,
                     uint64_t *flow_cpu_ns);

/* End of input: pending queries end unanswered, the last window closes. */
void disp_finish(struct dispatch *d);

/* The i-th kept window, oldest first (i < d->nwins). */
const struct win_stats *disp_window(const struct dispatch *d, uint32_t i);

#endif
