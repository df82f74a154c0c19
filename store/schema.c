/* SPDX-License-Identifier: MIT */
/* The schema and its migrations; opening (and creating) a database; the statements. */
#define _GNU_SOURCE /* qsort_r */
#include "internal.h"

#include "../analyze/sketch.h"
#include "../common/err.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const st_sql[ST_N] = {
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
    [ST_RUN_RRSETS] = "UPDATE run SET rrset_lo=coalesce(rrset_lo,?2),rrset_hi=?3 WHERE id=?1",
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
    "rrset WHERE run_id IN (SELECT id FROM run) ORDER BY run_id,name,type;"
    "DROP TABLE rrset;"
    "ALTER TABLE rrset3 RENAME TO rrset;"
    "CREATE INDEX rrset_run ON rrset(run_id);"
    "CREATE INDEX rrset_name ON rrset(name, type);",
    /* 3 -> 4: passive DNS without the run index and the foreign key (together 13% of the
     * writer's time on a flood of unique names: every row was a second index entry and a
     * look-up in run). A run's rows lie in the id range the run records (rrset_lo ..
     * rrset_hi, kept by the writer at every commit; ids do not change on VACUUM, being the
     * INTEGER PRIMARY KEY); replacing or pruning a run deletes that range (db_begin_run,
     * db_retain). */
    "ALTER TABLE run ADD COLUMN rrset_lo INTEGER;"
    "ALTER TABLE run ADD COLUMN rrset_hi INTEGER;"
    "CREATE TABLE rrset4(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, key INTEGER NOT NULL, "
    "name TEXT NOT NULL, type TEXT NOT NULL, rdata TEXT NOT NULL, server TEXT NOT NULL, "
    "first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, count INTEGER NOT NULL);"
    "INSERT INTO rrset4(run_id,key,name,type,rdata,server,first_ns,last_ns,count) SELECT "
    "run_id,key,name,type,rdata,server,first_ns,last_ns,count FROM rrset WHERE run_id IN "
    "(SELECT id FROM run) ORDER BY run_id,rowid;"
    "DROP TABLE rrset;"
    "ALTER TABLE rrset4 RENAME TO rrset;"
    "CREATE INDEX rrset_name ON rrset(name, type);"
    "UPDATE run SET rrset_lo=(SELECT min(id) FROM rrset WHERE run_id=run.id),rrset_hi=(SELECT "
    "max(id) FROM rrset WHERE run_id=run.id);",
};

/* err = "a: b" */
void st_err(char *err, size_t errlen, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", a, b);
}

int st_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        st_err(err, errlen, "database", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return ERR_DB;
    }
    return 0;
}

int st_user_version(sqlite3 *db)
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
int st_migrate(sqlite3 *db, const char *path, int target, char *err, size_t errlen)
{
    int v = st_user_version(db);
    if (v < 0) {
        st_err(err, errlen, path, "not a dnsvigil database (or not readable)");
        return ERR_DB;
    }
    if (v > DB_SCHEMA_VERSION) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "schema version %d is newer than this dnsvigil knows (%d); use a newer dnsvigil",
                 v, DB_SCHEMA_VERSION);
        st_err(err, errlen, path, msg);
        return ERR_DB;
    }
    for (int from = v; v < target; v++) {
        char sql[64];
        if (from > 0)
            log_msg(LOG_INFO, "store: upgrading %s from schema %d to %d", path, v, v + 1);
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d;COMMIT;", v + 1);
        if (st_exec(db, "BEGIN IMMEDIATE;", err, errlen) < 0)
            return ERR_DB;
        if (st_exec(db, migrations[v], err, errlen) < 0 || st_exec(db, sql, err, errlen) < 0) {
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

sqlite3 *st_open(const char *path, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    sqlite3 *db = NULL;
    /* One connection, used by one thread at a time (the caller's, then the writer's, then the
     * caller's again after the join): no mutex around every SQLite call. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        st_err(err, errlen, path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    /* Closing does not copy the WAL back into the file (a checkpoint with an fsync, which
     * made the end of a run wait for the disk); the next writer or `db vacuum` does. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    /* WAL: readers (reports) do not block the writer; synchronous=NORMAL keeps every
     * committed transaction across a process crash (the WAL is in the OS page cache). */
    if (st_exec(db,
                "PRAGMA page_size=16384;PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA "
                "foreign_keys=ON;"
                "PRAGMA cache_size=-8192;PRAGMA wal_autocheckpoint=4000;",
                err, errlen) < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err ? err : "");
        st_err(err, errlen, path, msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int db_create_version(const char *path, int version, char *err, size_t errlen)
{
    sqlite3 *db = st_open(path, err, errlen);
    int rc;
    if (!db)
        return ERR_DB;
    rc = st_migrate(db, path, version, err, errlen);
    sqlite3_close(db);
    return rc;
}

db_store *db_open(const char *path, char *err, size_t errlen)
{
    db_store *s = aligned_alloc(64, sizeof(*s)); /* so the ring's line boundaries are real */
    if (!s) {
        st_err(err, errlen, path, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->db = st_open(path, err, errlen);
    if (!s->db || st_migrate(s->db, path, DB_SCHEMA_VERSION, err, errlen) < 0)
        goto fail;
    for (int i = 0; i < ST_N; i++) {
        if (sqlite3_prepare_v3(s->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            st_err(err, errlen, path, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return s;
fail:
    db_close(s);
    return NULL;
}
