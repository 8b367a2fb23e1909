/*
 * job: `sked job list|show|create|update|delete|run|backfill|stop` (export and import: jobio.c) - jobs over
 * /api/jobs, and starting a run
 * of one (optionally waiting for it, which follows its log through logs.c). Jobs are named by
 * id, the start of one, or exact title, so people need not copy UUIDs around.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "commands.h"

/* clang-format off */
enum {
    O_JSON, O_Q, O_TASK, O_ACTIVE, O_INACTIVE, O_PAGE, O_SIZE, O_TITLE, O_DESC, O_QUEUE,
    O_ARG, O_ARGS_JSON, O_CUSTOM, O_CLEAR_CUSTOM, O_TIMEOUT, O_YES, O_SINCE, O_WAIT,
    O_RETRIES, O_BACKOFF, O_RETENTION, O_OVERLAP, O_CATCHUP, O_CATCHUP_LIMIT, O_NOTIFY_ON,
    O_NOTIFY_EMAIL, O_NOTIFY_WEBHOOK, O_ON_SUCCESS, O_UNTIL, O_FROM, O_TO, O_STEP, O_DRY_RUN,
    O_QUEUED, O_RUNNING, O_TRIGGER, O_ALERT, O_COUNT
};
_Static_assert(O_COUNT <= OPTS_MAX, "more options than struct opts holds");

#define SPEC_JSON {"json", 0, false, O_JSON}
#define SPEC_TITLE {"title", 0, true, O_TITLE}
#define SPEC_QUEUE {"queue", 0, true, O_QUEUE}
#define SPEC_ARG {"arg", 0, true, O_ARG, true}
#define SPEC_CUSTOM {"custom-args", 0, true, O_CUSTOM}
/* create and update share these; update adds --active and --clear-custom-args */
#define SPEC_JOB_FIELDS                                                                         \
    SPEC_TITLE, {"description", 0, true, O_DESC}, SPEC_QUEUE, {"inactive", 0, false, O_INACTIVE}, \
        SPEC_ARG, {"args-json", 0, true, O_ARGS_JSON}, SPEC_CUSTOM,                             \
        {"timeout", 0, true, O_TIMEOUT}, SPEC_JSON, {"retries", 0, true, O_RETRIES},          \
        {"retry-backoff", 0, true, O_BACKOFF}, {"retention", 0, true, O_RETENTION},            \
        {"overlap", 0, true, O_OVERLAP}, {"catchup", 0, true, O_CATCHUP},                      \
        {"catchup-limit", 0, true, O_CATCHUP_LIMIT},                                        \
        {"notify-on", 0, true, O_NOTIFY_ON, true},                                          \
        {"notify-email", 0, true, O_NOTIFY_EMAIL, true},                                    \
        {"notify-webhook", 0, true, O_NOTIFY_WEBHOOK, true},                                \
        {"on-success", 0, true, O_ON_SUCCESS, true}, {"alert-after", 0, true, O_ALERT}

#define USAGE_JOB_NAME                                                                      \
    "  --title T            the job's title (1 to 250 characters)\n"                         \
    "  --description D      what it is for\n"
#define USAGE_JOB_FIELDS                                                                    \
    "  --arg KEY=VALUE      a saved argument; VALUE is taken as JSON when it parses\n"       \
    "                       (5, true, null, \"5\", {...}), else as a string (a time in it\n"  \
    "                       without a zone is UTC, unlike --since's); repeatable\n"         \
    "  --args-json JSON     all saved arguments as one JSON object (@FILE: read from\n"      \
    "                       FILE, @- from standard input)\n"                               \
    "  --custom-args JSON   a JSON object handed to the task as is, instead of the\n"       \
    "                       arguments (@FILE, @- as for --args-json)\n"
#define USAGE_JOB_POLICIES                                                                  \
    "  --retries N          how many more attempts a failed run gets (0 to 100)\n"          \
    "  --retry-backoff DUR  the wait before the first retry, doubled for each further\n"   \
    "                       one (30s unless set; at most 1h)\n"                              \
    "  --overlap POLICY     when its schedule fires while a run of it is still going:\n"   \
    "                       allow, skip, queue_one or cancel_previous\n"                     \
    "  --catchup POLICY     the fires missed while sked was down: once, skip or all\n"     \
    "  --catchup-limit N    at most N missed fires with --catchup all (1 to 10000)\n"      \
    "  --notify-on S,...    the final statuses that notify: SUCCESS, PARTIAL_SUCCESS,\n"   \
    "                       FAILED, CANCELLED, WARNING (none: no status)\n"                  \
    "  --notify-email ADDR  an address to e-mail then; repeatable (none: no address)\n"    \
    "  --notify-webhook URL an http(s) URL that gets a signed POST then; repeatable\n"     \
    "                       (none: no URL)\n"                                                \
    "  --on-success JOB     a job to start when a run of this one succeeds (its id, the\n" \
    "                       start of one, or its title); repeatable (none: no job)\n"      \
    "  --alert-after DUR    tell its e-mails and webhooks when it has not succeeded for\n" \
    "                       DUR (26h), and again when it succeeds (none: no alert)\n"
#define USAGE_JOB_JSON "  --json               print the job as JSON\n"
/* clang-format on */

static const char job_usage[] =
    "usage: sked job COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  list                 list jobs\n"
    "  show JOB             show one job\n"
    "  create               create a job\n"
    "  update JOB           change a job\n"
    "  delete JOB           delete a job and its runs\n"
    "  run JOB              start a run of a job\n"
    "  backfill JOB         run a job once per window of a past range\n"
    "  stop JOB             stop a job's queued and running runs\n"
    "  schedule JOB         set or remove a job's schedule\n"
    "  export               write every job to a JSON file\n"
    "  import FILE          create and update jobs from such a file\n"
    "\n"
    "JOB is a job id, its start as 'sked job list' shows it, or a job's exact title.\n"
    "See 'sked job COMMAND --help'.\n";

/* ---- helpers ---- */

static const char *yes_no(const json_t *v)
{
    return json_is_true(v) ? "yes" : "no";
}

/* The text of FILE (- for standard input) into b, at most 64 MiB (a device that never ends,
 * /dev/zero, is refused rather than read forever): 0, or -errno. */
static int read_text(const char *path, struct buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) return -errno;
    char chunk[65536];
    size_t n;
    int rc = 0;
    errno = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b->len + n > 64u << 20) rc = -EFBIG;
        buf_append(b, chunk, n);
    }
    if (!rc && ferror(f)) rc = errno ? -errno : -EIO; /* EISDIR: a folder opens, and reads not */
    if (f != stdin) fclose(f);
    return rc;
}

/* --args-json / --custom-args: a JSON object, with a parse error that says where; @FILE (@-:
 * standard input) reads it from a file, for objects longer than a command line takes
 * (128 KiB an argument on Linux). */
static int opt_object(const struct opts *o, int id, const char *name, json_t **out)
{
    const char *v = opts_get(o, id);
    *out = NULL;
    if (!v) return 0;
    struct buf text = BUF_INIT;
    if (v[0] == '@') {
        int rc = read_text(v + 1, &text);
        if (rc) {
            buf_free(&text);
            return usage_error(o, "--%s %s: cannot read it: %s", name, v, strerror(-rc));
        }
        v = buf_cstr(&text);
    }
    struct sk_err e = {0};
    json_t *j = json_parse(v, strlen(v), name, &e);
    buf_free(&text);
    if (!j) return usage_error(o, "--%s: %s", name, e.msg);
    if (!json_is_object(j)) {
        json_decref(j);
        return usage_error(o, "--%s must be a JSON object such as {\"key\": 1}", name);
    }
    *out = j;
    return 0;
}

/* Sets every --arg KEY=VALUE into args. */
static int opt_arg_pairs(const struct opts *o, json_t *args)
{
    for (size_t i = 0; i < o->nvals[O_ARG]; i++) {
        const char *kv = o->vals[O_ARG][i], *eq = strchr(kv, '=');
        if (!eq || eq == kv) return usage_error(o, "--arg needs KEY=VALUE, not '%s'", kv);
        char *key = xstrndup(kv, (size_t)(eq - kv));
        /* numbers, booleans, null, quoted strings and objects mean what they say; anything
         * else is the plain text people expect (--arg mode=update) */
        json_error_t err;
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &err);
        if (!v && (strstr(err.text, "too big") || strstr(err.text, "overflow"))) {
            /* a number, but none JSON can hold: not the text of one either */
            free(key);
            return usage_error(o, "--arg %.60s: the number is out of range (whole numbers go from "
                                  "-9223372036854775808 to 9223372036854775807, others to about "
                                  "1.8e308)",
                               kv);
        }
        if (!v) v = json_string(eq + 1);
        if (!v) {
            free(key);
            return usage_error(o, "--arg %s: the value is not valid UTF-8", kv);
        }
        json_object_set_new(args, key, v);
        free(key);
    }
    return 0;
}

/* A whole-number option into b's field: what is no whole number is a usage error (exit 2);
 * its range is the server's to check, which names the option in what it refuses (client.c). */
static int opt_whole(const struct opts *o, int id, const char *field, json_t *b)
{
    const char *v = opts_get(o, id);
    if (!v) return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno == ERANGE)
        return usage_error(o, "--%s: expected a whole number, such as 3, not '%s'", opt_name(o, id),
                           v);
    json_object_set_new(b, field, json_integer(n));
    return 0;
}

/* A list option (repeatable, or with commas when split) as a JSON array of strings; "none"
 * alone is the empty list. */
static json_t *opt_list(const struct opts *o, int id, bool split)
{
    json_t *a = json_array();
    for (size_t i = 0; i < o->nvals[id]; i++) {
        const char *v = o->vals[id][i];
        if (strcmp(v, "none") == 0 && o->nvals[id] == 1) break;
        char *copy = xstrdup(v), *save = NULL;
        for (char *s = split ? strtok_r(copy, ",", &save) : copy; s;
             s = split ? strtok_r(NULL, ",", &save) : NULL) {
            while (*s == ' ') s++;
            size_t n = strlen(s);
            while (n && s[n - 1] == ' ') s[--n] = '\0';
            if (n || !split) json_array_append_new(a, json_string(s));
        }
        free(copy);
    }
    return a;
}

/* --on-success: the jobs named (by id, its start or title) as their ids, or "none". */
static int opt_jobs(const struct opts *o, int id, json_t **out)
{
    *out = json_array();
    for (size_t i = 0; i < o->nvals[id]; i++) {
        const char *ref = o->vals[id][i];
        if (strcmp(ref, "none") == 0 && o->nvals[id] == 1) break;
        json_t *j;
        int rc = job_resolve(&o->cl, ref, &j);
        if (rc) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
        json_array_append_new(*out, json_string(json_str(j, "id")));
        json_decref(j);
    }
    return 0;
}

/* Refuses arguments a task would never get (what names the options that give them): beside
 * custom args given now (custom), or beside those saved on job (NULL: none), which its runs get
 * instead; instead says what to do. Returns 0 or EXIT_USAGE. */
static int args_unused(const struct opts *o, const char *what, bool custom, const json_t *job,
                       const char *instead)
{
    if (custom)
        return usage_error(o, "--custom-args are handed to the task as they are: %s do not apply "
                              "to them; give one or the other",
                           what);
    if (json_object_size(json_object_get(job, "custom_args")) > 0)
        return usage_error(o, "job '%s' has saved custom args, which its runs get instead of "
                              "their arguments: %s would not apply; %s",
                           shown(json_str(job, "title")), what, instead);
    return 0;
}

/* A duration option (90s, 30m) into field of b, its word (none, default) as null: the default
 * that meaning names. Returns 0 or EXIT_USAGE. */
static int opt_duration(const struct opts *o, int id, const char *field, const char *word,
                        const char *meaning, json_t *b)
{
    const char *v = opts_get(o, id), *why;
    int64_t ms;
    if (!v) return 0;
    if (word && strcmp(v, word) == 0) {
        json_object_set_new(b, field, json_null());
        return 0;
    }
    if (duration_parse(v, &ms, &why) != 0) {
        if (!word) return usage_error(o, "--%s: %s", opt_name(o, id), why);
        return usage_error(o, "--%s: %s, or '%s' for %s", opt_name(o, id), why, word, meaning);
    }
    json_object_set_new(b, field, json_string(v));
    return 0;
}

/* The saved arguments of a job, without the custom args the API folds into them. */
static json_t *saved_args(const json_t *job)
{
    json_t *a = json_object_get(job, "args");
    json_t *copy = json_is_object(a) ? json_deep_copy(a) : json_object();
    json_object_del(copy, "custom_args");
    return copy;
}

/* Appends to found the jobs of every page of /api/jobs (with query, already escaped) that keep
 * returns true for. */
static int jobs_where(const struct client *c, const char *query, const char *ref,
                      bool (*keep)(const json_t *job, const char *ref), json_t *found)
{
    char *path = xasprintf("/api/jobs?%ssize=1000", query);
    while (path) {
        json_t *list;
        int rc = client_get(c, &list, "%s", path);
        free(path);
        if (rc) return rc;
        json_t *hits = list_hits(list);
        size_t i;
        json_t *j;
        json_array_foreach(hits, i, j) if (keep(j, ref)) json_array_append(found, j);
        path = json_array_size(hits) > 0 ? list_next(list) : NULL;
        json_decref(list);
    }
    return 0;
}

static bool title_is(const json_t *job, const char *ref)
{
    const char *title = json_str(job, "title");
    return title && strcmp(title, ref) == 0;
}

static bool id_starts(const json_t *job, const char *ref)
{
    const char *id = json_str(job, "id");
    return id && strncasecmp(id, ref, strlen(ref)) == 0;
}

/* Whether ref may be the start of an id as 'sked job list' shows it: 4 or more of its
 * characters. */
static bool id_prefix(const char *ref)
{
    size_t len = strlen(ref);
    bool ok = len >= 4 && len < UUID_STR_LEN - 1;
    for (const char *p = ref; ok && *p; p++) ok = isxdigit((unsigned char)*p) || *p == '-';
    return ok;
}

int job_resolve(const struct client *c, const char *ref, json_t **job)
{
    *job = NULL;
    if (uuid_valid(ref)) {
        /* the server stores ids in lower case and matches them exactly */
        char id[UUID_STR_LEN];
        for (size_t i = 0; i < sizeof id; i++)
            id[i] = (char)tolower((unsigned char)ref[i]);
        return client_get(c, job, "/api/jobs/%s", id);
    }
    /* the API's q is a substring search over titles and descriptions: keep the exact titles;
     * then, for what may be the start of an id, the jobs whose id starts so */
    char *q = client_escape(ref);
    struct buf query = BUF_INIT;
    buf_printf(&query, "q=%s&", q);
    free(q);
    json_t *found = json_array(), *ids = json_array();
    int rc = jobs_where(c, query.data, ref, title_is, found);
    buf_free(&query);
    /* a title that is also the start of another job's id names neither: a delete or an update
     * of the wrong job is worse than a question */
    if (!rc && id_prefix(ref)) {
        char *by_id = xasprintf("id_prefix=%s&", ref); /* hex digits and dashes: no escapes */
        rc = jobs_where(c, by_id, ref, id_starts, ids);
        free(by_id);
    }
    bool by_id = !rc && json_array_size(found) == 0 && json_array_size(ids) > 0;
    if (!rc && json_array_size(found) && json_array_size(ids) &&
        (json_array_size(found) > 1 || json_array_size(ids) > 1 ||
         strcmp(json_str(json_array_get(found, 0), "id"),
                json_str(json_array_get(ids, 0), "id")))) {
        fprintf(stderr, "sked: '%s' is the title of %s and the start of the id of %s; give a "
                        "whole id:\n",
                ref, json_array_size(found) > 1 ? "several jobs" : "a job",
                json_array_size(ids) > 1 ? "others" : "another");
        size_t i;
        json_t *j;
        json_array_foreach(found, i, j)
            fprintf(stderr, "  %s  (title '%s')\n", json_str(j, "id"), ref);
        json_array_foreach(ids, i, j) fprintf(stderr, "  %s\n", json_str(j, "id"));
        json_decref(found);
        json_decref(ids);
        return EXIT_FAIL;
    }
    if (by_id) {
        json_decref(found);
        found = ids;
    } else {
        json_decref(ids);
    }
    if (!rc && json_array_size(found) == 0) {
        fprintf(stderr,
                "sked: no job has the title '%s'%s; give a job id, the start of one (4 "
                "characters or more) or an exact title (see 'sked job list')\n",
                ref, id_prefix(ref) ? " or an id starting so" : "");
        rc = EXIT_FAIL;
    } else if (!rc && json_array_size(found) > 1) {
        fprintf(stderr, "sked: %zu jobs have %s '%s'; give one of their ids:\n",
                json_array_size(found), by_id ? "ids starting with" : "the title", ref);
        size_t i;
        json_t *j;
        json_array_foreach(found, i, j) fprintf(stderr, "  %s\n", json_str(j, "id"));
        rc = EXIT_FAIL;
    } else if (!rc) {
        /* the job itself, not its list item: what GET /api/jobs/{id} answers (a list item
         * carries other keys, such as an empty last_run) */
        rc = client_get(c, job, "/api/jobs/%s", json_str(json_array_get(found, 0), "id"));
    }
    json_decref(found);
    return rc;
}

/* A schedule in a few words, as the web admin says it: "cron 0 3 * * 1-5 (Europe/Zurich)",
 * "every 4 hours 30 minutes", "crontab 0 3 * * *"; JSON for a shape it does not know. */
static char *schedule_words(const json_t *s)
{
    if (!json_is_object(s)) return NULL;
    const char *type = json_str(s, "type"), *tz = json_str(s, "timezone");
    struct buf b = BUF_INIT;
    if (type && strcmp(type, "interval") == 0) {
        static const struct {
            const char *key, *unit;
            int64_t s;
        } units[] = {{"weeks", "week", 604800}, {"days", "day", 86400}, {"hours", "hour", 3600},
                     {"minutes", "minute", 60}, {"seconds", "second", 1}};
        /* the interval in whole seconds, as the scheduler rounds it, then in the largest units;
         * a field may be a real (300.0, as Python's total_seconds() gives it) */
        double us = json_number_value(json_object_get(s, "milliseconds")) * 1000 +
                    json_number_value(json_object_get(s, "microseconds"));
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            us += json_number_value(json_object_get(s, units[i].key)) * (double)units[i].s * 1e6;
        int64_t total = (int64_t)(us / 1e6 + 0.5);
        buf_puts(&b, "every");
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            int64_t n = total / units[i].s;
            total -= n * units[i].s;
            if (n) buf_printf(&b, " %lld %s%s", (long long)n, units[i].unit, n == 1 ? "" : "s");
        }
    } else if (type && strcmp(type, "crontab") == 0) {
        /* the fields set, named, as --crontab takes them: five bare values would read as a
         * cron line, whose two day fields mean either day where a crontab's mean both */
        static const char *const keys[] = {"minute", "hour", "day_of_week", "day_of_month",
                                           "month_of_year"};
        buf_puts(&b, "crontab");
        size_t before = b.len;
        for (size_t i = 0; i < 5; i++) {
            const json_t *v = json_object_get(s, keys[i]);
            if (json_is_number(v)) /* 3 or 3.0 */
                buf_printf(&b, " %s=%.15g", keys[i], json_number_value(v));
            else if (json_is_string(v))
                buf_printf(&b, " %s=%s", keys[i], json_string_value(v));
        }
        if (b.len == before) buf_puts(&b, " minute=*");
    } else if (type && strcmp(type, "cron") == 0 && json_str(s, "expression")) {
        buf_printf(&b, "cron %s", json_str(s, "expression"));
    } else {
        char *text = json_dumps(s, JSON_COMPACT);
        buf_puts(&b, text ? text : "?");
        free(text);
        return buf_steal(&b);
    }
    if (tz && strcmp(tz, "UTC") != 0) buf_printf(&b, " (%s)", tz);
    if (json_str(s, "jitter")) buf_printf(&b, ", up to %s later", json_str(s, "jitter"));
    return buf_steal(&b);
}

/* "a@example.org, https://hooks.example.org/… on FAILED, CANCELLED", or NULL when none. */
static char *notify_words(const json_t *j)
{
    const json_t *statuses = json_object_get(j, "notification_statuses");
    if (!json_array_size(statuses)) return NULL;
    struct buf b = BUF_INIT;
    const char *keys[] = {"notification_emails", "notification_webhooks"};
    size_t n = 0, i;
    json_t *v;
    for (size_t k = 0; k < 2; k++)
        json_array_foreach(json_object_get(j, keys[k]), i, v)
            buf_printf(&b, "%s%s", n++ ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
    if (!n) {
        buf_free(&b);
        return NULL;
    }
    buf_puts(&b, " on");
    json_array_foreach(statuses, i, v)
        buf_printf(&b, "%s %s", i ? "," : "", json_is_string(v) ? json_string_value(v) : "?");
    return buf_steal(&b);
}

/* A job's timeout as its runs get it: its own, else its job type's ("6h (the job type's)"),
 * else none; NULL when the job type cannot be read. Caller frees. */
static char *timeout_words(const struct client *c, const json_t *j)
{
    const char *own = json_str(j, "timeout");
    if (own) return xstrdup(own);
    json_t *task = NULL;
    char *task_id = client_escape(json_str(j, "task") ? json_str(j, "task") : "");
    char *words = NULL;
    if (client_get_quiet(c, &task, "/api/tasks/%s", task_id) == 0) {
        const char *theirs = json_str(task, "timeout");
        words = theirs ? xasprintf("%s (the job type's)", theirs) : xstrdup("none");
    }
    json_decref(task);
    free(task_id);
    return words;
}

/* The job's newest finished runs in figures (GET /api/jobs/{id}/stats), or NULL when the server
 * has none to give. */
static json_t *recent_runs(const struct client *cl, const char *id)
{
    json_t *st = NULL;
    if (client_get_quiet(cl, &st, "/api/jobs/%s/stats", id) == 0) return st;
    json_decref(st);
    return NULL;
}

/* Those figures in one line, or none when the job has no finished run. */
static void print_recent(const struct client *cl, const char *id)
{
    json_t *st = recent_runs(cl, id);
    json_int_t n = json_integer_value(json_object_get(st, "runs"));
    if (n > 0) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "the last %lld:", (long long)n);
        const json_t *rate = json_object_get(st, "success_rate");
        if (json_is_number(rate))
            buf_printf(&b, " %.0f%% succeeded", json_number_value(rate) * 100);
        buf_puts(&b, " (");
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach(json_object_get(st, "statuses"), k, v)
        {
            buf_printf(&b, "%s%s %lld", first ? "" : ", ", k, (long long)json_integer_value(v));
            first = false;
        }
        buf_puts(&b, ")");
        const json_t *d = json_object_get(st, "duration_seconds");
        if (json_is_object(d)) {
            char p50[TIMEBUF], p95[TIMEBUF], max[TIMEBUF];
            buf_printf(&b, "; took %s (median), %s (p95), %s at most",
                       fmt_duration(json_object_get(d, "p50"), p50),
                       fmt_duration(json_object_get(d, "p95"), p95),
                       fmt_duration(json_object_get(d, "max"), max));
        }
        kv_line(stdout, "Recent runs", buf_cstr(&b));
        buf_free(&b);
    }
    json_decref(st);
}

static void print_job(const struct client *c, const json_t *j)
{
    char t[TIMEBUF], ago[TIMEBUF];
    kv_print(stdout, "ID", json_str(j, "id"));
    kv_line(stdout, "Title", json_str(j, "title"));
    kv_print(stdout, "Description", json_str(j, "description"));
    kv_line(stdout, "Task", json_str(j, "task"));
    kv_line(stdout, "Queue", json_str(j, "default_queue"));
    kv_print(stdout, "Active", yes_no(json_object_get(j, "active")));
    char *words = schedule_words(json_object_get(j, "schedule"));
    kv_line(stdout, "Schedule", words);
    free(words);
    words = timeout_words(c, j);
    kv_line(stdout, "Timeout", words);
    free(words);
    kv_print(stdout, "Overlap", json_str(j, "overlap"));
    const char *catchup = json_str(j, "catchup");
    words = catchup && strcmp(catchup, "all") == 0
                ? xasprintf("all (at most %lld)",
                            (long long)json_integer_value(json_object_get(j, "catchup_limit")))
                : NULL;
    kv_print(stdout, "Catch-up", words ? words : catchup);
    free(words);
    json_int_t skipped = json_integer_value(json_object_get(j, "skipped_fires"));
    if (skipped > 0) {
        words = xasprintf("%lld", (long long)skipped);
        kv_print(stdout, "Skipped fires", words);
        free(words);
    }
    json_int_t retries = json_integer_value(json_object_get(j, "max_retries"));
    words = retries > 0 ? xasprintf("%lld (the first after %s, then twice as long each time)",
                                    (long long)retries, json_str(j, "retry_backoff"))
                        : NULL;
    kv_print(stdout, "Retries", words ? words : "none");
    free(words);
    const char *keep = json_str(j, "retention");
    kv_print(stdout, "Retention", keep ? keep : "the server's");
    const char *alert = json_str(j, "alert_after"), *overdue = json_str(j, "overdue_since");
    char since[TIMEBUF];
    words = !alert     ? NULL
            : overdue ? xasprintf("after %s without a success (overdue since %s)", alert,
                                  fmt_time(overdue, since))
                      : xasprintf("after %s without a success", alert);
    kv_print(stdout, "Alert", words ? words : "none");
    free(words);
    words = notify_words(j);
    kv_line(stdout, "Notify", words);
    free(words);
    json_t *args = saved_args(j);
    kv_json(stdout, "Args", args);
    json_decref(args);
    kv_json(stdout, "Custom args", json_object_get(j, "custom_args"));
    const json_t *next = json_object_get(j, "on_success");
    if (json_array_size(next)) { /* the jobs it starts, by title as --on-success takes them */
        struct buf b = BUF_INIT;
        size_t i;
        json_t *v;
        json_array_foreach(next, i, v)
        {
            const char *id = json_string_value(v);
            json_t *other = NULL;
            char sid[16];
            if (i) buf_puts(&b, ", ");
            if (id && client_get_quiet(c, &other, "/api/jobs/%s", id) == 0)
                buf_printf(&b, "%s (%s)", json_str(other, "title"), short_id(id, sid));
            else
                buf_puts(&b, id ? id : "?");
            json_decref(other);
        }
        kv_line(stdout, "On success", buf_cstr(&b));
        buf_free(&b);
    }
    kv_print(stdout, "Next run", fmt_time(json_str(j, "next_run"), t));
    json_t *last = json_object_get(j, "last_run");
    if (json_str(last, "id")) {
        char *s = xasprintf("%s %s (%s)", json_str(last, "id"), json_str(last, "status"),
                            fmt_ago(json_str(last, "created"), ago));
        kv_line(stdout, "Last run", s);
        free(s);
        print_recent(c, json_str(j, "id"));
    } else {
        kv_print(stdout, "Last run", NULL);
    }
    kv_print(stdout, "Created", fmt_time(json_str(j, "created"), t));
    kv_print(stdout, "Updated", fmt_time(json_str(j, "updated"), t));
}

/* ---- list, show ---- */

static int job_list(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"q", 0, true, O_Q},
                                           {"task", 0, true, O_TASK},
                                           {"active", 0, false, O_ACTIVE},
                                           {"inactive", 0, false, O_INACTIVE},
                                           {"page", 0, true, O_PAGE},
                                           {"size", 0, true, O_SIZE},
                                           SPEC_JSON,
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job list [--q TEXT] [--task TASK] [--active|--inactive]\n"
        "                     [--page N] [--size N] [--json]\n"
        "\n"
        "Lists jobs by title.\n"
        "\n"
        "  --q TEXT             only jobs whose title or description contains TEXT\n"
        "  --task TASK          only jobs of this job type\n"
        "  --active, --inactive only active or inactive jobs\n"
        "  --page N, --size N   which page, of how many jobs (default 1 and 25, at most 1000)\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job list", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    long page, size;
    if ((rc = opts_page(&o, O_PAGE, O_SIZE, &page, &size))) goto out;
    if (opts_has(&o, O_ACTIVE) && opts_has(&o, O_INACTIVE)) {
        rc = usage_error(&o, "--active and --inactive exclude each other");
        goto out;
    }
    struct buf path = BUF_INIT;
    buf_printf(&path, "/api/jobs?page=%ld&size=%ld", page, size);
    static const struct {
        int id;
        const char *param;
    } filters[] = {{O_Q, "q"}, {O_TASK, "task"}};
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        const char *v = opts_get(&o, filters[i].id);
        if (!v) continue;
        char *e = client_escape(v);
        buf_printf(&path, "&%s=%s", filters[i].param, e);
        free(e);
    }
    if (opts_has(&o, O_ACTIVE) || opts_has(&o, O_INACTIVE))
        buf_printf(&path, "&active=%s", opts_has(&o, O_ACTIVE) ? "true" : "false");
    json_t *list;
    rc = client_get_page(&o.cl, &list, size, buf_cstr(&path));
    buf_free(&path);
    if (rc) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
    } else {
        struct table t;
        table_init(&t, 7, "ID", "TITLE", "TASK", "QUEUE", "ACTIVE", "LAST RUN", "NEXT RUN");
        t.free_text = TABLE_COL(1);
        size_t i;
        json_t *j;
        json_array_foreach(list_hits(list), i, j)
        {
            char id[16], ago[TIMEBUF], next[TIMEBUF];
            struct buf last = BUF_INIT;
            json_t *lr = json_object_get(j, "last_run");
            if (json_str(lr, "status"))
                buf_printf(&last, "%s %s", json_str(lr, "status"),
                           fmt_ago(json_str(lr, "created"), ago));
            table_row(&t, short_id(json_str(j, "id"), id), json_str(j, "title"),
                      json_str(j, "task"), json_str(j, "default_queue"),
                      yes_no(json_object_get(j, "active")), buf_cstr(&last),
                      fmt_time(json_str(j, "next_run"), next));
            buf_free(&last);
        }
        list_print(&t, list, page, size, "jobs");
        table_free(&t);
    }
    json_decref(list);
out:
    opts_free(&o);
    return rc;
}

static int job_show(int argc, char **argv)
{
    static const struct opt_spec spec[] = {SPEC_JSON, {NULL, 0, false, 0}};
    static const char usage[] = "usage: sked job show JOB [--json]\n"
                                "\n"
                                "Shows a job, and sums up its newest 100 finished runs (how many\n"
                                "succeeded, how long they took). JOB is its id, the start of it, or\n"
                                "its exact title.\n"
                                "\n"
                                "  --json               print the API's JSON of the job, with\n"
                                "                       \"recent\": those figures as GET\n"
                                "                       /api/jobs/{id}/stats gives them\n"
                                USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job show", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    json_t *job;
    rc = job_resolve(&o.cl, o.arg, &job);
    if (!rc && opts_has(&o, O_JSON)) {
        /* the job as the API has it, and what the view sums up of its runs */
        json_t *recent = recent_runs(&o.cl, json_str(job, "id"));
        json_object_set_new(job, "recent", recent ? recent : json_null());
        print_json(job);
    } else if (!rc) {
        print_job(&o.cl, job);
    }
    if (!rc) json_decref(job);
    opts_free(&o);
    return rc;
}

/* ---- create, update ---- */

/*
 * The body of a create (job NULL) or a PATCH of job from the options. Saved arguments given
 * with --arg alone are merged into the job's current ones: changing one argument should not
 * silently drop the others.
 */
static int job_body(const struct opts *o, const json_t *job, json_t **out)
{
    json_t *b = json_object(), *args = NULL, *custom = NULL;
    int rc;
    *out = NULL;
    if (opts_has(o, O_ACTIVE) && opts_has(o, O_INACTIVE)) {
        rc = usage_error(o, "--active and --inactive exclude each other");
        goto fail;
    }
    if (opts_has(o, O_CUSTOM) && opts_has(o, O_CLEAR_CUSTOM)) {
        rc = usage_error(o, "--custom-args and --clear-custom-args exclude each other");
        goto fail;
    }
    if ((rc = opt_object(o, O_ARGS_JSON, "args-json", &args)) ||
        (rc = opt_object(o, O_CUSTOM, "custom-args", &custom)))
        goto fail;
    static const struct {
        int id;
        const char *field;
    } strings[] = {{O_TITLE, "title"},
                   {O_TASK, "task"},
                   {O_DESC, "description"},
                   {O_QUEUE, "default_queue"},
                   {O_OVERLAP, "overlap"},
                   {O_CATCHUP, "catchup"}};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        const char *v = opts_get(o, strings[i].id);
        if (!v) continue;
        json_t *s = json_string(v);
        if (!s) {
            rc = usage_error(o, "the value of --%s is not valid UTF-8", strings[i].field);
            goto fail;
        }
        json_object_set_new(b, strings[i].field, s);
    }
    if ((rc = opt_duration(o, O_TIMEOUT, "timeout", "none", "the job type's timeout", b)) ||
        (rc = opt_duration(o, O_RETENTION, "retention", "default", "the server's retention", b)) ||
        (rc = opt_duration(o, O_BACKOFF, "retry_backoff", NULL, NULL, b)) ||
        (rc = opt_duration(o, O_ALERT, "alert_after", "none", "never", b)) ||
        (rc = opt_whole(o, O_RETRIES, "max_retries", b)) ||
        (rc = opt_whole(o, O_CATCHUP_LIMIT, "catchup_limit", b)))
        goto fail;
    if (opts_has(o, O_ACTIVE) || opts_has(o, O_INACTIVE))
        json_object_set_new(b, "active", json_boolean(opts_has(o, O_ACTIVE)));
    /* the policies: the server checks them and names the option in what it refuses */
    if (opts_has(o, O_NOTIFY_ON))
        json_object_set_new(b, "notification_statuses", opt_list(o, O_NOTIFY_ON, true));
    if (opts_has(o, O_NOTIFY_EMAIL))
        json_object_set_new(b, "notification_emails", opt_list(o, O_NOTIFY_EMAIL, false));
    if (opts_has(o, O_NOTIFY_WEBHOOK))
        json_object_set_new(b, "notification_webhooks", opt_list(o, O_NOTIFY_WEBHOOK, false));
    if (opts_has(o, O_ON_SUCCESS)) {
        json_t *ids;
        if ((rc = opt_jobs(o, O_ON_SUCCESS, &ids))) goto fail;
        json_object_set_new(b, "on_success", ids);
    }
    if (args || opts_has(o, O_ARG)) {
        /* custom args that stay (given, or saved and not cleared) leave the arguments unused */
        if ((rc = args_unused(o, "--arg and --args-json", custom != NULL,
                              opts_has(o, O_CLEAR_CUSTOM) ? NULL : job,
                              "drop them with --clear-custom-args (in the same command), or "
                              "change them with --custom-args")))
            goto fail;
        if (!args) args = job ? saved_args(job) : json_object();
        if ((rc = opt_arg_pairs(o, args))) goto fail;
        json_object_set(b, "args", args);
    }
    if (custom) json_object_set(b, "custom_args", custom);
    if (opts_has(o, O_CLEAR_CUSTOM)) json_object_set_new(b, "custom_args", json_null());
    json_decref(args);
    json_decref(custom);
    *out = b;
    return 0;
fail:
    json_decref(args);
    json_decref(custom);
    json_decref(b);
    return rc;
}

static int job_create(int argc, char **argv)
{
    static const struct opt_spec spec[] = {
        {"task", 0, true, O_TASK}, SPEC_JOB_FIELDS, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job create --title T --task TASK [OPTIONS]\n"
        "\n"
        "Creates a job of a job type (see 'sked tasks').\n"
        "\n"
        "  --task TASK          the job type\n" USAGE_JOB_NAME
        "  --inactive           create it inactive (its schedule does not fire)\n"
        "  --queue Q            its default queue (default: the job type's, else the\n"
        "                       server's first queue; see 'sked tasks')\n"
        "  --timeout DUR        stop its runs after DUR (90s, 30m, 2h, 1d; default: the\n"
        "                       job type's)\n"
        "  --retention DUR      keep its finished runs DUR (at least 1m; default: the\n"
        "                       server's --retention)\n" USAGE_JOB_FIELDS USAGE_JOB_POLICIES
        USAGE_JOB_JSON USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job create", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *body = NULL, *job = NULL;
    if (!opts_get(&o, O_TITLE))
        rc = usage_error(&o, "--title is required");
    else if (!opts_get(&o, O_TASK))
        rc = usage_error(&o, "--task is required (see 'sked tasks')");
    else if (!(rc = job_body(&o, NULL, &body)))
        rc = client_call(&o.cl, "POST", "/api/jobs", body, &job);
    if (!rc) {
        if (opts_has(&o, O_JSON))
            print_json(job);
        else
            printf("created job %s (%s)\n", shown(json_str(job, "id")), shown(json_str(job, "title")));
    }
    json_decref(body);
    json_decref(job);
    opts_free(&o);
    return rc;
}

static int job_update(int argc, char **argv)
{
    static const struct opt_spec spec[] = {SPEC_JOB_FIELDS,
                                           {"active", 0, false, O_ACTIVE},
                                           {"clear-custom-args", 0, false, O_CLEAR_CUSTOM},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job update JOB [OPTIONS]\n"
        "\n"
        "Changes the given fields of a job and leaves the others alone. --arg changes one\n"
        "saved argument and keeps the rest; --args-json replaces them all. A list option\n"
        "(--notify-on, --notify-email, --notify-webhook, --on-success) replaces that\n"
        "list; 'none' empties it.\n"
        "\n" USAGE_JOB_NAME
        "  --active, --inactive turn the job on or off\n"
        "  --queue Q            its default queue\n"
        "  --timeout DUR        stop its runs after DUR (90s, 30m, 2h, 1d); none: the job\n"
        "                       type's timeout again\n"
        "  --retention DUR      keep its finished runs DUR (at least 1m); 'default': the\n"
        "                       server's --retention again\n" USAGE_JOB_FIELDS
        "  --clear-custom-args  drop the custom args\n" USAGE_JOB_POLICIES USAGE_JOB_JSON
            USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job update", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    json_t *job = NULL, *body = NULL, *updated = NULL;
    bool any = false;
    for (int id = 0; id < OPTS_MAX; id++)
        any = any || (id != O_JSON && opts_has(&o, id));
    if (!any) {
        rc = usage_error(&o, "nothing to change: give at least one field option");
        goto out;
    }
    if ((rc = job_resolve(&o.cl, o.arg, &job)) || (rc = job_body(&o, job, &body))) goto out;
    char *path = xasprintf("/api/jobs/%s", json_str(job, "id"));
    rc = client_call(&o.cl, "PATCH", path, body, &updated);
    free(path);
    if (!rc) {
        if (opts_has(&o, O_JSON))
            print_json(updated);
        else
            printf("updated job %s (%s)\n", shown(json_str(updated, "id")),
                   shown(json_str(updated, "title")));
    }
out:
    json_decref(job);
    json_decref(body);
    json_decref(updated);
    opts_free(&o);
    return rc;
}

/* ---- delete ---- */

static bool confirm(const char *question)
{
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        fputc('\n', stderr); /* no answer (Ctrl-D): what follows is a line of its own */
        return false;
    }
    return line[0] == 'y' || line[0] == 'Y';
}

static int job_delete(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"yes", 'y', false, O_YES}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job delete JOB [--yes]\n"
        "\n"
        "Deletes a job with all its runs and logs; runs still going are stopped first.\n"
        "\n"
        "  -y, --yes            do not ask (required when stdin is not a terminal)\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job delete", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    bool yes = opts_has(&o, O_YES);
    if (!yes && !isatty(STDIN_FILENO)) {
        rc = usage_error(&o, "stdin is not a terminal to confirm on; pass --yes to delete");
        opts_free(&o);
        return rc;
    }
    json_t *job;
    rc = job_resolve(&o.cl, o.arg, &job);
    if (!rc) {
        char *q = xasprintf("Delete job '%s' (%s) with all its runs?", shown(json_str(job, "title")),
                            shown(json_str(job, "id")));
        if (!yes && !confirm(q)) {
            fprintf(stderr, "not deleted\n");
            rc = EXIT_FAIL;
        } else {
            char *path = xasprintf("/api/jobs/%s", json_str(job, "id"));
            rc = client_call(&o.cl, "DELETE", path, NULL, NULL);
            free(path);
            if (!rc)
                printf("deleted job %s (%s)\n", shown(json_str(job, "id")),
                       shown(json_str(job, "title")));
        }
        free(q);
        json_decref(job);
    }
    opts_free(&o);
    return rc;
}

/* ---- run ---- */

static int job_run(int argc, char **argv)
{
    static const struct opt_spec spec[] = {
        SPEC_TITLE, SPEC_QUEUE,         {"since", 0, true, O_SINCE},
        {"until", 0, true, O_UNTIL},    SPEC_ARG,   SPEC_CUSTOM,
        {"wait", 'w', false, O_WAIT},   SPEC_JSON,  {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job run JOB [--title T] [--queue Q] [--since TS] [--until TS]\n"
        "                        [--arg KEY=VALUE]... [--custom-args JSON] [--wait] [--json]\n"
        "\n"
        "Starts a run of a job with its saved arguments, changed by the options.\n"
        "\n"
        "  --title T            a title for this run\n"
        "  --queue Q            run on this queue instead of the job's\n"
        "  --since TS           handle what changed since TS (2024-05-01 10:00 local time,\n"
        "                       2024-05-01T10:00Z in UTC);\n"
        "                       without it: the job's saved since, else the start of its\n"
        "                       last successful run\n"
        "  --until TS           end the run's window at TS instead of at its start\n"
        "                       (SKED_UNTIL); its success then leaves the job's since as it\n"
        "                       was (see also 'sked job backfill')\n"
        "  --arg KEY=VALUE      override one argument; VALUE is taken as JSON when it\n"
        "                       parses, else as a string (a time in it without a zone is\n"
        "                       UTC, unlike --since's); repeatable\n"
        "  --custom-args JSON   a JSON object handed to the task as is (no --arg or --since\n"
        "                       with it; @FILE: read from FILE, @- from standard input)\n"
        "  -w, --wait           follow the run's log until it ends, and its retries to the\n"
        "                       last attempt when it fails; exit 0 only when that ended\n"
        "                       SUCCESS, else 1; Ctrl-C stops waiting (not the run), exit 130\n"
        "  --json               print the run as JSON (with --wait: the ended run, and the\n"
        "                       log on stderr)\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job run", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    json_t *job = NULL, *body = json_object(), *args = NULL, *custom = NULL, *run = NULL;
    const char *since = opts_get(&o, O_SINCE);
    int64_t since_us = 0;
    int64_t until_us = 0;
    if ((rc = opts_time_local(&o, O_SINCE, false, &since_us)) ||
        (rc = opts_time_local(&o, O_UNTIL, true, &until_us)))
        goto out;
    if ((rc = opt_object(&o, O_CUSTOM, "custom-args", &custom))) goto out;
    /* custom args are all the task gets: an --arg or --since beside them would be lost */
    bool changes_args = since || opts_has(&o, O_ARG);
    static const char what[] = "--arg and --since", instead[] = "give this run --custom-args "
                                                                "JSON instead";
    if ((changes_args && (rc = args_unused(&o, what, custom != NULL, NULL, instead))) ||
        (rc = job_resolve(&o.cl, o.arg, &job)) ||
        (changes_args && (rc = args_unused(&o, what, false, job, instead))))
        goto out;
    if (opts_get(&o, O_TITLE))
        json_object_set_new(body, "title", json_string(opts_get(&o, O_TITLE)));
    if (opts_get(&o, O_QUEUE))
        json_object_set_new(body, "queue", json_string(opts_get(&o, O_QUEUE)));
    if (since || opts_has(&o, O_ARG)) {
        /* a run's args replace the saved ones wholesale, so start from those */
        args = saved_args(job);
        if ((rc = opt_arg_pairs(&o, args))) goto out;
        if (since) {
            char ts[TIME_STR_MAX];
            time_format(since_us, ts);
            json_object_set_new(args, "since", json_string(ts));
        }
        json_object_set(body, "args", args);
    }
    if (custom) json_object_set(body, "custom_args", custom);
    if (opts_get(&o, O_UNTIL)) {
        char ts[TIME_STR_MAX];
        time_format(until_us, ts);
        json_object_set_new(body, "until", json_string(ts));
    }
    char *path = xasprintf("/api/jobs/%s/runs", json_str(job, "id"));
    rc = client_call(&o.cl, "POST", path, body, &run);
    free(path);
    if (rc) goto out;
    bool as_json = opts_has(&o, O_JSON);
    if (!opts_has(&o, O_WAIT)) {
        if (as_json) {
            print_json(run);
        } else {
            printf("started run %s (%s) of job %s\n", shown(json_str(run, "id")),
                   shown(json_str(run, "status")), shown(json_str(job, "title")));
            printf("follow it with: sked logs %s -f\n", shown(json_str(run, "id")));
        }
        goto out;
    }
    json_t *final = NULL;
    FILE *log = as_json ? stderr : stdout;
    rc = logs_follow(&o.cl, run, NULL, false, log, log, true, &final);
    if (as_json && final && !client_stopped()) print_json(final); /* the last attempt */
    json_decref(final);
out:
    json_decref(job);
    json_decref(body);
    json_decref(args);
    json_decref(custom);
    json_decref(run);
    opts_free(&o);
    return rc;
}

static int job_backfill(int argc, char **argv)
{
    static const struct opt_spec spec[] = {
        {"from", 0, true, O_FROM}, {"to", 0, true, O_TO},      {"step", 0, true, O_STEP},
        SPEC_QUEUE,                SPEC_TITLE,                 {"dry-run", 'n', false, O_DRY_RUN},
        SPEC_JSON,                 {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job backfill JOB --from TS [--to TS] --step DURATION [--queue Q]\n"
        "                             [--title T] [--dry-run] [--json]\n"
        "\n"
        "Runs a job over a past range, one run per window of DURATION: each run gets the\n"
        "job's saved arguments with since at its window's start, and SKED_UNTIL at its end.\n"
        "Those runs leave the job's since as it was, so its regular runs go on where they\n"
        "were. At most 1000 windows; they run as the queue's slots allow.\n"
        "\n"
        "  --from TS            where the first window starts (2024-05-01 local time,\n"
        "                       2024-05-01T00:00Z in UTC)\n"
        "  --to TS              where the last ends (default: now)\n"
        "  --step DURATION      each window's length: 1d, 6h, 1w, 30m (a length: 1d is\n"
        "                       24 h, also across a change of daylight saving time)\n"
        "  --queue Q            run on this queue instead of the job's (one with one slot\n"
        "                       runs the windows one at a time)\n"
        "  --title T            one title for every run (default: its window)\n"
        "  -n, --dry-run        print the windows, start nothing\n"
        "  --json               print the server's answer as JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job backfill", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    json_t *job = NULL, *body = json_object(), *answer = NULL;
    int64_t from = 0, to = 0;
    if ((rc = opts_time_local(&o, O_FROM, false, &from)) ||
        (rc = opts_time_local(&o, O_TO, true, &to)))
        goto out;
    if (!opts_get(&o, O_FROM) || !opts_get(&o, O_STEP)) {
        rc = usage_error(&o, "give --from (where the first window starts) and --step (each "
                             "window's length, such as 1d)");
        goto out;
    }
    int64_t step_ms;
    const char *why;
    if (duration_parse(opts_get(&o, O_STEP), &step_ms, &why) != 0) {
        rc = usage_error(&o, "--step: %s", why);
        goto out;
    }
    if ((rc = job_resolve(&o.cl, o.arg, &job))) goto out;
    char ts[TIME_STR_MAX];
    time_format(from, ts);
    json_object_set_new(body, "from", json_string(ts));
    if (opts_get(&o, O_TO)) {
        time_format(to, ts);
        json_object_set_new(body, "to", json_string(ts));
    }
    json_object_set_new(body, "step", json_string(opts_get(&o, O_STEP)));
    if (opts_get(&o, O_QUEUE))
        json_object_set_new(body, "queue", json_string(opts_get(&o, O_QUEUE)));
    if (opts_get(&o, O_TITLE))
        json_object_set_new(body, "title", json_string(opts_get(&o, O_TITLE)));
    bool dry = opts_has(&o, O_DRY_RUN);
    char *path = xasprintf("/api/jobs/%s/actions/backfill%s", json_str(job, "id"),
                           dry ? "?dry_run=true" : "");
    rc = client_call(&o.cl, "POST", path, body, &answer);
    free(path);
    if (rc) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(answer);
        goto out;
    }
    struct table t;
    table_init(&t, 4, "SINCE", "UNTIL", "RUN", "STATUS");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(answer, "runs"), i, w)
    {
        char since[TIMEBUF], until[TIMEBUF];
        table_row(&t, fmt_time(json_str(w, "since"), since), fmt_time(json_str(w, "until"), until),
                  json_str(w, "id"), json_str(w, "status"));
    }
    table_print(&t, stdout);
    table_free(&t);
    long long n = (long long)json_integer_value(json_object_get(answer, "total"));
    if (dry)
        printf("%lld window(s) of %s on queue %s; nothing started (without --dry-run: one run "
               "each)\n",
               n, shown(json_str(answer, "step")), shown(json_str(answer, "queue")));
    else
        printf("started %lld run(s) of job %s on queue %s; follow them with: sked runs %s\n", n,
               shown(json_str(job, "title")), shown(json_str(answer, "queue")),
               shown(json_str(job, "id")));
out:
    json_decref(job);
    json_decref(body);
    json_decref(answer);
    opts_free(&o);
    return rc;
}

static int job_stop(int argc, char **argv)
{
    static const struct opt_spec spec[] = {
        {"queued", 0, false, O_QUEUED}, {"running", 0, false, O_RUNNING},
        {"trigger", 0, true, O_TRIGGER}, {"yes", 'y', false, O_YES},
        SPEC_JSON,                      {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job stop JOB [--queued] [--running] [--trigger T] [--yes] [--json]\n"
        "\n"
        "Stops a job's runs: the queued ones end CANCELLED at once, the running ones get\n"
        "SIGTERM (SIGKILL after their stop grace) and end CANCELLED.\n"
        "\n"
        "  --queued             only the queued runs\n"
        "  --running            only the running runs\n"
        "  --trigger T          only runs of that trigger: manual, scheduled, retry, chained\n"
        "                       or backfill (a backfill's runs: --trigger backfill)\n"
        "  -y, --yes            do not ask (required when stdin is not a terminal)\n"
        "  --json               print the stopped runs as JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job stop", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    bool yes = opts_has(&o, O_YES);
    if (!yes && !isatty(STDIN_FILENO)) {
        rc = usage_error(&o, "stdin is not a terminal to confirm on; pass --yes to stop");
        opts_free(&o);
        return rc;
    }
    json_t *job = NULL, *body = json_object(), *all = json_array();
    if ((rc = job_resolve(&o.cl, o.arg, &job))) goto out;
    bool queued = opts_has(&o, O_QUEUED), running = opts_has(&o, O_RUNNING);
    if (queued != running) /* one of them alone; neither or both: both */
        json_object_set_new(body, "status", json_pack("[s]", queued ? "QUEUED" : "RUNNING"));
    if (opts_get(&o, O_TRIGGER))
        json_object_set_new(body, "trigger", json_string(opts_get(&o, O_TRIGGER)));
    const char *what = queued == running ? "queued and running" : queued ? "queued" : "running";
    char *q = xasprintf("Stop the %s runs%s%s of job '%s' (%s)?", what,
                        opts_get(&o, O_TRIGGER) ? " triggered by " : "",
                        opts_get(&o, O_TRIGGER) ? opts_get(&o, O_TRIGGER) : "",
                        shown(json_str(job, "title")), shown(json_str(job, "id")));
    bool go = yes || confirm(q);
    free(q);
    if (!go) {
        fprintf(stderr, "nothing stopped\n");
        rc = 1;
        goto out;
    }
    char *path = xasprintf("/api/jobs/%s/actions/stop", json_str(job, "id"));
    /* a request stops at most 1000: ask again while more are left */
    for (bool more = true; more && !rc;) {
        json_t *answer = NULL;
        rc = client_call(&o.cl, "POST", path, body, &answer);
        if (!rc) {
            json_array_extend(all, json_object_get(answer, "runs"));
            more = json_is_true(json_object_get(answer, "more"));
        }
        json_decref(answer);
    }
    free(path);
    if (rc) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(all);
        goto out;
    }
    size_t i, cancelled = 0;
    json_t *r;
    json_array_foreach(all, i, r)
    {
        const char *st = json_str(r, "status");
        cancelled += st && strcmp(st, "CANCELLED") == 0;
    }
    printf("stopped %zu run(s) of job %s: %zu cancelled before they started, %zu being stopped "
           "(they end CANCELLED)\n",
           json_array_size(all), shown(json_str(job, "title")), cancelled,
           json_array_size(all) - cancelled);
out:
    json_decref(job);
    json_decref(body);
    json_decref(all);
    opts_free(&o);
    return rc;
}

int cmd_job(int argc, char **argv)
{
    static const struct verb verbs[] = {{"list", job_list},
                                        {"show", job_show},
                                        {"create", job_create},
                                        {"update", job_update},
                                        {"delete", job_delete},
                                        {"run", job_run},
                                        {"backfill", job_backfill},
                                        {"stop", job_stop},
                                        {"schedule", job_schedule},
                                        {"export", job_export},
                                        {"import", job_import},
                                        {NULL, NULL}};
    return cli_group("sked job", job_usage, verbs, argc, argv);
}
