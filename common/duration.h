/* SPDX-License-Identifier: MIT */
/* Durations as people write them on the command line: "90d", "12h", "2w", "30m", "45s". */
#ifndef DV_COMMON_DURATION_H
#define DV_COMMON_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/* A positive whole number and one unit (s, m, h, d, w) into *ns; false for anything else
 * (no unit, zero, trailing characters, overflow). */
bool dv_parse_duration(const char *s, uint64_t *ns);

#endif
