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

/* Why a QUEUED run waits, as the server's queues tell: "queue 'low' is paused (maint); sked
 * queues resume low", "waiting for a free slot in queue 'default' (3 of 3 busy)" (see
 * run_waiting); NULL when they tell nothing (the run is about to start, or has) or cannot be
 * read. Prints nothing; the caller frees the text. */
char *run_wait_reason(const struct client *c, const json_t *run);
/* A run's progress and counters in a few words: "2 of 4 (50%); 12 entries: 10 inserted, 1
 * updated, 1 errored"; NULL when it reported none. progress is the run's "progress", counts an
 * object with its *_entries (the run itself will do). Caller frees. */
char *progress_words(const json_t *progress, const json_t *counts);

/*
 * Follows run's log from its first line until the run ends, printing lines as they arrive to
 * out (as text, or one JSON object a line with json_lines), then its summary ("run ID STATUS
 * after 1.2s: message") to sum. When it ended FAILED and its job gave it a retry, says so on
 * sum ("attempt 1 of 3 failed; retry ID queued, starts after 14:03:07") and, with retries,
 * follows the retry the same way, to the last attempt. On stderr it says once why a run that
 * waits in its queue waits, and, when stderr is a terminal, keeps one line with the run's
 * progress as it changes. SIGINT and SIGTERM end the follow, not the run: it says how to follow
 * the run again and returns 130 or 143. Otherwise returns the exit code of the last run
 * followed (0 for SUCCESS) or of a failure to follow it; *final is the last run that ended
 * (caller decrefs), or NULL.
 */
int logs_follow(const struct client *c, const json_t *run, const char *level, bool json_lines,
                FILE *out, FILE *sum, bool retries, json_t **final);

#endif
