/* SPDX-License-Identifier: MIT */
/* Unit tests of analyze/store.c: schema creation, migration from the previous schema, a
 * newer schema refused, batching (every window committed), re-analysis replacing its run,
 * retention, passive DNS write-combining, input identity and durations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/duration.h"
#include "../../store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000000ull
#define T0 (1795392000ull * SEC) /* 2026-11-23T00:00:00Z */

static char dir[64];

static const char *path(const char *name)
{
    static char p[160];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/dv-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t q1(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_schema_fresh(void **state)
{
    char err[256];
    db_store *s;
    (void)state;
    s = db_open(path("fresh.db"), err, sizeof(err));
    assert_non_null(s);
    db_close(s);
    assert_int_equal(q1(path("fresh.db"), "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(q1(path("fresh.db"), "SELECT count(*) FROM sqlite_master WHERE type='table' "
                                          "AND name IN ('run','window_stats','alert','rrset',"
                                          "'zone','xfr','log_event','top')"),
                     8);
    assert_int_equal(q1(path("fresh.db"), "SELECT count(*) FROM pragma_journal_mode WHERE "
                                          "journal_mode='wal'"),
                     1);
}

static void test_migrate_from_v1(void **state)
{
    char err[256];
    db_store *s;
    (void)state;
    assert_int_equal(db_create_version(path("v1.db"), 1, err, sizeof(err)), 0);
    assert_int_equal(q1(path("v1.db"), "PRAGMA user_version"), 1);
    /* v1 has no rrset table and no lat_mean_us column. */
    assert_int_equal(q1(path("v1.db"), "SELECT count(*) FROM sqlite_master WHERE name='rrset'"), 0);
    exec_sql(path("v1.db"),
             "INSERT INTO run(id,run_key,sensor,source,started) VALUES(7,'k','h','packets','x');"
             "INSERT INTO window_stats(run_id,start_ns,end_ns,server,queries) "
             "VALUES(7,0,60,'*',42);");
    s = db_open(path("v1.db"), err, sizeof(err));
    assert_non_null(s);
    db_close(s);
    assert_int_equal(q1(path("v1.db"), "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(q1(path("v1.db"), "SELECT queries FROM window_stats WHERE run_id=7"), 42);
    assert_int_equal(q1(path("v1.db"), "SELECT count(lat_mean_us) FROM window_stats"), 0);
    assert_int_equal(q1(path("v1.db"), "SELECT detail_dropped FROM run WHERE id=7"), 0);
    assert_int_equal(q1(path("v1.db"), "SELECT count(*) FROM rrset"), 0);
}

/* v2 -> v4: passive DNS moves to a table of its own ids; the rows stay (in run order, so a
 * run's rows are its id range, recorded in run), rows of runs gone go, the name index stays
 * and neither the primary key nor a run index remains. */
static void test_migrate_from_v2(void **state)
{
    char err[256];
    db_store *s;
    (void)state;
    assert_int_equal(db_create_version(path("v2.db"), 2, err, sizeof(err)), 0);
    exec_sql(path("v2.db"),
             "INSERT INTO run(id,run_key,sensor,source,started) VALUES(3,'k','h','packets','x');"
             "INSERT INTO run(id,run_key,sensor,source,started) VALUES(4,'l','h','packets','x');"
             "INSERT INTO rrset(run_id,key,name,type,rdata,server,first_ns,last_ns,count) "
             "VALUES(4,12,'c.test.','A','192.0.2.3','192.0.2.53',5,9,1),"
             "(3,11,'b.test.','A','192.0.2.2','192.0.2.53',5,9,4),"
             "(9,13,'gone.test.','A','192.0.2.9','192.0.2.53',5,9,1),"
             "(3,10,'a.test.','A','192.0.2.1','192.0.2.53',1,2,7);");
    s = db_open(path("v2.db"), err, sizeof(err));
    if (!s)
        fail_msg("%s", err);
    db_close(s);
    assert_int_equal(q1(path("v2.db"), "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(q1(path("v2.db"), "SELECT sum(count) FROM rrset WHERE run_id=3"), 11);
    assert_int_equal(q1(path("v2.db"), "SELECT count FROM rrset WHERE name='a.test.'"), 7);
    assert_int_equal(q1(path("v2.db"), "SELECT count(*) FROM rrset WHERE run_id=9"), 0);
    assert_int_equal(q1(path("v2.db"), "SELECT count(*) FROM sqlite_master WHERE type='index' "
                                       "AND name IN ('rrset_run','rrset_name')"),
                     1);
    assert_int_equal(q1(path("v2.db"), "SELECT count(*) FROM sqlite_master WHERE name='rrset' "
                                       "AND sql LIKE '%REFERENCES%'"),
                     0);
    assert_int_equal(q1(path("v2.db"), "SELECT rrset_hi-rrset_lo FROM run WHERE id=3"), 1);
    assert_int_equal(q1(path("v2.db"), "SELECT count(*) FROM rrset x JOIN run r ON x.id BETWEEN "
                                       "r.rrset_lo AND r.rrset_hi AND x.run_id=r.id"),
                     3);
}

static void test_newer_refused(void **state)
{
    char err[256] = "";
    db_store *s;
    (void)state;
    s = db_open(path("new.db"), err, sizeof(err));
    assert_non_null(s);
    db_close(s);
    exec_sql(path("new.db"), "PRAGMA user_version=99");
    assert_null(db_open(path("new.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(q1(path("new.db"), "PRAGMA user_version"), 99);
}

/* Runs one analysis of nwin windows (starting at t0) with key, through the sink. */
static void run(const char *db, const char *key, uint64_t t0, unsigned nwin, uint64_t queries,
                struct db_stats *out)
{
    char err[256];
    struct disp_sink sink;
    struct db_run_info ri = {.run_key = key,
                             .sensor = "test",
                             .source = "packets",
                             .inputs = "unit",
                             .version = "t",
                             .window_ns = 60 * SEC};
    struct db_run_end re = {
        .status = "complete", .first_ns = t0, .last_ns = t0 + nwin * 60 * SEC, .loss_json = "{}"};
    db_store *s = db_open(db, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(db_begin_run(s, &ri, err, sizeof(err)), 0);
    db_sink(s, &sink);
    for (unsigned i = 0; i < nwin; i++) {
        struct win_stats w;
        memset(&w, 0, sizeof(w));
        w.start_ns = t0 + i * 60 * SEC;
        w.end_ns = w.start_ns + 60 * SEC;
        w.queries = queries;
        w.responses = queries;
        w.rcode[0] = queries - 1;
        w.rcode[2] = 1;
        w.edns_errors = 1;
        sink.on_window(sink.user, &w);
    }
    {
        struct engine_alert a = {.id = 0,
                                 .rule = "error-ratio",
                                 .reference = "BSI APP.3.6.A15",
                                 .severity = "high",
                                 .state = "open",
                                 .key = "k",
                                 .summary = "s",
                                 .evidence = "{}",
                                 .first_ns = t0,
                                 .last_ns = t0};
        db_alert(s, &a);
        a.state = "closed";
        a.last_ns = t0 + 60 * SEC;
        db_alert(s, &a);
        a.id = 1;
        a.state = "open";
        db_alert(s, &a);
    }
    db_top(s, "clients", 1, "192.0.2.1", 5);
    assert_int_equal(db_end_run(s, &re), 0);
    if (out)
        *out = *db_get_stats(s);
    db_close(s);
}

static void test_batches_and_rerun(void **state)
{
    struct db_stats st;
    (void)state;
    run(path("b.db"), "key-a", T0, 50, 100, &st);
    assert_int_equal(st.windows, 50);
    assert_true(st.batches >= 1 && st.batches < 50); /* windows are batched */
    for (int i = 0; i < DB_DROP_N; i++)
        assert_int_equal(st.dropped[i], 0);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM window_stats WHERE server='*'"), 50);
    assert_int_equal(q1(path("b.db"), "SELECT sum(queries) FROM window_stats"), 5000);
    assert_int_equal(q1(path("b.db"), "SELECT sum(rc_servfail) FROM window_stats"), 50);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM alert"), 2);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM alert WHERE state='closed'"), 1);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM top"), 1);
    /* The same input again replaces the run; another input adds one. */
    run(path("b.db"), "key-a", T0, 50, 100, NULL);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM run"), 1);
    assert_int_equal(q1(path("b.db"), "SELECT sum(queries) FROM window_stats"), 5000);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM alert"), 2);
    run(path("b.db"), "key-b", T0 + 3600 * SEC, 10, 100, NULL);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM run"), 2);
    assert_int_equal(q1(path("b.db"), "SELECT sum(queries) FROM window_stats"), 6000);
    assert_int_equal(q1(path("b.db"), "SELECT count(*) FROM run WHERE status='complete'"), 2);
}

static void test_retention(void **state)
{
    char err[256];
    uint64_t deleted = 0;
    db_store *s;
    (void)state;
    /* Day 0 and day 10, one hour each. */
    run(path("r.db"), "old", T0, 60, 10, NULL);
    run(path("r.db"), "new", T0 + 10 * 86400 * SEC, 60, 10, NULL);
    s = db_open(path("r.db"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(db_retain(s, 3 * 86400 * SEC, &deleted), 0);
    db_close(s);
    assert_true(deleted >= 61);
    assert_int_equal(q1(path("r.db"), "SELECT count(*) FROM window_stats"), 60);
    assert_int_equal(q1(path("r.db"), "SELECT min(start_ns) FROM window_stats"),
                     (int64_t)(T0 + 10 * 86400 * SEC));
    /* Closed alerts go, open ones stay (with their run). */
    assert_int_equal(q1(path("r.db"), "SELECT count(*) FROM alert WHERE state='closed'"), 1);
    assert_int_equal(q1(path("r.db"), "SELECT count(*) FROM alert WHERE state='open'"), 2);
    assert_int_equal(q1(path("r.db"), "SELECT count(*) FROM run"), 2);
    assert_int_equal(db_vacuum(path("r.db"), err, sizeof(err)), 0);
    assert_int_equal(q1(path("r.db"), "PRAGMA integrity_check") == -1, 0);
}

/* Answers through the sink: the same RR twice is one row with count 2; another one a new
 * row; an AXFR that ends with its second SOA is a successful transfer. */
static size_t put_name(uint8_t *p, const char *a, const char *b)
{
    size_t o = 0;
    p[o++] = (uint8_t)strlen(a);
    memcpy(p + o, a, strlen(a));
    o += strlen(a);
    p[o++] = (uint8_t)strlen(b);
    memcpy(p + o, b, strlen(b));
    o += strlen(b);
    p[o++] = 0;
    return o;
}

static size_t answer(uint8_t *w, uint8_t last_octet)
{
    static const uint8_t hdr[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    size_t o = 12;
    memcpy(w, hdr, 12);
    o += put_name(w + o, "www", "example");
    w[o++] = 0, w[o++] = 1, w[o++] = 0, w[o++] = 1;
    w[o++] = 0xc0, w[o++] = 12; /* pointer to the question name */
    w[o++] = 0, w[o++] = 1, w[o++] = 0, w[o++] = 1;
    w[o++] = 0, w[o++] = 0, w[o++] = 1, w[o++] = 0x2c;
    w[o++] = 0, w[o++] = 4;
    w[o++] = 192, w[o++] = 0, w[o++] = 2, w[o++] = last_octet;
    return o;
}

/* One run of three answers (two of the same RR) with key, into db. */
static void pdns_run(const char *db, const char *key)
{
    char err[256];
    struct disp_sink sink;
    struct db_run_info ri = {.run_key = key, .source = "packets", .window_ns = 60 * SEC};
    struct db_run_end re = {.status = "complete", .loss_json = "{}"};
    struct cap_meta meta = {.af = 4, .proto = 17, .sport = 53, .dport = 4000};
    uint8_t wire[128];
    struct dns_msg m;
    db_store *s = db_open(db, err, sizeof(err));

    assert_non_null(s);
    assert_int_equal(db_begin_run(s, &ri, err, sizeof(err)), 0);
    db_sink(s, &sink);
    meta.src[0] = 10, meta.src[3] = 53;
    for (int i = 0; i < 3; i++) {
        size_t n = answer(wire, i < 2 ? 7 : 8);
        meta.ts_ns = T0 + (uint64_t)i * SEC;
        dns_decode(wire, n, false, &m);
        assert_true(m.rrs_ok);
        sink.on_message(sink.user, &m, &meta);
    }
    assert_int_equal(db_end_run(s, &re), 0);
    db_close(s);
}

static void test_pdns(void **state)
{
    (void)state;
    pdns_run(path("p.db"), "p");
    assert_int_equal(q1(path("p.db"), "SELECT count(*) FROM rrset"), 2);
    assert_int_equal(q1(path("p.db"), "SELECT count FROM rrset WHERE rdata='192.0.2.7'"), 2);
    assert_int_equal(q1(path("p.db"), "SELECT last_ns-first_ns FROM rrset WHERE "
                                      "rdata='192.0.2.7' AND name='www.example.' AND type='A' "
                                      "AND server='10.0.0.53'"),
                     (int64_t)SEC);
    /* Another input adds its rows; the first input again replaces its own rows (found by
     * the id range its run records), not the other's. */
    pdns_run(path("p.db"), "q");
    assert_int_equal(q1(path("p.db"), "SELECT count(*) FROM rrset"), 4);
    pdns_run(path("p.db"), "p");
    assert_int_equal(q1(path("p.db"), "SELECT count(*) FROM rrset"), 4);
    assert_int_equal(q1(path("p.db"), "SELECT count(DISTINCT run_id) FROM rrset"), 2);
    assert_int_equal(q1(path("p.db"), "SELECT count(*) FROM rrset WHERE run_id NOT IN (SELECT id "
                                      "FROM run)"),
                     0);
    assert_int_equal(q1(path("p.db"), "SELECT sum(rrset_hi-rrset_lo+1) FROM run"), 4);
}

static void test_input_key_and_duration(void **state)
{
    char k1[33], k2[33], k3[33];
    const char *a[2] = {path("f1"), path("f2")}, *b[2] = {path("f2"), path("f1")};
    FILE *f;
    uint64_t ns;
    (void)state;

    f = fopen(a[0], "w");
    fputs("one", f);
    fclose(f);
    f = fopen(a[1], "w");
    fputs("two", f);
    fclose(f);
    db_input_key(a, 2, k1);
    db_input_key(b, 2, k2);
    assert_string_equal(k1, k2); /* order does not matter */
    f = fopen(a[1], "w");
    fputs("tw0", f);
    fclose(f);
    db_input_key(a, 2, k3);
    assert_string_not_equal(k1, k3);

    assert_true(dv_parse_duration("90d", &ns));
    assert_true(ns == 90ull * 86400 * SEC);
    assert_true(dv_parse_duration("12h", &ns));
    assert_true(ns == 12ull * 3600 * SEC);
    assert_true(dv_parse_duration("2w", &ns));
    assert_false(dv_parse_duration("0d", &ns));
    assert_false(dv_parse_duration("5", &ns));
    assert_false(dv_parse_duration("5dd", &ns));
    assert_false(dv_parse_duration("-1d", &ns) && ns < SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_fresh),
        cmocka_unit_test(test_migrate_from_v1),
        cmocka_unit_test(test_migrate_from_v2),
        cmocka_unit_test(test_newer_refused),
        cmocka_unit_test(test_batches_and_rerun),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_pdns),
        cmocka_unit_test(test_input_key_and_duration),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
