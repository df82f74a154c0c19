/* SPDX-License-Identifier: MIT */
/* The SQLite store (DESIGN.md "Storage"): one database file in WAL mode with a versioned,
 * migrated schema. The capture thread only copies compact records into a lock-free ring;
 * a writer thread turns them into rows and commits them in batches. When the writer falls
 * behind, detail (per-server rows, passive DNS, transfer tracking) is dropped and counted;
 * window totals and alerts have a reserved share of the ring. Packets are never held up.
 *
 * A run is one analysis of one set of inputs (or one live session). Its key identifies the
 * inputs, so analysing the same capture again replaces the earlier run instead of adding to
 * it. Every row belongs to a run; deleting a run deletes its rows. */
#ifndef DV_ANALYZE_STORE_H
#define DV_ANALYZE_STORE_H

#include "../analyze/dispatch.h"
#include "../rules/engine.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 4

/* What the records lost when the writer fell behind, by kind. */
#define DB_DROP_KINDS(X)                                                                           \
    X(WINDOW, "windows")                                                                           \
    X(TXN, "transactions")                                                                         \
    X(MSG, "messages")                                                                             \
    X(EVENT, "events")                                                                             \
    X(ALERT, "alerts")                                                                             \
    X(TOP, "top")

enum db_drop_kind {
#define DB_X_ENUM(id, name) DB_DROP_##id,
    DB_DROP_KINDS(DB_X_ENUM)
#undef DB_X_ENUM
        DB_DROP_N
};

struct db_stats {
    uint64_t dropped[DB_DROP_N];  /* records not queued: the ring was full */
    uint64_t batches;             /* transactions committed */
    uint64_t rows;                /* rows written (inserts and updates) */
    uint64_t windows;             /* window total rows written */
    uint64_t messages;            /* answers and transfer responses written (the others are
                                   * in dropped[DB_DROP_MSG]) */
    uint64_t pdns_new, pdns_seen; /* passive-DNS RRs first stored / seen again */
    uint64_t pdns_flushes;        /* passive-DNS table flushed early because it was full */
    uint64_t server_overflow;     /* transactions counted under "other": per-window table full */
    uint64_t xfr_ok, xfr_failed;  /* zone transfers recorded */
    uint64_t xfr_overflow;        /* transfers not tracked: table full */
    uint64_t sql_errors;          /* statements that failed (first one logged) */
    uint64_t producer_waits;      /* complete store: times the analysis waited for room */
};

/* A run as it starts. */
struct db_run_info {
    const char *run_key; /* identity of the inputs (db_input_key) */
    const char *sensor;  /* host name */
    const char *source;  /* "packets", "dnstap" or "logs" */
    const char *inputs;  /* what was read, for people */
    const char *version; /* dnsvigil version */
    uint64_t window_ns;
    bool complete; /* the analysis waits for the writer instead of shedding detail (files:
                    * every answer is stored and the run's rows are the same every time;
                    * a live sensor sheds, since capture must not wait on disk) */
};

/* A run as it ends. */
struct db_run_end {
    const char *status;     /* "complete", "interrupted", "input-errors" */
    uint64_t xfr_untracked; /* transfers the tracker had no room for (xfr_overflow) */
    uint64_t first_ns, last_ns, packets, messages;
    const char *loss_json; /* {"name": n, ...} */
};

typedef struct db_store db_store;

/* Opens (creating or upgrading) the database. A database written by a newer dnsvigil is
 * refused. Returns NULL with a message in err. */
db_store *db_open(const char *path, char *err, size_t errlen);

/* Starts a run: replaces any earlier run with the same key, then starts the writer. */
int db_begin_run(db_store *s, const struct db_run_info *ri, char *err, size_t errlen);

/* The store's dispatcher callbacks (windows, transactions, answers, TCP events). */
void db_sink(db_store *s, struct disp_sink *sink);

/* Queues an alert line and a top-list entry (kind "clients", "servers", "qnames",
 * "registered_domains"). */
void db_alert(db_store *s, const struct engine_alert *a);
void db_top(db_store *s, const char *kind, unsigned rank, const char *name, uint64_t count);

/* Queues a server log event (log_event table): source "bind", "unbound", "nsd", "knot";
 * server is the log's file; kind as srvlog_kind_name(); detail free text or JSON. */
void db_log_event(db_store *s, uint64_t ts_ns, const char *source, const char *server,
                  const char *kind, const char *zone, const char *peer, const char *detail);

/* Drains the queue, writes what the writer still holds, records the end of the run and
 * stops the writer. */
int db_end_run(db_store *s, const struct db_run_end *re);

/* Deletes data older than max_age_ns before the newest window in the database: windows,
 * closed alerts, passive DNS, zones, transfers, log events, and runs left empty. Stores the
 * number of rows deleted in *deleted. Only between runs. */
int db_retain(db_store *s, uint64_t max_age_ns, uint64_t *deleted);

const struct db_stats *db_get_stats(const db_store *s);

/* For a reader of the database beside the run (the sensor's periodic report): asks the
 * writer to commit once it has written the window that ends at until_ns, then waits (at
 * most timeout_ms) until that is committed. Any thread; true when it was. */
void db_want_commit(db_store *s, uint64_t until_ns);
bool db_wait_committed(db_store *s, uint64_t until_ns, unsigned timeout_ms);

/* Records shed so far (any thread, while the analysis runs; a live sensor's figure). */
uint64_t db_dropped(const db_store *s);
void db_close(db_store *s);

/* Identity of a list of input files: a hash of each file's size and of its first and last
 * 64 KiB, written as 32 hex digits into key (at least 33 bytes). Standard input ("-") has no
 * identity: it gets a key that is unique to this process and time. */
int db_input_key(const char *const *paths, unsigned n, char *key);

/* Prints the schema version, the runs and the row count of every table. */
int db_print_info(const char *path, FILE *f);

/* Compacts the database file (VACUUM) and checkpoints the WAL. */
int db_vacuum(const char *path, char *err, size_t errlen);

/* Creates a database with the schema of an older version (tests of the migrations). */
int db_create_version(const char *path, int version, char *err, size_t errlen);

#endif
