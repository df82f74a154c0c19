/* SPDX-License-Identifier: MIT */
/* The rule interface (STYLE.md section 6). A rule is one file rules/r_<name>.c ending in
 * `const struct rule_ops rule_<name> = {...};` plus one RULE(<name>) line in rules.def. It
 * sees decoded messages, finished transactions, capture events and window ticks, keeps its
 * own bounded state, and reports findings with rule_emit(). Hooks must not block or do I/O. */
#ifndef DV_RULES_RULE_H
#define DV_RULES_RULE_H

#include "../analyze/dns.h"
#include "../analyze/flow.h"
#include "../analyze/window.h"
#include "../analyze/xfr.h"
#include "../capture/cap.h"
#include "../capture/srvlog.h"

#include <stdbool.h>
#include <stdint.h>

enum rule_param_type { RP_INT, RP_DOUBLE, RP_BOOL };

/* A typed threshold with its default and range; an array ends with {0}. */
struct rule_param {
    const char *key; /* [a-z0-9_] */
    enum rule_param_type type;
    double def, min, max;
    const char *help; /* one line for `config --defaults` */
};

enum alert_severity { SEV_INFO = 0, SEV_WARNING, SEV_HIGH, SEV_CRITICAL };

/* What a rule reports. Strings are copied by the engine; any may be NULL. */
struct alert_in {
    const char *key; /* merge key within the rule: the same key updates one alert */
    enum alert_severity severity;
    uint64_t ts_ns; /* packet time of the finding */
    const char *summary;
    const char *client, *server, *victim, *zone, *qname;
    uint64_t count; /* events behind the finding (accumulated by the rule) */
    double threshold, observed;
    const char *evidence; /* a JSON object as text, e.g. {"txids":[1,2]} */
    bool close;           /* the condition has ended: close the alert now */
};

struct rule_ctx;

struct rule_ops {
    const char *name;      /* alert label and config section, e.g. "poison-flood" */
    const char *summary;   /* one line for `dnsvigil rules` */
    const char *reference; /* "BSI APP.3.6.A15", "RFC 5358" */
    const struct rule_param *params;
    const char *needs; /* site settings the rule cannot judge without, for `dnsvigil rules` */
    int (*init)(struct rule_ctx *rc);
    void (*on_message)(struct rule_ctx *rc, const struct dns_msg *m, const struct cap_meta *meta);
    void (*on_txn)(struct rule_ctx *rc, const struct flow_txn *txn);
    void (*on_event)(struct rule_ctx *rc, const struct cap_event *ev);
    void (*on_tick)(struct rule_ctx *rc, const struct win_stats *w);
    void (*on_log)(struct rule_ctx *rc, const struct srvlog_event *ev); /* server logs */
    void (*on_xfr)(struct rule_ctx *rc, const struct xfr_result *x);    /* a transfer ended */
    void (*fini)(struct rule_ctx *rc);
};

/* Parameter values (from the config file or defaults); look-ups belong in init. */
int64_t rule_param_int(const struct rule_ctx *rc, const char *key);
double rule_param_double(const struct rule_ctx *rc, const char *key);
bool rule_param_bool(const struct rule_ctx *rc, const char *key);

void *rule_state(const struct rule_ctx *rc);
void rule_set_state(struct rule_ctx *rc, void *state);

/* Reports a finding; the engine merges findings with the same key into one alert. */
void rule_emit(struct rule_ctx *rc, const struct alert_in *a);

/* Counts a rule-internal event (e.g. "table_evictions"); shown in the summary. */
void rule_count(struct rule_ctx *rc, const char *name, uint64_t n);

/* True if addr (4 or 16 bytes by af) is in the site's internal networks. */
bool rule_site_internal(const struct rule_ctx *rc, uint8_t af, const uint8_t *addr);

/* The site's address lists ([site] in the config). */
enum rule_site_list {
    SITE_INTERNAL,       /* internal_networks */
    SITE_TRANSFER_PEERS, /* transfer_peers */
    SITE_UPDATE_PEERS,   /* update_peers */
    SITE_RESOLVERS,      /* resolvers */
    SITE_AUTHORITATIVE,  /* authoritative_servers */
};

/* True if addr is in the list. */
bool rule_site_in(const struct rule_ctx *rc, enum rule_site_list l, uint8_t af,
                  const uint8_t *addr);

/* True if the config file set the list (internal_networks: given, not the default). */
bool rule_site_set(const struct rule_ctx *rc, enum rule_site_list l);

/* [site] require_tsig: transfers and updates must be signed. */
bool rule_site_require_tsig(const struct rule_ctx *rc);

/* Formats an address for alerts (buf >= 46 bytes). */
const char *rule_addr(uint8_t af, const uint8_t *addr, char *buf);

/* Formats packet time as RFC 3339 UTC with microseconds (buf >= 32 bytes). */
const char *rule_time(uint64_t ts_ns, char *buf);

#endif
