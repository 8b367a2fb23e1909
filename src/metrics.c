/* metrics: Prometheus counters, histograms and their exposition; see metrics.h. */
#include "metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "base/xalloc.h"
#include "model.h"

#define NBUCKETS 12

struct histogram {
    const double *bounds; /* NBUCKETS upper bounds */
    uint64_t counts[NBUCKETS + 1];
    double sum;
    uint64_t count;
};

/* A labelled series: a counter value or a histogram. */
struct series {
    double value;
    struct histogram h;
};

struct family {
    const char *name, *type, *help;
    const double *bounds; /* histograms */
    struct map by_labels; /* label text -> struct series */
};

/* The series the last run's end and the last request counted in: the next is most often the
 * same, found without building and hashing its labels (series live as long as their family). */
struct run_memo {
    char job[UUID_STR_LEN], queue[64];
    int status;
    struct series *count, *duration; /* count NULL: nothing kept */
};
struct http_memo {
    char method[16], route[96];
    int status;
    struct series *count, *seconds; /* count NULL: nothing kept */
};

struct metrics {
    struct events *events;
    struct events_sub *sub;
    struct family runs, duration, http, http_seconds, lateness, skipped, store;
    struct run_memo run_memo;
    struct http_memo http_memo;
};

/* Whether s fits in a memo's field of `size` bytes, and then copies it there. */
static bool memo_fits(char *field, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size) return false;
    memcpy(field, s, n + 1);
    return true;
}

static const double seconds_buckets[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   1,     5,    30};
static const double run_buckets[NBUCKETS] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 7200};

static void family_init(struct family *f, const char *name, const char *type, const char *help,
                        const double *bounds)
{
    f->name = name;
    f->type = type;
    f->help = help;
    f->bounds = bounds;
    map_init(&f->by_labels);
}

static void family_release(struct family *f)
{
    size_t it;
    for (struct map_entry *e = map_first(&f->by_labels, &it); e; e = map_next(&f->by_labels, &it, e))
        free(e->value);
    map_release(&f->by_labels);
}

static struct series *series_of(struct family *f, const char *labels)
{
    struct series *s = map_get(&f->by_labels, labels);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->h.bounds = f->bounds;
        map_put(&f->by_labels, labels, s);
    }
    return s;
}

static void observe(struct histogram *h, double v)
{
    int i = 0;
    while (i < NBUCKETS && v > h->bounds[i]) i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void metrics_label(struct buf *out, const char *v)
{
    buf_putc(out, '"');
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(out, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *v);
    }
    buf_putc(out, '"');
}

static void on_event(void *arg, const struct sk_event *ev)
{
    struct metrics *m = arg;
    const struct run *r = ev->run;
    if (ev->kind != SKEV_STATUS || !run_status_terminal(r->status)) return;
    const char *queue = r->queue ? r->queue : "";
    struct run_memo *memo = &m->run_memo;
    bool keep = true; /* labels too long for the memo leave nothing kept */
    if (!memo->count || memo->status != (int)r->status || strcmp(memo->job, r->job_id) != 0 ||
        strcmp(memo->queue, queue) != 0) {
        struct buf l = BUF_INIT;
        buf_puts(&l, "job_id=");
        metrics_label(&l, r->job_id);
        buf_puts(&l, ",queue=");
        metrics_label(&l, r->queue);
        buf_puts(&l, ",status=");
        metrics_label(&l, run_status_name(r->status));
        memo->count = series_of(&m->runs, buf_cstr(&l));
        buf_reset(&l);
        buf_puts(&l, "queue=");
        metrics_label(&l, r->queue);
        memo->duration = series_of(&m->duration, buf_cstr(&l));
        buf_free(&l);
        memo->status = (int)r->status;
        keep = memo_fits(memo->job, sizeof memo->job, r->job_id) &&
               memo_fits(memo->queue, sizeof memo->queue, queue);
    }
    memo->count->value++;
    if (r->started_at != NO_TIME && r->finished_at != NO_TIME)
        observe(&memo->duration->h, (double)(r->finished_at - r->started_at) / 1e6);
    if (!keep) memo->count = NULL;
}

struct metrics *metrics_new(struct events *ev)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    family_init(&m->runs, "sked_runs_total", "counter", "Runs that ended, by job, queue and status.", NULL);
    family_init(&m->duration, "sked_run_duration_seconds", "histogram",
                "How long runs ran, from start to end, by queue.", run_buckets);
    family_init(&m->http, "sked_http_requests_total", "counter",
                "HTTP requests answered, by method, route and status.", NULL);
    family_init(&m->http_seconds, "sked_http_request_duration_seconds", "histogram",
                "Time from a request's arrival to its answer, by route.", seconds_buckets);
    family_init(&m->lateness, "sked_scheduler_lateness_seconds", "histogram",
                "How long after its due time a scheduled run was created.", seconds_buckets);
    family_init(&m->skipped, "sked_scheduler_skipped_fires_total", "counter",
                "Scheduled fires that created no run (overlap or catch-up policy).", NULL);
    family_init(&m->store, "sked_store_write_duration_seconds", "histogram",
                "How long store writes (transactions and single statements) took.", seconds_buckets);
    m->events = ev;
    m->sub = events_subscribe(ev, NULL, on_event, m);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m) return;
    events_unsubscribe(m->events, m->sub);
    struct family *fs[] = {&m->runs, &m->duration, &m->http, &m->http_seconds,
                           &m->lateness, &m->skipped, &m->store};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) family_release(fs[i]);
    free(m);
}

void metrics_http(struct metrics *m, const char *method, const char *route, int status,
                  double seconds)
{
    if (!m) return;
    struct http_memo *memo = &m->http_memo;
    bool keep = true;
    if (!memo->count || memo->status != status || strcmp(memo->route, route) != 0 ||
        strcmp(memo->method, method) != 0) {
        struct buf l = BUF_INIT;
        buf_puts(&l, "method=");
        metrics_label(&l, method);
        buf_puts(&l, ",route=");
        metrics_label(&l, route);
        buf_printf(&l, ",status=\"%d\"", status);
        memo->count = series_of(&m->http, buf_cstr(&l));
        buf_reset(&l);
        buf_puts(&l, "route=");
        metrics_label(&l, route);
        memo->seconds = series_of(&m->http_seconds, buf_cstr(&l));
        buf_free(&l);
        memo->status = status;
        keep = memo_fits(memo->method, sizeof memo->method, method) &&
               memo_fits(memo->route, sizeof memo->route, route);
    }
    memo->count->value++;
    observe(&memo->seconds->h, seconds);
    if (!keep) memo->count = NULL;
}

void metrics_fire(struct metrics *m, double late)
{
    if (m) observe(&series_of(&m->lateness, "")->h, late < 0 ? 0 : late);
}

void metrics_skipped(struct metrics *m, long n)
{
    if (m && n > 0) series_of(&m->skipped, "")->value += (double)n;
}

void metrics_store(struct metrics *m, double seconds)
{
    if (m) observe(&series_of(&m->store, "")->h, seconds);
}

static void number(struct buf *out, double v)
{
    if (v == (double)(long long)v && v < 1e15 && v > -1e15) {
        buf_printf(out, "%lld", (long long)v);
        return;
    }
    /* the fewest digits that read back as v: 0.05, not 0.050000000000000003, and a start
     * time to the microsecond */
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    buf_puts(out, text);
}

void metrics_family(struct buf *out, const char *name, const char *type, const char *help,
                    const struct metric_sample *samples, size_t n)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, name);
        if (samples[i].labels && *samples[i].labels) buf_printf(out, "{%s}", samples[i].labels);
        buf_putc(out, ' ');
        number(out, samples[i].value);
        buf_putc(out, '\n');
    }
}

static void render_family(struct buf *out, struct family *f)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
    size_t it;
    for (struct map_entry *e = map_first(&f->by_labels, &it); e; e = map_next(&f->by_labels, &it, e)) {
        struct series *s = e->value;
        const char *l = e->key;
        if (!f->bounds) {
            buf_printf(out, "%s%s%s%s ", f->name, *l ? "{" : "", l, *l ? "}" : "");
            number(out, s->value);
            buf_putc(out, '\n');
            continue;
        }
        uint64_t cum = 0;
        for (int i = 0; i <= NBUCKETS; i++) {
            cum += s->h.counts[i];
            buf_printf(out, "%s_bucket{%s%sle=\"", f->name, l, *l ? "," : "");
            if (i < NBUCKETS)
                number(out, f->bounds[i]);
            else
                buf_puts(out, "+Inf");
            buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
        }
        buf_printf(out, "%s_sum%s%s%s ", f->name, *l ? "{" : "", l, *l ? "}" : "");
        number(out, s->h.sum);
        buf_printf(out, "\n%s_count%s%s%s %llu\n", f->name, *l ? "{" : "", l, *l ? "}" : "",
                   (unsigned long long)s->h.count);
    }
}

void metrics_render(struct metrics *m, struct buf *out)
{
    struct family *fs[] = {&m->runs, &m->duration, &m->http, &m->http_seconds,
                           &m->lateness, &m->skipped, &m->store};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) render_family(out, fs[i]);
}
