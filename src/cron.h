/*
 * cron: schedules - parsing and the next fire time. Three kinds, all validated at save time
 * with the field and the reason, so the scheduler never meets a schedule it cannot compute:
 *   {"type":"interval","weeks","days","hours","minutes","seconds"[,"milliseconds","microseconds"]}
 *   {"type":"crontab","minute","hour","day_of_week","day_of_month","month_of_year"} (Celery:
 *       missing fields are "*", day of month AND day of week must both match)
 *   {"type":"cron","expression":"0 3 * * 1-5"} or a macro (@hourly @daily @midnight @weekly
 *       @monthly @yearly @annually); Vixie rule: when both day fields are restricted, a day
 *       matches if either does
 * each with an optional "timezone" (IANA, default UTC).
 *
 * Daylight saving (docs/cron.md): an expression is interval-like when its minute or hour field
 * starts with '*'. When clocks jump forward, interval-like expressions skip the wall times that
 * do not exist, and a fixed-time expression whose time falls in the gap fires once at the first
 * instant after it. When clocks fall back, interval-like expressions fire at every matching
 * instant of both passes, fixed-time ones only in the first pass. Intervals count elapsed time.
 */
#ifndef SKED_CRON_H
#define SKED_CRON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "tz.h"

struct cron_expr {
    uint64_t minute; /* bit per minute 0..59 */
    uint32_t hour;   /* 0..23 */
    uint32_t dom;    /* 1..31 */
    uint16_t month;  /* 1..12 */
    uint8_t dow;     /* 0..6, Sunday 0 */
    bool dom_star, dow_star; /* the field starts with '*' */
    bool vixie;              /* day fields OR (cron) rather than AND (crontab) */
    bool interval_like;
};

enum schedule_type { SCHEDULE_INTERVAL, SCHEDULE_CRONTAB, SCHEDULE_CRON };

struct schedule {
    enum schedule_type type;
    int64_t interval_us;
    struct cron_expr cron;
    const struct tz *tz;
    int64_t jitter_us; /* crontab and cron: each job fires up to this much later; 0: none */
    int64_t offset_us; /* how much later this job fires (schedule_place), < jitter_us */
};

/* Flags of a computed fire time: which DST rule applied. */
enum {
    CRON_GAP_SHIFTED = 1, /* the wall time did not exist; fired at the end of the gap */
    CRON_FOLD_FIRST = 2,  /* the wall time happened twice; this is the first pass */
    CRON_FOLD_SECOND = 4, /* ... the second pass (interval-like expressions only) */
};

/* Parses a 5-field expression or a macro. */
int cron_parse(const char *expr, struct cron_expr *out, struct sk_err *e);
/*
 * Parses and validates a schedule object; errors go to errs with fields prefixed by prefix
 * (e.g. "schedule.hour"). Returns 0 or -EINVAL.
 */
int schedule_parse(const json_t *doc, const char *prefix, struct schedule *out, json_t *errs);
/* schedule_parse for a schedule saved before: an interval whose time zone is no longer known
 * parses, in UTC (its zone changes none of its times). */
int schedule_parse_stored(const json_t *doc, const char *prefix, struct schedule *out,
                          json_t *errs);
/* Whether two schedule objects fire at the same times, written alike or not ({"hours": 4} and
 * {"hours": 4, "minutes": 0, "timezone": "UTC"}; an interval's time zone changes nothing).
 * False when either does not parse. */
bool schedule_same(const json_t *a, const json_t *b);
/* The same, their jitters aside: the same times, each job fires at another place after them. */
bool schedule_same_slots(const json_t *a, const json_t *b);
/* Sets the offset a schedule with a jitter fires at for job_id: whole seconds below the jitter,
 * from a hash of the id, so a job fires at the same place in its window every time (and jobs
 * of one schedule spread over it). */
void schedule_place(struct schedule *s, const char *job_id);
/*
 * The first fire time strictly after `after` (microseconds since the epoch) for a crontab or
 * cron schedule, its offset included, or INT64_MIN when none exists within 400 years; flags
 * (may be NULL) tell which DST rule applied (to the time before its offset). Interval
 * schedules are counted by the caller from their anchor.
 */
int64_t schedule_next(const struct schedule *s, int64_t after, int *flags);
/*
 * The i-th fire time (from 0) of a schedule saved at `from`, prev being the (i-1)-th: an
 * interval fires when saved and then every interval; a cron schedule at the times strictly
 * after. What a preview shows, locally and over the API. INT64_MIN: no more.
 */
int64_t schedule_preview_next(const struct schedule *s, int64_t from, int64_t prev, long i,
                              int *flags);

#endif
