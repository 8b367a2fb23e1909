/*
 * fuzz_body: the validation path of JSON request bodies and task status lines. The input is
 * parsed as JSON; an object is taken apart the way the API does - each member as a possible
 * custom_args, the whole as a possible arguments schema, and as run arguments resolved
 * against a fixed task (the import_files shape of tasks.d). Whatever resolves must be an
 * object whose since is null or canonical UTC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "fuzz.h"
#include "logcap.h"
#include "model.h"
#include "schema.h"
#include "tasks.h"

static const char task_text[] =
    "{\"id\":\"import_files\",\"title\":\"Import new files\","
    "\"command\":[\"/bin/true\",\"--dir\",\"{{source}}\",\"{{limit}}\"],"
    "\"arguments\":{\"type\":\"object\",\"properties\":{"
    "\"since\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"source\":{\"type\":\"string\",\"default\":\"/tmp\",\"minLength\":1,\"maxLength\":64},"
    "\"pattern\":{\"type\":\"string\",\"default\":\"*\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"ratio\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"update\",\"insert-only\"],\"default\":\"update\"},"
    "\"dry\":{\"type\":\"boolean\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":8}},"
    "\"window\":{\"type\":\"object\",\"properties\":{"
    "\"from\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"days\":{\"type\":\"integer\",\"default\":1}},\"required\":[\"from\"]}},"
    "\"required\":[\"source\"]}}";

static struct task *fixed_task(void)
{
    static struct task *t;
    if (!t) {
        struct sk_err e = {0};
        if (tasks_parse(task_text, sizeof task_text - 1, "fixed.json", "/tasks", NULL, &t, &e))
            abort();
    }
    return t;
}

/* A resolved since is null or the canonical UTC text of some instant. */
static void check_since(const json_t *args)
{
    json_t *since = json_object_get(args, "since");
    FUZZ_CHECK(since != NULL);
    if (json_is_null(since)) return;
    FUZZ_CHECK(json_is_string(since));
    int64_t us;
    FUZZ_CHECK(time_parse(json_string_value(since), &us, NULL) == 0);
    char again[TIME_STR_MAX];
    time_format(us, again);
    FUZZ_CHECK(strcmp(again, json_string_value(since)) == 0);
}

static void resolve(const json_t *input, const json_t *custom, int64_t last)
{
    json_t *errs = json_array();
    json_t *out = args_resolve(fixed_task(), input, custom, last, errs);
    FUZZ_CHECK(out ? json_array_size(errs) == 0 : json_array_size(errs) > 0);
    if (out && !custom && !json_object_get(input, "custom_args")) {
        FUZZ_CHECK(json_is_object(out));
        FUZZ_CHECK(!json_object_get(out, "custom_args") && !json_object_get(out, "job_arg_schema"));
        check_since(out);
        /* resolved arguments are valid: validating them again finds nothing */
        json_t *again = json_array();
        json_t *copy = json_deep_copy(out);
        json_object_del(copy, "since");
        schema_validate(fixed_task()->arguments, copy, "args", again);
        FUZZ_CHECK(json_array_size(again) == 0);
        json_decref(copy);
        json_decref(again);
    }
    /* every error names a field and says something */
    size_t i;
    json_t *item;
    json_array_foreach(errs, i, item)
    {
        FUZZ_CHECK(json_is_string(json_object_get(item, "field")));
        FUZZ_CHECK(json_array_size(json_object_get(item, "messages")) > 0);
    }
    json_decref(out);
    json_decref(errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a task's status line is JSON from outside too */
    struct status_update u;
    struct sk_err se = {0};
    if (logcap_status_parse((const char *)data, size, &u, &se) == 0)
        status_update_release(&u);
    else
        FUZZ_CHECK(se.code == -EINVAL && se.msg[0] != '\0');

    struct sk_err e = {0};
    json_t *doc = json_parse((const char *)data, size, "body", &e);
    if (!doc) {
        FUZZ_CHECK(strncmp(e.msg, "malformed JSON at line ", 23) == 0);
        return 0;
    }
    /* sked's compact writer (responses, stored JSON) writes what jansson's dump does */
    char *ours = json_dump(doc);
    char *theirs = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    FUZZ_CHECK(theirs && strcmp(ours, theirs) == 0);
    free(ours);
    free(theirs);
    if (!json_is_object(doc)) {
        resolve(doc, NULL, NO_TIME); /* refused: args must be an object */
        json_decref(doc);
        return 0;
    }

    /* each member as the API's custom_args */
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        json_t *errs = json_array(), *custom = NULL;
        int rc = args_parse_custom(v, "custom_args", &custom, errs);
        FUZZ_CHECK(rc == 0 ? json_array_size(errs) == 0 : json_array_size(errs) == 1);
        FUZZ_CHECK(rc == 0 || custom == NULL);
        FUZZ_CHECK(!custom || (json_is_object(custom) && json_object_size(custom) > 0));
        if (custom) {
            json_t *cerrs = json_array();
            json_t *out = args_resolve(fixed_task(), doc, custom, NO_TIME, cerrs);
            FUZZ_CHECK(out && json_equal(out, custom)); /* verbatim */
            json_decref(out);
            json_decref(cerrs);
        }
        json_decref(custom);
        json_decref(errs);
    }

    /* the whole as an arguments schema */
    if (schema_check(doc, "arguments", &e) == 0) {
        json_t *obj = json_object();
        schema_apply_defaults(doc, obj);
        json_t *errs = json_array();
        schema_validate_partial(doc, obj, "args", errs);
        schema_validate(doc, doc, "args", errs);
        json_decref(errs);
        json_decref(obj);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && e.msg[0] != '\0');
    }

    /* and as run arguments, on a first run and after a success */
    resolve(doc, NULL, NO_TIME);
    resolve(doc, NULL, INT64_C(1709289000000000));
    json_decref(doc);
    return 0;
}
