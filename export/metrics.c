/* SPDX-License-Identifier: MIT */
/* Metric names follow the Prometheus conventions (checked by `promtool check metrics` in
 * tests/watch/metrics.sh): counters end in _total, units in the name (_seconds), labels for
 * dimensions (rcode, outcome, reason, rule). One request per connection; requests are read
 * with a time-out and a size limit. */
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
    one(f, "dnsvigil_query_rate", "gauge", "Queries per second over the last second.", s->qps);
    one(f, "dnsvigil_response_rate", "gauge", "Responses per second over the last second.", s->rps);
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

static void serve(rep_metrics *m, int c)
{
    char req[4096], *body = NULL;
    size_t n = 0, blen = 0;
    struct timeval tv = {2, 0};
    const char *status = "200 OK";
    FILE *mf;

    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (n < sizeof(req) - 1) {
        ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[n] = 0;
    mf = open_memstream(&body, &blen);
    if (!mf)
        return;
    if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13)) {
        snap_read(m->pub, &m->snap);
        rep_metrics_write(&m->snap, mf);
    } else if (!strncmp(req, "GET / ", 6)) {
        fputs("dnsvigil sensor: metrics at /metrics\n", mf);
    } else {
        status = "404 Not Found";
        fputs("not found\n", mf);
    }
    fclose(mf);
    dprintf(c,
            "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            status, blen);
    for (size_t o = 0; o < blen;) {
        ssize_t w = write(c, body + o, blen - o);
        if (w <= 0)
            break;
        o += (size_t)w;
    }
    free(body);
}

static void *loop(void *arg)
{
    rep_metrics *m = arg;
    while (!atomic_load(&m->stop)) {
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        if (poll(&p, 1, 250) <= 0)
            continue;
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(m, c);
        close(c);
    }
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
    m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)) < 0 ||
        bind(m->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m->fd, 16) < 0) {
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
