/* SPDX-License-Identifier: MIT */
/* Every input file on one timeline: captures (pcap through libpcap or in place, pcapng
 * through our own reader: libpcap 1.10 refuses files whose interfaces have different link
 * types), dnstap files and server logs, each possibly compressed, from files or stdin
 * (captures only). What a file is, is recognised by its content. All inputs are merged
 * into one stream in time stamp order (ties: frames, then dnstap, then log events, then by
 * file name, so the order of the arguments never matters). The reader hands out frames,
 * DNS messages and log events; it does not decode frames. */
#ifndef DV_CAPTURE_SOURCE_H
#define DV_CAPTURE_SOURCE_H

#include "cap.h"
#include "dnstap.h"
#include "srvlog.h"

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

/* What kind of input a file is (cap_input_kind). */
enum cap_input { CAP_IN_CAPTURE = 0, CAP_IN_DNSTAP, CAP_IN_LOG };

/* The next thing on the timeline: a frame, a DNS message from dnstap, or a server-log
 * event. The views are valid until the next cap_reader_next_item() call. */
struct cap_item {
    enum cap_input kind;
    uint64_t ts_ns;
    struct cap_pkt pkt;             /* CAP_IN_CAPTURE */
    const struct cap_msg *msg;      /* CAP_IN_DNSTAP */
    const struct srvlog_event *log; /* CAP_IN_LOG */
};

/* What the server logs among the inputs held, added up (the unparsed sample is that of the
 * log whose name sorts first, so it does not depend on the order of the arguments). */
struct cap_log_totals {
    unsigned files;
    uint64_t lines, events[SL_KINDS], skips[SL_SKIPS];
    char sample[256];
};

typedef struct cap_reader cap_reader;

/* Reader over an ordered set of inputs. bpf (may be NULL) filters every frame as tcpdump
 * would. Returns NULL when out of memory. */
cap_reader *cap_reader_new(const char *bpf);

/* The format forced on server-log lines that do not say (SRVLOG_AUTO: recognised per line).
 * With a forced format, a file that is neither a capture nor dnstap is read as a log. */
void cap_reader_set_log_format(cap_reader *r, enum srvlog_format fmt);

/* What the file at path is, by its content (decompressed): a capture (also the answer for
 * "-", unreadable files and anything unrecognised, so that opening it names the problem),
 * a dnstap file, or a server log. */
enum cap_input cap_input_kind(const char *path, enum srvlog_format force);

/* Opens one more input ("-" is stdin, a capture) of whatever kind it is. On failure returns
 * a negative enum err and writes a message naming the file to err; the reader stays
 * usable. */
int cap_reader_add(cap_reader *r, const char *path, char *err, size_t errlen);

/* Stores the next item (smallest time stamp among the inputs) in *it and returns 1, or
 * returns 0 when every input is exhausted. An input that fails (truncated, corrupt) is
 * reported through log_msg with its name and byte offset, counted in cap_reader_errors()
 * and dropped; the others go on. */
int cap_reader_next_item(cap_reader *r, struct cap_item *it);

/* The next frame only (dnstap messages and log events are passed over): for readers of
 * captures alone. 1, or 0 at the end. */
int cap_reader_next(cap_reader *r, struct cap_pkt *pkt);

/* Inputs of each kind opened (enum cap_input index). */
unsigned cap_reader_inputs_of(const cap_reader *r, enum cap_input kind);

/* The dnstap counters of every dnstap input (CAP_DT_N), and the server logs' totals; both
 * complete once the reader is exhausted. */
const uint64_t *cap_reader_dnstap_counters(const cap_reader *r);
void cap_reader_log_totals(const cap_reader *r, struct cap_log_totals *t);

/* Inputs that ended in an error, and frames the BPF filter rejected. */
unsigned cap_reader_errors(const cap_reader *r);
uint64_t cap_reader_filtered(const cap_reader *r);

/* Progress: raw bytes consumed and the total size of all inputs (0 if unknown). */
void cap_reader_progress(const cap_reader *r, uint64_t *done, uint64_t *total);

/* Number of inputs opened. */
unsigned cap_reader_inputs(const cap_reader *r);

void cap_reader_free(cap_reader *r);

#endif
