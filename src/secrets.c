/* secrets: references to secret files in arguments, their values and masks; see secrets.h. */
#include "secrets.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/utf8.h"
#include "base/xalloc.h"

#define SECRET_MAX (64 * 1024)
#define SECRET_NAME_MAX 128

const char *secret_ref(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1) return NULL;
    json_t *name = json_object_get(v, "$secret");
    return json_is_string(name) ? json_string_value(name) : NULL;
}

/* Letters, digits, '_', '-' and '.', not first: a file of the folder itself, never a path. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SECRET_NAME_MAX || s[0] == '.') return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* The secret name of dir into out (allocated) with 0, or -1 with the reason in why, which ends
 * with the file's path when with_path. */
static int secret_read(const char *dir, const char *name, bool with_path, char **out, char *why,
                       size_t whylen)
{
    *out = NULL;
    if (!dir) {
        snprintf(why, whylen, "secret '%s': no secrets folder is set (secrets_dir in sked.conf, "
                              "or --secrets-dir)", name);
        return -1;
    }
    if (!name_ok(name)) {
        snprintf(why, whylen, "secret '%.*s': a name of 1 to %d letters, digits, '_', '-' or "
                              "'.', not starting with '.'",
                 SECRET_NAME_MAX, name, SECRET_NAME_MAX);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    const char *bad = NULL;
    if (fd < 0)
        bad = errno == ENOENT ? "no such file in the secrets folder" : strerror(errno);
    else if (fstat(fd, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (st.st_size > SECRET_MAX)
        bad = "longer than 64 KiB";
    struct buf b = BUF_INIT;
    if (!bad) {
        char chunk[4096];
        ssize_t got;
        while ((got = read(fd, chunk, sizeof chunk)) > 0 && b.len <= SECRET_MAX)
            buf_append(&b, chunk, (size_t)got);
        if (got < 0)
            bad = strerror(errno);
        else if (b.len > SECRET_MAX)
            bad = "longer than 64 KiB";
    }
    if (fd >= 0) close(fd);
    if (!bad) {
        /* a file ends with a newline: it is no part of the value */
        if (b.len && b.data[b.len - 1] == '\n') b.len--;
        if (b.len && b.data[b.len - 1] == '\r') b.len--;
        if (b.data) b.data[b.len] = '\0';
        if (memchr(b.data ? b.data : "", '\0', b.len) || !utf8_valid(b.data ? b.data : "", b.len))
            bad = "not UTF-8 text";
        else if (b.len == 0)
            bad = "empty";
    }
    if (bad) {
        buf_free(&b);
        if (with_path)
            snprintf(why, whylen, "secret '%s': %s (%s)", name, bad, path);
        else
            snprintf(why, whylen, "secret '%s': %s", name, bad);
        return -1;
    }
    *out = buf_steal(&b);
    return 0;
}

static void path_key(char *out, size_t n, const char *prefix, const char *key)
{
    snprintf(out, n, "%s.%s", prefix, key);
}

static void path_index(char *out, size_t n, const char *prefix, size_t i)
{
    snprintf(out, n, "%s[%zu]", prefix, i);
}

static size_t check_value(const char *dir, const json_t *v, const char *prefix, bool with_path,
                          json_t *errs)
{
    const char *name = secret_ref(v);
    if (name) {
        char *value, why[512];
        if (secret_read(dir, name, with_path, &value, why, sizeof why) != 0)
            json_errs_add(errs, prefix, "%s", why);
        free(value);
        return 1;
    }
    size_t n = 0;
    char sub[1024];
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            path_key(sub, sizeof sub, prefix, k);
            n += check_value(dir, m, sub, with_path, errs);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            path_index(sub, sizeof sub, prefix, i);
            n += check_value(dir, m, sub, with_path, errs);
        }
    }
    return n;
}

size_t secrets_check(const char *dir, const json_t *v, const char *prefix, bool with_path,
                     json_t *errs)
{
    if (secret_ref(v)) {
        json_errs_add(errs, prefix, SECRETS_NOT_WHOLE);
        return 1;
    }
    return check_value(dir, v, prefix, with_path, errs);
}

#define MASK_MIN 4 /* shorter values are not masked: they would turn up in every line */

static void mask_one(json_t *values, const char *s, size_t n)
{
    if (n < MASK_MIN) return;
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v) if (json_string_length(v) == n &&
                                         memcmp(json_string_value(v), s, n) == 0) return;
    json_array_append_new(values, json_stringn(s, n));
}

/* The forms a value may take in what a task prints: as it is, each of its lines (a key file, a
 * value that ends with a newline of its own), and inside a JSON string, as jansson, Python's
 * json.dumps (ASCII-only or not, \u escapes in lower case) and Go's encoding/json escape it */
static void mask_add(json_t *values, const char *value)
{
    if (!values) return;
    mask_one(values, value, strlen(value));
    for (const char *p = value; *p;) {
        size_t n = strcspn(p, "\n");
        size_t k = n && p[n - 1] == '\r' ? n - 1 : n;
        if (p[n] || p != value) mask_one(values, p, k); /* a line of several */
        p += n + (p[n] == '\n');
    }
    json_t *s = json_string(value);
    char *go = NULL;
    for (int ascii = 0; ascii < 2; ascii++) {
        char *text = json_dumps(s, JSON_ENCODE_ANY | (ascii ? JSON_ENSURE_ASCII : 0));
        size_t n = text ? strlen(text) : 0;
        if (n > 2) mask_one(values, text + 1, n - 2);
        /* \u00E4 as jansson writes it, \u00e4 as Python does */
        for (size_t i = 0; i + 5 < n; i++)
            if (text[i] == '\\' && text[i + 1] == 'u')
                for (size_t k = i + 2; k < i + 6; k++) text[k] = (char)tolower((unsigned char)text[k]);
        if (n > 2) mask_one(values, text + 1, n - 2);
        if (ascii) free(text);
        else go = text;
    }
    json_decref(s);
    /* Go's encoding/json: the escapes above, lower-case, with < > & as \u003c \u003e \u0026 */
    if (go && strpbrk(go, "<>&")) {
        struct buf b = BUF_INIT;
        for (const char *p = go + 1; p[1]; p++) /* between the quotes */
            if (*p == '<' || *p == '>' || *p == '&')
                buf_printf(&b, "\\u00%02x", (unsigned)*p);
            else
                buf_putc(&b, *p);
        mask_one(values, b.data, b.len);
        buf_free(&b);
    }
    free(go);
}

static int longest_first(const void *a, const void *b)
{
    size_t x = json_string_length(*(json_t *const *)a), y = json_string_length(*(json_t *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* values sorted longest first, so a secret inside another does not cut the other's mask */
static void mask_order(json_t *values)
{
    size_t n = json_array_size(values);
    if (n < 2) return;
    json_t **v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = json_incref(json_array_get(values, i));
    qsort(v, n, sizeof *v, longest_first);
    json_array_clear(values);
    for (size_t i = 0; i < n; i++) json_array_append_new(values, v[i]);
    free(v);
}

char *secrets_mask(char *text, const json_t *mask)
{
    size_t i;
    json_t *v;
    json_array_foreach(mask, i, v)
    {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || !strstr(text, s)) continue;
        struct buf b = BUF_INIT;
        const char *p = text, *hit;
        while ((hit = strstr(p, s))) {
            buf_append(&b, p, (size_t)(hit - p));
            buf_append(&b, "***", 3);
            p = hit + n;
        }
        buf_puts(&b, p);
        free(text);
        text = buf_steal(&b);
    }
    return text;
}

json_t *secrets_masked(const json_t *v, const json_t *mask)
{
    if (json_is_string(v)) {
        char *t = secrets_mask(xstrndup(json_string_value(v), json_string_length(v)), mask);
        json_t *s = json_string(t);
        free(t);
        return s;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) json_array_append_new(out, secrets_masked(m, mask));
        return out;
    }
    if (json_is_object(v)) { /* keys too: a task may file a value under itself */
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            char *key = secrets_mask(xstrdup(k), mask);
            json_object_set_new(out, key, secrets_masked(m, mask));
            free(key);
        }
        return out;
    }
    return json_incref((json_t *)v); /* numbers, true, false, null */
}

static int resolve_in(const char *dir, json_t *v, const char *prefix, json_t *values, char *why,
                      size_t whylen);

/* The value member m (at path sub) stands for: a new string when m is a reference, else NULL
 * (the references inside m replaced). -1 in *rc, with why, for a secret that cannot be read. */
static json_t *resolve_member(const char *dir, json_t *m, const char *sub, json_t *values,
                              char *why, size_t whylen, int *rc)
{
    const char *name = secret_ref(m);
    if (!name) {
        *rc = resolve_in(dir, m, sub, values, why, whylen);
        return NULL;
    }
    char *value, r[512];
    /* the reason becomes the run's message and a line of its log, which every role reads */
    if (secret_read(dir, name, false, &value, r, sizeof r) != 0) {
        snprintf(why, whylen, "%s: %s", sub, r);
        *rc = -1;
        return NULL;
    }
    mask_add(values, value);
    json_t *s = json_string(value);
    free(value);
    return s;
}

/* Replaces the references inside v (an object or array) in place; -1 with why on failure. */
static int resolve_in(const char *dir, json_t *v, const char *prefix, json_t *values, char *why,
                      size_t whylen)
{
    char sub[1024];
    int rc = 0;
    const char *k;
    json_t *m, *s;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, m)
        {
            path_key(sub, sizeof sub, prefix, k);
            if ((s = resolve_member(dir, m, sub, values, why, whylen, &rc))) json_object_set_new(v, k, s);
            if (rc) return rc;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            path_index(sub, sizeof sub, prefix, i);
            if ((s = resolve_member(dir, m, sub, values, why, whylen, &rc))) json_array_set_new(v, i, s);
            if (rc) return rc;
        }
    }
    return 0;
}

bool secrets_referred(const json_t *v)
{
    if (secret_ref(v)) return true;
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, m) if (secrets_referred(m)) return true;
    if (json_is_array(v)) json_array_foreach(v, i, m) if (secrets_referred(m)) return true;
    return false;
}

json_t *secrets_resolve(const char *dir, json_t *v, json_t *values, char *why, size_t whylen)
{
    if (!secrets_referred(v)) return json_incref(v);
    json_t *copy = json_deep_copy(v);
    if (resolve_in(dir, copy, "args", values, why, whylen) != 0) {
        json_decref(copy);
        return NULL;
    }
    mask_order(values);
    return copy;
}
