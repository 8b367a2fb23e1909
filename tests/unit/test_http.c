/*
 * test_http: the pure parts of the HTTP server - request heads, query strings and routing.
 * These see raw bytes from the network before any authentication, so every refusal path and
 * its status code (400, 431, 501, 505; 404 vs 405) is pinned, along with what valid requests
 * turn into.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "http/api.h"
#include "http/router.h"

static int head(const char *text, struct http_head *h, struct sk_err *e)
{
    sk_err_clear(e);
    return http_parse_head(text, strlen(text), h, e);
}

static const char *header(const struct http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (strcmp(h->headers[i].name, name) == 0) return h->headers[i].value;
    return NULL;
}

/* Expects status for text, with a reason mentioning needle. */
static void head_bad(const char *text, int status, const char *needle)
{
    struct http_head h;
    struct sk_err e;
    int rc = head(text, &h, &e);
    if (rc != status) fail_msg("%s: got %d (%s), want %d", text, rc, e.msg, status);
    if (needle) assert_contains(e.msg, needle);
    /* a refused head owns nothing */
    assert_null(h.target);
    assert_null(h.path);
    assert_null(h.headers);
    http_head_release(&h);
}

static void test_head_valid(void **state)
{
    (void)state;
    struct http_head h;
    struct sk_err e;
    assert_int_equal(head("GET /api/jobs?q=a%20b&page=2 HTTP/1.1\r\nHost: localhost:8080\r\n"
                          "Accept:   application/json  \r\nX-Tab:\tv\t\r\n\r\n",
                          &h, &e),
                     0);
    assert_string_equal(h.method, "GET");
    assert_string_equal(h.target, "/api/jobs?q=a%20b&page=2");
    assert_string_equal(h.path, "/api/jobs");
    assert_string_equal(h.query, "q=a%20b&page=2"); /* raw: decoded per parameter */
    assert_int_equal(h.minor, 1);
    assert_true(h.keep_alive);
    assert_int_equal(h.content_length, -1);
    assert_false(h.chunked);
    assert_int_equal(h.nheaders, 3);
    assert_string_equal(header(&h, "Host"), "localhost:8080");
    assert_string_equal(header(&h, "Accept"), "application/json"); /* trimmed */
    assert_string_equal(header(&h, "X-Tab"), "v");
    http_head_release(&h);
    http_head_release(&h); /* released twice is harmless */

    /* bare LF line ends and leading blank lines are tolerated */
    assert_int_equal(head("\r\n\nPOST /api/jobs? HTTP/1.1\nContent-Length: 42\nX-Empty:\nY: z\n\n",
                          &h, &e),
                     0);
    assert_string_equal(h.method, "POST");
    assert_int_equal(h.content_length, 42);
    assert_string_equal(h.target, "/api/jobs?");
    assert_string_equal(h.query, "");
    assert_string_equal(header(&h, "X-Empty"), "");
    assert_string_equal(header(&h, "Y"), "z");
    http_head_release(&h);
    assert_int_equal(head("POST /api/jobs HTTP/1.1\n\n", &h, &e), 0);
    assert_null(h.query);
    http_head_release(&h);

    /* a head without its final blank line still parses (the caller found the end) */
    assert_int_equal(head("DELETE /x HTTP/1.1\r\nA: b", &h, &e), 0);
    assert_string_equal(header(&h, "A"), "b");
    http_head_release(&h);

    /* the same Content-Length twice is fine */
    assert_int_equal(head("PUT /x HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
                          &h, &e),
                     0);
    assert_int_equal(h.content_length, 7);
    http_head_release(&h);
    assert_int_equal(head("PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h, &e), 0);
    assert_int_equal(h.content_length, 0);
    http_head_release(&h);

    /* chunked, also as the last of several codings */
    assert_int_equal(head("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &e), 0);
    assert_true(h.chunked);
    http_head_release(&h);
    assert_int_equal(head("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", &h, &e),
                     0);
    assert_true(h.chunked);
    http_head_release(&h);
}

static void test_head_keep_alive(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int minor;
        bool keep;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", 1, true},
        {"GET / HTTP/1.0\r\n\r\n", 0, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, true},
        {"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", 0, true},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, false},
        {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", 1, false},
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", 1, true},
        /* options are tokens, and close wins, in any of the lines (RFC 9112 §9.6) */
        {"GET / HTTP/1.1\r\nConnection: close, keep-alive\r\n\r\n", 1, false},
        {"GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n", 1, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n", 0, false},
        {"GET / HTTP/1.1\r\nConnection: x-closed\r\n\r\n", 1, true},
        {"GET / HTTP/1.0\r\nConnection: x-keep-alive-ish\r\n\r\n", 0, false},
        {"GET / HTTP/1.9\r\n\r\n", 9, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct http_head h;
        struct sk_err e;
        assert_int_equal(head(cases[i].text, &h, &e), 0);
        assert_int_equal(h.minor, cases[i].minor);
        if (h.keep_alive != cases[i].keep) fail_msg("%s: keep_alive %d", cases[i].text, h.keep_alive);
        http_head_release(&h);
    }
}

static void test_head_targets(void **state)
{
    (void)state;
    static const struct {
        const char *target, *path, *query;
    } cases[] = {
        {"/api/tasks/a%20b", "/api/tasks/a b", NULL},
        {"/a+b", "/a+b", NULL}, /* '+' is only a space in queries */
        {"/caf%C3%A9?x=%C3%A9", "/caf\xc3\xa9", "x=%C3%A9"},
        {"http://example.com/api/jobs?x=1", "/api/jobs", "x=1"},
        {"HTTPS://example.com:8443/a/b", "/a/b", NULL},
        {"http://example.com", "/", NULL},
        /* the host ends at '/', '?' or '#' (RFC 3986 §3.2): no path is taken from a query */
        {"http://evil.example?x=/api/jobs/1", "/", "x=/api/jobs/1"},
        {"http://evil.example#/api/jobs", "/", NULL},
        {"/?", "/", ""},
        {"/p?a?b", "/p", "a?b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "GET %s HTTP/1.1\r\n\r\n", cases[i].target);
        struct http_head h;
        struct sk_err e;
        if (head(text, &h, &e) != 0) fail_msg("%s: %s", cases[i].target, e.msg);
        assert_string_equal(h.target, cases[i].target);
        assert_string_equal(h.path, cases[i].path);
        if (cases[i].query)
            assert_string_equal(h.query, cases[i].query);
        else
            assert_null(h.query);
        http_head_release(&h);
    }
    struct http_head h;
    struct sk_err e;
    assert_int_equal(head("OPTIONS * HTTP/1.1\r\n\r\n", &h, &e), 0); /* asterisk-form */
    assert_string_equal(h.path, "*");
    http_head_release(&h);
}

static void test_head_errors(void **state)
{
    (void)state;
    head_bad("", 400, "empty request");
    head_bad("\r\n\r\n", 400, "empty request");
    head_bad("GET\r\n\r\n", 400, "malformed request line");
    head_bad(" / HTTP/1.1\r\n\r\n", 400, "malformed request line");
    head_bad("GET /\r\n\r\n", 400, "malformed request line");
    head_bad("GET  HTTP/1.1\r\n\r\n", 400, "malformed request line");
    head_bad("G(T / HTTP/1.1\r\n\r\n", 400, "malformed method");
    head_bad("GE\"T / HTTP/1.1\r\n\r\n", 400, "malformed method");
    head_bad("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", 501, "unknown method");
    head_bad("GET / HTTP/1.1 \r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / HTTX/1.1\r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / HTTP/1.x\r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / HTTP/11\r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / http/1.1\r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / HTTP/1.1 extra\r\n\r\n", 400, "malformed HTTP version");
    head_bad("GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.x");
    head_bad("GET / HTTP/0.9\r\n\r\n", 505, NULL);
    head_bad("GET /a\x01" "b HTTP/1.1\r\n\r\n", 400, "control character");
    head_bad("GET /a\tb HTTP/1.1\r\n\r\n", 400, "control character");
    head_bad("GET /a\x7f" "b HTTP/1.1\r\n\r\n", 400, "control character");
    head_bad("GET api/jobs HTTP/1.1\r\n\r\n", 400, "must start with /");
    head_bad("OPTIONS healthz HTTP/1.1\r\n\r\n", 400, "must start with /");
    head_bad("GET * HTTP/1.1\r\n\r\n", 400, "or be * for OPTIONS");
    head_bad("GET http:///api/jobs HTTP/1.1\r\n\r\n", 400, "needs a host");
    head_bad("POST / HTTP/1.1\r\nExpect: bogus\r\n\r\n", 417, "100-continue");
    head_bad("GET /a%zz HTTP/1.1\r\n\r\n", 400, "percent-escape");
    head_bad("GET /a%4 HTTP/1.1\r\n\r\n", 400, "percent-escape");
    head_bad("GET /a% HTTP/1.1\r\n\r\n", 400, "percent-escape");
    head_bad("GET /a%00b HTTP/1.1\r\n\r\n", 400, "a NUL byte (%00) in the path is refused");
    /* an encoded '/' would make one segment two once decoded */
    head_bad("GET /api/tasks/a%2Fb HTTP/1.1\r\n\r\n", 400, "an encoded '/' (%2F)");
    head_bad("GET /api/tasks/a%2fb HTTP/1.1\r\n\r\n", 400, "an encoded '/' (%2F)");

    head_bad("GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n", 400, "folded");
    head_bad("GET / HTTP/1.1\r\n\tfolded: x\r\n\r\n", 400, "folded");
    head_bad("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "malformed header line");
    head_bad("GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400, "malformed header line");
    head_bad("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "malformed header name");
    head_bad("GET / HTTP/1.1\r\nName : x\r\n\r\n", 400, "malformed header name");
    head_bad("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", 400, "control character");
    head_bad("GET / HTTP/1.1\r\nX: a\x7f" "b\r\n\r\n", 400, "control character");
    head_bad("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, "control character");

    head_bad("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n", 400, "Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
             "Content-Length");
    head_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
             "both Transfer-Encoding and Content-Length");
    head_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
             "both");
    head_bad("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer coding");
    head_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501, NULL);
    head_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
             501, NULL);
}

static void test_head_header_limit(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++) buf_printf(&b, "X-H%d: %d\r\n", i, i);
    struct http_head h;
    struct sk_err e;
    assert_int_equal(http_parse_head(b.data, b.len, &h, &e), 0); /* 100 is the limit */
    assert_int_equal(h.nheaders, 100);
    assert_string_equal(h.headers[99].value, "99");
    http_head_release(&h);
    buf_puts(&b, "X-One-Too-Many: x\r\n\r\n");
    assert_int_equal(http_parse_head(b.data, b.len, &h, &e), 431);
    assert_contains(e.msg, "too many header fields");
    assert_null(h.headers);
    http_head_release(&h);
    buf_free(&b);
}

/* ---- query strings ---- */

static void test_query(void **state)
{
    (void)state;
    struct http_param *p;
    size_t n;
    assert_int_equal(http_parse_query("a=1&b=x%20y&c=a+b&flag&&=v&d=%2B%26%3D&e=&caf%C3%A9=1", &p,
                                      &n),
                     0);
    static const char *want[][2] = {{"a", "1"},       {"b", "x y"}, {"c", "a b"},
                                    {"flag", ""},     {"", "v"},    {"d", "+&="},
                                    {"e", ""},        {"caf\xc3\xa9", "1"}};
    assert_int_equal(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].key, want[i][0]);
        assert_string_equal(p[i].value, want[i][1]);
    }
    http_params_free(p, n);

    assert_int_equal(http_parse_query(NULL, &p, &n), 0);
    assert_int_equal(n, 0);
    assert_null(p);
    assert_int_equal(http_parse_query("", &p, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(http_parse_query("&&&", &p, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(http_parse_query("a=b=c", &p, &n), 0); /* only the first = splits */
    assert_int_equal(n, 1);
    assert_string_equal(p[0].value, "b=c");
    http_params_free(p, n);

    static const char *bad[] = {"a=%zz", "a=1&b=%4", "%=1", "a=%00", "ok=1&k%0=2", "a=%"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = (struct http_param *)1;
        n = 7;
        /* a NUL is said apart from a malformed escape */
        assert_int_equal(http_parse_query(bad[i], &p, &n), strcmp(bad[i], "a=%00") ? -1 : -3);
        assert_null(p); /* and nothing half-built is left behind */
        assert_int_equal(n, 0);
    }

    /* at most 100 parameters; one more has its own code, so the answer can say so */
    struct buf b = BUF_INIT;
    for (int i = 0; i < 100; i++) buf_printf(&b, "%sk%d=%d", i ? "&" : "", i, i);
    assert_int_equal(http_parse_query(b.data, &p, &n), 0);
    assert_int_equal(n, 100);
    http_params_free(p, n);
    buf_puts(&b, "&one=more");
    p = (struct http_param *)1;
    assert_int_equal(http_parse_query(b.data, &p, &n), -2);
    assert_null(p);
    assert_int_equal(n, 0);
    buf_free(&b);
}

static void test_unescape(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(http_unescape("a+b%41%62", 9, true, &b), 0);
    assert_string_equal(buf_cstr(&b), "a bAb");
    buf_reset(&b);
    assert_int_equal(http_unescape("a+b", 3, false, &b), 0);
    assert_string_equal(buf_cstr(&b), "a+b");
    buf_free(&b);
    assert_int_equal(http_unescape("", 0, false, &b), 0);
    assert_non_null(b.data); /* an empty result is "" rather than NULL */
    assert_string_equal(b.data, "");
    buf_free(&b);
    /* only n bytes are read, so an escape cut by n is bad */
    assert_int_equal(http_unescape("%41", 2, false, &b), -1);
    buf_free(&b);
    assert_int_equal(http_unescape("%4g", 3, false, &b), -1);
    buf_free(&b);
    assert_int_equal(http_unescape("%ff", 3, false, &b), 0); /* bytes, not yet characters */
    assert_int_equal((unsigned char)b.data[0], 0xff);
    buf_free(&b);
    assert_int_equal(http_unescape("%g1", 3, false, &b), -1);
    buf_free(&b);
    assert_int_equal(http_unescape("a%00b", 5, false, &b), -2); /* no NUL inside a string */
    buf_free(&b);
    /* plain stretches before, between and after escapes of either case */
    assert_int_equal(http_unescape("/api/x%2Fy%2fz+w/end", 20, false, &b), 0);
    assert_string_equal(buf_cstr(&b), "/api/x/y/z+w/end");
    buf_free(&b);
}

/* ---- routing ---- */

/* The API's own table (src/http/api.c): what matched is told by its method and pattern. */
static const struct route *routes;
static size_t nroutes;

/* The route method and path match: "METHOD pattern", or "-404" / "-405". */
static const char *matched(const char *method, const char *path, struct route_match *m)
{
    static char out[128];
    if (!routes) {
        const enum perm *perms;
        nroutes = api_routes(&routes, &perms);
    }
    int i = router_match(routes, nroutes, method, path, m);
    if (i < 0)
        snprintf(out, sizeof out, "%d", i);
    else
        snprintf(out, sizeof out, "%s %s", routes[i].method, routes[i].pattern);
    return out;
}

static void test_router_matches(void **state)
{
    (void)state;
    struct route_match m;
    assert_string_equal(matched("GET", "/healthz", &m), "GET /healthz");
    assert_int_equal(m.nparams, 0);
    assert_string_equal(matched("GET", "/api/jobs", &m), "GET /api/jobs");
    assert_string_equal(matched("POST", "/api/jobs", &m), "POST /api/jobs");
    assert_string_equal(matched("GET", "/api/jobs/", &m),
                        "GET /api/jobs"); /* a trailing slash is ignored */
    assert_string_equal(matched("GET", "/api/jobs/abc", &m), "GET /api/jobs/{}");
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "abc");
    assert_string_equal(matched("PATCH", "/api/jobs/abc/", &m), "PATCH /api/jobs/{}");
    assert_string_equal(m.params[0], "abc");
    assert_string_equal(matched("POST", "/api/jobs/j1/runs", &m), "POST /api/jobs/{}/runs");
    assert_string_equal(m.params[0], "j1");
    assert_string_equal(matched("GET", "/api/jobs/j1/runs/r1/logs", &m),
                        "GET /api/jobs/{}/runs/{}/logs");
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0], "j1");
    assert_string_equal(m.params[1], "r1");
    assert_string_equal(matched("GET", "/api/jobs/j1/runs/r1/logs/stream", &m),
                        "GET /api/jobs/{}/runs/{}/logs/stream");
    assert_string_equal(matched("POST", "/api/jobs/j1/runs/r1/actions/stop", &m),
                        "POST /api/jobs/{}/runs/{}/actions/stop");
    assert_string_equal(m.params[1], "r1");
    assert_string_equal(matched("GET", "/api/tasks/import_files/args", &m),
                        "GET /api/tasks/{}/args");
    assert_string_equal(m.params[0], "import_files");
    /* a segment may hold anything but a slash, including decoded characters */
    assert_string_equal(matched("GET", "/api/tasks/a b\xc3\xa9{}", &m), "GET /api/tasks/{}");
    assert_string_equal(m.params[0], "a b\xc3\xa9{}");
    assert_string_equal(matched("POST", "/api/schedules/preview", &m),
                        "POST /api/schedules/preview");
    /* HEAD is answered by GET routes */
    assert_string_equal(matched("HEAD", "/api/runs", &m), "GET /api/runs");
}

static void test_router_misses(void **state)
{
    (void)state;
    struct route_match m;
    assert_string_equal(matched("GET", "/nope", &m), "-404");
    assert_string_equal(matched("GET", "/", &m), "-404");
    assert_string_equal(matched("GET", "", &m), "-404");
    assert_string_equal(matched("GET", "/api", &m), "-404");
    assert_string_equal(matched("GET", "/api/jobs//runs", &m), "-404"); /* empty segment */
    assert_string_equal(matched("GET", "/api/jobs//", &m), "-404");
    assert_string_equal(matched("GET", "/api/jobsx", &m), "-404");
    assert_string_equal(matched("GET", "/api/jobs/a/b", &m), "-404");
    assert_string_equal(matched("GET", "/healthz/extra", &m), "-404");
    assert_string_equal(matched("GET", "/API/JOBS", &m), "-404"); /* paths are case-sensitive */

    assert_string_equal(matched("DELETE", "/api/jobs", &m), "-405");
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_string_equal(matched("POST", "/api/jobs/x", &m), "-405");
    assert_string_equal(m.allow, "GET, HEAD, PUT, PATCH, DELETE");
    assert_string_equal(matched("GET", "/api/jobs/x/runs/y/actions/stop", &m), "-405");
    assert_string_equal(m.allow, "POST");
    assert_string_equal(matched("HEAD", "/api/jobs/x/runs/y/actions/stop", &m), "-405");
    assert_string_equal(matched("GET", "/api/schedules/preview", &m), "-405");
    assert_string_equal(m.allow, "POST");
    assert_string_equal(matched("get", "/healthz", &m), "-405"); /* methods are case-sensitive */
    assert_string_equal(m.allow, "GET, HEAD");

    /* a segment of ROUTER_PARAM_MAX bytes or more never matches; one less does */
    char path[512], seg[ROUTER_PARAM_MAX + 1];
    memset(seg, 'a', ROUTER_PARAM_MAX);
    seg[ROUTER_PARAM_MAX] = '\0';
    snprintf(path, sizeof path, "/api/jobs/%s", seg);
    assert_string_equal(matched("GET", path, &m), "-404");
    seg[ROUTER_PARAM_MAX - 1] = '\0';
    snprintf(path, sizeof path, "/api/jobs/%s", seg);
    assert_string_equal(matched("GET", path, &m), "GET /api/jobs/{}");
    assert_int_equal(strlen(m.params[0]), ROUTER_PARAM_MAX - 1);

    /* an empty table matches nothing */
    assert_int_equal(router_match(NULL, 0, "GET", "/healthz", &m), -404);
}

/* ---- the request deadline ---- */

static void answer_ok(struct http_req *req, void *arg)
{
    (void)arg;
    http_reply(req, 200, "text/plain", "ok", 2);
}

struct slow_client {
    int port;
    char answer[256];
};

/* Sends a request head one header line every 300 ms, never ending it, for 2.4 s: each line
 * comes well within the idle timeout of the one before (1 s here), the whole never does. */
static void *send_slowly(void *arg)
{
    struct slow_client *sc = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sc->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
    struct timeval tv = {0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *head = "GET /x HTTP/1.1\r\nHost: x\r\n";
    if (write(fd, head, strlen(head)) < 0) return NULL;
    size_t got = 0;
    for (int i = 0; i < 8 && got == 0; i++) {
        if (write(fd, "X-Slow: y\r\n", 11) < 0) break;
        ssize_t n = read(fd, sc->answer, sizeof sc->answer - 1); /* waits 300 ms at most */
        if (n > 0) got = (size_t)n;
    }
    sc->answer[got] = '\0';
    close(fd);
    return NULL;
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

/* Runs srv's loop for secs while client(arg) talks to it on a thread of its own, then waits
 * for that thread; http_server_flush sends answers after each turn, as the server's loop does. */
static void serve_while(struct event_base *base, struct http_server *srv, int secs,
                        void *(*client)(void *), void *arg)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client, arg), 0);
    struct event *stop = evtimer_new(base, stop_loop, base);
    struct timeval after = {secs, 0};
    evtimer_add(stop, &after);
    while (event_base_loop(base, EVLOOP_ONCE) == 0 && !event_base_got_break(base))
        http_server_flush(srv);
    pthread_join(t, NULL);
    event_free(stop);
}

static void test_a_request_must_be_whole_within_the_idle_timeout(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    const struct http_limits lim = {16 * 1024, 1024, 1, 5, 100};
    struct sk_err e = {0};
    struct http_server *srv = http_server_new(base, "127.0.0.1", 0, &lim, answer_ok, NULL, &e);
    assert_non_null(srv);
    struct slow_client sc = {.port = http_server_port(srv)};
    serve_while(base, srv, 3, send_slowly, &sc);
    assert_non_null(strstr(sc.answer, "HTTP/1.1 408"));
    http_server_free(srv);
    event_base_free(base);
}

static void answer_peer(struct http_req *req, void *arg)
{
    (void)arg;
    http_reply(req, 200, "text/plain", req->peer, strlen(req->peer));
}

struct forwarded_client {
    int port;
    const char *const *heads; /* extra header lines of each request, NULL-terminated */
    char peers[16][64];       /* the peer each was answered with */
};

/* Sends each request on a connection of its own and keeps the answer's body. */
static void *send_forwarded(void *arg)
{
    struct forwarded_client *fc = arg;
    for (size_t i = 0; fc->heads[i]; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fc->port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
        char req[512];
        int n = snprintf(req, sizeof req, "GET /x HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
                         fc->heads[i]);
        if (write(fd, req, (size_t)n) < 0) return NULL;
        char answer[1024];
        size_t got = 0;
        ssize_t r;
        while (got < sizeof answer - 1 && (r = read(fd, answer + got, sizeof answer - 1 - got)) > 0)
            got += (size_t)r;
        answer[got] = '\0';
        close(fd);
        const char *body = strstr(answer, "\r\n\r\n");
        snprintf(fc->peers[i], sizeof fc->peers[i], "%s", body ? body + 4 : "?");
    }
    return NULL;
}

static void test_the_client_behind_trusted_proxies(void **state)
{
    (void)state;
    struct cidr_list trusted = {NULL, 0};
    char bad[64];
    assert_null(cidr_list_parse("127.0.0.1, 10.0.0.0/8", &trusted, bad, sizeof bad));
    static const char *const heads[] = {
        "",                                                       /* no header: the proxy */
        "X-Forwarded-For: 203.0.113.7\r\n",                       /* the client */
        "X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.1.2.3\r\n", /* past a trusted hop */
        "X-Forwarded-For: 10.0.0.5, 10.9.9.9\r\n",                /* trusted hops only */
        "X-Forwarded-For: 198.51.100.1, nonsense\r\n",            /* the proxy wrote junk */
        "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 10.0.0.2, 203.0.113.9:4711\r\n",
        "X-Forwarded-For: [2001:db8::1]:4711\r\n",
        "X-Forwarded-For: \r\n",
        NULL};
    static const char *const want[] = {"127.0.0.1",   "203.0.113.7", "203.0.113.7",
                                       "10.0.0.5",    "127.0.0.1",   "203.0.113.9",
                                       "2001:db8::1", "127.0.0.1"};
    struct event_base *base = event_base_new();
    const struct http_limits lim = {16 * 1024, 1024, 5, 5, 100, 0, false, &trusted};
    struct sk_err e = {0};
    struct http_server *srv = http_server_new(base, "127.0.0.1", 0, &lim, answer_peer, NULL, &e);
    assert_non_null(srv);
    struct forwarded_client fc = {.port = http_server_port(srv), .heads = heads};
    serve_while(base, srv, 1, send_forwarded, &fc);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_string_equal(fc.peers[i], want[i]);
    /* a peer that is no trusted proxy is its own client, whatever it says */
    assert_null(cidr_list_parse("192.0.2.1", &trusted, bad, sizeof bad));
    static const char *const untrusted[] = {"X-Forwarded-For: 203.0.113.7\r\n", NULL};
    struct forwarded_client fc2 = {.port = fc.port, .heads = untrusted};
    serve_while(base, srv, 1, send_forwarded, &fc2);
    assert_string_equal(fc2.peers[0], "127.0.0.1");
    cidr_list_free(&trusted);
    http_server_free(srv);
    event_base_free(base);
}

struct capped_client {
    int port;
    int answered, refused; /* of the five connections */
};

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Whether a request on fd is answered (true) or the connection was closed unanswered. */
static bool answered(int fd)
{
    static const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
    if (write(fd, req, sizeof req - 1) < 0) return false;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) return false;
    buf[n] = '\0';
    return strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

/* Holds three connections, asks on a fourth (the cap is three), then frees one and asks on a
 * fifth. */
static void *fill_the_cap(void *arg)
{
    struct capped_client *cc = arg;
    int fds[5];
    for (int i = 0; i < 4; i++) fds[i] = connect_local(cc->port);
    for (int i = 0; i < 4; i++) answered(fds[i]) ? cc->answered++ : cc->refused++;
    close(fds[0]);
    usleep(200000); /* the server sees the close */
    fds[4] = connect_local(cc->port);
    answered(fds[4]) ? cc->answered++ : cc->refused++;
    for (int i = 1; i < 5; i++) close(fds[i]);
    return NULL;
}

static void test_one_address_holds_a_bounded_number_of_connections(void **state)
{
    (void)state;
    struct cidr_list none = {NULL, 0}, trusted = {NULL, 0};
    char bad[64];
    assert_null(cidr_list_parse("127.0.0.1", &trusted, bad, sizeof bad));
    const struct cidr_list *lists[2] = {&none, &trusted};
    for (int round = 0; round < 2; round++) {
        struct event_base *base = event_base_new();
        /* loopback is counted here, as the test has no other address to come from */
        const struct http_limits lim = {16 * 1024, 1024, 5, 5, 100, 3, true, lists[round]};
        struct sk_err e = {0};
        struct http_server *srv = http_server_new(base, "127.0.0.1", 0, &lim, answer_ok, NULL, &e);
        assert_non_null(srv);
        struct capped_client cc = {.port = http_server_port(srv)};
        serve_while(base, srv, 2, fill_the_cap, &cc);
        if (round == 0) { /* the fourth is closed at once; a freed place is taken again */
            assert_int_equal(cc.answered, 4);
            assert_int_equal(cc.refused, 1);
        } else { /* a trusted proxy speaks for many clients: not capped */
            assert_int_equal(cc.answered, 5);
            assert_int_equal(cc.refused, 0);
        }
        http_server_free(srv);
        event_base_free(base);
    }
    cidr_list_free(&trusted);
}

/* http_etag_match of the If-Match lines of head text (a request line and headers) */
/* ---- a stream whose client reads nothing ---- */

struct stalled {
    struct http_req *req; /* the stream, until it closes */
    bool closed;
    int port;
};

static void stalled_close(struct http_req *req, void *arg)
{
    (void)req;
    struct stalled *st = arg;
    st->req = NULL;
    st->closed = true;
}

/* A stream of 1 MiB at once, more than the sockets hold. */
static void answer_stream(struct http_req *req, void *arg)
{
    struct stalled *st = arg;
    http_stream_start(req, 200, "text/plain", NULL, stalled_close, st);
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 16; i++) http_stream_write(req, chunk, sizeof chunk);
    st->req = req;
}

/* A little more output every 100 ms, as a live log's lines or its pings come. */
static void stalled_more(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct stalled *st = arg;
    if (st->req) http_stream_write(st->req, "more\n", 5);
}

/* Asks for the stream, then reads nothing for 4 s. */
static void *stall(void *arg)
{
    struct stalled *st = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)st->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        static const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
        if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) sleep(4);
    }
    close(fd);
    return NULL;
}

/* The write timeout counts from the last byte the client took: output added meanwhile, which
 * the socket does not take, does not start it again. */
static void test_a_stream_not_read_is_dropped_while_output_is_added(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    const struct http_limits lim = {16 * 1024, 1024, 5, 1, 100};
    struct sk_err e = {0};
    struct stalled st = {0};
    struct http_server *srv = http_server_new(base, "127.0.0.1", 0, &lim, answer_stream, &st, &e);
    assert_non_null(srv);
    st.port = http_server_port(srv);
    struct event *more = event_new(base, -1, EV_PERSIST, stalled_more, &st);
    struct timeval every = {0, 100000};
    event_add(more, &every);
    serve_while(base, srv, 3, stall, &st);
    assert_true(st.closed);
    event_free(more);
    http_server_free(srv);
    event_base_free(base);
}

static int etags(const char *lines, const char *etag, bool weak)
{
    char text[512];
    snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", lines);
    struct http_req req;
    memset(&req, 0, sizeof req);
    struct sk_err e;
    assert_int_equal(head(text, &req.head, &e), 0);
    int m = http_etag_match(&req, "If-Match", etag, weak);
    http_head_release(&req.head);
    return m;
}

static void test_entity_tag_lists(void **state)
{
    (void)state;
    const char *t = "\"v1\"";
    assert_int_equal(etags("", t, false), -1);
    assert_int_equal(etags("If-Match: \"v1\"\r\n", t, false), 1);
    assert_int_equal(etags("If-Match: \"v0\"\r\n", t, false), 0);
    assert_int_equal(etags("if-match: \"v0\", \"v1\"\r\n", t, false), 1);
    assert_int_equal(etags("If-Match: \"v0\"\r\nIf-Match: \"v1\"\r\n", t, false), 1); /* lines */
    assert_int_equal(etags("If-Match: ,\t\"v1\" ,,\r\n", t, false), 1);  /* empty items */
    assert_int_equal(etags("If-Match: *\r\n", t, false), 1);
    assert_int_equal(etags("If-Match: W/\"v1\"\r\n", t, false), 0); /* strong: weak never */
    assert_int_equal(etags("If-Match: W/\"v1\"\r\n", t, true), 1);  /* weak comparison */
    assert_int_equal(etags("If-Match: \"caf\xc3\xa9\"\r\n", t, false), 0); /* obs-text */
    static const char *const bad[] = {"If-Match: v1", "If-Match:", "If-Match: ,", "If-Match: \"v1",
                                      "If-Match: \"v1\" \"v2\"", "If-Match: *, \"v1\"",
                                      "If-Match: **", "If-Match: W/v1", "If-Match: w/\"v1\"",
                                      "If-Match: \"a b\"", "If-Match: 'v1'", "If-Match: \"v1\"x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s\r\n", bad[i]);
        if (etags(line, t, false) != -2) fail_msg("%s: not refused", bad[i]);
    }
}

/* A page cut to its first fit items: the largest size dividing the one asked for that holds
 * no more, numbered to start at the same item. */
static int64_t fitted(int64_t page, int64_t size, int64_t fit, int64_t *new_page)
{
    struct page p = {.page = page, .size = size};
    int64_t got = api_page_fit(&p, fit);
    assert_int_equal(got, p.size);
    *new_page = p.page;
    return got;
}

static void test_a_cut_page_keeps_its_first_item(void **state)
{
    (void)state;
    static const struct {
        int64_t page, size, fit, want_page, want_size;
    } cases[] = {
        {1, 100, 15, 1, 10},   {1, 100, 99, 1, 50},   {1, 100, 1, 1, 1},
        {2, 100, 15, 11, 10},  {3, 1000, 16, 201, 10}, {3, 1000, 499, 9, 250},
        {7, 97, 96, 583, 1},   {2, 12, 5, 4, 4},       {4, 25, 24, 16, 5},
        {1, 1000, 0, 1, 1}, /* a page holds at least one item */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t page;
        int64_t size = fitted(cases[i].page, cases[i].size, cases[i].fit, &page);
        if (size != cases[i].want_size || page != cases[i].want_page)
            fail_msg("page %lld of %lld, %lld fit: page %lld of %lld", (long long)cases[i].page,
                     (long long)cases[i].size, (long long)cases[i].fit, (long long)page,
                     (long long)size);
    }
    /* every size and fit: the new page divides the old, starts where it did, holds no more */
    for (int64_t size = 2; size <= 1000; size++)
        for (int64_t fit = 1; fit < size; fit += size / 37 + 1)
            for (int64_t page = 1; page <= 3; page++) {
                int64_t np, ns = fitted(page, size, fit, &np);
                assert_true(ns >= 1 && ns <= fit && size % ns == 0);
                assert_int_equal((np - 1) * ns, (page - 1) * size);
                for (int64_t d = ns + 1; d <= fit; d++) assert_true(size % d != 0);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_cut_page_keeps_its_first_item),
        cmocka_unit_test(test_head_valid),
        cmocka_unit_test(test_head_keep_alive),
        cmocka_unit_test(test_head_targets),
        cmocka_unit_test(test_head_errors),
        cmocka_unit_test(test_head_header_limit),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_router_matches),
        cmocka_unit_test(test_router_misses),
        cmocka_unit_test(test_a_request_must_be_whole_within_the_idle_timeout),
        cmocka_unit_test(test_the_client_behind_trusted_proxies),
        cmocka_unit_test(test_one_address_holds_a_bounded_number_of_connections),
        cmocka_unit_test(test_a_stream_not_read_is_dropped_while_output_is_added),
        cmocka_unit_test(test_entity_tag_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
