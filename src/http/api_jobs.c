/* api_jobs: /api/jobs - list, create, read, replace, update, delete. */
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "args.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "builtin.h"
#include "cron.h"
#include "notify.h"
#include "offload.h"
#include "scheduler.h"
#include "schema.h"
#include "secrets.h"

/* addresses a job's notifications go to */
#define NOTIFY_EMAILS_MAX 50

static const char *writable[] = {"title",         "description",   "task",
                                 "active",        "default_queue", "schedule",
                                 "args",          "custom_args",   "notification_emails",
                                 "notification_statuses", "timeout", "overlap",
                                 "catchup",       "catchup_limit", "max_retries",
                                 "retry_backoff", "retention",     "notification_webhooks",
                                 "on_success",    "alert_after",   NULL};
/* sent back by clients that PUT what they read; ignored */
static const char *read_only[] = {"id",       "created",   "updated",      "links",
                                  "last_run", "last_runs", "default_args", "next_run",
                                  "run_args", "skipped_fires", "overdue_since", NULL};

#define ON_SUCCESS_MAX 20

/* A duration field of at least min_ms, or null (-1), into *out: true when body gives it (or a
 * PUT, full, leaves it to null) and it is good; errs says why not ("must be a duration such as
 * " shape). */
static bool duration_field(json_t *body, const char *key, bool full, int64_t min_ms,
                           const char *shape, json_t *errs, int64_t *out)
{
    json_t *v = json_object_get(body, key);
    if (!v && !full) return false;
    int64_t ms = -1;
    const char *why = NULL;
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || duration_parse(json_string_value(v), &ms, &why) != 0 || ms < min_ms)) {
        char least[32];
        duration_format(min_ms, least);
        if (ms >= 0 && ms < min_ms)
            json_errs_add(errs, key, "must be at least %s", least);
        else if (why)
            json_errs_add(errs, key, "%s", why);
        else
            json_errs_add(errs, key, "must be a duration such as %s", shape);
        return false;
    }
    *out = ms;
    return true;
}

static bool in_list(const char *k, const char **list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0) return true;
    return false;
}

static const char *notify_statuses[] = {"SUCCESS", "PARTIAL_SUCCESS", "FAILED", "CANCELLED",
                                        "WARNING", NULL};

/* Adds "must be a string (what)" for item i of list field key: the item is named, as its value
 * (a number, an object) is no text to quote. */
/* Whether the string s is among the first i items of list (ignoring case when nocase): a list
 * item given twice would be stored, shown and acted on twice. */
static bool listed_before(const json_t *list, size_t i, const char *s, bool nocase)
{
    for (size_t m = 0; m < i; m++) {
        const char *earlier = json_string_value(json_array_get(list, m));
        if (earlier && (nocase ? strcasecmp(s, earlier) : strcmp(s, earlier)) == 0) return true;
    }
    return false;
}

static void item_not_string(json_t *errs, const char *key, size_t i, const char *what)
{
    char f[64];
    snprintf(f, sizeof f, "%s[%zu]", key, i);
    json_errs_add(errs, f, "must be a string (%s)", what);
}

void api_job_apply(const struct taskset *ts, const struct config *cfg, json_t *body,
                   struct job *j, bool create, bool full, json_t *errs)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (!in_list(k, writable) && !in_list(k, read_only))
            json_errs_add(errs, k, "unknown field%s", *k ? "" : ": a field without a name");
    }

    /* task first: other fields depend on it */
    json_t *task = json_object_get(body, "task");
    const struct task *t = NULL;
    if (create) {
        if (task && !json_is_string(task)) {
            json_errs_add(errs, "task", "must be a string: the id of a job type (see GET /api/tasks)");
        } else if (!task || json_string_length(task) == 0) {
            json_errs_add(errs, "task", "required: the id of a job type (see GET /api/tasks)");
        } else if (!(t = taskset_get(ts, json_string_value(task)))) {
            json_errs_add(errs, "task", "unknown job type '%s' (see GET /api/tasks)",
                          json_string_value(task));
        } else {
            j->task = xstrdup(json_string_value(task));
        }
    } else {
        if (task && !json_is_null(task) &&
            (!json_is_string(task) || strcmp(json_string_value(task), j->task) != 0))
            json_errs_add(errs, "task", "the job type of a job cannot be changed");
        t = taskset_get(ts, j->task);
    }

    json_t *title = json_object_get(body, "title");
    if (title || full) {
        size_t len = json_is_string(title) ? utf8_chars(json_string_value(title)) : 0;
        if (!json_is_string(title) || len < 1 || len > 250) {
            json_errs_add(errs, "title", title ? "must be a string of 1 to 250 characters"
                                               : "required: a string of 1 to 250 characters");
        } else if (utf8_blank(json_string_value(title))) {
            json_errs_add(errs, "title", "must not be blank");
        } else if (utf8_has_control(json_string_value(title))) {
            /* a title is one line in lists, logs, notifications' subjects and the audit */
            json_errs_add(errs, "title", "must be one line without control characters");
        } else {
            free(j->title);
            j->title = xstrdup(json_string_value(title));
        }
    }
    json_t *desc = json_object_get(body, "description");
    if (desc || full) {
        if (desc && !json_is_null(desc) && !json_is_string(desc)) {
            json_errs_add(errs, "description", "must be a string or null");
        } else if (desc && json_is_string(desc) && json_string_length(desc) > 100000) {
            json_errs_add(errs, "description", "must be at most 100000 bytes (UTF-8)");
        } else {
            free(j->description);
            j->description = json_is_string(desc) ? xstrdup(json_string_value(desc)) : NULL;
        }
    }
    json_t *active = json_object_get(body, "active");
    if (active || full) {
        if (active && !json_is_boolean(active))
            json_errs_add(errs, "active", "must be true or false");
        else {
            bool was = j->active;
            j->active = active ? json_is_true(active) : true;
            /* time spent inactive is not held against its alert, nor is an alert kept open */
            if (j->active && !was) j->alert_from = time_now_us();
            if (!j->active && was) j->overdue_at = NO_TIME;
        }
    }
    json_t *queue = json_object_get(body, "default_queue");
    if (queue || full) {
        const char *q = NULL;
        if (queue && !json_is_null(queue)) {
            struct queue_names qn = config_queue_names(cfg);
            char why[512];
            const char *bad = NULL;
            if (!json_is_string(queue))
                json_errs_add(errs, "default_queue", "must be a queue name");
            else if ((bad = task_queue_error(t, &qn, json_string_value(queue), why, sizeof why)))
                json_errs_add(errs, "default_queue", "%s", bad);
            else
                q = json_string_value(queue);
        } else {
            struct queue_names qn = config_queue_names(cfg);
            q = task_default_queue(t, &qn);
        }
        if (q) {
            free(j->default_queue);
            j->default_queue = xstrdup(q);
        }
    }
    json_t *sched = json_object_get(body, "schedule");
    if (sched || full) {
        /* the schedule as stored, sent back (a PUT of the job as read, an import): read as
         * stored, so an interval whose zone has left tzdata since is not refused for it */
        bool as_stored = sched && j->schedule && json_equal(sched, j->schedule);
        struct schedule parsed;
        if (!sched || json_is_null(sched) ||
            (as_stored ? schedule_parse_stored(sched, "schedule", &parsed, errs)
                       : schedule_parse(sched, "schedule", &parsed, errs)) == 0) {
            json_decref(j->schedule);
            j->schedule = sched && !json_is_null(sched) ? json_incref(sched) : NULL;
        }
    }
    /* turned on with its stored schedule, which may no longer hold (its time zone was removed
     * from the system's tzdata): rather than an active job that never fires, say why */
    if (active && json_is_true(active) && !sched && j->schedule) {
        struct schedule parsed;
        schedule_parse_stored(j->schedule, "schedule", &parsed, errs);
    }

    /* notifications */
    json_t *emails = json_object_get(body, "notification_emails");
    json_t *statuses = json_object_get(body, "notification_statuses");
    json_t *hooks = json_object_get(body, "notification_webhooks");
    if (emails || statuses || hooks || full) {
        json_t *n = j->notifications ? json_deep_copy(j->notifications) : json_object();
        if (emails || full) {
            size_t i;
            json_t *e;
            /* bounded, as each address is compared with those before it and gets an e-mail
             * of every run that ends */
            bool list = json_is_array(emails) && json_array_size(emails) <= NOTIFY_EMAILS_MAX;
            if (emails && !json_is_null(emails) && !list)
                json_errs_add(errs, "notification_emails",
                              "must be a list of at most %d e-mail addresses", NOTIFY_EMAILS_MAX);
            json_array_foreach(list ? emails : NULL, i, e)
            {
                const char *s = json_string_value(e), *why = s ? mail_address_problem(s) : NULL;
                if (!s)
                    item_not_string(errs, "notification_emails", i, "an e-mail address");
                else if (why)
                    json_errs_add(errs, "notification_emails", "'%.60s%s' is not an e-mail address: %s",
                                  s, strlen(s) > 60 ? "…" : "", why);
                else if (listed_before(emails, i, s, true)) /* one mailbox, one e-mail */
                    json_errs_add(errs, "notification_emails", "'%.60s%s' is listed twice", s,
                                  strlen(s) > 60 ? "…" : "");
            }
            json_object_set_new(n, "emails", json_is_array(emails) ? json_incref(emails) : json_array());
        }
        if (statuses || full) {
            size_t i;
            json_t *e;
            bool list = json_is_array(statuses) && json_array_size(statuses) <= 5;
            if (statuses && !json_is_null(statuses) && !list)
                json_errs_add(errs, "notification_statuses",
                              "must be a list of run statuses, each at most once");
            json_array_foreach(list ? statuses : NULL, i, e)
            {
                const char *s = json_string_value(e);
                if (!s)
                    item_not_string(errs, "notification_statuses", i,
                                    "one of SUCCESS, PARTIAL_SUCCESS, FAILED, CANCELLED, WARNING");
                else if (!in_list(s, notify_statuses))
                    json_errs_add(errs, "notification_statuses",
                                  "'%.60s%s' is not one of SUCCESS, PARTIAL_SUCCESS, FAILED, "
                                  "CANCELLED, WARNING",
                                  s, strlen(s) > 60 ? "…" : "");
                else if (listed_before(statuses, i, s, false))
                    json_errs_add(errs, "notification_statuses", "'%s' is listed twice", s);
            }
            json_object_set_new(n, "statuses",
                                json_is_array(statuses) ? json_incref(statuses) : json_array());
        }
        if (hooks || full) {
            size_t i;
            json_t *e;
            if (hooks && !json_is_null(hooks) &&
                (!json_is_array(hooks) || json_array_size(hooks) > 10))
                json_errs_add(errs, "notification_webhooks", "must be a list of at most 10 URLs");
            json_array_foreach(json_is_array(hooks) ? hooks : NULL, i, e)
            {
                const char *u = json_string_value(e), *why = u ? notify_url_problem(u) : NULL;
                if (!u)
                    item_not_string(errs, "notification_webhooks", i, "an http:// or https:// URL");
                else if (why)
                    json_errs_add(errs, "notification_webhooks", "'%.60s%s' %s", u,
                                  strlen(u) > 60 ? "…" : "", why);
                else if (listed_before(hooks, i, u, false)) /* one POST a run, not two */
                    json_errs_add(errs, "notification_webhooks", "'%.60s%s' is listed twice", u,
                                  strlen(u) > 60 ? "…" : "");
            }
            json_object_set_new(n, "webhooks", json_is_array(hooks) ? json_incref(hooks) : json_array());
        }
        json_decref(j->notifications);
        j->notifications = n;
    }

    json_t *timeout = json_object_get(body, "timeout");
    if (timeout || full) {
        if (!timeout || json_is_null(timeout)) {
            j->timeout_ms = -1;
        } else {
            int64_t ms = 0;
            const char *why = "must be a duration such as \"90s\" or \"2h\", or null";
            if (json_is_integer(timeout)) {
                json_int_t n = json_integer_value(timeout);
                why = n > DURATION_MAX_MS / 1000 ? DURATION_TOO_LONG
                      : n <= 0                    ? "must be longer than zero"
                                                  : NULL;
                ms = why ? 0 : n * 1000;
            } else if (json_is_string(timeout)) {
                duration_parse(json_string_value(timeout), &ms, &why);
            }
            if (!why && ms <= 0) why = "must be longer than zero";
            if (why)
                json_errs_add(errs, "timeout", "%s", why);
            else
                j->timeout_ms = ms;
        }
    }

    json_t *ov = json_object_get(body, "overlap");
    if (ov || full) {
        int p = ov ? overlap_parse(json_string_value(ov)) : OVERLAP_ALLOW;
        if (p < 0)
            json_errs_add(errs, "overlap", "must be allow, skip, queue_one or cancel_previous");
        else
            j->overlap = p;
    }
    json_t *cu = json_object_get(body, "catchup");
    if (cu || full) {
        int p = cu ? catchup_parse(json_string_value(cu)) : CATCHUP_ONCE;
        if (p < 0)
            json_errs_add(errs, "catchup", "must be once, skip or all");
        else
            j->catchup = p;
    }
    /* whole numbers as arguments and schedules read them: 5.0 (JavaScript's, Python's float)
     * is 5 */
    json_t *cl = json_object_get(body, "catchup_limit");
    json_int_t whole;
    if (cl || full) {
        if (!cl)
            j->catchup_limit = 100;
        else if (!json_whole(cl, &whole) || whole < 1 || whole > 10000)
            json_errs_add(errs, "catchup_limit", "must be a whole number from 1 to 10000");
        else
            j->catchup_limit = (int)whole;
    }

    json_t *mr = json_object_get(body, "max_retries");
    if (mr || full) {
        if (!mr || json_is_null(mr))
            j->max_retries = 0;
        else if (!json_whole(mr, &whole) || whole < 0 || whole > 100)
            json_errs_add(errs, "max_retries", "must be a whole number from 0 to 100");
        else
            j->max_retries = (int)whole;
    }
    json_t *rb = json_object_get(body, "retry_backoff");
    if (rb || full) {
        int64_t ms = 30000;
        const char *why = "must be a duration such as \"30s\" or \"5m\"";
        if (rb && !json_is_null(rb) &&
            (!json_is_string(rb) || duration_parse(json_string_value(rb), &ms, &why) != 0))
            json_errs_add(errs, "retry_backoff", "%s", why);
        else if (ms > RETRY_BACKOFF_MAX_MS)
            json_errs_add(errs, "retry_backoff", "at most 1h: the backoff doubles up to 1h anyway");
        else
            j->retry_backoff_ms = ms;
    }
    int64_t ms;
    if (duration_field(body, "retention", full, 60000, "\"30d\", or null for the default", errs, &ms))
        j->retention_ms = ms;
    if (duration_field(body, "alert_after", full, 1000, "\"26h\", or null for no alert", errs,
                       &ms) &&
        ms != j->alert_after_ms) {
        j->alert_after_ms = ms;
        j->overdue_at = NO_TIME; /* judged afresh by the new alert, counting from now */
        j->alert_from = time_now_us();
    }

    /* jobs started when a run succeeds: their form here, their existence and the absence of a
     * cycle by check_on_success, which reads the store */
    json_t *next = json_object_get(body, "on_success");
    if (next || full) {
        json_t *ids = NULL;
        if (next && !json_is_null(next) &&
            (!json_is_array(next) || json_array_size(next) > ON_SUCCESS_MAX)) {
            json_errs_add(errs, "on_success", "must be a list of at most %d job ids",
                          ON_SUCCESS_MAX);
        } else if (json_array_size(next)) {
            ids = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(next, i, e)
            {
                const char *id = json_string_value(e);
                if (!id) {
                    item_not_string(errs, "on_success", i, "a job id");
                    continue;
                }
                if (!uuid_valid(id)) {
                    json_errs_add(errs, "on_success", "'%s' is not a job id", id);
                    continue;
                }
                char low[UUID_STR_LEN];
                for (size_t c = 0; c < UUID_STR_LEN; c++) low[c] = (char)tolower((unsigned char)id[c]);
                bool twice = false;
                size_t n;
                json_t *seen;
                json_array_foreach(ids, n, seen) twice = twice || strcmp(json_string_value(seen), low) == 0;
                if (twice)
                    json_errs_add(errs, "on_success", "job %s is listed twice", low);
                else
                    json_array_append_new(ids, json_string(low));
            }
        }
        json_decref(j->on_success);
        j->on_success = ids;
    }

    /* saved arguments and custom args */
    json_t *args = json_object_get(body, "args");
    json_t *custom_in = json_object_get(body, "custom_args");
    /* the path of the custom args' errors: where they were given, as for a run's */
    const char *custom_field = custom_in ? "custom_args" : "args.custom_args";
    if (!custom_in && json_is_object(args)) custom_in = json_object_get(args, "custom_args");
    if (args || custom_in || full) {
        json_t *run_args = json_object();
        if (args && !json_is_null(args) && !json_is_object(args)) {
            json_errs_add(errs, "args", "must be an object");
        } else if (json_is_object(args)) {
            json_object_update(run_args, args);
            json_object_del(run_args, "custom_args");
            json_object_del(run_args, "job_arg_schema");
        } else if (!args && !full && j->run_args) {
            json_object_update(run_args, j->run_args); /* PATCH of custom_args only */
            json_object_del(run_args, "custom_args");
        }
        /* since: normalised, or dropped when empty (it then follows the last success) */
        json_t *since = json_object_get(run_args, "since");
        if (since && (json_is_null(since) || (json_is_string(since) && !json_string_length(since)))) {
            json_object_del(run_args, "since");
        } else if (since) {
            int64_t us;
            const char *why = "must be a date-time string";
            if (json_is_string(since) && time_parse(json_string_value(since), &us, &why) == 0) {
                /* saved, it is every run's: each would handle nothing */
                args_since_future(us, json_string_value(since), errs);
                char tsbuf[TIME_STR_MAX];
                time_format(us, tsbuf);
                json_object_set_new(run_args, "since", json_string(tsbuf));
            } else {
                json_errs_add(errs, "args.since", "%s", why);
            }
        }
        size_t before = json_array_size(errs);
        if (t && t->arguments) {
            schema_coerce(t->arguments, run_args); /* 5.0 saved as 5 where an integer is due */
            json_t *check = json_deep_copy(run_args);
            json_object_del(check, "since"); /* checked above */
            schema_validate_partial(t->arguments, check, "args", errs);
            json_decref(check);
        }
        /* what a builtin's schema cannot say, once the schema holds */
        if (t && t->builtin && json_array_size(errs) == before)
            builtin_check(t->builtin, run_args, true, errs);
        if (!t && j->task && json_is_object(args)) {
            /* no schema to check them against: kept as they were, not replaced unchecked */
            json_t *saved = j->run_args ? json_deep_copy(j->run_args) : json_object();
            json_object_del(saved, "custom_args");
            if (!json_equal(saved, run_args))
                json_errs_add(errs, "args",
                              "job type '%s' is not loaded, so new arguments cannot be checked; "
                              "load its task file, or leave args out",
                              j->task);
            json_decref(saved);
        }
        /* a large saved value is sent with the job and every run of it: checked as given */
        if (json_is_object(args)) args_too_large(run_args, "args", "", errs);
        if (json_is_object(args)) args_too_deep(t, run_args, "args", errs);
        json_t *custom = NULL;
        if (custom_in) {
            if (args_parse_custom(custom_in, custom_field, &custom, errs) == 0 &&
                !args_too_large(custom, custom_field, "", errs))
                args_too_deep(t, custom, custom_field, errs);
        } else if (!full && j->run_args) {
            json_t *old = json_object_get(j->run_args, "custom_args");
            custom = old ? json_incref(old) : NULL; /* PATCH of args keeps custom args */
        }
        /* each secret they refer to must be there now (it is read again at each start); only
         * an admin gets this far with arguments (an operator's PATCH names schedule and active
         * alone, and its role is checked before its fields), so the messages name the file */
        secrets_check(cfg->secrets_dir, run_args, "args", true, errs);
        if (custom) secrets_check(cfg->secrets_dir, custom, custom_in ? custom_field : "custom_args",
                                  true, errs);
        if (custom) json_object_set_new(run_args, "custom_args", custom);
        json_decref(j->run_args);
        j->run_args = run_args;
    }
}

/* The fields a person edits, for the audit trail's before/after. */
static json_t *editable(const struct job *j)
{
    char d[32] = "", rb[32], ret[32] = "", al[32] = "";
    if (j->timeout_ms > 0) duration_format(j->timeout_ms, d);
    duration_format(j->retry_backoff_ms, rb);
    if (j->retention_ms >= 0) duration_format(j->retention_ms, ret);
    if (j->alert_after_ms >= 0) duration_format(j->alert_after_ms, al);
    json_t *o = json_pack("{s:s?,s:s?,s:b,s:s?,s:O?,s:O?,s:O?,s:s?,s:s,s:s,s:i,s:i,s:s,s:s?}", "title",
                     j->title, "description", j->description, "active", j->active,
                     "default_queue", j->default_queue, "schedule", j->schedule, "run_args",
                     j->run_args, "notifications", j->notifications, "timeout", *d ? d : NULL,
                     "overlap", overlap_name(j->overlap), "catchup", catchup_name(j->catchup),
                     "catchup_limit", j->catchup_limit, "max_retries", j->max_retries,
                     "retry_backoff", rb, "retention", *ret ? ret : NULL);
    json_object_set_new(o, "on_success", j->on_success ? json_incref(j->on_success) : json_array());
    json_object_set_new(o, "alert_after", *al ? json_string(al) : json_null());
    return o;
}

/* Audits an edit: job.updated with every changed field, plus job.scheduled and
 * job.activated / job.deactivated when those changed. */
static void audit_edit(struct api_ctx *c, const struct job *before, const struct job *after)
{
    json_t *a = editable(before), *b = editable(after), *changes = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v)
    {
        json_t *old = json_object_get(a, k);
        if (!json_equal(old, v))
            json_object_set_new(changes, k, json_pack("{s:O,s:O}", "before", old, "after", v));
    }
    if (json_object_get(changes, "schedule"))
        api_audit(c, "job.scheduled", after->id, NULL, NULL,
                  json_deep_copy(json_object_get(changes, "schedule")));
    if (json_object_get(changes, "active"))
        api_audit(c, after->active ? "job.activated" : "job.deactivated", after->id, NULL, NULL,
                  NULL);
    if (json_object_size(changes))
        api_audit(c, "job.updated", after->id, NULL, NULL, json_pack("{s:o}", "changes", changes));
    else
        json_decref(changes);
    json_decref(a);
    json_decref(b);
}

/* A job's entity tag: its "updated" as its document shows it, quoted, so a client can also
 * build it from a job it read in a list. */
#define ETAG_MAX (TIME_STR_MAX + 2)
static void job_etag(const struct job *j, char out[ETAG_MAX])
{
    char ts[TIME_STR_MAX];
    time_format(j->updated, ts);
    snprintf(out, ETAG_MAX, "\"%s\"", ts);
}

/* s for a message: at most max characters of it, and "…" for one that is longer or not all
 * printable ASCII (a header's bytes need not be UTF-8). Static: one use at a time. */
static const char *ascii_or_dots(const char *s, size_t max)
{
    static char out[128];
    size_t n = 0;
    for (; s[n] && n < max && n < sizeof out - 1; n++) {
        if (s[n] < ' ' || s[n] > '~') return "…";
        out[n] = s[n];
    }
    if (s[n]) return "…";
    out[n] = '\0';
    return out;
}

/* Answers 400 naming header (If-Match), whose value h is malformed. */
static void bad_etags(struct api_ctx *c, const char *header, const char *h)
{
    json_t *errs = json_array();
    json_errs_add(errs, header,
                  "must be * or a comma-separated list of quoted entity tags, such as the job's "
                  "ETag as it was sent (\"2026-11-29T11:05:32.371647+00:00\", quotes included), "
                  "not %s",
                  ascii_or_dots(h, 100));
    api_invalid(c, errs);
}

/* If-Match (RFC 9110 §13.1.1): whether a write may change job j, which is when the request has
 * no If-Match, "*", or j's tag among its comma-separated ones, on one line or several (a weak
 * W/ one never matches); else answered 412, the change made since the client read the job
 * kept, or 400 when the header is no list of tags (a tag sent without its quotes would never
 * match: a 412 would send the client to read the job again and again). */
static bool if_match(struct api_ctx *c, const struct job *j)
{
    const char *h = http_header(c->req, "If-Match");
    char tag[ETAG_MAX];
    job_etag(j, tag);
    int m = http_etag_match(c->req, "If-Match", tag, false);
    if (m == -1 || m == 1) return true;
    if (m == -2) {
        bad_etags(c, "If-Match", h);
        return false;
    }
    http_add_header(c->req, "ETag", tag);
    api_error(c, 412,
              "the job changed since it was read (If-Match %s, the job's ETag is now %s): read it "
              "again, make the change on what it is now, and send its new ETag",
              ascii_or_dots(h, 100), tag);
    return false;
}

static void reply_job(struct api_ctx *c, int status, const struct job *j, bool with_last)
{
    char tag[ETAG_MAX];
    job_etag(j, tag);
    http_add_header(c->req, "ETag", tag);
    struct buf b = BUF_INIT;
    buf_reserve(&b, with_last ? 8000 : 1500);
    api_job_write(c, &b, j, with_last);
    http_reply(c->req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

/* A dry run's answer: the job as it would be, without an ETag (no such version exists). */
static void reply_dry(struct api_ctx *c, const struct job *j)
{
    struct buf b = BUF_INIT;
    api_job_write(c, &b, j, false);
    http_reply(c->req, 200, "application/json", b.data, b.len);
    buf_free(&b);
}

/* A page of the jobs list, read off the loop (api_read_off_loop). */
struct joblist {
    struct page p;
    struct job_query q; /* its strings owned */
    int rc;
    struct job *jobs;
    struct job_last *last; /* each job's newest runs, for its document */
    size_t n;
    bool cut; /* fewer jobs than the page's size were read for want of room */
    int64_t total;
    int64_t used; /* no job matched a job type: how many jobs are of it at all (< 0: unread) */
};

static void joblist_read(struct store *reader, void *arg)
{
    struct joblist *l = arg;
    l->rc = reader ? store_job_list(reader, &l->q, &l->jobs, &l->n, &l->total, &l->cut) : -EIO;
    if (l->rc) return;
    l->last = xcalloc(l->n ? l->n : 1, sizeof *l->last);
    /* each job's document holds up to nine runs, read while those read so far take at most
     * API_PAGE_MAX_BYTES (the jobs' own rows were bounded by the store's read) */
    size_t bytes = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i && bytes > API_PAGE_MAX_BYTES) {
            for (size_t k = i; k < l->n; k++) job_release(&l->jobs[k]);
            l->n = i;
            l->cut = true;
            break;
        }
        struct job_last *last = &l->last[i];
        api_job_last_read(reader, l->jobs[i].id, true, last);
        bytes += last->any ? last->last.row_bytes : 0;
        for (int s = 0; s < RUN_STATUS_COUNT; s++)
            bytes += last->has[s] ? last->by[s].row_bytes : 0;
    }
    if (l->total == 0 && l->q.task) {
        /* whether the job type names any job: a misspelt one is refused on the loop, which
         * knows the job types loaded */
        struct job_query any = {.active = -1, .task = l->q.task};
        struct job *none;
        size_t nn;
        int64_t used = 0;
        int rc = store_job_list(reader, &any, &none, &nn, &used, NULL);
        if (rc == 0) store_jobs_free(none, nn);
        l->used = rc == 0 ? used : -1;
    }
}

static void joblist_answer(struct api_ctx *c, void *arg)
{
    struct joblist *l = arg;
    if (c && l->rc) {
        api_error(c, 503, "the store failed; see the server log");
    } else if (c && l->total == 0 && l->q.task && l->used == 0 &&
               !taskset_get(dispatch_tasks(c->api->dispatch), l->q.task)) {
        /* a job type that is neither loaded nor the type of any job is a misspelt one (ids
         * are case-sensitive), which would otherwise find nothing, as if there were no such
         * jobs; one whose task file was removed is still the type of the jobs made of it */
        json_t *errs = json_array();
        json_errs_add(errs, "task",
                      "unknown job type '%.60s%s': no job type of this id is loaded and no "
                      "job is of it (ids are case-sensitive; see GET /api/tasks)",
                      l->q.task, strlen(l->q.task) > 60 ? "…" : "");
        api_invalid(c, errs);
    } else if (c) {
        struct page_items it = {0};
        it.cut = l->cut;
        size_t room = api_items_room(&l->p, l->n, l->cut);
        for (size_t i = 0; i < room; i++) {
            api_items_begin(&it);
            api_job_write_with(c, &it.b, &l->jobs[i], true, &l->last[i]);
            if (!api_items_end(&it, &l->p)) break;
        }
        api_reply_items(c, &it, l->total, &l->p, NULL, NULL);
    }
    if (l->rc == 0) {
        for (size_t i = 0; i < l->n; i++) api_job_last_release(&l->last[i]);
        free(l->last);
        store_jobs_free(l->jobs, l->n);
    }
    free((char *)l->q.q);
    free((char *)l->q.task);
    free((char *)l->q.starts);
    free((char *)l->q.id_prefix);
    free(l);
}

void api_jobs_list(struct api_ctx *c)
{
    static const char *const sorts[] = {"title", "created", "updated", NULL};
    static const char *const known[] = {"q",         "active",        "task", "starts",
                                        "id_prefix", API_PAGE_PARAMS, NULL};
    json_t *errs = json_array();
    api_params_known(c, known, errs);
    struct page p;
    api_page(c, &p, "title", false, sorts, errs);
    struct job_query q = {0};
    /* an empty q is a search too: every title holds the empty text */
    q.q = api_param(c, "q", "a text to find", API_PARAM_EMPTY, errs);
    q.active = api_bool_param(c, "active", errs);
    q.task = api_param(c, "task", "the id of a job type (see GET /api/tasks)", 0, errs);
    /* the jobs that start this one when they succeed (its upstream in chains) */
    char starts[UUID_STR_LEN];
    const char *st = api_param(c, "starts", "a job id (UUID)", 0, errs);
    if (st) {
        if (!uuid_valid(st)) {
            json_errs_add(errs, "starts", "must be a job id (UUID)");
        } else {
            for (size_t i = 0; i < sizeof starts; i++) starts[i] = (char)tolower((unsigned char)st[i]);
            q.starts = starts;
        }
    }
    /* the jobs whose id starts so: what 'sked job show 01a2' looks for */
    char prefix[UUID_STR_LEN];
    const char *pre = api_param(c, "id_prefix", "the start of a job id", 0, errs);
    if (pre) {
        size_t len = strlen(pre);
        bool ok = len < sizeof prefix;
        for (size_t i = 0; ok && i < len; i++) ok = isxdigit((unsigned char)pre[i]) || pre[i] == '-';
        if (!ok) {
            json_errs_add(errs, "id_prefix", "must be the start of a job id: at most 36 hex "
                                             "digits and dashes");
        } else {
            for (size_t i = 0; i <= len; i++) prefix[i] = (char)tolower((unsigned char)pre[i]);
            q.id_prefix = prefix;
        }
    }
    if (json_array_size(errs)) {
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    q.sort = p.sort;
    q.desc = p.desc;
    q.offset = (p.page - 1) * p.size;
    q.limit = p.size;
    q.max_bytes = API_PAGE_MAX_BYTES;
    /* every page counts the jobs that match and sorts them (0.1-0.4 s at 100,000 jobs), and
     * each job's document reads its newest runs: read off the loop */
    struct joblist *l = xcalloc(1, sizeof *l);
    l->p = p;
    l->q = q;
    l->q.q = q.q ? xstrdup(q.q) : NULL;
    l->q.task = q.task ? xstrdup(q.task) : NULL;
    l->q.starts = q.starts ? xstrdup(q.starts) : NULL;
    l->q.id_prefix = q.id_prefix ? xstrdup(q.id_prefix) : NULL;
    l->rc = -EIO;
    l->used = -1;
    api_read_off_loop(c, joblist_read, joblist_answer, l);
}

/* Whether a chain of on_success lists leads from job `from` to job `to`, with the titles on
 * the way appended to path (" → TITLE"). seen holds the jobs already walked. */
static bool leads_to(struct store *st, const char *from, const char *to, struct map *seen,
                     struct buf *path)
{
    if (map_get(seen, from)) return false;
    map_put(seen, from, (void *)1);
    struct job j;
    if (store_job_get(st, from, &j) != 0) return false;
    size_t mark = path->len;
    buf_printf(path, " → %s", j.title);
    bool found = strcmp(from, to) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(found ? NULL : j.on_success, i, e)
    {
        if ((found = leads_to(st, json_string_value(e), to, seen, path))) break;
    }
    if (!found) path->len = mark, path->data[mark] = '\0';
    job_release(&j);
    return found;
}

/* The jobs of j->on_success must exist, not be j, and not lead back to j. */
static void check_on_success(struct api_ctx *c, const struct job *j, json_t *errs)
{
    size_t i;
    json_t *e;
    json_array_foreach(j->on_success, i, e)
    {
        const char *id = json_string_value(e);
        struct job next;
        if (strcmp(id, j->id) == 0) {
            json_errs_add(errs, "on_success", "a job cannot start itself");
        } else if (store_job_get(c->api->store, id, &next) != 0) {
            json_errs_add(errs, "on_success", "no job with ID %s (see GET /api/jobs)", id);
        } else {
            struct map seen;
            map_init(&seen);
            struct buf path = BUF_INIT;
            if (leads_to(c->api->store, id, j->id, &seen, &path))
                json_errs_add(errs, "on_success", "would make a cycle: %s%s", j->title,
                              buf_cstr(&path));
            buf_free(&path);
            map_release(&seen);
            job_release(&next);
        }
    }
}

/* ?dry_run=true: a write checked as it would be made, answered with the job it would make,
 * and not made. Other parameters are refused (a misspelt dry_run would write). */
static bool dry_run(struct api_ctx *c, json_t *errs)
{
    static const char *const known[] = {"dry_run", NULL};
    api_params_known(c, known, errs);
    return api_bool_param(c, "dry_run", errs) == 1;
}

void api_jobs_create(struct api_ctx *c)
{
    json_t *body = api_body(c);
    if (!body) return;
    struct job j;
    job_init(&j);
    json_t *errs = json_array();
    bool dry = dry_run(c, errs);
    api_job_apply(dispatch_tasks(c->api->dispatch), c->api->cfg, body, &j, true, true, errs);
    json_decref(body);
    uuid_v4(j.id);
    /* the ids that are well formed, also when other fields are not: every problem at once */
    check_on_success(c, &j, errs);
    if (json_array_size(errs)) {
        job_release(&j);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    j.created = j.updated = time_now_us();
    scheduler_prepare(c->api->sched, NULL, &j, j.created);
    if (dry) { /* the job as it would be made; its id is kept nowhere */
        reply_dry(c, &j);
        job_release(&j);
        return;
    }
    if (store_job_insert(c->api->store, &j) != 0) {
        job_release(&j);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    scheduler_job_saved(c->api->sched, &j);
    if (j.alert_after_ms >= 0 && c->api->notify) notify_recheck(c->api->notify);
    api_audit(c, "job.created", j.id, NULL, NULL, json_pack("{s:o}", "job", editable(&j)));
    api_location(c, "/api/jobs/%s", j.id);
    reply_job(c, 201, &j, false);
    job_release(&j);
}

/*
 * Job documents as last sent, a few slots chosen by the job's id: a read of a job when nothing
 * was written to the store since (the same store_generation) and with the same base of links
 * sends the same text again without reading the store. Documents with a figure that moves with
 * the clock are not kept. The job types are part of a document too (its default_args):
 * api_forget empties the slots when they are loaded again.
 */
#define JOB_DOCS 16

struct job_doc {
    char id[UUID_STR_LEN]; /* "" while empty */
    char etag[ETAG_MAX];
    bool admin;            /* written for an admin (who sees webhooks whole) */
    char base[256];
    uint64_t gen;
    struct buf body;
};

static struct job_doc *job_doc_slot(struct api *api, const char *id)
{
    if (!api->docs) api->docs = xcalloc(JOB_DOCS, sizeof *api->docs);
    unsigned h = 0;
    for (const char *p = id; *p; p++) h = h * 31 + (unsigned char)*p;
    return &api->docs[h % JOB_DOCS];
}

void api_forget(struct api *api)
{
    for (int i = 0; api->docs && i < JOB_DOCS; i++) api->docs[i].id[0] = '\0';
}

static void purge_free(struct purge *p);

void api_release(struct api *api)
{
    while (api->purges) purge_free(api->purges); /* deletions the stop cut short */
    for (int i = 0; api->docs && i < JOB_DOCS; i++) buf_free(&api->docs[i].body);
    free(api->docs);
    api->docs = NULL;
    for (int i = 0; i < API_READERS; i++) {
        store_close(api->readers[i]);
        api->readers[i] = NULL;
    }
    offload_free(api->quick); /* its reads answered (or their clients gone) first */
    api->quick = NULL;
    store_close(api->quick_reader);
    api->quick_reader = NULL;
}

void api_jobs_get(struct api_ctx *c)
{
    char base[256];
    api_base_url(c, base, sizeof base);
    uint64_t gen = store_generation(c->api->store);
    struct job_doc *d = job_doc_slot(c->api, c->m->params[0]);
    bool admin = c->who.role == ROLE_ADMIN;
    if (d->gen == gen && d->admin == admin && !strcmp(d->id, c->m->params[0]) &&
        !strcmp(d->base, base)) {
        http_add_header(c->req, "ETag", d->etag);
        http_reply(c->req, 200, "application/json", d->body.data, d->body.len);
        return;
    }
    struct job j;
    if (api_load_job(c, &j)) return;
    struct run r;
    bool has_runs = store_run_latest(c->api->store, j.id, -1, &r) == 0;
    if (has_runs) run_release(&r);
    buf_reset(&d->body);
    api_job_write(c, &d->body, &j, has_runs);
    job_etag(&j, d->etag);
    http_add_header(c->req, "ETag", d->etag);
    http_reply(c->req, 200, "application/json", d->body.data, d->body.len);
    if (c->live) {
        d->id[0] = '\0';
    } else {
        snprintf(d->id, sizeof d->id, "%s", j.id);
        snprintf(d->base, sizeof d->base, "%s", base);
        d->gen = gen;
        d->admin = admin;
    }
    job_release(&j);
}

/* ---- a job's recent runs in figures ---- */

#define STATS_RUNS_MAX 1000

struct job_stats {
    int64_t by_status[RUN_STATUS_COUNT];
    int64_t n, oldest, newest; /* runs looked at; the oldest's creation, the newest's end */
    int64_t *us;               /* the durations of those that started */
    size_t nsecs;
};

static void stats_add(void *arg, int status, int64_t created, int64_t started, int64_t finished)
{
    struct job_stats *st = arg;
    if (status < 0 || status >= RUN_STATUS_COUNT) return;
    st->by_status[status]++;
    if (st->n++ == 0) st->newest = finished;
    st->oldest = created;
    if (started != NO_TIME && finished != NO_TIME && finished >= started)
        st->us[st->nsecs++] = finished - started;
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Microseconds as seconds to the millisecond (more would be the clocks' noise). */
static double secs_ms(int64_t us)
{
    return (double)((us + 500) / 1000) / 1000;
}

/* The nearest-rank percentile p of sorted v[0..n-1], n > 0, in seconds. */
static double percentile(const int64_t *v, size_t n, int p)
{
    size_t rank = ((size_t)p * n + 99) / 100;
    return secs_ms(v[rank ? rank - 1 : 0]);
}

void api_jobs_stats(struct api_ctx *c)
{
    struct job j;
    if (api_load_job(c, &j)) return;
    json_t *errs = json_array();
    static const char *const known[] = {"runs", NULL};
    api_params_known(c, known, errs);
    int64_t limit = api_int_param(c, "runs", 100, 1, STATS_RUNS_MAX, errs);
    if (json_array_size(errs)) {
        job_release(&j);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    struct job_stats st = {.oldest = NO_TIME, .newest = NO_TIME};
    st.us = xmalloc((size_t)limit * sizeof *st.us);
    int rc = store_job_finished_runs(c->api->store, j.id, (int)limit, stats_add, &st);
    if (rc) {
        free(st.us);
        job_release(&j);
        api_error(c, 503, "the store failed; see the server log");
        return;
    }
    json_t *by = json_object();
    for (int i = 0; i < RUN_STATUS_COUNT; i++)
        if (st.by_status[i])
            json_object_set_new(by, run_status_name(i), json_integer(st.by_status[i]));
    json_t *dur = json_null();
    if (st.nsecs) {
        qsort(st.us, st.nsecs, sizeof *st.us, cmp_int64);
        int64_t sum = 0;
        for (size_t i = 0; i < st.nsecs; i++) sum += st.us[i];
        dur = json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "runs", (json_int_t)st.nsecs, "min",
                        percentile(st.us, st.nsecs, 0), "p50", percentile(st.us, st.nsecs, 50),
                        "p90", percentile(st.us, st.nsecs, 90), "p95",
                        percentile(st.us, st.nsecs, 95), "max", percentile(st.us, st.nsecs, 100),
                        "mean", secs_ms(sum / (int64_t)st.nsecs));
    }
    char from[TIME_STR_MAX] = "", to[TIME_STR_MAX] = "";
    if (st.oldest != NO_TIME) time_format(st.oldest, from);
    if (st.newest != NO_TIME) time_format(st.newest, to);
    /* of the runs that ended in a verdict: cancelled ones ran no course to judge */
    int64_t judged = st.n - st.by_status[RUN_CANCELLED];
    json_t *rate = judged ? json_real((double)((st.by_status[RUN_SUCCESS] * 10000 + judged / 2) /
                                               judged) / 10000)
                          : json_null();
    api_json(c, 200, json_pack("{s:s,s:I,s:I,s:s?,s:s?,s:o,s:o,s:o}", "job_id", j.id, "limit",
                               (json_int_t)limit, "runs", (json_int_t)st.n, "from",
                               *from ? from : NULL, "to", *to ? to : NULL, "statuses", by,
                               "success_rate", rate, "duration_seconds", dur));
    free(st.us);
    job_release(&j);
}

/* The least role that may send this PATCH: an operator's may schedule, unschedule, activate
 * and deactivate, nothing else (not even an empty {}, which only touches updated). */
static int patch_role(json_t *body)
{
    bool scheduling = json_object_size(body) > 0;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) scheduling =
        scheduling && (strcmp(k, "schedule") == 0 || strcmp(k, "active") == 0);
    return scheduling ? ROLE_OPERATOR : ROLE_ADMIN;
}

static void update(struct api_ctx *c, bool full)
{
    struct job j, old;
    if (api_load_job(c, &j)) return;
    if (!if_match(c, &j)) {
        job_release(&j);
        return;
    }
    json_t *body = api_body(c);
    if (!body) {
        job_release(&j);
        return;
    }
    /* the role once the body is read, before its fields are checked: which fields it names
     * decides the least role that may send it, and checking them reads the store and the
     * secrets folder (whether a secret's file is there), which a caller who may not make the
     * change learns nothing of */
    int least = full ? ROLE_ADMIN : patch_role(body);
    if (c->who.role < least) {
        json_decref(body);
        job_release(&j);
        api_error(c, 403, "Permission denied: %s /api/jobs/{} needs the %s role (you are %s).",
                  full ? "PUT" : "PATCH", least == ROLE_OPERATOR ? "operator or admin" : "admin",
                  role_name(c->who.role));
        return;
    }
    if (store_job_get(c->api->store, j.id, &old) != 0) job_init(&old);
    json_t *errs = json_array();
    bool dry = dry_run(c, errs);
    api_job_apply(dispatch_tasks(c->api->dispatch), c->api->cfg, body, &j, false, full, errs);
    json_decref(body);
    check_on_success(c, &j, errs);
    if (json_array_size(errs)) {
        job_release(&j);
        job_release(&old);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    j.updated = time_now_us();
    scheduler_prepare(c->api->sched, old.id[0] ? &old : NULL, &j, j.updated);
    if (dry) { /* the job as it would be saved */
        job_release(&old);
        reply_dry(c, &j);
        job_release(&j);
        return;
    }
    int rc = store_job_update(c->api->store, &j);
    if (rc == 0 && old.id[0]) {
        audit_edit(c, &old, &j);
        /* an overdue job's alert closed without a success: told to whom the old job told */
        if (old.overdue_at != NO_TIME && j.overdue_at == NO_TIME)
            notify_alert_closed(c->api->notify, &old,
                                !j.active                ? "deactivated"
                                : j.alert_after_ms < 0   ? "alert_removed"
                                                         : "alert_changed");
    }
    job_release(&old);
    if (rc) {
        job_release(&j);
        if (rc == -ENOENT)
            api_error(c, 404, "Job with ID %s does not exist.", c->m->params[0]);
        else
            api_error(c, 503, "the store failed; see the server log");
        return;
    }
    scheduler_job_saved(c->api->sched, &j);
    if (j.alert_after_ms >= 0 && c->api->notify) notify_recheck(c->api->notify);
    struct run r;
    bool has_runs = store_run_latest(c->api->store, j.id, -1, &r) == 0;
    if (has_runs) run_release(&r);
    reply_job(c, 200, &j, has_runs);
    job_release(&j);
}

void api_jobs_put(struct api_ctx *c)
{
    update(c, true);
}

void api_jobs_patch(struct api_ctx *c)
{
    update(c, false);
}

/*
 * A job's deletion deletes its runs first, PURGE_BATCH at a time, one batch per turn of the
 * loop, each in that turn's commit, so that requests are answered and schedules fire between
 * them (one statement for a job of 1,000,000 runs held the loop for 14 s); the request waits
 * and is answered once the job itself is gone. The job's runs are stopped and its schedule
 * dropped at the start, and again at the end, for what was made meanwhile (a chained run).
 * From the start the job counts as gone to requests (api_job_purging): a change, a run or a
 * second delete conditional on the ETag the deletion passed would otherwise be answered 2xx
 * and then deleted with it.
 */
#define PURGE_BATCH 2000

struct purge {
    struct api *api;
    struct http_req *req; /* NULL once the client has left: the deletion goes on */
    struct principal who;
    char peer[64];        /* for the audit trail, which the deletion ends with */
    struct job j;
    struct event *ev;
    struct purge *next;   /* in api->purges */
};

static void purge_gone(struct http_req *req, void *arg)
{
    (void)req;
    ((struct purge *)arg)->req = NULL;
}

static void purge_free(struct purge *p)
{
    for (struct purge **at = &p->api->purges; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    if (p->req) http_req_hold(p->req, NULL, NULL);
    event_free(p->ev);
    job_release(&p->j);
    free(p);
}

/* One batch of the job's runs, or the job itself once they are gone; answers when done. */
static void purge_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct purge *p = arg;
    struct api *api = p->api;
    int deleted = 0;
    int rc = store_job_purge_runs(api->store, p->j.id, PURGE_BATCH, &deleted);
    if (rc == 0 && deleted == PURGE_BATCH) {
        static const struct timeval next = {0, 0};
        evtimer_add(p->ev, &next); /* the next turn of the loop, after this one's commit */
        return;
    }
    if (rc == 0) {
        dispatch_job_deleted(api->dispatch, p->j.id);
        scheduler_job_deleted(api->sched, p->j.id);
        struct job last; /* as it is now: an alert may have been sent meanwhile */
        if (store_job_get(api->store, p->j.id, &last) == 0) {
            job_release(&p->j);
            p->j = last;
        }
        rc = store_job_delete(api->store, p->j.id);
        if (rc == 0) notify_alert_closed(api->notify, &p->j, "deleted");
        if (rc == 0) rc = store_job_unchain(api->store, p->j.id, time_now_us());
    }
    struct route_match none;
    memset(&none, 0, sizeof none);
    struct api_ctx c = {api, p->req, &none, p->who, false, p->peer};
    if (rc == 0)
        api_audit(&c, "job.deleted", p->j.id, NULL, NULL,
                  json_pack("{s:s,s:s}", "title", p->j.title, "task", p->j.task));
    if (p->req) {
        http_req_hold(p->req, NULL, NULL);
        if (rc && rc != -ENOENT)
            api_error(&c, 503, "the store failed; see the server log");
        else
            http_reply(p->req, 204, NULL, NULL, 0);
        p->req = NULL;
    }
    purge_free(p);
}

bool api_job_purging(const struct api *api, const char *id)
{
    for (const struct purge *p = api->purges; p; p = p->next)
        if (strcasecmp(p->j.id, id) == 0) return true;
    return false;
}

void api_jobs_delete(struct api_ctx *c)
{
    struct purge *p = xcalloc(1, sizeof *p);
    if (api_load_job(c, &p->j)) {
        free(p);
        return;
    }
    if (!if_match(c, &p->j)) {
        job_release(&p->j);
        free(p);
        return;
    }
    /* runs still executing are stopped first, so nothing runs for a job that is gone */
    dispatch_job_deleted(c->api->dispatch, p->j.id);
    scheduler_job_deleted(c->api->sched, p->j.id);
    p->api = c->api;
    p->req = c->req;
    p->who = c->who;
    snprintf(p->peer, sizeof p->peer, "%s", c->req->peer);
    p->ev = evtimer_new(c->api->base, purge_step, p);
    p->next = c->api->purges;
    c->api->purges = p;
    http_req_hold(c->req, purge_gone, p);
    purge_step(-1, 0, p);
}
