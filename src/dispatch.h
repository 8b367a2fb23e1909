/*
 * dispatch: queues, runs and their lifecycle on this node. It creates runs (resolving their
 * arguments), claims queued runs into free slots of their queue, hands them to an executor
 * (worker.c for child processes), records their log and state as they go, and finishes them
 * with a guarded update. It also recovers what a previous process left behind, stops runs on
 * request and drains on shutdown. Everything runs on the event loop; nothing here blocks.
 */
#ifndef SKED_DISPATCH_H
#define SKED_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "events.h"
#include "model.h"
#include "store/store.h"
#include "tasks.h"

struct dispatch;
struct event_base;
struct active;

struct dispatch *dispatch_new(struct event_base *base, struct store *st, const struct config *cfg,
                              struct events *ev);
void dispatch_free(struct dispatch *d);
/* Takes the queues of cfg: new ones are added, concurrency changes apply at once; a queue no
 * longer configured keeps its runs going (it goes with the next restart). */
void dispatch_set_queues(struct dispatch *d, const struct config *cfg);
/* The job types runs are started with; the set stays the caller's and must outlive its use. */
void dispatch_set_tasks(struct dispatch *d, const struct taskset *ts);
const struct taskset *dispatch_tasks(struct dispatch *d);

/*
 * At start: runs this node left RUNNING or CANCELLING end FAILED "interrupted: sked stopped
 * while the run was active" and whatever processes they left are killed. QUEUED runs stay and
 * run. Returns the number of runs recovered, or a negative error.
 */
int dispatch_recover(struct dispatch *d);
/* Asks for queued runs to be claimed (coalesced: dispatch_pending does it once), in every
 * queue: what the dispatcher knew of queues holding nothing claimable is forgotten, so whoever
 * queued runs it did not submit itself (a reload, a restart, another writer) calls this. */
void dispatch_wake(struct dispatch *d);
/* Claims what the wakes asked for, at most a budget of runs: the loop calls it at the end of
 * each iteration, so a run submitted in it is claimed (and an inline builtin ends) in the same
 * store transaction. */
void dispatch_pending(struct dispatch *d);
/* A wake is left over (a backlog past the budget): the loop must not sleep before it. */
bool dispatch_has_pending(const struct dispatch *d);
/* For when the loop is about to wait for its next event: work made ahead of what comes next
 * (the pipes of the next task, once tasks with processes run). */
void dispatch_before_wait(struct dispatch *d);
/* Ends the inline builtins that runs submitted in this loop iteration started (they have
 * returned already): the loop calls it after the iteration's commit and answers, so a
 * submitter's answer does not wait for the outcome's write, which goes into the next
 * iteration's transaction. True when it wrote something: the loop's next iteration then waits
 * a little for its next event (the client's next request), and commits it with what came. */
bool dispatch_after_answers(struct dispatch *d);

/* Blocks SIGCHLD in the calling thread. The dispatcher reads SIGCHLD from a signalfd, so a
 * thread that left it unblocked would take and discard it: the server calls this before its
 * first thread starts, and threads inherit the mask. */
void dispatch_block_sigchld(void);

/* Whether a job has runs held until its running one ends (the scheduler's overlap policy
 * queue_one). A slot such a run frees is filled at the end of the loop's turn, after the held
 * runs' release, so that they keep their place among the queued runs: oldest first. */
void dispatch_set_holding(struct dispatch *d, bool (*holding)(void *arg, const char *job_id),
                          void *arg);

/* Runs of Celery job types go to this executor (celery.h) instead of a local slot. */
struct celery;
void dispatch_set_celery(struct dispatch *d, struct celery *c);
struct celery *dispatch_celery(struct dispatch *d);
/* An executor elsewhere finished run r (already stored and published): retries and the rest of
 * what follows the end of a run. */
void dispatch_remote_ended(struct dispatch *d, const struct run *r);
struct events *dispatch_events(struct dispatch *d);
struct store *dispatch_store(struct dispatch *d);

struct run_request {
    const char *title;          /* or NULL */
    const char *queue;          /* NULL: the job's default queue */
    const json_t *args;         /* NULL: the job's saved run_args */
    const json_t *custom_args;  /* parsed object or NULL */
    enum run_trigger trigger;
    int64_t scheduled_for;      /* NO_TIME for manual runs */
    const struct user_ref *started_by; /* NULL: the system */
    int attempt;                /* 0 means 1 */
    const char *parent_run_id;
    bool held;                  /* wait for the job's active run to end (RUN_HELD; local runs) */
    int64_t until;              /* its window's end, after since (a backfill's); 0: its start */
    bool saved_args;            /* args are the job's saved ones (another since): checked so */
    bool check_secrets;         /* a request: the job's saved arguments' secrets must be there */
    bool secret_paths;          /* ... and an admin's: their messages name the files */
};

/* commit(arg) commits the loop's batch, or stops sked when it cannot: the dispatcher calls it
 * before starting claimed runs' tasks, so that no task runs without its run stored. */
void dispatch_set_commit(struct dispatch *d, void (*commit)(void *arg), void *arg);
/* Starts the tasks of the runs stored claimed since the last commit (by dispatch_submit): the
 * loop calls it right after each commit, before the answers leave. */
void dispatch_launch(struct dispatch *d);

/*
 * Creates a run of job: validates the queue, resolves the arguments and stores the run, RUNNING
 * and started when its queue has a free slot and no claimable run waits in it, else QUEUED with
 * the dispatcher woken. Returns 0 with out filled, -EINVAL with field errors in errs, -EEXIST
 * when a scheduled run for that instant exists, or a store error.
 */
int dispatch_submit(struct dispatch *d, const struct job *job, const struct run_request *rq,
                    struct run *out, json_t *errs);

/* dispatch_submit's checks alone: 0 when it would store the run, else -EINVAL with errs. */
int dispatch_check(struct dispatch *d, const struct job *job, const struct run_request *rq,
                   json_t *errs);

/* Records a run of job that could not even be created properly (e.g. its saved arguments no
 * longer fit the job type) as FAILED with message, so the attempt stays visible. */
void dispatch_record_failure(struct dispatch *d, const struct job *job,
                             const struct run_request *rq, const char *message);

/*
 * Stops a run: QUEUED or RUNNING -> CANCELLING; a queued run is then CANCELLED at once, a
 * running one gets SIGTERM (SIGKILL after the grace) and ends CANCELLED. Fills out with the
 * run as it is after the request. -ENOENT unknown; -EINVAL when the run is in another state
 * (out holds it).
 */
int dispatch_stop(struct dispatch *d, const char *run_id, const struct user_ref *by,
                  struct run *out);

/*
 * The job is being deleted with its runs: runs of it executing here are stopped and detached,
 * so their end writes nothing for rows that no longer exist.
 */
void dispatch_job_deleted(struct dispatch *d, const char *job_id);

/*
 * Stops claiming, lets running runs finish for the shutdown grace, then stops them; calls
 * done(arg) once no run is active.
 */
void dispatch_shutdown(struct dispatch *d, void (*done)(void *), void *arg);

struct queue_info {
    const char *name;
    int slots, busy;
    int64_t queued;
    bool removed; /* no longer in the settings, still finishing its runs */
    const json_t *pause; /* paused: {"paused_at" (µs), "paused_by_id", "paused_by", "reason"} */
};
/* How many runs wait in each queue that has any, as counted in store s (a backlog of 200,000
 * takes 20-30 ms: the API counts them on its threads of long reads, each with a connection of
 * its own). */
struct queue_depths {
    size_t n;
    char **name;
    int64_t *queued;
};
int dispatch_queue_depths(struct store *s, struct queue_depths *out);
void dispatch_queue_depths_free(struct queue_depths *q);
/* How many queues dispatch_queues can list: the configured ones and the removed ones. */
size_t dispatch_queue_count(const struct dispatch *d);
/* Fills up to max entries with the configured queues and the removed ones that still hold
 * runs, with their depths; returns how many it filled. */
size_t dispatch_queues(struct dispatch *d, const struct queue_depths *depths,
                       struct queue_info *out, size_t max);
/*
 * Pauses (pause true) or resumes configured queue `name`. A paused queue starts none of its
 * queued runs, nor the new ones it is given, until it is resumed; runs already running go on,
 * and a queued run can still be stopped. The pause is kept in the store, so it outlives a
 * restart. by (NULL: the system) and reason (may be NULL) are kept with it. Pausing a paused
 * queue with another reason changes its reason alone (its time and author stay). Returns 0
 * when it paused or resumed the queue, QUEUE_NEW_REASON when it changed a paused queue's
 * reason, QUEUE_AS_IS when the queue already was so (nothing changed), -ENOENT for a queue
 * that is not configured, -ESRCH for a pause of one a reload took out of the settings (it
 * only drains), or a store error.
 */
enum { QUEUE_AS_IS = 1, QUEUE_NEW_REASON = 2 };
int dispatch_queue_pause(struct dispatch *d, const char *name, bool pause,
                         const struct user_ref *by, const char *reason, int64_t now);
/* The pause of queue name as kept ({"paused_at" (µs), "paused_by_id", "paused_by", "reason"}),
 * NULL while it runs; valid until its next pause or resume. */
/* Pauses every queue not paused, with reason (by the system), the ones taken out of the
 * settings with runs still waiting in them too: for sked serve --pause-queues, before the
 * recovery. The number paused, or a negative errno when the store failed (nothing paused). */
int dispatch_pause_all(struct dispatch *d, const char *reason, int64_t now);
const json_t *dispatch_queue_pause_of(struct dispatch *d, const char *name);
/* Number of runs executing on this node. */
size_t dispatch_active_count(struct dispatch *d);

/* ---- for executors (worker.c) ---- */
struct event_base *dispatch_base(struct dispatch *d);
const struct config *dispatch_config(struct dispatch *d);
/* The pool builtins run on, and the descriptor they write to after each report. */
struct offload *dispatch_pool(struct dispatch *d);
int dispatch_builtin_fd(struct dispatch *d);
/* Stores the run's pending log lines and changed state, and publishes them. */
void dispatch_flush(struct active *a);
/* The executor is done with a (process reaped, pipes drained): record the outcome. */
void dispatch_finished(struct active *a);
/* Records that a's run could not be started, for why (also its log's error line); frees a. */
void dispatch_start_failed(struct active *a, const char *why);

#endif
