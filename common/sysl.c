/* SPDX-License-Identifier: MIT */
#include "sysl.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

void sysl_open(void)
{
    openlog("dnsvigil", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void sysl_msg(enum sysl_prio prio, const char *fmt, ...)
{
    static const int map[] = {LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO};
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    syslog(map[prio], "%s", line);
}

void sysl_close(void)
{
    closelog();
}
