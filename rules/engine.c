/* SPDX-License-Identifier: MIT */
/* Rule engine and alert store. Findings are rare compared with packets (rules emit when a
 * threshold is crossed or on window ticks), so the alert table is a plain array searched
 * among open alerts. */
#include "engine.h"

#include "ktab.h"
#include "registry.h"
#include "../common/err.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COUNTERS 8

struct rule_ctx {
    const struct rule_ops *ops;
    struct engine *eng;
    unsigned idx; /* in rule_registry */
    void *state;
    const double *values;
    const char *cnames[MAX_COUNTERS];
    uint64_t cvals[MAX_COUNTERS];
};

enum alert_state { AL_OPEN, AL_CLOSED };

struct alert {
    unsigned rule;
    char key[128];
    enum alert_severity severity;
    enum alert_state state;
    bool announced; /* the "open" line was written */
    uint64_t first_ns, last_ns, last_line_ns;
    char summary[256];
    char client[48], server[48], victim[48];
    char zone[256], qname[256];
    uint64_t count;
    double threshold, observed;
    char evidence[1024];
    char evidence_file[1024];
};

struct engine {
    const struct dv_config *cfg;
    struct rule_ctx ctx[CFG_MAX_RULES];
    unsigned nctx;
    struct alert *alerts;
    unsigned nalerts, cap; /* grows by doubling up to ENGINE_MAX_ALERTS, on alert open only */
    uint64_t dropped;
    struct engine_alert_sink sinks[ENGINE_MAX_SINKS];
    unsigned nsinks;
    struct ktab servers; /* learned: answers with AA (authoritative) or RA (resolver) */
    /* The rules that have a per-message or per-transaction hook, gathered once, so the
     * per-packet dispatch is a tight loop over what is there to call. */
    struct rule_ctx *msg_ctx[CFG_MAX_RULES], *txn_ctx[CFG_MAX_RULES];
    unsigned nmsg, ntxn;
    /* What the engine handed to the rules (the summary shows it, so a run whose rules saw
     * nothing cannot pass for one whose rules found nothing). */
    uint64_t seen_msgs, seen_txns, seen_windows, seen_events, seen_logs;
};

struct learned {
    uint64_t aa, ra, answers;
};

static const char *const sev_names[] = {"info", "warning", "high", "critical"};

/* ---- rule_ctx API ---- */
static int param_index(const struct rule_ctx *rc, const char *key)
{
    for (int i = 0; rc->ops->params && rc->ops->params[i].key; i++)
        if (!strcmp(rc->ops->params[i].key, key))
            return i;
    log_msg(LOG_ERROR, "%s: no parameter '%s' (programming error)", rc->ops->name, key);
    return -1;
}

double rule_param_double(const struct rule_ctx *rc, const char *key)
{
    int i = param_index(rc, key);
    return i < 0 ? 0 : rc->values[i];
}

int64_t rule_param_int(const struct rule_ctx *rc, const char *key)
{
    return (int64_t)rule_param_double(rc, key);
}

bool rule_param_bool(const struct rule_ctx *rc, const char *key)
{
    return rule_param_double(rc, key) != 0;
}

void *rule_state(const struct rule_ctx *rc)
{
    return rc->state;
}

void rule_set_state(struct rule_ctx *rc, void *state)
{
    rc->state = state;
}

void rule_count(struct rule_ctx *rc, const char *name, uint64_t n)
{
    for (int i = 0; i < MAX_COUNTERS; i++) {
        if (!rc->cnames[i])
            rc->cnames[i] = name;
        if (rc->cnames[i] == name || !strcmp(rc->cnames[i], name)) {
            rc->cvals[i] += n;
            return;
        }
    }
}

bool rule_site_internal(const struct rule_ctx *rc, uint8_t af, const uint8_t *addr)
{
    return config_net_match(&rc->eng->cfg->internal, af, addr);
}

static const struct cfg_netlist *site_list(const struct rule_ctx *rc, enum rule_site_list l)
{
    const struct dv_config *c = rc->eng->cfg;
    switch (l) {
    case SITE_INTERNAL:
        return &c->internal;
    case SITE_TRANSFER_PEERS:
        return &c->transfer_peers;
    case SITE_UPDATE_PEERS:
        return &c->update_peers;
    case SITE_RESOLVERS:
        return &c->resolvers;
    case SITE_AUTHORITATIVE:
        return &c->authoritative;
    }
    return &c->internal;
}

bool rule_site_in(const struct rule_ctx *rc, enum rule_site_list l, uint8_t af, const uint8_t *addr)
{
    return config_net_match(site_list(rc, l), af, addr);
}

bool rule_site_set(const struct rule_ctx *rc, enum rule_site_list l)
{
    if (l == SITE_INTERNAL)
        return rc->eng->cfg->internal_set;
    return site_list(rc, l)->count > 0;
}

bool rule_site_require_tsig(const struct rule_ctx *rc)
{
    return rc->eng->cfg->require_tsig;
}

const char *rule_addr(uint8_t af, const uint8_t *addr, char *buf)
{
    inet_ntop(af == 4 ? AF_INET : AF_INET6, addr, buf, 46);
    return buf;
}

const char *rule_time(uint64_t ts_ns, char *buf)
{
    time_t sec = (time_t)(ts_ns / 1000000000u);
    struct tm tm;
    char base[24];

    gmtime_r(&sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 32, "%s.%06uZ", base, (unsigned)((ts_ns % 1000000000u) / 1000u));
    return buf;
}

/* ---- alerts ---- */
static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* The public view of alert a in state state (strings point into a). */
static void alert_view(const struct engine *e, const struct alert *a, const char *state,
                       struct engine_alert *v)
{
    const struct rule_ops *ops = rule_registry[a->rule];
    *v = (struct engine_alert){
        .id = (unsigned)(a - e->alerts),
        .rule = ops->name,
        .reference = ops->reference,
        .severity = sev_names[a->severity],
        .state = state,
        .key = a->key,
        .summary = a->summary,
        .client = a->client,
        .server = a->server,
        .victim = a->victim,
        .zone = a->zone,
        .qname = a->qname,
        .evidence = a->evidence[0] ? a->evidence : "{}",
        .evidence_file = a->evidence_file,
        .first_ns = a->first_ns,
        .last_ns = a->last_ns,
        .count = a->count,
        .threshold = a->threshold,
        .observed = a->observed,
    };
}

void engine_alert_json(struct json *j, const struct engine_alert *a)
{
    char t[40];

    json_obj_begin(j, NULL);
    json_str(j, "rule", a->rule);
    json_str(j, "severity", a->severity);
    json_str(j, "state", a->state);
    json_str(j, "first_seen", rule_time(a->first_ns, t));
    json_str(j, "last_seen", rule_time(a->last_ns, t));
    json_str(j, "summary", a->summary);
    json_str(j, "reference", a->reference);
    if (a->client[0])
        json_str(j, "client", a->client);
    if (a->server[0])
        json_str(j, "server", a->server);
    if (a->victim[0])
        json_str(j, "victim", a->victim);
    if (a->zone[0])
        json_str(j, "zone", a->zone);
    if (a->qname[0])
        json_str(j, "qname", a->qname);
    json_u64(j, "count", a->count);
    json_double(j, "threshold", a->threshold, 3);
    json_double(j, "observed", a->observed, 3);
    /* The rule wrote the evidence as a JSON object; it is embedded as it is. */
    json_raw(j, "evidence", a->evidence[0] ? a->evidence : "{}");
    if (a->evidence_file[0])
        json_str(j, "evidence_file", a->evidence_file);
    json_obj_end(j);
}

/* Hands an alert event to every sink; the first sink that names an evidence file for an
 * opening alert gives the alert its file. */
static void line(struct engine *e, struct alert *a, const char *state)
{
    struct engine_alert v;

    a->last_line_ns = a->last_ns;
    for (unsigned i = 0; i < e->nsinks; i++) {
        alert_view(e, a, state, &v);
        e->sinks[i].on_alert(e->sinks[i].user, &v);
        if (v.evidence_file != a->evidence_file && v.evidence_file && v.evidence_file[0] &&
            !a->evidence_file[0])
            snprintf(a->evidence_file, sizeof(a->evidence_file), "%s", v.evidence_file);
    }
}

static void close_alert(struct engine *e, struct alert *a)
{
    a->state = AL_CLOSED;
    line(e, a, "closed");
}

/* Closes alerts that have been quiet for the quiet period, as of packet time now. */
static void close_quiet(struct engine *e, uint64_t now)
{
    uint64_t quiet = (uint64_t)(e->cfg->quiet_period_s * 1e9);
    for (unsigned i = 0; i < e->nalerts; i++) {
        struct alert *a = &e->alerts[i];
        if (a->state == AL_OPEN && now > a->last_ns && now - a->last_ns >= quiet)
            close_alert(e, a);
    }
}

void rule_emit(struct rule_ctx *rc, const struct alert_in *in)
{
    struct engine *e = rc->eng;
    struct alert *a = NULL;
    const char *key = in->key ? in->key : "";

    for (unsigned i = e->nalerts; i-- > 0;) {
        struct alert *c = &e->alerts[i];
        if (c->state == AL_OPEN && c->rule == rc->idx && !strcmp(c->key, key)) {
            a = c;
            break;
        }
    }
    if (!a) {
        if (in->close)
            return; /* nothing open to close */
        if (e->nalerts == e->cap) {
            unsigned nc = e->cap * 2 > ENGINE_MAX_ALERTS ? ENGINE_MAX_ALERTS : e->cap * 2;
            struct alert *na = nc > e->cap ? realloc(e->alerts, nc * sizeof(*na)) : NULL;
            if (!na) {
                e->dropped++;
                return;
            }
            e->alerts = na;
            e->cap = nc;
        }
        a = &e->alerts[e->nalerts++];
        memset(a, 0, sizeof(*a));
        a->rule = rc->idx;
        copy(a->key, sizeof(a->key), key);
        a->first_ns = in->ts_ns;
        a->state = AL_OPEN;
    }
    a->last_ns = in->ts_ns > a->last_ns ? in->ts_ns : a->last_ns;
    if (in->severity > a->severity || a->count == 0)
        a->severity = in->severity;
    if (in->summary && !in->close)
        copy(a->summary, sizeof(a->summary), in->summary);
    if (in->client)
        copy(a->client, sizeof(a->client), in->client);
    if (in->server)
        copy(a->server, sizeof(a->server), in->server);
    if (in->victim)
        copy(a->victim, sizeof(a->victim), in->victim);
    if (in->zone)
        copy(a->zone, sizeof(a->zone), in->zone);
    if (in->qname)
        copy(a->qname, sizeof(a->qname), in->qname);
    if (in->evidence)
        copy(a->evidence, sizeof(a->evidence), in->evidence);
    if (!in->close) {
        a->count = in->count;
        a->threshold = in->threshold;
        a->observed = in->observed;
    }
    if (!a->announced) {
        a->announced = true;
        line(e, a, "open");
    } else if (in->close) {
        close_alert(e, a);
    } else if (a->last_ns - a->last_line_ns >= (uint64_t)(e->cfg->update_interval_s * 1e9)) {
        line(e, a, "update");
    }
    if (in->close && a->state == AL_OPEN)
        close_alert(e, a);
}

/* ---- dispatch ---- */
static void on_message(void *user, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct engine *e = user;

    if (m->has_header && m->qr && (m->aa || m->ra)) {
        struct ktab_key k = ktab_addr_key(meta->af, meta->src, NULL, 0);
        struct learned *l = ktab_get(&e->servers, &k, true);
        if (l) {
            l->answers++;
            l->aa += m->aa;
            l->ra += m->ra;
        }
    }
    e->seen_msgs++;
    for (unsigned i = 0, n = e->nmsg; i < n; i++)
        e->msg_ctx[i]->ops->on_message(e->msg_ctx[i], m, meta);
}

static void on_txn(void *user, const struct flow_txn *t)
{
    struct engine *e = user;
    e->seen_txns++;
    for (unsigned i = 0, n = e->ntxn; i < n; i++)
        e->txn_ctx[i]->ops->on_txn(e->txn_ctx[i], t);
}

static void on_window(void *user, const struct win_stats *w)
{
    struct engine *e = user;
    e->seen_windows++;
    for (unsigned i = 0; i < e->nctx; i++)
        if (e->ctx[i].ops->on_tick)
            e->ctx[i].ops->on_tick(&e->ctx[i], w);
    close_quiet(e, w->end_ns);
}

static void on_event(void *user, const struct cap_event *ev)
{
    struct engine *e = user;
    e->seen_events++;
    for (unsigned i = 0; i < e->nctx; i++)
        if (e->ctx[i].ops->on_event)
            e->ctx[i].ops->on_event(&e->ctx[i], ev);
}

static void on_xfr(void *user, const struct xfr_result *x)
{
    struct engine *e = user;
    for (unsigned i = 0; i < e->nctx; i++)
        if (e->ctx[i].ops->on_xfr)
            e->ctx[i].ops->on_xfr(&e->ctx[i], x);
}

static void on_log(void *user, const struct srvlog_event *ev)
{
    struct engine *e = user;
    e->seen_logs++;
    close_quiet(e, ev->ts_ns);
    for (unsigned i = 0; i < e->nctx; i++)
        if (e->ctx[i].ops->on_log)
            e->ctx[i].ops->on_log(&e->ctx[i], ev);
}

struct engine *engine_new(const struct dv_config *cfg, char *err, size_t errlen)
{
    struct engine *e = calloc(1, sizeof(*e));

    if (!e || !(e->alerts = calloc(16, sizeof(*e->alerts)))) {
        free(e);
        snprintf(err, errlen, "rules: out of memory");
        return NULL;
    }
    e->cap = 16;
    e->cfg = cfg;
    if (ktab_init(&e->servers, 1024, sizeof(struct learned)) < 0) {
        free(e->alerts);
        free(e);
        snprintf(err, errlen, "rules: out of memory");
        return NULL;
    }
    for (unsigned r = 0; r < rule_registry_n && r < CFG_MAX_RULES; r++) {
        struct rule_ctx *rc;
        if (!cfg->rule_enabled[r])
            continue;
        rc = &e->ctx[e->nctx];
        rc->ops = rule_registry[r];
        rc->eng = e;
        rc->idx = r;
        rc->values = cfg->rule_value[r];
        if (rc->ops->init && rc->ops->init(rc) < 0) {
            snprintf(err, errlen, "rule %s: initialisation failed", rc->ops->name);
            engine_free(e);
            return NULL;
        }
        if (rc->ops->on_message)
            e->msg_ctx[e->nmsg++] = rc;
        if (rc->ops->on_txn)
            e->txn_ctx[e->ntxn++] = rc;
        e->nctx++;
    }
    return e;
}

void engine_sink(struct engine *e, struct disp_sink *sink)
{
    memset(sink, 0, sizeof(*sink));
    sink->on_message = on_message;
    sink->on_txn = on_txn;
    sink->on_window = on_window;
    sink->on_event = on_event;
    sink->on_xfr = on_xfr;
    sink->on_log = on_log;
    sink->user = e;
}

int engine_add_alert_sink(struct engine *e, const struct engine_alert_sink *s)
{
    if (e->nsinks == ENGINE_MAX_SINKS)
        return ERR_FULL;
    e->sinks[e->nsinks++] = *s;
    return 0;
}

static void json_netlist(struct json *j, const char *key, const struct cfg_netlist *l)
{
    char a[48], item[64];
    json_arr_begin(j, key);
    for (unsigned i = 0; i < l->count; i++) {
        snprintf(item, sizeof(item), "%s/%u", rule_addr(l->n[i].af, l->n[i].addr, a), l->n[i].plen);
        json_str(j, NULL, item);
    }
    json_arr_end(j);
}

/* Servers seen answering with AA (authoritative) or RA (recursion offered), busiest first. */
static void json_learned(const struct engine *e, struct json *j, const char *key, bool ra)
{
    uint32_t order[16], n = 0;

    for (uint32_t i = 0; i < e->servers.n; i++) {
        const struct learned *l = ktab_val_at(&e->servers, i);
        uint64_t v = ra ? l->ra : l->aa;
        uint32_t p;
        if (v * 2 < l->answers) /* most of its answers must carry the flag */
            continue;
        for (p = n; p > 0; p--) {
            const struct learned *o = ktab_val_at(&e->servers, order[p - 1]);
            if ((ra ? o->ra : o->aa) >= v)
                break;
            if (p < 16)
                order[p] = order[p - 1];
        }
        if (p < 16) {
            order[p] = i;
            if (n < 16)
                n++;
        }
    }
    json_arr_begin(j, key);
    for (uint32_t i = 0; i < n; i++) {
        const struct learned *l = ktab_val_at(&e->servers, order[i]);
        uint8_t af;
        const uint8_t *addr = ktab_key_addr(ktab_key_at(&e->servers, order[i]), &af);
        char a[48];
        json_obj_begin(j, NULL);
        json_str(j, "address", rule_addr(af, addr, a));
        json_u64(j, "answers", ra ? l->ra : l->aa);
        json_obj_end(j);
    }
    json_arr_end(j);
}

void engine_json(const struct engine *e, struct json *j)
{
    json_obj_begin(j, "site");
    json_netlist(j, "internal_networks", &e->cfg->internal);
    json_netlist(j, "resolvers", &e->cfg->resolvers);
    json_netlist(j, "authoritative_servers", &e->cfg->authoritative);
    json_netlist(j, "transfer_peers", &e->cfg->transfer_peers);
    json_netlist(j, "update_peers", &e->cfg->update_peers);
    json_arr_begin(j, "watched_zones");
    for (unsigned i = 0; i < e->cfg->nzones; i++)
        json_str(j, NULL, e->cfg->zones[i]);
    json_arr_end(j);
    json_learned(e, j, "learned_resolvers", true);
    json_learned(e, j, "learned_authoritative_servers", false);
    json_obj_end(j);
    json_arr_begin(j, "alerts");
    for (unsigned i = 0; i < e->nalerts; i++) {
        struct engine_alert v;
        alert_view(e, &e->alerts[i], e->alerts[i].state == AL_OPEN ? "open" : "closed", &v);
        engine_alert_json(j, &v);
    }
    json_arr_end(j);
    json_obj_begin(j, "rules");
    json_arr_begin(j, "enabled");
    for (unsigned i = 0; i < e->nctx; i++)
        json_str(j, NULL, e->ctx[i].ops->name);
    json_arr_end(j);
    json_obj_begin(j, "seen");
    json_u64(j, "messages", e->seen_msgs);
    json_u64(j, "transactions", e->seen_txns);
    json_u64(j, "windows", e->seen_windows);
    json_u64(j, "capture_events", e->seen_events);
    json_u64(j, "log_events", e->seen_logs);
    json_obj_end(j);
    json_u64(j, "alerts_dropped", e->dropped);
    json_obj_begin(j, "counters");
    for (unsigned i = 0; i < e->nctx; i++) {
        const struct rule_ctx *rc = &e->ctx[i];
        json_obj_begin(j, rc->ops->name);
        for (int c = 0; c < MAX_COUNTERS && rc->cnames[c]; c++)
            json_u64(j, rc->cnames[c], rc->cvals[c]);
        json_obj_end(j);
    }
    json_obj_end(j);
    json_obj_end(j);
}

void engine_text(const struct engine *e, FILE *f)
{
    char t1[40], t2[40];
    unsigned nra = 0, naa = 0;

    for (uint32_t i = 0; i < e->servers.n; i++) {
        const struct learned *l = ktab_val_at(&e->servers, i);
        nra += l->ra * 2 >= l->answers;
        naa += l->aa * 2 >= l->answers;
    }
    fprintf(f, "\nServers seen         %u resolvers (answers with RA), %u authoritative (AA)\n",
            nra, naa);
    fprintf(f, "\nAlerts               %u", e->nalerts);
    if (e->dropped)
        fprintf(f, " (%llu more dropped: table full)", (unsigned long long)e->dropped);
    fputc('\n', f);
    for (unsigned i = 0; i < e->nalerts; i++) {
        const struct alert *a = &e->alerts[i];
        fprintf(f,
                "  [%s] %s %s (%s)\n    %s\n    %s .. %s, count %llu, observed %.3g, "
                "threshold %.3g\n",
                sev_names[a->severity], rule_registry[a->rule]->name,
                a->state == AL_OPEN ? "open" : "closed", rule_registry[a->rule]->reference,
                a->summary, rule_time(a->first_ns, t1), rule_time(a->last_ns, t2) + 11,
                (unsigned long long)a->count, a->observed, a->threshold);
    }
}

unsigned engine_alert_count(const struct engine *e)
{
    return e->nalerts;
}

bool engine_alert_get(const struct engine *e, unsigned id, struct engine_alert *out)
{
    if (id >= e->nalerts)
        return false;
    alert_view(e, &e->alerts[id], e->alerts[id].state == AL_OPEN ? "open" : "closed", out);
    return true;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    for (unsigned i = 0; i < e->nctx; i++)
        if (e->ctx[i].ops->fini)
            e->ctx[i].ops->fini(&e->ctx[i]);
    ktab_free(&e->servers);
    free(e->alerts);
    free(e);
}
