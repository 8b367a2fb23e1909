/*
 * config: `sked config check` - reads the settings exactly as `sked serve` would (file, then
 * environment, then flags), loads the task files they name, and prints the effective settings
 * with secrets masked, so a configuration can be checked before a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "http/auth.h"
#include "tasks.h"

extern char **environ;

static void unknown_variable(const char *name, const char *closest, void *arg)
{
    (void)arg;
    fprintf(stderr, "sked config check: warning: %s is not a setting of sked, so not read%s%s%s\n",
            name, closest ? " (did you mean " : "", closest ? closest : "", closest ? "?)" : "");
}

static int config_check(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs("usage: sked config check [--config FILE] [SERVE OPTIONS]\n"
                  "\n"
                  "Reads the settings as `sked serve` would - the file (--config or SKED_CONFIG),\n"
                  "then SKED_* variables, then the options given - loads the task files, and\n"
                  "prints the effective settings as a configuration file, secrets masked.\n"
                  "Exit status 0 when everything is valid, 2 when not (with the reason).\n",
                  stdout);
            return 0;
        }
    }
    struct config c;
    config_init(&c);
    struct sk_err e = {0};
    int rc = config_load(&c, argc - 1, argv + 1, environ, &e);
    if (rc < 0) {
        fprintf(stderr, "sked config check: %s: %s\n", e.field, e.msg);
        config_release(&c);
        return EXIT_USAGE;
    }
    config_unknown_env(environ, unknown_variable, NULL);
    /* what sked serve refuses at its start, after the store is open */
    const char *pw = getenv("SKED_ADMIN_PASSWORD");
    const char *bad_token = c.admin_token ? auth_token_problem(c.admin_token) : NULL;
    const char *bad_pw = pw ? auth_password_problem(pw) : NULL;
    if (bad_token || bad_pw) {
        fprintf(stderr, "sked config check: %s: %s\n",
                bad_token ? "SKED_ADMIN_TOKEN" : "SKED_ADMIN_PASSWORD", bad_token ? bad_token : bad_pw);
        config_release(&c);
        return EXIT_USAGE;
    }
    struct queue_names qn = config_queue_names(&c);
    struct taskset *ts = NULL;
    struct buf more = BUF_INIT; /* the other task files that do not load, a line each */
    if (tasks_load_dir(c.tasks_dir, &qn, &ts, &e, &more) != 0) {
        fprintf(stderr, "sked config check: %s\n", e.msg);
        for (char *l = more.data, *nl; l && (nl = strchr(l, '\n')); l = nl + 1)
            fprintf(stderr, "sked config check: %.*s\n", (int)(nl - l), l);
        buf_free(&more);
        config_release(&c);
        return EXIT_USAGE;
    }
    if (c.config_file) printf("# from %s, the environment and the options given\n", c.config_file);
    config_print(&c, stdout);
    printf("\n# %zu job type(s) in %s:", ts->count, c.tasks_dir);
    for (size_t i = 0; i < ts->count; i++) printf(" %s", ts->tasks[i]->id);
    printf("\n");
    taskset_free(ts);
    config_release(&c);
    return 0;
}

int cmd_config(int argc, char **argv)
{
    static const struct verb verbs[] = {{"check", config_check}, {NULL, NULL}};
    static const char usage[] = "usage: sked config check [--config FILE] [SERVE OPTIONS]\n"
                                "\n"
                                "  check   validate the settings and print them\n";
    return cli_group("sked config", usage, verbs, argc, argv);
}
