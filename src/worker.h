/*
 * worker: the executors. Child processes: a claimed run becomes a task process in a process
 * group of its own (so stop and timeout reach its whole process tree), with the resolved
 * arguments on stdin, SKED_* variables in its environment, stdout/stderr captured as the run's
 * log and fd 3 as its status channel. Everything is non-blocking on the event loop: a task that
 * floods output or never reads its stdin delays no one.
 *
 * Builtins (builtin.h): the job type's C function runs on the dispatcher's thread pool; what it
 * reports is collected into the run on the loop, stop and timeout cancel it, and one that does
 * not end within the stop grace is abandoned (its thread finishes alone, its run is recorded).
 *
 * struct active is one executing run; dispatch.c owns its lifetime (claim to finish), this file
 * owns its process and pipes, or its builtin context.
 */
#ifndef SKED_WORKER_H
#define SKED_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "logcap.h"
#include "model.h"
#include "tasks.h"

struct dispatch;
struct qstate;
struct event;

enum active_end {
    END_NONE,
    END_STOPPED,  /* a user asked */
    END_TIMEOUT,  /* the run's timeout passed */
    END_SHUTDOWN, /* sked is shutting down */
};

struct active {
    struct dispatch *d;
    struct qstate *q;
    struct run run;     /* as claimed, kept current (status, counters, message, output) */
    json_t *xargs;      /* the arguments the task gets: run.args with its secrets' values */
    struct logcap cap;
    bool dirty;         /* progress, counters, message or output changed since the last write */

    pid_t pid;          /* the task process, also its process group id */
    struct launch *launch; /* what the process reads until it has exec'd: kept until reaped */
    bool exited;
    int wstatus;
    int64_t reaped_at;  /* when the process was reaped (its run's finished_at), or 0 */
    int fd[4];          /* parent ends: 0 stdin, 1 stdout, 2 stderr, 3 status; -1 closed */
    struct event *ev[4];
    size_t read_size[4]; /* what the next wake-up reads from the pipe (0: the most) */
    struct event *watch_ev; /* a process's output pipes are watched from when it fires */
    struct buf input;   /* what is left to write to stdin */
    size_t input_off;
    struct buf status;  /* unfinished status line */
    int64_t status_bytes;
    bool status_capped;
    bool status_skip;   /* dropping the rest of an over-long status line */
    int64_t status_ignored; /* status lines ignored so far (the first few are logged) */

    struct builtin_ctx *bctx; /* a builtin's context while it runs, else NULL */
    bool is_builtin;
    bool inline_done;   /* an inline builtin already returned: worker_builtin_end ends it */
    bool builtin_skipped;   /* it was stopped before a thread began it */
    bool builtin_abandoned; /* the stop grace passed before it returned */

    bool pending;       /* claimed, its task not started until the claim is committed */
    enum active_end end;
    bool detached;      /* the run's row is gone (its job was deleted): store nothing more */
    int64_t stop_grace_ms;
    struct event *timeout_ev, *kill_ev;
};

/* Starts the task process for a->run. On failure returns -errno with a reason in why; a program
 * that then cannot be exec'd (or its working directory entered) ends the run when its process
 * is reaped, through dispatch_start_failed, with the same words. */
int worker_spawn(struct active *a, const struct task *t, char *why, size_t whylen);
/* Makes the pipes of the next tasks ahead (a few sets, kept until used); for when the loop is
 * about to wait. */
void worker_make_spares(void);
/* Sends sig to the task's process group. */
void worker_signal(struct active *a, int sig);
/* Asks the task to end (SIGTERM to its group), then SIGKILL after the stop grace; true when it
 * did now, false when the task was already ending (then only a user's stop, END_STOPPED,
 * replaces the reason it ends for). */
bool worker_terminate(struct active *a, enum active_end why);
/* Called with a reaped child: drains its pipes and finishes the run. */
void worker_exited(struct active *a, int wstatus);
/* Closes pipes and timers (not the process). */
void worker_release(struct active *a);

/* Whether t is a builtin that runs on the loop itself, at once (noop): it has no effect outside
 * sked, so it may run before the store holds its run. */
bool worker_runs_inline(const struct task *t);
/* Starts the builtin job type of t for a->run on the dispatcher's pool. */
int worker_start_builtin(struct active *a, const struct task *t, char *why, size_t whylen);
/* Moves what a builtin reported into a->run and its log. */
void worker_collect(struct active *a);
/* Ends the run of a builtin that ran inline (a->inline_done); a is freed. The caller calls it
 * once it no longer uses a, in the same loop iteration, so the run's start and end share one
 * store transaction. */
void worker_builtin_end(struct active *a);

/* Ends the processes of runs: any whose environment holds SKED_RUN_ID=<one of ids>, any that
 * holds one of the pipes whose inodes pipes lists (npipes of them), any of the process groups
 * leaders lists (nleaders: tasks' groups), and, found from each of those, the members of its
 * process group and the holders of the pipes on its fds 0-3 (a program that cleared its
 * environment, under env -i, su - or sudo, is found so); but those of process group group (> 0:
 * a task's, killed already). Returns how many. */
int worker_kill_orphans(const char *const *ids, size_t n, const ino_t *pipes, size_t npipes,
                        const pid_t *leaders, size_t nleaders, pid_t group);
/* Whether pid is the process a task's run started at started (µs since the epoch) as its
 * first: alive, begun within a second or two of it (not a later process given the same pid). */
bool worker_task_alive(pid_t pid, int64_t started);

#endif
