/* SPDX-License-Identifier: MIT */
/* The flow store: matches each response to its query by transport, client address/port,
 * server address/port, transaction ID and question, on packet time. Outcomes: answered
 * (with latency), unanswered (time-out), unsolicited, duplicate, question mismatch,
 * evicted when the bounded table is full, and late (the answer to a query that timed out).
 * Preallocated: no allocation per message. Hands each finished transaction to a callback;
 * does not judge it (that is rules/). */
#ifndef DV_ANALYZE_FLOW_H
#define DV_ANALYZE_FLOW_H

#include "dns.h"
#include "../capture/cap.h"

#include <stdint.h>

enum flow_outcome {
    FLOW_ANSWERED = 0, /* the first response to a pending query */
    FLOW_UNANSWERED,   /* no response within the time-out (or by end of input) */
    FLOW_UNSOLICITED,  /* a response that matches no query seen */
    FLOW_DUPLICATE,    /* another response to a query already answered */
    FLOW_MISMATCH,     /* same ports and TXID as a pending query, different question */
    FLOW_EVICTED,      /* a pending query dropped because the table was full */
    FLOW_LATE,         /* the response to a query that timed out (within late_grace_ns) */
    FLOW_OUTCOME_N
};

/* A finished transaction. Query fields come from the store's copy; the response (if any)
 * and its transport are views valid only during the callback. */
struct flow_txn {
    enum flow_outcome outcome;
    uint64_t query_ns;    /* 0 when no query was seen (unsolicited) */
    uint64_t response_ns; /* 0 when no response (unanswered, evicted) */
    uint64_t latency_ns;  /* answered and late only */
    uint8_t af, proto;
    uint8_t client[16], server[16];
    uint16_t client_port, server_port, id, qtype;
    uint16_t query_len;
    bool query_edns, query_do;
    uint16_t query_udp_size;
    uint64_t qhash;                   /* flow_question_hash of the query (0 if it had none) */
    const struct dns_msg *response;   /* NULL for unanswered/evicted */
    const struct cap_meta *resp_meta; /* NULL for unanswered/evicted */
};

typedef void (*flow_txn_fn)(void *user, const struct flow_txn *txn);

struct flow_config {
    uint32_t max_pending;   /* queries remembered at once (answered ones stay for duplicates) */
    uint64_t timeout_ns;    /* packet time a query waits for its response */
    uint64_t late_grace_ns; /* after that, its answer is late, not unsolicited (0: off) */
};

void flow_config_defaults(struct flow_config *cfg);

typedef struct flow_store flow_store;

/* Allocates the table (cfg->max_pending entries). fn receives every transaction. */
flow_store *flow_new(const struct flow_config *cfg, flow_txn_fn fn, void *user);

void flow_free(flow_store *f);

/* Computes the message's flow key hash and starts loading its index slot into the cache,
 * so that work done before flow_message() hides the memory latency. Returns the hash to
 * pass to flow_message(). */
uint64_t flow_prefetch(const flow_store *f, const struct dns_msg *m, const struct cap_meta *meta);

/* Feeds a decoded message (header required). Queries are remembered, responses matched.
 * qhash is flow_question_hash(m) (callers that hash the name anyway pass it in); kh is
 * flow_prefetch()'s result for this message. */
void flow_message(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                  const struct cap_meta *meta);

/* Moves packet time to now: queries older than the time-out end as unanswered. */
void flow_advance(flow_store *f, uint64_t now_ns);

/* End of input: every pending query ends as unanswered. */
void flow_flush(flow_store *f);

/* Counts of each outcome so far, plus retransmitted queries (same key while pending). */
struct flow_counts {
    uint64_t outcome[FLOW_OUTCOME_N];
    uint64_t query_retransmits;
    uint64_t late_evicted; /* timed-out queries the late table dropped to make room */
    uint64_t pending;
};
void flow_get_counts(const flow_store *f, struct flow_counts *out);
/* Pending queries dropped because the table was full, so far (O(1), unlike the above). */
uint64_t flow_evicted(const flow_store *f);

/* Stable names of outcomes ("answered", ...). */
const char *flow_outcome_name(enum flow_outcome o);

/* 64-bit hash of a question (name case-folded, type, class); the _from form takes
 * sketch_hash(qname, qname_len, true) already computed. */
uint64_t flow_question_hash(const struct dns_msg *m);
uint64_t flow_question_hash_from(uint64_t name_hash, const struct dns_msg *m);

#endif
