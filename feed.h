/* SPDX-License-Identifier: MIT */
/* Glue shared by `analyze` and `watch` for server-log events: each event goes to the rules
 * and to the store; query and reply lines are stored as per-minute counts, not one row
 * each. */
#ifndef DV_FEED_H
#define DV_FEED_H

#include "analyze/store.h"
#include "capture/srvlog.h"
#include "rules/engine.h"

/* Query and reply lines of server logs are stored per minute, not one row each. */
struct log_minute {
    uint64_t minute;
    enum srvlog_format fmt;
    uint64_t queries, replies, rcode[6]; /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED */
    char server[256];
};

/* Hands one event to the engine (may be NULL) and the store (may be NULL). */
void feed_log_event(db_store *db, struct engine *eng, struct log_minute *lm, const char *server,
                    const struct srvlog_event *ev);

/* Stores an alert line of the rule engine. */
void feed_alert(db_store *db, const struct engine_alert *a);

/* Writes the minute being counted. */
void feed_log_flush(db_store *db, struct log_minute *lm);

#endif
