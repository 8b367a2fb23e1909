/*
 * metrics: what /metrics shows, in the Prometheus text format. Counters and histograms are
 * fed as things happen - run ends (from run events), HTTP answers, scheduler fires, store
 * writes - and gauges (queue depth, busy slots, ...) are read when scraped. Label sets are
 * bounded by what the administrator configures (jobs, queues, routes), never by clients.
 */
#ifndef SKED_METRICS_H
#define SKED_METRICS_H

#include "base/buf.h"
#include "events.h"

struct metrics;

struct metrics *metrics_new(struct events *ev);
void metrics_free(struct metrics *m);

/* An HTTP answer: route is the matched pattern ("/api/jobs/{}"), "static" or "unmatched". */
void metrics_http(struct metrics *m, const char *method, const char *route, int status,
                  double seconds);
/* A scheduled fire: how late it was, and fires skipped by policy. */
void metrics_fire(struct metrics *m, double late_seconds);
void metrics_skipped(struct metrics *m, long n);
/* A store write (transaction or single statement): how long it took. */
void metrics_store(struct metrics *m, double seconds);

/* A gauge or counter read at scrape time. */
struct metric_sample {
    const char *labels; /* "queue=\"default\"" or "" */
    double value;
};
/* Appends one metric family with its HELP and TYPE lines. */
void metrics_family(struct buf *out, const char *name, const char *type, const char *help,
                    const struct metric_sample *samples, size_t n);
/* Appends every family fed through the functions above. */
void metrics_render(struct metrics *m, struct buf *out);
/* Escapes a label value (backslash, quote, newline). */
void metrics_label(struct buf *out, const char *value);

#endif
