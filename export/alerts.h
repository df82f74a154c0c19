/* SPDX-License-Identifier: MIT */
/* Alert sinks that leave the process as text: JSON lines (one object per open, update and
 * closed event, as docs/alerts.md documents; a file or standard output) and syslog (open
 * and closed events, with a priority by severity). They take the rule engine's alert events
 * (engine_add_alert_sink); they never look at packets. */
#ifndef DV_EXPORT_ALERTS_H
#define DV_EXPORT_ALERTS_H

#include "../rules/engine.h"

#include <stdio.h>

/* A sink writing each alert event as one JSON line to *f. f is looked up at every event, so
 * the caller may replace the FILE (reopening a rotated file) between events. */
void alerts_jsonl_sink(FILE **f, struct engine_alert_sink *sink);

/* A sink sending opened and closed alerts to syslog (sysl_open first). */
void alerts_syslog_sink(struct engine_alert_sink *sink);

#endif
