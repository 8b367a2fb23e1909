/*
 * tasks: job types. Each *.json file in the tasks directory declares one; they load at start
 * into a taskset, and a bad file, a duplicate id or an unknown key refuses the
 * whole set with "FILE: field: reason" so sked never starts half-configured.
 *
 * A taskset is immutable once loaded; runs copy what they need when they start, so a reload can
 * swap sets while runs are active.
 */
#ifndef SKED_TASKS_H
#define SKED_TASKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/map.h"

/* A job type a Celery worker executes (celery.c): where to send it and how to follow it. */
struct celery_def {
    char *broker;          /* redis://host:port/db */
    char *result_backend;  /* redis://host:port/db */
    char *task;            /* the registered Celery task name */
    char *queue;           /* every run goes to this Celery queue; NULL: the run's queue */
    json_t *positional;    /* array of argument names sent as positional args, in order */
    int64_t accept_timeout_ms; /* a worker must take the task within this */
    bool send_since;       /* the resolved since goes to the task as a kwarg */
};

struct task {
    char *id;
    char *title;
    char *description; /* "" when absent */
    char **argv;       /* NULL-terminated; argv[0] resolved against the file's folder; NULL
                        * for a builtin */
    size_t argc;
    char *builtin;     /* a job type implemented inside sked (builtin.h), or NULL */
    struct celery_def *celery; /* a job type Celery workers execute, or NULL */
    json_t *arguments; /* the arguments schema (type object), or NULL */
    char *default_queue; /* NULL: the configured default queue */
    int64_t timeout_ms;  /* -1: none */
    int64_t stop_grace_ms; /* SIGTERM -> SIGKILL delay, -1: the server's default */
    json_t *env;         /* object of extra environment strings, or NULL */
    char *working_dir;   /* absolute or relative to sked's cwd; never NULL */
    bool admin_args;     /* "operator_args": false: only admins give a run arguments of its own */
    bool secret_defaults; /* a default of its arguments refers to a secret (secrets.h) */
    char *file;          /* the task file it came from */
};

struct taskset {
    struct task **tasks; /* sorted by id */
    size_t count;
    struct map by_id;
};

/* The queue names a task's default_queue may take. */
struct queue_names {
    const char *const *names;
    size_t count;
};

/*
 * Parses one task file's text. dir is the file's folder (for relative paths). On failure
 * returns -EINVAL and fills e: field holds "FILE: FIELD" context, msg the reason.
 */
int tasks_parse(const char *text, size_t len, const char *file, const char *dir,
                const struct queue_names *queues, struct task **out, struct sk_err *e);
void task_free(struct task *t);

/* Loads every *.json in dir (sorted by name). Error text in e->msg is "FILE: field: reason",
 * of the first file that does not load; every file is read all the same, and when others is
 * not NULL the errors of the files after it are added to it, a line each, so that one look
 * shows every file to mend. */
int tasks_load_dir(const char *dir, const struct queue_names *queues, struct taskset **out,
                   struct sk_err *e, struct buf *others);
/* An empty set (no task files). */
struct taskset *taskset_new(void);
/* Adds t (taking ownership); -EEXIST when the id is taken. */
int taskset_add(struct taskset *ts, struct task *t);
void taskset_free(struct taskset *ts);
const struct task *taskset_get(const struct taskset *ts, const char *id);

/* NULL when queue may take runs of t (a configured queue; any valid Celery queue name for a
 * Celery job type, or the one it fixes), else the reason, written into buf. */
const char *task_queue_error(const struct task *t, const struct queue_names *queues,
                             const char *queue, char *buf, size_t len);
/* The queue a job of t gets when none is given. */
const char *task_default_queue(const struct task *t, const struct queue_names *queues);

/* True when the schema of t declares property name. */
bool task_has_arg(const struct task *t, const char *name);

/*
 * Expands {{name}} placeholders of argv element s with values from args: strings verbatim,
 * numbers and booleans as JSON, null or missing as "", arrays and objects as compact JSON.
 * "{{{{" stands for a literal "{{" ("}}" outside a placeholder is literal anyway). Caller frees.
 */
char *task_expand(const char *s, const json_t *args);

#endif
