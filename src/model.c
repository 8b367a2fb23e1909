/* model: status names, codes and the transition table; see model.h. */
#include "model.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/timeutil.h"
#include "base/xalloc.h"

static const char *status_names[RUN_STATUS_COUNT] = {
    "QUEUED", "RUNNING", "SUCCESS", "FAILED", "WARNING", "CANCELLING", "CANCELLED",
    "PARTIAL_SUCCESS"};
static const char status_codes[RUN_STATUS_COUNT] = {'Q', 'R', 'S', 'F', 'W', 'C', 'X', 'P'};

const char *run_status_name(enum run_status s)
{
    return (unsigned)s < RUN_STATUS_COUNT ? status_names[s] : "UNKNOWN";
}

char run_status_code(enum run_status s)
{
    return (unsigned)s < RUN_STATUS_COUNT ? status_codes[s] : '?';
}

int run_status_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < RUN_STATUS_COUNT; i++)
        if (strcasecmp(name, status_names[i]) == 0) return i;
    if (strlen(name) == 1) return run_status_from_code((char)toupper((unsigned char)name[0]));
    return -1;
}

int run_status_from_code(char c)
{
    for (int i = 0; i < RUN_STATUS_COUNT; i++)
        if (status_codes[i] == c) return i;
    return -1;
}

bool run_status_terminal(enum run_status s)
{
    return s == RUN_SUCCESS || s == RUN_FAILED || s == RUN_WARNING || s == RUN_CANCELLED ||
           s == RUN_PARTIAL_SUCCESS;
}

bool run_status_allowed(enum run_status from, enum run_status to)
{
    switch (from) {
    case RUN_QUEUED:
        /* FAILED: a run that could not be started (spawn error, unknown task). */
        return to == RUN_RUNNING || to == RUN_CANCELLING || to == RUN_FAILED;
    case RUN_RUNNING:
        return to == RUN_SUCCESS || to == RUN_PARTIAL_SUCCESS || to == RUN_FAILED ||
               to == RUN_WARNING || to == RUN_CANCELLING || to == RUN_CANCELLED;
    case RUN_CANCELLING:
        /* FAILED: the process was gone before the stop took effect (crash, restart). */
        return to == RUN_CANCELLED || to == RUN_FAILED;
    default:
        return false; /* terminal states never move */
    }
}

static const char *trigger_names[] = {"manual", "scheduled", "retry", "chained", "backfill"};

const char *run_trigger_name(enum run_trigger t)
{
    return (unsigned)t < sizeof trigger_names / sizeof *trigger_names ? trigger_names[t] : "manual";
}

int run_trigger_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof trigger_names / sizeof *trigger_names); i++)
        if (s && strcmp(s, trigger_names[i]) == 0) return i;
    return -1;
}

static const char *level_names[LL_COUNT] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

const char *log_line_level_name(int lvl)
{
    return (unsigned)lvl < LL_COUNT ? level_names[lvl] : "INFO";
}

int log_line_level_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < LL_COUNT; i++)
        if (strcasecmp(s, level_names[i]) == 0) return i;
    if (strcasecmp(s, "warn") == 0) return LL_WARNING;
    return -1;
}

const char *log_stream_name(int s)
{
    static const char *names[] = {"stdout", "stderr", "sked"};
    return (unsigned)s < 3 ? names[s] : "sked";
}

static const char *role_names[] = {"viewer", "operator", "admin"};

const char *role_name(int r)
{
    return (unsigned)r < 3 ? role_names[r] : "viewer";
}

int role_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, role_names[i]) == 0) return i;
    return -1;
}

const char *username_problem(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-") != n)
        return "1 to 64 ASCII letters, digits, '_', '.', '@' or '-'";
    if (strcasecmp(s, "bootstrap") == 0)
        return "'bootstrap' is reserved, in any case: it names the bootstrap token (SKED_ADMIN_TOKEN) "
               "in the audit trail, whose user filter would find both; choose another username";
    if (strcasecmp(s, "me") == 0)
        return "'me' is reserved, in any case: /api/users/me is the caller's own account; choose "
               "another username";
    return NULL;
}

void account_release(struct account *a)
{
    free(a->username);
    free(a->display_name);
    if (a->password_hash) memset(a->password_hash, 0, strlen(a->password_hash));
    free(a->password_hash);
    memset(a, 0, sizeof *a);
}

void token_release(struct token *t)
{
    free(t->account_name);
    free(t->name);
    free(t->prefix);
    memset(t, 0, sizeof *t);
}

void audit_entry_release(struct audit_entry *e)
{
    free(e->actor_kind);
    free(e->actor_id);
    free(e->actor_name);
    free(e->token_id);
    free(e->action);
    free(e->job_id);
    free(e->run_id);
    free(e->target);
    json_decref(e->details);
    free(e->address);
    free(e->job_title);
    memset(e, 0, sizeof *e);
}

static const char *overlap_names[] = {"allow", "skip", "queue_one", "cancel_previous"};
static const char *catchup_names[] = {"once", "skip", "all"};

const char *overlap_name(int p)
{
    return (unsigned)p < 4 ? overlap_names[p] : "allow";
}

int overlap_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, overlap_names[i]) == 0) return i;
    return -1;
}

const char *catchup_name(int p)
{
    return (unsigned)p < 3 ? catchup_names[p] : "once";
}

int catchup_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, catchup_names[i]) == 0) return i;
    return -1;
}

void job_init(struct job *j)
{
    memset(j, 0, sizeof *j);
    j->active = true;
    j->catchup_limit = 100;
    j->retry_backoff_ms = 30000;
    j->retention_ms = -1;
    j->timeout_ms = -1;
    j->next_run = NO_TIME;
    j->alert_after_ms = -1;
    j->overdue_at = NO_TIME;
    j->alert_from = NO_TIME;
}

void job_release(struct job *j)
{
    free(j->title);
    free(j->description);
    free(j->task);
    free(j->default_queue);
    json_decref(j->schedule);
    json_decref(j->run_args);
    json_decref(j->notifications);
    json_decref(j->on_success);
    job_init(j);
}

void job_copy(struct job *dst, const struct job *src)
{
    /* the JSON values are shared, as run_copy shares a run's: a job's values are replaced,
     * never edited in place */
    *dst = *src;
    dst->title = src->title ? xstrdup(src->title) : NULL;
    dst->description = src->description ? xstrdup(src->description) : NULL;
    dst->task = src->task ? xstrdup(src->task) : NULL;
    dst->default_queue = src->default_queue ? xstrdup(src->default_queue) : NULL;
    dst->schedule = json_incref(src->schedule);
    dst->run_args = json_incref(src->run_args);
    dst->notifications = json_incref(src->notifications);
    dst->on_success = json_incref(src->on_success);
}

bool job_notifies(const struct job *j, int status)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j->notifications, "statuses"), i, s)
        if (json_is_string(s) && run_status_parse(json_string_value(s)) == status) return true;
    return false;
}

void run_init(struct run *r)
{
    memset(r, 0, sizeof *r);
    r->scheduled_for = r->created = r->updated = r->started_at = r->finished_at = NO_TIME;
    r->until = NO_TIME;
    r->attempt = 1;
    r->timeout_ms = -1;
    r->not_before = NO_TIME;
}

void run_release(struct run *r)
{
    free(r->task);
    free(r->title);
    free(r->queue);
    json_decref(r->args);
    free(r->message);
    json_decref(r->output);
    json_decref(r->progress);
    free(r->parent_run_id);
    free(r->node);
    free(r->started_by.id);
    free(r->started_by.name);
    free(r->stopped_by.id);
    free(r->stopped_by.name);
    free(r->executor);
    json_decref(r->remote);
    free(r->job_title);
    run_init(r);
}

void run_copy(struct run *dst, const struct run *src)
{
    *dst = *src;
    dst->task = src->task ? xstrdup(src->task) : NULL;
    dst->title = src->title ? xstrdup(src->title) : NULL;
    dst->queue = src->queue ? xstrdup(src->queue) : NULL;
    dst->args = src->args ? json_incref(src->args) : NULL;
    dst->message = src->message ? xstrdup(src->message) : NULL;
    dst->output = src->output ? json_incref(src->output) : NULL;
    dst->progress = src->progress ? json_incref(src->progress) : NULL;
    dst->parent_run_id = src->parent_run_id ? xstrdup(src->parent_run_id) : NULL;
    dst->node = src->node ? xstrdup(src->node) : NULL;
    dst->started_by.id = src->started_by.id ? xstrdup(src->started_by.id) : NULL;
    dst->started_by.name = src->started_by.name ? xstrdup(src->started_by.name) : NULL;
    dst->stopped_by.id = src->stopped_by.id ? xstrdup(src->stopped_by.id) : NULL;
    dst->stopped_by.name = src->stopped_by.name ? xstrdup(src->stopped_by.name) : NULL;
    dst->executor = src->executor ? xstrdup(src->executor) : NULL;
    dst->remote = src->remote ? json_incref(src->remote) : NULL;
    dst->job_title = src->job_title ? xstrdup(src->job_title) : NULL;
}

/* An instant as the API writes it, or null. */
static json_t *instant_json(int64_t us)
{
    if (us == NO_TIME) return json_null();
    char ts[TIME_STR_MAX];
    time_format(us, ts);
    return json_string(ts);
}

json_t *account_to_json(const struct account *a)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:o}", "id", a->id, "username", a->username,
                     "display_name", a->display_name ? a->display_name : a->username, "role",
                     role_name(a->role), "disabled", a->disabled, "has_password",
                     a->password_hash != NULL, "created", instant_json(a->created), "updated",
                     instant_json(a->updated));
}

bool token_live(const struct token *t, int64_t now)
{
    return t->revoked_at == NO_TIME && (t->expires_at == NO_TIME || t->expires_at > now) &&
           !t->account_disabled;
}

json_t *token_to_json(const struct token *t, int64_t now)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:o,s:o,s:o,s:o,s:b}", "id", t->id, "name", t->name,
                     "prefix", t->prefix, "account_id", t->account_id, "username",
                     t->account_name, "created", instant_json(t->created), "expires_at",
                     instant_json(t->expires_at), "last_used", instant_json(t->last_used),
                     "revoked_at", instant_json(t->revoked_at), "active", token_live(t, now));
}
