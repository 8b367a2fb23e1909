/* json: jansson helpers; see json.h. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

json_t *json_parse(const char *text, size_t len, const char *field, struct sk_err *e)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        sk_err_set(e, -EINVAL, field, "malformed JSON at line %d, column %d (position %d): %s",
                   je.line, je.column, je.position, je.text);
        return NULL;
    }
    return v;
}

char *json_dump(const json_t *v)
{
    if (!v) return strdup("null");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s) abort();
    return s;
}

void json_errs_add(json_t *errs, const char *field, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    json_t *msg = json_string(buf_cstr(&b));
    if (!msg) msg = json_string("invalid value"); /* message held invalid UTF-8 */
    buf_free(&b);
    size_t i;
    json_t *item;
    json_array_foreach(errs, i, item)
    {
        if (strcmp(json_str(item, "field"), field) == 0) {
            json_array_append_new(json_object_get(item, "messages"), msg);
            return;
        }
    }
    json_array_append_new(errs, json_pack("{s:s, s:[o]}", "field", field, "messages", msg));
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
