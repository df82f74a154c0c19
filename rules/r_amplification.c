/* SPDX-License-Identifier: MIT */
/* amplification: reflection/amplification toward one address (RFC 5358; BSI APP.3.6 "DNS
 * reflection"). Per window and target address, the UDP bytes of the answers to queries from
 * that address (spoofed queries carry the victim's address) are compared with the bytes of
 * those queries. Only transactions count: a response that answers no query from the target
 * (a flood of forged, unsolicited responses) is poison-flood's finding, not this one. Two
 * ways to fire:
 * - the reflection shape: nearly all of the target's queries (shape_share) ask for ANY,
 *   DNSKEY, TXT or RRSIG with a large EDNS buffer, at least shape_min_queries of them; then
 *   a factor of shape_factor (2) is enough, since real servers limit their answers
 *   (minimal ANY, truncation, REFUSED) and a reflection through them reaches only 2-4;
 * - plain volume: min_response_bytes and min_factor (10), for any query mix.
 * Only risky queries and answers of at least large_answer bytes start tracking a target;
 * other transactions are added to tracked targets only, so ordinary clients with small
 * answers cost one filter probe, not an entry. */
#include "rule.h"

#include "ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rule_param params[] = {
    {"min_response_bytes", RP_INT, 100000, 1, 1e12,
     "UDP response bytes toward one address per window before it is judged"},
    {"min_factor", RP_DOUBLE, 10, 1, 1e6, "response bytes / query bytes that fire"},
    {"large_buffer", RP_INT, 4096, 512, 65535, "EDNS buffer size counted as large"},
    {"large_answer", RP_INT, 512, 0, 65535, "UDP answer size from which a target is tracked"},
    {"shape_share", RP_DOUBLE, 0.9, 0.1, 1,
     "share of a target's queries that are large-buffer ANY/DNSKEY/TXT/RRSIG (the shape)"},
    {"shape_min_queries", RP_INT, 50, 1, 1e9, "queries of that shape per window before it fires"},
    {"shape_factor", RP_DOUBLE, 2, 1, 1e6, "response bytes / query bytes that fire for the shape"},
    {"shape_min_bytes", RP_INT, 10000, 1, 1e12, "response bytes toward the target for the shape"},
    {"max_targets", RP_INT, 2048, 16, 1e6,
     "target addresses tracked per window (refusals counted)"},
    {0},
};

struct tgt {
    uint64_t resp_bytes, responses, query_bytes, queries, risky, any, dnskey, txt, rrsig;
    uint8_t server_af;
    uint8_t server[16];
};

#define FILTER_BITS 4096

struct st {
    struct ktab t;
    uint64_t filter[FILTER_BITS / 64]; /* set for tracked targets: most queries stop here */
    uint64_t min_bytes, large, large_answer, shape_min_q, shape_min_bytes;
    double min_factor, shape_share, shape_factor;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s ||
        ktab_init(&s->t, (uint32_t)rule_param_int(rc, "max_targets"), sizeof(struct tgt)) < 0) {
        free(s);
        return -1;
    }
    s->min_bytes = (uint64_t)rule_param_int(rc, "min_response_bytes");
    s->min_factor = rule_param_double(rc, "min_factor");
    s->large = (uint64_t)rule_param_int(rc, "large_buffer");
    s->large_answer = (uint64_t)rule_param_int(rc, "large_answer");
    s->shape_share = rule_param_double(rc, "shape_share");
    s->shape_min_q = (uint64_t)rule_param_int(rc, "shape_min_queries");
    s->shape_factor = rule_param_double(rc, "shape_factor");
    s->shape_min_bytes = (uint64_t)rule_param_int(rc, "shape_min_bytes");
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->t);
    free(s);
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *x)
{
    struct st *s = rule_state(rc);
    struct ktab_key k;
    struct tgt *t;
    const struct dns_msg *m = x->response;
    bool answered = x->outcome == FLOW_ANSWERED || x->outcome == FLOW_LATE;

    if (x->proto != 17 || (!answered && x->outcome != FLOW_UNANSWERED))
        return; /* only UDP can be spoofed; unsolicited responses answer nobody */
    bool risky = x->query_edns && x->query_udp_size >= s->large &&
                 (x->qtype == DNS_T_ANY || x->qtype == DNS_T_DNSKEY || x->qtype == DNS_T_TXT ||
                  x->qtype == DNS_T_RRSIG);
    uint32_t fb;
    bool create = risky || (answered && m->len >= s->large_answer);

    {
        uint32_t a4;
        memcpy(&a4, x->client + (x->af == 4 ? 0 : 12), 4);
        fb = (uint32_t)(((uint64_t)a4 * 0x9e3779b97f4a7c15ull) >> 52) & (FILTER_BITS - 1);
    }
    if (!create && !(s->filter[fb / 64] & (1ull << (fb % 64))))
        return; /* not a tracked target: nothing to add to */
    k = ktab_addr_key(x->af, x->client, NULL, 0);
    t = ktab_get(&s->t, &k, create);
    if (t)
        s->filter[fb / 64] |= 1ull << (fb % 64);
    if (!t) {
        if (s->t.refused) {
            rule_count(rc, "targets_refused", s->t.refused);
            s->t.refused = 0;
        }
        return;
    }
    t->query_bytes += x->query_len;
    t->queries++;
    t->risky += risky;
    t->any += x->qtype == DNS_T_ANY;
    t->dnskey += x->qtype == DNS_T_DNSKEY;
    t->txt += x->qtype == DNS_T_TXT;
    t->rrsig += x->qtype == DNS_T_RRSIG;
    if (answered) {
        t->resp_bytes += m->len;
        t->responses++;
        t->server_af = x->af;
        memcpy(t->server, x->server, 16);
    }
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    for (uint32_t i = 0; i < s->t.n; i++) {
        struct tgt *t = ktab_val_at(&s->t, i);
        double factor;
        uint8_t af;
        const uint8_t *addr;
        char victim[48], server[48], summary[320], ev[512];

        bool shape, volume;
        factor = (double)t->resp_bytes / (double)(t->query_bytes ? t->query_bytes : 1);
        shape = t->risky >= s->shape_min_q &&
                (double)t->risky >= s->shape_share * (double)t->queries &&
                t->resp_bytes >= s->shape_min_bytes && factor >= s->shape_factor;
        volume = t->resp_bytes >= s->min_bytes && factor >= s->min_factor;
        if (!shape && !volume)
            continue;
        addr = ktab_key_addr(ktab_key_at(&s->t, i), &af);
        rule_addr(af, addr, victim);
        rule_addr(t->server_af, t->server, server);
        snprintf(
            summary, sizeof(summary),
            "%s received %llu response bytes for %llu query bytes (factor %.1f) in one "
            "window%s",
            victim, (unsigned long long)t->resp_bytes, (unsigned long long)t->query_bytes, factor,
            shape && !volume ? ", its queries almost only large-buffer ANY/DNSKEY/TXT/RRSIG" : "");
        snprintf(ev, sizeof(ev),
                 "{\"fired_by\":\"%s\",\"factor\":%.2f,\"response_bytes\":%llu,"
                 "\"responses\":%llu,\"query_bytes\":%llu,\"queries\":%llu,"
                 "\"large_buffer_any_dnskey_txt_rrsig\":%llu,\"qtypes\":{\"ANY\":%llu,"
                 "\"DNSKEY\":%llu,\"TXT\":%llu,\"RRSIG\":%llu,\"other\":%llu}}",
                 volume ? "volume" : "shape", factor, (unsigned long long)t->resp_bytes,
                 (unsigned long long)t->responses, (unsigned long long)t->query_bytes,
                 (unsigned long long)t->queries, (unsigned long long)t->risky,
                 (unsigned long long)t->any, (unsigned long long)t->dnskey,
                 (unsigned long long)t->txt, (unsigned long long)t->rrsig,
                 (unsigned long long)(t->queries - t->any - t->dnskey - t->txt - t->rrsig));
        struct alert_in a = {
            .key = victim,
            .severity = factor >= 10 * s->min_factor ? SEV_CRITICAL : SEV_HIGH,
            .ts_ns = w->end_ns,
            .summary = summary,
            .victim = victim,
            .server = server,
            .count = t->responses,
            .threshold = volume ? s->min_factor : s->shape_factor,
            .observed = factor,
            .evidence = ev,
        };
        rule_emit(rc, &a);
    }
    ktab_clear(&s->t);
    memset(s->filter, 0, sizeof(s->filter));
}

const struct rule_ops rule_amplification = {
    .name = "amplification",
    .summary = "response/query byte ratio toward one address (reflection and amplification)",
    .reference = "BSI APP.3.6 (DNS reflection); RFC 5358",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .fini = fini,
};
