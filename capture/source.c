/* SPDX-License-Identifier: MIT */
/* Input files and their merge. Classic pcap goes through libpcap (both byte orders, us and
 * ns resolution, always delivered in ns) or, plain and on disk, is read in place; pcapng
 * through the reader below, which follows the block layout of draft-ietf-opsawg-pcapng
 * (SHB, IDB, EPB, SPB, obsolete PB); dnstap files and server logs through their readers on
 * the decompressed stream. All inputs are merged by a binary heap on the next item's time
 * stamp, ties broken by kind, file name and order of opening. */
#include "source.h"

#include "zio.h"
#include "../common/err.h"
#include "../common/log.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_IDB 1u
#define PCAPNG_PB 2u
#define PCAPNG_SPB 3u
#define PCAPNG_EPB 6u
#define PCAPNG_BOM 0x1a2b3c4du
#define PCAPNG_MAX_BLOCK (16u * 1024u * 1024u)
#define PCAPNG_MAX_IF 256
#define MAX_FILTERS 8

struct ng_if {
    int dlt;
    uint32_t snaplen;
    uint64_t units;   /* timestamp units per second */
    int64_t offset_s; /* if_tsoffset */
};

struct bpf_slot {
    int dlt;
    bool ok;
    struct bpf_program prog;
};

struct source {
    char *path;
    enum cap_input kind;
    unsigned seq;   /* order of opening: the last tie-break */
    uint64_t ts;    /* time stamp of the item waiting to be merged */
    cap_dnstap *dt; /* CAP_IN_DNSTAP */
    struct cap_msg dmsg;
    srvlog *lg; /* CAP_IN_LOG */
    struct srvlog_event lev;
    struct zio_file zf;
    uint64_t packets;
    /* classic pcap, plain file: read in place through mmap (no copy, no stdio) */
    const uint8_t *map;
    size_t map_len, map_off, map_dropped;
    bool map_swap, map_nano;
    int map_dlt;
    /* classic pcap */
    pcap_t *pcap;
    int pcap_dlt;
    uint64_t pcap_off; /* byte offset of the next record */
    /* pcapng */
    bool ng;
    bool swap;
    uint8_t *blk;
    uint32_t blk_cap;
    uint64_t ng_off;
    struct ng_if ifs[PCAPNG_MAX_IF];
    unsigned nifs;
    /* the frame waiting to be merged */
    struct cap_pkt next;
};

struct cap_reader {
    char *bpf;
    struct source **heap; /* min-heap on (ts, kind, path, seq) */
    unsigned n, cap;
    unsigned inputs, kinds[3];
    enum srvlog_format logfmt;
    uint64_t dt_counts[CAP_DT_N];
    struct cap_log_totals logs;
    char sample_path[512]; /* the log the unparsed sample comes from */
    unsigned errors;
    uint64_t filtered;
    uint64_t done_closed; /* raw bytes of inputs already finished */
    uint64_t total;
    struct bpf_slot filters[MAX_FILTERS];
    unsigned nfilters;
    struct source *current; /* frame handed out last: advance it on the next call */
};

static uint32_t ng32(const struct source *s, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return s->swap ? __builtin_bswap32(v) : v;
}

static uint16_t ng16(const struct source *s, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return s->swap ? __builtin_bswap16(v) : v;
}

/* LINKTYPE_ values in files differ from DLT_ values in a few historical cases. */
static int linktype_to_dlt(uint32_t lt)
{
    if (lt == 101)
        return DLT_RAW;
    return (int)lt; /* the same number for every other link type we decode */
}

static int ensure_cap(struct source *s, uint32_t need, char *err, size_t errlen)
{
    uint8_t *nb;

    if (need <= s->blk_cap)
        return 0;
    nb = realloc(s->blk, need);
    if (!nb) {
        snprintf(err, errlen, "out of memory for a %u-byte block", need);
        return ERR_NOMEM;
    }
    s->blk = nb;
    s->blk_cap = need;
    return 0;
}

static int ng_read_block(struct source *s, uint32_t *type, uint32_t *body_len, char *err,
                         size_t errlen)
{
    uint8_t hdr[8];
    size_t got = fread(hdr, 1, 8, s->zf.fp);
    uint32_t total;

    if (got == 0 && feof(s->zf.fp))
        return ERR_EOF;
    if (got < 8) {
        snprintf(err, errlen, "truncated block header at byte offset %llu",
                 (unsigned long long)s->ng_off);
        return ERR_TRUNC;
    }
    memcpy(type, hdr, 4);
    if (*type == PCAPNG_SHB) {
        /* A new section: its byte-order magic decides how everything after it reads. */
        uint8_t bom[4];
        uint32_t b;
        if (fread(bom, 1, 4, s->zf.fp) < 4) {
            snprintf(err, errlen, "truncated section header at byte offset %llu",
                     (unsigned long long)s->ng_off);
            return ERR_TRUNC;
        }
        memcpy(&b, bom, 4);
        if (b == PCAPNG_BOM)
            s->swap = false;
        else if (b == __builtin_bswap32(PCAPNG_BOM))
            s->swap = true;
        else {
            snprintf(err, errlen, "bad byte-order magic in section header at byte offset %llu",
                     (unsigned long long)s->ng_off);
            return ERR_FORMAT;
        }
        total = ng32(s, hdr + 4);
        if (total < 28 || total % 4 || total > PCAPNG_MAX_BLOCK) {
            snprintf(err, errlen, "bad section header length %u at byte offset %llu", total,
                     (unsigned long long)s->ng_off);
            return ERR_FORMAT;
        }
        if (ensure_cap(s, total - 12, err, errlen) < 0)
            return ERR_NOMEM;
        if (fread(s->blk, 1, total - 12, s->zf.fp) < total - 12) {
            snprintf(err, errlen, "truncated section header at byte offset %llu",
                     (unsigned long long)s->ng_off);
            return ERR_TRUNC;
        }
        s->nifs = 0;
        s->ng_off += total;
        *body_len = total - 12;
        return 0;
    }
    *type = ng32(s, hdr);
    total = ng32(s, hdr + 4);
    if (total < 12 || total % 4) {
        snprintf(err, errlen, "bad block length %u at byte offset %llu", total,
                 (unsigned long long)s->ng_off);
        return ERR_FORMAT;
    }
    if (total > PCAPNG_MAX_BLOCK) {
        snprintf(err, errlen, "block of %u bytes at byte offset %llu exceeds the %u-byte limit",
                 total, (unsigned long long)s->ng_off, PCAPNG_MAX_BLOCK);
        return ERR_FORMAT;
    }
    if (ensure_cap(s, total - 8, err, errlen) < 0)
        return ERR_NOMEM;
    if (fread(s->blk, 1, total - 8, s->zf.fp) < total - 8) {
        snprintf(err, errlen, "truncated block (type %u, %u bytes) at byte offset %llu", *type,
                 total, (unsigned long long)s->ng_off);
        return ERR_TRUNC;
    }
    if (ng32(s, s->blk + total - 12) != total) {
        snprintf(err, errlen, "block at byte offset %llu: trailing length does not match",
                 (unsigned long long)s->ng_off);
        return ERR_FORMAT;
    }
    s->ng_off += total;
    *body_len = total - 12;
    return 0;
}

static void ng_parse_idb(struct source *s, uint32_t len)
{
    struct ng_if *ifp;
    uint32_t off = 8;

    if (s->nifs >= PCAPNG_MAX_IF || len < 8)
        return;
    ifp = &s->ifs[s->nifs++];
    ifp->dlt = linktype_to_dlt(ng16(s, s->blk));
    ifp->snaplen = ng32(s, s->blk + 4);
    ifp->units = 1000000; /* default resolution: microseconds */
    ifp->offset_s = 0;
    while (off + 4 <= len) {
        uint16_t code = ng16(s, s->blk + off), olen = ng16(s, s->blk + off + 2);
        const uint8_t *v = s->blk + off + 4;
        if (code == 0 || off + 4 + olen > len)
            break;
        if (code == 9 && olen >= 1) { /* if_tsresol */
            uint8_t e = v[0] & 0x7f;
            uint64_t u = 1;
            if (v[0] & 0x80)
                u = e < 63 ? (1ull << e) : 0;
            else
                for (uint8_t i = 0; i < e && i < 19; i++)
                    u *= 10;
            if (u)
                ifp->units = u;
        } else if (code == 14 && olen >= 8) { /* if_tsoffset: 64-bit, section byte order */
            uint64_t o;
            memcpy(&o, v, 8);
            ifp->offset_s = (int64_t)(s->swap ? __builtin_bswap64(o) : o);
        }
        off += 4 + ((olen + 3u) & ~3u);
    }
}

static uint64_t ts_to_ns(const struct ng_if *ifp, uint64_t ts)
{
    uint64_t sec = ts / ifp->units, frac = ts % ifp->units;
    unsigned __int128 ns = (unsigned __int128)frac * 1000000000u / ifp->units;
    return (uint64_t)((int64_t)sec + ifp->offset_s) * 1000000000ull + (uint64_t)ns;
}

/* Reads pcapng blocks until a packet. 1 = packet, 0 = end, < 0 = error (message in err). */
static int ng_next(struct source *s, struct cap_pkt *pkt, char *err, size_t errlen)
{
    for (;;) {
        uint32_t type = 0, len = 0, ifid, caplen, wirelen, hdr;
        uint64_t ts;
        int rc = ng_read_block(s, &type, &len, err, errlen);

        if (rc == ERR_EOF)
            return 0;
        if (rc < 0)
            return rc;
        switch (type) {
        case PCAPNG_IDB:
            ng_parse_idb(s, len);
            continue;
        case PCAPNG_EPB:
            if (len < 20)
                goto bad;
            ifid = ng32(s, s->blk);
            ts = ((uint64_t)ng32(s, s->blk + 4) << 32) | ng32(s, s->blk + 8);
            caplen = ng32(s, s->blk + 12);
            wirelen = ng32(s, s->blk + 16);
            hdr = 20;
            break;
        case PCAPNG_PB:
            if (len < 20)
                goto bad;
            ifid = ng16(s, s->blk);
            ts = ((uint64_t)ng32(s, s->blk + 4) << 32) | ng32(s, s->blk + 8);
            caplen = ng32(s, s->blk + 12);
            wirelen = ng32(s, s->blk + 16);
            hdr = 20;
            break;
        case PCAPNG_SPB:
            if (len < 4 || s->nifs == 0)
                goto bad;
            ifid = 0;
            ts = 0; /* simple packets carry no time: they sort first */
            wirelen = ng32(s, s->blk);
            caplen = len - 4 < wirelen ? len - 4 : wirelen;
            if (s->ifs[0].snaplen && caplen > s->ifs[0].snaplen)
                caplen = s->ifs[0].snaplen;
            hdr = 4;
            break;
        default:
            continue; /* NRB, ISB, DSB, custom blocks: nothing for us */
        }
        if (ifid >= s->nifs || caplen > len - hdr) {
            snprintf(err, errlen, "packet block at byte offset %llu: %s",
                     (unsigned long long)(s->ng_off - len - 12),
                     ifid >= s->nifs ? "unknown interface" : "captured length exceeds block");
            return ERR_FORMAT;
        }
        pkt->ts_ns = type == PCAPNG_SPB ? 0 : ts_to_ns(&s->ifs[ifid], ts);
        pkt->caplen = caplen;
        pkt->wirelen = wirelen < caplen ? caplen : wirelen;
        pkt->dlt = s->ifs[ifid].dlt;
        pkt->data = s->blk + hdr;
        return 1;
    bad:
        snprintf(err, errlen, "short packet block at byte offset %llu",
                 (unsigned long long)(s->ng_off - len - 12));
        return ERR_FORMAT;
    }
}

static int pcap_src_next(struct source *s, struct cap_pkt *pkt, char *err, size_t errlen)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(s->pcap, &h, &data);

    if (rc == 1) {
        pkt->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        pkt->caplen = h->caplen;
        pkt->wirelen = h->len < h->caplen ? h->caplen : h->len;
        pkt->dlt = s->pcap_dlt;
        pkt->data = data;
        s->pcap_off += 16 + (uint64_t)h->caplen;
        return 1;
    }
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    snprintf(err, errlen, "damaged record at byte offset %llu: %s", (unsigned long long)s->pcap_off,
             pcap_geterr(s->pcap));
    return strstr(pcap_geterr(s->pcap), "truncated") ? ERR_TRUNC : ERR_FORMAT;
}

/* Classic pcap records straight from the mapping: 16-byte header, then the frame. */
static int map_next(struct source *s, struct cap_pkt *pkt, char *err, size_t errlen)
{
    const uint8_t *h;
    uint32_t sec, frac, caplen, wirelen;

    /* The previous frame is no longer needed: give back the pages already read, so a large
     * file does not grow the resident set (the page cache keeps them). */
    if (s->map_off - s->map_dropped >= (8u << 20)) {
        size_t upto = s->map_off & ~(size_t)4095;
        madvise((void *)(uintptr_t)(s->map + s->map_dropped), upto - s->map_dropped, MADV_DONTNEED);
        s->map_dropped = upto;
    }
    if (s->map_off == s->map_len)
        return 0;
    if (s->map_len - s->map_off < 16) {
        snprintf(err, errlen, "truncated record header at byte offset %llu",
                 (unsigned long long)s->map_off);
        return ERR_TRUNC;
    }
    h = s->map + s->map_off;
    memcpy(&sec, h, 4);
    memcpy(&frac, h + 4, 4);
    memcpy(&caplen, h + 8, 4);
    memcpy(&wirelen, h + 12, 4);
    if (s->map_swap) {
        sec = __builtin_bswap32(sec);
        frac = __builtin_bswap32(frac);
        caplen = __builtin_bswap32(caplen);
        wirelen = __builtin_bswap32(wirelen);
    }
    if (caplen > 262144 * 4) { /* libpcap's own sanity limit is 262144 */
        snprintf(err, errlen, "damaged record at byte offset %llu: captured length %u",
                 (unsigned long long)s->map_off, caplen);
        return ERR_FORMAT;
    }
    if (s->map_len - s->map_off - 16 < caplen) {
        snprintf(err, errlen,
                 "damaged record at byte offset %llu: truncated (%u captured bytes, %llu present)",
                 (unsigned long long)s->map_off, caplen,
                 (unsigned long long)(s->map_len - s->map_off - 16));
        return ERR_TRUNC;
    }
    pkt->ts_ns = (uint64_t)sec * 1000000000ull + (s->map_nano ? frac : (uint64_t)frac * 1000u);
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->dlt = s->map_dlt;
    pkt->data = h + 16;
    s->map_off += 16 + (size_t)caplen;
    /* The next frame's first cache lines start loading now, while this one is analysed;
     * the hardware prefetcher stops at page boundaries, this does not. */
    if (s->map_len - s->map_off >= 192) {
        __builtin_prefetch(s->map + s->map_off);
        __builtin_prefetch(s->map + s->map_off + 64);
        __builtin_prefetch(s->map + s->map_off + 128);
    }
    return 1;
}

/* Maps a plain classic pcap file if it is one we read in place. */
static bool map_open(struct source *s)
{
    uint8_t hdr[24];
    uint32_t magic, lt;
    void *m;

    if (s->zf.z || s->zf.raw_size < 24 || s->zf.nmagic < 4)
        return false;
    memcpy(&magic, s->zf.magic, 4);
    switch (magic) {
    case 0xa1b2c3d4u:
        s->map_swap = false, s->map_nano = false;
        break;
    case 0xd4c3b2a1u:
        s->map_swap = true, s->map_nano = false;
        break;
    case 0xa1b23c4du:
        s->map_swap = false, s->map_nano = true;
        break;
    case 0x4d3cb2a1u:
        s->map_swap = true, s->map_nano = true;
        break;
    default:
        return false; /* other variants (e.g. 0xa1b2cd34): libpcap knows them */
    }
    m = mmap(NULL, s->zf.raw_size, PROT_READ, MAP_PRIVATE, fileno(s->zf.fp), 0);
    if (m == MAP_FAILED)
        return false;
    madvise(m, s->zf.raw_size, MADV_SEQUENTIAL);
    memcpy(hdr, m, 24);
    memcpy(&lt, hdr + 20, 4);
    if (s->map_swap)
        lt = __builtin_bswap32(lt);
    /* LINKTYPE in the low 16 bits; the upper bits hold FCS length flags (pcap format). */
    s->map_dlt = linktype_to_dlt(lt & 0xffff);
    s->map = m;
    s->map_len = s->zf.raw_size;
    s->map_off = 24;
    return true;
}

static void source_free(struct source *s)
{
    if (!s)
        return;
    cap_dnstap_close(s->dt);
    srvlog_close(s->lg);
    if (s->map)
        munmap((void *)(uintptr_t)s->map, s->map_len);
    if (s->pcap) {
        pcap_close(s->pcap); /* closes zf.fp */
        s->zf.fp = NULL;
    }
    zio_close(&s->zf);
    free(s->blk);
    free(s->path);
    free(s);
}

static struct bpf_slot *filter_for(cap_reader *r, int dlt)
{
    struct bpf_slot *f;
    pcap_t *dead;

    for (unsigned i = 0; i < r->nfilters; i++)
        if (r->filters[i].dlt == dlt)
            return &r->filters[i];
    if (r->nfilters == MAX_FILTERS)
        return NULL;
    f = &r->filters[r->nfilters++];
    f->dlt = dlt;
    f->ok = false;
    dead = pcap_open_dead(dlt, 262144);
    if (!dead)
        return f;
    if (pcap_compile(dead, &f->prog, r->bpf, 1, PCAP_NETMASK_UNKNOWN) == 0)
        f->ok = true;
    else
        log_msg(LOG_ERROR, "filter: '%s' does not compile for link type %s: %s", r->bpf,
                pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?",
                pcap_geterr(dead));
    pcap_close(dead);
    return f;
}

/* A finished input: its counts join the reader's totals, then it is freed. */
static void source_retire(cap_reader *r, struct source *s)
{
    r->done_closed += s->zf.raw_size;
    if (s->dt)
        for (int i = 0; i < CAP_DT_N; i++)
            r->dt_counts[i] += cap_dnstap_counters(s->dt)[i];
    if (s->lg) {
        r->logs.files++;
        r->logs.lines += srvlog_lines(s->lg);
        for (int i = 0; i < SL_KINDS; i++)
            r->logs.events[i] += srvlog_events(s->lg)[i];
        for (int i = 0; i < SL_SKIPS; i++)
            r->logs.skips[i] += srvlog_skips(s->lg)[i];
        if (srvlog_unparsed_sample(s->lg)[0] &&
            (!r->sample_path[0] || strcmp(s->path, r->sample_path) < 0)) {
            snprintf(r->logs.sample, sizeof(r->logs.sample), "%s", srvlog_unparsed_sample(s->lg));
            snprintf(r->sample_path, sizeof(r->sample_path), "%s", s->path);
        }
    }
    source_free(s);
}

/* Advances a dnstap or log input to its next item. 1, 0 (end) or < 0 (error, logged). */
static int side_advance(cap_reader *r, struct source *s)
{
    char err[512];
    int rc;

    if (s->lg) {
        rc = srvlog_next(s->lg, &s->lev);
        if (rc == 1)
            s->ts = s->lev.ts_ns;
        return rc;
    }
    rc = cap_dnstap_next(s->dt, &s->dmsg, err, sizeof(err));
    if (rc == 1) {
        s->ts = s->dmsg.meta->ts_ns;
        s->packets++;
    } else if (rc < 0) {
        r->errors++;
        log_msg(LOG_ERROR, "%s (%llu messages read before it)", err,
                (unsigned long long)s->packets);
    }
    return rc;
}

/* Advances s to its next frame that passes the filter. 1, 0 (end) or < 0 (error, logged). */
static int source_advance(cap_reader *r, struct source *s)
{
    char err[512];

    if (s->kind != CAP_IN_CAPTURE)
        return side_advance(r, s);
    for (;;) {
        int rc = s->map  ? map_next(s, &s->next, err, sizeof(err))
                 : s->ng ? ng_next(s, &s->next, err, sizeof(err))
                         : pcap_src_next(s, &s->next, err, sizeof(err));
        if (rc <= 0) {
            if (rc < 0) {
                const char *zerr = zio_error(&s->zf);
                r->errors++;
                log_msg(LOG_ERROR, "%s: %s%s%s (%llu packets read before it)", s->path, err,
                        zerr ? "; " : "", zerr ? zerr : "", (unsigned long long)s->packets);
            }
            return rc;
        }
        if (r->bpf) {
            struct bpf_slot *f = filter_for(r, s->next.dlt);
            struct pcap_pkthdr h;
            h.caplen = s->next.caplen;
            h.len = s->next.wirelen;
            h.ts.tv_sec = (time_t)(s->next.ts_ns / 1000000000u);
            h.ts.tv_usec = (suseconds_t)(s->next.ts_ns % 1000000000u);
            if (!f || !f->ok || !pcap_offline_filter(&f->prog, &h, s->next.data)) {
                r->filtered++;
                continue;
            }
        }
        s->packets++;
        s->ts = s->next.ts_ns;
        return 1;
    }
}

cap_reader *cap_reader_new(const char *bpf)
{
    cap_reader *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (bpf && !(r->bpf = strdup(bpf))) {
        free(r);
        return NULL;
    }
    return r;
}

static void heap_swap(cap_reader *r, unsigned a, unsigned b)
{
    struct source *t = r->heap[a];
    r->heap[a] = r->heap[b];
    r->heap[b] = t;
}

/* Whether a's item comes before b's: time, then kind, then file name, then opening order
 * (so equal time stamps merge the same way whatever the order of the arguments). */
static bool src_less(const struct source *a, const struct source *b)
{
    int c;
    if (a->ts != b->ts)
        return a->ts < b->ts;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    c = strcmp(a->path, b->path);
    return c ? c < 0 : a->seq < b->seq;
}

static void heap_down(cap_reader *r, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, m = i;
        if (l < r->n && src_less(r->heap[l], r->heap[m]))
            m = l;
        if (l + 1 < r->n && src_less(r->heap[l + 1], r->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        heap_swap(r, i, m);
        i = m;
    }
}

static void heap_up(cap_reader *r, unsigned i)
{
    while (i > 0 && src_less(r->heap[i], r->heap[(i - 1) / 2])) {
        heap_swap(r, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

void cap_reader_set_log_format(cap_reader *r, enum srvlog_format fmt)
{
    r->logfmt = fmt;
}

static bool capture_magic(const struct zio_file *zf)
{
    static const uint8_t magics[][4] = {{0xd4, 0xc3, 0xb2, 0xa1},
                                        {0xa1, 0xb2, 0xc3, 0xd4},
                                        {0x4d, 0x3c, 0xb2, 0xa1},
                                        {0xa1, 0xb2, 0x3c, 0x4d},
                                        {0x0a, 0x0d, 0x0d, 0x0a}};
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (zf->nmagic == 4 && !memcmp(zf->magic, magics[i], 4))
            return true;
    return false;
}

enum cap_input cap_input_kind(const char *path, enum srvlog_format force)
{
    struct zio_file zf;
    char head[4096], err[256];
    size_t n, o = 0;
    enum cap_input kind = CAP_IN_CAPTURE;

    if (!strcmp(path, "-") || zio_open(path, &zf, err, sizeof(err)) < 0)
        return CAP_IN_CAPTURE;
    if (capture_magic(&zf) || zf.nmagic < 4)
        goto out;
    n = fread(head, 1, sizeof(head), zf.fp);
    if (cap_dnstap_sniff((const uint8_t *)head, n)) {
        kind = CAP_IN_DNSTAP;
        goto out;
    }
    while (o < n && (head[o] == '\n' || head[o] == '\r'))
        o++;
    if (force != SRVLOG_AUTO || srvlog_sniff(head + o, n - o))
        kind = CAP_IN_LOG;
out:
    zio_close(&zf);
    return kind;
}

static int heap_push(cap_reader *r, struct source *s, char *err, size_t errlen)
{
    if (r->n == r->cap) {
        unsigned nc = r->cap ? r->cap * 2 : 8;
        struct source **nh = realloc(r->heap, nc * sizeof(*nh));
        if (!nh) {
            snprintf(err, errlen, "%s: out of memory", s->path);
            source_free(s);
            return ERR_NOMEM;
        }
        r->heap = nh;
        r->cap = nc;
    }
    r->heap[r->n++] = s;
    heap_up(r, r->n - 1);
    return 0;
}

/* Opens a capture file's reader on s->zf. */
static int open_capture(struct source *s, const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];

    if (s->zf.nmagic == 4 && memcmp(s->zf.magic, "\x0a\x0d\x0d\x0a", 4) == 0) {
        s->ng = true;
        s->blk_cap = 65536 + 64;
        if (!(s->blk = malloc(s->blk_cap))) {
            snprintf(err, errlen, "%s: out of memory", path);
            return ERR_NOMEM;
        }
    } else if (!map_open(s)) {
        if (s->zf.nmagic == 0) {
            snprintf(err, errlen, "%s: file is empty", path);
            return ERR_FORMAT;
        }
        s->pcap =
            pcap_fopen_offline_with_tstamp_precision(s->zf.fp, PCAP_TSTAMP_PRECISION_NANO, perr);
        if (!s->pcap) {
            snprintf(err, errlen,
                     "%s: not a capture (pcap, pcapng), dnstap file or server log (%s%s%s)", path,
                     perr, zio_error(&s->zf) ? "; " : "",
                     zio_error(&s->zf) ? zio_error(&s->zf) : "");
            return ERR_FORMAT;
        }
        s->pcap_dlt = pcap_datalink(s->pcap);
        s->pcap_off = 24;
    }
    return 0;
}

int cap_reader_add(cap_reader *r, const char *path, char *err, size_t errlen)
{
    struct source *s = calloc(1, sizeof(*s));
    int rc;

    if (!s || !(s->path = strdup(path))) {
        free(s);
        snprintf(err, errlen, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    s->kind = cap_input_kind(path, r->logfmt);
    s->seq = r->inputs;
    rc = zio_open(path, &s->zf, err, errlen);
    if (rc < 0) {
        source_free(s);
        return rc;
    }
    if (s->kind == CAP_IN_DNSTAP)
        rc = (s->dt = cap_dnstap_open_stream(s->zf.fp, path, err, errlen)) ? 0 : ERR_FORMAT;
    else if (s->kind == CAP_IN_LOG)
        rc = (s->lg = srvlog_open_stream(s->zf.fp, path, r->logfmt, err, errlen)) ? 0 : ERR_NOMEM;
    else
        rc = open_capture(s, path, err, errlen);
    if (rc < 0) {
        source_free(s);
        return rc;
    }
    r->inputs++;
    r->kinds[s->kind]++;
    r->total += s->zf.raw_size;
    rc = source_advance(r, s);
    if (rc <= 0) {
        source_retire(r, s);
        return 0; /* an empty (or at once damaged, already reported) input */
    }
    return heap_push(r, s, err, errlen);
}

/* Moves the input whose item was handed out last on to its next one. */
static void advance_current(cap_reader *r)
{
    struct source *s = r->heap[0];
    int rc = source_advance(r, s);

    r->current = NULL;
    if (rc <= 0) {
        source_retire(r, s);
        r->heap[0] = r->heap[--r->n];
    }
    if (r->n > 1)
        heap_down(r, 0);
}

int cap_reader_next_item(cap_reader *r, struct cap_item *it)
{
    struct source *s;

    if (r->current)
        advance_current(r);
    if (r->n == 0)
        return 0;
    s = r->current = r->heap[0];
    it->kind = s->kind;
    it->ts_ns = s->ts;
    if (s->kind == CAP_IN_CAPTURE)
        it->pkt = s->next;
    it->msg = s->kind == CAP_IN_DNSTAP ? &s->dmsg : NULL;
    it->log = s->kind == CAP_IN_LOG ? &s->lev : NULL;
    return 1;
}

int cap_reader_next(cap_reader *r, struct cap_pkt *pkt)
{
    struct cap_item it;

    if (r->n == 1 && r->current && r->heap[0]->kind == CAP_IN_CAPTURE) {
        /* One capture: no merging, straight to its next frame. */
        struct source *s = r->heap[0];
        if (source_advance(r, s) > 0) {
            *pkt = s->next;
            return 1;
        }
        r->current = NULL;
        source_retire(r, s);
        r->n = 0;
        return 0;
    }
    while (cap_reader_next_item(r, &it) == 1)
        if (it.kind == CAP_IN_CAPTURE) {
            *pkt = it.pkt;
            return 1;
        }
    return 0;
}

unsigned cap_reader_inputs_of(const cap_reader *r, enum cap_input kind)
{
    return (unsigned)kind < 3 ? r->kinds[kind] : 0;
}

const uint64_t *cap_reader_dnstap_counters(const cap_reader *r)
{
    return r->dt_counts;
}

void cap_reader_log_totals(const cap_reader *r, struct cap_log_totals *t)
{
    *t = r->logs;
    for (unsigned i = 0; i < r->n; i++) { /* inputs not finished yet */
        const srvlog *l = r->heap[i]->lg;
        if (!l)
            continue;
        t->files++;
        t->lines += srvlog_lines(l);
        for (int k = 0; k < SL_KINDS; k++)
            t->events[k] += srvlog_events(l)[k];
        for (int k = 0; k < SL_SKIPS; k++)
            t->skips[k] += srvlog_skips(l)[k];
    }
}

unsigned cap_reader_errors(const cap_reader *r)
{
    return r->errors;
}

uint64_t cap_reader_filtered(const cap_reader *r)
{
    return r->filtered;
}

unsigned cap_reader_inputs(const cap_reader *r)
{
    return r->inputs;
}

void cap_reader_progress(const cap_reader *r, uint64_t *done, uint64_t *total)
{
    uint64_t d = r->done_closed;
    for (unsigned i = 0; i < r->n; i++)
        d += r->heap[i]->map ? r->heap[i]->map_off : zio_raw_pos(&r->heap[i]->zf);
    d = d > r->total ? r->total : d;
    *done = d;
    *total = r->total;
}

void cap_reader_free(cap_reader *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->n; i++)
        source_free(r->heap[i]);
    for (unsigned i = 0; i < r->nfilters; i++)
        if (r->filters[i].ok)
            pcap_freecode(&r->filters[i].prog);
    free(r->heap);
    free(r->bpf);
    free(r);
}
