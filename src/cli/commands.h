/*
 * commands: the entry point of each client command (argv[0] is the command's name; each
 * returns an exit code) and the few lookups that more than one command needs - finding a job
 * or a run from what a person typed, following a run's log to its end.
 */
#ifndef SKED_CLI_COMMANDS_H
#define SKED_CLI_COMMANDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"

int cmd_job(int argc, char **argv);   /* job.c */
int cmd_runs(int argc, char **argv);  /* run.c */
int cmd_run(int argc, char **argv);   /* run.c */
int cmd_stop(int argc, char **argv);  /* run.c */
int cmd_logs(int argc, char **argv);  /* logs.c */
int cmd_tasks(int argc, char **argv); /* tasks.c */
int cmd_queues(int argc, char **argv); /* tasks.c */
int cmd_audit(int argc, char **argv);  /* audit.c */
int cmd_cron(int argc, char **argv);  /* cron.c */
int cmd_user(int argc, char **argv);  /* user.c */
int cmd_token(int argc, char **argv); /* user.c */
int cmd_backup(int argc, char **argv);  /* store.c */
int cmd_config(int argc, char **argv);  /* config.c */
int cmd_restore(int argc, char **argv); /* store.c */
int job_schedule(int argc, char **argv); /* cron.c: sked job schedule */
int job_export(int argc, char **argv);   /* jobio.c: sked job export */
int job_import(int argc, char **argv);   /* jobio.c: sked job import */

/* A job by id, the start of one (4 characters or more) or exact title; on success *job is its JSON (caller decrefs). */
int job_resolve(const struct client *c, const char *ref, json_t **job);
/* A run by id (or an unambiguous start of one); on success *run is its JSON. */
int run_resolve(const struct client *c, const char *ref, json_t **run);

/*
 * Follows run's log from its first line until the run ends, printing lines as they arrive to
 * out (as text, or one JSON object a line with json_lines). On success *final is the ended run.
 */
int logs_follow(const struct client *c, const json_t *run, const char *level, bool json_lines,
                FILE *out, json_t **final);
/* Prints "run ID STATUS after 1.2s: message" to f; returns 0 for SUCCESS, else EXIT_FAIL. */
int logs_summary(const json_t *run, FILE *f);

#endif
