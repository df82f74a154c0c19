/* SPDX-License-Identifier: MIT */
/* Report: query the store once into struct rep, then print it as text, HTML or JSON.
 *
 * Definitions (also in docs/report.md):
 * - errors: responses whose RCODE is not NOERROR, by kind (NXDOMAIN is shown apart);
 * - error/query ratio: errors / queries, per bucket and for the period;
 * - a change of the ratio: a shift the error-ratio rule found (an error-ratio alert in the
 *   period: its server or all servers, the error kind, first and last seen, the ratio it
 *   observed and its baseline), so the report lists exactly what the rule alerted on; the
 *   chart's dashed baseline is the previous period's ratio when that period has data, else
 *   this period's;
 * - an expiring zone: a zone whose SOA was seen and whose last successful transfer plus the
 *   SOA expire is past (expired), or whose refresh is overdue (expiring), or that only had
 *   failed transfers (at risk).
 * Figures with no source in the period are "not observed: no source", never 0. */
#include "report.h"

#include "../rules/registry.h"
#include "../rules/rule.h"
#include "../store/query.h"
#include "../store/store.h"
#include "../common/dnsnum.h"
#include "../common/err.h"
#include "../common/json.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "SERVFAIL", ... "other" */
/* ---- configuration findings (APP.3.6.A4/A6/A18) ---- */

/* True if a BSI reference names A4, A6 or A18 (not A45 or A60). */
static bool config_ref(const char *ref)
{
    static const char *const req[] = {".A4", ".A6", ".A18"};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        for (const char *p = strstr(ref, req[i]); p; p = strstr(p + 1, req[i])) {
            char c = p[strlen(req[i])];
            if (c < '0' || c > '9')
                return true;
        }
    return false;
}

/* The rules that check the configuration, comma-separated, into buf. */
static const char *config_checks(char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < rule_registry_n && o < n; i++)
        if (config_ref(rule_registry[i]->reference))
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", rule_registry[i]->name);
    return buf;
}

static const char *rc_label(int i)
{
    return i < 0            ? dns_rcode_name(DNS_R_NOERROR)
           : rc_code[i] < 0 ? "other"
                            : dns_rcode_name((unsigned)rc_code[i]);
}

/* The JSON key of an error kind: its label in lower case ("servfail"). */
static const char *rc_key(int i, char buf[16])
{
    const char *l = rc_label(i);
    size_t k = 0;
    for (; k < 15 && l[k]; k++)
        buf[k] = (char)tolower((unsigned char)l[k]);
    buf[k] = 0;
    return buf;
}

static const char *const top_labels[TOP_KINDS] = {"Clients", "Servers", "Query names",
                                                  "Registered domains"};

static void fmt_time(uint64_t ns, char *buf, size_t n)
{
    time_t t = (time_t)(ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool rep_parse_time(const char *s, uint64_t *ns)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, n = 0, off = 0;
    const char *p;
    double frac = 0;
    time_t t;

    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n == 0)
        return false;
    p = s + n;
    if (*p == '.') {
        char *end;
        frac = strtod(p, &end);
        p = end;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return false;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm) - off;
    if (t < 0)
        return false;
    *ns = (uint64_t)t * 1000000000ull + (uint64_t)(frac * 1e9);
    return true;
}

/* ---- queries ---- */

/* The source behind the traffic figures: packets (and dnstap) feed the windows. */
static const char *traffic_source(const struct rep *r)
{
    if (r->logs_traffic)
        return "logs";
    if (r->src_packets.runs && r->src_dnstap.runs)
        return "packets, dnstap";
    if (r->src_packets.runs)
        return "packets";
    if (r->src_dnstap.runs)
        return "dnstap";
    return NULL;
}

/* Transfers and zones: packets see transfers on the wire; logs (when present) too. */
static const char *xfr_source(const struct rep *r)
{
    if (r->src_packets.runs && r->src_logs.runs)
        return "packets, logs";
    if (r->src_packets.runs)
        return "packets";
    if (r->src_logs.runs)
        return "logs";
    return NULL;
}

/* ---- JSON ---- */

static void j_time(struct json *j, const char *key, uint64_t ns)
{
    char t[40];
    if (!ns) {
        json_null(j, key);
        return;
    }
    fmt_time(ns, t, sizeof(t));
    json_str(j, key, t);
}

static void j_count(struct json *j, const char *key, bool have, uint64_t v, bool have_prev,
                    uint64_t prev, const char *src)
{
    json_obj_begin(j, key);
    if (have && src)
        json_u64(j, "value", v);
    else
        json_null(j, "value");
    if (have_prev && src)
        json_u64(j, "previous", prev);
    else
        json_null(j, "previous");
    json_str(j, "source", src ? src : NO_SOURCE);
    json_obj_end(j);
}

static void write_json(const struct rep *r, FILE *f)
{
    const char *ts = traffic_source(r), *xs = xfr_source(r);
    struct json j;

    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "report", "dnsvigil security-event report (BSI IT-Grundschutz APP.3.6)");
    json_u64(&j, "schema", 1);
    j_time(&j, "generated", r->generated);
    json_str(&j, "database", r->o->db_path);
    json_obj_begin(&j, "period");
    j_time(&j, "from", r->from);
    j_time(&j, "to", r->to);
    j_time(&j, "previous_from", r->prev_from);
    j_time(&j, "previous_to", r->prev_to);
    json_u64(&j, "bucket_seconds", r->bucket_ns / 1000000000ull);
    json_double(&j, "coverage", r->coverage, 4);
    json_obj_end(&j);

    json_obj_begin(&j, "sources");
    {
        const struct source *s[3] = {&r->src_packets, &r->src_dnstap, &r->src_logs};
        const char *names[3] = {"packets", "dnstap", "logs"};
        for (int i = 0; i < 3; i++) {
            if (!s[i]->runs) {
                json_str(&j, names[i], NO_SOURCE);
                continue;
            }
            json_obj_begin(&j, names[i]);
            json_u64(&j, "runs", s[i]->runs);
            j_time(&j, "first", s[i]->first_ns);
            j_time(&j, "last", s[i]->last_ns < 9000000000000000000ull ? s[i]->last_ns : 0);
            json_obj_end(&j);
        }
    }
    json_obj_end(&j);

    json_obj_begin(&j, "app36");
    j_count(&j, "queries", r->cur.have, r->cur.queries, r->prev.have, r->prev.queries, ts);
    json_obj_begin(&j, "errors");
    char key[16];
    for (int i = 0; i < RC_N; i++)
        if (ts && r->cur.have)
            json_u64(&j, rc_key(i, key), r->cur.rc[i]);
        else
            json_null(&j, rc_key(i, key));
    if (ts && r->cur.have)
        json_u64(&j, "total", r->cur.errors);
    else
        json_null(&j, "total");
    if (ts && r->prev.have)
        json_u64(&j, "previous_total", r->prev.errors);
    else
        json_null(&j, "previous_total");
    json_u64(&j, "unanswered", r->cur.unanswered);
    json_str(&j, "source", ts ? ts : NO_SOURCE);
    json_obj_end(&j);
    j_count(&j, "edns_errors", r->cur.have, r->cur.edns_errors, r->prev.have, r->prev.edns_errors,
            ts);

    json_arr_begin(&j, "expiring_zones");
    for (unsigned i = 0; i < r->nzones; i++) {
        const struct zone_item *z = &r->zones[i];
        json_obj_begin(&j, NULL);
        json_str(&j, "zone", z->zone);
        json_str(&j, "server", z->server);
        json_str(&j, "status", z->status);
        json_i64(&j, "serial", z->serial);
        json_i64(&j, "expire_seconds", z->expire);
        j_time(&j, "last_successful_transfer", z->last_ok_ns);
        if (z->last_ok_ns && z->expire >= 0) {
            j_time(&j, "expires", z->last_ok_ns + (uint64_t)z->expire * 1000000000ull);
            json_i64(&j, "remaining_seconds", z->remaining_s);
        } else {
            json_null(&j, "expires");
            json_null(&j, "remaining_seconds");
        }
        json_u64(&j, "failed_transfers", z->failures);
        json_str(&j, "source", z->source);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_str(&j, "expiring_zones_source", xs ? xs : NO_SOURCE);

    json_arr_begin(&j, "failed_transfers");
    for (unsigned i = 0; i < r->nxfr; i++) {
        const struct xfr_item *x = &r->xfr[i];
        json_obj_begin(&j, NULL);
        json_str(&j, "zone", x->zone);
        json_str(&j, "client", x->client);
        json_str(&j, "server", x->server);
        json_str(&j, "type", x->qtype);
        j_time(&j, "start", x->start_ns);
        j_time(&j, "end", x->end_ns);
        json_str(&j, "reason", x->reason);
        json_str(&j, "source", x->source);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_str(&j, "failed_transfers_source", xs ? xs : NO_SOURCE);
    json_u64(&j, "successful_transfers", r->xfr_ok);

    json_obj_begin(&j, "error_ratio");
    if (ts && r->have_ratio)
        json_double(&j, "value", r->ratio, 6);
    else
        json_null(&j, "value");
    if (ts && r->have_prev_ratio)
        json_double(&j, "previous", r->prev_ratio, 6);
    else
        json_null(&j, "previous");
    json_double(&j, "baseline", r->baseline, 6);
    json_arr_begin(&j, "series");
    for (unsigned i = 0; i < r->nb; i++) {
        const struct bucket *b = &r->b[i];
        json_obj_begin(&j, NULL);
        j_time(&j, "from", r->from + i * r->bucket_ns);
        json_u64(&j, "queries", b->queries);
        json_u64(&j, "errors", b->errors);
        json_u64(&j, "edns_errors", b->edns_errors);
        if (b->queries)
            json_double(&j, "ratio", (double)b->errors / (double)b->queries, 6);
        else
            json_null(&j, "ratio");
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_str(&j, "source", ts ? ts : NO_SOURCE);
    json_obj_end(&j);

    json_arr_begin(&j, "error_ratio_changes");
    for (unsigned i = 0; i < r->nchanges; i++) {
        const struct change *c = &r->changes[i];
        json_obj_begin(&j, NULL);
        j_time(&j, "from", c->from_ns);
        j_time(&j, "to", c->to_ns);
        json_str(&j, "direction", c->rise ? "rise" : "fall");
        json_str(&j, "server", c->server);
        json_str(&j, "kind", c->kind);
        json_double(&j, "baseline", c->baseline, 6);
        json_double(&j, "peak", c->peak, 6);
        json_u64(&j, "queries", c->queries);
        json_u64(&j, "errors", c->errors);
        json_str(&j, "source", ts ? ts : NO_SOURCE);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);

    json_arr_begin(&j, "alerts");
    for (unsigned i = 0; i < r->nalerts; i++) {
        const struct alert_item *a = &r->alerts[i];
        json_obj_begin(&j, NULL);
        json_str(&j, "rule", a->rule);
        json_str(&j, "severity", a->severity);
        json_str(&j, "state", a->state);
        j_time(&j, "first_seen", a->first_ns);
        j_time(&j, "last_seen", a->last_ns);
        json_str(&j, "summary", a->summary);
        json_str(&j, "reference", a->reference);
        if (a->client[0])
            json_str(&j, "client", a->client);
        if (a->server[0])
            json_str(&j, "server", a->server);
        if (a->victim[0])
            json_str(&j, "victim", a->victim);
        if (a->zone[0])
            json_str(&j, "zone", a->zone);
        if (a->qname[0])
            json_str(&j, "qname", a->qname);
        json_u64(&j, "count", a->count);
        json_double(&j, "threshold", a->threshold, 3);
        json_double(&j, "observed", a->observed, 3);
        json_raw(&j, "evidence", a->evidence);
        if (a->evidence_file[0])
            json_str(&j, "evidence_file", a->evidence_file);
        json_str(&j, "source", "packets");
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_u64(&j, "alerts_total", r->alerts_total);
    {
        char checks[256];
        json_obj_begin(&j, "configuration_findings");
        json_str(&j, "requirements", "APP.3.6.A4/A6/A18");
        json_str(&j, "checks", config_checks(checks, sizeof(checks)));
        json_arr_begin(&j, "findings");
        for (unsigned i = 0; i < r->nalerts; i++) {
            const struct alert_item *a = &r->alerts[i];
            if (!config_ref(a->reference))
                continue;
            json_obj_begin(&j, NULL);
            json_str(&j, "rule", a->rule);
            json_str(&j, "severity", a->severity);
            json_str(&j, "reference", a->reference);
            if (a->server[0])
                json_str(&j, "server", a->server);
            if (a->client[0])
                json_str(&j, "client", a->client);
            j_time(&j, "first_seen", a->first_ns);
            j_time(&j, "last_seen", a->last_ns);
            json_str(&j, "summary", a->summary);
            json_raw(&j, "evidence", a->evidence);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_str(&j, "source", ts ? ts : NO_SOURCE);
        json_obj_end(&j);
    }

    json_obj_begin(&j, "top");
    for (int k = 0; k < TOP_KINDS; k++) {
        json_arr_begin(&j, top_kinds[k]);
        for (unsigned i = 0; i < r->ntop[k]; i++) {
            json_obj_begin(&j, NULL);
            json_str(&j, "name", r->top[k][i].name);
            json_u64(&j, "count", r->top[k][i].count);
            json_obj_end(&j);
        }
        json_arr_end(&j);
    }
    json_str(&j, "source", ts ? ts : NO_SOURCE);
    json_obj_end(&j);

    json_obj_begin(&j, "health");
    json_u64(&j, "windows", r->cur.windows);
    json_double(&j, "coverage", r->coverage, 4);
    json_u64(&j, "malformed", r->cur.malformed);
    json_u64(&j, "unanswered", r->cur.unanswered);
    json_u64(&j, "unsolicited", r->cur.unsolicited);
    json_u64(&j, "loss_total", r->cur.loss);
    json_obj_begin(&j, "loss");
    for (unsigned i = 0; i < r->nloss; i++)
        json_u64(&j, r->loss_names[i], r->loss_vals[i]);
    json_obj_end(&j);
    json_u64(&j, "store_detail_dropped", r->detail_dropped);
    json_str(&j, "source", ts ? ts : NO_SOURCE);
    json_obj_end(&j);
    json_obj_end(&j);
    json_finish(&j);
}

/* ---- text ---- */

static void num(uint64_t v, char *buf, size_t n)
{
    char tmp[32];
    size_t len, o = 0;
    snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    len = strlen(tmp);
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

static void change_text(bool have, uint64_t cur, bool have_prev, uint64_t prev, char *buf, size_t n)
{
    if (!have || !have_prev || prev == 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%+.0f%%", 100.0 * ((double)cur - (double)prev) / (double)prev);
}

static void text_item(FILE *f, const char *label, bool have, uint64_t v, bool have_prev,
                      uint64_t prev, const char *src)
{
    char a[32], b[32], c[16];
    if (!src || !have) {
        fprintf(f, "  %-30s %s\n", label, src ? "none in this period" : NO_SOURCE);
        return;
    }
    num(v, a, sizeof(a));
    if (have_prev)
        num(prev, b, sizeof(b));
    else
        snprintf(b, sizeof(b), "-");
    change_text(have, v, have_prev, prev, c, sizeof(c));
    fprintf(f, "  %-30s %12s %12s %7s  %s\n", label, a, b, c, src);
}

static void sparkline(const struct rep *r, FILE *f)
{
    static const char lv[] = " .:-=+*#";
    double max = 0;
    unsigned step, cols;
    if (!r->nb)
        return;
    step = (r->nb + 63) / 64;
    cols = (r->nb + step - 1) / step;
    for (unsigned i = 0; i < r->nb; i++)
        if (r->b[i].queries)
            max = fmax(max, (double)r->b[i].errors / (double)r->b[i].queries);
    fputs("  ratio |", f);
    for (unsigned c = 0; c < cols; c++) {
        uint64_t q = 0, e = 0;
        for (unsigned i = c * step; i < (c + 1) * step && i < r->nb; i++)
            q += r->b[i].queries, e += r->b[i].errors;
        if (!q)
            fputc('_', f);
        else
            fputc(lv[max > 0 ? (int)lround(7.0 * ((double)e / (double)q) / max) : 0], f);
    }
    fprintf(f, "|\n          max %.1f%%, one mark = %llu min, '_' = no data\n", 100 * max,
            (unsigned long long)(r->bucket_ns * step / 60000000000ull));
}

/* Prints s word-wrapped to width columns, every line indented by indent spaces. */
static void wrap(FILE *f, const char *s, int indent, int width)
{
    int avail = width - indent;
    while (*s) {
        int len = (int)strlen(s), cut = len;
        if (len > avail) {
            cut = avail;
            while (cut > 0 && s[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = avail;
        }
        fprintf(f, "%*s%.*s\n", indent, "", cut, s);
        s += cut;
        while (*s == ' ')
            s++;
    }
}

/* Alerts per rule: total and still open. */
static void rule_counts(const struct rep *r, FILE *f, bool html)
{
    char rules[16][32];
    unsigned n = 0, tot[16] = {0}, open[16] = {0};
    for (unsigned i = 0; i < r->nalerts; i++) {
        unsigned k;
        for (k = 0; k < n && strcmp(rules[k], r->alerts[i].rule); k++)
            ;
        if (k == n) {
            if (n == 16)
                continue;
            snprintf(rules[n++], sizeof(rules[0]), "%s", r->alerts[i].rule);
        }
        tot[k]++;
        open[k] += !strcmp(r->alerts[i].state, "open");
    }
    for (unsigned k = 0; k < n; k++)
        fprintf(f, html ? "<li>%s: %u (%u still open)</li>" : "  %-15s %5u alerts, %u still open\n",
                rules[k], tot[k], open[k]);
}

static void write_text(const struct rep *r, FILE *f)
{
    const char *ts = traffic_source(r), *xs = xfr_source(r);
    char a[40], b[40];

    fputs("dnsvigil security-event report (BSI IT-Grundschutz APP.3.6 A7, A15)\n", f);
    fmt_time(r->from, a, sizeof(a));
    fmt_time(r->to, b, sizeof(b));
    fprintf(f, "Period     %s .. %s\n", a, b);
    fmt_time(r->prev_from, a, sizeof(a));
    fmt_time(r->prev_to, b, sizeof(b));
    fprintf(f, "Previous   %s .. %s\n", a, b);
    fmt_time(r->generated, a, sizeof(a));
    fprintf(f, "Generated  %s from %s\n", a, r->o->db_path);
    fprintf(f, "Sources    packets: %s; dnstap: %s; logs: %s\n",
            r->src_packets.runs ? "yes" : "none", r->src_dnstap.runs ? "yes" : "none",
            r->src_logs.runs ? "yes" : "none");
    fprintf(f, "Coverage   %.1f%% of the period has traffic data (%llu windows)\n",
            100 * r->coverage, (unsigned long long)r->cur.windows);

    fprintf(f, "\nAPP.3.6 items %32s %12s %7s  source\n", "this period", "previous", "change");
    text_item(f, "1 DNS queries (A7)", r->cur.have, r->cur.queries, r->prev.have, r->prev.queries,
              ts);
    text_item(f, "2 Errors, all kinds (A7)", r->cur.have, r->cur.errors, r->prev.have,
              r->prev.errors, ts);
    if (ts && r->cur.have) {
        for (int i = 0; i < RC_N; i++) {
            char lab[40];
            snprintf(lab, sizeof(lab), "    %s", rc_label(i));
            text_item(f, lab, true, r->cur.rc[i], r->prev.have, r->prev.rc[i], ts);
        }
        text_item(f, "    (unanswered queries)", true, r->cur.unanswered, r->prev.have,
                  r->prev.unanswered, ts);
    }
    text_item(f, "3 EDNS errors (A7)", r->cur.have, r->cur.edns_errors, r->prev.have,
              r->prev.edns_errors, ts);
    if (xs)
        fprintf(f, "  %-30s %12u %12s %7s  %s\n", "4 Expiring zones (A7)", r->nzones, "", "", xs);
    else
        fprintf(f, "  %-30s %s\n", "4 Expiring zones (A7)", NO_SOURCE);
    if (xs)
        fprintf(f, "  %-30s %12llu %12s %7s  %s\n", "5 Failed zone transfers (A7)",
                (unsigned long long)r->xfr_failed_total, "", "", xs);
    else
        fprintf(f, "  %-30s %s\n", "5 Failed zone transfers (A7)", NO_SOURCE);
    if (ts && r->have_ratio) {
        char p[16] = "-", c[16] = "-";
        if (r->have_prev_ratio) {
            snprintf(p, sizeof(p), "%.2f%%", 100 * r->prev_ratio);
            snprintf(c, sizeof(c), "%+.2fpp", 100 * (r->ratio - r->prev_ratio));
        }
        snprintf(a, sizeof(a), "%.2f%%", 100 * r->ratio);
        fprintf(f, "  %-30s %12s %12s %7s  %s\n", "6 Error/query ratio (A15)", a, p, c, ts);
        fprintf(f, "  %-30s %12u %12s %7s  %s\n", "7 Ratio changes (A15)", r->nchanges, "", "", ts);
    } else {
        fprintf(f, "  %-30s %s\n", "6 Error/query ratio (A15)", ts ? "no queries" : NO_SOURCE);
        fprintf(f, "  %-30s %s\n", "7 Ratio changes (A15)", ts ? "no queries" : NO_SOURCE);
    }
    if (ts && r->cur.have) {
        fputc('\n', f);
        sparkline(r, f);
    }
    for (unsigned i = 0; i < r->nchanges; i++) {
        const struct change *c = &r->changes[i];
        fmt_time(c->from_ns, a, sizeof(a));
        fmt_time(c->to_ns, b, sizeof(b));
        fprintf(f, "  %s %s..%s %.10s at %.28s\n         observed %.1f%%, baseline %.1f%%\n",
                c->rise ? "RISE" : "FALL", a, b + 11, c->kind, c->server, 100 * c->peak,
                100 * c->baseline);
    }

    fprintf(f, "\nExpiring zones (%u)\n", r->nzones);
    if (!r->nzones)
        fprintf(f, "  %s\n", xs ? "none" : NO_SOURCE);
    for (unsigned i = 0; i < r->nzones; i++) {
        const struct zone_item *z = &r->zones[i];
        if (z->last_ok_ns && z->expire < 0) {
            fmt_time(z->last_ok_ns, a, sizeof(a));
            fprintf(f, "  %-9s %.60s at %s\n", z->status, z->zone, z->server);
            fprintf(f, "            last transfer %s, %s\n", a,
                    !strcmp(z->status, "expired") ? "expired (logged by the server)"
                                                  : "SOA expire unknown");
        } else if (z->last_ok_ns) {
            fmt_time(z->last_ok_ns, a, sizeof(a));
            fprintf(f, "  %-9s %.60s at %s\n", z->status, z->zone, z->server);
            long long rs = z->remaining_s > 0 ? z->remaining_s : -z->remaining_s;
            fprintf(f, "            last transfer %s, %s %lld s (%.1f days)%s\n", a,
                    z->remaining_s > 0 ? "expires in" : "expired", rs, (double)rs / 86400,
                    z->remaining_s > 0 ? "" : " ago");
        } else {
            fprintf(f, "  %-9s %.60s at %s\n", z->status, z->zone, z->server);
            fprintf(f, "            no successful transfer seen, %llu failed\n",
                    (unsigned long long)z->failures);
        }
    }
    fprintf(f, "\nFailed zone transfers (%llu)\n", (unsigned long long)r->xfr_failed_total);
    if (!r->nxfr)
        fprintf(f, "  %s\n", xs ? "none" : NO_SOURCE);
    for (unsigned i = 0; i < r->nxfr; i++) {
        const struct xfr_item *x = &r->xfr[i];
        fmt_time(x->end_ns, a, sizeof(a));
        char line[512];
        fprintf(f, "  %s %s %.50s\n", a, x->qtype, x->zone);
        snprintf(line, sizeof(line), "from %s to %s: %s", x->server, x->client, x->reason);
        wrap(f, line, 6, 80);
    }
    {
        char checks[256];
        unsigned nf = 0;
        fputs("\nConfiguration findings (APP.3.6.A4/A6/A18)\n", f);
        for (unsigned i = 0; i < r->nalerts; i++) {
            const struct alert_item *al = &r->alerts[i];
            if (!config_ref(al->reference))
                continue;
            nf++;
            fmt_time(al->first_ns, a, sizeof(a));
            fprintf(f, "  %-8s %-18s %s %.28s\n", al->severity, al->rule, a, al->server);
            wrap(f, al->summary, 11, 80);
        }
        if (!nf) {
            char line[400];
            snprintf(line, sizeof(line), "%s (checks: %s)",
                     ts ? "none found in this period" : NO_SOURCE,
                     config_checks(checks, sizeof(checks)));
            wrap(f, line, 2, 80);
        }
    }
    fprintf(f, "\nAlerts (%llu)\n", (unsigned long long)r->alerts_total);
    rule_counts(r, f, false);
    if (r->nalerts)
        fputc('\n', f);
    for (unsigned i = 0; i < r->nalerts; i++) {
        const struct alert_item *al = &r->alerts[i];
        fmt_time(al->first_ns, a, sizeof(a));
        fmt_time(al->last_ns, b, sizeof(b));
        fprintf(f, "  %-8s %-14s %-6s %s..%s\n", al->severity, al->rule, al->state, a, b + 11);
        wrap(f, al->summary, 11, 80);
        fprintf(f, "           %s", al->reference);
        if (al->evidence_file[0])
            fprintf(f, "; evidence %s", al->evidence_file);
        fputc('\n', f);
    }
    for (int k = 0; k < TOP_KINDS; k++) {
        fprintf(f, "\nTop %s\n", top_labels[k]);
        if (!r->ntop[k])
            fprintf(f, "  %s\n", ts ? "none" : NO_SOURCE);
        for (unsigned i = 0; i < r->ntop[k]; i++) {
            num(r->top[k][i].count, a, sizeof(a));
            fprintf(f, "  %12s  %.62s\n", a, r->top[k][i].name);
        }
    }
    fputs("\nCapture health\n", f);
    fprintf(f, "  windows %llu, malformed %llu, unsolicited %llu, lost or given up %llu\n",
            (unsigned long long)r->cur.windows, (unsigned long long)r->cur.malformed,
            (unsigned long long)r->cur.unsolicited, (unsigned long long)r->cur.loss);
    for (unsigned i = 0; i < r->nloss; i++)
        if (r->loss_vals[i])
            fprintf(f, "  %-28s %llu\n", r->loss_names[i], (unsigned long long)r->loss_vals[i]);
    if (r->detail_dropped)
        fprintf(f, "  store detail dropped         %llu\n", (unsigned long long)r->detail_dropped);
}

/* ---- HTML ---- */

static void h_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

#define CH_W 760
#define CH_H 220
#define CH_L 60 /* left margin */
#define CH_B 30 /* bottom margin */
#define CH_T 10

static double nice_max(double v)
{
    double p = 1;
    if (v <= 0)
        return 1;
    while (p * 10 <= v)
        p *= 10;
    for (int m = 1; m <= 10; m++)
        if (p * m >= v)
            return p * m;
    return p * 10;
}

/* Axes, grid and time ticks of a chart with y from 0 to ymax. */
static void svg_axes(const struct rep *r, FILE *f, double ymax, bool percent)
{
    double ph = CH_H - CH_T - CH_B, pw = CH_W - CH_L - 10;
    for (int i = 0; i <= 4; i++) {
        double y = CH_T + ph - ph * i / 4;
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>", CH_L, y, CH_W - 10,
                y);
        if (percent)
            fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%.1f%%</text>",
                    CH_L - 4, y + 4, 100 * ymax * i / 4);
        else
            fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%.0f</text>",
                    CH_L - 4, y + 4, ymax * i / 4);
    }
    for (int i = 0; i <= 4; i++) {
        char t[40];
        uint64_t ns = r->from + (r->to - r->from) / 4 * (uint64_t)i;
        fmt_time(ns, t, sizeof(t));
        t[16] = 0;
        fprintf(f, "<text x='%.1f' y='%d' text-anchor='%s' font-size='11'>%s</text>",
                CH_L + pw * i / 4, CH_H - 8,
                i == 0   ? "start"
                : i == 4 ? "end"
                         : "middle",
                t + 5);
    }
}

static void svg_bars(const struct rep *r, FILE *f, const char *title, const char *desc, int what)
{
    double ph = CH_H - CH_T - CH_B, pw = CH_W - CH_L - 10, max = 0, bw;
    if (!r->nb)
        return;
    bw = pw / r->nb;
    for (unsigned i = 0; i < r->nb; i++)
        max = fmax(max, (double)(what == 0 ? r->b[i].queries : r->b[i].edns_errors));
    max = nice_max(max);
    fprintf(f,
            "<figure><figcaption>%s</figcaption><svg role='img' width='%d' height='%d' "
            "viewBox='0 0 %d %d' xmlns='http://www.w3.org/2000/svg'><title>%s</title>",
            title, CH_W, CH_H, CH_W, CH_H, desc);
    svg_axes(r, f, max, false);
    for (unsigned i = 0; i < r->nb; i++) {
        const struct bucket *b = &r->b[i];
        double x = CH_L + bw * i, w = bw > 2 ? bw - 1 : bw;
        if (what == 0) {
            double hq = ph * (double)b->queries / max, he = ph * (double)b->errors / max;
            if (b->queries)
                fprintf(f,
                        "<rect class='q' x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                        "fill='#6baed6'><title>%llu queries</title></rect>",
                        x, CH_T + ph - hq, w, hq, (unsigned long long)b->queries);
            if (b->errors)
                fprintf(f,
                        "<rect class='e' x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                        "fill='#d62728'><title>%llu errors</title></rect>",
                        x, CH_T + ph - he, w, he, (unsigned long long)b->errors);
        } else if (b->edns_errors) {
            double h = ph * (double)b->edns_errors / max;
            fprintf(f,
                    "<rect class='x' x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                    "fill='#9467bd'><title>%llu EDNS errors</title></rect>",
                    x, CH_T + ph - h, w, h, (unsigned long long)b->edns_errors);
        }
    }
    if (what == 0) {
        /* Alert markers: a line and a triangle where each alert opened. */
        for (unsigned i = 0; i < r->nalerts; i++) {
            const struct alert_item *a = &r->alerts[i];
            double x;
            if (a->first_ns < r->from || a->first_ns >= r->to)
                continue;
            x = CH_L + pw * (double)(a->first_ns - r->from) / (double)(r->to - r->from);
            fprintf(f,
                    "<g class='alert'><line x1='%.1f' y1='%d' x2='%.1f' y2='%.1f' "
                    "stroke='#ff7f0e' stroke-dasharray='4 3'/><path d='M%.1f %d l-5 -8 h10 z' "
                    "fill='#ff7f0e'/><title>",
                    x, CH_T, x, CH_T + ph, x, CH_T + 8);
            h_esc(f, a->rule);
            fputs(": ", f);
            h_esc(f, a->summary);
            fputs("</title></g>", f);
        }
    }
    fputs("</svg>", f);
    if (what == 0)
        fputs("<p class='legend'><span style='background:#6baed6'></span>queries "
              "<span style='background:#d62728'></span>errors <span "
              "style='background:#ff7f0e'></span>alert opened</p>",
              f);
    fputs("</figure>\n", f);
}

static void svg_ratio(const struct rep *r, FILE *f)
{
    double ph = CH_H - CH_T - CH_B, pw = CH_W - CH_L - 10, max = r->baseline, bw;
    bool pen = false;
    if (!r->nb)
        return;
    bw = pw / r->nb;
    for (unsigned i = 0; i < r->nb; i++)
        if (r->b[i].queries)
            max = fmax(max, (double)r->b[i].errors / (double)r->b[i].queries);
    max = max > 0 ? nice_max(max * 100) / 100 : 0.01;
    fprintf(f,
            "<figure><figcaption>Error/query ratio and its baseline (APP.3.6.A15)</figcaption>"
            "<svg role='img' width='%d' height='%d' viewBox='0 0 %d %d' "
            "xmlns='http://www.w3.org/2000/svg'><title>Error/query ratio</title>",
            CH_W, CH_H, CH_W, CH_H);
    svg_axes(r, f, max, true);
    for (unsigned i = 0; i < r->nchanges; i++) {
        const struct change *c = &r->changes[i];
        double x0 = CH_L + pw * (double)(c->from_ns - r->from) / (double)(r->to - r->from);
        double x1 = CH_L + pw * (double)(c->to_ns - r->from) / (double)(r->to - r->from);
        fprintf(f, "<rect x='%.1f' y='%d' width='%.1f' height='%.1f' fill='#fdd0a2'/>", x0, CH_T,
                x1 - x0, ph);
    }
    fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#555' stroke-dasharray='6 4'/>",
            CH_L, CH_T + ph - ph * r->baseline / max, CH_W - 10,
            CH_T + ph - ph * r->baseline / max);
    fputs("<path class='ratio' fill='none' stroke='#d62728' stroke-width='2' d='", f);
    for (unsigned i = 0; i < r->nb; i++) {
        double v;
        if (!r->b[i].queries) {
            pen = false;
            continue;
        }
        v = (double)r->b[i].errors / (double)r->b[i].queries;
        fprintf(f, "%c%.1f %.1f ", pen ? 'L' : 'M', CH_L + bw * (i + 0.5),
                CH_T + ph - ph * v / max);
        pen = true;
    }
    fputs("'/></svg><p class='legend'><span style='background:#d62728'></span>ratio "
          "<span style='background:#555'></span>baseline <span "
          "style='background:#fdd0a2'></span>change</p></figure>\n",
          f);
}

static void svg_rcodes(const struct rep *r, FILE *f)
{
    static const char *const colors[RC_N + 1] = {"#2ca02c", "#8c564b", "#d62728", "#1f77b4",
                                                 "#e377c2", "#ff7f0e", "#7f7f7f"};
    uint64_t total = r->cur.noerror + r->cur.errors;
    double x = CH_L, pw = CH_W - CH_L - 10;
    if (!total)
        return;
    fprintf(f,
            "<figure><figcaption>Response codes</figcaption><svg role='img' width='%d' "
            "height='70' viewBox='0 0 %d 70' xmlns='http://www.w3.org/2000/svg'><title>Response "
            "code mix</title>",
            CH_W, CH_W);
    for (int i = -1; i < RC_N; i++) {
        uint64_t v = i < 0 ? r->cur.noerror : r->cur.rc[i];
        double w = pw * (double)v / (double)total;
        if (!v)
            continue;
        fprintf(f,
                "<rect class='rc' x='%.1f' y='10' width='%.1f' height='30' fill='%s'><title>%s "
                "%llu (%.1f%%)</title></rect>",
                x, w < 1 ? 1 : w, colors[i + 1], rc_label(i), (unsigned long long)v,
                100.0 * (double)v / (double)total);
        x += w;
    }
    fputs("</svg><p class='legend'>", f);
    for (int i = -1; i < RC_N; i++) {
        uint64_t v = i < 0 ? r->cur.noerror : r->cur.rc[i];
        if (v)
            fprintf(f, "<span style='background:%s'></span>%s %.1f%% ", colors[i + 1], rc_label(i),
                    100.0 * (double)v / (double)total);
    }
    fputs("</p></figure>\n", f);
}

static void h_row(FILE *f, const char *item, const char *req, const char *val, const char *prev,
                  const char *src, bool attention)
{
    fprintf(f, "<tr%s><td>%s</td><td>%s</td><td class='n'>%s</td><td class='n'>%s</td><td>",
            attention ? " class='attn'" : "", item, req, val, prev);
    h_esc(f, src);
    fputs("</td></tr>\n", f);
}

static void h_count(FILE *f, const char *item, const char *req, bool have, uint64_t v,
                    bool have_prev, uint64_t prev, const char *src, bool attention)
{
    char a[32] = "&mdash;", b[32] = "&mdash;";
    if (src && have)
        num(v, a, sizeof(a));
    if (src && have_prev)
        num(prev, b, sizeof(b));
    h_row(f, item, req, a, b, src ? src : NO_SOURCE, attention && have && v > 0);
}

static void write_html(const struct rep *r, FILE *f)
{
    const char *ts = traffic_source(r), *xs = xfr_source(r);
    char a[40], b[40], c[40], d[40];

    fmt_time(r->from, a, sizeof(a));
    fmt_time(r->to, b, sizeof(b));
    fputs("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
          "<meta name='viewport' content='width=device-width'>",
          f);
    fprintf(f, "<title>DNS security-event report %s .. %s</title>\n", a, b);
    fputs("<style>body{font-family:sans-serif;max-width:800px;margin:1em auto;color:#222}"
          "h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}"
          "table{border-collapse:collapse;width:100%;font-size:.92em}td,th{border-bottom:1px solid "
          "#eee;padding:3px 6px;text-align:left;vertical-align:top}td.n{text-align:right;"
          "font-variant-numeric:tabular-nums}tr.attn "
          "td{background:#fff3e0}td{overflow-wrap:anywhere}.sev-critical,"
          ".sev-high{color:#b00;font-weight:bold}.sev-warning{color:#a60}.muted{color:#777}"
          "figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}"
          ".legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 .8em;"
          "vertical-align:middle}@media print{body{max-width:none}h2{page-break-after:avoid}"
          "figure,table{page-break-inside:avoid}}</style></head><body>\n",
          f);
    fputs("<h1>DNS security-event report</h1>\n<p>BSI IT-Grundschutz APP.3.6 (A7 monitoring, "
          "A15 evaluation of logs). ",
          f);
    fprintf(f, "Period <b>%s</b> to <b>%s</b>; ", a, b);
    fmt_time(r->prev_from, c, sizeof(c));
    fmt_time(r->prev_to, d, sizeof(d));
    fprintf(f, "compared with %s to %s. ", c, d);
    fmt_time(r->generated, c, sizeof(c));
    fprintf(f, "Generated %s from <code>", c);
    h_esc(f, r->o->db_path);
    fprintf(f,
            "</code>.</p>\n<p>Sources: packets %s, dnstap %s, server logs %s. Traffic data "
            "covers %.1f%% of the period.</p>\n",
            r->src_packets.runs ? "<b>yes</b>" : "none", r->src_dnstap.runs ? "<b>yes</b>" : "none",
            r->src_logs.runs ? "<b>yes</b>" : "none", 100 * r->coverage);

    fputs("<h2>APP.3.6 items</h2>\n<table><tr><th>Item</th><th>Requirement</th><th>This "
          "period</th><th>Previous</th><th>Source</th></tr>\n",
          f);
    h_count(f, "Number of DNS queries", "A7", r->cur.have, r->cur.queries, r->prev.have,
            r->prev.queries, ts, false);
    h_count(f, "Number of errors (all kinds)", "A7", r->cur.have, r->cur.errors, r->prev.have,
            r->prev.errors, ts, false);
    for (int i = 0; i < RC_N && ts && r->cur.have; i++) {
        char lab[48];
        snprintf(lab, sizeof(lab), "&nbsp;&nbsp;of which %s", rc_label(i));
        h_count(f, lab, "A7", true, r->cur.rc[i], r->prev.have, r->prev.rc[i], ts, false);
    }
    h_count(f, "EDNS errors", "A7", r->cur.have, r->cur.edns_errors, r->prev.have,
            r->prev.edns_errors, ts, true);
    snprintf(c, sizeof(c), "%u", r->nzones);
    h_row(f, "Expiring zones", "A7", xs ? c : "&mdash;", "&mdash;", xs ? xs : NO_SOURCE,
          r->nzones > 0);
    snprintf(c, sizeof(c), "%llu", (unsigned long long)r->xfr_failed_total);
    h_row(f, "Failed zone transfers", "A7", xs ? c : "&mdash;", "&mdash;", xs ? xs : NO_SOURCE,
          r->xfr_failed_total > 0);
    snprintf(c, sizeof(c), "&mdash;");
    snprintf(d, sizeof(d), "&mdash;");
    if (ts && r->have_ratio)
        snprintf(c, sizeof(c), "%.2f%%", 100 * r->ratio);
    if (ts && r->have_prev_ratio)
        snprintf(d, sizeof(d), "%.2f%%", 100 * r->prev_ratio);
    h_row(f, "Error/query ratio", "A15", c, d, ts ? ts : NO_SOURCE, false);
    snprintf(c, sizeof(c), "%u", r->nchanges);
    h_row(f, "Changes of the error/query ratio", "A15", ts ? c : "&mdash;", "&mdash;",
          ts ? ts : NO_SOURCE, r->nchanges > 0);
    fputs("</table>\n", f);

    fputs("<h2>Traffic and errors over time</h2>\n", f);
    if (ts && r->cur.have) {
        svg_bars(r, f, "Queries and errors (A7), with alerts", "Queries and errors over time", 0);
        svg_ratio(r, f);
        svg_rcodes(r, f);
        svg_bars(r, f, "EDNS errors (A7)", "EDNS errors over time", 1);
    } else {
        fprintf(f, "<p class='muted'>%s</p>\n", ts ? "No traffic in this period." : NO_SOURCE);
    }
    if (r->nchanges) {
        fputs("<table><tr><th>Change</th><th>Server</th><th>Kind</th><th>From</th><th>To</th>"
              "<th>Observed</th><th>Baseline</th></tr>\n",
              f);
        for (unsigned i = 0; i < r->nchanges; i++) {
            const struct change *ch = &r->changes[i];
            fmt_time(ch->from_ns, c, sizeof(c));
            fmt_time(ch->to_ns, d, sizeof(d));
            fprintf(f, "<tr class='attn'><td>%s</td><td>", ch->rise ? "rise" : "fall");
            h_esc(f, ch->server);
            fputs("</td><td>", f);
            h_esc(f, ch->kind);
            fprintf(f,
                    "</td><td>%s</td><td>%s</td><td class='n'>%.1f%%</td><td class='n'>%.1f%%</td>"
                    "</tr>\n",
                    c, d, 100 * ch->peak, 100 * ch->baseline);
        }
        fputs("</table>\n", f);
    }

    fputs("<h2>Expiring zones</h2>\n", f);
    if (!r->nzones)
        fprintf(f, "<p class='muted'>%s</p>\n", xs ? "None." : NO_SOURCE);
    else {
        fputs("<table><tr><th>Zone</th><th>Server</th><th>Status</th><th>Last successful "
              "transfer</th><th>Expires</th></tr>\n",
              f);
        for (unsigned i = 0; i < r->nzones; i++) {
            const struct zone_item *z = &r->zones[i];
            fputs("<tr class='attn'><td>", f);
            h_esc(f, z->zone);
            fprintf(f, "</td><td>%s</td><td>%s</td>", z->server, z->status);
            if (z->last_ok_ns && z->expire < 0) {
                fmt_time(z->last_ok_ns, c, sizeof(c));
                fprintf(f, "<td>%s</td><td>%s</td></tr>\n", c,
                        !strcmp(z->status, "expired") ? "expired (logged)" : "unknown");
            } else if (z->last_ok_ns) {
                fmt_time(z->last_ok_ns, c, sizeof(c));
                fmt_time(z->last_ok_ns + (uint64_t)z->expire * 1000000000ull, d, sizeof(d));
                fprintf(f, "<td>%s</td><td>%s</td></tr>\n", c, d);
            } else {
                fprintf(f, "<td>none seen (%llu failed)</td><td>unknown</td></tr>\n",
                        (unsigned long long)z->failures);
            }
        }
        fputs("</table>\n", f);
    }
    fputs("<h2>Failed zone transfers</h2>\n", f);
    if (!r->nxfr)
        fprintf(f, "<p class='muted'>%s</p>\n", xs ? "None." : NO_SOURCE);
    else {
        fputs("<table><tr><th>Time</th><th>Zone</th><th>Server</th><th>Client</th><th>Reason</th>"
              "</tr>\n",
              f);
        for (unsigned i = 0; i < r->nxfr; i++) {
            const struct xfr_item *x = &r->xfr[i];
            fmt_time(x->end_ns, c, sizeof(c));
            fprintf(f, "<tr><td>%s</td><td>%s ", c, x->qtype);
            h_esc(f, x->zone);
            fprintf(f, "</td><td>%s</td><td>%s</td><td>", x->server, x->client);
            h_esc(f, x->reason);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }

    {
        char checks[256];
        unsigned nf = 0;
        fputs("<h2>Configuration findings (APP.3.6.A4/A6/A18)</h2>\n", f);
        for (unsigned i = 0; i < r->nalerts; i++) {
            const struct alert_item *al = &r->alerts[i];
            if (!config_ref(al->reference))
                continue;
            if (!nf++)
                fputs("<table><tr><th>Severity</th><th>Rule</th><th>Server</th><th>First "
                      "seen</th><th>Finding</th></tr>\n",
                      f);
            fmt_time(al->first_ns, c, sizeof(c));
            fprintf(f, "<tr><td class='sev-%s'>%s</td><td>%s</td><td>", al->severity, al->severity,
                    al->rule);
            h_esc(f, al->server);
            fprintf(f, "</td><td>%s</td><td>", c);
            h_esc(f, al->summary);
            fputs("<br><span class='muted'>", f);
            h_esc(f, al->evidence);
            fputs("</span></td></tr>\n", f);
        }
        if (nf)
            fputs("</table>\n", f);
        fputs("<p class='muted'>", f);
        fprintf(f, "%s (checks: ", nf ? "Checks" : ts ? "None found in this period" : NO_SOURCE);
        h_esc(f, config_checks(checks, sizeof(checks)));
        fputs(").</p>\n", f);
    }
    fprintf(f, "<h2>Alerts (%llu)</h2>\n", (unsigned long long)r->alerts_total);
    if (!r->nalerts)
        fputs("<p class='muted'>No alerts in this period.</p>\n", f);
    else {
        fputs("<ul>", f);
        rule_counts(r, f, true);
        fputs("</ul>\n", f);
        fputs("<table><tr><th>Severity</th><th>Rule</th><th>State</th><th>First / last "
              "seen</th><th>What happened</th></tr>\n",
              f);
        for (unsigned i = 0; i < r->nalerts; i++) {
            const struct alert_item *al = &r->alerts[i];
            fmt_time(al->first_ns, c, sizeof(c));
            fmt_time(al->last_ns, d, sizeof(d));
            fprintf(f, "<tr><td class='sev-%s'>%s</td><td>%s</td><td>%s</td><td>%s<br>%s</td><td>",
                    al->severity, al->severity, al->rule, al->state, c, d);
            h_esc(f, al->summary);
            fputs("<br><span class='muted'>", f);
            h_esc(f, al->reference);
            if (al->evidence_file[0]) {
                fputs("; evidence: <code>", f);
                h_esc(f, al->evidence_file);
                fputs("</code>", f);
            }
            fputs("<br>", f);
            h_esc(f, al->evidence);
            fputs("</span></td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }

    fputs("<h2>Top talkers</h2>\n<table><tr>", f);
    for (int k = 0; k < TOP_KINDS; k++)
        fprintf(f, "<th>%s</th>", top_labels[k]);
    fputs("</tr>\n", f);
    for (unsigned i = 0; i < 10; i++) {
        bool any = false;
        for (int k = 0; k < TOP_KINDS; k++)
            any |= i < r->ntop[k];
        if (!any)
            break;
        fputs("<tr>", f);
        for (int k = 0; k < TOP_KINDS; k++) {
            fputs("<td>", f);
            if (i < r->ntop[k]) {
                h_esc(f, r->top[k][i].name);
                fprintf(f, " <span class='muted'>%llu</span>",
                        (unsigned long long)r->top[k][i].count);
            }
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h2>Capture health</h2>\n<table>", f);
    fprintf(f, "<tr><td>Windows with data</td><td class='n'>%llu</td></tr>",
            (unsigned long long)r->cur.windows);
    fprintf(f, "<tr><td>Malformed messages</td><td class='n'>%llu</td></tr>",
            (unsigned long long)r->cur.malformed);
    fprintf(f, "<tr><td>Unanswered queries</td><td class='n'>%llu</td></tr>",
            (unsigned long long)r->cur.unanswered);
    fprintf(f, "<tr%s><td>Packets lost or given up (all causes)</td><td class='n'>%llu</td></tr>",
            r->cur.loss ? " class='attn'" : "", (unsigned long long)r->cur.loss);
    for (unsigned i = 0; i < r->nloss; i++)
        if (r->loss_vals[i])
            fprintf(f, "<tr><td>&nbsp;&nbsp;%s</td><td class='n'>%llu</td></tr>", r->loss_names[i],
                    (unsigned long long)r->loss_vals[i]);
    fprintf(f, "<tr><td>Store detail dropped</td><td class='n'>%llu</td></tr></table>\n",
            (unsigned long long)r->detail_dropped);
    fputs("<p class='muted'>Errors are responses whose RCODE is not NOERROR. The error/query "
          "ratio is errors divided by queries. A change is a run of intervals with at least 100 "
          "queries whose ratio is at least twice the baseline and 5 points above it, or half of "
          "it and 5 points below. \"Not observed: no source\" means no input covered the item "
          "in this period.</p>\n</body></html>\n",
          f);
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int rep_write(const struct rep_opts *o, FILE *out, char *err, size_t errlen)
{
    struct rep *r = calloc(1, sizeof(*r));
    sqlite3 *db = NULL;
    db_store *s;
    int rc = 0;

    if (!r)
        return ERR_NOMEM;
    r->o = o;
    r->top_n = o->top_n;
    r->from_ns = o->from_ns;
    r->to_ns = o->to_ns;
    r->db_path = o->db_path;
    r->xfr = calloc(MAX_ITEMS, sizeof(*r->xfr));
    r->zones = calloc(MAX_ITEMS, sizeof(*r->zones));
    r->alerts = calloc(MAX_ITEMS, sizeof(*r->alerts));
    if (!r->xfr || !r->zones || !r->alerts) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (o->generated_ns) {
        r->generated = o->generated_ns;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r->generated = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
    if (sqlite3_open_v2(o->db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", o->db_path, sqlite3_errmsg(db));
        rc = ERR_DB;
        goto out;
    }
    if (schema_version(db) != DB_SCHEMA_VERSION) {
        /* Opening through the store upgrades an older schema (or refuses a newer one). */
        sqlite3_close(db);
        db = NULL;
        s = db_open(o->db_path, err, errlen);
        if (!s) {
            rc = ERR_DB;
            goto out;
        }
        db_close(s);
        if (sqlite3_open_v2(o->db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", o->db_path, sqlite3_errmsg(db));
            rc = ERR_DB;
            goto out;
        }
    }
    sqlite3_busy_timeout(db, 10000);
    /* One read transaction: every figure comes from the same snapshot. */
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    rc = db_report_collect(db, r, err, errlen);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc < 0)
        goto out;
    if (o->format == REP_JSON)
        write_json(r, out);
    else if (o->format == REP_HTML)
        write_html(r, out);
    else
        write_text(r, out);
out:
    sqlite3_close(db);
    if (r) {
        free(r->xfr);
        free(r->zones);
        free(r->alerts);
    }
    free(r);
    return rc;
}
