/*
 * fuzz_tasks: tasks_parse on arbitrary bytes. Task files are written by people and reloaded
 * at run time, so no file - however broken - may crash sked or leak; and what the parser
 * accepts must satisfy what the executor assumes (a non-empty program, placeholders only in
 * arguments, a working folder). Accepted schemas are then used for argument resolution, which
 * exercises defaults and validation on shapes no person would write.
 */
#include <string.h>

#include "args.h"
#include "base/json.h"
#include "fuzz.h"
#include "model.h"
#include "tasks.h"

static const char *const queue_list[] = {"default", "low"};
static const struct queue_names queues = {queue_list, 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct task *t = NULL;
    struct sk_err e = {0};
    int rc = tasks_parse((const char *)data, size, "fuzz.json", "/tasks", &queues, &t, &e);
    if (rc != 0) {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(e.code == rc);
        /* "FILE: field: reason" */
        FUZZ_CHECK(strncmp(e.msg, "fuzz.json: ", 11) == 0);
        return 0;
    }
    FUZZ_CHECK(t && t->id && t->title && t->description && t->working_dir && t->file);
    /* exactly one executor: a command, a builtin or Celery workers */
    FUZZ_CHECK(!!t->argv + !!t->builtin + !!t->celery == 1);
    if (t->argv) {
        FUZZ_CHECK(t->argc > 0 && t->argv[0][0] != '\0' && t->argv[t->argc] == NULL);
        FUZZ_CHECK(strstr(t->argv[0], "{{") == NULL);
    }
    if (t->celery) {
        FUZZ_CHECK(t->celery->broker && t->celery->result_backend && t->celery->task);
        FUZZ_CHECK(t->celery->accept_timeout_ms > 0 && json_is_array(t->celery->positional));
        for (size_t i = 0; i < json_array_size(t->celery->positional); i++)
            FUZZ_CHECK(task_has_arg(t, json_string_value(json_array_get(t->celery->positional, i))));
    }
    FUZZ_CHECK(t->timeout_ms == -1 || t->timeout_ms > 0);
    FUZZ_CHECK(t->stop_grace_ms == -1 || t->stop_grace_ms > 0);
    FUZZ_CHECK(!t->arguments || json_is_object(t->arguments));
    char why[512];
    FUZZ_CHECK(!t->default_queue || !task_queue_error(t, &queues, t->default_queue, why, sizeof why));
    FUZZ_CHECK(t->celery || !t->default_queue || strcmp(t->default_queue, "default") == 0 ||
               strcmp(t->default_queue, "low") == 0);

    /* resolve arguments from nothing: defaults fill in, the result is validated */
    json_t *errs = json_array();
    json_t *args = args_resolve(t, NULL, NULL, NO_TIME, errs);
    FUZZ_CHECK(args ? json_array_size(errs) == 0 : json_array_size(errs) > 0);
    FUZZ_CHECK(!args || json_is_object(args));
    for (size_t i = 0; i < t->argc; i++) {
        char *s = task_expand(t->argv[i], args);
        FUZZ_CHECK(s != NULL);
        free(s);
    }
    json_decref(args);
    json_decref(errs);
    task_free(t);
    return 0;
}
