/* SPDX-License-Identifier: MIT */
/* The per-packet DNS decode: one walk over header, question and every RR boundary, through
 * the bounds-checked reader only. Chosen over ldns_wire2pkt by the benchmark (README,
 * "Performance"): it allocates nothing and runs in a fraction of the time. */
#include "dns.h"

#include "../common/rd.h"

#include <string.h>

#define PTR_MASK 0xc0

enum dns_malformed dns_name_walk(const uint8_t *wire, size_t len, size_t off, size_t *next,
                                 uint8_t *out, size_t *out_len)
{
    size_t pos = off;
    size_t seg_start = off; /* start of the run of labels being read */
    size_t total = 0;       /* wire length of the name so far */
    bool jumped = false;

    for (;;) {
        uint8_t c;

        if (pos >= len)
            return DNS_MAL_TRUNCATED_QUESTION; /* caller maps to its own context */
        c = wire[pos];
        if ((c & PTR_MASK) == PTR_MASK) {
            size_t target;

            if (pos + 1 >= len)
                return DNS_MAL_TRUNCATED_QUESTION;
            target = ((size_t)(c & 0x3f) << 8) | wire[pos + 1];
            if (!jumped) {
                *next = pos + 2;
                jumped = true;
            }
            if (target >= len)
                return DNS_MAL_BAD_POINTER;
            /* Every legitimate pointer refers to a name written earlier, so it points before
             * the run it ends. Requiring that makes every walk terminate (no loop). */
            if (target >= seg_start)
                return DNS_MAL_POINTER_LOOP;
            pos = target;
            seg_start = target;
            continue;
        }
        if (c & PTR_MASK)
            return DNS_MAL_LABEL_TOO_LONG; /* 0x40/0x80: reserved label types (RFC 6891 5) */
        if (total + c + 1 > DNS_MAX_NAME)
            return DNS_MAL_NAME_TOO_LONG;
        if (pos + 1 + c > len)
            return DNS_MAL_TRUNCATED_QUESTION;
        if (out)
            memcpy(out + total, wire + pos, (size_t)c + 1);
        total += (size_t)c + 1;
        pos += (size_t)c + 1;
        if (c == 0)
            break;
    }
    if (!jumped)
        *next = pos;
    if (out_len)
        *out_len = total;
    return DNS_MAL_NONE;
}

/* Finds the end of a name's in-place bytes (up to a pointer or the root label) without
 * following pointers or checking the total length. Returns false if that runs off the end
 * or meets a reserved label type. */
static bool name_skip_inplace(const uint8_t *wire, size_t len, size_t off, size_t *next)
{
    while (off < len) {
        uint8_t c = wire[off];
        if ((c & PTR_MASK) == PTR_MASK) {
            *next = off + 2;
            return off + 2 <= len;
        }
        if (c & PTR_MASK)
            return false;
        off += (size_t)c + 1;
        if (c == 0) {
            *next = off;
            return true;
        }
    }
    return false;
}

/* A name that ran off the end is a truncated question or RR, depending on where it is. */
static enum dns_malformed name_reason(enum dns_malformed r, enum dns_malformed trunc)
{
    return r == DNS_MAL_TRUNCATED_QUESTION ? trunc : r;
}

static void decode_opt_options(struct dns_msg *m, const uint8_t *rdata, uint16_t rdlen)
{
    struct rd r;

    rd_init(&r, rdata, rdlen);
    while (rd_left(&r) > 0) {
        uint16_t code = rd_u16be(&r);
        uint16_t olen = rd_u16be(&r);
        const uint8_t *od = rd_bytes(&r, olen);

        if (!od && olen > 0) {
            if (m->malformed == DNS_MAL_NONE)
                m->malformed = DNS_MAL_BAD_OPT;
            return;
        }
        if (r.fail) {
            if (m->malformed == DNS_MAL_NONE)
                m->malformed = DNS_MAL_BAD_OPT;
            return;
        }
        switch (code) {
        case DNS_OPT_NSID:
            m->edns_opts |= DNS_EOPT_NSID;
            break;
        case DNS_OPT_ECS:
            m->edns_opts |= DNS_EOPT_ECS;
            break;
        case DNS_OPT_COOKIE:
            m->edns_opts |= DNS_EOPT_COOKIE;
            break;
        case DNS_OPT_KEEPALIVE:
            m->edns_opts |= DNS_EOPT_KEEPALIVE;
            break;
        case DNS_OPT_PADDING:
            m->edns_opts |= DNS_EOPT_PADDING;
            break;
        case DNS_OPT_EDE:
            m->edns_opts |= DNS_EOPT_EDE;
            /* RFC 8914 2: INFO-CODE (16 bits) then optional text. */
            if (olen >= 2 && m->ede_count < DNS_MAX_EDE)
                m->ede[m->ede_count++] = (uint16_t)((od[0] << 8) | od[1]);
            break;
        default:
            m->edns_opts |= DNS_EOPT_OTHER;
            break;
        }
    }
}

static void note_opt(struct dns_msg *m, int sec, size_t name_off, uint16_t rclass, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen)
{
    /* RFC 6891 6.1.1: one OPT, in the additional section, owned by the root. */
    if (m->has_opt || sec != DNS_SEC_ADDITIONAL || m->wire[name_off] != 0) {
        if (m->malformed == DNS_MAL_NONE)
            m->malformed = DNS_MAL_BAD_OPT;
        if (m->has_opt)
            return;
    }
    m->has_opt = true;
    m->edns_udp_size = rclass;
    m->edns_ext_rcode = (uint8_t)(ttl >> 24);
    m->edns_version = (uint8_t)(ttl >> 16);
    m->edns_do = (ttl & 0x8000u) != 0;
    decode_opt_options(m, rdata, rdlen);
}

void dns_decode(const uint8_t *wire, size_t len, bool capture_truncated, struct dns_msg *m)
{
    struct rd r;
    size_t next = 0, qlen = 0;
    enum dns_malformed reason;
    uint32_t counts[3];

    m->wire = wire;
    m->len = len;
    m->malformed = DNS_MAL_NONE;
    m->has_header = m->has_question = m->has_qtype = m->rrs_ok = false;
    m->has_opt = m->has_tsig = false;
    m->edns_opts = 0;
    m->ede_count = 0;
    m->qname = m->qname_buf;
    m->qname_len = 0;
    m->qname_labels = 0;
    m->qname_in_wire = false;
    m->rcode = 0;
    m->end_off = 0;
    /* Fields whose has_* flag is false still read as zero, not as the previous message. */
    m->qtype = m->qclass = 0;
    m->edns_udp_size = 0;
    m->edns_version = m->edns_ext_rcode = 0;
    m->edns_do = false;
    m->tsig_error = 0;

    rd_init(&r, wire, len);
    if (len < DNS_HDR_LEN) {
        /* No header: every header field reads as zero/false, never as what the previous
         * message left in *m (callers that test m->qr before has_header stay defined). */
        m->id = m->flags = 0;
        m->qr = m->aa = m->tc = m->rd = m->ra = m->ad = m->cd = false;
        m->opcode = 0;
        m->qdcount = m->ancount = m->nscount = m->arcount = 0;
        m->malformed = capture_truncated ? DNS_MAL_CAPTURE_TRUNCATED : DNS_MAL_SHORT_HEADER;
        return;
    }
    m->id = rd_u16be(&r);
    m->flags = rd_u16be(&r);
    m->qdcount = rd_u16be(&r);
    m->ancount = rd_u16be(&r);
    m->nscount = rd_u16be(&r);
    m->arcount = rd_u16be(&r);
    m->has_header = true;
    m->qr = (m->flags & 0x8000) != 0;
    m->opcode = (uint8_t)((m->flags >> 11) & 0xf);
    m->aa = (m->flags & 0x0400) != 0;
    m->tc = (m->flags & 0x0200) != 0;
    m->rd = (m->flags & 0x0100) != 0;
    m->ra = (m->flags & 0x0080) != 0;
    m->ad = (m->flags & 0x0020) != 0;
    m->cd = (m->flags & 0x0010) != 0;
    m->rcode = m->flags & 0xf;

    /* Question section: the first question is decoded, any further ones only skipped. */
    for (unsigned i = 0; i < m->qdcount; i++) {
        if (r.off >= len) {
            reason = DNS_MAL_COUNTS_EXCEED;
            goto bad;
        }
        if (i == 0) {
            /* Fast path: an uncompressed name is used in place, labels counted on the way. */
            size_t p = r.off, total = 0;
            unsigned labels = 0;
            while (p < len && wire[p] != 0 && wire[p] <= DNS_MAX_LABEL) {
                total += (size_t)wire[p] + 1;
                p += (size_t)wire[p] + 1;
                labels++;
            }
            if (p < len && wire[p] == 0 && total + 1 <= DNS_MAX_NAME) {
                m->qname = wire + r.off;
                m->qname_len = (uint8_t)(total + 1);
                m->qname_labels = (uint8_t)labels;
                m->qname_in_wire = true;
                next = p + 1;
                reason = DNS_MAL_NONE;
            } else {
                reason = dns_name_walk(wire, len, r.off, &next, m->qname_buf, &qlen);
                if (reason == DNS_MAL_NONE) {
                    m->qname = m->qname_buf;
                    m->qname_len = (uint8_t)qlen;
                    for (size_t q = 0; q < qlen && m->qname[q]; q += (size_t)m->qname[q] + 1)
                        m->qname_labels++;
                }
            }
        } else {
            reason = dns_name_walk(wire, len, r.off, &next, NULL, NULL);
        }
        if (reason != DNS_MAL_NONE) {
            size_t end;
            if (i == 0 && name_skip_inplace(wire, len, r.off, &end) && end + 4 <= len) {
                m->qtype = (uint16_t)((wire[end] << 8) | wire[end + 1]);
                m->qclass = (uint16_t)((wire[end + 2] << 8) | wire[end + 3]);
                m->has_qtype = true;
            }
            reason = name_reason(reason, DNS_MAL_TRUNCATED_QUESTION);
            goto bad;
        }
        r.off = next;
        if (rd_left(&r) < 4) {
            reason = DNS_MAL_TRUNCATED_QUESTION;
            goto bad;
        }
        if (i == 0) {
            m->qtype = rd_u16be(&r);
            m->qclass = rd_u16be(&r);
            m->has_question = true;
            m->has_qtype = true;
        } else {
            rd_skip(&r, 4);
        }
    }

    /* Label starts of the validated question name (its suffixes are valid names too), found
     * on the first RR owner that is a pointer: an owner pointing at one needs no walk. */
    uint16_t qlab_off[8];
    int nqlab = -1;

    counts[0] = m->ancount;
    counts[1] = m->nscount;
    counts[2] = m->arcount;
    for (int sec = 0; sec < 3; sec++) {
        m->sec_off[sec] = (uint32_t)r.off;
        for (uint32_t i = 0; i < counts[sec]; i++) {
            size_t name_off = r.off;
            uint16_t type, rclass, rdlen;
            uint32_t ttl;
            const uint8_t *rdata;

            if (r.off >= len) {
                reason = DNS_MAL_COUNTS_EXCEED;
                goto bad;
            }
            if (r.off + 1 < len && (wire[r.off] & PTR_MASK) == PTR_MASK) {
                size_t target = ((size_t)(wire[r.off] & 0x3f) << 8) | wire[r.off + 1];
                int k = 0;
                if (nqlab < 0) {
                    nqlab = 0;
                    for (size_t q = 0; m->has_question && m->qname_in_wire && q < m->qname_len &&
                                       m->qname[q] != 0 && nqlab < 8;
                         q += (size_t)m->qname[q] + 1)
                        qlab_off[nqlab++] = (uint16_t)(DNS_HDR_LEN + q);
                }
                while (k < nqlab && qlab_off[k] != target)
                    k++;
                if (k < nqlab) {
                    r.off += 2; /* a pointer to a validated label start: valid, no walk */
                    goto fixed;
                }
            }
            reason = dns_name_walk(wire, len, r.off, &next, NULL, NULL);
            if (reason != DNS_MAL_NONE) {
                reason = name_reason(reason, DNS_MAL_TRUNCATED_RR);
                goto bad;
            }
            r.off = next;
        fixed:
            /* One bounds check for the fixed part and one for the RDATA. */
            if (len - r.off < 10) {
                reason = DNS_MAL_TRUNCATED_RR;
                goto bad;
            }
            {
                const uint8_t *f = wire + r.off;
                type = (uint16_t)((f[0] << 8) | f[1]);
                rclass = (uint16_t)((f[2] << 8) | f[3]);
                ttl =
                    ((uint32_t)f[4] << 24) | ((uint32_t)f[5] << 16) | ((uint32_t)f[6] << 8) | f[7];
                rdlen = (uint16_t)((f[8] << 8) | f[9]);
            }
            r.off += 10;
            if (len - r.off < rdlen) {
                reason = DNS_MAL_TRUNCATED_RR;
                goto bad;
            }
            rdata = wire + r.off;
            r.off += rdlen;
            if (type == DNS_T_OPT) {
                note_opt(m, sec, name_off, rclass, ttl, rdata, rdlen);
            } else if (type == DNS_T_TSIG && sec == DNS_SEC_ADDITIONAL && i + 1 == counts[sec]) {
                /* RFC 8945 4.2: TSIG rdata = alg name, time(48) fudge(16) mac(len+data)
                 * orig-id(16) error(16) other(len+data). */
                size_t an = 0;
                if (dns_name_walk(rdata, rdlen, 0, &an, NULL, NULL) == DNS_MAL_NONE &&
                    an + 10 <= rdlen) {
                    size_t macl = ((size_t)rdata[an + 8] << 8) | rdata[an + 9];
                    size_t eo = an + 10 + macl + 2;
                    if (eo + 2 <= rdlen) {
                        m->has_tsig = true;
                        m->tsig_error = (uint16_t)((rdata[eo] << 8) | rdata[eo + 1]);
                    }
                }
            }
        }
    }
    m->end_off = (uint32_t)r.off;
    m->rrs_ok = true;
    if (m->has_opt)
        m->rcode = (uint16_t)(((unsigned)m->edns_ext_rcode << 4) | (m->flags & 0xf));
    if (r.off != len && m->malformed == DNS_MAL_NONE)
        m->malformed = DNS_MAL_TRAILING_DATA;
    return;

bad:
    /* A message cut by the snap length ran off its end because of the capture. */
    if (capture_truncated &&
        (reason == DNS_MAL_TRUNCATED_QUESTION || reason == DNS_MAL_TRUNCATED_RR ||
         reason == DNS_MAL_COUNTS_EXCEED || reason == DNS_MAL_BAD_POINTER))
        reason = DNS_MAL_CAPTURE_TRUNCATED;
    m->malformed = reason;
}

void dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *m)
{
    it->msg = m;
    it->off = m->sec_off[0];
    it->left[0] = m->ancount;
    it->left[1] = m->nscount;
    it->left[2] = m->arcount;
    it->sec = 0;
}

bool dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr)
{
    const struct dns_msg *m = it->msg;
    struct rd r;
    size_t next = 0;

    if (!m->rrs_ok)
        return false;
    while (it->sec < 3 && it->left[it->sec] == 0)
        it->sec++;
    if (it->sec >= 3)
        return false;
    if (dns_name_walk(m->wire, m->len, it->off, &next, NULL, NULL) != DNS_MAL_NONE)
        return false;
    rd_init(&r, m->wire, m->len);
    r.off = next;
    rr->section = (enum dns_section)it->sec;
    rr->name_off = it->off;
    rr->type = rd_u16be(&r);
    rr->rclass = rd_u16be(&r);
    rr->ttl = rd_u32be(&r);
    rr->rdlen = rd_u16be(&r);
    rr->rdata_off = (uint32_t)r.off;
    rr->rdata = rd_bytes(&r, rr->rdlen);
    if (r.fail)
        return false;
    it->off = (uint32_t)r.off;
    it->left[it->sec]--;
    return true;
}

size_t dns_name_to_str(const uint8_t *name, size_t wlen, char *buf, size_t bufsz)
{
    size_t o = 0, p = 0;

    if (bufsz == 0)
        return 0;
    while (p < wlen && name[p] != 0) {
        size_t l = name[p++];
        for (size_t i = 0; i < l && p < wlen; i++, p++) {
            uint8_t c = name[p];
            char tmp[5];
            size_t n;
            if (c == '.' || c == '\\' || c == '"') {
                tmp[0] = '\\';
                tmp[1] = (char)c;
                n = 2;
            } else if (c <= 0x20 || c >= 0x7f) {
                tmp[0] = '\\';
                tmp[1] = (char)('0' + c / 100);
                tmp[2] = (char)('0' + (c / 10) % 10);
                tmp[3] = (char)('0' + c % 10);
                n = 4;
            } else {
                tmp[0] = (char)c;
                n = 1;
            }
            if (o + n + 1 >= bufsz)
                goto out;
            memcpy(buf + o, tmp, n);
            o += n;
        }
        if (o + 2 >= bufsz)
            goto out;
        buf[o++] = '.';
    }
    if (o == 0 && bufsz > 1)
        buf[o++] = '.';
out:
    buf[o] = '\0';
    return o;
}

const char *dns_malformed_name(enum dns_malformed reason)
{
    static const char *const names[DNS_MAL_COUNT] = {
        [DNS_MAL_NONE] = "none",
        [DNS_MAL_SHORT_HEADER] = "short_header",
        [DNS_MAL_TRUNCATED_QUESTION] = "truncated_question",
        [DNS_MAL_COUNTS_EXCEED] = "counts_exceed_message",
        [DNS_MAL_TRUNCATED_RR] = "truncated_rr",
        [DNS_MAL_LABEL_TOO_LONG] = "label_too_long",
        [DNS_MAL_NAME_TOO_LONG] = "name_too_long",
        [DNS_MAL_POINTER_LOOP] = "pointer_loop",
        [DNS_MAL_BAD_POINTER] = "pointer_out_of_range",
        [DNS_MAL_BAD_OPT] = "bad_opt",
        [DNS_MAL_TRAILING_DATA] = "trailing_data",
        [DNS_MAL_CAPTURE_TRUNCATED] = "capture_truncated",
    };
    if ((unsigned)reason >= DNS_MAL_COUNT)
        return "unknown";
    return names[reason];
}

bool dns_soa_fields(const struct dns_msg *m, const struct dns_rr *rr, uint32_t t[5])
{
    size_t next = rr->rdata_off, len, end = (size_t)rr->rdata_off + rr->rdlen;
    uint8_t buf[DNS_MAX_NAME];

    if (end > m->len || rr->type != DNS_T_SOA)
        return false;
    for (int i = 0; i < 2; i++) /* MNAME, RNAME */
        if (dns_name_walk(m->wire, end, next, &next, buf, &len) != DNS_MAL_NONE)
            return false;
    if (next + 20 > end)
        return false;
    for (int i = 0; i < 5; i++) {
        const uint8_t *p = m->wire + next + 4 * (size_t)i;
        t[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return true;
}
