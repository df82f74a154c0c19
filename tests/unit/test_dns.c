/* SPDX-License-Identifier: MIT */
/* Unit tests of the DNS message view (analyze/dns.c): messages built by ldns must decode to
 * what ldns put in; hand-broken messages must report the right malformed reason and never
 * read outside the buffer (the sanitizer build checks that). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../analyze/dns.h"

#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

static size_t build(uint8_t *out, size_t cap, const char *qname, ldns_rr_type t, bool resp,
                    const char *const *answers, int n, uint16_t udp, bool do_bit, uint8_t ext)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), t, LDNS_RR_CLASS_IN, LDNS_RD);
    uint8_t *w = NULL;
    size_t len = 0;

    assert_non_null(p);
    ldns_pkt_set_id(p, 0xbeef);
    if (resp) {
        ldns_pkt_set_qr(p, true);
        ldns_pkt_set_ra(p, true);
    }
    for (int i = 0; i < n; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, answers[i], 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    if (udp) {
        ldns_pkt_set_edns_udp_size(p, udp);
        ldns_pkt_set_edns_do(p, do_bit);
        ldns_pkt_set_edns_extended_rcode(p, ext);
    }
    assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
    assert_true(len <= cap);
    memcpy(out, w, len);
    free(w);
    ldns_pkt_free(p);
    return len;
}

static void test_query_fields(void **state)
{
    uint8_t buf[512];
    struct dns_msg m;
    char name[300];
    size_t n = build(buf, sizeof(buf), "www.Example.com.", LDNS_RR_TYPE_AAAA, false, NULL, 0, 1232,
                     true, 0);
    (void)state;

    dns_decode(buf, n, false, &m);
    assert_int_equal(m.malformed, DNS_MAL_NONE);
    assert_true(m.has_header && m.has_question && m.rrs_ok);
    assert_int_equal(m.id, 0xbeef);
    assert_false(m.qr);
    assert_true(m.rd);
    assert_int_equal(m.qtype, LDNS_RR_TYPE_AAAA);
    assert_int_equal(m.qclass, 1);
    assert_int_equal(m.qname_labels, 3);
    assert_int_equal(m.qname_len, 17);
    dns_name_to_str(m.qname, m.qname_len, name, sizeof(name));
    assert_string_equal(name, "www.Example.com.");
    assert_true(m.has_opt);
    assert_int_equal(m.edns_udp_size, 1232);
    assert_true(m.edns_do);
    assert_int_equal(m.edns_version, 0);
}

static void test_response_rrs(void **state)
{
    static const char *const ans[] = {"www.example.com. 300 IN CNAME web.example.com.",
                                      "web.example.com. 60 IN A 192.0.2.1",
                                      "web.example.com. 60 IN A 192.0.2.2"};
    uint8_t buf[512], owner[DNS_MAX_NAME];
    struct dns_msg m;
    struct dns_rr_iter it;
    struct dns_rr rr;
    size_t n =
        build(buf, sizeof(buf), "www.example.com.", LDNS_RR_TYPE_A, true, ans, 3, 0, false, 0);
    size_t next, olen;
    char s[300];
    int count = 0;
    (void)state;

    dns_decode(buf, n, false, &m);
    assert_int_equal(m.malformed, DNS_MAL_NONE);
    assert_true(m.qr && m.ra);
    assert_int_equal(m.ancount, 3);
    assert_false(m.has_opt);
    dns_rr_iter_init(&it, &m);
    while (dns_rr_next(&it, &rr)) {
        assert_int_equal(rr.section, DNS_SEC_ANSWER);
        assert_int_equal(dns_name_walk(m.wire, m.len, rr.name_off, &next, owner, &olen),
                         DNS_MAL_NONE);
        dns_name_to_str(owner, olen, s, sizeof(s));
        if (count == 0) {
            assert_int_equal(rr.type, LDNS_RR_TYPE_CNAME);
            assert_string_equal(s, "www.example.com.");
            assert_int_equal(rr.ttl, 300);
        } else {
            assert_int_equal(rr.type, LDNS_RR_TYPE_A);
            assert_string_equal(s, "web.example.com.");
            assert_int_equal(rr.rdlen, 4);
            assert_int_equal(rr.rdata[3], count);
        }
        count++;
    }
    assert_int_equal(count, 3);
}

static void test_extended_rcode(void **state)
{
    uint8_t buf[512];
    struct dns_msg m;
    size_t n =
        build(buf, sizeof(buf), "example.com.", LDNS_RR_TYPE_SOA, true, NULL, 0, 1232, false, 1);
    (void)state;

    dns_decode(buf, n, false, &m);
    assert_true(m.has_opt);
    assert_int_equal(m.rcode, 16); /* BADVERS: ext 1 << 4 | 0 */
    assert_string_equal(dns_rcode_name(m.rcode), "BADVERS");
}

/* Every prefix of a valid message decodes without reading past it, and any prefix shorter
 * than the whole is reported malformed. */
static void test_every_prefix(void **state)
{
    static const char *const ans[] = {"example.com. 300 IN MX 10 mx.example.com."};
    uint8_t buf[512];
    size_t n =
        build(buf, sizeof(buf), "example.com.", LDNS_RR_TYPE_MX, true, ans, 1, 4096, true, 0);
    (void)state;

    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches any overread */
        struct dns_msg m;
        memcpy(copy, buf, len);
        dns_decode(copy, len, false, &m);
        assert_int_not_equal(m.malformed, DNS_MAL_NONE);
        dns_decode(copy, len, true, &m);
        if (len >= DNS_HDR_LEN)
            assert_int_equal(m.malformed, DNS_MAL_CAPTURE_TRUNCATED);
        free(copy);
    }
}

static void hdr(uint8_t *m, uint16_t qd, uint16_t an, uint16_t ar)
{
    memset(m, 0, 12);
    m[5] = (uint8_t)qd;
    m[7] = (uint8_t)an;
    m[11] = (uint8_t)ar;
}

static void test_malformed_reasons(void **state)
{
    uint8_t m[600] = {0};
    struct dns_msg d;
    (void)state;

    dns_decode(m, 5, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_SHORT_HEADER);
    assert_false(d.has_header);

    /* pointer to itself */
    hdr(m, 1, 0, 0);
    m[12] = 0xc0;
    m[13] = 12;
    memset(m + 14, 0, 4);
    dns_decode(m, 18, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_POINTER_LOOP);
    assert_true(d.has_qtype);
    assert_false(d.has_question);

    /* two pointers pointing at each other: 12 -> 14 is forward, rejected */
    m[12] = 0xc0;
    m[13] = 14;
    m[14] = 0xc0;
    m[15] = 12;
    dns_decode(m, 20, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_POINTER_LOOP);

    /* label -> pointer back into the same label run: loop */
    m[12] = 1;
    m[13] = 'a';
    m[14] = 0xc0;
    m[15] = 12;
    dns_decode(m, 20, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_POINTER_LOOP);

    /* pointer beyond the end */
    m[12] = 0xc1;
    m[13] = 0x00;
    dns_decode(m, 18, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_BAD_POINTER);

    /* reserved label type 0x80 */
    m[12] = 0x80;
    dns_decode(m, 18, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_LABEL_TOO_LONG);

    /* 256-byte name: four 63-byte labels (256 with root) */
    size_t o = 12;
    for (int i = 0; i < 4; i++) {
        m[o++] = 63;
        memset(m + o, 'x', 63);
        o += 63;
    }
    m[o++] = 0;
    memset(m + o, 0, 4);
    dns_decode(m, o + 4, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_NAME_TOO_LONG);
    /* 255 exactly is fine: 3 x (1 + 63) + (1 + 61) + root = 255 */
    m[12 + 3 * 64] = 61;
    m[12 + 3 * 64 + 62] = 0;
    dns_decode(m, 12 + 255 + 4, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_NONE);
    assert_int_equal(d.qname_len, 255);

    /* qdcount 2 with one question present */
    hdr(m, 2, 0, 0);
    m[12] = 0;
    memset(m + 13, 0, 4);
    m[14] = 1;
    dns_decode(m, 17, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_COUNTS_EXCEED);
    assert_true(d.has_question);

    /* OPT in the answer section */
    hdr(m, 0, 1, 0);
    {
        static const uint8_t opt[] = {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0};
        memcpy(m + 12, opt, sizeof(opt));
        dns_decode(m, 12 + sizeof(opt), false, &d);
        assert_int_equal(d.malformed, DNS_MAL_BAD_OPT);
    }
    /* OPT option running past its rdata */
    hdr(m, 0, 0, 1);
    {
        static const uint8_t opt[] = {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 6, 0, 10, 0, 8, 1, 2};
        memcpy(m + 12, opt, sizeof(opt));
        dns_decode(m, 12 + sizeof(opt), false, &d);
        assert_int_equal(d.malformed, DNS_MAL_BAD_OPT);
    }
    /* trailing bytes */
    hdr(m, 0, 0, 0);
    dns_decode(m, 14, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_TRAILING_DATA);
}

static void test_names(void **state)
{
    static const uint8_t n1[] = {3, 'a', '.', 'b', 2, 0x01, 'c', 0};
    char s[64];
    (void)state;

    dns_name_to_str(n1, sizeof(n1), s, sizeof(s));
    assert_string_equal(s, "a\\.b.\\001c.");
    dns_name_to_str((const uint8_t *)"\0", 1, s, sizeof(s));
    assert_string_equal(s, ".");
    /* a tiny buffer truncates before an escape it cannot hold whole, always terminated */
    dns_name_to_str(n1, sizeof(n1), s, 4);
    assert_string_equal(s, "a");
    assert_string_equal(dns_malformed_name(DNS_MAL_POINTER_LOOP), "pointer_loop");
    assert_string_equal(dns_opcode_name(5), "UPDATE");
    assert_null(dns_rcode_name(12));
}

static void test_edns_options(void **state)
{
    /* OPT with COOKIE(8), NSID(0), EDE(code 18 + text), an unknown option 65001 */
    uint8_t m[128];
    struct dns_msg d;
    size_t o = 12;
    static const uint8_t opt[] = {0, 0, 41, 0x10, 0x00, 0, 0,  0x80, 0,   0,    28,   0, 10,
                                  0, 8, 1,  2,    3,    4, 5,  6,    7,   8,    0,    3, 0,
                                  0, 0, 15, 0,    4,    0, 18, 'h',  'i', 0xfd, 0xe9, 0, 0};
    (void)state;

    hdr(m, 0, 0, 1);
    m[2] = 0x80;
    memcpy(m + o, opt, sizeof(opt));
    o += sizeof(opt);
    dns_decode(m, o, false, &d);
    assert_int_equal(d.malformed, DNS_MAL_NONE);
    assert_true(d.has_opt);
    assert_int_equal(d.edns_udp_size, 4096);
    assert_true(d.edns_do);
    assert_true(d.edns_opts & DNS_EOPT_COOKIE);
    assert_true(d.edns_opts & DNS_EOPT_NSID);
    assert_true(d.edns_opts & DNS_EOPT_EDE);
    assert_true(d.edns_opts & DNS_EOPT_OTHER);
    assert_false(d.edns_opts & DNS_EOPT_ECS);
    assert_int_equal(d.ede_count, 1);
    assert_int_equal(d.ede[0], 18);
}

/* A view reused for the next message (the flow thread's ring slots are) must not keep the
 * previous message's header, question or EDNS fields where the new one has none. */
static void test_no_stale_fields(void **state)
{
    static const char *const ans[] = {"www.example.com. 60 IN A 192.0.2.1"};
    uint8_t buf[512];
    struct dns_msg m;
    size_t n =
        build(buf, sizeof(buf), "www.example.com.", LDNS_RR_TYPE_A, true, ans, 1, 4096, true, 0);
    (void)state;

    memset(&m, 0xbe, sizeof(m)); /* what a recycled slot may hold */
    dns_decode(buf, n, false, &m);
    assert_true(m.qr && m.has_opt && m.edns_do);
    dns_decode(buf, 7, false, &m); /* a short header */
    assert_false(m.has_header);
    assert_false(m.qr || m.aa || m.tc || m.rd || m.ra || m.ad || m.cd);
    assert_int_equal(m.id, 0);
    assert_int_equal(m.ancount, 0);
    assert_int_equal(m.qtype, 0);
    assert_false(m.has_opt || m.edns_do);
    assert_int_equal(m.edns_udp_size, 0);
    buf[5] = 0; /* qdcount 0: a header without a question */
    dns_decode(buf, 12, false, &m);
    assert_true(m.has_header && !m.has_qtype);
    assert_int_equal(m.qtype, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_fields),      cmocka_unit_test(test_response_rrs),
        cmocka_unit_test(test_extended_rcode),    cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_malformed_reasons), cmocka_unit_test(test_names),
        cmocka_unit_test(test_edns_options),      cmocka_unit_test(test_no_stale_fields),
    };
    return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
