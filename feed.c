/* SPDX-License-Identifier: MIT */
#include "feed.h"

#include "common/dnsnum.h"

#include <stdio.h>
#include <string.h>

void feed_log_flush(db_store *db, struct log_minute *m)
{
    char detail[256];
    if (!db || !(m->queries + m->replies))
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

void feed_log_event(db_store *db, struct engine *eng, struct log_minute *lm, const char *server,
                    const struct srvlog_event *ev)
{
    if (eng)
        engine_log(eng, ev);
    if (!db)
        return;
    if (ev->kind == SL_QUERY || ev->kind == SL_REPLY) {
        uint64_t minute = ev->ts_ns / 60000000000ull;
        if (minute != lm->minute || ev->format != lm->fmt || strcmp(server, lm->server)) {
            feed_log_flush(db, lm);
            lm->minute = minute;
            lm->fmt = ev->format;
            snprintf(lm->server, sizeof(lm->server), "%s", server);
        }
        if (ev->kind == SL_QUERY) {
            lm->queries++;
        } else {
            lm->replies++;
            int r = dns_rcode_parse(ev->rcode);
            if (r >= 0 && r <= DNS_R_REFUSED)
                lm->rcode[r]++;
        }
        return;
    }
    {
        char detail[320];
        if (ev->kind == SL_ZONE_EXPIRES_IN)
            snprintf(detail, sizeof(detail), "{\"seconds\":%lld,\"serial\":%lld}",
                     (long long)ev->seconds, (long long)ev->serial);
        else if (ev->serial >= 0)
            snprintf(detail, sizeof(detail), "{\"serial\":%lld}", (long long)ev->serial);
        else
            snprintf(detail, sizeof(detail), "%s", ev->detail[0] ? ev->detail : ev->rcode);
        db_log_event(db, ev->ts_ns, srvlog_format_name(ev->format), server,
                     srvlog_kind_name(ev->kind), ev->zone, ev->peer, detail);
    }
}

void feed_alert(db_store *db, const struct engine_alert *a)
{
    struct db_alert d = {
        .id = a->id,
        .rule = a->rule,
        .reference = a->reference,
        .severity = a->severity,
        .state = a->state,
        .key = a->key,
        .summary = a->summary,
        .client = a->client,
        .server = a->server,
        .victim = a->victim,
        .zone = a->zone,
        .qname = a->qname,
        .evidence = a->evidence,
        .evidence_file = a->evidence_file,
        .first_ns = a->first_ns,
        .last_ns = a->last_ns,
        .count = a->count,
        .threshold = a->threshold,
        .observed = a->observed,
    };
    db_alert(db, &d);
}
