/*
 * test_base: the foundations everything else trusts - time and duration parsing/formatting,
 * UTF-8 validation and repair, buf, map, UUIDs and JSON parse errors. Each case pins one
 * documented rule of the src/base headers, so a change of behaviour shows up here first.
 */
#include "unit.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

#include "base/buf.h"
#include "base/casefold_table.h"
#include "base/cidr.h"
#include "base/json.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/uuid.h"

/* ---- time ---- */

static int64_t parse_ok(const char *s)
{
    int64_t us = 0;
    const char *why = "unset";
    int rc = time_parse(s, &us, &why);
    if (rc != 0) fail_msg("time_parse(\"%s\") failed: %s", s, why ? why : "(null)");
    assert_null(why);
    return us;
}

static const char *parse_bad(const char *s)
{
    int64_t us = 12345;
    const char *why = NULL;
    assert_int_equal(time_parse(s, &us, &why), -EINVAL);
    assert_non_null(why);
    return why;
}

static void assert_formats(int64_t us, const char *want)
{
    char out[TIME_STR_MAX];
    time_format(us, out);
    assert_string_equal(out, want);
}

/* 2024-03-01T00:00:00Z */
#define MAR1_2024 INT64_C(1709251200000000)

static void test_time_parse_formats(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-03-01"), MAR1_2024);
    assert_int_equal(parse_ok("2024-03-01 10:30"), MAR1_2024 + INT64_C(37800000000));
    assert_int_equal(parse_ok("2024-03-01T10:30"), MAR1_2024 + INT64_C(37800000000));
    assert_int_equal(parse_ok("2024-03-01t10:30"), MAR1_2024 + INT64_C(37800000000));
    assert_int_equal(parse_ok("2024-03-01T10:30:15"), MAR1_2024 + INT64_C(37815000000));
    assert_int_equal(parse_ok("2024-03-01T10:30:15Z"), MAR1_2024 + INT64_C(37815000000));
    assert_int_equal(parse_ok("2024-03-01T10:30:15z"), MAR1_2024 + INT64_C(37815000000));
    assert_int_equal(parse_ok("2024-03-01Z"), MAR1_2024);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
}

static void test_time_parse_fraction(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00.5Z"), 500000);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.123456Z"), 123456);
    assert_int_equal(parse_ok("1970-01-01T00:00:00,25"), 250000);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.000001"), 1);
    /* digits past microseconds are dropped, not rounded */
    assert_int_equal(parse_ok("1970-01-01T00:00:00.1234569Z"), 123456);
    parse_bad("1970-01-01T00:00:00.Z");
    parse_bad("1970-01-01T00:00:00.");
}

static void test_time_parse_offsets(void **state)
{
    (void)state;
    int64_t utc = parse_ok("2024-03-01T10:30:00Z");
    assert_int_equal(parse_ok("2024-03-01T12:30:00+02:00"), utc);
    assert_int_equal(parse_ok("2024-03-01T12:30:00+0200"), utc);
    assert_int_equal(parse_ok("2024-03-01T05:00:00-05:30"), utc);
    assert_int_equal(parse_ok("2024-03-01 10:30+00:00"), utc);
    /* an offset may move the instant across a date line */
    assert_int_equal(parse_ok("2024-03-01T01:00:00+02:00"), MAR1_2024 - INT64_C(3600000000));
    assert_string_equal(parse_bad("2024-03-01T10:30:00+24:00"), "zone offset out of range");
    assert_string_equal(parse_bad("2024-03-01T10:30:00+02:60"), "zone offset out of range");
    parse_bad("2024-03-01T10:30:00+2");
    parse_bad("2024-03-01T10:30:00+02:0");
    parse_bad("2024-03-01T10:30:00 +02:00");
}

static void test_time_parse_dates(void **state)
{
    (void)state;
    parse_ok("2024-02-29");
    parse_ok("2000-02-29");
    assert_string_equal(parse_bad("2023-02-29"), "no such date");
    assert_string_equal(parse_bad("1900-02-29"), "no such date");
    assert_string_equal(parse_bad("2024-04-31"), "no such date");
    assert_string_equal(parse_bad("2024-13-01"), "no such date");
    assert_string_equal(parse_bad("2024-00-10"), "no such date");
    assert_string_equal(parse_bad("2024-01-00"), "no such date");
    assert_string_equal(parse_bad("2024-01-01T24:00"), "time of day out of range");
    assert_string_equal(parse_bad("2024-01-01T23:60"), "time of day out of range");
    assert_string_equal(parse_bad("2024-01-01T23:59:61"), "time of day out of range");
    /* a leap second is clamped to :59 */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
    /* the range's ends, which an offset may not carry an instant past: what is parsed is
     * written again in four digits of year and parses back the same */
    char text[TIME_STR_MAX];
    const char *ends[] = {"0000-01-01T00:00:00Z", "0000-01-01T02:00:00+02:00",
                          "9999-12-31T23:59:59.999999Z", "9999-12-31T21:00-02:00"};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        int64_t us = parse_ok(ends[i]);
        time_format(us, text);
        assert_int_equal(parse_ok(text), us);
    }
    const char *past[] = {"0000-01-01+02:00", "0000-01-01T01:59:59+02:00", "9999-12-31T23:00-02:00",
                          "9999-12-31T22:00:00.5-02:00"};
    for (size_t i = 0; i < sizeof past / sizeof *past; i++)
        assert_string_equal(parse_bad(past[i]),
                            "out of range: from 0000-01-01 to 9999-12-31 in UTC");
    /* shapes that are not dates at all */
    parse_bad("");
    parse_bad("2024-3-1");
    parse_bad("24-03-01");
    parse_bad("2024/03/01");
    parse_bad("2024-03-01T10");
    parse_bad("2024-03-01T10:3");
    parse_bad("2024-03-01T10:30:");
    parse_bad("2024-03-01T10:30:00Zjunk");
    parse_bad("2024-03-01 ");
    parse_bad("yesterday");
    int64_t us;
    const char *why;
    assert_int_equal(time_parse(NULL, &us, &why), -EINVAL);
    /* why may be NULL when the caller does not want the reason */
    assert_int_equal(time_parse("2024-02-30", &us, NULL), -EINVAL);
}

static void test_time_format(void **state)
{
    (void)state;
    assert_formats(0, "1970-01-01T00:00:00.000000+00:00");
    assert_formats(MAR1_2024 + INT64_C(37815123456), "2024-03-01T10:30:15.123456+00:00");
    assert_formats(-1, "1969-12-31T23:59:59.999999+00:00");
    assert_formats(-500000, "1969-12-31T23:59:59.500000+00:00");
    assert_formats(INT64_C(-86400000000), "1969-12-31T00:00:00.000000+00:00");
    assert_formats(parse_ok("2024-02-29T23:59:59.999999Z"), "2024-02-29T23:59:59.999999+00:00");
    assert_formats(parse_ok("1900-01-01"), "1900-01-01T00:00:00.000000+00:00");
    assert_formats(parse_ok("9999-12-31T23:59:59Z"), "9999-12-31T23:59:59.000000+00:00");
    /* against the C library's calendar, across 1901-2106 with every field's digits moving */
    for (int64_t us = INT64_C(-2145916800000000); us < INT64_C(4294967295000000);
         us += INT64_C(9876543212345)) {
        time_t secs = (time_t)(us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char want[64], got[TIME_STR_MAX];
        int64_t frac = us % 1000000;
        if (frac < 0) continue; /* floor division is covered above */
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long long)frac);
        time_format(us, got);
        assert_string_equal(got, want);
    }
}

static void test_time_round_trip(void **state)
{
    (void)state;
    static const int64_t values[] = {0,
                                     1,
                                     -1,
                                     -999999,
                                     -1000000,
                                     -1000001,
                                     INT64_C(951782400000000), /* 2000-02-29 */
                                     INT64_C(1709251200123456),
                                     INT64_C(-2208988800000000), /* 1900-01-01 */
                                     INT64_C(253402300799999999)};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char s[TIME_STR_MAX];
        time_format(values[i], s);
        assert_int_equal(parse_ok(s), values[i]);
    }
    /* every day boundary of four years including a leap year, through the civil helpers */
    for (int64_t days = -800; days < 800; days++) {
        int64_t y;
        unsigned m, d;
        time_civil_from_days(days, &y, &m, &d);
        assert_int_equal(time_days_from_civil(y, m, d), days);
    }
}

/* ---- durations ---- */

static int64_t dur_ok(const char *s)
{
    int64_t ms = -1;
    const char *why = "unset";
    if (duration_parse(s, &ms, &why) != 0) fail_msg("duration_parse(\"%s\"): %s", s, why);
    assert_null(why);
    return ms;
}

static const char *dur_bad(const char *s)
{
    int64_t ms = 0;
    const char *why = NULL;
    assert_int_equal(duration_parse(s, &ms, &why), -EINVAL);
    assert_non_null(why);
    return why;
}

static void test_duration_parse(void **state)
{
    (void)state;
    assert_int_equal(dur_ok("90s"), 90000);
    assert_int_equal(dur_ok("10m"), 600000);
    assert_int_equal(dur_ok("2h"), 7200000);
    assert_int_equal(dur_ok("1h30m"), 5400000);
    assert_int_equal(dur_ok("500ms"), 500);
    assert_int_equal(dur_ok("1d"), 86400000);
    assert_int_equal(dur_ok("2w"), INT64_C(1209600000));
    assert_int_equal(dur_ok("45"), 45000);
    assert_int_equal(dur_ok("0"), 0);
    assert_int_equal(dur_ok("1m5s"), 65000);
    assert_int_equal(dur_ok("1d1h1m1s1ms"), 90061001);
    assert_int_equal(dur_ok("1s1s"), 2000);

    dur_bad("");
    dur_bad("abc");
    /* the message names every unit */
    assert_string_equal(dur_bad("10x"),
                        "expected a duration such as 90s, 10m, 1h30m or 2w (units ms, s, m, h, d, w)");
    dur_bad("1.5h");
    dur_bad("-5s");
    dur_bad("5 s");
    dur_bad(" 5s");
    dur_bad("s");
    dur_bad("1m30"); /* a bare number is only allowed alone */
    dur_bad("h1");
    assert_string_equal(dur_bad("99999999999"), DURATION_TOO_LONG);
    assert_string_equal(dur_bad("36601d"), DURATION_TOO_LONG);
    int64_t ms;
    assert_int_equal(duration_parse(NULL, &ms, NULL), -EINVAL);
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {{0, "0s"},           {-5, "0s"},          {250, "250ms"},
                 {45000, "45s"},      {5400000, "1h30m"},  {90061001, "1d1h1m1s1ms"},
                 {604800000, "7d"},   {1500, "1s500ms"},   {3600000, "1h"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[32];
        duration_format(cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
        /* whatever is formatted parses back to the same length */
        if (cases[i].ms > 0) assert_int_equal(dur_ok(out), cases[i].ms);
    }
}

/* ---- utf8 ---- */

#define U8_OK(lit) assert_true(utf8_valid(lit, sizeof(lit) - 1))
#define U8_BAD(lit) assert_false(utf8_valid(lit, sizeof(lit) - 1))

static void test_utf8_valid(void **state)
{
    (void)state;
    U8_OK("");
    U8_OK("plain ascii");
    U8_OK("caf\xc3\xa9");
    U8_OK("\xe2\x82\xac");         /* euro sign */
    U8_OK("\xf0\x9f\x98\x80");     /* emoji, 4 bytes */
    U8_OK("\xf4\x8f\xbf\xbf");     /* U+10FFFF, the last code point */
    U8_OK("\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
    U8_BAD("\xc0\xaf");            /* overlong '/' */
    U8_BAD("\xc1\xbf");            /* overlong */
    U8_BAD("\xe0\x80\xaf");        /* overlong 3-byte */
    U8_BAD("\xf0\x80\x80\xaf");    /* overlong 4-byte */
    U8_BAD("\xed\xa0\x80");        /* U+D800, a surrogate */
    U8_BAD("\xed\xbf\xbf");        /* U+DFFF */
    U8_BAD("\xf4\x90\x80\x80");    /* above U+10FFFF */
    U8_BAD("\xf5\x80\x80\x80");
    U8_BAD("\xff");
    U8_BAD("\x80");                /* stray continuation byte */
    U8_BAD("ab\xe2\x82");          /* truncated at the end */
    U8_BAD("\xe2\x82x");           /* truncated in the middle */
    U8_BAD("a\0b");                /* NUL is not accepted */
}

static void test_utf8_whole(void **state)
{
    (void)state;
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀: 1, 2, 3, 4 bytes */
    /* every cut lands between characters: at 1, 3, 6 or 10 */
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t n = 0; n <= 10; n++) assert_int_equal(utf8_whole(s, n), want[n]);
    /* bytes that are no UTF-8 are cut where asked, or before what reads as a lead byte */
    assert_int_equal(utf8_whole("\x80\x80\x80\x80", 2), 2);
    assert_int_equal(utf8_whole("ab\xff", 3), 2);
    assert_int_equal(utf8_whole("\xff", 1), 1); /* nothing else would be left */
}

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(utf8_chars(""), 0);
    assert_int_equal(utf8_chars("abc"), 3);
    assert_int_equal(utf8_chars("caf\xc3\xa9"), 4);
    assert_int_equal(utf8_chars("\xe6\x97\xa5\xe6\x9c\xac"), 2);
    assert_int_equal(utf8_chars("\xf0\x9f\x98\x80!"), 2);
}

static void assert_folds(const char *in, const char *want)
{
    struct buf b = BUF_INIT;
    utf8_fold(&b, in, strlen(in));
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

/* The same for n bytes that may hold NUL. */
static void assert_foldsn(const char *in, size_t n, const char *want, size_t want_n)
{
    struct buf b = BUF_INIT;
    utf8_fold(&b, in, n);
    assert_int_equal(b.len, want_n);
    if (want_n) assert_memory_equal(b.data, want, want_n);
    buf_free(&b);
}

static void test_utf8_fold_and_blank(void **state)
{
    (void)state;
    assert_folds("", "");
    assert_folds("Nightly SYNC 42", "nightly sync 42");
    assert_folds("ZÜRCHER Straße ÀÉÎÕÞ × Ÿ", "zürcher straße àéîõþ × ÿ"); /* × is no letter */
    assert_folds("ŁÓDŹ ŚLĄSK ČESKÉ ŐRSÉG Ĳ", "łódź śląsk české őrség ĳ");
    assert_folds("ΑΘΗΝΑ Ώρα ΟΔΟΣ ς", "αθηνα ώρα οδοσ σ");
    assert_folds("МОСКВА ЁЛКА ЇЖАК", "москва ёлка їжак");
    /* final sigma folds to the other small sigma, wherever it stands */
    assert_folds("ΣΊΣΥΦΟΣ Σίσυφος", "σίσυφοσ σίσυφοσ");
    /* no simple folding (İ ı: Turkic only; ŉ: to two letters), or no letter: as they are */
    assert_folds("İ ı ĸ ŉ 日本 ١٢٣ 😀", "İ ı ĸ ŉ 日本 ١٢٣ 😀");
    /* folded forms that are not small letters: ſ s, µ (micro) μ, ͅ ι, ϐ β */
    assert_folds("ſ µ ͅ ϐ", "s μ ι β");
    /* Latin Extended-B and Additional, IPA capitals */
    assert_folds("Ǆǅǆ ǱƉ Ƀ Ȣ ḀẀẞ Ỳ Ɐ Ɑ", "ǆǆǆ ǳɖ ƀ ȣ ḁẁß ỳ ɐ ɑ");
    /* Armenian, Georgian (Asomtavruli, Mtavruli), Cherokee (its small letters fold to the
     * capitals, the older ones), Glagolitic, Coptic, Cyrillic Extended */
    assert_folds("ՀԱՅԱՍՏԱՆ Երևան", "հայաստան երևան");
    assert_folds("ႠႡ ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ საქართველო", "ⴀⴁ საქართველო საქართველო");
    assert_folds("Ꮳ ꮳ ᏸ", "Ꮳ Ꮳ Ᏸ");
    assert_folds("ⰀⰁ ⲀⲂ ꙀꙂ", "ⰰⰱ ⲁⲃ ꙁꙃ");
    /* Greek Extended: capitals, and the iota subscript of ᾼ (simple folding keeps it) */
    assert_folds("ἈἘ ᾼ ᾈ Ὼ", "ἀἐ ᾳ ᾀ ὼ");
    /* fullwidth, and letters of four bytes: Deseret, Osage, Vithkuqi, Old Hungarian,
     * Warang Citi, Medefaidrin, Adlam */
    assert_folds("ＡＢＣ ｚ", "ａｂｃ ｚ");
    assert_folds("𐐀𐐁 𐒰 𐕰 𐲀 𑢠 𖹀 𞤀𞤡", "𐐨𐐩 𐓘 𐖗 𐳀 𑣀 𖹠 𞤢𞥃");
    /* a letter may fold to one of another length: K (Kelvin) k and Å (Angstrom) å of three
     * bytes to one and two, ẞ to ß, Ω (Ohm) ω, ι ι, ᲀ в, and Ⱥ Ȿ of two bytes to three */
    assert_folds("\u212a \u212b \u1e9e \u2126 \u1fbe \u1c80",
                 "k \u00e5 \u00df \u03c9 \u03b9 \u0432");
    assert_folds("\u023a\u023e", "\u2c65\u2c66");
    assert_folds("KELVIN \u212aELVIN", "kelvin kelvin");
    /* invalid sequences and cut characters are copied as they are, what follows folded */
    assert_folds("A\xc3", "a\xc3");
    assert_folds("\xc3\x28" "B", "\xc3\x28" "b");
    assert_folds("\xc0\x80", "\xc0\x80");
    assert_folds("\xe2\x84", "\xe2\x84");                    /* a cut Kelvin sign */
    assert_folds("\xe2\x84" "A\xe2\x84\xaa", "\xe2\x84" "ak"); /* and one whole */
    assert_folds("\xf0\x90\x90", "\xf0\x90\x90");            /* a cut Deseret capital */
    assert_folds("\xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80",
                 "\xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80");
    assert_folds("\x80\xbf\xfe\xff\xc1\x81" "\xc3\x84", "\x80\xbf\xfe\xff\xc1\x81" "\xc3\xa4");
    assert_foldsn("A\0\xd0\x96\0", 5, "a\0\xd0\xb6\0", 5); /* NUL too, Ж ж */
    /* on any bytes: at most half as many bytes again out as in, valid UTF-8 stays valid, a
     * second fold changes nothing (a search folds the pattern once and the texts once) */
    unsigned seed = 12345;
    for (int round = 0; round < 40000; round++) {
        char in[24];
        size_t n = (size_t)(round % 24);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            /* mostly the lead bytes of letters that fold and continuation bytes */
            static const unsigned char pick[] = {
                'A', 'z', 0xc3, 0xc4, 0xc5, 0xc8, 0xce, 0xcf, 0xd0, 0xd1, 0xd4, 0xd5,
                0xe1, 0xe2, 0xe3, 0xea, 0xed, 0xef, 0xf0, 0xf4, 0x80, 0x84, 0x90, 0x98,
                0xa3, 0xaa, 0xb2, 0xba, 0xbe, 0xbf, 0xe6, 0xff, 0};
            in[i] = (char)pick[(seed >> 16) % sizeof pick];
        }
        struct buf once = BUF_INIT, twice = BUF_INIT;
        utf8_fold(&once, in, n);
        assert_true(once.len <= n + n / 2);
        if (utf8_valid(in, n)) assert_true(utf8_valid(once.data ? once.data : "", once.len));
        utf8_fold(&twice, once.data ? once.data : "", once.len);
        assert_int_equal(twice.len, once.len);
        assert_memory_equal(buf_cstr(&twice), buf_cstr(&once), once.len);
        buf_free(&once);
        buf_free(&twice);
    }
    assert_true(utf8_blank(""));
    assert_true(utf8_blank(" \t\r\n\v\f"));
    assert_false(utf8_blank(" x "));
    /* Unicode's white space and the characters that take no room show nothing either: no-break
     * space, ideographic space, line separator, zero-width space, byte order mark */
    assert_true(utf8_blank("\xc2\xa0 \xe3\x80\x80\xe2\x80\xa8\xe2\x80\x8b\xef\xbb\xbf"));
    assert_false(utf8_blank("\xc2\xa0\xc3\xa9")); /* é */
    assert_false(utf8_blank("\xe2\x80")); /* cut short: not text, not blank */
    assert_false(utf8_has_control("caf\xc3\xa9 \xe2\x80\x94 ok")); /* é, an em dash */
    assert_true(utf8_has_control("a\xe2\x80\xa8" "b")); /* U+2028 */
    assert_true(utf8_has_control("a\xe2\x80\xa9"));     /* U+2029 */
    assert_true(utf8_has_control("a\xc2\x9b" "b"));      /* C1 CSI */
}

/* UTF-8 of code point c into o; its length. */
static size_t encode_cp(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* How c folds by the ranges of casefold_table.h read plainly, from range *k on (the ranges
 * before it end before c). */
static uint32_t fold_by_ranges(uint32_t c, size_t *k)
{
    while (*k < CASEFOLD_RANGES && casefold_ranges[*k].first + casefold_ranges[*k].span < c)
        (*k)++;
    if (*k == CASEFOLD_RANGES) return c;
    const struct casefold_range *r = &casefold_ranges[*k];
    if (c < r->first || (r->every_other && (c - r->first) % 2)) return c;
    return (uint32_t)((int32_t)c + r->delta);
}

/* utf8_fold of every code point, in order in texts of 256, and of texts of a few code points
 * at random, against the table read plainly: its indexes and the range it keeps across a
 * text find the same. */
static void test_utf8_fold_every_code_point(void **state)
{
    (void)state;
    struct buf got = BUF_INIT, want = BUF_INIT;
    char in[256 * 4], u[4];
    size_t n = 0, k = 0, folded = 0;
    for (uint32_t c = 0; c <= 0x110000; c++) {
        if (n && (c % 256 == 0 || c == 0x110000)) {
            buf_reset(&got);
            utf8_fold(&got, in, n);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
            buf_reset(&want);
            n = 0;
        }
        if (c == 0x110000) break;
        if (c == 0 || (c >= 0xd800 && c <= 0xdfff)) continue;
        uint32_t f = fold_by_ranges(c, &k);
        folded += f != c;
        n += encode_cp(in + n, c);
        buf_append(&want, u, encode_cp(u, f));
    }
    assert_int_equal(folded, CASEFOLD_CODE_POINTS); /* the C and S lines of CaseFolding.txt */
    unsigned seed = 99;
    for (int round = 0; round < 50000; round++) {
        buf_reset(&want);
        n = 0;
        for (int i = 0; i < 1 + round % 8; i++) {
            seed = seed * 1103515245 + 12345;
            /* mostly below U+2000 and in the 3 and 4 byte blocks with most letters that fold */
            static const uint32_t base[] = {0, 0, 0x1c00, 0x2c00, 0xa600, 0xff00, 0x10400, 0x1e900};
            uint32_t c = base[seed % 8] + (seed >> 8) % 0x2000;
            if (seed % 32 == 5) c = (seed >> 8) % 0x110000;
            if (c == 0 || (c >= 0xd800 && c <= 0xdfff)) c = 'Q';
            size_t at = 0;
            n += encode_cp(in + n, c);
            buf_append(&want, u, encode_cp(u, fold_by_ranges(c, &at)));
        }
        buf_reset(&got);
        utf8_fold(&got, in, n);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
    }
    buf_free(&got);
    buf_free(&want);
}

static char *sanitize(const char *s, size_t n)
{
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, s, n);
    assert_true(utf8_valid(b.data ? b.data : "", b.len));
    return buf_steal(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_utf8_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"hello", 5, "hello"},
        {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
        {"a\xff" "b", 3, "a" FFFD "b"},
        {"a\0b", 3, "a" FFFD "b"},
        {"ab\xe2\x82", 4, "ab" FFFD FFFD},
        {"\xc0\xaf", 2, FFFD FFFD},
        {"\xed\xa0\x80!", 4, FFFD FFFD FFFD "!"},
        {"\xf0\x9f\x98\x80\xff", 5, "\xf0\x9f\x98\x80" FFFD},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = sanitize(cases[i].in, cases[i].n);
        assert_string_equal(out, cases[i].want);
        free(out);
    }
}

/* ---- buf ---- */

/* fmt_int and buf_put_int write what printf's %lld writes, the extremes included */
static void test_fmt_int(void **state)
{
    (void)state;
    const long long vals[] = {0, 7, -7, 10, 99, -100, 1234567890123LL, LLONG_MAX, LLONG_MIN,
                              LLONG_MIN + 1};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char want[32], got[24];
        snprintf(want, sizeof want, "%lld", vals[i]);
        assert_int_equal(fmt_int(got, vals[i]), strlen(want));
        assert_string_equal(got, want);
        struct buf b = BUF_INIT;
        buf_puts(&b, "n=");
        buf_put_int(&b, vals[i]);
        assert_int_equal(b.len, 2 + strlen(want));
        assert_string_equal(b.data + 2, want);
        buf_free(&b);
    }
}

static void test_buf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_string_equal(buf_cstr(&b), "");
    buf_puts(&b, "abc");
    buf_putc(&b, '-');
    buf_append(&b, "x\0y", 3);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "abc-x\0y", 8); /* NUL-terminated past embedded NULs */
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++) buf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    assert_int_equal(strlen(b.data), 2000);
    assert_memory_equal(b.data + 1990, "5,6,7,8,9,", 10);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "%s", big);
    assert_int_equal(b.len, 2000 + 4999);
    char *s = buf_steal(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(strlen(s), 6999);
    free(s);
    s = buf_steal(&b); /* an empty buf still yields a string */
    assert_string_equal(s, "");
    free(s);
    buf_free(&b);
}

/* json_write writes what jansson's compact dump does, byte for byte. */
static void assert_writes_as_jansson(json_t *v)
{
    char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    char *ours = json_dump(v);
    assert_non_null(theirs);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(v);
}

static void test_json_write(void **state)
{
    (void)state;
    const double reals[] = {0.0, -0.0, 1.0, -3.0, 0.1, 1.5, 2.0 / 3.0, 1e15, 1e16, 1e20, 1e100,
                            1e-5, 1.25e-7, 2.5e-300, 1.7976931348623157e308, 4.9e-324,
                            123456789012345678.0, -1e-100, 1e21, 100.0};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        assert_writes_as_jansson(json_real(reals[i]));
    /* durations (microseconds over 1e6) are written without printf: the same text, from the
     * edges of that path to values of every magnitude within it */
    const int64_t micros[] = {1,         99,           100,           101,          1000,
                              123456,    1000000,      1000001,       1500000,      59999999,
                              86400000000, 999999999999999, 1000000000000000, 314159265358979};
    for (size_t i = 0; i < sizeof micros / sizeof micros[0]; i++)
        assert_writes_as_jansson(json_real((double)micros[i] / 1e6));
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t us = (int64_t)(x % 1000000000000000u) >> (x % 48);
        assert_writes_as_jansson(json_real((double)us / 1e6));
        assert_writes_as_jansson(json_real((double)us / 1e6 + 1e-9)); /* not whole micros */
    }
    const json_int_t ints[] = {0, -1, 42, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        assert_writes_as_jansson(json_integer(ints[i]));
    static const char odd[] = "a\0b\x01\x1f\x7f\"\\/\b\f\n\r\t caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80";
    assert_writes_as_jansson(json_stringn(odd, sizeof odd - 1));
    assert_writes_as_jansson(json_string(""));
    assert_writes_as_jansson(json_true());
    assert_writes_as_jansson(json_false());
    assert_writes_as_jansson(json_null());
    assert_writes_as_jansson(json_object());
    assert_writes_as_jansson(json_array());
    json_t *o = json_pack("{s:s,s:i,s:f,s:[i,s,{},[]],s:{s:n,s:b},s:s}", "z", "last?", "a", 1,
                          "m", 0.5, "list", 1, "two", "nested", "x", "y", 1, "key \"q\"\n",
                          "v");
    json_object_setn_new(o, "k\0nul", 5, json_string("with a NUL in the key"));
    assert_writes_as_jansson(o);
    /* a document as the API writes it, insertion order kept */
    json_error_t je;
    assert_writes_as_jansson(json_loads("{\"b\":[1,2.5,-0.0,1e-7,\"\\u0000\"],\"a\":{\"c\":null,"
                                        "\"d\":[true,false,{}]},\"e\":\"\\u2028\"}", JSON_ALLOW_NUL, &je));
}

static void test_buf_json_string(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_json_string(&b, "a\"b\\c\nd\re\tf\x01g\x1f" "caf\xc3\xa9");
    assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001Fcaf\xc3\xa9\"");
    /* what it writes is JSON that reads back as the original */
    json_t *v = json_loads(b.data, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(v), "a\"b\\c\nd\re\tf\x01g\x1f" "caf\xc3\xa9");
    json_decref(v);
    buf_free(&b);

    /* strings read eight bytes at a time: every byte that needs an escape, at every position
     * of strings of every length up to 40, among bytes that do not, matches a plain escaper
     * byte by byte, and the answer says whether any byte is not ASCII */
    const unsigned char special[] = {0, 1, 0x1f, '"', '\\', 0x80, 0xff, 0x20, 0x21, 0x5b, 0x5d, 0x7f};
    for (size_t n = 1; n <= 40; n++)
        for (size_t at = 0; at < n; at++)
            for (size_t k = 0; k < sizeof special; k++) {
                unsigned char s[40];
                for (size_t i = 0; i < n; i++) s[i] = (unsigned char)('a' + (i * 7 + k) % 26);
                s[at] = special[k];
                if (k % 3 == 0 && at + 5 < n) s[at + 5] = special[(k + 4) % sizeof special];
                struct buf want = BUF_INIT, got = BUF_INIT;
                bool high = false;
                buf_putc(&want, '"');
                for (size_t i = 0; i < n; i++) {
                    unsigned char c = s[i];
                    high = high || c >= 0x80;
                    if (c == '"' || c == '\\')
                        buf_printf(&want, "\\%c", c);
                    else if (c && strchr("\b\f\n\r\t", c))
                        buf_printf(&want, "\\%c", "bfnrt"[strchr("\b\f\n\r\t", c) - "\b\f\n\r\t"]);
                    else if (c < 0x20)
                        buf_printf(&want, "\\u%04X", c);
                    else
                        buf_append(&want, (const char *)&c, 1);
                }
                buf_putc(&want, '"');
                assert_int_equal(buf_json_stringn(&got, (const char *)s, n), high);
                assert_int_equal(got.len, want.len);
                assert_memory_equal(got.data, want.data, want.len);
                buf_free(&want);
                buf_free(&got);
            }
}

/* ---- map ---- */

static void test_map_basic(void **state)
{
    (void)state;
    struct map m;
    map_init(&m);
    int a = 1, b = 2, c = 3;
    assert_null(map_get(&m, "a"));
    assert_null(map_put(&m, "a", &a));
    assert_null(map_put(&m, "b", &b));
    assert_ptr_equal(map_get(&m, "a"), &a);
    assert_ptr_equal(map_put(&m, "a", &c), &a); /* replacing returns the old value */
    assert_ptr_equal(map_get(&m, "a"), &c);
    assert_int_equal(m.count, 2);
    char key[8] = "b";
    assert_ptr_equal(map_get(&m, key), &b); /* keys compare by content */
    assert_ptr_equal(map_del(&m, "b"), &b);
    assert_null(map_del(&m, "b"));
    assert_null(map_get(&m, "b"));
    assert_int_equal(m.count, 1);
    assert_null(map_get(&m, ""));
    assert_null(map_put(&m, "", &b)); /* the empty key is a key like any other */
    assert_ptr_equal(map_get(&m, ""), &b);
    map_release(&m);
    assert_null(map_get(&m, "a")); /* a released map is empty, not a crash */
    assert_null(map_del(&m, "a"));
    assert_null(map_put(&m, "a", &a)); /* and usable again */
    assert_ptr_equal(map_get(&m, "a"), &a);
    map_release(&m);
}

/* The buckets take map_hash's low bits: ids that differ in one byte anywhere (the tail of a
 * length that is no multiple of eight included) spread over them evenly. */
static void test_map_hash_spread(void **state)
{
    (void)state;
    enum { BUCKETS = 64, KEYS = 6400 };
    for (size_t len = 2; len <= 41; len += 3) {
        for (size_t pos = 0; pos < len; pos++) {
            int count[BUCKETS] = {0};
            char key[48];
            memset(key, 'a', len);
            key[len] = '\0';
            for (int i = 0; i < KEYS; i++) {
                /* two bytes vary at most: pos and, past 255 keys, its neighbour */
                key[pos] = (char)(1 + i % 255);
                key[(pos + 1) % len] = (char)('a' + i / 255);
                count[map_hash(key) % BUCKETS]++;
            }
            for (int b = 0; b < BUCKETS; b++) {
                if (count[b] < 40 || count[b] > 170)
                    fail_msg("len %zu pos %zu: bucket %d has %d of %d", len, pos, b, count[b],
                             KEYS);
            }
        }
    }
    assert_true(map_hash("") != map_hash("a"));
    assert_true(map_hash("abcdefgh") != map_hash("abcdefgh1"));
}

static void test_map_growth_and_iteration(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct map m;
    map_init(&m);
    static int values[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        values[i] = i;
        snprintf(key, sizeof key, "key-%d", i);
        assert_null(map_put(&m, key, &values[i]));
    }
    assert_int_equal(m.count, N);
    assert_true(m.nbuckets >= N); /* it grew instead of chaining everything */
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_ptr_equal(map_get(&m, key), &values[i]);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_ptr_equal(map_del(&m, key), &values[i]);
    }
    static char seen[N];
    memset(seen, 0, sizeof seen);
    size_t it, visited = 0;
    for (struct map_entry *e = map_first(&m, &it); e; e = map_next(&m, &it, e)) {
        int v = *(int *)e->value;
        snprintf(key, sizeof key, "key-%d", v);
        assert_string_equal(e->key, key);
        assert_int_equal(v % 2, 1);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
        visited++;
    }
    assert_int_equal(visited, N / 2);
    map_release(&m);

    map_init(&m);
    assert_null(map_first(&m, &it));
    map_release(&m);
}

/* ---- uuid ---- */

static void test_uuid(void **state)
{
    (void)state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    uuid_v4(a);
    uuid_v4(b);
    assert_int_equal(strlen(a), 36);
    assert_true(uuid_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4'); /* version */
    assert_non_null(strchr("89ab", a[19])); /* RFC 4122 variant */
    for (int i = 0; i < 36; i++)
        if (i != 8 && i != 13 && i != 18 && i != 23)
            assert_non_null(strchr("0123456789abcdef", a[i]));
    /* across several refills of the random supply: well formed and all different */
    enum { N = 100 };
    static char many[N][UUID_STR_LEN];
    for (int i = 0; i < N; i++) {
        uuid_v4(many[i]);
        assert_true(uuid_valid(many[i]));
        assert_int_equal(many[i][14], '4');
        assert_non_null(strchr("89ab", many[i][19]));
        for (int k = 0; k < i; k++) assert_string_not_equal(many[i], many[k]);
    }

    assert_true(uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(uuid_valid("123E4567-E89B-12D3-A456-426614174000"));
    assert_false(uuid_valid(NULL));
    assert_false(uuid_valid(""));
    assert_false(uuid_valid("123e4567-e89b-12d3-a456-42661417400"));   /* short */
    assert_false(uuid_valid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
    assert_false(uuid_valid("123e4567e-89b-12d3-a456-426614174000"));  /* dash moved */
    assert_false(uuid_valid("123e4567-e89b-12d3-a456-42661417400g"));  /* not hex */
    assert_false(uuid_valid("123e4567-e89b-12d3-a456_426614174000"));
}

/* A run's id: its first 48 bits are the instant's milliseconds, the next 12 after the version
 * its fraction of the millisecond, so ids sort in the order they were made, to the microsecond. */
static void test_uuid_v7(void **state)
{
    (void)state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    /* 1700000000123456 us: 0x18bcfe5687b ms and 456 us, 456 * 4096 / 1000 = 1867 = 0x74b */
    uuid_v7(a, 1700000000123456);
    assert_true(uuid_valid(a));
    assert_memory_equal(a, "018bcfe5-687b-774b-", 19);
    assert_non_null(strchr("89ab", a[19])); /* RFC 9562 variant */
    uuid_v7(b, 1700000000123456);
    assert_memory_equal(b, a, 19);
    assert_string_not_equal(a, b); /* the last 62 bits are random */
    /* a microsecond later sorts after, across a millisecond's end and a carry into the seconds */
    static const int64_t at[] = {1700000000123456, 1700000000123457, 1700000000123999,
                                 1700000000124000, 1700000000999999, 1700000001000000,
                                 4102444800000000};
    for (size_t i = 1; i < sizeof at / sizeof at[0]; i++) {
        uuid_v7(a, at[i - 1]);
        uuid_v7(b, at[i]);
        assert_true(strcmp(a, b) < 0);
    }
    uuid_v7(a, -5); /* before the epoch: the epoch, still well formed */
    assert_memory_equal(a, "00000000-0000-7000-", 19);
}

/* ---- json ---- */

static void test_json_parse_errors(void **state)
{
    (void)state;
    struct sk_err e = {0};
    const char *text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    assert_null(json_parse(text, strlen(text), "body", &e));
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.field, "body");
    assert_contains(e.msg, "malformed JSON at line 3, column");
    assert_contains(e.msg, "(position ");

    sk_err_clear(&e);
    assert_null(json_parse("{\"a\":1,\"a\":2}", 13, "x", &e)); /* duplicate keys are refused */
    assert_contains(e.msg, "malformed JSON at line 1");
    assert_contains(e.msg, "duplicate");

    sk_err_clear(&e);
    assert_null(json_parse("", 0, "x", &e));
    assert_contains(e.msg, "malformed JSON");

    sk_err_clear(&e); /* said in our words, not by the name of jansson's option */
    const char *nul = "[\"a\\u0000b\"]";
    assert_null(json_parse(nul, strlen(nul), "x", &e));
    assert_contains(e.msg, "\\u0000 (a NUL character) is not allowed in strings");
    assert_null(strstr(e.msg, "JSON_ALLOW_NUL"));

    /* only len bytes are read: the text need not end with a NUL */
    json_t *v = json_parse("[1,2]garbage", 5, "x", NULL);
    assert_non_null(v);
    assert_json_eq(v, "[1,2]");
    json_decref(v);
    v = json_parse("42", 2, "x", NULL); /* any value, not only containers */
    assert_true(json_is_integer(v));
    json_decref(v);
}

static void test_json_helpers(void **state)
{
    (void)state;
    json_t *errs = json_array();
    json_errs_add(errs, "a", "first %d", 1);
    json_errs_add(errs, "b", "other");
    json_errs_add(errs, "a", "second");
    json_errs_add(errs, "a", "first %d", 1); /* two checks finding one fault: said once */
    assert_int_equal(json_array_size(errs), 2); /* same field merged */
    assert_json_eq(errs, "[{\"field\":\"a\",\"messages\":[\"first 1\",\"second\"]},"
                         "{\"field\":\"b\",\"messages\":[\"other\"]}]");
    /* never lost when not UTF-8 (a value quoted from the input, a name cut short to fit):
     * repaired, the rest of the text kept */
    json_errs_add(errs, "c", "%s", "bad \xff utf8");
    assert_err_field(errs, "c", "bad \xef\xbf\xbd utf8");
    json_errs_add(errs, "schedule.tim\xc3", "unknown field");
    assert_int_equal(json_array_size(errs), 4);
    assert_err_field(errs, "schedule.tim\xef\xbf\xbd", "unknown field");
    json_decref(errs);
    /* at most 100 fields and 20 messages a field, the rest counted; a long field name cut at
     * 200 bytes, never within a character */
    errs = json_array();
    for (int i = 0; i < 20 + 3; i++) json_errs_add(errs, "same", "problem %d", i);
    char name[16];
    for (int i = 1; i < 100 + 5; i++) {
        snprintf(name, sizeof name, "f%d", i);
        json_errs_add(errs, name, "unknown field");
    }
    assert_int_equal(json_array_size(errs), 101);
    json_t *same = json_object_get(json_array_get(errs, 0), "messages");
    assert_int_equal(json_array_size(same), 21);
    assert_string_equal(json_string_value(json_array_get(same, 19)), "problem 19");
    assert_string_equal(json_string_value(json_array_get(same, 20)),
                        "and 3 more problems of this field, not listed");
    assert_string_equal(json_str(json_array_get(errs, 99), "field"), "f99");
    assert_err_field(errs, "\xe2\x80\xa6", "and 5 more fields with errors, not listed");
    json_decref(errs);
    errs = json_array();
    char longname[300];
    memset(longname, 'x', 199);
    strcpy(longname + 199, "\xc3\xa9tail"); /* é across the 200th byte */
    json_errs_add(errs, longname, "unknown field");
    const char *cut = json_str(json_array_get(errs, 0), "field");
    assert_int_equal(strlen(cut), 199 + 3);
    assert_string_equal(cut + 199, "\xe2\x80\xa6");
    json_decref(errs);

    json_t *o = J("{\"s\":\"x\",\"n\":1,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,"
                  "\"a\":[],\"o\":{},\"e\":\"\"}");
    assert_string_equal(json_str(o, "s"), "x");
    assert_null(json_str(o, "n"));
    assert_null(json_str(o, "missing"));
    static const struct {
        const char *key, *type;
        bool empty;
    } cases[] = {{"s", "string", false}, {"n", "integer", false}, {"r", "number", false},
                 {"t", "boolean", false}, {"f", "boolean", false}, {"z", "null", true},
                 {"a", "array", true},    {"o", "object", true},   {"e", "string", true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = json_object_get(o, cases[i].key);
        assert_string_equal(json_type_name(v), cases[i].type);
        assert_int_equal(json_is_empty(v), cases[i].empty);
    }
    assert_true(json_is_empty(NULL));
    char *d = json_dump(json_object_get(o, "a"));
    assert_string_equal(d, "[]");
    free(d);
    d = json_dump(NULL);
    assert_string_equal(d, "null");
    free(d);
    json_decref(o);
}

static void test_cidr_lists(void **state)
{
    (void)state;
    struct cidr_list l = {NULL, 0};
    char bad[64];
    assert_null(cidr_list_parse(" 127.0.0.1 ,10.0.0.0/8,\t::1, fd00::/8, 192.168.1.77/24, ", &l, bad,
                                sizeof bad));
    assert_int_equal(l.n, 5);
    assert_true(cidr_list_has(&l, "127.0.0.1"));
    assert_false(cidr_list_has(&l, "127.0.0.2"));
    assert_true(cidr_list_has(&l, "10.255.0.1"));
    assert_false(cidr_list_has(&l, "11.0.0.1"));
    assert_true(cidr_list_has(&l, "192.168.1.3")); /* host bits of 192.168.1.77/24 cleared */
    assert_false(cidr_list_has(&l, "192.168.2.3"));
    assert_true(cidr_list_has(&l, "::1"));
    assert_false(cidr_list_has(&l, "::2"));
    assert_true(cidr_list_has(&l, "fdab:1::9"));
    assert_false(cidr_list_has(&l, "fe80::1"));
    assert_true(cidr_list_has(&l, "::ffff:10.0.0.9")); /* IPv4 as a dual-stack socket shows it */
    assert_false(cidr_list_has(&l, "not an address"));
    assert_false(cidr_list_has(&l, ""));
    /* prefixes that are not whole bytes */
    assert_null(cidr_list_parse("172.16.0.0/12,2001:db8::/33", &l, bad, sizeof bad));
    assert_true(cidr_list_has(&l, "172.31.255.255"));
    assert_false(cidr_list_has(&l, "172.32.0.0"));
    assert_true(cidr_list_has(&l, "2001:db8:7fff::1"));
    assert_false(cidr_list_has(&l, "2001:db8:8000::1"));
    assert_null(cidr_list_parse("0.0.0.0/0", &l, bad, sizeof bad));
    assert_true(cidr_list_has(&l, "203.0.113.1"));
    assert_false(cidr_list_has(&l, "2001:db8::1")); /* all of IPv4 is not IPv6 */
    /* refused, naming the item; the list before stays */
    static const struct {
        const char *text, *bad, *why;
    } no[] = {
        {"127.0.0.1, localhost", "localhost", "not an IP address or network"},
        {"10.0.0.0/33", "10.0.0.0/33", "the prefix length must be 0 to 32"},
        {"::/129", "::/129", "the prefix length must be 0 to 128"},
        {"10.0.0.0/", "10.0.0.0/", "the prefix length must be 0 to 32"},
        {"10.0.0.0/8x", "10.0.0.0/8x", "the prefix length must be 0 to 32"},
        {"1.2.3.4,,5.6.7.8", "", "an empty item between commas"},
        {"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", "write an IPv4 network as a.b.c.d/N"},
        {"10.0.0.1 10.0.0.2", "10.0.0.1 10.0.0.2", "not an IP address or network"},
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        const char *why = cidr_list_parse(no[i].text, &l, bad, sizeof bad);
        assert_non_null(why);
        assert_string_equal(why, no[i].why);
        assert_string_equal(bad, no[i].bad);
        assert_int_equal(l.n, 1);
    }
    assert_null(cidr_list_parse("", &l, bad, sizeof bad));
    assert_int_equal(l.n, 0);
    assert_false(cidr_list_has(&l, "127.0.0.1"));
    cidr_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse_formats),
        cmocka_unit_test(test_time_parse_fraction),
        cmocka_unit_test(test_time_parse_offsets),
        cmocka_unit_test(test_time_parse_dates),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_whole),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_utf8_fold_and_blank),
        cmocka_unit_test(test_utf8_fold_every_code_point),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_fmt_int),
        cmocka_unit_test(test_buf_json_string),
        cmocka_unit_test(test_json_write),
        cmocka_unit_test(test_map_basic),
        cmocka_unit_test(test_map_hash_spread),
        cmocka_unit_test(test_map_growth_and_iteration),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_uuid_v7),
        cmocka_unit_test(test_json_parse_errors),
        cmocka_unit_test(test_json_helpers),
        cmocka_unit_test(test_cidr_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
