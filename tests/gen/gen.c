/* SPDX-License-Identifier: MIT */
/* The project's capture generator: builds DNS messages with ldns, wraps them in UDP/TCP,
 * IPv4/IPv6 (with extension headers and fragments) and every supported link layer, and
 * writes the test fixtures, the bundled sample and the benchmark captures. Deterministic:
 * a fixed PRNG seed and fixed timestamps, so a rerun gives byte-identical files.
 *   gen fixtures DIR          all fixtures of tests/pcap/LIST
 *   gen sample FILE           the bundled sample capture
 *   gen bench FILE PACKETS    the benchmark's realistic resolver mix
 *   gen subdomain FILE NAMES  random-subdomain flood with NAMES unique names */
#include "pcapw.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 70000

enum link { L_ETH, L_VLAN, L_QINQ, L_SLL, L_SLL2, L_RAW, L_NULL, L_LOOP, L_IPV4, L_IPV6, L_USER0 };

static int link_type(enum link l)
{
    switch (l) {
    case L_ETH:
    case L_VLAN:
    case L_QINQ:
        return 1;
    case L_SLL:
        return 113;
    case L_SLL2:
        return 276;
    case L_RAW:
        return 101;
    case L_NULL:
        return 0;
    case L_LOOP:
        return 108;
    case L_IPV4:
        return 228;
    case L_IPV6:
        return 229;
    case L_USER0:
        return 147;
    }
    return 1;
}

/* ---- deterministic randomness ------------------------------------------------------------ */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(rng() % n);
}

/* ---- DNS messages through ldns ----------------------------------------------------------- */
struct edns {
    bool on, do_bit;
    uint16_t size;
    uint8_t version, ext_rcode;
    uint16_t opt_code[4];
    uint16_t opt_len[4];
    const uint8_t *opt_data[4];
    int nopts;
};

static void die(const char *what)
{
    fprintf(stderr, "gen: %s\n", what);
    exit(1);
}

static void apply_edns(ldns_pkt *p, const struct edns *e)
{
    if (!e || !e->on)
        return;
    ldns_pkt_set_edns_udp_size(p, e->size ? e->size : 1232);
    ldns_pkt_set_edns_do(p, e->do_bit);
    ldns_pkt_set_edns_version(p, e->version);
    ldns_pkt_set_edns_extended_rcode(p, e->ext_rcode);
    if (e->nopts) {
        ldns_edns_option_list *l = ldns_edns_option_list_new();
        for (int i = 0; i < e->nopts; i++) {
            ldns_edns_option *o =
                ldns_edns_new_from_data(e->opt_code[i], e->opt_len[i], e->opt_data[i]);
            if (!o || !ldns_edns_option_list_push(l, o))
                die("edns option");
        }
        ldns_pkt_set_edns_option_list(p, l);
    }
}

static size_t to_wire(ldns_pkt *p, uint8_t *out)
{
    uint8_t *w = NULL;
    size_t n = 0;

    if (ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK || n > 65535)
        die("ldns_pkt2wire");
    memcpy(out, w, n);
    free(w);
    ldns_pkt_free(p);
    return n;
}

static ldns_pkt *mk_query(uint16_t id, const char *qname, uint16_t qtype, bool rd)
{
    ldns_rdf *name = ldns_dname_new_frm_str(qname);
    ldns_pkt *p;

    if (!name)
        die("bad name");
    p = ldns_pkt_query_new(name, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0);
    if (!p)
        die("ldns_pkt_query_new");
    ldns_pkt_set_id(p, id);
    return p;
}

static size_t dns_query(uint8_t *out, uint16_t id, const char *qname, uint16_t qtype,
                        const struct edns *e)
{
    ldns_pkt *p = mk_query(id, qname, qtype, true);
    apply_edns(p, e);
    return to_wire(p, out);
}

/* A response; rrs are zone-file lines, section letter first: "A www.example. 300 IN A ...",
 * "N ..." authority, "D ..." additional. */
static size_t dns_response(uint8_t *out, uint16_t id, const char *qname, uint16_t qtype,
                           uint8_t rcode, const char *const *rrs, int nrrs, const struct edns *e,
                           bool aa, bool tc)
{
    ldns_pkt *p = mk_query(id, qname, qtype, true);

    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_ra(p, !aa); /* authorities answer without recursion, resolvers with it */
    ldns_pkt_set_aa(p, aa);
    ldns_pkt_set_tc(p, tc);
    ldns_pkt_set_rcode(p, rcode);
    for (int i = 0; i < nrrs; i++) {
        ldns_rr *rr = NULL;
        ldns_pkt_section sec = rrs[i][0] == 'N'   ? LDNS_SECTION_AUTHORITY
                               : rrs[i][0] == 'D' ? LDNS_SECTION_ADDITIONAL
                                                  : LDNS_SECTION_ANSWER;
        if (ldns_rr_new_frm_str(&rr, rrs[i] + 2, 0, NULL, NULL) != LDNS_STATUS_OK)
            die(rrs[i]);
        ldns_pkt_push_rr(p, sec, rr);
    }
    apply_edns(p, e);
    return to_wire(p, out);
}

/* ---- IP / UDP / TCP ---------------------------------------------------------------------- */
struct addr {
    int af;
    uint8_t a[16];
};

static struct addr A(const char *s) {
    struct addr r;
    memset(&r, 0, sizeof(r));
    if (inet_pton(AF_INET, s, r.a) == 1)
        r.af = 4;
    else if (inet_pton(AF_INET6, s, r.a) == 1)
        r.af = 6;
    else
        die("bad address");
    return r;
}

static void
w16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void w32(uint8_t *p, uint32_t v)
{
    w16(p, (uint16_t)(v >> 16));
    w16(p + 2, (uint16_t)v);
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)(p[n - 1] << 8);
    return s;
}

static uint16_t csum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* L4 segment with checksum over the pseudo header. */
static size_t l4(uint8_t *o, int proto, const struct addr *src, const struct addr *dst, uint16_t sp,
                 uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *pl,
                 size_t n)
{
    size_t h = proto == 17 ? 8 : 20, len = h + n;
    uint32_t s = 0;
    uint8_t ph[4];

    memset(o, 0, h);
    w16(o, sp);
    w16(o + 2, dp);
    if (proto == 17) {
        w16(o + 4, (uint16_t)len);
    } else {
        w32(o + 4, seq);
        w32(o + 8, ack);
        o[12] = 5 << 4;
        o[13] = flags;
        w16(o + 14, 65535);
    }
    if (n)
        memcpy(o + h, pl, n);
    s = csum_add(s, src->a, src->af == 4 ? 4 : 16);
    s = csum_add(s, dst->a, dst->af == 4 ? 4 : 16);
    w16(ph, (uint16_t)proto);
    w16(ph + 2, (uint16_t)len);
    s = csum_add(s, ph, 4);
    s = csum_add(s, o, len);
    w16(o + (proto == 17 ? 6 : 16), csum_fold(s) ? csum_fold(s) : 0xffff);
    return len;
}

static uint16_t ip_id = 1000;

/* IPv4 packet or fragment: frag_off in bytes, mf flag. */
static size_t ipv4(uint8_t *o, int proto, const struct addr *src, const struct addr *dst,
                   const uint8_t *pl, size_t n, uint16_t id, uint32_t frag_off, bool mf)
{
    memset(o, 0, 20);
    o[0] = 0x45;
    w16(o + 2, (uint16_t)(20 + n));
    w16(o + 4, id);
    w16(o + 6, (uint16_t)((mf ? 0x2000 : 0) | (frag_off / 8)));
    o[8] = 64;
    o[9] = (uint8_t)proto;
    memcpy(o + 12, src->a, 4);
    memcpy(o + 16, dst->a, 4);
    w16(o + 10, csum_fold(csum_add(0, o, 20)));
    memcpy(o + 20, pl, n);
    return 20 + n;
}

/* IPv6 packet; ext is a prebuilt chain of extension headers whose first next-header is
 * ext_nh (the chain's last header names proto). */
static size_t ipv6(uint8_t *o, int proto, const struct addr *src, const struct addr *dst,
                   const uint8_t *ext, size_t next, uint8_t ext_nh, const uint8_t *pl, size_t n)
{
    memset(o, 0, 40);
    o[0] = 0x60;
    w16(o + 4, (uint16_t)(next + n));
    o[6] = next ? ext_nh : (uint8_t)proto;
    o[7] = 64;
    memcpy(o + 8, src->a, 16);
    memcpy(o + 24, dst->a, 16);
    if (next)
        memcpy(o + 40, ext, next);
    memcpy(o + 40 + next, pl, n);
    return 40 + next + n;
}

static size_t ip_pkt(uint8_t *o, int proto, const struct addr *src, const struct addr *dst,
                     const uint8_t *l4b, size_t n)
{
    if (src->af == 4)
        return ipv4(o, proto, src, dst, l4b, n, ip_id++, 0, false);
    return ipv6(o, proto, src, dst, NULL, 0, 0, l4b, n);
}

static size_t link_wrap(uint8_t *o, enum link l, const uint8_t *ip, size_t n)
{
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x01}, mac_b[6] = {0x02, 0, 0, 0, 0, 0x02};
    int v6 = (ip[0] >> 4) == 6;
    uint16_t et = v6 ? 0x86dd : 0x0800;
    size_t h = 0;

    switch (l) {
    case L_ETH:
    case L_VLAN:
    case L_QINQ:
        memcpy(o, mac_a, 6);
        memcpy(o + 6, mac_b, 6);
        h = 12;
        if (l == L_QINQ) {
            w16(o + h, 0x88a8);
            w16(o + h + 2, 100);
            h += 4;
        }
        if (l != L_ETH) {
            w16(o + h, 0x8100);
            w16(o + h + 2, 200);
            h += 4;
        }
        w16(o + h, et);
        h += 2;
        break;
    case L_SLL:
        memset(o, 0, 16);
        w16(o + 2, 1); /* ARPHRD_ETHER */
        w16(o + 4, 6);
        memcpy(o + 6, mac_a, 6);
        w16(o + 14, et);
        h = 16;
        break;
    case L_SLL2:
        memset(o, 0, 20);
        w16(o, et);
        w32(o + 4, 2); /* ifindex */
        w16(o + 8, 1);
        o[11] = 6;
        memcpy(o + 12, mac_a, 6);
        h = 20;
        break;
    case L_NULL: { /* host (little-endian) order; AF_INET6 as macOS writes it (30) */
        uint32_t af = v6 ? 30 : 2;
        memcpy(o, &af, 4);
        h = 4;
        break;
    }
    case L_LOOP: /* network order; AF_INET6 as OpenBSD writes it (24) */
        w32(o, v6 ? 24 : 2);
        h = 4;
        break;
    case L_RAW:
    case L_IPV4:
    case L_IPV6:
    case L_USER0:
        h = 0;
        break;
    }
    memcpy(o + h, ip, n);
    return h + n;
}

/* ---- writing frames ---------------------------------------------------------------------- */
struct out {
    struct pcapw *w;
    unsigned ifid;
    enum link link;
    uint64_t t;    /* ns */
    uint32_t snap; /* 0: whole frames */
};

static void emit_ip(struct out *o, const uint8_t *ip, size_t n)
{
    static uint8_t frame[MAXF + 64];
    size_t fl = link_wrap(frame, o->link, ip, n);
    uint32_t cap = o->snap && fl > o->snap ? o->snap : (uint32_t)fl;

    pcapw_write(o->w, o->ifid, o->t, frame, cap, (uint32_t)fl);
    o->t += 1000 + rnd(500) * 1000; /* 1 us .. 0.5 ms apart */
}

static void udp_send(struct out *o, const struct addr *s, const struct addr *d, uint16_t sp,
                     uint16_t dp, const uint8_t *pl, size_t n)
{
    static uint8_t seg[MAXF], ip[MAXF + 64];
    size_t sl = l4(seg, 17, s, d, sp, dp, 0, 0, 0, pl, n);
    emit_ip(o, ip, ip_pkt(ip, 17, s, d, seg, sl));
}

struct tcpc {
    struct addr c, s;
    uint16_t cp, sp;
    uint32_t cseq, sseq;
};

static void tcp_send(struct out *o, struct tcpc *k, bool from_client, uint8_t flags,
                     const uint8_t *pl, size_t n)
{
    static uint8_t seg[MAXF], ip[MAXF + 64];
    const struct addr *src = from_client ? &k->c : &k->s, *dst = from_client ? &k->s : &k->c;
    uint32_t *seq = from_client ? &k->cseq : &k->sseq, ack = from_client ? k->sseq : k->cseq;
    size_t sl = l4(seg, 6, src, dst, from_client ? k->cp : k->sp, from_client ? k->sp : k->cp, *seq,
                   ack, flags, pl, n);
    emit_ip(o, ip, ip_pkt(ip, 6, src, dst, seg, sl));
    *seq += (uint32_t)n + ((flags & 0x03) ? 1 : 0); /* SYN and FIN take a sequence number */
}

/* Sends a raw segment at an explicit sequence number (for out-of-order/retransmits). */
static void tcp_send_at(struct out *o, struct tcpc *k, bool from_client, uint32_t seq,
                        const uint8_t *pl, size_t n)
{
    uint32_t *cur = from_client ? &k->cseq : &k->sseq, save = *cur;
    *cur = seq;
    tcp_send(o, k, from_client, 0x18, pl, n);
    *cur = save;
}

static void tcp_open(struct out *o, struct tcpc *k)
{
    tcp_send(o, k, true, 0x02, NULL, 0);
    tcp_send(o, k, false, 0x12, NULL, 0);
    tcp_send(o, k, true, 0x10, NULL, 0);
}

static void tcp_close(struct out *o, struct tcpc *k)
{
    tcp_send(o, k, false, 0x11, NULL, 0);
    tcp_send(o, k, true, 0x11, NULL, 0);
    tcp_send(o, k, false, 0x10, NULL, 0);
}

/* Length-prefixed DNS message for TCP. */
static size_t framed(uint8_t *o, const uint8_t *m, size_t n)
{
    w16(o, (uint16_t)n);
    memcpy(o + 2, m, n);
    return n + 2;
}

static const struct addr *CLI4, *SRV4, *CLI6, *SRV6;
static struct addr cli4, srv4, cli6, srv6;

static void init_addrs(void)
{
    cli4 = A("198.51.100.7");
    srv4 = A("192.0.2.53");
    cli6 = A("2001:db8::7");
    srv6 = A("2001:db8::53");
    CLI4 = &cli4;
    SRV4 = &srv4;
    CLI6 = &cli6;
    SRV6 = &srv6;
}

/* One UDP query and its response (if rcode >= 0). */
static void xchg(struct out *o, int af, uint16_t id, const char *qname, uint16_t qtype, int rcode,
                 const char *const *rrs, int nrrs)
{
    static uint8_t q[MAXF], r[MAXF];
    const struct addr *c = af == 6 ? CLI6 : CLI4, *s = af == 6 ? SRV6 : SRV4;
    uint16_t sport = (uint16_t)(20000 + id);
    size_t qn = dns_query(q, id, qname, qtype, NULL);

    udp_send(o, c, s, sport, 53, q, qn);
    if (rcode < 0)
        return;
    size_t rn = dns_response(r, id, qname, qtype, (uint8_t)rcode, rrs, nrrs, NULL, false, false);
    udp_send(o, s, c, 53, sport, r, rn);
}

static struct out open_pcap(const char *dir, const char *name, enum link l)
{
    char path[512];
    struct out o = {0};
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    o.w = pcapw_open_pcap(path, link_type(l), false, false, 262144);
    if (!o.w)
        die(path);
    o.link = l;
    o.t = 1795392000ull * 1000000000ull; /* 2026-11-23T00:00:00Z */
    return o;
}

static void close_out(struct out *o)
{
    if (pcapw_close(o->w) != 0)
        die("write failed");
}

/* ---- fixtures ---------------------------------------------------------------------------- */
static const char *const A_WWW[] = {"A www.example.com. 300 IN A 192.0.2.80"};
static const char *const AAAA_WWW[] = {"A www.example.com. 300 IN AAAA 2001:db8::80"};
static const char *const MX_EX[] = {"A example.com. 300 IN MX 10 mx1.example.com.",
                                    "A example.com. 300 IN MX 20 mx2.example.com."};
static const char *const TXT_EX[] = {"A example.com. 300 IN TXT \"v=spf1 -all\""};
static const char *const SOA_NX[] = {
    "N example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2026112301 3600 900 "
    "604800 300"};
static const char *const PTR_R[] = {"A 80.2.0.192.in-addr.arpa. 300 IN PTR www.example.com."};
static const char *const NS_EX[] = {"A example.com. 300 IN NS ns1.example.com.",
                                    "A example.com. 300 IN NS ns2.example.com.",
                                    "D ns1.example.com. 300 IN A 192.0.2.53"};
static const char *const ANY_EX[] = {"A example.com. 300 IN HINFO \"RFC8482\" \"\""};

/* basic.pcap: Ethernet, UDP over IPv4 and IPv6, the common qtypes and rcodes, two
 * unanswered queries, and three frames that are not DNS (ARP, ICMP, NTP). */
static void fx_basic(const char *dir)
{
    struct out o = open_pcap(dir, "basic.pcap", L_ETH);
    static uint8_t buf[256], ip[512];

    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, 6, 2, "www.example.com.", LDNS_RR_TYPE_AAAA, 0, AAAA_WWW, 1);
    xchg(&o, 4, 3, "example.com.", LDNS_RR_TYPE_MX, 0, MX_EX, 2);
    xchg(&o, 4, 4, "example.com.", LDNS_RR_TYPE_TXT, 0, TXT_EX, 1);
    xchg(&o, 4, 5, "nonexistent.example.com.", LDNS_RR_TYPE_A, 3, SOA_NX, 1);
    xchg(&o, 6, 6, "broken.example.net.", LDNS_RR_TYPE_A, 2, NULL, 0);
    xchg(&o, 4, 7, "refused.example.org.", LDNS_RR_TYPE_A, 5, NULL, 0);
    xchg(&o, 4, 8, "80.2.0.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, PTR_R, 1);
    xchg(&o, 6, 9, "example.com.", LDNS_RR_TYPE_NS, 0, NS_EX, 3);
    xchg(&o, 4, 10, "example.com.", LDNS_RR_TYPE_ANY, 0, ANY_EX, 1);
    xchg(&o, 4, 11, "lost.example.com.", LDNS_RR_TYPE_A, -1, NULL, 0);
    xchg(&o, 4, 12, "lost.example.com.", LDNS_RR_TYPE_A, -1, NULL, 0);
    {
        /* ARP request: not IP. */
        uint8_t f[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0,
                         1,    0x08, 0x06, 0,    1,    0x08, 0, 6, 4, 0, 1};
        pcapw_write(o.w, 0, o.t, f, sizeof(f), sizeof(f));
        o.t += 1000;
    }
    {
        /* ICMP echo: IP, not UDP/TCP. */
        uint8_t icmp[8] = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
        emit_ip(&o, ip, ipv4(ip, 1, CLI4, SRV4, icmp, 8, ip_id++, 0, false));
    }
    {
        /* NTP: UDP on another port. */
        memset(buf, 0, 48);
        buf[0] = 0x23;
        udp_send(&o, CLI4, SRV4, 123, 123, buf, 48);
    }
    close_out(&o);
}

/* Two exchanges (IPv4 and IPv6 unless the link carries only one) over link l. */
static void fx_link(const char *dir, const char *name, enum link l)
{
    struct out o = open_pcap(dir, name, l);
    xchg(&o, l == L_IPV6 ? 6 : 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, l == L_IPV4 ? 4 : 6, 2, "www.example.com.", LDNS_RR_TYPE_AAAA, 0, AAAA_WWW, 1);
    close_out(&o);
}

static void fx_link_unknown(const char *dir)
{
    struct out o = open_pcap(dir, "link_unknown.pcap", L_USER0);
    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, 4, 2, "www.example.com.", LDNS_RR_TYPE_A, -1, NULL, 0);
    close_out(&o);
}

static void fx_formats(const char *dir)
{
    char path[512];
    struct out o = {0};

    snprintf(path, sizeof(path), "%s/fmt_be_us.pcap", dir);
    o.w = pcapw_open_pcap(path, 1, true, false, 262144);
    o.link = L_ETH;
    o.t = 1795392000ull * 1000000000ull + 123456000ull;
    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, 6, 2, "example.com.", LDNS_RR_TYPE_MX, 0, MX_EX, 2);
    close_out(&o);

    snprintf(path, sizeof(path), "%s/fmt_ns.pcap", dir);
    o.w = pcapw_open_pcap(path, 1, false, true, 262144);
    o.t = 1795392000ull * 1000000000ull + 123456789ull;
    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, 4, 2, "example.com.", LDNS_RR_TYPE_TXT, 0, TXT_EX, 1);
    close_out(&o);

    /* pcapng, three interfaces with different link types and resolutions. */
    snprintf(path, sizeof(path), "%s/fmt_ng_multi.pcapng", dir);
    o.w = pcapw_open_ng(path, false);
    pcapw_add_if(o.w, 1, 6, 262144);   /* Ethernet, us */
    pcapw_add_if(o.w, 101, 9, 262144); /* raw IP, ns */
    pcapw_add_if(o.w, 276, 3, 262144); /* SLL2, ms */
    o.t = 1795392000ull * 1000000000ull;
    o.ifid = 0;
    o.link = L_ETH;
    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    o.ifid = 1;
    o.link = L_RAW;
    xchg(&o, 6, 2, "www.example.com.", LDNS_RR_TYPE_AAAA, 0, AAAA_WWW, 1);
    o.ifid = 2;
    o.link = L_SLL2;
    o.t += 5000000; /* ms resolution: keep the order after truncation */
    xchg(&o, 4, 3, "example.com.", LDNS_RR_TYPE_NS, 0, NS_EX, 3);
    o.t += 5000000;
    o.ifid = 0;
    o.link = L_ETH;
    xchg(&o, 4, 4, "nonexistent.example.com.", LDNS_RR_TYPE_A, 3, SOA_NX, 1);
    close_out(&o);

    snprintf(path, sizeof(path), "%s/fmt_ng_be.pcapng", dir);
    o.w = pcapw_open_ng(path, true);
    pcapw_add_if(o.w, 1, 6, 262144);
    o.ifid = 0;
    o.link = L_ETH;
    xchg(&o, 4, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    xchg(&o, 6, 2, "broken.example.net.", LDNS_RR_TYPE_A, 2, NULL, 0);
    close_out(&o);
}

/* IPv6 extension headers: hop-by-hop + destination options before UDP on the query,
 * a routing header on the response, and a query behind a chain of 20 headers. */
static void fx_ipv6_ext(const char *dir)
{
    struct out o = open_pcap(dir, "ipv6_ext.pcap", L_ETH);
    static uint8_t q[512], r[512], seg[1024], ip[2048], ext[512];
    size_t qn = dns_query(q, 1, "www.example.com.", LDNS_RR_TYPE_AAAA, NULL);
    size_t rn = dns_response(r, 1, "www.example.com.", LDNS_RR_TYPE_AAAA, 0, AAAA_WWW, 1, NULL,
                             false, false);
    size_t sl;

    /* HBH (nh = DST 60, len 0, PadN) then DST (nh = UDP 17, len 0, PadN). */
    memset(ext, 0, 16);
    ext[0] = 60;
    ext[2] = 1;
    ext[3] = 4;
    ext[8] = 17;
    ext[10] = 1;
    ext[11] = 4;
    sl = l4(seg, 17, CLI6, SRV6, 30001, 53, 0, 0, 0, q, qn);
    emit_ip(&o, ip, ipv6(ip, 17, CLI6, SRV6, ext, 16, 0, seg, sl));
    /* Routing header type 0... use type 3 (RPL) with segments left 0, 8 bytes. */
    memset(ext, 0, 8);
    ext[0] = 17;
    ext[2] = 3;
    sl = l4(seg, 17, SRV6, CLI6, 53, 30001, 0, 0, 0, r, rn);
    emit_ip(&o, ip, ipv6(ip, 17, SRV6, CLI6, ext, 8, 43, seg, sl));
    /* 20 chained destination-options headers: a long chain is still walked to UDP. */
    for (int i = 0; i < 20; i++) {
        memset(ext + i * 8, 0, 8);
        ext[i * 8] = i == 19 ? 17 : 60;
        ext[i * 8 + 2] = 1;
        ext[i * 8 + 3] = 4;
    }
    sl = l4(seg, 17, CLI6, SRV6, 30002, 53, 0, 0, 0, q, qn);
    emit_ip(&o, ip, ipv6(ip, 17, CLI6, SRV6, ext, 160, 60, seg, sl));
    close_out(&o);
}

/* A large TXT response (about 2.3 kB) for fragmentation. */
static size_t big_response(uint8_t *r, uint16_t id, const char *qname, int ntxt)
{
    static char lines[16][320];
    const char *rrs[16];
    for (int i = 0; i < ntxt && i < 16; i++) {
        char data[256];
        memset(data, 'a' + i, 200);
        data[200] = 0;
        snprintf(lines[i], sizeof(lines[i]), "A %s 300 IN TXT \"%s\"", qname, data);
        rrs[i] = lines[i];
    }
    return dns_response(r, id, qname, LDNS_RR_TYPE_TXT, 0, rrs, ntxt, NULL, false, false);
}

static void send_frags4(struct out *o, const struct addr *s, const struct addr *d,
                        const uint8_t *seg, size_t sl, uint16_t id, size_t chunk, const int *order,
                        int norder)
{
    static uint8_t ip[MAXF];
    for (int k = 0; k < norder; k++) {
        size_t off = (size_t)order[k] * chunk, n = sl - off < chunk ? sl - off : chunk;
        emit_ip(o, ip, ipv4(ip, 17, s, d, seg + off, n, id, (uint32_t)off, off + n < sl));
    }
}

static void fx_frag(const char *dir)
{
    struct out o = open_pcap(dir, "frag_v4.pcap", L_ETH);
    static uint8_t q[512], r[MAXF], seg[MAXF], ip[MAXF], ext[8];
    size_t qn, rn, sl;

    /* 1: three fragments, out of order (2, 0, 1). */
    qn = dns_query(q, 1, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    udp_send(&o, CLI4, SRV4, 30001, 53, q, qn);
    rn = big_response(r, 1, "big.example.com.", 10);
    sl = l4(seg, 17, SRV4, CLI4, 53, 30001, 0, 0, 0, r, rn);
    send_frags4(&o, SRV4, CLI4, seg, sl, 4001, 1000, (const int[]){2, 0, 1}, 3);
    /* 2: the middle fragment never arrives: times out. */
    qn = dns_query(q, 2, "lost.example.com.", LDNS_RR_TYPE_TXT, NULL);
    udp_send(&o, CLI4, SRV4, 30002, 53, q, qn);
    rn = big_response(r, 2, "lost.example.com.", 10);
    sl = l4(seg, 17, SRV4, CLI4, 53, 30002, 0, 0, 0, r, rn);
    send_frags4(&o, SRV4, CLI4, seg, sl, 4002, 1000, (const int[]){0, 2}, 2);
    /* 3: first fragment sent twice (an overlap with identical bytes). */
    qn = dns_query(q, 3, "dup.example.com.", LDNS_RR_TYPE_TXT, NULL);
    udp_send(&o, CLI4, SRV4, 30003, 53, q, qn);
    rn = big_response(r, 3, "dup.example.com.", 6);
    sl = l4(seg, 17, SRV4, CLI4, 53, 30003, 0, 0, 0, r, rn);
    send_frags4(&o, SRV4, CLI4, seg, sl, 4003, 1000, (const int[]){0, 0, 1}, 3);
    close_out(&o);

    /* IPv6: two fragments in reverse order. */
    o = open_pcap(dir, "frag_v6.pcap", L_ETH);
    qn = dns_query(q, 1, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    udp_send(&o, CLI6, SRV6, 30001, 53, q, qn);
    rn = big_response(r, 1, "big.example.com.", 8);
    sl = l4(seg, 17, SRV6, CLI6, 53, 30001, 0, 0, 0, r, rn);
    for (int k = 1; k >= 0; k--) {
        size_t off = (size_t)k * 1232, n = sl - off < 1232 ? sl - off : 1232;
        memset(ext, 0, 8);
        ext[0] = 17;
        w16(ext + 2, (uint16_t)(off | (k == 0 ? 1 : 0)));
        w32(ext + 4, 0xabcd0001u);
        emit_ip(&o, ip, ipv6(ip, 17, SRV6, CLI6, ext, 8, 44, seg + off, n));
    }
    close_out(&o);
}

static struct tcpc tcp_conn(uint16_t cport)
{
    struct tcpc k;
    k.c = *CLI4;
    k.s = *SRV4;
    k.cp = cport;
    k.sp = 53;
    k.cseq = 1000000u * cport;
    k.sseq = 3000000000u + cport;
    return k;
}

static void fx_tcp(const char *dir)
{
    static uint8_t q[MAXF], r[MAXF], f[MAXF * 2];
    struct out o;
    struct tcpc k;
    size_t qn, rn, fn, fq;

    /* tcp_basic: one query/response with handshake and close, then a connection picked up
     * midstream (no SYN seen) carrying one more exchange. */
    o = open_pcap(dir, "tcp_basic.pcap", L_ETH);
    k = tcp_conn(40001);
    tcp_open(&o, &k);
    qn = dns_query(q, 1, "www.example.com.", LDNS_RR_TYPE_A, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    rn = dns_response(r, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1, NULL, true, false);
    fn = framed(f, r, rn);
    tcp_send(&o, &k, false, 0x18, f, fn);
    tcp_close(&o, &k);
    k = tcp_conn(40002);
    qn = dns_query(q, 2, "example.com.", LDNS_RR_TYPE_MX, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    rn = dns_response(r, 2, "example.com.", LDNS_RR_TYPE_MX, 0, MX_EX, 2, NULL, true, false);
    fn = framed(f, r, rn);
    tcp_send(&o, &k, false, 0x18, f, fn);
    close_out(&o);

    /* tcp_split: the query in two segments (cut inside the length prefix), the response in
     * three. */
    o = open_pcap(dir, "tcp_split.pcap", L_ETH);
    k = tcp_conn(40003);
    tcp_open(&o, &k);
    qn = dns_query(q, 3, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, 1);
    tcp_send(&o, &k, true, 0x18, f + 1, fn - 1);
    rn = big_response(r, 3, "big.example.com.", 3);
    fn = framed(f, r, rn);
    tcp_send(&o, &k, false, 0x18, f, 300);
    tcp_send(&o, &k, false, 0x18, f + 300, 200);
    tcp_send(&o, &k, false, 0x18, f + 500, fn - 500);
    tcp_close(&o, &k);
    close_out(&o);

    /* tcp_multi: three pipelined queries in one segment; three responses in two segments
     * (the middle one cut across them). */
    o = open_pcap(dir, "tcp_multi.pcap", L_ETH);
    k = tcp_conn(40004);
    tcp_open(&o, &k);
    fq = 0;
    for (int i = 0; i < 3; i++) {
        qn = dns_query(q, (uint16_t)(10 + i), "www.example.com.",
                       i == 1 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, NULL);
        fq += framed(f + fq, q, qn);
    }
    tcp_send(&o, &k, true, 0x18, f, fq);
    fq = 0;
    for (int i = 0; i < 3; i++) {
        rn = dns_response(r, (uint16_t)(10 + i), "www.example.com.",
                          i == 1 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, 0, i == 1 ? AAAA_WWW : A_WWW,
                          1, NULL, true, false);
        fq += framed(f + fq, r, rn);
    }
    tcp_send(&o, &k, false, 0x18, f, fq / 2);
    tcp_send(&o, &k, false, 0x18, f + fq / 2, fq - fq / 2);
    tcp_close(&o, &k);
    close_out(&o);

    /* tcp_ooo: the response's three segments arrive 1, 3, 2. */
    o = open_pcap(dir, "tcp_ooo.pcap", L_ETH);
    k = tcp_conn(40005);
    tcp_open(&o, &k);
    qn = dns_query(q, 5, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    rn = big_response(r, 5, "big.example.com.", 4);
    fn = framed(f, r, rn);
    {
        uint32_t base = k.sseq;
        tcp_send_at(&o, &k, false, base, f, 300);
        tcp_send_at(&o, &k, false, base + 600, f + 600, fn - 600);
        tcp_send_at(&o, &k, false, base + 300, f + 300, 300);
        k.sseq = base + (uint32_t)fn;
    }
    tcp_close(&o, &k);
    close_out(&o);

    /* tcp_retrans: the query segment twice; the response's first half, then the whole
     * response again (overlapping the first half). */
    o = open_pcap(dir, "tcp_retrans.pcap", L_ETH);
    k = tcp_conn(40006);
    tcp_open(&o, &k);
    qn = dns_query(q, 6, "www.example.com.", LDNS_RR_TYPE_A, NULL);
    fn = framed(f, q, qn);
    {
        uint32_t base = k.cseq;
        tcp_send_at(&o, &k, true, base, f, fn);
        tcp_send_at(&o, &k, true, base, f, fn);
        k.cseq = base + (uint32_t)fn;
    }
    rn = dns_response(r, 6, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1, NULL, true, false);
    fn = framed(f, r, rn);
    {
        uint32_t base = k.sseq;
        tcp_send_at(&o, &k, false, base, f, fn / 2);
        tcp_send_at(&o, &k, false, base, f, fn);
        k.sseq = base + (uint32_t)fn;
    }
    tcp_close(&o, &k);
    close_out(&o);

    /* tcp_aborted: a response cut by RST, and one cut by FIN. */
    o = open_pcap(dir, "tcp_aborted.pcap", L_ETH);
    k = tcp_conn(40007);
    tcp_open(&o, &k);
    qn = dns_query(q, 7, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    rn = big_response(r, 7, "big.example.com.", 2);
    fn = framed(f, r, rn);
    tcp_send(&o, &k, false, 0x18, f, 100);
    tcp_send(&o, &k, false, 0x14, NULL, 0); /* RST+ACK */
    k = tcp_conn(40008);
    tcp_open(&o, &k);
    qn = dns_query(q, 8, "big.example.com.", LDNS_RR_TYPE_TXT, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    rn = big_response(r, 8, "big.example.com.", 2);
    fn = framed(f, r, rn);
    tcp_send(&o, &k, false, 0x18, f, 150);
    tcp_close(&o, &k);
    close_out(&o);

    /* tcp_axfr: AXFR of a 100-record zone in four messages, sent in 536-byte segments. */
    o = open_pcap(dir, "tcp_axfr.pcap", L_ETH);
    k = tcp_conn(40009);
    tcp_open(&o, &k);
    qn = dns_query(q, 9, "example.com.", LDNS_RR_TYPE_AXFR, NULL);
    fn = framed(f, q, qn);
    tcp_send(&o, &k, true, 0x18, f, fn);
    {
        static char lines[40][160];
        const char *rrs[40];
        const char *soa = "A example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. "
                          "2026112301 3600 900 604800 300";
        int host = 0;
        size_t total = 0;
        for (int m = 0; m < 4; m++) {
            int n = 0;
            if (m == 0)
                rrs[n++] = soa;
            while (n < (m == 3 ? 19 : 30) + (m == 0 ? 0 : 0) && host < 98) {
                snprintf(lines[n], sizeof(lines[n]), "A host%d.example.com. 300 IN A 192.0.2.%d",
                         host, host % 250 + 1);
                rrs[n] = lines[n];
                n++;
                host++;
            }
            if (m == 3)
                rrs[n++] = soa;
            rn =
                dns_response(r, 9, "example.com.", LDNS_RR_TYPE_AXFR, 0, rrs, n, NULL, true, false);
            total += framed(f + total, r, rn);
        }
        for (size_t off = 0; off < total; off += 536)
            tcp_send(&o, &k, false, 0x18, f + off, total - off < 536 ? total - off : 536);
    }
    tcp_close(&o, &k);
    close_out(&o);
}

/* malformed.pcap: one message per malformed reason, over UDP/IPv4. */
static void fx_malformed(const char *dir)
{
    struct out o = open_pcap(dir, "malformed.pcap", L_ETH);
    static uint8_t m[2048];
    size_t n;
    uint16_t sp = 31000;

#define HDR(id, flags, qd, an, ns, ar)                                                             \
    do {                                                                                           \
        w16(m, id);                                                                                \
        w16(m + 2, flags);                                                                         \
        w16(m + 4, qd);                                                                            \
        w16(m + 6, an);                                                                            \
        w16(m + 8, ns);                                                                            \
        w16(m + 10, ar);                                                                           \
    } while (0)
    static const uint8_t www[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm', 'p', 'l',
                                  'e', 3,   'c', 'o', 'm', 0,   0,   1,   0,   1};

    /* 1 short_header: 3 bytes. */
    m[0] = 0x12;
    m[1] = 0x34;
    m[2] = 0x01;
    udp_send(&o, CLI4, SRV4, sp++, 53, m, 3);
    /* 2 truncated_question: name cut short. */
    HDR(2, 0x0100, 1, 0, 0, 0);
    memcpy(m + 12, www, 8);
    udp_send(&o, CLI4, SRV4, sp++, 53, m, 20);
    /* 3 counts_exceed_message: ANCOUNT 2, one answer present. */
    HDR(3, 0x8180, 1, 2, 0, 0);
    memcpy(m + 12, www, sizeof(www));
    n = 12 + sizeof(www);
    {
        static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 80};
        memcpy(m + n, rr, sizeof(rr));
        n += sizeof(rr);
    }
    udp_send(&o, SRV4, CLI4, 53, (uint16_t)(sp - 1), m, n);
    /* 4 truncated_rr: RDLENGTH 20, 4 bytes of rdata. */
    HDR(4, 0x8180, 1, 1, 0, 0);
    memcpy(m + 12, www, sizeof(www));
    n = 12 + sizeof(www);
    {
        static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 20, 192, 0, 2, 80};
        memcpy(m + n, rr, sizeof(rr));
        n += sizeof(rr);
    }
    udp_send(&o, SRV4, CLI4, 53, sp++, m, n);
    /* 5 label_too_long: a label length byte of 0x40 (reserved type). */
    HDR(5, 0x0100, 1, 0, 0, 0);
    m[12] = 0x40;
    memset(m + 13, 'x', 64);
    m[77] = 0;
    w16(m + 78, 1);
    w16(m + 80, 1);
    udp_send(&o, CLI4, SRV4, sp++, 53, m, 82);
    /* 6 name_too_long: five 63-byte labels (320 bytes). */
    HDR(6, 0x0100, 1, 0, 0, 0);
    n = 12;
    for (int i = 0; i < 5; i++) {
        m[n++] = 63;
        memset(m + n, 'a' + i, 63);
        n += 63;
    }
    m[n++] = 0;
    w16(m + n, 1);
    w16(m + n + 2, 1);
    n += 4;
    udp_send(&o, CLI4, SRV4, sp++, 53, m, n);
    /* 7 pointer_loop: the question name points at itself. */
    HDR(7, 0x0100, 1, 0, 0, 0);
    m[12] = 0xc0;
    m[13] = 12;
    w16(m + 14, 1);
    w16(m + 16, 1);
    udp_send(&o, CLI4, SRV4, sp++, 53, m, 18);
    /* 8 pointer_out_of_range: an answer owner pointing past the end. */
    HDR(8, 0x8180, 1, 1, 0, 0);
    memcpy(m + 12, www, sizeof(www));
    n = 12 + sizeof(www);
    {
        static const uint8_t rr[] = {0xc1, 0xff, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 80};
        memcpy(m + n, rr, sizeof(rr));
        n += sizeof(rr);
    }
    udp_send(&o, SRV4, CLI4, 53, sp++, m, n);
    /* 9 bad_opt: two OPT records. */
    HDR(9, 0x8180, 1, 0, 0, 2);
    memcpy(m + 12, www, sizeof(www));
    n = 12 + sizeof(www);
    for (int i = 0; i < 2; i++) {
        static const uint8_t opt[] = {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0};
        memcpy(m + n, opt, sizeof(opt));
        n += sizeof(opt);
    }
    udp_send(&o, SRV4, CLI4, 53, sp++, m, n);
    /* 10 trailing_data: a valid query followed by 5 bytes. */
    HDR(10, 0x0100, 1, 0, 0, 0);
    memcpy(m + 12, www, sizeof(www));
    n = 12 + sizeof(www);
    memcpy(m + n, "\xde\xad\xbe\xef\x00", 5);
    udp_send(&o, CLI4, SRV4, sp++, 53, m, n + 5);
    /* 11 capture_truncated: a response the capture cut to 70 bytes (snap length). */
    n = dns_response(m, 11, "example.com.", LDNS_RR_TYPE_MX, 0, MX_EX, 2, NULL, false, false);
    o.snap = 14 + 20 + 8 + 36;
    udp_send(&o, SRV4, CLI4, 53, sp++, m, n);
    o.snap = 0;
#undef HDR
    close_out(&o);
}

/* edns.pcap: EDNS options, DO, BADVERS (extended RCODE), Extended DNS Errors. */
static void fx_edns(const char *dir)
{
    struct out o = open_pcap(dir, "edns.pcap", L_ETH);
    static uint8_t q[1024], r[1024];
    static const uint8_t cookie_c[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t cookie_cs[24] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9,
                                          9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    static const uint8_t nsid[4] = {'n', 's', '0', '1'};
    static const uint8_t ecs[7] = {0, 1, 24, 0, 198, 51, 100};
    static const uint8_t pad[16] = {0};
    static const uint8_t ede[2] = {0, 22};
    size_t qn, rn;

    struct edns e1 = {.on = true,
                      .do_bit = true,
                      .size = 1232,
                      .nopts = 1,
                      .opt_code = {10},
                      .opt_len = {8},
                      .opt_data = {cookie_c}};
    qn = dns_query(q, 1, "www.example.com.", LDNS_RR_TYPE_A, &e1);
    udp_send(&o, CLI4, SRV4, 32001, 53, q, qn);
    struct edns e1r = {.on = true,
                       .do_bit = true,
                       .size = 1232,
                       .nopts = 2,
                       .opt_code = {10, 3},
                       .opt_len = {24, 4},
                       .opt_data = {cookie_cs, nsid}};
    rn = dns_response(r, 1, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1, &e1r, false, false);
    udp_send(&o, SRV4, CLI4, 53, 32001, r, rn);

    struct edns e2 = {
        .on = true, .size = 4096, .nopts = 1, .opt_code = {8}, .opt_len = {7}, .opt_data = {ecs}};
    qn = dns_query(q, 2, "www.example.com.", LDNS_RR_TYPE_AAAA, &e2);
    udp_send(&o, CLI4, SRV4, 32002, 53, q, qn);
    struct edns e2r = {.on = true,
                       .size = 1232,
                       .nopts = 2,
                       .opt_code = {8, 12},
                       .opt_len = {7, 16},
                       .opt_data = {ecs, pad}};
    rn = dns_response(r, 2, "www.example.com.", LDNS_RR_TYPE_AAAA, 0, AAAA_WWW, 1, &e2r, false,
                      false);
    udp_send(&o, SRV4, CLI4, 53, 32002, r, rn);

    struct edns e3 = {.on = true, .size = 1232, .version = 1};
    qn = dns_query(q, 3, "example.com.", LDNS_RR_TYPE_SOA, &e3);
    udp_send(&o, CLI4, SRV4, 32003, 53, q, qn);
    struct edns e3r = {.on = true, .size = 1232, .ext_rcode = 1}; /* BADVERS = 16 */
    rn = dns_response(r, 3, "example.com.", LDNS_RR_TYPE_SOA, 0, NULL, 0, &e3r, false, false);
    udp_send(&o, SRV4, CLI4, 53, 32003, r, rn);

    struct edns e4 = {.on = true, .size = 1232};
    qn = dns_query(q, 4, "dnssec-failed.example.", LDNS_RR_TYPE_A, &e4);
    udp_send(&o, CLI4, SRV4, 32004, 53, q, qn);
    struct edns e4r = {
        .on = true, .size = 1232, .nopts = 1, .opt_code = {15}, .opt_len = {2}, .opt_data = {ede}};
    rn = dns_response(r, 4, "dnssec-failed.example.", LDNS_RR_TYPE_A, 2, NULL, 0, &e4r, false,
                      false);
    udp_send(&o, SRV4, CLI4, 53, 32004, r, rn);

    xchg(&o, 4, 5, "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1);
    close_out(&o);
}

/* flow.pcap: transactions with known latencies and every outcome, over three windows
 * (the middle one empty). Times are exact; see tests/pcap/expect/flow for the arithmetic. */
static void q_at(struct out *o, uint64_t us, uint16_t id, uint16_t port, const char *qname)
{
    static uint8_t q[512];
    size_t qn = dns_query(q, id, qname, LDNS_RR_TYPE_A, NULL);
    o->t = 1795392000ull * 1000000000ull + us * 1000ull;
    udp_send(o, CLI4, SRV4, port, 53, q, qn);
}

static void r_at(struct out *o, uint64_t us, uint16_t id, uint16_t port, const char *qname)
{
    static uint8_t r[512];
    size_t rn = dns_response(r, id, qname, LDNS_RR_TYPE_A, 0, NULL, 0, NULL, false, false);
    o->t = 1795392000ull * 1000000000ull + us * 1000ull;
    udp_send(o, SRV4, CLI4, 53, port, r, rn);
}

static void fx_flow(const char *dir)
{
    struct out o = open_pcap(dir, "flow.pcap", L_ETH);
    const uint64_t S = 1000000; /* us per second */

    /* 20 answered: query at i s, response (i+1) * 100 us later. */
    for (uint16_t i = 0; i < 20; i++) {
        q_at(&o, i * S, (uint16_t)(100 + i), (uint16_t)(40000 + i), "www.example.com.");
        if (i == 5) /* the same query again while pending: a retransmission */
            q_at(&o, i * S + 50, (uint16_t)(100 + i), (uint16_t)(40000 + i), "www.example.com.");
        r_at(&o, i * S + (i + 1) * 100u, (uint16_t)(100 + i), (uint16_t)(40000 + i),
             "www.example.com.");
        if (i == 7) /* a second response to an answered query: a duplicate */
            r_at(&o, i * S + 1800, (uint16_t)(100 + i), (uint16_t)(40000 + i), "www.example.com.");
    }
    /* 3 queries never answered (time out at 35-37 s, noticed at 40 s). */
    for (uint16_t i = 0; i < 3; i++)
        q_at(&o, (30 + i) * S, (uint16_t)(200 + i), (uint16_t)(41000 + i), "lost.example.com.");
    /* 2 responses nobody asked for. */
    r_at(&o, 40 * S, 300, 42000, "www.example.com.");
    r_at(&o, 41 * S, 301, 42001, "www.example.com.");
    /* Same ports and TXID, another question (mismatch), then the real answer (500 us). */
    q_at(&o, 45 * S, 400, 43000, "a.example.com.");
    r_at(&o, 45 * S + 100, 400, 43000, "evil.example.com.");
    r_at(&o, 45 * S + 500, 400, 43000, "a.example.com.");
    /* Nothing in [60 s, 120 s); two answered exchanges (1 ms and 3 ms) in the third window. */
    q_at(&o, 125 * S, 500, 44000, "b.example.com.");
    r_at(&o, 125 * S + 1000, 500, 44000, "b.example.com.");
    q_at(&o, 125 * S + 500000, 501, 44001, "c.example.com.");
    r_at(&o, 125 * S + 503000, 501, 44001, "c.example.com.");
    close_out(&o);
}

/* ---- rule fixtures --------------------------------------------------------------------- */
static uint64_t T0(uint64_t us)
{
    return 1795392000ull * 1000000000ull + us * 1000ull;
}

static void udp_at(struct out *o, uint64_t us, const struct addr *s, const struct addr *d,
                   uint16_t sp, uint16_t dp, const uint8_t *m, size_t n)
{
    o->t = T0(us);
    udp_send(o, s, d, sp, dp, m, n);
}

/* poison.pcap: a resolver asks an authority for a random name; 50 forged responses with
 * wrong TXIDs race the real one, each replacing the zone's NS with glue outside the zone. */
static void fx_poison(const char *dir)
{
    struct out o = open_pcap(dir, "poison.pcap", L_ETH);
    static uint8_t q[512], r[1024];
    struct addr res = A("10.0.0.53"), auth = A("203.0.113.1");
    static const char *const forged[] = {
        "A rnd4711.example.com. 300 IN A 6.6.6.6",
        "N example.com. 300 IN NS ns.attacker.net.",
        "D ns.attacker.net. 300 IN A 6.6.6.6",
    };
    size_t n = dns_query(q, 1000, "rnd4711.example.com.", LDNS_RR_TYPE_A, NULL);

    udp_at(&o, 0, &res, &auth, 33333, 53, q, n);
    for (int i = 0; i < 50; i++) {
        n = dns_response(r, (uint16_t)(20000 + i * 97), "rnd4711.example.com.", LDNS_RR_TYPE_A, 0,
                         forged, 3, NULL, true, false);
        udp_at(&o, 100 + (uint64_t)i * 20, &auth, &res, 53, 33333, r, n);
    }
    n = dns_response(r, 1000, "rnd4711.example.com.", LDNS_RR_TYPE_A, 3, SOA_NX, 1, NULL, true,
                     false);
    udp_at(&o, 1500, &auth, &res, 53, 33333, r, n);
    close_out(&o);

    /* Near miss: five answers that arrive after their queries timed out. */
    o = open_pcap(dir, "poison_near.pcap", L_ETH);
    for (int i = 0; i < 5; i++) {
        n = dns_query(q, (uint16_t)(100 + i), "slow.example.com.", LDNS_RR_TYPE_A, NULL);
        udp_at(&o, (uint64_t)i * 1000, &res, &auth, (uint16_t)(40000 + i), 53, q, n);
    }
    for (int i = 0; i < 5; i++) {
        n = dns_response(r, (uint16_t)(100 + i), "slow.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1,
                         NULL, true, false);
        udp_at(&o, 6000000 + (uint64_t)i * 1000, &auth, &res, 53, (uint16_t)(40000 + i), r, n);
    }
    close_out(&o);
}

/* error_ratio.pcap: 10-second windows of 25 transactions to one server; SERVFAIL at 4% for
 * 8 windows, 48% for 3 windows, 4% again for 4 windows. error_ratio_low.pcap: the same shape
 * with 10 transactions a window (below min_queries = 20 in rules.ini). */
static void fx_error_ratio_one(const char *dir, const char *name, int per_window)
{
    struct out o = open_pcap(dir, name, L_ETH);
    static uint8_t q[512], r[512];
    uint16_t id = 1;

    for (int w = 0; w < 15; w++) {
        bool bad = w >= 8 && w < 11;
        int fails = bad ? per_window * 12 / 25 : 1;
        for (int i = 0; i < per_window; i++, id++) {
            uint64_t us = (uint64_t)w * 10000000 + (uint64_t)i * 300000;
            int rc = i < fails ? 2 : 0;
            size_t n = dns_query(q, id, "www.example.com.", LDNS_RR_TYPE_A, NULL);
            udp_at(&o, us, CLI4, SRV4, (uint16_t)(20000 + id), 53, q, n);
            n = dns_response(r, id, "www.example.com.", LDNS_RR_TYPE_A, (uint8_t)rc,
                             rc ? NULL : A_WWW, rc ? 0 : 1, NULL, false, false);
            udp_at(&o, us + 2000, SRV4, CLI4, 53, (uint16_t)(20000 + id), r, n);
        }
    }
    close_out(&o);
}

/* edns_fail.pcap: server .53 answers EDNS queries FORMERR and the clients fall back to plain
 * queries that work; server .54 drops OPT from its answers. edns_near.pcap: too few of each. */
static void fx_edns_fail_one(const char *dir, const char *name, int nfail, int nmissing)
{
    struct out o = open_pcap(dir, name, L_ETH);
    static uint8_t q[512], r[512];
    struct addr s2 = A("192.0.2.54");
    struct edns e = {.on = true, .size = 1232};
    uint64_t us = 0;

    for (int i = 0; i < nfail; i++, us += 100000) {
        char qn[64];
        snprintf(qn, sizeof(qn), "h%d.example.com.", i);
        size_t n = dns_query(q, (uint16_t)(100 + i), qn, LDNS_RR_TYPE_A, &e);
        udp_at(&o, us, CLI4, SRV4, (uint16_t)(30000 + i), 53, q, n);
        n = dns_response(r, (uint16_t)(100 + i), qn, LDNS_RR_TYPE_A, 1, NULL, 0, NULL, false,
                         false);
        udp_at(&o, us + 1000, SRV4, CLI4, 53, (uint16_t)(30000 + i), r, n);
        n = dns_query(q, (uint16_t)(200 + i), qn, LDNS_RR_TYPE_A, NULL);
        udp_at(&o, us + 50000, CLI4, SRV4, (uint16_t)(31000 + i), 53, q, n);
        n = dns_response(r, (uint16_t)(200 + i), qn, LDNS_RR_TYPE_A, 0, A_WWW, 1, NULL, false,
                         false);
        udp_at(&o, us + 51000, SRV4, CLI4, 53, (uint16_t)(31000 + i), r, n);
    }
    for (int i = 0; i < nmissing; i++, us += 100000) {
        size_t n = dns_query(q, (uint16_t)(300 + i), "www.example.com.", LDNS_RR_TYPE_A, &e);
        udp_at(&o, us, CLI4, &s2, (uint16_t)(32000 + i), 53, q, n);
        n = dns_response(r, (uint16_t)(300 + i), "www.example.com.", LDNS_RR_TYPE_A, 0, A_WWW, 1,
                         NULL, false, false);
        udp_at(&o, us + 1000, &s2, CLI4, 53, (uint16_t)(32000 + i), r, n);
    }
    close_out(&o);
}

/* rrsig.pcap: an authoritative server answers DNSSEC queries (DO) with signatures; those of
 * signed.example expire on 2026-11-25 (two days after the capture), those of fresh.example
 * on 2027-01-01. Only the first is within zone-expiry's 7 days. */
static void fx_rrsig(const char *dir)
{
    struct out o = open_pcap(dir, "rrsig.pcap", L_ETH);
    static uint8_t q[512], r[1024];
    struct edns e = {.on = true, .do_bit = true, .size = 1232};
    static const char *const zones[2] = {"signed.example.", "fresh.example."};
    static const char *const ends[2] = {"20261125000000", "20270101000000"};
    uint64_t us = 0;

    for (int z = 0; z < 2; z++) {
        for (int i = 0; i < 3; i++, us += 100000) {
            char qn[64], a[160], sig[320];
            const char *rrs[2] = {a, sig};
            snprintf(qn, sizeof(qn), "h%d.%s", i, zones[z]);
            snprintf(a, sizeof(a), "A %s 300 IN A 192.0.2.%d", qn, 10 + i);
            snprintf(sig, sizeof(sig),
                     "A %s 300 IN RRSIG A 13 3 300 %s 20261101000000 4711 %s "
                     "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl",
                     qn, ends[z], zones[z]);
            size_t n = dns_query(q, (uint16_t)(500 + 10 * z + i), qn, LDNS_RR_TYPE_A, &e);
            udp_at(&o, us, CLI4, SRV4, (uint16_t)(33000 + 10 * z + i), 53, q, n);
            n = dns_response(r, (uint16_t)(500 + 10 * z + i), qn, LDNS_RR_TYPE_A, 0, rrs, 2, &e,
                             true, false);
            udp_at(&o, us + 800, SRV4, CLI4, 53, (uint16_t)(33000 + 10 * z + i), r, n);
        }
    }
    close_out(&o);
}

static size_t axfr_messages(uint8_t *f, uint16_t id, const char *zone, int nmsg, bool closing)
{
    static uint8_t r[MAXF];
    static char lines[32][160];
    const char *rrs[32];
    char soa[256];
    size_t total = 0;

    snprintf(soa, sizeof(soa),
             "A %s 300 IN SOA ns1.%s hostmaster.%s 2026112301 3600 900 604800 300", zone, zone,
             zone);
    for (int m = 0; m < nmsg; m++) {
        int n = 0;
        if (m == 0)
            rrs[n++] = soa;
        for (int h = 0; h < 20; h++, n++) {
            snprintf(lines[n], sizeof(lines[n]), "A host%d.%s 300 IN A 192.0.2.%d", m * 20 + h,
                     zone, h + 1);
            rrs[n] = lines[n];
        }
        if (m == nmsg - 1 && closing)
            rrs[n++] = soa;
        size_t rn = dns_response(r, id, zone, LDNS_RR_TYPE_AXFR, 0, rrs, n, NULL, true, false);
        total += framed(f + total, r, rn);
    }
    return total;
}

/* xfr.pcap: an AXFR refused, one cut by RST, one ended by FIN without the closing SOA, and a
 * secondary polling the SOA six times in six seconds without transferring. */
static void fx_xfr(const char *dir)
{
    struct out o = open_pcap(dir, "xfr.pcap", L_ETH);
    static uint8_t q[512], r[512], f[MAXF * 2];
    struct tcpc k;
    size_t n, fn;

    k = tcp_conn(45001);
    o.t = T0(0);
    tcp_open(&o, &k);
    n = dns_query(q, 1, "example.com.", LDNS_RR_TYPE_AXFR, NULL);
    tcp_send(&o, &k, true, 0x18, f, framed(f, q, n));
    n = dns_response(r, 1, "example.com.", LDNS_RR_TYPE_AXFR, 5, NULL, 0, NULL, false, false);
    tcp_send(&o, &k, false, 0x18, f, framed(f, r, n));
    tcp_close(&o, &k);

    k = tcp_conn(45002);
    o.t = T0(1000000);
    tcp_open(&o, &k);
    n = dns_query(q, 2, "example.net.", LDNS_RR_TYPE_AXFR, NULL);
    tcp_send(&o, &k, true, 0x18, f, framed(f, q, n));
    fn = axfr_messages(f, 2, "example.net.", 3, true);
    tcp_send(&o, &k, false, 0x18, f, fn / 2); /* then the server resets */
    tcp_send(&o, &k, false, 0x14, NULL, 0);

    k = tcp_conn(45003);
    o.t = T0(2000000);
    tcp_open(&o, &k);
    n = dns_query(q, 3, "example.org.", LDNS_RR_TYPE_AXFR, NULL);
    tcp_send(&o, &k, true, 0x18, f, framed(f, q, n));
    fn = axfr_messages(f, 3, "example.org.", 2, false);
    for (size_t off = 0; off < fn; off += 1400)
        tcp_send(&o, &k, false, 0x18, f + off, fn - off < 1400 ? fn - off : 1400);
    tcp_close(&o, &k);

    for (int i = 0; i < 6; i++) {
        n = dns_query(q, (uint16_t)(10 + i), "example.org.", LDNS_RR_TYPE_SOA, NULL);
        udp_at(&o, 3000000 + (uint64_t)i * 1000000, CLI4, SRV4, (uint16_t)(46000 + i), 53, q, n);
        n = dns_response(r, (uint16_t)(10 + i), "example.org.", LDNS_RR_TYPE_SOA, 0, NULL, 0, NULL,
                         true, false);
        udp_at(&o, 3001000 + (uint64_t)i * 1000000, SRV4, CLI4, 53, (uint16_t)(46000 + i), r, n);
    }
    close_out(&o);
}

/* xfr_noanswer.pcap: an AXFR of example.edu asked over TCP and never answered; after 8 s
 * the secondary gives up and closes the connection. */
static void fx_xfr_noanswer(const char *dir)
{
    struct out o = open_pcap(dir, "xfr_noanswer.pcap", L_ETH);
    static uint8_t q[512], f[MAXF];
    struct tcpc k = tcp_conn(45010);
    size_t n;

    o.t = T0(0);
    tcp_open(&o, &k);
    n = dns_query(q, 20, "example.edu.", LDNS_RR_TYPE_AXFR, NULL);
    tcp_send(&o, &k, true, 0x18, f, framed(f, q, n));
    o.t = T0(8000000);
    tcp_send(&o, &k, true, 0x11, NULL, 0);
    tcp_send(&o, &k, false, 0x11, NULL, 0);
    tcp_send(&o, &k, true, 0x10, NULL, 0);
    close_out(&o);
}

/* amp.pcap: 30 spoofed ANY queries "from" 203.0.113.99 with a 4096-byte buffer, each
 * answered with about 1 kB; amp_near.pcap: a client with ordinary answers (factor ~3). */
static void fx_amp(const char *dir)
{
    struct out o = open_pcap(dir, "amp.pcap", L_ETH);
    static uint8_t q[512], r[4096];
    struct addr victim = A("203.0.113.99");
    struct edns e = {.on = true, .size = 4096};
    static char lines[8][400];
    const char *rrs[8];

    for (int i = 0; i < 4; i++) {
        char data[256];
        memset(data, 'k' + i, 230);
        data[230] = 0;
        snprintf(lines[i], sizeof(lines[i]), "A example.com. 300 IN TXT \"%s\"", data);
        rrs[i] = lines[i];
    }
    for (int i = 0; i < 30; i++) {
        size_t n = dns_query(q, (uint16_t)(500 + i), "example.com.", LDNS_RR_TYPE_ANY, &e);
        udp_at(&o, (uint64_t)i * 10000, &victim, SRV4, 4444, 53, q, n);
        n = dns_response(r, (uint16_t)(500 + i), "example.com.", LDNS_RR_TYPE_ANY, 0, rrs, 4, &e,
                         true, false);
        udp_at(&o, (uint64_t)i * 10000 + 500, SRV4, &victim, 53, 4444, r, n);
    }
    close_out(&o);

    o = open_pcap(dir, "amp_near.pcap", L_ETH);
    for (int i = 0; i < 60; i++) {
        size_t n = dns_query(q, (uint16_t)(600 + i), "www.example.com.", LDNS_RR_TYPE_A, &e);
        udp_at(&o, (uint64_t)i * 10000, CLI4, SRV4, (uint16_t)(5000 + i), 53, q, n);
        n = dns_response(r, (uint16_t)(600 + i), "www.example.com.", LDNS_RR_TYPE_A, 0, NS_EX, 3,
                         &e, true, false);
        udp_at(&o, (uint64_t)i * 10000 + 500, SRV4, CLI4, 53, (uint16_t)(5000 + i), r, n);
    }
    close_out(&o);
}

/* amp_low.pcap: reflection through servers that limit their answers: 80 spoofed ANY queries
 * (4096-byte buffer) "from" 203.0.113.77 to four servers, each answered with one short TXT
 * (factor about 4: the shape, not the volume, gives it away); amp_unsolicited.pcap: 200
 * large responses to 203.0.113.88 that answer no query (a forged-response flood: not
 * amplification). */
static void fx_amp_low(const char *dir)
{
    struct out o = open_pcap(dir, "amp_low.pcap", L_ETH);
    static uint8_t q[512], r[4096];
    struct addr victim = A("203.0.113.77"), other = A("203.0.113.88");
    struct addr srv[4] = {A("192.0.2.53"), A("192.0.2.54"), A("198.51.100.53"), A("198.51.100.54")};
    struct edns e = {.on = true, .size = 4096};
    static char line[400], big[4][400];
    const char *rrs[4];
    char data[256];

    memset(data, 't', 100);
    data[100] = 0;
    snprintf(line, sizeof(line), "A example.com. 300 IN TXT \"%s\"", data);
    rrs[0] = line;
    for (int i = 0; i < 80; i++) {
        const struct addr *sv = &srv[i % 4];
        size_t n = dns_query(q, (uint16_t)(700 + i), "example.com.", LDNS_RR_TYPE_ANY, &e);
        udp_at(&o, (uint64_t)i * 50000, &victim, sv, 4444, 53, q, n);
        n = dns_response(r, (uint16_t)(700 + i), "example.com.", LDNS_RR_TYPE_ANY, 0, rrs, 1, &e,
                         true, false);
        udp_at(&o, (uint64_t)i * 50000 + 500, sv, &victim, 53, 4444, r, n);
    }
    close_out(&o);

    o = open_pcap(dir, "amp_unsolicited.pcap", L_ETH);
    for (int i = 0; i < 4; i++) {
        memset(data, 'k' + i, 230);
        data[230] = 0;
        snprintf(big[i], sizeof(big[i]), "A example.com. 300 IN TXT \"%s\"", data);
        rrs[i] = big[i];
    }
    for (int i = 0; i < 200; i++) {
        size_t n = dns_response(r, (uint16_t)(900 + i), "example.com.", LDNS_RR_TYPE_ANY, 0, rrs, 4,
                                &e, true, false);
        udp_at(&o, (uint64_t)i * 20000, SRV4, &other, 53, (uint16_t)(20000 + i), r, n);
    }
    close_out(&o);
}

/* poison_lost.pcap: a resolver's upstream leg where the capture lost 60 of 300 queries
 * (kernel drops on a busy mirror): 60 responses match nothing, one per question, within 6 s.
 * Not a forgery. poison_names.pcap: the Kaminsky variant over many names: 20 trigger
 * queries for random names, each raced by 5 forged responses with wrong TXIDs. */
static void fx_poison_lost(const char *dir)
{
    struct out o = open_pcap(dir, "poison_lost.pcap", L_ETH);
    static uint8_t q[512], r[1024];
    struct addr res = A("10.0.0.53"), auth = A("203.0.113.1");
    static const char *const forged[] = {
        "A rnd.example.com. 300 IN A 6.6.6.6",
        "N example.com. 300 IN NS ns.attacker.net.",
    };
    char name[64];
    size_t n;

    for (int i = 0; i < 300; i++) {
        uint16_t id = (uint16_t)(3000 + i * 7), port = (uint16_t)(30000 + i * 13);
        uint64_t us = (uint64_t)i * 20000;
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        n = dns_query(q, id, name, LDNS_RR_TYPE_A, NULL);
        if (i % 5 != 2) /* every fifth query never reached the capture */
            udp_at(&o, us, &res, &auth, port, 53, q, n);
        n = dns_response(r, id, name, LDNS_RR_TYPE_A, 3, SOA_NX, 1, NULL, true, false);
        udp_at(&o, us + 900, &auth, &res, 53, port, r, n);
    }
    close_out(&o);

    o = open_pcap(dir, "poison_names.pcap", L_ETH);
    for (int i = 0; i < 20; i++) {
        uint64_t us = (uint64_t)i * 100000;
        uint16_t port = (uint16_t)(41000 + i * 31);
        snprintf(name, sizeof(name), "rnd%d.example.com.", 5000 + i * 17);
        n = dns_query(q, (uint16_t)(500 + i), name, LDNS_RR_TYPE_A, NULL);
        udp_at(&o, us, &res, &auth, port, 53, q, n);
        for (int k = 0; k < 5; k++) {
            n = dns_response(r, (uint16_t)(9000 + i * 50 + k), name, LDNS_RR_TYPE_A, 0, forged, 2,
                             NULL, true, false);
            udp_at(&o, us + 100 + (uint64_t)k * 30, &auth, &res, 53, port, r, n);
        }
        n = dns_response(r, (uint16_t)(500 + i), name, LDNS_RR_TYPE_A, 3, SOA_NX, 1, NULL, true,
                         false);
        udp_at(&o, us + 2000, &auth, &res, 53, port, r, n);
    }
    close_out(&o);
}

static void fixtures(const char *dir)
{
    init_addrs();
    fx_basic(dir);
    fx_link(dir, "link_vlan.pcap", L_VLAN);
    fx_link(dir, "link_qinq.pcap", L_QINQ);
    fx_link(dir, "link_sll.pcap", L_SLL);
    fx_link(dir, "link_sll2.pcap", L_SLL2);
    fx_link(dir, "link_raw.pcap", L_RAW);
    fx_link(dir, "link_null.pcap", L_NULL);
    fx_link(dir, "link_loop.pcap", L_LOOP);
    fx_link(dir, "link_ipv4.pcap", L_IPV4);
    fx_link(dir, "link_ipv6.pcap", L_IPV6);
    fx_link_unknown(dir);
    fx_formats(dir);
    fx_ipv6_ext(dir);
    fx_frag(dir);
    fx_tcp(dir);
    fx_malformed(dir);
    fx_edns(dir);
    fx_flow(dir);
    fx_poison(dir);
    fx_error_ratio_one(dir, "error_ratio.pcap", 25);
    fx_error_ratio_one(dir, "error_ratio_low.pcap", 10);
    fx_edns_fail_one(dir, "edns_fail.pcap", 4, 6);
    fx_edns_fail_one(dir, "edns_near.pcap", 2, 4);
    fx_xfr(dir);
    fx_amp(dir);
    fx_rrsig(dir);
    fx_xfr_noanswer(dir);
    fx_amp_low(dir);
    fx_poison_lost(dir); /* last: the fixtures before it keep their bytes */
}

/* ---- realistic mix (sample and benchmark) -------------------------------------------------- */
/* Proportions follow the real resolver capture described in issue 3: UDP 91% / TCP 9%,
 * IPv4 88% / IPv6 12%; A 56%, AAAA 22%, TXT 10%, PTR 3.4%, MX 2.5%; NOERROR 78%,
 * NXDOMAIN 19%, REFUSED 2%, SERVFAIL 0.5%; TC on ~5.7% of UDP responses; EDNS on about half
 * the messages, DO on about a third; two legs (client<->resolver, resolver<->authority). */
struct mix {
    struct out o;
    uint64_t packets, target;
    uint32_t names;             /* distinct base names */
    uint64_t gap_ns;            /* mean time between exchanges */
    bool unique;                /* random-subdomain flood: every query name unique */
    uint32_t servfail_permille; /* extra SERVFAIL answers (an error storm) */
};

static uint16_t pick_qtype(void)
{
    uint32_t r = rnd(1000);
    if (r < 560)
        return LDNS_RR_TYPE_A;
    if (r < 780)
        return LDNS_RR_TYPE_AAAA;
    if (r < 880)
        return LDNS_RR_TYPE_TXT;
    if (r < 914)
        return LDNS_RR_TYPE_PTR;
    if (r < 939)
        return LDNS_RR_TYPE_MX;
    if (r < 954)
        return LDNS_RR_TYPE_NS;
    if (r < 969)
        return LDNS_RR_TYPE_SOA;
    if (r < 984)
        return LDNS_RR_TYPE_HTTPS;
    if (r < 994)
        return LDNS_RR_TYPE_DS;
    return LDNS_RR_TYPE_DNSKEY;
}

static const char *const zones[] = {"example.com",  "example.net", "example.org",  "test.de",
                                    "shop.example", "cdn.example", "mail.example", "bund.example"};

static void mix_exchange(struct mix *x, uint32_t serial)
{
    static uint8_t q[4096], r[MAXF], f[MAXF];
    static char qname[300];
    static char rrline[4][700];
    const char *rrs[4];
    int nrr = 0;
    bool v6 = rnd(100) < 12, tcp = rnd(100) < 9, edns = rnd(100) < 47, dnssec = rnd(100) < 74;
    uint16_t qtype = pick_qtype();
    uint32_t rc = rnd(1000);
    uint8_t rcode = rc < 780 ? 0 : rc < 970 ? 3 : rc < 990 ? 5 : rc < 995 ? 2 : 0;
    if (x->servfail_permille && rnd(1000) < x->servfail_permille)
        rcode = 2;
    uint16_t id = (uint16_t)rng();
    const char *zone = zones[rnd(8)];
    bool tc = false;
    struct addr cli, srv;
    uint32_t leg = rnd(100);

    if (x->unique)
        snprintf(qname, sizeof(qname), "r%08x%04x.%s.", serial, (unsigned)rnd(65536), zone);
    else if (qtype == LDNS_RR_TYPE_PTR)
        snprintf(qname, sizeof(qname), "%u.%u.51.198.in-addr.arpa.", rnd(250) + 1, rnd(250));
    else
        snprintf(qname, sizeof(qname), "h%u.%s.", rnd(x->names), zone);
    /* Two legs: clients to the resolver, the resolver to authorities. */
    memset(&cli, 0, sizeof(cli));
    memset(&srv, 0, sizeof(srv));
    cli.af = srv.af = v6 ? 6 : 4;
    if (!v6) {
        if (leg < 70) {
            cli.a[0] = 10, cli.a[1] = 1, cli.a[2] = (uint8_t)rnd(16),
            cli.a[3] = (uint8_t)(rnd(250) + 1);
            srv.a[0] = 10, srv.a[1] = 0, srv.a[2] = 0, srv.a[3] = 53;
        } else {
            cli.a[0] = 192, cli.a[1] = 0, cli.a[2] = 2, cli.a[3] = 53;
            srv.a[0] = 203, srv.a[1] = 0, srv.a[2] = 113, srv.a[3] = (uint8_t)(rnd(40) + 1);
        }
    } else {
        cli = A("2001:db8:1::100");
        cli.a[15] = (uint8_t)rnd(250);
        srv = A("2001:db8::53");
    }
    if (rcode == 0) {
        int n = qtype == LDNS_RR_TYPE_TXT ? 1 + (int)rnd(3) : 1 + (int)rnd(2);
        for (int i = 0; i < n && i < 4; i++) {
            switch (qtype) {
            case LDNS_RR_TYPE_AAAA:
                snprintf(rrline[i], sizeof(rrline[i]), "A %s 300 IN AAAA 2001:db8::%x", qname,
                         rnd(65535));
                break;
            case LDNS_RR_TYPE_TXT: {
                char data[256];
                uint32_t len = rnd(100) < 3 ? 250 : 20 + rnd(60);
                for (uint32_t c = 0; c < len; c++)
                    data[c] = (char)('a' + rnd(26));
                data[len] = 0;
                snprintf(rrline[i], sizeof(rrline[i]), "A %s 300 IN TXT \"%s\"", qname, data);
                break;
            }
            case LDNS_RR_TYPE_PTR:
                snprintf(rrline[i], sizeof(rrline[i]), "A %s 300 IN PTR host%u.%s.", qname,
                         rnd(1000), zone);
                break;
            case LDNS_RR_TYPE_MX:
                snprintf(rrline[i], sizeof(rrline[i]), "A %s 300 IN MX %d mx%d.%s.", qname,
                         10 * (i + 1), i, zone);
                break;
            default:
                snprintf(rrline[i], sizeof(rrline[i]), "A %s 300 IN A 192.0.2.%u", qname,
                         rnd(250) + 1);
                break;
            }
            rrs[nrr++] = rrline[i];
        }
    } else if (rcode == 3) {
        snprintf(rrline[0], sizeof(rrline[0]),
                 "N %s. 300 IN SOA ns1.%s. hostmaster.%s. 2026112301 3600 900 604800 300", zone,
                 zone, zone);
        rrs[nrr++] = rrline[0];
    }
    if (!tcp && rcode == 0 && rnd(1000) < 57)
        tc = true; /* truncated UDP answer: the client retries over TCP */
    struct edns e = {.on = edns, .do_bit = edns && dnssec, .size = rnd(2) ? 1232 : 4096};
    size_t qn = dns_query(q, id, qname, qtype, &e);
    size_t rn =
        dns_response(r, id, qname, qtype, rcode, tc ? NULL : rrs, tc ? 0 : nrr, &e, leg >= 70, tc);
    uint16_t sport = (uint16_t)(1024 + rnd(64000));

    if (!tcp) {
        udp_send(&x->o, &cli, &srv, sport, 53, q, qn);
        udp_send(&x->o, &srv, &cli, 53, sport, r, rn);
        x->packets += 2;
        if (!tc)
            return;
        rn = dns_response(r, id, qname, qtype, rcode, rrs, nrr, &e, leg >= 70, false);
    }
    struct tcpc k = {cli, srv, sport, 53, (uint32_t)rng(), (uint32_t)rng()};
    tcp_open(&x->o, &k);
    tcp_send(&x->o, &k, true, 0x18, f, framed(f, q, qn));
    tcp_send(&x->o, &k, false, 0x18, f, framed(f, r, rn));
    tcp_close(&x->o, &k);
    x->packets += 8;
}

static void mix_file(const char *path, uint64_t packets, uint32_t names, bool unique,
                     uint64_t gap_ns)
{
    struct mix x;
    uint32_t serial = 0;

    init_addrs();
    memset(&x, 0, sizeof(x));
    x.o.w = pcapw_open_pcap(path, 1, false, false, 262144);
    if (!x.o.w)
        die(path);
    x.o.link = L_ETH;
    x.o.t = 1795392000ull * 1000000000ull;
    x.target = packets;
    x.names = names;
    x.unique = unique;
    x.gap_ns = gap_ns;
    while (x.packets < x.target) {
        mix_exchange(&x, serial++);
        x.o.t += x.gap_ns ? rnd((uint32_t)(2 * x.gap_ns / 1000)) * 1000ull : 0;
    }
    close_out(&x.o);
    fprintf(stderr, "gen: %s: %llu packets, %u exchanges\n", path, (unsigned long long)x.packets,
            serial);
}

/* A day of resolver traffic (2026-11-23, UTC) for the report: busier from 08:00 to 18:00,
 * and an error storm (40% SERVFAIL) from 14:00 to 14:45. About 320k packets. */
static void day_file(const char *path)
{
    struct mix x;
    uint32_t serial = 0;
    const uint64_t t0 = 1795392000ull * 1000000000ull, hour = 3600ull * 1000000000ull;

    init_addrs();
    memset(&x, 0, sizeof(x));
    x.o.w = pcapw_open_pcap(path, 1, false, false, 262144);
    if (!x.o.w)
        die(path);
    x.o.link = L_ETH;
    x.o.t = t0;
    x.names = 3000;
    while (x.o.t < t0 + 24 * hour) {
        uint64_t h = (x.o.t - t0) / hour, gap = h >= 8 && h < 18 ? 400000000ull : 1600000000ull;
        x.servfail_permille =
            x.o.t >= t0 + 14 * hour && x.o.t < t0 + 14 * hour + 45 * 60000000000ull ? 400 : 0;
        mix_exchange(&x, serial++);
        x.o.t += rnd((uint32_t)(2 * gap / 1000)) * 1000ull;
    }
    close_out(&x.o);
    fprintf(stderr, "gen: %s: %llu packets, %u exchanges\n", path, (unsigned long long)x.packets,
            serial);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "fixtures")) {
        fixtures(argv[2]);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "sample")) {
        mix_file(argv[2], 2000, 300, false, 250000000ull); /* ~3 minutes */
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "bench")) {
        mix_file(argv[2], strtoull(argv[3], NULL, 10), 2000000, false, 100000ull);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "day")) {
        day_file(argv[2]);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "subdomain")) {
        mix_file(argv[2], strtoull(argv[3], NULL, 10) * 2, 1, true, 100000ull);
        return 0;
    }
    fprintf(stderr, "usage: gen fixtures DIR | gen sample FILE | gen day FILE |"
                    " gen bench FILE PACKETS | gen subdomain FILE NAMES\n");
    return 2;
}
