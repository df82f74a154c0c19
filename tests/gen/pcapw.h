/* SPDX-License-Identifier: MIT */
/* Capture file writer for the fixture generator: classic pcap in either byte order with
 * micro- or nanosecond stamps, and pcapng with several interfaces of different link types.
 * libpcap writes only native-order microsecond pcap, hence this. Test tooling only. */
#ifndef DV_TESTS_PCAPW_H
#define DV_TESTS_PCAPW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pcapw {
    FILE *f;
    bool ng, swap, nano;
    unsigned nifs;
    uint8_t if_tsexp[16]; /* pcapng: 10^-exp resolution per interface */
};

/* Classic pcap. big_endian writes the swapped byte order; nano the ns magic. */
struct pcapw *pcapw_open_pcap(const char *path, int linktype, bool big_endian, bool nano,
                              uint32_t snaplen);

/* pcapng with one section; add interfaces with pcapw_add_if(). */
struct pcapw *pcapw_open_ng(const char *path, bool big_endian);

/* Adds a pcapng interface; tsexp is the decimal resolution exponent (6 = us, 9 = ns).
 * Returns the interface id. */
unsigned pcapw_add_if(struct pcapw *w, int linktype, uint8_t tsexp, uint32_t snaplen);

/* Writes one frame (caplen bytes of a wirelen-byte frame). */
void pcapw_write(struct pcapw *w, unsigned ifid, uint64_t ts_ns, const uint8_t *frame,
                 uint32_t caplen, uint32_t wirelen);

/* Writes a simple packet block (pcapng only, interface 0, no timestamp). */
void pcapw_write_spb(struct pcapw *w, const uint8_t *frame, uint32_t len);

/* Closes the file; returns 0 or -1 if writing failed. */
int pcapw_close(struct pcapw *w);

#endif
