/* SPDX-License-Identifier: MIT */
/* Flow store. Entries live in a fixed pool used as a ring in arrival order, so the oldest
 * query is always at the head: time-outs and eviction are O(1) amortised. An open-addressing
 * index (linear probing, backward-shift deletion) finds an entry by its key. Answered
 * entries stay until their time-out so that a second response is seen as a duplicate.
 * Queries that time out move to a second ring of the same kind for late_grace_ns, so that an
 * answer arriving after the time-out (a resolver's SERVFAIL during an upstream outage) is a
 * late answer, not an unsolicited response. */
#include "flow.h"

#include "sketch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An index slot is 32 bits: the pool position + 1 in the low POS_BITS, a tag from the key
 * hash above, so most probes are decided without touching the pool, and the index stays
 * small enough for the L2 cache at the default size. */
#define POS_BITS 22
#define POS_MASK ((1u << POS_BITS) - 1)
#define FLOW_MAX_ENTRIES (POS_MASK - 1)

enum { ST_DEAD = 0, ST_PENDING, ST_ANSWERED };

struct flow_entry {
    uint64_t key_hash;
    uint64_t qhash;
    uint64_t query_ns;
    uint8_t client[16], server[16];
    uint16_t client_port, server_port, id, qtype;
    uint16_t query_len, udp_size;
    uint8_t af, proto, state;
    bool has_q, edns, do_bit;
};

/* A pool used as a ring in arrival order, with its index. */
struct ring {
    struct flow_entry *pool;
    uint32_t cap, head, count;
    uint32_t *index; /* (tag << POS_BITS) | (pool position + 1); 0 = empty */
    uint32_t mask;
};

struct flow_store {
    struct ring r;    /* pending and answered queries */
    struct ring late; /* queries that timed out, kept late_grace_ns longer */
    uint64_t timeout_ns, grace_ns;
    uint64_t due; /* packet time from which flow_advance has work (the head expires) */
    flow_txn_fn fn;
    void *user;
    struct flow_counts counts;
};

void flow_config_defaults(struct flow_config *cfg)
{
    cfg->max_pending = 131072;       /* index of 256 Ki 32-bit slots: 1 MiB */
    cfg->timeout_ns = 5000000000ull; /* 5 s: resolvers give up and retry well before this */
    /* A resolver's SERVFAIL during an upstream outage comes 5-10 s after the query; a server
     * that stalled (stopped, overloaded) answers its backlog up to minutes later. */
    cfg->late_grace_ns = 120000000000ull;
}

static int ring_init(struct ring *r, uint32_t cap)
{
    uint32_t n = 2;

    r->cap = cap ? cap : 1;
    if (r->cap > FLOW_MAX_ENTRIES)
        r->cap = FLOW_MAX_ENTRIES;
    while (n < r->cap * 2)
        n <<= 1;
    /* calloc: the pages of a ring that stays small (the late one) are never touched. */
    r->pool = calloc(r->cap, sizeof(*r->pool));
    r->index = calloc(n, sizeof(*r->index));
    r->mask = n - 1;
    return r->pool && r->index ? 0 : -1;
}

flow_store *flow_new(const struct flow_config *cfg, flow_txn_fn fn, void *user)
{
    flow_store *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    if (ring_init(&f->r, cfg->max_pending) < 0 ||
        (cfg->late_grace_ns && ring_init(&f->late, cfg->max_pending) < 0)) {
        flow_free(f);
        return NULL;
    }
    f->timeout_ns = cfg->timeout_ns;
    f->grace_ns = cfg->late_grace_ns;
    f->due = UINT64_MAX;
    f->fn = fn;
    f->user = user;
    return f;
}

void flow_free(flow_store *f)
{
    if (!f)
        return;
    free(f->r.pool);
    free(f->r.index);
    free(f->late.pool);
    free(f->late.index);
    free(f);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t key_hash(uint8_t af, uint8_t proto, const uint8_t *client, const uint8_t *server,
                         uint16_t cport, uint16_t sport, uint16_t id)
{
    uint64_t h = ((uint64_t)af << 56) ^ ((uint64_t)proto << 48) ^ ((uint64_t)cport << 32) ^
                 ((uint64_t)sport << 16) ^ id;
    h = sketch_mix64(h ^ load64(client));
    h = sketch_mix64(h ^ load64(server));
    if (af == 6) {
        h = sketch_mix64(h ^ load64(client + 8));
        h = sketch_mix64(h ^ load64(server + 8));
    }
    return h;
}

uint64_t flow_question_hash_from(uint64_t name_hash, const struct dns_msg *m)
{
    return sketch_mix64(name_hash ^ ((uint64_t)m->qtype << 16) ^ m->qclass);
}

uint64_t flow_question_hash(const struct dns_msg *m)
{
    /* Names compare case-insensitively (RFC 4343): hash the folded name. */
    return flow_question_hash_from(sketch_hash(m->qname, m->qname_len, true), m);
}

static bool entry_is(const struct flow_entry *e, uint64_t kh, uint8_t af, uint8_t proto,
                     const uint8_t *client, const uint8_t *server, uint16_t cport, uint16_t sport,
                     uint16_t id)
{
    size_t alen = af == 4 ? 4 : 16;
    return e->key_hash == kh && e->af == af && e->proto == proto && e->id == id &&
           e->client_port == cport && e->server_port == sport &&
           memcmp(e->client, client, alen) == 0 && memcmp(e->server, server, alen) == 0;
}

/* Index slot holding pool position pos, or -1. */
static inline uint32_t tag_of(uint64_t kh)
{
    return (uint32_t)(kh >> (64 - (32 - POS_BITS)));
}

static inline uint32_t home_of(uint64_t kh, uint32_t mask)
{
    return (uint32_t)(kh >> 20) & mask;
}

static int64_t index_find(const struct ring *r, uint64_t kh, uint32_t pos)
{
    for (uint32_t i = home_of(kh, r->mask);; i = (i + 1) & r->mask) {
        if (r->index[i] == 0)
            return -1;
        if ((r->index[i] & POS_MASK) == pos + 1)
            return i;
    }
}

static void index_remove(struct ring *r, uint32_t pos)
{
    int64_t found = index_find(r, r->pool[pos].key_hash, pos);
    uint32_t i, j;

    if (found < 0)
        return;
    i = (uint32_t)found;
    /* Backward-shift deletion keeps every probe chain unbroken (no tombstones). */
    for (j = (i + 1) & r->mask; r->index[j] != 0; j = (j + 1) & r->mask) {
        uint32_t home = home_of(r->pool[(r->index[j] & POS_MASK) - 1].key_hash, r->mask);
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        r->index[i] = r->index[j];
        i = j;
    }
    r->index[i] = 0;
}

static void index_add(struct ring *r, uint64_t kh, uint32_t pos)
{
    for (uint32_t i = home_of(kh, r->mask);; i = (i + 1) & r->mask) {
        if (r->index[i] == 0) {
            r->index[i] = (tag_of(kh) << POS_BITS) | (pos + 1);
            return;
        }
    }
}

/* The ring position after the last entry (the caller makes room first). */
static uint32_t ring_tail(const struct ring *r)
{
    uint32_t pos = r->head + r->count;
    return pos >= r->cap ? pos - r->cap : pos;
}

static void txn_from_entry(struct flow_txn *t, const struct flow_entry *e)
{
    memset(t, 0, sizeof(*t));
    t->query_ns = e->query_ns;
    t->af = e->af;
    t->proto = e->proto;
    memcpy(t->client, e->client, 16);
    memcpy(t->server, e->server, 16);
    t->client_port = e->client_port;
    t->server_port = e->server_port;
    t->id = e->id;
    t->qtype = e->qtype;
    t->query_len = e->query_len;
    t->query_edns = e->edns;
    t->query_do = e->do_bit;
    t->query_udp_size = e->udp_size;
    t->qhash = e->qhash;
}

static void emit(flow_store *f, struct flow_txn *t)
{
    f->counts.outcome[t->outcome]++;
    if (f->fn)
        f->fn(f->user, t);
}

/* When the head of a ring needs attention: a dead head at once, a live one when it times
 * out (flow_advance ends entries whose query_ns + timeout < now), never when empty. */
static void set_due(flow_store *f)
{
    const struct flow_entry *e = &f->r.pool[f->r.head];

    if (f->r.count == 0)
        f->due = UINT64_MAX;
    else if (e->state == ST_DEAD)
        f->due = 0;
    else
        f->due = e->query_ns + f->timeout_ns + 1;
    if (f->late.count &&
        f->late.pool[f->late.head].query_ns + f->timeout_ns + f->grace_ns + 1 < f->due)
        f->due = f->late.pool[f->late.head].query_ns + f->timeout_ns + f->grace_ns + 1;
}

static void late_pop(flow_store *f)
{
    struct ring *l = &f->late;
    struct flow_entry *e = &l->pool[l->head];

    if (e->state != ST_DEAD) {
        index_remove(l, l->head);
        e->state = ST_DEAD;
    }
    l->head = l->head + 1 == l->cap ? 0 : l->head + 1;
    l->count--;
}

/* A query that timed out waits in the late ring for its answer (the oldest one makes room
 * when it is full: counted). */
static void late_add(flow_store *f, const struct flow_entry *e)
{
    struct ring *l = &f->late;
    uint32_t pos;

    if (l->count == l->cap) {
        if (l->pool[l->head].state != ST_DEAD)
            f->counts.late_evicted++;
        late_pop(f);
    }
    pos = ring_tail(l);
    l->pool[pos] = *e;
    l->count++;
    index_add(l, e->key_hash, pos);
}

/* Ends the entry at the head of the ring. */
static void pop_head(flow_store *f, enum flow_outcome pending_outcome)
{
    struct ring *r = &f->r;
    struct flow_entry *e = &r->pool[r->head];

    if (e->state != ST_DEAD) {
        if (e->state == ST_PENDING) {
            struct flow_txn t;
            txn_from_entry(&t, e);
            t.outcome = pending_outcome;
            emit(f, &t);
            if (pending_outcome == FLOW_UNANSWERED && f->grace_ns)
                late_add(f, e);
        }
        index_remove(r, r->head);
        e->state = ST_DEAD;
    }
    r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
    r->count--;
}

void flow_advance(flow_store *f, uint64_t now_ns)
{
    struct ring *r = &f->r;

    if (now_ns < f->due)
        return; /* the common case: the oldest entry is not due yet */
    while (r->count > 0) {
        const struct flow_entry *e = &r->pool[r->head];
        if (e->state != ST_DEAD && e->query_ns + f->timeout_ns >= now_ns)
            break;
        if (r->count > 8) {
            /* The ring says which entries expire next: load their index slots early. */
            uint32_t p = r->head + 8 >= r->cap ? r->head + 8 - r->cap : r->head + 8;
            __builtin_prefetch(&r->index[home_of(r->pool[p].key_hash, r->mask)]);
        }
        pop_head(f, FLOW_UNANSWERED);
    }
    while (f->late.count > 0 &&
           f->late.pool[f->late.head].query_ns + f->timeout_ns + f->grace_ns < now_ns)
        late_pop(f);
    set_due(f);
}

static struct flow_entry *lookup(struct ring *r, uint64_t kh, uint8_t af, uint8_t proto,
                                 const uint8_t *client, const uint8_t *server, uint16_t cport,
                                 uint16_t sport, uint16_t id)
{
    uint32_t tag = tag_of(kh);

    for (uint32_t i = home_of(kh, r->mask); r->index[i] != 0; i = (i + 1) & r->mask) {
        struct flow_entry *e;
        if ((r->index[i] >> POS_BITS) != tag)
            continue; /* most misses end here, without touching the pool */
        e = &r->pool[(r->index[i] & POS_MASK) - 1];
        if (entry_is(e, kh, af, proto, client, server, cport, sport, id))
            return e;
    }
    return NULL;
}

static void on_query(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                     const struct cap_meta *meta)
{
    struct ring *r = &f->r;
    struct flow_entry *e =
        lookup(r, kh, meta->af, meta->proto, meta->src, meta->dst, meta->sport, meta->dport, m->id);
    uint32_t pos;

    if (e) {
        if (e->state == ST_PENDING) {
            f->counts.query_retransmits++; /* latency keeps counting from the first copy */
            return;
        }
        /* The same key again after an answer: a new transaction. */
        index_remove(r, (uint32_t)(e - r->pool));
        e->state = ST_DEAD;
        if (e == &r->pool[r->head])
            f->due = 0;
    }
    if (r->count == r->cap)
        pop_head(f, FLOW_EVICTED);
    pos = ring_tail(r);
    e = &r->pool[pos];
    e->key_hash = kh;
    e->qhash = m->has_qtype ? qhash : 0;
    e->has_q = m->has_qtype;
    e->query_ns = meta->ts_ns;
    memcpy(e->client, meta->src, 16);
    memcpy(e->server, meta->dst, 16);
    e->client_port = meta->sport;
    e->server_port = meta->dport;
    e->id = m->id;
    e->qtype = m->has_qtype ? m->qtype : 0;
    e->query_len = (uint16_t)(m->len > 65535 ? 65535 : m->len);
    e->af = meta->af;
    e->proto = meta->proto;
    e->edns = m->has_opt;
    e->do_bit = m->has_opt && m->edns_do;
    e->udp_size = m->has_opt ? m->edns_udp_size : 0;
    e->state = ST_PENDING;
    r->count++;
    set_due(f); /* the head may have changed (eviction) or the store was empty */
    index_add(r, kh, pos);
}

/* A response to a query that timed out within the grace period, with its question: the
 * late answer ends that entry (a second one is unsolicited). */
static bool late_answer(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                        const struct cap_meta *meta, struct flow_txn *t)
{
    struct ring *l = &f->late;
    struct flow_entry *e;

    if (!l->count)
        return false;
    e = lookup(l, kh, meta->af, meta->proto, meta->dst, meta->src, meta->dport, meta->sport, m->id);
    if (!e || (e->has_q && m->has_qtype && qhash != e->qhash))
        return false;
    txn_from_entry(t, e);
    t->outcome = FLOW_LATE;
    t->latency_ns = meta->ts_ns > e->query_ns ? meta->ts_ns - e->query_ns : 0;
    index_remove(l, (uint32_t)(e - l->pool));
    e->state = ST_DEAD;
    return true;
}

static void on_response(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                        const struct cap_meta *meta)
{
    /* The client is the response's destination (kh was computed that way). */
    struct flow_entry *e = lookup(&f->r, kh, meta->af, meta->proto, meta->dst, meta->src,
                                  meta->dport, meta->sport, m->id);
    struct flow_txn t;

    if (!e && late_answer(f, m, qhash, kh, meta, &t)) {
        /* t is the late answer */
    } else if (!e) {
        memset(&t, 0, sizeof(t));
        t.outcome = FLOW_UNSOLICITED;
        t.af = meta->af;
        t.proto = meta->proto;
        memcpy(t.client, meta->dst, 16);
        memcpy(t.server, meta->src, 16);
        t.client_port = meta->dport;
        t.server_port = meta->sport;
        t.id = m->id;
        t.qtype = m->has_qtype ? m->qtype : 0;
        t.qhash = m->has_qtype ? qhash : 0;
    } else {
        txn_from_entry(&t, e);
        if (e->state == ST_ANSWERED) {
            t.outcome = FLOW_DUPLICATE;
        } else if (e->has_q && m->has_qtype && qhash != e->qhash) {
            t.outcome = FLOW_MISMATCH; /* the query stays pending for the real answer */
        } else {
            t.outcome = FLOW_ANSWERED;
            t.latency_ns = meta->ts_ns > e->query_ns ? meta->ts_ns - e->query_ns : 0;
            e->state = ST_ANSWERED;
        }
    }
    t.response_ns = meta->ts_ns;
    t.response = m;
    t.resp_meta = meta;
    emit(f, &t);
}

uint64_t flow_prefetch(const flow_store *f, const struct dns_msg *m, const struct cap_meta *meta)
{
    /* The client is the query's source and the response's destination. */
    uint64_t kh = m->qr ? key_hash(meta->af, meta->proto, meta->dst, meta->src, meta->dport,
                                   meta->sport, m->id)
                        : key_hash(meta->af, meta->proto, meta->src, meta->dst, meta->sport,
                                   meta->dport, m->id);
    __builtin_prefetch(&f->r.index[home_of(kh, f->r.mask)]);
    return kh;
}

void flow_message(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                  const struct cap_meta *meta)
{
    if (!m->has_header)
        return;
    flow_advance(f, meta->ts_ns);
    if (m->qr)
        on_response(f, m, qhash, kh, meta);
    else
        on_query(f, m, qhash, kh, meta);
}

void flow_flush(flow_store *f)
{
    while (f->r.count > 0)
        pop_head(f, FLOW_UNANSWERED);
    while (f->late.count > 0)
        late_pop(f);
    set_due(f);
}

void flow_get_counts(const flow_store *f, struct flow_counts *out)
{
    *out = f->counts;
    out->pending = 0;
    for (uint32_t i = 0, p = f->r.head; i < f->r.count; i++, p = p + 1 == f->r.cap ? 0 : p + 1)
        out->pending += f->r.pool[p].state == ST_PENDING;
}

uint64_t flow_evicted(const flow_store *f)
{
    return f->counts.outcome[FLOW_EVICTED];
}

const char *flow_outcome_name(enum flow_outcome o)
{
    static const char *const names[FLOW_OUTCOME_N] = {
        "answered", "unanswered", "unsolicited", "duplicate", "mismatch", "evicted", "late"};
    return (unsigned)o < FLOW_OUTCOME_N ? names[o] : "unknown";
}
