/* api_runs: runs of a job (list, create, read, delete, stop) and /api/runs across jobs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "args.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"

static const char *const run_sorts[] = {"created", NULL};

/* Reads the run filters shared by both lists. */
static void run_filters(struct api_ctx *c, struct run_query *q, json_t *errs)
{
    q->since = NO_TIME;
    const char *st = http_param(c->req, "status");
    if (st && *st) {
        char *copy = xstrdup(st), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int s = run_status_parse(tok);
            if (s < 0)
                json_errs_add(errs, "status", "unknown status '%s'", tok);
            else
                q->status_mask |= 1u << s;
        }
        free(copy);
    }
    const char *since = http_param(c->req, "since");
    if (since && *since) {
        const char *why;
        if (time_parse(since, &q->since, &why) != 0)
            json_errs_add(errs, "since", "not a valid date-time (%s)", why);
    }
    q->q = http_param(c->req, "q");
    const char *inc = http_param(c->req, "include_subtasks");
    if (inc && *inc && strcmp(inc, "true") && strcmp(inc, "false") && strcmp(inc, "1") &&
        strcmp(inc, "0"))
        json_errs_add(errs, "include_subtasks", "must be true or false");
}

/* The answer to a list: its page of runs (store_run_list gave rc, runs, n, total). */
static void list_reply(struct api_ctx *c, const struct page *p, int rc, struct run *runs,
                       size_t n, int64_t total, const char *job_id, const char *cursor,
                       json_t *errs)
{
    if (rc == -ENOENT) {
        json_errs_add(errs, "after", "no run %s%s", cursor, job_id ? " in this job" : "");
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (rc != 0) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    bool more = *cursor && n > (size_t)p->size;
    struct buf items = BUF_INIT;
    buf_reserve(&items, (more ? (size_t)p->size : n) * 1600);
    for (size_t i = 0; i < n && i < (size_t)p->size; i++) {
        if (i) buf_putc(&items, ',');
        api_run_write(c, &items, &runs[i]);
    }
    api_reply_list(c, &items, total, p, *cursor ? cursor : NULL,
                   more ? runs[p->size - 1].id : NULL);
    buf_free(&items);
    store_runs_free(runs, n);
}

/* A list with a text search (q) or a `since`: its count reads every titled run of the job, or
 * of all jobs, for q, every run for since (0.4-1 s at a million), so it is read off the loop
 * (api_read_off_loop). */
struct search {
    struct page p;
    struct run_query q; /* its strings point into the search */
    char job_id[UUID_STR_LEN], cursor[UUID_STR_LEN];
    char *text;
    json_t *errs;
    int rc;
    struct run *runs;
    size_t n;
    int64_t total;
};

static void search_read(struct store *reader, void *arg)
{
    struct search *s = arg;
    s->rc = reader ? store_run_list(reader, &s->q, &s->runs, &s->n, &s->total) : -EIO;
}

static void search_answer(struct api_ctx *c, void *arg)
{
    struct search *s = arg;
    if (c)
        list_reply(c, &s->p, s->rc, s->runs, s->n, s->total, s->job_id[0] ? s->job_id : NULL,
                   s->cursor, s->errs);
    else {
        json_decref(s->errs);
        if (s->rc == 0) store_runs_free(s->runs, s->n);
    }
    free(s->text);
    free(s);
}

static void search_start(struct api_ctx *c, const struct run_query *q, const struct page *p,
                         json_t *errs)
{
    struct search *s = xcalloc(1, sizeof *s);
    s->p = *p;
    s->q = *q;
    s->errs = errs;
    s->rc = -EIO;
    if (q->job_id) memcpy(s->job_id, q->job_id, sizeof s->job_id);
    if (q->after) memcpy(s->cursor, q->after, sizeof s->cursor);
    s->q.job_id = q->job_id ? s->job_id : NULL;
    s->q.after = q->after ? s->cursor : NULL;
    s->q.q = s->text = q->q ? xstrdup(q->q) : NULL;
    api_read_off_loop(c, search_read, search_answer, s);
}

static void list(struct api_ctx *c, const char *job_id, json_t *errs)
{
    struct page p;
    api_page(c, &p, "created", true, run_sorts, errs);
    struct run_query q = {0};
    q.job_id = job_id;
    run_filters(c, &q, errs);
    /* keyset paging: after=RUN_ID starts the page after that run, in the page's order */
    const char *after = http_param(c->req, "after");
    char cursor[UUID_STR_LEN] = "";
    if (after && *after) {
        if (!uuid_valid(after))
            json_errs_add(errs, "after", "must be a run id (UUID)");
        else if (p.page > 1)
            json_errs_add(errs, "after", "cannot be combined with page; follow links.next");
        else
            for (int i = 0; i < UUID_STR_LEN; i++)
                cursor[i] = (char)tolower((unsigned char)after[i]);
    }
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    q.asc = !p.desc;
    q.offset = (p.page - 1) * p.size;
    q.limit = p.size + (*cursor ? 1 : 0); /* one more tells whether a next page exists */
    q.after = *cursor ? cursor : NULL;
    if ((q.q && *q.q) || q.since != NO_TIME) {
        search_start(c, &q, &p, errs);
        return;
    }
    struct run *runs;
    size_t n;
    int64_t total;
    int rc = store_run_list(c->api->store, &q, &runs, &n, &total);
    list_reply(c, &p, rc, runs, n, total, job_id, cursor, errs);
}


void api_runs_list(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    list(c, j.id, json_array());
    job_release(&j);
}

void api_runs_all(struct api_ctx *c)
{
    json_t *errs = json_array();
    const char *job = http_param(c->req, "job_id");
    char lower[UUID_STR_LEN] = "";
    if (job && *job && !uuid_valid(job)) json_errs_add(errs, "job_id", "must be a job id (UUID)");
    else if (job && *job)
        for (int i = 0; i < UUID_STR_LEN; i++) lower[i] = (char)tolower((unsigned char)job[i]);
    list(c, *lower ? lower : NULL, errs);
}

void api_runs_create(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    json_t *body = c->req->body_len ? api_body(c) : json_object();
    if (!body) {
        job_release(&j);
        return;
    }
    json_t *errs = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "title") && strcmp(k, "queue") && strcmp(k, "args") &&
            strcmp(k, "custom_args"))
            json_errs_add(errs, k, "unknown field (title, queue, args, custom_args)");
    }
    struct run_request rq = {0};
    rq.trigger = TRIGGER_MANUAL;
    rq.scheduled_for = NO_TIME;
    json_t *title = json_object_get(body, "title");
    if (title && !json_is_null(title)) {
        size_t len = json_is_string(title) ? utf8_chars(json_string_value(title)) : 0;
        if (!json_is_string(title) || len < 1 || len > 250)
            json_errs_add(errs, "title", "must be a string of 1 to 250 characters");
        else if (utf8_blank(json_string_value(title)))
            json_errs_add(errs, "title", "must not be blank");
        else
            rq.title = json_string_value(title);
    }
    json_t *queue = json_object_get(body, "queue");
    if (queue && !json_is_null(queue)) {
        if (!json_is_string(queue))
            json_errs_add(errs, "queue", "must be a queue name, not %s (see GET /api/queues)",
                          json_type_name(queue));
        else
            rq.queue = json_string_value(queue); /* checked against the job type on submit */
    }
    json_t *args = json_object_get(body, "args");
    if (args && !json_is_null(args)) {
        if (!json_is_object(args))
            json_errs_add(errs, "args", "must be an object");
        else
            rq.args = args;
    }
    json_t *custom = NULL;
    args_parse_custom(json_object_get(body, "custom_args"), "custom_args", &custom, errs);
    rq.custom_args = custom;
    struct user_ref by = auth_user_ref(&c->who);
    rq.started_by = &by;
    struct run r;
    int rc = json_array_size(errs) ? -EINVAL : dispatch_submit(c->api->dispatch, &j, &rq, &r, errs);
    json_decref(custom);
    json_decref(body);
    job_release(&j);
    if (rc == -EINVAL) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    /* {"queue":...,"args":...}, written straight as text */
    struct buf d = BUF_INIT;
    buf_reserve(&d, 200);
    buf_append(&d, "{\"queue\":", 9);
    buf_json_string(&d, r.queue);
    buf_append(&d, ",\"args\":", 8);
    if (r.args)
        json_write(&d, r.args);
    else
        buf_append(&d, "{}", 2);
    buf_putc(&d, '}');
    api_audit_text(c, "run.started", r.job_id, r.id, NULL, d.data);
    buf_free(&d);
    api_reply_run(c, 201, &r);
    run_release(&r);
}

void api_runs_get(struct api_ctx *c)
{
    struct run r;
    if (api_load_run(c, &r)) return;
    api_reply_run(c, 200, &r);
    run_release(&r);
}

void api_runs_delete(struct api_ctx *c)
{
    struct run r;
    if (api_load_run(c, &r)) return;
    int rc = store_run_delete(c->api->store, r.id);
    if (rc == -EBUSY)
        api_error(c, 409, "Run %s is %s; only finished runs can be deleted (stop it first).", r.id,
                  run_status_name(r.status));
    else if (rc == -ENOENT)
        api_error(c, 404, "Run with ID %s for job %s does not exist.", r.id, r.job_id);
    else if (rc)
        api_error(c, 503, "the store failed; see the server log");
    else {
        api_audit(c, "run.deleted", r.job_id, r.id, NULL,
                  json_pack("{s:s}", "status", run_status_name(r.status)));
        http_reply(c->req, 204, NULL, NULL, 0);
    }
    run_release(&r);
}

void api_runs_stop(struct api_ctx *c)
{
    struct run r;
    if (api_load_run(c, &r)) return;
    char id[UUID_STR_LEN];
    memcpy(id, r.id, sizeof id);
    run_release(&r);
    struct user_ref by = auth_user_ref(&c->who);
    int rc = dispatch_stop(c->api->dispatch, id, &by, &r);
    if (rc == -EINVAL) /* the reference's words first: clients may look for them */
        api_error(c, 400, "You cannot change run status from %s to CANCELLING. %s",
                  run_status_name(r.status),
                  r.status == RUN_CANCELLING
                      ? "It is being stopped already."
                      : "The run has ended; only a QUEUED or RUNNING run can be stopped.");
    else if (rc == -ENOENT)
        api_error(c, 404, "Run with ID %s for job %s does not exist.", id, c->m->params[0]);
    else if (rc)
        api_error(c, 503, "the store failed; see the server log");
    else {
        api_audit(c, "run.stopped", r.job_id, r.id, NULL, NULL);
        api_reply_run(c, 202, &r);
    }
    run_release(&r);
}
