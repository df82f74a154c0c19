/* SPDX-License-Identifier: MIT */
/* The rule engine: runs every enabled rule on the dispatcher's events, merges findings
 * with the same rule and key into one alert (open -> update -> closed after a quiet period
 * of packet time), streams alert events as JSON lines and keeps every alert for the
 * summary. Bounded: at most ENGINE_MAX_ALERTS alerts are kept, the rest counted. */
#ifndef DV_RULES_ENGINE_H
#define DV_RULES_ENGINE_H

#include "config.h"
#include "rule.h"
#include "../analyze/dispatch.h"
#include "../common/json.h"

#include <stdio.h>

#define ENGINE_MAX_ALERTS 4096

struct engine;

/* Creates the engine with every rule enabled in cfg. jsonl (may be NULL) receives one JSON
 * object per line for each open/update/close. Returns NULL on failure (message in err). */
struct engine *engine_new(const struct dv_config *cfg, FILE *jsonl, char *err, size_t errlen);

/* Fills sink with the engine's callbacks (to pass to disp_add_sink). */
void engine_sink(struct engine *e, struct disp_sink *sink);

/* Called when an alert opens, with the rule name, the alert key and its addresses (victim,
 * server, client; NULL when absent); returns the path of the evidence file written for it,
 * or NULL. */
typedef const char *(*engine_open_fn)(void *user, const char *rule, const char *key,
                                      const char *const addrs[3]);
void engine_set_open_hook(struct engine *e, engine_open_fn fn, void *user);

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
typedef void (*engine_alert_fn)(void *user, const struct engine_alert *a);

/* Called for every open/update/closed line (the store records alerts through it). */
void engine_set_alert_hook(struct engine *e, engine_alert_fn fn, void *user);

/* A server log event (from capture/srvlog.c), on its own time. */
void engine_log(struct engine *e, const struct srvlog_event *ev);

/* End of input: flushes the JSON lines stream. Alerts still open stay open. */
void engine_finish(struct engine *e);

/* Writes "alerts": [...] (every alert, oldest first) and "rules": {...} counters. */
void engine_json(const struct engine *e, struct json *j);

/* Writes the human list of alerts. */
void engine_text(const struct engine *e, FILE *f);

/* Number of alerts raised. */
unsigned engine_alert_count(const struct engine *e);

void engine_free(struct engine *e);

#endif
