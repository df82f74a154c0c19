/* SPDX-License-Identifier: MIT */
/* poison-flood: Kaminsky-style bursts of forged responses toward a resolver. Counts, per
 * target address, responses that match no outstanding query (unsolicited: wrong TXID or
 * port) or that carry a pending query's ports and TXID with another question (mismatch),
 * and among them authority/additional records outside the question's parent zone (out of
 * bailiwick, the NS/glue hijack). A forged flood races one question (or a few) with many
 * guesses, so what fires is min_responses suspects within window seconds of packet time:
 * mismatches, and unsolicited responses for a question that already drew an unsolicited
 * response in the window. A capture that lost queries (kernel drops on a busy mirror) also
 * leaves unsolicited responses, but one per question: those never fire.
 * Not for: late answers trickling in after a time-out. */
#include "rule.h"

#include "ktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_TXIDS 8
#define RECENT_QUESTIONS 32 /* questions remembered per target and window */

static const struct rule_param params[] = {
    {"window", RP_INT, 10, 1, 3600, "seconds over which forged responses are counted"},
    {"min_responses", RP_INT, 10, 2, 1000000,
     "forged-looking responses to one target that fire (mismatches and repeats of a question)"},
    {"max_targets", RP_INT, 4096, 16, 1000000, "targets tracked at once"},
    {0},
};

struct target {
    uint64_t win_start, first_ns, last_ns;
    uint64_t count, unsolicited, mismatch, oob;
    uint64_t suspects; /* mismatches + unsolicited repeats of a question: what fires */
    uint64_t repeats;  /* unsolicited responses for a question seen before in the window */
    uint32_t questions[RECENT_QUESTIONS]; /* hashes of the window's unsolicited questions */
    uint32_t nquestions;                  /* distinct questions seen in the window */
    uint64_t total;                       /* over the whole alert */
    uint64_t reported;                    /* count at the last report */
    uint16_t txids[SAMPLE_TXIDS];
    uint8_t ntxids;
    uint8_t server_af;
    uint8_t server[16];
    char qname[256];
};

struct st {
    struct ktab targets;
    uint64_t window_ns, min;
};

static int init(struct rule_ctx *rc)
{
    struct st *s = calloc(1, sizeof(*s));
    if (!s || ktab_init(&s->targets, (uint32_t)rule_param_int(rc, "max_targets"),
                        sizeof(struct target)) < 0) {
        free(s);
        return -1;
    }
    s->window_ns = (uint64_t)rule_param_int(rc, "window") * 1000000000ull;
    s->min = (uint64_t)rule_param_int(rc, "min_responses");
    rule_set_state(rc, s);
    return 0;
}

static void fini(struct rule_ctx *rc)
{
    struct st *s = rule_state(rc);
    if (!s)
        return;
    ktab_free(&s->targets);
    free(s);
}

/* True if name (uncompressed wire form) equals zone or lies below it (case-insensitive). */
static bool name_under(const uint8_t *name, size_t nlen, const uint8_t *zone, size_t zlen)
{
    size_t p = 0;
    while (p < nlen) {
        if (nlen - p == zlen) {
            size_t i = 0;
            for (; i < zlen; i++) {
                uint8_t a = name[p + i], b = zone[i];
                if (a >= 'A' && a <= 'Z')
                    a = (uint8_t)(a + 32);
                if (b >= 'A' && b <= 'Z')
                    b = (uint8_t)(b + 32);
                if (a != b)
                    break;
            }
            return i == zlen;
        }
        if (name[p] == 0)
            return false;
        p += (size_t)name[p] + 1;
    }
    return false;
}

/* Authority/additional records whose owner is outside the question's parent zone. */
static uint64_t count_oob(const struct dns_msg *m)
{
    struct dns_rr_iter it;
    struct dns_rr rr;
    uint8_t owner[DNS_MAX_NAME];
    const uint8_t *zone;
    size_t zlen, next, olen;
    uint64_t n = 0;

    if (!m->has_question || !m->rrs_ok || m->qname_len < 2)
        return 0;
    /* the parent of the question name ("example.com." for "www.example.com.") */
    zone = m->qname + m->qname[0] + 1;
    zlen = m->qname_len - m->qname[0] - 1u;
    if (m->qname_labels < 2) {
        zone = m->qname;
        zlen = m->qname_len;
    }
    dns_rr_iter_init(&it, m);
    while (dns_rr_next(&it, &rr)) {
        if (rr.section == DNS_SEC_ANSWER || rr.type == DNS_T_OPT || rr.type == DNS_T_TSIG)
            continue;
        if (dns_name_walk(m->wire, m->len, rr.name_off, &next, owner, &olen) != DNS_MAL_NONE)
            continue;
        if (!name_under(owner, olen, zone, zlen))
            n++;
    }
    return n;
}

/* FNV-1a over the question (name case-folded, type); 0 stands for "no question". */
static uint32_t question_hash(const struct dns_msg *m)
{
    uint32_t h = 2166136261u;

    if (!m || !m->has_question)
        return 0;
    for (size_t i = 0; i < m->qname_len; i++) {
        uint8_t c = m->qname[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        h = (h ^ c) * 16777619u;
    }
    h = (h ^ (m->qtype & 0xff)) * 16777619u;
    h = (h ^ (m->qtype >> 8)) * 16777619u;
    return h ? h : 1;
}

/* True if the window already saw an unsolicited response for this question; else
 * remembers it (the oldest of RECENT_QUESTIONS gives way: a flood over more names than
 * that still repeats each of its recent names). */
static bool question_repeats(struct target *t, uint32_t h)
{
    uint32_t n = t->nquestions < RECENT_QUESTIONS ? t->nquestions : RECENT_QUESTIONS;

    if (h == 0)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (t->questions[i] == h)
            return true;
    t->questions[t->nquestions % RECENT_QUESTIONS] = h;
    t->nquestions++;
    return false;
}

static void report(struct rule_ctx *rc, const struct st *s, const struct ktab_key *k,
                   const struct target *t, uint64_t now)
{
    char victim[48], server[48], summary[256], ev[512];
    int o;
    uint8_t af;
    const uint8_t *addr = ktab_key_addr(k, &af);

    rule_addr(af, addr, victim);
    rule_addr(t->server_af, t->server, server);
    snprintf(summary, sizeof(summary),
             "%llu forged-looking responses to %s within %llu s (%llu unsolicited, %llu "
             "question mismatch, %llu out-of-bailiwick records; %llu distinct question%s)",
             (unsigned long long)t->count, victim, (unsigned long long)(s->window_ns / 1000000000u),
             (unsigned long long)t->unsolicited, (unsigned long long)t->mismatch,
             (unsigned long long)t->oob, (unsigned long long)t->nquestions,
             t->nquestions == 1 ? "" : "s");
    o = snprintf(ev, sizeof(ev),
                 "{\"unsolicited\":%llu,\"mismatch\":%llu,\"out_of_bailiwick\":%llu,"
                 "\"repeated_question\":%llu,\"distinct_questions\":%llu,\"sample_txids\":[",
                 (unsigned long long)t->unsolicited, (unsigned long long)t->mismatch,
                 (unsigned long long)t->oob, (unsigned long long)t->repeats,
                 (unsigned long long)t->nquestions);
    for (int i = 0; i < t->ntxids && o < (int)sizeof(ev) - 16; i++)
        o += snprintf(ev + o, sizeof(ev) - (size_t)o, "%s%u", i ? "," : "", t->txids[i]);
    snprintf(ev + o, sizeof(ev) - (size_t)o, "]}");
    ((struct target *)t)->reported = t->count;
    struct alert_in a = {
        .key = victim,
        .severity = t->oob ? SEV_CRITICAL : SEV_HIGH,
        .ts_ns = now,
        .summary = summary,
        .victim = victim,
        .server = server,
        .qname = t->qname[0] ? t->qname : NULL,
        .count = t->total,
        .threshold = (double)s->min,
        .observed = (double)t->count,
        .evidence = ev,
    };
    rule_emit(rc, &a);
}

static void on_txn(struct rule_ctx *rc, const struct flow_txn *x)
{
    struct st *s = rule_state(rc);
    struct ktab_key k;
    struct target *t;

    if (x->outcome != FLOW_UNSOLICITED && x->outcome != FLOW_MISMATCH)
        return;
    k = ktab_addr_key(x->af, x->client, NULL, 0);
    t = ktab_get(&s->targets, &k, true);
    if (!t) {
        rule_count(rc, "targets_refused", 1);
        return;
    }
    if (x->response_ns - t->win_start >= s->window_ns || t->win_start == 0) {
        t->win_start = x->response_ns;
        t->count = t->unsolicited = t->mismatch = t->oob = 0;
        t->suspects = t->repeats = 0;
        t->ntxids = 0;
        t->nquestions = 0;
    }
    t->count++;
    t->total++;
    t->last_ns = x->response_ns;
    if (x->outcome == FLOW_UNSOLICITED) {
        t->unsolicited++;
        if (question_repeats(t, question_hash(x->response))) {
            t->repeats++;
            t->suspects++;
        }
    } else {
        t->mismatch++;
        t->suspects++;
    }
    if (t->ntxids < SAMPLE_TXIDS)
        t->txids[t->ntxids++] = x->id;
    t->server_af = x->af;
    memcpy(t->server, x->server, 16);
    if (x->response) {
        t->oob += count_oob(x->response);
        if (x->response->has_question && !t->qname[0])
            dns_name_to_str(x->response->qname, x->response->qname_len, t->qname, sizeof(t->qname));
    }
    /* Report when the threshold is crossed, then at every further doubling. */
    if (t->suspects >= s->min && (t->suspects == s->min || (t->suspects & (t->suspects - 1)) == 0))
        report(rc, s, &k, t, x->response_ns);
}

static void on_tick(struct rule_ctx *rc, const struct win_stats *w)
{
    struct st *s = rule_state(rc);

    /* Bring open findings up to date once per window (between the doublings). */
    for (uint32_t i = 0; i < s->targets.n; i++) {
        struct target *t = ktab_val_at(&s->targets, i);
        if (t->suspects >= s->min && t->count != t->reported)
            report(rc, s, ktab_key_at(&s->targets, i), t, t->last_ns);
    }
    /* Forget targets that have been quiet for a window: the table stays small. */
    for (uint32_t i = 0; i < s->targets.n; i++) {
        struct target *t = ktab_val_at(&s->targets, i);
        if (w->end_ns - t->last_ns < s->window_ns)
            return; /* something is still active: keep the table as it is */
    }
    ktab_clear(&s->targets);
}

const struct rule_ops rule_poison_flood = {
    .name = "poison-flood",
    .summary = "bursts of unsolicited or mismatched responses toward one resolver (cache "
               "poisoning)",
    .reference = "BSI APP.3.6 (manipulation, cache poisoning); IPA 2008 advisory",
    .params = params,
    .init = init,
    .on_txn = on_txn,
    .on_tick = on_tick,
    .fini = fini,
};
