/* SPDX-License-Identifier: MIT */
/* The writer thread: records from the ring become rows, in batched transactions. */
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

/* ---- writer ---- */

void st_sql_fail(db_store *s, const char *what)
{
    if (s->stats.sql_errors++ == 0)
        log_msg(LOG_ERROR, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

void st_step(db_store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->st[id];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        st_sql_fail(s, st_sql[id]);
    else
        s->stats.rows++, s->tx_rows++;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

long st_elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

void st_tx_begin(db_store *s)
{
    if (s->in_tx)
        return;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        st_sql_fail(s, "BEGIN");
    s->in_tx = true;
    s->tx_rows = 0;
    clock_gettime(CLOCK_MONOTONIC, &s->tx_start);
}

void st_tx_commit(db_store *s)
{
    if (!s->in_tx)
        return;
    st_pdns_batch(s);
    if (s->rrset_hi != s->rrset_hi_stored) { /* the run's id range (not a row of its facts) */
        sqlite3_stmt *st = s->st[ST_RUN_RRSETS];
        sqlite3_bind_int64(st, 1, s->run_id);
        sqlite3_bind_int64(st, 2, s->rrset_lo);
        sqlite3_bind_int64(st, 3, s->rrset_hi);
        if (sqlite3_step(st) != SQLITE_DONE)
            st_sql_fail(s, st_sql[ST_RUN_RRSETS]);
        sqlite3_reset(st);
        s->rrset_hi_stored = s->rrset_hi;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st_sql_fail(s, "COMMIT");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        s->stats.batches++;
        if (s->tx_window_end > atomic_load(&s->committed_ns))
            atomic_store(&s->committed_ns, s->tx_window_end);
        log_msg(LOG_DEBUG, "store: batch %llu committed (%llu rows, %llu windows)",
                (unsigned long long)s->stats.batches, (unsigned long long)s->stats.rows,
                (unsigned long long)s->stats.windows);
    }
    s->in_tx = false;
}

static void w_srv(db_store *s, const struct rec_srv *r)
{
    st_srv_add(r->other ? &s->srv.other : st_srv_slot(&s->srv, r->a.af, r->a.addr), &r->a);
}

static int srv_cmp(const void *x, const void *y)
{
    const struct srv_agg *a = x, *b = y;
    uint64_t ta = a->q + a->r, tb = b->q + b->r;
    return ta < tb ? 1 : ta > tb ? -1 : memcmp(a->addr, b->addr, 16);
}

static void bind_window(db_store *s, uint64_t start, uint64_t end, const char *server)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)start);
    sqlite3_bind_int64(st, 3, (int64_t)end);
    sqlite3_bind_text(st, 4, server, -1, SQLITE_TRANSIENT);
}

static void write_srv_row(db_store *s, const struct win_stats *w, const struct srv_agg *a,
                          const char *name)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    bind_window(s, w->start_ns, w->end_ns, name);
    sqlite3_bind_int64(st, 5, (int64_t)a->q);
    sqlite3_bind_int64(st, 6, (int64_t)a->r);
    for (int i = 0; i < 7; i++)
        sqlite3_bind_int64(st, 7 + i, (int64_t)a->rc[i]);
    sqlite3_bind_int64(st, 16, (int64_t)a->tc);
    sqlite3_bind_int64(st, 17, (int64_t)a->edns_err);
    sqlite3_bind_int64(st, 18, (int64_t)a->unans);
    sqlite3_bind_int64(st, 19, (int64_t)a->unsol);
    sqlite3_bind_int64(st, 20, (int64_t)a->dup);
    if (a->lat_n)
        sqlite3_bind_int64(st, 26, (int64_t)(a->lat_sum_us / a->lat_n));
    st_step(s, ST_WINDOW);
}

static void loss_json(const uint64_t *loss, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "{");
    for (int i = 0; i < LOSS_N && o < n; i++)
        if (loss[i])
            o += (size_t)snprintf(buf + o, n - o, "%s\"%s\":%llu", o > 1 ? "," : "",
                                  loss_name((enum loss_counter)i), (unsigned long long)loss[i]);
    if (o < n)
        snprintf(buf + o, n - o, "}");
}

static void w_window(db_store *s, const struct win_stats *w)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    uint64_t rc_other = 0, loss = 0;
    struct srv_agg *rows;
    uint32_t n = 0;
    char buf[2048];

    st_tx_begin(s);
    for (unsigned i = 6; i < WIN_RCODES; i++)
        rc_other += w->rcode[i];
    for (int i = 0; i < LOSS_N; i++)
        loss += w->loss[i];
    bind_window(s, w->start_ns, w->end_ns, "*");
    sqlite3_bind_int64(st, 5, (int64_t)w->queries);
    sqlite3_bind_int64(st, 6, (int64_t)w->responses);
    for (int i = 0; i < 6; i++)
        sqlite3_bind_int64(st, 7 + i, (int64_t)w->rcode[i]);
    sqlite3_bind_int64(st, 13, (int64_t)rc_other);
    sqlite3_bind_int64(st, 14, (int64_t)w->edns);
    sqlite3_bind_int64(st, 15, (int64_t)w->edns_do);
    sqlite3_bind_int64(st, 16, (int64_t)w->tc);
    sqlite3_bind_int64(st, 17, (int64_t)w->edns_errors);
    sqlite3_bind_int64(st, 18, (int64_t)(w->outcome[FLOW_UNANSWERED] + w->outcome[FLOW_EVICTED]));
    sqlite3_bind_int64(st, 19, (int64_t)w->outcome[FLOW_UNSOLICITED]);
    sqlite3_bind_int64(st, 20, (int64_t)w->outcome[FLOW_DUPLICATE]);
    if (w->latency_samples) {
        sqlite3_bind_int64(st, 21, (int64_t)w->p50_us);
        sqlite3_bind_int64(st, 22, (int64_t)w->p95_us);
        sqlite3_bind_int64(st, 23, (int64_t)w->p99_us);
    }
    sqlite3_bind_int64(st, 24, (int64_t)w->malformed);
    sqlite3_bind_int64(st, 25, (int64_t)loss);
    loss_json(w->loss, buf, sizeof(buf));
    sqlite3_bind_text(st, 27, buf, -1, SQLITE_TRANSIENT);
    st_step(s, ST_WINDOW);
    s->stats.windows++;
    st = s->st[ST_RUN_SPAN];
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)w->start_ns);
    sqlite3_bind_int64(st, 3, (int64_t)w->end_ns);
    st_step(s, ST_RUN_SPAN);

    /* Per-server rows: the busiest SRV_ROWS servers, the rest summed under "other". */
    rows = s->srv_rows;
    for (uint32_t i = 0; i < s->srv.n; i++) {
        struct srv_agg *a = &s->srv.slot[s->srv.used[i]];
        rows[n++] = *a;
        memset(a, 0, sizeof(*a));
    }
    s->srv.n = 0;
    qsort(rows, n, sizeof(*rows), srv_cmp);
    for (uint32_t i = 0; i < n; i++) {
        if (i < SRV_ROWS)
            write_srv_row(s, w, &rows[i], st_addr_text(rows[i].af, rows[i].addr, buf));
        else
            st_srv_add(&s->srv.other, &rows[i]);
    }
    if (s->srv.other.q + s->srv.other.r)
        write_srv_row(s, w, &s->srv.other, "other");
    memset(&s->srv.other, 0, sizeof(s->srv.other));
    s->tx_window_end = w->end_ns;
    uint64_t want = atomic_load(&s->commit_wanted_ns);
    if (want && w->end_ns >= want)
        st_tx_commit(s);
}

static void w_zone(db_store *s, const struct rec_msg *r, const struct dns_rr *rr,
                   const uint32_t t[5])
{
    uint8_t owner[DNS_MAX_NAME];
    size_t olen, next;
    char zone[1024], srv[48];
    sqlite3_stmt *st = s->st[ST_ZONE];

    if (dns_name_walk(s->msg.wire, s->msg.len, rr->name_off, &next, owner, &olen) != DNS_MAL_NONE)
        return;
    dns_name_to_str(owner, olen, zone, sizeof(zone));
    for (char *p = zone; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, st_addr_text(r->af, r->src, srv), -1, SQLITE_TRANSIENT);
    for (int i = 0; i < 5; i++)
        sqlite3_bind_int64(st, 4 + i, t[i]);
    sqlite3_bind_int64(st, 9, (int64_t)r->ts_ns);
    st_step(s, ST_ZONE);
}

/* A finished transfer: its row; the zone as transferred (the first SOA); and, when it
 * succeeded, the zone's last good transfer. */
static void w_xfr(db_store *s, const struct rec_xfr *x)
{
    sqlite3_stmt *st = s->st[ST_XFR];
    char cl[48], sv[48], qt[16];

    st_tx_begin(s);
    st_addr_fmt(x->af, x->client, cl);
    st_addr_fmt(x->af, x->server, sv);
    if (x->have_soa) {
        sqlite3_stmt *z = s->st[ST_ZONE];
        sqlite3_bind_int64(z, 1, s->run_id);
        sqlite3_bind_text(z, 2, x->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(z, 3, sv, -1, SQLITE_STATIC);
        for (int i = 0; i < 5; i++)
            sqlite3_bind_int64(z, 4 + i, x->soa[i]);
        sqlite3_bind_int64(z, 9, (int64_t)x->start_ns);
        st_step(s, ST_ZONE);
    }
    dns_type_str(x->qtype, qt, sizeof(qt));
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, x->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, cl, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sv, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, qt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)x->start_ns);
    sqlite3_bind_int64(st, 7, (int64_t)x->end_ns);
    sqlite3_bind_text(st, 8, xfr_outcome_name((enum xfr_outcome)x->outcome), -1, SQLITE_STATIC);
    if (x->reason[0])
        sqlite3_bind_text(st, 9, x->reason, -1, SQLITE_STATIC);
    if (x->have_soa)
        sqlite3_bind_int64(st, 10, x->soa[0]);
    sqlite3_bind_int64(st, 11, (int64_t)x->messages);
    sqlite3_bind_int64(st, 12, (int64_t)x->records);
    st_step(s, ST_XFR);
    if (x->outcome == XFR_OK) {
        st = s->st[ST_ZONE_OK];
        s->stats.xfr_ok++;
        sqlite3_bind_int64(st, 1, s->run_id);
        sqlite3_bind_text(st, 2, x->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sv, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)x->end_ns);
        st_step(s, ST_ZONE_OK);
    } else {
        s->stats.xfr_failed++;
    }
}

/* An answer with a SOA (its passive DNS came as REC_RRSET): the zone table. */
static void w_msg(db_store *s, const struct rec_msg *r)
{
    struct dns_rr_iter it;
    struct dns_rr rr;

    dns_decode((const uint8_t *)(r + 1), r->len, false, &s->msg);
    if (!s->msg.rrs_ok || !s->msg.has_qtype)
        return;
    st_tx_begin(s);
    dns_rr_iter_init(&it, &s->msg);
    while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
        uint32_t t[5];
        if (rr.type == DNS_T_SOA && dns_soa_fields(&s->msg, &rr, t))
            w_zone(s, r, &rr, t);
    }
}

static const char *next_str(const char **p)
{
    const char *s = *p;
    *p += strlen(s) + 1;
    return s;
}

static void w_alert(db_store *s, const struct rec_alert *a)
{
    sqlite3_stmt *st = s->st[ST_ALERT];
    const char *p = (const char *)(a + 1);

    st_tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, a->id);
    for (int i = 0; i < ALERT_STRS; i++) {
        const char *v = next_str(&p);
        if (*v || i < 6)
            sqlite3_bind_text(st, 3 + i, v, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, 16, (int64_t)a->first_ns);
    sqlite3_bind_int64(st, 17, (int64_t)a->last_ns);
    sqlite3_bind_int64(st, 18, (int64_t)a->count);
    sqlite3_bind_double(st, 19, a->threshold);
    sqlite3_bind_double(st, 20, a->observed);
    st_step(s, ST_ALERT);
}

static void w_top(db_store *s, const struct rec_top *t)
{
    sqlite3_stmt *st = s->st[ST_TOP];
    const char *p = (const char *)(t + 1);
    const char *kind = next_str(&p), *name = next_str(&p);

    st_tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, t->rank);
    sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (int64_t)t->count);
    st_step(s, ST_TOP);
}

static void w_logev(db_store *s, const uint64_t *r)
{
    sqlite3_stmt *st = s->st[ST_LOGEV];
    const char *p = (const char *)(r + 1);

    st_tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)*r);
    for (int i = 0; i < 6; i++) {
        const char *v = next_str(&p);
        if (*v || i == 0 || i == 2)
            sqlite3_bind_text(st, 3 + i, v, -1, SQLITE_TRANSIENT);
    }
    st_step(s, ST_LOGEV);
}

static void handle(db_store *s, const struct spsc_hdr *h)
{
    const void *p = h + 1;
    switch ((enum rec_kind)h->type) {
    case REC_WINDOW: {
        struct win_stats w;
        memcpy(&w, p, sizeof(w));
        w_window(s, &w);
        break;
    }
    case REC_SRV:
        w_srv(s, p);
        break;
    case REC_MSG:
        w_msg(s, p);
        break;
    case REC_ALERT:
        w_alert(s, p);
        break;
    case REC_TOP:
        w_top(s, p);
        break;
    case REC_LOGEV:
        w_logev(s, p);
        break;
    case REC_XFR:
        w_xfr(s, p);
        break;
    case REC_RRSET:
        st_w_rrset(s, p);
        break;
    case REC_RRSET_COUNTS:
        st_w_counts(s, p);
        break;
    case REC_RRSET_CLEAR:
        st_w_clear(s);
        break;
    default:
        break;
    }
}

/* A complete store commits by rows only, so that its batches (and every figure of the
 * summary) are the same run after run; a live one also by time, so a window is on disk
 * within a second of closing. */
static bool commit_due(db_store *s)
{
    if (s->complete)
        return s->tx_rows >= COMPLETE_BATCH_ROWS;
    return s->tx_rows >= BATCH_ROWS || st_elapsed_ms(&s->tx_start) >= COMMIT_MS;
}

/* The writer: takes records in batches, commits every BATCH_ROWS rows or COMMIT_MS (also
 * while the analysis is quiet), and ends once the analysis closed the ring and every record
 * is written. */
void *st_writer(void *arg)
{
    db_store *s = arg;
    const struct spsc_hdr *recs[256];

    for (;;) {
        size_t n = spsc_take_for(&s->q, recs, 256, 50);
        for (size_t i = 0; i < n; i++)
            handle(s, recs[i]);
        spsc_release(&s->q);
        if (!n && spsc_drained(&s->q))
            break;
        if (s->in_tx && commit_due(s))
            st_tx_commit(s);
    }
    return NULL;
}
