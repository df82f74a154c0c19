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
#include "run/run.h"
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

static volatile int interrupted; /* (an int is written atomically on every target) */

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

struct progress {
    const cap_reader *rd;
    double start, last;
};

static void progress_tick(void *user, uint64_t frames)
{
    struct progress *p = user;
    if ((frames & 0xffff) == 0) {
        double now = wall_now();
        if (now - p->last >= 0.5) {
            show_progress(p->rd, frames, p->start, false);
            p->last = now;
        }
    }
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
    FILE *jsonl = NULL;
    const char *evidence_dir = NULL;
    uint32_t evidence_packets = 1000;
    const char *db_path = NULL;
    bool db_complete = false, db_shed = false;
    uint64_t retain_ns = 0;
    uint32_t top_n = 10, secs, threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    enum srvlog_format log_fmt = SRVLOG_AUTO;
    int progress = -1, opt, status = EXIT_OK;
    static struct run run;
    struct progress prog = {0};
    FILE *out = stdout;
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
        struct bpf_program bpf;
        if (!dead)
            return EXIT_INTERNAL;
        if (pcap_compile(dead, &bpf, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            fprintf(stderr, "dnsvigil analyze: bad filter '%s': %s\n", filter, pcap_geterr(dead));
            pcap_close(dead);
            return EXIT_USAGE;
        }
        pcap_freecode(&bpf);
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

    if (jsonl_path && !(jsonl = fopen(jsonl_path, "w"))) {
        log_msg(LOG_ERROR, "analyze: cannot write %s: %s", jsonl_path, strerror(errno));
        return EXIT_INTERNAL;
    }
    {
        struct run_opts ro = {.cmd = "analyze",
                              .cap = cfg,
                              .disp = dcfg,
                              .rules = rules ? &rcfg : NULL,
                              .filter = filter,
                              .log_fmt = log_fmt,
                              .jsonl = jsonl,
                              .evidence_dir = evidence_dir,
                              .evidence_packets = evidence_packets};
        if (run_init(&run, &ro, err, sizeof(err)) < 0) {
            log_msg(LOG_ERROR, "analyze: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
    }
    if (run_inputs(&run, (const char *const *)&argv[optind], (unsigned)(argc - optind)) == 0) {
        log_msg(LOG_ERROR, "analyze: no input could be opened");
        status = EXIT_INPUT;
        goto out;
    }
    if (db_path &&
        (run_store_open(&run, db_path, err, sizeof(err)) < 0 ||
         run_store_begin(&run, false, db_shed, NULL, DV_VERSION, err, sizeof(err)) < 0)) {
        log_msg(LOG_ERROR, "analyze: %s", err);
        status = EXIT_INTERNAL;
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (threads == 2 && disp_pipe_start(run.disp, 0) < 0)
        log_msg(LOG_WARN, "analyze: no second thread (out of memory); running on one");
    prog.rd = run.rd;
    prog.start = prog.last = wall_now();
    run_files(&run, &interrupted, progress ? progress_tick : NULL, &prog);
    /* The flow thread finishes what it was handed; from here on everything (the end of
     * input, the summary) is on this thread. */
    disp_pipe_stop(run.disp);
    {
        /* CPU time of the reading thread (the flow thread and the store writer run beside
         * it), and how often the hand-over found the ring full or empty. */
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        uint64_t pw, cw, fcpu;
        disp_pipe_stats(run.disp, &pw, &cw, &fcpu);
        log_msg(LOG_DEBUG,
                "analyze: CPU of the reading thread %.3f s, of the flow thread %.3f s; "
                "hand-over ring full %llu times, empty %llu times",
                (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9, (double)fcpu / 1e9,
                (unsigned long long)pw, (unsigned long long)cw);
    }
    run_finish_input(&run);
    if (progress)
        show_progress(run.rd, cap_decoder_stats(run.dec)->c[CAP_PACKETS], prog.start, true);
    if (interrupted) {
        log_msg(LOG_WARN, "analyze: interrupted; the summary covers what was read so far");
        status = EXIT_INPUT;
    }
    if (run_input_errors(&run))
        status = EXIT_INPUT;
    if (run_store_end(&run,
                      interrupted         ? "interrupted"
                      : status == EXIT_OK ? "complete"
                                          : "input-errors",
                      retain_ns) < 0)
        status = EXIT_INTERNAL;
    if (output && !(out = fopen(output, "w"))) {
        log_msg(LOG_ERROR, "analyze: cannot write %s: %s", output, strerror(errno));
        status = EXIT_INTERNAL;
        goto out;
    }
    run_summary(&run, out, json, windows, top_n);
    if (fflush(out) != 0 || ferror(out)) {
        log_msg(LOG_ERROR, "analyze: writing the result failed: %s", strerror(errno));
        status = EXIT_INTERNAL;
    }
    if (out != stdout)
        fclose(out);
out:
    run_free(&run);
    if (jsonl)
        fclose(jsonl);
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
