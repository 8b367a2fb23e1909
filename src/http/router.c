/* router: pattern matching of request paths; see router.h. */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool match_path(const char *pattern, const char *path, size_t plen, struct route_match *m)
{
    const char *p = pattern, *s = path, *end = path + plen;
    m->nparams = 0;
    while (*p && s < end) {
        if (p[0] == '{' && p[1] == '}') {
            const char *slash = memchr(s, '/', (size_t)(end - s));
            size_t len = slash ? (size_t)(slash - s) : (size_t)(end - s);
            if (len == 0 || len >= ROUTER_PARAM_MAX || m->nparams >= ROUTER_MAX_PARAMS)
                return false;
            memcpy(m->params[m->nparams], s, len);
            m->params[m->nparams][len] = '\0';
            m->nparams++;
            s += len;
            p += 2;
        } else {
            if (*p != *s) return false;
            p++;
            s++;
        }
    }
    return *p == '\0' && s == end;
}

int router_match(const struct route *table, size_t n, const char *method, const char *path,
                 struct route_match *m)
{
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/') plen--;
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method; /* HEAD is served as GET */
    m->allow[0] = '\0';
    /* the routes of the method first: a path is compared with the others only when none of
     * them has it, to tell 405 from 404 */
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].method, as) == 0 && match_path(table[i].pattern, path, plen, m))
            return (int)i;
    int found = -404;
    for (size_t i = 0; i < n; i++) {
        struct route_match tmp;
        if (!match_path(table[i].pattern, path, plen, &tmp) || strstr(m->allow, table[i].method))
            continue;
        found = -405;
        /* the methods the path has, for a 405's Allow */
        size_t used = strlen(m->allow);
        snprintf(m->allow + used, sizeof m->allow - used, "%s%s%s", used ? ", " : "",
                 table[i].method, strcmp(table[i].method, "GET") == 0 ? ", HEAD" : "");
    }
    m->nparams = 0;
    return found;
}
