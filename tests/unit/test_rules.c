/* SPDX-License-Identifier: MIT */
/* Unit tests of the rule engine and what it stands on: alerts merged by key, updated at
 * most once per update interval, closed after the quiet period of packet time (through the
 * engine's dispatcher sink, driven by xfr-failed with transfer outcomes); configuration
 * errors named with file and line; the bounded per-key table; the dispatcher's windows
 * (aligned, gaps filled with empty windows, log events counted in their window). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../analyze/dispatch.h"
#include "../../analyze/dns.h"
#include "../../analyze/flow.h"
#include "../../analyze/xfr.h"
#include "../../capture/cap.h"
#include "../../capture/srvlog.h"
#include "../../common/dnsnum.h"
#include "../../rules/config.h"
#include "../../rules/engine.h"
#include "../../rules/ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000000ull
#define T0 (1795392000ull * SEC) /* 2026-11-23T00:00:00Z */

/* ---- alerts ---- */

struct seen {
    unsigned n;
    char state[16][16], key[16][128], rule[16][32], sev[16][16];
    uint64_t last[16];
};

static void record(void *user, struct engine_alert *a)
{
    struct seen *s = user;
    if (s->n < 16) {
        snprintf(s->state[s->n], sizeof(s->state[0]), "%s", a->state);
        snprintf(s->key[s->n], sizeof(s->key[0]), "%s", a->key);
        snprintf(s->rule[s->n], sizeof(s->rule[0]), "%s", a->rule);
        snprintf(s->sev[s->n], sizeof(s->sev[0]), "%s", a->severity);
        s->last[s->n] = a->last_ns;
    }
    s->n++;
}

static void failed_xfr(struct disp_sink *sink, const char *zone, uint8_t last_octet, uint64_t ts)
{
    struct xfr_result x = {
        .outcome = XFR_FAILED,
        .why = XFR_WHY_RCODE,
        .zone = zone,
        .af = 4,
        .proto = 6,
        .client = {198, 51, 100, last_octet},
        .server = {192, 0, 2, 53},
        .qtype = DNS_T_AXFR,
        .start_ns = ts,
        .end_ns = ts,
        .rcode = DNS_R_REFUSED,
    };
    sink->on_xfr(sink->user, &x);
}

static void window_end(struct disp_sink *sink, uint64_t end_ns)
{
    struct win_stats w;
    memset(&w, 0, sizeof(w));
    w.start_ns = end_ns - 60 * SEC;
    w.end_ns = end_ns;
    sink->on_window(sink->user, &w);
}

static void test_alert_merge_update_close(void **state)
{
    static struct dv_config cfg;
    struct seen s = {0};
    struct engine_alert_sink as = {.on_alert = record, .user = &s};
    struct disp_sink sink;
    char err[256];
    struct engine *e;
    (void)state;

    config_defaults(&cfg); /* update every 60 s, close after 300 s quiet */
    e = engine_new(&cfg, err, sizeof(err));
    assert_non_null(e);
    engine_add_alert_sink(e, &as);
    engine_sink(e, &sink);
    assert_null(sink.on_frame); /* what a sink does not take is NULL */

    failed_xfr(&sink, "example.com.", 7, T0);
    failed_xfr(&sink, "example.com.", 7, T0 + 10 * SEC); /* same key, within 60 s: merged */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.state[0], "open");
    failed_xfr(&sink, "example.com.", 7, T0 + 70 * SEC); /* 70 s after the last line: update */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.state[1], "update");
    assert_int_equal(s.last[1], T0 + 70 * SEC);
    failed_xfr(&sink, "example.org.", 7, T0 + 80 * SEC); /* another key: its own alert */
    assert_int_equal(s.n, 3);
    assert_string_equal(s.state[2], "open");
    assert_int_equal(engine_alert_count(e), 2);

    /* Packet time moves on: nothing closes before 300 s of quiet, both after. */
    window_end(&sink, T0 + 300 * SEC);
    assert_int_equal(s.n, 3);
    window_end(&sink, T0 + 370 * SEC);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.state[3], "closed");
    assert_true(strstr(s.key[3], "example.com.") != NULL);
    window_end(&sink, T0 + 380 * SEC);
    assert_int_equal(s.n, 5);
    assert_true(strstr(s.key[4], "example.org.") != NULL);

    /* The same key after closing is a new alert. */
    failed_xfr(&sink, "example.com.", 7, T0 + 400 * SEC);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.state[5], "open");
    assert_int_equal(engine_alert_count(e), 3);
    engine_free(e);
}

/* ---- configuration ---- */

static int load(const char *text, char *err, size_t errlen)
{
    static struct dv_config cfg;
    char path[] = "/tmp/dv-rules-XXXXXX";
    int fd = mkstemp(path), rc;
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    rc = config_load(&cfg, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_config_errors(void **state)
{
    char err[512];
    (void)state;

    assert_int_equal(load("[site]\ninternal_networks = 10.0.0.0/8\n", err, sizeof(err)), 0);
    err[0] = 0;
    assert_true(load("[site]\ninternal_networks = 10.0.0.0/40\n", err, sizeof(err)) < 0);
    assert_true(strstr(err, ":2") != NULL); /* file:line */
    err[0] = 0;
    assert_true(load("[no-such-rule]\nenabled = true\n", err, sizeof(err)) < 0);
    assert_true(strlen(err) > 0);
    err[0] = 0;
    assert_true(load("[poison-flood]\nno_such_param = 3\n", err, sizeof(err)) < 0);
    assert_true(strstr(err, "no_such_param") != NULL);
    err[0] = 0;
    assert_true(load("[poison-flood]\nenabled = perhaps\n", err, sizeof(err)) < 0);
    assert_true(strlen(err) > 0);
    {
        static struct dv_config cfg;
        assert_true(config_load(&cfg, "/nonexistent/dnsvigil.ini", err, sizeof(err)) < 0);
        assert_true(strstr(err, "/nonexistent/dnsvigil.ini") != NULL);
    }
}

/* ---- the per-key table ---- */

static void test_ktab_bounded(void **state)
{
    struct ktab t;
    uint8_t a[4] = {192, 0, 2, 0};
    (void)state;

    assert_int_equal(ktab_init(&t, 4, sizeof(uint64_t)), 0);
    for (uint8_t i = 0; i < 4; i++) {
        struct ktab_key k;
        a[3] = i;
        k = ktab_addr_key(4, a, NULL, 0);
        uint64_t *v = ktab_get(&t, &k, true);
        assert_non_null(v);
        assert_int_equal(*v, 0); /* created zero-filled */
        *v = 100 + i;
    }
    {
        struct ktab_key k;
        a[3] = 9;
        k = ktab_addr_key(4, a, NULL, 0);
        assert_null(ktab_get(&t, &k, true)); /* full: refused, counted */
        assert_int_equal(t.refused, 1);
        a[3] = 2;
        k = ktab_addr_key(4, a, NULL, 0);
        uint64_t *v = ktab_get(&t, &k, false);
        assert_non_null(v);
        assert_int_equal(*v, 102);
        uint8_t af = 0;
        assert_memory_equal(ktab_key_addr(&k, &af), a, 4);
        assert_int_equal(af, 4);
    }
    {
        /* The extra bytes are part of the key. */
        struct ktab_key k1 = ktab_addr_key(4, a, "x", 1), k2 = ktab_addr_key(4, a, "y", 1);
        assert_memory_not_equal(&k1, &k2, sizeof(k1));
    }
    assert_int_equal(t.n, 4);
    ktab_clear(&t);
    assert_int_equal(t.n, 0);
    {
        struct ktab_key k = ktab_addr_key(4, a, NULL, 0);
        assert_null(ktab_get(&t, &k, false));
        assert_non_null(ktab_get(&t, &k, true));
    }
    ktab_free(&t);
}

/* ---- windows ---- */

struct wins {
    unsigned n;
    uint64_t start[16], end[16], log_queries[16];
};

static void on_win(void *user, const struct win_stats *w)
{
    struct wins *s = user;
    if (s->n < 16) {
        s->start[s->n] = w->start_ns;
        s->end[s->n] = w->end_ns;
        s->log_queries[s->n] = w->log_events[SL_QUERY];
    }
    s->n++;
}

static void log_query(struct dispatch *d, uint64_t ts)
{
    static struct srvlog_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = SL_QUERY;
    ev.ts_ns = ts;
    disp_log(d, &ev);
}

static void test_windows(void **state)
{
    static struct cap_stats cs;
    struct disp_config cfg;
    struct wins w = {0};
    struct disp_sink sink = {.on_window = on_win, .user = &w};
    struct dispatch *d;
    (void)state;

    disp_config_defaults(&cfg); /* 60 s windows */
    d = disp_new(&cfg, &cs);
    assert_non_null(d);
    disp_add_sink(d, &sink);
    log_query(d, T0 + 5 * SEC);
    log_query(d, T0 + 59 * SEC);
    assert_int_equal(w.n, 0);
    log_query(d, T0 + 60 * SEC); /* closes [0, 60) */
    assert_int_equal(w.n, 1);
    assert_int_equal(w.start[0], T0);
    assert_int_equal(w.end[0], T0 + 60 * SEC);
    assert_int_equal(w.log_queries[0], 2);
    log_query(d, T0 + 250 * SEC); /* [60,120) with one, then two empty windows */
    assert_int_equal(w.n, 4);
    assert_int_equal(w.log_queries[1], 1);
    assert_int_equal(w.start[2], T0 + 120 * SEC);
    assert_int_equal(w.log_queries[2], 0);
    assert_int_equal(w.start[3], T0 + 180 * SEC);
    disp_time(d, T0 + 100 * SEC); /* time never goes back */
    assert_int_equal(w.n, 4);
    disp_finish(d); /* the last window [240, 300) */
    assert_int_equal(w.n, 5);
    assert_int_equal(w.start[4], T0 + 240 * SEC);
    assert_int_equal(w.log_queries[4], 1);
    disp_free(d);
}

/* ---- error-ratio on a short capture ---- */

/* n transactions to 192.0.2.53 in the window that ends at end_ns, bad of them with rcode. */
static void txns(struct disp_sink *sink, uint64_t end_ns, unsigned n, unsigned bad, uint8_t rcode)
{
    struct cap_meta meta = {.af = 4, .proto = 17, .src = {192, 0, 2, 53}, .dst = {198, 51, 100, 7}};
    struct dns_msg m;
    struct flow_txn t;
    for (unsigned i = 0; i < n; i++) {
        memset(&m, 0, sizeof(m));
        m.has_header = m.qr = true;
        m.rcode = i < bad ? rcode : DNS_R_NOERROR;
        memset(&t, 0, sizeof(t));
        t.outcome = FLOW_ANSWERED;
        t.af = 4;
        t.proto = 17;
        memcpy(t.server, meta.src, 4);
        memcpy(t.client, meta.dst, 4);
        t.query_ns = end_ns - 50 * SEC + i * 1000;
        t.response_ns = meta.ts_ns = t.query_ns + 1000;
        t.response = &m;
        t.resp_meta = &meta;
        sink->on_txn(sink->user, &t);
    }
    window_end(sink, end_ns);
}

static unsigned count_rule(const struct seen *s, const char *rule, const char *key)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n && i < 16; i++)
        n += !strcmp(s->rule[i], rule) && (!key || !strcmp(s->key[i], key));
    return n;
}

/* Site settings engine_for takes over the defaults. */
static struct {
    bool internal_set;
} engine_site;

/* An engine with the default configuration whose alerts go to s; its sink in sink. */
static struct engine *engine_for(struct seen *s, struct engine_alert_sink *as,
                                 struct disp_sink *sink)
{
    static struct dv_config cfg;
    char err[256];
    struct engine *e;
    bool internal_set = engine_site.internal_set;
    config_defaults(&cfg);
    cfg.internal_set = internal_set;
    e = engine_new(&cfg, err, sizeof(err));
    assert_non_null(e);
    *as = (struct engine_alert_sink){.on_alert = record, .user = s};
    engine_add_alert_sink(e, as);
    engine_sink(e, sink);
    return e;
}

/* Before five windows are learned: SERVFAIL from 1% to 34% in the second minute fires
 * (against the prior); clean minutes do not; an NXDOMAIN flood in start-up is not learned,
 * so the same flood after learning still fires. */
static void test_error_ratio_startup(void **state)
{
    struct seen s = {0};
    struct engine_alert_sink as;
    struct disp_sink sink;
    struct engine *e = engine_for(&s, &as, &sink);
    (void)state;

    txns(&sink, T0 + 60 * SEC, 300, 3, DNS_R_SERVFAIL);
    assert_int_equal(count_rule(&s, "error-ratio", NULL), 0);
    txns(&sink, T0 + 120 * SEC, 300, 102, DNS_R_SERVFAIL);
    assert_int_equal(count_rule(&s, "error-ratio", "192.0.2.53"), 1);
    engine_free(e);

    memset(&s, 0, sizeof(s));
    e = engine_for(&s, &as, &sink);
    txns(&sink, T0 + 60 * SEC, 300, 270, DNS_R_NXDOMAIN); /* start-up outlier */
    for (unsigned w = 2; w <= 6; w++)
        txns(&sink, T0 + w * 60 * SEC, 300, 30, DNS_R_NXDOMAIN);
    assert_int_equal(count_rule(&s, "error-ratio", NULL), 0);
    txns(&sink, T0 + 7 * 60 * SEC, 300, 270, DNS_R_NXDOMAIN);
    assert_int_equal(count_rule(&s, "error-ratio", "192.0.2.53"), 1);
    engine_free(e);
}

/* ---- xfr-failed: SOA polling is one peer and one server ---- */

static void soa_query(struct disp_sink *sink, uint8_t server_octet, uint64_t ts)
{
    struct cap_meta meta = {.af = 4, .proto = 17, .src = {192, 0, 2, server_octet}};
    static const uint8_t qname[] = "\x07"
                                   "example"
                                   "\x03"
                                   "org";
    struct dns_msg m;
    struct flow_txn t;
    memset(&m, 0, sizeof(m));
    m.has_header = m.qr = m.has_question = m.has_qtype = true;
    memcpy(m.qname_buf, qname, sizeof(qname));
    m.qname = m.qname_buf;
    m.qname_len = sizeof(qname);
    m.qtype = DNS_T_SOA;
    m.qclass = 1;
    memset(&t, 0, sizeof(t));
    t.outcome = FLOW_ANSWERED;
    t.af = 4;
    t.proto = 17;
    t.qtype = DNS_T_SOA;
    t.qhash = flow_question_hash(&m);
    memcpy(t.server, meta.src, 4);
    memcpy(t.client, (uint8_t[]){198, 51, 100, 9}, 4);
    t.query_ns = ts;
    t.response_ns = meta.ts_ns = ts + 1000;
    t.response = &m;
    t.resp_meta = &meta;
    sink->on_txn(sink->user, &t);
}

/* dig or a monitor asking six servers for the SOA once each (twice in a minute) is no
 * secondary; six polls of one server without a transfer are. */
static void test_xfr_soa_polling(void **state)
{
    struct seen s = {0};
    struct engine_alert_sink as;
    struct disp_sink sink;
    struct engine *e = engine_for(&s, &as, &sink);
    (void)state;

    for (int round = 0; round < 2; round++)
        for (uint8_t srv = 1; srv <= 6; srv++)
            soa_query(&sink, srv, T0 + (uint64_t)(round * 20 + srv) * SEC);
    window_end(&sink, T0 + 60 * SEC);
    assert_int_equal(count_rule(&s, "xfr-failed", NULL), 0);
    for (int i = 0; i < 6; i++)
        soa_query(&sink, 1, T0 + (uint64_t)(70 + i * 5) * SEC);
    window_end(&sink, T0 + 120 * SEC);
    assert_int_equal(count_rule(&s, "xfr-failed", NULL), 1);
    assert_non_null(strstr(s.key[0], "192.0.2.1"));
    engine_free(e);
}

/* ---- version-disclosure ---- */

/* A response to NAME CLASS TXT from 192.0.2.<srv> to to[4] whose answer is the string txt. */
static void chaos_answer(struct disp_sink *sink, uint8_t srv, const uint8_t to[4], uint16_t qclass,
                         const char *txt)
{
    static uint8_t w[256];
    static const uint8_t qn[] = "\x07version\x04"
                                "bind";
    struct cap_meta meta = {.af = 4, .proto = 17, .ts_ns = T0, .src = {192, 0, 2, srv}};
    struct dns_msg m;
    size_t o = 12, tl = strlen(txt);
    memcpy(w, "\x12\x34\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00", 12);
    memcpy(w + o, qn, sizeof(qn));
    o += sizeof(qn);
    w[o++] = 0, w[o++] = 16, w[o++] = 0, w[o++] = (uint8_t)qclass;
    w[o++] = 0xc0, w[o++] = 12, w[o++] = 0, w[o++] = 16, w[o++] = 0, w[o++] = (uint8_t)qclass;
    w[o++] = 0, w[o++] = 0, w[o++] = 0, w[o++] = 0, w[o++] = 0, w[o++] = (uint8_t)(tl + 1);
    w[o++] = (uint8_t)tl;
    memcpy(w + o, txt, tl);
    o += tl;
    memcpy(meta.dst, to, 4);
    dns_decode(w, o, false, &m);
    assert_true(m.rrs_ok);
    sink->on_message(sink->user, &m, &meta);
}

/* Disclosed to an outside client: high; to an internal one: warning; class IN or an empty
 * string: nothing. */
static void test_version_disclosure(void **state)
{
    struct seen s = {0};
    struct engine_alert_sink as;
    struct disp_sink sink;
    struct engine *e = engine_for(&s, &as, &sink);
    static const uint8_t outside[4] = {203, 0, 113, 5}, inside[4] = {10, 0, 0, 9};
    (void)state;

    chaos_answer(&sink, 1, outside, DNS_C_CH, "9.18.1");
    chaos_answer(&sink, 2, inside, DNS_C_CH, "NSD 4.6.1");
    chaos_answer(&sink, 3, outside, DNS_C_IN, "9.18.1");
    chaos_answer(&sink, 4, outside, DNS_C_CH, "");
    assert_int_equal(count_rule(&s, "version-disclosure", NULL), 2);
    assert_int_equal(count_rule(&s, "version-disclosure", "192.0.2.1|version.bind."), 1);
    assert_int_equal(count_rule(&s, "version-disclosure", "192.0.2.2|version.bind."), 1);
    assert_string_equal(s.sev[0], "high");
    assert_string_equal(s.sev[1], "warning");
    engine_free(e);
}

/* ---- open-resolver ---- */

enum rshape { R_ANSWER, R_REFUSED, R_REFERRAL, R_AUTH };

/* An answered transaction: 192.0.2.<srv> answers www.example.org A to cli in one shape. */
static void rec_answer(struct disp_sink *sink, uint8_t srv, const uint8_t cli[4], enum rshape sh)
{
    static uint8_t w[256];
    static const uint8_t qn[] = "\x03www\x07"
                                "example\x03"
                                "org";
    struct cap_meta meta = {.af = 4, .proto = 17, .ts_ns = T0, .src = {192, 0, 2, srv}};
    struct dns_msg m;
    struct flow_txn t;
    size_t o = 12;
    /* QR RD RA (+AA); REFUSED or NOERROR; one answer or one authority NS */
    memcpy(w, "\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    if (sh == R_AUTH)
        w[2] |= 0x04;
    if (sh == R_REFUSED)
        w[3] |= 5;
    memcpy(w + o, qn, sizeof(qn));
    o += sizeof(qn);
    w[o++] = 0, w[o++] = 1, w[o++] = 0, w[o++] = 1;
    if (sh == R_ANSWER || sh == R_AUTH) {
        w[7] = 1;
        memcpy(w + o, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x50", 16);
        o += 16;
    } else if (sh == R_REFERRAL) {
        w[9] = 1; /* example.org NS www.example.org */
        memcpy(w + o, "\xc0\x10\x00\x02\x00\x01\x00\x00\x00\x3c\x00\x02\xc0\x0c", 14);
        o += 14;
    }
    memcpy(meta.dst, cli, 4);
    dns_decode(w, o, false, &m);
    assert_true(m.rrs_ok);
    memset(&t, 0, sizeof(t));
    t.outcome = FLOW_ANSWERED;
    t.af = 4;
    t.proto = 17;
    memcpy(t.server, meta.src, 4);
    memcpy(t.client, cli, 4);
    t.query_ns = T0;
    t.response_ns = meta.ts_ns = T0 + 1000;
    t.response = &m;
    t.resp_meta = &meta;
    sink->on_txn(sink->user, &t);
}

/* Recursion for an outside client: high; REFUSED, a referral, an authoritative answer or
 * an internal client: nothing; without internal_networks in the config: nothing. */
static void test_open_resolver(void **state)
{
    struct seen s = {0};
    struct engine_alert_sink as;
    struct disp_sink sink;
    struct engine *e = engine_for(&s, &as, &sink);
    static const uint8_t outside[4] = {203, 0, 113, 5}, inside[4] = {10, 0, 0, 9};
    (void)state;

    rec_answer(&sink, 1, outside, R_ANSWER); /* defaults only: not judged */
    assert_int_equal(count_rule(&s, "open-resolver", NULL), 0);
    engine_free(e);

    memset(&s, 0, sizeof(s));
    engine_site.internal_set = true;
    e = engine_for(&s, &as, &sink);
    rec_answer(&sink, 1, outside, R_ANSWER);
    rec_answer(&sink, 2, outside, R_REFUSED);
    rec_answer(&sink, 3, outside, R_REFERRAL);
    rec_answer(&sink, 4, outside, R_AUTH);
    rec_answer(&sink, 5, inside, R_ANSWER);
    assert_int_equal(count_rule(&s, "open-resolver", NULL), 1);
    assert_int_equal(count_rule(&s, "open-resolver", "192.0.2.1"), 1);
    assert_string_equal(s.sev[0], "high");
    engine_free(e);
    engine_site.internal_set = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_merge_update_close),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_ktab_bounded),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_error_ratio_startup),
        cmocka_unit_test(test_xfr_soa_polling),
        cmocka_unit_test(test_version_disclosure),
        cmocka_unit_test(test_open_resolver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
