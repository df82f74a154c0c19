/* SPDX-License-Identifier: MIT */
/* Zero-copy DNS message view: header, first question, section boundaries, OPT (EDNS0)
 * and its options, found by one bounds-checked walk over the wire bytes. The view points
 * into the caller's buffer and is valid only as long as that buffer is. Malformed messages
 * are input, not errors: dns_decode() records the first reason and keeps every field it
 * could establish. This file does not judge traffic (that is rules/). */
#ifndef DV_ANALYZE_DNS_H
#define DV_ANALYZE_DNS_H

#include "../common/dnsnum.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_MAX_NAME 255 /* RFC 1035 3.1: wire length of a name, root included */
#define DNS_MAX_LABEL 63
#define DNS_MAX_EDE 4 /* Extended DNS Error codes kept per message */

/* Reasons a message is malformed, in the order the walk can find them. */
enum dns_malformed {
    DNS_MAL_NONE = 0,
    DNS_MAL_SHORT_HEADER,       /* fewer than 12 bytes */
    DNS_MAL_TRUNCATED_QUESTION, /* question runs past the end */
    DNS_MAL_COUNTS_EXCEED,      /* section counts claim more records than the message holds */
    DNS_MAL_TRUNCATED_RR,       /* an RR header or its rdata runs past the end */
    DNS_MAL_LABEL_TOO_LONG,     /* label longer than 63, or reserved label type 0x40/0x80 */
    DNS_MAL_NAME_TOO_LONG,      /* name longer than 255 octets */
    DNS_MAL_POINTER_LOOP,       /* compression pointer that does not point strictly backward */
    DNS_MAL_BAD_POINTER,        /* compression pointer beyond the message */
    DNS_MAL_BAD_OPT,           /* OPT not in additional, several OPT, non-root owner, bad options */
    DNS_MAL_TRAILING_DATA,     /* bytes after the last record */
    DNS_MAL_CAPTURE_TRUNCATED, /* cut short by the capture's snap length, not by the sender */
    DNS_MAL_COUNT
};

/* EDNS option codes the view recognises (IANA "DNS EDNS0 Option Codes"). */
enum dns_edns_opt {
    DNS_OPT_NSID = 3,
    DNS_OPT_ECS = 8,
    DNS_OPT_COOKIE = 10,
    DNS_OPT_KEEPALIVE = 11,
    DNS_OPT_PADDING = 12,
    DNS_OPT_EDE = 15,
};

/* Bits of dns_msg.edns_opts. */
#define DNS_EOPT_NSID (1u << 0)
#define DNS_EOPT_ECS (1u << 1)
#define DNS_EOPT_COOKIE (1u << 2)
#define DNS_EOPT_KEEPALIVE (1u << 3)
#define DNS_EOPT_PADDING (1u << 4)
#define DNS_EOPT_EDE (1u << 5)
#define DNS_EOPT_OTHER (1u << 6)

enum dns_section { DNS_SEC_ANSWER = 0, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

struct dns_msg {
    const uint8_t *wire; /* the message (view) */
    size_t len;
    enum dns_malformed malformed; /* first problem found, DNS_MAL_NONE if well formed */

    /* Header: valid when has_header. */
    bool has_header;
    uint16_t id;
    uint16_t flags; /* raw flags word */
    bool qr, aa, tc, rd, ra, ad, cd;
    uint8_t opcode;
    uint16_t rcode; /* 4-bit header RCODE, extended by OPT (RFC 6891 6.1.3) when has_opt */
    uint16_t qdcount, ancount, nscount, arcount;

    /* First question: valid when has_question. qname is the uncompressed wire form.
     * has_qtype is also true when the name is invalid (loop, too long) but the type and
     * class behind its in-place bytes could still be read, as other decoders count them. */
    bool has_question;
    bool has_qtype;
    const uint8_t *qname; /* into the wire when the name is not compressed, else qname_buf */
    uint8_t qname_len;    /* bytes in qname, root label included */
    bool qname_in_wire;   /* qname points at offset 12 of the wire */
    uint8_t qname_labels;
    uint16_t qtype, qclass;

    /* Offsets of the three RR sections (valid when rrs_ok) and the end of the last RR. */
    bool rrs_ok;
    uint32_t sec_off[3];
    uint32_t end_off;

    /* EDNS(0) from the OPT record (RFC 6891 6.1). */
    bool has_opt;
    uint16_t edns_udp_size;
    uint8_t edns_version;
    bool edns_do;
    uint8_t edns_ext_rcode;
    uint32_t edns_opts; /* DNS_EOPT_* bits */
    uint8_t ede_count;
    uint16_t ede[DNS_MAX_EDE]; /* Extended DNS Error INFO-CODEs (RFC 8914) */

    /* TSIG (RFC 8945): present as the last additional record. */
    bool has_tsig;
    uint16_t tsig_error;

    /* Last, so that a message whose name is used in place never touches these bytes. */
    uint8_t qname_buf[DNS_MAX_NAME];
};

/* One resource record, as handed out by the iterator. name_off indexes msg->wire. */
struct dns_rr {
    enum dns_section section;
    uint32_t name_off;
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata; /* view into the message */
    uint32_t rdata_off;
};

struct dns_rr_iter {
    const struct dns_msg *msg;
    uint32_t off;
    uint32_t left[3];
    int sec;
};

/* Decodes len bytes at wire into *m (fully overwritten). Never reads outside
 * [wire, wire+len). capture_truncated says the capture cut the packet short: a message
 * that runs off its end is then counted as DNS_MAL_CAPTURE_TRUNCATED. */
void dns_decode(const uint8_t *wire, size_t len, bool capture_truncated, struct dns_msg *m);

/* Walks the (possibly compressed) name at off. On success stores the offset just past the
 * name's in-place bytes in *next, the uncompressed wire form in out (if not NULL, at least
 * DNS_MAX_NAME bytes) and its length in *out_len; returns DNS_MAL_NONE or the reason. */
enum dns_malformed dns_name_walk(const uint8_t *wire, size_t len, size_t off, size_t *next,
                                 uint8_t *out, size_t *out_len);

/* Writes the presentation form ("www.example.com.") of an uncompressed wire name of
 * wlen bytes into buf (size bufsz, always NUL-terminated, escaped per RFC 4343 for dots,
 * backslashes and non-printables). Returns the string length. */
size_t dns_name_to_str(const uint8_t *name, size_t wlen, char *buf, size_t bufsz);

/* Starts an iterator over all RRs of a message whose rrs_ok is true. */
void dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *m);

/* Stores the next RR in *rr and returns true, or false at the end. */
bool dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr);

/* SOA rdata of rr: stores serial, refresh, retry, expire, minimum in t[0..4]; false if the
 * rdata is not a well-formed SOA. */
bool dns_soa_fields(const struct dns_msg *m, const struct dns_rr *rr, uint32_t t[5]);

/* Stable snake_case name of a malformed reason (used as JSON key). */
const char *dns_malformed_name(enum dns_malformed reason);

#endif
