/* timeutil: clock, RFC 3339 and duration parsing/formatting; see timeutil.h. */
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's civil-date algorithms: exact for the whole int64 range we use. */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

void time_format(int64_t us, char out[TIME_STR_MAX])
{
    int64_t secs = floordiv(us, 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = floordiv(secs, 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    time_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(out, TIME_STR_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lld+00:00", (long long)y,
                 m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
        return;
    }
    /* the same text without printf: every run and job in an answer has several instants */
    static const char tmpl[] = "0000-00-00T00:00:00.000000+00:00";
    memcpy(out, tmpl, sizeof tmpl);
    const struct {
        int at, width;
        int64_t v;
    } f[] = {{0, 4, y}, {5, 2, m}, {8, 2, d}, {11, 2, rem / 3600}, {14, 2, rem / 60 % 60},
             {17, 2, rem % 60}, {20, 6, frac}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        for (int64_t v = f[i].v, k = f[i].at + f[i].width - 1; k >= f[i].at; k--, v /= 10)
            out[k] = (char)('0' + v % 10);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

int time_parse(const char *s, int64_t *us, const char **why)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    const char *dummy;
    if (!why) why = &dummy;
    *why = "expected YYYY-MM-DD HH:mm or an RFC 3339 date-time";
    if (!s) return -EINVAL;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        *why = "no such date";
        return -EINVAL;
    }
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec)) return -EINVAL;
            if (*p == '.' || *p == ',') {
                p++;
                int n = 0;
                while (isdigit((unsigned char)*p)) {
                    if (n < 6) frac = frac * 10 + (*p - '0');
                    n++;
                    p++;
                }
                if (n == 0) return -EINVAL;
                for (; n < 6; n++) frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) {
            *why = "time of day out of range";
            return -EINVAL;
        }
        if (sec == 60) sec = 59; /* leap second: clamp, as most systems do */
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh)) return -EINVAL;
        if (*p == ':') p++;
        if (digits(&p, 2, &om)) return -EINVAL;
        if (oh > 23 || om > 59) {
            *why = "zone offset out of range";
            return -EINVAL;
        }
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p != '\0') return -EINVAL;
    int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off;
    /* an offset may carry the first or last day of the range past it: the instant must be one
     * time_format writes in four digits of year, so that what is parsed can be read again */
    if (secs < time_days_from_civil(0, 1, 1) * 86400 ||
        secs >= time_days_from_civil(10000, 1, 1) * 86400) {
        *why = "out of range: from 0000-01-01 to 9999-12-31 in UTC";
        return -EINVAL;
    }
    *us = secs * 1000000 + frac;
    *why = NULL;
    return 0;
}

int duration_parse(const char *s, int64_t *ms, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    *why = "expected a duration such as 90s, 10m, 1h30m or 2w (units ms, s, m, h, d, w)";
    if (!s || !*s) return -EINVAL;
    const char *p = s;
    int64_t total = 0;
    int parts = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return -EINVAL;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p++ - '0');
            if (v > 1000000000LL) {
                *why = DURATION_TOO_LONG;
                return -EINVAL;
            }
        }
        int64_t unit;
        if (*p == '\0' && parts == 0) {
            unit = 1000; /* bare number: seconds */
        } else if (strncmp(p, "ms", 2) == 0) {
            unit = 1, p += 2;
        } else if (*p == 's') {
            unit = 1000, p++;
        } else if (*p == 'm') {
            unit = 60000, p++;
        } else if (*p == 'h') {
            unit = 3600000, p++;
        } else if (*p == 'd') {
            unit = 86400000, p++;
        } else if (*p == 'w') {
            unit = 7 * 86400000LL, p++;
        } else {
            return -EINVAL;
        }
        total += v * unit;
        if (total > DURATION_MAX_MS) {
            *why = DURATION_TOO_LONG;
            return -EINVAL;
        }
        parts++;
    }
    *ms = total;
    *why = NULL;
    return 0;
}

void duration_format(int64_t ms, char out[32])
{
    if (ms <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    char *p = out;
    size_t left = 32;
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            int n = snprintf(p, left, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            if (n < 0 || (size_t)n >= left) return;
            p += n;
            left -= (size_t)n;
            ms %= units[i].ms;
        }
    }
}
