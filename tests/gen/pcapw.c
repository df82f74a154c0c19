/* SPDX-License-Identifier: MIT */
/* pcap/pcapng writer (test tooling). */
#include "pcapw.h"

#include <stdlib.h>
#include <string.h>

static void put32(struct pcapw *w, uint32_t v)
{
    if (w->swap)
        v = __builtin_bswap32(v);
    fwrite(&v, 4, 1, w->f);
}

static void put16(struct pcapw *w, uint16_t v)
{
    if (w->swap)
        v = __builtin_bswap16(v);
    fwrite(&v, 2, 1, w->f);
}

static void pad4(struct pcapw *w, uint32_t len)
{
    static const uint8_t zero[4] = {0};
    fwrite(zero, 1, (4 - len % 4) % 4, w->f);
}

struct pcapw *pcapw_open_pcap(const char *path, int linktype, bool big_endian, bool nano,
                              uint32_t snaplen)
{
    struct pcapw *w = calloc(1, sizeof(*w));

    if (!w || !(w->f = fopen(path, "wb"))) {
        free(w);
        return NULL;
    }
    w->swap = big_endian; /* the generator runs on little-endian hosts */
    w->nano = nano;
    put32(w, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16(w, 2);
    put16(w, 4);
    put32(w, 0);
    put32(w, 0);
    put32(w, snaplen);
    put32(w, (uint32_t)linktype);
    return w;
}

struct pcapw *pcapw_open_ng(const char *path, bool big_endian)
{
    struct pcapw *w = calloc(1, sizeof(*w));

    if (!w || !(w->f = fopen(path, "wb"))) {
        free(w);
        return NULL;
    }
    w->ng = true;
    w->swap = big_endian;
    /* SHB: type, length 28, BOM, version 1.0, section length -1, length. */
    put32(w, 0x0a0d0d0au);
    put32(w, 28);
    put32(w, 0x1a2b3c4du);
    put16(w, 1);
    put16(w, 0);
    put32(w, 0xffffffffu);
    put32(w, 0xffffffffu);
    put32(w, 28);
    return w;
}

unsigned pcapw_add_if(struct pcapw *w, int linktype, uint8_t tsexp, uint32_t snaplen)
{
    bool opt = tsexp != 6;
    uint32_t len = 20 + (opt ? 12 : 0);

    put32(w, 1);
    put32(w, len);
    put16(w, (uint16_t)linktype);
    put16(w, 0);
    put32(w, snaplen);
    if (opt) {
        uint8_t v[4] = {tsexp, 0, 0, 0};
        put16(w, 9); /* if_tsresol */
        put16(w, 1);
        fwrite(v, 1, 4, w->f);
        put16(w, 0); /* opt_endofopt */
        put16(w, 0);
    }
    put32(w, len);
    w->if_tsexp[w->nifs] = tsexp;
    return w->nifs++;
}

void pcapw_write(struct pcapw *w, unsigned ifid, uint64_t ts_ns, const uint8_t *frame,
                 uint32_t caplen, uint32_t wirelen)
{
    if (!w->ng) {
        put32(w, (uint32_t)(ts_ns / 1000000000u));
        put32(w, (uint32_t)(w->nano ? ts_ns % 1000000000u : (ts_ns % 1000000000u) / 1000u));
        put32(w, caplen);
        put32(w, wirelen);
        fwrite(frame, 1, caplen, w->f);
        return;
    }
    uint64_t ts = ts_ns;
    for (uint8_t e = w->if_tsexp[ifid]; e < 9; e++)
        ts /= 10;
    uint32_t blen = 32 + caplen + (4 - caplen % 4) % 4;
    put32(w, 6);
    put32(w, blen);
    put32(w, ifid);
    put32(w, (uint32_t)(ts >> 32));
    put32(w, (uint32_t)ts);
    put32(w, caplen);
    put32(w, wirelen);
    fwrite(frame, 1, caplen, w->f);
    pad4(w, caplen);
    put32(w, blen);
}

void pcapw_write_spb(struct pcapw *w, const uint8_t *frame, uint32_t len)
{
    uint32_t blen = 16 + len + (4 - len % 4) % 4;
    put32(w, 3);
    put32(w, blen);
    put32(w, len);
    fwrite(frame, 1, len, w->f);
    pad4(w, len);
    put32(w, blen);
}

int pcapw_close(struct pcapw *w)
{
    int rc = 0;
    if (!w)
        return 0;
    if (ferror(w->f))
        rc = -1;
    if (fclose(w->f) != 0)
        rc = -1;
    free(w);
    return rc;
}
