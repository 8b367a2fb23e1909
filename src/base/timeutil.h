/*
 * timeutil: the one clock and the time formats sked speaks. Every stored instant comes from
 * time_now_us() (microseconds since the Unix epoch, UTC), so a later multi-node store can
 * swap the clock in one place. Parsers are pure and take no clock.
 */
#ifndef SKED_TIMEUTIL_H
#define SKED_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define TIME_STR_MAX 40
/* The last instant written with a four-digit year, 9999-12-31T23:59:59.999999Z: time_parse
 * takes none later, and lists of future times stop there. */
#define TIME_LAST_US 253402300799999999LL

/* Wall-clock now, microseconds since the epoch. */
int64_t time_now_us(void);
/* Monotonic now, microseconds; for measuring elapsed time only. */
int64_t time_mono_us(void);

/* "2026-11-29T10:34:36.123456+00:00" (RFC 3339, UTC, microseconds). */
void time_format(int64_t us, char out[TIME_STR_MAX]);
/*
 * Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:mm", "YYYY-MM-DDTHH:mm[:ss[.ffffff]]", each with an
 * optional "Z" or "+HH:MM"/"-HH:MM"/"+HHMM" designator (UTC when absent). Returns 0, or -EINVAL
 * with a reason in why (a static string).
 */
int time_parse(const char *s, int64_t *us, const char **why);

/* Days since the epoch for a proleptic Gregorian date (month 1..12). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);
void time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/*
 * Durations: "90s", "2h", "1h30m", "500ms", "1d", "2w", or a bare number of seconds, at most
 * DURATION_MAX_MS ("100 years": 36600 days). Returns 0 and milliseconds, or -EINVAL with a
 * reason in why.
 */
#define DURATION_MAX_MS (36600LL * 86400000)
#define DURATION_TOO_LONG "too long: at most 100 years (36600d)"
int duration_parse(const char *s, int64_t *ms, const char **why);
/* "1h30m", "45s", "250ms", "0s". */
void duration_format(int64_t ms, char out[32]);

#endif
