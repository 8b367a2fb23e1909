/*
 * json: small helpers over jansson for what sked does everywhere: parse text from outside
 * with an error that names the position, dump compactly, and build field-level error lists
 * ([{"field": F, "messages": [...]}], the API's 400 shape).
 */
#ifndef SKED_JSON_H
#define SKED_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Parses text (need not be NUL-terminated). On failure returns NULL and fills e with
 * "malformed JSON at line L, column C (position P): reason". Caller owns the result.
 */
json_t *json_parse(const char *text, size_t len, const char *field, struct sk_err *e);
/* Compact dump; caller frees. Never NULL ("null" for a NULL value). */
char *json_dump(const json_t *v);
/* Appends v in compact form, byte for byte what jansson's json_dumps writes with
 * JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15), several times faster: strings were
 * checked as UTF-8 when jansson made them, so they are only escaped, never decoded again. */
struct buf;
void json_write(struct buf *b, const json_t *v);
/* A real number as json_write writes it (jansson's JSON_REAL_PRECISION(15) form). */
void json_write_real(struct buf *b, double d);

/* Adds message to field in errs (an array), merging messages of the same field. */
void json_errs_add(json_t *errs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Object member as a C string, or NULL when missing or not a string. */
const char *json_str(const json_t *obj, const char *key);
/* The JSON type name of v ("string", "integer", ...), for error messages. */
const char *json_type_name(const json_t *v);
/* True for null, "", {} and []. */
bool json_is_empty(const json_t *v);
/* Whether v is a whole number: an integer, or a real with a whole value within 64 bits (5.0,
 * as JavaScript and Python's floats send 5), stored in *out. */
bool json_whole(const json_t *v, json_int_t *out);

/* The levels of nesting of v: 0 for a scalar, 1 for an array or object holding no array or
 * object, and so on; counted up to limit only (limit + 1 for anything deeper). */
int json_depth(const json_t *v, int limit);

#endif
