/* SPDX-License-Identifier: MIT */
/* version-disclosure (BSI APP.3.6.A4: servers should not say what they run): answers with
 * data to the CHAOS TXT names by which BIND, Unbound, NSD, Knot and others tell their
 * software, version or host name (version.bind, version.server, hostname.bind, id.server).
 * One alert per server and name; it says what was disclosed and to whom, and is worse
 * (high) when the asker is outside the site's internal networks. Per server and name, a
 * bounded table counts the answers and those to outside clients. */
#include "rule.h"

#include "ktab.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rule_param params[] = {
    {"outside_only", RP_BOOL, 0, 0, 1, "report only answers to clients outside the site"},
    {"max_servers", RP_INT, 1024, 1, 1e6, "server and name pairs counted"},
    {0},
};

struct seen {
    uint64_t answers, outside;
};

static int init(struct rule_ctx *rc)
{
    struct ktab *t = calloc(1, sizeof(*t));
    if (!t || ktab_init(t, (uint32_t)rule_param_int(rc, "max_servers"), sizeof(struct seen)) < 0) {
        free(t);
        return -1;
    }
    rule_set_state(rc, t);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct ktab *t = rule_state(rc);
    if (!t)
        return;
    ktab_free(t);
    free(t);
}

static const char *const names[] = {"version.bind.", "version.server.", "hostname.bind.",
                                    "id.server."};

/* The first TXT string of the answer section, printable, into out. */
static void first_txt(const struct dns_msg *m, char *out, size_t n)
{
    struct dns_rr_iter it;
    struct dns_rr rr;

    out[0] = 0;
    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr)) {
        size_t len, o = 0;
        if (rr.section != DNS_SEC_ANSWER || rr.type != DNS_T_TXT || rr.rdlen < 1)
            continue;
        len = rr.rdata[0];
        if (len > (size_t)rr.rdlen - 1)
            len = (size_t)rr.rdlen - 1;
        for (size_t i = 0; i < len && o + 1 < n; i++) {
            unsigned char c = rr.rdata[1 + i];
            /* JSON- and log-safe: no quotes, backslashes or control characters */
            out[o++] = (char)(isprint(c) && c != '"' && c != '\\' ? c : '?');
        }
        out[o] = 0;
        return;
    }
}

static void on_message(struct rule_ctx *rc, const struct dns_msg *m, const struct cap_meta *meta)
{
    char qn[64], server[48], client[48], what[128], key[128], summary[320], ev[400];
    bool outside;
    int which = -1;
    uint64_t answers, outside_n;

    if (!m->qr || !m->has_question || m->qclass != DNS_C_CH || m->qtype != DNS_T_TXT ||
        m->rcode != DNS_R_NOERROR || m->ancount == 0 || !m->rrs_ok)
        return; /* the common case ends at the first test */
    dns_name_to_str(m->qname, m->qname_len, qn, sizeof(qn));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(qn, names[i]))
            which = (int)i;
    if (which < 0)
        return;
    outside = !rule_site_internal(rc, meta->af, meta->dst);
    if (!outside && rule_param_bool(rc, "outside_only"))
        return;
    first_txt(m, what, sizeof(what));
    if (!what[0])
        return; /* an empty string discloses nothing */
    {
        uint8_t w = (uint8_t)which;
        struct ktab_key k = ktab_addr_key(meta->af, meta->src, &w, 1);
        struct seen *c = ktab_get(rule_state(rc), &k, true);
        if (!c) {
            rule_count(rc, "servers_refused", 1);
            return;
        }
        c->answers++;
        c->outside += outside;
        answers = c->answers;
        outside_n = c->outside;
    }
    rule_addr(meta->af, meta->src, server);
    rule_addr(meta->af, meta->dst, client);
    snprintf(key, sizeof(key), "%s|%s", server, names[which]);
    snprintf(summary, sizeof(summary), "%s discloses \"%s\" as %s (CHAOS TXT) to %s%s", server,
             what, names[which], client, outside ? ", a client outside the site" : "");
    snprintf(ev, sizeof(ev),
             "{\"name\":\"%s\",\"disclosed\":\"%s\",\"last_client\":\"%s\",\"outside_client\":%s,"
             "\"answers\":%llu,\"answers_outside\":%llu}",
             names[which], what, client, outside ? "true" : "false", (unsigned long long)answers,
             (unsigned long long)outside_n);
    struct alert_in a = {
        .key = key,
        .severity = outside_n ? SEV_HIGH : SEV_WARNING,
        .ts_ns = meta->ts_ns,
        .summary = summary,
        .client = client,
        .server = server,
        .qname = names[which],
        .count = answers,
        .threshold = 1,
        .observed = (double)answers,
        .evidence = ev,
    };
    rule_emit(rc, &a);
}

const struct rule_ops rule_version_disclosure = {
    .name = "version-disclosure",
    .summary = "answers to CHAOS TXT version.bind, version.server, hostname.bind, id.server",
    .reference = "BSI APP.3.6.A4",
    .params = params,
    .init = init,
    .on_message = on_message,
    .fini = fini,
};
