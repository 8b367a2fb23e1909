/* log: sked's own event log on stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "timeutil.h"
#include "utf8.h"

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_TEXT;

void log_setup(enum log_level min, enum log_format fmt)
{
    min_level = min;
    format = fmt;
}

int log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    if (strcmp(s, "warning") == 0) return LOG_WARN;
    return -1;
}

const char *log_q(const char *s)
{
    static _Thread_local char bufs[4][512]; /* the prune and notification threads log too */
    static _Thread_local int next;
    char *out = bufs[next++ & 3];
    size_t o = 0;
    out[o++] = '"';
    for (; s && *s && o < 500; s++) {
        if (*s == '"' || *s == '\\') out[o++] = '\\';
        out[o++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* True when s is a JSON number as written: -?(0|[1-9][0-9]*)(.[0-9]+)? */
static bool json_number_text(const char *s)
{
    if (*s == '-') s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9') s++;
    } else {
        return false;
    }
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == '\0';
}

/* Appends s as a JSON string; bytes that are no UTF-8 (a file name, a child's words) become
 * U+FFFD, so that every line stays JSON. */
static void json_text(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    if (utf8_valid(s, n)) {
        buf_json_stringn(b, s, n);
        return;
    }
    struct buf clean = BUF_INIT;
    utf8_sanitize(&clean, s, n);
    buf_json_stringn(b, clean.data, clean.len);
    buf_free(&clean);
}

/* Converts "a=1 b=\"x y\"" into JSON members: unquoted numbers become JSON numbers, the rest
 * strings. */
static void fields_to_json(struct buf *b, const char *f)
{
    const char *p = f;
    while (*p) {
        bool quoted = false;
        while (*p == ' ') p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ') p++;
        if (*p != '=') break;
        struct buf key = BUF_INIT, val = BUF_INIT;
        buf_append(&key, k, (size_t)(p - k));
        p++;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                buf_putc(&val, *p++);
            }
            if (*p == '"') p++;
            quoted = true;
        } else {
            while (*p && *p != ' ') buf_putc(&val, *p++);
        }
        buf_putc(b, ',');
        json_text(b, buf_cstr(&key));
        buf_putc(b, ':');
        if (!quoted && json_number_text(buf_cstr(&val)))
            buf_puts(b, buf_cstr(&val));
        else
            json_text(b, buf_cstr(&val));
        buf_free(&key);
        buf_free(&val);
    }
}

void log_event(enum log_level lvl, const char *event, const char *fields, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (lvl < min_level) return;
    char ts[TIME_STR_MAX];
    time_format(time_now_us(), ts);
    struct buf f = BUF_INIT, line = BUF_INIT;
    va_list ap;
    va_start(ap, fields);
    buf_vprintf(&f, fields, ap);
    va_end(ap);
    if (format == LOG_JSON) {
        buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, names[lvl]);
        json_text(&line, event);
        fields_to_json(&line, buf_cstr(&f));
        buf_puts(&line, "}\n");
    } else {
        buf_printf(&line, "%s level=%s event=%s%s%s\n", ts, names[lvl], event, f.len ? " " : "",
                   buf_cstr(&f));
    }
    fputs(buf_cstr(&line), stderr);
    buf_free(&f);
    buf_free(&line);
}
