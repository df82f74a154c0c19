/* SPDX-License-Identifier: MIT */
/* `dnsvigil db`: the store's runs and row counts, retention, vacuum. */
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

int cmd_db(int argc, char **argv)
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
