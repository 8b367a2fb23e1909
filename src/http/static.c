/* static: serving the admin UI's files; see static.h. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/embed.h"

extern const struct embedded_file embedded_web[];

#define FILE_MAX (8 * 1024 * 1024)

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".json", "application/json"},
                 {".woff2", "font/woff2"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* A path inside the UI: no "..", no empty or hidden segments. */
static bool safe(const char *p)
{
    if (!*p) return false;
    for (const char *s = p; *s; s++) {
        if (s == p || s[-1] == '/') {
            if (*s == '.' || *s == '/') return false;
        }
        if ((unsigned char)*s < 0x20) return false;
    }
    return true;
}

static const struct embedded_file *find_embedded(const char *name)
{
    for (const struct embedded_file *f = embedded_web; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

/* name (a checked path: no "..", no leading '/') opened for reading under the folder dir
 * through no symbolic link, of the file or of a folder on the way: --web-dir serves its own
 * files, not what a link in it points to (/etc, say). -1 when it cannot. */
static int open_beneath(const char *dir, const char *name)
{
    int cur = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0) return -1;
    /* one part of the path at a time, none a link (openat2's RESOLVE_NO_SYMLINKS would need
     * Linux 5.6; these are a few files of a folder the operator chose) */
    for (const char *p = name;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char part[256];
        int next = -1;
        if (n > 0 && n < sizeof part) {
            memcpy(part, p, n);
            part[n] = '\0';
            /* a folder on the way needs only search permission, as a path opened whole does */
            next = openat(cur, part, (slash ? O_PATH | O_DIRECTORY : O_RDONLY) | O_NOFOLLOW |
                                         O_CLOEXEC);
        }
        close(cur);
        if (next < 0 || !slash) return next;
        cur = next;
        p = slash + 1;
    }
}

static bool read_file(const char *dir, const char *name, struct buf *out)
{
    int fd = open_beneath(dir, name);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        close(fd);
        return false;
    }
    char chunk[16384];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) buf_append(out, chunk, (size_t)n);
    close(fd);
    return true;
}

static void reply(struct http_req *req, int status, const char *name, const unsigned char *data,
                  size_t len)
{
    if (status != 200) { /* the application's own "page not found": never cached */
        http_reply(req, status, content_type(name), (const char *)data, len);
        return;
    }
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the bytes: a stable validator */
    for (size_t i = 0; i < len; i++) h = (h ^ data[i]) * 1099511628211ULL;
    char etag[32];
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)h);
    http_add_header(req, "ETag", etag);
    /* always revalidated: a new build must show at once, and a 304 costs little */
    http_add_header(req, "Cache-Control", "no-cache");
    if (http_etag_match(req, "If-None-Match", etag, true) == 1) {
        http_reply(req, 304, NULL, NULL, 0);
        return;
    }
    http_reply(req, 200, content_type(name), (const char *)data, len);
}

/* Whether path is one of the admin UI's pages (web/app.js routes them): "/" or a path whose
 * first segment is one of its sections. */
static bool ui_page(const char *path)
{
    static const char *const sections[] = {"login", "jobs", "administration", "runs", "queues",
                                           "audit", "account", "users"};
    if (strcmp(path, "/") == 0) return true;
    const char *seg = path + 1;
    size_t n = strcspn(seg, "/");
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        if (strlen(sections[i]) == n && strncmp(seg, sections[i], n) == 0) return true;
    return false;
}

bool static_serve(struct http_req *req, const char *dir)
{
    const char *m = req->head.method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) return false;
    const char *path = req->head.path;
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) return false;
    const char *name = path[1] ? path + 1 : "index.html";
    if (!safe(name)) return false;
    const char *last = strrchr(name, '/');
    last = last ? last + 1 : name;
    /* a page of the application (no file extension, under one of its sections) is the
     * application itself. Another path is no page of it: 404, the application (which says
     * "page not found") to a browser, else the API's JSON, so that a probe pointed at /health
     * fails rather than getting the UI */
    bool page = !strchr(last, '.');
    int status = 200;
    if (page && !ui_page(path)) {
        const char *accept = http_header(req, "Accept");
        if (!accept || !strstr(accept, "text/html")) return false;
        status = 404;
    }
    if (page) name = "index.html";
    if (dir) {
        struct buf b = BUF_INIT;
        bool ok = read_file(dir, name, &b);
        if (ok) reply(req, status, name, (const unsigned char *)buf_cstr(&b), b.len);
        buf_free(&b);
        return ok;
    }
    const struct embedded_file *f = find_embedded(name);
    if (!f) return false;
    reply(req, status, name, f->data, f->size);
    return true;
}
