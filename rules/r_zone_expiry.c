/* SPDX-License-Identifier: MIT */
/* zone-expiry: expiring zones (BSI APP.3.6.A7) and expiring DNSSEC signatures (A17).
 * - From server logs: a secondary's last successful transfer (or load), its refresh
 *   failures, Knot's "expires in N seconds", and the "expired" lines of BIND, NSD and Knot.
 *   When refreshes fail and less than warn_fraction of the SOA expire interval is left, a
 *   warning; when the zone expires, a critical alert. BIND and NSD do not log the time left,
 *   so it is computed from the last success and the SOA expire value, learned from SOA
 *   records on the wire (the secondary's own SOA queries and transfers) or from Knot.
 * - From the wire: RRSIG records in authoritative answers (AA, DO) whose signature expires
 *   within rrsig_days: validating resolvers will treat the data as bogus after that. */
#include "rule.h"

#include "ktab.h"
#include "../analyze/sketch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rule_param params[] = {
    {"warn_fraction", RP_DOUBLE, 0.5, 0.01, 1,
     "warn when refreshes fail and less than this share of the SOA expire interval is left"},
    {"rrsig_days", RP_INT, 7, 0, 365,
     "warn when signatures in authoritative answers expire within this many days (0: off)"},
    {"max_zones", RP_INT, 4096, 1, 1e6, "zones tracked (per server)"},
    {0},
};

struct zone {
    char zone[128], server[48]; /* server: who wrote the log (srvlog_writer) */
    uint64_t last_ok_ns, expires_at_ns, expire_s, failures;
    bool expired_sent;
    char reason[96];
};

struct soa {
    uint64_t expire_s;
};

struct st {
    struct ktab zones; /* zone + log source */
    struct ktab soas;  /* zone -> SOA expire seen on the wire */
    struct ktab rrsig; /* signer + server already reported */
    double warn_fraction;
    int64_t rrsig_s;
};

static struct ktab_key name_key(const char *a, const char *b)
{
    struct ktab_key k = {{0}};
    uint64_t h1 = sketch_hash((const uint8_t *)a, strlen(a), true);
    uint64_t h2 = sketch_mix64(h1 ^ sketch_hash((const uint8_t *)b, strlen(b), false));
    memcpy(k.b, &h1, 8);
    memcpy(k.b + 8, &h2, 8);
    return k;
}

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    uint32_t n = (uint32_t)rule_param_int(rc, "max_zones");
    if (!s || ktab_init(&s->zones, n, sizeof(struct zone)) < 0 ||
        ktab_init(&s->soas, n, sizeof(struct soa)) < 0 || ktab_init(&s->rrsig, 1024, 1) < 0) {
        free(s);
        return -1;
    }
    s->warn_fraction = rule_param_double(rc, "warn_fraction");
    s->rrsig_s = rule_param_int(rc, "rrsig_days") * 86400;
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->zones);
    ktab_free(&s->soas);
    ktab_free(&s->rrsig);
    free(s);
}

static void emit(struct rule_ctx *rc, struct zone *z, uint64_t ts, bool expired)
{
    char key[200], summary[512], evidence[400], t[32];
    int64_t left = z->expires_at_ns ? ((int64_t)z->expires_at_ns - (int64_t)ts) / 1000000000 : -1;

    snprintf(key, sizeof(key), "%s|%s|%s", expired ? "expired" : "expiring", z->zone, z->server);
    if (expired)
        snprintf(summary, sizeof(summary), "zone %s expired on a secondary (per the log of %s)",
                 z->zone, z->server);
    else
        snprintf(summary, sizeof(summary),
                 "zone %s expires in %lld s on a secondary, refreshes failing (%s; per the log of "
                 "%s)",
                 z->zone, (long long)left, z->reason, z->server);
    snprintf(
        evidence, sizeof(evidence),
        "{\"source\":\"logs\",\"server_log\":\"%s\",\"last_success\":\"%s\",\"expire_seconds\":"
        "%llu,\"refresh_failures\":%llu,\"seconds_left\":%lld}",
        z->server, z->last_ok_ns ? rule_time(z->last_ok_ns, t) : "",
        (unsigned long long)z->expire_s, (unsigned long long)z->failures, (long long)left);
    struct alert_in a = {
        .key = key,
        .severity = expired ? SEV_CRITICAL : SEV_WARNING,
        .ts_ns = ts,
        .summary = summary,
        .zone = z->zone,
        .server = z->server,
        .count = expired ? 1 : z->failures,
        .threshold = expired ? 0 : (double)z->expire_s,
        .observed = (double)left,
        .evidence = evidence,
    };
    rule_emit(rc, &a);
}

static void on_log(struct rule_ctx *rc, const struct srvlog_event *ev)
{
    struct st *s = rule_state(rc);
    char server[48];
    struct ktab_key k;
    struct zone *z;
    struct soa *soa;

    if (!ev->zone[0] || ev->kind == SL_QUERY || ev->kind == SL_REPLY || ev->kind == SL_XFR_OUT ||
        ev->kind == SL_XFR_DENIED)
        return;
    srvlog_writer(ev, server, sizeof(server));
    k = name_key(ev->zone, server);
    z = ktab_get(&s->zones, &k, true);
    if (!z) {
        rule_count(rc, "table_full", 1);
        return;
    }
    if (!z->zone[0]) {
        snprintf(z->zone, sizeof(z->zone), "%.127s", ev->zone);
        snprintf(z->server, sizeof(z->server), "%s", server);
    }
    k = name_key(ev->zone, "");
    soa = ktab_get(&s->soas, &k, false);
    if (soa && soa->expire_s)
        z->expire_s = soa->expire_s;
    switch (ev->kind) {
    case SL_XFR_OK:
    case SL_ZONE_LOADED:
        z->last_ok_ns = ev->ts_ns;
        z->failures = 0;
        z->expired_sent = false;
        if (z->expire_s)
            z->expires_at_ns = ev->ts_ns + z->expire_s * 1000000000ull;
        break;
    case SL_ZONE_EXPIRES_IN:
        z->last_ok_ns = ev->ts_ns;
        z->failures = 0;
        z->expired_sent = false;
        z->expire_s = (uint64_t)(ev->seconds > 0 ? ev->seconds : 0);
        z->expires_at_ns = ev->ts_ns + z->expire_s * 1000000000ull;
        break;
    case SL_REFRESH_FAILED:
    case SL_XFR_FAILED:
        z->failures++;
        snprintf(z->reason, sizeof(z->reason), "%.95s", ev->detail[0] ? ev->detail : ev->rcode);
        if (z->expires_at_ns && !z->expired_sent && z->expires_at_ns > ev->ts_ns &&
            (double)(z->expires_at_ns - ev->ts_ns) / 1e9 <= s->warn_fraction * (double)z->expire_s)
            emit(rc, z, ev->ts_ns, false);
        break;
    case SL_ZONE_EXPIRED:
        if (!z->expired_sent) {
            z->expired_sent = true;
            emit(rc, z, ev->ts_ns, true);
        }
        break;
    default:
        break;
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void rrsig(struct rule_ctx *rc, struct st *s, const struct dns_msg *m,
                  const struct cap_meta *meta, const struct dns_rr *rr)
{
    uint8_t signer[DNS_MAX_NAME];
    size_t next, slen;
    char sname[256], qn[256], srv[48], key[320], summary[700], evidence[400], t[32];
    int64_t exp, left;
    struct ktab_key k;

    if (rr->rdlen < 18)
        return;
    exp = be32(rr->rdata + 8);
    left = exp - (int64_t)(meta->ts_ns / 1000000000ull);
    if (left > s->rrsig_s)
        return;
    if (dns_name_walk(m->wire, rr->rdata_off + rr->rdlen, rr->rdata_off + 18, &next, signer,
                      &slen) != DNS_MAL_NONE)
        return;
    dns_name_to_str(signer, slen, sname, sizeof(sname));
    rule_addr(meta->af, meta->src, srv);
    k = name_key(sname, srv);
    if (ktab_get(&s->rrsig, &k, false))
        return; /* reported already */
    ktab_get(&s->rrsig, &k, true);
    dns_name_to_str(m->qname, m->qname_len, qn, sizeof(qn));
    snprintf(key, sizeof(key), "rrsig|%s|%s", sname, srv);
    snprintf(summary, sizeof(summary), "signatures of %s served by %s %s (%s, signature on %s)",
             sname, srv, left > 0 ? "expire soon" : "have expired",
             rule_time((uint64_t)exp * 1000000000ull, t), qn);
    snprintf(evidence, sizeof(evidence),
             "{\"source\":\"packets\",\"signer\":\"%s\",\"expiration\":%lld,\"seconds_left\":%lld}",
             sname, (long long)exp, (long long)left);
    struct alert_in a = {
        .key = key,
        .severity = left > 0 ? SEV_WARNING : SEV_HIGH,
        .ts_ns = meta->ts_ns,
        .summary = summary,
        .server = srv,
        .zone = sname,
        .qname = qn,
        .count = 1,
        .threshold = (double)s->rrsig_s,
        .observed = (double)left,
        .evidence = evidence,
    };
    rule_emit(rc, &a);
}

static void on_message(struct rule_ctx *rc, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct st *s = rule_state(rc);
    bool soa_q, sig;
    struct dns_rr_iter it;
    struct dns_rr rr;

    if (!m->qr || !m->rrs_ok || !m->ancount || !m->has_qtype)
        return;
    soa_q = m->qtype == DNS_T_SOA || dns_is_xfr(m->qtype);
    sig = s->rrsig_s > 0 && m->aa && m->has_opt && m->edns_do;
    if (!soa_q && !sig)
        return;
    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
        if (rr.type == DNS_T_SOA && soa_q) {
            uint8_t name[DNS_MAX_NAME];
            char zn[256];
            size_t olen, dummy;
            uint32_t t[5];
            if (!dns_soa_fields(m, &rr, t) ||
                dns_name_walk(m->wire, m->len, rr.name_off, &dummy, name, &olen) != DNS_MAL_NONE)
                continue;
            dns_name_to_str(name, olen, zn, sizeof(zn));
            for (char *p = zn; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            struct ktab_key k = name_key(zn, "");
            struct soa *v = ktab_get(&s->soas, &k, true);
            if (v)
                v->expire_s = t[3];
        } else if (rr.type == DNS_T_RRSIG && sig) {
            rrsig(rc, s, m, meta, &rr);
        }
    }
}

const struct rule_ops rule_zone_expiry = {
    .name = "zone-expiry",
    .summary = "secondaries whose zone is about to expire or has expired (server logs, SOA on "
               "the wire); signatures in authoritative answers about to expire",
    .reference = "BSI APP.3.6.A7/A17",
    .params = params,
    .init = init,
    .on_message = on_message,
    .on_log = on_log,
    .fini = fini,
};
