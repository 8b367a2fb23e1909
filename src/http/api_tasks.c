/* api_tasks: /api/tasks (job types) and /api/queues (and pausing one). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "celery.h"
#include "base/json.h"
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
    json_object_set_new(o, "operator_args", json_boolean(!t->admin_args));
    char *self = xasprintf("%s/api/tasks/%s", base, t->id);
    char *args = xasprintf("%s/args", self);
    json_object_set_new(o, "links", json_pack("{s:s,s:s}", "self", self, "args", args));
    free(self);
    free(args);
    return o;
}

void api_tasks_list(struct api_ctx *c)
{
    if (api_no_params(c)) return;
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

static json_t *queue_json(const struct queue_info *q)
{
    const json_t *p = q->pause;
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:b,s:b}", "name", q->name, "title", q->name,
                          "executor", "local", "concurrency", q->slots, "busy", q->busy, "queued",
                          (json_int_t)q->queued, "removed", q->removed, "paused", p != NULL);
    json_object_set_new(o, "paused_at",
                        p ? api_time(json_integer_value(json_object_get(p, "paused_at")))
                          : json_null());
    static const char *const keys[][2] = {
        {"paused_by", "paused_by"}, {"paused_by_id", "paused_by_id"}, {"pause_reason", "reason"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = p ? json_object_get(p, keys[i][1]) : NULL;
        json_object_set_new(o, keys[i][0], json_is_string(v) ? json_incref(v) : json_null());
    }
    return o;
}

static void queues_answer(struct api_ctx *c, const struct queue_info *qs, size_t n, void *arg)
{
    (void)arg;
    if (!c) return;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, queue_json(&qs[i]));
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
    if (api_no_params(c)) return;
    api_with_queues(c, NULL, queues_answer, NULL);
}

/* What a pause or a resume answers: the queue, and whether it was paused before. */
struct queue_done {
    char *name;
    bool was_paused;
};

/* After a pause or a resume: the queue as GET /api/queues lists it, with "was_paused" (a
 * script, or the CLI, tells from it whether the call changed anything). */
static void queue_answer(struct api_ctx *c, const struct queue_info *qs, size_t n, void *arg)
{
    struct queue_done *done = arg;
    size_t i = 0;
    while (i < n && strcmp(qs[i].name, done->name) != 0) i++;
    if (c && i < n) {
        json_t *o = queue_json(&qs[i]);
        json_object_set_new(o, "was_paused", json_boolean(done->was_paused));
        api_json(c, 200, o);
    } else if (c) { /* a reload took it out of the settings meanwhile */
        api_error(c, 404, "Queue %s does not exist (see GET /api/queues).", done->name);
    }
    free(done->name);
    free(done);
}

/* The audit entry of a pause, a resume or a paused queue's new reason (had: the one it
 * replaced); none when nothing changed. */
static void queue_audit(struct api_ctx *c, const char *name, bool pause, int change,
                        const char *reason, const char *had)
{
    if (change == QUEUE_AS_IS) return;
    if (change == QUEUE_NEW_REASON)
        api_audit(c, "queue.reason_changed", NULL, NULL, NULL,
                  json_pack("{s:s,s:{s:{s:s?,s:s}}}", "queue", name, "changes", "reason", "before",
                            had, "after", reason));
    else
        api_audit(c, pause ? "queue.paused" : "queue.resumed", NULL, NULL, NULL,
                  json_pack("{s:s,s:s?}", "queue", name, "reason", reason));
}

/* POST /api/queues/{name}/actions/pause (body: optional {"reason"}) and .../resume. */
static void queue_action(struct api_ctx *c, bool pause)
{
    const char *name = c->m->params[0];
    json_t *body = NULL;
    const char *reason = NULL;
    if (c->req->body_len > 0) {
        if (!(body = api_body(c))) return;
        json_t *errs = json_array();
        static const char *const with_reason[] = {"reason", NULL}, *const none[] = {NULL};
        api_unknown_fields(body, pause ? with_reason : none, errs);
        if (pause) reason = api_line_field(body, "reason", 500, false, errs);
        if (json_array_size(errs)) {
            json_decref(body);
            api_invalid(c, errs);
            return;
        }
        json_decref(errs);
    }
    struct user_ref by = auth_user_ref(&c->who);
    const json_t *was = dispatch_queue_pause_of(c->api->dispatch, name);
    const char *was_reason = json_string_value(json_object_get(was, "reason"));
    char *had = was_reason ? xstrdup(was_reason) : NULL; /* replaced by a new reason */
    int rc = dispatch_queue_pause(c->api->dispatch, name, pause, &by, reason, time_now_us());
    if (rc == -ESRCH) {
        api_error(c, 409,
                  "queue %s was taken out of the settings: it only runs the runs it still "
                  "holds, with its last concurrency (one at a time after a restart), and takes "
                  "no pause; name it in queues again (then reload) to pause it, or stop its runs",
                  name);
    } else if (rc == -ENOENT) {
        bool celery_queue = false;
        struct celery *cel = dispatch_celery(c->api->dispatch);
        json_t *cq = cel ? celery_queues_json(cel) : NULL;
        size_t i;
        json_t *q;
        json_array_foreach(cq, i, q) celery_queue = celery_queue || strcmp(json_str(q, "name"), name) == 0;
        json_decref(cq);
        if (celery_queue)
            api_error(c, 409,
                      "queue %s is a Celery queue: its workers take its runs, so pause them "
                      "there (celery control cancel_consumer %s)",
                      name, name);
        else
            api_error(c, 404, "Queue %s does not exist (see GET /api/queues).", name);
    } else if (rc < 0) {
        api_error(c, 503, "the store failed; see the server log");
    } else {
        queue_audit(c, name, pause, rc, reason, had);
        struct queue_done *done = xmalloc(sizeof *done);
        done->name = xstrdup(name);
        /* only a paused queue answers a pause with more than 0; only a running one a resume */
        done->was_paused = pause ? rc != 0 : rc == 0;
        api_with_queues(c, NULL, queue_answer, done);
    }
    free(had);
    json_decref(body);
}

void api_queues_pause(struct api_ctx *c)
{
    queue_action(c, true);
}

void api_queues_resume(struct api_ctx *c)
{
    queue_action(c, false);
}
