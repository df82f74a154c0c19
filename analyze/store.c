/* SPDX-License-Identifier: MIT */
/* The SQLite store: the analysis's records -> one ring (common/spsc) -> the writer thread ->
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
#define _GNU_SOURCE /* qsort_r */
#include "store.h"

#include "sketch.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/spsc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE (64u << 20)
#define DETAIL_SHARE(size) ((size) / 4 * 3)
#define BATCH_ROWS 20000
#define COMMIT_MS 1000
/* A complete store (files) commits in bigger batches with a bigger page cache: fewer
 * commits, and each B-tree page dirtied once per batch, not once per few rows. */
#define COMPLETE_BATCH_ROWS 1000000
#define COMPLETE_CACHE "PRAGMA cache_size=-262144" /* 256 MiB */
#define SRV_SLOTS 1024                             /* servers per window (power of two) */
#define SRV_ROWS 32            /* server rows written per window; the rest go to "other" */
#define PDNS_SLOTS (1u << 22)  /* RRsets remembered (3/4 of it used at most) */
#define PDNS_BATCH (1u << 18)  /* new RRsets inserted at once, sorted by name */
#define PDNS_ARENA (32u << 20) /* their text */

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
    uint32_t pending, epoch;
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
    ST_LOGEV,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_WINDOW] = "INSERT OR REPLACE INTO window_stats(run_id,start_ns,end_ns,server,queries,"
                  "responses,rc_noerror,rc_formerr,rc_servfail,rc_nxdomain,rc_notimp,rc_refused,"
                  "rc_other,edns,edns_do,tc,edns_errors,unanswered,unsolicited,duplicate,p50_us,"
                  "p95_us,p99_us,malformed,loss,lat_mean_us,loss_json) VALUES(?1,?2,?3,?4,?5,?6,?7,"
                  "?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27)",
    [ST_ALERT] = "INSERT OR REPLACE INTO alert(run_id,alert_no,rule,reference,severity,state,key,"
                 "summary,client,server,victim,zone,qname,evidence,evidence_file,first_ns,last_ns,"
                 "count,threshold,observed) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
                 "?15,?16,?17,?18,?19,?20)",
    [ST_RRSET_NEW] = "INSERT INTO rrset(run_id,key,name,type,rdata,server,first_ns,last_ns,count) "
                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [ST_RRSET_UPD] = "UPDATE rrset SET count=count+?2,last_ns=max(last_ns,?3),first_ns=min("
                     "first_ns,?4) WHERE rowid=?1",
    /* Only after the table was cleared (more RRsets than it holds): the row of an RRset
     * the table forgot, through the name index. */
    [ST_RRSET_FIND] = "SELECT rowid FROM rrset WHERE name=?1 AND type=?2 AND run_id=?3 AND "
                      "key=?4",
    [ST_ZONE] = "INSERT INTO zone(run_id,zone,server,serial,refresh,retry,expire,minimum,first_ns,"
                "last_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9) ON CONFLICT(run_id,zone,server) DO "
                "UPDATE SET serial=excluded.serial,refresh=excluded.refresh,retry=excluded.retry,"
                "expire=excluded.expire,minimum=excluded.minimum,last_ns=max(last_ns,excluded."
                "last_ns)",
    [ST_ZONE_OK] = "UPDATE zone SET last_xfr_ok_ns=max(coalesce(last_xfr_ok_ns,0),?4) WHERE "
                   "run_id=?1 AND zone=?2 AND server=?3",
    [ST_XFR] = "INSERT INTO xfr(run_id,zone,client,server,qtype,start_ns,end_ns,outcome,reason,"
               "serial,messages,rrs) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [ST_TOP] = "INSERT OR REPLACE INTO top(run_id,kind,rank,name,count) VALUES(?1,?2,?3,?4,?5)",
    /* A running sensor's run shows the time it covers so far. */
    [ST_LOGEV] = "INSERT INTO log_event(run_id,ts_ns,source,server,kind,zone,peer,detail) "
                 "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [ST_RUN_SPAN] = "UPDATE run SET first_ns=coalesce(first_ns,?2),last_ns=?3 WHERE id=?1",
};

struct db_store {
    sqlite3 *db;
    char path[1024];
    sqlite3_stmt *st[ST_N];
    int64_t run_id;
    struct spsc q;    /* analysis -> writer: every record, in the order of the input */
    uint32_t backoff; /* passive-DNS records still to shed without a look (after a full ring) */
    struct pdns_ent *pdns; /* the analysis's RRsets (PDNS_SLOTS) */
    uint32_t pdns_used, pdns_epoch;
    uint32_t *pdns_dirty; /* slots with pending repeats */
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
    int64_t *wrow;     /* by slot: the RRset's rowid, -(batch index + 1) while in the batch, 0 */
    bool pdns_cleared; /* the table was cleared in this run: look forgotten RRsets up */
    struct pdns_row *prow; /* PDNS_BATCH new RRsets */
    uint32_t nprow;
    struct prow_ord *porder; /* the batch's sort order */
    char *parena;            /* PDNS_ARENA */
    size_t parena_used;
    struct dns_msg msg;
};

/* ---- schema ---- */

/* migrations[i] takes a database from version i to version i + 1. */
static const char *const migrations[DB_SCHEMA_VERSION] = {
    /* 0 -> 1: runs, window totals, alerts. */
    "CREATE TABLE run(id INTEGER PRIMARY KEY, run_key TEXT NOT NULL UNIQUE, sensor TEXT NOT "
    "NULL, source TEXT NOT NULL, inputs TEXT, started TEXT NOT NULL, finished TEXT, status TEXT "
    "NOT NULL DEFAULT 'running', window_s INTEGER, first_ns INTEGER, last_ns INTEGER, packets "
    "INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE window_stats(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, "
    "start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, server TEXT NOT NULL, queries INTEGER, "
    "responses INTEGER, rc_noerror INTEGER, rc_formerr INTEGER, rc_servfail INTEGER, rc_nxdomain "
    "INTEGER, rc_notimp INTEGER, rc_refused INTEGER, rc_other INTEGER, edns INTEGER, edns_do "
    "INTEGER, tc INTEGER, edns_errors INTEGER, unanswered INTEGER, unsolicited INTEGER, duplicate "
    "INTEGER, p50_us INTEGER, p95_us INTEGER, p99_us INTEGER, malformed INTEGER, loss INTEGER, "
    "PRIMARY KEY(run_id, start_ns, server)) WITHOUT ROWID;"
    "CREATE INDEX window_time ON window_stats(start_ns, server);"
    "CREATE TABLE alert(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, alert_no "
    "INTEGER NOT NULL, rule TEXT NOT NULL, reference TEXT, severity TEXT NOT NULL, state TEXT NOT "
    "NULL, key TEXT, summary TEXT, client TEXT, server TEXT, victim TEXT, zone TEXT, qname TEXT, "
    "evidence TEXT, evidence_file TEXT, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, count "
    "INTEGER, threshold REAL, observed REAL, PRIMARY KEY(run_id, alert_no));"
    "CREATE INDEX alert_time ON alert(last_ns);",
    /* 1 -> 2: passive DNS, zones, transfers, log events, top lists; run health. */
    "ALTER TABLE run ADD COLUMN version TEXT;"
    "ALTER TABLE run ADD COLUMN loss_json TEXT;"
    "ALTER TABLE run ADD COLUMN detail_dropped INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE window_stats ADD COLUMN lat_mean_us INTEGER;"
    "ALTER TABLE window_stats ADD COLUMN loss_json TEXT;"
    "CREATE TABLE rrset(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, key "
    "INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, rdata TEXT NOT NULL, server TEXT "
    "NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, count INTEGER NOT NULL, "
    "PRIMARY KEY(run_id, key));"
    "CREATE INDEX rrset_name ON rrset(name, type);"
    "CREATE TABLE zone(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, zone TEXT "
    "NOT NULL, server TEXT NOT NULL, serial INTEGER, refresh INTEGER, retry INTEGER, expire "
    "INTEGER, minimum INTEGER, first_ns INTEGER, last_ns INTEGER, last_xfr_ok_ns INTEGER, "
    "PRIMARY KEY(run_id, zone, server));"
    "CREATE TABLE xfr(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES run(id) ON "
    "DELETE CASCADE, zone TEXT, client TEXT, server TEXT, qtype TEXT, start_ns INTEGER, end_ns "
    "INTEGER, outcome TEXT NOT NULL, reason TEXT, serial INTEGER, messages INTEGER, rrs INTEGER);"
    "CREATE INDEX xfr_time ON xfr(end_ns);"
    "CREATE TABLE log_event(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES run(id) ON "
    "DELETE CASCADE, ts_ns INTEGER NOT NULL, source TEXT NOT NULL, server TEXT, kind TEXT NOT "
    "NULL, zone TEXT, peer TEXT, detail TEXT);"
    "CREATE INDEX log_event_time ON log_event(ts_ns, kind);"
    "CREATE TABLE top(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, kind TEXT NOT "
    "NULL, rank INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(run_id, "
    "kind, rank));",
    /* 2 -> 3: passive DNS in a rowid table (the writer keeps RRsets apart in memory and
     * inserts new ones in name order; a random primary key made every insert a random
     * B-tree write). */
    "CREATE TABLE rrset3(run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE, key "
    "INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, rdata TEXT NOT NULL, server TEXT "
    "NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, count INTEGER NOT NULL);"
    "INSERT INTO rrset3 SELECT run_id,key,name,type,rdata,server,first_ns,last_ns,count FROM "
    "rrset ORDER BY run_id,name,type;"
    "DROP TABLE rrset;"
    "ALTER TABLE rrset3 RENAME TO rrset;"
    "CREATE INDEX rrset_run ON rrset(run_id);"
    "CREATE INDEX rrset_name ON rrset(name, type);",
};

/* err = "a: b" */
static void set_err(char *err, size_t errlen, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", a, b);
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        set_err(err, errlen, "database", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return ERR_DB;
    }
    return 0;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Brings the schema to version target, one migration per transaction. */
static int migrate(sqlite3 *db, const char *path, int target, char *err, size_t errlen)
{
    int v = user_version(db);
    if (v < 0) {
        set_err(err, errlen, path, "not a dnsvigil database (or not readable)");
        return ERR_DB;
    }
    if (v > DB_SCHEMA_VERSION) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "schema version %d is newer than this dnsvigil knows (%d); use a newer dnsvigil",
                 v, DB_SCHEMA_VERSION);
        set_err(err, errlen, path, msg);
        return ERR_DB;
    }
    for (int from = v; v < target; v++) {
        char sql[64];
        if (from > 0)
            log_msg(LOG_INFO, "store: upgrading %s from schema %d to %d", path, v, v + 1);
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d;COMMIT;", v + 1);
        if (exec(db, "BEGIN IMMEDIATE;", err, errlen) < 0)
            return ERR_DB;
        if (exec(db, migrations[v], err, errlen) < 0 || exec(db, sql, err, errlen) < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return ERR_DB;
        }
    }
    return 0;
}

/* Before SQLite's first use: no global lock around every allocation for memory statistics
 * nobody reads (the writer allocates for every row it inserts). */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static sqlite3 *open_db(const char *path, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    sqlite3 *db = NULL;
    /* One connection, used by one thread at a time (the caller's, then the writer's, then the
     * caller's again after the join): no mutex around every SQLite call. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        set_err(err, errlen, path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    /* Closing does not copy the WAL back into the file (a checkpoint with an fsync, which
     * made the end of a run wait for the disk); the next writer or `db vacuum` does. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    /* WAL: readers (reports) do not block the writer; synchronous=NORMAL keeps every
     * committed transaction across a process crash (the WAL is in the OS page cache). */
    if (exec(db,
             "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
             "PRAGMA cache_size=-8192;PRAGMA wal_autocheckpoint=4000;",
             err, errlen) < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err ? err : "");
        set_err(err, errlen, path, msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int db_create_version(const char *path, int version, char *err, size_t errlen)
{
    sqlite3 *db = open_db(path, err, errlen);
    int rc;
    if (!db)
        return ERR_DB;
    rc = migrate(db, path, version, err, errlen);
    sqlite3_close(db);
    return rc;
}

db_store *db_open(const char *path, char *err, size_t errlen)
{
    db_store *s = aligned_alloc(64, sizeof(*s)); /* so the ring's line boundaries are real */
    if (!s) {
        set_err(err, errlen, path, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->db = open_db(path, err, errlen);
    if (!s->db || migrate(s->db, path, DB_SCHEMA_VERSION, err, errlen) < 0)
        goto fail;
    for (int i = 0; i < ST_N; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            set_err(err, errlen, path, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return s;
fail:
    db_close(s);
    return NULL;
}

/* ---- the ring (producer side) ---- */

/* Only the analysis thread adds; a load and a store (no locked add per record shed), so
 * that db_dropped can read the counts while the analysis runs. */
static void drop_add(db_store *s, enum db_drop_kind dk, uint64_t n)
{
    atomic_store_explicit(&s->drops[dk],
                          atomic_load_explicit(&s->drops[dk], memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void db_want_commit(db_store *s, uint64_t until_ns)
{
    uint64_t cur = atomic_load(&s->commit_wanted_ns);
    while ((!cur || until_ns < cur) &&
           !atomic_compare_exchange_weak(&s->commit_wanted_ns, &cur, until_ns))
        ;
}

bool db_wait_committed(db_store *s, uint64_t until_ns, unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 10) {
        db_want_commit(s, until_ns); /* again: another waiter's earlier wish may have ended */
        if (atomic_load(&s->committed_ns) >= until_ns) {
            /* the next wanted commit, if one is asked for beyond this one */
            uint64_t cur = until_ns;
            atomic_compare_exchange_strong(&s->commit_wanted_ns, &cur, 0);
            return true;
        }
        if (waited >= timeout_ms)
            return false;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

uint64_t db_dropped(const db_store *s)
{
    uint64_t n = 0;
    for (int i = 0; i < DB_DROP_N; i++)
        n += atomic_load_explicit(&s->drops[i], memory_order_relaxed);
    return n;
}

/* How much of its ring a record may fill. */
enum rec_room {
    ROOM_ALL,   /* windows, per-server rows, alerts, top entries */
    ROOM_SHARE, /* transfers and their TCP ends: up to DETAIL_SHARE, so the above fit */
    ROOM_SHED   /* passive-DNS answers: up to DETAIL_SHARE, and after a full ring the next
                 * SHED_BACKOFF are dropped without a look (no cross-core read per message) */
};
#define SHED_BACKOFF 1024

/* Reserves a record of payload bytes in the ring; NULL (and a drop counted) when there is
 * no room (a complete store waits for room instead). Published with the next batch, or at
 * once with rec_end(s, true). */
static void *rec_begin(db_store *s, enum rec_kind kind, enum db_drop_kind dk, size_t payload,
                       enum rec_room room)
{
    size_t len = sizeof(struct spsc_hdr) + payload;
    size_t limit = room == ROOM_ALL ? s->q.size : DETAIL_SHARE(s->q.size);
    struct spsc_hdr *h;

    if (!s->running)
        return NULL;
    if (room == ROOM_SHED && s->backoff) { /* never set in a complete store */
        s->backoff--;
        if (dk < DB_DROP_N)
            drop_add(s, dk, 1);
        return NULL;
    }
    if (len > s->q.size / 4 || !(h = spsc_reserve_within(&s->q, len, limit, s->complete))) {
        if (room == ROOM_SHED && !s->complete)
            s->backoff = SHED_BACKOFF;
        if (dk < DB_DROP_N)
            drop_add(s, dk, 1);
        return NULL;
    }
    h->type = (uint16_t)kind;
    return h + 1;
}

static void rec_end(db_store *s, bool now)
{
    spsc_commit(&s->q);
    if (now)
        spsc_publish(&s->q);
}

/* ---- per-server sums (the producer's table and the writer's) ---- */

static struct srv_agg *srv_slot(struct srv_table *t, uint8_t af, const uint8_t *addr)
{
    size_t alen = af == 6 ? 16 : 4;
    uint64_t h = sketch_hash_addr(addr, af);
    for (uint32_t i = 0; i < 16; i++) {
        struct srv_agg *a = &t->slot[(h + i) & (SRV_SLOTS - 1)];
        if (!a->used) {
            a->used = 1;
            a->af = af;
            memcpy(a->addr, addr, alen);
            t->used[t->n++] = (uint16_t)((h + i) & (SRV_SLOTS - 1));
            return a;
        }
        if (a->af == af && !memcmp(a->addr, addr, alen))
            return a;
    }
    t->overflow++;
    return &t->other;
}

/* Adds b's sums to a (not its identity). */
static void srv_add(struct srv_agg *a, const struct srv_agg *b)
{
    a->q += b->q, a->r += b->r, a->edns_err += b->edns_err;
    a->unans += b->unans, a->unsol += b->unsol, a->dup += b->dup;
    a->tc += b->tc, a->lat_sum_us += b->lat_sum_us, a->lat_n += b->lat_n;
    a->txns += b->txns;
    for (int k = 0; k < 7; k++)
        a->rc[k] += b->rc[k];
}

/* ---- producer API (analysis thread) ---- */

/* Sends the producer's per-server rows of the closing window ahead of the window itself. */
static void send_srv(db_store *s, const struct srv_agg *a, bool other)
{

    struct rec_srv *r;

    if (!a->txns)
        return;
    r = rec_begin(s, REC_SRV, DB_DROP_TXN, sizeof(*r), ROOM_ALL);
    if (!r) {
        /* counted per transaction, as the dropped per-transaction records were before */
        if (s->running)
            drop_add(s, DB_DROP_TXN, a->txns - 1);
        return;
    }
    r->other = other;
    r->a = *a;
    rec_end(s, false);
}

static void pdns_counts_send(db_store *s);

static void on_window(void *user, const struct win_stats *w)
{
    db_store *s = user;
    struct srv_table *t = &s->psrv;
    void *p;

    if (s->running)
        pdns_counts_send(s); /* the window's repeats are written before it commits */
    for (uint32_t i = 0; i < t->n; i++) {
        struct srv_agg *a = &t->slot[t->used[i]];
        send_srv(s, a, false);
        memset(a, 0, sizeof(*a));
    }
    t->n = 0;
    send_srv(s, &t->other, true);
    memset(&t->other, 0, sizeof(t->other));
    p = rec_begin(s, REC_WINDOW, DB_DROP_WINDOW, sizeof(*w), ROOM_ALL);
    if (!p)
        return;
    memcpy(p, w, sizeof(*w));
    rec_end(s, true);
}

static void on_txn(void *user, const struct flow_txn *t)
{
    db_store *s = user;
    struct srv_agg *a;

    if (!s->running)
        return;
    a = srv_slot(&s->psrv, t->af, t->server);
    a->txns++;
    switch (t->outcome) {
    case FLOW_ANSWERED:
        a->q++;
        a->r++;
        a->lat_sum_us += t->latency_ns / 1000;
        a->lat_n++;
        break;
    case FLOW_UNANSWERED:
    case FLOW_EVICTED:
        a->q++;
        a->unans++;
        break;
    case FLOW_UNSOLICITED:
        a->r++;
        a->unsol++;
        break;
    case FLOW_DUPLICATE:
        a->r++;
        a->dup++;
        break;
    default:
        a->r++;
        break;
    }
    if (t->response) {
        /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED other */
        unsigned rc = t->response->rcode <= DNS_R_REFUSED ? t->response->rcode : 6;
        a->rc[rc]++;
        a->tc += t->response->tc;
    }
    a->edns_err += win_edns_error(t);
}

/* ---- passive DNS (analysis side) ---- */

static uint64_t rr_key(const struct dns_msg *m, const struct dns_rr *rr, const uint8_t *srv,
                       size_t srvlen, uint8_t *owner, size_t *olen);
static bool rr_text(const struct dns_msg *m, uint32_t off, char *name, size_t nn, char *type,
                    size_t tn, char *rdata, size_t rn);
static void addr_fmt(uint8_t af, const uint8_t *a, char *buf);

/* Hands the counted repeats to the writer. */
static void pdns_counts_send(db_store *s)
{
    uint32_t i = 0;
    while (i < s->ndirty) {
        uint32_t n = s->ndirty - i < COUNTS_PER_REC ? s->ndirty - i : COUNTS_PER_REC, k = 0;
        struct rrset_count *c = rec_begin(s, REC_RRSET_COUNTS, DB_DROP_MSG,
                                          n * sizeof(*c) + sizeof(uint32_t), ROOM_ALL);
        uint32_t *hdr = (uint32_t *)c;
        if (!c)
            break;
        c = (struct rrset_count *)(void *)((uint8_t *)c + 8);
        for (uint32_t j = 0; j < n; j++) {
            struct pdns_ent *e = &s->pdns[s->pdns_dirty[i + j]];
            if (!e->pending)
                continue;
            c[k].slot = s->pdns_dirty[i + j];
            c[k].pending = e->pending;
            c[k].last_ns = e->last_ns;
            e->pending = 0;
            k++;
        }
        hdr[0] = k;
        rec_end(s, false);
        i += n;
    }
    for (; i < s->ndirty; i++) /* not handed on: the ring is full (counted above) */
        s->pdns[s->pdns_dirty[i]].pending = 0;
    s->ndirty = 0;
}

/* Forgets every RRset once the writer has been told (until then new RRsets are shed). */
static bool pdns_clear(db_store *s)
{
    pdns_counts_send(s);
    if (!rec_begin(s, REC_RRSET_CLEAR, DB_DROP_N, 0, ROOM_ALL))
        return false;
    rec_end(s, false);
    s->pdns_epoch++;
    s->pdns_used = 0;
    s->clear_due = false;
    return true;
}

/* One answer RR: a repeat is counted, a new RRset is sent as text. False when it had to be
 * shed. */
static bool pdns_note(db_store *s, const struct dns_msg *m, const struct dns_rr *rr,
                      const struct cap_meta *meta)
{
    uint8_t owner[DNS_MAX_NAME];
    size_t olen, srvlen = meta->af == 6 ? 16 : 4;
    uint64_t key = rr_key(m, rr, meta->src, srvlen, owner, &olen);
    struct pdns_ent *e = NULL;
    uint32_t slot = 0;
    char name[1024], type[32], rdata[2048], srv[48];
    struct rec_rrset *r;

    if (!key)
        return true;
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t at = (uint32_t)((key + i) & (PDNS_SLOTS - 1));
        struct pdns_ent *c = &s->pdns[at];
        if (c->epoch != s->pdns_epoch) {
            e = c, slot = at;
            break;
        }
        if (c->key == key) {
            if (c->pending++ == 0)
                s->pdns_dirty[s->ndirty++] = at;
            c->last_ns = meta->ts_ns > c->last_ns ? meta->ts_ns : c->last_ns;
            s->pseen++;
            return true;
        }
    }
    if (!e || s->pdns_used >= PDNS_SLOTS / 4 * 3)
        s->clear_due = true;
    if (s->clear_due) {
        if (!pdns_clear(s))
            return false;
        slot = (uint32_t)(key & (PDNS_SLOTS - 1));
        e = &s->pdns[slot];
    }
    if ((rr->type == DNS_T_A && rr->rdlen == 4) || (rr->type == DNS_T_AAAA && rr->rdlen == 16)) {
        /* The common case without ldns's allocations. */
        dns_name_to_str(owner, olen, name, sizeof(name));
        memcpy(type, rr->type == DNS_T_A ? "A" : "AAAA", rr->type == DNS_T_A ? 2 : 5);
        addr_fmt(rr->type == DNS_T_A ? 4 : 6, rr->rdata, rdata);
    } else if (!rr_text(m, rr->name_off, name, sizeof(name), type, sizeof(type), rdata,
                        sizeof(rdata))) {
        return true;
    }
    addr_fmt(meta->af, meta->src, srv);
    size_t ln = strlen(name), lt = strlen(type), lr = strlen(rdata), ls = strlen(srv);
    r = rec_begin(s, REC_RRSET, DB_DROP_N, sizeof(*r) + ln + lt + lr + ls + 4, ROOM_SHED);
    if (!r)
        return false;
    r->key = key;
    r->ts_ns = meta->ts_ns;
    r->slot = slot;
    r->ln = (uint16_t)ln, r->lt = (uint16_t)lt, r->lr = (uint16_t)lr, r->ls = (uint16_t)ls;
    char *p = (char *)(r + 1);
    memcpy(p, name, ln + 1);
    memcpy(p += ln + 1, type, lt + 1);
    memcpy(p += lt + 1, rdata, lr + 1);
    memcpy(p + lr + 1, srv, ls + 1);
    rec_end(s, false);
    e->key = key;
    e->epoch = s->pdns_epoch;
    e->pending = 0;
    e->last_ns = meta->ts_ns;
    s->pdns_used++;
    return true;
}

/* An answer with records: each answer RR to passive DNS; the message itself to the writer
 * only when it has a SOA (the zone table). Counted as handed on, or as shed. */
static void pdns_message(db_store *s, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct dns_rr_iter it;
    struct dns_rr rr;
    bool ok = true, soa = false;

    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
        if (rr.type == DNS_T_OPT)
            continue;
        soa |= rr.type == DNS_T_SOA;
        ok &= pdns_note(s, m, &rr, meta);
    }
    if (soa) {
        struct rec_msg *r = rec_begin(s, REC_MSG, DB_DROP_N, sizeof(*r) + m->len, ROOM_SHED);
        if (r) {
            r->ts_ns = meta->ts_ns;
            r->len = (uint32_t)m->len;
            r->af = meta->af;
            memcpy(r->src, meta->src, 16);
            memcpy(r->dst, meta->dst, 16);
            r->sport = meta->sport;
            r->dport = meta->dport;
            memcpy(r + 1, m->wire, m->len);
            rec_end(s, false);
        }
        ok &= r != NULL;
    }
    if (ok)
        s->pmessages++;
    else
        drop_add(s, DB_DROP_MSG, 1);
}

static void on_message(void *user, const struct dns_msg *m, const struct cap_meta *meta)
{
    db_store *s = user;

    /* Answers feed passive DNS and zones; transfer responses are the tracker's (on_xfr), here
     * only counted as handled. */
    if (!m->qr || !m->rrs_ok || !m->has_qtype || !s->running)
        return;
    if (dns_is_xfr(m->qtype))
        s->pmessages++;
    else if (m->rcode == DNS_R_NOERROR && m->ancount > 0)
        pdns_message(s, m, meta);
}

/* REC_XFR: a finished zone transfer, as the dispatcher's tracker decided it. */
struct rec_xfr {
    uint64_t start_ns, end_ns, messages, records;
    uint32_t soa[5];
    uint16_t qtype;
    uint8_t af, outcome, have_soa, pad[3];
    uint8_t client[16], server[16];
    char zone[256], reason[64];
};

static void on_xfr(void *user, const struct xfr_result *x)
{
    db_store *s = user;
    struct rec_xfr *r;

    if (!s->running || !(r = rec_begin(s, REC_XFR, DB_DROP_EVENT, sizeof(*r), ROOM_SHARE)))
        return;
    memset(r, 0, sizeof(*r));
    r->start_ns = x->start_ns;
    r->end_ns = x->end_ns;
    r->messages = x->messages;
    r->records = x->records;
    memcpy(r->soa, x->soa, sizeof(r->soa));
    r->qtype = x->qtype;
    r->af = x->af;
    r->outcome = (uint8_t)x->outcome;
    r->have_soa = x->have_soa;
    memcpy(r->client, x->client, 16);
    memcpy(r->server, x->server, 16);
    snprintf(r->zone, sizeof(r->zone), "%s", x->zone);
    xfr_reason(x, r->reason, sizeof(r->reason));
    rec_end(s, false);
}

void db_sink(db_store *s, struct disp_sink *sink)
{
    sink->on_window = on_window;
    sink->on_txn = on_txn;
    sink->on_message = on_message;
    sink->on_xfr = on_xfr;
    sink->user = s;
}

static size_t strs_len(const char *const *v, unsigned n)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += strlen(v[i] ? v[i] : "") + 1;
    return len;
}

static void strs_put(char *p, const char *const *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(v[i] ? v[i] : "") + 1;
        memcpy(p, v[i] ? v[i] : "", l);
        p += l;
    }
}

void db_alert(db_store *s, const struct db_alert *a)
{
    const char *v[ALERT_STRS] = {a->rule,    a->reference, a->severity,     a->state,  a->key,
                                 a->summary, a->client,    a->server,       a->victim, a->zone,
                                 a->qname,   a->evidence,  a->evidence_file};
    size_t sl = strs_len(v, ALERT_STRS);
    struct rec_alert *r = rec_begin(s, REC_ALERT, DB_DROP_ALERT, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    r->id = a->id;
    r->first_ns = a->first_ns;
    r->last_ns = a->last_ns;
    r->count = a->count;
    r->threshold = a->threshold;
    r->observed = a->observed;
    strs_put((char *)(r + 1), v, ALERT_STRS);
    rec_end(s, true);
}

void db_top(db_store *s, const char *kind, unsigned rank, const char *name, uint64_t count)
{
    const char *v[2] = {kind, name};
    size_t sl = strs_len(v, 2);
    struct rec_top *r = rec_begin(s, REC_TOP, DB_DROP_TOP, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    r->rank = rank;
    r->count = count;
    strs_put((char *)(r + 1), v, 2);
    rec_end(s, true);
}

void db_log_event(db_store *s, uint64_t ts_ns, const char *source, const char *server,
                  const char *kind, const char *zone, const char *peer, const char *detail)
{
    const char *v[6] = {source, server, kind, zone, peer, detail};
    size_t sl = strs_len(v, 6);
    uint64_t *r = rec_begin(s, REC_LOGEV, DB_DROP_ALERT, sizeof(*r) + sl, ROOM_ALL);
    if (!r)
        return;
    *r = ts_ns;
    strs_put((char *)(r + 1), v, 6);
    rec_end(s, true);
}

/* ---- writer ---- */

static void sql_fail(db_store *s, const char *what)
{
    if (s->stats.sql_errors++ == 0)
        log_msg(LOG_ERROR, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static void step(db_store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->st[id];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        sql_fail(s, stmt_sql[id]);
    else
        s->stats.rows++, s->tx_rows++;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void tx_begin(db_store *s)
{
    if (s->in_tx)
        return;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        sql_fail(s, "BEGIN");
    s->in_tx = true;
    s->tx_rows = 0;
    clock_gettime(CLOCK_MONOTONIC, &s->tx_start);
}

static void pdns_batch(db_store *s);

static void tx_commit(db_store *s)
{
    if (!s->in_tx)
        return;
    pdns_batch(s);
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sql_fail(s, "COMMIT");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        s->stats.batches++;
        if (s->tx_window_end > atomic_load(&s->committed_ns))
            atomic_store(&s->committed_ns, s->tx_window_end);
        log_msg(LOG_DEBUG, "store: batch %llu committed (%llu rows, %llu windows)",
                (unsigned long long)s->stats.batches, (unsigned long long)s->stats.rows,
                (unsigned long long)s->stats.windows);
    }
    s->in_tx = false;
}

/* An address as text, as inet_ntop writes it (RFC 5952 for IPv6), without its sprintf per
 * byte: the store formats one or two for every answer RR. buf: at least 46 bytes. */
static void addr_fmt(uint8_t af, const uint8_t *a, char *buf)
{
    char *p = buf;
    if (af != 6) {
        for (int i = 0; i < 4; i++) {
            unsigned v = a[i];
            if (i)
                *p++ = '.';
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
        }
        *p = 0;
        return;
    }
    /* IPv4-mapped and -compatible forms: inet_ntop's own. */
    static const uint8_t z10[10];
    if (!memcmp(a, z10, 10) && ((a[10] == 0xff && a[11] == 0xff) || (!a[10] && !a[11]))) {
        if (!inet_ntop(AF_INET6, a, buf, 46))
            snprintf(buf, 46, "?");
        return;
    }
    unsigned w[8];
    int best = -1, blen = 0;
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    for (int i = 0; i < 8;) { /* the longest run of two or more zero words (the first) */
        int j = i;
        while (j < 8 && !w[j])
            j++;
        if (j - i > blen && j - i >= 2)
            best = i, blen = j - i;
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8; i++) {
        static const char hex[] = "0123456789abcdef";
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += blen - 1;
            continue;
        }
        bool lead = true;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = w[i] >> sh & 15;
            if (d || !lead || sh == 0)
                *p++ = hex[d], lead = false;
        }
        if (i < 7)
            *p++ = ':';
    }
    *p = 0;
}

static const char *addr_text(uint8_t af, const uint8_t *a, char *buf)
{
    return inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, buf, 46) ? buf : "?";
}

static void w_srv(db_store *s, const struct rec_srv *r)
{
    srv_add(r->other ? &s->srv.other : srv_slot(&s->srv, r->a.af, r->a.addr), &r->a);
}

static int srv_cmp(const void *x, const void *y)
{
    const struct srv_agg *a = x, *b = y;
    uint64_t ta = a->q + a->r, tb = b->q + b->r;
    return ta < tb ? 1 : ta > tb ? -1 : memcmp(a->addr, b->addr, 16);
}

static void bind_window(db_store *s, uint64_t start, uint64_t end, const char *server)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)start);
    sqlite3_bind_int64(st, 3, (int64_t)end);
    sqlite3_bind_text(st, 4, server, -1, SQLITE_TRANSIENT);
}

static void write_srv_row(db_store *s, const struct win_stats *w, const struct srv_agg *a,
                          const char *name)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    bind_window(s, w->start_ns, w->end_ns, name);
    sqlite3_bind_int64(st, 5, (int64_t)a->q);
    sqlite3_bind_int64(st, 6, (int64_t)a->r);
    for (int i = 0; i < 7; i++)
        sqlite3_bind_int64(st, 7 + i, (int64_t)a->rc[i]);
    sqlite3_bind_int64(st, 16, (int64_t)a->tc);
    sqlite3_bind_int64(st, 17, (int64_t)a->edns_err);
    sqlite3_bind_int64(st, 18, (int64_t)a->unans);
    sqlite3_bind_int64(st, 19, (int64_t)a->unsol);
    sqlite3_bind_int64(st, 20, (int64_t)a->dup);
    if (a->lat_n)
        sqlite3_bind_int64(st, 26, (int64_t)(a->lat_sum_us / a->lat_n));
    step(s, ST_WINDOW);
}

static void loss_json(const uint64_t *loss, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "{");
    for (int i = 0; i < LOSS_N && o < n; i++)
        if (loss[i])
            o += (size_t)snprintf(buf + o, n - o, "%s\"%s\":%llu", o > 1 ? "," : "",
                                  loss_name((enum loss_counter)i), (unsigned long long)loss[i]);
    if (o < n)
        snprintf(buf + o, n - o, "}");
}

static void w_window(db_store *s, const struct win_stats *w)
{
    sqlite3_stmt *st = s->st[ST_WINDOW];
    uint64_t rc_other = 0, loss = 0;
    struct srv_agg *rows;
    uint32_t n = 0;
    char buf[2048];

    tx_begin(s);
    for (unsigned i = 6; i < WIN_RCODES; i++)
        rc_other += w->rcode[i];
    for (int i = 0; i < LOSS_N; i++)
        loss += w->loss[i];
    bind_window(s, w->start_ns, w->end_ns, "*");
    sqlite3_bind_int64(st, 5, (int64_t)w->queries);
    sqlite3_bind_int64(st, 6, (int64_t)w->responses);
    for (int i = 0; i < 6; i++)
        sqlite3_bind_int64(st, 7 + i, (int64_t)w->rcode[i]);
    sqlite3_bind_int64(st, 13, (int64_t)rc_other);
    sqlite3_bind_int64(st, 14, (int64_t)w->edns);
    sqlite3_bind_int64(st, 15, (int64_t)w->edns_do);
    sqlite3_bind_int64(st, 16, (int64_t)w->tc);
    sqlite3_bind_int64(st, 17, (int64_t)w->edns_errors);
    sqlite3_bind_int64(st, 18, (int64_t)(w->outcome[FLOW_UNANSWERED] + w->outcome[FLOW_EVICTED]));
    sqlite3_bind_int64(st, 19, (int64_t)w->outcome[FLOW_UNSOLICITED]);
    sqlite3_bind_int64(st, 20, (int64_t)w->outcome[FLOW_DUPLICATE]);
    if (w->latency_samples) {
        sqlite3_bind_int64(st, 21, (int64_t)w->p50_us);
        sqlite3_bind_int64(st, 22, (int64_t)w->p95_us);
        sqlite3_bind_int64(st, 23, (int64_t)w->p99_us);
    }
    sqlite3_bind_int64(st, 24, (int64_t)w->malformed);
    sqlite3_bind_int64(st, 25, (int64_t)loss);
    loss_json(w->loss, buf, sizeof(buf));
    sqlite3_bind_text(st, 27, buf, -1, SQLITE_TRANSIENT);
    step(s, ST_WINDOW);
    s->stats.windows++;
    st = s->st[ST_RUN_SPAN];
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)w->start_ns);
    sqlite3_bind_int64(st, 3, (int64_t)w->end_ns);
    step(s, ST_RUN_SPAN);

    /* Per-server rows: the busiest SRV_ROWS servers, the rest summed under "other". */
    rows = s->srv_rows;
    for (uint32_t i = 0; i < s->srv.n; i++) {
        struct srv_agg *a = &s->srv.slot[s->srv.used[i]];
        rows[n++] = *a;
        memset(a, 0, sizeof(*a));
    }
    s->srv.n = 0;
    qsort(rows, n, sizeof(*rows), srv_cmp);
    for (uint32_t i = 0; i < n; i++) {
        if (i < SRV_ROWS)
            write_srv_row(s, w, &rows[i], addr_text(rows[i].af, rows[i].addr, buf));
        else
            srv_add(&s->srv.other, &rows[i]);
    }
    if (s->srv.other.q + s->srv.other.r)
        write_srv_row(s, w, &s->srv.other, "other");
    memset(&s->srv.other, 0, sizeof(s->srv.other));
    s->tx_window_end = w->end_ns;
    uint64_t want = atomic_load(&s->commit_wanted_ns);
    if (want && w->end_ns >= want)
        tx_commit(s);
}

/* Canonical hash of an RR: owner (lower case), type, and rdata with the names of the
 * common name-carrying types expanded, so compression does not change the key. */
static uint64_t rr_key(const struct dns_msg *m, const struct dns_rr *rr, const uint8_t *srv,
                       size_t srvlen, uint8_t *owner, size_t *olen)
{
    uint8_t buf[DNS_MAX_NAME];
    size_t next, len, pre = 0, post = 0;
    uint64_t h;
    int names = 0;

    if (dns_name_walk(m->wire, m->len, rr->name_off, &next, owner, olen) != DNS_MAL_NONE)
        return 0;
    for (size_t i = 0; i < *olen; i++)
        owner[i] = (uint8_t)tolower(owner[i]);
    h = sketch_mix64(sketch_hash(owner, *olen, false) ^ ((uint64_t)rr->type << 48));
    h = sketch_mix64(h ^ sketch_hash(srv, srvlen, false));
    switch (rr->type) {
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR:
    case DNS_T_DNAME:
        names = 1;
        break;
    case DNS_T_MX:
        pre = 2, names = 1;
        break;
    case DNS_T_SRV:
        pre = 6, names = 1;
        break;
    case DNS_T_SOA:
        names = 2, post = 20;
        break;
    default:
        return sketch_mix64(h ^ sketch_hash(rr->rdata, rr->rdlen, false)) | 1;
    }
    if (pre > rr->rdlen)
        return 0;
    h = sketch_mix64(h ^ sketch_hash(rr->rdata, pre, false));
    next = rr->rdata_off + pre;
    for (int i = 0; i < names; i++) {
        size_t at = next;
        if (dns_name_walk(m->wire, rr->rdata_off + rr->rdlen, at, &next, buf, &len) != DNS_MAL_NONE)
            return 0;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)tolower(buf[k]);
        h = sketch_mix64(h ^ sketch_hash(buf, len, false));
    }
    if (next + post > rr->rdata_off + rr->rdlen)
        return 0;
    return sketch_mix64(h ^ sketch_hash(m->wire + next, post, false)) | 1;
}

static const char *prow_str(const db_store *s, uint32_t off)
{
    return s->parena + off;
}

/* Batch order: name, type, rdata, server, key (a total order, so the rowids a batch gets do
 * not depend on the sort). */
static int prow_cmp(const void *x, const void *y, void *arg)
{
    const db_store *s = arg;
    const struct prow_ord *oa = x, *ob = y;
    const struct pdns_row *a, *b;
    int c;
    if (oa->name8 != ob->name8)
        return oa->name8 < ob->name8 ? -1 : 1;
    a = &s->prow[oa->idx], b = &s->prow[ob->idx];
    if ((c = strcmp(prow_str(s, a->name), prow_str(s, b->name))) ||
        (c = strcmp(prow_str(s, a->type), prow_str(s, b->type))) ||
        (c = strcmp(prow_str(s, a->rdata), prow_str(s, b->rdata))) ||
        (c = strcmp(prow_str(s, a->server), prow_str(s, b->server))))
        return c;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Writes the batch of new RRsets in name order (the name index is then filled page by page,
 * not at random: the cost of a flood of unique names). */
static void pdns_batch(db_store *s)
{
    sqlite3_stmt *ins = s->st[ST_RRSET_NEW], *find = s->st[ST_RRSET_FIND];

    if (!s->nprow)
        return;
    for (uint32_t i = 0; i < s->nprow; i++)
        s->porder[i] = (struct prow_ord){s->prow[i].name8, i, s->prow[i].slot};
    qsort_r(s->porder, s->nprow, sizeof(*s->porder), prow_cmp, s);
    for (uint32_t i = 0; i < s->nprow; i++) {
        const struct pdns_row *r = &s->prow[s->porder[i].idx];
        int64_t rowid = 0;
        if (i + 16 < s->nprow) /* rows and the map are big: ask for later lines now */
            __builtin_prefetch(&s->wrow[s->porder[i + 16].slot], 1, 3);
        if (i + 32 < s->nprow)
            __builtin_prefetch(&s->prow[s->porder[i + 16].idx], 0, 3);
        if (s->pdns_cleared) {
            sqlite3_bind_text(find, 1, prow_str(s, r->name), r->ln, SQLITE_STATIC);
            sqlite3_bind_text(find, 2, prow_str(s, r->type), r->lt, SQLITE_STATIC);
            sqlite3_bind_int64(find, 3, s->run_id);
            sqlite3_bind_int64(find, 4, (int64_t)r->key);
            if (sqlite3_step(find) == SQLITE_ROW)
                rowid = sqlite3_column_int64(find, 0);
            sqlite3_reset(find);
            sqlite3_clear_bindings(find);
        }
        if (rowid) {
            sqlite3_stmt *upd = s->st[ST_RRSET_UPD];
            sqlite3_bind_int64(upd, 1, rowid);
            sqlite3_bind_int64(upd, 2, (int64_t)r->count);
            sqlite3_bind_int64(upd, 3, (int64_t)r->last_ns);
            sqlite3_bind_int64(upd, 4, (int64_t)r->first_ns);
            step(s, ST_RRSET_UPD);
            s->stats.pdns_seen++;
        } else {
            sqlite3_bind_int64(ins, 1, s->run_id);
            sqlite3_bind_int64(ins, 2, (int64_t)r->key);
            sqlite3_bind_text(ins, 3, prow_str(s, r->name), r->ln, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, prow_str(s, r->type), r->lt, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, prow_str(s, r->rdata), r->lr, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, prow_str(s, r->server), r->ls, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 7, (int64_t)r->first_ns);
            sqlite3_bind_int64(ins, 8, (int64_t)r->last_ns);
            sqlite3_bind_int64(ins, 9, (int64_t)r->count);
            step(s, ST_RRSET_NEW);
            rowid = sqlite3_last_insert_rowid(s->db);
            s->stats.pdns_new++;
        }
        if (s->wrow[r->slot] == -(int64_t)s->porder[i].idx - 1)
            s->wrow[r->slot] = rowid;
    }
    s->nprow = 0;
    s->parena_used = 0;
}

/* Repeats of RRsets sent before: added to the batch row, or to the stored row. */
static void w_counts(db_store *s, const uint32_t *p)
{
    const struct rrset_count *c = (const void *)((const uint8_t *)p + 8);
    sqlite3_stmt *st = s->st[ST_RRSET_UPD];

    tx_begin(s);
    for (uint32_t i = 0; i < p[0]; i++) {
        int64_t r = s->wrow[c[i].slot];
        s->stats.pdns_seen += c[i].pending;
        if (r < 0) {
            struct pdns_row *row = &s->prow[-r - 1];
            row->count += c[i].pending;
            row->last_ns = c[i].last_ns > row->last_ns ? c[i].last_ns : row->last_ns;
        } else if (r > 0) {
            sqlite3_bind_int64(st, 1, r);
            sqlite3_bind_int64(st, 2, (int64_t)c[i].pending);
            sqlite3_bind_int64(st, 3, (int64_t)c[i].last_ns);
            sqlite3_bind_int64(st, 4, (int64_t)c[i].last_ns);
            step(s, ST_RRSET_UPD);
        }
    }
}

/* The analysis forgot its RRsets: the batch goes in, the slots start over, and from now on
 * a new RRset may be one stored before (looked up). */
static void w_clear(db_store *s)
{
    tx_begin(s);
    pdns_batch(s);
    memset(s->wrow, 0, PDNS_SLOTS * sizeof(*s->wrow));
    s->pdns_cleared = true;
    s->stats.pdns_flushes++;
}

/* Copies str into the arena; returns its offset. The caller made room. */
static uint32_t arena_put(db_store *s, const char *str, size_t n)
{
    n++;
    uint32_t off = (uint32_t)s->parena_used;
    memcpy(s->parena + off, str, n);
    s->parena_used += n;
    return off;
}

/* Formats the RR at off with ldns (writer thread only: allocations are fine here). */
static bool rr_text(const struct dns_msg *m, uint32_t off, char *name, size_t nn, char *type,
                    size_t tn, char *rdata, size_t rn)
{
    ldns_rr *rr = NULL;
    size_t pos = off, o = 0;
    char *t;

    if (ldns_wire2rr(&rr, m->wire, m->len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        return false;
    t = ldns_rdf2str(ldns_rr_owner(rr));
    snprintf(name, nn, "%s", t ? t : "?");
    free(t);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    t = ldns_rr_type2str(ldns_rr_get_type(rr));
    snprintf(type, tn, "%s", t ? t : "?");
    free(t);
    rdata[0] = 0;
    for (size_t i = 0; i < ldns_rr_rd_count(rr) && o < rn; i++) {
        t = ldns_rdf2str(ldns_rr_rdf(rr, i));
        o += (size_t)snprintf(rdata + o, rn - o, "%s%s", i ? " " : "", t ? t : "");
        free(t);
    }
    ldns_rr_free(rr);
    return true;
}

/* A new RRset: into the batch (sorted and inserted on commit or when it is full). */
static void w_rrset(db_store *s, const struct rec_rrset *r)
{
    const char *name = (const char *)(r + 1), *type = name + r->ln + 1, *rdata = type + r->lt + 1,
               *server = rdata + r->lr + 1;
    size_t need = (size_t)r->ln + r->lt + r->lr + r->ls + 4;
    struct pdns_row *row;

    tx_begin(s);
    if (s->nprow == PDNS_BATCH || s->parena_used + need > PDNS_ARENA)
        pdns_batch(s);
    row = &s->prow[s->nprow];
    row->key = r->key;
    row->first_ns = row->last_ns = r->ts_ns;
    row->count = 1;
    row->slot = r->slot;
    row->name = arena_put(s, name, r->ln);
    row->type = arena_put(s, type, r->lt);
    row->rdata = arena_put(s, rdata, r->lr);
    row->server = arena_put(s, server, r->ls);
    row->ln = r->ln, row->lt = r->lt, row->lr = r->lr, row->ls = r->ls;
    row->name8 = 0;
    for (size_t i = 0; i < 8; i++)
        row->name8 = row->name8 << 8 | (i < r->ln ? (uint8_t)name[i] : 0);
    s->wrow[r->slot] = -(int64_t)s->nprow - 1;
    s->nprow++;
}

static void w_zone(db_store *s, const struct rec_msg *r, const struct dns_rr *rr,
                   const uint32_t t[5])
{
    uint8_t owner[DNS_MAX_NAME];
    size_t olen, next;
    char zone[1024], srv[48];
    sqlite3_stmt *st = s->st[ST_ZONE];

    if (dns_name_walk(s->msg.wire, s->msg.len, rr->name_off, &next, owner, &olen) != DNS_MAL_NONE)
        return;
    dns_name_to_str(owner, olen, zone, sizeof(zone));
    for (char *p = zone; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, addr_text(r->af, r->src, srv), -1, SQLITE_TRANSIENT);
    for (int i = 0; i < 5; i++)
        sqlite3_bind_int64(st, 4 + i, t[i]);
    sqlite3_bind_int64(st, 9, (int64_t)r->ts_ns);
    step(s, ST_ZONE);
}

/* A finished transfer: its row; the zone as transferred (the first SOA); and, when it
 * succeeded, the zone's last good transfer. */
static void w_xfr(db_store *s, const struct rec_xfr *x)
{
    sqlite3_stmt *st = s->st[ST_XFR];
    char cl[48], sv[48], qt[16];

    tx_begin(s);
    addr_fmt(x->af, x->client, cl);
    addr_fmt(x->af, x->server, sv);
    if (x->have_soa) {
        sqlite3_stmt *z = s->st[ST_ZONE];
        sqlite3_bind_int64(z, 1, s->run_id);
        sqlite3_bind_text(z, 2, x->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(z, 3, sv, -1, SQLITE_STATIC);
        for (int i = 0; i < 5; i++)
            sqlite3_bind_int64(z, 4 + i, x->soa[i]);
        sqlite3_bind_int64(z, 9, (int64_t)x->start_ns);
        step(s, ST_ZONE);
    }
    dns_type_str(x->qtype, qt, sizeof(qt));
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, x->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, cl, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sv, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, qt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)x->start_ns);
    sqlite3_bind_int64(st, 7, (int64_t)x->end_ns);
    sqlite3_bind_text(st, 8, xfr_outcome_name((enum xfr_outcome)x->outcome), -1, SQLITE_STATIC);
    if (x->reason[0])
        sqlite3_bind_text(st, 9, x->reason, -1, SQLITE_STATIC);
    if (x->have_soa)
        sqlite3_bind_int64(st, 10, x->soa[0]);
    sqlite3_bind_int64(st, 11, (int64_t)x->messages);
    sqlite3_bind_int64(st, 12, (int64_t)x->records);
    step(s, ST_XFR);
    if (x->outcome == XFR_OK) {
        st = s->st[ST_ZONE_OK];
        s->stats.xfr_ok++;
        sqlite3_bind_int64(st, 1, s->run_id);
        sqlite3_bind_text(st, 2, x->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sv, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)x->end_ns);
        step(s, ST_ZONE_OK);
    } else {
        s->stats.xfr_failed++;
    }
}

/* An answer with a SOA (its passive DNS came as REC_RRSET): the zone table. */
static void w_msg(db_store *s, const struct rec_msg *r)
{
    struct dns_rr_iter it;
    struct dns_rr rr;

    dns_decode((const uint8_t *)(r + 1), r->len, false, &s->msg);
    if (!s->msg.rrs_ok || !s->msg.has_qtype)
        return;
    tx_begin(s);
    dns_rr_iter_init(&it, &s->msg);
    while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
        uint32_t t[5];
        if (rr.type == DNS_T_SOA && dns_soa_fields(&s->msg, &rr, t))
            w_zone(s, r, &rr, t);
    }
}

static const char *next_str(const char **p)
{
    const char *s = *p;
    *p += strlen(s) + 1;
    return s;
}

static void w_alert(db_store *s, const struct rec_alert *a)
{
    sqlite3_stmt *st = s->st[ST_ALERT];
    const char *p = (const char *)(a + 1);

    tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, a->id);
    for (int i = 0; i < ALERT_STRS; i++) {
        const char *v = next_str(&p);
        if (*v || i < 6)
            sqlite3_bind_text(st, 3 + i, v, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, 16, (int64_t)a->first_ns);
    sqlite3_bind_int64(st, 17, (int64_t)a->last_ns);
    sqlite3_bind_int64(st, 18, (int64_t)a->count);
    sqlite3_bind_double(st, 19, a->threshold);
    sqlite3_bind_double(st, 20, a->observed);
    step(s, ST_ALERT);
}

static void w_top(db_store *s, const struct rec_top *t)
{
    sqlite3_stmt *st = s->st[ST_TOP];
    const char *p = (const char *)(t + 1);
    const char *kind = next_str(&p), *name = next_str(&p);

    tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, t->rank);
    sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (int64_t)t->count);
    step(s, ST_TOP);
}

static void w_logev(db_store *s, const uint64_t *r)
{
    sqlite3_stmt *st = s->st[ST_LOGEV];
    const char *p = (const char *)(r + 1);

    tx_begin(s);
    sqlite3_bind_int64(st, 1, s->run_id);
    sqlite3_bind_int64(st, 2, (int64_t)*r);
    for (int i = 0; i < 6; i++) {
        const char *v = next_str(&p);
        if (*v || i == 0 || i == 2)
            sqlite3_bind_text(st, 3 + i, v, -1, SQLITE_TRANSIENT);
    }
    step(s, ST_LOGEV);
}

static void handle(db_store *s, const struct spsc_hdr *h)
{
    const void *p = h + 1;
    switch ((enum rec_kind)h->type) {
    case REC_WINDOW: {
        struct win_stats w;
        memcpy(&w, p, sizeof(w));
        w_window(s, &w);
        break;
    }
    case REC_SRV:
        w_srv(s, p);
        break;
    case REC_MSG:
        w_msg(s, p);
        break;
    case REC_ALERT:
        w_alert(s, p);
        break;
    case REC_TOP:
        w_top(s, p);
        break;
    case REC_LOGEV:
        w_logev(s, p);
        break;
    case REC_XFR:
        w_xfr(s, p);
        break;
    case REC_RRSET:
        w_rrset(s, p);
        break;
    case REC_RRSET_COUNTS:
        w_counts(s, p);
        break;
    case REC_RRSET_CLEAR:
        w_clear(s);
        break;
    default:
        break;
    }
}

/* A complete store commits by rows only, so that its batches (and every figure of the
 * summary) are the same run after run; a live one also by time, so a window is on disk
 * within a second of closing. */
static bool commit_due(db_store *s)
{
    if (s->complete)
        return s->tx_rows >= COMPLETE_BATCH_ROWS;
    return s->tx_rows >= BATCH_ROWS || elapsed_ms(&s->tx_start) >= COMMIT_MS;
}

/* The writer: takes records in batches, commits every BATCH_ROWS rows or COMMIT_MS (also
 * while the analysis is quiet), and ends once the analysis closed the ring and every record
 * is written. */
static void *writer(void *arg)
{
    db_store *s = arg;
    const struct spsc_hdr *recs[256];

    for (;;) {
        size_t n = spsc_take_for(&s->q, recs, 256, 50);
        for (size_t i = 0; i < n; i++)
            handle(s, recs[i]);
        spsc_release(&s->q);
        if (!n && spsc_drained(&s->q))
            break;
        if (s->in_tx && commit_due(s))
            tx_commit(s);
    }
    return NULL;
}

static void now_rfc3339(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int db_begin_run(db_store *s, const struct db_run_info *ri, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char now[32];
    int rc = ERR_DB;

    now_rfc3339(now, sizeof(now));
    if (exec(s->db, "BEGIN IMMEDIATE", err, errlen) < 0)
        return ERR_DB;
    /* The same inputs again: the earlier run and all its rows go (ON DELETE CASCADE). */
    if (sqlite3_prepare_v2(s->db, "DELETE FROM run WHERE run_key=?1", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, ri->run_key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    if (sqlite3_changes(s->db) > 0)
        log_msg(LOG_INFO, "store: replacing the earlier analysis of the same input");
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO run(run_key,sensor,source,inputs,started,window_s,version) "
                           "VALUES(?1,?2,?3,?4,?5,?6,?7)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, ri->run_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ri->sensor ? ri->sensor : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ri->source ? ri->source : "packets", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ri->inputs ? ri->inputs : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)(ri->window_ns / 1000000000ull));
    sqlite3_bind_text(st, 7, ri->version ? ri->version : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    s->run_id = sqlite3_last_insert_rowid(s->db);
    if (exec(s->db, "COMMIT", err, errlen) < 0)
        goto out_nomsg;
    sqlite3_finalize(st);
    st = NULL;

    s->complete = ri->complete;
    if (s->complete && exec(s->db, COMPLETE_CACHE, err, errlen) < 0)
        return ERR_DB;
    if (spsc_init(&s->q, RING_SIZE) < 0) {
        set_err(err, errlen, s->path, "out of memory");
        return ERR_NOMEM;
    }
    s->srv.slot = calloc(SRV_SLOTS, sizeof(*s->srv.slot));
    s->psrv.slot = calloc(SRV_SLOTS, sizeof(*s->psrv.slot));
    s->srv_rows = calloc(SRV_SLOTS, sizeof(*s->srv_rows));
    s->pdns = calloc(PDNS_SLOTS, sizeof(*s->pdns));
    s->pdns_dirty = calloc(PDNS_SLOTS, sizeof(*s->pdns_dirty));
    s->wrow = calloc(PDNS_SLOTS, sizeof(*s->wrow));
    s->pdns_epoch = 1;
    s->prow = malloc(PDNS_BATCH * sizeof(*s->prow));
    s->porder = malloc(PDNS_BATCH * sizeof(*s->porder));
    s->parena = malloc(PDNS_ARENA);
    if (!s->srv.slot || !s->psrv.slot || !s->srv_rows || !s->pdns || !s->pdns_dirty || !s->prow ||
        !s->porder || !s->parena) {
        set_err(err, errlen, s->path, "out of memory");
        return ERR_NOMEM;
    }
    if (pthread_create(&s->thread, NULL, writer, s) != 0) {
        set_err(err, errlen, s->path, "cannot start the writer thread");
        return ERR_NOMEM;
    }
    s->running = true;
    return 0;
out:
    set_err(err, errlen, s->path, sqlite3_errmsg(s->db));
out_nomsg:
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int db_end_run(db_store *s, const struct db_run_end *re)
{
    sqlite3_stmt *st = NULL;
    uint64_t dropped = 0;
    char now[32];
    int rc = 0;

    if (!s->running)
        return ERR_INVAL;
    pdns_counts_send(s);
    spsc_close(&s->q);
    pthread_join(s->thread, NULL);
    s->running = false;
    s->stats.messages += s->pmessages;
    for (int i = 0; i < DB_DROP_N; i++) {
        s->stats.dropped[i] += atomic_load_explicit(&s->drops[i], memory_order_relaxed);
        dropped += s->stats.dropped[i];
    }
    s->stats.server_overflow = s->psrv.overflow + s->srv.overflow;
    s->stats.xfr_overflow = re->xfr_untracked;
    s->stats.producer_waits = s->q.producer_waits;
    /* What the writer still holds: the last batch of new RRsets. */
    tx_begin(s);
    pdns_batch(s);
    now_rfc3339(now, sizeof(now));
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE run SET finished=?2,status=?3,first_ns=?4,last_ns=?5,packets=?6,"
                           "messages=?7,loss_json=?8,detail_dropped=?9 WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        sql_fail(s, "UPDATE run");
        rc = ERR_DB;
    } else {
        sqlite3_bind_int64(st, 1, s->run_id);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, re->status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)re->first_ns);
        sqlite3_bind_int64(st, 5, (int64_t)re->last_ns);
        sqlite3_bind_int64(st, 6, (int64_t)re->packets);
        sqlite3_bind_int64(st, 7, (int64_t)re->messages);
        sqlite3_bind_text(st, 8, re->loss_json ? re->loss_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, (int64_t)dropped);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sql_fail(s, "UPDATE run");
            rc = ERR_DB;
        }
        sqlite3_finalize(st);
    }
    tx_commit(s);
    atomic_store(&s->committed_ns, UINT64_MAX);
    if (s->stats.sql_errors)
        rc = ERR_DB;
    if (dropped)
        log_msg(LOG_WARN, "store: the writer fell behind; %llu detail records were not stored",
                (unsigned long long)dropped);
    /* How often the analysis waited for the writer depends on the machine, not the input:
     * not in the summary (same input, same output), only here. */
    log_msg(LOG_DEBUG, "store: the analysis waited for the writer %llu times",
            (unsigned long long)s->stats.producer_waits);
    return rc;
}

const struct db_stats *db_get_stats(const db_store *s)
{
    return &s->stats;
}

int db_retain(db_store *s, uint64_t max_age_ns, uint64_t *deleted)
{
    static const char *const del[] = {
        "DELETE FROM window_stats WHERE end_ns < ?1",
        "DELETE FROM alert WHERE state='closed' AND last_ns < ?1",
        "DELETE FROM rrset WHERE last_ns < ?1",
        "DELETE FROM zone WHERE last_ns < ?1",
        "DELETE FROM xfr WHERE end_ns < ?1",
        "DELETE FROM log_event WHERE ts_ns < ?1",
        "DELETE FROM run WHERE status != 'running' AND last_ns < ?1 AND NOT EXISTS (SELECT 1 FROM "
        "window_stats w WHERE w.run_id=run.id) AND NOT EXISTS (SELECT 1 FROM alert a WHERE "
        "a.run_id=run.id)",
    };
    sqlite3_stmt *st = NULL;
    int64_t newest = 0;
    int rc = 0;

    *deleted = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT max(end_ns) FROM window_stats", -1, &st, NULL) !=
        SQLITE_OK)
        return ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW)
        newest = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (newest <= 0 || (uint64_t)newest <= max_age_ns)
        return 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return ERR_DB;
    for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
        if (sqlite3_prepare_v2(s->db, del[i], -1, &st, NULL) != SQLITE_OK) {
            rc = ERR_DB;
            break;
        }
        sqlite3_bind_int64(st, 1, newest - (int64_t)max_age_ns);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ERR_DB;
        *deleted += (uint64_t)sqlite3_changes(s->db);
        sqlite3_finalize(st);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        log_msg(LOG_ERROR, "store: retention: %s", sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : ERR_DB;
}

void db_close(db_store *s)
{
    if (!s)
        return;
    if (s->running) {
        spsc_close(&s->q);
        pthread_join(s->thread, NULL);
        tx_commit(s);
    }
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    spsc_destroy(&s->q);
    free(s->srv.slot);
    free(s->psrv.slot);
    free(s->srv_rows);
    free(s->pdns);
    free(s->pdns_dirty);
    free(s->wrow);
    free(s->prow);
    free(s->porder);
    free(s->parena);
    free(s);
}

int db_vacuum(const char *path, char *err, size_t errlen)
{
    sqlite3 *db;
    struct stat sb;
    int rc = 0;

    if (stat(path, &sb) != 0) {
        set_err(err, errlen, path, strerror(errno));
        return ERR_IO;
    }
    db = open_db(path, err, errlen);
    if (!db)
        return ERR_DB;
    if (migrate(db, path, DB_SCHEMA_VERSION, err, errlen) < 0 ||
        exec(db, "VACUUM;PRAGMA wal_checkpoint(TRUNCATE);", err, errlen) < 0)
        rc = ERR_DB;
    sqlite3_close(db);
    return rc;
}

static void ns_text(int64_t ns, char *buf, size_t n)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int db_print_info(const char *path, FILE *f)
{
    static const char *const tables[] = {"run",  "window_stats", "alert",     "rrset",
                                         "zone", "xfr",          "log_event", "top"};
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[128];

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "dnsvigil: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return ERR_DB;
    }
    fprintf(f, "%s: schema version %d\n\nruns:\n", path, user_version(db));
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id,r.source,r.status,r.first_ns,r.last_ns,r.packets,r.inputs,"
                           "(SELECT count(*) FROM window_stats w WHERE w.run_id=r.id AND "
                           "w.server='*') FROM run r ORDER BY r.id",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            char a[32], b[32];
            ns_text(sqlite3_column_int64(st, 3), a, sizeof(a));
            ns_text(sqlite3_column_int64(st, 4), b, sizeof(b));
            fprintf(f, "  %3lld %-8s %-12s %s .. %s  %lld packets, %lld windows  %s\n",
                    (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
                    sqlite3_column_text(st, 2), a, b, (long long)sqlite3_column_int64(st, 5),
                    (long long)sqlite3_column_int64(st, 7), sqlite3_column_text(st, 6));
        }
        sqlite3_finalize(st);
    }
    fputs("\nrows:\n", f);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            continue;
        if (sqlite3_step(st) == SQLITE_ROW)
            fprintf(f, "  %-13s %lld\n", tables[i], (long long)sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return 0;
}

/* ---- helpers ---- */

static uint64_t hash_file(const char *path)
{
    uint8_t *buf = malloc(65536);
    struct stat sb;
    uint64_t h;
    ssize_t n;
    int fd;

    if (!buf)
        return 0;
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        free(buf);
        return sketch_mix64(sketch_hash((const uint8_t *)path, strlen(path), false));
    }
    h = sketch_mix64((uint64_t)sb.st_size ^ 0x9e3779b97f4a7c15ull);
    n = pread(fd, buf, 65536, 0);
    if (n > 0)
        h = sketch_mix64(h ^ sketch_hash(buf, (size_t)n, false));
    if (sb.st_size > 65536) {
        n = pread(fd, buf, 65536, sb.st_size - 65536);
        if (n > 0)
            h = sketch_mix64(h ^ sketch_hash(buf, (size_t)n, false));
    }
    close(fd);
    free(buf);
    return h;
}

int db_input_key(const char *const *paths, unsigned n, char *key)
{
    uint64_t a = 0x243f6a8885a308d3ull, b = 0x13198a2e03707344ull;
    for (unsigned i = 0; i < n; i++) {
        uint64_t h;
        if (!strcmp(paths[i], "-")) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            h = sketch_mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
                (uint64_t)getpid();
        } else {
            h = hash_file(paths[i]);
        }
        /* Order does not matter: the same files in any order are the same run. */
        a += sketch_mix64(h);
        b ^= sketch_mix64(h ^ 0x5bd1e995u);
    }
    snprintf(key, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
    return 0;
}

bool db_parse_duration(const char *s, uint64_t *ns)
{
    char *end;
    unsigned long long v;
    uint64_t unit;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0)
        return false;
    switch (*end) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        return false;
    }
    if (end[1] || v > UINT64_MAX / 1000000000ull / unit)
        return false;
    *ns = v * unit * 1000000000ull;
    return true;
}
