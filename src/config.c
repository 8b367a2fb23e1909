/* config: serve settings from flags and environment; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"

void config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->db_path = xstrdup("var/sked.db");
    c->listen_host = xstrdup("127.0.0.1");
    c->listen_port = 8080;
    c->tasks_dir = xstrdup("tasks.d");
    struct sk_err e;
    config_parse_queues(c, "default=4,low=1", &e);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    c->node = xstrdup(host);
    c->log_cap_bytes = 16 * 1024 * 1024;
    c->status_cap_bytes = 1024 * 1024;
    c->line_max_bytes = 16 * 1024;
    c->stop_grace_ms = 10000;
    c->shutdown_grace_ms = 30000;
    c->max_body_bytes = 1024 * 1024;
    c->http_timeout_s = 60;
    c->retention_ms = 90LL * 86400 * 1000;
    c->builtin_threads = 4;
    c->notify_backlog = 10000;
    c->webhook_retry_ms = 1000;
    c->mail_retry_ms = 60000;
    c->smtp_from = xstrdup("sked@localhost");
    c->durability = DURABILITY_NORMAL;
    c->log_level = LOG_INFO;
    c->log_format = LOG_TEXT;
}

static void free_queues(struct config *c)
{
    for (size_t i = 0; i < c->nqueues; i++) free(c->queues[i].name);
    free(c->queues);
    free(c->queue_names);
    c->queues = NULL;
    c->queue_names = NULL;
    c->nqueues = 0;
}

void config_release(struct config *c)
{
    free(c->db_path);
    free(c->listen_host);
    free(c->tasks_dir);
    free(c->web_dir);
    free(c->secrets_dir);
    free(c->smtp_url);
    free(c->smtp_from);
    free(c->public_url);
    free(c->webhook_secret);
    free(c->trusted_proxies);
    free(c->pause_queues);
    cidr_list_free(&c->trusted);
    free(c->config_file);
    free(c->node);
    free(c->admin_token);
    free_queues(c);
}

/* s without the blanks around it (in place). */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

int config_parse_queues(struct config *c, const char *spec, struct sk_err *e)
{
    struct queue_cfg *qs = NULL;
    size_t n = 0;
    char *copy = xstrdup(spec), *rest = copy;
    int rc = 0;
    for (char *tok; rc == 0 && (tok = strsep(&rest, ",")) != NULL;) {
        if (!*trim(tok)) {
            if (n > 0 || rest) /* else nothing at all: "at least one queue" below */
                rc = sk_err_set(e, -EINVAL, "queues", "'%s': an empty item between commas",
                                spec);
            break;
        }
        char *eq = strchr(tok, '=');
        if (eq) *eq = '\0';
        char *name = trim(tok); /* "default = 4, low = 1" as well */
        long slots = 1;
        if (eq) {
            char *num = trim(eq + 1), *end;
            errno = 0;
            slots = strtol(num, &end, 10);
            if (errno || *end || !isdigit((unsigned char)*num) || slots < 1 || slots > 1024) {
                rc = sk_err_set(e, -EINVAL, "queues",
                                "queue '%s': concurrency must be a whole number from 1 to 1024",
                                name);
                break;
            }
        }
        size_t len = strlen(name);
        bool ok = len > 0 && len <= 64;
        for (size_t i = 0; ok && i < len; i++)
            ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]);
        if (!ok) {
            rc = sk_err_set(e, -EINVAL, "queues",
                            "'%s': a queue name is 1..64 ASCII letters, digits, '_', '.' or '-'",
                            name);
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(qs[i].name, name) == 0)
                rc = sk_err_set(e, -EINVAL, "queues", "queue '%s' is listed twice", name);
        if (rc) break;
        qs = xrealloc(qs, (n + 1) * sizeof *qs);
        qs[n].name = xstrdup(name);
        qs[n].slots = (int)slots;
        n++;
    }
    free(copy);
    if (rc == 0 && n == 0) rc = sk_err_set(e, -EINVAL, "queues", "at least one queue is needed");
    if (rc) {
        for (size_t i = 0; i < n; i++) free(qs[i].name);
        free(qs);
        return rc;
    }
    free_queues(c);
    c->queues = qs;
    c->nqueues = n;
    c->queue_names = xcalloc(n, sizeof *c->queue_names);
    for (size_t i = 0; i < n; i++) c->queue_names[i] = qs[i].name;
    return 0;
}

struct queue_names config_queue_names(const struct config *c)
{
    struct queue_names qn = {c->queue_names, c->nqueues};
    return qn;
}

const struct queue_cfg *config_queue(const struct config *c, const char *name)
{
    for (size_t i = 0; name && i < c->nqueues; i++)
        if (strcmp(c->queues[i].name, name) == 0) return &c->queues[i];
    return NULL;
}

void config_usage(void)
{
    fputs("usage: sked serve [options]\n"
          "\n"
          "Runs the sked server: the REST API, the scheduler and the workers.\n"
          "\n"
          "options (each also from the environment variable in brackets):\n"
          "  --db PATH              SQLite store [SKED_DB] (default var/sked.db)\n"
          "  --listen HOST:PORT     address to serve on [SKED_LISTEN] (default 127.0.0.1:8080;\n"
          "                         port 0 picks a free one)\n"
          "  --tasks DIR            folder of *.json task files [SKED_TASKS] (default tasks.d)\n"
          "  --queues SPEC          queues and their concurrency [SKED_QUEUES]\n"
          "                         (default default=4,low=1)\n"
          "  --node NAME            this node's name in run records [SKED_NODE] (default: host)\n"
          "  --web-dir DIR          serve the admin UI from DIR instead of the built-in copy\n"
          "                         [SKED_WEB_DIR] (for working on the UI)\n"
          "  --secrets-dir DIR      folder of the secrets runs refer to as {\"$secret\": NAME}\n"
          "                         [SKED_SECRETS_DIR] (default: none)\n"
          "  --log-cap SIZE         log bytes kept per run [SKED_LOG_CAP] (default 16M)\n"
          "  --stop-grace DURATION  SIGTERM to SIGKILL delay on stop [SKED_STOP_GRACE] (10s)\n"
          "  --shutdown-grace DURATION  how long shutdown waits for running tasks\n"
          "                         [SKED_SHUTDOWN_GRACE] (30s)\n"
          "  --max-body SIZE        largest accepted request body [SKED_MAX_BODY] (1M)\n"
          "  --http-timeout DURATION  how long a client may take to send a request, and to\n"
          "                         read what it was sent (a log stream's client too, or it\n"
          "                         is dropped); whole seconds [SKED_HTTP_TIMEOUT] (60s)\n"
          "  --retention DURATION   how long finished runs are kept by sked.prune, for jobs\n"
          "                         without their own [SKED_RETENTION] (90d)\n"
          "  --builtin-threads N    threads for builtin job types [SKED_BUILTIN_THREADS] (4)\n"
          "  --smtp-url URL         mail server for notifications, smtp://host:port\n"
          "                         (STARTTLS when offered) [SKED_SMTP_URL]\n"
          "  --smtp-from ADDRESS    sender of notification e-mails [SKED_SMTP_FROM]\n"
          "  --public-url URL       how people reach sked, for links [SKED_PUBLIC_URL]\n"
          "  --webhook-secret KEY   signs webhook bodies (HMAC-SHA256) [SKED_WEBHOOK_SECRET]\n"
          "  --notify-backlog N     e-mails and webhook calls held in memory to be sent; past\n"
          "                         it new ones wait in the store's outbox\n"
          "                         [SKED_NOTIFY_BACKLOG] (10000)\n"
          "  --webhook-retry DURATION  wait before a failed webhook call is tried again,\n"
          "                         doubled for each later attempt, 8 in all\n"
          "                         [SKED_WEBHOOK_RETRY] (1s)\n"
          "  --mail-retry DURATION  the same for an e-mail a mail server put off (4xx) or\n"
          "                         that found no server, 6 attempts in all [SKED_MAIL_RETRY] (1m)\n"
          "  --trusted-proxies LIST reverse proxies (addresses, networks: 127.0.0.1,10.0.0.0/8)\n"
          "                         whose X-Forwarded-For and X-Forwarded-Proto are believed\n"
          "                         [SKED_TRUSTED_PROXIES] (none)\n"
          "  --durability MODE      normal | full [SKED_DURABILITY] (normal)\n"
          "  --log-level LEVEL      debug | info | warn | error [SKED_LOG_LEVEL] (info)\n"
          "  --log-format FORMAT    text | json [SKED_LOG_FORMAT] (text)\n"
          "  --pause-queues REASON  pause every queue at start, before anything runs, with\n"
          "                         this reason [SKED_PAUSE_QUEUES]: for a copy of a store\n"
          "                         (a restored backup) that must not run production's work\n"
          "                         until its queues are resumed (not in the file)\n"
          "  --config FILE          read options from an INI file first [SKED_CONFIG]; flags\n"
          "                         and variables override it (see docs/operations.md)\n"
          "  -h, --help             this help\n"
          "\n"
          "At first start (no account in the store) sked creates the account 'admin' with\n"
          "the password of SKED_ADMIN_PASSWORD, or a random one printed once. SKED_ADMIN_TOKEN\n"
          "sets a bootstrap API token with the admin role, for automation.\n",
          stdout);
}

/* A size in bytes: digits and an optional unit K, M, G or T (of 1024), B or not. -ERANGE past
 * 1 TiB, -EINVAL when it is no such size. */
static int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0 || *s == '-' || *s == '+' || *s == ' ') return -EINVAL;
    if (errno) return -ERANGE;
    int64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'm' || *end == 'M') mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G') mul = 1024LL * 1024 * 1024, end++;
    else if (*end == 't' || *end == 'T') mul = 1024LL * 1024 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return -EINVAL;
    if (v > (1LL << 40) / mul) return -ERANGE;
    *out = v * mul;
    return 0;
}

/* Whether s holds a control character (a newline would break the printed settings). */
static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f) return true;
    return false;
}

/* url with the password of its USER:PASSWORD@ as ******** (also in a URL that is not valid,
 * whose error quotes it); to be freed. */
static char *smtp_url_masked(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *colon = strchr(scheme ? scheme + 3 : url, ':');
    const char *at = strrchr(url, '@');
    if (colon && at && colon < at)
        return xasprintf("%.*s********%s", (int)(colon + 1 - url), url, at);
    return xstrdup(url);
}

/* What is wrong with an SMTP server's URL, or NULL: smtp:// or smtps://, an optional
 * USER[:PASSWORD]@, a host, an optional port from 1 to 65535, an optional /PATH (the domain
 * libcurl greets with), and nothing blank or unprintable anywhere. */
static const char *smtp_url_error(const char *url)
{
    const char *p = url;
    if (strncmp(p, "smtp://", 7) == 0)
        p += 7;
    else if (strncmp(p, "smtps://", 8) == 0)
        p += 8;
    else
        return "expected smtp://HOST[:PORT] or smtps://HOST[:PORT]";
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return "a URL holds no spaces or control characters";
    const char *end = p + strcspn(p, "/");
    for (const char *q = end; q > p; q--) /* past the credentials, up to their last '@' */
        if (q[-1] == '@') {
            p = q;
            break;
        }
    const char *colon = NULL;
    if (*p == '[') { /* an IPv6 address */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close || close == p + 1) return "a bracketed IPv6 host is empty or not closed";
        if (close + 1 < end && close[1] != ':') return "expected :PORT after the IPv6 host";
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
    }
    if ((colon ? colon : end) == p) return "the host is missing";
    if (colon) {
        long port = 0;
        const char *d = colon + 1;
        if (d == end) return "the port is missing after ':'";
        for (; d < end; d++) {
            if (*d < '0' || *d > '9' || (port = port * 10 + (*d - '0')) > 65535)
                return "the port must be a number from 1 to 65535";
        }
        if (port < 1) return "the port must be a number from 1 to 65535";
    }
    return NULL;
}

/* A whole number from 1 to most into *out, or -EINVAL naming src. */
static int whole_number(const char *val, long most, int *out, const char *src, struct sk_err *e)
{
    char *end;
    long v = strtol(val, &end, 10);
    if (*end || !isdigit((unsigned char)*val) || v < 1 || v > most)
        return sk_err_set(e, -EINVAL, src, "'%s': a whole number from 1 to %ld", val, most);
    *out = (int)v;
    return 0;
}

static int set_option(struct config *c, const char *name, const char *val, const char *src,
                      struct sk_err *e)
{
    const char *why = NULL;
    int64_t n;
    if (strcmp(name, "db") == 0) {
        if (!*val) return sk_err_set(e, -EINVAL, src, "must not be empty");
        free(c->db_path);
        c->db_path = xstrdup(val);
    } else if (strcmp(name, "listen") == 0) {
        const char *colon = strrchr(val, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == val || *end || !isdigit((unsigned char)colon[1]) || port < 0 ||
            port > 65535)
            return sk_err_set(e, -EINVAL, src, "'%s': expected HOST:PORT, e.g. 127.0.0.1:8080",
                              val);
        char *host = val[0] == '[' && colon[-1] == ']' /* [::1]:8080 */
                         ? xstrndup(val + 1, (size_t)(colon - val - 2))
                         : xstrndup(val, (size_t)(colon - val));
        unsigned char addr[16];
        if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, addr) != 1 &&
            inet_pton(AF_INET6, host, addr) != 1) {
            free(host);
            return sk_err_set(e, -EINVAL, src,
                              "'%s': the host must be an IP address or localhost, e.g. "
                              "127.0.0.1:8080 or [::]:8080",
                              val);
        }
        free(c->listen_host);
        c->listen_host = host;
        c->listen_port = (int)port;
    } else if (strcmp(name, "tasks") == 0) {
        if (!*val) return sk_err_set(e, -EINVAL, src, "must not be empty (the folder of the task files)");
        free(c->tasks_dir);
        c->tasks_dir = xstrdup(val);
    } else if (strcmp(name, "web-dir") == 0 || strcmp(name, "secrets-dir") == 0) {
        bool web = name[0] == 'w';
        struct stat st;
        const char *bad = !*val                    ? NULL
                          : stat(val, &st) != 0    ? (errno == ENOENT ? "no such folder" : strerror(errno))
                          : !S_ISDIR(st.st_mode)   ? "not a folder"
                                                   : NULL;
        if (bad)
            return sk_err_set(e, -EINVAL, src, "'%s': %s (leave it empty for %s)", val, bad,
                              web ? "the admin UI built into sked" : "no secrets");
        char **dir = web ? &c->web_dir : &c->secrets_dir;
        free(*dir);
        *dir = *val ? xstrdup(val) : NULL;
    } else if (strcmp(name, "queues") == 0) {
        int rc = config_parse_queues(c, val, e);
        if (rc) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", e->msg);
            return sk_err_set(e, rc, src, "%s", msg);
        }
    } else if (strcmp(name, "node") == 0) {
        if (!*val || !utf8_valid(val, strlen(val)) || utf8_chars(val) > 200 || has_control(val))
            return sk_err_set(e, -EINVAL, src,
                              "1..200 characters of UTF-8, none of them a control character");
        free(c->node);
        c->node = xstrdup(val);
    } else if (strcmp(name, "log-cap") == 0 || strcmp(name, "max-body") == 0) {
        int rc = parse_size(val, &n);
        if (rc == -ERANGE)
            return sk_err_set(e, -EINVAL, src, "'%s': a size of at most 1T", val);
        if (rc != 0)
            return sk_err_set(e, -EINVAL, src,
                              "'%s': expected a size such as 16M (a number and K, M, G or T)", val);
        if (n < 1024) return sk_err_set(e, -EINVAL, src, "'%s': a size of at least 1K", val);
        if (name[0] == 'l')
            c->log_cap_bytes = n;
        else
            c->max_body_bytes = n;
    } else if (strcmp(name, "http-timeout") == 0) {
        if (duration_parse(val, &n, &why) != 0)
            return sk_err_set(e, -EINVAL, src, "'%s': %s", val, why);
        if (n < 1000 || n > 3600000 || n % 1000)
            return sk_err_set(e, -EINVAL, src,
                              "'%s': a whole number of seconds from 1s to 1h, e.g. 60s or 5m",
                              val);
        c->http_timeout_s = (int)(n / 1000);
    } else if (strcmp(name, "stop-grace") == 0 || strcmp(name, "shutdown-grace") == 0) {
        if (duration_parse(val, &n, &why) != 0)
            return sk_err_set(e, -EINVAL, src, "'%s': %s", val, why);
        if (name[1] == 't')
            c->stop_grace_ms = n;
        else
            c->shutdown_grace_ms = n;
    } else if (strcmp(name, "webhook-retry") == 0 || strcmp(name, "mail-retry") == 0) {
        if (duration_parse(val, &n, &why) != 0)
            return sk_err_set(e, -EINVAL, src, "'%s': %s", val, why);
        if (n < 10 || n > 3600000)
            return sk_err_set(e, -EINVAL, src, "'%s': a duration of 10ms to 1h, e.g. 1s or 5m",
                              val);
        *(name[0] == 'w' ? &c->webhook_retry_ms : &c->mail_retry_ms) = n;
    } else if (strcmp(name, "smtp-url") == 0) {
        const char *bad = *val ? smtp_url_error(val) : NULL;
        if (bad) {
            char *shown = smtp_url_masked(val);
            int rc = sk_err_set(e, -EINVAL, src, "'%s': %s", shown, bad);
            free(shown);
            return rc;
        }
        free(c->smtp_url);
        c->smtp_url = *val ? xstrdup(val) : NULL;
    } else if (strcmp(name, "pause-queues") == 0) {
        /* a pause's reason, as the API takes one */
        if (!*val || utf8_blank(val))
            return sk_err_set(e, -EINVAL, src,
                              "must not be empty: give the reason the queues are paused (\"a "
                              "copy to test the upgrade\"), or leave it out");
        if (!utf8_valid(val, strlen(val)) || utf8_has_control(val) || utf8_chars(val) > 500)
            return sk_err_set(e, -EINVAL, src,
                              "must be one line of UTF-8 text without control characters, at most "
                              "500 characters");
        free(c->pause_queues);
        c->pause_queues = xstrdup(val);
    } else if (strcmp(name, "smtp-from") == 0) {
        const char *bad = *val ? mail_address_problem(val) : NULL;
        if (bad) return sk_err_set(e, -EINVAL, src, "'%.60s': not an e-mail address: %s", val, bad);
        free(c->smtp_from);
        c->smtp_from = xstrdup(*val ? val : "sked@localhost"); /* empty: the default */
    } else if (strcmp(name, "public-url") == 0) {
        const char *host = strncmp(val, "http://", 7) == 0    ? val + 7
                           : strncmp(val, "https://", 8) == 0 ? val + 8
                                                              : NULL;
        if (*val && !host)
            return sk_err_set(e, -EINVAL, src, "'%s': expected http://HOST... or https://HOST...",
                              val);
        if (*val && (!*host || *host == '/'))
            return sk_err_set(e, -EINVAL, src, "'%s': the host is missing", val);
        if (*val && (strchr(val, ' ') || has_control(val)))
            return sk_err_set(e, -EINVAL, src, "'%s': a URL holds no spaces or control characters",
                              val);
        free(c->public_url);
        c->public_url = *val ? xstrndup(val, strlen(val) - (val[strlen(val) - 1] == '/')) : NULL;
    } else if (strcmp(name, "webhook-secret") == 0) {
        if (*val && strlen(val) < 16)
            return sk_err_set(e, -EINVAL, src, "must be at least 16 characters long");
        free(c->webhook_secret);
        c->webhook_secret = *val ? xstrdup(val) : NULL;
    } else if (strcmp(name, "trusted-proxies") == 0) {
        char bad[64];
        if ((why = cidr_list_parse(val, &c->trusted, bad, sizeof bad)))
            return sk_err_set(e, -EINVAL, src, "'%s': %s", bad, why);
        free(c->trusted_proxies);
        c->trusted_proxies = c->trusted.n ? xstrdup(val) : NULL;
    } else if (strcmp(name, "retention") == 0) {
        if (duration_parse(val, &n, &why) != 0)
            return sk_err_set(e, -EINVAL, src, "'%s': %s", val, why);
        if (n < 60000)
            return sk_err_set(e, -EINVAL, src, "'%s': a duration of at least 1m, e.g. 90d", val);
        c->retention_ms = n;
    } else if (strcmp(name, "builtin-threads") == 0) {
        return whole_number(val, 64, &c->builtin_threads, src, e);
    } else if (strcmp(name, "notify-backlog") == 0) {
        return whole_number(val, 1000000, &c->notify_backlog, src, e);
    } else if (strcmp(name, "durability") == 0) {
        if (strcmp(val, "normal") == 0)
            c->durability = DURABILITY_NORMAL;
        else if (strcmp(val, "full") == 0)
            c->durability = DURABILITY_FULL;
        else
            return sk_err_set(e, -EINVAL, src, "'%s': expected normal or full", val);
    } else if (strcmp(name, "log-level") == 0) {
        int l = log_level_parse(val);
        if (l < 0) return sk_err_set(e, -EINVAL, src, "'%s': expected debug, info, warn or error", val);
        c->log_level = (enum log_level)l;
    } else if (strcmp(name, "log-format") == 0) {
        if (strcmp(val, "text") == 0)
            c->log_format = LOG_TEXT;
        else if (strcmp(val, "json") == 0)
            c->log_format = LOG_JSON;
        else
            return sk_err_set(e, -EINVAL, src, "'%s': expected text or json", val);
    } else {
        return sk_err_set(e, -EINVAL, src, "unknown option; see sked serve --help");
    }
    return 0;
}

const char *mail_address_problem(const char *s)
{
    const char *at = strchr(s, '@');
    if (strlen(s) > 254) return "longer than 254 characters";
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return "expected one name@domain, such as ops@example.org";
    /* what would end the address or a command in the SMTP dialogue or a header */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("<>()[],;:\\\"", *p))
            return "it holds a space, a control character or one of < > ( ) [ ] , ; : \\ \"";
    /* sent as it is in RCPT TO and To:, which a server without SMTPUTF8 does not take */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x80)
            return "it holds a character that is not ASCII (a domain as its xn-- form, such as "
                   "ops@xn--exmple-cua.org)";
    return NULL;
}

static const char *options[] = {"db",         "listen",     "tasks",          "queues",
                                "web-dir",    "secrets-dir", "retention",  "builtin-threads", "smtp-url",
                                "smtp-from",  "public-url", "webhook-secret", "notify-backlog",
                                "webhook-retry", "mail-retry",
                                "node",       "log-cap",    "stop-grace",     "shutdown-grace",
                                "max-body",   "http-timeout", "durability", "log-level",      "log-format",
                                "trusted-proxies", "pause-queues"};

/* Where each key of the file lives: [section] key -> the option of the same meaning. */
static const struct {
    const char *section, *key, *option;
} file_keys[] = {
    {"server", "db", "db"},
    {"server", "listen", "listen"},
    {"server", "tasks", "tasks"},
    {"server", "queues", "queues"},
    {"server", "node", "node"},
    {"server", "web_dir", "web-dir"},
    {"runs", "secrets_dir", "secrets-dir"},
    {"server", "durability", "durability"},
    {"server", "max_body", "max-body"},
    {"server", "http_timeout", "http-timeout"},
    {"server", "builtin_threads", "builtin-threads"},
    {"server", "trusted_proxies", "trusted-proxies"},
    {"runs", "log_cap", "log-cap"},
    {"runs", "stop_grace", "stop-grace"},
    {"runs", "shutdown_grace", "shutdown-grace"},
    {"runs", "retention", "retention"},
    {"log", "level", "log-level"},
    {"log", "format", "log-format"},
    {"notifications", "smtp_url", "smtp-url"},
    {"notifications", "smtp_from", "smtp-from"},
    {"notifications", "public_url", "public-url"},
    {"notifications", "webhook_secret", "webhook-secret"},
    {"notifications", "backlog", "notify-backlog"},
    {"notifications", "webhook_retry", "webhook-retry"},
    {"notifications", "mail_retry", "mail-retry"},
};

struct file_ctx {
    struct config *c;
    const char *file;
    struct sk_err *e;
    FILE *f;
    int lines; /* complete lines read so far */
    int cur;   /* the line the last read came from: the one a handler call is about */
    int rc;
    int line;  /* the line of the first refused value */
    int long_line, max; /* a line longer than inih's buffer holds, and how long one may be */
    int nul_line;       /* a line with a NUL byte, which would cut its value short unseen */
    int bad_line;       /* a line inih would read without a word, wrongly; why in bad_why */
    const char *bad_why;
    bool indented;      /* the line read last starts with a space or a tab */
};

static bool known_section(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof file_keys / sizeof *file_keys; i++)
        if (strlen(file_keys[i].section) == len && memcmp(name, file_keys[i].section, len) == 0)
            return true;
    return false;
}

/* What inih would pass over in the whole line str (its line ending included) without a word,
 * or NULL: a carriage return within it (a file of CR line endings would be read as one line),
 * text after a section's ], an unknown section with no keys under it. */
static const char *silently_wrong(const char *str, bool first)
{
    for (const char *p = strchr(str, '\r'); p; p = strchr(p + 1, '\r'))
        if (p[1] != '\n' && p[1] != '\0')
            return "a carriage return within a line (a file with CR line endings?); save the file "
                   "with LF or CRLF line endings";
    if (first && strncmp(str, "\xEF\xBB\xBF", 3) == 0) str += 3; /* a BOM, which inih skips */
    str += strspn(str, " \t");
    if (*str != '[') return NULL;
    const char *end = strchr(str, ']');
    if (!end) return NULL; /* inih refuses it: not a key = value line */
    const char *rest = end + 1 + strspn(end + 1, " \t\r\n");
    if (*rest && *rest != ';' && *rest != '#')
        return "text after the section's ]; give each key a line of its own under it";
    if (!known_section(str + 1, (size_t)(end - str - 1)))
        return "unknown section (server, runs, log, notifications)";
    return NULL;
}

/* inih's reader. Its buffer is fixed (Debian's inih: 200 bytes with the newline and the NUL),
 * and it would take the rest of a longer line for a line of its own: such a line ends the
 * reading, to be refused as too long. So does a NUL byte, which would end the value there. */
static char *read_line(char *str, int num, void *arg)
{
    struct file_ctx *fc = arg;
    int n = 0, ch = EOF;
    while (n < num - 1 && (ch = getc(fc->f)) != EOF) {
        if (ch == '\0') {
            fc->nul_line = fc->lines + 1;
            return NULL;
        }
        str[n++] = (char)ch;
        if (ch == '\n') break;
    }
    if (n == 0) return NULL;
    str[n] = '\0';
    fc->cur = fc->lines + 1;
    fc->indented = str[0] == ' ' || str[0] == '\t';
    if ((fc->bad_why = silently_wrong(str, fc->cur == 1))) {
        fc->bad_line = fc->cur;
        return NULL;
    }
    if (ch == '\n') {
        fc->lines++;
    } else if (n == num - 1 && (ch = getc(fc->f)) != EOF) { /* more of this line follows */
        fc->long_line = fc->cur;
        fc->max = num - 2;
        return NULL;
    }
    return str;
}

static int file_entry(void *arg, const char *section, const char *key, const char *value)
{
    struct file_ctx *fc = arg;
    if (fc->rc) return 1; /* the first bad value is the one reported */
    if (fc->indented) { /* inih reads it as more of the key above: "queues = a=4\n  b = 1" */
        fc->line = fc->cur;
        fc->rc = sk_err_set(fc->e, -EINVAL, "config",
                            "an indented line; start keys at the beginning of the line (an "
                            "indented one would be read as another value of the key above)");
        return 0;
    }
    char where[160];
    snprintf(where, sizeof where, "%s.%s", section, key);
    size_t vlen = strlen(value);
    if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
        fc->line = fc->cur;
        fc->rc = sk_err_set(fc->e, -EINVAL, where,
                            "quotes would be kept as part of the value; write it without them");
        return 0;
    }
    for (size_t i = 0; i < sizeof file_keys / sizeof *file_keys; i++) {
        if (strcmp(section, file_keys[i].section) || strcmp(key, file_keys[i].key)) continue;
        fc->rc = set_option(fc->c, file_keys[i].option, value, where, fc->e);
        fc->line = fc->cur;
        return fc->rc == 0;
    }
    fc->line = fc->cur;
    fc->rc = sk_err_set(fc->e, -EINVAL, where,
                        known_section(section, strlen(section))
                            ? "unknown key (see docs/operations.md)"
                            : "unknown section (server, runs, log, notifications)");
    return 0;
}

int config_load_file(struct config *c, const char *file, struct sk_err *e)
{
    /* non-blocking, so that a FIFO does not hold the open (and the loop, at a reload) */
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return sk_err_set(e, -errno, "config", "%s: cannot open: %s", file, strerror(errno));
    struct stat st = {0};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        bool dir = S_ISDIR(st.st_mode);
        close(fd);
        return sk_err_set(e, dir ? -EISDIR : -EINVAL, "config",
                          dir ? "%s: is a folder; name the configuration file"
                              : "%s: not a regular file; name the configuration file",
                          file);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int err = errno;
        close(fd);
        return sk_err_set(e, -err, "config", "%s: cannot open: %s", file, strerror(err));
    }
    int rc = config_load_stream(c, f, file, e);
    fclose(f);
    return rc;
}

int config_load_stream(struct config *c, FILE *f, const char *file, struct sk_err *e)
{
    struct file_ctx fc = {.c = c, .file = file, .e = e, .f = f};
    int line = ini_parse_stream(read_line, &fc, file_entry, &fc);
    if (fc.nul_line && (line == 0 || line > fc.nul_line))
        return sk_err_set(e, -EINVAL, "config",
                          "%s:%d: a NUL byte; a configuration file is text", file, fc.nul_line);
    if (fc.bad_line && (line == 0 || line > fc.bad_line))
        return sk_err_set(e, -EINVAL, "config", "%s:%d: %s", file, fc.bad_line, fc.bad_why);
    if (fc.long_line && (line == 0 || line > fc.long_line))
        return sk_err_set(e, -EINVAL, "config", "%s:%d: a line may hold at most %d characters",
                          file, fc.long_line, fc.max);
    if (line != 0) {
        /* inih reports the first bad line: a value we refused or a line that is no pair */
        char field[128], msg[512];
        bool value_error = fc.rc && fc.line == line;
        snprintf(field, sizeof field, "%s", value_error ? e->field : "config");
        snprintf(msg, sizeof msg, "%s", value_error ? e->msg : "not a key = value line");
        return sk_err_set(e, -EINVAL, field, "%s:%d: %s", file, line, msg);
    }
    return 0;
}

/* The value of --config (the last, as of every other option given twice; or SKED_CONFIG), or
 * NULL; empty is none, from either. */
static const char *config_file(int argc, char **argv, char **env)
{
    const char *last = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = strncmp(argv[i], "--config=", 9) == 0 ? argv[i] + 9
                        : strcmp(argv[i], "--config") == 0 && i + 1 < argc ? argv[++i]
                                                                           : NULL;
        if (v) last = v;
    }
    if (last) return *last ? last : NULL;
    for (char **ep = env; ep && *ep; ep++)
        if (strncmp(*ep, "SKED_CONFIG=", 12) == 0 && (*ep)[12]) return *ep + 12;
    return NULL;
}

/* Whether option name is among the flags (--name VALUE or --name=VALUE). */
/* The variable of an option: SKED_ and its name in capitals, '_' for '-'. */
static void env_name(char var[64], const char *option)
{
    size_t o = 0;
    for (const char *p = "SKED_"; *p; p++) var[o++] = *p;
    for (const char *p = option; *p && o < 63; p++)
        var[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    var[o] = '\0';
}

/* The edits (a letter added, left out, changed, or two swapped) that make a into b, up to 3. */
static int edits(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63 || (n > m ? n - m : m - n) > 2) return 3;
    int d[64][64];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m] < 3 ? d[n][m] : 3;
}

void config_unknown_env(char **env, void (*fn)(const char *name, const char *closest, void *arg),
                        void *arg)
{
    /* the variables of sked's that are no option: the start's, the CLI's, and those a run's
     * process is given */
    static const char *others[] = {"SKED_CONFIG",   "SKED_ADMIN_TOKEN", "SKED_ADMIN_PASSWORD",
                                   "SKED_URL",      "SKED_TOKEN",       "SKED_CA_FILE",
                                   "SKED_RUN_ID",   "SKED_JOB_ID",      "SKED_QUEUE",
                                   "SKED_SINCE",    "SKED_UNTIL",       "SKED_ATTEMPT",
                                   "SKED_TRIGGER",  "SKED_STATUS_FD"};
    enum { N_OPT = sizeof options / sizeof *options, N_OTHER = sizeof others / sizeof *others };
    char known[N_OPT + N_OTHER][64];
    for (size_t i = 0; i < N_OPT; i++) env_name(known[i], options[i]);
    for (size_t i = 0; i < N_OTHER; i++) snprintf(known[N_OPT + i], 64, "%s", others[i]);
    for (char **ep = env; ep && *ep; ep++) {
        const char *eq = strchr(*ep, '=');
        if (strncmp(*ep, "SKED_", 5) != 0 || !eq || eq - *ep > 63) continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - *ep), *ep);
        const char *closest = NULL;
        int best = 3;
        bool found = false;
        for (size_t i = 0; i < N_OPT + N_OTHER && !found; i++) {
            found = strcmp(name, known[i]) == 0;
            int d = edits(name, known[i]);
            if (d < best) {
                best = d;
                closest = known[i];
            }
        }
        if (!found) fn(name, closest, arg);
    }
}

static bool flag_given(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, n) == 0 &&
            (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
            return true;
    return false;
}

int config_load(struct config *c, int argc, char **argv, char **env, struct sk_err *e)
{
    /* precedence: flags > environment > file > defaults, so the file goes first */
    const char *file = config_file(argc, argv, env);
    if (file) {
        int rc = config_load_file(c, file, e);
        if (rc) return rc;
        free(c->config_file);
        c->config_file = xstrdup(file);
    }
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        char var[64];
        env_name(var, options[i]);
        if (flag_given(argc, argv, options[i])) continue; /* the flag wins: not read */
        for (char **ep = env; ep && *ep; ep++) {
            size_t l = strlen(var);
            if (strncmp(*ep, var, l) == 0 && (*ep)[l] == '=') {
                int rc = set_option(c, options[i], *ep + l + 1, var, e);
                if (rc) return rc;
            }
        }
    }
    for (char **ep = env; ep && *ep; ep++) {
        if (strncmp(*ep, "SKED_ADMIN_TOKEN=", 17) == 0) {
            free(c->admin_token);
            c->admin_token = (*ep)[17] ? xstrdup(*ep + 17) : NULL;
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            config_usage();
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) /* an empty one named so that it shows */
            return sk_err_set(e, -EINVAL, *a ? a : "\"\"",
                              "unexpected argument; see sked serve --help");
        char name[64];
        const char *val;
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a + 2);
            bool known = strcmp(name, "config") == 0;
            for (size_t k = 0; k < sizeof options / sizeof *options && !known; k++)
                known = strcmp(name, options[k]) == 0;
            if (!known) return sk_err_set(e, -EINVAL, a, "unknown option; see sked serve --help");
            if (i + 1 >= argc) return sk_err_set(e, -EINVAL, a, "needs a value");
            val = argv[++i];
        }
        if (strcmp(name, "config") == 0) continue; /* read first, above */
        char src[80];
        snprintf(src, sizeof src, "--%s", name);
        int rc = set_option(c, name, val, src, e);
        if (rc) return rc;
    }
    return 0;
}

static void swap_str(char **a, char **b)
{
    char *t = *a;
    *a = *b;
    *b = t;
}

static bool differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

void config_reload(struct config *cur, struct config *fresh, char *restart, size_t n)
{
    struct buf r = BUF_INIT;
#define RESTART_ONLY(cond, name)                                                               \
    if (cond) buf_printf(&r, "%s%s", r.len ? "," : "", name)
    RESTART_ONLY(differs(cur->db_path, fresh->db_path), "db");
    RESTART_ONLY(differs(cur->listen_host, fresh->listen_host) ||
                     cur->listen_port != fresh->listen_port,
                 "listen");
    RESTART_ONLY(differs(cur->node, fresh->node), "node");
    RESTART_ONLY(differs(cur->web_dir, fresh->web_dir), "web_dir");
    RESTART_ONLY(differs(cur->secrets_dir, fresh->secrets_dir), "secrets_dir");
    RESTART_ONLY(cur->durability != fresh->durability, "durability");
    RESTART_ONLY(cur->max_body_bytes != fresh->max_body_bytes, "max_body");
    RESTART_ONLY(cur->http_timeout_s != fresh->http_timeout_s, "http_timeout");
    RESTART_ONLY(cur->builtin_threads != fresh->builtin_threads, "builtin_threads");
    RESTART_ONLY(differs(cur->admin_token, fresh->admin_token), "SKED_ADMIN_TOKEN");
#undef RESTART_ONLY
    snprintf(restart, n, "%s", buf_cstr(&r));
    buf_free(&r);
    /* what applies now: swapped, so fresh (freed by the caller) takes the old values */
    struct queue_cfg *q = cur->queues;
    const char **qn = cur->queue_names;
    size_t nq = cur->nqueues;
    cur->queues = fresh->queues, cur->queue_names = fresh->queue_names, cur->nqueues = fresh->nqueues;
    fresh->queues = q, fresh->queue_names = qn, fresh->nqueues = nq;
    swap_str(&cur->tasks_dir, &fresh->tasks_dir);
    swap_str(&cur->smtp_url, &fresh->smtp_url);
    swap_str(&cur->smtp_from, &fresh->smtp_from);
    swap_str(&cur->public_url, &fresh->public_url);
    swap_str(&cur->webhook_secret, &fresh->webhook_secret);
    swap_str(&cur->config_file, &fresh->config_file);
    swap_str(&cur->trusted_proxies, &fresh->trusted_proxies);
    struct cidr_list t = cur->trusted;
    cur->trusted = fresh->trusted;
    fresh->trusted = t;
    cur->log_cap_bytes = fresh->log_cap_bytes;
    cur->status_cap_bytes = fresh->status_cap_bytes;
    cur->line_max_bytes = fresh->line_max_bytes;
    cur->stop_grace_ms = fresh->stop_grace_ms;
    cur->shutdown_grace_ms = fresh->shutdown_grace_ms;
    cur->retention_ms = fresh->retention_ms;
    cur->notify_backlog = fresh->notify_backlog;
    cur->webhook_retry_ms = fresh->webhook_retry_ms;
    cur->mail_retry_ms = fresh->mail_retry_ms;
    cur->log_level = fresh->log_level;
    cur->log_format = fresh->log_format;
}

static void print_duration(FILE *f, const char *key, int64_t ms)
{
    char d[32];
    duration_format(ms, d);
    fprintf(f, "%s = %s\n", key, d);
}

void config_print(const struct config *c, FILE *f)
{
    const char *levels[] = {"debug", "info", "warn", "error"};
    bool v6 = strchr(c->listen_host, ':') != NULL;
    fprintf(f, "[server]\ndb = %s\nlisten = %s%s%s:%d\ntasks = %s\nqueues = ", c->db_path,
            v6 ? "[" : "", c->listen_host, v6 ? "]" : "", c->listen_port, c->tasks_dir);
    for (size_t i = 0; i < c->nqueues; i++)
        fprintf(f, "%s%s=%d", i ? "," : "", c->queues[i].name, c->queues[i].slots);
    fprintf(f, "\nnode = %s\n", c->node);
    if (c->web_dir) fprintf(f, "web_dir = %s\n", c->web_dir);
    fprintf(f, "durability = %s\nmax_body = %lld\nbuiltin_threads = %d\n",
            c->durability == DURABILITY_FULL ? "full" : "normal", (long long)c->max_body_bytes,
            c->builtin_threads);
    print_duration(f, "http_timeout", (int64_t)c->http_timeout_s * 1000);
    if (c->trusted_proxies) fprintf(f, "trusted_proxies = %s\n", c->trusted_proxies);
    fprintf(f, "\n[runs]\nlog_cap = %lld\n", (long long)c->log_cap_bytes);
    if (c->secrets_dir) fprintf(f, "secrets_dir = %s\n", c->secrets_dir);
    print_duration(f, "stop_grace", c->stop_grace_ms);
    print_duration(f, "shutdown_grace", c->shutdown_grace_ms);
    print_duration(f, "retention", c->retention_ms);
    fprintf(f, "\n[log]\nlevel = %s\nformat = %s\n", levels[c->log_level],
            c->log_format == LOG_JSON ? "json" : "text");
    fprintf(f, "\n[notifications]\n");
    if (c->smtp_url) {
        char *shown = smtp_url_masked(c->smtp_url);
        fprintf(f, "smtp_url = %s\n", shown);
        free(shown);
    }
    fprintf(f, "smtp_from = %s\n", c->smtp_from ? c->smtp_from : "");
    if (c->public_url) fprintf(f, "public_url = %s\n", c->public_url);
    if (c->webhook_secret) fprintf(f, "webhook_secret = ********\n");
    fprintf(f, "backlog = %d\n", c->notify_backlog);
    print_duration(f, "webhook_retry", c->webhook_retry_ms);
    print_duration(f, "mail_retry", c->mail_retry_ms);
    if (c->admin_token) fprintf(f, "\n# SKED_ADMIN_TOKEN is set (********)\n");
}
