/* SPDX-License-Identifier: MIT */
/* dnsvigil's command line: parses arguments and wires capture -> analyze -> output.
 * No analysis happens here. */
#include "analyze/dispatch.h"
#include "analyze/dns.h"
#include "analyze/stats.h"
#include "common/duration.h"
#include "store/store.h"
#include "analyze/summary.h"
#include "capture/cap.h"
#include "capture/dnstap.h"
#include "capture/srvlog.h"
#include "capture/evidence.h"
#include "capture/source.h"
#include "report/report.h"
#include "store/feed.h"
#include "watch.h"
#include "rules/config.h"
#include "rules/engine.h"
#include "rules/registry.h"
#include "export/alerts.h"
#include "common/err.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DV_VERSION "0.1.0"

/* Exit statuses (documented in --help, the man page and the README). */
enum {
    EXIT_OK = 0,       /* every input read to its end */
    EXIT_INPUT = 1,    /* some input missing, unreadable or damaged; results cover the rest */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_INTERNAL = 3, /* out of memory, output not writable */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage_main(FILE *f)
{
    fputs("Usage: dnsvigil COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Passive DNS traffic analyzer: decodes DNS traffic from captures, counts queries,\n"
          "responses, response codes, query types, EDNS use and malformed messages, and\n"
          "accounts for every packet it could not use.\n"
          "\n"
          "Commands:\n"
          "  analyze FILE...   analyze pcap/pcapng captures (plain, .gz, .xz, .lz4, .zst, or -)\n"
          "  watch -i IFACE    the live sensor: capture, live view, alerts, store, metrics\n"
          "  watch -r FILE     replay a capture through the live path (--speed N)\n"
          "  rules             list the detection rules, their references and thresholds\n"
          "  config --defaults print every setting with its default (a valid config file)\n"
          "  report            the ISO's security-event report from the store (text, HTML, JSON)\n"
          "  db COMMAND        maintain the store: info, prune --retain AGE, vacuum\n"
          "  help [COMMAND]    show help for a command\n"
          "\n"
          "Options:\n"
          "  -h, --help        show this help\n"
          "  -V, --version     show the version\n"
          "\n"
          "Run 'dnsvigil analyze --help' for the options of analyze. See dnsvigil(1).\n",
          f);
}

static void usage_analyze(FILE *f)
{
    fputs(
        "Usage: dnsvigil analyze [OPTIONS] FILE...\n"
        "\n"
        "Reads the captures, decodes every DNS message over UDP and TCP (with IP fragment\n"
        "and TCP stream reassembly), matches responses to queries, and prints a summary. Several "
        "files are merged into one\n"
        "stream in timestamp order. FILE may be '-' for standard input. Compression (gzip,\n"
        "xz, lz4, zstd) is recognised by content.\n"
        "\n"
        "Options:\n"
        "  -f, --filter EXPR    only frames matching the BPF expression (tcpdump syntax)\n"
        "  -p, --ports LIST     DNS ports, comma-separated (default: 53)\n"
        "  -j, --json           write the JSON document (docs/json-schema.md) instead of text\n"
        "  -o, --output FILE    write the result to FILE instead of standard output\n"
        "      --progress       always show progress on standard error\n"
        "      --no-progress    never show progress (default: only when stderr is a terminal)\n"
        "  -c, --config FILE    site and rule settings (INI; see 'dnsvigil config --defaults')\n"
        "      --alerts-jsonl FILE  stream alerts as JSON lines (open/update/closed) to FILE\n"
        "      --no-rules       decode and count only; no detection rules\n"
        "      --evidence-dir DIR  write the packets behind each alert to DIR/<rule>-<key>-N.pcap\n"
        "      --evidence-packets N  frames kept before, and written after, an alert opens\n"
        "                       (default 1000)\n"
        "      --db PATH        keep windows, alerts, passive DNS, zones and transfers in the\n"
        "                       SQLite database PATH (created or upgraded; the same input\n"
        "                       analysed again replaces its earlier run)\n"
        "      --retain AGE     with --db: delete data older than AGE (e.g. 90d, 12h, 2w)\n"
        "                       before the newest window in the database\n"
        "      --db-shed        with --db: let the writer shed passive DNS it cannot keep up\n"
        "                       with (counted in store.dropped) instead of making the\n"
        "                       analysis wait. By default a file's store is complete:\n"
        "                       every answer, zone and transfer, the same rows every time\n"
        "      --db-complete    with --db: the default (kept for old scripts)\n"
        "  -w, --windows        add per-window figures (the windows array) to the JSON\n"
        "      --window SEC     window length in seconds (default 60)\n"
        "      --timeout SEC    packet time a query waits for its response (default 5)\n"
        "      --top N          entries per top list (default 10)\n"
        "      --max-pending N  queries tracked at once (default 131072)\n"
        "      --tcp-streams N  TCP connections tracked at once (default 8192)\n"
        "      --frag-slots N   IP datagrams reassembled at once (default 256)\n"
        "      --threads N      1: everything on one thread; 2: the flow store, the rules and\n"
        "                       the store's feed run on a second thread fed through a ring\n"
        "                       (default 2 on a machine with two or more cores, else 1;\n"
        "                       always 1 with --evidence-dir). The output is the same\n"
        "                       either way\n"
        "      --log-format F   server logs among the inputs are auto-detected (BIND, Unbound,\n"
        "                       NSD, Knot; files or syslog); F = bind, unbound, nsd or knot\n"
        "                       forces the format of lines that do not say\n"
        "  -v, --verbose        more diagnostics on standard error\n"
        "  -q, --quiet          only errors on standard error\n"
        "  -h, --help           show this help\n"
        "\n"
        "Inputs may mix pcap/pcapng captures, dnstap files (Frame Streams) and DNS server logs.\n"
        "\n"
        "Exit status:\n"
        "  0  every input was read to its end\n"
        "  1  an input was missing, unreadable, not a capture, or damaged (truncated or\n"
        "     corrupt); the error names the file and byte offset, and the summary still\n"
        "     covers everything read before the damage and all other inputs\n"
        "  2  the command line is wrong\n"
        "  3  internal error (out of memory, output not writable)\n"
        "\n"
        "Examples:\n"
        "  dnsvigil analyze capture.pcap\n"
        "  dnsvigil analyze --json -o summary.json day1.pcapng.gz day2.pcapng.zst\n"
        "  tcpdump -i eth1 -w - port 53 | dnsvigil analyze -\n"
        "  dnsvigil analyze -f 'host 192.0.2.53' -p 53,5353 capture.pcap\n",
        f);
}

/* What the summary adds after the analysis figures: alerts and the store's account. */
struct extras {
    const uint64_t *dnstap;            /* CAP_DT_N counters, NULL without dnstap input */
    const struct cap_log_totals *logs; /* NULL without log input */
    const struct engine *eng;
    const db_store *db;
    const char *db_path, *run_key;
    uint64_t retained;
};

static void extras_json(const void *arg, struct json *j)
{
    const struct extras *x = arg;
    if (x->dnstap) {
        json_obj_begin(j, "dnstap");
        for (int i = 0; i < CAP_DT_N; i++)
            json_u64(j, cap_dnstap_counter_name((enum cap_dnstap_counter)i), x->dnstap[i]);
        json_obj_end(j);
    }
    if (x->logs) {
        json_obj_begin(j, "logs");
        json_u64(j, "files", x->logs->files);
        json_u64(j, "lines", x->logs->lines);
        json_obj_begin(j, "events");
        for (int i = 0; i < SL_KINDS; i++)
            json_u64(j, srvlog_kind_name((enum srvlog_kind)i), x->logs->events[i]);
        json_obj_end(j);
        json_obj_begin(j, "skipped");
        for (int i = 0; i < SL_SKIPS; i++)
            json_u64(j, srvlog_skip_name((enum srvlog_skip)i), x->logs->skips[i]);
        json_obj_end(j);
        json_str(j, "unparsed_sample", x->logs->sample);
        json_obj_end(j);
    }
    if (x->eng)
        engine_json(x->eng, j);
    if (x->db)
        feed_store_json(j, x->db, x->db_path, x->run_key, x->retained);
}

static void extras_text(const void *arg, FILE *f)
{
    const struct extras *x = arg;
    if (x->dnstap) {
        fputs("\ndnstap", f);
        for (int i = 0; i < CAP_DT_N; i++)
            fprintf(f, "%s %llu %s", i ? "," : "", (unsigned long long)x->dnstap[i],
                    cap_dnstap_counter_name((enum cap_dnstap_counter)i));
        fputc('\n', f);
    }
    if (x->logs) {
        fprintf(f, "\nServer logs: %u files, %llu lines\n  events  ", x->logs->files,
                (unsigned long long)x->logs->lines);
        for (int i = 0, col = 10; i < SL_KINDS; i++) {
            char item[64];
            if (!x->logs->events[i])
                continue;
            snprintf(item, sizeof(item), "%s %llu", srvlog_kind_name((enum srvlog_kind)i),
                     (unsigned long long)x->logs->events[i]);
            if (col + (int)strlen(item) + 2 > 78) {
                fputs("\n          ", f);
                col = 10;
            }
            col += fprintf(f, "%s  ", item);
        }
        fprintf(f,
                "\n  skipped %llu ignored, %llu without time stamp, %llu other programs, %llu "
                "UNPARSED, %llu too long\n",
                (unsigned long long)x->logs->skips[SL_SKIP_IGNORED],
                (unsigned long long)x->logs->skips[SL_SKIP_NO_TIMESTAMP],
                (unsigned long long)x->logs->skips[SL_SKIP_OTHER_PROGRAM],
                (unsigned long long)x->logs->skips[SL_SKIP_UNPARSED],
                (unsigned long long)x->logs->skips[SL_SKIP_TOO_LONG]);
        if (x->logs->sample[0])
            fprintf(f, "  unparsed sample: %.68s\n", x->logs->sample);
    }
    if (x->eng)
        engine_text(x->eng, f);
    if (x->db) {
        const struct db_stats *st = db_get_stats(x->db);
        uint64_t dropped = 0;
        for (int i = 0; i < DB_DROP_N; i++)
            dropped += st->dropped[i];
        fprintf(f,
                "\nstore: %s (run %.12s): %llu rows in %llu batches, %llu windows, %llu new "
                "RRsets, %llu transfers\n",
                x->db_path, x->run_key, (unsigned long long)st->rows,
                (unsigned long long)st->batches, (unsigned long long)st->windows,
                (unsigned long long)st->pdns_new,
                (unsigned long long)(st->xfr_ok + st->xfr_failed));
        if (dropped)
            fprintf(f, "store: DETAIL DROPPED: %llu records (the writer fell behind)\n",
                    (unsigned long long)dropped);
        if (x->retained)
            fprintf(f, "store: retention removed %llu old rows\n", (unsigned long long)x->retained);
    }
}

/* The evidence ring takes every frame and writes a file for each alert that opens. */
static void evidence_frame(void *user, const struct disp_frame *f)
{
    evid_frame(user, f->ts_ns, f->dlt, f->data, f->caplen, f->wirelen, f->af, f->src, f->dst);
}

static void evidence_alert(void *user, struct engine_alert *a)
{
    const char *addrs[3] = {a->victim[0] ? a->victim : NULL, a->server[0] ? a->server : NULL,
                            a->client[0] ? a->client : NULL};
    char name[200];
    const char *path;

    if (strcmp(a->state, "open") != 0)
        return;
    snprintf(name, sizeof(name), "%s-%s", a->rule, a->key);
    if ((path = evid_open(user, name, addrs, 3)))
        a->evidence_file = path;
}

static int cmd_rules(void)
{
    for (unsigned r = 0; r < rule_registry_n; r++) {
        const struct rule_ops *ops = rule_registry[r];
        printf("%s%-15s %s\n    %s\n", r ? "\n" : "", ops->name, ops->reference, ops->summary);
        for (unsigned i = 0; ops->params && ops->params[i].key; i++) {
            const struct rule_param *p = &ops->params[i];
            if (p->type == RP_BOOL)
                printf("    %-20s %-8s %s\n", p->key, p->def ? "yes" : "no", p->help);
            else
                printf("    %-20s %-8g %s (%g..%g)\n", p->key, p->def, p->help, p->min, p->max);
        }
    }
    printf("\nSettings go in a config file (-c FILE), one [rule-name] section per rule;\n"
           "'dnsvigil config --defaults' prints a complete one.\n");
    return EXIT_OK;
}

static int cmd_config(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--defaults")) {
        config_print_defaults(stdout);
        return EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "--check")) {
        static struct dv_config c;
        char err[512];
        if (config_load(&c, argv[2], err, sizeof(err)) < 0) {
            fprintf(stderr, "dnsvigil config: %s\n", err);
            return EXIT_USAGE;
        }
        printf("%s: ok\n", argv[2]);
        return EXIT_OK;
    }
    fputs("Usage: dnsvigil config --defaults | dnsvigil config --check FILE\n", stderr);
    return EXIT_USAGE;
}

static void usage_db(FILE *f)
{
    fputs("Usage: dnsvigil db [--db PATH] COMMAND\n"
          "\n"
          "Maintains the SQLite store (default dnsvigil.db).\n"
          "\n"
          "Commands:\n"
          "  info             schema version, runs and row counts\n"
          "  prune --retain AGE  delete data older than AGE (90d, 12h, 2w) before the newest\n"
          "                   window: windows, closed alerts, passive DNS, zones, transfers,\n"
          "                   log events, and runs left empty\n"
          "  vacuum           compact the file and checkpoint the write-ahead log\n"
          "\n"
          "Exit status: 0 done, 2 bad command line, 3 the database could not be used.\n",
          f);
}

static int db_info(const char *path)
{
    char err[512];
    db_store *db = db_open(path, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "dnsvigil db: %s\n", err);
        return EXIT_INTERNAL;
    }
    db_close(db);
    return db_print_info(path, stdout) < 0 ? EXIT_INTERNAL : EXIT_OK;
}

static int cmd_db(int argc, char **argv)
{
    const char *path = "dnsvigil.db", *cmd = NULL;
    uint64_t retain = 0;
    char err[512];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage_db(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--retain") && i + 1 < argc) {
            if (!dv_parse_duration(argv[++i], &retain)) {
                fprintf(stderr, "dnsvigil db: --retain wants a duration like 90d, 12h, 2w\n");
                return EXIT_USAGE;
            }
        } else if (!cmd && argv[i][0] != '-') {
            cmd = argv[i];
        } else {
            usage_db(stderr);
            return EXIT_USAGE;
        }
    }
    if (!cmd) {
        usage_db(stderr);
        return EXIT_USAGE;
    }
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "dnsvigil db: %s: %s\n", path, strerror(errno));
        return EXIT_INTERNAL;
    }
    if (!strcmp(cmd, "vacuum")) {
        if (db_vacuum(path, err, sizeof(err)) < 0) {
            fprintf(stderr, "dnsvigil db: %s\n", err);
            return EXIT_INTERNAL;
        }
        return EXIT_OK;
    }
    if (!strcmp(cmd, "info"))
        return db_info(path);
    if (!strcmp(cmd, "prune")) {
        uint64_t deleted = 0;
        db_store *db;
        if (!retain) {
            fputs("dnsvigil db prune: --retain AGE is required\n", stderr);
            return EXIT_USAGE;
        }
        db = db_open(path, err, sizeof(err));
        if (!db) {
            fprintf(stderr, "dnsvigil db: %s\n", err);
            return EXIT_INTERNAL;
        }
        if (db_retain(db, retain, &deleted) < 0) {
            db_close(db);
            fprintf(stderr, "dnsvigil db: pruning %s failed\n", path);
            return EXIT_INTERNAL;
        }
        db_close(db);
        printf("%s: %llu rows deleted\n", path, (unsigned long long)deleted);
        return EXIT_OK;
    }
    fprintf(stderr, "dnsvigil db: unknown command '%s'\n", cmd);
    usage_db(stderr);
    return EXIT_USAGE;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static void usage_report(FILE *f)
{
    fputs("Usage: dnsvigil report [OPTIONS]\n"
          "\n"
          "Writes the Information Security Officer's security-event report (BSI IT-Grundschutz\n"
          "APP.3.6 A7 and A15) from the store: number of queries, errors by kind, EDNS errors,\n"
          "expiring zones, failed zone transfers, the error/query ratio over time and its\n"
          "changes, every alert with its evidence, top clients/servers/names and capture\n"
          "health, each compared with the previous period of the same length and marked\n"
          "with its source (packets, dnstap, logs). An item no source covered says so.\n"
          "\n"
          "Options:\n"
          "      --db PATH        the store (default dnsvigil.db)\n"
          "      --since AGE      the period is the last AGE (24h, 7d, 90m) before now\n"
          "      --from T         period start, RFC 3339 (2026-11-23T00:00:00Z)\n"
          "      --to T           period end (exclusive); default now\n"
          "                       Without --since/--from: the 24 hours up to the newest data\n"
          "                       in the store (works for captures from the past).\n"
          "      --format F       text (80 columns, default), html (one self-contained file\n"
          "                       with charts, printable) or json (docs/report.md)\n"
          "  -o, --output FILE    write to FILE instead of standard output\n"
          "      --top N          entries per top list (default 10, at most 50)\n"
          "      --now T          take T as the current time (for --since, --to and the\n"
          "                       'generated' stamp; reproducible reports)\n"
          "  -h, --help           show this help\n"
          "\n"
          "Exit status: 0 written, 2 bad command line, 3 the store could not be read or the\n"
          "output not written.\n"
          "\n"
          "Examples:\n"
          "  dnsvigil report --db /var/lib/dnsvigil/dnsvigil.db --since 24h --format html \\\n"
          "      -o /var/www/dns-report.html\n"
          "  dnsvigil report --from 2026-11-22T00:00:00Z --to 2026-11-23T00:00:00Z --format json\n",
          f);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'D'},     {"since", required_argument, NULL, 's'},
        {"from", required_argument, NULL, 'F'},   {"to", required_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"top", required_argument, NULL, 'n'},    {"now", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct rep_opts ro = {.db_path = "dnsvigil.db", .format = REP_TEXT, .top_n = 10};
    const char *output = NULL;
    uint64_t since = 0, from = 0, to = 0, now = 0;
    FILE *out = stdout;
    char err[512];
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'D':
            ro.db_path = optarg;
            break;
        case 's':
            if (!dv_parse_duration(optarg, &since)) {
                fprintf(stderr, "dnsvigil report: --since wants a duration like 24h, 7d\n");
                return EXIT_USAGE;
            }
            break;
        case 'F':
        case 'T':
        case 'N':
            if (!rep_parse_time(optarg, opt == 'F' ? &from : opt == 'T' ? &to : &now)) {
                fprintf(stderr,
                        "dnsvigil report: '%s' is not an RFC 3339 time "
                        "(like 2026-11-23T00:00:00Z)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'f':
            if (!strcmp(optarg, "text"))
                ro.format = REP_TEXT;
            else if (!strcmp(optarg, "html"))
                ro.format = REP_HTML;
            else if (!strcmp(optarg, "json"))
                ro.format = REP_JSON;
            else {
                fprintf(stderr, "dnsvigil report: --format wants text, html or json\n");
                return EXIT_USAGE;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'n':
            if (!parse_u32(optarg, 1, 50, &ro.top_n)) {
                fprintf(stderr, "dnsvigil report: --top wants 1..50\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage_report(stdout);
            return EXIT_OK;
        default:
            fputs("Try 'dnsvigil report --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsvigil report: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (since && from) {
        fputs("dnsvigil report: give either --since or --from, not both\n", stderr);
        return EXIT_USAGE;
    }
    ro.generated_ns = now ? now : now_ns();
    if (since || from || to) {
        ro.to_ns = to ? to : ro.generated_ns;
        ro.from_ns = from ? from : since ? (ro.to_ns > since ? ro.to_ns - since : 0) : 0;
        if (!from && !since)
            ro.from_ns = ro.to_ns > 86400000000000ull ? ro.to_ns - 86400000000000ull : 0;
        if (ro.from_ns >= ro.to_ns) {
            fputs("dnsvigil report: the period is empty (--from must be before --to)\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (access(ro.db_path, R_OK) != 0) {
        fprintf(stderr, "dnsvigil report: %s: %s\n", ro.db_path, strerror(errno));
        return EXIT_INTERNAL;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "dnsvigil report: cannot write %s: %s\n", output, strerror(errno));
        return EXIT_INTERNAL;
    }
    rc = rep_write(&ro, out, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "dnsvigil report: %s\n", err[0] ? err : "failed");
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "dnsvigil report: writing the report failed: %s\n", strerror(errno));
        rc = ERR_IO;
    }
    if (out != stdout)
        fclose(out);
    return rc < 0 ? EXIT_INTERNAL : EXIT_OK;
}

static double wall_now(void)
{
    struct timespec ts;
    /* Wall clock for the progress display only; analysis runs on packet time. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show_progress(const cap_reader *rd, uint64_t packets, double start, bool final)
{
    uint64_t done, total;
    double el = wall_now() - start;

    cap_reader_progress(rd, &done, &total);
    if (total)
        fprintf(stderr, "\r%5.1f%%  %.1f / %.1f MB  %llu packets  %.0f packets/s   ",
                total ? 100.0 * (double)done / (double)total : 0.0, (double)done / 1e6,
                (double)total / 1e6, (unsigned long long)packets,
                el > 0 ? (double)packets / el : 0.0);
    else
        fprintf(stderr, "\r%.1f MB  %llu packets  %.0f packets/s   ", (double)done / 1e6,
                (unsigned long long)packets, el > 0 ? (double)packets / el : 0.0);
    if (final)
        fputc('\n', stderr);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* True if path starts like a DNS server log (or is not a capture/dnstap file while a log
 * format is forced). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"filter", required_argument, NULL, 'f'},
        {"ports", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"progress", no_argument, NULL, 'P'},
        {"no-progress", no_argument, NULL, 'N'},
        {"tcp-streams", required_argument, NULL, 'T'},
        {"frag-slots", required_argument, NULL, 'F'},
        {"windows", no_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'c'},
        {"alerts-jsonl", required_argument, NULL, 'A'},
        {"no-rules", no_argument, NULL, 'R'},
        {"evidence-dir", required_argument, NULL, 'E'},
        {"evidence-packets", required_argument, NULL, 'e'},
        {"window", required_argument, NULL, 'W'},
        {"timeout", required_argument, NULL, 't'},
        {"top", required_argument, NULL, 'n'},
        {"max-pending", required_argument, NULL, 'M'},
        {"db", required_argument, NULL, 'D'},
        {"retain", required_argument, NULL, 'r'},
        {"db-complete", no_argument, NULL, 'K'},
        {"db-shed", no_argument, NULL, 'S'},
        {"log-format", required_argument, NULL, 'L'},
        {"threads", required_argument, NULL, 'X'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cap_config cfg;
    struct disp_config dcfg;
    const char *filter = NULL, *output = NULL, *config_path = NULL, *jsonl_path = NULL;
    bool json = false, windows = false, rules = true;
    static struct dv_config rcfg;
    struct engine *eng = NULL;
    FILE *jsonl = NULL;
    const char *evidence_dir = NULL;
    uint32_t evidence_packets = 1000;
    evidence *evid = NULL;
    const char *db_path = NULL;
    bool db_complete = false, db_shed = false;
    db_store *db = NULL;
    uint64_t retain_ns = 0;
    char run_key[33] = "";
    struct extras extras = {0};
    uint32_t top_n = 10, secs, threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    static struct cap_log_totals logs;
    static struct feed_logs db_logs;
    enum srvlog_format log_fmt = SRVLOG_AUTO;
    const char **inputs = NULL;
    unsigned ninputs = 0, ndt = 0, nlog = 0;
    struct cap_item it;
    int progress = -1, opt, status = EXIT_OK;
    struct dispatch *disp = NULL;
    cap_reader *rd = NULL;
    cap_decoder *dec = NULL;
    FILE *out = stdout;
    uint64_t packets = 0;
    double start, last_progress;
    char err[512];

    cap_config_defaults(&cfg);
    disp_config_defaults(&dcfg);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:p:jo:wc:vqh", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            filter = optarg;
            break;
        case 'p':
            if (cap_config_set_ports(&cfg, optarg) < 0) {
                fprintf(stderr, "dnsvigil analyze: bad port list '%s' (want e.g. 53,5353)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'o':
            output = optarg;
            break;
        case 'P':
            progress = 1;
            break;
        case 'N':
            progress = 0;
            break;
        case 'T':
            if (!parse_u32(optarg, 1, 1u << 22, &cfg.tcp_streams)) {
                fprintf(stderr, "dnsvigil analyze: --tcp-streams wants 1..4194304\n");
                return EXIT_USAGE;
            }
            break;
        case 'F':
            if (!parse_u32(optarg, 1, 65536, &cfg.frag_slots)) {
                fprintf(stderr, "dnsvigil analyze: --frag-slots wants 1..65536\n");
                return EXIT_USAGE;
            }
            break;
        case 'w':
            windows = true;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'A':
            jsonl_path = optarg;
            break;
        case 'R':
            rules = false;
            break;
        case 'E':
            evidence_dir = optarg;
            break;
        case 'e':
            if (!parse_u32(optarg, 1, 1000000, &evidence_packets)) {
                fprintf(stderr, "dnsvigil analyze: --evidence-packets wants 1..1000000\n");
                return EXIT_USAGE;
            }
            break;
        case 'W':
            if (!parse_u32(optarg, 1, 86400, &secs)) {
                fprintf(stderr, "dnsvigil analyze: --window wants 1..86400 seconds\n");
                return EXIT_USAGE;
            }
            dcfg.window_ns = (uint64_t)secs * 1000000000ull;
            break;
        case 't':
            if (!parse_u32(optarg, 1, 3600, &secs)) {
                fprintf(stderr, "dnsvigil analyze: --timeout wants 1..3600 seconds\n");
                return EXIT_USAGE;
            }
            dcfg.flow.timeout_ns = (uint64_t)secs * 1000000000ull;
            break;
        case 'n':
            if (!parse_u32(optarg, 1, 256, &top_n)) {
                fprintf(stderr, "dnsvigil analyze: --top wants 1..256\n");
                return EXIT_USAGE;
            }
            break;
        case 'M':
            if (!parse_u32(optarg, 1, 4194302, &dcfg.flow.max_pending)) {
                fprintf(stderr, "dnsvigil analyze: --max-pending wants 1..4194302\n");
                return EXIT_USAGE;
            }
            break;
        case 'D':
            db_path = optarg;
            break;
        case 'K':
            db_complete = true;
            break;
        case 'S':
            db_shed = true;
            break;
        case 'L':
            if (!srvlog_format_parse(optarg, &log_fmt)) {
                fprintf(stderr, "dnsvigil analyze: --log-format wants auto, bind, unbound, nsd "
                                "or knot\n");
                return EXIT_USAGE;
            }
            break;
        case 'X':
            if (!parse_u32(optarg, 1, 2, &threads)) {
                fprintf(stderr, "dnsvigil analyze: --threads wants 1 or 2\n");
                return EXIT_USAGE;
            }
            break;
        case 'r':
            if (!dv_parse_duration(optarg, &retain_ns)) {
                fprintf(stderr, "dnsvigil analyze: --retain wants a duration like 90d, 12h, 2w\n");
                return EXIT_USAGE;
            }
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'q':
            log_set_level(LOG_ERROR);
            break;
        case 'h':
            usage_analyze(stdout);
            return EXIT_OK;
        default:
            fputs("Try 'dnsvigil analyze --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("dnsvigil analyze: no input file given\nTry 'dnsvigil analyze --help'.\n", stderr);
        return EXIT_USAGE;
    }
    if (filter) {
        /* Check the expression once up front, so a typo is a usage error, not silence. */
        pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
        struct bpf_program prog;
        if (!dead)
            return EXIT_INTERNAL;
        if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            fprintf(stderr, "dnsvigil analyze: bad filter '%s': %s\n", filter, pcap_geterr(dead));
            pcap_close(dead);
            return EXIT_USAGE;
        }
        pcap_freecode(&prog);
        pcap_close(dead);
    }
    if (evidence_dir && access(evidence_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dnsvigil analyze: --evidence-dir %s: %s\n", evidence_dir, strerror(errno));
        return EXIT_USAGE;
    }
    if (config_load(&rcfg, config_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsvigil analyze: %s\n", err);
        return EXIT_USAGE;
    }
    if (retain_ns && !db_path) {
        fputs("dnsvigil analyze: --retain needs --db\n", stderr);
        return EXIT_USAGE;
    }
    if ((db_complete || db_shed) && !db_path) {
        fprintf(stderr, "dnsvigil analyze: --db-%s needs --db\n", db_shed ? "shed" : "complete");
        return EXIT_USAGE;
    }
    if (db_complete && db_shed) {
        fputs("dnsvigil analyze: --db-complete and --db-shed contradict each other\n", stderr);
        return EXIT_USAGE;
    }
    if (progress < 0)
        progress = isatty(STDERR_FILENO);
    raise_fd_limit();

    rd = cap_reader_new(filter);
    if (!rd)
        goto nomem;
    dec = cap_decoder_new(&cfg, disp_msg, disp_event, NULL);
    if (!dec)
        goto nomem;
    disp = disp_new(&dcfg, cap_decoder_stats(dec));
    if (!disp)
        goto nomem;
    cap_decoder_set_user(dec, disp);
    if (rules) {
        struct disp_sink sink;
        if (jsonl_path && !(jsonl = fopen(jsonl_path, "w"))) {
            log_msg(LOG_ERROR, "analyze: cannot write %s: %s", jsonl_path, strerror(errno));
            status = EXIT_INTERNAL;
            goto out;
        }
        eng = engine_new(&rcfg, err, sizeof(err));
        if (!eng) {
            log_msg(LOG_ERROR, "%s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
        engine_sink(eng, &sink);
        disp_add_sink(disp, &sink);
        if (evidence_dir) {
            struct engine_alert_sink as = {.on_alert = evidence_alert};
            struct disp_sink fs = {.on_frame = evidence_frame};
            evid = evid_new(evidence_dir, evidence_packets, evidence_packets, err, sizeof(err));
            if (!evid) {
                log_msg(LOG_ERROR, "%s", err);
                status = EXIT_INTERNAL;
                goto out;
            }
            as.user = fs.user = evid;
            engine_add_alert_sink(eng, &as);
            disp_add_sink(disp, &fs);
        }
        if (jsonl) {
            struct engine_alert_sink as;
            alerts_jsonl_sink(&jsonl, &as);
            engine_add_alert_sink(eng, &as);
        }
    }
    /* The inputs in name order: the summary and the store list them the same way whatever
     * the order of the arguments (the reader's merge does not depend on it either). */
    ninputs = (unsigned)(argc - optind);
    inputs = calloc(ninputs, sizeof(*inputs));
    if (!inputs)
        goto nomem;
    for (unsigned i = 0; i < ninputs; i++)
        inputs[i] = argv[optind + (int)i];
    qsort(inputs, ninputs, sizeof(*inputs), cmp_str);
    cap_reader_set_log_format(rd, log_fmt);
    for (unsigned i = 0; i < ninputs; i++)
        if (cap_reader_add(rd, inputs[i], err, sizeof(err)) < 0) {
            log_msg(LOG_ERROR, "%s", err);
            status = EXIT_INPUT;
        }
    if (cap_reader_inputs(rd) == 0) {
        log_msg(LOG_ERROR, "analyze: no input could be opened");
        status = EXIT_INPUT;
        goto out;
    }
    nlog = cap_reader_inputs_of(rd, CAP_IN_LOG);
    ndt = cap_reader_inputs_of(rd, CAP_IN_DNSTAP);
    if (db_path) {
        struct disp_sink sink;
        struct db_run_info ri = {0};
        char host[256] = "", list[4096] = "";
        size_t o = 0;

        db = db_open(db_path, err, sizeof(err));
        if (!db) {
            log_msg(LOG_ERROR, "analyze: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
        gethostname(host, sizeof(host) - 1);
        for (unsigned i = 0; i < ninputs && o < sizeof(list); i++)
            o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? " " : "", inputs[i]);
        db_input_key(inputs, ninputs, run_key);
        ri.run_key = run_key;
        ri.sensor = host;
        ri.source = cap_reader_inputs_of(rd, CAP_IN_CAPTURE) ? "packets" : ndt ? "dnstap" : "logs";
        ri.inputs = list;
        ri.version = DV_VERSION;
        ri.window_ns = disp->cfg.window_ns;
        ri.complete = !db_shed;
        if (db_begin_run(db, &ri, err, sizeof(err)) < 0) {
            log_msg(LOG_ERROR, "analyze: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
        db_sink(db, &sink);
        disp_add_sink(disp, &sink);
        feed_logs_sink(&db_logs, db, &sink);
        disp_add_sink(disp, &sink);
        if (eng) {
            struct engine_alert_sink as;
            feed_alert_sink(db, &as);
            engine_add_alert_sink(eng, &as);
        }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (threads == 2 && disp_pipe_start(disp, 0) < 0)
        log_msg(LOG_WARN, "analyze: no second thread (out of memory); running on one");
    start = last_progress = wall_now();
    /* One timeline: frames, dnstap messages and log events in time stamp order. */
    while (!interrupted && cap_reader_next_item(rd, &it) == 1) {
        if (it.kind == CAP_IN_DNSTAP) {
            disp_time(disp, it.ts_ns);
            disp_msg(disp, it.msg);
            continue;
        }
        if (it.kind == CAP_IN_LOG) {
            disp_log(disp, it.log);
            continue;
        }
        disp_time(disp, it.ts_ns);
        cap_decode(dec, it.pkt.dlt, it.pkt.ts_ns, it.pkt.data, it.pkt.caplen, it.pkt.wirelen);
        if (evid) {
            struct disp_frame f = {.ts_ns = it.pkt.ts_ns,
                                   .dlt = it.pkt.dlt,
                                   .caplen = it.pkt.caplen,
                                   .wirelen = it.pkt.wirelen,
                                   .data = it.pkt.data};
            f.af = cap_decoder_last_addrs(dec, &f.src, &f.dst);
            disp_frame(disp, &f);
        }
        if (progress && (++packets & 0xffff) == 0) {
            double now = wall_now();
            if (now - last_progress >= 0.5) {
                show_progress(rd, packets, start, false);
                last_progress = now;
            }
        }
    }
    /* The flow thread finishes what it was handed; from here on everything (the end of
     * input, the summary) is on this thread. */
    disp_pipe_stop(disp);
    {
        /* CPU time of the reading thread (the flow thread and the store writer run beside
         * it), and how often the hand-over found the ring full or empty. */
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        uint64_t pw, cw, fcpu;
        disp_pipe_stats(disp, &pw, &cw, &fcpu);
        log_msg(LOG_DEBUG,
                "analyze: CPU of the reading thread %.3f s, of the flow thread %.3f s; "
                "hand-over ring full %llu times, empty %llu times",
                (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9, (double)fcpu / 1e9,
                (unsigned long long)pw, (unsigned long long)cw);
    }
    if (ndt)
        extras.dnstap = cap_reader_dnstap_counters(rd);
    if (nlog) {
        cap_reader_log_totals(rd, &logs);
        extras.logs = &logs;
    }
    if (db)
        feed_logs_flush(&db_logs);
    cap_decoder_flush(dec);
    disp_finish(disp);
    if (jsonl)
        fflush(jsonl);
    if (progress)
        show_progress(rd, cap_decoder_stats(dec)->c[CAP_PACKETS], start, true);
    if (interrupted) {
        log_msg(LOG_WARN, "analyze: interrupted; the summary covers what was read so far");
        status = EXIT_INPUT;
    }
    if (cap_reader_errors(rd))
        status = EXIT_INPUT;
    if (db) {
        if (feed_end_run(db, disp, cap_decoder_stats(dec),
                         interrupted         ? "interrupted"
                         : status == EXIT_OK ? "complete"
                                             : "input-errors") < 0) {
            log_msg(LOG_ERROR, "analyze: the store %s reported errors", db_path);
            status = EXIT_INTERNAL;
        }
        if (retain_ns && db_retain(db, retain_ns, &extras.retained) < 0) {
            log_msg(LOG_ERROR, "analyze: retention on %s failed", db_path);
            status = EXIT_INTERNAL;
        }
    }

    if (output && !(out = fopen(output, "w"))) {
        log_msg(LOG_ERROR, "analyze: cannot write %s: %s", output, strerror(errno));
        status = EXIT_INTERNAL;
        goto out;
    }
    {
        struct summary_in in = {
            .disp = disp,
            .dns = &disp->stats,
            .cap = cap_decoder_stats(dec),
            .filtered = cap_reader_filtered(rd),
            .inputs = inputs,
            .ninputs = ninputs,
            .input_errors = cap_reader_errors(rd) +
                            (cap_reader_inputs(rd) < ninputs ? ninputs - cap_reader_inputs(rd) : 0),
            .logs = nlog > 0,
            .filter = filter,
            .top_n = top_n,
            .windows = windows,
            .extra_json = extras_json,
            .extra_text = extras_text,
            .extra_arg = &extras,
        };
        extras.eng = eng;
        extras.db = db;
        extras.db_path = db_path;
        extras.run_key = run_key;
        if (json)
            summary_json(out, &in);
        else
            summary_text(out, &in);
    }
    if (fflush(out) != 0 || ferror(out)) {
        log_msg(LOG_ERROR, "analyze: writing the result failed: %s", strerror(errno));
        status = EXIT_INTERNAL;
    }
    if (out != stdout)
        fclose(out);
    goto out;

nomem:
    log_msg(LOG_ERROR, "analyze: out of memory");
    status = EXIT_INTERNAL;
out:
    free(inputs);
    db_close(db);
    engine_free(eng);
    evid_free(evid);
    if (jsonl)
        fclose(jsonl);
    disp_free(disp);
    cap_decoder_free(dec);
    cap_reader_free(rd);
    return status;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("dnsvigil %s (%s)\n", DV_VERSION, pcap_lib_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc > 2 && !strcmp(argv[2], "analyze"))
            usage_analyze(stdout);
        else if (argc > 2 && !strcmp(argv[2], "report"))
            usage_report(stdout);
        else if (argc > 2 && !strcmp(argv[2], "db"))
            usage_db(stdout);
        else if (argc > 2 && !strcmp(argv[2], "watch")) {
            char *hv[] = {"watch", "--help", NULL};
            return cmd_watch(2, hv);
        } else
            usage_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "rules"))
        return cmd_rules();
    if (!strcmp(cmd, "config"))
        return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "db"))
        return cmd_db(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "watch"))
        return cmd_watch(argc - 1, argv + 1);
    fprintf(stderr, "dnsvigil: unknown command '%s'\nTry 'dnsvigil --help'.\n", cmd);
    return EXIT_USAGE;
}
