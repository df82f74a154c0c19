/* SPDX-License-Identifier: MIT */
/* The ISO's periodic security-event report (BSI IT-Grundschutz APP.3.6 A7 and A15), built
 * from the SQLite store: number of queries, errors by kind, EDNS errors, expiring zones,
 * failed zone transfers, the error/query ratio over time and its changes, every alert, top
 * talkers and capture health, each figure with the source it came from, compared with the
 * previous period of the same length. Text (80 columns), one self-contained HTML file with
 * inline SVG charts, or JSON (docs/report-schema.md). */
#ifndef DV_REPORT_REPORT_H
#define DV_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rep_format { REP_TEXT, REP_HTML, REP_JSON };

struct rep_opts {
    const char *db_path;
    uint64_t from_ns, to_ns; /* [from, to); both 0: the 24 h before the newest data */
    enum rep_format format;
    unsigned top_n;
    uint64_t generated_ns; /* time printed as "generated" (0: now) */
};

/* Writes the report to out. Returns 0, or a negative enum err with a message in err. */
int rep_write(const struct rep_opts *o, FILE *out, char *err, size_t errlen);

/* RFC 3339 ("2026-11-23T00:00:00Z", "2026-11-23T01:00:00.5+01:00") -> ns since the epoch. */
bool rep_parse_time(const char *s, uint64_t *ns);

#endif
