/* SPDX-License-Identifier: MIT */
/* The end-of-run report of `dnsvigil analyze`: a human summary and the JSON document whose
 * schema docs/json-schema.md documents. Reads finished counters; computes nothing new. */
#ifndef DV_ANALYZE_SUMMARY_H
#define DV_ANALYZE_SUMMARY_H

#include "dispatch.h"
#include "stats.h"
#include "../capture/cap.h"

#include <stdio.h>

struct json;

struct summary_in {
    const struct dispatch *disp;
    const struct dns_stats *dns;
    const struct cap_stats *cap;
    uint64_t filtered;         /* frames the BPF filter rejected */
    const char *const *inputs; /* input paths as given */
    unsigned ninputs;
    unsigned input_errors; /* inputs that were unreadable or damaged */
    const char *filter;    /* BPF expression or NULL */
    unsigned top_n;        /* entries per top list */
    bool windows;          /* include the per-window array */
    bool logs;             /* server logs were among the inputs: windows count their events */
    /* Extra top-level members written after the analysis (the rule engine's alerts). */
    void (*extra_json)(const void *arg, struct json *j);
    void (*extra_text)(const void *arg, FILE *f);
    const void *extra_arg;
};

/* Writes the JSON document to f. */
void summary_json(FILE *f, const struct summary_in *in);

/* Writes the human summary to f (fits 80 columns). */
void summary_text(FILE *f, const struct summary_in *in);

/* Formats packet time as RFC 3339 UTC with microseconds into buf (>= 32 bytes). */
void summary_time(uint64_t ts_ns, char *buf, size_t bufsz);

#endif
