/*
 * test_cron: schedule parsing and next-fire-time computation against the vectors of
 * tests/data/cron/ (both DST directions in Europe/Zurich, America/New_York and
 * Australia/Lord_Howe, leap days, month ends, both day-field rules, macros, every error case),
 * plus the time-zone reader itself. Time is passed in, so no clock is involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "cron.h"
#include "base/xalloc.h"
#include "model.h"
#include "scheduler.h"
#include "tz.h"

static const char *data_dir;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
    return s;
}

/* Splits "a | b | c" into at most n trimmed parts; returns how many. */
static int split(char *line, char **parts, int n)
{
    int k = 0;
    char *p = line;
    while (k < n) {
        char *bar = strstr(p, " | ");
        if (bar) *bar = '\0';
        parts[k++] = trim(p);
        if (!bar) break;
        p = bar + 3;
    }
    return k;
}

static json_t *schedule_doc(const char *spec, const char *zone)
{
    json_t *doc;
    if (spec[0] == '{') {
        doc = json_loads(spec, 0, NULL);
        assert_non_null(doc);
    } else {
        doc = json_pack("{s:s,s:s}", "type", "cron", "expression", spec);
    }
    if (!json_object_get(doc, "timezone")) json_object_set_new(doc, "timezone", json_string(zone));
    return doc;
}

static FILE *open_data(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    return f;
}

static void test_vectors_next(void **state)
{
    (void)state;
    FILE *f = open_data("next.txt");
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line);
        if (!*l || *l == '#') continue;
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", l);
        char *parts[4];
        int n = split(copy, parts, 4);
        if (n != 4) fail_msg("bad vector line: %s", l);
        json_t *doc = schedule_doc(parts[0], parts[1]);
        json_t *errs = json_array();
        struct schedule sc;
        if (schedule_parse(doc, "schedule", &sc, errs) != 0) {
            char *e = json_dump(errs);
            fail_msg("%s: refused: %s", l, e);
        }
        int64_t t;
        const char *why;
        if (time_parse(parts[2], &t, &why) != 0) fail_msg("%s: bad FROM", l);
        char *save = NULL;
        for (char *exp = strtok_r(parts[3], " ", &save); exp; exp = strtok_r(NULL, " ", &save)) {
            int want_flags = 0;
            char *tilde = strchr(exp, '~');
            if (tilde) {
                *tilde = '\0';
                if (!strcmp(tilde + 1, "gap")) want_flags = CRON_GAP_SHIFTED;
                else if (!strcmp(tilde + 1, "fold1")) want_flags = CRON_FOLD_FIRST;
                else if (!strcmp(tilde + 1, "fold2")) want_flags = CRON_FOLD_SECOND;
                else fail_msg("%s: bad flag %s", l, tilde + 1);
            }
            int64_t want;
            if (time_parse(exp, &want, &why) != 0) fail_msg("%s: bad expected %s", l, exp);
            int flags = -1;
            t = schedule_next(&sc, t, &flags);
            if (t != want || flags != want_flags) {
                char got[TIME_STR_MAX];
                time_format(t, got);
                fail_msg("%s\n  expected %s (flags %d), got %s (flags %d)", l, exp, want_flags, got,
                         flags);
            }
        }
        json_decref(doc);
        json_decref(errs);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 40);
}

static void test_vectors_errors(void **state)
{
    (void)state;
    FILE *f = open_data("errors.txt");
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line);
        if (!*l || *l == '#') continue;
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", l);
        char *parts[3];
        if (split(copy, parts, 3) != 3) fail_msg("bad vector line: %s", l);
        json_t *doc = schedule_doc(parts[0], parts[1]);
        json_t *errs = json_array();
        struct schedule sc;
        int rc = schedule_parse(doc, "schedule", &sc, errs);
        if (rc == 0) fail_msg("%s: accepted, expected: %s", l, parts[2]);
        /* "FIELD: message part" must match one error */
        char *colon = strstr(parts[2], ": ");
        assert_non_null(colon);
        *colon = '\0';
        const char *field = parts[2], *msg = colon + 2;
        bool found = false;
        size_t i, k;
        json_t *e, *m;
        json_array_foreach(errs, i, e)
        {
            if (strcmp(json_str(e, "field"), field) != 0) continue;
            json_array_foreach(json_object_get(e, "messages"), k, m)
                found = found || strstr(json_string_value(m), msg) != NULL;
        }
        if (!found) {
            char *got = json_dump(errs);
            fail_msg("%s\n  expected %s: %s\n  got %s", l, field, msg, got);
        }
        json_decref(doc);
        json_decref(errs);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 30);
}

/* The one error of doc, as "field: message" (the caller frees it). */
static char *only_error(json_t *doc)
{
    json_t *errs = json_array();
    struct schedule sc;
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    assert_int_equal(json_array_size(errs), 1);
    json_t *e = json_array_get(errs, 0);
    char *out = xasprintf("%s: %s", json_str(e, "field"),
                          json_string_value(json_array_get(json_object_get(e, "messages"), 0)));
    json_decref(errs);
    json_decref(doc);
    return out;
}

/* A long value in error is quoted cut, so the message still names its field (it was cut at
 * 511 bytes, in the value); a crontab's member is as long as an expression's field may be. */
static void test_long_values_in_errors(void **state)
{
    (void)state;
    char xs[506], ls[601];
    memset(xs, 'x', sizeof xs - 1), xs[sizeof xs - 1] = '\0';
    memset(ls, 'L', sizeof ls - 1), ls[sizeof ls - 1] = '\0';
    char *expr = xasprintf("1,%s * * * *", xs);
    char *m = only_error(json_pack("{s:s,s:s}", "type", "cron", "expression", expr));
    assert_string_equal(m, "schedule.expression: expected a number at "
                           "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' in minute");
    free(m);
    free(expr);
    char *hour = xasprintf("1,%s", ls);
    m = only_error(json_pack("{s:s,s:s}", "type", "crontab", "hour", hour));
    assert_string_equal(m, "schedule.hour: too long (at most 511 characters)");
    free(m);
    hour[300] = '\0';
    m = only_error(json_pack("{s:s,s:s}", "type", "crontab", "hour", hour));
    assert_string_equal(m, "schedule.hour: expected a number at "
                           "'LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL…' in hour");
    free(m);
    free(hour);
    char *month = xasprintf("JAN-%.60s", ls);
    m = only_error(json_pack("{s:s,s:s}", "type", "crontab", "month_of_year", month));
    assert_string_equal(m, "schedule.month_of_year: unknown name "
                           "'LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL…' for month");
    free(m);
    free(month);
}

static void test_interval_parse(void **state)
{
    (void)state;
    struct schedule sc;
    json_t *errs = json_array();
    json_t *doc = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i}", "type", "interval", "weeks", 1, "days", 1,
                            "hours", 4, "minutes", 0, "seconds", 30);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_int_equal(sc.type, SCHEDULE_INTERVAL);
    assert_true(sc.interval_us == ((7 + 1) * 86400LL + 4 * 3600 + 30) * 1000000);
    json_decref(doc);
    /* sub-second parts round to whole seconds */
    doc = json_pack("{s:s,s:i}", "type", "interval", "milliseconds", 1500);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_true(sc.interval_us == 2000000);
    json_decref(doc);
    doc = json_pack("{s:s,s:i,s:i}", "type", "interval", "seconds", 1, "microseconds", 400000);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_true(sc.interval_us == 1000000);
    json_decref(doc);
    /* a whole number written as a real (Python's timedelta.total_seconds()) counts */
    doc = json_pack("{s:s,s:f}", "type", "interval", "seconds", 300.0);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_true(sc.interval_us == 300000000);
    json_decref(doc);
    doc = json_pack("{s:s,s:f,s:s}", "type", "crontab", "minute", 30.0, "hour", "3");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_true(sc.cron.minute == 1ULL << 30);
    json_decref(doc);
    assert_int_equal(json_array_size(errs), 0);
    doc = json_pack("{s:s,s:f}", "type", "interval", "seconds", 300.5);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    json_decref(doc);
    json_decref(errs);

    /* a stored interval whose zone is no longer known parses (its zone changes nothing); a
     * crontab's does not, nor a schedule being saved */
    errs = json_array();
    doc = json_pack("{s:s,s:i,s:s}", "type", "interval", "hours", 1, "timezone", "Gone/Zone");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    assert_int_equal(schedule_parse_stored(doc, "schedule", &sc, errs), 0);
    assert_true(sc.interval_us == 3600000000LL);
    json_decref(doc);
    doc = json_pack("{s:s,s:s,s:s}", "type", "crontab", "hour", "3", "timezone", "Gone/Zone");
    json_array_clear(errs);
    assert_int_equal(schedule_parse_stored(doc, "schedule", &sc, errs), -EINVAL);
    char *said = json_dumps(errs, 0);
    assert_non_null(strstr(said, "unknown time zone"));
    free(said);
    json_decref(doc);
    json_decref(errs);
}

static void test_jitter(void **state)
{
    (void)state;
    struct schedule sc;
    json_t *errs = json_array();
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s}", "type", "crontab", "minute", "0", "hour", "3",
                            "jitter", "10m");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    assert_true(sc.jitter_us == 600000000);
    assert_true(sc.offset_us == 0); /* no job yet: the schedule's own times */
    int64_t jan1 = 1767225600LL * 1000000; /* 2026-01-01T00:00:00Z */
    assert_true(schedule_next(&sc, jan1, NULL) == jan1 + 3 * 3600000000LL);
    /* a job's place: FNV-1a of its id modulo the jitter's seconds, whole seconds */
    const char *id = "e9a85b34-b723-4496-98c8-f4585259e9b6";
    schedule_place(&sc, id);
    assert_true(sc.offset_us == 43000000);
    int64_t first = jan1 + 3 * 3600000000LL + 43000000;
    assert_true(schedule_next(&sc, jan1, NULL) == first);
    /* strictly after: from its own fire the next is a day on, from just before it is it */
    assert_true(schedule_next(&sc, first, NULL) == first + 86400000000LL);
    assert_true(schedule_next(&sc, first - 1, NULL) == first);
    /* another id, another place, below the jitter */
    schedule_place(&sc, "00000000-0000-4000-8000-000000000000");
    assert_true(sc.offset_us >= 0 && sc.offset_us < 600000000 && sc.offset_us % 1000000 == 0);
    assert_true(sc.offset_us != 43000000);
    json_decref(doc);
    /* cron too; not an interval, nor outside 1s..1d */
    doc = json_pack("{s:s,s:s,s:s}", "type", "cron", "expression", "@daily", "jitter", "1d");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), 0);
    json_decref(doc);
    assert_int_equal(json_array_size(errs), 0);
    doc = json_pack("{s:s,s:i,s:s}", "type", "interval", "hours", 1, "jitter", "1m");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    json_decref(doc);
    doc = json_pack("{s:s,s:s,s:s}", "type", "cron", "expression", "@daily", "jitter", "25h");
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    json_decref(doc);
    doc = json_pack("{s:s,s:s,s:i}", "type", "crontab", "minute", "0", "jitter", 60);
    assert_int_equal(schedule_parse(doc, "schedule", &sc, errs), -EINVAL);
    json_decref(doc);
    /* one field, three messages */
    assert_int_equal(json_array_size(errs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "field")),
                        "schedule.jitter");
    assert_int_equal(json_array_size(json_object_get(json_array_get(errs, 0), "messages")), 3);
    json_decref(errs);
    /* a change of jitter is a change of firing */
    json_t *a = json_pack("{s:s,s:s}", "type", "cron", "expression", "@daily");
    json_t *b = json_pack("{s:s,s:s,s:s}", "type", "cron", "expression", "@daily", "jitter", "5m");
    assert_false(schedule_same(a, b));
    assert_true(schedule_same(b, b));
    json_decref(a);
    json_decref(b);
}

/* A job's schedule saved with only its jitter changed: the pending time is its next, at its new
 * place, whether that has passed or not, so no time fires twice and none is skipped. */
static void test_jitter_change_keeps_the_pending_time(void **state)
{
    (void)state;
    int64_t s = 1000000, three = (1767225600LL + 3 * 3600) * s; /* 2026-01-01T03:00:00Z */
    struct job old = {.id = "e9a85b34-b723-4496-98c8-f4585259e9b6", .active = true};
    struct job j = old;
    json_t *ten = json_pack("{s:s,s:s,s:s,s:s}", "type", "crontab", "minute", "0", "hour", "3",
                            "jitter", "10m"); /* this job's place: 43 s */
    json_t *half = json_pack("{s:s,s:s,s:s,s:s}", "type", "crontab", "minute", "0", "hour", "3",
                             "jitter", "30m"); /* 1,243 s */
    json_t *four = json_pack("{s:s,s:s,s:s,s:s}", "type", "crontab", "minute", "0", "hour", "4",
                             "jitter", "30m");
    /* 03:00 fired at 03:00:43; at 03:01 the jitter grows: tomorrow's 03:00 is next, not
     * today's at its new place (03:20:43), which would fire it again */
    old.schedule = ten;
    old.next_run = three + 86400 * s + 43 * s;
    j.schedule = half;
    scheduler_prepare(NULL, &old, &j, three + 60 * s);
    assert_true(j.next_run == three + 86400 * s + 1243 * s);
    /* 03:00 pending at 03:20:43; at 03:02 the jitter shrinks: it is still next, at 03:00:43,
     * passed, so it fires at once rather than not at all */
    old.schedule = half;
    old.next_run = three + 1243 * s;
    j.schedule = ten;
    scheduler_prepare(NULL, &old, &j, three + 120 * s);
    assert_true(j.next_run == three + 43 * s);
    /* other times: the first after now */
    j.schedule = four;
    scheduler_prepare(NULL, &old, &j, three + 120 * s);
    assert_true(j.next_run == three + 3600 * s + 1243 * s);
    /* an inactive job's next time was none: the first after now */
    old.active = false;
    j.schedule = ten;
    scheduler_prepare(NULL, &old, &j, three + 120 * s);
    assert_true(j.next_run == three + 86400 * s + 43 * s);
    json_decref(ten);
    json_decref(half);
    json_decref(four);
}

static void test_interval_like(void **state)
{
    (void)state;
    struct cron_expr c;
    struct sk_err e;
    assert_int_equal(cron_parse("*/5 3 * * *", &c, &e), 0);
    assert_true(c.interval_like);
    assert_int_equal(cron_parse("0 * * * *", &c, &e), 0);
    assert_true(c.interval_like);
    assert_int_equal(cron_parse("0 3 * * *", &c, &e), 0);
    assert_false(c.interval_like);
    assert_int_equal(cron_parse("0-59 0-23 * * *", &c, &e), 0);
    assert_false(c.interval_like); /* only a leading '*' makes it interval-like */
    /* every minute listed (169 characters), as the crontab form takes it */
    char all[400] = "";
    for (int m = 0; m < 60; m++) sprintf(all + strlen(all), m ? ",%02d" : "%02d", m);
    strcat(all, " 3 * * *");
    assert_int_equal(cron_parse(all, &c, &e), 0);
    assert_true(c.minute == (1ULL << 60) - 1);
}

static void test_tz_offsets(void **state)
{
    (void)state;
    const struct tz *z;
    struct sk_err e;
    assert_int_equal(tz_get("Europe/Zurich", &z, &e), 0);
    int64_t t;
    time_parse("2026-07-01T12:00:00Z", &t, NULL);
    bool dst;
    assert_int_equal(tz_offset(z, t / 1000000, &dst), 7200);
    assert_true(dst);
    time_parse("2026-01-15T12:00:00Z", &t, NULL);
    assert_int_equal(tz_offset(z, t / 1000000, &dst), 3600);
    assert_false(dst);
    /* beyond the file's transitions the POSIX footer rule applies */
    time_parse("2100-07-01T12:00:00Z", &t, NULL);
    assert_int_equal(tz_offset(z, t / 1000000, NULL), 7200);
    time_parse("2100-12-01T12:00:00Z", &t, NULL);
    assert_int_equal(tz_offset(z, t / 1000000, NULL), 3600);
    /* southern hemisphere rule spanning the new year, with a 30-minute shift */
    assert_int_equal(tz_get("Australia/Lord_Howe", &z, &e), 0);
    time_parse("2100-01-10T00:00:00Z", &t, NULL);
    assert_int_equal(tz_offset(z, t / 1000000, NULL), 11 * 3600);
    time_parse("2100-06-10T00:00:00Z", &t, NULL);
    assert_int_equal(tz_offset(z, t / 1000000, NULL), 10 * 3600 + 1800);
    struct local_time lt;
    tz_local(z, t / 1000000, &lt);
    assert_int_equal(lt.hour, 10);
    assert_int_equal(lt.minute, 30);
    assert_string_equal(lt.abbr, "+1030");
}

static void test_tz_resolve(void **state)
{
    (void)state;
    const struct tz *z;
    struct sk_err e;
    assert_int_equal(tz_get("America/New_York", &z, &e), 0);
    int64_t out[TZ_RESOLVE_MAX], want;
    assert_int_equal(tz_resolve(z, 2026, 3, 8, 2, 30, 0, out), 0); /* gap */
    assert_int_equal(tz_resolve(z, 2026, 11, 1, 1, 30, 0, out), 2); /* fold */
    time_parse("2026-11-01T05:30:00Z", &want, NULL);
    assert_true(out[0] == want / 1000000);
    time_parse("2026-11-01T06:30:00Z", &want, NULL);
    assert_true(out[1] == want / 1000000);
    assert_int_equal(tz_resolve(z, 2026, 7, 4, 12, 0, 0, out), 1);
    time_parse("2026-07-04T16:00:00Z", &want, NULL);
    assert_true(out[0] == want / 1000000);
    time_parse("2026-11-01T00:00:00Z", &want, NULL);
    int64_t tr = tz_next_transition(z, want / 1000000);
    time_parse("2026-11-01T06:00:00Z", &want, NULL);
    assert_true(tr == want / 1000000);
}

/* A TZif file of no transitions and one type, "AAA" at UTC, whose footer rule is tail. */
static struct tz *zone_of_rule(const char *tail)
{
    unsigned char f[160] = {0};
    size_t n = 0;
    for (int block = 0; block < 2; block++) { /* version 1's data, then version 2's */
        memcpy(f + n, "TZif2", 5);
        f[n + 39] = 1; /* one type */
        f[n + 43] = 4; /* "AAA\0" */
        n += 44;
        n += 4;        /* the type: offset 0, not DST, abbreviation 0 */
        n += 2;
        memcpy(f + n, "AAA", 4);
        n += 4;
    }
    f[n++] = '\n';
    memcpy(f + n, tail, strlen(tail));
    n += strlen(tail);
    f[n++] = '\n';
    struct tz *z;
    struct sk_err e;
    assert_int_equal(tz_parse(f, n, "short-summer", &z, &e), 0);
    return z;
}

/* A rule whose summer is shorter than a day: each of its wall times that occur twice is found
 * twice, though its offset is in effect at none of the instants a day apart around it. */
static void test_tz_resolve_short_summer(void **state)
{
    (void)state;
    /* summer from 01:00 to 03:00 (summer time) on 1 January: 01:00-02:00 UTC */
    struct tz *z = zone_of_rule("AAA0BBB,0/1,0/3");
    int64_t out[TZ_RESOLVE_MAX], want;
    time_parse("2026-01-01T01:30:00Z", &want, NULL);
    assert_int_equal(tz_offset(z, want / 1000000, NULL), 3600);
    assert_int_equal(tz_resolve(z, 2026, 1, 1, 2, 30, 0, out), 2); /* in summer, then again */
    assert_true(out[0] == want / 1000000);
    time_parse("2026-01-01T02:30:00Z", &want, NULL);
    assert_true(out[1] == want / 1000000);
    assert_int_equal(tz_resolve(z, 2026, 1, 1, 1, 30, 0, out), 0); /* the hour skipped */
    tz_free(z);
}

static void test_tz_errors(void **state)
{
    (void)state;
    const struct tz *z;
    struct sk_err e;
    assert_int_not_equal(tz_get("Nowhere/Atlantis", &z, &e), 0);
    assert_non_null(strstr(e.msg, "unknown time zone"));
    /* a long name is cut where shown, so that the rest of the message is said */
    char name[1001];
    memset(name, 'A', 1000);
    name[1000] = '\0';
    assert_int_not_equal(tz_get(name, &z, &e), 0);
    assert_non_null(strstr(e.msg, "AAAA…' is not a time zone name (an IANA name such as "
                                  "Europe/Zurich)"));
    assert_true(strlen(e.msg) < 150);
    /* tzdata's folders and its files that hold no zone */
    for (const char *const *n = (const char *const[]){"Europe", "leapseconds", NULL}; *n; n++) {
        assert_int_not_equal(tz_get(*n, &z, &e), 0);
        assert_non_null(strstr(e.msg, "unknown time zone"));
    }
    assert_int_not_equal(tz_get("../etc/passwd", &z, &e), 0);
    assert_int_not_equal(tz_get("", &z, &e), 0);
    /* files that are no place's zone: the machine's own setting among them */
    for (const char *const *n = (const char *const[]){"localtime", "posixrules", "Factory",
                                                      "posix/Factory", NULL};
         *n; n++) {
        assert_int_not_equal(tz_get(*n, &z, &e), 0);
        assert_non_null(strstr(e.msg, "is not a place's time zone"));
    }
    /* a zone that counts leap seconds (tzdata's right/ zones): its times would be off */
    unsigned char leapy[44 + 6 + 4 + 8] = "TZif";
    leapy[31] = 1; /* one leap second */
    leapy[39] = 1; /* one type */
    leapy[43] = 4;
    memcpy(leapy + 50, "AAA", 4);
    struct tz *lz;
    assert_int_not_equal(tz_parse(leapy, sizeof leapy, "right/x", &lz, &e), 0);
    assert_non_null(strstr(e.msg, "counts leap seconds"));
    struct tz *p;
    assert_int_not_equal(tz_parse((const unsigned char *)"nope", 4, "x", &p, &e), 0);
    unsigned char hdr[44] = "TZif2";
    hdr[35] = 10; /* ten transitions announced, none present */
    hdr[39] = 1;
    assert_int_not_equal(tz_parse(hdr, sizeof hdr, "x", &p, &e), 0);
    assert_non_null(strstr(e.msg, "truncated"));
    assert_int_equal(tz_get("UTC", &z, &e), 0);
    assert_int_equal(tz_offset(z, 0, NULL), 0);
}

int main(int argc, char **argv)
{
    data_dir = argc > 1 ? argv[1] : "tests/data/cron";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_next),  cmocka_unit_test(test_vectors_errors),
        cmocka_unit_test(test_interval_parse), cmocka_unit_test(test_interval_like),
        cmocka_unit_test(test_long_values_in_errors),
        cmocka_unit_test(test_jitter), cmocka_unit_test(test_jitter_change_keeps_the_pending_time),
        cmocka_unit_test(test_tz_offsets),    cmocka_unit_test(test_tz_resolve),
        cmocka_unit_test(test_tz_resolve_short_summer), cmocka_unit_test(test_tz_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tz_cache_clear();
    return rc;
}
