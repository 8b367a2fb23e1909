/* Raw ceiling of a SQLite-backed job system: how many run records per second SQLite can persist.
 *
 * One run = what a job system writes for each execution:
 *   INSERT a run row (status 'running', started_at)
 *   UPDATE that row (status 'succeeded', finished_at, exit_code, a ~100-byte log tail)
 * With BATCH = 1 each statement is its own transaction (autocommit: two commits per run). With
 * BATCH > 1, BATCH runs' inserts share one transaction and their updates another (group commit).
 * sked keeps its runs in SQLite in WAL mode, so this is the store's ceiling for its workloads:
 * synchronous=NORMAL is its default, FULL its "durability full" (B4), and the batch its group
 * commit. sked writes more per run (claim, pid, outcome, log lines), so it stays below this.
 *
 * usage: sqlite_runs DBFILE SYNC(NORMAL|FULL|OFF) JOURNAL(WAL|DELETE) SECONDS [BATCH]
 * prints: sqlite sync=.. journal=.. batch=.. runs=.. secs=.. runs_per_s=.. txn_per_s=..
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what) {
  fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: %s DB SYNC JOURNAL SECONDS [BATCH]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1], *sync = argv[2], *journal = argv[3];
  double secs = atof(argv[4]);
  int batch = argc > 5 ? atoi(argv[5]) : 1;
  if (batch < 1) batch = 1;

  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
  char sql[256];
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", journal);
  exec(db, sql);
  snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
  exec(db, sql);
  exec(db, "PRAGMA busy_timeout=5000");
  exec(db,
       "CREATE TABLE IF NOT EXISTS runs ("
       " id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL, queue TEXT NOT NULL,"
       " status TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER,"
       " exit_code INTEGER, log TEXT)");
  exec(db, "CREATE INDEX IF NOT EXISTS runs_job ON runs(job_id, started_at)");

  sqlite3_stmt *ins, *upd;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO runs(job_id,queue,status,started_at) VALUES(?,?,'running',?)",
                         -1, &ins, NULL) != SQLITE_OK)
    die(db, "prepare insert");
  if (sqlite3_prepare_v2(db,
                         "UPDATE runs SET status='succeeded', finished_at=?, exit_code=0, log=? "
                         "WHERE id=?",
                         -1, &upd, NULL) != SQLITE_OK)
    die(db, "prepare update");

  static const char logtail[] =
      "job finished: task=noop args=[] duration_ms=0 stdout='ok' stderr='' "
      "host=localhost worker=1 attempt=1/3";
  sqlite3_int64 *ids = calloc((size_t)batch, sizeof *ids);
  if (!ids) return 1;
  long runs = 0, txns = 0;
  double t0 = now(), t;
  do {
    if (batch > 1) exec(db, "BEGIN");
    for (int i = 0; i < batch; i++) {
      sqlite3_bind_int64(ins, 1, (runs + i) % 1000);
      sqlite3_bind_text(ins, 2, "default", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 3, (sqlite3_int64)time(NULL));
      if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
      sqlite3_reset(ins);
      ids[i] = sqlite3_last_insert_rowid(db);
      if (batch == 1) txns++;
    }
    if (batch > 1) {
      exec(db, "COMMIT");
      txns++;
      exec(db, "BEGIN");
    }
    for (int i = 0; i < batch; i++) {
      sqlite3_bind_int64(upd, 1, (sqlite3_int64)time(NULL));
      sqlite3_bind_text(upd, 2, logtail, -1, SQLITE_STATIC);
      sqlite3_bind_int64(upd, 3, ids[i]);
      if (sqlite3_step(upd) != SQLITE_DONE) die(db, "update");
      sqlite3_reset(upd);
      if (batch == 1) txns++;
    }
    if (batch > 1) {
      exec(db, "COMMIT");
      txns++;
    }
    runs += batch;
    t = now();
  } while (t - t0 < secs);
  double el = t - t0;
  printf("sqlite sync=%s journal=%s batch=%d runs=%ld secs=%.3f runs_per_s=%.0f txn_per_s=%.0f\n",
         sync, journal, batch, runs, el, (double)runs / el, (double)txns / el);
  sqlite3_finalize(ins);
  sqlite3_finalize(upd);
  sqlite3_close(db);
  free(ids);
  return 0;
}
