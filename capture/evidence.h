/* SPDX-License-Identifier: MIT */
/* Evidence captures: a bounded ring of the most recent frames (with their IP addresses),
 * and, when an alert opens, a pcap file holding the ring's frames to or from the alert's
 * addresses plus the following matching frames up to a cap, so an analyst can open the
 * packets behind an alert in Wireshark. Only active with --evidence-dir. */
#ifndef DV_CAPTURE_EVIDENCE_H
#define DV_CAPTURE_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evidence evidence;

/* dir must exist and be writable. ring: frames remembered; follow: frames written after an
 * alert opens. Returns NULL (message in err) on failure. */
evidence *evid_new(const char *dir, uint32_t ring, uint32_t follow, char *err, size_t errlen);

/* Opens the evidence file for an alert whose addresses (presentation form; NULL entries
 * skipped) are given: writes the ring's matching frames and follows later ones. Returns
 * the file's path (owned by the evidence module) or NULL if nothing can match. */
const char *evid_open(evidence *e, const char *name, const char *const addrs[], unsigned naddrs);

/* Remembers one frame (call after decoding it; af 0 when it had no IP header). */
void evid_frame(evidence *e, uint64_t ts_ns, int dlt, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen, uint8_t af, const uint8_t *src, const uint8_t *dst);

/* Files written and frames that could not be written (link type differs from the file's). */
void evid_counts(const evidence *e, uint64_t *files, uint64_t *skipped);

/* Closes every file. */
void evid_free(evidence *e);

#endif
