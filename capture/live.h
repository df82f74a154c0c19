/* SPDX-License-Identifier: MIT */
/* Live capture with libpcap on one or more interfaces: a large kernel buffer, immediate
 * mode (or a short timeout), a snap length that keeps whole TCP/EDNS responses, an optional
 * BPF filter, and the kernel's drop counters. Frames are handed out in the order the
 * interfaces deliver them. */
#ifndef DV_CAPTURE_LIVE_H
#define DV_CAPTURE_LIVE_H

#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_LIVE_MAX_IFACES 8

struct cap_live_config {
    const char *ifaces[CAP_LIVE_MAX_IFACES];
    unsigned nifaces;
    const char *filter; /* BPF, may be NULL */
    int snaplen;        /* bytes kept per frame (default 262144) */
    int buffer_mb;      /* kernel buffer per interface (default 64) */
    bool immediate;     /* deliver each frame at once (default); else a 100 ms timeout */
};

void cap_live_config_defaults(struct cap_live_config *cfg);

typedef struct cap_live cap_live;
typedef void (*cap_live_fn)(void *user, const struct cap_pkt *pkt);

/* Opens and activates every interface. Needs the capture privilege (root or CAP_NET_RAW);
 * afterwards the process may drop it. Returns NULL with a message naming the interface. */
cap_live *cap_live_open(const struct cap_live_config *cfg, char *err, size_t errlen);

/* Waits up to timeout_ms for frames and hands each to fn (at most max per interface per
 * call). Returns the number handled, or a negative enum err when an interface failed
 * (message in err). */
int cap_live_poll(cap_live *l, int timeout_ms, unsigned max, cap_live_fn fn, void *user, char *err,
                  size_t errlen);

/* Kernel counters summed over the interfaces (pcap_stats): received, dropped for lack of
 * buffer space, dropped by the interface or driver. */
void cap_live_stats(cap_live *l, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop);

/* "eth0,eth1" */
const char *cap_live_names(const cap_live *l);

void cap_live_close(cap_live *l);

#endif
