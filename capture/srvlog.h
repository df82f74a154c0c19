/* SPDX-License-Identifier: MIT */
/* DNS server logs as an input (BSI APP.3.6.A15 asks that the servers' own logs be
 * evaluated): BIND 9 (named's file channels with print-time/category/severity, or syslog),
 * Unbound (log-queries/log-replies and operational lines, epoch or ASCII time), NSD and
 * Knot DNS, as Debian 12's packages write them, from files or syslog files. Each line is
 * turned into a normalised event on its own time stamp. The format is recognised per line
 * (a syslog file mixes programs); --log-format forces it for lines that do not say. */
#ifndef DV_CAPTURE_SRVLOG_H
#define DV_CAPTURE_SRVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum srvlog_format {
    SRVLOG_AUTO = 0,
    SRVLOG_BIND,
    SRVLOG_UNBOUND,
    SRVLOG_NSD,
    SRVLOG_KNOT,
    SRVLOG_FORMATS
};

#define SRVLOG_KINDS(X)                                                                            \
    X(QUERY, "query")                                                                              \
    X(REPLY, "reply")                                                                              \
    X(XFR_OK, "transfer_succeeded")                                                                \
    X(XFR_FAILED, "transfer_failed")                                                               \
    X(REFRESH_FAILED, "refresh_failed")                                                            \
    X(ZONE_EXPIRED, "zone_expired")                                                                \
    X(ZONE_EXPIRES_IN, "zone_expires_in")                                                          \
    X(ZONE_LOADED, "zone_loaded")                                                                  \
    X(XFR_OUT, "transfer_served")                                                                  \
    X(XFR_DENIED, "transfer_denied")                                                               \
    X(UPDATE_OK, "update_approved")                                                                \
    X(UPDATE_DENIED, "update_denied")                                                              \
    X(EDNS_ERROR, "edns_error")                                                                    \
    X(LAME, "lame_server")

enum srvlog_kind {
#define SRVLOG_X_ENUM(id, name) SL_##id,
    SRVLOG_KINDS(SRVLOG_X_ENUM)
#undef SRVLOG_X_ENUM
        SL_KINDS
};

/* Lines not turned into events, by reason. */
#define SRVLOG_SKIPS(X)                                                                            \
    X(IGNORED, "ignored")             /* understood, nothing to count (start-up, stats...) */      \
    X(NO_TIMESTAMP, "no_timestamp")   /* no time stamp in a known form */                          \
    X(OTHER_PROGRAM, "other_program") /* a syslog line of another program */                       \
    X(UNPARSED, "unparsed")           /* mentions zones, transfers, EDNS... but not understood */  \
    X(TOO_LONG, "too_long")

enum srvlog_skip {
#define SRVLOG_S_ENUM(id, name) SL_SKIP_##id,
    SRVLOG_SKIPS(SRVLOG_S_ENUM)
#undef SRVLOG_S_ENUM
        SL_SKIPS
};

struct srvlog_event {
    enum srvlog_kind kind;
    enum srvlog_format format; /* the server that wrote it */
    uint64_t ts_ns;
    char zone[256];   /* "example.com." */
    char peer[64];    /* the other server (primary, secondary) or the client */
    char qname[256];  /* queries/replies */
    char qtype[16];   /* queries/replies */
    char rcode[16];   /* replies, failures */
    char detail[256]; /* the reason, as the server said it */
    int64_t serial;   /* -1 when unknown */
    int64_t seconds;  /* ZONE_EXPIRES_IN */
    char origin[256]; /* who wrote it: the syslog host, else the log file's path */
};

typedef struct srvlog srvlog;

/* True if the text (the first lines of a file) is a log: a server log we read, or a syslog
 * file (traditional, RFC 3339 or RFC 5424 stamps) whatever programs its first lines come
 * from. */
bool srvlog_sniff(const char *text, size_t n);

/* Opens a log file. fmt forces the format of lines that do not name their program. */
srvlog *srvlog_open(const char *path, enum srvlog_format fmt, char *err, size_t errlen);

/* The same on a stream already open (a decompressed one, say); the stream stays the
 * caller's to close, after srvlog_close(). */
srvlog *srvlog_open_stream(FILE *f, const char *path, enum srvlog_format fmt, char *err,
                           size_t errlen);

/* Parses one line (without the newline) into *ev; returns true for an event. Exposed for
 * the unit tests; year is used for syslog stamps that have none. */
bool srvlog_parse_line(srvlog *l, const char *line, struct srvlog_event *ev);

/* Next event: 1, or 0 at the end of the file. */
int srvlog_next(srvlog *l, struct srvlog_event *ev);

/* Follows a growing log (tail -F): starts at its end; srvlog_follow_next() returns 1 per
 * event of the lines written since, 0 when there is nothing more for now. A rotated
 * (replaced) or truncated file is reopened from its start. */
srvlog *srvlog_follow(const char *path, enum srvlog_format fmt, char *err, size_t errlen);
int srvlog_follow_next(srvlog *l, struct srvlog_event *ev);

const uint64_t *srvlog_events(const srvlog *l); /* [SL_KINDS] */
const uint64_t *srvlog_skips(const srvlog *l);  /* [SL_SKIPS] */
uint64_t srvlog_lines(const srvlog *l);
const char *srvlog_unparsed_sample(const srvlog *l); /* "" if none */
const char *srvlog_kind_name(enum srvlog_kind k);
const char *srvlog_skip_name(enum srvlog_skip s);
const char *srvlog_format_name(enum srvlog_format f);
/* The server that wrote an event, for alerts: the format and the syslog host or the log
 * file's last path parts ("bind ns1", "knot knot/knot.log"), so that alerts from several
 * servers' logs stay apart. */
void srvlog_writer(const struct srvlog_event *ev, char *out, size_t n);
bool srvlog_format_parse(const char *s, enum srvlog_format *f);

void srvlog_close(srvlog *l);

#endif
