/* SPDX-License-Identifier: MIT */
/* Decode once, account everywhere. Time moves only with packets: a window closes when a
 * frame's time stamp crosses its end (empty windows in between are emitted too, so a quiet
 * period shows as zeros, not as a gap). */
#include "dispatch.h"

#include "../common/err.h"

#include <stdlib.h>
#include <string.h>

void disp_config_defaults(struct disp_config *cfg)
{
    flow_config_defaults(&cfg->flow);
    cfg->window_ns = 60ull * 1000000000ull;
    cfg->max_windows = 10080; /* a week of minutes */
    cfg->top_k = 1024;
}

static void on_txn(void *user, const struct flow_txn *t)
{
    struct dispatch *d = user;

    d->cur.outcome[t->outcome]++;
    d->cur.edns_errors += win_edns_error(t);
    if (t->outcome == FLOW_ANSWERED) {
        uint64_t us = t->latency_ns / 1000;
        hist_add(&d->lat_total, us);
        hist_add(&d->lat_win, us);
    }
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_txn)
            d->sinks[i].on_txn(d->sinks[i].user, t);
}

struct dispatch *disp_new(const struct disp_config *cfg, const struct cap_stats *cap)
{
    struct dispatch *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->cfg = *cfg;
    if (d->cfg.window_ns == 0)
        d->cfg.window_ns = 60ull * 1000000000ull;
    if (d->cfg.max_windows == 0)
        d->cfg.max_windows = 1;
    d->cap = cap; /* d->stats is zero from calloc */
    d->flow = flow_new(&cfg->flow, on_txn, d);
    d->wins = calloc(d->cfg.max_windows, sizeof(*d->wins));
    d->rd = regdom_new();
    if (!d->flow || !d->wins || !d->rd || topn_init(&d->clients, cfg->top_k, 16) < 0 ||
        topn_init(&d->servers, cfg->top_k, 16) < 0 ||
        topn_init(&d->qnames, cfg->top_k, DNS_MAX_NAME) < 0 ||
        topn_init(&d->regdoms, cfg->top_k, DNS_MAX_NAME) < 0) {
        disp_free(d);
        return NULL;
    }
    return d;
}

void disp_free(struct dispatch *d)
{
    if (!d)
        return;
    flow_free(d->flow);
    topn_free(&d->clients);
    topn_free(&d->servers);
    topn_free(&d->qnames);
    topn_free(&d->regdoms);
    regdom_free(d->rd);
    free(d->wins);
    free(d);
}

int disp_add_sink(struct dispatch *d, const struct disp_sink *sink)
{
    if (d->nsinks == DISP_MAX_SINKS)
        return ERR_FULL;
    d->sinks[d->nsinks++] = *sink;
    return 0;
}

static void loss_now(const struct dispatch *d, uint64_t out[LOSS_N])
{
    struct flow_counts fc;
    flow_get_counts(d->flow, &fc);
    loss_snapshot(d->cap, d->stats.malformed_total, fc.outcome[FLOW_EVICTED], out);
}

static void win_open(struct dispatch *d, uint64_t start)
{
    memset(&d->cur, 0, sizeof(d->cur));
    d->cur.start_ns = start;
    d->cur.end_ns = start + d->cfg.window_ns;
    hist_reset(&d->lat_win);
    loss_now(d, d->loss_start);
    d->have_win = true;
}

static void win_close(struct dispatch *d)
{
    uint64_t loss[LOSS_N];
    struct win_stats *slot;

    d->cur.latency_samples = d->lat_win.count;
    hist_percentile(&d->lat_win, 50, &d->cur.p50_us);
    hist_percentile(&d->lat_win, 95, &d->cur.p95_us);
    hist_percentile(&d->lat_win, 99, &d->cur.p99_us);
    loss_now(d, loss);
    for (int i = 0; i < LOSS_N; i++)
        d->cur.loss[i] = loss[i] - d->loss_start[i];
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_window)
            d->sinks[i].on_window(d->sinks[i].user, &d->cur);
    if (d->nwins == d->cfg.max_windows) {
        d->wins_head = (d->wins_head + 1) % d->cfg.max_windows;
        d->nwins--;
        d->wins_dropped++;
    }
    slot = &d->wins[(d->wins_head + d->nwins) % d->cfg.max_windows];
    *slot = d->cur;
    d->nwins++;
    d->wins_total++;
}

void disp_time(struct dispatch *d, uint64_t now_ns)
{
    if (!d->have_win) {
        win_open(d, now_ns - now_ns % d->cfg.window_ns);
    } else {
        /* Quiet periods show as empty windows, but at most DISP_MAX_GAP_WINDOWS of them:
         * a time stamp far ahead (a clock jump, a damaged record) skips the rest and is
         * counted, instead of emitting billions of windows. */
        unsigned n = 0;
        while (now_ns >= d->cur.end_ns) {
            uint64_t next = d->cur.end_ns;
            win_close(d);
            if (++n == DISP_MAX_GAP_WINDOWS && now_ns - next >= d->cfg.window_ns) {
                uint64_t skip = (now_ns - next) / d->cfg.window_ns;
                d->wins_skipped += skip;
                next += skip * d->cfg.window_ns;
            }
            win_open(d, next);
        }
    }
    flow_advance(d->flow, now_ns);
}

void disp_msg(void *user, const struct cap_msg *cm)
{
    struct dispatch *d = user;
    struct dns_msg *m = &d->msg;
    const struct cap_meta *meta = cm->meta;

    uint64_t hn = 0, qhash = 0, kh = 0, hc = 0, hs = 0, hr = 0;
    size_t alen = meta->af == 4 ? 4 : 16, rstart = 0;
    bool query, named = false;

    dns_decode(cm->data, cm->len, meta->truncated, m);
    query = m->has_header && !m->qr;
    /* Hashes first, and their table slots requested from memory: the counting below runs
     * while those cache lines arrive. */
    if (m->has_header)
        kh = flow_prefetch(d->flow, m, meta);
    if (m->has_qtype) {
        /* One hash of the folded name serves the flow store, the top list and HLL. */
        hn = sketch_hash(m->qname, m->qname_len, true);
        qhash = flow_question_hash_from(hn, m);
    }
    if (query) {
        hc = sketch_hash(meta->src, alen, false) ^ meta->af;
        hs = sketch_hash(meta->dst, alen, false) ^ meta->af;
        topn_prefetch(&d->clients, hc);
        topn_prefetch(&d->servers, hs);
        if (m->has_question) {
            topn_prefetch(&d->qnames, hn);
            named = regdom_find(d->rd, m->qname, m->qname_len, &rstart);
            if (named) {
                hr = sketch_hash(m->qname + rstart, m->qname_len - rstart, true);
                topn_prefetch(&d->regdoms, hr);
            }
        }
    }
    disp_time(d, meta->ts_ns);
    dns_stats_add(&d->stats, m, meta);
    win_add_msg(&d->cur, m, meta);
    if (m->has_header && m->qr) {
        d->resp_size[win_size_bucket(m->len)]++;
    } else if (query) {
        /* Top lists and distinct counts follow the queries: who asks, whom, for what. */
        topn_add(&d->clients, meta->src, alen, hc);
        topn_add(&d->servers, meta->dst, alen, hs);
        hll_add(&d->hll_clients, hc);
        if (m->has_question) {
            topn_add_fold(&d->qnames, m->qname, m->qname_len, hn, true);
            hll_add(&d->hll_qnames, hn);
            if (named) {
                topn_add_fold(&d->regdoms, m->qname + rstart, m->qname_len - rstart, hr, true);
                hll_add(&d->hll_regdoms, hr);
            }
        }
    }
    flow_message(d->flow, m, qhash, kh, meta);
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_message)
            d->sinks[i].on_message(d->sinks[i].user, m, meta);
}

void disp_event(void *user, const struct cap_event *ev)
{
    struct dispatch *d = user;
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_event)
            d->sinks[i].on_event(d->sinks[i].user, ev);
}

void disp_finish(struct dispatch *d)
{
    flow_flush(d->flow);
    if (d->have_win) {
        win_close(d);
        d->have_win = false;
    }
}

const struct win_stats *disp_window(const struct dispatch *d, uint32_t i)
{
    return &d->wins[(d->wins_head + i) % d->cfg.max_windows];
}
