/* api_runs: runs of a job (list, create, read, delete, stop) and /api/runs across jobs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "api.h"
#include "notify.h"
#include "args.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "secrets.h"

static const char *const run_sorts[] = {"created", NULL};

#define STATUSES                                                                                   \
    "QUEUED, RUNNING, SUCCESS, PARTIAL_SUCCESS, FAILED, CANCELLING, CANCELLED or WARNING, in "     \
    "any case, or their letters Q R S P F C X W"

/* Reads the run filters shared by both lists. */
static void run_filters(struct api_ctx *c, struct run_query *q, json_t *errs)
{
    static const char statuses[] = "run statuses, comma-separated: " STATUSES;
    q->since = NO_TIME;
    const char *st = api_param(c, "status", statuses, API_PARAM_LIST, errs);
    if (st) {
        /* by hand rather than strtok: an empty item is refused, not skipped, as "status=," would
         * otherwise ask for every status */
        bool empty = false;
        for (const char *tok = st;;) {
            size_t n = strcspn(tok, ",");
            char name[32];
            int s = -1;
            if (n > 0 && n < sizeof name) {
                memcpy(name, tok, n);
                name[n] = '\0';
                /* the letters in any case, as the names */
                if (n == 1) name[0] = (char)toupper((unsigned char)name[0]);
                s = run_status_parse(name);
            }
            if (n == 0) {
                if (!empty)
                    json_errs_add(errs, "status", "an empty status in the list; give %s", statuses);
                empty = true;
            } else if (s < 0) {
                json_errs_add(errs, "status", "unknown status '%.*s' (%s)", n > 60 ? 60 : (int)n,
                              tok, STATUSES);
            } else {
                q->status_mask |= 1u << s;
            }
            if (!tok[n]) break;
            tok += n + 1;
        }
    }
    const char *since =
        api_param(c, "since", "a date-time (YYYY-MM-DD HH:mm or RFC 3339)", 0, errs);
    if (since) {
        const char *why;
        if (time_parse(since, &q->since, &why) != 0)
            json_errs_add(errs, "since", "not a valid date-time (%s)", why);
    }
    /* an empty q is a search too: every title holds the empty text */
    q->q = api_param(c, "q", "the start of a run id or a part of a title", API_PARAM_EMPTY, errs);
    api_bool_param(c, "include_subtasks", errs); /* there are none: only checked */
}

/* The answer to a list: its page of runs (store_run_list gave rc, runs, n, total, cut). */
static void list_reply(struct api_ctx *c, const struct page *p, int rc, struct run *runs, size_t n,
                       bool cut, int64_t total, const char *job_id, const char *cursor,
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
    struct page_items it = {0};
    it.cut = cut;
    size_t room = *cursor ? n : api_items_room(p, n, cut);
    buf_reserve(&it.b, (room < (size_t)p->size ? room : (size_t)p->size) * 1600);
    for (size_t i = 0; i < room && i < (size_t)p->size; i++) {
        api_items_begin(&it);
        api_run_write(c, &it.b, &runs[i]);
        if (!api_items_end(&it, p)) break;
    }
    /* a keyset page goes on after its last run: one more was read, or the page was cut */
    bool more = *cursor && it.n && (n > (size_t)p->size || it.cut);
    api_reply_items(c, &it, total, p, *cursor ? cursor : NULL, more ? runs[it.n - 1].id : NULL);
    store_runs_free(runs, n);
}

/* A list with a text search (q) or a `since`: its count reads every titled run of the job, or
 * of all jobs, for q, every run for since (0.4-1 s at a million), so it is read off the loop
 * (api_read_off_loop); so is one filtered by status (SUCCESS is no index's), paged past its
 * first page (an OFFSET reads every run before the page: 0.4 s at page 39,000) or whose runs
 * are large. */
struct search {
    struct page p;
    struct run_query q; /* its strings point into the search */
    char job_id[UUID_STR_LEN], cursor[UUID_STR_LEN];
    char *text;
    json_t *errs;
    int rc;
    struct run *runs;
    size_t n;
    bool cut;
    int64_t total;
};

static void search_read(struct store *reader, void *arg)
{
    struct search *s = arg;
    s->rc = reader ? store_run_list(reader, &s->q, &s->runs, &s->n, &s->total, &s->cut) : -EIO;
}

static void search_answer(struct api_ctx *c, void *arg)
{
    struct search *s = arg;
    if (c)
        list_reply(c, &s->p, s->rc, s->runs, s->n, s->cut, s->total,
                   s->job_id[0] ? s->job_id : NULL, s->cursor, s->errs);
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
    const char *after = api_param(c, "after", "a run id (UUID) from links.next", 0, errs);
    char cursor[UUID_STR_LEN] = "";
    if (after) {
        if (!uuid_valid(after))
            json_errs_add(errs, "after", "must be a run id (UUID)");
        else if (http_param(c->req, "page")) /* also page=1: it names another way to page */
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
    q.max_bytes = API_PAGE_MAX_BYTES;
    /* on the loop only the first page (or the page after a run) of every run, or of a job's,
     * newest or oldest first: read through the primary key or the job's index, LIMIT rows,
     * and counted from the runs' counts (count_runs in sqlite.c); any other reads and counts
     * rows in proportion to the store */
    bool cheap = !(q.q && *q.q) && q.since == NO_TIME && !q.status_mask && q.offset == 0;
    if (!cheap) {
        search_start(c, &q, &p, errs);
        return;
    }
    /* nor a page whose runs are large (API_PAGE_LOOP_BYTES): read again off the loop */
    struct run *runs;
    size_t n;
    int64_t total;
    bool cut;
    q.max_bytes = API_PAGE_LOOP_BYTES;
    int rc = store_run_list(c->api->store, &q, &runs, &n, &total, &cut);
    if (rc == 0 && cut) {
        store_runs_free(runs, n);
        q.max_bytes = API_PAGE_MAX_BYTES;
        search_start(c, &q, &p, errs);
        return;
    }
    list_reply(c, &p, rc, runs, n, cut, total, job_id, cursor, errs);
}


void api_runs_list(struct api_ctx *c)
{
    static const char *const known[] = {"status", "since", "q", "include_subtasks", "after",
                                        API_PAGE_PARAMS, NULL};
    struct job j;
    if (api_load_job(c, &j)) return;
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    list(c, j.id, errs);
    job_release(&j);
}

void api_runs_all(struct api_ctx *c)
{
    static const char *const known[] = {"job_id", "status", "since", "q", "include_subtasks",
                                        "after", API_PAGE_PARAMS, NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    char lower[UUID_STR_LEN];
    api_job_id_param(c, lower, errs);
    list(c, *lower ? lower : NULL, errs);
}

/* ---- Idempotency-Key ---- */

/* The request's Idempotency-Key: NULL when absent, else 1 to 255 visible ASCII characters
 * (anything else answered 400: *bad). */
static const char *idempotency_key(struct api_ctx *c, bool *bad)
{
    const char *k = http_header(c->req, "Idempotency-Key");
    *bad = false;
    if (!k) return NULL;
    size_t n = strlen(k);
    bool ok = n >= 1 && n <= 255;
    for (size_t i = 0; ok && i < n; i++) ok = k[i] > ' ' && k[i] < 0x7f;
    if (!ok) {
        json_t *errs = json_array();
        json_errs_add(errs, "Idempotency-Key", "must be 1 to 255 visible ASCII characters (a UUID "
                                              "the client makes for each new request, say)");
        api_invalid(c, errs);
        *bad = true;
    }
    return k;
}

/* What a retry must repeat: the job and the body, as bytes (SHA-256, hex). */
static void request_fingerprint(struct api_ctx *c, const char *job_id, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)job_id, strlen(job_id) + 1);
    if (c->req->body_len)
        crypto_hash_sha256_update(&st, (const unsigned char *)c->req->body, c->req->body_len);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* Answers a request whose key this caller already used: with the run the first request
 * started (a retry), or 422 when the key came with another request. True when answered. */
static bool idempotent_replay(struct api_ctx *c, const char *key, const char *fingerprint)
{
    char had[65], run_id[37], *response = NULL;
    if (store_idempotency_get(c->api->store, c->who.id, key, time_now_us(), had, run_id,
                              &response) != 0)
        return false;
    if (strcmp(had, fingerprint) != 0) {
        free(response);
        api_error(c, 422,
                  "the Idempotency-Key %s was used for another request (another job or body) in "
                  "the last 24 hours; send a new key with a new request",
                  key);
        return true;
    }
    if (response) { /* a backfill's: its answer, each run as it is now (null: deleted) */
        json_t *doc = json_loads(response, 0, NULL);
        free(response);
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(doc, "runs"), i, w)
        {
            struct run r;
            const char *id = json_string_value(json_object_get(w, "id"));
            if (id && store_run_get(c->api->store, id, &r) == 0) {
                json_object_set_new(w, "status", json_string(run_status_name(r.status)));
                run_release(&r);
            } else {
                json_object_set_new(w, "status", json_null());
            }
        }
        http_add_header(c->req, "Idempotent-Replayed", "true");
        const char *job_id = json_string_value(json_object_get(doc, "job_id"));
        if (job_id) api_location(c, "/api/jobs/%s/runs", job_id);
        api_json(c, 201, doc ? doc : json_object());
        return true;
    }
    struct run r;
    if (store_run_get(c->api->store, run_id, &r) != 0) {
        api_error(c, 409, "the run %s this Idempotency-Key started was deleted", run_id);
        return true;
    }
    http_add_header(c->req, "Idempotent-Replayed", "true");
    api_location(c, "/api/jobs/%s/runs/%s", r.job_id, r.id);
    api_reply_run(c, 201, &r);
    run_release(&r);
    return true;
}

/* A run request's title and queue, from body; errs says what is wrong with them. */
static void title_and_queue(json_t *body, struct run_request *rq, json_t *errs)
{
    json_t *title = json_object_get(body, "title");
    if (title && !json_is_null(title)) {
        size_t len = json_is_string(title) ? utf8_chars(json_string_value(title)) : 0;
        if (!json_is_string(title) || len < 1 || len > 250)
            json_errs_add(errs, "title", "must be a string of 1 to 250 characters");
        else if (utf8_blank(json_string_value(title)))
            json_errs_add(errs, "title", "must not be blank");
        else if (utf8_has_control(json_string_value(title)))
            json_errs_add(errs, "title", "must be one line without control characters");
        else
            rq->title = json_string_value(title);
    }
    json_t *queue = json_object_get(body, "queue");
    if (queue && !json_is_null(queue)) {
        if (!json_is_string(queue))
            json_errs_add(errs, "queue", "must be a queue name, not %s (see GET /api/queues)",
                          json_type_name(queue));
        else
            rq->queue = json_string_value(queue); /* checked against the job type on submit */
    }
}

/* An instant of a window given as field, not after now, or 0 with errs saying why not (the
 * past ends at now: why). */
static int64_t window_time(const json_t *v, const char *field, int64_t now, const char *why_past,
                           json_t *errs)
{
    int64_t us;
    const char *why;
    if (!json_is_string(v)) {
        json_errs_add(errs, field, "must be a date-time string, not %s", json_type_name(v));
    } else if (time_parse(json_string_value(v), &us, &why) != 0) {
        json_errs_add(errs, field, "not a valid date-time (%s)", why);
    } else if (us <= 0) {
        json_errs_add(errs, field, "%s is not after 1970-01-01T00:00:00Z", json_string_value(v));
    } else if (us > now) {
        json_errs_add(errs, field, "%s is in the future: %s", json_string_value(v), why_past);
    } else {
        return us;
    }
    return 0;
}

void api_runs_create(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    bool bad_key;
    const char *key = idempotency_key(c, &bad_key);
    char fingerprint[65];
    if (bad_key) {
        job_release(&j);
        return;
    }
    if (key) {
        request_fingerprint(c, j.id, fingerprint);
        if (idempotent_replay(c, key, fingerprint)) {
            job_release(&j);
            return;
        }
    }
    json_t *body = c->req->body_len ? api_body(c) : json_object();
    if (!body) {
        job_release(&j);
        return;
    }
    json_t *errs = json_array();
    static const char *const fields[] = {"title", "queue", "args", "custom_args", "until", NULL};
    api_unknown_fields_named(body, fields, errs);
    struct run_request rq = {0};
    rq.trigger = TRIGGER_MANUAL;
    rq.scheduled_for = NO_TIME;
    json_t *until = json_object_get(body, "until");
    if (until && !json_is_null(until))
        rq.until = window_time(until, "until", time_now_us(),
                               "a run's window ends when the run starts at the latest (that is "
                               "the window of a run without until)",
                               errs);
    title_and_queue(body, &rq, errs);
    json_t *args = json_object_get(body, "args");
    if (args && !json_is_null(args)) {
        if (!json_is_object(args))
            json_errs_add(errs, "args", "must be an object");
        else
            rq.args = args;
    }
    /* a since given in the future (a year mistyped) would make a run that handles nothing */
    int64_t since_us;
    const char *since = json_string_value(json_object_get(rq.args, "since")), *why;
    if (since && *since && time_parse(since, &since_us, &why) == 0)
        args_since_future(since_us, since, errs);
    json_t *custom = NULL;
    args_parse_custom(json_object_get(body, "custom_args"), "custom_args", &custom, errs);
    rq.custom_args = custom;
    /* a custom_args inside args may be JSON text too: read as the run will read it */
    json_t *inner = NULL;
    if (rq.args && json_is_string(json_object_get(rq.args, "custom_args")))
        args_parse_custom(json_object_get(rq.args, "custom_args"), "args.custom_args", &inner,
                          errs);
    args_too_large(rq.args, "args", "", errs);
    args_too_large(custom, "custom_args", "", errs);
    args_too_large(inner, "args.custom_args", "", errs);
    const struct task *t = taskset_get(dispatch_tasks(c->api->dispatch), j.task);
    bool admin = c->who.role == ROLE_ADMIN, sends = rq.args || custom;
    /* runs of a job type whose arguments reach far (an address to call, a folder to read), and
     * of a job whose arguments refer to secrets (an operator could send one to an address of
     * their own), take the arguments an admin saved unless an admin starts them */
    bool secret_job = (t && t->secret_defaults) || secrets_referred(j.run_args);
    const char *kept = NULL;
    if (!admin && sends && t && t->admin_args)
        kept = "its task file sets \"operator_args\": false";
    else if (!admin && sends && secret_job)
        kept = "the job's arguments refer to secrets";
    bool own_ref = !admin && (secrets_referred(rq.args) || secrets_referred(custom) ||
                              secrets_referred(inner));
    if (kept || own_ref) {
        json_decref(inner);
        json_decref(custom);
        json_decref(body);
        json_decref(errs);
        if (kept)
            api_error(c, 403,
                      "Permission denied: runs of job '%s' (type '%s') take only the job's saved "
                      "arguments unless an admin starts them (%s); leave out args and "
                      "custom_args",
                      j.title, j.task, kept);
        else
            api_error(c, 403,
                      "Permission denied: only admins refer to secrets ({\"$secret\": ...}) in a "
                      "run's arguments; give the argument a value of its own, or leave it out");
        job_release(&j);
        return;
    }
    /* each secret referred to is there now (it is read again when the run starts) */
    const char *secrets = c->api->cfg->secrets_dir;
    if (rq.args) secrets_check(secrets, rq.args, "args", admin, errs);
    if (inner) secrets_check(secrets, inner, "args.custom_args", admin, errs);
    if (custom) secrets_check(secrets, custom, "custom_args", admin, errs);
    json_decref(inner);
    struct user_ref by = auth_user_ref(&c->who);
    rq.started_by = &by;
    rq.check_secrets = true;
    rq.secret_paths = admin;
    struct run r;
    /* with problems found already, the run's own checks (its queue, its arguments) still say
     * theirs: all of them are reported together */
    int rc = json_array_size(errs) ? (dispatch_check(c->api->dispatch, &j, &rq, errs), -EINVAL)
                                   : dispatch_submit(c->api->dispatch, &j, &rq, &r, errs);
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
    /* in the run's transaction (the loop's iteration): a retry finds the key or no run */
    if (key)
        store_idempotency_put(c->api->store, c->who.id, key, fingerprint, r.id, NULL,
                              time_now_us());
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
    api_location(c, "/api/jobs/%s/runs/%s", r.job_id, r.id);
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
        if (r.status == RUN_SUCCESS) notify_success_deleted(c->api->notify, r.job_id);
        http_reply(c->req, 204, NULL, NULL, 0);
    }
    run_release(&r);
}

void api_runs_stop(struct api_ctx *c)
{
    /* no body, or {}: a stop takes no fields, and a body that names some is refused (as by a
     * queue's resume) rather than answered with a stop that did not do what it asked */
    if (c->req->body_len > 0) {
        json_t *body = api_body(c);
        if (!body) return;
        json_t *errs = json_array();
        static const char *const none[] = {NULL};
        api_unknown_fields(body, none, errs);
        json_decref(body);
        if (json_array_size(errs)) {
            api_invalid(c, errs);
            return;
        }
        json_decref(errs);
    }
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

/* ---- backfill ---- */

#define BACKFILL_MAX 1000 /* windows a request makes runs of */

/* "2026-03-01 00:00:00" (UTC) */
static void short_time(int64_t us, char out[32])
{
    int64_t secs = us / 1000000 - (us % 1000000 < 0), days = secs / 86400 - (secs % 86400 < 0);
    int64_t in_day = secs - days * 86400, y;
    unsigned m, dd;
    time_civil_from_days(days, &y, &m, &dd);
    snprintf(out, 32, "%04lld-%02u-%02u %02lld:%02lld:%02lld", (long long)y, m, dd,
             (long long)(in_day / 3600), (long long)(in_day / 60 % 60), (long long)(in_day % 60));
}

void api_runs_backfill(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    json_t *errs = json_array();
    static const char *const known[] = {"dry_run", NULL};
    api_params_known(c, known, errs);
    bool dry = api_bool_param(c, "dry_run", errs) == 1;
    /* a retry of a backfill with its key answers with the runs the first one started; a dry
     * run starts none, so its key is not looked at */
    bool bad_key;
    const char *key = dry ? NULL : idempotency_key(c, &bad_key);
    char fingerprint[65];
    if (key && !bad_key) {
        char *what = xasprintf("backfill %s", j.id);
        request_fingerprint(c, what, fingerprint);
        free(what);
    }
    if ((key && bad_key) || (key && idempotent_replay(c, key, fingerprint))) {
        json_decref(errs);
        job_release(&j);
        return;
    }
    json_t *body = api_body(c);
    if (!body) {
        json_decref(errs);
        job_release(&j);
        return;
    }
    static const char *const fields[] = {"from", "to", "step", "queue", "title", NULL};
    api_unknown_fields_named(body, fields, errs);
    json_t *v;
    struct run_request rq = {0};
    rq.trigger = TRIGGER_BACKFILL;
    rq.scheduled_for = NO_TIME;
    title_and_queue(body, &rq, errs);
    int64_t now = time_now_us(), from = 0, to = now, step_ms = 0;
    v = json_object_get(body, "from");
    if (!v || json_is_null(v))
        json_errs_add(errs, "from", "required: where the first window starts (a date-time)");
    else
        from = window_time(v, "from", now, "a backfill covers the past", errs);
    v = json_object_get(body, "to");
    if (v && !json_is_null(v))
        to = window_time(v, "to", now, "a backfill covers the past (leave out to for now)", errs);
    v = json_object_get(body, "step");
    const char *why;
    if (!v || json_is_null(v))
        json_errs_add(errs, "step", "required: the length of each window, such as 1d or 6h");
    else if (json_is_integer(v) && json_integer_value(v) > 0 &&
             json_integer_value(v) <= DURATION_MAX_MS / 1000) /* seconds, as a timeout takes */
        step_ms = json_integer_value(v) * 1000;
    else if (!json_is_string(v) || duration_parse(json_string_value(v), &step_ms, &why) != 0)
        json_errs_add(errs, "step", "not a duration (%s)",
                      json_is_string(v) ? why : "a string such as 1d, 6h or 30m, or seconds");
    else if (step_ms < 1000)
        json_errs_add(errs, "step", "must be at least 1s");
    char step[32] = "";
    if (step_ms >= 1000) duration_format(step_ms, step); /* as durations are written back */
    int64_t n = 0;
    if (from && to && from >= to) {
        json_errs_add(errs, "to", "must be after from");
    } else if (from && to && step_ms >= 1000) {
        n = (to - from + step_ms * 1000 - 1) / (step_ms * 1000);
        if (n > BACKFILL_MAX)
            json_errs_add(errs, "step", "makes %lld windows of %s from %s to %s; at most %d a "
                                        "backfill: give a longer step, or backfill the range in "
                                        "parts",
                          (long long)n, step,
                          json_string_value(json_object_get(body, "from")),
                          json_string_value(json_object_get(body, "to")) ?
                              json_string_value(json_object_get(body, "to")) : "now",
                          BACKFILL_MAX);
    }
    const struct task *t = taskset_get(dispatch_tasks(c->api->dispatch), j.task);
    bool admin = c->who.role == ROLE_ADMIN;
    if (t && t->admin_args && !admin) {
        json_decref(errs);
        json_decref(body);
        api_error(c, 403,
                  "Permission denied: a backfill gives each run a since of its own, and runs of "
                  "job '%s' (type '%s') take only the job's saved arguments unless an admin "
                  "starts them (its task file sets \"operator_args\": false)",
                  j.title, j.task);
        job_release(&j);
        return;
    }
    if (t && t->celery)
        json_errs_add(errs, "task", "job type '%s' is run by Celery workers, whose tasks get "
                                    "since alone (a run starts when a worker takes it): it "
                                    "cannot be backfilled in windows",
                      j.task);
    if (args_custom(j.run_args, NULL))
        json_errs_add(errs, "args", "the job's saved arguments are custom_args, which reach the "
                                    "task exactly as written: a backfill cannot give each run "
                                    "its since; save the job's arguments as args");
    struct user_ref by = auth_user_ref(&c->who);
    rq.started_by = &by;
    rq.check_secrets = true;
    rq.secret_paths = admin;
    rq.saved_args = true;
    /* each window's run: the job's saved arguments with the window's start as since; the
     * windows differ in since and until alone, so the first is checked for all */
    json_t *args = json_is_object(j.run_args) ? json_deep_copy(j.run_args) : json_object();
    bool own_title = rq.title != NULL;
    json_t *runs = json_array();
    int rc = json_array_size(errs) ? -EINVAL : 0;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        int64_t ws = from + i * step_ms * 1000, we = i + 1 < n ? ws + step_ms * 1000 : to;
        char ts[TIME_STR_MAX], te[TIME_STR_MAX], title[128];
        time_format(ws, ts);
        time_format(we, te);
        json_t *w = json_pack("{s:s,s:s}", "since", ts, "until", te);
        json_array_append_new(runs, w);
        json_object_set_new(args, "since", json_string(ts));
        rq.args = args;
        rq.until = we;
        if (!own_title) {
            char a[32], b[32];
            short_time(ws, a);
            short_time(we, b);
            snprintf(title, sizeof title, "Backfill %s to %s UTC", a, b);
            rq.title = title;
        }
        if (i == 0) rc = dispatch_check(c->api->dispatch, &j, &rq, errs);
        struct run r;
        if (rc == 0 && !dry && (rc = dispatch_submit(c->api->dispatch, &j, &rq, &r, errs)) == 0) {
            json_object_set_new(w, "id", json_string(r.id));
            json_object_set_new(w, "status", json_string(run_status_name(r.status)));
            run_release(&r);
        }
    }
    json_decref(args);
    if (rc == -EINVAL) {
        json_decref(runs);
        json_decref(body);
        job_release(&j);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (rc) {
        json_decref(runs);
        json_decref(body);
        job_release(&j);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    const char *queue = rq.queue ? rq.queue : j.default_queue;
    char ts[TIME_STR_MAX], te[TIME_STR_MAX];
    time_format(from, ts);
    time_format(to, te);
    if (!dry)
        api_audit(c, "run.backfilled", j.id, NULL, NULL,
                  json_pack("{s:s,s:s,s:s,s:s,s:I}", "from", ts, "to", te, "step", step, "queue",
                            queue, "runs", (json_int_t)n));
    json_t *answer = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:o}", "job_id", j.id, "from", ts,
                               "to", te, "step", step, "queue", queue, "dry_run", dry, "total",
                               (json_int_t)n, "runs", runs);
    if (key) { /* in the runs' transaction (the loop's iteration), as a run request's key */
        char *text = json_dumps(answer, JSON_COMPACT);
        store_idempotency_put(c->api->store, c->who.id, key, fingerprint,
                              json_string_value(json_object_get(json_array_get(runs, 0), "id")),
                              text, time_now_us());
        free(text);
    }
    if (!dry) api_location(c, "/api/jobs/%s/runs", j.id); /* its runs, the newest first */
    api_json(c, dry ? 200 : 201, answer);
    json_decref(body);
    job_release(&j);
}

/* ---- stopping a job's runs ---- */

#define STOP_MAX 1000 /* runs a request stops: more are left to the next request */

void api_jobs_stop_runs(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    json_t *body = c->req->body_len ? api_body(c) : json_object();
    if (!body) {
        job_release(&j);
        return;
    }
    json_t *errs = json_array();
    static const char *const known[] = {"dry_run", NULL};
    api_params_known(c, known, errs);
    bool dry = api_bool_param(c, "dry_run", errs) == 1;
    static const char *const fields[] = {"status", "trigger", NULL};
    api_unknown_fields_named(body, fields, errs);
    json_t *v;
    static const char only[] = "an array of QUEUED and RUNNING (the runs a stop ends)";
    bool queued = true, running = true;
    v = json_object_get(body, "status");
    if (v && !json_is_null(v)) {
        queued = running = false;
        size_t i;
        json_t *e;
        if (!json_is_array(v) || !json_array_size(v))
            json_errs_add(errs, "status", "must be %s", only);
        json_array_foreach(v, i, e)
        {
            int st = json_is_string(e) ? run_status_parse(json_string_value(e)) : -1;
            if (st == RUN_QUEUED)
                queued = true;
            else if (st == RUN_RUNNING)
                running = true;
            else
                json_errs_add(errs, "status", "must be %s, not %s", only,
                              json_is_string(e) ? json_string_value(e) : json_type_name(e));
        }
    }
    int trigger = -1;
    v = json_object_get(body, "trigger");
    if (v && !json_is_null(v)) {
        char name[16] = "";
        size_t len = json_is_string(v) ? json_string_length(v) : 0;
        for (size_t i = 0; i < len && i + 1 < sizeof name; i++)
            name[i] = (char)tolower((unsigned char)json_string_value(v)[i]);
        if (len >= sizeof name || (trigger = run_trigger_parse(name)) < 0)
            json_errs_add(errs, "trigger", "must be manual, scheduled, retry, chained or backfill");
    }
    json_decref(body);
    if (json_array_size(errs)) {
        job_release(&j);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    struct user_ref by = auth_user_ref(&c->who);
    json_t *stopped = json_array();
    int rc = 0, left = STOP_MAX;
    bool more = false;
    for (int pass = 0; pass < 2 && rc >= 0; pass++) {
        if (!(pass == 0 ? queued : running)) continue;
        char *ids;
        /* one more than can be stopped: whether any is left for the next request */
        int n = store_job_runs_in(c->api->store, j.id, pass == 0 ? RUN_QUEUED : RUN_RUNNING,
                                  trigger, left + 1, &ids);
        if (n < 0) {
            rc = n;
            break;
        }
        more = more || n > left;
        for (int i = 0; i < n && left > 0; i++) {
            struct run r;
            run_init(&r);
            const char *id = ids + (size_t)i * UUID_STR_LEN;
            /* a dry run tells the runs as they are, each a stop would take */
            int s = dry ? store_run_get(c->api->store, id, &r)
                        : dispatch_stop(c->api->dispatch, id, &by, &r);
            if (s == 0) {
                if (!dry) api_audit(c, "run.stopped", r.job_id, r.id, NULL, NULL);
                json_array_append_new(stopped, json_pack("{s:s,s:s}", "id", r.id, "status",
                                                         run_status_name(r.status)));
                left--;
            } else if (s != -EINVAL && s != -ENOENT) {
                rc = s; /* the store failed */
            }
            run_release(&r);
        }
        free(ids);
    }
    job_release(&j);
    if (rc < 0) {
        json_decref(stopped);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    api_json(c, dry ? 200 : 202,
             json_pack("{s:I,s:o,s:b,s:b}", "stopped", (json_int_t)json_array_size(stopped),
                       "runs", stopped, "more", more, "dry_run", dry));
}
