/*
 * sqlite: the embedded store backend. One connection, owned by the event-loop thread; WAL
 * journal so readers (the CLI's --db mode, backups) never block the server; every statement
 * is prepared once and cached by its text. Migrations are the embedded sql/sqlite/NNNN_*.sql
 * files, applied in order and recorded in PRAGMA user_version.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "base/embed.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "store.h"
#include "sqlmem.h"
#include "vfs.h"

extern const struct embedded_file embedded_sql[];

struct store {
    sqlite3 *db;
    struct map stmts; /* SQL text -> sqlite3_stmt* */
    /* in front of stmts, by the address of the SQL text (mostly string literals): hashing a
     * statement's whole text on every call was a twentieth of a request's work */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } recent[128];
    unsigned char recent_turn[64]; /* per pair of slots: the one to fill next */
    int depth;        /* transaction nesting */
    int version;
    void (*observe)(void *arg, double seconds);
    void *observe_arg;
    int64_t tx_start; /* monotonic, when the outermost transaction began */
    bool batching;    /* a write opens the batch's transaction (see store_batching) */
    bool batch_open;  /* the outermost transaction is the batch's */
    uint64_t undone;  /* rollbacks, for store_generation */
    int64_t changes_at_begin; /* rows changed before the outermost transaction began */
    int64_t unfolded;         /* runs inserted since the run counts were last folded */
    bool failed_full;         /* the last failure (fail) was the disk being full */
    char *path;
    enum durability durability;
    int checkpoint_frames; /* WAL frames past which a commit asks for a checkpoint */
    /* the checkpointer (store_checkpoint_in_background): its connection and thread; ck_mu
     * guards ck_running (a pass asked for or under way) and ck_stop */
    bool ck_started;
    sqlite3 *ck_db;
    pthread_t ck_thread;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cond;
    bool ck_running, ck_stop;
    struct {
        uint64_t shape;
        char *sql;
    } *updates; /* store_run_update's statements by shape */
    size_t nupdates;
    /* jobs as read, by their id's hash: every run's request reads its job and every run's end
     * asks whether the job notifies. An entry holds while job_gen does, which moves with every
     * write of a job by this connection, every rollback and every commit of another
     * connection (seen when a transaction begins: only then can its snapshot change); it is
     * used only inside a transaction, so that no commit of another slips in unseen. */
    uint64_t job_gen;
    int64_t data_version;
    /* moves with every change of runs the entries' last successes may miss: every rollback,
     * every commit of another connection, every deletion of runs (not with writes of jobs: a
     * scheduled fire writes its job, and a store of many jobs firing would forget them all) */
    uint64_t run_gen;
    struct job_slot {
        uint64_t gen; /* 0: empty */
        struct job j;
        /* its last successful run (last_success), known while ls_gen is run_gen: kept up to
         * date by the updates that make a run SUCCESS, kept when the job is read again */
        uint64_t ls_gen;
        int64_t ls_rid, ls_start;
        bool ls_bounded; /* that run had a window_end */
    } jobs[64];
};

/* Whether code (SQLite's, extended) with sys (the errno of its last system call) is a full
 * disk: SQLite says SQLITE_FULL when a write finds it full, but only that an I/O error
 * happened when another call does (growing the -shm file, a sync), where the errno tells. */
static bool disk_full(int code, int sys)
{
    return (code & 0xff) == SQLITE_FULL ||
           ((code & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT));
}

static int fail(struct store *s, const char *what)
{
    log_error("store.error", "op=%s reason=%s", what, log_q(sqlite3_errmsg(s->db)));
    s->failed_full = disk_full(sqlite3_extended_errcode(s->db), sqlite3_system_errno(s->db));
    int code = sqlite3_errcode(s->db) & 0xff;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        log_error("store.damaged", "db=%s action=\"stop sked, then restore the newest backup "
                  "over it: sked restore BACKUP --db DB\"", log_q(s->path ? s->path : ""));
    return -EIO;
}

static void batch_open_any(struct store *s);

/* The cached, reset statement for sql (without opening a batch). */
static sqlite3_stmt *stmt_raw(struct store *s, const char *sql)
{
    /* two slots per address (the hot statements are a few dozen literals, and one slot each
     * let pairs of them evict each other on every run); the same address may hold other text
     * since (SQL built at run time and freed): the text is compared too, which costs far less
     * than hashing it */
    size_t n = sizeof s->recent / sizeof s->recent[0];
    size_t base = (size_t)(((uintptr_t)sql * UINT64_C(0x9E3779B97F4A7C15)) >> 40) % n & ~(size_t)1;
    size_t slot = base + s->recent_turn[base / 2]; /* on a miss: the one used longer ago */
    sqlite3_stmt *st = NULL;
    for (size_t i = base; i < base + 2; i++)
        if (s->recent[i].sql == sql && strcmp(sqlite3_sql(s->recent[i].st), sql) == 0) {
            st = s->recent[i].st;
            slot = i;
            break;
        }
    if (!st) st = map_get(&s->stmts, sql);
    s->recent_turn[base / 2] = slot == base;
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            log_error("store.prepare", "sql=%s reason=%s", log_q(sql),
                      log_q(sqlite3_errmsg(s->db)));
            abort(); /* our own SQL is wrong: a bug, not a runtime condition */
        }
        map_put(&s->stmts, sql, st);
    }
    s->recent[slot].sql = sql;
    s->recent[slot].st = st;
    return st;
}

/* The cached, reset statement for sql; when batching, it opens the batch's transaction. */
static sqlite3_stmt *stmt(struct store *s, const char *sql)
{
    sqlite3_stmt *st = stmt_raw(s, sql);
    batch_open_any(s);
    return st;
}

static int exec(struct store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store.exec", "reason=%s", log_q(msg));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

/*
 * Whether a failed insert hit a unique key. Only that is -EEXIST, which callers read as
 * "already there" (the scheduler as "this instant already fired"); any other constraint - an
 * unknown job, a missing value - is a failure to report.
 */
static bool duplicate(struct store *s, int rc)
{
    int x = sqlite3_extended_errcode(s->db);
    return rc == SQLITE_CONSTRAINT &&
           (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY);
}

/* ---- binding and reading helpers ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* v not copied, for the statements on every run's path: only where the statement is stepped to
 * its end before the function returns and v lives until then (SQLite reads bound text again
 * while it steps, e.g. to prepare the statement anew). stmt_raw clears the bindings before a
 * cached statement is bound again. */
static void bind_ref(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == NO_TIME)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static void bind_json(sqlite3_stmt *st, int i, const json_t *v)
{
    if (!v) {
        sqlite3_bind_null(st, i);
        return;
    }
    char *d = json_dump(v);
    sqlite3_bind_text(st, i, d, -1, free);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NO_TIME : sqlite3_column_int64(st, i);
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    if (!t) return NULL;
    /* the commonest texts are built without the parser, whose setup cost more than they do:
     * empty arguments, a run's arguments with only since, a job that notifies no one */
    if (strcmp(t, "{}") == 0) return json_object();
    if (strcmp(t, "{\"since\":null}") == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "since", json_null());
        return o;
    }
    if (strcmp(t, "{\"emails\":[],\"statuses\":[],\"webhooks\":[]}") == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "emails", json_array());
        json_object_set_new(o, "statuses", json_array());
        json_object_set_new(o, "webhooks", json_array());
        return o;
    }
    return json_loads(t, JSON_DECODE_ANY, NULL);
}

static void copy_uuid(char dst[UUID_STR_LEN], sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= UUID_STR_LEN) n = UUID_STR_LEN - 1;
    if (n) memcpy(dst, t, n);
    dst[n] = '\0';
}

/* ---- open, migrate, close ---- */

/* The schema version this sked writes: its last migration's. */
static int schema_latest(void)
{
    int latest = 0;
    for (const struct embedded_file *f = embedded_sql; f->name; f++)
        if (atoi(f->name) > latest) latest = atoi(f->name);
    return latest;
}

/* The first table that the migrations up to version have create and that the store lacks, or
 * NULL (then the store is sked's, as far as its tables tell): another program's database that
 * sets PRAGMA user_version, or a damaged store, is refused here rather than failing a
 * statement of sked's later. Migrations create tables and never drop one. */
static const char *missing_table(struct store *s, int have)
{
    static char name[64];
    sqlite3_stmt *st = stmt(s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    for (const struct embedded_file *f = embedded_sql; f->name; f++) {
        if (atoi(f->name) > have) continue;
        const char *p = (const char *)f->data;
        while ((p = strstr(p, "CREATE TABLE ")) != NULL) {
            p += strlen("CREATE TABLE ");
            size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
            if (n == 0 || n >= sizeof name) continue;
            memcpy(name, p, n);
            name[n] = '\0';
            bind_text(st, 1, name);
            int rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_ROW) return name;
        }
    }
    return NULL;
}

static int migrate(struct store *s, struct sk_err *e)
{
    sqlite3_stmt *st = stmt(s, "PRAGMA user_version");
    int have = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    if (have == 0) {
        /* a database of another program (tables, no version of sked's) is left alone rather
         * than given sked's tables beside its own: --db named the wrong file */
        st = stmt(s, "SELECT count(*) FROM sqlite_master");
        int objects = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_reset(st);
        if (objects > 0)
            return sk_err_set(e, -EINVAL, "db",
                              "%s is a database of another program (it has tables, and no "
                              "version of sked's store); give --db the path of sked's store, or "
                              "a new file",
                              sqlite3_db_filename(s->db, "main"));
    }
    const char *missing = have > 0 ? missing_table(s, have) : NULL;
    if (missing)
        return sk_err_set(e, -EINVAL, "db",
                          "%s is not a store of sked's, or a damaged one: it says it is of "
                          "schema version %d, and lacks the table '%s' of that version; give "
                          "--db the path of sked's store, or a new file (a damaged store is "
                          "replaced by a backup: sked restore)",
                          sqlite3_db_filename(s->db, "main"), have, missing);
    int latest = schema_latest();
    for (const struct embedded_file *f = embedded_sql; f->name; f++) {
        int v = atoi(f->name);
        if (v <= have) continue;
        if (exec(s, "BEGIN IMMEDIATE") != 0)
            return sk_err_set(e, -EIO, "db", "cannot migrate: %s", sqlite3_errmsg(s->db));
        char *msg = NULL;
        if (sqlite3_exec(s->db, (const char *)f->data, NULL, NULL, &msg) != SQLITE_OK) {
            sk_err_set(e, -EIO, "db", "migration %s failed: %s", f->name, msg);
            sqlite3_free(msg);
            exec(s, "ROLLBACK");
            return -EIO;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
        if (exec(s, sql) != 0 || exec(s, "COMMIT") != 0) {
            sk_err_set(e, -EIO, "db", "migration %s failed: %s", f->name, sqlite3_errmsg(s->db));
            if (!sqlite3_get_autocommit(s->db)) exec(s, "ROLLBACK");
            return -EIO;
        }
        log_info("store.migrated", "version=%d file=%s", v, f->name);
        have = v;
    }
    if (have > latest)
        return sk_err_set(e, -EPROTO, "db",
                          "the store has schema version %d, newer than this sked (%d); "
                          "upgrade sked",
                          have, latest);
    s->version = have;
    return 0;
}

/* Creates path readable by its owner only (it holds password and token hashes; SQLite gives
 * the WAL files the same mode). 0, or -errno (-EEXIST when it already exists). */
static int create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

static int cannot_create(struct sk_err *e, const char *field, const char *what, const char *path,
                         int err, const char *todo);

/* -EEXIST when path does not exist but its write-ahead log does, with something in it: the
 * store's file was moved or deleted apart from it. A new store there would drop what the log
 * holds (SQLite deletes a log that belongs to no database), so none is made. */
static int orphan_wal(const char *path, struct sk_err *e)
{
    struct stat st;
    if (strcmp(path, ":memory:") == 0 || stat(path, &st) == 0 || errno != ENOENT) return 0;
    char *wal = xasprintf("%s-wal", path);
    int rc = 0;
    if (stat(wal, &st) == 0 && st.st_size > 0)
        rc = sk_err_set(e, -EEXIST, "db",
                        "the store %s does not exist, but its write-ahead log %s does (%lld "
                        "bytes of changes): the store's file was moved or deleted apart from "
                        "it, and a new store would drop them; put the store back beside it, or "
                        "move %s away to start with a new store",
                        path, wal, (long long)st.st_size, wal);
    free(wal);
    return rc;
}

int store_lock_serving(const char *path, struct sk_err *e)
{
    int rc = orphan_wal(path, e);
    if (!rc) rc = store_not_a_file(e, path);
    if (rc) return rc;
    rc = create_private(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && rc == -ENOENT)
        return cannot_create(e, "db", "the store ", path, ENOENT, "give --db another path");
    if (fd < 0)
        return sk_err_set(e, -errno, "db", "cannot open the store %s (%s)", path, strerror(errno));
    /* flock, not SQLite's fcntl locks: the two do not meet, and this fd is closed only after
     * the store's connections (closing it before would drop their fcntl locks) */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        if (err == EWOULDBLOCK)
            return sk_err_set(e, -EBUSY, "db",
                              "the store %s is served by another sked already: stop that one "
                              "first, or give this one a store of its own (--db)",
                              path);
        return sk_err_set(e, -err, "db", "cannot lock the store %s (%s)", path, strerror(err));
    }
    return fd;
}

/* Before SQLite's first use in the process: its allocations through sqlmem (see sqlmem.h), and
 * no allocation statistics, which nothing reads and which take a global mutex around every one
 * of SQLite's mallocs and frees. Too late (SQLite already initialised) is harmless: the calls
 * are refused and SQLite keeps its defaults. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MALLOC, sqlmem_methods());
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/*
 * Opens a connection to the store at path, configured as every one of sked's is.
 *
 * A new store gets 1 KB pages (an existing one keeps its own): a commit appends a frame of one
 * page to the WAL for every B-tree a run touches (the run table and its indexes, the audit
 * trail, the run count: about fourteen per run), and with 4 KB pages copying and checksumming
 * those frames was a fifth of a run's work. Rows above about 1 KB spill into overflow pages,
 * which only large outputs reach. With sked's VFS (vfs.c), every commit syncs the WAL, which
 * writes its gathered frames; the VFS decides whether that sync reaches the disk, by the
 * durability. The WAL file is cut back to 64 MB after a checkpoint. *page gets the page size.
 */
/* fold(text): the text as utf8_fold writes it, for searches that ignore case beyond ASCII
 * (SQLite's LIKE and lower() know only ASCII letters). LIKE itself ignores the case of ASCII
 * letters, so a text of ASCII alone is given back as it is, without a copy. The folded text
 * may be shorter or longer than the text (K KELVIN SIGN, three bytes, folds to k). */
static void sql_fold(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const unsigned char *t = sqlite3_value_text(argv[0]);
    if (!t) {
        sqlite3_result_null(cx);
        return;
    }
    size_t n = (size_t)sqlite3_value_bytes(argv[0]), i = 0;
    while (i < n && t[i] < 0x80) i++;
    if (i == n) {
        sqlite3_result_value(cx, argv[0]);
        return;
    }
    struct buf b = BUF_INIT;
    utf8_fold(&b, (const char *)t, n);
    sqlite3_result_text(cx, b.data, (int)b.len, free);
}

/* A LIKE pattern matching s anywhere, its letters folded as fold() folds them, with LIKE's
 * wildcards escaped by '\'. The escapes go into the folded text, whatever its length: no
 * letter folds to or from % _ or \, and every byte of a letter beyond ASCII is 0x80 or more. */
static char *like_pattern(const char *s)
{
    struct buf folded = BUF_INIT, b = BUF_INIT;
    utf8_fold(&folded, s, strlen(s));
    buf_putc(&b, '%');
    for (const char *p = buf_cstr(&folded); *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_putc(&b, '%');
    buf_free(&folded);
    return buf_steal(&b);
}

/* Whether a search for q, as typed, needs the texts folded: one of ASCII alone compares the
 * texts as they are, LIKE ignoring the case of ASCII letters itself (folding a million titles
 * costs a sixth more time). It misses the two letters beyond ASCII that fold into ASCII, ſ
 * (long s) and K (KELVIN SIGN): "kelvin" does not find "Kelvin" spelt with the sign, a
 * search with a letter beyond ASCII in it does. Asked of q, not of its folded pattern, which
 * may be ASCII alone: "K" folds to "k" and finds "K", "k" and "K". */
static bool folds(const char *q)
{
    for (; *q; q++)
        if ((unsigned char)*q >= 0x80) return true;
    return false;
}

/* Whether path (or, when it does not exist, its folder) is on a file system mounted read-only:
 * no user may write it there, and nobody can be writing it either. */
static bool read_only_fs(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) == 0) return v.f_flag & ST_RDONLY;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = '\0';
    bool ro = statvfs(slash ? dir : ".", &v) == 0 && v.f_flag & ST_RDONLY;
    free(dir);
    return ro;
}

/* A reason why the store at path cannot be opened, when its folder is one: "" when not. */
static const char *unwritable_folder(const char *path)
{
    if (strcmp(path, ":memory:") == 0) return "";
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = '\0';
    bool no = access(slash ? dir : ".", W_OK) != 0;
    free(dir);
    return no ? " (its folder is not writable by this user: sked keeps the store's -wal and -shm "
                "files beside it)"
              : "";
}

/* How long a connection waits for another's write lock (the loop for the prune's, a reader
 * for a checkpoint), in short steps: SQLite's own busy timeout sleeps up to 100 ms at a time,
 * so the loop went on sleeping long after the lock was free, and a writer pausing between
 * transactions (the prune) took it again first. Polled every 500 µs for the first 50 ms, then
 * every 2 ms, for 5 s in all. */
#define BUSY_FAST 100
static int busy_wait(void *arg, int n)
{
    (void)arg;
    if (n >= BUSY_FAST + (5000 - BUSY_FAST / 2) / 2) return 0;
    struct timespec d = {0, n < BUSY_FAST ? 500000 : 2000000};
    nanosleep(&d, NULL);
    return 1;
}

static int open_db(const char *path, enum durability d, sqlite3 **db, int *page,
                   struct sk_err *e)
{
    const char *vfs = store_vfs(d == DURABILITY_FULL);
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             vfs);
    if (rc != SQLITE_OK) {
        sk_err_set(e, -EIO, "db", "%s: cannot open: %s%s", path,
                   *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc), unwritable_folder(path));
        return -EIO;
    }
    /* SQLite opens a file it may not write read-only, without a word: every write would fail */
    if (sqlite3_db_readonly(*db, "main") == 1) {
        if (read_only_fs(path)) {
            sk_err_set(e, -EROFS, "db", "%s: the store is on a read-only file system: sked "
                       "writes it; mount it read-write, or serve a copy (sked backup COPY --db "
                       "%s)", path, path);
            return -EROFS;
        }
        sk_err_set(e, -EACCES, "db", "%s: the store is read-only for this user (uid %d): sked "
                   "writes it; make the file writable by this user, or serve a copy (sked "
                   "backup COPY --db %s)", path, (int)geteuid(), path);
        return -EACCES;
    }
    sqlite3_busy_handler(*db, busy_wait, NULL);
    sqlite3_create_function_v2(*db, "fold", 1,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                               sql_fold, NULL, NULL, NULL);
    char pragmas[384];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
             "PRAGMA checkpoint_fullfsync=ON; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
             "PRAGMA journal_size_limit=67108864;",
             vfs || d == DURABILITY_FULL ? "FULL" : "NORMAL");
    char *msg = NULL;
    if (sqlite3_exec(*db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        /* a full disk has no room for the -shm file, which SQLite tells as an I/O error */
        bool full = disk_full(sqlite3_extended_errcode(*db), sqlite3_system_errno(*db));
        if (sqlite3_errcode(*db) == SQLITE_NOTADB)
            sk_err_set(e, -EINVAL, "db",
                       "%s is not a store of sked (%s); pass --db with the path of sked's "
                       "store, or of a new file (a damaged store is put back with sked restore)",
                       path, msg ? msg : "file is not a database");
        else
            sk_err_set(e, -EIO, "db", "%s: %s%s", path, msg ? msg : "cannot configure",
                       full ? " (the disk that holds it is full: free space on that disk)"
                            : unwritable_folder(path));
        sqlite3_free(msg);
        return -EIO;
    }
    *page = 4096;
    sqlite3_stmt *ps;
    if (sqlite3_prepare_v2(*db, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK) {
        if (sqlite3_step(ps) == SQLITE_ROW && sqlite3_column_int(ps, 0) > 0)
            *page = sqlite3_column_int(ps, 0);
        sqlite3_finalize(ps);
    }
    return 0;
}

/* Checkpoints come every 40 MB of WAL: the pages every run touches (the tail of the run table,
 * the active and queued indexes) are copied into the database once per checkpoint, so rare
 * checkpoints copy less. */
#define CHECKPOINT_BYTES (40 * 1024 * 1024)

int store_open(const char *path, enum durability d, struct store **out, struct sk_err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    int orphan = orphan_wal(path, e);
    if (!orphan) orphan = store_not_a_file(e, path);
    if (orphan) {
        *out = NULL;
        return orphan;
    }
    if (strcmp(path, ":memory:") != 0) create_private(path); /* an existing store is kept as is */
    struct store *s = xcalloc(1, sizeof *s);
    s->job_gen = s->run_gen = 1; /* above every empty entry's */
    map_init(&s->stmts);
    *out = NULL;
    int page, rc = open_db(path, d, &s->db, &page, e);
    if (rc == 0) {
        s->path = xstrdup(path);
        s->durability = d;
        s->checkpoint_frames = CHECKPOINT_BYTES / page;
        sqlite3_wal_autocheckpoint(s->db, s->checkpoint_frames);
        rc = migrate(s, e);
    }
    if (rc != 0) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/*
 * Checkpoints on a thread of their own. SQLite checkpoints in the connection that commits past
 * the threshold, and a checkpoint copies every page the WAL changed into the database and
 * syncs it: tens of milliseconds on the loop thread, during which no request was answered (the
 * p99 of B2's submissions was about 58 ms). With a checkpointer, the store's connection only
 * signals it (its WAL hook, after each commit) and goes on; the checkpointer's own connection
 * runs a PASSIVE checkpoint, which copies what no reader still needs without blocking the
 * writer, and the writer starts the WAL again from its beginning at its next transaction.
 */
static void *checkpointer(void *arg)
{
    struct store *s = arg;
    pthread_mutex_lock(&s->ck_mu);
    for (;;) {
        while (!s->ck_running && !s->ck_stop) pthread_cond_wait(&s->ck_cond, &s->ck_mu);
        if (s->ck_stop) break;
        pthread_mutex_unlock(&s->ck_mu);
        int rc = sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store.checkpoint_failed", "reason=%s", log_q(sqlite3_errmsg(s->ck_db)));
        pthread_mutex_lock(&s->ck_mu);
        s->ck_running = false;
        pthread_cond_broadcast(&s->ck_cond); /* a commit far behind may wait for this pass */
    }
    pthread_mutex_unlock(&s->ck_mu);
    return NULL;
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store *s = arg;
    if (frames < s->checkpoint_frames) return SQLITE_OK;
    /* The WAL starts again from its beginning only when a transaction begins with every frame
     * copied, and under commits without a pause the checkpointer may never catch up: past
     * twice the threshold, the commit waits for a pass under way to end and checkpoints
     * itself, as SQLite would (between transactions, with no other writer, so it copies
     * everything): the WAL stays within twice the threshold and a transaction's frames. */
    bool behind = frames >= 2 * s->checkpoint_frames;
    pthread_mutex_lock(&s->ck_mu);
    while (behind && s->ck_running) pthread_cond_wait(&s->ck_cond, &s->ck_mu);
    bool idle = !s->ck_running;
    if (idle && !behind) {
        s->ck_running = true;
        pthread_cond_signal(&s->ck_cond);
    }
    pthread_mutex_unlock(&s->ck_mu);
    if (idle && behind) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

int store_checkpoint_in_background(struct store *s, struct sk_err *e)
{
    if (s->ck_started) return 0;
    int page;
    if (open_db(s->path, s->durability, &s->ck_db, &page, e) != 0) {
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return -EIO;
    }
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->ck_cond, NULL);
    if (pthread_create(&s->ck_thread, NULL, checkpointer, s) != 0) {
        pthread_cond_destroy(&s->ck_cond);
        pthread_mutex_destroy(&s->ck_mu);
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return sk_err_set(e, -EAGAIN, "db", "cannot start the checkpoint thread");
    }
    s->ck_started = true;
    sqlite3_wal_hook(s->db, on_wal_commit, s); /* in place of SQLite's own checkpoints */
    return 0;
}

void store_close(struct store *s)
{
    if (!s) return;
    if (s->ck_started) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_stop = true;
        pthread_cond_signal(&s->ck_cond);
        pthread_mutex_unlock(&s->ck_mu);
        pthread_join(s->ck_thread, NULL);
        pthread_cond_destroy(&s->ck_cond);
        pthread_mutex_destroy(&s->ck_mu);
        sqlite3_close(s->ck_db); /* before the store's own: the last to close checkpoints */
    }
    free(s->path);
    size_t it;
    for (struct map_entry *m = map_first(&s->stmts, &it); m; m = map_next(&s->stmts, &it, m))
        sqlite3_finalize(m->value);
    map_release(&s->stmts);
    for (size_t i = 0; i < s->nupdates; i++) free(s->updates[i].sql);
    free(s->updates);
    for (size_t i = 0; i < sizeof s->jobs / sizeof s->jobs[0]; i++) job_release(&s->jobs[i].j);
    sqlite3_close(s->db);
    free(s);
}

void store_observe(struct store *s, void (*fn)(void *arg, double seconds), void *arg)
{
    s->observe = fn;
    s->observe_arg = arg;
}

/* sqlite3_step of a write, timed when it is a transaction of its own. */
static int write_step(struct store *s, sqlite3_stmt *st)
{
    if (s->depth > 0 || !s->observe) return sqlite3_step(st);
    int64_t t0 = time_mono_us();
    int rc = sqlite3_step(st);
    s->observe(s->observe_arg, (double)(time_mono_us() - t0) / 1e6);
    return rc;
}

int store_latest_version(void)
{
    int latest = 0;
    for (const struct embedded_file *f = embedded_sql; f->name; f++)
        if (atoi(f->name) > latest) latest = atoi(f->name);
    return latest;
}

uint64_t store_generation(struct store *s)
{
    /* rows changed by this connection (including triggers' and what a rollback undid) plus the
     * rollbacks themselves only grow; PRAGMA data_version moves with every commit of another
     * connection (and, unlike the pager's own counter, not with this one's transactions, which
     * every loop iteration that reads opens) */
    sqlite3_stmt *st = stmt(s, "PRAGMA data_version");
    uint64_t others = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    uint64_t own = (uint64_t)sqlite3_total_changes64(s->db) + s->undone;
    return others << 44 | (own & ((UINT64_C(1) << 44) - 1));
}

int store_version(struct store *s)
{
    return s->version;
}

bool store_failed_full(const struct store *s)
{
    return s->failed_full;
}

/*
 * Transactions. depth counts how many are open: the outermost is a real transaction (BEGIN
 * IMMEDIATE ... COMMIT), inner ones are savepoints, so an inner rollback undoes only its own
 * writes. In batch mode the first statement of a batch opens the outermost transaction itself
 * and store_batch_end commits it: the server's loop makes each of its iterations one batch, so
 * the writes of every run and request handled in an iteration share one commit (group commit).
 * Reads open it too: a statement outside a transaction takes and drops the WAL's read lock
 * (two fcntl calls and SQLite's setup of a read transaction), which for the reads of a run's
 * request (its credentials, its job, the job's last success) cost more than the one
 * transaction. A batch that only read commits nothing.
 */
static int step_done(struct store *s, const char *sql, const char *op)
{
    sqlite3_stmt *st = stmt_raw(s, sql); /* transaction control never opens a batch */
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, op);
}

/* "VERB sN" for a savepoint of depth n: the usual depths are written out, so their statements
 * are found by the text's address */
static const char *savepoint_sql(const char *const fixed[], const char *verb, int n, char *tmp,
                                 size_t size)
{
    if (n >= 1 && n <= 4) return fixed[n - 1];
    snprintf(tmp, size, "%s s%d", verb, n);
    return tmp;
}
static const char *const SAVEPOINTS[] = {"SAVEPOINT s1", "SAVEPOINT s2", "SAVEPOINT s3",
                                         "SAVEPOINT s4"};
static const char *const RELEASES[] = {"RELEASE s1", "RELEASE s2", "RELEASE s3", "RELEASE s4"};
static const char *const ROLLBACKS[] = {"ROLLBACK TO s1", "ROLLBACK TO s2", "ROLLBACK TO s3",
                                        "ROLLBACK TO s4"};

/*
 * The pager's data version: it moves when a transaction begins on a database another
 * connection has changed, and with every commit of this connection, so the commits of others
 * since the last of its own show as a version other than the one kept after that commit. Read
 * through a file control rather than PRAGMA data_version, a statement per transaction on every
 * run's path. -1 when it cannot be read: a version none is kept as.
 */
static int64_t pager_version(struct store *s)
{
    unsigned v;
    return sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION, &v) == SQLITE_OK
               ? (int64_t)v
               : -1;
}

static int tx_open(struct store *s)
{
    if (s->depth == 0) {
        s->tx_start = time_mono_us();
        s->changes_at_begin = sqlite3_total_changes64(s->db);
        if (step_done(s, "BEGIN IMMEDIATE", "begin") != 0) return -EIO;
        int64_t v = pager_version(s);
        if (v != s->data_version || v < 0) {
            s->job_gen++;
            s->run_gen++;
        }
        s->data_version = v;
    } else {
        char tmp[32];
        const char *sql = savepoint_sql(SAVEPOINTS, "SAVEPOINT", s->depth, tmp, sizeof tmp);
        if (step_done(s, sql, "savepoint") != 0) return -EIO;
    }
    s->depth++;
    return 0;
}

static void batch_open_any(struct store *s)
{
    if (s->batching && s->depth == 0 && tx_open(s) == 0) s->batch_open = true;
}

int store_begin(struct store *s)
{
    /* when batching, a transaction begun first in an iteration is a savepoint of the batch's
     * like any other, rather than a commit of its own (with its own WAL sync) */
    batch_open_any(s);
    return tx_open(s);
}

static int outer_commit(struct store *s)
{
    s->depth = 0;
    s->batch_open = false;
    if (step_done(s, "COMMIT", "commit") != 0) {
        s->undone++;
        s->job_gen++;
        s->run_gen++;
        /* after an I/O error SQLite may have rolled the transaction back itself */
        if (!sqlite3_get_autocommit(s->db)) step_done(s, "ROLLBACK", "rollback");
        return -EIO;
    }
    s->data_version = pager_version(s);
    /* a batch that only read is no write to time */
    if (s->observe && sqlite3_total_changes64(s->db) != s->changes_at_begin)
        s->observe(s->observe_arg, (double)(time_mono_us() - s->tx_start) / 1e6);
    return 0;
}

int store_commit(struct store *s)
{
    if (s->depth <= 0) return 0;
    if (s->depth == 1) {
        if (s->batch_open) return 0; /* the batch's own transaction: committed at its end */
        return outer_commit(s);
    }
    s->depth--;
    char tmp[32];
    return step_done(s, savepoint_sql(RELEASES, "RELEASE", s->depth, tmp, sizeof tmp), "release");
}

void store_rollback(struct store *s)
{
    if (s->depth <= 0) return;
    s->undone++;
    s->job_gen++;
    s->run_gen++;
    if (s->depth == 1 && !s->batch_open) {
        s->depth = 0;
        step_done(s, "ROLLBACK", "rollback");
        return;
    }
    if (s->depth == 1) return; /* nothing of its own to undo inside a batch */
    s->depth--;
    char tmp[32];
    step_done(s, savepoint_sql(ROLLBACKS, "ROLLBACK TO", s->depth, tmp, sizeof tmp), "rollback");
    step_done(s, savepoint_sql(RELEASES, "RELEASE", s->depth, tmp, sizeof tmp), "release");
}

void store_batching(struct store *s, bool on)
{
    s->batching = on;
}

/* Runs inserted between two folds: how many a count may walk, one index entry each. */
#define FOLD_EVERY 2048

static int fold_run_counts(struct store *s);

int64_t store_changes(const struct store *s)
{
    return sqlite3_total_changes64(s->db);
}

int store_batch_end(struct store *s)
{
    if (!s->batch_open) return 0;
    if (s->unfolded >= FOLD_EVERY) fold_run_counts(s); /* a failure is logged; counts stay right */
    return outer_commit(s);
}

/* ---- meta ---- */

int store_meta_get(struct store *s, const char *key, char **value)
{
    sqlite3_stmt *st = stmt(s, "SELECT value FROM meta WHERE key = ?1");
    bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *value = col_text(st, 0);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "meta_get");
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "meta_set");
}

/* ---- jobs ---- */

#define JOB_COLS                                                                               \
    "id, created, updated, active, title, description, task, default_queue, schedule, "       \
    "run_args, notifications, timeout_ms, next_run, overlap, catchup, catchup_limit, "        \
    "skipped_fires, max_retries, retry_backoff_ms, retention_ms, on_success, alert_after_ms, "  \
    "overdue_at, alert_from"

/* Whether the row st is on, of b bytes, takes the rows read past max_bytes (> 0; 0: no bound)
 * with n read already (a list's first row is read whatever its size): then st is reset (not
 * left open: it would hold its read) and *cut (when given) set. */
static bool row_over(sqlite3_stmt *st, size_t b, size_t n, int64_t max_bytes, size_t *used,
                     bool *cut)
{
    if (max_bytes <= 0) return false;
    if (n && *used + b > (size_t)max_bytes) {
        if (cut) *cut = true;
        sqlite3_reset(st);
        return true;
    }
    *used += b;
    return false;
}

/* What a job's row takes in texts and JSON (the columns that grow with what it holds: its
 * arguments may take 256 KiB), which bounds a page of jobs (job_query's max_bytes). */
static size_t job_row_bytes(sqlite3_stmt *st)
{
    static const int cols[] = {4, 5, 8, 9, 10, 20};
    size_t b = 0;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        b += (size_t)sqlite3_column_bytes(st, cols[i]);
    return b;
}

static void read_job(sqlite3_stmt *st, struct job *j)
{
    job_init(j);
    copy_uuid(j->id, st, 0);
    j->created = sqlite3_column_int64(st, 1);
    j->updated = sqlite3_column_int64(st, 2);
    j->active = sqlite3_column_int(st, 3) != 0;
    j->title = col_text(st, 4);
    j->description = col_text(st, 5);
    j->task = col_text(st, 6);
    j->default_queue = col_text(st, 7);
    j->schedule = col_json(st, 8);
    j->run_args = col_json(st, 9);
    if (!j->run_args) j->run_args = json_object();
    j->notifications = col_json(st, 10);
    j->timeout_ms = sqlite3_column_type(st, 11) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 11);
    j->next_run = col_time(st, 12);
    const unsigned char *ov = sqlite3_column_text(st, 13), *cu = sqlite3_column_text(st, 14);
    j->overlap = ov && overlap_parse((const char *)ov) >= 0 ? overlap_parse((const char *)ov) : 0;
    j->catchup = cu && catchup_parse((const char *)cu) >= 0 ? catchup_parse((const char *)cu) : 0;
    j->catchup_limit = sqlite3_column_int(st, 15);
    j->skipped_fires = sqlite3_column_int64(st, 16);
    j->max_retries = sqlite3_column_int(st, 17);
    j->retry_backoff_ms = sqlite3_column_int64(st, 18);
    j->retention_ms = sqlite3_column_type(st, 19) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 19);
    j->on_success = col_json(st, 20);
    j->alert_after_ms = sqlite3_column_type(st, 21) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 21);
    j->overdue_at = col_time(st, 22);
    j->alert_from = col_time(st, 23);
}

static void bind_job(sqlite3_stmt *st, const struct job *j)
{
    bind_text(st, 1, j->id);
    sqlite3_bind_int64(st, 2, j->created);
    sqlite3_bind_int64(st, 3, j->updated);
    sqlite3_bind_int(st, 4, j->active);
    bind_text(st, 5, j->title);
    bind_text(st, 6, j->description);
    bind_text(st, 7, j->task);
    bind_text(st, 8, j->default_queue);
    bind_json(st, 9, j->schedule);
    if (j->run_args)
        bind_json(st, 10, j->run_args);
    else
        bind_text(st, 10, "{}");
    bind_json(st, 11, j->notifications);
    if (j->timeout_ms < 0)
        sqlite3_bind_null(st, 12);
    else
        sqlite3_bind_int64(st, 12, j->timeout_ms);
    bind_time(st, 13, j->next_run);
    bind_text(st, 14, overlap_name(j->overlap));
    bind_text(st, 15, catchup_name(j->catchup));
    sqlite3_bind_int(st, 16, j->catchup_limit);
    sqlite3_bind_int(st, 17, j->max_retries);
    sqlite3_bind_int64(st, 18, j->retry_backoff_ms);
    if (j->retention_ms < 0)
        sqlite3_bind_null(st, 19);
    else
        sqlite3_bind_int64(st, 19, j->retention_ms);
    bind_json(st, 20, json_array_size(j->on_success) ? j->on_success : NULL);
    if (j->alert_after_ms < 0)
        sqlite3_bind_null(st, 21);
    else
        sqlite3_bind_int64(st, 21, j->alert_after_ms);
    bind_time(st, 22, j->overdue_at);
    bind_time(st, 23, j->alert_from);
}

int store_job_insert(struct store *s, const struct job *j)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO job (" JOB_COLS ") VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 0, ?17, ?18, "
                               "?19, ?20, ?21, ?22, ?23)");
    bind_job(st, j);
    s->job_gen++;
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "job_insert");
}

int store_job_update(struct store *s, const struct job *j)
{
    sqlite3_stmt *st = stmt(s, "UPDATE job SET updated = ?3, active = ?4, title = ?5, "
                               "description = ?6, task = ?7, default_queue = ?8, schedule = ?9, "
                               "run_args = ?10, notifications = ?11, timeout_ms = ?12, "
                               "next_run = ?13, overlap = ?14, catchup = ?15, catchup_limit = ?16, "
                               "max_retries = ?17, retry_backoff_ms = ?18, retention_ms = ?19, "
                               "on_success = ?20, alert_after_ms = ?21, overdue_at = ?22, "
                               "alert_from = ?23 WHERE id = ?1 AND ?2 = ?2");
    bind_job(st, j);
    s->job_gen++;
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "job_update");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

static int job_select(struct store *s, const char *id, struct job *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " JOB_COLS " FROM job WHERE id = ?1");
    bind_ref(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_job(st, out);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "job_get");
}

/* The cache's entry for job id, valid or not; NULL for what cannot be an id. */
static struct job_slot *job_slot(struct store *s, const char *id)
{
    if (strlen(id) >= UUID_STR_LEN) return NULL;
    return &s->jobs[map_hash(id) % (sizeof s->jobs / sizeof s->jobs[0])];
}

/* The valid entry of job id, or NULL (none, or outside a transaction). */
static struct job_slot *job_slot_valid(struct store *s, const char *id)
{
    struct job_slot *e = s->depth > 0 ? job_slot(s, id) : NULL;
    return e && e->gen == s->job_gen && strcmp(e->j.id, id) == 0 ? e : NULL;
}

/* Job id from the cache (see struct store), read into it when missing; -EAGAIN outside a
 * transaction, where the cache is not used. */
static int job_cached(struct store *s, const char *id, const struct job **out)
{
    batch_open_any(s);
    struct job_slot *e = job_slot_valid(s, id);
    if (!e) {
        if (!(e = s->depth > 0 ? job_slot(s, id) : NULL)) return -EAGAIN;
        char key[UUID_STR_LEN]; /* id may be the entry's own, which its release clears */
        snprintf(key, sizeof key, "%s", id);
        bool same = e->gen && strcmp(e->j.id, key) == 0; /* its last success still holds */
        job_release(&e->j);
        e->gen = 0;
        if (!same) e->ls_gen = 0;
        int rc = job_select(s, key, &e->j);
        if (rc != 0) {
            e->ls_gen = 0;
            return rc;
        }
        e->gen = s->job_gen;
    }
    *out = &e->j;
    return 0;
}

/* Job id's title (malloc'ed), or NULL: from the cache, or a query outside a transaction. */
static char *job_title(struct store *s, const char *id)
{
    const struct job *j;
    int rc = job_cached(s, id, &j);
    if (rc == 0) return j->title ? xstrdup(j->title) : NULL;
    if (rc != -EAGAIN) return NULL;
    sqlite3_stmt *st = stmt(s, "SELECT title FROM job WHERE id = ?1");
    bind_text(st, 1, id);
    char *title = sqlite3_step(st) == SQLITE_ROW ? col_text(st, 0) : NULL;
    sqlite3_reset(st);
    return title;
}

/* Every entry's last success is unknown again (runs deleted, or a change not followed). */
static void forget_last_success(struct store *s)
{
    s->run_gen++;
}

/* The entry of job id while its last success is known (inside a transaction), or NULL. */
static struct job_slot *last_success_slot(struct store *s, const char *id)
{
    struct job_slot *e = s->depth > 0 ? job_slot(s, id) : NULL;
    return e && e->gen && e->ls_gen == s->run_gen && strcmp(e->j.id, id) == 0 ? e : NULL;
}

/* Run r (its job_id, rid, started_at) is now SUCCESS: the newest such run is its job's last. */
static void note_success(struct store *s, const struct run *r)
{
    struct job_slot *e = last_success_slot(s, r->job_id);
    if (!e) return;
    if (r->rid > e->ls_rid) {
        e->ls_rid = r->rid;
        e->ls_start = r->started_at;
        e->ls_bounded = r->until != NO_TIME;
    } else if (r->rid == e->ls_rid) {
        e->ls_gen = 0;
    }
}

int store_job_get(struct store *s, const char *id, struct job *out)
{
    const struct job *j;
    int rc = job_cached(s, id, &j);
    if (rc == -EAGAIN) return job_select(s, id, out);
    if (rc == 0) job_copy(out, j);
    return rc;
}

bool store_job_notifies(struct store *s, const char *id, int status)
{
    const struct job *j;
    int rc = job_cached(s, id, &j);
    if (rc != -EAGAIN) return rc == 0 && job_notifies(j, status);
    struct job own;
    if (job_select(s, id, &own) != 0) return false;
    bool yes = job_notifies(&own, status);
    job_release(&own);
    return yes;
}

int store_job_delete(struct store *s, const char *id)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM job WHERE id = ?1");
    bind_text(st, 1, id);
    s->job_gen++;
    forget_last_success(s); /* its runs go with it */
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "job_delete");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_job_unchain(struct store *s, const char *id, int64_t now)
{
    /* a job rewritten so is changed: its updated (its ETag) moves, past what it was even when
     * the clock has not */
    sqlite3_stmt *st = stmt(s, "UPDATE job SET on_success = (SELECT CASE count(*) WHEN 0 THEN NULL "
                               "ELSE json_group_array(value) END FROM json_each(job.on_success) "
                               "WHERE value <> ?1), updated = max(?2, updated + 1) WHERE "
                               "on_success IS NOT NULL AND EXISTS (SELECT 1 FROM "
                               "json_each(job.on_success) WHERE value = ?1)");
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    s->job_gen++;
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "job_unchain");
}

bool store_job_chains(struct store *s, const char *id)
{
    const struct job *j;
    int rc = job_cached(s, id, &j);
    if (rc != -EAGAIN) return rc == 0 && json_array_size(j->on_success) > 0;
    struct job own;
    if (job_select(s, id, &own) != 0) return false;
    bool yes = json_array_size(own.on_success) > 0;
    job_release(&own);
    return yes;
}

int store_chain_owed(struct store *s, const char *run_id, const char *job_id)
{
    sqlite3_stmt *st = stmt(s, "INSERT OR IGNORE INTO chain_pending (run_id, job_id) VALUES (?1, ?2)");
    bind_text(st, 1, run_id);
    bind_text(st, 2, job_id);
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "chain_owed");
}

int store_chain_paid(struct store *s, const char *run_id)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM chain_pending WHERE run_id = ?1");
    bind_text(st, 1, run_id);
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "chain_paid");
}

int store_chains_owed(struct store *s, void (*fn)(void *arg, const char *run_id, const char *job_id),
                      void *arg)
{
    /* in the order the runs were made (rid), so chains start in the order their parents ended */
    sqlite3_stmt *st = stmt(s, "SELECT c.run_id, c.job_id FROM chain_pending c LEFT JOIN run r "
                               "ON r.id = c.run_id ORDER BY r.rid");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "chains_owed");
}

int store_idempotency_get(struct store *s, const char *actor, const char *key, int64_t now,
                          char fingerprint[65], char run_id[37], char **response)
{
    sqlite3_stmt *st = stmt(s, "SELECT fingerprint, run_id, response FROM idempotency WHERE "
                               "actor = ?1 AND key = ?2 AND created > ?3");
    bind_text(st, 1, actor);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, now - IDEMPOTENCY_KEEP_US);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(fingerprint, 65, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(run_id, 37, "%s", (const char *)sqlite3_column_text(st, 1));
        if (response) *response = col_text(st, 2);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 0;
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "idempotency_get");
}

int store_idempotency_put(struct store *s, const char *actor, const char *key,
                          const char *fingerprint, const char *run_id, const char *response,
                          int64_t now)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM idempotency WHERE created <= ?1");
    sqlite3_bind_int64(st, 1, now - IDEMPOTENCY_KEEP_US);
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "idempotency_expire");
    st = stmt(s, "INSERT OR REPLACE INTO idempotency (actor, key, fingerprint, run_id, created, "
                 "response) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    bind_text(st, 1, actor);
    bind_text(st, 2, key);
    bind_text(st, 3, fingerprint);
    bind_text(st, 4, run_id);
    sqlite3_bind_int64(st, 5, now);
    bind_text(st, 6, response);
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "idempotency_put");
}

int store_job_purge_runs(struct store *s, const char *id, int at_most, int *deleted)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM run WHERE rid IN (SELECT rid FROM run WHERE "
                               "job_id = ?1 ORDER BY rid LIMIT ?2)");
    bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, at_most);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "job_purge_runs");
    *deleted = (int)sqlite3_changes(s->db);
    forget_last_success(s);
    return 0;
}

int store_job_list(struct store *s, const struct job_query *q, struct job **out, size_t *n,
                   int64_t *total, bool *cut)
{
    if (cut) *cut = false;
    struct buf where = BUF_INIT;
    buf_puts(&where, " WHERE 1");
    char *pat = q->q && *q->q ? like_pattern(q->q) : NULL;
    if (pat && folds(q->q))
        buf_puts(&where,
                 " AND (fold(title) LIKE ?1 ESCAPE '\\' OR fold(description) LIKE ?1 ESCAPE '\\')");
    else if (pat)
        buf_puts(&where, " AND (title LIKE ?1 ESCAPE '\\' OR description LIKE ?1 ESCAPE '\\')");
    if (q->active >= 0) buf_puts(&where, " AND active = ?2");
    if (q->task) buf_puts(&where, " AND task = ?3");
    if (q->starts)
        buf_puts(&where, " AND on_success IS NOT NULL AND EXISTS (SELECT 1 FROM "
                         "json_each(job.on_success) WHERE value = ?6)");
    /* a range of the primary key: an id's characters all sort before 'g' */
    char *id_end = q->id_prefix ? xasprintf("%sg", q->id_prefix) : NULL;
    if (id_end) buf_puts(&where, " AND id >= ?7 AND id < ?8");

    char *sql = xasprintf("SELECT count(*) FROM job%s", buf_cstr(&where));
    sqlite3_stmt *st = stmt(s, sql);
    free(sql);
    if (pat) bind_text(st, 1, pat);
    if (q->active >= 0) sqlite3_bind_int(st, 2, q->active);
    if (q->task) bind_text(st, 3, q->task);
    if (q->starts) bind_text(st, 6, q->starts);
    if (id_end) bind_text(st, 7, q->id_prefix), bind_text(st, 8, id_end);
    int rc = sqlite3_step(st);
    *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);

    const char *order = "title COLLATE NOCASE";
    if (q->sort && strcmp(q->sort, "created") == 0) order = "created";
    if (q->sort && strcmp(q->sort, "updated") == 0) order = "updated";
    sql = xasprintf("SELECT " JOB_COLS " FROM job%s ORDER BY %s %s, id %s LIMIT ?4 OFFSET ?5",
                    buf_cstr(&where), order, q->desc ? "DESC" : "ASC", q->desc ? "DESC" : "ASC");
    st = stmt(s, sql);
    free(sql);
    buf_free(&where);
    if (pat) bind_text(st, 1, pat);
    if (q->active >= 0) sqlite3_bind_int(st, 2, q->active);
    if (q->task) bind_text(st, 3, q->task);
    if (q->starts) bind_text(st, 6, q->starts);
    if (id_end) bind_text(st, 7, q->id_prefix), bind_text(st, 8, id_end);
    sqlite3_bind_int64(st, 4, q->limit);
    sqlite3_bind_int64(st, 5, q->offset);
    free(pat);
    free(id_end);
    size_t cap = 0, used = 0;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row_over(st, job_row_bytes(st), *n, q->max_bytes, &used, cut)) {
            rc = SQLITE_DONE;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        read_job(st, &(*out)[(*n)++]);
    }
    if (rc != SQLITE_DONE) {
        store_jobs_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "job_list");
    }
    return 0;
}

void store_jobs_free(struct job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) job_release(&jobs[i]);
    free(jobs);
}

/* ---- runs ---- */

#define RUN_COLS_OWN                                                                           \
    "rid, id, job_id, task, status, title, queue, args, trigger, scheduled_for, created, updated, "  \
    "started_at, finished_at, message, exit_code, output, progress, total_entries, "           \
    "inserted_entries, updated_entries, errored_entries, attempt, parent_run_id, node, claim, " \
    "pid, timeout_ms, started_by_id, started_by_name, stopped_by_id, stopped_by_name, not_before, " \
    "executor, remote, window_end"
/* a run's columns and its job's title, as read_run reads them */
#define RUN_COLS RUN_COLS_OWN ", (SELECT title FROM job WHERE job.id = run.job_id)"

/* What a run's row takes in the texts that grow with what it holds (its arguments, up to
 * 256 KiB, its message and output; the others take at most a few hundred bytes), which bounds
 * a page of runs (run_query's max_bytes). */
static size_t run_row_bytes(sqlite3_stmt *st)
{
    return (size_t)sqlite3_column_bytes(st, 7) + (size_t)sqlite3_column_bytes(st, 14) +
           (size_t)sqlite3_column_bytes(st, 16);
}

static void read_run(sqlite3_stmt *st, struct run *r)
{
    run_init(r);
    r->rid = sqlite3_column_int64(st, 0);
    copy_uuid(r->id, st, 1);
    copy_uuid(r->job_id, st, 2);
    r->task = col_text(st, 3);
    const unsigned char *code = sqlite3_column_text(st, 4);
    int status = code ? run_status_from_code((char)code[0]) : -1;
    r->status = status < 0 ? RUN_FAILED : (enum run_status)status;
    r->title = col_text(st, 5);
    r->queue = col_text(st, 6);
    r->args = col_json(st, 7);
    if (!r->args) r->args = json_object();
    const unsigned char *trig = sqlite3_column_text(st, 8);
    int t = run_trigger_parse((const char *)trig);
    r->trigger = t < 0 ? TRIGGER_MANUAL : (enum run_trigger)t;
    r->scheduled_for = col_time(st, 9);
    r->created = col_time(st, 10);
    r->updated = col_time(st, 11);
    r->started_at = col_time(st, 12);
    r->finished_at = col_time(st, 13);
    r->message = col_text(st, 14);
    r->has_exit_code = sqlite3_column_type(st, 15) != SQLITE_NULL;
    r->exit_code = sqlite3_column_int(st, 15);
    r->output = col_json(st, 16);
    r->progress = col_json(st, 17);
    r->total_entries = sqlite3_column_int64(st, 18);
    r->inserted_entries = sqlite3_column_int64(st, 19);
    r->updated_entries = sqlite3_column_int64(st, 20);
    r->errored_entries = sqlite3_column_int64(st, 21);
    r->attempt = sqlite3_column_int(st, 22);
    r->parent_run_id = col_text(st, 23);
    r->node = col_text(st, 24);
    r->claim = sqlite3_column_int64(st, 25);
    r->pid = sqlite3_column_int(st, 26);
    r->timeout_ms = sqlite3_column_type(st, 27) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 27);
    r->started_by.id = col_text(st, 28);
    r->started_by.name = col_text(st, 29);
    r->stopped_by.id = col_text(st, 30);
    r->stopped_by.name = col_text(st, 31);
    r->not_before = col_time(st, 32);
    r->executor = col_text(st, 33);
    r->remote = col_json(st, 34);
    r->until = col_time(st, 35);
    r->job_title = col_text(st, 36);
}

int store_run_insert(struct store *s, struct run *r)
{
    sqlite3_stmt *st = stmt(
        s, "INSERT INTO run (id, job_id, status, title, queue, args, trigger, scheduled_for, "
           "created, updated, attempt, parent_run_id, timeout_ms, started_by_id, "
           "started_by_name, message, finished_at, task, not_before, executor, remote, node, "
           "started_at, claim, window_end, since_auto) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
           "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)");
    char code[2] = {run_status_code(r->status), 0};
    bind_ref(st, 1, r->id);
    bind_ref(st, 2, r->job_id);
    bind_ref(st, 3, code);
    bind_ref(st, 4, r->title);
    bind_ref(st, 5, r->queue);
    bind_json(st, 6, r->args);
    bind_ref(st, 7, run_trigger_name(r->trigger));
    bind_time(st, 8, r->scheduled_for);
    sqlite3_bind_int64(st, 9, r->created);
    sqlite3_bind_int(st, 10, r->attempt);
    bind_ref(st, 11, r->parent_run_id);
    if (r->timeout_ms < 0)
        sqlite3_bind_null(st, 12);
    else
        sqlite3_bind_int64(st, 12, r->timeout_ms);
    bind_ref(st, 13, r->started_by.id);
    bind_ref(st, 14, r->started_by.name);
    bind_ref(st, 15, r->message);
    bind_time(st, 16, r->finished_at);
    bind_ref(st, 17, r->task);
    bind_time(st, 18, r->not_before);
    bind_ref(st, 19, r->executor);
    bind_json(st, 20, r->remote);
    bind_ref(st, 21, r->node);
    bind_time(st, 22, r->started_at);
    sqlite3_bind_int64(st, 23, r->claim);
    bind_time(st, 24, r->until);
    sqlite3_bind_int(st, 25, r->since_auto);
    int rc = write_step(s, st);
    if (duplicate(s, rc)) return -EEXIST;
    if (rc != SQLITE_DONE) return fail(s, "run_insert");
    r->rid = sqlite3_last_insert_rowid(s->db);
    r->updated = r->created;
    if (r->status == RUN_SUCCESS) note_success(s, r);
    s->unfolded++;
    return 0;
}

int store_run_get(struct store *s, const char *id, struct run *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " RUN_COLS " FROM run WHERE id = ?1");
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_run(st, out);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "run_get");
}

/* The runs that are not SUCCESS, the condition of the partial index run_state
 * (0012_run_state.sql): a query must name it, exactly, for SQLite to use the index. */
#define NOT_SUCCESS "status <> 'S'"
/* Runs still moving (QUEUED, RUNNING, CANCELLING), found in run_state by each status. No index
 * names this condition: SQLite evaluates an index's condition on every write of a run, and
 * builds a list of three values as a temporary table each time (0006_active_predicate.sql); a
 * query's list, once per query, is what lets it seek each status. */
#define ACTIVE NOT_SUCCESS " AND status IN ('Q', 'R', 'C')"
#define ACTIVE_MASK (RUN_MASK(RUN_QUEUED) | RUN_MASK(RUN_RUNNING) | RUN_MASK(RUN_CANCELLING))

/* Runs that ended without success (FAILED, WARNING, CANCELLED, PARTIAL_SUCCESS). */
#define UNSUCCESSFUL_MASK                                                                      \
    (RUN_MASK(RUN_FAILED) | RUN_MASK(RUN_WARNING) | RUN_MASK(RUN_CANCELLED) |                  \
     RUN_MASK(RUN_PARTIAL_SUCCESS))
#define ALL_MASK ((1u << RUN_STATUS_COUNT) - 1)
/* Runs neither SUCCESS nor RUNNING: the condition of the partial index run_job_state, by job
 * and status (0012_run_state.sql), which a query must name to use it; it names NOT_SUCCESS too,
 * for run_state. A run on sked's own path enters it only while queued: one submitted over the
 * API is claimed as it is made and goes from RUNNING to its end. RUNNING runs, as many as there
 * are slots, are found through run_state. */
#define JOB_STATE NOT_SUCCESS " AND status <> 'R'"
#define JOB_STATE_MASK (ALL_MASK & ~RUN_MASK(RUN_SUCCESS) & ~RUN_MASK(RUN_RUNNING))

/* "status IN (...)" of the statuses in mask, with the conditions of the partial indexes that
 * hold all of them (JOB_STATE, or NOT_SUCCESS), so that those serve the filter. */
static void status_in(struct buf *b, unsigned mask)
{
    if (mask == ACTIVE_MASK) {
        buf_puts(b, ACTIVE);
        return;
    }
    if ((mask & ~JOB_STATE_MASK) == 0)
        buf_puts(b, JOB_STATE " AND ");
    else if (!(mask & RUN_MASK(RUN_SUCCESS)))
        buf_puts(b, NOT_SUCCESS " AND ");
    buf_puts(b, "status IN (");
    int first = 1;
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        if (!(mask & (1u << i))) continue;
        buf_printf(b, "%s'%c'", first ? "" : ",", run_status_code(i));
        first = 0;
    }
    buf_puts(b, ")");
}

/* The runs st reads, at most max_bytes of their rows when > 0 (store_run_list's cut). */
static int collect_runs(struct store *s, sqlite3_stmt *st, struct run **out, size_t *n,
                        int64_t max_bytes, bool *cut)
{
    size_t cap = 0, used = 0;
    int rc;
    *out = NULL;
    *n = 0;
    if (cut) *cut = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* measured before the row is parsed: the one that does not fit is only stepped */
        size_t b = run_row_bytes(st);
        if (row_over(st, b, *n, max_bytes, &used, cut)) {
            rc = SQLITE_DONE;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        read_run(st, &(*out)[*n]);
        (*out)[(*n)++].row_bytes = b;
    }
    if (rc != SQLITE_DONE) {
        store_runs_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "run_list");
    }
    return 0;
}

int64_t store_job_count_runs(struct store *s, const char *job_id, unsigned status_mask)
{
    if (!status_mask) return 0;
    unsigned running = RUN_MASK(RUN_RUNNING);
    /* a job's RUNNING runs through run_state, the others of the job through run_job_state */
    if (job_id && (status_mask & running) && (status_mask & ~running) &&
        !(status_mask & RUN_MASK(RUN_SUCCESS)))
        return store_job_count_runs(s, job_id, running) +
               store_job_count_runs(s, job_id, status_mask & ~running);
    struct buf sql = BUF_INIT;
    /* SQLite would rather walk every run of the job (run_job) */
    const char *from = job_id && (status_mask & ~JOB_STATE_MASK) == 0
                           ? "run INDEXED BY run_job_state"
                       : (status_mask & ~ACTIVE_MASK) == 0 ? "run INDEXED BY run_state"
                                                           : "run";
    buf_printf(&sql, "SELECT count(*) FROM %s WHERE ", from);
    if (job_id) buf_puts(&sql, "job_id = ?1 AND ");
    status_in(&sql, status_mask);
    sqlite3_stmt *st = stmt(s, buf_cstr(&sql));
    buf_free(&sql);
    if (job_id) bind_text(st, 1, job_id);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

/*
 * Run counts (0010_run_count_upto.sql): each job's row in run_count counts its runs up to the
 * mark, and a count adds the runs above it, so no run's insert writes run_count. A fold adds
 * the runs above the mark to their jobs' rows and moves the mark to the newest run: at the
 * server's start (runs written by others while it was down are folded too) and every
 * FOLD_EVERY inserts, in the batch's transaction, so that a count walks at most a few
 * thousand index entries.
 */
static int fold_run_counts(struct store *s)
{
    sqlite3_stmt *st = stmt(s, "SELECT (SELECT rid FROM run_count_upto WHERE k = 0), "
                               "(SELECT coalesce(max(rid), 0) FROM run)");
    int64_t upto = 0, top = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        upto = sqlite3_column_int64(st, 0);
        top = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    s->unfolded = 0;
    if (top <= upto) return 0;
    st = stmt(s, "INSERT INTO run_count (job_id, n) SELECT job_id, count(*) FROM run "
                 "WHERE rid > ?1 AND rid <= ?2 GROUP BY job_id "
                 "ON CONFLICT (job_id) DO UPDATE SET n = n + excluded.n");
    sqlite3_bind_int64(st, 1, upto);
    sqlite3_bind_int64(st, 2, top);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "fold");
    st = stmt(s, "UPDATE run_count_upto SET rid = ?1 WHERE k = 0");
    sqlite3_bind_int64(st, 1, top);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "fold");
}

int store_fold_run_counts(struct store *s)
{
    int rc = store_begin(s);
    if (rc == 0) rc = fold_run_counts(s);
    if (rc == 0) return store_commit(s);
    store_rollback(s);
    return rc;
}

/* The text search of runs (q): the start of the id (any case), through the id index, or a part
 * of the title, through the index of titled runs (0008_titled.sql); the rest of the filters
 * apply to the rids these find. An OR of the two in the WHERE clause made SQLite walk every
 * run of the job instead. The matches by id are a subquery of their own for the same reason:
 * beside the job's filter SQLite would rather walk the job's runs than the id index. */
#define TITLE_MATCHES "title IS NOT NULL AND title LIKE ?3 ESCAPE '\\'"
#define TITLE_MATCHES_FOLDED "title IS NOT NULL AND fold(title) LIKE ?3 ESCAPE '\\'"
#define ID_MATCHES "SELECT rid FROM run WHERE id >= ?7 AND id < ?8"

struct text_search {
    char *pat;    /* LIKE pattern of the title, ?3 */
    const char *title_sql; /* TITLE_MATCHES, or with titles folded when q has more than ASCII */
    char lo[40], hi[40]; /* the id range, ?7 and ?8; empty when q cannot start an id */
};

static bool text_search_init(struct text_search *t, const char *q)
{
    memset(t, 0, sizeof *t);
    if (!q || !*q) return false;
    t->pat = like_pattern(q);
    t->title_sql = folds(q) ? TITLE_MATCHES_FOLDED : TITLE_MATCHES;
    size_t n = strlen(q);
    bool id_like = n < sizeof t->lo - 1;
    for (const char *p = q; id_like && *p; p++) id_like = isxdigit((unsigned char)*p) || *p == '-';
    if (id_like) {
        for (size_t i = 0; i < n; i++) t->lo[i] = (char)tolower((unsigned char)q[i]);
        memcpy(t->hi, t->lo, n);
        t->hi[n] = '~'; /* above every character of an id */
    }
    return true;
}

/* The filters' parameters: job, since, the text search. */
static void bind_filters(sqlite3_stmt *st, const struct run_query *q, const struct text_search *t)
{
    if (q->job_id) bind_text(st, 1, q->job_id);
    if (q->since != NO_TIME) sqlite3_bind_int64(st, 2, q->since);
    if (t->pat) bind_text(st, 3, t->pat);
    if (t->lo[0]) {
        bind_text(st, 7, t->lo);
        bind_text(st, 8, t->hi);
    }
}

/* A text search's matches are many from this count on: its page is then read in order,
 * stopping once it is full, rather than gathered whole and sorted. */
#define SEARCH_GATHER_MAX 1000

/*
 * How many runs a text search finds with the other filters (where), in its two parts: those
 * whose title matches, then those whose id does and title not. While they are few
 * (SEARCH_GATHER_MAX), their rids are gathered as a JSON array into rids, for the page to read
 * just them (counting, then reading the titles again for the page, took twice as long for a
 * rare word in a million titles). A part with more is counted as read (an IN list of all its
 * matches, built to be counted, took three times as long when a word is in a million titles).
 * *gathered: whether rids holds them all.
 */
static int64_t search_total(struct store *s, const struct run_query *q, const char *where,
                            const struct text_search *t, struct buf *rids, bool *gathered)
{
    int64_t total = 0;
    *gathered = true;
    buf_putc(rids, '[');
    for (int part = 0; part < (t->lo[0] ? 2 : 1); part++) {
        char match[192];
        if (part == 0)
            snprintf(match, sizeof match, " AND %s", t->title_sql);
        else
            snprintf(match, sizeof match, " AND rid IN (" ID_MATCHES ") AND NOT (%s)",
                     t->title_sql);
        int64_t found = 0;
        if (*gathered) {
            /* in no order: an order would make SQLite read the table rather than the index of
             * titled runs when no job is named; the page orders them */
            char *sql = xasprintf("SELECT rid FROM run%s%s LIMIT ?9", where, match);
            sqlite3_stmt *st = stmt(s, sql);
            free(sql);
            bind_filters(st, q, t);
            int64_t room = SEARCH_GATHER_MAX - total;
            sqlite3_bind_int64(st, 9, room + 1);
            while (sqlite3_step(st) == SQLITE_ROW)
                buf_printf(rids, "%s%lld", total + found++ ? "," : "",
                           (long long)sqlite3_column_int64(st, 0));
            sqlite3_reset(st);
            *gathered = found <= room;
        }
        if (!*gathered) { /* more than a page gathers: counted */
            char *sql = xasprintf("SELECT count(*) FROM run%s%s", where, match);
            sqlite3_stmt *st = stmt(s, sql);
            free(sql);
            bind_filters(st, q, t);
            found = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
        }
        total += found;
    }
    buf_putc(rids, ']');
    return total;
}

/* The table of a list of runs: a job's RUNNING runs are read through the index of runs not
 * SUCCESS, named, as SQLite would rather look for them among all the job's runs, newest
 * first (all of them when it has none: 0.4 s at a million). */
static const char *runs_from(const struct run_query *q)
{
    bool running = q->job_id && q->status_mask == RUN_MASK(RUN_RUNNING) && !(q->q && *q->q);
    return running ? "run INDEXED BY run_state" : "run";
}

/* How many runs match: the count the triggers keep (0005_run_count.sql) when only the job is
 * asked for, so a job with a million runs is not counted run by run for every page. With a
 * status filter that takes SUCCESS (most runs, and in no index of their own), all runs less
 * those of the other statuses, which the partial index of the runs not SUCCESS counts; other
 * status filters are counted through the partial indexes directly (status_in). A text search
 * is counted by search_total. */
static int64_t count_runs(struct store *s, const struct run_query *q, const char *where)
{
    bool unfiltered = q->since == NO_TIME;
    bool plain = unfiltered && !q->status_mask;
    if (plain || (unfiltered && (q->status_mask & RUN_MASK(RUN_SUCCESS)))) {
        /* the rows count the runs up to the mark; the runs above it are counted here */
        sqlite3_stmt *st =
            q->job_id ? stmt(s, "SELECT coalesce((SELECT n FROM run_count WHERE job_id = ?1), 0) + "
                                "(SELECT count(*) FROM run WHERE job_id = ?1 AND rid > "
                                "(SELECT rid FROM run_count_upto WHERE k = 0))")
                      : stmt(s, "SELECT coalesce((SELECT sum(n) FROM run_count), 0) + "
                                "(SELECT count(*) FROM run WHERE rid > "
                                "(SELECT rid FROM run_count_upto WHERE k = 0))");
        if (q->job_id) bind_text(st, 1, q->job_id);
        int64_t all = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (plain) return all;
        unsigned rest = ALL_MASK & ~q->status_mask;
        return all - store_job_count_runs(s, q->job_id, rest & ACTIVE_MASK) -
               store_job_count_runs(s, q->job_id, rest & UNSUCCESSFUL_MASK);
    }
    if (unfiltered) return store_job_count_runs(s, q->job_id, q->status_mask);
    char *sql = xasprintf("SELECT count(*) FROM %s%s", runs_from(q), where);
    sqlite3_stmt *st = stmt(s, sql);
    free(sql);
    struct text_search none = {0};
    bind_filters(st, q, &none);
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return total;
}

/* Whether the first attempt of the retry whose parent is `parent` had trigger t (a retry's
 * trigger is "retry"; its parents lead back to the run it retries, unless one was deleted). */
static bool retries_trigger(struct store *s, const char *parent, const char *t)
{
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", parent ? parent : "");
    sqlite3_stmt *st = stmt(s, "SELECT trigger, parent_run_id FROM run WHERE id = ?1");
    for (int depth = 0; id[0] && depth < 200; depth++) {
        bind_text(st, 1, id);
        if (sqlite3_step(st) != SQLITE_ROW) break;
        const char *trig = (const char *)sqlite3_column_text(st, 0);
        if (trig && strcmp(trig, "retry") != 0) {
            bool same = strcmp(trig, t) == 0;
            sqlite3_reset(st);
            return same;
        }
        const unsigned char *p = sqlite3_column_text(st, 1);
        snprintf(id, sizeof id, "%s", p ? (const char *)p : "");
        sqlite3_reset(st);
    }
    sqlite3_reset(st);
    return false;
}

int store_job_runs_in(struct store *s, const char *job_id, int status, int trigger, int limit,
                      char **ids)
{
    /* each through the index of its status: a job's queued runs (run_job_state), every
     * running run (run_state: as many as there are slots); with a trigger, the retries too,
     * kept when they retry a run of that trigger */
    sqlite3_stmt *st =
        status == RUN_QUEUED
            ? stmt(s, "SELECT id, trigger = 'retry', parent_run_id FROM run WHERE job_id = ?1 "
                      "AND status = 'Q' AND " JOB_STATE " AND (?2 IS NULL OR trigger = ?2 OR "
                      "trigger = 'retry') ORDER BY rid")
            : stmt(s, "SELECT id, trigger = 'retry', parent_run_id FROM run INDEXED BY "
                      "run_state WHERE job_id = ?1 AND status = 'R' AND " NOT_SUCCESS " AND (?2 "
                      "IS NULL OR trigger = ?2 OR trigger = 'retry') ORDER BY rid");
    const char *t = trigger >= 0 ? run_trigger_name(trigger) : NULL;
    bind_text(st, 1, job_id);
    if (t) bind_text(st, 2, t);
    /* read whole first: the parents are looked up with statements of their own */
    size_t cap = 16, n = 0;
    struct cand {
        char id[UUID_STR_LEN], parent[UUID_STR_LEN];
        bool retry;
    } *c = xmalloc(cap * sizeof *c);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && (t || n < (size_t)limit)) {
        if (n == cap) c = xrealloc(c, (cap *= 2) * sizeof *c);
        copy_uuid(c[n].id, st, 0);
        c[n].retry = t && strcmp(t, "retry") != 0 && sqlite3_column_int(st, 1);
        copy_uuid(c[n].parent, st, 2);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        free(c);
        *ids = NULL;
        return fail(s, "job_runs_in");
    }
    *ids = xmalloc((size_t)(limit > 0 ? limit : 1) * UUID_STR_LEN);
    int out = 0;
    for (size_t i = 0; i < n && out < limit; i++)
        if (!c[i].retry || retries_trigger(s, c[i].parent, t))
            memcpy(*ids + (size_t)out++ * UUID_STR_LEN, c[i].id, UUID_STR_LEN);
    free(c);
    return out;
}

int store_run_list(struct store *s, const struct run_query *q, struct run **out, size_t *n,
                   int64_t *total, bool *cut)
{
    *out = NULL;
    *n = 0;
    if (cut) *cut = false;
    int64_t after = 0;
    if (q->after) {
        sqlite3_stmt *st = stmt(s, "SELECT rid FROM run WHERE id = ?1 AND (?2 IS NULL OR job_id = ?2)");
        bind_text(st, 1, q->after);
        if (q->job_id) bind_text(st, 2, q->job_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) after = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? -ENOENT : fail(s, "run_list");
    }
    struct buf where = BUF_INIT;
    buf_puts(&where, " WHERE 1");
    if (q->job_id) buf_puts(&where, " AND job_id = ?1");
    if (q->status_mask) {
        buf_puts(&where, " AND ");
        status_in(&where, q->status_mask);
    }
    if (q->since != NO_TIME) buf_puts(&where, " AND created >= ?2");
    struct text_search t;
    bool search = text_search_init(&t, q->q);
    const char *w = buf_cstr(&where);
    struct buf rids = BUF_INIT;
    bool gathered = false;
    *total = search ? search_total(s, q, w, &t, &rids, &gathered) : count_runs(s, q, w);

    /* keyset: the page starts after a run, by rid, so page 1,000 costs what page 1 does */
    if (q->after) buf_printf(&where, " AND rid %s ?6", q->asc ? ">" : "<");
    const char *dir = q->asc ? "ASC" : "DESC";
    unsigned m = q->status_mask, running = RUN_MASK(RUN_RUNNING);
    /* a job's RUNNING runs and others not SUCCESS are in two indexes: no one walks them all */
    bool split = q->job_id && !search && (m & running) && (m & ~running) &&
                 !(m & RUN_MASK(RUN_SUCCESS));
    bool walk = search && !gathered;
    char *sql;
    if (split) {
        /* the first offset + limit in order of each index, with every filter; the page is
         * taken from both (by the job's runs, newest first, SQLite read all of a job of a
         * million finished runs to find none moving) */
        w = buf_cstr(&where);
        sql = xasprintf("SELECT " RUN_COLS " FROM run%s AND rid IN (SELECT rid FROM (SELECT rid "
                        "FROM run INDEXED BY run_state%s AND status = 'R' ORDER BY rid %s LIMIT "
                        "?9) UNION ALL SELECT rid FROM (SELECT rid FROM run INDEXED BY "
                        "run_job_state%s AND " JOB_STATE " ORDER BY rid %s LIMIT ?9)) ORDER BY "
                        "rid %s LIMIT ?4 OFFSET ?5", w, w, dir, w, dir, dir);
    } else if (walk) {
        /* the runs that match by id (through its index: a start of an id holds few), and the
         * first offset + limit in order that match by title, read in order with every filter
         * and stopping there; the page is taken from both (a million matches gathered and
         * sorted took seconds) */
        w = buf_cstr(&where);
        sql = xasprintf("SELECT " RUN_COLS " FROM run%s AND rid IN (%sSELECT rid FROM (SELECT "
                        "rid FROM run%s AND %s ORDER BY rid %s LIMIT ?9)) "
                        "ORDER BY rid %s LIMIT ?4 OFFSET ?5", w,
                        t.lo[0] ? ID_MATCHES " UNION ALL " : "", w, t.title_sql, dir, dir);
    } else {
        /* a search's few matches are those gathered, sorted */
        if (search) buf_puts(&where, " AND rid IN (SELECT value FROM json_each(?10))");
        sql = xasprintf("SELECT " RUN_COLS " FROM %s%s ORDER BY rid %s LIMIT ?4 OFFSET ?5",
                        runs_from(q), buf_cstr(&where), dir);
    }
    sqlite3_stmt *st = stmt(s, sql);
    free(sql);
    buf_free(&where);
    bind_filters(st, q, &t);
    sqlite3_bind_int64(st, 4, q->limit);
    sqlite3_bind_int64(st, 5, q->offset);
    if (q->after) sqlite3_bind_int64(st, 6, after);
    if (walk || split) sqlite3_bind_int64(st, 9, q->limit + q->offset);
    if (gathered) bind_text(st, 10, buf_cstr(&rids));
    int rc = collect_runs(s, st, out, n, q->max_bytes, cut);
    buf_free(&rids);
    free(t.pat);
    return rc;
}

void store_runs_free(struct run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) run_release(&runs[i]);
    free(runs);
}

int store_run_delete(struct store *s, const char *id)
{
    sqlite3_stmt *st =
        stmt(s, "DELETE FROM run WHERE id = ?1 AND status IN ('S','F','W','X','P')");
    bind_text(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "run_delete");
    if (sqlite3_changes(s->db)) {
        forget_last_success(s);
        return 0;
    }
    st = stmt(s, "SELECT 1 FROM run WHERE id = ?1");
    bind_text(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? -EBUSY : -ENOENT;
    sqlite3_reset(st);
    return rc;
}

/*
 * The rid of job id's newest SUCCESS run and its start (0 and NO_TIME: none). Kept in the job's
 * cache entry, which is made for it: finding it walks the job's runs newest first, past every
 * run that is not SUCCESS (a backlog of 100,000 queued runs: 60 ms), and a job's document and
 * the jobs list ask for it twice (its default `since`, its newest SUCCESS run).
 */
/* The rid of the job's newest SUCCESS run (0: none), its start, and whether it was given a
 * window_end. */
static int64_t last_success(struct store *s, const char *job_id, int64_t *start, bool *bounded)
{
    batch_open_any(s); /* the cache holds only inside a transaction */
    const struct job *j;
    struct job_slot *e = job_cached(s, job_id, &j) == 0 ? job_slot_valid(s, job_id) : NULL;
    if (e && e->ls_gen == s->run_gen) {
        *start = e->ls_start;
        *bounded = e->ls_bounded;
        return e->ls_rid;
    }
    sqlite3_stmt *st = stmt(s, "SELECT rid, started_at, window_end IS NOT NULL FROM run WHERE "
                               "job_id = ?1 AND status = 'S' ORDER BY rid DESC LIMIT 1");
    bind_text(st, 1, job_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    int64_t rid = found ? sqlite3_column_int64(st, 0) : 0;
    *start = found ? col_time(st, 1) : NO_TIME;
    *bounded = found && sqlite3_column_int(st, 2);
    sqlite3_reset(st);
    if (e) {
        e->ls_gen = s->run_gen;
        e->ls_rid = rid;
        e->ls_start = *start;
        e->ls_bounded = *bounded;
    }
    return rid;
}

int64_t store_last_success_start(struct store *s, const char *job_id)
{
    int64_t start;
    bool bounded;
    last_success(s, job_id, &start, &bounded);
    if (!bounded) return start;
    /* a run given its window's end covered that window alone: the job's since is the start of
     * its newest successful run without one (found without the cache: such runs are few) */
    sqlite3_stmt *st = stmt(s, "SELECT started_at FROM run WHERE job_id = ?1 AND status = 'S' "
                               "AND window_end IS NULL ORDER BY rid DESC LIMIT 1");
    bind_text(st, 1, job_id);
    start = sqlite3_step(st) == SQLITE_ROW ? col_time(st, 0) : NO_TIME;
    sqlite3_reset(st);
    return start;
}

int store_job_finished_runs(struct store *s, const char *job_id, int limit,
                            void (*fn)(void *arg, int status, int64_t created, int64_t started,
                                       int64_t finished),
                            void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT status, created, started_at, finished_at FROM run WHERE "
                               "job_id = ?1 AND status IN ('S','F','W','X','P') ORDER BY rid DESC "
                               "LIMIT ?2");
    bind_text(st, 1, job_id);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        fn(arg, run_status_from_code(code ? code[0] : 0), sqlite3_column_int64(st, 1),
           col_time(st, 2), col_time(st, 3));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "job_finished_runs");
}

int store_run_latest(struct store *s, const char *job_id, int status, struct run *out)
{
    /* each through an index that holds runs of that status, named so that SQLite takes it: by
     * the job's runs newest first, a status none of them has meant reading them all (a job's
     * document asks for every status: seconds at a million runs). SUCCESS is most runs. */
    sqlite3_stmt *st;
    int64_t start;
    bool bounded;
    int64_t rid = status == RUN_SUCCESS ? last_success(s, job_id, &start, &bounded) : 0;
    /* the status is written in the SQL, not bound: a bound value that decides whether a
     * partial index applies makes SQLite prepare the statement again whenever it changes, and
     * a job's document asks for every status in turn (0.6 ms a job in a list of a store of a
     * million runs, most of it in the parser) */
#define LATEST_STATE(code)                                                                     \
    "SELECT " RUN_COLS " FROM run WHERE job_id = ?1 AND status = '" code "' AND " JOB_STATE      \
    " ORDER BY rid DESC LIMIT 1"
    static const char *const by_state[RUN_STATUS_COUNT] = {
        [RUN_QUEUED] = LATEST_STATE("Q"),     [RUN_FAILED] = LATEST_STATE("F"),
        [RUN_WARNING] = LATEST_STATE("W"),    [RUN_CANCELLING] = LATEST_STATE("C"),
        [RUN_CANCELLED] = LATEST_STATE("X"),  [RUN_PARTIAL_SUCCESS] = LATEST_STATE("P")};
#undef LATEST_STATE
    if (status < 0)
        st = stmt(s, "SELECT " RUN_COLS " FROM run WHERE job_id = ?1 ORDER BY rid DESC LIMIT 1");
    else if (status == RUN_SUCCESS)
        st = stmt(s, "SELECT " RUN_COLS " FROM run WHERE rid = ?3 AND job_id = ?1 AND "
                     "status = 'S'");
    else if (status == RUN_RUNNING) /* as many as there are slots, whatever the job */
        st = stmt(s, "SELECT " RUN_COLS " FROM run INDEXED BY run_state WHERE job_id = ?1 AND "
                     "status = 'R' AND " NOT_SUCCESS " ORDER BY rid DESC LIMIT 1");
    else if (status < RUN_STATUS_COUNT)
        st = stmt(s, by_state[status]);
    else
        return -ENOENT;
    bind_text(st, 1, job_id);
    if (status == RUN_SUCCESS) sqlite3_bind_int64(st, 3, rid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_run(st, out);
        out->row_bytes = run_row_bytes(st); /* a list of jobs counts its runs' (api_jobs.c) */
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "run_latest");
}

/* The UPDATE of store_run_update for one shape (malloc'ed). */
static char *update_sql(int to, unsigned mask, const struct run_guard *g)
{
    struct buf sql = BUF_INIT;
    buf_puts(&sql, "UPDATE run SET updated = ?1");
    if (to >= 0) buf_puts(&sql, ", status = ?2");
    if (mask & RF_STARTED_AT) buf_puts(&sql, ", started_at = ?3");
    if (mask & RF_FINISHED_AT) buf_puts(&sql, ", finished_at = ?4");
    if (mask & RF_MESSAGE) buf_puts(&sql, ", message = ?5");
    if (mask & RF_EXIT_CODE) buf_puts(&sql, ", exit_code = ?6");
    if (mask & RF_OUTPUT) buf_puts(&sql, ", output = ?7");
    if (mask & RF_PROGRESS) buf_puts(&sql, ", progress = ?8");
    if (mask & RF_ENTRIES)
        buf_puts(&sql, ", total_entries = ?9, inserted_entries = ?10, updated_entries = ?11, "
                       "errored_entries = ?12");
    if (mask & RF_PID) buf_puts(&sql, ", pid = ?13");
    if (mask & RF_STOPPED_BY) buf_puts(&sql, ", stopped_by_id = ?14, stopped_by_name = ?15");
    if (mask & RF_REMOTE) buf_puts(&sql, ", remote = ?19");
    buf_puts(&sql, g->rid > 0 ? " WHERE rid = ?20 AND " : " WHERE id = ?16 AND ");
    status_in(&sql, g->from_mask);
    if (g->node) buf_puts(&sql, " AND node = ?17 AND claim = ?18");
    return buf_steal(&sql);
}

int store_run_update(struct store *s, const struct run_guard *g, int to, unsigned mask,
                     const struct run *f, int64_t now)
{
    /* the statement's text depends only on which fields, from which statuses and whether
     * guarded by a claim: made once per shape and kept, so the statement is found by the
     * text's address */
    uint64_t shape = (uint64_t)(to >= 0) | (uint64_t)mask << 1 | (uint64_t)g->from_mask << 16 |
                     (uint64_t)(g->node != NULL) << 48 | (uint64_t)(g->rid > 0) << 49;
    size_t i = 0;
    while (i < s->nupdates && s->updates[i].shape != shape) i++;
    if (i == s->nupdates) {
        s->updates = xrealloc(s->updates, (i + 1) * sizeof *s->updates);
        s->updates[i].shape = shape;
        s->updates[i].sql = update_sql(to, mask, g);
        s->nupdates++;
    }
    sqlite3_stmt *st = stmt(s, s->updates[i].sql);
    sqlite3_bind_int64(st, 1, now);
    char code[2] = {to >= 0 ? run_status_code(to) : 0, 0};
    if (to >= 0) bind_ref(st, 2, code);
    if (mask & RF_STARTED_AT) bind_time(st, 3, f->started_at);
    if (mask & RF_FINISHED_AT) bind_time(st, 4, f->finished_at);
    if (mask & RF_MESSAGE) bind_ref(st, 5, f->message);
    if (mask & RF_EXIT_CODE) {
        if (f->has_exit_code)
            sqlite3_bind_int(st, 6, f->exit_code);
        else
            sqlite3_bind_null(st, 6);
    }
    if (mask & RF_OUTPUT) bind_json(st, 7, f->output);
    if (mask & RF_PROGRESS) bind_json(st, 8, f->progress);
    if (mask & RF_ENTRIES) {
        sqlite3_bind_int64(st, 9, f->total_entries);
        sqlite3_bind_int64(st, 10, f->inserted_entries);
        sqlite3_bind_int64(st, 11, f->updated_entries);
        sqlite3_bind_int64(st, 12, f->errored_entries);
    }
    if (mask & RF_PID) {
        if (f->pid > 0)
            sqlite3_bind_int(st, 13, f->pid);
        else
            sqlite3_bind_null(st, 13);
    }
    if (mask & RF_STOPPED_BY) {
        bind_ref(st, 14, f->stopped_by.id);
        bind_ref(st, 15, f->stopped_by.name);
    }
    if (mask & RF_REMOTE) bind_json(st, 19, f->remote);
    if (g->rid > 0)
        sqlite3_bind_int64(st, 20, g->rid);
    else
        bind_ref(st, 16, g->id);
    if (g->node) {
        bind_ref(st, 17, g->node);
        sqlite3_bind_int64(st, 18, g->claim);
    }
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "run_update");
    if (!sqlite3_changes(s->db)) return -ESTALE;
    /* the cached last successes: a run made SUCCESS is followed when f is that run; any other
     * change that may touch a successful run is not, and forgets them */
    bool is_f = f->rid > 0 && f->job_id[0] &&
                (g->rid > 0 ? g->rid == f->rid : g->id && strcmp(g->id, f->id) == 0);
    if (to == RUN_SUCCESS && is_f)
        note_success(s, f);
    else if (to == RUN_SUCCESS || (g->from_mask & RUN_MASK(RUN_SUCCESS)))
        forget_last_success(s);
    return 0;
}

int store_run_claim(struct store *s, const char *queue, const char *node, int64_t now,
                    struct run *out)
{
    /* plain statements rather than UPDATE ... RETURNING, whose result goes through a temporary
     * table: the claim is on every run's path. The run is read as it is queued and the claim's
     * few changes applied to it here, rather than read again; the update still re-checks the
     * status */
    sqlite3_stmt *st = stmt(s, "SELECT " RUN_COLS_OWN ", NULL, since_auto FROM run WHERE status = 'Q' AND queue = ?1 "
                               "AND (not_before IS NULL OR not_before <= ?2) AND "
                               "executor IS NULL ORDER BY rid LIMIT 1");
    bind_text(st, 1, queue);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_run(st, out);
        out->since_auto = sqlite3_column_int(st, 37) != 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return -ENOENT;
    if (rc != SQLITE_ROW) return fail(s, "run_claim");
    /* its job's title from the store's cache of jobs, not a subquery per claim */
    out->job_title = job_title(s, out->job_id);
    st = stmt(s, "UPDATE run SET status = 'R', started_at = ?1, updated = ?1, node = ?2, "
                 "claim = claim + 1 WHERE rid = ?3 AND status = 'Q'");
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, node);
    sqlite3_bind_int64(st, 3, out->rid);
    rc = write_step(s, st) == SQLITE_DONE ? (sqlite3_changes(s->db) ? 0 : -EAGAIN)
                                          : fail(s, "run_claim");
    if (rc) {
        run_release(out);
        return rc;
    }
    out->status = RUN_RUNNING;
    out->started_at = out->updated = now;
    free(out->node);
    out->node = xstrdup(node);
    out->claim++;
    return 0;
}

int64_t store_next_delayed(struct store *s, int64_t now)
{
    /* run_delayed holds every run with a wait (0012_run_state.sql): the first still queued */
    sqlite3_stmt *st = stmt(s, "SELECT not_before FROM run WHERE not_before IS NOT NULL AND "
                               "not_before > ?1 AND not_before < ?2 AND status = 'Q' "
                               "ORDER BY not_before LIMIT 1");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, RUN_HELD);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? col_time(st, 0) : NO_TIME;
    sqlite3_reset(st);
    return v;
}

int store_run_unclaim(struct store *s, const struct run_guard *g, int64_t now)
{
    sqlite3_stmt *st = stmt(s, "UPDATE run SET status = 'Q', started_at = NULL, node = NULL, "
                               "pid = NULL, updated = ?2 WHERE rid = ?1 AND status = 'R' AND "
                               "node = ?3 AND claim = ?4");
    sqlite3_bind_int64(st, 1, g->rid);
    sqlite3_bind_int64(st, 2, now);
    bind_text(st, 3, g->node);
    sqlite3_bind_int64(st, 4, g->claim);
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "run_unclaim");
    return sqlite3_changes(s->db) ? 0 : -ESTALE;
}

int store_run_set_pid(struct store *s, int64_t rid, int64_t claim, int pid)
{
    sqlite3_stmt *st = stmt(s, "UPDATE run SET pid = ?3 WHERE rid = ?1 AND claim = ?2 AND "
                               "status IN ('R','C') AND pid IS NULL");
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_int64(st, 2, claim);
    sqlite3_bind_int(st, 3, pid);
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "run_set_pid");
    return 0;
}

int store_runs_release_held(struct store *s, const char *job_id)
{
    sqlite3_stmt *st = stmt(s, "UPDATE run SET not_before = NULL WHERE not_before = ?2 AND "
                               "job_id = ?1 AND status = 'Q'");
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, RUN_HELD);
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "runs_release_held");
    return (int)sqlite3_changes(s->db);
}

int store_run_set_args(struct store *s, int64_t rid, const json_t *args)
{
    /* the text written whole: SQLite's json_set would parse and write it again */
    sqlite3_stmt *st = stmt(s, "UPDATE run SET args = ?2 WHERE rid = ?1");
    sqlite3_bind_int64(st, 1, rid);
    bind_json(st, 2, args);
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "run_set_args");
    return 0;
}

int store_jobs_holding(struct store *s, void (*fn)(void *arg, const char *job_id), void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT DISTINCT job_id FROM run WHERE not_before = ?1 AND "
                               "status = 'Q'");
    sqlite3_bind_int64(st, 1, RUN_HELD);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(arg, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "jobs_holding");
}

int store_runs_active(struct store *s, struct run **out, size_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT " RUN_COLS " FROM run WHERE " NOT_SUCCESS " AND "
                               "status IN ('R','C') AND executor IS NULL ORDER BY rid");
    return collect_runs(s, st, out, n, 0, NULL);
}

int store_detached_add(struct store *s, const char *run_id, const char *node, int64_t now)
{
    sqlite3_stmt *st = stmt(s, "INSERT OR IGNORE INTO detached (run_id, node, since) "
                               "VALUES (?1, ?2, ?3)");
    bind_text(st, 1, run_id);
    bind_text(st, 2, node);
    bind_time(st, 3, now);
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "detached_add");
}

int store_detached_remove(struct store *s, const char *run_id)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM detached WHERE run_id = ?1");
    bind_text(st, 1, run_id);
    return write_step(s, st) == SQLITE_DONE ? 0 : fail(s, "detached_remove");
}

int store_detached_list(struct store *s, char ***ids, size_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT run_id FROM detached");
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *ids = xrealloc(*ids, cap * sizeof **ids);
        }
        (*ids)[(*n)++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 0;
    }
    rc = fail(s, "detached_list"); /* before the reset, which would clear its message */
    sqlite3_reset(st);
    while (*n) free((*ids)[--*n]); /* nothing half-listed for the caller to free */
    free(*ids);
    *ids = NULL;
    return rc;
}

int store_runs_remote(struct store *s, const char *executor, const char *node, struct run **out,
                      size_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT " RUN_COLS " FROM run WHERE executor = ?1 AND " ACTIVE " AND "
                               "(node = ?2 OR node IS NULL) ORDER BY rid");
    bind_text(st, 1, executor);
    bind_text(st, 2, node);
    return collect_runs(s, st, out, n, 0, NULL);
}

int store_queue_depths(struct store *s, void (*fn)(void *arg, const char *queue, int64_t n),
                       void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT queue, count(*) FROM run WHERE status = 'Q' AND "
                               "executor IS NULL GROUP BY queue");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    return rc == SQLITE_DONE ? 0 : fail(s, "queue_depths");
}

/* ---- scheduling ---- */

int store_jobs_scheduled(struct store *s, void (*fn)(void *arg, const char *id, int64_t next_run),
                         void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT id, next_run FROM job WHERE schedule IS NOT NULL AND "
                               "active = 1");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), col_time(st, 1));
    return rc == SQLITE_DONE ? 0 : fail(s, "jobs_scheduled");
}

int store_jobs_alerting(struct store *s, void (*fn)(void *arg, const struct job_alert *a),
                        void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT id, coalesce(alert_from, created), alert_after_ms, "
                               "overdue_at FROM job WHERE alert_after_ms IS NOT NULL AND "
                               "active = 1");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct job_alert a = {(const char *)sqlite3_column_text(st, 0),
                              sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                              col_time(st, 3), NO_TIME};
        fn(arg, &a);
    }
    return rc == SQLITE_DONE ? 0 : fail(s, "jobs_alerting");
}

int64_t store_job_last_success(struct store *s, const char *id)
{
    /* runs given their window's end (backfills) do not count: they redo the past; the last to
     * end of the newest few successes, as runs of a job can end in another order than begun.
     * The walk of run_job passes every run since the newest success. */
    sqlite3_stmt *st = stmt(s, "SELECT max(f) FROM (SELECT finished_at AS f FROM run WHERE "
                               "job_id = ?1 AND status = 'S' AND window_end IS NULL ORDER BY "
                               "rid DESC LIMIT 16)");
    bind_text(st, 1, id);
    int64_t at = sqlite3_step(st) == SQLITE_ROW ? col_time(st, 0) : NO_TIME;
    sqlite3_reset(st);
    return at;
}

int store_job_set_overdue(struct store *s, const char *id, int64_t expected, int64_t at)
{
    sqlite3_stmt *st = stmt(s, "UPDATE job SET overdue_at = ?2 WHERE id = ?1 AND overdue_at IS ?3");
    bind_text(st, 1, id);
    bind_time(st, 2, at);
    bind_time(st, 3, expected);
    s->job_gen++;
    if (write_step(s, st) != SQLITE_DONE) return fail(s, "job_set_overdue");
    return sqlite3_changes(s->db) ? 0 : -ESTALE;
}

int store_job_facts(struct store *s, void (*fn)(void *arg, const struct job_fact *f), void *arg)
{
    /* a job's newest SUCCESS run is found walking its runs newest first (run_job); one given
     * its window's end (a backfill's) redoes the past and does not count */
    sqlite3_stmt *st = stmt(s, "SELECT j.id, j.title, j.task, CASE WHEN j.active = 1 AND "
                               "j.schedule IS NOT NULL THEN j.next_run END, (SELECT max(f) FROM "
                               "(SELECT r.finished_at AS f FROM run r WHERE r.job_id = j.id AND "
                               "r.status = 'S' AND r.window_end IS NULL ORDER BY r.rid DESC "
                               "LIMIT 16)) FROM job j ORDER BY j.id");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct job_fact f = {(const char *)sqlite3_column_text(st, 0),
                             (const char *)sqlite3_column_text(st, 1),
                             (const char *)sqlite3_column_text(st, 2), col_time(st, 3),
                             col_time(st, 4)};
        fn(arg, &f);
    }
    return rc == SQLITE_DONE ? 0 : fail(s, "job_facts");
}

int store_job_advance(struct store *s, const char *id, int64_t expected, int64_t next,
                      int64_t skipped)
{
    sqlite3_stmt *st = stmt(s, "UPDATE job SET next_run = ?2, skipped_fires = skipped_fires + ?4 "
                               "WHERE id = ?1 AND next_run IS ?3");
    bind_text(st, 1, id);
    bind_time(st, 2, next);
    bind_time(st, 3, expected);
    sqlite3_bind_int64(st, 4, skipped);
    s->job_gen++;
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "job_advance");
    return sqlite3_changes(s->db) ? 0 : -ESTALE;
}

/* ---- the notification outbox ---- */

int store_outbox_add(struct store *s, struct outbox_row *r)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO notify_outbox (created, channel, target, hook, "
                               "event, ref_id, job_id, subject, body, attempts) VALUES (?1, ?2, "
                               "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    sqlite3_bind_int64(st, 1, r->created);
    bind_ref(st, 2, r->channel);
    bind_ref(st, 3, r->target);
    if (r->hook > 0)
        sqlite3_bind_int(st, 4, r->hook);
    else
        sqlite3_bind_null(st, 4);
    bind_ref(st, 5, r->event);
    bind_ref(st, 6, r->ref_id);
    bind_ref(st, 7, r->job_id);
    bind_ref(st, 8, r->subject);
    bind_ref(st, 9, r->body);
    sqlite3_bind_int(st, 10, r->attempts);
    int rc = write_step(s, st);
    sqlite3_reset(st); /* the texts were bound without a copy */
    if (rc != SQLITE_DONE) return fail(s, "outbox_add");
    r->id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_outbox_list(struct store *s, int64_t after, int limit,
                      void (*fn)(void *arg, const struct outbox_row *r), void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT id, created, channel, target, hook, event, ref_id, "
                               "job_id, subject, body, attempts FROM notify_outbox WHERE id > ?1 "
                               "ORDER BY id LIMIT ?2");
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct outbox_row r = {sqlite3_column_int64(st, 0),
                               sqlite3_column_int64(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               (const char *)sqlite3_column_text(st, 3),
                               sqlite3_column_int(st, 4),
                               (const char *)sqlite3_column_text(st, 5),
                               (const char *)sqlite3_column_text(st, 6),
                               (const char *)sqlite3_column_text(st, 7),
                               (const char *)sqlite3_column_text(st, 8),
                               (const char *)sqlite3_column_text(st, 9),
                               sqlite3_column_int(st, 10)};
        fn(arg, &r);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, "outbox_list");
}

int store_outbox_attempted(struct store *s, int64_t id, const char *ref_id, int attempts)
{
    sqlite3_stmt *st = stmt(s, "UPDATE notify_outbox SET attempts = ?3 WHERE id = ?1 AND "
                               "ref_id = ?2");
    sqlite3_bind_int64(st, 1, id);
    bind_ref(st, 2, ref_id);
    sqlite3_bind_int(st, 3, attempts);
    int rc = write_step(s, st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(s, "outbox_attempted");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_outbox_delete(struct store *s, int64_t id, const char *ref_id)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM notify_outbox WHERE id = ?1 AND ref_id = ?2");
    sqlite3_bind_int64(st, 1, id);
    bind_ref(st, 2, ref_id);
    int rc = write_step(s, st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(s, "outbox_delete");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int64_t store_outbox_count(struct store *s)
{
    sqlite3_stmt *st = stmt(s, "SELECT count(*) FROM notify_outbox");
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (n < 0) return fail(s, "outbox_count");
    return n;
}

/* ---- logs ---- */

int store_log_append(struct store *s, int64_t rid, const struct log_line *lines, size_t n)
{
    sqlite3_stmt *st = stmt(s, "INSERT OR IGNORE INTO run_log (rid, seq, ts, level, stream, "
                               "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (size_t i = 0; i < n; i++) {
        if (i) {
            sqlite3_reset(st);
        }
        sqlite3_bind_int64(st, 1, rid);
        sqlite3_bind_int64(st, 2, lines[i].seq);
        sqlite3_bind_int64(st, 3, lines[i].ts);
        sqlite3_bind_int(st, 4, lines[i].level);
        sqlite3_bind_int(st, 5, lines[i].stream);
        sqlite3_bind_text(st, 6, lines[i].message, -1, SQLITE_STATIC);
        if (write_step(s, st) != SQLITE_DONE) return fail(s, "log_append");
    }
    return 0;
}

int store_log_list(struct store *s, int64_t rid, int64_t after, int64_t upto, int min_level,
                   size_t limit, size_t max_bytes, struct log_line **out, size_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT seq, ts, level, stream, message FROM run_log WHERE "
                               "rid = ?1 AND seq > ?2 AND seq <= ?5 AND level >= ?3 "
                               "ORDER BY seq LIMIT ?4");
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, min_level);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 5, upto);
    *out = NULL;
    *n = 0;
    size_t cap = 0, bytes = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        struct log_line *l = &(*out)[(*n)++];
        l->seq = sqlite3_column_int64(st, 0);
        l->ts = sqlite3_column_int64(st, 1);
        l->level = sqlite3_column_int(st, 2);
        l->stream = sqlite3_column_int(st, 3);
        l->message = col_text(st, 4);
        if (!l->message) l->message = xstrdup("");
        bytes += strlen(l->message);
        if (max_bytes && bytes >= max_bytes) {
            sqlite3_reset(st); /* its read ends here, not at the statement's next use */
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        store_log_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "log_list");
    }
    return 0;
}

int64_t store_log_count(struct store *s, int64_t rid, int min_level)
{
    sqlite3_stmt *st;
    if (min_level <= 0) {
        st = stmt(s, "SELECT count(*) FROM run_log WHERE rid = ?1");
    } else {
        st = stmt(s, "SELECT count(*) FROM run_log WHERE rid = ?1 AND level >= ?2");
        sqlite3_bind_int(st, 2, min_level);
    }
    sqlite3_bind_int64(st, 1, rid);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

int64_t store_log_last_seq(struct store *s, int64_t rid)
{
    sqlite3_stmt *st = stmt(s, "SELECT max(seq) FROM run_log WHERE rid = ?1");
    sqlite3_bind_int64(st, 1, rid);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

void store_log_free(struct log_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) free(lines[i].message);
    free(lines);
}

/* ---- people ---- */

#define ACCOUNT_COLS "id, username, display_name, role, password_hash, disabled, created, updated"

static void read_account(sqlite3_stmt *st, struct account *a)
{
    memset(a, 0, sizeof *a);
    copy_uuid(a->id, st, 0);
    a->username = col_text(st, 1);
    a->display_name = col_text(st, 2);
    const unsigned char *r = sqlite3_column_text(st, 3);
    int role = role_parse((const char *)r);
    a->role = role < 0 ? ROLE_VIEWER : role;
    a->password_hash = col_text(st, 4);
    a->disabled = sqlite3_column_int(st, 5) != 0;
    a->created = sqlite3_column_int64(st, 6);
    a->updated = sqlite3_column_int64(st, 7);
}

static int one_account(struct store *s, sqlite3_stmt *st, struct account *out, const char *op)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_account(st, out);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, op);
}

int store_account_insert(struct store *s, const struct account *a)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO account (" ACCOUNT_COLS ") VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    bind_text(st, 1, a->id);
    bind_text(st, 2, a->username);
    bind_text(st, 3, a->display_name);
    bind_text(st, 4, role_name(a->role));
    bind_text(st, 5, a->password_hash);
    sqlite3_bind_int(st, 6, a->disabled);
    sqlite3_bind_int64(st, 7, a->created);
    sqlite3_bind_int64(st, 8, a->updated);
    int rc = sqlite3_step(st);
    if (duplicate(s, rc)) return -EEXIST;
    return rc == SQLITE_DONE ? 0 : fail(s, "account_insert");
}

int store_account_update(struct store *s, const struct account *a)
{
    sqlite3_stmt *st = stmt(s, "UPDATE account SET display_name = ?2, role = ?3, "
                               "password_hash = ?4, disabled = ?5, updated = ?6 WHERE id = ?1");
    bind_text(st, 1, a->id);
    bind_text(st, 2, a->display_name);
    bind_text(st, 3, role_name(a->role));
    bind_text(st, 4, a->password_hash);
    sqlite3_bind_int(st, 5, a->disabled);
    sqlite3_bind_int64(st, 6, a->updated);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "account_update");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_account_get(struct store *s, const char *id, struct account *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " ACCOUNT_COLS " FROM account WHERE id = ?1");
    bind_text(st, 1, id);
    return one_account(s, st, out, "account_get");
}

int store_account_by_name(struct store *s, const char *username, struct account *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " ACCOUNT_COLS " FROM account WHERE username = ?1");
    bind_text(st, 1, username);
    return one_account(s, st, out, "account_by_name");
}

int store_account_delete(struct store *s, const char *id)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM account WHERE id = ?1");
    bind_text(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "account_delete");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_account_list(struct store *s, struct account **out, size_t *n)
{
    sqlite3_stmt *st =
        stmt(s, "SELECT " ACCOUNT_COLS " FROM account ORDER BY username COLLATE NOCASE");
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) *out = xrealloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
        read_account(st, &(*out)[(*n)++]);
    }
    if (rc != SQLITE_DONE) {
        store_accounts_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "account_list");
    }
    return 0;
}

void store_accounts_free(struct account *a, size_t n)
{
    for (size_t i = 0; i < n; i++) account_release(&a[i]);
    free(a);
}

int64_t store_account_count(struct store *s, int role, bool enabled_only)
{
    sqlite3_stmt *st = stmt(s, "SELECT count(*) FROM account WHERE (?1 IS NULL OR role = ?1) "
                               "AND (?2 = 0 OR disabled = 0)");
    bind_text(st, 1, role >= 0 ? role_name(role) : NULL);
    sqlite3_bind_int(st, 2, enabled_only);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

#define TOKEN_COLS                                                                             \
    "t.id, t.account_id, a.username, t.name, t.prefix, t.created, t.expires_at, t.last_used, " \
    "t.revoked_at, a.disabled"

static void read_token(sqlite3_stmt *st, struct token *t)
{
    memset(t, 0, sizeof *t);
    copy_uuid(t->id, st, 0);
    copy_uuid(t->account_id, st, 1);
    t->account_name = col_text(st, 2);
    t->name = col_text(st, 3);
    t->prefix = col_text(st, 4);
    t->created = col_time(st, 5);
    t->expires_at = col_time(st, 6);
    t->last_used = col_time(st, 7);
    t->revoked_at = col_time(st, 8);
    t->account_disabled = sqlite3_column_int(st, 9) != 0;
}

int store_token_insert(struct store *s, const struct token *t, const char *hash)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO token (id, account_id, name, hash, prefix, created, "
                               "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->account_id);
    bind_text(st, 3, t->name);
    bind_text(st, 4, hash);
    bind_text(st, 5, t->prefix);
    sqlite3_bind_int64(st, 6, t->created);
    bind_time(st, 7, t->expires_at);
    int rc = sqlite3_step(st);
    if (duplicate(s, rc)) return -EEXIST;
    return rc == SQLITE_DONE ? 0 : fail(s, "token_insert");
}

static int one_token(struct store *s, sqlite3_stmt *st, struct token *out, const char *op)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_token(st, out);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, op);
}

int store_token_by_hash(struct store *s, const char *hash, int64_t now, struct token *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " TOKEN_COLS " FROM token t JOIN account a ON "
                               "a.id = t.account_id WHERE t.hash = ?1 AND t.revoked_at IS NULL "
                               "AND (t.expires_at IS NULL OR t.expires_at > ?2)");
    bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    return one_token(s, st, out, "token_by_hash");
}

int store_token_get(struct store *s, const char *id, struct token *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT " TOKEN_COLS " FROM token t JOIN account a ON "
                               "a.id = t.account_id WHERE t.id = ?1");
    bind_text(st, 1, id);
    return one_token(s, st, out, "token_get");
}

int store_token_list(struct store *s, const char *account_id, struct token **out, size_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT " TOKEN_COLS " FROM token t JOIN account a ON "
                               "a.id = t.account_id WHERE ?1 IS NULL OR t.account_id = ?1 "
                               "ORDER BY t.created DESC, t.id");
    bind_text(st, 1, account_id);
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) *out = xrealloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
        read_token(st, &(*out)[(*n)++]);
    }
    if (rc != SQLITE_DONE) {
        store_tokens_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "token_list");
    }
    return 0;
}

/* The condition a token works on at ?3 (token_live): neither revoked nor expired, and its
 * account enabled. */
#define TOKEN_WORKS                                                                            \
    "(t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?3) AND a.disabled = 0)"
#define TOKEN_PAGE_WHERE                                                                       \
    " FROM token t JOIN account a ON a.id = t.account_id WHERE (?1 IS NULL OR "               \
    "t.account_id = ?1) AND (?2 < 0 OR " TOKEN_WORKS " = ?2)"

int store_token_page(struct store *s, const struct token_query *q, struct token **out, size_t *n,
                     int64_t *total)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    sqlite3_stmt *st = stmt(s, "SELECT count(*)" TOKEN_PAGE_WHERE);
#define BIND_TOKENS                                                                            \
    bind_text(st, 1, q->account_id);                                                           \
    sqlite3_bind_int(st, 2, q->active);                                                        \
    sqlite3_bind_int64(st, 3, q->now);
    BIND_TOKENS
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) return fail(s, "token_page");
    *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    /* newest first as store_token_list; oldest first the same order reversed */
    st = stmt(s, q->asc ? "SELECT " TOKEN_COLS TOKEN_PAGE_WHERE
                          " ORDER BY t.created ASC, t.id DESC LIMIT ?4 OFFSET ?5"
                        : "SELECT " TOKEN_COLS TOKEN_PAGE_WHERE
                          " ORDER BY t.created DESC, t.id LIMIT ?4 OFFSET ?5");
    BIND_TOKENS
#undef BIND_TOKENS
    sqlite3_bind_int64(st, 4, q->limit);
    sqlite3_bind_int64(st, 5, q->offset);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) *out = xrealloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
        read_token(st, &(*out)[(*n)++]);
    }
    if (rc != SQLITE_DONE) {
        store_tokens_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "token_page");
    }
    return 0;
}

int store_token_count_unspent(struct store *s, const char *account_id, int64_t now,
                              int64_t *count)
{
    sqlite3_stmt *st = stmt(s, "SELECT count(*) FROM token WHERE account_id = ?1 AND "
                               "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)");
    bind_text(st, 1, account_id);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_ROW) return fail(s, "token_count");
    *count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

void store_tokens_free(struct token *t, size_t n)
{
    for (size_t i = 0; i < n; i++) token_release(&t[i]);
    free(t);
}

int store_token_revoke(struct store *s, const char *id, int64_t now)
{
    sqlite3_stmt *st =
        stmt(s, "UPDATE token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL");
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "token_revoke");
    if (sqlite3_changes(s->db)) return 0;
    struct token t;
    int rc = store_token_get(s, id, &t);
    if (rc == 0) token_release(&t);
    return rc == 0 ? -EALREADY : rc;
}

int store_token_touch(struct store *s, const char *id, int64_t now)
{
    sqlite3_stmt *st = stmt(s, "UPDATE token SET last_used = ?2 WHERE id = ?1");
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "token_touch");
}

int store_session_insert(struct store *s, const char *hash, const char *account_id,
                         const char *csrf, int64_t created, int64_t expires_at,
                         const char *address)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO session (hash, account_id, csrf, created, "
                               "expires_at, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    bind_text(st, 1, hash);
    bind_text(st, 2, account_id);
    bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, created);
    sqlite3_bind_int64(st, 5, expires_at);
    bind_text(st, 6, address);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "session_insert");
    /* expired sessions go as new ones come */
    st = stmt(s, "DELETE FROM session WHERE expires_at <= ?1");
    sqlite3_bind_int64(st, 1, created);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "session_purge");
}

int store_session_get(struct store *s, const char *hash, int64_t now, char *account_id,
                      char **csrf)
{
    sqlite3_stmt *st = stmt(s, "SELECT account_id, csrf FROM session WHERE hash = ?1 AND "
                               "expires_at > ?2");
    bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_uuid(account_id, st, 0);
        *csrf = col_text(st, 1);
        sqlite3_reset(st);
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : fail(s, "session_get");
}

int store_session_delete(struct store *s, const char *hash)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM session WHERE hash = ?1");
    bind_text(st, 1, hash);
    if (sqlite3_step(st) != SQLITE_DONE) return fail(s, "session_delete");
    return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_session_delete_account(struct store *s, const char *account_id, const char *keep)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM session WHERE account_id = ?1 AND hash IS NOT ?2");
    bind_text(st, 1, account_id);
    bind_text(st, 2, keep);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "session_delete_account");
}

#define AUDIT_COLS                                                                             \
    "id, ts, actor_kind, actor_id, actor_name, token_id, action, job_id, run_id, target, "     \
    "details, address, (SELECT title FROM job WHERE job.id = audit.job_id)"

int store_audit_append(struct store *s, const struct audit_entry *e)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO audit (ts, actor_kind, actor_id, actor_name, "
                               "token_id, action, job_id, run_id, target, details, address) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    sqlite3_bind_int64(st, 1, e->ts);
    bind_ref(st, 2, e->actor_kind);
    bind_ref(st, 3, e->actor_id);
    bind_ref(st, 4, e->actor_name);
    bind_ref(st, 5, e->token_id);
    bind_ref(st, 6, e->action);
    bind_ref(st, 7, e->job_id);
    bind_ref(st, 8, e->run_id);
    bind_ref(st, 9, e->target);
    if (e->details_text)
        bind_ref(st, 10, e->details_text);
    else
        bind_json(st, 10, e->details);
    bind_ref(st, 11, e->address);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : fail(s, "audit_append");
}

int store_audit_list(struct store *s, const struct audit_query *q, struct audit_entry **out,
                     size_t *n, int64_t *total, bool *cut)
{
    if (cut) *cut = false;
    struct buf where = BUF_INIT;
    buf_puts(&where, " WHERE 1");
    if (q->job_id) buf_puts(&where, " AND job_id = ?1");
    /* a failed sign-in has no actor: the username it tried is in its details */
    if (q->actor)
        buf_puts(&where, " AND (actor_name = ?2 COLLATE NOCASE OR (actor_name IS NULL AND "
                         "action = 'login.failed' AND "
                         "json_extract(details, '$.username') = ?2 COLLATE NOCASE))");
    size_t alen = q->action ? strlen(q->action) : 0;
    bool prefix = alen && q->action[alen - 1] == '.';
    /* run.started is not in the index by action (0009_audit_action.sql): a filter that takes
     * it reads the trail newest first, where nearly every entry is one; any other names the
     * index's condition, for SQLite to use the index. A prefix ending with '.' is the range of
     * actions from it up to it with the '.' made a '/', the next character. */
    bool started = q->action && (prefix ? strncmp("run.started", q->action, alen) == 0
                                        : strcmp(q->action, "run.started") == 0);
    char *upto = prefix ? xstrdup(q->action) : NULL;
    if (upto) upto[alen - 1] = '/';
    const char *act = !q->action ? ""
                      : prefix   ? started ? " AND action >= ?3 AND action < ?7"
                                           : " AND action >= ?3 AND action < ?7"
                                             " AND action <> 'run.started'"
                      : started  ? " AND action = ?3"
                                 : " AND action = ?3 AND action <> 'run.started'";
    if (q->since != NO_TIME) buf_puts(&where, " AND ts >= ?4");
    /* the trail is append-only (triggers refuse UPDATE and DELETE) and its ids are rowids, so
     * without a filter the count is the span of ids: not a walk of a million entries. Each of
     * max() and min() in a query of its own: SQLite reads a lone min() or max() from the end
     * of the rowid B-tree, but both in one query scan the table */
    bool alone = !q->job_id && !q->actor && q->since == NO_TIME;
    static const char span[] =
        "coalesce((SELECT max(id) FROM audit) - (SELECT min(id) FROM audit) + 1, 0)";
    char *sql = alone && !q->action ? xasprintf("SELECT %s", span)
                : alone && started
                    /* run.started's entries are all but the others, which the index counts;
                     * then the others the filter takes, through the index too */
                    ? xasprintf("SELECT %s - (SELECT count(*) FROM audit WHERE action <> "
                                "'run.started') + (SELECT count(*) FROM audit%s%s AND action <> "
                                "'run.started')",
                                span, buf_cstr(&where), act)
                    : xasprintf("SELECT count(*) FROM audit%s%s", buf_cstr(&where), act);
    sqlite3_stmt *st = stmt(s, sql);
    free(sql);
#define BIND_AUDIT                                                                             \
    if (q->job_id) bind_text(st, 1, q->job_id);                                                 \
    if (q->actor) bind_text(st, 2, q->actor);                                                   \
    if (q->action) bind_text(st, 3, q->action);                                                 \
    if (upto) bind_text(st, 7, upto);                                                           \
    if (q->since != NO_TIME) sqlite3_bind_int64(st, 4, q->since);
    BIND_AUDIT
    *total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    /* the index gives a range of actions in the order of their names: past a few thousand
     * entries, reading the trail in order beats sorting them ('+' keeps SQLite off the index) */
    if (prefix && *total > 5000) act = " AND +action >= ?3 AND +action < ?7";
    sql = xasprintf("SELECT " AUDIT_COLS " FROM audit%s%s ORDER BY id %s LIMIT ?5 OFFSET ?6",
                    buf_cstr(&where), act, q->asc ? "ASC" : "DESC");
    st = stmt(s, sql);
    free(sql);
    buf_free(&where);
    BIND_AUDIT
#undef BIND_AUDIT
    free(upto);
    sqlite3_bind_int64(st, 5, q->limit);
    sqlite3_bind_int64(st, 6, q->offset);
    size_t cap = 0, used = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* what grows: the details (a run's arguments), the target and the job's title */
        size_t b = (size_t)sqlite3_column_bytes(st, 10) + (size_t)sqlite3_column_bytes(st, 9) +
                   (size_t)sqlite3_column_bytes(st, 12);
        if (row_over(st, b, *n, q->max_bytes, &used, cut)) {
            rc = SQLITE_DONE;
            break;
        }
        if (*n == cap) *out = xrealloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
        struct audit_entry *e = &(*out)[(*n)++];
        memset(e, 0, sizeof *e);
        e->id = sqlite3_column_int64(st, 0);
        e->ts = sqlite3_column_int64(st, 1);
        e->actor_kind = col_text(st, 2);
        e->actor_id = col_text(st, 3);
        e->actor_name = col_text(st, 4);
        e->token_id = col_text(st, 5);
        e->action = col_text(st, 6);
        e->job_id = col_text(st, 7);
        e->run_id = col_text(st, 8);
        e->target = col_text(st, 9);
        e->details = col_json(st, 10);
        e->address = col_text(st, 11);
        e->job_title = col_text(st, 12);
    }
    if (rc != SQLITE_DONE) {
        store_audit_free(*out, *n);
        *out = NULL;
        *n = 0;
        return fail(s, "audit_list");
    }
    return 0;
}

void store_audit_free(struct audit_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) audit_entry_release(&e[i]);
    free(e);
}

/* ---- retention ---- */

/* the runs of the window (?1, ?2] past their job's retention, or the default (?4 ms), except
 * each job's newest SUCCESS run and its newest not given a window's end (a backfill's run is
 * not the job's progress): its start is the default `since` of the job's next run, which
 * would otherwise start over from nothing after a pause longer than the retention (a quarterly
 * job under the default 90 days). A SUCCESS run is looked up only for a newer one of its job,
 * through run_job, most often its next run. */
#define PRUNABLE                                                                               \
    "SELECT r.rid FROM run r JOIN job j ON j.id = r.job_id WHERE r.rid > ?1 AND r.rid <= ?2 "  \
    "AND r.finished_at < ?3 - coalesce(j.retention_ms, ?4) * 1000 AND (r.status <> 'S' OR "    \
    "EXISTS (SELECT 1 FROM run n WHERE n.job_id = r.job_id AND n.rid > r.rid AND "            \
    "n.status = 'S' AND (n.window_end IS NULL OR r.window_end IS NOT NULL)))"

static void bind_window(sqlite3_stmt *st, int64_t from, int64_t end, int64_t now, int64_t ms)
{
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, end);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, ms);
}

int store_prune_window(struct store *s, int64_t now, int64_t default_ms, int64_t window,
                       int64_t *cursor, int64_t *deleted)
{
    *deleted = 0;
    /* the window's last run: `window` runs on in the rid B-tree, or the table's end */
    sqlite3_stmt *st = stmt(s, "SELECT rid FROM run WHERE rid > ?1 ORDER BY rid LIMIT 1 OFFSET ?2");
    sqlite3_bind_int64(st, 1, *cursor);
    sqlite3_bind_int64(st, 2, window - 1);
    int rc = sqlite3_step(st);
    int64_t end = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(s, "prune");
    /* looked for without the write lock first: most windows of a walk (the runs still young)
     * hold nothing to delete, and the server's commits should not wait for them */
    st = stmt(s, "SELECT EXISTS (" PRUNABLE ")");
    bind_window(st, *cursor, end, now, default_ms);
    rc = sqlite3_step(st);
    bool any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) return fail(s, "prune");
    if (any) {
        if (store_begin(s) != 0) return -EIO;
        /* the logs first, a piece at a time: deleted with their runs, a run of a million lines
         * held the server's writes back for a second; a window whose runs have more lines than
         * a piece commits that piece alone and is asked for again */
        st = stmt(s, "DELETE FROM run_log WHERE (rid, seq) IN (SELECT l.rid, l.seq FROM run_log l "
                     "WHERE l.rid IN (" PRUNABLE ") LIMIT ?5)");
        bind_window(st, *cursor, end, now, default_ms);
        sqlite3_bind_int(st, 5, STORE_PRUNE_LOG_PIECE);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fail(s, "prune");
            store_rollback(s);
            return -EIO;
        }
        if (sqlite3_changes(s->db) == STORE_PRUNE_LOG_PIECE)
            return store_commit(s) == 0 ? 2 : -EIO;
        st = stmt(s, "DELETE FROM run WHERE rid IN (" PRUNABLE ")");
        bind_window(st, *cursor, end, now, default_ms);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fail(s, "prune");
            store_rollback(s);
            return -EIO;
        }
        *deleted = sqlite3_changes(s->db);
        if (store_commit(s) != 0) {
            *deleted = 0;
            return -EIO;
        }
    }
    *cursor = end;
    return end == INT64_MAX ? 0 : 1;
}
#undef PRUNABLE

/* ---- whole stores ---- */

/* What to do about a path that names no store of sked's, in the words of the user and token
 * commands (src/cli/user.c), and about a file that is no backup. */
#define STORE_TODO "pass --db with the path sked serve uses"
#define BACKUP_TODO "give a file that sked backup wrote"
#define USER_TODO "run this as the user sked serve runs as"

/* Why what (the store, the backup) at path cannot be opened for reading: it is missing, or this
 * user may not read it, or else what SQLite said (db's message). */
static int cannot_open(struct sk_err *e, const char *field, const char *what, const char *path,
                       sqlite3 *db, const char *todo)
{
    if (access(path, R_OK) == 0)
        return sk_err_set(e, -EIO, field, "cannot open the %s %s (%s); %s", what, path,
                          db ? sqlite3_errmsg(db) : "out of memory", todo);
    int err = errno;
    if (err == ENOENT)
        return sk_err_set(e, -ENOENT, field, "no %s at %s (%s); %s", what, path, strerror(err),
                          todo);
    return sk_err_set(e, -err, field, "cannot open the %s %s (%s); %s", what, path, strerror(err),
                      err == EACCES || err == EPERM ? USER_TODO : todo);
}

/* Why a new file (what: "" or "the store ") at path cannot be made (err: an errno), naming its
 * folder when that does not exist, or may not be written by this user or by anyone. */
static int cannot_create(struct sk_err *e, const char *field, const char *what, const char *path,
                         int err, const char *todo)
{
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? path : ".";
    int len = !slash ? 1 : slash == path ? 1 : (int)(slash - path);
    if (err == ENOENT && slash)
        return sk_err_set(e, -ENOENT, field,
                          "cannot create %s%s: its folder %.*s does not exist; create it first, "
                          "or %s",
                          what, path, len, dir, todo);
    if (err == EACCES || err == EPERM)
        return sk_err_set(e, -err, field,
                          "cannot create %s%s: its folder %.*s is not writable by this user "
                          "(uid %d); %s",
                          what, path, len, dir, (int)geteuid(), todo);
    if (err == EROFS)
        return sk_err_set(e, -EROFS, field,
                          "cannot create %s%s: its folder %.*s is on a read-only file system; %s",
                          what, path, len, dir, todo);
    return sk_err_set(e, -err, field, "cannot create %s%s (%s); %s", what, path, strerror(err),
                      todo);
}

/* The refusal of a --db that names no regular file (see store.h). */
int store_not_a_file(struct sk_err *e, const char *path)
{
    struct stat st;
    if (strcmp(path, ":memory:") == 0 || stat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0;
    if (!S_ISDIR(st.st_mode))
        return sk_err_set(e, -EINVAL, "db",
                          "%s is not a regular file (a device or a FIFO): pass --db with the "
                          "path of the store's file, the path sked serve uses",
                          path);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    return sk_err_set(e, -EISDIR, "db",
                      "%s is a folder, not a store: pass --db with the path of the store's file "
                      "(such as %.*s/sked.db), the path sked serve uses",
                      path, (int)len, path);
}

/* The SQLite code of what db failed to read: SQLITE_NOTADB, SQLITE_CORRUPT, or another one when
 * the file cannot be read (access, I/O, memory); SQLITE_CORRUPT when SQLite names none. */
static int read_failure(sqlite3 *db)
{
    int c = sqlite3_errcode(db);
    return c == SQLITE_OK || c == SQLITE_ROW || c == SQLITE_DONE ? SQLITE_CORRUPT : c;
}

/* Checks the store db (quick_check) and counts what it holds. Returns 0; SQLITE_NOTADB for a
 * file that is no store of sked's (no SQLite database, or one without sked's tables: another
 * program's, an empty file); SQLITE_CORRUPT when it is damaged; another SQLite code when it
 * cannot be read (a file or a folder this user may not use, a disk error); with why (n bytes)
 * saying how. */
static int check_store(sqlite3 *db, struct store_copy_info *info, char *why, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, n, "%s", sqlite3_errmsg(db));
        return read_failure(db);
    }
    const unsigned char *res = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    int rc = res && strcmp((const char *)res, "ok") == 0 ? SQLITE_OK
             : res                                       ? SQLITE_CORRUPT
                                                         : read_failure(db);
    snprintf(why, n, "%s", res ? (const char *)res : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (rc) return rc;
    const char *q[] = {"SELECT count(*) FROM job", "SELECT count(*) FROM run",
                       "PRAGMA page_count", "PRAGMA page_size"};
    int64_t *dst[] = {&info->jobs, &info->runs, &info->pages, &info->page_size};
    for (int i = 0; i < 4; i++) {
        *dst[i] = 0;
        if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK) {
            if (i > 1) continue;
            snprintf(why, n, "it has none of sked's tables");
            return SQLITE_NOTADB;
        }
        if (sqlite3_step(st) == SQLITE_ROW) *dst[i] = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return 0;
}

/* Copies all of src into dst (both open) in one step: a single consistent snapshot. Returns 0
 * or an SQLite code (SQLITE_NOTADB: src is no database). */
static int copy_db(sqlite3 *src, sqlite3 *dst)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) return sqlite3_errcode(dst);
    int rc;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
        sqlite3_sleep(50);
    sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Removes the database file path and what SQLite may have left beside it (a hot journal after
 * a copy that failed halfway, which would turn the file into an empty store when opened). */
static void remove_db_files(const char *path)
{
    static const char *const ends[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        char *f = xasprintf("%s%s", path, ends[i]);
        unlink(f);
        free(f);
    }
}

/* Whether code (SQLite's, extended; sys: the errno of the copy's last system call) is a
 * failure to write a copy: its disk is full, or refused a write. Of the two files only the copy
 * is written (a failure with the store's -shm file has codes of its own). */
static bool write_failed(int code, int sys)
{
    return disk_full(code, sys) || code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC ||
           code == SQLITE_IOERR_TRUNCATE;
}

/* The refusal of a backup whose copy at to could not be written (code: SQLite's; sys: the
 * errno of the copy's last system call): a full disk is to's own, and stays full if the backup
 * is tried again there. */
static int cannot_write_copy(struct sk_err *e, const char *to, int code, int sys)
{
    if (disk_full(code, sys))
        return sk_err_set(e, -ENOSPC, "FILE",
                          "cannot write the copy %s: its disk is full (%s); the partial copy is "
                          "deleted: free space on that disk, or give a FILE on another one",
                          to, (code & 0xff) == SQLITE_FULL ? sqlite3_errstr(code) : strerror(sys));
    return sk_err_set(e, -EIO, "FILE",
                      "cannot write the copy %s (%s); the partial copy is deleted: check that "
                      "disk, or give a FILE on another one",
                      to, sqlite3_errstr(code));
}

/* Turns the copy db out of WAL mode, which the copy took from the store: a file in rollback
 * journal mode is whole by itself, and reading it writes nothing beside it. 0 or SQLite's
 * (extended) code. */
static int to_rollback_journal(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st, NULL) != SQLITE_OK)
        return sqlite3_extended_errcode(db);
    int rc = sqlite3_step(st) == SQLITE_ROW &&
                     strcmp((const char *)sqlite3_column_text(st, 0), "delete") == 0
                 ? 0
                 : sqlite3_extended_errcode(db);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_ERROR : rc;
}

/* The refusal of a backup that cannot open the store at from for reading (code: SQLite's).
 * Reading a store in WAL mode needs its -shm file, made beside it when missing: this user may
 * not make or write it, or, on a read-only file system, nobody can, when a WAL file that holds
 * commits keeps the store from being read as it lies (see backup_uri). Trying again changes
 * none of that. */
static int cannot_read_store(struct sk_err *e, const char *from, int code)
{
    char *shm = xasprintf("%s-shm", from);
    const char *slash = strrchr(from, '/');
    int len = !slash ? 1 : slash == from ? 1 : (int)(slash - from);
    int rc;
    if (read_only_fs(from))
        rc = sk_err_set(e, -EROFS, "db",
                        "cannot copy the store %s (%s): its WAL file %s-wal holds commits, and "
                        "reading them needs a -shm file, which cannot be made on its read-only "
                        "file system; copy the store and its -wal file to a writable folder, and "
                        "back up that copy",
                        from, sqlite3_errstr(code), from);
    else if (access(shm, F_OK) != 0)
        rc = sk_err_set(e, -EACCES, "db",
                        "cannot copy the store %s (%s): reading it needs its -shm file, which "
                        "this user (uid %d) may not make in its folder %.*s; " USER_TODO,
                        from, sqlite3_errstr(code), (int)geteuid(), len, slash ? from : ".");
    else
        rc = sk_err_set(e, -EACCES, "db",
                        "cannot copy the store %s (%s): reading it needs its -shm file %s, which "
                        "this user (uid %d) may not use; " USER_TODO,
                        from, sqlite3_errstr(code), shm, (int)geteuid());
    free(shm);
    return rc;
}

/* Whether the backup that w watches (NULL: none does) was asked to stop. */
static bool copy_stopped(const struct store_copy_watch *w)
{
    return w && w->stop && *w->stop;
}

/* SQLite's progress handler on the copy while it is checked: non-zero interrupts the check
 * (SQLITE_INTERRUPT) once the backup was asked to stop. */
static int on_check_progress(void *arg)
{
    return copy_stopped(arg);
}

/* Copies all of src into dst (both open) a few MiB at a time, reporting to w: one consistent
 * snapshot all the same, as the read transaction held on src keeps the moment it began (a
 * write by sked between two steps would otherwise start the copy over). Returns 0, an SQLite
 * code (SQLITE_NOTADB: src is no database), or SQLITE_INTERRUPT when w asked to stop. */
static int copy_db_watched(sqlite3 *src, sqlite3 *dst, const struct store_copy_watch *w)
{
    int rc = sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sqlite3_errcode(src);
    int64_t page_size = 4096;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) page_size = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        rc = sqlite3_errcode(dst);
        sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    for (;;) {
        if (copy_stopped(w)) {
            rc = SQLITE_INTERRUPT;
            break;
        }
        rc = sqlite3_backup_step(b, 1024);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(50);
            continue;
        }
        if (rc != SQLITE_OK && rc != SQLITE_DONE) break;
        int64_t total = sqlite3_backup_pagecount(b);
        if (w && w->progress)
            w->progress(w->arg, (total - sqlite3_backup_remaining(b)) * page_size,
                        total * page_size);
        if (rc == SQLITE_DONE) break;
    }
    sqlite3_backup_finish(b);
    sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Creates the partial copy at path (its owner's alone) and holds an flock on it while the
 * backup writes it, so that another backup to the same FILE tells one under way (-EBUSY) from
 * the leftover of one that was killed, which it deletes and replaces. The descriptor is kept
 * until SQLite has closed the file (closing it earlier would drop SQLite's fcntl locks).
 * Returns it, or -errno. */
static int claim_partial(const char *path)
{
    for (int tries = 0; tries < 2; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) { /* locked at once: a second backup may only take it for a leftover
                        * in the instant between */
            flock(fd, LOCK_EX | LOCK_NB);
            return fd;
        }
        if (errno != EEXIST) return -errno;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue; /* its backup ended meanwhile */
            return -errno;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            close(fd);
            return err == EWOULDBLOCK ? -EBUSY : -err;
        }
        remove_db_files(path); /* no backup holds it: a killed one's */
        close(fd);
    }
    return -EBUSY;
}

/* Gives the whole copy at partial its name to, never replacing a file made there meanwhile.
 * 0 or -errno (-EEXIST). */
static int put_in_place(const char *partial, const char *to)
{
    if (renameat2(AT_FDCWD, partial, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -errno;
    /* a file system without it: link does not replace either */
    if (link(partial, to) == 0) return unlink(partial), 0;
    if (errno == EEXIST) return -EEXIST;
    struct stat st;
    if (lstat(to, &st) == 0) return -EEXIST;
    return rename(partial, to) == 0 ? 0 : -errno;
}

/* Makes the rename of a file in path's folder last through a crash. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

static char *backup_uri(const char *path, bool *with_wal);

int store_backup(const char *from, const char *to, struct store_copy_info *info,
                 const struct store_copy_watch *watch, struct sk_err *e)
{
    struct stat st;
    if (lstat(to, &st) == 0)
        return sk_err_set(e, -EEXIST, "FILE", "%s exists; give a new file name", to);
    int folder = store_not_a_file(e, from);
    if (folder) return folder;
    /* written under another name until whole: a copy cut off (a signal, a crash, a full disk)
     * never holds FILE's name, nor blocks it */
    char *partial = xasprintf("%s.partial", to);
    int lock = claim_partial(partial);
    if (lock == -EBUSY) {
        sk_err_set(e, -EBUSY, "FILE",
                   "another sked backup is writing %s now (as %s); wait for it to end, or give "
                   "another FILE",
                   to, partial);
        free(partial);
        return -EBUSY;
    }
    if (lock < 0) {
        int rc = cannot_create(e, "FILE", "", to, -lock, "give another FILE");
        free(partial);
        return rc;
    }
    sqlite3 *src = NULL, *dst = NULL;
    int rc = 0;
    char why[256];
    /* on a read-only file system nobody writes the store, and its -shm file cannot be made:
     * it is read as a backup is */
    bool with_wal = false;
    char *uri = read_only_fs(from) ? backup_uri(from, &with_wal) : NULL;
    int opened = sqlite3_open_v2(uri ? uri : from, &src,
                                 SQLITE_OPEN_READONLY | (uri ? SQLITE_OPEN_URI : 0), NULL);
    free(uri);
    if (opened != SQLITE_OK) {
        rc = cannot_open(e, "db", "store", from, src, STORE_TODO);
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(partial, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = sk_err_set(e, -EIO, "FILE", "cannot create %s (%s); give another FILE", to,
                        dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    sqlite3_progress_handler(dst, 1000, on_check_progress, (void *)watch);
    int copied = copy_db_watched(src, dst, watch);
    /* the copy took the store's header, which says WAL mode: read in the normal locking mode,
     * it would need a -shm file beside it, for which a disk the copy just fits on has no room.
     * Locked exclusively (it is this backup's alone anyway), SQLite keeps that index in memory. */
    if (!copied) sqlite3_exec(dst, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL);
    int checked = copied ? copied : check_store(dst, info, why, sizeof why);
    int journal = checked ? 0 : to_rollback_journal(dst);
    int sys = dst ? sqlite3_system_errno(dst) : 0;
    if (copy_stopped(watch))
        rc = sk_err_set(e, -EINTR, "FILE", "stopped before the copy %s was whole; the partial "
                                           "copy is deleted", to);
    else if (checked == SQLITE_NOTADB)
        rc = sk_err_set(e, -EINVAL, "db", "%s is not a store of sked (%s); " STORE_TODO, from,
                        copied ? sqlite3_errstr(copied) : why);
    else if (write_failed(copied, sys) || journal)
        rc = cannot_write_copy(e, to, copied ? copied : journal, sys);
    else if ((copied & 0xff) == SQLITE_CANTOPEN || (copied & 0xff) == SQLITE_READONLY)
        rc = cannot_read_store(e, from, copied);
    else if (copied)
        rc = sk_err_set(e, -EIO, "db", "cannot copy the store %s (%s); try again", from,
                        sqlite3_errstr(copied));
    else if (checked == SQLITE_CORRUPT)
        rc = sk_err_set(e, -EIO, "FILE",
                        "the copy %s is damaged (%s) and is deleted; check the store %s with "
                        "sqlite3 (PRAGMA integrity_check) and the disk, then back up again",
                        to, why, from);
    else if (disk_full(checked, sys))
        rc = cannot_write_copy(e, to, checked, sys);
    else if (checked)
        rc = sk_err_set(e, -EIO, "FILE",
                        "cannot read back the copy %s (%s) to check it, and it is deleted; check "
                        "that disk, or give a FILE on another one",
                        to, why);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    int put = rc ? 0 : put_in_place(partial, to);
    if (put == -EEXIST)
        rc = sk_err_set(e, -EEXIST, "FILE",
                        "%s was made while the backup ran; the copy is deleted: give a new "
                        "file name",
                        to);
    else if (put)
        rc = sk_err_set(e, put, "FILE", "cannot name the copy %s (%s); the copy is deleted: "
                                        "give another FILE",
                        to, strerror(-put));
    if (rc)
        remove_db_files(partial);
    else
        sync_folder(to);
    close(lock);
    free(partial);
    return rc;
}

/* Refuses (as store_restore's texts say) the backup at path, open as db (with_wal: with the
 * WAL file beside it, see backup_uri), unless it is a sound store of sked's; counts what it
 * holds. */
static int check_backup(sqlite3 *db, const char *path, bool with_wal,
                        struct store_copy_info *info, struct sk_err *e)
{
    char why[256];
    int rc = check_store(db, info, why, sizeof why);
    if (rc == SQLITE_NOTADB)
        return sk_err_set(e, -EINVAL, "BACKUP", "%s is not a backup of sked (%s); " BACKUP_TODO,
                          path, why);
    if (rc == SQLITE_CORRUPT)
        return sk_err_set(e, -EIO, "BACKUP", "the backup %s is damaged (%s); restore another one",
                          path, why);
    /* no sign of damage: the same file may read elsewhere */
    if (rc && with_wal)
        return sk_err_set(e, -EIO, "BACKUP",
                          "cannot read the backup %s (%s): with its WAL file %s-wal beside it, "
                          "SQLite must write a -shm file in its folder; let this user write "
                          "that folder, or copy both files into one it may write and restore "
                          "from there",
                          path, why, path);
    if (rc)
        return sk_err_set(e, -EIO, "BACKUP",
                          "cannot read the backup %s (%s); check its disk, or copy it to another "
                          "one and restore from there",
                          path, why);
    /* refused now rather than at the next start, after it replaced the store */
    int version = 0, latest = schema_latest();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (version > latest)
        return sk_err_set(e, -EPROTO, "BACKUP",
                          "%s was made by a newer sked (schema version %d, newer than this "
                          "sked's %d); restore it with that sked or a later one",
                          path, version, latest);
    return 0;
}

/* The refusal of a restore's target that is no store of sked's, left as it is: another
 * program's database (why NULL), or no database (why: SQLite's reason). */
static int not_replaced(struct sk_err *e, const char *to, const char *why)
{
    if (!why)
        return sk_err_set(e, -EINVAL, "db",
                          "%s is a database of another program (it has tables, and none of "
                          "sked's); " STORE_TODO " (or move this file away to restore in its "
                          "place)",
                          to);
    return sk_err_set(e, -EINVAL, "db",
                      "%s is not a store of sked (%s); " STORE_TODO
                      " (or move this file away to restore in its place)",
                      to, why);
}

/* What a restore may replace: a new (empty) file or a store of sked's. 0, SQLITE_NOTADB when
 * the file is no database, or -1 when it is another program's (its tables, none of sked's). */
static int replaceable(sqlite3 *db, char *why, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), count(*) FILTER (WHERE name IN ('job', 'run')) "
                           "FROM sqlite_master WHERE type = 'table'",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, n, "%s", sqlite3_errmsg(db));
        return sqlite3_errcode(db) == SQLITE_NOTADB ? SQLITE_NOTADB : SQLITE_CORRUPT;
    }
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0 &&
        sqlite3_column_int(st, 1) < 2)
        rc = -1;
    sqlite3_finalize(st);
    return rc;
}

/* The URI that opens the backup at path for reading. A backup is read as immutable: SQLite
 * then writes nothing beside it (no -shm or journal), so one in a folder this user may not
 * write reads too, even one still in WAL mode (older sked backup wrote them so). A backup with
 * a WAL file beside it that holds something is read with it, as SQLite reads a store, since
 * the WAL holds the latest of its contents; that needs its folder to be writable. A store on a
 * read-only file system, which nobody can be writing, is read the same way by sked backup. */
static char *backup_uri(const char *path, bool *with_wal)
{
    char *wal = xasprintf("%s-wal", path);
    struct stat st;
    *with_wal = stat(wal, &st) == 0 && st.st_size > 0;
    free(wal);
    struct buf b = BUF_INIT;
    buf_puts(&b, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-~", *p))
            buf_putc(&b, (char)*p);
        else
            buf_printf(&b, "%%%02X", *p);
    }
    if (!*with_wal) buf_puts(&b, "?immutable=1");
    return buf_steal(&b);
}

int store_restore(const char *from, const char *to, struct store_copy_info *info,
                  struct sk_err *e)
{
    struct stat a, b;
    if (stat(from, &a) == 0 && stat(to, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return sk_err_set(e, -EINVAL, "BACKUP",
                          "%s is the store itself (--db %s); name a backup made by 'sked backup'",
                          from, to);
    /* read as immutable, a backup's hot journal would be passed over: the half-written pages
     * read as a backup, damaged or worse, whole-looking */
    char *journal = xasprintf("%s-journal", from);
    bool hot = stat(journal, &a) == 0 && a.st_size > 0;
    free(journal);
    if (hot)
        return sk_err_set(e, -EINVAL, "BACKUP",
                          "%s is not a whole backup: the rollback journal %s-journal beside it "
                          "was left by a copy cut off while it was written (or a program is "
                          "writing it now); restore another one",
                          from, from);
    sqlite3 *src = NULL, *dst = NULL;
    int rc = 0;
    bool made = false; /* the store's file is new: removed again when the restore fails */
    bool with_wal;
    char *uri = backup_uri(from, &with_wal);
    int opened = sqlite3_open_v2(uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (opened != SQLITE_OK) {
        rc = cannot_open(e, "BACKUP", "backup", from, src, BACKUP_TODO);
        goto out;
    }
    if ((rc = check_backup(src, from, with_wal, info, e)) != 0) goto out;
    if ((rc = store_not_a_file(e, to)) != 0) goto out;
    /* a missing store is made as sked makes one (its owner's alone); an existing one keeps its
     * mode */
    int crc = create_private(to);
    made = crc == 0;
    if (crc && crc != -EEXIST) {
        rc = cannot_create(e, "db", "the store ", to, -crc,
                           crc == -EACCES || crc == -EPERM ? USER_TODO : STORE_TODO);
        goto out;
    }
    if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = cannot_open(e, "db", "store", to, dst, STORE_TODO);
        goto out;
    }
    /* a database of another program is left as it is: --db named the wrong file */
    char why[256];
    int other = replaceable(dst, why, sizeof why);
    if (other == -1 || other == SQLITE_NOTADB) {
        rc = not_replaced(e, to, other == -1 ? NULL : why);
        goto out;
    }
    /* SQLite opens a file this user may not write read-only, without a word */
    if (sqlite3_db_readonly(dst, "main") == 1) {
        rc = read_only_fs(to)
                 ? sk_err_set(e, -EROFS, "db",
                              "cannot write the store %s: it is on a read-only file system; "
                              "mount it read-write, or " STORE_TODO,
                              to)
                 : sk_err_set(e, -EACCES, "db",
                              "cannot write the store %s: it is not writable by this user (uid "
                              "%d); " USER_TODO,
                              to, (int)geteuid());
        goto out;
    }
    /* a running sked keeps the WAL open; an exclusive lock tells us it is there */
    sqlite3_busy_timeout(dst, 0);
    char *msg = NULL;
    if (sqlite3_exec(dst, "PRAGMA journal_mode=WAL; BEGIN EXCLUSIVE; COMMIT;", NULL, NULL,
                     &msg) != SQLITE_OK ||
        sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_errcode(dst);
        if (code == SQLITE_NOTADB) /* not overwritten: it may be anything */
            rc = not_replaced(e, to, msg ? msg : sqlite3_errmsg(dst));
        else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
            rc = sk_err_set(e, -EBUSY, "db", "%s is in use (is sked running? stop it first)", to);
        else if (*unwritable_folder(to))
            rc = sk_err_set(e, -EACCES, "db",
                            "cannot write the store %s (%s): its folder is not writable by this "
                            "user (uid %d), and SQLite writes the store's journal files beside "
                            "it; " USER_TODO,
                            to, sqlite3_errmsg(dst), (int)geteuid());
        else
            rc = sk_err_set(e, -EIO, "db", "cannot write the store %s (%s); check its disk", to,
                            sqlite3_errmsg(dst));
        sqlite3_free(msg);
        goto out;
    }
    if ((rc = copy_db(src, dst)) != 0)
        rc = disk_full(rc, sqlite3_system_errno(dst))
                 ? sk_err_set(e, -ENOSPC, "db",
                              "cannot copy the backup into %s: its disk is full (%s); free "
                              "space on that disk, then restore again",
                              to, sqlite3_errstr(rc))
                 : sk_err_set(e, -EIO, "db", "cannot copy the backup into %s (%s); try again", to,
                              sqlite3_errstr(rc));
    else
        sqlite3_exec(dst, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    if (rc && made) remove_db_files(to); /* no half store where there was none */
    return rc;
}
