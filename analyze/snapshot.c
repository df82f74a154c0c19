/* SPDX-License-Identifier: MIT */
/* Building and publishing the snapshot. Everything here runs once a second or on a
 * window or alert, never per packet. */
#include "snapshot.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void snap_pub_init(struct snap_pub *p, const char *source, bool live, uint64_t wall_ns)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    snprintf(p->work.source, sizeof(p->work.source), "%s", source);
    p->work.live = live;
    p->work.wall_start_ns = wall_ns;
    p->last_wall = wall_ns;
    snprintf(p->work.store, sizeof(p->work.store), "off");
}

void snap_pub_destroy(struct snap_pub *p)
{
    pthread_mutex_destroy(&p->mu);
}

void snap_pub_window(struct snap_pub *p, const struct win_stats *w)
{
    struct snap *s = &p->work;
    uint64_t err = 0;

    for (unsigned i = 1; i < WIN_RCODES; i++)
        err += w->rcode[i];
    p->closed_edns_errors += w->edns_errors;
    s->windows++;
    if (w->queries == 0)
        return;
    s->err_ratio = (double)err / (double)w->queries;
    /* The baseline follows the ratio slowly (EWMA, 0.2 per window), as the rule does. */
    s->err_base = s->have_ratio ? 0.8 * s->err_base + 0.2 * s->err_ratio : s->err_ratio;
    s->have_ratio = true;
}

void snap_pub_alert(struct snap_pub *p, const struct snap_alert *a)
{
    struct snap *s = &p->work;
    unsigned i, r;

    for (i = 0; i < s->nalerts && s->alerts[i].id != a->id; i++)
        ;
    if (i == s->nalerts) {
        /* New alert: newest first, the oldest falls off. */
        s->alerts_total++;
        for (r = 0; r < s->nrules && strcmp(s->rule_names[r], a->rule); r++)
            ;
        if (r == s->nrules && r < SNAP_RULES)
            snprintf(s->rule_names[s->nrules++], sizeof(s->rule_names[0]), "%s", a->rule);
        if (r < SNAP_RULES)
            s->rule_alerts[r]++;
        if (s->nalerts < SNAP_ALERTS)
            s->nalerts++;
        memmove(&s->alerts[1], &s->alerts[0], (s->nalerts - 1) * sizeof(s->alerts[0]));
        i = 0;
    }
    s->alerts[i] = *a;
    s->alerts_open = 0;
    for (unsigned k = 0; k < s->nalerts; k++)
        s->alerts_open += !strcmp(s->alerts[k].state, "open");
}

static void tops(struct snap *s, int k, const struct topn *t, bool name)
{
    const struct topn_item *items[SNAP_TOP];
    size_t n = topn_top(t, items, SNAP_TOP);
    for (size_t i = 0; i < n; i++) {
        struct snap_top *o = &s->top[k][i];
        if (name)
            dns_name_to_str(items[i]->key, items[i]->keylen, o->name, sizeof(o->name));
        else
            inet_ntop(items[i]->keylen == 4 ? AF_INET : AF_INET6, items[i]->key, o->name,
                      sizeof(o->name));
        o->count = items[i]->count;
    }
    s->ntop[k] = (unsigned)n;
}

void snap_pub_update(struct snap_pub *p, const struct dispatch *d, const struct cap_stats *cap,
                     uint64_t wall_ns, bool finished, const char *store, uint64_t store_dropped)
{
    struct snap *s = &p->work;
    const struct dns_stats *st = &d->stats;
    struct flow_counts fc;
    double dt = (double)(wall_ns - p->last_wall) / 1e9;

    s->wall_ns = wall_ns;
    s->finished = finished;
    s->pkt_first_ns = st->first_ns;
    s->pkt_ns = st->last_ns;
    s->packets = cap->c[CAP_PACKETS];
    s->messages = st->messages;
    s->queries = st->queries;
    s->responses = st->responses;
    s->malformed = st->malformed_total;
    s->kernel_drops = cap->kernel_drops;
    s->if_drops = cap->ifdrop;
    flow_get_counts(d->flow, &fc);
    loss_snapshot(cap, st->malformed_total, fc.outcome[FLOW_EVICTED], s->loss);
    s->loss_total = 0;
    for (int i = 0; i < LOSS_N; i++)
        s->loss_total += s->loss[i];
    memset(s->rcode, 0, sizeof(s->rcode));
    for (unsigned i = 0; i < 4096; i++)
        if (st->rcode[i])
            s->rcode[i < WIN_RCODES - 1 ? i : WIN_RCODES - 1] += st->rcode[i];
    memcpy(s->outcome, fc.outcome, sizeof(s->outcome));
    s->edns = st->edns;
    s->edns_do = st->edns_do;
    s->tc = st->flag_tc;
    s->edns_errors = p->closed_edns_errors + (d->have_win ? d->back.edns_errors : 0);
    /* percentiles in percent, as the summary asks for them (0.50 was the 0.5th) */
    s->have_latency = hist_percentile(&d->lat_total, 50, &s->p50_us) &&
                      hist_percentile(&d->lat_total, 95, &s->p95_us) &&
                      hist_percentile(&d->lat_total, 99, &s->p99_us);
    /* Rates follow packet time in a replay (wall time means nothing at --speed 0 or
     * 20000); a live capture, whose packet time is the clock, keeps going when idle. */
    if (!s->live) {
        dt = p->last_pkt ? (double)(st->last_ns - p->last_pkt) / 1e9 : 0;
        if (!p->last_pkt && st->last_ns)
            p->last_pkt = st->first_ns;
    }
    if (finished && !s->live) {
        double span = (double)(st->last_ns - st->first_ns) / 1e9;
        s->rates_average = true;
        s->qps = span > 0 ? (double)st->queries / span : 0;
        s->rps = span > 0 ? (double)st->responses / span : 0;
    } else if (dt >= (s->live ? 0.2 : 1.0)) {
        s->qps = (double)(st->queries - p->last_q) / dt;
        s->rps = (double)(st->responses - p->last_r) / dt;
        if (s->hist_n == SNAP_HIST) {
            memmove(s->q_hist, s->q_hist + 1, (SNAP_HIST - 1) * sizeof(float));
            memmove(s->r_hist, s->r_hist + 1, (SNAP_HIST - 1) * sizeof(float));
            s->hist_n--;
        }
        s->q_hist[s->hist_n] = (float)s->qps;
        s->r_hist[s->hist_n++] = (float)s->rps;
        p->last_q = st->queries;
        p->last_r = st->responses;
        p->last_wall = wall_ns;
        p->last_pkt = st->last_ns;
    }
    tops(s, SNAP_CLIENTS, &d->clients, false);
    tops(s, SNAP_SERVERS, &d->servers, false);
    tops(s, SNAP_QNAMES, &d->qnames, true);
    tops(s, SNAP_DOMAINS, &d->regdoms, true);
    snprintf(s->store, sizeof(s->store), "%s", store ? store : "off");
    s->store_dropped = store_dropped;
    s->seq++;
    pthread_mutex_lock(&p->mu);
    p->shared = *s;
    pthread_mutex_unlock(&p->mu);
}

void snap_read(struct snap_pub *p, struct snap *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->shared;
    pthread_mutex_unlock(&p->mu);
}
