/* SPDX-License-Identifier: MIT */
/* The analysis side of the store: the dispatcher sink (windows, per-server sums, answers,
 * transfers), alerts, top lists and log events, as records into the ring. */
#define _GNU_SOURCE /* qsort_r */
#include "internal.h"

#include "../analyze/sketch.h"
#include "../common/err.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the ring (producer side) ---- */

/* Only the analysis thread adds; a load and a store (no locked add per record shed), so
 * that db_dropped can read the counts while the analysis runs. */
void st_drop(db_store *s, enum db_drop_kind dk, uint64_t n)
{
    atomic_store_explicit(&s->drops[dk],
                          atomic_load_explicit(&s->drops[dk], memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void db_want_commit(db_store *s, uint64_t until_ns)
{
    uint64_t cur = atomic_load(&s->commit_wanted_ns);
    while ((!cur || until_ns < cur) &&
           !atomic_compare_exchange_weak(&s->commit_wanted_ns, &cur, until_ns))
        ;
}

bool db_wait_committed(db_store *s, uint64_t until_ns, unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 10) {
        db_want_commit(s, until_ns); /* again: another waiter's earlier wish may have ended */
        if (atomic_load(&s->committed_ns) >= until_ns) {
            /* the next wanted commit, if one is asked for beyond this one */
            uint64_t cur = until_ns;
            atomic_compare_exchange_strong(&s->commit_wanted_ns, &cur, 0);
            return true;
        }
        if (waited >= timeout_ms)
            return false;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

uint64_t db_dropped(const db_store *s)
{
    uint64_t n = 0;
    for (int i = 0; i < DB_DROP_N; i++)
        n += atomic_load_explicit(&s->drops[i], memory_order_relaxed);
    return n;
}

/* Reserves a record of payload bytes in the ring; NULL (and a drop counted) when there is
 * no room (a complete store waits for room instead). Published with the next batch, or at
 * once with st_rec_end(s, true). */
void *st_rec_begin(db_store *s, enum rec_kind kind, enum db_drop_kind dk, size_t payload,
                   enum rec_room room)
{
    size_t len = sizeof(struct spsc_hdr) + payload;
    size_t limit = room == ROOM_ALL ? s->q.size : DETAIL_SHARE(s->q.size);
    struct spsc_hdr *h;

    if (!s->running)
        return NULL;
    if (room == ROOM_SHED && s->backoff) { /* never set in a complete store */
        s->backoff--;
        if (dk < DB_DROP_N)
            st_drop(s, dk, 1);
        return NULL;
    }
    if (len > s->q.size / 4 || !(h = spsc_reserve_within(&s->q, len, limit, s->complete))) {
        if (room == ROOM_SHED && !s->complete)
            s->backoff = SHED_BACKOFF;
        if (dk < DB_DROP_N)
            st_drop(s, dk, 1);
        return NULL;
    }
    h->type = (uint16_t)kind;
    return h + 1;
}

void st_rec_end(db_store *s, bool now)
{
    spsc_commit(&s->q);
    if (now)
        spsc_publish(&s->q);
}

/* ---- per-server sums (the producer's table and the writer's) ---- */

struct srv_agg *st_srv_slot(struct srv_table *t, uint8_t af, const uint8_t *addr)
{
    size_t alen = af == 6 ? 16 : 4;
    uint64_t h = sketch_hash_addr(addr, af);
    for (uint32_t i = 0; i < 16; i++) {
        struct srv_agg *a = &t->slot[(h + i) & (SRV_SLOTS - 1)];
        if (!a->used) {
            a->used = 1;
            a->af = af;
            memcpy(a->addr, addr, alen);
            t->used[t->n++] = (uint16_t)((h + i) & (SRV_SLOTS - 1));
            return a;
        }
        if (a->af == af && !memcmp(a->addr, addr, alen))
            return a;
    }
    t->overflow++;
    return &t->other;
}

/* Adds b's sums to a (not its identity). */
void st_srv_add(struct srv_agg *a, const struct srv_agg *b)
{
    a->q += b->q, a->r += b->r, a->edns_err += b->edns_err;
    a->unans += b->unans, a->unsol += b->unsol, a->dup += b->dup;
    a->tc += b->tc, a->lat_sum_us += b->lat_sum_us, a->lat_n += b->lat_n;
    a->txns += b->txns;
    for (int k = 0; k < 7; k++)
        a->rc[k] += b->rc[k];
}

/* ---- producer API (analysis thread) ---- */

/* Sends the producer's per-server rows of the closing window ahead of the window itself. */
static void send_srv(db_store *s, const struct srv_agg *a, bool other)
{

    struct rec_srv *r;

    if (!a->txns)
        return;
    r = st_rec_begin(s, REC_SRV, DB_DROP_TXN, sizeof(*r), ROOM_ALL);
    if (!r) {
        /* counted per transaction, as the dropped per-transaction records were before */
        if (s->running)
            st_drop(s, DB_DROP_TXN, a->txns - 1);
        return;
    }
    r->other = other;
    r->a = *a;
    st_rec_end(s, false);
}

static void on_window(void *user, const struct win_stats *w)
{
    db_store *s = user;
    struct srv_table *t = &s->psrv;
    void *p;

    if (s->running)
        st_pdns_counts(s); /* the window's repeats are written before it commits */
    for (uint32_t i = 0; i < t->n; i++) {
        struct srv_agg *a = &t->slot[t->used[i]];
        send_srv(s, a, false);
        memset(a, 0, sizeof(*a));
    }
    t->n = 0;
    send_srv(s, &t->other, true);
    memset(&t->other, 0, sizeof(t->other));
    p = st_rec_begin(s, REC_WINDOW, DB_DROP_WINDOW, sizeof(*w), ROOM_ALL);
    if (!p)
        return;
    memcpy(p, w, sizeof(*w));
    st_rec_end(s, true);
}

static void on_txn(void *user, const struct flow_txn *t)
{
    db_store *s = user;
    struct srv_agg *a;

    if (!s->running)
        return;
    a = st_srv_slot(&s->psrv, t->af, t->server);
    a->txns++;
    switch (t->outcome) {
    case FLOW_ANSWERED:
        a->q++;
        a->r++;
        a->lat_sum_us += t->latency_ns / 1000;
        a->lat_n++;
        break;
    case FLOW_UNANSWERED:
    case FLOW_EVICTED:
        a->q++;
        a->unans++;
        break;
    case FLOW_UNSOLICITED:
        a->r++;
        a->unsol++;
        break;
    case FLOW_DUPLICATE:
        a->r++;
        a->dup++;
        break;
    default:
        a->r++;
        break;
    }
    if (t->response) {
        /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED other */
        unsigned rc = t->response->rcode <= DNS_R_REFUSED ? t->response->rcode : 6;
        a->rc[rc]++;
        a->tc += t->response->tc;
    }
    a->edns_err += win_edns_error(t);
}

static void on_message(void *user, const struct dns_msg *m, const struct cap_meta *meta)
{
    db_store *s = user;

    /* Answers feed passive DNS and zones; transfer responses are the tracker's (on_xfr), here
     * only counted as handled. */
    if (!m->qr || !m->rrs_ok || !m->has_qtype || !s->running)
        return;
    if (dns_is_xfr(m->qtype))
        s->pmessages++;
    else if (m->rcode == DNS_R_NOERROR && m->ancount > 0)
        st_pdns_message(s, m, meta);
}

static void on_xfr(void *user, const struct xfr_result *x)
{
    db_store *s = user;
    struct rec_xfr *r;

    if (!s->running || !(r = st_rec_begin(s, REC_XFR, DB_DROP_EVENT, sizeof(*r), ROOM_SHARE)))
        return;
    memset(r, 0, sizeof(*r));
    r->start_ns = x->start_ns;
    r->end_ns = x->end_ns;
    r->messages = x->messages;
    r->records = x->records;
    memcpy(r->soa, x->soa, sizeof(r->soa));
    r->qtype = x->qtype;
    r->af = x->af;
    r->outcome = (uint8_t)x->outcome;
    r->have_soa = x->have_soa;
    memcpy(r->client, x->client, 16);
    memcpy(r->server, x->server, 16);
    snprintf(r->zone, sizeof(r->zone), "%s", x->zone);
    xfr_reason(x, r->reason, sizeof(r->reason));
    st_rec_end(s, false);
}

void db_sink(db_store *s, struct disp_sink *sink)
{
    memset(sink, 0, sizeof(*sink));
    sink->on_window = on_window;
    sink->on_txn = on_txn;
    sink->on_message = on_message;
    sink->on_xfr = on_xfr;
    sink->user = s;
}

static size_t strs_len(const char *const *v, unsigned n)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += strlen(v[i] ? v[i] : "") + 1;
    return len;
}

static void strs_put(char *p, const char *const *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(v[i] ? v[i] : "") + 1;
        memcpy(p, v[i] ? v[i] : "", l);
        p += l;
    }
}

void db_alert(db_store *s, const struct engine_alert *a)
{
    const char *v[ALERT_STRS] = {a->rule,    a->reference, a->severity,     a->state,  a->key,
                                 a->summary, a->client,    a->server,       a->victim, a->zone,
                                 a->qname,   a->evidence,  a->evidence_file};
    size_t sl = strs_len(v, ALERT_STRS);
    struct rec_alert *r = st_rec_begin(s, REC_ALERT, DB_DROP_ALERT, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    r->id = a->id;
    r->first_ns = a->first_ns;
    r->last_ns = a->last_ns;
    r->count = a->count;
    r->threshold = a->threshold;
    r->observed = a->observed;
    strs_put((char *)(r + 1), v, ALERT_STRS);
    st_rec_end(s, true);
}

void db_top(db_store *s, const char *kind, unsigned rank, const char *name, uint64_t count)
{
    const char *v[2] = {kind, name};
    size_t sl = strs_len(v, 2);
    struct rec_top *r = st_rec_begin(s, REC_TOP, DB_DROP_TOP, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    r->rank = rank;
    r->count = count;
    strs_put((char *)(r + 1), v, 2);
    st_rec_end(s, true);
}

void db_log_event(db_store *s, uint64_t ts_ns, const char *source, const char *server,
                  const char *kind, const char *zone, const char *peer, const char *detail)
{
    const char *v[6] = {source, server, kind, zone, peer, detail};
    size_t sl = strs_len(v, 6);
    uint64_t *r = st_rec_begin(s, REC_LOGEV, DB_DROP_ALERT, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    *r = ts_ns;
    strs_put((char *)(r + 1), v, 6);
    st_rec_end(s, true);
}
