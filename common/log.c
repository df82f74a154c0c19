/* SPDX-License-Identifier: MIT */
/* stderr logger with a level threshold. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level log_threshold = LOG_WARN;

void log_set_level(enum log_level level)
{
    log_threshold = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    char line[1024];
    va_list ap;

    if (level > log_threshold || level < LOG_ERROR || level > LOG_DEBUG)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fputs per message keeps lines whole when stderr is shared. */
    fprintf(stderr, "dnsvigil: %s: %s\n", names[level], line);
}
