/*
 * fuzz_celery: what Redis and AMQP brokers hand sked from Celery workers - envelopes,
 * result-backend values, events, pidbox replies - and the broker URLs a person writes. The
 * same bytes go to every parser. Each must refuse with a reason or return what it promises;
 * an envelope the check accepts must have a body sked can read; and a task or control message
 * rebuilt from a fuzzed body must carry that body back unchanged, so no argument value can
 * make sked write an envelope a worker chokes on.
 */
#include <errno.h>
#include <string.h>

#include "base/json.h"
#include "celery_msg.h"
#include "fuzz.h"

static const char embed[] = "{\"callbacks\":null,\"errbacks\":null,\"chain\":null,\"chord\":null}";

/* A task body [args, kwargs, ...] rebuilt into an envelope: either refused for a name, or
 * accepted with the same args and kwargs. */
static void rebuild_task(const json_t *env, const json_t *body)
{
    const json_t *args = json_array_get(body, 0), *kwargs = json_array_get(body, 1);
    if (!json_is_array(args) || !json_is_object(kwargs)) return;
    const json_t *h = json_object_get(env, "headers");
    const json_t *info = json_object_get(json_object_get(env, "properties"), "delivery_info");
    struct celery_task_msg m = {
        .id = json_str(h, "id"),
        .task = json_str(h, "task"),
        .queue = json_str(info, "routing_key"),
        .args = args,
        .kwargs = kwargs,
        .hard_limit = json_number_value(json_array_get(json_object_get(h, "timelimit"), 0)),
        .soft_limit = 0.5,
        .expires_us = 1795948036123456,
        .origin = "sked@fuzz",
        .delivery_tag = "ac1432b4-cdb6-4abb-8fcb-e28d1268b5c4"};
    struct sk_err e = {0};
    char *text = celery_task_envelope(&m, &e);
    if (!text) {
        FUZZ_CHECK(e.code == -EINVAL && e.msg[0]);
        FUZZ_CHECK(strcmp(e.field, "id") == 0 || strcmp(e.field, "task") == 0 ||
                   strcmp(e.field, "queue") == 0);
        return;
    }
    FUZZ_CHECK(celery_envelope_check(text, strlen(text), &e) == 0);
    json_t *back = celery_envelope_body(text, strlen(text), &e);
    FUZZ_CHECK(back != NULL && json_array_size(back) == 3);
    FUZZ_CHECK(json_equal(json_array_get(back, 0), args));
    FUZZ_CHECK(json_equal(json_array_get(back, 1), kwargs));
    char *third = json_dumps(json_array_get(back, 2), JSON_COMPACT);
    FUZZ_CHECK(third && strcmp(third, embed) == 0);
    free(third);
    json_decref(back);
    free(text);
}

/* A control body {method, arguments, ...} rebuilt into a pidbox broadcast. */
static void rebuild_control(const json_t *body)
{
    const char *method = json_str(body, "method");
    const json_t *arguments = json_object_get(body, "arguments");
    if (!method || !json_is_object(arguments)) return;
    char *text = celery_pidbox_envelope(method, arguments, json_str(body, "ticket"),
                                        json_str(json_object_get(body, "reply_to"), "routing_key"),
                                        1, 0, "414a4caf-4266-4a01-9a21-659a36f439b0");
    if (!text) return; /* a method or id no worker could be named by */
    struct sk_err e = {0};
    FUZZ_CHECK(celery_envelope_check(text, strlen(text), &e) == 0);
    json_t *back = celery_envelope_body(text, strlen(text), &e);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(strcmp(json_str(back, "method"), method) == 0);
    FUZZ_CHECK(json_equal(json_object_get(back, "arguments"), arguments));
    json_decref(back);
    free(text);
}

static void envelopes(const char *text, size_t len)
{
    struct sk_err e = {0};
    int rc = celery_envelope_check(text, len, &e);
    FUZZ_CHECK(rc == 0 || (rc == -EINVAL && strcmp(e.field, "envelope") == 0 && e.msg[0]));
    sk_err_clear(&e);
    json_t *body = celery_envelope_body(text, len, &e);
    FUZZ_CHECK(body || (e.code == -EINVAL && e.msg[0]));
    if (rc == 0) FUZZ_CHECK(body != NULL); /* the reader takes all the check accepts */
    if (rc == 0) {
        json_t *env = json_parse(text, len, "envelope", NULL);
        FUZZ_CHECK(env != NULL);
        if (json_is_array(body)) rebuild_task(env, body);
        if (json_is_object(body)) rebuild_control(body);
        json_decref(env);
    }
    json_decref(body);
}

static void results(const char *text, size_t len)
{
    struct celery_meta m;
    struct sk_err e = {0};
    if (celery_meta_parse(text, len, &m, &e) == 0) {
        FUZZ_CHECK(m.status && m.status[0] && m.result);
        FUZZ_CHECK(!m.exc_message || m.exc_type);
        FUZZ_CHECK(m.date_done == m.date_done); /* not NaN */
        celery_meta_free(&m);
        FUZZ_CHECK(!m.status && !m.result);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && strcmp(e.field, "meta") == 0 && e.msg[0]);
        FUZZ_CHECK(!m.status && !m.result && !m.task_id);
    }
}

static void events(const char *text, size_t len)
{
    struct celery_event *ev;
    size_t n;
    struct sk_err e = {0};
    if (celery_events_parse(text, len, &ev, &n, &e) == 0) {
        FUZZ_CHECK((n == 0) == (ev == NULL));
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(ev[i].type && ev[i].type[0] && json_is_object(ev[i].doc));
            FUZZ_CHECK(strcmp(json_str(ev[i].doc, "type"), ev[i].type) == 0);
        }
        celery_events_free(ev, n);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && strcmp(e.field, "event") == 0 && e.msg[0]);
        FUZZ_CHECK(ev == NULL && n == 0);
    }
}

static void urls(const char *text, size_t len)
{
    char *url = strndup(text, len); /* up to the first NUL, as a C string would be */
    if (!url) abort();
    struct redis_url u;
    struct sk_err e = {0};
    if (redis_url_parse(url, &u, &e) == 0) {
        FUZZ_CHECK(u.host && u.host[0] && u.port >= 1 && u.port <= 65535 && u.db >= 0);
        FUZZ_CHECK(!u.username || u.username[0]);
        FUZZ_CHECK(!u.password || u.password[0]);
        redis_url_free(&u);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && strcmp(e.field, "broker") == 0 && e.msg[0]);
        FUZZ_CHECK(!u.host && !u.username && !u.password);
    }
    free(url);
}

/* What an AMQP broker delivers: event bodies and pidbox replies without an envelope, and the
 * parts an envelope gives the AMQP publisher. */
static void amqp_bodies(const char *text, size_t len)
{
    struct celery_event *ev = NULL;
    size_t n = 0;
    struct sk_err e = {0};
    if (celery_events_parse_body(text, len, &ev, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(ev[i].type && ev[i].type[0] && json_is_object(ev[i].doc));
            FUZZ_CHECK(strcmp(json_str(ev[i].doc, "type"), ev[i].type) == 0);
        }
        celery_events_free(ev, n);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && strcmp(e.field, "event") == 0 && e.msg[0]);
        FUZZ_CHECK(ev == NULL && n == 0);
    }
    struct sk_err be = {0};
    json_t *doc = celery_body_parse(text, len, &be);
    if (!doc) FUZZ_CHECK(be.code == -EINVAL && be.msg[0]);
    json_decref(doc);
    struct celery_amqp_parts p;
    struct sk_err pe = {0};
    if (celery_envelope_amqp(text, len, &p, &pe) == 0) {
        /* what is published is a JSON body and an object of headers */
        struct sk_err je = {0};
        json_t *body = json_parse(p.body, p.body_len, "body", &je);
        FUZZ_CHECK(body != NULL && json_is_object(p.headers));
        FUZZ_CHECK(p.priority >= 0 && p.priority <= 255);
        json_decref(body);
        celery_amqp_parts_free(&p);
    } else {
        FUZZ_CHECK(pe.code == -EINVAL && pe.msg[0] && !p.body && !p.headers);
    }
}

static void amqp_urls(const char *text, size_t len)
{
    char *url = strndup(text, len);
    if (!url) abort();
    struct amqp_url u;
    struct sk_err e = {0};
    if (amqp_url_parse(url, &u, &e) == 0) {
        FUZZ_CHECK(celery_url_is_amqp(url));
        FUZZ_CHECK(u.host && u.host[0] && u.port >= 1 && u.port <= 65535);
        FUZZ_CHECK(u.vhost && u.vhost[0] && strlen(u.vhost) <= 255);
        FUZZ_CHECK(u.username && u.password);
        amqp_url_free(&u);
    } else {
        FUZZ_CHECK(e.code == -EINVAL && strcmp(e.field, "broker") == 0 && e.msg[0]);
        FUZZ_CHECK(!u.host && !u.vhost && !u.username && !u.password);
    }
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024) return 0;
    const char *text = (const char *)data;
    envelopes(text, size);
    results(text, size);
    events(text, size);
    urls(text, size);
    amqp_bodies(text, size);
    amqp_urls(text, size);
    return 0;
}
