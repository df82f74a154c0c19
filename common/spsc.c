/* SPDX-License-Identifier: MIT */
/* SPSC record ring. Sleeping follows the store-then-load pattern on both sides: a side
 * that goes to sleep sets its flag and then re-reads the other side's position; a side that
 * moves its position then reads the flag. With sequentially consistent atomics one of the
 * two always sees the other, so no wake-up is lost; the timed wait only bounds how long a
 * side sleeps when the other chose not to wake it yet (it wakes only when worth a system
 * call: a full share of the ring, a full ring, the close). */
#include "spsc.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPIN 256       /* looks at the other side before sleeping */
#define NAP_NS 1000000 /* longest sleep without being woken */
#define WAKE_SHARE(size) ((size) / 8)
#define CONSUMER_AHEAD 4096 /* bytes of ring requested for reading ahead of the consumer */

int spsc_init(struct spsc *q, size_t size)
{
    memset(q, 0, sizeof(*q));
    if (size < 4096 || (size & (size - 1)) != 0)
        return ERR_INVAL;
    q->buf = aligned_alloc(64, size);
    if (!q->buf)
        return ERR_NOMEM;
    q->size = size;
    q->mask = size - 1;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->producer_sleeps, false);
    atomic_init(&q->consumer_sleeps, false);
    atomic_init(&q->closed, false);
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q->buf);
        q->buf = NULL;
        return ERR_NOMEM;
    }
    if (pthread_cond_init(&q->cv, NULL) != 0) {
        pthread_mutex_destroy(&q->mu);
        free(q->buf);
        q->buf = NULL;
        return ERR_NOMEM;
    }
    return 0;
}

void spsc_destroy(struct spsc *q)
{
    if (!q->buf)
        return;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->buf);
    q->buf = NULL;
}

static void pause_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void nap(struct spsc *q)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += NAP_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&q->cv, &q->mu, &ts);
}

static void wake(struct spsc *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* ---- producer ---- */

static void publish(struct spsc *q, bool urgent)
{
    atomic_store(&q->head, q->p_head);
    q->p_unpublished = 0;
    if (atomic_load(&q->consumer_sleeps) &&
        (urgent || q->p_head - atomic_load(&q->tail) >= WAKE_SHARE(q->size)))
        wake(q);
}

static bool fits(const struct spsc *q, size_t tail, size_t need, size_t limit)
{
    return q->p_head + need - tail <= limit;
}

/* Room for len bytes (and the padding before them) within limit bytes of used ring: when
 * wait is false, NULL if there is none (after publishing, so the consumer sees all). */
static struct spsc_hdr *reserve(struct spsc *q, size_t len, size_t limit, bool wait)
{
    size_t off, pad;
    struct spsc_hdr *h;

    len = (len + 7) & ~(size_t)7;
    off = q->p_head & q->mask;
    pad = off + len > q->size ? q->size - off : 0;
    if (pad + len > limit)
        return NULL;
    if (!fits(q, q->p_tail_seen, pad + len, limit)) {
        q->p_tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (!fits(q, q->p_tail_seen, pad + len, limit)) {
            /* Full: let the consumer see everything, then wait for a share of the ring. */
            publish(q, true);
            if (!wait)
                return NULL;
            q->producer_waits++;
            for (unsigned i = 0; i < SPIN; i++) {
                pause_cpu();
                q->p_tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
                if (fits(q, q->p_tail_seen, pad + len, limit))
                    break;
            }
            if (!fits(q, q->p_tail_seen, pad + len, limit)) {
                pthread_mutex_lock(&q->mu);
                atomic_store(&q->producer_sleeps, true);
                while (!fits(q, (q->p_tail_seen = atomic_load(&q->tail)), pad + len, limit))
                    nap(q);
                atomic_store(&q->producer_sleeps, false);
                pthread_mutex_unlock(&q->mu);
            }
        }
    }
    if (pad) {
        struct spsc_hdr *p = (struct spsc_hdr *)(void *)(q->buf + off);
        p->len = (uint32_t)pad;
        p->type = 0;
        q->p_head += pad;
        off = 0;
    }
    h = (struct spsc_hdr *)(void *)(q->buf + off);
    h->len = (uint32_t)len;
    h->type = 0;
    q->p_reserved = len;
    return h;
}

struct spsc_hdr *spsc_reserve(struct spsc *q, size_t len)
{
    return reserve(q, len, q->size, true);
}

struct spsc_hdr *spsc_reserve_within(struct spsc *q, size_t len, size_t limit, bool wait)
{
    return reserve(q, len, limit < q->size ? limit : q->size, wait);
}

void spsc_publish(struct spsc *q)
{
    if (q->p_unpublished)
        publish(q, true);
}

void spsc_commit(struct spsc *q)
{
    q->p_head += q->p_reserved;
    q->p_reserved = 0;
    if (++q->p_unpublished >= SPSC_BATCH)
        publish(q, false);
}

void spsc_close(struct spsc *q)
{
    publish(q, true);
    atomic_store(&q->closed, true);
    wake(q);
}

/* ---- consumer ---- */

/* Takes records as spsc_take does; with naps > 0 it gives up after that many naps of
 * NAP_NS with nothing to take (0 returned, the ring not closed). */
static size_t take(struct spsc *q, const struct spsc_hdr **out, size_t max, long naps)
{
    long left = naps;
    for (;;) {
        size_t n = 0, pos;

        if (q->c_head_seen == q->c_tail)
            q->c_head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
        if (q->c_head_seen == q->c_tail) {
            q->consumer_waits++;
            for (unsigned i = 0; i < SPIN && q->c_head_seen == q->c_tail; i++) {
                pause_cpu();
                q->c_head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
            }
        }
        if (q->c_head_seen == q->c_tail) {
            pthread_mutex_lock(&q->mu);
            atomic_store(&q->consumer_sleeps, true);
            for (;;) {
                q->c_head_seen = atomic_load(&q->head);
                if (q->c_head_seen != q->c_tail)
                    break;
                if (atomic_load(&q->closed)) {
                    /* the producer published its last head before it set closed */
                    q->c_head_seen = atomic_load(&q->head);
                    break;
                }
                if (naps && left-- <= 0)
                    break;
                nap(q);
            }
            atomic_store(&q->consumer_sleeps, false);
            pthread_mutex_unlock(&q->mu);
            if (q->c_head_seen == q->c_tail)
                return 0;
        }
        pos = q->c_tail;
        /* The records were written on the other core: request their lines well ahead of
         * use, so the misses overlap instead of each header waiting for the one before. */
        if (q->c_prefetched < pos)
            q->c_prefetched = pos & ~(size_t)63;
        while (n < max && pos != q->c_head_seen) {
            const struct spsc_hdr *h;
            while (q->c_prefetched < pos + CONSUMER_AHEAD && q->c_prefetched < q->c_head_seen) {
                __builtin_prefetch(q->buf + (q->c_prefetched & q->mask), 0, 3);
                q->c_prefetched += 64;
            }
            h = (const struct spsc_hdr *)(const void *)(q->buf + (pos & q->mask));
            pos += h->len;
            if (h->type != 0)
                out[n++] = h;
        }
        q->c_tail = pos;
        if (n)
            return n;
        spsc_release(q); /* only padding: give it back and look again */
    }
}

size_t spsc_take(struct spsc *q, const struct spsc_hdr **out, size_t max)
{
    return take(q, out, max, 0);
}

size_t spsc_take_for(struct spsc *q, const struct spsc_hdr **out, size_t max, long timeout_ms)
{
    long naps = timeout_ms * 1000000L / NAP_NS;
    return take(q, out, max, naps > 0 ? naps : 1);
}

bool spsc_drained(struct spsc *q)
{
    return atomic_load(&q->closed) && atomic_load(&q->head) == q->c_tail;
}

void spsc_release(struct spsc *q)
{
    atomic_store(&q->tail, q->c_tail);
    if (atomic_load(&q->producer_sleeps)) {
        size_t used = atomic_load(&q->head) - q->c_tail;
        if (q->size - used >= q->size / 4)
            wake(q);
    }
}
