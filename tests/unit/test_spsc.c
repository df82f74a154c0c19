/* SPDX-License-Identifier: MIT */
/* Unit tests of the single-producer single-consumer record ring (common/spsc.c): every
 * record arrives once, in order, intact, across wraps, with the ring running full and empty
 * many times (both sleeping paths taken), and the close is seen only after the last record.
 * The sanitizer build checks the memory accesses; tests/pipe.sh runs the pipeline under
 * ThreadSanitizer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/spsc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORDS 200000u

struct run {
    struct spsc q;
    unsigned max_len;  /* largest record (header included) */
    unsigned slow_mod; /* every slow_mod-th record the consumer naps (0 = never) */
};

static uint32_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (uint32_t)*x;
}

static void *producer(void *arg)
{
    struct run *r = arg;
    uint64_t x = 0x9e3779b97f4a7c15ull;

    for (uint32_t i = 0; i < RECORDS; i++) {
        size_t len = sizeof(struct spsc_hdr) + 8 + rnd(&x) % (r->max_len - 16);
        struct spsc_hdr *h = spsc_reserve(&r->q, len);
        uint8_t *p = (uint8_t *)(h + 1);
        size_t body = h->len - sizeof(*h);
        h->type = 1;
        memcpy(p, &i, 4);
        for (size_t k = 4; k < body; k++)
            p[k] = (uint8_t)(i * 31 + k);
        spsc_commit(&r->q);
    }
    spsc_close(&r->q);
    return NULL;
}

static void consume(struct run *r)
{
    const struct spsc_hdr *batch[16];
    uint32_t expect = 0;
    size_t n, take = 1;

    while ((n = spsc_take(&r->q, batch, take)) > 0) {
        for (size_t b = 0; b < n; b++) {
            const uint8_t *p = (const uint8_t *)(batch[b] + 1);
            size_t body = batch[b]->len - sizeof(*batch[b]);
            uint32_t seq;
            assert_int_equal(batch[b]->type, 1);
            assert_int_equal(batch[b]->len % 8, 0);
            memcpy(&seq, p, 4);
            assert_int_equal(seq, expect);
            for (size_t k = 4; k < body; k++)
                assert_int_equal(p[k], (uint8_t)(expect * 31 + k));
            if (r->slow_mod && expect % r->slow_mod == 0) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
            expect++;
        }
        spsc_release(&r->q);
        take = take % 16 + 1; /* batches of every size */
    }
    assert_int_equal(expect, RECORDS);
    assert_int_equal(spsc_take(&r->q, batch, 16), 0); /* stays closed */
}

static void run_case(size_t ring, unsigned max_len, unsigned slow_mod, bool expect_full)
{
    struct run r = {.max_len = max_len, .slow_mod = slow_mod};
    pthread_t t;

    assert_int_equal(spsc_init(&r.q, ring), 0);
    assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
    consume(&r);
    pthread_join(t, NULL);
    if (expect_full)
        assert_true(r.q.producer_waits > 0); /* the ring ran full: the producer waited */
    spsc_destroy(&r.q);
}

/* A small ring and records up to a quarter of it: constant wrapping and padding. */
static void test_small_ring(void **state)
{
    (void)state;
    run_case(8192, 2048, 0, true);
}

/* A slow consumer: the producer sleeps on a full ring again and again and is woken. */
static void test_slow_consumer(void **state)
{
    (void)state;
    run_case(16384, 512, 997, true);
}

/* A large ring and small records: mostly the consumer waits for the producer. */
static void test_fast_consumer(void **state)
{
    (void)state;
    run_case(1u << 20, 64, 0, false);
}

static void test_empty_close_and_bad_size(void **state)
{
    struct spsc q;
    const struct spsc_hdr *b[4];
    (void)state;

    assert_int_equal(spsc_init(&q, 4096), 0);
    spsc_close(&q);
    assert_int_equal(spsc_take(&q, b, 4), 0);
    spsc_destroy(&q);
    spsc_destroy(&q);                     /* twice is harmless */
    assert_true(spsc_init(&q, 5000) < 0); /* not a power of two */
    assert_true(spsc_init(&q, 1024) < 0); /* too small */
    spsc_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_ring),
        cmocka_unit_test(test_slow_consumer),
        cmocka_unit_test(test_fast_consumer),
        cmocka_unit_test(test_empty_close_and_bad_size),
    };
    return cmocka_run_group_tests_name("spsc", tests, NULL, NULL);
}
