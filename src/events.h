/*
 * events: the engine publishes what happens to runs here - status changes, log lines, progress -
 * and whoever cares subscribes: SSE log streams, later notifications and metrics. The engine
 * never includes anything of theirs. Subscriptions are per run id or to all runs; callbacks
 * run synchronously on the loop thread and may unsubscribe (themselves or others) while being
 * called.
 */
#ifndef SKED_EVENTS_H
#define SKED_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "store/store.h"

enum sk_event_kind {
    SKEV_STATUS,   /* run changed status (run is the new state) */
    SKEV_LOG,      /* lines were appended to the run's log (already stored) */
    SKEV_PROGRESS, /* progress, counters, message or output changed */
};

struct sk_event {
    enum sk_event_kind kind;
    const struct run *run;        /* the run as it is now (status, counters...) */
    const struct log_line *lines; /* SKEV_LOG */
    size_t nlines;
};

typedef void (*events_fn)(void *arg, const struct sk_event *ev);

struct events;
struct events_sub;

struct events *events_new(void);
void events_free(struct events *h);
/* run_id NULL: every run. Returns a handle for events_unsubscribe. */
struct events_sub *events_subscribe(struct events *h, const char *run_id, events_fn fn, void *arg);
void events_unsubscribe(struct events *h, struct events_sub *sub);
void events_publish(struct events *h, const struct sk_event *ev);
/* Subscribers of one run, for diagnostics and tests. */
size_t events_count(struct events *h, const char *run_id);

#endif
