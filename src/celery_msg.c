/* celery_msg: Celery task, control, result and event messages; see celery_msg.h. */
#include "celery_msg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"

/* 9999-12-31T23:59:59.999999Z: Celery parses expires with a four-digit year */
#define EXPIRES_MAX_US INT64_C(253402300799999999)
/* integral limits below this print as integers ("3", not "3.0") */
#define EXACT_INT_MAX 9007199254740992.0

/* ---- small helpers ---- */

/* A value that goes into headers or Redis keys: non-empty UTF-8 without control characters
 * (a queue name with \x06\x16 would collide with kombu's priority lists). */
static int check_name(const char *s, const char *field, struct sk_err *e)
{
    if (!s || !*s) return sk_err_set(e, -EINVAL, field, "must not be empty");
    if (!utf8_valid(s, strlen(s))) return sk_err_set(e, -EINVAL, field, "must be UTF-8 text");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return sk_err_set(e, -EINVAL, field, "must not contain control characters");
    return 0;
}

static const char *type_name(const json_t *v)
{
    return v ? json_type_name(v) : "missing";
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static char *b64_encode(const char *p, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)p, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

/* Standard alphabet, padding required, nothing ignored: what Python's base64.b64encode (and so
 * kombu) writes. Returns the bytes (caller frees) or NULL. */
static char *b64_decode(const char *s, size_t n, size_t *out_len)
{
    size_t cap = n / 4 * 3 + 3;
    char *bin = xmalloc(cap);
    if (sodium_base642bin((unsigned char *)bin, cap, s, n, NULL, out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(bin);
        return NULL;
    }
    return bin;
}

static char *dump(const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags);
    if (!s) abort(); /* only on allocation failure: every value dumped here is well-formed */
    return s;
}

/* ---- numbers jansson cannot hold ---- */

/* True when s[0..n) is a JSON number that jansson refuses as out of range: an integer beyond
 * int64 or a real beyond double. */
static bool number_out_of_range(const char *s, size_t n)
{
    size_t i = 0;
    bool real = false;
    if (i < n && s[i] == '-') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return false;
    if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') return false;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i < n && s[i] == '.') {
        real = true;
        if (++i >= n || s[i] < '0' || s[i] > '9') return false;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        real = true;
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return false;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i != n) return false;
    char *tok = xstrndup(s, n);
    errno = 0;
    bool out;
    if (real) {
        double d = strtod(tok, NULL);
        out = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    } else {
        (void)strtoll(tok, NULL, 10);
        out = errno == ERANGE;
    }
    free(tok);
    return out;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The length of the escape at s[i] (n bytes in all): 2, 6 for \uXXXX, 12 for a surrogate
 * pair; *refused when jansson refuses what it stands for, a NUL or half of a pair on its own. */
static size_t escape_len(const char *s, size_t n, size_t i, bool *refused)
{
    *refused = false;
    if (i + 6 > n || s[i + 1] != 'u' || hex4(s + i + 2) < 0) return i + 1 < n ? 2 : 1;
    int v = hex4(s + i + 2);
    if (v < 0xD800 || v > 0xDFFF) {
        *refused = v == 0;
        return 6;
    }
    int low = v <= 0xDBFF && i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u'
                  ? hex4(s + i + 8)
                  : -1;
    if (low >= 0xDC00 && low <= 0xDFFF) return 12;
    *refused = true;
    return 6;
}

/*
 * Copies JSON text as Python's json module writes it to out as JSON jansson reads, and returns
 * whether anything changed: a number beyond jansson's range becomes a string of its digits,
 * NaN, Infinity and -Infinity (a float result of nan or inf) the strings "NaN", "Infinity" and
 * "-Infinity", and in strings a \u0000 or a lone surrogate (a NUL or undecodable bytes in an
 * exception's message) U+FFFD. Strings are skipped with their escapes, so digits inside them
 * stay.
 */
static bool from_python(const char *s, size_t n, struct buf *out)
{
    bool changed = false, in_str = false;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (in_str) {
            bool refused = false;
            size_t step = c == '\\' ? escape_len(s, n, i, &refused) : 1;
            if (c == '"') in_str = false;
            if (refused)
                buf_puts(out, "\\ufffd");
            else
                buf_append(out, s + i, step);
            changed = changed || refused;
            i += step;
        } else if (n - i >= 3 && strncmp(s + i, "NaN", 3) == 0) {
            buf_puts(out, "\"NaN\"");
            changed = true;
            i += 3;
        } else if (n - i >= 8 && strncmp(s + i, "Infinity", 8) == 0) {
            buf_puts(out, "\"Infinity\"");
            changed = true;
            i += 8;
        } else if (n - i >= 9 && strncmp(s + i, "-Infinity", 9) == 0) {
            buf_puts(out, "\"-Infinity\"");
            changed = true;
            i += 9;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i + 1;
            while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == 'e' ||
                             s[j] == 'E' || s[j] == '+' || s[j] == '-'))
                j++;
            bool big = number_out_of_range(s + i, j - i);
            if (big) buf_putc(out, '"');
            buf_append(out, s + i, j - i);
            if (big) buf_putc(out, '"');
            changed = changed || big;
            i = j;
        } else {
            in_str = c == '"';
            buf_putc(out, c);
            i++;
        }
    }
    return changed;
}

/* Parses JSON that a Python process wrote. Rather than lose the whole message (and with it a
 * run's status), what Python's json writes and jansson refuses is read as from_python says. */
static json_t *parse_outside(const char *text, size_t len, const char *field, struct sk_err *e)
{
    json_t *v = json_parse(text, len, field, e);
    if (v || !text) return v;
    struct buf raw = BUF_INIT, b = BUF_INIT;
    bool valid = utf8_valid(text, len);
    if (!valid) { /* bytes that are no UTF-8 (not from Python's json, but seen): U+FFFD */
        utf8_sanitize(&raw, text, len);
        text = raw.data;
        len = raw.len;
    }
    if (from_python(text, len, &b) || !valid)
        v = json_parse(b.data ? b.data : text, b.data ? b.len : len, field, NULL);
    buf_free(&b);
    buf_free(&raw);
    if (v) sk_err_clear(e);
    return v; /* when still NULL, e keeps the first attempt's position and reason */
}

/* ---- repr ---- */

size_t celery_cut_len(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n <= max ? n : utf8_whole(s, max);
}

char *celery_repr(const json_t *v)
{
    /* without JSON_COMPACT and with no indent, jansson separates like Python's json.dumps */
    char *s = v ? dump(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) : xstrdup("null");
    size_t n = strlen(s);
    if (n <= CELERY_REPR_MAX) return s;
    size_t k = celery_cut_len(s, CELERY_REPR_MAX);
    char *cut = xasprintf("%.*s...", (int)k, s);
    free(s);
    return cut;
}

/* ---- building ---- */

static json_t *limit_value(double v)
{
    if (v <= 0) return json_null();
    if (v < EXACT_INT_MAX && (double)(json_int_t)v == v) return json_integer((json_int_t)v);
    return json_real(v);
}

/* The kombu Redis envelope around a body, which it base64-encodes as kombu's virtual transport
 * does; takes headers and props, to which it adds body_encoding and delivery_tag. */
static char *envelope_text(const char *body, json_t *headers, json_t *props,
                           const char *delivery_tag)
{
    char *b64 = b64_encode(body, strlen(body));
    json_object_set_new(props, "body_encoding", json_string("base64"));
    json_object_set_new(props, "delivery_tag", json_string(delivery_tag));
    json_t *env = json_object();
    json_object_set_new(env, "body", json_string(b64));
    json_object_set_new(env, "content-encoding", json_string("utf-8"));
    json_object_set_new(env, "content-type", json_string("application/json"));
    json_object_set_new(env, "headers", headers);
    json_object_set_new(env, "properties", props);
    char *text = dump(env, JSON_COMPACT);
    json_decref(env);
    free(b64);
    return text;
}

char *celery_task_envelope(const struct celery_task_msg *m, struct sk_err *e)
{
    if (!m) {
        sk_err_set(e, -EINVAL, "message", "is missing");
        return NULL;
    }
    if (check_name(m->id, "id", e) || check_name(m->task, "task", e) ||
        check_name(m->queue, "queue", e) || check_name(m->origin, "origin", e) ||
        check_name(m->delivery_tag, "delivery_tag", e))
        return NULL;
    if (!json_is_array(m->args)) {
        sk_err_set(e, -EINVAL, "args", "must be an array, not %s", type_name(m->args));
        return NULL;
    }
    if (!json_is_object(m->kwargs)) {
        sk_err_set(e, -EINVAL, "kwargs", "must be an object, not %s", type_name(m->kwargs));
        return NULL;
    }
    /* the arguments are checked as a run takes them (args.c): this holds for whatever else
     * comes here (a run stored by an older version) */
    const char *deep = json_depth(m->args, CELERY_ARGS_MAX_DEPTH) > CELERY_ARGS_MAX_DEPTH
                           ? "args"
                       : json_depth(m->kwargs, CELERY_ARGS_MAX_DEPTH) >
                               CELERY_ARGS_MAX_DEPTH
                           ? "kwargs"
                           : NULL;
    if (deep) {
        sk_err_set(e, -EINVAL, deep,
                   "nested deeper than %d levels, more than a worker's Python json decodes",
                   CELERY_ARGS_MAX_DEPTH);
        return NULL;
    }
    if (!isfinite(m->hard_limit) || !isfinite(m->soft_limit)) {
        sk_err_set(e, -EINVAL, "timelimit", "must be a finite number of seconds");
        return NULL;
    }
    if (m->expires_us < 0 || m->expires_us > EXPIRES_MAX_US) {
        sk_err_set(e, -EINVAL, "expires", "must lie between 1970 and 9999");
        return NULL;
    }

    /* body: [args, kwargs, embed], compact; the real precision that reads back exactly */
    char *args = dump(m->args, JSON_COMPACT);
    char *kwargs = dump(m->kwargs, JSON_COMPACT);
    char *body = xasprintf("[%s,%s,{\"callbacks\":null,\"errbacks\":null,\"chain\":null,"
                           "\"chord\":null}]",
                           args, kwargs);
    free(args);
    free(kwargs);

    json_t *expires = json_null();
    if (m->expires_us) {
        char ts[TIME_STR_MAX];
        time_format(m->expires_us, ts); /* explicit +00:00: Celery assumes UTC only without one */
        expires = json_string(ts);
    }
    char *argsrepr = celery_repr(m->shown_args ? m->shown_args : m->args),
         *kwargsrepr = celery_repr(m->shown_kwargs ? m->shown_kwargs : m->kwargs);
    /* member order as Celery's own client (amqp.py as_task_v2), bytes as test_celery_msg pins */
    json_t *h = json_object();
    json_object_set_new(h, "lang", json_string("py"));
    json_object_set_new(h, "task", json_string(m->task));
    json_object_set_new(h, "id", json_string(m->id));
    json_object_set_new(h, "shadow", json_null());
    json_object_set_new(h, "eta", json_null()); /* sked fires at the time itself (pitfall 5) */
    json_object_set_new(h, "expires", expires);
    json_object_set_new(h, "group", json_null());
    json_object_set_new(h, "group_index", json_null());
    json_object_set_new(h, "retries", json_integer(0));
    json_object_set_new(h, "timelimit",
                        json_pack("[o,o]", limit_value(m->hard_limit), limit_value(m->soft_limit)));
    json_object_set_new(h, "root_id", json_string(m->id));
    json_object_set_new(h, "parent_id", json_null());
    json_object_set_new(h, "argsrepr", json_string(argsrepr));
    json_object_set_new(h, "kwargsrepr", json_string(kwargsrepr));
    json_object_set_new(h, "origin", json_string(m->origin));
    json_object_set_new(h, "ignore_result", json_false());
    free(argsrepr);
    free(kwargsrepr);

    json_t *p = json_object();
    json_object_set_new(p, "correlation_id", json_string(m->id));
    json_object_set_new(p, "reply_to", json_string(""));
    json_object_set_new(p, "delivery_mode", json_integer(2));
    /* direct queues go to the anonymous exchange with the queue as routing key */
    json_object_set_new(p, "delivery_info",
                        json_pack("{s:s,s:s}", "exchange", "", "routing_key", m->queue));
    json_object_set_new(p, "priority", json_integer(0));
    char *text = envelope_text(body, h, p, m->delivery_tag);
    free(body);
    if (celery_envelope_check(text, strlen(text), e) != 0) { /* a bug here, never the worker's */
        free(text);
        return NULL;
    }
    return text;
}

char *celery_pidbox_envelope(const char *method, const json_t *arguments, const char *ticket,
                             const char *reply_oid, int64_t clock, int64_t expires_s,
                             const char *delivery_tag)
{
    if (check_name(method, "method", NULL) || check_name(delivery_tag, "delivery_tag", NULL) ||
        (ticket && check_name(ticket, "ticket", NULL)) ||
        (reply_oid && check_name(reply_oid, "reply_oid", NULL)) ||
        (arguments && !json_is_object(arguments)))
        return NULL;
    /* member order as kombu's Mailbox._publish, bytes as test_celery_msg pins */
    json_t *b = json_object();
    json_object_set_new(b, "method", json_string(method));
    json_object_set_new(b, "arguments", arguments ? json_deep_copy(arguments) : json_object());
    json_object_set_new(b, "destination", json_null()); /* every worker */
    json_object_set_new(b, "pattern", json_null());
    json_object_set_new(b, "matcher", json_null());
    if (ticket) json_object_set_new(b, "ticket", json_string(ticket));
    if (reply_oid)
        json_object_set_new(
            b, "reply_to",
            json_pack("{s:s,s:s}", "exchange", "reply.celery.pidbox", "routing_key", reply_oid));
    char *body = dump(b, JSON_COMPACT);
    json_decref(b);

    json_t *h =
        json_pack("{s:I,s:I}", "clock", (json_int_t)clock, "expires", (json_int_t)expires_s);
    json_t *p = json_object();
    json_object_set_new(p, "delivery_mode", json_integer(2));
    json_object_set_new(p, "delivery_info",
                        json_pack("{s:s,s:s}", "exchange", "celery.pidbox", "routing_key", ""));
    json_object_set_new(p, "priority", json_integer(0));
    char *text = envelope_text(body, h, p, delivery_tag);
    free(body);
    if (celery_envelope_check(text, strlen(text), NULL) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- reading envelopes ---- */

static const char *article_type(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_STRING: return "a string";
    default: return "a value";
    }
}

/* obj[key] when it has type want; otherwise NULL with an error naming path. */
static json_t *member(const json_t *obj, const char *key, json_type want, const char *path,
                      const char *field, struct sk_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        sk_err_set(e, -EINVAL, field, "%s is missing", path);
        return NULL;
    }
    if (json_typeof(v) != want) {
        sk_err_set(e, -EINVAL, field, "%s must be %s, not %s", path, article_type(want),
                   json_type_name(v));
        return NULL;
    }
    return v;
}

/* The envelope's body as bytes (caller frees), base64-decoded when body_encoding says so. A
 * null or absent body_encoding means the body is the text itself, as kombu reads it. */
static char *body_bytes(const json_t *env, const json_t *props, size_t *len, const char *field,
                        struct sk_err *e)
{
    json_t *body = member(env, "body", JSON_STRING, "body", field, e);
    if (!body) return NULL;
    json_t *enc = json_object_get(props, "body_encoding");
    if (!enc || json_is_null(enc)) {
        *len = json_string_length(body);
        return xstrndup(json_string_value(body), *len);
    }
    if (!json_is_string(enc) || strcmp(json_string_value(enc), "base64") != 0) {
        sk_err_set(e, -EINVAL, field, "properties.body_encoding must be \"base64\" or absent");
        return NULL;
    }
    char *bin = b64_decode(json_string_value(body), json_string_length(body), len);
    if (!bin) sk_err_set(e, -EINVAL, field, "body is not valid padded base64");
    return bin;
}

static int check_fixed(const json_t *env, const char *key, const char *want, struct sk_err *e)
{
    const json_t *v = member(env, key, JSON_STRING, key, "envelope", e);
    if (!v) return -EINVAL;
    if (strcmp(json_string_value(v), want) != 0)
        return sk_err_set(e, -EINVAL, "envelope", "%s must be \"%s\"", key, want);
    return 0;
}

/* A "task" header makes it a task message (protocol 2), whose body the worker unpacks as
 * [args, kwargs, embed]; control and event bodies have shapes of their own. */
static int check_task_body(const json_t *headers, const json_t *body, struct sk_err *e)
{
    if (!json_object_get(headers, "task")) return 0;
    if (!json_str(headers, "task") || !json_str(headers, "id"))
        return sk_err_set(e, -EINVAL, "envelope",
                          "headers.task and headers.id of a task message must be strings");
    const json_t *embed = json_array_get(body, 2);
    if (json_array_size(body) != 3 || !json_is_array(json_array_get(body, 0)) ||
        !json_is_object(json_array_get(body, 1)) || !(json_is_object(embed) || json_is_null(embed)))
        return sk_err_set(e, -EINVAL, "envelope",
                          "body of a task message must be [args array, kwargs object, embed]");
    return 0;
}

int celery_envelope_check(const char *text, size_t len, struct sk_err *e)
{
    if (!text) return sk_err_set(e, -EINVAL, "envelope", "is missing");
    json_t *env = json_parse(text, len, "envelope", e);
    if (!env) return -EINVAL;
    int rc = -EINVAL;
    json_t *props, *info;
    if (!json_is_object(env)) {
        sk_err_set(e, -EINVAL, "envelope", "must be a JSON object, not %s", json_type_name(env));
        goto out;
    }
    /* what kombu's QoS and Message read unconditionally, and what Celery accepts */
    if (!member(env, "body", JSON_STRING, "body", "envelope", e) ||
        check_fixed(env, "content-type", "application/json", e) ||
        check_fixed(env, "content-encoding", "utf-8", e) ||
        !member(env, "headers", JSON_OBJECT, "headers", "envelope", e) ||
        !(props = member(env, "properties", JSON_OBJECT, "properties", "envelope", e)) ||
        !member(props, "delivery_tag", JSON_STRING, "properties.delivery_tag", "envelope", e) ||
        !(info = member(props, "delivery_info", JSON_OBJECT, "properties.delivery_info",
                        "envelope", e)) ||
        !member(info, "exchange", JSON_STRING, "properties.delivery_info.exchange", "envelope",
                e) ||
        !member(info, "routing_key", JSON_STRING, "properties.delivery_info.routing_key",
                "envelope", e))
        goto out;
    json_t *enc = json_object_get(props, "body_encoding");
    if (enc && !(json_is_string(enc) && strcmp(json_string_value(enc), "base64") == 0)) {
        sk_err_set(e, -EINVAL, "envelope", "properties.body_encoding must be \"base64\" or absent");
        goto out;
    }
    size_t n;
    char *body = body_bytes(env, props, &n, "envelope", e);
    if (!body) goto out;
    struct sk_err je;
    json_t *doc = json_parse(body, n, "body", &je);
    free(body);
    if (!doc) {
        sk_err_set(e, -EINVAL, "envelope", "body is not JSON: %s", je.msg);
        goto out;
    }
    rc = check_task_body(json_object_get(env, "headers"), doc, e);
    json_decref(doc);
out:
    json_decref(env);
    return rc;
}

static json_t *envelope_body(const char *text, size_t len, const char *field, struct sk_err *e)
{
    if (!text) {
        sk_err_set(e, -EINVAL, field, "envelope is missing");
        return NULL;
    }
    json_t *env = json_parse(text, len, field, e);
    if (!env) return NULL;
    json_t *doc = NULL;
    if (!json_is_object(env)) {
        sk_err_set(e, -EINVAL, field, "envelope must be a JSON object, not %s",
                   json_type_name(env));
        goto out;
    }
    json_t *props = json_object_get(env, "properties");
    if (props && !json_is_object(props)) {
        sk_err_set(e, -EINVAL, field, "properties must be an object, not %s",
                   json_type_name(props));
        goto out;
    }
    /* a body of another content type is not JSON even when it happens to parse */
    json_t *ct = json_object_get(env, "content-type");
    if (ct && !(json_is_string(ct) && strcmp(json_string_value(ct), "application/json") == 0)) {
        sk_err_set(e, -EINVAL, field, "content-type must be \"application/json\"");
        goto out;
    }
    size_t n;
    char *body = body_bytes(env, props, &n, field, e);
    if (!body) goto out;
    struct sk_err je;
    doc = parse_outside(body, n, "body", &je);
    free(body);
    if (!doc) sk_err_set(e, -EINVAL, field, "body is not JSON: %s", je.msg);
out:
    json_decref(env);
    return doc;
}

json_t *celery_envelope_body(const char *text, size_t len, struct sk_err *e)
{
    return envelope_body(text, len, "envelope", e);
}

int celery_envelope_amqp(const char *text, size_t len, struct celery_amqp_parts *out,
                         struct sk_err *e)
{
    memset(out, 0, sizeof *out);
    /* what goes to the broker is what the Redis path would push: the same checks */
    if (celery_envelope_check(text, len, e) != 0) return -EINVAL;
    json_t *env = json_parse(text, len, "envelope", e);
    if (!env) return -EINVAL;
    json_t *props = json_object_get(env, "properties");
    char *bytes = body_bytes(env, props, &out->body_len, "envelope", e);
    if (!bytes) {
        json_decref(env);
        return -EINVAL;
    }
    out->body = xmalloc(out->body_len + 1); /* NUL-terminated as well */
    memcpy(out->body, bytes, out->body_len);
    out->body[out->body_len] = '\0';
    free(bytes);
    out->headers = json_incref(json_object_get(env, "headers"));
    out->correlation_id = dup_or_null(json_str(props, "correlation_id"));
    json_t *pri = json_object_get(props, "priority");
    out->priority = json_is_integer(pri) && json_integer_value(pri) >= 0 &&
                            json_integer_value(pri) <= 255
                        ? (int)json_integer_value(pri)
                        : 0;
    json_decref(env);
    return 0;
}

void celery_amqp_parts_free(struct celery_amqp_parts *p)
{
    if (!p) return;
    free(p->body);
    json_decref(p->headers);
    free(p->correlation_id);
    memset(p, 0, sizeof *p);
}

/* ---- results ---- */

static bool exception_state(const char *status)
{
    return strcmp(status, "FAILURE") == 0 || strcmp(status, "REVOKED") == 0 ||
           strcmp(status, "RETRY") == 0;
}

/* exc_message: Celery stores the exception's args as a list; older clients a string. */
static char *exc_text(const json_t *v)
{
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return xstrdup(json_string_value(v));
    if (!json_is_array(v)) return json_dump(v);
    struct buf b = BUF_INIT;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (i) buf_puts(&b, ", ");
        if (json_is_string(item)) {
            buf_puts(&b, json_string_value(item));
        } else {
            char *s = json_dump(item);
            buf_puts(&b, s);
            free(s);
        }
    }
    return buf_steal(&b);
}

int celery_meta_parse(const char *text, size_t len, struct celery_meta *out, struct sk_err *e)
{
    memset(out, 0, sizeof *out);
    if (!text) return sk_err_set(e, -EINVAL, "meta", "is missing");
    json_t *doc = parse_outside(text, len, "meta", e);
    if (!doc) return -EINVAL;
    int rc = -EINVAL;
    json_t *st = json_object_get(doc, "status");
    if (!json_is_object(doc)) {
        sk_err_set(e, -EINVAL, "meta", "must be a JSON object, not %s", json_type_name(doc));
        goto out;
    }
    if (!member(doc, "status", JSON_STRING, "status", "meta", e)) goto out;
    if (json_string_length(st) == 0) {
        sk_err_set(e, -EINVAL, "meta", "status is empty");
        goto out;
    }
    out->status = xstrdup(json_string_value(st));
    out->task_id = dup_or_null(json_str(doc, "task_id"));
    out->traceback = dup_or_null(json_str(doc, "traceback"));
    json_t *r = json_object_get(doc, "result");
    out->result = r ? json_incref(r) : json_null();
    if (exception_state(out->status) && json_str(r, "exc_type")) {
        out->exc_type = xstrdup(json_str(r, "exc_type"));
        out->exc_message = exc_text(json_object_get(r, "exc_message"));
    }
    const char *done = json_str(doc, "date_done");
    int64_t us;
    /* naive means UTC (Celery writes datetime.utcnow()); later versions add +00:00 */
    if (done && time_parse(done, &us, NULL) == 0) out->date_done = (double)us / 1e6;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

void celery_meta_free(struct celery_meta *m)
{
    if (!m) return;
    free(m->task_id);
    free(m->status);
    json_decref(m->result);
    free(m->traceback);
    free(m->exc_type);
    free(m->exc_message);
    memset(m, 0, sizeof *m);
}

/* ---- events ---- */

/* The events of a message body (taken over): one event object or a list of them. */
static int events_of(json_t *body, struct celery_event **out, size_t *n, struct sk_err *e)
{
    *out = NULL;
    *n = 0;
    if (!body) return -EINVAL;
    int rc = -EINVAL;
    struct celery_event *ev = NULL;
    size_t count = json_is_array(body) ? json_array_size(body) : 1, done = 0;
    if (!json_is_array(body) && !json_is_object(body)) {
        sk_err_set(e, -EINVAL, "event", "body must be an event object or a list of them, not %s",
                   json_type_name(body));
        goto out;
    }
    if (count) ev = xcalloc(count, sizeof *ev);
    for (; done < count; done++) {
        json_t *o = json_is_array(body) ? json_array_get(body, done) : body;
        if (!json_is_object(o)) {
            sk_err_set(e, -EINVAL, "event", "event %zu must be an object, not %s", done,
                       json_type_name(o));
            goto out;
        }
        const char *type = json_str(o, "type");
        if (!type || !*type) {
            sk_err_set(e, -EINVAL, "event", "event %zu has no type", done);
            goto out;
        }
        struct celery_event *x = &ev[done];
        x->type = xstrdup(type);
        x->uuid = dup_or_null(json_str(o, "uuid"));
        x->hostname = dup_or_null(json_str(o, "hostname"));
        json_t *ts = json_object_get(o, "timestamp");
        x->timestamp = json_is_number(ts) ? json_number_value(ts) : 0;
        x->doc = json_incref(o);
    }
    *out = ev;
    *n = count;
    ev = NULL;
    rc = 0;
out:
    celery_events_free(ev, done);
    json_decref(body);
    return rc;
}

int celery_events_parse(const char *text, size_t len, struct celery_event **out, size_t *n,
                        struct sk_err *e)
{
    return events_of(envelope_body(text, len, "event", e), out, n, e);
}

int celery_events_parse_body(const char *text, size_t len, struct celery_event **out,
                             size_t *n, struct sk_err *e)
{
    return events_of(text ? parse_outside(text, len, "event", e)
                          : (sk_err_set(e, -EINVAL, "event", "is missing"), NULL),
                     out, n, e);
}

json_t *celery_body_parse(const char *text, size_t len, struct sk_err *e)
{
    if (!text) {
        sk_err_set(e, -EINVAL, "body", "is missing");
        return NULL;
    }
    return parse_outside(text, len, "body", e);
}

void celery_events_free(struct celery_event *ev, size_t n)
{
    if (!ev) return;
    for (size_t i = 0; i < n; i++) {
        free(ev[i].type);
        free(ev[i].uuid);
        free(ev[i].hostname);
        json_decref(ev[i].doc);
    }
    free(ev);
}

/* ---- broker URLs ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into *out (NULL when empty), as redis-py and kombu unquote it. */
static int userinfo_part(const char *s, size_t n, const char *what, char **out, struct sk_err *e)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            buf_putc(&b, s[i]);
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            buf_free(&b);
            return sk_err_set(e, -EINVAL, "broker", "the %s has a bad %%-escape", what);
        }
        buf_putc(&b, (char)(hi * 16 + lo));
        i += 2;
    }
    *out = b.len ? buf_steal(&b) : NULL;
    buf_free(&b);
    return 0;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* Parses decimal digits s[0..n) into *v when they are all digits and *v <= max. */
static bool number_in(const char *s, size_t n, long max, long *v)
{
    if (n == 0) return false;
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
        if (x > max) return false;
    }
    *v = x;
    return true;
}

/* The host (a name, or an IPv6 address in [...]) and the optional :port of a URL's authority,
 * which ends at end: *host to *host_end (maybe empty), *port set when one is given, *p moved to
 * end. -EINVAL with e set when something else is there (what names its note). */
static int host_port(const char **p, const char *end, const char **host, const char **host_end,
                     int *port, const char *more, struct sk_err *e)
{
    const char *q = *p;
    *host = q;
    if (*q == '[') { /* an IPv6 address */
        *host = ++q;
        while (q < end && (hexval(*q) >= 0 || *q == ':' || *q == '.')) q++;
        if (q >= end || *q != ']')
            return sk_err_set(e, -EINVAL, "broker",
                              "the IPv6 host must be hex digits and ':' in [...]");
        *host_end = q++;
    } else {
        while (q < end && host_char(*q)) q++;
        *host_end = q;
    }
    if (q < end && *q == ':') {
        long n;
        if (!number_in(q + 1, (size_t)(end - q - 1), 65535, &n) || n == 0)
            return sk_err_set(e, -EINVAL, "broker", "the port must be a number from 1 to 65535");
        *port = (int)n;
        q = end;
    }
    if (q != end)
        return sk_err_set(e, -EINVAL, "broker",
                          "the host may hold only letters, digits, '.', '-' and '_'%s", more);
    *p = q;
    return 0;
}

/* Refuses a broker URL's "?..." (p at the '?'): kombu's options (global_keyprefix, ...), of
 * which sked takes none, named when the name reads as one. */
static void url_options_refused(const char *p, struct sk_err *e)
{
    size_t n = strcspn(p + 1, "=&#");
    bool clean = n > 0 && n <= 60;
    for (size_t i = 1; clean && i <= n; i++)
        clean = isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == '-' || p[i] == '.';
    if (clean)
        sk_err_set(e, -EINVAL, "broker", "unknown URL option %.*s (sked takes none)", (int)n,
                   p + 1);
    else
        sk_err_set(e, -EINVAL, "broker", "URL options (?...) are not supported");
}

int redis_url_parse(const char *url, struct redis_url *out, struct sk_err *e)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (!url || !*url) return sk_err_set(e, -EINVAL, "broker", "is empty");
    /* what a Celery app may have instead, said as what it is: a deployment moved to Redis
     * for sked needs to know which part of its URL stands in the way */
    if (strncasecmp(url, "rediss://", 9) == 0)
        return sk_err_set(e, -EINVAL, "broker", "TLS (rediss://) is not supported");
    if (celery_url_is_amqp(url) || strncasecmp(url, "amqps://", 8) == 0)
        return sk_err_set(e, -EINVAL, "broker",
                          "AMQP (RabbitMQ) serves as a broker only: results must be on Redis "
                          "(redis://[[user]:password@]host[:port][/db])");
    if (strncasecmp(url, "rpc://", 6) == 0)
        return sk_err_set(e, -EINVAL, "broker",
                          "the rpc:// result backend (results sent back over AMQP) is not "
                          "supported: results must be on Redis "
                          "(redis://[[user]:password@]host[:port][/db])");
    if (strncasecmp(url, "sentinel://", 11) == 0)
        return sk_err_set(e, -EINVAL, "broker", "Redis Sentinel (sentinel://) is not supported");
    if (strncasecmp(url, "redis://", 8) != 0)
        return sk_err_set(e, -EINVAL, "broker", "must be a URL redis://[[user]:password@]host"
                                                "[:port][/db]");
    const char *p = url + 8;
    /* the authority ends at the first '/', '?' or '#' and the user part at its last '@', as
     * Python's urlsplit reads it (so a password may hold '@', but '/' only as %2F) */
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            sk_err_set(e, -EINVAL, "broker", "the part before '@' must be [user]:password");
            goto fail;
        }
        if (userinfo_part(p, (size_t)(colon - p), "user name", &out->username, e) ||
            userinfo_part(colon + 1, (size_t)(at - colon - 1), "password", &out->password, e))
            goto fail;
        p = at + 1;
    }
    const char *host, *host_end;
    if (host_port(&p, end, &host, &host_end, &out->port, "", e)) goto fail;
    if (host_end == host) {
        sk_err_set(e, -EINVAL, "broker", "the host is empty");
        goto fail;
    }
    size_t digits = 0;
    if (*p == '/') {
        p++;
        digits = strspn(p, "0123456789");
        long db;
        if (digits && !number_in(p, digits, INT_MAX, &db)) {
            sk_err_set(e, -EINVAL, "broker", "the db must be a number from 0 to %d", INT_MAX);
            goto fail;
        }
        if (digits) out->db = (int)db;
        p += digits;
    }
    if (*p == '?') { /* kombu's options (global_keyprefix, ...): sked has none of them */
        url_options_refused(p, e);
        goto fail;
    }
    if (*p) {
        sk_err_set(e, -EINVAL, "broker", "%s",
                   *p == '#' ? "a fragment (#...) is not allowed"
                   : digits  ? "unexpected text after the db number"
                             : "the db must be a number from 0 to 2147483647");
        goto fail;
    }
    out->host = xstrndup(host, (size_t)(host_end - host));
    return 0;
fail:
    redis_url_free(out);
    return -EINVAL;
}

void redis_url_free(struct redis_url *u)
{
    if (!u) return;
    free(u->host);
    free(u->username);
    free(u->password);
    memset(u, 0, sizeof *u);
}

/* ---- AMQP broker URLs ---- */

bool celery_url_is_amqp(const char *url)
{
    return url && (strncasecmp(url, "amqp://", 7) == 0 || strncasecmp(url, "pyamqp://", 9) == 0 ||
                   strncasecmp(url, "amqps://", 8) == 0);
}

/* The TLS options of an amqps:// URL, from p (after its '?') to its end or '#'. */
static int amqp_tls_options(const char *p, struct amqp_url *out, struct sk_err *e)
{
    static const char *const names[] = {"ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile",
                                        "ssl_keyfile"};
    bool seen[4] = {false, false, false, false};
    while (*p && *p != '#') {
        size_t n = strcspn(p, "&#"), k = strcspn(p, "=&#");
        int which = -1;
        for (int i = 0; i < 4; i++)
            if (k == strlen(names[i]) && strncmp(p, names[i], k) == 0) which = i;
        if (which < 0) {
            bool clean = k > 0 && k <= 60;
            for (size_t i = 0; clean && i < k; i++)
                clean = isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == '-' || p[i] == '.';
            if (clean)
                return sk_err_set(e, -EINVAL, "broker",
                                  "unknown URL option %.*s (amqps:// takes ssl_cert_reqs, "
                                  "ssl_ca_certs, ssl_certfile and ssl_keyfile)",
                                  (int)k, p);
            return sk_err_set(e, -EINVAL, "broker",
                              "a URL option is malformed (amqps:// takes ssl_cert_reqs, "
                              "ssl_ca_certs, ssl_certfile and ssl_keyfile)");
        }
        if (seen[which])
            return sk_err_set(e, -EINVAL, "broker", "URL option %s is given twice", names[which]);
        seen[which] = true;
        char *v = NULL;
        if (k >= n || userinfo_part(p + k + 1, n - k - 1, names[which], &v, e) != 0 || !v) {
            if (!e->msg[0]) sk_err_set(e, -EINVAL, "broker", "URL option %s has no value", names[which]);
            free(v);
            return -EINVAL;
        }
        if (which == 0) {
            bool none = strcasecmp(v, "none") == 0 || strcasecmp(v, "CERT_NONE") == 0;
            bool req = strcasecmp(v, "required") == 0 || strcasecmp(v, "CERT_REQUIRED") == 0;
            free(v);
            if (!none && !req)
                return sk_err_set(e, -EINVAL, "broker",
                                  "URL option ssl_cert_reqs must be required or none");
            out->verify = req;
        } else {
            char **dst[] = {NULL, &out->ca_certs, &out->certfile, &out->keyfile};
            *dst[which] = v;
            if (v[0] != '/' || strpbrk(v, "\r\n"))
                return sk_err_set(e, -EINVAL, "broker",
                                  "URL option %s must be an absolute path (/...)", names[which]);
        }
        p += n;
        if (*p == '&') p++;
    }
    if (!out->certfile != !out->keyfile)
        return sk_err_set(e, -EINVAL, "broker",
                          "URL options ssl_certfile and ssl_keyfile go together (the client "
                          "certificate and its key)");
    return 0;
}

int amqp_url_parse(const char *url, struct amqp_url *out, struct sk_err *e)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url) return sk_err_set(e, -EINVAL, "broker", "is empty");
    if (!celery_url_is_amqp(url))
        return sk_err_set(e, -EINVAL, "broker",
                          "must be a URL amqp://[user[:password]@]host[:port][/vhost]");
    out->tls = strncasecmp(url, "amqps://", 8) == 0;
    out->port = out->tls ? 5671 : 5672;
    out->verify = true;
    const char *p = strstr(url, "://") + 3;
    /* as kombu reads it (kombu.utils.url.url_to_parts: urlparse with HTTP semantics): the
     * authority ends at the first '/', '?' or '#', the user part at its last '@' */
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (userinfo_part(p, (size_t)(uend - p), "user name", &out->username, e) ||
            (colon &&
             userinfo_part(colon + 1, (size_t)(at - colon - 1), "password", &out->password, e)))
            goto fail;
        p = at + 1;
    }
    const char *host, *host_end;
    if (host_port(&p, end, &host, &host_end, &out->port,
                  " (one broker: failover lists are not supported)", e))
        goto fail;
    /* the path less its first '/', percent-decoded, is the virtual host; none or empty is
     * "/" (kombu's default): amqp://h, amqp://h/ and amqp://h// all mean "/" */
    char *vhost = NULL;
    if (*p == '/') {
        p++;
        size_t n = strcspn(p, "?#");
        if (userinfo_part(p, n, "virtual host", &vhost, e)) goto fail;
        p += n;
    }
    out->vhost = vhost ? vhost : xstrdup("/");
    if (strlen(out->vhost) > 255 || strpbrk(out->vhost, "\r\n")) {
        sk_err_set(e, -EINVAL, "broker", "the virtual host must be at most 255 bytes, one line");
        goto fail;
    }
    if (*p == '?' && out->tls) {
        if (amqp_tls_options(p + 1, out, e)) goto fail;
        p += strcspn(p, "#");
    } else if (*p == '?') {
        size_t k = strcspn(p + 1, "=&#");
        if (k > 4 && strncmp(p + 1, "ssl_", 4) == 0)
            sk_err_set(e, -EINVAL, "broker", "URL option %.*s is for TLS: write amqps://",
                       (int)(k > 60 ? 60 : k), p + 1);
        else
            url_options_refused(p, e);
        goto fail;
    }
    if (*p) {
        sk_err_set(e, -EINVAL, "broker", "a fragment (#...) is not allowed");
        goto fail;
    }
    out->host = host_end > host ? xstrndup(host, (size_t)(host_end - host)) : xstrdup("localhost");
    if (!out->username) out->username = xstrdup("guest");
    if (!out->password) out->password = xstrdup("guest");
    return 0;
fail:
    amqp_url_free(out);
    return -EINVAL;
}

void amqp_url_copy(struct amqp_url *dst, const struct amqp_url *src)
{
    *dst = *src;
    dst->host = dup_or_null(src->host);
    dst->vhost = dup_or_null(src->vhost);
    dst->username = dup_or_null(src->username);
    dst->password = dup_or_null(src->password);
    dst->ca_certs = dup_or_null(src->ca_certs);
    dst->certfile = dup_or_null(src->certfile);
    dst->keyfile = dup_or_null(src->keyfile);
}

void amqp_url_free(struct amqp_url *u)
{
    if (!u) return;
    free(u->host);
    free(u->vhost);
    free(u->username);
    free(u->password);
    free(u->ca_certs);
    free(u->certfile);
    free(u->keyfile);
    memset(u, 0, sizeof *u);
}
