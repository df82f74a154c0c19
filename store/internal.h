/* SPDX-License-Identifier: MIT */
/* The store's inside, shared by its files and by nothing outside store/:
 *   schema.c  the schema, its migrations, opening a database, the statements
 *   sink.c    the analysis side: the dispatcher sink, alerts, top lists, log events -> ring
 *   pdns.c    passive DNS: the analysis side's RRset table, the writer's sorted batches
 *   writer.c  the writer thread: records -> rows, transactions
 *   admin.c   a run's start and end, retention, vacuum, `db info`, input keys
 *   query.c   the report's queries (query.h: what they fill)
 *
 * The SQLite store: the analysis's records -> one ring (common/spsc) -> the writer thread ->
 * batched transactions.
 *
 * The ring carries windows, per-server window sums, alerts, top entries, log events, zone
 * transfer responses and their TCP ends, and copies of answers (passive DNS, zones seen in
 * SOA answers), in the order of the input. A complete store (every file input, and watch -r)
 * makes the analysis wait for room, so the same input always gives the same rows. A live
 * sensor's store sheds instead of waiting (capture never waits on disk): answers may fill the
 * ring up to DETAIL_SHARE and transfers too, so windows and alerts still fit; what does not
 * fit is dropped and counted. The writer commits every BATCH_ROWS rows and at least every
 * COMMIT_MS of wall time while it has rows pending (a live sensor's window is committed
 * within a second of closing; a complete store packs many windows into one transaction).
 *
 * Passive DNS is write-combined in a bounded table of the RRsets the run has seen: new ones
 * wait in a batch that is inserted sorted by name (the name index then fills page by page,
 * the cost of a flood of unique names), repeats only bump a count that is written when the
 * window closes. When the table is full it is cleared; from then on an RRset it no longer
 * knows is looked up through the name index before it is inserted. */
#ifndef DV_STORE_INTERNAL_H
#define DV_STORE_INTERNAL_H

#include "store.h"

#include "../analyze/dns.h"
#include "../analyze/window.h"
#include "../common/spsc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RING_SIZE (64u << 20)
#define DETAIL_SHARE(size) ((size) / 4 * 3)
#define BATCH_ROWS 20000
#define COMMIT_MS 1000
/* A complete store (files) commits in bigger batches with a bigger page cache: fewer
 * commits, and each B-tree page dirtied once per batch, not once per few rows. */
#define COMPLETE_BATCH_ROWS 1000000
#define COMPLETE_CACHE "PRAGMA cache_size=-262144" /* 256 MiB */
#define SRV_SLOTS 1024                             /* servers per window (power of two) */
#define SRV_ROWS 32         /* server rows written per window; the rest go to "other" */
#ifndef PDNS_MAX            /* (a test build makes it small, to start over often) */
#define PDNS_MAX (3u << 20) /* RRsets remembered at once (then the table starts over) */
#endif
#define PDNS_IDX_MIN (1u << 14) /* the hash index's first size; it doubles up to ... */
#define PDNS_IDX_MAX (1u << 22) /* ... this (entries use three quarters at most) */
#define PDNS_BATCH (1u << 18)   /* new RRsets inserted at once, sorted by name */
#define PDNS_ARENA (32u << 20)  /* their text */

enum rec_kind {
    REC_WINDOW = 1, /* 0 is the ring's padding */
    REC_SRV,
    REC_MSG,
    REC_ALERT,
    REC_TOP,
    REC_LOGEV,
    REC_XFR,          /* a finished zone transfer */
    REC_RRSET,        /* a new RRset */
    REC_RRSET_COUNTS, /* repeats of RRsets sent before */
    REC_RRSET_CLEAR   /* the analysis forgot every RRset: slots start over */
};

struct rec_msg {
    uint64_t ts_ns;
    uint32_t len;
    uint8_t af, pad[3];
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    /* wire bytes follow */
};

/* Alerts and top entries: fixed numbers and then NUL-terminated strings. */
#define ALERT_STRS 13
struct rec_alert {
    uint32_t id;
    uint64_t first_ns, last_ns, count;
    double threshold, observed;
};

struct rec_top {
    uint32_t rank;
    uint64_t count;
};

struct srv_agg {
    uint8_t used, af;
    uint8_t addr[16];
    uint64_t q, r, rc[7], edns_err, unans, unsol, dup, tc, lat_sum_us, lat_n;
    uint64_t txns; /* transactions added */
};

/* Per-server sums of one window, in a small open-addressing table (insertion order kept in
 * used[]). The producer keeps one and sends its rows when the window closes, so a
 * transaction costs an increment on the analysis thread, not a record for the writer. */
struct srv_table {
    struct srv_agg *slot; /* SRV_SLOTS */
    uint16_t used[SRV_SLOTS];
    uint32_t n;
    struct srv_agg other; /* servers that found no slot */
    uint64_t overflow;
};

/* One server's sums for the window that closes next (REC_SRV). */
struct rec_srv {
    uint8_t other; /* the producer's "other" row */
    uint8_t pad[7];
    struct srv_agg a;
};

/* Passive DNS on the analysis side: a table of the RRsets this run has seen (by canonical
 * hash; valid in the current epoch only, so clearing it is a counter), with the repeats not
 * yet handed to the writer. A new RRset travels to the writer as text (REC_RRSET), its
 * repeats as counts by slot when the window closes (REC_RRSET_COUNTS). */
struct pdns_ent {
    uint64_t key;
    uint64_t last_ns;
    uint32_t pending;
};

/* A batch row in the sort: what decides most comparisons and what the insert loop needs
 * first, without a look at the row. */
struct prow_ord {
    uint64_t name8;
    uint32_t idx, slot;
};

/* REC_RRSET: this, then name, type, rdata and server, each NUL-terminated. */
struct rec_rrset {
    uint64_t key, ts_ns;
    uint32_t slot;
    uint16_t ln, lt, lr, ls; /* string lengths */
};

/* REC_RRSET_COUNTS: n of these. */
struct rrset_count {
    uint32_t slot, pending;
    uint64_t last_ns;
};
#define COUNTS_PER_REC 1024

/* A new RRset waiting in the batch: its text in the arena. */
struct pdns_row {
    uint64_t name8; /* the name's first 8 bytes, big-endian: sorts most pairs without strcmp */
    uint64_t key, first_ns, last_ns, count;
    uint32_t slot, name, type, rdata, server; /* table slot, arena offsets */
    uint16_t ln, lt, lr, ls;                  /* their lengths */
};

enum stmt_id {
    ST_WINDOW,
    ST_ALERT,
    ST_RRSET_NEW,
    ST_RRSET_UPD,
    ST_RRSET_FIND,
    ST_ZONE,
    ST_ZONE_OK,
    ST_XFR,
    ST_TOP,
    ST_RUN_SPAN,
    ST_RUN_RRSETS,
    ST_LOGEV,
    ST_N
};

struct db_store {
    sqlite3 *db;
    char path[1024];
    sqlite3_stmt *st[ST_N];
    int64_t run_id;
    /* The ids of the run's passive-DNS rows (writer): stored in run at each commit, so that
     * replacing or pruning the run finds its rows without an index on run_id. */
    int64_t rrset_lo, rrset_hi, rrset_hi_stored;
    struct spsc q;    /* analysis -> writer: every record, in the order of the input */
    uint32_t backoff; /* passive-DNS records still to shed without a look (after a full ring) */
    /* The analysis's RRsets: entries by id (0, 1, ... in order of first sighting: the writer
     * keeps their rows by the same id), found through a hash index of ids + 1 that starts
     * small and doubles, so a few thousand RRsets stay in the caches. */
    struct pdns_ent *pdns; /* PDNS_MAX, touched only as far as used */
    uint32_t pdns_used;
    uint32_t *pidx, pidx_cap;
    uint32_t *pdns_dirty; /* ids with pending repeats */
    uint32_t ndirty;
    bool clear_due;            /* the table is full: cleared once the writer can be told */
    uint64_t pmessages, pseen; /* answer messages handed on, repeats counted */
    pthread_t thread;
    bool running;
    /* Written by the producer only, read when it is done (a plain counter: no locked add
     * for each record shed while the writer is behind). */
    _Alignas(64) _Atomic uint64_t drops[DB_DROP_N];
    struct srv_table psrv; /* the producer's per-server sums of the current window */
    bool complete;         /* wait for room instead of shedding (files) */
    /* Commits asked for by other threads (a periodic report): the writer commits as soon as
     * it has written the window that ends at or after commit_wanted_ns, and committed_ns is
     * the end of the last window committed (UINT64_MAX once the run ended). */
    _Atomic uint64_t commit_wanted_ns, committed_ns;
    uint64_t tx_window_end;

    /* Writer state (writer thread only while running), on lines the producer never writes. */
    _Alignas(64) struct db_stats stats;
    bool in_tx;
    uint64_t tx_rows;
    struct timespec tx_start;
    struct srv_table srv; /* this window's rows, merged from the producer's */
    struct srv_agg *srv_rows;
    int64_t *wrow;         /* by id: the RRset's rowid, -(batch index + 1) while in the batch, 0 */
    uint32_t wrow_hi;      /* ids below this may be set */
    bool pdns_cleared;     /* the table was cleared in this run: look forgotten RRsets up */
    struct pdns_row *prow; /* PDNS_BATCH new RRsets */
    uint32_t nprow;
    struct prow_ord *porder; /* the batch's sort order */
    char *parena;            /* PDNS_ARENA */
    size_t parena_used;
    struct dns_msg msg;
};

/* How much of its ring a record may fill. */
enum rec_room {
    ROOM_ALL,   /* windows, per-server rows, alerts, top entries */
    ROOM_SHARE, /* transfers and their TCP ends: up to DETAIL_SHARE, so the above fit */
    ROOM_SHED   /* passive-DNS answers: up to DETAIL_SHARE, and after a full ring the next
                 * SHED_BACKOFF are dropped without a look (no cross-core read per message) */
};
#define SHED_BACKOFF 1024

/* REC_XFR: a finished zone transfer, as the dispatcher's tracker decided it. */
struct rec_xfr {
    uint64_t start_ns, end_ns, messages, records;
    uint32_t soa[5];
    uint16_t qtype;
    uint8_t af, outcome, have_soa, pad[3];
    uint8_t client[16], server[16];
    char zone[256], reason[64];
};

/* The statements' SQL (st_step names the failing one). */
extern const char *const st_sql[ST_N];

/* schema.c */
void st_err(char *err, size_t errlen, const char *a, const char *b);
int st_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
sqlite3 *st_open(const char *path, char *err, size_t errlen);
int st_user_version(sqlite3 *db);
int st_migrate(sqlite3 *db, const char *path, int target, char *err, size_t errlen);

/* sink.c */
void st_drop(db_store *s, enum db_drop_kind dk, uint64_t n);
void *st_rec_begin(db_store *s, enum rec_kind kind, enum db_drop_kind dk, size_t payload,
                   enum rec_room room);
void st_rec_end(db_store *s, bool now);
struct srv_agg *st_srv_slot(struct srv_table *t, uint8_t af, const uint8_t *addr);
void st_srv_add(struct srv_agg *a, const struct srv_agg *b);

/* pdns.c */
void st_pdns_counts(db_store *s);
void st_pdns_message(db_store *s, const struct dns_msg *m, const struct cap_meta *meta);
void st_addr_fmt(uint8_t af, const uint8_t *a, char *buf);
const char *st_addr_text(uint8_t af, const uint8_t *a, char *buf);
void st_pdns_batch(db_store *s);
void st_w_counts(db_store *s, const uint32_t *p);
void st_w_clear(db_store *s);
void st_w_rrset(db_store *s, const struct rec_rrset *r);

/* writer.c */
void st_sql_fail(db_store *s, const char *what);
void st_step(db_store *s, enum stmt_id id);
long st_elapsed_ms(const struct timespec *since);
void st_tx_begin(db_store *s);
void st_tx_commit(db_store *s);
void *st_writer(void *arg);

/* admin.c */
void st_now(char *buf, size_t n);

#endif
