/*
 * celery_msg: the messages sked exchanges with Celery workers through Redis - task messages
 * (protocol 2 in kombu's Redis envelope), pidbox control broadcasts (revoke, enable_events),
 * result-backend values, events, and the broker URL. Pure functions: no I/O, no clock, no
 * randomness; every id and instant comes in as a parameter, so each message is reproducible
 * byte for byte (the executor removes a still-queued message with LREM of its exact bytes).
 *
 * A malformed item on a kombu Redis list stops the worker that pops it (kombu's Redis QoS and
 * channel read it without catching errors), so every envelope built here is re-checked before
 * it is returned, and everything read back from Redis is parsed as hostile input.
 */
#ifndef SKED_CELERY_MSG_H
#define SKED_CELERY_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* argsrepr/kwargsrepr keep at most this many bytes, then "..." */
#define CELERY_REPR_MAX 1024

/*
 * The most levels a run's arguments may nest, the arguments object counting as one ({"k":
 * [[1]]} has three). A worker decodes a message's body with Python's json, which recurses once
 * a level within the interpreter's recursion limit (1000 by default, less the frames of the
 * worker's own calls): a deeper message makes the worker drop it with a RecursionError, no
 * event and no result telling. A hundred leaves that limit ample room, and no real task takes
 * anything near it.
 */
#define CELERY_ARGS_MAX_DEPTH 100

/* A task message (protocol 2) for kombu's Redis transport. */
struct celery_task_msg {
    const char *id;                /* task id (sked's run id, a UUID) */
    const char *task;              /* registered task name, e.g. "app.tasks.add" */
    const char *queue;             /* routing key = the Redis list name */
    const json_t *args;            /* array */
    const json_t *kwargs;          /* object */
    double hard_limit, soft_limit; /* seconds; <= 0 means null in "timelimit": [hard, soft] */
    int64_t expires_us;            /* epoch microseconds; 0 means null */
    const char *origin;            /* e.g. "sked@hostname" */
    const char *delivery_tag;      /* a fresh UUID */
    /* what argsrepr and kwargsrepr show instead of args and kwargs (secrets.h), or NULL */
    const json_t *shown_args, *shown_kwargs;
};

/*
 * The envelope as compact JSON text (caller frees), checked with celery_envelope_check before
 * it is returned. NULL with e filled (field + reason) when an input is invalid: an empty or
 * missing id/task/queue/origin/delivery_tag, a name with control characters or invalid UTF-8,
 * args not an array, kwargs not an object, either nested deeper than CELERY_ARGS_MAX_DEPTH
 * levels, a limit that is not finite, expires outside the years 1970..9999.
 */
char *celery_task_envelope(const struct celery_task_msg *m, struct sk_err *e);

/*
 * 0 when text is an envelope a kombu Redis consumer can take without crashing: a JSON object
 * with string "body", "content-type" "application/json", "content-encoding" "utf-8", object
 * "headers", object "properties" with string "delivery_tag" and object "delivery_info" holding
 * string "exchange" and "routing_key", "body_encoding" "base64" (the body decoding to valid
 * JSON) or absent (the body itself JSON); with a "task" header (a task message), string
 * headers "task" and "id" and a body [args array, kwargs object, embed object or null].
 * -EINVAL otherwise, with e's field "envelope" and a message naming the member
 * ("properties.delivery_info.exchange must be a string, not null"). Stricter than Python where
 * jansson is (duplicate keys, integers beyond 64 bits): it checks what sked sends.
 */
int celery_envelope_check(const char *text, size_t len, struct sk_err *e);

/*
 * A broadcast control message for the pidbox (PUBLISH on "/{db}.celery.pidbox"), e.g.
 * method "revoke" with arguments {"task_id": ID, "terminate": true, "signal": "SIGTERM"},
 * "enable_events" with {}, or "active_queues" with {} (NULL arguments: {}). reply_oid may be
 * NULL (no reply wanted: no "reply_to" member); ticket likewise (no "ticket"). clock and
 * expires_s go to the headers ({"clock": n, "expires": epoch seconds or 0}). Caller frees;
 * NULL when method or delivery_tag is empty or not a clean name, or arguments not an object.
 */
char *celery_pidbox_envelope(const char *method, const json_t *arguments, const char *ticket,
                             const char *reply_oid, int64_t clock, int64_t expires_s,
                             const char *delivery_tag);

/*
 * The decoded body of any kombu Redis envelope (base64 or plain), parsed as JSON; NULL with e
 * (field "envelope") on anything malformed. Never crashes on hostile input. Integers too big
 * for 64 bits and reals beyond double range come back as strings of their digits rather than
 * failing the whole message (a Python task may return 2**70).
 */
json_t *celery_envelope_body(const char *text, size_t len, struct sk_err *e);

/*
 * A message built for kombu's Redis transport (celery_task_envelope, celery_pidbox_envelope)
 * as an AMQP broker takes it: the body as bytes (base64-decoded: on AMQP the body is the JSON
 * itself), the headers object (to become an AMQP field table), the correlation id (NULL when
 * the envelope has none) and the priority (0..255). The envelope passes celery_envelope_check
 * first; -EINVAL with e otherwise.
 */
struct celery_amqp_parts {
    char *body;
    size_t body_len;
    json_t *headers;
    char *correlation_id;
    int priority;
};
int celery_envelope_amqp(const char *text, size_t len, struct celery_amqp_parts *out,
                         struct sk_err *e);
void celery_amqp_parts_free(struct celery_amqp_parts *p);

/* A result-backend value (celery-task-meta-<id>). */
struct celery_meta {
    char *task_id;   /* may be NULL */
    char *status;    /* "SUCCESS", "FAILURE", "REVOKED", "RETRY", "STARTED", custom states... */
    json_t *result;  /* the result member (any JSON, JSON null when absent), owned */
    char *traceback; /* or NULL */
    /* For FAILURE/REVOKED/RETRY when result is {exc_type, exc_message:[...], exc_module}:
     * exc_message is the list's items joined with ", " (strings as-is, others as compact JSON);
     * a string exc_message is taken as-is. NULL otherwise. */
    char *exc_type, *exc_message;
    /* epoch seconds from "date_done" (naive UTC ISO, or with an offset), 0 when absent or
     * unparseable */
    double date_done;
};
/* 0, or -EINVAL with e (field "meta") when text is not a JSON object with a non-empty string
 * "status". On failure out is left zeroed. Numbers out of range as in celery_envelope_body. */
int celery_meta_parse(const char *text, size_t len, struct celery_meta *out, struct sk_err *e);
/* Frees the members and zeroes m; safe on a zeroed struct. */
void celery_meta_free(struct celery_meta *m);

/*
 * Events published on "/{db}.celeryev/<routing key>": the envelope's body is one event object
 * or (routing key "task.multi") a list of them. Each event keeps its type, uuid (task events),
 * hostname, timestamp and the whole object.
 */
struct celery_event {
    char *type;       /* "task-started", "worker-heartbeat", ... */
    char *uuid;       /* NULL for worker events (or when not a string) */
    char *hostname;   /* may be NULL */
    double timestamp; /* 0 when absent or not a number */
    json_t *doc;      /* the event object, owned */
};
/*
 * 0 with *out (caller frees with celery_events_free) and *n (0 and NULL for an empty list);
 * -EINVAL with e (field "event") when the envelope is malformed or any event in it is not an
 * object with a non-empty string "type": the message is refused whole.
 */
int celery_events_parse(const char *text, size_t len, struct celery_event **out, size_t *n,
                        struct sk_err *e);
void celery_events_free(struct celery_event *ev, size_t n);
/*
 * The same for an event as an AMQP broker delivers it: the message body is the event JSON
 * itself (one object, or a list for "task.multi"), with no kombu envelope around it.
 */
int celery_events_parse_body(const char *text, size_t len, struct celery_event **out, size_t *n,
                             struct sk_err *e);
/*
 * Any other AMQP message body sked reads (pidbox replies): JSON, NULL with e (field "body")
 * when it is not; numbers out of range as in celery_envelope_body.
 */
json_t *celery_body_parse(const char *text, size_t len, struct sk_err *e);

/*
 * A Redis URL: redis://[[username]:password@]host[:port][/db] (port 6379, db 0 by default).
 * The host may be a bracketed IPv6 address; username and password are percent-decoded. No
 * query, fragment, TLS (rediss://), AMQP or Sentinel. -EINVAL with e's field "broker" and a
 * reason that says what stands in the way ("TLS (rediss://) is not supported", "AMQP
 * (RabbitMQ) serves as a broker only ..." (an AMQP broker is parsed by amqp_url_parse), "the
 * rpc:// result backend ... is not supported", "unknown URL option global_keyprefix ...") and never
 * repeats the password; a caller parsing a result backend URL renames the field.
 */
struct redis_url {
    char *host;
    int port;
    int db;
    char *username, *password; /* NULL when absent or empty */
};
int redis_url_parse(const char *url, struct redis_url *out, struct sk_err *e);
/* Frees the members and zeroes u; safe on a zeroed struct. */
void redis_url_free(struct redis_url *u);

/* Whether url names an AMQP broker (amqp:// or its kombu alias pyamqp://). */
bool celery_url_is_amqp(const char *url);

/*
 * An AMQP 0-9-1 (RabbitMQ) broker URL as kombu reads it:
 * amqp://[user[:password]@][host][:port][/vhost], pyamqp:// alike. Defaults as kombu's:
 * guest, guest, localhost, 5672, virtual host "/". The virtual host is the path less its first
 * '/', percent-decoded, "/" when none or empty (amqp://h, amqp://h/ and amqp://h// all name
 * "/"; amqp://h/%2F too; amqp://h/app is "app"). amqps:// is TLS (port 5671), with the
 * options Celery's Redis URLs take for it: ssl_cert_reqs (required, the default, or none),
 * ssl_ca_certs, ssl_certfile and ssl_keyfile (absolute paths, the last two together); no other
 * query option, fragment or failover list. -EINVAL with e's field "broker" and a reason that
 * never repeats the password.
 */
struct amqp_url {
    char *host;
    int port;
    char *vhost;
    char *username, *password; /* never NULL after a successful parse */
    bool tls;
    bool verify;                          /* the broker's certificate and name (TLS) */
    char *ca_certs, *certfile, *keyfile;  /* NULL when not given */
};
int amqp_url_parse(const char *url, struct amqp_url *out, struct sk_err *e);
void amqp_url_copy(struct amqp_url *dst, const struct amqp_url *src); /* every string its own */
void amqp_url_free(struct amqp_url *u);

/*
 * The display repr of a JSON value as Celery's argsrepr/kwargsrepr: JSON with Python's ", "
 * and ": " separators ("[2, 3]", {"a": 1}), cut to at most CELERY_REPR_MAX bytes on a UTF-8
 * boundary with "..." appended when cut. Caller frees.
 */
char *celery_repr(const json_t *v);

/*
 * How many of the first bytes of s (UTF-8) to keep so that it fits in max bytes without a
 * character cut in two: strlen(s) when it fits, else the end of the last whole character
 * within max (utf8_whole).
 */
size_t celery_cut_len(const char *s, size_t max);

#endif
