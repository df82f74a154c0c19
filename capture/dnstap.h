/* SPDX-License-Identifier: MIT */
/* dnstap input (https://dnstap.info): Frame Streams files of protobuf dnstap.Dnstap
 * messages, as Unbound, Knot, BIND and NSD write them (or fstrm_capture collects them).
 * Both formats are small and stable, so they are read here directly: a bounds-checked
 * Frame Streams reader and a protobuf wire-format reader for the fields dnstap defines.
 * Each dnstap Message becomes the same (metadata, DNS wire bytes) pair that a captured
 * packet gives, so everything downstream is unchanged. */
#ifndef DV_CAPTURE_DNSTAP_H
#define DV_CAPTURE_DNSTAP_H

#include "cap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAP_DNSTAP_COUNTERS(X)                                                                     \
    X(FRAMES, "frames")                                                                            \
    X(MESSAGES, "messages")                                                                        \
    X(NO_DNS, "without_dns_message")                                                               \
    X(BAD_PROTOBUF, "bad_protobuf")                                                                \
    X(BAD_ADDRESS, "bad_address")                                                                  \
    X(NOT_MESSAGE, "not_a_message")

enum cap_dnstap_counter {
#define CAP_DT_X(id, name) CAP_DT_##id,
    CAP_DNSTAP_COUNTERS(CAP_DT_X)
#undef CAP_DT_X
        CAP_DT_N
};

typedef struct cap_dnstap cap_dnstap;

/* True if the first bytes (at least 8) look like a Frame Streams file. */
bool cap_dnstap_sniff(const uint8_t *head, size_t n);

/* Opens a Frame Streams file of content type protobuf:dnstap.Dnstap. Returns NULL with a
 * message naming the file. */
cap_dnstap *cap_dnstap_open(const char *path, char *err, size_t errlen);

/* The same on a stream already open (a decompressed one, say), positioned at its start;
 * the stream stays the caller's to close, after cap_dnstap_close(). */
cap_dnstap *cap_dnstap_open_stream(FILE *f, const char *path, char *err, size_t errlen);

/* Stores the next DNS message in *msg (meta and data valid until the next call) and
 * returns 1; 0 at the end; a negative enum err when the file is damaged (message in err,
 * naming the byte offset). Frames that carry no usable DNS message are counted and skipped. */
int cap_dnstap_next(cap_dnstap *d, struct cap_msg *msg, char *err, size_t errlen);

/* Decodes one data frame (a dnstap.Dnstap protobuf): 1 with *msg (its metadata in *meta),
 * 0 when the frame carries no usable DNS message; counts into c. */
int cap_dnstap_frame(const uint8_t *p, size_t len, struct cap_meta *meta, struct cap_msg *msg,
                     uint64_t c[CAP_DT_N]);

const uint64_t *cap_dnstap_counters(const cap_dnstap *d);
const char *cap_dnstap_counter_name(enum cap_dnstap_counter c);

void cap_dnstap_close(cap_dnstap *d);

#endif

/* ---- the dnstap unix socket (bidirectional Frame Streams, as Unbound, Knot and BIND
 * connect to a collector) ---- */
typedef struct cap_dnstap_srv cap_dnstap_srv;

/* Creates and listens on the unix socket path (replacing a stale one), mode 0660. */
cap_dnstap_srv *cap_dnstap_listen(const char *path, char *err, size_t errlen);

/* Accepts connections and reads what is there without waiting; each DNS message goes to
 * fn. Returns the number of messages. */
int cap_dnstap_srv_poll(cap_dnstap_srv *s, void (*fn)(void *user, const struct cap_msg *m),
                        void *user);

const uint64_t *cap_dnstap_srv_counters(const cap_dnstap_srv *s);
unsigned cap_dnstap_srv_clients(const cap_dnstap_srv *s);
void cap_dnstap_srv_close(cap_dnstap_srv *s);
