/* SPDX-License-Identifier: MIT */
/* Evidence ring and writers. The ring copies each frame (up to EVID_SNAP bytes) into
 * preallocated slots: no allocation per packet. Files are written with libpcap in
 * nanosecond precision; at most EVID_MAX_OPEN are followed at once (the oldest is closed). */
#include "evidence.h"

#include "../common/log.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVID_SNAP 2048
#define EVID_MAX_OPEN 64
#define EVID_ADDRS 3

struct slot {
    uint64_t ts_ns;
    int dlt;
    uint32_t caplen, wirelen;
    uint8_t af;
    uint8_t src[16], dst[16];
    uint8_t data[EVID_SNAP];
};

struct addr {
    uint8_t af;
    uint8_t a[16];
};

struct writer {
    bool used;
    pcap_t *dead;
    pcap_dumper_t *dump;
    int dlt;
    struct addr addrs[EVID_ADDRS];
    unsigned naddrs;
    uint32_t left;
    uint64_t opened;
    char path[1024];
};

struct evidence {
    char dir[900];
    struct slot *ring;
    uint32_t nring, head, count, follow;
    struct writer w[EVID_MAX_OPEN];
    uint64_t seq, files, skipped;
};

evidence *evid_new(const char *dir, uint32_t ring, uint32_t follow, char *err, size_t errlen)
{
    evidence *e = calloc(1, sizeof(*e));

    if (!e || !(e->ring = calloc(ring ? ring : 1, sizeof(*e->ring)))) {
        free(e);
        snprintf(err, errlen, "evidence: out of memory");
        return NULL;
    }
    snprintf(e->dir, sizeof(e->dir), "%s", dir);
    e->nring = ring ? ring : 1;
    e->follow = follow;
    return e;
}

static bool matches(const struct writer *w, uint8_t af, const uint8_t *src, const uint8_t *dst)
{
    size_t alen = af == 4 ? 4 : 16;
    for (unsigned i = 0; i < w->naddrs; i++)
        if (w->addrs[i].af == af &&
            (!memcmp(w->addrs[i].a, src, alen) || !memcmp(w->addrs[i].a, dst, alen)))
            return true;
    return false;
}

static void write_frame(evidence *e, struct writer *w, uint64_t ts, int dlt, const uint8_t *data,
                        uint32_t caplen, uint32_t wirelen)
{
    struct pcap_pkthdr h;

    if (dlt != w->dlt) {
        e->skipped++;
        return;
    }
    h.ts.tv_sec = (time_t)(ts / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000000u); /* nanoseconds: the file says so */
    h.caplen = caplen;
    h.len = wirelen;
    pcap_dump((u_char *)w->dump, &h, data);
}

static void writer_close(struct writer *w)
{
    if (!w->used)
        return;
    pcap_dump_close(w->dump);
    pcap_close(w->dead);
    w->used = false;
}

const char *evid_open(evidence *e, const char *name, const char *const addrs[], unsigned naddrs)
{
    struct writer *w = NULL, *oldest = NULL;
    char safe[80];
    size_t n = 0;
    int dlt = -1;

    for (int i = 0; i < EVID_MAX_OPEN; i++) {
        if (!e->w[i].used) {
            w = &e->w[i];
            break;
        }
        if (!oldest || e->w[i].opened < oldest->opened)
            oldest = &e->w[i];
    }
    if (!w) {
        writer_close(oldest);
        w = oldest;
    }
    memset(w, 0, sizeof(*w));
    for (unsigned i = 0; i < naddrs && w->naddrs < EVID_ADDRS; i++) {
        struct addr *a = &w->addrs[w->naddrs];
        if (!addrs[i] || !addrs[i][0])
            continue;
        if (inet_pton(AF_INET, addrs[i], a->a) == 1)
            a->af = 4;
        else if (inet_pton(AF_INET6, addrs[i], a->a) == 1)
            a->af = 6;
        else
            continue;
        w->naddrs++;
    }
    if (w->naddrs == 0)
        return NULL;
    /* The file takes the link type of the newest matching frame (or Ethernet). */
    for (uint32_t k = 0; k < e->count; k++) {
        const struct slot *s = &e->ring[(e->head + e->nring - 1 - k) % e->nring];
        if (matches(w, s->af, s->src, s->dst)) {
            dlt = s->dlt;
            break;
        }
    }
    for (const char *p = name; *p && n + 1 < sizeof(safe); p++)
        safe[n++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
                        ? *p
                        : '_';
    safe[n] = '\0';
    snprintf(w->path, sizeof(w->path), "%s/%s-%llu.pcap", e->dir, safe,
             (unsigned long long)++e->seq);
    w->dlt = dlt < 0 ? DLT_EN10MB : dlt;
    w->dead = pcap_open_dead_with_tstamp_precision(w->dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
    w->dump = w->dead ? pcap_dump_open(w->dead, w->path) : NULL;
    if (!w->dump) {
        log_msg(LOG_ERROR, "evidence: cannot write %s: %s", w->path,
                w->dead ? pcap_geterr(w->dead) : "out of memory");
        if (w->dead)
            pcap_close(w->dead);
        return NULL;
    }
    w->used = true;
    w->left = e->follow;
    w->opened = e->seq;
    e->files++;
    for (uint32_t k = e->count; k-- > 0;) {
        const struct slot *s = &e->ring[(e->head + e->nring - 1 - k) % e->nring];
        if (matches(w, s->af, s->src, s->dst))
            write_frame(e, w, s->ts_ns, s->dlt, s->data, s->caplen, s->wirelen);
    }
    return w->path;
}

void evid_frame(evidence *e, uint64_t ts_ns, int dlt, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen, uint8_t af, const uint8_t *src, const uint8_t *dst)
{
    struct slot *s = &e->ring[e->head];

    s->ts_ns = ts_ns;
    s->dlt = dlt;
    s->caplen = caplen > EVID_SNAP ? EVID_SNAP : caplen;
    s->wirelen = wirelen;
    s->af = af;
    if (af) {
        memcpy(s->src, src, 16);
        memcpy(s->dst, dst, 16);
    }
    memcpy(s->data, data, s->caplen);
    e->head = (e->head + 1) % e->nring;
    if (e->count < e->nring)
        e->count++;
    if (!af)
        return;
    for (int i = 0; i < EVID_MAX_OPEN; i++) {
        struct writer *w = &e->w[i];
        if (!w->used || w->left == 0 || !matches(w, af, src, dst))
            continue;
        write_frame(e, w, ts_ns, dlt, data, caplen, wirelen);
        if (--w->left == 0)
            writer_close(w);
    }
}

void evid_counts(const evidence *e, uint64_t *files, uint64_t *skipped)
{
    *files = e->files;
    *skipped = e->skipped;
}

void evid_free(evidence *e)
{
    if (!e)
        return;
    for (int i = 0; i < EVID_MAX_OPEN; i++)
        writer_close(&e->w[i]);
    free(e->ring);
    free(e);
}
