/* audit: `sked audit` - the audit trail, from GET /api/audit (admins only). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/uuid.h"
#include "commands.h"

enum { O_JSON, O_JOB, O_USER, O_ACTION, O_SINCE, O_PAGE, O_SIZE };

/* What an entry is about, with its kind: its run, else its job, else the account, token or
 * queue its action names ("user 2df80d5d", "queue low"); short ids, a run's told apart from
 * those of the other runs of the entries (hits). */
static const char *concerned(const json_t *e, const json_t *hits, char out[80])
{
    char a[37];
    const char *run = json_str(e, "run_id"), *job = json_str(e, "job_id");
    const char *target = json_str(e, "target"), *action = json_str(e, "action");
    const char *queue = json_str(json_object_get(e, "details"), "queue");
    if (!action) action = "";
    if (run && job)
        snprintf(out, 80, "run %s", short_run_id(run, hits, "run_id", a));
    else if (job)
        snprintf(out, 80, "job %s", short_id(job, a));
    else if (strncmp(action, "queue.", 6) == 0 && queue)
        snprintf(out, 80, "queue %.60s", queue);
    else if (target && (strncmp(action, "user.", 5) == 0 || strncmp(action, "login.", 6) == 0))
        snprintf(out, 80, "user %s", short_id(target, a));
    else if (target && strncmp(action, "token.", 6) == 0)
        snprintf(out, 80, "token %s", short_id(target, a));
    else if (target)
        snprintf(out, 80, "%s", short_id(target, a));
    else
        snprintf(out, 80, "-");
    return out;
}

int cmd_audit(int argc, char **argv)
{
    static const struct opt_spec spec[] = {
        {"job", 0, true, O_JOB},       {"user", 0, true, O_USER}, {"action", 0, true, O_ACTION},
        {"since", 0, true, O_SINCE},   {"page", 0, true, O_PAGE}, {"size", 0, true, O_SIZE},
        {"json", 0, false, O_JSON},    {NULL, 0, false, 0},
    };
    static const char usage[] =
        "usage: sked audit [--job JOB] [--user NAME] [--action A] [--since TS]\n"
        "                  [--page N] [--size N] [--json]\n"
        "\n"
        "Lists the audit trail, newest first: every change made through the API or the\n"
        "user and token commands, and every sign-in. Admins only.\n"
        "\n"
        "  --job JOB            only entries of a job (its id, the start of it, or its title;\n"
        "                       the whole id also of a deleted job)\n"
        "  --user NAME          only what NAME did (a username, 'bootstrap', or the\n"
        "                       system user of a 'sked user' or 'sked token' command)\n"
        "  --action A           an action (run.stopped), or a kind of them, with or without\n"
        "                       its dot (job, run, user, token, login, queue): all of it\n"
        "  --since TS           only entries recorded at or after TS (2024-05-01 10:00 local\n"
        "                       time, as shown; 2024-05-01T10:00Z in UTC)\n"
        "  --page N, --size N   which page, of how many entries (default 1 and 25, at most\n"
        "                       1000)\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked audit", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    long page, size;
    int64_t since_us = 0;
    struct buf path = BUF_INIT;
    json_t *job = NULL, *list = NULL;
    if ((rc = opts_page(&o, O_PAGE, O_SIZE, &page, &size)) ||
        (rc = opts_time_local(&o, O_SINCE, false, &since_us)))
        goto out;
    /* a whole id is taken as it is: the trail of a deleted job (who deleted it?) is still there */
    const char *job_ref = opts_get(&o, O_JOB), *job_id = NULL;
    if (job_ref && uuid_valid(job_ref))
        job_id = job_ref;
    else if (job_ref && !(rc = job_resolve(&o.cl, job_ref, &job)))
        job_id = json_str(job, "id");
    if (rc) goto out;
    buf_printf(&path, "/api/audit?page=%ld&size=%ld", page, size);
    query_param(&path, "job_id", job_id);
    query_param(&path, "user", opts_get(&o, O_USER));
    query_param(&path, "action", opts_get(&o, O_ACTION));
    if (opts_get(&o, O_SINCE)) query_time(&path, "since", since_us);
    if ((rc = client_get_page(&o.cl, &list, size, buf_cstr(&path)))) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
        goto out;
    }
    struct table t;
    table_init(&t, 6, "TIME", "ACTOR", "ACTION", "ABOUT", "ADDRESS", "DETAILS");
    t.free_text = TABLE_COL(5);
    size_t i;
    json_t *e;
    json_array_foreach(list_hits(list), i, e)
    {
        char when[TIMEBUF], about[80];
        const json_t *actor = json_object_get(e, "actor");
        const char *who = json_str(actor, "name");
        const json_t *d = json_object_get(e, "details");
        char *details = d && !json_is_null(d) ? json_dumps(d, JSON_COMPACT) : NULL;
        table_row(&t, fmt_time(json_str(e, "ts"), when), who ? who : json_str(actor, "kind"),
                  json_str(e, "action"), concerned(e, list_hits(list), about),
                  json_str(e, "address"), details);
        free(details);
    }
    list_print(&t, list, page, size, "entries");
    table_free(&t);
out:
    buf_free(&path);
    json_decref(job);
    json_decref(list);
    opts_free(&o);
    return rc;
}
