/* notify: e-mail and webhook notifications of finished runs; see notify.h. */
#include "notify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/cidr.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "model.h"
#include "offload.h"

/* attempts in all, the waits between them doubling from the first (cfg->webhook_retry_ms,
 * cfg->mail_retry_ms): with the defaults a webhook receiver may be down for about 2 min (1, 2,
 * 4 … 64 s), a mail server that greylists or restarts for about 30 min (1, 2, 4, 8, 16 min) */
#define WEBHOOK_ATTEMPTS 8
#define MAIL_ATTEMPTS 6
#define MAIL_THREADS 2
#define HOOK_THREADS 8
#define DELIVERY_TIMEOUT_MS 10000
#define MESSAGE_CAP 4000
/* what deliveries hold in memory (queued, under way, or waiting for a retry): past either,
 * a new delivery waits in the store's outbox until one of them is done, so that receivers
 * that hang while runs go on ending cannot take all memory */
#define PENDING_BYTES_MAX (64u << 20) /* and at most cfg->notify_backlog deliveries */
/* what may wait in the outbox besides them: past it the oldest waiting is given up, so that a
 * receiver down for days cannot grow the store without end (NOTIFY_OUTBOX_WAITING in notify.h) */
#define OUTBOX_WAITING_MAX NOTIFY_OUTBOX_WAITING
/* rows taken from the outbox in one read */
#define TAKE_AT_ONCE 256

enum channel { CH_EMAIL, CH_WEBHOOK };
static const char *const CHANNELS[] = {"email", "webhook"};

/* A text sent to several receivers (one run's webhook body to each of the job's hooks), freed
 * with the last delivery of it; its bytes count once toward what waits to be sent. */
struct text {
    int refs;
    size_t len;
    char s[];
};

struct delivery {
    struct notify *n;
    enum channel ch;
    int64_t row;    /* its row in the outbox; 0 when it could not be stored (a store failure) */
    char *to;       /* address or URL */
    char *shown;    /* to as logs show it: a webhook's scheme and host only */
    char *subject;  /* e-mail */
    struct text *body; /* mail text, or the webhook's JSON */
    char run_id[UUID_STR_LEN]; /* the run's id, or the alert's */
    char job_id[UUID_STR_LEN];
    int hook; /* a webhook's place in its job's list, from 1: which of them it is in the logs */
    const char *about;         /* "run" or "alert", as the logs name run_id */
    char event[32];            /* a webhook's X-Sked-Event: run.finished, job.overdue, … */
    /* the settings an attempt is sent with, copied from those in force as it is submitted
     * (a retry after a reload takes the new ones): a reload may change the configuration
     * while a pool thread sends */
    char *smtp_url, *smtp_from, *secret;
    int attempt;
    bool ok;
    bool permanent; /* failed in a way no retry mends (an address curl cannot use) */
    char error[256];
    struct event *retry_ev;
    struct delivery *prev, *next; /* waiting for a retry */
};

struct notify {
    struct event_base *base;
    struct store *store;
    struct events *events;
    const struct config *cfg;
    struct events_sub *sub;
    /* e-mails and webhooks on pools of their own: receivers that hang (10 s an attempt) hold
     * webhook threads, never the e-mail ones */
    struct offload *mail_pool, *hook_pool;
    bool stopping;
    struct event *alert_ev; /* the check of jobs with an alert_after */
    struct map overdue;     /* ids of the jobs told they are overdue: their success rechecks */
    /* of each job the last check looked at: when its last success ended (int64_t *), found by
     * walking its runs once, then kept by its successes; a job failing for weeks is not walked
     * through its failures again at every check */
    struct map last_success;
    struct delivery *waiting; /* for a retry */
    struct notify_stats stats;
    size_t pending_bytes; /* of the texts deliveries hold */
    /* The outbox: every delivery has its row there until it is sent or given up. Those in
     * memory (live) have rows up to taken; the rows above it (stored) wait for room, in the
     * order they were made: a new delivery waits behind them too. */
    size_t live;
    int64_t stored, taken;
    int kept; /* deliveries left in the outbox by the shutdown */
};

/* The gauge of deliveries not yet sent: in memory or waiting in the outbox. */
static void count_pending(struct notify *n)
{
    n->stats.pending = n->live + (size_t)n->stored;
}

static struct text *text_new(struct notify *n, const char *s)
{
    size_t len = strlen(s);
    struct text *t = xmalloc(sizeof *t + len + 1);
    t->refs = 0;
    t->len = len;
    memcpy(t->s, s, len + 1);
    n->pending_bytes += len;
    return t;
}

static void text_release(struct notify *n, struct text *t)
{
    if (!t || --t->refs > 0) return;
    n->pending_bytes -= t->len;
    free(t);
}

static void delivery_free(struct delivery *d)
{
    d->n->live--;
    count_pending(d->n);
    text_release(d->n, d->body);
    if (d->retry_ev) event_free(d->retry_ev);
    free(d->to);
    free(d->shown);
    free(d->smtp_url);
    free(d->smtp_from);
    free(d->secret);
    free(d->subject);
    free(d);
}

/* ---- what is sent ---- */

char *notify_subject(int status, const char *title)
{
    switch (status) {
    case RUN_SUCCESS: return xasprintf("Job Completed Successfully: %s", title);
    case RUN_FAILED: return xasprintf("Job Failed: %s", title);
    case RUN_PARTIAL_SUCCESS: return xasprintf("Job Completed with Errors: %s", title);
    default: return xasprintf("Job Status: %s: %s", run_status_name(status), title);
    }
}

void notify_sign(const char *key, const char *timestamp, const char *body, char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

/* The host of an authority of n bytes at a: after its last '@' (the user and password). */
static const char *host_of(const char *a, size_t n)
{
    const char *host = a;
    for (const char *at; (at = memchr(host, '@', n - (size_t)(host - a))) != NULL;) host = at + 1;
    return host;
}

const char *notify_url_problem(const char *u)
{
    if (strlen(u) > 2000) return "is longer than 2000 bytes";
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return "holds a space or a control character";
    /* the form shown to those who are no admin (notify_hook_shown), written back */
    if (strstr(u, "…"))
        return "is a URL as shown to those who are no admin, cut after its host ('…'): give the "
               "whole URL, which only admins read";
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p >= 0x80)
            return "holds a character that is not ASCII: percent-encode it as its UTF-8 bytes "
                   "(é as %C3%A9)";
    const char *rest = strncmp(u, "http://", 7) == 0    ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8
                                                        : NULL;
    if (!rest) return "is not an http:// or https:// URL";
    size_t auth = strcspn(rest, "/?#"); /* [user[:password]@]host[:port] */
    const char *host = host_of(rest, auth);
    if (host > rest && memchr(rest, '@', (size_t)(host - 1 - rest)))
        return "has an '@' in its user or password: percent-encode it there as %40";
    size_t len = host_port_len(host, (size_t)(rest + auth - host));
    if (len == 0) return "has no host";
    /* what follows the host is a path, a query or a fragment: a host that went on with other
     * characters would be shown whole to those who see only a URL's host */
    if (host + len != rest + auth)
        return "has a host of other characters than letters, digits, '-', '.' and '_' (or an "
               "[IPv6] address), then an optional :PORT from 1 to 65535";
    return NULL;
}

/* s with control characters (line breaks included) made spaces: safe in a header. */
static void header_text(struct buf *b, const char *s)
{
    for (; *s; s++) buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/* s as a header's value: folded ASCII, else RFC 2047 encoded words; used: the columns the
 * header's name took on its first line ("Subject: " is 9). */
static void mime_header(struct buf *b, const char *s, size_t used)
{
    /* an ASCII text that holds "=?" is encoded too: a mail reader would decode what looks
     * like an encoded word in it (a job titled "=?UTF-8?B?...?=") */
    bool ascii = !strstr(s, "=?");
    for (const char *p = s; *p; p++) ascii = ascii && (unsigned char)*p < 0x80;
    struct buf clean = BUF_INIT;
    header_text(&clean, s);
    if (ascii) {
        /* folded before a space where a line would pass 78 characters (RFC 5322); a word
         * longer than that stays whole on its line, within the limit of 998 */
        size_t col = used;
        for (size_t i = 0, j; i < clean.len; i = j) {
            for (j = i; j < clean.len && clean.data[j] == ' '; j++) {
            }
            while (j < clean.len && clean.data[j] != ' ') j++;
            if (col + (j - i) > 78 && clean.data[i] == ' ' && col > used) {
                buf_puts(b, "\r\n");
                col = 0;
            }
            buf_append(b, clean.data + i, j - i);
            col += j - i;
        }
    } else {
        /* encoded words of at most 75 characters (45 bytes of text each, cut between
         * characters), on folded lines of at most 76 (RFC 2047): a long title stays within
         * every line limit; the first line's word is shorter by the header's name */
        for (size_t at = 0; at < clean.len;) {
            size_t most = at ? 45 : (76 - used - 12) / 4 * 3;
            size_t n = clean.len - at < most ? clean.len - at : most;
            while (at + n < clean.len && ((unsigned char)clean.data[at + n] & 0xC0) == 0x80) n--;
            char enc[64];
            sodium_bin2base64(enc, sizeof enc, (const unsigned char *)clean.data + at, n,
                              sodium_base64_VARIANT_ORIGINAL);
            buf_printf(b, "%s=?UTF-8?B?%s?=", at ? "\r\n " : "", enc);
            at += n;
        }
    }
    buf_free(&clean);
}

/* Text for a mail body: lines kept under SMTP's limit, carriage returns dropped, and the
 * control characters a task may print (a terminal's colour codes: ESC, C1) shown as '?', as
 * the CLI shows them, since a mail reader in a terminal may act on them. */
static void mail_text(struct buf *b, const char *s, size_t cap)
{
    size_t col = 0, n = 0;
    /* bytes are counted, and lines and the cap cut only before a character's first byte */
    for (; *s && (n < cap || ((unsigned char)*s & 0xC0) == 0x80); s++, n++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\r') continue;
        if (ch == '\n' || (col >= 900 && (ch & 0xC0) != 0x80)) {
            buf_puts(b, "\r\n");
            col = 0;
            if (ch == '\n') continue;
        }
        bool c1 = ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f || c1) {
            buf_putc(b, '?');
            if (c1) s++, n++;
        } else {
            buf_putc(b, *s);
        }
        col++;
    }
    if (*s) buf_puts(b, " [...]");
}

/* The run's page in the admin UI. */
static char *run_link(const struct notify *n, const struct run *r)
{
    return n->cfg->public_url
               ? xasprintf("%s/jobs/%s/runs/%s", n->cfg->public_url, r->job_id, r->id)
               : NULL;
}

/* A run's message as JSON text takes it: valid UTF-8 (a message stored by an older sked may
 * end inside a character; jansson refuses such a string, and the document with it). */
static char *message_text(const struct run *r)
{
    if (!r->message) return NULL;
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, r->message, strlen(r->message));
    return buf_steal(&b);
}

static json_t *run_summary(const struct run *r)
{
    char *message = message_text(r);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:o,s:o,s:o,s:s?,s:i,s:I,s:I,s:I,s:I}", "id",
                          r->id, "job_id", r->job_id, "status", run_status_name(r->status), "title",
                          r->title, "trigger", run_trigger_name(r->trigger), "queue",
                          r->queue ? r->queue : "", "created", json_null(), "started_at",
                          json_null(), "finished_at", json_null(), "message", message, "attempt",
                          r->attempt, "total_entries", (json_int_t)r->total_entries,
                          "inserted_entries", (json_int_t)r->inserted_entries, "updated_entries",
                          (json_int_t)r->updated_entries, "errored_entries",
                          (json_int_t)r->errored_entries);
    int64_t t[3] = {r->created, r->started_at, r->finished_at};
    const char *k[3] = {"created", "started_at", "finished_at"};
    for (int i = 0; i < 3; i++) {
        if (t[i] == NO_TIME) continue;
        char ts[TIME_STR_MAX];
        time_format(t[i], ts);
        json_object_set_new(o, k[i], json_string(ts));
    }
    json_object_set_new(o, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
    json_object_set_new(o, "output", r->output ? json_incref(r->output) : json_null());
    free(message);
    return o;
}

static char *mail_body(const struct notify *n, const struct job *j, const struct run *r)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "The job \"");
    mail_text(&b, j->title, 300);
    buf_printf(&b, "\" ended with the status %s.\r\n\r\n", run_status_name(r->status));
    char ts[TIME_STR_MAX];
    buf_printf(&b, "Run:      %s (%s, attempt %d)\r\n", r->id, run_trigger_name(r->trigger),
               r->attempt);
    if (r->started_at != NO_TIME) {
        time_format(r->started_at, ts);
        buf_printf(&b, "Started:  %s\r\n", ts);
    }
    if (r->finished_at != NO_TIME) {
        time_format(r->finished_at, ts);
        buf_printf(&b, "Finished: %s\r\n", ts);
    }
    if (r->started_at != NO_TIME && r->finished_at != NO_TIME)
        buf_printf(&b, "Duration: %.1f s\r\n", (double)(r->finished_at - r->started_at) / 1e6);
    /* errored may come without a total, or above it (tasks.md): then only what is known */
    if (r->total_entries >= r->errored_entries && r->total_entries > 0)
        buf_printf(&b, "Entries:  %lld processed, %lld succeeded, %lld failed\r\n",
                   (long long)r->total_entries,
                   (long long)(r->total_entries - r->errored_entries),
                   (long long)r->errored_entries);
    else if (r->errored_entries)
        buf_printf(&b, "Entries:  %lld failed\r\n", (long long)r->errored_entries);
    if (r->message && *r->message) {
        char *message = message_text(r); /* valid UTF-8, as the mail says it is */
        buf_puts(&b, "\r\nMessage:\r\n");
        mail_text(&b, message, MESSAGE_CAP);
        buf_puts(&b, "\r\n");
        free(message);
    }
    char *link = run_link(n, r);
    if (link) buf_printf(&b, "\r\nThe run, its log and output: %s\r\n", link);
    free(link);
    return buf_steal(&b);
}

/* ---- sending (on a pool thread) ---- */

struct upload {
    const char *data;
    size_t len, off;
};

static size_t read_upload(char *p, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t left = u->len - u->off, take = size * n < left ? size * n : left;
    memcpy(p, u->data + u->off, take);
    u->off += take;
    return take;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

/* The mail server's last refusal ("550 5.1.1 <x@example.org>: user unknown"), which libcurl's
 * error ("Failed sending data to the peer") does not tell. */
static int on_smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h;
    char *last = arg;
    if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5')) return 0;
    size_t n = 0;
    for (size_t i = 0; i < size && n < 199; i++)
        if ((unsigned char)data[i] >= ' ' && data[i] != 0x7f) last[n++] = data[i];
    last[n] = '\0';
    return 0;
}

/* Whether an smtp:// URL holds a user (and password) to log in with. */
static bool smtp_logs_in(const char *url)
{
    if (strncasecmp(url, "smtp://", 7) != 0) return false; /* smtps: TLS from the first byte */
    size_t auth = strcspn(url + 7, "/?#");
    return memchr(url + 7, '@', auth) != NULL;
}

static void send_email(struct delivery *d)
{
    if (!d->smtp_url) { /* the outbox kept it while smtp_url was taken out of the settings */
        snprintf(d->error, sizeof d->error, "no SMTP server is set (smtp_url: --smtp-url, "
                 "SKED_SMTP_URL or [notifications] smtp_url)");
        d->permanent = true;
        return;
    }
    struct buf msg = BUF_INIT;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    buf_printf(&msg, "Date: %s\r\nFrom: sked <%s>\r\nTo: <%s>\r\nSubject: ", date, d->smtp_from,
               d->to);
    mime_header(&msg, d->subject, strlen("Subject: "));
    buf_printf(&msg, "\r\nMessage-ID: <%s.%lld@sked>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n%s",
               d->run_id, (long long)now, d->body->s);
    struct upload up = {msg.data, msg.len, 0};
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, d->to);
    char from[300];
    snprintf(from, sizeof from, "<%s>", d->smtp_from);
    curl_easy_setopt(h, CURLOPT_URL, d->smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    /* STARTTLS when offered; required when the URL logs in, so that its password never
     * travels in the clear (a server that does not offer it, or a STARTTLS stripped on the
     * way) */
    bool login = smtp_logs_in(d->smtp_url);
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(login ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)DELIVERY_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    char reply[200] = "";
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_smtp_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, reply);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    CURLcode rc = curl_easy_perform(h);
    d->ok = rc == CURLE_OK;
    if (rc == CURLE_USE_SSL_FAILED && login)
        snprintf(d->error, sizeof d->error, "the mail server offers no STARTTLS, and smtp_url "
                 "holds a password that sked sends only encrypted: use a server that offers "
                 "STARTTLS, smtps://, or a relay that needs no login");
    else if (!d->ok && reply[0])
        snprintf(d->error, sizeof d->error, "%s; the server answered: %s",
                 curl_easy_strerror(rc), reply);
    else if (!d->ok)
        snprintf(d->error, sizeof d->error, "%s", curl_easy_strerror(rc));
    /* a server's 4xx puts the mail off (greylisting, a full queue), and a server not reached may
     * be back soon: tried again; a 5xx (an unknown recipient), a refused login and settings
     * curl cannot use fail the same way every time */
    if (!d->ok && reply[0] != '4')
        d->permanent = reply[0] == '5' || rc == CURLE_LOGIN_DENIED ||
                       rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                       (rc == CURLE_USE_SSL_FAILED && login);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    buf_free(&msg);
}

/* The status of the final answer (past any 1xx), once its head has ended: the body is not read
 * (a receiver that answered 2xx and then stalls or closes early has taken the delivery). */
struct answer {
    long status; /* of the last status line */
    bool ended;  /* the head of an answer of status >= 200 has ended */
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    int code;
    if (len > 9 && strncmp(p, "HTTP/", 5) == 0 && sscanf(p, "HTTP/%*s %3d", &code) == 1)
        a->status = code;
    if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
        if (a->status >= 200) {
            a->ended = true;
            return 0; /* stops the transfer here */
        }
    }
    return len;
}

static void send_webhook(struct delivery *d)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char event[64];
    snprintf(event, sizeof event, "X-Sked-Event: %s", d->event[0] ? d->event : "run.finished");
    hdrs = curl_slist_append(hdrs, event);
    char line[160], ts[32];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    snprintf(line, sizeof line, "X-Sked-Timestamp: %s", ts);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "X-Sked-Delivery: %s-%d", d->run_id, d->attempt);
    hdrs = curl_slist_append(hdrs, line);
    if (d->secret) {
        char sig[65];
        notify_sign(d->secret, ts, d->body->s, sig);
        snprintf(line, sizeof line, "X-Sked-Signature: sha256=%s", sig);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, d->to);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)d->body->s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)DELIVERY_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sked");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    struct answer ans = {0, false};
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ans);
    CURLcode rc = curl_easy_perform(h);
    if (ans.ended) rc = CURLE_OK; /* stopped after the answer's head, as on_header asked */
    long status = ans.ended ? ans.status : 0;
    if (!ans.ended) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    d->ok = rc == CURLE_OK && status >= 200 && status < 300;
    /* an address curl cannot use is no passing trouble: trying again would fail the same; an
     * http(s) address answered in a way curl does not take (no HTTP status line, an unknown
     * version) is the receiver's, which may pass as its other troubles do */
    d->permanent = rc == CURLE_URL_MALFORMAT ||
                   (rc == CURLE_UNSUPPORTED_PROTOCOL && strncmp(d->to, "http://", 7) != 0 &&
                    strncmp(d->to, "https://", 8) != 0);
    if (rc != CURLE_OK)
        snprintf(d->error, sizeof d->error, "%s", curl_easy_strerror(rc));
    else if (!d->ok)
        snprintf(d->error, sizeof d->error, "answered %ld", status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
}

char *notify_hook_shown(const char *url)
{
    const char *host = url ? strstr(url, "://") : NULL;
    if (!host) return NULL;
    host += 3;
    size_t n = strcspn(host, "/?#");
    /* the host and port alone, whatever follows them (a URL saved before hosts were checked
     * may go on with other characters) */
    const char *shown = host_of(host, n);
    size_t len = host_port_len(shown, n - (size_t)(shown - host));
    /* "/…" whenever something is cut, a user and password too: what is shown is then never a
     * URL that works (notify_url_problem refuses it), so a form written back from it cannot
     * replace the whole one */
    return xasprintf("%.*s%.*s%s", (int)(host - url), url, (int)len, shown,
                     shown[len] || shown != host ? "/…" : "");
}

static void deliver_work(void *arg)
{
    struct delivery *d = arg;
    d->error[0] = '\0';
    if (d->ch == CH_EMAIL)
        send_email(d);
    else
        send_webhook(d);
}

/* ---- on the loop ---- */

static void deliver_done(void *arg);

static void submit(struct delivery *d)
{
    const struct config *c = d->n->cfg;
    free(d->smtp_url);
    free(d->smtp_from);
    free(d->secret);
    d->smtp_url = c->smtp_url ? xstrdup(c->smtp_url) : NULL;
    d->smtp_from = xstrdup(c->smtp_from ? c->smtp_from : "sked@localhost");
    d->secret = c->webhook_secret ? xstrdup(c->webhook_secret) : NULL;
    offload_submit(d->ch == CH_EMAIL ? d->n->mail_pool : d->n->hook_pool, deliver_work,
                   deliver_done, d);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct delivery *d = arg;
    struct notify *n = d->n;
    if (d->prev)
        d->prev->next = d->next;
    else
        n->waiting = d->next;
    if (d->next) d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->attempt++;
    submit(d);
}

/* The fields every log line of a delivery starts with: which channel, run (or alert), job and
 * receiver ("hook=2": the job's second webhook, as their URLs are shown cut to the host). */
static const char *described(const struct delivery *d, char *out, size_t n)
{
    char hook[24] = "";
    if (d->ch == CH_WEBHOOK) snprintf(hook, sizeof hook, " hook=%d", d->hook);
    snprintf(out, n, "channel=%s %s=%s job=%s%s to=%s", CHANNELS[d->ch], d->about, d->run_id,
             d->job_id, hook, log_q(d->shown));
    return out;
}

/* Whether one more delivery, with a text of more bytes, fits in memory; one always does when
 * none is there, however long its text (else a text past the bound would never go). */
static bool room(const struct notify *n, size_t more)
{
    return n->live == 0 || (n->live < (size_t)n->cfg->notify_backlog &&
                            n->pending_bytes + more <= PENDING_BYTES_MAX);
}

static struct delivery *delivery_new(struct notify *n, enum channel ch, const char *to, int hook,
                                     const char *event, const char *id, const char *job_id)
{
    struct delivery *d = xcalloc(1, sizeof *d);
    n->live++;
    count_pending(n);
    d->n = n;
    d->ch = ch;
    d->to = xstrdup(to);
    d->shown = ch == CH_WEBHOOK ? notify_hook_shown(to) : NULL;
    if (!d->shown) d->shown = xstrdup(to);
    d->hook = hook;
    snprintf(d->event, sizeof d->event, "%s", event);
    d->about = strcmp(event, "run.finished") == 0 ? "run" : "alert";
    d->attempt = 1;
    snprintf(d->run_id, sizeof d->run_id, "%s", id);
    snprintf(d->job_id, sizeof d->job_id, "%s", job_id);
    return d;
}

/* The delivery's row, once it is sent or given up. A store failure (logged as store.error)
 * leaves it: it is sent again at the next start (at least once, never lost). */
static void row_done(struct delivery *d)
{
    if (d->row > 0 && store_outbox_delete(d->n->store, d->row, d->run_id) == -ENOENT)
        log_debug("notify.row_gone", "%s=%s row=%lld", d->about, d->run_id, (long long)d->row);
}

/* Rows taken from the outbox into memory: as many as there is room for, oldest first. */
struct taking {
    struct notify *n;
    int seen;
    bool full;
};

static void take_row(void *arg, const struct outbox_row *r)
{
    struct taking *t = arg;
    struct notify *n = t->n;
    t->seen++;
    if (t->full) return;
    if (!room(n, strlen(r->body))) {
        t->full = true;
        return;
    }
    struct delivery *d = delivery_new(n, strcmp(r->channel, "email") ? CH_WEBHOOK : CH_EMAIL,
                                      r->target, r->hook, r->event, r->ref_id, r->job_id);
    d->row = r->id;
    d->attempt = r->attempts + 1; /* a restart goes on from the attempts made */
    d->subject = r->subject ? xstrdup(r->subject) : NULL;
    d->body = text_new(n, r->body);
    d->body->refs++;
    n->taken = r->id;
    n->stored--;
    count_pending(n);
    submit(d);
}

/* Takes the deliveries waiting in the outbox while there is room for them (a delivery done
 * made some, or sked started). */
static void take_up(struct notify *n)
{
    while (n->stored > 0 && !n->stopping && room(n, 0)) {
        size_t free_slots = (size_t)n->cfg->notify_backlog - n->live;
        int want = free_slots < TAKE_AT_ONCE ? (int)free_slots : TAKE_AT_ONCE;
        struct taking t = {n, 0, false};
        /* a store failure (store.error) leaves them waiting: the next delivery done, or the
         * next check of alerts (within 30 s), tries again */
        if (store_outbox_list(n->store, n->taken, want, take_row, &t) != 0 || t.full) return;
        if (t.seen < want) { /* none beyond: what was counted waiting went with a rollback */
            n->stored = 0;
            count_pending(n);
        }
    }
}

/* A row the bound of the outbox gives up: what its log line says. */
struct doomed {
    int64_t id;
    char *ref_id, *fields;
};

struct dooming {
    struct doomed *rows;
    size_t n;
};

static void doom_row(void *arg, const struct outbox_row *r)
{
    struct dooming *l = arg;
    l->rows = xrealloc(l->rows, (l->n + 1) * sizeof *l->rows);
    struct doomed *d = &l->rows[l->n++];
    bool hook = strcmp(r->channel, "email") != 0;
    char *shown = hook ? notify_hook_shown(r->target) : NULL;
    char at[24] = "";
    if (hook) snprintf(at, sizeof at, " hook=%d", r->hook);
    d->id = r->id;
    d->ref_id = xstrdup(r->ref_id);
    d->fields = xasprintf("channel=%s %s=%s job=%s%s to=%s attempts=%d", hook ? "webhook" : "email",
                          strcmp(r->event, "run.finished") ? "alert" : "run", r->ref_id, r->job_id,
                          at, log_q(shown ? shown : r->target), r->attempts);
    free(shown);
}

/* The bound of the outbox: past OUTBOX_WAITING_MAX deliveries waiting (besides those in
 * memory), the oldest waiting are given up, so that a receiver down for days cannot grow the
 * store without end. */
static void trim(struct notify *n)
{
    if (n->stored <= OUTBOX_WAITING_MAX) return;
    struct dooming l = {NULL, 0};
    if (store_outbox_list(n->store, n->taken, (int)(n->stored - OUTBOX_WAITING_MAX), doom_row,
                          &l) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            int rc = store_outbox_delete(n->store, l.rows[i].id, l.rows[i].ref_id);
            if (rc != 0 && rc != -ENOENT) continue; /* store.error: it waits on */
            n->stored--;
            n->stats.dropped++;
            log_warn("notify.dropped", "%s reason=\"%d deliveries wait in the outbox already (the "
                                       "receivers are slow or down): the oldest is given up\"",
                     l.rows[i].fields, OUTBOX_WAITING_MAX);
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.rows[i].ref_id);
        free(l.rows[i].fields);
    }
    free(l.rows);
    count_pending(n);
}

static void deliver_done(void *arg)
{
    struct delivery *d = arg;
    struct notify *n = d->n;
    char who[512];
    if (d->ok) {
        n->stats.sent[d->ch]++;
        log_info("notify.sent", "%s attempt=%d", described(d, who, sizeof who), d->attempt);
        row_done(d);
        delivery_free(d);
        take_up(n);
        return;
    }
    bool hook = d->ch == CH_WEBHOOK;
    bool again = d->attempt < (hook ? WEBHOOK_ATTEMPTS : MAIL_ATTEMPTS) && !d->permanent;
    /* the attempts made go with the row: a restart goes on from the next one, so that a
     * delivery is tried as often in all across restarts too (a store failure, store.error, only
     * lets it have more) */
    if (again && d->row > 0 &&
        store_outbox_attempted(n->store, d->row, d->run_id, d->attempt) == -ENOENT)
        log_debug("notify.row_gone", "%s=%s row=%lld", d->about, d->run_id, (long long)d->row);
    if (again && n->stopping) {
        /* sked is stopping: its row waits in the outbox for the next start */
        n->kept++;
        delivery_free(d);
        return;
    }
    if (again) {
        int64_t wait_ms = (hook ? n->cfg->webhook_retry_ms : n->cfg->mail_retry_ms)
                          << (d->attempt - 1);
        log_warn("notify.retry", "%s attempt=%d reason=%s wait_ms=%lld",
                 described(d, who, sizeof who), d->attempt, log_q(d->error), (long long)wait_ms);
        n->stats.retries++;
        if (!d->retry_ev) d->retry_ev = evtimer_new(n->base, on_retry, d);
        struct timeval tv = {wait_ms / 1000, (wait_ms % 1000) * 1000};
        evtimer_add(d->retry_ev, &tv);
        d->next = n->waiting;
        if (n->waiting) n->waiting->prev = d;
        n->waiting = d;
        return;
    }
    n->stats.failed[d->ch]++;
    log_error("notify.failed", "%s attempts=%d reason=%s", described(d, who, sizeof who),
              d->attempt, log_q(d->error));
    row_done(d);
    delivery_free(d);
    take_up(n);
}

/* A delivery of text (shared by the deliveries of one channel: *t, made on first use): its row
 * is written in the caller's transaction, the one of what calls for it (a run's end, an
 * alert's overdue_at), so a crash keeps both or neither. It is sent at once when there is room
 * in memory and nothing waits before it, else it waits in the outbox. */
static void deliver(struct notify *n, enum channel ch, const char *to, int hook,
                    const char *event, const char *id, const char *job_id, const char *subject,
                    const char *text, struct text **t)
{
    struct outbox_row r = {.created = time_now_us(), .channel = CHANNELS[ch], .target = to,
                           .hook = hook, .event = event, .ref_id = id, .job_id = job_id,
                           .subject = subject, .body = text};
    int rc = store_outbox_add(n->store, &r);
    if (rc == 0 && (n->stored > 0 || n->stopping || !room(n, *t ? 0 : strlen(text)))) {
        n->stored++;
        count_pending(n);
        trim(n);
        return;
    }
    /* without its row (the store failed: store.error) it is sent all the same, only not kept
     * across a stop */
    struct delivery *d = delivery_new(n, ch, to, hook, event, id, job_id);
    if (rc == 0) {
        d->row = r.id;
        n->taken = r.id; /* nothing waits: every row before it is in memory or done */
    }
    d->subject = subject ? xstrdup(subject) : NULL;
    if (!*t) *t = text_new(n, text);
    d->body = *t;
    d->body->refs++;
    submit(d);
}

/* Sends mail (subject, text) to each address job j's notifications list and hook (JSON) to each
 * of its webhooks; id names the deliveries, event says what they tell. */
static void deliver_to(struct notify *n, const struct job *j, const char *id, const char *event,
                       const char *subject, const char *mail, const char *hook)
{
    size_t i;
    json_t *v;
    struct text *mail_shared = NULL, *hook_shared = NULL;
    const char *about = strcmp(event, "run.finished") == 0 ? "run" : "alert";
    json_t *emails = json_object_get(j->notifications, "emails");
    if (json_array_size(emails) && !n->cfg->smtp_url)
        log_warn("notify.no_smtp", "%s=%s reason=\"the job lists e-mails but no SMTP server is set (smtp_url: --smtp-url, SKED_SMTP_URL or [notifications] smtp_url)\"",
                 about, id);
    else {
        json_array_foreach(emails, i, v)
        {
            if (!json_is_string(v)) continue;
            /* checked again: a job saved by an older sked may hold one that would end up as
             * mail commands of its own */
            const char *why = mail_address_problem(json_string_value(v));
            if (why) {
                log_warn("notify.skipped", "channel=email %s=%s reason=%s", about, id, log_q(why));
                continue;
            }
            deliver(n, CH_EMAIL, json_string_value(v), 0, event, id, j->id, subject, mail,
                    &mail_shared);
        }
    }
    json_array_foreach(json_object_get(j->notifications, "webhooks"), i, v)
    {
        if (!json_is_string(v)) continue;
        const char *why = notify_url_problem(json_string_value(v));
        if (why) {
            char *shown = notify_hook_shown(json_string_value(v));
            log_warn("notify.skipped", "channel=webhook %s=%s job=%s hook=%zu to=%s reason=%s",
                     about, id, j->id, i + 1, log_q(shown ? shown : "?"), log_q(why));
            free(shown);
            continue;
        }
        deliver(n, CH_WEBHOOK, json_string_value(v), (int)i + 1, event, id, j->id, NULL, hook,
                &hook_shared);
    }
}

static void on_event(void *arg, const struct sk_event *ev)
{
    struct notify *n = arg;
    const struct run *r = ev->run;
    if (ev->kind != SKEV_STATUS || !run_status_terminal(r->status)) return;
    int64_t *last = n->last_success.count && r->status == RUN_SUCCESS && r->until == NO_TIME &&
                            r->finished_at != NO_TIME
                        ? map_get(&n->last_success, r->job_id)
                        : NULL;
    if (last && r->finished_at > *last) *last = r->finished_at;
    /* a success of a job told it was overdue: it is told it recovered */
    if (r->status == RUN_SUCCESS && n->overdue.count && map_get(&n->overdue, r->job_id))
        notify_recheck(n);
    if (!store_job_notifies(n->store, r->job_id, r->status)) return;
    struct job j;
    if (store_job_get(n->store, r->job_id, &j) != 0) return;
    /* each text only when some address or webhook will be sent it */
    bool mails = json_array_size(json_object_get(j.notifications, "emails")) > 0;
    bool hooks = json_array_size(json_object_get(j.notifications, "webhooks")) > 0;
    char *subject = mails ? notify_subject(r->status, j.title) : NULL;
    char *mail = mails ? mail_body(n, &j, r) : NULL, *hook = NULL;
    char *link = NULL, *message = NULL;
    if (hooks) {
        link = run_link(n, r);
        message = message_text(r);
        json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:s,s:s?,s:s?}", "event",
                                "run.finished", "job", "id", j.id, "title", j.title, "task",
                                j.task, "run", run_summary(r), "status",
                                run_status_name(r->status), "message", message, "link", link);
        hook = json_dump(doc);
        json_decref(doc);
    }
    deliver_to(n, &j, r->id, "run.finished", subject, mail, hook);
    free(subject);
    free(mail);
    free(hook);
    free(link);
    free(message);
    job_release(&j);
}

/* ---- jobs that stopped succeeding ---- */

#define ALERT_CHECK_US 30000000 /* how often the jobs with an alert_after are looked at */

struct alert_due {
    char id[UUID_STR_LEN];
    int64_t overdue_at, last_success;
    bool overdue; /* else: it recovered */
};

struct alerts {
    int64_t now, next; /* next: the earliest deadline of a job not overdue yet */
    struct alert_due *due;
    size_t n, cap;
    struct notify *notify;
    struct map last_success; /* the jobs listed now: what notify->last_success becomes */
};

static void alert_seen(void *arg, const struct job_alert *listed)
{
    struct alerts *l = arg;
    struct notify *n = l->notify;
    int64_t *last = map_del(&n->last_success, listed->id);
    if (!last) {
        last = xmalloc(sizeof *last);
        *last = store_job_last_success(n->store, listed->id);
    }
    map_put(&l->last_success, listed->id, last);
    struct job_alert job = *listed, *a = &job;
    job.last_success_end = *last;
    /* from its last success, or from when it was made, activated again or given a new alert if
     * that is later (the time it spent inactive does not count) */
    int64_t since = a->last_success_end != NO_TIME && a->last_success_end > a->created
                        ? a->last_success_end
                        : a->created;
    bool overdue = a->overdue_at == NO_TIME && l->now - since >= a->alert_after_ms * 1000;
    bool recovered = a->overdue_at != NO_TIME && a->last_success_end != NO_TIME &&
                     a->last_success_end > a->overdue_at;
    if ((a->overdue_at == NO_TIME && !overdue) || recovered) { /* its next deadline */
        int64_t deadline = since + a->alert_after_ms * 1000;
        if (deadline < l->next) l->next = deadline;
    }
    if ((a->overdue_at != NO_TIME || overdue) && !recovered) map_put(&n->overdue, a->id, l);
    if (!overdue && !recovered) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->due = xrealloc(l->due, l->cap * sizeof *l->due);
    }
    struct alert_due *d = &l->due[l->n++];
    snprintf(d->id, sizeof d->id, "%s", a->id);
    d->overdue_at = a->overdue_at;
    d->last_success = a->last_success_end;
    d->overdue = overdue;
}

/* Tells job j's notifications that it is overdue (since `at`), or that its alert is closed: it
 * recovered (reason "succeeded"), or reason says why it is watched no more. */
static void alert(struct notify *n, const struct job *j, const struct alert_due *a, int64_t at,
                  const char *reason)
{
    char after[32], last[TIME_STR_MAX], when[TIME_STR_MAX], id[UUID_STR_LEN];
    duration_format(j->alert_after_ms, after);
    if (a->last_success != NO_TIME) time_format(a->last_success, last);
    time_format(a->overdue ? at : a->overdue_at, when);
    uuid_v7(id, time_now_us()); /* the alert's own id, as a run's names its deliveries */
    /* no link to a job deleted */
    char *link = n->cfg->public_url && strcmp(reason ? reason : "", "deleted")
                     ? xasprintf("%s/jobs/%s", n->cfg->public_url, j->id)
                     : NULL;
    bool succeeded = !a->overdue && !strcmp(reason, "succeeded");
    struct buf mail = BUF_INIT;
    buf_puts(&mail, "The job \"");
    mail_text(&mail, j->title, 300);
    if (a->overdue && a->last_success != NO_TIME)
        buf_printf(&mail, "\" has not succeeded for longer than %s: its last successful run "
                          "ended at %s.\r\n", after, last);
    else if (a->overdue)
        buf_printf(&mail, "\" has not succeeded for longer than %s: it has had no successful "
                          "run since it was created.\r\n", after);
    else if (succeeded)
        buf_printf(&mail, "\" succeeded again: its run ended at %s, after it was reported "
                          "overdue at %s.\r\n", last, when);
    else
        buf_printf(&mail, "\", reported overdue at %s, is watched no more: %s.\r\n", when,
                   !strcmp(reason, "deleted")       ? "it was deleted"
                   : !strcmp(reason, "deactivated") ? "it was deactivated"
                   : !strcmp(reason, "alert_removed")
                       ? "its alert was removed"
                       : "its alert was changed, which judges it afresh from now");
    if (link) buf_printf(&mail, "\r\nThe job and its runs: %s\r\n", link);
    char *subject = xasprintf("Job %s: %s",
                              a->overdue ? "overdue" : succeeded ? "recovered" : "alert closed",
                              j->title);
    const char *event = a->overdue ? "job.overdue" : "job.recovered";
    json_t *doc = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:s?,s:s,s:s*,s:s?}", "event", event,
                            "alert_id", id, "job", "id", j->id, "title", j->title, "task", j->task,
                            "alert_after", after,
                            "last_success", a->last_success != NO_TIME ? last : NULL,
                            "overdue_since", when, "reason", reason, "link", link);
    char *hook = json_dump(doc);
    json_decref(doc);
    if (a->overdue)
        log_warn("job.overdue", "job=%s alert=%s alert_after=%s last_success=%s", j->id, id,
                 after, a->last_success != NO_TIME ? last : "none");
    else
        log_info("job.recovered", "job=%s alert=%s overdue_since=%s reason=%s", j->id, id, when,
                 reason);
    deliver_to(n, j, id, event, subject, buf_cstr(&mail), hook);
    free(subject);
    free(hook);
    free(link);
    buf_free(&mail);
}

void notify_alert_closed(struct notify *n, const struct job *j, const char *reason)
{
    if (!n || j->overdue_at == NO_TIME) return;
    struct alert_due a = {.overdue_at = j->overdue_at, .last_success = NO_TIME};
    snprintf(a.id, sizeof a.id, "%s", j->id);
    alert(n, j, &a, time_now_us(), reason);
}

static void forget_last_successes(struct notify *n)
{
    size_t i;
    for (struct map_entry *e = map_first(&n->last_success, &i); e;
         e = map_next(&n->last_success, &i, e))
        free(e->value);
    map_release(&n->last_success);
}

void notify_success_deleted(struct notify *n, const char *job_id)
{
    if (!n) return;
    int64_t *last = map_del(&n->last_success, job_id);
    if (!last) return; /* no alert of its kept */
    free(last); /* read again from the store, at once */
    notify_recheck(n);
}

static void on_alert_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct notify *n = arg;
    int64_t now = time_now_us();
    struct alerts l = {.now = now, .next = now + ALERT_CHECK_US, .notify = n};
    map_release(&n->overdue);
    map_init(&n->overdue);
    map_init(&l.last_success);
    store_begin(n->store);
    store_jobs_alerting(n->store, alert_seen, &l);
    forget_last_successes(n); /* of the jobs not listed: deleted, deactivated, no alert */
    n->last_success = l.last_success;
    for (size_t i = 0; i < l.n; i++) {
        const struct alert_due *a = &l.due[i];
        struct job j;
        /* told once: the compare-and-set fails for a job saved or told meanwhile; the alert's
         * rows in the outbox commit with its overdue_at, so a crash keeps both or neither */
        if (store_job_set_overdue(n->store, a->id, a->overdue_at, a->overdue ? l.now : NO_TIME) ||
            store_job_get(n->store, a->id, &j))
            continue;
        alert(n, &j, a, l.now, a->overdue ? NULL : "succeeded");
        job_release(&j);
    }
    store_commit(n->store);
    free(l.due);
    /* rows of the outbox with no delivery in memory whose end would take them up: a read of
     * the outbox failed (store.error) as the last one ended; tried again here */
    if (n->live == 0) take_up(n);
    /* again at the next deadline, and at least every 30 s (jobs saved meanwhile, clocks) */
    int64_t wait = l.next - time_now_us();
    if (wait < 0) wait = 0;
    struct timeval tv = {wait / 1000000, wait % 1000000};
    evtimer_add(n->alert_ev, &tv);
}

void notify_recheck(struct notify *n)
{
    static const struct timeval now = {0, 0};
    evtimer_add(n->alert_ev, &now);
}

/* A delivery no thread had begun when sked stopped: its row waits in the outbox. */
static void keep_queued(void *arg)
{
    struct delivery *d = arg;
    d->n->kept++;
    delivery_free(d);
}

struct notify *notify_new(struct event_base *base, struct store *st, struct events *ev,
                          const struct config *cfg)
{
    struct notify *n = xcalloc(1, sizeof *n);
    n->base = base;
    n->store = st;
    n->events = ev;
    n->cfg = cfg;
    n->mail_pool = offload_new(base, MAIL_THREADS);
    n->hook_pool = offload_new(base, HOOK_THREADS);
    n->sub = events_subscribe(ev, NULL, on_event, n);
    map_init(&n->overdue);
    map_init(&n->last_success);
    n->alert_ev = evtimer_new(base, on_alert_check, n);
    struct timeval first = {1, 0}; /* soon after the start: a job may be overdue already */
    evtimer_add(n->alert_ev, &first);
    /* what the last process left in the outbox (a stop, a crash): sent now, before the runs
     * the recovery fails add theirs */
    int64_t left = store_outbox_count(st);
    if (left > 0) {
        log_info("notify.resumed", "count=%lld", (long long)left);
        n->stored = left;
        count_pending(n);
        take_up(n);
        trim(n);
    }
    return n;
}

void notify_free(struct notify *n)
{
    if (!n) return;
    events_unsubscribe(n->events, n->sub);
    event_free(n->alert_ev);
    map_release(&n->overdue);
    forget_last_successes(n);
    n->stopping = true; /* a delivery that fails from now on waits in the outbox, not retried */
    /* those not begun stay in the outbox; those under way finish (an attempt, 10 s at most) */
    offload_withdraw(n->mail_pool, keep_queued);
    offload_withdraw(n->hook_pool, keep_queued);
    offload_free(n->mail_pool);
    offload_free(n->hook_pool);
    while (n->waiting) { /* retries waiting */
        struct delivery *d = n->waiting;
        n->waiting = d->next;
        n->kept++;
        delivery_free(d);
    }
    if (n->kept + n->stored > 0)
        log_info("notify.kept", "count=%lld reason=\"sked stopped before they were sent: the "
                                "next start sends them\"",
                 (long long)(n->kept + n->stored));
    free(n);
}

const struct notify_stats *notify_stats(const struct notify *n)
{
    return &n->stats;
}
