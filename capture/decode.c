/* SPDX-License-Identifier: MIT */
/* Frame decoding: link layer -> IPv4/IPv6 (extension headers, fragments) -> UDP/TCP on the
 * configured DNS ports -> DNS payload to the message callback. Every frame that does not
 * end in a DNS payload is counted by why. All parsing goes through common/rd.h. */
#include "cap.h"

#include "frag.h"
#include "tcp.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/rd.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 8

struct cap_decoder {
    struct cap_stats st;
    uint8_t ports[65536 / 8];
    struct frag_table *frag;
    struct tcp_table *tcp;
    cap_msg_fn msg_fn;
    cap_event_fn ev_fn;
    void *user;
    int warned_dlt[8];
    unsigned nwarned;
    uint8_t last_af;
    uint8_t last_src[16], last_dst[16];
};

static const char *const counter_groups[] = {
#define CAP_X_GROUP(id, grp, name) grp,
    CAP_COUNTERS(CAP_X_GROUP)
#undef CAP_X_GROUP
};
static const char *const counter_names[] = {
#define CAP_X_NAME(id, grp, name) name,
    CAP_COUNTERS(CAP_X_NAME)
#undef CAP_X_NAME
};

const char *cap_counter_group(enum cap_counter c)
{
    return (unsigned)c < CAP_COUNTER_N ? counter_groups[c] : "";
}

const char *cap_counter_name(enum cap_counter c)
{
    return (unsigned)c < CAP_COUNTER_N ? counter_names[c] : "unknown";
}

void cap_config_defaults(struct cap_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->frag_slots = 256;
    cfg->frag_timeout_ms = 30000; /* RFC 8200 4.5: 60 s at most; Linux uses 30 s */
    cfg->tcp_streams = 8192;
    cfg->tcp_buffers = 256;
    cfg->tcp_timeout_ms = 120000;
    cfg->ports[53 / 8] |= (uint8_t)(1u << (53 % 8));
}

int cap_config_set_ports(struct cap_config *cfg, const char *list)
{
    const char *p = list;
    uint8_t ports[sizeof(cfg->ports)] = {0};
    bool any = false;

    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 65535 || (*end != ',' && *end != '\0'))
            return ERR_INVAL;
        ports[v / 8] |= (uint8_t)(1u << (v % 8));
        any = true;
        p = *end ? end + 1 : end;
    }
    if (!any)
        return ERR_INVAL;
    memcpy(cfg->ports, ports, sizeof(ports));
    return 0;
}

bool cap_dlt_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

cap_decoder *cap_decoder_new(const struct cap_config *cfg, cap_msg_fn msg_fn, cap_event_fn ev_fn,
                             void *user)
{
    cap_decoder *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    memcpy(d->ports, cfg->ports, sizeof(d->ports));
    d->msg_fn = msg_fn;
    d->ev_fn = ev_fn;
    d->user = user;
    d->frag = frag_new(cfg->frag_slots, (uint64_t)cfg->frag_timeout_ms * 1000000u, &d->st);
    d->tcp = tcp_new(cfg->tcp_streams, cfg->tcp_buffers, (uint64_t)cfg->tcp_timeout_ms * 1000000u,
                     &d->st, msg_fn, ev_fn, user);
    if (!d->frag || !d->tcp) {
        cap_decoder_free(d);
        return NULL;
    }
    return d;
}

void cap_decoder_set_user(cap_decoder *d, void *user)
{
    d->user = user;
    tcp_set_user(d->tcp, user);
}

uint8_t cap_decoder_last_addrs(const cap_decoder *d, const uint8_t **src, const uint8_t **dst)
{
    *src = d->last_src;
    *dst = d->last_dst;
    return d->last_af;
}

void cap_decoder_free(cap_decoder *d)
{
    if (!d)
        return;
    frag_free(d->frag);
    tcp_free(d->tcp);
    free(d);
}

struct cap_stats *cap_decoder_stats(cap_decoder *d)
{
    return &d->st;
}

void cap_decoder_flush(cap_decoder *d)
{
    frag_flush(d->frag);
    tcp_flush(d->tcp);
}

static inline bool is_dns_port(const cap_decoder *d, uint16_t port)
{
    return (d->ports[port >> 3] >> (port & 7)) & 1;
}

/* Transport layer. data/len is the L4 segment; meta has addresses filled in. */
static void decode_l4(cap_decoder *d, struct cap_meta *meta, uint8_t proto, const uint8_t *data,
                      uint32_t len)
{
    struct rd r;

    rd_init(&r, data, len);
    if (proto == 17) {
        uint16_t ulen;
        struct cap_msg msg;

        d->st.c[CAP_UDP]++;
        meta->sport = rd_u16be(&r);
        meta->dport = rd_u16be(&r);
        ulen = rd_u16be(&r);
        rd_skip(&r, 2); /* checksum: not verified (offloading makes captured sums wrong) */
        if (r.fail || (ulen < 8 && ulen != 0)) {
            d->st.c[CAP_UDP_BAD]++;
            return;
        }
        if (!is_dns_port(d, meta->sport) && !is_dns_port(d, meta->dport)) {
            d->st.c[CAP_UDP_OTHER_PORT]++;
            return;
        }
        meta->proto = 17;
        msg.meta = meta;
        msg.data = data + 8;
        msg.len = len - 8;
        /* The UDP length bounds the payload (Ethernet padding follows it); a length longer
         * than the data is either the snap length or a lie. ulen 0 is an IPv6 jumbogram. */
        if (ulen != 0 && ulen <= len) {
            msg.len = (size_t)ulen - 8;
        } else if (ulen > len && !meta->truncated) {
            d->st.c[CAP_UDP_BAD]++;
            return;
        }
        d->msg_fn(d->user, &msg);
        return;
    }
    if (proto == 6) {
        uint32_t seq;
        uint8_t off, flags;

        meta->sport = rd_u16be(&r);
        meta->dport = rd_u16be(&r);
        seq = rd_u32be(&r);
        rd_skip(&r, 4); /* ack */
        off = (uint8_t)(rd_u8(&r) >> 4);
        flags = rd_u8(&r);
        if (r.fail || off < 5 || (uint32_t)off * 4 > len) {
            d->st.c[CAP_TCP_BAD]++;
            return;
        }
        if (!is_dns_port(d, meta->sport) && !is_dns_port(d, meta->dport)) {
            d->st.c[CAP_TCP_OTHER_PORT]++;
            return;
        }
        meta->proto = 6;
        tcp_segment(d->tcp, meta, seq, flags, data + (uint32_t)off * 4, len - (uint32_t)off * 4);
        return;
    }
    d->st.c[CAP_IP_OTHER_PROTO]++;
}

static void decode_ipv4(cap_decoder *d, struct cap_meta *meta, const uint8_t *data, uint32_t len)
{
    struct rd r;
    uint8_t vihl, proto;
    uint16_t total, frag;
    uint32_t hlen, id;

    d->st.c[CAP_IPV4]++;
    rd_init(&r, data, len);
    vihl = rd_u8(&r);
    rd_skip(&r, 1);
    total = rd_u16be(&r);
    id = rd_u16be(&r);
    frag = rd_u16be(&r);
    rd_skip(&r, 1);
    proto = rd_u8(&r);
    rd_skip(&r, 2);
    const uint8_t *src = rd_bytes(&r, 4);
    const uint8_t *dst = rd_bytes(&r, 4);
    hlen = (uint32_t)(vihl & 0xf) * 4;
    if (r.fail) {
        d->st.c[CAP_IP_TRUNCATED]++;
        return;
    }
    if ((vihl >> 4) != 4 || hlen < 20 || total < hlen) {
        d->st.c[CAP_IP_BAD_HEADER]++;
        return;
    }
    if (hlen > len) {
        d->st.c[CAP_IP_TRUNCATED]++;
        return;
    }
    if (total > len) {
        if (!meta->truncated) {
            d->st.c[CAP_IP_TRUNCATED]++;
            return;
        }
        total = (uint16_t)len; /* decode what the snap length left */
    }
    meta->af = 4;
    memset(meta->src, 0, sizeof(meta->src));
    memset(meta->dst, 0, sizeof(meta->dst));
    memcpy(meta->src, src, 4);
    memcpy(meta->dst, dst, 4);
    d->last_af = 4;
    memcpy(d->last_src, meta->src, 16);
    memcpy(d->last_dst, meta->dst, 16);
    if (frag & 0x3fff) {
        struct frag_key k;
        const uint8_t *whole;
        uint32_t whole_len;

        if (meta->truncated) {
            d->st.c[CAP_FRAG_FRAGMENTS]++;
            d->st.c[CAP_FRAG_CUT]++; /* a cut fragment can never complete its datagram */
            return;
        }
        memset(&k, 0, sizeof(k));
        k.af = 4;
        k.proto = proto;
        memcpy(k.src, src, 4);
        memcpy(k.dst, dst, 4);
        k.id = id;
        if (!frag_add(d->frag, &k, meta->ts_ns, (uint32_t)(frag & 0x1fff) * 8, (frag & 0x2000) != 0,
                      data + hlen, total - hlen, &whole, &whole_len))
            return;
        meta->reassembled = true;
        decode_l4(d, meta, proto, whole, whole_len);
        return;
    }
    decode_l4(d, meta, proto, data + hlen, total - hlen);
}

static void decode_ipv6_from(cap_decoder *d, struct cap_meta *meta, uint8_t nh, const uint8_t *data,
                             uint32_t len, bool may_fragment);

static void decode_ipv6(cap_decoder *d, struct cap_meta *meta, const uint8_t *data, uint32_t len)
{
    struct rd r;
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t nh;

    d->st.c[CAP_IPV6]++;
    rd_init(&r, data, len);
    vtcfl = rd_u32be(&r);
    plen = rd_u16be(&r);
    nh = rd_u8(&r);
    rd_skip(&r, 1);
    const uint8_t *src = rd_bytes(&r, 16);
    const uint8_t *dst = rd_bytes(&r, 16);
    if (r.fail) {
        d->st.c[CAP_IP_TRUNCATED]++;
        return;
    }
    if ((vtcfl >> 28) != 6) {
        d->st.c[CAP_IP_BAD_HEADER]++;
        return;
    }
    if (plen == 0) {
        d->st.c[CAP_IP6_JUMBO]++; /* RFC 2675 jumbogram: never DNS */
        return;
    }
    if ((uint32_t)plen + 40 > len) {
        if (!meta->truncated) {
            d->st.c[CAP_IP_TRUNCATED]++;
            return;
        }
        plen = (uint16_t)(len - 40);
    }
    meta->af = 6;
    memcpy(meta->src, src, 16);
    memcpy(meta->dst, dst, 16);
    d->last_af = 6;
    memcpy(d->last_src, src, 16);
    memcpy(d->last_dst, dst, 16);
    decode_ipv6_from(d, meta, nh, data + 40, plen, true);
}

/* Walks IPv6 extension headers from next-header nh (RFC 8200 4). No count limit: every
 * header takes at least 8 bytes, so the packet length bounds the walk. */
static void decode_ipv6_from(cap_decoder *d, struct cap_meta *meta, uint8_t nh, const uint8_t *data,
                             uint32_t len, bool may_fragment)
{
    struct rd r;

    rd_init(&r, data, len);
    for (;;) {
        switch (nh) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */
        {
            uint8_t next = rd_u8(&r);
            uint32_t hl = ((uint32_t)rd_u8(&r) + 1) * 8;
            if (r.fail || !rd_skip(&r, hl - 2)) {
                d->st.c[CAP_IP_TRUNCATED]++;
                return;
            }
            nh = next;
            break;
        }
        case 51: /* AH: length in 4-octet units, minus 2 (RFC 4302 2.2) */
        {
            uint8_t next = rd_u8(&r);
            uint32_t hl = ((uint32_t)rd_u8(&r) + 2) * 4;
            if (r.fail || !rd_skip(&r, hl - 2)) {
                d->st.c[CAP_IP_TRUNCATED]++;
                return;
            }
            nh = next;
            break;
        }
        case 44: /* fragment */
        {
            uint8_t next = rd_u8(&r);
            uint16_t offm;
            uint32_t id;
            struct frag_key k;
            const uint8_t *whole;
            uint32_t whole_len;

            rd_skip(&r, 1);
            offm = rd_u16be(&r);
            id = rd_u32be(&r);
            if (r.fail) {
                d->st.c[CAP_IP_TRUNCATED]++;
                return;
            }
            if ((offm & 0xfff9) == 0) {
                nh = next; /* atomic fragment (RFC 6946): offset 0, no MF */
                break;
            }
            if (!may_fragment || meta->truncated) {
                d->st.c[CAP_FRAG_FRAGMENTS]++;
                d->st.c[meta->truncated ? CAP_FRAG_CUT : CAP_IP_BAD_HEADER]++;
                return;
            }
            memset(&k, 0, sizeof(k));
            k.af = 6;
            k.proto = next;
            memcpy(k.src, meta->src, 16);
            memcpy(k.dst, meta->dst, 16);
            k.id = id;
            if (!frag_add(d->frag, &k, meta->ts_ns, (uint32_t)(offm & 0xfff8), (offm & 1) != 0,
                          data + r.off, len - (uint32_t)r.off, &whole, &whole_len))
                return;
            meta->reassembled = true;
            decode_ipv6_from(d, meta, next, whole, whole_len, false);
            return;
        }
        default:
            decode_l4(d, meta, nh, data + r.off, len - (uint32_t)r.off);
            return;
        }
    }
}

static void decode_ethertype(cap_decoder *d, struct cap_meta *meta, struct rd *r, uint16_t type)
{
    for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD; tags++) {
        if (tags == MAX_VLAN_TAGS) {
            d->st.c[CAP_LINK_NOT_IP]++;
            return;
        }
        if (tags == 0)
            d->st.c[CAP_LINK_VLAN]++;
        rd_skip(r, 2); /* TCI */
        type = rd_u16be(r);
    }
    if (r->fail) {
        d->st.c[CAP_LINK_SHORT]++;
        return;
    }
    if (type == ETH_IPV4)
        decode_ipv4(d, meta, r->base + r->off, (uint32_t)rd_left(r));
    else if (type == ETH_IPV6)
        decode_ipv6(d, meta, r->base + r->off, (uint32_t)rd_left(r));
    else
        d->st.c[CAP_LINK_NOT_IP]++;
}

static void decode_raw_ip(cap_decoder *d, struct cap_meta *meta, const uint8_t *p, uint32_t len)
{
    if (len < 1) {
        d->st.c[CAP_LINK_SHORT]++;
        return;
    }
    switch (p[0] >> 4) {
    case 4:
        decode_ipv4(d, meta, p, len);
        break;
    case 6:
        decode_ipv6(d, meta, p, len);
        break;
    default:
        d->st.c[CAP_LINK_NOT_IP]++;
        break;
    }
}

static void warn_dlt(cap_decoder *d, int dlt)
{
    for (unsigned i = 0; i < d->nwarned; i++)
        if (d->warned_dlt[i] == dlt)
            return;
    if (d->nwarned < sizeof(d->warned_dlt) / sizeof(d->warned_dlt[0])) {
        const char *name = pcap_datalink_val_to_name(dlt);
        d->warned_dlt[d->nwarned++] = dlt;
        d->st.link_types_seen++;
        log_msg(LOG_WARN,
                "capture: link type %d (%s) is not supported; its packets are skipped "
                "and counted as capture.link.unsupported",
                dlt, name ? name : "unknown");
    }
}

void cap_decode(cap_decoder *d, int dlt, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen)
{
    struct cap_meta meta;
    struct rd r;

    d->st.c[CAP_PACKETS]++;
    d->st.c[CAP_BYTES] += wirelen;
    d->last_af = 0;
    meta.ts_ns = ts_ns;
    meta.truncated = caplen < wirelen;
    meta.reassembled = false;
    meta.af = 0;
    meta.proto = 0;
    meta.sport = meta.dport = 0;
    if (meta.truncated)
        d->st.c[CAP_SNAPLEN_TRUNCATED]++;
    rd_init(&r, data, caplen);
    switch (dlt) {
    case DLT_EN10MB: {
        uint16_t type;
        rd_skip(&r, 12);
        type = rd_u16be(&r);
        if (r.fail) {
            d->st.c[CAP_LINK_SHORT]++;
            return;
        }
        decode_ethertype(d, &meta, &r, type);
        return;
    }
    case DLT_LINUX_SLL: {
        /* packet type, ARPHRD, address length, 8 address bytes, protocol (ethertype) */
        uint16_t type;
        rd_skip(&r, 14);
        type = rd_u16be(&r);
        if (r.fail) {
            d->st.c[CAP_LINK_SHORT]++;
            return;
        }
        decode_ethertype(d, &meta, &r, type);
        return;
    }
    case DLT_LINUX_SLL2: {
        /* protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes */
        uint16_t type = rd_u16be(&r);
        rd_skip(&r, 18);
        if (r.fail) {
            d->st.c[CAP_LINK_SHORT]++;
            return;
        }
        decode_ethertype(d, &meta, &r, type);
        return;
    }
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        decode_raw_ip(d, &meta, data, caplen);
        return;
    case DLT_NULL:
    case DLT_LOOP: {
        /* 4-byte address family: host order for NULL (either order in practice), network
         * order for LOOP. 2 is AF_INET everywhere; AF_INET6 is 24, 28 or 30 on the BSDs. */
        uint32_t af = dlt == DLT_LOOP ? rd_u32be(&r) : rd_u32le(&r);
        if (r.fail) {
            d->st.c[CAP_LINK_SHORT]++;
            return;
        }
        if (af > 0xffff)
            af = __builtin_bswap32(af);
        if (af == 2)
            decode_ipv4(d, &meta, data + 4, caplen - 4);
        else if (af == 24 || af == 28 || af == 30 || af == 10)
            decode_ipv6(d, &meta, data + 4, caplen - 4);
        else
            d->st.c[CAP_LINK_NOT_IP]++;
        return;
    }
    default:
        d->st.c[CAP_LINK_UNSUPPORTED]++;
        warn_dlt(d, dlt);
        return;
    }
}
