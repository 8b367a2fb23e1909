/*
 * args: resolving what a run's task receives - the heart of the reference's model:
 *  1. the input is the request's args, else the job's saved run_args;
 *  2. non-empty custom_args replace everything verbatim (no merge, no since);
 *  3. otherwise a missing or empty since becomes the started_at of the job's newest SUCCESS
 *     run (null on a first run), schema defaults fill missing properties, and the result is
 *     validated against the task's schema with field-level errors.
 * The resolved object is stored in run.args before the run is queued.
 */
#ifndef SKED_ARGS_H
#define SKED_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tasks.h"

/*
 * input: the args object (borrowed; may hold "custom_args" and the reference's
 * "job_arg_schema" marker, both removed); custom: a parsed custom_args object that takes
 * precedence over input's, or NULL; last_success: NO_TIME when the job never succeeded.
 * Returns a new object, or NULL after adding errors (fields prefixed "args.") to errs.
 * Arguments (custom ones too: "custom_args." or "args.custom_args.") nested deeper than
 * ARGS_MAX_DEPTH are refused.
 */
json_t *args_resolve(const struct task *t, const json_t *input, const json_t *custom,
                     int64_t last_success, json_t *errs);

/*
 * The most levels a run's arguments may nest, the arguments object counting as one. Documents
 * hold them a few levels further down (a job list's last runs, the audit trail, an export),
 * and JSON parsers stop at some depth: jansson's (the server's, the CLI's) at 2048, a Celery
 * worker's Python json at its recursion limit, which drops the message unseen
 * (CELERY_ARGS_MAX_DEPTH, the same).
 */
#define ARGS_MAX_DEPTH 100

/* Arguments (an object) nested deeper than ARGS_MAX_DEPTH: adds the first such member's name
 * under field to errs and returns true. t (or NULL) names the job type, for the reason. */
bool args_too_deep(const struct task *t, const json_t *args, const char *field, json_t *errs);

/*
 * Whether args_resolve(t, input, custom, ...) resolves to custom arguments: custom is given, or
 * input holds a non-empty custom_args (a job's saved ones, or a request's args object). An
 * executor that shapes the arguments (Celery's positional ones) sends custom ones as given.
 */
bool args_custom(const json_t *input, const json_t *custom);
/* Whether input (arguments as given or saved, not custom) names a since: present, not null,
 * not empty. Without one a run's since is sked's to choose (the start of the job's last
 * success). */
bool args_since_given(const json_t *input);
/* Refuses (args.since, in errs) a since at us later than now, as shown: a run given it would
 * handle what changed since then, and nothing has yet (a year mistyped). True when refused. */
bool args_since_future(int64_t us, const char *shown, json_t *errs);

/*
 * The most a run's arguments may take, as compact JSON text: a job's saved arguments and its
 * custom args, a request's args and custom args, and the arguments a run resolves to, each.
 * They are stored with the run and in the audit trail, sent in every run list and written to
 * the task's stdin: bulk data belongs in a file or behind a URL the task reads.
 */
#define ARGS_MAX_BYTES (256 * 1024)

/* Whether v is longer than ARGS_MAX_BYTES as compact JSON; if so an error for field, saying
 * what to do instead, is added to errs. what names the arguments in the message ("" for
 * none). */
bool args_too_large(const json_t *v, const char *field, const char *what, json_t *errs);

/*
 * custom_args as the API takes them: a JSON text in a string (the reference's form) or an
 * object; null, "" and {} mean none. On success *out is an object or NULL (none). On failure
 * adds an error for field to errs and returns -EINVAL.
 */
int args_parse_custom(const json_t *v, const char *field, json_t **out, json_t *errs);

#endif
