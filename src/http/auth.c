/* auth: principals, secrets, permissions and login rate limits; see auth.h. */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "store/store.h"

#define LOGIN_WINDOW_US (15LL * 60 * 1000000)
#define LOGIN_MAX_PER_USER 5
#define LOGIN_MAX_PER_ADDRESS 20
#define STRIKES_MAX 100000 /* names or addresses followed at once */
#define TOUCH_EVERY_US (60LL * 1000000)
#define MAX_SESSION_COOKIES 4 /* session cookies of a request tried at most */

struct strikes {
    int count;    /* failures in the window */
    int pending;  /* attempts still being checked: they count too, or parallel guesses pass */
    int64_t first;
};

struct auth {
    struct store *store;
    unsigned char bootstrap[32];
    bool have_bootstrap;
    struct map by_user, by_address; /* -> struct strikes */
    struct map touched;             /* token id -> last last_used write (int64 in a box) */
};

static const char *perm_names[] = {"public", "self", "read", "run", "edit", "admin"};

const char *perm_name(enum perm p)
{
    return (unsigned)p < 6 ? perm_names[p] : "?";
}

bool auth_allowed(int role, enum perm p)
{
    switch (p) {
    case PERM_PUBLIC:
    case PERM_SELF:
    case PERM_READ: return true;
    case PERM_RUN: return role >= ROLE_OPERATOR;
    case PERM_EDIT:
    case PERM_ADMIN: return role >= ROLE_ADMIN;
    }
    return false;
}

static void hash_raw(const char *token, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)token, strlen(token),
                       (const unsigned char *)"sked-token", 10);
}

void auth_hash_token(const char *token, char out[65])
{
    unsigned char h[32];
    hash_raw(token, h);
    sodium_bin2hex(out, 65, h, 32);
}

void auth_new_secret(const char *prefix, char out[64])
{
    unsigned char raw[20];
    randombytes_buf(raw, sizeof raw);
    char hex[41];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(out, 64, "%s%s", prefix, hex);
    sodium_memzero(raw, sizeof raw);
}

void auth_new_token(struct token *t, struct token_secret *k, const char *account_id,
                    const char *name, int64_t now, int64_t expires_at)
{
    *t = (struct token){0};
    uuid_v4(t->id);
    snprintf(t->account_id, sizeof t->account_id, "%s", account_id);
    t->name = (char *)name;
    auth_new_secret("sked_", k->secret);
    snprintf(k->prefix, sizeof k->prefix, "%.9s", k->secret);
    t->prefix = k->prefix;
    t->created = now;
    t->expires_at = expires_at;
    t->last_used = t->revoked_at = NO_TIME;
    auth_hash_token(k->secret, k->hash);
}

int auth_hash_password(const char *password, char out[128])
{
    _Static_assert(crypto_pwhash_STRBYTES <= 128, "password hash buffer");
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM;
    return 0;
}

static char dummy_hash[128];

static void make_dummy(void)
{
    auth_hash_password("not a password of anyone", dummy_hash);
}

bool auth_verify_password(const char *hash, const char *password)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const char *dummy = dummy_hash;
    if (!hash) {
        /* same work for an unknown account, so response times do not tell names apart */
        pthread_once(&once, make_dummy);
        if (crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0) return false;
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

const char *auth_password_problem(const char *password)
{
    if (!utf8_valid(password, strlen(password))) return "must be text in UTF-8";
    size_t n = utf8_chars(password);
    if (n < 8) return "must be at least 8 characters long";
    if (n > 1024) return "must be at most 1024 characters long";
    return NULL;
}

struct auth *auth_new(struct store *st, const char *bootstrap_token, struct sk_err *e)
{
    struct auth *a = xcalloc(1, sizeof *a);
    a->store = st;
    map_init(&a->by_user);
    map_init(&a->by_address);
    map_init(&a->touched);
    if (bootstrap_token) {
        if (auth_token_problem(bootstrap_token)) {
            sk_err_set(e, -EINVAL, "SKED_ADMIN_TOKEN", "%s", auth_token_problem(bootstrap_token));
            auth_free(a);
            return NULL;
        }
        hash_raw(bootstrap_token, a->bootstrap);
        a->have_bootstrap = true;
    }
    return a;
}

static void free_values(struct map *m)
{
    size_t it;
    for (struct map_entry *e = map_first(m, &it); e; e = map_next(m, &it, e)) free(e->value);
    map_release(m);
}

void auth_free(struct auth *a)
{
    if (!a) return;
    free_values(&a->by_user);
    free_values(&a->by_address);
    free_values(&a->touched);
    sodium_memzero(a->bootstrap, sizeof a->bootstrap);
    free(a);
}

static void fill_account(struct principal *who, const struct account *acc)
{
    snprintf(who->id, sizeof who->id, "%s", acc->id);
    snprintf(who->name, sizeof who->name, "%s", acc->username);
    snprintf(who->display, sizeof who->display, "%s",
             acc->display_name && *acc->display_name ? acc->display_name : acc->username);
    who->role = acc->role;
}

/* The value of cookie name in a Cookie header, copied to out; false when absent. */
/* The next value of cookie `name` in a Cookie header from *pos on, into out (n bytes); *pos
 * moves past it. Values empty or too long are passed over. */
static bool cookie_next(const char **pos, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = *pos; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        *pos = end;
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl > 0 && vl < n) {
                memcpy(out, p + nl + 1, vl);
                out[vl] = '\0';
                return true;
            }
        }
        p = end;
    }
    return false;
}

static int check_bearer(struct auth *a, const char *tok, int64_t now, struct principal *who)
{
    if (!*tok || strlen(tok) > 512) return -EACCES;
    unsigned char h[32];
    hash_raw(tok, h);
    if (a->have_bootstrap && sodium_memcmp(h, a->bootstrap, 32) == 0) {
        snprintf(who->id, sizeof who->id, "bootstrap");
        snprintf(who->name, sizeof who->name, "bootstrap");
        snprintf(who->display, sizeof who->display, "bootstrap token");
        who->role = ROLE_ADMIN;
        who->via = VIA_BOOTSTRAP;
        return 0;
    }
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, 32);
    struct token t;
    if (store_token_by_hash(a->store, hex, now, &t) != 0) return -EACCES;
    struct account acc;
    int rc = store_account_get(a->store, t.account_id, &acc);
    bool loaded = rc == 0;
    if (rc == 0 && !acc.disabled) {
        fill_account(who, &acc);
        who->via = VIA_TOKEN;
        snprintf(who->token_id, sizeof who->token_id, "%s", t.id);
        /* last_used is informative: written at most once a minute per token */
        int64_t *last = map_get(&a->touched, t.id);
        if (!last || now - *last > TOUCH_EVERY_US) {
            if (!last) {
                last = xmalloc(sizeof *last);
                map_put(&a->touched, t.id, last);
            }
            *last = now;
            store_token_touch(a->store, t.id, now);
        }
    } else {
        rc = -EACCES;
    }
    if (loaded) account_release(&acc);
    token_release(&t);
    return rc ? -EACCES : 0;
}

const char *auth_session_cookie(const struct http_req *req)
{
    return req->tls ? "__Host-" SESSION_COOKIE : SESSION_COOKIE;
}

int auth_check(struct auth *a, const struct http_req *req, int64_t now, struct principal *who)
{
    memset(who, 0, sizeof *who);
    const char *h = http_header(req, "Authorization");
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0) return -EACCES;
        const char *tok = h + 7;
        while (*tok == ' ') tok++;
        return check_bearer(a, tok, now, who);
    }
    /* every session cookie sent, in any of the Cookie lines (a proxy may split an HTTP/2
     * client's): the first of a live session counts. A browser sends first a cookie of that
     * name set by another site of the domain with a longer Path, which must neither sign the
     * user out nor stand for them. A few are tried, no more. */
    char sid[128], hash[65], account_id[UUID_STR_LEN], *csrf = NULL;
    bool found = false;
    int tried = 0;
    for (size_t i = 0; i < req->head.nheaders && !found && tried < MAX_SESSION_COOKIES; i++) {
        if (strcasecmp(req->head.headers[i].name, "Cookie") != 0) continue;
        for (const char *pos = req->head.headers[i].value;
             !found && tried < MAX_SESSION_COOKIES &&
             cookie_next(&pos, auth_session_cookie(req), sid, sizeof sid);
             tried++) {
            auth_hash_token(sid, hash);
            found = store_session_get(a->store, hash, now, account_id, &csrf) == 0;
        }
    }
    sodium_memzero(sid, sizeof sid);
    if (!found) return -EACCES;
    struct account acc;
    int rc = store_account_get(a->store, account_id, &acc);
    bool loaded = rc == 0;
    if (rc == 0 && !acc.disabled) {
        fill_account(who, &acc);
        who->via = VIA_SESSION;
        snprintf(who->session, sizeof who->session, "%s", hash);
        snprintf(who->csrf, sizeof who->csrf, "%s", csrf);
    } else {
        rc = -EACCES;
    }
    if (loaded) account_release(&acc);
    free(csrf);
    return rc ? -EACCES : 0;
}

bool auth_csrf_ok(const struct principal *who, const struct http_req *req)
{
    if (who->via != VIA_SESSION) return true; /* bearer tokens are not sent by browsers */
    const char *got = http_header(req, "X-CSRF-Token");
    if (!got || strlen(got) != strlen(who->csrf)) return false;
    return sodium_memcmp(got, who->csrf, strlen(got)) == 0;
}

struct user_ref auth_user_ref(const struct principal *who)
{
    struct user_ref u = {(char *)who->id, (char *)who->display};
    return u;
}

/* ---- rate limiting ---- */

static struct strikes *strikes_of(struct map *m, const char *key, int64_t now)
{
    struct strikes *s = map_get(m, key);
    if (s && now - s->first > LOGIN_WINDOW_US) {
        s->count = 0;
        s->first = now;
    }
    return s;
}

static int wait_for(struct strikes *s, int max, int64_t now)
{
    if (!s || s->count + s->pending < max) return 0;
    int64_t left = s->first + LOGIN_WINDOW_US - now;
    return (int)(left / 1000000) + 1;
}

static void lower(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++)
        dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
    dst[i] = '\0';
}

/* Forgets the entries whose window has passed with no attempt under way. */
static void strikes_sweep(struct map *m, int64_t now)
{
    size_t it, n = 0;
    char **gone = xcalloc(m->count + 1, sizeof *gone);
    for (struct map_entry *e = map_first(m, &it); e; e = map_next(m, &it, e)) {
        struct strikes *s = e->value;
        if (s->pending == 0 && now - s->first > LOGIN_WINDOW_US) gone[n++] = xstrdup(e->key);
    }
    for (size_t i = 0; i < n; i++) {
        free(map_del(m, gone[i]));
        free(gone[i]);
    }
    free(gone);
}

/* Whether key can be followed in m: it is, or there is room (after forgetting the entries
 * that are over). A full table refuses: limits that lapse once a flood of names fills it
 * would be no limits. */
static bool strikes_room(struct map *m, const char *key, int64_t now)
{
    if (map_get(m, key) || m->count < STRIKES_MAX) return true;
    strikes_sweep(m, now);
    return m->count < STRIKES_MAX;
}

int auth_login_wait(struct auth *a, const char *username, const char *address, int64_t now)
{
    char u[256];
    lower(u, sizeof u, username);
    if (!strikes_room(&a->by_user, u, now) || !strikes_room(&a->by_address, address, now))
        return (int)(LOGIN_WINDOW_US / 1000000 / 15); /* a minute: the oldest entries lapse */
    int w1 = wait_for(strikes_of(&a->by_user, u, now), LOGIN_MAX_PER_USER, now);
    int w2 = wait_for(strikes_of(&a->by_address, address, now), LOGIN_MAX_PER_ADDRESS, now);
    return w1 > w2 ? w1 : w2;
}

static struct strikes *strikes_make(struct map *m, const char *key, int64_t now)
{
    struct strikes *s = strikes_of(m, key, now);
    if (!s && m->count < STRIKES_MAX) { /* bounded: auth_login_wait refuses when full */
        s = xcalloc(1, sizeof *s);
        s->first = now;
        map_put(m, key, s);
    }
    return s;
}

void auth_login_begin(struct auth *a, const char *username, const char *address, int64_t now)
{
    char u[256];
    lower(u, sizeof u, username);
    struct strikes *s = strikes_make(&a->by_user, u, now);
    if (s) s->pending++;
    if ((s = strikes_make(&a->by_address, address, now))) s->pending++;
}

/* Ends an attempt begun with auth_login_begin; a failure stays counted. */
static void login_end(struct auth *a, const char *username, const char *address, int64_t now,
                      bool failed)
{
    char u[256];
    lower(u, sizeof u, username);
    struct map *maps[2] = {&a->by_user, &a->by_address};
    const char *keys[2] = {u, address};
    for (int i = 0; i < 2; i++) {
        struct strikes *s = strikes_make(maps[i], keys[i], now);
        if (!s) continue;
        if (s->pending > 0) s->pending--;
        if (failed) s->count++;
    }
    if (!failed) {
        struct strikes *s = map_del(&a->by_user, u);
        if (s && s->pending > 0) { /* other attempts of this account are still running */
            s->count = 0;
            map_put(&a->by_user, u, s);
        } else {
            free(s);
        }
    }
}

void auth_login_failed(struct auth *a, const char *username, const char *address, int64_t now)
{
    login_end(a, username, address, now, true);
}

void auth_login_succeeded(struct auth *a, const char *username, const char *address, int64_t now)
{
    login_end(a, username, address, now, false);
}

const char *auth_token_problem(const char *token)
{
    if (strlen(token) < 16) return "must be at least 16 characters long";
    /* a request's header carries it, and HTTP drops blanks around a header's value */
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return "must hold no blanks or control characters (a line ending read from a file "
                   "with the token, perhaps)";
    return NULL;
}

int auth_bootstrap_admin(struct store *st, const char *password, struct sk_err *e)
{
    if (store_account_count(st, -1, false) > 0) return 0;
    char generated[64];
    if (!password) {
        auth_new_secret("", generated);
        generated[24] = '\0';
        password = generated;
    } else if (auth_password_problem(password)) {
        return sk_err_set(e, -EINVAL, "SKED_ADMIN_PASSWORD", "%s", auth_password_problem(password));
    }
    struct account acc = {0};
    uuid_v4(acc.id);
    acc.username = "admin";
    acc.display_name = "Administrator";
    acc.role = ROLE_ADMIN;
    char hash[128];
    if (auth_hash_password(password, hash) != 0)
        return sk_err_set(e, -ENOMEM, "password", "cannot hash the password");
    acc.password_hash = hash;
    acc.created = acc.updated = time_now_us();
    if (store_account_insert(st, &acc) != 0)
        return sk_err_set(e, -EIO, "db", "cannot create the admin account");
    if (password == generated)
        fprintf(stderr,
                "sked: created the account 'admin' with the password %s (shown once; sign in "
                "and change it, or set SKED_ADMIN_PASSWORD before the first start)\n",
                generated);
    else
        fprintf(stderr, "sked: created the account 'admin' with the password of "
                        "SKED_ADMIN_PASSWORD\n");
    sodium_memzero(generated, sizeof generated);
    log_info("account.bootstrap", "username=admin");
    return 1;
}

/* ---- display names ---- */

/* Names sked shows for what no person did: the bootstrap token (the starter of its runs, in
 * the audit trail), the starter of scheduled, chained and retry runs in the web admin, and a
 * caller without credentials in the audit trail. A person shown so would pass for sked. */
static const char *const names_of_no_one[] = {"bootstrap token", "bootstrap", "System",
                                              "anonymous", NULL};
/* What the audit trail's page adds to a name to tell how someone acted. */
static const char *const acted_through[] = {" (API token)", " (command line)", NULL};

/* The length of the white space character s starts with (of at most n bytes), or 0: ASCII's
 * and Unicode's, which a page shows as a space. *none: it takes no room at all (U+200B and
 * the like), so it is left out rather than read as a space. */
static size_t space_at(const unsigned char *s, size_t n, bool *none)
{
    *none = false;
    if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))) return 1;
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0xA0 || s[1] == 0xAD)) { /* NBSP, soft hyphen */
        *none = s[1] == 0xAD;
        return 2;
    }
    if (n < 3 || (s[0] & 0xF0) != 0xE0 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
        return 0;
    unsigned cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    *none = (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
    if (*none || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return 3;
    return 0;
}

/* A name as people read it, for comparing: case-folded, without white space at either end,
 * one space for each run of it within, and without characters that take no room - so
 * " ADMINISTRATOR", "Admin\u200bistrator" and "administrator" read alike. */
static void name_key(struct buf *out, const char *name)
{
    struct buf spaced = BUF_INIT;
    const unsigned char *p = (const unsigned char *)name;
    size_t n = strlen(name);
    bool gap = false;
    for (size_t i = 0; i < n;) {
        bool none;
        size_t w = space_at(p + i, n - i, &none);
        if (w) {
            gap = gap || !none;
            i += w;
            continue;
        }
        if (gap && spaced.len) buf_putc(&spaced, ' ');
        gap = false;
        buf_putc(&spaced, (char)p[i++]);
    }
    utf8_fold(out, spaced.data ? spaced.data : "", spaced.len);
    buf_free(&spaced);
}

static bool same_name(const struct buf *key, const char *name)
{
    struct buf other = BUF_INIT;
    name_key(&other, name ? name : "");
    bool same = other.len == key->len && memcmp(other.data, key->data, key->len) == 0;
    buf_free(&other);
    return same;
}

/* Whether display name d, of the account with id (NULL: a new one) and username, would pass
 * for someone else: read alike (name_key) with another account's username or display name,
 * with a name sked shows for what no person did, or ending as the audit trail's page marks how
 * someone acted. Then writes why into why and returns 1; -1 when the store failed; else 0. The
 * account's own username is always its to show. */
int auth_display_name_problem(struct store *st, const char *id, const char *username,
                              const char *d, char *why, size_t n)
{
    struct buf key = BUF_INIT;
    name_key(&key, d);
    int rc = 0;
    if (username && same_name(&key, username)) goto out;
    for (const char *const *r = names_of_no_one; *r && !rc; r++) {
        if (!same_name(&key, *r)) continue;
        snprintf(why, n, "'%s' is what sked shows for what no person did (bootstrap token, "
                 "System, anonymous): choose another display name", d);
        rc = 1;
    }
    for (const char *const *t = acted_through; *t && !rc; t++) {
        struct buf tail = BUF_INIT;
        name_key(&tail, *t); /* " (api token)": name_key drops the leading space */
        bool ends = key.len > tail.len && key.data[key.len - tail.len - 1] == ' ' &&
                    memcmp(key.data + key.len - tail.len, tail.data, tail.len) == 0;
        buf_free(&tail);
        if (!ends) continue;
        snprintf(why, n, "must not end in '(API token)' or '(command line)': the audit trail "
                 "adds that to a name to tell how someone acted");
        rc = 1;
    }
    if (rc) goto out;
    struct account *all;
    size_t count;
    if (store_account_list(st, &all, &count) != 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < count && !rc; i++) {
        if (id && strcmp(all[i].id, id) == 0) continue;
        if (!same_name(&key, all[i].username) && !same_name(&key, all[i].display_name)) continue;
        snprintf(why, n, "another account goes by '%s' (its username or display name): choose "
                 "a display name of your own", d);
        rc = 1;
    }
    store_accounts_free(all, count);
out:
    buf_free(&key);
    return rc;
}
