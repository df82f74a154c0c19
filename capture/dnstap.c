/* SPDX-License-Identifier: MIT */
/* Frame Streams (fstrm) file: a control frame is introduced by a zero 32-bit "escape" and
 * its length; START carries the content type; data frames are a non-zero big-endian
 * length and the payload; STOP ends the stream. Protobuf: varint keys (field << 3 | wire
 * type), varints, 32/64-bit fixed, length-delimited bytes. dnstap.Dnstap field 14 is the
 * Message; Message fields: 1 type, 2 family, 3 protocol, 4/5 query/response address,
 * 6/7 ports, 8/9 query time, 10 query message, 12/13 response time, 14 response message. */
#include "dnstap.h"

#include "../common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FSTRM_MAX_FRAME (1u << 20)
#define CONTENT_TYPE "protobuf:dnstap.Dnstap"

struct cap_dnstap {
    FILE *f;
    bool own; /* f is closed with the reader */
    char path[512];
    uint64_t off;
    uint8_t *buf;
    struct cap_meta meta;
    uint64_t c[CAP_DT_N];
};

static const char *const counter_names[CAP_DT_N] = {
#define CAP_DT_NAME(id, name) name,
    CAP_DNSTAP_COUNTERS(CAP_DT_NAME)
#undef CAP_DT_NAME
};

const char *cap_dnstap_counter_name(enum cap_dnstap_counter c)
{
    return counter_names[c];
}

const uint64_t *cap_dnstap_counters(const cap_dnstap *d)
{
    return d->c;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool cap_dnstap_sniff(const uint8_t *head, size_t n)
{
    /* escape 0, control length, control type START (2) */
    return n >= 12 && be32(head) == 0 && be32(head + 4) >= 4 && be32(head + 4) <= FSTRM_MAX_FRAME &&
           be32(head + 8) == 2;
}

static int read_exact(cap_dnstap *d, void *p, size_t n)
{
    size_t got = fread(p, 1, n, d->f);
    d->off += got;
    return got == n ? 0 : got == 0 && feof(d->f) ? ERR_EOF : ERR_TRUNC;
}

cap_dnstap *cap_dnstap_open(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    cap_dnstap *d;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    d = cap_dnstap_open_stream(f, path, err, errlen);
    if (!d)
        fclose(f);
    else
        d->own = true;
    return d;
}

cap_dnstap *cap_dnstap_open_stream(FILE *f, const char *path, char *err, size_t errlen)
{
    cap_dnstap *d = calloc(1, sizeof(*d));
    uint8_t h[12];
    uint32_t clen;

    if (!d || !(d->buf = malloc(FSTRM_MAX_FRAME))) {
        free(d);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(d->path, sizeof(d->path), "%s", path);
    d->f = f;
    if (read_exact(d, h, 12) < 0 || !cap_dnstap_sniff(h, 12)) {
        snprintf(err, errlen, "%s: not a Frame Streams (dnstap) file", path);
        goto fail;
    }
    clen = be32(h + 4);
    if (read_exact(d, d->buf, clen - 4) < 0) {
        snprintf(err, errlen, "%s: truncated in the START frame", path);
        goto fail;
    }
    /* Content type fields: type 1, length, bytes. An absent type is accepted. */
    for (uint32_t o = 0; o + 8 <= clen - 4;) {
        uint32_t ft = be32(d->buf + o), fl = be32(d->buf + o + 4);
        if (fl > clen - 4 - o - 8)
            break;
        if (ft == 1 && (fl != strlen(CONTENT_TYPE) || memcmp(d->buf + o + 8, CONTENT_TYPE, fl))) {
            snprintf(err, errlen, "%s: Frame Streams content type is not %s", path, CONTENT_TYPE);
            goto fail;
        }
        o += 8 + fl;
    }
    return d;
fail:
    cap_dnstap_close(d);
    return NULL;
}

/* ---- protobuf ---- */

struct pb {
    const uint8_t *p, *end;
};

static bool varint(struct pb *b, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && b->p < b->end; s += 7) {
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return true;
    }
    return false;
}

/* Next field: number, wire type, and for length-delimited fields the bytes; for
 * varint/fixed fields the value. */
static int field(struct pb *b, uint32_t *num, const uint8_t **data, size_t *len, uint64_t *val)
{
    uint64_t key;
    if (b->p >= b->end)
        return 0;
    if (!varint(b, &key))
        return -1;
    *num = (uint32_t)(key >> 3);
    *data = NULL;
    *len = 0;
    *val = 0;
    switch (key & 7) {
    case 0:
        return varint(b, val) ? 1 : -1;
    case 1:
        if (b->end - b->p < 8)
            return -1;
        for (int i = 0; i < 8; i++)
            *val |= (uint64_t)b->p[i] << (8 * i);
        b->p += 8;
        return 1;
    case 2: {
        uint64_t l;
        if (!varint(b, &l) || l > (uint64_t)(b->end - b->p))
            return -1;
        *data = b->p;
        *len = (size_t)l;
        b->p += l;
        return 1;
    }
    case 5:
        if (b->end - b->p < 4)
            return -1;
        for (int i = 0; i < 4; i++)
            *val |= (uint64_t)b->p[i] << (8 * i);
        b->p += 4;
        return 1;
    default:
        return -1;
    }
}

/* Decodes a dnstap Message; returns 1 with msg filled, 0 if it has no DNS message, -1 if
 * malformed (counter in *why). */
static int message(struct cap_meta *meta, const uint8_t *p, size_t n, struct cap_msg *msg,
                   enum cap_dnstap_counter *why)
{
    struct pb b = {p, p + n};
    const uint8_t *data, *qa = NULL, *ra = NULL, *qm = NULL, *rm = NULL;
    size_t len, qal = 0, ral = 0, qml = 0, rml = 0;
    uint64_t val, type = 0, fam = 0, proto = 0, qport = 0, rport = 0;
    uint64_t qs = 0, qns = 0, rs = 0, rns = 0;
    uint32_t num;
    int rc;
    bool is_response;

    while ((rc = field(&b, &num, &data, &len, &val)) == 1) {
        switch (num) {
        case 1:
            type = val;
            break;
        case 2:
            fam = val;
            break;
        case 3:
            proto = val;
            break;
        case 4:
            qa = data, qal = len;
            break;
        case 5:
            ra = data, ral = len;
            break;
        case 6:
            qport = val;
            break;
        case 7:
            rport = val;
            break;
        case 8:
            qs = val;
            break;
        case 9:
            qns = val;
            break;
        case 10:
            qm = data, qml = len;
            break;
        case 12:
            rs = val;
            break;
        case 13:
            rns = val;
            break;
        case 14:
            rm = data, rml = len;
            break;
        default:
            break;
        }
    }
    if (rc < 0) {
        *why = CAP_DT_BAD_PROTOBUF;
        return -1;
    }
    /* Even types are responses (AUTH_RESPONSE 2, RESOLVER_RESPONSE 4, CLIENT_RESPONSE 6...). */
    is_response = type != 0 && type % 2 == 0;
    if (is_response ? !rm : !qm) {
        *why = CAP_DT_NO_DNS;
        return 0;
    }
    memset(meta, 0, sizeof(*meta));
    meta->af = fam == 2 ? 6 : 4;
    if ((qa && qal != (meta->af == 6 ? 16u : 4u)) || (ra && ral != (meta->af == 6 ? 16u : 4u))) {
        *why = CAP_DT_BAD_ADDRESS;
        return -1;
    }
    /* TCP, DoT, DoH, DoQ are all stream transports; UDP (1) and DNSCrypt-UDP are datagrams. */
    meta->proto = proto == 1 || proto == 0 ? 17 : 6;
    /* A query goes from the query address (the client) to the response address (the
     * server); a response the other way. */
    if (is_response) {
        if (ra)
            memcpy(meta->src, ra, ral);
        if (qa)
            memcpy(meta->dst, qa, qal);
        meta->sport = (uint16_t)rport;
        meta->dport = (uint16_t)qport;
        meta->ts_ns = rs * 1000000000ull + rns;
        msg->data = rm;
        msg->len = rml;
    } else {
        if (qa)
            memcpy(meta->src, qa, qal);
        if (ra)
            memcpy(meta->dst, ra, ral);
        meta->sport = (uint16_t)qport;
        meta->dport = (uint16_t)rport;
        meta->ts_ns = qs * 1000000000ull + qns;
        msg->data = qm;
        msg->len = qml;
    }
    if (!meta->ts_ns) /* some senders stamp only the other side */
        meta->ts_ns = rs ? rs * 1000000000ull + rns : qs * 1000000000ull + qns;
    msg->meta = meta;
    return 1;
}

int cap_dnstap_frame(const uint8_t *p, size_t len, struct cap_meta *meta, struct cap_msg *msg,
                     uint64_t c[CAP_DT_N])
{
    struct pb b = {p, p + len};
    const uint8_t *data, *m = NULL;
    size_t flen, ml = 0;
    uint64_t val, type = 0;
    uint32_t num;
    int rc;
    enum cap_dnstap_counter why = CAP_DT_BAD_PROTOBUF;

    c[CAP_DT_FRAMES]++;
    while ((rc = field(&b, &num, &data, &flen, &val)) == 1) {
        if (num == 14)
            m = data, ml = flen;
        else if (num == 15)
            type = val;
    }
    if (rc < 0) {
        c[CAP_DT_BAD_PROTOBUF]++;
        return 0;
    }
    if (type != 1 || !m) {
        c[CAP_DT_NOT_MESSAGE]++;
        return 0;
    }
    rc = message(meta, m, ml, msg, &why);
    if (rc != 1) {
        c[why]++;
        return 0;
    }
    c[CAP_DT_MESSAGES]++;
    return 1;
}

int cap_dnstap_next(cap_dnstap *d, struct cap_msg *msg, char *err, size_t errlen)
{
    for (;;) {
        uint8_t h[4];
        uint32_t len;
        int rc = read_exact(d, h, 4);

        if (rc == ERR_EOF)
            return 0;
        if (rc < 0)
            goto trunc;
        len = be32(h);
        if (len == 0) {
            /* Control frame: STOP ends the stream; others are skipped. */
            if (read_exact(d, h, 4) < 0)
                goto trunc;
            len = be32(h);
            if (len < 4 || len > FSTRM_MAX_FRAME || read_exact(d, d->buf, len) < 0)
                goto bad;
            if (be32(d->buf) == 3)
                return 0;
            continue;
        }
        if (len > FSTRM_MAX_FRAME)
            goto bad;
        if (read_exact(d, d->buf, len) < 0)
            goto trunc;
        if (cap_dnstap_frame(d->buf, len, &d->meta, msg, d->c) == 1)
            return 1;
    }
trunc:
    snprintf(err, errlen, "%s: truncated at byte %llu", d->path, (unsigned long long)d->off);
    return ERR_TRUNC;
bad:
    snprintf(err, errlen, "%s: bad frame at byte %llu", d->path, (unsigned long long)d->off);
    return ERR_FORMAT;
}

void cap_dnstap_close(cap_dnstap *d)
{
    if (!d)
        return;
    if (d->f && d->own)
        fclose(d->f);
    free(d->buf);
    free(d);
}

/* ---- socket ---- */

static uint32_t htonl_(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    uint32_t o;
    memcpy(&o, b, 4);
    return o;
}

#define SRV_CLIENTS 16

struct conn {
    int fd;
    uint8_t *buf;
    size_t len;
    bool started;
};

struct cap_dnstap_srv {
    int fd;
    char path[108];
    struct conn c[SRV_CLIENTS];
    struct cap_meta meta;
    uint64_t counts[CAP_DT_N];
};

cap_dnstap_srv *cap_dnstap_listen(const char *path, char *err, size_t errlen)
{
    cap_dnstap_srv *s = calloc(1, sizeof(*s));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "--dnstap-socket %s: path too long", path);
        free(s);
        return NULL;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    snprintf(s->path, sizeof(s->path), "%s", path);
    for (int i = 0; i < SRV_CLIENTS; i++)
        s->c[i].fd = -1;
    unlink(path);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->fd, 8) < 0) {
        snprintf(err, errlen, "--dnstap-socket %s: %s", path, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    chmod(path, 0660);
    return s;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* ACCEPT (or FINISH) control frame with our content type. */
static void send_control(int fd, uint32_t type)
{
    uint8_t f[12 + 8 + sizeof(CONTENT_TYPE) - 1];
    uint32_t ct = (uint32_t)strlen(CONTENT_TYPE), clen = type == 5 ? 4 : 4 + 8 + ct;
    uint32_t v[5] = {0, htonl_(clen), htonl_(type), htonl_(1), htonl_(ct)};
    memcpy(f, v, 20);
    memcpy(f + 20, CONTENT_TYPE, ct);
    (void)!write(fd, f, 8 + clen);
}

/* Handles the frames in a connection's buffer; returns false when it must close. */
static bool conn_frames(cap_dnstap_srv *s, struct conn *c,
                        void (*fn)(void *user, const struct cap_msg *m), void *user, int *n)
{
    size_t o = 0;
    bool keep = true;
    while (c->len - o >= 4) {
        uint32_t len = be32(c->buf + o);
        if (len == 0) {
            uint32_t clen, type;
            if (c->len - o < 12)
                break;
            clen = be32(c->buf + o + 4);
            if (clen < 4 || clen > FSTRM_MAX_FRAME) {
                keep = false;
                break;
            }
            if (c->len - o < 8 + clen)
                break;
            type = be32(c->buf + o + 8);
            if (type == 4) /* READY: we accept dnstap */
                send_control(c->fd, 1);
            else if (type == 2) /* START */
                c->started = true;
            else if (type == 3) { /* STOP: FINISH and close */
                send_control(c->fd, 5);
                keep = false;
            }
            o += 8 + clen;
            continue;
        }
        if (len > FSTRM_MAX_FRAME) {
            keep = false;
            break;
        }
        if (c->len - o < 4 + (size_t)len)
            break;
        {
            struct cap_msg m;
            if (cap_dnstap_frame(c->buf + o + 4, len, &s->meta, &m, s->counts) == 1) {
                fn(user, &m);
                (*n)++;
            }
        }
        o += 4 + len;
    }
    memmove(c->buf, c->buf + o, c->len - o);
    c->len -= o;
    return keep;
}

int cap_dnstap_srv_poll(cap_dnstap_srv *s, void (*fn)(void *user, const struct cap_msg *m),
                        void *user)
{
    int n = 0;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        int i;
        if (fd < 0)
            break;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        for (i = 0; i < SRV_CLIENTS && s->c[i].fd >= 0; i++)
            ;
        if (i == SRV_CLIENTS || !(s->c[i].buf = malloc(FSTRM_MAX_FRAME + 16))) {
            close(fd);
            continue;
        }
        s->c[i].fd = fd;
        s->c[i].len = 0;
    }
    for (int i = 0; i < SRV_CLIENTS; i++) {
        struct conn *c = &s->c[i];
        bool open_ = true;
        if (c->fd < 0)
            continue;
        for (int rounds = 0; rounds < 64 && open_; rounds++) {
            ssize_t r = read(c->fd, c->buf + c->len, FSTRM_MAX_FRAME + 16 - c->len);
            if (r == 0) {
                open_ = false;
                break;
            }
            if (r < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    open_ = false;
                break;
            }
            c->len += (size_t)r;
            open_ = conn_frames(s, c, fn, user, &n);
        }
        if (!open_)
            conn_close(c);
    }
    return n;
}

const uint64_t *cap_dnstap_srv_counters(const cap_dnstap_srv *s)
{
    return s->counts;
}

unsigned cap_dnstap_srv_clients(const cap_dnstap_srv *s)
{
    unsigned n = 0;
    for (int i = 0; i < SRV_CLIENTS; i++)
        n += s->c[i].fd >= 0;
    return n;
}

void cap_dnstap_srv_close(cap_dnstap_srv *s)
{
    if (!s)
        return;
    for (int i = 0; i < SRV_CLIENTS; i++)
        if (s->c[i].fd >= 0)
            conn_close(&s->c[i]);
    close(s->fd);
    unlink(s->path);
    free(s);
}
