/* SPDX-License-Identifier: MIT */
/* Decode once, account everywhere. Time moves only with packets: a window closes when a
 * frame's time stamp crosses its end (empty windows in between are emitted too, so a quiet
 * period shows as zeros, not as a gap). */
#include "dispatch.h"

#include "../common/err.h"
#include "../common/spsc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void disp_config_defaults(struct disp_config *cfg)
{
    flow_config_defaults(&cfg->flow);
    cfg->window_ns = 60ull * 1000000000ull;
    cfg->max_windows = 10080; /* a week of minutes */
    cfg->top_k = 1024;
    cfg->xfr_slots = 256;
}

static void on_txn(void *user, const struct flow_txn *t)
{
    struct dispatch *d = user;

    d->back.outcome[t->outcome]++;
    d->back.edns_errors += win_edns_error(t);
    if (t->outcome == FLOW_ANSWERED) {
        uint64_t us = t->latency_ns / 1000;
        hist_add(&d->lat_total, us);
        hist_add(&d->lat_win, us);
    }
    if (dns_is_xfr(t->qtype))
        xfr_txn(d->xfr, t);
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_txn)
            d->sinks[i].on_txn(d->sinks[i].user, t);
}

static void on_xfr(void *user, const struct xfr_result *x)
{
    struct dispatch *d = user;
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_xfr)
            d->sinks[i].on_xfr(d->sinks[i].user, x);
}

struct dispatch *disp_new(const struct disp_config *cfg, const struct cap_stats *cap)
{
    /* Aligned, so that the halves' cache-line boundaries are real. */
    struct dispatch *d = aligned_alloc(64, sizeof(*d));

    if (!d)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    if (d->cfg.window_ns == 0)
        d->cfg.window_ns = 60ull * 1000000000ull;
    if (d->cfg.max_windows == 0)
        d->cfg.max_windows = 1;
    d->cap = cap; /* d->stats is zero from the memset */
    d->flow = flow_new(&cfg->flow, on_txn, d);
    d->xfr = xfr_new(d->cfg.xfr_slots, on_xfr, d);
    d->wins = calloc(d->cfg.max_windows, sizeof(*d->wins));
    d->rd = regdom_new();
    if (!d->flow || !d->xfr || !d->wins || !d->rd || topn_init(&d->clients, cfg->top_k, 16) < 0 ||
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
    disp_pipe_stop(d);
    flow_free(d->flow);
    xfr_free(d->xfr);
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
    d->want_frames |= sink->on_frame != NULL;
    return 0;
}

/* ---- the hand-over ring (flow half on its own thread) ---- */

enum rec_type { REC_MSG = 1, REC_EVENT, REC_TIME, REC_WINDOW, REC_FRAME, REC_LOG };

/* A message record is this, then the payload copy, then the decoded view of the copy: the
 * view ends in the name buffer, which a message whose name is used in place (nearly all)
 * never writes, so those lines cost nothing. */
struct rec_msg {
    uint64_t now;     /* packet time of the dispatcher when the message came */
    uint32_t msg_off; /* the struct dns_msg, from the start of this record */
    struct cap_meta meta;
};

static inline struct dns_msg *rec_msg_view(const struct rec_msg *r)
{
    return (struct dns_msg *)(uintptr_t)((const uint8_t *)r + r->msg_off);
}

struct rec_event {
    uint64_t now;
    struct cap_meta meta;
    enum cap_event_kind kind;
    uint32_t pending_bytes;
};

struct rec_time {
    uint64_t now;
};

struct rec_log {
    uint64_t now;
    struct srvlog_event ev;
};

/* A frame for the evidence ring: this, then the frame's bytes. */
struct rec_frame {
    uint64_t now;
    uint64_t ts_ns;
    int32_t dlt;
    uint32_t caplen, wirelen;
    uint8_t af;
    uint8_t src[16], dst[16];
};

struct rec_window {
    uint64_t now;
    struct win_stats w; /* the message half's counts; the flow half adds its own */
};

#define PIPE_TAKE 64 /* records the flow thread takes at once */
#define PIPE_AHEAD 4 /* messages ahead whose flow-index slot is prefetched */

struct disp_pipe {
    struct spsc q;
    pthread_t thread;
    /* The caller's thread writes these... */
    _Alignas(64) uint64_t now; /* packet time last handed over */
    bool time_pending;         /* a time step not yet carried by any record */
    /* ...and the flow thread these, on another cache line. */
    _Alignas(64) uint64_t back_now; /* time the flow store was last advanced to */
    uint64_t back_cpu_ns;           /* its CPU time, when it ends */
};

/* ---- flow half ---- */

/* The hashes of one message, computed and their table slots requested from memory ahead of
 * use (the flow thread does it a few records ahead; one thread does it before counting):
 * the flow key (kh), the question (qhash), the folded name (hn), and for a query the
 * client, server and registered domain (hc, hs, hr at rstart when named). */
struct msg_hashes {
    uint64_t kh, qhash, hn, hr;
    uint8_t rstart;
    bool query, named;
};

static inline void msg_hashes(const struct dispatch *d, const struct dns_msg *m,
                              const struct cap_meta *meta, struct msg_hashes *h)
{
    size_t rstart = 0;

    h->kh = h->qhash = h->hn = 0;
    h->query = h->named = false;
    if (!m->has_header)
        return;
    h->kh = flow_prefetch(d->flow, m, meta);
    if (m->has_qtype) {
        /* One hash of the folded name serves the flow store, the top list and HLL. */
        h->hn = sketch_hash(m->qname, m->qname_len, true);
        h->qhash = flow_question_hash_from(h->hn, m);
    }
    if (m->qr || !m->has_question)
        return;
    h->query = true;
    topn_prefetch(&d->qnames, h->hn);
    if (regdom_find(d->rd, m->qname, m->qname_len, &rstart)) {
        h->named = true;
        h->rstart = (uint8_t)rstart;
        h->hr = sketch_hash(m->qname + rstart, m->qname_len - rstart, true);
        topn_prefetch(&d->regdoms, h->hr);
    }
}

/* The query name and registered domain top lists and distinct counts (flow half). */
static void tops_msg(struct dispatch *d, const struct dns_msg *m, const struct msg_hashes *h)
{
    if (!h->query)
        return;
    topn_add_fold(&d->qnames, m->qname, m->qname_len, h->hn, true);
    hll_add(&d->hll_qnames, h->hn);
    if (h->named) {
        topn_add_fold(&d->regdoms, m->qname + h->rstart, m->qname_len - h->rstart, h->hr, true);
        hll_add(&d->hll_regdoms, h->hr);
    }
}

static void back_msg(struct dispatch *d, const struct dns_msg *m, const struct cap_meta *meta,
                     const struct msg_hashes *h)
{
    tops_msg(d, m, h);
    flow_message(d->flow, m, h->qhash, h->kh, meta);
    if (m->has_qtype && dns_is_xfr(m->qtype))
        xfr_message(d->xfr, m, meta);
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_message)
            d->sinks[i].on_message(d->sinks[i].user, m, meta);
}

static void back_frame(struct dispatch *d, const struct disp_frame *f)
{
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_frame)
            d->sinks[i].on_frame(d->sinks[i].user, f);
}

static void back_log(struct dispatch *d, const struct srvlog_event *ev)
{
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_log)
            d->sinks[i].on_log(d->sinks[i].user, ev);
}

static void back_event(struct dispatch *d, const struct cap_event *ev)
{
    xfr_event(d->xfr, ev);
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_event)
            d->sinks[i].on_event(d->sinks[i].user, ev);
}

/* A window closed by the message half: add the flow half's figures, hand it to the sinks,
 * keep it, and start the flow half's share of the next window. */
static void back_window(struct dispatch *d, struct win_stats *w)
{
    uint64_t evicted = flow_evicted(d->flow);
    struct win_stats *slot;

    memcpy(w->outcome, d->back.outcome, sizeof(w->outcome));
    w->edns_errors = d->back.edns_errors;
    w->latency_samples = d->lat_win.count;
    hist_percentile(&d->lat_win, 50, &w->p50_us);
    hist_percentile(&d->lat_win, 95, &w->p95_us);
    hist_percentile(&d->lat_win, 99, &w->p99_us);
    w->loss[LOSS_FLOW_EVICTED] = evicted - d->back.evicted_start;
    for (unsigned i = 0; i < d->nsinks; i++)
        if (d->sinks[i].on_window)
            d->sinks[i].on_window(d->sinks[i].user, w);
    if (d->nwins == d->cfg.max_windows) {
        d->wins_head = (d->wins_head + 1) % d->cfg.max_windows;
        d->nwins--;
        d->wins_dropped++;
    }
    slot = &d->wins[(d->wins_head + d->nwins) % d->cfg.max_windows];
    *slot = *w;
    d->nwins++;
    d->wins_total++;
    memset(&d->back, 0, sizeof(d->back));
    d->back.evicted_start = evicted;
    hist_reset(&d->lat_win);
}

static void back_record(struct dispatch *d, const struct spsc_hdr *h, const struct msg_hashes *hs)
{
    struct disp_pipe *p = d->pipe;
    const uint64_t *now = (const uint64_t *)(const void *)(h + 1);

    /* Every record says how far packet time had moved when it was made: the flow store
     * expires queries up to there first, exactly as it would on the caller's thread. */
    if (h->type != REC_WINDOW && *now != p->back_now) {
        flow_advance(d->flow, *now);
        p->back_now = *now;
    }
    switch (h->type) {
    case REC_MSG: {
        const struct rec_msg *r = (const void *)(h + 1);
        back_msg(d, rec_msg_view(r), &r->meta, hs);
        break;
    }
    case REC_EVENT: {
        const struct rec_event *r = (const void *)(h + 1);
        struct cap_event ev = {
            .kind = r->kind, .meta = &r->meta, .pending_bytes = r->pending_bytes};
        back_event(d, &ev);
        break;
    }
    case REC_LOG: {
        const struct rec_log *r = (const void *)(h + 1);
        back_log(d, &r->ev);
        break;
    }
    case REC_FRAME: {
        const struct rec_frame *r = (const void *)(h + 1);
        struct disp_frame f = {.ts_ns = r->ts_ns,
                               .dlt = r->dlt,
                               .caplen = r->caplen,
                               .wirelen = r->wirelen,
                               .data = (const uint8_t *)(r + 1),
                               .af = r->af,
                               .src = r->src,
                               .dst = r->dst};
        back_frame(d, &f);
        break;
    }
    case REC_WINDOW: {
        /* The record is the flow thread's to finish: the producer never touches it again. */
        struct rec_window *r = (void *)(uintptr_t)(const void *)(h + 1);
        back_window(d, &r->w);
        break;
    }
    default: /* REC_TIME: the advance above was all */
        break;
    }
}

/* Hashes of the message in record h, if it is one (computed a few records ahead, so its
 * flow-index slot and its view are on their way to this core's cache when it is handled). */
static void back_ahead(struct dispatch *d, const struct spsc_hdr *h, struct msg_hashes *hs)
{
    if (h->type == REC_MSG) {
        const struct rec_msg *r = (const void *)(h + 1);
        msg_hashes(d, rec_msg_view(r), &r->meta, hs);
    }
}

static void *back_thread(void *arg)
{
    struct dispatch *d = arg;
    const struct spsc_hdr *batch[PIPE_TAKE];
    struct msg_hashes hs[PIPE_TAKE];
    size_t n;

    while ((n = spsc_take(&d->pipe->q, batch, PIPE_TAKE)) > 0) {
        for (size_t i = 0; i < n && i < PIPE_AHEAD; i++)
            back_ahead(d, batch[i], &hs[i]);
        for (size_t i = 0; i < n; i++) {
            if (i + PIPE_AHEAD < n)
                back_ahead(d, batch[i + PIPE_AHEAD], &hs[i + PIPE_AHEAD]);
            back_record(d, batch[i], &hs[i]);
        }
        spsc_release(&d->pipe->q);
    }
    {
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        d->pipe->back_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
    }
    return NULL;
}

/* Caller's thread: a record of type t with body bytes after its header. Every record's body
 * starts with the packet time it was made at (rec_*.now), filled in here. */
static void *pipe_begin(struct disp_pipe *p, enum rec_type t, size_t body)
{
    struct spsc_hdr *h = spsc_reserve(&p->q, sizeof(*h) + body);

    h->type = (uint16_t)t;
    memcpy(h + 1, &p->now, sizeof(p->now));
    return h + 1;
}

/* The record begun last is complete. A record that advances the flow store (all but a
 * window close) carries the pending time step with it. */
static void pipe_end(struct disp_pipe *p, bool carries_time)
{
    spsc_commit(&p->q);
    if (carries_time)
        p->time_pending = false;
}

/* Caller's thread: the time step not carried by a message yet goes over on its own. */
static void pipe_time_flush(struct dispatch *d)
{
    struct disp_pipe *p = d->pipe;

    if (!p->time_pending)
        return;
    pipe_begin(p, REC_TIME, sizeof(struct rec_time));
    pipe_end(p, true);
}

int disp_pipe_start(struct dispatch *d, size_t ring_bytes)
{
    struct disp_pipe *p;
    int rc;

    /* A record holds a whole message (up to 64 KiB) and must fit a quarter of the ring. */
    if (d->pipe || (ring_bytes && ring_bytes < (1u << 19)))
        return ERR_INVAL;
    p = aligned_alloc(64, sizeof(*p)); /* the ring's indexes sit on lines of their own */
    if (!p)
        return ERR_NOMEM;
    memset(p, 0, sizeof(*p));
    if ((rc = spsc_init(&p->q, ring_bytes ? ring_bytes : 4u << 20)) < 0) {
        free(p);
        return rc;
    }
    d->pipe = p;
    if (pthread_create(&p->thread, NULL, back_thread, d) != 0) {
        d->pipe = NULL;
        spsc_destroy(&p->q);
        free(p);
        return ERR_NOMEM;
    }
    return 0;
}

void disp_pipe_stop(struct dispatch *d)
{
    struct disp_pipe *p = d->pipe;

    if (!p)
        return;
    pipe_time_flush(d);
    spsc_close(&p->q);
    pthread_join(p->thread, NULL);
    d->pipe_waits[0] += p->q.producer_waits;
    d->pipe_waits[1] += p->q.consumer_waits;
    d->pipe_cpu_ns += p->back_cpu_ns;
    spsc_destroy(&p->q);
    free(p);
    d->pipe = NULL;
}

void disp_pipe_stats(const struct dispatch *d, uint64_t *producer, uint64_t *consumer,
                     uint64_t *flow_cpu_ns)
{
    *producer = d->pipe_waits[0];
    *consumer = d->pipe_waits[1];
    *flow_cpu_ns = d->pipe_cpu_ns;
}

/* ---- message half ---- */

/* Loss counters of the capture layer and the decoder; the flow store's evictions are added
 * by the flow half (back_window). */
static void loss_now(const struct dispatch *d, uint64_t out[LOSS_N])
{
    loss_snapshot(d->cap, d->stats.malformed_total, 0, out);
}

static void win_open(struct dispatch *d, uint64_t start)
{
    memset(&d->cur, 0, sizeof(d->cur));
    d->cur.start_ns = start;
    d->cur.end_ns = start + d->cfg.window_ns;
    loss_now(d, d->loss_start);
    d->have_win = true;
}

static void win_close(struct dispatch *d)
{
    uint64_t loss[LOSS_N];

    loss_now(d, loss);
    for (int i = 0; i < LOSS_N; i++)
        d->cur.loss[i] = loss[i] - d->loss_start[i];
    if (d->pipe) {
        struct rec_window *r = pipe_begin(d->pipe, REC_WINDOW, sizeof(*r));
        r->w = d->cur;
        pipe_end(d->pipe, false);
    } else {
        back_window(d, &d->cur);
    }
}

/* Windows up to now_ns (the message half's part of a time step). */
static void front_time(struct dispatch *d, uint64_t now_ns)
{
    if (!d->have_win) {
        win_open(d, now_ns - now_ns % d->cfg.window_ns);
        return;
    }
    /* Quiet periods show as empty windows, but at most DISP_MAX_GAP_WINDOWS of them: a
     * time stamp far ahead (a clock jump, a damaged record) skips the rest and is counted,
     * instead of emitting billions of windows. */
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

void disp_time(struct dispatch *d, uint64_t now_ns)
{
    struct disp_pipe *p = d->pipe;

    if (!p) {
        front_time(d, now_ns);
        flow_advance(d->flow, now_ns);
        return;
    }
    if (d->have_win && p->now == now_ns)
        return; /* the same step again (each message repeats its frame's time) */
    pipe_time_flush(d);
    front_time(d, now_ns);
    p->now = now_ns;
    p->time_pending = true;
}

/* Totals, window counts, and the client and server top lists and distinct clients (who
 * asks whom) of one decoded message: the message half. */
static void front_msg(struct dispatch *d, const struct dns_msg *m, const struct cap_meta *meta)
{
    dns_stats_add(&d->stats, m, meta);
    win_add_msg(&d->cur, m, meta);
    if (!m->has_header)
        return;
    if (m->qr) {
        d->resp_size[win_size_bucket(m->len)]++;
    } else {
        size_t alen = meta->af == 4 ? 4 : 16;
        uint64_t hc = sketch_hash_addr(meta->src, meta->af);
        uint64_t hs = sketch_hash_addr(meta->dst, meta->af);
        topn_prefetch(&d->clients, hc);
        topn_prefetch(&d->servers, hs);
        topn_add(&d->clients, meta->src, alen, hc);
        topn_add(&d->servers, meta->dst, alen, hs);
        hll_add(&d->hll_clients, hc);
    }
}

void disp_msg(void *user, const struct cap_msg *cm)
{
    struct dispatch *d = user;
    const struct cap_meta *meta = cm->meta;
    struct msg_hashes hs;

    disp_time(d, meta->ts_ns);
    if (d->pipe) {
        /* Copy first, decode the copy: the views in the record stay valid on the flow
         * thread after the capture buffer has moved on. */
        struct disp_pipe *p = d->pipe;
        size_t moff = (sizeof(struct rec_msg) + cm->len + 7) & ~(size_t)7;
        struct rec_msg *r = pipe_begin(p, REC_MSG, moff + sizeof(struct dns_msg));
        uint8_t *payload = (uint8_t *)(r + 1);
        struct dns_msg *m = (struct dns_msg *)(void *)((uint8_t *)r + moff);

        r->msg_off = (uint32_t)moff;
        r->meta = *meta;
        memcpy(payload, cm->data, cm->len);
        /* Decoded in this thread's scratch (its stores stay in L1), then copied in one go;
         * the name buffer only when the name is not used in place. */
        dns_decode(payload, cm->len, meta->truncated, &d->msg);
        memcpy(m, &d->msg, offsetof(struct dns_msg, qname_buf));
        if (d->msg.qname == d->msg.qname_buf) {
            memcpy(m->qname_buf, d->msg.qname_buf, d->msg.qname_len);
            m->qname = m->qname_buf;
        }
        front_msg(d, &d->msg, &r->meta);
        pipe_end(p, true);
        return;
    }
    dns_decode(cm->data, cm->len, meta->truncated, &d->msg);
    msg_hashes(d, &d->msg, meta, &hs);
    front_msg(d, &d->msg, meta);
    back_msg(d, &d->msg, meta, &hs);
}

void disp_event(void *user, const struct cap_event *ev)
{
    struct dispatch *d = user;
    struct disp_pipe *p = d->pipe;

    if (p) {
        struct rec_event *r = pipe_begin(p, REC_EVENT, sizeof(*r));
        r->meta = *ev->meta;
        r->kind = ev->kind;
        r->pending_bytes = ev->pending_bytes;
        pipe_end(p, true);
        return;
    }
    back_event(d, ev);
}

void disp_log(struct dispatch *d, const struct srvlog_event *ev)
{
    struct disp_pipe *p = d->pipe;

    disp_time(d, ev->ts_ns);
    if ((unsigned)ev->kind < SL_KINDS)
        d->cur.log_events[ev->kind]++;
    if (!p) {
        back_log(d, ev);
        return;
    }
    struct rec_log *r = pipe_begin(p, REC_LOG, sizeof(*r));
    r->ev = *ev;
    pipe_end(p, true);
}

void disp_frame(struct dispatch *d, const struct disp_frame *f)
{
    struct disp_pipe *p = d->pipe;
    struct rec_frame *r;

    if (!d->want_frames)
        return;
    if (!p) {
        back_frame(d, f);
        return;
    }
    r = pipe_begin(p, REC_FRAME, sizeof(*r) + f->caplen);
    r->ts_ns = f->ts_ns;
    r->dlt = f->dlt;
    r->caplen = f->caplen;
    r->wirelen = f->wirelen;
    r->af = f->af;
    memset(r->src, 0, sizeof(r->src));
    memset(r->dst, 0, sizeof(r->dst));
    if (f->af) {
        memcpy(r->src, f->src, f->af == 4 ? 4 : 16);
        memcpy(r->dst, f->dst, f->af == 4 ? 4 : 16);
    }
    memcpy(r + 1, f->data, f->caplen);
    pipe_end(p, true);
}

void disp_finish(struct dispatch *d)
{
    disp_pipe_stop(d);
    flow_flush(d->flow);
    xfr_flush(d->xfr);
    if (d->have_win) {
        win_close(d);
        d->have_win = false;
    }
}

const struct win_stats *disp_window(const struct dispatch *d, uint32_t i)
{
    return &d->wins[(d->wins_head + i) % d->cfg.max_windows];
}
