/*
 * test_args: what a run's task receives (src/args.h). The rules are easy to get subtly wrong
 * and a mistake reaches every task, so each one is pinned: custom_args replace everything
 * verbatim, since comes from the last success unless given, defaults fill gaps, and the result
 * is validated with field names a user can act on.
 */
#include "unit.h"

#include <errno.h>

#include "args.h"
#include "base/timeutil.h"
#include "model.h"

/* The import_files shape of tasks.d, plus a nested object, as the reference task. */
static const char *task_with_since =
    "{\"id\":\"imp\",\"title\":\"Import\",\"command\":[\"/bin/true\",\"{{source}}\"],"
    "\"arguments\":{\"type\":\"object\",\"properties\":{"
    "\"since\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"source\":{\"type\":\"string\",\"default\":\"/tmp\",\"minLength\":1},"
    "\"pattern\":{\"type\":\"string\",\"default\":\"*\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1},"
    "\"opts\":{\"type\":\"object\",\"properties\":{\"deep\":{\"type\":\"boolean\","
    "\"default\":false}}}},"
    "\"required\":[\"source\"]}}";

/* A schema that does not declare since. */
static const char *task_without_since =
    "{\"id\":\"plain\",\"title\":\"Plain\",\"command\":[\"/bin/true\"],"
    "\"arguments\":{\"type\":\"object\",\"properties\":{"
    "\"n\":{\"type\":\"integer\",\"default\":3}}}}";

static struct task *load(const char *text)
{
    struct task *t = NULL;
    struct sk_err e = {0};
    if (tasks_parse(text, strlen(text), "t.json", "/tasks", NULL, &t, &e) != 0)
        fail_msg("test task refused: %s", e.msg);
    return t;
}

/* 2024-03-01T10:30:00Z */
#define LAST_SUCCESS INT64_C(1709289000000000)
#define LAST_SUCCESS_STR "2024-03-01T10:30:00.000000+00:00"

/* Resolves input (a JSON literal or NULL) and returns the result; *errs receives the list. */
static json_t *resolve(const struct task *t, const char *input, const char *custom,
                       int64_t last, json_t **errs)
{
    json_t *in = input ? J(input) : NULL;
    json_t *cu = custom ? J(custom) : NULL;
    *errs = json_array();
    json_t *out = args_resolve(t, in, cu, last, *errs);
    /* a result and errors never come together */
    if (out) assert_int_equal(json_array_size(*errs), 0);
    else assert_true(json_array_size(*errs) > 0);
    /* the input is borrowed, never modified */
    if (in) {
        json_t *again = J(input);
        assert_true(json_equal(in, again));
        json_decref(again);
    }
    json_decref(in);
    json_decref(cu);
    return out;
}

static void test_custom_args_object_verbatim(void **state)
{
    struct task *t = *state;
    json_t *errs;
    /* verbatim: no since, no defaults, no validation (limit 0 and unknown keys pass) */
    json_t *out = resolve(t, "{\"source\":\"/ignored\",\"custom_args\":{\"limit\":0,\"x\":[1]}}",
                          NULL, LAST_SUCCESS, &errs);
    assert_json_eq(out, "{\"limit\":0,\"x\":[1]}");
    json_decref(out);
    json_decref(errs);

    /* an explicit custom argument wins over the input's */
    out = resolve(t, "{\"custom_args\":{\"a\":1}}", "{\"b\":2}", NO_TIME, &errs);
    assert_json_eq(out, "{\"b\":2}");
    json_decref(out);
    json_decref(errs);
    out = resolve(t, NULL, "{\"b\":2}", LAST_SUCCESS, &errs);
    assert_json_eq(out, "{\"b\":2}");
    json_decref(out);
    json_decref(errs);
}

static void test_custom_args_string_form(void **state)
{
    struct task *t = *state;
    json_t *errs;
    json_t *out = resolve(t, "{\"custom_args\":\" {\\\"files\\\": [\\\"a\\\", \\\"b\\\"]} \"}",
                          NULL, LAST_SUCCESS, &errs);
    assert_json_eq(out, "{\"files\":[\"a\",\"b\"]}");
    json_decref(out);
    json_decref(errs);
}

static void test_custom_args_empty_means_none(void **state)
{
    struct task *t = *state;
    static const char *inputs[] = {
        "{\"custom_args\":\"\"}",         "{\"custom_args\":\"  \\t\\r\\n \"}",
        "{\"custom_args\":{}}",           "{\"custom_args\":\"{}\"}",
        "{\"custom_args\":\" { } \"}",    "{\"custom_args\":null}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        json_t *errs;
        json_t *out = resolve(t, inputs[i], NULL, LAST_SUCCESS, &errs);
        /* the normal resolution happened, and custom_args itself is gone */
        assert_json_eq(out, "{\"since\":\"" LAST_SUCCESS_STR "\",\"source\":\"/tmp\","
                            "\"pattern\":\"*\"}");
        json_decref(out);
        json_decref(errs);
    }
}

static void test_custom_args_errors(void **state)
{
    struct task *t = *state;
    json_t *errs;
    assert_null(resolve(t, "{\"custom_args\":\"{\\\"a\\\": }\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.custom_args", "malformed JSON at line 1, column");
    assert_err_field(errs, "args.custom_args", "position");
    json_decref(errs);

    assert_null(resolve(t, "{\"custom_args\":\"[1,2]\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.custom_args", "must hold a JSON object, not array");
    json_decref(errs);

    assert_null(resolve(t, "{\"custom_args\":\"\\\"text\\\"\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.custom_args", "not string");
    json_decref(errs);

    assert_null(resolve(t, "{\"custom_args\":5}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.custom_args", "must be a JSON object or a string");
    json_decref(errs);

    assert_null(resolve(t, "{\"custom_args\":[{}]}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.custom_args", "not array");
    json_decref(errs);
}

static void test_parse_custom_direct(void **state)
{
    (void)state;
    json_t *errs = json_array(), *out = (json_t *)1;
    assert_int_equal(args_parse_custom(NULL, "custom_args", &out, errs), 0);
    assert_null(out);
    json_t *v = J("\"{\\n  \\\"a\\\": 1,\\n  \\\"b\\\": ]\\n}\"");
    assert_int_equal(args_parse_custom(v, "custom_args", &out, errs), -EINVAL);
    assert_null(out);
    /* the position points into the custom_args text, line 3 */
    assert_err_field(errs, "custom_args", "malformed JSON at line 3");
    json_decref(v);
    json_decref(errs);

    errs = json_array();
    v = J("{\"k\":{\"n\":[1]}}");
    assert_int_equal(args_parse_custom(v, "custom_args", &out, errs), 0);
    assert_json_eq(out, "{\"k\":{\"n\":[1]}}");
    assert_true(out != v); /* a copy the caller owns */
    json_decref(out);
    json_decref(v);
    v = J("true");
    assert_int_equal(args_parse_custom(v, "custom_args", &out, errs), -EINVAL);
    assert_err_field(errs, "custom_args", "not boolean");
    json_decref(v);
    json_decref(errs);
}

static void test_marker_removed(void **state)
{
    struct task *t = *state;
    json_t *errs;
    json_t *out = resolve(t, "{\"job_arg_schema\":{\"type\":\"object\"},\"source\":\"/data\"}",
                          NULL, NO_TIME, &errs);
    assert_json_eq(out, "{\"since\":null,\"source\":\"/data\",\"pattern\":\"*\"}");
    json_decref(out);
    json_decref(errs);
}

static void test_since_from_last_success(void **state)
{
    struct task *t = *state;
    static const char *inputs[] = {"{}", "{\"since\":null}", "{\"since\":\"\"}"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        json_t *errs;
        json_t *out = resolve(t, inputs[i], NULL, LAST_SUCCESS, &errs);
        assert_string_equal(json_string_value(json_object_get(out, "since")), LAST_SUCCESS_STR);
        json_decref(out);
        json_decref(errs);
        /* first run: present, and null */
        out = resolve(t, inputs[i], NULL, NO_TIME, &errs);
        json_t *since = json_object_get(out, "since");
        assert_non_null(since);
        assert_true(json_is_null(since));
        json_decref(out);
        json_decref(errs);
    }
    /* no input at all behaves as {} */
    json_t *errs;
    json_t *out = resolve(t, NULL, NULL, LAST_SUCCESS, &errs);
    assert_json_eq(out, "{\"since\":\"" LAST_SUCCESS_STR "\",\"source\":\"/tmp\","
                        "\"pattern\":\"*\"}");
    json_decref(out);
    json_decref(errs);
}

static void test_since_explicit_normalised(void **state)
{
    struct task *t = *state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"2024-03-01 10:30", "2024-03-01T10:30:00.000000+00:00"},
        {"2024-03-01", "2024-03-01T00:00:00.000000+00:00"},
        {"2024-03-01T12:30:00+02:00", "2024-03-01T10:30:00.000000+00:00"},
        {"2024-03-01T00:30:00-0130", "2024-03-01T02:00:00.000000+00:00"},
        {"2024-02-29T23:59:59.5Z", "2024-02-29T23:59:59.500000+00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"since\":\"%s\"}", cases[i].in);
        json_t *errs;
        /* an explicit since wins over the last success */
        json_t *out = resolve(t, in, NULL, LAST_SUCCESS, &errs);
        assert_string_equal(json_string_value(json_object_get(out, "since")), cases[i].want);
        json_decref(out);
        json_decref(errs);
    }
}

static void test_since_errors(void **state)
{
    struct task *t = *state;
    json_t *errs;
    assert_null(resolve(t, "{\"since\":\"yesterday\"}", NULL, LAST_SUCCESS, &errs));
    assert_err_field(errs, "args.since", "not a valid date-time");
    /* reported once, not again by the schema's own date-time check */
    assert_string_equal(unit_errs_msg(errs, "args.since"),
                        "not a valid date-time (expected YYYY-MM-DD HH:mm or an RFC 3339 "
                        "date-time)");
    json_decref(errs);

    assert_null(resolve(t, "{\"since\":\"2023-02-29\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.since", "no such date");
    json_decref(errs);

    assert_null(resolve(t, "{\"since\":1709289000}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.since", "must be a date-time string, not integer");
    json_decref(errs);

    /* a bad since and other errors are all reported together */
    assert_null(resolve(t, "{\"since\":\"x\",\"limit\":0}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.since", NULL);
    assert_err_field(errs, "args.limit", "must be at least 1");
    json_decref(errs);
}

static void test_defaults_and_validation(void **state)
{
    struct task *t = *state;
    json_t *errs;
    json_t *out = resolve(t, "{\"limit\":5,\"opts\":{}}", NULL, NO_TIME, &errs);
    assert_json_eq(out, "{\"since\":null,\"source\":\"/tmp\",\"pattern\":\"*\",\"limit\":5,"
                        "\"opts\":{\"deep\":false}}");
    json_decref(out);
    json_decref(errs);

    assert_null(resolve(t, "{\"limit\":0}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.limit", "must be at least 1");
    json_decref(errs);
    assert_null(resolve(t, "{\"limit\":\"5\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.limit", "must be of type integer, not string");
    json_decref(errs);
    assert_null(resolve(t, "{\"bogus\":true}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.bogus", "unknown argument");
    json_decref(errs);
    /* "" is missing for required, and a default only fills absent or null values */
    assert_null(resolve(t, "{\"source\":\"\"}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.source", "is required");
    json_decref(errs);
    out = resolve(t, "{\"source\":null}", NULL, NO_TIME, &errs);
    assert_string_equal(json_string_value(json_object_get(out, "source")), "/tmp");
    json_decref(out);
    json_decref(errs);
    assert_null(resolve(t, "{\"opts\":{\"deep\":1}}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.opts.deep", "must be of type boolean");
    json_decref(errs);
    assert_null(resolve(t, "[1]", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args", "must be an object, not array");
    json_decref(errs);
}

static void test_since_kept_when_undeclared(void **state)
{
    (void)state;
    struct task *t = load(task_without_since);
    json_t *errs;
    json_t *out = resolve(t, "{}", NULL, LAST_SUCCESS, &errs);
    /* since is sked's own argument: present though the schema does not know it, and not an
     * "unknown argument" */
    assert_json_eq(out, "{\"since\":\"" LAST_SUCCESS_STR "\",\"n\":3}");
    json_decref(out);
    json_decref(errs);
    out = resolve(t, "{\"since\":\"2024-03-01 10:30\"}", NULL, NO_TIME, &errs);
    assert_json_eq(out, "{\"since\":\"2024-03-01T10:30:00.000000+00:00\",\"n\":3}");
    json_decref(out);
    json_decref(errs);
    out = resolve(t, NULL, NULL, NO_TIME, &errs);
    assert_json_eq(out, "{\"since\":null,\"n\":3}");
    json_decref(out);
    json_decref(errs);
    /* other unknown keys are still refused */
    assert_null(resolve(t, "{\"m\":1}", NULL, NO_TIME, &errs));
    assert_err_field(errs, "args.m", "unknown argument");
    assert_null(unit_errs_msg(errs, "args.since"));
    json_decref(errs);
    task_free(t);
}

static void test_task_without_schema(void **state)
{
    (void)state;
    struct task *t = load("{\"id\":\"free\",\"title\":\"Free\",\"command\":[\"/bin/true\"]}");
    json_t *errs;
    /* no schema: anything goes, since is still resolved */
    json_t *out = resolve(t, "{\"anything\":[1,{\"x\":null}]}", NULL, LAST_SUCCESS, &errs);
    assert_json_eq(out, "{\"anything\":[1,{\"x\":null}],\"since\":\"" LAST_SUCCESS_STR "\"}");
    json_decref(out);
    json_decref(errs);
    task_free(t);
    /* nor does a missing task (an unknown job type) crash the resolution */
    out = resolve(NULL, "{\"a\":1}", NULL, NO_TIME, &errs);
    assert_json_eq(out, "{\"a\":1,\"since\":null}");
    json_decref(out);
    json_decref(errs);
}

/* v wrapped in levels - 1 arrays: levels levels of nesting when v is an empty array */
static json_t *wrapped(json_t *v, int levels)
{
    for (int i = 1; i < levels; i++) v = json_pack("[o]", v);
    return v;
}

static void test_nesting_refused_past_the_limit(void **state)
{
    struct task *t = *state;
    json_t *errs = json_array();
    /* the arguments object is level 1: a member may hold 99 more, not 100 */
    json_t *ok = json_pack("{s:i,s:o}", "x", 1, "k", wrapped(json_array(), ARGS_MAX_DEPTH - 1));
    assert_false(args_too_deep(t, ok, "args", errs));
    assert_int_equal(json_array_size(errs), 0);
    json_t *deep = json_pack("{s:i,s:O,s:o}", "x", 1, "k", json_object_get(ok, "k"), "d",
                             wrapped(json_object(), ARGS_MAX_DEPTH));
    assert_true(args_too_deep(t, deep, "custom_args", errs));
    const char *msg = unit_errs_msg(errs, "custom_args.d");
    assert_non_null(msg);
    assert_contains(msg, "nested deeper than 100 levels");
    assert_null(strstr(msg, "Celery")); /* not a Celery job type */
    /* past jansson's own parser limit, built by hand: walked no deeper than the limit */
    json_t *huge = json_pack("{s:o}", "h", wrapped(json_array(), 5000));
    assert_true(args_too_deep(NULL, huge, "args", errs));
    assert_non_null(unit_errs_msg(errs, "args.h"));
    size_t told = json_array_size(errs);
    json_t *three = json_integer(3); /* not an object: not arguments, nothing to say */
    assert_false(args_too_deep(t, three, "args", errs));
    assert_int_equal(json_array_size(errs), told);
    json_decref(three);
    /* resolving: the run's arguments, and custom ones in place of them */
    json_decref(errs);
    json_t *out = args_resolve(t, deep, NULL, NO_TIME, errs = json_array());
    assert_null(out);
    assert_non_null(unit_errs_msg(errs, "args.d"));
    json_decref(errs);
    out = args_resolve(t, NULL, deep, NO_TIME, errs = json_array());
    assert_null(out);
    assert_non_null(unit_errs_msg(errs, "custom_args.d"));
    json_decref(errs);
    json_decref(huge);
    json_decref(deep);
    json_decref(ok);
}

static int setup(void **state)
{
    *state = load(task_with_since);
    return 0;
}

static int teardown(void **state)
{
    task_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_args_object_verbatim),
        cmocka_unit_test(test_custom_args_string_form),
        cmocka_unit_test(test_custom_args_empty_means_none),
        cmocka_unit_test(test_custom_args_errors),
        cmocka_unit_test(test_parse_custom_direct),
        cmocka_unit_test(test_marker_removed),
        cmocka_unit_test(test_since_from_last_success),
        cmocka_unit_test(test_since_explicit_normalised),
        cmocka_unit_test(test_since_errors),
        cmocka_unit_test(test_defaults_and_validation),
        cmocka_unit_test(test_since_kept_when_undeclared),
        cmocka_unit_test(test_task_without_schema),
        cmocka_unit_test(test_nesting_refused_past_the_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
