/*
 * offload: work that would stall the event loop (password hashing now, in-process job types
 * later) runs on a small pool of threads; its completion callback runs back on the loop.
 * work() must not touch loop-owned state; done() may. A submitted item is never dropped:
 * offload_free() waits for the work in progress and runs every pending done().
 */
#ifndef SKED_OFFLOAD_H
#define SKED_OFFLOAD_H

#include <stdbool.h>

struct offload;
struct event_base;

typedef void (*offload_work_fn)(void *arg);
typedef void (*offload_done_fn)(void *arg);

struct offload *offload_new(struct event_base *base, int threads);
/* Runs work(arg) on a pool thread, then done(arg) on the loop thread. */
void offload_submit(struct offload *o, offload_work_fn work, offload_done_fn done, void *arg);
/* An item no thread has taken yet is not run: its done() comes at the loop's next turn, as
 * for one that ran. False when a thread has it already, or it is done. */
bool offload_skip(struct offload *o, void *arg);
/* Takes every item no thread has taken yet off the queue, without its work or done(), and
 * calls drop(arg) for each on the caller's thread: for a shutdown that sends nothing more.
 * Returns how many. */
int offload_withdraw(struct offload *o, void (*drop)(void *arg));
/* Items submitted and not yet done. */
int offload_pending(const struct offload *o);
void offload_free(struct offload *o);

#endif
