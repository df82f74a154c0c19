/* SPDX-License-Identifier: MIT */
/* xfr-failed: zone transfers that fail, per zone and peer (BSI APP.3.6.A7/A15 ask for
 * failed zone transfers). The dispatcher's transfer tracker (analyze/xfr.c) decides how each
 * transfer ended (error RCODE, TSIG error, no response, TCP stream cut or closed before the
 * closing SOA); this rule raises the alert for every failed one, names the reason, and adds
 * what the tracker does not see: repeated SOA queries for one zone from one peer with no
 * transfer following, and failed transfers and refreshes that server logs report. */
#include "rule.h"

#include "ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rule_param params[] = {
    {"min_soa_polls", RP_INT, 5, 2, 1e6,
     "SOA queries for one zone from one peer per window, without a transfer, that fire"},
    {0},
};

struct poll {
    uint64_t count;
    uint8_t server[16];
    char zone[128];
};

struct st {
    struct ktab polls; /* client + zone hash: SOA queries this window */
    uint64_t min_polls;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    if (ktab_init(&s->polls, 4096, sizeof(struct poll)) < 0) {
        free(s);
        return -1;
    }
    s->min_polls = (uint64_t)rule_param_int(rc, "min_soa_polls");
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->polls);
    free(s);
}

static void fire(struct rule_ctx *rc, const char *what, const char *zone, uint8_t af,
                 const uint8_t *client, const uint8_t *server, uint64_t ts, enum alert_severity sev,
                 uint64_t count, const char *evidence)
{
    char c[48], sv[48], key[400], summary[256];

    rule_addr(af, client, c);
    rule_addr(af, server, sv);
    snprintf(key, sizeof(key), "%s|%s|%s", zone, c, sv);
    snprintf(summary, sizeof(summary), "zone transfer of %s from %s to %s failed: %s", zone, sv, c,
             what);
    struct alert_in a = {
        .key = key,
        .severity = sev,
        .ts_ns = ts,
        .summary = summary,
        .client = c,
        .server = sv,
        .zone = zone,
        .count = count,
        .threshold = 1,
        .observed = (double)count,
        .evidence = evidence,
    };
    rule_emit(rc, &a);
}

/* The polling key: the peer, and a hash of the server and the zone (a secondary polls its
 * primary; a client that asks several servers for a zone's SOA once each, as dig or a
 * monitor does, is not one). */
static struct ktab_key poll_key(const struct flow_txn *t)
{
    uint64_t h = t->qhash, a, b;
    memcpy(&a, t->server, 8);
    memcpy(&b, t->server + 8, 8);
    h ^= (a * 0x9e3779b97f4a7c15ull) ^ ((b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull);
    h ^= h >> 29;
    return ktab_addr_key(t->af, t->client, &h, 7);
}

/* SOA polling: per peer, server and zone; a transfer request resets it. */
static void on_txn(struct rule_ctx *rc, const struct flow_txn *t)
{
    struct st *s = rule_state(rc);
    const struct dns_msg *m = t->response;
    struct ktab_key k;
    struct poll *p;

    if (t->qtype == DNS_T_SOA && t->outcome == FLOW_ANSWERED && m->has_question) {
        k = poll_key(t);
        p = ktab_get(&s->polls, &k, true);
        if (p && ++p->count >= s->min_polls && !p->zone[0]) {
            dns_name_to_str(m->qname, m->qname_len, p->zone, sizeof(p->zone));
            memcpy(p->server, t->server, 16);
        }
        return;
    }
    if (!dns_is_xfr(t->qtype) || (t->outcome != FLOW_ANSWERED && t->outcome != FLOW_DUPLICATE))
        return;
    k = poll_key(t);
    p = ktab_get(&s->polls, &k, false);
    if (p)
        p->count = 0;
}

/* A transfer that failed, as the dispatcher's transfer tracker decided (the store records
 * the same outcome). */
static void on_xfr(struct rule_ctx *rc, const struct xfr_result *x)
{
    char what[64], qt[16], ev[256];

    if (x->outcome != XFR_FAILED)
        return;
    dns_type_str(x->qtype, qt, sizeof(qt));
    switch (x->why) {
    case XFR_WHY_TSIG:
        snprintf(ev, sizeof(ev), "{\"reason\":\"tsig\",\"tsig_error\":\"%s\"}",
                 dns_tsig_error_name(x->tsig_error) ? dns_tsig_error_name(x->tsig_error) : "?");
        fire(rc, "TSIG error", x->zone, x->af, x->client, x->server, x->end_ns, SEV_HIGH, 1, ev);
        break;
    case XFR_WHY_RCODE: {
        char rcs[16];
        dns_rcode_str(x->rcode, rcs, sizeof(rcs));
        snprintf(what, sizeof(what), "%s answered %s", qt, rcs);
        snprintf(ev, sizeof(ev), "{\"reason\":\"rcode\",\"rcode\":\"%s\",\"qtype\":\"%s\"}", rcs,
                 qt);
        fire(rc, what, x->zone, x->af, x->client, x->server, x->end_ns, SEV_HIGH, 1, ev);
        break;
    }
    case XFR_WHY_NO_RESPONSE:
        fire(rc, "no response", x->zone, x->af, x->client, x->server, x->start_ns, SEV_WARNING, 1,
             "{\"reason\":\"unanswered\"}");
        break;
    case XFR_WHY_ABORTED:
    case XFR_WHY_NO_END_SOA: {
        bool aborted = x->why == XFR_WHY_ABORTED;
        snprintf(ev, sizeof(ev),
                 "{\"reason\":\"%s\",\"messages\":%llu,\"records\":%llu,\"soa_records\":%u}",
                 aborted ? "stream aborted mid-message" : "no closing SOA",
                 (unsigned long long)x->messages, (unsigned long long)x->records, x->soa_records);
        fire(rc, aborted ? "TCP stream cut inside a message" : "stream ended without closing SOA",
             x->zone, x->af, x->client, x->server, x->end_ns, SEV_HIGH, x->messages, ev);
        break;
    }
    default:
        break;
    }
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    for (uint32_t i = 0; i < s->polls.n; i++) {
        struct poll *p = ktab_val_at(&s->polls, i);
        uint8_t af;
        const uint8_t *client = ktab_key_addr(ktab_key_at(&s->polls, i), &af);
        char c[48], sv[48], key[260], summary[300], ev[128];
        if (p->count < s->min_polls)
            continue;
        rule_addr(af, client, c);
        rule_addr(af, p->server, sv);
        snprintf(key, sizeof(key), "soa-poll|%s|%s|%s", p->zone, c, sv);
        snprintf(summary, sizeof(summary),
                 "%s polled the SOA of %s at %s %llu times without a zone transfer", c, p->zone, sv,
                 (unsigned long long)p->count);
        snprintf(ev, sizeof(ev), "{\"reason\":\"soa refresh without transfer\",\"polls\":%llu}",
                 (unsigned long long)p->count);
        struct alert_in a = {.key = key,
                             .severity = SEV_WARNING,
                             .ts_ns = w->end_ns,
                             .summary = summary,
                             .client = c,
                             .server = sv,
                             .zone = p->zone,
                             .count = p->count,
                             .threshold = (double)s->min_polls,
                             .observed = (double)p->count,
                             .evidence = ev};
        rule_emit(rc, &a);
    }
    ktab_clear(&s->polls);
}

/* Server logs: a failed transfer or refresh as the secondary (or primary) reported it. */
static void on_log(struct rule_ctx *rc, const struct srvlog_event *ev)
{
    char key[400], summary[800], evidence[560], src[64];

    if (ev->kind != SL_XFR_FAILED && ev->kind != SL_REFRESH_FAILED)
        return;
    srvlog_writer(ev, src, sizeof(src));
    snprintf(key, sizeof(key), "log|%s|%s|%s", src, ev->zone, ev->peer);
    snprintf(summary, sizeof(summary), "%s of %s from %s failed (per the %s log): %s",
             ev->kind == SL_XFR_FAILED ? "zone transfer" : "refresh", ev->zone,
             ev->peer[0] ? ev->peer : "the primary", src, ev->detail[0] ? ev->detail : ev->rcode);
    snprintf(evidence, sizeof(evidence),
             "{\"source\":\"logs\",\"server_log\":\"%s\",\"log_writer\":\"%s\",\"event\":\"%s\","
             "\"reason\":\"%.200s\"}",
             srvlog_format_name(ev->format), src, srvlog_kind_name(ev->kind),
             ev->detail[0] ? ev->detail : ev->rcode);
    for (char *p = evidence; *p; p++)
        if (*p == '\\')
            *p = '/';
    struct alert_in a = {
        .key = key,
        .severity = ev->kind == SL_XFR_FAILED ? SEV_HIGH : SEV_WARNING,
        .ts_ns = ev->ts_ns,
        .summary = summary,
        .server = ev->peer,
        .zone = ev->zone,
        .count = 1,
        .threshold = 1,
        .observed = 1,
        .evidence = evidence,
    };
    rule_emit(rc, &a);
}

const struct rule_ops rule_xfr_failed = {
    .name = "xfr-failed",
    .summary = "zone transfers refused, cut short, without closing SOA, TSIG errors, SOA "
               "polling without transfer",
    .reference = "BSI APP.3.6.A7/A15",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .on_log = on_log,
    .on_xfr = on_xfr,
    .fini = fini,
};
