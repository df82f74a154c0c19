/* SPDX-License-Identifier: MIT */
/* Registered-domain lookup with a direct-mapped cache in front of libpsl. */
#include "regdom.h"

#include "sketch.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#define REGDOM_CACHE 8192 /* power of two */
#define MAX_LABELS 128

struct regdom_slot {
    uint64_t hash; /* 0 = empty */
    uint8_t depth; /* labels in the registered domain: 2, or 3 below a two-label suffix */
};

struct regdom {
    const psl_ctx_t *psl;
    struct regdom_slot cache[REGDOM_CACHE];
    uint64_t lookups, hits;
};

/* The list is read-only and costs a file read to load: one per process, kept until exit. */
static const psl_ctx_t *shared_psl;

struct regdom *regdom_new(void)
{
    struct regdom *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (!shared_psl)
        shared_psl = psl_latest(NULL); /* the system list (Debian's publicsuffix package) */
    if (!shared_psl)
        shared_psl = psl_builtin();
    r->psl = shared_psl;
    if (!r->psl) {
        free(r);
        return NULL;
    }
    return r;
}

void regdom_free(struct regdom *r)
{
    free(r);
}

bool regdom_find(struct regdom *r, const uint8_t *name, size_t len, size_t *start)
{
    size_t off[MAX_LABELS], n = 0, p = 0;
    uint64_t h;
    struct regdom_slot *s;

    while (p < len && name[p] != 0 && n < MAX_LABELS) {
        off[n++] = p;
        p += (size_t)name[p] + 1;
    }
    if (n == 0)
        return false;
    if (n == 1) {
        *start = 0;
        return true;
    }
    h = sketch_hash(name + off[n - 2], len - off[n - 2], true) | 1;
    s = &r->cache[h & (REGDOM_CACHE - 1)];
    if (s->hash == h) {
        r->hits++;
    } else {
        /* Presentation form, lower case, of the last two labels for libpsl. */
        char text[2 * 64 + 2];
        size_t t = 0;
        for (size_t q = off[n - 2]; q < len && name[q] != 0; q += (size_t)name[q] + 1) {
            for (size_t i = 1; i <= name[q]; i++) {
                char c = (char)name[q + i];
                text[t++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
            }
            text[t++] = '.';
        }
        text[t - 1] = '\0';
        r->lookups++;
        s->hash = h;
        s->depth = psl_is_public_suffix(r->psl, text) ? 3 : 2;
    }
    *start = n >= s->depth ? off[n - s->depth] : 0;
    return true;
}

void regdom_counts(const struct regdom *r, uint64_t *lookups, uint64_t *hits)
{
    *lookups = r->lookups;
    *hits = r->hits;
}
