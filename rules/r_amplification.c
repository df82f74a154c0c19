/* SPDX-License-Identifier: MIT */
/* amplification: reflection/amplification toward one address (RFC 5358; BSI APP.3.6 "DNS
 * reflection"). Per window and target address, UDP response bytes sent to it are compared
 * with UDP query bytes that came from it (spoofed queries carry the victim's address): it
 * fires when the responses exceed min_response_bytes and the factor exceeds min_factor.
 * Queries for ANY/DNSKEY/TXT/RRSIG with large buffers from that address are counted as
 * evidence. A target that sent no queries at all counts its query bytes as 1.
 * Only answers of at least large_answer bytes (the ones that amplify) and risky queries
 * start tracking a target; other query bytes are added to tracked targets only, so ordinary
 * clients with small answers cost one index probe, not an entry. */
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
    {"max_targets", RP_INT, 2048, 16, 1e6,
     "target addresses tracked per window (refusals counted)"},
    {0},
};

struct tgt {
    uint64_t resp_bytes, responses, query_bytes, queries, risky;
    uint8_t server_af;
    uint8_t server[16];
};

#define FILTER_BITS 4096

struct st {
    struct ktab t;
    uint64_t filter[FILTER_BITS / 64]; /* set for tracked targets: most queries stop here */
    uint64_t min_bytes, large, large_answer;
    double min_factor;
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

static void on_message(struct rule_ctx *rc, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct st *s = rule_state(rc);
    struct ktab_key k;
    struct tgt *t;

    if (meta->proto != 17 || !m->has_header)
        return; /* only UDP can be spoofed */
    bool risky = !m->qr && m->has_qtype && m->has_opt && m->edns_udp_size >= s->large &&
                 (m->qtype == DNS_T_ANY || m->qtype == DNS_T_DNSKEY || m->qtype == DNS_T_TXT ||
                  m->qtype == DNS_T_RRSIG);

    const uint8_t *addr = m->qr ? meta->dst : meta->src;
    uint32_t fb;
    bool create = risky || (m->qr && m->len >= s->large_answer);

    {
        uint32_t a4;
        memcpy(&a4, addr + (meta->af == 4 ? 0 : 12), 4);
        fb = (uint32_t)(((uint64_t)a4 * 0x9e3779b97f4a7c15ull) >> 52) & (FILTER_BITS - 1);
    }
    if (!create && !(s->filter[fb / 64] & (1ull << (fb % 64))))
        return; /* not a tracked target: nothing to add to */
    k = ktab_addr_key(meta->af, addr, NULL, 0);
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
    if (m->qr) {
        t->resp_bytes += m->len;
        t->responses++;
        t->server_af = meta->af;
        memcpy(t->server, meta->src, 16);
    } else {
        t->query_bytes += m->len;
        t->queries++;
        t->risky += risky;
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
        char victim[48], server[48], summary[256], ev[256];

        if (t->resp_bytes < s->min_bytes)
            continue;
        factor = (double)t->resp_bytes / (double)(t->query_bytes ? t->query_bytes : 1);
        if (factor < s->min_factor)
            continue;
        addr = ktab_key_addr(ktab_key_at(&s->t, i), &af);
        rule_addr(af, addr, victim);
        rule_addr(t->server_af, t->server, server);
        snprintf(summary, sizeof(summary),
                 "%s received %llu response bytes for %llu query bytes (factor %.1f) in one "
                 "window",
                 victim, (unsigned long long)t->resp_bytes, (unsigned long long)t->query_bytes,
                 factor);
        snprintf(ev, sizeof(ev),
                 "{\"response_bytes\":%llu,\"responses\":%llu,\"query_bytes\":%llu,"
                 "\"queries\":%llu,\"large_buffer_any_dnskey_txt_rrsig\":%llu}",
                 (unsigned long long)t->resp_bytes, (unsigned long long)t->responses,
                 (unsigned long long)t->query_bytes, (unsigned long long)t->queries,
                 (unsigned long long)t->risky);
        struct alert_in a = {
            .key = victim,
            .severity = factor >= 10 * s->min_factor ? SEV_CRITICAL : SEV_HIGH,
            .ts_ns = w->end_ns,
            .summary = summary,
            .victim = victim,
            .server = server,
            .count = t->responses,
            .threshold = s->min_factor,
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
    .on_message = on_message,
    .on_tick = on_tick,
    .fini = fini,
};
