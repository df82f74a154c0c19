/* SPDX-License-Identifier: MIT */
/* Fuzz target over the whole decode path: link layer -> IP (fragments) -> UDP/TCP
 * (reassembly) -> DNS message view -> RR iteration and name presentation.
 * Input: 1 byte choosing the link type, then frames, each a 2-byte big-endian length and the
 * bytes; frames are 1 ms apart on packet time. Tables are tiny so eviction paths run. */
#include "../../analyze/dns.h"
#include "../../capture/cap.h"

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_msg(void *user, const struct cap_msg *m)
{
    struct dns_msg d;
    struct dns_rr_iter it;
    struct dns_rr rr;
    uint8_t name[DNS_MAX_NAME];
    char text[1100];
    size_t next, nlen;

    (void)user;
    dns_decode(m->data, m->len, m->meta->truncated, &d);
    if (d.has_question)
        dns_name_to_str(d.qname, d.qname_len, text, sizeof(text));
    if (!d.rrs_ok)
        return;
    dns_rr_iter_init(&it, &d);
    while (dns_rr_next(&it, &rr)) {
        if (dns_name_walk(d.wire, d.len, rr.name_off, &next, name, &nlen) == DNS_MAL_NONE)
            dns_name_to_str(name, nlen, text, sizeof(text));
        /* rdata that holds a name (NS, CNAME, PTR): walk it too */
        if ((rr.type == 2 || rr.type == 5 || rr.type == 12) &&
            dns_name_walk(d.wire, d.len, rr.rdata_off, &next, name, &nlen) == DNS_MAL_NONE)
            dns_name_to_str(name, nlen, text, sizeof(text));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {DLT_EN10MB, DLT_RAW,  DLT_LINUX_SLL, 276,
                               DLT_NULL,   DLT_LOOP, 228,           229};
    struct cap_config cfg;
    cap_decoder *d;
    size_t off = 1;
    uint64_t ts = 1000000000ull;

    if (size < 1)
        return 0;
    cap_config_defaults(&cfg);
    cfg.frag_slots = 4;
    cfg.tcp_streams = 4;
    cfg.tcp_buffers = 2;
    cfg.frag_timeout_ms = 5;
    cfg.tcp_timeout_ms = 20;
    d = cap_decoder_new(&cfg, on_msg, NULL, NULL);
    if (!d)
        return 0;
    while (off + 2 <= size) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        /* The last bit of the length's top byte marks a frame cut by the snap length. */
        cap_decode(d, dlts[data[0] % 8], ts, data + off, (uint32_t)len,
                   (uint32_t)len + ((data[off - 2] & 0x80) ? 10 : 0));
        off += len;
        ts += 1000000;
    }
    cap_decoder_flush(d);
    cap_decoder_free(d);
    return 0;
}
