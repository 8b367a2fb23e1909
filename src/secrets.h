/*
 * secrets: values a run's task needs that nobody reading jobs and runs may see (passwords,
 * API tokens). A run's arguments refer to one as {"$secret": "NAME"}, anywhere in them; the
 * value is the file NAME in the secrets folder (--secrets-dir), read when the run starts. The
 * store, the API, the audit trail and the UI only ever hold the reference; the task gets the
 * value, and lines of its log that hold the value show *** instead. See docs/tasks.md#secrets.
 */
#ifndef SKED_SECRETS_H
#define SKED_SECRETS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The name v refers to when v is a reference (an object whose only member is "$secret"), else
 * NULL. A malformed name is still returned: secrets_check says what is wrong with it. */
const char *secret_ref(const json_t *v);
/* Why arguments given whole as a secret ({"args": {"$secret": ...}}) are refused. */
#define SECRETS_NOT_WHOLE "a secret stands for one argument's value, not for all of them"


/* Checks every reference in v (at any depth) against the secrets folder dir (NULL when none is
 * set): a well-formed name of a secret that can be read. Adds errors under prefix (the dotted
 * path of v, "args") to errs; returns the number of references found. with_path: the messages
 * end with the file's path, for an admin, who sets the folder; anyone else learns nothing of the
 * server's files beyond the reason. */
size_t secrets_check(const char *dir, const json_t *v, const char *prefix, bool with_path,
                     json_t *errs);

/* Whether v refers to a secret anywhere (a job type's schema too: a default may). */
bool secrets_referred(const json_t *v);

/* v with each reference replaced by its secret's value: a new object, or v itself with a
 * reference added when it holds none. values (if not NULL) gets what to mask in the run's log
 * and outcome: each value of 4 characters or more, its lines, and how it reads inside a JSON
 * string, longest first. On failure returns NULL with the reason, naming the argument, in why
 * (without the file's path: it becomes the run's message, which every role reads). */
json_t *secrets_resolve(const char *dir, json_t *v, json_t *values, char *why, size_t whylen);

/* text (taken) with every occurrence of each string of mask (secrets_resolve's values) as ***. */
char *secrets_mask(char *text, const json_t *mask);
/* v (any JSON value) with every string in it, object keys included, masked so: a new value. */
json_t *secrets_masked(const json_t *v, const json_t *mask);

#endif
