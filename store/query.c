/* SPDX-License-Identifier: MIT */
#include "query.h"

#include "../common/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int rc_code[RC_N] = {DNS_R_FORMERR, DNS_R_SERVFAIL, DNS_R_NXDOMAIN,
                           DNS_R_NOTIMP,  DNS_R_REFUSED,  -1};
const char *const top_kinds[TOP_KINDS] = {"clients", "servers", "qnames", "registered_domains"};

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* Prepares a query whose ?1 and ?2 are the start and end of a period. */
static sqlite3_stmt *prep_period(sqlite3 *db, const char *sql, uint64_t from, uint64_t to)
{
    sqlite3_stmt *st = prep(db, sql);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)from);
        sqlite3_bind_int64(st, 2, (int64_t)to);
    }
    return st;
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static uint64_t col_u64(sqlite3_stmt *st, int col)
{
    int64_t v = sqlite3_column_int64(st, col);
    return v > 0 ? (uint64_t)v : 0;
}

#define WIN_SUMS                                                                                   \
    "count(*),sum(queries),sum(responses),sum(rc_noerror),sum(rc_formerr),sum(rc_servfail),"       \
    "sum(rc_nxdomain),sum(rc_notimp),sum(rc_refused),sum(rc_other),sum(edns_errors),sum(edns),"    \
    "sum(tc),sum(unanswered),sum(unsolicited),sum(duplicate),sum(malformed),sum(loss)"

static void read_sums(sqlite3_stmt *st, int c, struct totals *t)
{
    t->windows = col_u64(st, c);
    t->have = t->windows > 0;
    t->queries = col_u64(st, c + 1);
    t->responses = col_u64(st, c + 2);
    t->noerror = col_u64(st, c + 3);
    t->errors = 0;
    for (int i = 0; i < RC_N; i++) {
        t->rc[i] = col_u64(st, c + 4 + i);
        t->errors += t->rc[i];
    }
    t->edns_errors = col_u64(st, c + 10);
    t->edns = col_u64(st, c + 11);
    t->tc = col_u64(st, c + 12);
    t->unanswered = col_u64(st, c + 13);
    t->unsolicited = col_u64(st, c + 14);
    t->duplicate = col_u64(st, c + 15);
    t->malformed = col_u64(st, c + 16);
    t->loss = col_u64(st, c + 17);
}

static int q_totals(sqlite3 *db, uint64_t from, uint64_t to, struct totals *t)
{
    sqlite3_stmt *st = prep(db, "SELECT " WIN_SUMS " FROM window_stats WHERE server='*' AND "
                                "start_ns >= ?1 AND start_ns < ?2");
    if (!st)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)from);
    sqlite3_bind_int64(st, 2, (int64_t)to);
    memset(t, 0, sizeof(*t));
    if (sqlite3_step(st) == SQLITE_ROW)
        read_sums(st, 0, t);
    sqlite3_finalize(st);
    return 0;
}

static void q_source(sqlite3 *db, struct rep *r, const char *name, struct source *s)
{
    /* Logs: runs of log files, and any run that carried log events in the period. */
    sqlite3_stmt *st =
        !strcmp(name, "logs")
            ? prep(db, "SELECT count(DISTINCT run_id),min(ts_ns),max(ts_ns) FROM log_event WHERE "
                       "ts_ns >= ?2 AND ts_ns < ?3 AND ?1 = 'logs'")
            : prep(db, "SELECT count(*),min(first_ns),max(coalesce(last_ns,"
                       "9000000000000000000)) FROM run WHERE source=?1 AND "
                       "coalesce(first_ns,0) < ?3 AND coalesce(last_ns,"
                       "9000000000000000000) >= ?2");
    memset(s, 0, sizeof(*s));
    if (!st)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)r->from);
    sqlite3_bind_int64(st, 3, (int64_t)r->to);
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->runs = col_u64(st, 0);
        s->first_ns = col_u64(st, 1);
        s->last_ns = col_u64(st, 2);
    }
    sqlite3_finalize(st);
}

static void q_series(sqlite3 *db, struct rep *r)
{
    static const uint64_t steps[] = {60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 604800};
    uint64_t len = r->to - r->from, win_s = 60;
    sqlite3_stmt *st = prep(db, "SELECT min(window_s) FROM run");

    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
        win_s = col_u64(st, 0);
    sqlite3_finalize(st);
    r->bucket_ns = steps[sizeof(steps) / sizeof(steps[0]) - 1] * 1000000000ull;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        uint64_t b = steps[i] * 1000000000ull;
        if (steps[i] >= win_s && len / b < 96) {
            r->bucket_ns = b;
            break;
        }
    }
    r->nb = (unsigned)((len + r->bucket_ns - 1) / r->bucket_ns);
    if (r->nb > MAX_BUCKETS)
        r->nb = MAX_BUCKETS;
    st = prep(db, "SELECT (start_ns-?1)/?3,sum(queries),sum(rc_formerr+rc_servfail+rc_nxdomain+"
                  "rc_notimp+rc_refused+rc_other),sum(edns_errors),sum(responses) FROM "
                  "window_stats WHERE server='*' AND start_ns >= ?1 AND start_ns < ?2 GROUP BY 1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)r->from);
    sqlite3_bind_int64(st, 2, (int64_t)r->to);
    sqlite3_bind_int64(st, 3, (int64_t)r->bucket_ns);
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t i = col_u64(st, 0);
        if (i >= r->nb)
            continue;
        r->b[i].queries = col_u64(st, 1);
        r->b[i].errors = col_u64(st, 2);
        r->b[i].edns_errors = col_u64(st, 3);
        r->b[i].responses = col_u64(st, 4);
    }
    sqlite3_finalize(st);
}

/* The period's ratio, and its changes: the shifts the error-ratio rule found (its alerts in
 * the period, per server and kind), so the report and the alerts never disagree. */
static void find_changes(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st;

    r->have_ratio = r->cur.queries > 0;
    r->ratio = r->have_ratio ? (double)r->cur.errors / (double)r->cur.queries : 0;
    r->have_prev_ratio = r->prev.queries > 0;
    r->prev_ratio = r->have_prev_ratio ? (double)r->prev.errors / (double)r->prev.queries : 0;
    r->baseline = r->have_prev_ratio ? r->prev_ratio : r->ratio;
    st = prep_period(db,
                     "SELECT first_ns,last_ns,coalesce(nullif(server,''),'all servers'),"
                     "json_extract(evidence,'$.kind'),json_extract(evidence,'$.baseline'),"
                     "observed,json_extract(evidence,'$.transactions') FROM alert WHERE "
                     "rule='error-ratio' AND last_ns >= ?1 AND first_ns < ?2 AND "
                     "json_valid(evidence) ORDER BY first_ns,run_id,alert_no",
                     r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW && r->nchanges < MAX_BUCKETS) {
        struct change *c = &r->changes[r->nchanges++];
        memset(c, 0, sizeof(*c));
        c->from_ns = col_u64(st, 0);
        c->to_ns = col_u64(st, 1);
        copy_col(c->server, sizeof(c->server), st, 2);
        copy_col(c->kind, sizeof(c->kind), st, 3);
        c->baseline = sqlite3_column_double(st, 4);
        c->peak = sqlite3_column_double(st, 5);
        c->queries = col_u64(st, 6);
        c->errors = (uint64_t)(c->peak * (double)c->queries + 0.5);
        c->rise = true;
    }
    sqlite3_finalize(st);
}

static void q_xfr(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st =
        prep_period(db,
                    "SELECT zone,client,server,qtype,start_ns,end_ns,reason FROM xfr "
                    "WHERE outcome='failed' AND end_ns >= ?1 AND end_ns < ?2 ORDER BY "
                    "end_ns,id",
                    r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        r->xfr_failed_total++;
        if (r->nxfr == MAX_ITEMS)
            continue;
        struct xfr_item *x = &r->xfr[r->nxfr++];
        copy_col(x->zone, sizeof(x->zone), st, 0);
        copy_col(x->client, sizeof(x->client), st, 1);
        copy_col(x->server, sizeof(x->server), st, 2);
        copy_col(x->qtype, sizeof(x->qtype), st, 3);
        x->start_ns = col_u64(st, 4);
        x->end_ns = col_u64(st, 5);
        copy_col(x->reason, sizeof(x->reason), st, 6);
        snprintf(x->source, sizeof(x->source), "packets");
    }
    sqlite3_finalize(st);
    st = prep(db, "SELECT count(*) FROM xfr WHERE outcome='ok' AND end_ns >= ?1 AND end_ns < ?2");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)r->from);
    sqlite3_bind_int64(st, 2, (int64_t)r->to);
    if (sqlite3_step(st) == SQLITE_ROW)
        r->xfr_ok = col_u64(st, 0);
    sqlite3_finalize(st);
}

static void q_zones(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st = prep_period(
        db,
        "SELECT z.zone,z.server,z.serial,z.refresh,z.expire,max(z.last_ns),(SELECT "
        "max(last_xfr_ok_ns) FROM zone y WHERE y.zone=z.zone AND y.server=z.server AND "
        "y.last_xfr_ok_ns < ?2),(SELECT count(*) FROM xfr x WHERE x.zone=z.zone AND "
        "x.server=z.server AND x.outcome='failed' AND x.end_ns >= ?1 AND x.end_ns < ?2) FROM "
        "zone z WHERE z.first_ns < ?2 GROUP BY z.zone,z.server ORDER BY z.zone,z.server",
        r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct zone_item z = {0};
        r->zones_seen = true;
        copy_col(z.zone, sizeof(z.zone), st, 0);
        copy_col(z.server, sizeof(z.server), st, 1);
        z.serial = sqlite3_column_int64(st, 2);
        z.refresh = sqlite3_column_int64(st, 3);
        z.expire = sqlite3_column_int64(st, 4);
        z.last_ok_ns = col_u64(st, 6);
        z.failures = col_u64(st, 7);
        if (z.last_ok_ns) {
            int64_t since = (int64_t)(r->to - z.last_ok_ns) / 1000000000;
            z.remaining_s = z.expire - since;
            if (z.remaining_s <= 0)
                snprintf(z.status, sizeof(z.status), "expired");
            else if (since > z.refresh)
                snprintf(z.status, sizeof(z.status), "expiring");
            else
                continue; /* refreshed in time */
        } else if (z.failures) {
            snprintf(z.status, sizeof(z.status), "at risk");
        } else {
            continue; /* SOA seen in answers, no transfer to judge by */
        }
        snprintf(z.source, sizeof(z.source), "packets");
        if (r->nzones < MAX_ITEMS)
            r->zones[r->nzones++] = z;
    }
    sqlite3_finalize(st);
}

static void q_alerts(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st =
        prep_period(db,
                    "SELECT rule,reference,severity,state,summary,client,server,"
                    "victim,zone,qname,evidence,evidence_file,first_ns,last_ns,count,"
                    "threshold,observed FROM alert WHERE last_ns >= ?1 AND first_ns < "
                    "?2 ORDER BY first_ns,run_id,alert_no",
                    r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        r->alerts_total++;
        if (r->nalerts == MAX_ITEMS)
            continue;
        struct alert_item *a = &r->alerts[r->nalerts++];
        copy_col(a->rule, sizeof(a->rule), st, 0);
        copy_col(a->reference, sizeof(a->reference), st, 1);
        copy_col(a->severity, sizeof(a->severity), st, 2);
        copy_col(a->state, sizeof(a->state), st, 3);
        copy_col(a->summary, sizeof(a->summary), st, 4);
        copy_col(a->client, sizeof(a->client), st, 5);
        copy_col(a->server, sizeof(a->server), st, 6);
        copy_col(a->victim, sizeof(a->victim), st, 7);
        copy_col(a->zone, sizeof(a->zone), st, 8);
        copy_col(a->qname, sizeof(a->qname), st, 9);
        copy_col(a->evidence, sizeof(a->evidence), st, 10);
        copy_col(a->evidence_file, sizeof(a->evidence_file), st, 11);
        a->first_ns = col_u64(st, 12);
        a->last_ns = col_u64(st, 13);
        a->count = col_u64(st, 14);
        a->threshold = sqlite3_column_double(st, 15);
        a->observed = sqlite3_column_double(st, 16);
        if (!a->evidence[0] || a->evidence[0] != '{')
            snprintf(a->evidence, sizeof(a->evidence), "{}");
    }
    sqlite3_finalize(st);
}

static void q_top(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st = prep(db, "SELECT t.name,sum(t.count) FROM top t JOIN run u ON "
                                "u.id=t.run_id WHERE t.kind=?1 AND coalesce(u.first_ns,0) < ?3 "
                                "AND coalesce(u.last_ns,9000000000000000000) >= ?2 GROUP BY "
                                "t.name ORDER BY 2 DESC,1 LIMIT ?4");
    if (!st)
        return;
    for (int k = 0; k < TOP_KINDS; k++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, top_kinds[k], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)r->from);
        sqlite3_bind_int64(st, 3, (int64_t)r->to);
        sqlite3_bind_int64(st, 4, r->top_n > 50 ? 50 : r->top_n);
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct top_item *t = &r->top[k][r->ntop[k]++];
            copy_col(t->name, sizeof(t->name), st, 0);
            t->count = col_u64(st, 1);
        }
    }
    sqlite3_finalize(st);
}

static void q_health(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st = prep(db, "SELECT j.key,sum(j.value) FROM window_stats w, "
                                "json_each(w.loss_json) j WHERE w.server='*' AND w.start_ns >= ?1 "
                                "AND w.start_ns < ?2 GROUP BY j.key ORDER BY j.key");
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)r->from);
        sqlite3_bind_int64(st, 2, (int64_t)r->to);
        while (sqlite3_step(st) == SQLITE_ROW && r->nloss < 32) {
            copy_col(r->loss_names[r->nloss], sizeof(r->loss_names[0]), st, 0);
            r->loss_vals[r->nloss++] = col_u64(st, 1);
        }
        sqlite3_finalize(st);
    }
    st = prep(db, "SELECT sum(detail_dropped) FROM run WHERE coalesce(first_ns,0) < ?2 AND "
                  "coalesce(last_ns,9000000000000000000) >= ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)r->from);
        sqlite3_bind_int64(st, 2, (int64_t)r->to);
        if (sqlite3_step(st) == SQLITE_ROW)
            r->detail_dropped = col_u64(st, 0);
        sqlite3_finalize(st);
    }
    st = prep(db, "SELECT count(DISTINCT w.start_ns),max(u.window_s) FROM window_stats w JOIN run "
                  "u ON u.id=w.run_id WHERE w.server='*' AND w.start_ns >= ?1 AND w.start_ns < ?2");
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)r->from);
        sqlite3_bind_int64(st, 2, (int64_t)r->to);
        if (sqlite3_step(st) == SQLITE_ROW) {
            double covered = (double)col_u64(st, 0) * (double)col_u64(st, 1) * 1e9;
            r->coverage = covered / (double)(r->to - r->from);
            if (r->coverage > 1)
                r->coverage = 1;
        }
        sqlite3_finalize(st);
    }
}

/* Failed transfers and refreshes that server logs reported. */
static void q_log_xfr(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st =
        prep_period(db,
                    "SELECT zone,peer,source,kind,ts_ns,detail FROM log_event WHERE "
                    "kind IN ('transfer_failed','refresh_failed') AND ts_ns >= ?1 AND "
                    "ts_ns < ?2 ORDER BY ts_ns,id",
                    r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct xfr_item *x;
        char src[16];
        r->xfr_failed_total++;
        if (r->nxfr == MAX_ITEMS)
            continue;
        x = &r->xfr[r->nxfr++];
        copy_col(x->zone, sizeof(x->zone), st, 0);
        copy_col(x->server, sizeof(x->server), st, 1);
        copy_col(src, sizeof(src), st, 2);
        snprintf(x->client, sizeof(x->client), "%s secondary", src);
        snprintf(x->qtype, sizeof(x->qtype), "%s",
                 !strcmp((const char *)sqlite3_column_text(st, 3), "refresh_failed") ? "refresh"
                                                                                     : "xfr");
        x->start_ns = x->end_ns = col_u64(st, 4);
        copy_col(x->reason, sizeof(x->reason), st, 5);
        snprintf(x->source, sizeof(x->source), "logs");
    }
    sqlite3_finalize(st);
}

/* Zones as the secondaries' logs tell: expired, expiring (Knot says when; otherwise the
 * last success plus the SOA expire seen on the wire), or only failing. */
static void q_log_zones(sqlite3 *db, struct rep *r)
{
    sqlite3_stmt *st = prep_period(
        db,
        "SELECT e.zone,e.source,"
        "(SELECT max(ts_ns) FROM log_event x WHERE x.zone=e.zone AND x.source=e.source AND "
        "x.kind='zone_expired' AND x.ts_ns < ?2),"
        "(SELECT max(ts_ns) FROM log_event x WHERE x.zone=e.zone AND x.source=e.source AND "
        "x.kind IN ('transfer_succeeded','zone_loaded','zone_expires_in') AND x.ts_ns < ?2),"
        "(SELECT json_extract(detail,'$.seconds') FROM log_event x WHERE x.zone=e.zone AND "
        "x.source=e.source AND x.kind='zone_expires_in' AND x.ts_ns < ?2 ORDER BY ts_ns DESC "
        "LIMIT 1),"
        "(SELECT count(*) FROM log_event x WHERE x.zone=e.zone AND x.source=e.source AND "
        "x.kind IN ('refresh_failed','transfer_failed') AND x.ts_ns >= ?1 AND x.ts_ns < ?2),"
        "(SELECT max(expire) FROM zone z WHERE z.zone=e.zone) "
        "FROM log_event e WHERE e.zone != '' AND e.ts_ns < ?2 AND e.kind IN "
        "('zone_expired','refresh_failed','transfer_failed','transfer_succeeded',"
        "'zone_loaded','zone_expires_in') GROUP BY e.zone,e.source ORDER BY e.zone,e.source",
        r->from, r->to);
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct zone_item z = {0};
        uint64_t expired = col_u64(st, 2), ok = col_u64(st, 3);
        int64_t knot_s =
            sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
        int64_t wire_expire =
            sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
        char src[16];
        copy_col(z.zone, sizeof(z.zone), st, 0);
        copy_col(src, sizeof(src), st, 1);
        snprintf(z.server, sizeof(z.server), "%s secondary", src);
        snprintf(z.source, sizeof(z.source), "logs");
        z.failures = col_u64(st, 5);
        z.serial = -1;
        z.refresh = -1;
        z.expire = knot_s >= 0 ? knot_s : wire_expire;
        z.last_ok_ns = ok;
        r->zones_seen = true;
        if (expired && expired >= ok) {
            snprintf(z.status, sizeof(z.status), "expired");
            z.remaining_s = ok && z.expire >= 0 ? (int64_t)(ok / 1000000000ull) + z.expire -
                                                      (int64_t)(r->to / 1000000000ull)
                                                : 0;
        } else if (z.failures && ok && z.expire >= 0) {
            z.remaining_s =
                (int64_t)(ok / 1000000000ull) + z.expire - (int64_t)(r->to / 1000000000ull);
            snprintf(z.status, sizeof(z.status), z.remaining_s > 0 ? "expiring" : "expired");
        } else if (z.failures) {
            snprintf(z.status, sizeof(z.status), "at risk");
        } else {
            continue;
        }
        if (r->nzones < MAX_ITEMS)
            r->zones[r->nzones++] = z;
    }
    sqlite3_finalize(st);
}

/* Queries and answers counted from server query logs (per-minute rows). */
static void q_log_queries(sqlite3 *db, uint64_t from, uint64_t to, struct totals *t)
{
    sqlite3_stmt *st =
        prep(db, "SELECT count(*),sum(json_extract(detail,'$.queries')),"
                 "sum(json_extract(detail,'$.replies')),sum(json_extract(detail,'$.NOERROR')),"
                 "sum(json_extract(detail,'$.FORMERR')),sum(json_extract(detail,'$.SERVFAIL')),"
                 "sum(json_extract(detail,'$.NXDOMAIN')),sum(json_extract(detail,'$.NOTIMP')),"
                 "sum(json_extract(detail,'$.REFUSED')) FROM log_event WHERE kind='queries' AND "
                 "ts_ns >= ?1 AND ts_ns < ?2");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)from);
    sqlite3_bind_int64(st, 2, (int64_t)to);
    memset(t, 0, sizeof(*t));
    if (sqlite3_step(st) == SQLITE_ROW && col_u64(st, 0)) {
        sqlite3_stmt *e = prep(db, "SELECT count(*) FROM log_event WHERE kind='edns_error' AND "
                                   "ts_ns >= ?1 AND ts_ns < ?2");
        if (e) {
            sqlite3_bind_int64(e, 1, (int64_t)from);
            sqlite3_bind_int64(e, 2, (int64_t)to);
            if (sqlite3_step(e) == SQLITE_ROW)
                t->edns_errors = col_u64(e, 0);
            sqlite3_finalize(e);
        }
        t->have = true;
        t->windows = col_u64(st, 0);
        t->queries = col_u64(st, 1);
        t->responses = col_u64(st, 2);
        t->noerror = col_u64(st, 3);
        for (int i = 0; i < 5; i++) {
            t->rc[i] = col_u64(st, 4 + i);
            t->errors += t->rc[i];
        }
    }
    sqlite3_finalize(st);
}

int db_report_collect(sqlite3 *db, struct rep *r, char *err, size_t errlen)
{
    if (r->from_ns || r->to_ns) {
        r->from = r->from_ns;
        r->to = r->to_ns;
    } else {
        /* Default: the 24 hours up to the newest window in the database. */
        sqlite3_stmt *st = prep(db, "SELECT max(end_ns) FROM window_stats");
        uint64_t newest = 0;
        if (st && sqlite3_step(st) == SQLITE_ROW)
            newest = col_u64(st, 0);
        sqlite3_finalize(st);
        if (!newest) {
            snprintf(err, errlen, "%s: the store holds no data yet (run 'dnsvigil analyze --db')",
                     r->db_path);
            return ERR_INVAL;
        }
        r->to = (newest + 3599999999999ull) / 3600000000000ull * 3600000000000ull;
        r->from = r->to > 86400000000000ull ? r->to - 86400000000000ull : 0;
    }
    r->prev_to = r->from;
    r->prev_from = r->from > (r->to - r->from) ? r->from - (r->to - r->from) : 0;
    if (q_totals(db, r->from, r->to, &r->cur) < 0 ||
        q_totals(db, r->prev_from, r->prev_to, &r->prev) < 0) {
        snprintf(err, errlen, "%s: %s", r->db_path, sqlite3_errmsg(db));
        return ERR_DB;
    }
    q_source(db, r, "packets", &r->src_packets);
    q_source(db, r, "dnstap", &r->src_dnstap);
    q_source(db, r, "logs", &r->src_logs);
    if (!r->src_packets.runs && !r->src_dnstap.runs && r->src_logs.runs) {
        /* Only server logs: their query/reply lines give the traffic figures. */
        q_log_queries(db, r->from, r->to, &r->cur);
        q_log_queries(db, r->prev_from, r->prev_to, &r->prev);
        r->logs_traffic = r->cur.have;
    }
    q_series(db, r);
    find_changes(db, r);
    q_xfr(db, r);
    q_log_xfr(db, r);
    q_zones(db, r);
    q_log_zones(db, r);
    q_alerts(db, r);
    q_top(db, r);
    q_health(db, r);
    return 0;
}
