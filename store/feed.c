/* SPDX-License-Identifier: MIT */
#include "feed.h"

#include "../common/dnsnum.h"
#include "../common/json.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

static void minute_flush(db_store *db, struct log_minute *m)
{
    char detail[256];
    if (!(m->queries + m->replies))
        return;
    snprintf(detail, sizeof(detail),
             "{\"queries\":%llu,\"replies\":%llu,\"NOERROR\":%llu,\"FORMERR\":%llu,"
             "\"SERVFAIL\":%llu,\"NXDOMAIN\":%llu,\"NOTIMP\":%llu,\"REFUSED\":%llu}",
             (unsigned long long)m->queries, (unsigned long long)m->replies,
             (unsigned long long)m->rcode[0], (unsigned long long)m->rcode[1],
             (unsigned long long)m->rcode[2], (unsigned long long)m->rcode[3],
             (unsigned long long)m->rcode[4], (unsigned long long)m->rcode[5]);
    db_log_event(db, m->minute * 60000000000ull, srvlog_format_name(m->fmt), m->server, "queries",
                 "", "", detail);
    memset(m->rcode, 0, sizeof(m->rcode));
    m->queries = m->replies = 0;
}

/* The minute counter of this server and format: an existing one, a new one, or the one
 * whose minute is oldest, written out and reused. */
static struct log_minute *minute_of(struct feed_logs *fl, const char *server,
                                    enum srvlog_format fmt)
{
    struct log_minute *m, *oldest = &fl->m[0];
    for (unsigned i = 0; i < fl->n; i++) {
        m = &fl->m[i];
        if (m->fmt == fmt && strcmp(m->server, server) == 0)
            return m;
        if (m->minute < oldest->minute)
            oldest = m;
    }
    if (fl->n < FEED_LOG_SERVERS)
        m = &fl->m[fl->n++];
    else
        minute_flush(fl->db, m = oldest);
    memset(m, 0, sizeof(*m));
    m->fmt = fmt;
    snprintf(m->server, sizeof(m->server), "%s", server);
    return m;
}

static void on_log(void *user, const struct srvlog_event *ev)
{
    struct feed_logs *fl = user;
    char detail[320];

    if (ev->kind == SL_QUERY || ev->kind == SL_REPLY) {
        uint64_t minute = ev->ts_ns / 60000000000ull;
        struct log_minute *m = minute_of(fl, ev->origin, ev->format);
        if (minute != m->minute) {
            minute_flush(fl->db, m);
            m->minute = minute;
        }
        if (ev->kind == SL_QUERY) {
            m->queries++;
        } else {
            int r = dns_rcode_parse(ev->rcode);
            m->replies++;
            if (r >= 0 && r <= DNS_R_REFUSED)
                m->rcode[r]++;
        }
        return;
    }
    if (ev->kind == SL_ZONE_EXPIRES_IN)
        snprintf(detail, sizeof(detail), "{\"seconds\":%lld,\"serial\":%lld}",
                 (long long)ev->seconds, (long long)ev->serial);
    else if (ev->serial >= 0)
        snprintf(detail, sizeof(detail), "{\"serial\":%lld}", (long long)ev->serial);
    else
        snprintf(detail, sizeof(detail), "%s", ev->detail[0] ? ev->detail : ev->rcode);
    db_log_event(fl->db, ev->ts_ns, srvlog_format_name(ev->format), ev->origin,
                 srvlog_kind_name(ev->kind), ev->zone, ev->peer, detail);
}

void feed_logs_sink(struct feed_logs *fl, db_store *db, struct disp_sink *sink)
{
    memset(fl, 0, sizeof(*fl));
    fl->db = db;
    memset(sink, 0, sizeof(*sink));
    sink->on_log = on_log;
    sink->user = fl;
}

void feed_logs_flush(struct feed_logs *fl)
{
    for (unsigned i = 0; i < fl->n; i++)
        minute_flush(fl->db, &fl->m[i]);
    fl->n = 0;
}

static void on_alert(void *user, struct engine_alert *a)
{
    db_store *db = user;
    db_alert(db, a);
}

void feed_alert_sink(db_store *db, struct engine_alert_sink *sink)
{
    sink->on_alert = on_alert;
    sink->user = db;
}

/* Hands the run's top lists to the store. */
static void store_tops(db_store *db, const struct dispatch *d)
{
    static const char *const kinds[] = {"clients", "servers", "qnames", "registered_domains"};
    const struct topn *t[] = {&d->clients, &d->servers, &d->qnames, &d->regdoms};
    for (int k = 0; k < 4; k++) {
        const struct topn_item *items[50];
        size_t n = topn_top(t[k], items, 50);
        for (size_t i = 0; i < n; i++) {
            char name[1024];
            if (k >= 2)
                dns_name_to_str(items[i]->key, items[i]->keylen, name, sizeof(name));
            else
                inet_ntop(items[i]->keylen == 4 ? AF_INET : AF_INET6, items[i]->key, name,
                          sizeof(name));
            db_top(db, kinds[k], (unsigned)i + 1, name, items[i]->count);
        }
    }
}

int feed_end_run(db_store *db, const struct dispatch *disp, const struct cap_stats *cap,
                 const char *status)
{
    uint64_t loss[LOSS_N];
    struct flow_counts fc;
    char lj[2048];
    size_t o = 0;
    struct db_run_end re = {
        .status = status,
        .first_ns = disp->stats.first_ns,
        .last_ns = disp->stats.last_ns,
        .packets = cap->c[CAP_PACKETS],
        .messages = disp->stats.messages,
        .loss_json = lj,
        .xfr_untracked = xfr_overflow(disp->xfr),
    };

    flow_get_counts(disp->flow, &fc);
    loss_snapshot(cap, disp->stats.malformed_total, fc.outcome[FLOW_EVICTED], loss);
    o += (size_t)snprintf(lj, sizeof(lj), "{");
    for (int i = 0; i < LOSS_N && o < sizeof(lj); i++)
        o += (size_t)snprintf(lj + o, sizeof(lj) - o, "%s\"%s\":%llu", i ? "," : "",
                              loss_name((enum loss_counter)i), (unsigned long long)loss[i]);
    if (o < sizeof(lj))
        snprintf(lj + o, sizeof(lj) - o, "}");
    store_tops(db, disp);
    return db_end_run(db, &re);
}

void feed_store_json(struct json *j, const db_store *db, const char *path, const char *run_key,
                     uint64_t retained)
{
    const struct db_stats *st = db_get_stats(db);
    static const char *const drop_names[] = {
#define DB_X_NAME(id, name) name,
        DB_DROP_KINDS(DB_X_NAME)
#undef DB_X_NAME
    };
    json_obj_begin(j, "store");
    json_str(j, "path", path);
    json_str(j, "run_key", run_key);
    json_u64(j, "batches", st->batches);
    json_u64(j, "rows", st->rows);
    json_u64(j, "windows", st->windows);
    json_u64(j, "messages", st->messages);
    json_u64(j, "rrsets_new", st->pdns_new);
    json_u64(j, "rrsets_seen_again", st->pdns_seen);
    json_u64(j, "transfers_ok", st->xfr_ok);
    json_u64(j, "transfers_failed", st->xfr_failed);
    json_u64(j, "sql_errors", st->sql_errors);
    json_u64(j, "retention_deleted", retained);
    json_obj_begin(j, "dropped");
    for (int i = 0; i < DB_DROP_N; i++)
        json_u64(j, drop_names[i], st->dropped[i]);
    json_u64(j, "server_rows_overflow", st->server_overflow);
    json_u64(j, "rrset_table_flushes", st->pdns_flushes);
    json_u64(j, "transfers_untracked", st->xfr_overflow);
    json_obj_end(j);
    json_obj_end(j);
}
