/* logcap: child output to log lines and status updates; see logcap.h. */
#include "logcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "model.h"
#include "secrets.h"

void logcap_init(struct logcap *c, int64_t next_seq, int64_t cap, size_t line_max)
{
    memset(c, 0, sizeof *c);
    c->next_seq = next_seq;
    c->cap = cap;
    /* at least a character's longest UTF-8 sequence, so that a split never cuts one */
    c->line_max = line_max ? (line_max < 4 ? 4 : line_max) : 16384;
}

void logcap_release(struct logcap *c)
{
    buf_free(&c->partial[0]);
    buf_free(&c->partial[1]);
    store_log_free(c->pending, c->npending);
    for (size_t i = 0; i < c->ntail; i++) free(c->tail[i]);
    json_decref(c->mask);
    memset(c, 0, sizeof *c);
}

static void push(struct logcap *c, int level, int stream, char *msg, int64_t now)
{
    if (c->npending == c->cpending) {
        c->cpending = c->cpending ? c->cpending * 2 : 32;
        c->pending = xrealloc(c->pending, c->cpending * sizeof *c->pending);
    }
    struct log_line *l = &c->pending[c->npending++];
    l->seq = c->next_seq++;
    l->ts = now;
    l->level = level;
    l->stream = stream;
    l->message = msg;
}

/* A copy of s cut to at most max bytes, never inside a character. */
static char *cut_copy(const char *s, size_t max)
{
    size_t len = strlen(s);
    return xstrndup(s, len > max ? utf8_whole(s, max) : len);
}

static void remember_error(struct logcap *c, const char *msg)
{
    if (c->ntail == LOGCAP_TAIL) {
        free(c->tail[0]);
        memmove(c->tail, c->tail + 1, (LOGCAP_TAIL - 1) * sizeof *c->tail);
        c->ntail--;
    }
    c->tail[c->ntail++] = cut_copy(msg, 1000);
}

/* Stores one line (raw bytes, any encoding) under the cap. A line costs its bytes and one
 * more, its newline: else empty lines, which cost a stored row each, would pass it free. */
static void emit(struct logcap *c, int level, int stream, const char *p, size_t n, int64_t now)
{
    if (c->truncated) return;
    int64_t cost = (int64_t)n + 1;
    if (c->bytes + cost > c->cap) {
        c->truncated = true;
        char *m = xasprintf("log truncated: the run's output passed the cap of %lld bytes; "
                            "further output is discarded (the task keeps running)",
                            (long long)c->cap);
        push(c, LL_WARNING, STREAM_SKED, m, now);
        return;
    }
    c->bytes += cost;
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, p, n);
    char *msg = buf_steal(&b);
    if (c->mask) msg = secrets_mask(msg, c->mask);
    if (level >= LL_ERROR) remember_error(c, msg);
    push(c, level, stream, msg, now);
}

/* Level from an sd-daemon "<N>" prefix, which is removed from the line. */
static int prefix_level(const char **p, size_t *n, int dflt)
{
    const char *s = *p;
    if (*n >= 3 && s[0] == '<' && s[1] >= '0' && s[1] <= '7' && s[2] == '>') {
        static const int map[8] = {LL_CRITICAL, LL_CRITICAL, LL_CRITICAL, LL_ERROR,
                                   LL_WARNING,  LL_INFO,     LL_INFO,     LL_DEBUG};
        int lvl = map[s[1] - '0'];
        *p += 3;
        *n -= 3;
        return lvl;
    }
    return dflt;
}

/*
 * One piece of stream's output: a whole line (ended by a newline or the stream's end) or, for
 * a line longer than line_max, one of its parts. Only a line's start may carry a level prefix
 * and only its end a carriage return; its later parts keep the level of its first.
 */
static void line_out(struct logcap *c, int stream, const char *p, size_t n, bool whole,
                     int64_t now)
{
    int s = stream == STREAM_STDERR;
    if (whole && n && p[n - 1] == '\r') n--;
    int lvl = c->cont[s] ? c->cont_level[s]
                         : prefix_level(&p, &n, stream == STREAM_STDERR ? LL_ERROR : LL_INFO);
    emit(c, lvl, stream, p, n, now);
    c->cont[s] = !whole;
    c->cont_level[s] = lvl;
}

void logcap_feed(struct logcap *c, int stream, const char *data, size_t n, int64_t now)
{
    struct buf *part = &c->partial[stream == STREAM_STDERR];
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        size_t len = part->len + take;
        /* a carriage return at the line's end is dropped, so it does not count toward
         * line_max: one after line_max bytes waits in part for the newline that may follow
         * (part then holds line_max + 1 bytes) */
        char last = take ? data[take - 1] : part->len ? part->data[part->len - 1] : 0;
        /* split over-long lines at line_max, between characters */
        if (len > c->line_max && !(len == c->line_max + 1 && last == '\r')) {
            size_t room = part->len < c->line_max ? c->line_max - part->len : 0;
            buf_append(part, data, room);
            size_t cut = utf8_whole(part->data, c->line_max);
            line_out(c, stream, part->data, cut, false, now);
            memmove(part->data, part->data + cut, part->len - cut);
            part->len -= cut;
            data += room;
            n -= room;
            continue;
        }
        if (!nl) {
            buf_append(part, data, n);
            return;
        }
        if (part->len) {
            buf_append(part, data, take);
            line_out(c, stream, part->data, part->len, true, now);
            buf_reset(part);
        } else {
            line_out(c, stream, data, take, true, now);
        }
        data += take + 1;
        n -= take + 1;
    }
}

void logcap_eof(struct logcap *c, int stream, int64_t now)
{
    struct buf *part = &c->partial[stream == STREAM_STDERR];
    if (part->len) line_out(c, stream, part->data, part->len, true, now);
    buf_reset(part);
    c->cont[stream == STREAM_STDERR] = false;
}

void logcap_line(struct logcap *c, int level, int stream, const char *msg, int64_t now)
{
    emit(c, level, stream, msg, strlen(msg), now);
}

size_t logcap_take(struct logcap *c, struct log_line **lines)
{
    size_t n = c->npending;
    *lines = c->pending;
    c->pending = NULL;
    c->npending = c->cpending = 0;
    return n;
}

char *logcap_tail(const struct logcap *c)
{
    if (!c->ntail) return NULL;
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < c->ntail; i++) buf_printf(&b, "%s%s", i ? "\n" : "", c->tail[i]);
    return buf_steal(&b);
}

void status_update_release(struct status_update *u)
{
    json_decref(u->progress);
    json_decref(u->output);
    free(u->message);
    memset(u, 0, sizeof *u);
}

static int count_field(json_t *obj, const char *key, int64_t *out, const char *ctx,
                       struct sk_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 1; /* absent */
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        char f[64];
        snprintf(f, sizeof f, "%s.%s", ctx, key);
        return sk_err_set(e, -EINVAL, f, "must be a non-negative integer");
    }
    *out = json_integer_value(v);
    return 0;
}

int logcap_status_parse(const char *line, size_t n, struct status_update *u, struct sk_err *e)
{
    memset(u, 0, sizeof *u);
    json_t *doc = json_parse(line, n, "status", e);
    if (!doc) return -EINVAL;
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = sk_err_set(e, -EINVAL, "status", "a status line must be a JSON object");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "progress") == 0) {
            if (!json_is_object(v)) {
                rc = sk_err_set(e, -EINVAL, "progress", "must be an object {\"done\",\"total\"}");
                goto out;
            }
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                if (strcmp(pk, "done") != 0 && strcmp(pk, "total") != 0) {
                    char f[80];
                    snprintf(f, sizeof f, "progress.%.60s", pk);
                    rc = sk_err_set(e, -EINVAL, f, "unknown key (done, total)");
                    goto out;
                }
            }
            int64_t done = 0, total = -1;
            int r1 = count_field(v, "done", &done, "progress", e);
            int r2 = count_field(v, "total", &total, "progress", e);
            if (r1 < 0 || r2 < 0) {
                rc = -EINVAL;
                goto out;
            }
            if (r1 == 1) {
                rc = sk_err_set(e, -EINVAL, "progress.done", "is required");
                goto out;
            }
            if (total >= 0 && done > total) {
                rc = sk_err_set(e, -EINVAL, "progress.done", "must not exceed progress.total");
                goto out;
            }
            u->progress = total >= 0 ? json_pack("{s:I,s:I}", "done", (json_int_t)done, "total",
                                                 (json_int_t)total)
                                     : json_pack("{s:I,s:n}", "done", (json_int_t)done, "total");
        } else if (strcmp(k, "entries") == 0) {
            if (!json_is_object(v)) {
                rc = sk_err_set(e, -EINVAL, "entries", "must be an object of counters");
                goto out;
            }
            const char *names[] = {"total", "inserted", "updated", "errored"};
            int64_t *dst[] = {&u->total, &u->inserted, &u->updated, &u->errored};
            for (int i = 0; i < 4; i++) *dst[i] = -1;
            const char *ek;
            json_t *ev;
            json_object_foreach(v, ek, ev)
            {
                bool known = false;
                for (int i = 0; i < 4; i++) known = known || strcmp(ek, names[i]) == 0;
                if (!known) {
                    char f[80];
                    snprintf(f, sizeof f, "entries.%.60s", ek);
                    rc = sk_err_set(e, -EINVAL, f,
                                    "unknown counter (total, inserted, updated, errored)");
                    goto out;
                }
            }
            for (int i = 0; i < 4; i++) {
                if (count_field(v, names[i], dst[i], "entries", e) < 0) {
                    rc = -EINVAL;
                    goto out;
                }
            }
            /* each of the others counts some of the entries: not more than total, when this
             * line names both (counters of separate lines may catch up with each other) */
            for (int i = 1; i < 4 && u->total >= 0; i++) {
                if (*dst[i] > u->total) {
                    char f[32];
                    snprintf(f, sizeof f, "entries.%s", names[i]);
                    rc = sk_err_set(e, -EINVAL, f, "must not exceed entries.total");
                    goto out;
                }
            }
            u->has_entries = true;
        } else if (strcmp(k, "message") == 0) {
            if (!json_is_string(v)) {
                rc = sk_err_set(e, -EINVAL, "message", "must be a string");
                goto out;
            }
            u->message = cut_copy(json_string_value(v), 64 * 1024);
        } else if (strcmp(k, "output") == 0) {
            if (json_depth(v, RUN_OUTPUT_MAX_DEPTH) > RUN_OUTPUT_MAX_DEPTH) {
                rc = sk_err_set(e, -EINVAL, "output",
                                "nested deeper than %d levels; pass such a value as JSON text in "
                                "a string",
                                RUN_OUTPUT_MAX_DEPTH);
                goto out;
            }
            u->output = json_incref(v);
        } else {
            rc = sk_err_set(e, -EINVAL, k, "unknown key (progress, entries, message, output)");
            goto out;
        }
    }
out:
    json_decref(doc);
    if (rc) status_update_release(u);
    return rc;
}

/* p[0..n) as one printable line: invalid UTF-8 and NUL bytes as U+FFFD, control characters
 * (NUL too) as \u00XX. */
static void quote_all(struct buf *out, const char *p, size_t n)
{
    /* a NUL is escaped like any control character, not made U+FFFD with invalid bytes */
    struct buf clean = BUF_INIT;
    for (const char *end = p + n, *z; p < end; p = z + 1) {
        z = memchr(p, '\0', (size_t)(end - p));
        utf8_sanitize(&clean, p, (size_t)((z ? z : end) - p));
        if (!z) break;
        buf_putc(&clean, '\0');
    }
    for (size_t i = 0; i < clean.len; i++) {
        unsigned char b = (unsigned char)clean.data[i];
        if (b < 0x20 || b == 0x7f)
            buf_printf(out, "\\u%04x", b);
        else if (b == 0xc2 && i + 1 < clean.len && (unsigned char)clean.data[i + 1] < 0xa0)
            buf_printf(out, "\\u%04x", (unsigned char)clean.data[++i]); /* C1: U+0080-U+009F */
        else
            buf_putc(out, (char)b);
    }
    buf_free(&clean);
}

/* The shortest start of a secret that a note shows as ***: a part of the task's text that was
 * cut short before the note was made (a long key, a JSON parser's "near" token) may end with
 * one. */
#define SECRET_START_MIN 6

/* text with each run of it that matches the start of one of values' strings, at least
 * SECRET_START_MIN bytes of it and whole characters, shown as *** (a whole secret was masked
 * already). For text cut from what the task wrote only: a secret's start may be a word. */
static char *mask_starts(char *text, const json_t *values)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n < SECRET_START_MIN) continue;
        char start[SECRET_START_MIN + 1];
        memcpy(start, s, SECRET_START_MIN);
        start[SECRET_START_MIN] = '\0';
        struct buf b = BUF_INIT;
        const char *p = text, *hit;
        bool found = false;
        while ((hit = strstr(p, start))) {
            size_t k = SECRET_START_MIN;
            while (k < n && hit[k] == s[k]) k++;
            while (k > 0 && ((unsigned char)hit[k] & 0xc0) == 0x80) k--; /* not in a character */
            buf_append(&b, p, (size_t)(hit - p));
            if (k >= SECRET_START_MIN) {
                buf_append(&b, "***", 3);
                found = true;
            } else {
                buf_append(&b, hit, k ? k : 1);
            }
            p = hit + (k ? k : 1);
        }
        if (!found) {
            buf_free(&b);
            continue;
        }
        buf_puts(&b, p);
        free(text);
        text = buf_steal(&b);
    }
    return text;
}

/* text (sked's words and what the task wrote) with the run's secrets masked; from its byte from
 * on, task text that may have been cut short: starts of secrets masked there too. */
static char *mask_note_part(const char *text, size_t from, const json_t *mask, const json_t *forms)
{
    char *t = secrets_mask(xstrdup(text), mask);
    size_t len = strlen(t);
    if (from >= len) return t;
    char *tail = mask_starts(mask_starts(xstrdup(t + from), mask), forms);
    t[from] = '\0';
    char *out = xasprintf("%s%s", t, tail);
    free(t);
    free(tail);
    return out;
}

/* Where task text starts in the field e names: a key the task wrote (an unknown one, or one
 * under progress or entries), else nowhere (strlen: sked's own name of a field). */
static size_t field_task_text(const char *field)
{
    static const char *const own[] = {"status", "progress", "entries", "message", "output",
                                      NULL};
    for (const char *const *o = own; *o; o++)
        if (strcmp(field, *o) == 0) return strlen(field);
    if (strncmp(field, "progress.", 9) == 0) return 9;
    if (strncmp(field, "entries.", 8) == 0) return 8;
    return 0;
}

/* Where the token a JSON parser quotes starts in its message ("... near 'TOKEN'"), else the
 * message's end. */
static size_t msg_task_text(const char *msg)
{
    const char *near = strstr(msg, " near '");
    return near ? (size_t)(near - msg) + 7 : strlen(msg);
}

char *logcap_status_ignored(const struct logcap *c, const char *line, size_t n,
                            const struct sk_err *e)
{
    /* the whole line is quoted and its secrets masked before it is cut: a secret cut short
     * would not be found whole, and its start would be shown */
    struct buf q = BUF_INIT;
    quote_all(&q, line, n);
    char *quoted = buf_steal(&q);
    json_t *forms = NULL; /* the secrets as quoted (a tab in one is \u0009 here) */
    if (c->mask) {
        forms = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(c->mask, i, v)
        {
            struct buf f = BUF_INIT;
            quote_all(&f, json_string_value(v), json_string_length(v));
            json_array_append_new(forms, json_stringn(f.data ? f.data : "", f.len));
            buf_free(&f);
        }
        quoted = secrets_mask(secrets_mask(quoted, c->mask), forms);
    }
    size_t len = strlen(quoted), cut = len;
    if (len > LOGCAP_QUOTE_MAX) {
        cut = utf8_whole(quoted, LOGCAP_QUOTE_MAX);
        /* nor inside an escape (\u001b), which the quote writes for a control character */
        for (size_t back = 1; back < 6 && back <= cut; back++)
            if (quoted[cut - back] == '\\' && quoted[cut - back + 1] == 'u' && cut - back + 6 > cut) {
                cut -= back;
                break;
            }
    }
    char *field = xstrdup(e->field), *msg = xstrdup(e->msg);
    if (forms) {
        char *f = mask_note_part(field, field_task_text(field), c->mask, forms);
        char *m = mask_note_part(msg, msg_task_text(msg), c->mask, forms);
        free(field);
        free(msg);
        field = f;
        msg = m;
        json_decref(forms);
    }
    /* the key and the parser's words may quote the line's own bytes: escaped as the line is */
    struct buf b = BUF_INIT, fq = BUF_INIT, mq = BUF_INIT;
    quote_all(&fq, field, strlen(field));
    quote_all(&mq, msg, strlen(msg));
    /* a fault of the whole line (no JSON object) names no field */
    if (strcmp(field, "status") == 0)
        buf_printf(&b, "ignored status line: %s; the line: ", buf_cstr(&mq));
    else
        buf_printf(&b, "ignored status line: %s: %s; the line: ", buf_cstr(&fq), buf_cstr(&mq));
    buf_free(&fq);
    buf_free(&mq);
    buf_append(&b, quoted, cut);
    if (cut < len) buf_puts(&b, "\xe2\x80\xa6");
    free(quoted);
    free(field);
    free(msg);
    return buf_steal(&b);
}
