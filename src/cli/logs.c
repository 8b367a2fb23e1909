/*
 * logs: `sked logs RUN [-f]` - a run's log, read page by page from /logs or followed live over
 * the /logs/stream Server-Sent Events until the run ends. Following is shared with
 * `sked job run --wait`; it survives a dropped connection by resuming after the last line seen,
 * tells of the retry a failed run gets (which --wait follows), and ends on SIGINT or SIGTERM
 * with a word on how to follow the run again.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "commands.h"
#include "model.h"

#define PAGE_LINES 5000 /* the most a page of the API holds (limit 0 … 5000) */
#define RECONNECTS 5
#define DOWN_WAIT 30 /* seconds a follow waits for a server that stopped answering */

enum { O_FOLLOW, O_LEVEL, O_JSON };

/* A line with carriage returns (a progress bar redrawn in place) as a terminal would end up
 * showing it: each part after a \r written over the start of what came before. */
static char *overwritten(const char *s)
{
    size_t n = strlen(s), cells = 0, at = 0;
    struct { const char *p; size_t len; } *cell = xmalloc((n + 1) * sizeof *cell);
    for (size_t i = 0; i < n;) {
        if (s[i] == '\r') {
            at = 0;
            i++;
            continue;
        }
        int w;
        size_t k = utf8_next(s + i, n - i, &w);
        cell[at].p = s + i;
        cell[at].len = k;
        if (++at > cells) cells = at;
        i += k;
    }
    struct buf b = BUF_INIT;
    for (size_t c = 0; c < cells; c++) buf_append(&b, cell[c].p, cell[c].len);
    free(cell);
    return buf_steal(&b);
}

static void print_line(const json_t *line, bool as_json, FILE *out)
{
    if (as_json) {
        json_dumpf(line, out, JSON_COMPACT);
        fputc('\n', out);
        return;
    }
    char ts[TIMEBUF];
    struct buf msg = BUF_INIT;
    const char *text = json_str(line, "message");
    char *drawn = text && strchr(text, '\r') ? overwritten(text) : NULL;
    text_clean(&msg, drawn ? drawn : text, 0);
    free(drawn);
    /* the stream in a column of its own: sked's own lines (a stop, an exit status) cannot be
     * told from a task's by their text, which a task may write alike */
    const char *level = json_str(line, "level"), *stream = json_str(line, "stream");
    fprintf(out, "%s %-8s %-6s %s\n", fmt_log_time(json_str(line, "timestamp"), ts),
            level ? level : "-", stream ? shown(stream) : "-", buf_cstr(&msg));
    buf_free(&msg);
}

/* Prints "run ID STATUS after 1.2s: message" to f; returns 0 for SUCCESS, else EXIT_FAIL. */
static int logs_summary(const json_t *run, FILE *f)
{
    const char *status = json_str(run, "status");
    char dur[TIMEBUF];
    json_t *duration = json_object_get(run, "duration");
    fprintf(f, "run %s %s", json_str(run, "id"), status ? status : "?");
    /* a run stopped before it started has no duration */
    if (json_is_number(duration)) fprintf(f, " after %s", fmt_duration(duration, dur));
    json_int_t total = json_integer_value(json_object_get(run, "total_entries"));
    if (total > 0)
        fprintf(f, " (%lld entries: %lld inserted, %lld updated, %lld errored)", (long long)total,
                (long long)json_integer_value(json_object_get(run, "inserted_entries")),
                (long long)json_integer_value(json_object_get(run, "updated_entries")),
                (long long)json_integer_value(json_object_get(run, "errored_entries")));
    const char *message = json_str(run, "message");
    if (message && *message) {
        char *first = xstrndup(message, strcspn(message, "\r\n"));
        struct buf m = BUF_INIT;
        text_clean(&m, first, 200);
        fprintf(f, ": %s", buf_cstr(&m));
        buf_free(&m);
        free(first);
    }
    fputc('\n', f);
    text_more_lines(f, message, 2, 200, 20); /* the reason's lines (stderr, <3>) after the first */
    fflush(f);
    return status && strcmp(status, "SUCCESS") == 0 ? 0 : EXIT_FAIL;
}

struct follow {
    const char *run_id;
    FILE *out;
    bool as_json;
    long long last_seq;
    bool progressed; /* lines arrived since the last (re)connect */
    json_t *ended;   /* the run as a status event said it ended, until the stream's `end` */
    json_t *final;   /* the ended run, once the stream ended after saying so */
    bool tty;        /* stderr is a terminal: the run's progress is kept on one line there */
    char *shown;     /* that line as drawn, or NULL while none is */
};

/* Takes the progress line off the terminal (before a log line, or at the end). */
static void progress_clear(struct follow *f)
{
    if (!f->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* Draws the progress line (again), cut to the terminal's width so it stays one line. */
static void progress_draw(struct follow *f)
{
    if (!f->shown) return;
    size_t cols = terminal_cols(stderr);
    if (cols < 2) cols = 80;
    struct buf b = BUF_INIT;
    text_clean(&b, f->shown, cols - 1);
    fprintf(stderr, "\r\033[K%s", buf_cstr(&b));
    fflush(stderr);
    buf_free(&b);
}

static int on_event(void *arg, const char *event, const char *id, const char *data)
{
    struct follow *f = arg;
    bool is_log = strcmp(event, "log") == 0;
    bool is_progress = strcmp(event, "progress") == 0;
    bool is_deleted = strcmp(event, "deleted") == 0;
    if (strcmp(event, "end") == 0) {
        /* the stream is over: the run's end said before it holds (a stream of an ended run
         * starts with its final status too, and its lines come after it) */
        f->final = f->ended;
        f->ended = NULL;
        return 0;
    }
    if (!is_log && !is_progress && !is_deleted && strcmp(event, "status") != 0) return 0;
    if (is_progress && !f->tty) return 0; /* to a file or a pipe: the log says enough */
    struct sk_err e = {0};
    json_t *d = json_parse(data, strlen(data), event, &e);
    if (!d) {
        fprintf(stderr, "sked: the log stream sent a %s event that is not JSON: %s\n", event,
                e.msg);
        return EXIT_FAIL;
    }
    if (is_deleted) {
        /* the run was deleted before the stream had sent its whole log: the rest is gone */
        progress_clear(f);
        json_t *after = json_object_get(d, "after");
        fprintf(stderr,
                "sked: run %s was deleted before its whole log was read: the lines after line "
                "%lld are gone with it\n",
                f->run_id, json_is_integer(after) ? (long long)json_integer_value(after) : 0LL);
        json_decref(d);
        return EXIT_FAIL;
    }
    if (is_progress) {
        char *words = progress_words(json_object_get(d, "progress"), d);
        char *line = words ? xasprintf("running: %s", words) : NULL;
        free(words);
        if (line && (!f->shown || strcmp(line, f->shown) != 0)) {
            free(f->shown);
            f->shown = line;
            progress_draw(f);
        } else {
            free(line);
        }
    } else if (is_log) {
        progress_clear(f);
        print_line(d, f->as_json, f->out);
        fflush(f->out);
        progress_draw(f);
        f->last_seq = *id ? atoll(id) : json_integer_value(json_object_get(d, "seq"));
        f->progressed = true;
    } else {
        int s = run_status_parse(json_str(d, "status"));
        json_t *run = json_object_get(d, "run");
        if (s >= 0 && run_status_terminal(s) && json_is_object(run)) {
            json_decref(f->ended);
            f->ended = json_incref(run);
        }
    }
    json_decref(d);
    return 0;
}

/* Follows one run to its end (see logs_follow); on success *final is the ended run. */
static int follow_run(const struct client *c, const json_t *run, const char *level,
                      bool json_lines, FILE *out, json_t **final)
{
    struct follow f = {.out = out, .as_json = json_lines, .tty = isatty(STDERR_FILENO) == 1,
                       .run_id = json_str(run, "id")};
    *final = NULL;
    int tries = 0, down = 0, rc = 0;
    /* a run that waits says why, once: a paused queue, or no free slot */
    char *why = run_wait_reason(c, run);
    if (why) fprintf(stderr, "%s%s\n", strncmp(why, "waiting ", 8) == 0 ? "" : "waiting: ", why);
    free(why);
    while (!f.final && !client_stopped()) {
        struct buf path = BUF_INIT;
        buf_printf(&path, "/api/jobs/%s/runs/%s/logs/stream?after=%lld", json_str(run, "job_id"),
                   json_str(run, "id"), f.last_seq);
        if (level) buf_printf(&path, "&level=%s", level);
        f.progressed = false;
        rc = client_stream(c, buf_cstr(&path), on_event, &f, tries > 0 || down > 0);
        buf_free(&path);
        if (rc > 0 || f.final) break;
        progress_clear(&f); /* what is said next is a line of its own */
        if (rc == CLIENT_STREAM_DOWN) {
            /* a server restarting: its run goes on (or is recovered), so wait for it a while */
            if (down++ == 0)
                fprintf(stderr, "sked: the server does not answer; trying again for %d s\n",
                        DOWN_WAIT);
            if (down > DOWN_WAIT) {
                fprintf(stderr, "sked: cannot reach the server at %s; the run's log is in "
                                "`sked logs %s` once it is back\n",
                        c->url, json_str(run, "id"));
                rc = EXIT_UNREACHABLE;
                break;
            }
            sleep(1);
            continue;
        }
        down = 0;
        /* the stream ended early (a restarting server, a proxy timeout): resume after the
         * last line, but give up if reconnecting keeps bringing nothing */
        tries = f.progressed ? 1 : tries + 1;
        if (tries > RECONNECTS) {
            fprintf(stderr,
                    "sked: the log stream of run %s keeps ending before the run does; "
                    "giving up\n",
                    json_str(run, "id"));
            rc = EXIT_UNREACHABLE;
            break;
        }
        sleep(1);
    }
    progress_clear(&f);
    free(f.shown);
    json_decref(f.ended);
    if (f.final) {
        *final = f.final;
        return 0;
    }
    if (client_stopped()) {
        const char *id = json_str(run, "id");
        fprintf(stderr, "sked: stopped following; run %s goes on (sked logs %s -f to follow it "
                        "again, sked stop %s to stop it)\n",
                id, id, id);
        return 128 + client_stopped();
    }
    return rc;
}

/* The retry of run, which ended FAILED: the run of its job whose parent it is (NULL when
 * none). A retry is made when the failure is, so it is the first of the runs made after the
 * failure's end, which may follow many runs made while the failed one ran: the pages of runs
 * made after it are read until a run made later than RETRY_SLACK after that end. */
#define RETRY_SLACK (60 * 1000000LL)
static json_t *retry_of(const struct client *c, const json_t *run)
{
    const char *id = json_str(run, "id"), *status = json_str(run, "status");
    const char *finished = json_str(run, "finished_at");
    int64_t ended;
    if (!status || strcmp(status, "FAILED") != 0 || !finished ||
        time_parse(finished, &ended, NULL) != 0)
        return NULL;
    json_t *retry = NULL, *r;
    char *path = xasprintf("/api/jobs/%s/runs?sort_direction=asc&after=%s&size=1000",
                           json_str(run, "job_id"), id);
    while (path && !retry) {
        json_t *list = NULL;
        int rc = client_get_quiet(c, &list, "%s", path);
        free(path);
        path = NULL;
        if (rc) break;
        json_t *hits = list_hits(list);
        size_t i;
        /* a page of runs with large arguments holds fewer: its links.next goes on after it */
        bool more = true;
        json_array_foreach(hits, i, r)
        {
            const char *parent = json_str(r, "parent_run_id"), *trigger = json_str(r, "trigger");
            const char *created = json_str(r, "created");
            int64_t made;
            if (parent && trigger && strcmp(parent, id) == 0 && strcmp(trigger, "retry") == 0) {
                retry = json_incref(r);
                break;
            }
            if (created && time_parse(created, &made, NULL) == 0 && made > ended + RETRY_SLACK) {
                more = false;
                break;
            }
        }
        if (more && !retry && json_array_size(hits) > 0) path = list_next(list);
        json_decref(list);
    }
    free(path);
    return retry;
}

/* "attempt 1 of 3 failed; retry ID queued, starts after 14:03:07" on f, and how to follow the
 * retry when hint. */
static void retry_note(const struct client *c, const json_t *failed, const json_t *retry,
                       bool hint, FILE *f)
{
    const char *id = json_str(retry, "id"), *status = json_str(retry, "status");
    const char *not_before = json_str(retry, "not_before");
    bool queued = status && strcmp(status, "QUEUED") == 0;
    json_t *job = NULL;
    fprintf(f, "attempt %lld", (long long)json_integer_value(json_object_get(failed, "attempt")));
    if (client_get_quiet(c, &job, "/api/jobs/%s", json_str(failed, "job_id")) == 0)
        fprintf(f, " of %lld",
                (long long)json_integer_value(json_object_get(job, "max_retries")) + 1);
    json_decref(job);
    fprintf(f, " failed; retry %s %s%s", id, queued ? "queued" : "is ",
            queued ? "" : shown(status));
    int64_t until;
    char t[TIMEBUF];
    if (queued && not_before && time_parse(not_before, &until, NULL) == 0 && until > time_now_us())
        fprintf(f, ", starts after %s", fmt_time(not_before, t));
    if (hint) fprintf(f, " (sked logs %s -f follows it)", id);
    fputc('\n', f);
    fflush(f);
}

int logs_follow(const struct client *c, const json_t *run, const char *level, bool json_lines,
                FILE *out, FILE *sum, bool retries, json_t **final)
{
    json_t *cur = json_incref((json_t *)run);
    int rc;
    *final = NULL;
    client_catch_stop(true);
    for (;;) {
        json_t *ended;
        if ((rc = follow_run(c, cur, level, json_lines, out, &ended))) break;
        json_decref(*final);
        *final = ended;
        rc = logs_summary(ended, sum);
        json_t *retry = rc ? retry_of(c, ended) : NULL;
        if (!retry) break;
        retry_note(c, ended, retry, !retries, sum);
        json_decref(cur);
        cur = retry;
        if (!retries) break;
    }
    client_catch_stop(false);
    json_decref(cur);
    return rc;
}

int cmd_logs(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"follow", 'f', false, O_FOLLOW},
                                           {"level", 0, true, O_LEVEL},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked logs RUN [-f|--follow] [--level L] [--json]\n"
        "\n"
        "Prints a run's log as TIMESTAMP LEVEL message lines. RUN is a run id (or a\n"
        "unique start of one).\n"
        "\n"
        "  -f, --follow         keep printing lines as they arrive until the run ends, then\n"
        "                       a summary (and the retry a failed run gets, if any); exit 0\n"
        "                       only when it ended SUCCESS, else 1; Ctrl-C stops following\n"
        "                       (not the run), exit 130\n"
        "  --level L            only lines of level L or worse (DEBUG, INFO, WARNING,\n"
        "                       ERROR, CRITICAL)\n"
        "  --json               one JSON object per line, as the API sends them\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked logs", usage, spec, "RUN", argc, argv);
    if (rc >= 0) return rc;
    const char *level = NULL;
    if (opts_get(&o, O_LEVEL)) {
        int l = log_line_level_parse(opts_get(&o, O_LEVEL));
        if (l < 0) {
            rc = usage_error(&o,
                             "--level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not "
                             "'%s'",
                             opts_get(&o, O_LEVEL));
            goto out;
        }
        level = log_line_level_name(l);
    }
    bool as_json = opts_has(&o, O_JSON);
    json_t *run;
    if ((rc = run_resolve(&o.cl, o.arg, &run))) goto out;
    if (opts_has(&o, O_FOLLOW)) {
        json_t *final;
        rc = logs_follow(&o.cl, run, level, as_json, stdout, as_json ? stderr : stdout, false,
                         &final);
        json_decref(final);
        json_decref(run);
        goto out;
    }
    long long after = 0;
    for (;;) {
        json_t *page;
        rc = client_get(&o.cl, &page, "/api/jobs/%s/runs/%s/logs?after=%lld&limit=%d%s%s",
                        json_str(run, "job_id"), json_str(run, "id"), after, PAGE_LINES,
                        level ? "&level=" : "", level ? level : "");
        if (rc) break;
        json_t *hits = list_hits(page);
        size_t i;
        json_t *line;
        json_array_foreach(hits, i, line) print_line(line, as_json, stdout);
        after = json_integer_value(json_object_get(page, "after"));
        /* a page full of lines, or of long ones' bytes, links to the next, unless it ends a
         * finished run's log */
        bool more = json_object_get(json_object_get(page, "links"), "next") != NULL;
        json_decref(page);
        if (!more) break;
    }
    json_decref(run);
out:
    opts_free(&o);
    return rc;
}
