/*
 * router: matching a method and a decoded path against a table of routes such as
 * "/api/jobs/{}/runs/{}" ({} captures one path segment). Pure; fuzzed on its own.
 */
#ifndef SKED_ROUTER_H
#define SKED_ROUTER_H

#include <stddef.h>

#define ROUTER_MAX_PARAMS 3
#define ROUTER_PARAM_MAX 128

struct route {
    const char *method; /* "GET" also answers HEAD */
    const char *pattern;
};

struct route_match {
    char params[ROUTER_MAX_PARAMS][ROUTER_PARAM_MAX];
    int nparams;
    char allow[64]; /* methods of the path, on -405 */
};

/* Index of the matching route, -404 when no pattern matches the path, -405 when the path
 * matches only under other methods (listed in m->allow). A trailing slash is ignored. */
int router_match(const struct route *table, size_t n, const char *method, const char *path,
                 struct route_match *m);

#endif
