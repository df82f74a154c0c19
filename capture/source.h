/* SPDX-License-Identifier: MIT */
/* Capture inputs: pcap (through libpcap) and pcapng (own reader: libpcap 1.10 refuses files
 * whose interfaces have different link types), possibly compressed, from files or stdin;
 * several files merged into one stream in timestamp order. The reader hands out frames; it
 * does not decode them. */
#ifndef DV_CAPTURE_SOURCE_H
#define DV_CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One captured frame. data is valid until the next cap_reader_next() call. */
struct cap_pkt {
    uint64_t ts_ns;
    uint32_t caplen, wirelen;
    int dlt; /* DLT_ value of the frame's interface */
    const uint8_t *data;
};

typedef struct cap_reader cap_reader;

/* Reader over an ordered set of inputs. bpf (may be NULL) filters every frame as tcpdump
 * would. Returns NULL when out of memory. */
cap_reader *cap_reader_new(const char *bpf);

/* Opens one more input ("-" is stdin). On failure returns a negative enum err and writes a
 * message naming the file to err; the reader stays usable. */
int cap_reader_add(cap_reader *r, const char *path, char *err, size_t errlen);

/* Stores the next frame (smallest timestamp among the inputs) in *pkt and returns 1, or
 * returns 0 when every input is exhausted. An input that fails (truncated, corrupt) is
 * reported through log_msg with its name and byte offset, counted in cap_reader_errors()
 * and dropped; the others go on. */
int cap_reader_next(cap_reader *r, struct cap_pkt *pkt);

/* Inputs that ended in an error, and frames the BPF filter rejected. */
unsigned cap_reader_errors(const cap_reader *r);
uint64_t cap_reader_filtered(const cap_reader *r);

/* Progress: raw bytes consumed and the total size of all inputs (0 if unknown). */
void cap_reader_progress(const cap_reader *r, uint64_t *done, uint64_t *total);

/* Number of inputs opened. */
unsigned cap_reader_inputs(const cap_reader *r);

void cap_reader_free(cap_reader *r);

#endif
