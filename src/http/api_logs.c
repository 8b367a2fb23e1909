/*
 * api_logs: a run's log - cursor pages (/logs), the reference's search shape (/api/logs/jobs)
 * and a live Server-Sent Events stream (/logs/stream) that sends the stored lines, then live
 * ones, then a final status event. A stream never holds more than about 256 KiB for a slow
 * client: past that it stops taking live lines and catches up from the store as the client
 * reads, so no line is lost and memory stays bounded whatever the number of followers.
 */
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/uuid.h"
#include "base/xalloc.h"

#define STREAM_HIGH_WATER (256 * 1024)
#define STREAM_BATCH 500
/* A stream catching up reads the store in windows of this many lines, and at most PUMP_LINES
 * lines in one turn of the loop before it lets the loop go on: a level filter may leave most
 * of a long log unsent, so what it sends cannot be what bounds its reading. */
#define STREAM_WINDOW 5000
#define PUMP_LINES 5000
#define TICK_SECONDS 5   /* how often a live stream checks that its caller may still read */
#define PING_TICKS 3     /* a ": ping" comment every third tick (15 s) */
#define SEARCH_MAX 2000
/* A page of lines (and a search's) also ends at the line that brings its messages to this
 * many bytes: 5,000 lines of 16 KiB, each byte of them a control character escaped in six,
 * would make an answer of 480 MB, built on the loop. */
#define PAGE_BYTES (1024 * 1024)

/* Whether lines, read with PAGE_BYTES, stopped for their bytes. */
static bool cut_for_bytes(const struct log_line *lines, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += strlen(lines[i].message);
    return bytes >= PAGE_BYTES;
}

/* A stored line's text as JSON: a line that is not valid UTF-8 (one stored cut inside a
 * character by an earlier version) is shown repaired, invalid bytes as U+FFFD, never blank. */
static json_t *message_json(const char *text)
{
    text = text ? text : "";
    json_t *msg = json_string(text);
    if (msg) return msg;
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, text, strlen(text));
    msg = json_string(buf_cstr(&b));
    buf_free(&b);
    return msg ? msg : json_string("");
}

static json_t *line_json(const struct log_line *l)
{
    return json_pack("{s:I,s:o,s:s,s:s,s:o}", "seq", (json_int_t)l->seq, "timestamp",
                     api_time(l->ts), "level", log_line_level_name(l->level), "stream",
                     log_stream_name(l->stream), "message", message_json(l->message));
}

static int level_param(struct api_ctx *c, json_t *errs)
{
    static const char levels[] = "DEBUG, INFO, WARNING, ERROR or CRITICAL";
    const char *lv = api_param(c, "level", levels, 0, errs);
    if (!lv) return LL_DEBUG;
    int l = log_line_level_parse(lv);
    if (l < 0) json_errs_add(errs, "level", "must be %s", levels);
    return l < 0 ? LL_DEBUG : l;
}

/* The seq to start after: the parameter after, else 0. */
static int64_t after_param(struct api_ctx *c, json_t *errs)
{
    return api_int_param(c, "after", 0, 0, INT64_MAX / 2, errs);
}

/*
 * The count of a run's lines of a level, kept between pages: a page of a log of a million lines
 * counted them all (0.14 s), and a client reads such a log in 200 pages or more. A run's lines
 * are only ever added, in transactions that each add seqs above every one stored, and go only
 * with their run: the count of the lines up to a seq never changes. So a count is kept with the
 * last seq it holds, by the run's id (a deleted run's rid may be given again, its id never) and
 * the level; a page of a log whose last seq is still that one takes it as it is, and one of a
 * log that grew since counts only the lines above it, when they are not too many.
 */
#define COUNTS_KEPT 64
#define COUNT_GROWN_MAX 20000 /* more lines than that added since: counted afresh */
#define COUNT_WINDOW 5000
struct log_count {
    char run_id[UUID_STR_LEN];
    int level;
    int64_t last_seq, count;
    uint64_t used; /* when last taken, for replacement; 0: a free slot */
};
static struct {
    pthread_mutex_t lock;
    uint64_t clock;
    struct log_count e[COUNTS_KEPT];
} counts = {PTHREAD_MUTEX_INITIALIZER, 0, {{{0}, 0, 0, 0, 0}}};

/* The count kept for the run's lines of level into *have, or false. */
static bool count_kept(const char *run_id, int level, struct log_count *have)
{
    bool found = false;
    pthread_mutex_lock(&counts.lock);
    for (int i = 0; i < COUNTS_KEPT && !found; i++) {
        struct log_count *e = &counts.e[i];
        if (e->used && e->level == level && strcmp(e->run_id, run_id) == 0) {
            e->used = ++counts.clock;
            *have = *e;
            found = true;
        }
    }
    pthread_mutex_unlock(&counts.lock);
    return found;
}

static void count_keep(const char *run_id, int level, int64_t last_seq, int64_t count)
{
    pthread_mutex_lock(&counts.lock);
    struct log_count *slot = NULL;
    for (int i = 0; i < COUNTS_KEPT; i++) {
        struct log_count *e = &counts.e[i];
        if (e->used && e->level == level && strcmp(e->run_id, run_id) == 0) {
            slot = e;
            break;
        }
        if (!slot || e->used < slot->used) slot = e; /* a free slot, else the least used */
    }
    /* another thread may have kept a newer one meanwhile */
    if (!(slot->used && slot->level == level && strcmp(slot->run_id, run_id) == 0 &&
          slot->last_seq > last_seq)) {
        memcpy(slot->run_id, run_id, UUID_STR_LEN);
        slot->level = level;
        slot->last_seq = last_seq;
        slot->count = count;
        slot->used = ++counts.clock;
    }
    pthread_mutex_unlock(&counts.lock);
}

/* The number of lines of level (and above) of run run_id (rid), as store_log_count, and into
 * *last_seq the last seq of the log (any level) read with it: the count holds the lines up to
 * that seq. On a reader's connection. A kept count is right while lines are only added above
 * the last seq; they are taken away only with their run, by the prune, which deletes a long
 * log in pieces before its run: meanwhile, the seconds before the run is gone, a page of that
 * log may tell a total of lines already deleted. */
static int64_t log_total(struct store *st, const char *run_id, int64_t rid, int level,
                         int64_t *last_seq)
{
    int64_t last = store_log_last_seq(st, rid);
    struct log_count have;
    bool kept = count_kept(run_id, level, &have);
    if (kept && have.last_seq == last) {
        *last_seq = last;
        return have.count;
    }
    if (kept && have.last_seq < last && last - have.last_seq <= COUNT_GROWN_MAX) {
        /* only the lines added since, up to the last seq read */
        int64_t added = 0, after = have.last_seq;
        bool ok = true;
        for (;;) {
            struct log_line *lines;
            size_t n;
            if (store_log_list(st, rid, after, last, level, COUNT_WINDOW, 0, &lines, &n) != 0) {
                ok = false;
                break;
            }
            added += (int64_t)n;
            if (n) after = lines[n - 1].seq;
            store_log_free(lines, n);
            if (n < COUNT_WINDOW) break;
        }
        if (ok) {
            count_keep(run_id, level, last, have.count + added);
            *last_seq = last;
            return have.count + added;
        }
    }
    int64_t total = store_log_count(st, rid, level);
    int64_t again = store_log_last_seq(st, rid);
    *last_seq = again;
    /* lines added between the two reads: the count holds some of them, which is no count of
     * a seq to keep */
    if (again == last) count_keep(run_id, level, last, total);
    return total;
}

/* A page of a run's log, read off the loop: a level filter reads the lines below it too, and
 * the count reads every line of the level, which for a run near its log cap (16 MiB of short
 * lines) takes long enough to hold up the loop. */
struct logpage {
    char run_id[UUID_STR_LEN], job_id[UUID_STR_LEN];
    int64_t rid, after, limit;
    int level;
    int rc;
    enum run_status status; /* read before the lines: once ended, every line of it is there */
    struct log_line *lines;
    size_t n;
    int64_t total, last_seq;
};

static void page_read(struct store *reader, void *arg)
{
    struct logpage *p = arg;
    struct run r;
    p->rc = reader ? store_run_get(reader, p->run_id, &r) : -EIO;
    if (p->rc) return;
    p->status = r.status;
    run_release(&r);
    p->rc = store_log_list(reader, p->rid, p->after, INT64_MAX, p->level, (size_t)p->limit,
                           PAGE_BYTES, &p->lines, &p->n);
    if (p->rc) return;
    p->total = log_total(reader, p->run_id, p->rid, p->level, &p->last_seq);
}

static void page_answer(struct api_ctx *c, void *arg)
{
    struct logpage *p = arg;
    if (!c) {
        /* the client left: only what was read is freed */
    } else if (p->rc == -ENOENT) {
        api_error(c, 404, "run not found (deleted meanwhile)");
    } else if (p->rc) {
        api_error(c, 503, "the store failed; see the server log");
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < p->n; i++) json_array_append_new(items, line_json(&p->lines[i]));
        int64_t last = p->n ? p->lines[p->n - 1].seq : p->after;
        /* a full page (of lines or of bytes) may end the log too: then it says so, rather
         * than link to an empty page */
        bool full = (int64_t)p->n == p->limit || cut_for_bytes(p->lines, p->n);
        bool ended = !full || last >= p->last_seq;
        bool complete = run_status_terminal(p->status) && ended;
        json_t *links = json_object();
        char base[256];
        api_base_url(c, base, sizeof base);
        if (full && !complete) {
            char *next = xasprintf("%s/api/jobs/%s/runs/%s/logs?after=%lld&limit=%lld&level=%s",
                                   base, p->job_id, p->run_id, (long long)last,
                                   (long long)p->limit, log_line_level_name(p->level));
            json_object_set_new(links, "next", json_string(next));
            free(next);
        }
        api_json(c, 200,
                 json_pack("{s:{s:o,s:I},s:I,s:b,s:s,s:o}", "hits", "hits", items, "total",
                           (json_int_t)p->total, "after", (json_int_t)last, "complete", complete,
                           "run_status", run_status_name(p->status), "links", links));
    }
    if (p->rc == 0) store_log_free(p->lines, p->n);
    free(p);
}

void api_logs_list(struct api_ctx *c)
{
    struct run r;
    if (api_load_run(c, &r)) return;
    static const char *const known[] = {"after", "limit", "level", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    int64_t after = after_param(c, errs);
    int64_t limit = api_int_param(c, "limit", 500, 0, 5000, errs);
    int level = level_param(c, errs);
    if (limit == 0) limit = 500;
    if (json_array_size(errs)) {
        run_release(&r);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    struct logpage *p = xcalloc(1, sizeof *p);
    memcpy(p->run_id, r.id, sizeof p->run_id);
    memcpy(p->job_id, r.job_id, sizeof p->job_id);
    p->rid = r.rid;
    p->after = after;
    p->limit = limit;
    p->level = level;
    run_release(&r);
    api_read_off_loop(c, page_read, page_answer, p);
}

/* Whether v is a timestamp of a hits.sort, as clients send it back: also with its "+" read
 * as the space it stands for in a query string (the reference's client does not escape it). */
static bool sort_timestamp(const char *v)
{
    int64_t us;
    const char *why;
    if (time_parse(v, &us, &why) == 0) return true;
    const char *sp = strrchr(v, ' ');
    if (!sp) return false;
    char *plus = xstrdup(v);
    plus[sp - v] = '+';
    bool ok = time_parse(plus, &us, &why) == 0;
    free(plus);
    return ok;
}

/* The seq that search_after asks to continue after (0 without it). Its values are the previous
 * answer's hits.sort: a timestamp, which is not read, and a seq, of which the last one counts.
 * Anything else is refused rather than read as no cursor: a client whose cursor is lost would
 * be sent line 1 again and again. */
static int64_t search_after(struct api_ctx *c, json_t *errs)
{
    int64_t after = 0;
    bool given = false, seq = false, bad = false;
    for (size_t i = 0; i < c->req->nparams; i++) {
        if (strcmp(c->req->params[i].key, "search_after") != 0) continue;
        const char *v = c->req->params[i].value;
        int64_t n;
        int rc = api_decimal(v, INT64_MAX / 2, &n);
        given = true;
        if (rc == 0) {
            after = n;
            seq = true;
        } else if (!*v) {
            json_errs_add(errs, "search_after",
                          "must not be empty: pass the values of the previous answer's hits.sort");
            bad = true;
        } else if (rc != -EINVAL || !sort_timestamp(v)) {
            json_errs_add(errs, "search_after",
                          "'%.60s' is neither a line's sequence number (a whole number from 0 to "
                          "4611686018427387903) nor "
                          "a timestamp: pass the values of the previous answer's hits.sort",
                          v);
            bad = true;
        }
    }
    if (given && !seq && !bad)
        json_errs_add(errs, "search_after",
                      "holds no sequence number (a whole number from 0): pass the values of the "
                      "previous answer's hits.sort, its timestamp and its number");
    return after;
}

/* The lines of a search, read off the loop (its count reads every line of the run). */
struct logsearch {
    char run_id[UUID_STR_LEN], job_id[UUID_STR_LEN];
    int64_t rid, after;
    int rc;
    struct log_line *lines;
    size_t n;
    int64_t total;
};

static void search_read(struct store *reader, void *arg)
{
    struct logsearch *ls = arg;
    ls->rc = reader ? store_log_list(reader, ls->rid, ls->after, INT64_MAX, LL_DEBUG,
                                     SEARCH_MAX, PAGE_BYTES, &ls->lines, &ls->n)
                    : -EIO;
    int64_t last_seq;
    if (ls->rc == 0) ls->total = log_total(reader, ls->run_id, ls->rid, LL_DEBUG, &last_seq);
}

static void search_answer(struct api_ctx *c, void *arg)
{
    struct logsearch *ls = arg;
    if (c && ls->rc) {
        api_error(c, 503, "the store failed; see the server log");
    } else if (c) {
        json_t *items = json_array(), *sort = json_array();
        for (size_t i = 0; i < ls->n; i++) {
            const struct log_line *l = &ls->lines[i];
            json_t *s = json_pack("[o,I]", api_time(l->ts), (json_int_t)l->seq);
            json_array_append_new(
                items, json_pack("{s:o,s:s,s:o,s:s,s:s,s:i,s:{s:s,s:s,s:s},s:O}", "timestamp",
                                 api_time(l->ts), "level", log_line_level_name(l->level),
                                 "message", message_json(l->message), "module",
                                 log_stream_name(l->stream), "function", "", "line", 0,
                                 "context", "job_id", ls->job_id, "run_id", ls->run_id,
                                 "task_id", ls->run_id, "sort", s));
            if (i == ls->n - 1) json_array_extend(sort, s);
            json_decref(s);
        }
        json_t *warnings = json_array();
        int64_t remaining = ls->total - (ls->after + (int64_t)ls->n);
        if ((ls->n == SEARCH_MAX || cut_for_bytes(ls->lines, ls->n)) && remaining > 0)
            json_array_append_new(
                warnings,
                json_pack("{s:s,s:s,s:I,s:i}", "type", "truncated_results", "message",
                          "More log lines exist: pass the last hit's sort values as "
                          "search_after to fetch the next page.",
                          "total_available", (json_int_t)ls->total, "max_results", SEARCH_MAX));
        api_json(c, 200, json_pack("{s:{s:o,s:I,s:o},s:o}", "hits", "hits", items, "total",
                                   (json_int_t)ls->total, "sort", sort, "warnings", warnings));
    }
    if (ls->rc == 0) store_log_free(ls->lines, ls->n);
    free(ls);
}

void api_logs_search(struct api_ctx *c)
{
    static const char *const known[] = {"q", "search_after", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    const char *q = api_param(c, "q", "the id of a run", API_PARAM_REQUIRED, errs);
    if (!http_param(c->req, "q")) json_errs_add(errs, "q", "required: the id of a run");
    int64_t after = search_after(c, errs);
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    struct run r;
    char id[UUID_STR_LEN] = "";
    if (uuid_valid(q))
        for (int i = 0; i < UUID_STR_LEN; i++) id[i] = (char)tolower((unsigned char)q[i]);
    int rc = *id ? store_run_get(c->api->store, id, &r) : -ENOENT;
    if (rc == -ENOENT) {
        /* the reference searches free text: an unknown run simply has no lines */
        api_json(c, 200, json_pack("{s:{s:[],s:i,s:[]},s:[]}", "hits", "hits", "total", 0,
                                   "sort", "warnings"));
        return;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    struct logsearch *ls = xcalloc(1, sizeof *ls);
    memcpy(ls->run_id, r.id, sizeof ls->run_id);
    memcpy(ls->job_id, r.job_id, sizeof ls->job_id);
    ls->rid = r.rid;
    ls->after = after;
    run_release(&r);
    api_read_off_loop(c, search_read, search_answer, ls);
}

/* ---- SSE ---- */

struct logstream {
    struct api_ctx ctx; /* req stays valid for the stream's life; m is unused */
    struct events_sub *sub;
    struct event *ping;
    struct event *resume; /* the next turn of a catch-up that read PUMP_LINES lines */
    char run_id[UUID_STR_LEN];
    int64_t rid;
    int64_t last_seq;
    int min_level;
    int ticks;
    bool live;    /* caught up with the store: live lines are written as they come */
    bool final;   /* the run has ended: finish once caught up */
    bool final_live; /* ... and the stream saw it end (final_run is from its status event) */
    int64_t final_seq; /* ... and the seq of its log's last line then (INT64_MAX: unknown) */
    bool ending;
    json_t *final_run; /* the run's JSON for the final status event */
    json_t *run_json;  /* the run's JSON as last known, while it has not ended */
    json_t *progress;  /* a progress event not sent while the client was behind, or NULL */
};

static void sse_write(struct http_req *req, const char *event, const char *id, json_t *data)
{
    char *d = json_dump(data);
    struct buf b = BUF_INIT;
    if (id) buf_printf(&b, "id: %s\n", id);
    buf_printf(&b, "event: %s\ndata: %s\n\n", event, d);
    http_stream_write(req, b.data, b.len);
    buf_free(&b);
    free(d);
}

#define SSE_TYPE "text/event-stream; charset=utf-8"

/* The headers of an event stream's answer; for HEAD, the answer's head alone (false: nothing
 * is streamed). */
static bool sse_begin(struct api_ctx *c)
{
    http_add_header(c->req, "Cache-Control", "no-cache");
    http_add_header(c->req, "X-Accel-Buffering", "no");
    if (!http_head_only(c->req)) return true;
    http_reply_stream_head(c->req, 200, SSE_TYPE);
    return false;
}

static void sse_event(struct logstream *ls, const char *event, const char *id, json_t *data)
{
    sse_write(ls->ctx.req, event, id, data);
}

/* A stream's tick (every TICK_SECONDS): whether its caller may still read; if not, an event
 * `denied` says why and the stream is ended (the caller frees its state; reconnecting is
 * answered 401). Else a ": ping" comment now and then keeps proxies from closing it. */
static bool stream_tick(struct api_ctx *ctx, int *ticks)
{
    struct principal who;
    if (auth_check(ctx->api->auth, ctx->req, time_now_us(), &who) != 0 ||
        !auth_allowed(who.role, PERM_READ)) {
        json_t *d = json_pack("{s:s}", "message",
                              "the credentials of this stream are no longer valid (the session "
                              "ended, the token was revoked or expired, or the account was "
                              "disabled)");
        sse_write(ctx->req, "denied", NULL, d);
        json_decref(d);
        http_stream_end(ctx->req);
        return false;
    }
    /* only to an idle connection: a ping queued behind output the client has not read keeps
     * nothing open, and the client is dropped once no byte has left for the write timeout */
    if (++*ticks % PING_TICKS == 0 && http_stream_pending(ctx->req) == 0)
        http_stream_write(ctx->req, ": ping\n\n", 8);
    return true;
}

static void write_line(struct logstream *ls, const struct log_line *l)
{
    ls->last_seq = l->seq;
    if (l->level < ls->min_level) return;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)l->seq);
    json_t *j = line_json(l);
    sse_event(ls, "log", id, j);
    json_decref(j);
}

static void stream_free(struct logstream *ls)
{
    events_unsubscribe(ls->ctx.api->events, ls->sub);
    if (ls->ping) event_free(ls->ping);
    if (ls->resume) event_free(ls->resume);
    json_decref(ls->final_run);
    json_decref(ls->run_json);
    json_decref(ls->progress);
    free(ls);
}

/* Ends the stream with its last event (data taken), then `end`: nothing follows, and a client
 * closes here (an EventSource would reconnect otherwise). */
static void stream_close(struct logstream *ls, const char *event, json_t *data)
{
    ls->ending = true;
    sse_event(ls, event, NULL, data);
    json_decref(data);
    static const char end[] = "event: end\ndata: {}\n\n";
    http_stream_write(ls->ctx.req, end, sizeof end - 1);
    http_stream_end(ls->ctx.req);
    stream_free(ls);
}

static void stream_end(struct logstream *ls)
{
    if (ls->ending) return;
    stream_close(ls, "status",
                 json_pack("{s:s,s:O}", "status",
                           json_string_value(json_object_get(ls->final_run, "status")), "run",
                           ls->final_run));
}

/* Whether the run is gone: deleted, or its job. */
static bool run_gone(struct logstream *ls)
{
    struct run r;
    int rc = store_run_get(ls->ctx.api->store, ls->run_id, &r);
    if (rc == 0) run_release(&r);
    return rc == -ENOENT;
}

/* Ends the stream of a run that is gone. One that had not ended ends as the deletion of its
 * job ends a running one: with the status CANCELLED (a queued run is stopped before it
 * started). One that had ended was deleted while its client was behind: the lines not sent
 * yet are gone with it, and an event `deleted` says so instead of the final status, which
 * would tell the client it had the whole log. */
static void stream_gone(struct logstream *ls)
{
    if (!ls->final) {
        json_t *rj = json_deep_copy(ls->run_json);
        json_object_set_new(rj, "status", json_string(run_status_name(RUN_CANCELLED)));
        json_decref(ls->final_run);
        ls->final_run = rj;
        stream_end(ls);
        return;
    }
    stream_close(ls, "deleted",
                 json_pack("{s:s,s:I}", "message",
                           "the run was deleted, and with it the lines of its log not sent yet",
                           "after", (json_int_t)ls->last_seq));
}

/* Whether the stream's end may be its final status: not if the run is gone, unless the stream
 * saw it end (as its job's deletion ends it: CANCELLED, its row going with the job) and had
 * sent its last line, so that the client has the whole log. */
static bool end_is_final(struct logstream *ls)
{
    return !run_gone(ls) || (ls->final_live && ls->last_seq >= ls->final_seq);
}

static void on_resume(evutil_socket_t fd, short what, void *arg);

/* Writes stored lines after last_seq while the client keeps up, the lines of the stream's
 * level read in windows (PUMP_LINES a turn of the loop, then on_resume goes on); at the log's
 * end the stream goes live. Returns false if it ended. */
static bool pump(struct logstream *ls)
{
    struct store *st = ls->ctx.api->store;
    int64_t scanned = 0; /* lines looked at this turn */
    while (!ls->live && http_stream_pending(ls->ctx.req) < STREAM_HIGH_WATER) {
        if (scanned >= PUMP_LINES) {
            /* a timer, not an active event: the loop polls for I/O before it fires */
            if (!ls->resume) ls->resume = evtimer_new(ls->ctx.api->base, on_resume, ls);
            const struct timeval now = {0, 0};
            evtimer_add(ls->resume, &now);
            return true;
        }
        int64_t from = ls->last_seq, upto = from + STREAM_WINDOW;
        struct log_line *lines;
        size_t n;
        if (store_log_list(st, ls->rid, from, upto, ls->min_level, STREAM_BATCH, 0, &lines, &n) != 0)
            break;
        /* line by line: a batch of long lines (16 KiB each, control bytes sent as 6-byte
         * escapes) would queue megabytes past the mark */
        size_t i = 0;
        for (; i < n && http_stream_pending(ls->ctx.req) < STREAM_HIGH_WATER; i++)
            write_line(ls, &lines[i]);
        store_log_free(lines, n);
        if (i < n) return true; /* on_drain goes on after the last line sent */
        if (n == STREAM_BATCH) { /* the window holds more of the level */
            scanned += ls->last_seq - from;
            continue;
        }
        scanned += STREAM_WINDOW;
        /* nothing more of the level up to upto: the lines below it are passed over */
        int64_t end = store_log_last_seq(st, ls->rid);
        if (upto < end) {
            ls->last_seq = upto;
        } else {
            if (end > ls->last_seq) ls->last_seq = end;
            ls->live = true;
        }
    }
    if (ls->live && ls->final) {
        if (end_is_final(ls))
            stream_end(ls);
        else
            stream_gone(ls);
        return false;
    }
    return true;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct logstream *ls = arg;
    if (!ls->live) pump(ls);
}

static void on_drain(struct http_req *req, void *arg)
{
    (void)req;
    struct logstream *ls = arg;
    if (ls->progress && http_stream_pending(ls->ctx.req) < STREAM_HIGH_WATER) {
        /* the run's progress when the client fell behind, sent now it reads again */
        sse_event(ls, "progress", NULL, ls->progress);
        json_decref(ls->progress);
        ls->progress = NULL;
    }
    if (!ls->live) pump(ls);
}

static void on_close(struct http_req *req, void *arg)
{
    (void)req;
    stream_free(arg); /* the client left */
}

/* Every few seconds: the caller may still read (a session ended or signed out, a token
 * revoked or expired, an account disabled end the stream), and a ping now and then. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct logstream *ls = arg;
    if (!stream_tick(&ls->ctx, &ls->ticks)) {
        ls->ending = true;
        stream_free(ls);
        return;
    }
    /* a queued run deleted with its job publishes no end: its stream would wait forever */
    if (!ls->final && !ls->ending && run_gone(ls)) stream_gone(ls);
}

static void on_event(void *arg, const struct sk_event *ev)
{
    struct logstream *ls = arg;
    if (ls->ending) return;
    switch (ev->kind) {
    case SKEV_LOG:
        if (!ls->live) return; /* the pump reads these from the store */
        for (size_t i = 0; i < ev->nlines; i++) {
            const struct log_line *l = &ev->lines[i];
            if (l->seq <= ls->last_seq) continue;
            if (http_stream_pending(ls->ctx.req) >= STREAM_HIGH_WATER) {
                ls->live = false; /* fall back to the store until the client catches up */
                return;
            }
            if (l->seq != ls->last_seq + 1) {
                /* lines missed: what the store has is sent now (no write of ours is pending
                 * to call on_drain); lines it does not have are gone (a deleted job's run) */
                ls->live = false;
                if (!pump(ls) || !ls->live) return;
                if (l->seq <= ls->last_seq) continue;
            }
            write_line(ls, l);
        }
        break;
    case SKEV_PROGRESS: {
        const struct run *r = ev->run;
        json_t *d = json_pack(
            "{s:O?,s:s?,s:O?,s:I,s:I,s:I,s:I}", "progress", r->progress, "message", r->message,
            "output", r->output, "total_entries", (json_int_t)r->total_entries,
            "inserted_entries", (json_int_t)r->inserted_entries, "updated_entries",
            (json_int_t)r->updated_entries, "errored_entries", (json_int_t)r->errored_entries);
        json_decref(ls->progress);
        ls->progress = NULL;
        if (http_stream_pending(ls->ctx.req) < STREAM_HIGH_WATER) {
            sse_event(ls, "progress", NULL, d);
            json_decref(d);
        } else {
            ls->progress = d; /* the latest, sent once the client catches up (on_drain) */
        }
        break;
    }
    case SKEV_STATUS: {
        json_t *rj = api_run_json(&ls->ctx, ev->run);
        if (run_status_terminal(ev->run->status)) {
            json_decref(ls->final_run);
            ls->final_run = rj;
            ls->final = true;
            ls->final_live = true;
            /* live: every line was written to the client as it came; else the store tells,
             * unless the run is gone already (with a job deleted) */
            ls->final_seq = ls->live      ? ls->last_seq
                            : run_gone(ls) ? INT64_MAX
                                           : store_log_last_seq(ls->ctx.api->store, ls->rid);
            /* sent once the store has been read to the end: now, unless the client is behind
             * (on_drain pumps then) */
            if (!ls->live && http_stream_pending(ls->ctx.req) >= STREAM_HIGH_WATER) return;
            pump(ls);
            return;
        }
        json_decref(ls->run_json);
        ls->run_json = json_incref(rj);
        json_t *d = json_pack("{s:s,s:o}", "status", run_status_name(ev->run->status), "run", rj);
        sse_event(ls, "status", NULL, d);
        json_decref(d);
        break;
    }
    }
}

void api_logs_stream(struct api_ctx *c)
{
    struct run r;
    if (api_load_run(c, &r)) return;
    static const char *const known[] = {"after", "level", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    int64_t after = after_param(c, errs);
    /* what a reconnecting EventSource sends: the id of the last log event it got, a seq. An
     * empty one is none (an event stream can reset its id); one that is no seq is refused
     * before the stream starts, rather than read as 0 and the whole log sent again */
    const char *last_id = http_header(c->req, "Last-Event-ID");
    if (last_id && *last_id && api_decimal(last_id, INT64_MAX / 2, &after) != 0)
        json_errs_add(errs, "Last-Event-ID",
                      "must be the id of a log event of this stream: a whole number from 0 to "
                      "%lld in plain digits, not '%.60s'",
                      (long long)(INT64_MAX / 2), last_id);
    int level = level_param(c, errs);
    if (json_array_size(errs)) {
        run_release(&r);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (!sse_begin(c)) {
        run_release(&r);
        return;
    }
    struct logstream *ls = xcalloc(1, sizeof *ls);
    ls->ctx = *c;
    ls->ctx.m = NULL;
    memcpy(ls->run_id, r.id, sizeof ls->run_id);
    ls->rid = r.rid;
    ls->last_seq = after;
    ls->min_level = level;
    http_stream_start(c->req, 200, SSE_TYPE, on_drain, on_close, ls);
    http_stream_write(c->req, "retry: 2000\n\n", 13);
    json_t *rj = api_run_json(c, &r);
    json_t *d = json_pack("{s:s,s:O}", "status", run_status_name(r.status), "run", rj);
    sse_event(ls, "status", NULL, d);
    json_decref(d);
    if (run_status_terminal(r.status)) {
        ls->final = true;
        ls->final_run = rj;
    } else {
        ls->run_json = rj;
        ls->sub = events_subscribe(c->api->events, ls->run_id, on_event, ls);
        ls->ping = event_new(c->api->base, -1, EV_PERSIST, on_tick, ls);
        struct timeval tv = {TICK_SECONDS, 0};
        event_add(ls->ping, &tv);
    }
    run_release(&r);
    pump(ls);
}

/* ---- GET /api/runs/stream: every run's status as it changes ---- */

/* A watcher of all runs (or of one job's): a `status` event for each change of a run's status
 * (its id, job, status, queue and the time of the change). A
 * client that does not read loses events rather than holding memory: once it has read what was
 * pending, an event `resync` tells it to read the lists again. */
struct runstream {
    struct api_ctx ctx;
    struct events_sub *sub;
    struct event *tick;
    int ticks;
    bool lost;
    char job_id[UUID_STR_LEN]; /* "" for every job */
};

static void runstream_free(struct runstream *rs)
{
    events_unsubscribe(rs->ctx.api->events, rs->sub);
    event_free(rs->tick);
    free(rs);
}

static void runstream_resync(struct runstream *rs)
{
    if (!rs->lost || http_stream_pending(rs->ctx.req) >= STREAM_HIGH_WATER / 2) return;
    rs->lost = false;
    static const char ev[] = "event: resync\ndata: {}\n\n";
    http_stream_write(rs->ctx.req, ev, sizeof ev - 1);
}

static void runstream_drain(struct http_req *req, void *arg)
{
    (void)req;
    runstream_resync(arg);
}

static void runstream_close(struct http_req *req, void *arg)
{
    (void)req;
    runstream_free(arg);
}

static void runstream_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct runstream *rs = arg;
    if (!stream_tick(&rs->ctx, &rs->ticks)) runstream_free(rs);
}

static void runstream_event(void *arg, const struct sk_event *ev)
{
    struct runstream *rs = arg;
    if (ev->kind != SKEV_STATUS) return;
    if (rs->job_id[0] && strcmp(ev->run->job_id, rs->job_id) != 0) return;
    if (http_stream_pending(rs->ctx.req) >= STREAM_HIGH_WATER) {
        rs->lost = true;
        return;
    }
    runstream_resync(rs);
    /* what changed, in a few fields: the run itself is a GET away, and a busy server changes
     * thousands a second */
    const struct run *r = ev->run;
    char at[TIME_STR_MAX];
    time_format(r->updated != NO_TIME ? r->updated : time_now_us(), at);
    struct buf b = BUF_INIT;
    buf_puts(&b, "event: status\ndata: {\"id\":");
    buf_json_string(&b, r->id);
    buf_puts(&b, ",\"job_id\":");
    buf_json_string(&b, r->job_id);
    buf_printf(&b, ",\"status\":\"%s\",\"queue\":", run_status_name(r->status));
    buf_json_string(&b, r->queue ? r->queue : "");
    buf_printf(&b, ",\"updated\":\"%s\"}\n\n", at);
    http_stream_write(rs->ctx.req, b.data, b.len);
    buf_free(&b);
}

void api_runs_stream(struct api_ctx *c)
{
    static const char *const known[] = {"job_id", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    char job[UUID_STR_LEN];
    api_job_id_param(c, job, errs);
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (!sse_begin(c)) return;
    struct runstream *rs = xcalloc(1, sizeof *rs);
    rs->ctx = *c;
    rs->ctx.m = NULL;
    memcpy(rs->job_id, job, sizeof rs->job_id);
    http_stream_start(c->req, 200, SSE_TYPE, runstream_drain, runstream_close, rs);
    /* a reconnect may have missed changes: it reads the lists again at once */
    static const char start[] = "retry: 2000\n\nevent: resync\ndata: {}\n\n";
    http_stream_write(c->req, start, sizeof start - 1);
    rs->sub = events_subscribe(c->api->events, NULL, runstream_event, rs);
    rs->tick = event_new(c->api->base, -1, EV_PERSIST, runstream_tick, rs);
    struct timeval tv = {TICK_SECONDS, 0};
    event_add(rs->tick, &tv);
}
