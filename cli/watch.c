/* SPDX-License-Identifier: MIT */
/* `dnsvigil watch`: the live sensor. Wires live capture (or a paced replay of a capture
 * file) -> decoder -> dispatcher -> rules, store and snapshot; the snapshot feeds the
 * ncurses view and the metrics endpoint. Order at start: open the devices, the store file,
 * the output files and the metrics socket; then drop privileges; then start threads. */
#include "cli.h"

#include "../analyze/dispatch.h"
#include "../analyze/snapshot.h"
#include "../common/duration.h"
#include "../store/store.h"
#include "../analyze/summary.h"
#include "../capture/cap.h"
#include "../capture/dnstap.h"
#include "../capture/live.h"
#include "../capture/srvlog.h"
#include "../capture/source.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/sysl.h"
#include "../run/run.h"
#include "../export/alerts.h"
#include "../export/metrics.h"
#include "../report/report.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../tui/tui.h"

#include <cap-ng.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1, hup_stops, sig_hung_up;

static void on_sig(int sig)
{
    /* With the view, SIGHUP is the terminal hanging up (SSH or tmux closed): stop. Without
     * it (--daemon, no terminal), it asks to reopen the alerts file (logrotate). */
    if (sig == SIGHUP && hup_stops)
        sig_stop = sig_hung_up = 1;
    else if (sig == SIGHUP)
        sig_hup = 1;
    else if (sig == SIGUSR1)
        sig_usr1 = 1;
    else
        sig_stop = 1;
}

static void usage(FILE *f)
{
    fputs("Usage: dnsvigil watch -i IFACE [-i IFACE...] [OPTIONS]\n"
          "       dnsvigil watch -r FILE [--speed N] [OPTIONS]\n"
          "\n"
          "The live sensor: captures DNS traffic on a SPAN/mirror port (or replays a capture on\n"
          "its own packet time), runs the same analysis and rules as 'analyze', and shows a\n"
          "live view on a terminal. Without a terminal, or with --daemon, it writes alerts as\n"
          "JSON lines and to syslog instead. It runs until stopped.\n"
          "\n"
          "Input:\n"
          "  -i, --interface IFACE  capture on IFACE (repeat for several, up to 8)\n"
          "  -r, --read FILE        replay FILE (pcap/pcapng, compressed or not) through the live\n"
          "                         path instead of capturing\n"
          "      --speed N          replay at N times real time (default 1); 0 = as fast as\n"
          "                         possible (the view then holds the final screen until q)\n"
          "      --loop N           replay the file N times, each round later by the file's\n"
          "                         time span (soak tests, demonstrations)\n"
          "  -f, --filter EXPR      BPF filter (tcpdump syntax)\n"
          "  -p, --ports LIST       DNS ports (default 53)\n"
          "      --buffer MB        kernel capture buffer per interface (default 64)\n"
          "      --log FILE         also follow a growing server log (BIND, Unbound, NSD, Knot;\n"
          "                         tail -F: rotation and truncation are followed); repeatable\n"
          "      --log-format F     force the log format (bind, unbound, nsd, knot)\n"
          "      --dnstap-socket PATH  also accept dnstap on a unix socket (Frame Streams, as\n"
          "                         Unbound's dnstap-socket-path or Knot's mod-dnstap connect)\n"
          "      --snaplen N        bytes kept per frame (default 262144)\n"
          "\n"
          "Analysis and output:\n"
          "  -c, --config FILE      site and rule settings (see 'dnsvigil config --defaults')\n"
          "      --no-rules         count only, no detection rules\n"
          "      --window SEC       window length (default 60)\n"
          "      --timeout SEC      packet time a query waits for its response (default 5)\n"
          "      --max-pending N    queries tracked at once (default 131072)\n"
          "      --tcp-streams N    TCP connections tracked at once (default 8192)\n"
          "      --frag-slots N     IP datagrams reassembled at once (default 256)\n"
          "      --db PATH          keep windows, alerts, passive DNS, zones, transfers in PATH\n"
          "                         (a replay's store is complete: the replay waits for the\n"
          "                         writer; a live one sheds passive DNS it cannot keep up\n"
          "                         with, counted, since capture never waits on the disk)\n"
          "      --db-shed          with --db: shed as a live sensor does, in a replay too\n"
          "      --db-complete      with --db: accepted (a replay's store is complete)\n"
          "      --retain AGE       with --db: prune data older than AGE at start (90d, 12h)\n"
          "      --report-every AGE with --db: write the ISO report every AGE of packet time\n"
          "                         (e.g. 24h: daily at midnight UTC) into --report-dir\n"
          "      --report-dir DIR   where periodic reports go (default .)\n"
          "      --report-format F  html (default), text or json\n"
          "      --alerts-jsonl FILE  alerts as JSON lines (default: standard output when\n"
          "                         there is no view); SIGHUP reopens it (logrotate)\n"
          "      --no-syslog        do not send alerts and status to syslog\n"
          "      --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
          "                         (PORT alone: 127.0.0.1)\n"
          "  -o, --output FILE      write the JSON summary (as 'analyze --json') at exit\n"
          "  -v, --verbose          more diagnostics on standard error\n"
          "  -q, --quiet            only errors on standard error\n"
          "      --daemon           no view, even on a terminal\n"
          "      --linger SEC       replay without a view: keep running SEC seconds after\n"
          "                         the input ends (for scrapers), then exit\n"
          "\n"
          "Privileges:\n"
          "      --user USER        run as USER after opening the devices (default: dnsvigil\n"
          "                         if that user exists, else nobody); every capability is\n"
          "                         dropped (libcap-ng)\n"
          "      --chroot DIR       also change root to DIR\n"
          "      --allow-root       allow the analysis to run as root (--user root)\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop (the store is flushed, exit 0); with the view, SIGHUP\n"
          "(the terminal hung up) stops too, as does a terminal that goes away; without the view\n"
          "SIGHUP reopens --alerts-jsonl. SIGUSR1 writes a status line to standard error and "
          "syslog.\n"
          "\n"
          "View keys: q quit, ? help, Tab/1-5 pane, s sort, f freeze, / filter, Enter details.\n"
          "\n"
          "Exit status: 0 stopped normally, 1 the input failed, 2 bad command line,\n"
          "3 internal error (device, store, privileges).\n"
          "\n"
          "Examples:\n"
          "  dnsvigil watch -i eth1 --db /var/lib/dnsvigil/dnsvigil.db --metrics 9153\n"
          "  dnsvigil watch -i eth1 --daemon --alerts-jsonl /var/log/dnsvigil/alerts.jsonl \\\n"
          "      --db /var/lib/dnsvigil/dnsvigil.db --report-every 24h --report-dir /var/www/dns\n"
          "  dnsvigil watch -r capture.pcap --speed 10\n",
          f);
}

struct watch {
    /* options */
    const char *ifaces[CAP_LIVE_MAX_IFACES];
    unsigned nifaces;
    const char *replay, *filter, *config, *db_path, *jsonl_path, *output, *metrics_addr;
    const char *user, *chroot_dir, *report_dir, *report_fmt;
    double speed;
    uint32_t loops; /* replay the file this many times (packet times shifted each time) */
    uint64_t loop_shift_ns, loop_first_ns, loop_last_ns;
    bool rules, daemon, syslog_on, allow_root, db_shed;
    uint32_t linger_s;
    uint64_t retain_ns, report_every_ns;
    const char *logs[8];
    unsigned nlogs;
    enum srvlog_format log_fmt;
    const char *dnstap_path;
    srvlog *follow[8];
    cap_dnstap_srv *dnstap;
    struct cap_config capcfg;
    struct disp_config dcfg;
    struct cap_live_config lcfg;

    /* state */
    struct dv_config rcfg;
    cap_live *live;
    struct run run; /* decoder, dispatcher, rules, store, replay reader */
    FILE *jsonl, *out;
    rep_metrics *metrics;
    struct snap_pub pub;
    atomic_bool stop;
    atomic_bool hung_up; /* the view's terminal went away */
    bool tui, pub_ready;
    uint64_t next_report_ns;
    pthread_t reports[16]; /* report threads not yet joined */
    unsigned nreports;
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- alerts: store, snapshot, syslog ---- */

static void snap_alert_from(struct snap_alert *s, const struct engine_alert *a)
{
    memset(s, 0, sizeof(*s));
    s->id = a->id;
    snprintf(s->rule, sizeof(s->rule), "%s", a->rule);
    snprintf(s->severity, sizeof(s->severity), "%s", a->severity);
    snprintf(s->state, sizeof(s->state), "%s", a->state);
    snprintf(s->key, sizeof(s->key), "%s", a->key);
    snprintf(s->summary, sizeof(s->summary), "%s", a->summary);
    snprintf(s->reference, sizeof(s->reference), "%s", a->reference);
    snprintf(s->client, sizeof(s->client), "%s", a->client);
    snprintf(s->server, sizeof(s->server), "%s", a->server);
    snprintf(s->victim, sizeof(s->victim), "%s", a->victim);
    snprintf(s->zone, sizeof(s->zone), "%s", a->zone);
    snprintf(s->qname, sizeof(s->qname), "%s", a->qname);
    snprintf(s->evidence, sizeof(s->evidence), "%s", a->evidence);
    snprintf(s->evidence_file, sizeof(s->evidence_file), "%s", a->evidence_file);
    s->first_ns = a->first_ns;
    s->last_ns = a->last_ns;
    s->count = a->count;
    s->observed = a->observed;
}

static void on_alert(void *user, struct engine_alert *a)
{
    struct watch *w = user;
    struct snap_alert s;

    snap_alert_from(&s, a);
    snap_pub_alert(&w->pub, &s);
}

/* The alerts the view shows, as the engine has them now (between the update lines). */
static void refresh_alerts(struct watch *w)
{
    if (!w->run.eng)
        return;
    for (unsigned i = 0; i < w->pub.work.nalerts; i++) {
        struct engine_alert a;
        struct snap_alert s;
        if (!engine_alert_get(w->run.eng, w->pub.work.alerts[i].id, &a))
            continue;
        snap_alert_from(&s, &a);
        snap_pub_alert(&w->pub, &s);
    }
}

static void on_window(void *user, const struct win_stats *win)
{
    snap_pub_window(&((struct watch *)user)->pub, win);
}

/* ---- packets ---- */

static void on_pkt(void *user, const struct cap_pkt *pkt)
{
    struct watch *w = user;
    run_frame(&w->run, pkt);
}

/* ---- periodic report ---- */

struct report_job {
    db_store *store;
    char db[1024], path[1100];
    uint64_t from, to;
    enum rep_format fmt;
};

static void *report_thread(void *arg)
{
    struct report_job *j = arg;
    struct rep_opts o = {
        .db_path = j->db, .from_ns = j->from, .to_ns = j->to, .format = j->fmt, .top_n = 10};
    char err[512] = "", tmp[1200];
    FILE *f;

    /* The period's last window must be committed before the report reads it. */
    if (!db_wait_committed(j->store, j->to, 60000))
        log_msg(LOG_WARN, "report: the store did not commit the period up to its end within "
                          "60 s; the report may miss its last minutes");
    snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
    f = fopen(tmp, "w");
    if (!f) {
        log_msg(LOG_ERROR, "report: cannot write %s: %s", tmp, strerror(errno));
    } else if (rep_write(&o, f, err, sizeof(err)) < 0 || fclose(f) != 0) {
        log_msg(LOG_ERROR, "report: %s", err[0] ? err : "writing failed");
        unlink(tmp);
    } else if (rename(tmp, j->path) != 0) {
        log_msg(LOG_ERROR, "report: cannot rename %s: %s", tmp, strerror(errno));
    } else {
        log_msg(LOG_INFO, "report: wrote %s", j->path);
    }
    free(j);
    return NULL;
}

static void maybe_report(struct watch *w, uint64_t pkt_ns)
{
    if (!w->report_every_ns || !pkt_ns)
        return;
    if (!w->next_report_ns) {
        w->next_report_ns = (pkt_ns / w->report_every_ns + 1) * w->report_every_ns;
        return;
    }
    while (pkt_ns >= w->next_report_ns) {
        struct report_job *j = calloc(1, sizeof(*j));
        pthread_t t;
        char stamp[32];
        time_t tt = (time_t)(w->next_report_ns / 1000000000ull);
        struct tm tm;
        const char *ext = !strcmp(w->report_fmt, "json")   ? "json"
                          : !strcmp(w->report_fmt, "text") ? "txt"
                                                           : "html";
        if (!j)
            return;
        gmtime_r(&tt, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(j->db, sizeof(j->db), "%s", w->db_path);
        j->store = w->run.db;
        snprintf(j->path, sizeof(j->path), "%s/dnsvigil-report-%s.%s", w->report_dir, stamp, ext);
        j->to = w->next_report_ns;
        j->from = w->next_report_ns - w->report_every_ns;
        j->fmt = !strcmp(ext, "json") ? REP_JSON : !strcmp(ext, "txt") ? REP_TEXT : REP_HTML;
        db_want_commit(w->run.db, j->to);
        if (w->nreports == sizeof(w->reports) / sizeof(w->reports[0])) {
            pthread_join(w->reports[0], NULL); /* the oldest is done long since */
            memmove(w->reports, w->reports + 1, --w->nreports * sizeof(w->reports[0]));
        }
        if (pthread_create(&t, NULL, report_thread, j) == 0)
            w->reports[w->nreports++] = t;
        else
            free(j);
        w->next_report_ns += w->report_every_ns;
    }
}

/* ---- privileges ---- */

static int drop_privileges(struct watch *w, char *err, size_t errlen)
{
    const char *user = w->user;
    struct passwd *pw;

    if (geteuid() != 0) {
        /* Not root: give up any capability we were started with (e.g. file caps). */
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
            snprintf(err, errlen, "cannot drop capabilities");
            return ERR_INVAL;
        }
        return 0;
    }
    if (!user)
        user = getpwnam("dnsvigil") ? "dnsvigil" : "nobody";
    pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "--user %s: no such user", user);
        return ERR_INVAL;
    }
    if (pw->pw_uid == 0 && !w->allow_root) {
        snprintf(err, errlen,
                 "refusing to run the analysis as root (--user %s); use an unprivileged "
                 "--user, or --allow-root",
                 user);
        return ERR_INVAL;
    }
    /* Files opened as root stay usable; hand the ones we may reopen to the user. */
    if (w->db_path) {
        char p[1100];
        if (chown(w->db_path, pw->pw_uid, pw->pw_gid) != 0)
            log_msg(LOG_WARN, "watch: chown %s: %s", w->db_path, strerror(errno));
        snprintf(p, sizeof(p), "%s-wal", w->db_path);
        (void)!chown(p, pw->pw_uid, pw->pw_gid);
        snprintf(p, sizeof(p), "%s-shm", w->db_path);
        (void)!chown(p, pw->pw_uid, pw->pw_gid);
    }
    if (w->jsonl_path)
        (void)!chown(w->jsonl_path, pw->pw_uid, pw->pw_gid);
    if (w->chroot_dir) {
        if (chroot(w->chroot_dir) != 0 || chdir("/") != 0) {
            snprintf(err, errlen, "--chroot %s: %s", w->chroot_dir, strerror(errno));
            return ERR_IO;
        }
    }
    if (pw->pw_uid == 0)
        return 0; /* --allow-root */
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
                        CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
        snprintf(err, errlen, "cannot change to user %s", user);
        return ERR_INVAL;
    }
    log_msg(LOG_INFO, "watch: running as %s (uid %u), no capabilities", user, (unsigned)pw->pw_uid);
    return 0;
}

/* ---- status ---- */

static void store_status(const struct watch *w, char *buf, size_t n, uint64_t *dropped)
{
    *dropped = 0;
    if (!w->run.db) {
        snprintf(buf, n, "off");
        return;
    }
    const struct db_stats *st = db_get_stats(w->run.db);
    *dropped = db_dropped(w->run.db);
    snprintf(buf, n, "%s%s", st->sql_errors ? "ERRORS" : "ok", *dropped ? ", shedding" : "");
}

static void status_line(struct watch *w)
{
    struct snap s;
    char line[512];

    snap_read(&w->pub, &s);
    snprintf(line, sizeof(line),
             "status: %s%s: %llu packets, %llu queries, %llu responses, drops kernel %llu "
             "interface %llu, internal loss %llu, alerts %llu (%llu open), store %s",
             s.live ? "" : "replay ", s.source, (unsigned long long)s.packets,
             (unsigned long long)s.queries, (unsigned long long)s.responses,
             (unsigned long long)s.kernel_drops, (unsigned long long)s.if_drops,
             (unsigned long long)s.loss_total, (unsigned long long)s.alerts_total,
             (unsigned long long)s.alerts_open, s.store);
    fprintf(stderr, "dnsvigil: %s\n", line);
    if (w->syslog_on)
        sysl_msg(SYSL_INFO, "%s", line);
}

static void publish(struct watch *w, bool finished)
{
    char st[128];
    uint64_t dropped;
    if (w->live) {
        uint64_t recv, drop, ifdrop;
        struct cap_stats *cs = cap_decoder_stats(w->run.dec);
        cap_live_stats(w->live, &recv, &drop, &ifdrop);
        cs->kernel_drops = drop;
        cs->ifdrop = ifdrop;
    }
    store_status(w, st, sizeof(st), &dropped);
    refresh_alerts(w);
    snap_pub_update(&w->pub, w->run.disp, cap_decoder_stats(w->run.dec), wall_ns(), finished, st,
                    dropped);
}

static void *tui_thread(void *arg)
{
    struct watch *w = arg;
    struct tui_opts o = {.pub = &w->pub, .stop = &w->stop, .hung_up = &w->hung_up};
    if (tui_run(&o) < 0)
        atomic_store(&w->stop, true);
    return NULL;
}

/* ---- followed logs and the dnstap socket ---- */

static void on_dnstap(void *user, const struct cap_msg *m)
{
    struct watch *w = user;
    disp_time(w->run.disp, m->meta->ts_ns);
    disp_msg(w->run.disp, m);
}

static void poll_side_inputs(struct watch *w)
{
    if (w->dnstap)
        cap_dnstap_srv_poll(w->dnstap, on_dnstap, w);
    for (unsigned i = 0; i < w->nlogs; i++) {
        struct srvlog_event ev;
        for (int k = 0; k < 100000 && srvlog_follow_next(w->follow[i], &ev) == 1; k++)
            disp_log(w->run.disp, &ev);
    }
}

/* ---- main loop ---- */

static int watch_loop(struct watch *w)
{
    uint64_t last_pub = mono_ns(), wall0 = 0, ts0 = 0, ended_at = 0;
    bool finished = false, have_pending = false;
    struct cap_pkt pending;
    char err[512];
    int status = EXIT_OK;

    while (!atomic_load(&w->stop) && !sig_stop) {
        uint64_t now;
        if (w->live) {
            int n = cap_live_poll(w->live, 100, 4096, on_pkt, w, err, sizeof(err));
            if (n < 0) {
                log_msg(LOG_ERROR, "watch: %s", err);
                status = EXIT_INPUT;
                break;
            }
        } else if (!finished) {
            /* Replay: up to a slice of packets, each at its time (scaled by --speed). */
            for (int i = 0; i < 4096; i++) {
                if (!have_pending) {
                    int got = cap_reader_next(w->run.rd, &pending);
                    if (got != 1 && w->loops > 1 && !cap_reader_errors(w->run.rd) &&
                        w->loop_last_ns > w->loop_first_ns) {
                        /* Next round: the same file again, later by its span plus 1 s. */
                        cap_reader_free(w->run.rd);
                        w->run.rd = cap_reader_new(w->filter);
                        if (w->run.rd &&
                            cap_reader_add(w->run.rd, w->replay, err, sizeof(err)) == 0) {
                            w->loops--;
                            w->loop_shift_ns += w->loop_last_ns - w->loop_first_ns + 1000000000ull;
                            got = cap_reader_next(w->run.rd, &pending);
                        }
                    }
                    if (got == 1) {
                        if (!w->loop_first_ns)
                            w->loop_first_ns = pending.ts_ns;
                        if (pending.ts_ns > w->loop_last_ns)
                            w->loop_last_ns = pending.ts_ns;
                        pending.ts_ns += w->loop_shift_ns;
                    }
                    if (got != 1) {
                        finished = true;
                        ended_at = mono_ns();
                        run_finish_input(&w->run);
                        if (!w->run.rd || cap_reader_errors(w->run.rd))
                            status = EXIT_INPUT;
                        break;
                    }
                    have_pending = true;
                }
                if (w->speed > 0) {
                    if (!wall0) {
                        wall0 = mono_ns();
                        ts0 = pending.ts_ns;
                    }
                    uint64_t due = wall0 + (uint64_t)((double)(pending.ts_ns - ts0) / w->speed);
                    uint64_t t = mono_ns();
                    if (pending.ts_ns > ts0 && due > t) {
                        uint64_t d = due - t < 100000000ull ? due - t : 100000000ull;
                        struct timespec sl = {(time_t)(d / 1000000000ull),
                                              (long)(d % 1000000000ull)};
                        nanosleep(&sl, NULL);
                        break;
                    }
                }
                on_pkt(w, &pending);
                maybe_report(w, pending.ts_ns);
                have_pending = false;
            }
        } else {
            struct timespec sl = {0, 100000000};
            nanosleep(&sl, NULL);
            /* Without a view, a finished replay lingers, then ends. */
            if (!w->tui && mono_ns() - ended_at >= (uint64_t)w->linger_s * 1000000000ull)
                break;
        }
        poll_side_inputs(w);
        if (w->live && w->run.disp->stats.last_ns)
            maybe_report(w, w->run.disp->stats.last_ns);
        if (sig_hup) {
            sig_hup = 0;
            if (w->jsonl && w->jsonl_path) {
                /* freopen keeps the FILE object the rule engine writes to. */
                FILE *f = freopen(w->jsonl_path, "a", w->jsonl);
                if (!f)
                    log_msg(LOG_ERROR, "watch: cannot reopen %s: %s", w->jsonl_path,
                            strerror(errno));
                else
                    log_msg(LOG_INFO, "watch: reopened %s", w->jsonl_path);
            }
        }
        now = mono_ns();
        if (now - last_pub >= 1000000000ull || (finished && now - last_pub >= 200000000ull)) {
            publish(w, finished);
            last_pub = now;
            if (w->jsonl)
                fflush(w->jsonl);
        }
        if (sig_usr1) {
            sig_usr1 = 0;
            publish(w, finished);
            status_line(w);
        }
    }
    run_finish_input(&w->run);
    return status;
}

int cmd_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_PIPELINE_OPTIONS,
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"speed", required_argument, NULL, 'S'},
        {"loop", required_argument, NULL, 'P'},
        {"buffer", required_argument, NULL, 'B'},
        {"snaplen", required_argument, NULL, 's'},
        {"report-every", required_argument, NULL, 'E'},
        {"log", required_argument, NULL, 'G'},
        {"dnstap-socket", required_argument, NULL, 'U'},
        {"report-dir", required_argument, NULL, 'O'},
        {"report-format", required_argument, NULL, 'F'},
        {"no-syslog", no_argument, NULL, 'L'},
        {"metrics", required_argument, NULL, 'M'},
        {"output", required_argument, NULL, 'o'},
        {"daemon", no_argument, NULL, 'd'},
        {"linger", required_argument, NULL, 'l'},
        {"user", required_argument, NULL, 'u'},
        {"chroot", required_argument, NULL, 'C'},
        {"allow-root", no_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct watch *w = calloc(1, sizeof(*w));
    char err[512];
    int opt, rc, status = EXIT_OK;
    struct cli_pipeline pl;
    uint32_t v;
    pthread_t tui_t;
    bool tui_started = false;
    struct sigaction sa;

    if (!w)
        return EXIT_INTERNAL;
    w->speed = 1;
    w->rules = true;
    w->syslog_on = true;
    w->report_dir = ".";
    w->report_fmt = "html";
    cli_pipeline_init(&pl, &w->capcfg, &w->dcfg);
    cap_live_config_defaults(&w->lcfg);
    optind = 1;
    while ((opt = getopt_long(argc, argv, CLI_PIPELINE_SHORT "i:r:o:h", opts, NULL)) != -1) {
        if ((rc = cli_pipeline_opt(&pl, "watch", opt, optarg)) < 0)
            goto usage_err;
        if (rc > 0)
            continue;
        switch (opt) {
        case 'i':
            if (w->nifaces == CAP_LIVE_MAX_IFACES) {
                fprintf(stderr, "dnsvigil watch: at most %d interfaces\n", CAP_LIVE_MAX_IFACES);
                goto usage_err;
            }
            w->ifaces[w->nifaces++] = optarg;
            break;
        case 'r':
            w->replay = optarg;
            break;
        case 'S': {
            char *end;
            w->speed = strtod(optarg, &end);
            if (*end || w->speed < 0 || w->speed > 1e6) {
                fprintf(stderr, "dnsvigil watch: --speed wants 0 (as fast as possible) or a "
                                "factor like 1, 10, 0.5\n");
                goto usage_err;
            }
            break;
        }
        case 'P':
            if (!cli_parse_u32(optarg, 1, 1000000, &w->loops)) {
                fprintf(stderr, "dnsvigil watch: --loop wants 1..1000000\n");
                goto usage_err;
            }
            break;
        case 'B':
            if (!cli_parse_u32(optarg, 1, 4096, &v)) {
                fprintf(stderr, "dnsvigil watch: --buffer wants 1..4096 (MB)\n");
                goto usage_err;
            }
            w->lcfg.buffer_mb = (int)v;
            break;
        case 's':
            if (!cli_parse_u32(optarg, 512, 262144, &v)) {
                fprintf(stderr, "dnsvigil watch: --snaplen wants 512..262144\n");
                goto usage_err;
            }
            w->lcfg.snaplen = (int)v;
            break;
        case 'E':
            if (!dv_parse_duration(optarg, &w->report_every_ns)) {
                fprintf(stderr, "dnsvigil watch: '%s' is not a duration like 24h, 90d\n", optarg);
                goto usage_err;
            }
            break;
        case 'O':
            w->report_dir = optarg;
            break;
        case 'G':
            if (w->nlogs == 8) {
                fputs("dnsvigil watch: at most 8 --log files\n", stderr);
                goto usage_err;
            }
            w->logs[w->nlogs++] = optarg;
            break;
        case 'U':
            w->dnstap_path = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "html") && strcmp(optarg, "text") && strcmp(optarg, "json")) {
                fprintf(stderr, "dnsvigil watch: --report-format wants html, text or json\n");
                goto usage_err;
            }
            w->report_fmt = optarg;
            break;
        case 'L':
            w->syslog_on = false;
            break;
        case 'M':
            w->metrics_addr = optarg;
            break;
        case 'o':
            w->output = optarg;
            break;
        case 'd':
            w->daemon = true;
            break;
        case 'l':
            if (!cli_parse_u32(optarg, 0, 86400, &w->linger_s)) {
                fprintf(stderr, "dnsvigil watch: --linger wants 0..86400 seconds\n");
                goto usage_err;
            }
            break;
        case 'u':
            w->user = optarg;
            break;
        case 'C':
            w->chroot_dir = optarg;
            break;
        case 'X':
            w->allow_root = true;
            break;
        case 'h':
            usage(stdout);
            free(w);
            return EXIT_OK;
        default:
            goto usage_err;
        }
    }
    w->filter = pl.filter;
    w->config = pl.config;
    w->rules = pl.rules;
    w->db_path = pl.db_path;
    w->db_shed = pl.db_shed;
    w->retain_ns = pl.retain_ns;
    w->log_fmt = (enum srvlog_format)pl.log_fmt;
    w->jsonl_path = pl.jsonl_path;
    if (cli_pipeline_check(&pl, "watch") < 0)
        goto usage_err;
    if (optind < argc) {
        fprintf(stderr, "dnsvigil watch: unexpected argument '%s'\n", argv[optind]);
        goto usage_err;
    }
    if (!w->nifaces == !w->replay) {
        fputs("dnsvigil watch: give either -i IFACE (live) or -r FILE (replay)\n", stderr);
        goto usage_err;
    }
    if (w->report_every_ns && !w->db_path) {
        fputs("dnsvigil watch: --report-every needs --db\n", stderr);
        goto usage_err;
    }
    if (config_load(&w->rcfg, w->config, err, sizeof(err)) < 0) {
        fprintf(stderr, "dnsvigil watch: %s\n", err);
        goto usage_err;
    }
    w->tui = !w->daemon && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    if (w->syslog_on)
        sysl_open();

    /* Everything that needs privileges or the file system first. */
    if (w->jsonl_path) {
        w->jsonl = fopen(w->jsonl_path, "a");
        if (!w->jsonl) {
            log_msg(LOG_ERROR, "watch: cannot write %s: %s", w->jsonl_path, strerror(errno));
            status = EXIT_INTERNAL;
            goto out;
        }
    } else if (!w->tui) {
        w->jsonl = stdout;
    }
    {
        struct run_opts ro = {.cmd = "watch",
                              .cap = w->capcfg,
                              .disp = w->dcfg,
                              .rules = w->rules ? &w->rcfg : NULL,
                              .filter = w->filter,
                              .log_fmt = w->log_fmt,
                              .jsonl = w->rules ? w->jsonl : NULL,
                              .syslog = w->rules && w->syslog_on};
        if (run_init(&w->run, &ro, err, sizeof(err)) < 0) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
    }
    if (w->nifaces) {
        memcpy(w->lcfg.ifaces, w->ifaces, sizeof(w->ifaces));
        w->lcfg.nifaces = w->nifaces;
        w->lcfg.filter = w->filter;
        w->live = cap_live_open(&w->lcfg, err, sizeof(err));
        if (!w->live) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
        run_set_inputs(&w->run, w->ifaces, w->nifaces);
    } else if (run_inputs(&w->run, &w->replay, 1) != 1) {
        status = EXIT_INPUT;
        goto out;
    }
    snap_pub_init(&w->pub, w->live ? cap_live_names(w->live) : w->replay, w->live != NULL,
                  wall_ns());
    w->pub_ready = true;
    if (w->output && !(w->out = fopen(w->output, "w"))) {
        /* Opened now: after the privileges are gone the directory may not be writable. */
        log_msg(LOG_ERROR, "watch: cannot write %s: %s", w->output, strerror(errno));
        status = EXIT_INTERNAL;
        goto out;
    }
    if (w->db_path) {
        if (run_store_open(&w->run, w->db_path, err, sizeof(err)) < 0) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
        if (w->retain_ns) {
            uint64_t deleted = 0;
            if (db_retain(w->run.db, w->retain_ns, &deleted) == 0 && deleted)
                log_msg(LOG_INFO, "watch: retention removed %llu rows",
                        (unsigned long long)deleted);
        }
    }
    for (unsigned i = 0; i < w->nlogs; i++) {
        w->follow[i] = srvlog_follow(w->logs[i], w->log_fmt, err, sizeof(err));
        if (!w->follow[i]) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INPUT;
            goto out;
        }
    }
    if (w->dnstap_path) {
        w->dnstap = cap_dnstap_listen(w->dnstap_path, err, sizeof(err));
        if (!w->dnstap) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
    }
    if (w->metrics_addr) {
        w->metrics = rep_metrics_bind(w->metrics_addr, &w->pub, err, sizeof(err));
        if (!w->metrics) {
            log_msg(LOG_ERROR, "watch: %s", err);
            status = EXIT_INTERNAL;
            goto out;
        }
    }

    if (drop_privileges(w, err, sizeof(err)) < 0) {
        log_msg(LOG_ERROR, "watch: %s", err);
        status = EXIT_INTERNAL;
        goto out;
    }

    /* Now the threads and the analysis. */
    {
        struct engine_alert_sink as = {.on_alert = on_alert, .user = w};
        run_add_alert_sink(&w->run, &as);
    }
    {
        struct disp_sink sink = {.on_window = on_window, .user = w};
        run_add_sink(&w->run, &sink);
    }
    if (w->run.db &&
        run_store_begin(&w->run, w->live != NULL, w->db_shed,
                        w->live ? cap_live_names(w->live) : NULL, "watch", err, sizeof(err)) < 0) {
        log_msg(LOG_ERROR, "watch: %s", err);
        status = EXIT_INTERNAL;
        goto out;
    }
    if (w->metrics && rep_metrics_run(w->metrics) < 0) {
        log_msg(LOG_ERROR, "watch: cannot start the metrics thread");
        status = EXIT_INTERNAL;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    hup_stops = w->tui;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    publish(w, false);
    if (w->tui) {
        /* The view owns the terminal: only errors reach stderr meanwhile. */
        log_set_level(LOG_ERROR);
        if (pthread_create(&tui_t, NULL, tui_thread, w) == 0)
            tui_started = true;
    }
    log_msg(LOG_INFO, "watch: %s %s", w->live ? "capturing on" : "replaying",
            w->live ? cap_live_names(w->live) : w->replay);
    status = watch_loop(w);
    publish(w, true);
    atomic_store(&w->stop, true);
    if (tui_started) {
        pthread_join(tui_t, NULL);
        log_set_level(LOG_WARN);
    }
    if (sig_hung_up || atomic_load(&w->hung_up))
        log_msg(LOG_WARN, "watch: the terminal went away: stopped (the store is flushed)");
    if (run_store_end(&w->run,
                      sig_stop            ? "stopped"
                      : status == EXIT_OK ? "complete"
                                          : "input-errors",
                      0) < 0 &&
        status == EXIT_OK)
        status = EXIT_INTERNAL;
    if (w->out) {
        FILE *f = w->out;
        run_summary(&w->run, f, true, false, 10);
        if (fclose(f) != 0) {
            log_msg(LOG_ERROR, "watch: writing %s failed: %s", w->output, strerror(errno));
            status = EXIT_INTERNAL;
        }
        w->out = NULL;
    }
    {
        struct snap s;
        snap_read(&w->pub, &s);
        log_msg(LOG_INFO, "watch: stopped after %llu packets, %llu queries, %llu alerts",
                (unsigned long long)s.packets, (unsigned long long)s.queries,
                (unsigned long long)s.alerts_total);
    }
out:
    rep_metrics_stop(w->metrics);
    for (unsigned i = 0; i < w->nlogs; i++)
        srvlog_close(w->follow[i]);
    cap_dnstap_srv_close(w->dnstap);
    for (unsigned i = 0; i < w->nreports; i++)
        pthread_join(w->reports[i], NULL);
    run_free(&w->run);
    if (w->out)
        fclose(w->out);
    if (w->jsonl && w->jsonl != stdout)
        fclose(w->jsonl);
    else if (w->jsonl)
        fflush(w->jsonl);
    cap_live_close(w->live);
    if (w->pub_ready)
        snap_pub_destroy(&w->pub);
    if (w->syslog_on)
        sysl_close();
    free(w);
    return status;
usage_err:
    fputs("Try 'dnsvigil watch --help'.\n", stderr);
    free(w);
    return EXIT_USAGE;
}
