/* celery_amqp: an AMQP broker of the Celery executor on a thread of its own; see celery_amqp.h. */
#include "celery_amqp.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
/* a connection up this long, or with a task message confirmed, proved itself: the wait before
 * the next connect starts again at BACKOFF_MIN_MS; one that goes sooner doubles it */
#define HEALTHY_MS 10000
#define HEARTBEAT_S 10
#define RPC_TIMEOUT_S 10
#define CONNECT_TIMEOUT_S 5
#define POLL_MS 1000 /* at least this often the library gets to send its heartbeats */
#define TABLE_DEPTH 16
#define BODY_MAX (16 * 1024 * 1024)
#define CH_PUBLISH 1 /* confirm mode: task messages and broadcasts */
#define CH_CONSUME 2 /* events and pidbox replies; the exchanges */
#define CH_DECLARE 3 /* task queue declarations and questions: an error closes only this one */

/* ---- loop -> thread ---- */

enum cmd_kind { CMD_PUBLISH, CMD_BROADCAST, CMD_QUEUE_INFO, CMD_WITHDRAW };

struct cmd {
    enum cmd_kind kind;
    char *queue; /* PUBLISH, QUEUE_INFO */
    char *body;  /* PUBLISH, BROADCAST */
    size_t body_len;
    char *headers; /* JSON text: jansson values are not handed between threads */
    char *id;      /* PUBLISH: the correlation id */
    int priority;
    int64_t expiration_ms;
    char *note; /* PUBLISH sent again: what its queue's declaration said the first time */
    struct cmd *next;
};

/* ---- thread -> loop ---- */

enum note_kind { N_UP, N_DOWN, N_EVENT, N_REPLY, N_PUBLISHED, N_QUEUE, N_WITHDRAWN };

struct note {
    enum note_kind kind;
    char *text; /* DOWN: why; EVENT, REPLY: the body; PUBLISHED: the id; QUEUE: the queue */
    size_t len;
    char *detail; /* PUBLISHED */
    enum amqp_outcome outcome;
    int64_t messages, consumers;
    struct note *next;
};

/* A publish the broker has not confirmed yet (the thread's own). */
struct pending {
    uint64_t seq;
    struct cmd *cmd; /* what was published (id NULL for a broadcast), to send it again */
    char *detail;    /* what a basic.return or a declaration said */
    bool returned;
    struct pending *next;
};

struct amqp_broker {
    /* set before the thread starts, read-only afterwards */
    struct amqp_url url;
    char oid[64];
    struct amqp_broker_cbs cbs;
    void *arg;
    /* shared, under lock */
    pthread_mutex_t lock;
    struct cmd *cmds, *cmds_tail;
    struct note *notes, *notes_tail;
    bool stopping;
    int wake_fd;   /* eventfd: a command came, or stop */
    int notify_fd; /* eventfd: notes wait for the loop */
    /* the loop's */
    struct event *ev;
    pthread_t thread;
    /* the thread's */
    amqp_connection_state_t conn;
    uint64_t seq; /* the last publish's number on CH_PUBLISH */
    struct pending *pending, *pending_tail;
    struct cmd *todo, *todo_tail; /* commands taken from the loop, carried out in order */
    /* publishes sent again after the broker closed the publishing channel: until they are
     * answered, each waits for the broker's answer before the next command goes, so a
     * refusal names its message */
    size_t careful;
    bool proven;     /* the broker confirmed a task message on this connection */
    char **declared; /* queues declared on this connection */
    size_t ndeclared;
    bool down_said;
};

static void cmd_free(struct cmd *c)
{
    free(c->queue);
    free(c->body);
    free(c->headers);
    free(c->id);
    free(c->note);
    free(c);
}

static void note_free(struct note *n)
{
    free(n->text);
    free(n->detail);
    free(n);
}

/* n bytes (NUL bytes included: a body is not a C string) and a NUL after them. */
static char *memdup0(const void *p, size_t n)
{
    char *s = xmalloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w; /* a counter that cannot overflow in practice; the wake-up is what matters */
}

static void drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

/* ---- notes (thread side) ---- */

static void note_post(struct amqp_broker *b, struct note *n)
{
    pthread_mutex_lock(&b->lock);
    if (b->notes_tail)
        b->notes_tail->next = n;
    else
        b->notes = n;
    b->notes_tail = n;
    pthread_mutex_unlock(&b->lock);
    wake(b->notify_fd);
}

static void note_simple(struct amqp_broker *b, enum note_kind kind, const char *text, size_t len)
{
    struct note *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    if (text) n->text = memdup0(text, len), n->len = len;
    note_post(b, n);
}

static void note_published(struct amqp_broker *b, const char *id, enum amqp_outcome o,
                           const char *detail)
{
    struct note *n = xcalloc(1, sizeof *n);
    n->kind = N_PUBLISHED;
    n->text = id ? xstrdup(id) : NULL;
    n->outcome = o;
    n->detail = detail ? xstrdup(detail) : NULL;
    note_post(b, n);
}

/* ---- notes (loop side) ---- */

static void on_notes(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct amqp_broker *b = arg;
    drain(fd);
    pthread_mutex_lock(&b->lock);
    struct note *list = b->notes;
    b->notes = b->notes_tail = NULL;
    pthread_mutex_unlock(&b->lock);
    while (list) {
        struct note *n = list;
        list = n->next;
        switch (n->kind) {
        case N_UP:
            b->cbs.up(b->arg);
            break;
        case N_DOWN:
            b->cbs.down(b->arg, n->text ? n->text : "closed");
            break;
        case N_EVENT:
            b->cbs.event(b->arg, n->text, n->len);
            break;
        case N_REPLY:
            b->cbs.reply(b->arg, n->text, n->len);
            break;
        case N_PUBLISHED:
            b->cbs.published(b->arg, n->text, n->outcome, n->detail);
            break;
        case N_QUEUE:
            b->cbs.queue_info(b->arg, n->text, n->messages, n->consumers);
            break;
        case N_WITHDRAWN:
            b->cbs.withdrawn(b->arg, n->text, n->messages > 0, n->detail);
            break;
        }
        note_free(n);
    }
}

/* ---- AMQP helpers (thread) ---- */

static char *bytes_str(amqp_bytes_t b)
{
    return xstrndup(b.bytes ? (const char *)b.bytes : "", b.len);
}

/* What an RPC reply says, for a log line; caller frees. */
static char *reply_text(amqp_rpc_reply_t r, const char *what)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return xasprintf("%s: ok", what);
    case AMQP_RESPONSE_NONE:
        return xasprintf("%s: no reply", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return xasprintf("%s: %s", what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            char *t = bytes_str(m->reply_text);
            char *s = xasprintf("%s: the broker closed the connection: %u %s", what,
                                (unsigned)m->reply_code, t);
            free(t);
            return s;
        }
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            char *t = bytes_str(m->reply_text);
            char *s = xasprintf("%s: %u %s", what, (unsigned)m->reply_code, t);
            free(t);
            return s;
        }
        return xasprintf("%s: the broker answered method 0x%08x", what, (unsigned)r.reply.id);
    }
    return xasprintf("%s: failed", what);
}

/* The reply code of a channel closed by the broker, or 0. */
static int channel_closed_code(amqp_rpc_reply_t r)
{
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
        return ((amqp_channel_close_t *)r.reply.decoded)->reply_code;
    return 0;
}

static bool rpc_ok(struct amqp_broker *b)
{
    return amqp_get_rpc_reply(b->conn).reply_type == AMQP_RESPONSE_NORMAL;
}

/* After the broker closed channel ch: acknowledged and opened again (in confirm mode for the
 * publishing one). false when the connection itself is gone. */
static bool channel_reopen(struct amqp_broker *b, amqp_channel_t ch)
{
    amqp_channel_close_ok_t ok = {0};
    if (amqp_send_method(b->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK)
        return false;
    amqp_channel_open(b->conn, ch);
    if (!rpc_ok(b)) return false;
    if (ch == CH_PUBLISH) {
        amqp_confirm_select(b->conn, ch);
        if (!rpc_ok(b)) return false;
    }
    return true;
}

static int json_to_field(const json_t *v, amqp_pool_t *pool, amqp_field_value_t *out, int depth);

static int json_to_table(const json_t *obj, amqp_pool_t *pool, amqp_table_t *out, int depth)
{
    if (!json_is_object(obj) || depth > TABLE_DEPTH) return -EINVAL;
    size_t n = json_object_size(obj), i = 0;
    out->num_entries = (int)n;
    out->entries = n ? amqp_pool_alloc(pool, n * sizeof *out->entries) : NULL;
    if (n && !out->entries) return -ENOMEM;
    const char *k;
    json_t *item;
    json_object_foreach((json_t *)obj, k, item)
    {
        out->entries[i].key = amqp_cstring_bytes(k);
        if (json_to_field(item, pool, &out->entries[i].value, depth + 1)) return -EINVAL;
        i++;
    }
    return 0;
}

static int json_to_field(const json_t *v, amqp_pool_t *pool, amqp_field_value_t *out, int depth)
{
    if (depth > TABLE_DEPTH) return -EINVAL;
    switch (json_typeof(v)) {
    case JSON_NULL:
        out->kind = AMQP_FIELD_KIND_VOID;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = AMQP_FIELD_KIND_BOOLEAN;
        out->value.boolean = json_is_true(v);
        return 0;
    case JSON_INTEGER:
        out->kind = AMQP_FIELD_KIND_I64;
        out->value.i64 = json_integer_value(v);
        return 0;
    case JSON_REAL:
        out->kind = AMQP_FIELD_KIND_F64;
        out->value.f64 = json_real_value(v);
        return 0;
    case JSON_STRING:
        out->kind = AMQP_FIELD_KIND_UTF8;
        out->value.bytes.bytes = (void *)json_string_value(v);
        out->value.bytes.len = json_string_length(v);
        return 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        out->kind = AMQP_FIELD_KIND_ARRAY;
        out->value.array.num_entries = (int)n;
        out->value.array.entries = n ? amqp_pool_alloc(pool, n * sizeof(amqp_field_value_t)) : NULL;
        if (n && !out->value.array.entries) return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (json_to_field(json_array_get(v, i), pool, &out->value.array.entries[i], depth + 1))
                return -EINVAL;
        return 0;
    }
    case JSON_OBJECT:
        out->kind = AMQP_FIELD_KIND_TABLE;
        return json_to_table(v, pool, &out->value.table, depth + 1);
    }
    return -EINVAL;
}

/* ---- the connection (thread) ---- */

/* c, just published, waits for the broker's answer (c is the pending entry's from now on). */
static void pending_add(struct amqp_broker *b, struct cmd *c, const char *detail)
{
    struct pending *p = xcalloc(1, sizeof *p);
    p->seq = ++b->seq;
    p->cmd = c;
    p->detail = detail ? xstrdup(detail) : NULL;
    if (b->pending_tail)
        b->pending_tail->next = p;
    else
        b->pending = p;
    b->pending_tail = p;
}

static void pending_free(struct pending *p)
{
    if (p->cmd) cmd_free(p->cmd);
    free(p->detail);
    free(p);
}

static void note_withdrawn(struct amqp_broker *b, const char *id, bool taken, const char *why)
{
    struct note *n = xcalloc(1, sizeof *n);
    n->kind = N_WITHDRAWN;
    n->text = xstrdup(id);
    n->messages = taken;
    n->detail = why ? xstrdup(why) : NULL;
    note_post(b, n);
}

/* A command that cannot be carried out: those that wait for an answer get one. */
static void cmd_lost(struct amqp_broker *b, struct cmd *c, const char *why)
{
    if (c->kind == CMD_PUBLISH) note_published(b, c->id, AMQP_LOST, why);
    if (c->kind == CMD_WITHDRAW) note_withdrawn(b, c->id, false, why);
}

/* Appends the commands the loop posted to the thread's own list. */
static void todo_take(struct amqp_broker *b, struct cmd *list)
{
    for (struct cmd *c = list, *n; c; c = n) {
        n = c->next;
        c->next = NULL;
        if (b->todo_tail)
            b->todo_tail->next = c;
        else
            b->todo = c;
        b->todo_tail = c;
    }
}

static struct cmd *todo_pop(struct amqp_broker *b)
{
    struct cmd *c = b->todo;
    if (!c) return NULL;
    b->todo = c->next;
    if (!b->todo) b->todo_tail = NULL;
    c->next = NULL;
    return c;
}

static bool declared(struct amqp_broker *b, const char *queue)
{
    for (size_t i = 0; i < b->ndeclared; i++)
        if (strcmp(b->declared[i], queue) == 0) return true;
    return false;
}

static void forget_declared(struct amqp_broker *b, const char *queue)
{
    for (size_t i = 0; i < b->ndeclared; i++)
        if (!queue || strcmp(b->declared[i], queue) == 0) {
            free(b->declared[i]);
            b->declared[i--] = b->declared[--b->ndeclared];
        }
}

/* The connection is gone: what waited for a confirm is said to be lost (sent again), and the
 * loop hears why (not when why is NULL: sked is stopping). polite: say so to the broker. */
static void conn_drop(struct amqp_broker *b, const char *why, bool polite)
{
    if (!b->conn) return;
    if (polite) amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(b->conn);
    b->conn = NULL;
    while (b->pending) {
        struct pending *p = b->pending;
        b->pending = p->next;
        if (p->cmd->id && why) note_published(b, p->cmd->id, AMQP_LOST, why);
        pending_free(p);
    }
    b->pending_tail = NULL;
    for (struct cmd *c; (c = todo_pop(b));) { /* taken, not carried out yet */
        if (why) cmd_lost(b, c, why);
        cmd_free(c);
    }
    b->careful = 0;
    forget_declared(b, NULL);
    if (why) note_simple(b, N_DOWN, why, strlen(why));
}

static void conn_close(struct amqp_broker *b, const char *why)
{
    conn_drop(b, why, false);
}

/* Declares a fixed exchange on CH_CONSUME as Celery does; a message when it fails. */
static char *declare_exchange(struct amqp_broker *b, const char *name, const char *type,
                              bool durable)
{
    amqp_exchange_declare(b->conn, CH_CONSUME, amqp_cstring_bytes(name), amqp_cstring_bytes(type),
                          0, durable, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return NULL;
    char *what = xasprintf("declaring the exchange %s", name);
    char *s = reply_text(r, what);
    free(what);
    return s;
}

/* Declares a server-named exclusive queue bound to exchange with keys and consumes it
 * without acks under tag. A message when it fails. */
static char *consume(struct amqp_broker *b, const char *name, const char *exchange,
                     const char *const *keys, const char *tag)
{
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(b->conn, CH_CONSUME, amqp_cstring_bytes(name),
                                                     0, 0, 1, 1, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    if (!ok || r.reply_type != AMQP_RESPONSE_NORMAL) return reply_text(r, "declaring sked's queue");
    amqp_bytes_t q = amqp_bytes_malloc_dup(ok->queue);
    char *err = NULL;
    for (size_t i = 0; keys[i] && !err; i++) {
        amqp_queue_bind(b->conn, CH_CONSUME, q, amqp_cstring_bytes(exchange),
                        amqp_cstring_bytes(keys[i]), amqp_empty_table);
        r = amqp_get_rpc_reply(b->conn);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) err = reply_text(r, "binding sked's queue");
    }
    if (!err) {
        amqp_basic_consume(b->conn, CH_CONSUME, q, amqp_cstring_bytes(tag), 0, 1, 1,
                           amqp_empty_table);
        r = amqp_get_rpc_reply(b->conn);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) err = reply_text(r, "consuming sked's queue");
    }
    amqp_bytes_free(q);
    return err;
}

/* Where the broker's certificate is checked against when the URL names no ssl_ca_certs:
 * Debian's bundle of the system's certificate authorities (ca-certificates). */
#define SYSTEM_CA_CERTS "/etc/ssl/certs/ca-certificates.crt"

/* The TLS socket of an amqps:// broker, set up as its URL asks: the broker's certificate checked
 * against ssl_ca_certs (else the system's authorities) and its name against the URL's host,
 * unless ssl_cert_reqs=none; a client certificate when given; TLS 1.2 or later. NULL with *err. */
static amqp_socket_t *tls_socket(struct amqp_broker *b, char **err)
{
    amqp_socket_t *s = amqp_ssl_socket_new(b->conn);
    if (!s) {
        *err = xstrdup("cannot set up TLS (the TLS library could not be initialised)");
        return NULL;
    }
    const struct amqp_url *u = &b->url;
    amqp_ssl_socket_set_verify_peer(s, u->verify);
    amqp_ssl_socket_set_verify_hostname(s, u->verify);
    int st = amqp_ssl_socket_set_ssl_versions(s, AMQP_TLSv1_2, AMQP_TLSvLATEST);
    const char *ca = u->ca_certs ? u->ca_certs : SYSTEM_CA_CERTS;
    if (st == AMQP_STATUS_OK && u->verify && (st = amqp_ssl_socket_set_cacert(s, ca)) != 0) {
        *err = xasprintf("TLS: cannot read the certificate authorities in %s (%s)%s", ca,
                         amqp_error_string2(st),
                         u->ca_certs ? "" : "; give the broker's with the URL option ssl_ca_certs");
        return NULL;
    }
    if (st == AMQP_STATUS_OK && u->certfile &&
        (st = amqp_ssl_socket_set_key(s, u->certfile, u->keyfile)) != 0) {
        *err = xasprintf("TLS: cannot use the client certificate %s with the key %s (%s)",
                         u->certfile, u->keyfile, amqp_error_string2(st));
        return NULL;
    }
    if (st != AMQP_STATUS_OK) {
        *err = xasprintf("cannot set up TLS: %s", amqp_error_string2(st));
        return NULL;
    }
    return s;
}

/* What to check when a TLS connection failed as st says. */
static const char *tls_hint(int st)
{
    switch (st) {
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
        return " (the broker's certificate is not signed by the authorities of ssl_ca_certs, "
               "or the system's when it is not given)";
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
        return " (the broker's certificate does not name the URL's host: use the name it was "
               "issued for)";
    case AMQP_STATUS_SSL_ERROR:
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
        return " (is the port the broker's TLS one, and does it ask for a client certificate: "
               "ssl_certfile and ssl_keyfile?)";
    default:
        return "";
    }
}

/* Connects, logs in, opens the channels and sets up what sked consumes. A message when any
 * step fails (the connection is let go). */
static char *conn_open(struct amqp_broker *b)
{
    b->conn = amqp_new_connection();
    if (!b->conn) return xstrdup("out of memory");
    char *err = NULL;
    amqp_socket_t *s = b->url.tls ? tls_socket(b, &err) : amqp_tcp_socket_new(b->conn);
    if (!s) return err ? err : xstrdup("out of memory");
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    amqp_set_handshake_timeout(b->conn, &tv);
    struct timeval rpc = {RPC_TIMEOUT_S, 0};
    amqp_set_rpc_timeout(b->conn, &rpc);
    int st = amqp_socket_open_noblock(s, b->url.host, b->url.port, &tv);
    if (st != AMQP_STATUS_OK)
        return xasprintf("cannot connect to %s:%d: %s%s", b->url.host, b->url.port,
                         amqp_error_string2(st), tls_hint(st));
    amqp_rpc_reply_t r = amqp_login(b->conn, b->url.vhost, 0, 131072, HEARTBEAT_S,
                                    AMQP_SASL_METHOD_PLAIN, b->url.username, b->url.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        /* a broker that refuses the client closes the connection at the first read, after
         * the handshake: the library then says no more than "a SSL error" */
        const char *hint = "";
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && b->url.tls)
            hint = " (does the broker ask for a client certificate: ssl_certfile and "
                   "ssl_keyfile?)";
        else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
            hint = " (the broker closed the connection: if the port is its TLS one, write "
                   "amqps://)";
        char *t = reply_text(r, "login refused");
        char *m = xasprintf("%s%s", t, hint);
        free(t);
        return m;
    }
    for (amqp_channel_t ch = CH_PUBLISH; ch <= CH_DECLARE; ch++) {
        amqp_channel_open(b->conn, ch);
        if (!rpc_ok(b)) return reply_text(amqp_get_rpc_reply(b->conn), "opening a channel");
    }
    amqp_confirm_select(b->conn, CH_PUBLISH);
    if (!rpc_ok(b)) return reply_text(amqp_get_rpc_reply(b->conn), "confirm.select");
    b->seq = 0;
    /* as Celery declares them (celery/events/event.py, kombu/pidbox.py): a mismatch would
     * close the channel with PRECONDITION_FAILED */
    err = declare_exchange(b, "celeryev", "topic", true);
    if (!err) err = declare_exchange(b, "celery.pidbox", "fanout", false);
    if (!err) err = declare_exchange(b, "reply.celery.pidbox", "direct", false);
    if (err) return err;
    /* server-named: the queues of a connection the broker has not noticed is gone yet would
     * refuse a name taken again (RESOURCE_LOCKED) */
    const char *ev_keys[] = {"task.#", "worker.#", NULL};
    const char *reply_keys[] = {b->oid, NULL};
    err = consume(b, "", "celeryev", ev_keys, "ev");
    if (!err) err = consume(b, "", "reply.celery.pidbox", reply_keys, "reply");
    return err;
}

/*
 * Declares queue as Celery declares a queue of its own (kombu Queue(name, Exchange(name,
 * "direct"), routing_key=name): durable, not exclusive, not auto-deleted, no arguments, bound
 * to a durable direct exchange of its name). A queue that exists with other arguments (a
 * priority queue, a quorum queue) is refused with PRECONDITION_FAILED: it is there, and used
 * as it is (*note says so). false with *err when the queue cannot be had.
 */
static int declare_queue(struct amqp_broker *b, const char *queue, char **note, char **err)
{
    if (declared(b, queue)) return 0;
    amqp_bytes_t q = amqp_cstring_bytes(queue);
    amqp_queue_declare(b->conn, CH_DECLARE, q, 0, 1, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    int code = channel_closed_code(r);
    if (r.reply_type != AMQP_RESPONSE_NORMAL && code != 406) {
        char *what = xasprintf("declaring queue %s", queue);
        *err = reply_text(r, what);
        free(what);
        return code && channel_reopen(b, CH_DECLARE) ? 1 : -1;
    }
    if (code == 406) {
        char *what = xasprintf("queue %s exists with other settings than Celery's defaults, "
                               "used as it is",
                               queue);
        *note = reply_text(r, what);
        free(what);
        if (!channel_reopen(b, CH_DECLARE)) return -1;
    } else {
        amqp_exchange_declare(b->conn, CH_DECLARE, q, amqp_cstring_bytes("direct"), 0, 1, 0, 0,
                              amqp_empty_table);
        r = amqp_get_rpc_reply(b->conn);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            amqp_queue_bind(b->conn, CH_DECLARE, q, q, q, amqp_empty_table);
            r = amqp_get_rpc_reply(b->conn);
        }
        /* the default exchange routes to it all the same: only said */
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            char *what = xasprintf("binding queue %s to its exchange", queue);
            *note = reply_text(r, what);
            free(what);
            if (!channel_closed_code(r) || !channel_reopen(b, CH_DECLARE)) return -1;
        }
    }
    b->declared = xrealloc(b->declared, (b->ndeclared + 1) * sizeof *b->declared);
    b->declared[b->ndeclared++] = xstrdup(queue);
    return 0;
}

/* Publishes c, a task message or a broadcast, and takes it (kept until the broker answers).
 * false when the connection broke (closed, with its message noted). */
static bool do_publish(struct amqp_broker *b, struct cmd *c)
{
    bool task = c->kind == CMD_PUBLISH;
    char *note = NULL, *err = NULL;
    int dq = task ? declare_queue(b, c->queue, &note, &err) : 0;
    if (dq) {
        note_published(b, c->id, dq > 0 ? AMQP_REFUSED : AMQP_LOST, err ? err : note);
        /* answered: one sent again after a refusal (they go first, one at a time) is done */
        if (b->careful) b->careful--;
        free(err);
        free(note);
        cmd_free(c);
        return dq > 0;
    }
    if (!note && c->note) note = xstrdup(c->note);
    json_t *h = c->headers ? json_loads(c->headers, 0, NULL) : json_object();
    amqp_pool_t pool;
    init_amqp_pool(&pool, 4096);
    amqp_basic_properties_t p = {0};
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
               AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.content_encoding = amqp_cstring_bytes("utf-8");
    p.delivery_mode = task ? 2 : 1;
    p.priority = (uint8_t)(c->priority < 0 ? 0 : c->priority > 255 ? 255 : c->priority);
    char expiration[32];
    if (task) {
        p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p.correlation_id = amqp_cstring_bytes(c->id);
        if (c->expiration_ms > 0) {
            snprintf(expiration, sizeof expiration, "%lld", (long long)c->expiration_ms);
            p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
            p.expiration = amqp_cstring_bytes(expiration);
        }
    }
    bool ok = true;
    if (!h || json_to_table(h, &pool, &p.headers, 0) != 0) {
        if (task) note_published(b, c->id, AMQP_REFUSED, "the message headers are not a table");
    } else {
        amqp_bytes_t body = {c->body_len, c->body};
        int st =
            amqp_basic_publish(b->conn, CH_PUBLISH, amqp_cstring_bytes(task ? "" : "celery.pidbox"),
                               amqp_cstring_bytes(task ? c->queue : ""), task, 0, &p, body);
        if (st == AMQP_STATUS_OK) {
            pending_add(b, c, note);
            c = NULL;
        } else {
            if (task) note_published(b, c->id, AMQP_LOST, amqp_error_string2(st));
            ok = false;
            char *why = xasprintf("publishing: %s", amqp_error_string2(st));
            conn_close(b, why);
            free(why);
        }
    }
    empty_amqp_pool(&pool);
    json_decref(h);
    free(note);
    if (c) cmd_free(c);
    return ok;
}

static bool do_queue_info(struct amqp_broker *b, struct cmd *c)
{
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        b->conn, CH_DECLARE, amqp_cstring_bytes(c->queue), 1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    struct note *n = xcalloc(1, sizeof *n);
    n->kind = N_QUEUE;
    n->text = xstrdup(c->queue);
    n->messages = n->consumers = -1;
    if (ok && r.reply_type == AMQP_RESPONSE_NORMAL) {
        n->messages = ok->message_count;
        n->consumers = ok->consumer_count;
    }
    note_post(b, n);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
    if (channel_closed_code(r)) return channel_reopen(b, CH_DECLARE); /* 404: no such queue */
    return false;
}

/* false when the connection broke. */
static bool do_withdraw(struct amqp_broker *b, struct cmd *c)
{
    amqp_bytes_t q = amqp_cstring_bytes(c->queue);
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(b->conn, CH_DECLARE, q, 1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    if (!ok || r.reply_type != AMQP_RESPONSE_NORMAL) {
        note_withdrawn(b, c->id, false, "the queue is gone");
        return channel_closed_code(r) && channel_reopen(b, CH_DECLARE);
    }
    uint32_t messages = ok->message_count;
    if (ok->consumer_count > 0 || messages == 0 || messages > WITHDRAW_MAX) {
        note_withdrawn(b, c->id, false,
                       ok->consumer_count > 0 ? "a worker consumes the queue"
                       : messages == 0        ? "the queue holds no message"
                                              : "the queue holds too many messages to look");
        return true;
    }
    bool found = false;
    uint64_t last = 0; /* the last message to hand back (with all before it) */
    for (uint32_t i = 0; i < messages && !found; i++) {
        r = amqp_basic_get(b->conn, CH_DECLARE, q, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            note_withdrawn(b, c->id, false, "the broker did not answer basic.get");
            return channel_closed_code(r) && channel_reopen(b, CH_DECLARE);
        }
        if (r.reply.id != AMQP_BASIC_GET_OK_METHOD) break; /* basic.get-empty */
        uint64_t tag = ((amqp_basic_get_ok_t *)r.reply.decoded)->delivery_tag;
        amqp_message_t msg;
        r = amqp_read_message(b->conn, CH_DECLARE, &msg, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            note_withdrawn(b, c->id, false, "the broker did not send the message");
            return false;
        }
        amqp_bytes_t cid = msg.properties.correlation_id;
        found = (msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) &&
                cid.len == strlen(c->id) && memcmp(cid.bytes, c->id, cid.len) == 0;
        amqp_destroy_message(&msg);
        amqp_maybe_release_buffers_on_channel(b->conn, CH_DECLARE); /* 10,000 replies */
        if (found) {
            if (amqp_basic_ack(b->conn, CH_DECLARE, tag, 0) != AMQP_STATUS_OK) {
                note_withdrawn(b, c->id, false, "the broker connection broke");
                return false;
            }
        } else {
            last = tag;
        }
    }
    if (last && amqp_basic_nack(b->conn, CH_DECLARE, last, 1, 1) != AMQP_STATUS_OK) {
        note_withdrawn(b, c->id, false, "the broker connection broke");
        return false;
    }
    note_withdrawn(b, c->id, found, found ? NULL : "not in the queue");
    return true;
}

/* Settles the publishes up to seq (or just seq); ack says how. */
static void settle(struct amqp_broker *b, uint64_t seq, bool multiple, bool ack)
{
    struct pending **pp = &b->pending;
    while (*pp) {
        struct pending *p = *pp;
        if (p->seq == seq || (multiple && p->seq <= seq)) {
            *pp = p->next;
            if (p->cmd->id) {
                enum amqp_outcome o = !ack          ? AMQP_DECLINED
                                      : p->returned ? AMQP_UNROUTED
                                                    : AMQP_CONFIRMED;
                note_published(b, p->cmd->id, o, p->detail);
                if (o == AMQP_CONFIRMED) b->proven = true;
            }
            if (p->returned && p->cmd->queue)
                forget_declared(b, p->cmd->queue); /* declared again next time */
            if (b->careful) b->careful--;
            pending_free(p);
        } else {
            pp = &p->next;
        }
    }
    b->pending_tail = NULL;
    for (struct pending *p = b->pending; p; p = p->next)
        b->pending_tail = p;
}

/*
 * The broker closed the publishing channel: it refused a publish (access refused to the
 * default exchange, an expiration or a size it does not take, ...), a channel-level exception
 * that leaves the connection up. The channel is opened again. The publishes it had not
 * answered are the one it refused, and perhaps some before it (taken, but unconfirmed) and
 * after it (dropped unseen): when there is one, the refusal is its answer; when there are
 * several, they are all sent again, one at a time, each waiting for the broker's answer, so
 * that the one refused again is told apart (one it had taken is then in its queue twice, as
 * after a lost connection). false when the connection broke.
 */
static bool publish_refused(struct amqp_broker *b, const char *detail)
{
    struct pending *list = b->pending;
    b->pending = b->pending_tail = NULL;
    b->seq = 0; /* a channel numbers its publishes from 1 */
    if (!channel_reopen(b, CH_PUBLISH)) {
        b->pending = list; /* lost with the connection, and sent again once it is back */
        for (struct pending *p = list; p; p = p->next)
            b->pending_tail = p;
        char *why = xasprintf("opening the publishing channel again after the broker closed "
                              "it: %s",
                              detail);
        conn_close(b, why);
        free(why);
        return false;
    }
    if (list && !list->next) {
        /* a task message fails its run; a broadcast refused is said to the loop as well */
        note_published(b, list->cmd->id, AMQP_REFUSED, detail);
        if (b->careful) b->careful--;
        pending_free(list);
        return true;
    }
    struct cmd *again = NULL, **tail = &again;
    size_t n = 0;
    for (struct pending *p = list, *next; p; p = next) {
        next = p->next;
        if (p->detail && !p->returned && !p->cmd->note) p->cmd->note = xstrdup(p->detail);
        *tail = p->cmd;
        tail = &p->cmd->next;
        p->cmd = NULL;
        pending_free(p);
        n++;
    }
    *tail = b->todo; /* before what was still to do, in the order they were sent */
    if (!b->todo) b->todo_tail = NULL;
    b->todo = again;
    for (struct cmd *c = b->todo; c; c = c->next)
        b->todo_tail = c;
    b->careful = n;
    return true;
}

/* Handles one frame; false when the connection must go (closed with a message). */
static bool handle_frame(struct amqp_broker *b, amqp_frame_t *f)
{
    if (f->frame_type != AMQP_FRAME_METHOD) return true; /* stray content: ignored */
    amqp_method_t *m = &f->payload.method;
    switch (m->id) {
    case AMQP_BASIC_DELIVER_METHOD: {
        amqp_basic_deliver_t *d = m->decoded;
        bool reply = d->consumer_tag.len == 5 && memcmp(d->consumer_tag.bytes, "reply", 5) == 0;
        amqp_message_t msg;
        amqp_rpc_reply_t r = amqp_read_message(b->conn, f->channel, &msg, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            char *why = reply_text(r, "reading a message");
            conn_close(b, why);
            free(why);
            return false;
        }
        if (msg.body.len <= BODY_MAX) /* a worker's event or reply is small: more is not one */
            note_simple(b, reply ? N_REPLY : N_EVENT, msg.body.bytes, msg.body.len);
        amqp_destroy_message(&msg);
        return true;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_basic_return_t *ret = m->decoded;
        char *text = bytes_str(ret->reply_text);
        char *rk = bytes_str(ret->routing_key);
        unsigned code = ret->reply_code;
        amqp_message_t msg;
        amqp_rpc_reply_t r = amqp_read_message(b->conn, f->channel, &msg, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            free(text);
            free(rk);
            char *why = reply_text(r, "reading a returned message");
            conn_close(b, why);
            free(why);
            return false;
        }
        char *id = msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG
                       ? bytes_str(msg.properties.correlation_id)
                       : NULL;
        /* the return comes before the confirm of the same publish: the latest with the id */
        struct pending *hit = NULL;
        for (struct pending *p = b->pending; p && id; p = p->next)
            if (p->cmd->id && strcmp(p->cmd->id, id) == 0) hit = p;
        if (hit) {
            hit->returned = true;
            free(hit->detail);
            hit->detail = xasprintf("%u %s: no queue %s is bound to take it", code, text, rk);
        }
        free(id);
        free(text);
        free(rk);
        amqp_destroy_message(&msg);
        return true;
    }
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = m->decoded;
        settle(b, a->delivery_tag, a->multiple, true);
        return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *n = m->decoded;
        settle(b, n->delivery_tag, n->multiple, false);
        return true;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *c = m->decoded;
        char *t = bytes_str(c->reply_text);
        if (f->channel == CH_PUBLISH) { /* a publish refused: not the connection's end */
            char *detail = xasprintf("%u %s", (unsigned)c->reply_code, t);
            free(t);
            bool alive = publish_refused(b, detail);
            free(detail);
            return alive;
        }
        char *why = xasprintf("the broker closed channel %u: %u %s", (unsigned)f->channel,
                              (unsigned)c->reply_code, t);
        free(t);
        conn_close(b, why); /* the consumers or the confirms went with it: all anew */
        free(why);
        return false;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *c = m->decoded;
        char *t = bytes_str(c->reply_text);
        char *why =
            xasprintf("the broker closed the connection: %u %s", (unsigned)c->reply_code, t);
        free(t);
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(b->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        conn_close(b, why);
        free(why);
        return false;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        conn_close(b, "the broker cancelled sked's consumer");
        return false;
    default:
        return true;
    }
}

/* Waits up to ms for the socket or a command; false when stopping. */
static bool wait_for(struct amqp_broker *b, int sock, int ms)
{
    struct pollfd p[2] = {{b->wake_fd, POLLIN, 0}, {sock, POLLIN, 0}};
    poll(p, sock >= 0 ? 2 : 1, ms);
    if (p[0].revents & POLLIN) drain(b->wake_fd);
    pthread_mutex_lock(&b->lock);
    bool stop = b->stopping;
    pthread_mutex_unlock(&b->lock);
    return !stop;
}

static struct cmd *take_cmds(struct amqp_broker *b)
{
    pthread_mutex_lock(&b->lock);
    struct cmd *list = b->cmds;
    b->cmds = b->cmds_tail = NULL;
    pthread_mutex_unlock(&b->lock);
    return list;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits ms while not connected: what the loop asks meanwhile cannot be carried out (task
 * messages are sent again once up). false when stopping. */
static bool wait_down(struct amqp_broker *b, int ms)
{
    int64_t until = mono_ms() + ms;
    for (;;) {
        for (struct cmd *c = take_cmds(b), *n; c; c = n) {
            n = c->next;
            cmd_lost(b, c, "not connected");
            cmd_free(c);
        }
        int64_t left = until - mono_ms();
        if (left <= 0) return true;
        if (!wait_for(b, -1, (int)left)) return false;
    }
}

/* Carries out the commands taken, in order; while publishes sent again after a refusal are
 * not all answered, one at a time. */
static void run_todo(struct amqp_broker *b)
{
    while (b->conn && b->todo && !(b->careful && b->pending)) {
        struct cmd *c = todo_pop(b);
        bool alive;
        if (c->kind == CMD_QUEUE_INFO || c->kind == CMD_WITHDRAW) {
            alive = c->kind == CMD_QUEUE_INFO ? do_queue_info(b, c) : do_withdraw(b, c);
            cmd_free(c);
        } else {
            alive = do_publish(b, c); /* takes c */
        }
        if (!alive && b->conn) conn_close(b, "the broker connection broke");
    }
}

static void *thread_main(void *arg)
{
    struct amqp_broker *b = arg;
    /* the wait before a connect: none for the first, then 200 ms doubling to 5 s after each
     * failed connect and each connection that went before it proved itself */
    int backoff = 0;
    bool first = true;
    int64_t up_at = 0;
    for (;;) {
        if (!b->conn) {
            if (!first) {
                backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
                if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
                if (!wait_down(b, backoff)) break;
            }
            first = false;
            char *err = conn_open(b);
            if (err) {
                if (b->conn) {
                    amqp_destroy_connection(b->conn);
                    b->conn = NULL;
                }
                if (!b->down_said) note_simple(b, N_DOWN, err, strlen(err));
                b->down_said = true;
                free(err);
                continue;
            }
            b->down_said = false;
            b->proven = false;
            up_at = mono_ms();
            note_simple(b, N_UP, NULL, 0);
        }
        if (backoff && (b->proven || mono_ms() - up_at >= HEALTHY_MS)) backoff = 0;
        todo_take(b, take_cmds(b));
        run_todo(b);
        if (!b->conn) continue;
        if (!amqp_frames_enqueued(b->conn) && !amqp_data_in_buffer(b->conn)) {
            if (!wait_for(b, amqp_get_sockfd(b->conn), POLL_MS)) break;
        } else {
            pthread_mutex_lock(&b->lock);
            bool stop = b->stopping;
            pthread_mutex_unlock(&b->lock);
            if (stop) break;
        }
        /* what came in; the library sends its heartbeats in here */
        for (int i = 0; i < 256 && b->conn; i++) {
            amqp_maybe_release_buffers(b->conn);
            amqp_frame_t f;
            struct timeval zero = {0, 0};
            int st = amqp_simple_wait_frame_noblock(b->conn, &f, &zero);
            if (st == AMQP_STATUS_TIMEOUT) break;
            if (st != AMQP_STATUS_OK) {
                char *why = xasprintf("%s", amqp_error_string2(st));
                conn_close(b, why);
                free(why);
                break;
            }
            if (!handle_frame(b, &f)) break;
        }
    }
    conn_drop(b, NULL, true);
    for (struct cmd *c = take_cmds(b), *n; c; c = n) {
        n = c->next;
        cmd_free(c);
    }
    for (struct cmd *c; (c = todo_pop(b));)
        cmd_free(c);
    return NULL;
}

/* ---- the loop's side ---- */

static void cmd_post(struct amqp_broker *b, struct cmd *c)
{
    pthread_mutex_lock(&b->lock);
    if (b->cmds_tail)
        b->cmds_tail->next = c;
    else
        b->cmds = c;
    b->cmds_tail = c;
    pthread_mutex_unlock(&b->lock);
    wake(b->wake_fd);
}

struct amqp_broker *amqp_broker_new(struct event_base *base, const struct amqp_url *url,
                                    const char *oid, const struct amqp_broker_cbs *cbs, void *arg)
{
    struct amqp_broker *b = xcalloc(1, sizeof *b);
    amqp_url_copy(&b->url, url);
    snprintf(b->oid, sizeof b->oid, "%s", oid);
    b->cbs = *cbs;
    b->arg = arg;
    pthread_mutex_init(&b->lock, NULL);
    b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (b->wake_fd < 0 || b->notify_fd < 0) abort();
    b->ev = event_new(base, b->notify_fd, EV_READ | EV_PERSIST, on_notes, b);
    event_add(b->ev, NULL);
    if (pthread_create(&b->thread, NULL, thread_main, b) != 0) {
        event_free(b->ev);
        close(b->wake_fd);
        close(b->notify_fd);
        pthread_mutex_destroy(&b->lock);
        amqp_url_free(&b->url);
        free(b);
        return NULL;
    }
    return b;
}

static char *headers_text(const json_t *headers)
{
    return headers ? json_dumps(headers, JSON_COMPACT) : NULL;
}

void amqp_broker_publish(struct amqp_broker *b, const char *queue, const char *body,
                         size_t body_len, const json_t *headers, const char *id, int priority,
                         int64_t expiration_ms)
{
    struct cmd *c = xcalloc(1, sizeof *c);
    c->kind = CMD_PUBLISH;
    c->queue = xstrdup(queue);
    c->body = memdup0(body, body_len);
    c->body_len = body_len;
    c->headers = headers_text(headers);
    c->id = xstrdup(id);
    c->priority = priority;
    c->expiration_ms =
        expiration_ms > AMQP_EXPIRATION_MAX_MS ? AMQP_EXPIRATION_MAX_MS : expiration_ms;
    cmd_post(b, c);
}

void amqp_broker_broadcast(struct amqp_broker *b, const char *body, size_t body_len,
                           const json_t *headers)
{
    struct cmd *c = xcalloc(1, sizeof *c);
    c->kind = CMD_BROADCAST;
    c->body = memdup0(body, body_len);
    c->body_len = body_len;
    c->headers = headers_text(headers);
    cmd_post(b, c);
}

void amqp_broker_withdraw(struct amqp_broker *b, const char *queue, const char *id)
{
    struct cmd *c = xcalloc(1, sizeof *c);
    c->kind = CMD_WITHDRAW;
    c->queue = xstrdup(queue);
    c->id = xstrdup(id);
    cmd_post(b, c);
}

void amqp_broker_queue_info(struct amqp_broker *b, const char *queue)
{
    struct cmd *c = xcalloc(1, sizeof *c);
    c->kind = CMD_QUEUE_INFO;
    c->queue = xstrdup(queue);
    cmd_post(b, c);
}

void amqp_broker_free(struct amqp_broker *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    pthread_mutex_unlock(&b->lock);
    wake(b->wake_fd);
    pthread_join(b->thread, NULL);
    /* notes nobody reads any more */
    for (struct note *n = b->notes, *next; n; n = next) {
        next = n->next;
        note_free(n);
    }
    for (struct pending *p = b->pending, *next; p; p = next) {
        next = p->next;
        pending_free(p);
    }
    forget_declared(b, NULL);
    free(b->declared);
    event_free(b->ev);
    close(b->wake_fd);
    close(b->notify_fd);
    pthread_mutex_destroy(&b->lock);
    amqp_url_free(&b->url);
    free(b);
}
