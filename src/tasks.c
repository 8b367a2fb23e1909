/* tasks: the task-file loader and registry; see tasks.h. */
#include "tasks.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "builtin.h"
#include "celery_msg.h"
#include "schema.h"
#include "secrets.h"

#define TASK_FILE_MAX (1024 * 1024)

static const char *task_keys[] = {"id",      "title",      "description", "command", "builtin",
                                  "celery",  "arguments",  "default_queue", "timeout",
                                  "stop_grace", "env",     "working_dir", "operator_args"};
static const char *celery_keys[] = {"broker",     "result_backend", "task",
                                    "queue",      "positional",     "accept_timeout",
                                    "stop_grace", "send_since"};

static void celery_def_free(struct celery_def *c)
{
    if (!c) return;
    free(c->broker);
    free(c->result_backend);
    free(c->task);
    free(c->queue);
    json_decref(c->positional);
    free(c);
}

void task_free(struct task *t)
{
    if (!t) return;
    celery_def_free(t->celery);
    free(t->id);
    free(t->title);
    free(t->description);
    for (size_t i = 0; t->argv && i < t->argc; i++) free(t->argv[i]);
    free(t->argv);
    json_decref(t->arguments);
    free(t->builtin);
    free(t->default_queue);
    json_decref(t->env);
    free(t->working_dir);
    free(t->file);
    free(t);
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100 || !isalnum((unsigned char)s[0])) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return false;
    return true;
}

static char *join_path(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !*dir) return xstrdup(rel);
    return xasprintf("%s/%s", dir, rel);
}

bool task_has_arg(const struct task *t, const char *name)
{
    return t->arguments && json_object_get(json_object_get(t->arguments, "properties"), name);
}

/* "{{{{" stands for a literal "{{" in an argv element; "}}" outside a placeholder is
 * literal anyway. */
#define LITERAL_OPEN "{{{{"

/* Checks the {{name}} placeholders of one argv element. */
static int check_placeholders(const struct task *t, const char *s, const char *field,
                              struct sk_err *e)
{
    const char *p = s;
    while ((p = strstr(p, "{{")) != NULL) {
        if (strncmp(p, LITERAL_OPEN, 4) == 0) {
            p += 4;
            continue;
        }
        const char *end = strstr(p + 2, "}}");
        if (!end) return sk_err_set(e, -EINVAL, field, "unclosed {{ placeholder");
        size_t n = (size_t)(end - (p + 2));
        char name[128];
        if (n == 0 || n >= sizeof name)
            return sk_err_set(e, -EINVAL, field, "empty or over-long placeholder");
        memcpy(name, p + 2, n);
        name[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '_')
                return sk_err_set(e, -EINVAL, field,
                                  "placeholder {{%s}}: names hold letters, digits and _ (write "
                                  "{{{{ for a literal {{)",
                                  name);
        if (t->arguments && strcmp(name, "since") != 0 && !task_has_arg(t, name))
            return sk_err_set(e, -EINVAL, field,
                              "placeholder {{%s}} names no property of the arguments schema",
                              name);
        p = end + 2;
    }
    return 0;
}

/* doc's member key, or NULL when it is absent or null: in a task file null means "not given"
 * for every key that may be left out. */
static json_t *present(const json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_null(v) ? NULL : v;
}

/*
 * The since property of the arguments schema, when declared, must take what sked puts there:
 * the start of the job's last successful run as an RFC 3339 date-time, null on a first run, or
 * the date-time a user gives. Any other type or constraint would refuse sked's own value, and
 * every run after the first success would fail, so only a date-time string is accepted, with
 * its annotations. Checked before the schema itself, so that any other keyword gets this reason.
 */
static int check_since(const json_t *args, struct sk_err *e)
{
    static const char why[] = "sked fills since with the start of the last successful run (an "
                              "RFC 3339 date-time, null on a first run), so it can only be "
                              "declared as {\"type\": \"string\", \"format\": \"date-time\"}, "
                              "with a title or a description if wanted";
    const json_t *props = json_object_get(args, "properties");
    const json_t *since = json_object_get(props, "since");
    const json_t *req = json_object_get(args, "required");
    size_t i;
    json_t *v;
    json_array_foreach(json_is_object(props) ? req : NULL, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "since") == 0)
            return sk_err_set(e, -EINVAL, "arguments.required",
                              "'since' cannot be required: it is null on a job's first run; %s",
                              why);
    }
    if (!json_is_object(args) || !json_is_object(props) || !since) return 0;
    if (!json_is_object(since))
        return sk_err_set(e, -EINVAL, "arguments.properties.since", "must be a schema object; %s",
                          why);
    const char *k;
    json_object_foreach((json_t *)since, k, v)
    {
        char field[128];
        snprintf(field, sizeof field, "arguments.properties.since.%.60s", k);
        if (strcmp(k, "type") == 0) {
            if (!json_is_string(v) || strcmp(json_string_value(v), "string") != 0)
                return sk_err_set(e, -EINVAL, field, "must be \"string\": %s", why);
        } else if (strcmp(k, "format") == 0) {
            if (!json_is_string(v) || strcmp(json_string_value(v), "date-time") != 0)
                return sk_err_set(e, -EINVAL, field, "must be \"date-time\": %s", why);
        } else if (strcmp(k, "default") == 0) {
            if (!json_is_null(v))
                return sk_err_set(e, -EINVAL, field, "must be null or left out: %s", why);
        } else if (strcmp(k, "title") != 0 && strcmp(k, "description") != 0) {
            return sk_err_set(e, -EINVAL, field, "not allowed on since: %s", why);
        }
    }
    return 0;
}

static int duration_field(json_t *doc, const char *key, int64_t *out, struct sk_err *e)
{
    json_t *v = json_object_get(doc, key);
    *out = -1;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0)
            return sk_err_set(e, -EINVAL, key, "must be a positive number of seconds");
        if (json_integer_value(v) > DURATION_MAX_MS / 1000)
            return sk_err_set(e, -EINVAL, key, "%s", DURATION_TOO_LONG);
        *out = json_integer_value(v) * 1000;
        return 0;
    }
    const char *why;
    if (!json_is_string(v) || duration_parse(json_string_value(v), out, &why) != 0)
        return sk_err_set(e, -EINVAL, key, "%s",
                          json_is_string(v) ? why : "must be a duration such as \"90s\" or \"2h\"");
    if (*out <= 0) return sk_err_set(e, -EINVAL, key, "must be longer than zero");
    return 0;
}

/* A Celery queue name: what kombu accepts as a Redis list name and a person can type. */
static bool valid_celery_queue(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-:@", s[i])) return false;
    return true;
}

/* 0, or the reason why s is not a URL sked can use (in e, field set by the caller): a Redis
 * URL, or for a broker an AMQP one as well. */
static int check_url(const char *s, bool broker, struct sk_err *e)
{
    if (broker && celery_url_is_amqp(s)) {
        struct amqp_url a;
        int rc = amqp_url_parse(s, &a, e);
        if (rc) return rc;
        /* TLS files are read at each connection: one missing now is said now */
        const char *names[] = {"ssl_ca_certs", "ssl_certfile", "ssl_keyfile"};
        const char *files[] = {a.ca_certs, a.certfile, a.keyfile};
        for (int i = 0; i < 3 && rc == 0; i++)
            if (files[i] && access(files[i], R_OK) != 0)
                rc = sk_err_set(e, -EINVAL, "broker", "URL option %s: cannot read %s: %s",
                                names[i], files[i], strerror(errno));
        amqp_url_free(&a);
        return rc;
    }
    if (broker && strncasecmp(s, "rpc://", 6) == 0)
        return sk_err_set(e, -EINVAL, "broker",
                          "rpc:// names a result backend (results sent back over AMQP), not a "
                          "broker: a broker is redis://[[user]:password@]host[:port][/db] or "
                          "amqp://[user[:password]@]host[:port][/vhost]");
    struct redis_url u;
    int rc = redis_url_parse(s, &u, e);
    if (rc == 0) redis_url_free(&u);
    return rc;
}

/* The "celery" object: sets t->celery and t->stop_grace_ms (its stop_grace). */
static int parse_celery(json_t *c, struct task *t, struct sk_err *e)
{
    char field[64];
    if (!json_is_object(c)) return sk_err_set(e, -EINVAL, "celery", "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof celery_keys / sizeof *celery_keys; i++)
            ok = ok || strcmp(k, celery_keys[i]) == 0;
        snprintf(field, sizeof field, "celery.%.50s", k);
        if (!ok) return sk_err_set(e, -EINVAL, field, "unknown key");
    }
    struct celery_def *d = t->celery = xcalloc(1, sizeof *d);
    static const char *urls[] = {"broker", "result_backend"};
    for (int i = 0; i < 2; i++) {
        const char *u = json_str(c, urls[i]);
        snprintf(field, sizeof field, "celery.%s", urls[i]);
        if (!u)
            return sk_err_set(e, -EINVAL, field,
                              i ? "required, a Redis URL such as redis://127.0.0.1:6379/1"
                                : "required, a Redis URL such as redis://127.0.0.1:6379/0 or an "
                                  "AMQP one such as amqp://guest:guest@127.0.0.1:5672//");
        /* what is wrong with it (TLS, AMQP as a result backend, an option), never the URL,
         * which may hold a password */
        int rc = check_url(u, i == 0, e);
        if (rc) {
            snprintf(e->field, sizeof e->field, "%s", field);
            return rc;
        }
        *(i ? &d->result_backend : &d->broker) = xstrdup(u);
    }
    v = json_object_get(c, "task");
    const char *name = json_string_value(v);
    if (v && !name)
        return sk_err_set(e, -EINVAL, "celery.task",
                          "must be a string, the registered Celery task name, not %s",
                          json_type_name(v));
    if (name && strlen(name) > 200)
        return sk_err_set(e, -EINVAL, "celery.task", "at most 200 characters");
    if (!name || !*name || strpbrk(name, " \t\r\n\"'\\"))
        return sk_err_set(e, -EINVAL, "celery.task",
                          "required, the registered Celery task name without spaces or quotes, "
                          "e.g. app.tasks.process");
    d->task = xstrdup(name);
    v = json_object_get(c, "queue");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || !valid_celery_queue(json_string_value(v)))
            return sk_err_set(e, -EINVAL, "celery.queue",
                              "a Celery queue name (1..200 ASCII letters, digits, '_', '.', '-', ':', "
                              "'@'), or null for the run's queue");
        d->queue = xstrdup(json_string_value(v));
    }
    v = json_object_get(c, "positional");
    d->positional = json_array();
    if (v && !json_is_null(v)) {
        if (!json_is_array(v))
            return sk_err_set(e, -EINVAL, "celery.positional", "must be an array of argument names");
        size_t i;
        json_t *a;
        json_array_foreach(v, i, a)
        {
            if (!json_is_string(a) || !task_has_arg(t, json_string_value(a)))
                return sk_err_set(e, -EINVAL, "celery.positional",
                                  "item %zu: must name an argument of the arguments schema", i);
            for (size_t j = 0; j < i; j++)
                if (json_equal(json_array_get(v, j), a))
                    return sk_err_set(e, -EINVAL, "celery.positional",
                                      "item %zu: names '%s' again (item %zu): an argument is "
                                      "passed once",
                                      i, json_string_value(a), j);
            json_array_append(d->positional, a);
        }
    }
    v = present(c, "send_since");
    if (v && !json_is_boolean(v))
        return sk_err_set(e, -EINVAL, "celery.send_since", "must be true or false");
    d->send_since = !v || json_is_true(v);
    int rc = duration_field(c, "accept_timeout", &d->accept_timeout_ms, e);
    if (rc == 0) rc = duration_field(c, "stop_grace", &t->stop_grace_ms, e);
    if (rc) {
        snprintf(field, sizeof field, "celery.%.50s", e->field);
        snprintf(e->field, sizeof e->field, "%s", field);
        return rc;
    }
    if (d->accept_timeout_ms < 0) d->accept_timeout_ms = 60000;
    return 0;
}

const char *task_queue_error(const struct task *t, const struct queue_names *queues,
                             const char *queue, char *buf, size_t len)
{
    if (!queue || !*queue) return "required, a queue name";
    if (t && t->celery) {
        if (t->celery->queue && strcmp(queue, t->celery->queue) != 0)
            snprintf(buf, len, "this job type always goes to the Celery queue '%s'",
                     t->celery->queue);
        else if (!valid_celery_queue(queue))
            snprintf(buf, len, "'%.200s' is not a Celery queue name (ASCII letters, digits, '_', '.', "
                               "'-', ':', '@')", queue);
        else
            return NULL;
        return buf;
    }
    for (size_t i = 0; queues && i < queues->count; i++)
        if (strcmp(queues->names[i], queue) == 0) return NULL;
    if (!queues) return NULL;
    struct buf names = BUF_INIT;
    for (size_t i = 0; i < queues->count; i++)
        buf_printf(&names, "%s%s", i ? ", " : "", queues->names[i]);
    snprintf(buf, len, "unknown queue '%.200s' (configured: %s)", queue, buf_cstr(&names));
    buf_free(&names);
    return buf;
}

const char *task_default_queue(const struct task *t, const struct queue_names *queues)
{
    if (t && t->default_queue) return t->default_queue;
    if (t && t->celery) return t->celery->queue ? t->celery->queue : "celery";
    return queues && queues->count ? queues->names[0] : "default";
}

static int parse_doc(json_t *doc, const char *dir, const struct queue_names *queues,
                     struct task *t, struct sk_err *e)
{
    if (!json_is_object(doc)) return sk_err_set(e, -EINVAL, "(file)", "must hold a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof task_keys / sizeof *task_keys; i++)
            ok = ok || strcmp(k, task_keys[i]) == 0;
        if (!ok) return sk_err_set(e, -EINVAL, k, "unknown key");
    }
    const char *id = json_str(doc, "id");
    if (!id) return sk_err_set(e, -EINVAL, "id", "required, a string");
    if (!valid_id(id))
        return sk_err_set(e, -EINVAL, "id",
                          "must be 1..100 ASCII letters, digits, '_', '.' or '-', starting with a "
                          "letter or digit");
    t->id = xstrdup(id);
    const char *title = json_str(doc, "title");
    if (!title || !*title) return sk_err_set(e, -EINVAL, "title", "required, a non-empty string");
    if (utf8_blank(title)) return sk_err_set(e, -EINVAL, "title", "must not be blank");
    t->title = xstrdup(title);
    v = present(doc, "description");
    if (v && !json_is_string(v)) return sk_err_set(e, -EINVAL, "description", "must be a string");
    t->description = xstrdup(v ? json_string_value(v) : "");

    json_t *args = present(doc, "arguments");
    if (args) {
        int rc = check_since(args, e);
        if (rc == 0) rc = schema_check(args, "arguments", e);
        if (rc) return rc;
        if (strcmp(json_str(args, "type"), "object") != 0)
            return sk_err_set(e, -EINVAL, "arguments.type", "must be \"object\"");
        t->arguments = json_incref(args);
    }

    json_t *cmd = present(doc, "command");
    json_t *bi = present(doc, "builtin");
    json_t *cel = present(doc, "celery");
    if (!!cmd + !!bi + !!cel > 1)
        return sk_err_set(e, -EINVAL, cel ? "celery" : "builtin",
                          "give one of command, builtin or celery");
    int rc = duration_field(doc, "stop_grace", &t->stop_grace_ms, e);
    if (rc) return rc;
    if (cel) {
        if (t->stop_grace_ms >= 0)
            return sk_err_set(e, -EINVAL, "stop_grace", "goes inside \"celery\" for a Celery job type");
        if ((rc = parse_celery(cel, t, e)) != 0) return rc;
    } else if (bi) {
        if (!json_is_string(bi) || !builtin_find(json_string_value(bi)))
            return sk_err_set(e, -EINVAL, "builtin", "unknown builtin (one of %s)", builtin_names());
        t->builtin = xstrdup(json_string_value(bi));
    } else if (!cmd) {
        return sk_err_set(e, -EINVAL, "command",
                          "required, an array of strings (argv), unless builtin or celery is given");
    }
    if (cmd) {
    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return sk_err_set(e, -EINVAL, "command", "must be a non-empty array of strings (argv)");
    t->argc = json_array_size(cmd);
    t->argv = xcalloc(t->argc + 1, sizeof *t->argv);
    for (size_t i = 0; i < t->argc; i++) {
        char field[32];
        snprintf(field, sizeof field, "command[%zu]", i);
        json_t *a = json_array_get(cmd, i);
        if (!json_is_string(a)) return sk_err_set(e, -EINVAL, field, "must be a string");
        const char *s = json_string_value(a);
        if (i == 0 && !*s) return sk_err_set(e, -EINVAL, field, "must not be empty");
        if (strlen(s) != json_string_length(a))
            return sk_err_set(e, -EINVAL, field, "must not contain NUL bytes");
        if ((rc = check_placeholders(t, s, field, e)) != 0) return rc;
        if (i == 0 && strstr(s, "{{"))
            return sk_err_set(e, -EINVAL, field,
                              "the program itself cannot be a placeholder or hold {{");
        t->argv[i] = (i == 0 && strchr(s, '/')) ? join_path(dir, s) : xstrdup(s);
    }
    }

    v = json_object_get(doc, "default_queue");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return sk_err_set(e, -EINVAL, "default_queue", "must be a string");
        char why[512];
        const char *bad = task_queue_error(t, queues, json_string_value(v), why, sizeof why);
        if (bad) return sk_err_set(e, -EINVAL, "default_queue", "%s", bad);
        t->default_queue = xstrdup(json_string_value(v));
    }
    rc = duration_field(doc, "timeout", &t->timeout_ms, e);
    if (rc) return rc;

    v = json_object_get(doc, "env");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) return sk_err_set(e, -EINVAL, "env", "must be an object of strings");
        json_t *val;
        json_object_foreach(v, k, val)
        {
            char field[160];
            snprintf(field, sizeof field, "env.%.150s", k);
            if (!json_is_string(val)) return sk_err_set(e, -EINVAL, field, "must be a string");
            if (!*k || strchr(k, '=')) return sk_err_set(e, -EINVAL, field, "not a variable name");
            if (strncmp(k, "SKED_", 5) == 0)
                return sk_err_set(e, -EINVAL, field, "SKED_* variables are set by sked");
        }
        t->env = json_incref(v);
    }
    v = json_object_get(doc, "operator_args");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return sk_err_set(e, -EINVAL, "operator_args", "must be true or false");
    t->admin_args = json_is_false(v);
    t->secret_defaults = secrets_referred(t->arguments);

    v = json_object_get(doc, "working_dir");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return sk_err_set(e, -EINVAL, "working_dir", "must be a non-empty string");
        t->working_dir = join_path(dir, json_string_value(v));
    } else {
        t->working_dir = xstrdup(dir && *dir ? dir : ".");
    }
    return 0;
}

int tasks_parse(const char *text, size_t len, const char *file, const char *dir,
                const struct queue_names *queues, struct task **out, struct sk_err *e)
{
    struct sk_err inner = {0};
    *out = NULL;
    /* a byte order mark, which some editors write, is no part of the JSON (RFC 8259 lets a
     * reader skip it) */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) text += 3, len -= 3;
    json_t *doc = json_parse(text, len, "(file)", &inner);
    struct task *t = xcalloc(1, sizeof *t);
    t->timeout_ms = t->stop_grace_ms = -1;
    int rc = doc ? parse_doc(doc, dir, queues, t, &inner) : -EINVAL;
    json_decref(doc);
    if (rc) {
        task_free(t);
        return sk_err_set(e, -EINVAL, inner.field, "%s: %s: %s", file, inner.field, inner.msg);
    }
    t->file = xstrdup(file);
    *out = t;
    return 0;
}

struct taskset *taskset_new(void)
{
    struct taskset *ts = xcalloc(1, sizeof *ts);
    map_init(&ts->by_id);
    return ts;
}

static int cmp_task(const void *a, const void *b)
{
    return strcmp((*(struct task *const *)a)->id, (*(struct task *const *)b)->id);
}

int taskset_add(struct taskset *ts, struct task *t)
{
    if (map_get(&ts->by_id, t->id)) return -EEXIST;
    ts->tasks = xrealloc(ts->tasks, (ts->count + 1) * sizeof *ts->tasks);
    ts->tasks[ts->count++] = t;
    qsort(ts->tasks, ts->count, sizeof *ts->tasks, cmp_task);
    map_put(&ts->by_id, t->id, t);
    return 0;
}

void taskset_free(struct taskset *ts)
{
    if (!ts) return;
    for (size_t i = 0; i < ts->count; i++) task_free(ts->tasks[i]);
    free(ts->tasks);
    map_release(&ts->by_id);
    free(ts);
}

const struct task *taskset_get(const struct taskset *ts, const char *id)
{
    return id ? map_get(&ts->by_id, id) : NULL;
}

static int read_file(const char *path, struct buf *out, struct sk_err *e)
{
    /* non-blocking, so that a FIFO named like a task file does not hold the open (and the
     * loop, at a reload) until something writes to it */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return sk_err_set(e, -errno, "", "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sk_err_set(e, -EINVAL, "(file)",
                          "%s: (file): not a regular file (a task file holds one JSON object; "
                          "move anything else out of the tasks folder)",
                          path);
    }
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        if (out->len + (size_t)n > TASK_FILE_MAX) {
            close(fd);
            return sk_err_set(e, -EFBIG, "(file)", "%s: (file): larger than 1 MiB (%d bytes)", path,
                              TASK_FILE_MAX);
        }
        buf_append(out, chunk, (size_t)n);
    }
    int err = n < 0 ? errno : 0;
    close(fd);
    if (err) return sk_err_set(e, -err, "", "%s: cannot read: %s", path, strerror(err));
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tasks_load_dir(const char *dir, const struct queue_names *queues, struct taskset **out,
                   struct sk_err *e, struct buf *others)
{
    *out = NULL;
    /* absolute, so a relative command path still resolves after the task's chdir */
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        return sk_err_set(e, -errno, "tasks",
                          "%s: cannot open tasks directory: %s (the folder of the task files: "
                          "--tasks, SKED_TASKS or [server] tasks)",
                          dir, strerror(errno));
    dir = abs;
    DIR *d = opendir(dir);
    if (!d)
        return sk_err_set(e, -errno, "tasks",
                          "%s: cannot open tasks directory: %s (the folder of the task files: "
                          "--tasks, SKED_TASKS or [server] tasks)",
                          dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str); /* names is NULL in an empty folder */
    struct taskset *ts = taskset_new();
    int rc = 0;
    for (size_t i = 0; i < n && (rc == 0 || others); i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        struct buf text = BUF_INIT;
        struct task *t = NULL;
        struct sk_err fe = {0}; /* this file's */
        int frc = read_file(path, &text, &fe);
        if (frc == 0)
            frc = tasks_parse(text.data ? text.data : "", text.len, path, dir, queues, &t, &fe);
        if (frc == 0 && taskset_add(ts, t) != 0) {
            const struct task *prev = taskset_get(ts, t->id);
            frc = sk_err_set(&fe, -EEXIST, "id", "%s: id: '%s' is already declared by %s", path,
                             t->id, prev->file);
            task_free(t);
        }
        if (frc && rc == 0) {
            rc = frc;
            if (e) *e = fe;
        } else if (frc) {
            buf_printf(others, "%s\n", fe.msg);
        }
        buf_free(&text);
        free(path);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc) {
        taskset_free(ts);
        return rc;
    }
    *out = ts;
    return 0;
}

char *task_expand(const char *s, const json_t *args)
{
    struct buf b = BUF_INIT;
    const char *p = s;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (open && strncmp(open, LITERAL_OPEN, 4) == 0) {
            buf_append(&b, p, (size_t)(open - p) + 2);
            p = open + 4;
            continue;
        }
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        char *name = xstrndup(open + 2, (size_t)(close - open - 2));
        json_t *v = json_object_get(args, name);
        if (json_is_string(v)) {
            buf_append(&b, json_string_value(v), json_string_length(v));
        } else if (v && !json_is_null(v)) {
            char *d = json_dump(v);
            buf_puts(&b, d);
            free(d);
        }
        free(name);
        p = close + 2;
    }
    return buf_steal(&b);
}
