/* SPDX-License-Identifier: MIT */
/* Line parser: first the time stamp and the program (each server has its own prefix, and
 * syslog adds "Mon DD HH:MM:SS host prog[pid]:"), then the message by program. The message
 * patterns are the ones Debian 12's packages write (BIND 9.18, Unbound 1.17, NSD 4.6,
 * Knot 3.2), taken from real runs (tests/sys/logs.sh). Lines are bounded (4 KiB); times
 * without a year get the year of the file's modification time (one year earlier if that
 * would put them more than a day after it); times without a zone are local time. */
#include "srvlog.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define LINE_MAX_LEN 4096

struct srvlog {
    FILE *f;
    bool own; /* f is closed with the log */
    char path[512];
    enum srvlog_format force;
    int year;     /* for syslog stamps */
    time_t mtime; /* of the file */
    uint64_t lines;
    uint64_t events[SL_KINDS];
    uint64_t skips[SL_SKIPS];
    char sample[256]; /* first unparsed relevant line */
    char line[LINE_MAX_LEN + 2];
    char pend[LINE_MAX_LEN + 2]; /* follow mode: bytes of a line not yet complete */
    size_t plen;
    bool skipping; /* follow mode: inside a line longer than LINE_MAX_LEN */
};

static const char *const kind_names[SL_KINDS] = {
#define SRVLOG_X_NAME(id, name) name,
    SRVLOG_KINDS(SRVLOG_X_NAME)
#undef SRVLOG_X_NAME
};
static const char *const skip_names[SL_SKIPS] = {
#define SRVLOG_S_NAME(id, name) name,
    SRVLOG_SKIPS(SRVLOG_S_NAME)
#undef SRVLOG_S_NAME
};
static const char *const format_names[SRVLOG_FORMATS] = {"auto", "bind", "unbound", "nsd", "knot"};

const char *srvlog_kind_name(enum srvlog_kind k)
{
    return kind_names[k];
}

const char *srvlog_skip_name(enum srvlog_skip s)
{
    return skip_names[s];
}

const char *srvlog_format_name(enum srvlog_format f)
{
    return format_names[f];
}

void srvlog_writer(const struct srvlog_event *ev, char *out, size_t n)
{
    const char *o = ev->origin, *slash = strrchr(o, '/');

    if (!o[0]) {
        snprintf(out, n, "%s", format_names[ev->format]);
        return;
    }
    /* A file: its last two path parts ("ns1/named.log"), enough to tell servers apart. */
    if (slash) {
        const char *p = slash;
        while (p > o && p[-1] != '/')
            p--;
        o = p > o ? p : slash + 1;
        if (strlen(o) > 32)
            o = slash + 1;
    }
    snprintf(out, n, "%s %.40s", format_names[ev->format], o);
}

bool srvlog_format_parse(const char *s, enum srvlog_format *f)
{
    for (int i = 0; i < SRVLOG_FORMATS; i++)
        if (!strcmp(s, format_names[i])) {
            *f = (enum srvlog_format)i;
            return true;
        }
    return false;
}

static void cpy(char *dst, size_t n, const char *src, size_t len);

static int month(const char *m)
{
    static const char *const names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (!strncmp(m, names[i], 3))
            return i;
    return -1;
}

/* mktime() is slow (it consults the zone rules every time); lines come in time order, so
 * the start of the last minute converted is remembered per thread and mode. */
static uint64_t mk(struct tm *tm, long nsec, int offset_s, bool utc)
{
    static _Thread_local struct {
        int y, mo, d, h, mi;
        bool utc, valid;
        time_t minute;
    } c;
    int sec = tm->tm_sec;
    time_t t;

    if (c.valid && c.utc == utc && c.y == tm->tm_year && c.mo == tm->tm_mon && c.d == tm->tm_mday &&
        c.h == tm->tm_hour && c.mi == tm->tm_min) {
        t = c.minute + sec;
    } else {
        tm->tm_isdst = -1;
        tm->tm_sec = 0;
        t = utc ? timegm(tm) : mktime(tm);
        if (t < 0)
            return 0;
        c.y = tm->tm_year, c.mo = tm->tm_mon, c.d = tm->tm_mday, c.h = tm->tm_hour;
        c.mi = tm->tm_min, c.utc = utc, c.valid = true, c.minute = t;
        t += sec;
    }
    if (utc)
        t -= offset_s;
    if (t < 0)
        return 0;
    return (uint64_t)t * 1000000000ull + (uint64_t)nsec;
}

static long frac_ns(const char *p, const char **end)
{
    long ns = 0;
    int digits = 0;
    if (*p == '.' || *p == ',') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9) {
                ns = ns * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits++ < 9)
            ns *= 10;
    }
    *end = p;
    return ns;
}

/* What a line's prefix said: its time, the program that wrote it (as a format), and for a
 * syslog line the host and that it was one. */
struct pfx {
    uint64_t ts;
    enum srvlog_format fmt;
    bool syslog;
    char host[64];
};

/* An RFC 3339 time stamp ("2026-11-23T20:07:36.132392+00:00", "...Z", "...+0000"): stores
 * it in *ts and returns the rest, or NULL. */
static const char *rfc3339(const char *s, uint64_t *ts)
{
    struct tm tm = {0};
    int n = 0, y, mo, d, h, mi, se, off = 0;
    const char *p;
    long ns;

    if (!isdigit((unsigned char)s[0]) ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return NULL;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
    ns = frac_ns(s + n, &p);
    if (*p == 'Z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2])) {
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = 0;
        const char *q = p + 3;
        if (*q == ':')
            q++;
        if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1])) {
            om = (q[0] - '0') * 10 + (q[1] - '0');
            q += 2;
        }
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p = q;
    }
    *ts = mk(&tm, ns, off, true);
    return p;
}

/* The server a syslog program name stands for (SRVLOG_AUTO: another program). */
static enum srvlog_format prog_format(const char *prog, size_t len)
{
    static const struct {
        const char *name;
        enum srvlog_format fmt;
    } progs[] = {{"named", SRVLOG_BIND},
                 {"unbound", SRVLOG_UNBOUND},
                 {"nsd", SRVLOG_NSD},
                 {"knotd", SRVLOG_KNOT}};
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        if (strlen(progs[i].name) == len && !strncmp(prog, progs[i].name, len))
            return progs[i].fmt;
    return SRVLOG_AUTO;
}

/* Unbound through syslog repeats its process and thread: "[24186:0] info: ...". */
static const char *unbound_tid(const struct pfx *p, const char *s)
{
    if (p->fmt == SRVLOG_UNBOUND && s[0] == '[' && isdigit((unsigned char)s[1])) {
        const char *e = strchr(s, ']');
        if (e && e[1] == ' ')
            return e + 2;
    }
    return s;
}

/* The rest of a syslog line after its time stamp (RFC 3164 style, as rsyslog writes it with
 * either stamp): " HOST PROG[PID]: MSG", or " PROG[PID]: MSG" without a host (Unbound's
 * log-time-ascii). Sets the host and the program's format; returns MSG or NULL. */
static const char *syslog_tail(srvlog *l, const char *s, struct pfx *p)
{
    const char *t1, *t2;
    size_t n1, n2;

    while (*s == ' ')
        s++;
    t1 = s;
    n1 = strcspn(t1, " ");
    if (!n1 || !t1[n1])
        return NULL;
    t2 = t1 + n1 + 1;
    n2 = strcspn(t2, " ");
    if (memchr(t1, '[', n1) && (t1[n1 - 1] == ':' || t1[n1 - 1] == ']')) { /* no host */
        t2 = t1;
        n2 = n1;
        t1 = NULL;
    } else if (t1[n1 - 1] == ':' || !n2 || (t2[n2 - 1] != ':' && !memchr(t2, '[', n2))) {
        return NULL; /* "info: ..." is a message, not a host (Knot's own log) */
    }
    p->syslog = true;
    if (t1)
        cpy(p->host, sizeof(p->host), t1, n1);
    p->fmt = prog_format(t2, strcspn(t2, "[:"));
    if (p->fmt == SRVLOG_AUTO && l)
        p->fmt = l->force;
    s = t2[n2] ? t2 + n2 + 1 : t2 + n2;
    return unbound_tid(p, s);
}

/* RFC 5424: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG" (the
 * <PRI> is left out by some writers). Returns MSG or NULL. */
static const char *rfc5424(srvlog *l, const char *s, struct pfx *p)
{
    const char *f[4], *q;
    size_t n[4];

    if (*s == '<') {
        s++;
        while (isdigit((unsigned char)*s))
            s++;
        if (*s++ != '>')
            return NULL;
    }
    if (s[0] != '1' || s[1] != ' ' || !(q = rfc3339(s + 2, &p->ts)) || *q != ' ')
        return NULL;
    for (int i = 0; i < 4; i++) { /* HOSTNAME APP-NAME PROCID MSGID */
        f[i] = ++q;
        n[i] = strcspn(q, " ");
        if (!n[i] || !q[n[i]])
            return NULL;
        q += n[i];
    }
    q++;
    if (*q == '-') {
        q++;
    } else {
        while (*q == '[') { /* SD-ELEMENTs; "]" inside values is escaped */
            for (q++; *q && *q != ']'; q++)
                if (*q == '\\' && q[1])
                    q++;
            if (*q != ']')
                return NULL;
            q++;
        }
    }
    p->syslog = true;
    if (!(n[0] == 1 && f[0][0] == '-'))
        cpy(p->host, sizeof(p->host), f[0], n[0]);
    p->fmt = prog_format(f[1], n[1]);
    if (p->fmt == SRVLOG_AUTO && l)
        p->fmt = l->force;
    if (*q == ' ')
        q++;
    if (!strncmp(q, "\xef\xbb\xbf", 3)) /* BOM */
        q += 3;
    return unbound_tid(p, q);
}

/* Splits the prefix into *p and returns the message, or NULL when there is no time stamp in
 * a known form. */
static const char *prefix(srvlog *l, const char *s, struct pfx *px)
{
    struct tm tm = {0};
    int n = 0, y, mo, d, h, mi, se;
    char mon[4];
    const char *p;
    long ns;

    memset(px, 0, sizeof(*px));
    px->fmt = l ? l->force : SRVLOG_AUTO;
    /* Unbound: "[1795479994] unbound[24240:0] info: ..." */
    if (s[0] == '[' && isdigit((unsigned char)s[1])) {
        unsigned long long ep;
        if (sscanf(s, "[%llu]%n", &ep, &n) == 1 && n > 0 && s[n] == ' ') {
            px->ts = ep * 1000000000ull;
            p = s + n + 1;
            if (!strncmp(p, "unbound[", 8))
                px->fmt = SRVLOG_UNBOUND;
            p = strchr(p, ' ');
            return p ? p + 1 : NULL;
        }
        /* NSD: "[2026-11-24 00:26:26.851] nsd[24238]: info: ..." */
        if (sscanf(s, "[%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) == 6) {
            tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
            tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
            ns = frac_ns(s + n, &p);
            if (*p != ']')
                return NULL;
            px->ts = mk(&tm, ns, 0, false);
            p += 2;
            if (!strncmp(p, "nsd[", 4))
                px->fmt = SRVLOG_NSD;
            p = strchr(p, ' ');
            return p ? p + 1 : NULL;
        }
        return NULL;
    }
    if (s[0] == '<' || (s[0] == '1' && s[1] == ' '))
        return rfc5424(l, s, px);
    /* BIND file channel: "24-Nov-2026 00:26:26.982 xfer-in: info: ..." */
    if (isdigit((unsigned char)s[0]) &&
        sscanf(s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d%n", &d, mon, &y, &h, &mi, &se, &n) == 6 &&
        month(mon) >= 0) {
        tm.tm_year = y - 1900, tm.tm_mon = month(mon), tm.tm_mday = d;
        tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
        ns = frac_ns(s + n, &p);
        px->ts = mk(&tm, ns, 0, false);
        px->fmt = SRVLOG_BIND;
        return *p == ' ' ? p + 1 : p;
    }
    /* An RFC 3339 stamp: rsyslog's default in Debian 12 ("2026-11-23T20:07:36.132392+00:00
     * vm unbound[24186]: ...") or Knot's own log ("2026-11-24T00:27:09+0000 info: ..."). */
    if ((p = rfc3339(s, &px->ts))) {
        const char *m = syslog_tail(l, p, px);
        if (m)
            return m;
        px->syslog = false;
        px->host[0] = 0;
        if (px->fmt == SRVLOG_AUTO)
            px->fmt = SRVLOG_KNOT;
        return *p == ' ' ? p + 1 : p;
    }
    /* Traditional syslog: "Nov 24 00:26:26 host prog[pid]: message" */
    if (month(s) >= 0 && sscanf(s, "%3s %2d %2d:%2d:%2d%n", mon, &d, &h, &mi, &se, &n) == 5) {
        tm.tm_year = (l ? l->year : 2026) - 1900, tm.tm_mon = month(mon), tm.tm_mday = d;
        tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
        px->ts = mk(&tm, 0, 0, false);
        if (l && l->mtime && px->ts / 1000000000ull > (uint64_t)l->mtime + 86400) {
            tm.tm_year--;
            px->ts = mk(&tm, 0, 0, false);
        }
        return syslog_tail(l, s + n, px);
    }
    return NULL;
}

/* Skips "category: " and "severity: " words (BIND, NSD, Knot, Unbound). */
static const char *skip_labels(const char *m)
{
    static const char *const sev[] = {
        "debug: ",    "info: ",  "notice: ",    "warning: ",    "error: ",
        "critical: ", "alert: ", "emergency: ", "fatal error: "};
    for (int round = 0; round < 2; round++) {
        const char *c = m;
        bool found = false;
        for (size_t i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
            if (!strncmp(m, sev[i], strlen(sev[i]))) {
                m += strlen(sev[i]);
                found = true;
                break;
            }
        if (found)
            continue;
        /* a BIND category: one word of [a-z-] followed by ": " */
        while (*c && (islower((unsigned char)*c) || *c == '-'))
            c++;
        if (c > m && c[0] == ':' && c[1] == ' ' && round == 0)
            m = c + 2;
    }
    return m;
}

static void cpy(char *dst, size_t n, const char *src, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
}

/* The token up to one of stop (or the end). */
static size_t tok(const char *s, const char *stop)
{
    return strcspn(s, stop);
}

static void zone_dot(char *z, size_t n)
{
    size_t l = strlen(z);
    for (size_t i = 0; i < l; i++)
        z[i] = (char)tolower((unsigned char)z[i]);
    if (l && z[l - 1] != '.' && l + 1 < n) {
        z[l] = '.';
        z[l + 1] = 0;
    }
}

/* "zone example.test/IN: rest" -> zone, returns rest (after ": "), or NULL. BIND also
 * writes views: "zone example.test/IN/internal: ". */
static const char *bind_zone(const char *m, struct srvlog_event *ev)
{
    const char *z, *e;
    if (strncmp(m, "zone ", 5))
        return NULL;
    z = m + 5;
    e = z + tok(z, "/:");
    cpy(ev->zone, sizeof(ev->zone), z, (size_t)(e - z));
    zone_dot(ev->zone, sizeof(ev->zone));
    e = strstr(z, ": ");
    return e ? e + 2 : NULL;
}

/* "... from 127.0.0.1#20712 ..." / "primary 127.0.0.1#20712" -> peer */
static void peer_after(const char *m, const char *word, struct srvlog_event *ev)
{
    const char *p = strstr(m, word);
    if (!p)
        return;
    p += strlen(word);
    cpy(ev->peer, sizeof(ev->peer), p, tok(p, " :,)'\""));
}

static bool bind_msg(const char *m, struct srvlog_event *ev)
{
    const char *r, *p;

    if ((r = bind_zone(m, ev))) {
        if (!strncmp(r, "refresh: ", 9)) {
            ev->kind = SL_REFRESH_FAILED;
            peer_after(r, "primary ", ev);
            if (!ev->peer[0])
                peer_after(r, "master ", ev);
            cpy(ev->detail, sizeof(ev->detail), r + 9, strlen(r + 9));
            return true;
        }
        if (!strncmp(r, "expired", 7)) {
            ev->kind = SL_ZONE_EXPIRED;
            return true;
        }
        if ((p = strstr(r, "loaded serial ")) || (p = strstr(r, "transferred serial "))) {
            ev->kind = SL_ZONE_LOADED;
            ev->serial = strtoll(strstr(p, "serial ") + 7, NULL, 10);
            return true;
        }
        if (!strncmp(r, "Transfer started", 16) || !strncmp(r, "notify from ", 12) ||
            !strncmp(r, "sending notifies", 16)) {
            ev->kind = SL_KINDS; /* understood, nothing to count */
            return true;
        }
        return false;
    }
    if (!strncmp(m, "transfer of '", 13) &&
        (strstr(m, ": connected using ") || strstr(m, ": Transfer completed: ") ||
         strstr(m, ": failed while ") || strstr(m, ": failed to connect: "))) {
        ev->kind = SL_KINDS; /* the "Transfer status" line says how it went */
        return true;
    }
    if (!strcmp(m, "all zones loaded") || !strncmp(m, "running", 7)) {
        ev->kind = SL_KINDS;
        return true;
    }
    /* transfer of 'example.test/IN' from 127.0.0.1#20712: Transfer status: success */
    if (!strncmp(m, "transfer of '", 13) && (p = strstr(m, "Transfer status: "))) {
        const char *z = m + 13;
        cpy(ev->zone, sizeof(ev->zone), z, tok(z, "/'"));
        zone_dot(ev->zone, sizeof(ev->zone));
        peer_after(m, "' from ", ev);
        p += 17;
        if (!strncmp(p, "success", 7)) {
            ev->kind = SL_XFR_OK;
        } else {
            ev->kind = SL_XFR_FAILED;
            cpy(ev->detail, sizeof(ev->detail), p, strlen(p));
        }
        return true;
    }
    if (!strncmp(m, "client ", 7) && strstr(m, ": received notify for zone")) {
        ev->kind = SL_KINDS;
        return true;
    }
    if (!strncmp(m, "client ", 7)) {
        /* client @0x7f5e 127.0.0.1#54702 (www.example.test): <what> */
        const char *c = m + 7, *w;
        if (*c == '@')
            c += tok(c, " ") + 1;
        cpy(ev->peer, sizeof(ev->peer), c, tok(c, " "));
        w = strstr(c, "): ");
        if (!w)
            return false;
        w += 3;
        if (!strncmp(w, "view ", 5)) /* "view internal: query: ..." */
            w = strstr(w, ": ") ? strstr(w, ": ") + 2 : w;
        if (!strncmp(w, "query: ", 7)) {
            /* query: www.example.test IN A +E(0)K (127.0.0.1) */
            char name[256], cls[16], type[16];
            if (sscanf(w + 7, "%255s %15s %15s", name, cls, type) != 3)
                return false;
            ev->kind = SL_QUERY;
            snprintf(ev->qname, sizeof(ev->qname), "%s", name);
            zone_dot(ev->qname, sizeof(ev->qname));
            snprintf(ev->qtype, sizeof(ev->qtype), "%s", type);
            return true;
        }
        if ((p = strstr(w, "zone transfer '")) && strstr(w, "denied")) {
            ev->kind = SL_XFR_DENIED;
            cpy(ev->zone, sizeof(ev->zone), p + 15, tok(p + 15, "/'"));
            zone_dot(ev->zone, sizeof(ev->zone));
            return true;
        }
        if (strstr(w, "received notify for zone") || strstr(w, "AXFR ended") ||
            strstr(w, "IXFR ended")) {
            ev->kind = SL_KINDS;
            return true;
        }
        if ((p = strstr(w, "transfer of '")) && strstr(w, " started")) {
            ev->kind = SL_XFR_OUT;
            cpy(ev->zone, sizeof(ev->zone), p + 13, tok(p + 13, "/'"));
            zone_dot(ev->zone, sizeof(ev->zone));
            return true;
        }
        if ((p = strstr(w, "update '")) && strstr(w, "denied")) {
            ev->kind = SL_UPDATE_DENIED;
            cpy(ev->zone, sizeof(ev->zone), p + 8, tok(p + 8, "/'"));
            zone_dot(ev->zone, sizeof(ev->zone));
            return true;
        }
        if ((p = strstr(w, "updating zone '"))) {
            ev->kind = SL_UPDATE_OK;
            cpy(ev->zone, sizeof(ev->zone), p + 15, tok(p + 15, "/'"));
            zone_dot(ev->zone, sizeof(ev->zone));
            return true;
        }
        return false;
    }
    if (strstr(m, "EDNS") || strstr(m, "BADVERS")) {
        ev->kind = SL_EDNS_ERROR;
        cpy(ev->detail, sizeof(ev->detail), m, strlen(m));
        return true;
    }
    if (strstr(m, "lame server")) {
        ev->kind = SL_LAME;
        cpy(ev->detail, sizeof(ev->detail), m, strlen(m));
        return true;
    }
    return false;
}

static bool nsd_msg(const char *m, struct srvlog_event *ev)
{
    const char *p;
    char z[256];

    if (!strncmp(m, "xfrd: zone ", 11)) {
        const char *zs = m + 11;
        cpy(ev->zone, sizeof(ev->zone), zs, tok(zs, " :"));
        zone_dot(ev->zone, sizeof(ev->zone));
        if ((p = strstr(zs, "received error code "))) {
            ev->kind = SL_XFR_FAILED;
            cpy(ev->rcode, sizeof(ev->rcode), p + 20, tok(p + 20, " "));
            snprintf(ev->detail, sizeof(ev->detail), "error code %s", ev->rcode);
            peer_after(p, " from ", ev);
            return true;
        }
        if ((p = strstr(zs, "committed \"received update to serial "))) {
            ev->kind = SL_XFR_OK;
            ev->serial = strtoll(p + 37, NULL, 10);
            peer_after(p, " from ", ev);
            return true;
        }
        if (strstr(zs, "expired")) {
            ev->kind = SL_ZONE_EXPIRED;
            return true;
        }
        return false;
    }
    if (!strncmp(m, "zone ", 5) && strstr(m, " received update to serial ")) {
        ev->kind = SL_KINDS; /* the server process repeats what xfrd committed */
        return true;
    }
    if (!strncmp(m, "zone ", 5) && strstr(m, " read with success")) {
        cpy(ev->zone, sizeof(ev->zone), m + 5, tok(m + 5, " "));
        zone_dot(ev->zone, sizeof(ev->zone));
        ev->kind = SL_ZONE_LOADED;
        return true;
    }
    if (!strncmp(m, "zone ", 5) && (p = strstr(m, " is updated to "))) {
        cpy(ev->zone, sizeof(ev->zone), m + 5, tok(m + 5, " "));
        zone_dot(ev->zone, sizeof(ev->zone));
        ev->kind = SL_ZONE_LOADED;
        ev->serial = strtoll(p + 15, NULL, 10);
        return true;
    }
    if (!strncmp(m, "axfr for ", 9) || !strncmp(m, "ixfr for ", 9)) {
        cpy(ev->zone, sizeof(ev->zone), m + 9, tok(m + 9, " "));
        zone_dot(ev->zone, sizeof(ev->zone));
        peer_after(m, " from ", ev);
        ev->kind = strstr(m, "refused") ? SL_XFR_DENIED : SL_XFR_OUT;
        return true;
    }
    /* "example.test: Could not tcp connect to 127.0.0.1@20712: Connection refused" */
    if (sscanf(m, "%255[^: ]: Could not tcp connect to%n", z, &(int){0}) == 1 &&
        (p = strstr(m, ": Could not tcp connect to "))) {
        snprintf(ev->zone, sizeof(ev->zone), "%s", z);
        zone_dot(ev->zone, sizeof(ev->zone));
        ev->kind = SL_REFRESH_FAILED;
        peer_after(p, "connect to ", ev);
        p = strrchr(m, ':');
        cpy(ev->detail, sizeof(ev->detail), p ? p + 2 : m, strlen(p ? p + 2 : m));
        return true;
    }
    if ((p = strstr(m, "zone ")) && strstr(m, "expired")) {
        cpy(ev->zone, sizeof(ev->zone), p + 5, tok(p + 5, " :"));
        zone_dot(ev->zone, sizeof(ev->zone));
        ev->kind = SL_ZONE_EXPIRED;
        return true;
    }
    return false;
}

static bool knot_msg(const char *m, struct srvlog_event *ev)
{
    const char *r, *p;
    if (m[0] != '[' || !(r = strstr(m, "] ")))
        return false;
    cpy(ev->zone, sizeof(ev->zone), m + 1, (size_t)(r - m - 1));
    zone_dot(ev->zone, sizeof(ev->zone));
    r += 2;
    if (!strncmp(r, "AXFR, incoming", 14) || !strncmp(r, "IXFR, incoming", 14)) {
        peer_after(r, "remote ", ev);
        if (strstr(r, ", finished")) {
            ev->kind = SL_XFR_OK;
            return true;
        }
        if ((p = strstr(r, "error '")) || (p = strstr(r, "failed ("))) {
            ev->kind = SL_XFR_FAILED;
            cpy(ev->detail, sizeof(ev->detail), p, strlen(p));
            if (!strncmp(p, "error '", 7))
                cpy(ev->rcode, sizeof(ev->rcode), p + 7, tok(p + 7, "'"));
            return true;
        }
        ev->kind = SL_KINDS; /* started etc.: understood, not counted */
        return true;
    }
    if (!strncmp(r, "AXFR, outgoing", 14) || !strncmp(r, "IXFR, outgoing", 14)) {
        peer_after(r, "remote ", ev);
        ev->kind = strstr(r, "started") ? SL_XFR_OUT : SL_KINDS;
        return true;
    }
    if (!strncmp(r, "refresh, ", 9)) {
        if ((p = strstr(r, "expires in "))) {
            ev->kind = SL_ZONE_EXPIRES_IN;
            ev->seconds = strtoll(p + 11, NULL, 10);
            if ((p = strstr(r, "-> ")))
                ev->serial = strtoll(p + 3, NULL, 10);
            peer_after(r, "remote ", ev);
            return true;
        }
        if ((p = strstr(r, "failed ("))) {
            /* Knot writes a line per address and a summary line; count the summary
             * ("refresh, failed (...)") and the per-address lines that name the address. */
            ev->kind = SL_REFRESH_FAILED;
            peer_after(r, "address ", ev);
            if (!ev->peer[0] && strncmp(r, "refresh, failed", 15)) {
                peer_after(r, "remote ", ev);
            }
            cpy(ev->detail, sizeof(ev->detail), p + 8, tok(p + 8, ")"));
            if (!strncmp(r, "refresh, failed", 15)) {
                ev->kind = SL_KINDS; /* the per-remote lines already said it */
            }
            return true;
        }
        ev->kind = SL_KINDS;
        return true;
    }
    if (!strncmp(r, "zone expired", 12)) {
        ev->kind = SL_ZONE_EXPIRED;
        return true;
    }
    if ((p = strstr(r, "serial ")) &&
        (!strncmp(r, "zone file updated", 17) || !strncmp(r, "loaded", 6))) {
        ev->kind = SL_ZONE_LOADED;
        ev->serial = strtoll(p + 7, NULL, 10);
        return true;
    }
    if (strstr(r, "ACL, denied") && strstr(r, "transfer")) {
        ev->kind = SL_XFR_DENIED;
        peer_after(r, "remote ", ev);
        return true;
    }
    if (strstr(r, "ACL, denied") && strstr(r, "update")) {
        ev->kind = SL_UPDATE_DENIED;
        peer_after(r, "remote ", ev);
        return true;
    }
    ev->kind = SL_KINDS;
    return true;
}

static bool unbound_msg(const char *m, struct srvlog_event *ev)
{
    /* query:  "127.0.0.1 www.example.test. A IN"
     * reply:  "127.0.0.1 www.example.test. A IN NOERROR 0.000000 1 104" */
    char a[64], name[256], type[16], cls[16], rc[16];
    double t;
    int cached, size, n;

    n = sscanf(m, "%63s %255s %15s %15s %15s %lf %d %d", a, name, type, cls, rc, &t, &cached,
               &size);
    if ((n == 4 || n == 8) && (!strcmp(cls, "IN") || !strcmp(cls, "CH") || !strcmp(cls, "ANY")) &&
        strchr(name, '.')) {
        ev->kind = n == 4 ? SL_QUERY : SL_REPLY;
        snprintf(ev->peer, sizeof(ev->peer), "%s", a);
        snprintf(ev->qname, sizeof(ev->qname), "%s", name);
        zone_dot(ev->qname, sizeof(ev->qname));
        snprintf(ev->qtype, sizeof(ev->qtype), "%s", type);
        if (n == 8)
            snprintf(ev->rcode, sizeof(ev->rcode), "%s", rc);
        return true;
    }
    if (strstr(m, "EDNS")) {
        ev->kind = SL_EDNS_ERROR;
        cpy(ev->detail, sizeof(ev->detail), m, strlen(m));
        return true;
    }
    if (strstr(m, "lame")) {
        ev->kind = SL_LAME;
        cpy(ev->detail, sizeof(ev->detail), m, strlen(m));
        return true;
    }
    return false;
}

/* Words that make a line matter: if such a line is not understood it is "unparsed". */
static bool relevant(const char *m)
{
    static const char *const words[] = {"zone ", "transfer", "refresh", "expire", "xfr",
                                        "AXFR",  "IXFR",     "denied",  "EDNS",   "update"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(m, words[i]))
            return true;
    return false;
}

bool srvlog_parse_line(srvlog *l, const char *line, struct srvlog_event *ev)
{
    struct pfx px;
    const char *m;
    bool ok = false;

    memset(ev, 0, sizeof(*ev));
    ev->serial = -1;
    ev->seconds = -1;
    m = prefix(l, line, &px);
    if (!m) {
        if (l)
            l->skips[SL_SKIP_NO_TIMESTAMP]++;
        return false;
    }
    if (px.fmt == SRVLOG_AUTO) {
        if (l)
            l->skips[SL_SKIP_OTHER_PROGRAM]++;
        return false;
    }
    m = skip_labels(m);
    ev->ts_ns = px.ts;
    ev->format = px.fmt;
    /* Who wrote it: the syslog host, else the log file. */
    {
        const char *o = px.host[0] ? px.host : l ? l->path : "";
        cpy(ev->origin, sizeof(ev->origin), o, strlen(o));
    }
    switch (px.fmt) {
    case SRVLOG_BIND:
        ok = bind_msg(m, ev);
        break;
    case SRVLOG_NSD:
        ok = nsd_msg(m, ev);
        break;
    case SRVLOG_KNOT:
        ok = knot_msg(m, ev);
        break;
    case SRVLOG_UNBOUND:
        ok = unbound_msg(m, ev);
        break;
    default:
        break;
    }
    if (ok && ev->kind != SL_KINDS) {
        if (l)
            l->events[ev->kind]++;
        return true;
    }
    if (!l)
        return false;
    if (!ok && relevant(m)) {
        l->skips[SL_SKIP_UNPARSED]++;
        if (!l->sample[0])
            snprintf(l->sample, sizeof(l->sample), "%s", line);
    } else {
        l->skips[SL_SKIP_IGNORED]++;
    }
    return false;
}

/* A log is recognised by its first lines, whoever wrote them: a syslog file (any of the
 * three stamp forms) whose first lines come from other programs is a log too. At least one
 * of the first SNIFF_LINES complete lines must be a log line, and most of them. */
#define SNIFF_LINES 16

bool srvlog_sniff(const char *text, size_t n)
{
    char line[LINE_MAX_LEN + 1];
    unsigned good = 0, bad = 0;
    size_t o = 0;

    while (o < n && good + bad < SNIFF_LINES) {
        size_t len = 0;
        struct pfx px;
        while (o + len < n && text[o + len] != '\n')
            len++;
        if (o + len == n && good + bad > 0)
            break; /* a line cut by the end of the sample says nothing */
        if (len > 0 && len < sizeof(line)) {
            memcpy(line, text + o, len);
            line[len] = 0;
            if (line[len - 1] == '\r')
                line[len - 1] = 0;
            if (prefix(NULL, line, &px) && (px.fmt != SRVLOG_AUTO || px.syslog))
                good++;
            else
                bad++;
        }
        o += len + 1;
    }
    return good > 0 && good >= bad;
}

srvlog *srvlog_open(const char *path, enum srvlog_format fmt, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    srvlog *l;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    l = srvlog_open_stream(f, path, fmt, err, errlen);
    if (!l)
        fclose(f);
    else
        l->own = true;
    return l;
}

srvlog *srvlog_open_stream(FILE *f, const char *path, enum srvlog_format fmt, char *err,
                           size_t errlen)
{
    srvlog *l = calloc(1, sizeof(*l));
    struct stat sb;
    struct tm tm;

    if (!l) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    l->f = f;
    snprintf(l->path, sizeof(l->path), "%s", path);
    l->force = fmt;
    /* The year of syslog stamps: the file's (a stream of a compressed file has no fd). */
    l->mtime = stat(path, &sb) == 0 ? sb.st_mtime : time(NULL);
    localtime_r(&l->mtime, &tm);
    l->year = tm.tm_year + 1900;
    return l;
}

int srvlog_next(srvlog *l, struct srvlog_event *ev)
{
    while (fgets(l->line, sizeof(l->line), l->f)) {
        size_t len = strlen(l->line);
        l->lines++;
        if (len && l->line[len - 1] != '\n' && !feof(l->f)) {
            /* Longer than LINE_MAX_LEN: skip the rest of it. */
            int c;
            while ((c = fgetc(l->f)) != EOF && c != '\n')
                ;
            l->skips[SL_SKIP_TOO_LONG]++;
            continue;
        }
        while (len && (l->line[len - 1] == '\n' || l->line[len - 1] == '\r'))
            l->line[--len] = 0;
        if (!len)
            continue;
        if (srvlog_parse_line(l, l->line, ev))
            return 1;
    }
    return 0;
}

srvlog *srvlog_follow(const char *path, enum srvlog_format fmt, char *err, size_t errlen)
{
    srvlog *l = srvlog_open(path, fmt, err, errlen);
    if (l)
        lseek(fileno(l->f), 0, SEEK_END);
    return l;
}

int srvlog_follow_next(srvlog *l, struct srvlog_event *ev)
{
    int fd = fileno(l->f);
    for (int guard = 0; guard < 1000000; guard++) {
        char *nl = memchr(l->pend, '\n', l->plen);
        if (nl) {
            size_t len = (size_t)(nl - l->pend);
            bool skip = l->skipping;
            memcpy(l->line, l->pend, len);
            l->line[len] = 0;
            memmove(l->pend, nl + 1, l->plen - len - 1);
            l->plen -= len + 1;
            l->skipping = false;
            if (skip)
                continue;
            l->lines++;
            while (len && l->line[len - 1] == '\r')
                l->line[--len] = 0;
            if (len && srvlog_parse_line(l, l->line, ev))
                return 1;
            continue;
        }
        if (l->plen >= LINE_MAX_LEN) {
            if (!l->skipping)
                l->skips[SL_SKIP_TOO_LONG]++;
            l->skipping = true;
            l->plen = 0;
        }
        {
            ssize_t r = read(fd, l->pend + l->plen, LINE_MAX_LEN - l->plen);
            struct stat a, b;
            if (r > 0) {
                l->plen += (size_t)r;
                continue;
            }
            /* Nothing new: was the file rotated away or truncated? */
            if (stat(l->path, &a) == 0 && fstat(fd, &b) == 0 &&
                (a.st_ino != b.st_ino || a.st_dev != b.st_dev ||
                 a.st_size < lseek(fd, 0, SEEK_CUR))) {
                FILE *f = fopen(l->path, "r");
                if (!f)
                    return 0;
                if (l->own)
                    fclose(l->f);
                l->f = f;
                l->own = true;
                fd = fileno(f);
                continue;
            }
            return 0;
        }
    }
    return 0;
}

const uint64_t *srvlog_events(const srvlog *l)
{
    return l->events;
}

const uint64_t *srvlog_skips(const srvlog *l)
{
    return l->skips;
}

uint64_t srvlog_lines(const srvlog *l)
{
    return l->lines;
}

const char *srvlog_unparsed_sample(const srvlog *l)
{
    return l->sample;
}

void srvlog_close(srvlog *l)
{
    if (!l)
        return;
    if (l->f && l->own)
        fclose(l->f);
    free(l);
}
