/* sched: the min-heap of next fire times and the firing of scheduled runs; see sched.h. */
#include "scheduler.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "args.h"
#include "base/xalloc.h"
#include "cron.h"
#include "metrics.h"

/* The timer never sleeps longer, so a wall-clock step is noticed within this even where the
 * kernel does not tell of it (clock_fd). */
#define MAX_SLEEP_US (60LL * 1000000)

/* How long a catch-up walks fire times in one turn of the loop: a minutely cron schedule missed
 * for five years has 2,635,200, 16 s of walking in one piece (1 µs each, 300 µs within a day of
 * a daylight-saving change), during which the loop served nothing; in steps this long, requests
 * and other fires are served between them. */
#define WALK_STEP_US 5000

struct entry {
    int64_t at;
    char id[UUID_STR_LEN];
};

struct scheduler {
    struct event_base *base;
    struct store *store;
    struct dispatch *dispatch;
    struct entry *heap;
    size_t n, cap;
    struct map pos; /* job id -> heap index + 1 */
    struct event *timer;
    bool stopped;
    struct metrics *metrics;
    /* runs that succeeded whose job starts others (on_success), started by chain_ev: not from
     * within the event that told of the success, which comes in the middle of the run's end */
    struct events_sub *sub;
    struct event *chain_ev;
    struct chain *chains, **chains_tail;
    struct map holding; /* job id -> (void *)1: jobs with a run held for their active one */
    /* job id -> int64_t *: when a change of the jitter put the pending fire time's new place
     * in the past (see scheduler_prepare), the time of that save: the fire is late from it */
    struct map moved;
    struct walk *walks; /* catch-ups walking their missed fire times, a step a turn */
    struct event *walk_ev;
    /* a timerfd of the wall clock that the kernel makes readable (ECANCELED) when the clock is
     * set (an NTP step, a resumed virtual machine, date -s): the timer, which counts on the
     * monotonic clock, is armed again at once rather than up to MAX_SLEEP_US late; -1 if none */
    int clock_fd;
    struct event *clock_ev;
};

/* A catch-up's walk over a schedule's fire times, from the job's next_run up to now: the last
 * is due, earlier ones were missed. Only the last `keep` are kept (in a ring: catch-up runs at
 * most catchup_limit of them), so a long downtime costs time in proportion to its missed fires
 * and no more memory. */
struct walk {
    char id[UUID_STR_LEN];
    int64_t from; /* the job's next_run when the walk began: changed, the walk is void */
    struct schedule sc;
    int64_t t, count, last;
    int64_t *ring;
    size_t keep;
    struct walk *next;
};

struct chain {
    char parent[UUID_STR_LEN]; /* the run that succeeded */
    char job[UUID_STR_LEN];    /* its job */
    struct chain *next;
};

/* ---- the heap ---- */

static void set_pos(struct scheduler *s, size_t i)
{
    map_put(&s->pos, s->heap[i].id, (void *)(uintptr_t)(i + 1));
}

static void swap(struct scheduler *s, size_t a, size_t b)
{
    struct entry t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    set_pos(s, a);
    set_pos(s, b);
}

static void sift_up(struct scheduler *s, size_t i)
{
    while (i > 0 && s->heap[(i - 1) / 2].at > s->heap[i].at) {
        swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct scheduler *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n && s->heap[l].at < s->heap[m].at) m = l;
        if (r < s->n && s->heap[r].at < s->heap[m].at) m = r;
        if (m == i) return;
        swap(s, i, m);
        i = m;
    }
}

static void heap_remove(struct scheduler *s, const char *id)
{
    uintptr_t p = (uintptr_t)map_del(&s->pos, id);
    if (!p) return;
    size_t i = p - 1;
    s->n--;
    if (i == s->n) return;
    s->heap[i] = s->heap[s->n];
    set_pos(s, i);
    sift_down(s, i);
    sift_up(s, i);
}

static void heap_set(struct scheduler *s, const char *id, int64_t at)
{
    uintptr_t p = (uintptr_t)map_get(&s->pos, id);
    if (p) {
        size_t i = p - 1;
        s->heap[i].at = at;
        sift_down(s, i);
        sift_up(s, i);
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->heap = xrealloc(s->heap, s->cap * sizeof *s->heap);
    }
    s->heap[s->n].at = at;
    snprintf(s->heap[s->n].id, UUID_STR_LEN, "%s", id);
    set_pos(s, s->n);
    s->n++;
    sift_up(s, s->n - 1);
}

static void arm(struct scheduler *s)
{
    evtimer_del(s->timer);
    if (s->n == 0 || s->stopped) return;
    int64_t wait = s->heap[0].at - time_now_us();
    if (wait < 0) wait = 0;
    if (wait > MAX_SLEEP_US) wait = MAX_SLEEP_US;
    struct timeval tv = {wait / 1000000, wait % 1000000};
    evtimer_add(s->timer, &tv);
}

/* ---- computing fire times ---- */

/* The first fire time of sc strictly after `after`, anchored at `anchor` for intervals. */
static int64_t next_after(const struct schedule *sc, int64_t anchor, int64_t after)
{
    if (sc->type == SCHEDULE_INTERVAL) {
        if (anchor > after) return anchor;
        int64_t k = (after - anchor) / sc->interval_us + 1;
        return anchor + k * sc->interval_us;
    }
    int64_t t = schedule_next(sc, after, NULL);
    return t == INT64_MIN ? NO_TIME : t;
}

/* The time job_id's due fire counts its lateness from when a change of its jitter made it due
 * (a save at `since`), for a fire time at or before it; taken out of s->moved */
static int64_t moved_take(struct scheduler *s, const char *job_id, int64_t at)
{
    int64_t *since = map_del(&s->moved, job_id), due = at;
    if (since && *since >= at) due = *since;
    free(since);
    return due;
}

void scheduler_prepare(struct scheduler *s, const struct job *old, struct job *j, int64_t now)
{
    if (!j->active || !j->schedule) {
        j->next_run = NO_TIME;
        return;
    }
    /* a schedule written anew but firing at the same times keeps its next fire: re-saving
     * {"hours": 4} as {"hours": 4, "timezone": "UTC"} must not fire an interval at once */
    bool same = old && old->active && old->schedule && old->next_run != NO_TIME &&
                (json_equal(old->schedule, j->schedule) ||
                 schedule_same(old->schedule, j->schedule));
    if (same) {
        j->next_run = old->next_run;
        return;
    }
    struct schedule sc;
    json_t *errs = json_array();
    if (schedule_parse_stored(j->schedule, "schedule", &sc, errs) != 0) {
        j->next_run = NO_TIME; /* validated before; cannot happen */
    } else if (sc.type == SCHEDULE_INTERVAL) {
        j->next_run = now; /* a new interval fires at once, then every interval */
    } else {
        schedule_place(&sc, j->id);
        j->next_run = next_after(&sc, now, now);
        struct schedule was;
        if (old && old->active && old->schedule && old->next_run != NO_TIME &&
            schedule_same_slots(old->schedule, j->schedule) &&
            schedule_parse_stored(old->schedule, "schedule", &was, errs) == 0) {
            /* only the jitter changed: the times before the pending one have fired, so the
             * pending one is next, at its new place, even if that has passed (it fires at
             * once); the first time after now would fire one of them twice, or skip it. Passed,
             * it is not a missed fire: its lateness counts from this save, so a catch-up policy
             * of skip does not drop it */
            schedule_place(&was, j->id);
            int64_t t = schedule_next(&sc, old->next_run - was.offset_us - 1 + sc.offset_us, NULL);
            if (t != INT64_MIN) j->next_run = t;
            if (t != INT64_MIN && t < now && s) {
                int64_t *since = xmalloc(sizeof *since);
                *since = now;
                free(map_put(&s->moved, j->id, since));
            }
        }
    }
    json_decref(errs);
}

void scheduler_job_saved(struct scheduler *s, const struct job *j)
{
    if (j->active && j->schedule && j->next_run != NO_TIME)
        heap_set(s, j->id, j->next_run);
    else
        heap_remove(s, j->id);
    arm(s);
}

void scheduler_job_deleted(struct scheduler *s, const char *job_id)
{
    free(map_del(&s->moved, job_id));
    heap_remove(s, job_id);
    arm(s);
}

void scheduler_stop(struct scheduler *s)
{
    s->stopped = true;
    evtimer_del(s->timer);
}

size_t scheduler_count(const struct scheduler *s)
{
    return s->n;
}


/* ---- firing ---- */

/* Creates one run of j, honouring its overlap policy: a scheduled one for fire time at, or a
 * chained one (at NO_TIME) after run parent of another job succeeded. Returns 1 when a run was
 * created, 0 when the fire was skipped. */
static int fire_one(struct scheduler *s, const struct job *j, int64_t at, const char *parent)
{
    bool held = false;
    const unsigned active = (1u << RUN_QUEUED) | (1u << RUN_RUNNING) | (1u << RUN_CANCELLING);
    switch (j->overlap) {
    case OVERLAP_SKIP:
        if (store_job_count_runs(s->store, j->id, active) > 0) {
            log_info("sched.skipped", "job=%s reason=overlap policy=skip", j->id);
            return 0;
        }
        break;
    case OVERLAP_QUEUE_ONE:
        if (store_job_count_runs(s->store, j->id, 1u << RUN_QUEUED) > 0) {
            log_info("sched.skipped", "job=%s reason=overlap policy=queue_one", j->id);
            return 0;
        }
        /* one waits, and only for the job's active run: not beside it in a free slot */
        held = store_job_count_runs(s->store, j->id,
                                    (1u << RUN_RUNNING) | (1u << RUN_CANCELLING)) > 0;
        break;
    case OVERLAP_CANCEL_PREVIOUS: {
        struct run_query q = {.job_id = j->id,
                              .status_mask = (1u << RUN_QUEUED) | (1u << RUN_RUNNING),
                              .since = NO_TIME,
                              .limit = 1000};
        struct run *runs;
        size_t n;
        int64_t total;
        if (store_run_list(s->store, &q, &runs, &n, &total, NULL) == 0) {
            struct user_ref none = {NULL, NULL};
            for (size_t i = 0; i < n; i++) {
                struct run out;
                dispatch_stop(s->dispatch, runs[i].id, &none, &out);
                run_release(&out);
                log_info("sched.cancelled_previous", "job=%s run=%s", j->id, runs[i].id);
            }
            store_runs_free(runs, n);
        }
        /* the replacement waits until the runs it stopped have ended, as queue_one's run
         * does: with a task slow to stop and fires coming fast, runs being stopped would
         * otherwise pile up beside it and fill the queue */
        held = store_job_count_runs(s->store, j->id,
                                    (1u << RUN_RUNNING) | (1u << RUN_CANCELLING)) > 0;
        break;
    }
    default:
        break;
    }
    struct run_request rq = {0};
    rq.trigger = parent ? TRIGGER_CHAINED : TRIGGER_SCHEDULED;
    rq.scheduled_for = at;
    rq.parent_run_id = parent;
    rq.held = held;
    json_t *errs = json_array();
    struct run r;
    int rc = dispatch_submit(s->dispatch, j, &rq, &r, errs);
    if (rc == 0) {
        if (r.not_before == RUN_HELD) {
            map_put(&s->holding, j->id, (void *)1);
            log_info("sched.held", "job=%s run=%s reason=\"overlap %s: waits for the job's "
                                   "active run\"",
                     j->id, r.id, j->overlap == OVERLAP_QUEUE_ONE ? "queue_one" : "cancel_previous");
        }
        run_release(&r);
    } else if (rc == -EINVAL) {
        /* the saved arguments no longer fit (the task changed): the fire is recorded as a
         * failed run, so it is visible rather than silently lost */
        char *why = json_dump(errs);
        char *msg = xasprintf("could not start the %s run: %s", parent ? "chained" : "scheduled",
                              why);
        dispatch_record_failure(s->dispatch, j, &rq, msg);
        log_warn("sched.fire_failed", "job=%s reason=%s", j->id, log_q(why));
        free(why);
        free(msg);
    } else if (rc == -EEXIST) {
        rc = 0; /* this instant already fired (another scheduler): nothing to do */
    }
    json_decref(errs);
    return rc == 0 ? 1 : 0;
}

static bool walk_step(struct walk *w, int64_t now);
static void walk_later(struct scheduler *s, struct walk *w);
static void walk_free(struct walk *w);
static void walk_drop(struct scheduler *s, const char *id);
static void fire_walked(struct scheduler *s, struct job *j, struct walk *w, int64_t now);

static void fire_job(struct scheduler *s, const char *id, int64_t now)
{
    walk_drop(s, id); /* fired anew (saved meanwhile): a walk begun before counts no more */
    struct job j;
    if (store_job_get(s->store, id, &j) != 0) return; /* deleted meanwhile */
    if (!j.active || !j.schedule || j.next_run == NO_TIME || j.next_run > now) {
        scheduler_job_saved(s, &j);
        job_release(&j);
        return;
    }
    struct schedule sc;
    json_t *errs = json_array();
    int prc = schedule_parse_stored(j.schedule, "schedule", &sc, errs);
    if (prc != 0) {
        /* saved valid, unreadable now (its zone's file gone): the due fire is recorded as a
         * failed run saying why, and counted as skipped; the job fires no more until its
         * schedule is saved again */
        char *why = json_dump(errs);
        char *msg = xasprintf("could not start the scheduled run: %s; the job fires no more "
                              "until its schedule is saved again", why);
        log_error("sched.bad_schedule", "job=%s reason=%s", j.id, log_q(why));
        store_begin(s->store);
        if (store_job_advance(s->store, j.id, j.next_run, NO_TIME, 1) == 0) {
            struct run_request rq = {.trigger = TRIGGER_SCHEDULED, .scheduled_for = j.next_run};
            dispatch_record_failure(s->dispatch, &j, &rq, msg);
            metrics_skipped(s->metrics, 1);
        }
        store_commit(s->store);
        free(why);
        free(msg);
        json_decref(errs);
        heap_remove(s, j.id);
        job_release(&j);
        return;
    }
    json_decref(errs);
    schedule_place(&sc, j.id);
    struct walk *w = xcalloc(1, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", j.id);
    w->from = w->t = j.next_run;
    w->sc = sc;
    w->last = NO_TIME;
    w->keep = j.catchup == CATCHUP_ALL ? (size_t)(j.catchup_limit > 0 ? j.catchup_limit : 0) + 1 : 1;
    w->ring = xmalloc(w->keep * sizeof *w->ring);
    if (sc.type == SCHEDULE_INTERVAL) { /* counted, not walked */
        w->count = (now - w->t) / sc.interval_us + 1;
        w->last = w->t + (w->count - 1) * sc.interval_us;
        for (int64_t k = w->count > (int64_t)w->keep ? w->count - (int64_t)w->keep : 0;
             k < w->count; k++)
            w->ring[(size_t)k % w->keep] = w->t + k * sc.interval_us;
        w->t = NO_TIME;
    }
    if (walk_step(w, now)) { /* most fires: the one due, or a few missed */
        fire_walked(s, &j, w, now);
        walk_free(w);
    } else {
        walk_later(s, w);
    }
    job_release(&j);
}

/* Walks w further for at most WALK_STEP_US; true when it has passed now. */
static bool walk_step(struct walk *w, int64_t now)
{
    int64_t until = time_mono_us() + WALK_STEP_US;
    for (unsigned i = 1; w->t != NO_TIME && w->t <= now; i++) {
        if (i % 16 == 0 && time_mono_us() > until) return false;
        w->ring[(size_t)(w->count % (int64_t)w->keep)] = w->t;
        w->count++;
        w->last = w->t;
        w->t = next_after(&w->sc, w->t, w->t);
    }
    return w->t == NO_TIME || w->t > now;
}

static void walk_free(struct walk *w)
{
    free(w->ring);
    free(w);
}

/* Keeps w for its next step, in the next turn of the loop. */
static void walk_later(struct scheduler *s, struct walk *w)
{
    w->next = s->walks;
    s->walks = w;
    static const struct timeval at_once = {0, 0};
    evtimer_add(s->walk_ev, &at_once); /* a timer: the loop polls its I/O before it runs */
}

/* Takes w a step further, and fires its job when it has passed now; else keeps it for the
 * next turn of the loop. */
static void walk_on(struct scheduler *s, struct walk *w, int64_t now)
{
    if (!walk_step(w, now)) {
        walk_later(s, w);
        return;
    }
    struct job j;
    if (store_job_get(s->store, w->id, &j) != 0) { /* deleted meanwhile */
        walk_free(w);
        return;
    }
    if (j.next_run != w->from) { /* saved or fired meanwhile: its walk counts no more */
        scheduler_job_saved(s, &j);
        job_release(&j);
        walk_free(w);
        return;
    }
    fire_walked(s, &j, w, now);
    job_release(&j);
    walk_free(w);
}

/* A walk no longer wanted: its job fires anew. */
static void walk_drop(struct scheduler *s, const char *id)
{
    for (struct walk **p = &s->walks; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, id) != 0) continue;
        struct walk *w = *p;
        *p = w->next;
        walk_free(w);
        return;
    }
}

static void on_walk(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct scheduler *s = arg;
    struct walk *list = s->walks;
    s->walks = NULL;
    while (list) {
        struct walk *w = list;
        list = w->next;
        if (s->stopped) {
            walk_free(w);
            continue;
        }
        walk_on(s, w, time_now_us());
    }
}

/* Fires job j once w has walked its fire times up to now. */
static void fire_walked(struct scheduler *s, struct job *j, struct walk *w, int64_t now)
{
    const struct schedule sc = w->sc;
    int64_t *ring = w->ring, count = w->count, last = w->last;
    size_t keep = w->keep;
    size_t nt = count < (int64_t)keep ? (size_t)count : keep; /* kept, oldest at ring[first] */
    size_t first = count < (int64_t)keep ? 0 : (size_t)(count % (int64_t)keep);
    int64_t next = next_after(&sc, sc.type == SCHEDULE_INTERVAL ? j->next_run : now, now);
    int64_t due = moved_take(s, j->id, last); /* last, or when a change of jitter made it due */
    bool last_late = now - due > SCHEDULER_GRACE_US;
    int64_t missed = count - 1 + (last_late ? 1 : 0);

    store_begin(s->store);
    int rc = store_job_advance(s->store, j->id, j->next_run, next, 0);
    if (rc != 0) {
        /* another scheduler advanced it first */
        store_rollback(s->store);
        struct job fresh;
        if (store_job_get(s->store, j->id, &fresh) == 0) {
            scheduler_job_saved(s, &fresh);
            job_release(&fresh);
        }
        return;
    }
    int64_t created = 0;
    if (missed == 0) {
        created += fire_one(s, j, last, NULL);
    } else if (j->catchup == CATCHUP_ONCE) {
        created += fire_one(s, j, last, NULL);
        log_info("sched.catchup", "job=%s policy=once missed=%lld", j->id, (long long)missed);
    } else if (j->catchup == CATCHUP_SKIP) {
        if (!last_late) created += fire_one(s, j, last, NULL);
        log_info("sched.catchup", "job=%s policy=skip missed=%lld", j->id, (long long)missed);
    } else if (j->overlap == OVERLAP_CANCEL_PREVIOUS) {
        /* each run would stop the one before it before it started: the newest alone runs, the
         * others count as skipped */
        created += fire_one(s, j, last, NULL);
        log_info("sched.catchup", "job=%s policy=all overlap=cancel_previous missed=%lld ran=%lld",
                 j->id, (long long)missed, (long long)created);
    } else {
        /* every missed fire runs, the most recent catchup_limit of them */
        size_t enumerated = last_late ? nt : nt - 1;
        size_t limit = j->catchup_limit > 0 ? (size_t)j->catchup_limit : 0;
        for (size_t i = enumerated > limit ? enumerated - limit : 0; i < enumerated; i++)
            created += fire_one(s, j, ring[(first + i) % keep], NULL);
        if (!last_late) created += fire_one(s, j, last, NULL);
        log_info("sched.catchup", "job=%s policy=all missed=%lld ran=%lld", j->id,
                 (long long)missed, (long long)created);
    }
    int64_t skipped = count - created;
    if (skipped > 0) store_job_advance(s->store, j->id, next, next, skipped);
    store_commit(s->store);
    int64_t late = time_now_us() - due;
    if (!last_late) metrics_fire(s->metrics, (double)late / 1e6);
    metrics_skipped(s->metrics, (long)skipped);
    log_debug("sched.fired", "job=%s at=%lld late_us=%lld next=%lld", j->id, (long long)last,
              (long long)late, (long long)next);
    j->next_run = next;
    scheduler_job_saved(s, j);
}

/* Asks to be told when the wall clock is set; false when the kernel cannot. */
static bool watch_clock(int fd)
{
    /* a timer of the wall clock far ahead: it expires never, and is cancelled by a set */
    struct itimerspec far = {.it_value = {.tv_sec = (time_t)(time_now_us() / 1000000) +
                                                   100LL * 365 * 86400}};
    return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &far, NULL) == 0;
}

static void on_clock_set(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct scheduler *s = arg;
    uint64_t n;
    if (read(fd, &n, sizeof n) >= 0 || errno != ECANCELED) return;
    log_info("sched.clock_set", "reason=\"the wall clock was set: the next fire times are "
                                "waited for again from the clock's new time\"");
    if (!watch_clock(fd)) {
        event_del(s->clock_ev);
        return;
    }
    arm(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct scheduler *s = arg;
    int64_t now = time_now_us();
    while (s->n > 0 && s->heap[0].at <= now) {
        char id[UUID_STR_LEN];
        memcpy(id, s->heap[0].id, sizeof id);
        heap_remove(s, id); /* fire_job puts it back with its next time */
        fire_job(s, id, now);
    }
    arm(s);
}

/* ---- chains: jobs started when a run of another job succeeds ---- */

/* A job's held runs are released once it has no run running or being stopped (their since,
 * when sked's to choose, is settled as they start: the success of the run they waited for
 * counts). */
static void release_if_idle(struct scheduler *s, const char *job_id)
{
    unsigned active = (1u << RUN_RUNNING) | (1u << RUN_CANCELLING);
    if (store_job_count_runs(s->store, job_id, active) > 0) return;
    int n = store_runs_release_held(s->store, job_id);
    if (n < 0) return; /* logged; the next end of one of its runs tries again */
    map_del(&s->holding, job_id);
    if (n > 0) {
        log_info("sched.released", "job=%s runs=%d", job_id, n);
        dispatch_wake(s->dispatch); /* claimable now: claimed at the end of this turn */
    }
}

static void chain_add(void *arg, const char *run_id, const char *job_id)
{
    struct scheduler *s = arg;
    struct chain *c = xcalloc(1, sizeof *c);
    snprintf(c->parent, sizeof c->parent, "%s", run_id);
    snprintf(c->job, sizeof c->job, "%s", job_id);
    *s->chains_tail = c;
    s->chains_tail = &c->next;
    event_active(s->chain_ev, 0, 0);
}

static void on_run_event(void *arg, const struct sk_event *ev)
{
    struct scheduler *s = arg;
    const struct run *r = ev->run;
    if (ev->kind != SKEV_STATUS || !run_status_terminal(r->status)) return;
    if (map_get(&s->holding, r->job_id)) release_if_idle(s, r->job_id);
    /* a run given its window's end (a backfill's) starts none: the jobs it would start would
     * not know its window, and would move their own since */
    if (r->status != RUN_SUCCESS || r->until != NO_TIME || !store_job_chains(s->store, r->job_id))
        return;
    /* owed in the outcome's transaction (the loop's iteration), paid in the chained runs' */
    store_chain_owed(s->store, r->id, r->job_id);
    chain_add(s, r->id, r->job_id);
}

static void on_chains(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct scheduler *s = arg;
    struct chain *list = s->chains;
    s->chains = NULL;
    s->chains_tail = &s->chains;
    while (list) {
        struct chain *c = list;
        list = c->next;
        struct job up;
        if (store_job_get(s->store, c->job, &up) == 0) { /* its list as it is now */
            size_t i;
            json_t *e;
            json_array_foreach(up.on_success, i, e)
            {
                struct job next;
                if (store_job_get(s->store, json_string_value(e), &next) != 0) continue;
                if (!next.active)
                    log_info("sched.chain_skipped", "job=%s parent=%s reason=inactive", next.id,
                             c->parent);
                else if (fire_one(s, &next, NO_TIME, c->parent))
                    log_info("sched.chained", "job=%s parent=%s", next.id, c->parent);
                job_release(&next);
            }
            job_release(&up);
        }
        store_chain_paid(s->store, c->parent);
        free(c);
    }
}

static bool holding(void *arg, const char *job_id)
{
    struct scheduler *s = arg;
    return map_get(&s->holding, job_id) != NULL;
}

struct scheduler *scheduler_new(struct event_base *base, struct store *st, struct dispatch *d,
                                struct metrics *m)
{
    struct scheduler *s = xcalloc(1, sizeof *s);
    s->metrics = m;
    s->base = base;
    s->store = st;
    s->dispatch = d;
    map_init(&s->pos);
    s->timer = evtimer_new(base, on_timer, s);
    s->chains_tail = &s->chains;
    map_init(&s->holding);
    map_init(&s->moved);
    s->chain_ev = event_new(base, -1, 0, on_chains, s);
    s->walk_ev = evtimer_new(base, on_walk, s);
    s->clock_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->clock_fd >= 0 && watch_clock(s->clock_fd)) {
        s->clock_ev = event_new(base, s->clock_fd, EV_READ | EV_PERSIST, on_clock_set, s);
        event_add(s->clock_ev, NULL);
    }
    s->sub = events_subscribe(dispatch_events(d), NULL, on_run_event, s);
    dispatch_set_holding(d, holding, s);
    return s;
}

void scheduler_free(struct scheduler *s)
{
    if (!s) return;
    dispatch_set_holding(s->dispatch, NULL, NULL);
    events_unsubscribe(dispatch_events(s->dispatch), s->sub);
    map_release(&s->holding);
    size_t it;
    for (struct map_entry *e = map_first(&s->moved, &it); e; e = map_next(&s->moved, &it, e))
        free(e->value);
    map_release(&s->moved);
    event_free(s->chain_ev);
    event_free(s->walk_ev);
    if (s->clock_ev) event_free(s->clock_ev);
    if (s->clock_fd >= 0) close(s->clock_fd);
    while (s->walks) {
        struct walk *w = s->walks;
        s->walks = w->next;
        walk_free(w);
    }
    while (s->chains) {
        struct chain *c = s->chains;
        s->chains = c->next;
        free(c);
    }
    event_free(s->timer);
    map_release(&s->pos);
    free(s->heap);
    free(s);
}

struct load_ctx {
    struct scheduler *s;
    char (*missing)[UUID_STR_LEN];
    size_t nmissing;
};

static void load_cb(void *arg, const char *id, int64_t next_run)
{
    struct load_ctx *c = arg;
    if (next_run != NO_TIME) {
        heap_set(c->s, id, next_run);
        return;
    }
    c->missing = xrealloc(c->missing, (c->nmissing + 1) * sizeof *c->missing);
    snprintf(c->missing[c->nmissing++], UUID_STR_LEN, "%s", id);
}

static void holding_cb(void *arg, const char *job_id)
{
    map_put(arg, job_id, (void *)1);
}

int scheduler_load(struct scheduler *s)
{
    /* runs held before a restart: released now if their job's active run was recovered (it
     * ended FAILED, interrupted), else when it ends */
    store_jobs_holding(s->store, holding_cb, &s->holding);
    size_t it;
    char **ids = xcalloc(s->holding.count + 1, sizeof *ids);
    size_t nids = 0;
    for (struct map_entry *e = map_first(&s->holding, &it); e; e = map_next(&s->holding, &it, e))
        ids[nids++] = xstrdup(e->key);
    for (size_t i = 0; i < nids; i++) {
        release_if_idle(s, ids[i]);
        free(ids[i]);
    }
    free(ids);
    /* chains a stop or a crash came between: their parents succeeded, their runs were not made */
    store_chains_owed(s->store, chain_add, s);
    struct load_ctx c = {s, NULL, 0};
    int rc = store_jobs_scheduled(s->store, load_cb, &c);
    /* jobs whose next fire time was never computed start afresh */
    for (size_t i = 0; i < c.nmissing; i++) {
        struct job j;
        if (store_job_get(s->store, c.missing[i], &j) != 0) continue;
        scheduler_prepare(s, NULL, &j, time_now_us());
        if (store_job_advance(s->store, j.id, NO_TIME, j.next_run, 0) == 0) scheduler_job_saved(s, &j);
        job_release(&j);
    }
    free(c.missing);
    arm(s);
    return rc ? rc : (int)s->n;
}
