/* SPDX-License-Identifier: MIT */
/* The rule engine: runs every enabled rule on the dispatcher's events, merges findings
 * with the same rule and key into one alert (open -> update -> closed after a quiet period
 * of packet time), hands every alert event to the alert sinks the run attached (the store,
 * the live view, JSON lines, syslog, evidence, exporters) and keeps every alert for the
 * summary. It does no I/O. Bounded: at most ENGINE_MAX_ALERTS alerts are kept, the rest
 * counted. */
#ifndef DV_RULES_ENGINE_H
#define DV_RULES_ENGINE_H

#include "config.h"
#include "rule.h"
#include "../analyze/dispatch.h"
#include "../common/json.h"

#include <stdio.h>

#define ENGINE_MAX_ALERTS 4096

struct engine;

/* Creates the engine with every rule enabled in cfg. Returns NULL on failure (message in
 * err). */
struct engine *engine_new(const struct dv_config *cfg, char *err, size_t errlen);

/* Fills sink with the engine's callbacks (to pass to disp_add_sink). */
void engine_sink(struct engine *e, struct disp_sink *sink);

/* An alert as it opens, updates or closes (strings valid during the call only). */
struct engine_alert {
    unsigned id; /* 0, 1, ... in order of opening; stable within a run */
    const char *rule, *reference, *severity, *state, *key, *summary;
    const char *client, *server, *victim, *zone, *qname; /* "" when absent */
    const char *evidence;                                /* JSON object text */
    const char *evidence_file;                           /* "" when none */
    uint64_t first_ns, last_ns, count;
    double threshold, observed;
};

/* Where alert events go: every open, update and closed event, in order, to every sink in
 * the order they were added. A sink may name the evidence file it wrote for an alert by
 * setting evidence_file when the state is "open" (the evidence sink, added first); the
 * engine keeps it for the alert's later events and the summary. Sinks run on the thread the
 * rules run on and must not block for long. */
struct engine_alert_sink {
    void (*on_alert)(void *user, struct engine_alert *a);
    void *user;
};
#define ENGINE_MAX_SINKS 8

/* Adds an alert sink; ERR_FULL beyond ENGINE_MAX_SINKS. */
int engine_add_alert_sink(struct engine *e, const struct engine_alert_sink *s);

/* Writes one alert event as a JSON object (as in the summary's "alerts" and in JSON lines). */
void engine_alert_json(struct json *j, const struct engine_alert *a);

/* Writes "alerts": [...] (every alert, oldest first) and "rules": {...} counters. */
void engine_json(const struct engine *e, struct json *j);

/* Writes the human list of alerts. */
void engine_text(const struct engine *e, FILE *f);

/* Number of alerts raised. */
unsigned engine_alert_count(const struct engine *e);

/* The alert with this id as the engine has it now (its count, last_seen, observed value and
 * state move between the update lines the sinks get); false for an unknown id. The strings
 * are valid until the engine next runs. */
bool engine_alert_get(const struct engine *e, unsigned id, struct engine_alert *out);

void engine_free(struct engine *e);

#endif
