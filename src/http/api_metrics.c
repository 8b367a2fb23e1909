/* api_metrics: GET /metrics - the Prometheus text format: what metrics.c counted as it
 * happened, and gauges read now (queues, active runs, schedules, notifications, the process). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "base/buf.h"
#include "dispatch.h"
#include "metrics.h"
#include "notify.h"
#include "scheduler.h"

#ifndef SKED_VERSION
#define SKED_VERSION "dev"
#endif

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

/* With the queues and their depths (counted off the loop: api_with_queues). */
static void render(struct api_ctx *c, const struct queue_info *qs, size_t nq, void *arg)
{
    (void)arg;
    if (!c) return;
    struct api *a = c->api;
    struct buf out = BUF_INIT;
    metrics_render(a->metrics, &out);

    struct metric_sample depth[64], busy[64], slots[64], paused[64];
    struct buf labels[64];
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

    struct metric_sample one = {"", (double)dispatch_active_count(a->dispatch)};
    metrics_family(&out, "sked_runs_active", "gauge", "Runs executing on this node.", &one, 1);
    one.value = (double)scheduler_count(a->sched);
    metrics_family(&out, "sked_scheduled_jobs", "gauge", "Active jobs with a schedule.", &one, 1);

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
                   "Webhook deliveries tried again after a failure.", &one, 1);

    struct metric_sample build = {"version=\"" SKED_VERSION "\"", 1};
    metrics_family(&out, "sked_build_info", "gauge", "The running sked.", &build, 1);
    one.value = (double)a->started_us / 1e6;
    metrics_family(&out, "sked_start_time_seconds", "gauge",
                   "When this sked started, seconds since the epoch.", &one, 1);
    one.value = resident_bytes();
    metrics_family(&out, "sked_resident_memory_bytes", "gauge", "Resident memory of sked.", &one, 1);
    http_reply(c->req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_cstr(&out), out.len);
    buf_free(&out);
}

void api_metrics(struct api_ctx *c)
{
    api_with_queues(c, render, NULL);
}
