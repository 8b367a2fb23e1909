/*
 * api_users: people over the API - web sessions (/api/session), accounts (/api/users), API
 * tokens (/api/tokens) and the audit trail (/api/audit). Password hashing and checking take
 * about a tenth of a second of CPU and memory-hard work, so they run on the offload pool and
 * the request is answered when they finish; everything else stays on the loop.
 */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "offload.h"

#define PW_QUEUE_MAX 32

/* ---- shapes ---- */

static json_t *principal_json(const struct principal *w)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", w->id, "username", w->name, "display_name",
                     w->display, "role", role_name(w->role), "via",
                     w->via == VIA_SESSION ? "session" : w->via == VIA_TOKEN ? "token" : "bootstrap");
}

/* "me" or an account id from the path; fills out. A non-admin only ever finds their own
 * account: others' are "not found", so ids cannot be probed. */
static int path_account(struct api_ctx *c, struct account *out)
{
    const char *id = c->m->params[0];
    if (strcmp(id, "me") == 0) id = c->who.id;
    int rc = uuid_valid(id) ? store_account_get(c->api->store, id, out) : -ENOENT;
    if (rc == 0 && c->who.role != ROLE_ADMIN && strcmp(out->id, c->who.id) != 0) {
        account_release(out);
        rc = -ENOENT;
    }
    if (rc == -ENOENT) {
        api_error(c, 404, "Account %s does not exist.", c->m->params[0]);
        return -1;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return -1;
    }
    return 0;
}

/* ---- work off the loop ---- */

enum pw_kind { PW_LOGIN, PW_CREATE, PW_PATCH, PW_TOKEN };

struct pw_op {
    enum pw_kind kind;
    /* the sign-in attempt begun for it (throttled()), ended when its answer comes, or when it
     * is freed without one (the client left): an attempt never ended would hold the account's
     * and the address's limits forever */
    struct auth *auth;
    char *attempt_user;
    char attempt_peer[64];
    char *password;     /* to verify (login) or to set */
    char *current;      /* the caller's current password, to verify first (own change) */
    char *stored_hash;  /* what password or current is verified against */
    bool verified;
    int hash_rc;
    char new_hash[128];
    struct account acc; /* the account concerned */
    json_t *body;       /* the request, for what follows the hashing */
};

/* Ends the op's sign-in attempt, if one is open: a failure counts, a success clears. */
static void attempt_end(struct pw_op *op, bool failed)
{
    if (!op->attempt_user) return;
    int64_t now = time_now_us();
    if (failed)
        auth_login_failed(op->auth, op->attempt_user, op->attempt_peer, now);
    else
        auth_login_succeeded(op->auth, op->attempt_user, op->attempt_peer, now);
    free(op->attempt_user);
    op->attempt_user = NULL;
}

static void pw_free(struct pw_op *op)
{
    attempt_end(op, !op->verified); /* a wrong password counts even when no one waits */
    if (op->password) sodium_memzero(op->password, strlen(op->password));
    if (op->current) sodium_memzero(op->current, strlen(op->current));
    free(op->password);
    free(op->current);
    free(op->stored_hash);
    sodium_memzero(op->new_hash, sizeof op->new_hash);
    account_release(&op->acc);
    json_decref(op->body);
    free(op);
}

static void pw_work(void *arg)
{
    struct pw_op *op = arg;
    if (op->kind == PW_LOGIN) {
        op->verified = auth_verify_password(op->stored_hash, op->password);
        return;
    }
    /* a token made from a session is verified by the password it came with, never without */
    op->verified = op->current ? auth_verify_password(op->stored_hash, op->current)
                               : op->kind != PW_TOKEN;
    if (op->verified && op->password) op->hash_rc = auth_hash_password(op->password, op->new_hash);
}

static void pw_answer(struct api_ctx *c, void *arg);

/* Whether password checks and hashes are backed up (PW_QUEUE_MAX waiting or under way, a few
 * seconds of work): then the answer is a 503 asking to come back, so a flood of sign-ins from
 * many addresses neither grows a queue without end nor makes everyone wait minutes. */
static bool pw_busy(struct api_ctx *c)
{
    if (offload_pending(c->api->offload) < PW_QUEUE_MAX) return false;
    http_add_header(c->req, "Retry-After", "1");
    api_error(c, 503, "too many password checks are under way; try again in a moment");
    return true;
}

static void pw_start(struct api_ctx *c, struct pw_op *op)
{
    /* a sign-in attempt was let through by throttled(), which checked pw_busy() just before */
    if (!op->attempt_user && pw_busy(c)) {
        pw_free(op);
        return;
    }
    api_off_loop(c, c->api->offload, pw_work, pw_answer, op);
}

/* ---- sessions ---- */

/* Whether account id is still there, enabled, with the very password hash `checked` that a
 * password was checked against. A check waits its turn for a while, and meanwhile `sked user
 * passwd` (which writes the store itself, not through the loop), an admin or the person may
 * have set another password or disabled the account: what the old password was checked for
 * must not outlive that. When now is not NULL and the answer is true, it gets the account as it
 * is (the caller's to release). */
static bool checked_hash_stands(struct api_ctx *c, const char *id, const char *checked,
                                struct account *now)
{
    struct account a;
    if (!id[0] || !checked || store_account_get(c->api->store, id, &a) != 0) return false;
    bool same = !a.disabled && a.password_hash && strcmp(a.password_hash, checked) == 0;
    if (same && now)
        *now = a;
    else
        account_release(&a);
    return same;
}

/* checked_hash_stands for a sign-in: on success the account as it is now replaces op's copy. */
static bool still_as_checked(struct api_ctx *c, struct pw_op *op)
{
    struct account now;
    if (!checked_hash_stands(c, op->acc.id, op->stored_hash, &now)) return false;
    account_release(&op->acc);
    op->acc = now;
    return true;
}

static void login_done(struct api_ctx *c, struct pw_op *op)
{
    int64_t now = time_now_us();
    const char *username = json_str(op->body, "username");
    /* a password changed while it was checked is a wrong one now, and is answered so */
    if (!op->verified || op->acc.disabled || !op->acc.id[0] || !still_as_checked(c, op)) {
        attempt_end(op, true);
        api_audit(c, "login.failed", NULL, NULL, op->acc.id[0] ? op->acc.id : NULL,
                  json_pack("{s:s}", "username", username));
        api_error(c, 401, "wrong username or password, or the account is disabled");
        return;
    }
    attempt_end(op, false);
    char sid[64], csrf[64], hash[65];
    auth_new_secret("", sid);
    auth_new_secret("", csrf);
    auth_hash_token(sid, hash);
    int64_t expires = now + SESSION_SECONDS * 1000000LL;
    if (store_session_insert(c->api->store, hash, op->acc.id, csrf, now, expires, c->req->peer)) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    /* the caller is now this account */
    snprintf(c->who.id, sizeof c->who.id, "%s", op->acc.id);
    snprintf(c->who.name, sizeof c->who.name, "%s", op->acc.username);
    snprintf(c->who.display, sizeof c->who.display, "%s", op->acc.display_name);
    c->who.role = op->acc.role;
    c->who.via = VIA_SESSION;
    api_audit(c, "login.succeeded", NULL, NULL, op->acc.id, NULL);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
             auth_session_cookie(c->req), sid, SESSION_SECONDS, c->req->tls ? "; Secure" : "");
    http_add_header(c->req, "Set-Cookie", cookie);
    sodium_memzero(sid, sizeof sid);
    api_location(c, "/api/session");
    api_json(c, 201, json_pack("{s:o,s:s,s:o}", "user", account_to_json(&op->acc), "csrf_token",
                               csrf, "expires_at", api_time(expires)));
}

/* Whether user or the caller's address must wait before another password check (after failed
 * ones): then the answer is a 429 with Retry-After naming `what` ("sign-ins"). Otherwise the
 * check is counted as begun. */
/* The attempt throttled() began, kept in op to be ended whatever happens to the request. */
static void attempt_begun(struct pw_op *op, struct api_ctx *c, const char *user)
{
    op->auth = c->api->auth;
    op->attempt_user = xstrdup(user);
    snprintf(op->attempt_peer, sizeof op->attempt_peer, "%s", c->req->peer);
}

static bool throttled(struct api_ctx *c, const char *user, const char *what)
{
    if (pw_busy(c)) return true;
    int wait = auth_login_wait(c->api->auth, user, c->req->peer, time_now_us());
    if (wait <= 0) {
        auth_login_begin(c->api->auth, user, c->req->peer, time_now_us());
        return false;
    }
    char secs[16];
    snprintf(secs, sizeof secs, "%d", wait);
    http_add_header(c->req, "Retry-After", secs);
    api_error(c, 429, "too many failed %s for this account or address; try again in %d s", what,
              wait);
    return true;
}

/* Whether the caller has a password of their own to give as current_password: the bootstrap
 * token and accounts used only through tokens have none, and are told so rather than having a
 * check fail (which would count as a failed sign-in). */
static bool caller_has_password(struct api_ctx *c)
{
    struct account me;
    if (c->who.via == VIA_BOOTSTRAP || store_account_get(c->api->store, c->who.id, &me) != 0)
        return false;
    bool has = me.password_hash != NULL;
    account_release(&me);
    return has;
}

/* Begins checking `given` against the caller's own password in op: a sign-in attempt, limited
 * and audited alike. False after answering (429, 503). */
static bool check_caller(struct api_ctx *c, struct pw_op *op, const char *given)
{
    if (throttled(c, c->who.name, "password checks")) return false;
    attempt_begun(op, c, c->who.name);
    op->current = xstrdup(given);
    struct account me;
    if (store_account_get(c->api->store, c->who.id, &me) == 0) {
        op->stored_hash = me.password_hash ? xstrdup(me.password_hash) : NULL;
        account_release(&me);
    }
    return true;
}

/* The end of check_caller's check, if one was made: true when it passed; else the answer is
 * a 403 saying `wrong`, audited as a failed sign-in made `during` the change. */
static bool caller_checked(struct api_ctx *c, struct pw_op *op, const char *during,
                           const char *wrong)
{
    if (!op->current) return true;
    /* a password reset while it was checked: what was given is not the current one now */
    if (op->verified && !checked_hash_stands(c, c->who.id, op->stored_hash, NULL))
        op->verified = false;
    attempt_end(op, !op->verified);
    if (op->verified) return true;
    api_audit(c, "login.failed", NULL, NULL, c->who.id[0] ? c->who.id : NULL,
              json_pack("{s:s,s:s}", "username", c->who.name, "during", during));
    api_error(c, 403, "%s", wrong);
    return false;
}

/* A change that makes or widens a way in - a password set, a role raised, a disabled account
 * enabled - outlives the web session it is made in, so from a session it needs the caller's own
 * password too (as a token made from one does): a taken-over cookie must not be enough. */
static void want_current(struct api_ctx *c, bool widens, const char *cur, json_t *errs,
                         const char *what)
{
    if (cur && !caller_has_password(c))
        json_errs_add(errs, "current_password",
                      "you have no password to give: leave it out (requests made with a token "
                      "need none)");
    else if (widens && !cur && c->who.via == VIA_SESSION)
        json_errs_add(errs, "current_password",
                      "required from a signed-in browser to %s: your own password", what);
}

/* Whether origin (an Origin header) names the site this request reached: the scheme and Host
 * it came with, or the origin of public_url (a proxy may pass another Host on). */
static bool own_origin(struct api_ctx *c, const char *origin)
{
    const char *host = http_header(c->req, "Host");
    const char *scheme = c->req->tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (host && strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0)
        return true;
    const char *pub = c->api->cfg->public_url; /* "https://sked.example.org/some/path" */
    const char *after = pub ? strstr(pub, "://") : NULL;
    if (!after) return false;
    size_t n = (size_t)(after + 3 - pub) + strcspn(after + 3, "/");
    return strlen(origin) == n && strncasecmp(origin, pub, n) == 0;
}

void api_session_create(struct api_ctx *c)
{
    /* a form on another site's page could sign the browser in to an account of the attacker's
     * choosing (a text/plain form can carry JSON): browsers say where a request comes from */
    const char *from = http_header(c->req, "Sec-Fetch-Site");
    /* same-site too: a page of a sibling host (another app under the same domain) is not
     * sked's own; sked's pages send same-origin */
    /* a browser that does not say (older ones) still names the page's origin */
    const char *origin = from ? NULL : http_header(c->req, "Origin");
    if ((from && (strcasecmp(from, "cross-site") == 0 || strcasecmp(from, "same-site") == 0)) ||
        (origin && !own_origin(c, origin))) {
        api_error(c, 403, "a sign-in from another site's page is refused: sign in on sked's own "
                          "page");
        return;
    }
    json_t *body = api_body(c);
    if (!body) return;
    json_t *errs = json_array();
    static const char *const allowed[] = {"username", "password", NULL};
    api_unknown_fields(body, allowed, errs);
    const char *user = api_str_field(body, "username", 200, true, errs);
    const char *pass = api_str_field(body, "password", 1024, true, errs);
    if (json_array_size(errs)) {
        json_decref(body);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (throttled(c, user, "sign-ins")) {
        json_decref(body);
        return;
    }
    struct pw_op *op = xcalloc(1, sizeof *op);
    attempt_begun(op, c, user);
    op->kind = PW_LOGIN;
    op->body = body;
    op->password = xstrdup(pass);
    if (store_account_by_name(c->api->store, user, &op->acc) == 0 && op->acc.password_hash)
        op->stored_hash = xstrdup(op->acc.password_hash);
    pw_start(c, op);
}

void api_session_get(struct api_ctx *c)
{
    json_t *o = json_pack("{s:o}", "user", principal_json(&c->who));
    if (c->who.via == VIA_SESSION) json_object_set_new(o, "csrf_token", json_string(c->who.csrf));
    api_json(c, 200, o);
}

void api_session_delete(struct api_ctx *c)
{
    if (c->who.via != VIA_SESSION) {
        api_error(c, 400, "this request is authenticated with a token; there is no session to end");
        return;
    }
    store_session_delete(c->api->store, c->who.session);
    api_audit(c, "logout", NULL, NULL, c->who.id, NULL);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
             auth_session_cookie(c->req), c->req->tls ? "; Secure" : "");
    http_add_header(c->req, "Set-Cookie", cookie);
    http_reply(c->req, 204, NULL, NULL, 0);
}

/* ---- accounts ---- */

void api_users_list(struct api_ctx *c)
{
    if (api_no_params(c)) return;
    struct account *all;
    size_t n;
    if (store_account_list(c->api->store, &all, &n) != 0) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, account_to_json(&all[i]));
    store_accounts_free(all, n);
    api_json(c, 200, json_pack("{s:{s:o,s:I}}", "hits", "hits", items, "total", (json_int_t)n));
}

/* Validates role, display_name, disabled of body into a; returns false after adding errors. */
/* The body's "password": a string of what auth_password_problem allows (8 to 1024
 * characters), else an error naming it; NULL when absent or wrong. */
static const char *password_field(json_t *body, json_t *errs)
{
    json_t *v = json_object_get(body, "password");
    if (!v || json_is_null(v)) return NULL; /* null: none given */
    const char *p = json_string_value(v);
    const char *why = p ? auth_password_problem(p) : "must be a string of 8 to 1024 characters";
    if (why) {
        json_errs_add(errs, "password", "%s", why);
        return NULL;
    }
    return p;
}

static void account_fields(json_t *body, struct account *a, json_t *errs)
{
    json_t *role = json_object_get(body, "role");
    if (role) {
        int r = role_parse(json_string_value(role));
        if (r < 0)
            json_errs_add(errs, "role", "must be admin, operator or viewer");
        else
            a->role = r;
    }
    if (json_is_null(json_object_get(body, "display_name"))) { /* null: the default */
        free(a->display_name);
        a->display_name = a->username ? xstrdup(a->username) : NULL;
    } else if (json_object_get(body, "display_name")) {
        const char *d = api_line_field(body, "display_name", 200, false, errs);
        if (d) {
            free(a->display_name);
            a->display_name = xstrdup(d);
        }
    }
    json_t *dis = json_object_get(body, "disabled");
    if (dis) {
        if (!json_is_boolean(dis))
            json_errs_add(errs, "disabled", "must be true or false");
        else
            a->disabled = json_is_true(dis);
    }
}

/* ---- display names ---- */

/* Whether display name d, of the account with id (and username), would pass for someone
 * else (auth_display_name_problem): then adds why to errs and returns 1; -1 when the store
 * failed; else 0. */
static int display_name_check(struct api_ctx *c, const char *id, const char *username,
                              const char *d, json_t *errs)
{
    char why[300];
    int rc = auth_display_name_problem(c->api->store, id, username, d, why, sizeof why);
    if (rc > 0) json_errs_add(errs, "display_name", "%s", why);
    return rc;
}

/* display_name_check of what body asks a to be shown as, when it asks for a name other than
 * the one before (NULL: a new account); false after answering (400, 503). Run again when the
 * change is made: another account may have taken the name while a password was checked. */
static bool display_name_free(struct api_ctx *c, json_t *body, const struct account *a,
                              const char *before)
{
    if (!json_object_get(body, "display_name") && before) return true; /* unchanged */
    if (!a->display_name || (before && strcmp(a->display_name, before) == 0)) return true;
    json_t *errs = json_array();
    int rc = display_name_check(c, a->id, a->username, a->display_name, errs);
    if (rc > 0)
        api_invalid(c, errs);
    else
        json_decref(errs);
    if (rc < 0) api_error(c, 503, "the store failed; see the server log");
    return rc == 0;
}

static void create_done(struct api_ctx *c, struct pw_op *op)
{
    if (!caller_checked(c, op, "account creation", "the current password is wrong")) return;
    if (op->password && op->hash_rc) {
        api_error(c, 503, "the password could not be hashed");
        return;
    }
    struct account *a = &op->acc;
    if (!display_name_free(c, op->body, a, NULL)) return;
    if (op->password) a->password_hash = xstrdup(op->new_hash);
    a->created = a->updated = time_now_us();
    int rc = store_account_insert(c->api->store, a);
    if (rc == -EEXIST) {
        api_error(c, 409, "the username '%s' is taken", a->username);
        return;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    api_audit(c, "user.created", NULL, NULL, a->id,
              json_pack("{s:s,s:s}", "username", a->username, "role", role_name(a->role)));
    api_location(c, "/api/users/%s", a->id);
    api_json(c, 201, account_to_json(a));
}

void api_users_create(struct api_ctx *c)
{
    json_t *body = api_body(c);
    if (!body) return;
    json_t *errs = json_array();
    static const char *const allowed[] = {"username", "display_name", "role", "password",
                                          "disabled", "current_password", NULL};
    api_unknown_fields(body, allowed, errs);
    struct pw_op *op = xcalloc(1, sizeof *op);
    op->kind = PW_CREATE;
    op->body = body;
    struct account *a = &op->acc;
    const char *user = api_str_field(body, "username", 64, true, errs);
    const char *why = user ? username_problem(user) : NULL;
    if (why) json_errs_add(errs, "username", "%s", why);
    if (!json_object_get(body, "role")) json_errs_add(errs, "role", "required: admin, operator or viewer");
    account_fields(body, a, errs);
    const char *pass = password_field(body, errs);
    const char *cur = api_str_field(body, "current_password", 1024, false, errs);
    want_current(c, pass != NULL, cur, errs, "create an account with a password");
    /* shown as the name asked for, else as its username (always its own to show) */
    if (a->display_name &&
        display_name_check(c, NULL, why ? NULL : user, a->display_name, errs) < 0) {
        pw_free(op);
        json_decref(errs);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    if (json_array_size(errs)) {
        pw_free(op);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    uuid_v4(a->id);
    a->username = xstrdup(user);
    if (!a->display_name) a->display_name = xstrdup(user);
    struct account existing;
    if (store_account_by_name(c->api->store, user, &existing) == 0) {
        api_error(c, 409, "the username '%s' is taken", existing.username);
        account_release(&existing);
        pw_free(op);
        return;
    }
    if (pass) op->password = xstrdup(pass);
    if (cur && !check_caller(c, op, cur)) {
        pw_free(op);
        return;
    }
    if (!pass && !cur) {
        struct api_ctx cc = *c;
        create_done(&cc, op);
        pw_free(op);
        return;
    }
    pw_start(c, op);
}

void api_users_get(struct api_ctx *c)
{
    struct account a;
    if (path_account(c, &a)) return;
    api_json(c, 200, account_to_json(&a));
    account_release(&a);
}

/* Would this change leave no enabled admin? */
static bool last_admin(struct api_ctx *c, const struct account *before, const struct account *after)
{
    bool was = before->role == ROLE_ADMIN && !before->disabled;
    bool is = after && after->role == ROLE_ADMIN && !after->disabled;
    return was && !is && store_account_count(c->api->store, ROLE_ADMIN, true) <= 1;
}

static void patch_done(struct api_ctx *c, struct pw_op *op)
{
    bool own = strcmp(c->who.id, op->acc.id) == 0;
    if (!caller_checked(c, op, own && op->password ? "password change" : "account change",
                        "the current password is wrong"))
        return;
    if (op->password && op->hash_rc) {
        api_error(c, 503, "the password could not be hashed");
        return;
    }
    /* the request's fields go onto the account as it is now, not as it was read when the
     * request came: a password check takes a while, and an admin may have disabled or demoted
     * the account meanwhile, which a copy from before would undo */
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", op->acc.id);
    struct account before;
    account_release(&op->acc);
    if (store_account_get(c->api->store, id, &before) != 0 ||
        store_account_get(c->api->store, id, &op->acc) != 0) {
        account_release(&before);
        api_error(c, 404, "Account %s does not exist.", id);
        return;
    }
    struct account *a = &op->acc;
    json_t *checked = json_array(); /* checked when the request came */
    account_fields(op->body, a, checked);
    json_decref(checked);
    if (!display_name_free(c, op->body, a, before.display_name)) {
        account_release(&before);
        return;
    }
    if (op->password) {
        free(a->password_hash);
        a->password_hash = xstrdup(op->new_hash);
    }
    if (last_admin(c, &before, a)) {
        account_release(&before);
        api_error(c, 409, "this is the last enabled admin account; make another admin first");
        return;
    }
    a->updated = time_now_us();
    if (store_account_update(c->api->store, a) != 0) {
        account_release(&before);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    json_t *changes = json_object();
    if (before.role != a->role)
        json_object_set_new(changes, "role", json_pack("{s:s,s:s}", "before", role_name(before.role),
                                                       "after", role_name(a->role)));
    if (strcmp(before.display_name, a->display_name) != 0)
        json_object_set_new(changes, "display_name",
                            json_pack("{s:s,s:s}", "before", before.display_name, "after",
                                      a->display_name));
    if (before.disabled != a->disabled)
        json_object_set_new(changes, "disabled",
                            json_pack("{s:b,s:b}", "before", before.disabled, "after", a->disabled));
    if (op->password) json_object_set_new(changes, "password", json_string("changed"));
    /* a disabled account or a new password ends the account's sessions - all but the one
     * the change was made in, so a stolen session dies with the old password */
    if (a->disabled || op->password)
        store_session_delete_account(c->api->store, a->id,
                                     c->who.via == VIA_SESSION && !a->disabled ? c->who.session
                                                                               : NULL);
    api_audit(c, op->password && json_object_size(changes) == 1 ? "user.password_changed"
                                                                 : "user.updated",
              NULL, NULL, a->id, json_pack("{s:s,s:o}", "username", a->username, "changes", changes));
    account_release(&before);
    api_json(c, 200, account_to_json(a));
}

void api_users_patch(struct api_ctx *c)
{
    struct account a;
    if (path_account(c, &a)) return;
    bool admin = c->who.role == ROLE_ADMIN; /* else it is their own (path_account) */
    json_t *body = api_body(c);
    if (!body) {
        account_release(&a);
        return;
    }
    json_t *errs = json_array();
    static const char *const admin_fields[] = {"display_name", "role", "password", "disabled",
                                               "current_password", NULL};
    static const char *const own_fields[] = {"display_name", "password", "current_password", NULL};
    api_unknown_fields(body, admin ? admin_fields : own_fields, errs);
    struct pw_op *op = xcalloc(1, sizeof *op);
    op->kind = PW_PATCH;
    op->body = body;
    op->acc = a;
    char *shown = xstrdup(a.display_name); /* account_fields frees a's when it sets another */
    account_fields(body, &op->acc, errs);
    int taken = json_object_get(body, "display_name") && strcmp(op->acc.display_name, shown) != 0
                    ? display_name_check(c, a.id, a.username, op->acc.display_name, errs)
                    : 0;
    free(shown);
    if (taken < 0) {
        pw_free(op);
        json_decref(errs);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    const char *pass = password_field(body, errs);
    const char *cur = api_str_field(body, "current_password", 1024, false, errs);
    bool own = strcmp(c->who.id, a.id) == 0;
    if (pass && !admin && !a.password_hash)
        json_errs_add(errs, "password",
                      "this account has no password, so none can be checked: an admin sets it "
                      "(PATCH /api/users/%s, or sked user passwd %s on the server's machine)",
                      a.id, a.username);
    /* from a signed-in browser an admin gives it too: a cookie may have been taken over */
    else if (pass && own && !cur && (!admin || c->who.via == VIA_SESSION))
        json_errs_add(errs, "current_password", "required to change your own password");
    else /* and so for what an admin's change of another's account opens */
        want_current(c,
                     !own && (pass || op->acc.role > a.role || (a.disabled && !op->acc.disabled)),
                     cur, errs, "set a password, raise a role or enable an account");
    if (json_array_size(errs)) {
        pw_free(op);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (pass) op->password = xstrdup(pass);
    if (cur && !check_caller(c, op, cur)) {
        pw_free(op);
        return;
    }
    if (!pass && !cur) {
        struct api_ctx cc = *c;
        patch_done(&cc, op);
        pw_free(op);
        return;
    }
    pw_start(c, op);
}

void api_users_delete(struct api_ctx *c)
{
    struct account a;
    if (path_account(c, &a)) return;
    if (strcmp(c->who.id, a.id) == 0) {
        api_error(c, 409, "you cannot delete your own account");
    } else if (last_admin(c, &a, NULL)) {
        api_error(c, 409, "this is the last enabled admin account; make another admin first");
    } else if (store_account_delete(c->api->store, a.id) != 0) {
        api_error(c, 503, "the store failed; see the server log");
    } else {
        api_audit(c, "user.deleted", NULL, NULL, a.id, json_pack("{s:s}", "username", a.username));
        http_reply(c->req, 204, NULL, NULL, 0);
    }
    account_release(&a);
}

/* ---- tokens ---- */

/* API tokens an account may have that are neither revoked nor expired: plenty for every
 * script and machine of a person, and a bound on what one account can make the store keep
 * and the lists show (a token is a row and an audit entry). */
#define TOKENS_MAX 100

/* Whether owner has TOKENS_MAX tokens that are neither revoked nor expired (a disabled
 * account's count: they work again when it is enabled): then the answer is a 409 saying how
 * to make room. */
static bool tokens_full(struct api_ctx *c, const struct account *owner)
{
    int64_t n = 0;
    if (store_token_count_unspent(c->api->store, owner->id, time_now_us(), &n) != 0) {
        api_error(c, 503, "the store failed; see the server log");
        return true;
    }
    if (n < TOKENS_MAX) return false;
    api_error(c, 409,
              "the account '%s' has %lld API tokens that are neither revoked nor expired, the "
              "most an account may have: revoke the ones no longer used (DELETE "
              "/api/tokens/{id}, or sked token revoke ID on the server's machine), then create "
              "this one",
              owner->username, (long long)n);
    return true;
}

/* Makes the token body asks for (name and expires_at checked already) for owner. */
static void insert_token(struct api_ctx *c, const struct account *owner, const json_t *body)
{
    if (tokens_full(c, owner)) return;
    int64_t now = time_now_us(), expires = NO_TIME;
    const char *why;
    json_t *exp = json_object_get(body, "expires_at");
    if (json_is_string(exp)) time_parse(json_string_value(exp), &expires, &why);
    struct token t;
    struct token_secret k;
    auth_new_token(&t, &k, owner->id, json_str(body, "name"), now, expires);
    t.account_name = owner->username;
    if (store_token_insert(c->api->store, &t, k.hash) != 0) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    api_audit(c, "token.created", NULL, NULL, t.id,
              json_pack("{s:s,s:s}", "name", t.name, "username", owner->username));
    json_t *o = token_to_json(&t, now);
    json_object_set_new(o, "token", json_string(k.secret));
    sodium_memzero(&k, sizeof k);
    api_location(c, "/api/tokens/%s", t.id);
    api_json(c, 201, o);
}

/* A token made from a web session needs the caller's password too: a session taken over (a
 * stolen cookie, a browser left open) must not mint a credential that outlives it. Checking
 * it is a sign-in attempt, limited and audited alike. A token-authenticated caller needs none. */
static void make_token(struct api_ctx *c, const struct account *owner)
{
    json_t *body = c->req->body_len ? api_body(c) : json_object();
    if (!body) return;
    json_t *errs = json_array();
    static const char *const allowed[] = {"name", "expires_at", "password", NULL};
    api_unknown_fields(body, allowed, errs);
    api_line_field(body, "name", 100, true, errs);
    const char *pass = api_str_field(body, "password", 1024, false, errs);
    bool session = c->who.via == VIA_SESSION;
    json_t *given = json_object_get(body, "password"); /* a bad one has its error already */
    if (session && !pass && (!given || json_is_null(given)))
        json_errs_add(errs, "password",
                      "required to create a token from a web session: your own password");
    int64_t now = time_now_us(), expires = NO_TIME;
    json_t *exp = json_object_get(body, "expires_at");
    if (exp && !json_is_null(exp)) {
        const char *why = "must be a date-time string";
        if (!json_is_string(exp) || time_parse(json_string_value(exp), &expires, &why) != 0)
            json_errs_add(errs, "expires_at", "%s", why);
        else if (expires <= now)
            json_errs_add(errs, "expires_at", "must be in the future");
    }
    if (json_array_size(errs)) {
        json_decref(body);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    /* told before the password is asked for (and counted), and again once it is checked */
    if (!session || tokens_full(c, owner)) {
        if (!session) insert_token(c, owner, body);
        json_decref(body);
        return;
    }
    struct pw_op *op = xcalloc(1, sizeof *op);
    op->kind = PW_TOKEN;
    op->body = body;
    if (!check_caller(c, op, pass)) {
        pw_free(op);
        return;
    }
    if (store_account_get(c->api->store, owner->id, &op->acc) != 0) memset(&op->acc, 0, sizeof op->acc);
    pw_start(c, op);
}

static void token_done(struct api_ctx *c, struct pw_op *op)
{
    if (!caller_checked(c, op, "token creation", "the password is wrong")) return;
    /* the owner as it is now: deleted meanwhile, nothing is made */
    struct account now;
    if (!op->acc.id[0] || store_account_get(c->api->store, op->acc.id, &now) != 0) {
        api_error(c, 404, "Account %s does not exist.", op->acc.id[0] ? op->acc.id : "");
        return;
    }
    insert_token(c, &now, op->body);
    account_release(&now);
}

void api_tokens_create(struct api_ctx *c)
{
    struct account a;
    if (c->who.via == VIA_BOOTSTRAP || store_account_get(c->api->store, c->who.id, &a) != 0) {
        api_error(c, 400, "the bootstrap token owns no account; create a token for an account "
                          "with POST /api/users/{id}/tokens");
        return;
    }
    make_token(c, &a);
    account_release(&a);
}

void api_users_token(struct api_ctx *c)
{
    struct account a;
    if (path_account(c, &a)) return;
    make_token(c, &a);
    account_release(&a);
}

/* A page of tokens, read off the loop: every account's grow with the store. */
struct tokens_read {
    struct page p;
    struct token_query q;
    char account_id[UUID_STR_LEN];
    int rc;
    struct token *ts;
    size_t n;
    int64_t total;
};

static void tokens_read(struct store *reader, void *arg)
{
    struct tokens_read *t = arg;
    t->rc = reader ? store_token_page(reader, &t->q, &t->ts, &t->n, &t->total) : -EIO;
}

static void tokens_answer(struct api_ctx *c, void *arg)
{
    struct tokens_read *t = arg;
    if (c && t->rc != 0) {
        api_error(c, 503, "the store failed; see the server log");
    } else if (c) {
        json_t *items = json_array();
        for (size_t i = 0; i < t->n; i++)
            json_array_append_new(items, token_to_json(&t->ts[i], t->q.now));
        api_json(c, 200, api_list(c, items, t->total, &t->p));
    }
    if (t->rc == 0) store_tokens_free(t->ts, t->n);
    free(t);
}

/* Tokens listed a page when the request says no size: every token an account may have that
 * still counts (TOKENS_MAX) fits on one. */
#define TOKENS_PAGE 100

void api_tokens_list(struct api_ctx *c)
{
    static const char *const sorts[] = {"created", NULL};
    static const char *const known[] = {API_PAGE_PARAMS, "all", "active", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    struct page p;
    api_page(c, &p, "created", true, sorts, errs);
    if (!http_param(c->req, "size")) p.size = TOKENS_PAGE;
    int all = api_bool_param(c, "all", errs);
    int active = api_bool_param(c, "active", errs); /* -1: both */
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    if (all == 1 && c->who.role != ROLE_ADMIN) {
        api_error(c, 403, "Permission denied: only admins may list every token.");
        return;
    }
    struct tokens_read *t = xcalloc(1, sizeof *t);
    t->p = p;
    snprintf(t->account_id, sizeof t->account_id, "%s", c->who.id);
    t->q.account_id = all == 1 ? NULL : t->account_id;
    t->q.active = active;
    t->q.now = time_now_us();
    t->q.asc = !p.desc;
    t->q.offset = (p.page - 1) * p.size;
    t->q.limit = p.size;
    t->rc = -EIO;
    api_read_off_loop(c, tokens_read, tokens_answer, t);
}

void api_tokens_revoke(struct api_ctx *c)
{
    struct token t;
    const char *id = c->m->params[0];
    int rc = uuid_valid(id) ? store_token_get(c->api->store, id, &t) : -ENOENT;
    if (rc == 0 && c->who.role != ROLE_ADMIN && strcmp(t.account_id, c->who.id) != 0) {
        token_release(&t);
        rc = -ENOENT; /* others' tokens are not even acknowledged */
    }
    if (rc == -ENOENT) {
        api_error(c, 404, "Token %s does not exist.", id);
        return;
    }
    if (rc) {
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    rc = store_token_revoke(c->api->store, t.id, time_now_us());
    if (rc == 0)
        api_audit(c, "token.revoked", NULL, NULL, t.id,
                  json_pack("{s:s,s:s?}", "name", t.name, "username", t.account_name));
    token_release(&t);
    if (rc && rc != -EALREADY)
        api_error(c, 503, "the store failed; see the server log");
    else
        http_reply(c->req, 204, NULL, NULL, 0);
}

/* ---- the audit trail ---- */

/* A page of the audit trail; read off the loop when filtered (by job, person, action or time),
 * whose totals count their entries (a tenth of a second at a million), or past the first page,
 * whose OFFSET reads the entries before it. */
struct audit_read {
    struct page p;
    struct audit_query q; /* its strings owned */
    int rc;
    struct audit_entry *es;
    size_t n;
    bool cut;
    int64_t total;
};

static void audit_read(struct store *reader, void *arg)
{
    struct audit_read *a = arg;
    a->rc = reader ? store_audit_list(reader, &a->q, &a->es, &a->n, &a->total, &a->cut) : -EIO;
}

static void audit_answer(struct api_ctx *c, void *arg)
{
    struct audit_read *a = arg;
    if (c && a->rc != 0) {
        api_error(c, 503, "the store failed; see the server log");
    } else if (c) {
        /* written an entry at a time: a page holds what fits (API_PAGE_MAX_BYTES) */
        struct page_items it = {0};
        it.cut = a->cut;
        size_t room = api_items_room(&a->p, a->n, a->cut);
        for (size_t i = 0; i < room; i++) {
            struct audit_entry *e = &a->es[i];
            json_t *item =
                json_pack("{s:I,s:o,s:{s:s,s:s?,s:s?,s:s?},s:s,s:s?,s:s?,s:s?,s:s?,s:O?,s:s?}",
                          "id", (json_int_t)e->id, "ts", api_time(e->ts), "actor", "kind",
                          e->actor_kind, "id", e->actor_id, "name", e->actor_name, "token_id",
                          e->token_id, "action", e->action, "job_id", e->job_id, "job_title",
                          e->job_title, "run_id", e->run_id, "target", e->target, "details",
                          e->details, "address", e->address);
            api_items_begin(&it);
            json_write(&it.b, item);
            json_decref(item);
            if (!api_items_end(&it, &a->p)) break;
        }
        api_reply_items(c, &it, a->total, &a->p, NULL, NULL);
    }
    if (a->rc == 0) store_audit_free(a->es, a->n);
    free((char *)a->q.job_id);
    free((char *)a->q.actor);
    free((char *)a->q.action);
    free(a);
}

/* Every action of the trail (docs/api.md, "The audit trail"), and the kinds a filter may name
 * instead: an action misspelt would otherwise find nothing, as if nothing had been done. */
static const char *const audit_actions[] = {
    "job.created",   "job.updated",   "job.scheduled",         "job.activated",
    "job.deactivated", "job.deleted", "run.started", "run.backfilled", "run.stopped",
    "run.deleted",   "user.created",  "user.updated",          "user.password_changed",
    "user.deleted",  "token.created", "token.revoked",         "login.succeeded",
    "login.failed",  "logout",        "queue.paused",          "queue.reason_changed",
    "queue.resumed", NULL};
static const char *const audit_kinds[] = {"job.", "run.", "user.", "token.", "login.", "queue.",
                                          NULL};

/* Whether act (lower case) is an action or a kind of them ("job.") */
static bool audit_action_known(const char *act)
{
    for (const char *const *a = audit_actions; *a; a++)
        if (strcmp(act, *a) == 0) return true;
    for (const char *const *k = audit_kinds; *k; k++)
        if (strcmp(act, *k) == 0) return true;
    return false;
}

void api_audit_list(struct api_ctx *c)
{
    static const char *const sorts[] = {"created", NULL};
    static const char *const known[] = {API_PAGE_PARAMS, "job_id", "user", "action", "since", NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    struct page p;
    api_page(c, &p, "created", true, sorts, errs);
    struct audit_query q = {0};
    q.since = NO_TIME;
    q.job_id = api_param(c, "job_id", "a job id", 0, errs);
    q.actor = api_param(c, "user", "a username, bootstrap, or an operating-system user", 0, errs);
    const char *action = api_param(c, "action", "an action (job.updated) or a kind of them (job.)", 0, errs);
    /* actions are lower case; a kind written without its dot ("user") means the kind, as
     * "logout" is the only action without one */
    char act[64];
    if (action && strlen(action) < sizeof act - 1) {
        size_t n = 0;
        for (; action[n]; n++) act[n] = (char)tolower((unsigned char)action[n]);
        act[n] = '\0';
        if (!strchr(act, '.') && strcmp(act, "logout") != 0) memcpy(act + n, ".", 2);
        q.action = act;
    }
    if (action && (!q.action || !audit_action_known(q.action))) {
        struct buf all = BUF_INIT;
        for (const char *const *a = audit_actions; *a; a++)
            buf_printf(&all, "%s%s", a == audit_actions ? "" : ", ", *a);
        json_errs_add(errs, "action",
                      "unknown action '%.60s%s': give an action (%s) or a kind of them, with or "
                      "without its dot (job, run, user, token, login, queue), in any case",
                      action, strlen(action) > 60 ? "…" : "", buf_cstr(&all));
        buf_free(&all);
        q.action = NULL;
    }
    const char *since = api_param(c, "since", "a date-time", 0, errs);
    const char *why;
    if (since && time_parse(since, &q.since, &why) != 0)
        json_errs_add(errs, "since", "not a valid date-time (%s)", why);
    char lower[UUID_STR_LEN];
    if (q.job_id && !uuid_valid(q.job_id)) { /* a deleted job's id is valid: its entries stay */
        json_errs_add(errs, "job_id", "must be a job id (UUID)");
    } else if (q.job_id) { /* stored in lower case */
        for (int i = 0; i < UUID_STR_LEN; i++) lower[i] = (char)tolower((unsigned char)q.job_id[i]);
        q.job_id = lower;
    }
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    struct audit_read *a = xcalloc(1, sizeof *a);
    a->p = p;
    a->q = q;
    a->q.job_id = q.job_id ? xstrdup(q.job_id) : NULL;
    a->q.actor = q.actor ? xstrdup(q.actor) : NULL;
    a->q.action = q.action ? xstrdup(q.action) : NULL;
    a->q.offset = (p.page - 1) * p.size;
    a->q.limit = p.size;
    a->q.max_bytes = API_PAGE_MAX_BYTES;
    a->q.asc = !p.desc;
    a->rc = -EIO;
    /* on the loop only the first page of the whole trail: its newest (or oldest) entries by
     * id, and its count the span of the ids; a filter counts its entries, and an OFFSET
     * reads every entry before the page. Nor a page of large entries (API_PAGE_LOOP_BYTES:
     * the details of runs started with large arguments), read again off the loop */
    if (q.job_id || q.actor || q.action || q.since != NO_TIME || a->q.offset > 0) {
        api_read_off_loop(c, audit_read, audit_answer, a);
        return;
    }
    a->q.max_bytes = API_PAGE_LOOP_BYTES;
    audit_read(c->api->store, a);
    if (a->rc == 0 && a->cut) {
        store_audit_free(a->es, a->n);
        a->es = NULL;
        a->n = 0;
        a->cut = false;
        a->rc = -EIO;
        a->q.max_bytes = API_PAGE_MAX_BYTES;
        api_read_off_loop(c, audit_read, audit_answer, a);
        return;
    }
    audit_answer(c, a);
}

/* ---- completion of the work done off the loop ---- */

static void pw_answer(struct api_ctx *c, void *arg)
{
    struct pw_op *op = arg;
    if (c && op->kind == PW_LOGIN)
        login_done(c, op);
    else if (c && op->kind == PW_CREATE)
        create_done(c, op);
    else if (c && op->kind == PW_TOKEN)
        token_done(c, op);
    else if (c)
        patch_done(c, op);
    pw_free(op);
}
