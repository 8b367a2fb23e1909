/*
 * test_logcap: turning a task's raw output into log lines and status updates. Child output
 * arrives in arbitrary chunks, in any encoding and of any size, so the splitting, the level
 * prefixes, the per-line and per-run caps and the status-line parser are pinned here.
 */
#include "unit.h"

#include <errno.h>

#include "base/xalloc.h"
#include "logcap.h"
#include "model.h"

#define NOW INT64_C(1700000000000000)

/* Takes the pending lines of c; the caller frees them with store_log_free. */
static struct log_line *take(struct logcap *c, size_t *n)
{
    struct log_line *lines = NULL;
    *n = logcap_take(c, &lines);
    return lines;
}

static void feed(struct logcap *c, int stream, const char *s)
{
    logcap_feed(c, stream, s, strlen(s), NOW);
}

static void test_split_across_feeds(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 7, 1 << 20, 0);
    feed(&c, STREAM_STDOUT, "hel");
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 0); /* nothing until the line ends */
    store_log_free(l, n);
    feed(&c, STREAM_STDOUT, "lo\nwor");
    feed(&c, STREAM_STDOUT, "ld\n\nlast\n");
    l = take(&c, &n);
    assert_int_equal(n, 4);
    assert_string_equal(l[0].message, "hello");
    assert_string_equal(l[1].message, "world");
    assert_string_equal(l[2].message, ""); /* an empty line is still a line */
    assert_string_equal(l[3].message, "last");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l[i].seq, 7 + (int64_t)i); /* numbered from next_seq */
        assert_true(l[i].ts == NOW);
        assert_int_equal(l[i].stream, STREAM_STDOUT);
        assert_int_equal(l[i].level, LL_INFO);
    }
    store_log_free(l, n);
    l = take(&c, &n); /* taking empties the queue */
    assert_int_equal(n, 0);
    store_log_free(l, n);
    assert_int_equal(c.next_seq, 11);
    logcap_release(&c);
}

static void test_streams_are_separate(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    feed(&c, STREAM_STDOUT, "out-");
    feed(&c, STREAM_STDERR, "err-");
    feed(&c, STREAM_STDOUT, "line\n");
    feed(&c, STREAM_STDERR, "line\n");
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].message, "out-line");
    assert_int_equal(l[0].stream, STREAM_STDOUT);
    assert_int_equal(l[0].level, LL_INFO);
    assert_string_equal(l[1].message, "err-line");
    assert_int_equal(l[1].stream, STREAM_STDERR);
    assert_int_equal(l[1].level, LL_ERROR); /* stderr defaults to ERROR */
    store_log_free(l, n);
    logcap_release(&c);
}

static void test_crlf(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    feed(&c, STREAM_STDOUT, "a\r\nb\r");
    feed(&c, STREAM_STDOUT, "\nc\rd\n"); /* CR split from its LF; a lone CR inside stays */
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].message, "a");
    assert_string_equal(l[1].message, "b");
    assert_string_equal(l[2].message, "c\rd");
    store_log_free(l, n);
    logcap_release(&c);
}

static void test_level_prefixes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int stream, level;
        const char *msg;
    } cases[] = {
        {"<0>emerg", STREAM_STDOUT, LL_CRITICAL, "emerg"},
        {"<1>alert", STREAM_STDOUT, LL_CRITICAL, "alert"},
        {"<2>crit", STREAM_STDOUT, LL_CRITICAL, "crit"},
        {"<3>err", STREAM_STDOUT, LL_ERROR, "err"},
        {"<4>warning", STREAM_STDOUT, LL_WARNING, "warning"},
        {"<5>notice", STREAM_STDERR, LL_INFO, "notice"},
        {"<6>info", STREAM_STDERR, LL_INFO, "info"},
        {"<7>debug", STREAM_STDERR, LL_DEBUG, "debug"},
        {"<8>not a level", STREAM_STDOUT, LL_INFO, "<8>not a level"},
        {"<8>not a level", STREAM_STDERR, LL_ERROR, "<8>not a level"},
        {"<4 no", STREAM_STDOUT, LL_INFO, "<4 no"},
        {" <4>indented", STREAM_STDOUT, LL_INFO, " <4>indented"},
        {"<4>", STREAM_STDOUT, LL_WARNING, ""},
        {"<3><4>twice", STREAM_STDOUT, LL_ERROR, "<4>twice"},
        {"plain", STREAM_STDOUT, LL_INFO, "plain"},
        {"plain", STREAM_STDERR, LL_ERROR, "plain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct logcap c;
        logcap_init(&c, 1, 1 << 20, 0);
        feed(&c, cases[i].stream, cases[i].in);
        feed(&c, cases[i].stream, "\r\n");
        size_t n;
        struct log_line *l = take(&c, &n);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].message, cases[i].msg);
        if (l[0].level != cases[i].level)
            fail_msg("%s: level %d, want %d", cases[i].in, l[0].level, cases[i].level);
        store_log_free(l, n);
        logcap_release(&c);
    }
}

static void test_long_lines_split(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 10);
    feed(&c, STREAM_STDOUT, "abcdefghijklmnopqrstuvwxyz\n");
    feed(&c, STREAM_STDOUT, "0123456789\n"); /* exactly line_max: one line */
    feed(&c, STREAM_STDOUT, "01234");
    feed(&c, STREAM_STDOUT, "56789");
    feed(&c, STREAM_STDOUT, "X\n"); /* the limit reached across feeds */
    size_t n;
    struct log_line *l = take(&c, &n);
    static const char *want[] = {"abcdefghij", "klmnopqrst", "uvwxyz", "0123456789",
                                 "0123456789", "X"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) assert_string_equal(l[i].message, want[i]);
    store_log_free(l, n);

    /* a huge chunk with no newline at all is cut into line_max pieces as it arrives */
    char big[95];
    memset(big, 'q', sizeof big);
    logcap_feed(&c, STREAM_STDERR, big, sizeof big, NOW);
    l = take(&c, &n);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) assert_int_equal(strlen(l[i].message), 10);
    store_log_free(l, n);
    logcap_eof(&c, STREAM_STDERR, NOW);
    l = take(&c, &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].message, "qqqqq");
    store_log_free(l, n);
    logcap_release(&c);

    /* a split falls between characters, a later piece's "<3>" and a piece's last "\r" are
     * text, and every piece has the level of the line's first */
    logcap_init(&c, 1, 1 << 20, 10);
    feed(&c, STREAM_STDOUT, "abcdefgh\xc3\xa9\xc3\xa9\n"); /* "é" would straddle byte 10 */
    feed(&c, STREAM_STDOUT, "<4>0123456<3>x\n");
    feed(&c, STREAM_STDERR, "012345678\r9\r\n");
    feed(&c, STREAM_STDOUT, "\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82");
    logcap_eof(&c, STREAM_STDOUT, NOW);
    l = take(&c, &n);
    static const char *pieces[] = {"abcdefgh\xc3\xa9", "\xc3\xa9", "0123456", "<3>x",
                                   "012345678\r", "9", "\xf0\x9f\x99\x82\xf0\x9f\x99\x82",
                                   "\xf0\x9f\x99\x82"};
    static const int levels[] = {LL_INFO, LL_INFO, LL_WARNING, LL_WARNING,
                                 LL_ERROR, LL_ERROR, LL_INFO, LL_INFO};
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l[i].message, pieces[i]);
        assert_int_equal(l[i].level, levels[i]);
    }
    store_log_free(l, n);
    logcap_release(&c);
}

/* Feeds in[0..n) in pieces cut at cuts[0..ncuts) (ascending), then ends the stream; returns
 * the lines taken. */
static struct log_line *feed_cut(struct logcap *c, const char *in, size_t n, const size_t *cuts,
                                 size_t ncuts, size_t *nlines)
{
    size_t at = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        logcap_feed(c, STREAM_STDOUT, in + at, end - at, NOW);
        at = end;
    }
    logcap_eof(c, STREAM_STDOUT, NOW);
    return take(c, nlines);
}

static void test_crlf_at_line_max(void **state)
{
    (void)state;
    /* a line of exactly line_max bytes ending in "\r\n" is one line, wherever the pipe cuts
     * it: the carriage return it drops does not count toward the limit */
    enum { LEN = 16384 };
    char *in = malloc(LEN + 2);
    assert_non_null(in);
    memset(in, 'b', LEN);
    memcpy(in + LEN, "\r\n", 2);
    for (size_t cut = 0; cut <= LEN + 2; cut++) {
        struct logcap c;
        logcap_init(&c, 1, 1 << 20, 0);
        size_t n;
        struct log_line *l = feed_cut(&c, in, LEN + 2, &cut, 1, &n);
        if (n != 1) fail_msg("cut at %zu: %zu lines, want 1", cut, n);
        assert_int_equal(strlen(l[0].message), LEN);
        assert_true(strspn(l[0].message, "b") == LEN);
        store_log_free(l, n);
        logcap_release(&c);
    }
    /* byte by byte */
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    for (size_t i = 0; i < LEN + 2; i++) logcap_feed(&c, STREAM_STDOUT, in + i, 1, NOW);
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(l[0].message), LEN);
    store_log_free(l, n);
    logcap_release(&c);
    free(in);

    /* the same with a small limit, cut into three pieces at every pair of places; a carriage
     * return past the limit that no newline follows is text, as inside any line */
    static const struct {
        const char *in;
        const char *want[4];
    } cases[] = {
        {"0123456789\r\n", {"0123456789"}},
        {"0123456789\r", {"0123456789"}}, /* the stream's end ends the line as well */
        {"0123456789\r\nab\r\n", {"0123456789", "ab"}},
        {"0123456789\rX\n", {"0123456789", "\rX"}},
        {"0123456789\r\r\n", {"0123456789", "\r"}},
        {"0123456789X\r\n", {"0123456789", "X"}},
        {"01234567\xc3\xa9\r\n", {"01234567\xc3\xa9"}},
        {"012345678\xc3\xa9\r\n", {"012345678", "\xc3\xa9"}},
        {"<4>0123456789\r\n", {"0123456", "789"}}, /* the prefix is part of the line's bytes */
        {"01234567890123456789\r\n", {"0123456789", "0123456789"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].in), nwant = 0;
        while (nwant < 4 && cases[i].want[nwant]) nwant++;
        for (size_t a = 0; a <= len; a++) {
            for (size_t b = a; b <= len; b++) {
                logcap_init(&c, 1, 1 << 20, 10);
                size_t cuts[2] = {a, b};
                l = feed_cut(&c, cases[i].in, len, cuts, 2, &n);
                if (n != nwant) fail_msg("case %zu cut at %zu, %zu: %zu lines", i, a, b, n);
                for (size_t k = 0; k < n; k++)
                    if (strcmp(l[k].message, cases[i].want[k]) != 0)
                        fail_msg("case %zu cut at %zu, %zu: line %zu is \"%s\"", i, a, b, k,
                                 l[k].message);
                store_log_free(l, n);
                logcap_release(&c);
            }
        }
    }
}

static void test_byte_cap(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 12, 0);
    feed(&c, STREAM_STDOUT, "12345\n");    /* a line costs its newline too: 6 */
    feed(&c, STREAM_STDOUT, "<3>67890\n"); /* the prefix does not count, the cap is exact */
    feed(&c, STREAM_STDOUT, "x\n");        /* 14 > 12: truncated from here */
    feed(&c, STREAM_STDOUT, "more\nand more\n");
    feed(&c, STREAM_STDERR, "errors too\n");
    logcap_line(&c, LL_ERROR, STREAM_SKED, "a note", NOW);
    feed(&c, STREAM_STDOUT, "tail");
    logcap_eof(&c, STREAM_STDOUT, NOW);
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].message, "12345");
    assert_string_equal(l[1].message, "67890");
    assert_int_equal(l[2].level, LL_WARNING);
    assert_int_equal(l[2].stream, STREAM_SKED);
    assert_contains(l[2].message, "log truncated");
    assert_contains(l[2].message, "cap of 12 bytes");
    assert_int_equal(l[2].seq, 3);
    assert_true(c.truncated);
    store_log_free(l, n);
    /* still nothing later */
    feed(&c, STREAM_STDOUT, "again\n");
    l = take(&c, &n);
    assert_int_equal(n, 0);
    store_log_free(l, n);
    logcap_release(&c);

    /* logcap_line counts toward the cap too */
    logcap_init(&c, 1, 9, 0);
    logcap_line(&c, LL_INFO, STREAM_SKED, "12345678", NOW);
    logcap_line(&c, LL_INFO, STREAM_SKED, "9", NOW);
    l = take(&c, &n);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].message, "12345678");
    assert_contains(l[1].message, "log truncated");
    store_log_free(l, n);
    logcap_release(&c);
}

/* An empty line is stored as a row like any other: it counts 1 byte, its newline, so that a
 * task printing only empty lines is capped too. */
static void test_empty_lines_count_toward_the_cap(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 10, 0);
    for (int i = 0; i < 20; i++) feed(&c, STREAM_STDOUT, "\n");
    feed(&c, STREAM_STDERR, "\r\n");
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 11);
    for (size_t i = 0; i < 10; i++) assert_string_equal(l[i].message, "");
    assert_contains(l[10].message, "log truncated");
    assert_true(c.truncated);
    store_log_free(l, n);
    logcap_release(&c);
}

static void test_tail(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    char *t = logcap_tail(&c);
    assert_null(t); /* no errors yet */
    feed(&c, STREAM_STDOUT, "info only\n<4>a warning\n");
    feed(&c, STREAM_STDERR, "<6>stderr but info\n");
    assert_null(logcap_tail(&c));
    feed(&c, STREAM_STDERR, "e1\ne2\ne3\n");
    feed(&c, STREAM_STDOUT, "<2>c4\n");
    feed(&c, STREAM_STDERR, "e5\n<3>e6\n");
    logcap_line(&c, LL_ERROR, STREAM_SKED, "e7", NOW);
    feed(&c, STREAM_STDOUT, "info again\n");
    t = logcap_tail(&c);
    assert_string_equal(t, "e3\nc4\ne5\ne6\ne7");
    free(t);
    size_t n;
    struct log_line *l = take(&c, &n);
    store_log_free(l, n);
    t = logcap_tail(&c); /* taking the lines does not forget the tail */
    assert_string_equal(t, "e3\nc4\ne5\ne6\ne7");
    free(t);
    logcap_release(&c);
}

static void test_eof_flushes_partial(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    feed(&c, STREAM_STDOUT, "no newline");
    feed(&c, STREAM_STDERR, "err partial\r");
    logcap_eof(&c, STREAM_STDERR, NOW);
    logcap_eof(&c, STREAM_STDOUT, NOW);
    logcap_eof(&c, STREAM_STDOUT, NOW); /* a second eof adds nothing */
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].message, "err partial");
    assert_int_equal(l[0].level, LL_ERROR);
    assert_string_equal(l[1].message, "no newline");
    store_log_free(l, n);
    logcap_release(&c);
}

static void test_invalid_utf8_repaired(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    const char in[] = "bad \xff byte, NUL \0 here, cut \xe2\x82\n";
    logcap_feed(&c, STREAM_STDOUT, in, sizeof in - 1, NOW);
    size_t n;
    struct log_line *l = take(&c, &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].message, "bad \xef\xbf\xbd byte, NUL \xef\xbf\xbd here, cut "
                                      "\xef\xbf\xbd\xef\xbf\xbd");
    store_log_free(l, n);
    logcap_release(&c);
}

/* ---- status lines ---- */

static int status(const char *line, struct status_update *u, struct sk_err *e)
{
    sk_err_clear(e);
    return logcap_status_parse(line, strlen(line), u, e);
}

static void status_bad(const char *line, const char *field, const char *needle)
{
    struct status_update u;
    struct sk_err e;
    assert_int_equal(status(line, &u, &e), -EINVAL);
    if (strcmp(e.field, field) != 0) fail_msg("%s: field %s, want %s", line, e.field, field);
    if (needle) assert_contains(e.msg, needle);
    /* nothing is left half-filled */
    assert_null(u.progress);
    assert_null(u.message);
    assert_null(u.output);
    assert_false(u.has_entries);
}

static void test_status_parse_keys(void **state)
{
    (void)state;
    struct status_update u;
    struct sk_err e;
    assert_int_equal(status("{\"progress\":{\"done\":3,\"total\":10}}", &u, &e), 0);
    assert_json_eq(u.progress, "{\"done\":3,\"total\":10}");
    assert_false(u.has_entries);
    assert_null(u.message);
    status_update_release(&u);

    assert_int_equal(status("{\"progress\":{\"done\":3}}", &u, &e), 0);
    assert_json_eq(u.progress, "{\"done\":3,\"total\":null}");
    status_update_release(&u);
    assert_int_equal(status("{\"progress\":{\"done\":0,\"total\":null}}", &u, &e), 0);
    assert_json_eq(u.progress, "{\"done\":0,\"total\":null}");
    status_update_release(&u);

    assert_int_equal(status("{\"entries\":{\"total\":5,\"inserted\":3,\"errored\":1}}", &u, &e),
                     0);
    assert_true(u.has_entries);
    assert_int_equal(u.total, 5);
    assert_int_equal(u.inserted, 3);
    assert_int_equal(u.updated, -1); /* not named: the run keeps its current count */
    assert_int_equal(u.errored, 1);
    status_update_release(&u);

    assert_int_equal(status("{\"message\":\"half way \xc3\xa9\"}", &u, &e), 0);
    assert_string_equal(u.message, "half way \xc3\xa9");
    status_update_release(&u);

    assert_int_equal(status("{\"output\":{\"files\":[1,2]}}", &u, &e), 0);
    assert_json_eq(u.output, "{\"files\":[1,2]}");
    status_update_release(&u);
    assert_int_equal(status("{\"output\":null}", &u, &e), 0);
    assert_true(json_is_null(u.output));
    status_update_release(&u);

    /* several keys in one line, with a trailing newline */
    assert_int_equal(status("{\"message\":\"m\",\"progress\":{\"done\":1,\"total\":2},"
                            "\"entries\":{\"updated\":4},\"output\":7}\n",
                            &u, &e),
                     0);
    assert_string_equal(u.message, "m");
    assert_json_eq(u.progress, "{\"done\":1,\"total\":2}");
    assert_int_equal(u.updated, 4);
    assert_int_equal(u.total, -1);
    assert_json_eq(u.output, "7");
    status_update_release(&u);

    /* an empty object is a valid (empty) update */
    assert_int_equal(status("{}", &u, &e), 0);
    assert_null(u.progress);
    assert_false(u.has_entries);
    status_update_release(&u);
}

static void test_status_parse_errors(void **state)
{
    (void)state;
    status_bad("not json", "status", "malformed JSON at line 1");
    status_bad("", "status", "malformed JSON");
    status_bad("[1]", "status", "must be a JSON object");
    status_bad("{\"progres\":{}}", "progres", "unknown key");
    status_bad("{\"progress\":5}", "progress", "must be an object");
    status_bad("{\"progress\":{}}", "progress.done", "is required");
    status_bad("{\"progress\":{\"total\":4}}", "progress.done", "is required");
    status_bad("{\"progress\":{\"done\":-1}}", "progress.done", "non-negative integer");
    status_bad("{\"progress\":{\"done\":1.5}}", "progress.done", "non-negative integer");
    status_bad("{\"progress\":{\"done\":1,\"total\":\"9\"}}", "progress.total",
               "non-negative integer");
    status_bad("{\"entries\":[]}", "entries", "must be an object");
    status_bad("{\"entries\":{\"skipped\":1}}", "entries.skipped", "unknown counter");
    status_bad("{\"entries\":{\"inserted\":-2}}", "entries.inserted", "non-negative integer");
    status_bad("{\"entries\":{\"errored\":true}}", "entries.errored", NULL);
    status_bad("{\"message\":5}", "message", "must be a string");
    status_bad("{\"message\":\"ok\",\"bogus\":1}", "bogus", "unknown key");
    status_bad("{\"output\":1,\"output\":2}", "status", "duplicate");
}

static void test_status_parse_contradictions(void **state)
{
    (void)state;
    /* progress has two keys, like entries' four: anything else refuses the line */
    status_bad("{\"progress\":{\"done\":1,\"total\":2,\"x\":1}}", "progress.x",
               "unknown key (done, total)");
    status_bad("{\"message\":\"m\",\"progress\":{\"done\":1,\"percent\":50}}", "progress.percent",
               "unknown key");
    /* done past total is no progress anyone can show */
    status_bad("{\"progress\":{\"done\":5,\"total\":2}}", "progress.done",
               "must not exceed progress.total");
    status_bad("{\"progress\":{\"done\":1,\"total\":0}}", "progress.done", "must not exceed");
    /* a counter counts some of the entries: not more than the total the same line gives */
    status_bad("{\"entries\":{\"total\":1,\"errored\":5}}", "entries.errored",
               "must not exceed entries.total");
    status_bad("{\"entries\":{\"inserted\":3,\"total\":2}}", "entries.inserted", "must not exceed");
    status_bad("{\"entries\":{\"total\":0,\"updated\":1}}", "entries.updated", "must not exceed");

    struct status_update u;
    struct sk_err e;
    assert_int_equal(status("{\"progress\":{\"done\":2,\"total\":2}}", &u, &e), 0);
    assert_json_eq(u.progress, "{\"done\":2,\"total\":2}");
    status_update_release(&u);
    assert_int_equal(status("{\"progress\":{\"done\":9,\"total\":null}}", &u, &e), 0);
    status_update_release(&u);
    assert_int_equal(status("{\"progress\":{\"done\":0,\"total\":0}}", &u, &e), 0);
    status_update_release(&u);
    /* counters of one line, equal to its total; without a total the line cannot tell (the
     * run's total may come in a later line) */
    assert_int_equal(
        status("{\"entries\":{\"total\":5,\"inserted\":5,\"updated\":5,\"errored\":5}}", &u, &e),
        0);
    status_update_release(&u);
    assert_int_equal(status("{\"entries\":{\"errored\":7}}", &u, &e), 0);
    assert_int_equal(u.errored, 7);
    assert_int_equal(u.total, -1);
    status_update_release(&u);
    assert_int_equal(status("{\"entries\":{\"total\":null,\"errored\":7}}", &u, &e), 0);
    status_update_release(&u);
}

static void test_status_ignored_quotes_the_line(void **state)
{
    (void)state;
    struct status_update u;
    struct sk_err e;
    struct logcap c; /* no secrets */
    logcap_init(&c, 1, 1 << 20, 0);
    const char *line = "{\"bogus\": 1}";
    assert_int_equal(status(line, &u, &e), -EINVAL);
    char *m = logcap_status_ignored(&c, line, strlen(line), &e);
    assert_string_equal(m, "ignored status line: bogus: unknown key (progress, entries, message, "
                           "output); the line: {\"bogus\": 1}");
    free(m);
    /* a line that is no JSON object names no field */
    assert_int_equal(status("[1]", &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, "[1]", 3, &e);
    assert_string_equal(m, "ignored status line: a status line must be a JSON object; the line: [1]");
    free(m);

    /* control characters (NUL too) are shown escaped, invalid UTF-8 repaired */
    const char bad[] = "{\"message\":\"a\tb\x1b[31m\xc2\x9b\xff\0z\r";
    assert_int_equal(logcap_status_parse(bad, sizeof bad - 1, &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, bad, sizeof bad - 1, &e);
    assert_contains(m, "ignored status line: malformed JSON");
    assert_contains(m, "; the line: {\"message\":\"a\\u0009b\\u001b[31m\\u009b\xef\xbf\xbd"
                       "\\u0000z\\u000d");
    assert_false(strchr(m, '\t') || strchr(m, '\r') || strchr(m, '\x1b'));
    free(m);

    /* a long line is cut to its first 200 bytes, between characters, and the cut is marked */
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"message\":\"");
    while (b.len < 198) buf_puts(&b, "x");
    buf_puts(&b, "\xe2\x82\xac\xe2\x82\xac\", \"oops\": 1}"); /* a "€" straddles byte 200 */
    assert_int_equal(status(buf_cstr(&b), &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, b.data, b.len, &e);
    const char *q = strstr(m, "; the line: ");
    assert_non_null(q);
    q += strlen("; the line: ");
    assert_int_equal(strlen(q), 198 + 3); /* 198 bytes, the "€" left out, then "…" */
    assert_int_equal(strncmp(q, b.data, 198), 0);
    assert_string_equal(q + 198, "\xe2\x80\xa6");
    free(m);
    buf_free(&b);

    /* exactly 200 bytes: whole, no mark */
    char ys[LOGCAP_QUOTE_MAX + 1];
    memset(ys, 'y', LOGCAP_QUOTE_MAX);
    ys[LOGCAP_QUOTE_MAX] = '\0';
    m = logcap_status_ignored(&c, ys, LOGCAP_QUOTE_MAX, &e);
    q = strstr(m, "; the line: ") + strlen("; the line: ");
    assert_string_equal(q, ys);
    free(m);

    /* a NUL is escaped as a control character, not taken for an invalid byte */
    static const char nul[] = {'a', '\0', 'b', '\xff', '\0'};
    m = logcap_status_ignored(&c, nul, sizeof nul, &e);
    assert_non_null(strstr(m, "; the line: a\\u0000b\xef\xbf\xbd\\u0000"));
    free(m);
    logcap_release(&c);
}

/* The note quotes what a task wrote: a secret of the run never shows in it, neither whole nor
 * cut short where the note is cut, in a long key, or in the JSON parser's message. */
static void test_status_ignored_masks_secrets(void **state)
{
    (void)state;
    struct logcap c;
    logcap_init(&c, 1, 1 << 20, 0);
    struct buf secret = BUF_INIT;
    buf_puts(&secret, "eyJhbGciOiJIUzI1NiJ9.");
    while (secret.len < 341) buf_puts(&secret, "A1b2C3d4");
    json_t *values = json_array();
    json_array_append_new(values, json_string(buf_cstr(&secret)));
    json_array_append_new(values, json_string("tab\there-secret"));
    c.mask = values;
    struct status_update u;
    struct sk_err e;
    char *lines[] = {
        /* the secret straddles the quote's cut */
        xasprintf("{\"message\":\"calling api with %s\",\"bogus\":1}", buf_cstr(&secret)),
        /* as a key, longer than a field holds */
        xasprintf("{\"%s\":1}", buf_cstr(&secret)),
        /* not JSON: the parser's message quotes the text it stopped near */
        xasprintf("{\"message\": \"%s", buf_cstr(&secret)),
        /* a control character in the secret: quoted as \u0009 */
        xstrdup("{\"message\":\"tab\there-secret\",\"bogus\":1}"),
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        assert_int_equal(status(lines[i], &u, &e), -EINVAL);
        char *m = logcap_status_ignored(&c, lines[i], strlen(lines[i]), &e);
        assert_null(strstr(m, "eyJhbG"));
        assert_null(strstr(m, "A1b2C3"));
        assert_null(strstr(m, "here-secret"));
        assert_non_null(strstr(m, "***"));
        free(m);
        free(lines[i]);
    }
    buf_free(&secret);
    logcap_release(&c); /* frees the mask */

    /* nothing else is masked: sked's own words, a field name, a character half-matched */
    logcap_init(&c, 1, 1 << 20, 0);
    c.mask = json_pack("[s,s]", "status-api-key-1234", "abcde\xc3\xa9-rest");
    const char *plain = "{\"bad\": 1}";
    assert_int_equal(status(plain, &u, &e), -EINVAL);
    char *m = logcap_status_ignored(&c, plain, strlen(plain), &e);
    assert_string_equal(m, "ignored status line: bad: unknown key (progress, entries, message, "
                           "output); the line: {\"bad\": 1}");
    free(m);
    const char *broken = "{\"status\": ";
    assert_int_equal(status(broken, &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, broken, strlen(broken), &e);
    static const char said[] = "ignored status line: malformed JSON";
    assert_true(strncmp(m, said, sizeof said - 1) == 0);
    free(m);
    const char *other = "{\"abcde\xc3\xa8\": 1}"; /* è, where the secret has é */
    assert_int_equal(status(other, &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, other, strlen(other), &e);
    assert_non_null(strstr(m, "ignored status line: abcde\xc3\xa8: unknown key"));
    assert_null(strstr(m, "***"));
    free(m);
    logcap_release(&c);

    /* a cut does not split an escape: 300 NUL bytes are quoted as whole \u0000s */
    logcap_init(&c, 1, 1 << 20, 0);
    char nuls[300] = {0};
    assert_int_equal(logcap_status_parse(nuls, sizeof nuls, &u, &e), -EINVAL);
    m = logcap_status_ignored(&c, nuls, sizeof nuls, &e);
    const char *q = strstr(m, "; the line: ") + strlen("; the line: ");
    size_t ql = strlen(q);
    assert_true(ql > 3 && strcmp(q + ql - 3, "\xe2\x80\xa6") == 0);
    assert_int_equal((ql - 3) % 6, 0);
    for (size_t k = 0; k + 3 < ql; k += 6) assert_int_equal(strncmp(q + k, "\\u0000", 6), 0);
    free(m);
    logcap_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_across_feeds),
        cmocka_unit_test(test_streams_are_separate),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_level_prefixes),
        cmocka_unit_test(test_long_lines_split),
        cmocka_unit_test(test_crlf_at_line_max),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_empty_lines_count_toward_the_cap),
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_eof_flushes_partial),
        cmocka_unit_test(test_invalid_utf8_repaired),
        cmocka_unit_test(test_status_parse_keys),
        cmocka_unit_test(test_status_parse_errors),
        cmocka_unit_test(test_status_parse_contradictions),
        cmocka_unit_test(test_status_ignored_masks_secrets),
        cmocka_unit_test(test_status_ignored_quotes_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
