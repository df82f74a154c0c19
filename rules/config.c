/* SPDX-License-Identifier: MIT */
/* INI configuration through libinih. The handler validates each entry against the schema
 * (site keys, alert keys, each rule's params with their ranges) and stops at the first bad
 * line; ini_parse() then returns that line number for the error message. */
#include "config.h"

#include "registry.h"
#include "../common/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const default_internal =
    "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, 169.254.0.0/16, ::1/128, "
    "fc00::/7, fe80::/10";

static int parse_net(const char *s, struct cfg_net *n)
{
    char buf[64], *slash;
    long plen;

    if (strlen(s) >= sizeof(buf))
        return ERR_INVAL;
    snprintf(buf, sizeof(buf), "%s", s);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(n, 0, sizeof(*n));
    if (inet_pton(AF_INET, buf, n->addr) == 1)
        n->af = 4;
    else if (inet_pton(AF_INET6, buf, n->addr) == 1)
        n->af = 6;
    else
        return ERR_INVAL;
    plen = n->af == 4 ? 32 : 128;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || v < 0 || v > plen)
            return ERR_INVAL;
        plen = v;
    }
    n->plen = (uint8_t)plen;
    return 0;
}

/* Splits a comma-separated list; calls fn for each trimmed item. */
static int for_each_item(const char *list, int (*fn)(void *, const char *), void *arg)
{
    const char *p = list;

    while (*p) {
        char item[300] = "";
        size_t n = 0;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        while (*p && *p != ',' && n + 1 < sizeof(item))
            item[n++] = *p++;
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            n--;
        item[n] = '\0';
        if (n > 0) {
            int rc = fn(arg, item);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int add_net(void *arg, const char *item)
{
    struct cfg_netlist *l = arg;
    if (l->count == CFG_MAX_NETS)
        return ERR_FULL;
    return parse_net(item, &l->n[l->count++]);
}

static int add_zone(void *arg, const char *item)
{
    struct dv_config *c = arg;
    size_t n = strlen(item);
    if (c->nzones == CFG_MAX_ZONES || n >= 255)
        return ERR_FULL;
    for (size_t i = 0; i <= n; i++)
        c->zones[c->nzones][i] =
            (item[i] >= 'A' && item[i] <= 'Z') ? (char)(item[i] + 32) : item[i];
    if (n == 0 || c->zones[c->nzones][n - 1] != '.') {
        c->zones[c->nzones][n] = '.';
        c->zones[c->nzones][n + 1] = '\0';
    }
    c->nzones++;
    return 0;
}

static int set_netlist(struct cfg_netlist *l, const char *value)
{
    l->count = 0;
    return for_each_item(value, add_net, l);
}

bool config_net_match(const struct cfg_netlist *l, uint8_t af, const uint8_t *addr)
{
    for (unsigned i = 0; i < l->count; i++) {
        const struct cfg_net *n = &l->n[i];
        unsigned full = n->plen / 8, rest = n->plen % 8;
        if (n->af != af)
            continue;
        if (memcmp(n->addr, addr, full) != 0)
            continue;
        if (rest && ((n->addr[full] ^ addr[full]) & (0xff00u >> rest) & 0xff))
            continue;
        return true;
    }
    return false;
}

void config_defaults(struct dv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    set_netlist(&cfg->internal, default_internal);
    cfg->quiet_period_s = 300;
    cfg->update_interval_s = 60;
    for (unsigned r = 0; r < rule_registry_n && r < CFG_MAX_RULES; r++) {
        const struct rule_param *p = rule_registry[r]->params;
        cfg->rule_enabled[r] = true;
        for (unsigned i = 0; p && p[i].key && i < CFG_MAX_PARAMS; i++)
            cfg->rule_value[r][i] = p[i].def;
    }
}

struct load_ctx {
    struct dv_config *cfg;
    char msg[256];
};

static bool parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *out = false;
    else
        return false;
    return true;
}

static bool parse_number(const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return !errno && end != v && *end == '\0' && isfinite(*out);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *lc = user;
    struct dv_config *c = lc->cfg;
    double d;
    bool b;

    if (!strcmp(section, "site")) {
        int rc = 0;
        if (!strcmp(name, "internal_networks")) {
            rc = set_netlist(&c->internal, value);
            c->internal_set = true;
        } else if (!strcmp(name, "require_tsig")) {
            if (!parse_bool(value, &c->require_tsig)) {
                snprintf(lc->msg, sizeof(lc->msg), "bad require_tsig '%s' (want yes or no)", value);
                return 0;
            }
        } else if (!strcmp(name, "transfer_peers"))
            rc = set_netlist(&c->transfer_peers, value);
        else if (!strcmp(name, "update_peers"))
            rc = set_netlist(&c->update_peers, value);
        else if (!strcmp(name, "resolvers"))
            rc = set_netlist(&c->resolvers, value);
        else if (!strcmp(name, "authoritative_servers"))
            rc = set_netlist(&c->authoritative, value);
        else if (!strcmp(name, "watched_zones")) {
            c->nzones = 0;
            rc = for_each_item(value, add_zone, c);
        } else {
            snprintf(lc->msg, sizeof(lc->msg), "unknown key '%s' in [site]", name);
            return 0;
        }
        if (rc < 0) {
            snprintf(lc->msg, sizeof(lc->msg), "bad %s '%s' (want comma-separated %s, at most %d)",
                     name, value,
                     strcmp(name, "watched_zones") ? "addresses or CIDR networks" : "zone names",
                     CFG_MAX_NETS);
            return 0;
        }
        return 1;
    }
    if (!strcmp(section, "alerts")) {
        if (strcmp(name, "quiet_period") && strcmp(name, "update_interval")) {
            snprintf(lc->msg, sizeof(lc->msg), "unknown key '%s' in [alerts]", name);
            return 0;
        }
        if (!parse_number(value, &d) || d < 1 || d > 86400) {
            snprintf(lc->msg, sizeof(lc->msg), "%s wants seconds from 1 to 86400, not '%s'", name,
                     value);
            return 0;
        }
        if (!strcmp(name, "quiet_period"))
            c->quiet_period_s = d;
        else
            c->update_interval_s = d;
        return 1;
    }
    for (unsigned r = 0; r < rule_registry_n; r++) {
        const struct rule_ops *ops = rule_registry[r];
        if (strcmp(section, ops->name) != 0)
            continue;
        if (!strcmp(name, "enabled")) {
            if (!parse_bool(value, &b)) {
                snprintf(lc->msg, sizeof(lc->msg), "enabled wants yes or no, not '%s'", value);
                return 0;
            }
            c->rule_enabled[r] = b;
            return 1;
        }
        for (unsigned i = 0; ops->params && ops->params[i].key; i++) {
            const struct rule_param *p = &ops->params[i];
            if (strcmp(name, p->key) != 0)
                continue;
            if (p->type == RP_BOOL) {
                if (!parse_bool(value, &b)) {
                    snprintf(lc->msg, sizeof(lc->msg), "%s wants yes or no, not '%s'", name, value);
                    return 0;
                }
                c->rule_value[r][i] = b;
                return 1;
            }
            if (!parse_number(value, &d) || d < p->min || d > p->max ||
                (p->type == RP_INT && d != floor(d))) {
                snprintf(lc->msg, sizeof(lc->msg), "%s wants %s from %g to %g, not '%s'", name,
                         p->type == RP_INT ? "a whole number" : "a number", p->min, p->max, value);
                return 0;
            }
            c->rule_value[r][i] = d;
            return 1;
        }
        snprintf(lc->msg, sizeof(lc->msg), "unknown key '%s' in [%s]", name, section);
        return 0;
    }
    snprintf(lc->msg, sizeof(lc->msg),
             "unknown section [%s] (site, alerts, or a rule name: see 'dnsvigil rules')", section);
    return 0;
}

int config_load(struct dv_config *cfg, const char *path, char *err, size_t errlen)
{
    struct load_ctx lc = {cfg, ""};
    int line;

    config_defaults(cfg);
    if (!path)
        return 0;
    line = ini_parse(path, handler, &lc);
    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return ERR_IO;
    }
    if (line == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    if (line > 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line,
                 lc.msg[0] ? lc.msg : "syntax error (want 'key = value' or '[section]')");
        return ERR_INVAL;
    }
    return 0;
}

void config_print_defaults(FILE *f)
{
    fprintf(f,
            "# dnsvigil configuration: every setting with its default.\n"
            "# Use with -c FILE; any setting left out keeps the default shown here.\n\n"
            "[site]\n"
            "# networks whose hosts are our own clients (comma-separated addresses/CIDR)\n"
            "internal_networks = %s\n"
            "# zones whose records are watched for changes (comma-separated names)\n"
            "watched_zones =\n"
            "# hosts allowed to transfer zones (AXFR/IXFR): the secondaries; empty: not checked\n"
            "transfer_peers =\n"
            "# hosts allowed to send dynamic updates; empty: not checked\n"
            "update_peers =\n"
            "# transfers and updates must carry TSIG (yes/no)\n"
            "require_tsig = no\n"
            "# the site's resolvers and authoritative servers, where not learned from traffic\n"
            "resolvers =\n"
            "authoritative_servers =\n\n"
            "[alerts]\n"
            "# seconds of packet time without a finding after which an alert closes\n"
            "quiet_period = 300\n"
            "# seconds between two 'update' lines of one alert in --alerts-jsonl\n"
            "update_interval = 60\n",
            default_internal);
    for (unsigned r = 0; r < rule_registry_n; r++) {
        const struct rule_ops *ops = rule_registry[r];
        fprintf(f, "\n[%s]\n# %s (%s)\nenabled = yes\n", ops->name, ops->summary, ops->reference);
        for (unsigned i = 0; ops->params && ops->params[i].key; i++) {
            const struct rule_param *p = &ops->params[i];
            if (p->type == RP_BOOL)
                fprintf(f, "# %s (yes/no)\n%s = %s\n", p->help, p->key, p->def ? "yes" : "no");
            else
                fprintf(f, "# %s (%g..%g)\n%s = %g\n", p->help, p->min, p->max, p->key, p->def);
        }
    }
}
