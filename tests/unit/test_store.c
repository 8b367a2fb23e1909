/*
 * test_store: the SQLite backend behind store.h, on a fresh database file per test. What
 * matters most is pinned hardest: guarded run updates (a late or foreign writer never moves a
 * run), claims taking the oldest queued run of one queue, deletes that refuse unfinished runs
 * and cascade to logs, and searches whose LIKE wildcards come from users.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "base/log.h"
#include "base/uuid.h"
#include "store/sqlmem.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *s;
};

static int setup(void **state)
{
    log_setup(LOG_ERROR, LOG_TEXT); /* migrations log at info; keep test output readable */
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sked-test-store-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    struct sk_err e = {0};
    if (store_open(f->path, DURABILITY_NORMAL, &f->s, &e) != 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc;
}

#define S (((struct fixture *)*state)->s)

/* Inserts a job and copies its id to id. */
static void add_job(struct store *s, char id[UUID_STR_LEN], const char *title, const char *desc,
                    bool active, int64_t created, int64_t updated)
{
    struct job j;
    job_init(&j);
    uuid_v4(j.id);
    j.created = created;
    j.updated = updated;
    j.active = active;
    j.title = strdup(title);
    j.description = desc ? strdup(desc) : NULL;
    j.task = strdup("import_files");
    j.default_queue = strdup("default");
    j.run_args = json_pack("{s:s}", "source", "/data");
    assert_int_equal(store_job_insert(s, &j), 0);
    memcpy(id, j.id, UUID_STR_LEN);
    job_release(&j);
}

/* Inserts a run of job in queue and returns it in r (caller releases). */
static void add_run(struct store *s, struct run *r, const char *job, const char *queue,
                    enum run_status st, int64_t created, int64_t scheduled_for, const char *title)
{
    run_init(r);
    uuid_v4(r->id);
    memcpy(r->job_id, job, UUID_STR_LEN);
    r->task = strdup("import_files");
    r->status = st;
    r->title = title ? strdup(title) : NULL;
    r->queue = strdup(queue);
    r->args = json_pack("{s:i}", "n", 1);
    r->created = created;
    r->scheduled_for = scheduled_for;
    assert_int_equal(store_run_insert(s, r), 0);
    assert_true(r->rid > 0);
}

/* Moves run id from status `from` to `to` with no other change. */
static void set_status(struct store *s, const char *id, enum run_status from, enum run_status to)
{
    struct run_guard g = {id, 1u << from, NULL, 0};
    struct run f;
    run_init(&f);
    assert_int_equal(store_run_update(s, &g, to, 0, &f, 1), 0);
}

static void test_open_migrate_meta(void **state)
{
    struct fixture *f = *state;
    assert_true(store_version(S) >= 1);
    int v = store_version(S);
    char *val = (char *)1;
    assert_int_equal(store_meta_get(S, "nope", &val), -ENOENT);
    assert_int_equal(store_meta_set(S, "k", "v1"), 0);
    assert_int_equal(store_meta_get(S, "k", &val), 0);
    assert_string_equal(val, "v1");
    free(val);
    assert_int_equal(store_meta_set(S, "k", "v2"), 0); /* overwrite, not a second row */
    assert_int_equal(store_meta_get(S, "k", &val), 0);
    assert_string_equal(val, "v2");
    free(val);

    /* reopening an existing store migrates nothing and keeps the data */
    store_close(f->s);
    struct sk_err e = {0};
    assert_int_equal(store_open(f->path, DURABILITY_FULL, &f->s, &e), 0);
    assert_int_equal(store_version(f->s), v);
    assert_int_equal(store_meta_get(f->s, "k", &val), 0);
    assert_string_equal(val, "v2");
    free(val);

    /* a store from a newer sked is refused, not damaged */
    char sql[256];
    snprintf(sql, sizeof sql, "sqlite3 '%s' 'PRAGMA user_version = 999' 2>/dev/null", f->path);
    store_close(f->s);
    f->s = NULL;
    if (system(sql) == 0) {
        struct store *s2 = (struct store *)1;
        assert_int_equal(store_open(f->path, DURABILITY_NORMAL, &s2, &e), -EPROTO);
        assert_null(s2);
        assert_contains(e.msg, "newer than this sked");
        snprintf(sql, sizeof sql, "sqlite3 '%s' 'PRAGMA user_version = %d'", f->path, v);
        assert_int_equal(system(sql), 0);
    }
    assert_int_equal(store_open(f->path, DURABILITY_NORMAL, &f->s, &e), 0);

    /* a path that cannot be opened names the path */
    struct store *s3 = NULL;
    assert_int_equal(store_open("/nonexistent-dir/x/y.db", DURABILITY_NORMAL, &s3, &e), -EIO);
    assert_null(s3);
    assert_contains(e.msg, "/nonexistent-dir/x/y.db");
}

static void test_job_round_trip(void **state)
{
    struct job j;
    job_init(&j);
    uuid_v4(j.id);
    j.created = 100;
    j.updated = 200;
    j.active = false;
    j.title = strdup("Nightly import");
    j.description = strdup("all the files");
    j.task = strdup("import_files");
    j.default_queue = strdup("low");
    j.schedule = json_pack("{s:s}", "cron", "0 3 * * *");
    j.run_args = json_pack("{s:s,s:s}", "source", "/in", "custom_args", "{\"a\":1}");
    j.notifications = json_pack("{s:[s]}", "emails", "ops@example.com");
    j.timeout_ms = 60000;
    j.next_run = 12345;
    assert_int_equal(store_job_insert(S, &j), 0);

    struct job g;
    assert_int_equal(store_job_get(S, j.id, &g), 0);
    assert_string_equal(g.id, j.id);
    assert_int_equal(g.created, 100);
    assert_int_equal(g.updated, 200);
    assert_false(g.active);
    assert_string_equal(g.title, "Nightly import");
    assert_string_equal(g.description, "all the files");
    assert_string_equal(g.task, "import_files");
    assert_string_equal(g.default_queue, "low");
    assert_json_eq(g.schedule, "{\"cron\":\"0 3 * * *\"}");
    assert_json_eq(g.run_args, "{\"source\":\"/in\",\"custom_args\":\"{\\\"a\\\":1}\"}");
    assert_json_eq(g.notifications, "{\"emails\":[\"ops@example.com\"]}");
    assert_int_equal(g.timeout_ms, 60000);
    assert_int_equal(g.next_run, 12345);
    job_release(&g);

    /* update replaces every column but created */
    free(j.title);
    j.title = strdup("Renamed");
    free(j.description);
    j.description = NULL;
    json_decref(j.schedule);
    j.schedule = NULL;
    json_decref(j.run_args);
    j.run_args = NULL;
    json_decref(j.notifications);
    j.notifications = NULL;
    j.created = 999;
    j.updated = 300;
    j.active = true;
    j.timeout_ms = -1;
    j.next_run = NO_TIME;
    assert_int_equal(store_job_update(S, &j), 0);
    assert_int_equal(store_job_get(S, j.id, &g), 0);
    assert_int_equal(g.created, 100);
    assert_int_equal(g.updated, 300);
    assert_true(g.active);
    assert_string_equal(g.title, "Renamed");
    assert_null(g.description);
    assert_null(g.schedule);
    assert_json_eq(g.run_args, "{}"); /* never NULL after load */
    assert_null(g.notifications);
    assert_int_equal(g.timeout_ms, -1);
    assert_true(g.next_run == NO_TIME);
    job_release(&g);

    char other[UUID_STR_LEN];
    uuid_v4(other);
    memcpy(j.id, other, UUID_STR_LEN);
    assert_int_equal(store_job_update(S, &j), -ENOENT);
    assert_int_equal(store_job_get(S, other, &g), -ENOENT);
    assert_int_equal(store_job_delete(S, other), -ENOENT);
    job_release(&j);
}

/* Lists jobs with q and returns the titles joined by ",", total in *total. */
static const char *titles(struct store *s, const struct job_query *q, int64_t *total)
{
    static char out[512];
    struct job *jobs;
    size_t n;
    assert_int_equal(store_job_list(s, q, &jobs, &n, total, NULL), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "%s%s", i ? "," : "", jobs[i].title);
    }
    store_jobs_free(jobs, n);
    return out;
}

static void test_job_list(void **state)
{
    char id[UUID_STR_LEN];
    add_job(S, id, "banana", "50% off", true, 3, 30);
    add_job(S, id, "Apple", "yellow_green", true, 1, 50);
    add_job(S, id, "cherry", "500 off", false, 2, 10);
    add_job(S, id, "date", "yellowXgreen", true, 4, 40);
    add_job(S, id, "elder\\berry", NULL, false, 5, 20);
    int64_t total;
    struct job_query q = {NULL, -1, NULL, NULL, false, 0, 100};

    /* default order: title, case-insensitive */
    assert_string_equal(titles(S, &q, &total), "Apple,banana,cherry,date,elder\\berry");
    assert_int_equal(total, 5);
    q.desc = true;
    assert_string_equal(titles(S, &q, &total), "elder\\berry,date,cherry,banana,Apple");
    q.desc = false;
    q.sort = "created";
    assert_string_equal(titles(S, &q, &total), "Apple,cherry,banana,date,elder\\berry");
    q.sort = "updated";
    q.desc = true;
    assert_string_equal(titles(S, &q, &total), "Apple,date,banana,elder\\berry,cherry");
    q.sort = "bogus"; /* unknown sort keys fall back to title, never reach SQL */
    q.desc = false;
    assert_string_equal(titles(S, &q, &total), "Apple,banana,cherry,date,elder\\berry");
    q.sort = NULL;

    /* search: a substring of title or description, case-insensitive; % _ \ are literal */
    q.q = "50%";
    assert_string_equal(titles(S, &q, &total), "banana");
    assert_int_equal(total, 1);
    q.q = "w_g";
    assert_string_equal(titles(S, &q, &total), "Apple");
    q.q = "\\";
    assert_string_equal(titles(S, &q, &total), "elder\\berry");
    q.q = "APP";
    assert_string_equal(titles(S, &q, &total), "Apple");
    q.q = "off";
    assert_string_equal(titles(S, &q, &total), "banana,cherry");
    q.q = "%";
    assert_string_equal(titles(S, &q, &total), "banana");
    q.q = "";
    assert_int_equal(strlen(titles(S, &q, &total)) > 0, 1);
    assert_int_equal(total, 5);
    q.q = NULL;

    /* active filter */
    q.active = 1;
    assert_string_equal(titles(S, &q, &total), "Apple,banana,date");
    assert_int_equal(total, 3);
    q.active = 0;
    assert_string_equal(titles(S, &q, &total), "cherry,elder\\berry");
    q.active = -1;

    /* task filter */
    q.task = "other";
    assert_string_equal(titles(S, &q, &total), "");
    assert_int_equal(total, 0);
    q.task = "import_files";
    assert_string_equal(titles(S, &q, &total), "Apple,banana,cherry,date,elder\\berry");
    q.task = NULL;

    /* paging: total counts every match, not the page */
    q.offset = 1;
    q.limit = 2;
    assert_string_equal(titles(S, &q, &total), "banana,cherry");
    assert_int_equal(total, 5);
    q.offset = 4;
    assert_string_equal(titles(S, &q, &total), "elder\\berry");
    q.offset = 10;
    assert_string_equal(titles(S, &q, &total), "");
    assert_int_equal(total, 5);
    q.offset = 0;
    q.active = 1;
    q.limit = 1;
    assert_string_equal(titles(S, &q, &total), "Apple");
    assert_int_equal(total, 3);
}

static void test_job_delete_cascades(void **state)
{
    char job[UUID_STR_LEN], other[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    add_job(S, other, "k", NULL, true, 1, 1);
    struct run r1, r2, r3;
    add_run(S, &r1, job, "default", RUN_QUEUED, 10, NO_TIME, NULL);
    add_run(S, &r2, job, "default", RUN_SUCCESS, 11, NO_TIME, NULL);
    add_run(S, &r3, other, "default", RUN_SUCCESS, 12, NO_TIME, NULL);
    struct log_line lines[2] = {{1, 5, LL_INFO, STREAM_STDOUT, "a"},
                                {2, 6, LL_ERROR, STREAM_STDERR, "b"}};
    assert_int_equal(store_log_append(S, r2.rid, lines, 2), 0);
    assert_int_equal(store_log_append(S, r3.rid, lines, 2), 0);

    assert_int_equal(store_job_delete(S, job), 0);
    struct run g;
    assert_int_equal(store_run_get(S, r1.id, &g), -ENOENT);
    assert_int_equal(store_run_get(S, r2.id, &g), -ENOENT);
    assert_int_equal(store_log_count(S, r2.rid, 0), 0);
    /* the other job's run and log are untouched */
    assert_int_equal(store_run_get(S, r3.id, &g), 0);
    run_release(&g);
    assert_int_equal(store_log_count(S, r3.rid, 0), 2);
    assert_int_equal(store_job_delete(S, job), -ENOENT);
    run_release(&r1);
    run_release(&r2);
    run_release(&r3);
}

static void test_run_round_trip(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run r;
    run_init(&r);
    uuid_v4(r.id);
    memcpy(r.job_id, job, UUID_STR_LEN);
    r.task = strdup("import_files");
    r.status = RUN_FAILED;
    r.title = strdup("a run");
    r.queue = strdup("low");
    r.args = json_pack("{s:s,s:n}", "source", "/x", "since");
    r.trigger = TRIGGER_RETRY;
    r.scheduled_for = 777;
    r.created = 1000;
    r.attempt = 2;
    r.parent_run_id = strdup("parent");
    r.timeout_ms = 5000;
    r.started_by.id = strdup("u1");
    r.started_by.name = strdup("Ann");
    r.message = strdup("could not start");
    r.finished_at = 1001;
    assert_int_equal(store_run_insert(S, &r), 0);
    assert_int_equal(r.updated, 1000);

    struct run g;
    assert_int_equal(store_run_get(S, r.id, &g), 0);
    assert_int_equal(g.rid, r.rid);
    assert_string_equal(g.id, r.id);
    assert_string_equal(g.job_id, job);
    assert_string_equal(g.task, "import_files");
    assert_int_equal(g.status, RUN_FAILED);
    assert_string_equal(g.title, "a run");
    assert_string_equal(g.queue, "low");
    assert_json_eq(g.args, "{\"source\":\"/x\",\"since\":null}");
    assert_int_equal(g.trigger, TRIGGER_RETRY);
    assert_int_equal(g.scheduled_for, 777);
    assert_int_equal(g.created, 1000);
    assert_int_equal(g.updated, 1000);
    assert_true(g.started_at == NO_TIME);
    assert_int_equal(g.finished_at, 1001);
    assert_string_equal(g.message, "could not start");
    assert_false(g.has_exit_code);
    assert_null(g.output);
    assert_null(g.progress);
    assert_int_equal(g.attempt, 2);
    assert_string_equal(g.parent_run_id, "parent");
    assert_null(g.node);
    assert_int_equal(g.claim, 0);
    assert_int_equal(g.timeout_ms, 5000);
    assert_string_equal(g.started_by.id, "u1");
    assert_string_equal(g.started_by.name, "Ann");
    assert_null(g.stopped_by.id);
    run_release(&g);

    /* the same id twice is refused */
    struct run dup;
    run_init(&dup);
    memcpy(dup.id, r.id, UUID_STR_LEN);
    memcpy(dup.job_id, job, UUID_STR_LEN);
    dup.task = strdup("t");
    dup.queue = strdup("default");
    dup.args = json_object();
    dup.created = 1;
    assert_int_equal(store_run_insert(S, &dup), -EEXIST);
    run_release(&dup);
    char missing[UUID_STR_LEN];
    uuid_v4(missing);
    assert_int_equal(store_run_get(S, missing, &g), -ENOENT);

    /* other constraint failures are errors, not "already there" */
    run_init(&dup);
    uuid_v4(dup.id);
    memcpy(dup.job_id, missing, UUID_STR_LEN); /* no such job */
    dup.task = strdup("t");
    dup.queue = strdup("default");
    dup.args = json_object();
    dup.created = 1;
    int rc = store_run_insert(S, &dup);
    assert_true(rc < 0 && rc != -EEXIST);
    memcpy(dup.job_id, job, UUID_STR_LEN);
    free(dup.task);
    dup.task = NULL; /* NOT NULL */
    rc = store_run_insert(S, &dup);
    assert_true(rc < 0 && rc != -EEXIST);
    assert_int_equal(store_run_get(S, dup.id, &g), -ENOENT);
    run_release(&dup);
    run_release(&r);
}

static void test_unique_schedule_slot(void **state)
{
    char job[UUID_STR_LEN], other[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    add_job(S, other, "k", NULL, true, 1, 1);
    struct run a, b, c, d;
    add_run(S, &a, job, "default", RUN_QUEUED, 1, 5000, NULL);
    /* a second run for the same fire time of the same job is refused */
    run_init(&b);
    uuid_v4(b.id);
    memcpy(b.job_id, job, UUID_STR_LEN);
    b.task = strdup("t");
    b.queue = strdup("default");
    b.args = json_object();
    b.created = 2;
    b.scheduled_for = 5000;
    assert_int_equal(store_run_insert(S, &b), -EEXIST);
    run_release(&b);
    /* the same instant for another job, and unscheduled runs, never collide */
    add_run(S, &b, other, "default", RUN_QUEUED, 3, 5000, NULL);
    add_run(S, &c, job, "default", RUN_QUEUED, 4, NO_TIME, NULL);
    add_run(S, &d, job, "default", RUN_QUEUED, 5, NO_TIME, NULL);
    run_release(&a);
    run_release(&b);
    run_release(&c);
    run_release(&d);
}

/* Lists runs and returns their titles joined by ",". */
static const char *run_titles(struct store *s, const struct run_query *q, int64_t *total)
{
    static char out[512];
    struct run *runs;
    size_t n;
    assert_int_equal(store_run_list(s, q, &runs, &n, total, NULL), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "%s%s", i ? "," : "",
                 runs[i].title ? runs[i].title : "-");
    }
    store_runs_free(runs, n);
    return out;
}

static void test_run_list(void **state)
{
    char j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    add_job(S, j1, "j1", NULL, true, 1, 1);
    add_job(S, j2, "j2", NULL, true, 1, 1);
    struct run r[5];
    add_run(S, &r[0], j1, "default", RUN_QUEUED, 100, NO_TIME, "r0 100%");
    add_run(S, &r[1], j1, "default", RUN_SUCCESS, 200, NO_TIME, "r1 a_b");
    add_run(S, &r[2], j2, "low", RUN_FAILED, 300, NO_TIME, "r2 axb");
    add_run(S, &r[3], j1, "default", RUN_FAILED, 400, NO_TIME, "r3");
    add_run(S, &r[4], j2, "default", RUN_SUCCESS, 500, NO_TIME, NULL);
    int64_t total;
    struct run_query q = {.since = NO_TIME, .limit = 100};
    assert_string_equal(run_titles(S, &q, &total), "-,r3,r2 axb,r1 a_b,r0 100%"); /* newest first */
    assert_int_equal(total, 5);
    q.asc = true;
    assert_string_equal(run_titles(S, &q, &total), "r0 100%,r1 a_b,r2 axb,r3,-");
    q.job_id = j1;
    assert_string_equal(run_titles(S, &q, &total), "r0 100%,r1 a_b,r3");
    assert_int_equal(total, 3);
    q.status_mask = 1u << RUN_FAILED;
    assert_string_equal(run_titles(S, &q, &total), "r3");
    q.job_id = NULL;
    q.status_mask = (1u << RUN_FAILED) | (1u << RUN_SUCCESS);
    assert_string_equal(run_titles(S, &q, &total), "r1 a_b,r2 axb,r3,-");
    q.since = 300;
    assert_string_equal(run_titles(S, &q, &total), "r2 axb,r3,-");
    assert_int_equal(total, 3);
    q.status_mask = 0;
    q.since = NO_TIME;
    q.q = "a_b";
    assert_string_equal(run_titles(S, &q, &total), "r1 a_b");
    q.q = "100%";
    assert_string_equal(run_titles(S, &q, &total), "r0 100%");
    char part[9];
    memcpy(part, r[4].id, 8); /* a prefix of the run id finds it */
    part[8] = '\0';
    q.q = part;
    assert_string_equal(run_titles(S, &q, &total), "-");
    q.q = NULL;
    q.offset = 1;
    q.limit = 2;
    assert_string_equal(run_titles(S, &q, &total), "r1 a_b,r2 axb");
    assert_int_equal(total, 5);

    /* keyset: the runs after one, in either order, with the total of all */
    q.offset = 0;
    q.after = r[1].id;
    assert_string_equal(run_titles(S, &q, &total), "r2 axb,r3");
    assert_int_equal(total, 5);
    q.asc = false;
    assert_string_equal(run_titles(S, &q, &total), "r0 100%");
    q.job_id = j2;
    q.after = r[4].id;
    assert_string_equal(run_titles(S, &q, &total), "r2 axb");
    assert_int_equal(total, 2);
    struct run *none_runs;
    size_t none_n;
    q.after = r[0].id; /* another job's run */
    assert_int_equal(store_run_list(S, &q, &none_runs, &none_n, &total, NULL), -ENOENT);
    q.job_id = NULL;
    q.after = "00000000-0000-4000-8000-000000000000";
    assert_int_equal(store_run_list(S, &q, &none_runs, &none_n, &total, NULL), -ENOENT);
    q.after = NULL;

    /* latest, by status, and the last success's start */
    struct run g;
    assert_int_equal(store_run_latest(S, j1, -1, &g), 0);
    assert_string_equal(g.id, r[3].id);
    run_release(&g);
    assert_int_equal(store_run_latest(S, j1, RUN_SUCCESS, &g), 0);
    assert_string_equal(g.id, r[1].id);
    run_release(&g);
    assert_int_equal(store_run_latest(S, j1, RUN_CANCELLED, &g), -ENOENT);
    char none[UUID_STR_LEN];
    uuid_v4(none);
    assert_int_equal(store_run_latest(S, none, -1, &g), -ENOENT);
    /* the kept counts follow deletes of runs and of jobs */
    assert_int_equal(store_run_delete(S, r[1].id), 0);
    q.job_id = j1;
    run_titles(S, &q, &total);
    assert_int_equal(total, 2);
    assert_int_equal(store_job_delete(S, j1), 0);
    run_titles(S, &q, &total);
    assert_int_equal(total, 0);
    q.job_id = NULL;
    run_titles(S, &q, &total);
    assert_int_equal(total, 2);
    for (int i = 0; i < 5; i++) run_release(&r[i]);
}

/* The total of a job's runs (or of all runs) as a page of them says it. */
static int64_t total_of(struct store *s, const char *job)
{
    struct run_query q = {.since = NO_TIME, .limit = 1, .job_id = job};
    int64_t total = -1;
    run_titles(s, &q, &total);
    return total;
}

/* One number the sqlite3 tool reads from the store at path, as another process would. */
static int64_t sql_number(const char *path, const char *sql)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\"", path, sql);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long long v = -1;
    assert_int_equal(fscanf(p, "%lld", &v), 1);
    pclose(p);
    return v;
}

/* Counts (0010_run_count_upto.sql): right through inserts above the mark, folds, deletes at,
 * below and above it, the newest run deleted and its number given to the next, a job deleted,
 * and runs written and deleted by another process; the mark follows the inserts. */
static void test_run_counts(void **state)
{
    const char *path = ((struct fixture *)*state)->path;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    add_job(S, a, "a", NULL, true, 1, 1);
    add_job(S, b, "b", NULL, true, 1, 1);
    struct run r[8];
    for (int i = 0; i < 5; i++)
        add_run(S, &r[i], i < 3 ? a : b, "default", RUN_SUCCESS, i, NO_TIME, NULL);
    assert_int_equal(total_of(S, a), 3);
    assert_int_equal(total_of(S, b), 2);
    assert_int_equal(total_of(S, NULL), 5);
    assert_int_equal(store_fold_run_counts(S), 0);
    assert_int_equal(sql_number(path, "SELECT rid FROM run_count_upto"), r[4].rid);
    assert_int_equal(total_of(S, a), 3);
    assert_int_equal(total_of(S, NULL), 5);
    add_run(S, &r[5], a, "default", RUN_SUCCESS, 5, NO_TIME, NULL); /* above the mark */
    add_run(S, &r[6], a, "default", RUN_SUCCESS, 6, NO_TIME, NULL);
    assert_int_equal(total_of(S, a), 5);
    assert_int_equal(store_run_delete(S, r[0].id), 0); /* below the mark */
    assert_int_equal(store_run_delete(S, r[5].id), 0); /* above */
    assert_int_equal(total_of(S, a), 3);
    assert_int_equal(total_of(S, NULL), 5);
    assert_int_equal(store_fold_run_counts(S), 0);
    assert_int_equal(total_of(S, a), 3);
    /* the newest run, at the mark, deleted: the mark comes down to the newest left, and the
     * next run, which SQLite numbers as a deleted one below the old mark, is above it and
     * counted once */
    assert_int_equal(store_run_delete(S, r[6].id), 0);
    assert_int_equal(sql_number(path, "SELECT rid FROM run_count_upto"), r[4].rid);
    add_run(S, &r[7], b, "default", RUN_SUCCESS, 7, NO_TIME, NULL);
    assert_int_equal(r[7].rid, r[5].rid);
    assert_int_equal(total_of(S, b), 3);
    assert_int_equal(total_of(S, a), 2);
    assert_int_equal(total_of(S, NULL), 5);
    /* another process's runs: counted before a fold and after it */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO run (id, job_id, task, status, queue, created, updated) VALUES "
             "('00000000-0000-4000-8000-000000000001', '%s', 't', 'S', 'default', 1, 1), "
             "('00000000-0000-4000-8000-000000000002', '%s', 't', 'S', 'default', 1, 1); "
             "DELETE FROM run WHERE id = '%s'; SELECT changes()",
             a, a, r[1].id);
    assert_int_equal(sql_number(path, sql), 1);
    assert_int_equal(total_of(S, a), 3);
    assert_int_equal(store_fold_run_counts(S), 0);
    assert_int_equal(total_of(S, a), 3);
    assert_int_equal(total_of(S, NULL), 6);
    /* a job deleted takes its runs and its count */
    assert_int_equal(store_job_delete(S, a), 0);
    assert_int_equal(total_of(S, a), 0);
    assert_int_equal(total_of(S, NULL), 3);
    assert_int_equal(sql_number(path, "SELECT count(*) FROM run_count WHERE n <> (SELECT count(*) "
                                      "FROM run WHERE run.job_id = run_count.job_id AND rid <= "
                                      "(SELECT rid FROM run_count_upto))"),
                     0);
    /* the server's batches fold every few thousand inserts */
    store_batching(S, true);
    struct run many;
    for (int i = 0; i < 2100; i++) {
        add_run(S, &many, b, "default", RUN_SUCCESS, 100 + i, NO_TIME, NULL);
        run_release(&many);
    }
    assert_int_equal(store_batch_end(S), 0);
    store_batching(S, false);
    assert_int_equal(sql_number(path, "SELECT rid FROM run_count_upto"),
                     sql_number(path, "SELECT max(rid) FROM run"));
    assert_int_equal(sql_number(path, "SELECT n FROM run_count WHERE job_id = (SELECT job_id "
                                      "FROM run ORDER BY rid DESC LIMIT 1)"),
                     2103);
    assert_int_equal(total_of(S, b), 2103);
    for (int i = 0; i < 8; i++) run_release(&r[i]);
}

/* The retention walk: each window deletes the finished runs past their job's retention (or
 * the default) and nothing else, the cursor moves a window on, and the walk ends at the end. */
static void test_prune_window(void **state)
{
    const int64_t day = 86400LL * 1000000, now = 100 * day;
    char def[UUID_STR_LEN], shortj[UUID_STR_LEN], longj[UUID_STR_LEN];
    add_job(S, def, "default", NULL, true, 1, 1);
    add_job(S, shortj, "short", NULL, true, 1, 1);
    add_job(S, longj, "long", NULL, true, 1, 1);
    struct job j;
    assert_int_equal(store_job_get(S, shortj, &j), 0);
    j.retention_ms = 5 * 86400LL * 1000;
    assert_int_equal(store_job_update(S, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_get(S, longj, &j), 0);
    j.retention_ms = 60 * 86400LL * 1000;
    assert_int_equal(store_job_update(S, &j), 0);
    job_release(&j);
    /* finished 40, 20 and 1 days ago for each job, and one still running made 50 days ago */
    const char *jobs[] = {def, shortj, longj};
    const int64_t ages[] = {40, 20, 1};
    char kept[16][UUID_STR_LEN];
    size_t nkept = 0;
    int64_t logged = 0; /* a run to be pruned, given a long log below */
    for (int k = 0; k < 3; k++) {
        for (int a = 0; a < 3; a++) {
            struct run r;
            add_run(S, &r, jobs[k], "default", RUN_QUEUED, now - ages[a] * day, NO_TIME, NULL);
            struct run_guard g = {r.id, 1u << RUN_QUEUED, NULL, 0};
            struct run f;
            run_init(&f);
            f.finished_at = now - ages[a] * day;
            assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, RF_FINISHED_AT, &f, 1), 0);
            /* past retention: default 30 days, short 5, long 60 */
            int64_t keep_days = k == 0 ? 30 : k == 1 ? 5 : 60;
            if (ages[a] <= keep_days) memcpy(kept[nkept++], r.id, UUID_STR_LEN);
            else if (!logged) logged = r.rid;
            run_release(&r);
        }
        struct run live;
        add_run(S, &live, jobs[k], "default", RUN_RUNNING, now - 50 * day, NO_TIME, NULL);
        memcpy(kept[nkept++], live.id, UUID_STR_LEN);
        run_release(&live);
    }
    /* while another connection holds the write lock, a walk with nothing to delete (a day when
     * nothing is old enough) neither waits for it nor fails: it only reads */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(((struct fixture *)*state)->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    int64_t cursor = 0, deleted, total = 0;
    int more, windows = 0;
    do {
        more = store_prune_window(S, 30 * day, 30 * 86400LL * 1000, 5, &cursor, &deleted);
        assert_true(more >= 0);
        assert_int_equal(deleted, 0);
    } while (more == 1);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    /* a run to be pruned has a log of two and a half pieces: two go in transactions of their
     * own (the window is asked for again), the rest with the runs */
    char sql[300];
    snprintf(sql, sizeof sql, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
             "WHERE x < %d) INSERT INTO run_log (rid, seq, ts, level, stream, message) SELECT "
             "%lld, x, x, 1, 0, 'a line' FROM n", STORE_PRUNE_LOG_PIECE * 5 / 2, (long long)logged);
    assert_int_equal(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_true(store_log_count(S, logged, 0) == STORE_PRUNE_LOG_PIECE * 5 / 2);
    /* 12 runs in windows of 5: 5, 5, then 2 and the end */
    cursor = 0;
    int pieces = 0;
    do {
        more = store_prune_window(S, now, 30 * 86400LL * 1000, 5, &cursor, &deleted);
        assert_true(more >= 0);
        total += deleted;
        if (more == 2) {
            assert_int_equal(deleted, 0);
            pieces++;
        } else {
            windows++;
        }
    } while (more >= 1);
    assert_int_equal(pieces, 2);
    assert_int_equal(store_log_count(S, logged, 0), 0);
    assert_int_equal(windows, 3);
    assert_int_equal(total, 12 - (int64_t)nkept);
    assert_int_equal(nkept, 9); /* default: 20 and 1 days; short: 1; long: all three; 3 live */
    for (size_t i = 0; i < nkept; i++) {
        struct run g;
        assert_int_equal(store_run_get(S, kept[i], &g), 0);
        run_release(&g);
    }
    assert_int_equal(total_of(S, NULL), 9);
    /* a second walk finds nothing more */
    cursor = 0;
    total = 0;
    do {
        more = store_prune_window(S, now, 30 * 86400LL * 1000, 5, &cursor, &deleted);
        total += deleted;
    } while (more == 1);
    assert_int_equal(total, 0);
}

static void test_last_success_start(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    assert_true(store_last_success_start(S, job) == NO_TIME);
    struct run a, b, c;
    add_run(S, &a, job, "default", RUN_QUEUED, 1, NO_TIME, NULL);
    add_run(S, &b, job, "default", RUN_QUEUED, 2, NO_TIME, NULL);
    add_run(S, &c, job, "default", RUN_QUEUED, 3, NO_TIME, NULL);
    struct run f;
    run_init(&f);
    /* a runs and succeeds, b runs and fails, c runs and succeeds without a start time */
    struct run_guard g = {a.id, 1u << RUN_QUEUED, NULL, 0};
    f.started_at = 1111;
    assert_int_equal(store_run_update(S, &g, RUN_RUNNING, RF_STARTED_AT, &f, 5), 0);
    assert_true(store_last_success_start(S, job) == NO_TIME); /* running is not success */
    set_status(S, a.id, RUN_RUNNING, RUN_SUCCESS);
    assert_int_equal(store_last_success_start(S, job), 1111);
    g.id = b.id;
    f.started_at = 2222;
    assert_int_equal(store_run_update(S, &g, RUN_RUNNING, RF_STARTED_AT, &f, 5), 0);
    set_status(S, b.id, RUN_RUNNING, RUN_FAILED);
    assert_int_equal(store_last_success_start(S, job), 1111); /* failures do not count */
    g.id = c.id;
    f.started_at = 3333;
    assert_int_equal(store_run_update(S, &g, RUN_RUNNING, RF_STARTED_AT, &f, 5), 0);
    set_status(S, c.id, RUN_RUNNING, RUN_SUCCESS);
    assert_int_equal(store_last_success_start(S, job), 3333);
    run_release(&a);
    run_release(&b);
    run_release(&c);
    run_release(&f);
}

/* The newest SUCCESS run of a job and its start, read inside a transaction (kept in the job's
 * cache entry there) while runs succeed and are deleted, above a backlog of queued runs. */
static void test_newest_success_followed(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run a, b, c, q[20], got;
    add_run(S, &a, job, "default", RUN_SUCCESS, 1, NO_TIME, "a");
    for (int i = 0; i < 20; i++) add_run(S, &q[i], job, "default", RUN_QUEUED, 2, NO_TIME, NULL);
    assert_int_equal(store_begin(S), 0);
    assert_int_equal(store_run_latest(S, job, RUN_SUCCESS, &got), 0);
    assert_string_equal(got.id, a.id);
    run_release(&got);
    assert_true(store_last_success_start(S, job) == NO_TIME); /* a has no start */
    assert_int_equal(store_run_latest(S, job, RUN_FAILED, &got), -ENOENT);

    /* inserted as SUCCESS, then made SUCCESS by an update: each is the newest */
    add_run(S, &b, job, "default", RUN_SUCCESS, 3, NO_TIME, "b");
    assert_int_equal(store_run_latest(S, job, RUN_SUCCESS, &got), 0);
    assert_string_equal(got.id, b.id);
    run_release(&got);
    /* a write of the job (a scheduled fire moves its next run) keeps what is known of its
     * runs, and the next success still moves it */
    struct job jj;
    assert_int_equal(store_job_get(S, job, &jj), 0);
    assert_int_equal(store_job_update(S, &jj), 0);
    job_release(&jj);
    add_run(S, &c, job, "default", RUN_RUNNING, 4, NO_TIME, "c");
    c.started_at = 4000;
    struct run_guard g = {c.id, 1u << RUN_RUNNING, NULL, 0};
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, RF_STARTED_AT, &c, 5), 0);
    assert_int_equal(store_run_latest(S, job, RUN_SUCCESS, &got), 0);
    assert_string_equal(got.id, c.id);
    run_release(&got);
    assert_int_equal(store_last_success_start(S, job), 4000);

    /* the newest deleted: the one before it again */
    assert_int_equal(store_run_delete(S, c.id), 0);
    assert_int_equal(store_run_latest(S, job, RUN_SUCCESS, &got), 0);
    assert_string_equal(got.id, b.id);
    run_release(&got);
    assert_true(store_last_success_start(S, job) == NO_TIME);
    assert_int_equal(store_commit(S), 0);
    run_release(&a);
    run_release(&b);
    run_release(&c);
    for (int i = 0; i < 20; i++) run_release(&q[i]);
}

static void test_guarded_update(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run r;
    add_run(S, &r, job, "default", RUN_QUEUED, 1, NO_TIME, NULL);
    struct run f;
    run_init(&f);

    /* wrong expected status: -ESTALE and nothing written */
    struct run_guard g = {r.id, 1u << RUN_RUNNING, NULL, 0};
    f.message = strdup("should not land");
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, RF_MESSAGE, &f, 50), -ESTALE);
    struct run got;
    assert_int_equal(store_run_get(S, r.id, &got), 0);
    assert_int_equal(got.status, RUN_QUEUED);
    assert_null(got.message);
    assert_int_equal(got.updated, 1);
    run_release(&got);

    /* claim it so it has a node and claim number */
    struct run claimed;
    assert_int_equal(store_run_claim(S, "default", "node-a", 100, &claimed), 0);
    assert_int_equal(claimed.claim, 1);
    run_release(&claimed);

    /* wrong node, or the right node with an old claim: -ESTALE */
    g.from_mask = 1u << RUN_RUNNING;
    g.node = "node-b";
    g.claim = 1;
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, 0, &f, 60), -ESTALE);
    g.node = "node-a";
    g.claim = 0;
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, 0, &f, 60), -ESTALE);

    /* the right guard: status and exactly the masked fields are written */
    g.claim = 1;
    free(f.message);
    f.message = strdup("done");
    f.finished_at = 200;
    f.has_exit_code = true;
    f.exit_code = 3;
    f.output = json_pack("{s:i}", "files", 2);
    f.progress = json_pack("{s:i,s:i}", "done", 2, "total", 2);
    f.total_entries = 10;
    f.inserted_entries = 7;
    f.updated_entries = 2;
    f.errored_entries = 1;
    f.pid = 4242;
    f.stopped_by.id = strdup("u9");
    f.stopped_by.name = strdup("Bob");
    f.started_at = 1; /* not in the mask: must not be written */
    unsigned mask = RF_FINISHED_AT | RF_MESSAGE | RF_EXIT_CODE | RF_OUTPUT | RF_PROGRESS |
                    RF_ENTRIES | RF_PID | RF_STOPPED_BY;
    assert_int_equal(store_run_update(S, &g, RUN_PARTIAL_SUCCESS, mask, &f, 300), 0);
    assert_int_equal(store_run_get(S, r.id, &got), 0);
    assert_int_equal(got.status, RUN_PARTIAL_SUCCESS);
    assert_int_equal(got.updated, 300);
    assert_int_equal(got.started_at, 100); /* from the claim */
    assert_int_equal(got.finished_at, 200);
    assert_string_equal(got.message, "done");
    assert_true(got.has_exit_code);
    assert_int_equal(got.exit_code, 3);
    assert_json_eq(got.output, "{\"files\":2}");
    assert_json_eq(got.progress, "{\"done\":2,\"total\":2}");
    assert_int_equal(got.total_entries, 10);
    assert_int_equal(got.inserted_entries, 7);
    assert_int_equal(got.updated_entries, 2);
    assert_int_equal(got.errored_entries, 1);
    assert_int_equal(got.pid, 4242);
    assert_string_equal(got.stopped_by.id, "u9");
    assert_string_equal(got.stopped_by.name, "Bob");
    assert_string_equal(got.node, "node-a");
    run_release(&got);

    /* the same guard again no longer holds: the run moved on */
    assert_int_equal(store_run_update(S, &g, RUN_FAILED, 0, &f, 400), -ESTALE);

    /* to < 0 leaves the status; clearing fields writes NULLs */
    struct run_guard any = {r.id, 1u << RUN_PARTIAL_SUCCESS, NULL, 0};
    struct run empty;
    run_init(&empty);
    assert_int_equal(store_run_update(S, &any, -1, RF_EXIT_CODE | RF_PID | RF_MESSAGE, &empty, 500),
                     0);
    assert_int_equal(store_run_get(S, r.id, &got), 0);
    assert_int_equal(got.status, RUN_PARTIAL_SUCCESS);
    assert_false(got.has_exit_code);
    assert_int_equal(got.pid, 0);
    assert_null(got.message);
    assert_int_equal(got.updated, 500);
    run_release(&got);

    /* an unknown run is stale too */
    char missing[UUID_STR_LEN];
    uuid_v4(missing);
    any.id = missing;
    any.from_mask = ~0u & ((1u << RUN_STATUS_COUNT) - 1);
    assert_int_equal(store_run_update(S, &any, RUN_FAILED, 0, &empty, 1), -ESTALE);
    run_release(&empty);
    run_release(&f);
    run_release(&r);
}

/* The earliest wait still ahead of a QUEUED run, whatever other runs with a wait there are:
 * one whose wait has come, ones that ended or were cancelled while they waited. */
static void test_next_delayed(void **state)
{
    (void)state;
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct { enum run_status st; int64_t at; } waits[] = {
        {RUN_QUEUED, 100}, {RUN_SUCCESS, 600}, {RUN_CANCELLED, 700}, {RUN_QUEUED, 900},
        {RUN_QUEUED, 800},
    };
    struct run r[5];
    for (int i = 0; i < 5; i++) {
        run_init(&r[i]);
        uuid_v4(r[i].id);
        memcpy(r[i].job_id, job, UUID_STR_LEN);
        r[i].task = strdup("t");
        r[i].queue = strdup("default");
        r[i].args = json_object();
        r[i].status = waits[i].st;
        r[i].created = 1 + i;
        r[i].not_before = waits[i].at;
        assert_int_equal(store_run_insert(S, &r[i]), 0);
    }
    assert_int_equal(store_next_delayed(S, 500), 800);
    assert_int_equal(store_next_delayed(S, 850), 900);
    set_status(S, r[4].id, RUN_QUEUED, RUN_CANCELLED);
    assert_int_equal(store_next_delayed(S, 500), 900);
    set_status(S, r[3].id, RUN_QUEUED, RUN_RUNNING);
    assert_int_equal(store_next_delayed(S, 500), NO_TIME);
    for (int i = 0; i < 5; i++) run_release(&r[i]);
}

static void test_claim(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run low, d1, d2, done;
    add_run(S, &low, job, "low", RUN_QUEUED, 1, NO_TIME, "low");
    add_run(S, &done, job, "default", RUN_SUCCESS, 2, NO_TIME, "done");
    add_run(S, &d1, job, "default", RUN_QUEUED, 3, NO_TIME, "d1");
    add_run(S, &d2, job, "default", RUN_QUEUED, 4, NO_TIME, "d2");

    struct run c;
    assert_int_equal(store_run_claim(S, "default", "n1", 1000, &c), 0);
    assert_string_equal(c.id, d1.id); /* the oldest queued of that queue only */
    assert_int_equal(c.status, RUN_RUNNING);
    assert_int_equal(c.started_at, 1000);
    assert_int_equal(c.updated, 1000);
    assert_string_equal(c.node, "n1");
    assert_int_equal(c.claim, 1);
    /* what the claim hands back is what the store now holds */
    struct run stored;
    assert_int_equal(store_run_get(S, c.id, &stored), 0);
    assert_int_equal(stored.status, c.status);
    assert_int_equal(stored.started_at, c.started_at);
    assert_int_equal(stored.updated, c.updated);
    assert_string_equal(stored.node, c.node);
    assert_int_equal(stored.claim, c.claim);
    assert_string_equal(stored.title, c.title);
    run_release(&stored);
    run_release(&c);
    assert_int_equal(store_run_claim(S, "default", "n1", 1001, &c), 0);
    assert_string_equal(c.id, d2.id);
    run_release(&c);
    assert_int_equal(store_run_claim(S, "default", "n1", 1002, &c), -ENOENT);
    assert_int_equal(store_run_claim(S, "nope", "n1", 1002, &c), -ENOENT);
    assert_int_equal(store_run_claim(S, "low", "n2", 1003, &c), 0);
    assert_string_equal(c.id, low.id);
    run_release(&c);

    /* a run put back in the queue is claimed again with the next claim number */
    set_status(S, d1.id, RUN_RUNNING, RUN_QUEUED);
    assert_int_equal(store_run_claim(S, "default", "n3", 1004, &c), 0);
    assert_string_equal(c.id, d1.id);
    assert_int_equal(c.claim, 2);
    assert_string_equal(c.node, "n3");
    run_release(&c);

    /* the old owner's guard no longer holds */
    struct run_guard g = {d1.id, 1u << RUN_RUNNING, "n1", 1};
    struct run f;
    run_init(&f);
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, 0, &f, 2000), -ESTALE);
    g.node = "n3";
    g.claim = 2;
    assert_int_equal(store_run_update(S, &g, RUN_SUCCESS, 0, &f, 2000), 0);
    run_release(&f);
    run_release(&low);
    run_release(&d1);
    run_release(&d2);
    run_release(&done);
}

static void test_run_delete(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run q, r, c, s;
    add_run(S, &q, job, "default", RUN_QUEUED, 1, NO_TIME, NULL);
    add_run(S, &r, job, "default", RUN_QUEUED, 2, NO_TIME, NULL);
    add_run(S, &c, job, "default", RUN_QUEUED, 3, NO_TIME, NULL);
    add_run(S, &s, job, "default", RUN_SUCCESS, 4, NO_TIME, NULL);
    set_status(S, r.id, RUN_QUEUED, RUN_RUNNING);
    set_status(S, c.id, RUN_QUEUED, RUN_CANCELLING);
    assert_int_equal(store_run_delete(S, q.id), -EBUSY);
    assert_int_equal(store_run_delete(S, r.id), -EBUSY);
    assert_int_equal(store_run_delete(S, c.id), -EBUSY);
    struct run g;
    assert_int_equal(store_run_get(S, q.id, &g), 0); /* still there */
    run_release(&g);

    struct log_line line = {1, 1, LL_INFO, STREAM_STDOUT, "x"};
    assert_int_equal(store_log_append(S, s.rid, &line, 1), 0);
    assert_int_equal(store_run_delete(S, s.id), 0);
    assert_int_equal(store_run_get(S, s.id, &g), -ENOENT);
    assert_int_equal(store_log_count(S, s.rid, 0), 0); /* its log went with it */
    assert_int_equal(store_run_delete(S, s.id), -ENOENT);

    /* every terminal status may be deleted */
    static const enum run_status terminal[] = {RUN_FAILED, RUN_WARNING, RUN_CANCELLED,
                                               RUN_PARTIAL_SUCCESS};
    for (size_t i = 0; i < sizeof terminal / sizeof *terminal; i++) {
        struct run t;
        add_run(S, &t, job, "default", terminal[i], 10 + (int64_t)i, NO_TIME, NULL);
        assert_int_equal(store_run_delete(S, t.id), 0);
        run_release(&t);
    }
    run_release(&q);
    run_release(&r);
    run_release(&c);
    run_release(&s);
}

static void test_logs(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run r, other;
    add_run(S, &r, job, "default", RUN_QUEUED, 1, NO_TIME, NULL);
    add_run(S, &other, job, "default", RUN_QUEUED, 2, NO_TIME, NULL);
    assert_int_equal(store_log_count(S, r.rid, 0), 0);
    assert_int_equal(store_log_last_seq(S, r.rid), 0);
    struct log_line lines[] = {
        {1, 10, LL_DEBUG, STREAM_STDOUT, "d"},    {2, 11, LL_INFO, STREAM_STDOUT, "i"},
        {3, 12, LL_WARNING, STREAM_STDERR, "w"},  {4, 13, LL_ERROR, STREAM_STDERR, "e"},
        {5, 14, LL_CRITICAL, STREAM_SKED, "c \xc3\xa9"},
    };
    assert_int_equal(store_log_append(S, r.rid, lines, 5), 0);
    assert_int_equal(store_log_append(S, other.rid, lines, 1), 0);
    /* appending a seq again is ignored (a retried flush), not duplicated */
    struct log_line again = {2, 99, LL_CRITICAL, STREAM_SKED, "dup"};
    assert_int_equal(store_log_append(S, r.rid, &again, 1), 0);
    assert_int_equal(store_log_append(S, r.rid, lines, 0), 0);

    assert_int_equal(store_log_count(S, r.rid, 0), 5);
    assert_int_equal(store_log_count(S, r.rid, LL_WARNING), 3);
    assert_int_equal(store_log_count(S, r.rid, LL_CRITICAL), 1);
    assert_int_equal(store_log_last_seq(S, r.rid), 5);
    assert_int_equal(store_log_last_seq(S, other.rid), 1);

    struct log_line *out;
    size_t n;
    assert_int_equal(store_log_list(S, r.rid, 0, INT64_MAX, 0, 100, 0, &out, &n), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].seq, lines[i].seq);
        assert_int_equal(out[i].ts, lines[i].ts);
        assert_int_equal(out[i].level, lines[i].level);
        assert_int_equal(out[i].stream, lines[i].stream);
        assert_string_equal(out[i].message, lines[i].message);
    }
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 2, INT64_MAX, 0, 100, 0, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].seq, 3);
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 0, INT64_MAX, LL_ERROR, 100, 0, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].message, "e");
    assert_string_equal(out[1].message, "c \xc3\xa9");
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 0, INT64_MAX, 0, 2, 0, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].seq, 2);
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 5, INT64_MAX, 0, 100, 0, &out, &n), 0);
    assert_int_equal(n, 0);
    store_log_free(out, n);
    /* a byte budget ends the list at the line that reaches it: "d", "i", "w" make 3 */
    assert_int_equal(store_log_list(S, r.rid, 0, INT64_MAX, 0, 100, 3, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[2].seq, 3);
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 3, INT64_MAX, 0, 100, 2, &out, &n), 0);
    assert_int_equal(n, 2); /* "e", then "c é" passes it */
    assert_int_equal(out[1].seq, 5);
    store_log_free(out, n);
    /* upto bounds the lines read: 2 < seq <= 4, and of those the ERROR ones */
    assert_int_equal(store_log_list(S, r.rid, 2, 4, 0, 100, 0, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].seq, 3);
    assert_int_equal(out[1].seq, 4);
    store_log_free(out, n);
    assert_int_equal(store_log_list(S, r.rid, 0, 4, LL_ERROR, 100, 0, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].message, "e");
    store_log_free(out, n);
    run_release(&r);
    run_release(&other);
}

static void test_active_runs(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct run r[5];
    for (int i = 0; i < 5; i++) add_run(S, &r[i], job, "default", RUN_QUEUED, i, NO_TIME, NULL);
    struct run c;
    /* r0, r1 claimed by n1; r2 by n2; r3 stays queued; r4 is set running with no node */
    assert_int_equal(store_run_claim(S, "default", "n1", 10, &c), 0);
    run_release(&c);
    assert_int_equal(store_run_claim(S, "default", "n1", 10, &c), 0);
    run_release(&c);
    assert_int_equal(store_run_claim(S, "default", "n2", 10, &c), 0);
    run_release(&c);
    set_status(S, r[1].id, RUN_RUNNING, RUN_CANCELLING);
    set_status(S, r[4].id, RUN_QUEUED, RUN_RUNNING);
    struct run *out;
    size_t n;
    /* every node's: one sked at a time serves a store, whatever node name its runs were
     * started under */
    assert_int_equal(store_runs_active(S, &out, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(out[0].id, r[0].id);
    assert_string_equal(out[1].id, r[1].id);
    assert_int_equal(out[1].status, RUN_CANCELLING);
    assert_string_equal(out[2].id, r[2].id); /* of n2 */
    assert_string_equal(out[3].id, r[4].id); /* of no node */
    store_runs_free(out, n);
    for (int i = 0; i < 5; i++) run_release(&r[i]);
}

struct depths {
    char names[4][16];
    int64_t n[4];
    int count;
};

static void depth_cb(void *arg, const char *queue, int64_t n)
{
    struct depths *d = arg;
    assert_true(d->count < 4);
    snprintf(d->names[d->count], sizeof d->names[0], "%s", queue);
    d->n[d->count++] = n;
}

static int64_t depth_of(const struct depths *d, const char *q)
{
    for (int i = 0; i < d->count; i++)
        if (strcmp(d->names[i], q) == 0) return d->n[i];
    return -1;
}

static void test_queue_depths(void **state)
{
    char job[UUID_STR_LEN];
    add_job(S, job, "j", NULL, true, 1, 1);
    struct depths d = {0};
    assert_int_equal(store_queue_depths(S, depth_cb, &d), 0);
    assert_int_equal(d.count, 0);
    struct run r[6];
    add_run(S, &r[0], job, "default", RUN_QUEUED, 1, NO_TIME, NULL);
    add_run(S, &r[1], job, "default", RUN_QUEUED, 2, NO_TIME, NULL);
    add_run(S, &r[2], job, "default", RUN_SUCCESS, 3, NO_TIME, NULL);
    add_run(S, &r[3], job, "low", RUN_QUEUED, 4, NO_TIME, NULL);
    add_run(S, &r[4], job, "bulk", RUN_FAILED, 5, NO_TIME, NULL);
    add_run(S, &r[5], job, "default", RUN_QUEUED, 6, NO_TIME, NULL);
    set_status(S, r[5].id, RUN_QUEUED, RUN_RUNNING);
    assert_int_equal(store_queue_depths(S, depth_cb, &d), 0);
    assert_int_equal(d.count, 2); /* only queues with QUEUED runs */
    assert_int_equal(depth_of(&d, "default"), 2);
    assert_int_equal(depth_of(&d, "low"), 1);
    assert_int_equal(depth_of(&d, "bulk"), -1);
    for (int i = 0; i < 6; i++) run_release(&r[i]);
}

static void test_transactions(void **state)
{
    char keep[UUID_STR_LEN], lost[UUID_STR_LEN];
    assert_int_equal(store_begin(S), 0);
    add_job(S, keep, "kept", NULL, true, 1, 1);
    assert_int_equal(store_commit(S), 0);

    /* nested: only the outermost commit or rollback counts */
    assert_int_equal(store_begin(S), 0);
    assert_int_equal(store_begin(S), 0);
    add_job(S, lost, "lost", NULL, true, 1, 1);
    assert_int_equal(store_commit(S), 0);
    store_rollback(S);
    struct job j;
    assert_int_equal(store_job_get(S, lost, &j), -ENOENT);
    assert_int_equal(store_job_get(S, keep, &j), 0);
    job_release(&j);
    /* a stray commit or rollback outside a transaction is harmless */
    assert_int_equal(store_commit(S), 0);
    store_rollback(S);
    assert_int_equal(store_begin(S), 0);
    assert_int_equal(store_meta_set(S, "x", "1"), 0);
    assert_int_equal(store_commit(S), 0);
    char *v;
    assert_int_equal(store_meta_get(S, "x", &v), 0);
    free(v);
}

/* store_generation moves with every change, whoever makes it, and only then */
static void test_generation(void **state)
{
    struct fixture *f = *state;
    char id[UUID_STR_LEN];
    uint64_t g0 = store_generation(S);
    struct job j;
    assert_int_equal(store_job_get(S, "00000000-0000-4000-8000-000000000000", &j), -ENOENT);
    assert_true(store_generation(S) == g0);

    add_job(S, id, "one", NULL, true, 1, 1); /* a write of its own */
    uint64_t g1 = store_generation(S);
    assert_true(g1 != g0);

    /* a batch that only read (the server's loop iterations open one for their reads) */
    store_batching(S, true);
    assert_int_equal(store_job_get(S, id, &j), 0);
    job_release(&j);
    assert_int_equal(store_batch_end(S), 0);
    store_batching(S, false);
    assert_true(store_generation(S) == g1);

    /* a write inside a transaction shows at once; undone, the store is back to g1's content
     * but a document made in between would be wrong: the generation moves again */
    assert_int_equal(store_begin(S), 0);
    assert_int_equal(store_meta_set(S, "x", "1"), 0);
    uint64_t g2 = store_generation(S);
    assert_true(g2 != g1);
    store_rollback(S);
    uint64_t g3 = store_generation(S);
    assert_true(g3 != g2 && g3 != g1);

    /* another connection's commit, once a read has seen it */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "UPDATE job SET title = 'two'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(store_job_get(S, id, &j), 0);
    assert_string_equal(j.title, "two");
    job_release(&j);
    assert_true(store_generation(S) != g3);
}

/* The cache of jobs that batches read through: its entries hold across the store's own commits
 * and give way to another connection's, however many of its own came between. */
static void test_job_cache_other_commits(void **state)
{
    struct fixture *f = *state;
    char id[UUID_STR_LEN];
    add_job(S, id, "one", NULL, true, 1, 1);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    store_batching(S, true);
    const char *titles[] = {"two", "three", "four"};
    for (int i = 0; i < 3; i++) {
        struct job j;
        assert_int_equal(store_job_get(S, id, &j), 0); /* read into the cache */
        job_release(&j);
        /* a commit of its own, which leaves the cache as it is, then another connection's */
        assert_int_equal(store_meta_set(S, "x", titles[i]), 0);
        assert_int_equal(store_batch_end(S), 0);
        char sql[128];
        snprintf(sql, sizeof sql, "UPDATE job SET title = '%s' WHERE id = '%s'", titles[i], id);
        assert_int_equal(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(store_job_get(S, id, &j), 0);
        assert_string_equal(j.title, titles[i]);
        job_release(&j);
        assert_int_equal(store_batch_end(S), 0);
    }
    store_batching(S, false);
    sqlite3_close(other);
}

static int64_t count_jobs(sqlite3 *db)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM job", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void assert_integrity(sqlite3 *db)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* n jobs with a 2 KB description each, in one transaction: some 6 MB for n = 3000, three
 * times SQLite's page cache, so it spills pages to the WAL before its commit */
static void add_big_jobs(struct store *s, char id[UUID_STR_LEN], int n)
{
    char desc[2001];
    memset(desc, 'd', 2000);
    desc[2000] = '\0';
    assert_int_equal(store_begin(s), 0);
    for (int i = 0; i < n; i++) add_job(s, id, "big", desc, true, 100 + i, 100 + i);
    assert_int_equal(store_commit(s), 0);
}

/* The store's VFS gathers the WAL's writes until the commit's sync: every commit is in the
 * file when it returns (another connection, with SQLite's own VFS, reads it), and pages a big
 * transaction spilled to the WAL before its commit are read back right. */
static void test_wal_gathered(void **state)
{
    struct fixture *f = *state;
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    char id[UUID_STR_LEN];
    for (int i = 1; i <= 20; i++) {
        add_job(S, id, "one", NULL, true, i, i);
        assert_int_equal(count_jobs(other), i);
    }
    add_big_jobs(S, id, 3000);
    assert_int_equal(count_jobs(other), 3020);
    struct job j;
    assert_int_equal(store_job_get(S, id, &j), 0);
    assert_int_equal(strlen(j.description), 2000);
    job_release(&j);
    assert_integrity(other);
    sqlite3_close(other);
}

/* With durability full the WAL grows ahead of its frames by chunks of zeros: commits,
 * spilled pages, a reopening (which recovers the WAL, zeros past its frames included) and
 * another connection all read what was written. */
static void test_wal_full(void **state)
{
    struct fixture *f = *state;
    char path[300];
    snprintf(path, sizeof path, "%s/full.db", f->dir);
    struct store *s;
    struct sk_err e = {0};
    assert_int_equal(store_open(path, DURABILITY_FULL, &s, &e), 0);
    char id[UUID_STR_LEN];
    for (int i = 0; i < 50; i++) add_job(s, id, "small", NULL, true, i, i);
    add_big_jobs(s, id, 3000);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat sb;
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_size % (1024 * 1024), 0); /* grown by whole chunks */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(count_jobs(other), 3050);
    /* a reopening recovers from the WAL as it is (no checkpoint at close while other reads) */
    store_close(s);
    assert_int_equal(store_open(path, DURABILITY_FULL, &s, &e), 0);
    add_job(s, id, "after", NULL, true, 9999, 9999);
    assert_int_equal(count_jobs(other), 3051);
    assert_integrity(other);
    sqlite3_close(other);

    /* two connections growing the same WAL in turn (the prune thread has its own): neither
     * writes its zeros over the other's frames */
    struct store *t;
    assert_int_equal(store_open(path, DURABILITY_FULL, &t, &e), 0);
    for (int round = 0; round < 3; round++) {
        add_big_jobs(s, id, 700);
        add_big_jobs(t, id, 700);
    }
    store_close(t);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(count_jobs(other), 3051 + 6 * 700);
    assert_integrity(other);
    sqlite3_close(other);
    store_close(s);
}

/* A transaction that spilled pages to the WAL and then rolled back leaves no frames waiting
 * to be written: another connection's commits in that place of the WAL stay as written. */
static void test_wal_rollback(void **state)
{
    struct fixture *f = *state;
    char id[UUID_STR_LEN];
    add_job(S, id, "first", NULL, true, 1, 1);
    struct store *t;
    struct sk_err e = {0};
    assert_int_equal(store_open(f->path, DURABILITY_NORMAL, &t, &e), 0);
    /* an empty WAL: undoing the transaction then reads nothing back from it */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                     SQLITE_OK);
    char desc[2001];
    memset(desc, 'd', 2000);
    desc[2000] = '\0';
    assert_int_equal(store_begin(S), 0);
    for (int i = 0; i < 900; i++) add_job(S, id, "undone", desc, true, 100 + i, 100 + i);
    store_rollback(S);
    for (int i = 0; i < 20; i++) add_job(t, id, "other", desc, true, 5000 + i, 5000 + i);
    /* the first connection reads (and writes) again after the other's commits */
    struct job j;
    assert_int_equal(store_job_get(S, id, &j), 0);
    assert_string_equal(j.title, "other");
    job_release(&j);
    add_job(S, id, "last", NULL, true, 9000, 9000);
    store_close(t);
    assert_int_equal(count_jobs(other), 22);
    assert_integrity(other);
    sqlite3_close(other);
}

/* With the checkpointer, a WAL past 40 MB is copied into the database by its thread (the
 * store's own connection no longer checkpoints), and the WAL starts again from its beginning. */
static void test_checkpointer(void **state)
{
    struct fixture *f = *state;
    struct sk_err e = {0};
    assert_int_equal(store_checkpoint_in_background(S, &e), 0);
    char id[UUID_STR_LEN];
    struct stat db, wal;
    char wal_path[300];
    snprintf(wal_path, sizeof wal_path, "%s-wal", f->path);
    assert_int_equal(stat(f->path, &db), 0);
    off_t db_before = db.st_size;
    int rounds = 0;
    do {
        add_big_jobs(S, id, 1000);
        assert_int_equal(stat(f->path, &db), 0);
        rounds++;
    } while (db.st_size < db_before + 20 * 1024 * 1024 && rounds < 60);
    assert_true(db.st_size >= db_before + 20 * 1024 * 1024); /* copied by the checkpointer */
    /* commits without a pause: the WAL is still reused from its start, not grown on */
    for (int i = 0; i < 40; i++) {
        add_big_jobs(S, id, 1000);
        assert_int_equal(stat(wal_path, &wal), 0);
        assert_true(wal.st_size <= 90 * 1024 * 1024);
    }
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(count_jobs(other), 1000 * (rounds + 40));
    assert_integrity(other);
    sqlite3_close(other);
}

/* What sqlmem_steps saw, in a thread of its own (whose cache starts empty), for the test to
 * check on the test's thread. */
struct sqlmem_seen {
    bool aligned, sized, cached_on_free, poisoned, reused, uncached_on_reuse, realloc_in_place, grown,
        content_kept, large_not_cached, capped, null_ok;
};

static void *sqlmem_steps(void *arg)
{
    struct sqlmem_seen *o = arg;
    const sqlite3_mem_methods *m = sqlmem_methods();
    char *a = m->xMalloc(100);
    o->aligned = a && (uintptr_t)a % 8 == 0;
    o->sized = m->xSize(a) >= 100 && m->xSize(a) == m->xRoundup(100);
    memset(a, 'x', 100);
    m->xFree(a);
    o->cached_on_free = sqlmem_cached() == 128;
#if defined(__SANITIZE_ADDRESS__)
    o->poisoned = __asan_address_is_poisoned(a) && __asan_address_is_poisoned(a + 99);
#else
    o->poisoned = true; /* nothing to check without AddressSanitizer */
#endif
    /* a block of the same class comes back from the cache */
    char *b = m->xMalloc(90);
    o->reused = a == b;
    o->uncached_on_reuse = sqlmem_cached() == 0;
    memset(b, 'y', 90);
    /* growing keeps the content; within its class the block stays where it is */
    o->realloc_in_place = m->xRealloc(b, m->xSize(b)) == b;
    char *c = m->xRealloc(b, 3000);
    o->grown = c && m->xSize(c) >= 3000;
    o->content_kept = true;
    for (int i = 0; c && i < 90; i++) o->content_kept = o->content_kept && c[i] == 'y';
    /* large blocks go straight back to the C library */
    size_t cached = sqlmem_cached();
    m->xFree(c);
    o->large_not_cached = sqlmem_cached() == cached;
    /* the cache holds at most 256 KB; the rest is given back when the thread ends (the leak
     * check of AddressSanitizer fails the test otherwise) */
    char *many[400];
    for (int i = 0; i < 400; i++) many[i] = m->xMalloc(2000);
    for (int i = 0; i < 400; i++) m->xFree(many[i]);
    o->capped = sqlmem_cached() <= 262144 && sqlmem_cached() > 200000;
    m->xFree(NULL);
    o->null_ok = m->xSize(NULL) == 0;
    return NULL;
}

static void test_sqlmem(void **state)
{
    (void)state;
    struct sqlmem_seen o = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sqlmem_steps, &o), 0);
    pthread_join(t, NULL);
    assert_true(o.aligned);
    assert_true(o.sized);
    assert_true(o.cached_on_free);
    assert_true(o.poisoned); /* a use after free is still caught */
    assert_true(o.reused);
    assert_true(o.uncached_on_reuse);
    assert_true(o.realloc_in_place);
    assert_true(o.grown);
    assert_true(o.content_kept);
    assert_true(o.large_not_cached);
    assert_true(o.capped);
    assert_true(o.null_ok);
}

/* Lists read with max_bytes stop before the row that would take their texts and JSON past
 * it, the first row always read, and say so; a page that ends at its limit is not cut. */
static void test_lists_bounded_by_bytes(void **state)
{
    char j[UUID_STR_LEN], blob[1001];
    memset(blob, 'x', 1000);
    blob[1000] = '\0';
    add_job(S, j, "j", NULL, true, 1, 1);
    for (int i = 0; i < 6; i++) {
        struct run r;
        add_run(S, &r, j, "default", RUN_QUEUED, 10 + i, NO_TIME, NULL);
        json_object_set_new(r.args, "blob", json_string(blob));
        assert_int_equal(store_run_set_args(S, r.rid, r.args), 0);
        run_release(&r);
        char id[UUID_STR_LEN];
        add_job(S, id, "big", NULL, true, 2 + i, 2 + i);
        struct job big;
        assert_int_equal(store_job_get(S, id, &big), 0);
        json_object_set_new(big.run_args, "blob", json_string(blob));
        assert_int_equal(store_job_update(S, &big), 0);
        job_release(&big);
        struct audit_entry e = {.ts = 1 + i, .actor_kind = "cli", .action = "run.started",
                                .details = json_pack("{s:s}", "blob", blob)};
        assert_int_equal(store_audit_append(S, &e), 0);
        json_decref(e.details);
    }
    static const struct {
        int64_t limit, max_bytes;
        size_t n;
        bool cut;
    } cases[] = {{100, 0, 6, false},    {100, 2500, 2, true}, {100, 10, 1, true},
                 {2, 2500, 2, false},   {100, 100000, 6, false}, {5, 100000, 5, false}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t total;
        size_t n;
        bool cut = !cases[i].cut;
        struct run_query rq = {.job_id = j, .since = NO_TIME, .limit = cases[i].limit,
                               .max_bytes = cases[i].max_bytes};
        struct run *runs;
        assert_int_equal(store_run_list(S, &rq, &runs, &n, &total, &cut), 0);
        assert_int_equal(n, cases[i].n);
        assert_int_equal(cut, cases[i].cut);
        assert_int_equal(total, 6);
        if (cases[i].max_bytes) assert_true(runs[0].row_bytes > 1000 && runs[0].row_bytes < 1100);
        store_runs_free(runs, n);
        struct job_query jq = {.q = "big", .active = -1, .limit = cases[i].limit,
                               .max_bytes = cases[i].max_bytes};
        struct job *jobs;
        cut = !cases[i].cut;
        assert_int_equal(store_job_list(S, &jq, &jobs, &n, &total, &cut), 0);
        assert_int_equal(n, cases[i].n);
        assert_int_equal(cut, cases[i].cut);
        store_jobs_free(jobs, n);
        struct audit_query aq = {.since = NO_TIME, .limit = cases[i].limit,
                                 .max_bytes = cases[i].max_bytes};
        struct audit_entry *es;
        cut = !cases[i].cut;
        assert_int_equal(store_audit_list(S, &aq, &es, &n, &total, &cut), 0);
        assert_int_equal(n, cases[i].n);
        assert_int_equal(cut, cases[i].cut);
        store_audit_free(es, n);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_migrate_meta), T(test_job_round_trip),   T(test_job_list),
        T(test_job_delete_cascades), T(test_run_round_trip), T(test_unique_schedule_slot),
        T(test_run_list),          T(test_run_counts),       T(test_prune_window),
        T(test_lists_bounded_by_bytes),
        T(test_last_success_start),  T(test_newest_success_followed),
        T(test_guarded_update),
        T(test_claim),             T(test_next_delayed),     T(test_run_delete),
        T(test_logs),              T(test_active_runs),      T(test_queue_depths),
        T(test_transactions),      T(test_generation),       T(test_job_cache_other_commits),
        T(test_wal_gathered),      T(test_wal_full),
        T(test_wal_rollback),      T(test_checkpointer),      cmocka_unit_test(test_sqlmem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
