/* SPDX-License-Identifier: MIT */
/* The report's queries: one pass over the store, inside one read transaction, fills
 * struct rep with every figure of the APP.3.6 report for a period and the one before it;
 * report/ prints it as text, HTML or JSON. Definitions: docs/report.md. */
#ifndef DV_STORE_QUERY_H
#define DV_STORE_QUERY_H

#include "../common/dnsnum.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_opts;

#define MAX_BUCKETS 200
#define MAX_ITEMS 500 /* alerts, transfers, zones listed */
#define MIN_BUCKET_QUERIES 100
#define NO_SOURCE "not observed: no source"

/* The error kinds of the report (the store's window columns), with their RCODEs. */
enum { RC_FORMERR, RC_SERVFAIL, RC_NXDOMAIN, RC_NOTIMP, RC_REFUSED, RC_OTHER, RC_N };
extern const int rc_code[RC_N];

struct totals {
    bool have; /* any window in the period */
    uint64_t windows, queries, responses, noerror, rc[RC_N], errors, edns_errors, edns, tc;
    uint64_t unanswered, unsolicited, duplicate, malformed, loss;
};

struct bucket {
    uint64_t queries, errors, edns_errors, responses;
};

/* A change of the error/query ratio: an error-ratio alert (first seen .. last seen, the
 * server or "all servers", the error kind, its baseline and the ratio observed last). */
struct change {
    uint64_t from_ns, to_ns, queries, errors;
    double baseline, peak;
    bool rise;
    char server[48], kind[16];
};

struct xfr_item {
    char zone[256], client[48], server[48], qtype[8], reason[128], source[16];
    uint64_t start_ns, end_ns;
};

struct zone_item {
    char zone[256], server[48], status[16], source[16];
    int64_t serial, refresh, expire;
    uint64_t last_ok_ns; /* 0: none seen */
    uint64_t failures;
    int64_t remaining_s; /* valid when last_ok_ns */
};

struct alert_item {
    char rule[32], reference[64], severity[16], state[16];
    char summary[256], client[48], server[48], victim[48], zone[256], qname[256];
    char evidence[1024], evidence_file[512];
    uint64_t first_ns, last_ns, count;
    double threshold, observed;
};

struct top_item {
    char name[256];
    uint64_t count;
};

#define TOP_KINDS 4
extern const char *const top_kinds[TOP_KINDS];

struct source {
    uint64_t runs, first_ns, last_ns;
};

struct rep {
    const struct rep_opts *o; /* the report's options (report/report.h) */
    unsigned top_n;           /* entries per top list */
    const char *db_path;      /* for messages */
    uint64_t from_ns, to_ns;  /* the period asked for; both 0: the 24 h up to the newest data */
    uint64_t from, to, prev_from, prev_to, generated;
    struct source src_packets, src_dnstap, src_logs;
    double coverage;   /* share of the period covered by windows */
    bool logs_traffic; /* traffic figures come from server query logs */
    struct totals cur, prev;
    uint64_t bucket_ns;
    unsigned nb;
    struct bucket b[MAX_BUCKETS];
    double ratio, prev_ratio, baseline;
    bool have_ratio, have_prev_ratio;
    struct change changes[MAX_BUCKETS];
    unsigned nchanges;
    struct xfr_item *xfr;
    unsigned nxfr;
    uint64_t xfr_ok, xfr_failed_total;
    struct zone_item *zones;
    unsigned nzones;
    bool zones_seen;
    struct alert_item *alerts;
    unsigned nalerts;
    uint64_t alerts_total;
    struct top_item top[TOP_KINDS][50];
    unsigned ntop[TOP_KINDS];
    char loss_names[32][40];
    uint64_t loss_vals[32];
    unsigned nloss;
    uint64_t detail_dropped;
};

/* ---- time ---- */

/* Fills r (db_path, top_n, from_ns, to_ns and the item arrays set by the caller) from the
 * open database.
 * 0, or a negative enum err with a message in err. */
int db_report_collect(sqlite3 *db, struct rep *r, char *err, size_t errlen);

#endif
