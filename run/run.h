/* SPDX-License-Identifier: MIT */
/* One run of the pipeline, below the command line: the decoder, the dispatcher, the rule
 * engine with its alert sinks (evidence, JSON lines, syslog, the store), the store with its
 * sinks (windows, answers, transfers, log minutes), the inputs on one timeline, and the
 * summary. `analyze` and `watch` both drive a run; they differ only in where frames come
 * from (files read at full speed; a live interface or a paced replay) and in what they add
 * on top (the summary file; the view, metrics, daemon). The run does no option parsing and
 * no printing beyond the summary it is asked for. */
#ifndef DV_RUN_RUN_H
#define DV_RUN_RUN_H

#include "../analyze/dispatch.h"
#include "../capture/cap.h"
#include "../capture/evidence.h"
#include "../capture/source.h"
#include "../capture/srvlog.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../store/feed.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct run_opts {
    const char *cmd; /* "analyze" or "watch": the prefix of messages */
    struct cap_config cap;
    struct disp_config disp;
    const struct dv_config *rules; /* NULL: no rules (--no-rules) */
    const char *filter;            /* BPF expression for file inputs, or NULL */
    enum srvlog_format log_fmt;    /* forced server-log format, or SRVLOG_AUTO */
    FILE *jsonl;                   /* alerts as JSON lines (the caller's; NULL: none) */
    bool syslog;                   /* alerts to syslog */
    const char *evidence_dir;      /* pcaps behind alerts, or NULL */
    uint32_t evidence_packets;
};

struct run {
    struct run_opts o;
    cap_reader *rd; /* file inputs (NULL until run_inputs) */
    cap_decoder *dec;
    struct dispatch *disp;
    struct engine *eng; /* NULL without rules */
    evidence *evid;
    db_store *db; /* NULL without a store */
    const char *db_path;
    struct feed_logs db_logs;
    char run_key[40];
    uint64_t retained;   /* rows retention removed */
    const char **inputs; /* file inputs, sorted by name */
    unsigned ninputs;
    bool finished; /* run_finish_input done */
    struct cap_log_totals logs;
};

/* Sets up decoder, dispatcher and rules (with evidence, JSON lines and syslog as alert
 * sinks, in that order). 0, or a negative enum err with a message in err. */
int run_init(struct run *r, const struct run_opts *o, char *err, size_t errlen);

/* More sinks of the command's own (the view's snapshot, ...), after the run's. */
void run_add_sink(struct run *r, const struct disp_sink *sink);
void run_add_alert_sink(struct run *r, const struct engine_alert_sink *sink);

/* Opens the file inputs (captures, dnstap files, server logs: recognised by content), in
 * name order, so nothing depends on the order of the arguments. An input that cannot be
 * opened is logged and counted; returns how many could. */
unsigned run_inputs(struct run *r, const char *const *paths, unsigned n);

/* Names the inputs without opening them (a live sensor's interfaces), for the summary. */
void run_set_inputs(struct run *r, const char *const *names, unsigned n);

/* Opens (creates, upgrades) the store at path. */
int run_store_open(struct run *r, const char *path, char *err, size_t errlen);

/* Starts the store's run and its sinks. live: a live sensor (the run's key is new each time,
 * and the store sheds rather than waits); shed: shed in any case; names: what was read, for
 * people (NULL: the file inputs); version: the writer's version string. */
int run_store_begin(struct run *r, bool live, bool shed, const char *names, const char *version,
                    char *err, size_t errlen);

/* One captured frame (live or from a file), on packet time. */
void run_frame(struct run *r, const struct cap_pkt *p);

/* Everything from the file inputs, in time order, until they end or *stop is set; on_frame
 * (may be NULL) is called after each frame (progress). Returns the frames read. */
uint64_t run_files(struct run *r, volatile const int *stop,
                   void (*on_frame)(void *user, uint64_t frames), void *user);

/* The end of the input: TCP streams and windows flushed, transfers in progress ended. */
void run_finish_input(struct run *r);

/* Ends the store's run (top lists, loss record, span; status: "complete", "interrupted",
 * "stopped", "input-errors"), then retention of retain_ns if not 0. 0, or negative when the
 * store reported errors. */
int run_store_end(struct run *r, const char *status, uint64_t retain_ns);

/* The summary: JSON (the schema of docs/json-schema.md) or text, with the inputs' dnstap and
 * log figures, the rules' alerts and the store's account. */
void run_summary(const struct run *r, FILE *out, bool json, bool windows, unsigned top_n);

/* Inputs opened, and those that failed (not opened, or damaged). */
unsigned run_input_errors(const struct run *r);

void run_free(struct run *r);

#endif
