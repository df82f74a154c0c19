/* SPDX-License-Identifier: MIT */
/* `dnsvigil rules` (the rules and their references) and `dnsvigil config` (the settings). */
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

int cmd_rules(void)
{
    for (unsigned r = 0; r < rule_registry_n; r++) {
        const struct rule_ops *ops = rule_registry[r];
        printf("%s%-15s %s\n    %s\n", r ? "\n" : "", ops->name, ops->reference, ops->summary);
        if (ops->needs)
            printf("    needs: %s\n", ops->needs);
        for (unsigned i = 0; ops->params && ops->params[i].key; i++) {
            const struct rule_param *p = &ops->params[i];
            if (p->type == RP_BOOL)
                printf("    %-20s %-8s %s\n", p->key, p->def ? "yes" : "no", p->help);
            else
                printf("    %-20s %-8g %s (%g..%g)\n", p->key, p->def, p->help, p->min, p->max);
        }
    }
    printf("\nSettings go in a config file (-c FILE), one [rule-name] section per rule;\n"
           "'dnsvigil config --defaults' prints a complete one.\n");
    return EXIT_OK;
}

int cmd_config(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--defaults")) {
        config_print_defaults(stdout);
        return EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "--check")) {
        static struct dv_config c;
        char err[512];
        if (config_load(&c, argv[2], err, sizeof(err)) < 0) {
            fprintf(stderr, "dnsvigil config: %s\n", err);
            return EXIT_USAGE;
        }
        printf("%s: ok\n", argv[2]);
        return EXIT_OK;
    }
    fputs("Usage: dnsvigil config --defaults | dnsvigil config --check FILE\n", stderr);
    return EXIT_USAGE;
}
