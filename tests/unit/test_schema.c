/*
 * test_schema: the arguments-schema subset. schema_check must accept every supported keyword
 * and refuse anything else with the exact field path a task author needs to find the mistake;
 * schema_validate must report run-argument errors per field (args.a.b, args.list[2]) and hand
 * tasks canonical UTC date-times.
 */
#include "unit.h"

#include <errno.h>

#include "schema.h"

/* Runs schema_check on a JSON literal under path "arguments"; returns the error field
 * ("" when the schema was accepted) in a static buffer, the message in msg when wanted. */
static const char *check(const char *schema, char *msg, size_t msglen)
{
    static char field[128];
    json_t *doc = J(schema);
    struct sk_err e = {0};
    int rc = schema_check(doc, "arguments", &e);
    json_decref(doc);
    if (rc == 0) {
        assert_int_equal(e.code, 0);
        field[0] = '\0';
    } else {
        assert_int_equal(rc, -EINVAL);
        assert_int_equal(e.code, -EINVAL);
        assert_true(e.msg[0] != '\0');
        snprintf(field, sizeof field, "%s", e.field);
    }
    if (msg) snprintf(msg, msglen, "%s", e.msg);
    return field;
}

#define CHECK_OK(schema) assert_string_equal(check(schema, NULL, 0), "")
#define CHECK_BAD(schema, field) assert_string_equal(check(schema, NULL, 0), field)

static void test_check_accepts_subset(void **state)
{
    (void)state;
    CHECK_OK("{\"type\":\"object\"}");
    CHECK_OK("{\"type\":\"object\",\"title\":\"t\",\"description\":\"d\",\"properties\":{"
             "\"s\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10,\"default\":\"abc\","
             "\"enum\":[\"abc\",\"def\"],\"title\":\"S\",\"description\":\"an s\"},"
             "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
             "\"i\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10,\"default\":5},"
             "\"n\":{\"type\":\"number\",\"minimum\":-1.5,\"maximum\":1.5,\"default\":0.5},"
             "\"b\":{\"type\":\"boolean\",\"default\":true},"
             "\"a\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"default\":[1,2]},"
             "\"o\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}},"
             "\"required\":[\"x\"]}},"
             "\"required\":[\"s\",\"i\"]}");
    /* equal bounds and a null default are fine */
    CHECK_OK("{\"type\":\"integer\",\"minimum\":3,\"maximum\":3}");
    CHECK_OK("{\"type\":\"string\",\"minLength\":3,\"maxLength\":3}");
    CHECK_OK("{\"type\":\"string\",\"default\":null}");
    /* an integer schema's members may be integers; a number schema takes both */
    CHECK_OK("{\"type\":\"number\",\"enum\":[1,2.5]}");
    CHECK_OK("{\"type\":\"string\",\"format\":\"date-time\",\"default\":\"2024-03-01\"}");
}

static void test_check_unknown_keyword(void **state)
{
    (void)state;
    char msg[512];
    assert_string_equal(check("{\"type\":\"string\",\"pattern\":\"^a\"}", msg, sizeof msg),
                        "arguments.pattern");
    assert_contains(msg, "unsupported schema keyword");
    CHECK_BAD("{\"type\":\"object\",\"additionalProperties\":false}",
              "arguments.additionalProperties");
    CHECK_BAD("{\"$schema\":\"x\",\"type\":\"object\"}", "arguments.$schema");
    /* nested schemas report the whole path down to the keyword */
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":"
              "{\"b\":{\"type\":\"string\",\"oneOf\":[]}}}}}",
              "arguments.properties.a.properties.b.oneOf");
    CHECK_BAD("{\"type\":\"array\",\"items\":{\"type\":\"string\",\"const\":\"x\"}}",
              "arguments.items.const");
    /* with an empty path the field is the keyword itself */
    json_t *doc = J("{\"type\":\"string\",\"anyOf\":[]}");
    struct sk_err e = {0};
    assert_int_equal(schema_check(doc, "", &e), -EINVAL);
    assert_string_equal(e.field, "anyOf");
    json_decref(doc);
}

static void test_check_type(void **state)
{
    (void)state;
    char msg[512];
    assert_string_equal(check("{}", msg, sizeof msg), "arguments.type");
    assert_contains(msg, "required");
    assert_string_equal(check("{\"type\":\"str\"}", msg, sizeof msg), "arguments.type");
    assert_contains(msg, "unknown type 'str'");
    /* a type that is there but not a string is a wrong value, not a missing one */
    assert_string_equal(check("{\"type\":[\"string\",\"null\"]}", msg, sizeof msg),
                        "arguments.type");
    assert_null(strstr(msg, "required"));
    assert_contains(msg, "must be a string naming one type (string, integer, number, boolean, "
                         "array, object), not array");
    assert_contains(msg, "every type accepts it");
    assert_string_equal(check("{\"type\":5}", msg, sizeof msg), "arguments.type");
    assert_contains(msg, "must be a string naming one type");
    assert_contains(msg, "not integer");
    assert_string_equal(check("{\"type\":null}", msg, sizeof msg), "arguments.type");
    assert_contains(msg, "not null");
    CHECK_BAD("{\"type\":\"null\"}", "arguments.type");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"float\"}}}",
              "arguments.properties.a.type");
    /* a schema must be an object at every level */
    CHECK_BAD("[]", "arguments");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a\":\"string\"}}", "arguments.properties.a");
    CHECK_BAD("{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}", "arguments.items");
}

static void test_check_shapes(void **state)
{
    (void)state;
    char msg[512];
    /* properties and required belong to objects, items to arrays */
    assert_string_equal(check("{\"type\":\"string\",\"properties\":{}}", msg, sizeof msg),
                        "arguments.properties");
    assert_contains(msg, "only allowed with type object");
    CHECK_BAD("{\"type\":\"object\",\"properties\":[]}", "arguments.properties");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"\":{\"type\":\"string\"}}}",
              "arguments.properties");
    CHECK_BAD("{\"type\":\"array\",\"required\":[]}", "arguments.required");
    CHECK_BAD("{\"type\":\"string\",\"items\":{\"type\":\"string\"}}", "arguments.items");
    /* required must name declared properties */
    assert_string_equal(check("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
                              "\"required\":[\"a\",\"nope\"]}",
                              msg, sizeof msg),
                        "arguments.required");
    assert_contains(msg, "'nope' is not among the properties");
    CHECK_BAD("{\"type\":\"object\",\"required\":[\"a\"]}", "arguments.required");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
              "\"required\":\"a\"}",
              "arguments.required");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
              "\"required\":[1]}",
              "arguments.required");
    /* descriptive keywords are strings */
    CHECK_BAD("{\"type\":\"string\",\"description\":5}", "arguments.description");
    CHECK_BAD("{\"type\":\"string\",\"title\":[]}", "arguments.title");
}

static void test_check_enum(void **state)
{
    (void)state;
    char msg[512];
    assert_string_equal(check("{\"type\":\"integer\",\"enum\":[1,\"two\"]}", msg, sizeof msg),
                        "arguments.enum");
    assert_contains(msg, "member \"two\" is of type string, not integer");
    assert_string_equal(check("{\"type\":\"integer\",\"enum\":[1,2.5]}", msg, sizeof msg),
                        "arguments.enum");
    assert_contains(msg, "member 2.5 is of type number, not integer");
    CHECK_BAD("{\"type\":\"string\",\"enum\":[\"a\",null,1]}", "arguments.enum");
    CHECK_BAD("{\"type\":\"string\",\"enum\":[]}", "arguments.enum");
    CHECK_BAD("{\"type\":\"string\",\"enum\":\"a\"}", "arguments.enum");
    /* members must also respect the other constraints of the property, and the message names
     * the one a member breaks (its type is right) */
    static const struct {
        const char *schema, *why;
    } conflicts[] = {
        {"{\"type\":\"string\",\"enum\":[\"abc\"],\"maxLength\":1}",
         "member \"abc\" is longer than maxLength 1"},
        {"{\"type\":\"string\",\"maxLength\":2,\"enum\":[\"ab\",\"abc\"]}",
         "member \"abc\" is longer than maxLength 2"},
        {"{\"type\":\"string\",\"minLength\":3,\"enum\":[\"\u00e9t\u00e9\",\"\u00e9t\"]}",
         "member \"\u00e9t\" is shorter than minLength 3"},
        {"{\"type\":\"integer\",\"minimum\":0,\"enum\":[-1,1]}",
         "member -1 is less than minimum 0"},
        {"{\"type\":\"number\",\"maximum\":1.5,\"enum\":[1,2.5]}",
         "member 2.5 is greater than maximum 1.5"},
        {"{\"type\":\"string\",\"format\":\"date-time\",\"enum\":[\"2024-01-01\",\"soon\"]}",
         "member \"soon\" does not fit format \"date-time\""},
        {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"enum\":[[1],[1,\"x\"]]}",
         "member [1,\"x\"] does not fit the schema: [1]: must be of type integer, not string"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
         "\"enum\":[{\"a\":\"x\"},{\"b\":1}]}",
         "member {\"b\":1} does not fit the schema: b: unknown argument"},
    };
    for (size_t i = 0; i < sizeof conflicts / sizeof *conflicts; i++) {
        assert_string_equal(check(conflicts[i].schema, msg, sizeof msg), "arguments.enum");
        assert_null(strstr(msg, "the schema's type"));
        if (!strstr(msg, conflicts[i].why))
            fail_msg("%s: got \"%s\", want \"%s\"", conflicts[i].schema, msg, conflicts[i].why);
    }
}

static void test_check_big_enum(void **state)
{
    (void)state;
    /* every member is still checked in a large enum (task files may hold up to 1 MB), and the
     * check stays linear: the suite's timeout catches a quadratic one */
    json_t *doc = J("{\"type\":\"string\",\"maxLength\":6}");
    json_t *en = json_array();
    for (int i = 0; i < 50000; i++) json_array_append_new(en, json_sprintf("v%d", i));
    json_object_set_new(doc, "enum", en);
    struct sk_err e = {0};
    assert_int_equal(schema_check(doc, "arguments", &e), 0);
    json_array_append_new(en, json_string("too long"));
    assert_int_equal(schema_check(doc, "arguments", &e), -EINVAL);
    assert_string_equal(e.field, "arguments.enum");
    /* the schema itself is left as it was */
    assert_int_equal(json_array_size(json_object_get(doc, "enum")), 50001);
    assert_non_null(json_object_get(doc, "maxLength"));
    json_decref(doc);
}

static void test_check_format_and_bounds(void **state)
{
    (void)state;
    char msg[512];
    assert_string_equal(check("{\"type\":\"string\",\"format\":\"email\"}", msg, sizeof msg),
                        "arguments.format");
    assert_contains(msg, "date-time");
    CHECK_BAD("{\"type\":\"string\",\"format\":1}", "arguments.format");
    CHECK_BAD("{\"type\":\"integer\",\"format\":\"date-time\"}", "arguments.format");

    assert_string_equal(check("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", msg,
                              sizeof msg),
                        "arguments.minimum");
    assert_contains(msg, "greater than maximum");
    CHECK_BAD("{\"type\":\"number\",\"minimum\":0.5,\"maximum\":0.25}", "arguments.minimum");
    CHECK_BAD("{\"type\":\"string\",\"minimum\":1}", "arguments.minimum");
    CHECK_BAD("{\"type\":\"integer\",\"maximum\":\"9\"}", "arguments.maximum");

    assert_string_equal(check("{\"type\":\"number\",\"minLength\":1}", msg, sizeof msg),
                        "arguments.minLength");
    assert_contains(msg, "only allowed with type string");
    CHECK_BAD("{\"type\":\"integer\",\"maxLength\":1}", "arguments.maxLength");
    CHECK_BAD("{\"type\":\"string\",\"minLength\":-1}", "arguments.minLength");
    CHECK_BAD("{\"type\":\"string\",\"maxLength\":1.5}", "arguments.maxLength");
    CHECK_BAD("{\"type\":\"string\",\"minLength\":\"1\"}", "arguments.minLength");
    CHECK_BAD("{\"type\":\"string\",\"minLength\":4,\"maxLength\":3}", "arguments.minLength");
}

static void test_check_default(void **state)
{
    (void)state;
    char msg[512];
    assert_string_equal(check("{\"type\":\"integer\",\"default\":\"x\"}", msg, sizeof msg),
                        "arguments.default");
    assert_contains(msg, "does not fit the schema");
    assert_contains(msg, "must be of type integer");
    CHECK_BAD("{\"type\":\"string\",\"maxLength\":2,\"default\":\"abc\"}", "arguments.default");
    CHECK_BAD("{\"type\":\"integer\",\"minimum\":1,\"default\":0}", "arguments.default");
    CHECK_BAD("{\"type\":\"string\",\"enum\":[\"a\"],\"default\":\"b\"}", "arguments.default");
    CHECK_BAD("{\"type\":\"string\",\"format\":\"date-time\",\"default\":\"soon\"}",
              "arguments.default");
    CHECK_BAD("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"default\":[1,\"x\"]}",
              "arguments.default");
    CHECK_BAD("{\"type\":\"object\",\"properties\":{\"d\":{\"type\":\"integer\","
              "\"default\":1.5}}}",
              "arguments.properties.d.default");
}

/* ---- validation ---- */

/* Validates the JSON literal value against schema under prefix "args"; returns the error
 * list (caller frees) and the possibly rewritten value in *out (caller frees when wanted). */
static json_t *validate(const char *schema, const char *value, json_t **out, bool partial,
                        int *count)
{
    json_t *s = J(schema), *v = J(value), *errs = json_array();
    struct sk_err e = {0};
    if (schema_check(s, "arguments", &e) != 0) fail_msg("test schema refused: %s", e.msg);
    int n = partial ? schema_validate_partial(s, v, "args", errs)
                    : schema_validate(s, v, "args", errs);
    /* the count returned is the number of messages added */
    size_t msgs = 0, i;
    json_t *item;
    json_array_foreach(errs, i, item) msgs += json_array_size(json_object_get(item, "messages"));
    assert_int_equal((size_t)n, msgs);
    if (count) *count = n;
    json_decref(s);
    if (out)
        *out = v;
    else
        json_decref(v);
    return errs;
}

#define OBJ(props) "{\"type\":\"object\",\"properties\":{" props "}}"

static void expect_valid(const char *schema, const char *value)
{
    json_t *errs = validate(schema, value, NULL, false, NULL);
    if (json_array_size(errs)) {
        char *d = json_dumps(errs, JSON_COMPACT);
        fail_msg("%s against %s: unexpected errors %s", value, schema, d);
    }
    json_decref(errs);
}

static void expect_invalid(const char *schema, const char *value, const char *field,
                           const char *needle)
{
    json_t *errs = validate(schema, value, NULL, false, NULL);
    assert_err_field(errs, field, needle);
    json_decref(errs);
}

static void test_validate_types(void **state)
{
    (void)state;
    static const struct {
        const char *type, *good, *bad, *bad_name;
    } cases[] = {
        {"string", "\"x\"", "1", "integer"},       {"integer", "3", "3.5", "number"},
        {"integer", "-7", "\"3\"", "string"},      {"number", "3.5", "true", "boolean"},
        {"number", "3", "\"x\"", "string"},        {"boolean", "false", "0", "integer"},
        {"array", "[1]", "{}", "object"},          {"object", "{}", "[]", "array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char schema[128], v[128], want[128];
        snprintf(schema, sizeof schema, OBJ("\"v\":{\"type\":\"%s\"}"), cases[i].type);
        snprintf(v, sizeof v, "{\"v\":%s}", cases[i].good);
        expect_valid(schema, v);
        snprintf(v, sizeof v, "{\"v\":%s}", cases[i].bad);
        snprintf(want, sizeof want, "must be of type %s, not %s", cases[i].type,
                 cases[i].bad_name);
        expect_invalid(schema, v, "args.v", want);
    }
    /* null means "not given" and is never a type error */
    expect_valid(OBJ("\"v\":{\"type\":\"integer\"}"), "{\"v\":null}");
    /* the root itself, with no prefix, is called (root) */
    json_t *s = J("{\"type\":\"object\"}"), *v = J("[]"), *errs = json_array();
    assert_int_equal(schema_validate(s, v, "", errs), 1);
    assert_err_field(errs, "(root)", "must be of type object, not array");
    json_decref(s);
    json_decref(v);
    json_decref(errs);
}

static void test_validate_enum_and_bounds(void **state)
{
    (void)state;
    const char *e = OBJ("\"m\":{\"type\":\"string\",\"enum\":[\"update\",\"insert-only\"]}");
    expect_valid(e, "{\"m\":\"update\"}");
    expect_invalid(e, "{\"m\":\"Update\"}", "args.m", "must be one of [\"update\",\"insert-only\"]");

    const char *n = OBJ("\"i\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
                        "\"r\":{\"type\":\"number\",\"minimum\":-0.5,\"maximum\":0.5}");
    expect_valid(n, "{\"i\":1,\"r\":-0.5}");
    expect_valid(n, "{\"i\":10,\"r\":0.5}");
    expect_invalid(n, "{\"i\":0}", "args.i", "must be at least 1");
    expect_invalid(n, "{\"i\":11}", "args.i", "must be at most 10");
    expect_invalid(n, "{\"r\":0.75}", "args.r", "must be at most 0.5");
    expect_invalid(n, "{\"r\":-1}", "args.r", "must be at least -0.5");
}

static void test_validate_lengths_count_characters(void **state)
{
    (void)state;
    const char *s = OBJ("\"s\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}");
    expect_valid(s, "{\"s\":\"ab\"}");
    expect_valid(s, "{\"s\":\"abc\"}");
    /* three characters, nine bytes: within maxLength 3 */
    expect_valid(s, "{\"s\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}");
    /* one character, four bytes: below minLength 2 */
    expect_invalid(s, "{\"s\":\"\xf0\x9f\x98\x80\"}", "args.s", "at least 2 characters");
    expect_invalid(s, "{\"s\":\"abcd\"}", "args.s", "at most 3 characters");
    expect_invalid(s, "{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "args.s",
                   "at most 3 characters");
    expect_invalid(s, "{\"s\":\"a\"}", "args.s", "at least 2 characters");
}

static void test_validate_required(void **state)
{
    (void)state;
    const char *s = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                    "\"n\":{\"type\":\"integer\"}},\"required\":[\"name\",\"n\"]}";
    expect_valid(s, "{\"name\":\"x\",\"n\":0}");
    expect_invalid(s, "{\"n\":1}", "args.name", "is required");
    expect_invalid(s, "{\"name\":null,\"n\":1}", "args.name", "is required");
    expect_invalid(s, "{\"name\":\"\",\"n\":1}", "args.name", "is required");
    expect_invalid(s, "{\"name\":\"x\"}", "args.n", "is required");
    /* a zero or false is a value, not a missing one */
    expect_valid("{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"boolean\"}},"
                 "\"required\":[\"b\"]}",
                 "{\"b\":false}");

    /* partial validation skips required at the top level only */
    int n;
    json_t *errs = validate(s, "{\"n\":1}", NULL, true, &n);
    assert_int_equal(n, 0);
    json_decref(errs);
    const char *nested = "{\"type\":\"object\",\"properties\":{\"o\":{\"type\":\"object\","
                         "\"properties\":{\"x\":{\"type\":\"string\"}},\"required\":[\"x\"]}},"
                         "\"required\":[\"o\"]}";
    errs = validate(nested, "{\"o\":{}}", NULL, true, &n);
    assert_int_equal(n, 1);
    assert_err_field(errs, "args.o.x", "is required");
    json_decref(errs);
    errs = validate(nested, "{}", NULL, true, &n);
    assert_int_equal(n, 0);
    json_decref(errs);
    /* but types are still checked */
    errs = validate(s, "{\"n\":\"one\"}", NULL, true, &n);
    assert_int_equal(n, 1);
    assert_err_field(errs, "args.n", "must be of type integer");
    json_decref(errs);
}

static void test_validate_unknown_and_nested(void **state)
{
    (void)state;
    const char *s =
        "{\"type\":\"object\",\"properties\":{"
        "\"a\":{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"integer\"}}},"
        "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"maximum\":5}},"
        "\"objs\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
        "{\"x\":{\"type\":\"string\"}}}}}}";
    expect_invalid(s, "{\"bogus\":1}", "args.bogus", "unknown argument");
    expect_invalid(s, "{\"a\":{\"b\":\"x\"}}", "args.a.b", "must be of type integer");
    expect_invalid(s, "{\"a\":{\"c\":1}}", "args.a.c", "unknown argument");
    expect_invalid(s, "{\"list\":[1,2,9]}", "args.list[2]", "must be at most 5");
    expect_invalid(s, "{\"list\":[1,\"2\"]}", "args.list[1]", "must be of type integer");
    expect_invalid(s, "{\"objs\":[{\"x\":\"ok\"},{\"x\":1}]}", "args.objs[1].x",
                   "must be of type string");
    expect_valid(s, "{\"a\":{\"b\":1},\"list\":[],\"objs\":[{}]}");

    /* every error is reported, each under its own field */
    int n;
    json_t *errs = validate(s, "{\"bogus\":1,\"a\":{\"b\":true},\"list\":[6,7]}", NULL, false, &n);
    assert_int_equal(n, 4);
    assert_err_field(errs, "args.bogus", NULL);
    assert_err_field(errs, "args.a.b", NULL);
    assert_err_field(errs, "args.list[0]", NULL);
    assert_err_field(errs, "args.list[1]", NULL);
    json_decref(errs);

    /* a string both too long and outside its enum gets both messages under one field */
    errs = validate(OBJ("\"s\":{\"type\":\"string\",\"maxLength\":1,\"enum\":[\"a\"]}"),
                    "{\"s\":\"bb\"}", NULL, false, &n);
    assert_int_equal(n, 2);
    assert_int_equal(json_array_size(errs), 1);
    assert_err_field(errs, "args.s", "must be one of");
    assert_err_field(errs, "args.s", "at most 1 characters");
    json_decref(errs);
}

static void test_validate_date_time(void **state)
{
    (void)state;
    const char *s = OBJ("\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
                        "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
                        "\"format\":\"date-time\"}}");
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"2024-03-01 10:30", "2024-03-01T10:30:00.000000+00:00"},
        {"2024-03-01", "2024-03-01T00:00:00.000000+00:00"},
        {"2024-03-01T12:30:00+02:00", "2024-03-01T10:30:00.000000+00:00"},
        {"2024-03-01T00:15:00.25-01:00", "2024-03-01T01:15:00.250000+00:00"},
        {"2024-03-01T10:30:00.000000+00:00", "2024-03-01T10:30:00.000000+00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char v[160];
        snprintf(v, sizeof v, "{\"when\":\"%s\",\"list\":[\"%s\"]}", cases[i].in, cases[i].in);
        json_t *out;
        json_t *errs = validate(s, v, &out, false, NULL);
        assert_int_equal(json_array_size(errs), 0);
        assert_string_equal(json_string_value(json_object_get(out, "when")), cases[i].want);
        assert_string_equal(json_string_value(json_array_get(json_object_get(out, "list"), 0)),
                            cases[i].want);
        json_decref(out);
        json_decref(errs);
    }
    json_t *out;
    json_t *errs = validate(s, "{\"when\":\"2023-02-29\"}", &out, false, NULL);
    assert_err_field(errs, "args.when", "not a valid date-time (no such date)");
    /* an invalid value is left as the caller sent it */
    assert_string_equal(json_string_value(json_object_get(out, "when")), "2023-02-29");
    json_decref(out);
    json_decref(errs);
    expect_invalid(s, "{\"list\":[\"2024-01-01\",\"soon\"]}", "args.list[1]",
                   "not a valid date-time");
}

static void test_apply_defaults(void **state)
{
    (void)state;
    json_t *s = J("{\"type\":\"object\",\"properties\":{"
                  "\"a\":{\"type\":\"integer\",\"default\":1},"
                  "\"b\":{\"type\":\"string\",\"default\":\"x\"},"
                  "\"c\":{\"type\":\"array\",\"default\":[1,2]},"
                  "\"d\":{\"type\":\"string\"},"
                  "\"n\":{\"type\":\"string\",\"default\":null},"
                  "\"o\":{\"type\":\"object\",\"properties\":{"
                  "\"p\":{\"type\":\"boolean\",\"default\":true},"
                  "\"q\":{\"type\":\"integer\",\"default\":7}}}}}");
    json_t *obj = J("{\"b\":\"given\",\"a\":null,\"o\":{\"q\":0}}");
    schema_apply_defaults(s, obj);
    assert_json_eq(obj, "{\"a\":1,\"b\":\"given\",\"c\":[1,2],\"o\":{\"p\":true,\"q\":0}}");
    /* defaults are copies: changing the result leaves the schema alone */
    json_array_append_new(json_object_get(obj, "c"), json_integer(3));
    json_t *def = json_object_get(json_object_get(json_object_get(s, "properties"), "c"),
                                  "default");
    assert_json_eq(def, "[1,2]");
    json_decref(obj);

    /* an absent nested object is not invented just to hold its defaults */
    obj = json_object();
    schema_apply_defaults(s, obj);
    assert_null(json_object_get(obj, "o"));
    json_decref(obj);

    /* non-objects are left alone */
    obj = J("[1]");
    schema_apply_defaults(s, obj);
    assert_json_eq(obj, "[1]");
    json_decref(obj);
    json_decref(s);
}

static void test_coerce_whole_reals(void **state)
{
    (void)state;
    json_t *s = J("{\"type\":\"object\",\"properties\":{"
                  "\"i\":{\"type\":\"integer\"},\"n\":{\"type\":\"number\"},"
                  "\"l\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
                  "\"o\":{\"type\":\"object\",\"properties\":{\"j\":{\"type\":\"integer\"}}}}}");
    /* 5.0 is an integer, in objects and arrays; a number stays a number, a fraction or a
     * value past 64 bits stays what it is (and validation says so), unknown keys alone */
    json_t *v = J("{\"i\":5.0,\"n\":2.0,\"l\":[1,-3.0,1.5,1e19],\"o\":{\"j\":-0.0},\"x\":4.0}");
    schema_coerce(s, v);
    assert_json_eq(v, "{\"i\":5,\"n\":2.0,\"l\":[1,-3,1.5,1e19],\"o\":{\"j\":0},\"x\":4.0}");
    assert_true(json_is_integer(json_object_get(v, "i")));
    assert_true(json_is_real(json_object_get(v, "n")));
    json_t *errs = json_array();
    schema_validate(s, v, "args", errs);
    assert_int_equal(json_array_size(errs), 3); /* l[2], l[3], x */
    json_decref(errs);
    json_decref(v);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_subset),
        cmocka_unit_test(test_check_unknown_keyword),
        cmocka_unit_test(test_check_type),
        cmocka_unit_test(test_check_shapes),
        cmocka_unit_test(test_check_enum),
        cmocka_unit_test(test_check_big_enum),
        cmocka_unit_test(test_check_format_and_bounds),
        cmocka_unit_test(test_check_default),
        cmocka_unit_test(test_validate_types),
        cmocka_unit_test(test_validate_enum_and_bounds),
        cmocka_unit_test(test_validate_lengths_count_characters),
        cmocka_unit_test(test_validate_required),
        cmocka_unit_test(test_validate_unknown_and_nested),
        cmocka_unit_test(test_validate_date_time),
        cmocka_unit_test(test_apply_defaults),
        cmocka_unit_test(test_coerce_whole_reals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
