/*
 * auth: who is calling and what they may do. Principals come from an API token
 * ("Authorization: Bearer"), a web session cookie (with a CSRF token for changes), or the
 * bootstrap token of SKED_ADMIN_TOKEN. Secrets are never stored or logged: tokens and session
 * ids are kept as BLAKE2b hashes of their random values (compared by hash, so in constant time
 * with respect to the secret), passwords as Argon2id strings. Failed logins are rate-limited per
 * user and per address. The role -> permission rule lives here, in auth_allowed().
 */
#ifndef SKED_AUTH_H
#define SKED_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "model.h"
#include "store/store.h"

struct auth;

enum auth_via { VIA_TOKEN, VIA_SESSION, VIA_BOOTSTRAP };

struct principal {
    char id[64];        /* account id, or "bootstrap" */
    char name[128];     /* username */
    char display[256];  /* display name */
    int role;           /* enum role */
    enum auth_via via;
    char token_id[UUID_STR_LEN]; /* VIA_TOKEN */
    char session[65];   /* VIA_SESSION: the session's hash */
    char csrf[65];      /* VIA_SESSION */
};

/* What a route needs. */
enum perm {
    PERM_PUBLIC, /* nobody needs to sign in */
    PERM_SELF,   /* any signed-in principal (the handler limits it to their own things) */
    PERM_READ,   /* viewer and up */
    PERM_RUN,    /* operator and up: run, stop, schedule, activate */
    PERM_EDIT,   /* admin: create, edit, delete jobs and runs */
    PERM_ADMIN,  /* admin: accounts, others' tokens, the audit trail */
};
bool auth_allowed(int role, enum perm p);
const char *perm_name(enum perm p);

struct auth *auth_new(struct store *st, const char *bootstrap_token, struct sk_err *e);
void auth_free(struct auth *a);

/* 0 with who filled, or -EACCES (answer 401). */
int auth_check(struct auth *a, const struct http_req *req, int64_t now, struct principal *who);
/* A session-authenticated change must carry the session's X-CSRF-Token. */
bool auth_csrf_ok(const struct principal *who, const struct http_req *req);
/* The principal as a run's started_by / stopped_by (borrowed strings). */
struct user_ref auth_user_ref(const struct principal *who);

/* ---- secrets ---- */
/* Hex BLAKE2b-256 of a token or session id, as stored. */
void auth_hash_token(const char *token, char out[65]);
/* A new random secret "PREFIXhex..." (out holds at least 64 bytes). */
void auth_new_secret(const char *prefix, char out[64]);
/* A new API token's secret ("sked_..."), the hash stored in its place and the prefix kept to
 * recognise it. */
struct token_secret {
    char secret[64], hash[65], prefix[16];
};
/* Makes *t a new token of account_id named name (borrowed) with a fresh id and secret *k; its
 * prefix points into k. */
void auth_new_token(struct token *t, struct token_secret *k, const char *account_id,
                    const char *name, int64_t now, int64_t expires_at);
/* Argon2id (blocking, ~0.1 s: run it off the loop). 0 or -ENOMEM. out: 128 bytes. */
int auth_hash_password(const char *password, char out[128]);

/* Whether display name d, of the account with id (NULL: a new one) and username, would pass
 * for someone else (another account's name, one sked shows itself, or ending as the audit
 * trail marks how someone acted): 1 with why written, -1 when the store failed, else 0. */
int auth_display_name_problem(struct store *st, const char *id, const char *username,
                              const char *d, char *why, size_t n);
/* Blocking as well. A NULL hash verifies against a dummy, so timing does not reveal accounts. */
bool auth_verify_password(const char *hash, const char *password);
/* Checks a new password's length; returns NULL or the reason. */
const char *auth_password_problem(const char *password);
/* Why SKED_ADMIN_TOKEN cannot be the bootstrap token, or NULL. */
const char *auth_token_problem(const char *token);

/* ---- login rate limiting (in memory) ---- */
/* 0 when a password may be tried, else seconds to wait (attempts in flight count). */
int auth_login_wait(struct auth *a, const char *username, const char *address, int64_t now);
/* Each attempt is begun before its (slow, off-loop) check and ended with its outcome. */
void auth_login_begin(struct auth *a, const char *username, const char *address, int64_t now);
void auth_login_failed(struct auth *a, const char *username, const char *address, int64_t now);
void auth_login_succeeded(struct auth *a, const char *username, const char *address, int64_t now);

/*
 * First start: when the store has no account, creates "admin" with the given password or a
 * random one, printed once to stderr. Returns 1 when it created one, 0 when accounts existed.
 */
int auth_bootstrap_admin(struct store *st, const char *password, struct sk_err *e);

#define SESSION_COOKIE "sked_session"
#define SESSION_SECONDS (12 * 3600)

/* The session cookie's name for req: over TLS (as a trusted proxy says), "__Host-" and the
 * name, which browsers keep only from this very host, Secure and for Path=/ (a sibling host of
 * the same site cannot set or replace it); over plain HTTP the name alone. */
const char *auth_session_cookie(const struct http_req *req);

#endif
