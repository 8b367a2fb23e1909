/* api_tasks: /api/tasks (job types) and /api/queues. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "celery.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

static json_t *task_json(struct api_ctx *c, const struct task *t)
{
    char base[256], d[32];
    api_base_url(c, base, sizeof base);
    json_t *argv = json_array();
    for (size_t i = 0; i < t->argc; i++) json_array_append_new(argv, json_string(t->argv[i]));
    /* a Celery job type's queue is always known (celery.queue, the file's default_queue, else
     * Celery's "celery"): shown as the queue its jobs take; null for another job type means
     * the first configured queue */
    const char *queue = t->celery ? task_default_queue(t, NULL) : t->default_queue;
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s?}", "id", t->id, "title", t->title,
                          "description", t->description, "arguments",
                          t->arguments ? json_incref(t->arguments) : json_object(), "command", argv,
                          "default_queue", queue);
    if (!queue) json_object_set_new(o, "default_queue", json_null());
    if (t->timeout_ms > 0) {
        duration_format(t->timeout_ms, d);
        json_object_set_new(o, "timeout", json_string(d));
    } else {
        json_object_set_new(o, "timeout", json_null());
    }
    char *self = xasprintf("%s/api/tasks/%s", base, t->id);
    char *args = xasprintf("%s/args", self);
    json_object_set_new(o, "links", json_pack("{s:s,s:s}", "self", self, "args", args));
    free(self);
    free(args);
    return o;
}

void api_tasks_list(struct api_ctx *c)
{
    const struct taskset *ts = dispatch_tasks(c->api->dispatch);
    json_t *items = json_array();
    for (size_t i = 0; i < ts->count; i++) json_array_append_new(items, task_json(c, ts->tasks[i]));
    api_json(c, 200, json_pack("{s:{s:o,s:I}}", "hits", "hits", items, "total",
                               (json_int_t)ts->count));
}

static const struct task *load_task(struct api_ctx *c)
{
    const struct task *t = taskset_get(dispatch_tasks(c->api->dispatch), c->m->params[0]);
    if (!t) api_error(c, 404, "Job type %s does not exist (see GET /api/tasks).", c->m->params[0]);
    return t;
}

void api_tasks_get(struct api_ctx *c)
{
    const struct task *t = load_task(c);
    if (t) api_json(c, 200, task_json(c, t));
}

void api_tasks_args(struct api_ctx *c)
{
    const struct task *t = load_task(c);
    if (t) api_json(c, 200, t->arguments ? json_incref(t->arguments) : json_object());
}

static void queues_answer(struct api_ctx *c, const struct queue_info *qs, size_t n)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:b}", "name",
                                               qs[i].name, "title", qs[i].name, "executor",
                                               "local", "concurrency", qs[i].slots, "busy",
                                               qs[i].busy, "queued", (json_int_t)qs[i].queued,
                                               "removed", qs[i].removed));
    struct celery *cel = dispatch_celery(c->api->dispatch);
    if (cel) {
        json_t *more = celery_queues_json(cel);
        json_array_extend(items, more);
        json_decref(more);
    }
    api_json(c, 200, json_pack("{s:{s:O,s:I}}", "hits", "hits", items, "total",
                               (json_int_t)json_array_size(items)));
    json_decref(items);
}

void api_queues_list(struct api_ctx *c)
{
    api_with_queues(c, queues_answer);
}
