/* SPDX-License-Identifier: MIT */
/* Fuzz target over the whole path: link layer -> IP (fragments) -> UDP/TCP (reassembly) ->
 * DNS message view -> RR iteration and name presentation, and the same messages through the
 * dispatcher (flow store, windows, sketches) and every rule with its defaults.
 * Input: 1 byte choosing the link type, then frames, each a 2-byte big-endian length and the
 * bytes; frames are 1 ms apart on packet time. Tables are tiny so eviction paths run. */
#include "../../analyze/dispatch.h"
#include "../../analyze/dns.h"
#include "../../capture/cap.h"
#include "../../capture/dnstap.h"
#include "../../capture/srvlog.h"
#include "../../rules/config.h"
#include "../../rules/engine.h"
#include "../../rules/registry.h"

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct both {
    struct dispatch *disp;
};

static void on_event(void *user, const struct cap_event *ev)
{
    struct both *b = user;
    disp_event(b->disp, ev);
}

static void on_msg(void *user, const struct cap_msg *m)
{
    struct both *b = user;
    struct dns_msg d;
    struct dns_rr_iter it;
    struct dns_rr rr;
    uint8_t name[DNS_MAX_NAME];
    char text[1100];
    size_t next, nlen;

    disp_msg(b->disp, m);
    dns_decode(m->data, m->len, m->meta->truncated, &d);
    if (d.has_question)
        dns_name_to_str(d.qname, d.qname_len, text, sizeof(text));
    if (!d.rrs_ok)
        return;
    dns_rr_iter_init(&it, &d);
    while (dns_rr_next(&it, &rr)) {
        if (dns_name_walk(d.wire, d.len, rr.name_off, &next, name, &nlen) == DNS_MAL_NONE)
            dns_name_to_str(name, nlen, text, sizeof(text));
        /* rdata that holds a name (NS, CNAME, PTR): walk it too */
        if ((rr.type == 2 || rr.type == 5 || rr.type == 12) &&
            dns_name_walk(d.wire, d.len, rr.rdata_off, &next, name, &nlen) == DNS_MAL_NONE)
            dns_name_to_str(name, nlen, text, sizeof(text));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {DLT_EN10MB, DLT_RAW,  DLT_LINUX_SLL, 276,
                               DLT_NULL,   DLT_LOOP, 228,           229};
    static struct dv_config rcfg;
    struct cap_config cfg;
    struct disp_config dcfg;
    struct disp_sink sink;
    struct both b = {0};
    struct engine *eng = NULL;
    cap_decoder *d;
    size_t off = 1;
    uint64_t ts = 1000000000ull;
    char err[256];

    if (size < 1)
        return 0;
    config_defaults(&rcfg);
    /* Smallest tables: cheap per input, and the full-table paths run. */
    for (unsigned r = 0; r < rule_registry_n; r++)
        for (unsigned i = 0; rule_registry[r]->params && rule_registry[r]->params[i].key; i++)
            if (!strncmp(rule_registry[r]->params[i].key, "max_", 4))
                rcfg.rule_value[r][i] = rule_registry[r]->params[i].min;
    disp_config_defaults(&dcfg);
    dcfg.flow.max_pending = 8;
    dcfg.window_ns = 100000000ull;      /* 100 ms: long inputs close windows */
    dcfg.flow.timeout_ns = 20000000ull; /* 20 ms: queries time out within an input */
    dcfg.max_windows = 4;
    dcfg.top_k = 4;
    cap_config_defaults(&cfg);
    cfg.frag_slots = 4;
    cfg.tcp_streams = 4;
    cfg.tcp_buffers = 2;
    cfg.frag_timeout_ms = 5;
    cfg.tcp_timeout_ms = 20;
    d = cap_decoder_new(&cfg, on_msg, on_event, &b);
    if (!d)
        return 0;
    b.disp = disp_new(&dcfg, cap_decoder_stats(d));
    eng = b.disp ? engine_new(&rcfg, err, sizeof(err)) : NULL;
    if (!eng) {
        disp_free(b.disp);
        cap_decoder_free(d);
        return 0;
    }
    engine_sink(eng, &sink);
    disp_add_sink(b.disp, &sink);
    while (off + 2 <= size) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        /* The last bit of the length's top byte marks a frame cut by the snap length. */
        disp_time(b.disp, ts);
        cap_decode(d, dlts[data[0] % 8], ts, data + off, (uint32_t)len,
                   (uint32_t)len + ((data[off - 2] & 0x80) ? 10 : 0));
        off += len;
        ts += 1000000;
    }
    {
        /* The same bytes as a server log line and as a dnstap frame: both parsers take
         * anything; what they find goes through the engine and the dispatcher. */
        char line[4097];
        size_t n = size < 4096 ? size : 4096;
        struct srvlog_event ev;
        struct cap_meta meta;
        struct cap_msg cm;
        uint64_t c[CAP_DT_N] = {0};
        memcpy(line, data, n);
        line[n] = 0;
        if (srvlog_parse_line(NULL, line, &ev))
            disp_log(b.disp, &ev);
        if (cap_dnstap_frame(data, size, &meta, &cm, c) == 1)
            on_msg(&b, &cm);
    }
    cap_decoder_flush(d);
    disp_finish(b.disp);
    engine_free(eng);
    disp_free(b.disp);
    cap_decoder_free(d);
    return 0;
}
