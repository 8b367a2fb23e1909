/* args: run-argument resolution; see args.h. */
#include "args.h"
#include "builtin.h"

#include <errno.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "model.h"
#include "schema.h"
#include "secrets.h"

/* Refused with the member's name under field as a run or a fire is made: a Celery worker would
 * drop the message and leave the run to end "lost" long after; any other reader of the
 * documents that hold the arguments would fail on them. */
bool args_too_deep(const struct task *t, const json_t *args, const char *field, json_t *errs)
{
    if (!json_is_object(args)) return false;
    for (void *it = json_object_iter((json_t *)args); it;
         it = json_object_iter_next((json_t *)args, it)) {
        if (json_depth(json_object_iter_value(it), ARGS_MAX_DEPTH) <= ARGS_MAX_DEPTH - 1)
            continue;
        char *where = xasprintf("%s.%s", field, json_object_iter_key(it));
        json_errs_add(errs, where,
                      "nested deeper than %d levels (the arguments counting as one)%s; pass "
                      "such a value as JSON text in a string",
                      ARGS_MAX_DEPTH,
                      t && t->celery ? ": a Celery worker's Python json cannot decode the message"
                                     : "");
        free(where);
        return true;
    }
    return false;
}

int args_parse_custom(const json_t *v, const char *field, json_t **out, json_t *errs)
{
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        size_t i = 0;
        while (i < n && strchr(" \t\r\n", s[i])) i++;
        if (i == n) return 0;
        struct sk_err e = {0};
        json_t *parsed = json_parse(s, n, field, &e);
        if (!parsed) {
            json_errs_add(errs, field, "%s", e.msg);
            return -EINVAL;
        }
        if (!json_is_object(parsed)) {
            json_errs_add(errs, field, "must hold a JSON object, not %s", json_type_name(parsed));
            json_decref(parsed);
            return -EINVAL;
        }
        if (json_object_size(parsed) == 0) {
            json_decref(parsed);
            return 0;
        }
        *out = parsed;
        return 0;
    }
    if (json_is_object(v)) {
        if (json_object_size(v) > 0) *out = json_deep_copy(v);
        return 0;
    }
    json_errs_add(errs, field, "must be a JSON object or a string holding one, not %s",
                  json_type_name(v));
    return -EINVAL;
}

bool args_too_large(const json_t *v, const char *field, const char *what, json_t *errs)
{
    size_t n = v ? json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) : 0;
    if (n <= ARGS_MAX_BYTES) return false;
    json_errs_add(errs, field,
                  "%stoo large: %zu bytes as JSON, at most %d (256 KiB); pass bulk data as a "
                  "path or a URL that the task reads, not in the arguments",
                  what, n, ARGS_MAX_BYTES);
    return true;
}

bool args_custom(const json_t *input, const json_t *custom)
{
    if (custom) return true;
    json_t *errs = json_array(), *saved = NULL;
    args_parse_custom(json_object_get(input, "custom_args"), "args.custom_args", &saved, errs);
    bool yes = saved != NULL;
    json_decref(saved);
    json_decref(errs);
    return yes;
}

bool args_since_future(int64_t us, const char *shown, json_t *errs)
{
    if (us <= time_now_us()) return false;
    json_errs_add(errs, "args.since",
                  "%.40s is in the future: a run handles what changed since then, and nothing "
                  "has yet",
                  shown);
    return true;
}

bool args_since_given(const json_t *input)
{
    const json_t *since = json_object_get(input, "since");
    return since && !json_is_null(since) &&
           !(json_is_string(since) && json_string_length(since) == 0);
}

json_t *args_resolve(const struct task *t, const json_t *input, const json_t *custom,
                     int64_t last_success, json_t *errs)
{
    json_t *saved_custom = NULL;
    if (!custom && input) {
        if (args_parse_custom(json_object_get(input, "custom_args"), "args.custom_args",
                              &saved_custom, errs) != 0)
            return NULL;
        custom = saved_custom;
    }
    if (custom) {
        bool deep = args_too_deep(t, custom, saved_custom ? "args.custom_args" : "custom_args", errs);
        json_t *out = deep ? NULL : json_deep_copy(custom);
        json_decref(saved_custom);
        return out;
    }
    if (input && !json_is_object(input)) {
        json_errs_add(errs, "args", "must be an object, not %s", json_type_name(input));
        return NULL;
    }
    if (input && secret_ref(input)) { /* not checked as arguments: a "$secret" is none */
        json_errs_add(errs, "args", SECRETS_NOT_WHOLE);
        return NULL;
    }
    json_t *obj = input ? json_deep_copy(input) : json_object();
    json_object_del(obj, "custom_args");
    json_object_del(obj, "job_arg_schema");

    json_t *since = json_object_get(obj, "since");
    if (!args_since_given(obj)) {
        if (last_success != NO_TIME) {
            char ts[TIME_STR_MAX];
            time_format(last_success, ts);
            json_object_set_new(obj, "since", json_string(ts));
        } else {
            json_object_set_new(obj, "since", json_null());
        }
    } else if (!json_is_string(since)) {
        json_errs_add(errs, "args.since", "must be a date-time string, not %s",
                      json_type_name(since));
    } else {
        int64_t us;
        const char *why;
        if (time_parse(json_string_value(since), &us, &why) != 0) {
            json_errs_add(errs, "args.since", "not a valid date-time (%s)", why);
        } else {
            char ts[TIME_STR_MAX];
            time_format(us, ts);
            json_object_set_new(obj, "since", json_string(ts));
        }
    }

    if (t && t->arguments) {
        schema_apply_defaults(t->arguments, obj);
        schema_coerce(t->arguments, obj);
        /* since is sked's own argument: always present, checked above, whether or not the
         * schema declares it. */
        json_t *s = json_incref(json_object_get(obj, "since"));
        if (!task_has_arg(t, "since") || json_array_size(errs) > 0) json_object_del(obj, "since");
        schema_validate(t->arguments, obj, "args", errs);
        json_object_set_new(obj, "since", s);
    }
    /* what a builtin's schema cannot say; once the schema holds, so each fault is told once */
    if (t && t->builtin && json_array_size(errs) == 0) builtin_check(t->builtin, obj, false, errs);
    args_too_deep(t, obj, "args", errs);
    if (json_array_size(errs) > 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
