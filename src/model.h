/*
 * model: the nouns of sked in one header - run statuses and their transitions, triggers,
 * jobs and runs as the engine, store and API exchange them. Nothing here does I/O.
 *
 * Ownership: every pointer member of struct job / struct run is owned by the struct and freed
 * by job_release() / run_release(); json_t members hold one reference each.
 */
#ifndef SKED_MODEL_H
#define SKED_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/uuid.h"

enum run_status {
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_SUCCESS,
    RUN_FAILED,
    RUN_WARNING, /* accepted for compatibility; nothing sets it */
    RUN_CANCELLING,
    RUN_CANCELLED,
    RUN_PARTIAL_SUCCESS,
    RUN_STATUS_COUNT
};
/* A set of statuses, for guards and filters. */
#define RUN_MASK(s) (1u << (s))

/* "QUEUED", ... as in the API. */
const char *run_status_name(enum run_status s);
/* Single-letter store code: Q R S F W C X P. */
char run_status_code(enum run_status s);
/* Returns the status, or -1 when the name (case-insensitive) or code is unknown. */
int run_status_parse(const char *name);
int run_status_from_code(char c);
/* SUCCESS, FAILED, WARNING, CANCELLED, PARTIAL_SUCCESS. */
bool run_status_terminal(enum run_status s);
/* Whether the state machine allows from -> to. */
bool run_status_allowed(enum run_status from, enum run_status to);

enum run_trigger { TRIGGER_MANUAL, TRIGGER_SCHEDULED, TRIGGER_RETRY, TRIGGER_CHAINED, TRIGGER_BACKFILL };

/* The not_before of a run held until its job's active run ends (overlap queue_one): later
 * than any instant (10000-01-01T00:00:00Z), so no claim takes it before it is released. */
#define RUN_HELD 253402300800000000LL
const char *run_trigger_name(enum run_trigger t);
int run_trigger_parse(const char *s);

/* Log levels of run log lines, ordered by severity (syslog-like, as the reference names). */
enum log_line_level { LL_DEBUG, LL_INFO, LL_WARNING, LL_ERROR, LL_CRITICAL, LL_COUNT };
const char *log_line_level_name(int lvl);
int log_line_level_parse(const char *s);

enum log_stream { STREAM_STDOUT, STREAM_STDERR, STREAM_SKED };
const char *log_stream_name(int s);

#define NO_TIME INT64_MIN

/* What a scheduled fire does while the job already has runs. */
enum overlap_policy { OVERLAP_ALLOW, OVERLAP_SKIP, OVERLAP_QUEUE_ONE, OVERLAP_CANCEL_PREVIOUS };
/* What happens to fires missed while sked was down. */
enum catchup_policy { CATCHUP_ONCE, CATCHUP_SKIP, CATCHUP_ALL };
const char *overlap_name(int p);
int overlap_parse(const char *s);
const char *catchup_name(int p);
int catchup_parse(const char *s);

/* A retry's wait doubles with each attempt up to this, and a job's retry_backoff may not exceed it. */
#define RETRY_BACKOFF_MAX_MS (3600LL * 1000)

struct job {
    char id[UUID_STR_LEN];
    int64_t created, updated; /* microseconds since the epoch */
    bool active;
    char *title;
    char *description; /* may be NULL */
    char *task;        /* job type id */
    char *default_queue;
    json_t *schedule;      /* NULL when unscheduled */
    json_t *run_args;      /* object, possibly with "custom_args"; never NULL after load */
    json_t *notifications; /* {"emails":[..],"statuses":[..]} or NULL */
    int64_t timeout_ms;    /* -1: the task's default */
    int64_t next_run;      /* NO_TIME when none */
    int overlap;           /* enum overlap_policy */
    int catchup;           /* enum catchup_policy */
    int catchup_limit;
    int64_t skipped_fires;
    int max_retries;        /* a FAILED run is retried this many times */
    int64_t retry_backoff_ms; /* before the first retry; doubles each time, at most an hour */
    int64_t retention_ms;   /* finished runs older than this are pruned; -1: the default */
    json_t *on_success;     /* array of job ids started when a run of it succeeds, or NULL */
    int64_t alert_after_ms; /* its notifications are told after this long without a success; -1: never */
    int64_t overdue_at;     /* when they were told (until a success); NO_TIME: not overdue */
    int64_t alert_from;     /* without a success, the alert counts from it; NO_TIME: created */
};

struct user_ref {
    char *id;   /* NULL: the scheduler / system */
    char *name;
};

/* The deepest a run's output may nest, as its arguments (ARGS_MAX_DEPTH): every run list and
 * job list holds it a few levels further down, and JSON parsers stop at some depth (jansson at
 * 2048, sked's own client with it; Python's json and jq far sooner). */
#define RUN_OUTPUT_MAX_DEPTH 100

struct run {
    int64_t rid; /* store-internal row number; 0 before insert */
    char id[UUID_STR_LEN];
    char job_id[UUID_STR_LEN];
    char *task; /* the job type it runs */
    enum run_status status;
    char *title; /* may be NULL */
    char *queue;
    json_t *args; /* the resolved arguments, object */
    enum run_trigger trigger;
    int64_t scheduled_for, created, updated, started_at, finished_at; /* NO_TIME when unset */
    int64_t until; /* the end of its window, given; NO_TIME: the window ends at started_at */
    char *message;
    int exit_code;
    bool has_exit_code;
    json_t *output;   /* NULL when none; nested RUN_OUTPUT_MAX_DEPTH levels at most */
    json_t *progress; /* {"done":n,"total":n} or NULL */
    int64_t total_entries, inserted_entries, updated_entries, errored_entries;
    int attempt;
    char *parent_run_id;
    char *node;
    int64_t claim;
    bool since_auto; /* its since is sked's to choose: settled again as it starts (read by the
                        claim alone; set when it is made) */
    int pid;
    int64_t timeout_ms; /* effective timeout, -1 none */
    int64_t not_before; /* a queued run waits until then (a retry's backoff); NO_TIME: now */
    struct user_ref started_by, stopped_by;
    char *executor; /* NULL: sked executes it (a process or a builtin); "celery": a worker does */
    json_t *remote; /* an executor's own state of the run (celery.c), or NULL */
    char *job_title; /* the job's title as the run was read (not stored with the run), or NULL */
    size_t row_bytes; /* what its largest texts took in the store, as a page of runs or a job's
                         newest runs read it (else 0): what bounds a page */
};

/* ---- people ---- */

/* Roles, in increasing power: each may do what the ones before it may. */
enum role { ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };
const char *role_name(int r);
int role_parse(const char *s);

struct account {
    char id[UUID_STR_LEN];
    char *username;
    char *display_name;
    int role;
    char *password_hash; /* Argon2id string, or NULL: no password login */
    bool disabled;
    int64_t created, updated;
};

struct token {
    char id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
    char *account_name; /* the owner's username, when read with it */
    char *name;
    char *prefix; /* the first characters of the secret, to recognise it */
    int64_t created, expires_at, last_used, revoked_at; /* NO_TIME when unset */
    bool account_disabled; /* its owner's account is disabled: the token works no more */
};

struct audit_entry {
    int64_t id;
    int64_t ts;
    char *actor_kind; /* "user" (a session), "token", "cli" (on the machine), "anonymous" */
    char *actor_id, *actor_name, *token_id;
    char *action;     /* "job.created", "run.stopped", "login.failed", ... */
    char *job_id, *run_id, *target;
    json_t *details;
    const char *details_text; /* stored instead of details when set (borrowed, not read back) */
    char *address;
    char *job_title; /* the job's title as the entry was read; NULL when it is gone */
};

/* Why s cannot be a new account's username, or NULL: it is 1 to 64 ASCII letters, digits, '_',
 * '.', '@' or '-', and none of the names the API gives a meaning of their own, in any case:
 * "bootstrap" (the bootstrap token's name, which the audit trail's user filter finds) and "me"
 * (the caller's own account in /api/users/me). Accounts stored before keep their names. */
const char *username_problem(const char *s);
void account_release(struct account *a);
void token_release(struct token *t);
/* An account and a token as the API shows them (GET /api/users, GET /api/tokens), the CLI's
 * --json too: never a hash or a secret. */
json_t *account_to_json(const struct account *a);
/* neither revoked nor expired at now, and its account not disabled: whether it works */
bool token_live(const struct token *t, int64_t now);
json_t *token_to_json(const struct token *t, int64_t now);
void audit_entry_release(struct audit_entry *e);

void job_init(struct job *j);
void job_release(struct job *j);
/* dst becomes a copy of src with copies of its own of every string and JSON value. */
void job_copy(struct job *dst, const struct job *src);
/* Whether the job's notifications list status (enum run_status). */
bool job_notifies(const struct job *j, int status);
void run_init(struct run *r);
void run_release(struct run *r);
/* A deep copy (strings duplicated, JSON values shared). */
void run_copy(struct run *dst, const struct run *src);

#endif
