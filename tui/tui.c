/* SPDX-License-Identifier: MIT */
/* The screen, from top to bottom: header (inputs, packets, drops, uptime, store), rates
 * with a sparkline, RCODE mix, error/query ratio against its baseline, EDNS/TC, latency and
 * transaction outcomes, a tab bar, the selected pane (top clients, servers, names,
 * registered domains, or alerts), and a key line. Everything is drawn with plain ASCII so it
 * works over SSH and on any terminal; colour is used when the terminal has it. Layout
 * adapts to the size; 80x24 shows every figure. */
#include "tui.h"

#include "../analyze/summary.h"

#include <ctype.h>
#include <curses.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum pane { P_CLIENTS, P_SERVERS, P_QNAMES, P_DOMAINS, P_ALERTS, P_N };
static const char *const pane_names[P_N] = {"Clients", "Servers", "Names", "Domains", "Alerts"};

enum { C_HEAD = 1, C_CRIT, C_WARN, C_INFO, C_DIM, C_OK };

struct view {
    struct snap s;
    enum pane pane;
    bool frozen, help, details, by_name, typing, color;
    int sel; /* selected alert row */
    char filter[64], input[64];
};

static void fmt_num(uint64_t v, char *buf, size_t n)
{
    if (v >= 10000000000ull)
        snprintf(buf, n, "%.1fG", (double)v / 1e9);
    else if (v >= 10000000ull)
        snprintf(buf, n, "%.1fM", (double)v / 1e6);
    else if (v >= 100000ull)
        snprintf(buf, n, "%.1fk", (double)v / 1e3);
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void style_on(const struct view *v, int pair, int fallback)
{
    if (v->color)
        attron(COLOR_PAIR(pair));
    else if (fallback)
        attron(fallback);
}

static void style_off(const struct view *v, int pair, int fallback)
{
    if (v->color)
        attroff(COLOR_PAIR(pair));
    else if (fallback)
        attroff(fallback);
}

static int sev_pair(const char *sev)
{
    if (!strcmp(sev, "critical") || !strcmp(sev, "high"))
        return C_CRIT;
    if (!strcmp(sev, "warning"))
        return C_WARN;
    return C_INFO;
}

static int sev_rank(const char *sev)
{
    static const char *const order[] = {"info", "warning", "high", "critical"};
    for (int i = 3; i >= 0; i--)
        if (!strcmp(sev, order[i]))
            return i;
    return 0;
}

/* The most severe open alert (the newest of equals), or NULL. */
static const struct snap_alert *worst_open(const struct snap *s)
{
    const struct snap_alert *best = NULL;
    for (unsigned i = 0; i < s->nalerts; i++) { /* newest first */
        const struct snap_alert *a = &s->alerts[i];
        if (strcmp(a->state, "open"))
            continue;
        if (!best || sev_rank(a->severity) > sev_rank(best->severity))
            best = a;
    }
    return best;
}

/* One line above the footer, whatever pane is shown: severity, rule and whom it concerns
 * first (so 80 columns never cut the key), then the summary. */
static void worst_line(struct view *v, int y, int w, const struct snap_alert *a)
{
    const char *who = a->victim[0]   ? a->victim
                      : a->server[0] ? a->server
                      : a->zone[0]   ? a->zone
                                     : a->client;
    char line[512];
    snprintf(line, sizeof(line), "%s %s %s (%llu): %s", a->severity, a->rule, who,
             (unsigned long long)a->count, a->summary);
    move(y, 0);
    clrtoeol();
    style_on(v, sev_pair(a->severity), A_BOLD);
    attron(A_BOLD);
    addnstr(line, w);
    attroff(A_BOLD);
    style_off(v, sev_pair(a->severity), A_BOLD);
}

static bool match(const struct view *v, const char *a, const char *b, const char *c)
{
    if (!v->filter[0])
        return true;
    return (a && strstr(a, v->filter)) || (b && strstr(b, v->filter)) ||
           (c && strstr(c, v->filter));
}

static void header(struct view *v, int w)
{
    const struct snap *s = &v->s;
    char pk[16], kd[16], id[16], lo[16], line[512];
    uint64_t up = (s->wall_ns - s->wall_start_ns) / 1000000000ull;

    fmt_num(s->packets, pk, sizeof(pk));
    fmt_num(s->kernel_drops, kd, sizeof(kd));
    fmt_num(s->if_drops, id, sizeof(id));
    fmt_num(s->loss_total, lo, sizeof(lo));
    snprintf(
        line, sizeof(line),
        " dnsvigil  %s%s | %s pkts | drops kernel %s if %s internal %s | up %02llu:%02llu:%02llu"
        " | store %s",
        s->live ? "" : "replay ", s->source, pk, kd, id, lo, (unsigned long long)(up / 3600),
        (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60), s->store);
    style_on(v, C_HEAD, A_REVERSE);
    mvhline(0, 0, ' ', w);
    mvaddnstr(0, 0, line, w);
    style_off(v, C_HEAD, A_REVERSE);
}

static void sparkline(const struct snap *s, int y, int x, int width)
{
    static const char lv[] = " .:-=+*#";
    float max = 0;
    int n = (int)s->hist_n < width ? (int)s->hist_n : width;
    for (int i = 0; i < n; i++)
        if (s->q_hist[s->hist_n - n + i] > max)
            max = s->q_hist[s->hist_n - n + i];
    mvaddch(y, x, '[');
    for (int i = 0; i < width; i++) {
        int k = i - (width - n);
        char c = ' ';
        if (k >= 0 && max > 0)
            c = lv[(int)(7.0f * s->q_hist[s->hist_n - n + k] / max + 0.5f)];
        addch((chtype)(unsigned char)c);
    }
    addch(']');
}

static void figures(struct view *v, int w)
{
    const struct snap *s = &v->s;
    uint64_t resp = 0, err = 0;
    char a[16], b[16], c[16], d[16], line[512];
    int o;

    for (unsigned i = 0; i < WIN_RCODES; i++)
        resp += s->rcode[i];
    for (unsigned i = 1; i < WIN_RCODES; i++)
        err += s->rcode[i];
    mvprintw(1, 0, "Queries %9.1f/s  Responses %9.1f/s%s", s->qps, s->rps,
             s->rates_average ? " avg " : "  ");
    {
        int cy, cx;
        getyx(stdscr, cy, cx);
        (void)cy;
        if (w > cx + 6)
            sparkline(s, 1, cx, w - cx - 3 < SNAP_HIST ? w - cx - 3 : SNAP_HIST);
    }
    o = snprintf(line, sizeof(line), "RCODE ");
    for (unsigned i = 0; i < WIN_RCODES && o < (int)sizeof(line) - 40; i++) {
        char name[32];
        if (!s->rcode[i])
            continue;
        if (i == WIN_RCODES - 1)
            snprintf(name, sizeof(name), "other");
        else
            dns_rcode_str(i, name, sizeof(name));
        o += snprintf(line + o, sizeof(line) - (size_t)o, " %s %.1f%%", name,
                      pct(s->rcode[i], resp));
    }
    if (!resp)
        snprintf(line + o, sizeof(line) - (size_t)o, " no responses yet");
    mvaddnstr(2, 0, line, w);
    move(3, 0);
    if (s->have_ratio) {
        bool high = s->err_ratio > 2 * s->err_base && s->err_ratio > s->err_base + 0.05;
        printw("Errors/queries ");
        if (high)
            style_on(v, C_CRIT, A_BOLD);
        printw("%.1f%%", 100 * s->err_ratio);
        if (high)
            style_off(v, C_CRIT, A_BOLD);
        printw(" (baseline %.1f%%)", 100 * s->err_base);
    } else {
        printw("Errors/queries %.1f%% (no closed window yet)", pct(err, s->queries));
    }
    printw("  EDNS %.1f%%  DO %.1f%%  TC %.1f%%  EDNS errors %llu",
           pct(s->edns, s->queries + s->responses), pct(s->edns_do, s->queries + s->responses),
           pct(s->tc, s->responses), (unsigned long long)s->edns_errors);
    move(4, 0);
    if (s->have_latency)
        printw("Latency p50 %.1f  p95 %.1f  p99 %.1f ms", (double)s->p50_us / 1000,
               (double)s->p95_us / 1000, (double)s->p99_us / 1000);
    else
        printw("Latency: no answered query yet");
    fmt_num(s->outcome[FLOW_UNANSWERED] + s->outcome[FLOW_EVICTED], a, sizeof(a));
    fmt_num(s->outcome[FLOW_UNSOLICITED], b, sizeof(b));
    fmt_num(s->outcome[FLOW_DUPLICATE], c, sizeof(c));
    fmt_num(s->malformed, d, sizeof(d));
    printw("  unanswered %s  unsolicited %s  dup %s  malformed %s", a, b, c, d);
    fmt_num(s->queries, a, sizeof(a));
    fmt_num(s->responses, b, sizeof(b));
    {
        char t[40] = "-";
        if (s->pkt_ns) {
            time_t tt = (time_t)(s->pkt_ns / 1000000000ull);
            struct tm tm;
            gmtime_r(&tt, &tm);
            strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%SZ", &tm);
        }
        mvprintw(5, 0, "Total queries %s  responses %s  windows %llu  packet time %s%s", a, b,
                 (unsigned long long)s->windows, t, s->finished ? "  [input finished]" : "");
    }
}

static void tabs(struct view *v, int y, int w)
{
    move(y, 0);
    clrtoeol();
    for (int p = 0; p < P_N; p++) {
        char t[48];
        if (p == P_ALERTS)
            snprintf(t, sizeof(t), " %d %s (%llu open) ", p + 1, pane_names[p],
                     (unsigned long long)v->s.alerts_open);
        else
            snprintf(t, sizeof(t), " %d %s ", p + 1, pane_names[p]);
        if ((int)v->pane == p)
            attron(A_REVERSE | A_BOLD);
        addstr(t);
        if ((int)v->pane == p)
            attroff(A_REVERSE | A_BOLD);
    }
    (void)w;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct snap_top *)a)->name, ((const struct snap_top *)b)->name);
}

static void pane_top(struct view *v, int y0, int rows, int w)
{
    struct snap_top t[SNAP_TOP];
    unsigned n = 0, k = (unsigned)v->pane;
    uint64_t total =
        k == P_CLIENTS || k == P_QNAMES || k == P_DOMAINS ? v->s.queries : v->s.messages;
    for (unsigned i = 0; i < v->s.ntop[k]; i++)
        if (match(v, v->s.top[k][i].name, NULL, NULL))
            t[n++] = v->s.top[k][i];
    if (v->by_name)
        qsort(t, n, sizeof(t[0]), cmp_name);
    attron(A_BOLD);
    mvprintw(y0, 0, "%4s %12s %7s  %s", "#", "count", "share", pane_names[k]);
    attroff(A_BOLD);
    for (int i = 0; i < rows - 1 && i < (int)n; i++)
        mvprintw(y0 + 1 + i, 0, "%4d %12llu %6.1f%%  %.*s", i + 1, (unsigned long long)t[i].count,
                 pct(t[i].count, total), w > 28 ? w - 28 : 1, t[i].name);
    if (!n)
        mvprintw(y0 + 1, 5, "%s", v->filter[0] ? "nothing matches the filter" : "nothing yet");
}

static void pane_alerts(struct view *v, int y0, int rows, int w)
{
    int shown = 0;
    attron(A_BOLD);
    mvprintw(y0, 0, "%-8s %-14s %-6s %-20s %s", "severity", "rule", "state", "first seen",
             "summary");
    attroff(A_BOLD);
    for (unsigned i = 0; i < v->s.nalerts && shown < rows - 1; i++) {
        const struct snap_alert *a = &v->s.alerts[i];
        char t[32];
        time_t tt = (time_t)(a->first_ns / 1000000000ull);
        struct tm tm;
        if (!match(v, a->summary, a->server, a->qname) && !match(v, a->client, a->rule, NULL))
            continue;
        gmtime_r(&tt, &tm);
        strftime(t, sizeof(t), "%m-%d %H:%M:%S", &tm);
        if (shown == v->sel)
            attron(A_REVERSE);
        style_on(v, sev_pair(a->severity), !strcmp(a->state, "open") ? A_BOLD : 0);
        mvprintw(y0 + 1 + shown, 0, "%-8s %-14s %-6s %-20s %.*s", a->severity, a->rule, a->state, t,
                 w > 53 ? w - 53 : 1, a->summary);
        style_off(v, sev_pair(a->severity), !strcmp(a->state, "open") ? A_BOLD : 0);
        if (shown == v->sel)
            attroff(A_REVERSE);
        shown++;
    }
    if (!shown)
        mvprintw(y0 + 1, 0, "%s", v->filter[0] ? "no alert matches the filter" : "no alerts");
    if (v->sel >= shown)
        v->sel = shown ? shown - 1 : 0;
}

/* Word-wraps s into the box from row y, returns the next row. */
static int wrap(int y, int x, int w, int ymax, const char *label, const char *s)
{
    char buf[1024];
    int len, o = 0;
    snprintf(buf, sizeof(buf), "%-11s %s", label, s);
    len = (int)strlen(buf);
    while (o < len && y < ymax) {
        int cut = len - o < w ? len - o : w;
        mvaddnstr(y++, x, buf + o, cut);
        o += cut;
    }
    return y;
}

static const struct snap_alert *selected(struct view *v)
{
    int shown = 0;
    for (unsigned i = 0; i < v->s.nalerts; i++) {
        const struct snap_alert *a = &v->s.alerts[i];
        if (!match(v, a->summary, a->server, a->qname) && !match(v, a->client, a->rule, NULL))
            continue;
        if (shown++ == v->sel)
            return a;
    }
    return NULL;
}

static void details(struct view *v, int h, int w)
{
    const struct snap_alert *a = selected(v);
    int y = 2, bw = w - 4;
    char t[48], cnt[32];
    if (!a) {
        v->details = false;
        return;
    }
    for (int r = 1; r < h - 1; r++)
        mvhline(r, 1, ' ', w - 2);
    box(stdscr, '|', '-');
    attron(A_BOLD);
    mvprintw(1, 2, "Alert %s (%s, %s)  -  Enter or Esc closes", a->rule, a->severity, a->state);
    attroff(A_BOLD);
    {
        time_t tt = (time_t)(a->first_ns / 1000000000ull);
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    y = wrap(y, 2, bw, h - 1, "summary", a->summary);
    y = wrap(y, 2, bw, h - 1, "first seen", t);
    snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)a->count);
    y = wrap(y, 2, bw, h - 1, "count", cnt);
    y = wrap(y, 2, bw, h - 1, "reference", a->reference);
    if (a->server[0])
        y = wrap(y, 2, bw, h - 1, "server", a->server);
    if (a->client[0])
        y = wrap(y, 2, bw, h - 1, "client", a->client);
    if (a->victim[0])
        y = wrap(y, 2, bw, h - 1, "victim", a->victim);
    if (a->zone[0])
        y = wrap(y, 2, bw, h - 1, "zone", a->zone);
    if (a->qname[0])
        y = wrap(y, 2, bw, h - 1, "name", a->qname);
    y = wrap(y, 2, bw, h - 1, "evidence", a->evidence);
    if (a->evidence_file[0])
        wrap(y, 2, bw, h - 1, "packets", a->evidence_file);
}

static void help(int h, int w)
{
    static const char *const lines[] = {
        "dnsvigil live view - keys",
        "",
        "  q          quit",
        "  ?          this help (any key closes it)",
        "  Tab, 1-5   switch pane: clients, servers, names, domains, alerts",
        "  s          sort the top list by count or by name",
        "  f, space   freeze / unfreeze the screen",
        "  /          filter by server, client or name (Enter applies, empty clears)",
        "  Up, Down   select an alert;  Enter  show its details and evidence",
        "",
        "Figures refresh every second from a snapshot of the analysis.",
        "Drops: kernel and interface (pcap_stats), internal (given up inside dnsvigil).",
    };
    int n = (int)(sizeof(lines) / sizeof(lines[0])), bw = 78 < w - 2 ? 78 : w - 2;
    int y0 = (h - n - 2) / 2 > 0 ? (h - n - 2) / 2 : 0, x0 = (w - bw) / 2;
    for (int i = 0; i < n + 2 && y0 + i < h; i++)
        mvhline(y0 + i, x0, ' ', bw);
    for (int i = 0; i < n && y0 + 1 + i < h; i++)
        mvaddnstr(y0 + 1 + i, x0 + 2, lines[i], bw - 4);
}

static void draw(struct view *v)
{
    int h, w, y;
    getmaxyx(stdscr, h, w);
    erase();
    if (h < 10 || w < 40) {
        mvaddnstr(0, 0, "dnsvigil: terminal too small (need 40x10)", w);
        refresh();
        return;
    }
    header(v, w);
    if (!v->s.seq) {
        mvaddstr(2, 0, "waiting for the first figures...");
        refresh();
        return;
    }
    figures(v, w);
    y = 7;
    tabs(v, 6, w);
    {
        const struct snap_alert *worst = worst_open(&v->s);
        int rows = h - y - 1 - (worst ? 1 : 0);
        if (v->pane == P_ALERTS)
            pane_alerts(v, y, rows, w);
        else
            pane_top(v, y, rows, w);
        if (worst)
            worst_line(v, h - 2, w, worst);
    }
    move(h - 1, 0);
    clrtoeol();
    if (v->typing) {
        printw("filter: %s", v->input);
    } else {
        style_on(v, C_DIM, A_DIM);
        addnstr("q quit  ? help  Tab/1-5 pane  s sort  f freeze  / filter  Enter details", w);
        style_off(v, C_DIM, A_DIM);
        if (v->frozen || v->filter[0]) {
            attron(A_BOLD);
            printw("  %s%s%s", v->frozen ? "[FROZEN] " : "", v->filter[0] ? "filter: " : "",
                   v->filter);
            attroff(A_BOLD);
        }
    }
    if (v->details)
        details(v, h, w);
    if (v->help)
        help(h, w);
    refresh();
}

/* Returns false when the user quits. */
static bool key(struct view *v, int c)
{
    if (v->typing) {
        size_t n = strlen(v->input);
        if (c == '\n' || c == KEY_ENTER) {
            snprintf(v->filter, sizeof(v->filter), "%s", v->input);
            v->typing = false;
            v->sel = 0;
        } else if (c == 27) {
            v->typing = false;
        } else if ((c == KEY_BACKSPACE || c == 127 || c == 8) && n) {
            v->input[n - 1] = 0;
        } else if (c > 31 && c < 127 && n + 1 < sizeof(v->input)) {
            v->input[n] = (char)c;
            v->input[n + 1] = 0;
        }
        return true;
    }
    if (v->help) {
        v->help = false;
        return c != 'q';
    }
    if (v->details) {
        if (c == '\n' || c == KEY_ENTER || c == 27 || c == 'q')
            v->details = false;
        return true;
    }
    switch (c) {
    case 'q':
    case 'Q':
        return false;
    case '?':
    case 'h':
        v->help = true;
        break;
    case '\t':
        v->pane = (enum pane)((v->pane + 1) % P_N);
        break;
    case KEY_BTAB:
        v->pane = (enum pane)((v->pane + P_N - 1) % P_N);
        break;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
        v->pane = (enum pane)(c - '1');
        break;
    case 'a':
        v->pane = P_ALERTS;
        break;
    case 's':
        v->by_name = !v->by_name;
        break;
    case 'f':
    case ' ':
        v->frozen = !v->frozen;
        break;
    case '/':
        v->typing = true;
        v->input[0] = 0;
        break;
    case KEY_UP:
    case 'k':
        if (v->sel > 0)
            v->sel--;
        break;
    case KEY_DOWN:
    case 'j':
        v->sel++;
        break;
    case '\n':
    case KEY_ENTER:
        if (v->pane == P_ALERTS && selected(v))
            v->details = true;
        break;
    default:
        break;
    }
    return true;
}

/* After getch() gave nothing: true when the terminal is gone (stdin hung up, or getch
 * keeps returning at once instead of waiting its 200 ms). */
static bool terminal_gone(const struct timespec *before, const struct timespec *now,
                          unsigned *fast_errs)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    long ms = (now->tv_sec - before->tv_sec) * 1000 + (now->tv_nsec - before->tv_nsec) / 1000000;

    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
        return true;
    *fast_errs = ms < 20 ? *fast_errs + 1 : 0;
    return *fast_errs >= 50;
}

int tui_run(const struct tui_opts *o)
{
    struct view *v = calloc(1, sizeof(*v));
    struct timespec last = {0, 0};
    unsigned fast_errs = 0;

    if (!v)
        return -1;
    if (!initscr()) {
        free(v);
        return -1;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(200);
    set_escdelay(50);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(C_HEAD, COLOR_WHITE, COLOR_BLUE);
        init_pair(C_CRIT, COLOR_RED, -1);
        init_pair(C_WARN, COLOR_YELLOW, -1);
        init_pair(C_INFO, COLOR_CYAN, -1);
        init_pair(C_DIM, COLOR_WHITE, -1);
        init_pair(C_OK, COLOR_GREEN, -1);
        v->color = true;
    }
    while (!atomic_load(o->stop)) {
        struct timespec now, before;
        int c;
        clock_gettime(CLOCK_MONOTONIC, &before);
        c = getch();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (c != ERR && !key(v, c)) {
            atomic_store(o->stop, true);
            break;
        }
        if (c == ERR && terminal_gone(&before, &now, &fast_errs)) {
            /* The SSH session or tmux pane closed: stop (the store is flushed), never spin
             * on a dead terminal. */
            if (o->hung_up)
                atomic_store(o->hung_up, true);
            atomic_store(o->stop, true);
            break;
        }
        if (c == ERR && now.tv_sec == last.tv_sec && v->s.seq)
            continue;
        if (!v->frozen)
            snap_read(o->pub, &v->s);
        last = now;
        draw(v);
    }
    endwin();
    free(v);
    return 0;
}
