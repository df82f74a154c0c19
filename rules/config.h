/* SPDX-License-Identifier: MIT */
/* Site and rule configuration: an INI file (read with libinih) with a [site] section, an
 * [alerts] section and one section per rule. Works with no file at all. Every setting has
 * a default, a range and a one-line meaning, printed by `dnsvigil config --defaults`. */
#ifndef DV_RULES_CONFIG_H
#define DV_RULES_CONFIG_H

#include "rule.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_MAX_NETS 64
#define CFG_MAX_ZONES 64
#define CFG_MAX_RULES 32
#define CFG_MAX_PARAMS 16

struct cfg_net {
    uint8_t af; /* 4 or 6 */
    uint8_t addr[16];
    uint8_t plen;
};

struct cfg_netlist {
    struct cfg_net n[CFG_MAX_NETS];
    unsigned count;
};

struct dv_config {
    struct cfg_netlist internal;       /* internal_networks */
    bool internal_set;                 /* internal_networks given in the file (not default) */
    bool require_tsig;                 /* require_tsig: transfers and updates must be signed */
    struct cfg_netlist transfer_peers; /* transfer_peers */
    struct cfg_netlist update_peers;   /* update_peers */
    struct cfg_netlist resolvers;      /* resolvers (known resolving servers) */
    struct cfg_netlist authoritative;  /* authoritative_servers */
    char zones[CFG_MAX_ZONES][256];    /* watched_zones, presentation form, lower case */
    unsigned nzones;
    double quiet_period_s;    /* an alert closes after this long without a finding */
    double update_interval_s; /* at most one "update" line per alert per interval */
    bool rule_enabled[CFG_MAX_RULES];
    double rule_value[CFG_MAX_RULES][CFG_MAX_PARAMS];
};

/* Fills cfg with every default (internal networks: RFC 1918, loopback, link-local, ULA). */
void config_defaults(struct dv_config *cfg);

/* Reads path over the defaults. On error returns ERR_INVAL/ERR_IO with "FILE:LINE: what"
 * in err. */
int config_load(struct dv_config *cfg, const char *path, char *err, size_t errlen);

/* Prints every setting with its default and meaning, as a valid config file. */
void config_print_defaults(FILE *f);

/* True if addr is inside one of the networks. */
bool config_net_match(const struct cfg_netlist *l, uint8_t af, const uint8_t *addr);

#endif
