/* SPDX-License-Identifier: MIT */
/* Per-window figures (default 60 s, aligned to multiples of the window length on packet
 * time): the compact record that `--windows`, the store and the rules' ticks share. Also the
 * list of loss counters, so every window and the summary report the same losses. */
#ifndef DV_ANALYZE_WINDOW_H
#define DV_ANALYZE_WINDOW_H

#include "dns.h"
#include "flow.h"
#include "../capture/cap.h"
#include "../capture/srvlog.h"

#include <stdint.h>

/* RCODEs 0..23 are kept one by one, anything higher in the last slot. */
#define WIN_RCODES 25
/* QTYPEs kept one by one in a window; the rest in "other". */
/* clang-format off */
#define WIN_QTYPE_LIST(X) \
    X(A) X(AAAA) X(CNAME) X(MX) X(NS) X(PTR) X(SOA) X(SRV) X(TXT) X(DS) X(DNSKEY) X(HTTPS) \
    X(ANY) X(AXFR) X(IXFR)
/* clang-format on */
#define WIN_QTYPES 16 /* 15 listed + other */

/* Response size buckets: upper bounds in bytes (the last is open). */
#define WIN_SIZE_BUCKETS 8
extern const uint32_t win_size_bounds[WIN_SIZE_BUCKETS - 1];

/* Every counter of lost or given-up input: X(ID, json-name). */
#define LOSS_COUNTERS(X)                                                                           \
    X(KERNEL_DROPS, "kernel_drops")                                                                \
    X(IFACE_DROPS, "interface_drops")                                                              \
    X(SNAPLEN, "snaplen_truncated")                                                                \
    X(LINK_UNSUPPORTED, "link_unsupported")                                                        \
    X(LINK_TRUNCATED, "link_truncated")                                                            \
    X(IP_BAD, "ip_bad_header")                                                                     \
    X(IP_TRUNCATED, "ip_truncated")                                                                \
    X(UDP_BAD, "udp_malformed")                                                                    \
    X(TCP_BAD, "tcp_malformed")                                                                    \
    X(FRAG_TIMEOUT, "fragments_timed_out")                                                         \
    X(FRAG_EVICTED, "fragments_evicted")                                                           \
    X(FRAG_TOO_BIG, "fragments_too_big")                                                           \
    X(FRAG_NOMEM, "fragments_no_memory")                                                           \
    X(FRAG_CUT, "fragments_snaplen_cut")                                                           \
    X(TCP_ABORTED, "tcp_aborted")                                                                  \
    X(TCP_EVICTED, "tcp_streams_evicted")                                                          \
    X(TCP_GAVE_UP, "tcp_gave_up")                                                                  \
    X(TCP_NOBUF, "tcp_no_buffer")                                                                  \
    X(TCP_OOO_DROPPED, "tcp_out_of_order_dropped")                                                 \
    X(DNS_MALFORMED, "dns_malformed")                                                              \
    X(FLOW_EVICTED, "flow_evicted")

enum loss_counter {
#define LOSS_X_ENUM(id, name) LOSS_##id,
    LOSS_COUNTERS(LOSS_X_ENUM)
#undef LOSS_X_ENUM
        LOSS_N
};

const char *loss_name(enum loss_counter c);

/* Fills out[LOSS_N] from the capture counters, the malformed total and the flow store's
 * evictions. */
void loss_snapshot(const struct cap_stats *cap, uint64_t malformed, uint64_t flow_evicted,
                   uint64_t out[LOSS_N]);

struct win_stats {
    uint64_t start_ns, end_ns;
    uint64_t queries, responses, udp, tcp, ipv4, ipv6, edns, edns_do, tc;
    uint64_t rcode[WIN_RCODES];
    uint64_t qtype[WIN_QTYPES];
    uint64_t outcome[FLOW_OUTCOME_N];
    uint64_t edns_errors; /* see win_edns_error() */
    uint64_t malformed;
    uint64_t resp_size[WIN_SIZE_BUCKETS];
    uint64_t latency_samples;
    uint64_t p50_us, p95_us, p99_us; /* valid when latency_samples > 0 */
    uint64_t loss[LOSS_N];           /* lost during this window */
    uint64_t log_events[SL_KINDS];   /* server-log events whose time stamps fall in it */
};

/* Index of qtype in the window's list (WIN_QTYPES - 1 = other), and the name of index i. */
unsigned win_qtype_index(uint16_t qtype);
const char *win_qtype_name(unsigned i);
unsigned win_size_bucket(size_t len);

/* True when a transaction shows an EDNS error (BSI APP.3.6.A7): an answer to a query
 * with OPT that is BADVERS, FORMERR or NOTIMP, or that carries no OPT (RFC 6891 7). */
static inline bool win_edns_error(const struct flow_txn *t)
{
    const struct dns_msg *r = t->response;
    if (!t->query_edns || !r || t->outcome != FLOW_ANSWERED)
        return false;
    return r->rcode == DNS_R_BADVERS || r->rcode == DNS_R_FORMERR || r->rcode == DNS_R_NOTIMP ||
           !r->has_opt;
}

/* Adds a decoded message to a window. */
void win_add_msg(struct win_stats *w, const struct dns_msg *m, const struct cap_meta *meta);

#endif
