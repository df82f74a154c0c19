/* SPDX-License-Identifier: MIT */
/* Passive DNS: on the analysis side a bounded table of the run's RRsets (a new one goes to
 * the writer as text, repeats as counts); on the writer's side the batch of new RRsets,
 * inserted sorted by name. */
#define _GNU_SOURCE /* qsort_r */
#include "internal.h"

#include "../analyze/sketch.h"
#include "../common/err.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rr_key(const struct dns_msg *m, const struct dns_rr *rr, const uint8_t *srv,
                       size_t srvlen, uint8_t *owner, size_t *olen);
static bool rr_text(const struct dns_msg *m, uint32_t off, char *name, size_t nn, char *type,
                    size_t tn, char *rdata, size_t rn);

/* Hands the counted repeats to the writer. */
void st_pdns_counts(db_store *s)
{
    uint32_t i = 0;
    while (i < s->ndirty) {
        uint32_t n = s->ndirty - i < COUNTS_PER_REC ? s->ndirty - i : COUNTS_PER_REC, k = 0;
        struct rrset_count *c = st_rec_begin(s, REC_RRSET_COUNTS, DB_DROP_MSG,
                                             n * sizeof(*c) + sizeof(uint32_t), ROOM_ALL);
        uint32_t *hdr = (uint32_t *)c;
        if (!c)
            break;
        c = (struct rrset_count *)(void *)((uint8_t *)c + 8);
        for (uint32_t j = 0; j < n; j++) {
            struct pdns_ent *e = &s->pdns[s->pdns_dirty[i + j]];
            if (!e->pending)
                continue;
            c[k].slot = s->pdns_dirty[i + j];
            c[k].pending = e->pending;
            c[k].last_ns = e->last_ns;
            e->pending = 0;
            k++;
        }
        hdr[0] = k;
        st_rec_end(s, false);
        i += n;
    }
    for (; i < s->ndirty; i++) /* not handed on: the ring is full (counted above) */
        s->pdns[s->pdns_dirty[i]].pending = 0;
    s->ndirty = 0;
}

/* Forgets every RRset once the writer has been told (until then new RRsets are shed). */
static bool pdns_clear(db_store *s)
{
    st_pdns_counts(s);
    if (!st_rec_begin(s, REC_RRSET_CLEAR, DB_DROP_N, 0, ROOM_ALL))
        return false;
    st_rec_end(s, false);
    memset(s->pidx, 0, s->pidx_cap * sizeof(*s->pidx));
    s->pdns_used = 0;
    s->clear_due = false;
    return true;
}

/* Doubles the hash index (ids stay: only the index is rebuilt). False without memory. */
static bool pidx_grow(db_store *s)
{
    uint32_t cap = s->pidx_cap * 2, mask = cap - 1;
    uint32_t *n = calloc(cap, sizeof(*n));
    if (!n)
        return false;
    for (uint32_t id = 0; id < s->pdns_used; id++) {
        uint32_t at = (uint32_t)(s->pdns[id].key & mask);
        while (n[at])
            at = (at + 1) & mask;
        n[at] = id + 1;
    }
    free(s->pidx);
    s->pidx = n;
    s->pidx_cap = cap;
    return true;
}

/* One answer RR: a repeat is counted, a new RRset is sent as text. False when it had to be
 * shed. */
static bool pdns_note(db_store *s, const struct dns_msg *m, const struct dns_rr *rr,
                      const struct cap_meta *meta)
{
    uint8_t owner[DNS_MAX_NAME];
    size_t olen, srvlen = meta->af == 6 ? 16 : 4;
    uint64_t key = rr_key(m, rr, meta->src, srvlen, owner, &olen);
    struct pdns_ent *e = NULL;
    uint32_t slot = 0;
    char name[1024], type[32], rdata[2048], srv[48];
    struct rec_rrset *r;

    if (!key)
        return true;
    for (;;) {
        uint32_t mask = s->pidx_cap - 1, i;
        for (i = 0; i < 64; i++) {
            uint32_t at = (uint32_t)((key + i) & mask), v = s->pidx[at];
            if (!v) {
                slot = at;
                break;
            }
            struct pdns_ent *c = &s->pdns[v - 1];
            if (c->key == key) {
                if (c->pending++ == 0)
                    s->pdns_dirty[s->ndirty++] = v - 1;
                c->last_ns = meta->ts_ns > c->last_ns ? meta->ts_ns : c->last_ns;
                s->pseen++;
                return true;
            }
        }
        bool crowded = i == 64 || s->pdns_used >= s->pidx_cap / 4 * 3;
        if (!crowded && s->pdns_used < PDNS_MAX && !s->clear_due)
            break;
        if (crowded && s->pidx_cap < PDNS_IDX_MAX && !s->clear_due && pidx_grow(s))
            continue; /* look again in the bigger index */
        s->clear_due = true;
        if (!pdns_clear(s))
            return false;
    }
    e = &s->pdns[s->pdns_used];
    if ((rr->type == DNS_T_A && rr->rdlen == 4) || (rr->type == DNS_T_AAAA && rr->rdlen == 16)) {
        /* The common case without ldns's allocations. */
        dns_name_to_str(owner, olen, name, sizeof(name));
        memcpy(type, rr->type == DNS_T_A ? "A" : "AAAA", rr->type == DNS_T_A ? 2 : 5);
        st_addr_fmt(rr->type == DNS_T_A ? 4 : 6, rr->rdata, rdata);
    } else if (!rr_text(m, rr->name_off, name, sizeof(name), type, sizeof(type), rdata,
                        sizeof(rdata))) {
        return true;
    }
    st_addr_fmt(meta->af, meta->src, srv);
    size_t ln = strlen(name), lt = strlen(type), lr = strlen(rdata), ls = strlen(srv);
    r = st_rec_begin(s, REC_RRSET, DB_DROP_N, sizeof(*r) + ln + lt + lr + ls + 4, ROOM_SHED);
    if (!r)
        return false;
    r->key = key;
    r->ts_ns = meta->ts_ns;
    r->slot = s->pdns_used; /* the id */
    r->ln = (uint16_t)ln, r->lt = (uint16_t)lt, r->lr = (uint16_t)lr, r->ls = (uint16_t)ls;
    char *p = (char *)(r + 1);
    memcpy(p, name, ln + 1);
    memcpy(p += ln + 1, type, lt + 1);
    memcpy(p += lt + 1, rdata, lr + 1);
    memcpy(p + lr + 1, srv, ls + 1);
    st_rec_end(s, false);
    e->key = key;
    e->pending = 0;
    e->last_ns = meta->ts_ns;
    s->pidx[slot] = ++s->pdns_used;
    return true;
}

/* An answer with records: each answer RR to passive DNS; the message itself to the writer
 * only when it has a SOA (the zone table). Counted as handed on, or as shed. */
void st_pdns_message(db_store *s, const struct dns_msg *m, const struct cap_meta *meta)
{
    struct dns_rr_iter it;
    struct dns_rr rr;
    bool ok = true, soa = false;

    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr) && rr.section == DNS_SEC_ANSWER) {
        if (rr.type == DNS_T_OPT)
            continue;
        soa |= rr.type == DNS_T_SOA;
        ok &= pdns_note(s, m, &rr, meta);
    }
    if (soa) {
        struct rec_msg *r = st_rec_begin(s, REC_MSG, DB_DROP_N, sizeof(*r) + m->len, ROOM_SHED);
        if (r) {
            r->ts_ns = meta->ts_ns;
            r->len = (uint32_t)m->len;
            r->af = meta->af;
            memcpy(r->src, meta->src, 16);
            memcpy(r->dst, meta->dst, 16);
            r->sport = meta->sport;
            r->dport = meta->dport;
            memcpy(r + 1, m->wire, m->len);
            st_rec_end(s, false);
        }
        ok &= r != NULL;
    }
    if (ok)
        s->pmessages++;
    else
        st_drop(s, DB_DROP_MSG, 1);
}

/* An address as text, as inet_ntop writes it (RFC 5952 for IPv6), without its sprintf per
 * byte: the store formats one or two for every answer RR. buf: at least 46 bytes. */
void st_addr_fmt(uint8_t af, const uint8_t *a, char *buf)
{
    char *p = buf;
    if (af != 6) {
        for (int i = 0; i < 4; i++) {
            unsigned v = a[i];
            if (i)
                *p++ = '.';
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
        }
        *p = 0;
        return;
    }
    /* IPv4-mapped and -compatible forms: inet_ntop's own. */
    static const uint8_t z10[10];
    if (!memcmp(a, z10, 10) && ((a[10] == 0xff && a[11] == 0xff) || (!a[10] && !a[11]))) {
        if (!inet_ntop(AF_INET6, a, buf, 46))
            snprintf(buf, 46, "?");
        return;
    }
    unsigned w[8];
    int best = -1, blen = 0;
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    for (int i = 0; i < 8;) { /* the longest run of two or more zero words (the first) */
        int j = i;
        while (j < 8 && !w[j])
            j++;
        if (j - i > blen && j - i >= 2)
            best = i, blen = j - i;
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8; i++) {
        static const char hex[] = "0123456789abcdef";
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += blen - 1;
            continue;
        }
        bool lead = true;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = w[i] >> sh & 15;
            if (d || !lead || sh == 0)
                *p++ = hex[d], lead = false;
        }
        if (i < 7)
            *p++ = ':';
    }
    *p = 0;
}

const char *st_addr_text(uint8_t af, const uint8_t *a, char *buf)
{
    return inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, buf, 46) ? buf : "?";
}

/* Canonical hash of an RR: owner (lower case), type, and rdata with the names of the
 * common name-carrying types expanded, so compression does not change the key. */
static uint64_t rr_key(const struct dns_msg *m, const struct dns_rr *rr, const uint8_t *srv,
                       size_t srvlen, uint8_t *owner, size_t *olen)
{
    uint8_t buf[DNS_MAX_NAME];
    size_t next, len, pre = 0, post = 0;
    uint64_t h;
    int names = 0;

    if (dns_name_walk(m->wire, m->len, rr->name_off, &next, owner, olen) != DNS_MAL_NONE)
        return 0;
    for (size_t i = 0; i < *olen; i++)
        owner[i] = (uint8_t)tolower(owner[i]);
    h = sketch_mix64(sketch_hash(owner, *olen, false) ^ ((uint64_t)rr->type << 48));
    h = sketch_mix64(h ^ sketch_hash(srv, srvlen, false));
    switch (rr->type) {
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR:
    case DNS_T_DNAME:
        names = 1;
        break;
    case DNS_T_MX:
        pre = 2, names = 1;
        break;
    case DNS_T_SRV:
        pre = 6, names = 1;
        break;
    case DNS_T_SOA:
        names = 2, post = 20;
        break;
    default:
        return sketch_mix64(h ^ sketch_hash(rr->rdata, rr->rdlen, false)) | 1;
    }
    if (pre > rr->rdlen)
        return 0;
    h = sketch_mix64(h ^ sketch_hash(rr->rdata, pre, false));
    next = rr->rdata_off + pre;
    for (int i = 0; i < names; i++) {
        size_t at = next;
        if (dns_name_walk(m->wire, rr->rdata_off + rr->rdlen, at, &next, buf, &len) != DNS_MAL_NONE)
            return 0;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)tolower(buf[k]);
        h = sketch_mix64(h ^ sketch_hash(buf, len, false));
    }
    if (next + post > rr->rdata_off + rr->rdlen)
        return 0;
    return sketch_mix64(h ^ sketch_hash(m->wire + next, post, false)) | 1;
}

static const char *prow_str(const db_store *s, uint32_t off)
{
    return s->parena + off;
}

/* Batch order: name, type, rdata, server, key (a total order, so the rowids a batch gets do
 * not depend on the sort). */
static int prow_cmp(const void *x, const void *y, void *arg)
{
    const db_store *s = arg;
    const struct prow_ord *oa = x, *ob = y;
    const struct pdns_row *a, *b;
    int c;
    if (oa->name8 != ob->name8)
        return oa->name8 < ob->name8 ? -1 : 1;
    a = &s->prow[oa->idx], b = &s->prow[ob->idx];
    if ((c = strcmp(prow_str(s, a->name), prow_str(s, b->name))) ||
        (c = strcmp(prow_str(s, a->type), prow_str(s, b->type))) ||
        (c = strcmp(prow_str(s, a->rdata), prow_str(s, b->rdata))) ||
        (c = strcmp(prow_str(s, a->server), prow_str(s, b->server))))
        return c;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Writes the batch of new RRsets in name order (the name index is then filled page by page,
 * not at random: the cost of a flood of unique names). */
void st_pdns_batch(db_store *s)
{
    sqlite3_stmt *ins = s->st[ST_RRSET_NEW], *find = s->st[ST_RRSET_FIND];

    if (!s->nprow)
        return;
    for (uint32_t i = 0; i < s->nprow; i++)
        s->porder[i] = (struct prow_ord){s->prow[i].name8, i, s->prow[i].slot};
    qsort_r(s->porder, s->nprow, sizeof(*s->porder), prow_cmp, s);
    for (uint32_t i = 0; i < s->nprow; i++) {
        const struct pdns_row *r = &s->prow[s->porder[i].idx];
        int64_t rowid = 0;
        if (i + 16 < s->nprow) /* rows and the map are big: ask for later lines now */
            __builtin_prefetch(&s->wrow[s->porder[i + 16].slot], 1, 3);
        if (i + 32 < s->nprow)
            __builtin_prefetch(&s->prow[s->porder[i + 16].idx], 0, 3);
        if (s->pdns_cleared) {
            sqlite3_bind_text(find, 1, prow_str(s, r->name), r->ln, SQLITE_STATIC);
            sqlite3_bind_text(find, 2, prow_str(s, r->type), r->lt, SQLITE_STATIC);
            sqlite3_bind_int64(find, 3, s->run_id);
            sqlite3_bind_int64(find, 4, (int64_t)r->key);
            if (sqlite3_step(find) == SQLITE_ROW)
                rowid = sqlite3_column_int64(find, 0);
            sqlite3_reset(find);
            sqlite3_clear_bindings(find);
        }
        if (rowid) {
            sqlite3_stmt *upd = s->st[ST_RRSET_UPD];
            sqlite3_bind_int64(upd, 1, rowid);
            sqlite3_bind_int64(upd, 2, (int64_t)r->count);
            sqlite3_bind_int64(upd, 3, (int64_t)r->last_ns);
            sqlite3_bind_int64(upd, 4, (int64_t)r->first_ns);
            st_step(s, ST_RRSET_UPD);
            s->stats.pdns_seen++;
        } else {
            sqlite3_bind_int64(ins, 1, s->run_id);
            sqlite3_bind_int64(ins, 2, (int64_t)r->key);
            sqlite3_bind_text(ins, 3, prow_str(s, r->name), r->ln, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, prow_str(s, r->type), r->lt, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, prow_str(s, r->rdata), r->lr, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, prow_str(s, r->server), r->ls, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 7, (int64_t)r->first_ns);
            sqlite3_bind_int64(ins, 8, (int64_t)r->last_ns);
            sqlite3_bind_int64(ins, 9, (int64_t)r->count);
            st_step(s, ST_RRSET_NEW);
            rowid = sqlite3_last_insert_rowid(s->db);
            s->stats.pdns_new++;
            if (!s->rrset_lo)
                s->rrset_lo = rowid;
            if (rowid > s->rrset_hi)
                s->rrset_hi = rowid;
        }
        if (s->wrow[r->slot] == -(int64_t)s->porder[i].idx - 1)
            s->wrow[r->slot] = rowid;
    }
    s->nprow = 0;
    s->parena_used = 0;
}

/* Repeats of RRsets sent before: added to the batch row, or to the stored row. */
void st_w_counts(db_store *s, const uint32_t *p)
{
    const struct rrset_count *c = (const void *)((const uint8_t *)p + 8);
    sqlite3_stmt *st = s->st[ST_RRSET_UPD];

    st_tx_begin(s);
    for (uint32_t i = 0; i < p[0]; i++) {
        int64_t r = s->wrow[c[i].slot];
        s->stats.pdns_seen += c[i].pending;
        if (r < 0) {
            struct pdns_row *row = &s->prow[-r - 1];
            row->count += c[i].pending;
            row->last_ns = c[i].last_ns > row->last_ns ? c[i].last_ns : row->last_ns;
        } else if (r > 0) {
            sqlite3_bind_int64(st, 1, r);
            sqlite3_bind_int64(st, 2, (int64_t)c[i].pending);
            sqlite3_bind_int64(st, 3, (int64_t)c[i].last_ns);
            sqlite3_bind_int64(st, 4, (int64_t)c[i].last_ns);
            st_step(s, ST_RRSET_UPD);
        }
    }
}

/* The analysis forgot its RRsets: the batch goes in, the slots start over, and from now on
 * a new RRset may be one stored before (looked up). */
void st_w_clear(db_store *s)
{
    st_tx_begin(s);
    st_pdns_batch(s);
    memset(s->wrow, 0, s->wrow_hi * sizeof(*s->wrow));
    s->wrow_hi = 0;
    s->pdns_cleared = true;
    s->stats.pdns_flushes++;
}

/* Copies str into the arena; returns its offset. The caller made room. */
static uint32_t arena_put(db_store *s, const char *str, size_t n)
{
    n++;
    uint32_t off = (uint32_t)s->parena_used;
    memcpy(s->parena + off, str, n);
    s->parena_used += n;
    return off;
}

/* Formats the RR at off with ldns (writer thread only: allocations are fine here). */
static bool rr_text(const struct dns_msg *m, uint32_t off, char *name, size_t nn, char *type,
                    size_t tn, char *rdata, size_t rn)
{
    ldns_rr *rr = NULL;
    size_t pos = off, o = 0;
    char *t;

    if (ldns_wire2rr(&rr, m->wire, m->len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        return false;
    t = ldns_rdf2str(ldns_rr_owner(rr));
    snprintf(name, nn, "%s", t ? t : "?");
    free(t);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    t = ldns_rr_type2str(ldns_rr_get_type(rr));
    snprintf(type, tn, "%s", t ? t : "?");
    free(t);
    rdata[0] = 0;
    for (size_t i = 0; i < ldns_rr_rd_count(rr) && o < rn; i++) {
        t = ldns_rdf2str(ldns_rr_rdf(rr, i));
        o += (size_t)snprintf(rdata + o, rn - o, "%s%s", i ? " " : "", t ? t : "");
        free(t);
    }
    ldns_rr_free(rr);
    return true;
}

/* A new RRset: into the batch (sorted and inserted on commit or when it is full). */
void st_w_rrset(db_store *s, const struct rec_rrset *r)
{
    const char *name = (const char *)(r + 1), *type = name + r->ln + 1, *rdata = type + r->lt + 1,
               *server = rdata + r->lr + 1;
    size_t need = (size_t)r->ln + r->lt + r->lr + r->ls + 4;
    struct pdns_row *row;

    st_tx_begin(s);
    if (s->nprow == PDNS_BATCH || s->parena_used + need > PDNS_ARENA)
        st_pdns_batch(s);
    row = &s->prow[s->nprow];
    row->key = r->key;
    row->first_ns = row->last_ns = r->ts_ns;
    row->count = 1;
    row->slot = r->slot;
    row->name = arena_put(s, name, r->ln);
    row->type = arena_put(s, type, r->lt);
    row->rdata = arena_put(s, rdata, r->lr);
    row->server = arena_put(s, server, r->ls);
    row->ln = r->ln, row->lt = r->lt, row->lr = r->lr, row->ls = r->ls;
    row->name8 = 0;
    for (size_t i = 0; i < 8; i++)
        row->name8 = row->name8 << 8 | (i < r->ln ? (uint8_t)name[i] : 0);
    if (r->slot >= PDNS_MAX)
        return;
    s->wrow[r->slot] = -(int64_t)s->nprow - 1;
    if (r->slot >= s->wrow_hi)
        s->wrow_hi = r->slot + 1;
    s->nprow++;
}
