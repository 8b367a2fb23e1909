/* tz: TZif reader, POSIX TZ rules and wall-time conversion; see tz.h. */
#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#define TZ_FILE_MAX (512 * 1024)
/* Real offsets stay within about 15 hours; conversions rely on them staying within 26. */
#define MAX_OFFSET (26 * 3600)

struct ttinfo {
    int32_t utoff;
    bool dst;
    char abbr[16];
};

/* One end of a POSIX DST rule. */
struct rule_date {
    char kind;   /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight, may be negative or > 24h */
};

struct posix_tz {
    bool present;
    struct ttinfo std, dst;
    bool has_dst;
    struct rule_date start, end;
};

struct tz {
    char *name;
    int64_t *times; /* transition instants, ascending */
    uint8_t *idx;   /* type index per transition */
    size_t ntimes;
    struct ttinfo *types;
    size_t ntypes;
    struct posix_tz rule;
};

const char *tz_name(const struct tz *z)
{
    return z->name;
}

void tz_free(struct tz *z)
{
    if (!z) return;
    free(z->name);
    free(z->times);
    free(z->idx);
    free(z->types);
    free(z);
}

/* ---- POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3") ---- */

static const char *parse_abbr(const char *p, char out[16])
{
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (n < 15) out[n++] = *p;
            p++;
        }
        if (*p != '>') return NULL;
        p++;
    } else {
        while (isalpha((unsigned char)*p)) {
            if (n < 15) out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    return n > 0 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167. */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p)) return NULL;
    int32_t h = 0, m = 0, s = 0;
    while (isdigit((unsigned char)*p)) {
        h = h * 10 + (*p++ - '0');
        if (h > 167) return NULL;
    }
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
        m = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
            if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
            s = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
    }
    if (m > 59 || s > 59) return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_int(const char *p, int *out, int min, int max)
{
    if (!isdigit((unsigned char)*p)) return NULL;
    int v = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > max) return NULL;
    }
    if (v < min) return NULL;
    *out = v;
    return p;
}

static const char *parse_rule_date(const char *p, struct rule_date *r)
{
    memset(r, 0, sizeof *r);
    if (*p == 'M') {
        r->kind = 'M';
        if (!(p = parse_int(p + 1, &r->m, 1, 12)) || *p++ != '.') return NULL;
        if (!(p = parse_int(p, &r->w, 1, 5)) || *p++ != '.') return NULL;
        if (!(p = parse_int(p, &r->d, 0, 6))) return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if (!(p = parse_int(p + 1, &r->n, 1, 365))) return NULL;
    } else {
        r->kind = 'D';
        if (!(p = parse_int(p, &r->n, 0, 365))) return NULL;
    }
    r->time = 7200;
    if (*p == '/') {
        if (!(p = parse_hms(p + 1, &r->time))) return NULL;
    }
    return p;
}

static int parse_posix(const char *s, struct posix_tz *t)
{
    memset(t, 0, sizeof *t);
    const char *p = parse_abbr(s, t->std.abbr);
    int32_t off;
    if (!p || !(p = parse_hms(p, &off))) return -EINVAL;
    if (off < -MAX_OFFSET || off > MAX_OFFSET) return -EINVAL;
    t->std.utoff = -off; /* POSIX offsets count west */
    t->present = true;
    if (*p == '\0') return 0;
    if (!(p = parse_abbr(p, t->dst.abbr))) return -EINVAL;
    t->has_dst = true;
    t->dst.dst = true;
    t->dst.utoff = t->std.utoff + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, &off))) return -EINVAL;
        if (off < -MAX_OFFSET || off > MAX_OFFSET) return -EINVAL;
        t->dst.utoff = -off;
    }
    if (*p != ',') {
        /* no rule: the US rules are the POSIX default */
        t->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
        t->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
        return *p ? -EINVAL : 0;
    }
    if (!(p = parse_rule_date(p + 1, &t->start)) || *p++ != ',') return -EINVAL;
    if (!(p = parse_rule_date(p, &t->end))) return -EINVAL;
    return *p ? -EINVAL : 0;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Local seconds since the epoch (as if UTC) at which rule date r happens in year y. */
static int64_t rule_local(const struct rule_date *r, int64_t y)
{
    int64_t days;
    if (r->kind == 'J') {
        days = time_days_from_civil(y, 1, 1) + r->n - 1;
        if (leap(y) && r->n >= 60) days++;
    } else if (r->kind == 'D') {
        days = time_days_from_civil(y, 1, 1) + r->n;
    } else {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = time_days_from_civil(y, (unsigned)r->m, 1);
        int wday_first = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        int day = 1 + (r->d - wday_first + 7) % 7 + (r->w - 1) * 7;
        int dim = mdays[r->m - 1] + (r->m == 2 && leap(y));
        while (day > dim) day -= 7;
        days = first + day - 1;
    }
    return days * 86400 + r->time;
}

static const struct ttinfo *posix_type(const struct posix_tz *t, int64_t when)
{
    if (!t->has_dst) return &t->std;
    int64_t days = when / 86400 - (when % 86400 < 0);
    int64_t y;
    unsigned m, d;
    time_civil_from_days(days, &y, &m, &d);
    /* check the neighbouring years too: rules may cross a year boundary */
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t start = rule_local(&t->start, yy) - t->std.utoff;
        int64_t end = rule_local(&t->end, yy) - t->dst.utoff;
        if (start < end) {
            if (when >= start && when < end) return &t->dst;
        } else {
            /* southern hemisphere: DST spans the new year */
            int64_t next_end = rule_local(&t->end, yy + 1) - t->dst.utoff;
            if (when >= start && when < next_end) return &t->dst;
        }
    }
    return &t->std;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

int tz_parse(const unsigned char *data, size_t len, const char *name, struct tz **out,
             struct sk_err *e)
{
    *out = NULL;
    if (len < 44 || memcmp(data, "TZif", 4) != 0)
        return sk_err_set(e, -EINVAL, "timezone", "%s: not a TZif file", name);
    int version = data[4];
    const unsigned char *p = data;
    size_t left = len;
    int tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        if (left < 44 || memcmp(p, "TZif", 4) != 0)
            return sk_err_set(e, -EINVAL, "timezone", "%s: truncated TZif header", name);
        uint32_t isutcnt = be32(p + 20), isstdcnt = be32(p + 24), leapcnt = be32(p + 28),
                 timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
        if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || charcnt > 4096 ||
            leapcnt > 10000 || isutcnt > 256 || isstdcnt > 256)
            return sk_err_set(e, -EINVAL, "timezone", "%s: implausible TZif counts", name);
        size_t body = (size_t)timecnt * (size_t)tsize + timecnt + typecnt * 6 + charcnt +
                      (size_t)leapcnt * (size_t)(tsize + 4) + isstdcnt + isutcnt;
        if (left < 44 + body)
            return sk_err_set(e, -EINVAL, "timezone", "%s: truncated TZif data", name);
        if (leapcnt > 0) /* its times count leap seconds, which sked's clock does not */
            return sk_err_set(e, -EINVAL, "timezone",
                              "'%s' counts leap seconds (a right/ zone): its times would be "
                              "%u seconds off; name the zone without right/", name, leapcnt);
        if (pass == 0 && version >= '2') {
            /* skip the 32-bit block; the 64-bit one follows */
            p += 44 + body;
            left -= 44 + body;
            tsize = 8;
            continue;
        }
        struct tz *z = xcalloc(1, sizeof *z);
        z->name = xstrdup(name);
        const unsigned char *q = p + 44;
        z->ntimes = timecnt;
        z->times = xcalloc(timecnt ? timecnt : 1, sizeof *z->times);
        z->idx = xcalloc(timecnt ? timecnt : 1, 1);
        for (uint32_t i = 0; i < timecnt; i++, q += tsize)
            z->times[i] = tsize == 8 ? be64(q) : (int32_t)be32(q);
        for (uint32_t i = 0; i < timecnt; i++) z->idx[i] = *q++;
        z->ntypes = typecnt;
        z->types = xcalloc(typecnt, sizeof *z->types);
        const unsigned char *abbrs = q + typecnt * 6;
        for (uint32_t i = 0; i < typecnt; i++, q += 6) {
            z->types[i].utoff = (int32_t)be32(q);
            z->types[i].dst = q[4] != 0;
            unsigned ai = q[5];
            if (ai < charcnt) {
                size_t n = strnlen((const char *)abbrs + ai, charcnt - ai);
                snprintf(z->types[i].abbr, sizeof z->types[i].abbr, "%.*s", (int)n, abbrs + ai);
            }
        }
        bool ok = true;
        for (uint32_t i = 0; i < timecnt; i++) {
            if (z->idx[i] >= typecnt) ok = false;
            if (i && z->times[i] <= z->times[i - 1]) ok = false;
        }
        for (uint32_t i = 0; i < typecnt; i++)
            if (z->types[i].utoff < -MAX_OFFSET || z->types[i].utoff > MAX_OFFSET) ok = false;
        if (!ok) {
            tz_free(z);
            return sk_err_set(e, -EINVAL, "timezone", "%s: inconsistent TZif data", name);
        }
        if (tsize == 8) {
            const unsigned char *foot = p + 44 + body;
            size_t flen = len - (size_t)(foot - data);
            if (flen >= 2 && foot[0] == '\n') {
                const unsigned char *nl = memchr(foot + 1, '\n', flen - 1);
                if (nl && nl - foot - 1 < 128) {
                    char s[128];
                    memcpy(s, foot + 1, (size_t)(nl - foot - 1));
                    s[nl - foot - 1] = '\0';
                    if (*s && parse_posix(s, &z->rule) != 0) {
                        tz_free(z);
                        return sk_err_set(e, -EINVAL, "timezone", "%s: bad TZ rule '%s'", name, s);
                    }
                }
            }
        }
        *out = z;
        return 0;
    }
    return sk_err_set(e, -EINVAL, "timezone", "%s: unreadable TZif file", name);
}

static const struct ttinfo *type_at(const struct tz *z, int64_t t)
{
    if (z->ntimes == 0 || t < z->times[0]) {
        if (z->ntimes == 0 && z->rule.present) return posix_type(&z->rule, t);
        for (size_t i = 0; i < z->ntypes; i++)
            if (!z->types[i].dst) return &z->types[i];
        return &z->types[0];
    }
    if (t >= z->times[z->ntimes - 1] && z->rule.present) return posix_type(&z->rule, t);
    size_t lo = 0, hi = z->ntimes; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return &z->types[z->idx[lo]];
}

int tz_offset(const struct tz *z, int64_t t, bool *dst)
{
    const struct ttinfo *ti = type_at(z, t);
    if (dst) *dst = ti->dst;
    return ti->utoff;
}

void tz_local(const struct tz *z, int64_t t, struct local_time *out)
{
    const struct ttinfo *ti = type_at(z, t);
    int64_t l = t + ti->utoff;
    int64_t days = l / 86400 - (l % 86400 < 0);
    int64_t secs = l - days * 86400;
    unsigned m, d;
    time_civil_from_days(days, &out->year, &m, &d);
    out->month = (int)m;
    out->day = (int)d;
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->wday = (int)(((days % 7) + 11) % 7);
    out->offset = ti->utoff;
    out->dst = ti->dst;
    snprintf(out->abbr, sizeof out->abbr, "%s", ti->abbr);
}

static void add_offset(int *offs, int *n, int off)
{
    for (int i = 0; i < *n; i++)
        if (offs[i] == off) return;
    if (*n < 16) offs[(*n)++] = off;
}

int tz_resolve(const struct tz *z, int64_t year, int month, int day, int hour, int minute,
               int second, int64_t out[TZ_RESOLVE_MAX])
{
    int64_t l = time_days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 +
                minute * 60 + second;
    /* candidate offsets: every offset in effect within two days of the wall time - sampled,
     * plus those of each explicit transition in that window and both of the rule's (offsets
     * stay within 26 hours; a rule's summer may be shorter than the samples' day apart) */
    int offs[16], noffs = 0;
    for (int64_t d = -2; d <= 2; d++) add_offset(offs, &noffs, tz_offset(z, l + d * 86400, NULL));
    if (z->rule.present && z->rule.has_dst) {
        add_offset(offs, &noffs, z->rule.std.utoff);
        add_offset(offs, &noffs, z->rule.dst.utoff);
    }
    size_t lo = 0, hi = z->ntimes;
    while (lo < hi) { /* first transition >= l - 2 days */
        size_t mid = (lo + hi) / 2;
        if (z->times[mid] < l - 2 * 86400)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < z->ntimes && z->times[i] <= l + 2 * 86400; i++) {
        add_offset(offs, &noffs, z->types[z->idx[i]].utoff);
        if (i > 0) add_offset(offs, &noffs, z->types[z->idx[i - 1]].utoff);
    }
    int n = 0;
    for (int i = 0; i < noffs; i++) {
        int64_t t = l - offs[i];
        if (tz_offset(z, t, NULL) != offs[i]) continue;
        bool dup = false;
        for (int j = 0; j < n; j++) dup = dup || out[j] == t;
        if (dup) continue;
        if (n < TZ_RESOLVE_MAX) {
            out[n++] = t;
        } else {
            /* keep the earliest ones */
            int worst = 0;
            for (int j = 1; j < n; j++)
                if (out[j] > out[worst]) worst = j;
            if (t < out[worst]) out[worst] = t;
        }
    }
    for (int i = 1; i < n; i++) /* insertion sort: n is tiny */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int64_t tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

/* The earliest instant after t at which the POSIX rule switches, or INT64_MAX. */
static int64_t rule_next(const struct posix_tz *r, int64_t t)
{
    if (!r->present || !r->has_dst || r->std.utoff == r->dst.utoff) return INT64_MAX;
    int64_t days = t / 86400 - (t % 86400 < 0), y;
    unsigned m, d;
    time_civil_from_days(days, &y, &m, &d);
    int64_t best = INT64_MAX;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t start = rule_local(&r->start, yy) - r->std.utoff;
        int64_t end = rule_local(&r->end, yy) - r->dst.utoff;
        if (start > t && start < best) best = start;
        if (end > t && end < best) best = end;
    }
    return best;
}

int64_t tz_next_transition(const struct tz *z, int64_t t)
{
    int cur = tz_offset(z, t, NULL);
    /* explicit transitions after t (some only rename the zone: skip those) */
    size_t lo = 0, hi = z->ntimes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->times[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < z->ntimes; i++)
        if (tz_offset(z, z->times[i], NULL) != cur) return z->times[i];
    /* past the last one, the footer's rule */
    int64_t from = z->ntimes && z->times[z->ntimes - 1] > t ? z->times[z->ntimes - 1] : t;
    for (int guard = 0; guard < 8; guard++) {
        int64_t n = rule_next(&z->rule, from);
        if (n == INT64_MAX) return INT64_MAX;
        if (tz_offset(z, n, NULL) != cur) return n;
        from = n;
    }
    return INT64_MAX;
}

/* ---- loading and the cache ---- */

static struct map cache;

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    /* a name is written one way: no empty part (Europe//Zurich would name the same file, and
     * be shown and compared as another zone) */
    if (len == 0 || len > 200 || n[0] == '/' || n[len - 1] == '/' || strstr(n, "..") ||
        strstr(n, "//"))
        return false;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p)) return false;
    return true;
}

static struct tz *utc_zone(void)
{
    struct tz *z = xcalloc(1, sizeof *z);
    z->name = xstrdup("UTC");
    z->ntypes = 1;
    z->types = xcalloc(1, sizeof *z->types);
    snprintf(z->types[0].abbr, sizeof z->types[0].abbr, "UTC");
    return z;
}

static int unknown_zone(const char *name, struct sk_err *e)
{
    /* the longest IANA names have about 30 characters: a longer one is cut where shown (and in
     * tz_get's other messages) */
    return sk_err_set(e, -ENOENT, "timezone",
                      "unknown time zone '%.60s%s' (an IANA name such as Europe/Zurich)", name,
                      strlen(name) > 60 ? "…" : "");
}

int tz_get(const char *name, const struct tz **out, struct sk_err *e)
{
    if (!cache.buckets) map_init(&cache);
    struct tz *z = map_get(&cache, name);
    if (z) {
        *out = z;
        return 0;
    }
    if (strcmp(name, "UTC") == 0) {
        z = utc_zone();
        map_put(&cache, name, z);
        *out = z;
        return 0;
    }
    if (!valid_name(name))
        return sk_err_set(e, -ENOENT, "timezone",
                          "'%.60s%s' is not a time zone name (an IANA name such as "
                          "Europe/Zurich)",
                          name, strlen(name) > 60 ? "…" : "");
    /* files of tzdata that are no place's zone: the machine's own setting (which a job's
     * schedule must not follow as it changes), the default rules, a placeholder */
    static const char *const not_zones[] = {"localtime", "posixrules", "Factory"};
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name; /* posix/Factory */
    for (size_t i = 0; i < sizeof not_zones / sizeof *not_zones; i++)
        if (strcmp(base, not_zones[i]) == 0)
            return sk_err_set(e, -ENOENT, "timezone",
                              "'%s' is not a place's time zone; name one, such as Europe/Zurich",
                              name);
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) return unknown_zone(name, e);
    struct buf b = BUF_INIT;
    unsigned char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 && b.len < TZ_FILE_MAX)
        buf_append(&b, chunk, (size_t)n);
    close(fd);
    /* a folder (Europe) or a file of tzdata that is no zone (leapseconds, zone.tab) */
    if (b.len < 4 || memcmp(b.data, "TZif", 4) != 0) {
        buf_free(&b);
        return unknown_zone(name, e);
    }
    int rc = tz_parse((const unsigned char *)b.data, b.len, name, &z, e);
    buf_free(&b);
    if (rc) return rc;
    map_put(&cache, name, z);
    *out = z;
    return 0;
}

void tz_cache_clear(void)
{
    if (!cache.buckets) return;
    size_t it;
    for (struct map_entry *m = map_first(&cache, &it); m; m = map_next(&cache, &it, m))
        tz_free(m->value);
    map_release(&cache);
}
