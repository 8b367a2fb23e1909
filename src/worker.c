/* worker: child-process executor; see worker.h. */

#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "builtin.h"
#include "dispatch.h"
#include "launch.h"
#include "offload.h"
#include "secrets.h"

extern char **environ;

#define READ_CHUNK 65536 /* the most read from a pipe at once */
#define READ_MIN 4096     /* the least a wake-up reads, whatever the lines */
#define LINES_PER_READ 4096
#define STATUS_LINE_MAX 65536

enum { FD_IN, FD_OUT, FD_ERR, FD_STATUS };

static void close_fd(struct active *a, int i)
{
    if (a->ev[i]) {
        event_free(a->ev[i]);
        a->ev[i] = NULL;
    }
    if (a->fd[i] >= 0) {
        close(a->fd[i]);
        a->fd[i] = -1;
    }
}

void worker_release(struct active *a)
{
    if (a->bctx) { /* still running at exit: its completion will free it */
        a->bctx->abandoned = true;
        a->bctx->owner = NULL;
        a->bctx = NULL;
    }
    for (int i = 0; i < 4; i++) close_fd(a, i);
    if (a->timeout_ev) event_free(a->timeout_ev);
    if (a->kill_ev) event_free(a->kill_ev);
    if (a->watch_ev) event_free(a->watch_ev);
    a->timeout_ev = a->kill_ev = a->watch_ev = NULL;
    buf_free(&a->input);
    buf_free(&a->status);
    launch_end(a->launch, a->exited);
    a->launch = NULL;
}

void worker_signal(struct active *a, int sig)
{
    if (a->pid <= 0 || a->exited) return;
    /* a task's process makes its group itself, before it execs: until then, only it */
    if (kill(-a->pid, sig) != 0 && errno == ESRCH) {
        kill(a->pid, sig);
        return;
    }
    /* and a process that moved itself to another group (setpgid) is no longer reached by its
     * own group's signal, while the processes it left there keep that group alive */
    if (getpgid(a->pid) != a->pid) kill(a->pid, sig);
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct active *a = arg;
    if (a->exited) return;
    if (a->bctx) {
        /* a thread cannot be killed: the run is recorded now, the thread ends on its own */
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED,
                    "the builtin did not end within the stop grace; it was abandoned",
                    time_now_us());
        worker_collect(a);
        a->builtin_abandoned = true;
        a->bctx->abandoned = true;
        a->bctx->owner = NULL;
        a->bctx = NULL;
        a->exited = true;
        a->wstatus = 1 << 8;
        dispatch_finished(a);
        return;
    }
    char g[32];
    duration_format(a->stop_grace_ms, g);
    logcap_line(&a->cap, LL_WARNING, STREAM_SKED,
                a->end == END_TIMEOUT ? "task did not end after SIGTERM; sending SIGKILL"
                                      : "task did not end within the stop grace; sending SIGKILL",
                time_now_us());
    worker_signal(a, SIGKILL);
    dispatch_flush(a);
}

bool worker_terminate(struct active *a, enum active_end why)
{
    if (a->exited || a->end != END_NONE) {
        /* already ending: a user's stop is the decision that counts (CANCELLED, never
         * retried), whatever began the end (a timeout, a shutdown) */
        if (a->end == END_NONE || why == END_STOPPED) a->end = why;
        return false;
    }
    a->end = why;
    if (a->bctx) {
        builtin_cancel(a->bctx);
        /* one still waiting for a thread ends without running, at the loop's next turn */
        if (!a->inline_done && offload_skip(dispatch_pool(a->d), a->bctx)) a->bctx->skipped = true;
    }
    worker_signal(a, SIGTERM);
    if (!a->kill_ev) a->kill_ev = evtimer_new(dispatch_base(a->d), on_kill, a);
    struct timeval tv = {a->stop_grace_ms / 1000, (a->stop_grace_ms % 1000) * 1000};
    evtimer_add(a->kill_ev, &tv);
    return true;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct active *a = arg;
    char d[32], msg[128];
    duration_format(a->run.timeout_ms, d);
    /* a stop under way goes on, and decides the outcome */
    bool signalled = worker_terminate(a, END_TIMEOUT);
    snprintf(msg, sizeof msg, "timed out after %s; %s", d,
             !signalled      ? "the task is already being stopped"
             : a->is_builtin ? "asking the builtin to stop"
                             : "sending SIGTERM");
    logcap_line(&a->cap, signalled ? LL_ERROR : LL_WARNING, STREAM_SKED, msg, time_now_us());
    dispatch_flush(a);
}

/* ---- status fd ---- */

/* A message (taken) the task reported, with its secrets' values as *** (as its log lines). */
static char *masked_message(const struct active *a, char *m)
{
    return a->cap.mask && m ? secrets_mask(m, a->cap.mask) : m;
}

/* An output (taken) the task reported, masked so. */
static json_t *masked_output(const struct active *a, json_t *v)
{
    if (!a->cap.mask || !v) return v;
    json_t *m = secrets_masked(v, a->cap.mask);
    json_decref(v);
    return m;
}

/* An ignored status line, said in the log for the first STATUS_NOTES_MAX of them and counted
 * after: a task writing text to fd 3 would otherwise fill its log's cap with these notes and
 * push its own output out. The count is said when the channel ends (status_end). */
#define STATUS_NOTES_MAX 20
static void status_ignored(struct active *a, const char *msg)
{
    a->status_ignored++;
    if (a->status_ignored <= STATUS_NOTES_MAX)
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED, msg, time_now_us());
    else if (a->status_ignored == STATUS_NOTES_MAX + 1)
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED,
                    "more status lines ignored: they are counted rather than logged, and their "
                    "number is said when the task ends",
                    time_now_us());
}

static void status_line(struct active *a, const char *line, size_t n)
{
    if (n == 0) return;
    struct status_update u;
    struct sk_err e = {0};
    if (logcap_status_parse(line, n, &u, &e) != 0) {
        char *msg = logcap_status_ignored(&a->cap, line, n, &e);
        status_ignored(a, msg);
        free(msg);
        return;
    }
    struct run *r = &a->run;
    if (u.progress) {
        json_decref(r->progress);
        r->progress = json_incref(u.progress);
    }
    if (u.has_entries) {
        if (u.total >= 0) r->total_entries = u.total;
        if (u.inserted >= 0) r->inserted_entries = u.inserted;
        if (u.updated >= 0) r->updated_entries = u.updated;
        if (u.errored >= 0) r->errored_entries = u.errored;
    }
    if (u.message) {
        free(r->message);
        r->message = masked_message(a, xstrdup(u.message));
    }
    if (u.output) {
        json_decref(r->output);
        r->output = masked_output(a, json_incref(u.output));
    }
    a->dirty = true;
    status_update_release(&u);
}

static void status_lines(struct active *a, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (a->status_skip) {
            a->status_skip = !nl; /* the rest of an over-long line */
        } else if (a->status.len + take > STATUS_LINE_MAX) {
            status_ignored(a, "ignored status line longer than 64 KiB");
            buf_reset(&a->status);
            a->status_skip = !nl;
        } else {
            buf_append(&a->status, p, take);
            if (nl) {
                status_line(a, a->status.data, a->status.len);
                buf_reset(&a->status);
            }
        }
        if (!nl) return;
        p += take + 1;
        n -= take + 1;
    }
}

/* The lines that end within the cap's bytes are taken; the one that crosses it and all after
 * are not. */
static void status_feed(struct active *a, const char *p, size_t n)
{
    if (!a->status_capped) {
        int64_t cap = dispatch_config(a->d)->status_cap_bytes;
        size_t room = a->status_bytes < cap ? (size_t)(cap - a->status_bytes) : 0;
        a->status_bytes += (int64_t)n;
        status_lines(a, p, n < room ? n : room);
        if (n <= room) return;
        a->status_capped = true;
        buf_reset(&a->status);
        a->status_skip = false;
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED,
                    "status channel passed its cap; further status lines are ignored",
                    time_now_us());
        p += room;
        n -= room;
    }
    /* past the cap the lines are only counted, for the count of those ignored in all */
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        a->status_ignored++;
}

/* ---- pipes ---- */

/* The end of fd i's output: its last unfinished line taken, the fd closed. */
static void at_eof(struct active *a, int i)
{
    if (i != FD_STATUS)
        logcap_eof(&a->cap, i == FD_OUT ? STREAM_STDOUT : STREAM_STDERR, time_now_us());
    else if (!a->status_skip && !a->status_capped && a->status.len)
        status_line(a, a->status.data, a->status.len);
    if (i == FD_STATUS && a->status_ignored > STATUS_NOTES_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "%lld status lines ignored in all",
                 (long long)a->status_ignored);
        logcap_line(&a->cap, LL_WARNING, STREAM_SKED, msg, time_now_us());
    }
    close_fd(a, i);
}

/* Reads what is available on fd i: at most max_reads reads of at most size bytes each;
 * returns false at EOF or error (the fd is then closed), true while it stays open. *line_len,
 * if given, gets the mean length of the lines read: the bytes over the newlines (0: none). */
static bool drain(struct active *a, int i, int max_reads, size_t size, size_t *line_len)
{
    static char chunk[READ_CHUNK];
    size_t bytes = 0, lines = 0;
    bool open = true;
    for (int k = 0; k < max_reads; k++) {
        ssize_t n = read(a->fd[i], chunk, size < sizeof chunk ? size : sizeof chunk);
        if (n > 0) {
            bytes += (size_t)n;
            for (const char *p = chunk, *end = chunk + n;
                 line_len && (p = memchr(p, '\n', (size_t)(end - p))); p++)
                lines++;
            if (i == FD_STATUS)
                status_feed(a, chunk, (size_t)n);
            else
                logcap_feed(&a->cap, i == FD_OUT ? STREAM_STDOUT : STREAM_STDERR, chunk,
                            (size_t)n, time_now_us());
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        at_eof(a, i);
        open = false;
        break;
    }
    if (line_len) *line_len = lines ? bytes / lines : 0;
    return open;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct active *a = arg;
    int i = fd == a->fd[FD_OUT] ? FD_OUT : fd == a->fd[FD_ERR] ? FD_ERR : FD_STATUS;
    /* one read per wake-up (the pipe is blocking), of about LINES_PER_READ lines at the line
     * length of the read before, keeps a flooding task from starving others: what a read
     * costs the loop is its lines (each a row stored), and 64 KiB of empty lines is 65,536 */
    size_t line_len;
    if (drain(a, i, 1, a->read_size[i] ? a->read_size[i] : READ_CHUNK, &line_len)) {
        size_t next = line_len ? line_len * LINES_PER_READ : READ_CHUNK;
        a->read_size[i] = next < READ_MIN ? READ_MIN : next > READ_CHUNK ? READ_CHUNK : next;
    }
    dispatch_flush(a);
}

/*
 * A task's output pipes are watched from WATCH_AFTER_US after its start, not at once: most
 * short tasks have exited by then, and what they wrote is read when they are reaped, so they
 * cost no watch set up and taken down again (six epoll_ctl calls) and no wake-ups for the ends
 * of their output. A task that lives longer has its output read as it comes, its first lines
 * at most that much later; a pipe that fills before then only holds its writer until then.
 */
#define WATCH_AFTER_US 2000

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct active *a = arg;
    struct event_base *base = dispatch_base(a->d);
    for (int i = FD_OUT; i <= FD_STATUS; i++) {
        if (a->fd[i] < 0 || a->ev[i]) continue;
        a->ev[i] = event_new(base, a->fd[i], EV_READ | EV_PERSIST, on_read, a);
        event_add(a->ev[i], NULL);
    }
}

/* One of sked's ends of a task's pipes made non-blocking. They are made blocking: a task's
 * arguments fit its new stdin pipe (worker_spawn), a watched pipe is read once per wake-up, and
 * most tasks end with nothing left to read, so most never need the flag (four fcntl calls a
 * task saved). O_NONBLOCK is the only status flag of sked's pipes that F_SETFL changes. */
static void nonblocking(int fd)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct active *a = arg;
    while (a->input_off < a->input.len) {
        ssize_t n = write(a->fd[FD_IN], a->input.data + a->input_off, a->input.len - a->input_off);
        if (n > 0) {
            a->input_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!a->ev[FD_IN]) {
                a->ev[FD_IN] =
                    event_new(dispatch_base(a->d), a->fd[FD_IN], EV_WRITE | EV_PERSIST, on_write, a);
                event_add(a->ev[FD_IN], NULL);
            }
            return;
        }
        break; /* EPIPE: the task does not read its stdin; that is its choice */
    }
    close_fd(a, FD_IN);
    buf_free(&a->input);
}

void worker_exited(struct active *a, int wstatus)
{
    a->exited = true;
    a->wstatus = wstatus;
    /* what the task wrote before exiting is in the pipes: take it (bounded: a writer that
     * escaped the process group could keep a pipe busy forever) */
    bool held = false;
    ino_t holding[3];
    size_t nholding = 0;
    /* one poll tells which pipes hold anything: those of most short tasks hold only their
     * end, taken without a read each */
    struct pollfd pf[3];
    int np = 0;
    for (int i = FD_OUT; i <= FD_STATUS; i++)
        if (a->fd[i] >= 0) pf[np++] = (struct pollfd){.fd = a->fd[i], .events = POLLIN};
    if (np && poll(pf, (nfds_t)np, 0) < 0)
        for (int k = 0; k < np; k++) pf[k].revents = 0;
    for (int k = 0, i = FD_OUT; i <= FD_STATUS; i++) {
        if (a->fd[i] < 0) continue;
        if ((pf[k++].revents & (POLLIN | POLLHUP)) == POLLHUP) {
            at_eof(a, i);
        } else {
            nonblocking(a->fd[i]); /* a writer may still hold it: read what is there */
            struct stat st;
            /* the group is killed: what a pipe holds is at most its size; a read more finds
             * its end, or a writer that escaped the group (whose flood is no one's to store) */
            int size = fcntl(a->fd[i], F_GETPIPE_SZ);
            if (drain(a, i, (size > 0 ? size : READ_CHUNK) / READ_CHUNK + 2, READ_CHUNK, NULL)) {
                held = true;
                if (fstat(a->fd[i], &st) == 0) holding[nholding++] = st.st_ino;
            }
        }
    }
    /* a pipe still held (by a process of the group, killed but not yet gone, or one that
     * escaped it): what it held so far ends its stream, the last unfinished line too */
    for (int i = FD_OUT; i <= FD_STATUS; i++)
        if (a->fd[i] >= 0) at_eof(a, i);
    close_fd(a, FD_IN);
    char why[512];
    int failed = launch_failed(a->launch, why, sizeof why);
    launch_end(a->launch, true);
    a->launch = NULL;
    if (failed) {
        dispatch_start_failed(a, why);
        return;
    }
    if (held) {
        /* a process outside the task's group (it called setsid) still holds the run's pipes:
         * found by the pipes it holds, and by the run's id in its environment (also when it
         * has closed them) */
        const char *id = a->run.id;
        int n = worker_kill_orphans(&id, 1, holding, nholding, NULL, 0, a->pid);
        if (n > 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "killed %d process(es) the task left running", n);
            logcap_line(&a->cap, LL_WARNING, STREAM_SKED, msg, time_now_us());
        }
    }
    dispatch_finished(a);
}

/* ---- spawning ---- */

/* A pipe whose ends are not among fds 0-3 (the child's ends are moved onto those, and an end
 * already there could be overwritten by another before it is moved). */
static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0) return -errno;
    for (int i = 0; i < 2; i++) {
        if (p[i] > 3) continue;
        int h = fcntl(p[i], F_DUPFD_CLOEXEC, 10);
        close(p[i]);
        p[i] = h;
    }
    if (p[0] < 0 || p[1] < 0) return -EMFILE;
    return 0;
}

/* The four pipes of a task (stdin, stdout, stderr, status), made ahead of the reap that frees a
 * slot: from a task's end to the next one's start, while a core may be idle waiting for it,
 * sked then makes none (B5: 10 % of the loop's CPU a run). Only the loop thread starts tasks. */
#define SPARE_SETS 2
static int spare[SPARE_SETS][4][2];
static int nspare;

static void close_set(int set[4][2])
{
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++)
            if (set[i][k] >= 0) close(set[i][k]);
}

/* A set of four pipes into set. */
static int make_set(int set[4][2])
{
    for (int i = 0; i < 4; i++) set[i][0] = set[i][1] = -1;
    for (int i = 0; i < 4; i++) {
        int rc = make_pipe(set[i]);
        if (rc) {
            close_set(set);
            return rc;
        }
    }
    return 0;
}

void worker_make_spares(void)
{
    while (nspare < SPARE_SETS && make_set(spare[nspare]) == 0) nspare++;
}

/* "name=value", allocated. */
static char *env_pair(const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    char *s = xmalloc(n + v + 2);
    memcpy(s, name, n);
    s[n] = '=';
    memcpy(s + n + 1, value, v + 1);
    return s;
}

/* Whether sked's own variable e stays out of a task's environment: sked's secrets stay with
 * sked, and so does its line to systemd. */
static bool env_private(const char *e)
{
    return strncmp(e, "SKED_", 5) == 0 || strncmp(e, "NOTIFY_SOCKET=", 14) == 0;
}

/* sked's own environment less its private variables, gathered at the first task's start
 * (sked never changes its environment): borrowed entries, NULL-terminated. Only the loop
 * thread spawns. */
static char **inherited(size_t *n)
{
    static char **kept;
    static size_t count;
    if (!kept) {
        size_t total = 0;
        for (char **e = environ; e && *e; e++) total++;
        kept = xcalloc(total + 1, sizeof *kept);
        for (char **e = environ; e && *e; e++)
            if (!env_private(*e)) kept[count++] = *e;
    }
    *n = count;
    return kept;
}

/* The task's environment: sked's own (its entries borrowed, not copied) less what the task
 * file sets, then the task file's variables and the run's. Entries from *owned on are the
 * environment's own allocations (free_env). */
static char **build_env(const struct active *a, const struct task *t, size_t *owned)
{
    size_t n_inh;
    char **inh = inherited(&n_inh);
    /* sked's, the task file's, the run's eight and the terminating NULL */
    size_t n = 0, cap = n_inh + json_object_size(t->env) + 9;
    char **env = xmalloc(cap * sizeof *env);
#define ADD(s)                                                                                 \
    do {                                                                                       \
        env[n++] = (s);                                                                        \
        env[n] = NULL;                                                                         \
    } while (0)
    if (json_object_size(t->env) == 0) {
        memcpy(env, inh, n_inh * sizeof *env);
        n = n_inh;
    } else {
        for (size_t i = 0; i < n_inh; i++) {
            const char *eq = strchr(inh[i], '=');
            if (eq && json_object_getn(t->env, inh[i], (size_t)(eq - inh[i])))
                continue; /* the task file's value wins */
            env[n++] = inh[i];
        }
    }
    env[n] = NULL;
    *owned = n;
    const char *k;
    json_t *v;
    json_object_foreach(t->env, k, v) ADD(env_pair(k, json_string_value(v)));
    const char *since = json_str(a->xargs, "since");
    char attempt[24];
    fmt_int(attempt, a->run.attempt);
    ADD(env_pair("SKED_RUN_ID", a->run.id));
    ADD(env_pair("SKED_JOB_ID", a->run.job_id));
    ADD(env_pair("SKED_QUEUE", a->run.queue));
    ADD(env_pair("SKED_SINCE", since ? since : ""));
    /* the end given to the run (a backfill window), else its start: the since of the next run
     * once this one succeeds, so that consecutive windows [SKED_SINCE, SKED_UNTIL) neither
     * overlap nor leave a gap */
    char until[TIME_STR_MAX];
    time_format(a->run.until != NO_TIME ? a->run.until : a->run.started_at, until);
    ADD(env_pair("SKED_UNTIL", until));
    ADD(env_pair("SKED_ATTEMPT", attempt));
    ADD(env_pair("SKED_TRIGGER", run_trigger_name(a->run.trigger)));
    ADD(xstrdup("SKED_STATUS_FD=3"));
#undef ADD
    return env;
}

static void free_env(char **env, size_t owned)
{
    for (char **p = env + owned; *p; p++) free(*p);
    free(env);
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++) free(*p);
    free(v);
}

int worker_spawn(struct active *a, const struct task *t, char *why, size_t whylen)
{
    int set[4][2];
    int rc = 0;
    if (nspare > 0) {
        memcpy(set, spare[--nspare], sizeof set);
    } else if ((rc = make_set(set)) != 0) {
        snprintf(why, whylen, "cannot create pipes: %s", strerror(-rc));
        return rc;
    }
    int *pin = set[0], *pout = set[1], *perr = set[2], *pst = set[3];
    /* the arguments go into the new stdin pipe before the process exists: a pipe holds at
     * least PIPE_BUF bytes, so a line that long is written whole at once; a longer one is
     * written as the task reads it */
    char *in = json_dump(a->xargs);
    buf_puts(&a->input, in);
    buf_putc(&a->input, '\n');
    free(in);
    a->fd[FD_IN] = pin[1];
    pin[1] = -1; /* a's now: on_write closes it once the line is written */
    if (a->input.len > PIPE_BUF) nonblocking(a->fd[FD_IN]);
    on_write(-1, 0, a);
    char **argv = xcalloc(t->argc + 1, sizeof *argv);
    for (size_t i = 0; i < t->argc; i++)
        argv[i] = i == 0 ? xstrdup(t->argv[0]) : task_expand(t->argv[i], a->xargs);
    size_t owned;
    char **env = build_env(a, t, &owned);

    const struct launch_req req = {argv[0], argv, env, {pin[0], pout[1], perr[1], pst[1]},
                                   t->working_dir};
    pid_t pid = launch_start(&req, &a->launch, why, whylen);
    if (pid < 0) {
        free_strv(argv);
        free_env(env, owned);
        close_fd(a, FD_IN);
        close_set(set);
        return pid;
    }
    free_strv(argv);
    free_env(env, owned);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    close(pst[1]);
    a->pid = pid;
    a->fd[FD_OUT] = pout[0];
    a->fd[FD_ERR] = perr[0];
    a->fd[FD_STATUS] = pst[0];
    struct event_base *base = dispatch_base(a->d);
    a->watch_ev = evtimer_new(base, on_watch, a);
    const struct timeval after = {0, WATCH_AFTER_US};
    evtimer_add(a->watch_ev, &after);
    if (a->run.timeout_ms > 0) {
        a->timeout_ev = evtimer_new(base, on_timeout, a);
        struct timeval tv = {a->run.timeout_ms / 1000, (a->run.timeout_ms % 1000) * 1000};
        evtimer_add(a->timeout_ev, &tv);
    }
    return 0;
}

/* ---- builtins ---- */

void worker_collect(struct active *a)
{
    struct builtin_ctx *c = a->bctx;
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    int64_t now = time_now_us();
    for (size_t i = 0; i < c->nlines; i++) {
        logcap_line(&a->cap, c->lines[i].level, STREAM_STDOUT, c->lines[i].text, now);
        free(c->lines[i].text);
    }
    c->nlines = 0;
    if (c->dirty) {
        struct run *r = &a->run;
        if (c->progress) {
            json_decref(r->progress);
            r->progress = c->progress;
            c->progress = NULL;
        }
        /* the http builtin keeps the start of an answer, which may echo a token it sent */
        if (c->output) {
            json_decref(r->output);
            r->output = masked_output(a, c->output);
            c->output = NULL;
        }
        if (c->message) {
            free(r->message);
            r->message = masked_message(a, c->message);
            c->message = NULL;
        }
        if (c->has_entries) {
            int64_t *dst[] = {&r->total_entries, &r->inserted_entries, &r->updated_entries,
                              &r->errored_entries};
            for (int i = 0; i < 4; i++)
                if (c->entries[i] >= 0) *dst[i] = c->entries[i];
            c->has_entries = false;
        }
        c->dirty = false;
        a->dirty = true;
    }
    pthread_mutex_unlock(&c->lock);
}

/* On the loop, once the builtin's function returned. */
static void builtin_done(void *arg)
{
    struct builtin_ctx *c = arg;
    struct active *a = c->owner;
    if (c->abandoned || !a) {
        builtin_ctx_free(c);
        return;
    }
    worker_collect(a);
    a->bctx = NULL;
    a->exited = true;
    a->builtin_skipped = c->skipped;
    a->wstatus = c->rc == 0 ? 0 : 1 << 8;
    builtin_ctx_free(c);
    dispatch_finished(a);
}

bool worker_runs_inline(const struct task *t)
{
    const struct builtin_def *def = t->builtin ? builtin_find(t->builtin) : NULL;
    return def && def->inline_ok;
}

int worker_start_builtin(struct active *a, const struct task *t, char *why, size_t whylen)
{
    const struct builtin_def *def = builtin_find(t->builtin);
    if (!def) {
        snprintf(why, whylen, "unknown builtin '%s'", t->builtin);
        return -ENOENT;
    }
    const struct config *cfg = dispatch_config(a->d);
    struct builtin_ctx *c = builtin_ctx_new(def, a->xargs);
    memcpy(c->run_id, a->run.id, sizeof c->run_id);
    memcpy(c->job_id, a->run.job_id, sizeof c->job_id);
    c->db_path = xstrdup(cfg->db_path);
    c->default_retention_ms = cfg->retention_ms;
    c->secrets = a->cap.mask != NULL;
    c->wake_fd = dispatch_builtin_fd(a->d);
    c->owner = a;
    a->bctx = c;
    a->is_builtin = true;
    if (a->run.timeout_ms > 0) {
        a->timeout_ev = evtimer_new(dispatch_base(a->d), on_timeout, a);
        struct timeval tv = {a->run.timeout_ms / 1000, (a->run.timeout_ms % 1000) * 1000};
        evtimer_add(a->timeout_ev, &tv);
    }
    if (def->inline_ok) {
        /* it cannot block: done right here, without a thread and the hops back */
        builtin_run(c);
        a->inline_done = true;
        return 0;
    }
    offload_submit(dispatch_pool(a->d), builtin_run, builtin_done, c);
    return 0;
}

void worker_builtin_end(struct active *a)
{
    builtin_done(a->bctx);
}

/* ---- orphans left by a previous sked ---- */

static bool environ_has(pid_t pid, const char *const *needles, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct buf b = BUF_INIT;
    char chunk[4096];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0 && b.len < 1024 * 1024)
        buf_append(&b, chunk, (size_t)r);
    close(fd);
    bool found = false;
    for (size_t off = 0; off < b.len && !found;) {
        const char *var = b.data + off;
        size_t l = strnlen(var, b.len - off);
        for (size_t i = 0; i < n && !found; i++) found = strcmp(var, needles[i]) == 0;
        off += l + 1;
    }
    buf_free(&b);
    return found;
}

/* The parent of pid, or 0 when it cannot be read. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) return 0;
    buf[r] = '\0';
    const char *p = strrchr(buf, ')'); /* after the name, which may hold anything */
    int ppid = 0;
    if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1) return 0;
    return (pid_t)ppid;
}

/* The program name of pid (/proc/PID/comm) into out; false when it cannot be read. */
static bool comm_of(pid_t pid, char out[32])
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t r = read(fd, out, 31);
    close(fd);
    out[r > 0 ? r : 0] = '\0';
    return r > 0;
}

/* Whether the descriptor name in the /proc/PID/fd folder dir is a pipe; its inode into ino. */
static bool fd_pipe(int dir, const char *name, ino_t *ino)
{
    char link[64];
    ssize_t len = readlinkat(dir, name, link, sizeof link - 1);
    if (len <= 0) return false;
    link[len] = '\0';
    unsigned long long v;
    if (sscanf(link, "pipe:[%llu]", &v) != 1) return false;
    *ino = (ino_t)v;
    return true;
}

/* A set of pids or inodes, grown as the walk finds more of a run's processes. */
struct idset {
    long long *v;
    size_t n, cap;
};

static bool idset_has(const struct idset *s, long long v)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == v) return true;
    return false;
}

static bool idset_add(struct idset *s, long long v)
{
    if (idset_has(s, v)) return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
    return true;
}

/* Whether process pid has an open descriptor on one of the pipes (their inodes). */
static bool holds_pipe(pid_t pid, const struct idset *pipes)
{
    if (pipes->n == 0) return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d)) != NULL) {
        ino_t ino;
        found = fd_pipe(dirfd(d), de->d_name, &ino) && idset_has(pipes, (long long)ino);
    }
    if (d) closedir(d);
    return found;
}

/* The inodes of the pipes on fds 0-3 of pid (a task's stdin, stdout, stderr and status fd)
 * into out; how many. */
static size_t task_pipes(pid_t pid, ino_t out[4])
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t n = 0;
    for (int fd = 0; dir >= 0 && fd < 4; fd++) {
        char name[4] = {(char)('0' + fd), '\0'};
        if (fd_pipe(dir, name, &out[n])) n++;
    }
    if (dir >= 0) close(dir);
    return n;
}

/* Whether the task process pid (its environment names one of the runs) still belongs to a
 * live sked: its tree leads up to a running sked, not to init or a subreaper as the tree of a
 * dead one does. Such a sked serves a copy of this store (a backup restored and served on the
 * same machine, under the same node name): its tasks are not this store's orphans. The sked
 * that started a task holds the other ends of the pipes the task keeps of its output, whatever
 * its binary is named; a task that let go of those (its output sent elsewhere: sked closed its
 * ends at their EOF, and its end of stdin once the arguments were written) is told by the name
 * of the program it leads up to. */
static bool live_owner(pid_t pid, const char *const *needles, size_t n)
{
    char mine[32], theirs[32];
    if (!comm_of(getpid(), mine)) return false;
    for (int depth = 0; depth < 64; depth++) {
        pid_t up = parent_of(pid);
        /* pid 1 too: a sked may be the first process of a container (a dead one's tasks are
         * then gone with the container, or lead up to an init of another name) */
        if (up <= 0 || up == getpid()) return false;
        if (environ_has(up, needles, n)) { /* another process of the task's tree */
            pid = up;
            continue;
        }
        if (comm_of(up, theirs) && strcmp(mine, theirs) == 0) return true;
        /* the pipes are asked after the name, which is cheaper, and not of init: a dead
         * sked's tasks lead up to it, in their hundreds when they fork (a sked that is itself
         * the first process of a container is told by its name) */
        if (up == 1) return false;
        ino_t pipes[4];
        struct idset set = {0};
        for (size_t i = 0, k = task_pipes(pid, pipes); i < k; i++)
            idset_add(&set, (long long)pipes[i]);
        bool held = holds_pipe(up, &set);
        free(set.v);
        return held;
    }
    return false;
}

int worker_kill_orphans(const char *const *ids, size_t n, const ino_t *pipes, size_t npipes,
                        const pid_t *leaders, size_t nleaders, pid_t group)
{
    if (n == 0 && nleaders == 0) return 0;
    char **needles = xcalloc(n ? n : 1, sizeof *needles);
    for (size_t i = 0; i < n; i++)
        needles[i] = xasprintf("SKED_RUN_ID=%s", ids[i]);
    struct idset tasks = {0}, groups = {0}, inos = {0}, done = {0};
    for (size_t i = 0; i < npipes; i++)
        idset_add(&inos, (long long)pipes[i]);
    const char *const *want = (const char *const *)needles;
    /* not those of a live sked serving a copy of the store (as for the run's id, below) */
    for (size_t i = 0; i < nleaders; i++)
        if (!live_owner(leaders[i], want, n)) idset_add(&tasks, leaders[i]);
    /* a process may fork after the walk of /proc has passed its child's place: walked again
     * until a walk finds no process it had not killed (a loop of forks ends with its last
     * parent), at most ORPHAN_WALKS times */
    enum { ORPHAN_WALKS = 50 };
    pid_t self = getpid(), mine = getpgrp();
    for (int walk = 0, fresh = 1; fresh && walk < ORPHAN_WALKS; walk++) {
        fresh = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char *end;
            long pid = strtol(de->d_name, &end, 10);
            if (*end || pid <= 1 || pid == self) continue;
            /* killed by an earlier walk, and dying; or of the task's group, killed at its end
             * (asked of the run's processes only, not of every process) */
            pid_t pgid = getpgid((pid_t)pid);
            if (idset_has(&done, pid) || (group > 0 && pgid == group)) continue;
            /* a holder of the run's pipes, or a member of one of its groups, is the run's,
             * whatever its environment says, but for sked's own children: another task's
             * process before its exec holds copies of every descriptor sked has, these pipes
             * among them. One with the run's id is the run's unless it belongs to another live
             * sked (live_owner). */
            bool child = parent_of((pid_t)pid) == self;
            /* known by what the run gave it (its id, a task's group), or by what it shares
             * with such a process (a group, a pipe) */
            bool known =
                (!child && pgid > 1 && idset_has(&tasks, pgid)) ||
                (n && environ_has((pid_t)pid, want, n) && !live_owner((pid_t)pid, want, n));
            bool ours = known || (!child && ((pgid > 1 && idset_has(&groups, pgid)) ||
                                             holds_pipe((pid_t)pid, &inos)));
            if (!ours) continue;
            /* read before it dies: its group (not sked's own), whose other members are the
             * run's; and, of one known, the pipes of its stdin, stdout, stderr and status fd,
             * whose other holders are (those of one found by a pipe may be anyone's: the
             * terminal's of the sked that started it) */
            if (pgid > 1 && pgid != mine && pgid != group) idset_add(&groups, pgid);
            ino_t own[4];
            for (size_t i = 0, k = known ? task_pipes((pid_t)pid, own) : 0; i < k; i++)
                idset_add(&inos, (long long)own[i]);
            if (kill((pid_t)pid, SIGKILL) != 0) continue;
            idset_add(&done, pid);
            fresh = 1;
        }
        if (d) closedir(d);
    }
    int killed = (int)done.n;
    free(tasks.v);
    free(groups.v);
    free(inos.v);
    free(done.v);
    for (size_t i = 0; i < n; i++)
        free(needles[i]);
    free(needles);
    return killed;
}

bool worker_task_alive(pid_t pid, int64_t started)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) return false;
    buf[r] = '\0';
    const char *p = strrchr(buf, ')'); /* after the name, which may hold anything */
    unsigned long long ticks;
    /* field 22, starttime: clock ticks after boot */
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                     "%*d %*d %*d %llu",
                     &ticks) != 1)
        return false;
    FILE *f = fopen("/proc/stat", "re");
    long long boot = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &boot) == 1) break;
    if (f) fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (boot < 0 || hz <= 0) return false;
    int64_t began = boot * 1000000LL + (int64_t)(ticks * 1000000ULL / (unsigned long long)hz);
    /* btime is whole seconds, and the wall clock may have been set since the boot */
    return began > started - 2000000 && began < started + 2000000;
}
