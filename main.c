/* SPDX-License-Identifier: MIT */
/* dnsvigil: picks the command; the commands are in cli/. */
#include "cli/cli.h"
#include "common/log.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

static void usage_main(FILE *f)
{
    fputs("Usage: dnsvigil COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Passive DNS traffic analyzer: decodes DNS traffic from captures, counts queries,\n"
          "responses, response codes, query types, EDNS use and malformed messages, and\n"
          "accounts for every packet it could not use.\n"
          "\n"
          "Commands:\n"
          "  analyze FILE...   analyze pcap/pcapng captures (plain, .gz, .xz, .lz4, .zst, or -)\n"
          "  watch -i IFACE    the live sensor: capture, live view, alerts, store, metrics\n"
          "  watch -r FILE     replay a capture through the live path (--speed N)\n"
          "  rules             list the detection rules, their references and thresholds\n"
          "  config --defaults print every setting with its default (a valid config file)\n"
          "  report            the ISO's security-event report from the store (text, HTML, JSON)\n"
          "  db COMMAND        maintain the store: info, prune --retain AGE, vacuum\n"
          "  help [COMMAND]    show help for a command\n"
          "\n"
          "Options:\n"
          "  -h, --help        show this help\n"
          "  -V, --version     show the version\n"
          "\n"
          "Run 'dnsvigil analyze --help' for the options of analyze. See dnsvigil(1).\n",
          f);
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("dnsvigil %s (%s)\n", DV_VERSION, pcap_lib_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        /* "help CMD" is "CMD --help". */
        static const char *const with_help[] = {"analyze", "watch", "report", "db"};
        for (unsigned i = 0; argc > 2 && i < sizeof(with_help) / sizeof(with_help[0]); i++)
            if (!strcmp(argv[2], with_help[i])) {
                char name[16], help[] = "--help";
                char *hv[] = {name, help, NULL};
                snprintf(name, sizeof(name), "%s", with_help[i]);
                return !strcmp(name, "analyze")  ? cmd_analyze(2, hv)
                       : !strcmp(name, "watch")  ? cmd_watch(2, hv)
                       : !strcmp(name, "report") ? cmd_report(2, hv)
                                                 : cmd_db(2, hv);
            }
        usage_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "rules"))
        return cmd_rules();
    if (!strcmp(cmd, "config"))
        return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "db"))
        return cmd_db(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "watch"))
        return cmd_watch(argc - 1, argv + 1);
    fprintf(stderr, "dnsvigil: unknown command '%s'\nTry 'dnsvigil --help'.\n", cmd);
    return EXIT_USAGE;
}
