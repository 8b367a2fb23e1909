/*
 * main: the sked binary, git style - `sked serve` runs the server, every other subcommand is a
 * client of its REST API (src/cli/) or a local tool.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server.h"

#ifndef SKED_VERSION
#define SKED_VERSION "dev"
#endif

static void usage(FILE *f)
{
    fputs("usage: sked COMMAND [ARGS]\n"
          "\n"
          "Server:\n"
          "  serve               run the server (API, scheduler, workers)\n"
          "\n"
          "Client commands (talk to SKED_URL with SKED_TOKEN, or --url and --token):\n"
          "  job list|show|create|update|delete|run|schedule   manage jobs, runs, schedules\n"
          "  job backfill        run a job once per window of a past range\n"
          "  job stop            stop a job's queued and running runs\n"
          "  job export|import   jobs to and from a JSON file (for version control)\n"
          "  runs JOB|--all      list the runs of a job, or of every job\n"
          "  run show RUN        show one run\n"
          "  run again RUN       run a run's job again with what the run got\n"
          "  logs RUN [-f]       print (and follow) a run's log\n"
          "  stop RUN            stop a queued or running run\n"
          "  tasks               list the job types\n"
          "  queues [pause|resume QUEUE|--all]   list the queues (slots, runs executing,\n"
          "                      runs waiting), or pause or resume one or all\n"
          "  audit               list the audit trail (admins)\n"
          "\n"
          "Local tools (on the server's machine, working on the store):\n"
          "  user add|list|passwd|delete   manage accounts (--db)\n"
          "  token create|list|revoke      manage API tokens (--db)\n"
          "  backup FILE         copy the store consistently, while sked runs (--db)\n"
          "  restore BACKUP      put a backup back, while sked is stopped (--db)\n"
          "  config check        validate the settings and print them\n"
          "  cron next SPEC      print the next fire times of a schedule\n"
          "  version             print the version\n"
          "\n"
          "Every command takes --help (or: sked help COMMAND); most client commands take\n"
          "--json for scripts. --url, --token, --cacert, --db and --json may also come\n"
          "before the command: sked --url https://sked.example.org job list\n"
          "Exit codes: 0 ok, 1 refused by the server or the run did not succeed,\n"
          "2 usage error, 3 server unreachable.\n",
          f);
}

/* The options a command may also be given before its name, as git takes them: the server's
 * URL and the caller's token and CA (client commands), the store (local tools), --json. */
static bool global_option(const char *a, bool *has_value)
{
    static const char *const valued[] = {"url", "token", "cacert", "db"};
    if (strncmp(a, "--", 2) != 0) return false;
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof valued / sizeof *valued; i++) {
        if (strlen(valued[i]) == len && strncmp(name, valued[i], len) == 0) {
            *has_value = !eq;
            return true;
        }
    }
    *has_value = false;
    return !eq && strcmp(name, "json") == 0;
}

/* sked --url URL job list: the options before the command moved after its words (before a
 * `--`, past which every word is an argument), where the command reads its options. Returns
 * the new argv (NULL-terminated, to free), or NULL with *rc set when there is none to move or
 * the words are wrong. */
static char **hoist_options(int argc, char **argv, int *rc)
{
    int n = 1;
    bool has_value;
    while (n < argc && global_option(argv[n], &has_value)) {
        if (has_value && ++n == argc) {
            fprintf(stderr, "sked: option %s needs a value; see sked --help\n", argv[n - 1]);
            *rc = 2;
            return NULL;
        }
        n++;
    }
    *rc = 0;
    if (n == 1) return NULL;
    if (n < argc && strcmp(argv[n], "--") == 0) { /* the options, then `--`: no command */
        fprintf(stderr, "sked: a command is missing after the options (before --); see sked --help\n");
        *rc = 2;
        return NULL;
    }
    if (n == argc) {
        fprintf(stderr, "sked: a command is missing after the options; see sked --help\n");
        *rc = 2;
        return NULL;
    }
    char **out = calloc((size_t)argc + 1, sizeof *out);
    if (!out) {
        *rc = 1;
        return NULL;
    }
    int end = n; /* the command's words: up to its `--`, if any */
    while (end < argc && strcmp(argv[end], "--") != 0)
        end++;
    int k = 0;
    out[k++] = argv[0];
    for (int i = n; i < end; i++)
        out[k++] = argv[i];
    for (int i = 1; i < n; i++)
        out[k++] = argv[i];
    for (int i = end; i < argc; i++)
        out[k++] = argv[i];
    return out;
}

static int command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    int rc;
    char **hoisted = hoist_options(argc, argv, &rc);
    if (hoisted) {
        rc = command(argc, hoisted);
        free(hoisted);
        return rc;
    }
    if (rc) return rc;
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) return server_main(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 && argc > 2) {
        /* sked help job run: the help of sked job run, as git help does */
        char **again = calloc((size_t)argc + 1, sizeof *again); /* NULL-terminated */
        if (!again) return 1;
        again[0] = argv[0];
        for (int i = 2; i < argc; i++) again[i - 1] = argv[i];
        static char help[] = "--help";
        again[argc - 1] = help;
        rc = command(argc, again);
        free(again);
        return rc;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
            printf("usage: sked version\n\nPrints the version of sked.\n");
            return 0;
        }
        if (argc > 2) {
            fprintf(stderr, "sked version: unexpected argument '%s'; see sked version --help\n",
                    argv[2]);
            return 2;
        }
        printf("sked %s\n", SKED_VERSION);
        return 0;
    }
    rc = cli_main(argc - 1, argv + 1);
    if (rc != CLI_UNKNOWN) return rc;
    if (cmd[0] == '-')
        fprintf(stderr, "sked: unknown option '%s' before the command: only --url, --token, "
                        "--cacert, --db and --json may come before it; give it after the command's "
                        "name (sked COMMAND %s), see sked --help\n", cmd, cmd);
    else
        fprintf(stderr, "sked: unknown command '%s'; see sked --help\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    /* a file past the file size limit fails its write (EFBIG) like a full disk, rather than
     * killing sked mid-write: the store's commit fails, a backup's copy is removed */
    signal(SIGXFSZ, SIG_IGN);
    return command(argc, argv);
}
