/*
 * test_permissions: the permission table of docs/api.md (between its permissions markers) is
 * the code's route table, route for route and role for role, so the documentation of who may
 * do what cannot drift from what the server enforces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/api.h"
#include "http/auth.h"
#include "http/router.h"

static const char *doc_path;

/* The three role cells a route's permission implies, as the docs spell them. */
static void expected_cells(const struct route *r, enum perm p, const char *cells[3])
{
    switch (p) {
    case PERM_PUBLIC: cells[0] = cells[1] = cells[2] = "public"; return;
    case PERM_SELF: cells[0] = cells[1] = cells[2] = "own"; return;
    case PERM_READ: cells[0] = cells[1] = cells[2] = "yes"; return;
    case PERM_RUN: cells[0] = "no", cells[1] = cells[2] = "yes"; return;
    case PERM_EDIT:
    case PERM_ADMIN:
        cells[0] = "no", cells[2] = "yes";
        cells[1] = strcmp(r->method, "PATCH") == 0 && strcmp(r->pattern, "/api/jobs/{}") == 0
                       ? "schedule, active"
                       : "no";
        return;
    }
}

static char *trim(char *s)
{
    while (*s == ' ') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
    if (s[0] == '`' && e > s + 1 && e[-1] == '`') {
        e[-1] = '\0';
        s++;
    }
    return s;
}

static void test_docs_match_routes(void **state)
{
    (void)state;
    const struct route *routes;
    const enum perm *perms;
    size_t n = api_routes(&routes, &perms);
    FILE *f = fopen(doc_path, "r");
    if (!f) fail_msg("cannot open %s", doc_path);
    char line[1024];
    bool in = false;
    size_t row = 0, seen_rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "<!-- permissions:begin -->")) {
            in = true;
            continue;
        }
        if (strstr(line, "<!-- permissions:end -->")) break;
        if (!in || line[0] != '|') continue;
        seen_rows++;
        if (seen_rows <= 2) continue; /* header and separator */
        char *cols[6];
        int k = 0;
        char *save = NULL;
        for (char *c = strtok_r(line + 1, "|", &save); c && k < 6; c = strtok_r(NULL, "|", &save))
            cols[k++] = trim(c);
        if (k < 5) fail_msg("malformed table row %zu", seen_rows);
        if (row >= n) fail_msg("the docs list more routes than the code (%s %s)", cols[0], cols[1]);
        const struct route *r = &routes[row];
        if (strcmp(cols[0], r->method) || strcmp(cols[1], r->pattern))
            fail_msg("row %zu: docs say %s %s, the code has %s %s", row + 1, cols[0], cols[1],
                     r->method, r->pattern);
        const char *want[3] = {"?", "?", "?"};
        expected_cells(r, perms[row], want);
        static const char *roles[] = {"viewer", "operator", "admin"};
        for (int i = 0; i < 3; i++)
            if (strcmp(cols[2 + i], want[i]) != 0)
                fail_msg("%s %s, %s: docs say '%s', the code enforces '%s'", r->method, r->pattern,
                         roles[i], cols[2 + i], want[i]);
        row++;
    }
    fclose(f);
    if (!in) fail_msg("no permission table in %s", doc_path);
    if (row != n) fail_msg("the docs list %zu routes, the code has %zu", row, n);
}

static void test_roles_are_ordered(void **state)
{
    (void)state;
    for (int p = PERM_PUBLIC; p <= PERM_ADMIN; p++)
        for (int r = ROLE_VIEWER; r < ROLE_ADMIN; r++)
            if (auth_allowed(r, p)) assert_true(auth_allowed(r + 1, p));
    assert_false(auth_allowed(ROLE_VIEWER, PERM_RUN));
    assert_true(auth_allowed(ROLE_OPERATOR, PERM_RUN));
    assert_false(auth_allowed(ROLE_OPERATOR, PERM_EDIT));
    assert_false(auth_allowed(ROLE_OPERATOR, PERM_ADMIN));
    assert_true(auth_allowed(ROLE_ADMIN, PERM_ADMIN));
}

int main(int argc, char **argv)
{
    doc_path = argc > 1 ? argv[1] : "docs/api.md";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_match_routes),
        cmocka_unit_test(test_roles_are_ordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
