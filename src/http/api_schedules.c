/* api_schedules: POST /api/schedules/preview - the next fire times of a schedule, with the
 * daylight-saving rule that applied to each, so a schedule can be checked before it is saved. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "cron.h"

/* +HH:MM, with :SS for an offset that is no whole number of minutes (a local mean time) */
static json_t *offset_str(int off)
{
    char b[16];
    int a = off < 0 ? -off : off;
    int n = snprintf(b, sizeof b, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    if (a % 60) snprintf(b + n, sizeof b - (size_t)n, ":%02d", a % 60);
    return json_string(b);
}

/* One preview entry: the instant in UTC and in the zone, and the DST note. */
json_t *api_fire_time(const struct tz *z, int64_t us, int flags)
{
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    struct local_time lt;
    tz_local(z, secs, &lt);
    char utc[TIME_STR_MAX], local[64], utcz[32];
    time_format(us, utc);
    snprintf(utcz, sizeof utcz, "%.19sZ", utc);
    int a = lt.offset < 0 ? -lt.offset : lt.offset;
    snprintf(local, sizeof local, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)lt.year,
             lt.month, lt.day, lt.hour, lt.minute, lt.second, lt.offset < 0 ? '-' : '+', a / 3600,
             a / 60 % 60);
    const char *note = NULL;
    if (flags & CRON_GAP_SHIFTED)
        note = "the wall time does not exist (clocks jump forward); fires at the end of the gap";
    else if (flags & CRON_FOLD_FIRST)
        note = "the wall time happens twice (clocks fall back); first pass";
    else if (flags & CRON_FOLD_SECOND)
        note = "the wall time happens twice (clocks fall back); second pass";
    /* daylight saving as people mean it, the clocks set ahead: tzdata marks Europe/Dublin's
     * winter time (GMT) as its daylight saving, a summer time (IST) being its standard. Where
     * the lower of the offsets of 1 January and 1 July is so marked, a time ahead of it is the
     * daylight saving one. A time marked so that is behind a standard time of the year is
     * clocks set back (Africa/Casablanca during Ramadan): no daylight saving either; elsewhere
     * tzdata's mark stands */
    bool jan_dst, jul_dst, dst = lt.dst;
    int jan = tz_offset(z, time_days_from_civil(lt.year, 1, 1) * 86400, &jan_dst);
    int jul = tz_offset(z, time_days_from_civil(lt.year, 7, 1) * 86400, &jul_dst);
    if (jan < jul ? jan_dst : jul < jan && jul_dst)
        dst = lt.offset > (jan < jul ? jan : jul);
    else if (lt.dst && ((!jan_dst && jan > lt.offset) || (!jul_dst && jul > lt.offset)))
        dst = false;
    return json_pack("{s:s,s:s,s:o,s:s,s:b,s:s?}", "utc", utcz, "local", local, "offset",
                     offset_str(lt.offset), "abbreviation", lt.abbr, "dst", dst, "note", note);
}

void api_schedules_preview(struct api_ctx *c)
{
    json_t *body = api_body(c);
    if (!body) return;
    json_t *errs = json_array();
    static const char *const fields[] = {"schedule", "from", "count", "job_id", NULL};
    api_unknown_fields_named(body, fields, errs);
    struct schedule sc;
    json_t *sj = json_object_get(body, "schedule");
    if (!sj)
        json_errs_add(errs, "schedule", "required: a schedule object");
    else
        schedule_parse(sj, "schedule", &sc, errs);
    /* a jitter's offset is the job's own: with its id, the times are that job's */
    json_t *jid = json_object_get(body, "job_id");
    const char *job_id = json_is_string(jid) ? json_string_value(jid) : NULL;
    if (jid && !json_is_null(jid) && (!job_id || !uuid_valid(job_id)))
        json_errs_add(errs, "job_id", "must be a job id (UUID)");
    int64_t from = time_now_us();
    json_t *fj = json_object_get(body, "from");
    if (fj && !json_is_null(fj)) {
        const char *why = "must be a date-time string";
        if (!json_is_string(fj) || time_parse(json_string_value(fj), &from, &why) != 0)
            json_errs_add(errs, "from", "%s", why);
    }
    int64_t count = 5;
    json_t *cj = json_object_get(body, "count");
    if (cj && !json_is_null(cj)) {
        json_int_t n;
        if (!json_whole(cj, &n) || n < 1 || n > 100) /* 5.0 is 5, as everywhere */
            json_errs_add(errs, "count", "must be a whole number from 1 to 100");
        else
            count = n;
    }
    if (json_array_size(errs)) {
        json_decref(body);
        api_invalid(c, errs);
        return;
    }
    json_decref(errs);
    char lower[UUID_STR_LEN] = "", off[32];
    if (job_id && sc.jitter_us) {
        for (size_t i = 0; i + 1 < sizeof lower && job_id[i]; i++)
            lower[i] = (char)tolower((unsigned char)job_id[i]);
        schedule_place(&sc, lower);
    }
    duration_format(sc.offset_us / 1000, off);
    json_t *times = json_array();
    int64_t t = from;
    for (int64_t i = 0; i < count; i++) {
        int flags = 0;
        t = schedule_preview_next(&sc, from, t, (long)i, &flags);
        if (t == INT64_MIN) break;
        json_array_append_new(times, api_fire_time(sc.tz, t, flags));
    }
    api_json(c, 200, json_pack("{s:o,s:s,s:b,s:s?}", "times", times, "timezone", tz_name(sc.tz),
                               "interval_like",
                               sc.type == SCHEDULE_INTERVAL || sc.cron.interval_like,
                               "jitter_offset", lower[0] ? off : NULL));
    json_decref(body);
}
