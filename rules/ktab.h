/* SPDX-License-Identifier: MIT */
/* A bounded table for rule state: fixed-size keys (an address and a few more bytes) to
 * fixed-size values, preallocated; when full, new keys are refused and counted. Rules use
 * it for per-server, per-victim and per-peer state. */
#ifndef DV_RULES_KTAB_H
#define DV_RULES_KTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KTAB_KEY 24

struct ktab_key {
    uint8_t b[KTAB_KEY];
};

struct ktab {
    uint32_t cap, n, mask;
    size_t vsize, stride; /* an entry is its key followed by its value: one cache line */
    uint8_t *entries;
    uint32_t *index;  /* entry + 1 */
    uint32_t last;    /* entry + 1 of the last hit: runs of one key skip the hash */
    uint64_t refused; /* inserts refused because the table was full */
};

int ktab_init(struct ktab *t, uint32_t cap, size_t vsize);
void ktab_free(struct ktab *t);
/* The value for key, created zero-filled if create and there is room; NULL otherwise. */
void *ktab_get(struct ktab *t, const struct ktab_key *key, bool create);
/* Drops every entry. */
void ktab_clear(struct ktab *t);
/* Entry i (i < t->n): its key and value. */
const struct ktab_key *ktab_key_at(const struct ktab *t, uint32_t i);
void *ktab_val_at(const struct ktab *t, uint32_t i);

/* Builds a key from an address (af 4/16 bytes) and up to 7 extra bytes. */
static inline struct ktab_key ktab_addr_key(uint8_t af, const uint8_t *addr, const void *extra,
                                            size_t n)
{
    struct ktab_key k = {{0}};
    k.b[0] = af;
    memcpy(k.b + 1, addr, af == 4 ? 4 : 16);
    if (extra && n)
        memcpy(k.b + 17, extra, n > 7 ? 7 : n);
    return k;
}
/* The address of a key built by ktab_addr_key (af in *af). */
const uint8_t *ktab_key_addr(const struct ktab_key *k, uint8_t *af);

#endif
