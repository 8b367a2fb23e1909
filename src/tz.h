/*
 * tz: IANA time zones read from the system's TZif files (/usr/share/zoneinfo, or $TZDIR),
 * including the POSIX TZ rule in a version 2+ file's footer for instants after its last
 * transition. glibc offers no per-zone localtime, and the scheduler needs many zones at once,
 * so this module converts instants to wall time and wall time back to instants (with DST gaps
 * and folds made explicit). Loaded zones are cached for the process's life.
 */
#ifndef SKED_TZ_H
#define SKED_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct tz;

/* A zone by IANA name ("UTC", "Europe/Zurich"), cached; -ENOENT with a reason when unknown. */
int tz_get(const char *name, const struct tz **out, struct sk_err *e);
/* Parses TZif bytes (for tests and fuzzing); caller frees with tz_free. */
int tz_parse(const unsigned char *data, size_t len, const char *name, struct tz **out,
             struct sk_err *e);
void tz_free(struct tz *z);
const char *tz_name(const struct tz *z);
/* Frees the cache (at exit, for leak checkers). */
void tz_cache_clear(void);

struct local_time {
    int64_t year;
    int month, day, hour, minute, second; /* 1-based month and day */
    int wday;                             /* 0 = Sunday */
    int offset;                           /* seconds east of UTC */
    bool dst;
    char abbr[16];
};

/* Offset east of UTC in effect at instant t (seconds since the epoch). */
int tz_offset(const struct tz *z, int64_t t, bool *dst);
void tz_local(const struct tz *z, int64_t t, struct local_time *out);
#define TZ_RESOLVE_MAX 4

/*
 * The instants whose wall time in z is the given one, ascending: returns 0 (a gap: the time
 * does not exist), 1, or more (a fold: it happens twice - or, in odd historical data, more
 * often; at most TZ_RESOLVE_MAX are returned).
 */
int tz_resolve(const struct tz *z, int64_t year, int month, int day, int hour, int minute,
               int second, int64_t out[TZ_RESOLVE_MAX]);
/* The first instant after t at which the offset changes, or INT64_MAX when it never does. */
int64_t tz_next_transition(const struct tz *z, int64_t t);

#endif
