/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/: fragment reassembly, TCP stream reassembly (framing, order,
 * retransmission, abort, eviction, time-out), link/IP decoding, and the merge of inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../capture/cap.h"
#include "../../capture/frag.h"
#include "../../capture/source.h"
#include "../../capture/tcp.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS 1000000000ull

/* ---- fragments ---------------------------------------------------------------------------- */
static struct frag_key key(uint32_t id)
{
    struct frag_key k;
    memset(&k, 0, sizeof(k));
    k.af = 4;
    k.proto = 17;
    k.src[0] = 10;
    k.dst[0] = 11;
    k.id = id;
    return k;
}

static void test_frag_order_and_overlap(void **state)
{
    struct cap_stats st = {0};
    struct frag_table *t = frag_new(4, 30 * NS, &st);
    uint8_t data[3000];
    const uint8_t *out;
    uint32_t olen;
    struct frag_key k = key(1);
    (void)state;

    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    /* 1000-byte pieces, last one first; a duplicate of the middle one. */
    assert_false(frag_add(t, &k, 1, 2000, false, data + 2000, 1000, &out, &olen));
    assert_false(frag_add(t, &k, 2, 1000, true, data + 1000, 1000, &out, &olen));
    assert_false(frag_add(t, &k, 3, 1000, true, data + 1000, 1000, &out, &olen));
    assert_true(frag_add(t, &k, 4, 0, true, data, 1000, &out, &olen));
    assert_int_equal(olen, 3000);
    assert_memory_equal(out, data, 3000);
    assert_int_equal(st.c[CAP_FRAG_REASSEMBLED], 1);
    assert_int_equal(st.c[CAP_FRAG_OVERLAP], 1);
    assert_int_equal(st.c[CAP_FRAG_FRAGMENTS], 4);
    frag_free(t);
}

static void test_frag_timeout_evict_toobig(void **state)
{
    struct cap_stats st = {0};
    struct frag_table *t = frag_new(2, 30 * NS, &st);
    uint8_t data[1024] = {0};
    const uint8_t *out;
    uint32_t olen;
    struct frag_key k1 = key(1), k2 = key(2), k3 = key(3), k4 = key(4);
    (void)state;

    assert_false(frag_add(t, &k1, 1 * NS, 0, true, data, 8, &out, &olen));
    assert_false(frag_add(t, &k2, 2 * NS, 0, true, data, 8, &out, &olen));
    /* table full: the oldest (k1) goes */
    assert_false(frag_add(t, &k3, 3 * NS, 0, true, data, 8, &out, &olen));
    assert_int_equal(st.c[CAP_FRAG_EVICTED], 1);
    /* 40 s later, k2 and k3 have timed out on packet time */
    assert_false(frag_add(t, &k4, 43 * NS, 0, true, data, 8, &out, &olen));
    assert_int_equal(st.c[CAP_FRAG_TIMEOUT], 2);
    /* a datagram beyond 64 KiB is refused */
    assert_false(frag_add(t, &k4, 44 * NS, 65528, false, data, 100, &out, &olen));
    assert_int_equal(st.c[CAP_FRAG_TOO_BIG], 1);
    frag_flush(t);
    frag_free(t);
}

/* ---- TCP ---------------------------------------------------------------------------------- */
struct got {
    int n;
    size_t len[16];
    uint8_t first[16];
    int aborted;
};

static void on_msg(void *user, const struct cap_msg *m)
{
    struct got *g = user;
    if (g->n < 16) {
        g->len[g->n] = m->len;
        g->first[g->n] = m->len ? m->data[0] : 0;
    }
    g->n++;
}

static void on_ev(void *user, const struct cap_event *ev)
{
    struct got *g = user;
    if (ev->kind == CAP_EV_TCP_ABORTED)
        g->aborted++;
}

static struct cap_meta meta(uint16_t sport, uint16_t dport, uint64_t ts)
{
    struct cap_meta m;
    memset(&m, 0, sizeof(m));
    m.af = 4;
    m.proto = 6;
    m.src[0] = sport == 53 ? 2 : 1;
    m.dst[0] = sport == 53 ? 1 : 2;
    m.sport = sport;
    m.dport = dport;
    m.ts_ns = ts;
    return m;
}

/* A stream of three framed messages of 10, 300 and 5 bytes. */
static size_t stream3(uint8_t *s)
{
    size_t o = 0;
    const size_t lens[3] = {10, 300, 5};
    for (int i = 0; i < 3; i++) {
        s[o] = (uint8_t)(lens[i] >> 8);
        s[o + 1] = (uint8_t)lens[i];
        memset(s + o + 2, 'A' + i, lens[i]);
        o += 2 + lens[i];
    }
    return o;
}

static void test_tcp_every_split(void **state)
{
    uint8_t s[400];
    size_t n = stream3(s);
    (void)state;

    /* Cut the stream at every pair of points: always the same three messages. */
    for (size_t a = 1; a < n; a += 7) {
        for (size_t b = a; b < n; b += 13) {
            struct cap_stats st = {0};
            struct got g = {0};
            struct tcp_table *t = tcp_new(4, 2, 60 * NS, &st, on_msg, on_ev, &g);
            struct cap_meta m = meta(1000, 53, NS);
            tcp_segment(t, &m, 99, TCP_SYN, NULL, 0);
            tcp_segment(t, &m, 100, TCP_ACK, s, (uint32_t)a);
            tcp_segment(t, &m, 100 + (uint32_t)a, TCP_ACK, s + a, (uint32_t)(b - a));
            tcp_segment(t, &m, 100 + (uint32_t)b, TCP_ACK, s + b, (uint32_t)(n - b));
            assert_int_equal(g.n, 3);
            assert_int_equal(g.len[0], 10);
            assert_int_equal(g.len[1], 300);
            assert_int_equal(g.len[2], 5);
            assert_int_equal(g.first[1], 'B');
            tcp_flush(t);
            assert_int_equal(g.aborted, 0);
            tcp_free(t);
        }
    }
}

static void test_tcp_reorder_retransmit(void **state)
{
    uint8_t s[400];
    size_t n = stream3(s);
    struct cap_stats st = {0};
    struct got g = {0};
    struct tcp_table *t = tcp_new(4, 2, 60 * NS, &st, on_msg, on_ev, &g);
    struct cap_meta m = meta(1000, 53, NS);
    (void)state;

    tcp_segment(t, &m, 0, TCP_SYN, NULL, 0);
    /* pieces [200,n) first, then [0,100) twice, then [50,200) overlapping */
    tcp_segment(t, &m, 1 + 200, TCP_ACK, s + 200, (uint32_t)(n - 200));
    assert_int_equal(g.n, 0);
    tcp_segment(t, &m, 1, TCP_ACK, s, 100);
    tcp_segment(t, &m, 1, TCP_ACK, s, 100);
    assert_int_equal(g.n, 1);
    tcp_segment(t, &m, 1 + 50, TCP_ACK, s + 50, 150);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.first[2], 'C');
    assert_int_equal(st.c[CAP_TCP_OOO], 1);
    assert_int_equal(st.c[CAP_TCP_RETRANS], 2);
    tcp_free(t);
}

static void test_tcp_abort_evict_timeout(void **state)
{
    uint8_t s[400];
    struct cap_stats st = {0};
    struct got g = {0};
    struct tcp_table *t = tcp_new(2, 2, 60 * NS, &st, on_msg, on_ev, &g);
    (void)state;

    stream3(s);
    /* stream A: partial message then RST */
    struct cap_meta a = meta(1001, 53, NS);
    tcp_segment(t, &a, 0, TCP_SYN, NULL, 0);
    tcp_segment(t, &a, 1, TCP_ACK, s, 20);
    tcp_segment(t, &a, 21, TCP_RST, NULL, 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.aborted, 1);
    assert_int_equal(st.c[CAP_TCP_RESET], 1);
    /* three streams into a table of two: the least recently used is evicted */
    for (uint16_t p = 2000; p < 2003; p++) {
        struct cap_meta m = meta(p, 53, 2 * NS + p);
        tcp_segment(t, &m, 0, TCP_SYN, NULL, 0);
        tcp_segment(t, &m, 1, TCP_ACK, s, 5); /* partial */
    }
    assert_int_equal(st.c[CAP_TCP_EVICTED], 1);
    assert_int_equal(g.aborted, 2);
    /* 100 s later both remaining streams time out when the next segment arrives */
    struct cap_meta late = meta(3000, 53, 200 * NS);
    tcp_segment(t, &late, 0, TCP_SYN, NULL, 0);
    assert_int_equal(st.c[CAP_TCP_TIMED_OUT], 2);
    assert_int_equal(g.aborted, 4);
    tcp_flush(t);
    tcp_free(t);
}

static void test_tcp_buffer_pool_exhausted(void **state)
{
    uint8_t s[400];
    struct cap_stats st = {0};
    struct got g = {0};
    struct tcp_table *t = tcp_new(8, 1, 60 * NS, &st, on_msg, on_ev, &g);
    (void)state;

    stream3(s);
    for (uint16_t p = 2000; p < 2002; p++) {
        struct cap_meta m = meta(p, 53, NS);
        tcp_segment(t, &m, 0, TCP_SYN, NULL, 0);
        tcp_segment(t, &m, 1, TCP_ACK, s, 5);
    }
    /* one buffer: the second partial message has nowhere to go, and says so */
    assert_int_equal(st.c[CAP_TCP_NOBUF], 1);
    assert_int_equal(st.c[CAP_TCP_GAVE_UP], 1);
    tcp_free(t);
}

/* ---- frames --------------------------------------------------------------------------------- */
static int msgs;
static void count_msg(void *user, const struct cap_msg *m)
{
    (void)user;
    (void)m;
    msgs++;
}

static void test_decode_frames(void **state)
{
    struct cap_config cfg;
    cap_decoder *d;
    /* Ethernet + IPv4 + UDP 53 with 12 bytes of payload, then 4 bytes Ethernet padding. */
    uint8_t f[14 + 20 + 8 + 12 + 4] = {0};
    (void)state;

    cap_config_defaults(&cfg);
    d = cap_decoder_new(&cfg, count_msg, NULL, NULL);
    assert_non_null(d);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = 0;
    f[17] = 40;
    f[23] = 17;
    f[34 + 1] = 53;
    f[34 + 3] = 99;
    f[34 + 5] = 20;
    msgs = 0;
    cap_decode(d, DLT_EN10MB, NS, f, sizeof(f), sizeof(f));
    assert_int_equal(msgs, 1);
    /* every shorter capture of the frame: counted, never a crash */
    for (uint32_t l = 0; l < sizeof(f); l++)
        cap_decode(d, DLT_EN10MB, NS, f, l, sizeof(f));
    /* the same frame with a bad IP version */
    f[14] = 0x55;
    cap_decode(d, DLT_EN10MB, NS, f, sizeof(f), sizeof(f));
    assert_int_equal(cap_decoder_stats(d)->c[CAP_IP_BAD_HEADER], 1);
    /* ports: 5353 only, the same UDP 53 frame is not DNS */
    assert_int_equal(cap_config_set_ports(&cfg, "5353,x"), -2);
    assert_int_equal(cap_config_set_ports(&cfg, "5353"), 0);
    assert_false(cfg.ports[53 / 8] & (1 << (53 % 8)));
    assert_int_equal(cap_decoder_stats(d)->c[CAP_PACKETS], 2 + sizeof(f));
    assert_true(cap_dlt_supported(DLT_LINUX_SLL));
    assert_false(cap_dlt_supported(147));
    cap_decoder_free(d);
}

/* ---- merge ---------------------------------------------------------------------------------- */
static void write_pcap(const char *path, const uint64_t *ts_us, int n)
{
    pcap_t *p = pcap_open_dead(DLT_RAW, 65535);
    pcap_dumper_t *w = pcap_dump_open(p, path);
    uint8_t pkt[20] = {0x45};
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        h.ts.tv_sec = (time_t)(ts_us[i] / 1000000);
        h.ts.tv_usec = (suseconds_t)(ts_us[i] % 1000000);
        h.caplen = h.len = sizeof(pkt);
        pcap_dump((u_char *)w, &h, pkt);
    }
    pcap_dump_close(w);
    pcap_close(p);
}

static void test_reader_merges_by_time(void **state)
{
    char a[] = "/tmp/dv_merge_aXXXXXX", b[] = "/tmp/dv_merge_bXXXXXX", err[256];
    const uint64_t ta[] = {1, 5, 9, 10}, tb[] = {2, 3, 11};
    cap_reader *r = cap_reader_new(NULL);
    struct cap_pkt pkt;
    uint64_t last = 0;
    int n = 0;
    (void)state;

    close(mkstemp(a));
    close(mkstemp(b));
    write_pcap(a, ta, 4);
    write_pcap(b, tb, 3);
    assert_int_equal(cap_reader_add(r, a, err, sizeof(err)), 0);
    assert_int_equal(cap_reader_add(r, b, err, sizeof(err)), 0);
    while (cap_reader_next(r, &pkt) == 1) {
        assert_true(pkt.ts_ns >= last);
        last = pkt.ts_ns;
        assert_int_equal(pkt.dlt, DLT_RAW);
        n++;
    }
    assert_int_equal(n, 7);
    assert_int_equal(last, 11000);
    assert_int_equal(cap_reader_errors(r), 0);
    assert_true(cap_reader_add(r, "/nonexistent/x.pcap", err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "/nonexistent/x.pcap"));
    cap_reader_free(r);
    unlink(a);
    unlink(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frag_order_and_overlap),
        cmocka_unit_test(test_frag_timeout_evict_toobig),
        cmocka_unit_test(test_tcp_every_split),
        cmocka_unit_test(test_tcp_reorder_retransmit),
        cmocka_unit_test(test_tcp_abort_evict_timeout),
        cmocka_unit_test(test_tcp_buffer_pool_exhausted),
        cmocka_unit_test(test_decode_frames),
        cmocka_unit_test(test_reader_merges_by_time),
    };
    return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
