/*
 * sched: the scheduler. Every active scheduled job has its next fire time in a min-heap and the
 * loop sleeps until the earliest (a precise timer, so a due run is inserted within
 * milliseconds). Creating, editing, activating or deactivating a job updates the heap at once.
 *
 * A fire creates the run (trigger "scheduled", no title, no user, the job's default queue,
 * arguments resolved from the saved run_args like a manual run, scheduled_for = the fire time)
 * in the same transaction that advances the job's next_run by compare-and-set, and the store
 * keeps (job_id, scheduled_for) unique: a fire cannot happen twice, not after a crash and not
 * with two schedulers on one store. Overlap and catch-up policies decide what a fire does when
 * runs are still active or fires were missed; skipped fires are counted and logged.
 *
 * Chains: when a run succeeds, each active job of its job's on_success list gets a run
 * (trigger "chained", the run as its parent), created in the loop turn after the success is
 * published, under the started job's overlap policy.
 */
#ifndef SKED_SCHEDULER_H
#define SKED_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "model.h"
#include "store/store.h"

struct scheduler;
struct event_base;

/* Fires missed by more than this are "missed" (catch-up policy), not merely late. */
#define SCHEDULER_GRACE_US (60LL * 1000000)

struct metrics;
/* m (may be NULL) counts fire lateness and skipped fires. */
struct scheduler *scheduler_new(struct event_base *base, struct store *st, struct dispatch *d,
                                struct metrics *m);
void scheduler_free(struct scheduler *s);
/* Loads the active scheduled jobs and arms the timer; returns how many. */
int scheduler_load(struct scheduler *s);
/*
 * Sets j->next_run for a job about to be saved: old is the stored job (NULL when new). A new,
 * changed or re-activated schedule starts afresh (an interval fires at once, a cron expression
 * at its next match); otherwise the stored next_run is kept. Inactive or unscheduled: none.
 */
void scheduler_prepare(struct scheduler *s, const struct job *old, struct job *j, int64_t now);
/* The job was saved (j as stored) or deleted: the heap follows at once. */
void scheduler_job_saved(struct scheduler *s, const struct job *j);
void scheduler_job_deleted(struct scheduler *s, const char *job_id);
/* Stops firing (shutdown): the timer is not armed again. */
void scheduler_stop(struct scheduler *s);
/* Number of jobs in the heap. */
size_t scheduler_count(const struct scheduler *s);


#endif
