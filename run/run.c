/* SPDX-License-Identifier: MIT */
#include "run.h"

#include "../analyze/summary.h"
#include "../common/err.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../export/alerts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the summary adds after the analysis figures: the inputs' dnstap and log figures,
 * the rules' alerts and the store's account. */
struct extras {
    const uint64_t *dnstap;            /* CAP_DT_N counters, NULL without dnstap input */
    const struct cap_log_totals *logs; /* NULL without log input */
    const struct engine *eng;
    const db_store *db;
    const char *db_path, *run_key;
    uint64_t retained;
};

static void extras_json(const void *arg, struct json *j)
{
    const struct extras *x = arg;
    if (x->dnstap) {
        json_obj_begin(j, "dnstap");
        for (int i = 0; i < CAP_DT_N; i++)
            json_u64(j, cap_dnstap_counter_name((enum cap_dnstap_counter)i), x->dnstap[i]);
        json_obj_end(j);
    }
    if (x->logs) {
        json_obj_begin(j, "logs");
        json_u64(j, "files", x->logs->files);
        json_u64(j, "lines", x->logs->lines);
        json_obj_begin(j, "events");
        for (int i = 0; i < SL_KINDS; i++)
            json_u64(j, srvlog_kind_name((enum srvlog_kind)i), x->logs->events[i]);
        json_obj_end(j);
        json_obj_begin(j, "skipped");
        for (int i = 0; i < SL_SKIPS; i++)
            json_u64(j, srvlog_skip_name((enum srvlog_skip)i), x->logs->skips[i]);
        json_obj_end(j);
        json_str(j, "unparsed_sample", x->logs->sample);
        json_obj_end(j);
    }
    if (x->eng)
        engine_json(x->eng, j);
    if (x->db)
        feed_store_json(j, x->db, x->db_path, x->run_key, x->retained);
}

static void extras_text(const void *arg, FILE *f)
{
    const struct extras *x = arg;
    if (x->dnstap) {
        fputs("\ndnstap", f);
        for (int i = 0; i < CAP_DT_N; i++)
            fprintf(f, "%s %llu %s", i ? "," : "", (unsigned long long)x->dnstap[i],
                    cap_dnstap_counter_name((enum cap_dnstap_counter)i));
        fputc('\n', f);
    }
    if (x->logs) {
        fprintf(f, "\nServer logs: %u files, %llu lines\n  events  ", x->logs->files,
                (unsigned long long)x->logs->lines);
        for (int i = 0, col = 10; i < SL_KINDS; i++) {
            char item[64];
            if (!x->logs->events[i])
                continue;
            snprintf(item, sizeof(item), "%s %llu", srvlog_kind_name((enum srvlog_kind)i),
                     (unsigned long long)x->logs->events[i]);
            if (col + (int)strlen(item) + 2 > 78) {
                fputs("\n          ", f);
                col = 10;
            }
            col += fprintf(f, "%s  ", item);
        }
        fprintf(f,
                "\n  skipped %llu ignored, %llu without time stamp, %llu other programs, %llu "
                "UNPARSED, %llu too long\n",
                (unsigned long long)x->logs->skips[SL_SKIP_IGNORED],
                (unsigned long long)x->logs->skips[SL_SKIP_NO_TIMESTAMP],
                (unsigned long long)x->logs->skips[SL_SKIP_OTHER_PROGRAM],
                (unsigned long long)x->logs->skips[SL_SKIP_UNPARSED],
                (unsigned long long)x->logs->skips[SL_SKIP_TOO_LONG]);
        if (x->logs->sample[0])
            fprintf(f, "  unparsed sample: %.68s\n", x->logs->sample);
    }
    if (x->eng)
        engine_text(x->eng, f);
    if (x->db) {
        const struct db_stats *st = db_get_stats(x->db);
        uint64_t dropped = 0;
        for (int i = 0; i < DB_DROP_N; i++)
            dropped += st->dropped[i];
        fprintf(f,
                "\nstore: %s (run %.12s): %llu rows in %llu batches, %llu windows, %llu new "
                "RRsets, %llu transfers\n",
                x->db_path, x->run_key, (unsigned long long)st->rows,
                (unsigned long long)st->batches, (unsigned long long)st->windows,
                (unsigned long long)st->pdns_new,
                (unsigned long long)(st->xfr_ok + st->xfr_failed));
        if (dropped)
            fprintf(f, "store: DETAIL DROPPED: %llu records (the writer fell behind)\n",
                    (unsigned long long)dropped);
        if (x->retained)
            fprintf(f, "store: retention removed %llu old rows\n", (unsigned long long)x->retained);
    }
}

/* The evidence ring takes every frame and writes a file for each alert that opens. */
static void evidence_frame(void *user, const struct disp_frame *f)
{
    evid_frame(user, f->ts_ns, f->dlt, f->data, f->caplen, f->wirelen, f->af, f->src, f->dst);
}

static void evidence_alert(void *user, struct engine_alert *a)
{
    const char *addrs[3] = {a->victim[0] ? a->victim : NULL, a->server[0] ? a->server : NULL,
                            a->client[0] ? a->client : NULL};
    char name[200];
    const char *path;

    if (strcmp(a->state, "open") != 0)
        return;
    snprintf(name, sizeof(name), "%s-%s", a->rule, a->key);
    if ((path = evid_open(user, name, addrs, 3)))
        a->evidence_file = path;
}

int run_init(struct run *r, const struct run_opts *o, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->o = *o;
    r->dec = cap_decoder_new(&r->o.cap, disp_msg, disp_event, NULL);
    if (!r->dec)
        goto nomem;
    r->disp = disp_new(&r->o.disp, cap_decoder_stats(r->dec));
    if (!r->disp)
        goto nomem;
    cap_decoder_set_user(r->dec, r->disp);
    if (!o->rules)
        return 0;
    {
        struct disp_sink sink;
        r->eng = engine_new(o->rules, err, errlen);
        if (!r->eng)
            return ERR_INVAL;
        engine_sink(r->eng, &sink);
        disp_add_sink(r->disp, &sink);
    }
    if (o->evidence_dir) {
        /* First of the alert sinks: it names the evidence file the others pass on. */
        struct engine_alert_sink as = {.on_alert = evidence_alert};
        struct disp_sink fs = {.on_frame = evidence_frame};
        r->evid = evid_new(o->evidence_dir, o->evidence_packets, o->evidence_packets, err, errlen);
        if (!r->evid)
            return ERR_INVAL;
        as.user = fs.user = r->evid;
        engine_add_alert_sink(r->eng, &as);
        disp_add_sink(r->disp, &fs);
    }
    if (o->jsonl) {
        struct engine_alert_sink as;
        alerts_jsonl_sink(&r->o.jsonl, &as);
        engine_add_alert_sink(r->eng, &as);
    }
    if (o->syslog) {
        struct engine_alert_sink as;
        alerts_syslog_sink(&as);
        engine_add_alert_sink(r->eng, &as);
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return ERR_NOMEM;
}

void run_add_sink(struct run *r, const struct disp_sink *sink)
{
    disp_add_sink(r->disp, sink);
}

void run_add_alert_sink(struct run *r, const struct engine_alert_sink *sink)
{
    if (r->eng)
        engine_add_alert_sink(r->eng, sink);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

unsigned run_inputs(struct run *r, const char *const *paths, unsigned n)
{
    char err[512];

    if (!r->rd && !(r->rd = cap_reader_new(r->o.filter)))
        return 0;
    cap_reader_set_log_format(r->rd, r->o.log_fmt);
    run_set_inputs(r, paths, n);
    for (unsigned i = 0; i < r->ninputs; i++)
        if (cap_reader_add(r->rd, r->inputs[i], err, sizeof(err)) < 0)
            log_msg(LOG_ERROR, "%s", err);
    return cap_reader_inputs(r->rd);
}

void run_set_inputs(struct run *r, const char *const *names, unsigned n)
{
    free(r->inputs);
    r->inputs = calloc(n ? n : 1, sizeof(*r->inputs));
    r->ninputs = r->inputs ? n : 0;
    for (unsigned i = 0; i < r->ninputs; i++)
        r->inputs[i] = names[i];
    if (r->inputs)
        qsort(r->inputs, n, sizeof(*r->inputs), cmp_str);
}

int run_store_open(struct run *r, const char *path, char *err, size_t errlen)
{
    r->db = db_open(path, err, errlen);
    r->db_path = path;
    return r->db ? 0 : ERR_DB;
}

int run_store_begin(struct run *r, bool live, bool shed, const char *names, const char *version,
                    char *err, size_t errlen)
{
    struct disp_sink sink;
    struct db_run_info ri = {0};
    char host[256] = "", list[4096] = "";
    size_t o = 0;

    gethostname(host, sizeof(host) - 1);
    if (live) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(r->run_key, sizeof(r->run_key), "live-%016llx",
                 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
    } else {
        db_input_key(r->inputs, r->ninputs, r->run_key);
    }
    for (unsigned i = 0; !names && i < r->ninputs && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? " " : "", r->inputs[i]);
    ri.run_key = r->run_key;
    ri.sensor = host;
    ri.source = live || !r->rd || cap_reader_inputs_of(r->rd, CAP_IN_CAPTURE) ? "packets"
                : cap_reader_inputs_of(r->rd, CAP_IN_DNSTAP)                  ? "dnstap"
                                                                              : "logs";
    ri.inputs = names ? names : list;
    ri.version = version;
    ri.window_ns = r->disp->cfg.window_ns;
    ri.complete = !live && !shed;
    if (db_begin_run(r->db, &ri, err, errlen) < 0)
        return ERR_DB;
    db_sink(r->db, &sink);
    disp_add_sink(r->disp, &sink);
    feed_logs_sink(&r->db_logs, r->db, &sink);
    disp_add_sink(r->disp, &sink);
    if (r->eng) {
        struct engine_alert_sink as;
        feed_alert_sink(r->db, &as);
        engine_add_alert_sink(r->eng, &as);
    }
    return 0;
}

void run_frame(struct run *r, const struct cap_pkt *p)
{
    disp_time(r->disp, p->ts_ns);
    cap_decode(r->dec, p->dlt, p->ts_ns, p->data, p->caplen, p->wirelen);
    if (r->evid) {
        struct disp_frame f = {.ts_ns = p->ts_ns,
                               .dlt = p->dlt,
                               .caplen = p->caplen,
                               .wirelen = p->wirelen,
                               .data = p->data};
        f.af = cap_decoder_last_addrs(r->dec, &f.src, &f.dst);
        disp_frame(r->disp, &f);
    }
}

uint64_t run_files(struct run *r, volatile const int *stop,
                   void (*on_frame)(void *user, uint64_t frames), void *user)
{
    struct cap_item it;
    uint64_t frames = 0;

    if (!r->rd)
        return 0;
    while (!*stop && cap_reader_next_item(r->rd, &it) == 1) {
        switch (it.kind) {
        case CAP_IN_DNSTAP:
            disp_time(r->disp, it.ts_ns);
            disp_msg(r->disp, it.msg);
            break;
        case CAP_IN_LOG:
            disp_log(r->disp, it.log);
            break;
        default:
            run_frame(r, &it.pkt);
            frames++;
            if (on_frame)
                on_frame(user, frames);
            break;
        }
    }
    return frames;
}

void run_finish_input(struct run *r)
{
    if (r->finished)
        return;
    r->finished = true;
    cap_decoder_flush(r->dec);
    disp_finish(r->disp);
    if (r->db)
        feed_logs_flush(&r->db_logs);
    if (r->o.jsonl)
        fflush(r->o.jsonl);
}

int run_store_end(struct run *r, const char *status, uint64_t retain_ns)
{
    int rc = 0;
    if (!r->db)
        return 0;
    if (feed_end_run(r->db, r->disp, cap_decoder_stats(r->dec), status) < 0) {
        log_msg(LOG_ERROR, "%s: the store %s reported errors", r->o.cmd, r->db_path);
        rc = ERR_DB;
    }
    if (retain_ns && db_retain(r->db, retain_ns, &r->retained) < 0) {
        log_msg(LOG_ERROR, "%s: retention on %s failed", r->o.cmd, r->db_path);
        rc = ERR_DB;
    }
    return rc;
}

unsigned run_input_errors(const struct run *r)
{
    unsigned opened = r->rd ? cap_reader_inputs(r->rd) : 0;
    return (r->rd ? cap_reader_errors(r->rd) : 0) + (opened < r->ninputs ? r->ninputs - opened : 0);
}

void run_summary(const struct run *r, FILE *out, bool json, bool windows, unsigned top_n)
{
    struct extras x = {
        .eng = r->eng,
        .db = r->db,
        .db_path = r->db_path,
        .run_key = r->run_key,
        .retained = r->retained,
    };
    static struct cap_log_totals logs; /* big; one summary at a time */
    bool have_logs = r->rd && cap_reader_inputs_of(r->rd, CAP_IN_LOG);

    if (r->rd && cap_reader_inputs_of(r->rd, CAP_IN_DNSTAP))
        x.dnstap = cap_reader_dnstap_counters(r->rd);
    if (have_logs) {
        cap_reader_log_totals(r->rd, &logs);
        x.logs = &logs;
    }
    struct summary_in in = {
        .disp = r->disp,
        .dns = &r->disp->stats,
        .cap = cap_decoder_stats(r->dec),
        .filtered = r->rd ? cap_reader_filtered(r->rd) : 0,
        .inputs = r->inputs,
        .ninputs = r->ninputs,
        .input_errors = run_input_errors(r),
        .filter = r->o.filter,
        .top_n = top_n,
        .windows = windows,
        .logs = have_logs,
        .extra_json = extras_json,
        .extra_text = extras_text,
        .extra_arg = &x,
    };
    if (json)
        summary_json(out, &in);
    else
        summary_text(out, &in);
}

void run_free(struct run *r)
{
    db_close(r->db);
    engine_free(r->eng);
    evid_free(r->evid);
    disp_free(r->disp);
    cap_decoder_free(r->dec);
    cap_reader_free(r->rd);
    free(r->inputs);
    memset(r, 0, sizeof(*r));
}
