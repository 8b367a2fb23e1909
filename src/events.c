/* events: run-event fan-out; see events.h. */
#include "events.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "base/xalloc.h"

struct events_sub {
    struct events_sub *prev, *next;
    struct sublist *list;
    events_fn fn;
    void *arg;
    bool dead;
};

struct sublist {
    char *key;
    struct events_sub *head;
    size_t count;
};

struct events {
    struct map by_run; /* run id -> struct sublist */
    struct sublist all;
    int publishing;    /* depth of events_publish on the stack */
    bool need_sweep;
};

struct events *events_new(void)
{
    struct events *h = xcalloc(1, sizeof *h);
    map_init(&h->by_run);
    return h;
}

static void free_list(struct sublist *l)
{
    struct events_sub *s = l->head;
    while (s) {
        struct events_sub *n = s->next;
        free(s);
        s = n;
    }
    l->head = NULL;
}

void events_free(struct events *h)
{
    if (!h) return;
    size_t it;
    for (struct map_entry *e = map_first(&h->by_run, &it); e; e = map_next(&h->by_run, &it, e)) {
        struct sublist *l = e->value;
        free_list(l);
        free(l->key);
        free(l);
    }
    map_release(&h->by_run);
    free_list(&h->all);
    free(h);
}

struct events_sub *events_subscribe(struct events *h, const char *run_id, events_fn fn, void *arg)
{
    struct sublist *l = &h->all;
    if (run_id) {
        l = map_get(&h->by_run, run_id);
        if (!l) {
            l = xcalloc(1, sizeof *l);
            l->key = xstrdup(run_id);
            map_put(&h->by_run, run_id, l);
        }
    }
    struct events_sub *s = xcalloc(1, sizeof *s);
    s->fn = fn;
    s->arg = arg;
    s->list = l;
    s->next = l->head;
    if (l->head) l->head->prev = s;
    l->head = s;
    l->count++;
    return s;
}

static void unlink_sub(struct events *h, struct events_sub *s)
{
    struct sublist *l = s->list;
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next) s->next->prev = s->prev;
    l->count--;
    free(s);
    if (l != &h->all && l->count == 0) {
        map_del(&h->by_run, l->key);
        free(l->key);
        free(l);
    }
}

void events_unsubscribe(struct events *h, struct events_sub *s)
{
    if (!s || s->dead) return;
    if (h->publishing) {
        s->dead = true; /* freed after the publish that is walking the list */
        h->need_sweep = true;
        return;
    }
    unlink_sub(h, s);
}

static void sweep_list(struct events *h, struct sublist *l)
{
    struct events_sub *s = l->head;
    while (s) {
        struct events_sub *n = s->next;
        bool last = l->count == 1;
        if (s->dead) {
            unlink_sub(h, s);
            if (last && l != &h->all) return; /* the list itself is gone */
        }
        s = n;
    }
}

static void call_list(struct sublist *l, const struct sk_event *ev)
{
    for (struct events_sub *s = l ? l->head : NULL; s; s = s->next)
        if (!s->dead) s->fn(s->arg, ev);
}

void events_publish(struct events *h, const struct sk_event *ev)
{
    h->publishing++;
    call_list(map_get(&h->by_run, ev->run->id), ev);
    call_list(&h->all, ev);
    if (--h->publishing == 0 && h->need_sweep) {
        h->need_sweep = false;
        sweep_list(h, &h->all);
        size_t it;
        struct map_entry *e = map_first(&h->by_run, &it);
        while (e) {
            /* sweeping may free the entry: collect keys with dead subscribers first */
            struct sublist *l = e->value;
            bool has_dead = false;
            for (struct events_sub *s = l->head; s; s = s->next) has_dead = has_dead || s->dead;
            if (!has_dead) {
                e = map_next(&h->by_run, &it, e);
                continue;
            }
            sweep_list(h, l);
            e = map_first(&h->by_run, &it); /* restart: the table may have changed */
        }
    }
}

size_t events_count(struct events *h, const char *run_id)
{
    struct sublist *l = run_id ? map_get(&h->by_run, run_id) : &h->all;
    return l ? l->count : 0;
}
