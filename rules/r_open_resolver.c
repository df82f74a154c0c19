/* SPDX-License-Identifier: MIT */
/* open-resolver (RFC 5358, BSI APP.3.6.A4): a server that gives recursive service to
 * clients outside the site's internal networks. Recursive service is an answered
 * transaction whose response has RD and RA set and AA clear, class IN, and either answer
 * records, NXDOMAIN, or NOERROR/NODATA with the SOA (a referral, NS without SOA, is not
 * recursion; an authoritative answer, AA set, is not either). Per server: the answers to
 * outside clients, an estimate of the distinct outside clients (linear counting over a
 * 512-bit map), a sample of them and of the names. A server that also answers
 * authoritatively (configured in authoritative_servers, or seen with AA answers) is said to
 * mix the roles; a configured authoritative server giving recursion even to internal
 * clients is a warning of its own (BSI A4: separate the two). Judges only when the config
 * sets internal_networks: the defaults (RFC 1918 and the like) say nothing about a site's
 * public address space, so without it recursive answers are only counted. */
#include "rule.h"

#include "ktab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_BITS 512
#define SAMPLES 4

static const struct rule_param params[] = {
    {"min_answers", RP_INT, 1, 1, 1e6, "recursive answers to outside clients that fire"},
    {"max_servers", RP_INT, 1024, 16, 1e6, "servers tracked at once"},
    {0},
};

struct srv {
    uint64_t outside, internal, aa_answers;
    uint64_t reported; /* outside at the last report */
    uint64_t first_ns;
    uint64_t clients[CLIENT_BITS / 64]; /* linear counting map of outside clients */
    uint8_t sample_af[SAMPLES];
    uint8_t sample[SAMPLES][16];
    uint8_t nsample, nnames;
    bool auth_warned;
    char names[SAMPLES][80];
};

struct st {
    struct ktab servers;
    uint64_t min;
    bool judged; /* internal_networks configured */
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s || ktab_init(&s->servers, (uint32_t)rule_param_int(rc, "max_servers"),
                        sizeof(struct srv)) < 0) {
        free(s);
        return -1;
    }
    s->min = (uint64_t)rule_param_int(rc, "min_answers");
    s->judged = rule_site_set(rc, SITE_INTERNAL);
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->servers);
    free(s);
}

/* NOERROR without answers is recursive service when it carries the zone's SOA (NODATA),
 * a delegation (NS without SOA) when not. */
static bool nodata_with_soa(const struct dns_msg *m)
{
    struct dns_rr_iter it;
    struct dns_rr rr;

    if (!m->rrs_ok || m->nscount == 0)
        return false;
    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr))
        if (rr.section == DNS_SEC_AUTHORITY && rr.type == DNS_T_SOA)
            return true;
    return false;
}

static bool recursive_answer(const struct dns_msg *m)
{
    if (!m->qr || !m->ra || !m->rd || m->aa || m->opcode != 0 || !m->has_question ||
        m->qclass != DNS_C_IN)
        return false;
    if (m->rcode == DNS_R_NXDOMAIN)
        return true;
    return m->rcode == DNS_R_NOERROR && (m->ancount > 0 || nodata_with_soa(m));
}

static uint32_t addr_hash(uint8_t af, const uint8_t *a)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < (af == 4 ? 4 : 16); i++)
        h = (h ^ a[i]) * 16777619u;
    return h ^ (h >> 15);
}

static uint64_t clients_estimate(const struct srv *v)
{
    unsigned set = 0;
    for (unsigned i = 0; i < CLIENT_BITS / 64; i++)
        set += (unsigned)__builtin_popcountll(v->clients[i]);
    if (set >= CLIENT_BITS)
        set = CLIENT_BITS - 1; /* saturated: the estimate is a lower bound */
    return (uint64_t)llround(-(double)CLIENT_BITS * log(1.0 - (double)set / CLIENT_BITS));
}

static void remember(struct srv *v, const struct flow_txn *x)
{
    char qn[80];
    uint32_t h = addr_hash(x->af, x->client) % CLIENT_BITS;
    bool known = v->clients[h / 64] >> (h % 64) & 1;

    v->clients[h / 64] |= 1ull << (h % 64);
    if (!known && v->nsample < SAMPLES) {
        v->sample_af[v->nsample] = x->af;
        memcpy(v->sample[v->nsample++], x->client, 16);
    }
    if (v->nnames >= SAMPLES)
        return;
    dns_name_to_str(x->response->qname, x->response->qname_len, qn, sizeof(qn));
    for (unsigned i = 0; i < v->nnames; i++)
        if (!strcasecmp(v->names[i], qn))
            return;
    /* names go into JSON and log lines: no quotes or backslashes */
    for (char *c = qn; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
            *c = '?';
    snprintf(v->names[v->nnames++], sizeof(v->names[0]), "%s", qn);
}

static void report(struct rule_ctx *rc, const struct ktab_key *k, struct srv *v, uint64_t now)
{
    char server[48], first[48], summary[320], ev[1200];
    uint8_t af;
    const uint8_t *addr = ktab_key_addr(k, &af);
    bool auth = v->aa_answers > 0 || rule_site_in(rc, SITE_AUTHORITATIVE, af, addr);
    uint64_t nc = clients_estimate(v);
    int o;

    rule_addr(af, addr, server);
    rule_addr(v->sample_af[0], v->sample[0], first);
    snprintf(summary, sizeof(summary),
             "%s gives recursive service to clients outside the site: %llu answer%s to about "
             "%llu outside client%s (first %s)%s",
             server, (unsigned long long)v->outside, v->outside == 1 ? "" : "s",
             (unsigned long long)nc, nc == 1 ? "" : "s", first,
             auth ? "; it also answers authoritatively" : "");
    o = snprintf(ev, sizeof(ev),
                 "{\"answers_outside\":%llu,\"answers_internal\":%llu,\"outside_clients_est\":%llu,"
                 "\"authoritative\":%s,\"sample_clients\":[",
                 (unsigned long long)v->outside, (unsigned long long)v->internal,
                 (unsigned long long)nc, auth ? "true" : "false");
    for (unsigned i = 0; i < v->nsample; i++) {
        char c[48];
        o += snprintf(ev + o, sizeof(ev) - (size_t)o, "%s\"%s\"", i ? "," : "",
                      rule_addr(v->sample_af[i], v->sample[i], c));
    }
    o += snprintf(ev + o, sizeof(ev) - (size_t)o, "],\"sample_names\":[");
    for (unsigned i = 0; i < v->nnames; i++)
        o += snprintf(ev + o, sizeof(ev) - (size_t)o, "%s\"%s\"", i ? "," : "", v->names[i]);
    snprintf(ev + o, sizeof(ev) - (size_t)o, "]}");
    v->reported = v->outside;
    struct alert_in a = {
        .key = server,
        .severity = auth ? SEV_CRITICAL : SEV_HIGH,
        .ts_ns = now,
        .summary = summary,
        .server = server,
        .client = first,
        .qname = v->nnames ? v->names[0] : NULL,
        .count = v->outside,
        .threshold = 1,
        .observed = (double)nc,
        .evidence = ev,
    };
    rule_emit(rc, &a);
}

/* A configured authoritative server that recurses for internal clients: one warning. */
static void report_mixed(struct rule_ctx *rc, const struct ktab_key *k, struct srv *v,
                         const struct flow_txn *x)
{
    char server[48], client[48], key[64], summary[256], ev[256];
    uint8_t af;
    const uint8_t *addr = ktab_key_addr(k, &af);

    v->auth_warned = true;
    rule_addr(af, addr, server);
    rule_addr(x->af, x->client, client);
    snprintf(key, sizeof(key), "%s|mixed", server);
    snprintf(summary, sizeof(summary),
             "authoritative server %s also gives recursive service (to %s, an internal client)",
             server, client);
    snprintf(ev, sizeof(ev), "{\"answers_internal\":%llu,\"client\":\"%s\"}",
             (unsigned long long)v->internal, client);
    struct alert_in a = {
        .key = key,
        .severity = SEV_WARNING,
        .ts_ns = x->response_ns,
        .summary = summary,
        .server = server,
        .client = client,
        .count = v->internal,
        .threshold = 1,
        .observed = (double)v->internal,
        .evidence = ev,
    };
    rule_emit(rc, &a);
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *x)
{
    struct st *s = rule_state(rc);
    struct ktab_key k;
    struct srv *v;
    bool outside;

    if ((x->outcome != FLOW_ANSWERED && x->outcome != FLOW_LATE) || !x->response)
        return;
    if (x->response->aa && x->response->qr) {
        /* learn the authoritative role of servers we already track (no new entries) */
        k = ktab_addr_key(x->af, x->server, NULL, 0);
        v = ktab_get(&s->servers, &k, false);
        if (v)
            v->aa_answers++;
        return;
    }
    if (!recursive_answer(x->response))
        return;
    if (!s->judged) {
        rule_count(rc, "not_judged_no_internal_networks", 1);
        return;
    }
    outside = !rule_site_internal(rc, x->af, x->client);
    if (!outside && !rule_site_in(rc, SITE_AUTHORITATIVE, x->af, x->server))
        return; /* the everyday case: an internal client of an internal resolver */
    k = ktab_addr_key(x->af, x->server, NULL, 0);
    v = ktab_get(&s->servers, &k, true);
    if (!v) {
        rule_count(rc, "servers_refused", 1);
        return;
    }
    if (!v->first_ns)
        v->first_ns = x->response_ns;
    if (!outside) {
        v->internal++;
        if (!v->auth_warned)
            report_mixed(rc, &k, v, x);
        return;
    }
    v->outside++;
    remember(v, x);
    /* Report when the threshold is crossed, then at every doubling; ticks catch up. */
    if (v->outside >= s->min && (v->outside == s->min || (v->outside & (v->outside - 1)) == 0))
        report(rc, &k, v, x->response_ns);
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    for (uint32_t i = 0; i < s->servers.n; i++) {
        struct srv *v = ktab_val_at(&s->servers, i);
        if (v->outside >= s->min && v->outside != v->reported)
            report(rc, ktab_key_at(&s->servers, i), v, w->end_ns);
    }
}

const struct rule_ops rule_open_resolver = {
    .name = "open-resolver",
    .summary = "recursive service (RA, no AA, an answer) to clients outside the site; "
               "authoritative servers that also recurse",
    .reference = "BSI APP.3.6.A4; RFC 5358",
    .needs = "[site] internal_networks (the defaults cannot tell a site's public addresses)",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .fini = fini,
};
