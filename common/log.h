/* SPDX-License-Identifier: MIT */
/* Diagnostics on stderr: one line per message, prefixed with the level. Findings are not
 * log lines (they go through the alert API); nothing per packet above LOG_DEBUG. */
#ifndef DV_COMMON_LOG_H
#define DV_COMMON_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level that is printed (default LOG_WARN). */
void log_set_level(enum log_level level);

/* Prints "dnsvigil: LEVEL: <message>\n" on stderr if level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
