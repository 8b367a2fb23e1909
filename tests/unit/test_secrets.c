/*
 * test_secrets: references to secrets in a run's arguments. What a secret file may hold and how
 * it is read, the replacement of references at any depth, and every form of a value the run's
 * log and outcome show as *** are pinned here, on files of a temporary folder.
 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"

static char dir[64];

static void put(const char *name, const char *data, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sked-secrets-XXXXXX");
    assert_non_null(mkdtemp(dir));
    static const char *const files[][2] = {
        {"plain", "s3cret-value\r\n"},
        {"pem", "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n"},
        {"odd", "pä\"ss<&>\\w\n"},
        {"go", "ab<cd\"ef\t-1234"},
        {"short", "ab\n"},
        {"inner", "abc123"},
        {"outer", "XYZabc123XYZ"},
        {"empty", "\n"},
        {"latin1", "caf\xe9"}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        put(files[i][0], files[i][1], strlen(files[i][1]));
    put("nul", "a\0b", 3);
    static char big[64 * 1024 + 1];
    memset(big, 'x', sizeof big);
    put("max", big, sizeof big - 1);
    put("over", big, sizeof big);
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* {"v": {"$secret": name}} resolved: the value, or NULL with why. */
static json_t *resolve_one(const char *name, json_t *values, char *why, size_t n)
{
    json_t *args = json_pack("{s:{s:s}}", "v", "$secret", name);
    json_t *out = secrets_resolve(dir, args, values, why, n);
    json_decref(args);
    return out;
}

static void test_reading_a_secret_file(void **state)
{
    (void)state;
    char why[600];
    json_t *out = resolve_one("plain", NULL, why, sizeof why);
    assert_string_equal(json_string_value(json_object_get(out, "v")), "s3cret-value");
    json_decref(out);
    out = resolve_one("max", NULL, why, sizeof why); /* 64 KiB exactly */
    assert_int_equal(json_string_length(json_object_get(out, "v")), 64 * 1024);
    json_decref(out);
    static const struct {
        const char *name, *why;
    } refused[] = {{"over", "longer than 64 KiB"},   {"empty", "empty"},
                   {"nul", "not UTF-8 text"},         {"latin1", "not UTF-8 text"},
                   {"fifo", "not a regular file"},    {"missing", "no such file in the secrets folder"},
                   {"../plain", "a name of 1 to 128"}, {".hidden", "a name of 1 to 128"}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        why[0] = '\0';
        assert_null(resolve_one(refused[i].name, NULL, why, sizeof why));
        assert_contains(why, "args.v: secret '");
        assert_contains(why, refused[i].why);
    }
    /* no folder set */
    json_t *args = json_pack("{s:[{s:s}]}", "list", "$secret", "plain");
    assert_null(secrets_resolve(NULL, args, NULL, why, sizeof why));
    assert_contains(why, "args.list[0]: secret 'plain': no secrets folder is set");
    json_decref(args);
}

static void test_references_at_any_depth_and_none(void **state)
{
    (void)state;
    char why[600];
    json_t *args = json_pack("{s:{s:{s:s}},s:[i,{s:s}],s:{s:s,s:i}}", "headers", "Authorization",
                             "$secret", "plain", "list", 1, "$secret", "inner", "not_a_ref",
                             "$secret", "plain", "extra", 1);
    assert_true(secrets_referred(args));
    json_t *out = secrets_resolve(dir, args, NULL, why, sizeof why);
    assert_non_null(out);
    assert_ptr_not_equal(out, args); /* a copy: the run keeps its references */
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "headers"), "Authorization")),
                        "s3cret-value");
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "list"), 1)), "abc123");
    /* an object with more than $secret is no reference */
    assert_true(json_equal(json_object_get(out, "not_a_ref"), json_object_get(args, "not_a_ref")));
    json_decref(out);
    json_decref(args);
    json_t *none = json_pack("{s:s,s:[i]}", "a", "$secret", "b", 1);
    assert_false(secrets_referred(none));
    out = secrets_resolve(dir, none, NULL, why, sizeof why);
    assert_ptr_equal(out, none); /* nothing to replace: the same object */
    json_decref(out);
    json_decref(none);
    /* the whole arguments cannot be one */
    json_t *errs = json_array(), *whole = json_pack("{s:s}", "$secret", "plain");
    secrets_check(dir, whole, "args", true, errs);
    assert_contains(unit_errs_msg(errs, "args"), "one argument's value");
    json_decref(whole);
    json_decref(errs);
}

/* The text of line with every form of the secrets of args masked. */
static char *masked(const char *names[], size_t n, const char *line)
{
    json_t *args = json_object(), *values = json_array();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(args, names[i], json_pack("{s:s}", "$secret", names[i]));
    char why[600];
    json_t *out = secrets_resolve(dir, args, values, why, sizeof why);
    assert_non_null(out);
    char *m = secrets_mask(strdup(line), values);
    json_decref(out);
    json_decref(args);
    json_decref(values);
    return m;
}

static void test_every_form_of_a_value_is_masked(void **state)
{
    (void)state;
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"key: -----BEGIN KEY-----", "key: ***"},           /* each line of a key file */
        {"MIIEvQIBADANBgkq done", "*** done"},
        {"{\"odd\": \"p\\u00e4\\\"ss<&>\\\\w\"}", "{\"odd\": \"***\"}"}, /* Python's json.dumps */
        {"{\"odd\":\"p\\u00E4\\\"ss<&>\\\\w\"}", "{\"odd\":\"***\"}"},   /* jansson, ASCII */
        {"{\"odd\":\"pä\\\"ss<&>\\\\w\"}", "{\"odd\":\"***\"}"},         /* jansson */
        {"pä\\\"ss\\u003c\\u0026\\u003e\\\\w", "***"},                   /* Go */
        {"\"ab\\u003ccd\\\"ef\\t-1234\"", "\"***\""},                      /* Go, escaped */
        {"XYZabc123XYZ and abc123", "*** and ***"}, /* the longer first: no XYZ***XYZ */
        {"ab is too short to mask", "ab is too short to mask"},
        {"s3cret-value\r", "***\r"},
    };
    const char *names[] = {"pem", "odd", "inner", "outer", "short", "plain", "go"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *m = masked(names, sizeof names / sizeof *names, cases[i].line);
        assert_string_equal(m, cases[i].want);
        free(m);
    }
}

static void test_an_outcome_is_masked_whatever_its_shape(void **state)
{
    (void)state;
    json_t *mask = json_pack("[s]", "s3cret-value");
    json_t *bare = json_string("got s3cret-value back");
    json_t *m = secrets_masked(bare, mask);
    assert_string_equal(json_string_value(m), "got *** back");
    json_decref(m);
    json_t *doc = json_pack("{s:i,s:[s,i,n],s:{s:b}}", "s3cret-value", 1, "list", "x s3cret-value",
                            2, "nested", "k", 1);
    m = secrets_masked(doc, mask);
    char *text = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"***\":1,\"list\":[\"x ***\",2,null],\"nested\":{\"k\":true}}");
    free(text);
    assert_non_null(json_object_get(doc, "s3cret-value")); /* the reported value is left as is */
    json_decref(m);
    json_decref(doc);
    json_decref(bare);
    json_decref(mask);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reading_a_secret_file),
        cmocka_unit_test(test_references_at_any_depth_and_none),
        cmocka_unit_test(test_every_form_of_a_value_is_masked),
        cmocka_unit_test(test_an_outcome_is_masked_whatever_its_shape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
