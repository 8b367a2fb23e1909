/* api_metrics: GET /metrics - the Prometheus text format: what metrics.c counted as it
 * happened, and gauges read now (queues, active runs, schedules, notifications, the process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "celery.h"
#include "dispatch.h"
#include "metrics.h"
#include "notify.h"
#include "scheduler.h"
#include "store/store.h"

#ifndef SKED_VERSION
#define SKED_VERSION "dev"
#endif

static void celery_families(struct buf *out, struct celery *cel);

static double resident_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

/* The families of every job, written off the loop with the queues' depths: a sample per job
 * and family (100,000 jobs make some 30 MB). */
struct job_families {
    int rc;
    struct buf info, success, next;
};

static void job_sample(struct buf *out, const char *name, const char *id, int64_t us)
{
    buf_puts(out, name);
    buf_puts(out, "{job_id=");
    metrics_label(out, id);
    buf_printf(out, "} %.6f\n", (double)us / 1e6);
}

static void add_job(void *arg, const struct job_fact *f)
{
    struct job_families *jf = arg;
    buf_puts(&jf->info, "sked_job_info{job_id=");
    metrics_label(&jf->info, f->id);
    buf_puts(&jf->info, ",title=");
    metrics_label(&jf->info, f->title);
    buf_puts(&jf->info, ",task=");
    metrics_label(&jf->info, f->task);
    buf_puts(&jf->info, "} 1\n");
    if (f->last_success_end != NO_TIME)
        job_sample(&jf->success, "sked_job_last_success_timestamp_seconds", f->id,
                   f->last_success_end);
    if (f->next_fire != NO_TIME)
        job_sample(&jf->next, "sked_job_next_fire_timestamp_seconds", f->id, f->next_fire);
}

static void read_jobs(struct store *reader, void *arg)
{
    struct job_families *jf = arg;
    jf->rc = store_job_facts(reader, add_job, jf);
}

static void job_family(struct buf *out, const char *name, const char *help, struct buf *samples)
{
    metrics_family(out, name, "gauge", help, NULL, 0);
    buf_append(out, samples->data ? samples->data : "", samples->len);
}

/* With the queues and their depths (counted off the loop: api_with_queues). */
static void render(struct api_ctx *c, const struct queue_info *qs, size_t nq, void *arg)
{
    struct job_families *jf = arg;
    if (c && jf->rc != 0) {
        api_error(c, 503, "the store failed; see the server log");
        c = NULL;
    }
    if (!c) {
        buf_free(&jf->info);
        buf_free(&jf->success);
        buf_free(&jf->next);
        free(jf);
        return;
    }
    struct api *a = c->api;
    struct buf out = BUF_INIT;
    metrics_render(a->metrics, &out);

    /* one sample of each family per queue: 4 * nq, labels[] their shared label text */
    struct metric_sample *sm = xcalloc(4 * nq + 1, sizeof *sm);
    struct metric_sample *depth = sm, *busy = sm + nq, *slots = sm + 2 * nq, *paused = sm + 3 * nq;
    struct buf *labels = xcalloc(nq + 1, sizeof *labels);
    for (size_t i = 0; i < nq; i++) {
        labels[i] = (struct buf)BUF_INIT;
        buf_puts(&labels[i], "queue=");
        metrics_label(&labels[i], qs[i].name);
        depth[i] = (struct metric_sample){buf_cstr(&labels[i]), (double)qs[i].queued};
        busy[i] = (struct metric_sample){buf_cstr(&labels[i]), (double)qs[i].busy};
        slots[i] = (struct metric_sample){buf_cstr(&labels[i]), (double)qs[i].slots};
        paused[i] = (struct metric_sample){buf_cstr(&labels[i]), qs[i].pause ? 1.0 : 0.0};
    }
    metrics_family(&out, "sked_queue_depth", "gauge", "Runs waiting in each queue.", depth, nq);
    metrics_family(&out, "sked_queue_busy_slots", "gauge", "Runs executing in each queue.", busy, nq);
    metrics_family(&out, "sked_queue_slots", "gauge", "Concurrency of each queue.", slots, nq);
    metrics_family(&out, "sked_queue_paused", "gauge",
                   "1 while an operator has paused the queue (it starts none of its runs).", paused,
                   nq);
    for (size_t i = 0; i < nq; i++) buf_free(&labels[i]);
    free(labels);
    free(sm);

    struct celery *cel = dispatch_celery(a->dispatch);
    if (cel) celery_families(&out, cel);

    struct metric_sample one = {"", (double)dispatch_active_count(a->dispatch)};
    metrics_family(&out, "sked_runs_active", "gauge", "Runs executing on this node.", &one, 1);
    one.value = (double)scheduler_count(a->sched);
    metrics_family(&out, "sked_scheduled_jobs", "gauge", "Active jobs with a schedule.", &one, 1);
    job_family(&out, "sked_job_info", "Each job, by id, with its title and job type.", &jf->info);
    job_family(&out, "sked_job_last_success_timestamp_seconds",
               "When the newest successful run of each job ended, seconds since the epoch.",
               &jf->success);
    job_family(&out, "sked_job_next_fire_timestamp_seconds",
               "When each active scheduled job fires next, seconds since the epoch.", &jf->next);

    const struct notify_stats *ns = notify_stats(a->notify);
    struct metric_sample sent[2] = {{"channel=\"email\"", (double)ns->sent[0]},
                                    {"channel=\"webhook\"", (double)ns->sent[1]}};
    struct metric_sample failed[2] = {{"channel=\"email\"", (double)ns->failed[0]},
                                      {"channel=\"webhook\"", (double)ns->failed[1]}};
    metrics_family(&out, "sked_notifications_sent_total", "counter",
                   "Notifications delivered, by channel.", sent, 2);
    metrics_family(&out, "sked_notification_failures_total", "counter",
                   "Notifications given up on after their last attempt, by channel.", failed, 2);
    one.value = (double)ns->retries;
    metrics_family(&out, "sked_notification_retries_total", "counter",
                   "Deliveries (webhook calls, e-mails) tried again after a failure.", &one, 1);
    one.value = (double)ns->pending;
    metrics_family(&out, "sked_notifications_pending", "gauge",
                   "Deliveries not yet sent: queued, under way, waiting for a retry or in the store's outbox.", &one, 1);
    one.value = (double)ns->dropped;
    metrics_family(&out, "sked_notifications_dropped_total", "counter",
                   "Deliveries given up because too many waited in the outbox already.", &one, 1);

    struct metric_sample build = {"version=\"" SKED_VERSION "\"", 1};
    metrics_family(&out, "sked_build_info", "gauge", "The running sked.", &build, 1);
    one.value = (double)a->started_us / 1e6;
    metrics_family(&out, "sked_start_time_seconds", "gauge",
                   "When this sked started, seconds since the epoch.", &one, 1);
    one.value = resident_bytes();
    metrics_family(&out, "sked_resident_memory_bytes", "gauge", "Resident memory of sked.", &one, 1);
    http_reply(c->req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_cstr(&out), out.len);
    buf_free(&out);
    render(NULL, NULL, 0, jf);
}

/* The Celery queues (celery_queues_json): whether sked reaches each broker, and each queue's
 * depth (its messages, not only sked's) and workers online, labelled with the broker, since
 * two brokers may have queues of one name. */
static void celery_families(struct buf *out, struct celery *cel)
{
    json_t *qs = celery_queues_json(cel);
    size_t n = json_array_size(qs), nb = 0, nd = 0;
    struct metric_sample *up = xcalloc(n + 1, sizeof *up), *depth = xcalloc(n + 1, sizeof *depth),
                         *online = xcalloc(n + 1, sizeof *online);
    struct buf *blabel = xcalloc(n + 1, sizeof *blabel), *qlabel = xcalloc(n + 1, sizeof *qlabel);
    size_t i;
    json_t *q;
    json_array_foreach(qs, i, q)
    {
        const char *broker = json_str(q, "broker");
        blabel[i] = qlabel[i] = (struct buf)BUF_INIT;
        buf_puts(&blabel[i], "broker=");
        metrics_label(&blabel[i], broker ? broker : "");
        buf_printf(&qlabel[i], "%s,queue=", buf_cstr(&blabel[i]));
        metrics_label(&qlabel[i], json_str(q, "name"));
        bool seen = false;
        for (size_t k = 0; k < nb && !seen; k++) seen = strcmp(up[k].labels, buf_cstr(&blabel[i])) == 0;
        if (!seen)
            up[nb++] = (struct metric_sample){buf_cstr(&blabel[i]),
                                              json_is_true(json_object_get(q, "connected")) ? 1 : 0};
        json_t *queued = json_object_get(q, "queued");
        if (json_is_integer(queued))
            depth[nd++] = (struct metric_sample){buf_cstr(&qlabel[i]),
                                                 (double)json_integer_value(queued)};
        size_t k, live = 0;
        json_t *w;
        json_array_foreach(json_object_get(q, "workers"), k, w)
            live += json_is_true(json_object_get(w, "online"));
        online[i] = (struct metric_sample){buf_cstr(&qlabel[i]), (double)live};
    }
    metrics_family(out, "sked_celery_broker_connected", "gauge",
                   "1 while sked's connection to the Celery broker is up.", up, nb);
    metrics_family(out, "sked_celery_queue_depth", "gauge",
                   "Messages waiting in each Celery queue (all of them, not only sked's).", depth,
                   nd);
    metrics_family(out, "sked_celery_workers_online", "gauge",
                   "Workers online that consume each Celery queue.", online, n);
    for (i = 0; i < n; i++) {
        buf_free(&blabel[i]);
        buf_free(&qlabel[i]);
    }
    free(blabel);
    free(qlabel);
    free(up);
    free(depth);
    free(online);
    json_decref(qs);
}

void api_metrics(struct api_ctx *c)
{
    struct job_families *jf = xcalloc(1, sizeof *jf);
    jf->info = jf->success = jf->next = (struct buf)BUF_INIT;
    api_with_queues(c, read_jobs, render, jf);
}
