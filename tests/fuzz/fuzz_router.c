/*
 * fuzz_router: request heads, query strings and routing - the code that sees network bytes
 * before authentication. The input is used twice: split at its first space into a method and
 * a path for router_match over the API's route table, and whole as a request head for
 * http_parse_head (then its query and decoded path go through the same steps as a real
 * request). Matches are checked against the pattern they claim.
 */
#include <string.h>

#include "base/buf.h"
#include "fuzz.h"
#include "http/http.h"
#include "http/api.h"
#include "http/router.h"

/* The API's own table, so the fuzzer follows it as routes come and go. */
static const struct route *routes;
static size_t NROUTES;

static void load_routes(void)
{
    const enum perm *perms;
    if (!routes) NROUTES = api_routes(&routes, &perms);
}

/* Checks a router_match result for method and path against the table. */
static void check_match(const char *method, const char *path)
{
    struct route_match m;
    memset(&m, 0xa5, sizeof m); /* garbage in, so unset fields would show */
    int i = router_match(routes, NROUTES, method, path, &m);
    FUZZ_CHECK(i == -404 || i == -405 || (i >= 0 && (size_t)i < NROUTES));
    FUZZ_CHECK(memchr(m.allow, '\0', sizeof m.allow) != NULL);
    if (i == -405) FUZZ_CHECK(m.allow[0] != '\0');
    if (i < 0) return;
    FUZZ_CHECK(strcmp(routes[i].method, method) == 0 ||
               (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0));
    FUZZ_CHECK(m.nparams >= 0 && m.nparams <= ROUTER_MAX_PARAMS);
    /* substituting the captured segments into the pattern gives back the path */
    struct buf b = BUF_INIT;
    int k = 0;
    for (const char *p = routes[i].pattern; *p; p++) {
        if (p[0] == '{' && p[1] == '}') {
            FUZZ_CHECK(k < m.nparams);
            size_t len = strnlen(m.params[k], ROUTER_PARAM_MAX);
            FUZZ_CHECK(len > 0 && len < ROUTER_PARAM_MAX);
            FUZZ_CHECK(memchr(m.params[k], '/', len) == NULL);
            buf_puts(&b, m.params[k++]);
            p++;
        } else {
            buf_putc(&b, *p);
        }
    }
    FUZZ_CHECK(k == m.nparams);
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/') plen--;
    FUZZ_CHECK(b.len == plen && memcmp(buf_cstr(&b), path, plen) == 0);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_routes();
    /* 1. method SP path, as router_match sees them (C strings) */
    const char *text = (const char *)data;
    const char *sp = memchr(text, ' ', size);
    size_t mlen = sp ? (size_t)(sp - text) : 0;
    if (mlen < 16) {
        char method[16];
        memcpy(method, text, mlen);
        method[mlen] = '\0';
        size_t rest = sp ? size - mlen - 1 : size;
        char *path = malloc(rest + 1);
        if (!path) abort();
        memcpy(path, sp ? sp + 1 : text, rest);
        path[rest] = '\0';
        check_match(method, path);
        free(path);
    }

    /* 2. the whole input as a request head */
    struct http_head h;
    struct sk_err e = {0};
    int rc = http_parse_head(text, size, &h, &e);
    FUZZ_CHECK(rc == 0 || rc == 400 || rc == 431 || rc == 501 || rc == 505);
    if (rc != 0) {
        FUZZ_CHECK(e.code == rc && e.msg[0] != '\0');
        http_head_release(&h);
        return 0;
    }
    FUZZ_CHECK(h.method[0] != '\0' && h.target && h.path);
    FUZZ_CHECK(h.path[0] == '/' || strcmp(h.method, "OPTIONS") == 0);
    FUZZ_CHECK(h.content_length >= -1);
    FUZZ_CHECK(!(h.chunked && h.content_length >= 0));
    FUZZ_CHECK(h.minor >= 0 && h.minor <= 9);
    for (size_t i = 0; i < h.nheaders; i++) FUZZ_CHECK(h.headers[i].name[0] != '\0');
    check_match(h.method, h.path);
    struct http_param *params;
    size_t n;
    if (http_parse_query(h.query, &params, &n) == 0) {
        for (size_t i = 0; i < n; i++) FUZZ_CHECK(params[i].key && params[i].value);
        http_params_free(params, n);
    } else {
        FUZZ_CHECK(params == NULL && n == 0);
    }
    http_head_release(&h);
    return 0;
}
