/*
 * auth: who is calling. For now one principal exists - the administrator holding the
 * bootstrap token: SKED_ADMIN_TOKEN, or a token generated at first start, printed once and
 * kept in the store only as a hash. Every /api route needs "Authorization: Bearer TOKEN";
 * tokens are compared by hash in constant time and never logged.
 */
#ifndef SKED_AUTH_H
#define SKED_AUTH_H

#include <stdbool.h>

#include "http.h"
#include "model.h"
#include "store/store.h"

struct auth;

struct principal {
    char id[64];
    char name[128];
    char role[16]; /* "admin" */
};

/*
 * Prepares authentication: with env_token set it is the admin token; otherwise the stored
 * hash is used, or a new token is generated, its hash stored and the token printed once to
 * stderr.
 */
struct auth *auth_new(struct store *st, const char *env_token, struct sk_err *e);
void auth_free(struct auth *a);
/* 0 with who filled, or -EACCES (the caller answers 401). */
int auth_check(struct auth *a, const struct http_req *req, struct principal *who);
/* The principal as a run's started_by / stopped_by. */
struct user_ref auth_user_ref(const struct principal *who);

/* Hex BLAKE2b-256 of a token, as stored. out holds 65 bytes. */
void auth_hash_token(const char *token, char out[65]);

#endif
