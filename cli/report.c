/* SPDX-License-Identifier: MIT */
/* `dnsvigil report`: the ISO report (APP.3.6 figures) from the store. */
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

int cmd_report(int argc, char **argv)
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
            if (!cli_parse_u32(optarg, 1, 50, &ro.top_n)) {
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
