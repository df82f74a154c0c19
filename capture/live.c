/* SPDX-License-Identifier: MIT */
/* Live capture: one pcap handle per interface, non-blocking, multiplexed with poll() on
 * their selectable descriptors. pcap_stats() counters are 32-bit and wrap on some
 * platforms; the deltas are accumulated into 64-bit totals. */
#include "live.h"

#include "../common/err.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iface {
    pcap_t *p;
    int fd, dlt;
    unsigned last_recv, last_drop, last_ifdrop;
    uint64_t recv, drop, ifdrop;
};

struct cap_live {
    struct iface ifs[CAP_LIVE_MAX_IFACES];
    unsigned n;
    char names[256];
    cap_live_fn fn;
    void *user;
    struct iface *cur;
};

void cap_live_config_defaults(struct cap_live_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->snaplen = 262144;
    cfg->buffer_mb = 64;
    cfg->immediate = true;
}

static int open_one(struct iface *f, const char *name, const struct cap_live_config *cfg, char *err,
                    size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    int rc;

    f->p = pcap_create(name, ebuf);
    if (!f->p) {
        snprintf(err, errlen, "interface %s: %s", name, ebuf);
        return ERR_PCAP;
    }
    pcap_set_snaplen(f->p, cfg->snaplen);
    pcap_set_promisc(f->p, 1);
    pcap_set_buffer_size(f->p, cfg->buffer_mb * 1024 * 1024);
    if (cfg->immediate)
        pcap_set_immediate_mode(f->p, 1);
    else
        pcap_set_timeout(f->p, 100);
    /* Nanosecond stamps where the platform has them; microseconds otherwise. */
    pcap_set_tstamp_precision(f->p, PCAP_TSTAMP_PRECISION_NANO);
    rc = pcap_activate(f->p);
    if (rc < 0) {
        snprintf(err, errlen, "interface %s: %s%s", name, pcap_geterr(f->p),
                 rc == PCAP_ERROR_PERM_DENIED ? " (capturing needs root or CAP_NET_RAW)" : "");
        return ERR_PCAP;
    }
    if (cfg->filter) {
        if (pcap_compile(f->p, &prog, cfg->filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
            pcap_setfilter(f->p, &prog) < 0) {
            snprintf(err, errlen, "interface %s: filter '%s': %s", name, cfg->filter,
                     pcap_geterr(f->p));
            return ERR_PCAP;
        }
        pcap_freecode(&prog);
    }
    if (pcap_setnonblock(f->p, 1, ebuf) < 0) {
        snprintf(err, errlen, "interface %s: %s", name, ebuf);
        return ERR_PCAP;
    }
    f->fd = pcap_get_selectable_fd(f->p);
    f->dlt = pcap_datalink(f->p);
    if (f->fd < 0) {
        snprintf(err, errlen, "interface %s: no selectable descriptor", name);
        return ERR_PCAP;
    }
    return 0;
}

cap_live *cap_live_open(const struct cap_live_config *cfg, char *err, size_t errlen)
{
    cap_live *l = calloc(1, sizeof(*l));
    size_t o = 0;

    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned i = 0; i < cfg->nifaces && i < CAP_LIVE_MAX_IFACES; i++) {
        if (open_one(&l->ifs[i], cfg->ifaces[i], cfg, err, errlen) < 0) {
            l->n = i + 1;
            cap_live_close(l);
            return NULL;
        }
        l->n = i + 1;
        o += (size_t)snprintf(l->names + o, o < sizeof(l->names) ? sizeof(l->names) - o : 0, "%s%s",
                              i ? "," : "", cfg->ifaces[i]);
    }
    return l;
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    cap_live *l = (cap_live *)user;
    struct cap_pkt pkt = {
        /* With nanosecond precision tv_usec holds nanoseconds. */
        .ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
        .caplen = h->caplen,
        .wirelen = h->len,
        .dlt = l->cur->dlt,
        .data = bytes,
    };
    if (pcap_get_tstamp_precision(l->cur->p) != PCAP_TSTAMP_PRECISION_NANO)
        pkt.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
    l->fn(l->user, &pkt);
}

int cap_live_poll(cap_live *l, int timeout_ms, unsigned max, cap_live_fn fn, void *user, char *err,
                  size_t errlen)
{
    struct pollfd pfd[CAP_LIVE_MAX_IFACES];
    int total = 0;

    for (unsigned i = 0; i < l->n; i++) {
        pfd[i].fd = l->ifs[i].fd;
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
    }
    if (poll(pfd, l->n, timeout_ms) < 0)
        return 0; /* EINTR: a signal; the caller looks at its flags */
    l->fn = fn;
    l->user = user;
    for (unsigned i = 0; i < l->n; i++) {
        int n;
        if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        l->cur = &l->ifs[i];
        n = pcap_dispatch(l->ifs[i].p, (int)max, on_frame, (u_char *)l);
        if (n < 0) {
            snprintf(err, errlen, "capture failed: %s", pcap_geterr(l->ifs[i].p));
            return ERR_PCAP;
        }
        total += n;
    }
    return total;
}

void cap_live_stats(cap_live *l, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
    *recv = *drop = *ifdrop = 0;
    for (unsigned i = 0; i < l->n; i++) {
        struct iface *f = &l->ifs[i];
        struct pcap_stat ps;
        if (pcap_stats(f->p, &ps) == 0) {
            f->recv += (unsigned)(ps.ps_recv - f->last_recv);
            f->drop += (unsigned)(ps.ps_drop - f->last_drop);
            f->ifdrop += (unsigned)(ps.ps_ifdrop - f->last_ifdrop);
            f->last_recv = ps.ps_recv;
            f->last_drop = ps.ps_drop;
            f->last_ifdrop = ps.ps_ifdrop;
        }
        *recv += f->recv;
        *drop += f->drop;
        *ifdrop += f->ifdrop;
    }
}

const char *cap_live_names(const cap_live *l)
{
    return l->names;
}

void cap_live_close(cap_live *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < l->n; i++)
        if (l->ifs[i].p)
            pcap_close(l->ifs[i].p);
    free(l);
}
