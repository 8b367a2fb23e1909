/*
 * config: the settings of `sked serve`, from flags and SKED_* environment variables (flags
 * win), with defaults. Every value is validated here, so the rest of sked sees only sane ones.
 */
#ifndef SKED_CONFIG_H
#define SKED_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "base/cidr.h"
#include "base/err.h"
#include "base/log.h"
#include "store/store.h"
#include "tasks.h"

struct queue_cfg {
    char *name;
    int slots;
};

struct config {
    char *db_path;
    char *listen_host;
    int listen_port;
    char *tasks_dir;
    char *web_dir;              /* serve the UI from this folder instead of the embedded copy */
    char *secrets_dir;          /* the secrets runs refer to (secrets.h), or NULL */
    struct queue_cfg *queues;
    size_t nqueues;
    const char **queue_names; /* the names, for struct queue_names */
    char *node;
    char *admin_token;          /* from SKED_ADMIN_TOKEN, or NULL */
    int64_t log_cap_bytes;      /* per run; past it one truncation line, then discard */
    int64_t status_cap_bytes;   /* per run, status-fd input */
    int64_t line_max_bytes;     /* longer log lines are split */
    int64_t stop_grace_ms;      /* SIGTERM -> SIGKILL */
    int64_t shutdown_grace_ms;  /* how long SIGTERM of sked waits for running tasks */
    int64_t max_body_bytes;     /* HTTP request bodies */
    int http_timeout_s;         /* to receive a request, to write an answer (and a stream's) */
    int64_t retention_ms;       /* sked.prune's default: finished runs older than this go */
    int builtin_threads;        /* threads that run builtin job types */
    int notify_backlog;         /* deliveries that may wait to be sent (notify.c) */
    int64_t webhook_retry_ms;   /* first wait before a failed webhook call is tried again */
    int64_t mail_retry_ms;      /* and a failed e-mail; each later wait doubles */
    char *smtp_url;             /* e.g. smtp://127.0.0.1:25; NULL: no e-mail */
    char *smtp_from;
    char *public_url;           /* how people reach sked, for links in notifications */
    char *webhook_secret;       /* HMAC-SHA256 key of webhook signatures; NULL: unsigned */
    char *trusted_proxies;      /* as given, or NULL */
    struct cidr_list trusted;   /* ... parsed: peers whose X-Forwarded-For names the client */
    char *config_file;          /* the file the settings came from, or NULL */
    char *pause_queues;         /* at start, every queue is paused with this reason; NULL: not */
    enum durability durability;
    enum log_level log_level;
    enum log_format log_format;
};

/* Fills c with defaults. */
void config_init(struct config *c);
void config_release(struct config *c);
/*
 * Applies SKED_* variables from env (NULL-terminated "K=V" list) and then flags from
 * argv[0..argc) (the arguments after "serve"). Returns 0, 1 when --help was asked (usage is
 * printed), or -EINVAL with e naming the flag or variable and the reason.
 */
int config_load(struct config *c, int argc, char **argv, char **env, struct sk_err *e);
/* Calls fn for every SKED_ variable of env that is none of sked's (a misspelt one leaves its
 * setting as it was without a word), with closest the one of sked's it is likeliest a
 * misspelling of (two edits at most), or NULL. */
void config_unknown_env(char **env, void (*fn)(const char *name, const char *closest, void *arg),
                        void *arg);
/* Applies an INI file ([server], [runs], [log], [notifications]); errors are
 * "FILE:LINE: section.key: reason". */
int config_load_file(struct config *c, const char *file, struct sk_err *e);
/* The same from an open stream, its errors named after file. */
int config_load_stream(struct config *c, FILE *f, const char *file, struct sk_err *e);
/*
 * A reload: moves the settings that can change while running from fresh into cur (queues,
 * grace periods, log cap and level, retention, notifications, the tasks folder) and lists in
 * restart (comma-separated) those that differ but only take effect at a restart.
 */
void config_reload(struct config *cur, struct config *fresh, char *restart, size_t n);
/* The effective settings as an INI file, secrets masked. */
void config_print(const struct config *c, FILE *f);
/* Parses "default=4,low=1". */
int config_parse_queues(struct config *c, const char *spec, struct sk_err *e);
/* The configured queue names, for task-file validation. */
struct queue_names config_queue_names(const struct config *c);
const struct queue_cfg *config_queue(const struct config *c, const char *name);
void config_usage(void);

/* Why s cannot be a notification's e-mail address or sked's sender, or NULL when it can: one
 * name@domain of at most 254 characters, nothing that would end it in the SMTP dialogue or a
 * header (control characters, spaces, < > ( ) [ ] , ; : \ "). */
const char *mail_address_problem(const char *s);

#endif
