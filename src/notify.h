/*
 * notify: telling people when runs end. It subscribes to run events; when a run ends in a
 * status its job lists in notification_statuses, it sends an e-mail to each address of the
 * job (libcurl SMTP, STARTTLS when the server offers it) and POSTs a JSON document to each of
 * its webhooks, signed with HMAC-SHA256 when a secret is configured and retried with a
 * doubling backoff. Deliveries run on their own small thread pool, never on the loop; a
 * delivery that fails is logged and counted and never changes the run.
 *
 * Every delivery is a row of the store's outbox (store version 22) from the transaction of what
 * calls for it (a run's end, a job's overdue_at) until it is sent or given up, so that neither
 * a crash, nor a shutdown, nor a full backlog loses it: at least once (a crash during a send
 * sends it again; receivers tell repeats by the run id or alert_id in the body).
 */
#ifndef SKED_NOTIFY_H
#define SKED_NOTIFY_H

#include <stdint.h>

#include "config.h"
#include "events.h"
#include "store/store.h"

struct notify;
struct event_base;

/* Deliveries that may wait in the outbox besides those in memory (at most --notify-backlog):
 * past it the oldest waiting is given up (notify.dropped). */
#define NOTIFY_OUTBOX_WAITING 10000

struct notify_stats {
    uint64_t sent[2], failed[2]; /* [0] e-mail, [1] webhook; failed counts final failures */
    uint64_t retries;
    uint64_t dropped; /* given up unsent: NOTIFY_OUTBOX_WAITING waited in the outbox already */
    size_t pending;   /* deliveries not yet sent: queued, under way, waiting for a retry or in
                       * the outbox */
};

/* Sends what the outbox holds (a previous process's deliveries not sent), then what runs and
 * alerts call for. */
struct notify *notify_new(struct event_base *base, struct store *st, struct events *ev,
                          const struct config *cfg);
/* Waits for deliveries in flight; what is not sent stays in the outbox for the next start. */
void notify_free(struct notify *n);
const struct notify_stats *notify_stats(const struct notify *n);
/* Looks at the jobs with an alert_after at once (a job was saved with one). */
void notify_recheck(struct notify *n);
/* A SUCCESS run of job_id was deleted: its last success, kept for its alert_after, is read
 * again from the store (an older one, or none), and the jobs looked at again. n may be NULL. */
void notify_success_deleted(struct notify *n, const char *job_id);
/* Tells the notifications of job j, if it was overdue (j->overdue_at), that its alert is closed
 * without a success: reason is "alert_changed", "alert_removed", "deactivated" or "deleted".
 * n may be NULL. */
void notify_alert_closed(struct notify *n, const struct job *j, const char *reason);

/* "Job Failed: TITLE" and friends, as the reference names them. Caller frees. */
char *notify_subject(int status, const char *title);
/* The hex HMAC-SHA256 signature of a webhook: over "TIMESTAMP.BODY" with key. out: 65 bytes. */
void notify_sign(const char *key, const char *timestamp, const char *body, char out[65]);
/* A webhook URL as logs and readers who are no admin see it: scheme and host, any user and
 * password and everything after the host cut, and "/…" when anything was
 * ("https://hooks.example.org/…"), since such URLs are often secrets themselves (a chat
 * service's incoming hooks). NULL when url has no "scheme://". Caller frees. */
char *notify_hook_shown(const char *url);
/* Why u cannot be a webhook's URL, or NULL: http:// or https://, a host, at most 2000 bytes, no
 * space, control character or other character than ASCII (so never a form notify_hook_shown
 * made). Said as the end of "'URL' ..." */
const char *notify_url_problem(const char *u);

#endif
