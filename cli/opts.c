/* SPDX-License-Identifier: MIT */
/* Option handling shared by the commands. */
#include "cli.h"

#include "../analyze/dispatch.h"
#include "../analyze/dns.h"
#include "../analyze/stats.h"
#include "../common/duration.h"
#include "../store/store.h"
#include "../analyze/summary.h"
#include "../capture/cap.h"
#include "../capture/dnstap.h"
#include "../capture/srvlog.h"
#include "../capture/evidence.h"
#include "../capture/source.h"
#include "../report/report.h"
#include "../run/run.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../rules/registry.h"
#include "../export/alerts.h"
#include "../common/err.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

void cli_pipeline_init(struct cli_pipeline *p, struct cap_config *cap, struct disp_config *disp)
{
    memset(p, 0, sizeof(*p));
    p->cap = cap;
    p->disp = disp;
    cap_config_defaults(cap);
    disp_config_defaults(disp);
    p->rules = true;
    p->log_fmt = SRVLOG_AUTO;
}

static int bad(const char *cmd, const char *what)
{
    fprintf(stderr, "dnsvigil %s: %s\n", cmd, what);
    return -1;
}

int cli_pipeline_opt(struct cli_pipeline *p, const char *cmd, int opt, const char *arg)
{
    uint32_t v;
    enum srvlog_format fmt;

    switch (opt) {
    case 'f':
        p->filter = arg;
        return 1;
    case 'p':
        if (cap_config_set_ports(p->cap, arg) < 0)
            return bad(cmd, "--ports wants a list of ports like 53,5353");
        return 1;
    case 'c':
        p->config = arg;
        return 1;
    case CLI_O_NO_RULES:
        p->rules = false;
        return 1;
    case CLI_O_WINDOW:
        if (!cli_parse_u32(arg, 1, 86400, &v))
            return bad(cmd, "--window wants 1..86400 seconds");
        p->disp->window_ns = (uint64_t)v * 1000000000ull;
        return 1;
    case CLI_O_TIMEOUT:
        if (!cli_parse_u32(arg, 1, 3600, &v))
            return bad(cmd, "--timeout wants 1..3600 seconds");
        p->disp->flow.timeout_ns = (uint64_t)v * 1000000000ull;
        return 1;
    case CLI_O_MAX_PENDING:
        if (!cli_parse_u32(arg, 1, 4194302, &p->disp->flow.max_pending))
            return bad(cmd, "--max-pending wants 1..4194302");
        return 1;
    case CLI_O_TCP_STREAMS:
        if (!cli_parse_u32(arg, 1, 1u << 22, &p->cap->tcp_streams))
            return bad(cmd, "--tcp-streams wants 1..4194304");
        return 1;
    case CLI_O_FRAG_SLOTS:
        if (!cli_parse_u32(arg, 1, 65536, &p->cap->frag_slots))
            return bad(cmd, "--frag-slots wants 1..65536");
        return 1;
    case CLI_O_DB:
        p->db_path = arg;
        return 1;
    case CLI_O_DB_SHED:
        p->db_shed = true;
        return 1;
    case CLI_O_DB_COMPLETE:
        p->db_complete = true;
        return 1;
    case CLI_O_RETAIN:
        if (!dv_parse_duration(arg, &p->retain_ns))
            return bad(cmd, "--retain wants a duration like 90d, 12h, 2w");
        return 1;
    case CLI_O_LOG_FORMAT:
        if (!srvlog_format_parse(arg, &fmt))
            return bad(cmd, "--log-format wants auto, bind, unbound, nsd or knot");
        p->log_fmt = (int)fmt;
        return 1;
    case CLI_O_ALERTS_JSONL:
        p->jsonl_path = arg;
        return 1;
    case 'v':
        log_set_level(LOG_DEBUG);
        return 1;
    case 'q':
        log_set_level(LOG_ERROR);
        return 1;
    default:
        return 0;
    }
}

int cli_pipeline_check(const struct cli_pipeline *p, const char *cmd)
{
    if (p->filter) {
        /* Checked once up front, so a typo is a usage error, not silence. */
        pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
        struct bpf_program bpf;
        if (!dead)
            return bad(cmd, "out of memory");
        if (pcap_compile(dead, &bpf, p->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            fprintf(stderr, "dnsvigil %s: bad filter '%s': %s\n", cmd, p->filter,
                    pcap_geterr(dead));
            pcap_close(dead);
            return -1;
        }
        pcap_freecode(&bpf);
        pcap_close(dead);
    }
    if (!p->db_path && (p->retain_ns || p->db_shed || p->db_complete))
        return bad(cmd, "--retain, --db-shed and --db-complete need --db");
    if (p->db_shed && p->db_complete)
        return bad(cmd, "--db-complete and --db-shed contradict each other");
    return 0;
}
