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

/* Fills sink with the engine's callbacks (to pass to disp_set_sink). */
void engine_sink(struct engine *e, struct disp_sink *sink);

/* Called when an alert opens, with the rule name, the alert key and its addresses (victim,
 * server, client; NULL when absent); returns the path of the evidence file written for it,
 * or NULL. */
typedef const char *(*engine_open_fn)(void *user, const char *rule, const char *key,
                                      const char *const addrs[3]);
void engine_set_open_hook(struct engine *e, engine_open_fn fn, void *user);

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
