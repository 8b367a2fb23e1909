/*
 * builtin: job types implemented in C inside sked - "noop", "sleep", "http" (one request with
 * libcurl) and "sked.prune" (deleting finished runs past their retention) - declared in a task
 * file with "builtin": NAME instead of "command". They run on a small pool of threads, never
 * on the event loop, and report through a context like a task process does through its pipes:
 * log lines with levels, progress, counters, a message and an output. The context is shared
 * between the run's thread and the loop, under a lock; the loop collects what a builtin
 * reported when it is woken (dispatch owns the wake-up and the collecting).
 */
#ifndef SKED_BUILTIN_H
#define SKED_BUILTIN_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/uuid.h"

struct builtin_ctx;

/* A builtin's body; 0 for success, or non-zero with bctx_message saying why it failed. */
typedef int (*builtin_fn)(struct builtin_ctx *c);

/* Checks a builtin's resolved arguments beyond what its task file's schema can say (a URL's
 * scheme, a header's name, a duration's bounds), each fault added to errs under "args.NAME";
 * partial: a job's saved arguments, which a run may complete (nothing is required). */
typedef void (*builtin_check_fn)(const json_t *args, bool partial, json_t *errs);

struct builtin_def {
    const char *name;
    builtin_fn run;
    const char *summary;
    bool inline_ok; /* it never blocks: it runs on the loop itself, with no thread hop */
    builtin_check_fn check; /* NULL: its schema says it all */
};

const struct builtin_def *builtin_find(const char *name);
/* The checks of builtin `name` (if it has any) on args: when a run is requested or a job's
 * arguments are saved, so that bad arguments are a 400 naming them rather than a run that
 * fails. */
void builtin_check(const char *name, const json_t *args, bool partial, json_t *errs);
/* The server's retention, which sked.prune's retention argument may not be shorter than. */
void builtin_set_retention(int64_t ms);
/* The names, comma-separated, for error messages. */
const char *builtin_names(void);

struct builtin_line {
    int level;
    char *text;
};

struct builtin_ctx {
    /* set by the loop before the run starts, read-only for the thread */
    const struct builtin_def *def;
    json_t *args;           /* the run's resolved arguments */
    bool secrets;           /* they hold values of secrets (which go nowhere else) */
    char run_id[UUID_STR_LEN], job_id[UUID_STR_LEN];
    char *db_path;          /* the store, for sked.prune */
    int64_t default_retention_ms;
    int wake_fd;            /* written after each report, so the loop collects it */
    void *owner;            /* the loop's record of the run (NULL once abandoned) */

    atomic_bool cancel;     /* stop or timeout: the builtin should end soon */
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* signalled on cancel, so sleeps end at once */

    /* reported by the thread, taken by the loop (under lock) */
    struct builtin_line *lines;
    size_t nlines, clines;
    bool dirty;
    json_t *progress, *output;
    char *message;
    bool has_entries;
    int64_t entries[4]; /* total, inserted, updated, errored; -1 unchanged */

    /* the outcome */
    int rc;
    bool abandoned; /* the loop gave up waiting (stop grace passed): just free it at the end */
    bool skipped;   /* cancelled before it began: the builtin never ran */
};

struct builtin_ctx *builtin_ctx_new(const struct builtin_def *def, const json_t *args);
void builtin_ctx_free(struct builtin_ctx *c);
/* The pool calls this on a thread. */
void builtin_run(void *ctx);
/* Asks the builtin to end (it returns soon after). */
void builtin_cancel(struct builtin_ctx *c);

/* ---- for builtin bodies (any thread) ---- */
void bctx_log(struct builtin_ctx *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bctx_progress(struct builtin_ctx *c, int64_t done, int64_t total);
void bctx_entries(struct builtin_ctx *c, int64_t total, int64_t inserted, int64_t updated,
                  int64_t errored);
void bctx_message(struct builtin_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void bctx_output(struct builtin_ctx *c, json_t *output); /* steals */
bool bctx_cancelled(struct builtin_ctx *c);
/* Sleeps up to ms; false when the run was cancelled meanwhile. */
bool bctx_sleep(struct builtin_ctx *c, int64_t ms);

#endif
