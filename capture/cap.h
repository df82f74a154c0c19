/* SPDX-License-Identifier: MIT */
/* The capture layer's public face: packets in (from sources), DNS payloads out (to a
 * callback), with every packet accounted for in counters. capture/ knows link layers, IP,
 * fragments, UDP and TCP streams; it does not interpret DNS beyond the TCP length prefix. */
#ifndef DV_CAPTURE_CAP_H
#define DV_CAPTURE_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every counter the capture layer keeps: X(ID, group, json-name). Groups become JSON
 * objects under "capture"; the README's JSON section documents each one. */
#define CAP_COUNTERS(X)                                                                            \
    X(PACKETS, "", "packets")                                                                      \
    X(BYTES, "", "bytes")                                                                          \
    X(SNAPLEN_TRUNCATED, "", "snaplen_truncated")                                                  \
    X(FILTERED, "", "filtered_out")                                                                \
    X(LINK_UNSUPPORTED, "link", "unsupported")                                                     \
    X(LINK_SHORT, "link", "truncated")                                                             \
    X(LINK_NOT_IP, "link", "not_ip")                                                               \
    X(LINK_VLAN, "link", "vlan_tagged")                                                            \
    X(IPV4, "ip", "ipv4")                                                                          \
    X(IPV6, "ip", "ipv6")                                                                          \
    X(IP_BAD_HEADER, "ip", "bad_header")                                                           \
    X(IP_TRUNCATED, "ip", "truncated")                                                             \
    X(IP6_JUMBO, "ip", "jumbogram")                                                                \
    X(IP_OTHER_PROTO, "ip", "other_protocol")                                                      \
    X(FRAG_FRAGMENTS, "fragments", "received")                                                     \
    X(FRAG_REASSEMBLED, "fragments", "reassembled")                                                \
    X(FRAG_TIMEOUT, "fragments", "timed_out")                                                      \
    X(FRAG_OVERLAP, "fragments", "overlapping")                                                    \
    X(FRAG_EVICTED, "fragments", "evicted")                                                        \
    X(FRAG_TOO_BIG, "fragments", "too_big")                                                        \
    X(FRAG_NOMEM, "fragments", "no_memory")                                                        \
    X(FRAG_CUT, "fragments", "snaplen_cut")                                                        \
    X(UDP, "udp", "datagrams")                                                                     \
    X(UDP_BAD, "udp", "malformed")                                                                 \
    X(UDP_OTHER_PORT, "udp", "other_port")                                                         \
    X(TCP_SEGMENTS, "tcp", "segments")                                                             \
    X(TCP_BAD, "tcp", "malformed")                                                                 \
    X(TCP_OTHER_PORT, "tcp", "other_port")                                                         \
    X(TCP_STREAMS, "tcp", "streams")                                                               \
    X(TCP_CLOSED, "tcp", "closed")                                                                 \
    X(TCP_RESET, "tcp", "reset")                                                                   \
    X(TCP_ABORTED, "tcp", "aborted")                                                               \
    X(TCP_TIMED_OUT, "tcp", "timed_out")                                                           \
    X(TCP_EVICTED, "tcp", "evicted")                                                               \
    X(TCP_MIDSTREAM, "tcp", "midstream_pickup")                                                    \
    X(TCP_RETRANS, "tcp", "retransmitted")                                                         \
    X(TCP_OOO, "tcp", "out_of_order")                                                              \
    X(TCP_OOO_DROPPED, "tcp", "out_of_order_dropped")                                              \
    X(TCP_GAVE_UP, "tcp", "gave_up")                                                               \
    X(TCP_NOBUF, "tcp", "no_buffer")                                                               \
    X(TCP_MESSAGES, "tcp", "messages")

enum cap_counter {
#define CAP_X_ENUM(id, grp, name) CAP_##id,
    CAP_COUNTERS(CAP_X_ENUM)
#undef CAP_X_ENUM
        CAP_COUNTER_N
};

struct cap_stats {
    uint64_t c[CAP_COUNTER_N];
    uint64_t kernel_drops;    /* pcap_stats ps_drop (live only) */
    uint64_t ifdrop;          /* pcap_stats ps_ifdrop (live only) */
    uint32_t link_types_seen; /* distinct unsupported link types warned about */
};

/* Group and JSON name of a counter ("" group = top level). */
const char *cap_counter_group(enum cap_counter c);
const char *cap_counter_name(enum cap_counter c);

/* Transport and addresses of one DNS message. Addresses are in network byte order; for
 * IPv4 only the first 4 bytes are used. */
struct cap_meta {
    uint64_t ts_ns;   /* packet time, nanoseconds since the epoch */
    uint8_t af;       /* 4 or 6 */
    uint8_t proto;    /* 17 UDP, 6 TCP */
    bool truncated;   /* the capture cut this message short (snap length) */
    bool reassembled; /* built from IP fragments */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
};

/* A DNS message found in the traffic. data is a view valid only during the callback. */
struct cap_msg {
    const struct cap_meta *meta;
    const uint8_t *data;
    size_t len;
};

enum cap_event_kind {
    CAP_EV_TCP_ABORTED, /* stream ended (FIN/RST/time-out/eviction) inside a message */
    CAP_EV_TCP_END,     /* a stream ended (after any ABORTED events for it) */
};

struct cap_event {
    enum cap_event_kind kind;
    const struct cap_meta *meta; /* ABORTED: the direction that held the partial message;
                                    END: the direction of the stream's first segment */
    uint32_t pending_bytes;      /* bytes of the unfinished message */
};

typedef void (*cap_msg_fn)(void *user, const struct cap_msg *msg);
typedef void (*cap_event_fn)(void *user, const struct cap_event *ev);

/* Limits of the decoder's tables; cap_config_defaults() fills sensible values. */
struct cap_config {
    uint32_t frag_slots;      /* datagrams reassembled at once */
    uint32_t frag_timeout_ms; /* packet time a datagram may wait for its fragments */
    uint32_t tcp_streams;     /* TCP connections tracked at once */
    uint32_t tcp_buffers;     /* reassembly buffers shared by all streams */
    uint32_t tcp_timeout_ms;  /* packet time an idle stream is kept */
    uint8_t ports[65536 / 8]; /* bitmap of DNS ports */
};

void cap_config_defaults(struct cap_config *cfg);

/* Adds a comma-separated port list ("53,5353") to cfg->ports after clearing it. Returns 0
 * or ERR_INVAL for a bad list. */
int cap_config_set_ports(struct cap_config *cfg, const char *list);

typedef struct cap_decoder cap_decoder;

/* Creates a decoder with preallocated tables sized by cfg. msg_fn receives each DNS message,
 * ev_fn (may be NULL) stream events. Returns NULL when out of memory. */
cap_decoder *cap_decoder_new(const struct cap_config *cfg, cap_msg_fn msg_fn, cap_event_fn ev_fn,
                             void *user);

/* Decodes one captured frame of link type dlt (a DLT_ value). caplen bytes are present,
 * wirelen were on the wire. Never fails: problems are counted. */
void cap_decode(cap_decoder *d, int dlt, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen);

/* Changes the user pointer passed to the callbacks. */
void cap_decoder_set_user(cap_decoder *d, void *user);

/* IP addresses of the frame decoded last (for evidence captures). Returns the address
 * family (4 or 6), or 0 if that frame had no IP header; src/dst point into the decoder. */
uint8_t cap_decoder_last_addrs(const cap_decoder *d, const uint8_t **src, const uint8_t **dst);

/* Ends every open TCP stream and fragment (end of input): partial messages are counted as
 * aborted, waiting fragments as timed out. */
void cap_decoder_flush(cap_decoder *d);

/* The decoder's counters (live view; do not free). */
struct cap_stats *cap_decoder_stats(cap_decoder *d);

void cap_decoder_free(cap_decoder *d);

/* True if the decoder understands link type dlt. */
bool cap_dlt_supported(int dlt);

#endif
