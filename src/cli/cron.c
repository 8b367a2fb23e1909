/*
 * cron: `sked cron next` (the next fire times of a schedule, computed locally with the same
 * code the scheduler uses) and `sked job schedule` (setting or removing a job's schedule).
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "commands.h"
#include "cron.h"
#include "tz.h"

enum { O_FROM, O_COUNT, O_TZ, O_INTERVAL, O_CRONTAB, O_CRON, O_NONE, O_JSON, O_JITTER, O_JOB };

/* Sets member key of schedule doc from option id (--tz, --jitter), unless doc has one that
 * differs (given in where: SPEC, --crontab), which is refused: noun names what was given twice.
 * Returns 0 or EXIT_USAGE. */
static int set_once(const struct opts *o, json_t *doc, const char *key, int id, const char *noun,
                    const char *where)
{
    const char *v = opts_get(o, id);
    const json_t *own = json_object_get(doc, key);
    if (!v) return 0;
    /* a jitter is a duration: 5m and 300s are one, and what is none is said here (exit 2) */
    bool dur = strcmp(key, "jitter") == 0;
    int64_t ms, own_ms;
    const char *why;
    if (dur && duration_parse(v, &ms, &why) != 0)
        return usage_error(o, "--%s: %s", opt_name(o, id), why);
    bool same = json_is_string(own) &&
                (dur ? duration_parse(json_string_value(own), &own_ms, &why) == 0 && own_ms == ms
                     : strcmp(json_string_value(own), v) == 0);
    if (own && !same)
        return usage_error(o, "--%s %s and the %s of %s differ: give the %s once", opt_name(o, id),
                           v, key, where, noun);
    if (own) return 0; /* as written there */
    json_object_set_new(doc, key, json_string(v));
    return 0;
}

/* A schedule object from what a person typed: a JSON object or a cron expression/macro. */
static json_t *spec_doc(const struct opts *o, const char *spec)
{
    json_t *doc;
    const char *p = spec;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '{' || *p == '[' || *p == '"') { /* JSON, if anything: no expression starts so */
        struct sk_err e = {0};
        doc = json_parse(spec, strlen(spec), "SPEC", &e);
        if (!doc) {
            usage_error(o, "SPEC: %s", e.msg);
            return NULL;
        }
        if (!json_is_object(doc)) {
            json_decref(doc);
            usage_error(o, "SPEC: a JSON schedule must be an object");
            return NULL;
        }
    } else {
        doc = json_pack("{s:s,s:s}", "type", "cron", "expression", spec);
    }
    if (set_once(o, doc, "timezone", O_TZ, "zone", "SPEC")) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* What schedule_parse says of a schedule that is well formed but matches no date at all
 * (src/cron.c): no usage error, but a schedule without a fire time. */
#define NEVER_FIRES "this schedule never fires"

/* Prints the errors of schedule_parse as "field: message" lines; returns EXIT_USAGE, or
 * EXIT_FAIL when the one thing wrong is that the schedule never fires. */
static int schedule_errors(const struct opts *o, json_t *errs)
{
    size_t i, k;
    json_t *e, *m;
    bool never = json_array_size(errs) > 0;
    json_array_foreach(errs, i, e)
        json_array_foreach(json_object_get(e, "messages"), k, m)
        {
            const char *text = json_string_value(m);
            never = never && text && strncmp(text, NEVER_FIRES, strlen(NEVER_FIRES)) == 0;
            fprintf(stderr, "%s: %s: %s\n", o->prog, json_str(e, "field"), shown(text));
        }
    return never ? EXIT_FAIL : EXIT_USAGE;
}

/* An instant in UTC to the second: "2026-12-01T03:00:00Z". */
static const char *utc_second(int64_t us, char out[TIME_STR_MAX])
{
    char full[TIME_STR_MAX];
    time_format(us, full);
    snprintf(out, TIME_STR_MAX, "%.19sZ", full);
    return out;
}

static void print_time(const struct tz *z, int64_t us, int flags)
{
    char utc[TIME_STR_MAX];
    struct local_time lt;
    tz_local(z, us / 1000000, &lt);
    int a = lt.offset < 0 ? -lt.offset : lt.offset;
    printf("%s  %04lld-%02d-%02d %02d:%02d:%02d %s (%c%02d:%02d)", utc_second(us, utc),
           (long long)lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.second, lt.abbr,
           lt.offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    if (flags & CRON_GAP_SHIFTED) printf("  clocks jump forward: the wall time does not exist, fires at the end of the gap");
    if (flags & CRON_FOLD_FIRST) printf("  clocks fall back: first pass of a repeated hour");
    if (flags & CRON_FOLD_SECOND) printf("  clocks fall back: second pass of a repeated hour");
    putchar('\n');
}

static int cron_next(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"from", 0, true, O_FROM},
                                           {"count", 'n', true, O_COUNT},
                                           {"tz", 0, true, O_TZ},
                                           {"job", 0, true, O_JOB},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked cron next SPEC [--from TIME] [--count N] [--tz ZONE] [--job ID] [--json]\n"
        "\n"
        "Prints the next N fire times of a schedule saved at --from (default now), one per\n"
        "line: the instant in UTC, then the wall time in the schedule's zone and any\n"
        "daylight-saving note. SPEC is a cron expression (\"0 3 * * 1-5\", \"@daily\") or a\n"
        "schedule object ('{\"type\":\"crontab\",\"hour\":\"3\"}', '{\"type\":\"interval\",\"hours\":4}').\n"
        "A cron schedule fires at the times strictly after --from; an interval fires when saved,\n"
        "so its first time is --from itself. The same times as POST /api/schedules/preview;\n"
        "nothing is sent to a server. Exit status 2 when SPEC does not parse, 1 when it\n"
        "has no fire time (before the year 10000).\n"
        "\n"
        "  --from TIME          the instant it is saved at (RFC 3339 or YYYY-MM-DD HH:mm, UTC)\n"
        "  -n, --count N        how many times to print (1..1000, default 5)\n"
        "  --tz ZONE            the schedule's time zone (IANA name; default UTC)\n"
        "  --job ID             for a schedule with a jitter: the times of that job (each\n"
        "                       job fires at a place of its own in the window)\n"
        "  --json               print the times as a JSON list of instants in UTC\n"
        "                       (\"2026-12-01T03:00:00Z\")\n"
        "  -h, --help           show this help\n";
    struct opts o;
    int rc = opts_parse_local(&o, "sked cron next", usage, spec, "SPEC", argc, argv);
    if (rc >= 0) return rc;
    long count = 5;
    int64_t from = time_now_us();
    json_t *doc = NULL, *errs = json_array();
    if ((rc = opts_int(&o, O_COUNT, 1, 1000, &count))) goto out;
    if ((rc = opts_time(&o, O_FROM, &from))) goto out;
    if (!(doc = spec_doc(&o, o.arg))) {
        rc = EXIT_USAGE;
        goto out;
    }
    struct schedule sc;
    if (schedule_parse(doc, "schedule", &sc, errs) != 0) {
        rc = schedule_errors(&o, errs);
        goto out;
    }
    const char *job = opts_get(&o, O_JOB);
    if (job && !uuid_valid(job)) {
        rc = usage_error(&o, "--job takes a job id (UUID), as 'sked job show' prints it");
        goto out;
    }
    if (sc.jitter_us && !job)
        fprintf(stderr, "sked cron next: each job fires up to its jitter later than these "
                        "times, at a place of its own; give --job ID for that job's\n");
    if (job) {
        char lower[UUID_STR_LEN];
        for (size_t i = 0; i < sizeof lower; i++) lower[i] = (char)tolower((unsigned char)job[i]);
        schedule_place(&sc, lower);
    }
    int64_t t = from;
    json_t *times = opts_has(&o, O_JSON) ? json_array() : NULL;
    rc = 0;
    for (long i = 0; i < count; i++) {
        int flags = 0;
        t = schedule_preview_next(&sc, from, t, i, &flags);
        if (t == INT64_MIN) {
            /* a --from whose local time is before the year 0 has no time to show */
            struct local_time lt;
            tz_local(sc.tz, from / 1000000 - (from % 1000000 < 0), &lt);
            if (i == 0 && lt.year < 0)
                fprintf(stderr, "sked cron next: --from is before the year 0 in %s; give a later "
                                "time\n",
                        tz_name(sc.tz));
            else
                fprintf(stderr,
                        "sked cron next: %s within 400 years%s, nor before the year 10000\n",
                        i ? "no more fire times" : "no fire time", i ? " of the last one" : "");
            if (i == 0) rc = EXIT_FAIL; /* nothing to show: a script should not read success */
            break;
        }
        char utc[TIME_STR_MAX];
        if (times)
            json_array_append_new(times, json_string(utc_second(t, utc)));
        else
            print_time(sc.tz, t, flags);
    }
    if (times) print_json(times);
    json_decref(times);
out:
    json_decref(doc);
    json_decref(errs);
    opts_free(&o);
    return rc;
}

int cmd_cron(int argc, char **argv)
{
    static const struct verb verbs[] = {{"next", cron_next}, {NULL, NULL}};
    static const char usage[] = "usage: sked cron next SPEC [OPTIONS]\n"
                                "\n"
                                "  next    print the next fire times of a schedule\n"
                                "\n"
                                "See 'sked cron next --help'.\n";
    int rc = cli_group("sked cron", usage, verbs, argc, argv);
    tz_cache_clear();
    return rc;
}

/* "10m" -> {"type":"interval","minutes":10}, keeping the largest whole units. */
static json_t *interval_doc(const struct opts *o, const char *s)
{
    int64_t ms;
    const char *why;
    if (duration_parse(s, &ms, &why) != 0) {
        usage_error(o, "--interval: %s", why);
        return NULL;
    }
    json_t *doc = json_pack("{s:s}", "type", "interval");
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"days", 86400000}, {"hours", 3600000}, {"minutes", 60000}, {"seconds", 1000},
                 {"milliseconds", 1}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (ms >= units[i].ms) {
            json_object_set_new(doc, units[i].name, json_integer(ms / units[i].ms));
            ms %= units[i].ms;
        }
    }
    return doc;
}

/* "minute=0 hour=3 day_of_week=mon-fri" -> a crontab object. */
static json_t *crontab_doc(const struct opts *o, const char *s)
{
    json_t *doc = json_pack("{s:s}", "type", "crontab");
    char *copy = xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1] || strncmp(tok, "type=", 5) == 0) {
            usage_error(o, "--crontab: '%s' is not FIELD=VALUE (fields: minute, hour, "
                           "day_of_week, day_of_month, month_of_year, timezone, jitter)", tok);
            json_decref(doc);
            free(copy);
            return NULL;
        }
        *eq = '\0';
        if (json_object_get(doc, tok)) { /* the last would win without a word */
            usage_error(o, "--crontab: %s is given twice; give each field once (a list is "
                           "comma-separated: hour=3,4)", tok);
            json_decref(doc);
            free(copy);
            return NULL;
        }
        json_object_set_new(doc, tok, json_string(eq + 1));
    }
    free(copy);
    if (json_object_size(doc) == 1) { /* an empty one would fire every minute: said, not guessed */
        usage_error(o, "--crontab: give at least one FIELD=VALUE, such as 'minute=0 hour=3' "
                       "('minute=*' fires every minute)");
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int job_schedule(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"interval", 0, true, O_INTERVAL},
                                           {"crontab", 0, true, O_CRONTAB},
                                           {"cron", 0, true, O_CRON},
                                           {"tz", 0, true, O_TZ},
                                           {"jitter", 0, true, O_JITTER},
                                           {"none", 0, false, O_NONE},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked job schedule JOB (--interval DURATION | --crontab 'FIELD=VALUE ...' |\n"
        "                              --cron EXPRESSION | --none) [--tz ZONE]\n"
        "                              [--jitter DURATION] [--json]\n"
        "\n"
        "Sets or removes a job's schedule and prints its next run. The job must be active to\n"
        "fire. An interval fires at once, then every interval; a crontab or cron expression at\n"
        "its next match. Check an expression first with `sked cron next`.\n"
        "\n"
        "  --interval DURATION  e.g. 90s, 10m, 4h, 1d\n"
        "  --crontab SPEC       Celery fields, e.g. 'minute=0 hour=3 day_of_week=mon-fri'\n"
        "                       (minute, hour, day_of_week, day_of_month, month_of_year),\n"
        "                       and timezone=ZONE and jitter=DURATION as --tz and --jitter\n"
        "  --cron EXPRESSION    e.g. '0 3 * * 1-5' or @daily\n"
        "  --tz ZONE            time zone of a crontab or cron schedule (IANA name)\n"
        "  --jitter DURATION    fire a crontab or cron schedule up to DURATION later, at a\n"
        "                       place of its own in that window (the same every time), so\n"
        "                       that jobs of one schedule do not all start at once\n"
        "  --none               remove the schedule\n"
        "  --json               print the job as JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked job schedule", usage, spec, "JOB", argc, argv);
    if (rc >= 0) return rc;
    json_t *job = NULL, *body = NULL, *updated = NULL, *sched = NULL;
    int kinds = opts_has(&o, O_INTERVAL) + opts_has(&o, O_CRONTAB) + opts_has(&o, O_CRON) +
                opts_has(&o, O_NONE);
    if (kinds != 1) {
        rc = usage_error(&o, "give exactly one of --interval, --crontab, --cron or --none");
        goto out;
    }
    if (opts_has(&o, O_NONE) && (opts_has(&o, O_TZ) || opts_has(&o, O_JITTER))) {
        rc = usage_error(&o, "--%s is part of a schedule; --none removes it",
                         opts_has(&o, O_TZ) ? "tz" : "jitter");
        goto out;
    }
    if (opts_has(&o, O_NONE)) {
        sched = json_null();
    } else if (opts_has(&o, O_INTERVAL)) {
        sched = interval_doc(&o, opts_get(&o, O_INTERVAL));
    } else if (opts_has(&o, O_CRONTAB)) {
        sched = crontab_doc(&o, opts_get(&o, O_CRONTAB));
    } else {
        sched = json_pack("{s:s,s:s}", "type", "cron", "expression", opts_get(&o, O_CRON));
    }
    if (!sched) {
        rc = EXIT_USAGE;
        goto out;
    }
    /* a crontab's FIELD=VALUE may give them too */
    if (json_is_object(sched) &&
        ((rc = set_once(&o, sched, "timezone", O_TZ, "zone", "--crontab")) ||
         (rc = set_once(&o, sched, "jitter", O_JITTER, "jitter", "--crontab"))))
        goto out;
    if ((rc = job_resolve(&o.cl, o.arg, &job))) goto out;
    body = json_pack("{s:O}", "schedule", sched);
    char *path = xasprintf("/api/jobs/%s", json_str(job, "id"));
    rc = client_call(&o.cl, "PATCH", path, body, &updated);
    free(path);
    if (rc) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(updated);
    } else if (json_is_null(sched)) {
        printf("removed the schedule of job %s (%s)\n", shown(json_str(updated, "id")),
               shown(json_str(updated, "title")));
    } else {
        const char *next = json_str(updated, "next_run");
        char t[TIMEBUF], in[TIMEBUF], when[2 * TIMEBUF + 8];
        if (next)
            snprintf(when, sizeof when, "%s (%s)", fmt_time(next, t), fmt_ago(next, in));
        printf("scheduled job %s (%s); next run: %s\n", shown(json_str(updated, "id")),
               shown(json_str(updated, "title")),
               next ? when : json_is_true(json_object_get(updated, "active"))
                                 ? "none"
                                 : "none (the job is inactive; activate it to fire)");
    }
out:
    json_decref(job);
    json_decref(body);
    json_decref(updated);
    json_decref(sched);
    opts_free(&o);
    return rc;
}
