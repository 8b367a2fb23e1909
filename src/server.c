/* server: the serve command; see server.h. */
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "celery.h"
#include "config.h"
#include "builtin.h"
#include "dispatch.h"
#include "events.h"
#include "http/api.h"
#include "http/auth.h"
#include "http/http.h"
#include "metrics.h"
#include "notify.h"
#include "offload.h"
#include "scheduler.h"
#include "store/store.h"
#include "tasks.h"
#include "tz.h"

/* Connections one client address may hold (trusted proxies and loopback excepted), of the
 * 10,000 in all: a browser uses six, a script a few; one address cannot take them all. */
#define MAX_CONNS_PER_ADDR 256

extern char **environ;

struct server {
    struct config cfg;
    int argc;   /* the options of serve, read again by a reload */
    char **argv;
    struct event_base *base;
    struct store *store;
    struct taskset *tasks;
    struct events *events;
    struct dispatch *dispatch;
    struct celery *celery;
    struct scheduler *sched;
    struct notify *notify;
    struct metrics *metrics;
    struct auth *auth;
    struct offload *offload, *search;
    struct http_server *http;
    struct api api;
    struct event *sigterm, *sigint, *sighup;
    bool stopping;
};

/*
 * Commits what the loop iteration wrote. A commit that fails (the disk full or failing) has
 * undone the iteration's writes, which its answers and the loop's memory (runs started, fires
 * moved on) took for done: sked stops at once, none of those answers sent, and a restart finds
 * the store as its last commit left it and recovers the runs it held (operations.md).
 */
static void batch_end(struct server *s)
{
    if (store_batch_end(s->store) == 0) return;
    log_error("store.commit_failed", "action=exit answers=withheld");
    _exit(1);
}

/* The dispatcher's commit before it starts claimed runs' tasks (dispatch_set_commit). */
static void commit_for_dispatch(void *arg)
{
    batch_end(arg);
}

/* How long outcomes written after the answers may wait for the loop's next event before they
 * are committed on their own. */
#define LINGER_US 200

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

/* How long the loop polls for its next event without sleeping after it answered. A client on
 * a keep-alive connection often sends its next request within tens of microseconds; found by
 * polling, it costs neither the loop's sleep and wakeup nor the client's wakeup of a sleeping
 * thread (B1: 13-17 % more runs a second, 4-6 µs less of the loop's CPU a run). */
#define SPIN_US 50

/* Serves the loop's ready events without sleeping until one of them leaves work for the rest of
 * the iteration (answers to write, rows to commit, claims to make) or SPIN_US pass: whether one
 * did. Events that leave none of these need nothing more of the iteration. */
static bool spin(struct server *s)
{
    int64_t until = time_mono_us() + SPIN_US, changes = store_changes(s->store);
    do {
        /* a failure ends the spin as work would: the iteration's next wait meets it again */
        if (event_base_loop(s->base, EVLOOP_ONCE | EVLOOP_NONBLOCK) < 0) return true;
        if (http_server_has_output(s->http) || store_changes(s->store) != changes ||
            dispatch_has_pending(s->dispatch) || event_base_got_break(s->base))
            return true;
    } while (time_mono_us() < until);
    return false;
}

static void on_drained(void *arg)
{
    struct server *s = arg;
    log_info("shutdown.done", "active=0");
    event_base_loopbreak(s->base);
}

/*
 * systemd's readiness protocol without libsystemd: one datagram with the new state to the
 * socket named by $NOTIFY_SOCKET (a path, or "@" for the abstract namespace). Without the
 * variable nothing happens.
 */
static void notify_systemd(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof a.sun_path) return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    memcpy(a.sun_path, path, strlen(path));
    if (a.sun_path[0] == '@') a.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&a, len) < 0)
        log_warn("systemd.notify_failed", "state=%s reason=%s", log_q(state),
                 log_q(strerror(errno)));
    close(fd);
}

static void on_http_answer(struct http_req *req, void *arg)
{
    /* a method the API has no route for is counted as OTHER: each made-up method a client
     * sends would be a series of its own, kept for good */
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    const char *method = "OTHER";
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(req->head.method, known[i]) == 0) method = known[i];
    metrics_http(arg, method, req->route ? req->route : "unmatched", req->status,
                 (double)(time_mono_us() - req->started_us) / 1e6);
}

/* Why sked cannot start (field: the setting, or NULL): a line of the configured log format, so
 * that a JSON log's reader sees it too. Only errors in the settings themselves come before the
 * format is known, and are plain text. */
static void start_failed(const struct server *s, const char *field, const char *msg)
{
    if (s->cfg.log_format == LOG_JSON) {
        char why[700];
        snprintf(why, sizeof why, "%s%s%s", field ? field : "", field ? ": " : "", msg);
        log_error("startup.failed", "reason=%s", log_q(why));
        return;
    }
    fprintf(stderr, "sked serve: %s%s%s\n", field ? field : "", field ? ": " : "", msg);
}

static void on_store_write(void *arg, double seconds)
{
    metrics_store(arg, seconds);
}

/* SIGHUP: the settings and the task files again. What cannot change while running is kept
 * (and named in the log); a setting or a task set that does not load leaves the current one in
 * place, so a typo never takes anything away. Runs in progress are not touched. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what;
    struct server *s = arg;
    struct sk_err e = {0};
    if (s->stopping) { /* a reload now would tell systemd READY=1 while sked stops */
        log_warn("reload.ignored", "reason=\"shutting down\"");
        return;
    }
    notify_systemd("RELOADING=1");
    struct config fresh;
    config_init(&fresh);
    if (config_load(&fresh, s->argc, s->argv, environ, &e) != 0) {
        char why[700];
        snprintf(why, sizeof why, "%s: %s", e.field, e.msg);
        log_error("reload.config_failed", "reason=%s", log_q(why));
        config_release(&fresh);
        notify_systemd("READY=1\nSTATUS=reload failed; the previous settings stay");
        return;
    }
    /* the job types are read against the new queues before anything changes */
    struct queue_names qn = config_queue_names(&fresh);
    struct taskset *ts;
    struct buf more = BUF_INIT; /* the other task files that do not load, a line each */
    if (tasks_load_dir(fresh.tasks_dir, &qn, &ts, &e, &more) != 0) {
        log_error("reload.failed", "reason=%s kept=%zu", log_q(e.msg), s->tasks->count);
        for (char *l = more.data, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
            *nl = '\0';
            log_error("reload.task_file_failed", "reason=%s", log_q(l));
        }
        buf_free(&more);
        config_release(&fresh);
        notify_systemd("READY=1\nSTATUS=reload failed; the previous settings and job types stay");
        return;
    }
    char restart[256];
    config_reload(&s->cfg, &fresh, restart, sizeof restart);
    config_release(&fresh);
    builtin_set_retention(s->cfg.retention_ms);
    log_setup(s->cfg.log_level, s->cfg.log_format); /* first: what the reload logs is in its format */
    if (*restart) log_warn("reload.needs_restart", "settings=%s", restart);
    dispatch_set_queues(s->dispatch, &s->cfg);
    dispatch_set_tasks(s->dispatch, ts);
    size_t before = s->tasks->count;
    taskset_free(s->tasks);
    s->tasks = ts;
    api_forget(&s->api); /* job documents show what the job types resolve arguments to */
    log_info("reload.done", "tasks=%zu before=%zu queues=%zu", ts->count, before, s->cfg.nqueues);
    notify_systemd("READY=1\nSTATUS=reloaded the settings and job types");
    dispatch_wake(s->dispatch); /* more slots, or job types that came back */
}

/*
 * At first start, a job for the first job type that prunes (builtin sked.prune), scheduled
 * daily at 03:00 UTC: retention works out of the box and stays visible and editable like any
 * other job. Done once; a deleted prune job is not recreated.
 */
static void create_prune_job(struct server *s)
{
    char *done = NULL;
    if (store_meta_get(s->store, "prune_job_created", &done) == 0) {
        free(done);
        return;
    }
    const struct task *t = NULL;
    for (size_t i = 0; i < s->tasks->count && !t; i++)
        if (s->tasks->tasks[i]->builtin && strcmp(s->tasks->tasks[i]->builtin, "sked.prune") == 0)
            t = s->tasks->tasks[i];
    if (!t) return;
    struct job j;
    job_init(&j);
    uuid_v4(j.id);
    j.title = xstrdup("Prune old runs");
    j.description = xstrdup("Deletes finished runs and their logs past their retention.");
    j.task = xstrdup(t->id);
    j.default_queue = xstrdup(t->default_queue ? t->default_queue : s->cfg.queues[0].name);
    j.schedule = json_pack("{s:s,s:s}", "type", "cron", "expression", "0 3 * * *");
    j.run_args = json_object();
    j.overlap = OVERLAP_SKIP;
    j.created = j.updated = time_now_us();
    scheduler_prepare(s->sched, NULL, &j, j.created);
    if (store_job_insert(s->store, &j) == 0 && store_meta_set(s->store, "prune_job_created", "1") == 0) {
        scheduler_job_saved(s->sched, &j);
        log_info("startup.prune_job", "job=%s task=%s", j.id, t->id);
    }
    job_release(&j);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct server *s = arg;
    if (s->stopping) {
        log_warn("shutdown.again", "signal=%d reason=\"already shutting down\"", (int)sig);
        return;
    }
    s->stopping = true;
    notify_systemd("STOPPING=1\nSTATUS=stopping");
    log_info("shutdown.start", "signal=%d active=%zu", (int)sig, dispatch_active_count(s->dispatch));
    http_server_stop_accepting(s->http);
    scheduler_stop(s->sched); /* runs it would add now would only wait for the next start */
    dispatch_shutdown(s->dispatch, on_drained, s);
}

/* Creates the folder holding path when it is missing (var/ on a first `make run`). */
static void ensure_parent(const char *path)
{
    char *copy = xstrdup(path);
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) {
        *slash = '\0';
        mkdir(copy, 0750);
    }
    free(copy);
}

/* --pause-queues: every queue paused, with the option's reason, as an operator pauses one
 * (stored: resumed one by one with sked queues resume); those the settings no longer name but
 * still hold waiting runs too, which would otherwise run them. */
static int pause_every_queue(struct server *s)
{
    int paused = dispatch_pause_all(s->dispatch, s->cfg.pause_queues, time_now_us());
    if (paused < 0) {
        start_failed(s, "--pause-queues",
                     "cannot pause the queues: the store failed (see the log above); free space "
                     "on its disk and start again");
        return paused;
    }
    log_warn("startup.queues_paused", "queues=%d reason=%s", paused, log_q(s->cfg.pause_queues));
    return 0;
}

static void unknown_variable(const char *name, const char *closest, void *arg)
{
    (void)arg;
    log_warn("config.unknown_variable", "name=%s closest=%s hint=%s", log_q(name),
             closest ? closest : "none",
             log_q("not a setting of sked, so not read: check its spelling (sked serve --help)"));
}

int server_main(int argc, char **argv)
{
    struct server s;
    memset(&s, 0, sizeof s);
    s.argc = argc;
    s.argv = argv;
    config_init(&s.cfg);
    struct sk_err e = {0};
    int rc = config_load(&s.cfg, argc, argv, environ, &e);
    if (rc == 1) {
        config_release(&s.cfg);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "sked serve: %s: %s\n", e.field, e.msg);
        config_release(&s.cfg);
        return 2;
    }
    builtin_set_retention(s.cfg.retention_ms);
    log_setup(s.cfg.log_level, s.cfg.log_format);
    config_unknown_env(environ, unknown_variable, NULL);
    /* libcurl's global state is set up once here, before any thread uses it */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) {
        start_failed(&s, NULL, "libsodium failed to initialise");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* a parent that ignores SIGCHLD passes that on, and then the kernel reaps every task
     * itself: no signal, no exit status, every run RUNNING for ever */
    signal(SIGCHLD, SIG_DFL);
    dispatch_block_sigchld(); /* before any thread starts: see dispatch.h */
    /* every client, log follower and task pipe is a descriptor: take what the system allows */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    int exit_code = 1;
    int listen_fd = -1, lock_fd = -1;

    /* what would stop the start is found before anything is written: a first start that
     * fails creates no store, no account and no password that nobody sees */
    const char *pw = getenv("SKED_ADMIN_PASSWORD");
    if (s.cfg.admin_token && auth_token_problem(s.cfg.admin_token)) {
        start_failed(&s, "SKED_ADMIN_TOKEN", auth_token_problem(s.cfg.admin_token));
        goto out;
    }
    if (pw && auth_password_problem(pw)) {
        start_failed(&s, "SKED_ADMIN_PASSWORD", auth_password_problem(pw));
        goto out;
    }
    struct queue_names qn = config_queue_names(&s.cfg);
    struct buf more = BUF_INIT; /* the other task files that do not load, a line each */
    if (tasks_load_dir(s.cfg.tasks_dir, &qn, &s.tasks, &e, &more) != 0) {
        start_failed(&s, NULL, e.msg);
        for (char *l = more.data, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
            *nl = '\0';
            start_failed(&s, NULL, l);
        }
        buf_free(&more);
        goto out;
    }
    /* the port too: taken now, served once the loop runs (connections wait meanwhile) */
    if ((listen_fd = http_listen_socket(s.cfg.listen_host, s.cfg.listen_port, &e)) < 0) {
        char msg[sizeof e.msg + 64];
        snprintf(msg, sizeof msg, "%s%s", e.msg,
                 e.code == -EADDRINUSE ? "; choose another with --listen HOST:PORT" : "");
        start_failed(&s, NULL, msg);
        goto out;
    }
    ensure_parent(s.cfg.db_path);
    if (strcmp(s.cfg.db_path, ":memory:") != 0 &&
        (lock_fd = store_lock_serving(s.cfg.db_path, &e)) < 0) {
        start_failed(&s, NULL, e.msg);
        goto out;
    }
    if (store_open(s.cfg.db_path, s.cfg.durability, &s.store, &e) != 0) {
        start_failed(&s, NULL, e.msg);
        goto out;
    }
    /* a checkpoint copies tens of megabytes: not on the loop, which would answer nothing */
    if (strcmp(s.cfg.db_path, ":memory:") != 0 && store_checkpoint_in_background(s.store, &e) != 0)
        log_warn("startup.checkpoints_inline", "reason=%s", log_q(e.msg));
    store_fold_run_counts(s.store); /* a failure is logged, and only makes counts slower */
    s.auth = auth_new(s.store, s.cfg.admin_token, &e);
    if (!s.auth || auth_bootstrap_admin(s.store, pw, &e) < 0) {
        start_failed(&s, e.field, e.msg);
        goto out;
    }
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER); /* the scheduler fires to the ms */
    s.base = event_base_new_with_config(ec);
    event_config_free(ec);
    s.events = events_new();
    /* notifications and counters first: runs that recovery fails are announced and counted,
     * after the start the metrics give (sked_start_time_seconds) */
    int64_t started = time_now_us();
    s.notify = notify_new(s.base, s.store, s.events, &s.cfg);
    s.metrics = metrics_new(s.events);
    s.dispatch = dispatch_new(s.base, s.store, &s.cfg, s.events);
    dispatch_set_commit(s.dispatch, commit_for_dispatch, &s);
    dispatch_set_tasks(s.dispatch, s.tasks);
    /* before the recovery queues retries and the scheduler fires: nothing of a copy runs */
    if (s.cfg.pause_queues && pause_every_queue(&s) != 0) goto out;
    int recovered = dispatch_recover(s.dispatch);
    if (recovered < 0) {
        start_failed(&s, NULL,
                     "cannot mark the runs a crash left active as failed: the store failed (see "
                     "the log above); free space on its disk, or fix its files, and start again");
        goto out;
    }
    if (recovered > 0) log_warn("startup.recovered", "runs=%d", recovered);
    s.celery = celery_new(s.base, s.dispatch, &s.cfg);
    dispatch_set_celery(s.dispatch, s.celery);
    int followed = celery_resume(s.celery);
    if (followed > 0) log_info("startup.celery_resumed", "runs=%d", followed);

    store_observe(s.store, on_store_write, s.metrics);
    s.sched = scheduler_new(s.base, s.store, s.dispatch, s.metrics);
    int scheduled = scheduler_load(s.sched);
    create_prune_job(&s);
    /* one thread: password hashing is memory-hard (64 MiB each) and rate-limited anyway */
    s.offload = offload_new(s.base, 1);
    s.api = (struct api){s.store,   s.dispatch, s.sched,   s.events, s.metrics, s.notify,
                         &s.cfg,    s.auth,     s.offload, s.base,   started};
    /* long reads (a text search reads every titled run of a job): not on the loop */
    if (strcmp(s.cfg.db_path, ":memory:") != 0)
        s.api.search = s.search = offload_new(s.base, API_READERS);
    struct http_limits lim = {16 * 1024, (size_t)s.cfg.max_body_bytes, s.cfg.http_timeout_s,
                              s.cfg.http_timeout_s, 10000,
                              MAX_CONNS_PER_ADDR, false, &s.cfg.trusted};
    s.http = http_server_on(s.base, listen_fd, &lim, api_handle, &s.api);
    listen_fd = -1; /* the server's, even when it could not be made */
    if (s.http) {
        http_server_gate(s.http, API_FREE_BODY, api_body_gate, &s.api);
        s.api.port = http_server_port(s.http);
    }
    if (!s.http) {
        start_failed(&s, NULL, "cannot watch the listening socket (out of memory)");
        goto out;
    }
    http_server_observe(s.http, on_http_answer, s.metrics);
    s.sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    s.sighup = evsignal_new(s.base, SIGHUP, on_reload, &s);
    event_add(s.sigterm, NULL);
    event_add(s.sigint, NULL);
    event_add(s.sighup, NULL);
    log_info("startup.ready", "tasks=%zu queues=%zu scheduled=%d node=%s db=%s", s.tasks->count,
             s.cfg.nqueues, scheduled, s.cfg.node, log_q(s.cfg.db_path));
    const char *host = s.cfg.listen_host;
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "sked: listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "",
            http_server_port(s.http));
    fflush(stderr);
    notify_systemd("READY=1\nSTATUS=serving");
    dispatch_wake(s.dispatch);
    /* one loop iteration is one store batch: what it wrote commits together, then the answers
     * it produced leave. The outcomes of inline builtins that its submissions started are
     * written after the answers, into the next iteration's batch: a client waiting for its
     * answer does not wait for them, and its next request shares their commit */
    store_batching(s.store, true);
    bool written_after = false, answered = false;
    struct event *linger = evtimer_new(s.base, on_linger, NULL);
    while (!event_base_got_break(s.base)) {
        int flags = EVLOOP_ONCE | (dispatch_has_pending(s.dispatch) ? EVLOOP_NONBLOCK : 0);
        /* outcomes written after the answers wait a little for the next request, whose insert
         * then shares their commit: a client that submits run after run gets one commit per
         * run instead of two (B1) */
        if (written_after && !(flags & EVLOOP_NONBLOCK)) {
            const struct timeval tv = {0, LINGER_US};
            evtimer_add(linger, &tv);
        }
        if (!(flags & EVLOOP_NONBLOCK)) dispatch_before_wait(s.dispatch);
        /* after answers, the next request is polled for a little, unless tasks are running:
         * the cores are theirs */
        bool spun = !(flags & EVLOOP_NONBLOCK) && (answered || written_after) &&
                    dispatch_active_count(s.dispatch) == 0 && spin(&s);
        if (!spun && event_base_loop(s.base, flags) < 0) break;
        evtimer_del(linger);
        dispatch_pending(s.dispatch);
        batch_end(&s);
        dispatch_launch(s.dispatch); /* the tasks of the runs the requests stored claimed */
        answered = http_server_has_output(s.http);
        http_server_flush(s.http);
        written_after = dispatch_after_answers(s.dispatch);
        /* what those ends freed is claimed in their batch, so the loop may wait for the next
         * request rather than poll for the claims */
        if (written_after) dispatch_pending(s.dispatch);
    }
    event_free(linger);
    batch_end(&s);
    dispatch_launch(s.dispatch);
    http_server_flush(s.http);
    dispatch_after_answers(s.dispatch);
    batch_end(&s);
    store_batching(s.store, false);
    exit_code = 0;

out:
    if (listen_fd >= 0) close(listen_fd);
    http_server_free(s.http);
    offload_free(s.search); /* its searches answered (or their clients gone) first */
    api_release(&s.api);
    offload_free(s.offload);
    scheduler_free(s.sched);
    celery_free(s.celery);
    dispatch_free(s.dispatch);
    notify_free(s.notify);
    metrics_free(s.metrics);
    events_free(s.events);
    if (s.sigterm) event_free(s.sigterm);
    if (s.sigint) event_free(s.sigint);
    if (s.sighup) event_free(s.sighup);
    if (s.base) event_base_free(s.base);
    auth_free(s.auth);
    store_close(s.store);
    if (lock_fd >= 0) close(lock_fd); /* after the store's connections: see store_lock_serving */
    taskset_free(s.tasks);
    config_release(&s.cfg);
    tz_cache_clear();
    curl_global_cleanup();
    return exit_code;
}
