/*
 * celery: the executor for job types that Celery workers run (a task file with "celery"
 * instead of "command"). sked sends the task message to the broker (Redis) itself, follows the
 * task through the workers' events and the result backend, and ends the run from what they
 * report; no Python runs on sked's side. The messages are built by celery_msg.c.
 *
 * Per Redis endpoint there are two hiredis connections on the event loop: one for commands,
 * one subscribed (the broker's event channel, or the backend's result channel). Nothing blocks
 * the loop; a lost connection is re-established with a backoff and what was missed meanwhile is
 * read back (result keys, the queue list).
 *
 * A run's way (docs/celery.md): QUEUED "sent to celery queue Q" -> "received by H" ->
 * RUNNING "started on H" -> SUCCESS (output = the task's return value) or FAILED (exception
 * and traceback). No worker within accept_timeout, the worker's heartbeats stopping (with no
 * result coming and no worker having the task), or the run's timeout end it FAILED; a stop
 * withdraws the message from the queue when it is still there, else revokes the task
 * (terminate, SIGTERM then SIGKILL after the grace), sent once the broker can be reached and
 * repeated to workers coming online. A run that ended while its task may go on is watched a
 * while longer, its task's late result told in the run's log.
 */
#ifndef SKED_CELERY_H
#define SKED_CELERY_H

#include <jansson.h>

#include "config.h"
#include "dispatch.h"
#include "model.h"
#include "tasks.h"

struct celery;
struct event_base;

struct celery *celery_new(struct event_base *base, struct dispatch *d, const struct config *cfg);
/* Closes the connections; runs in flight stay as they are in the store for the next start. */
void celery_free(struct celery *c);

/* At start: follows again every unfinished Celery run this node sent (or had yet to send). */
int celery_resume(struct celery *c);

/* r, a QUEUED run of the Celery job type t, was just stored: send it (once its not_before has
 * passed) and follow it. */
void celery_submit(struct celery *c, const struct run *r, const struct task *t);

/* r is CANCELLING in the store: withdraw or revoke it, then end it CANCELLED. */
void celery_stop(struct celery *c, const struct run *r, const struct user_ref *by);

/* The job was deleted with its runs: forget those still followed (the store has no rows). */
void celery_job_deleted(struct celery *c, const char *job_id);

/* The Celery queues of the loaded job types and of runs in flight, for GET /api/queues and
 * /metrics: name, broker, connected (sked's connection to the broker is up), queued (the
 * list's length), busy, workers consuming it. A new array. */
json_t *celery_queues_json(struct celery *c);

#endif
