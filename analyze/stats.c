/* SPDX-License-Identifier: MIT */
/* Message totals. A message counts as a query or a response only when its 12-byte header
 * is present; its QTYPE when the type field of its first question can be located; its RCODE is the
 * extended one when an OPT record was found (RFC 6891 6.1.3). Malformed messages are still counted
 * by what could be read, and once more by reason. */
#include "stats.h"

#include <string.h>

void dns_stats_init(struct dns_stats *st)
{
    memset(st, 0, sizeof(*st));
}

void dns_stats_add(struct dns_stats *st, const struct dns_msg *m, const struct cap_meta *meta)
{
    st->messages++;
    if (st->first_ns == 0 || meta->ts_ns < st->first_ns)
        st->first_ns = meta->ts_ns;
    if (meta->ts_ns > st->last_ns)
        st->last_ns = meta->ts_ns;
    if (meta->proto == 6)
        st->tcp++;
    else
        st->udp++;
    if (meta->af == 6)
        st->ipv6++;
    else
        st->ipv4++;
    if (meta->reassembled)
        st->reassembled++;
    if (m->malformed != DNS_MAL_NONE) {
        st->malformed[m->malformed]++;
        st->malformed_total++;
    }
    if (!m->has_header)
        return;
    st->opcode[m->opcode]++;
    st->flag_aa += m->aa;
    st->flag_tc += m->tc;
    st->flag_rd += m->rd;
    st->flag_ra += m->ra;
    st->flag_ad += m->ad;
    st->flag_cd += m->cd;
    if (m->qr) {
        st->responses++;
        st->rcode[m->rcode & 0xfff]++;
    } else {
        st->queries++;
        if (m->has_qtype) {
            st->qtype[m->qtype]++;
            if (m->qclass != DNS_C_IN)
                st->qclass_other++;
        }
    }
    if (m->has_opt) {
        st->edns++;
        st->edns_do += m->edns_do;
        st->edns_version_nonzero += m->edns_version != 0;
        for (unsigned b = 0; b < STATS_EDNS_OPTS; b++)
            if (m->edns_opts & (1u << b))
                st->edns_opt[b]++;
        for (unsigned i = 0; i < m->ede_count; i++)
            st->ede[m->ede[i] < 31 ? m->ede[i] : 31]++;
    }
    st->tsig += m->has_tsig;
}

const char *dns_stats_edns_opt_name(unsigned bit)
{
    static const char *const names[STATS_EDNS_OPTS] = {
        "nsid", "client_subnet", "cookie", "keepalive", "padding", "ede", "other"};
    return bit < STATS_EDNS_OPTS ? names[bit] : "unknown";
}
