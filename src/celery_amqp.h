/*
 * celery_amqp: one AMQP 0-9-1 (RabbitMQ) broker connection of the Celery executor.
 *
 * librabbitmq is blocking and services heartbeats only inside its own calls, so each broker
 * runs on a thread of its own that owns the socket: it connects (backoff 200 ms doubling to
 * 5 s, also after a connection that went before it proved itself: a task message confirmed or
 * 10 s up), declares what Celery declares, publishes task messages with publisher confirms and
 * pidbox broadcasts, consumes events (topic exchange "celeryev") and pidbox replies (direct
 * exchange "reply.celery.pidbox"), and answers queue questions. The event loop talks to it
 * through two queues and two eventfds: commands go in, notes come out, and the callbacks
 * below run on the loop, never on the thread. Nothing the loop owns is touched by the thread,
 * and the loop never waits for the broker.
 */
#ifndef SKED_CELERY_AMQP_H
#define SKED_CELERY_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "celery_msg.h"

struct event_base;
struct amqp_broker;

/* How the broker took a task message. */
enum amqp_outcome {
    AMQP_CONFIRMED, /* basic.ack: the broker has it (persistent, in the queue) */
    AMQP_DECLINED,  /* basic.nack (a full queue with overflow reject-publish, ...) */
    AMQP_UNROUTED,  /* basic.return: no queue took it */
    AMQP_REFUSED,   /* the queue could not be declared or published to (access refused, an
                     * expiration or size the broker does not take, ...) */
    AMQP_LOST,      /* the connection went before the broker answered: send it again */
};

/* Callbacks, called on the event loop with arg. */
struct amqp_broker_cbs {
    void (*up)(void *arg);
    void (*down)(void *arg, const char *why);
    /* a celeryev message body (an event object or a list of them) */
    void (*event)(void *arg, const char *body, size_t len);
    /* a pidbox reply body */
    void (*reply)(void *arg, const char *body, size_t len);
    /* a task message's fate; id is its correlation id (the task id); detail says more (the
     * broker's reply text, or a note such as a queue declared by others with other arguments,
     * with outcome AMQP_CONFIRMED), or is NULL. id is NULL for a broadcast the broker refused
     * (outcome AMQP_REFUSED); other answers to broadcasts are not passed on. */
    void (*published)(void *arg, const char *id, enum amqp_outcome outcome, const char *detail);
    /* a passive queue.declare's answer: messages and consumers, -1 when there is no such queue */
    void (*queue_info)(void *arg, const char *queue, int64_t messages, int64_t consumers);
    /* amqp_broker_withdraw's answer: taken (the message is gone from its queue, no worker
     * got it), or not, with why */
    void (*withdrawn)(void *arg, const char *id, bool taken, const char *why);
};

/*
 * Starts the thread of broker url (copied). oid names sked's pidbox reply queue
 * (<oid>.reply.celery.pidbox, bound with routing key oid). NULL when the thread cannot start.
 */
struct amqp_broker *amqp_broker_new(struct event_base *base, const struct amqp_url *url,
                                    const char *oid, const struct amqp_broker_cbs *cbs, void *arg);

/* The longest per-message TTL (expiration) RabbitMQ takes: 3650 days. A publish with a longer
 * one is refused (406 PRECONDITION_FAILED "invalid expiration"). */
#define AMQP_EXPIRATION_MAX_MS 315360000000LL

/*
 * Publishes a task message to queue (declared as Celery declares it first, once per
 * connection): body, headers as a JSON object (converted to an AMQP field table), the id as
 * correlation_id, persistent, with priority and, when expiration_ms > 0, a per-message TTL
 * (at most AMQP_EXPIRATION_MAX_MS: a longer one is cut to it). The answer comes through
 * published(), AMQP_LOST included when the connection is down, AMQP_REFUSED when the broker
 * refused it (it closed the publishing channel, which sked opens again: the connection stays).
 */
void amqp_broker_publish(struct amqp_broker *b, const char *queue, const char *body,
                         size_t body_len, const json_t *headers, const char *id, int priority,
                         int64_t expiration_ms);

/* Publishes a broadcast on the fanout exchange "celery.pidbox" (dropped while down). */
void amqp_broker_broadcast(struct amqp_broker *b, const char *body, size_t body_len,
                           const json_t *headers);

/*
 * Takes the task message whose correlation id is id out of queue, when the queue has no
 * consumer (a worker would hold its messages already) and at most WITHDRAW_MAX messages: they
 * are fetched (basic.get) in order until it is found, it is acknowledged (gone), and the
 * others are handed back (basic.nack with requeue: RabbitMQ puts them back where they were).
 * withdrawn() answers.
 */
#define WITHDRAW_MAX 10000
void amqp_broker_withdraw(struct amqp_broker *b, const char *queue, const char *id);

/* Asks how many messages and consumers queue has (a passive declare): queue_info() answers. */
void amqp_broker_queue_info(struct amqp_broker *b, const char *queue);

/* Stops the thread (closing the connection) and frees b; no callback runs afterwards. */
void amqp_broker_free(struct amqp_broker *b);

#endif
