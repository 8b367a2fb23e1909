/* schema: the arguments-schema subset; see schema.h. */
#include "schema.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "secrets.h"

static const char *types[] = {"string", "integer", "number", "boolean", "array", "object"};
static const char *keywords[] = {"type",      "properties", "required",  "default",
                                 "description", "title",    "enum",      "format",
                                 "minimum",   "maximum",    "minLength", "maxLength",
                                 "items"};

static bool known(const char *k, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, list[i]) == 0) return true;
    return false;
}

static void subpath(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

static bool type_ok(const char *type, const json_t *v);

/*
 * Whether enum member m breaks a keyword of bare (its schema without enum and default), and
 * then which one, in why: a member the property could never take. The keywords a member of a
 * scalar type can break are named; for arrays and objects the first validation error is given.
 */
static bool enum_conflict(const json_t *bare, const char *type, const json_t *m, char *why,
                          size_t len)
{
    json_t *errs = json_array(), *copy = json_deep_copy(m);
    int n = schema_validate(bare, copy, "", errs);
    json_decref(copy);
    if (n == 0) {
        json_decref(errs);
        return false;
    }
    char *shown = json_dump(m);
    json_t *mn = json_object_get(bare, "minimum"), *mx = json_object_get(bare, "maximum");
    json_t *mnl = json_object_get(bare, "minLength"), *mxl = json_object_get(bare, "maxLength");
    double d = json_number_value(m);
    json_int_t chars = json_is_string(m) ? (json_int_t)utf8_chars(json_string_value(m)) : 0;
    if (!type_ok(type, m))
        snprintf(why, len, "member %.80s is of type %s, not %s (the schema's type)", shown,
                 json_type_name(m), type);
    else if (mnl && chars < json_integer_value(mnl))
        snprintf(why, len, "member %.80s is shorter than minLength %lld", shown,
                 (long long)json_integer_value(mnl));
    else if (mxl && chars > json_integer_value(mxl))
        snprintf(why, len, "member %.80s is longer than maxLength %lld", shown,
                 (long long)json_integer_value(mxl));
    else if (json_is_number(m) && mn && d < json_number_value(mn))
        snprintf(why, len, "member %.80s is less than minimum %g", shown, json_number_value(mn));
    else if (json_is_number(m) && mx && d > json_number_value(mx))
        snprintf(why, len, "member %.80s is greater than maximum %g", shown, json_number_value(mx));
    else if (json_is_string(m) && json_object_get(bare, "format"))
        snprintf(why, len, "member %.80s does not fit format \"date-time\"", shown);
    else {
        json_t *first = json_array_get(errs, 0);
        snprintf(why, len, "member %.80s does not fit the schema: %s: %s", shown,
                 json_string_value(json_object_get(first, "field")),
                 json_string_value(json_array_get(json_object_get(first, "messages"), 0)));
    }
    free(shown);
    json_decref(errs);
    return true;
}

int schema_check(const json_t *doc, const char *path, struct sk_err *e)
{
    char p[256];
    if (!json_is_object(doc)) return sk_err_set(e, -EINVAL, path, "must be a schema object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!known(k, keywords, sizeof keywords / sizeof *keywords)) {
            subpath(p, sizeof p, path, k);
            return sk_err_set(e, -EINVAL, p,
                              "unsupported schema keyword (supported: type, properties, required, "
                              "default, description, title, enum, format, minimum, maximum, "
                              "minLength, maxLength, items)");
        }
    }
    json_t *tv = json_object_get(doc, "type");
    subpath(p, sizeof p, path, "type");
    if (!tv)
        return sk_err_set(e, -EINVAL, p, "required, one of string, integer, number, boolean, "
                                         "array, object");
    /* one type only: a list such as ["string", "null"] would say nothing more, as null passes
     * every type ("not given") */
    if (!json_is_string(tv))
        return sk_err_set(e, -EINVAL, p,
                          "must be a string naming one type (string, integer, number, boolean, "
                          "array, object), not %s; null needs no type of its own, as every "
                          "type accepts it (it means \"not given\")",
                          json_type_name(tv));
    const char *type = json_string_value(tv);
    if (!known(type, types, 6))
        return sk_err_set(e, -EINVAL, p, "unknown type '%s' (one of string, integer, number, "
                                         "boolean, array, object)", type);
    bool is_str = strcmp(type, "string") == 0;
    bool is_num = strcmp(type, "integer") == 0 || strcmp(type, "number") == 0;
    bool is_obj = strcmp(type, "object") == 0;
    bool is_arr = strcmp(type, "array") == 0;

    json_t *props = json_object_get(doc, "properties");
    if (props) {
        subpath(p, sizeof p, path, "properties");
        if (!is_obj) return sk_err_set(e, -EINVAL, p, "only allowed with type object");
        if (!json_is_object(props)) return sk_err_set(e, -EINVAL, p, "must be an object");
        json_object_foreach(props, k, v)
        {
            char pp[256];
            subpath(pp, sizeof pp, p, k);
            if (!*k) return sk_err_set(e, -EINVAL, p, "property names must not be empty");
            int rc = schema_check(v, pp, e);
            if (rc) return rc;
        }
    }
    json_t *req = json_object_get(doc, "required");
    if (req) {
        subpath(p, sizeof p, path, "required");
        if (!is_obj) return sk_err_set(e, -EINVAL, p, "only allowed with type object");
        if (!json_is_array(req)) return sk_err_set(e, -EINVAL, p, "must be an array of names");
        size_t i;
        json_array_foreach(req, i, v)
        {
            if (!json_is_string(v)) return sk_err_set(e, -EINVAL, p, "must hold strings");
            if (!json_object_get(props, json_string_value(v)))
                return sk_err_set(e, -EINVAL, p, "'%s' is not among the properties",
                                  json_string_value(v));
        }
    }
    json_t *items = json_object_get(doc, "items");
    if (items) {
        subpath(p, sizeof p, path, "items");
        if (!is_arr) return sk_err_set(e, -EINVAL, p, "only allowed with type array");
        int rc = schema_check(items, p, e);
        if (rc) return rc;
    }
    json_t *fmt = json_object_get(doc, "format");
    if (fmt) {
        subpath(p, sizeof p, path, "format");
        if (!is_str) return sk_err_set(e, -EINVAL, p, "only allowed with type string");
        if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "date-time") != 0)
            return sk_err_set(e, -EINVAL, p, "only \"date-time\" is supported");
    }
    const char *numkw[] = {"minimum", "maximum"};
    for (int i = 0; i < 2; i++) {
        json_t *n = json_object_get(doc, numkw[i]);
        if (!n) continue;
        subpath(p, sizeof p, path, numkw[i]);
        if (!is_num) return sk_err_set(e, -EINVAL, p, "only allowed with type integer or number");
        if (!json_is_number(n)) return sk_err_set(e, -EINVAL, p, "must be a number");
    }
    json_t *mn = json_object_get(doc, "minimum"), *mx = json_object_get(doc, "maximum");
    if (mn && mx && json_number_value(mn) > json_number_value(mx)) {
        subpath(p, sizeof p, path, "minimum");
        return sk_err_set(e, -EINVAL, p, "is greater than maximum");
    }
    const char *lenkw[] = {"minLength", "maxLength"};
    for (int i = 0; i < 2; i++) {
        json_t *n = json_object_get(doc, lenkw[i]);
        if (!n) continue;
        subpath(p, sizeof p, path, lenkw[i]);
        if (!is_str) return sk_err_set(e, -EINVAL, p, "only allowed with type string");
        if (!json_is_integer(n) || json_integer_value(n) < 0)
            return sk_err_set(e, -EINVAL, p, "must be a non-negative integer");
    }
    mn = json_object_get(doc, "minLength"), mx = json_object_get(doc, "maxLength");
    if (mn && mx && json_integer_value(mn) > json_integer_value(mx)) {
        subpath(p, sizeof p, path, "minLength");
        return sk_err_set(e, -EINVAL, p, "is greater than maxLength");
    }
    const char *txtkw[] = {"description", "title"};
    for (int i = 0; i < 2; i++) {
        json_t *t = json_object_get(doc, txtkw[i]);
        if (t && !json_is_string(t)) {
            subpath(p, sizeof p, path, txtkw[i]);
            return sk_err_set(e, -EINVAL, p, "must be a string");
        }
    }
    json_t *en = json_object_get(doc, "enum");
    if (en) {
        subpath(p, sizeof p, path, "enum");
        if (!json_is_array(en) || json_array_size(en) == 0)
            return sk_err_set(e, -EINVAL, p, "must be a non-empty array");
        /* the enum's own members must fit the type (not the enum itself), so they are checked
         * against the schema without enum and default - copied once: a copy per member, enum
         * included, made loading a task file quadratic in the size of its enums */
        json_t *bare = json_copy((json_t *)doc);
        json_object_del(bare, "enum");
        json_object_del(bare, "default");
        char why[512] = "";
        size_t i;
        json_array_foreach(en, i, v)
        {
            if (enum_conflict(bare, type, v, why, sizeof why)) break;
        }
        json_decref(bare);
        if (*why) return sk_err_set(e, -EINVAL, p, "%s", why);
    }
    json_t *def = json_object_get(doc, "default");
    if (def && !json_is_null(def)) {
        subpath(p, sizeof p, path, "default");
        json_t *errs = json_array(), *copy = json_deep_copy(def);
        int n = schema_validate(doc, copy, "", errs);
        char first[256] = "";
        if (n) {
            json_t *m = json_array_get(json_object_get(json_array_get(errs, 0), "messages"), 0);
            snprintf(first, sizeof first, "%s", json_string_value(m));
        }
        json_decref(errs);
        json_decref(copy);
        if (n) return sk_err_set(e, -EINVAL, p, "does not fit the schema: %s", first);
    }
    return 0;
}

static bool type_ok(const char *type, const json_t *v)
{
    if (strcmp(type, "string") == 0) return json_is_string(v);
    if (strcmp(type, "integer") == 0) return json_is_integer(v);
    if (strcmp(type, "number") == 0) return json_is_number(v);
    if (strcmp(type, "boolean") == 0) return json_is_boolean(v);
    if (strcmp(type, "array") == 0) return json_is_array(v);
    if (strcmp(type, "object") == 0) return json_is_object(v);
    return false;
}


static int validate(const json_t *schema, json_t *v, const char *prefix, json_t *errs,
                    bool required);

/* The arguments as a whole (prefix names no member) given as a secret are refused by
 * secrets_check, which every caller makes, saying why: not also for their type here. */
static bool whole_secret(const json_t *v, const char *prefix)
{
    return secret_ref(v) && !strpbrk(prefix, ".[");
}

int schema_validate(const json_t *schema, json_t *v, const char *prefix, json_t *errs)
{
    return whole_secret(v, prefix) ? 0 : validate(schema, v, prefix, errs, true);
}

int schema_validate_partial(const json_t *schema, json_t *v, const char *prefix, json_t *errs)
{
    return whole_secret(v, prefix) ? 0 : validate(schema, v, prefix, errs, false);
}

static int validate(const json_t *schema, json_t *v, const char *prefix, json_t *errs,
                    bool required)
{
    const char *field = *prefix ? prefix : "(root)";
    const char *type = json_str(schema, "type");
    if (!type) return 0;
    if (json_is_null(v)) return 0; /* null means "not given"; required is checked by the parent */
    if (secret_ref(v)) { /* read when the run starts (secrets.h): no value to check here */
        if (strcmp(type, "string") == 0) return 0;
        json_errs_add(errs, field, "a secret stands for a string, and this argument is of type %s",
                      type);
        return 1;
    }
    if (!type_ok(type, v)) {
        json_errs_add(errs, field, "must be of type %s, not %s", type, json_type_name(v));
        return 1;
    }
    int n = 0;
    json_t *en = json_object_get(schema, "enum");
    if (en) {
        bool found = false;
        size_t i;
        json_t *m;
        json_array_foreach(en, i, m) found = found || json_equal(m, v);
        if (!found) {
            char *all = json_dump(en);
            json_errs_add(errs, field, "must be one of %s", all);
            free(all);
            n++;
        }
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = utf8_chars(s);
        json_t *mn = json_object_get(schema, "minLength"), *mx = json_object_get(schema, "maxLength");
        if (mn && (json_int_t)len < json_integer_value(mn)) {
            json_errs_add(errs, field, "must be at least %lld characters long",
                          (long long)json_integer_value(mn));
            n++;
        }
        if (mx && (json_int_t)len > json_integer_value(mx)) {
            json_errs_add(errs, field, "must be at most %lld characters long",
                          (long long)json_integer_value(mx));
            n++;
        }
        const char *fmt = json_str(schema, "format");
        if (fmt && strcmp(fmt, "date-time") == 0) {
            int64_t us;
            const char *why;
            if (time_parse(s, &us, &why) != 0) {
                json_errs_add(errs, field, "not a valid date-time (%s)", why);
                n++;
            } else {
                char ts[TIME_STR_MAX];
                time_format(us, ts);
                json_string_set(v, ts);
            }
        }
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        if (mn && d < json_number_value(mn)) {
            json_errs_add(errs, field, "must be at least %g", json_number_value(mn));
            n++;
        }
        if (mx && d > json_number_value(mx)) {
            json_errs_add(errs, field, "must be at most %g", json_number_value(mx));
            n++;
        }
        if (json_is_real(v) && !isfinite(d)) {
            json_errs_add(errs, field, "must be a finite number");
            n++;
        }
    }
    if (json_is_array(v)) {
        json_t *items = json_object_get(schema, "items");
        if (items) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                char p[256];
                snprintf(p, sizeof p, "%s[%zu]", prefix, i);
                n += schema_validate(items, item, p, errs);
            }
        }
    }
    if (json_is_object(v)) {
        json_t *props = json_object_get(schema, "properties");
        json_t *req = json_object_get(schema, "required");
        size_t i;
        json_t *r;
        json_array_foreach(required ? req : NULL, i, r)
        {
            json_t *got = json_object_get(v, json_string_value(r));
            if (!got || json_is_null(got) ||
                (json_is_string(got) && json_string_length(got) == 0)) {
                char p[256];
                subpath(p, sizeof p, prefix, json_string_value(r));
                json_errs_add(errs, p, "is required");
                n++;
            }
        }
        if (props) {
            const char *k;
            json_t *val;
            json_object_foreach(v, k, val)
            {
                char p[256];
                subpath(p, sizeof p, prefix, k);
                json_t *ps = json_object_get(props, k);
                if (!ps) {
                    json_errs_add(errs, p, "unknown argument");
                    n++;
                    continue;
                }
                n += schema_validate(ps, val, p, errs);
            }
        }
    }
    return n;
}

/* v as the integer it is worth when schema's type is integer and v a real with a whole value
 * within 64 bits; else NULL. */
static json_t *whole(const json_t *schema, const json_t *v)
{
    const char *type = json_str(schema, "type");
    json_int_t n;
    if (!type || strcmp(type, "integer") != 0 || !json_is_real(v) || !json_whole(v, &n))
        return NULL;
    return json_integer(n);
}

void schema_coerce(const json_t *schema, json_t *v)
{
    json_t *m, *w;
    if (json_is_object(v)) {
        json_t *props = json_object_get(schema, "properties");
        const char *k;
        json_object_foreach(v, k, m)
        {
            json_t *ps = json_object_get(props, k);
            if (!ps) continue;
            if ((w = whole(ps, m)))
                json_object_set_new(v, k, w); /* the same key: the walk goes on */
            else
                schema_coerce(ps, m);
        }
    } else if (json_is_array(v)) {
        json_t *items = json_object_get(schema, "items");
        size_t i;
        json_array_foreach(items ? v : NULL, i, m)
        {
            if ((w = whole(items, m)))
                json_array_set_new(v, i, w);
            else
                schema_coerce(items, m);
        }
    }
}

void schema_apply_defaults(const json_t *schema, json_t *obj)
{
    if (!json_is_object(obj)) return;
    json_t *props = json_object_get(schema, "properties");
    const char *k;
    json_t *ps;
    json_object_foreach(props, k, ps)
    {
        json_t *cur = json_object_get(obj, k);
        json_t *def = json_object_get(ps, "default");
        if ((!cur || json_is_null(cur)) && def && !json_is_null(def))
            json_object_set_new(obj, k, json_deep_copy(def));
        else if (json_is_object(cur))
            schema_apply_defaults(ps, cur);
    }
}
