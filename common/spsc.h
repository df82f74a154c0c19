/* SPDX-License-Identifier: MIT */
/* A single-producer single-consumer queue of variable-length records in one preallocated
 * ring, for handing work from one thread to the next without locks or allocation. Records
 * are 8-byte aligned and never wrap (the producer pads the end). The producer publishes in
 * batches and the consumer releases in batches, so the two threads share a cache line about
 * once per batch, not once per record (the consumer takes and releases whole batches). A side that
 * finds the ring full (or empty) spins briefly and then sleeps on a condition variable; the other
 * side wakes it. Not for more than one producer or one consumer. */
#ifndef DV_COMMON_SPSC_H
#define DV_COMMON_SPSC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPSC_BATCH 32 /* records between publications */

struct spsc_hdr {
    uint32_t len;  /* whole record, header included, multiple of 8 */
    uint16_t type; /* the user's record type; 0 is the ring's own padding */
    uint16_t user; /* free for the user */
};

struct spsc {
    uint8_t *buf;
    size_t size, mask;
    /* Each shared index on a line of its own, and each side's private state on another:
     * the other side polls the shared index, and a private field on that line would send
     * the line across on every record (false sharing). */
    _Alignas(64) _Atomic size_t head; /* published end (producer writes, consumer reads) */
    _Alignas(64) _Atomic size_t tail; /* released end (consumer writes, producer reads) */
    _Alignas(64) atomic_bool producer_sleeps, consumer_sleeps, closed;
    /* Producer's own. */
    _Alignas(64) size_t p_head; /* end including unpublished records */
    size_t p_tail_seen;         /* consumer's tail as last read */
    size_t p_reserved;          /* length of the record being written */
    unsigned p_unpublished;
    uint64_t producer_waits;
    /* Consumer's own. */
    _Alignas(64) size_t c_tail; /* end of the records taken */
    size_t c_head_seen;         /* producer's head as last read */
    size_t c_prefetched;        /* ring lines up to here are requested for reading */
    uint64_t consumer_waits;
    /* Sleeping. */
    _Alignas(64) pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Allocates a ring of size bytes (a power of two, at least 4096). 0 or ERR_NOMEM/ERR_INVAL. */
int spsc_init(struct spsc *q, size_t size);
/* Frees the ring; q may have failed spsc_init or be zeroed. */
void spsc_destroy(struct spsc *q);

/* Producer: room for a record of len bytes (header included; at most size/4), waiting for
 * the consumer if the ring is full. Returns its header, with len and a zero type set; the
 * caller fills type and the bytes behind it, then calls spsc_commit. */
struct spsc_hdr *spsc_reserve(struct spsc *q, size_t len);
/* Producer: as spsc_reserve, but the ring may hold at most limit bytes once the record is in
 * (so that other records keep the rest); when wait is false, NULL instead of waiting. */
struct spsc_hdr *spsc_reserve_within(struct spsc *q, size_t len, size_t limit, bool wait);
/* Producer: the reserved record is complete (published with the next batch). */
void spsc_commit(struct spsc *q);
/* Producer: publishes the committed records now (before a pause in the stream). */
void spsc_publish(struct spsc *q);
/* Producer: no more records (publishes what is committed first); spsc_take returns 0 once
 * the consumer has taken the last one. */
void spsc_close(struct spsc *q);

/* Consumer: up to max published records in *out, oldest first, waiting for at least one if
 * the ring is empty; 0 once the producer closed the ring and every record was taken. They
 * stay valid until spsc_release; a consumer sees them all at once, so it can prefetch what
 * the next ones need while it handles the current one. */
size_t spsc_take(struct spsc *q, const struct spsc_hdr **out, size_t max);
/* Consumer: as spsc_take, but returns 0 after about timeout_ms with nothing to take too;
 * spsc_drained tells the end (closed, every record taken) from a quiet producer. */
size_t spsc_take_for(struct spsc *q, const struct spsc_hdr **out, size_t max, long timeout_ms);
bool spsc_drained(struct spsc *q);
/* Consumer: done with every record spsc_take returned; their space goes back. */
void spsc_release(struct spsc *q);

#endif
