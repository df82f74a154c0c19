/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition (format 0.0.4) of a running sensor: counters, rates, drops,
 * latency and open alerts, served over HTTP (GET /metrics) from the published snapshot by
 * a small thread of its own, so a slow scraper never touches the analysis. */
#ifndef DV_REPORT_METRICS_H
#define DV_REPORT_METRICS_H

#include "../analyze/snapshot.h"

#include <stddef.h>
#include <stdio.h>

typedef struct rep_metrics rep_metrics;

/* Binds ADDR:PORT ("9153" or ":9153" mean 127.0.0.1:9153; "[::1]:9153", "0.0.0.0:9153")
 * for pub's snapshots (before dropping privileges: a port below 1024 needs them). Returns
 * NULL with a message in err. */
rep_metrics *rep_metrics_bind(const char *addr, struct snap_pub *pub, char *err, size_t errlen);

/* Starts the serving thread (after dropping privileges). Returns 0 or a negative enum err. */
int rep_metrics_run(rep_metrics *m);

/* The port actually bound (useful with port 0). */
int rep_metrics_port(const rep_metrics *m);

void rep_metrics_stop(rep_metrics *m);

/* Writes the exposition text of s. */
void rep_metrics_write(const struct snap *s, FILE *f);

#endif
