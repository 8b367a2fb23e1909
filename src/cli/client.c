/*
 * client: the command line, the HTTP client and the output helpers shared by every client
 * command; see client.h. It owns the exit-code contract: transport failures become 3, refusals
 * by the server 1, bad command lines 2, and each is explained on stderr where it is detected.
 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"

#ifndef SKED_VERSION
#define SKED_VERSION "dev"
#endif

#define DEFAULT_URL "http://127.0.0.1:8080"

/* ---- the command line ---- */

int usage_error(const struct opts *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", o->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee '%s --help'\n", o->prog);
    return EXIT_USAGE;
}

static const struct opt_spec *find_long(const struct opt_spec *spec, const char *name, size_t len)
{
    for (; spec && spec->name; spec++)
        if (strlen(spec->name) == len && strncmp(spec->name, name, len) == 0) return spec;
    return NULL;
}

static const struct opt_spec *find_short(const struct opt_spec *spec, char c)
{
    for (; spec && spec->name; spec++)
        if (spec->short_name == c) return spec;
    return NULL;
}

static void add_val(struct opts *o, int id, const char *v)
{
    o->vals[id] = xrealloc(o->vals[id], (o->nvals[id] + 1) * sizeof *o->vals[id]);
    o->vals[id][o->nvals[id]++] = v;
}

/* url, token and cacert are the options' values, NULL when not given. */
static int setup_client(struct opts *o, const char *url, const char *token, const char *cacert)
{
    /* an option given empty is a mistake (an unset variable in a script), not a wish for the
     * environment's value */
    if (url && !*url)
        return usage_error(o, "--url is empty: give the server's URL, or leave --url out to use "
                              "SKED_URL");
    if (token && !*token)
        return usage_error(o, "--token is empty: give an API token, or leave --token out to use "
                              "SKED_TOKEN");
    const char *from = url ? "--url" : "SKED_URL";
    if (!url) url = getenv("SKED_URL");
    if (!url || !*url) url = DEFAULT_URL;
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return usage_error(o,
                           "the server URL '%s' must start with http:// or https:// "
                           "(from --url or SKED_URL)",
                           url);
    /* the routes are appended to it: a query or a fragment would swallow them */
    if (strpbrk(url, "?#"))
        return usage_error(o, "the server URL '%s' (from %s) has a %s: give the server's root, "
                              "such as https://sked.example.org or http://host:8080/sked",
                           url, from, strchr(url, '?') ? "query (?...)" : "fragment (#...)");
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    /* the routes start with /api: a URL ending so would ask for /api/api/jobs */
    const char *path = strchr(strstr(url, "//") + 2, '/');
    if (path && url + n - 4 >= path && strncasecmp(url + n - 4, "/api", 4) == 0)
        return usage_error(o, "the server URL '%.*s' (from %s) ends in /api: give the server's "
                              "root, %.*s",
                           (int)n, url, from, (int)(n - 4), url);
    o->cl.url = xstrndup(url, n);
    if (!token) token = getenv("SKED_TOKEN");
    o->cl.token = token && *token ? xstrdup(token) : NULL;
    if (cacert && !*cacert)
        return usage_error(o, "--cacert is empty: give the file of the CA's certificate, or leave "
                              "--cacert out to use SKED_CA_FILE");
    const char *ca_from = cacert ? "--cacert" : "SKED_CA_FILE";
    if (!cacert) cacert = getenv("SKED_CA_FILE");
    /* a file that cannot be read is said so now, not as a failed TLS handshake */
    if (cacert && *cacert && access(cacert, R_OK) != 0)
        return usage_error(o, "%s %s: cannot read it (%s)", ca_from, cacert, strerror(errno));
    struct stat st;
    if (cacert && *cacert && stat(cacert, &st) == 0 && S_ISDIR(st.st_mode))
        return usage_error(o, "%s %s is a folder: give the file of the CA's certificate (PEM)",
                           ca_from, cacert);
    o->cl.cacert = cacert && *cacert ? xstrdup(cacert) : NULL;
    return -1;
}

static int parse(struct opts *o, const char *pos_name, bool pos_required, int argc, char **argv)
{
    /* --help wins over any mistake next to it: whoever asks for help gets it */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(o->usage, stdout);
            return 0;
        }
    }
    const char *url = NULL, *token = NULL, *cacert = NULL;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (!pos_name) return usage_error(o, "unexpected argument '%s'", a);
            if (o->arg)
                return usage_error(o, "only one %s may be given ('%s' and '%s')", pos_name, o->arg,
                                   a);
            o->arg = a;
            continue;
        }
        const char *inline_val = NULL;
        char shown[64]; /* the option as typed, without its value */
        const struct opt_spec *sp;
        bool is_url = false, is_token = false, is_cacert = false;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq) inline_val = eq + 1;
            snprintf(shown, sizeof shown, "--%.*s", (int)(len < 40 ? len : 40), name);
            /* a local tool talks to no server: it takes neither */
            is_url = !o->local && len == 3 && strncmp(name, "url", 3) == 0;
            is_token = !o->local && len == 5 && strncmp(name, "token", 5) == 0;
            is_cacert = !o->local && len == 6 && strncmp(name, "cacert", 6) == 0;
            sp = find_long(o->spec, name, len);
            if (!sp && !is_url && !is_token && !is_cacert)
                return usage_error(o, "unknown option '%s'", shown);
        } else {
            /* a value may follow the letter at once: -n3 */
            sp = find_short(o->spec, a[1]);
            if (sp && sp->has_value && a[2] != '\0') inline_val = a + 2;
            if (a[2] != '\0' && !inline_val) sp = NULL;
            snprintf(shown, sizeof shown, "%.*s", inline_val ? 2 : 40, a);
            if (!sp) return usage_error(o, "unknown option '%s'", shown);
        }
        bool wants = is_url || is_token || is_cacert || sp->has_value;
        const char *v = "";
        if (wants) {
            if (inline_val)
                v = inline_val;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return usage_error(o, "option %s needs a value", shown);
        } else if (inline_val) {
            return usage_error(o, "option %s takes no value", shown);
        }
        /* every value but a path becomes text in JSON: bytes that are no UTF-8 are refused
         * here rather than dropped on the way */
        bool path = is_cacert ||
                    (sp && (strcmp(sp->name, "db") == 0 || strcmp(sp->name, "output") == 0));
        if (!path && !utf8_valid(v, strlen(v)))
            return usage_error(o, "option %s: the value is not valid UTF-8 text", shown);
        /* an empty --db (an unset variable: --db "$STORE") is not the default store */
        if (sp && strcmp(sp->name, "db") == 0 && !*v)
            return usage_error(o, "--db is empty: give the store's file, or leave --db out to "
                                  "use SKED_DB (or var/sked.db)");
        /* a second value would silently win: --role viewer ... --role admin */
        if ((is_url && url) || (is_token && token) || (is_cacert && cacert) ||
            (sp && sp->has_value && !sp->repeatable && o->nvals[sp->id]))
            return usage_error(o, "option %s is given twice; give it once", shown);
        if (is_url)
            url = v;
        else if (is_token)
            token = v;
        else if (is_cacert)
            cacert = v;
        else
            add_val(o, sp->id, v);
    }
    if (pos_name && pos_required && !o->arg) return usage_error(o, "missing %s", pos_name);
    if (o->arg && !*o->arg) return usage_error(o, "%s is empty", pos_name);
    bool pos_path = pos_name && (!strcmp(pos_name, "FILE") || !strcmp(pos_name, "BACKUP"));
    if (o->arg && !pos_path && !utf8_valid(o->arg, strlen(o->arg)))
        return usage_error(o, "%s: not valid UTF-8 text", pos_name);
    return o->local ? -1 : setup_client(o, url, token, cacert);
}

static int parse_all(struct opts *o, const char *prog, const char *usage,
                     const struct opt_spec *spec, const char *pos_name, bool pos_required,
                     bool local, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->local = local;
    o->prog = prog;
    o->usage = usage;
    o->spec = spec;
    o->cl.spec = spec;
    o->cl.opts = o;
    int rc = parse(o, pos_name, pos_required, argc, argv);
    if (rc >= 0) opts_free(o); /* callers only free what they go on with */
    return rc;
}

int opts_parse(struct opts *o, const char *prog, const char *usage, const struct opt_spec *spec,
               const char *pos_name, int argc, char **argv)
{
    return parse_all(o, prog, usage, spec, pos_name, true, false, argc, argv);
}

int opts_parse_local(struct opts *o, const char *prog, const char *usage,
                     const struct opt_spec *spec, const char *pos_name, int argc, char **argv)
{
    return parse_all(o, prog, usage, spec, pos_name, pos_name != NULL, true, argc, argv);
}

int opts_parse_optional(struct opts *o, const char *prog, const char *usage,
                        const struct opt_spec *spec, const char *pos_name, int argc, char **argv)
{
    return parse_all(o, prog, usage, spec, pos_name, false, false, argc, argv);
}

void opts_free(struct opts *o)
{
    for (int i = 0; i < OPTS_MAX; i++)
        free(o->vals[i]);
    free(o->cl.url);
    free(o->cl.token);
    free(o->cl.cacert);
}

bool opts_has(const struct opts *o, int id)
{
    return o->nvals[id] > 0;
}

const char *opts_get(const struct opts *o, int id)
{
    return o->nvals[id] ? o->vals[id][o->nvals[id] - 1] : NULL;
}

const char *opt_name(const struct opts *o, int id)
{
    const struct opt_spec *sp = o->spec;
    while (sp->name && sp->id != id)
        sp++;
    return sp->name ? sp->name : "?";
}

int opts_time(const struct opts *o, int id, int64_t *us)
{
    const char *v = opts_get(o, id), *why;
    if (v && time_parse(v, us, &why) != 0) return usage_error(o, "--%s: %s", opt_name(o, id), why);
    return 0;
}

static bool same_wall(const struct tm *a, const struct tm *b)
{
    return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
           a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* A note on stderr when the local wall time want (given as v) happens twice here, or not at
 * all, saying which instant (taken) it was read as and how to name the other. */
static void local_time_note(const struct opts *o, int id, const char *v, const struct tm *want,
                            time_t taken)
{
    struct tm got, alt_tm, alt = *want;
    char at[64], off[8], alt_off[8];
    localtime_r(&taken, &got);
    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S %Z", &got);
    long g = got.tm_gmtoff;
    snprintf(off, sizeof off, "%c%02ld:%02ld", g < 0 ? '-' : '+', labs(g) / 3600, labs(g) % 3600 / 60);
    if (!same_wall(&got, want)) {
        fprintf(stderr, "%s: note: --%s %s does not exist here (the clocks jump forward "
                        "over it); read as %s (%s)\n",
                o->prog, opt_name(o, id), v, at, off);
        return;
    }
    alt.tm_isdst = !got.tm_isdst;
    time_t other = mktime(&alt);
    if (other == (time_t)-1 || other == taken || !localtime_r(&other, &alt_tm) ||
        !same_wall(&alt_tm, want))
        return;
    long a = alt_tm.tm_gmtoff;
    snprintf(alt_off, sizeof alt_off, "%c%02ld:%02ld", a < 0 ? '-' : '+', labs(a) / 3600,
             labs(a) % 3600 / 60);
    fprintf(stderr, "%s: note: --%s %s happens twice here (the clocks fall back); read as "
                    "the %s, %s (%s); add %s for the %s\n",
            o->prog, opt_name(o, id), v, taken < other ? "first" : "second", at, off, alt_off,
            taken < other ? "second" : "first");
}

/* The instant the local wall time want names with tm_isdst set to dst (0 or 1), when it does
 * name one (it reads back as that wall time); else -1. */
static time_t local_reading(const struct tm *want, int dst)
{
    struct tm tm = *want, back;
    tm.tm_isdst = dst;
    time_t t = mktime(&tm);
    return t != (time_t)-1 && localtime_r(&t, &back) && same_wall(&back, want) ? t : (time_t)-1;
}

int opts_time_local(const struct opts *o, int id, bool end, int64_t *us)
{
    int rc = opts_time(o, id, us);
    const char *v = opts_get(o, id);
    if (rc || !v) return rc;
    /* a zone after the date (Z, +01:00, -05:00) says it all; else the wall clock is local,
     * as the tables show times */
    const char *t = strlen(v) > 10 ? v + 10 : "";
    if (strpbrk(t, "Zz+-")) return 0;
    time_t secs = (time_t)(*us / 1000000);
    int64_t frac = *us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    struct tm tm, want;
    gmtime_r(&secs, &tm);
    want = tm;
    /* a wall time the clocks show twice (they fall back) names two instants: a start (--since,
     * --from) takes the first, which misses nothing of the hour between, an end (--until,
     * --to) the second, for the same reason */
    time_t std = local_reading(&want, 0), dst = local_reading(&want, 1), local;
    if (std != (time_t)-1 && dst != (time_t)-1)
        local = (std < dst) == !end ? std : dst;
    else if (std != (time_t)-1 || dst != (time_t)-1)
        local = std != (time_t)-1 ? std : dst;
    else { /* none: the clocks jump over it, and mktime says where it lands */
        tm.tm_isdst = -1;
        local = mktime(&tm);
    }
    if (local == (time_t)-1) return usage_error(o, "--%s: not a local time", opt_name(o, id));
    *us = (int64_t)local * 1000000 + frac;
    local_time_note(o, id, v, &want, local);
    return 0;
}

const char *text_line_problem(const char *v, size_t max, char *buf, size_t len)
{
    size_t n = utf8_chars(v);
    if (n < 1 || n > max) {
        snprintf(buf, len, "must be 1 to %zu characters", max);
        return buf;
    }
    if (utf8_blank(v)) return "must not be blank";
    if (utf8_has_control(v)) return "must be one line without control characters";
    return NULL;
}

int opts_page(const struct opts *o, int page_id, int size_id, long *page, long *size)
{
    *page = 1;
    *size = 25;
    int rc = opts_int(o, page_id, 1, 1000000000, page);
    return rc ? rc : opts_int(o, size_id, 1, 1000, size);
}

void query_param(struct buf *path, const char *key, const char *value)
{
    if (!value) return;
    char *e = client_escape(value);
    buf_printf(path, "&%s=%s", key, e);
    free(e);
}

void query_time(struct buf *path, const char *key, int64_t us)
{
    char ts[TIME_STR_MAX];
    time_format(us, ts);
    query_param(path, key, ts);
}

int opts_int(const struct opts *o, int id, long min, long max, long *out)
{
    const char *v = opts_get(o, id);
    if (!v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < min || n > max)
        return usage_error(o, "--%s must be a whole number from %ld to %ld, not '%s'",
                           opt_name(o, id), min, max, v);
    *out = n;
    return 0;
}

int cli_group(const char *prog, const char *usage, const struct verb *verbs, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "%s: a command is missing\n\n", prog);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    for (const struct verb *v = verbs; v->name; v++)
        if (strcmp(v->name, argv[1]) == 0) return v->fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\nsee '%s --help'\n", prog, argv[1], prog);
    return EXIT_USAGE;
}

/* ---- the server ---- */

struct body_sink {
    struct buf data;
    bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct body_sink *s = arg;
    size_t len = size * n;
    if (s->data.len + len > CLIENT_MAX_BODY) {
        s->too_big = true;
        return 0;
    }
    buf_append(&s->data, p, len);
    return len;
}

/* ---- stopping a follow ---- */

static volatile sig_atomic_t stop_signal; /* the SIGINT or SIGTERM caught, else 0 */
static struct sigaction saved_int, saved_term;

static void on_stop(int sig)
{
    stop_signal = sig;
}

void client_catch_stop(bool on)
{
    if (on) {
        /* no SA_RESTART: the poll a request waits in returns, and curl asks on_progress */
        struct sigaction sa = {.sa_handler = on_stop};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
    } else {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
    }
}

int client_stopped(void)
{
    return stop_signal;
}

/* curl's progress callback, called while a transfer waits too: non-zero ends it. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return stop_signal != 0;
}

static CURL *new_handle(const struct client *c, const char *url, const char *accept,
                        struct curl_slist **hdrs, char *errbuf)
{
    static bool ready;
    if (!ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ready = true;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        fputs("sked: the HTTP client could not be set up\n", stderr);
        abort();
    }
    *hdrs = curl_slist_append(NULL, accept);
    /* curl would otherwise wait for a "100 Continue" before sending larger bodies */
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    if (c->token) {
        char *auth = xasprintf("Authorization: Bearer %s", c->token);
        *hdrs = curl_slist_append(*hdrs, auth);
        free(auth);
    }
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sked/" SKED_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLIENT_MAX_BODY);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (c->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    return h;
}

/* Says a failure on stderr, and in c->said for a caller that reports it again (job import's
 * --json). */
static void say(const struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->said) {
        va_list again;
        va_copy(again, ap);
        buf_vprintf(c->said, fmt, again);
        va_end(again);
    }
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static int transport_error(const struct client *c, const char *url, CURLcode rc,
                           const char *errbuf)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    /* a server that answered, but whose certificate is not trusted here: a TLS proxy with a
     * certificate of a private CA, or of another name */
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_ISSUER_ERROR) {
        say(c, "sked: the server's TLS certificate at %s is not trusted: %s\n", url, why);
        if (c->cacert)
            say(c, "sked: check that the CA certificate in %s (--cacert or SKED_CA_FILE) signed "
                   "it, and that the URL names a host it is for\n",
                c->cacert);
        else
            say(c, "sked: for a certificate of a private CA, give that CA's certificate with "
                   "--cacert FILE (or SKED_CA_FILE); check that the URL names a host it is for\n");
        return EXIT_UNREACHABLE;
    }
    if (rc == CURLE_SSL_CACERT_BADFILE) {
        say(c, "sked: cannot use the CA certificates in %s (--cacert or SKED_CA_FILE): %s\n",
            c->cacert ? c->cacert : "the system's store", why);
        say(c, "sked: give a file of PEM certificates (-----BEGIN CERTIFICATE-----)\n");
        return c->cacert ? EXIT_USAGE : EXIT_UNREACHABLE; /* the file given is at fault */
    }
    say(c, "sked: cannot reach the server at %s: %s\n", url, why);
    if (rc == CURLE_SSL_CONNECT_ERROR && strncasecmp(c->url, "https://", 8) == 0)
        say(c, "sked: the server did not answer TLS: if it serves plain http (as `sked serve` "
               "does without a proxy in front), use http://%s\n",
            c->url + 8);
    else
        say(c, "sked: check SKED_URL (or --url) and that `sked serve` is running there\n");
    return EXIT_UNREACHABLE;
}

/* A proxy's answer that sked behind it does not answer (502, 503, 504 without the API's JSON:
 * sked's own 503, the store failed, has it): a server that is down, as a refused connection
 * is, not a refusal. */
static bool gateway_down(long status, const struct buf *body)
{
    if (status != 502 && status != 503 && status != 504) return false;
    struct sk_err e = {0};
    json_t *v = body->len ? json_parse(body->data, body->len, "body", &e) : NULL;
    bool sked = json_str(v, "message") != NULL;
    json_decref(v);
    return !sked;
}

static int gateway_error(const struct client *c, const char *url, long status)
{
    say(c, "sked: the proxy in front of %s answered HTTP %ld: sked behind it does not answer\n",
        url, status);
    say(c, "sked: check that `sked serve` is running behind the proxy, then try again\n");
    return EXIT_UNREACHABLE;
}

static int too_big(const char *url)
{
    fprintf(stderr, "sked: the answer from %s is larger than %u MiB; refused\n", url,
            CLIENT_MAX_BODY >> 20);
    return EXIT_FAIL;
}

/*
 * The API's words in the CLI's: the option a field of a request comes from, and its pointers
 * to other endpoints as the commands that read them. One table for every command: each sends
 * a field from the option that sets it (title from --title, default_queue from --queue). Where
 * two options of a command may send one field (--since and --arg since=..., --tz and --crontab
 * timezone=...), the one whose entry is "typed" names it only when it was given. A "keyed"
 * option sends a member of its field per KEY=VALUE it takes: the member args.folder is named
 * --arg folder=..., schedule.hour --crontab hour=.... A "whole" entry names its field alone,
 * not the field's members: what a run's arguments resolve to as a whole (args) came from
 * --custom-args when that was given. A "within" option sends its field as one JSON value, and
 * names a member by where it is in it: args.pw from --args-json is "--args-json (at pw)".
 */
static const struct {
    const char *field, *flag;
    bool typed, keyed, whole, within;
} field_flags[] = {
    {"title", "--title"},
    {"description", "--description"},
    {"task", "--task"},
    {"active", "--active/--inactive"},
    {"default_queue", "--queue"},
    {"queue", "--queue"},
    {"timeout", "--timeout"},
    {"args", "--custom-args", true, false, true},
    {"args", "--args-json", true, false, false, true},
    {"args", "--arg", false, true},
    {"args.since", "--since", true, false},
    {"args.custom_args", "--custom-args"},
    {"custom_args", "--custom-args"},
    {"overlap", "--overlap"},
    {"catchup", "--catchup"},
    {"catchup_limit", "--catchup-limit"},
    {"max_retries", "--retries"},
    {"retry_backoff", "--retry-backoff"},
    {"retention", "--retention"},
    {"notification_emails", "--notify-email"},
    {"notification_statuses", "--notify-on"},
    {"notification_webhooks", "--notify-webhook"},
    {"on_success", "--on-success"},
    {"alert_after", "--alert-after"},
    {"until", "--until"},
    {"from", "--from"},
    {"to", "--to"},
    {"step", "--step"},
    {"action", "--action"},
    {"user", "--user"},
    {"job_id", "--job"},
    {"trigger", "--trigger"},
    {"reason", "--reason"},
    {"schedule", "--interval", true, false},
    {"schedule", "--crontab", true, true},
    {"schedule", "--cron", true, false},
    {"schedule.expression", "--cron"},
    {"schedule.jitter", "--jitter", true, false},
    {"schedule.timezone", "--tz", true, false},
};

static const struct {
    const char *api, *cli;
} api_words[] = {
    {"see GET /api/tasks", "see sked tasks"},
    {"see GET /api/queues", "see sked queues"},
    {"see GET /api/jobs", "see sked job list"},
    {"with POST /api/tokens or sked token create", "with sked token create"},
    {"leave out args and custom_args", "leave out --arg, --since and --custom-args"},
    {"send Authorization: Bearer TOKEN, or sign in with POST /api/session", "no token was sent"},
};

/* "Permission denied: POST /api/jobs/{}/runs needs ..." as "Permission denied: this command
 * needs ...": the route is the API's name for what the command does. NULL when msg is another. */
static const char *denied_rest(const char *msg)
{
    static const char head[] = "Permission denied: ";
    if (strncmp(msg, head, sizeof head - 1) != 0) return NULL;
    const char *p = msg + sizeof head - 1, *method = p;
    while (*p >= 'A' && *p <= 'Z') p++;
    if (p == method || strncmp(p, " /api/", 6) != 0) return NULL;
    const char *needs = strstr(p, " needs ");
    return needs && !memchr(p + 1, ' ', (size_t)(needs - p - 1)) ? needs + 1 : NULL;
}

/* Whether c's command has the option that flag ("--arg", "--active/--inactive") names, and,
 * when typed, whether it was given. */
static bool has_flag(const struct client *c, const char *flag, bool typed)
{
    const char *name = flag + 2;
    size_t n = strcspn(name, " /");
    for (const struct opt_spec *sp = c->spec; sp && sp->name; sp++)
        if (strlen(sp->name) == n && strncmp(sp->name, name, n) == 0)
            return !typed || (c->opts && opts_has(c->opts, sp->id));
    return false;
}

/* Appends field as the option of c's command it came from: "default_queue" as "--queue",
 * "args.folder" as "--arg folder=...", "notification_emails[1]" as "--notify-email"; as it is
 * when the command has no option that sends it (or the request was a file's). */
static void field_words(struct buf *b, const char *field, const struct client *c)
{
    size_t best = SIZE_MAX, best_len = 0;
    for (size_t i = 0; !c->file_fields && i < sizeof field_flags / sizeof *field_flags; i++) {
        size_t n = strlen(field_flags[i].field);
        if (strncmp(field, field_flags[i].field, n) == 0 &&
            (field[n] == '\0' || (!field_flags[i].whole && (field[n] == '.' || field[n] == '['))) &&
            n > best_len && has_flag(c, field_flags[i].flag, field_flags[i].typed)) {
            best = i;
            best_len = n;
        }
    }
    if (best == SIZE_MAX) {
        buf_puts(b, shown(field));
        return;
    }
    const char *rest = field + best_len;
    if (field_flags[best].keyed && *rest == '.' && rest[1]) {
        /* a member it sets from KEY=VALUE: its name, and where inside its value when deeper */
        size_t key = strcspn(rest + 1, ".[");
        char *name = xstrndup(rest + 1, key);
        buf_printf(b, "%s %s=...", field_flags[best].flag, shown(name));
        if (rest[1 + key]) buf_printf(b, " (at %s)", shown(rest + 1));
        free(name);
        return;
    }
    buf_puts(b, field_flags[best].flag);
    if (field_flags[best].within && *rest) buf_printf(b, " (at %s)", shown(rest + (*rest == '.')));
}

/* Appends msg with the API's pointers and names put as the CLI's. */
static void message_words(struct buf *b, const char *msg)
{
    struct buf t = BUF_INIT;
    const char *rest = denied_rest(msg);
    if (rest) buf_puts(b, "Permission denied: this command ");
    text_clean(&t, rest ? rest : msg, 0);
    const char *p = buf_cstr(&t);
    while (*p) {
        size_t i = 0, n = 0;
        const char *hit = NULL;
        for (size_t k = 0; k < sizeof api_words / sizeof *api_words; k++) {
            const char *at = strstr(p, api_words[k].api);
            if (at && (!hit || at < hit)) {
                hit = at;
                i = k;
            }
        }
        if (!hit) {
            buf_puts(b, p);
            break;
        }
        n = strlen(api_words[i].api);
        buf_append(b, p, (size_t)(hit - p));
        buf_puts(b, api_words[i].cli);
        p = hit + n;
    }
    buf_free(&t);
}

/* Explains a non-2xx answer to c on stderr (and in c->said): the API's message and field
 * errors (in the CLI's words, as field_words), else the raw start of it. */
static int refused(long status, const struct buf *body, const struct client *c)
{
    struct sk_err e = {0};
    json_t *v = body->len ? json_parse(body->data, body->len, "body", &e) : NULL;
    const char *msg = json_str(v, "message");
    struct buf out = BUF_INIT;
    if (msg) {
        buf_puts(&out, "sked: ");
        if (c->about) buf_printf(&out, "%s: ", c->about);
        message_words(&out, msg);
        buf_printf(&out, " (HTTP %ld)\n", status);
    } else {
        struct buf t = BUF_INIT;
        text_clean(&t, buf_cstr(body), 200);
        buf_printf(&out, "sked: %s%sthe server answered HTTP %ld%s%s\n",
                   c->about ? c->about : "", c->about ? ": " : "", status, t.len ? ": " : "",
                   buf_cstr(&t));
        buf_free(&t);
    }
    size_t i;
    json_t *err;
    json_array_foreach(json_object_get(v, "errors"), i, err)
    {
        const char *field = json_str(err, "field");
        struct buf f = BUF_INIT;
        field_words(&f, field ? field : "?", c);
        size_t j;
        json_t *m;
        json_array_foreach(json_object_get(err, "messages"), j, m)
        {
            struct buf text = BUF_INIT;
            message_words(&text, json_is_string(m) ? json_string_value(m) : "invalid");
            buf_printf(&out, "  %s: %s\n", buf_cstr(&f), buf_cstr(&text));
            /* --arg reads its VALUE as JSON first: 5 is a number, "5" the text */
            if (strncmp(buf_cstr(&f), "--arg ", 6) == 0 &&
                strncmp(buf_cstr(&text), "must be of type string, not ", 28) == 0)
                buf_puts(&out, "  (--arg takes VALUE as JSON when it parses: for text, quote it "
                               "as JSON, --arg 'KEY=\"VALUE\"')\n");
            buf_free(&text);
        }
        buf_free(&f);
    }
    if (status == 401) buf_puts(&out, "sked: set SKED_TOKEN (or --token) to a valid API token\n");
    fputs(buf_cstr(&out), stderr);
    if (c->said) buf_puts(c->said, buf_cstr(&out));
    buf_free(&out);
    json_decref(v);
    return EXIT_FAIL;
}

static int call(const struct client *c, const char *method, const char *path, const json_t *body,
                json_t **out, bool quiet)
{
    if (out) *out = NULL;
    char *url = xasprintf("%s%s", c->url, path);
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs;
    CURL *h = new_handle(c, url, "Accept: application/json", &hdrs, errbuf);
    char *payload = NULL;
    if (body) {
        payload = json_dump(body);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        /* an empty body still needs its Content-Length: 0 */
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    /* sked answers at once: 30 s without a byte is a server that will not (or not sked) */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    struct body_sink sink = {BUF_INIT, false};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (c->status) *c->status = status;
    int rc = 0;
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = 128 + stop_signal; /* a signal: the caller says what it stopped */
    } else if (quiet && (sink.too_big || cc != CURLE_OK)) {
        rc = cc == CURLE_OK || cc == CURLE_FILESIZE_EXCEEDED ? EXIT_FAIL : EXIT_UNREACHABLE;
    } else if (sink.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = too_big(url);
    } else if (cc != CURLE_OK) {
        rc = transport_error(c, url, cc, errbuf);
    } else if ((status < 200 || status > 299) && gateway_down(status, &sink.data)) {
        rc = quiet ? EXIT_UNREACHABLE : gateway_error(c, url, status);
    } else if (status >= 300 && status <= 399) {
        /* never followed: the token would go along to wherever it points */
        char *to = NULL;
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &to);
        if (!quiet)
            fprintf(stderr,
                    "sked: %s answered HTTP %ld, a redirect%s%s, not followed: set SKED_URL (or "
                    "--url) to the address of sked itself\n",
                    url, status, to ? " to " : "", to ? to : "");
        rc = EXIT_FAIL;
    } else if (status < 200 || status > 299) {
        rc = quiet ? EXIT_FAIL : refused(status, &sink.data, c);
    } else if (out && status != 204) {
        /* every answer of sked's with a body is a JSON object with something in it */
        struct sk_err e = {0};
        *out = sink.data.len ? json_parse(sink.data.data, sink.data.len, "body", &e) : NULL;
        const char *wrong = !sink.data.len                         ? "is empty"
                            : !*out                                ? "is not JSON"
                            : !json_is_object(*out) || !json_object_size(*out) ? "is not sked's"
                                                                   : NULL;
        if (wrong) {
            if (!quiet)
                fprintf(stderr,
                        "sked: the answer from %s %s%s%s (HTTP %ld): check SKED_URL (or --url) "
                        "and that `sked serve` is running there\n",
                        url, wrong, e.msg[0] ? ": " : "", e.msg, status);
            json_decref(*out);
            *out = NULL;
            rc = EXIT_FAIL;
        }
    }
    buf_free(&sink.data);
    free(payload);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    return rc;
}

int client_call(const struct client *c, const char *method, const char *path, const json_t *body,
                json_t **out)
{
    return call(c, method, path, body, out, false);
}

int client_call_quiet(const struct client *c, const char *method, const char *path,
                      const json_t *body, json_t **out)
{
    return call(c, method, path, body, out, true);
}

static int vget(const struct client *c, json_t **out, bool quiet, const char *fmt, va_list ap)
{
    struct buf path = BUF_INIT;
    buf_vprintf(&path, fmt, ap);
    int rc = call(c, "GET", buf_cstr(&path), NULL, out, quiet);
    buf_free(&path);
    return rc;
}

int client_get(const struct client *c, json_t **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vget(c, out, false, fmt, ap);
    va_end(ap);
    return rc;
}

int client_get_quiet(const struct client *c, json_t **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vget(c, out, true, fmt, ap);
    va_end(ap);
    return rc;
}

char *client_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) abort();
    char *copy = xstrdup(e);
    curl_free(e);
    return copy;
}

struct sse {
    sse_fn fn;
    void *arg;
    CURL *h;
    long status;          /* 0 until the first bytes tell */
    struct body_sink err; /* the body of a refusal */
    struct buf pending;   /* an incomplete line */
    struct buf event, data, id;
    bool has_data;
    bool started; /* a 200 arrived: a later failure is a broken stream, not an unreachable server */
    int rc;       /* what fn stopped with */
};

static int sse_line(struct sse *s, const char *line)
{
    if (!*line) {
        int rc = 0;
        if (s->has_data || s->event.len)
            rc = s->fn(s->arg, s->event.len ? buf_cstr(&s->event) : "message", buf_cstr(&s->id),
                       buf_cstr(&s->data));
        buf_reset(&s->event);
        buf_reset(&s->data);
        buf_reset(&s->id);
        s->has_data = false;
        return rc;
    }
    if (line[0] == ':') return 0; /* a comment: the server's keep-alive ping */
    const char *colon = strchr(line, ':');
    size_t flen = colon ? (size_t)(colon - line) : strlen(line);
    const char *v = colon ? colon + 1 : "";
    if (*v == ' ') v++;
    if (flen == 5 && strncmp(line, "event", 5) == 0) {
        buf_reset(&s->event);
        buf_puts(&s->event, v);
    } else if (flen == 4 && strncmp(line, "data", 4) == 0) {
        if (s->has_data) buf_putc(&s->data, '\n');
        buf_puts(&s->data, v);
        s->has_data = true;
    } else if (flen == 2 && strncmp(line, "id", 2) == 0) {
        buf_reset(&s->id);
        buf_puts(&s->id, v);
    }
    return 0;
}

static size_t on_sse(char *p, size_t size, size_t n, void *arg)
{
    struct sse *s = arg;
    size_t len = size * n;
    if (!s->status) curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) return on_body(p, size, n, &s->err);
    s->started = true;
    if (s->pending.len + s->data.len + len > CLIENT_MAX_BODY) {
        s->err.too_big = true;
        return 0;
    }
    buf_append(&s->pending, p, len);
    size_t start = 0;
    for (size_t i = 0; i < s->pending.len; i++) {
        if (s->pending.data[i] != '\n') continue;
        size_t end = i;
        if (end > start && s->pending.data[end - 1] == '\r') end--;
        s->pending.data[end] = '\0';
        int rc = sse_line(s, s->pending.data + start);
        start = i + 1;
        if (rc) {
            s->rc = rc;
            return 0;
        }
    }
    s->pending.len -= start;
    memmove(s->pending.data, s->pending.data + start, s->pending.len);
    s->pending.data[s->pending.len] = '\0';
    return len;
}

int client_stream(const struct client *c, const char *path, sse_fn fn, void *arg, bool resuming)
{
    char *url = xasprintf("%s%s", c->url, path);
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs;
    CURL *h = new_handle(c, url, "Accept: text/event-stream", &hdrs, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    /* no overall timeout: a run may take hours; the server pings every 15 s, so a minute of
     * silence means the connection is gone */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    struct sse s = {.fn = fn, .arg = arg, .h = h, .err = {BUF_INIT, false}};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (s.rc)
        rc = s.rc;
    else if (cc == CURLE_ABORTED_BY_CALLBACK)
        rc = 128 + stop_signal;
    else if (s.err.too_big || cc == CURLE_FILESIZE_EXCEEDED)
        rc = too_big(url);
    else if (cc != CURLE_OK)
        rc = s.started                              ? CLIENT_STREAM_BROKEN
             : resuming && cc == CURLE_COULDNT_CONNECT ? CLIENT_STREAM_DOWN
                                                       : transport_error(c, url, cc, errbuf);
    else if (status != 200 && gateway_down(status, &s.err.data))
        rc = resuming ? CLIENT_STREAM_DOWN : gateway_error(c, url, status); /* restarting, behind a proxy */
    else if (status != 200)
        rc = refused(status, &s.err.data, c);
    buf_free(&s.err.data);
    buf_free(&s.pending);
    buf_free(&s.event);
    buf_free(&s.data);
    buf_free(&s.id);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    return rc;
}

/* ---- output ---- */

/* The length of the character s starts with (of at most n bytes), and in *w the columns a
 * terminal draws it in: utf8_next's, but none for a character that a zero-width joiner
 * (U+200D) joins to the one before, as terminals draw 👨‍👩‍👧 as one emoji. *joined carries the
 * joiner from one call to the next (false before the first). */
static size_t next_char(const char *s, size_t n, int *w, bool *joined)
{
    size_t k = utf8_next(s, n, w);
    if (*joined) *w = 0;
    *joined = k == 3 && memcmp(s, "\xe2\x80\x8d", 3) == 0;
    return k;
}

/* The columns the first len bytes of s take on a terminal. */
static size_t text_cols(const char *s, size_t len)
{
    size_t cols = 0;
    bool joined = false;
    for (size_t i = 0; i < len;) {
        int w;
        i += next_char(s + i, len - i, &w, &joined);
        cols += (size_t)w;
    }
    return cols;
}

/* Whether the character s starts with (k bytes) is one of Unicode's bidirectional controls:
 * the embeddings and overrides U+202A..U+202E and the isolates U+2066..U+2069, with which a
 * value reverses what follows it on a terminal that does bidi (the rest of a table's row). */
static bool bidi_control(const char *s, size_t k)
{
    const unsigned char *u = (const unsigned char *)s;
    return k == 3 && u[0] == 0xe2 &&
           ((u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae) ||
            (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9));
}

void text_clean(struct buf *b, const char *s, size_t max_cols)
{
    if (!s) s = "";
    size_t len = strcspn(s, "\r\n");
    bool more = s[len + strspn(s + len, "\r\n\t ")] != '\0'; /* lines after the first */
    /* measured first, so a cut can leave room for the ellipsis */
    bool cut = more || (max_cols && text_cols(s, len) > max_cols);
    size_t room = !max_cols ? SIZE_MAX : cut ? max_cols - 1 : max_cols;
    size_t used = 0;
    bool joined = false;
    int w;
    for (size_t i = 0; i < len;) {
        size_t k = next_char(s + i, len - i, &w, &joined);
        bool bidi = bidi_control(s + i, k);
        if (bidi) w = 1; /* drawn as '?' */
        if (used + (size_t)w > room) break;
        used += (size_t)w;
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\t')
            buf_putc(b, ' ');
        else if (ch < 0x20 || ch == 0x7f || bidi)
            buf_putc(b, '?');
        else if (k == 2 && ch == 0xc2 && (unsigned char)s[i + 1] < 0xa0)
            buf_putc(b, '?'); /* U+0080..U+009F: C1 controls, which some terminals obey */
        else
            buf_append(b, s + i, k);
        i += k;
    }
    if (cut) buf_puts(b, "\xe2\x80\xa6");
}

const char *shown(const char *s)
{
    /* a few at once, for one printf with several values; kept for the next calls */
    static struct buf ring[8];
    static unsigned next;
    struct buf *b = &ring[next++ % 8];
    buf_reset(b);
    if (!s) return "-";
    text_clean(b, s, 0);
    return buf_cstr(b);
}

void table_init(struct table *t, size_t ncols, ...)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->free_text = 0;
    t->cells = xmalloc(ncols * sizeof *t->cells);
    va_list ap;
    va_start(ap, ncols);
    for (size_t i = 0; i < ncols; i++)
        t->cells[i] = xstrdup(va_arg(ap, const char *));
    va_end(ap);
}

void table_row(struct table *t, ...)
{
    t->nrows++;
    t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
    char **row = t->cells + t->nrows * t->ncols;
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *v = va_arg(ap, const char *);
        row[i] = xstrdup(v && *v ? v : "-"); /* made visible as table_print writes it */
    }
    va_end(ap);
}

size_t terminal_cols(FILE *f)
{
    int fd = fileno(f);
    if (fd < 0 || !isatty(fd)) return 0;
    const char *env = getenv("COLUMNS");
    char *end;
    long n = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && n > 0) return (size_t)n;
    struct winsize ws;
    return ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

static size_t cell_cols(const char *cell)
{
    return text_cols(cell, strlen(cell));
}

/* Appends every line of s as text_clean shows one, joined by " ⏎ ": a value of several lines
 * (a run's message) on the one line of its row, whole, so that grep finds any of its lines. */
static void text_joined(struct buf *b, const char *s)
{
    bool first = true;
    for (const char *line = s + strspn(s, "\r\n"); *line; line += strspn(line, "\r\n")) {
        size_t len = strcspn(line, "\r\n");
        char *one = xstrndup(line, len);
        if (!first) buf_puts(b, " \xe2\x8f\x8e "); /* U+23CE RETURN SYMBOL */
        text_clean(b, one, 0);
        free(one);
        first = false;
        line += len;
    }
    if (first) text_clean(b, s, 0); /* only line breaks: shown as text_clean shows them */
}

void table_print(const struct table *t, FILE *f)
{
    size_t *w = xcalloc(t->ncols, sizeof *w), total = 2 * (t->ncols - 1);
    size_t ncells = (t->nrows + 1) * t->ncols;
    /* a value of several lines: its first line and an ellipsis on a terminal, as a person
     * reads a table there (run show has it whole); every line to a pipe or a file */
    int fd = fileno(f);
    bool tty = fd >= 0 && isatty(fd);
    char **cells = xcalloc(ncells, sizeof *cells);
    for (size_t k = 0; k < ncells; k++) {
        struct buf b = BUF_INIT;
        if (tty)
            text_clean(&b, t->cells[k], 0);
        else
            text_joined(&b, t->cells[k]);
        cells[k] = buf_steal(&b);
    }
    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t i = 0; i < t->ncols; i++) {
            size_t n = cell_cols(cells[r * t->ncols + i]);
            if (n > w[i]) w[i] = n;
        }
    for (size_t i = 0; i < t->ncols; i++) total += w[i];
    /* too wide for the terminal: the widest column of free text gives up a column at a time,
     * down to its header's width (8 at least) */
    size_t room = terminal_cols(f);
    for (; room && total > room; total--) {
        size_t widest = SIZE_MAX;
        for (size_t i = 0; i < t->ncols; i++) {
            size_t least = cell_cols(cells[i]) > 8 ? cell_cols(cells[i]) : 8;
            if ((t->free_text & TABLE_COL(i)) && w[i] > least &&
                (widest == SIZE_MAX || w[i] > w[widest]))
                widest = i;
        }
        if (widest == SIZE_MAX) break;
        w[widest]--;
    }
    /* still too wide: the other columns but the first (the id a command takes) give up a
     * column at a time too, the widest first, down to their header's width, their cells cut
     * with an ellipsis; `run show` and --json have them whole */
    for (; room && total > room; total--) {
        size_t widest = SIZE_MAX;
        for (size_t i = 1; i < t->ncols; i++)
            if (w[i] > cell_cols(cells[i]) && w[i] > 2 && (widest == SIZE_MAX || w[i] > w[widest]))
                widest = i;
        if (widest == SIZE_MAX) break;
        w[widest]--;
    }
    struct buf cut = BUF_INIT;
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            const char *cell = cells[r * t->ncols + i];
            size_t cols = cell_cols(cell);
            if (cols > w[i]) {
                buf_reset(&cut);
                text_clean(&cut, cell, w[i]);
                cell = buf_cstr(&cut);
                cols = cell_cols(cell);
            }
            fputs(cell, f);
            if (i + 1 < t->ncols) fprintf(f, "%*s", (int)(w[i] - cols + 2), "");
        }
        fputc('\n', f);
    }
    buf_free(&cut);
    for (size_t k = 0; k < ncells; k++) free(cells[k]);
    free(cells);
    free(w);
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

json_t *list_hits(const json_t *list)
{
    return json_object_get(json_object_get(list, "hits"), "hits");
}

char *list_next(const json_t *list)
{
    const char *next = json_string_value(json_object_get(json_object_get(list, "links"), "next"));
    /* the link is the server's whole URL, which names its public address: the path from /api/
     * on is the request, sent to the address this client talks to */
    const char *auth = next ? strstr(next, "://") : NULL;
    const char *api = auth ? strstr(auth + 3, "/api/") : NULL;
    return api ? xstrdup(api) : NULL;
}

int client_get_page(const struct client *c, json_t **list, long size, const char *path)
{
    int rc = client_get(c, list, "%s", path);
    json_t *hits = list_hits(*list);
    /* a cut page and those after it all have sizes dividing size: they end where it does */
    char *next = rc ? NULL : list_next(*list);
    while (next && json_array_size(hits) > 0 && json_array_size(hits) < (size_t)size) {
        json_t *more;
        rc = client_get(c, &more, "%s", next);
        free(next);
        next = NULL;
        if (rc) {
            json_decref(*list);
            *list = NULL;
            break;
        }
        json_array_extend(hits, list_hits(more));
        json_t *links = json_object_get(*list, "links");
        json_t *on = json_object_get(json_object_get(more, "links"), "next");
        if (on)
            json_object_set(links, "next", on);
        else
            json_object_del(links, "next");
        if (json_array_size(list_hits(more)) > 0) next = list_next(more);
        json_decref(more);
    }
    free(next);
    return rc;
}

void list_print(const struct table *t, const json_t *list, long page, long size, const char *noun)
{
    size_t n = json_array_size(list_hits(list));
    long long total = json_integer_value(json_object_get(json_object_get(list, "hits"), "total"));
    if (n == 0)
        printf("no %s%s\n", noun, page > 1 ? " on this page" : "");
    else
        table_print(t, stdout);
    if ((long long)(page - 1) * size + (long long)n < total)
        printf("(%zu of %lld %s shown; see --page)\n", n, total, noun);
}

void kv_print(FILE *f, const char *key, const char *value)
{
    if (!value || !*value) value = "-";
    fprintf(f, "%-14s", key);
    /* multi-line values (descriptions) keep their lines, indented under the first */
    for (const char *line = value; line;) {
        const char *nl = strchr(line, '\n');
        char *one = nl ? xstrndup(line, (size_t)(nl - line)) : xstrdup(line);
        struct buf b = BUF_INIT;
        text_clean(&b, one, 0);
        fprintf(f, "%s%s\n", line == value ? "" : "              ", buf_cstr(&b));
        buf_free(&b);
        free(one);
        line = nl ? nl + 1 : NULL;
    }
}

void kv_line(FILE *f, const char *key, const char *value)
{
    struct buf b = BUF_INIT;
    text_clean(&b, value, 0);
    kv_print(f, key, buf_cstr(&b));
    buf_free(&b);
}

void text_more_lines(FILE *f, const char *text, int indent, size_t max_cols, size_t max_lines)
{
    const char *line = text ? strpbrk(text, "\r\n") : NULL;
    size_t shown = 0, more = 0;
    while (line) {
        line += strspn(line, "\r\n"); /* blank lines and CRLF ends are one break */
        if (!*line) break;
        size_t len = strcspn(line, "\r\n");
        if (max_lines && shown == max_lines) {
            more++;
        } else {
            char *one = xstrndup(line, len);
            struct buf b = BUF_INIT;
            text_clean(&b, one, max_cols);
            fprintf(f, "%*s| %s\n", indent, "", buf_cstr(&b));
            buf_free(&b);
            free(one);
            shown++;
        }
        line += len;
    }
    if (more) fprintf(f, "%*s| (%zu more line%s)\n", indent, "", more, more == 1 ? "" : "s");
}

void kv_text(FILE *f, const char *key, const char *value)
{
    char *first = value ? xstrndup(value, strcspn(value, "\r\n")) : NULL;
    kv_line(f, key, first);
    free(first);
    text_more_lines(f, value, 14, 0, 0);
}

void kv_json(FILE *f, const char *key, const json_t *value)
{
    if (!value || json_is_null(value)) {
        kv_print(f, key, NULL);
        return;
    }
    char *s = json_is_string(value) ? xstrdup(json_string_value(value)) : json_dump(value);
    kv_print(f, key, s);
    free(s);
}

void print_json(const json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', stdout);
}

static bool parse_time(const char *iso, time_t *secs, int *ms)
{
    int64_t us;
    const char *why;
    if (!iso || time_parse(iso, &us, &why) != 0) return false;
    int64_t s = us / 1000000 - (us % 1000000 < 0);
    *secs = (time_t)s;
    if (ms) *ms = (int)((us - s * 1000000) / 1000);
    return true;
}

const char *fmt_time(const char *iso, char out[TIMEBUF])
{
    time_t t, now = time(NULL);
    struct tm tm, tn;
    if (!parse_time(iso, &t, NULL) || !localtime_r(&t, &tm) || !localtime_r(&now, &tn)) {
        snprintf(out, TIMEBUF, "-");
        return out;
    }
    size_t n;
    if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
        n = strftime(out, TIMEBUF, "%H:%M:%S", &tm);
    else if (tm.tm_year == tn.tm_year)
        n = strftime(out, TIMEBUF, "%b %d %H:%M", &tm);
    else
        n = strftime(out, TIMEBUF, "%Y-%m-%d %H:%M", &tm);
    if (!n) snprintf(out, TIMEBUF, "-");
    return out;
}

const char *fmt_ago(const char *iso, char out[TIMEBUF])
{
    time_t t;
    if (!parse_time(iso, &t, NULL)) {
        snprintf(out, TIMEBUF, "-");
        return out;
    }
    long long d = (long long)time(NULL) - (long long)t;
    long long a = d < 0 ? -d : d;
    long long n = a < 60 ? a : a < 3600 ? a / 60 : a < 86400 ? a / 3600 : a / 86400;
    char unit = a < 60 ? 's' : a < 3600 ? 'm' : a < 86400 ? 'h' : 'd';
    if (a < 2)
        snprintf(out, TIMEBUF, "now");
    else if (d > 0)
        snprintf(out, TIMEBUF, "%lld%c ago", n, unit);
    else
        snprintf(out, TIMEBUF, "in %lld%c", n, unit);
    return out;
}

const char *fmt_log_time(const char *iso, char out[TIMEBUF])
{
    time_t t;
    int ms;
    struct tm tm;
    char day[32];
    if (!parse_time(iso, &t, &ms) || !localtime_r(&t, &tm) ||
        !strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, TIMEBUF, "-");
    else
        snprintf(out, TIMEBUF, "%s.%03d", day, ms);
    return out;
}

/* x to the nearest whole number, halves away from zero (llround, without libm). */
static long long nearest(double x)
{
    return x < 0 ? -(long long)(0.5 - x) : (long long)(x + 0.5);
}

const char *fmt_duration(const json_t *v, char out[TIMEBUF])
{
    if (!json_is_number(v)) {
        snprintf(out, TIMEBUF, "-");
        return out;
    }
    /* rounded to the unit shown, as the server rounds the durations it sums up (a job's
     * recent runs), so that one run reads alike in both: 2.7 ms is 3ms */
    double s = json_number_value(v);
    long long ms = nearest(s * 1000), tenths = nearest(s * 10), secs = nearest(s);
    if (ms < 1000)
        snprintf(out, TIMEBUF, "%lldms", ms);
    else if (tenths < 600)
        snprintf(out, TIMEBUF, "%lld.%llds", tenths / 10, tenths % 10);
    else if (secs < 3600)
        snprintf(out, TIMEBUF, "%lldm%02llds", secs / 60, secs % 60);
    else
        snprintf(out, TIMEBUF, "%lldh%02lldm", nearest(s / 60) / 60, nearest(s / 60) % 60);
    return out;
}

const char *short_id(const char *id, char out[16])
{
    /* a run's id starts with its creation time (a version-7 UUID), so runs made within a minute
     * share 8 characters: through the millisecond most differ (short_run_id tells the rest) */
    bool v7 = id && strlen(id) == 36 && id[14] == '7';
    snprintf(out, 16, "%.*s", v7 ? 13 : 8, id ? id : "-");
    return out;
}

const char *short_run_id(const char *id, const json_t *hits, const char *key, char out[37])
{
    if (!id) return short_id(id, out);
    char first[16];
    size_t len = strlen(id), need = strlen(short_id(id, first));
    size_t i;
    const json_t *h;
    json_array_foreach(hits, i, h)
    {
        const char *other = json_str(h, key);
        if (!other || strcmp(other, id) == 0) continue; /* the same run */
        size_t same = 0;
        while (id[same] && id[same] == other[same]) same++;
        if (same + 1 > need) need = same + 1;
    }
    if (need < len && id[need - 1] == '-') need++; /* not ending in a dash */
    snprintf(out, 37, "%.*s", (int)(need < len ? need : len), id);
    return out;
}
