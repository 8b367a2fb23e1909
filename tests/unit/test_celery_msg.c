/*
 * test_celery_msg: the messages sked exchanges with Celery workers. The task and revoke
 * envelopes must equal, byte for byte, the ones a Celery 5.2.6 worker on Redis was shown to take
 * (sked withdraws a queued task by LREM of its exact bytes); the parsers take results and
 * events in the shapes that worker wrote, and refuse hostile text with a reason, never crash.
 */
#include "unit.h"

#include <errno.h>
#include <math.h>

#include "base/json.h"
#include "celery_msg.h"

#define ADD_ID "53e51599-f313-4207-9078-82288e3719de"

/* the bytes LPUSHed for add(2, 3), 768 of them */
static const char add_envelope[] =
    "{\"body\":\"W1syLDNdLHt9LHsiY2FsbGJhY2tzIjpudWxsLCJlcnJiYWNrcyI6bnVsbCwiY2hhaW4iOm51bGwsIm"
    "Nob3JkIjpudWxsfV0=\",\"content-encoding\":\"utf-8\",\"content-type\":\"application/json\","
    "\"headers\":{\"lang\":\"py\",\"task\":\"demo_app.add\","
    "\"id\":\"53e51599-f313-4207-9078-82288e3719de\",\"shadow\":null,\"eta\":null,"
    "\"expires\":null,\"group\":null,\"group_index\":null,\"retries\":0,\"timelimit\":[null,"
    "null],\"root_id\":\"53e51599-f313-4207-9078-82288e3719de\",\"parent_id\":null,"
    "\"argsrepr\":\"[2, 3]\",\"kwargsrepr\":\"{}\",\"origin\":\"sked@localhost\","
    "\"ignore_result\":false},"
    "\"properties\":{\"correlation_id\":\"53e51599-f313-4207-9078-82288e3719de\","
    "\"reply_to\":\"\",\"delivery_mode\":2,\"delivery_info\":{\"exchange\":\"\","
    "\"routing_key\":\"celery\"},\"priority\":0,\"body_encoding\":\"base64\","
    "\"delivery_tag\":\"ac1432b4-cdb6-4abb-8fcb-e28d1268b5c4\"}}";

/* the bytes PUBLISHed to revoke a running sleepy(30) with a reply wanted, 722 of them */
static const char revoke_envelope[] =
    "{\"body\":\"eyJtZXRob2QiOiJyZXZva2UiLCJhcmd1bWVudHMiOnsidGFza19pZCI6ImQ2MDkzNGQxLWNkMDUtNG"
    "MwMy05NTllLTA2OWIzMmUwMDE3YiIsInRlcm1pbmF0ZSI6dHJ1ZSwic2lnbmFsIjoiU0lHVEVSTSJ9LCJkZXN0aW5h"
    "dGlvbiI6bnVsbCwicGF0dGVybiI6bnVsbCwibWF0Y2hlciI6bnVsbCwidGlja2V0IjoiNjQ0OTcwZDMtODY1My00YT"
    "QzLWI5ZTAtZTc3N2UzNTkzM2Y5IiwicmVwbHlfdG8iOnsiZXhjaGFuZ2UiOiJyZXBseS5jZWxlcnkucGlkYm94Iiwi"
    "cm91dGluZ19rZXkiOiI1Mzc1OWQ1OS1mOTIxLTQxMzMtYTU1YS01YTM4MzViYTBhMDAifX0=\","
    "\"content-encoding\":\"utf-8\",\"content-type\":\"application/json\","
    "\"headers\":{\"clock\":1,\"expires\":1795948036},\"properties\":{\"delivery_mode\":2,"
    "\"delivery_info\":{\"exchange\":\"celery.pidbox\",\"routing_key\":\"\"},\"priority\":0,"
    "\"body_encoding\":\"base64\",\"delivery_tag\":\"414a4caf-4266-4a01-9a21-659a36f439b0\"}}";

static const char meta_success[] =
    "{\"status\": \"SUCCESS\", \"result\": 5, \"traceback\": null, \"children\": [],"
    " \"date_done\": \"2026-11-29T10:26:15.488120\","
    " \"task_id\": \"53e51599-f313-4207-9078-82288e3719de\"}";
static const char meta_failure[] =
    "{\"status\": \"FAILURE\", \"result\": {\"exc_type\": \"ValueError\","
    " \"exc_message\": [\"demo failure: raw\"], \"exc_module\": \"builtins\"}, \"traceback\": "
    "\"Traceback (most recent call last):\\n  File \\\"/usr/lib/python3/dist-packages/celery/ap"
    "p/trace.py\\\", line 451, in trace_task\\n    R = retval = fun(*args,"
    " **kwargs)\\n  File \\\"/usr/lib/python3/dist-packages/celery/app/trace.py\\\", line 734,"
    " in __protected_call__\\n    return self.run(*args,"
    " **kwargs)\\n  File \\\"/tmp/celery-interop/demo_app.py\\\", line 37, in fail\\n    raise "
    "ValueError(f\\\"demo failure: {reason}\\\")\\nValueError: demo failure: raw\\n\","
    " \"children\": [], \"date_done\": \"2026-11-29T10:26:16.204511\","
    " \"task_id\": \"9a3a0b4e-7c1d-4f0a-9a55-2b1e4f6d8c70\"}";
static const char meta_revoked[] =
    "{\"status\": \"REVOKED\", \"result\": {\"exc_type\": \"TaskRevokedError\","
    " \"exc_message\": [\"terminated\"], \"exc_module\": \"celery.exceptions\"},"
    " \"traceback\": null, \"children\": [], \"date_done\": \"2026-11-29T10:26:21.730002\","
    " \"task_id\": \"d60934d1-cd05-4c03-959e-069b32e0017b\"}";
static const char meta_progress[] =
    "{\"status\": \"PROGRESS\", \"result\": {\"progress\": {\"done\": 1, \"total\": 4}},"
    " \"traceback\": null, \"children\": [], \"date_done\": \"2026-11-29T10:26:30.000001\","
    " \"task_id\": \"5f7e2c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b\"}";

/* as a prefork worker publishes them on /0.celeryev/task.multi: a base64 list */
static const char events_multi[] =
    "{\"body\": \"W3siaG9zdG5hbWUiOiAiZGVtb0Bsb2NhbGhvc3QiLCAidXRjb2Zmc2V0IjogMCwgInBpZCI6IDQzN"
    "TYsICJjbG9jayI6IDMsICJ1dWlkIjogIjUzZTUxNTk5LWYzMTMtNDIwNy05MDc4LTgyMjg4ZTM3MTlkZSIsICJ0aW1"
    "lc3RhbXAiOiAxNzk1OTQ3OTc1LjQ4ODAxOSwgInR5cGUiOiAidGFzay1zdGFydGVkIn0sIHsiaG9zdG5hbWUiOiAiZ"
    "GVtb0Bsb2NhbGhvc3QiLCAidXRjb2Zmc2V0IjogMCwgInBpZCI6IDQzNTYsICJjbG9jayI6IDQsICJ1dWlkIjogIjU"
    "zZTUxNTk5LWYzMTMtNDIwNy05MDc4LTgyMjg4ZTM3MTlkZSIsICJyZXN1bHQiOiAiNSIsICJydW50aW1lIjogMC4wM"
    "DQ2LCAidGltZXN0YW1wIjogMTc5NTk0Nzk3NS40OTI2MDcsICJ0eXBlIjogInRhc2stc3VjY2VlZGVkIn1d\","
    " \"content-encoding\": \"utf-8\", \"content-type\": \"application/json\","
    " \"headers\": {\"hostname\": \"demo@localhost\"}, \"properties\": {\"delivery_mode\": 2,"
    " \"delivery_info\": {\"exchange\": \"celeryev\", \"routing_key\": \"task.multi\"},"
    " \"priority\": 0, \"body_encoding\": \"base64\","
    " \"delivery_tag\": \"0d5a6a3c-5f0e-4d55-9bd3-3e6a1b0f7c11\"}}";
static const char events_heartbeat[] =
    "{\"body\": \"eyJob3N0bmFtZSI6ICJkZW1vQGxvY2FsaG9zdCIsICJ1dGNvZmZzZXQiOiAwLCAicGlkIjogNDM1M"
    "CwgImNsb2NrIjogMTIsICJmcmVxIjogMi4wLCAiYWN0aXZlIjogMCwgInByb2Nlc3NlZCI6IDEsICJsb2FkYXZnIjo"
    "gWzAuMSwgMC4yLCAwLjNdLCAic3dfaWRlbnQiOiAicHktY2VsZXJ5IiwgInN3X3ZlciI6ICI1LjIuNiIsICJzd19ze"
    "XMiOiAiTGludXgiLCAidGltZXN0YW1wIjogMTc5NTk0Nzk3Ny4xMDMsICJ0eXBlIjogIndvcmtlci1oZWFydGJlYXQ"
    "ifQ==\", \"content-encoding\": \"utf-8\", \"content-type\": \"application/json\","
    " \"headers\": {\"hostname\": \"demo@localhost\"}, \"properties\": {\"delivery_mode\": 2,"
    " \"delivery_info\": {\"exchange\": \"celeryev\", \"routing_key\": \"worker.heartbeat\"},"
    " \"priority\": 0, \"body_encoding\": \"base64\","
    " \"delivery_tag\": \"7b1f1e0e-2f4c-4d8a-8a51-1b7c2f6f9e02\"}}";
/* a body sent verbatim, without body_encoding */
static const char events_plain[] =
    "{\"body\": \"{\\\"hostname\\\": \\\"demo@localhost\\\", \\\"timestamp\\\": 1795947980.5,"
    " \\\"type\\\": \\\"worker-online\\\", \\\"pid\\\": 4350}\","
    " \"content-encoding\": \"utf-8\", \"content-type\": \"application/json\","
    " \"headers\": {\"hostname\": \"demo@localhost\"}, \"properties\": {\"delivery_mode\": 2,"
    " \"delivery_info\": {\"exchange\": \"celeryev\", \"routing_key\": \"worker.online\"},"
    " \"priority\": 0, \"delivery_tag\": \"1c2d3e4f-0000-4000-8000-000000000001\"}}";

static void assert_near(double got, double want)
{
    double d = got - want;
    if (d > 1e-5 || d < -1e-5) fail_msg("expected %.6f, got %.6f", want, got);
}

static struct celery_task_msg add_msg(json_t *args, json_t *kwargs)
{
    return (struct celery_task_msg){.id = ADD_ID,
                                    .task = "demo_app.add",
                                    .queue = "celery",
                                    .args = args,
                                    .kwargs = kwargs,
                                    .origin = "sked@localhost",
                                    .delivery_tag = "ac1432b4-cdb6-4abb-8fcb-e28d1268b5c4"};
}

/* The headers of an envelope celery_task_envelope built, for looking at single members. */
static json_t *headers_of(const char *text)
{
    json_t *env = J(text);
    json_t *h = json_incref(json_object_get(env, "headers"));
    json_decref(env);
    return h;
}

/* ---- building ---- */

static void test_task_envelope_exact(void **state)
{
    (void)state;
    assert_int_equal(strlen(add_envelope), 768);
    json_t *args = J("[2, 3]"), *kwargs = J("{}");
    struct celery_task_msg m = add_msg(args, kwargs);
    struct sk_err e = {0};
    char *text = celery_task_envelope(&m, &e);
    assert_non_null(text);
    assert_string_equal(text, add_envelope);
    assert_int_equal(celery_envelope_check(text, strlen(text), &e), 0);
    json_t *body = celery_envelope_body(text, strlen(text), &e);
    assert_json_eq(body, "[[2,3],{},{\"callbacks\":null,\"errbacks\":null,\"chain\":null,"
                         "\"chord\":null}]");
    json_decref(body);
    free(text);
    json_decref(args);
    json_decref(kwargs);
}

static void test_pidbox_envelope_exact(void **state)
{
    (void)state;
    assert_int_equal(strlen(revoke_envelope), 722);
    json_t *a = J("{\"task_id\":\"d60934d1-cd05-4c03-959e-069b32e0017b\",\"terminate\":true,"
                  "\"signal\":\"SIGTERM\"}");
    char *text = celery_pidbox_envelope("revoke", a, "644970d3-8653-4a43-b9e0-e777e35933f9",
                                        "53759d59-f921-4133-a55a-5a3835ba0a00", 1, 1795948036,
                                        "414a4caf-4266-4a01-9a21-659a36f439b0");
    assert_non_null(text);
    assert_string_equal(text, revoke_envelope);
    free(text);

    /* no reply wanted: no ticket, no reply_to */
    struct sk_err e = {0};
    text = celery_pidbox_envelope("revoke", a, NULL, NULL, 7, 0, "t-1");
    assert_non_null(text);
    assert_int_equal(celery_envelope_check(text, strlen(text), &e), 0);
    assert_contains(text, "\"headers\":{\"clock\":7,\"expires\":0}");
    json_t *body = celery_envelope_body(text, strlen(text), &e);
    char *d = json_dumps(body, JSON_COMPACT);
    assert_string_equal(d, "{\"method\":\"revoke\",\"arguments\":{\"task_id\":"
                           "\"d60934d1-cd05-4c03-959e-069b32e0017b\",\"terminate\":true,"
                           "\"signal\":\"SIGTERM\"},\"destination\":null,\"pattern\":null,"
                           "\"matcher\":null}");
    free(d);
    json_decref(body);
    free(text);

    /* enable_events without arguments */
    text = celery_pidbox_envelope("enable_events", NULL, NULL, NULL, 2, 0, "t-2");
    body = celery_envelope_body(text, strlen(text), &e);
    assert_json_eq(body, "{\"method\":\"enable_events\",\"arguments\":{},\"destination\":null,"
                         "\"pattern\":null,\"matcher\":null}");
    json_decref(body);
    free(text);

    /* refused inputs */
    json_t *arr = J("[]");
    assert_null(celery_pidbox_envelope(NULL, a, NULL, NULL, 1, 0, "t"));
    assert_null(celery_pidbox_envelope("", a, NULL, NULL, 1, 0, "t"));
    assert_null(celery_pidbox_envelope("revoke", arr, NULL, NULL, 1, 0, "t"));
    assert_null(celery_pidbox_envelope("revoke", a, NULL, NULL, 1, 0, NULL));
    assert_null(celery_pidbox_envelope("revoke", a, "tick\net", NULL, 1, 0, "t"));
    assert_null(celery_pidbox_envelope("revoke", a, NULL, "", 1, 0, "t"));
    json_decref(arr);
    json_decref(a);
}

static void test_task_envelope_limits_and_expires(void **state)
{
    (void)state;
    json_t *args = J("[]"), *kwargs = J("{\"reason\":\"raw\"}");
    struct celery_task_msg m = add_msg(args, kwargs);
    m.hard_limit = 3;
    m.soft_limit = 1;
    m.expires_us = INT64_C(1795948036123456);
    struct sk_err e = {0};
    char *text = celery_task_envelope(&m, &e);
    assert_non_null(text);
    json_t *h = headers_of(text);
    assert_json_eq(json_object_get(h, "timelimit"), "[3, 1]");
    assert_contains(text, "\"timelimit\":[3,1]");
    assert_string_equal(json_str(h, "expires"), "2026-11-29T10:27:16.123456+00:00");
    assert_string_equal(json_str(h, "kwargsrepr"), "{\"reason\": \"raw\"}");
    assert_string_equal(json_str(h, "argsrepr"), "[]");
    json_decref(h);
    free(text);

    /* whole seconds still carry microseconds; a fraction of a second stays a real */
    m.hard_limit = 2.5;
    m.soft_limit = 0;
    m.expires_us = INT64_C(1795948036000000);
    text = celery_task_envelope(&m, &e);
    assert_contains(text, "\"expires\":\"2026-11-29T10:27:16.000000+00:00\"");
    assert_contains(text, "\"timelimit\":[2.5,null]");
    free(text);
    m.hard_limit = -1;
    m.soft_limit = 30;
    m.expires_us = 1;
    text = celery_task_envelope(&m, &e);
    assert_contains(text, "\"expires\":\"1970-01-01T00:00:00.000001+00:00\"");
    assert_contains(text, "\"timelimit\":[null,30]");
    free(text);
    json_decref(args);
    json_decref(kwargs);
}

static void expect_bad(const struct celery_task_msg *m, const char *field, const char *needle)
{
    struct sk_err e = {0};
    char *text = celery_task_envelope(m, &e);
    if (text) fail_msg("expected a refusal for %s, got %s", field, text);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.field, field);
    assert_contains(e.msg, needle);
}

static void test_task_envelope_bad_inputs(void **state)
{
    (void)state;
    json_t *args = J("[1]"), *kwargs = J("{}"), *obj = J("{}"), *arr = J("[]");
    struct celery_task_msg m;
    expect_bad(NULL, "message", "missing");
#define BAD(member, value, field, needle)                                                      \
    do {                                                                                       \
        m = add_msg(args, kwargs);                                                             \
        m.member = value;                                                                      \
        expect_bad(&m, field, needle);                                                         \
    } while (0)
    BAD(id, "", "id", "empty");
    BAD(id, NULL, "id", "empty");
    BAD(id, ADD_ID "\r\n", "id", "control characters");
    BAD(task, "", "task", "empty");
    BAD(task, "app.\x01tasks", "task", "control characters");
    BAD(task, "app.t\xffsks", "task", "UTF-8");
    BAD(queue, "", "queue", "empty");
    BAD(queue, "celery\x06\x16" "3", "queue", "control characters");
    BAD(queue, "cel\x7f", "queue", "control characters");
    BAD(origin, NULL, "origin", "empty");
    BAD(delivery_tag, "", "delivery_tag", "empty");
    BAD(args, obj, "args", "must be an array, not object");
    BAD(args, NULL, "args", "must be an array, not missing");
    BAD(kwargs, arr, "kwargs", "must be an object, not array");
    BAD(kwargs, NULL, "kwargs", "must be an object");
    BAD(hard_limit, NAN, "timelimit", "finite");
    BAD(soft_limit, INFINITY, "timelimit", "finite");
    BAD(expires_us, -1, "expires", "between");
    BAD(expires_us, INT64_C(253402300800000000), "expires", "between");
#undef BAD
    /* the last instant with a four-digit year is fine */
    m = add_msg(args, kwargs);
    m.expires_us = INT64_C(253402300799999999);
    char *text = celery_task_envelope(&m, NULL);
    assert_contains(text, "\"9999-12-31T23:59:59.999999+00:00\"");
    free(text);
    /* non-ASCII names are text like any other */
    m.task = "app.tâches.ajouter";
    text = celery_task_envelope(&m, NULL);
    assert_contains(text, "\"task\":\"app.tâches.ajouter\"");
    free(text);
    json_decref(args);
    json_decref(kwargs);
    json_decref(obj);
    json_decref(arr);
}

/* v wrapped in levels - 1 arrays: levels levels of nesting when v is an empty array */
static json_t *wrapped(json_t *v, int levels)
{
    for (int i = 1; i < levels; i++) v = json_pack("[o]", v);
    return v;
}

static void test_nesting(void **state)
{
    (void)state;
    json_t *scalar = J("3"), *flat = J("{\"a\": 1, \"b\": [1, 2]}"), *mixed = J("[{\"a\": [[]]}, 1]");
    assert_int_equal(json_depth(scalar, 100), 0);
    assert_int_equal(json_depth(flat, 100), 2);
    assert_int_equal(json_depth(mixed, 100), 4);
    assert_int_equal(json_depth(mixed, 2), 3); /* counted up to the limit only */
    /* the arguments object is level 1: a member may hold 99 more, not 100 */
    json_t *ok = json_pack("{s:i,s:o}", "x", 1, "k", wrapped(json_array(), 99));
    json_t *deep = json_pack("{s:i,s:o,s:o}", "x", 1, "k", wrapped(json_array(), 99), "d",
                             wrapped(json_object(), 100));
    assert_int_equal(json_depth(ok, 1000), CELERY_ARGS_MAX_DEPTH);
    /* a message is refused as a run's arguments would be: kwargs the run's object, and
     * positional arguments its members */
    struct celery_task_msg m = add_msg(json_object_get(deep, "k"), ok);
    struct sk_err e = {0};
    char *text = celery_task_envelope(&m, &e);
    assert_non_null(text); /* [[...99 levels]]: 100 */
    free(text);
    m.kwargs = deep;
    assert_null(celery_task_envelope(&m, &e));
    assert_string_equal(e.field, "kwargs");
    assert_contains(e.msg, "nested deeper than 100 levels");
    json_t *args = json_pack("[O]", json_object_get(deep, "d"));
    m = add_msg(args, ok);
    assert_null(celery_task_envelope(&m, &e));
    assert_string_equal(e.field, "args");
    json_decref(args);
    json_decref(deep);
    json_decref(ok);
    json_decref(mixed);
    json_decref(flat);
    json_decref(scalar);
}

/* args holding one string, sized so that the repr "[\"" + pad + tail + "\"]" puts tail's
 * bytes around the cut at CELERY_REPR_MAX. */
static char *repr_of_padded(size_t pad, const char *tail)
{
    char *s = malloc(pad + strlen(tail) + 1);
    memset(s, 'a', pad);
    strcpy(s + pad, tail);
    json_t *v = json_pack("[s]", s);
    char *r = celery_repr(v);
    json_decref(v);
    free(s);
    return r;
}

static void test_repr(void **state)
{
    (void)state;
    json_t *v = J("{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null, \"d\": true}, \"e\": []}");
    char *r = celery_repr(v);
    assert_string_equal(r,
                        "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null, \"d\": true}, \"e\": []}");
    free(r);
    json_decref(v);
    r = celery_repr(NULL);
    assert_string_equal(r, "null");
    free(r);

    /* exactly CELERY_REPR_MAX bytes: kept whole */
    r = repr_of_padded(CELERY_REPR_MAX - 4, "");
    assert_int_equal(strlen(r), CELERY_REPR_MAX);
    assert_string_equal(r + CELERY_REPR_MAX - 2, "\"]");
    free(r);
    /* one more: cut at the limit, "..." appended */
    r = repr_of_padded(CELERY_REPR_MAX - 2, "");
    assert_int_equal(strlen(r), CELERY_REPR_MAX + 3);
    assert_string_equal(r + CELERY_REPR_MAX - 1, "a...");
    free(r);
    /* a 2-byte character across the limit is dropped whole */
    r = repr_of_padded(CELERY_REPR_MAX - 3, "\xc3\xa9xyz");
    assert_int_equal(strlen(r), CELERY_REPR_MAX - 1 + 3);
    assert_string_equal(r + CELERY_REPR_MAX - 2, "a...");
    free(r);
    /* a 3-byte character whose last byte would be the first one cut off */
    r = repr_of_padded(CELERY_REPR_MAX - 4, "\xe2\x82\xac" "xyz");
    assert_int_equal(strlen(r), CELERY_REPR_MAX - 2 + 3);
    free(r);
    /* a 4-byte character ending exactly at the limit is kept */
    r = repr_of_padded(CELERY_REPR_MAX - 6, "\xf0\x9f\x98\x80" "xyz");
    assert_int_equal(strlen(r), CELERY_REPR_MAX + 3);
    assert_string_equal(r + CELERY_REPR_MAX - 4, "\xf0\x9f\x98\x80...");
    free(r);

    /* in the envelope: argsrepr cut, the body untouched */
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *args = json_pack("[s]", big), *kwargs = J("{}");
    struct celery_task_msg m = add_msg(args, kwargs);
    char *text = celery_task_envelope(&m, NULL);
    json_t *h = headers_of(text);
    assert_int_equal(strlen(json_str(h, "argsrepr")), CELERY_REPR_MAX + 3);
    json_t *body = celery_envelope_body(text, strlen(text), NULL);
    assert_string_equal(json_string_value(json_array_get(json_array_get(body, 0), 0)), big);
    json_decref(body);
    json_decref(h);
    free(text);
    json_decref(args);
    json_decref(kwargs);
}

/* ---- checking envelopes ---- */

/* The add envelope with one member changed: path names an object ("" the envelope itself),
 * value is JSON text, or NULL to delete key. Caller frees. */
static char *variant(const char *path, const char *key, const char *value)
{
    json_t *env = J(add_envelope), *o = env;
    char *p = strdup(path), *save = NULL;
    for (char *part = strtok_r(p, ".", &save); part; part = strtok_r(NULL, ".", &save))
        o = json_object_get(o, part);
    free(p);
    if (value) json_object_set_new(o, key, J(value));
    else json_object_del(o, key);
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    return text;
}

static void expect_check_fails(char *text, const char *needle)
{
    struct sk_err e = {0};
    int rc = celery_envelope_check(text, strlen(text), &e);
    if (rc == 0) fail_msg("accepted: %s", text);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e.field, "envelope");
    assert_contains(e.msg, needle);
    free(text);
}

static void test_envelope_check(void **state)
{
    (void)state;
    struct sk_err e = {0};
    assert_int_equal(celery_envelope_check(add_envelope, strlen(add_envelope), &e), 0);
    assert_int_equal(celery_envelope_check(revoke_envelope, strlen(revoke_envelope), &e), 0);
    assert_int_equal(celery_envelope_check(events_plain, strlen(events_plain), &e), 0);
    assert_int_equal(celery_envelope_check(events_multi, strlen(events_multi), &e), 0);
    /* a plain body, as a worker took add(20, 22): no body_encoding */
    char *plain = variant("properties", "body_encoding", NULL);
    json_t *env = J(plain);
    json_object_set_new(env, "body", json_string("[[20, 22], {}, null]"));
    free(plain);
    plain = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    assert_int_equal(celery_envelope_check(plain, strlen(plain), &e), 0);
    json_t *body = celery_envelope_body(plain, strlen(plain), &e);
    assert_json_eq(body, "[[20, 22], {}, null]");
    json_decref(body);
    free(plain);
    /* a length cuts the text, which need not end in NUL */
    assert_int_not_equal(celery_envelope_check(add_envelope, 767, &e), 0);
    assert_int_not_equal(celery_envelope_check(NULL, 0, &e), 0);

    expect_check_fails(strdup("{\"body\": "), "malformed JSON");
    expect_check_fails(strdup(""), "malformed JSON");
    expect_check_fails(strdup("[1, 2]"), "must be a JSON object, not array");
    expect_check_fails(variant("", "body", NULL), "body is missing");
    expect_check_fails(variant("", "body", "42"), "body must be a string, not integer");
    expect_check_fails(variant("", "content-type", "\"application/x-yaml\""),
                       "content-type must be \"application/json\"");
    expect_check_fails(variant("", "content-type", NULL), "content-type is missing");
    expect_check_fails(variant("", "content-encoding", "\"binary\""), "content-encoding");
    expect_check_fails(variant("", "headers", "null"), "headers must be an object, not null");
    expect_check_fails(variant("", "headers", NULL), "headers is missing");
    expect_check_fails(variant("", "properties", "[]"), "properties must be an object");
    expect_check_fails(variant("properties", "delivery_tag", NULL),
                       "properties.delivery_tag is missing");
    expect_check_fails(variant("properties", "delivery_tag", "7"),
                       "properties.delivery_tag must be a string");
    expect_check_fails(variant("properties", "delivery_info", NULL),
                       "properties.delivery_info is missing");
    expect_check_fails(variant("properties", "delivery_info", "\"celery\""),
                       "properties.delivery_info must be an object, not string");
    expect_check_fails(variant("properties.delivery_info", "exchange", NULL),
                       "properties.delivery_info.exchange is missing");
    expect_check_fails(variant("properties.delivery_info", "exchange", "null"),
                       "properties.delivery_info.exchange must be a string, not null");
    expect_check_fails(variant("properties.delivery_info", "routing_key", "[\"celery\"]"),
                       "properties.delivery_info.routing_key must be a string, not array");
    expect_check_fails(variant("properties", "body_encoding", "\"gzip\""),
                       "properties.body_encoding");
    expect_check_fails(variant("properties", "body_encoding", "null"),
                       "properties.body_encoding");
    /* base64: foreign characters, missing padding, whitespace, a body that is not JSON */
    expect_check_fails(variant("", "body", "\"W1syLDNdLHt9!!\""), "base64");
    expect_check_fails(variant("", "body", "\"W1syLDNdLHt9XQ\""), "base64");
    expect_check_fails(variant("", "body", "\"W1syLDNd LHt9XQ==\""), "base64");
    expect_check_fails(variant("", "body", "\"W1syLDNdLHt9XQ==\\n\""), "base64");
    expect_check_fails(variant("", "body", "\"bm9wZQ==\""), "body is not JSON");
    expect_check_fails(variant("", "body", "\"\""), "body is not JSON");
    /* a task message's body is [args, kwargs, embed] */
    expect_check_fails(variant("", "body", "\"WzFd\""), "body of a task message"); /* [1] */
    expect_check_fails(variant("", "body", "\"e30=\""), "body of a task message"); /* {} */
    /* [[], [], null] and [[], {}, 1] */
    expect_check_fails(variant("", "body", "\"W1tdLCBbXSwgbnVsbF0=\""), "body of a task message");
    expect_check_fails(variant("", "body", "\"W1tdLCB7fSwgMV0=\""), "body of a task message");
    expect_check_fails(variant("headers", "id", NULL), "headers.task and headers.id");
    expect_check_fails(variant("headers", "task", "5"), "headers.task and headers.id");
    /* without a task header the body may be any JSON (control messages, events) */
    char *other = variant("", "headers", "{}");
    env = J(other);
    json_object_set_new(env, "body", json_string("e30="));
    free(other);
    other = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    assert_int_equal(celery_envelope_check(other, strlen(other), &e), 0);
    free(other);
    /* without body_encoding the body is the JSON text itself */
    char *raw = variant("properties", "body_encoding", NULL);
    expect_check_fails(raw, "body is not JSON");
    env = J(add_envelope);
    json_object_del(json_object_get(env, "properties"), "body_encoding");
    json_object_set_new(env, "body", json_string("[[5, 5], {}, nul"));
    raw = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    expect_check_fails(raw, "body is not JSON");
}

static void test_envelope_body_hostile(void **state)
{
    (void)state;
    struct sk_err e = {0};
    static const char *const bad[] = {
        "",
        "null",
        "{}",
        "{\"body\": 1}",
        "{\"body\": \"e30=\", \"properties\": 5}",
        "{\"body\": \"e30=\", \"properties\": {\"body_encoding\": \"zlib\"}}",
        "{\"body\": \"e30\", \"properties\": {\"body_encoding\": \"base64\"}}",
        ("{\"body\": \"e30=\", \"content-type\": \"application/x-python-serialize\", "
         "\"properties\": {\"body_encoding\": \"base64\"}}"),
        "{\"body\": \"AA==\", \"properties\": {\"body_encoding\": \"base64\"}}",
        "{\"body\": \"/w==\", \"properties\": {\"body_encoding\": \"base64\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sk_err_clear(&e);
        json_t *v = celery_envelope_body(bad[i], strlen(bad[i]), &e);
        if (v) fail_msg("accepted %s", bad[i]);
        assert_int_equal(e.code, -EINVAL);
        assert_string_equal(e.field, "envelope");
    }
    /* lenient where kombu is: no headers or delivery info needed to read a body */
    const char *min = "{\"body\": \"{\\\"a\\\": 1}\"}";
    json_t *v = celery_envelope_body(min, strlen(min), &e);
    assert_json_eq(v, "{\"a\": 1}");
    json_decref(v);
}

/* ---- results ---- */

static void test_meta_success(void **state)
{
    (void)state;
    struct celery_meta m;
    struct sk_err e = {0};
    assert_int_equal(celery_meta_parse(meta_success, strlen(meta_success), &m, &e), 0);
    assert_string_equal(m.status, "SUCCESS");
    assert_string_equal(m.task_id, ADD_ID);
    assert_json_eq(m.result, "5");
    assert_null(m.traceback);
    assert_null(m.exc_type);
    assert_null(m.exc_message);
    assert_near(m.date_done, 1795947975.48812);
    celery_meta_free(&m);
    assert_null(m.status);
    celery_meta_free(&m); /* twice is harmless */
}

static void test_meta_failure_revoked_custom(void **state)
{
    (void)state;
    struct celery_meta m;
    struct sk_err e = {0};
    assert_int_equal(celery_meta_parse(meta_failure, strlen(meta_failure), &m, &e), 0);
    assert_string_equal(m.status, "FAILURE");
    assert_string_equal(m.exc_type, "ValueError");
    assert_string_equal(m.exc_message, "demo failure: raw");
    assert_contains(m.traceback, "Traceback (most recent call last):\n");
    assert_contains(m.traceback, "ValueError: demo failure: raw\n");
    assert_string_equal(json_str(m.result, "exc_module"), "builtins");
    assert_near(m.date_done, 1795947976.204511);
    celery_meta_free(&m);

    assert_int_equal(celery_meta_parse(meta_revoked, strlen(meta_revoked), &m, &e), 0);
    assert_string_equal(m.status, "REVOKED");
    assert_string_equal(m.task_id, "d60934d1-cd05-4c03-959e-069b32e0017b");
    assert_string_equal(m.exc_type, "TaskRevokedError");
    assert_string_equal(m.exc_message, "terminated");
    assert_null(m.traceback);
    celery_meta_free(&m);

    assert_int_equal(celery_meta_parse(meta_progress, strlen(meta_progress), &m, &e), 0);
    assert_string_equal(m.status, "PROGRESS");
    assert_json_eq(m.result, "{\"progress\": {\"done\": 1, \"total\": 4}}");
    assert_null(m.exc_type); /* only exception states carry an exception */
    assert_near(m.date_done, 1795947990.000001);
    celery_meta_free(&m);

    /* exc_message: items joined, non-strings as JSON; a string as-is; other shapes as JSON */
    static const struct {
        const char *text, *type, *message;
    } cases[] = {
        {"{\"status\":\"RETRY\",\"result\":{\"exc_type\":\"Retry\",\"exc_message\":"
         "[\"again\",3,null,{\"a\":[1]}]}}",
         "Retry", "again, 3, null, {\"a\":[1]}"},
        {"{\"status\":\"FAILURE\",\"result\":{\"exc_type\":\"E\",\"exc_message\":\"plain\"}}", "E",
         "plain"},
        {"{\"status\":\"FAILURE\",\"result\":{\"exc_type\":\"E\",\"exc_message\":{\"k\":1}}}", "E",
         "{\"k\":1}"},
        {"{\"status\":\"FAILURE\",\"result\":{\"exc_type\":\"E\",\"exc_message\":[]}}", "E", ""},
        {"{\"status\":\"FAILURE\",\"result\":{\"exc_type\":\"E\"}}", "E", NULL},
        {"{\"status\":\"FAILURE\",\"result\":{\"exc_type\":5,\"exc_message\":[\"x\"]}}", NULL,
         NULL},
        {"{\"status\":\"FAILURE\",\"result\":\"boom\"}", NULL, NULL},
        {"{\"status\":\"FAILURE\"}", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(celery_meta_parse(cases[i].text, strlen(cases[i].text), &m, &e), 0);
        if (cases[i].type) assert_string_equal(m.exc_type, cases[i].type);
        else assert_null(m.exc_type);
        if (cases[i].message) assert_string_equal(m.exc_message, cases[i].message);
        else assert_null(m.exc_message);
        celery_meta_free(&m);
    }
}

static void expect_meta_fails(const char *text, const char *needle)
{
    struct celery_meta m;
    struct sk_err e = {0};
    int rc = celery_meta_parse(text, strlen(text), &m, &e);
    if (rc == 0) fail_msg("accepted %s", text);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e.field, "meta");
    assert_contains(e.msg, needle);
    assert_null(m.status);
    assert_null(m.result);
}

static void test_meta_hostile(void **state)
{
    (void)state;
    expect_meta_fails("", "malformed JSON");
    expect_meta_fails("{\"status\": \"SUCCESS\"", "malformed JSON");
    expect_meta_fails("\"SUCCESS\"", "must be a JSON object, not string");
    expect_meta_fails("{\"result\": 5}", "status is missing");
    expect_meta_fails("{\"status\": 1}", "status must be a string, not integer");
    expect_meta_fails("{\"status\": null}", "status must be a string, not null");
    expect_meta_fails("{\"status\": \"\"}", "status is empty");
    expect_meta_fails("{\"status\": \"SUCCESS\", \"status\": \"FAILURE\"}", "duplicate");
    expect_meta_fails("{\"status\": \"SUCCESS\", \"result\": NaNa}", "malformed JSON");
    expect_meta_fails("{\"status\": \"SUCCESS\", \"result\": Inf}", "malformed JSON");
    expect_meta_fails("{\"status\": \"SUCCESS\", \"result\": 1e400x}", "malformed JSON");
    struct sk_err e = {0};
    assert_int_equal(celery_meta_parse(NULL, 0, &(struct celery_meta){0}, &e), -EINVAL);

    struct celery_meta m;
    /* result absent: JSON null; other members of the wrong type: absent */
    const char *t = "{\"status\": \"SUCCESS\", \"task_id\": 7, \"traceback\": [], "
                    "\"date_done\": \"yesterday\"}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_true(json_is_null(m.result));
    assert_null(m.task_id);
    assert_null(m.traceback);
    assert_true(m.date_done == 0);
    celery_meta_free(&m);
    static const char *const garbage[] = {"2026-13-01T00:00:00", "2026-11-29T10:26:15.488120junk",
                                          "", "10:26:15", "2026-11-29T25:00:00"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        json_t *doc = json_pack("{s:s,s:s}", "status", "SUCCESS", "date_done", garbage[i]);
        char *s = json_dumps(doc, JSON_COMPACT);
        assert_int_equal(celery_meta_parse(s, strlen(s), &m, &e), 0);
        assert_true(m.date_done == 0);
        celery_meta_free(&m);
        free(s);
        json_decref(doc);
    }
    t = "{\"status\": \"SUCCESS\", \"date_done\": 1795947975}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_true(m.date_done == 0);
    celery_meta_free(&m);
    /* later Celery versions write an aware date_done */
    t = "{\"status\": \"SUCCESS\", \"date_done\": \"2026-11-29T11:26:15.488120+01:00\"}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_near(m.date_done, 1795947975.48812);
    celery_meta_free(&m);

    /* numbers beyond jansson's range (a task returning 2**70) come back as digit strings, so
     * the status is not lost; digits inside strings are left alone */
    t = "{\"status\": \"SUCCESS\", \"result\": {\"big\": 1180591620717411303424, \"neg\": "
        "-9223372036854775809, \"ok\": 9223372036854775807, \"huge\": 1e400, \"tiny\": 1e-400, "
        "\"s\": \"1180591620717411303424 \\\" 1e400\"}, \"task_id\": \"x\"}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_string_equal(m.status, "SUCCESS");
    assert_string_equal(json_str(m.result, "big"), "1180591620717411303424");
    assert_string_equal(json_str(m.result, "neg"), "-9223372036854775809");
    assert_true(json_integer_value(json_object_get(m.result, "ok")) == INT64_MAX);
    assert_string_equal(json_str(m.result, "huge"), "1e400");
    assert_true(json_is_real(json_object_get(m.result, "tiny")));
    assert_string_equal(json_str(m.result, "s"), "1180591620717411303424 \" 1e400");
    celery_meta_free(&m);
    t = "{\"status\": \"SUCCESS\", \"result\": [123456789012345678901234567890]}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_json_eq(m.result, "[\"123456789012345678901234567890\"]");
    celery_meta_free(&m);

    /* what else Python's json writes and jansson refuses: a float's nan and inf as strings of
     * their names; in strings a NUL or a lone surrogate (undecodable bytes of an exception's
     * message) as U+FFFD, a pair kept; the same words inside strings left alone */
    t = "{\"status\": \"SUCCESS\", \"result\": [NaN, Infinity, -Infinity, {\"k\": NaN}, "
        "\"NaN Infinity\", \"a\\u0000b\", \"\\udcff\", \"x\\ud83dy\", \"\\ud83d\\ude00\", "
        "\"\\\\u0000\"]}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_json_eq(m.result, "[\"NaN\", \"Infinity\", \"-Infinity\", {\"k\": \"NaN\"}, "
                             "\"NaN Infinity\", \"a\\ufffdb\", \"\\ufffd\", \"x\\ufffdy\", "
                             "\"\\ud83d\\ude00\", \"\\\\u0000\"]");
    celery_meta_free(&m);
    t = "{\"status\": \"FAILURE\", \"result\": {\"exc_type\": \"E\", \"exc_message\": "
        "[\"bad \\u0000 byte \\udcff\"]}}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_string_equal(m.exc_message, "bad \xef\xbf\xbd byte \xef\xbf\xbd");
    celery_meta_free(&m);
    /* bytes that are no UTF-8 at all */
    t = "{\"status\": \"SUCCESS\", \"result\": \"caf\xe9\"}";
    assert_int_equal(celery_meta_parse(t, strlen(t), &m, &e), 0);
    assert_string_equal(json_string_value(m.result), "caf\xef\xbf\xbd");
    celery_meta_free(&m);
}

/* ---- events ---- */

static void test_events(void **state)
{
    (void)state;
    struct celery_event *ev;
    size_t n;
    struct sk_err e = {0};
    assert_int_equal(celery_events_parse(events_multi, strlen(events_multi), &ev, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].type, "task-started");
    assert_string_equal(ev[0].uuid, ADD_ID);
    assert_string_equal(ev[0].hostname, "demo@localhost");
    assert_near(ev[0].timestamp, 1795947975.488019);
    assert_int_equal(json_integer_value(json_object_get(ev[0].doc, "pid")), 4356);
    assert_string_equal(ev[1].type, "task-succeeded");
    assert_string_equal(json_str(ev[1].doc, "result"), "5");
    assert_near(json_number_value(json_object_get(ev[1].doc, "runtime")), 0.0046);
    celery_events_free(ev, n);

    assert_int_equal(
        celery_events_parse(events_heartbeat, strlen(events_heartbeat), &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "worker-heartbeat");
    assert_null(ev[0].uuid);
    assert_string_equal(ev[0].hostname, "demo@localhost");
    assert_near(ev[0].timestamp, 1795947977.103);
    assert_near(json_number_value(json_object_get(ev[0].doc, "freq")), 2.0);
    celery_events_free(ev, n);

    assert_int_equal(celery_events_parse(events_plain, strlen(events_plain), &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "worker-online");
    assert_near(ev[0].timestamp, 1795947980.5);
    celery_events_free(ev, n);

    /* an empty list is no events */
    const char *empty = "{\"body\": \"[]\", \"properties\": {}}";
    assert_int_equal(celery_events_parse(empty, strlen(empty), &ev, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(ev);
    celery_events_free(ev, n);

    /* odd member types are dropped, not fatal */
    const char *odd = "{\"body\": \"{\\\"type\\\": \\\"task-x\\\", \\\"uuid\\\": 4, "
                      "\\\"hostname\\\": [], \\\"timestamp\\\": \\\"now\\\"}\"}";
    assert_int_equal(celery_events_parse(odd, strlen(odd), &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_null(ev[0].uuid);
    assert_null(ev[0].hostname);
    assert_true(ev[0].timestamp == 0);
    celery_events_free(ev, n);
}

static void test_events_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"", "malformed JSON"},
        {"[]", "must be a JSON object"},
        {"{\"properties\": {}}", "body is missing"},
        {"{\"body\": \"5\"}", "event object or a list"},
        {"{\"body\": \"\\\"task-started\\\"\"}", "event object or a list"},
        {"{\"body\": \"{}\"}", "event 0 has no type"},
        {"{\"body\": \"{\\\"type\\\": \\\"\\\"}\"}", "event 0 has no type"},
        {"{\"body\": \"[{\\\"type\\\": \\\"task-started\\\"}, 3]\"}", "event 1 must be an object"},
        {"{\"body\": \"[{\\\"type\\\": \\\"a\\\"}, {\\\"type\\\": 1}]\"}", "event 1 has no type"},
        {"{\"body\": \"W3t9XQ\", \"properties\": {\"body_encoding\": \"base64\"}}", "base64"},
        {"{\"body\": \"e30=\", \"properties\": {\"body_encoding\": \"base32\"}}", "body_encoding"},
        {"{\"body\": \"{\\\"type\\\": \", \"properties\": {}}", "body is not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct celery_event *ev = (struct celery_event *)1;
        size_t n = 99;
        struct sk_err e = {0};
        int rc = celery_events_parse(cases[i].text, strlen(cases[i].text), &ev, &n, &e);
        if (rc == 0) fail_msg("accepted %s", cases[i].text);
        assert_int_equal(rc, -EINVAL);
        assert_null(ev);
        assert_int_equal(n, 0);
        assert_string_equal(e.field, "event");
        assert_contains(e.msg, cases[i].needle);
    }
}

/* ---- broker URLs ---- */

static void expect_url(const char *url, const char *host, int port, int db, const char *user,
                       const char *password)
{
    struct redis_url u;
    struct sk_err e = {0};
    int rc = redis_url_parse(url, &u, &e);
    if (rc != 0) fail_msg("%s: %s", url, e.msg);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_int_equal(u.db, db);
    if (user) assert_string_equal(u.username, user);
    else assert_null(u.username);
    if (password) assert_string_equal(u.password, password);
    else assert_null(u.password);
    redis_url_free(&u);
    assert_null(u.host);
}

static void expect_url_bad(const char *url, const char *needle)
{
    struct redis_url u;
    struct sk_err e = {0};
    int rc = redis_url_parse(url, &u, &e);
    if (rc == 0) fail_msg("accepted %s", url);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e.field, "broker");
    assert_contains(e.msg, needle);
    assert_null(u.host);
    assert_null(u.password);
    /* a refusal never repeats the password */
    if (url && strstr(url, "s3cret")) assert_null(strstr(e.msg, "s3cret"));
}

static void test_redis_url(void **state)
{
    (void)state;
    expect_url("redis://h", "h", 6379, 0, NULL, NULL);
    expect_url("redis://h:1/2", "h", 1, 2, NULL, NULL);
    expect_url("redis://:pw@h:6380/3", "h", 6380, 3, NULL, "pw");
    expect_url("redis://u:pw@h", "h", 6379, 0, "u", "pw");
    expect_url("redis://localhost:6379/0", "localhost", 6379, 0, NULL, NULL);
    expect_url("REDIS://Cache-1.example.org:65535/15", "Cache-1.example.org", 65535, 15, NULL,
               NULL);
    expect_url("redis://h/", "h", 6379, 0, NULL, NULL);
    expect_url("redis://127.0.0.1:6379/2147483647", "127.0.0.1", 6379, 2147483647, NULL, NULL);
    expect_url("redis://[::1]:7000/1", "::1", 7000, 1, NULL, NULL);
    expect_url("redis://[fe80::1]", "fe80::1", 6379, 0, NULL, NULL);
    /* the last '@' ends the user part; escapes are decoded */
    expect_url("redis://u%40x:p@ss:w%2Frd@h", "h", 6379, 0, "u@x", "p@ss:w/rd");
    expect_url("redis://u:@h", "h", 6379, 0, "u", NULL);
    expect_url("redis://:@h", "h", 6379, 0, NULL, NULL);

    expect_url_bad(NULL, "empty");
    expect_url_bad("", "empty");
    expect_url_bad("http://h", "redis://");
    /* as a result backend: AMQP brokers are parsed by amqp_url_parse */
    expect_url_bad("amqp://guest:guest@h//", "AMQP (RabbitMQ) serves as a broker only");
    expect_url_bad("pyamqp://guest:s3cret@h//", "results must be on Redis");
    expect_url_bad("amqps://guest:s3cret@h//", "AMQP (RabbitMQ) serves as a broker only");
    expect_url_bad("rpc://", "the rpc:// result backend");
    expect_url_bad("sentinel://h:26379", "Sentinel");
    expect_url_bad("redis:/h", "redis://");
    expect_url_bad("rediss://h:6380/0", "TLS");
    expect_url_bad("redis://", "host is empty");
    expect_url_bad("redis:///0", "host is empty");
    expect_url_bad("redis://:s3cret@", "host is empty");
    expect_url_bad("redis://:s3cret@:6379", "host is empty");
    expect_url_bad("redis://[]", "host is empty");
    expect_url_bad("redis://[::1", "IPv6");
    expect_url_bad("redis://[::g]", "IPv6");
    expect_url_bad("redis://h:", "port");
    expect_url_bad("redis://h:0", "port");
    expect_url_bad("redis://h:65536", "port");
    expect_url_bad("redis://h:99999999999999999999", "port");
    expect_url_bad("redis://h:63x79", "port");
    expect_url_bad("redis://h:-1", "port");
    expect_url_bad("redis://h/x", "db must be a number");
    expect_url_bad("redis://h/-1", "db must be a number");
    expect_url_bad("redis://h/2147483648", "db must be a number");
    expect_url_bad("redis://h/1x", "unexpected text after the db");
    expect_url_bad("redis://h/0/1", "unexpected text after the db");
    expect_url_bad("redis://h/0 ", "unexpected text after the db");
    expect_url_bad("redis://h/0?ssl_cert_reqs=none", "unknown URL option ssl_cert_reqs");
    expect_url_bad("redis://h?db=1", "unknown URL option db");
    expect_url_bad("redis://:s3cret@h/0?global_keyprefix=x&a=b",
                   "unknown URL option global_keyprefix");
    expect_url_bad("redis://h/0?", "URL options (?...) are not supported");
    expect_url_bad("redis://h/0?a%20b=1", "URL options (?...) are not supported");
    expect_url_bad("redis://h#frag", "fragment");
    expect_url_bad("redis://h x", "host may hold only");
    expect_url_bad("redis://h\n", "host may hold only");
    expect_url_bad("redis://[::1]x", "host may hold only");
    expect_url_bad("redis://s3cret@h", "[user]:password");
    expect_url_bad("redis://u:s3cret%zz@h", "password has a bad %-escape");
    expect_url_bad("redis://u:s3cret%00@h", "password has a bad %-escape");
    expect_url_bad("redis://u%4:s3cret@h", "user name has a bad %-escape");
    expect_url_bad("redis://u:s3cret%@h", "password has a bad %-escape");
    redis_url_free(NULL);
}

/* ---- AMQP ---- */

static void test_envelope_amqp(void **state)
{
    (void)state;
    struct celery_amqp_parts p;
    struct sk_err e = {0};
    /* the proven add(2, 3) message: the body decoded, the headers as they are */
    assert_int_equal(celery_envelope_amqp(add_envelope, strlen(add_envelope), &p, &e), 0);
    assert_int_equal(p.body_len, strlen(p.body));
    assert_string_equal(p.body, "[[2,3],{},{\"callbacks\":null,\"errbacks\":null,\"chain\":"
                                "null,\"chord\":null}]");
    assert_string_equal(json_str(p.headers, "task"), "demo_app.add");
    assert_string_equal(json_str(p.headers, "id"), ADD_ID);
    assert_true(json_is_null(json_object_get(p.headers, "eta")));
    assert_true(json_is_array(json_object_get(p.headers, "timelimit")));
    assert_string_equal(p.correlation_id, ADD_ID);
    assert_int_equal(p.priority, 0);
    celery_amqp_parts_free(&p);
    assert_null(p.body);
    celery_amqp_parts_free(&p);

    /* a pidbox broadcast: no correlation id */
    assert_int_equal(celery_envelope_amqp(revoke_envelope, strlen(revoke_envelope), &p, &e), 0);
    assert_null(p.correlation_id);
    assert_contains(p.body, "\"method\":\"revoke\"");
    assert_int_equal(json_integer_value(json_object_get(p.headers, "clock")), 1);
    celery_amqp_parts_free(&p);

    /* what the Redis path would refuse to push is refused here too */
    const char *bad[] = {"", "[]", "{\"body\":\"e30=\"}", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct sk_err be = {0};
        assert_int_equal(celery_envelope_amqp(bad[i], strlen(bad[i]), &p, &be), -EINVAL);
        assert_null(p.body);
        assert_null(p.headers);
        assert_true(be.msg[0]);
    }
}

static void test_events_body(void **state)
{
    (void)state;
    struct celery_event *ev;
    size_t n;
    struct sk_err e = {0};
    /* on AMQP the body is the event JSON itself: a task.multi list */
    const char *multi = "[{\"hostname\":\"demo@localhost\",\"utcoffset\":0,\"pid\":4356,"
                        "\"clock\":3,\"uuid\":\"" ADD_ID "\",\"timestamp\":1795947975.488019,"
                        "\"type\":\"task-started\"},{\"type\":\"task-succeeded\",\"uuid\":"
                        "\"" ADD_ID "\",\"result\":\"5\",\"runtime\":0.0046}]";
    assert_int_equal(celery_events_parse_body(multi, strlen(multi), &ev, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].type, "task-started");
    assert_string_equal(ev[0].uuid, ADD_ID);
    assert_string_equal(ev[0].hostname, "demo@localhost");
    assert_near(ev[0].timestamp, 1795947975.488019);
    assert_string_equal(ev[1].type, "task-succeeded");
    assert_null(ev[1].hostname);
    celery_events_free(ev, n);
    /* or one event */
    const char *one = "{\"type\":\"worker-heartbeat\",\"hostname\":\"w@h\",\"freq\":2.0,"
                      "\"timestamp\":1795947977.103,\"active\":1}";
    assert_int_equal(celery_events_parse_body(one, strlen(one), &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_null(ev[0].uuid);
    celery_events_free(ev, n);
    /* a number beyond 64 bits does not lose the event */
    const char *big = "{\"type\":\"task-succeeded\",\"uuid\":\"u\",\"clock\":"
                      "123456789012345678901234567890}";
    assert_int_equal(celery_events_parse_body(big, strlen(big), &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    celery_events_free(ev, n);
    /* an empty list is no events */
    assert_int_equal(celery_events_parse_body("[]", 2, &ev, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(ev);
    /* a kombu envelope is not an event, nor anything else malformed */
    struct {
        const char *text, *needle;
    } cases[] = {
        {"", "JSON"},
        {"nope", "JSON"},
        {"42", "event object or a list"},
        {"[1]", "event 0 must be an object"},
        {"[{\"type\":\"a\"},{}]", "event 1 has no type"},
        {"{\"type\":\"\"}", "no type"},
        {"{\"body\":\"e30=\",\"properties\":{}}", "no type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sk_err ce = {0};
        assert_int_equal(celery_events_parse_body(cases[i].text, strlen(cases[i].text), &ev, &n,
                                                  &ce),
                         -EINVAL);
        assert_null(ev);
        assert_int_equal(n, 0);
        assert_string_equal(ce.field, "event");
        assert_contains(ce.msg, cases[i].needle);
    }
    assert_int_equal(celery_events_parse_body(NULL, 0, &ev, &n, &e), -EINVAL);

    /* replies */
    const char *reply = "{\"w@h\": [{\"name\": \"celery\"}]}";
    json_t *r = celery_body_parse(reply, strlen(reply), &e);
    assert_non_null(r);
    assert_true(json_is_array(json_object_get(r, "w@h")));
    json_decref(r);
    struct sk_err re = {0};
    assert_null(celery_body_parse("{\"a\":", 5, &re));
    assert_string_equal(re.field, "body");
    assert_null(celery_body_parse(NULL, 0, &re));
}

static void expect_amqp(const char *url, const char *host, int port, const char *vhost,
                        const char *user, const char *password)
{
    struct amqp_url u;
    struct sk_err e = {0};
    assert_true(celery_url_is_amqp(url));
    if (amqp_url_parse(url, &u, &e) != 0) fail_msg("%s: %s", url, e.msg);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.vhost, vhost);
    assert_string_equal(u.username, user);
    assert_string_equal(u.password, password);
    amqp_url_free(&u);
    assert_null(u.host);
}

static void expect_amqp_bad(const char *url, const char *needle)
{
    struct amqp_url u;
    struct sk_err e = {0};
    int rc = amqp_url_parse(url, &u, &e);
    if (rc == 0) fail_msg("accepted %s", url);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e.field, "broker");
    assert_contains(e.msg, needle);
    assert_null(u.host);
    assert_null(u.password);
    if (url && strstr(url, "s3cret")) assert_null(strstr(e.msg, "s3cret"));
}

static void test_amqp_url(void **state)
{
    (void)state;
    /* kombu's defaults and virtual host rules (kombu.utils.url.url_to_parts) */
    expect_amqp("amqp://", "localhost", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h", "h", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h/", "h", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h//", "h", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h/%2F", "h", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h/%2f", "h", 5672, "/", "guest", "guest");
    expect_amqp("amqp://h/app", "h", 5672, "app", "guest", "guest");
    expect_amqp("amqp://h//app", "h", 5672, "/app", "guest", "guest");
    expect_amqp("amqp://guest:guest@localhost:5672/", "localhost", 5672, "/", "guest", "guest");
    expect_amqp("amqp://u:p%40ss@mq.example.org:5673/invenio", "mq.example.org", 5673, "invenio",
                "u", "p@ss");
    expect_amqp("AMQP://u@h", "h", 5672, "/", "u", "guest");
    expect_amqp("pyamqp://u:pw@[::1]:5672//", "::1", 5672, "/", "u", "pw");
    expect_amqp("amqp://:pw@h", "h", 5672, "/", "guest", "pw");
    expect_amqp("amqp://u:@h", "h", 5672, "/", "u", "guest");

    assert_false(celery_url_is_amqp("redis://h"));
    assert_true(celery_url_is_amqp("amqps://h"));
    assert_false(celery_url_is_amqp(NULL));
    expect_amqp_bad(NULL, "empty");
    expect_amqp_bad("", "empty");
    expect_amqp_bad("redis://h", "amqp://");

    /* TLS: port 5671, the broker checked unless ssl_cert_reqs=none, files as given */
    struct amqp_url u;
    struct sk_err e = {0};
    assert_int_equal(amqp_url_parse("amqps://u:pw@mq.example.org//", &u, &e), 0);
    assert_true(u.tls && u.verify);
    assert_int_equal(u.port, 5671);
    assert_null(u.ca_certs);
    assert_null(u.certfile);
    amqp_url_free(&u);
    assert_int_equal(amqp_url_parse("AMQPS://h:5999/app?ssl_cert_reqs=CERT_NONE&ssl_ca_certs=/etc/"
                                    "ca%20bundle.pem&ssl_certfile=/k/c.pem&ssl_keyfile=/k/k.pem",
                                    &u, &e),
                     0);
    assert_true(u.tls);
    assert_false(u.verify);
    assert_int_equal(u.port, 5999);
    assert_string_equal(u.vhost, "app");
    assert_string_equal(u.ca_certs, "/etc/ca bundle.pem");
    assert_string_equal(u.certfile, "/k/c.pem");
    assert_string_equal(u.keyfile, "/k/k.pem");
    amqp_url_free(&u);
    assert_int_equal(amqp_url_parse("amqps://h?ssl_cert_reqs=required", &u, &e), 0);
    assert_true(u.verify);
    amqp_url_free(&u);
    assert_false(amqp_url_parse("amqp://h", &u, &e) != 0 || u.tls);
    amqp_url_free(&u);
    expect_amqp_bad("amqps://u:s3cret@h//?ssl_cert_reqs=optional", "must be required or none");
    expect_amqp_bad("amqps://h?ssl_ca_certs=ca.pem", "ssl_ca_certs must be an absolute path");
    expect_amqp_bad("amqps://h?ssl_ca_certs=", "ssl_ca_certs has no value");
    expect_amqp_bad("amqps://h?ssl_ca_certs", "ssl_ca_certs has no value");
    expect_amqp_bad("amqps://h?ssl_ca_certs=/a&ssl_ca_certs=/b", "given twice");
    expect_amqp_bad("amqps://h?ssl_certfile=/c.pem", "go together");
    expect_amqp_bad("amqps://h?ssl_keyfile=/k.pem", "go together");
    expect_amqp_bad("amqps://h?ssl_ca_certs=/a%zz", "bad %-escape");
    expect_amqp_bad("amqps://h?heartbeat=10", "unknown URL option heartbeat (amqps:// takes");
    expect_amqp_bad("amqps://h?=x", "malformed");
    expect_amqp_bad("amqps://h?ssl_ca_certs=/a#x", "fragment");
    expect_amqp_bad("amqp://h?ssl_ca_certs=/a", "ssl_ca_certs is for TLS: write amqps://");
    expect_amqp_bad("amqp://h:0", "port");
    expect_amqp_bad("amqp://u:s3cret@h:99999/", "port");
    expect_amqp_bad("amqp://h:x", "port");
    expect_amqp_bad("amqp://h1;amqp://h2", "failover");
    expect_amqp_bad("amqp://h x", "host may hold only");
    expect_amqp_bad("amqp://[::1", "IPv6");
    expect_amqp_bad("amqp://u:s3cret%zz@h", "password has a bad %-escape");
    expect_amqp_bad("amqp://h/%00", "virtual host has a bad %-escape");
    expect_amqp_bad("amqp://h/a%0Ab", "virtual host must be");
    expect_amqp_bad("amqp://u:s3cret@h//?heartbeat=10", "unknown URL option heartbeat");
    expect_amqp_bad("amqp://h/?", "URL options (?...) are not supported");
    expect_amqp_bad("amqp://h/#x", "fragment");
    amqp_url_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_envelope_exact),
        cmocka_unit_test(test_pidbox_envelope_exact),
        cmocka_unit_test(test_task_envelope_limits_and_expires),
        cmocka_unit_test(test_task_envelope_bad_inputs),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_repr),
        cmocka_unit_test(test_envelope_check),
        cmocka_unit_test(test_envelope_body_hostile),
        cmocka_unit_test(test_meta_success),
        cmocka_unit_test(test_meta_failure_revoked_custom),
        cmocka_unit_test(test_meta_hostile),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_events_malformed),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_envelope_amqp),
        cmocka_unit_test(test_events_body),
        cmocka_unit_test(test_amqp_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
