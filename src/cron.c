/* cron: schedule parsing and next-time computation; see cron.h. */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "model.h"

#define SEARCH_DAYS (146097 + 366) /* 400 years, in which the calendar repeats, and a year */

static const char *month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                    "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field_spec {
    const char *name;
    int min, max;
    const char **names; /* names for min.., or NULL */
    int nnames;
    int names_base;     /* value of names[0] */
};

/* the longest field, in an expression or a crontab's member */
#define CRON_FIELD_MAX 511
#define STR_(x) #x
#define STR(x) STR_(x)

static const struct field_spec F_MINUTE = {"minute", 0, 59, NULL, 0, 0};
static const struct field_spec F_HOUR = {"hour", 0, 23, NULL, 0, 0};
static const struct field_spec F_DOM = {"day of month", 1, 31, NULL, 0, 0};
static const struct field_spec F_MONTH = {"month", 1, 12, month_names, 12, 1};
/* 7 is accepted as Sunday and folded to 0 */
static const struct field_spec F_DOW = {"day of week", 0, 7, day_names, 7, 0};

/* s as a message quotes it: whole up to 40 bytes, else cut there (on a character's start)
 * with an ellipsis, so that the rest of the message (the field, the choices) is never lost. */
static const char *quoted(const char *s, char buf[48])
{
    size_t n = strlen(s);
    if (n <= 40) return s;
    n = 40;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    memcpy(buf, s, n);
    memcpy(buf + n, "…", sizeof "…");
    return buf;
}

/* A number or a name at *p; advances *p. */
static int value(const char **p, const struct field_spec *f, int *out, struct sk_err *e,
                 const char *field)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        const char *digits = s;
        while (isdigit((unsigned char)*s)) {
            if (v <= 1000) v = v * 10 + (*s - '0'); /* past that, out of range whatever follows */
            s++;
        }
        if (v < f->min || v > f->max)
            return sk_err_set(e, -EINVAL, field, "%.*s%s is out of range for %s (%d-%d)",
                              (int)(s - digits > 20 ? 20 : s - digits), digits,
                              s - digits > 20 ? "…" : "", f->name, f->min, f->max);
        *out = v;
        *p = s;
        return 0;
    }
    if (f->names && isalpha((unsigned char)*s)) {
        for (int i = 0; i < f->nnames; i++) {
            size_t l = strlen(f->names[i]);
            if (strncasecmp(s, f->names[i], l) == 0 && !isalpha((unsigned char)s[l])) {
                *out = f->names_base + i;
                *p = s + l;
                return 0;
            }
        }
        const char *end = s; /* the whole word, a character past ASCII too ("mön") */
        while (isalpha((unsigned char)*end) || (unsigned char)*end >= 0x80) end++;
        char name[48], q[48];
        size_t n = (size_t)(end - s) < 41 ? (size_t)(end - s) : 41; /* quoted() cuts past 40 */
        memcpy(name, s, n);
        name[n] = '\0';
        return sk_err_set(e, -EINVAL, field, "unknown name '%s' for %s", quoted(name, q), f->name);
    }
    if (!*s) /* "1," or "1-" */
        return sk_err_set(e, -EINVAL, field, "a number%s is missing at the end of the %s field",
                          f->names ? " or a name" : "", f->name);
    char q[48];
    return sk_err_set(e, -EINVAL, field, "expected a number%s at '%s' in %s",
                      f->names ? " or a name" : "", quoted(s, q), f->name);
}

/* Parses one field ("*", "1,5", "1-5", "*\/15", "1-30/5", names) into bits. */
static int parse_field(const char *s, const struct field_spec *f, uint64_t *bits, bool *star,
                       struct sk_err *e, const char *field)
{
    *bits = 0;
    while (*s == ' ' || *s == '\t') s++;
    *star = *s == '*';
    if (!*s) return sk_err_set(e, -EINVAL, field, "empty %s field", f->name);
    const char *p = s;
    for (;;) {
        int lo, hi, step = 1;
        bool single = false; /* one value, no range: "5/15" runs from 5 to the field's end */
        if (*p == '*') {
            lo = f->min;
            hi = f->max == 7 ? 6 : f->max;
            p++;
        } else {
            int rc = value(&p, f, &lo, e, field);
            if (rc) return rc;
            hi = lo;
            single = *p != '-';
            if (*p == '-') {
                const char *end = ++p;
                rc = value(&p, f, &hi, e, field);
                if (rc) return rc;
                /* "fri-sun": Sunday's name ends a range of days as 7, as 5-7 does (but
                 * "sun-sun" is Sunday alone) */
                if (f->max == 7 && hi == 0 && lo > 0 && isalpha((unsigned char)*end)) hi = 7;
                if (hi < lo)
                    return sk_err_set(e, -EINVAL, field, "reversed range %d-%d in %s", lo, hi,
                                      f->name);
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return sk_err_set(e, -EINVAL, field, "a step needs a number after '/' in %s",
                                  f->name);
            step = 0;
            const char *digits = p;
            while (isdigit((unsigned char)*p)) {
                if (step <= 1000) step = step * 10 + (*p - '0');
                p++;
            }
            if (step == 0) return sk_err_set(e, -EINVAL, field, "a step of 0 in %s", f->name);
            if (step > f->max)
                return sk_err_set(e, -EINVAL, field,
                                  "step %.*s%s is larger than the %s range (%d-%d)",
                                  (int)(p - digits > 20 ? 20 : p - digits), digits,
                                  p - digits > 20 ? "…" : "", f->name, f->min, f->max);
            if (single) hi = f->max; /* "5/15" = 5-59/15; a day of week's range ends at 7 */
        }
        for (int v = lo; v <= hi; v += step) *bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
        if (*p == ',') {
            p++;
            continue;
        }
        while (*p == ' ' || *p == '\t') p++;
        char q[48];
        if (*p) return sk_err_set(e, -EINVAL, field, "unexpected '%s' in %s", quoted(p, q), f->name);
        return 0;
    }
}

static void finish_expr(struct cron_expr *c, bool minute_star, bool hour_star)
{
    c->interval_like = minute_star || hour_star;
}

int cron_parse(const char *expr, struct cron_expr *out, struct sk_err *e)
{
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                  {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                  {"@hourly", "0 * * * *"}};
    memset(out, 0, sizeof *out);
    while (*expr == ' ' || *expr == '\t') expr++;
    if (*expr == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof *macros; i++) {
            size_t l = strlen(macros[i].name);
            if (strncasecmp(expr, macros[i].name, l) == 0) {
                const char *rest = expr + l;
                while (*rest == ' ' || *rest == '\t') rest++;
                if (!*rest) return cron_parse(macros[i].expr, out, e);
            }
        }
        char q[48];
        return sk_err_set(e, -EINVAL, "expression",
                          "unknown macro '%s' (@hourly @daily @midnight @weekly @monthly "
                          "@yearly @annually)",
                          quoted(expr, q));
    }
    char fields[5][CRON_FIELD_MAX + 1]; /* a list of every minute, 0,1,...,59, takes 169 */
    int n = 0;
    const char *p = expr;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (n == 5) return sk_err_set(e, -EINVAL, "expression", "more than 5 fields");
        if ((size_t)(p - start) >= sizeof fields[0]) {
            static const char *const names[] = {"minute", "hour", "day of month", "month",
                                                "day of week"};
            return sk_err_set(e, -EINVAL, "expression",
                              "the %s field is too long (at most %zu characters)", names[n],
                              sizeof fields[0] - 1);
        }
        memcpy(fields[n], start, (size_t)(p - start));
        fields[n][p - start] = '\0';
        n++;
    }
    if (n != 5)
        return sk_err_set(e, -EINVAL, "expression",
                          "expected 5 fields (minute hour day-of-month month day-of-week), got %d",
                          n);
    uint64_t b;
    bool star, mstar, hstar;
    int rc;
    if ((rc = parse_field(fields[0], &F_MINUTE, &b, &mstar, e, "expression"))) return rc;
    out->minute = b;
    if ((rc = parse_field(fields[1], &F_HOUR, &b, &hstar, e, "expression"))) return rc;
    out->hour = (uint32_t)b;
    if ((rc = parse_field(fields[2], &F_DOM, &b, &star, e, "expression"))) return rc;
    out->dom = (uint32_t)b;
    out->dom_star = star;
    if ((rc = parse_field(fields[3], &F_MONTH, &b, &star, e, "expression"))) return rc;
    out->month = (uint16_t)b;
    if ((rc = parse_field(fields[4], &F_DOW, &b, &star, e, "expression"))) return rc;
    out->dow = (uint8_t)b;
    out->dow_star = star;
    out->vixie = true;
    finish_expr(out, mstar, hstar);
    return 0;
}

static bool day_matches(const struct cron_expr *c, int64_t y, int m, int d, int wday)
{
    (void)y;
    if (!(c->month & (1u << m))) return false;
    bool dom = (c->dom >> d) & 1, dow = (c->dow >> wday) & 1;
    if (c->vixie && !c->dom_star && !c->dow_star) return dom || dow;
    return dom && dow;
}

/*
 * Candidates of one transition day (and the next, for folds that cross midnight): every
 * matching wall time resolved to its instants with the DST rules; the earliest after `after`.
 */
static int64_t scan_transition_days(const struct cron_expr *c, const struct tz *z, int64_t day,
                                    int64_t after, int *flags)
{
    int64_t best = INT64_MAX;
    int best_flags = 0;
    for (int64_t dd = day; dd <= day + 1; dd++) {
        int64_t y;
        unsigned m, d;
        time_civil_from_days(dd, &y, &m, &d);
        if (!day_matches(c, y, (int)m, (int)d, (int)(((dd % 7) + 11) % 7))) continue;
        for (int h = 0; h < 24; h++) {
            if (!((c->hour >> h) & 1)) continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!((c->minute >> mi) & 1)) continue;
                int64_t inst[TZ_RESOLVE_MAX];
                int k = tz_resolve(z, y, (int)m, (int)d, h, mi, 0, inst);
                if (k == 0) {
                    if (c->interval_like) continue;
                    /* fixed time in a gap: it fires at the transition, the first instant after
                     * the wall times that do not exist */
                    int64_t wall = dd * 86400 + h * 3600 + mi * 60;
                    int64_t t = tz_next_transition(z, wall - tz_offset(z, wall + 86400, NULL) - 1);
                    if (t != INT64_MAX && t > after && t < best) {
                        best = t;
                        best_flags = CRON_GAP_SHIFTED;
                    }
                    continue;
                }
                for (int i = 0; i < k; i++) {
                    if (i >= 1 && !c->interval_like) break; /* fixed time: first pass only */
                    if (inst[i] > after && inst[i] < best) {
                        best = inst[i];
                        best_flags = k >= 2 ? (i == 0 ? CRON_FOLD_FIRST : CRON_FOLD_SECOND) : 0;
                    }
                }
            }
        }
    }
    if (best != INT64_MAX && flags) *flags = best_flags;
    return best;
}

static int64_t next_of_expr(const struct schedule *s, int64_t after_us, int *flags);

int64_t schedule_next(const struct schedule *s, int64_t after_us, int *flags)
{
    int64_t t = next_of_expr(s, after_us - s->offset_us, flags);
    return t == INT64_MIN ? t : t + s->offset_us;
}

void schedule_place(struct schedule *s, const char *job_id)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)job_id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    int64_t secs = s->jitter_us / 1000000;
    s->offset_us = secs > 0 ? (int64_t)(h % (uint64_t)secs) * 1000000 : 0;
}

static int64_t next_of_expr(const struct schedule *s, int64_t after_us, int *flags)
{
    const struct cron_expr *c = &s->cron;
    int64_t after = after_us / 1000000 - (after_us % 1000000 < 0);
    if (flags) *flags = 0;
    struct local_time lt;
    tz_local(s->tz, after, &lt);
    int64_t day = time_days_from_civil(lt.year, (unsigned)lt.month, (unsigned)lt.day);
    /* the earliest instant found on a day near a transition: a fold that crosses midnight can
     * put the next day's first pass before the second pass of this one, so the days after it
     * are looked at too, until their instants can only come later */
    int64_t best = INT64_MAX;
    int best_flags = 0;
    /* the day before too: with a fold, instants after `after` can still lie on it */
    for (int64_t n = -1; n < SEARCH_DAYS; n++) {
        int64_t dd = day + n, y;
        unsigned m, d;
        int64_t wall0 = dd * 86400;
        /* offsets stay within 26 hours: no instant of this day comes before wall0 - 26 h */
        if (best != INT64_MAX && wall0 - 26 * 3600 > best) break;
        time_civil_from_days(dd, &y, &m, &d);
        if (!day_matches(c, y, (int)m, (int)d, (int)(((dd % 7) + 11) % 7))) continue;
        /* offsets stay within 26 hours, so this window covers every instant of the day */
        int off = tz_offset(s->tz, wall0 - 26 * 3600, NULL);
        if (tz_next_transition(s->tz, wall0 - 26 * 3600) <= wall0 + 86400 + 26 * 3600) {
            int f = 0;
            int64_t t = scan_transition_days(c, s->tz, dd, after, &f);
            if (t < best) {
                best = t;
                best_flags = f;
            }
            continue;
        }
        if (best != INT64_MAX) break; /* an ordinary day after one near a transition */
        /* an ordinary day: wall time and instants move together, the first match wins */
        for (int h = 0; h < 24; h++) {
            if (!((c->hour >> h) & 1)) continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!((c->minute >> mi) & 1)) continue;
                int64_t t = wall0 + h * 3600 + mi * 60 - off;
                if (t > after) return t * 1000000;
            }
        }
    }
    if (best == INT64_MAX) return INT64_MIN;
    if (flags) *flags = best_flags;
    return best * 1000000;
}

int64_t schedule_preview_next(const struct schedule *s, int64_t from, int64_t prev, long i,
                              int *flags)
{
    int64_t t;
    if (s->type != SCHEDULE_INTERVAL) {
        t = schedule_next(s, i == 0 ? from : prev, flags);
    } else {
        if (flags) *flags = 0;
        t = i == 0 ? from : prev + s->interval_us;
    }
    if (t == INT64_MIN || t > TIME_LAST_US) return INT64_MIN; /* past year 9999: none */
    /* nor a wall time past the year 9999 (a zone east of UTC on its last day), which has no
     * RFC 3339 form */
    struct local_time lt;
    tz_local(s->tz, t / 1000000 - (t % 1000000 < 0), &lt);
    return lt.year > 9999 || lt.year < 0 ? INT64_MIN : t;
}

/* ---- schedule objects ---- */

static void errf(json_t *errs, const char *prefix, const char *field, const char *msg)
{
    char f[160];
    snprintf(f, sizeof f, "%s%s%s", prefix, *prefix && *field ? "." : "", field);
    json_errs_add(errs, f, "%s", msg);
}

#define INTERVAL_MAX_US (100LL * 366 * 86400 * 1000000)

static int parse_interval(const json_t *doc, const char *prefix, struct schedule *out, json_t *errs)
{
    static const struct {
        const char *name;
        int64_t us;
    } units[] = {{"weeks", 7LL * 86400 * 1000000}, {"days", 86400LL * 1000000},
                 {"hours", 3600LL * 1000000},      {"minutes", 60LL * 1000000},
                 {"seconds", 1000000},             {"milliseconds", 1000},
                 {"microseconds", 1}};
    int64_t total = 0;
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!strcmp(k, "type") || !strcmp(k, "timezone")) continue;
        if (!strcmp(k, "jitter")) {
            errf(errs, prefix, k, "an interval counts from when it is saved, so jobs saved apart "
                                  "fire apart already: jitter is for crontab and cron schedules");
            bad++;
            continue;
        }
        int u = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(k, units[i].name) == 0) u = i;
        if (u < 0) {
            errf(errs, prefix, k,
                 "unknown field (weeks, days, hours, minutes, seconds, milliseconds, "
                 "microseconds)");
            bad++;
            continue;
        }
        if (json_is_null(v)) continue;
        json_int_t n;
        if (!json_whole(v, &n) || n < 0) {
            errf(errs, prefix, k, "must be a non-negative whole number");
            bad++;
            continue;
        }
        if (n > INTERVAL_MAX_US / units[u].us) {
            errf(errs, prefix, k, "an interval must be at most 100 years (36600 days) long");
            bad++;
            continue;
        }
        total += n * units[u].us;
    }
    if (bad) return -EINVAL;
    /* sub-second parts are accepted (as the reference does) and rounded to whole seconds */
    total = (total + 500000) / 1000000 * 1000000;
    if (total < 1000000) {
        errf(errs, prefix, "", "an interval must be at least 1 second long");
        return -EINVAL;
    }
    if (total > INTERVAL_MAX_US) {
        errf(errs, prefix, "", "an interval must be at most 100 years (36600 days) long");
        return -EINVAL;
    }
    out->interval_us = total;
    return 0;
}

/* A schedule's "jitter" (crontab and cron): a duration from 2 s to 1 day, or absent. */
static int parse_jitter(const json_t *doc, const char *prefix, struct schedule *out, json_t *errs)
{
    json_t *v = json_object_get(doc, "jitter");
    if (!v || json_is_null(v)) return 0;
    int64_t ms;
    const char *why;
    int bad = !json_is_string(v) || duration_parse(json_string_value(v), &ms, &why) != 0;
    if (bad && !(json_is_string(v) && strcmp(why, DURATION_TOO_LONG) == 0)) {
        errf(errs, prefix, "jitter", "must be a duration such as 10m: how much later each job "
                                     "of the schedule may fire");
        return -EINVAL;
    }
    if (bad || ms < 2000 || ms > 86400000) { /* whole seconds below it: 1s would place all at 0 */
        errf(errs, prefix, "jitter", "must be from 2s to 1d");
        return -EINVAL;
    }
    out->jitter_us = ms / 1000 * 1000000; /* whole seconds */
    return 0;
}

static int parse_crontab(const json_t *doc, const char *prefix, struct schedule *out, json_t *errs)
{
    static const struct {
        const char *key;
        const struct field_spec *spec;
    } fields[] = {{"minute", &F_MINUTE},         {"hour", &F_HOUR},
                  {"day_of_month", &F_DOM},      {"month_of_year", &F_MONTH},
                  {"day_of_week", &F_DOW}};
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!strcmp(k, "type") || !strcmp(k, "timezone") || !strcmp(k, "jitter")) continue;
        bool known = false;
        for (int i = 0; i < 5; i++) known = known || strcmp(k, fields[i].key) == 0;
        if (!known) {
            errf(errs, prefix, k,
                 "unknown field (minute, hour, day_of_week, day_of_month, month_of_year, "
                 "timezone, jitter)");
            bad++;
        }
    }
    struct cron_expr *c = &out->cron;
    memset(c, 0, sizeof *c);
    bool mstar = false, hstar = false;
    for (int i = 0; i < 5; i++) {
        json_t *fv = json_object_get(doc, fields[i].key);
        const char *s = "*";
        char num[32];
        json_int_t n;
        if (fv && json_whole(fv, &n)) {
            snprintf(num, sizeof num, "%lld", (long long)n);
            s = num;
        } else if (fv && json_is_string(fv)) {
            s = json_string_value(fv);
        } else if (fv && !json_is_null(fv)) {
            errf(errs, prefix, fields[i].key, "must be a string such as \"*\", \"0\" or \"*/15\"");
            bad++;
            continue;
        }
        if (strlen(s) > CRON_FIELD_MAX) { /* as long as a cron expression's field may be */
            errf(errs, prefix, fields[i].key, "too long (at most " STR(CRON_FIELD_MAX) " characters)");
            bad++;
            continue;
        }
        uint64_t b;
        bool star;
        struct sk_err e = {0};
        if (parse_field(s, fields[i].spec, &b, &star, &e, fields[i].key) != 0) {
            errf(errs, prefix, fields[i].key, e.msg);
            bad++;
            continue;
        }
        switch (i) {
        case 0: c->minute = b, mstar = star; break;
        case 1: c->hour = (uint32_t)b, hstar = star; break;
        case 2: c->dom = (uint32_t)b, c->dom_star = star; break;
        case 3: c->month = (uint16_t)b; break;
        case 4: c->dow = (uint8_t)b, c->dow_star = star; break;
        }
    }
    c->vixie = false;
    finish_expr(c, mstar, hstar);
    return bad ? -EINVAL : 0;
}

static int parse_schedule(const json_t *doc, const char *prefix, struct schedule *out,
                          json_t *errs, bool stored)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        errf(errs, prefix, "", "must be an object with a type (interval, crontab or cron)");
        return -EINVAL;
    }
    const char *type = json_str(doc, "type");
    int rc = 0;
    if (!type) {
        json_t *given = json_object_get(doc, "type");
        errf(errs, prefix, "type",
             given && !json_is_null(given) ? "must be a string: interval, crontab or cron"
                                            : "required: interval, crontab or cron");
        return -EINVAL;
    }
    json_t *zone = json_object_get(doc, "timezone");
    const char *zname = "UTC";
    if (zone && !json_is_null(zone)) {
        if (!json_is_string(zone)) {
            errf(errs, prefix, "timezone", "must be an IANA time zone name such as Europe/Zurich");
            rc = -EINVAL;
        } else {
            zname = json_string_value(zone);
        }
    }
    struct sk_err e = {0};
    if (rc == 0 && tz_get(zname, &out->tz, &e) != 0) {
        /* an interval's zone changes none of its times: a stored interval whose zone left the
         * system's time zone files (a tzdata update dropped the name) fires on, as in UTC */
        if (stored && strcmp(type, "interval") == 0 && tz_get("UTC", &out->tz, &e) == 0) {
        } else {
            errf(errs, prefix, "timezone", e.msg);
            rc = -EINVAL;
        }
    }
    if (strcmp(type, "interval") == 0) {
        out->type = SCHEDULE_INTERVAL;
        if (parse_interval(doc, prefix, out, errs)) rc = -EINVAL;
    } else if (strcmp(type, "crontab") == 0) {
        out->type = SCHEDULE_CRONTAB;
        if (parse_crontab(doc, prefix, out, errs)) rc = -EINVAL;
        if (parse_jitter(doc, prefix, out, errs)) rc = -EINVAL;
    } else if (strcmp(type, "cron") == 0) {
        out->type = SCHEDULE_CRON;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)doc, k, v)
        {
            if (strcmp(k, "type") && strcmp(k, "timezone") && strcmp(k, "expression") &&
                strcmp(k, "jitter")) {
                errf(errs, prefix, k, "unknown field (expression, timezone, jitter)");
                rc = -EINVAL;
            }
        }
        if (parse_jitter(doc, prefix, out, errs)) rc = -EINVAL;
        const char *expr = json_str(doc, "expression");
        json_t *given = json_object_get(doc, "expression");
        if (!expr) {
            errf(errs, prefix, "expression",
                 given && !json_is_null(given)
                     ? "must be a string: a cron expression such as \"0 3 * * *\""
                     : "required: a cron expression such as \"0 3 * * *\"");
            rc = -EINVAL;
        } else if (cron_parse(expr, &out->cron, &e) != 0) {
            errf(errs, prefix, "expression", e.msg);
            rc = -EINVAL;
        }
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown schedule type '%.60s' (interval, crontab or cron)", type);
        errf(errs, prefix, "type", msg);
        return -EINVAL;
    }
    /* the search from 2000 spans 400 years, in which the Gregorian calendar repeats: every
     * weekday/date combination is in it */
    if (rc == 0 && out->type != SCHEDULE_INTERVAL &&
        schedule_next(out, 946684800LL * 1000000, NULL) == INT64_MIN) {
        errf(errs, prefix, "", "this schedule never fires (no date matches all its fields, or "
                               "the clocks skip every time it names)");
        rc = -EINVAL;
    }
    return rc;
}

int schedule_parse(const json_t *doc, const char *prefix, struct schedule *out, json_t *errs)
{
    return parse_schedule(doc, prefix, out, errs, false);
}

int schedule_parse_stored(const json_t *doc, const char *prefix, struct schedule *out,
                          json_t *errs)
{
    return parse_schedule(doc, prefix, out, errs, true);
}

static bool same_times(const json_t *a, const json_t *b, bool jitter_too)
{
    struct schedule x, y;
    json_t *errs = json_array();
    /* read as stored: an interval saved in a zone since gone from tzdata is the same as
     * itself written without it (a zone changes none of an interval's times) */
    bool ok = schedule_parse_stored(a, "", &x, errs) == 0 &&
              schedule_parse_stored(b, "", &y, errs) == 0;
    json_decref(errs);
    if (!ok || x.type != y.type) return false;
    if (x.type == SCHEDULE_INTERVAL) return x.interval_us == y.interval_us;
    if (jitter_too && x.jitter_us != y.jitter_us) return false;
    const struct cron_expr *c = &x.cron, *d = &y.cron;
    return x.tz == y.tz && c->minute == d->minute && c->hour == d->hour && c->dom == d->dom &&
           c->month == d->month && c->dow == d->dow && c->dom_star == d->dom_star &&
           c->dow_star == d->dow_star && c->vixie == d->vixie &&
           c->interval_like == d->interval_like;
}

bool schedule_same(const json_t *a, const json_t *b) { return same_times(a, b, true); }

bool schedule_same_slots(const json_t *a, const json_t *b) { return same_times(a, b, false); }
