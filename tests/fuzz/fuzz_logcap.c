/*
 * fuzz_logcap: what a task writes to stdout and stderr, in whatever pieces the pipes deliver,
 * becoming its run's log. The input is a line length limit, a log cap, then chunks: a byte
 * (its low bit the stream, the rest the chunk's length) and that many bytes. Every line taken
 * must be valid UTF-8 without a newline or NUL, numbered one after the other, of a known level
 * and stream. And nothing may be lost or altered: where a stream is valid UTF-8 without NUL
 * or carriage return and no line of it starts with a level prefix, and the cap was not
 * reached, its lines put end to end are its bytes less the newlines, however long its lines.
 */
#include <stdbool.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "fuzz.h"
#include "logcap.h"
#include "model.h"

/* Whether a stream's bytes must come back whole: see the top of the file. */
static bool plain(const struct buf *b)
{
    if (b->len == 0) return true;
    if (memchr(b->data, '\0', b->len) || memchr(b->data, '\r', b->len)) return false;
    if (!utf8_valid(b->data, b->len)) return false;
    for (size_t i = 0; i < b->len; i++) {
        bool line_start = i == 0 || b->data[i - 1] == '\n';
        if (line_start && i + 2 < b->len && b->data[i] == '<' && b->data[i + 1] >= '0' &&
            b->data[i + 1] <= '7' && b->data[i + 2] == '>')
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 64 * 1024) return 0;
    size_t line_max = 1 + data[0] % 64;
    int64_t cap = data[1] < 128 ? 1 << 20 : 16 + (data[1] - 128) * 8;
    struct logcap c;
    logcap_init(&c, 7, cap, line_max);
    struct buf in[2] = {BUF_INIT, BUF_INIT}; /* what each stream was fed */
    size_t i = 2;
    while (i < size) {
        int s = data[i] & 1;
        size_t n = data[i] >> 1;
        i++;
        if (n > size - i) n = size - i;
        logcap_feed(&c, s ? STREAM_STDERR : STREAM_STDOUT, (const char *)data + i, n, 1);
        buf_append(&in[s], (const char *)data + i, n);
        i += n;
    }
    logcap_eof(&c, STREAM_STDOUT, 2);
    logcap_eof(&c, STREAM_STDERR, 2);

    struct log_line *lines;
    size_t n = logcap_take(&c, &lines);
    struct buf out[2] = {BUF_INIT, BUF_INIT}; /* each stream's lines end to end */
    for (size_t k = 0; k < n; k++) {
        const char *m = lines[k].message;
        FUZZ_CHECK(m != NULL);
        FUZZ_CHECK(lines[k].seq == 7 + (int64_t)k);
        FUZZ_CHECK(lines[k].level >= LL_DEBUG && lines[k].level < LL_COUNT);
        FUZZ_CHECK(lines[k].stream == STREAM_STDOUT || lines[k].stream == STREAM_STDERR ||
                   lines[k].stream == STREAM_SKED);
        FUZZ_CHECK(!strchr(m, '\n'));
        FUZZ_CHECK(utf8_valid(m, strlen(m)));
        if (lines[k].stream != STREAM_SKED)
            buf_append(&out[lines[k].stream == STREAM_STDERR], m, strlen(m));
    }
    for (int s = 0; s < 2 && !c.truncated; s++) {
        if (!plain(&in[s])) continue;
        struct buf want = BUF_INIT;
        for (size_t k = 0; k < in[s].len; k++)
            if (in[s].data[k] != '\n') buf_putc(&want, in[s].data[k]);
        FUZZ_CHECK(want.len == out[s].len &&
                   (want.len == 0 || memcmp(want.data, out[s].data, want.len) == 0));
        buf_free(&want);
    }
    for (int s = 0; s < 2; s++) {
        buf_free(&in[s]);
        buf_free(&out[s]);
    }
    store_log_free(lines, n);
    logcap_release(&c);
    return 0;
}
