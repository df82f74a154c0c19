/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 fragment reassembly: a fixed table of slots, each with a lazily allocated
 * 64 KiB buffer, time-outs on packet time, oldest-first eviction. Internal to capture/. */
#ifndef DV_CAPTURE_FRAG_H
#define DV_CAPTURE_FRAG_H

#include "cap.h"

struct frag_table;

/* Allocates a table of nslots slots; datagrams older than timeout_ns are dropped. */
struct frag_table *frag_new(uint32_t nslots, uint64_t timeout_ns, struct cap_stats *st);

void frag_free(struct frag_table *t);

/* Identity of a fragmented datagram. */
struct frag_key {
    uint8_t af;
    uint8_t proto; /* IPv4 protocol, or the IPv6 fragment header's next header */
    uint8_t src[16], dst[16];
    uint32_t id;
};

/* Adds one fragment: payload bytes at byte offset off of the datagram, more = the MF flag.
 * When the datagram is complete returns true and sets *out and *out_len to a view of it, valid
 * until the next frag_add() or frag_flush(). */
bool frag_add(struct frag_table *t, const struct frag_key *k, uint64_t now_ns, uint32_t off,
              bool more, const uint8_t *payload, uint32_t len, const uint8_t **out,
              uint32_t *out_len);

/* Drops every waiting datagram, counting it as timed out. */
void frag_flush(struct frag_table *t);

#endif
