/* SPDX-License-Identifier: MIT */
/* Totals over decoded DNS messages: what the summary and the JSON document report. Fixed
 * arrays indexed by rcode/qtype/opcode: no allocation, O(1) per message. */
#ifndef DV_ANALYZE_STATS_H
#define DV_ANALYZE_STATS_H

#include "dns.h"
#include "../capture/cap.h"

#include <stdint.h>

#define STATS_EDNS_OPTS 7 /* bits of DNS_EOPT_* */

struct dns_stats {
    uint64_t messages;           /* every DNS payload seen, well formed or not */
    uint64_t queries, responses; /* messages with a header and QR = 0 / 1 */
    uint64_t udp, tcp, ipv4, ipv6;
    uint64_t reassembled; /* carried by IP fragments */
    uint64_t opcode[16];
    uint64_t rcode[4096];  /* responses by (extended) RCODE */
    uint64_t qtype[65536]; /* queries by QTYPE of the first question */
    uint64_t qclass_other; /* queries whose class is not IN */
    uint64_t flag_aa, flag_tc, flag_rd, flag_ra, flag_ad, flag_cd;
    uint64_t edns, edns_do, edns_version_nonzero;
    uint64_t edns_opt[STATS_EDNS_OPTS];
    uint64_t ede[32]; /* Extended DNS Error codes 0..30, 31 = any higher code */
    uint64_t tsig;
    uint64_t malformed[DNS_MAL_COUNT]; /* [DNS_MAL_NONE] stays 0 */
    uint64_t malformed_total;
    uint64_t first_ns, last_ns; /* packet time of the first and last message */
};

void dns_stats_init(struct dns_stats *st);

/* Adds one decoded message carried as described by meta. */
void dns_stats_add(struct dns_stats *st, const struct dns_msg *m, const struct cap_meta *meta);

/* Name of an EDNS option bit index (0 = "nsid" ... matches DNS_EOPT_* order). */
const char *dns_stats_edns_opt_name(unsigned bit);

#endif
