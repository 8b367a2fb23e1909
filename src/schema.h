/*
 * schema: the JSON Schema subset job types declare their arguments with: type (string, integer,
 * number, boolean, array, object), properties, required, default, description, title, enum,
 * format "date-time", minimum/maximum, minLength/maxLength, items. A schema is checked once
 * when its task file loads (anything outside the subset is refused there) and then used to
 * fill defaults and to validate run arguments with field-level errors.
 */
#ifndef SKED_SCHEMA_H
#define SKED_SCHEMA_H

#include <jansson.h>

#include "base/err.h"

/* Checks that doc is a well-formed schema of the subset; path prefixes the field in e. */
int schema_check(const json_t *doc, const char *path, struct sk_err *e);

/*
 * Validates v against schema, adding {"field","messages"} entries to errs (fields are
 * prefix.name.sub...). Valid date-time strings are rewritten in place to the canonical UTC
 * form, so what a task receives is unambiguous. Returns the number of errors added.
 */
int schema_validate(const json_t *schema, json_t *v, const char *prefix, json_t *errs);
/* As schema_validate, but "required" is not checked at the top level (for saved arguments that
 * a run may still complete). */
int schema_validate_partial(const json_t *schema, json_t *v, const char *prefix, json_t *errs);

/* Replaces in v (at any depth the schema describes) each real with a whole value that a 64-bit
 * integer holds, 5.0, by that integer where the schema's type is integer: JSON Schema counts
 * 5.0 as an integer, and JavaScript's numbers and Python's floats are sent so. */
void schema_coerce(const json_t *schema, json_t *v);

/* Fills properties missing from obj with their defaults (recursing into present objects). */
void schema_apply_defaults(const json_t *schema, json_t *obj);

#endif
