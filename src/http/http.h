/*
 * http: a small HTTP/1.1 server on libevent bufferevents - keep-alive, pipelining, bounded
 * heads and bodies, timeouts, and streamed responses for Server-Sent Events with write
 * back-pressure. sked owns it (rather than evhttp) so that every error it produces, down to a
 * malformed request line or an oversized body, is a JSON body, and so a streaming response
 * can see how much of its output is still queued for a slow client.
 *
 * The request head parser (http_parse_head) is a pure function, fuzzed on its own.
 */
#ifndef SKED_HTTP_H
#define SKED_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/cidr.h"
#include "base/err.h"

struct event_base;
struct http_server;
struct http_conn;

struct http_header {
    char *name;
    char *value;
};

struct http_param {
    char *key;
    char *value; /* percent-decoded */
};

struct http_head {
    char method[16];
    char *text;    /* a copy of the head, which target, query and headers point into */
    char *target;  /* as sent */
    char *path;    /* percent-decoded path */
    char *query;   /* raw query string after '?', or NULL */
    int minor;     /* HTTP/1.minor */
    struct http_header *headers;
    size_t nheaders;
    int64_t content_length; /* -1 when absent */
    bool chunked;
    bool keep_alive;
    bool expect_continue; /* Expect: 100-continue from an HTTP/1.1 client */
};

/* What a 501 for a method the server does not know says (RFC 9110 §9.1). */
/* The methods sked serves, as an Allow header lists them. */
#define HTTP_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
#define HTTP_UNKNOWN_METHOD "unknown method (" HTTP_METHODS " are served)"
/* Whether method is one of HTTP_METHODS (the two are kept together, in http.c and here). */
bool http_method_served(const char *method);

/* Parses a request head (the bytes up to and including the blank line). Returns 0, or the
 * HTTP status to answer (400, 417, 431, 501, 505) with the reason in e. */
int http_parse_head(const char *buf, size_t len, struct http_head *h, struct sk_err *e);
void http_head_release(struct http_head *h);
/* Percent-decodes s[0..n) ('+' as space when form); -1 when an escape is bad, -2 when one
 * decodes to NUL. */
int http_unescape(const char *s, size_t n, bool form, struct buf *out);
/* Splits a query string into decoded pairs; -1 on a bad escape, -2 past 100 parameters, -3
 * for an escape that decodes to NUL. */
int http_parse_query(const char *q, struct http_param **out, size_t *n);
void http_params_free(struct http_param *p, size_t n);

struct http_req {
    struct http_conn *conn;
    struct http_head head;
    struct http_param *params;
    size_t nparams;
    char *body; /* NUL-terminated copy, or NULL */
    size_t body_len;
    char peer[64];
    bool tls; /* served over TLS (behind a trusted proxy that says so) */
    /* response */
    struct buf out_headers;
    bool responded;
    bool streaming;
    void (*on_drain)(struct http_req *req, void *arg);
    void (*on_close)(struct http_req *req, void *arg);
    void *stream_arg;
    size_t stream_queued_max; /* a stream's most output held at once (logged at its end) */
    int64_t started_us; /* monotonic, for metrics */
    int status;
    const char *route;  /* the route it matched, for metrics (static text), or NULL */
};

struct http_limits {
    size_t max_head;   /* bytes of request line + headers */
    size_t max_body;
    int idle_timeout_s;  /* keep-alive idle and slow-request limit */
    int write_timeout_s;
    int max_conns;
    int max_conns_per_addr; /* from one client address (trusted proxies excepted); 0: none */
    bool cap_loopback;      /* ... loopback clients too (a local proxy is one: off but in tests) */
    /* proxies whose X-Forwarded-For names the client (req->peer) and whose X-Forwarded-Proto
     * says whether it came over TLS (req->tls), or NULL; read with each request, so it may
     * change while the server runs */
    const struct cidr_list *trusted;
};

typedef void (*http_handler)(struct http_req *req, void *arg);

/* A listening TCP socket on host (an IP address or localhost) and port: non-blocking,
 * close-on-exec. < 0 with the reason ("cannot listen on HOST:PORT: ...") in e. */
int http_listen_socket(const char *host, int port, struct sk_err *e);
/* The server on a socket of http_listen_socket, which it owns from then on (closed also when
 * this fails: NULL). */
struct http_server *http_server_on(struct event_base *base, int fd, const struct http_limits *lim,
                                   http_handler fn, void *arg);
struct http_server *http_server_new(struct event_base *base, const char *host, int port,
                                    const struct http_limits *lim, http_handler fn, void *arg,
                                    struct sk_err *e);
/* Called with each request as it is answered (status set), e.g. to count it. */
void http_server_observe(struct http_server *s, void (*fn)(struct http_req *req, void *arg),
                         void *arg);
/* A request whose body is longer than free_bytes has its head shown to fn first, and is
 * answered 401 (the connection closed) unless fn returns true: a client that is not signed in
 * cannot make the server hold bodies of up to max_body on every connection it opens. */
void http_server_gate(struct http_server *s, size_t free_bytes,
                      bool (*fn)(const struct http_req *req, void *arg), void *arg);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
/* Stops accepting new connections; existing ones finish. */
void http_server_stop_accepting(struct http_server *s);
/* Writes the answers and stream output given since the last call. The loop calls it after each
 * iteration's commit, so nothing leaves before what it reports is stored; what a socket does not
 * take at once is written as it drains. */
void http_server_flush(struct http_server *s);
/* Whether answers or stream output wait for http_server_flush. */
bool http_server_has_output(const struct http_server *s);
/* Closes every connection (streams get their on_close) and frees the server. */
void http_server_free(struct http_server *s);

const char *http_header(const struct http_req *req, const char *name);
/* Whether etag (quoted, as sent in ETag) is among the entity tags of the request's header name
 * (If-Match, If-None-Match), its lines read as one list (RFC 9110 §13.1): 1 when it is, or the
 * header is "*"; 0 when it is not; -1 without the header; -2 when the header is neither "*"
 * nor a comma-separated list of quoted entity tags. weak: a W/ tag matches its strong form (the
 * weak comparison of If-None-Match), else it never matches (the strong one of If-Match). */
int http_etag_match(const struct http_req *req, const char *name, const char *etag, bool weak);
/* The first value of query parameter key, or NULL. */
const char *http_param(const struct http_req *req, const char *key);
void http_add_header(struct http_req *req, const char *name, const char *value);

/* Sends a complete response; the request is freed once written. */
void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len);
/* Whether req is a HEAD request (answered with the head of what GET would answer). */
bool http_head_only(const struct http_req *req);
/* The head of a stream's answer, alone: the answer to HEAD on a stream's route. */
void http_reply_stream_head(struct http_req *req, int status, const char *content_type);
/* {"status":N,"message":...} */
void http_reply_error(struct http_req *req, int status, const char *message);

/*
 * Keeps a request open while its answer is computed elsewhere (e.g. off the loop): if the
 * client leaves first, on_close(req, arg) runs and the request is freed, so the owner must
 * forget it. Replying as usual ends the hold.
 */
void http_req_hold(struct http_req *req, void (*on_close)(struct http_req *, void *), void *arg);

/* Starts a streamed response (no length; the connection closes when it ends). */
void http_stream_start(struct http_req *req, int status, const char *content_type,
                       void (*on_drain)(struct http_req *, void *),
                       void (*on_close)(struct http_req *, void *), void *arg);
void http_stream_write(struct http_req *req, const char *data, size_t len);
/* Bytes queued for the client and not yet sent. */
size_t http_stream_pending(const struct http_req *req);
/* Ends the stream: remaining output is flushed, then the connection closes (no on_close). */
void http_stream_end(struct http_req *req);

const char *http_status_text(int status);

#endif
