/* SPDX-License-Identifier: MIT */
/* JSON-lines and syslog alert sinks. */
#include "alerts.h"

#include "../common/json.h"
#include "../common/sysl.h"

#include <string.h>

static void jsonl_alert(void *user, struct engine_alert *a)
{
    FILE *f = *(FILE **)user;
    struct json j;

    if (!f)
        return;
    json_init(&j, f, true);
    engine_alert_json(&j, a);
    fputc('\n', f);
}

void alerts_jsonl_sink(FILE **f, struct engine_alert_sink *sink)
{
    sink->on_alert = jsonl_alert;
    sink->user = f;
}

static enum sysl_prio sev_prio(const char *sev)
{
    if (!strcmp(sev, "critical"))
        return SYSL_CRIT;
    if (!strcmp(sev, "high"))
        return SYSL_ERR;
    if (!strcmp(sev, "warning"))
        return SYSL_WARNING;
    return SYSL_NOTICE;
}

static void syslog_alert(void *user, struct engine_alert *a)
{
    (void)user;
    if (strcmp(a->state, "update") != 0)
        sysl_msg(sev_prio(a->severity), "alert %s %s (%s): %s [%s]", a->state, a->rule, a->severity,
                 a->summary, a->reference);
}

void alerts_syslog_sink(struct engine_alert_sink *sink)
{
    sink->on_alert = syslog_alert;
    sink->user = NULL;
}
