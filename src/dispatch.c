/* dispatch: queues, claims and the run lifecycle; see dispatch.h. */

#include "dispatch.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "celery.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "offload.h"
#include "secrets.h"
#include "worker.h"

#define CLAIM_BUDGET 64 /* claims per wake-up */
#define PAUSES_KEY "queue_pauses"

struct qstate {
    char *name;
    int slots, busy;
    bool removed; /* gone from the settings: drains what it holds, takes nothing new */
    /* the store holds no claimable QUEUED run of this queue: the last claim found none and no
     * run was queued in it since. A run submitted then starts at once, without being queued
     * and claimed, and claims skip the queue. Anything that may queue runs behind the
     * dispatcher's back (a restart, a reload, a retry's backoff ending) calls dispatch_wake,
     * which forgets it for every queue. */
    bool empty;
    bool paused;  /* an operator paused it: it starts none of its queued runs */
};

struct dispatch {
    struct event_base *base;
    struct store *store;
    const struct config *cfg;
    struct events *events;
    const struct taskset *tasks;
    struct qstate **queues; /* each its own allocation: runs hold pointers to theirs */
    size_t nqueues;
    struct map active;  /* run id -> struct active */
    struct map by_pid;  /* decimal pid -> struct active */
    struct active **ended; /* inline builtins that returned, ended by dispatch_after_answers */
    size_t nended, ended_cap;
    /* claimed runs whose task starts once the store holds the claim (launch_claimed): a task
     * started before would run with no record of it if that commit failed or sked died first,
     * and run again when the run or its fire is made anew */
    struct active **claimed;
    size_t nclaimed, claimed_cap;
    void (*commit)(void *arg); /* dispatch_set_commit */
    void *commit_arg;
    /* started tasks whose pid the store does not hold yet (save_pids): written into the next
     * claim's commit, or by pids_ev within PIDS_LINGER_MS, so that a start after a crash finds
     * each task's process group without a commit of its own for each start */
    struct unsaved_pid {
        int64_t rid, claim;
        pid_t pid;
    } * unsaved;
    size_t nunsaved, unsaved_cap;
    struct event *pids_ev;
    /* a task could not start for want of descriptors or processes: no claims until then */
    int64_t starved_until;
    struct event *starved_ev;
    int sigchld_fd; /* signalfd of SIGCHLD */
    struct event *sigchld_ev, *grace_ev;
    struct event *delay_ev; /* the next retry's backoff ends */
    /* delay_ev is armed for the earliest retry waiting when it was armed: claims, stops and
     * deletions only take runs away, so it fires no later than the earliest still waiting
     * (and its wake arms it anew); until a wake or a queued insert, a claim pass need not ask
     * the store again. A retry's insert arms it itself. */
    bool delay_armed;
    struct offload *pool;   /* builtins run here */
    struct celery *celery;  /* runs of Celery job types, or NULL */
    bool wake_pending;      /* queued runs may be claimable: the loop calls dispatch_pending */
    bool (*holding)(void *arg, const char *job_id); /* dispatch_set_holding */
    void *holding_arg;
    bool spawned;           /* a task's process was started: pipes are made ahead from then on */
    int builtin_fd;         /* eventfd: a builtin reported something */
    struct event *builtin_ev;
    /* the paused queues, as the store keeps them (meta "queue_pauses"): name -> {"paused_at"
     * (µs), "paused_by_id", "paused_by", "reason"}; a pause of a queue the settings no longer
     * name is kept for when it comes back */
    json_t *pauses;
    bool draining;
    void (*drained)(void *);
    void *drained_arg;
};


static void claim_runs(struct dispatch *d);
static void start_run(struct dispatch *d, struct qstate *q, struct run *claimed,
                      bool end_after_answers);
static void launch_claimed(struct dispatch *d);
static bool starved(const struct dispatch *d, int64_t now);
static void on_delay(evutil_socket_t fd, short what, void *arg);

/* A builtin reported something: collect what every running builtin has reported. */
static void on_builtin(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct dispatch *d = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    size_t it;
    for (struct map_entry *e = map_first(&d->active, &it); e; e = map_next(&d->active, &it, e)) {
        struct active *a = e->value;
        if (!a->bctx) continue;
        worker_collect(a);
        dispatch_flush(a);
    }
}
static void on_sigchld(evutil_socket_t fd, short what, void *arg);
static void adopt_removed_queues(struct dispatch *d);

static void sigchld_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
}

void dispatch_block_sigchld(void)
{
    sigset_t chld;
    sigchld_set(&chld);
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
}

struct dispatch *dispatch_new(struct event_base *base, struct store *st, const struct config *cfg,
                              struct events *ev)
{
    struct dispatch *d = xcalloc(1, sizeof *d);
    d->base = base;
    d->store = st;
    d->cfg = cfg;
    d->events = ev;
    char *text = NULL;
    if (store_meta_get(st, PAUSES_KEY, &text) == 0) {
        d->pauses = json_loads(text, 0, NULL);
        if (!json_is_object(d->pauses))
            log_error("dispatch.bad_pauses", "reason=\"the paused queues kept in the store do not "
                                             "read as a JSON object: every queue runs\"");
        free(text);
    }
    if (!json_is_object(d->pauses)) {
        json_decref(d->pauses);
        d->pauses = json_object();
    }
    dispatch_set_queues(d, cfg);
    adopt_removed_queues(d);
    map_init(&d->active);
    map_init(&d->by_pid);
    d->delay_ev = evtimer_new(base, on_delay, d);
    d->pool = offload_new(base, cfg->builtin_threads);
    d->builtin_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    d->builtin_ev = event_new(base, d->builtin_fd, EV_READ | EV_PERSIST, on_builtin, d);
    event_add(d->builtin_ev, NULL);
    /* SIGCHLD is blocked in every thread (dispatch_block_sigchld) and read from a signalfd:
     * no handler interrupts the loop and writes to libevent's signal pipe for it to read back,
     * once per reaped task */
    sigset_t chld;
    sigchld_set(&chld);
    d->sigchld_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigchld_fd < 0) { /* at startup, out of descriptors or memory */
        fprintf(stderr, "sked serve: cannot watch task processes (signalfd): %s\n",
                strerror(errno));
        exit(1);
    }
    d->sigchld_ev = event_new(base, d->sigchld_fd, EV_READ | EV_PERSIST, on_sigchld, d);
    event_add(d->sigchld_ev, NULL);
    return d;
}

static void active_free(struct active *a)
{
    worker_release(a);
    json_decref(a->xargs);
    logcap_release(&a->cap);
    run_release(&a->run);
    free(a);
}

void dispatch_free(struct dispatch *d)
{
    if (!d) return;
    dispatch_after_answers(d);
    size_t it;
    for (struct map_entry *e = map_first(&d->active, &it); e; e = map_next(&d->active, &it, e))
        active_free(e->value);
    map_release(&d->active);
    map_release(&d->by_pid);
    offload_free(d->pool); /* waits for builtins still running; their contexts free themselves */
    event_free(d->builtin_ev);
    close(d->builtin_fd);
    for (size_t i = 0; i < d->nqueues; i++) {
        free(d->queues[i]->name);
        free(d->queues[i]);
    }
    free(d->queues);
    free(d->claimed); /* its runs are among the active ones */
    if (d->starved_ev) event_free(d->starved_ev);
    if (d->pids_ev) event_free(d->pids_ev);
    free(d->unsaved);
    json_decref(d->pauses);
    event_free(d->delay_ev);
    event_free(d->sigchld_ev);
    close(d->sigchld_fd);
    if (d->grace_ev) event_free(d->grace_ev);
    free(d);
}

static struct qstate *queue_get(struct dispatch *d, const char *name)
{
    for (size_t i = 0; i < d->nqueues; i++)
        if (strcmp(d->queues[i]->name, name) == 0) return d->queues[i];
    return NULL;
}

static struct qstate *queue_add(struct dispatch *d, const char *name)
{
    struct qstate *q = xcalloc(1, sizeof *q);
    q->name = xstrdup(name);
    q->paused = json_object_get(d->pauses, name) != NULL;
    d->queues = xrealloc(d->queues, (d->nqueues + 1) * sizeof *d->queues);
    d->queues[d->nqueues++] = q;
    return q;
}

void dispatch_set_queues(struct dispatch *d, const struct config *cfg)
{
    /* a queue the settings no longer name keeps its slots until its runs are done: runs are
     * created only on configured queues, so it empties and then drops out of the listing */
    for (size_t k = 0; k < d->nqueues; k++) d->queues[k]->removed = true;
    for (size_t i = 0; i < cfg->nqueues; i++) {
        struct qstate *q = queue_get(d, cfg->queues[i].name);
        if (!q) q = queue_add(d, cfg->queues[i].name);
        q->slots = cfg->queues[i].slots; /* more slots fill at the next wake; fewer drain */
        q->removed = false;
    }
    d->cfg = cfg;
}

/* At start: runs left QUEUED in a queue the settings no longer name (a reload removed it,
 * then sked stopped before it was empty, or the recovery queued a retry there) are run as a reload leaves them, in a removed queue,
 * one at a time, as its last concurrency is not known; listed until it is empty. */
static void adopt_removed_queues(struct dispatch *d)
{
    struct queue_depths qd;
    if (dispatch_queue_depths(d->store, &qd) != 0) return;
    for (size_t i = 0; i < qd.n; i++) {
        if (queue_get(d, qd.name[i])) continue;
        struct qstate *q = queue_add(d, qd.name[i]);
        q->slots = 1;
        q->removed = true;
        log_warn("queue.not_configured", "queue=%s queued=%lld slots=1 reason=\"runs wait in a "
                                         "queue the settings do not name: they run one at a "
                                         "time until it is empty\"",
                 q->name, (long long)qd.queued[i]);
    }
    dispatch_queue_depths_free(&qd);
}

void dispatch_set_commit(struct dispatch *d, void (*commit)(void *arg), void *arg)
{
    d->commit = commit;
    d->commit_arg = arg;
}

void dispatch_set_tasks(struct dispatch *d, const struct taskset *ts)
{
    /* runs claimed but not started yet start as the job types they were claimed for, before
     * those are replaced (a reload frees the old ones) */
    launch_claimed(d);
    d->tasks = ts;
}

const struct taskset *dispatch_tasks(struct dispatch *d)
{
    return d->tasks;
}

void dispatch_set_celery(struct dispatch *d, struct celery *c)
{
    d->celery = c;
}

struct celery *dispatch_celery(struct dispatch *d)
{
    return d->celery;
}

struct events *dispatch_events(struct dispatch *d)
{
    return d->events;
}

struct store *dispatch_store(struct dispatch *d)
{
    return d->store;
}

struct event_base *dispatch_base(struct dispatch *d)
{
    return d->base;
}

const struct config *dispatch_config(struct dispatch *d)
{
    return d->cfg;
}

struct offload *dispatch_pool(struct dispatch *d)
{
    return d->pool;
}

int dispatch_builtin_fd(struct dispatch *d)
{
    return d->builtin_fd;
}

size_t dispatch_active_count(struct dispatch *d)
{
    return d->active.count;
}

/* Asks for a claim pass: a slot came free or a run was queued. */
static void wake(struct dispatch *d)
{
    if (d->draining) return;
    d->wake_pending = true;
}

void dispatch_set_holding(struct dispatch *d, bool (*holding)(void *arg, const char *job_id),
                          void *arg)
{
    d->holding = holding;
    d->holding_arg = arg;
}

void dispatch_wake(struct dispatch *d)
{
    for (size_t i = 0; i < d->nqueues; i++) d->queues[i]->empty = false;
    d->delay_armed = false;
    wake(d);
}

/* Writes d->pauses to the store. */
static int save_pauses(struct dispatch *d)
{
    char *text = json_dump(d->pauses);
    int rc = store_meta_set(d->store, PAUSES_KEY, text);
    free(text);
    return rc;
}

/* The pause queue q takes for pause/reason (NULL: it runs), and what that changes: 0 a pause
 * or a resume, QUEUE_NEW_REASON a paused queue's reason (its time and author stay: the runs
 * have waited since then), QUEUE_AS_IS nothing. */
static int next_pause(const struct dispatch *d, const struct qstate *q, bool pause,
                      const struct user_ref *by, const char *reason, int64_t now, json_t **next)
{
    const json_t *was = json_object_get(d->pauses, q->name);
    *next = NULL;
    if (!pause) return q->paused ? 0 : QUEUE_AS_IS;
    if (!q->paused) {
        *next = json_pack("{s:I,s:s?,s:s?,s:s?}", "paused_at", (json_int_t)now, "paused_by_id",
                          by ? by->id : NULL, "paused_by", by ? by->name : NULL, "reason", reason);
        return 0;
    }
    const char *had = json_string_value(json_object_get(was, "reason"));
    if (!reason || (had && strcmp(had, reason) == 0)) return QUEUE_AS_IS;
    *next = json_deep_copy(was);
    json_object_set_new(*next, "reason", json_string(reason));
    return QUEUE_NEW_REASON;
}

int dispatch_queue_pause(struct dispatch *d, const char *name, bool pause,
                         const struct user_ref *by, const char *reason, int64_t now)
{
    struct qstate *q = queue_get(d, name);
    if (!q) return -ENOENT;
    if (q->removed && pause) return -ESRCH; /* a removed one may be resumed, to drain */
    json_t *next;
    int change = next_pause(d, q, pause, by, reason, now, &next);
    if (change == QUEUE_AS_IS) return change;
    json_t *was = json_incref(json_object_get(d->pauses, name));
    if (next)
        json_object_set_new(d->pauses, name, next);
    else
        json_object_del(d->pauses, name);
    int rc = save_pauses(d);
    if (rc) { /* as it was */
        if (was)
            json_object_set(d->pauses, name, was);
        else
            json_object_del(d->pauses, name);
        json_decref(was);
        return rc;
    }
    json_decref(was);
    q->paused = pause;
    const char *event = pause ? "queue.paused" : "queue.resumed";
    if (change == QUEUE_NEW_REASON) event = "queue.reason_changed";
    log_info(event, "queue=%s by=%s", name, log_q(by && by->name ? by->name : "system"));
    if (!pause) wake(d); /* what waited is claimed at the end of this loop iteration */
    return change;
}

int dispatch_pause_all(struct dispatch *d, const char *reason, int64_t now)
{
    json_t *was = json_deep_copy(d->pauses);
    int n = 0;
    for (size_t i = 0; i < d->nqueues; i++) {
        struct qstate *q = d->queues[i];
        json_t *next;
        if (q->paused || next_pause(d, q, true, NULL, reason, now, &next) != 0) continue;
        json_object_set_new(d->pauses, q->name, next);
        n++;
    }
    int rc = n ? save_pauses(d) : 0;
    if (rc) { /* as it was */
        json_decref(d->pauses);
        d->pauses = was;
        return rc;
    }
    json_decref(was);
    for (size_t i = 0; i < d->nqueues; i++)
        if (!d->queues[i]->paused && json_object_get(d->pauses, d->queues[i]->name)) {
            d->queues[i]->paused = true;
            log_info("queue.paused", "queue=%s by=system", d->queues[i]->name);
        }
    return n;
}

const json_t *dispatch_queue_pause_of(struct dispatch *d, const char *name)
{
    return json_object_get(d->pauses, name);
}

bool dispatch_has_pending(const struct dispatch *d)
{
    return d->wake_pending && !d->draining;
}

void dispatch_pending(struct dispatch *d)
{
    if (d->wake_pending) claim_runs(d);
}

void dispatch_launch(struct dispatch *d)
{
    launch_claimed(d);
}

void dispatch_before_wait(struct dispatch *d)
{
    if (d->spawned) worker_make_spares();
}

bool dispatch_after_answers(struct dispatch *d)
{
    if (d->nended == 0) return false;
    /* the list is taken first, so that nothing an end does can change the one walked */
    size_t n = d->nended;
    struct active **ended = d->ended;
    d->ended = NULL;
    d->nended = d->ended_cap = 0;
    for (size_t i = 0; i < n; i++) worker_builtin_end(ended[i]); /* each frees its active */
    free(ended);
    return true;
}

static void publish_status(struct dispatch *d, const struct run *r)
{
    struct sk_event ev = {.kind = SKEV_STATUS, .run = r};
    events_publish(d->events, &ev);
}

/* ---- creating runs ---- */

/* Whether a run of t with the resolved args may be given until as its window's end; errs says
 * why not. */
static bool window_error(const struct task *t, const json_t *args, int64_t until, json_t *errs)
{
    if (t->celery) {
        json_errs_add(errs, "until", "a Celery job type gets since alone (its run starts when a "
                                     "worker takes it); leave out until");
        return true;
    }
    const char *since = json_str(args, "since");
    int64_t from;
    const char *why;
    if (since && time_parse(since, &from, &why) == 0 && from >= until) {
        char end[TIME_STR_MAX];
        time_format(until, end);
        json_errs_add(errs, "until", "%s is not after since (%s): a window ends after it starts",
                      end, since);
        return true;
    }
    return false;
}

/* dispatch_submit, or with dry only its checks (out is then released) */
static int submit(struct dispatch *d, const struct job *job, const struct run_request *rq,
                  struct run *out, json_t *errs, bool dry)
{
    const struct task *t = taskset_get(d->tasks, job->task);
    if (!t) {
        json_errs_add(errs, "task", "job type '%s' is not loaded; check the task files",
                      job->task);
        return -EINVAL;
    }
    const char *queue = rq->queue ? rq->queue : job->default_queue;
    /* a run naming no queue goes to the job type's fixed Celery queue, whatever its job says
     * (saved before the task file fixed it); one naming another queue is refused below */
    if (t->celery && t->celery->queue && !rq->queue) queue = t->celery->queue;
    struct queue_names qn = config_queue_names(d->cfg);
    char why[512];
    const char *bad = task_queue_error(t, &qn, queue, why, sizeof why);
    if (bad) {
        json_errs_add(errs, "queue", "%s", bad);
        return -EINVAL;
    }
    int64_t last = store_last_success_start(d->store, job->id);
    const json_t *input = rq->args ? rq->args : job->run_args;
    json_t *args = args_resolve(t, input, rq->custom_args, last, errs);
    if (!args) return -EINVAL;
    /* a since the job saved in the future (before sked refused one): its runs would each
     * handle nothing (a request's own was refused by the API) */
    int64_t saved_since;
    if (!rq->args && !args_custom(input, rq->custom_args) && args_since_given(input) &&
        json_str(args, "since") && time_parse(json_str(args, "since"), &saved_since, NULL) == 0 &&
        args_since_future(saved_since, json_str(args, "since"), errs)) {
        json_decref(args);
        return -EINVAL;
    }
    if (rq->until && window_error(t, args, rq->until, errs)) {
        json_decref(args);
        return -EINVAL;
    }
    /* each part was bounded, but the job type's defaults may add to them */
    if (args_too_large(args, "args", "the arguments the run would get (with the job type's "
                                     "defaults) are ", errs)) {
        json_decref(args);
        return -EINVAL;
    }
    /* a request's own arguments were checked by the API; the job's saved ones (and the job
     * type's defaults) are checked as they resolve, so that a secret missing now is refused to
     * the person asking rather than failing the run when it starts (a scheduled fire fails it) */
    if (rq->check_secrets && (!rq->args || rq->saved_args) && !rq->custom_args) {
        json_t *found = json_array(), *e, *m;
        secrets_check(d->cfg->secrets_dir, args, "args", rq->secret_paths, found);
        size_t i, k;
        json_array_foreach(found, i, e) json_array_foreach(json_object_get(e, "messages"), k, m)
            json_errs_add(errs, json_str(e, "field"), "%s (in the job's saved arguments)",
                          json_string_value(m));
        bool missing = json_array_size(found) > 0;
        json_decref(found);
        if (missing) {
            json_decref(args);
            return -EINVAL;
        }
    }

    run_init(out);
    out->created = time_now_us();
    uuid_v7(out->id, out->created);
    memcpy(out->job_id, job->id, sizeof out->job_id);
    out->job_title = job->title ? xstrdup(job->title) : NULL;
    out->task = xstrdup(job->task);
    out->status = RUN_QUEUED;
    out->title = rq->title ? xstrdup(rq->title) : NULL;
    out->queue = xstrdup(queue);
    out->args = args;
    out->trigger = rq->trigger;
    out->scheduled_for = rq->scheduled_for;
    if (rq->until) out->until = rq->until;
    /* a since of sked's choosing (none given or saved, no custom arguments, no window's end):
     * settled again when the run starts (settle_since) */
    out->since_auto = !t->celery && !rq->until && !args_custom(input, rq->custom_args) &&
                      !args_since_given(input);
    out->attempt = rq->attempt > 0 ? rq->attempt : 1;
    out->parent_run_id = rq->parent_run_id ? xstrdup(rq->parent_run_id) : NULL;
    out->timeout_ms = job->timeout_ms >= 0 ? job->timeout_ms : t->timeout_ms;
    if (rq->held && !t->celery) out->not_before = RUN_HELD;
    if (t->celery) {
        if (!d->celery) {
            json_errs_add(errs, "task", "job type '%s' needs the Celery executor, which is off",
                          job->task);
            run_release(out);
            return -EINVAL;
        }
        out->executor = xstrdup("celery");
        out->node = xstrdup(d->cfg->node);
        /* custom arguments (the run's, or the job's saved ones) go to the task exactly as
         * given: send_since and positional do not apply */
        if (args_custom(input, rq->custom_args))
            out->remote = json_pack("{s:b}", "custom_args", 1);
        else if (!t->celery->send_since) /* the run's args say what the task is sent */
            json_object_del(out->args, "since");
    }
    if (dry) {
        run_release(out);
        return 0;
    }
    if (rq->started_by && rq->started_by->id) {
        out->started_by.id = xstrdup(rq->started_by->id);
        out->started_by.name = xstrdup(rq->started_by->name ? rq->started_by->name : "");
    }
    /* a free slot and no older run waiting for it: the run is stored claimed, rather than
     * stored QUEUED and claimed by the loop's next pass (two statements and four index changes
     * fewer on every run's path). An inline builtin runs now; any other task starts after the
     * loop iteration's commit (dispatch_launch), which holds the request's other writes too
     * (its idempotency key, a fire's next time) */
    struct qstate *q = t->celery ? NULL : queue_get(d, queue);
    bool now = q && q->empty && !q->removed && !q->paused && !rq->held && q->busy < q->slots &&
               !d->draining && !starved(d, out->created);
    if (now) {
        out->status = RUN_RUNNING;
        out->started_at = out->created;
        out->node = xstrdup(d->cfg->node);
        out->claim = 1;
    }
    int rc = store_run_insert(d->store, out);
    if (rc) {
        run_release(out);
        return rc;
    }
    if (t->celery) {
        publish_status(d, out);
        celery_submit(d->celery, out, t);
    } else if (now) {
        struct run r;
        run_copy(&r, out);
        start_run(d, q, &r, true); /* publishes the run, RUNNING; runs it */
    } else {
        publish_status(d, out);
        if (q) q->empty = false;
        d->delay_armed = false;
        wake(d);
    }
    return 0;
}

int dispatch_submit(struct dispatch *d, const struct job *job, const struct run_request *rq,
                    struct run *out, json_t *errs)
{
    return submit(d, job, rq, out, errs, false);
}

int dispatch_check(struct dispatch *d, const struct job *job, const struct run_request *rq,
                   json_t *errs)
{
    struct run r;
    return submit(d, job, rq, &r, errs, true);
}

void dispatch_record_failure(struct dispatch *d, const struct job *job,
                             const struct run_request *rq, const char *message)
{
    struct run r;
    run_init(&r);
    r.created = r.finished_at = time_now_us();
    uuid_v7(r.id, r.created);
    snprintf(r.job_id, sizeof r.job_id, "%s", job->id);
    r.job_title = job->title ? xstrdup(job->title) : NULL;
    r.task = xstrdup(job->task);
    r.status = RUN_FAILED;
    r.queue = xstrdup(rq->queue ? rq->queue : job->default_queue);
    r.args = json_object();
    r.trigger = rq->trigger;
    r.scheduled_for = rq->scheduled_for;
    r.attempt = rq->attempt > 0 ? rq->attempt : 1;
    r.parent_run_id = rq->parent_run_id ? xstrdup(rq->parent_run_id) : NULL; /* a chain's */
    r.message = xstrdup(message);
    if (store_run_insert(d->store, &r) == 0) publish_status(d, &r);
    run_release(&r);
}

/* ---- retries ---- */


/*
 * Wakes the dispatcher when the earliest retry still waiting after `now` becomes due. now must
 * be the instant the claims just made used: a retry that came due after it was not claimed,
 * and is found here (a later instant would skip it and nothing would wake for it again).
 */
static void arm_delayed(struct dispatch *d, int64_t now)
{
    int64_t at = store_next_delayed(d->store, now);
    evtimer_del(d->delay_ev);
    d->delay_armed = true;
    if (at == NO_TIME || d->draining) return;
    int64_t wait = at - time_now_us();
    if (wait < 0) wait = 0;
    struct timeval tv = {wait / 1000000, wait % 1000000};
    evtimer_add(d->delay_ev, &tv);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dispatch_wake(arg);
}

/* A FAILED run that did start is followed by a new attempt while its job allows one: same
 * arguments, trigger "retry", the failed run as parent, after a backoff that doubles. */
/* Inserts the next attempt of failed run r when its job has retries left; -EIO when the store
 * could not take it (recovery must not go on without it), else 0. */
static int maybe_retry(struct dispatch *d, const struct run *r)
{
    if (r->status != RUN_FAILED || r->started_at == NO_TIME) return 0;
    struct job j;
    if (store_job_get(d->store, r->job_id, &j) != 0) return 0;
    int rc = 0;
    /* a job whose runs never overlap (skip, queue_one) with a run already waiting or going:
     * that run does the job's next work, and a retry beside it would run side by side */
    unsigned moving = RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING);
    /* (a run given its window's end is retried whatever waits: no other run does its window) */
    if (r->attempt <= j.max_retries && r->until == NO_TIME &&
        (j.overlap == OVERLAP_SKIP || j.overlap == OVERLAP_QUEUE_ONE) &&
        store_job_count_runs(d->store, j.id, moving) > 0) {
        log_info("run.retry_skipped", "run=%s job=%s reason=\"overlap %s: the job's next run "
                                      "is already waiting or running\"",
                 r->id, r->job_id, overlap_name(j.overlap));
        job_release(&j);
        return 0;
    }
    if (r->attempt <= j.max_retries) {
        int64_t backoff = j.retry_backoff_ms;
        for (int i = 1; i < r->attempt && backoff < RETRY_BACKOFF_MAX_MS; i++) backoff *= 2;
        if (backoff > RETRY_BACKOFF_MAX_MS) backoff = RETRY_BACKOFF_MAX_MS;
        struct run n;
        run_init(&n);
        n.created = time_now_us();
        uuid_v7(n.id, n.created);
        memcpy(n.job_id, r->job_id, sizeof n.job_id);
        n.task = xstrdup(r->task ? r->task : j.task);
        n.status = RUN_QUEUED;
        n.title = r->title ? xstrdup(r->title) : NULL;
        n.queue = xstrdup(r->queue);
        n.args = json_incref(r->args);
        n.until = r->until; /* the same window */
        n.trigger = TRIGGER_RETRY;
        n.not_before = n.created + backoff * 1000;
        n.attempt = r->attempt + 1;
        n.parent_run_id = xstrdup(r->id);
        n.timeout_ms = r->timeout_ms;
        const struct task *t = r->executor ? taskset_get(d->tasks, n.task) : NULL;
        if (t && t->celery && d->celery) {
            n.executor = xstrdup(r->executor);
            n.node = xstrdup(d->cfg->node);
            /* the same arguments, sent the same way: custom ones as given */
            if (r->remote && json_is_true(json_object_get(r->remote, "custom_args")))
                n.remote = json_pack("{s:b}", "custom_args", 1);
        }
        if (store_run_insert(d->store, &n) == 0) {
            log_info("run.retry", "run=%s parent=%s attempt=%d backoff_ms=%lld", n.id, r->id,
                     n.attempt, (long long)backoff);
            publish_status(d, &n);
            if (n.executor)
                celery_submit(d->celery, &n, t); /* it waits for not_before itself */
            else if (backoff == 0)
                dispatch_wake(d); /* due now: no timer waits for it, and its queue may be
                                   * known as empty since the failed run's claim */
            else
                arm_delayed(d, n.created);
        } else {
            rc = -EIO;
        }
        run_release(&n);
    }
    job_release(&j);
    return rc;
}

void dispatch_remote_ended(struct dispatch *d, const struct run *r)
{
    maybe_retry(d, r);
}

/* ---- the run path ---- */

void dispatch_flush(struct active *a)
{
    struct dispatch *d = a->d;
    struct log_line *lines;
    size_t n = logcap_take(&a->cap, &lines);
    if (a->detached && n) {
        /* its job deleted: the log goes with it, but the run's streams still get its last
         * lines (the kill of its task), so that their numbers run on without a gap */
        struct sk_event ev = {.kind = SKEV_LOG, .run = &a->run, .lines = lines, .nlines = n};
        events_publish(d->events, &ev);
    }
    if ((n == 0 && !a->dirty) || a->detached) {
        store_log_free(lines, n);
        a->dirty = false;
        return;
    }
    store_begin(d->store);
    if (n) store_log_append(d->store, a->run.rid, lines, n);
    if (a->dirty) {
        struct run_guard g = {a->run.id, RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), d->cfg->node,
                              a->run.claim, a->run.rid};
        store_run_update(d->store, &g, -1, RF_MESSAGE | RF_OUTPUT | RF_PROGRESS | RF_ENTRIES,
                         &a->run, time_now_us());
    }
    store_commit(d->store);
    if (n) {
        struct sk_event ev = {.kind = SKEV_LOG, .run = &a->run, .lines = lines, .nlines = n};
        events_publish(d->events, &ev);
    }
    if (a->dirty) {
        struct sk_event ev = {.kind = SKEV_PROGRESS, .run = &a->run};
        events_publish(d->events, &ev);
        a->dirty = false;
    }
    store_log_free(lines, n);
}

/* "TERM"; a real-time signal as "RTMIN+6" (glibc names none of them) */
static const char *signame(int sig, char *buf, size_t n)
{
    const char *s = sigabbrev_np(sig);
    if (s) return s;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        snprintf(buf, n, "RTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    return "?";
}

/* How a finished run's process ended, for a message: "exited with status 3". */
static void how_it_ended(const struct active *a, char *how, size_t n)
{
    int ws = a->wstatus;
    char rt[16];
    if (a->is_builtin)
        snprintf(how, n, a->builtin_skipped ? "the builtin never started"
                         : a->end == END_NONE ? "the builtin failed" : "the builtin returned");
    else if (WIFEXITED(ws))
        snprintf(how, n, "exited with status %d", WEXITSTATUS(ws));
    else if (WIFSIGNALED(ws))
        snprintf(how, n, "killed by signal %d (SIG%s)", WTERMSIG(ws),
                 signame(WTERMSIG(ws), rt, sizeof rt));
    else
        snprintf(how, n, "ended (wait status %d)", ws);
}

/* Decides status and message of a finished process run. */
static enum run_status outcome(struct active *a, char **message)
{
    struct run *r = &a->run;
    int ws = a->wstatus;
    if (!a->is_builtin && (WIFEXITED(ws) || WIFSIGNALED(ws))) {
        r->has_exit_code = true;
        r->exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }
    /* the words for how it ended, written only for a run that did not succeed */
    char how[96] = "";
    struct buf m = BUF_INIT;
    enum run_status st;
    switch (a->end) {
    case END_STOPPED:
        st = RUN_CANCELLED;
        if (r->stopped_by.name)
            buf_printf(&m, "stopped by %s", r->stopped_by.name);
        else
            buf_puts(&m, "stopped");
        break;
    case END_TIMEOUT: {
        char dur[32];
        duration_format(r->timeout_ms, dur);
        st = RUN_FAILED;
        buf_printf(&m, "timed out after %s", dur);
        break;
    }
    case END_SHUTDOWN:
        st = RUN_FAILED;
        buf_puts(&m, "interrupted: sked stopped while the run was active");
        break;
    default:
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
            int64_t errored = r->errored_entries, total = r->total_entries;
            st = errored > 0 ? RUN_PARTIAL_SUCCESS : RUN_SUCCESS;
            if (r->message)
                buf_puts(&m, r->message);
            else if (errored > 0 && errored <= total)
                buf_printf(&m, "%lld of %lld entries failed", (long long)errored,
                           (long long)total);
            else if (errored > 0) /* no total, or one the task did not keep up to date */
                buf_printf(&m, "%lld entries failed", (long long)errored);
        } else {
            st = RUN_FAILED;
            how_it_ended(a, how, sizeof how);
            buf_puts(&m, how);
            if (r->message) buf_printf(&m, ": %s", r->message);
            char *tail = logcap_tail(&a->cap);
            if (tail) buf_printf(&m, "\n%s", tail);
            free(tail);
        }
    }
    /* an abandoned builtin has not returned: the notice that gave it up says how it ended */
    if (st != RUN_SUCCESS && st != RUN_PARTIAL_SUCCESS && !a->builtin_abandoned) {
        if (!how[0]) how_it_ended(a, how, sizeof how);
        /* a task that exits 0 once sked asked it to end (stop, timeout, shutdown) ended
         * cleanly: the line that asked it says why the run did not succeed */
        bool clean = a->end != END_NONE && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        logcap_line(&a->cap, clean ? LL_INFO : st == RUN_CANCELLED ? LL_WARNING : LL_ERROR,
                    STREAM_SKED, how, time_now_us());
    }
    *message = m.len ? buf_steal(&m) : NULL;
    buf_free(&m);
    return st;
}

/* The key of a task process in d->by_pid. */
static const char *pid_key(pid_t pid, char key[24])
{
    fmt_int(key, pid);
    return key;
}

static void pid_forget(struct active *a)
{
    char key[24];
    if (a->pid > 0) map_del(&a->d->by_pid, pid_key(a->pid, key));
}

static void slot_free(struct active *a)
{
    map_del(&a->d->active, a->run.id);
    if (!a->q) return; /* refill gave its slot and its pid away already */
    pid_forget(a);
    a->q->busy--;
}

static void maybe_drained(struct dispatch *d)
{
    if (d->draining && d->active.count == 0 && d->drained) {
        void (*fn)(void *) = d->drained;
        d->drained = NULL;
        fn(d->drained_arg);
    }
}

/* Records the end of run a with status st and message, then frees a. */
static void finish(struct active *a, enum run_status st, char *message)
{
    struct dispatch *d = a->d;
    struct run *r = &a->run;
    int64_t now = time_now_us();
    free(r->message);
    r->message = message;
    r->finished_at = a->reaped_at ? a->reaped_at : now;
    struct log_line *lines;
    size_t n = logcap_take(&a->cap, &lines);
    struct run_guard g = {r->id, RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), d->cfg->node,
                          r->claim, r->rid};
    int rc = 0;
    if (!a->detached) {
        store_begin(d->store);
        if (n) store_log_append(d->store, r->rid, lines, n);
        rc = store_run_update(d->store, &g, st,
                              RF_FINISHED_AT | RF_MESSAGE | RF_EXIT_CODE | RF_OUTPUT |
                                  RF_PROGRESS | RF_ENTRIES | RF_PID,
                              r, now);
        store_commit(d->store);
    } else if (!a->is_builtin) {
        store_detached_remove(d->store, r->id); /* its task has ended */
    }
    if (rc == -ESTALE)
        log_warn("run.stale", "run=%s status=%s reason=\"the run moved on without us\"", r->id,
                 run_status_name(st));
    if (n) {
        struct sk_event ev = {.kind = SKEV_LOG, .run = r, .lines = lines, .nlines = n};
        events_publish(d->events, &ev);
    }
    store_log_free(lines, n);
    r->status = st;
    r->updated = now;
    log_info("run.finished", "run=%s job=%s status=%s", r->id, r->job_id, run_status_name(st));
    publish_status(d, r);
    if (!a->detached && rc == 0) maybe_retry(d, r);
    slot_free(a);
    active_free(a);
    wake(d);
    maybe_drained(d);
}

void dispatch_finished(struct active *a)
{
    char *message = NULL;
    enum run_status st = outcome(a, &message);
    finish(a, st, message);
}

void dispatch_start_failed(struct active *a, const char *why)
{
    logcap_line(&a->cap, LL_ERROR, STREAM_SKED, why, time_now_us());
    log_warn("run.start_failed", "run=%s reason=%s", a->run.id, log_q(why));
    finish(a, RUN_FAILED, xstrdup(why));
}

/* A run whose since is sked's to choose (since_auto) takes, as it starts, the start of its
 * job's last successful run when that is later than the since it was made with: a run that
 * waited in its queue, or for its job's active run, follows the success that ended meanwhile,
 * and their windows meet rather than overlap (its arguments show it: the task's log is left to
 * the task). */
static void settle_since(struct active *a)
{
    if (!a->run.since_auto) return;
    struct dispatch *d = a->d;
    int64_t last = store_last_success_start(d->store, a->run.job_id), was = NO_TIME;
    const char *cur = json_str(a->run.args, "since");
    if (last == NO_TIME || (cur && (time_parse(cur, &was, NULL) != 0 || was >= last))) return;
    char ts[TIME_STR_MAX];
    time_format(last, ts);
    /* the run's arguments may be shared (a request's answer): changed in a copy of its own
     * (a shallow one: its since alone is replaced) */
    json_t *args = json_copy(a->run.args);
    json_object_set_new(args, "since", json_string(ts));
    if (store_run_set_args(d->store, a->run.rid, args) != 0) {
        json_decref(args);
        return;
    }
    if (a->xargs == a->run.args) {
        json_decref(a->xargs);
        a->xargs = json_incref(args);
    } else if (a->xargs) { /* secrets resolved: a copy of its own already */
        json_object_set_new(a->xargs, "since", json_string(ts));
    }
    json_decref(a->run.args);
    a->run.args = args;
}

/* Starts a claimed run in a slot of q. An inline builtin runs here, having no effect outside
 * sked, and has returned when this does: its end waits for dispatch_after_answers when
 * end_after_answers, else it ends here. Any other task is started by launch_claimed, once the
 * store holds the claim. */
static void start_run(struct dispatch *d, struct qstate *q, struct run *claimed,
                      bool end_after_answers)
{
    struct active *a = xcalloc(1, sizeof *a);
    a->d = d;
    a->q = q;
    a->run = *claimed; /* takes over the claimed run's members */
    for (int i = 0; i < 4; i++) a->fd[i] = -1;
    logcap_init(&a->cap, 1, d->cfg->log_cap_bytes, (size_t)d->cfg->line_max_bytes);
    q->busy++;
    map_put(&d->active, a->run.id, a);
    publish_status(d, &a->run);

    const struct task *t = taskset_get(d->tasks, a->run.task);
    char why[512];
    int rc = 0;
    if (!t) {
        snprintf(why, sizeof why, "job type '%s' is not loaded; check the task files",
                 a->run.task ? a->run.task : "");
        rc = -ENOENT;
    } else {
        a->stop_grace_ms = t->stop_grace_ms >= 0 ? t->stop_grace_ms : d->cfg->stop_grace_ms;
        /* a task run inline starts now, and takes its since now; the others as their claims
         * are committed (launch_claimed) */
        if (worker_runs_inline(t)) settle_since(a);
        /* the secrets the arguments refer to, read now: their values reach the task only, and
         * its log shows *** for them */
        if (secrets_referred(a->run.args)) {
            json_t *values = json_array();
            a->xargs = secrets_resolve(d->cfg->secrets_dir, a->run.args, values, why, sizeof why);
            if (json_array_size(values)) a->cap.mask = json_incref(values);
            json_decref(values);
        } else {
            a->xargs = json_incref(a->run.args); /* most runs: no copy, nothing to mask */
        }
        if (!a->xargs && a->run.args)
            rc = -EINVAL;
        else if (worker_runs_inline(t))
            rc = worker_start_builtin(a, t, why, sizeof why);
    }
    if (rc) {
        dispatch_start_failed(a, why);
        return;
    }
    if (!a->inline_done) {
        a->pending = true;
        if (d->nclaimed == d->claimed_cap) {
            d->claimed_cap = d->claimed_cap ? 2 * d->claimed_cap : 8;
            d->claimed = xrealloc(d->claimed, d->claimed_cap * sizeof *d->claimed);
        }
        d->claimed[d->nclaimed++] = a;
        return;
    }
    log_debug("run.started", "run=%s job=%s builtin=%s", a->run.id, a->run.job_id, t->builtin);
    if (end_after_answers) {
        if (d->nended == d->ended_cap) {
            d->ended_cap = d->ended_cap ? 2 * d->ended_cap : 16;
            d->ended = xrealloc(d->ended, d->ended_cap * sizeof *d->ended);
        }
        d->ended[d->nended++] = a;
    } else {
        worker_builtin_end(a); /* last: it frees a */
    }
}

/* How long claims wait after a task could not start for want of something sked lacked. */
#define STARVED_MS 1000

static void on_starved_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dispatch *d = arg;
    d->starved_until = 0;
    dispatch_wake(d);
}

/* Whether claims wait (a start lacked descriptors or processes a moment ago). */
static bool starved(const struct dispatch *d, int64_t now)
{
    return d->starved_until > now;
}

/* Whether a start failed for want of something sked itself lacked, rather than because of the
 * task: such a run waits in its queue and starts when that is back. */
static bool shortage(int rc)
{
    return rc == -EMFILE || rc == -ENFILE || rc == -EAGAIN || rc == -ENOMEM;
}

/* Puts a's claimed run, whose task was not started, back at the head of its queue
 * (store_run_unclaim), and frees a. */
static void unclaim(struct active *a)
{
    struct dispatch *d = a->d;
    int64_t now = time_now_us();
    struct run_guard g = {a->run.id, 0, d->cfg->node, a->run.claim, a->run.rid};
    if (store_run_unclaim(d->store, &g, now) == 0) {
        a->run.status = RUN_QUEUED;
        a->run.started_at = NO_TIME;
        a->run.updated = now;
        publish_status(d, &a->run);
    }
    if (a->q) a->q->empty = false;
    slot_free(a);
    active_free(a);
    maybe_drained(d);
}

/* Unclaims a's run and holds the claims for STARVED_MS: starting the next run would fail
 * alike, and every run would be failed for what is sked's shortage, not their tasks' fault. */
static void start_later(struct active *a, const char *why)
{
    struct dispatch *d = a->d;
    int64_t now = time_now_us();
    log_warn("run.start_deferred", "run=%s job=%s reason=%s retry_ms=%d", a->run.id,
             a->run.job_id, log_q(why), STARVED_MS);
    unclaim(a);
    d->starved_until = now + STARVED_MS * 1000LL;
    if (!d->starved_ev) d->starved_ev = evtimer_new(d->base, on_starved_end, d);
    const struct timeval tv = {STARVED_MS / 1000, (STARVED_MS % 1000) * 1000};
    evtimer_add(d->starved_ev, &tv);
}

/* How long a started task's pid may wait for a commit to share. */
#define PIDS_LINGER_MS 20

static void save_pids(struct dispatch *d)
{
    /* a failure is logged (store.error): that run's processes are then found by its id in
     * their environment and the pipes they hold, as before the pid was kept */
    for (size_t i = 0; i < d->nunsaved; i++)
        store_run_set_pid(d->store, d->unsaved[i].rid, d->unsaved[i].claim, d->unsaved[i].pid);
    d->nunsaved = 0;
    if (d->pids_ev) evtimer_del(d->pids_ev);
}

static void on_pids_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    save_pids(arg); /* committed with the loop iteration */
}

static void pid_unsaved(struct dispatch *d, const struct active *a)
{
    if (d->nunsaved == d->unsaved_cap) {
        d->unsaved_cap = d->unsaved_cap ? d->unsaved_cap * 2 : 8;
        d->unsaved = xrealloc(d->unsaved, d->unsaved_cap * sizeof *d->unsaved);
    }
    d->unsaved[d->nunsaved++] = (struct unsaved_pid){a->run.rid, a->run.claim, a->pid};
    if (!d->pids_ev) d->pids_ev = evtimer_new(d->base, on_pids_linger, d);
    if (!evtimer_pending(d->pids_ev, NULL)) {
        const struct timeval tv = {0, PIDS_LINGER_MS * 1000};
        evtimer_add(d->pids_ev, &tv);
    }
}

/* Starts the task of each claimed run (start_run) once the store has committed the claims.
 * The dispatcher's own claims are started right after they are made; a run a request stored
 * claimed (dispatch_submit) starts after the loop iteration's commit, before its answer is
 * sent: a stop or its job's deletion may come first, and the task is then never started. */
static void launch_claimed(struct dispatch *d)
{
    if (d->nclaimed == 0) return;
    /* each run takes its since here, with the reaped tasks' outcomes stored (a slot refilled
     * as its task ended claimed before that task's outcome was): a success of the same job
     * counts */
    for (size_t i = 0; i < d->nclaimed; i++)
        if (d->claimed[i]->end == END_NONE) settle_since(d->claimed[i]);
    save_pids(d);                            /* the tasks started before share this commit */
    if (d->commit) d->commit(d->commit_arg); /* on failure sked stops: nothing started */
    /* the list is taken first: a start that fails frees a slot, whose claim waits for a wake */
    size_t n = d->nclaimed;
    struct active **list = d->claimed;
    d->claimed = NULL;
    d->nclaimed = d->claimed_cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct active *a = list[i];
        a->pending = false;
        if (a->end != END_NONE) { /* stopped, or its job deleted: it ends as it was */
            char *msg = xasprintf("stopped%s%s before its task started",
                                  a->run.stopped_by.name ? " by " : "",
                                  a->run.stopped_by.name ? a->run.stopped_by.name : "");
            logcap_line(&a->cap, LL_WARNING, STREAM_SKED, msg, time_now_us());
            finish(a, RUN_CANCELLED, msg);
            continue;
        }
        if (d->draining) { /* sked is stopping: the run waits for the next start */
            log_info("run.requeued", "run=%s job=%s reason=\"sked is stopping\"", a->run.id,
                     a->run.job_id);
            unclaim(a);
            continue;
        }
        /* as start_run found it: the job types are not replaced while runs wait here */
        const struct task *t = taskset_get(d->tasks, a->run.task);
        char why[512];
        int rc = t->builtin ? worker_start_builtin(a, t, why, sizeof why)
                            : worker_spawn(a, t, why, sizeof why);
        if (rc && shortage(rc)) {
            start_later(a, why);
        } else if (rc) {
            dispatch_start_failed(a, why);
        } else if (a->is_builtin) {
            log_debug("run.started", "run=%s job=%s builtin=%s", a->run.id, a->run.job_id,
                      t->builtin);
        } else {
            d->spawned = true;
            char key[24];
            map_put(&d->by_pid, pid_key(a->pid, key), a);
            a->run.pid = a->pid; /* stored with the run's outcome, and before it */
            pid_unsaved(d, a);
            log_debug("run.started", "run=%s job=%s pid=%d", a->run.id, a->run.job_id,
                      (int)a->pid);
        }
    }
    free(list);
}

/* Claims and starts q's oldest claimable run; false when there is none (q is then known to
 * hold nothing claimable) or the claim failed. */
static bool claim_next(struct dispatch *d, struct qstate *q, int64_t now)
{
    struct run r;
    int rc = store_run_claim(d->store, q->name, d->cfg->node, now, &r);
    if (rc == -ENOENT) q->empty = true;
    if (rc) return false;
    start_run(d, q, &r, false);
    return true;
}

static void claim_runs(struct dispatch *d)
{
    d->wake_pending = false;
    int64_t now = time_now_us(); /* one instant for the claims and the next retry's timer */
    if (starved(d, now)) return; /* its timer wakes the dispatcher */
    /* runs that end at once (inline builtins, start failures) free their slot at once and
     * are refilled by this same pass, so the wakes they ask for are answered here. A backlog
     * would drain in one go, holding the loop and one transaction: past the budget the rest
     * waits for the next loop iteration, after the commit and whatever I/O is ready. */
    int budget = CLAIM_BUDGET;
    for (size_t i = 0; i < d->nqueues && !d->draining; i++) {
        struct qstate *q = d->queues[i];
        while (q->busy < q->slots && !q->empty && !q->paused && !d->draining) {
            if (budget-- == 0) {
                d->wake_pending = true;
                launch_claimed(d);
                return;
            }
            if (!claim_next(d, q, now)) break;
        }
    }
    d->wake_pending = false;
    launch_claimed(d);
    if (!d->draining && !d->delay_armed) arm_delayed(d, now);
}

/* The slot of a, whose process was just found ended, claims its queue's next run now; its task
 * starts when on_sigchld has reaped what ended, in one commit with their outcomes. */
static void refill(struct dispatch *d, struct active *a)
{
    struct qstate *q = a->q;
    pid_forget(a); /* the next task may get the same pid */
    q->busy--;
    a->q = NULL;
    if (d->draining || q->busy >= q->slots || q->empty || q->paused) return;
    if (starved(d, time_now_us())) return;
    if (d->holding && d->holding(d->holding_arg, a->run.job_id))
        wake(d); /* claimed at the end of the turn, once a's end released its job's held runs */
    else
        claim_next(d, q, time_now_us()); /* started by on_sigchld, after the reaps */
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dispatch *d = arg;
    /* SIGCHLD is not queued: a pending one may stand for several children, which the loop
     * below asks for one by one. Each child's slot claims its next run first; the signal is
     * read right after, and every child that ends later either is found by the loop's next
     * look or leaves the signal pending again. The claimed runs' tasks start at the end, after
     * one commit that holds their claims and the reaped runs' outcomes. */
    bool read_signal = false;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        /* peek first: while the child is a zombie its pid (= its group id) cannot be reused,
         * so the group kill below reaches only what the task left behind */
        bool ended = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
        if (!ended && read_signal) break;
        struct active *a = NULL;
        if (ended) {
            char key[24];
            a = map_get(&d->by_pid, pid_key(si.si_pid, key));
            if (a) {
                a->reaped_at = time_now_us(); /* its end, before the next run in its slot */
                refill(d, a);
            }
        }
        if (!read_signal) {
            struct signalfd_siginfo ssi;
            ssize_t got = read(d->sigchld_fd, &ssi, sizeof ssi);
            (void)got;
            read_signal = true;
        }
        if (!ended) continue;
        if (a) kill(-si.si_pid, SIGKILL);
        int ws;
        if (waitpid(si.si_pid, &ws, 0) < 0) break;
        if (a) worker_exited(a, ws);
    }
    /* the next tasks start once their claims are committed, with the ends just reaped */
    launch_claimed(d);
}
/* ---- stop ---- */

int dispatch_stop(struct dispatch *d, const char *run_id, const struct user_ref *by,
                  struct run *out)
{
    run_init(out);
    int rc = store_run_get(d->store, run_id, out);
    if (rc) return rc;
    if (out->status != RUN_QUEUED && out->status != RUN_RUNNING) return -EINVAL;
    struct run f;
    run_init(&f);
    f.stopped_by = *by;
    int64_t now = time_now_us();
    struct run_guard g = {run_id, RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING), NULL, 0};
    rc = store_run_update(d->store, &g, RUN_CANCELLING, RF_STOPPED_BY, &f, now);
    if (rc == -ESTALE) {
        run_release(out);
        rc = store_run_get(d->store, run_id, out);
        return rc ? rc : -EINVAL;
    }
    if (rc) return rc;
    if (out->executor && d->celery) {
        /* the executor ends it: withdrawn from the broker's queue, or revoked on the worker */
        run_release(out);
        rc = store_run_get(d->store, run_id, out);
        if (rc == 0) {
            publish_status(d, out);
            celery_stop(d->celery, out, by);
            run_release(out);
            rc = store_run_get(d->store, run_id, out);
        }
        return rc;
    }
    struct active *a = map_get(&d->active, run_id);
    if (a) {
        a->run.status = RUN_CANCELLING;
        a->run.updated = now;
        free(a->run.stopped_by.id);
        free(a->run.stopped_by.name);
        a->run.stopped_by.id = by->id ? xstrdup(by->id) : NULL;
        a->run.stopped_by.name = by->name ? xstrdup(by->name) : NULL;
        /* a task already ending (its timeout passed) is not signalled again; the stop still
         * decides: CANCELLED, never retried */
        bool signalled = worker_terminate(a, END_STOPPED);
        char *msg = xasprintf("stop requested%s%s; %s", by->name ? " by " : "",
                              by->name ? by->name : "",
                              a->pending      ? "its task will not be started"
                              : !signalled    ? "the task is already being stopped"
                              : a->is_builtin ? "asking the builtin to stop"
                                              : "sending SIGTERM");
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED, msg, now);
        free(msg);
        dispatch_flush(a);
        publish_status(d, &a->run);
    } else if (out->status == RUN_QUEUED) {
        struct run_guard g2 = {run_id, RUN_MASK(RUN_CANCELLING), NULL, 0};
        char *msg = xasprintf("stopped%s%s before it started", by->name ? " by " : "",
                              by->name ? by->name : "");
        f.finished_at = now;
        f.message = msg;
        if (store_run_update(d->store, &g2, RUN_CANCELLED, RF_FINISHED_AT | RF_MESSAGE, &f, now) == 0)
            log_info("run.finished", "run=%s job=%s status=%s", run_id, out->job_id,
                     run_status_name(RUN_CANCELLED));
        free(msg);
    }
    run_release(out);
    rc = store_run_get(d->store, run_id, out);
    if (rc == 0 && !a) publish_status(d, out);
    return rc;
}

void dispatch_job_deleted(struct dispatch *d, const char *job_id)
{
    if (d->celery) celery_job_deleted(d->celery, job_id);
    size_t it;
    for (struct map_entry *e = map_first(&d->active, &it); e; e = map_next(&d->active, &it, e)) {
        struct active *a = e->value;
        /* a job's deletion tells this at its start and again at its end: once is news */
        if (strcmp(a->run.job_id, job_id) != 0 || a->detached) continue;
        a->detached = true;
        /* its row goes with the job: the store keeps that its task is still to end, for a
         * start after a crash meanwhile to kill what is left of it */
        if (!a->is_builtin && !a->pending) store_detached_add(d->store, a->run.id, d->cfg->node,
                                                              time_now_us());
        worker_terminate(a, END_STOPPED);
        log_info("run.detached", "run=%s job=%s reason=\"job deleted\"", a->run.id, job_id);
    }
}

/* ---- recovery and shutdown ---- */

int dispatch_recover(struct dispatch *d)
{
    struct run *runs;
    size_t n, ndet;
    char **detached;
    int rc = store_runs_active(d->store, &runs, &n);
    if (rc) return rc;
    /* and the tasks of deleted jobs' runs that were still ending */
    if ((rc = store_detached_list(d->store, &detached, &ndet)) != 0) {
        store_runs_free(runs, n);
        return rc;
    }
    const char **ids = xcalloc(n + ndet + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = runs[i].id;
    for (size_t i = 0; i < ndet; i++) ids[n + i] = detached[i];
    /* the process groups of the tasks whose first process still runs (the store keeps its pid
     * from soon after the start): what they started is found there too when it cleared its
     * environment */
    pid_t *leaders = xcalloc(n + 1, sizeof *leaders);
    size_t nleaders = 0;
    for (size_t i = 0; i < n; i++)
        if (runs[i].pid > 0 && worker_task_alive(runs[i].pid, runs[i].started_at))
            leaders[nleaders++] = runs[i].pid;
    int killed = worker_kill_orphans(ids, n + ndet, NULL, 0, leaders, nleaders, 0);
    free(leaders);
    free(ids);
    for (size_t i = 0; i < ndet; i++) {
        if (rc == 0) rc = store_detached_remove(d->store, detached[i]);
        free(detached[i]);
    }
    free(detached);
    const char *interrupted = "interrupted: sked stopped while the run was active";
    int64_t now = time_now_us();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct run *r = &runs[i];
        /* a run being stopped ends as its stop would have ended it: CANCELLED, never retried */
        bool stopping = r->status == RUN_CANCELLING;
        char *msg = stopping ? xasprintf("stopped%s%s; sked stopped before the task ended",
                                         r->stopped_by.name ? " by " : "",
                                         r->stopped_by.name ? r->stopped_by.name : "")
                             : xstrdup(interrupted);
        struct log_line line = {store_log_last_seq(d->store, r->rid) + 1, now,
                                stopping ? LL_WARNING : LL_ERROR, STREAM_SKED, msg};
        struct run f;
        run_init(&f);
        f.finished_at = now;
        f.message = msg;
        enum run_status st = stopping ? RUN_CANCELLED : RUN_FAILED;
        struct run_guard g = {r->id, RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING), NULL, 0};
        /* the run's end and its retry in one transaction: a start that cannot commit them
         * stops (status 1) before it serves, and the next start finds the run as it was */
        store_begin(d->store);
        store_log_append(d->store, r->rid, &line, 1);
        int urc = store_run_update(d->store, &g, st, RF_FINISHED_AT | RF_MESSAGE, &f, now);
        int rrc = 0;
        if (urc == 0) {
            r->status = st;
            r->finished_at = r->updated = now;
            free(r->message);
            r->message = msg;
            msg = NULL;
            publish_status(d, r);
            if (!stopping) rrc = maybe_retry(d, r);
        }
        free(msg);
        if ((urc != 0 && urc != -ESTALE) || rrc != 0 || store_commit(d->store) != 0) {
            store_rollback(d->store);
            rc = -EIO;
            break;
        }
        log_warn("run.interrupted", "run=%s job=%s status=%s", r->id, r->job_id,
                 run_status_name(st));
    }
    if (killed) log_warn("run.orphans_killed", "count=%d", killed);
    store_runs_free(runs, n);
    /* a retry may have gone to a queue the settings no longer name */
    if (rc == 0) adopt_removed_queues(d);
    return rc ? rc : (int)n;
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dispatch *d = arg;
    size_t it;
    log_warn("shutdown.grace_over", "active=%zu", d->active.count);
    for (struct map_entry *e = map_first(&d->active, &it); e; e = map_next(&d->active, &it, e)) {
        struct active *a = e->value;
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED,
                    "sked is shutting down; stopping the task", time_now_us());
        worker_terminate(a, END_SHUTDOWN);
        dispatch_flush(a);
    }
}

void dispatch_shutdown(struct dispatch *d, void (*done)(void *), void *arg)
{
    d->draining = true;
    d->drained = done;
    d->drained_arg = arg;
    if (d->active.count == 0) {
        maybe_drained(d);
        return;
    }
    log_info("shutdown.waiting", "active=%zu grace_ms=%lld", d->active.count,
             (long long)d->cfg->shutdown_grace_ms);
    d->grace_ev = evtimer_new(d->base, on_grace, d);
    struct timeval tv = {d->cfg->shutdown_grace_ms / 1000, (d->cfg->shutdown_grace_ms % 1000) * 1000};
    evtimer_add(d->grace_ev, &tv);
}

static void depth_cb(void *arg, const char *queue, int64_t n)
{
    struct queue_depths *q = arg;
    q->name = xrealloc(q->name, (q->n + 1) * sizeof *q->name);
    q->queued = xrealloc(q->queued, (q->n + 1) * sizeof *q->queued);
    q->name[q->n] = xstrdup(queue);
    q->queued[q->n++] = n;
}

int dispatch_queue_depths(struct store *s, struct queue_depths *out)
{
    memset(out, 0, sizeof *out);
    return store_queue_depths(s, depth_cb, out);
}

void dispatch_queue_depths_free(struct queue_depths *q)
{
    for (size_t i = 0; i < q->n; i++) free(q->name[i]);
    free(q->name);
    free(q->queued);
    memset(q, 0, sizeof *q);
}

size_t dispatch_queue_count(const struct dispatch *d)
{
    return d->nqueues;
}

size_t dispatch_queues(struct dispatch *d, const struct queue_depths *depths,
                       struct queue_info *out, size_t max)
{
    size_t n = d->nqueues < max ? d->nqueues : max;
    for (size_t i = 0; i < n; i++) {
        out[i].name = d->queues[i]->name;
        out[i].slots = d->queues[i]->slots;
        out[i].busy = d->queues[i]->busy;
        out[i].removed = d->queues[i]->removed;
        out[i].pause = json_object_get(d->pauses, out[i].name);
        out[i].queued = 0;
        for (size_t k = 0; k < depths->n; k++)
            if (strcmp(depths->name[k], out[i].name) == 0) out[i].queued = depths->queued[k];
    }
    size_t kept = 0; /* a removed queue is listed while it still holds runs */
    for (size_t i = 0; i < n; i++)
        if (!out[i].removed || out[i].busy > 0 || out[i].queued > 0) out[kept++] = out[i];
    return kept;
}
