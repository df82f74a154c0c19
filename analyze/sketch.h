/* SPDX-License-Identifier: MIT */
/* Bounded summaries of unbounded streams, so memory does not grow with the number of
 * distinct clients or names (DESIGN.md principle 3):
 *  - hist: latency histogram, exact to 1 us below 2048 us, relative error < 1/1024 above;
 *  - topn: Filtered Space-Saving heavy hitters (Metwally et al. 2005; Homem and Carvalho
 *    2010) with k counters: every key whose true count exceeds N/k is listed, and each
 *    listed count overestimates the true one by at most its reported error (<= N/k);
 *  - hll: HyperLogLog distinct counter (2^14 registers, standard error about 0.8%). */
#ifndef DV_ANALYZE_SKETCH_H
#define DV_ANALYZE_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- latency histogram (microseconds) ---- */
#define HIST_SUB 2048u
#define HIST_OCTAVES 22u /* up to 2^32 us (about 71 minutes) */
#define HIST_BUCKETS (HIST_SUB + HIST_OCTAVES * (HIST_SUB / 2))

struct hist {
    uint64_t count;
    uint64_t max_us;
    uint32_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
/* Nearest-rank percentile (0 < p <= 100) in microseconds; false if the histogram is empty. */
bool hist_percentile(const struct hist *h, double p, uint64_t *us);

/* ---- Space-Saving top-N ---- */
/* Stream-summary layout (Metwally et al.): counters hang in buckets of equal count, the
 * buckets in ascending order, so an increment and a replacement of the minimum are O(1).
 * In front of it sits a filter of 8k small counters ("cells", by hash): a key that is not
 * monitored only counts in its cell until the cell exceeds the smallest monitored count,
 * and only then replaces the minimum. Invariants (proved in sketch.c): a cell is never
 * below the true count of any unmonitored key hashing to it, and never above the minimum.
 * So a flood of unique names costs a cell increment per name, not a replacement. */
#define TOPN_NONE 0xffffffffu

struct topn_item {
    uint64_t hash;
    uint64_t count; /* estimated count (never below the true count) */
    uint64_t error; /* the estimate exceeds the true count by at most this */
    uint32_t bucket, prev, next;
    uint16_t keylen;
    uint8_t *key;
};

struct topn_bucket {
    uint64_t count;
    uint32_t head;       /* first item with this count */
    uint32_t prev, next; /* neighbouring buckets (ascending counts) */
};

struct topn {
    uint32_t k, n;
    uint32_t keymax;
    struct topn_item *items;
    uint8_t *keys;
    struct topn_bucket *buckets;
    uint32_t bmin;   /* bucket with the smallest count */
    uint32_t bfree;  /* free bucket list (through next) */
    uint64_t *index; /* open addressing: (hash high 32 bits << 32) | (item index + 1) */
    uint32_t mask;
    uint32_t *cells; /* the filter: bound on the true count of unmonitored keys */
    uint32_t cmask;
    uint64_t total;        /* items added */
    uint64_t replacements; /* times the minimum was replaced (the sketch is approximate) */
    uint64_t filtered;     /* unmonitored keys that only counted in their cell */
};

/* Allocates a summary of k counters for keys of up to keymax bytes. 0 or ERR_NOMEM. */
int topn_init(struct topn *t, uint32_t k, uint32_t keymax);
void topn_free(struct topn *t);
/* Counts one occurrence of key (len bytes, truncated to keymax) whose 64-bit hash is h. */
void topn_add(struct topn *t, const uint8_t *key, size_t len, uint64_t h);
/* The same, with ASCII case folded: keys are stored in lower case and compared without
 * case (h must be a case-insensitive hash, e.g. sketch_hash(..., true)). */
void topn_add_fold(struct topn *t, const uint8_t *key, size_t len, uint64_t h, bool fold);
/* Starts loading the index slot for hash h into the cache (a topn_add for h follows). */
static inline void topn_prefetch(const struct topn *t, uint64_t h)
{
    __builtin_prefetch(&t->index[(uint32_t)(h >> 32) & t->mask]);
    __builtin_prefetch(&t->cells[(uint32_t)h & t->cmask]);
}

/* Stores up to max items, largest count first, in out; returns how many. */
size_t topn_top(const struct topn *t, const struct topn_item **out, size_t max);

/* ---- HyperLogLog ---- */
#define HLL_P 14
struct hll {
    uint8_t reg[1u << HLL_P];
};
void hll_reset(struct hll *h);
void hll_add(struct hll *h, uint64_t hash);
uint64_t hll_estimate(const struct hll *h);

/* The 64-bit finaliser of MurmurHash3: every input bit affects every output bit. */
static inline uint64_t sketch_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* A 64-bit hash of an IP address (af 4: 4 bytes, else 16), for the client and server top
 * lists and distinct clients: two multiplies instead of the byte loop. */
static inline uint64_t sketch_hash_addr(const uint8_t *a, uint8_t af)
{
    uint64_t x, y = 0;
    uint32_t v4;

    if (af == 4) {
        __builtin_memcpy(&v4, a, 4);
        x = v4;
    } else {
        __builtin_memcpy(&x, a, 8);
        __builtin_memcpy(&y, a + 8, 8);
    }
    return sketch_mix64((x * 0x9e3779b97f4a7c15ull) ^ (y * 0xc2b2ae3d27d4eb4full) ^ af);
}

/* A good 64-bit hash of bytes (for keys fed to topn and hll). With fold, keys equal but for
 * ASCII case hash alike (RFC 4343). */
uint64_t sketch_hash(const uint8_t *p, size_t n, bool fold);

#endif
