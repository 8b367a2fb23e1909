/*
 * test_openapi: docs/openapi.json describes the code's route table - every route of
 * api_routes() is an operation of the document under its method (a "{}" of the route matched
 * positionally by a "{name}" the operation declares as a path parameter), every operation of
 * the document is a route, and each operation's security and x-sked-permission match the
 * permission the route needs: public routes have "security: []", the others accept a bearer
 * token or the session cookie, with the X-CSRF-Token header exactly when the method changes
 * state. So the published description cannot drift from what the server routes and enforces.
 */
#include "unit.h"

#include <ctype.h>
#include <strings.h>

#include "http/api.h"
#include "http/auth.h"
#include "http/router.h"

static const char *doc_path;
static json_t *doc;

static const char *const methods[] = {"get", "put", "post", "delete", "options", "head", "patch",
                                      "trace", NULL};

/* Problems are collected, so one run names all of them. */
static char problems[16384];
static size_t nproblems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    size_t used = strlen(problems);
    nproblems++;
    if (used + 2 >= sizeof problems) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problems + used, sizeof problems - used - 1, fmt, ap);
    va_end(ap);
    used = strlen(problems);
    if (used + 1 < sizeof problems) strcat(problems, "\n");
}

static void reset_problems(void)
{
    problems[0] = '\0';
    nproblems = 0;
}

static void report_problems(void)
{
    if (nproblems) fail_msg("%s: %zu problem(s):\n%s", doc_path, nproblems, problems);
}

/* path with every "{name}" replaced by "{}", as the route table writes patterns. */
static void pattern_of(const char *path, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 3 < n; p++) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end) break;
            out[o++] = '{';
            out[o++] = '}';
            p = end;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* The document's path whose pattern is pattern, or NULL. */
static const char *doc_path_for(const char *pattern)
{
    json_t *paths = json_object_get(doc, "paths");
    const char *key;
    json_t *item;
    char pat[512];
    json_object_foreach(paths, key, item)
    {
        pattern_of(key, pat, sizeof pat);
        if (strcmp(pat, pattern) == 0) return key;
    }
    return NULL;
}

/* The string value of key in o, or "" when absent or not a string. */
static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void lower(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* Follows a local "$ref" ("#/a/b") to what it names; v itself when it is no reference. */
static json_t *deref(json_t *v)
{
    for (int depth = 0; depth < 8; depth++) {
        const char *ref = json_string_value(json_object_get(v, "$ref"));
        if (!ref) return v;
        if (strncmp(ref, "#/", 2) != 0) return NULL;
        json_t *node = doc;
        char part[256];
        for (const char *p = ref + 2; node && *p;) {
            size_t len = strcspn(p, "/");
            if (len >= sizeof part) return NULL;
            size_t o = 0;
            for (size_t i = 0; i < len; i++) { /* JSON pointer escapes */
                if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1'))
                    part[o++] = p[++i] == '0' ? '~' : '/';
                else
                    part[o++] = p[i];
            }
            part[o] = '\0';
            node = json_object_get(node, part);
            p += len + (p[len] == '/');
        }
        v = node;
    }
    return NULL;
}

/* Whether the operation (or its path item) declares the path parameter name. */
static bool declares_path_param(json_t *item, json_t *op, const char *name)
{
    json_t *lists[2] = {json_object_get(op, "parameters"), json_object_get(item, "parameters")};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *p;
        json_array_foreach(lists[l], i, p)
        {
            json_t *d = deref(p);
            if (strcmp(str(d, "in"), "path") == 0 && strcmp(str(d, "name"), name) == 0) return true;
        }
    }
    return false;
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    reset_problems();
    const struct route *routes;
    const enum perm *perms;
    size_t n = api_routes(&routes, &perms);
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];
        const char *key = doc_path_for(r->pattern);
        if (!key) {
            problem("%s %s: the path is not in the document", r->method, r->pattern);
            continue;
        }
        char m[16];
        lower(r->method, m, sizeof m);
        json_t *item = json_object_get(paths, key);
        json_t *op = json_object_get(item, m);
        if (!json_is_object(op)) {
            problem("%s %s: %s has no \"%s\" operation", r->method, r->pattern, key, m);
            continue;
        }
        /* each {name} of the documented path is a declared path parameter */
        for (const char *p = strchr(key, '{'); p; p = strchr(p + 1, '{')) {
            const char *end = strchr(p, '}');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
            if (!*name) problem("%s %s: an unnamed path parameter", m, key);
            else if (!declares_path_param(item, op, name))
                problem("%s %s: the path parameter {%s} is not declared", m, key, name);
        }
    }
    report_problems();
}

static void test_every_operation_is_a_route(void **state)
{
    (void)state;
    reset_problems();
    const struct route *routes;
    const enum perm *perms;
    size_t n = api_routes(&routes, &perms);
    json_t *paths = json_object_get(doc, "paths");
    if (!json_is_object(paths) || json_object_size(paths) == 0) fail_msg("%s has no paths", doc_path);
    const char *key;
    json_t *item;
    size_t ops = 0;
    json_object_foreach(paths, key, item)
    {
        char pat[512];
        pattern_of(key, pat, sizeof pat);
        if (doc_path_for(pat) != key) problem("%s: another path of the document has the same pattern", key);
        for (const char *const *m = methods; *m; m++) {
            if (!json_object_get(item, *m)) continue;
            ops++;
            bool found = false;
            for (size_t i = 0; i < n && !found; i++) {
                char rm[16];
                lower(routes[i].method, rm, sizeof rm);
                found = strcmp(rm, *m) == 0 && strcmp(routes[i].pattern, pat) == 0;
            }
            if (!found) problem("%s %s: no such route in src/http/api.c", *m, key);
        }
    }
    if (ops != n) problem("the document has %zu operations, the route table %zu routes", ops, n);
    report_problems();
}

/* The name in components.securitySchemes of the scheme of this type/in/name, or NULL. */
static const char *scheme_named(const char *type, const char *in, const char *name)
{
    json_t *schemes = json_object_get(json_object_get(doc, "components"), "securitySchemes");
    const char *key;
    json_t *s;
    json_object_foreach(schemes, key, s)
    {
        if (strcmp(str(s, "type"), type) != 0) continue;
        if (strcmp(type, "http") == 0) {
            if (strcasecmp(str(s, "scheme"), "bearer") == 0) return key;
        } else if (strcmp(str(s, "in"), in) == 0 && strcmp(str(s, "name"), name) == 0) {
            return key;
        }
    }
    return NULL;
}

static bool changes_state(const char *method)
{
    return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

static void test_security_matches_permissions(void **state)
{
    (void)state;
    reset_problems();
    const char *bearer = scheme_named("http", NULL, NULL);
    const char *cookie = scheme_named("apiKey", "cookie", SESSION_COOKIE);
    const char *csrf = scheme_named("apiKey", "header", "X-CSRF-Token");
    if (!bearer) problem("components.securitySchemes has no http bearer scheme");
    if (!cookie) problem("components.securitySchemes has no apiKey scheme for the cookie %s", SESSION_COOKIE);
    if (!csrf) problem("components.securitySchemes has no apiKey scheme for the header X-CSRF-Token");
    report_problems();
    json_t *schemes = json_object_get(json_object_get(doc, "components"), "securitySchemes");

    const struct route *routes;
    const enum perm *perms;
    size_t n = api_routes(&routes, &perms);
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];
        const char *key = doc_path_for(r->pattern);
        char m[16];
        lower(r->method, m, sizeof m);
        json_t *op = key ? json_object_get(json_object_get(paths, key), m) : NULL;
        if (!op) continue; /* test_every_route_is_documented reports it */
        const char *perm = perm_name(perms[i]);
        const char *xp = json_string_value(json_object_get(op, "x-sked-permission"));
        if (!xp || strcmp(xp, perm) != 0)
            problem("%s %s: x-sked-permission is %s, the route needs %s", r->method, key,
                    xp ? xp : "missing", perm);
        json_t *sec = json_object_get(op, "security");
        if (!json_is_array(sec)) {
            problem("%s %s: no security of its own (public routes have \"security\": [])", r->method, key);
            continue;
        }
        if (perms[i] == PERM_PUBLIC) {
            if (json_array_size(sec) != 0)
                problem("%s %s: a public route, but its security is not []", r->method, key);
            continue;
        }
        if (json_array_size(sec) == 0) {
            problem("%s %s: needs the %s permission, but its security is []", r->method, key, perm);
            continue;
        }
        if (!json_object_get(json_object_get(op, "responses"), "401"))
            problem("%s %s: needs a sign-in but does not list 401", r->method, key);
        bool has_bearer = false, has_session = false;
        size_t k;
        json_t *req;
        json_array_foreach(sec, k, req)
        {
            if (!json_is_object(req) || json_object_size(req) == 0) {
                problem("%s %s: security[%zu] is empty (anonymous access)", r->method, key, k);
                continue;
            }
            const char *name;
            json_t *scopes;
            json_object_foreach(req, name, scopes)
            {
                if (!json_object_get(schemes, name))
                    problem("%s %s: security[%zu] names the undefined scheme %s", r->method, key, k,
                            name);
            }
            bool b = bearer && json_object_get(req, bearer);
            bool c = cookie && json_object_get(req, cookie);
            bool x = csrf && json_object_get(req, csrf);
            if (b && json_object_size(req) == 1) has_bearer = true;
            if (c) {
                has_session = true;
                if (changes_state(r->method) && !x)
                    problem("%s %s: changes state, so a session needs %s too", r->method, key, csrf);
                if (!changes_state(r->method) && x)
                    problem("%s %s: does not change state, so a session needs no %s", r->method, key, csrf);
            } else if (x) {
                problem("%s %s: security[%zu] has %s without the session cookie", r->method, key, k, csrf);
            }
        }
        if (!has_bearer) problem("%s %s: a bearer token alone is not accepted", r->method, key);
        if (!has_session) problem("%s %s: the session cookie is not accepted", r->method, key);
    }
    report_problems();
}

static int setup(void **state)
{
    (void)state;
    json_error_t e;
    doc = json_load_file(doc_path, 0, &e);
    if (!doc) {
        fprintf(stderr, "%s:%d: %s\n", doc_path, e.line, e.text);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    return 0;
}

int main(int argc, char **argv)
{
    doc_path = argc > 1 ? argv[1] : "docs/openapi.json";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_every_operation_is_a_route),
        cmocka_unit_test(test_security_matches_permissions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
