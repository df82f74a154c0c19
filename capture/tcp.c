/* SPDX-License-Identifier: MIT */
/* TCP reassembly for DNS: each direction of a tracked connection is a byte stream cut into
 * messages by the 2-byte length prefix (RFC 1035 4.2.2). Complete messages inside one
 * in-order segment are handed out straight from the packet (no copy); only a message that
 * spans segments, or out-of-order data, takes a buffer from the shared pool. Streams are
 * found by hash, kept in LRU order, expired on packet time and evicted oldest first. */
#include "tcp.h"

#include <stdlib.h>
#include <string.h>

#define TCP_BUF_CAP (128u * 1024u) /* a whole 64 KiB message plus out-of-order data after it */
#define TCP_MAX_RANGES 16

struct tcp_range {
    uint32_t start, end; /* offsets in the direction's buffer */
};

struct tcp_dir {
    bool seq_known, fin, lost;
    uint32_t base_seq; /* sequence number of buf[0] (or of the next byte if no buffer) */
    uint32_t have;     /* contiguous bytes in buf */
    uint8_t *buf;
    uint8_t nranges;
    struct tcp_range ranges[TCP_MAX_RANGES]; /* out-of-order data beyond have, sorted */
    struct cap_meta meta;                    /* addresses of this direction */
};

struct tcp_stream {
    bool used;
    uint32_t hash;
    struct tcp_stream *hnext;
    struct tcp_stream *prev, *next; /* LRU: head is most recent */
    uint64_t last_ns;
    struct tcp_dir dir[2]; /* 0: the direction of the first segment seen, 1: the other */
};

struct tcp_table {
    struct tcp_stream *streams;
    struct tcp_stream **buckets;
    uint32_t nbuckets_mask;
    struct tcp_stream *free_list; /* linked through hnext */
    struct tcp_stream *lru_head, *lru_tail;
    uint8_t **pool;
    uint32_t pool_free, pool_alloc, pool_cap;
    uint64_t idle_ns;
    struct cap_stats *st;
    cap_msg_fn msg_fn;
    cap_event_fn ev_fn;
    void *user;
};

struct tcp_table *tcp_new(uint32_t max_streams, uint32_t nbuf, uint64_t idle_ns,
                          struct cap_stats *st, cap_msg_fn msg_fn, cap_event_fn ev_fn, void *user)
{
    struct tcp_table *t = calloc(1, sizeof(*t));
    uint32_t nb = 1;

    if (!t)
        return NULL;
    if (max_streams == 0)
        max_streams = 1;
    while (nb < max_streams * 2)
        nb <<= 1;
    t->streams = calloc(max_streams, sizeof(*t->streams));
    t->buckets = calloc(nb, sizeof(*t->buckets));
    t->pool = calloc(nbuf ? nbuf : 1, sizeof(*t->pool));
    if (!t->streams || !t->buckets || !t->pool) {
        tcp_free(t);
        return NULL;
    }
    t->nbuckets_mask = nb - 1;
    for (uint32_t i = max_streams; i-- > 0;) {
        t->streams[i].hnext = t->free_list;
        t->free_list = &t->streams[i];
    }
    t->pool_cap = nbuf;
    t->idle_ns = idle_ns;
    t->st = st;
    t->msg_fn = msg_fn;
    t->ev_fn = ev_fn;
    t->user = user;
    return t;
}

void tcp_free(struct tcp_table *t)
{
    if (!t)
        return;
    if (t->streams) {
        for (struct tcp_stream *s = t->lru_head; s; s = s->next)
            for (int d = 0; d < 2; d++)
                free(s->dir[d].buf);
    }
    for (uint32_t i = 0; i < t->pool_free; i++)
        free(t->pool[i]);
    free(t->pool);
    free(t->buckets);
    free(t->streams);
    free(t);
}

void tcp_set_user(struct tcp_table *t, void *user)
{
    t->user = user;
}

static uint8_t *buf_get(struct tcp_table *t)
{
    if (t->pool_free > 0)
        return t->pool[--t->pool_free];
    if (t->pool_alloc >= t->pool_cap)
        return NULL;
    uint8_t *b = malloc(TCP_BUF_CAP);
    if (b)
        t->pool_alloc++;
    return b;
}

static void buf_put(struct tcp_table *t, struct tcp_dir *dir)
{
    if (!dir->buf)
        return;
    t->pool[t->pool_free++] = dir->buf;
    dir->buf = NULL;
}

static uint32_t key_hash(const struct cap_meta *m)
{
    /* Symmetric: both directions of a connection hash alike (XOR of the endpoints). */
    uint32_t h = 2166136261u, alen = m->af == 4 ? 4 : 16;
    for (uint32_t i = 0; i < alen; i++) {
        h ^= (uint32_t)(m->src[i] ^ m->dst[i]);
        h *= 16777619u;
    }
    h ^= (uint32_t)(m->sport ^ m->dport);
    h *= 16777619u;
    h ^= (uint32_t)(m->sport + m->dport);
    h *= 16777619u;
    return h ^ m->af;
}

/* Returns 0 if meta travels in the stream's direction 0, 1 if in direction 1, -1 if the
 * stream is another connection. */
static int match_dir(const struct tcp_stream *s, const struct cap_meta *m)
{
    const struct cap_meta *a = &s->dir[0].meta;
    size_t alen = m->af == 4 ? 4 : 16;

    if (a->af != m->af)
        return -1;
    if (a->sport == m->sport && a->dport == m->dport && memcmp(a->src, m->src, alen) == 0 &&
        memcmp(a->dst, m->dst, alen) == 0)
        return 0;
    if (a->sport == m->dport && a->dport == m->sport && memcmp(a->src, m->dst, alen) == 0 &&
        memcmp(a->dst, m->src, alen) == 0)
        return 1;
    return -1;
}

static void lru_unlink(struct tcp_table *t, struct tcp_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        t->lru_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        t->lru_tail = s->prev;
    s->prev = s->next = NULL;
}

static void lru_push_head(struct tcp_table *t, struct tcp_stream *s)
{
    s->prev = NULL;
    s->next = t->lru_head;
    if (t->lru_head)
        t->lru_head->prev = s;
    t->lru_head = s;
    if (!t->lru_tail)
        t->lru_tail = s;
}

static void dir_lose(struct tcp_table *t, struct tcp_dir *dir)
{
    if (!dir->lost)
        t->st->c[CAP_TCP_GAVE_UP]++;
    dir->lost = true;
    dir->have = 0;
    dir->nranges = 0;
    buf_put(t, dir);
}

/* Ends a stream: partial messages are reported as aborted, then the slot is freed. */
static void stream_end(struct tcp_table *t, struct tcp_stream *s, uint64_t now_ns)
{
    struct tcp_stream **pp = &t->buckets[s->hash & t->nbuckets_mask];

    for (int d = 0; d < 2; d++) {
        struct tcp_dir *dir = &s->dir[d];
        if (!dir->lost && (dir->have > 0 || dir->nranges > 0)) {
            t->st->c[CAP_TCP_ABORTED]++;
            if (t->ev_fn) {
                struct cap_meta m = dir->meta;
                struct cap_event ev = {CAP_EV_TCP_ABORTED, &m, dir->have};
                m.ts_ns = now_ns;
                t->ev_fn(t->user, &ev);
            }
        }
        buf_put(t, dir);
    }
    if (t->ev_fn) {
        struct cap_meta m = s->dir[0].meta;
        struct cap_event ev = {CAP_EV_TCP_END, &m, 0};
        m.ts_ns = now_ns;
        t->ev_fn(t->user, &ev);
    }
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    lru_unlink(t, s);
    s->used = false;
    s->hnext = t->free_list;
    t->free_list = s;
}

static struct tcp_stream *stream_new(struct tcp_table *t, const struct cap_meta *m, uint32_t h)
{
    struct tcp_stream *s;

    if (!t->free_list) {
        t->st->c[CAP_TCP_EVICTED]++;
        stream_end(t, t->lru_tail, m->ts_ns);
    }
    s = t->free_list;
    t->free_list = s->hnext;
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->hash = h;
    s->dir[0].meta = *m;
    s->dir[0].meta.truncated = false;
    s->dir[1].meta = *m;
    s->dir[1].meta.truncated = false;
    memcpy(s->dir[1].meta.src, m->dst, 16);
    memcpy(s->dir[1].meta.dst, m->src, 16);
    s->dir[1].meta.sport = m->dport;
    s->dir[1].meta.dport = m->sport;
    s->hnext = t->buckets[h & t->nbuckets_mask];
    t->buckets[h & t->nbuckets_mask] = s;
    lru_push_head(t, s);
    t->st->c[CAP_TCP_STREAMS]++;
    return s;
}

/* Hands out every complete length-prefixed message in p[0..n); returns bytes consumed. */
static uint32_t emit_msgs(struct tcp_table *t, struct tcp_dir *dir, uint64_t now_ns,
                          const uint8_t *p, uint32_t n)
{
    uint32_t off = 0;

    while (n - off >= 2) {
        uint32_t l = ((uint32_t)p[off] << 8) | p[off + 1];
        struct cap_msg msg;
        if (n - off - 2 < l)
            break;
        dir->meta.ts_ns = now_ns;
        msg.meta = &dir->meta;
        msg.data = p + off + 2;
        msg.len = l;
        t->st->c[CAP_TCP_MESSAGES]++;
        t->msg_fn(t->user, &msg);
        off += 2 + l;
    }
    return off;
}

static void add_range(struct tcp_table *t, struct tcp_dir *dir, uint32_t start, uint32_t end)
{
    uint8_t i = 0;

    while (i < dir->nranges && dir->ranges[i].end < start)
        i++;
    /* Merge with every range it touches. */
    if (i < dir->nranges && dir->ranges[i].start <= end) {
        uint8_t j = i;
        uint32_t s = start < dir->ranges[i].start ? start : dir->ranges[i].start;
        uint32_t e = end;
        while (j < dir->nranges && dir->ranges[j].start <= end) {
            if (dir->ranges[j].end > e)
                e = dir->ranges[j].end;
            j++;
        }
        dir->ranges[i].start = s;
        dir->ranges[i].end = e;
        memmove(&dir->ranges[i + 1], &dir->ranges[j],
                (size_t)(dir->nranges - j) * sizeof(dir->ranges[0]));
        dir->nranges = (uint8_t)(dir->nranges - (j - i - 1));
        return;
    }
    if (dir->nranges == TCP_MAX_RANGES) {
        t->st->c[CAP_TCP_OOO_DROPPED]++;
        return;
    }
    memmove(&dir->ranges[i + 1], &dir->ranges[i],
            (size_t)(dir->nranges - i) * sizeof(dir->ranges[0]));
    dir->ranges[i].start = start;
    dir->ranges[i].end = end;
    dir->nranges++;
}

static void dir_data(struct tcp_table *t, struct tcp_dir *dir, uint64_t now_ns, uint32_t seq,
                     const uint8_t *p, uint32_t n)
{
    int32_t rel = (int32_t)(seq - (dir->base_seq + dir->have));
    uint32_t used;

    if (rel < 0) {
        uint32_t old = (uint32_t)(-(int64_t)rel);
        t->st->c[CAP_TCP_RETRANS]++;
        if (old >= n)
            return;
        p += old;
        n -= old;
        rel = 0;
    }
    if (rel > 0) {
        uint32_t pos = dir->have + (uint32_t)rel;
        t->st->c[CAP_TCP_OOO]++;
        if ((uint64_t)pos + n > TCP_BUF_CAP) {
            t->st->c[CAP_TCP_OOO_DROPPED]++;
            return;
        }
        if (!dir->buf && !(dir->buf = buf_get(t))) {
            t->st->c[CAP_TCP_NOBUF]++;
            dir_lose(t, dir);
            return;
        }
        memcpy(dir->buf + pos, p, n);
        add_range(t, dir, pos, pos + n);
        return;
    }
    if (dir->have == 0 && dir->nranges == 0) {
        /* Fast path: whole messages straight from the packet. */
        used = emit_msgs(t, dir, now_ns, p, n);
        dir->base_seq += used;
        if (used == n)
            return;
        if (!dir->buf && !(dir->buf = buf_get(t))) {
            t->st->c[CAP_TCP_NOBUF]++;
            dir_lose(t, dir);
            return;
        }
        memcpy(dir->buf, p + used, n - used);
        dir->have = n - used;
        return;
    }
    if ((uint64_t)dir->have + n > TCP_BUF_CAP) {
        dir_lose(t, dir);
        return;
    }
    memcpy(dir->buf + dir->have, p, n);
    dir->have += n;
    while (dir->nranges > 0 && dir->ranges[0].start <= dir->have) {
        if (dir->ranges[0].end > dir->have)
            dir->have = dir->ranges[0].end;
        memmove(&dir->ranges[0], &dir->ranges[1],
                (size_t)(dir->nranges - 1) * sizeof(dir->ranges[0]));
        dir->nranges--;
    }
    used = emit_msgs(t, dir, now_ns, dir->buf, dir->have);
    if (used > 0) {
        /* Shift everything held, out-of-order ranges beyond have included. */
        uint32_t extent = dir->have;
        if (dir->nranges > 0 && dir->ranges[dir->nranges - 1].end > extent)
            extent = dir->ranges[dir->nranges - 1].end;
        memmove(dir->buf, dir->buf + used, extent - used);
        dir->have -= used;
        dir->base_seq += used;
        for (uint8_t i = 0; i < dir->nranges; i++) {
            dir->ranges[i].start -= used;
            dir->ranges[i].end -= used;
        }
    }
    if (dir->have == 0 && dir->nranges == 0)
        buf_put(t, dir);
}

void tcp_segment(struct tcp_table *t, const struct cap_meta *meta, uint32_t seq, uint8_t flags,
                 const uint8_t *payload, uint32_t len)
{
    uint64_t now = meta->ts_ns;
    uint32_t h = key_hash(meta);
    struct tcp_stream *s;
    struct tcp_dir *dir;
    int d = -1;

    t->st->c[CAP_TCP_SEGMENTS]++;
    /* Expire idle streams from the LRU tail: O(1) amortised per segment. */
    while (t->lru_tail && now > t->lru_tail->last_ns && now - t->lru_tail->last_ns > t->idle_ns) {
        t->st->c[CAP_TCP_TIMED_OUT]++;
        stream_end(t, t->lru_tail, now);
    }
    for (s = t->buckets[h & t->nbuckets_mask]; s; s = s->hnext) {
        if (s->hash == h && (d = match_dir(s, meta)) >= 0)
            break;
    }
    if (!s) {
        if ((flags & TCP_RST) || (len == 0 && !(flags & TCP_SYN)))
            return; /* nothing to track: a lone RST/ACK/FIN of a connection we never saw */
        s = stream_new(t, meta, h);
        d = 0;
    } else if ((flags & TCP_SYN) && !(flags & TCP_ACK) && s->dir[0].seq_known &&
               s->dir[0].base_seq + s->dir[0].have != seq + 1) {
        /* A new SYN on a known 4-tuple: the port was reused; end the old connection. */
        stream_end(t, s, now);
        s = stream_new(t, meta, h);
        d = 0;
    } else {
        lru_unlink(t, s);
        lru_push_head(t, s);
    }
    s->last_ns = now;
    dir = &s->dir[d];
    if (flags & TCP_SYN) {
        seq++; /* the SYN occupies one sequence number; data (TFO) follows it */
        if (!dir->seq_known || dir->have == 0) {
            dir->seq_known = true;
            dir->base_seq = seq;
            dir->have = 0;
        }
    }
    if (len > 0 && !dir->lost) {
        if (!dir->seq_known) {
            dir->seq_known = true;
            dir->base_seq = seq;
            t->st->c[CAP_TCP_MIDSTREAM]++;
        }
        if (meta->truncated)
            dir_lose(t, dir); /* bytes missing from the capture: the framing is lost */
        else
            dir_data(t, dir, now, seq, payload, len);
    }
    if (flags & TCP_FIN)
        dir->fin = true;
    if (flags & TCP_RST) {
        t->st->c[CAP_TCP_RESET]++;
        stream_end(t, s, now);
        return;
    }
    if (s->dir[0].fin && s->dir[1].fin) {
        t->st->c[CAP_TCP_CLOSED]++;
        stream_end(t, s, now);
    }
}

void tcp_flush(struct tcp_table *t)
{
    while (t->lru_tail)
        stream_end(t, t->lru_tail, t->lru_tail->last_ns);
}
