#include "secrets.h"

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

/* The secret name of dir into out (allocated) with 0, or -1 with the reason in why. */
static int secret_read(const char *dir, const char *name, char **out, char *why, size_t whylen)
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
        snprintf(why, whylen, "secret '%s': %s (%s)", name, bad, path);
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

static size_t check_value(const char *dir, const json_t *v, const char *prefix, json_t *errs)
{
    const char *name = secret_ref(v);
    if (name) {
        char *value, why[512];
        if (secret_read(dir, name, &value, why, sizeof why) != 0)
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
            n += check_value(dir, m, sub, errs);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            path_index(sub, sizeof sub, prefix, i);
            n += check_value(dir, m, sub, errs);
        }
    }
    return n;
}

size_t secrets_check(const char *dir, const json_t *v, const char *prefix, json_t *errs)
{
    if (secret_ref(v)) {
        json_errs_add(errs, prefix, "a secret stands for one argument's value, not for all of them");
        return 1;
    }
    return check_value(dir, v, prefix, errs);
}

char *secrets_new_ref(const json_t *v, const json_t *saved, const char *prefix)
{
    const char *name = secret_ref(v), *had = secret_ref(saved);
    if (name) return had && strcmp(name, had) == 0 ? NULL : xstrdup(prefix);
    char sub[1024];
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            path_key(sub, sizeof sub, prefix, k);
            char *p = secrets_new_ref(m, json_object_get(saved, k), sub);
            if (p) return p;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            path_index(sub, sizeof sub, prefix, i);
            char *p = secrets_new_ref(m, json_array_get(saved, i), sub);
            if (p) return p;
        }
    }
    return NULL;
}

/* value into values, and also as it reads inside a JSON string when that differs (a task may
 * print the arguments it got as JSON) */
static void mask_add(json_t *values, const char *value)
{
    if (!values) return;
    json_array_append_new(values, json_string(value));
    json_t *s = json_string(value);
    char *text = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    size_t n = text ? strlen(text) : 0;
    if (n > 2 && (n - 2 != strlen(value) || memcmp(text + 1, value, n - 2) != 0))
        json_array_append_new(values, json_stringn(text + 1, n - 2));
    free(text);
}

/* Replaces the references inside v (an object or array) in place; -1 with why on failure. */
static int resolve_in(const char *dir, json_t *v, const char *prefix, json_t *values, char *why,
                      size_t whylen)
{
    char sub[1024];
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            path_key(sub, sizeof sub, prefix, k);
            const char *name = secret_ref(m);
            if (!name) {
                if (resolve_in(dir, m, sub, values, why, whylen)) return -1;
                continue;
            }
            char *value, r[512];
            if (secret_read(dir, name, &value, r, sizeof r) != 0) {
                snprintf(why, whylen, "%s: %s", sub, r);
                return -1;
            }
            mask_add(values, value);
            json_object_set_new(v, k, json_string(value));
            free(value);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            path_index(sub, sizeof sub, prefix, i);
            const char *name = secret_ref(m);
            if (!name) {
                if (resolve_in(dir, m, sub, values, why, whylen)) return -1;
                continue;
            }
            char *value, r[512];
            if (secret_read(dir, name, &value, r, sizeof r) != 0) {
                snprintf(why, whylen, "%s: %s", sub, r);
                return -1;
            }
            mask_add(values, value);
            json_array_set_new(v, i, json_string(value));
            free(value);
        }
    }
    return 0;
}

/* Whether v holds a reference anywhere. */
static bool has_ref(const json_t *v)
{
    if (secret_ref(v)) return true;
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, m) if (has_ref(m)) return true;
    if (json_is_array(v)) json_array_foreach(v, i, m) if (has_ref(m)) return true;
    return false;
}

json_t *secrets_resolve(const char *dir, json_t *v, json_t *values, char *why, size_t whylen)
{
    if (!has_ref(v)) return json_incref(v);
    json_t *copy = json_deep_copy(v);
    if (resolve_in(dir, copy, "args", values, why, whylen) != 0) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}
