/* SPDX-License-Identifier: MIT */
/* Metric names follow the Prometheus conventions (checked by `promtool check metrics` in
 * tests/watch/metrics.sh): counters end in _total, units in the name (_seconds), labels for
 * dimensions (rcode, outcome, reason, rule). One request per connection, HTTP/1.0; one thread
 * serves up to 64 connections at once with poll(), each with a 1 s deadline for its request
 * and a 4 KiB limit (431 beyond, 400 for what is not a GET), and a client that holds a
 * connection open can delay nobody: when all are taken the oldest unfinished one goes. */
#define _GNU_SOURCE /* accept4 */
#include "metrics.h"

#include "../analyze/summary.h"
#include "../common/err.h"
#include "../common/log.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct rep_metrics {
    int fd, port;
    struct snap_pub *pub;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    struct snap snap; /* the serving thread's copy */
};

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v)
{
    head(f, name, type, help);
    fprintf(f, "%s %.17g\n", name, v);
}

void rep_metrics_write(const struct snap *s, FILE *f)
{
    char rc[32];

    one(f, "dnsvigil_packets_total", "counter", "Frames read from the capture.",
        (double)s->packets);
    one(f, "dnsvigil_dns_messages_total", "counter", "DNS messages decoded.", (double)s->messages);
    one(f, "dnsvigil_queries_total", "counter", "DNS queries (QR=0).", (double)s->queries);
    one(f, "dnsvigil_responses_total", "counter", "DNS responses (QR=1).", (double)s->responses);
    head(f, "dnsvigil_responses_by_rcode_total", "counter", "DNS responses by response code.");
    for (unsigned i = 0; i < WIN_RCODES; i++) {
        if (!s->rcode[i] && i > 5)
            continue;
        if (i == WIN_RCODES - 1)
            snprintf(rc, sizeof(rc), "other");
        else
            dns_rcode_str(i, rc, sizeof(rc));
        fprintf(f, "dnsvigil_responses_by_rcode_total{rcode=\"%s\"} %llu\n", rc,
                (unsigned long long)s->rcode[i]);
    }
    head(f, "dnsvigil_transactions_total", "counter", "Query/response matching outcomes.");
    for (int i = 0; i < FLOW_OUTCOME_N; i++)
        fprintf(f, "dnsvigil_transactions_total{outcome=\"%s\"} %llu\n",
                flow_outcome_name((enum flow_outcome)i), (unsigned long long)s->outcome[i]);
    one(f, "dnsvigil_edns_messages_total", "counter", "Messages with an OPT record.",
        (double)s->edns);
    one(f, "dnsvigil_edns_errors_total", "counter",
        "Answers to EDNS queries that are BADVERS, FORMERR, NOTIMP or lack OPT.",
        (double)s->edns_errors);
    one(f, "dnsvigil_truncated_responses_total", "counter", "Responses with TC set.",
        (double)s->tc);
    one(f, "dnsvigil_malformed_messages_total", "counter", "Malformed DNS messages.",
        (double)s->malformed);
    head(f, "dnsvigil_capture_drops_total", "counter",
         "Frames dropped before dnsvigil saw them (pcap_stats).");
    fprintf(f, "dnsvigil_capture_drops_total{where=\"kernel\"} %llu\n",
            (unsigned long long)s->kernel_drops);
    fprintf(f, "dnsvigil_capture_drops_total{where=\"interface\"} %llu\n",
            (unsigned long long)s->if_drops);
    head(f, "dnsvigil_loss_total", "counter", "Input lost or given up, by reason.");
    for (int i = 0; i < LOSS_N; i++)
        fprintf(f, "dnsvigil_loss_total{reason=\"%s\"} %llu\n", loss_name((enum loss_counter)i),
                (unsigned long long)s->loss[i]);
    one(f, "dnsvigil_query_rate", "gauge",
        "Queries per second over the last second of packet time (live: wall time; a finished "
        "replay: its average).",
        s->qps);
    one(f, "dnsvigil_response_rate", "gauge", "Responses per second, as dnsvigil_query_rate.",
        s->rps);
    if (s->have_ratio) {
        one(f, "dnsvigil_error_ratio", "gauge",
            "Errors (RCODE not NOERROR) per query in the last window.", s->err_ratio);
        one(f, "dnsvigil_error_ratio_baseline", "gauge",
            "Running baseline of the error ratio (EWMA over windows).", s->err_base);
    }
    if (s->have_latency) {
        one(f, "dnsvigil_latency_p50_seconds", "gauge", "Median response latency since start.",
            (double)s->p50_us / 1e6);
        one(f, "dnsvigil_latency_p95_seconds", "gauge", "95th percentile response latency.",
            (double)s->p95_us / 1e6);
        one(f, "dnsvigil_latency_p99_seconds", "gauge", "99th percentile response latency.",
            (double)s->p99_us / 1e6);
    }
    one(f, "dnsvigil_input_finished", "gauge",
        "1 when a replayed capture has been read to its end.", s->finished ? 1 : 0);
    one(f, "dnsvigil_alerts_open", "gauge", "Alerts currently open.", (double)s->alerts_open);
    head(f, "dnsvigil_alerts_total", "counter", "Alerts raised, by rule.");
    for (unsigned i = 0; i < s->nrules; i++)
        fprintf(f, "dnsvigil_alerts_total{rule=\"%s\"} %llu\n", s->rule_names[i],
                (unsigned long long)s->rule_alerts[i]);
    one(f, "dnsvigil_store_detail_dropped_total", "counter",
        "Detail records the store writer could not keep up with.", (double)s->store_dropped);
    one(f, "dnsvigil_uptime_seconds", "gauge", "Seconds since the sensor started.",
        (double)(s->wall_ns - s->wall_start_ns) / 1e9);
}

/* ---- the server: one thread, poll(), bounded connections ---- */

/* A connection reads its request within CONN_DEADLINE_MS and gets its answer; when all
 * MAX_CONNS are taken, the oldest still reading (a slow or hostile client) makes room, so a
 * scrape is answered whatever other clients hold. */
#define MAX_CONNS 64
#define CONN_DEADLINE_MS 1000
#define REQ_MAX 4096

struct conn {
    int fd; /* -1: free */
    bool writing;
    uint64_t deadline_ms;
    size_t n, out_len, out_off;
    char req[REQ_MAX];
    char *out;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    c->fd = -1;
    c->out = NULL;
    c->writing = false;
    c->n = c->out_len = c->out_off = 0;
}

/* The answer to a complete (or hopeless) request, ready to write. */
static void respond(rep_metrics *m, struct conn *c, bool oversize)
{
    char *body = NULL;
    size_t blen = 0;
    const char *status = "200 OK";
    FILE *mf = open_memstream(&body, &blen);

    if (!mf) {
        conn_close(c);
        return;
    }
    if (oversize) {
        status = "431 Request Header Fields Too Large";
        fputs("request too large\n", mf);
    } else if (!strncmp(c->req, "GET /metrics ", 13) || !strncmp(c->req, "GET /metrics?", 13)) {
        snap_read(m->pub, &m->snap);
        rep_metrics_write(&m->snap, mf);
    } else if (!strncmp(c->req, "GET / ", 6)) {
        fputs("dnsvigil sensor: metrics at /metrics\n", mf);
    } else if (!strncmp(c->req, "GET ", 4)) {
        status = "404 Not Found";
        fputs("not found\n", mf);
    } else {
        status = "400 Bad Request";
        fputs("bad request\n", mf);
    }
    fclose(mf);
    c->out = NULL;
    {
        FILE *of = open_memstream(&c->out, &c->out_len);
        if (!of) {
            free(body);
            conn_close(c);
            return;
        }
        fprintf(of,
                "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                status, blen);
        fwrite(body, 1, blen, of);
        fclose(of);
    }
    free(body);
    c->writing = true;
    c->out_off = 0;
    shutdown(c->fd, SHUT_RD);
}

static void on_readable(rep_metrics *m, struct conn *c)
{
    ssize_t r = read(c->fd, c->req + c->n, sizeof(c->req) - 1 - c->n);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        conn_close(c); /* the client went away before its request ended */
        return;
    }
    c->n += (size_t)r;
    c->req[c->n] = 0;
    if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
        respond(m, c, false);
    else if (c->n == sizeof(c->req) - 1)
        respond(m, c, true);
}

static void on_writable(struct conn *c)
{
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (w <= 0) {
        conn_close(c);
        return;
    }
    c->out_off += (size_t)w;
    if (c->out_off == c->out_len)
        conn_close(c);
}

/* A free slot, or the oldest reading connection's. */
static struct conn *slot(struct conn *conns)
{
    struct conn *old = NULL;
    for (int i = 0; i < MAX_CONNS; i++) {
        if (conns[i].fd < 0)
            return &conns[i];
        if (!conns[i].writing && (!old || conns[i].deadline_ms < old->deadline_ms))
            old = &conns[i];
    }
    if (old)
        conn_close(old);
    return old;
}

static void accept_all(rep_metrics *m, struct conn *conns)
{
    for (;;) {
        int fd = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct conn *c;
        if (fd < 0)
            return;
        c = slot(conns);
        if (!c) { /* every slot is answering: this one waits for the next round */
            close(fd);
            return;
        }
        c->fd = fd;
        c->deadline_ms = now_ms() + CONN_DEADLINE_MS;
    }
}

static void *loop(void *arg)
{
    rep_metrics *m = arg;
    struct conn *conns = calloc(MAX_CONNS, sizeof(*conns));
    struct pollfd p[MAX_CONNS + 1];
    int idx[MAX_CONNS + 1];

    if (!conns)
        return NULL;
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    while (!atomic_load(&m->stop)) {
        int np = 1;
        uint64_t now;
        p[0] = (struct pollfd){.fd = m->fd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            p[np] =
                (struct pollfd){.fd = conns[i].fd, .events = conns[i].writing ? POLLOUT : POLLIN};
            idx[np++] = i;
        }
        if (poll(p, (nfds_t)np, 100) < 0 && errno != EINTR)
            break;
        for (int k = 1; k < np; k++) {
            struct conn *c = &conns[idx[k]];
            if (c->fd != p[k].fd || !p[k].revents)
                continue;
            if (p[k].revents & (POLLERR | POLLNVAL))
                conn_close(c);
            else if (c->writing)
                on_writable(c);
            else
                on_readable(m, c);
        }
        if (p[0].revents & POLLIN)
            accept_all(m, conns);
        now = now_ms();
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i].fd >= 0 && now >= conns[i].deadline_ms + (conns[i].writing ? 1000 : 0))
                conn_close(&conns[i]); /* too slow to ask, or to take the answer */
    }
    for (int i = 0; i < MAX_CONNS; i++)
        conn_close(&conns[i]);
    free(conns);
    return NULL;
}

rep_metrics *rep_metrics_bind(const char *addr, struct snap_pub *pub, char *err, size_t errlen)
{
    char host[128] = "127.0.0.1", port[16];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    rep_metrics *m;
    int one_ = 1, rc;

    if (colon) {
        size_t hl = (size_t)(colon - addr);
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "--metrics %s: address too long", addr);
            return NULL;
        }
        if (hl > 0) {
            memcpy(host, addr, hl);
            host[hl] = 0;
            if (host[0] == '[' && host[hl - 1] == ']') {
                memmove(host, host + 1, hl - 2);
                host[hl - 2] = 0;
            }
        }
        snprintf(port, sizeof(port), "%s", colon + 1);
    } else {
        snprintf(port, sizeof(port), "%s", addr);
    }
    if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
        snprintf(err, errlen, "--metrics %s: %s", addr, gai_strerror(rc));
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->pub = pub;
    m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)) < 0 ||
        bind(m->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m->fd, 128) < 0) {
        snprintf(err, errlen, "--metrics %s: %s", addr, strerror(errno));
        freeaddrinfo(ai);
        if (m->fd >= 0)
            close(m->fd);
        free(m);
        return NULL;
    }
    freeaddrinfo(ai);
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(m->fd, (struct sockaddr *)&ss, &sl);
        m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    }
    log_msg(LOG_INFO, "metrics: http://%s:%d/metrics", host, m->port);
    return m;
}

int rep_metrics_run(rep_metrics *m)
{
    if (pthread_create(&m->thread, NULL, loop, m) != 0)
        return ERR_NOMEM;
    m->running = true;
    return 0;
}

int rep_metrics_port(const rep_metrics *m)
{
    return m->port;
}

void rep_metrics_stop(rep_metrics *m)
{
    if (!m)
        return;
    atomic_store(&m->stop, true);
    if (m->running)
        pthread_join(m->thread, NULL);
    close(m->fd);
    free(m);
}
