/* SPDX-License-Identifier: MIT */
/* Bounded key/value table (open addressing, no deletion except clear). */
#include "ktab.h"

#include "../common/err.h"

#include <stdlib.h>
#include <string.h>

int ktab_init(struct ktab *t, uint32_t cap, size_t vsize)
{
    uint32_t n = 2;

    memset(t, 0, sizeof(*t));
    while (n < cap * 2)
        n <<= 1;
    t->cap = cap;
    t->mask = n - 1;
    t->vsize = vsize;
    t->stride = (sizeof(struct ktab_key) + vsize + 7) & ~(size_t)7;
    t->entries = calloc(cap, t->stride);
    t->index = calloc(n, sizeof(*t->index));
    if (!t->entries || !t->index) {
        ktab_free(t);
        return ERR_NOMEM;
    }
    return 0;
}

void ktab_free(struct ktab *t)
{
    free(t->entries);
    free(t->index);
    memset(t, 0, sizeof(*t));
}

static uint32_t khash(const struct ktab_key *k)
{
    uint64_t a, b, c, h;

    memcpy(&a, k->b, 8);
    memcpy(&b, k->b + 8, 8);
    memcpy(&c, k->b + 16, 8);
    h = a * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full ^ c * 0x165667b19e3779f9ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static inline bool key_eq(const uint8_t *e, const struct ktab_key *k)
{
    uint64_t a[3], b[3];
    memcpy(a, e, sizeof(a));
    memcpy(b, k->b, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2])) == 0;
}

void *ktab_get(struct ktab *t, const struct ktab_key *key, bool create)
{
    uint32_t i;

    if (t->last) {
        uint8_t *e = t->entries + (size_t)(t->last - 1) * t->stride;
        if (key_eq(e, key))
            return e + sizeof(*key);
    }
    for (i = khash(key) & t->mask; t->index[i] != 0; i = (i + 1) & t->mask) {
        uint8_t *e = t->entries + (size_t)(t->index[i] - 1) * t->stride;
        if (key_eq(e, key)) {
            t->last = t->index[i];
            return e + sizeof(*key);
        }
    }
    if (!create)
        return NULL;
    if (t->n == t->cap) {
        t->refused++;
        return NULL;
    }
    {
        uint8_t *e = t->entries + (size_t)t->n * t->stride;
        memcpy(e, key, sizeof(*key));
        memset(e + sizeof(*key), 0, t->vsize);
        t->index[i] = ++t->n;
        t->last = t->n;
        return e + sizeof(*key);
    }
}

void ktab_clear(struct ktab *t)
{
    memset(t->index, 0, (size_t)(t->mask + 1) * sizeof(*t->index));
    t->n = 0;
    t->last = 0;
}

const struct ktab_key *ktab_key_at(const struct ktab *t, uint32_t i)
{
    return (const struct ktab_key *)(const void *)(t->entries + (size_t)i * t->stride);
}

void *ktab_val_at(const struct ktab *t, uint32_t i)
{
    return t->entries + (size_t)i * t->stride + sizeof(struct ktab_key);
}

const uint8_t *ktab_key_addr(const struct ktab_key *k, uint8_t *af)
{
    *af = k->b[0];
    return k->b + 1;
}
