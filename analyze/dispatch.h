/* SPDX-License-Identifier: MIT */
/* The analysis dispatcher: receives each DNS payload from capture/, decodes it once, and
 * feeds the totals, the current window, the flow store and the top-N/distinct sketches, then
 * hands the read-only results to an optional sink (rules/ plugs in there; analyze/ never
 * includes rules/). Owns all of that state; everything is sized at creation. */
#ifndef DV_ANALYZE_DISPATCH_H
#define DV_ANALYZE_DISPATCH_H

#include "dns.h"
#include "flow.h"
#include "regdom.h"
#include "sketch.h"
#include "stats.h"
#include "window.h"
#include "../capture/cap.h"

struct disp_config {
    struct flow_config flow;
    uint64_t window_ns;   /* window length (default 60 s) */
    uint32_t max_windows; /* finished windows kept in memory for output (oldest dropped) */
    uint32_t top_k;       /* counters per heavy-hitter sketch */
};

void disp_config_defaults(struct disp_config *cfg);

/* Callbacks for consumers of the analysis (rules, the store). Any may be NULL. */
#define DISP_MAX_SINKS 4
#define DISP_MAX_GAP_WINDOWS 10080 /* empty windows emitted for one gap (a week of minutes) */

struct disp_sink {
    void (*on_message)(void *user, const struct dns_msg *m, const struct cap_meta *meta);
    void (*on_txn)(void *user, const struct flow_txn *txn);
    void (*on_window)(void *user, const struct win_stats *w);
    void (*on_event)(void *user, const struct cap_event *ev);
    void *user;
};

struct dispatch {
    struct disp_config cfg;
    const struct cap_stats *cap;
    struct disp_sink sinks[DISP_MAX_SINKS];
    unsigned nsinks;
    struct dns_msg msg; /* decode scratch */
    struct dns_stats stats;
    flow_store *flow;
    struct hist lat_total, lat_win;
    uint64_t resp_size[WIN_SIZE_BUCKETS];
    struct topn clients, servers, qnames, regdoms;
    struct hll hll_clients, hll_qnames, hll_regdoms;
    struct regdom *rd;
    bool have_win;
    struct win_stats cur;
    uint64_t loss_start[LOSS_N];
    struct win_stats *wins; /* ring of finished windows */
    uint32_t wins_head, nwins;
    uint64_t wins_total, wins_dropped;
    uint64_t wins_skipped; /* empty windows not emitted across a long gap */
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

/* Advances packet time (call once per captured frame): closes windows, expires queries. */
void disp_time(struct dispatch *d, uint64_t now_ns);

/* End of input: pending queries end unanswered, the last window closes. */
void disp_finish(struct dispatch *d);

/* The i-th kept window, oldest first (i < d->nwins). */
const struct win_stats *disp_window(const struct dispatch *d, uint32_t i);

#endif
