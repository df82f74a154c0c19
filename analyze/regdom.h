/* SPDX-License-Identifier: MIT */
/* Registered domain of a query name, public-suffix aware (libpsl with Debian's list):
 * www.example.co.uk -> example.co.uk. Answers come from a small cache keyed by the name's
 * last two labels, so libpsl is asked once per distinct suffix, not per message. Public
 * suffixes of up to two labels (co.uk, com.au, github.io) are exact; deeper ones (e.g.
 * s3.dualstack.eu-west-1.amazonaws.com) group under their two-label parent's rule. */
#ifndef DV_ANALYZE_REGDOM_H
#define DV_ANALYZE_REGDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct regdom;

/* Loads the public suffix list. Returns NULL if libpsl has none. */
struct regdom *regdom_new(void);
void regdom_free(struct regdom *r);

/* For an uncompressed wire name of len bytes, stores the offset where its registered
 * domain starts in *start. Returns false for the root name. */
bool regdom_find(struct regdom *r, const uint8_t *name, size_t len, size_t *start);

/* Cache statistics (libpsl look-ups made, cache hits). */
void regdom_counts(const struct regdom *r, uint64_t *lookups, uint64_t *hits);

#endif
