/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/srvlog.c on lines as Debian 12's BIND 9.18, Unbound 1.17, NSD 4.6
 * and Knot 3.2 wrote them in tests/sys/logs.sh, plus their syslog forms: the event kind,
 * zone, peer, serial, time stamp (with the year rule for syslog), and what is skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../capture/srvlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
    return (uint64_t)timegm(&tm) * 1000000000ull;
}

static srvlog *open_tmp(const char *text, enum srvlog_format f)
{
    char path[] = "/tmp/dv-srvlog-XXXXXX";
    char err[256];
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    srvlog *l;
    fputs(text, fp);
    fclose(fp);
    l = srvlog_open(path, f, err, sizeof(err));
    unlink(path);
    return l;
}

struct want {
    const char *line;
    int kind; /* -1: no event */
    const char *zone, *peer;
    int64_t serial;
};

static void check_lines(const struct want *w, size_t n)
{
    srvlog *l = open_tmp("", SRVLOG_AUTO);
    assert_non_null(l);
    for (size_t i = 0; i < n; i++) {
        struct srvlog_event ev;
        bool got = srvlog_parse_line(l, w[i].line, &ev);
        if (w[i].kind < 0) {
            if (got)
                fail_msg("line %zu gave %s: %s", i, srvlog_kind_name(ev.kind), w[i].line);
            continue;
        }
        if (!got)
            fail_msg("line %zu gave no event: %s", i, w[i].line);
        if ((int)ev.kind != w[i].kind)
            fail_msg("line %zu: %s, want %s", i, srvlog_kind_name(ev.kind),
                     srvlog_kind_name((enum srvlog_kind)w[i].kind));
        if (w[i].zone)
            assert_string_equal(ev.zone, w[i].zone);
        if (w[i].peer)
            assert_string_equal(ev.peer, w[i].peer);
        if (w[i].serial)
            assert_int_equal(ev.serial, w[i].serial);
    }
    srvlog_close(l);
}

static void test_bind(void **state)
{
    static const struct want w[] = {
        {"24-Nov-2026 00:26:26.986 xfer-in: info: transfer of 'example.test/IN' from "
         "127.0.0.1#20712: Transfer status: success",
         SL_XFR_OK, "example.test.", "127.0.0.1#20712", 0},
        {"24-Nov-2026 00:26:26.986 xfer-in: info: zone example.test/IN: transferred serial "
         "2026112301",
         SL_ZONE_LOADED, "example.test.", NULL, 2026112301},
        {"24-Nov-2026 00:26:27.450 general: info: zone refused.test/IN: refresh: unexpected rcode "
         "(SERVFAIL) from primary 127.0.0.1#20712 (source 0.0.0.0#0)",
         SL_REFRESH_FAILED, "refused.test.", "127.0.0.1#20712", 0},
        {"24-Nov-2026 00:28:27.454 general: warning: zone example.test/IN: expired",
         SL_ZONE_EXPIRED, "example.test.", NULL, 0},
        {"24-Nov-2026 00:26:34.850 queries: info: client @0x7f5e666ea098 127.0.0.1#54702 "
         "(www.example.test): query: www.example.test IN A +E(0)K (127.0.0.1)",
         SL_QUERY, NULL, "127.0.0.1#54702", 0},
        {"24-Nov-2026 00:26:35.042 xfer-out: info: client @0x7f5e666ed898 127.0.0.1#36387 "
         "(example.test): transfer of 'example.test/IN': AXFR started (serial 2026112301)",
         SL_XFR_OUT, "example.test.", NULL, 0},
        {"24-Nov-2026 00:26:35.042 security: error: client @0x7f5e 192.0.2.9#5353 (example.test): "
         "zone transfer 'example.test/AXFR/IN' denied",
         SL_XFR_DENIED, "example.test.", "192.0.2.9#5353", 0},
        {"24-Nov-2026 00:26:26.982 xfer-in: info: zone example.test/IN: Transfer started.", -1,
         NULL, NULL, 0},
        {"24-Nov-2026 00:26:27.100 xfer-in: error: transfer of 'refused.test/IN' from "
         "127.0.0.1#20712: failed while receiving responses: REFUSED",
         -1, NULL, NULL, 0},
        {"24-Nov-2026 00:26:27.100 xfer-in: info: transfer of 'refused.test/IN' from "
         "127.0.0.1#20712: Transfer status: REFUSED",
         SL_XFR_FAILED, "refused.test.", "127.0.0.1#20712", 0},
        {"24-Nov-2026 00:26:26.978 notify: info: client @0x7f5e 127.0.0.1#42275: received notify "
         "for zone 'example.test'",
         -1, NULL, NULL, 0},
        /* syslog form */
        {"Nov 24 00:28:27 ns2 named[812]: zone example.test/IN: expired", SL_ZONE_EXPIRED,
         "example.test.", NULL, 0},
    };
    (void)state;
    check_lines(w, sizeof(w) / sizeof(w[0]));
}

static void test_nsd_knot_unbound(void **state)
{
    static const struct want w[] = {
        {"[2026-11-24 00:26:26.987] nsd[24238]: error: xfrd: zone refused.test received error "
         "code REFUSED from 127.0.0.1@20712",
         SL_XFR_FAILED, "refused.test.", "127.0.0.1@20712", 0},
        {"[2026-11-24 00:26:26.987] nsd[24238]: info: xfrd: zone example.test committed "
         "\"received update to serial 2026112301 at 2026-11-24T00:26:26 from 127.0.0.1@20712\"",
         SL_XFR_OK, "example.test.", "127.0.0.1@20712", 2026112301},
        {"[2026-11-24 00:26:55.018] nsd[24238]: error: example.test: Could not tcp connect to "
         "127.0.0.1@20712: Connection refused",
         SL_REFRESH_FAILED, "example.test.", "127.0.0.1@20712", 0},
        {"[2026-11-24 00:28:26.058] nsd[24238]: error: xfrd: zone example.test has expired",
         SL_ZONE_EXPIRED, "example.test.", NULL, 0},
        {"[2026-11-24 00:26:26.987] nsd[24249]: info: axfr for refused.test. from 127.0.0.1 "
         "refused, no acl matches",
         SL_XFR_DENIED, "refused.test.", "127.0.0.1", 0},
        {"2026-11-24T00:27:09+0000 info: [example.test.] AXFR, incoming, remote 127.0.0.1@30156, "
         "finished, 0.00 seconds, 1 messages, 158 bytes",
         SL_XFR_OK, "example.test.", "127.0.0.1@30156", 0},
        {"2026-11-24T00:27:09+0000 warning: [refused.test.] AXFR, incoming, remote "
         "127.0.0.1@30156, server responded with error 'REFUSED'",
         SL_XFR_FAILED, "refused.test.", "127.0.0.1@30156", 0},
        {"2026-11-24T00:27:09+0000 info: [example.test.] refresh, remote 127.0.0.1@30156, zone "
         "updated, 0.04 seconds, serial none -> 2026112301, expires in 120 seconds",
         SL_ZONE_EXPIRES_IN, "example.test.", NULL, 2026112301},
        {"2026-11-24T00:28:24+0000 info: [example.test.] refresh, remote primary, address "
         "127.0.0.1@30156, failed (connection reset)",
         SL_REFRESH_FAILED, "example.test.", "127.0.0.1@30156", 0},
        {"2026-11-24T00:29:09+0000 info: [example.test.] zone expired", SL_ZONE_EXPIRED,
         "example.test.", NULL, 0},
        {"[1795479994] unbound[24240:0] info: 127.0.0.1 www.example.test. A IN", SL_QUERY, NULL,
         "127.0.0.1", 0},
        {"[1795479994] unbound[24240:0] info: 127.0.0.1 nx1.example.test. A IN NXDOMAIN 0.000000 1 "
         "104",
         SL_REPLY, NULL, "127.0.0.1", 0},
        {"Nov 24 00:26:27 unbound[24240:0] info: 127.0.0.1 www.lab.test. A IN", SL_QUERY, NULL,
         "127.0.0.1", 0},
        {"Nov 24 00:26:27 host sshd[1]: Accepted publickey for root", -1, NULL, NULL, 0},
        {"garbage without a time stamp", -1, NULL, NULL, 0},
    };
    (void)state;
    check_lines(w, sizeof(w) / sizeof(w[0]));
}

static void test_times_and_counts(void **state)
{
    struct srvlog_event ev;
    srvlog *l;
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    l = open_tmp("[1795479994] unbound[1:0] info: 127.0.0.1 a.test. A IN\n"
                 "2026-11-24T01:27:09+0100 info: [x.test.] zone expired\n"
                 "24-Nov-2026 00:26:26.250 general: warning: zone y.test/IN: expired\n"
                 "Nov 24 00:26:27 ns named[1]: zone z.test/IN: expired\n"
                 "24-Nov-2026 00:26:26.250 general: info: zone y.test/IN: something new\n"
                 "Nov 24 00:26:27 host cron[2]: job\n",
                 SRVLOG_AUTO);
    assert_non_null(l);
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_true(ev.ts_ns == 1795479994ull * 1000000000ull);
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_true(ev.ts_ns == utc(2026, 11, 24, 0, 27, 9)); /* +0100 */
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_true(ev.ts_ns == utc(2026, 11, 24, 0, 26, 26) + 250000000ull);
    assert_int_equal(srvlog_next(l, &ev), 1);
    /* The file was written now (2026): the syslog line without a year gets the file's year,
     * one less if that would put it more than a day after the file. */
    assert_true(ev.ts_ns == utc(2026, 11, 24, 0, 26, 27) ||
                ev.ts_ns == utc(2025, 11, 24, 0, 26, 27));
    assert_int_equal(srvlog_next(l, &ev), 0);
    assert_int_equal(srvlog_lines(l), 6);
    assert_int_equal(srvlog_skips(l)[SL_SKIP_UNPARSED], 1);
    assert_int_equal(srvlog_skips(l)[SL_SKIP_OTHER_PROGRAM], 1);
    assert_non_null(strstr(srvlog_unparsed_sample(l), "something new"));
    srvlog_close(l);
    assert_true(srvlog_sniff("24-Nov-2026 00:26:26.250 general: info: x", 40));
    assert_false(srvlog_sniff("hello world", 11));
}

/* Syslog as Debian 12's rsyslog writes it (RFC 3339 stamps), RFC 5424 records, and a file
 * whose first lines come from other programs: recognised as a log, events parsed, each
 * naming the host that wrote it (or the file without a syslog host). */
static void test_syslog_forms(void **state)
{
    static const char text[] =
        "2026-11-23T20:07:30.000001+00:00 vm rsyslogd: [origin software=\"rsyslogd\"] start\n"
        "2026-11-23T20:07:31.132392+00:00 vm systemd[1]: Started unbound.service.\n"
        "2026-11-23T20:07:36.132392+00:00 vm unbound[24186]: [24186:0] info: 127.0.0.1 "
        "www.example.test. A IN\n"
        "2026-11-23T20:07:36.232392+01:00 vm unbound[24186]: [24186:0] info: 127.0.0.1 "
        "www.example.test. A IN NOERROR 0.000000 1 104\n"
        "<30>1 2026-11-23T20:08:37.5Z ns1 named 123 - [meta sequenceId=\"1\"] zone "
        "example.test/IN: refresh: failure trying primary 192.0.2.1#53 (source 0.0.0.0#0): "
        "operation canceled\n"
        "1 2026-11-23T20:08:38Z - named - - - zone example.test/IN: expired\n"
        "Nov 23 20:09:00 vm kernel: [123.456] eth0: link up\n";
    struct srvlog_event ev;
    srvlog *l;
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    assert_true(srvlog_sniff(text, sizeof(text) - 1));
    assert_true(srvlog_sniff(text, 150)); /* the second line cut short */
    assert_false(srvlog_sniff("some text\nthat is not\na log\n", 29));
    l = open_tmp(text, SRVLOG_AUTO);
    assert_non_null(l);
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_int_equal(ev.kind, SL_QUERY);
    assert_int_equal(ev.format, SRVLOG_UNBOUND);
    assert_string_equal(ev.origin, "vm");
    assert_true(ev.ts_ns == utc(2026, 11, 23, 20, 7, 36) + 132392000ull);
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_int_equal(ev.kind, SL_REPLY);
    assert_string_equal(ev.rcode, "NOERROR");
    assert_true(ev.ts_ns == utc(2026, 11, 23, 19, 7, 36) + 232392000ull); /* +01:00 */
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_int_equal(ev.kind, SL_REFRESH_FAILED);
    assert_int_equal(ev.format, SRVLOG_BIND);
    assert_string_equal(ev.zone, "example.test.");
    assert_string_equal(ev.origin, "ns1");
    assert_true(ev.ts_ns == utc(2026, 11, 23, 20, 8, 37) + 500000000ull);
    assert_int_equal(srvlog_next(l, &ev), 1);
    assert_int_equal(ev.kind, SL_ZONE_EXPIRED);
    assert_non_null(strstr(ev.origin, "/tmp/dv-srvlog-")); /* no host: the file */
    assert_int_equal(srvlog_next(l, &ev), 0);
    assert_int_equal(srvlog_skips(l)[SL_SKIP_OTHER_PROGRAM], 3);
    srvlog_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_nsd_knot_unbound),
        cmocka_unit_test(test_times_and_counts),
        cmocka_unit_test(test_syslog_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
