/* SPDX-License-Identifier: MIT */
/* DNS-over-TCP stream reassembly (RFC 1035 4.2.2, RFC 7766): a bounded stream table, a
 * shared pool of reassembly buffers, 2-byte length framing. Internal to capture/. */
#ifndef DV_CAPTURE_TCP_H
#define DV_CAPTURE_TCP_H

#include "cap.h"

struct tcp_table;

/* Allocates a table for max_streams connections and nbuf reassembly buffers. Messages go to
 * msg_fn, stream events to ev_fn (may be NULL). */
struct tcp_table *tcp_new(uint32_t max_streams, uint32_t nbuf, uint64_t idle_ns,
                          struct cap_stats *st, cap_msg_fn msg_fn, cap_event_fn ev_fn, void *user);

void tcp_free(struct tcp_table *t);

/* Changes the user pointer passed to the callbacks. */
void tcp_set_user(struct tcp_table *t, void *user);

/* Handles one segment. meta describes the direction of this segment (its truncated flag
 * says the payload was cut by the snap length). */
void tcp_segment(struct tcp_table *t, const struct cap_meta *meta, uint32_t seq, uint8_t flags,
                 const uint8_t *payload, uint32_t len);

/* Ends every stream (end of input). */
void tcp_flush(struct tcp_table *t);

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#endif
