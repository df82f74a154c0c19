/* SPDX-License-Identifier: MIT */
/* The one bounds-checked reader for wire data (STYLE.md section 4). Every parser walks
 * untrusted bytes only through these helpers; once a read would pass the end, the reader
 * is marked failed and every later read returns 0/false, so callers check once. */
#ifndef DV_COMMON_RD_H
#define DV_COMMON_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
    const uint8_t *base; /* start of the buffer (a view, not owned) */
    size_t len;          /* bytes in the buffer */
    size_t off;          /* next byte to read */
    bool fail;           /* a read went past the end */
};

static inline void rd_init(struct rd *r, const uint8_t *base, size_t len)
{
    r->base = base;
    r->len = len;
    r->off = 0;
    r->fail = false;
}

static inline size_t rd_left(const struct rd *r)
{
    return r->fail ? 0 : r->len - r->off;
}

static inline bool rd_need(struct rd *r, size_t n)
{
    if (r->fail || r->len - r->off < n) {
        r->fail = true;
        return false;
    }
    return true;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return r->base[r->off++];
}

static inline uint16_t rd_u16be(struct rd *r)
{
    uint16_t v;
    if (!rd_need(r, 2))
        return 0;
    v = (uint16_t)((r->base[r->off] << 8) | r->base[r->off + 1]);
    r->off += 2;
    return v;
}

static inline uint32_t rd_u32be(struct rd *r)
{
    uint32_t v;
    if (!rd_need(r, 4))
        return 0;
    v = ((uint32_t)r->base[r->off] << 24) | ((uint32_t)r->base[r->off + 1] << 16) |
        ((uint32_t)r->base[r->off + 2] << 8) | (uint32_t)r->base[r->off + 3];
    r->off += 4;
    return v;
}

static inline uint16_t rd_u16le(struct rd *r)
{
    uint16_t v;
    if (!rd_need(r, 2))
        return 0;
    v = (uint16_t)(r->base[r->off] | (r->base[r->off + 1] << 8));
    r->off += 2;
    return v;
}

static inline uint32_t rd_u32le(struct rd *r)
{
    uint32_t v;
    if (!rd_need(r, 4))
        return 0;
    v = (uint32_t)r->base[r->off] | ((uint32_t)r->base[r->off + 1] << 8) |
        ((uint32_t)r->base[r->off + 2] << 16) | ((uint32_t)r->base[r->off + 3] << 24);
    r->off += 4;
    return v;
}

/* Returns a view of the next n bytes and advances, or NULL (and fails) if fewer remain. */
static inline const uint8_t *rd_bytes(struct rd *r, size_t n)
{
    const uint8_t *p;
    if (!rd_need(r, n))
        return NULL;
    p = r->base + r->off;
    r->off += n;
    return p;
}

static inline bool rd_skip(struct rd *r, size_t n)
{
    return rd_bytes(r, n) != NULL || n == 0;
}

/* Returns the byte at absolute offset pos without moving, or -1 past the end. */
static inline int rd_peek_at(const struct rd *r, size_t pos)
{
    return pos < r->len ? r->base[pos] : -1;
}

#endif
