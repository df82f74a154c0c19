/* SPDX-License-Identifier: MIT */
/* Glue shared by `analyze` and `watch` between the pipeline and the store: server-log
 * events (a dispatcher sink) and alerts (an engine alert sink). Query and reply lines are
 * stored as per-minute counts for each server, not one row each. */
#ifndef DV_FEED_H
#define DV_FEED_H

#include "../analyze/dispatch.h"
#include "store.h"
#include "../capture/srvlog.h"
#include "../rules/engine.h"

/* Query and reply lines of one server counted over one minute. */
struct log_minute {
    uint64_t minute;
    enum srvlog_format fmt;
    uint64_t queries, replies, rcode[6]; /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED */
    char server[256];
};

/* Server-log events to the store: the minutes of up to FEED_LOG_SERVERS servers are
 * counted at once (the oldest is written out when one more appears). */
#define FEED_LOG_SERVERS 16
struct feed_logs {
    db_store *db;
    unsigned n;
    struct log_minute m[FEED_LOG_SERVERS];
};

/* Sets fl up to write to db and fills *sink with its dispatcher sink (on_log). */
void feed_logs_sink(struct feed_logs *fl, db_store *db, struct disp_sink *sink);

/* Writes the minutes being counted (at the end of the input). */
void feed_logs_flush(struct feed_logs *fl);

/* An engine alert sink that stores every alert line (user: the db_store). */
void feed_alert_sink(db_store *db, struct engine_alert_sink *sink);

/* Ends the store's run: the top lists of the dispatcher, the run's loss record and span
 * (the same for analyze and watch). status: "complete", "interrupted", "stopped",
 * "input-errors". 0, or a negative enum err when the store reported errors. */
int feed_end_run(db_store *db, const struct dispatch *disp, const struct cap_stats *cap,
                 const char *status);

/* The summary's "store" object: what the run stored and shed. */
struct json;
void feed_store_json(struct json *j, const db_store *db, const char *path, const char *run_key,
                     uint64_t retained);

#endif
