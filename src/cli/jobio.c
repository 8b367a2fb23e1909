/*
 * jobio: `sked job export` and `sked job import` - jobs as a JSON file, to keep in version
 * control and apply to a server (the same one later, or another). Import matches each job of
 * the file to the server's by id, else by exact title, creates the others, leaves equal ones
 * alone, and maps on_success lists onto the server's ids, so a file taken from one server
 * applies to another.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "commands.h"

enum { O_DRY_RUN, O_OUT, O_JSON };

#define FORMAT "sked-jobs"
#define FORMAT_VERSION 1

/* The fields a job is made of, as POST /api/jobs takes them (on_success: applied last). */
static const char *const fields[] = {"title",
                                     "description",
                                     "task",
                                     "active",
                                     "default_queue",
                                     "schedule",
                                     "args",
                                     "custom_args",
                                     "notification_emails",
                                     "notification_statuses",
                                     "notification_webhooks",
                                     "timeout",
                                     "overlap",
                                     "catchup",
                                     "catchup_limit",
                                     "max_retries",
                                     "retry_backoff",
                                     "retention",
                                     "alert_after",
                                     NULL};

/* Every job of the server, in the order it lists them (oldest first). */
static int all_jobs(const struct client *c, json_t **out)
{
    *out = json_array();
    char *path = xstrdup("/api/jobs?size=1000&sort=created&sort_direction=asc");
    while (path) {
        json_t *list;
        int rc = client_get(c, &list, "%s", path);
        free(path);
        if (rc) return rc;
        json_t *hits = list_hits(list);
        json_array_extend(*out, hits);
        path = json_array_size(hits) > 0 ? list_next(list) : NULL;
        json_decref(list);
    }
    return 0;
}

/* A webhook URL as the server shows it to who is no admin ("https://host/…"). */
static bool masked(const json_t *hooks)
{
    size_t i;
    json_t *h;
    json_array_foreach(hooks, i, h)
    {
        const char *u = json_string_value(h);
        size_t n = u ? strlen(u) : 0;
        if (n >= 4 && strcmp(u + n - 4, "/\xe2\x80\xa6") == 0) return true;
    }
    return false;
}

/* FILE opened for writing as the owner's alone (0600), as a backup is: the webhook URLs of an
 * admin's export hold their secrets. An existing file is made so too; a device or a pipe (-o
 * /dev/stdout) is written as it is. NULL with errno when it cannot be opened. */
static FILE *open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) && fchmod(fd, 0600) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) close(fd);
    return f;
}

int job_export(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"output", 'o', true, O_OUT}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job export [-o FILE]\n"
        "\n"
        "Writes every job of the server as a JSON file (to standard output, or FILE): its\n"
        "id, title, job type, queue, arguments, schedule, notifications, policies and the\n"
        "jobs it starts on success - what 'sked job import' applies to this server or\n"
        "another. Runs are not part of it. Export as an admin: to others the server shows\n"
        "webhook URLs cut to their host, and those are left out of the file.\n"
        "\n"
        "  -o, --output FILE    write to FILE instead of standard output, readable by its\n"
        "                       owner only (mode 0600: webhook URLs hold secrets)\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job export", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *jobs = NULL, *out = json_array();
    if ((rc = all_jobs(&o.cl, &jobs))) goto done;
    size_t i, cut = 0;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        json_t *e = json_pack("{s:O?}", "id", json_object_get(j, "id"));
        for (const char *const *f = fields; *f; f++) {
            json_t *v = json_object_get(j, *f);
            if (!v) continue;
            if (strcmp(*f, "notification_webhooks") == 0 && masked(v)) {
                cut++;
                continue;
            }
            json_object_set(e, *f, v);
        }
        json_t *next = json_object_get(j, "on_success");
        json_object_set_new(e, "on_success", next ? json_incref(next) : json_array());
        json_array_append_new(out, e);
    }
    if (cut)
        fprintf(stderr,
                "sked job export: the webhooks of %zu job(s) are left out: the server shows them "
                "only to admins in full (export with an admin's token to keep them)\n",
                cut);
    char now[TIME_STR_MAX];
    time_format(time_now_us(), now);
    json_t *doc = json_pack("{s:s,s:i,s:s,s:O}", "format", FORMAT, "version", FORMAT_VERSION,
                            "exported", now, "jobs", out);
    const char *path = opts_get(&o, O_OUT);
    if (path && strcmp(path, "-") == 0) path = NULL; /* -o -: standard output, as import - reads */
    FILE *f = path ? open_private(path) : stdout;
    if (!f) {
        fprintf(stderr, "sked job export: cannot write %s: %s\n", path, strerror(errno));
        rc = EXIT_FAIL;
    } else {
        json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', f);
        if ((path ? fclose(f) : fflush(f)) != 0) {
            fprintf(stderr, "sked job export: cannot write %s\n", path ? path : "the output");
            rc = EXIT_FAIL;
        } else if (path) {
            fprintf(stderr, "exported %zu job(s) to %s\n", json_array_size(out), path);
        }
    }
    json_decref(doc);
done:
    json_decref(jobs);
    json_decref(out);
    opts_free(&o);
    return rc;
}

/* ---- import ---- */

/* Why file job j holds a key the file format has not (a misspelt field would be dropped
 * silently, as no server ever sees it), its name appended to where; NULL when none. */
static const char *unknown_key(const json_t *j, char *where, size_t len)
{
    static char why[600];
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        bool known = strcmp(k, "id") == 0 || strcmp(k, "on_success") == 0;
        for (const char *const *f = fields; *f && !known; f++) known = strcmp(k, *f) == 0;
        if (known) continue;
        struct buf b = BUF_INIT;
        text_clean(&b, k, 40);
        size_t n = strlen(where);
        snprintf(where + n, len - n, ": %s", buf_cstr(&b));
        buf_reset(&b);
        buf_puts(&b, "unknown field (a job's fields: id");
        for (const char *const *f = fields; *f; f++) buf_printf(&b, ", %s", *f);
        buf_puts(&b, ", on_success)");
        snprintf(why, sizeof why, "%s", buf_cstr(&b));
        buf_free(&b);
        return why;
    }
    return NULL;
}

/* The file, checked: "jobs", each an object with a title and a job type and no other keys
 * than a job's, ids (where given) once each. Returns NULL having printed what is wrong. */
static json_t *read_file(const char *path)
{
    json_error_t err;
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sked job import: %s: a folder, not a file of 'sked job export'\n", path);
        return NULL;
    }
    json_t *doc = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &err)
                                         : json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        /* jansson has no line for a file it could not read: then its text says why (and
         * names the file: "unable to open FILE: REASON") */
        if (err.line < 1 && strstr(err.text, path))
            fprintf(stderr, "sked job import: %s\n", err.text);
        else if (err.line < 1)
            fprintf(stderr, "sked job import: %s: %s\n", path, err.text);
        else
            fprintf(stderr, "sked job import: %s: line %d, column %d: %s\n", path, err.line,
                    err.column, err.text);
        return NULL;
    }
    const char *why = NULL;
    char where[64] = "";
    json_t *jobs = json_object_get(doc, "jobs");
    if (!json_is_object(doc) || !json_is_array(jobs)) {
        why = "expected an object with \"jobs\": [...], as 'sked job export' writes";
    } else if (json_object_get(doc, "format") &&
               (json_is_string(json_object_get(doc, "format")) == 0 ||
                strcmp(json_str(doc, "format"), FORMAT) != 0 ||
                json_integer_value(json_object_get(doc, "version")) != FORMAT_VERSION)) {
        why = "not a file of 'sked job export' (format sked-jobs, version 1)";
    } else {
        struct map ids;
        map_init(&ids);
        size_t i;
        json_t *j;
        json_array_foreach(jobs, i, j)
        {
            snprintf(where, sizeof where, "jobs[%zu]", i);
            const char *id = json_str(j, "id");
            if (!json_is_object(j))
                why = "must be an object";
            else if (!json_is_string(json_object_get(j, "title")))
                why = "title: required, a string";
            else if (!json_is_string(json_object_get(j, "task")))
                why = "task: required, a string (a job type's id)";
            else if (json_object_get(j, "id") && !json_is_null(json_object_get(j, "id")) && !id)
                why = "id: must be a string";
            else if (id && map_get(&ids, id))
                why = "id: the file holds this id twice";
            else if ((why = unknown_key(j, where, sizeof where)) != NULL)
                ;
            else if (json_object_get(j, "on_success") &&
                     !json_is_array(json_object_get(j, "on_success")))
                why = "on_success: must be a list of job ids";
            if (why) break;
            if (id) map_put(&ids, id, (void *)1);
        }
        map_release(&ids);
    }
    if (why) {
        fprintf(stderr, "sked job import: %s: %s%s%s\n", path, where, *where ? ": " : "", why);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* The ids of the jobs of a list (the file's or the server's), each to its job. */
static void index_ids(struct map *m, const json_t *jobs)
{
    map_init(m);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const char *id = json_str(j, "id");
        if (id) map_put(m, id, j);
    }
}

struct match {
    const json_t *job; /* the server's job, or NULL */
    const char *how;   /* "id" or "title" */
    size_t titled[2];  /* when a title could not decide: the file's and the server's jobs of it */
};

/* The server's job matching the file's i-th job: the one of its id, else one of its title.
 * Jobs of a title without ids the other side knows pair in order of creation: the k-th of the
 * file with the k-th of the server, when both have as many (an import creates them in the
 * file's order, so a second one finds the same pairs), and none when the server has none;
 * otherwise (the title matches job) is NULL and titled says how many each has. */
static struct match match(const json_t *server, const struct map *server_ids,
                          const json_t *jobs, const struct map *file_ids, size_t i)
{
    const json_t *j = json_array_get(jobs, i);
    const char *id = json_str(j, "id"), *title = json_str(j, "title");
    struct match m = {id ? map_get(server_ids, id) : NULL, "id", {0, 0}};
    if (m.job) return m;
    m.how = "title";
    size_t k = 0, n;
    json_t *f;
    json_array_foreach(jobs, n, f)
    {
        const char *fid = json_str(f, "id");
        if (strcmp(json_str(f, "title"), title) == 0 && !(fid && map_get(server_ids, fid))) {
            if (n < i) k++;
            m.titled[0]++;
        }
    }
    const json_t *kth = NULL;
    json_array_foreach(server, n, f)
    {
        if (strcmp(json_str(f, "title"), title) == 0 && !map_get(file_ids, json_str(f, "id"))) {
            if (m.titled[1] == k) kth = f;
            m.titled[1]++;
        }
    }
    if (m.titled[0] == m.titled[1]) m.job = kth;
    return m;
}

/* The fields of j that differ from the server's job s, or all of j's when s is NULL. A job's
 * type cannot change: a different one is sent, for the server to refuse. */
static json_t *changes(const json_t *j, const json_t *s)
{
    json_t *body = json_object();
    for (const char *const *f = fields; *f; f++) {
        json_t *v = json_object_get(j, *f);
        if (v && !(s && json_equal(v, json_object_get(s, *f)))) json_object_set(body, *f, v);
    }
    return body;
}

/* The index of the file's job of id ref, or -1. */
static long file_index(const json_t *jobs, const char *ref)
{
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const char *id = json_str(j, "id");
        if (id && strcmp(id, ref) == 0) return (long)i;
    }
    return -1;
}

/* The server's id of the job the file names ref: the one its job of that id went to, else a
 * job of the server with that id; NULL when neither. */
static const char *map_ref(const json_t *jobs, char *const *dest, const json_t *server,
                           const char *ref)
{
    long k = file_index(jobs, ref);
    if (k >= 0) return dest[k];
    size_t i;
    json_t *j;
    json_array_foreach(server, i, j) if (strcmp(json_str(j, "id"), ref) == 0) return ref;
    return NULL;
}

/* Notes in diff that field goes from before (NULL: not set) to after. */
static void note_change(json_t *diff, const char *field, const json_t *before, const json_t *after)
{
    json_object_set_new(diff, field,
                        json_pack("[O,O]", before ? before : json_null(), after));
}

/* A value of a change, short: compact JSON, at most 40 columns. */
static void change_value(struct buf *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    text_clean(b, text ? text : "?", 40);
    free(text);
}

/* "  field[.member]  before → after", unless the two are equal (NULL: not set). */
static void print_change(const char *field, const char *member, const json_t *a, const json_t *b)
{
    if (a && b && json_equal((json_t *)a, (json_t *)b)) return;
    struct buf name = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
    buf_printf(&name, "%s%s%s", field, member ? "." : "", member ? member : "");
    change_value(&before, a ? a : json_null());
    change_value(&after, b ? b : json_null());
    printf("  %-22s %s \xe2\x86\x92 %s\n", buf_cstr(&name), buf_cstr(&before), buf_cstr(&after));
    buf_free(&name);
    buf_free(&before);
    buf_free(&after);
}

/* Prints "'TITLE' (jobs[i]) changes:" and a "  field  before → after" line per field of
 * every job of the file that has changes in diffs. */
static void print_changes(const json_t *jobs, json_t *const *diffs, bool dry)
{
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        if (!json_object_size(diffs[i])) continue;
        printf("'%s' (jobs[%zu]) %s:\n", shown(json_str(j, "title")), i,
               dry ? "would change" : "changed");
        const char *field;
        json_t *pair;
        json_object_foreach(diffs[i], field, pair)
        {
            const json_t *a = json_array_get(pair, 0), *b = json_array_get(pair, 1);
            if (json_is_object(a) && json_is_object(b)) {
                /* an object (a schedule) by its members that differ: a change past the first
                 * 40 columns would not show otherwise */
                const char *k;
                json_t *v;
                json_object_foreach((json_t *)a, k, v) print_change(field, k, v, json_object_get(b, k));
                json_object_foreach((json_t *)b, k, v)
                    if (!json_object_get(a, k)) print_change(field, k, NULL, v);
                continue;
            }
            print_change(field, NULL, a, b);
        }
    }
}

static const json_t *server_job(const json_t *server, const char *id)
{
    size_t i;
    json_t *j;
    json_array_foreach(server, i, j) if (strcmp(json_str(j, "id"), id) == 0) return j;
    return NULL;
}

/* The on_success list of job id as it stands in the middle of an import: the file's list of the
 * job it goes to once that list is set (set[k]), else the server's. */
static const json_t *list_of(const char *id, const json_t *server, char *const *dest,
                             json_t *const *lists, const bool *set, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (set[k] && dest[k] && strcmp(dest[k], id) == 0) return lists[k];
    return json_object_get(server_job(server, id), "on_success");
}

/* Whether the lists lead from id back to target (path: the titles on the way). */
static bool leads_back(const char *id, const char *target, const json_t *server,
                       const json_t *jobs, char *const *dest, json_t *const *lists,
                       const bool *set, size_t n, struct map *seen, struct buf *path)
{
    if (map_get(seen, id)) return false;
    map_put(seen, id, (void *)1);
    size_t i;
    json_t *e;
    json_array_foreach(list_of(id, server, dest, lists, set, n), i, e)
    {
        const char *to = json_string_value(e);
        if (!to) continue;
        const char *title = json_str(server_job(server, to), "title");
        for (size_t k = 0; !title && k < n; k++)
            if (dest[k] && strcmp(dest[k], to) == 0) title = json_str(json_array_get(jobs, k), "title");
        size_t at = path->len;
        buf_printf(path, " \xe2\x86\x92 %s", shown(title ? title : to));
        if (strcmp(to, target) == 0 ||
            leads_back(to, target, server, jobs, dest, lists, set, n, seen, path))
            return true;
        path->len = at;
        path->data[at] = '\0';
    }
    return false;
}

/* The outcome of a job of the file made or changed (action) whose on_success list could not
 * be set: the job itself was made or changed all the same; an unchanged one failed. */
static const char *without_list(const char *action)
{
    return strcmp(action, "created") == 0     ? "created without on_success"
           : strcmp(action, "unchanged") != 0 ? "updated without on_success"
                                              : "failed";
}

/* Says on stderr why the file's job i failed, or was made without its on_success list
 * ("sked job import: 'TITLE' (jobs[i]): why"), and keeps why (taken) in whys[i] for --json. */
static void job_failed(char **whys, size_t i, const json_t *jobs, char *why)
{
    fprintf(stderr, "sked job import: '%s' (jobs[%zu]): %s\n",
            shown(json_str(json_array_get(jobs, i), "title")), i, why);
    free(whys[i]);
    whys[i] = why;
}

/* The same for a request the server refused, which it printed already (and said holds): what
 * was not done, and why in the server's words. */
static void job_refused(char **whys, size_t i, const json_t *jobs, const char *what,
                        struct buf *said)
{
    fprintf(stderr, "sked job import: the job above is '%s' (jobs[%zu]): %s\n",
            shown(json_str(json_array_get(jobs, i), "title")), i, what);
    const char *text = buf_cstr(said);
    if (strncmp(text, "sked: ", 6) == 0) text += 6;
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') n--;
    free(whys[i]);
    whys[i] = n ? xasprintf("%s: %.*s", what, (int)n, text) : xstrdup(what);
    buf_reset(said);
}

/* --json: each job of the file, what was done with it (action: created, updated, unchanged,
 * failed, not_done after the server went away), how it was matched, its id on the server, the
 * fields changed ({"before", "after"}) and why it failed or was done only in part. */
static void print_results(const json_t *jobs, const char *const *action, const char *const *how,
                          char *const *dest, json_t *const *diffs, char *const *whys, bool dry)
{
    json_t *out = json_array();
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j)
    {
        json_t *changes = json_object();
        const char *field;
        json_t *pair;
        json_object_foreach(diffs[i], field, pair)
            json_object_set_new(changes, field,
                                json_pack("{s:O,s:O}", "before", json_array_get(pair, 0), "after",
                                          json_array_get(pair, 1)));
        /* "updated (by title)", "created without on_success": matched_by and error say the rest */
        const char *done = action[i] ? action[i] : "not_done";
        char *first = xstrndup(done, strcspn(done, " "));
        /* a job a dry run would create has no id yet ("(new 2)" in the table) */
        const char *id = dest[i] && dest[i][0] != '(' ? dest[i] : NULL;
        json_array_append_new(
            out, json_pack("{s:I,s:O,s:s,s:s?,s:s?,s:o,s:s?}", "index", (json_int_t)i, "title",
                           json_object_get(j, "title"), "action", first, "matched_by", how[i],
                           "id", id, "changes", changes, "error", whys[i]));
        free(first);
    }
    json_t *doc = json_pack("{s:b,s:o}", "dry_run", dry, "jobs", out);
    print_json(doc);
    json_decref(doc);
}

/* --json when the server's jobs could not be read (said holds why): each job of the file
 * not_done, with that reason. */
static void print_untried(const json_t *jobs, const struct buf *said, bool dry)
{
    const char *text = buf_cstr(said);
    if (strncmp(text, "sked: ", 6) == 0) text += 6;
    size_t len = strcspn(text, "\n"); /* its first line: the cause */
    json_t *out = json_array();
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j)
    {
        char *why = xasprintf("not done: %.*s", (int)len, text);
        json_array_append_new(out, json_pack("{s:I,s:O,s:s,s:n,s:n,s:{},s:s}", "index",
                                             (json_int_t)i, "title", json_object_get(j, "title"),
                                             "action", "not_done", "matched_by", "id", "changes",
                                             "error", why));
        free(why);
    }
    json_t *doc = json_pack("{s:b,s:o}", "dry_run", dry, "jobs", out);
    print_json(doc);
    json_decref(doc);
}

int job_import(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"dry-run", 'n', false, O_DRY_RUN},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job import FILE [--dry-run] [--json]\n"
        "\n"
        "Applies a file of 'sked job export' (FILE, or - for standard input) to the server:\n"
        "each job of the file is matched to the server's by id, else by its exact title\n"
        "(several jobs of one title pair in order of creation when the file and the server\n"
        "have as many), and updated where it differs; a job without a match is created.\n"
        "A key no job has is refused, as is a title the server has but not as often. The\n"
        "jobs a job starts on success are named by the file's ids and mapped onto the\n"
        "server's. Jobs of the server that are not in the file are left alone. A job the\n"
        "server refuses is reported and the others are still applied (exit status 1).\n"
        "Below the table, each updated job's changed fields: field, before -> after.\n"
        "Needs the admin role.\n"
        "\n"
        "  -n, --dry-run        say what would change (the table, and each field that\n"
        "                       would change), change nothing: the server checks each\n"
        "                       change as it would be made, so a job it would refuse is\n"
        "                       reported failed, with the reason\n"
        "  --json               print the outcome as JSON instead: for each job of the\n"
        "                       file its index, title, action (created, updated,\n"
        "                       unchanged, failed, not_done), matched_by (id, title),\n"
        "                       id, changes ({FIELD: {before, after}}) and error\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job import", usage, spec, "FILE", argc, argv);
    if (rc >= 0) return rc;
    bool dry = opts_has(&o, O_DRY_RUN);
    struct buf said = BUF_INIT;
    o.cl.file_fields = true; /* a refusal names the file's fields, not options */
    o.cl.said = &said;
    json_t *doc = read_file(o.arg), *server = NULL;
    if (!doc) {
        opts_free(&o);
        return EXIT_FAIL;
    }
    json_t *jobs = json_object_get(doc, "jobs");
    size_t n = json_array_size(jobs);
    if ((rc = all_jobs(&o.cl, &server))) {
        if (opts_has(&o, O_JSON)) print_untried(jobs, &said, dry);
        goto done;
    }
    char **dest = xcalloc(n ? n : 1, sizeof *dest); /* the server's id of each job of the file */
    const char **action = xcalloc(n ? n : 1, sizeof *action);
    const char **how = xcalloc(n ? n : 1, sizeof *how); /* matched by "id" or "title" */
    char **whys = xcalloc(n ? n : 1, sizeof *whys);     /* why each failed */
    json_t **diffs = xcalloc(n ? n : 1, sizeof *diffs); /* each job's field: [before, after] */
    json_t **lists = xcalloc(n ? n : 1, sizeof *lists);  /* each job's list in the server's ids */
    bool *set = xcalloc(n ? n : 1, sizeof *set);          /* whose list is set (or would be) */
    for (size_t k = 0; k < n; k++) diffs[k] = json_object();
    int failed = 0;
    size_t i;
    json_t *j;
    /* first the jobs, then the lists: a list may name a job the file creates later */
    struct map file_ids, server_ids;
    index_ids(&file_ids, jobs);
    index_ids(&server_ids, server);
    json_array_foreach(jobs, i, j)
    {
        struct match m = match(server, &server_ids, jobs, &file_ids, i);
        const json_t *s = m.job;
        if (!s && m.titled[1]) {
            /* creating one more would make the next import just as unsure, and each import
             * one job more */
            job_failed(whys, i, jobs,
                       xasprintf("the file has %zu job(s) of this title and the server %zu, with "
                                 "no ids in common: a title matches jobs only when both have as "
                                 "many; give the file the server's ids (export from it), or "
                                 "titles of their own",
                                 m.titled[0], m.titled[1]));
            action[i] = "failed";
            failed++;
            continue;
        }
        json_t *body = changes(j, s), *res = NULL;
        if (s) {
            dest[i] = xstrdup(json_str(s, "id"));
            how[i] = m.how;
        }
        /* A value written otherwise than the server writes it back (a duration as 600 or 10m, a
         * since ending in Z, custom args at the top) is the same job: the server's dry run says
         * what each field would become, and only those that would change count. */
        int r = 0;
        if (s && json_object_size(body)) {
            char *path = xasprintf("/api/jobs/%s?dry_run=true", dest[i]);
            r = client_call(&o.cl, "PATCH", path, body, &res);
            free(path);
            const char *field;
            json_t *v;
            void *tmp;
            json_object_foreach_safe(r ? NULL : body, tmp, field, v)
            {
                json_t *after = json_object_get(res, field);
                if (after && json_equal(after, json_object_get(s, field)))
                    json_object_del(body, field);
                else if (after)
                    note_change(diffs[i], field, json_object_get(s, field), after);
                else
                    note_change(diffs[i], field, json_object_get(s, field), v);
            }
        }
        action[i] = s ? (json_object_size(body)
                             ? (strcmp(m.how, "id") == 0 ? "updated" : "updated (by title)")
                             : "unchanged")
                      : "created";
        if (!r && (!s || json_object_size(body)) && !(s && dry)) {
            /* a dry run has the server check the change as it would make it (an update's was
             * made above) */
            json_decref(res);
            res = NULL;
            char *path = s ? xasprintf("/api/jobs/%s", dest[i])
                           : xstrdup(dry ? "/api/jobs?dry_run=true" : "/api/jobs");
            r = client_call(&o.cl, s ? "PATCH" : "POST", path, body, &res);
            free(path);
        }
        if (r) {
            char *what = xasprintf("%s %s", dry ? "would not be" : "not", s ? "updated" : "created");
            job_refused(whys, i, jobs, what, &said);
            free(what);
            action[i] = "failed";
            failed++;
        } else if (!s) {
            dest[i] = dry ? xasprintf("(new %zu)", i) : xstrdup(json_str(res, "id"));
        }
        json_decref(res);
        json_decref(body);
        if (r == EXIT_UNREACHABLE) {
            rc = r;
            for (size_t k = i + 1; k < n; k++)
                whys[k] = xstrdup("not done: the server could not be reached");
            break;
        }
    }
    map_release(&file_ids);
    map_release(&server_ids);
    /* the lists, in the server's ids */
    json_array_foreach(rc ? NULL : jobs, i, j)
    {
        json_t *next = json_object_get(j, "on_success");
        if (!next || !dest[i] || strcmp(action[i], "failed") == 0) continue;
        json_t *mapped = json_array();
        size_t k;
        json_t *e;
        const char *missing = NULL;
        json_array_foreach(next, k, e)
        {
            const char *ref = json_string_value(e);
            const char *to = ref ? map_ref(jobs, dest, server, ref) : NULL;
            if (!to) {
                missing = ref ? ref : "(not a string)";
                break;
            }
            json_array_append_new(mapped, json_string(to));
        }
        const json_t *s = server_job(server, dest[i]);
        long of = missing ? file_index(jobs, missing) : -1;
        if (of >= 0) { /* a job of the file the server refused */
            job_failed(whys, i, jobs,
                       xasprintf("on_success names '%s' (jobs[%ld]), which %s created",
                                 shown(json_str(json_array_get(jobs, (size_t)of), "title")), of,
                                 dry ? "would not be" : "was not"));
            action[i] = without_list(action[i]);
            failed++;
        } else if (missing) {
            job_failed(whys, i, jobs,
                       xasprintf("on_success names job %s, which is neither in the file nor on "
                                 "the server",
                                 shown(missing)));
            action[i] = without_list(action[i]);
            failed++;
        } else if (!s || !json_equal(mapped, json_object_get(s, "on_success"))) {
            const char *before = action[i];
            if (strcmp(action[i], "unchanged") == 0) action[i] = "updated";
            if (s) note_change(diffs[i], "on_success", json_object_get(s, "on_success"), mapped);
            lists[i] = json_incref(mapped);
            bool refused = false;
            if (strncmp(dest[i], "(new", 4) == 0) {
                /* a job the dry run would make has no id the server could check its list
                 * against: the cycles through it are looked for here, as the lists would be */
                struct map seen;
                map_init(&seen);
                struct buf path = BUF_INIT;
                set[i] = true;
                buf_puts(&path, shown(json_str(j, "title")));
                if (leads_back(dest[i], dest[i], server, jobs, dest, lists, set, n, &seen, &path)) {
                    job_failed(whys, i, jobs,
                               xasprintf("on_success would make a cycle: %s", buf_cstr(&path)));
                    refused = true;
                }
                buf_free(&path);
                map_release(&seen);
            } else {
                json_t *body = json_pack("{s:O}", "on_success", mapped);
                char *path = xasprintf("/api/jobs/%s%s", dest[i], dry ? "?dry_run=true" : "");
                refused = client_call(&o.cl, "PATCH", path, body, NULL) != 0;
                if (refused)
                    job_refused(whys, i, jobs,
                                dry ? "its on_success list would not be set"
                                    : "its on_success list was not set",
                                &said);
                free(path);
                json_decref(body);
            }
            set[i] = !refused;
            if (refused) {
                json_object_del(diffs[i], "on_success");
                action[i] = without_list(before);
                failed++;
            }
        }
        json_decref(mapped);
    }
    /* what an update changes (a job refused is not changed at all) */
    for (i = 0; i < n; i++)
        if (!action[i] || strcmp(action[i], "failed") == 0) json_object_clear(diffs[i]);
    if (opts_has(&o, O_JSON)) {
        print_results(jobs, action, how, dest, diffs, whys, dry);
    } else {
        struct table t;
        table_init(&t, 3, dry ? "WOULD BE" : "ACTION", "TITLE", "ID");
        t.free_text = TABLE_COL(1);
        json_array_foreach(jobs, i, j)
            table_row(&t, action[i] ? action[i] : "not done", json_str(j, "title"), dest[i]);
        if (t.nrows)
            table_print(&t, stdout);
        else
            printf("the file holds no jobs\n");
        table_free(&t);
        print_changes(jobs, diffs, dry);
    }
    for (i = 0; i < n; i++) {
        free(dest[i]);
        free(whys[i]);
        json_decref(diffs[i]);
        json_decref(lists[i]);
    }
    free(whys);
    free(how);
    free(lists);
    free(set);
    free(diffs);
    free(dest);
    free(action);
    if (!rc && failed) rc = EXIT_FAIL;
done:
    buf_free(&said);
    json_decref(doc);
    json_decref(server);
    opts_free(&o);
    return rc;
}
