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
    t->keys = calloc(cap, sizeof(*t->keys));
    t->vals = calloc(cap, vsize);
    t->index = calloc(n, sizeof(*t->index));
    if (!t->keys || !t->vals || !t->index) {
        ktab_free(t);
        return ERR_NOMEM;
    }
    return 0;
}

void ktab_free(struct ktab *t)
{
    free(t->keys);
    free(t->vals);
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

void *ktab_get(struct ktab *t, const struct ktab_key *key, bool create)
{
    uint32_t i;

    for (i = khash(key) & t->mask; t->index[i] != 0; i = (i + 1) & t->mask) {
        uint32_t e = t->index[i] - 1;
        if (memcmp(&t->keys[e], key, sizeof(*key)) == 0)
            return t->vals + (size_t)e * t->vsize;
    }
    if (!create)
        return NULL;
    if (t->n == t->cap) {
        t->refused++;
        return NULL;
    }
    t->keys[t->n] = *key;
    memset(t->vals + (size_t)t->n * t->vsize, 0, t->vsize);
    t->index[i] = ++t->n;
    return t->vals + (size_t)(t->n - 1) * t->vsize;
}

void ktab_clear(struct ktab *t)
{
    memset(t->index, 0, (size_t)(t->mask + 1) * sizeof(*t->index));
    t->n = 0;
}

const struct ktab_key *ktab_key_at(const struct ktab *t, uint32_t i)
{
    return &t->keys[i];
}

void *ktab_val_at(const struct ktab *t, uint32_t i)
{
    return t->vals + (size_t)i * t->vsize;
}

const uint8_t *ktab_key_addr(const struct ktab_key *k, uint8_t *af)
{
    *af = k->b[0];
    return k->b + 1;
}
