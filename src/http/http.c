/* http: HTTP/1.1 server on bufferevents; see http.h. */

#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#define MAX_HEADERS 100
#define MAX_PARAMS 100
#define STREAM_LOW_WATER (16 * 1024)
#define STREAM_SNDBUF (64 * 1024) /* the kernel doubles it */
/* answers waiting to be written past which a connection's pipelined requests wait (and its
 * input is not read) until the client has read them all */
#define PIPELINE_OUT_MAX (1024 * 1024)
#define LINGER_SECONDS 2
#define LINGER_MAX_BYTES (1024 * 1024)

/* ---- parsing (pure) ---- */

static bool is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int http_unescape(const char *s, size_t n, bool form, struct buf *out)
{
    /* what needs no decoding is copied a stretch at a time */
    buf_reserve(out, n);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '%' && (c != '+' || !form)) continue;
        buf_append(out, s + from, i - from);
        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1, lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
            if (lo < 0) return -1;          /* not two hex digits */
            if ((hi | lo) == 0) return -2;  /* a NUL */
            c = (char)(hi << 4 | lo);
            i += 2;
        } else {
            c = ' ';
        }
        buf_putc(out, c);
        from = i + 1;
    }
    buf_append(out, s + from, n - from);
    return 0;
}

void http_params_free(struct http_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

/* http_parse_query, with *bad_at the offset in q of the parameter at fault when it fails. */
static int parse_query_at(const char *q, struct http_param **out, size_t *n, size_t *bad_at)
{
    *out = NULL;
    *n = 0;
    if (!q) return 0;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            if (*n >= MAX_PARAMS) {
                http_params_free(*out, *n);
                *out = NULL;
                *n = 0;
                return -2;
            }
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            struct buf k = BUF_INIT, v = BUF_INIT;
            int krc = http_unescape(p, klen, true, &k);
            int vrc = krc == 0 && eq ? http_unescape(eq + 1, len - klen - 1, true, &v) : 0;
            if (krc != 0 || vrc != 0) {
                buf_free(&k);
                buf_free(&v);
                http_params_free(*out, *n);
                *out = NULL;
                *n = 0;
                *bad_at = (size_t)(p - q);
                return krc == -2 || vrc == -2 ? -3 : -1;
            }
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[*n].key = buf_steal(&k);
            (*out)[*n].value = buf_steal(&v);
            (*n)++;
        }
        p += len;
        if (*p == '&') p++;
    }
    return 0;
}

int http_parse_query(const char *q, struct http_param **out, size_t *n)
{
    size_t at;
    return parse_query_at(q, out, n, &at);
}

void http_head_release(struct http_head *h)
{
    free(h->text);
    free(h->path);
    free(h->headers);
    memset(h, 0, sizeof *h);
}

/* Next line of buf[*off..len) without its CRLF/LF; NULL at the end. */
static const char *next_line(const char *buf, size_t len, size_t *off, size_t *llen)
{
    if (*off >= len) return NULL;
    const char *start = buf + *off;
    const char *nl = memchr(start, '\n', len - *off);
    if (!nl) {
        *llen = len - *off;
        *off = len;
        return start;
    }
    *llen = (size_t)(nl - start);
    *off += *llen + 1;
    if (*llen && start[*llen - 1] == '\r') (*llen)--;
    return start;
}

/* Whether a request may carry header name only once: those sked reads as one value. */
static bool single_header(const char *name)
{
    /* not Cookie: a proxy may pass an HTTP/2 client's cookies as several lines (RFC 9113
     * §8.2.3), which the session's lookup reads all of */
    static const char *const single[] = {"Authorization", "Host",          "Content-Type",
                                         "X-CSRF-Token",  "Last-Event-ID", "X-Forwarded-Proto",
                                         "Idempotency-Key"};
    for (size_t i = 0; i < sizeof single / sizeof *single; i++)
        if (strcasecmp(name, single[i]) == 0) return true;
    return false;
}

int http_parse_head(const char *buf, size_t len, struct http_head *h, struct sk_err *e)
{
    memset(h, 0, sizeof *h);
    h->content_length = -1;
    /* one copy of the head, which the target, the query and the headers point into (each was
     * a copy of its own: a dozen allocations per request) */
    char *text = h->text = xmalloc(len + 1);
    memcpy(text, buf, len);
    text[len] = '\0';
    buf = text;
#define FAIL(status, field, msg) \
    do { \
        http_head_release(h); \
        return sk_err_set(e, status, field, msg), status; \
    } while (0)
    size_t off = 0, ll, cap = 0;
    const char *line = next_line(buf, len, &off, &ll);
    while (line && ll == 0) line = next_line(buf, len, &off, &ll); /* tolerate leading CRLFs */
    if (!line) FAIL(400, "request", "empty request");

    /* request line */
    const char *sp1 = memchr(line, ' ', ll);
    if (!sp1 || sp1 == line) FAIL(400, "request", "malformed request line");
    for (const char *p = line; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            FAIL(400, "request", "malformed method");
    if ((size_t)(sp1 - line) >= sizeof h->method) /* longer than any it serves */
        FAIL(501, "request", HTTP_UNKNOWN_METHOD);
    memcpy(h->method, line, (size_t)(sp1 - line));
    const char *t = sp1 + 1;
    const char *end = line + ll;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t) FAIL(400, "request", "malformed request line");
    for (const char *p = t; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            FAIL(400, "request", "control character in the request target");
    const char *ver = sp2 + 1;
    size_t vlen = (size_t)(end - ver);
    if (vlen != 8 || strncmp(ver, "HTTP/", 5) != 0 || !isdigit((unsigned char)ver[5]) ||
        ver[6] != '.' || !isdigit((unsigned char)ver[7]))
        FAIL(400, "request", "malformed HTTP version");
    if (ver[5] != '1') FAIL(505, "request", "only HTTP/1.x is served");
    h->minor = ver[7] - '0';
    h->keep_alive = h->minor >= 1;
    h->target = text + (t - buf);
    text[sp2 - buf] = '\0';

    /* origin-form path; absolute-form is reduced to its path, which begins where its host
     * ends, at the first '/', '?' or '#' (RFC 3986 §3.2): "http://h?x=/api/jobs" is "/" */
    const char *path = h->target, *q;
    size_t plen;
    if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0) {
        const char *host = strstr(path, "//") + 2;
        size_t hl = strcspn(host, "/?#");
        if (hl == 0) FAIL(400, "request", "an absolute request target needs a host");
        path = host + hl;
    } else if (path[0] != '/' && (strcmp(path, "*") != 0 || strcmp(h->method, "OPTIONS") != 0)) {
        FAIL(400, "request", "the request target must start with / (or be * for OPTIONS)");
    }
    if (path[0] == '/') {
        q = strchr(path, '?');
        plen = q ? (size_t)(q - path) : strlen(path);
    } else { /* "*" (kept), or an absolute target without a path ("/") */
        q = path[0] == '?' ? path : NULL;
        path = path[0] == '*' ? "*" : "/";
        plen = 1;
    }
    /* an encoded '/' would make one segment two once decoded (jobs/ID%2Fruns routed as
     * jobs/ID/runs), which a proxy matching paths does not expect: no id or name holds one */
    for (size_t i = 0; i + 2 < plen; i++)
        if (path[i] == '%' && path[i + 1] == '2' && (path[i + 2] == 'F' || path[i + 2] == 'f'))
            FAIL(400, "request", "an encoded '/' (%%2F) in the path is refused");
    struct buf pb = BUF_INIT;
    int urc = http_unescape(path, plen, false, &pb);
    if (urc != 0) {
        buf_free(&pb);
        FAIL(400, "request", urc == -2 ? "a NUL byte (%%00) in the path is refused"
                                       : "bad percent-escape in the path");
    }
    h->path = buf_steal(&pb);
    h->query = q ? text + (q + 1 - buf) : NULL;

    /* headers */
    bool have_te = false, close = false;
    while ((line = next_line(buf, len, &off, &ll)) != NULL && ll > 0) {
        if (line[0] == ' ' || line[0] == '\t')
            FAIL(400, "headers", "folded header lines are not accepted");
        const char *colon = memchr(line, ':', ll);
        if (!colon || colon == line) FAIL(400, "headers", "malformed header line");
        for (const char *p = line; p < colon; p++)
            if (!is_tchar((unsigned char)*p)) FAIL(400, "headers", "malformed header name");
        const char *v = colon + 1, *ve = line + ll;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        for (const char *p = v; p < ve; p++)
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                FAIL(400, "headers", "control character in a header value");
        if (h->nheaders >= MAX_HEADERS) FAIL(431, "headers", "too many header fields");
        if (h->nheaders == cap)
            h->headers = xrealloc(h->headers, (cap = cap ? cap * 2 : 16) * sizeof *h->headers);
        struct http_header *hd = &h->headers[h->nheaders++];
        hd->name = text + (line - buf);
        text[colon - buf] = '\0';
        hd->value = text + (v - buf);
        text[ve - buf] = '\0';
        /* a header read once: a second one would be ignored, and which of the two counts is
         * no client's to guess (RFC 9110 §5.3) */
        if (single_header(hd->name))
            for (size_t i = 0; i + 1 < h->nheaders; i++)
                if (strcasecmp(h->headers[i].name, hd->name) == 0) {
                    char name[64];
                    snprintf(name, sizeof name, "%s", hd->name);
                    http_head_release(h);
                    sk_err_set(e, 400, "headers", "the %s header is given twice; send it once", name);
                    return 400;
                }
        if (strcasecmp(hd->name, "Content-Length") == 0) {
            const char *d = hd->value;
            int64_t n = 0;
            if (!*d || strlen(d) > 15) goto bad_cl;
            for (; *d; d++) {
                if (!isdigit((unsigned char)*d)) goto bad_cl;
                n = n * 10 + (*d - '0');
            }
            if (h->content_length >= 0 && h->content_length != n) goto bad_cl;
            h->content_length = n;
        } else if (strcasecmp(hd->name, "Transfer-Encoding") == 0) {
            have_te = true;
            const char *last = strrchr(hd->value, ',');
            last = last ? last + 1 : hd->value;
            while (*last == ' ') last++;
            if (strcasecmp(last, "chunked") != 0) FAIL(501, "headers", "unsupported transfer coding");
            h->chunked = true;
        } else if (strcasecmp(hd->name, "Connection") == 0) {
            /* its options, a list of tokens; "close" wins over "keep-alive", in any of the
             * header's lines (RFC 9112 §9.6) */
            for (const char *o = hd->value; *o;) {
                o += strspn(o, " \t,");
                size_t ol = strcspn(o, " \t,");
                if (ol == 5 && strncasecmp(o, "close", 5) == 0) close = true;
                if (ol == 10 && strncasecmp(o, "keep-alive", 10) == 0) h->keep_alive = true;
                o += ol;
            }
        } else if (strcasecmp(hd->name, "Expect") == 0 && *hd->value) {
            /* the one expectation there is: anything else is 417 (RFC 9110 §10.1.1) */
            if (strcasecmp(hd->value, "100-continue") != 0)
                FAIL(417, "headers", "the only expectation served is 100-continue");
            h->expect_continue = h->minor >= 1; /* no 100 to an HTTP/1.0 client */
        }
    }
    if (have_te && h->content_length >= 0)
        FAIL(400, "headers", "both Transfer-Encoding and Content-Length");
    if (close) h->keep_alive = false;
    return 0;
bad_cl:
    FAIL(400, "headers", "invalid Content-Length");
#undef FAIL
}

/* ---- server ---- */

enum conn_state { ST_HEAD, ST_BODY };

struct http_conn {
    struct http_server *srv;
    struct bufferevent *bev;
    struct http_conn *prev, *next;
    struct http_req *req;   /* in flight */
    struct http_head head;  /* parsed, waiting for its body */
    enum conn_state state;
    bool closing;           /* free once the output is written */
    bool lingering;         /* output written and our side shut: reading to EOF */
    bool processing;
    bool held;              /* pipelined requests wait for the client to read the answers */
    bool pending;           /* has output for http_server_flush */
    size_t discarded;       /* input dropped since closing began */
    int64_t began_us;       /* when the first byte of the request being received came, or 0 */
    bool counted;           /* in the server's per_addr */
    bool timed_out;         /* dropped by a timeout (logged so at a stream's end) */
    /* the client ended its side (a half-close: what it sent is not withdrawn by it): the
     * requests it sent are answered, then the connection closes */
    bool read_eof;
    char peer[64];
};

struct http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *resume_ev; /* accepting again after running out of descriptors */
    int64_t starved_since;   /* when accept() began to fail so, or 0 */
    struct http_limits lim;
    http_handler fn;
    void *arg;
    struct http_conn *conns;
    int nconns;
    struct map per_addr; /* client address -> its connections (as a uintptr_t), when capped */
    struct http_conn **pending; /* connections given output since the last flush */
    size_t npending, cap_pending;
    int port;
    void (*observe)(struct http_req *req, void *arg);
    void *observe_arg;
    /* bodies longer than gate_free are read only when gate says so of the head */
    size_t gate_free;
    bool (*gate)(const struct http_req *req, void *arg);
    void *gate_arg;
};

const char *http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

static void req_free(struct http_req *req)
{
    if (!req) return;
    http_head_release(&req->head);
    http_params_free(req->params, req->nparams);
    free(req->body);
    buf_free(&req->out_headers);
    free(req);
}

/* A stream's end in the server log: what it held at most tells what its client cost. */
static void stream_logged(const struct http_req *req, const char *why)
{
    log_debug("http.stream_end", "peer=%s route=\"%s\" why=%s queued_max=%zu", req->peer,
             req->route ? req->route : "", why, req->stream_queued_max);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *s = c->srv;
    if (c->req) {
        struct http_req *req = c->req;
        c->req = NULL;
        if (req->streaming) stream_logged(req, c->timed_out ? "write_timeout" : "closed");
        if (req->on_close) req->on_close(req, req->stream_arg); /* a stream or a held request */
        req_free(req);
    }
    http_head_release(&c->head);
    if (c->pending)
        for (size_t i = 0; i < s->npending; i++)
            if (s->pending[i] == c) s->pending[i] = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    if (c->counted) {
        uintptr_t n = (uintptr_t)map_get(&s->per_addr, c->peer);
        if (n > 1)
            map_put(&s->per_addr, c->peer, (void *)(n - 1));
        else
            map_del(&s->per_addr, c->peer);
    }
    bufferevent_free(c->bev);
    free(c);
}

static const char *http_date(void)
{
    static char date[64];
    static time_t last;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return date;
}

static void write_head(struct http_req *req, struct evbuffer *out, int status, const char *ctype,
                       int64_t len, bool keep_alive)
{
    /* assembled with copies rather than printf, which went through its long format byte by
     * byte on every answer */
    struct buf h = BUF_INIT;
    buf_reserve(&h, 512 + (req ? req->out_headers.len : 0));
    buf_puts(&h, "HTTP/1.1 ");
    buf_put_int(&h, status);
    buf_putc(&h, ' ');
    buf_puts(&h, http_status_text(status));
    buf_puts(&h, "\r\nDate: ");
    buf_puts(&h, http_date());
    buf_puts(&h, "\r\nServer: sked\r\n"
                 "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                 "Referrer-Policy: no-referrer\r\n"
                 "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
                 "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'\r\n");
    if (ctype) {
        buf_puts(&h, "Content-Type: ");
        buf_puts(&h, ctype);
        buf_puts(&h, "\r\n");
    }
    if (len >= 0) {
        buf_puts(&h, "Content-Length: ");
        buf_put_int(&h, len);
        buf_puts(&h, "\r\n");
    }
    buf_puts(&h, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    /* answers are not kept by caches (tokens, CSRF tokens, run logs), unless a handler says
     * otherwise (the admin UI's files: revalidated) */
    if (!req || !req->out_headers.len ||
        !memmem(req->out_headers.data, req->out_headers.len, "Cache-Control:", 14))
        buf_puts(&h, "Cache-Control: no-store\r\n");
    if (req && req->out_headers.len) buf_append(&h, req->out_headers.data, req->out_headers.len);
    buf_append(&h, "\r\n", 2);
    evbuffer_add(out, h.data, h.len);
    buf_free(&h);
}

/* c's output, to add to: http_server_flush writes it. */
static struct evbuffer *conn_out(struct http_conn *c)
{
    struct http_server *s = c->srv;
    if (!c->pending) {
        if (s->npending == s->cap_pending) {
            s->cap_pending = s->cap_pending ? s->cap_pending * 2 : 16;
            s->pending = xrealloc(s->pending, s->cap_pending * sizeof *s->pending);
        }
        s->pending[s->npending++] = c;
        c->pending = true;
    }
    return bufferevent_get_output(c->bev);
}

/* An error the server answers itself (before any handler); the connection then closes. A 401
 * says how to authenticate (RFC 9110 §11.6.1), as the API's own do. */
static void conn_error(struct http_conn *c, int status, const char *msg)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\"status\":%d,\"message\":", status);
    buf_json_string(&b, msg);
    buf_puts(&b, "}");
    struct evbuffer *out = conn_out(c);
    struct http_req auth = {0};
    if (status == 401) http_add_header(&auth, "WWW-Authenticate", "Bearer realm=\"sked\"");
    write_head(&auth, out, status, "application/json", (int64_t)b.len, false);
    buf_free(&auth.out_headers);
    evbuffer_add(out, b.data, b.len);
    buf_free(&b);
    c->closing = true;
}

static void process(struct http_conn *c);

bool http_head_only(const struct http_req *req)
{
    return strcmp(req->head.method, "HEAD") == 0;
}

/* The answer; length -1: of no known length (the head of a stream's answer to HEAD). */
static void reply(struct http_req *req, int status, const char *content_type, const char *body,
                  int64_t len)
{
    struct http_conn *c = req->conn;
    req->status = status;
    if (c->srv->observe) c->srv->observe(req, c->srv->observe_arg);
    bool head_only = http_head_only(req);
    bool keep = req->head.keep_alive && !c->closing;
    struct evbuffer *out = conn_out(c);
    bool no_body = status == 204 || status == 304;
    write_head(req, out, status, no_body ? NULL : content_type, no_body ? -1 : len, keep);
    if (!head_only && !no_body && len > 0) evbuffer_add(out, body, (size_t)len);
    req->responded = true;
    c->req = NULL;
    req_free(req);
    if (!keep) {
        c->closing = true;
    } else if (!c->processing) {
        process(c); /* pipelined requests waiting in the input buffer */
    }
}

void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len)
{
    reply(req, status, content_type, body, (int64_t)len);
}

void http_reply_stream_head(struct http_req *req, int status, const char *content_type)
{
    reply(req, status, content_type, NULL, -1);
}

void http_reply_error(struct http_req *req, int status, const char *message)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\"status\":%d,\"message\":", status);
    buf_json_string(&b, message);
    buf_puts(&b, "}");
    http_reply(req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

void http_add_header(struct http_req *req, const char *name, const char *value)
{
    buf_printf(&req->out_headers, "%s: %s\r\n", name, value);
}

const char *http_header(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->head.nheaders; i++)
        if (strcasecmp(req->head.headers[i].name, name) == 0) return req->head.headers[i].value;
    return NULL;
}

int http_etag_match(const struct http_req *req, const char *name, const char *etag, bool weak)
{
    size_t tl = strlen(etag), elements = 0;
    bool seen = false, star = false, found = false;
    for (size_t i = 0; i < req->head.nheaders; i++) {
        if (strcasecmp(req->head.headers[i].name, name) != 0) continue;
        seen = true;
        for (const char *p = req->head.headers[i].value;;) {
            while (*p == ' ' || *p == '\t') p++;
            if (*p == ',') { /* an empty element, which a list may hold */
                p++;
                continue;
            }
            if (!*p) break;
            if (*p == '*') {
                star = true;
                p++;
            } else {
                bool w = p[0] == 'W' && p[1] == '/';
                if (w) p += 2;
                if (*p != '"') return -2;
                const char *q = p + 1;
                for (; *q && *q != '"'; q++)
                    if ((unsigned char)*q < 0x21 || *q == 0x7f) return -2;
                if (*q != '"') return -2;
                size_t n = (size_t)(q + 1 - p);
                if ((!w || weak) && n == tl && memcmp(p, etag, n) == 0) found = true;
                p = q + 1;
            }
            elements++;
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') return -2;
        }
    }
    if (!seen) return -1;
    if (elements == 0 || (star && elements > 1)) return -2;
    return star || found ? 1 : 0;
}

const char *http_param(const struct http_req *req, const char *key)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, key) == 0) return req->params[i].value;
    return NULL;
}

void http_req_hold(struct http_req *req, void (*on_close)(struct http_req *, void *), void *arg)
{
    req->on_close = on_close;
    req->stream_arg = arg;
}

void http_stream_start(struct http_req *req, int status, const char *content_type,
                       void (*on_drain)(struct http_req *, void *),
                       void (*on_close)(struct http_req *, void *), void *arg)
{
    struct http_conn *c = req->conn;
    req->status = status;
    if (c->srv->observe) c->srv->observe(req, c->srv->observe_arg);
    req->streaming = true;
    req->on_drain = on_drain;
    req->on_close = on_close;
    req->stream_arg = arg;
    c->closing = false;
    write_head(req, conn_out(c), status, content_type, -1, false);
    /* no reads are expected any more (EOF still tells us the client left); writes are bounded
     * by the write timeout, so a client that stops reading is dropped */
    struct timeval wt = {c->srv->lim.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW_WATER, 0);
    /* a stream that its client reads slowly is held back in sked's own buffer, which the
     * stream bounds, rather than in megabytes of the kernel's that no one accounts for */
    int sndbuf = STREAM_SNDBUF;
    setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

void http_stream_write(struct http_req *req, const char *data, size_t len)
{
    struct evbuffer *out = conn_out(req->conn);
    evbuffer_add(out, data, len);
    size_t queued = evbuffer_get_length(out);
    if (queued > req->stream_queued_max) req->stream_queued_max = queued;
}

size_t http_stream_pending(const struct http_req *req)
{
    return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void http_stream_end(struct http_req *req)
{
    struct http_conn *c = req->conn;
    stream_logged(req, "ended");
    c->req = NULL;
    req_free(req);
    c->closing = true;
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    conn_out(c); /* the flush closes it once its output is written */
}

/*
 * The client of a request from a trusted proxy: its X-Forwarded-For lines (in order, as one
 * list) are read from the right, each address a hop that the one after it saw; the first not
 * in trusted is the client. A list of trusted hops only gives its first; an entry that is no
 * address stops the walk at the hop that wrote it, which stays the client. An entry may be
 * "[v6]", "[v6]:port" or "a.b.c.d:port", as some proxies write them.
 */
static void forwarded_client(const struct http_req *req, const struct cidr_list *trusted,
                             char peer[64])
{
    struct buf all = BUF_INIT;
    for (size_t i = 0; i < req->head.nheaders; i++)
        if (strcasecmp(req->head.headers[i].name, "X-Forwarded-For") == 0)
            buf_printf(&all, "%s%s", all.len ? "," : "", req->head.headers[i].value);
    const char *s = buf_cstr(&all);
    for (size_t end = all.len; end > 0;) {
        size_t start = end;
        while (start > 0 && s[start - 1] != ',') start--;
        const char *p = s + start;
        size_t len = end - start;
        end = start ? start - 1 : 0;
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        char addr[64];
        if (len >= sizeof addr) break;
        memcpy(addr, p, len);
        addr[len] = '\0';
        char *a = addr;
        if (*a == '[') { /* [v6] or [v6]:port */
            char *close = strchr(a, ']');
            if (!close || (close[1] && close[1] != ':')) break;
            *close = '\0';
            a++;
        } else if (strchr(a, ':') == strrchr(a, ':') && strchr(a, '.')) {
            char *colon = strchr(a, ':'); /* a.b.c.d:port */
            if (colon) *colon = '\0';
        }
        struct cidr c;
        if (cidr_addr(a, &c) != 0) break;
        snprintf(peer, 64, "%s", a);
        if (!cidr_list_has(trusted, a)) break;
        if (!start) break;
    }
    buf_free(&all);
}

bool http_method_served(const char *method)
{
    static const char *const served[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof served / sizeof *served; i++)
        if (strcmp(method, served[i]) == 0) return true;
    return false;
}

static void dispatch_request(struct http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct http_req *req = xcalloc(1, sizeof *req);
    req->conn = c;
    req->head = c->head;
    memset(&c->head, 0, sizeof c->head);
    req->started_us = time_mono_us();
    c->began_us = 0; /* the next request's time starts with its own first byte */
    memcpy(req->peer, c->peer, sizeof req->peer); /* the same size, NUL-terminated */
    const struct cidr_list *trusted = c->srv->lim.trusted;
    bool via_proxy = trusted && trusted->n && cidr_list_has(trusted, req->peer);
    if (via_proxy) forwarded_client(req, trusted, req->peer);
    if (req->head.content_length > 0) {
        req->body_len = (size_t)req->head.content_length;
        req->body = xmalloc(req->body_len + 1);
        evbuffer_remove(in, req->body, req->body_len);
        req->body[req->body_len] = '\0';
    }
    /* only a trusted proxy says how the client reached it: from anyone else the header would
     * give a plain-http client a Secure, __Host- cookie and https links on its say-so */
    const char *xfp = via_proxy ? http_header(req, "X-Forwarded-Proto") : NULL;
    req->tls = xfp && strcasecmp(xfp, "https") == 0;
    c->req = req;
    c->state = ST_HEAD;
    size_t at = 0;
    int qrc = parse_query_at(req->head.query, &req->params, &req->nparams, &at);
    if (qrc == -2) {
        http_reply_error(req, 400, "too many query parameters (at most 100)");
        return;
    }
    if (qrc != 0) {
        /* the parameter at fault as it was sent (still escaped: printable ASCII), cut short */
        const char *p = req->head.query + at;
        size_t len = strcspn(p, "=&");
        char name[48], msg[160];
        size_t k = 0;
        for (; k < len && k < 40; k++) name[k] = p[k] > ' ' && p[k] < 0x7f ? p[k] : '?';
        snprintf(name + k, sizeof name - k, "%s", len > 40 ? "…" : "");
        snprintf(msg, sizeof msg,
                 qrc == -3 ? "query parameter '%s': a NUL byte (%%00) is refused"
                           : "query parameter '%s': a bad percent-escape (%% and two hex digits, "
                             "%%25 for a %% itself)",
                 name);
        http_reply_error(req, 400, msg);
        return;
    }
    if (strcmp(req->head.target, "*") == 0) { /* OPTIONS *: the server as a whole */
        http_add_header(req, "Allow", HTTP_METHODS);
        http_reply(req, 204, NULL, NULL, 0);
        return;
    }
    c->srv->fn(req, c->srv->arg);
}

/* The length of the head at the start of buf (n bytes) with the empty line that ends it
 * ("\r\n\r\n", or "\n\n" as lenient parsers take it), or 0 when no empty line is there yet. */
static size_t head_end(const char *buf, size_t n)
{
    for (const char *p = buf, *e = buf + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL;) {
        p++;
        if (p < e && *p == '\n') return (size_t)(p + 1 - buf);
        if (p + 1 < e && p[0] == '\r' && p[1] == '\n') return (size_t)(p + 2 - buf);
    }
    return 0;
}

static void process(struct http_conn *c)
{
    struct http_server *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->processing = true;
    while (!c->req && !c->closing) {
        /* a client that sends request after request and reads no answer would have them pile
         * up here without end: the next waits (its time not counted) until they are read */
        if (c->state == ST_HEAD && evbuffer_get_length(in) > 0 &&
            evbuffer_get_length(bufferevent_get_output(c->bev)) > PIPELINE_OUT_MAX) {
            c->held = true;
            c->began_us = 0;
            bufferevent_disable(c->bev, EV_READ);
            break;
        }
        /* a request must be whole within the idle timeout of its first byte: the read timeout
         * alone starts again with every byte, and a client sending one header line a minute
         * would hold its connection for good */
        if (evbuffer_get_length(in) > 0) {
            int64_t now = time_mono_us();
            if (!c->began_us) c->began_us = now;
            if (now - c->began_us > (int64_t)s->lim.idle_timeout_s * 1000000) {
                conn_error(c, 408, "request not received in time");
                break;
            }
        }
        if (c->state == ST_HEAD) {
            size_t have = evbuffer_get_length(in);
            if (have == 0) break;
            /* a TLS handshake (a record of type 22): an https:// client at this plain port, which
             * would wait for a head's end until the timeout; closed at once, it fails at once */
            if (*(const unsigned char *)evbuffer_pullup(in, 1) == 0x16) {
                log_debug("http.tls_on_plain", "peer=%s", c->peer);
                c->closing = true;
                conn_out(c); /* its flush closes it */
                break;
            }
            /* the head ends at the first empty line; it is looked for only as far as a head
             * may go (one pass, rather than a search of the whole input, body included, for
             * each of its two forms) */
            size_t lim = have < s->lim.max_head ? have : s->lim.max_head;
            const char *raw = (const char *)evbuffer_pullup(in, (ssize_t)lim);
            size_t end = head_end(raw, lim);
            if (end == 0) {
                if (have >= s->lim.max_head) {
                    if (memchr(raw, '\n', lim)) conn_error(c, 431, "request head too large");
                    else conn_error(c, 414, "request target too long");
                }
                break;
            }
            struct sk_err e = {0};
            int st = http_parse_head(raw, (size_t)end, &c->head, &e);
            evbuffer_drain(in, (size_t)end);
            if (st) {
                conn_error(c, st, e.msg);
                break;
            }
            /* RFC 9112 §3.2: a server answers 400 to an HTTP/1.1 request without Host (the
             * parser is left to read heads of any version) */
            bool host = false;
            for (size_t i = 0; i < c->head.nheaders && !host; i++)
                host = strcasecmp(c->head.headers[i].name, "Host") == 0;
            if (c->head.minor >= 1 && !host) {
                conn_error(c, 400, "an HTTP/1.1 request needs a Host header (RFC 9112, section 3.2)");
                break;
            }
            if (c->head.chunked) {
                conn_error(c, 411, "chunked request bodies are not accepted; send Content-Length");
                break;
            }
            if (c->head.content_length > (int64_t)s->lim.max_body) {
                char msg[128];
                snprintf(msg, sizeof msg, "request body larger than %zu bytes", s->lim.max_body);
                conn_error(c, 413, msg);
                break;
            }
            if (s->gate && c->head.content_length > (int64_t)s->gate_free) {
                /* the head alone decides whether a long body is worth holding in memory */
                struct http_req probe = {.head = c->head};
                memcpy(probe.peer, c->peer, sizeof probe.peer);
                if (!s->gate(&probe, s->gate_arg)) {
                    char msg[160];
                    snprintf(msg, sizeof msg,
                             "authentication required: a body of more than %zu bytes is read "
                             "only from a signed-in client",
                             s->gate_free);
                    conn_error(c, 401, msg);
                    break;
                }
            }
            c->state = ST_BODY;
            /* the client waits for this before it sends the body (RFC 9110 §10.1.1) */
            if (c->head.expect_continue && c->head.content_length > 0 &&
                evbuffer_get_length(in) < (size_t)c->head.content_length)
                evbuffer_add(conn_out(c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        size_t need = c->head.content_length > 0 ? (size_t)c->head.content_length : 0;
        if (evbuffer_get_length(in) < need) break;
        dispatch_request(c);
    }
    c->processing = false;
    /* every whole request of a client that ended its side answered (or being answered): the
     * connection closes once the answers are out; a part of one will not be completed */
    if (c->read_eof && !c->req && !c->held && !c->closing) {
        c->closing = true;
        conn_out(c); /* its flush closes it */
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->req && c->req->streaming) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->closing) {
        /* Closing a socket that still holds unread input makes the kernel send a reset, and a
         * client still sending (a body over the limit, a huge head) would lose our answer: what
         * comes now is read and dropped until the client closes too (see on_write). */
        c->discarded += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->discarded > LINGER_MAX_BYTES) conn_free(c);
        return;
    }
    process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));
    if (left == 0) bufferevent_disable(bev, EV_WRITE); /* the next output goes by the flush */
    if (c->closing && left == 0) {
        if (c->lingering) return;
        /* the answer is out: end our side, then wait (briefly) for the client's EOF */
        c->lingering = true;
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        struct timeval t = {LINGER_SECONDS, 0};
        bufferevent_set_timeouts(bev, &t, NULL);
        bufferevent_enable(bev, EV_READ);
        return;
    }
    if (c->req && c->req->streaming && c->req->on_drain) c->req->on_drain(c->req, c->req->stream_arg);
    if (c->held && left == 0 && !c->req) {
        /* the requests that waited are taken up by the loop's next pass, as any request is:
         * this may be the flush after the iteration's commit, and their writes must share the
         * next one before their answers leave */
        c->held = false;
        if (!c->read_eof) bufferevent_enable(bev, EV_READ);
        bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct http_conn *c = arg;
    bool reading = (what & BEV_EVENT_READING) != 0;
    bool answering = c->req && !c->req->streaming; /* a handler has the request */
    if (reading && (what & BEV_EVENT_TIMEOUT) && answering) {
        /* the time a handler takes is not the client's: it waits for the answer */
        bufferevent_enable(c->bev, EV_READ);
        return;
    }
    if (reading && (what & BEV_EVENT_EOF) && !c->closing && (answering || c->held)) {
        c->read_eof = true; /* answered first; process() then closes */
        return;
    }
    if (what & BEV_EVENT_TIMEOUT && reading && !c->req && !c->closing &&
        (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 || c->state == ST_BODY)) {
        conn_error(c, 408, "request not received in time");
        struct timeval wt = {c->srv->lim.write_timeout_s, 0};
        bufferevent_set_timeouts(c->bev, NULL, &wt);
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    c->timed_out = (what & BEV_EVENT_TIMEOUT) != 0;
    conn_free(c); /* EOF, error or timeout */
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen,
                      void *arg)
{
    (void)l, (void)slen;
    struct http_server *s = arg;
    if (s->starved_since) {
        log_info("http.accept_resumed", "paused_ms=%lld",
                 (long long)((time_now_us() - s->starved_since) / 1000));
        s->starved_since = 0;
    }
    if (s->nconns >= s->lim.max_conns) {
        evutil_closesocket(fd);
        return;
    }
    char peer[64] = "";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
    /* one address may not take every connection; a trusted proxy speaks for many clients, and
     * so does a proxy on this machine, which connects from loopback */
    bool loopback = strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0 ||
                    strncmp(peer, "::ffff:127.", 11) == 0;
    bool counted = s->lim.max_conns_per_addr > 0 && (!loopback || s->lim.cap_loopback) &&
                   !(s->lim.trusted && cidr_list_has(s->lim.trusted, peer));
    uintptr_t mine = counted ? (uintptr_t)map_get(&s->per_addr, peer) : 0;
    if (counted && mine >= (uintptr_t)s->lim.max_conns_per_addr) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct http_conn *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    memcpy(c->peer, peer, sizeof c->peer);
    if ((c->counted = counted)) map_put(&s->per_addr, peer, (void *)(mine + 1));
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    struct timeval rt = {s->lim.idle_timeout_s, 0}, wt = {s->lim.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &rt, &wt);
    bufferevent_setwatermark(c->bev, EV_READ, 0, s->lim.max_head + s->lim.max_body + 4096);
    /* writes are not watched: http_server_flush writes what the loop iteration answered, and
     * only what the socket does not take at once waits for it to be writable (a new
     * bufferevent watches writes: switched off) */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
}

/* Writes c's output now; what the socket does not take is written as it drains. */
static void conn_flush(struct http_conn *c)
{
    c->pending = false;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int sent = 0;
    if (evbuffer_get_length(out) > 0) {
        /* a bufferevent keeps the front of its output frozen but for its own writes */
        evbuffer_unfreeze(out, 1);
        errno = 0;
        int n = evbuffer_write(out, bufferevent_getfd(c->bev));
        evbuffer_freeze(out, 1);
        sent = n;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_free(c); /* the client is gone */
            return;
        }
    }
    size_t left = evbuffer_get_length(out);
    /* enabling starts the write timeout again: only when bytes left, or when none waited for
     * the socket yet, so that output added for a client that reads nothing (a stream's live
     * lines, its pings) does not keep it connected */
    if (left > 0 && (sent > 0 || !(bufferevent_get_enabled(c->bev) & EV_WRITE)))
        bufferevent_enable(c->bev, EV_WRITE);
    /* as libevent calls it: once the output is at or below the low watermark */
    if (left == 0 || (c->req && c->req->streaming && left <= STREAM_LOW_WATER)) on_write(c->bev, c);
}

void http_server_flush(struct http_server *s)
{
    /* by index: a stream's refill (on_drain) may add connections at the end; conn_free clears
     * its entries. A few rounds, then the socket's readiness takes over. */
    size_t done = 0;
    for (int round = 0; round < 4 && done < s->npending; round++)
        for (size_t end = s->npending; done < end; done++)
            if (s->pending[done]) conn_flush(s->pending[done]);
    for (; done < s->npending; done++)
        if (s->pending[done]) {
            s->pending[done]->pending = false;
            /* as in conn_flush: a write already waited for keeps its timeout */
            if (!(bufferevent_get_enabled(s->pending[done]->bev) & EV_WRITE))
                bufferevent_enable(s->pending[done]->bev, EV_WRITE);
        }
    s->npending = 0;
}

bool http_server_has_output(const struct http_server *s)
{
    return s->npending > 0;
}

int http_listen_socket(const char *host, int port, struct sk_err *e)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    char h[128];
    snprintf(h, sizeof h, "%s", host);
    if (h[0] == '[') { /* [::1] */
        memmove(h, h + 1, strlen(h));
        char *rb = strchr(h, ']');
        if (rb) *rb = '\0';
    }
    if (strcmp(h, "localhost") == 0) snprintf(h, sizeof h, "127.0.0.1");
    if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        sl = sizeof *s6;
    } else {
        return sk_err_set(e, -EINVAL, "listen", "'%s' is not an IP address", host);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        return sk_err_set(e, -err, "listen", "cannot listen on %s:%d: %s", host, port,
                          strerror(err));
    }
    return fd;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct http_server *s = arg;
    if (s->listener) evconnlistener_enable(s->listener);
}

/* accept() failed for want of something (descriptors, memory): the connection stays in the
 * kernel's backlog, so the listener would be woken for it again at once, in a busy loop. It
 * pauses instead, and tries again a moment later, when a connection or a task may have
 * given a descriptor back. (Errors a retry fixes, such as a client gone before its accept, are
 * dealt with by libevent and never come here.) */
#define ACCEPT_PAUSE_MS 100

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct http_server *s = arg;
    int err = EVUTIL_SOCKET_ERROR();
    evconnlistener_disable(l);
    if (!s->resume_ev) s->resume_ev = evtimer_new(s->base, on_resume, s);
    if (!s->starved_since) { /* said once, and again when a connection is accepted */
        s->starved_since = time_now_us();
        log_warn("http.accept_paused", "reason=%s connections=%d retry_ms=%d",
                 log_q(strerror(err)), s->nconns, ACCEPT_PAUSE_MS);
    }
    const struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(s->resume_ev, &tv);
}

struct http_server *http_server_on(struct event_base *base, int fd, const struct http_limits *lim,
                                   http_handler fn, void *arg)
{
    struct http_server *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->lim = *lim;
    map_init(&s->per_addr);
    s->fn = fn;
    s->arg = arg;
    s->listener = evconnlistener_new(base, on_accept, s,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!s->listener) {
        close(fd);
        free(s);
        return NULL;
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &bl);
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return s;
}

struct http_server *http_server_new(struct event_base *base, const char *host, int port,
                                    const struct http_limits *lim, http_handler fn, void *arg,
                                    struct sk_err *e)
{
    int fd = http_listen_socket(host, port, e);
    if (fd < 0) return NULL;
    struct http_server *s = http_server_on(base, fd, lim, fn, arg);
    if (!s) sk_err_set(e, -ENOMEM, "listen", "cannot watch the listening socket");
    return s;
}

void http_server_observe(struct http_server *s, void (*fn)(struct http_req *req, void *arg),
                         void *arg)
{
    s->observe = fn;
    s->observe_arg = arg;
}

void http_server_gate(struct http_server *s, size_t free_bytes,
                      bool (*fn)(const struct http_req *req, void *arg), void *arg)
{
    s->gate_free = free_bytes;
    s->gate = fn;
    s->gate_arg = arg;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop_accepting(struct http_server *s)
{
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    if (s->resume_ev) evtimer_del(s->resume_ev);
}

void http_server_free(struct http_server *s)
{
    if (!s) return;
    http_server_stop_accepting(s);
    if (s->resume_ev) event_free(s->resume_ev);
    while (s->conns) conn_free(s->conns);
    map_release(&s->per_addr);
    free(s->pending);
    free(s);
}
