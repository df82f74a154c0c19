/* SPDX-License-Identifier: MIT */
/* Histogram, Filtered Space-Saving and HyperLogLog. All memory is allocated at init; every
 * add is O(1) (the Space-Saving probe is O(1) expected at load factor 1/2). */
#include "sketch.h"

#include "../common/err.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- histogram ---- */
void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

static uint32_t hist_bucket(uint64_t v)
{
    unsigned e;

    if (v < HIST_SUB)
        return (uint32_t)v;
    e = (unsigned)(63 - __builtin_clzll(v)) - 10; /* v in [2^(10+e), 2^(11+e)) */
    if (e > HIST_OCTAVES)
        return HIST_BUCKETS - 1;
    return HIST_SUB + (e - 1) * (HIST_SUB / 2) + (uint32_t)((v >> e) - HIST_SUB / 2);
}

static uint64_t hist_value(uint32_t b)
{
    uint32_t e, m;

    if (b < HIST_SUB)
        return b;
    e = (b - HIST_SUB) / (HIST_SUB / 2) + 1;
    m = (b - HIST_SUB) % (HIST_SUB / 2) + HIST_SUB / 2;
    return (uint64_t)m << e;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->b[hist_bucket(us)]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

bool hist_percentile(const struct hist *h, double p, uint64_t *us)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return false;
    rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (uint32_t b = 0; b < HIST_BUCKETS; b++) {
        seen += h->b[b];
        if (seen >= rank) {
            uint64_t v = hist_value(b);
            *us = v > h->max_us ? h->max_us : v;
            return true;
        }
    }
    *us = h->max_us;
    return true;
}

/* ---- hashing ---- */

/* Exact ASCII lower case of 8 bytes at once: bytes 'A'..'Z' gain 0x20, all others stay. */
static inline uint64_t swar_lower(uint64_t v)
{
    const uint64_t h = 0x8080808080808080ull, l7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t b = v & l7;
    uint64_t ge_a = b + 0x3f3f3f3f3f3f3f3full; /* high bit set where byte >= 'A' (0x41) */
    uint64_t gt_z = b + 0x2525252525252525ull; /* high bit set where byte > 'Z' (0x5a) */
    uint64_t upper = ge_a & ~gt_z & ~v & h;
    return v | (upper >> 2);
}

uint64_t sketch_hash(const uint8_t *p, size_t n, bool fold)
{
    /* One multiply per 8 bytes and a final avalanche: table hashing, not cryptography.
     * Adversarial collisions only lengthen probe chains, they never change a result.
     * Folding sets bit 0x20 of every byte: 'A'..'Z' meet 'a'..'z' (what case-insensitive
     * equality needs, RFC 4343) for one OR; the few other bytes it pairs up ('@' and '`',
     * a label length of 1 and '!') only collide, and every user compares the keys exactly. */
    const uint64_t f = fold ? 0x2020202020202020ull : 0;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = ((h ^ (v | f)) * 0xbf58476d1ce4e5b9ull);
        h ^= h >> 31;
    }
    if (i < n) {
        /* The tail in at most two loads (overlapping is fine for a hash). */
        uint64_t v;
        if (n >= 8) {
            memcpy(&v, p + n - 8, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            v = ((uint64_t)b << 32) | a;
        } else {
            v = (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16);
        }
        h = (h ^ (v | f)) * 0xbf58476d1ce4e5b9ull;
    }
    return sketch_mix64(h);
}

/* ---- Space-Saving ---- */
int topn_init(struct topn *t, uint32_t k, uint32_t keymax)
{
    uint32_t n = 2, c = 64;

    memset(t, 0, sizeof(*t));
    if (k == 0)
        k = 1;
    while (n < k * 2)
        n <<= 1;
    while (c < k * 8)
        c <<= 1;
    t->k = k;
    t->keymax = keymax;
    t->mask = n - 1;
    t->cmask = c - 1;
    t->items = calloc(k, sizeof(*t->items));
    t->keys = calloc(k, keymax);
    t->buckets = calloc(k, sizeof(*t->buckets));
    t->index = calloc(n, sizeof(*t->index));
    t->cells = calloc(c, sizeof(*t->cells));
    if (!t->items || !t->keys || !t->buckets || !t->index || !t->cells) {
        topn_free(t);
        return ERR_NOMEM;
    }
    for (uint32_t i = 0; i < k; i++) {
        t->items[i].key = t->keys + (size_t)i * keymax;
        t->buckets[i].next = i + 1 < k ? i + 1 : TOPN_NONE;
    }
    t->bfree = 0;
    t->bmin = TOPN_NONE;
    return 0;
}

void topn_free(struct topn *t)
{
    free(t->items);
    free(t->keys);
    free(t->buckets);
    free(t->index);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

static uint32_t bucket_new(struct topn *t, uint64_t count, uint32_t prev, uint32_t next)
{
    uint32_t b = t->bfree;
    struct topn_bucket *bk = &t->buckets[b];

    t->bfree = bk->next;
    bk->count = count;
    bk->head = TOPN_NONE;
    bk->prev = prev;
    bk->next = next;
    if (prev != TOPN_NONE)
        t->buckets[prev].next = b;
    else
        t->bmin = b;
    if (next != TOPN_NONE)
        t->buckets[next].prev = b;
    return b;
}

static void bucket_attach(struct topn *t, uint32_t b, uint32_t item)
{
    struct topn_item *it = &t->items[item];
    it->bucket = b;
    it->count = t->buckets[b].count;
    it->prev = TOPN_NONE;
    it->next = t->buckets[b].head;
    if (it->next != TOPN_NONE)
        t->items[it->next].prev = item;
    t->buckets[b].head = item;
}

/* Takes item out of its bucket; frees the bucket if that leaves it empty. */
static void bucket_detach(struct topn *t, uint32_t item)
{
    struct topn_item *it = &t->items[item];
    uint32_t b = it->bucket;
    struct topn_bucket *bk = &t->buckets[b];

    if (it->prev != TOPN_NONE)
        t->items[it->prev].next = it->next;
    else
        bk->head = it->next;
    if (it->next != TOPN_NONE)
        t->items[it->next].prev = it->prev;
    if (bk->head == TOPN_NONE) {
        if (bk->prev != TOPN_NONE)
            t->buckets[bk->prev].next = bk->next;
        else
            t->bmin = bk->next;
        if (bk->next != TOPN_NONE)
            t->buckets[bk->next].prev = bk->prev;
        bk->next = t->bfree;
        t->bfree = b;
    }
}

/* Moves item from its bucket (count c) to the bucket of count c + 1. */
static void bump(struct topn *t, uint32_t item)
{
    uint32_t b = t->items[item].bucket, nb = t->buckets[b].next;
    uint64_t c = t->buckets[b].count + 1;
    bool alone = t->buckets[b].head == item && t->items[item].next == TOPN_NONE;

    if (alone && (nb == TOPN_NONE || t->buckets[nb].count != c)) {
        /* Its own bucket can simply count one more. */
        t->buckets[b].count = c;
        t->items[item].count = c;
        return;
    }
    if (nb == TOPN_NONE || t->buckets[nb].count != c)
        nb = bucket_new(t, c, b, nb);
    bucket_detach(t, item);
    bucket_attach(t, nb, item);
}

static void index_del(struct topn *t, uint32_t item)
{
    uint32_t i = (uint32_t)(t->items[item].hash >> 32) & t->mask, j;

    while ((uint32_t)t->index[i] != item + 1)
        i = (i + 1) & t->mask;
    for (j = (i + 1) & t->mask; t->index[j] != 0; j = (j + 1) & t->mask) {
        uint32_t home = (uint32_t)(t->index[j] >> 32) & t->mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->index[i] = t->index[j];
        i = j;
    }
    t->index[i] = 0;
}

static inline uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool key_eq(const uint8_t *stored, const uint8_t *key, size_t len, bool fold)
{
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t a, b;
        memcpy(&a, stored + i, 8);
        memcpy(&b, key + i, 8);
        if (a != (fold ? swar_lower(b) : b)) /* stored keys are lower case already */
            return false;
    }
    for (; i < len; i++)
        if (stored[i] != (fold ? lower(key[i]) : key[i]))
            return false;
    return true;
}

static void key_copy(uint8_t *dst, const uint8_t *key, size_t len, bool fold)
{
    size_t i = 0;

    if (!fold) {
        memcpy(dst, key, len);
        return;
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, key + i, 8);
        v = swar_lower(v);
        memcpy(dst + i, &v, 8);
    }
    for (; i < len; i++)
        dst[i] = lower(key[i]);
}

void topn_add(struct topn *t, const uint8_t *key, size_t len, uint64_t h)
{
    topn_add_fold(t, key, len, h, false);
}

/* Filtered Space-Saving. Let c(j) be cell j and min the smallest monitored count.
 *  (I1) every unmonitored key y has true(y) <= c(h(y)): an unmonitored arrival increments
 *       its cell; a key enters with count c + 1 (>= its true count); an evicted key m
 *       raises its cell to its count (an upper bound of true(m)), and cells never fall.
 *  (I2) c(j) <= min: a cell is incremented only while c + 1 <= min, an eviction raises a
 *       cell to the old minimum, and min never falls.
 *  (I3) the monitored counts sum to at most N: an entry replaces the minimum with
 *       c + 1 <= min + 1, every other step adds 1 or nothing. So min <= N/k.
 * Hence every key with true count > N/k is monitored (I1, I2, I3), each monitored key has
 * count - error <= true <= count with error = its cell at entry <= N/k: the guarantees of
 * plain Space-Saving, which this is when every cell sits at min. */
void topn_add_fold(struct topn *t, const uint8_t *key, size_t len, uint64_t h, bool fold)
{
    uint32_t tag = (uint32_t)(h >> 32), i, item;
    uint32_t *cell = &t->cells[(uint32_t)h & t->cmask];
    uint64_t entry;
    struct topn_item *it;

    if (len > t->keymax)
        len = t->keymax;
    t->total++;
    for (i = tag & t->mask; t->index[i] != 0; i = (i + 1) & t->mask) {
        if ((uint32_t)(t->index[i] >> 32) != tag)
            continue;
        item = (uint32_t)t->index[i] - 1;
        it = &t->items[item];
        if (it->hash == h && it->keylen == len && key_eq(it->key, key, len, fold)) {
            bump(t, item);
            return;
        }
    }
    if (t->n < t->k) {
        item = t->n++;
        it = &t->items[item];
        entry = (uint64_t)*cell + 1;
        it->error = entry - 1;
        /* Buckets ascend from bmin: find or make the one for this count (the list is not
         * full yet, so cells are still 0 and this is the bucket of 1 in practice). */
        {
            uint32_t b = t->bmin, prev = TOPN_NONE;
            while (b != TOPN_NONE && t->buckets[b].count < entry) {
                prev = b;
                b = t->buckets[b].next;
            }
            if (b == TOPN_NONE || t->buckets[b].count != entry)
                b = bucket_new(t, entry, prev, b);
            bucket_attach(t, b, item);
        }
    } else {
        uint64_t min = t->buckets[t->bmin].count;
        if ((uint64_t)*cell + 1 <= min) {
            /* Not yet a candidate: count it in its cell only (I1, I2 hold). */
            (*cell)++;
            t->filtered++;
            return;
        }
        /* *cell == min (I2): replace a counter of the minimum; the newcomer's count is
         * min + 1 = cell + 1 with error min, as in Space-Saving. The evicted key's cell
         * rises to its count (I1). */
        item = t->buckets[t->bmin].head;
        it = &t->items[item];
        {
            uint32_t *old = &t->cells[(uint32_t)it->hash & t->cmask];
            if (*old < min)
                *old = (uint32_t)(min > UINT32_MAX ? UINT32_MAX : min);
        }
        index_del(t, item);
        it->error = it->count;
        t->replacements++;
        bump(t, item);
        for (i = tag & t->mask; t->index[i] != 0; i = (i + 1) & t->mask)
            ;
    }
    it->hash = h;
    it->keylen = (uint16_t)len;
    key_copy(it->key, key, len, fold);
    t->index[i] = ((uint64_t)tag << 32) | (item + 1);
}

static int cmp_count(const void *a, const void *b)
{
    const struct topn_item *x = *(const struct topn_item *const *)a;
    const struct topn_item *y = *(const struct topn_item *const *)b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->keylen != y->keylen)
        return x->keylen < y->keylen ? -1 : 1;
    return memcmp(x->key, y->key, x->keylen); /* ties in a stable, input-defined order */
}

size_t topn_top(const struct topn *t, const struct topn_item **out, size_t max)
{
    const struct topn_item **all = malloc((t->n ? t->n : 1) * sizeof(*all));
    size_t n = 0;

    if (!all)
        return 0;
    for (uint32_t i = 0; i < t->n; i++)
        all[i] = &t->items[i];
    qsort(all, t->n, sizeof(*all), cmp_count);
    for (; n < max && n < t->n; n++)
        out[n] = all[n];
    free(all);
    return n;
}

/* ---- HyperLogLog ---- */
void hll_reset(struct hll *h)
{
    memset(h, 0, sizeof(*h));
}

void hll_add(struct hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_P));
    uint64_t rest = (hash << HLL_P) | (1ull << (HLL_P - 1)); /* guard bit bounds the rank */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > h->reg[idx])
        h->reg[idx] = rank;
}

uint64_t hll_estimate(const struct hll *h)
{
    const double m = (double)(1u << HLL_P);
    double sum = 0, est;
    unsigned zeros = 0;

    for (uint32_t i = 0; i < (1u << HLL_P); i++) {
        sum += ldexp(1.0, -h->reg[i]);
        zeros += h->reg[i] == 0;
    }
    est = (0.7213 / (1.0 + 1.079 / m)) * m * m / sum;
    if (est <= 2.5 * m && zeros > 0)
        est = m * log(m / zeros); /* linear counting for small cardinalities */
    return (uint64_t)(est + 0.5);
}
