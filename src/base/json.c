/* json: jansson helpers; see json.h. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

json_t *json_parse(const char *text, size_t len, const char *field, struct sk_err *e)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        /* jansson's own words for this one name its option */
        const char *why = json_error_code(&je) == json_error_null_character
                              ? "\\u0000 (a NUL character) is not allowed in strings"
                              : je.text;
        sk_err_set(e, -EINVAL, field, "malformed JSON at line %d, column %d (position %d): %s",
                   je.line, je.column, je.position, why);
        return NULL;
    }
    return v;
}

/* d when it is a whole number of microseconds from 1e-4 to 1e9 (a duration in seconds), as
 * %.15g writes it: at most 15 significant digits, so the decimal is exact; false otherwise */
static bool write_micros(struct buf *b, double d)
{
    double m = d * 1e6;
    if (!(m >= 100 && m < 1e15)) return false;
    int64_t us = (int64_t)(m + 0.5);
    if ((double)us / 1e6 != d) return false;
    char t[32];
    int n = 0;
    int64_t whole = us / 1000000, frac = us % 1000000;
    char rev[20];
    int k = 0;
    do rev[k++] = (char)('0' + whole % 10);
    while ((whole /= 10) > 0);
    while (k) t[n++] = rev[--k];
    t[n++] = '.';
    if (frac == 0) {
        t[n++] = '0';
    } else {
        for (int i = 5; i >= 0; i--, frac /= 10) t[n + i] = (char)('0' + frac % 10);
        n += 6;
        while (t[n - 1] == '0') n--;
    }
    buf_append(b, t, (size_t)n);
    return true;
}

/* A real as jansson writes it with JSON_REAL_PRECISION(15): %.15g, ".0" added when that
 * reads as an integer, and the exponent without "+" or leading zeros. */
void json_write_real(struct buf *b, double d)
{
    if (write_micros(b, d)) return; /* every run's duration: printf costs ten times more */
    char t[48];
    int n = snprintf(t, sizeof t, "%.15g", d);
    char *e = strchr(t, 'e');
    if (!e && !strchr(t, '.')) {
        memcpy(t + n, ".0", 3);
        n += 2;
    }
    if (e) {
        char *from = e + 1, *to = e + 1;
        if (*from == '+') from++;
        else if (*from == '-') from++, to++;
        while (*from == '0' && from[1]) from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(t);
    }
    buf_append(b, t, (size_t)n);
}

void json_write(struct buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        buf_putc(b, '{');
        bool first = true;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first) buf_putc(b, ',');
            first = false;
            buf_json_stringn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            buf_putc(b, ':');
            json_write(b, json_object_iter_value(it));
        }
        buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY:
        buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) buf_putc(b, ',');
            json_write(b, json_array_get(v, i));
        }
        buf_putc(b, ']');
        break;
    case JSON_STRING: buf_json_stringn(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        buf_put_int(b, json_integer_value(v));
        break;
    case JSON_REAL: json_write_real(b, json_real_value(v)); break;
    case JSON_TRUE: buf_append(b, "true", 4); break;
    case JSON_FALSE: buf_append(b, "false", 5); break;
    case JSON_NULL: buf_append(b, "null", 4); break;
    }
}

char *json_dump(const json_t *v)
{
    if (!v) return strdup("null");
    struct buf b = BUF_INIT;
    json_write(&b, v);
    return buf_steal(&b);
}

/* What one answer lists at most: a body of thousands of bad fields is answered with the first
 * ones and a count of the rest, in time and size that do not grow with it (a list that merged
 * every field into every other would take quadratic time on the event loop). */
#define ERRS_FIELDS_MAX 100
#define ERRS_MESSAGES_MAX 20
#define ERRS_FIELD_BYTES 200
#define ERRS_MORE "…" /* the field of the entry past them: how many fields are not listed */

/* Counts one more thing left out in list at index at: "and N more THINGS, not listed" there. */
static void left_out(json_t *list, size_t at, const char *one, const char *many)
{
    const char *was = json_string_value(json_array_get(list, at));
    long long n = 1 + (was ? strtoll(was + strlen("and "), NULL, 10) : 0);
    char text[128];
    snprintf(text, sizeof text, "and %lld more %s, not listed", n, n == 1 ? one : many);
    if (was)
        json_array_set_new(list, at, json_string(text));
    else
        json_array_append_new(list, json_string(text));
}

void json_errs_add(json_t *errs, const char *field, const char *fmt, ...)
{
    /* a field quoted from the input may be as long as the body: its start names it */
    size_t flen = strlen(field), keep = flen;
    if (flen > ERRS_FIELD_BYTES)
        for (keep = ERRS_FIELD_BYTES; keep > 0 && ((unsigned char)field[keep] & 0xC0) == 0x80;)
            keep--; /* not within a character */
    struct buf f = BUF_INIT;
    utf8_sanitize(&f, field, keep);
    if (keep < flen) buf_puts(&f, "…");
    json_t *same = NULL;
    for (size_t i = 0; i < json_array_size(errs) && i < ERRS_FIELDS_MAX && !same; i++)
        if (strcmp(json_str(json_array_get(errs, i), "field"), buf_cstr(&f)) == 0)
            same = json_array_get(errs, i);
    json_t *messages = same ? json_object_get(same, "messages") : NULL;
    if (same && json_array_size(messages) >= ERRS_MESSAGES_MAX) {
        buf_free(&f);
        left_out(messages, ERRS_MESSAGES_MAX, "problem of this field", "problems of this field");
        return;
    }
    if (!same && json_array_size(errs) >= ERRS_FIELDS_MAX) {
        buf_free(&f);
        if (json_array_size(errs) == ERRS_FIELDS_MAX)
            json_array_append_new(errs, json_pack("{s:s, s:[]}", "field", ERRS_MORE, "messages"));
        left_out(json_object_get(json_array_get(errs, ERRS_FIELDS_MAX), "messages"), 0,
                 "field with errors", "fields with errors");
        return;
    }
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    /* both repaired to UTF-8 (a name or value quoted from the input, or cut short to fit, may
     * not be), since a JSON string cannot hold anything else and the error must never be lost */
    struct buf m = BUF_INIT;
    utf8_sanitize(&m, b.data ? b.data : "", b.len);
    buf_free(&b);
    json_t *msg = json_string(buf_cstr(&m));
    buf_free(&m);
    /* two checks that find the same fault say it once */
    for (size_t i = 0; same && i < json_array_size(messages); i++)
        if (json_equal(json_array_get(messages, i), msg)) {
            json_decref(msg);
            buf_free(&f);
            return;
        }
    if (same)
        json_array_append_new(messages, msg);
    else
        json_array_append_new(errs,
                              json_pack("{s:s, s:[o]}", "field", buf_cstr(&f), "messages", msg));
    buf_free(&f);
}

const char *json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

bool json_is_empty(const json_t *v)
{
    if (!v || json_is_null(v)) return true;
    if (json_is_string(v)) return json_string_length(v) == 0;
    if (json_is_object(v)) return json_object_size(v) == 0;
    if (json_is_array(v)) return json_array_size(v) == 0;
    return false;
}

bool json_whole(const json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v)) return false;
    double d = json_real_value(v);
    if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    *out = (json_int_t)d;
    return true;
}

int json_depth(const json_t *v, int limit)
{
    if (!json_is_array(v) && !json_is_object(v)) return 0;
    if (limit <= 0) return 1; /* deeper than the limit already: no need to walk on */
    int most = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && most < limit; i++) {
            int d = json_depth(json_array_get(v, i), limit - 1);
            if (d > most) most = d;
        }
    } else {
        for (void *it = json_object_iter((json_t *)v); it && most < limit;
             it = json_object_iter_next((json_t *)v, it)) {
            int d = json_depth(json_object_iter_value(it), limit - 1);
            if (d > most) most = d;
        }
    }
    return most + 1;
}
