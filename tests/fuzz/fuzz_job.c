/*
 * fuzz_job: a job's JSON body, as POST /api/jobs, PUT and PATCH take it (api_job_apply), against
 * two fixed job types and the default queues. A body accepted makes a job sked can keep and
 * run: title, queue, schedule, notifications, timeout, overlap, retries and retention in their
 * ranges. And the job's fields, sent back as GET /api/jobs/{id} shows them, make the same job
 * again (a client's GET, edit, PUT), and a PATCH of the same body over it is accepted too.
 * Every refusal names a field and says something.
 */
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "config.h"
#include "cron.h"
#include "fuzz.h"
#include "http/api.h"
#include "model.h"
#include "tasks.h"

static const char *const task_texts[] = {
    "{\"id\":\"import\",\"title\":\"Import\",\"command\":[\"/bin/true\",\"{{source}}\"],"
    "\"arguments\":{\"type\":\"object\",\"properties\":{"
    "\"source\":{\"type\":\"string\",\"default\":\"/tmp\",\"maxLength\":64},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"update\",\"insert\"]}}}}",
    "{\"id\":\"noop\",\"title\":\"No-op\",\"builtin\":\"noop\",\"default_queue\":\"low\"}",
};

static struct taskset *tasks(void)
{
    static struct taskset *ts;
    if (!ts) {
        ts = taskset_new();
        for (size_t i = 0; i < sizeof task_texts / sizeof *task_texts; i++) {
            struct task *t;
            struct sk_err e = {0};
            if (tasks_parse(task_texts[i], strlen(task_texts[i]), "fixed.json", "/tasks", NULL,
                            &t, &e) ||
                taskset_add(ts, t))
                abort();
        }
    }
    return ts;
}

static const struct config *settings(void)
{
    static struct config c;
    static bool made;
    if (!made) {
        config_init(&c); /* queues default=4, low=1 */
        made = true;
    }
    return &c;
}

static void check_errors(const json_t *errs)
{
    size_t i;
    json_t *item;
    json_array_foreach(errs, i, item)
    {
        FUZZ_CHECK(json_is_string(json_object_get(item, "field")));
        FUZZ_CHECK(json_array_size(json_object_get(item, "messages")) > 0);
    }
}

static void check_list(const json_t *n, const char *key)
{
    const json_t *l = json_object_get(n, key);
    FUZZ_CHECK(json_is_array(l));
    size_t i;
    json_t *v;
    json_array_foreach(l, i, v) FUZZ_CHECK(json_is_string(v));
}

/* What an accepted body made. */
static void check_job(const struct job *j)
{
    FUZZ_CHECK(j->task && taskset_get(tasks(), j->task));
    FUZZ_CHECK(j->title && utf8_chars(j->title) >= 1 && utf8_chars(j->title) <= 250);
    FUZZ_CHECK(j->default_queue && config_queue(settings(), j->default_queue));
    if (j->schedule) {
        struct schedule sc;
        json_t *errs = json_array();
        FUZZ_CHECK(schedule_parse(j->schedule, "schedule", &sc, errs) == 0);
        json_decref(errs);
    }
    FUZZ_CHECK(json_is_object(j->notifications));
    check_list(j->notifications, "emails");
    check_list(j->notifications, "statuses");
    check_list(j->notifications, "webhooks");
    FUZZ_CHECK(j->timeout_ms == -1 || j->timeout_ms > 0);
    FUZZ_CHECK(j->overlap >= 0 && j->overlap < 4 && j->catchup >= 0 && j->catchup < 3);
    FUZZ_CHECK(j->catchup_limit >= 1 && j->catchup_limit <= 10000);
    FUZZ_CHECK(j->max_retries >= 0 && j->max_retries <= 100);
    FUZZ_CHECK(j->retry_backoff_ms >= 0);
    FUZZ_CHECK(j->retention_ms == -1 || j->retention_ms >= 60000);
    FUZZ_CHECK(json_is_object(j->run_args));
}

/* The job's writable fields as GET /api/jobs/{id} shows them (api_job_write). */
static json_t *as_shown(const struct job *j)
{
    char t[32], rb[32], ret[32];
    if (j->timeout_ms > 0) duration_format(j->timeout_ms, t);
    duration_format(j->retry_backoff_ms, rb);
    if (j->retention_ms >= 0) duration_format(j->retention_ms, ret);
    json_t *n = j->notifications;
    return json_pack("{s:s,s:s?,s:b,s:s,s:s,s:O?,s:O,s:O?,s:O,s:O,s:O,s:s?,s:s,s:s,s:i,s:i,"
                     "s:s,s:s?}",
                     "title", j->title, "description", j->description, "active", j->active,
                     "task", j->task, "default_queue", j->default_queue, "schedule",
                     j->schedule, "args", j->run_args, "custom_args",
                     json_object_get(j->run_args, "custom_args"), "notification_emails",
                     json_object_get(n, "emails"), "notification_statuses",
                     json_object_get(n, "statuses"), "notification_webhooks",
                     json_object_get(n, "webhooks"), "timeout", j->timeout_ms > 0 ? t : NULL,
                     "overlap", overlap_name(j->overlap), "catchup", catchup_name(j->catchup),
                     "catchup_limit", j->catchup_limit, "max_retries", j->max_retries,
                     "retry_backoff", rb, "retention", j->retention_ms >= 0 ? ret : NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    struct sk_err e = {0};
    json_t *body = json_parse((const char *)data, size, "body", &e);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct job j;
    job_init(&j);
    json_t *errs = json_array();
    api_job_apply(tasks(), settings(), body, &j, true, true, errs);
    check_errors(errs);
    if (json_array_size(errs) == 0) {
        check_job(&j);
        /* shown and sent back, the same job */
        json_t *shown = as_shown(&j);
        FUZZ_CHECK(shown != NULL);
        struct job again;
        job_init(&again);
        json_t *errs2 = json_array();
        api_job_apply(tasks(), settings(), shown, &again, true, true, errs2);
        if (json_array_size(errs2)) {
            char *text = json_dump(errs2);
            fprintf(stderr, "refused when sent back: %s\n", text);
            free(text);
        }
        FUZZ_CHECK(json_array_size(errs2) == 0);
        json_t *shown2 = as_shown(&again);
        FUZZ_CHECK(json_equal(shown, shown2));
        json_decref(shown2);
        json_decref(errs2);
        job_release(&again);
        json_decref(shown);
        /* the same body as a PATCH of the job it made */
        json_t *errs3 = json_array();
        api_job_apply(tasks(), settings(), body, &j, false, false, errs3);
        check_errors(errs3);
        FUZZ_CHECK(json_array_size(errs3) == 0);
        check_job(&j);
        json_decref(errs3);
    }
    json_decref(errs);
    job_release(&j);
    json_decref(body);
    return 0;
}
