/* api: routing, authentication and shared shapes of the REST API; see api.h. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/embed.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "notify.h"
#include "offload.h"
#include "static.h"

typedef void (*api_fn)(struct api_ctx *c);

static void healthz(struct api_ctx *c)
{
    api_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(struct api_ctx *c)
{
    char *v = NULL;
    int rc = store_meta_get(c->api->store, "ready_probe", &v);
    free(v);
    if (rc != 0 && rc != -ENOENT) {
        api_error(c, 503, "the store is not reachable");
        return;
    }
    bool migrated = store_version(c->api->store) == store_latest_version();
    api_json(c, migrated ? 200 : 503,
             json_pack("{s:s,s:i,s:b}", "status", migrated ? "ready" : "migrating", "store_version",
                       store_version(c->api->store), "migrations_applied", migrated));
}

extern const struct embedded_file embedded_openapi[];

/* The OpenAPI description of this API (docs/openapi.json, compiled in). */
static void openapi(struct api_ctx *c)
{
    const struct embedded_file *f = embedded_openapi;
    http_reply(c->req, 200, "application/json", (const char *)f->data, f->size);
}

/*
 * Every route with the permission it needs: the one place where roles meet routes (the
 * permission table of docs/api.md is this table). Handlers marked PERM_SELF limit a caller to
 * their own account, tokens and session. PATCH of a job is PERM_EDIT, but an operator may send
 * one that only changes schedule and active: its handler checks the role once it has read the
 * body, before it checks the body's fields (api_jobs.c).
 */
static const struct route routes[] = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/api/jobs"},
    {"POST", "/api/jobs"},
    {"GET", "/api/jobs/{}"},
    {"PUT", "/api/jobs/{}"},
    {"PATCH", "/api/jobs/{}"},
    {"DELETE", "/api/jobs/{}"},
    {"GET", "/api/jobs/{}/stats"},
    {"GET", "/api/jobs/{}/runs"},
    {"POST", "/api/jobs/{}/runs"},
    {"GET", "/api/jobs/{}/runs/{}"},
    {"DELETE", "/api/jobs/{}/runs/{}"},
    {"POST", "/api/jobs/{}/runs/{}/actions/stop"},
    {"POST", "/api/jobs/{}/actions/backfill"},
    {"POST", "/api/jobs/{}/actions/stop"},
    {"GET", "/api/jobs/{}/runs/{}/logs"},
    {"GET", "/api/jobs/{}/runs/{}/logs/stream"},
    {"GET", "/api/runs"},
    {"GET", "/api/runs/stream"},
    {"GET", "/api/logs/jobs"},
    {"GET", "/api/tasks"},
    {"GET", "/api/tasks/{}"},
    {"GET", "/api/tasks/{}/args"},
    {"GET", "/api/queues"},
    {"POST", "/api/queues/{}/actions/pause"},
    {"POST", "/api/queues/{}/actions/resume"},
    {"POST", "/api/schedules/preview"},
    {"POST", "/api/session"},
    {"GET", "/api/session"},
    {"DELETE", "/api/session"},
    {"GET", "/api/users"},
    {"POST", "/api/users"},
    {"GET", "/api/users/{}"},
    {"PATCH", "/api/users/{}"},
    {"DELETE", "/api/users/{}"},
    {"POST", "/api/users/{}/tokens"},
    {"GET", "/api/tokens"},
    {"POST", "/api/tokens"},
    {"DELETE", "/api/tokens/{}"},
    {"GET", "/api/audit"},
    {"GET", "/metrics"},
    {"GET", "/api/openapi.json"},
};

static const struct {
    api_fn fn;
    enum perm perm;
} handlers[] = {
    {healthz, PERM_PUBLIC},          {readyz, PERM_PUBLIC},
    {api_jobs_list, PERM_READ},      {api_jobs_create, PERM_EDIT},
    {api_jobs_get, PERM_READ},       {api_jobs_put, PERM_EDIT},
    {api_jobs_patch, PERM_EDIT},     {api_jobs_delete, PERM_EDIT},
    {api_jobs_stats, PERM_READ},
    {api_runs_list, PERM_READ},      {api_runs_create, PERM_RUN},
    {api_runs_get, PERM_READ},       {api_runs_delete, PERM_EDIT},
    {api_runs_stop, PERM_RUN},       {api_runs_backfill, PERM_RUN},
    {api_jobs_stop_runs, PERM_RUN},
    {api_logs_list, PERM_READ},
    {api_logs_stream, PERM_READ},    {api_runs_all, PERM_READ},
    {api_runs_stream, PERM_READ},    {api_logs_search, PERM_READ},    {api_tasks_list, PERM_READ},
    {api_tasks_get, PERM_READ},      {api_tasks_args, PERM_READ},
    {api_queues_list, PERM_READ},    {api_queues_pause, PERM_RUN},
    {api_queues_resume, PERM_RUN},   {api_schedules_preview, PERM_READ},
    {api_session_create, PERM_PUBLIC}, {api_session_get, PERM_SELF},
    {api_session_delete, PERM_SELF}, {api_users_list, PERM_ADMIN},
    {api_users_create, PERM_ADMIN},  {api_users_get, PERM_SELF},
    {api_users_patch, PERM_SELF},    {api_users_delete, PERM_ADMIN},
    {api_users_token, PERM_ADMIN},   {api_tokens_list, PERM_SELF},
    {api_tokens_create, PERM_SELF},  {api_tokens_revoke, PERM_SELF},
    {api_audit_list, PERM_ADMIN},    {api_metrics, PERM_READ},
    {openapi, PERM_PUBLIC},
};

_Static_assert(sizeof routes / sizeof *routes == sizeof handlers / sizeof *handlers,
               "every route needs its handler");

size_t api_routes(const struct route **table, const enum perm **perms)
{
    static enum perm p[sizeof handlers / sizeof *handlers];
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++) p[i] = handlers[i].perm;
    *table = routes;
    *perms = p;
    return sizeof routes / sizeof *routes;
}

static bool changes_state(const char *method)
{
    return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}
/* Whether the Cookie header (may be NULL) holds a cookie named name. */
static bool cookie_sent(const char *cookie, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = cookie; p && (p = strstr(p, name)) != NULL; p += n)
        if ((p == cookie || p[-1] == ' ' || p[-1] == ';') && p[n] == '=') return true;
    return false;
}

/* Why a request that needs credentials was refused: what it sent, and what to do instead. */
static const char *unauthenticated(const struct http_req *req)
{
    const char *h = http_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) != 0)
        return "the Authorization header must be \"Bearer TOKEN\"";
    if (h)
        return "the token is not valid (mistyped, expired or revoked, or its account is "
               "disabled); create one with POST /api/tokens or sked token create";
    const char *cookie = http_header(req, "Cookie");
    if (cookie_sent(cookie, auth_session_cookie(req)))
        return "the session has ended (signed out, expired, or its account disabled); sign in "
               "again with POST /api/session";
    /* the other scheme's cookie: a session begun over http used over https, or the reverse
     * (a proxy that now says X-Forwarded-Proto: https, or no longer) */
    if (req->tls && cookie_sent(cookie, "sked_session"))
        return "the session cookie sent was made over plain http (sked_session), and this "
               "request comes over https: sign in again over https";
    if (!req->tls && cookie_sent(cookie, "__Host-sked_session"))
        return "the session cookie sent was made over https (__Host-sked_session), and this "
               "request comes over plain http: sign in again, over https where sked is served so";
    return "send Authorization: Bearer TOKEN, or sign in with POST /api/session";
}


bool api_body_gate(const struct http_req *req, void *arg)
{
    struct api *api = arg;
    struct principal who;
    return auth_check(api->auth, req, time_now_us(), &who) == 0;
}

void api_handle(struct http_req *req, void *arg)
{
    struct api *api = arg;
    struct route_match m;
    struct api_ctx c;
    memset(&c, 0, sizeof c);
    c.api = api;
    c.req = req;
    c.m = &m;
    if (!http_method_served(req->head.method)) { /* no route's: not one a path refuses (405) */
        req->route = "unmatched";
        api_error(&c, 501, "%s", HTTP_UNKNOWN_METHOD);
        return;
    }
    int i = router_match(routes, sizeof routes / sizeof *routes, req->head.method, req->head.path,
                         &m);
    if (i == -405) {
        http_add_header(req, "Allow", m.allow);
        req->route = "unmatched";
        api_error(&c, 405, "method %s is not allowed here (allowed: %s)", req->head.method,
                  m.allow);
        return;
    }
    if (i < 0) {
        req->route = "static";
        if (static_serve(req, api->cfg->web_dir)) return;
        req->route = "unmatched";
        api_error(&c, 404, "no such route: %s", req->head.path);
        return;
    }
    req->route = routes[i].pattern;
    /* ids are stored lower-case; UUIDs are case-insensitive, so accept either */
    for (int k = 0; k < m.nparams; k++)
        if (uuid_valid(m.params[k]))
            for (char *p = m.params[k]; *p; p++) *p = (char)tolower((unsigned char)*p);
    enum perm perm = handlers[i].perm;
    if (perm != PERM_PUBLIC) {
        if (auth_check(api->auth, req, time_now_us(), &c.who) != 0) {
            http_add_header(req, "WWW-Authenticate", "Bearer realm=\"sked\"");
            api_error(&c, 401, "authentication required: %s", unauthenticated(req));
            return;
        }
        if (changes_state(req->head.method) && !auth_csrf_ok(&c.who, req)) {
            api_error(&c, 403, "missing or wrong X-CSRF-Token header (it is returned when "
                               "signing in)");
            return;
        }
        /* a job's PATCH by an operator checks the role itself, once it has read the job (404)
         * and the body (400 when it is no JSON object): which fields it names decides whether
         * an operator may send it; a viewer may send none */
        bool patch = handlers[i].fn == api_jobs_patch;
        bool ok = auth_allowed(c.who.role, perm) || (patch && auth_allowed(c.who.role, PERM_RUN));
        if (!ok) {
            api_error(&c, 403, "Permission denied: %s %s needs the %s role (you are %s).",
                      routes[i].method, routes[i].pattern,
                      perm == PERM_RUN || patch ? "operator or admin" : "admin",
                      role_name(c.who.role));
            return;
        }
    }
    /* a write takes no query parameter but dry_run where it has a dry run: a misspelt or
     * misplaced ?dry_run=true (a DELETE has no dry run) must not write */
    void (*fn)(struct api_ctx *) = handlers[i].fn;
    if (req->nparams && changes_state(req->head.method) && fn != api_jobs_create &&
        fn != api_jobs_put && fn != api_jobs_patch && fn != api_runs_backfill &&
        fn != api_jobs_stop_runs && api_no_params(&c))
        return;
    fn(&c);
}

static void audit_append(struct api_ctx *c, const char *action, const char *job_id,
                         const char *run_id, const char *target, json_t *details,
                         const char *text)
{
    struct audit_entry e = {0};
    e.ts = time_now_us();
    const struct principal *w = &c->who;
    e.actor_kind = w->via == VIA_SESSION ? "user" : w->id[0] ? "token" : "anonymous";
    e.actor_id = w->id[0] ? (char *)w->id : NULL;
    e.actor_name = w->id[0] ? (char *)w->name : NULL;
    e.token_id = w->token_id[0] ? (char *)w->token_id : NULL;
    e.action = (char *)action;
    e.job_id = (char *)job_id;
    e.run_id = (char *)run_id;
    e.target = (char *)target;
    e.details = details;
    e.details_text = text;
    e.address = c->req ? c->req->peer : (char *)c->peer;
    store_audit_append(c->api->store, &e);
}

void api_audit(struct api_ctx *c, const char *action, const char *job_id, const char *run_id,
               const char *target, json_t *details)
{
    audit_append(c, action, job_id, run_id, target, details, NULL);
    json_decref(details);
}

void api_audit_text(struct api_ctx *c, const char *action, const char *job_id,
                    const char *run_id, const char *target, const char *details)
{
    audit_append(c, action, job_id, run_id, target, NULL, details);
}

/* ---- responses ---- */

void api_json(struct api_ctx *c, int status, json_t *body)
{
    struct buf b = BUF_INIT;
    buf_reserve(&b, 2000); /* a run is about 1,500 bytes */
    json_write(&b, body);
    json_decref(body);
    http_reply(c->req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

void api_error(struct api_ctx *c, int status, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    /* a message may quote the request (a path of bytes that are not UTF-8): repaired, as a
     * JSON string holds nothing else, rather than lost */
    struct buf m = BUF_INIT;
    utf8_sanitize(&m, b.data ? b.data : "", b.len);
    buf_free(&b);
    api_json(c, status, json_pack("{s:i,s:s}", "status", status, "message", buf_cstr(&m)));
    buf_free(&m);
}

void api_invalid(struct api_ctx *c, json_t *errs)
{
    api_json(c, 400, json_pack("{s:i,s:s,s:o}", "status", 400, "message",
                               "A validation error occurred.", "errors", errs));
}

/*
 * A number jansson cannot hold (a whole number past 64 bits, a number past a double's range)
 * makes the whole body fail to parse. Each one, up to 16, is put in a copy of the body as one
 * of these marks, by its kind, so that the copy parses and the number's field can be found in
 * it (huge_number): valid JSON, but no number sked can hold, is said of its field, as any other
 * value out of range is. The marks fit the shortest such numbers ("1e309", 5 characters; a
 * whole one takes 19 digits at least).
 */
static const struct {
    const char *mark;
    const char *why;
} huge[] = {
    {"7.77e300", "a number too large (whole numbers go up to 9223372036854775807)"},
    {"-7.77e300", "a number too small (whole numbers go down to -9223372036854775808)"},
    {"8e300", "a number too large (numbers go up to about 1.8e308)"},
    {"-8e300", "a number too small (numbers go down to about -1.8e308)"},
};

/* The dotted path (under prefix) of the first mark in v, into out, and its reason; NULL when
 * there is none. */
static const char *huge_number(const json_t *v, const char *prefix, char *out, size_t n)
{
    char sub[512];
    const char *k, *why;
    json_t *m;
    size_t i;
    if (json_is_real(v))
        for (i = 0; i < sizeof huge / sizeof *huge; i++)
            if (json_real_value(v) == strtod(huge[i].mark, NULL)) {
                snprintf(out, n, "%s", *prefix ? prefix : "(body)");
                return huge[i].why;
            }
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, m)
        {
            snprintf(sub, sizeof sub, "%s%s%s", prefix, *prefix ? "." : "", k);
            if ((why = huge_number(m, sub, out, n))) return why;
        }
    if (json_is_array(v))
        json_array_foreach(v, i, m)
        {
            snprintf(sub, sizeof sub, "%s[%zu]", prefix, i);
            if ((why = huge_number(m, sub, out, n))) return why;
        }
    return NULL;
}

static bool number_char(char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
           ch == 'E';
}

/* body parsed with each number jansson cannot hold marked (huge), or NULL when it is no JSON
 * or holds no such number. */
static json_t *load_marked(const char *body, size_t len)
{
    char *copy = NULL;
    json_t *v = NULL;
    for (int i = 0; i < 16; i++) {
        json_error_t je;
        v = json_loadb(copy ? copy : body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (v || json_error_code(&je) != json_error_numeric_overflow || je.position < 0 ||
            (size_t)je.position > len)
            break;
        if (!copy) copy = memcpy(xmalloc(len), body, len);
        size_t a = (size_t)je.position, z = a;
        while (a > 0 && number_char(copy[a - 1])) a--;
        while (z < len && number_char(copy[z])) z++;
        bool whole = !memchr(copy + a, '.', z - a) && !memchr(copy + a, 'e', z - a) &&
                     !memchr(copy + a, 'E', z - a);
        const char *mark = huge[(whole ? 0 : 2) + (copy[a] == '-' ? 1 : 0)].mark;
        size_t ml = strlen(mark);
        if (z - a < ml) break;
        memcpy(copy + a, mark, ml);
        memset(copy + a + ml, ' ', z - a - ml);
    }
    if (v && !copy) { /* nothing marked: the body parsed as it was */
        json_decref(v);
        v = NULL;
    }
    free(copy);
    return v;
}

json_t *api_body(struct api_ctx *c)
{
    struct sk_err e = {0};
    if (!c->req->body || c->req->body_len == 0) {
        api_error(c, 400, "a JSON object body is required");
        return NULL;
    }
    json_t *v = json_parse(c->req->body, c->req->body_len, "body", &e);
    if (!v) {
        /* valid JSON with a number sked cannot hold: said of its field, as any other value
         * out of range is, rather than as malformed JSON */
        json_t *marked = load_marked(c->req->body, c->req->body_len);
        char field[512];
        const char *why = marked ? huge_number(marked, "", field, sizeof field) : NULL;
        json_decref(marked);
        if (why) {
            json_t *errs = json_array();
            json_errs_add(errs, field, "%s", why);
            api_invalid(c, errs);
            return NULL;
        }
        api_error(c, 400, "%s", e.msg);
        return NULL;
    }
    if (!json_is_object(v)) {
        api_error(c, 400, "the body must be a JSON object, not %s", json_type_name(v));
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- query parameters and paging ---- */

/* s for a message, cut after 60 bytes (at the start of a character) with "…" */
static void append_short(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n <= 60) {
        buf_puts(b, s);
        return;
    }
    n = 60;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    buf_append(b, s, n);
    buf_puts(b, "…");
}

void api_params_known(struct api_ctx *c, const char *const *known, json_t *errs)
{
    const struct http_req *req = c->req;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].key;
        bool ok = false;
        for (const char *const *a = known; *a && !ok; a++) ok = strcmp(k, *a) == 0;
        for (size_t j = 0; j < i && !ok; j++) ok = strcmp(req->params[j].key, k) == 0; /* once */
        if (ok) continue;
        struct buf name = BUF_INIT, all = BUF_INIT;
        append_short(&name, k);
        for (const char *const *a = known; *a; a++)
            buf_printf(&all, "%s%s", a == known ? "" : ", ", *a);
        json_errs_add(errs, buf_cstr(&name), "%s (%s)",
                      *k ? "unknown parameter" : "a parameter without a name",
                      *known                                ? buf_cstr(&all)
                      : changes_state(req->head.method) ? "this request takes none"
                                                        : "this list takes none");
        buf_free(&name);
        buf_free(&all);
    }
}

bool api_no_params(struct api_ctx *c)
{
    static const char *const none[] = {NULL};
    json_t *errs = json_array();
    api_params_known(c, none, errs);
    if (!json_array_size(errs)) {
        json_decref(errs);
        return false;
    }
    api_invalid(c, errs);
    return true;
}

const char *api_param(struct api_ctx *c, const char *key, const char *accepts, unsigned flags,
                      json_t *errs)
{
    /* a client that repeats a parameter means every value: an answer for one of them would
     * answer another question than the one asked, so none is taken */
    const char *v = NULL;
    size_t n = 0;
    struct buf all = BUF_INIT;
    for (size_t i = 0; i < c->req->nparams; i++) {
        if (strcmp(c->req->params[i].key, key) != 0) continue;
        if (!n) v = c->req->params[i].value;
        buf_printf(&all, "%s%s", n ? "," : "", c->req->params[i].value);
        n++;
    }
    if (n > 1) {
        char times[32];
        if (n == 2)
            snprintf(times, sizeof times, "twice");
        else
            snprintf(times, sizeof times, "%zu times", n);
        struct buf one = BUF_INIT;
        append_short(&one, buf_cstr(&all));
        if (flags & API_PARAM_LIST)
            json_errs_add(errs, key, "given %s; give one value (lists are comma-separated: %s=%s)",
                          times, key, buf_cstr(&one));
        else
            json_errs_add(errs, key, "given %s; give one value: %s", times, accepts);
        buf_free(&one);
        v = NULL;
    } else if (v && !*v && !(flags & API_PARAM_EMPTY)) {
        /* an empty value is no value: a client that sends one has lost the one it meant, which
         * the default need not be */
        if (flags & API_PARAM_REQUIRED)
            json_errs_add(errs, key, "must not be empty: give %s", accepts);
        else
            json_errs_add(errs, key, "must not be empty: give %s, or leave %s out", accepts, key);
        v = NULL;
    } else if (v && !utf8_valid(v, strlen(v))) {
        /* as in a body: text that is not UTF-8 would be matched as no one meant it */
        json_errs_add(errs, key, "is not UTF-8 text: percent-encode each character as its "
                                 "UTF-8 bytes (é as %%C3%%A9)");
        v = NULL;
    }
    buf_free(&all);
    return v;
}

int api_decimal(const char *s, int64_t max, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n && !s[n]) {
        if (n > 1 && s[0] == '0') return -EDOM;
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            int d = s[i] - '0';
            if (d > max || v > (max - d) / 10) return -ERANGE;
            v = v * 10 + d;
        }
        *out = v;
        return 0;
    }
    /* not plain digits: a number all the same (a sign, spaces), or none */
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno) return -EINVAL;
    return v < 0 ? -ERANGE : -EDOM;
}

void api_job_id_param(struct api_ctx *c, char out[37], json_t *errs)
{
    const char *job = api_param(c, "job_id", "a job id (UUID)", 0, errs);
    out[0] = '\0';
    if (job && !uuid_valid(job))
        json_errs_add(errs, "job_id", "must be a job id (UUID)");
    else if (job)
        for (int i = 0; i < UUID_STR_LEN; i++) out[i] = (char)tolower((unsigned char)job[i]);
}

int64_t api_int_param(struct api_ctx *c, const char *key, int64_t dflt, int64_t min, int64_t max,
                      json_t *errs)
{
    char accepts[96];
    snprintf(accepts, sizeof accepts, "a whole number from %lld to %lld", (long long)min,
             (long long)max);
    const char *v = api_param(c, key, accepts, 0, errs);
    if (!v) return dflt;
    int64_t n = 0;
    int rc = api_decimal(v, max, &n);
    if (rc == -EDOM)
        json_errs_add(errs, key, "must be %s in plain digits, without a sign or leading zeros",
                      accepts);
    else if (rc || n < min)
        json_errs_add(errs, key, "must be %s", accepts);
    return rc || n < min ? dflt : n;
}

int api_bool_param(struct api_ctx *c, const char *key, json_t *errs)
{
    static const char accepts[] = "true or false (or 1 or 0)";
    const char *v = api_param(c, key, accepts, 0, errs);
    if (!v) return -1;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) return 1;
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) return 0;
    json_errs_add(errs, key, "must be %s", accepts);
    return -1;
}

void api_page(struct api_ctx *c, struct page *p, const char *default_sort, bool default_desc,
              const char *const *sorts, json_t *errs)
{
    p->page = api_int_param(c, "page", 1, 1, 1000000000, errs);
    p->size = api_int_param(c, "size", 25, 1, 1000, errs);
    p->sort = default_sort;
    p->desc = default_desc;
    struct buf all = BUF_INIT;
    buf_puts(&all, "one of ");
    for (const char *const *k = sorts; *k; k++)
        buf_printf(&all, "%s%s", k == sorts ? "" : ", ", *k);
    /* names of keys and directions in any case, like the statuses and levels of the lists */
    const char *s = api_param(c, "sort", buf_cstr(&all), 0, errs);
    if (s) {
        bool ok = false;
        for (const char *const *k = sorts; *k; k++)
            if (strcasecmp(*k, s) == 0) ok = true, p->sort = *k;
        if (!ok) json_errs_add(errs, "sort", "unknown sort key (%s)", buf_cstr(&all));
    }
    buf_free(&all);
    const char *d = api_param(c, "sort_direction", "asc or desc", 0, errs);
    if (d) {
        if (strcasecmp(d, "asc") == 0)
            p->desc = false;
        else if (strcasecmp(d, "desc") == 0)
            p->desc = true;
        else
            json_errs_add(errs, "sort_direction", "must be asc or desc");
    }
    if (p->page > 1 && (p->page - 1) > INT64_MAX / p->size)
        json_errs_add(errs, "page", "too large");
}

/* s percent-encoded for a query string (unreserved characters kept). */
static void append_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (isalnum((unsigned char)*s) || strchr("-_.~", *s))
            buf_putc(b, *s);
        else
            buf_printf(b, "%%%02X", (unsigned char)*s);
    }
}

static json_t *string_freed(char *text)
{
    json_t *j = json_string(text);
    free(text);
    return j;
}

/* This request's URL with its paging parameters (page, size, after) replaced by tail. */
static char *link_with(struct api_ctx *c, const char *tail)
{
    char base[256];
    api_base_url(c, base, sizeof base);
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s%s?", base, c->req->head.path);
    for (size_t i = 0; i < c->req->nparams; i++) {
        const char *k = c->req->params[i].key;
        if (strcmp(k, "page") == 0 || strcmp(k, "size") == 0 || strcmp(k, "after") == 0)
            continue;
        append_escaped(&b, k);
        buf_putc(&b, '=');
        append_escaped(&b, c->req->params[i].value);
        buf_putc(&b, '&');
    }
    buf_puts(&b, tail);
    return buf_steal(&b);
}

static json_t *page_link(struct api_ctx *c, int64_t page, int64_t size)
{
    char tail[64];
    snprintf(tail, sizeof tail, "page=%lld&size=%lld", (long long)page, (long long)size);
    return string_freed(link_with(c, tail));
}

/* The links of a page: by number (after NULL) with self, prev and next, or after a run with
 * self and, when more follow, next (after=next_after). */
static json_t *list_links(struct api_ctx *c, int64_t total, const struct page *p,
                          const char *after, const char *next_after)
{
    json_t *links = json_object();
    if (after) {
        char tail[128];
        snprintf(tail, sizeof tail, "after=%s&size=%lld", after, (long long)p->size);
        json_object_set_new(links, "self", string_freed(link_with(c, tail)));
        if (next_after) {
            snprintf(tail, sizeof tail, "after=%s&size=%lld", next_after, (long long)p->size);
            json_object_set_new(links, "next", string_freed(link_with(c, tail)));
        }
        return links;
    }
    json_object_set_new(links, "self", page_link(c, p->page, p->size));
    if (p->page > 1) {
        /* the page before, or from past the end the last page with items (page 1 when none
         * has any): a link back to an empty page leads nowhere */
        int64_t last = total > 0 ? (total - 1) / p->size + 1 : 1;
        json_object_set_new(links, "prev",
                            page_link(c, p->page - 1 < last ? p->page - 1 : last, p->size));
    }
    if (p->page * p->size < total)
        json_object_set_new(links, "next", page_link(c, p->page + 1, p->size));
    return links;
}

json_t *api_list(struct api_ctx *c, json_t *items, int64_t total, const struct page *p)
{
    return json_pack("{s:{s:o,s:I},s:o,s:s}", "hits", "hits", items, "total", (json_int_t)total,
                     "links", list_links(c, total, p, NULL, NULL), "sortBy",
                     p->sort ? p->sort : "");
}

void api_reply_list(struct api_ctx *c, const struct buf *items, int64_t total,
                    const struct page *p, const char *after, const char *next_after)
{
    /* api_list's document, with the items already written */
    struct buf b = BUF_INIT;
    buf_reserve(&b, items->len + 1024);
    buf_puts(&b, "{\"hits\":{\"hits\":[");
    buf_append(&b, items->data, items->len);
    buf_printf(&b, "],\"total\":%lld},\"links\":", (long long)total);
    json_t *links = list_links(c, total, p, after, next_after);
    json_write(&b, links);
    json_decref(links);
    buf_puts(&b, ",\"sortBy\":");
    buf_json_string(&b, p->sort ? p->sort : "");
    buf_putc(&b, '}');
    http_reply(c->req, 200, "application/json", b.data, b.len);
    buf_free(&b);
}

int64_t api_page_fit(struct page *p, int64_t fit)
{
    int64_t size = fit < 1 ? 1 : fit;
    while (p->size % size) size--;
    p->page = (p->page - 1) * (p->size / size) + 1;
    p->size = size;
    return size;
}

void api_items_begin(struct page_items *it)
{
    it->mark = it->b.len;
    if (it->n) buf_putc(&it->b, ',');
}

bool api_items_end(struct page_items *it, const struct page *p)
{
    if (it->n && it->b.len > API_PAGE_MAX_BYTES) {
        it->b.len = it->mark;
        it->b.data[it->mark] = '\0';
        it->cut = true;
        return false;
    }
    it->n++;
    if (p->size % (int64_t)it->n == 0) {
        it->whole = it->n;
        it->whole_len = it->b.len;
    }
    return true;
}

size_t api_items_room(const struct page *p, size_t n, bool cut)
{
    struct page fit = *p;
    return cut && n > 0 && (int64_t)n < p->size ? (size_t)api_page_fit(&fit, (int64_t)n) : n;
}

void api_reply_items(struct api_ctx *c, struct page_items *it, int64_t total, const struct page *p,
                     const char *after, const char *next_after)
{
    struct page fit = *p;
    if (!after && it->cut && it->n > 0 && (int64_t)it->n < p->size) {
        api_page_fit(&fit, (int64_t)it->n); /* its size is it->whole */
        it->b.len = it->whole_len;
        it->b.data[it->b.len] = '\0';
    }
    api_reply_list(c, &it->b, total, &fit, after, next_after);
    buf_free(&it->b);
}

/* ---- shapes ---- */

const char *api_base_url(struct api_ctx *c, char *buf, size_t n)
{
    /* the address the operator gave is the one links use: not what a client's Host says */
    const char *pub = c->api->cfg->public_url;
    if (pub && strlen(pub) < n) return memcpy(buf, pub, strlen(pub) + 1);
    const char *host = http_header(c->req, "Host");
    const char *scheme = c->req->tls ? "https://" : "http://";
    size_t hl = host ? strlen(host) : 0;
    /* a request in absolute form names its own authority, which an origin server takes over
     * the Host header (RFC 9112, section 3.2.2) */
    const char *t = c->req->head.target;
    bool https = strncasecmp(t, "https://", 8) == 0;
    if (https || strncasecmp(t, "http://", 7) == 0) {
        scheme = https ? "https://" : "http://";
        host = t + strlen(scheme);
        hl = strcspn(host, "/?#");
    }
    size_t sl = strlen(scheme);
    bool ok = hl > 0 && hl < 200 && sl + hl < n && host_port_len(host, hl) == hl;
    if (ok) { /* on every answer that links: written without snprintf */
        memcpy(buf, scheme, sl);
        memcpy(buf + sl, host, hl);
        buf[sl + hl] = '\0';
    } else {
        const char *lh = c->api->cfg->listen_host;
        bool v6 = strchr(lh, ':') != NULL;
        snprintf(buf, n, "http://%s%s%s:%d", v6 ? "[" : "", lh, v6 ? "]" : "", c->api->port);
    }
    return buf;
}

void api_location(struct api_ctx *c, const char *fmt, ...)
{
    char base[256];
    struct buf b = BUF_INIT;
    buf_puts(&b, api_base_url(c, base, sizeof base));
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    http_add_header(c->req, "Location", buf_cstr(&b));
    buf_free(&b);
}

json_t *api_time(int64_t us)
{
    if (us == NO_TIME) return json_null();
    char ts[TIME_STR_MAX];
    time_format(us, ts);
    return json_string(ts);
}

static json_t *user_json(const struct user_ref *u)
{
    if (!u->id) return json_null();
    return json_pack("{s:s,s:s}", "id", u->id, "name", u->name ? u->name : "");
}

/*
 * The run's shape is written once (run_emit) to either of two outputs: a jansson object, for
 * documents that embed runs (a job's last runs, SSE events), or JSON text straight into a
 * buffer, for the answers that are runs or lists of runs, where building and freeing some forty
 * jansson values per run was a sixth of a no-op run's work. json_write writes values as
 * jansson does, so both outputs are the same document.
 */
struct emit {
    json_t *obj;   /* object mode, or NULL */
    struct buf *b; /* text mode */
    bool first;
};

static void emit_key(struct emit *w, const char *k)
{
    size_t n = strlen(k); /* keys are plain ASCII literals */
    if (w->b->len + n + 5 > w->b->cap) buf_reserve(w->b, n + 4);
    char *p = w->b->data + w->b->len;
    if (!w->first) *p++ = ',';
    w->first = false;
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    w->b->len = (size_t)(p - w->b->data);
}

/* Strings from the store: child output was repaired on the way in, the rest checked by
 * jansson; what is not valid UTF-8 anyway is repaired here rather than sent (or dropped). */
static void emit_str(struct emit *w, const char *k, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (!w->obj) {
        emit_key(w, k);
        if (!v) {
            buf_append(w->b, "null", 4);
            return;
        }
        size_t mark = w->b->len;
        /* checked only when some byte is not ASCII */
        if (!buf_json_stringn(w->b, v, n) || utf8_valid(v, n)) return;
        w->b->len = mark;
    }
    struct buf fixed = BUF_INIT;
    if (v && !utf8_valid(v, n)) {
        utf8_sanitize(&fixed, v, n);
        v = buf_cstr(&fixed);
    }
    if (w->obj)
        json_object_set_new(w->obj, k, v ? json_string(v) : json_null());
    else
        buf_json_string(w->b, v);
    buf_free(&fixed);
}

/* v, n bytes with nothing to escape in JSON (made by sked: times, names of states, links) */
static void emit_plain(struct emit *w, const char *k, const char *v, size_t n)
{
    if (w->obj) {
        json_object_set_new(w->obj, k, json_stringn(v, n));
        return;
    }
    emit_key(w, k);
    buf_reserve(w->b, n + 2);
    char *p = w->b->data + w->b->len;
    *p++ = '"';
    memcpy(p, v, n);
    p += n;
    *p++ = '"';
    *p = '\0';
    w->b->len += n + 2;
}

static void emit_int(struct emit *w, const char *k, int64_t v)
{
    if (w->obj) {
        json_object_set_new(w->obj, k, json_integer(v));
        return;
    }
    emit_key(w, k);
    buf_put_int(w->b, v);
}

/* v as is (a borrowed reference), or null when NULL */
static void emit_json(struct emit *w, const char *k, const json_t *v)
{
    if (w->obj) {
        json_object_set_new(w->obj, k, v ? json_incref((json_t *)v) : json_null());
        return;
    }
    emit_key(w, k);
    if (v)
        json_write(w->b, v);
    else
        buf_append(w->b, "null", 4);
}

static void emit_time(struct emit *w, const char *k, int64_t us)
{
    /* the text of the last instant written, kept: a run's are often one (created, updated and
     * started at once) */
    static _Thread_local int64_t last_us = NO_TIME;
    static _Thread_local char last[TIME_STR_MAX];
    static _Thread_local size_t last_n;
    if (us == NO_TIME) {
        emit_json(w, k, NULL);
        return;
    }
    if (us != last_us) {
        time_format(us, last);
        last_n = strlen(last);
        last_us = us;
    }
    emit_plain(w, k, last, last_n);
}

static void emit_real(struct emit *w, const char *k, double v)
{
    if (w->obj) {
        json_object_set_new(w->obj, k, json_real(v));
        return;
    }
    emit_key(w, k);
    json_write_real(w->b, v);
}

static void emit_user(struct emit *w, const char *k, const struct user_ref *u)
{
    if (w->obj) {
        json_object_set_new(w->obj, k, user_json(u));
        return;
    }
    if (!u->id) {
        emit_json(w, k, NULL);
        return;
    }
    emit_key(w, k);
    struct emit in = {NULL, w->b, true};
    buf_putc(w->b, '{');
    emit_str(&in, "id", u->id);
    emit_str(&in, "name", u->name ? u->name : "");
    buf_putc(w->b, '}');
}

/* Whether s (n bytes) is ASCII with nothing to escape in a JSON string. */
static bool json_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch >= 0x80 || ch == '"' || ch == '\\') return false;
    }
    return true;
}

/* to[n...]: the literal lit, then v (vn bytes); the new length */
static size_t append_lit(char *to, size_t n, const char *lit, const char *v, size_t vn)
{
    size_t ln = strlen(lit);
    memcpy(to + n, lit, ln);
    memcpy(to + n + ln, v, vn);
    return n + ln + vn;
}

/* link (n bytes; room for one more) as k's value: copied when plain, else escaped */
static void emit_link(struct emit *w, const char *k, char *link, size_t n, bool plain)
{
    if (plain) {
        emit_plain(w, k, link, n);
        return;
    }
    link[n] = '\0';
    emit_str(w, k, link);
}

static void run_emit(struct api_ctx *c, const struct run *r, struct emit *w)
{
    char base[256], dur[32];
    api_base_url(c, base, sizeof base);
    emit_str(w, "id", r->id);
    emit_str(w, "job_id", r->job_id);
    emit_str(w, "job_title", r->job_title);
    emit_str(w, "task", r->task);
    emit_str(w, "task_id", r->id);
    emit_time(w, "created", r->created);
    emit_time(w, "updated", r->updated);
    emit_time(w, "started_at", r->started_at);
    emit_time(w, "finished_at", r->finished_at);
    const char *status = run_status_name(r->status), *trigger = run_trigger_name(r->trigger);
    emit_plain(w, "status", status, strlen(status));
    emit_str(w, "message", r->message);
    emit_str(w, "title", r->title);
    emit_str(w, "queue", r->queue);
    if (r->args)
        emit_json(w, "args", r->args);
    else if (w->obj)
        json_object_set_new(w->obj, "args", json_object());
    else
        emit_key(w, "args"), buf_append(w->b, "{}", 2);
    emit_plain(w, "trigger", trigger, strlen(trigger));
    emit_time(w, "scheduled_for", r->scheduled_for);
    emit_time(w, "until", r->until);
    /* waits for its job's active run, not for a time; a held run stopped waits no more */
    bool for_run = r->not_before == RUN_HELD, held = for_run && r->status == RUN_QUEUED;
    emit_time(w, "not_before", for_run ? NO_TIME : r->not_before);
    emit_json(w, "held", held ? json_true() : json_false()); /* jansson's singletons */
    if (r->has_exit_code)
        emit_int(w, "exit_code", r->exit_code);
    else
        emit_json(w, "exit_code", NULL);
    emit_json(w, "output", r->output);
    emit_json(w, "progress", r->progress);
    emit_int(w, "attempt", r->attempt);
    emit_str(w, "node", r->node);
    emit_str(w, "executor", r->executor ? r->executor : "local");
    emit_str(w, "worker", r->remote ? json_str(r->remote, "worker") : NULL);
    emit_str(w, "parent_run_id", r->parent_run_id);
    emit_int(w, "total_entries", r->total_entries);
    emit_int(w, "inserted_entries", r->inserted_entries);
    emit_int(w, "updated_entries", r->updated_entries);
    emit_int(w, "errored_entries", r->errored_entries);
    emit_int(w, "total_subtasks", 0);
    emit_int(w, "completed_subtasks", 0);
    emit_int(w, "failed_subtasks", 0);
    if (r->timeout_ms > 0) duration_format(r->timeout_ms, dur);
    emit_str(w, "timeout", r->timeout_ms > 0 ? dur : NULL);
    if (r->started_at != NO_TIME) {
        int64_t end = r->finished_at;
        if (end == NO_TIME) {
            end = time_now_us();
            c->live = true;
        }
        emit_real(w, "duration", (double)(end - r->started_at) / 1e6);
    } else {
        emit_json(w, "duration", NULL);
    }
    emit_str(w, "started_by_id", r->started_by.id);
    emit_user(w, "started_by", &r->started_by);
    emit_user(w, "stopped_by", &r->stopped_by);
    /* the links, written into one array: the run's own link, then each one made of it and a
     * suffix, or of the base and a path. What they are made of has nothing to escape when it
     * is what sked makes (api_base_url takes only plain characters from Host), which is
     * checked once rather than on every link */
    size_t bl = strlen(base), jl = strlen(r->job_id), il = strlen(r->id);
    bool plain = json_plain(base, bl) && json_plain(r->job_id, jl) && json_plain(r->id, il);
    char own[sizeof base + 2 * UUID_STR_LEN + 32];
    char *link = bl + jl + il + 32 <= sizeof own ? own : xmalloc(bl + jl + il + 32);
    json_t *links = w->obj ? json_object() : NULL;
    struct emit lw = {links, w->b, true};
    if (!links) emit_key(w, "links"), buf_putc(w->b, '{');
    memcpy(link, base, bl);
    size_t n = append_lit(link, bl, "/api/jobs/", r->job_id, jl);
    n = append_lit(link, n, "/runs/", r->id, il);
    emit_link(&lw, "self", link, n, plain);
    static const char *const sub[][2] = {
        {"stop", "/actions/stop"}, {"logs", "/logs"}, {"stream", "/logs/stream"}};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        emit_link(&lw, sub[i][0], link, append_lit(link, n, sub[i][1], "", 0), plain);
    emit_link(&lw, "logs_search", link, append_lit(link, bl, "/api/logs/jobs?q=", r->id, il),
              plain);
    if (link != own) free(link);
    if (links)
        json_object_set_new(w->obj, "links", links);
    else
        buf_putc(w->b, '}');
}

json_t *api_run_json(struct api_ctx *c, const struct run *r)
{
    struct emit w = {json_object(), NULL, true};
    run_emit(c, r, &w);
    return w.obj;
}

void api_run_write(struct api_ctx *c, struct buf *b, const struct run *r)
{
    struct emit w = {NULL, b, true};
    buf_putc(b, '{');
    run_emit(c, r, &w);
    buf_putc(b, '}');
}

void api_reply_run(struct api_ctx *c, int status, const struct run *r)
{
    struct buf b = BUF_INIT;
    buf_reserve(&b, 2000); /* a run is about 1,500 bytes */
    api_run_write(c, &b, r);
    http_reply(c->req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

/* v, or the empty object or array text given when v is NULL (text mode only) */
static void emit_json_or(struct emit *w, const char *k, const json_t *v, const char *empty)
{
    if (v) {
        emit_json(w, k, v);
        return;
    }
    emit_key(w, k);
    buf_puts(w->b, empty);
}

/* A job's webhook URLs as a reader who is no admin sees them (notify_hook_shown). */
static json_t *webhooks_masked(const json_t *hooks)
{
    json_t *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(hooks, i, h)
    {
        char *shown = notify_hook_shown(json_string_value(h));
        if (shown) json_array_append_new(out, json_string(shown));
        free(shown);
    }
    return out;
}

void api_job_last_read(struct store *st, const char *job_id, bool runs, struct job_last *l)
{
    memset(l, 0, sizeof *l);
    l->since = store_last_success_start(st, job_id);
    l->any = runs && store_run_latest(st, job_id, -1, &l->last) == 0;
    for (int s = 0; l->any && s < RUN_STATUS_COUNT; s++)
        l->has[s] = store_run_latest(st, job_id, s, &l->by[s]) == 0;
}

void api_job_last_release(struct job_last *l)
{
    if (l->any) run_release(&l->last);
    for (int s = 0; s < RUN_STATUS_COUNT; s++)
        if (l->has[s]) run_release(&l->by[s]);
    memset(l, 0, sizeof *l);
}

void api_job_write(struct api_ctx *c, struct buf *b, const struct job *j, bool with_last)
{
    struct job_last l;
    api_job_last_read(c->api->store, j->id, with_last, &l);
    api_job_write_with(c, b, j, with_last, &l);
    api_job_last_release(&l);
}

void api_job_write_with(struct api_ctx *c, struct buf *b, const struct job *j, bool with_last,
                        const struct job_last *pre)
{
    char base[256], d[32];
    api_base_url(c, base, sizeof base);
    struct emit w = {NULL, b, true};
    buf_putc(b, '{');
    emit_str(&w, "id", j->id);
    emit_time(&w, "created", j->created);
    emit_time(&w, "updated", j->updated);
    emit_str(&w, "title", j->title);
    emit_str(&w, "description", j->description);
    emit_key(&w, "active");
    buf_puts(b, j->active ? "true" : "false");
    emit_str(&w, "task", j->task);
    emit_str(&w, "default_queue", j->default_queue);
    emit_json(&w, "schedule", j->schedule);
    emit_json_or(&w, "run_args", j->run_args, "{}");
    emit_json_or(&w, "args", j->run_args, "{}");
    emit_json(&w, "custom_args", json_object_get(j->run_args, "custom_args"));
    emit_json_or(&w, "notification_emails", json_object_get(j->notifications, "emails"), "[]");
    emit_json_or(&w, "notification_statuses", json_object_get(j->notifications, "statuses"),
                 "[]");
    json_t *hooks = json_object_get(j->notifications, "webhooks");
    if (hooks && c->who.role != ROLE_ADMIN) {
        json_t *masked = webhooks_masked(hooks);
        emit_json(&w, "notification_webhooks", masked);
        json_decref(masked);
    } else {
        emit_json_or(&w, "notification_webhooks", hooks, "[]");
    }
    if (j->timeout_ms > 0) duration_format(j->timeout_ms, d);
    emit_str(&w, "timeout", j->timeout_ms > 0 ? d : NULL);
    emit_time(&w, "next_run", j->next_run);
    emit_str(&w, "overlap", overlap_name(j->overlap));
    emit_str(&w, "catchup", catchup_name(j->catchup));
    emit_int(&w, "catchup_limit", j->catchup_limit);
    emit_int(&w, "skipped_fires", j->skipped_fires);
    emit_int(&w, "max_retries", j->max_retries);
    duration_format(j->retry_backoff_ms, d);
    emit_str(&w, "retry_backoff", d);
    if (j->retention_ms >= 0) duration_format(j->retention_ms, d);
    emit_str(&w, "retention", j->retention_ms >= 0 ? d : NULL);
    emit_json_or(&w, "on_success", j->on_success, "[]");
    if (j->alert_after_ms >= 0) duration_format(j->alert_after_ms, d);
    emit_str(&w, "alert_after", j->alert_after_ms >= 0 ? d : NULL);
    emit_time(&w, "overdue_since", j->overdue_at);

    /* default_args: what a run would get now with the saved arguments (a JSON string, as the
     * reference sends it); "null" when no run can start now (its job type is not loaded) */
    const struct task *t = taskset_get(dispatch_tasks(c->api->dispatch), j->task);
    json_t *errs = json_array();
    json_t *resolved = t ? args_resolve(t, j->run_args, NULL, pre->since, errs) : NULL;
    char *da = json_dump(resolved ? resolved
                         : t      ? json_object_get(j->run_args, "custom_args")
                                  : NULL);
    emit_str(&w, "default_args", da);
    free(da);
    json_decref(resolved);
    json_decref(errs);

    if (with_last) {
        emit_key(&w, "last_run");
        if (pre->any) {
            api_run_write(c, b, &pre->last);
            emit_key(&w, "last_runs");
            struct emit lr = {NULL, b, true};
            buf_putc(b, '{');
            for (int s = 0; s < RUN_STATUS_COUNT; s++) {
                if (!pre->has[s]) continue;
                char key[32];
                snprintf(key, sizeof key, "%s", run_status_name(s));
                for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
                emit_key(&lr, key);
                api_run_write(c, b, &pre->by[s]);
            }
            buf_putc(b, '}');
        } else {
            buf_puts(b, "{}");
            emit_key(&w, "last_runs");
            buf_puts(b, "{}");
        }
    }
    struct buf link = BUF_INIT;
    emit_key(&w, "links");
    struct emit lw = {NULL, b, true};
    buf_putc(b, '{');
    buf_puts(&link, base);
    buf_puts(&link, "/api/jobs/");
    buf_puts(&link, j->id);
    emit_str(&lw, "self", buf_cstr(&link));
    buf_puts(&link, "/runs");
    emit_str(&lw, "runs", buf_cstr(&link));
    buf_reset(&link);
    buf_puts(&link, base);
    buf_puts(&link, "/administration/jobs/");
    buf_puts(&link, j->id);
    emit_str(&lw, "self_admin_html", buf_cstr(&link));
    buf_putc(b, '}');
    buf_free(&link);
    buf_putc(b, '}');
}

int api_load_job(struct api_ctx *c, struct job *j)
{
    const char *id = c->m->params[0];
    if (uuid_valid(id) && api_job_purging(c->api, id)) {
        api_error(c, 404, "Job with ID %s does not exist (it is being deleted).", id);
        return -1;
    }
    int rc = uuid_valid(id) ? store_job_get(c->api->store, id, j) : -ENOENT;
    if (rc == -ENOENT) {
        api_error(c, 404, "Job with ID %s does not exist.", id);
        return -1;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return -1;
    }
    return 0;
}

int api_load_run(struct api_ctx *c, struct run *r)
{
    const char *job = c->m->params[0], *id = c->m->params[1];
    int rc = uuid_valid(id) ? store_run_get(c->api->store, id, r) : -ENOENT;
    if (rc == 0 && strcmp(r->job_id, job) != 0) {
        run_release(r);
        rc = -ENOENT;
    }
    if (rc == -ENOENT) {
        api_error(c, 404, "Run with ID %s for job %s does not exist.", id, job);
        return -1;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return -1;
    }
    return 0;
}

/* ---- work off the loop ---- */

struct off_op {
    struct api *api;
    struct http_req *req; /* NULL once the client has left (set on the loop) */
    _Atomic bool gone;    /* the same, for the pool's thread: nothing to work for */
    struct principal who;
    void (*work)(void *arg); /* or read, on the thread's reader */
    api_read_fn read;
    bool quick; /* a read on the thread of short reads, whose reader is api->quick_reader */
    api_answer_fn answer;
    void *arg;
};

static void off_work(void *arg)
{
    struct off_op *op = arg;
    if (op->gone) return;
    if (op->work) {
        op->work(op->arg);
        return;
    }
    /* the connection of this thread: a slot of api->readers, taken at its first read (the
     * thread of short reads has its own) */
    static _Thread_local struct store **mine;
    if (!mine && op->quick) {
        mine = &op->api->quick_reader;
    } else if (!mine) {
        int i = atomic_fetch_add(&op->api->nreaders, 1);
        if (i < API_READERS) mine = &op->api->readers[i];
    }
    if (mine && !*mine) {
        struct sk_err e = {0};
        if (store_open(op->api->cfg->db_path, DURABILITY_NORMAL, mine, &e) != 0)
            log_error("reader.store_failed", "reason=%s", log_q(e.msg));
    }
    op->read(mine ? *mine : NULL, op->arg);
}

static void off_gone(struct http_req *req, void *arg)
{
    (void)req;
    struct off_op *op = arg;
    op->req = NULL;
    op->gone = true;
}

static void off_done(void *arg)
{
    struct off_op *op = arg;
    if (op->req) {
        http_req_hold(op->req, NULL, NULL);
        struct route_match none;
        memset(&none, 0, sizeof none);
        struct api_ctx c = {op->api, op->req, &none, op->who, false};
        op->answer(&c, op->arg);
    } else {
        op->answer(NULL, op->arg);
    }
    free(op);
}

static void off_submit(struct api_ctx *c, struct offload *pool, void (*work)(void *arg),
                       api_read_fn read, api_answer_fn answer, void *arg)
{
    struct off_op *op = xcalloc(1, sizeof *op);
    op->quick = pool == c->api->quick;
    op->api = c->api;
    op->req = c->req;
    op->who = c->who;
    op->work = work;
    op->read = read;
    op->answer = answer;
    op->arg = arg;
    http_req_hold(c->req, off_gone, op);
    offload_submit(pool, off_work, off_done, op);
}

void api_off_loop(struct api_ctx *c, struct offload *pool, void (*work)(void *arg),
                  api_answer_fn answer, void *arg)
{
    off_submit(c, pool, work, NULL, answer, arg);
}

void api_read_off_loop(struct api_ctx *c, api_read_fn read, api_answer_fn answer, void *arg)
{
    if (!c->api->search) {
        read(c->api->store, arg);
        answer(c, arg);
        return;
    }
    off_submit(c, c->api->search, NULL, read, answer, arg);
}

bool api_unknown_fields(json_t *body, const char *const *allowed, json_t *errs)
{
    const char *k;
    json_t *v;
    bool bad = false;
    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++) ok = ok || strcmp(k, *a) == 0;
        if (!ok) {
            /* one without a name is named "" too: the path to it */
            json_errs_add(errs, k, "unknown field%s", *k ? "" : ": a field without a name");
            bad = true;
        }
    }
    return bad;
}

bool api_unknown_fields_named(json_t *body, const char *const *allowed, json_t *errs)
{
    struct buf names = BUF_INIT; /* written at the first unknown field: every run's request
                                  * comes here */
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(k, *a) == 0;
        if (ok) continue;
        if (!names.len)
            for (const char *const *a = allowed; *a; a++) {
                if (a != allowed) buf_puts(&names, ", ");
                buf_puts(&names, *a);
            }
        json_errs_add(errs, k, "unknown field%s (%s)", *k ? "" : ": a field without a name",
                      buf_cstr(&names));
    }
    bool bad = names.len > 0;
    buf_free(&names);
    return bad;
}

const char *api_str_field(json_t *body, const char *key, size_t max, bool required,
                             json_t *errs)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) {
        if (required) json_errs_add(errs, key, "required");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        utf8_chars(json_string_value(v)) > max || strlen(json_string_value(v)) != json_string_length(v)) {
        json_errs_add(errs, key, "must be a string of 1 to %zu characters", max);
        return NULL;
    }
    return json_string_value(v);
}

const char *api_line_field(json_t *body, const char *key, size_t max, bool required,
                           json_t *errs)
{
    const char *v = api_str_field(body, key, max, required, errs);
    if (v && utf8_blank(v)) {
        json_errs_add(errs, key, "must not be blank");
        return NULL;
    }
    if (v && utf8_has_control(v)) {
        json_errs_add(errs, key, "must be one line without control characters");
        return NULL;
    }
    return v;
}

struct queues_op {
    api_read_fn also;
    void (*answer)(struct api_ctx *c, const struct queue_info *qs, size_t n, void *arg);
    void *arg;
    struct queue_depths depths;
    int rc;
};

static void queues_read(struct store *reader, void *arg)
{
    struct queues_op *op = arg;
    op->rc = reader ? dispatch_queue_depths(reader, &op->depths) : -EIO;
    if (op->rc == 0 && op->also) op->also(reader, op->arg);
}

static void queues_answer(struct api_ctx *c, void *arg)
{
    struct queues_op *op = arg;
    if (c && op->rc != 0) {
        api_error(c, 503, "the store failed; see the server log");
        op->answer(NULL, NULL, 0, op->arg); /* to free arg */
    } else if (c) {
        size_t max = dispatch_queue_count(c->api->dispatch);
        struct queue_info *qs = xcalloc(max ? max : 1, sizeof *qs);
        op->answer(c, qs, dispatch_queues(c->api->dispatch, &op->depths, qs, max), op->arg);
        free(qs);
    } else {
        op->answer(NULL, NULL, 0, op->arg); /* the client left: arg is freed */
    }
    dispatch_queue_depths_free(&op->depths);
    free(op);
}

void api_with_queues(struct api_ctx *c, api_read_fn also,
                     void (*answer)(struct api_ctx *c, const struct queue_info *qs, size_t n,
                                    void *arg),
                     void *arg)
{
    struct queues_op *op = xcalloc(1, sizeof *op);
    op->also = also;
    op->answer = answer;
    op->arg = arg;
    struct api *api = c->api;
    if (also || !api->search) {
        api_read_off_loop(c, queues_read, queues_answer, op);
        return;
    }
    if (!api->quick) api->quick = offload_new(api->base, 1);
    off_submit(c, api->quick, NULL, queues_read, queues_answer, op);
}
