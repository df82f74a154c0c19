/* SPDX-License-Identifier: MIT */
/* error-ratio: a shift of the error/query ratio, per server and overall, against a baseline
 * learned on packet time (BSI APP.3.6.A15 asks for exactly this). Per window, for each kind
 * (SERVFAIL, REFUSED, FORMERR, NXDOMAIN, unanswered, all errors) the ratio to transactions
 * is compared with an exponentially weighted mean and variance of earlier normal windows;
 * it fires when the ratio exceeds mean + sigma * sd and mean + min_delta, with at least
 * min_queries transactions in the window (quiet periods never fire). Anomalous windows do
 * not teach the baseline; after quiet_windows normal windows the alert closes (the end of
 * the shift). Until learn_windows windows are learned (no variance to trust yet), SERVFAIL,
 * REFUSED, FORMERR and unanswered fire when they rise startup_limit points over the windows
 * seen so far, so a short incident capture (an upstream breaking a minute in) still fires;
 * NXDOMAIN and the sum are not judged then (resolvers differ too much), but a start-up
 * window above startup_nxdomain is an outlier and is not learned either. */
#include "rule.h"

#include "ktab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_SERVFAIL, K_REFUSED, K_FORMERR, K_NXDOMAIN, K_UNANSWERED, K_ALL, K_N };

/* The RCODE kinds by their mnemonic, the others by what they count. */
static const char *kind_name(int k)
{
    static const unsigned codes[] = {DNS_R_SERVFAIL, DNS_R_REFUSED, DNS_R_FORMERR, DNS_R_NXDOMAIN};
    return k < K_UNANSWERED    ? dns_rcode_name(codes[k])
           : k == K_UNANSWERED ? "unanswered"
                               : "all errors";
}

static const struct rule_param params[] = {
    {"min_queries", RP_INT, 100, 1, 1e9, "transactions a window needs before it is judged"},
    {"learn_windows", RP_INT, 5, 1, 10000, "normal windows learned before the rule can fire"},
    {"sigma", RP_DOUBLE, 4, 0.5, 100, "standard deviations above the mean that fire"},
    {"min_delta", RP_DOUBLE, 0.05, 0, 1, "ratio points above the mean that fire (0.05 = 5%)"},
    {"alpha", RP_DOUBLE, 0.2, 0.01, 1, "weight of a new window in the baseline (EWMA)"},
    {"quiet_windows", RP_INT, 2, 1, 1000, "normal windows after which the alert closes"},
    {"startup_limit", RP_DOUBLE, 0.15, 0.01, 1,
     "before learn_windows: rise of SERVFAIL/REFUSED/FORMERR/unanswered over the windows "
     "seen so far that fires (0.15 = 15 points)"},
    {"startup_nxdomain", RP_DOUBLE, 0.6, 0.01, 1,
     "before learn_windows: NXDOMAIN share of an outlier window, not learned"},
    {"max_servers", RP_INT, 256, 1, 100000, "servers tracked (plus the overall figure)"},
    {0},
};

struct srv {
    uint64_t txns, err[K_N];
    double mean[K_N], var[K_N];
    uint32_t learned, normal_streak;
    bool alerting;
    uint64_t alert_windows;
};

struct st {
    struct ktab servers;
    struct srv all;
    uint64_t min_q;
    uint32_t learn, quiet;
    double sigma, min_delta, alpha, startup_limit, startup_nx;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s || ktab_init(&s->servers, (uint32_t)rule_param_int(rc, "max_servers"),
                        sizeof(struct srv)) < 0) {
        free(s);
        return -1;
    }
    s->min_q = (uint64_t)rule_param_int(rc, "min_queries");
    s->learn = (uint32_t)rule_param_int(rc, "learn_windows");
    s->quiet = (uint32_t)rule_param_int(rc, "quiet_windows");
    s->sigma = rule_param_double(rc, "sigma");
    s->min_delta = rule_param_double(rc, "min_delta");
    s->alpha = rule_param_double(rc, "alpha");
    s->startup_limit = rule_param_double(rc, "startup_limit");
    s->startup_nx = rule_param_double(rc, "startup_nxdomain");
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

static void add(struct srv *v, const struct flow_txn *t)
{
    v->txns++;
    if (t->outcome == FLOW_UNANSWERED) {
        v->err[K_UNANSWERED]++;
        v->err[K_ALL]++;
        return;
    }
    switch (t->response->rcode) {
    case DNS_R_SERVFAIL:
        v->err[K_SERVFAIL]++;
        break;
    case DNS_R_REFUSED:
        v->err[K_REFUSED]++;
        break;
    case DNS_R_FORMERR:
        v->err[K_FORMERR]++;
        break;
    case DNS_R_NXDOMAIN:
        v->err[K_NXDOMAIN]++;
        break;
    default:
        return;
    }
    v->err[K_ALL]++;
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *t)
{
    struct st *s = rule_state(rc);
    struct ktab_key k;
    struct srv *v;

    if (t->outcome != FLOW_ANSWERED && t->outcome != FLOW_UNANSWERED)
        return;
    add(&s->all, t);
    k = ktab_addr_key(t->af, t->server, NULL, 0);
    v = ktab_get(&s->servers, &k, true);
    if (v)
        add(v, t);
    else
        rule_count(rc, "servers_refused", 1);
}

static void judge(struct rule_ctx *rc, struct st *s, struct srv *v, const char *server,
                  const struct win_stats *w)
{
    bool anomalous = false;
    int worst = -1;
    double worst_ratio = 0, worst_mean = 0, worst_limit = 0;
    char summary[256], ev[512], key[64];
    int o;

    if (v->txns < s->min_q) {
        memset(v->err, 0, sizeof(v->err));
        v->txns = 0;
        return; /* too quiet to judge: neither fires nor teaches */
    }
    bool startup = v->learned < s->learn, outlier = false;
    for (int k = 0; k < K_N; k++) {
        double r = (double)v->err[k] / (double)v->txns;
        double mean = v->mean[k], limit = mean + s->sigma * sqrt(v->var[k]);
        if (limit < mean + s->min_delta)
            limit = mean + s->min_delta;
        if (startup) {
            if (k == K_NXDOMAIN || k == K_ALL) {
                outlier = outlier || (k == K_NXDOMAIN && r > s->startup_nx);
                continue;
            }
            /* The first window is the state the input starts in (a site refusing outside
             * clients from the start shifts nothing); after it, a rise of startup_limit
             * points over the windows seen so far fires. */
            if (v->learned == 0)
                continue;
            limit = mean + s->startup_limit;
        }
        if (r > limit && (worst < 0 || r - limit > worst_ratio - worst_limit)) {
            anomalous = true;
            worst = k;
            worst_ratio = r;
            worst_mean = mean;
            worst_limit = limit;
        }
    }
    snprintf(key, sizeof(key), "%s", server);
    if (anomalous) {
        v->alerting = true;
        v->normal_streak = 0;
        v->alert_windows++;
        snprintf(summary, sizeof(summary),
                 "%s error ratio at %s rose to %.1f%% (baseline %.1f%%, limit %.1f%%) over %llu "
                 "transactions",
                 kind_name(worst), server, 100 * worst_ratio, 100 * worst_mean, 100 * worst_limit,
                 (unsigned long long)v->txns);
        o = snprintf(ev, sizeof(ev), "{\"kind\":\"%s\",\"transactions\":%llu,\"ratios\":{",
                     kind_name(worst), (unsigned long long)v->txns);
        for (int k = 0; k < K_N; k++)
            o += snprintf(ev + o, sizeof(ev) - (size_t)o, "%s\"%s\":%.4f", k ? "," : "",
                          kind_name(k), (double)v->err[k] / (double)v->txns);
        snprintf(ev + o, sizeof(ev) - (size_t)o,
                 "},\"baseline\":%.4f,\"baseline_from\":\"%s\",\"windows\":%llu}", worst_mean,
                 startup ? "start-up" : "learned", (unsigned long long)v->alert_windows);
        struct alert_in a = {
            .key = key,
            .severity = worst == K_NXDOMAIN ? SEV_WARNING : SEV_HIGH,
            .ts_ns = w->end_ns,
            .summary = summary,
            .server = strcmp(server, "all servers") ? server : NULL,
            .count = v->alert_windows,
            .threshold = worst_limit,
            .observed = worst_ratio,
            .evidence = ev,
        };
        rule_emit(rc, &a);
    } else if (!outlier) {
        for (int k = 0; k < K_N; k++) {
            double r = (double)v->err[k] / (double)v->txns;
            if (v->learned == 0) {
                v->mean[k] = r;
                v->var[k] = 0;
            } else {
                double d = r - v->mean[k];
                v->mean[k] += s->alpha * d;
                v->var[k] = (1 - s->alpha) * (v->var[k] + s->alpha * d * d);
            }
        }
        v->learned++;
        if (v->alerting && ++v->normal_streak >= s->quiet) {
            /* Closing keeps the alert's figures; the last_seen time marks the end. */
            struct alert_in a = {.key = key, .ts_ns = w->end_ns, .close = true};
            rule_emit(rc, &a);
            v->alerting = false;
            v->alert_windows = 0;
        }
    }
    memset(v->err, 0, sizeof(v->err));
    v->txns = 0;
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);
    char name[48];

    for (uint32_t i = 0; i < s->servers.n; i++) {
        uint8_t af;
        const uint8_t *addr = ktab_key_addr(ktab_key_at(&s->servers, i), &af);
        judge(rc, s, ktab_val_at(&s->servers, i), rule_addr(af, addr, name), w);
    }
    judge(rc, s, &s->all, "all servers", w);
}

const struct rule_ops rule_error_ratio = {
    .name = "error-ratio",
    .summary = "shift of the error/query ratio per server and overall against a learned "
               "baseline",
    .reference = "BSI APP.3.6.A15",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .fini = fini,
};
