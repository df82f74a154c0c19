/* SPDX-License-Identifier: MIT */
/* Zone-transfer tracking (AXFR, RFC 5936; IXFR, RFC 1995): the one place that decides how a
 * transfer ended. It follows transfer requests and the responses of each transfer
 * connection, the TCP ends of those connections and the transactions of requests never
 * answered, and hands every finished transfer to a callback: ok (the closing SOA came),
 * failed (an error RCODE, a TSIG error, no response, the connection cut inside a message or
 * closed before the closing SOA) or incomplete (the input ended first). The rules (xfr-failed)
 * and the store both take these outcomes, so alerts and the report cannot disagree. Bounded:
 * a table of transfers in progress and one of outstanding requests, overflow counted. Runs
 * in the dispatcher's flow half; does not judge (that is rules/). */
#ifndef DV_ANALYZE_XFR_H
#define DV_ANALYZE_XFR_H

#include "dns.h"
#include "flow.h"
#include "../capture/cap.h"

#include <stdbool.h>
#include <stdint.h>

enum xfr_outcome { XFR_OK = 0, XFR_FAILED, XFR_INCOMPLETE };

/* Why a transfer failed (XFR_WHY_NONE for the others). */
enum xfr_why {
    XFR_WHY_NONE = 0,
    XFR_WHY_RCODE,       /* answered with an error RCODE (rcode) */
    XFR_WHY_TSIG,        /* the answer's TSIG carries an error (tsig_error) */
    XFR_WHY_NO_RESPONSE, /* the request was never answered */
    XFR_WHY_ABORTED,     /* the TCP connection ended inside a message */
    XFR_WHY_NO_END_SOA,  /* the TCP connection closed before the closing SOA */
};

/* A finished transfer (strings and views valid during the callback only). */
struct xfr_result {
    enum xfr_outcome outcome;
    enum xfr_why why;
    const char *zone; /* lower case, "example.com."; "(unknown zone)" if never seen */
    uint8_t af, proto;
    uint8_t client[16], server[16];
    uint16_t client_port, server_port, qtype;
    uint64_t start_ns, end_ns; /* first response (the request, when unanswered), last event */
    uint16_t rcode, tsig_error;
    bool have_soa;   /* soa[] is the first SOA's serial, refresh, retry, expire, minimum */
    uint32_t soa[5]; /* (the zone as transferred: the store's zone table takes it) */
    uint64_t messages, records;
    uint32_t soa_records;
};

typedef void (*xfr_result_fn)(void *user, const struct xfr_result *r);

struct xfr_tracker;

/* slots: transfers in progress and requests outstanding kept at once (each). */
struct xfr_tracker *xfr_new(uint32_t slots, xfr_result_fn fn, void *user);
void xfr_free(struct xfr_tracker *x);

/* A decoded message (header required): a transfer request is remembered, a transfer
 * response opens or continues its transfer (and may end it). */
void xfr_message(struct xfr_tracker *x, const struct dns_msg *m, const struct cap_meta *meta);

/* A finished transaction: a transfer request that timed out is a failed transfer. */
void xfr_txn(struct xfr_tracker *x, const struct flow_txn *t);

/* A TCP stream's end or abort: a transfer on it that has not ended fails. */
void xfr_event(struct xfr_tracker *x, const struct cap_event *ev);

/* End of input: transfers still in progress end as incomplete. */
void xfr_flush(struct xfr_tracker *x);

/* Transfers or requests that found no free slot (the oldest made room). */
uint64_t xfr_overflow(const struct xfr_tracker *x);

/* "ok", "failed", "incomplete". */
const char *xfr_outcome_name(enum xfr_outcome o);

/* The reason of a result for people and the store ("REFUSED", "TSIG BADSIG", "no response",
 * "connection aborted inside a message", ...), into buf. */
const char *xfr_reason(const struct xfr_result *r, char *buf, size_t n);

#endif
