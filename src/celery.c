/* celery: runs of Celery job types, sent to and followed on Redis or AMQP (RabbitMQ) brokers;
 * see celery.h. */
#include "celery.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#pragma GCC diagnostic pop

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "celery_amqp.h"
#include "celery_msg.h"
#include "events.h"
#include "offload.h"
#include "secrets.h"
#include "store/store.h"

#define TICK_MS 1000
#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define META_POLL_US (5 * 1000000LL)      /* result keys are read back this often */
#define QUEUES_POLL_US (30 * 1000000LL)   /* workers are asked what they consume */
#define HEARTBEATS_LOST 3                 /* missed heartbeats that make a worker lost */
#define SETTLE_US (3 * 1000000LL)         /* after a reconnect, before deadlines count again */
#define OUTPUT_CAP (1024 * 1024)
#define QUERY_EVERY_US (5 * 1000000LL)   /* a task nobody claims is asked about this often */
#define QUERY_GRACE_US (10 * 1000000LL)  /* ... and given up this long after accept_timeout */
#define LINE_CAP 4000                   /* bytes of a run log line, whole characters */
/* bytes of a run's message (an exception and its traceback), whole characters: as much as a
 * local run's message may hold (a status line's, tasks.md) */
#define MESSAGE_CAP (64 * 1024)
#define MESSAGE_CUT "\n(cut at 64 KiB: the run's log holds the traceback line by line)"
/* past the hard time limit, how long the worker gets to report the task it killed before sked
 * kills it itself (billiard checks its limits once a second) */
#define LIMIT_SLACK_US (3 * 1000000LL)
/* AMQP: past a stopped message's expiry, how long workers coming online still hear its revoke
 * (a worker's clock may lag sked's) */
#define TOMB_SLACK_US (60 * 1000000LL)
/* A run that ended while its task may go on (a stop no worker confirmed, a worker lost) is
 * watched this long for the task's result, and its revoke repeated: as long as Celery keeps a
 * result by default (result_expires) */
#define AFTER_US (24 * 3600 * 1000000LL)
/* and at most so many at once: past it the oldest goes (a day of stops no worker confirmed) */
#define AFTERS_MAX 1000

/* ---- connections ---- */

struct endpoint;

struct rconn {
    struct endpoint *ep;
    bool sub;                /* the subscriber connection */
    redisAsyncContext *ac;   /* NULL while down */
    bool up;                 /* ready: authenticated, db selected or subscribed */
    int64_t up_since;        /* µs, when it last became ready */
    int backoff_ms;
    struct event *retry_ev;  /* reconnect, or give up a connect that hangs */
    bool warned;             /* the outage was logged */
    bool refused;            /* the server refused sked (AUTH, SELECT) since it was last up:
                              * celery.refused was logged, whatever outage came before */
    struct lookup *lookup;   /* its host name being resolved, or NULL */
};

/* A broker's or result backend's host name, resolved on a thread of its own: hiredis resolves
 * names with a blocking getaddrinfo, which would hold the loop for as long as DNS takes. */
struct lookup {
    struct rconn *rc; /* NULL once the connection is closed */
    char *host;
    char addr[INET6_ADDRSTRLEN];
    int err;          /* getaddrinfo's, or 0 */
};

enum ep_kind { EP_BROKER, EP_BACKEND };

struct worker {
    char *hostname;
    int64_t seen;  /* µs, sked's clock, of the last event from it */
    double freq;   /* its heartbeat period, s */
    int active;
    bool online;
    json_t *queues; /* names it consumes (active_queues reply), or NULL before it answered */
    int beats;      /* heartbeats since it came online */
    bool task_events; /* it sent a task event: its task events are on */
    bool offline;     /* its last event was worker-offline */
    bool heart;       /* a heartbeat of it was heard (or its worker-online, worker-offline): its
                       * heartbeats tell whether it lives */
    bool heartless;   /* it answered sked after a silence longer than three heartbeats, none
                       * ever heard: it runs without them (--without-heartbeat), and nothing
                       * tells whether it dies */
};

struct endpoint {
    struct celery *c;
    enum ep_kind kind;
    char *display;  /* redis://host:port/db, without a password */
    struct redis_url url;
    struct rconn cmd, sub;
    struct map workers; /* broker: hostname -> struct worker */
    struct map qlen;    /* broker: queue -> struct qslot */
    int64_t clock;      /* broker: the pidbox messages' clock */
    int64_t asked_queues;
    bool bound;         /* broker: our reply queue's binding is in place */
    bool used;          /* a loaded job type or a run in flight needs it (see prune) */
    /* An AMQP broker: its connection lives on a thread (celery_amqp.c), and cmd and sub only
     * mirror its state (up, up_since, warned) for what follows connections here. */
    bool amqp;
    char oid[UUID_STR_LEN]; /* the pidbox replies' routing key: sked's own on Redis, the
                             * connection's on AMQP (each binds a queue of its own to it) */
    struct amqp_url aurl;
    struct amqp_broker *ab;
    /* AMQP: runs stopped while their message waited in a queue, which AMQP cannot take back:
     * run id -> int64_t µs until which a worker coming online is told to revoke it (the
     * message's own expiry) */
    struct map tombs;
    char *down_why;    /* why its (command) connection failed last, until it is up */
    bool said_refused; /* AMQP: a broadcast the broker refused is logged once a connection */
};

/* A Celery queue of a broker. Kept until the broker's endpoint is closed (an LLEN on its way
 * writes to it), listed and read only while in use. */
struct qslot {
    int64_t len; /* LLEN, -1 unknown */
    bool used;   /* the queue of a loaded job type or of a run in flight */
};

/* ---- runs in flight ---- */

enum fstate {
    F_WAITING, /* a retry before its not_before */
    F_UNSENT,  /* stored, not on the broker yet */
    F_SENT,    /* in the broker's queue */
    F_TAKEN,   /* a worker received it */
    F_STARTED, /* a worker executes it */
};

struct flight {
    struct celery *c;
    struct run run;           /* as followed: status, times, progress */
    struct endpoint *broker, *backend;
    char *task;               /* the Celery task name */
    int64_t accept_ms, grace_ms;
    char *envelope;           /* the message exactly as pushed (LREM/LPOS need the bytes) */
    json_t *mask;             /* what the run's log and outcome show as *** (secrets.h), or NULL */
    enum fstate state;
    int64_t sent_at;
    int64_t next_seq;         /* the run log's next line */
    int64_t done_at;          /* the result's date_done, 0 when it gave none */
    bool stopping, timed_out;
    bool start_guessed;       /* started_at is the send: no start was heard of */
    int64_t timed_from;       /* what the run's timeout counts from: the start the worker
                               * reported, or when sked learnt of a guessed one */
    int revokes;              /* revoke broadcasts so far (SIGTERM, then SIGKILL) */
    const char *revoke_signal; /* the last one's signal */
    int64_t stop_at;          /* when the stop was asked: a stop lasts a bounded time */
    int64_t stop_deadline;    /* the next step of the stop, stop_grace after the revoke */
    bool stop_unsent;         /* the stop (its revoke, or the withdrawal of its message) waits
                               * for the broker to be reached */
    char *lost_why;           /* "worker H lost: no heartbeat for 6s": the run fails so unless a
                               * worker has the task or a result comes */
    bool watch_after;         /* when it ends, it stays an epilogue (below) */
    /* An epilogue: a run that ended while its task may go on (a stop no worker confirmed, a
     * worker taken for lost). Kept in c->afters, not c->flights: its result key is read, and
     * a result that comes is told in the run's log; a stopped one's revoke goes again to
     * workers that come (back) online, and its message (Redis, when the broker could not be
     * reached to take it back) leaves its queue once the broker is back. */
    bool after;
    int64_t after_until;
    bool after_revokes;       /* its revoke is repeated */
    const char *after_signal; /* with the task terminated by this signal, or NULL: not run */
    bool check_pending;       /* an LREM or LPOS is on its way */
    bool resumed;             /* taken over from an earlier process */
    bool said_sent;           /* AMQP: "sent to celery queue" is in the run log */
    int said_waiting;         /* the run log says it waits for the broker: 1, because it
                               * cannot be reached; 2, because it refuses sked */
    bool said_heartless;     /* the run log says its worker sends no heartbeats */
    int64_t unclaimed_since;  /* left the queue, no worker named: asked with query_task */
    int64_t last_query;
    char *held_meta;          /* an outcome that came before the start was heard of */
    char *bad_meta;           /* why its result key could not be read (logged once), or NULL */
    json_t *ev_end;           /* task-succeeded/failed/revoked event, until the result key is read */
    struct event *hold_ev;    /* how long it waits for the start */
    struct event *wait_ev;    /* F_WAITING: not_before */
};

struct celery {
    struct event_base *base;
    struct dispatch *d;
    struct store *store;
    struct events *events;
    const struct config *cfg;
    struct map endpoints; /* "b:" or "r:" + URL -> struct endpoint */
    struct map flights;   /* run id -> struct flight */
    struct map afters;    /* run id -> struct flight: the epilogues of ended runs */
    struct event *tick_ev;
    struct offload *resolver; /* host names are resolved here (started when first needed) */
    char oid[UUID_STR_LEN]; /* our pidbox reply queue */
    int64_t last_meta_poll;
    bool closing;
};

static void rconn_connect(struct rconn *rc);
static void ep_up(struct rconn *rc);
static void flight_send(struct flight *f);
static void finish(struct flight *f, enum run_status st, char *message, json_t *output);
static void broadcast(struct endpoint *ep, const char *method, json_t *arguments, bool reply);
static char *amqp_display(const struct amqp_url *u);
static void amqp_on_up(void *arg);
static void amqp_on_down(void *arg, const char *why);
static void amqp_on_event(void *arg, const char *body, size_t len);
static void amqp_on_reply(void *arg, const char *body, size_t len);
static void amqp_on_published(void *arg, const char *id, enum amqp_outcome outcome,
                              const char *detail);
static void amqp_on_queue_info(void *arg, const char *queue, int64_t messages, int64_t consumers);
static void amqp_on_withdrawn(void *arg, const char *id, bool taken, const char *why);
static void revoke_tombs(struct endpoint *ep, int64_t now);
static void revoke_again(struct endpoint *ep, const struct worker *back);
static void say_all_waiting(struct endpoint *ep);
static void prune_tombs(struct endpoint *ep, int64_t now);

/* The endpoint's kind as the name of a log field (one word: the JSON log ends a name at a
 * space, and the line would lose its fields). */
static const char *ep_what(const struct endpoint *ep)
{
    return ep->kind == EP_BROKER ? "broker" : "result_backend";
}

static void rconn_retry_later(struct rconn *rc)
{
    if (rc->ep->c->closing) return;
    rc->backoff_ms = rc->backoff_ms ? rc->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (rc->backoff_ms > BACKOFF_MAX_MS) rc->backoff_ms = BACKOFF_MAX_MS;
    struct timeval tv = {rc->backoff_ms / 1000, (rc->backoff_ms % 1000) * 1000};
    evtimer_add(rc->retry_ev, &tv);
}

static void endpoint_down_why(struct endpoint *ep, const char *why)
{
    free(ep->down_why);
    ep->down_why = why ? xstrdup(why) : NULL;
}

static void rconn_down(struct rconn *rc, const char *why)
{
    bool was_up = rc->up;
    rc->ac = NULL;
    rc->up = false;
    if (!rc->sub && rc->ep->kind == EP_BROKER) {
        endpoint_down_why(rc->ep, why);
        say_all_waiting(rc->ep);
    }
    if (!rc->warned || was_up)
        log_warn("celery.disconnected", "%s=%s conn=%s reason=%s", ep_what(rc->ep),
                 rc->ep->display, rc->sub ? "sub" : "cmd", log_q(why));
    rc->warned = true;
    rconn_retry_later(rc);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (status != REDIS_OK) rconn_down(rc, ac->errstr); /* hiredis frees the context */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    (void)status;
    if (rc->ac == ac) rconn_down(rc, ac->err ? ac->errstr : "closed");
}

static void conn_ready(struct rconn *rc)
{
    rc->up = true;
    rc->up_since = time_now_us();
    rc->backoff_ms = 0;
    evtimer_del(rc->retry_ev); /* the connect timeout */
    if (rc->warned)
        log_info("celery.connected", "%s=%s conn=%s", ep_what(rc->ep), rc->ep->display,
                 rc->sub ? "sub" : "cmd");
    rc->warned = false;
    rc->refused = false; /* a refusal after this one is logged again */
    ep_up(rc);
}

/* Replies to the setup commands: AUTH, then SELECT (command connection) or PSUBSCRIBE. */
static void on_setup(redisAsyncContext *ac, void *reply, void *arg)
{
    struct rconn *rc = arg;
    redisReply *r = reply;
    if (!r || rc->ac != ac) return;
    if (r->type == REDIS_REPLY_ERROR) {
        /* a failed connect, whatever the replies after it say (a server that needs no
         * password refuses AUTH, then takes SELECT and PSUBSCRIBE): the connection is let go
         * here, so that they find it gone, and the next try waits a longer backoff */
        /* once a refusal, also when the connection had failed before for another reason
         * (the server was down, then came up wanting a password sked lacks) */
        if (!rc->refused)
            log_error("celery.refused", "%s=%s reason=%s", ep_what(rc->ep), rc->ep->display,
                      log_q(r->str));
        rc->refused = true;
        rconn_down(rc, r->str);
        redisAsyncDisconnect(ac);
    }
}

static void on_selected(redisAsyncContext *ac, void *reply, void *arg)
{
    struct rconn *rc = arg;
    redisReply *r = reply;
    if (!r || rc->ac != ac) return;
    if (r->type == REDIS_REPLY_ERROR) {
        on_setup(ac, reply, arg);
        return;
    }
    conn_ready(rc);
}

static void on_pmessage(redisAsyncContext *ac, void *reply, void *arg);

/* Connects to the endpoint at addr, a numeric address. */
static void rconn_connect_to(struct rconn *rc, const char *addr)
{
    struct endpoint *ep = rc->ep;
    redisAsyncContext *ac = redisAsyncConnect(addr, ep->url.port);
    if (!ac || ac->err) {
        rconn_down(rc, ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    redisLibeventAttach(ac, ep->c->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (ep->url.password) {
        if (ep->url.username)
            redisAsyncCommand(ac, on_setup, rc, "AUTH %s %s", ep->url.username, ep->url.password);
        else
            redisAsyncCommand(ac, on_setup, rc, "AUTH %s", ep->url.password);
    }
    if (rc->sub) {
        char pattern[64];
        if (ep->kind == EP_BROKER)
            snprintf(pattern, sizeof pattern, "/%d.celeryev/*", ep->url.db);
        else
            snprintf(pattern, sizeof pattern, "celery-task-meta-*");
        redisAsyncCommand(ac, on_pmessage, rc, "PSUBSCRIBE %s", pattern);
    } else {
        redisAsyncCommand(ac, on_selected, rc, "SELECT %d", ep->url.db);
    }
    /* a connect that hangs is given up (hiredis has no timeout of its own here) */
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, 0};
    evtimer_add(rc->retry_ev, &tv);
}

static void lookup_work(void *arg)
{
    struct lookup *l = arg;
    /* IPv4 first, then IPv6, as hiredis itself resolves */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    l->err = getaddrinfo(l->host, NULL, &hints, &res);
    if (l->err) {
        hints.ai_family = AF_INET6;
        if (getaddrinfo(l->host, NULL, &hints, &res) == 0) l->err = 0;
    }
    if (l->err == 0) {
        const void *a = res->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
        inet_ntop(res->ai_family, a, l->addr, sizeof l->addr);
        freeaddrinfo(res);
    }
}

static void lookup_done(void *arg)
{
    struct lookup *l = arg;
    struct rconn *rc = l->rc;
    if (rc) {
        rc->lookup = NULL;
        if (l->err) {
            char *why = xasprintf("cannot resolve %s: %s", l->host, gai_strerror(l->err));
            rconn_down(rc, why);
            free(why);
        } else {
            rconn_connect_to(rc, l->addr);
        }
    }
    free(l->host);
    free(l);
}

static bool numeric_host(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void rconn_connect(struct rconn *rc)
{
    struct endpoint *ep = rc->ep;
    if (numeric_host(ep->url.host)) {
        rconn_connect_to(rc, ep->url.host);
        return;
    }
    if (rc->lookup) return; /* on its way */
    struct celery *c = ep->c;
    if (!c->resolver) c->resolver = offload_new(c->base, 1);
    struct lookup *l = xcalloc(1, sizeof *l);
    l->rc = rc;
    l->host = xstrdup(ep->url.host);
    rc->lookup = l;
    offload_submit(c->resolver, lookup_work, lookup_done, l);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct rconn *rc = arg;
    if (rc->ac && !rc->up) { /* the connect timed out */
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        redisAsyncFree(ac);
        rconn_down(rc, "no answer within 5 s");
        return;
    }
    if (!rc->ac) rconn_connect(rc);
}

static void rconn_init(struct rconn *rc, struct endpoint *ep, bool sub)
{
    rc->ep = ep;
    rc->sub = sub;
    rc->retry_ev = evtimer_new(ep->c->base, on_retry, rc);
}

static void rconn_close(struct rconn *rc)
{
    if (rc->lookup) rc->lookup->rc = NULL; /* its answer finds the connection gone */
    evtimer_del(rc->retry_ev);
    if (rc->ac) {
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        rc->up = false;
        redisAsyncFree(ac); /* pending callbacks see a NULL reply */
    }
    event_free(rc->retry_ev);
}

/* Sends a command on the endpoint's command connection; false when it is down (the caller
 * tries again once it is up). */
static bool cmd_argv(struct endpoint *ep, redisCallbackFn *fn, void *arg, int argc,
                     const char **argv, const size_t *lens)
{
    if (!ep->cmd.up || !ep->cmd.ac) return false; /* down, or an AMQP broker */
    return redisAsyncCommandArgv(ep->cmd.ac, fn, arg, argc, argv, lens) == REDIS_OK;
}

/* Fills the parts every endpoint has and files it under key (freed). */
static void endpoint_register(struct celery *c, struct endpoint *ep, enum ep_kind kind, char *key)
{
    ep->c = c;
    ep->kind = kind;
    map_init(&ep->workers);
    map_init(&ep->qlen);
    map_init(&ep->tombs);
    rconn_init(&ep->cmd, ep, false);
    rconn_init(&ep->sub, ep, true);
    map_put(&c->endpoints, key, ep);
    free(key);
}

/* s into b with its length first, so no text inside one part can pass for a boundary */
static void key_part(struct buf *b, const char *s, bool fold)
{
    s = s ? s : "";
    buf_printf(b, "%zu:", strlen(s));
    for (; *s; s++) buf_putc(b, fold ? (char)tolower((unsigned char)*s) : *s);
}

/* What an endpoint is filed under: the parts of its URL as read, so that spellings of one
 * broker (amqp:// and pyamqp://, redis://h and redis://h:6379/0, a host in capitals) share one
 * endpoint, one set of connections, and hear each event once */
static char *endpoint_key(enum ep_kind kind, bool amqp, const struct amqp_url *a,
                          const struct redis_url *r)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "%c%c", kind == EP_BROKER ? 'b' : 'r', amqp ? 'a' : 'r');
    if (amqp) {
        key_part(&b, a->host, true);
        buf_printf(&b, "%d%c%c", a->port, a->tls ? 't' : '-', a->verify ? 'v' : '-');
        const char *parts[] = {a->vhost, a->username, a->password, a->ca_certs, a->certfile,
                               a->keyfile};
        for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) key_part(&b, parts[i], false);
    } else {
        key_part(&b, r->host, true);
        buf_printf(&b, "%d/%d", r->port, r->db);
        key_part(&b, r->username, false);
        key_part(&b, r->password, false);
    }
    return buf_steal(&b);
}

/* The user name of an endpoint's URL and "@", as a URL writes them (percent-encoded but for
 * letters, digits and -._~!$&'()*+,;=), when there is one: what is shown of a broker or backend
 * keeps it, so that two that differ only by user are told apart, and never the password. */
static void display_user(struct buf *b, const char *user)
{
    if (!user || !*user) return;
    for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
        if (isalnum(*p) || strchr("-._~!$&'()*+,;=", *p))
            buf_putc(b, (char)*p);
        else
            buf_printf(b, "%%%02X", *p);
    }
    buf_putc(b, '@');
}

static bool display_taken(struct celery *c, const struct endpoint *self, const char *display)
{
    size_t it;
    for (struct map_entry *e = map_first(&c->endpoints, &it); e; e = map_next(&c->endpoints, &it, e)) {
        const struct endpoint *o = e->value;
        if (o != self && o->kind == self->kind && o->display && strcmp(o->display, display) == 0) return true;
    }
    return false;
}

/* An endpoint's display is taken as it is built. Two endpoints of a kind whose URLs differ only in what
 * is never shown (the password; an AMQP broker's TLS files) would read alike in the logs and in
 * /api/queues, where one of them (usually the one with a wrong password) stays unreachable: the
 * second and later are numbered as a URL's fragment, "#credentials-2" (one word, as a log field's
 * value must be), so that each line names one of them. */
static void display_set(struct celery *c, struct endpoint *ep, char *display)
{
    char *d = display;
    for (int n = 2; display_taken(c, ep, d); n++) {
        if (d != display) free(d);
        d = xasprintf("%s#credentials-%d", display, n);
    }
    if (d != display) free(display);
    ep->display = d;
}

static struct endpoint *endpoint_get(struct celery *c, enum ep_kind kind, const char *url)
{
    struct amqp_url a = {0};
    struct redis_url r = {0};
    struct sk_err e = {0};
    bool amqp = kind == EP_BROKER && celery_url_is_amqp(url);
    if (amqp ? amqp_url_parse(url, &a, &e) != 0
             : redis_url_parse(url, &r, &e) != 0) { /* task files are checked */
        log_error("celery.bad_url", "reason=%s", log_q(e.msg)); /* the URL may hold a password */
        return NULL;
    }
    char *key = endpoint_key(kind, amqp, &a, &r);
    struct endpoint *ep = map_get(&c->endpoints, key);
    if (ep) {
        free(key);
        amqp_url_free(&a);
        redis_url_free(&r);
        return ep;
    }
    ep = xcalloc(1, sizeof *ep);
    ep->aurl = a;
    ep->url = r;
    endpoint_register(c, ep, kind, key);
    if (amqp) {
        ep->amqp = true;
        display_set(c, ep, amqp_display(&ep->aurl));
        uuid_v4(ep->oid);
        static const struct amqp_broker_cbs cbs = {
            amqp_on_up,        amqp_on_down,       amqp_on_event,    amqp_on_reply,
            amqp_on_published, amqp_on_queue_info, amqp_on_withdrawn};
        ep->ab = amqp_broker_new(c->base, &ep->aurl, ep->oid, &cbs, ep);
        if (!ep->ab) log_error("celery.thread", "broker=%s reason=\"cannot start its thread\"",
                               ep->display);
        return ep;
    }
    struct buf d = BUF_INIT;
    buf_printf(&d, "redis://");
    display_user(&d, ep->url.username);
    buf_printf(&d, "%s:%d/%d", ep->url.host, ep->url.port, ep->url.db);
    display_set(c, ep, buf_steal(&d));
    snprintf(ep->oid, sizeof ep->oid, "%s", c->oid);
    rconn_connect(&ep->cmd);
    rconn_connect(&ep->sub);
    return ep;
}

static void worker_free(struct worker *w)
{
    free(w->hostname);
    json_decref(w->queues);
    free(w);
}

static void endpoint_free(struct endpoint *ep)
{
    amqp_broker_free(ep->ab); /* its thread ends first: no callback comes afterwards */
    amqp_url_free(&ep->aurl);
    free(ep->down_why);
    size_t ti;
    for (struct map_entry *e = map_first(&ep->tombs, &ti); e; e = map_next(&ep->tombs, &ti, e))
        free(e->value);
    map_release(&ep->tombs);
    rconn_close(&ep->cmd);
    rconn_close(&ep->sub);
    size_t it;
    for (struct map_entry *e = map_first(&ep->workers, &it); e; e = map_next(&ep->workers, &it, e))
        worker_free(e->value);
    map_release(&ep->workers);
    for (struct map_entry *e = map_first(&ep->qlen, &it); e; e = map_next(&ep->qlen, &it, e))
        free(e->value); /* after the connections: a pending LLEN was answered with NULL */
    map_release(&ep->qlen);
    redis_url_free(&ep->url);
    free(ep->display);
    free(ep);
}

/* ---- the run log and the store ---- */

static void flight_log(struct flight *f, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void flight_log(struct flight *f, int level, const char *fmt, ...)
{
    struct celery *c = f->c;
    va_list ap;
    va_start(ap, fmt);
    struct buf b = BUF_INIT;
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *text = buf_steal(&b);
    if (f->mask) text = secrets_mask(text, f->mask); /* a traceback may quote an argument */
    text[celery_cut_len(text, LINE_CAP)] = '\0'; /* after the mask: no half value */
    struct log_line line = {f->next_seq++, time_now_us(), level, STREAM_SKED, text};
    store_log_append(c->store, f->run.rid, &line, 1);
    struct sk_event ev = {.kind = SKEV_LOG, .run = &f->run, .lines = &line, .nlines = 1};
    events_publish(c->events, &ev);
    free(text);
}

/* Traceback text as ERROR lines, one per line. */
static void log_text(struct flight *f, int level, const char *text)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (n) flight_log(f, level, "%.*s", (int)n, text); /* capped there, once masked */
        text += n + (nl ? 1 : 0);
    }
}

/* Whether the run's arguments are custom ones (dispatch_submit marks them in remote). */
static bool run_custom_args(const struct run *r)
{
    return r->remote && json_is_true(json_object_get(r->remote, "custom_args"));
}

static json_t *remote_json(const struct flight *f, const char *worker)
{
    json_t *o = json_pack("{s:s,s:s,s:I}", "envelope", f->envelope ? f->envelope : "", "queue",
                          f->run.queue, "sent_at", (json_int_t)f->sent_at);
    if (worker) json_object_set_new(o, "worker", json_string(worker));
    /* kept: a retry of the run sends its arguments the same way */
    if (run_custom_args(&f->run)) json_object_set_new(o, "custom_args", json_true());
    return o;
}

static const char *flight_worker(const struct flight *f)
{
    return f->run.remote ? json_str(f->run.remote, "worker") : NULL;
}

static void set_remote(struct flight *f, const char *worker)
{
    json_t *o = remote_json(f, worker);
    json_decref(f->run.remote);
    f->run.remote = o;
}

static void publish_status(struct flight *f)
{
    struct sk_event ev = {.kind = SKEV_STATUS, .run = &f->run};
    events_publish(f->c->events, &ev);
}

static void flight_free(struct flight *f)
{
    map_del(f->after ? &f->c->afters : &f->c->flights, f->run.id);
    if (f->wait_ev) event_free(f->wait_ev);
    if (f->hold_ev) event_free(f->hold_ev);
    free(f->held_meta);
    free(f->bad_meta);
    free(f->lost_why);
    json_decref(f->ev_end);
    json_decref(f->mask);
    run_release(&f->run);
    free(f->task);
    free(f->envelope);
    free(f);
}

/* f, whose run just ended, stays as an epilogue (see struct flight): what only a run in
 * flight needs is let go. */
static void keep_after(struct flight *f)
{
    struct celery *c = f->c;
    map_del(&c->flights, f->run.id);
    f->after = true;
    f->after_until = time_now_us() + AFTER_US;
    if (f->wait_ev) event_free(f->wait_ev);
    if (f->hold_ev) event_free(f->hold_ev);
    f->wait_ev = f->hold_ev = NULL;
    free(f->held_meta);
    f->held_meta = NULL;
    json_decref(f->ev_end);
    f->ev_end = NULL;
    /* the message is kept only to take it out of its queue (Redis) once the broker is back */
    if (f->state != F_SENT || !f->stop_unsent || f->broker->amqp) {
        free(f->envelope);
        f->envelope = NULL;
    }
    /* its log lines need the run's ids only: the rest, up to hundreds of KiB, is stored */
    json_decref(f->run.args);
    json_decref(f->run.output);
    json_decref(f->run.remote);
    free(f->run.message);
    f->run.args = f->run.output = f->run.remote = NULL;
    f->run.message = NULL;
    if (c->afters.count >= AFTERS_MAX) {
        struct flight *oldest = NULL;
        size_t it;
        for (struct map_entry *e = map_first(&c->afters, &it); e; e = map_next(&c->afters, &it, e)) {
            struct flight *o = e->value;
            if (!oldest || o->after_until < oldest->after_until) oldest = o;
        }
        flight_free(oldest);
    }
    map_put(&c->afters, f->run.id, f);
}

/* Ends the run: stored with a guarded update (a run that moved on without us is left alone),
 * published, and handed to the dispatcher for what follows an end (retries). */
static void finish(struct flight *f, enum run_status st, char *message, json_t *output)
{
    struct celery *c = f->c;
    struct run *r = &f->run;
    int64_t now = time_now_us();
    free(r->message);
    r->message = message;
    if (output) {
        json_decref(r->output);
        r->output = output;
    }
    if (f->mask) {
        if (r->message) r->message = secrets_mask(r->message, f->mask);
        if (r->output) {
            json_t *m = secrets_masked(r->output, f->mask); /* the result's own may be shared */
            json_decref(r->output);
            r->output = m;
        }
    }
    /* after the mask (no half value); every run list and status update carries it */
    if (r->message && strlen(r->message) > MESSAGE_CAP) {
        size_t keep = celery_cut_len(r->message, MESSAGE_CAP - strlen(MESSAGE_CUT));
        char *cut = xasprintf("%.*s%s", (int)keep, r->message, MESSAGE_CUT);
        free(r->message);
        r->message = cut;
    }
    /* the message as sent holds the values: kept while the run was out, not after */
    if (r->remote && secrets_referred(r->args)) json_object_del(r->remote, "envelope");
    /* when the result says the task ended (read after a restart, it may be long before now),
     * kept between the run's start and now whatever the worker's clock says */
    int64_t floor = r->started_at > 0 ? r->started_at : r->created;
    r->finished_at = f->done_at > 0 && f->done_at < now ? f->done_at : now;
    if (r->finished_at < floor) r->finished_at = floor;
    struct run_guard g = {r->id, RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL,
                          0};
    int rc = store_run_update(c->store, &g, st,
                              RF_FINISHED_AT | RF_MESSAGE | RF_OUTPUT | RF_PROGRESS | RF_ENTRIES |
                                  RF_STARTED_AT | RF_REMOTE,
                              r, now);
    if (rc == -ESTALE)
        log_warn("run.stale", "run=%s status=%s reason=\"the run moved on without us\"", r->id,
                 run_status_name(st));
    r->status = st;
    r->updated = now;
    log_info("run.finished", "run=%s job=%s status=%s executor=celery", r->id, r->job_id,
             run_status_name(st));
    publish_status(f);
    if (rc == 0) dispatch_remote_ended(c->d, r);
    if (rc == 0 && f->watch_after && f->broker && f->backend)
        keep_after(f);
    else
        flight_free(f);
}

/* "2s", "1m30s": for messages. */
static const char *dur(int64_t ms, char out[32])
{
    duration_format(ms, out);
    return out;
}

static char *stopped_message(const struct flight *f, const char *tail)
{
    const char *by = f->run.stopped_by.name;
    return xasprintf("stopped%s%s%s", by ? " by " : "", by ? by : "", tail ? tail : "");
}

/* ---- what the workers and the backend report ---- */

static void release_held(struct flight *f);

/* The task started (at: the worker's instant, NO_TIME when unknown): RUNNING. The worker's
 * clock is trusted within what sked saw: not before the message was sent, not in the future. */
static void mark_running(struct flight *f, const char *worker, int64_t at)
{
    struct run *r = &f->run;
    int64_t now = time_now_us();
    if (f->state == F_STARTED) {
        /* a start only guessed (the send: the result backend said it runs) made exact by the
         * worker's own word */
        if (f->start_guessed && at != NO_TIME && at <= now && at > r->started_at) {
            f->start_guessed = false;
            r->started_at = f->timed_from = at;
            struct run_guard g = {r->id, RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL, 0};
            store_run_update(f->c->store, &g, -1, RF_STARTED_AT, r, now);
        }
        return;
    }
    f->state = F_STARTED;
    set_remote(f, worker ? worker : flight_worker(f));
    if (at == NO_TIME || at > now) at = now;
    if (at < f->sent_at) at = f->sent_at;
    if (r->started_at == NO_TIME) r->started_at = at;
    /* a guessed start (the send) may lie long before the real one: the timeout counts from
     * when sked learnt of it, never firing early */
    f->timed_from = f->start_guessed ? now : r->started_at;
    int to = r->status == RUN_QUEUED ? RUN_RUNNING : -1; /* CANCELLING stays */
    struct run_guard g = {r->id, RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL,
                          0};
    if (store_run_update(f->c->store, &g, to, RF_STARTED_AT | RF_REMOTE, r, now) == 0 && to >= 0) {
        r->status = RUN_RUNNING;
        r->updated = now;
        publish_status(f);
    }
    release_held(f);
}

static void set_progress(struct flight *f, const json_t *meta_result)
{
    struct run *r = &f->run;
    json_t *p = json_object_get(meta_result, "progress");
    json_t *en = json_object_get(meta_result, "entries");
    unsigned mask = 0;
    if (json_is_object(p) && json_is_integer(json_object_get(p, "done")) &&
        json_is_integer(json_object_get(p, "total"))) {
        json_int_t done = json_integer_value(json_object_get(p, "done"));
        json_int_t total = json_integer_value(json_object_get(p, "total"));
        if (done >= 0 && total >= 0 && done <= total) {
            json_decref(r->progress);
            r->progress = json_pack("{s:I,s:I}", "done", done, "total", total);
            mask |= RF_PROGRESS;
        }
    }
    if (json_is_object(en)) {
        static const char *names[] = {"total", "inserted", "updated", "errored"};
        int64_t *dst[] = {&r->total_entries, &r->inserted_entries, &r->updated_entries,
                          &r->errored_entries};
        for (int i = 0; i < 4; i++) {
            json_t *v = json_object_get(en, names[i]);
            if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *dst[i] = json_integer_value(v);
                mask |= RF_ENTRIES;
            }
        }
    }
    if (!mask) return;
    int64_t now = time_now_us();
    struct run_guard g = {r->id, RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL, 0};
    store_run_update(f->c->store, &g, -1, mask, r, now);
    struct sk_event ev = {.kind = SKEV_PROGRESS, .run = r};
    events_publish(f->c->events, &ev);
}

static char *failure_message(const char *exc_type, const char *exc_message, const char *tb)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s", exc_type ? exc_type : "failed");
    if (exc_message && *exc_message) buf_printf(&b, ": %s", exc_message);
    if (tb && *tb) buf_printf(&b, "\n%s", tb);
    while (b.len && b.data[b.len - 1] == '\n') b.data[--b.len] = '\0';
    return buf_steal(&b);
}

static json_t *capped_output(json_t *result)
{
    if (json_depth(result, RUN_OUTPUT_MAX_DEPTH) > RUN_OUTPUT_MAX_DEPTH) /* see model.h */
        return json_pack("{s:b,s:i}", "truncated", 1, "nested_deeper_than", RUN_OUTPUT_MAX_DEPTH);
    char *text = json_dump(result);
    size_t n = strlen(text);
    free(text);
    if (n <= OUTPUT_CAP) return json_incref(result);
    return json_pack("{s:b,s:I}", "truncated", 1, "bytes", (json_int_t)n);
}

static char *timeout_message(const struct flight *f, const char *detail)
{
    char d[32];
    return xasprintf("timed out after %s%s%s", dur(f->run.timeout_ms, d), detail ? "\n" : "",
                     detail ? detail : "");
}

/* The run timed out: said once in its log, and whatever it ends with, it ends FAILED. */
static void note_timeout(struct flight *f)
{
    if (f->timed_out) return;
    f->timed_out = true;
    char d[32], g[32];
    flight_log(f, LL_ERROR,
               "timed out after %s: the worker's soft time limit stops the task, its hard limit "
               "kills it %s later",
               dur(f->run.timeout_ms, d), dur(f->grace_ms, g));
}

/* Whether the run's timeout has passed, by sked's clock from the start the worker reported (the
 * tick marks it within a second; an outcome may come first). A start only guessed (the send)
 * is no ground: the task may have waited in the queue. */
static bool past_timeout(const struct flight *f)
{
    const struct run *r = &f->run;
    if (f->timed_out) return true;
    return r->timeout_ms > 0 && r->started_at != NO_TIME && !f->start_guessed &&
           time_now_us() - r->started_at > r->timeout_ms * 1000;
}

/* The result backend says the task runs, and no worker said when it started (events missed
 * while sked was down, or workers without them): it counts as started when its message was
 * sent, the earliest it can have been, so that a later since never skips work; a start the
 * worker reports afterwards replaces it. */
static void guess_start(struct flight *f)
{
    if (f->state == F_STARTED) return;
    f->start_guessed = true;
    mark_running(f, NULL, f->sent_at);
}

/* A result-backend value of the run: the authority on how it ended. */
static void apply_meta(struct flight *f, const struct celery_meta *m)
{
    const char *st = m->status ? m->status : "";
    /* when it ended, from a result that says it did (not from a state on the way) */
    bool final = !strcmp(st, "SUCCESS") || !strcmp(st, "FAILURE") || !strcmp(st, "REVOKED");
    f->done_at = final && m->date_done > 0 ? (int64_t)(m->date_done * 1e6) : 0;
    /* SoftTimeLimitExceeded carries no message: no ": " after its name */
    bool has_msg = m->exc_message && *m->exc_message;
    if (strcmp(st, "SUCCESS") == 0) {
        if (past_timeout(f)) { /* it returned after the soft limit: as a local run's any exit */
            note_timeout(f);
            finish(f, RUN_FAILED, timeout_message(f, NULL), capped_output(m->result));
        } else {
            finish(f, RUN_SUCCESS, NULL, capped_output(m->result));
        }
    } else if (strcmp(st, "FAILURE") == 0) {
        char *msg = failure_message(m->exc_type, m->exc_message, m->traceback);
        bool limit = m->exc_type && strstr(m->exc_type, "TimeLimitExceeded");
        bool timeout = (past_timeout(f) || limit) && f->run.timeout_ms > 0;
        if (timeout) note_timeout(f);
        flight_log(f, LL_ERROR, "failed: %s%s%s", m->exc_type ? m->exc_type : "failure",
                   has_msg ? ": " : "", has_msg ? m->exc_message : "");
        log_text(f, LL_ERROR, m->traceback);
        if (timeout) {
            finish(f, RUN_FAILED, timeout_message(f, msg), NULL);
            free(msg);
        } else if (f->stopping) {
            free(msg);
            finish(f, RUN_CANCELLED, stopped_message(f, NULL), NULL);
        } else {
            finish(f, RUN_FAILED, msg, NULL);
        }
    } else if (strcmp(st, "REVOKED") == 0) {
        bool expired = m->exc_message && strstr(m->exc_message, "expired");
        if (f->timed_out)
            finish(f, RUN_FAILED, timeout_message(f, NULL), NULL);
        else if (f->stopping)
            finish(f, RUN_CANCELLED, stopped_message(f, NULL), NULL);
        else if (expired)
            finish(f, RUN_FAILED, xstrdup("expired before a worker took it"), NULL);
        else
            finish(f, RUN_FAILED, xstrdup("revoked outside sked"), NULL);
    } else if (strcmp(st, "RETRY") == 0) {
        guess_start(f);
        flight_log(f, LL_WARNING, "retrying%s%s%s%s", m->exc_type ? ": " : "",
                   m->exc_type ? m->exc_type : "", has_msg ? ": " : "",
                   has_msg ? m->exc_message : "");
    } else if (strcmp(st, "PENDING") != 0 && *st) { /* STARTED or a state of the task's own */
        guess_start(f);
        if (json_is_object(m->result)) set_progress(f, m->result);
    }
}

/* Whether the run of an epilogue is still stored: its job may have been deleted, or its
 * retention passed, since it ended. */
static bool run_exists(const struct flight *f)
{
    struct run cur;
    run_init(&cur);
    bool yes = store_run_get(f->c->store, f->run.id, &cur) == 0;
    run_release(&cur);
    return yes;
}

/* A result of the task of an ended run (an epilogue): once it says how the task ended, the
 * run's log tells it (the run keeps the end it was given), and the epilogue is over. */
static void late_meta(struct flight *f, const struct celery_meta *m)
{
    const char *st = m->status ? m->status : "";
    bool success = !strcmp(st, "SUCCESS"), failure = !strcmp(st, "FAILURE");
    if (!success && !failure && strcmp(st, "REVOKED") != 0) return; /* on its way still */
    bool has_msg = m->exc_message && *m->exc_message;
    char *line;
    if (f->stopping && !success && !failure)
        line = xasprintf("the stop reached the task after the run ended: the result backend "
                         "says REVOKED");
    else
        line = xasprintf("the task %s after %s (the result backend says %s%s%s%s%s): the run "
                         "stays %s",
                         success ? "completed" : failure ? "failed" : "was revoked",
                         f->stopping ? "the stop" : "the run ended", st,
                         failure ? ": " : "", failure && m->exc_type ? m->exc_type : "",
                         failure && has_msg ? ": " : "", failure && has_msg ? m->exc_message : "",
                         run_status_name(f->run.status));
    if (run_exists(f)) flight_log(f, LL_WARNING, "%s", line);
    log_warn("celery.late_result", "run=%s status=%s ended=%s", f->run.id, st,
             run_status_name(f->run.status));
    free(line);
    flight_free(f);
}

static void on_hold_over(evutil_socket_t fd, short what, void *arg);
static void end_from_event(struct flight *f);

static void on_meta(struct flight *f, const char *text, size_t len)
{
    struct celery_meta m;
    struct sk_err e = {0};
    if (f->after) {
        if (celery_meta_parse(text, len, &m, &e) == 0) late_meta(f, &m); /* f may be gone */
        celery_meta_free(&m);
        return;
    }
    if (celery_meta_parse(text, len, &m, &e) != 0) {
        if (!f->bad_meta) { /* once a run: the key is read again every 5 s */
            log_warn("celery.bad_result", "run=%s reason=%s", f->run.id, log_q(e.msg));
            f->bad_meta = xstrdup(e.msg);
        }
        /* a worker said how it ended: that is what is known */
        if (f->ev_end) end_from_event(f);
        return;
    }
    free(f->bad_meta); /* what the key holds now reads */
    f->bad_meta = NULL;
    bool over = m.status && (strcmp(m.status, "SUCCESS") == 0 || strcmp(m.status, "FAILURE") == 0);
    if (over && f->state != F_STARTED && !f->held_meta) {
        /* the result key is written before the worker's buffered events go out: wait a moment
         * for task-started, whose instant is the run's start (the next run's since) */
        f->held_meta = xstrndup(text, len);
        f->hold_ev = evtimer_new(f->c->base, on_hold_over, f);
        struct timeval tv = {1, 0};
        evtimer_add(f->hold_ev, &tv);
    } else if (!f->held_meta) {
        apply_meta(f, &m);
    }
    celery_meta_free(&m);
}

/* Applies an outcome held for the start; f may be gone afterwards. */
static void release_held(struct flight *f)
{
    char *text = f->held_meta;
    if (!text) return;
    f->held_meta = NULL;
    evtimer_del(f->hold_ev);
    on_meta(f, text, strlen(text));
    free(text);
}

/* No start was heard of: the run counts as started when its message was sent, the earliest
 * it can have been (so a later since never skips work). */
static void on_hold_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct flight *f = arg;
    guess_start(f); /* releases what it held */
}

/* A worker said the task ended, and the result backend has nothing: the event is all there
 * is (a task with ignore_result, or a worker without a result backend). */
static void end_from_event(struct flight *f)
{
    json_t *ev = f->ev_end;
    const char *type = json_str(ev, "type");
    bool timeout = past_timeout(f);
    if (timeout && f->run.timeout_ms > 0) note_timeout(f);
    if (type && strcmp(type, "task-succeeded") == 0) {
        if (timeout)
            finish(f, RUN_FAILED, timeout_message(f, NULL), NULL);
        else if (f->bad_meta)
            finish(f, RUN_SUCCESS,
                   xasprintf("the result the task stored cannot be read: %s", f->bad_meta), NULL);
        else
            finish(f, RUN_SUCCESS, xstrdup("the task stored no result (ignore_result)"), NULL);
    } else if (type && strcmp(type, "task-failed") == 0) {
        const char *exc = json_str(ev, "exception"), *tb = json_str(ev, "traceback");
        flight_log(f, LL_ERROR, "failed%s%s", exc && *exc ? ": " : "", exc ? exc : "");
        log_text(f, LL_ERROR, tb);
        char *msg = failure_message(exc && *exc ? exc : "failed", NULL, tb);
        if (timeout) {
            finish(f, RUN_FAILED, timeout_message(f, msg), NULL);
            free(msg);
        } else {
            finish(f, RUN_FAILED, msg, NULL);
        }
    } else if (f->timed_out) {
        finish(f, RUN_FAILED, timeout_message(f, NULL), NULL);
    } else if (f->stopping) {
        finish(f, RUN_CANCELLED, stopped_message(f, NULL), NULL);
    } else {
        bool expired = json_is_true(json_object_get(ev, "expired"));
        finish(f, RUN_FAILED,
               xstrdup(expired ? "expired before a worker took it" : "revoked outside sked"),
               NULL);
    }
}

/* The run id's flight, or epilogue, whose result key is read; NULL when none. */
static struct flight *watched(struct celery *c, const char *id)
{
    struct flight *f = map_get(&c->flights, id);
    return f ? f : map_get(&c->afters, id);
}

/* GET/MGET replies carry the run ids they asked for. */
struct meta_req {
    struct celery *c;
    size_t n;
    char ids[][UUID_STR_LEN];
};

static void on_meta_reply(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    struct meta_req *q = arg;
    redisReply *r = reply;
    if (r && !q->c->closing) {
        for (size_t i = 0; i < q->n; i++) {
            redisReply *v = r->type == REDIS_REPLY_ARRAY && i < r->elements ? r->element[i]
                            : r->type == REDIS_REPLY_STRING && q->n == 1 ? r
                                                                          : NULL;
            struct flight *f = watched(q->c, q->ids[i]);
            if (f && v && v->type == REDIS_REPLY_STRING)
                on_meta(f, v->str, v->len);
            else if (f && v && v->type == REDIS_REPLY_NIL && f->ev_end)
                end_from_event(f); /* the task stores no result (ignore_result) */
        }
    }
    free(q);
}

static void meta_key(char out[64], const char *id)
{
    snprintf(out, 64, "celery-task-meta-%s", id);
}

/* One more key of a read_metas request: f's, when its result backend is ep. */
static void meta_arg(struct meta_req *q, const char **argv, size_t *lens, char (*keys)[64],
                     const struct endpoint *ep, const struct flight *f)
{
    size_t n = q->n;
    if (f->backend != ep || f->state < F_SENT) return;
    snprintf(q->ids[n], UUID_STR_LEN, "%s", f->run.id);
    meta_key(keys[n], f->run.id);
    argv[n + 1] = keys[n];
    lens[n + 1] = strlen(keys[n]);
    q->n++;
}

/* Reads the result keys of the flight given (of all flights and epilogues whose result backend
 * is ep when one is NULL). */
static void read_metas(struct endpoint *ep, struct flight *one)
{
    struct celery *c = ep->c;
    size_t cap = one ? 1 : c->flights.count + c->afters.count;
    if (!cap || !ep->cmd.up) return;
    struct meta_req *q = xcalloc(1, sizeof *q + cap * UUID_STR_LEN);
    q->c = c;
    const char **argv = xcalloc(cap + 1, sizeof *argv);
    size_t *lens = xcalloc(cap + 1, sizeof *lens);
    char (*keys)[64] = xcalloc(cap, 64);
    argv[0] = "MGET";
    lens[0] = 4;
    if (one) {
        meta_arg(q, argv, lens, keys, ep, one);
    } else {
        struct map *maps[] = {&c->flights, &c->afters};
        for (size_t m = 0; m < 2; m++) {
            size_t it;
            for (struct map_entry *e = map_first(maps[m], &it); e; e = map_next(maps[m], &it, e))
                meta_arg(q, argv, lens, keys, ep, e->value);
        }
    }
    size_t n = q->n;
    if (n == 0 || !cmd_argv(ep, on_meta_reply, q, (int)n + 1, argv, lens)) free(q);
    free(argv);
    free(lens);
    free(keys);
}

/* The worker hostname of ep, known from now on if it was not: heard of just now. */
static struct worker *worker_get(struct endpoint *ep, const char *hostname)
{
    struct worker *w = map_get(&ep->workers, hostname);
    if (w) return w;
    w = xcalloc(1, sizeof *w);
    w->hostname = xstrdup(hostname);
    w->freq = 2.0;
    w->seen = time_now_us();
    map_put(&ep->workers, hostname, w);
    return w;
}

/* Three of w's heartbeat periods, µs: a worker not heard from for longer is lost. */
static int64_t heart_window(const struct worker *w)
{
    return (int64_t)(w->freq * HEARTBEATS_LOST * 1e6);
}

/* The text that says a worker sends no heartbeats, for sked's log and a run's. */
#define HEARTLESS "sends no heartbeats: sked cannot tell if it dies; start it without " \
                  "--without-heartbeat"

/* The worker hostname of ep answered a broadcast: known from now on (its heartbeats decide
 * whether it lives). One that answers after a silence longer than three heartbeats, none of
 * which was ever heard, lives without them (--without-heartbeat): said once. */
static struct worker *worker_answered(struct endpoint *ep, const char *hostname)
{
    struct worker *w = worker_get(ep, hostname);
    /* as the heartbeat rule counts: not while the broker was away */
    int64_t seen = w->seen > ep->sub.up_since ? w->seen : ep->sub.up_since;
    if (!w->heart && !w->heartless && time_now_us() - seen > heart_window(w)) {
        w->heartless = true;
        char *why = xasprintf("worker %s " HEARTLESS, w->hostname);
        log_warn("celery.no_heartbeats", "broker=%s worker=%s reason=%s", ep->display,
                 log_q(w->hostname), log_q(why));
        free(why);
    }
    return w;
}

static void apply_event(struct endpoint *ep, const struct celery_event *ev)
{
    struct celery *c = ep->c;
    int64_t now = time_now_us();
    /* any event makes its worker known: one that dies before its first heartbeat is lost
     * like any other */
    struct worker *w = ev->hostname ? worker_get(ep, ev->hostname) : NULL;
    /* a worker whose heartbeats stopped is offline as much as one that said worker-offline: a
     * process killed says nothing, and whatever comes under its name next is a new process,
     * its task events off again */
    if (w && w->online && now - w->seen > heart_window(w)) w->online = w->task_events = false;
    if (w) w->seen = now;
    if (strncmp(ev->type, "worker-", 7) == 0 && w) {
        /* worker-online, -heartbeat and -offline: what a worker's heart sends */
        w->heart = true;
        w->heartless = false;
        json_t *freq = json_object_get(ev->doc, "freq");
        w->freq = json_is_number(freq) && json_number_value(freq) > 0 ? json_number_value(freq)
                                                                     : 2.0;
        json_t *act = json_object_get(ev->doc, "active");
        if (json_is_integer(act)) w->active = (int)json_integer_value(act);
        /* worker-online: a process just started under the name (a worker killed and started
         * again within its heartbeats' window), or its consumer reconnected to the broker;
         * either way its task events are off */
        bool restarted = strcmp(ev->type, "worker-online") == 0;
        bool was_online = w->online && !restarted;
        if (restarted) {
            w->task_events = false;
            /* the tasks sked knows it had may have died with the old process: asked about
             * (query_task), and lost when no worker has them and no result comes */
            size_t it;
            for (struct map_entry *e = map_first(&c->flights, &it); e;
                 e = map_next(&c->flights, &it, e)) {
                struct flight *f = e->value;
                const char *fw = flight_worker(f);
                if (f->broker == ep && f->state >= F_TAKEN && !f->unclaimed_since && fw &&
                    strcmp(fw, w->hostname) == 0) {
                    f->unclaimed_since = now;
                    flight_log(f, LL_WARNING,
                               "%s came online again (restarted, or reconnected to the "
                               "broker): asking the workers whether one has the task",
                               fw);
                }
            }
        }
        w->online = strcmp(ev->type, "worker-offline") != 0;
        w->offline = !w->online;
        w->beats = w->online && was_online ? w->beats + 1 : 0;
        if (!w->online) w->task_events = false;
        /* a worker announces itself before it listens to broadcasts: until it shows task
         * events, enable_events goes again with its first heartbeats */
        if (w->online && w->beats > 0 && w->beats <= 5 && !w->task_events)
            broadcast(ep, "enable_events", json_object(), false);
        /* likewise the revokes of messages stopped in their queue (AMQP) and of runs being
         * stopped (or that ended stopped, no worker having confirmed it): the first heartbeat
         * comes once the worker listens, and ends a task it took, or went on with while it
         * was away from the broker, before it heard them */
        if (w->online && w->beats > 0 && w->beats <= 2) {
            revoke_tombs(ep, now);
            revoke_again(ep, w->beats == 1 ? w : NULL);
        }
        if (w->online && (!was_online || !w->queues)) {
            /* a worker that just came: it reports task events, and tells what it consumes;
             * a stop broadcast it may have missed is repeated (and again at its first
             * heartbeats, above: it may not listen yet) */
            broadcast(ep, "enable_events", json_object(), false);
            ep->asked_queues = 0;
            revoke_again(ep, NULL);
            revoke_tombs(ep, now);
        }
        return;
    }
    if (w) w->task_events = true;
    struct flight *f = ev->uuid ? map_get(&c->flights, ev->uuid) : NULL;
    if (!f || f->broker != ep) return; /* a task sent to another broker: not this one's */
    /* a worker has the task: nothing to ask about (a message redelivered after its worker
     * came online again) */
    if (strcmp(ev->type, "task-received") == 0 || strcmp(ev->type, "task-started") == 0)
        f->unclaimed_since = 0;
    if (strcmp(ev->type, "task-received") == 0) {
        /* the broker confirms a persistent message once it is on disk, which may come after a
         * worker received it: the log says it was sent before it says it was received */
        if (f->broker && f->broker->amqp && !f->said_sent) {
            f->said_sent = true;
            flight_log(f, LL_INFO, "sent to celery queue %s (a worker received it before the "
                                   "broker confirmed it)",
                       f->run.queue);
        }
        if (f->state < F_TAKEN) f->state = F_TAKEN;
        set_remote(f, ev->hostname);
        /* RUNNING too: a message delivered again (acks_late, its worker lost) is another
         * worker's now */
        struct run_guard g = {f->run.id,
                              RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING),
                              NULL, 0};
        store_run_update(c->store, &g, -1, RF_REMOTE, &f->run, now);
        flight_log(f, LL_INFO, "received by %s", ev->hostname ? ev->hostname : "a worker");
    } else if (strcmp(ev->type, "task-started") == 0) {
        json_t *pid = json_object_get(ev->doc, "pid");
        if (json_is_integer(pid))
            flight_log(f, LL_INFO, "started on %s (pid %lld)", ev->hostname ? ev->hostname : "?",
                       (long long)json_integer_value(pid));
        else
            flight_log(f, LL_INFO, "started on %s", ev->hostname ? ev->hostname : "?");
        /* last: an outcome held for this start may end (and free) the flight */
        mark_running(f, ev->hostname,
                     ev->timestamp > 0 ? (int64_t)(ev->timestamp * 1e6) : NO_TIME);
    } else if (strcmp(ev->type, "task-succeeded") == 0) {
        json_t *rt = json_object_get(ev->doc, "runtime");
        flight_log(f, LL_INFO, "succeeded in %.3f s", json_is_number(rt) ? json_number_value(rt) : 0);
        json_decref(f->ev_end);
        f->ev_end = json_incref(ev->doc);
        read_metas(f->backend, f);
    } else if (strcmp(ev->type, "task-failed") == 0 || strcmp(ev->type, "task-revoked") == 0 ||
               strcmp(ev->type, "task-rejected") == 0) {
        json_decref(f->ev_end);
        f->ev_end = json_incref(ev->doc);
        read_metas(f->backend, f); /* the backend's value says the rest */
    } else if (strcmp(ev->type, "task-retried") == 0) {
        const char *exc = json_str(ev->doc, "exception");
        flight_log(f, LL_WARNING, "retrying: %s", exc ? exc : "");
    }
}

static void on_pmessage(redisAsyncContext *ac, void *reply, void *arg)
{
    struct rconn *rc = arg;
    redisReply *r = reply;
    if (r && rc->ac != ac) return; /* a connection let go (a refused AUTH) */
    if (r && r->type == REDIS_REPLY_ERROR) {
        on_setup(ac, reply, arg);
        return;
    }
    if (!r || rc->ep->c->closing || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    const char *kind = r->element[0]->str;
    if (kind && strcmp(kind, "psubscribe") == 0) {
        if (!rc->up) conn_ready(rc);
        return;
    }
    if (!kind || strcmp(kind, "pmessage") != 0 || r->elements < 4) return;
    redisReply *ch = r->element[2], *data = r->element[3];
    if (ch->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) return;
    struct endpoint *ep = rc->ep;
    struct sk_err e = {0};
    if (ep->kind == EP_BACKEND) {
        const char *id = ch->str + strlen("celery-task-meta-");
        if (ch->len <= strlen("celery-task-meta-")) return;
        struct flight *f = watched(ep->c, id);
        if (f && f->backend == ep) on_meta(f, data->str, data->len);
        return;
    }
    struct celery_event *evs;
    size_t n;
    if (celery_events_parse(data->str, data->len, &evs, &n, &e) != 0) {
        log_debug("celery.bad_event", "broker=%s reason=%s", ep->display, log_q(e.msg));
        return;
    }
    for (size_t i = 0; i < n; i++) apply_event(ep, &evs[i]);
    celery_events_free(evs, n);
}

/* ---- the pidbox: control broadcasts and their replies ---- */

static void on_any(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac, (void)reply, (void)arg;
}

static void on_any(redisAsyncContext *ac, void *reply, void *arg);
static void reply_queue(const struct celery *c, char out[96]);

/* kombu routes replies to sked's own list through this binding. */
static void ensure_bound(struct endpoint *ep)
{
    if (ep->bound) return;
    char rq[96], member[160];
    reply_queue(ep->c, rq);
    snprintf(member, sizeof member, "%s\x06\x16%s\x06\x16%s", ep->c->oid, ep->c->oid, rq);
    const char *argv[] = {"SADD", "_kombu.binding.reply.celery.pidbox", member};
    size_t lens[] = {4, strlen(argv[1]), strlen(member)};
    ep->bound = cmd_argv(ep, on_any, NULL, 3, argv, lens);
}

static void broadcast(struct endpoint *ep, const char *method, json_t *arguments, bool reply)
{
    if (reply && !ep->amqp) ensure_bound(ep); /* on AMQP, sked's reply queue is bound at connect */
    char tag[UUID_STR_LEN], ticket[UUID_STR_LEN], channel[64];
    uuid_v4(tag);
    uuid_v4(ticket);
    snprintf(channel, sizeof channel, "/%d.celery.pidbox", ep->url.db);
    char *env = celery_pidbox_envelope(method, arguments, reply ? ticket : NULL,
                                       reply ? ep->oid : NULL, ++ep->clock,
                                       time_now_us() / 1000000 + 60, tag);
    json_decref(arguments);
    if (!env) return;
    if (ep->amqp) { /* the same message, as AMQP carries it, to the fanout exchange */
        struct celery_amqp_parts parts;
        struct sk_err e = {0};
        if (ep->ab && ep->cmd.up && celery_envelope_amqp(env, strlen(env), &parts, &e) == 0) {
            amqp_broker_broadcast(ep->ab, parts.body, parts.body_len, parts.headers);
            celery_amqp_parts_free(&parts);
        }
        free(env);
        return;
    }
    const char *argv[] = {"PUBLISH", channel, env};
    size_t lens[] = {7, strlen(channel), strlen(env)};
    cmd_argv(ep, on_any, NULL, 3, argv, lens);
    free(env);
}

static void reply_queue(const struct celery *c, char out[96])
{
    snprintf(out, 96, "%s.reply.celery.pidbox", c->oid);
}

/* A reply's body: to active_queues {hostname: [{"name": queue, ...}, ...]}, to query_task
 * {hostname: {task id: [state, info]}}. */
static void apply_reply(struct endpoint *ep, json_t *body)
{
    const char *host;
    json_t *v;
    json_object_foreach(body, host, v)
    {
        if (json_is_object(v)) { /* query_task: {task id: [state, info]} */
            const char *id;
            json_t *st;
            json_object_foreach(v, id, st)
            {
                struct flight *f = map_get(&ep->c->flights, id);
                if (!f || f->broker != ep) continue;
                const char *state = json_string_value(json_array_get(st, 0));
                /* "ready": the worker knows the request and will not run it (it ended, or
                 * went with the worker's broker connection): the result key, or the
                 * deadline, tells */
                if (!state || strcmp(state, "ready") == 0) continue;
                f->unclaimed_since = 0;
                /* known from now on, as a run's worker taken over at start is: its heartbeats
                 * (or its silence) decide whether it lives */
                worker_answered(ep, host);
                const char *was = flight_worker(f);
                if (strcmp(state, "active") == 0 && f->state == F_STARTED && was &&
                    strcmp(was, host) != 0) {
                    /* another worker runs it now (its message delivered again: acks_late):
                     * its heartbeats are the ones that count */
                    flight_log(f, LL_INFO, "running on %s now, no longer on %s", host, was);
                    set_remote(f, host);
                    struct run_guard g = {f->run.id,
                                          RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL, 0};
                    store_run_update(ep->c->store, &g, -1, RF_REMOTE, &f->run, time_now_us());
                } else if (strcmp(state, "active") == 0) {
                    /* a start no event told: the earliest it can have been, the send, so
                     * that the next run's since skips nothing (a task-started heard later
                     * puts the worker's instant) */
                    if (f->state != F_STARTED) {
                        flight_log(f, LL_INFO, "running on %s (sked missed its start)", host);
                        set_remote(f, host);
                        guess_start(f);
                    }
                } else { /* reserved or scheduled: it waits in the worker */
                    set_remote(f, host);
                    if (f->state < F_TAKEN) f->state = F_TAKEN;
                }
            }
            continue;
        }
        if (!json_is_array(v)) continue;
        struct worker *w = worker_answered(ep, host);
        json_decref(w->queues);
        w->queues = json_array();
        size_t i;
        json_t *q;
        json_array_foreach(v, i, q)
        {
            const char *name = json_str(q, "name");
            if (name) json_array_append_new(w->queues, json_string(name));
        }
    }
}

/* Replies of workers, popped from sked's reply list. */
static void on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    struct endpoint *ep = arg;
    redisReply *r = reply;
    if (!r || ep->c->closing || r->type != REDIS_REPLY_STRING) return;
    struct sk_err e = {0};
    json_t *body = celery_envelope_body(r->str, r->len, &e);
    apply_reply(ep, body);
    json_decref(body);
    /* more may be waiting */
    char rq[96];
    reply_queue(ep->c, rq);
    const char *argv[] = {"RPOP", rq};
    size_t lens[] = {4, strlen(rq)};
    cmd_argv(ep, on_reply, ep, 2, argv, lens);
}

static void ask_queues(struct endpoint *ep)
{
    broadcast(ep, "active_queues", json_object(), true);
    ep->asked_queues = time_now_us();
}

/* A revoke of the task: with signal, a worker running it terminates it so; without, it is only
 * not run when its message reaches a worker. */
static json_t *revoke_args(const char *id, const char *signal)
{
    return signal ? json_pack("{s:s,s:b,s:s}", "task_id", id, "terminate", 1, "signal", signal)
                  : json_pack("{s:s}", "task_id", id);
}

/* Broadcasts the run's revoke; stop_grace counts from now. */
static void send_revoke(struct flight *f)
{
    f->stop_unsent = false;
    f->stop_deadline = time_now_us() + f->grace_ms * 1000;
    broadcast(f->broker, "revoke", revoke_args(f->run.id, f->revoke_signal), false);
    flight_log(f, LL_WARNING, "revoking the task on the workers (%s)", f->revoke_signal);
}

static void revoke_task(struct flight *f, const char *signal)
{
    f->revokes++;
    f->revoke_signal = signal;
    if (!f->broker->cmd.up) {
        /* a broadcast now reaches nobody: it goes once the broker is back (ep_up), and
         * stop_grace counts from then */
        f->stop_unsent = true;
        f->stop_deadline = 0;
        flight_log(f, LL_WARNING,
                   "the broker %s cannot be reached: the task is revoked (%s) once it is back",
                   f->broker->display, signal);
        return;
    }
    send_revoke(f);
}

/* The revokes of ep's epilogues of stopped runs, broadcast again. */
static void revoke_afters(struct endpoint *ep)
{
    struct celery *c = ep->c;
    size_t it;
    for (struct map_entry *e = map_first(&c->afters, &it); e; e = map_next(&c->afters, &it, e)) {
        struct flight *f = e->value;
        if (f->broker == ep && f->after_revokes)
            broadcast(ep, "revoke", revoke_args(f->run.id, f->after_signal), false);
    }
}

/* The revokes of ep's runs being stopped, and of its epilogues that were, broadcast again: a
 * worker coming (back) online, or the broker's connection coming back, may have missed them.
 * back: a worker whose first heartbeat since it came online this is, so that it listens to
 * broadcasts from now on (it does not before): the runs it has get their revoke again, and
 * their stop_grace counts from here. */
static void revoke_again(struct endpoint *ep, const struct worker *back)
{
    struct celery *c = ep->c;
    int64_t now = time_now_us();
    size_t it;
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e)) {
        struct flight *f = e->value;
        if (f->broker != ep || !f->stopping || !f->revoke_signal || f->stop_unsent) continue;
        broadcast(ep, "revoke", revoke_args(f->run.id, f->revoke_signal), false);
        const char *fw = flight_worker(f);
        int64_t deadline = now + f->grace_ms * 1000;
        if (back && fw && strcmp(fw, back->hostname) == 0 && f->stop_deadline < deadline) {
            f->stop_deadline = deadline;
            flight_log(f, LL_WARNING,
                       "%s is back online and hears broadcasts: revoking the task again (%s)",
                       fw, f->revoke_signal);
        }
    }
    revoke_afters(ep);
}

/* ---- sending and withdrawing ---- */

/* What a command about one run carries to its reply: the run is looked up again there, as it
 * may have ended meanwhile. */
struct req {
    struct celery *c;
    char id[UUID_STR_LEN];
};

static struct req *req_new(struct flight *f)
{
    struct req *q = xcalloc(1, sizeof *q);
    q->c = f->c;
    snprintf(q->id, sizeof q->id, "%s", f->run.id);
    return q;
}

/* The flight a reply is about, or NULL (ended, or closing); frees q. */
static struct flight *req_flight(struct req *q)
{
    struct flight *f = q->c->closing ? NULL : map_get(&q->c->flights, q->id);
    free(q);
    return f;
}

static void on_pushed(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    redisReply *r = reply;
    struct flight *f = req_flight(arg);
    if (f && r && r->type == REDIS_REPLY_ERROR) {
        flight_log(f, LL_ERROR, "the broker refused the message: %s", r->str);
        finish(f, RUN_FAILED, xasprintf("the broker refused the message: %s", r->str), NULL);
    }
}

/* The run log says once why a run is not sent yet, when its broker's connection failed. */
static void say_waiting(struct flight *f)
{
    /* said again when the broker, out of reach when the run first said so, refuses sked now
     * (it came back wanting another password): the run tells the reason that holds it */
    int why = f->broker->cmd.refused ? 2 : 1;
    if (f->state != F_UNSENT || f->said_waiting >= why || !f->broker->down_why) return;
    flight_log(f, LL_WARNING, "waits for the broker %s, which %s: %s", f->broker->display,
               why == 2 ? "refuses sked" : "cannot be reached", f->broker->down_why);
    f->said_waiting = why;
}

/* After ep's connection failed: the runs waiting for it say so. */
static void say_all_waiting(struct endpoint *ep)
{
    size_t it;
    for (struct map_entry *e = map_first(&ep->c->flights, &it); e;
         e = map_next(&ep->c->flights, &it, e)) {
        struct flight *f = e->value;
        if (f->broker == ep) say_waiting(f);
    }
}

/* A run's arguments as Celery's positional args and keyword kwargs (new references). */
static void split_args(const struct celery_def *def, const json_t *from, json_t **args,
                       json_t **kwargs)
{
    *args = json_array();
    *kwargs = from ? json_deep_copy(from) : json_object();
    if (def && !def->send_since) json_object_del(*kwargs, "since");
    size_t i;
    json_t *name;
    json_array_foreach(def ? def->positional : NULL, i, name)
    {
        /* a positional argument cannot be left out before a later one: from the first name
         * the arguments lack on, the names stay keyword arguments, so the task's own default
         * (or Python's "missing argument") applies, never a None made up here */
        const char *k = json_string_value(name);
        json_t *v = json_object_get(*kwargs, k);
        if (!v) break;
        json_array_append(*args, v);
        json_object_del(*kwargs, k);
    }
}

static void flight_send(struct flight *f)
{
    struct celery *c = f->c;
    struct run *r = &f->run;
    if (f->state != F_UNSENT) return;
    if (!f->broker->cmd.up) { /* sent once the broker is up */
        say_waiting(f);
        return;
    }
    if (!f->envelope) {
        const struct task *t = taskset_get(dispatch_tasks(c->d), r->task);
        /* custom arguments go to the task as given, all of them keyword arguments: neither
         * send_since nor positional applies to them (celery.md) */
        const struct celery_def *def = t && !run_custom_args(r) ? t->celery : NULL;
        char why[600];
        json_t *values = json_array();
        json_t *resolved = secrets_resolve(c->cfg->secrets_dir, r->args, values, why, sizeof why);
        /* masked as they are now, as sent (a retry may go an hour after the run's start) */
        json_decref(f->mask);
        f->mask = json_array_size(values) ? values : (json_decref(values), NULL);
        if (!resolved && r->args) {
            flight_log(f, LL_ERROR, "%s", why);
            finish(f, RUN_FAILED, xasprintf("cannot start: %s", why), NULL);
            return;
        }
        /* the values go to the task; what Flower and the worker's log show are the references */
        json_t *args, *kwargs, *shown_args, *shown_kwargs;
        split_args(def, resolved, &args, &kwargs);
        split_args(def, r->args, &shown_args, &shown_kwargs);
        json_decref(resolved);
        char tag[UUID_STR_LEN];
        uuid_v4(tag);
        /* whole: a node's name is up to 200 characters of UTF-8, which no fixed buffer cut
         * in the middle of one may spoil */
        char *origin = xasprintf("sked@%s", c->cfg->node);
        /* the timeout means what it means for a local run: at the timeout the task is asked
         * to stop (the soft limit raises SoftTimeLimitExceeded in it, as SIGTERM would), and
         * stop_grace later it is killed (the hard limit) */
        double soft = r->timeout_ms > 0 ? (double)r->timeout_ms / 1000 : 0;
        double hard = r->timeout_ms > 0 ? (double)(r->timeout_ms + f->grace_ms) / 1000 : 0;
        /* no "expires": Celery's means "starts by", and a worker discards a message it took in
         * time but starts only later (prefetched behind long tasks); accept_timeout bounds
         * the wait for a worker to take it, which sked keeps itself (the Redis path takes the
         * message back then, an AMQP broker drops it: its expiration) */
        struct celery_task_msg m = {r->id, f->task, r->queue, args, kwargs, hard, soft,
                                    0, origin, tag, shown_args, shown_kwargs};
        struct sk_err e = {0};
        f->envelope = celery_task_envelope(&m, &e);
        free(origin);
        json_decref(args);
        json_decref(kwargs);
        json_decref(shown_args);
        json_decref(shown_kwargs);
        if (!f->envelope) {
            flight_log(f, LL_ERROR, "cannot build the task message: %s: %s", e.field, e.msg);
            finish(f, RUN_FAILED, xasprintf("cannot build the task message: %s: %s", e.field, e.msg),
                   NULL);
            return;
        }
        f->sent_at = time_now_us();
    }
    /* stored before it is pushed: the push leaves in a later loop iteration, after the commit */
    f->state = F_SENT;
    set_remote(f, NULL);
    struct run_guard g = {r->id, RUN_MASK(RUN_QUEUED), NULL, 0};
    store_run_update(c->store, &g, -1, RF_REMOTE, r, time_now_us());
    if (f->broker->amqp) {
        /* "sent" is said once the broker confirmed it (amqp_on_published) */
        struct celery_amqp_parts parts;
        struct sk_err e = {0};
        if (!f->broker->ab ||
            celery_envelope_amqp(f->envelope, strlen(f->envelope), &parts, &e) != 0) {
            flight_log(f, LL_ERROR, "cannot build the task message: %s", e.msg);
            finish(f, RUN_FAILED, xasprintf("cannot build the task message: %s", e.msg), NULL);
            return;
        }
        /* the broker drops the message when no worker took it within accept_timeout, as the
         * Redis path takes it back then (a message a worker took is no longer the broker's to
         * drop: it runs when the worker gets to it) */
        int64_t left = (f->sent_at + f->accept_ms * 1000 - time_now_us()) / 1000;
        amqp_broker_publish(f->broker->ab, r->queue, parts.body, parts.body_len, parts.headers,
                            r->id, parts.priority, left > 0 ? left : 1);
        celery_amqp_parts_free(&parts);
        log_debug("celery.sent", "run=%s task=%s queue=%s broker=%s", r->id, f->task, r->queue,
                  f->broker->display);
        return;
    }
    const char *argv[] = {"LPUSH", r->queue, f->envelope};
    size_t lens[] = {5, strlen(r->queue), strlen(f->envelope)};
    struct req *q = req_new(f);
    if (!cmd_argv(f->broker, on_pushed, q, 3, argv, lens)) {
        free(q);
        f->state = F_UNSENT; /* the connection went: again once it is back */
        return;
    }
    flight_log(f, LL_INFO, "sent to celery queue %s", r->queue);
    log_debug("celery.sent", "run=%s task=%s queue=%s broker=%s", r->id, f->task, r->queue,
              f->broker->display);
}

/* The message left its queue and no worker said it took it: one may have (its events
 * missed), or the broker lost it (a Redis restart without persistence). The workers are asked
 * (query_task); said in the run's log, as only accept_timeout brings it to light. */
static void note_unclaimed(struct flight *f)
{
    if (flight_worker(f) || f->unclaimed_since) return;
    f->unclaimed_since = time_now_us();
    char d[32];
    flight_log(f, LL_WARNING,
               "the message is gone from queue %s and no worker said it took it: asking the "
               "workers; lost in %s unless one has the task or a result comes",
               f->run.queue, dur(f->accept_ms + QUERY_GRACE_US / 1000, d));
}

/* The reply to LREM queue 1 <message>: 1 means it was still waiting and is gone now. */
static void on_withdrawn(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    redisReply *r = reply;
    struct flight *f = req_flight(arg);
    if (!f) return;
    f->check_pending = false;
    /* asked again on the next tick; a stop's, once the broker is back */
    if (!r && f->stopping) f->stop_unsent = true;
    if (!r || r->type != REDIS_REPLY_INTEGER) return;
    if (r->integer > 0) {
        char d[32];
        if (f->stopping)
            finish(f, RUN_CANCELLED, stopped_message(f, " before a worker took it"), NULL);
        else
            finish(f, RUN_FAILED,
                   xasprintf("no worker accepted the task within %s", dur(f->accept_ms, d)), NULL);
        return;
    }
    if (f->state == F_SENT) f->state = F_TAKEN;
    note_unclaimed(f);
    if (f->stopping && f->revokes == 0) revoke_task(f, "SIGTERM");
}

/* AMQP: a message in a queue cannot be taken back. The workers online are told to revoke the
 * task, and those that come online until the message expires are told again (the tombs). */
static void bury(struct flight *f)
{
    struct endpoint *ep = f->broker;
    int64_t *until = map_get(&ep->tombs, f->run.id);
    if (!until) {
        until = xcalloc(1, sizeof *until);
        map_put(&ep->tombs, f->run.id, until);
    }
    *until = f->sent_at + f->accept_ms * 1000 + TOMB_SLACK_US;
    broadcast(ep, "revoke",
              json_pack("{s:s,s:b,s:s}", "task_id", f->run.id, "terminate", 1, "signal",
                        "SIGTERM"),
              false);
    flight_log(f, LL_WARNING,
               "the message stays in queue %s until it expires (AMQP cannot take it back): the "
               "workers are told to revoke the task",
               f->run.queue);
}

/* AMQP: the message stays where it is; the run ends (stopped, or not accepted in time). */
static void leave_queued(struct flight *f)
{
    bury(f);
    char d[32];
    if (f->stopping)
        finish(f, RUN_CANCELLED, stopped_message(f, " before a worker took it"), NULL);
    else
        finish(f, RUN_FAILED,
               xasprintf("no worker accepted the task within %s", dur(f->accept_ms, d)), NULL);
}

static void withdraw(struct flight *f)
{
    if (f->broker->amqp) {
        /* a stop takes the message out of a queue no worker consumes (amqp_on_withdrawn);
         * at accept_timeout the broker drops it by itself (its expiration) */
        if (f->stopping && f->broker->ab && f->broker->cmd.up) {
            amqp_broker_withdraw(f->broker->ab, f->run.queue, f->run.id);
            f->check_pending = true;
        } else {
            leave_queued(f);
        }
        return;
    }
    const char *argv[] = {"LREM", f->run.queue, "1", f->envelope};
    size_t lens[] = {4, strlen(f->run.queue), 1, strlen(f->envelope)};
    struct req *q = req_new(f);
    f->check_pending = cmd_argv(f->broker, on_withdrawn, q, 4, argv, lens);
    if (!f->check_pending) free(q);
    /* a stop's withdrawal goes again once the broker is back (ep_up) */
    if (f->stopping && !f->check_pending && !f->stop_unsent)
        flight_log(f, LL_WARNING,
                   "the broker %s cannot be reached: the message is taken out of queue %s once "
                   "it is back",
                   f->broker->display, f->run.queue);
    if (f->stopping) f->stop_unsent = !f->check_pending;
}

/* The stop of f, which waited for the broker to be reached, goes now that it is. */
static void resend_stop(struct flight *f)
{
    if (f->state == F_SENT && f->revokes == 0)
        withdraw(f);
    else if (f->revokes == 0) /* taken over from an earlier process */
        revoke_task(f, "SIGTERM");
    else
        send_revoke(f);
}

/* A run taken over from an earlier process: is its message still in the queue? */
static void on_lpos(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    redisReply *r = reply;
    struct flight *f = req_flight(arg);
    if (!f) return;
    f->check_pending = false;
    if (!r || r->type == REDIS_REPLY_ERROR) return;
    f->resumed = false;
    if (r->type == REDIS_REPLY_NIL && f->state == F_SENT) {
        f->state = F_TAKEN;
        note_unclaimed(f);
    }
}

/* ---- the clock: deadlines, liveness, polling ---- */

static bool settled(const struct rconn *rc, int64_t now)
{
    return rc->up && now - rc->up_since >= SETTLE_US;
}

/* The stop ends without a worker's word: the run ends (CANCELLED, or FAILED when it had timed
 * out), and its epilogue repeats the revoke to the workers that come (back) online and tells
 * the run's log how the task ends if a result comes. */
static void end_stop(struct flight *f)
{
    const char *why = f->broker->down_why;
    bool queued = f->state == F_SENT;
    char *msg;
    f->watch_after = true;
    f->after_revokes = true;
    f->after_signal = f->revoke_signal ? f->revoke_signal : "SIGTERM";
    if (f->stop_unsent) {
        flight_log(f, LL_WARNING,
                   "the broker %s could not be reached to %s%s%s%s: %s once it is back, and the "
                   "task may run until then",
                   f->broker->display,
                   queued ? "take the message out of its queue" : "revoke the task",
                   why ? " (" : "", why ? why : "", why ? ")" : "",
                   queued ? "the message is taken out and the task revoked" : "it is revoked");
        msg = stopped_message(f, queued ? "; the broker could not be reached to take the message "
                                          "back, and a worker may still run the task when it "
                                          "is back"
                                        : "; the broker could not be reached to revoke the task, "
                                          "which may still run when it is back");
    } else {
        flight_log(f, LL_WARNING,
                   "no worker confirmed the stop: the task is revoked again when a worker comes "
                   "(back) online, and this log tells how it ends if its result comes");
        msg = stopped_message(f, "; no worker confirmed the stop");
    }
    if (f->timed_out) {
        free(msg);
        finish(f, RUN_FAILED, timeout_message(f, NULL), NULL);
    } else {
        finish(f, RUN_CANCELLED, msg, NULL);
    }
}

/* A stop lasts a bounded time whatever the broker and the workers do: two stop_grace while it
 * cannot reach the broker, four in all (a broker or workers that keep coming and going); then
 * the run ends (end_stop). True when it did. */
static bool stop_over(struct flight *f, int64_t now)
{
    /* a stop_grace of 0 still leaves the revokes a few ticks to go out */
    int64_t grace = f->grace_ms * 1000 > TICK_MS * 1000 ? f->grace_ms * 1000 : TICK_MS * 1000;
    if (now - f->stop_at < (f->stop_unsent ? 2 : 4) * grace) return false;
    end_stop(f);
    return true;
}

/* The run is lost (no worker has the task), unless its result key, read once more now, says
 * how it ended: it ends FAILED, and its epilogue tells the run's log about a result that comes
 * later (a worker that was only stalled, a message delivered again). */
static void fail_lost(struct flight *f)
{
    /* "lost: no worker has ...", "worker H lost: no heartbeat for 6s; no worker has ..." */
    const char *who = f->lost_why ? f->lost_why : "lost", *sep = f->lost_why ? "; " : ": ";
    char *msg = f->bad_meta ? xasprintf("%s%sno worker has the task, and the result the backend "
                                        "holds of it cannot be read: %s",
                                        who, sep, f->bad_meta)
                            : xasprintf("%s%sno worker has the task, and the result backend "
                                        "holds no result of it",
                                        who, sep);
    flight_log(f, LL_ERROR, "%s", msg);
    /* its message may reach a worker again (a worker's warm shutdown gives back what it
     * prefetched, kombu's Redis transport what a killed worker held, after its visibility
     * timeout): the workers are told not to run it, now and as they come (back) online; one
     * that runs it after all (only stalled) is not stopped, and its result is told */
    f->after_revokes = true;
    f->after_signal = NULL;
    broadcast(f->broker, "revoke", revoke_args(f->run.id, NULL), false);
    flight_log(f, LL_INFO, "the workers are told not to run the task, should its message reach "
                           "one again");
    f->watch_after = true;
    finish(f, RUN_FAILED, msg, NULL);
}

static void on_last_look(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    redisReply *r = reply;
    struct celery *c = ((struct req *)arg)->c;
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", ((struct req *)arg)->id);
    struct flight *f = req_flight(arg);
    if (!f) return;
    f->check_pending = false;
    if (!r) return; /* the connection went: read again on a later tick */
    if (r->type == REDIS_REPLY_STRING) {
        on_meta(f, r->str, r->len);
        f = map_get(&c->flights, id);
        /* it ended; or it waits a moment for the start an outcome it holds needs */
        if (!f || f->held_meta) return;
    } else if (r->type == REDIS_REPLY_NIL && f->ev_end) {
        end_from_event(f); /* the task stores no result (ignore_result) */
        return;
    }
    fail_lost(f);
}

/* Before a run is failed as lost: its result key is read once more. */
static void last_look(struct flight *f)
{
    char key[64];
    meta_key(key, f->run.id);
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, strlen(key)};
    struct req *q = req_new(f);
    f->check_pending = cmd_argv(f->backend, on_last_look, q, 2, argv, lens);
    if (!f->check_pending) {
        free(q);
        fail_lost(f); /* the backend cannot be reached: what the last read said holds */
    }
}

static void check_flight(struct flight *f, int64_t now)
{
    struct endpoint *b = f->broker;
    char d[32], g[32];
    if (f->state == F_UNSENT) {
        flight_send(f);
        return;
    }
    if (f->stopping && stop_over(f, now)) return;
    if (!settled(&b->cmd, now) || !settled(&b->sub, now) || f->check_pending) return;
    if (f->resumed && f->state == F_SENT && b->amqp) {
        /* no LPOS on AMQP: the workers are asked, and the result backend read */
        f->resumed = false;
        f->state = F_TAKEN;
        f->unclaimed_since = now;
        flight_log(f, LL_WARNING,
                   "taken over while its message was in queue %s, where AMQP cannot look it "
                   "up: asking the workers; lost in %s unless one takes or has the task or a "
                   "result comes",
                   f->run.queue, dur(f->accept_ms + QUERY_GRACE_US / 1000, d));
        return;
    }
    if (f->resumed && f->state == F_SENT) {
        const char *argv[] = {"LPOS", f->run.queue, f->envelope};
        size_t lens[] = {4, strlen(f->run.queue), strlen(f->envelope)};
        struct req *q = req_new(f);
        f->check_pending = cmd_argv(b, on_lpos, q, 3, argv, lens);
        if (!f->check_pending) free(q);
        return;
    }
    int64_t since = b->sub.up_since > f->sent_at ? b->sub.up_since : f->sent_at;
    if (f->stopping) {
        if (!f->stop_unsent && f->stop_deadline && now < f->stop_deadline) return;
        if (f->stop_unsent) /* the broker is back: what waited for it goes */
            resend_stop(f);
        else if (f->state == F_SENT && f->revokes == 0)
            withdraw(f);
        else if (f->revokes < 2)
            revoke_task(f, f->revokes == 0 ? "SIGTERM" : "SIGKILL");
        else
            end_stop(f);
        return;
    }
    if (f->state == F_SENT && now - since > f->accept_ms * 1000) {
        withdraw(f);
        return;
    }
    if (f->state == F_STARTED && f->run.timeout_ms > 0 && f->timed_from) {
        int64_t over = now - f->timed_from - f->run.timeout_ms * 1000;
        /* the worker's time limits stop the task: a revoke now would cut short what the
         * task does on SoftTimeLimitExceeded; whatever it ends with, the run timed out */
        if (over > 0) note_timeout(f);
        if (over > f->grace_ms * 1000 + LIMIT_SLACK_US) {
            /* the worker did not enforce the limits (a pool without them: solo, threads) */
            flight_log(f, LL_ERROR, "the worker did not end the task at its hard time limit");
            f->stopping = true;
            f->stop_at = now;
            f->revokes = 1; /* the soft limit was the SIGTERM */
            revoke_task(f, "SIGKILL");
            return;
        }
    }
    if (f->unclaimed_since) {
        /* no result came meanwhile either (the keys are read every 5 s, and once more now) */
        if (now - f->unclaimed_since > f->accept_ms * 1000 + QUERY_GRACE_US) {
            last_look(f);
            return;
        }
        if (now - f->last_query >= QUERY_EVERY_US) {
            f->last_query = now;
            broadcast(b, "query_task", json_pack("{s:[s]}", "ids", f->run.id), true);
        }
    }
    const char *host = flight_worker(f);
    struct worker *w = host && f->state >= F_TAKEN ? map_get(&b->workers, host) : NULL;
    if (w) {
        int64_t seen = w->seen > b->sub.up_since ? w->seen : b->sub.up_since;
        int64_t limit = heart_window(w);
        if (now - seen > limit && w->heartless) {
            /* nothing can tell whether it dies: the run is not watched for a lost worker */
            if (!f->said_heartless) flight_log(f, LL_WARNING, "worker %s " HEARTLESS, host);
            f->said_heartless = true;
        } else if (now - seen > limit && !w->heart) {
            /* no heartbeat of it was ever heard: it may be gone (sked knows of it only from
             * an answer, or from the run's record after a restart), or live without them.
             * The workers are asked: one that answers lives (worker_answered), and when none
             * has the task the run is lost as any task nobody claims */
            if (!f->unclaimed_since) {
                f->unclaimed_since = now;
                flight_log(f, LL_WARNING,
                           "no heartbeat of worker %s was ever heard, nor anything from it for "
                           "%s: asking the workers whether one has the task; lost in %s unless "
                           "one has it or a result comes",
                           host, dur((now - seen) / 1000, d),
                           dur(f->accept_ms + QUERY_GRACE_US / 1000, g));
            }
        } else if (now - seen > limit) {
            /* its heartbeats stopped, or it said worker-offline (a shutdown ends or kills
             * its tasks first) and the task did not end since */
            char *why = xasprintf("%s for %s", w->offline ? "offline" : "no heartbeat",
                                  dur((now - seen) / 1000, d));
            if (f->state == F_STARTED) {
                /* dead, or only stalled: a worker whose main process is stopped or starved
                 * sends nothing while its pool child runs the task on and stores the
                 * result. The result backend, the authority, is read, and the workers are
                 * asked (one may run the task again: acks_late); the run fails only when
                 * neither tells of the task within accept_timeout + 10 s. Said once: a worker
                 * that answers without heartbeats is asked again and again */
                if (!f->unclaimed_since) f->unclaimed_since = now;
                if (!f->lost_why) {
                    f->lost_why = xasprintf("worker %s lost: %s", host, why);
                    flight_log(f, LL_WARNING,
                               "worker %s lost (%s) while it ran the task: reading its result "
                               "and asking the workers whether one has the task; failed in %s "
                               "unless one has it or a result comes",
                               host, why, dur(f->accept_ms + QUERY_GRACE_US / 1000, g));
                    read_metas(f->backend, f);
                }
            } else if (f->state == F_TAKEN) {
                /* received, not started: a warm shutdown gives such messages back to the
                 * queue, and a worker may take it again before it expires (sent +
                 * accept_timeout) */
                if (!f->unclaimed_since) {
                    f->unclaimed_since = now;
                    flight_log(f, LL_WARNING,
                               "worker %s lost (%s) before it started the task: its message "
                               "may go back to queue %s; lost in %s unless a worker takes or "
                               "has the task or a result comes",
                               host, why, f->run.queue,
                               dur(f->accept_ms + QUERY_GRACE_US / 1000, g));
                }
            }
            free(why);
        } else if (f->lost_why) {
            /* its heartbeats came back: it was stalled, not dead */
            free(f->lost_why);
            f->lost_why = NULL;
            flight_log(f, LL_INFO, "worker %s is heard from again", host);
        }
    }
}

static void queue_len_cb(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    struct qslot *q = arg;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_INTEGER) q->len = r->integer;
}

/* queue of ep is in use from now on (until a tick finds it is not). */
static void note_queue(struct endpoint *ep, const char *queue)
{
    struct qslot *q = map_get(&ep->qlen, queue);
    if (!q) {
        q = xcalloc(1, sizeof *q);
        q->len = -1;
        map_put(&ep->qlen, queue, q);
    }
    q->used = true;
}

/* Ends the epilogues of job job_id (its runs are deleted), of endpoint ep (closed), or that are
 * over by now (each when given). */
static void drop_afters(struct celery *c, const char *job_id, const struct endpoint *ep,
                        int64_t now)
{
    size_t it, n = 0;
    char (*ids)[UUID_STR_LEN] = xcalloc(c->afters.count + 1, UUID_STR_LEN);
    for (struct map_entry *e = map_first(&c->afters, &it); e; e = map_next(&c->afters, &it, e)) {
        const struct flight *f = e->value;
        if ((job_id && strcmp(f->run.job_id, job_id) == 0) ||
            (ep && (f->broker == ep || f->backend == ep)) || (now && f->after_until <= now))
            snprintf(ids[n++], UUID_STR_LEN, "%s", f->run.id);
    }
    for (size_t i = 0; i < n; i++) flight_free(map_get(&c->afters, ids[i]));
    free(ids);
}

/*
 * Connects to what the loaded job types use, and closes the endpoints that neither they nor a
 * run in flight use any more: after a reload took a job type away, its broker is let go (not
 * reconnected until shutdown), once its last run has ended. A queue nothing uses any more is
 * no longer listed or read.
 */
static void prune(struct celery *c)
{
    size_t it, qi;
    for (struct map_entry *e = map_first(&c->endpoints, &it); e;
         e = map_next(&c->endpoints, &it, e)) {
        struct endpoint *ep = e->value;
        ep->used = false;
        for (struct map_entry *q = map_first(&ep->qlen, &qi); q; q = map_next(&ep->qlen, &qi, q))
            ((struct qslot *)q->value)->used = false;
    }
    const struct taskset *ts = dispatch_tasks(c->d);
    for (size_t i = 0; ts && i < ts->count; i++) {
        const struct task *t = ts->tasks[i];
        if (!t->celery) continue;
        struct endpoint *b = endpoint_get(c, EP_BROKER, t->celery->broker);
        struct endpoint *r = endpoint_get(c, EP_BACKEND, t->celery->result_backend);
        if (r) r->used = true;
        if (!b) continue;
        b->used = true;
        /* watched even without runs */
        note_queue(b, t->celery->queue   ? t->celery->queue
                      : t->default_queue ? t->default_queue
                                         : "celery");
    }
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e)) {
        struct flight *f = e->value;
        if (f->backend) f->backend->used = true;
        if (f->broker) {
            f->broker->used = true;
            note_queue(f->broker, f->run.queue);
        }
    }
    size_t n = 0;
    char **gone = xcalloc(c->endpoints.count + 1, sizeof *gone);
    for (struct map_entry *e = map_first(&c->endpoints, &it); e;
         e = map_next(&c->endpoints, &it, e))
        if (!((struct endpoint *)e->value)->used) gone[n++] = xstrdup(e->key);
    for (size_t i = 0; i < n; i++) {
        struct endpoint *ep = map_del(&c->endpoints, gone[i]);
        log_info("celery.closed", "%s=%s reason=\"no job type or run uses it\"", ep_what(ep),
                 ep->display);
        drop_afters(c, NULL, ep, 0); /* what they watched goes with it */
        endpoint_free(ep);
        free(gone[i]);
    }
    free(gone);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct celery *c = arg;
    int64_t now = time_now_us();
    size_t it;
    /* collected first: checks may end flights, which changes the map */
    size_t n = c->flights.count, k = 0;
    char (*ids)[UUID_STR_LEN] = xcalloc(n ? n : 1, UUID_STR_LEN);
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e))
        snprintf(ids[k++], UUID_STR_LEN, "%s", e->key);
    for (size_t i = 0; i < k; i++) {
        struct flight *f = map_get(&c->flights, ids[i]);
        if (f && f->state != F_WAITING) check_flight(f, now);
    }
    free(ids);
    bool poll = now - c->last_meta_poll >= META_POLL_US;
    if (poll) c->last_meta_poll = now;
    drop_afters(c, NULL, NULL, now);
    prune(c);
    for (struct map_entry *e = map_first(&c->endpoints, &it); e;
         e = map_next(&c->endpoints, &it, e)) {
        struct endpoint *ep = e->value;
        if (ep->kind == EP_BACKEND) {
            if (poll) read_metas(ep, NULL);
            continue;
        }
        if (!ep->cmd.up) continue;
        if (ep->amqp) {
            if (now - ep->asked_queues >= QUEUES_POLL_US) {
                if (ep->asked_queues) broadcast(ep, "enable_events", json_object(), false);
                ask_queues(ep);
            }
            size_t qi;
            for (struct map_entry *q = map_first(&ep->qlen, &qi); q;
                 q = map_next(&ep->qlen, &qi, q))
                if (((struct qslot *)q->value)->used && ep->ab)
                    amqp_broker_queue_info(ep->ab, q->key);
            prune_tombs(ep, now);
            continue;
        }
        if (ep->sub.up && now - ep->asked_queues >= QUEUES_POLL_US) {
            if (ep->asked_queues) broadcast(ep, "enable_events", json_object(), false);
            ask_queues(ep);
        }
        char rq[96];
        reply_queue(c, rq);
        const char *argv[] = {"RPOP", rq};
        size_t lens[] = {4, strlen(rq)};
        cmd_argv(ep, on_reply, ep, 2, argv, lens);
        size_t qi;
        for (struct map_entry *q = map_first(&ep->qlen, &qi); q; q = map_next(&ep->qlen, &qi, q)) {
            if (!((struct qslot *)q->value)->used) continue;
            const char *largv[] = {"LLEN", q->key};
            size_t llens[] = {4, strlen(q->key)};
            cmd_argv(ep, queue_len_cb, q->value, 2, largv, llens);
        }
    }
    struct timeval tv = {0, TICK_MS * 1000};
    evtimer_add(c->tick_ev, &tv);
}

/* The reply to LREM of an epilogue's message, once the broker is back. */
static void on_taken_back(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)ac;
    redisReply *r = reply;
    struct req *q = arg;
    struct flight *f = q->c->closing ? NULL : map_get(&q->c->afters, q->id);
    free(q);
    if (!f || !r || r->type != REDIS_REPLY_INTEGER) return; /* again when it is back again */
    free(f->envelope);
    f->envelope = NULL;
    if (r->integer > 0) { /* no worker had taken it: nothing runs, nothing is left to watch */
        if (run_exists(f))
            flight_log(f, LL_INFO,
                       "the broker is back: the message was taken out of queue %s, and no "
                       "worker runs the task",
                       f->run.queue);
        flight_free(f);
    }
    /* else a worker took it meanwhile (its revoke goes on), or the broker lost it */
}

/* ep's command connection is back: the stops that waited for it go (stop_grace counting from
 * now), the revokes of runs that ended stopped go again, and the messages of those that ended
 * while it could not be reached are taken out of their queues. */
static void stops_resume(struct endpoint *ep)
{
    struct celery *c = ep->c;
    size_t it;
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e)) {
        struct flight *f = e->value;
        if (f->broker == ep && f->stopping && f->stop_unsent) resend_stop(f); /* f stays */
    }
    revoke_afters(ep);
    for (struct map_entry *e = map_first(&c->afters, &it); e; e = map_next(&c->afters, &it, e)) {
        struct flight *f = e->value;
        if (f->broker != ep || !f->envelope || ep->amqp) continue;
        const char *argv[] = {"LREM", f->run.queue, "1", f->envelope};
        size_t lens[] = {4, strlen(f->run.queue), 1, strlen(f->envelope)};
        struct req *q = req_new(f);
        if (!cmd_argv(ep, on_taken_back, q, 4, argv, lens)) free(q);
    }
}

/* A connection became ready: what waited for it goes now. */
static void ep_up(struct rconn *rc)
{
    struct endpoint *ep = rc->ep;
    struct celery *c = ep->c;
    if (ep->kind == EP_BACKEND) {
        if (!rc->sub && ep->cmd.up) read_metas(ep, NULL); /* what was missed while away */
        return;
    }
    /* workers started without -E report task events from now on (a broadcast needs both
     * connections: it goes out on the command one, its effect is heard on the other) */
    if (ep->cmd.up && ep->sub.up) broadcast(ep, "enable_events", json_object(), false);
    if (rc->sub) {
        ep->asked_queues = 0;
        return;
    }
    ep->bound = false;
    stops_resume(ep);
    size_t it;
    /* the connection came back: messages workers had received and not started may be gone
     * with the broker (Celery drops them with its connection, and a Redis without persistence
     * its record of them), and no event would tell: the workers are asked */
    int64_t now = time_now_us();
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e)) {
        struct flight *f = e->value;
        if (f->broker != ep || f->state != F_TAKEN || f->unclaimed_since) continue;
        f->unclaimed_since = now;
        char d[32];
        flight_log(f, LL_WARNING,
                   "connected to the broker again: asking the workers whether one still has "
                   "the task (received, not started); lost in %s unless one has it or a result "
                   "comes",
                   dur(f->accept_ms + QUERY_GRACE_US / 1000, d));
    }
    size_t n = c->flights.count, k = 0;
    char (*ids)[UUID_STR_LEN] = xcalloc(n ? n : 1, UUID_STR_LEN);
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e))
        snprintf(ids[k++], UUID_STR_LEN, "%s", e->key);
    for (size_t i = 0; i < k; i++) {
        struct flight *f = map_get(&c->flights, ids[i]);
        if (f && f->broker == ep && f->state == F_UNSENT) flight_send(f);
    }
    free(ids);
}

/* ---- AMQP brokers: what their threads report (celery_amqp.c) ---- */

static char *amqp_display(const struct amqp_url *u)
{
    /* kombu's spelling: the default virtual host "/" makes "//" */
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s://", u->tls ? "amqps" : "amqp");
    display_user(&b, u->username);
    buf_printf(&b, "%s:%d/%s", u->host, u->port, u->vhost);
    return buf_steal(&b);
}

static void amqp_on_up(void *arg)
{
    struct endpoint *ep = arg;
    int64_t now = time_now_us();
    ep->cmd.up = ep->sub.up = true;
    ep->cmd.up_since = ep->sub.up_since = now;
    if (ep->cmd.warned) log_info("celery.connected", "broker=%s conn=amqp", ep->display);
    ep->cmd.warned = false;
    ep->said_refused = false;
    ep->asked_queues = 0; /* a reconnect: the workers are asked again */
    revoke_tombs(ep, now);
    ep_up(&ep->cmd); /* enable_events, then what waited to be sent */
}

static void amqp_on_down(void *arg, const char *why)
{
    struct endpoint *ep = arg;
    bool was_up = ep->cmd.up;
    ep->cmd.up = ep->sub.up = false;
    endpoint_down_why(ep, why);
    say_all_waiting(ep);
    if (!ep->cmd.warned || was_up)
        log_warn("celery.disconnected", "broker=%s conn=amqp reason=%s", ep->display, log_q(why));
    ep->cmd.warned = true;
}

static void amqp_on_event(void *arg, const char *body, size_t len)
{
    struct endpoint *ep = arg;
    if (ep->c->closing) return;
    struct celery_event *evs;
    size_t n;
    struct sk_err e = {0};
    if (celery_events_parse_body(body, len, &evs, &n, &e) != 0) {
        log_debug("celery.bad_event", "broker=%s reason=%s", ep->display, log_q(e.msg));
        return;
    }
    for (size_t i = 0; i < n; i++) apply_event(ep, &evs[i]);
    celery_events_free(evs, n);
}

static void amqp_on_reply(void *arg, const char *body, size_t len)
{
    struct endpoint *ep = arg;
    if (ep->c->closing) return;
    struct sk_err e = {0};
    json_t *doc = celery_body_parse(body, len, &e);
    if (json_is_object(doc)) apply_reply(ep, doc);
    json_decref(doc);
}

static void amqp_on_published(void *arg, const char *id, enum amqp_outcome outcome,
                              const char *detail)
{
    struct endpoint *ep = arg;
    if (!id) { /* a broadcast (revoke, enable_events, ...) the broker refused */
        if (!ep->said_refused) {
            char *why = xasprintf("%s: stops and other control messages do not reach the "
                                  "workers; allow the broker's user to write to the exchange "
                                  "celery.pidbox",
                                  detail ? detail : "refused");
            log_warn("celery.broadcast_refused", "broker=%s reason=%s", ep->display, log_q(why));
            free(why);
        }
        ep->said_refused = true;
        return;
    }
    struct flight *f = ep->c->closing ? NULL : map_get(&ep->c->flights, id);
    if (!f || f->broker != ep) return;
    if (outcome == AMQP_CONFIRMED) {
        if (detail) flight_log(f, LL_WARNING, "%s", detail);
        if (!f->said_sent)
            flight_log(f, LL_INFO, "sent to celery queue %s (the broker confirmed it)",
                       f->run.queue);
        f->said_sent = true;
        return;
    }
    if (f->state != F_SENT) return; /* a worker has it already */
    if (outcome == AMQP_LOST) {
        /* the broker may have it all the same: a worker that gets both runs the task twice
         * at worst, under the same id */
        f->state = F_UNSENT;
        flight_log(f, LL_WARNING,
                   "the broker did not confirm the message before its connection went%s%s: it "
                   "is sent again once the broker is back",
                   detail ? ": " : "", detail ? detail : "");
        return;
    }
    const char *what = outcome == AMQP_UNROUTED   ? "no queue took the message"
                       : outcome == AMQP_DECLINED ? "the broker declined the message"
                                                  : "the broker refused the message";
    char *msg = xasprintf("%s for celery queue %s%s%s", what, f->run.queue, detail ? ": " : "",
                          detail ? detail : "");
    flight_log(f, LL_ERROR, "%s", msg);
    finish(f, RUN_FAILED, msg, NULL);
}

static void amqp_on_queue_info(void *arg, const char *queue, int64_t messages, int64_t consumers)
{
    (void)consumers;
    struct endpoint *ep = arg;
    struct qslot *q = map_get(&ep->qlen, queue);
    if (q) q->len = messages;
}

static void amqp_on_withdrawn(void *arg, const char *id, bool taken, const char *why)
{
    struct endpoint *ep = arg;
    struct flight *f = ep->c->closing ? NULL : map_get(&ep->c->flights, id);
    if (!f || f->broker != ep) return;
    f->check_pending = false;
    if (taken) { /* exact, as LREM on Redis: no worker ever sees it */
        finish(f, RUN_CANCELLED, stopped_message(f, " before a worker took it"), NULL);
        return;
    }
    if (f->state == F_SENT) {
        flight_log(f, LL_INFO, "the message could not be taken out of queue %s: %s", f->run.queue,
                   why ? why : "");
        leave_queued(f);
    } else if (f->revokes == 0) {
        revoke_task(f, "SIGTERM"); /* a worker took it meanwhile */
    }
}

/* A worker came online, or the broker connection came back: the tasks stopped while queued are
 * revoked again. */
static void revoke_tombs(struct endpoint *ep, int64_t now)
{
    size_t it;
    for (struct map_entry *e = map_first(&ep->tombs, &it); e; e = map_next(&ep->tombs, &it, e))
        if (*(int64_t *)e->value > now)
            broadcast(ep, "revoke",
                      json_pack("{s:s,s:b,s:s}", "task_id", e->key, "terminate", 1, "signal",
                                "SIGTERM"),
                      false);
}

static void prune_tombs(struct endpoint *ep, int64_t now)
{
    size_t it, n = 0;
    char **gone = xcalloc(ep->tombs.count + 1, sizeof *gone);
    for (struct map_entry *e = map_first(&ep->tombs, &it); e; e = map_next(&ep->tombs, &it, e))
        if (*(int64_t *)e->value <= now) gone[n++] = xstrdup(e->key);
    for (size_t i = 0; i < n; i++) {
        free(map_del(&ep->tombs, gone[i]));
        free(gone[i]);
    }
    free(gone);
}

/* ---- the interface ---- */

struct celery *celery_new(struct event_base *base, struct dispatch *d, const struct config *cfg)
{
    struct celery *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->d = d;
    c->store = dispatch_store(d);
    c->events = dispatch_events(d);
    c->cfg = cfg;
    map_init(&c->endpoints);
    map_init(&c->flights);
    map_init(&c->afters);
    uuid_v4(c->oid);
    c->last_meta_poll = time_now_us();
    c->tick_ev = evtimer_new(base, on_tick, c);
    struct timeval tv = {0, TICK_MS * 1000};
    evtimer_add(c->tick_ev, &tv);
    return c;
}

void celery_free(struct celery *c)
{
    if (!c) return;
    c->closing = true;
    size_t it;
    for (struct map_entry *e = map_first(&c->endpoints, &it); e; e = map_next(&c->endpoints, &it, e)) {
        struct endpoint *ep = e->value;
        if (ep->kind == EP_BROKER && !ep->amqp && ep->bound && ep->cmd.up) {
            char rq[96], member[160];
            reply_queue(c, rq);
            snprintf(member, sizeof member, "%s\x06\x16%s\x06\x16%s", c->oid, c->oid, rq);
            redisAsyncCommand(ep->cmd.ac, NULL, NULL, "SREM _kombu.binding.reply.celery.pidbox %b",
                              member, strlen(member));
        }
    }
    /* flights first: endpoints' pending callbacks look flights up */
    while (c->flights.count) {
        struct map_entry *e = map_first(&c->flights, &it);
        flight_free(e->value);
    }
    map_release(&c->flights);
    while (c->afters.count) {
        struct map_entry *e = map_first(&c->afters, &it);
        flight_free(e->value);
    }
    map_release(&c->afters);
    for (struct map_entry *e = map_first(&c->endpoints, &it); e; e = map_next(&c->endpoints, &it, e))
        endpoint_free(e->value);
    map_release(&c->endpoints);
    offload_free(c->resolver); /* waits for a lookup in progress */
    event_free(c->tick_ev);
    free(c);
}

static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct flight *f = arg;
    f->state = F_UNSENT;
    flight_send(f);
}

/* Follows run r (its members are taken over) of the Celery job type t. */
static struct flight *flight_new(struct celery *c, struct run *r, const struct task *t)
{
    struct flight *f = xcalloc(1, sizeof *f);
    f->c = c;
    f->run = *r;
    run_init(r);
    f->broker = endpoint_get(c, EP_BROKER, t->celery->broker);
    f->backend = endpoint_get(c, EP_BACKEND, t->celery->result_backend);
    f->task = xstrdup(t->celery->task);
    f->accept_ms = t->celery->accept_timeout_ms;
    f->grace_ms = t->stop_grace_ms >= 0 ? t->stop_grace_ms : c->cfg->stop_grace_ms;
    f->next_seq = store_log_last_seq(c->store, f->run.rid) + 1;
    f->state = F_UNSENT;
    if (secrets_referred(f->run.args)) { /* for a run taken over after a restart (already sent) */
        char why[600];
        f->mask = json_array();
        json_decref(secrets_resolve(c->cfg->secrets_dir, f->run.args, f->mask, why, sizeof why));
        if (!json_array_size(f->mask)) json_decref(f->mask), f->mask = NULL;
    }
    map_put(&c->flights, f->run.id, f);
    if (f->broker) note_queue(f->broker, f->run.queue);
    return f;
}

/* A retry waits for its not_before; anything else goes now. */
static void wait_or_send(struct flight *f)
{
    int64_t now = time_now_us();
    if (f->run.not_before != NO_TIME && f->run.not_before > now) {
        f->state = F_WAITING;
        f->wait_ev = evtimer_new(f->c->base, on_wait_over, f);
        int64_t wait = f->run.not_before - now;
        struct timeval tv = {wait / 1000000, wait % 1000000};
        evtimer_add(f->wait_ev, &tv);
        return;
    }
    flight_send(f);
}

void celery_submit(struct celery *c, const struct run *r, const struct task *t)
{
    struct run copy;
    run_copy(&copy, r);
    struct flight *f = flight_new(c, &copy, t);
    if (!f->broker || !f->backend) {
        finish(f, RUN_FAILED, xstrdup("the broker or result backend URL is not usable"), NULL);
        return;
    }
    wait_or_send(f);
}

void celery_stop(struct celery *c, const struct run *r, const struct user_ref *by)
{
    struct flight *f = map_get(&c->flights, r->id);
    if (!f) { /* nothing follows it (its job type is gone): it ends here */
        struct run copy;
        run_copy(&copy, r);
        f = xcalloc(1, sizeof *f);
        f->c = c;
        f->run = copy;
        map_put(&c->flights, f->run.id, f);
        finish(f, RUN_CANCELLED, stopped_message(f, NULL), NULL);
        return;
    }
    if (f->stopping) return;
    f->stopping = true;
    f->stop_at = time_now_us();
    f->run.status = RUN_CANCELLING;
    free(f->run.stopped_by.id);
    free(f->run.stopped_by.name);
    f->run.stopped_by.id = by->id ? xstrdup(by->id) : NULL;
    f->run.stopped_by.name = by->name ? xstrdup(by->name) : NULL;
    flight_log(f, LL_WARNING, "stop requested%s%s", by->name ? " by " : "", by->name ? by->name : "");
    if (f->state == F_WAITING || f->state == F_UNSENT) {
        finish(f, RUN_CANCELLED, stopped_message(f, " before it was sent"), NULL);
        return;
    }
    if (f->state == F_SENT)
        withdraw(f); /* exact: the very bytes we pushed */
    else
        revoke_task(f, "SIGTERM");
}

void celery_job_deleted(struct celery *c, const char *job_id)
{
    size_t it;
    size_t n = c->flights.count, k = 0;
    char (*ids)[UUID_STR_LEN] = xcalloc(n ? n : 1, UUID_STR_LEN);
    for (struct map_entry *e = map_first(&c->flights, &it); e; e = map_next(&c->flights, &it, e))
        if (strcmp(((struct flight *)e->value)->run.job_id, job_id) == 0)
            snprintf(ids[k++], UUID_STR_LEN, "%s", e->key);
    for (size_t i = 0; i < k; i++) {
        struct flight *f = map_get(&c->flights, ids[i]);
        if (f->state >= F_SENT && f->state != F_SENT) revoke_task(f, "SIGTERM");
        if (f->state == F_SENT) {
            if (f->broker->amqp)
                bury(f);
            else
                withdraw(f);
        }
        flight_free(f);
    }
    free(ids);
    drop_afters(c, job_id, NULL, 0);
}

int celery_resume(struct celery *c)
{
    struct run *runs;
    size_t n;
    int rc = store_runs_remote(c->store, "celery", c->cfg->node, &runs, &n);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        struct run *r = &runs[i];
        const struct task *t = taskset_get(dispatch_tasks(c->d), r->task);
        struct run copy;
        run_copy(&copy, r);
        if (!t || !t->celery) {
            struct flight *f = xcalloc(1, sizeof *f);
            f->c = c;
            f->run = copy;
            f->next_seq = store_log_last_seq(c->store, f->run.rid) + 1;
            map_put(&c->flights, f->run.id, f);
            flight_log(f, LL_ERROR, "the Celery job type '%s' is not loaded any more", r->task);
            finish(f, RUN_FAILED,
                   xasprintf("interrupted: the Celery job type '%s' is not loaded any more", r->task),
                   NULL);
            continue;
        }
        struct flight *f = flight_new(c, &copy, t);
        const char *env = f->run.remote ? json_str(f->run.remote, "envelope") : NULL;
        json_t *sent = f->run.remote ? json_object_get(f->run.remote, "sent_at") : NULL;
        if (env && *env) {
            f->envelope = xstrdup(env);
            f->sent_at = json_is_integer(sent) ? json_integer_value(sent) : time_now_us();
            f->state = f->run.status == RUN_QUEUED ? (flight_worker(f) ? F_TAKEN : F_SENT)
                                                   : F_STARTED;
            f->resumed = f->state == F_SENT;
            if (f->state == F_STARTED)
                f->timed_from = f->run.started_at != NO_TIME ? f->run.started_at : time_now_us();
        }
        if (f->run.status == RUN_CANCELLING) {
            /* what the earlier process sent is not known: the stop goes again as soon as the
             * broker is connected, its bounds counting from this start */
            f->stopping = true;
            f->stop_at = time_now_us();
            f->stop_unsent = true;
            if (f->state == F_UNSENT) {
                finish(f, RUN_CANCELLED, stopped_message(f, " before it was sent"), NULL);
                continue;
            }
        }
        if (f->state == F_UNSENT) wait_or_send(f);
        /* its worker counts as heard of now: its heartbeats decide from here; and the
         * workers are asked whether one still has the task (its end, or the result key, may
         * have been missed for good while sked was down) */
        if (flight_worker(f) && f->broker) worker_get(f->broker, flight_worker(f));
        if (f->state >= F_TAKEN) f->unclaimed_since = time_now_us();
        log_info("celery.resumed", "run=%s state=%d", f->run.id, (int)f->state);
    }
    store_runs_free(runs, n);
    /* the brokers and queues of the job types now, not at the first tick: GET /api/queues
     * lists them from the start (their lengths unknown until asked) */
    prune(c);
    return (int)n;
}

json_t *celery_queues_json(struct celery *c)
{
    json_t *out = json_array();
    int64_t now = time_now_us();
    size_t it;
    for (struct map_entry *e = map_first(&c->endpoints, &it); e; e = map_next(&c->endpoints, &it, e)) {
        struct endpoint *ep = e->value;
        if (ep->kind != EP_BROKER) continue;
        size_t qi;
        for (struct map_entry *q = map_first(&ep->qlen, &qi); q; q = map_next(&ep->qlen, &qi, q)) {
            const struct qslot *slot = q->value;
            if (!slot->used) continue;
            int64_t len = slot->len;
            int busy = 0;
            size_t fi;
            for (struct map_entry *fe = map_first(&c->flights, &fi); fe;
                 fe = map_next(&c->flights, &fi, fe)) {
                struct flight *f = fe->value;
                busy += f->broker == ep && f->state == F_STARTED && strcmp(f->run.queue, q->key) == 0;
            }
            json_t *workers = json_array();
            size_t wi;
            for (struct map_entry *we = map_first(&ep->workers, &wi); we;
                 we = map_next(&ep->workers, &wi, we)) {
                struct worker *w = we->value;
                bool consumes = false;
                size_t i;
                json_t *name;
                json_array_foreach(w->queues, i, name)
                    consumes = consumes || strcmp(json_string_value(name), q->key) == 0;
                if (!consumes) continue;
                char ts[TIME_STR_MAX];
                time_format(w->seen, ts);
                bool alive = w->online && now - w->seen <= heart_window(w);
                json_array_append_new(workers, json_pack("{s:s,s:s,s:i,s:b}", "hostname",
                                                         w->hostname, "last_heartbeat", ts,
                                                         "active", w->active, "online", alive));
            }
            json_array_append_new(
                out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:n,s:i,s:o,s:b,s:o}", "name", q->key,
                               "title", q->key, "executor", "celery", "broker", ep->display,
                               "connected", ep->cmd.up, "concurrency", "busy", busy, "queued",
                               len >= 0 ? json_integer(len) : json_null(), "removed", 0,
                               "workers", workers));
        }
    }
    return out;
}
