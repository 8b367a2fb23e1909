/* builtin: in-process job types and their reporting context; see builtin.h. */
#include "builtin.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "model.h"
#include "secrets.h"
#include "store/store.h"

#define HTTP_BODY_CAP (64 * 1024)
#define PRUNE_BATCH 500
/* what a window of the prune should take at most, its transaction holding the write lock */
#define PRUNE_TX_MS 20

/* ---- the context ---- */

struct builtin_ctx *builtin_ctx_new(const struct builtin_def *def, const json_t *args)
{
    struct builtin_ctx *c = xcalloc(1, sizeof *c);
    c->def = def;
    /* shared, not copied: a run's arguments are never changed once resolved, and jansson's
     * reference counts are atomic, so the task's thread may hold them past the run's copy */
    c->args = args ? json_incref((json_t *)args) : json_object();
    c->wake_fd = -1;
    atomic_init(&c->cancel, false);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    for (int i = 0; i < 4; i++) c->entries[i] = -1;
    return c;
}

void builtin_ctx_free(struct builtin_ctx *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nlines; i++) free(c->lines[i].text);
    free(c->lines);
    json_decref(c->args);
    json_decref(c->progress);
    json_decref(c->output);
    free(c->message);
    free(c->db_path);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static void wake(struct builtin_ctx *c)
{
    if (c->wake_fd < 0) return;
    uint64_t one = 1;
    ssize_t w = write(c->wake_fd, &one, sizeof one);
    (void)w;
}

/* The formatted text, as valid UTF-8 (a builtin may format bytes from outside); caller frees. */
static char *clean_text(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *clean_text(const char *fmt, va_list ap)
{
    struct buf b = BUF_INIT, clean = BUF_INIT;
    buf_vprintf(&b, fmt, ap);
    utf8_sanitize(&clean, buf_cstr(&b), b.len);
    buf_free(&b);
    return buf_steal(&clean);
}

void bctx_log(struct builtin_ctx *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = clean_text(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    if (c->nlines == c->clines)
        c->lines = xrealloc(c->lines, (c->clines = c->clines ? c->clines * 2 : 16) * sizeof *c->lines);
    c->lines[c->nlines].level = level;
    c->lines[c->nlines++].text = text;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

void bctx_progress(struct builtin_ctx *c, int64_t done, int64_t total)
{
    json_t *p = total >= 0 ? json_pack("{s:I,s:I}", "done", (json_int_t)done, "total", (json_int_t)total)
                           : json_pack("{s:I,s:n}", "done", (json_int_t)done, "total");
    pthread_mutex_lock(&c->lock);
    json_decref(c->progress);
    c->progress = p;
    c->dirty = true;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

void bctx_entries(struct builtin_ctx *c, int64_t total, int64_t inserted, int64_t updated,
                  int64_t errored)
{
    pthread_mutex_lock(&c->lock);
    c->has_entries = c->dirty = true;
    c->entries[0] = total, c->entries[1] = inserted, c->entries[2] = updated, c->entries[3] = errored;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

void bctx_message(struct builtin_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = clean_text(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    free(c->message);
    c->message = text;
    c->dirty = true;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

void bctx_output(struct builtin_ctx *c, json_t *output)
{
    pthread_mutex_lock(&c->lock);
    json_decref(c->output);
    c->output = output;
    c->dirty = true;
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

bool bctx_cancelled(struct builtin_ctx *c)
{
    return atomic_load(&c->cancel);
}

bool bctx_sleep(struct builtin_ctx *c, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->lock);
    while (!atomic_load(&c->cancel))
        if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&c->lock);
    return !atomic_load(&c->cancel);
}

void builtin_cancel(struct builtin_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->cancel, true);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void builtin_run(void *arg)
{
    struct builtin_ctx *c = arg;
    if (atomic_load(&c->cancel)) /* stopped or timed out while it waited for a thread */
        c->skipped = true;
    else
        c->rc = c->def->run(c);
}

/* ---- the builtins ---- */

static int run_noop(struct builtin_ctx *c)
{
    (void)c;
    return 0;
}

/* The first fault check finds in c's arguments, as the run's message ("url: ..."): for a run
 * whose arguments were stored before they were checked. True when there is one. */
static bool args_fault(struct builtin_ctx *c, builtin_check_fn check)
{
    json_t *errs = json_array();
    check(c->args, false, errs);
    json_t *e = json_array_get(errs, 0);
    const char *field = json_string_value(json_object_get(e, "field"));
    if (e)
        bctx_message(c, "%s: %s", field && !strncmp(field, "args.", 5) ? field + 5 : "args",
                     json_string_value(json_array_get(json_object_get(e, "messages"), 0)));
    json_decref(errs);
    return e != NULL;
}

static void check_sleep(const json_t *args, bool partial, json_t *errs)
{
    (void)partial; /* nothing required */
    json_t *v = json_object_get(args, "seconds");
    if (v && !json_is_null(v) &&
        (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 7 * 86400))
        json_errs_add(errs, "args.seconds", "must be a number from 0 to 604800");
}

static int run_sleep(struct builtin_ctx *c)
{
    if (args_fault(c, check_sleep)) return 1;
    json_t *v = json_object_get(c->args, "seconds");
    double secs = json_is_number(v) ? json_number_value(v) : 1.0;
    bctx_log(c, LL_INFO, "sleeping %g s", secs);
    int64_t ms = (int64_t)(secs * 1000), step = 1000;
    for (int64_t slept = 0; slept < ms; slept += step) {
        int64_t d = ms - slept < step ? ms - slept : step;
        if (!bctx_sleep(c, d)) return 1;
        bctx_progress(c, (slept + d + 999) / 1000, (ms + 999) / 1000); /* whole seconds, up */
    }
    bctx_message(c, "slept %g s", secs);
    return 0;
}

/* -- http -- */

struct http_sink {
    struct buf body;
    bool truncated;
};

static size_t http_body(char *p, size_t size, size_t n, void *arg)
{
    struct http_sink *s = arg;
    size_t len = size * n, room = HTTP_BODY_CAP - s->body.len;
    if (len > room) {
        s->truncated = true;
        len = room;
    }
    buf_append(&s->body, p, len);
    return size * n; /* read on (for the status), keep only the cap */
}

static int http_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return bctx_cancelled(arg) ? 1 : 0; /* non-zero aborts the transfer */
}

/* A header name: RFC 9110's token characters. */
static bool header_name_ok(const char *k)
{
    if (!*k) return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && !strchr("!#$%&'*+-.^_`|~", *k)) return false;
    return true;
}

/* A header value: no control character but the tab, so no line of its own. */
static bool header_value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
    return true;
}

/* Whether args holds key as a secret's reference ({"$secret": NAME}), whose value is known only
 * when the run starts: checked then. */
static bool secret_at(const json_t *args, const char *key)
{
    return secret_ref(json_object_get(args, key)) != NULL;
}

static void check_http(const json_t *args, bool partial, json_t *errs)
{
    const char *url = json_str(args, "url");
    if ((!url && partial) || secret_at(args, "url")) /* given when run */;
    else if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        json_errs_add(errs, "args.url", "required, an http:// or https:// address");
    else if (strchr(url, ' ') || utf8_has_control(url)) /* tabs and line breaks included */
        json_errs_add(errs, "args.url", "holds a space or a control character: percent-encode it");
    const char *method = json_str(args, "method");
    static const char *methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    bool known = !method;
    for (int i = 0; i < 6; i++) known = known || strcmp(method, methods[i]) == 0;
    if (!known) json_errs_add(errs, "args.method", "one of GET, POST, PUT, PATCH, DELETE, HEAD");
    const json_t *t = json_object_get(args, "timeout");
    int64_t ms;
    const char *why;
    if (t && !json_is_null(t) && !secret_at(args, "timeout")) {
        if (!json_is_string(t) || duration_parse(json_string_value(t), &ms, &why) != 0)
            json_errs_add(errs, "args.timeout", "%s",
                          json_is_string(t) ? why : "must be a duration such as 30s or 2m");
        else if (ms < 1000 || ms > 86400000)
            json_errs_add(errs, "args.timeout", "from 1s to 24h");
    }
    const json_t *hs = json_object_get(args, "headers");
    if (hs && !json_is_null(hs) && !json_is_object(hs))
        json_errs_add(errs, "args.headers", "must be an object of header names to values");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)hs, k, v)
    {
        char field[96];
        snprintf(field, sizeof field, "args.headers.%.60s", k);
        if (!header_name_ok(k))
            json_errs_add(errs, field, "not a header name (letters, digits and !#$%%&'*+-.^_`|~)");
        else if (secret_ref(v))
            continue; /* a token kept as a secret: its value is checked when the run starts */
        else if (!json_is_string(v))
            json_errs_add(errs, field, "must be a string, not %s", json_type_name(v));
        else if (!header_value_ok(json_string_value(v)))
            json_errs_add(errs, field, "holds a line break or a control character");
    }
}

/* The length of url's scheme and authority ("https://host:port"), which two URLs of one origin
 * share (the case of the scheme and host aside). */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p) return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

static bool same_origin(const char *a, const char *b)
{
    size_t n = origin_len(a);
    return n && n == origin_len(b) && strncasecmp(a, b, n) == 0;
}

/* A redirect of a request that carries secrets (in its headers, its body or its URL), followed
 * by hand: to the same origin only, since libcurl re-sends every header but Authorization, and a
 * 307's body, to any host the answer names, over plain http too. 301 and 302 of a POST and 303
 * make a GET without the body, as browsers do. Returns 0 to follow it, 1 when refused (said). */
static int secret_redirect(struct builtin_ctx *c, CURL *h, long status, char **at,
                           const char **method, const char **body)
{
    char *to = NULL;
    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &to);
    if (!same_origin(*at, to)) {
        bctx_log(c, LL_ERROR, "redirected (%ld) to %s", status, to);
        bctx_message(c, "redirected to another host or scheme than the request's, not followed: "
                        "the request carries secrets");
        return 1;
    }
    bctx_log(c, LL_INFO, "redirected (%ld) to %s", status, to);
    free(*at);
    *at = xstrdup(to);
    if (status == 303 || ((status == 301 || status == 302) && strcmp(*method, "POST") == 0)) {
        if (strcmp(*method, "HEAD") != 0) *method = "GET";
        *body = NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, *at);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, *method);
    if (!*body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    if (!*body && strcmp(*method, "GET") == 0) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    return 0;
}

static int run_http(struct builtin_ctx *c)
{
    if (args_fault(c, check_http)) return 1;
    const char *url = json_str(c->args, "url");
    const char *method = json_str(c->args, "method");
    if (!method) method = "GET";
    int64_t timeout_ms = 30000;
    const char *ts = json_str(c->args, "timeout"), *why;
    if (ts) duration_parse(ts, &timeout_ms, &why);
    json_t *expect = json_object_get(c->args, "expected_status");
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c->args, "headers"), k, v)
    {
        char *line = xasprintf("%s: %s", k, json_string_value(v));
        hdrs = curl_slist_append(hdrs, line);
        free(line);
    }
    struct http_sink sink = {BUF_INIT, false};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    const char *body = json_str(c->args, "body");
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* libcurl follows redirects without end by default: a loop would hold a builtin thread
     * until the run's timeout */
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    bool follow = json_is_true(json_object_get(c->args, "follow_redirects"));
    bool by_hand = follow && c->secrets; /* see secret_redirect */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow && !by_hand ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sked");
    bctx_log(c, LL_INFO, "%s %s", method, url);
    int64_t t0 = time_mono_us();
    CURLcode cc;
    long status = 0;
    char *at = xstrdup(url);
    int refused = 0;
    for (int hops = 0;; hops++) {
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        bool moved = status == 301 || status == 302 || status == 303 || status == 307 ||
                     status == 308;
        if (cc != CURLE_OK || !by_hand || !moved) break;
        if (hops == 10) {
            cc = CURLE_TOO_MANY_REDIRECTS;
            break;
        }
        if ((refused = secret_redirect(c, h, status, &at, &method, &body))) break;
        buf_reset(&sink.body);
        sink.truncated = false;
    }
    free(at);
    int64_t elapsed = (time_mono_us() - t0) / 1000;
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    int rc = 0;
    if (refused) {
        rc = 1;
    } else if (cc != CURLE_OK) {
        if (bctx_cancelled(c)) {
            rc = 1;
        } else {
            /* the reason goes in the message only: a failed run's message adds its ERROR
             * lines, which would say it a second time */
            bctx_log(c, LL_ERROR, "no answer after %lld ms", (long long)elapsed);
            bctx_message(c, "request failed: %s", curl_easy_strerror(cc));
            rc = 1;
        }
    } else {
        struct buf text = BUF_INIT;
        utf8_sanitize(&text, buf_cstr(&sink.body), sink.body.len);
        bctx_output(c, json_pack("{s:i,s:s,s:b,s:I}", "status", (int)status, "body",
                                 buf_cstr(&text), "truncated", sink.truncated, "elapsed_ms",
                                 (json_int_t)elapsed));
        buf_free(&text);
        bool ok = json_is_integer(expect) ? status == json_integer_value(expect)
                                          : status >= 200 && status < 300;
        bctx_log(c, ok ? LL_INFO : LL_ERROR, "answered %ld in %lld ms", status, (long long)elapsed);
        if (!ok) {
            if (json_is_integer(expect))
                bctx_message(c, "answered %ld, expected %lld", status,
                             (long long)json_integer_value(expect));
            else
                bctx_message(c, "answered %ld, expected 2xx", status);
            rc = 1;
        } else {
            bctx_message(c, "answered %ld", status);
        }
    }
    buf_free(&sink.body);
    return rc;
}

/* -- sked.prune -- */

/* The server's retention (builtin_set_retention), read by checks on the loop and on builtin
 * threads alike. */
static int64_t server_retention_ms;

void builtin_set_retention(int64_t ms)
{
    __atomic_store_n(&server_retention_ms, ms, __ATOMIC_RELAXED);
}

/* Why a run's retention is refused when shorter than the server's: a run may keep runs longer,
 * never delete more (anyone who may start runs may start this one; deleting runs is the
 * admins', who set the server's retention or a job's own). */
static void shorter_than_the_servers(char *out, size_t n, int64_t server)
{
    char d[32];
    duration_format(server, d);
    snprintf(out, n, "at least the server's (%s): a run may keep runs longer, not delete more; "
             "an admin sets --retention or a job's retention for that", d);
}

static void check_prune(const json_t *args, bool partial, json_t *errs)
{
    (void)partial; /* nothing required */
    const json_t *r = json_object_get(args, "retention");
    int64_t ms;
    const char *why;
    if (r && !json_is_null(r) && !secret_at(args, "retention")) {
        if (!json_is_string(r) || duration_parse(json_string_value(r), &ms, &why) != 0)
            json_errs_add(errs, "args.retention", "%s", /* too long, or no duration: which */
                          json_is_string(r) ? why : "must be a duration such as 90d");
        else if (ms < 60000)
            json_errs_add(errs, "args.retention", "a duration of at least 1m, such as 90d");
        else if (ms < __atomic_load_n(&server_retention_ms, __ATOMIC_RELAXED)) {
            char shorter[200];
            shorter_than_the_servers(shorter, sizeof shorter, server_retention_ms);
            json_errs_add(errs, "args.retention", "%s", shorter);
        }
    }
    const json_t *b = json_object_get(args, "batch");
    if (b && !json_is_null(b) &&
        (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > 100000))
        json_errs_add(errs, "args.batch", "from 1 to 100000");
}

static int run_prune(struct builtin_ctx *c)
{
    if (args_fault(c, check_prune)) return 1;
    int64_t retention = c->default_retention_ms;
    const char *rs = json_str(c->args, "retention"), *why;
    if (rs) duration_parse(rs, &retention, &why);
    /* refused when the run was made; checked again, as a reload may have raised the
     * server's retention since */
    if (retention < c->default_retention_ms) {
        char shorter[200];
        shorter_than_the_servers(shorter, sizeof shorter, c->default_retention_ms);
        bctx_message(c, "retention: %s", shorter);
        return 1;
    }
    json_t *bj = json_object_get(c->args, "batch");
    int64_t batch = json_is_integer(bj) ? json_integer_value(bj) : PRUNE_BATCH;
    struct store *st;
    struct sk_err e = {0};
    if (store_open(c->db_path, DURABILITY_NORMAL, &st, &e) != 0) {
        bctx_message(c, "cannot open the store: %s", e.msg);
        return 1;
    }
    char d[32];
    duration_format(retention, d);
    bctx_log(c, LL_INFO, "deleting finished runs older than %s (jobs without a retention of their own)", d);
    int64_t now = time_now_us(), deleted = 0, cursor = 0;
    int rc = 0;
    /* every run, oldest first, at most `batch` at a time, each window its own short
     * transaction: while it deletes, the server's writes (every run's start and end, the
     * scheduler's fires) wait for it. A window that took longer than PRUNE_TX_MS is halved
     * for the next (runs with long logs take longer), a quick one doubled up to `batch`; and
     * after each the prune pauses as long as the window took, so that it holds the write lock
     * at most half the time. It starts at the default size, however large `batch` is */
    int64_t window = batch < PRUNE_BATCH ? batch : PRUNE_BATCH;
    for (int more = 1; more >= 1;) {
        if (bctx_cancelled(c)) {
            rc = 1;
            break;
        }
        int64_t n = 0, t0 = time_mono_us();
        more = store_prune_window(st, now, retention, window, &cursor, &n);
        if (more < 0) {
            bctx_message(c, "the store failed while deleting; see the server log");
            rc = 1;
            break;
        }
        deleted += n;
        if (n || more == 2) { /* runs deleted, or a piece of their logs */
            int64_t took_ms = (time_mono_us() - t0) / 1000;
            if (took_ms > PRUNE_TX_MS && window > 1)
                window /= 2;
            else if (took_ms < PRUNE_TX_MS / 4 && window < batch)
                window = window * 2 < batch ? window * 2 : batch;
            bctx_entries(c, deleted, -1, -1, -1);
            bctx_sleep(c, took_ms > 2 ? took_ms : 2); /* room for the server's writes */
        }
    }
    store_close(st);
    bctx_log(c, LL_INFO, "deleted %lld run(s) and their logs", (long long)deleted);
    bctx_output(c, json_pack("{s:I,s:s}", "deleted_runs", (json_int_t)deleted, "retention", d));
    if (rc == 0) bctx_message(c, "deleted %lld run(s) older than their retention", (long long)deleted);
    return rc;
}

static const struct builtin_def defs[] = {
    {"noop", run_noop, "does nothing and succeeds", true, NULL},
    {"sleep", run_sleep, "sleeps for args.seconds", false, check_sleep},
    {"http", run_http, "one HTTP request", false, check_http},
    {"sked.prune", run_prune, "deletes finished runs past their retention", false, check_prune},
};

void builtin_check(const char *name, const json_t *args, bool partial, json_t *errs)
{
    const struct builtin_def *d = builtin_find(name);
    if (d && d->check) d->check(args, partial, errs);
}

const struct builtin_def *builtin_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof defs / sizeof *defs; i++)
        if (strcmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

const char *builtin_names(void)
{
    return "noop, sleep, http, sked.prune";
}
