/* SPDX-License-Identifier: MIT */
/* `dnsvigil analyze`: files (captures, dnstap, server logs) through one run, then the summary. */
#include "cli.h"

#include "../analyze/dispatch.h"
#include "../analyze/dns.h"
#include "../analyze/stats.h"
#include "../common/duration.h"
#include "../store/store.h"
#include "../analyze/summary.h"
#include "../capture/cap.h"
#include "../capture/dnstap.h"
#include "../capture/srvlog.h"
#include "../capture/evidence.h"
#include "../capture/source.h"
#include "../report/report.h"
#include "../run/run.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../rules/registry.h"
#include "../export/alerts.h"
#include "../common/err.h"
#include "../common/log.h"

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

static volatile int interrupted; /* (an int is written atomically on every target) */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
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
static void usage_analyze(FILE *f)
{
    fputs(
        "Usage: dnsvigil analyze [OPTIONS] FILE...\n"
        "\n"
        "Reads captures (pcap, pcapng), dnstap files and DNS server logs (BIND, Unbound, NSD,\n"
        "Knot; their own files or syslog), decodes every DNS message over UDP and TCP (with\n"
        "IP fragment and TCP stream reassembly), matches responses to queries, runs the\n"
        "detection rules and prints a summary. All inputs are merged into one stream in time\n"
        "stamp order, so the order of the arguments does not matter. What a file is, and its\n"
        "compression (gzip, xz, lz4, zstd), is recognised by content. FILE may be '-' for a\n"
        "capture on standard input.\n"
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
        "                       (default 2 on a machine with two or more cores, else 1).\n"
        "                       The output is the same either way\n"
        "      --log-format F   server logs among the inputs are auto-detected (BIND, Unbound,\n"
        "                       NSD, Knot; files or syslog); F = bind, unbound, nsd or knot\n"
        "                       forces the format of lines that do not say\n"
        "  -v, --verbose        more diagnostics on standard error\n"
        "  -q, --quiet          only errors on standard error\n"
        "  -h, --help           show this help\n"
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

enum {
    O_PROGRESS = CLI_O_OWN,
    O_NO_PROGRESS,
    O_EVIDENCE_DIR,
    O_EVIDENCE_PACKETS,
    O_TOP,
    O_THREADS,
};

int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_PIPELINE_OPTIONS,
        {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"windows", no_argument, NULL, 'w'},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"no-progress", no_argument, NULL, O_NO_PROGRESS},
        {"evidence-dir", required_argument, NULL, O_EVIDENCE_DIR},
        {"evidence-packets", required_argument, NULL, O_EVIDENCE_PACKETS},
        {"top", required_argument, NULL, O_TOP},
        {"threads", required_argument, NULL, O_THREADS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cap_config cfg;
    struct disp_config dcfg;
    struct cli_pipeline pl;
    const char *output = NULL;
    bool json = false, windows = false;
    static struct dv_config rcfg;
    FILE *jsonl = NULL;
    const char *evidence_dir = NULL;
    uint32_t evidence_packets = 1000;
    uint32_t top_n = 10, threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    int progress = -1, opt, status = EXIT_OK, rc;
    static struct run run;
    struct progress prog = {0};
    FILE *out = stdout;
    char err[512];

    cli_pipeline_init(&pl, &cfg, &dcfg);
    optind = 1;
    while ((opt = getopt_long(argc, argv, CLI_PIPELINE_SHORT "jo:wh", opts, NULL)) != -1) {
        if ((rc = cli_pipeline_opt(&pl, "analyze", opt, optarg)) < 0)
            return EXIT_USAGE;
        if (rc > 0)
            continue;
        switch (opt) {
        case 'j':
            json = true;
            break;
        case 'o':
            output = optarg;
            break;
        case 'w':
            windows = true;
            break;
        case O_PROGRESS:
            progress = 1;
            break;
        case O_NO_PROGRESS:
            progress = 0;
            break;
        case O_EVIDENCE_DIR:
            evidence_dir = optarg;
            break;
        case O_EVIDENCE_PACKETS:
            if (!cli_parse_u32(optarg, 1, 1000000, &evidence_packets)) {
                fprintf(stderr, "dnsvigil analyze: --evidence-packets wants 1..1000000\n");
                return EXIT_USAGE;
            }
            break;
        case O_TOP:
            if (!cli_parse_u32(optarg, 1, 256, &top_n)) {
                fprintf(stderr, "dnsvigil analyze: --top wants 1..256\n");
                return EXIT_USAGE;
            }
            break;
        case O_THREADS:
            if (!cli_parse_u32(optarg, 1, 2, &threads)) {
                fprintf(stderr, "dnsvigil analyze: --threads wants 1 or 2\n");
                return EXIT_USAGE;
            }
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
    if (cli_pipeline_check(&pl, "analyze") < 0)
        return EXIT_USAGE;
    if (evidence_dir && access(evidence_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dnsvigil analyze: --evidence-dir %s: %s\n", evidence_dir, strerror(errno));
        return EXIT_USAGE;
    }
    if (config_load(&rcfg, pl.config, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsvigil analyze: %s\n", err);
        return EXIT_USAGE;
    }
    if (progress < 0)
        progress = isatty(STDERR_FILENO);
    raise_fd_limit();

    if (pl.jsonl_path && !(jsonl = fopen(pl.jsonl_path, "w"))) {
        log_msg(LOG_ERROR, "analyze: cannot write %s: %s", pl.jsonl_path, strerror(errno));
        return EXIT_INTERNAL;
    }
    {
        struct run_opts ro = {.cmd = "analyze",
                              .cap = cfg,
                              .disp = dcfg,
                              .rules = pl.rules ? &rcfg : NULL,
                              .filter = pl.filter,
                              .log_fmt = (enum srvlog_format)pl.log_fmt,
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
    if (pl.db_path &&
        (run_store_open(&run, pl.db_path, err, sizeof(err)) < 0 ||
         run_store_begin(&run, false, pl.db_shed, NULL, DV_VERSION, err, sizeof(err)) < 0)) {
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
                      pl.retain_ns) < 0)
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
