/* SPDX-License-Identifier: MIT */
/* xfr-failed (traffic side): zone transfers that fail, per zone and peer (BSI
 * APP.3.6.A7/A15 ask for failed zone transfers). AXFR/IXFR answered REFUSED, NOTAUTH,
 * SERVFAIL, NOTIMP or FORMERR; TSIG errors (BADSIG, BADKEY, BADTIME); transfers whose TCP
 * stream ends (FIN, RST, time-out) before the closing SOA; requests never answered; and
 * repeated SOA queries for one zone from one peer with no transfer following. */
#include "rule.h"

#include "ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rule_param params[] = {
    {"min_soa_polls", RP_INT, 5, 2, 1e6,
     "SOA queries for one zone from one peer per window, without a transfer, that fire"},
    {"max_transfers", RP_INT, 1024, 1, 1e6, "transfers in progress tracked"},
    {0},
};

struct xfr {
    bool used, complete;
    uint8_t af;
    uint8_t client[16], server[16];
    uint16_t cport, sport, qtype;
    uint64_t first_ns, last_ns, messages, records;
    unsigned soas;
    char zone[256];
};

struct poll {
    uint64_t count;
    char zone[128];
};

/* A transfer request awaiting its transaction: the zone it asked for, so an unanswered one
 * can be named (the transaction carries no name). */
#define REQS 64
struct req {
    uint8_t af;
    uint16_t cport;
    uint8_t client[16], server[16];
    char zone[256];
};

struct st {
    struct xfr *x;
    uint32_t nx;
    uint32_t active;   /* slots in use: 0 means every TCP stream end returns at once */
    struct ktab polls; /* client + zone hash: SOA queries this window */
    uint64_t min_polls;
    struct req req[REQS]; /* outstanding transfer requests (when full, one makes room) */
    uint32_t nreq, next;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->nx = (uint32_t)rule_param_int(rc, "max_transfers");
    s->x = calloc(s->nx, sizeof(*s->x));
    if (!s->x || ktab_init(&s->polls, 4096, sizeof(struct poll)) < 0) {
        free(s->x);
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
    free(s->x);
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

static struct xfr *find(struct st *s, uint8_t af, const uint8_t *client, uint16_t cport,
                        const uint8_t *server, uint16_t sport, bool create)
{
    size_t alen = af == 4 ? 4 : 16;
    struct xfr *free_slot = NULL, *oldest = NULL;

    if (!create && s->active == 0)
        return NULL;
    for (uint32_t i = 0; i < s->nx; i++) {
        struct xfr *x = &s->x[i];
        if (!x->used) {
            if (!free_slot)
                free_slot = x;
            continue;
        }
        if (x->af == af && x->cport == cport && x->sport == sport &&
            !memcmp(x->client, client, alen) && !memcmp(x->server, server, alen))
            return x;
        if (!oldest || x->last_ns < oldest->last_ns)
            oldest = x;
    }
    if (!create)
        return NULL;
    if (!free_slot) {
        free_slot = oldest; /* the stalest transfer is forgotten */
        free_slot->used = false;
        s->active--;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    return free_slot;
}

static unsigned count_soa(const struct dns_msg *m, uint64_t *records)
{
    struct dns_rr_iter it;
    struct dns_rr rr;
    unsigned n = 0;

    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr)) {
        if (rr.section != DNS_SEC_ANSWER)
            continue;
        (*records)++;
        n += rr.type == DNS_T_SOA;
    }
    return n;
}

static void on_message(struct rule_ctx *rc, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct st *s;
    struct req *q;

    if (m->qr || !m->has_qtype || !dns_is_xfr(m->qtype))
        return;
    s = rule_state(rc);
    if (s->nreq < REQS) {
        q = &s->req[s->nreq++];
    } else {
        q = &s->req[s->next];
        s->next = (s->next + 1) % REQS;
    }
    q->af = meta->af;
    q->cport = meta->sport;
    memcpy(q->client, meta->src, 16);
    memcpy(q->server, meta->dst, 16);
    dns_name_to_str(m->qname, m->qname_len, q->zone, sizeof(q->zone));
}

/* The zone of the transfer request behind t (into zone, if it was seen), forgetting it. */
static void req_take(struct st *s, const struct flow_txn *t, char *zone, size_t n)
{
    size_t alen = t->af == 4 ? 4 : 16;
    for (uint32_t i = 0; i < s->nreq; i++) {
        struct req *q = &s->req[i];
        if (q->af == t->af && q->cport == t->client_port && !memcmp(q->client, t->client, alen) &&
            !memcmp(q->server, t->server, alen)) {
            snprintf(zone, n, "%s", q->zone);
            *q = s->req[--s->nreq];
            s->next = s->next < s->nreq ? s->next : 0;
            return;
        }
    }
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *t)
{
    struct st *s = rule_state(rc);
    const struct dns_msg *m = t->response;
    char zone[256] = "", ev[256];
    struct xfr *x;

    if (t->qtype == DNS_T_SOA && t->outcome == FLOW_ANSWERED && m->has_question) {
        /* SOA polling: count per peer and zone. */
        struct ktab_key k = ktab_addr_key(t->af, t->client, &t->qhash, 7);
        struct poll *p = ktab_get(&s->polls, &k, true);
        if (p && ++p->count >= s->min_polls && !p->zone[0])
            dns_name_to_str(m->qname, m->qname_len, p->zone, sizeof(p->zone));
        return;
    }
    if (!dns_is_xfr(t->qtype))
        return;
    req_take(s, t, zone, sizeof(zone));
    if (m && m->has_question)
        dns_name_to_str(m->qname, m->qname_len, zone, sizeof(zone));
    if (t->outcome == FLOW_UNANSWERED) {
        fire(rc, "no response", zone[0] ? zone : "(unknown zone)", t->af, t->client, t->server,
             t->query_ns, SEV_WARNING, 1, "{\"reason\":\"unanswered\"}");
        return;
    }
    if (t->outcome != FLOW_ANSWERED && t->outcome != FLOW_DUPLICATE)
        return;
    /* A transfer request resets SOA polling for this peer and zone. */
    {
        struct ktab_key k = ktab_addr_key(t->af, t->client, &t->qhash, 7);
        struct poll *p = ktab_get(&s->polls, &k, false);
        if (p)
            p->count = 0;
    }
    if (m->has_tsig && (m->tsig_error == DNS_R_BADSIG || m->tsig_error == DNS_R_BADKEY ||
                        m->tsig_error == DNS_R_BADTIME)) {
        snprintf(ev, sizeof(ev), "{\"reason\":\"tsig\",\"tsig_error\":\"%s\"}",
                 dns_tsig_error_name(m->tsig_error));
        fire(rc, "TSIG error", zone, t->af, t->client, t->server, t->response_ns, SEV_HIGH, 1, ev);
        return;
    }
    if (m->rcode == DNS_R_REFUSED || m->rcode == DNS_R_NOTAUTH || m->rcode == DNS_R_SERVFAIL ||
        m->rcode == DNS_R_NOTIMP || m->rcode == DNS_R_FORMERR) {
        char what[64], qt[16];
        dns_type_str(t->qtype, qt, sizeof(qt));
        snprintf(what, sizeof(what), "%s answered %s", qt, dns_rcode_name(m->rcode));
        snprintf(ev, sizeof(ev), "{\"reason\":\"rcode\",\"rcode\":\"%s\",\"qtype\":\"%s\"}",
                 dns_rcode_name(m->rcode), qt);
        fire(rc, what, zone, t->af, t->client, t->server, t->response_ns, SEV_HIGH, 1, ev);
        return;
    }
    if (t->resp_meta->proto != 6)
        return; /* an IXFR over UDP answered NOERROR: complete in itself */
    x = find(s, t->af, t->client, t->client_port, t->server, t->server_port, true);
    if (!x->used) {
        x->used = true;
        s->active++;
        x->af = t->af;
        memcpy(x->client, t->client, 16);
        memcpy(x->server, t->server, 16);
        x->cport = t->client_port;
        x->sport = t->server_port;
        x->qtype = t->qtype;
        x->first_ns = t->response_ns;
        snprintf(x->zone, sizeof(x->zone), "%s", zone);
    }
    x->last_ns = t->response_ns;
    x->messages++;
    x->soas += count_soa(m, &x->records);
    /* AXFR (RFC 5936 2.2) and IXFR (RFC 1995 4) end with the SOA they began with; an IXFR
     * answer holding just one SOA means "up to date". */
    if (x->soas >= 2 ||
        (x->qtype == DNS_T_IXFR && x->messages == 1 && m->ancount == 1 && x->soas == 1))
        x->complete = true;
}

static void stream_end(struct rule_ctx *rc, const struct cap_event *ev, bool aborted)
{
    struct st *s = rule_state(rc);
    const struct cap_meta *m = ev->meta;
    char evid[256];
    struct xfr *x = find(s, m->af, m->dst, m->dport, m->src, m->sport, false);

    if (!x)
        x = find(s, m->af, m->src, m->sport, m->dst, m->dport, false);
    if (!x)
        return;
    if (!x->complete) {
        snprintf(evid, sizeof(evid),
                 "{\"reason\":\"%s\",\"messages\":%llu,\"records\":%llu,\"soa_records\":%u}",
                 aborted ? "stream aborted mid-message" : "no closing SOA",
                 (unsigned long long)x->messages, (unsigned long long)x->records, x->soas);
        fire(rc, aborted ? "TCP stream cut inside a message" : "stream ended without closing SOA",
             x->zone, x->af, x->client, x->server, m->ts_ns, SEV_HIGH, x->messages, evid);
    }
    x->used = false;
    s->active--;
}

static void on_event(struct rule_ctx *rc, const struct cap_event *ev)
{
    if (ev->kind == CAP_EV_TCP_ABORTED)
        stream_end(rc, ev, true);
    else if (ev->kind == CAP_EV_TCP_END)
        stream_end(rc, ev, false);
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    for (uint32_t i = 0; i < s->polls.n; i++) {
        struct poll *p = ktab_val_at(&s->polls, i);
        uint8_t af;
        const uint8_t *client = ktab_key_addr(ktab_key_at(&s->polls, i), &af);
        char c[48], key[200], summary[256], ev[128];
        if (p->count < s->min_polls)
            continue;
        rule_addr(af, client, c);
        snprintf(key, sizeof(key), "soa-poll|%s|%s", p->zone, c);
        snprintf(summary, sizeof(summary),
                 "%s polled the SOA of %s %llu times without a zone transfer", c, p->zone,
                 (unsigned long long)p->count);
        snprintf(ev, sizeof(ev), "{\"reason\":\"soa refresh without transfer\",\"polls\":%llu}",
                 (unsigned long long)p->count);
        struct alert_in a = {.key = key,
                             .severity = SEV_WARNING,
                             .ts_ns = w->end_ns,
                             .summary = summary,
                             .client = c,
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
    char key[400], summary[800], evidence[400];
    const char *src = srvlog_format_name(ev->format);

    if (ev->kind != SL_XFR_FAILED && ev->kind != SL_REFRESH_FAILED)
        return;
    snprintf(key, sizeof(key), "log|%s|%s|%s", src, ev->zone, ev->peer);
    snprintf(summary, sizeof(summary), "%s of %s from %s failed (per the %s log): %s",
             ev->kind == SL_XFR_FAILED ? "zone transfer" : "refresh", ev->zone,
             ev->peer[0] ? ev->peer : "the primary", src, ev->detail[0] ? ev->detail : ev->rcode);
    snprintf(evidence, sizeof(evidence),
             "{\"source\":\"logs\",\"server_log\":\"%s\",\"event\":\"%s\",\"reason\":\"%.200s\"}",
             src, srvlog_kind_name(ev->kind), ev->detail[0] ? ev->detail : ev->rcode);
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
    .on_message = on_message,
    .on_txn = on_txn,
    .on_event = on_event,
    .on_tick = on_tick,
    .on_log = on_log,
    .fini = fini,
};
