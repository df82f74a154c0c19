/* SPDX-License-Identifier: MIT */
/* The command line: one file per command (analyze.c, watch.c, report.c, db.c, rules.c), the
 * option handling they share (opts.c). A command parses its arguments, drives the layers
 * below (run/ for analyze and watch) and reports; it analyses nothing itself. */
#ifndef DV_CLI_CLI_H
#define DV_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define DV_VERSION "0.1.0"

/* Exit statuses (documented in --help, the man page and the README). */
enum cli_exit {
    EXIT_OK = 0,       /* every input read to its end */
    EXIT_INPUT = 1,    /* some input missing, unreadable or damaged; results cover the rest */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_INTERNAL = 3, /* out of memory, output not writable */
};

/* The commands (argv[0] is the command's name); each returns its exit status. */
int cmd_analyze(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_rules(void);
int cmd_config(int argc, char **argv);

/* ---- options shared by analyze and watch (opts.c) ---- */

/* Codes of the long options without a short form (above any character). */
enum cli_opt {
    CLI_O_NO_RULES = 256,
    CLI_O_WINDOW,
    CLI_O_TIMEOUT,
    CLI_O_MAX_PENDING,
    CLI_O_TCP_STREAMS,
    CLI_O_FRAG_SLOTS,
    CLI_O_DB,
    CLI_O_DB_SHED,
    CLI_O_DB_COMPLETE,
    CLI_O_RETAIN,
    CLI_O_LOG_FORMAT,
    CLI_O_ALERTS_JSONL,
    CLI_O_OWN = 300 /* a command's own long-only options from here */
};

/* The pipeline's options, for a command's struct option table (end it with its own and
 * {NULL, 0, NULL, 0}), and their short forms for getopt_long. */
#define CLI_PIPELINE_OPTIONS                                                                       \
    {"filter", required_argument, NULL, 'f'}, {"ports", required_argument, NULL, 'p'},             \
        {"config", required_argument, NULL, 'c'}, {"no-rules", no_argument, NULL, CLI_O_NO_RULES}, \
        {"window", required_argument, NULL, CLI_O_WINDOW},                                         \
        {"timeout", required_argument, NULL, CLI_O_TIMEOUT},                                       \
        {"max-pending", required_argument, NULL, CLI_O_MAX_PENDING},                               \
        {"tcp-streams", required_argument, NULL, CLI_O_TCP_STREAMS},                               \
        {"frag-slots", required_argument, NULL, CLI_O_FRAG_SLOTS},                                 \
        {"db", required_argument, NULL, CLI_O_DB}, {"db-shed", no_argument, NULL, CLI_O_DB_SHED},  \
        {"db-complete", no_argument, NULL, CLI_O_DB_COMPLETE},                                     \
        {"retain", required_argument, NULL, CLI_O_RETAIN},                                         \
        {"log-format", required_argument, NULL, CLI_O_LOG_FORMAT},                                 \
        {"alerts-jsonl", required_argument, NULL, CLI_O_ALERTS_JSONL},                             \
        {"verbose", no_argument, NULL, 'v'},                                                       \
    {                                                                                              \
        "quiet", no_argument, NULL, 'q'                                                            \
    }
#define CLI_PIPELINE_SHORT "f:p:c:vq"

struct cap_config;
struct disp_config;

/* What those options set. */
struct cli_pipeline {
    struct cap_config *cap;
    struct disp_config *disp;
    const char *filter, *config, *db_path, *jsonl_path;
    bool rules, db_shed, db_complete;
    uint64_t retain_ns;
    int log_fmt; /* enum srvlog_format */
};

/* Defaults into p, whose cap and disp point at the caller's configurations. */
void cli_pipeline_init(struct cli_pipeline *p, struct cap_config *cap, struct disp_config *disp);

/* One option: 1 when it was one of the pipeline's (and its value good), 0 when it is the
 * command's own, -1 for a bad value (the message printed, naming cmd). */
int cli_pipeline_opt(struct cli_pipeline *p, const char *cmd, int opt, const char *arg);

/* After all options: the BPF filter compiles and the options fit together (--retain,
 * --db-shed and --db-complete need --db). 0, or -1 with the message printed. */
int cli_pipeline_check(const struct cli_pipeline *p, const char *cmd);

/* A decimal number in min..max. */
bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
