/* SPDX-License-Identifier: MIT */
/* Messages to the system log (syslog(3), which the system's logger writes as RFC 5424 or
 * RFC 3164 records), kept apart from log.h because <syslog.h> defines LOG_INFO/LOG_DEBUG. */
#ifndef DV_COMMON_SYSL_H
#define DV_COMMON_SYSL_H

enum sysl_prio { SYSL_CRIT, SYSL_ERR, SYSL_WARNING, SYSL_NOTICE, SYSL_INFO };

/* Opens the connection now (LOG_NDELAY), so it survives a later chroot. */
void sysl_open(void);
void sysl_msg(enum sysl_prio prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sysl_close(void);

#endif
