/*
 * unit: what every cmocka test file of sked shares - the cmocka includes in the order cmocka
 * needs, and small assertions over sked's error shapes (the {"field","messages"} lists and
 * struct sk_err) so each test states the field and reason it expects in one line.
 */
#ifndef SKED_TEST_UNIT_H
#define SKED_TEST_UNIT_H

/* cmocka.h relies on these being included first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails (printing both strings) unless needle occurs in hay. */
#define assert_contains(hay, needle) unit_assert_contains((hay), (needle), __FILE__, __LINE__)

static inline void unit_assert_contains(const char *hay, const char *needle, const char *file,
                                        int line)
{
    if (hay && needle && strstr(hay, needle)) return;
    fail_msg("%s:%d: expected \"%s\" to contain \"%s\"", file, line, hay ? hay : "(null)",
             needle ? needle : "(null)");
}

/* The messages of field in an error list, joined by " | ", or NULL when the field is absent.
 * Returns a static buffer: one result at a time. */
static inline const char *unit_errs_msg(const json_t *errs, const char *field)
{
    static char out[2048];
    size_t i;
    json_t *item;
    json_array_foreach(errs, i, item)
    {
        const char *f = json_string_value(json_object_get(item, "field"));
        if (!f || strcmp(f, field) != 0) continue;
        out[0] = '\0';
        size_t j;
        json_t *m;
        json_array_foreach(json_object_get(item, "messages"), j, m)
        {
            size_t used = strlen(out);
            snprintf(out + used, sizeof out - used, "%s%s", j ? " | " : "", json_string_value(m));
        }
        return out;
    }
    return NULL;
}

/* Fails unless errs holds field with a message containing needle (NULL: any message). */
#define assert_err_field(errs, field, needle)                                                  \
    unit_assert_err_field((errs), (field), (needle), __FILE__, __LINE__)

static inline void unit_assert_err_field(const json_t *errs, const char *field,
                                         const char *needle, const char *file, int line)
{
    const char *m = unit_errs_msg(errs, field);
    if (m && (!needle || strstr(m, needle))) return;
    char *all = json_dumps(errs, JSON_COMPACT);
    fail_msg("%s:%d: expected an error for \"%s\"%s%s, got %s", file, line, field,
             needle ? " containing " : "", needle ? needle : "", all ? all : "(null)");
}

/* Parses a JSON literal written in a test; a typo in the test itself fails loudly. */
static inline json_t *unit_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad JSON in the test: %s: %s", text, je.text);
    return v;
}
#define J(text) unit_json(text)

/* Fails unless the JSON value equals the JSON literal want. */
#define assert_json_eq(v, want) unit_assert_json_eq((v), (want), __FILE__, __LINE__)

static inline void unit_assert_json_eq(const json_t *v, const char *want, const char *file,
                                       int line)
{
    json_t *w = unit_json(want);
    int eq = json_equal(v, w);
    json_decref(w);
    if (eq) return;
    char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
    fail_msg("%s:%d: expected %s, got %s", file, line, want, got ? got : "(null)");
}

#endif
