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

/* Checks every reference in v (at any depth) against the secrets folder dir (NULL when none is
 * set): a well-formed name of a secret that can be read. Adds errors under prefix (the dotted
 * path of v, "args") to errs; returns the number of references found. */
size_t secrets_check(const char *dir, const json_t *v, const char *prefix, json_t *errs);

/* The path (dotted, under prefix) of the first reference in v that saved does not have at the
 * same place, allocated; NULL when every reference of v is one of saved's. */
char *secrets_new_ref(const json_t *v, const json_t *saved, const char *prefix);

/* v with each reference replaced by its secret's value: a new object, or v itself with a
 * reference added when it holds none. values (if not NULL) gets each value put in. On failure
 * returns NULL with the reason, naming the argument, in why. */
json_t *secrets_resolve(const char *dir, json_t *v, json_t *values, char *why, size_t whylen);

#endif
