/*
 * test_tasks: task files. A bad task file must stop sked with "FILE: field: reason" naming
 * exactly what to fix, and a good one must come out with its paths resolved the way the
 * executor expects (relative programs against the file's folder, bare names left for PATH).
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "base/json.h"
#include "model.h"
#include "tasks.h"

static const char *const queue_list[] = {"default", "low"};
static const struct queue_names queues = {queue_list, 2};

static struct task *parse_ok(const char *text, const char *dir)
{
    struct task *t = NULL;
    struct sk_err e = {0};
    if (tasks_parse(text, strlen(text), "x.json", dir, &queues, &t, &e) != 0)
        fail_msg("refused: %s", e.msg);
    assert_non_null(t);
    return t;
}

/* Parses text, expects a refusal, and checks the "FILE: field: reason" text. */
static void parse_bad(const char *text, const char *field, const char *reason)
{
    struct task *t = (struct task *)1;
    struct sk_err e = {0};
    assert_int_equal(tasks_parse(text, strlen(text), "tasks.d/x.json", "tasks.d", &queues, &t, &e),
                     -EINVAL);
    assert_null(t);
    assert_int_equal(e.code, -EINVAL);
    if (strcmp(e.field, field) != 0)
        fail_msg("expected field %s, got %s (%s)", field, e.field, e.msg);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "tasks.d/x.json: %s: ", field);
    if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
        fail_msg("expected \"%s...\", got \"%s\"", prefix, e.msg);
    if (reason) assert_contains(e.msg + strlen(prefix), reason);
    assert_null(strstr(e.msg, "s3cret")); /* a refusal never repeats a password */
}

/* A minimal valid file with one member replaced or added (member: "\"key\":value"). */
#define BASE_WITH(extra) "{\"id\":\"t1\",\"title\":\"T\",\"command\":[\"prog\"]" extra "}"
#define WITH_ARGS(cmd)                                                                         \
    "{\"id\":\"t1\",\"title\":\"T\",\"command\":" cmd ",\"arguments\":{\"type\":\"object\","  \
    "\"properties\":{\"source\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"}}}}"

static void test_parse_valid(void **state)
{
    (void)state;
    struct task *t = parse_ok(
        "{\"id\":\"import_files\",\"title\":\"Import new files\",\"description\":\"d\","
        "\"command\":[\"../examples/import-files.sh\",\"--dir\",\"{{source}}\",\"{{since}}\"],"
        "\"arguments\":{\"type\":\"object\",\"properties\":{\"source\":{\"type\":\"string\","
        "\"default\":\"/tmp\"}},\"required\":[\"source\"]},"
        "\"default_queue\":\"low\",\"timeout\":\"2h\",\"stop_grace\":\"5s\","
        "\"env\":{\"MODE\":\"fast\"}}",
        "/etc/sked/tasks.d");
    assert_string_equal(t->id, "import_files");
    assert_string_equal(t->title, "Import new files");
    assert_string_equal(t->description, "d");
    assert_int_equal(t->argc, 4);
    assert_string_equal(t->argv[0], "/etc/sked/tasks.d/../examples/import-files.sh");
    assert_string_equal(t->argv[1], "--dir");
    assert_string_equal(t->argv[2], "{{source}}"); /* expanded per run, not at load */
    assert_null(t->argv[4]);
    assert_non_null(t->arguments);
    assert_true(task_has_arg(t, "source"));
    assert_false(task_has_arg(t, "since"));
    assert_string_equal(t->default_queue, "low");
    assert_int_equal(t->timeout_ms, 7200000);
    assert_int_equal(t->stop_grace_ms, 5000);
    assert_json_eq(t->env, "{\"MODE\":\"fast\"}");
    assert_string_equal(t->working_dir, "/etc/sked/tasks.d");
    assert_string_equal(t->file, "x.json");
    task_free(t);
}

/* A byte order mark before the JSON, as some editors write one, is skipped; one inside is
 * still an error. */
static void test_parse_byte_order_mark(void **state)
{
    (void)state;
    struct task *t = parse_ok("\xef\xbb\xbf" BASE_WITH(""), "tasks.d");
    assert_string_equal(t->id, "t1");
    task_free(t);
    parse_bad("{\xef\xbb\xbf\"id\":\"t1\"}", "(file)", "malformed JSON at line 1, column 2");
}

static void test_parse_paths_and_defaults(void **state)
{
    (void)state;
    struct task *t = parse_ok(BASE_WITH(""), "/srv/tasks");
    assert_string_equal(t->argv[0], "prog"); /* bare name: found on PATH at run time */
    assert_string_equal(t->description, "");
    assert_null(t->arguments);
    assert_null(t->default_queue);
    assert_null(t->env);
    assert_int_equal(t->timeout_ms, -1);
    assert_int_equal(t->stop_grace_ms, -1);
    assert_string_equal(t->working_dir, "/srv/tasks");
    assert_false(task_has_arg(t, "anything"));
    task_free(t);

    t = parse_ok("{\"id\":\"a\",\"title\":\"A\",\"command\":[\"/usr/bin/env\",\"x\"],"
                 "\"working_dir\":\"work\",\"timeout\":90,\"default_queue\":null}",
                 "/srv/tasks");
    assert_string_equal(t->argv[0], "/usr/bin/env"); /* absolute: kept */
    assert_string_equal(t->working_dir, "/srv/tasks/work");
    assert_int_equal(t->timeout_ms, 90000); /* a bare number is seconds */
    assert_null(t->default_queue);
    task_free(t);

    t = parse_ok("{\"id\":\"a\",\"title\":\"A\",\"command\":[\"bin/run\"],"
                 "\"working_dir\":\"/var/tmp\",\"timeout\":\"1h30m\"}",
                 "rel/dir");
    assert_string_equal(t->argv[0], "rel/dir/bin/run");
    assert_string_equal(t->working_dir, "/var/tmp");
    assert_int_equal(t->timeout_ms, 5400000);
    task_free(t);

    /* without a folder, paths stay as written and the working dir is the current one */
    struct task *u = NULL;
    const char *text = "{\"id\":\"a\",\"title\":\"A\",\"command\":[\"./run.sh\"]}";
    assert_int_equal(tasks_parse(text, strlen(text), "a.json", NULL, NULL, &u, NULL), 0);
    assert_string_equal(u->argv[0], "./run.sh");
    assert_string_equal(u->working_dir, ".");
    task_free(u);

    /* with no configured queue list any queue name is taken */
    text = "{\"id\":\"a\",\"title\":\"A\",\"command\":[\"x\"],\"default_queue\":\"special\"}";
    assert_int_equal(tasks_parse(text, strlen(text), "a.json", "d", NULL, &u, NULL), 0);
    assert_string_equal(u->default_queue, "special");
    task_free(u);

    /* ids: letters, digits, _ . - starting with a letter or digit, up to 100 */
    char id100[160];
    memset(id100, 'a', 100);
    id100[100] = '\0';
    char text2[300];
    snprintf(text2, sizeof text2, "{\"id\":\"%s\",\"title\":\"T\",\"command\":[\"x\"]}", id100);
    t = parse_ok(text2, "d");
    task_free(t);
    t = parse_ok("{\"id\":\"9a.b-c_d\",\"title\":\"T\",\"command\":[\"x\"]}", "d");
    task_free(t);
    /* placeholders: since is always allowed; without a schema any name is */
    t = parse_ok(WITH_ARGS("[\"p\",\"--n={{n}}\",\"{{since}}\"]"), "d");
    task_free(t);
    t = parse_ok(BASE_WITH(",\"description\":\"\""), "d");
    assert_string_equal(t->description, "");
    task_free(t);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("{\"id\":\"t\",", "(file)", "malformed JSON at line 1");
    parse_bad("[]", "(file)", "must hold a JSON object");
    parse_bad(BASE_WITH(",\"schedule\":\"* * * * *\""), "schedule", "unknown key");
    parse_bad("{\"title\":\"T\",\"command\":[\"x\"]}", "id", "required");
    parse_bad("{\"id\":5,\"title\":\"T\",\"command\":[\"x\"]}", "id", "required, a string");
    parse_bad("{\"id\":\"has space\",\"title\":\"T\",\"command\":[\"x\"]}", "id", "letters");
    parse_bad("{\"id\":\"-lead\",\"title\":\"T\",\"command\":[\"x\"]}", "id", NULL);
    parse_bad("{\"id\":\"\",\"title\":\"T\",\"command\":[\"x\"]}", "id", NULL);
    parse_bad("{\"id\":\"a/b\",\"title\":\"T\",\"command\":[\"x\"]}", "id", NULL);
    char text[400];
    char id101[128];
    memset(id101, 'a', 101);
    id101[101] = '\0';
    snprintf(text, sizeof text, "{\"id\":\"%s\",\"title\":\"T\",\"command\":[\"x\"]}", id101);
    parse_bad(text, "id", NULL);
    parse_bad("{\"id\":\"t\",\"command\":[\"x\"]}", "title", "required");
    parse_bad("{\"id\":\"t\",\"title\":\"\",\"command\":[\"x\"]}", "title", "non-empty");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"description\":1,\"command\":[\"x\"]}",
              "description", "must be a string");
    parse_bad("{\"id\":\"t\",\"title\":\"T\"}", "command", "required");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[]}", "command", "non-empty array");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":\"ls -l\"}", "command", "array");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[\"\"]}", "command[0]", "must not be empty");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[1]}", "command[0]", "must be a string");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[\"x\",\"a\",null]}", "command[2]",
              "must be a string");
    /* NUL bytes cannot reach argv: the JSON reader refuses them first */
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[\"x\",\"a\\u0000b\"]}", "(file)",
              "\\u0000 (a NUL character) is not allowed in strings");
}

static void test_parse_placeholder_errors(void **state)
{
    (void)state;
    parse_bad(WITH_ARGS("[\"p\",\"{{nope}}\"]"), "command[1]",
              "placeholder {{nope}} names no property");
    parse_bad(WITH_ARGS("[\"p\",\"--x={{source}}-{{other}}\"]"), "command[1]", "{{other}}");
    parse_bad(WITH_ARGS("[\"{{source}}\"]"), "command[0]", "program itself cannot be a placeholder");
    parse_bad(WITH_ARGS("[\"p\",\"{{source\"]"), "command[1]", "unclosed {{");
    parse_bad(WITH_ARGS("[\"p\",\"{{source}} {{\"]"), "command[1]", "unclosed {{");
    parse_bad(WITH_ARGS("[\"p\",\"{{}}\"]"), "command[1]", "empty or over-long");
    parse_bad(WITH_ARGS("[\"p\",\"{{a-b}}\"]"), "command[1]", "letters, digits and _");
}

/* A task file whose arguments schema declares since as given (a JSON object's members). */
#define WITH_SINCE(since, extra)                                                                   \
    "{\"id\":\"t1\",\"title\":\"T\",\"command\":[\"p\",\"{{since}}\"],\"arguments\":{"             \
    "\"type\":\"object\",\"properties\":{\"since\":" since ",\"n\":{\"type\":\"integer\"}}" extra  \
    "}}"

static void test_parse_since_schema(void **state)
{
    (void)state;
    /* sked fills since with a date-time string, so a schema refusing one made every run after
     * the first success a 400 (and every scheduled fire FAILED): refused at load */
    const char *why = "sked fills since with the start of the last successful run";
    parse_bad(WITH_SINCE("{\"type\":\"integer\"}", ""), "arguments.properties.since.type", why);
    parse_bad(WITH_SINCE("{\"type\":[\"string\",\"null\"]}", ""), "arguments.properties.since.type",
              "must be \"string\"");
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"maxLength\":10}", ""),
              "arguments.properties.since.maxLength", why);
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"minLength\":40}", ""),
              "arguments.properties.since.minLength", "not allowed on since");
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"enum\":[\"2024-01-01T00:00:00Z\"]}", ""),
              "arguments.properties.since.enum", "RFC 3339 date-time");
    /* keywords outside the subset get the same reason, not just "unsupported" */
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"pattern\":\"^2\"}", ""),
              "arguments.properties.since.pattern", why);
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"const\":\"x\"}", ""),
              "arguments.properties.since.const", why);
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"format\":\"date\"}", ""),
              "arguments.properties.since.format", "must be \"date-time\"");
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"default\":\"2024-01-01T00:00:00Z\"}", ""),
              "arguments.properties.since.default", "must be null");
    parse_bad(WITH_SINCE("\"string\"", ""), "arguments.properties.since", "schema object");
    /* null on a first run: required would refuse it */
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"format\":\"date-time\"}",
                         ",\"required\":[\"n\",\"since\"]"),
              "arguments.required", "'since' cannot be required");
    /* the schema's own checks still apply to what is allowed */
    parse_bad(WITH_SINCE("{\"type\":\"string\",\"title\":5}", ""),
              "arguments.properties.since.title", "must be a string");
    parse_bad(WITH_SINCE("{\"format\":\"date-time\"}", ""), "arguments.properties.since.type",
              "required");

    /* what is accepted takes every since sked gives: null, a last success, a user's */
    const char *good[] = {
        WITH_SINCE("{\"type\":\"string\",\"format\":\"date-time\",\"title\":\"Since\","
                   "\"description\":\"d\",\"default\":null}",
                   ",\"required\":[\"n\"]"),
        WITH_SINCE("{\"type\":\"string\"}", ""),
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct task *t = parse_ok(good[i], "/tasks");
        assert_true(task_has_arg(t, "since"));
        json_t *errs = json_array(), *in = J("{\"n\":1}");
        json_t *in_since = J("{\"n\":1,\"since\":\"2024-05-01 10:00\"}");
        json_t *first = args_resolve(t, in, NULL, NO_TIME, errs);
        json_t *later = args_resolve(t, in, NULL, 1700000000000000, errs);
        json_t *given = args_resolve(t, in_since, NULL, 1700000000000000, errs);
        json_decref(in);
        json_decref(in_since);
        assert_int_equal(json_array_size(errs), 0);
        assert_true(json_is_null(json_object_get(first, "since")));
        assert_string_equal(json_str(later, "since"), "2023-11-14T22:13:20.000000+00:00");
        assert_string_equal(json_str(given, "since"), "2024-05-01T10:00:00.000000+00:00");
        json_decref(first);
        json_decref(later);
        json_decref(given);
        json_decref(errs);
        task_free(t);
    }
    /* a since nested in another property is an ordinary property */
    task_free(parse_ok("{\"id\":\"t1\",\"title\":\"T\",\"command\":[\"p\"],\"arguments\":{"
                       "\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"object\","
                       "\"properties\":{\"since\":{\"type\":\"integer\"}}}}}}",
                       "/tasks"));
}

static void test_parse_blank_title_and_nulls(void **state)
{
    (void)state;
    /* a title that shows nothing is refused, as a job's is */
    parse_bad("{\"id\":\"t\",\"title\":\"   \",\"command\":[\"x\"]}", "title", "must not be blank");
    parse_bad("{\"id\":\"t\",\"title\":\"\\t\\n \",\"command\":[\"x\"]}", "title", "blank");
    parse_bad("{\"id\":\"t\",\"title\":null,\"command\":[\"x\"]}", "title", "required");
    task_free(parse_ok("{\"id\":\"t\",\"title\":\" T \",\"command\":[\"x\"]}", "/tasks"));

    /* null means "not given" for every key that may be left out */
    struct task *t = parse_ok("{\"id\":\"t\",\"title\":\"T\",\"command\":null,\"builtin\":\"noop\","
                              "\"celery\":null,\"description\":null,\"arguments\":null,"
                              "\"default_queue\":null,\"timeout\":null,\"stop_grace\":null,"
                              "\"env\":null,\"working_dir\":null}",
                              "/tasks");
    assert_string_equal(t->builtin, "noop");
    assert_null(t->argv);
    assert_null(t->celery);
    assert_string_equal(t->description, "");
    task_free(t);
    t = parse_ok("{\"id\":\"t\",\"title\":\"T\",\"command\":[\"x\"],\"builtin\":null}", "/tasks");
    assert_int_equal(t->argc, 1);
    assert_null(t->builtin);
    task_free(t);
    t = parse_ok("{\"id\":\"c\",\"title\":\"C\",\"command\":null,\"celery\":{"
                 "\"broker\":\"redis://127.0.0.1:6379/0\",\"result_backend\":"
                 "\"redis://127.0.0.1:6379/1\",\"task\":\"app.t\",\"send_since\":null}}",
                 "/tasks");
    assert_non_null(t->celery);
    assert_true(t->celery->send_since); /* the default */
    task_free(t);
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":null}", "command", "required");
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":null,\"builtin\":null}", "command",
              "required");
    /* two that are given are still refused */
    parse_bad("{\"id\":\"t\",\"title\":\"T\",\"command\":[\"x\"],\"builtin\":\"noop\"}", "builtin",
              "give one of command, builtin or celery");
}

static void test_parse_literal_braces(void **state)
{
    (void)state;
    /* {{{{ stands for a literal {{ (}} outside a placeholder is literal anyway) */
    struct task *t = parse_ok(WITH_ARGS("[\"docker\",\"ps\",\"--format\",\"{{{{.Names}}\","
                                        "\"{{{{{{source}}}}\",\"{{{{\",\"a{{{{b}}c{{n}}\"]"),
                              "/tasks");
    assert_string_equal(t->argv[3], "{{{{.Names}}"); /* as written; expanded per run */
    json_t *args = J("{\"source\":\"/data\",\"n\":7}");
    static const char *want[] = {"docker",    "ps", "--format", "{{.Names}}",
                                 "{{/data}}", "{{", "a{{b}}c7"};
    for (size_t i = 1; i < t->argc; i++) {
        char *out = task_expand(t->argv[i], args);
        if (strcmp(out, want[i]) != 0) fail_msg("argv[%zu] = %s, want %s", i, out, want[i]);
        free(out);
    }
    json_decref(args);
    task_free(t);
    /* without the escape the message tells how to write one */
    parse_bad(WITH_ARGS("[\"docker\",\"ps\",\"--format\",\"{{.Names}}\"]"), "command[3]",
              "write {{{{ for a literal {{");
    /* three braces are not an escape: the name starts with { */
    parse_bad(WITH_ARGS("[\"p\",\"{{{source}}}\"]"), "command[1]", "placeholder {{{source}}");
    /* the program is never expanded, so it holds no {{ at all */
    parse_bad(WITH_ARGS("[\"{{{{x\"]"), "command[0]", "cannot be a placeholder or hold {{");
}

/* A Celery job type: the "celery" object instead of a command (celery.h). */
#define CELERY_WITH(extra)                                                                     \
    "{\"id\":\"c1\",\"title\":\"C\",\"arguments\":{\"type\":\"object\",\"properties\":"  \
    "{\"x\":{\"type\":\"integer\"},\"y\":{\"type\":\"integer\"}}},\"celery\":{"            \
    "\"broker\":\"redis://127.0.0.1:6379/0\",\"result_backend\":\"redis://:pw@h:6380/2\","     \
    "\"task\":\"app.tasks.add\"" extra "}}"

static void test_parse_celery(void **state)
{
    (void)state;
    struct task *t = parse_ok(CELERY_WITH(""), ".");
    assert_non_null(t->celery);
    assert_null(t->argv);
    assert_string_equal(t->celery->broker, "redis://127.0.0.1:6379/0");
    assert_string_equal(t->celery->result_backend, "redis://:pw@h:6380/2");
    assert_string_equal(t->celery->task, "app.tasks.add");
    assert_null(t->celery->queue);
    assert_int_equal(json_array_size(t->celery->positional), 0);
    assert_int_equal(t->celery->accept_timeout_ms, 60000); /* the default */
    assert_true(t->celery->send_since);
    assert_int_equal(t->stop_grace_ms, -1);
    /* any Celery queue name, not only sked's own queues; the default is "celery" */
    char why[512];
    assert_null(task_queue_error(t, &queues, "bulk.imports", why, sizeof why));
    assert_non_null(task_queue_error(t, &queues, "no spaces", why, sizeof why));
    assert_string_equal(task_default_queue(t, &queues), "celery");
    task_free(t);

    t = parse_ok(CELERY_WITH(",\"queue\":\"fixed\",\"positional\":[\"y\",\"x\"],"
                             "\"accept_timeout\":\"5m\",\"stop_grace\":\"3s\","
                             "\"send_since\":false"), ".");
    assert_string_equal(t->celery->queue, "fixed");
    assert_string_equal(json_string_value(json_array_get(t->celery->positional, 0)), "y");
    assert_int_equal(t->celery->accept_timeout_ms, 300000);
    assert_int_equal(t->stop_grace_ms, 3000);
    assert_false(t->celery->send_since);
    assert_string_equal(task_default_queue(t, &queues), "fixed");
    assert_null(task_queue_error(t, &queues, "fixed", why, sizeof why));
    assert_contains(task_queue_error(t, &queues, "other", why, sizeof why), "always goes to");
    task_free(t);
}

static void test_parse_celery_errors(void **state)
{
    (void)state;
    parse_bad(CELERY_WITH(",\"bogus\":1"), "celery.bogus", "unknown key");
    parse_bad(CELERY_WITH(",\"queue\":\"a b\""), "celery.queue", "Celery queue name");
    parse_bad(CELERY_WITH(",\"positional\":[\"z\"]"), "celery.positional",
              "must name an argument");
    parse_bad(CELERY_WITH(",\"positional\":\"x\""), "celery.positional", "array");
    parse_bad(CELERY_WITH(",\"positional\":[\"x\",\"x\"]"), "celery.positional",
              "item 1: names 'x' again (item 0)");
    parse_bad(CELERY_WITH(",\"accept_timeout\":\"soon\""), "celery.accept_timeout", NULL);
    parse_bad(CELERY_WITH(",\"stop_grace\":0"), "celery.stop_grace", "positive");
    parse_bad(CELERY_WITH(",\"send_since\":\"no\""), "celery.send_since", "true or false");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":[]}", "celery", "must be an object");
    /* a URL sked cannot use says what is wrong with it, never the URL (it may hold a
     * password) */
    /* an AMQP (RabbitMQ) broker with the results on Redis, as InvenioRDM has them */
    struct task *amqp = parse_ok("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":"
                                 "\"amqp://guest:guest@mq:5672//\",\"result_backend\":"
                                 "\"redis://cache:6379/2\",\"task\":\"t\"}}",
                                 ".");
    assert_string_equal(amqp->celery->broker, "amqp://guest:guest@mq:5672//");
    task_free(amqp);
    amqp = parse_ok("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"pyamqp://\","
                    "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
                    ".");
    task_free(amqp);
    amqp = parse_ok("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"amqps://u:pw@h//"
                    "?ssl_ca_certs=/etc/hostname\",\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
                    ".");
    task_free(amqp);
    /* the TLS files are read when the task file is */
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"amqps://u:s3cret@h//"
              "?ssl_certfile=/nonexistent/c.pem&ssl_keyfile=/etc/hostname\","
              "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker",
              "URL option ssl_certfile: cannot read /nonexistent/c.pem: No such file or directory");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"amqp://h:0//\","
              "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker", "the port must be a number from 1 to 65535");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"amqp://h//\","
              "\"result_backend\":\"amqp://h//\",\"task\":\"t\"}}",
              "celery.result_backend", "AMQP (RabbitMQ) serves as a broker only");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"amqp://h//\","
              "\"result_backend\":\"rpc://\",\"task\":\"t\"}}",
              "celery.result_backend", "the rpc:// result backend");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"rpc://\","
              "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker", "rpc:// names a result backend (results sent back over AMQP), "
              "not a broker: a broker is redis://");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":"
              "\"rediss://:s3cret@h:6380/0\",\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker", "TLS (rediss://) is not supported");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"redis://h\","
              "\"result_backend\":\"redis://:s3cret@h/1?global_keyprefix=app_\",\"task\":\"t\"}}",
              "celery.result_backend", "unknown URL option global_keyprefix");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"redis://h:99999\","
              "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker", "the port must be a number from 1 to 65535");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{"
              "\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "celery.broker", "required, a Redis URL such as redis://127.0.0.1:6379/0");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"redis://h\","
              "\"task\":\"t\"}}",
              "celery.result_backend", "Redis URL");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"redis://h\","
              "\"result_backend\":\"redis://h\",\"task\":\"bad name\"}}",
              "celery.task", "registered Celery task name");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"celery\":{\"broker\":\"redis://h\","
              "\"result_backend\":\"redis://h\",\"task\":3}}",
              "celery.task", "must be a string, the registered Celery task name, not integer");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"command\":[\"p\"],\"celery\":{}}", "celery",
              "one of command, builtin or celery");
    parse_bad("{\"id\":\"c\",\"title\":\"C\",\"stop_grace\":\"2s\",\"celery\":{\"broker\":"
              "\"redis://h\",\"result_backend\":\"redis://h\",\"task\":\"t\"}}",
              "stop_grace", "inside \"celery\"");
}

static void test_parse_field_errors(void **state)
{
    (void)state;
    parse_bad(BASE_WITH(",\"timeout\":\"2x\""), "timeout", "expected a duration");
    parse_bad(BASE_WITH(",\"operator_args\":\"no\""), "operator_args", "must be true or false");
    parse_bad(BASE_WITH(",\"timeout\":\"0s\""), "timeout", "longer than zero");
    parse_bad(BASE_WITH(",\"timeout\":0"), "timeout", "positive number of seconds");
    parse_bad(BASE_WITH(",\"timeout\":-5"), "timeout", "positive");
    parse_bad(BASE_WITH(",\"timeout\":3162240001"), "timeout", "too long: at most 100 years");
    parse_bad(BASE_WITH(",\"stop_grace\":3162240001"), "stop_grace", "too long");
    parse_bad(BASE_WITH(",\"timeout\":1.5"), "timeout", "must be a duration");
    parse_bad(BASE_WITH(",\"timeout\":true"), "timeout", NULL);
    parse_bad(BASE_WITH(",\"stop_grace\":\"soon\""), "stop_grace", NULL);
    parse_bad(BASE_WITH(",\"default_queue\":\"high\""), "default_queue",
              "unknown queue 'high' (configured: default, low)");
    parse_bad(BASE_WITH(",\"default_queue\":3"), "default_queue", "must be a string");
    parse_bad(BASE_WITH(",\"env\":[\"A=1\"]"), "env", "must be an object");
    parse_bad(BASE_WITH(",\"env\":{\"A\":1}"), "env.A", "must be a string");
    parse_bad(BASE_WITH(",\"env\":{\"A=B\":\"1\"}"), "env.A=B", "not a variable name");
    parse_bad(BASE_WITH(",\"env\":{\"\":\"1\"}"), "env.", "not a variable name");
    parse_bad(BASE_WITH(",\"env\":{\"SKED_RUN_ID\":\"x\"}"), "env.SKED_RUN_ID", "set by sked");
    parse_bad(BASE_WITH(",\"working_dir\":\"\""), "working_dir", "non-empty");
    parse_bad(BASE_WITH(",\"working_dir\":7"), "working_dir", NULL);
    parse_bad(BASE_WITH(",\"arguments\":{\"type\":\"string\"}"), "arguments.type",
              "must be \"object\"");
    parse_bad(BASE_WITH(",\"arguments\":[]"), "arguments", "schema object");
    parse_bad(BASE_WITH(",\"arguments\":{\"type\":\"object\",\"oneOf\":[]}"), "arguments.oneOf",
              "unsupported schema keyword");
    parse_bad(BASE_WITH(",\"arguments\":{\"type\":\"object\",\"properties\":{\"a\":"
                        "{\"type\":\"integer\",\"default\":\"x\"}}}"),
              "arguments.properties.a.default", "does not fit");
}

/* ---- folders ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/sked-test-tasks-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

static void test_load_dir(void **state)
{
    (void)state;
    char *dir = make_dir();
    write_file(dir, "b.json", "{\"id\":\"alpha\",\"title\":\"A\",\"command\":[\"./a.sh\"]}");
    write_file(dir, "a.json", "{\"id\":\"beta\",\"title\":\"B\",\"command\":[\"b\"],"
                              "\"default_queue\":\"low\"}");
    write_file(dir, "README.md", "not a task");
    write_file(dir, "notes.json.bak", "{");
    write_file(dir, ".hidden.json", "{");
    write_file(dir, ".json", "{");
    struct taskset *ts = NULL;
    struct sk_err e = {0};
    if (tasks_load_dir(dir, &queues, &ts, &e, NULL) != 0) fail_msg("%s", e.msg);
    assert_int_equal(ts->count, 2);
    assert_string_equal(ts->tasks[0]->id, "alpha"); /* sorted by id, not by file name */
    assert_string_equal(ts->tasks[1]->id, "beta");
    const struct task *a = taskset_get(ts, "alpha");
    assert_non_null(a);
    char want[600];
    snprintf(want, sizeof want, "%s/./a.sh", dir);
    assert_string_equal(a->argv[0], want);
    snprintf(want, sizeof want, "%s/b.json", dir);
    assert_string_equal(a->file, want);
    assert_string_equal(a->working_dir, dir);
    assert_null(taskset_get(ts, "gamma"));
    assert_null(taskset_get(ts, NULL));
    taskset_free(ts);

    /* a duplicate id refuses the whole set, naming both files */
    write_file(dir, "c.json", "{\"id\":\"alpha\",\"title\":\"A again\",\"command\":[\"x\"]}");
    ts = (struct taskset *)1;
    assert_int_equal(tasks_load_dir(dir, &queues, &ts, &e, NULL), -EEXIST);
    assert_null(ts);
    assert_string_equal(e.field, "id");
    snprintf(want, sizeof want, "%s/c.json: id: 'alpha' is already declared by %s/b.json", dir,
             dir);
    assert_string_equal(e.msg, want);

    /* one bad file refuses the set too, with its own path first */
    write_file(dir, "c.json", "{\"id\":\"gamma\",\"title\":\"G\",\"command\":[\"x\"],\"bad\":1}");
    assert_int_equal(tasks_load_dir(dir, &queues, &ts, &e, NULL), -EINVAL);
    snprintf(want, sizeof want, "%s/c.json: bad: unknown key", dir);
    assert_string_equal(e.msg, want);

    /* every file is read: the errors after the first, a line each, when asked for */
    write_file(dir, "d.json", "{\"id\":\"alpha\",\"title\":\"A\",\"command\":[\"x\"]}");
    write_file(dir, "e.json", "[]");
    struct buf others = BUF_INIT;
    assert_int_equal(tasks_load_dir(dir, &queues, &ts, &e, &others), -EINVAL);
    assert_null(ts);
    assert_string_equal(e.msg, want); /* the first, as without the list */
    char lines[1200];
    snprintf(lines, sizeof lines,
             "%s/d.json: id: 'alpha' is already declared by %s/b.json\n%s/e.json: (file): must "
             "hold a JSON object\n",
             dir, dir, dir);
    assert_string_equal(buf_cstr(&others), lines);
    buf_free(&others);
    remove_dir(dir);
    free(dir);
}

static void test_load_dir_edges(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct taskset *ts = NULL;
    struct sk_err e = {0};
    assert_int_equal(tasks_load_dir(dir, &queues, &ts, &e, NULL), 0); /* empty: an empty set */
    assert_int_equal(ts->count, 0);
    taskset_free(ts);

    write_file(dir, "empty.json", "");
    assert_int_equal(tasks_load_dir(dir, &queues, &ts, &e, NULL), -EINVAL);
    assert_contains(e.msg, "empty.json: (file): malformed JSON");
    remove_dir(dir);

    assert_true(tasks_load_dir(dir, &queues, &ts, &e, NULL) < 0); /* gone */
    assert_contains(e.msg, "cannot open tasks directory");
    assert_null(ts);
    free(dir);

    /* taskset_add keeps ids unique and the list sorted */
    ts = taskset_new();
    struct task *t1 = parse_ok("{\"id\":\"m\",\"title\":\"M\",\"command\":[\"x\"]}", "d");
    struct task *t2 = parse_ok("{\"id\":\"c\",\"title\":\"C\",\"command\":[\"x\"]}", "d");
    struct task *t3 = parse_ok("{\"id\":\"m\",\"title\":\"M2\",\"command\":[\"x\"]}", "d");
    assert_int_equal(taskset_add(ts, t1), 0);
    assert_int_equal(taskset_add(ts, t2), 0);
    assert_int_equal(taskset_add(ts, t3), -EEXIST);
    task_free(t3);
    assert_string_equal(ts->tasks[0]->id, "c");
    assert_string_equal(taskset_get(ts, "m")->title, "M");
    taskset_free(ts);
}

static void test_expand(void **state)
{
    (void)state;
    json_t *args = J("{\"s\":\"a b\",\"i\":42,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,"
                     "\"arr\":[1,\"x\"],\"obj\":{\"k\":\"v\"},\"e\":\"\"}");
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{{s}}", "a b"},
        {"--n={{i}}", "--n=42"},
        {"{{r}}", "1.5"},
        {"{{t}}/{{f}}", "true/false"},
        {"[{{z}}]", "[]"},
        {"[{{missing}}]", "[]"},
        {"{{arr}}", "[1,\"x\"]"},
        {"{{obj}}", "{\"k\":\"v\"}"},
        {"x{{e}}y", "xy"},
        {"plain", "plain"},
        {"", ""},
        {"{{s}}{{s}}", "a ba b"},
        {"{{s", "{{s"},            /* unclosed: left as written */
        {"a}}b{{i}}", "a}}b42"},
        {"{{{s}}}", "}"},          /* the name is "{s", which is missing */
        {"{{{{s}}", "{{s}}"},      /* {{{{ is a literal {{ */
        {"{{{{{{s}}}}", "{{a b}}"},
        {"{{{{", "{{"},
        {"{{{{{{{{", "{{{{"},
        {"x{{{{", "x{{"},
        {"{{{{{", "{{{"},          /* the {{ after the escape is unclosed: left as written */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = task_expand(cases[i].in, args);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("expand(%s) = %s, want %s", cases[i].in, out, cases[i].want);
        free(out);
    }
    /* a value holding braces is not expanded again */
    json_t *tricky = J("{\"a\":\"{{b}}\",\"b\":\"no\"}");
    char *out = task_expand("{{a}}", tricky);
    assert_string_equal(out, "{{b}}");
    free(out);
    json_decref(tricky);
    json_decref(args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_byte_order_mark),
        cmocka_unit_test(test_parse_paths_and_defaults),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_placeholder_errors),
        cmocka_unit_test(test_parse_since_schema),
        cmocka_unit_test(test_parse_blank_title_and_nulls),
        cmocka_unit_test(test_parse_literal_braces),
        cmocka_unit_test(test_parse_field_errors),
        cmocka_unit_test(test_parse_celery),
        cmocka_unit_test(test_parse_celery_errors),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_load_dir_edges),
        cmocka_unit_test(test_expand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
