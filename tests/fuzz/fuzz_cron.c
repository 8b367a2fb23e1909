/*
 * fuzz_cron: schedules and time zones - text a person saves and files sked reads. The first
 * byte chooses what the rest is: a cron expression, a schedule object (JSON) or TZif bytes.
 * Whatever parses must keep the scheduler's promises: a next fire time is strictly later than
 * the instant it was asked after, or there is none; a wall time resolves to 0, 1 or 2 ordered
 * instants, each of which shows that wall time again.
 */
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "cron.h"
#include "fuzz.h"
#include "tz.h"

/* Instants around DST changes and calendar edges (seconds since the epoch). */
static const int64_t probes[] = {0,          951782400,  1774746000, 1792893600,
                                 1772953200, 1793512800, 1775314800, 4102444800,
                                 -2208988800};

static void check_schedule(const struct schedule *sc)
{
    if (sc->type == SCHEDULE_INTERVAL) {
        FUZZ_CHECK(sc->interval_us >= 1000000);
        return;
    }
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        int64_t t = probes[i] * 1000000;
        for (int k = 0; k < 3; k++) {
            int flags = -1;
            int64_t next = schedule_next(sc, t, &flags);
            if (next == INT64_MIN) break;
            FUZZ_CHECK(next > t);
            FUZZ_CHECK(next % 1000000 == 0);
            FUZZ_CHECK(flags >= 0 && flags <= 4);
            t = next;
        }
    }
}

static void check_zone(const struct tz *z)
{
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        struct local_time lt;
        tz_local(z, probes[i], &lt);
        FUZZ_CHECK(lt.month >= 1 && lt.month <= 12 && lt.day >= 1 && lt.day <= 31);
        FUZZ_CHECK(lt.hour >= 0 && lt.hour < 24 && lt.minute >= 0 && lt.minute < 60);
        int64_t out[TZ_RESOLVE_MAX];
        int n = tz_resolve(z, lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.second, out);
        FUZZ_CHECK(n >= 1 && n <= TZ_RESOLVE_MAX); /* the wall time of an instant exists */
        bool found = false;
        for (int k = 0; k < n; k++) {
            if (k) FUZZ_CHECK(out[k - 1] < out[k]);
            found = found || out[k] == probes[i];
            struct local_time back;
            tz_local(z, out[k], &back);
            FUZZ_CHECK(back.year == lt.year && back.month == lt.month && back.day == lt.day &&
                       back.hour == lt.hour && back.minute == lt.minute);
        }
        FUZZ_CHECK(found || n == TZ_RESOLVE_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024) return 0;
    int mode = data[0] % 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (mode == 2) {
        struct tz *z;
        struct sk_err e;
        if (tz_parse((const unsigned char *)text, len, "fuzz", &z, &e) == 0) {
            check_zone(z);
            tz_free(z);
        }
        return 0;
    }
    json_t *doc;
    if (mode == 0) {
        struct buf b = BUF_INIT;
        buf_append(&b, text, strnlen(text, len));
        doc = json_pack("{s:s,s:s}", "type", "cron", "expression", buf_cstr(&b));
        buf_free(&b);
        if (!doc) return 0; /* not UTF-8 */
    } else {
        struct sk_err e;
        doc = json_parse(text, len, "schedule", &e);
        if (!doc) return 0;
    }
    json_t *errs = json_array();
    struct schedule sc;
    int rc = schedule_parse(doc, "schedule", &sc, errs);
    if (rc == 0) {
        FUZZ_CHECK(json_array_size(errs) == 0);
        check_schedule(&sc);
    } else {
        FUZZ_CHECK(json_array_size(errs) > 0); /* a refusal always says why */
    }
    json_decref(errs);
    json_decref(doc);
    return 0;
}
