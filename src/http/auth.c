/* auth: bearer-token authentication; see auth.h. */
#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"

struct auth {
    unsigned char admin_hash[32];
    bool have_admin;
};

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

struct auth *auth_new(struct store *st, const char *env_token, struct sk_err *e)
{
    struct auth *a = xcalloc(1, sizeof *a);
    if (env_token) {
        if (strlen(env_token) < 16) {
            sk_err_set(e, -EINVAL, "SKED_ADMIN_TOKEN", "must be at least 16 characters long");
            free(a);
            return NULL;
        }
        hash_raw(env_token, a->admin_hash);
        a->have_admin = true;
        return a;
    }
    char *stored = NULL;
    if (store_meta_get(st, "admin_token_hash", &stored) == 0 && strlen(stored) == 64) {
        size_t len = 0;
        sodium_hex2bin(a->admin_hash, 32, stored, 64, NULL, &len, NULL);
        a->have_admin = len == 32;
    }
    free(stored);
    if (a->have_admin) return a;
    unsigned char raw[24];
    randombytes_buf(raw, sizeof raw);
    char hex[49], token[64], hash[65];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(token, sizeof token, "sked_%s", hex);
    auth_hash_token(token, hash);
    if (store_meta_set(st, "admin_token_hash", hash) != 0) {
        sk_err_set(e, -EIO, "db", "cannot store the admin token");
        free(a);
        return NULL;
    }
    hash_raw(token, a->admin_hash);
    a->have_admin = true;
    fprintf(stderr,
            "sked: generated the admin API token (shown once; set SKED_ADMIN_TOKEN to choose "
            "your own): %s\n",
            token);
    sodium_memzero(token, sizeof token);
    return a;
}

void auth_free(struct auth *a)
{
    if (a) sodium_memzero(a, sizeof *a);
    free(a);
}

int auth_check(struct auth *a, const struct http_req *req, struct principal *who)
{
    const char *h = http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return -EACCES;
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    if (!*tok || strlen(tok) > 512) return -EACCES;
    unsigned char got[32];
    hash_raw(tok, got);
    if (!a->have_admin || sodium_memcmp(got, a->admin_hash, 32) != 0) return -EACCES;
    memset(who, 0, sizeof *who);
    snprintf(who->id, sizeof who->id, "admin");
    snprintf(who->name, sizeof who->name, "admin");
    snprintf(who->role, sizeof who->role, "admin");
    return 0;
}

struct user_ref auth_user_ref(const struct principal *who)
{
    struct user_ref u = {(char *)who->id, (char *)who->name};
    return u;
}
