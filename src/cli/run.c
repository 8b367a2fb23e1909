/*
 * run: `sked runs JOB`, `sked run show RUN`, `sked run again RUN` and `sked stop RUN` - runs over
 * /api/jobs/{job}/runs. The API addresses a run under its job, while people hold only the run
 * id, so run_resolve() finds the job first through /api/runs?q=.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "commands.h"
#include "model.h"

enum { O_JSON, O_STATUS, O_PAGE, O_SIZE, O_ALL, O_SEARCH, O_SINCE, O_WAIT, O_TITLE, O_QUEUE };

/* clang-format off */
#define SPEC_JSON {"json", 0, false, O_JSON}
#define SPEC_END {NULL, 0, false, 0}
/* clang-format on */

int run_resolve(const struct client *c, const char *ref, json_t **run)
{
    *run = NULL;
    size_t len = strlen(ref);
    bool ok = len >= 4 && len <= 36;
    for (const char *p = ref; ok && *p; p++)
        ok = isxdigit((unsigned char)*p) || *p == '-';
    if (!ok) {
        fprintf(stderr,
                "sked: '%s' is not a run id: give a UUID, or its first 4 or more characters "
                "as 'sked runs JOB' shows them\n",
                ref);
        return EXIT_USAGE;
    }
    /* q matches ids by their start and titles anywhere; only ids starting with ref count */
    char *q = client_escape(ref);
    char *path = xasprintf("/api/runs?q=%s&size=1000", q);
    json_t *list;
    int rc = client_get_page(c, &list, 1000, path);
    free(path);
    free(q);
    if (rc) return rc;
    json_t *hits = list_hits(list), *match = NULL;
    size_t i, n = 0;
    json_t *r;
    json_array_foreach(hits, i, r)
    {
        const char *id = json_str(r, "id");
        if (!id || strncasecmp(id, ref, len) != 0) continue;
        match = r;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "sked: no run has the id %s%s\n", ref, len < 36 ? "..." : "");
        rc = EXIT_FAIL;
    } else if (n > 1) {
        /* runs made in the same millisecond share 13 characters and more: their ids, when few */
        fprintf(stderr, "sked: %zu runs have ids starting with %s; give more of it%s\n", n, ref,
                n <= 10 ? ":" : "");
        json_array_foreach(hits, i, r)
        {
            const char *id = json_str(r, "id");
            if (n <= 10 && id && strncasecmp(id, ref, len) == 0)
                fprintf(stderr, "  %s  %s\n", id, shown(json_str(r, "job_title")));
        }
        rc = EXIT_FAIL;
    } else {
        rc = client_get(c, run, "/api/jobs/%s/runs/%s", json_str(match, "job_id"),
                        json_str(match, "id"));
    }
    json_decref(list);
    return rc;
}

char *run_wait_reason(const struct client *c, const json_t *run)
{
    const char *queue = json_str(run, "queue");
    if (!queue || strcmp(json_str(run, "status") ? json_str(run, "status") : "", "QUEUED") != 0)
        return NULL;
    /* the queues first, then the run: a run still waiting after the queues were read was
     * waiting when they were, so what they say is why (not a slot it has just taken) */
    json_t *list = NULL, *again = NULL;
    char *why = NULL;
    if (client_get_quiet(c, &list, "/api/queues") ||
        client_get_quiet(c, &again, "/api/jobs/%s/runs/%s", json_str(run, "job_id"),
                         json_str(run, "id")) ||
        strcmp(json_str(again, "status") ? json_str(again, "status") : "", "QUEUED") != 0)
        goto out;
    /* what holds the run itself first: its job's running run, a retry's backoff */
    if (json_is_true(json_object_get(again, "held"))) {
        why = xstrdup("waiting for its job's running run to end (the job's overlap policy)");
        goto out;
    }
    const char *not_before = json_str(again, "not_before");
    int64_t until;
    if (not_before && time_parse(not_before, &until, NULL) == 0 && until > time_now_us()) {
        char t[TIMEBUF];
        why = xasprintf("a retry, waiting until %s", fmt_time(not_before, t));
        goto out;
    }
    size_t i;
    json_t *q;
    json_array_foreach(list_hits(list), i, q)
    {
        if (strcmp(json_str(q, "name") ? json_str(q, "name") : "", queue) != 0) continue;
        const json_t *slots = json_object_get(q, "concurrency"), *busy = json_object_get(q, "busy");
        if (json_is_true(json_object_get(q, "paused"))) {
            const char *reason = json_str(q, "pause_reason");
            struct buf b = BUF_INIT;
            buf_printf(&b, "queue '%s' is paused", shown(queue));
            if (reason) buf_printf(&b, " (%s)", shown(reason));
            buf_printf(&b, "; sked queues resume %s", shown(queue));
            why = buf_steal(&b);
        } else if (json_is_integer(slots) && json_is_integer(busy) &&
                   json_integer_value(busy) >= json_integer_value(slots)) {
            why = xasprintf("waiting for a free slot in queue '%s' (%lld of %lld busy)",
                            shown(queue), (long long)json_integer_value(busy),
                            (long long)json_integer_value(slots));
        }
        break;
    }
out:
    json_decref(list);
    json_decref(again);
    return why;
}

char *progress_words(const json_t *progress, const json_t *counts)
{
    struct buf b = BUF_INIT;
    const json_t *done = json_object_get(progress, "done"), *total = json_object_get(progress, "total");
    if (json_is_integer(done)) {
        long long d = json_integer_value(done), t = json_integer_value(total);
        if (json_is_integer(total) && t > 0)
            buf_printf(&b, "%lld of %lld (%lld%%)", d, t, d * 100 / t);
        else if (json_is_integer(total))
            buf_printf(&b, "%lld of %lld", d, t);
        else
            buf_printf(&b, "%lld done", d);
    }
    long long n[4];
    static const char *const keys[] = {"total_entries", "inserted_entries", "updated_entries",
                                       "errored_entries"};
    bool any = false;
    for (size_t i = 0; i < 4; i++) {
        n[i] = json_integer_value(json_object_get(counts, keys[i]));
        any = any || n[i] > 0;
    }
    if (any)
        buf_printf(&b, "%s%lld entries: %lld inserted, %lld updated, %lld errored",
                   b.len ? "; " : "", n[0], n[1], n[2], n[3]);
    if (!b.len) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* "Waiting" for a QUEUED run: what run_wait_reason says, put as a state. */
static char *waiting_words(const struct client *c, const json_t *r)
{
    char *why = run_wait_reason(c, r);
    if (why && strncmp(why, "waiting ", 8) == 0) memmove(why, why + 8, strlen(why + 8) + 1);
    return why;
}

static void print_run(const struct client *c, const json_t *r)
{
    char t[TIMEBUF], d[TIMEBUF];
    kv_print(stdout, "ID", json_str(r, "id"));
    kv_print(stdout, "Job", json_str(r, "job_id"));
    kv_line(stdout, "Task", json_str(r, "task"));
    kv_line(stdout, "Title", json_str(r, "title"));
    kv_line(stdout, "Status", json_str(r, "status"));
    kv_text(stdout, "Message", json_str(r, "message"));
    kv_line(stdout, "Trigger", json_str(r, "trigger"));
    /* the fire it stands for (many made at once by a catch-up), and what it follows (a retry,
     * a chained run) */
    if (json_str(r, "scheduled_for"))
        kv_print(stdout, "Scheduled for", fmt_time(json_str(r, "scheduled_for"), t));
    if (json_str(r, "parent_run_id")) kv_print(stdout, "Parent run", json_str(r, "parent_run_id"));
    if (json_str(r, "until")) { /* the window it was given (a backfill's) */
        char from[TIMEBUF], to[TIMEBUF];
        const char *since = json_str(json_object_get(r, "args"), "since");
        char *w = xasprintf("%s to %s", since ? fmt_time(since, from) : "the beginning",
                            fmt_time(json_str(r, "until"), to));
        kv_print(stdout, "Window", w);
        free(w);
    }
    kv_line(stdout, "Queue", json_str(r, "queue"));
    kv_print(stdout, "Created", fmt_time(json_str(r, "created"), t));
    kv_print(stdout, "Started", fmt_time(json_str(r, "started_at"), t));
    kv_print(stdout, "Finished", fmt_time(json_str(r, "finished_at"), t));
    kv_print(stdout, "Duration", fmt_duration(json_object_get(r, "duration"), d));
    kv_json(stdout, "Exit code", json_object_get(r, "exit_code"));
    kv_json(stdout, "Attempt", json_object_get(r, "attempt"));
    char *entries = xasprintf("%lld total, %lld inserted, %lld updated, %lld errored",
                              (long long)json_integer_value(json_object_get(r, "total_entries")),
                              (long long)json_integer_value(json_object_get(r, "inserted_entries")),
                              (long long)json_integer_value(json_object_get(r, "updated_entries")),
                              (long long)json_integer_value(json_object_get(r, "errored_entries")));
    kv_print(stdout, "Entries", entries);
    free(entries);
    char *words = progress_words(json_object_get(r, "progress"), NULL);
    kv_line(stdout, "Progress", words);
    free(words);
    words = waiting_words(c, r);
    if (words) kv_line(stdout, "Waiting", words);
    free(words);
    kv_json(stdout, "Args", json_object_get(r, "args"));
    kv_json(stdout, "Output", json_object_get(r, "output"));
    kv_print(stdout, "Timeout", json_str(r, "timeout"));
    kv_line(stdout, "Started by", json_str(json_object_get(r, "started_by"), "name"));
    kv_line(stdout, "Stopped by", json_str(json_object_get(r, "stopped_by"), "name"));
}

int cmd_runs(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"status", 0, true, O_STATUS},
                                           {"page", 0, true, O_PAGE},
                                           {"size", 0, true, O_SIZE},
                                           {"all", 'a', false, O_ALL},
                                           {"search", 0, true, O_SEARCH},
                                           {"since", 0, true, O_SINCE},
                                           SPEC_JSON,
                                           SPEC_END};
    static const char usage[] =
        "usage: sked runs JOB|--all [--status S[,S]...] [--search TEXT] [--since TS]\n"
        "                 [--page N] [--size N] [--json]\n"
        "\n"
        "Lists the runs of a job, or of every job with --all, newest first. JOB is a job id,\n"
        "the start of one, or an exact title. The ID column shows the start of each run's id\n"
        "that no other run of the list shares: 13 characters, more for runs made in the same\n"
        "millisecond; 'sked run show', 'logs' and 'stop' take it (a run of another page or\n"
        "list with the same start makes them ask for more of it).\n"
        "\n"
        "  -a, --all            the runs of every job (with their job's title)\n"
        "  --status S,...       only runs in these statuses (QUEUED, RUNNING, SUCCESS,\n"
        "                       PARTIAL_SUCCESS, FAILED, CANCELLING, CANCELLED, WARNING)\n"
        "  --search TEXT        only runs whose id starts with TEXT or whose title holds it\n"
        "  --since TS           only runs created at or after TS (2024-05-01 10:00 local\n"
        "                       time, as shown; 2024-05-01T10:00Z in UTC)\n"
        "  --page N, --size N   which page, of how many runs (default 1 and 25, at most 1000)\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse_optional(&o, "sked runs", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    long page, size;
    struct buf path = BUF_INIT;
    json_t *job = NULL, *list = NULL;
    bool all = opts_has(&o, O_ALL);
    int64_t since_us = 0;
    if (all && o.arg) {
        rc = usage_error(&o, "--all lists the runs of every job: give it no JOB");
        goto out;
    }
    if (!all && !o.arg) {
        rc = usage_error(&o, "missing JOB (or --all, for the runs of every job)");
        goto out;
    }
    if ((rc = opts_time_local(&o, O_SINCE, false, &since_us)) ||
        (rc = opts_page(&o, O_PAGE, O_SIZE, &page, &size)))
        goto out;
    struct buf statuses = BUF_INIT;
    if (opts_get(&o, O_STATUS)) {
        char *copy = xstrdup(opts_get(&o, O_STATUS)), *save = NULL;
        for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            int st = run_status_parse(s);
            if (st < 0) {
                struct buf names = BUF_INIT;
                for (int k = 0; k < RUN_STATUS_COUNT; k++)
                    buf_printf(&names, "%s%s", k ? ", " : "", run_status_name(k));
                rc = usage_error(&o, "--status: unknown status '%s'; the statuses: %s", s,
                                 buf_cstr(&names));
                buf_free(&names);
                break;
            }
            buf_printf(&statuses, "%s%s", statuses.len ? "," : "", run_status_name(st));
        }
        free(copy);
        if (!rc && !statuses.len) /* "," or "": no filter at all would be a surprise */
            rc = usage_error(&o, "--status: name at least one status, such as FAILED or "
                                 "QUEUED,RUNNING");
    }
    if (!rc && !all) rc = job_resolve(&o.cl, o.arg, &job);
    if (!rc) {
        if (all)
            buf_printf(&path, "/api/runs?page=%ld&size=%ld", page, size);
        else
            buf_printf(&path, "/api/jobs/%s/runs?page=%ld&size=%ld", json_str(job, "id"), page,
                       size);
        if (statuses.len) buf_printf(&path, "&status=%s", buf_cstr(&statuses));
        query_param(&path, "q", opts_get(&o, O_SEARCH));
        if (opts_get(&o, O_SINCE)) query_time(&path, "since", since_us);
        rc = client_get_page(&o.cl, &list, size, buf_cstr(&path));
    }
    buf_free(&statuses);
    if (rc) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
        goto out;
    }
    struct table t;
    if (all)
        table_init(&t, 8, "ID", "JOB", "STATUS", "TRIGGER", "CREATED", "DURATION", "TITLE",
                   "MESSAGE");
    else
        table_init(&t, 7, "ID", "STATUS", "TRIGGER", "CREATED", "DURATION", "TITLE", "MESSAGE");
    size_t i;
    json_t *r;
    /* the titles and the message are free text, cut to fit a terminal */
    t.free_text = all ? TABLE_COL(1) | TABLE_COL(6) | TABLE_COL(7) : TABLE_COL(5) | TABLE_COL(6);
    json_array_foreach(list_hits(list), i, r)
    {
        char id[37], created[TIMEBUF], dur[TIMEBUF];
        const char *cells[8] = {short_run_id(json_str(r, "id"), list_hits(list), "id", id),
                                json_str(r, "job_title"),
                                json_str(r, "status"), json_str(r, "trigger"),
                                fmt_time(json_str(r, "created"), created),
                                fmt_duration(json_object_get(r, "duration"), dur),
                                json_str(r, "title"), json_str(r, "message")};
        if (all)
            table_row(&t, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6],
                      cells[7]);
        else
            table_row(&t, cells[0], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]);
    }
    list_print(&t, list, page, size, "runs");
    table_free(&t);
out:
    buf_free(&path);
    json_decref(job);
    json_decref(list);
    opts_free(&o);
    return rc;
}

static int run_show(int argc, char **argv)
{
    static const struct opt_spec spec[] = {SPEC_JSON, SPEC_END};
    static const char usage[] = "usage: sked run show RUN [--json]\n"
                                "\n"
                                "Shows a run. RUN is a run id (or a unique start of one).\n"
                                "\n"
                                "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked run show", usage, spec, "RUN", argc, argv);
    if (rc >= 0) return rc;
    json_t *run;
    if (!(rc = run_resolve(&o.cl, o.arg, &run))) {
        opts_has(&o, O_JSON) ? print_json(run) : print_run(&o.cl, run);
        json_decref(run);
    }
    opts_free(&o);
    return rc;
}

/* The body of a run that gets what run got: its arguments as custom args, exactly as it
 * received them (its since too, null included, which would otherwise resolve anew), its
 * window's end, title and queue (title and queue as the options change them). */
static json_t *again_body(const struct opts *o, const json_t *run)
{
    json_t *body = json_object();
    const char *title = opts_get(o, O_TITLE) ? opts_get(o, O_TITLE) : json_str(run, "title");
    const char *queue = opts_get(o, O_QUEUE) ? opts_get(o, O_QUEUE) : json_str(run, "queue");
    if (title) json_object_set_new(body, "title", json_string(title));
    if (queue) json_object_set_new(body, "queue", json_string(queue));
    const json_t *args = json_object_get(run, "args");
    if (json_is_object(args) && json_object_size(args) > 0)
        json_object_set(body, "custom_args", (json_t *)args);
    if (json_str(run, "until")) json_object_set_new(body, "until", json_string(json_str(run, "until")));
    return body;
}

static int run_again(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"title", 0, true, O_TITLE},
                                           {"queue", 0, true, O_QUEUE},
                                           {"wait", 'w', false, O_WAIT},
                                           SPEC_JSON,
                                           SPEC_END};
    static const char usage[] =
        "usage: sked run again RUN [--title T] [--queue Q] [--wait] [--json]\n"
        "\n"
        "Starts a new run of RUN's job with what RUN got: its arguments exactly as it received\n"
        "them (its since included, so the same window is processed again; sent as custom\n"
        "args), its until, title and queue. RUN is a run id (or a unique start of one).\n"
        "\n"
        "  --title T            a title for the new run instead of RUN's\n"
        "  --queue Q            run on this queue instead of RUN's\n"
        "  -w, --wait           follow the new run's log until it ends, and its retries to\n"
        "                       the last attempt when it fails; exit 0 only when that ended\n"
        "                       SUCCESS, else 1; Ctrl-C stops waiting (not the run), exit 130\n"
        "  --json               print the new run as JSON (with --wait: the ended run, and\n"
        "                       the log on stderr)\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked run again", usage, spec, "RUN", argc, argv);
    if (rc >= 0) return rc;
    json_t *run = NULL, *job = NULL, *body = NULL, *made = NULL;
    long status = 0;
    if ((rc = run_resolve(&o.cl, o.arg, &run))) goto out;
    /* a job deleted meanwhile (its runs go with it, the oldest first) is said so, rather than
     * as the server's 404 for the job */
    o.cl.status = &status;
    rc = client_get_quiet(&o.cl, &job, "/api/jobs/%s", json_str(run, "job_id"));
    o.cl.status = NULL;
    if (rc && status == 404) {
        fprintf(stderr,
                "sked run again: the job of run %s ('%s', %s) has been deleted: there is no job "
                "to run again\n",
                shown(json_str(run, "id")), shown(json_str(run, "job_title")),
                shown(json_str(run, "job_id")));
        rc = EXIT_FAIL;
        goto out;
    }
    if (rc && (rc = client_get(&o.cl, &job, "/api/jobs/%s", json_str(run, "job_id")))) goto out;
    body = again_body(&o, run);
    char *path = xasprintf("/api/jobs/%s/runs", json_str(job, "id"));
    rc = client_call(&o.cl, "POST", path, body, &made);
    free(path);
    if (rc) goto out;
    bool as_json = opts_has(&o, O_JSON);
    if (!opts_has(&o, O_WAIT)) {
        if (as_json) {
            print_json(made);
        } else {
            printf("started run %s (%s) of job %s, again as run %s\n", shown(json_str(made, "id")),
                   shown(json_str(made, "status")), shown(json_str(job, "title")),
                   shown(json_str(run, "id")));
            printf("follow it with: sked logs %s -f\n", shown(json_str(made, "id")));
        }
        goto out;
    }
    json_t *final = NULL;
    FILE *log = as_json ? stderr : stdout;
    rc = logs_follow(&o.cl, made, NULL, false, log, log, true, &final);
    if (as_json && final && !client_stopped()) print_json(final); /* the last attempt */
    json_decref(final);
out:
    json_decref(run);
    json_decref(job);
    json_decref(body);
    json_decref(made);
    opts_free(&o);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    static const struct verb verbs[] = {{"show", run_show}, {"again", run_again}, {NULL, NULL}};
    static const char usage[] = "usage: sked run COMMAND [ARGS]\n"
                                "\n"
                                "Commands:\n"
                                "  show RUN             show one run\n"
                                "  again RUN            start a new run with what RUN got (its\n"
                                "                       arguments, since included, until, title\n"
                                "                       and queue)\n"
                                "\n"
                                "See also 'sked runs JOB', 'sked logs RUN', 'sked stop RUN'.\n";
    return cli_group("sked run", usage, verbs, argc, argv);
}

/* Whether run has ended (a final status): nothing is left to stop. */
static bool ended(const json_t *run)
{
    int st = run_status_parse(json_str(run, "status"));
    return st >= 0 && run_status_terminal(st);
}

int cmd_stop(int argc, char **argv)
{
    static const struct opt_spec spec[] = {SPEC_JSON, SPEC_END};
    static const char usage[] =
        "usage: sked stop RUN [--json]\n"
        "\n"
        "Stops a queued or running run: the task is asked to stop and ends CANCELLED.\n"
        "A run being stopped already (CANCELLING), or that has ended (also while it was\n"
        "being stopped), is left so, with exit status 0: it does not run.\n"
        "RUN is a run id (or a unique start of one).\n"
        "\n"
        "  --json               print the run as JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked stop", usage, spec, "RUN", argc, argv);
    if (rc >= 0) return rc;
    json_t *run = NULL, *stopped = NULL;
    /* a run being stopped or ended already: what the caller asks is so, which is no failure */
    bool already = false;
    if (!(rc = run_resolve(&o.cl, o.arg, &run))) {
        const char *status = json_str(run, "status");
        if ((status && strcmp(status, "CANCELLING") == 0) || ended(run)) {
            stopped = json_incref(run);
            already = true;
        } else {
            char *path = xasprintf("/api/jobs/%s/runs/%s/actions/stop", json_str(run, "job_id"),
                                   json_str(run, "id"));
            /* refused when the run ended meanwhile: then it is said so; else the refusal */
            if ((rc = client_call_quiet(&o.cl, "POST", path, NULL, &stopped))) {
                json_t *now = NULL;
                if (client_get_quiet(&o.cl, &now, "/api/jobs/%s/runs/%s", json_str(run, "job_id"),
                                     json_str(run, "id")) == 0 &&
                    ended(now)) {
                    stopped = now;
                    already = true;
                    rc = 0;
                } else {
                    json_decref(now);
                    rc = client_call(&o.cl, "POST", path, NULL, &stopped);
                }
            }
            free(path);
        }
    }
    if (!rc) {
        const char *id = shown(json_str(stopped, "id"));
        const char *status = shown(json_str(stopped, "status"));
        if (opts_has(&o, O_JSON))
            print_json(stopped);
        else if (already && ended(stopped))
            printf("run %s has already ended: %s (nothing to stop)\n", id, status);
        else
            printf("run %s is %s\n", id, status);
    }
    json_decref(run);
    json_decref(stopped);
    opts_free(&o);
    return rc;
}
