/* SPDX-License-Identifier: MIT */
/* Benchmark harness: times one pass over a capture in one of several modes, all in this
 * process with the same file, so ratios compare like with like.
 *   floor    bare pcap_next_ex loop touching one byte per packet (the baseline)
 *   capture  dnsvigil's reader + link/IP/UDP/TCP decode, messages dropped
 *   view     capture + the zero-copy DNS view (dns_decode) per message
 *   ldns     capture + ldns_wire2pkt/ldns_pkt_free per message
 *   stats    capture + view + totals (what analyze does per message today)
 *   run CMD  fork/exec CMD..., wall time, peak RSS and CPU time (user + system) of the child
 * Prints one line: mode packets messages seconds ns_per_packet peak_rss_kib. */
#include "../analyze/dns.h"
#include "../analyze/stats.h"
#include "../capture/cap.h"
#include "../capture/source.h"

#include <ldns/ldns.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t messages, sink;
static struct dns_msg msg;
static struct dns_stats *stats;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void msg_drop(void *u, const struct cap_msg *m)
{
    (void)u;
    messages++;
    sink += m->len;
}

static void msg_view(void *u, const struct cap_msg *m)
{
    (void)u;
    messages++;
    dns_decode(m->data, m->len, m->meta->truncated, &msg);
    sink += msg.qtype + msg.rcode;
}

static void msg_stats(void *u, const struct cap_msg *m)
{
    (void)u;
    messages++;
    dns_decode(m->data, m->len, m->meta->truncated, &msg);
    dns_stats_add(stats, &msg, m->meta);
}

static void msg_ldns(void *u, const struct cap_msg *m)
{
    ldns_pkt *p = NULL;
    (void)u;
    messages++;
    if (ldns_wire2pkt(&p, m->data, m->len) == LDNS_STATUS_OK) {
        sink += ldns_pkt_get_rcode(p);
        ldns_pkt_free(p);
    }
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    uint64_t packets = 0;
    double t0, t1;

    if (argc < 3) {
        fprintf(stderr, "usage: bench floor|capture|view|ldns|stats FILE | bench run CMD...\n");
        return 2;
    }
    if (!strcmp(argv[1], "run")) {
        struct rusage ru;
        int status;
        pid_t pid;
        t0 = now();
        pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(127);
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        wait4(pid, &status, 0, &ru);
        t1 = now();
        printf("run 0 0 %.3f 0 %ld exit=%d cpu=%.3f\n", t1 - t0, ru.ru_maxrss,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
        return 0;
    }
    if (!strcmp(argv[1], "floor")) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[2], err);
        struct pcap_pkthdr *h;
        const u_char *d;
        if (!p) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        t0 = now();
        while (pcap_next_ex(p, &h, &d) == 1) {
            packets++;
            sink += d[h->caplen - 1];
        }
        t1 = now();
        pcap_close(p);
    } else {
        cap_msg_fn fn = !strcmp(argv[1], "capture") ? msg_drop
                        : !strcmp(argv[1], "view")  ? msg_view
                        : !strcmp(argv[1], "ldns")  ? msg_ldns
                        : !strcmp(argv[1], "stats") ? msg_stats
                                                    : NULL;
        struct cap_config cfg;
        cap_reader *r = cap_reader_new(NULL);
        cap_decoder *d;
        struct cap_pkt pkt;
        char err[512];
        if (!fn) {
            fprintf(stderr, "unknown mode %s\n", argv[1]);
            return 2;
        }
        stats = calloc(1, sizeof(*stats));
        cap_config_defaults(&cfg);
        d = cap_decoder_new(&cfg, fn, NULL, NULL);
        if (!r || !d || !stats || cap_reader_add(r, argv[2], err, sizeof(err)) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        t0 = now();
        while (cap_reader_next(r, &pkt) == 1) {
            packets++;
            cap_decode(d, pkt.dlt, pkt.ts_ns, pkt.data, pkt.caplen, pkt.wirelen);
        }
        cap_decoder_flush(d);
        t1 = now();
        cap_decoder_free(d);
        cap_reader_free(r);
        free(stats);
    }
    printf("%s %llu %llu %.3f %.1f %ld\n", argv[1], (unsigned long long)packets,
           (unsigned long long)messages, t1 - t0, (t1 - t0) * 1e9 / (double)(packets ? packets : 1),
           peak_rss_kib());
    return sink == 42 ? 3 : 0; /* keep the work observable */
}
