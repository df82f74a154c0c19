/* SPDX-License-Identifier: MIT */
/* A run's start and end, retention, vacuum, `db info`, and the identity of inputs. */
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

void st_now(char *buf, size_t n)
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

    st_now(now, sizeof(now));
    if (st_exec(s->db, "BEGIN IMMEDIATE", err, errlen) < 0)
        return ERR_DB;
    /* The same inputs again: the earlier run and all its rows go (ON DELETE CASCADE; its
     * passive DNS by its id range). */
    for (int i = 0; i < 2; i++) {
        static const char *const del[] = {
            "DELETE FROM rrset WHERE id BETWEEN (SELECT rrset_lo FROM run WHERE run_key=?1) AND "
            "(SELECT rrset_hi FROM run WHERE run_key=?1) AND run_id=(SELECT id FROM run WHERE "
            "run_key=?1)",
            "DELETE FROM run WHERE run_key=?1",
        };
        if (sqlite3_prepare_v2(s->db, del[i], -1, &st, NULL) != SQLITE_OK)
            goto out;
        sqlite3_bind_text(st, 1, ri->run_key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto out;
        if (i == 1 && sqlite3_changes(s->db) > 0)
            log_msg(LOG_INFO, "store: replacing the earlier analysis of the same input");
        sqlite3_finalize(st);
        st = NULL;
    }
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
    s->rrset_lo = s->rrset_hi = s->rrset_hi_stored = 0;
    if (st_exec(s->db, "COMMIT", err, errlen) < 0)
        goto out_nomsg;
    sqlite3_finalize(st);
    st = NULL;

    s->complete = ri->complete;
    if (s->complete && st_exec(s->db, COMPLETE_CACHE, err, errlen) < 0)
        return ERR_DB;
    if (spsc_init(&s->q, RING_SIZE) < 0) {
        st_err(err, errlen, s->path, "out of memory");
        return ERR_NOMEM;
    }
    s->srv.slot = calloc(SRV_SLOTS, sizeof(*s->srv.slot));
    s->psrv.slot = calloc(SRV_SLOTS, sizeof(*s->psrv.slot));
    s->srv_rows = calloc(SRV_SLOTS, sizeof(*s->srv_rows));
    /* Big, but touched only as far as the run's RRsets reach (malloc maps them lazily). */
    s->pdns = malloc(PDNS_MAX * sizeof(*s->pdns));
    s->pdns_dirty = malloc(PDNS_MAX * sizeof(*s->pdns_dirty));
    s->wrow = calloc(PDNS_MAX, sizeof(*s->wrow));
    s->pidx_cap = PDNS_IDX_MIN;
    s->pidx = calloc(s->pidx_cap, sizeof(*s->pidx));
    s->prow = malloc(PDNS_BATCH * sizeof(*s->prow));
    s->porder = malloc(PDNS_BATCH * sizeof(*s->porder));
    s->parena = malloc(PDNS_ARENA);
    if (!s->srv.slot || !s->psrv.slot || !s->srv_rows || !s->pdns || !s->pdns_dirty || !s->pidx ||
        !s->prow || !s->porder || !s->parena) {
        st_err(err, errlen, s->path, "out of memory");
        return ERR_NOMEM;
    }
    if (pthread_create(&s->thread, NULL, st_writer, s) != 0) {
        st_err(err, errlen, s->path, "cannot start the writer thread");
        return ERR_NOMEM;
    }
    s->running = true;
    return 0;
out:
    st_err(err, errlen, s->path, sqlite3_errmsg(s->db));
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
    st_pdns_counts(s);
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
    st_tx_begin(s);
    st_pdns_batch(s);
    st_now(now, sizeof(now));
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE run SET finished=?2,status=?3,first_ns=?4,last_ns=?5,packets=?6,"
                           "messages=?7,loss_json=?8,detail_dropped=?9 WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        st_sql_fail(s, "UPDATE run");
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
            st_sql_fail(s, "UPDATE run");
            rc = ERR_DB;
        }
        sqlite3_finalize(st);
    }
    st_tx_commit(s);
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

/* The runs retention deletes: finished, ended before the cut, no windows or alerts left. */
#define RUN_GONE(r)                                                                                \
    r ".status != 'running' AND " r ".last_ns < ?1 AND NOT EXISTS (SELECT 1 FROM window_stats w "  \
      "WHERE w.run_id=" r ".id) AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.run_id=" r ".id)"

int db_retain(db_store *s, uint64_t max_age_ns, uint64_t *deleted)
{
    static const char *const del[] = {
        "DELETE FROM window_stats WHERE end_ns < ?1",
        "DELETE FROM alert WHERE state='closed' AND last_ns < ?1",
        "DELETE FROM rrset WHERE last_ns < ?1",
        "DELETE FROM zone WHERE last_ns < ?1",
        "DELETE FROM xfr WHERE end_ns < ?1",
        "DELETE FROM log_event WHERE ts_ns < ?1",
        /* A run's RRsets lie within its span, so the third statement took them, except when
         * the run ended before its last window was stored (a crash): those go with the run. */
        "DELETE FROM rrset WHERE id IN (SELECT x.id FROM run r JOIN rrset x ON x.id BETWEEN "
        "r.rrset_lo AND r.rrset_hi AND x.run_id=r.id WHERE " RUN_GONE("r") ")",
        "DELETE FROM run WHERE " RUN_GONE("run"),
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
        st_tx_commit(s);
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
    free(s->pidx);
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
        st_err(err, errlen, path, strerror(errno));
        return ERR_IO;
    }
    db = st_open(path, err, errlen);
    if (!db)
        return ERR_DB;
    if (st_migrate(db, path, DB_SCHEMA_VERSION, err, errlen) < 0 ||
        st_exec(db, "VACUUM;PRAGMA wal_checkpoint(TRUNCATE);", err, errlen) < 0)
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
    fprintf(f, "%s: schema version %d\n\nruns:\n", path, st_user_version(db));
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
