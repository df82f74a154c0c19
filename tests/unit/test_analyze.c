/* SPDX-License-Identifier: MIT */
/* Unit tests of analyze/: the flow store (every outcome, time-outs on packet time,
 * eviction), the latency histogram, Space-Saving (error bounds against exact counts),
 * HyperLogLog (error against exact distinct counts) and registered domains. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../analyze/flow.h"
#include "../../analyze/regdom.h"
#include "../../analyze/sketch.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

/* ---- flow store ---------------------------------------------------------------------------- */
struct seen {
    int n[FLOW_OUTCOME_N];
    uint64_t last_latency;
};

static void on_txn(void *user, const struct flow_txn *t)
{
    struct seen *s = user;
    s->n[t->outcome]++;
    if (t->outcome == FLOW_ANSWERED)
        s->last_latency = t->latency_ns;
}

/* A minimal message: header plus a question for name "\x01x" type A. */
static void msg(struct dns_msg *m, bool qr, uint16_t id, char qchar)
{
    static uint8_t wire[64];
    memset(m, 0, sizeof(*m));
    m->wire = wire;
    m->len = 19;
    m->has_header = true;
    m->qr = qr;
    m->id = id;
    m->has_question = m->has_qtype = true;
    m->qname_buf[0] = 1;
    m->qname_buf[1] = (uint8_t)qchar;
    m->qname_buf[2] = 0;
    m->qname = m->qname_buf;
    m->qname_len = 3;
    m->qtype = 1;
    m->qclass = 1;
}

static struct cap_meta way(bool to_server, uint16_t cport, uint64_t t)
{
    struct cap_meta m;
    memset(&m, 0, sizeof(m));
    m.af = 4;
    m.proto = 17;
    m.ts_ns = t;
    m.src[0] = to_server ? 10 : 20;
    m.dst[0] = to_server ? 20 : 10;
    m.sport = to_server ? cport : 53;
    m.dport = to_server ? 53 : cport;
    return m;
}

static void test_flow_outcomes(void **state)
{
    struct flow_config cfg = {.max_pending = 16, .timeout_ns = 1000 * MS};
    struct seen s = {0};
    flow_store *f = flow_new(&cfg, on_txn, &s);
    struct dns_msg m;
    struct cap_meta mt;
    struct flow_counts c;
    (void)state;

    /* answered, 7 ms; the case of the name does not matter (RFC 4343) */
    msg(&m, false, 1, 'x');
    mt = way(true, 1000, 10 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    msg(&m, true, 1, 'X');
    mt = way(false, 1000, 17 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_ANSWERED], 1);
    assert_int_equal(s.last_latency, 7 * MS);
    /* duplicate */
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_DUPLICATE], 1);
    /* unsolicited: other port */
    mt = way(false, 1001, 18 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 1);
    /* mismatch, then the real answer */
    msg(&m, false, 2, 'a');
    mt = way(true, 1002, 20 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    msg(&m, true, 2, 'b');
    mt = way(false, 1002, 21 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_MISMATCH], 1);
    msg(&m, true, 2, 'a');
    mt = way(false, 1002, 22 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_ANSWERED], 2);
    /* a query that is never answered ends when packet time passes its time-out */
    msg(&m, false, 3, 'z');
    mt = way(true, 1003, 30 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    flow_advance(f, 1029 * MS);
    assert_int_equal(s.n[FLOW_UNANSWERED], 0);
    flow_advance(f, 1031 * MS);
    assert_int_equal(s.n[FLOW_UNANSWERED], 1);
    /* the same key after the time-out is a new transaction, not a duplicate */
    msg(&m, true, 1, 'x');
    mt = way(false, 1000, 1040 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 2);
    flow_get_counts(f, &c);
    assert_int_equal(c.pending, 0);
    flow_free(f);
}

/* Late answers: the answer to a query that timed out, within the grace period, with the
 * same ports, TXID and question, is late (once); after the grace, with another question, or
 * a second time, it is unsolicited. A full late table drops its oldest (counted). */
static void feed(flow_store *f, bool qr, uint16_t id, char q, uint16_t cport, uint64_t t)
{
    struct dns_msg m;
    struct cap_meta mt;
    msg(&m, qr, id, q);
    mt = way(!qr, cport, t);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
}

static void test_flow_late(void **state)
{
    struct flow_config cfg = {
        .max_pending = 4, .timeout_ns = 1000 * MS, .late_grace_ns = 5000 * MS};
    struct seen s = {0};
    flow_store *f = flow_new(&cfg, on_txn, &s);
    struct flow_counts c;
    (void)state;

    feed(f, false, 1, 'a', 1000, 0);
    feed(f, false, 2, 'b', 1001, 0);
    feed(f, false, 3, 'c', 1002, 0);
    feed(f, true, 1, 'a', 1000, 1500 * MS); /* 1.5 s after the query: late */
    assert_int_equal(s.n[FLOW_UNANSWERED], 3);
    assert_int_equal(s.n[FLOW_LATE], 1);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 0);
    feed(f, true, 1, 'a', 1000, 1600 * MS); /* again: unsolicited */
    feed(f, true, 2, 'z', 1001, 1700 * MS); /* another question: unsolicited */
    assert_int_equal(s.n[FLOW_UNSOLICITED], 2);
    feed(f, true, 2, 'b', 1001, 5900 * MS); /* 5.9 s: still within 1 s + 5 s */
    assert_int_equal(s.n[FLOW_LATE], 2);
    feed(f, true, 3, 'c', 1002, 6100 * MS); /* 6.1 s: past the grace */
    assert_int_equal(s.n[FLOW_LATE], 2);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 3);
    /* six time-outs through a late table of four: the two oldest go, counted */
    for (uint16_t i = 0; i < 6; i++)
        feed(f, false, (uint16_t)(10 + i), 'd', (uint16_t)(2000 + i), (7000 + i * 300) * MS);
    flow_advance(f, 9600 * MS);
    flow_get_counts(f, &c);
    assert_int_equal(c.late_evicted, 2);
    feed(f, true, 10, 'd', 2000, 9700 * MS);
    feed(f, true, 15, 'd', 2005, 9700 * MS);
    assert_int_equal(s.n[FLOW_LATE], 3);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 4);
    /* without a grace period there are no late answers */
    flow_free(f);
    cfg.late_grace_ns = 0;
    memset(&s, 0, sizeof(s));
    f = flow_new(&cfg, on_txn, &s);
    feed(f, false, 1, 'a', 1000, 0);
    feed(f, true, 1, 'a', 1000, 1500 * MS);
    assert_int_equal(s.n[FLOW_LATE], 0);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 1);
    flow_free(f);
}

static void test_flow_eviction_and_flush(void **state)
{
    struct flow_config cfg = {.max_pending = 4, .timeout_ns = 1000 * MS};
    struct seen s = {0};
    flow_store *f = flow_new(&cfg, on_txn, &s);
    struct dns_msg m;
    struct cap_meta mt;
    (void)state;

    for (uint16_t i = 0; i < 10; i++) {
        msg(&m, false, i, 'q');
        mt = way(true, (uint16_t)(2000 + i), (uint64_t)i * MS);
        flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    }
    assert_int_equal(s.n[FLOW_EVICTED], 6);
    /* the newest four are still there: answer the last one */
    msg(&m, true, 9, 'q');
    mt = way(false, 2009, 11 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_ANSWERED], 1);
    /* the first (evicted) is gone: its answer is unsolicited */
    msg(&m, true, 0, 'q');
    mt = way(false, 2000, 12 * MS);
    flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 1);
    flow_flush(f);
    assert_int_equal(s.n[FLOW_UNANSWERED], 3);
    flow_free(f);
}

/* Many keys through a small table: the index never loses an entry (backward shift). */
static void test_flow_index_churn(void **state)
{
    struct flow_config cfg = {.max_pending = 64, .timeout_ns = 5 * MS};
    struct seen s = {0};
    flow_store *f = flow_new(&cfg, on_txn, &s);
    struct dns_msg m;
    struct cap_meta mt;
    (void)state;

    for (uint32_t i = 0; i < 20000; i++) {
        msg(&m, false, (uint16_t)i, 'c');
        mt = way(true, (uint16_t)(i % 5000), (uint64_t)i * 100000);
        flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
        if (i % 3 != 0) {
            msg(&m, true, (uint16_t)i, 'c');
            mt = way(false, (uint16_t)(i % 5000), (uint64_t)i * 100000 + 50000);
            flow_message(f, &m, flow_question_hash(&m), flow_prefetch(f, &m, &mt), &mt);
        }
    }
    flow_flush(f);
    assert_int_equal(s.n[FLOW_ANSWERED], 20000 - 6667);
    assert_int_equal(s.n[FLOW_UNANSWERED] + s.n[FLOW_EVICTED], 6667);
    assert_int_equal(s.n[FLOW_UNSOLICITED], 0);
    flow_free(f);
}

/* ---- sketches -------------------------------------------------------------------------------- */
static void test_hist(void **state)
{
    struct hist *h = calloc(1, sizeof(*h));
    uint64_t v;
    (void)state;

    assert_false(hist_percentile(h, 50, &v));
    for (uint64_t us = 1; us <= 1000; us++)
        hist_add(h, us);
    assert_true(hist_percentile(h, 50, &v));
    assert_int_equal(v, 500); /* exact below 2048 us */
    hist_percentile(h, 99, &v);
    assert_int_equal(v, 990);
    hist_percentile(h, 100, &v);
    assert_int_equal(v, 1000);
    /* large values: within 1/1024 */
    hist_reset(h);
    hist_add(h, 1234567);
    hist_percentile(h, 50, &v);
    assert_true(v <= 1234567 && v >= 1234567 - 1234567 / 1024);
    free(h);
}

/* Zipf-like stream of 200000 items over 5000 keys through k = 100 counters. */
static void test_topn_bounds(void **state)
{
    enum { KEYS = 5000, N = 200000, K = 100 };
    static uint32_t exact[KEYS];
    struct topn t;
    const struct topn_item *top[K];
    uint64_t x = 88172645463325252ull;
    (void)state;

    memset(exact, 0, sizeof(exact));
    assert_int_equal(topn_init(&t, K, 4), 0);
    for (int i = 0; i < N; i++) {
        uint32_t key;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* key = floor((KEYS - 1) / (1 + u)), u uniform in [0, KEYS): heavy small keys */
        key = (uint32_t)((KEYS - 1) / (1 + (double)(x % (10 * KEYS)) / 10.0));
        exact[key]++;
        topn_add(&t, (const uint8_t *)&key, 4, sketch_hash((const uint8_t *)&key, 4, false));
    }
    size_t n = topn_top(&t, top, K);
    assert_int_equal(n, K);
    for (size_t i = 0; i < n; i++) {
        uint32_t key;
        memcpy(&key, top[i]->key, 4);
        /* Space-Saving: true <= count <= true + error, and error <= N / K */
        assert_true(exact[key] <= top[i]->count);
        assert_true(top[i]->count - top[i]->error <= exact[key]);
        assert_true(top[i]->error <= N / K);
    }
    /* every key above N / K must be listed */
    for (uint32_t key = 0; key < KEYS; key++) {
        if (exact[key] <= N / K)
            continue;
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= memcmp(top[i]->key, &key, 4) == 0;
        assert_true(found);
    }
    topn_free(&t);
}

/* Checks the Space-Saving guarantees of t against exact counts of keys 0..nkeys-1. */
static void check_topn(struct topn *t, const uint32_t *exact, uint32_t nkeys, uint64_t n)
{
    const struct topn_item **top = calloc(t->k, sizeof(*top));
    size_t got;

    assert_non_null(top);
    got = topn_top(t, top, t->k);
    for (size_t i = 0; i < got; i++) {
        uint32_t key;
        memcpy(&key, top[i]->key, 4);
        assert_true(key < nkeys);
        assert_true(exact[key] <= top[i]->count);
        assert_true(top[i]->count - top[i]->error <= exact[key]);
        assert_true(top[i]->error <= n / t->k);
    }
    for (uint32_t key = 0; key < nkeys; key++) {
        bool found = false;
        if (exact[key] <= n / t->k)
            continue;
        for (size_t i = 0; i < got; i++)
            found |= memcmp(top[i]->key, &key, 4) == 0;
        assert_true(found);
    }
    free(top);
}

/* Water torture through the filter: 300000 unique keys, 20 heavy keys and one key that is
 * heavy early, evicted by the flood, and heavy again (its cell must bound it). The
 * guarantees hold, the heavy keys are exact up to their reported error, and the filter
 * (not replacements) absorbs most of the flood. */
static void test_topn_flood(void **state)
{
    enum { UNIQUE = 300000, HEAVY = 20, K = 64, BASE = 1000 };
    static uint32_t exact[BASE + UNIQUE];
    struct topn t;
    uint64_t n = 0, x = 0x2545f4914f6cdd1dull;
    uint32_t next_unique = BASE;
    (void)state;

    memset(exact, 0, sizeof(exact));
    assert_int_equal(topn_init(&t, K, 4), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100000; i++) {
            uint32_t key;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 10 < 3) {
                key = (uint32_t)(x >> 32) % HEAVY + 1;
            } else if (round != 1 && x % 10 == 3) {
                key = 999; /* the returning key: absent in round 1 */
            } else {
                if (next_unique == BASE + UNIQUE)
                    continue;
                key = next_unique++;
            }
            exact[key]++;
            n++;
            topn_add(&t, (const uint8_t *)&key, 4, sketch_hash((const uint8_t *)&key, 4, false));
        }
        check_topn(&t, exact, BASE + UNIQUE, n);
    }
    assert_int_equal(t.total, n);
    assert_true(t.filtered > 0);
    assert_true(t.replacements < n / 10);
    topn_free(&t);
}

static void test_hll(void **state)
{
    static const uint32_t sizes[] = {0, 1, 100, 10000, 1000000};
    (void)state;

    for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct hll *h = calloc(1, sizeof(*h));
        for (uint32_t i = 0; i < sizes[s]; i++) {
            hll_add(h, sketch_hash((const uint8_t *)&i, 4, false));
            hll_add(h, sketch_hash((const uint8_t *)&i, 4, false)); /* repeats do not count */
        }
        uint64_t e = hll_estimate(h);
        double err = sizes[s] ? ((double)e - sizes[s]) / sizes[s] : (double)e;
        assert_true(err < 0.03 && err > -0.03); /* 2^14 registers: ~0.8% standard error */
        free(h);
    }
}

static void test_fold_hash(void **state)
{
    (void)state;
    assert_true(sketch_hash((const uint8_t *)"WwW.ExAmple", 11, true) ==
                sketch_hash((const uint8_t *)"www.example", 11, true));
    assert_true(sketch_hash((const uint8_t *)"www.example", 11, false) !=
                sketch_hash((const uint8_t *)"www.exampld", 11, false));
}

/* The word-at-a-time case folding must equal byte-wise ASCII lower-casing for every byte
 * value at every position and length. */
static void test_fold_exact(void **state)
{
    uint8_t raw[40], low[40];
    (void)state;

    for (unsigned base = 0; base < 256; base += 8) {
        for (size_t len = 1; len <= sizeof(raw); len++) {
            for (size_t i = 0; i < len; i++) {
                raw[i] = (uint8_t)(base + i * 37);
                low[i] = (raw[i] >= 'A' && raw[i] <= 'Z') ? (uint8_t)(raw[i] + 32) : raw[i];
            }
            assert_true(sketch_hash(raw, len, true) == sketch_hash(low, len, true));
            struct topn t;
            const struct topn_item *top[1];
            assert_int_equal(topn_init(&t, 4, 64), 0);
            topn_add_fold(&t, raw, len, sketch_hash(raw, len, true), true);
            topn_add_fold(&t, low, len, sketch_hash(low, len, true), true);
            assert_int_equal(topn_top(&t, top, 1), 1);
            assert_int_equal(top[0]->count, 2);
            assert_memory_equal(top[0]->key, low, len);
            topn_free(&t);
        }
    }
    {
        /* The folded hash pairs a label length of 1 with '!': same hash, and still two
         * keys in the top list (keys are compared exactly, case aside). */
        static const uint8_t k1[] = "\x01x\x00", k2[] = "!x\x00";
        struct topn t;
        const struct topn_item *top[2];
        assert_true(sketch_hash(k1, 3, true) == sketch_hash(k2, 3, true));
        assert_int_equal(topn_init(&t, 4, 64), 0);
        topn_add_fold(&t, k1, 3, sketch_hash(k1, 3, true), true);
        topn_add_fold(&t, k2, 3, sketch_hash(k2, 3, true), true);
        topn_add_fold(&t, k2, 3, sketch_hash(k2, 3, true), true);
        assert_int_equal(topn_top(&t, top, 2), 2);
        assert_int_equal(top[0]->count, 2);
        assert_memory_equal(top[0]->key, k2, 3);
        assert_int_equal(top[1]->count, 1);
        topn_free(&t);
    }
}

static void test_regdom(void **state)
{
    struct regdom *r = regdom_new();
    static const uint8_t a[] = "\x03www\x07"
                               "example\x02"
                               "co\x02uk"; /* 21 + root */
    static const uint8_t b[] = "\x01"
                               "a\x01"
                               "b\x07"
                               "example\x03"
                               "com"; /* 17 + root */
    static const uint8_t c[] = "\x03"
                               "com";
    size_t start;
    uint64_t lookups, hits;
    (void)state;

    assert_non_null(r);
    assert_true(regdom_find(r, a, sizeof(a), &start));
    assert_int_equal(start, 4); /* example.co.uk */
    assert_true(regdom_find(r, b, sizeof(b), &start));
    assert_int_equal(start, 4); /* example.com */
    assert_true(regdom_find(r, b, sizeof(b), &start));
    assert_true(regdom_find(r, c, sizeof(c), &start));
    assert_int_equal(start, 0);
    assert_false(regdom_find(r, (const uint8_t *)"", 1, &start));
    regdom_counts(r, &lookups, &hits);
    assert_int_equal(lookups, 2);
    assert_int_equal(hits, 1);
    regdom_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_outcomes),
        cmocka_unit_test(test_flow_late),
        cmocka_unit_test(test_flow_eviction_and_flush),
        cmocka_unit_test(test_flow_index_churn),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_topn_bounds),
        cmocka_unit_test(test_topn_flood),
        cmocka_unit_test(test_hll),
        cmocka_unit_test(test_fold_hash),
        cmocka_unit_test(test_fold_exact),
        cmocka_unit_test(test_regdom),
    };
    return cmocka_run_group_tests_name("analyze", tests, NULL, NULL);
}
