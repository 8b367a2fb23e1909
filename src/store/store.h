/*
 * store: everything sked keeps - jobs, runs, run logs, meta values - behind one interface.
 * No SQL exists outside src/store/. The embedded backend is SQLite (WAL); the interface is
 * shaped so a PostgreSQL backend slots in: every run write after creation is a guarded update
 * that names the status(es) it expects and, for engine writes, the node and claim number that
 * own the run, so a late or foreign writer can never move a run.
 *
 * Functions return 0, -ENOENT when a row does not exist, -ESTALE when a guarded update found
 * the row in another state, or another negative errno-style code on a store failure (logged).
 * Structs filled by the store are the caller's to release (job_release, run_release, ...).
 */
#ifndef SKED_STORE_H
#define SKED_STORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model.h"

struct store;

enum durability { DURABILITY_NORMAL, DURABILITY_FULL };

/* Opens (creating and migrating as needed) the store at path. */
int store_open(const char *path, enum durability d, struct store **out, struct sk_err *e);
void store_close(struct store *s);
/* Takes the store at path (creating its file when missing) for this process's server alone:
 * an fd to keep open until after store_close, or a negative errno with e saying why (-EBUSY:
 * another sked serves it). A second server on the same store would take the first one's runs
 * for a crash's leftovers. Local tools (backup, accounts, tokens) take no such lock. */
int store_lock_serving(const char *path, struct sk_err *e);
/* Checkpoints the WAL on a thread with a connection of its own instead of in the commits that
 * pass the threshold (the server's store: its commits are on the event loop). */
int store_checkpoint_in_background(struct store *s, struct sk_err *e);
/* Adds the runs above the run counts' mark to their jobs' counts (see sqlite.c): the server
 * does at start what its own inserts then do every few thousand runs. */
int store_fold_run_counts(struct store *s);
/* Schema version applied, and the newest this sked knows (equal once migrated). */
int store_version(struct store *s);
int store_latest_version(void);
/* Whether the last failure of a call (the one logged) was the disk of the store being full:
 * the local tools then say so in their own words. */
bool store_failed_full(const struct store *s);
/* The refusal of a --db that names a folder (-EISDIR, naming the file sked serve would make in
 * it) or another file that is not a regular one (a FIFO, a device: -EINVAL); 0 when path is a
 * regular file, is missing or is ":memory:". */
int store_not_a_file(struct sk_err *e, const char *path);
/* A number that changes whenever what the store holds may have changed: a write of this
 * process (committed or not, or undone), or a commit of another connection seen by a read. What
 * was read and kept while it stays the same is still what a read would give. */
uint64_t store_generation(struct store *s);

/* Called with the duration of every write: a whole transaction, or one autocommit statement. */
void store_observe(struct store *s, void (*fn)(void *arg, double seconds), void *arg);

/*
 * Transactions nest: the outermost is a transaction, inner ones savepoints (a rollback undoes
 * only its own part).
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/*
 * Batch mode (group commit): the first statement after a batch starts (a read too) opens a
 * transaction that store_batch_end commits, so many writes share one commit and many reads one
 * read lock. The server makes every loop
 * iteration a batch; answers are written to sockets in a later iteration, after the commit.
 */
void store_batching(struct store *s, bool on);
int store_batch_end(struct store *s);
/* Rows inserted, updated or deleted through the loop's connection since it opened: a change of
 * it tells that something was written. */
int64_t store_changes(const struct store *s);

/* Meta values (small strings). store_meta_get fills *value (caller frees) or -ENOENT. */
int store_meta_get(struct store *s, const char *key, char **value);
int store_meta_set(struct store *s, const char *key, const char *value);

/* ---- jobs ---- */
int store_job_insert(struct store *s, const struct job *j);
/* Replaces every column of the job j->id (created is kept). -ENOENT when absent. */
int store_job_update(struct store *s, const struct job *j);
/* True when job id asks for notifications of runs ending in status (enum run_status): a
 * check that spares copying the job for the many runs nobody is told about. */
bool store_job_notifies(struct store *s, const char *id, int status);
int store_job_get(struct store *s, const char *id, struct job *out);
/* Deletes the job with its runs and their logs. */
int store_job_delete(struct store *s, const char *id);
/* Takes job id out of every job's on_success list (after its deletion); each job so changed
 * is updated at now. */
int store_job_unchain(struct store *s, const char *id, int64_t now);
/* Whether job id starts other jobs when a run of it succeeds (read from the jobs kept). */
bool store_job_chains(struct store *s, const char *id);
/* The chains owed: run_id (of job_id) succeeded and the runs its job's on_success starts are
 * not created yet. Added in the outcome's transaction, done in the chained runs'; fn is called
 * with each one owed, oldest first. */
int store_chain_owed(struct store *s, const char *run_id, const char *job_id);
int store_chain_paid(struct store *s, const char *run_id);
/* Idempotency keys of run requests and backfills (per actor): the fingerprint (64 hex digits),
 * run id and answer (a backfill's, else NULL; *response, when asked for, is the caller's to
 * free) a key was recorded with, or -ENOENT (also once it is older than a day); and recording
 * one, which drops those older than a day. */
#define IDEMPOTENCY_KEEP_US (24LL * 3600 * 1000000)
int store_idempotency_get(struct store *s, const char *actor, const char *key, int64_t now,
                          char fingerprint[65], char run_id[37], char **response);
int store_idempotency_put(struct store *s, const char *actor, const char *key,
                          const char *fingerprint, const char *run_id, const char *response,
                          int64_t now);
int store_chains_owed(struct store *s, void (*fn)(void *arg, const char *run_id, const char *job_id),
                      void *arg);
/* Deletes the oldest `at_most` runs of job id (with their logs); *deleted: how many. */
int store_job_purge_runs(struct store *s, const char *id, int at_most, int *deleted);

struct job_query {
    const char *q;      /* case-insensitive substring of title or description, or NULL */
    int active;         /* -1 any, 0 inactive, 1 active */
    const char *task;   /* or NULL */
    const char *sort;   /* "title" (default), "created" or "updated" */
    bool desc;
    int64_t offset, limit;
    const char *starts; /* a job id: only the jobs whose on_success lists it; or NULL */
    const char *id_prefix; /* in lower case: only the jobs whose id starts so; or NULL */
    int64_t max_bytes;     /* > 0: bounds the bytes the rows read take (see below) */
};
/* A list read with max_bytes set stops before the row that would take the texts and JSON of the
 * rows read past that many bytes (the first row is always read); *cut (cut may be NULL) tells
 * whether it stopped so: fewer rows than the limit, yet more may follow. A page of 1,000 runs
 * with arguments of 256 KiB each would otherwise be read, and answered, whole. */
int store_job_list(struct store *s, const struct job_query *q, struct job **out, size_t *n,
                   int64_t *total, bool *cut);
void store_jobs_free(struct job *jobs, size_t n);

/* Calls fn for every active job with a schedule. */
int store_jobs_scheduled(struct store *s, void (*fn)(void *arg, const char *id, int64_t next_run),
                         void *arg);
/*
 * Advances a job's next fire time from expected to next (compare-and-set, so two schedulers on
 * one store cannot both fire the same instant) and adds skipped to its skipped_fires.
 * -ESTALE when next_run was not expected.
 */
int store_job_advance(struct store *s, const char *id, int64_t expected, int64_t next,
                      int64_t skipped);
/* What /metrics tells of each job: its next fire (NO_TIME unless it is active and scheduled)
 * and when its newest SUCCESS run ended (NO_TIME when it has none). */
struct job_fact {
    const char *id, *title, *task;
    int64_t next_fire, last_success_end;
};
/* An active job with an alert_after, as the check of overdue jobs reads it. */
struct job_alert {
    const char *id;
    int64_t created, alert_after_ms, overdue_at; /* created: where the alert counts from */
    int64_t last_success_end; /* NO_TIME as listed: store_job_last_success tells it */
};
int store_jobs_alerting(struct store *s, void (*fn)(void *arg, const struct job_alert *a),
                        void *arg);
/* When the job's last SUCCESS run to end ended (runs given a window's end not counted), or
 * NO_TIME. Reads every run since the newest success: callers keep what it tells. */
int64_t store_job_last_success(struct store *s, const char *id);
/* Sets a job's overdue_at from expected to at (compare-and-set: -ESTALE when it was not
 * expected, the job saved or checked meanwhile). */
int store_job_set_overdue(struct store *s, const char *id, int64_t expected, int64_t at);
/* Calls fn for every job, in id order. */
int store_job_facts(struct store *s, void (*fn)(void *arg, const struct job_fact *f), void *arg);
/* Number of the job's runs (of every job's: job_id NULL) whose status is in the mask. */
int64_t store_job_count_runs(struct store *s, const char *job_id, unsigned status_mask);

/* ---- the notification outbox (store version 22) ---- */
/* One delivery not yet sent or given up: an e-mail to one address, or a webhook call to one
 * URL, with exactly what is sent. */
struct outbox_row {
    int64_t id, created;
    const char *channel;       /* "email" or "webhook" */
    const char *target;        /* the address, or the URL */
    int hook;                  /* a webhook's place in its job's list, from 1; else 0 */
    const char *event;         /* run.finished, job.overdue, job.recovered */
    const char *ref_id;        /* the run's id, or the alert's */
    const char *job_id;
    const char *subject;       /* an e-mail's, else NULL */
    const char *body;          /* the e-mail's text, or the webhook's JSON */
    int attempts;              /* made so far */
};
/* Adds r (sets r->id), in the caller's transaction: the row commits with what called for it. */
int store_outbox_add(struct store *s, struct outbox_row *r);
/* Calls fn with at most limit rows whose id is above after, oldest first; a row's texts live
 * for the call only. */
int store_outbox_list(struct store *s, int64_t after, int limit,
                      void (*fn)(void *arg, const struct outbox_row *r), void *arg);
/* Records the attempts made of row id; ref_id checks that it is still the same delivery (an id
 * a rollback took back may be given again). -ENOENT when it is gone. */
int store_outbox_attempted(struct store *s, int64_t id, const char *ref_id, int attempts);
/* Removes row id (of ref_id, likewise): sent or given up. -ENOENT when it is gone. */
int store_outbox_delete(struct store *s, int64_t id, const char *ref_id);
/* How many rows the outbox holds, or < 0. */
int64_t store_outbox_count(struct store *s);

/* ---- runs ---- */
/* Inserts r (r->id, job_id, queue, args, created... set by the caller; a run inserted RUNNING
 * carries its started_at, node and claim); sets r->rid. */
int store_run_insert(struct store *s, struct run *r);
int store_run_get(struct store *s, const char *id, struct run *out);

struct run_query {
    const char *job_id;   /* or NULL for all jobs */
    unsigned status_mask; /* bit per enum run_status; 0 = any */
    int64_t since;        /* created >= since, or NO_TIME */
    const char *q;        /* substring of the run id or title, or NULL */
    bool asc;             /* default newest first */
    const char *after;    /* keyset: only runs after this run (by id) in the order, or NULL */
    int64_t offset, limit;
    int64_t max_bytes; /* > 0: bounds the bytes read (as store_job_list's) */
};
/* total counts every run that matches, whatever the page. -ENOENT when q->after names no run
 * (of q->job_id, when set). *cut: as store_job_list's. */
int store_run_list(struct store *s, const struct run_query *q, struct run **out, size_t *n,
                   int64_t *total, bool *cut);
void store_runs_free(struct run *runs, size_t n);
/* The ids of at most limit of the job's QUEUED (status RUN_QUEUED) or RUNNING runs, oldest
 * first, of trigger (< 0: any), into ids (UUID_STR_LEN bytes each, malloc'ed); their number,
 * or < 0. */
int store_job_runs_in(struct store *s, const char *job_id, int status, int trigger, int limit,
                      char **ids);
/* Deletes a finished run and its log: -EBUSY when it is not finished. */
int store_run_delete(struct store *s, const char *id);
/* The newest `limit` finished runs of job id, newest first: fn is given each one's status (enum
 * run_status), created, started_at and finished_at (NO_TIME when it never started). */
int store_job_finished_runs(struct store *s, const char *job_id, int limit,
                            void (*fn)(void *arg, int status, int64_t created, int64_t started,
                                       int64_t finished),
                            void *arg);
/* The job's newest run (status < 0: any status). -ENOENT when none. */
int store_run_latest(struct store *s, const char *job_id, int status, struct run *out);
/* started_at of the job's newest SUCCESS run, or NO_TIME. */
int64_t store_last_success_start(struct store *s, const char *job_id);

/* Which fields of a struct run a guarded update writes. */
enum run_field {
    RF_STARTED_AT = 1 << 0,
    RF_FINISHED_AT = 1 << 1,
    RF_MESSAGE = 1 << 2,
    RF_EXIT_CODE = 1 << 3,
    RF_OUTPUT = 1 << 4,
    RF_PROGRESS = 1 << 5,
    RF_ENTRIES = 1 << 6,
    RF_PID = 1 << 7,
    RF_STOPPED_BY = 1 << 8,
    RF_REMOTE = 1 << 9,
};

struct run_guard {
    const char *id;
    unsigned from_mask; /* statuses the run must be in */
    const char *node;   /* when not NULL, node and claim must match too */
    int64_t claim;
    int64_t rid; /* when > 0, the run's row number (found without the id's index) */
};

/*
 * Guarded update: sets status to `to` (or leaves it when to < 0) and the fields in mask taken
 * from f, plus updated = now. -ESTALE when the guard does not hold.
 */
int store_run_update(struct store *s, const struct run_guard *g, int to, unsigned mask,
                     const struct run *f, int64_t now);

/*
 * Claims the oldest QUEUED run of queue whose not_before has come, for node: QUEUED -> RUNNING
 * with started_at = now, the node, and claim + 1, filling out. -ENOENT when the queue has none,
 * -EAGAIN when another claim took it first.
 */
int store_run_claim(struct store *s, const char *queue, const char *node, int64_t now,
                    struct run *out);
/* The earliest not_before after now of a queued run (a retry waiting), or NO_TIME; held runs
 * (RUN_HELD) are not waiting for a time. */
int64_t store_next_delayed(struct store *s, int64_t now);
/* Puts a claimed run whose task could not start for want of something sked lacked
 * (descriptors, processes) back in its queue: RUNNING -> QUEUED, as never claimed, guarded by
 * node and claim. -ESTALE when the guard does not hold. */
int store_run_unclaim(struct store *s, const struct run_guard *g, int64_t now);
/* Releases the held runs of job_id (not_before RUN_HELD -> none); returns how many, or < 0. */
int store_runs_release_held(struct store *s, const char *job_id);
/* Replaces a run's arguments (its since settled as it starts: since_auto). */
int store_run_set_args(struct store *s, int64_t rid, const json_t *args);
/* The pid of a started task's process, kept while its run is active (claim: the start's), so
 * that a start after a crash finds its process group; the outcome keeps it too. */
int store_run_set_pid(struct store *s, int64_t rid, int64_t claim, int pid);
/* Calls fn with the id of each job that has held runs. */
int store_jobs_holding(struct store *s, void (*fn)(void *arg, const char *job_id), void *arg);
/* Runs sked executes itself in RUNNING or CANCELLING (what a restart must recover): of every
 * node, as one sked at a time serves a store file (its lock), whatever node name the runs were
 * started under (a host renamed, a container made anew). */
int store_runs_active(struct store *s, struct run **out, size_t *n);
/* The task of run_id (of node), whose row went with its deleted job, is still ending; or it has
 * ended (remove). */
int store_detached_add(struct store *s, const char *run_id, const char *node, int64_t now);
int store_detached_remove(struct store *s, const char *run_id);
/* The run ids of the tasks still ending when sked stopped, into *ids (each and the array
 * malloc'd); of every node, as store_runs_active. */
int store_detached_list(struct store *s, char ***ids, size_t *n);
/* Runs of an executor elsewhere ("celery") that are not over: QUEUED, RUNNING or CANCELLING. */
int store_runs_remote(struct store *s, const char *executor, const char *node, struct run **out,
                      size_t *n);
/* Number of QUEUED runs sked executes itself per queue name, calling fn for each. */
int store_queue_depths(struct store *s, void (*fn)(void *arg, const char *queue, int64_t n),
                       void *arg);

/* ---- people ---- */
int store_account_insert(struct store *s, const struct account *a); /* -EEXIST: name taken */
/* Replaces display_name, role, password_hash, disabled, updated. */
int store_account_update(struct store *s, const struct account *a);
int store_account_get(struct store *s, const char *id, struct account *out);
int store_account_by_name(struct store *s, const char *username, struct account *out);
int store_account_delete(struct store *s, const char *id);
int store_account_list(struct store *s, struct account **out, size_t *n);
void store_accounts_free(struct account *a, size_t n);
int64_t store_account_count(struct store *s, int role, bool enabled_only); /* role < 0: any */

int store_token_insert(struct store *s, const struct token *t, const char *hash);
/* The live token (not revoked, not expired at now) whose hash is given, with its owner. */
int store_token_by_hash(struct store *s, const char *hash, int64_t now, struct token *out);
int store_token_get(struct store *s, const char *id, struct token *out);
/* Tokens of one account, or of all when account_id is NULL; revoked ones too. */
int store_token_list(struct store *s, const char *account_id, struct token **out, size_t *n);
void store_tokens_free(struct token *t, size_t n);
struct token_query {
    const char *account_id; /* one account's tokens, or NULL: every account's */
    int active;             /* -1 any, 1 those that work at now (token_live), 0 the others */
    int64_t now;
    bool asc;               /* oldest first (default newest first) */
    int64_t offset, limit;
};
/* A page of tokens, revoked ones too, in the order of store_token_list; total counts every
 * token that matches, whatever the page. */
int store_token_page(struct store *s, const struct token_query *q, struct token **out, size_t *n,
                     int64_t *total);
/* How many tokens of the account are neither revoked nor expired at now, its being disabled
 * aside (they work again when it is enabled). */
int store_token_count_unspent(struct store *s, const char *account_id, int64_t now,
                              int64_t *count);
int store_token_revoke(struct store *s, const char *id, int64_t now); /* -ENOENT, -EALREADY */
int store_token_touch(struct store *s, const char *id, int64_t now);

int store_session_insert(struct store *s, const char *hash, const char *account_id,
                         const char *csrf, int64_t created, int64_t expires_at,
                         const char *address);
/* The live session: fills account_id (37 bytes) and csrf (caller frees). */
int store_session_get(struct store *s, const char *hash, int64_t now, char *account_id,
                      char **csrf);
int store_session_delete(struct store *s, const char *hash);
/* Ends the account's sessions, except the one whose hash is keep (may be NULL). */
int store_session_delete_account(struct store *s, const char *account_id, const char *keep);

int store_audit_append(struct store *s, const struct audit_entry *e);
struct audit_query {
    const char *job_id, *actor, *action; /* action may end in '.' for a prefix ("job.") */
    int64_t since;                       /* NO_TIME: any */
    bool asc;                            /* oldest first (default newest first) */
    int64_t offset, limit;
    int64_t max_bytes; /* > 0: bounds the bytes the rows read take (as store_job_list's) */
};
int store_audit_list(struct store *s, const struct audit_query *q, struct audit_entry **out,
                     size_t *n, int64_t *total, bool *cut);
void store_audit_free(struct audit_entry *e, size_t n);

/*
 * Retention: deletes the finished runs past their job's retention (default_ms for jobs without
 * one), and their logs by cascade, among the `window` runs after *cursor (a rid; 0 to begin),
 * in one transaction (only when some are: else the window is only read), and moves *cursor
 * past them. *deleted says how many went. Returns 1 while runs remain after the cursor, 0 at
 * the end, 2 when only a piece of the window's runs' logs was deleted (STORE_PRUNE_LOG_PIECE
 * lines, their own transaction: a run's long log would hold the write lock for long): the
 * same window is to be asked for again, < 0 on a store error. The runs are walked in the order they were made, each window
 * a short transaction, so the server's writes slip in between; no index of finished runs is
 * kept for it (every run's end would write one).
 */
int store_prune_window(struct store *s, int64_t now, int64_t default_ms, int64_t window,
                       int64_t *cursor, int64_t *deleted);
#define STORE_PRUNE_LOG_PIECE 10000

/* ---- whole stores ---- */
struct store_copy_info {
    int64_t pages, page_size;
    int64_t jobs, runs; /* what the copy holds */
};
/* How a long backup reports and is stopped: progress (NULL: none) is called as the copy goes,
 * with the bytes copied of all; a non-zero *stop (stop NULL: never), set by a signal handler,
 * ends the backup (-EINTR) with its partial copy deleted. */
struct store_copy_watch {
    void (*progress)(void *arg, int64_t done, int64_t total);
    void *arg;
    const volatile sig_atomic_t *stop;
};
/*
 * Copies the store at from into a new file to with SQLite's online backup: one consistent
 * snapshot, taken while sked may be writing (WAL readers do not block it). The copy is
 * written beside to under the name to.partial and becomes to (a rename) only once it is
 * whole: checked (quick_check), counted and out of WAL mode; one that fails or is stopped
 * (watch, which may be NULL) is deleted with what SQLite left beside it. to must not exist; a
 * to.partial of a backup that no longer runs (killed) is replaced, one under way refused
 * (-EBUSY).
 */
int store_backup(const char *from, const char *to, struct store_copy_info *info,
                 const struct store_copy_watch *watch, struct sk_err *e);
/*
 * Replaces the store at to with the backup at from, after checking the backup (one with a
 * rollback journal beside it, a copy cut off while it was written, is refused: -EINVAL);
 * refuses (-EBUSY) while another process (a running sked) has the store open for writing.
 */
int store_restore(const char *from, const char *to, struct store_copy_info *info,
                  struct sk_err *e);

/* ---- run logs ---- */
struct log_line {
    int64_t seq; /* 1, 2, ... per run */
    int64_t ts;
    int level;   /* enum log_line_level */
    int stream;  /* enum log_stream */
    char *message;
};

int store_log_append(struct store *s, int64_t rid, const struct log_line *lines, size_t n);
/* Lines with after < seq <= upto and level >= min_level, up to limit, in order, and, when
 * max_bytes is not 0, up to the line whose message brings their bytes to max_bytes. A level
 * filter reads the lines below it too: upto bounds what one call reads. */
int store_log_list(struct store *s, int64_t rid, int64_t after, int64_t upto, int min_level,
                   size_t limit, size_t max_bytes, struct log_line **out, size_t *n);
int64_t store_log_count(struct store *s, int64_t rid, int min_level);
int64_t store_log_last_seq(struct store *s, int64_t rid);
void store_log_free(struct log_line *lines, size_t n);

#endif
