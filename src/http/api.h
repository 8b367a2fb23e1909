/*
 * api: the REST API - routing, authentication and the JSON shapes of jobs and runs - shared by
 * the api_*.c handlers. Field names, envelopes and errors follow the reference system so its
 * clients feel at home: lists are {"hits":{"hits":[...],"total":N},"links":{...}}, errors are
 * {"status":N,"message":"...","errors":[{"field","messages"}]}.
 */
#ifndef SKED_API_H
#define SKED_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "dispatch.h"
#include "events.h"
#include "http.h"
#include "router.h"
#include "store/store.h"

struct offload;

/* Long reads at once: two, so that a scrape of /metrics need not wait for a text search. */
#define API_READERS 2

struct api {
    struct store *store;
    struct dispatch *dispatch;
    struct scheduler *sched;
    struct events *events;
    struct metrics *metrics;
    struct notify *notify;
    const struct config *cfg;
    struct auth *auth;
    struct offload *offload; /* password hashing */
    struct event_base *base;
    int64_t started_us;
    struct job_doc *docs; /* job documents as last sent (api_jobs.c), allocated on first use */
    /* reads that may take long (api_read_off_loop): API_READERS threads of their own, each
     * with its own connection to the store, opened there on first use; NULL search: on the
     * loop */
    struct offload *search;
    struct store *readers[API_READERS];
    _Atomic int nreaders; /* threads that took one of readers */
    struct purge *purges; /* job deletions under way (api_jobs.c) */
    int port; /* the port listened on: the settings', or the one the kernel chose for 0 */
    /* reads that are short whatever the store holds (the queues' depths, through their
     * index): one thread of their own with its own connection, made on first use, so that
     * they never wait behind a search on the threads above; NULL search: none */
    struct offload *quick;
    struct store *quick_reader;
};

/* Everything a handler gets. */
struct api_ctx {
    struct api *api;
    struct http_req *req;
    struct route_match *m;
    struct principal who;
    bool live; /* the answer holds a figure that moves with the clock (a started run's duration) */
    const char *peer; /* the client's address for the audit trail when req is NULL (it left) */
};

/*
 * Work that would stall the loop, for a request: work(arg) on a thread of pool, then
 * answer(c, arg) on the loop, with c NULL when the client has left (to free arg; work is then
 * skipped if it had not begun). work must touch nothing the loop owns, and arg must not point
 * into the request.
 */
typedef void (*api_answer_fn)(struct api_ctx *c, void *arg);
void api_off_loop(struct api_ctx *c, struct offload *pool, void (*work)(void *arg),
                  api_answer_fn answer, void *arg);
/*
 * The same for a read that may take long on a large store (a text search, a count of many
 * rows): read() runs on a thread of api->search with that thread's own connection to the store
 * (NULL when that cannot be opened), so the loop answers and fires meanwhile. Without those
 * threads (a store in memory) both run at once on the loop.
 */
typedef void (*api_read_fn)(struct store *reader, void *arg);
void api_read_off_loop(struct api_ctx *c, api_read_fn read, api_answer_fn answer, void *arg);

/* The queues (dispatch_queues) with their depths, counted off the loop (a backlog of 200,000
 * runs takes 20-30 ms): alone on the thread of short reads (api->quick), which no search holds
 * up; with also(reader, arg) there after them when not NULL, as a long read. Then
 * answer(c, queues, n, arg) on the loop; c is NULL (and qs too) when the client left
 * meanwhile. */
void api_with_queues(struct api_ctx *c, api_read_fn also,
                     void (*answer)(struct api_ctx *c, const struct queue_info *qs, size_t n,
                                    void *arg),
                     void *arg);

/* The http_handler for the whole server. */
void api_handle(struct http_req *req, void *arg);
/* For http_server_gate: whether the head's credentials are good, so that its body (past
 * API_FREE_BODY bytes) is worth reading; arg is the struct api. */
#define API_FREE_BODY (64 * 1024)
bool api_body_gate(const struct http_req *req, void *arg);
/* Drops what the API keeps between requests (job documents): after the job types changed, and
 * (api_release) at the end. */
void api_forget(struct api *api);
void api_release(struct api *api);
/* The route table and each route's permission (for tests and documentation). */
size_t api_routes(const struct route **table, const enum perm **perms);
/* Appends to the audit trail as the caller (details: stolen, may be NULL). */
void api_audit(struct api_ctx *c, const char *action, const char *job_id, const char *run_id,
               const char *target, json_t *details);
/* The same with details as JSON text already written (every run's start writes one). */
void api_audit_text(struct api_ctx *c, const char *action, const char *job_id,
                    const char *run_id, const char *target, const char *details);

/* ---- responses ---- */
void api_json(struct api_ctx *c, int status, json_t *body); /* steals body */
void api_error(struct api_ctx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 400 with field errors. */
void api_invalid(struct api_ctx *c, json_t *errs);
/* Parses the request body as a JSON object; on failure answers 400 and returns NULL. */
json_t *api_body(struct api_ctx *c);
/* Adds "unknown field" to errs for each member of body not in allowed (NULL-terminated);
 * true when there was one. */
bool api_unknown_fields(json_t *body, const char *const *allowed, json_t *errs);
/* The same, the message naming the fields allowed: "unknown field (title, queue)". */
bool api_unknown_fields_named(json_t *body, const char *const *allowed, json_t *errs);
/* A string member of at most max characters; NULL when absent (or added to errs). */
const char *api_str_field(json_t *body, const char *key, size_t max, bool required, json_t *errs);
/* api_str_field for a name or a note shown on one line: not blank, no control characters. */
const char *api_line_field(json_t *body, const char *key, size_t max, bool required,
                           json_t *errs);

/* ---- query parameters and paging ---- */
/* Adds "unknown parameter (the ones it takes)" to errs for each query parameter of the request
 * not in known (NULL-terminated), once per name. */
void api_params_known(struct api_ctx *c, const char *const *known, json_t *errs);
/* For a list without parameters: answers 400 naming each one the request has, and returns
 * true; false when it has none. */
bool api_no_params(struct api_ctx *c);
/* The one value of query parameter key, or NULL when it is absent or refused: given more than
 * once, empty (unless API_PARAM_EMPTY) or not UTF-8, each refusal added to errs; accepts says what a
 * value may be ("a whole number from 1 to 1000"). API_PARAM_LIST: the value is comma-separated,
 * which the refusal of a repeated one says. API_PARAM_REQUIRED: the refusal of an empty one
 * does not suggest leaving it out. */
#define API_PARAM_EMPTY 1u
#define API_PARAM_LIST 2u
#define API_PARAM_REQUIRED 4u
const char *api_param(struct api_ctx *c, const char *key, const char *accepts, unsigned flags,
                      json_t *errs);
/* s as a whole number from 0 to max written in plain decimal digits: 0, else -EINVAL (no
 * whole number), -ERANGE (negative or above max) or -EDOM (one written with a sign, spaces or
 * leading zeros, which is refused too). */
int api_decimal(const char *s, int64_t max, int64_t *out);
/* Query parameter job_id (api_param): a job's id in lower case into out, "" when absent;
 * anything but a UUID added to errs. */
void api_job_id_param(struct api_ctx *c, char out[37], json_t *errs);
/* Query parameter key (api_param) as a whole number from min to max, or dflt. */
int64_t api_int_param(struct api_ctx *c, const char *key, int64_t dflt, int64_t min, int64_t max,
                      json_t *errs);
/* Query parameter key (api_param) as a boolean: true or false, 1 or 0, in any case; -1 when
 * absent or refused. */
int api_bool_param(struct api_ctx *c, const char *key, json_t *errs);

struct page {
    int64_t page, size;
    bool desc;
    const char *sort;
};
/* The parameters api_page reads, for the lists of known ones. */
#define API_PAGE_PARAMS "page", "size", "sort", "sort_direction"
/* Reads page, size, sort and sort_direction; adds errors to errs. */
void api_page(struct api_ctx *c, struct page *p, const char *default_sort, bool default_desc,
              const char *const *sorts, json_t *errs);
/* {"hits":{"hits":items,"total":total},"links":{...},"sortBy":...}; steals items. */
json_t *api_list(struct api_ctx *c, json_t *items, int64_t total, const struct page *p);
/* api_list's document as the answer (200), with its items already written as JSON text
 * (comma-separated); after (a keyset page: the items after that one) gives links self and,
 * when more follow, next (after=next_after) instead of page numbers. */
void api_reply_list(struct api_ctx *c, const struct buf *items, int64_t total,
                    const struct page *p, const char *after, const char *next_after);

/*
 * A page of the lists whose items may be large (runs, jobs, the audit trail: a run's arguments
 * take up to 256 KiB) holds at most `size` items and at most API_PAGE_MAX_BYTES of them, its
 * first item whatever its size: 100 such runs were 26 MB, built in 0.55 s. A page cut so goes
 * on where it ends: after a run, links.next is after its last item; by number, it is answered
 * as the page of a smaller size that starts at the same item (api_page_fit), whose links name
 * that page and size. 4 MiB holds 16 runs of the largest arguments (read in about 80 ms) and
 * leaves a page of 1,000 ordinary runs (1.5 MB) whole, which 1 MiB cut in two; 8 MiB took
 * twice as long, and 60 clients that did not read their answers held 400 MB.
 */
#define API_PAGE_MAX_BYTES (4 * 1024 * 1024)
/* A page read on the loop (the first of all runs, of a job's, of the audit trail) reads at
 * most this many bytes of rows there: one whose rows are larger is read again by a reader
 * thread (api_read_off_loop), since parsing them is what takes long (jansson: about 15 ms a
 * MiB). Ordinary rows take a few hundred bytes, and their pages stay on the loop. */
#define API_PAGE_LOOP_BYTES (256 * 1024)
/* The page p of which only the first fit items fit (1 <= fit < p->size) made the page of the
 * largest size that divides p->size and is at most fit, numbered so that it starts at the
 * same item ((page - 1) * size / new size + 1); returns that size. */
int64_t api_page_fit(struct page *p, int64_t fit);
/* A page's items as they are written, comma-separated into b: api_items_begin before each,
 * and api_items_end after it, which is false (the item taken out again, cut set) when the
 * item took the items past API_PAGE_MAX_BYTES: the page ends before it. */
struct page_items {
    struct buf b;
    size_t n;     /* items kept */
    bool cut;     /* the page ended for want of room (also set by a store read cut): more may
                     follow */
    size_t mark;  /* where the item being written starts */
    size_t whole; /* the most items kept that make a page of a size dividing the page's */
    size_t whole_len;
};
void api_items_begin(struct page_items *it);
bool api_items_end(struct page_items *it, const struct page *p);
/* How many of the n items read for page p to write: all, but of a page by number whose read
 * was cut (store_run_list's cut), only those of the page it is answered as (api_page_fit). */
size_t api_items_room(const struct page *p, size_t n, bool cut);
/* api_reply_list of the items; a page by number that was cut is answered as api_page_fit's
 * page. Frees it->b. */
void api_reply_items(struct api_ctx *c, struct page_items *it, int64_t total, const struct page *p,
                     const char *after, const char *next_after);

/* ---- shapes ---- */
/* "http://host" of this request, for links. */
const char *api_base_url(struct api_ctx *c, char *buf, size_t n);
/* Adds the Location header of a 201: api_base_url then the path made of fmt (the created
 * resource's own URL, its links.self where it has links). */
void api_location(struct api_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *api_run_json(struct api_ctx *c, const struct run *r);
/* The same run as JSON text appended to b, and as a whole answer with this status. */
void api_run_write(struct api_ctx *c, struct buf *b, const struct run *r);
void api_reply_run(struct api_ctx *c, int status, const struct run *r);
/* The job as JSON text appended to b. with_last: with last_run and last_runs (a list always
 * has them; a read when runs exist). */
void api_job_write(struct api_ctx *c, struct buf *b, const struct job *j, bool with_last);
/* What a job's document tells of its runs, read from a store (the loop's, or a reader's off
 * the loop): its default since (store_last_success_start) and, when runs is true, its newest
 * run and its newest of each status. */
struct job_last {
    int64_t since;
    bool any; /* the job has runs: last is its newest, by[s] its newest of status s if has[s] */
    struct run last;
    bool has[RUN_STATUS_COUNT];
    struct run by[RUN_STATUS_COUNT];
};
void api_job_last_read(struct store *st, const char *job_id, bool runs, struct job_last *l);
void api_job_last_release(struct job_last *l);
/* api_job_write with what it tells of the job's runs read ahead into pre. */
void api_job_write_with(struct api_ctx *c, struct buf *b, const struct job *j, bool with_last,
                        const struct job_last *pre);
/* Validates a job's JSON body against the job types ts and the queues of cfg and applies it to
 * j, each refusal added to errs. create: a new job (its task is required); full: fields left
 * out take their defaults (POST, PUT), else they keep j's (PATCH). */
void api_job_apply(const struct taskset *ts, const struct config *cfg, json_t *body,
                   struct job *j, bool create, bool full, json_t *errs);
json_t *api_time(int64_t us);

/* Loads the job named by the first path parameter; answers 404 and returns -1 when absent,
 * or while its deletion is under way. */
int api_load_job(struct api_ctx *c, struct job *j);
/* Whether the job's deletion has begun (its runs are being deleted). */
bool api_job_purging(const struct api *api, const char *id);
/* Loads run {2} of job {1}; answers 404 when absent or of another job. */
int api_load_run(struct api_ctx *c, struct run *r);

/* ---- handlers ---- */
void api_jobs_list(struct api_ctx *c);
void api_jobs_create(struct api_ctx *c);
void api_jobs_get(struct api_ctx *c);
void api_jobs_stats(struct api_ctx *c);
void api_jobs_put(struct api_ctx *c);
void api_jobs_patch(struct api_ctx *c);
void api_jobs_delete(struct api_ctx *c);
void api_runs_list(struct api_ctx *c);     /* of one job */
void api_runs_all(struct api_ctx *c);      /* across jobs */
void api_runs_create(struct api_ctx *c);
void api_runs_get(struct api_ctx *c);
void api_runs_delete(struct api_ctx *c);
void api_runs_stop(struct api_ctx *c);
void api_runs_backfill(struct api_ctx *c);
void api_jobs_stop_runs(struct api_ctx *c);
void api_logs_list(struct api_ctx *c);
void api_logs_stream(struct api_ctx *c);
void api_runs_stream(struct api_ctx *c);
void api_logs_search(struct api_ctx *c);   /* /api/logs/jobs (reference shape) */
void api_tasks_list(struct api_ctx *c);
void api_tasks_get(struct api_ctx *c);
void api_tasks_args(struct api_ctx *c);
void api_queues_list(struct api_ctx *c);
void api_queues_pause(struct api_ctx *c);
void api_queues_resume(struct api_ctx *c);
void api_schedules_preview(struct api_ctx *c);
void api_metrics(struct api_ctx *c);
void api_session_create(struct api_ctx *c);
void api_session_get(struct api_ctx *c);
void api_session_delete(struct api_ctx *c);
void api_users_list(struct api_ctx *c);
void api_users_create(struct api_ctx *c);
void api_users_get(struct api_ctx *c);
void api_users_patch(struct api_ctx *c);
void api_users_delete(struct api_ctx *c);
void api_users_token(struct api_ctx *c);
void api_tokens_list(struct api_ctx *c);
void api_tokens_create(struct api_ctx *c);
void api_tokens_revoke(struct api_ctx *c);
void api_audit_list(struct api_ctx *c);
struct tz;
/* {"utc","local","offset","abbreviation","dst","note"} for a fire time in zone z. */
json_t *api_fire_time(const struct tz *z, int64_t us, int flags);

#endif
