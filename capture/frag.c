/* SPDX-License-Identifier: MIT */
/* Fragment reassembly (RFC 791, RFC 8200 4.5). Overlapping fragments are counted and the
 * first copy of each byte wins (RFC 5722 asks IPv6 receivers to drop such datagrams; a
 * passive sensor keeps what the first copy said and reports the overlap). */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

#define FRAG_MAX 65535u
#define FRAG_UNIT 8u
#define FRAG_UNITS (FRAG_MAX / FRAG_UNIT + 1)

struct frag_slot {
    bool used;
    struct frag_key key;
    uint64_t first_ns;
    uint32_t total; /* datagram length once the last fragment was seen, else 0 */
    uint32_t have;  /* bytes received */
    uint8_t *buf;
    uint64_t bits[(FRAG_UNITS + 63) / 64]; /* 8-byte units received */
};

struct frag_table {
    struct frag_slot *slots;
    uint32_t n;
    uint64_t timeout_ns;
    struct cap_stats *st;
};

struct frag_table *frag_new(uint32_t nslots, uint64_t timeout_ns, struct cap_stats *st)
{
    struct frag_table *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->slots = calloc(nslots ? nslots : 1, sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->n = nslots ? nslots : 1;
    t->timeout_ns = timeout_ns;
    t->st = st;
    return t;
}

void frag_free(struct frag_table *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n; i++)
        free(t->slots[i].buf);
    free(t->slots);
    free(t);
}

static bool key_eq(const struct frag_key *a, const struct frag_key *b)
{
    size_t alen = a->af == 4 ? 4 : 16;
    return a->af == b->af && a->proto == b->proto && a->id == b->id &&
           memcmp(a->src, b->src, alen) == 0 && memcmp(a->dst, b->dst, alen) == 0;
}

static bool slot_complete(const struct frag_slot *s)
{
    uint32_t units = (s->total + FRAG_UNIT - 1) / FRAG_UNIT;

    for (uint32_t u = 0; u < units; u++)
        if (!(s->bits[u / 64] & (1ull << (u % 64))))
            return false;
    return true;
}

static void slot_release(struct frag_slot *s)
{
    s->used = false; /* the buffer stays with the slot for the next datagram */
}

bool frag_add(struct frag_table *t, const struct frag_key *k, uint64_t now_ns, uint32_t off,
              bool more, const uint8_t *payload, uint32_t len, const uint8_t **out,
              uint32_t *out_len)
{
    struct frag_slot *s = NULL, *free_slot = NULL, *oldest = NULL;
    uint32_t end = off + len;
    bool overlap = false;

    t->st->c[CAP_FRAG_FRAGMENTS]++;
    /* One pass: find the datagram, expire stale ones, remember a free and the oldest slot. */
    for (uint32_t i = 0; i < t->n; i++) {
        struct frag_slot *c = &t->slots[i];
        if (c->used && now_ns > c->first_ns && now_ns - c->first_ns > t->timeout_ns) {
            t->st->c[CAP_FRAG_TIMEOUT]++;
            slot_release(c);
        }
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
            continue;
        }
        if (!s && key_eq(&c->key, k))
            s = c;
        if (!oldest || c->first_ns < oldest->first_ns)
            oldest = c;
    }
    if (end > FRAG_MAX || (more && (len % FRAG_UNIT) != 0)) {
        /* A datagram over 64 KiB (ping-of-death shape) or a middle fragment that is not a
         * multiple of 8: never valid. */
        t->st->c[CAP_FRAG_TOO_BIG]++;
        if (s)
            slot_release(s);
        return false;
    }
    if (!s) {
        if (!free_slot) {
            t->st->c[CAP_FRAG_EVICTED]++;
            slot_release(oldest);
            free_slot = oldest;
        }
        s = free_slot;
        if (!s->buf) {
            s->buf = malloc(FRAG_MAX);
            if (!s->buf) {
                t->st->c[CAP_FRAG_NOMEM]++;
                return false;
            }
        }
        s->used = true;
        s->key = *k;
        s->first_ns = now_ns;
        s->total = 0;
        s->have = 0;
        memset(s->bits, 0, sizeof(s->bits));
    }
    if (!more) {
        if (s->total && s->total != end)
            overlap = true; /* two different "last" fragments */
        else
            s->total = end;
    }
    /* Copy unit by unit, first copy wins. Offsets are multiples of 8 (the header says so). */
    for (uint32_t u = off / FRAG_UNIT; u * FRAG_UNIT < end; u++) {
        uint32_t ustart = u * FRAG_UNIT, uend = ustart + FRAG_UNIT;
        uint64_t bit = 1ull << (u % 64);
        if (uend > end)
            uend = end;
        if (s->bits[u / 64] & bit) {
            overlap = true;
            continue;
        }
        s->bits[u / 64] |= bit;
        memcpy(s->buf + ustart, payload + (ustart - off), uend - ustart);
        s->have += uend - ustart;
    }
    if (overlap)
        t->st->c[CAP_FRAG_OVERLAP]++;
    if (s->total && s->have >= s->total && slot_complete(s)) {
        t->st->c[CAP_FRAG_REASSEMBLED]++;
        *out = s->buf;
        *out_len = s->total;
        slot_release(s); /* buffer content stays valid until the slot is reused */
        return true;
    }
    return false;
}

void frag_flush(struct frag_table *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->slots[i].used) {
            t->st->c[CAP_FRAG_TIMEOUT]++;
            slot_release(&t->slots[i]);
        }
    }
}
