/* SPDX-License-Identifier: MIT */
/* edns-errors: EDNS(0) breakage per server and window (RFC 6891; BSI APP.3.6.A7/A15 list
 * EDNS errors): BADVERS answers; FORMERR/NOTIMP/SERVFAIL to queries with OPT while the same
 * server answers plain queries; OPT missing from answers to EDNS queries; UDP answers larger
 * than the buffer the query advertised (512 without OPT); answers that had to be IP
 * fragmented; TC storms; and clients falling back to plain DNS (the same question again
 * without OPT after an EDNS query failed). Each signal has its own threshold per window. */
#include "rule.h"

#include "ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_BADVERS, S_EDNS_FAIL, S_OPT_MISSING, S_OVERSIZE, S_FRAGMENTED, S_TC, S_FALLBACK, S_N };
static const char *const sig_names[S_N] = {
    "badvers", "edns_query_failed", "opt_missing", "oversize", "fragmented", "tc", "fallback"};
static const char *const sig_params[S_N] = {"min_badvers",  "min_edns_failures", "min_opt_missing",
                                            "min_oversize", "min_fragmented",    "min_tc",
                                            "min_fallback"};

static const struct rule_param params[] = {
    {"min_badvers", RP_INT, 1, 1, 1e9, "BADVERS answers per server and window that fire"},
    {"min_edns_failures", RP_INT, 3, 1, 1e9,
     "FORMERR/NOTIMP/SERVFAIL to EDNS queries (while plain ones succeed) that fire"},
    {"min_opt_missing", RP_INT, 5, 1, 1e9, "answers without OPT to EDNS queries that fire"},
    {"min_oversize", RP_INT, 3, 1, 1e9, "UDP answers larger than the advertised buffer"},
    {"min_fragmented", RP_INT, 5, 1, 1e9, "UDP answers that arrived in IP fragments"},
    {"min_tc", RP_INT, 50, 1, 1e9, "truncated (TC) UDP answers per window, with tc_ratio"},
    {"tc_ratio", RP_DOUBLE, 0.5, 0.01, 1, "share of UDP answers with TC that is a storm"},
    {"min_fallback", RP_INT, 3, 1, 1e9, "clients retrying without OPT after an EDNS failure"},
    {"fallback_window", RP_INT, 10, 1, 600, "seconds in which a retry counts as fallback"},
    {"fallback_ratio", RP_DOUBLE, 0.01, 0, 1,
     "share of the server's EDNS transactions that must fall back (time-outs under load "
     "make a resolver retry without OPT now and then)"},
    {"max_servers", RP_INT, 1024, 1, 1e6, "servers tracked per window"},
    {0},
};

struct srv {
    uint64_t sig[S_N];
    uint64_t plain_ok, udp_answers, edns_txns;
    char qname[128]; /* an example question */
};

struct fail {
    uint64_t ts;
    uint8_t server_af;
    uint8_t server[16];
};

struct st {
    struct ktab servers; /* per window */
    struct ktab fails;   /* client + question of failed EDNS queries */
    uint64_t min[S_N];
    double tc_ratio, fb_ratio;
    uint64_t fb_ns;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    uint32_t n = (uint32_t)rule_param_int(rc, "max_servers");

    if (!s || ktab_init(&s->servers, n, sizeof(struct srv)) < 0 ||
        ktab_init(&s->fails, 4 * n, sizeof(struct fail)) < 0) {
        if (s)
            ktab_free(&s->servers);
        free(s);
        return -1;
    }
    for (int i = 0; i < S_N; i++)
        s->min[i] = (uint64_t)rule_param_int(rc, sig_params[i]);
    s->tc_ratio = rule_param_double(rc, "tc_ratio");
    s->fb_ns = (uint64_t)rule_param_int(rc, "fallback_window") * 1000000000ull;
    s->fb_ratio = rule_param_double(rc, "fallback_ratio");
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->servers);
    ktab_free(&s->fails);
    free(s);
}

static struct ktab_key fail_key(const struct flow_txn *t)
{
    return ktab_addr_key(t->af, t->client, &t->qhash, sizeof(t->qhash) - 1);
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *t)
{
    struct st *s = rule_state(rc);
    const struct dns_msg *m = t->response;
    struct ktab_key k;
    struct srv *v;
    bool failed;

    if (t->outcome != FLOW_ANSWERED && t->outcome != FLOW_UNANSWERED)
        return;
    /* Fallback: a plain query, answered, for a question this client asked with OPT and
     * failed (a plain retry that times out too is an unreachable server, not EDNS). */
    if (!t->query_edns && t->qhash && s->fails.n && t->outcome == FLOW_ANSWERED) {
        struct ktab_key fk = fail_key(t);
        struct fail *f = ktab_get(&s->fails, &fk, false);
        if (f && f->ts && t->query_ns - f->ts <= s->fb_ns) {
            struct ktab_key sk = ktab_addr_key(f->server_af, f->server, NULL, 0);
            struct srv *fv = ktab_get(&s->servers, &sk, true);
            if (fv)
                fv->sig[S_FALLBACK]++;
            f->ts = 0;
        }
    }
    /* Failures after which a client drops OPT (RFC 6891 7): FORMERR, NOTIMP, BADVERS, or
     * no answer at all. SERVFAIL says nothing about EDNS. */
    failed = t->outcome == FLOW_UNANSWERED ||
             (m->rcode == DNS_R_FORMERR || m->rcode == DNS_R_NOTIMP || m->rcode == DNS_R_BADVERS);
    if (t->query_edns && failed && t->qhash) {
        struct ktab_key fk = fail_key(t);
        struct fail *f = ktab_get(&s->fails, &fk, true);
        if (f) {
            f->ts = t->query_ns;
            f->server_af = t->af;
            memcpy(f->server, t->server, 16);
        }
    }
    k = ktab_addr_key(t->af, t->server, NULL, 0);
    v = ktab_get(&s->servers, &k, true);
    if (!v) {
        rule_count(rc, "servers_refused", 1);
        return;
    }
    if (t->query_edns)
        v->edns_txns++;
    if (t->outcome != FLOW_ANSWERED)
        return;
    if (m->rcode == DNS_R_BADVERS) {
        v->sig[S_BADVERS]++;
        if (m->has_question && !v->qname[0])
            dns_name_to_str(m->qname, m->qname_len, v->qname, sizeof(v->qname));
    }
    if (t->query_edns &&
        (m->rcode == DNS_R_FORMERR || m->rcode == DNS_R_NOTIMP || m->rcode == DNS_R_SERVFAIL))
        v->sig[S_EDNS_FAIL]++;
    if (!t->query_edns && m->rcode == DNS_R_NOERROR)
        v->plain_ok++;
    /* A header-only answer (Unbound's REFUSED to clients it does not serve) and REFUSED or
     * NOTAUTH (policy, not the protocol) say nothing about EDNS support. */
    if (t->query_edns && !m->has_opt && m->has_question && m->rcode != DNS_R_FORMERR &&
        m->rcode != DNS_R_NOTIMP && m->rcode != DNS_R_REFUSED && m->rcode != DNS_R_NOTAUTH)
        v->sig[S_OPT_MISSING]++;
    if (t->resp_meta->proto == 17) {
        uint32_t limit = t->query_edns ? (t->query_udp_size < 512 ? 512 : t->query_udp_size) : 512;
        v->udp_answers++;
        if (m->len > limit)
            v->sig[S_OVERSIZE]++;
        if (t->resp_meta->reassembled)
            v->sig[S_FRAGMENTED]++;
        if (m->tc)
            v->sig[S_TC]++;
    }
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    for (uint32_t i = 0; i < s->servers.n; i++) {
        struct srv *v = ktab_val_at(&s->servers, i);
        bool fire[S_N] = {false};
        bool any = false;
        uint8_t af;
        const uint8_t *addr = ktab_key_addr(ktab_key_at(&s->servers, i), &af);
        char server[48], summary[256], ev[512], list[160] = "";
        int o, lo = 0;
        uint64_t total = 0;
        double worst = 0;

        for (int k = 0; k < S_N; k++) {
            fire[k] = v->sig[k] >= s->min[k];
            if (k == S_EDNS_FAIL)
                fire[k] = fire[k] && v->plain_ok > 0; /* the server does work without OPT */
            if (k == S_FALLBACK)
                fire[k] = fire[k] && (double)v->sig[k] >= s->fb_ratio * (double)v->edns_txns;
            if (k == S_TC)
                fire[k] = fire[k] && v->udp_answers &&
                          (double)v->sig[k] / (double)v->udp_answers >= s->tc_ratio;
            if (fire[k]) {
                any = true;
                total += v->sig[k];
                if ((double)v->sig[k] / (double)s->min[k] > worst)
                    worst = (double)v->sig[k] / (double)s->min[k];
                lo += snprintf(list + lo, sizeof(list) - (size_t)lo, "%s%s %llu", lo ? ", " : "",
                               sig_names[k], (unsigned long long)v->sig[k]);
            }
        }
        if (!any)
            continue;
        rule_addr(af, addr, server);
        snprintf(summary, sizeof(summary), "EDNS problems at %s: %s", server, list);
        o = snprintf(ev, sizeof(ev), "{");
        for (int k = 0; k < S_N; k++)
            o += snprintf(ev + o, sizeof(ev) - (size_t)o, "\"%s\":%llu,", sig_names[k],
                          (unsigned long long)v->sig[k]);
        snprintf(ev + o, sizeof(ev) - (size_t)o,
                 "\"plain_answers_ok\":%llu,\"udp_answers\":%llu,"
                 "\"edns_transactions\":%llu}",
                 (unsigned long long)v->plain_ok, (unsigned long long)v->udp_answers,
                 (unsigned long long)v->edns_txns);
        struct alert_in a = {
            .key = server,
            .severity = (fire[S_EDNS_FAIL] || fire[S_FRAGMENTED]) ? SEV_HIGH : SEV_WARNING,
            .ts_ns = w->end_ns,
            .summary = summary,
            .server = server,
            .qname = v->qname[0] ? v->qname : NULL,
            .count = total,
            .threshold = 1,
            .observed = worst,
            .evidence = ev,
        };
        rule_emit(rc, &a);
    }
    ktab_clear(&s->servers);
    ktab_clear(&s->fails);
}

const struct rule_ops rule_edns_errors = {
    .name = "edns-errors",
    .summary = "EDNS breakage: BADVERS, failures only with OPT, OPT dropped, oversize or "
               "fragmented answers, TC storms, fallback",
    .reference = "BSI APP.3.6.A7/A15; RFC 6891",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .fini = fini,
};
