/* SPDX-License-Identifier: MIT */
/* Flow store. Entries live in a fixed pool used as a ring in arrival order, so the oldest
 * query is always at the head: time-outs and eviction are O(1) amortised. An open-addressing
 * index (linear probing, backward-shift deletion) finds an entry by its key. Answered
 * entries stay until their time-out so that a second response is seen as a duplicate. */
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

struct flow_store {
    struct flow_entry *pool;
    uint32_t cap, head, count;
    uint32_t *index; /* (tag << POS_BITS) | (pool position + 1); 0 = empty */
    uint32_t mask;
    uint64_t timeout_ns;
    uint64_t due; /* packet time from which flow_advance has work (the head expires) */
    flow_txn_fn fn;
    void *user;
    struct flow_counts counts;
};

void flow_config_defaults(struct flow_config *cfg)
{
    cfg->max_pending = 131072;       /* index of 256 Ki 32-bit slots: 1 MiB */
    cfg->timeout_ns = 5000000000ull; /* 5 s: resolvers give up and retry well before this */
}

flow_store *flow_new(const struct flow_config *cfg, flow_txn_fn fn, void *user)
{
    flow_store *f = calloc(1, sizeof(*f));
    uint32_t n = 2;

    if (!f)
        return NULL;
    f->cap = cfg->max_pending ? cfg->max_pending : 1;
    if (f->cap > FLOW_MAX_ENTRIES)
        f->cap = FLOW_MAX_ENTRIES;
    while (n < f->cap * 2)
        n <<= 1;
    f->pool = calloc(f->cap, sizeof(*f->pool));
    f->index = calloc(n, sizeof(*f->index));
    if (!f->pool || !f->index) {
        flow_free(f);
        return NULL;
    }
    f->mask = n - 1;
    f->timeout_ns = cfg->timeout_ns;
    f->due = UINT64_MAX;
    f->fn = fn;
    f->user = user;
    return f;
}

void flow_free(flow_store *f)
{
    if (!f)
        return;
    free(f->pool);
    free(f->index);
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

static int64_t index_find(const flow_store *f, uint64_t kh, uint32_t pos)
{
    for (uint32_t i = home_of(kh, f->mask);; i = (i + 1) & f->mask) {
        if (f->index[i] == 0)
            return -1;
        if ((f->index[i] & POS_MASK) == pos + 1)
            return i;
    }
}

static void index_remove(flow_store *f, uint32_t pos)
{
    int64_t found = index_find(f, f->pool[pos].key_hash, pos);
    uint32_t i, j;

    if (found < 0)
        return;
    i = (uint32_t)found;
    /* Backward-shift deletion keeps every probe chain unbroken (no tombstones). */
    for (j = (i + 1) & f->mask; f->index[j] != 0; j = (j + 1) & f->mask) {
        uint32_t home = home_of(f->pool[(f->index[j] & POS_MASK) - 1].key_hash, f->mask);
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        f->index[i] = f->index[j];
        i = j;
    }
    f->index[i] = 0;
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

/* When the head of the ring needs attention: a dead head at once, a live one when it times
 * out (flow_advance ends entries whose query_ns + timeout < now), never when empty. */
static void set_due(flow_store *f)
{
    const struct flow_entry *e = &f->pool[f->head];

    if (f->count == 0)
        f->due = UINT64_MAX;
    else if (e->state == ST_DEAD)
        f->due = 0;
    else
        f->due = e->query_ns + f->timeout_ns + 1;
}

/* Ends the entry at the head of the ring. */
static void pop_head(flow_store *f, enum flow_outcome pending_outcome)
{
    struct flow_entry *e = &f->pool[f->head];

    if (e->state != ST_DEAD) {
        if (e->state == ST_PENDING) {
            struct flow_txn t;
            txn_from_entry(&t, e);
            t.outcome = pending_outcome;
            emit(f, &t);
        }
        index_remove(f, f->head);
        e->state = ST_DEAD;
    }
    f->head = f->head + 1 == f->cap ? 0 : f->head + 1;
    f->count--;
}

void flow_advance(flow_store *f, uint64_t now_ns)
{
    if (now_ns < f->due)
        return; /* the common case: the oldest entry is not due yet */
    while (f->count > 0) {
        const struct flow_entry *e = &f->pool[f->head];
        if (e->state != ST_DEAD && e->query_ns + f->timeout_ns >= now_ns)
            break;
        if (f->count > 8) {
            /* The ring says which entries expire next: load their index slots early. */
            uint32_t p = f->head + 8 >= f->cap ? f->head + 8 - f->cap : f->head + 8;
            __builtin_prefetch(&f->index[home_of(f->pool[p].key_hash, f->mask)]);
        }
        pop_head(f, FLOW_UNANSWERED);
    }
    set_due(f);
}

static struct flow_entry *lookup(flow_store *f, uint64_t kh, uint8_t af, uint8_t proto,
                                 const uint8_t *client, const uint8_t *server, uint16_t cport,
                                 uint16_t sport, uint16_t id)
{
    uint32_t tag = tag_of(kh);

    for (uint32_t i = home_of(kh, f->mask); f->index[i] != 0; i = (i + 1) & f->mask) {
        struct flow_entry *e;
        if ((f->index[i] >> POS_BITS) != tag)
            continue; /* most misses end here, without touching the pool */
        e = &f->pool[(f->index[i] & POS_MASK) - 1];
        if (entry_is(e, kh, af, proto, client, server, cport, sport, id))
            return e;
    }
    return NULL;
}

static void on_query(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                     const struct cap_meta *meta)
{
    struct flow_entry *e =
        lookup(f, kh, meta->af, meta->proto, meta->src, meta->dst, meta->sport, meta->dport, m->id);
    uint32_t pos;

    if (e) {
        if (e->state == ST_PENDING) {
            f->counts.query_retransmits++; /* latency keeps counting from the first copy */
            return;
        }
        /* The same key again after an answer: a new transaction. */
        index_remove(f, (uint32_t)(e - f->pool));
        e->state = ST_DEAD;
        if (e == &f->pool[f->head])
            f->due = 0;
    }
    if (f->count == f->cap)
        pop_head(f, FLOW_EVICTED);
    pos = f->head + f->count;
    if (pos >= f->cap)
        pos -= f->cap;
    e = &f->pool[pos];
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
    f->count++;
    set_due(f); /* the head may have changed (eviction) or the store was empty */
    for (uint32_t i = home_of(kh, f->mask);; i = (i + 1) & f->mask) {
        if (f->index[i] == 0) {
            f->index[i] = (tag_of(kh) << POS_BITS) | (pos + 1);
            break;
        }
    }
}

static void on_response(flow_store *f, const struct dns_msg *m, uint64_t qhash, uint64_t kh,
                        const struct cap_meta *meta)
{
    /* The client is the response's destination (kh was computed that way). */
    struct flow_entry *e =
        lookup(f, kh, meta->af, meta->proto, meta->dst, meta->src, meta->dport, meta->sport, m->id);
    struct flow_txn t;

    if (!e) {
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
    __builtin_prefetch(&f->index[home_of(kh, f->mask)]);
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
    while (f->count > 0)
        pop_head(f, FLOW_UNANSWERED);
    set_due(f);
}

void flow_get_counts(const flow_store *f, struct flow_counts *out)
{
    *out = f->counts;
    out->pending = 0;
    for (uint32_t i = 0, p = f->head; i < f->count; i++, p = p + 1 == f->cap ? 0 : p + 1)
        out->pending += f->pool[p].state == ST_PENDING;
}

uint64_t flow_evicted(const flow_store *f)
{
    return f->counts.outcome[FLOW_EVICTED];
}

const char *flow_outcome_name(enum flow_outcome o)
{
    static const char *const names[FLOW_OUTCOME_N] = {"answered",  "unanswered", "unsolicited",
                                                      "duplicate", "mismatch",   "evicted"};
    return (unsigned)o < FLOW_OUTCOME_N ? names[o] : "unknown";
}
