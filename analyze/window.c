/* SPDX-License-Identifier: MIT */
/* Window records and the loss counter list. */
#include "window.h"

const uint32_t win_size_bounds[WIN_SIZE_BUCKETS - 1] = {128, 256, 512, 1232, 1452, 2048, 4096};

static const char *const loss_names[LOSS_N] = {
#define LOSS_X_NAME(id, name) name,
    LOSS_COUNTERS(LOSS_X_NAME)
#undef LOSS_X_NAME
};

const char *loss_name(enum loss_counter c)
{
    return (unsigned)c < LOSS_N ? loss_names[c] : "unknown";
}

void loss_snapshot(const struct cap_stats *cap, uint64_t malformed, uint64_t flow_evicted,
                   uint64_t out[LOSS_N])
{
    out[LOSS_KERNEL_DROPS] = cap->kernel_drops;
    out[LOSS_IFACE_DROPS] = cap->ifdrop;
    out[LOSS_SNAPLEN] = cap->c[CAP_SNAPLEN_TRUNCATED];
    out[LOSS_LINK_UNSUPPORTED] = cap->c[CAP_LINK_UNSUPPORTED];
    out[LOSS_LINK_TRUNCATED] = cap->c[CAP_LINK_SHORT];
    out[LOSS_IP_BAD] = cap->c[CAP_IP_BAD_HEADER];
    out[LOSS_IP_TRUNCATED] = cap->c[CAP_IP_TRUNCATED];
    out[LOSS_UDP_BAD] = cap->c[CAP_UDP_BAD];
    out[LOSS_TCP_BAD] = cap->c[CAP_TCP_BAD];
    out[LOSS_FRAG_TIMEOUT] = cap->c[CAP_FRAG_TIMEOUT];
    out[LOSS_FRAG_EVICTED] = cap->c[CAP_FRAG_EVICTED];
    out[LOSS_FRAG_TOO_BIG] = cap->c[CAP_FRAG_TOO_BIG];
    out[LOSS_FRAG_NOMEM] = cap->c[CAP_FRAG_NOMEM];
    out[LOSS_FRAG_CUT] = cap->c[CAP_FRAG_CUT];
    out[LOSS_TCP_ABORTED] = cap->c[CAP_TCP_ABORTED];
    out[LOSS_TCP_EVICTED] = cap->c[CAP_TCP_EVICTED];
    out[LOSS_TCP_GAVE_UP] = cap->c[CAP_TCP_GAVE_UP];
    out[LOSS_TCP_NOBUF] = cap->c[CAP_TCP_NOBUF];
    out[LOSS_TCP_OOO_DROPPED] = cap->c[CAP_TCP_OOO_DROPPED];
    out[LOSS_DNS_MALFORMED] = malformed;
    out[LOSS_FLOW_EVICTED] = flow_evicted;
}

unsigned win_qtype_index(uint16_t qtype)
{
    static const uint16_t list[] = {
#define WIN_X_TYPE(n) DNS_T_##n,
        WIN_QTYPE_LIST(WIN_X_TYPE)
#undef WIN_X_TYPE
    };
    for (unsigned i = 0; i < sizeof(list) / sizeof(list[0]); i++)
        if (list[i] == qtype)
            return i;
    return WIN_QTYPES - 1;
}

const char *win_qtype_name(unsigned i)
{
    static const char *const names[WIN_QTYPES] = {
#define WIN_X_NAME(n) #n,
        WIN_QTYPE_LIST(WIN_X_NAME)
#undef WIN_X_NAME
            "other"};
    return i < WIN_QTYPES ? names[i] : "other";
}

unsigned win_size_bucket(size_t len)
{
    unsigned b = 0;
    while (b < WIN_SIZE_BUCKETS - 1 && len > win_size_bounds[b])
        b++;
    return b;
}

void win_add_msg(struct win_stats *w, const struct dns_msg *m, const struct cap_meta *meta)
{
    if (meta->proto == 6)
        w->tcp++;
    else
        w->udp++;
    if (meta->af == 6)
        w->ipv6++;
    else
        w->ipv4++;
    if (m->malformed != DNS_MAL_NONE)
        w->malformed++;
    if (!m->has_header)
        return;
    if (m->has_opt) {
        w->edns++;
        w->edns_do += m->edns_do;
    }
    w->tc += m->tc;
    if (m->qr) {
        w->responses++;
        w->rcode[m->rcode < WIN_RCODES - 1 ? m->rcode : WIN_RCODES - 1]++;
        w->resp_size[win_size_bucket(m->len)]++;
    } else {
        w->queries++;
        if (m->has_qtype)
            w->qtype[win_qtype_index(m->qtype)]++;
    }
}
