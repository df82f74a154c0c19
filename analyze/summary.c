/* SPDX-License-Identifier: MIT */
/* Human and JSON summaries. The names of types, RCODEs and opcodes come from
 * common/dnsnum.h. */
#include "summary.h"

#include "../common/json.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <string.h>
#include <time.h>

#define DV_VERSION_STR "0.1.0"

void summary_time(uint64_t ts_ns, char *buf, size_t bufsz)
{
    time_t sec = (time_t)(ts_ns / 1000000000u);
    struct tm tm;
    char base[24];

    gmtime_r(&sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, bufsz, "%s.%06uZ", base, (unsigned)((ts_ns % 1000000000u) / 1000u));
}

static void json_capture(struct json *j, const struct summary_in *in)
{
    const char *group = NULL;

    json_obj_begin(j, "capture");
    json_u64(j, "inputs", in->ninputs);
    json_u64(j, "input_errors", in->input_errors);
    if (in->filter)
        json_str(j, "filter", in->filter);
    for (int c = 0; c < CAP_COUNTER_N; c++) {
        const char *g = cap_counter_group((enum cap_counter)c);
        uint64_t v = in->cap->c[c];
        if (c == CAP_FILTERED)
            v = in->filtered;
        if (g[0] && (!group || strcmp(g, group) != 0)) {
            if (group)
                json_obj_end(j);
            json_obj_begin(j, g);
            group = g;
        } else if (!g[0] && group) {
            json_obj_end(j);
            group = NULL;
        }
        json_u64(j, cap_counter_name((enum cap_counter)c), v);
    }
    if (group)
        json_obj_end(j);
    json_obj_end(j);
}

static void json_dns(struct json *j, const struct dns_stats *st)
{
    char name[32];

    json_obj_begin(j, "dns");
    json_u64(j, "messages", st->messages);
    json_u64(j, "queries", st->queries);
    json_u64(j, "responses", st->responses);
    json_u64(j, "udp", st->udp);
    json_u64(j, "tcp", st->tcp);
    json_u64(j, "ipv4", st->ipv4);
    json_u64(j, "ipv6", st->ipv6);
    json_u64(j, "from_fragments", st->reassembled);
    json_obj_begin(j, "opcode");
    for (unsigned i = 0; i < 16; i++) {
        if (!st->opcode[i])
            continue;
        const char *n = dns_opcode_name(i);
        if (n)
            snprintf(name, sizeof(name), "%s", n);
        else
            snprintf(name, sizeof(name), "OPCODE%u", i);
        json_u64(j, name, st->opcode[i]);
    }
    json_obj_end(j);
    json_obj_begin(j, "rcode");
    for (unsigned i = 0; i < 4096; i++) {
        if (!st->rcode[i])
            continue;
        dns_rcode_str(i, name, sizeof(name));
        json_u64(j, name, st->rcode[i]);
    }
    json_obj_end(j);
    json_obj_begin(j, "qtype");
    for (unsigned i = 0; i < 65536; i++) {
        if (!st->qtype[i])
            continue;
        dns_type_str(i, name, sizeof(name));
        json_u64(j, name, st->qtype[i]);
    }
    json_obj_end(j);
    json_u64(j, "qclass_not_in", st->qclass_other);
    json_obj_begin(j, "flags");
    json_u64(j, "aa", st->flag_aa);
    json_u64(j, "tc", st->flag_tc);
    json_u64(j, "rd", st->flag_rd);
    json_u64(j, "ra", st->flag_ra);
    json_u64(j, "ad", st->flag_ad);
    json_u64(j, "cd", st->flag_cd);
    json_obj_end(j);
    json_obj_begin(j, "edns");
    json_u64(j, "messages", st->edns);
    json_u64(j, "do", st->edns_do);
    json_u64(j, "version_not_0", st->edns_version_nonzero);
    json_obj_begin(j, "options");
    for (unsigned b = 0; b < STATS_EDNS_OPTS; b++)
        json_u64(j, dns_stats_edns_opt_name(b), st->edns_opt[b]);
    json_obj_end(j);
    json_obj_begin(j, "ede");
    for (unsigned i = 0; i < 32; i++) {
        if (!st->ede[i])
            continue;
        snprintf(name, sizeof(name), i == 31 ? "31+" : "%u", i);
        json_u64(j, name, st->ede[i]);
    }
    json_obj_end(j);
    json_obj_end(j);
    json_u64(j, "tsig", st->tsig);
    json_obj_begin(j, "malformed");
    for (unsigned r = 1; r < DNS_MAL_COUNT; r++)
        json_u64(j, dns_malformed_name((enum dns_malformed)r), st->malformed[r]);
    json_u64(j, "total", st->malformed_total);
    json_obj_end(j);
    json_obj_end(j);
}

static void json_ms(struct json *j, const char *key, uint64_t us)
{
    json_double(j, key, (double)us / 1000.0, 3);
}

static void json_latency(struct json *j, const char *key, uint64_t samples, uint64_t p50,
                         uint64_t p95, uint64_t p99, const uint64_t *max)
{
    json_obj_begin(j, key);
    json_u64(j, "samples", samples);
    if (samples) {
        json_ms(j, "p50", p50);
        json_ms(j, "p95", p95);
        json_ms(j, "p99", p99);
        if (max)
            json_ms(j, "max", *max);
    } else {
        json_null(j, "p50");
        json_null(j, "p95");
        json_null(j, "p99");
        if (max)
            json_null(j, "max");
    }
    json_obj_end(j);
}

static void size_bucket_name(unsigned b, char *buf, size_t n)
{
    if (b == WIN_SIZE_BUCKETS - 1)
        snprintf(buf, n, "%u+", win_size_bounds[b - 1] + 1);
    else
        snprintf(buf, n, "%u-%u", b ? win_size_bounds[b - 1] + 1 : 0, win_size_bounds[b]);
}

static void json_sizes(struct json *j, const uint64_t *h)
{
    char name[32];
    json_obj_begin(j, "response_size");
    for (unsigned b = 0; b < WIN_SIZE_BUCKETS; b++) {
        size_bucket_name(b, name, sizeof(name));
        json_u64(j, name, h[b]);
    }
    json_obj_end(j);
}

static void json_outcomes(struct json *j, const uint64_t *o, const struct flow_counts *fc)
{
    json_obj_begin(j, "transactions");
    for (int i = 0; i < FLOW_OUTCOME_N; i++)
        json_u64(j, flow_outcome_name((enum flow_outcome)i), o[i]);
    if (fc) {
        json_u64(j, "query_retransmits", fc->query_retransmits);
        json_u64(j, "late_evicted", fc->late_evicted);
    }
    json_obj_end(j);
}

static void json_loss(struct json *j, const uint64_t *loss, const struct dispatch *d)
{
    json_obj_begin(j, "loss");
    for (int i = 0; i < LOSS_N; i++)
        json_u64(j, loss_name((enum loss_counter)i), loss[i]);
    if (d) {
        json_u64(j, "windows_dropped", d->wins_dropped);
        if (d->wins_skipped)
            json_u64(j, "windows_skipped", d->wins_skipped);
    }
    json_obj_end(j);
}

/* Presentation of a top-list key: an address (4/16 bytes) or a wire name. */
static void key_text(const struct topn_item *it, bool name, char *buf, size_t n)
{
    if (name)
        dns_name_to_str(it->key, it->keylen, buf, n);
    else
        inet_ntop(it->keylen == 4 ? AF_INET : AF_INET6, it->key, buf, (socklen_t)n);
}

static void json_top(struct json *j, const char *key, const struct topn *t, bool name, unsigned max)
{
    const struct topn_item *items[256];
    size_t n = topn_top(t, items, max > 256 ? 256 : max);
    char text[1100];

    json_arr_begin(j, key);
    for (size_t i = 0; i < n; i++) {
        key_text(items[i], name, text, sizeof(text));
        json_obj_begin(j, NULL);
        json_str(j, "name", text);
        json_u64(j, "count", items[i]->count);
        json_u64(j, "error", items[i]->error);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void json_window(struct json *j, const struct win_stats *w, bool logs)
{
    char name[40];

    json_obj_begin(j, NULL);
    summary_time(w->start_ns, name, sizeof(name));
    json_str(j, "start", name);
    summary_time(w->end_ns, name, sizeof(name));
    json_str(j, "end", name);
    json_u64(j, "queries", w->queries);
    json_u64(j, "responses", w->responses);
    json_u64(j, "udp", w->udp);
    json_u64(j, "tcp", w->tcp);
    json_u64(j, "ipv4", w->ipv4);
    json_u64(j, "ipv6", w->ipv6);
    json_u64(j, "edns", w->edns);
    json_u64(j, "do", w->edns_do);
    json_u64(j, "tc", w->tc);
    json_u64(j, "edns_errors", w->edns_errors);
    json_obj_begin(j, "rcode");
    for (unsigned i = 0; i < WIN_RCODES; i++) {
        if (!w->rcode[i])
            continue;
        if (i == WIN_RCODES - 1)
            snprintf(name, sizeof(name), "other");
        else
            dns_rcode_str(i, name, sizeof(name));
        json_u64(j, name, w->rcode[i]);
    }
    json_obj_end(j);
    json_obj_begin(j, "qtype");
    for (unsigned i = 0; i < WIN_QTYPES; i++)
        if (w->qtype[i])
            json_u64(j, win_qtype_name(i), w->qtype[i]);
    json_obj_end(j);
    json_outcomes(j, w->outcome, NULL);
    json_latency(j, "latency", w->latency_samples, w->p50_us, w->p95_us, w->p99_us, NULL);
    json_u64(j, "malformed", w->malformed);
    json_sizes(j, w->resp_size);
    json_loss(j, w->loss, NULL);
    if (logs) {
        json_obj_begin(j, "logs");
        json_obj_begin(j, "events");
        for (int i = 0; i < SL_KINDS; i++)
            json_u64(j, srvlog_kind_name((enum srvlog_kind)i), w->log_events[i]);
        json_obj_end(j);
        json_obj_end(j);
    }
    json_obj_end(j);
}

static void json_analysis(struct json *j, const struct summary_in *in)
{
    const struct dispatch *d = in->disp;
    struct flow_counts fc;
    uint64_t p50 = 0, p95 = 0, p99 = 0, loss[LOSS_N];

    flow_get_counts(d->flow, &fc);
    json_outcomes(j, fc.outcome, &fc);
    hist_percentile(&d->lat_total, 50, &p50);
    hist_percentile(&d->lat_total, 95, &p95);
    hist_percentile(&d->lat_total, 99, &p99);
    json_latency(j, "latency", d->lat_total.count, p50, p95, p99, &d->lat_total.max_us);
    json_sizes(j, d->resp_size);
    loss_snapshot(d->cap, d->stats.malformed_total, fc.outcome[FLOW_EVICTED], loss);
    loss[LOSS_KERNEL_DROPS] = in->cap->kernel_drops;
    json_loss(j, loss, d);
    json_obj_begin(j, "top");
    json_top(j, "clients", &d->clients, false, in->top_n);
    json_top(j, "servers", &d->servers, false, in->top_n);
    json_top(j, "qnames", &d->qnames, true, in->top_n);
    json_top(j, "registered_domains", &d->regdoms, true, in->top_n);
    json_u64(j, "sketch_counters", d->cfg.top_k);
    json_obj_end(j);
    json_obj_begin(j, "distinct");
    json_u64(j, "clients", hll_estimate(&d->hll_clients));
    json_u64(j, "qnames", hll_estimate(&d->hll_qnames));
    json_u64(j, "registered_domains", hll_estimate(&d->hll_regdoms));
    json_obj_end(j);
    if (in->windows) {
        json_u64(j, "window_seconds", d->cfg.window_ns / 1000000000u);
        json_arr_begin(j, "windows");
        for (uint32_t i = 0; i < d->nwins; i++)
            json_window(j, disp_window(d, i), in->logs);
        json_arr_end(j);
    }
}

void summary_json(FILE *f, const struct summary_in *in)
{
    struct json j;
    char t[40];

    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    json_obj_begin(&j, "dnsvigil");
    json_str(&j, "version", DV_VERSION_STR);
    json_u64(&j, "schema", 1);
    json_obj_end(&j);
    json_arr_begin(&j, "inputs");
    for (unsigned i = 0; i < in->ninputs; i++)
        json_str(&j, NULL, in->inputs[i]);
    json_arr_end(&j);
    json_obj_begin(&j, "time");
    if (in->dns->messages) {
        summary_time(in->dns->first_ns, t, sizeof(t));
        json_str(&j, "first", t);
        summary_time(in->dns->last_ns, t, sizeof(t));
        json_str(&j, "last", t);
        json_double(&j, "duration_s", (double)(in->dns->last_ns - in->dns->first_ns) / 1e9, 6);
    } else {
        json_null(&j, "first");
        json_null(&j, "last");
        json_double(&j, "duration_s", 0, 6);
    }
    json_obj_end(&j);
    json_capture(&j, in);
    json_dns(&j, in->dns);
    if (in->disp)
        json_analysis(&j, in);
    if (in->extra_json)
        in->extra_json(in->extra_arg, &j);
    json_obj_end(&j);
    json_finish(&j);
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Appends item to a labelled line at column *col; the ", " separator goes before an item,
 * so a wrapped line never ends in one. first says whether this is the line's first item. */
static void wrap_item(FILE *f, unsigned *col, const char *item, bool first)
{
    unsigned len = (unsigned)strlen(item);

    if (!first) {
        if (*col + 2 + len > 79) {
            fprintf(f, ",\n  %-19s", "");
            *col = 21;
        } else {
            fputs(", ", f);
            *col += 2;
        }
    }
    fputs(item, f);
    *col += len;
}

/* Prints up to max "NAME count (pct%)" items of a histogram, largest first, wrapped. */
static void top_line(FILE *f, const char *label, const uint64_t *h, unsigned n, uint64_t whole,
                     void (*namef)(unsigned, char *, size_t), unsigned max)
{
    bool used[64] = {false};
    unsigned idx[64], k = 0, col;

    if (max > 64)
        max = 64;
    for (; k < max; k++) {
        unsigned best = n;
        for (unsigned i = 0; i < n; i++) {
            bool taken = false;
            if (!h[i])
                continue;
            for (unsigned q = 0; q < k; q++)
                taken |= idx[q] == i && used[q];
            if (!taken && (best == n || h[i] > h[best]))
                best = i;
        }
        if (best == n)
            break;
        idx[k] = best;
        used[k] = true;
    }
    col = (unsigned)fprintf(f, "  %-19s", label);
    if (k == 0)
        fputs("none", f);
    for (unsigned q = 0; q < k; q++) {
        char name[32], item[80];
        namef(idx[q], name, sizeof(name));
        snprintf(item, sizeof(item), "%s %llu (%.1f%%)", name, (unsigned long long)h[idx[q]],
                 pct(h[idx[q]], whole));
        wrap_item(f, &col, item, q == 0);
    }
    fputc('\n', f);
}

void summary_text(FILE *f, const struct summary_in *in)
{
    const struct dns_stats *st = in->dns;
    const struct cap_stats *cs = in->cap;
    char t1[40], t2[40];

    fprintf(f, "dnsvigil analyze: %u input%s, %llu packets, %llu bytes", in->ninputs,
            in->ninputs == 1 ? "" : "s", (unsigned long long)cs->c[CAP_PACKETS],
            (unsigned long long)cs->c[CAP_BYTES]);
    if (in->input_errors)
        fprintf(f, " (%u input%s damaged or unreadable: see the errors above)", in->input_errors,
                in->input_errors == 1 ? "" : "s");
    fputc('\n', f);
    if (st->messages) {
        summary_time(st->first_ns, t1, sizeof(t1));
        summary_time(st->last_ns, t2, sizeof(t2));
        fprintf(f, "  first message      %s\n  last message       %s (%.3f s later)\n", t1, t2,
                (double)(st->last_ns - st->first_ns) / 1e9);
    }
    fprintf(f, "\nDNS messages         %llu (UDP %llu, TCP %llu; IPv4 %llu, IPv6 %llu)\n",
            (unsigned long long)st->messages, (unsigned long long)st->udp,
            (unsigned long long)st->tcp, (unsigned long long)st->ipv4,
            (unsigned long long)st->ipv6);
    fprintf(f, "  queries            %llu\n", (unsigned long long)st->queries);
    fprintf(f, "  responses          %llu\n", (unsigned long long)st->responses);
    top_line(f, "response codes", st->rcode, 4096, st->responses, dns_rcode_str, 8);
    top_line(f, "query types", st->qtype, 65536, st->queries, dns_type_str, 10);
    fprintf(f, "  EDNS               %llu messages (%.1f%%), DO %llu, version>0 %llu\n",
            (unsigned long long)st->edns, pct(st->edns, st->queries + st->responses),
            (unsigned long long)st->edns_do, (unsigned long long)st->edns_version_nonzero);
    fprintf(f, "  flags              TC %llu, AA %llu, RD %llu, RA %llu, AD %llu, CD %llu\n",
            (unsigned long long)st->flag_tc, (unsigned long long)st->flag_aa,
            (unsigned long long)st->flag_rd, (unsigned long long)st->flag_ra,
            (unsigned long long)st->flag_ad, (unsigned long long)st->flag_cd);
    fprintf(f, "  malformed          %llu", (unsigned long long)st->malformed_total);
    for (unsigned r = 1, first = 1; r < DNS_MAL_COUNT; r++) {
        if (!st->malformed[r])
            continue;
        fprintf(f, "%s%s %llu", first ? ": " : ", ", dns_malformed_name((enum dns_malformed)r),
                (unsigned long long)st->malformed[r]);
        first = 0;
    }
    fputc('\n', f);

    if (in->disp) {
        const struct dispatch *d = in->disp;
        struct flow_counts fc;
        uint64_t p50 = 0, p95 = 0, p99 = 0;
        static const char *const labels[] = {"top clients", "top servers", "top names",
                                             "top domains"};
        const struct topn *tops[] = {&d->clients, &d->servers, &d->qnames, &d->regdoms};

        flow_get_counts(d->flow, &fc);
        fprintf(f,
                "\nTransactions         %llu answered, %llu unanswered, %llu unsolicited,\n"
                "                     %llu duplicate, %llu question mismatch, %llu evicted,\n"
                "                     %llu late (answers after the time-out)\n",
                (unsigned long long)fc.outcome[FLOW_ANSWERED],
                (unsigned long long)fc.outcome[FLOW_UNANSWERED],
                (unsigned long long)fc.outcome[FLOW_UNSOLICITED],
                (unsigned long long)fc.outcome[FLOW_DUPLICATE],
                (unsigned long long)fc.outcome[FLOW_MISMATCH],
                (unsigned long long)fc.outcome[FLOW_EVICTED],
                (unsigned long long)fc.outcome[FLOW_LATE]);
        if (hist_percentile(&d->lat_total, 50, &p50)) {
            hist_percentile(&d->lat_total, 95, &p95);
            hist_percentile(&d->lat_total, 99, &p99);
            fprintf(f, "  latency            p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n",
                    (double)p50 / 1000.0, (double)p95 / 1000.0, (double)p99 / 1000.0);
        }
        fprintf(f, "  distinct           %llu clients, %llu names, %llu registered domains\n",
                (unsigned long long)hll_estimate(&d->hll_clients),
                (unsigned long long)hll_estimate(&d->hll_qnames),
                (unsigned long long)hll_estimate(&d->hll_regdoms));
        for (int l = 0; l < 4; l++) {
            const struct topn_item *items[5];
            size_t n = topn_top(tops[l], items, 5);
            unsigned col = 21;
            fprintf(f, "  %-19s", labels[l]);
            if (n == 0)
                fputs("none", f);
            for (size_t i = 0; i < n; i++) {
                char text[1100], item[1200];
                key_text(items[i], l >= 2, text, sizeof(text));
                if (strlen(text) > 40)
                    memcpy(text + 37, "...", 4);
                snprintf(item, sizeof(item), "%s %llu", text, (unsigned long long)items[i]->count);
                wrap_item(f, &col, item, i == 0);
            }
            fputc('\n', f);
        }
    }

    if (in->extra_text)
        in->extra_text(in->extra_arg, f);

    fprintf(f, "\nCapture\n");
    fprintf(f, "  not DNS            %llu not IP, %llu other protocol, %llu other port\n",
            (unsigned long long)cs->c[CAP_LINK_NOT_IP],
            (unsigned long long)cs->c[CAP_IP_OTHER_PROTO],
            (unsigned long long)(cs->c[CAP_UDP_OTHER_PORT] + cs->c[CAP_TCP_OTHER_PORT]));
    fprintf(f,
            "  damaged            %llu cut by snap length, %llu bad link, %llu bad IP,\n"
            "                     %llu bad UDP/TCP\n",
            (unsigned long long)cs->c[CAP_SNAPLEN_TRUNCATED],
            (unsigned long long)(cs->c[CAP_LINK_SHORT] + cs->c[CAP_LINK_UNSUPPORTED]),
            (unsigned long long)(cs->c[CAP_IP_BAD_HEADER] + cs->c[CAP_IP_TRUNCATED]),
            (unsigned long long)(cs->c[CAP_UDP_BAD] + cs->c[CAP_TCP_BAD]));
    fprintf(f,
            "  fragments          %llu received, %llu reassembled, %llu timed out,\n"
            "                     %llu evicted, %llu overlapping\n",
            (unsigned long long)cs->c[CAP_FRAG_FRAGMENTS],
            (unsigned long long)cs->c[CAP_FRAG_REASSEMBLED],
            (unsigned long long)cs->c[CAP_FRAG_TIMEOUT],
            (unsigned long long)cs->c[CAP_FRAG_EVICTED],
            (unsigned long long)cs->c[CAP_FRAG_OVERLAP]);
    fprintf(f,
            "  TCP                %llu streams, %llu messages, %llu aborted mid-message,\n"
            "                     %llu reset, %llu evicted, %llu gave up\n",
            (unsigned long long)cs->c[CAP_TCP_STREAMS], (unsigned long long)cs->c[CAP_TCP_MESSAGES],
            (unsigned long long)cs->c[CAP_TCP_ABORTED], (unsigned long long)cs->c[CAP_TCP_RESET],
            (unsigned long long)cs->c[CAP_TCP_EVICTED], (unsigned long long)cs->c[CAP_TCP_GAVE_UP]);
    if (in->filter)
        fprintf(f, "  filter             '%s' rejected %llu frames\n", in->filter,
                (unsigned long long)in->filtered);
}
