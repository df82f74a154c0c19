/* SPDX-License-Identifier: MIT */
/* Zone-transfer tracking. Transfers in progress and outstanding requests are short compact
 * arrays kept in arrival order, searched linearly: there are few at once, and the common events
 * (every TCP stream's end, every transaction) return at once while both are empty. */
#include "xfr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A transfer connection: client, server and their ports. */
struct conn {
    uint8_t af, proto;
    uint16_t cport, sport;
    uint8_t client[16], server[16];
};

struct active {
    struct conn c;
    uint16_t qtype;
    uint64_t start_ns, last_ns;
    uint64_t messages, records;
    uint32_t soas, first_serial;
    bool have_soa;
    uint32_t soa[5];
    char zone[256];
};

struct request {
    struct conn c;
    uint64_t ts_ns;
    char zone[256];
};

struct xfr_tracker {
    struct active *act;
    struct request *req;
    uint32_t nact, nreq, slots;
    uint64_t overflow;
    xfr_result_fn fn;
    void *user;
};

struct xfr_tracker *xfr_new(uint32_t slots, xfr_result_fn fn, void *user)
{
    struct xfr_tracker *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->slots = slots ? slots : 1;
    x->act = calloc(x->slots, sizeof(*x->act));
    x->req = calloc(x->slots, sizeof(*x->req));
    x->fn = fn;
    x->user = user;
    if (!x->act || !x->req) {
        xfr_free(x);
        return NULL;
    }
    return x;
}

void xfr_free(struct xfr_tracker *x)
{
    if (!x)
        return;
    free(x->act);
    free(x->req);
    free(x);
}

uint64_t xfr_overflow(const struct xfr_tracker *x)
{
    return x->overflow;
}

const char *xfr_outcome_name(enum xfr_outcome o)
{
    static const char *const names[] = {"ok", "failed", "incomplete"};
    return (unsigned)o < 3 ? names[o] : "?";
}

const char *xfr_reason(const struct xfr_result *r, char *buf, size_t n)
{
    const char *rc = dns_rcode_name(r->rcode), *ts = dns_tsig_error_name(r->tsig_error);

    switch (r->why) {
    case XFR_WHY_RCODE:
        if (rc)
            snprintf(buf, n, "%s", rc);
        else
            snprintf(buf, n, "RCODE%u", r->rcode);
        break;
    case XFR_WHY_TSIG:
        if (r->rcode != DNS_R_NOERROR)
            snprintf(buf, n, "%s, TSIG %s", rc ? rc : "error", ts ? ts : "error");
        else
            snprintf(buf, n, "TSIG %s", ts ? ts : "error");
        break;
    case XFR_WHY_NO_RESPONSE:
        snprintf(buf, n, "no response");
        break;
    case XFR_WHY_ABORTED:
        snprintf(buf, n, "connection aborted inside a message");
        break;
    case XFR_WHY_NO_END_SOA:
        snprintf(buf, n, "connection closed before the final SOA");
        break;
    default:
        snprintf(buf, n, "%s",
                 r->outcome == XFR_INCOMPLETE ? "incomplete at the end of the input" : "");
        break;
    }
    return buf;
}

static void conn_set(struct conn *c, const struct cap_meta *m, bool response)
{
    memset(c, 0, sizeof(*c));
    c->af = m->af;
    c->proto = m->proto;
    memcpy(c->client, response ? m->dst : m->src, 16);
    memcpy(c->server, response ? m->src : m->dst, 16);
    c->cport = response ? m->dport : m->sport;
    c->sport = response ? m->sport : m->dport;
}

static bool conn_is(const struct conn *c, uint8_t af, const uint8_t *client, uint16_t cport,
                    const uint8_t *server, uint16_t sport)
{
    size_t alen = af == 6 ? 16 : 4;
    return c->af == af && c->cport == cport && c->sport == sport &&
           !memcmp(c->client, client, alen) && !memcmp(c->server, server, alen);
}

static void zone_str(const struct dns_msg *m, char *zone, size_t n)
{
    dns_name_to_str(m->qname, m->qname_len, zone, n);
    for (char *p = zone; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static void emit(struct xfr_tracker *x, const struct active *a, enum xfr_outcome o,
                 enum xfr_why why, uint16_t rcode, uint16_t tsig, uint64_t end_ns)
{
    struct xfr_result r = {
        .outcome = o,
        .why = why,
        .zone = a->zone[0] ? a->zone : "(unknown zone)",
        .af = a->c.af,
        .proto = a->c.proto,
        .client_port = a->c.cport,
        .server_port = a->c.sport,
        .qtype = a->qtype,
        .start_ns = a->start_ns,
        .end_ns = end_ns,
        .rcode = rcode,
        .tsig_error = tsig,
        .have_soa = a->have_soa,
        .messages = a->messages,
        .records = a->records,
        .soa_records = a->soas,
    };
    memcpy(r.client, a->c.client, 16);
    memcpy(r.server, a->c.server, 16);
    memcpy(r.soa, a->soa, sizeof(r.soa));
    x->fn(x->user, &r);
}

/* The outstanding request of connection c, or -1. */
static int req_find(const struct xfr_tracker *x, uint8_t af, const uint8_t *client, uint16_t cport,
                    const uint8_t *server, uint16_t sport)
{
    for (uint32_t i = 0; i < x->nreq; i++)
        if (conn_is(&x->req[i].c, af, client, cport, server, sport))
            return (int)i;
    return -1;
}

/* Removes entry i keeping the order (oldest first): the arrays are short. */
static void req_drop(struct xfr_tracker *x, int i)
{
    memmove(&x->req[i], &x->req[i + 1], (--x->nreq - (uint32_t)i) * sizeof(*x->req));
}

static int act_find(const struct xfr_tracker *x, uint8_t af, const uint8_t *client, uint16_t cport,
                    const uint8_t *server, uint16_t sport)
{
    for (uint32_t i = 0; i < x->nact; i++)
        if (conn_is(&x->act[i].c, af, client, cport, server, sport))
            return (int)i;
    return -1;
}

static void act_drop(struct xfr_tracker *x, int i)
{
    memmove(&x->act[i], &x->act[i + 1], (--x->nact - (uint32_t)i) * sizeof(*x->act));
}

/* A slot at the end of a compact array of *n, making room by forgetting the oldest (index
 * 0, the longest waiting: entries are appended) when it is full. */
static uint32_t take_slot(struct xfr_tracker *x, uint32_t *n, void *arr, size_t size)
{
    if (*n < x->slots)
        return (*n)++;
    x->overflow++;
    memmove(arr, (uint8_t *)arr + size, (x->slots - 1) * size);
    return x->slots - 1;
}

static void on_request(struct xfr_tracker *x, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct request *q;
    int i = req_find(x, meta->af, meta->src, meta->sport, meta->dst, meta->dport);

    q = i >= 0 ? &x->req[i] : &x->req[take_slot(x, &x->nreq, x->req, sizeof(*x->req))];
    conn_set(&q->c, meta, false);
    q->ts_ns = meta->ts_ns;
    zone_str(m, q->zone, sizeof(q->zone));
}

/* RFC 5936 2.2: an AXFR ends with the SOA it began with; RFC 1995 4: so does an IXFR (the
 * new serial again), and an IXFR answer that is the current SOA alone means "up to date". */
static void on_response(struct xfr_tracker *x, const struct dns_msg *m, const struct cap_meta *meta)
{
    int i = act_find(x, meta->af, meta->dst, meta->dport, meta->src, meta->sport);
    struct active *a;
    struct dns_rr_iter it;
    struct dns_rr rr;
    bool done = false;
    uint64_t rrs = 0;

    if (i < 0) {
        int q = req_find(x, meta->af, meta->dst, meta->dport, meta->src, meta->sport);
        i = (int)take_slot(x, &x->nact, x->act, sizeof(*x->act));
        a = &x->act[i];
        memset(a, 0, sizeof(*a));
        conn_set(&a->c, meta, true);
        a->qtype = m->qtype;
        a->start_ns = meta->ts_ns;
        if (m->has_question)
            zone_str(m, a->zone, sizeof(a->zone));
        else if (q >= 0)
            memcpy(a->zone, x->req[q].zone, sizeof(a->zone));
        if (q >= 0)
            req_drop(x, q);
    }
    a = &x->act[i];
    a->messages++;
    a->last_ns = meta->ts_ns;
    /* A TSIG error says more than the RCODE that carries it (NOTAUTH with BADSIG). */
    if (m->has_tsig && m->tsig_error != DNS_R_NOERROR) {
        emit(x, a, XFR_FAILED, XFR_WHY_TSIG, m->rcode, m->tsig_error, meta->ts_ns);
        act_drop(x, i);
        return;
    }
    if (m->rcode != DNS_R_NOERROR) {
        emit(x, a, XFR_FAILED, XFR_WHY_RCODE, m->rcode, 0, meta->ts_ns);
        act_drop(x, i);
        return;
    }
    if (m->rrs_ok) {
        dns_rr_iter_init(&it, m);
        while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
            uint32_t t[5];
            rrs++;
            if (rr.type != DNS_T_SOA || !dns_soa_fields(m, &rr, t))
                continue;
            if (a->soas++ == 0) {
                a->first_serial = t[0];
                a->have_soa = true;
                memcpy(a->soa, t, sizeof(a->soa));
            } else if (a->qtype == DNS_T_AXFR || t[0] == a->first_serial) {
                done = true;
            }
        }
    }
    a->records += rrs;
    if (a->qtype == DNS_T_IXFR && a->messages == 1 && a->soas == 1 && rrs == 1)
        done = true;
    /* An IXFR over UDP is one message: complete in itself unless truncated (the client
     * then asks again over TCP, a transfer of its own). */
    if (meta->proto != 6 && !m->tc)
        done = true;
    if (done || (meta->proto != 6 && m->tc)) {
        if (done)
            emit(x, a, XFR_OK, XFR_WHY_NONE, DNS_R_NOERROR, 0, meta->ts_ns);
        act_drop(x, i);
    }
}

void xfr_message(struct xfr_tracker *x, const struct dns_msg *m, const struct cap_meta *meta)
{
    if (!m->has_qtype || !dns_is_xfr(m->qtype) || !m->has_header)
        return;
    if (m->qr)
        on_response(x, m, meta);
    else
        on_request(x, m, meta);
}

void xfr_txn(struct xfr_tracker *x, const struct flow_txn *t)
{
    struct active a;
    int q;

    if (!dns_is_xfr(t->qtype) || (t->outcome != FLOW_UNANSWERED && t->outcome != FLOW_EVICTED))
        return;
    q = req_find(x, t->af, t->client, t->client_port, t->server, t->server_port);
    memset(&a, 0, sizeof(a));
    if (q >= 0) {
        a.c = x->req[q].c;
        memcpy(a.zone, x->req[q].zone, sizeof(a.zone));
        req_drop(x, q);
    } else { /* the request was not seen as a message, or its entry made room */
        a.c.af = t->af;
        a.c.proto = t->proto;
        a.c.cport = t->client_port;
        a.c.sport = t->server_port;
        memcpy(a.c.client, t->client, 16);
        memcpy(a.c.server, t->server, 16);
    }
    a.qtype = t->qtype;
    a.start_ns = t->query_ns;
    emit(x, &a, XFR_FAILED, XFR_WHY_NO_RESPONSE, 0, 0, t->query_ns);
}

void xfr_event(struct xfr_tracker *x, const struct cap_event *ev)
{
    const struct cap_meta *m = ev->meta;
    int i;

    if (x->nact == 0 || (ev->kind != CAP_EV_TCP_ABORTED && ev->kind != CAP_EV_TCP_END))
        return;
    /* The event's direction may be either way round. */
    i = act_find(x, m->af, m->dst, m->dport, m->src, m->sport);
    if (i < 0)
        i = act_find(x, m->af, m->src, m->sport, m->dst, m->dport);
    if (i < 0)
        return;
    emit(x, &x->act[i], XFR_FAILED,
         ev->kind == CAP_EV_TCP_ABORTED ? XFR_WHY_ABORTED : XFR_WHY_NO_END_SOA, 0, 0, m->ts_ns);
    act_drop(x, i);
}

void xfr_flush(struct xfr_tracker *x)
{
    while (x->nact > 0) {
        emit(x, &x->act[0], XFR_INCOMPLETE, XFR_WHY_NONE, 0, 0, x->act[0].last_ns);
        act_drop(x, 0);
    }
}
