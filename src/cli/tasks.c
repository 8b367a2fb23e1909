/* tasks: `sked tasks` - the job types the server knows, from /api/tasks; `sked queues` - the
 * queues they run on, from /api/queues, and pausing and resuming one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "commands.h"

enum { O_JSON, O_REASON, O_ALL };

int cmd_tasks(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"json", 0, false, O_JSON}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked tasks [--json]\n"
        "\n"
        "Lists the job types: what 'sked job create --task' takes, and their arguments.\n"
        "QUEUE is the queue their jobs get when created without --queue: the job type's,\n"
        "else the server's first queue.\n"
        "\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked tasks", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *list, *queues = NULL;
    if ((rc = client_get(&o.cl, &list, "/api/tasks"))) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
    } else {
        /* a job type that names no queue gives its jobs the server's first queue */
        const char *first = NULL;
        size_t k;
        json_t *q;
        if (client_get_quiet(&o.cl, &queues, "/api/queues") == 0)
            json_array_foreach(list_hits(queues), k, q)
            {
                const char *executor = json_str(q, "executor");
                if (executor && strcmp(executor, "local") == 0 &&
                    !json_is_true(json_object_get(q, "removed"))) {
                    first = json_str(q, "name");
                    break;
                }
            }
        struct table t;
        table_init(&t, 5, "ID", "TITLE", "QUEUE", "TIMEOUT", "ARGUMENTS");
        t.free_text = TABLE_COL(1) | TABLE_COL(4);
        size_t i;
        json_t *task;
        json_array_foreach(list_hits(list), i, task)
        {
            /* the argument names, which is what --arg needs */
            struct buf names = BUF_INIT;
            const char *name;
            json_t *prop;
            json_object_foreach(json_object_get(json_object_get(task, "arguments"), "properties"),
                                name, prop) buf_printf(&names, "%s%s", names.len ? ", " : "", name);
            const char *queue = json_str(task, "default_queue");
            table_row(&t, json_str(task, "id"), json_str(task, "title"), queue ? queue : first,
                      json_str(task, "timeout"), buf_cstr(&names));
            buf_free(&names);
        }
        if (t.nrows)
            table_print(&t, stdout);
        else
            printf("no job types (the server's tasks folder is empty)\n");
        table_free(&t);
    }
    json_decref(list);
    json_decref(queues);
out:
    opts_free(&o);
    return rc;
}

/* A count of a queue's entry as text: "-" when the server has none (a Celery broker out of
 * reach, a queue without slots of its own). */
static const char *count(const json_t *q, const char *key, char out[24])
{
    const json_t *v = json_object_get(q, key);
    if (!json_is_integer(v)) return "-";
    snprintf(out, 24, "%lld", (long long)json_integer_value(v));
    return out;
}

/* What a pause or a resume did, from the queue it answers: "was_paused" tells a repeated
 * call (which changes nothing, or a paused queue's reason) from a change. */
static void print_action(const json_t *q)
{
    const char *name = json_str(q, "name"), *why = json_str(q, "pause_reason");
    const json_t *was = json_object_get(q, "was_paused");
    if (json_is_true(json_object_get(q, "paused"))) {
        char at[TIMEBUF]; /* local time, as the tables show times */
        printf("queue %s %s paused (since %s by %s%s%s); %lld run(s) wait in it\n", shown(name),
               json_is_true(was) ? "was already" : "is", fmt_time(json_str(q, "paused_at"), at),
               json_str(q, "paused_by") ? shown(json_str(q, "paused_by")) : "the system",
               json_is_true(was) && why ? ", reason: " : "",
               json_is_true(was) && why ? shown(why) : "",
               (long long)json_integer_value(json_object_get(q, "queued")));
    } else if (json_is_false(was)) {
        printf("queue %s was not paused\n", shown(name));
    } else { /* its count may still hold the runs starting now: not shown */
        printf("queue %s runs\n", shown(name));
    }
}

/* POSTs the pause (with body) or resume of queue name; its answer into *q. */
static int queue_post(struct opts *o, const char *name, bool pause, const json_t *body, json_t **q)
{
    char *escaped = client_escape(name);
    char *path = xasprintf("/api/queues/%s/actions/%s", escaped, pause ? "pause" : "resume");
    int rc = client_call(&o->cl, "POST", path, body, q);
    free(escaped);
    free(path);
    return rc;
}

/* --all: every queue of the server's own that a pause can hold (not taken out of the settings),
 * or every paused one for a resume (a removed queue's too, so that its runs go). Each is
 * called even when one fails (a queue taken out meanwhile), each refusal naming its queue,
 * but a refusal of the caller (its token, its role) or a server out of reach, which would be
 * the same for every queue, ends it; the first failure's exit code is returned. */
static int queue_action_all(struct opts *o, bool pause, const json_t *body)
{
    json_t *list;
    int rc = client_get(&o->cl, &list, "/api/queues");
    if (rc) return rc;
    long status = 0;
    o->cl.status = &status;
    json_t *done = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(list_hits(list), i, q)
    {
        const char *executor = json_str(q, "executor");
        if (!executor || strcmp(executor, "local") != 0) continue; /* Celery's workers take those */
        if (pause ? json_is_true(json_object_get(q, "removed"))
                  : !json_is_true(json_object_get(q, "paused")))
            continue;
        json_t *answer = NULL;
        char *about = xasprintf("queue %s", shown(json_str(q, "name")));
        o->cl.about = about;
        int one = queue_post(o, json_str(q, "name"), pause, body, &answer);
        o->cl.about = NULL;
        free(about);
        if (one) {
            if (!rc) rc = one;
            if (one != EXIT_FAIL || status == 401 || status == 403) break;
            continue;
        }
        if (!opts_has(o, O_JSON)) print_action(answer);
        json_array_append_new(done, answer);
    }
    if (opts_has(o, O_JSON))
        print_json(done);
    else if (json_array_size(done) == 0 && !rc)
        printf(pause ? "no queue to pause\n" : "no queue is paused\n");
    json_decref(done);
    json_decref(list);
    return rc;
}

/* `sked queues pause QUEUE|--all [--reason TEXT]` and `sked queues resume QUEUE|--all`. */
static int queue_action(int argc, char **argv, bool pause)
{
    static const struct opt_spec pause_spec[] = {{"reason", 0, true, O_REASON},
                                                 {"all", 0, false, O_ALL},
                                                 {"json", 0, false, O_JSON},
                                                 {NULL, 0, false, 0}};
    static const struct opt_spec resume_spec[] = {
        {"all", 0, false, O_ALL}, {"json", 0, false, O_JSON}, {NULL, 0, false, 0}};
    static const char pause_usage[] =
        "usage: sked queues pause QUEUE|--all [--reason TEXT] [--json]\n"
        "\n"
        "Pauses one of the server's own queues: it starts none of its waiting runs, nor\n"
        "those started or scheduled meanwhile, until 'sked queues resume QUEUE'. Runs\n"
        "already running go on. The pause outlives restarts; pausing a paused queue\n"
        "changes at most its reason (with --reason). Needs the operator or admin role.\n"
        "\n"
        "  --all                every queue of the server's own (Celery queues are their\n"
        "                       workers' to pause); a refusal names its queue\n"
        "  --reason TEXT        why, shown with the queue (one line of 1 to 500 characters)\n"
        "  --json               print the queue as JSON (with --all, a list of them)\n" USAGE_COMMON;
    static const char resume_usage[] =
        "usage: sked queues resume QUEUE|--all [--json]\n"
        "\n"
        "Resumes a paused queue: its waiting runs start, oldest first, as its slots allow.\n"
        "Resuming a queue that runs changes nothing. Needs the operator or admin role.\n"
        "\n"
        "  --all                every paused queue (after 'sked serve --pause-queues', say)\n"
        "  --json               print the queue as JSON (with --all, a list of them)\n" USAGE_COMMON;
    const char *prog = pause ? "sked queues pause" : "sked queues resume";
    struct opts o;
    int rc = opts_parse_optional(&o, prog, pause ? pause_usage : resume_usage,
                                 pause ? pause_spec : resume_spec, "QUEUE", argc, argv);
    if (rc >= 0) return rc;
    json_t *body = NULL, *q = NULL;
    const char *reason = pause ? opts_get(&o, O_REASON) : NULL, *why = NULL;
    char whybuf[64];
    if (reason) body = json_pack("{s:s}", "reason", reason);
    if (!o.arg == !opts_has(&o, O_ALL)) {
        rc = usage_error(&o, o.arg ? "give QUEUE or --all, not both"
                                   : "missing QUEUE (a queue's name, or --all)");
    } else if (!o.arg && reason && (why = text_line_problem(reason, 500, whybuf, sizeof whybuf))) {
        /* checked once here rather than refused by the server for every queue */
        rc = usage_error(&o, "--reason %s", why);
    } else if (o.arg) {
        rc = queue_post(&o, o.arg, pause, body, &q);
        if (!rc) {
            if (opts_has(&o, O_JSON))
                print_json(q);
            else
                print_action(q);
        }
    } else {
        rc = queue_action_all(&o, pause, body);
    }
    json_decref(body);
    json_decref(q);
    opts_free(&o);
    return rc;
}

int cmd_queues(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "pause") == 0 || strcmp(argv[1], "resume") == 0))
        return queue_action(argc - 1, argv + 1, argv[1][0] == 'p');
    static const struct opt_spec spec[] = {{"json", 0, false, O_JSON}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked queues [--json]\n"
        "       sked queues pause QUEUE|--all [--reason TEXT]\n"
        "       sked queues resume QUEUE|--all\n"
        "\n"
        "Lists the queues runs wait in: for each, where its runs execute (local: this\n"
        "server's workers; celery: the Celery broker shown, its URL with its user name\n"
        "and without its password), its slots, the runs executing now and the runs waiting, and whether\n"
        "it is paused. A queue taken out of the settings is listed until its runs end.\n"
        "'pause' holds a queue's waiting runs until 'resume' (see their --help).\n"
        "\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked queues", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *list;
    if ((rc = client_get(&o.cl, &list, "/api/queues"))) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
    } else {
        struct table t;
        /* two Celery queues of one name on two brokers are two rows: the broker tells them
         * apart */
        table_init(&t, 7, "QUEUE", "EXECUTOR", "BROKER", "SLOTS", "BUSY", "QUEUED", "NOTE");
        t.free_text = TABLE_COL(6);
        size_t i;
        json_t *q;
        json_array_foreach(list_hits(list), i, q)
        {
            char slots[24], busy[24], queued[24];
            struct buf note = BUF_INIT;
            const json_t *workers = json_object_get(q, "workers");
            const char *why = json_str(q, "pause_reason");
            /* a removed queue may still be paused: its runs then wait for a resume */
            bool removed = json_is_true(json_object_get(q, "removed"));
            if (removed) buf_puts(&note, "removed: ends its runs");
            if (json_is_true(json_object_get(q, "paused"))) {
                buf_printf(&note, "%spaused by %s", removed ? "; " : "",
                           json_str(q, "paused_by") ? json_str(q, "paused_by") : "the system");
                if (why) buf_printf(&note, " (%s)", why);
            } else if (!removed && json_is_array(workers)) {
                /* a worker that said goodbye or stopped heart-beating is listed, not counted */
                size_t online = 0, k;
                json_t *w;
                json_array_foreach(workers, k, w) online += json_is_true(json_object_get(w, "online"));
                buf_printf(&note, "%zu worker(s)", online);
                if (online < json_array_size(workers))
                    buf_printf(&note, " (%zu offline)", json_array_size(workers) - online);
            }
            table_row(&t, json_str(q, "name"), json_str(q, "executor"), json_str(q, "broker"),
                      count(q, "concurrency", slots), count(q, "busy", busy),
                      count(q, "queued", queued), buf_cstr(&note));
            buf_free(&note);
        }
        if (t.nrows)
            table_print(&t, stdout);
        else
            printf("no queues\n");
        table_free(&t);
    }
    json_decref(list);
out:
    opts_free(&o);
    return rc;
}
