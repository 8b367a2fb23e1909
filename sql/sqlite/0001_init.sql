-- sked store, version 1: jobs, runs, run logs, key-value meta.
-- Instants are INTEGER microseconds since the epoch (UTC); JSON columns hold compact JSON text.
-- Run statuses are the single-letter codes Q R S F W C X P.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE job (
    id            TEXT PRIMARY KEY,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    title         TEXT NOT NULL,
    description   TEXT,
    task          TEXT NOT NULL,
    default_queue TEXT NOT NULL,
    schedule      TEXT,
    run_args      TEXT NOT NULL DEFAULT '{}',
    notifications TEXT,
    timeout_ms    INTEGER,
    next_run      INTEGER,
    overlap       TEXT NOT NULL DEFAULT 'allow',
    catchup       TEXT NOT NULL DEFAULT 'once',
    catchup_limit INTEGER NOT NULL DEFAULT 100,
    skipped_fires INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_title ON job(title COLLATE NOCASE, id);
CREATE INDEX job_scheduled ON job(id) WHERE schedule IS NOT NULL AND active = 1;

CREATE TABLE run (
    rid              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    job_id           TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    task             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'Q',
    title            TEXT,
    queue            TEXT NOT NULL,
    args             TEXT NOT NULL DEFAULT '{}',
    trigger          TEXT NOT NULL DEFAULT 'manual',
    scheduled_for    INTEGER,
    created          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    message          TEXT,
    exit_code        INTEGER,
    output           TEXT,
    progress         TEXT,
    total_entries    INTEGER NOT NULL DEFAULT 0,
    inserted_entries INTEGER NOT NULL DEFAULT 0,
    updated_entries  INTEGER NOT NULL DEFAULT 0,
    errored_entries  INTEGER NOT NULL DEFAULT 0,
    attempt          INTEGER NOT NULL DEFAULT 1,
    parent_run_id    TEXT,
    node             TEXT,
    claim            INTEGER NOT NULL DEFAULT 0,
    pid              INTEGER,
    timeout_ms       INTEGER,
    started_by_id    TEXT,
    started_by_name  TEXT,
    stopped_by_id    TEXT,
    stopped_by_name  TEXT
);
-- Every index a run is in is rewritten on insert and on each status change, so indexes that
-- only some runs need are partial: a fire time is unique among scheduled runs only, and the
-- status index holds only runs still moving (finished ones are found through their job).
CREATE UNIQUE INDEX run_fire ON run(job_id, scheduled_for) WHERE scheduled_for IS NOT NULL;
CREATE INDEX run_job ON run(job_id, rid);
CREATE INDEX run_active ON run(status, rid) WHERE status IN ('Q', 'R', 'C');
CREATE INDEX run_queued ON run(queue, rid) WHERE status = 'Q';

CREATE TABLE run_log (
    rid     INTEGER NOT NULL REFERENCES run(rid) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    level   INTEGER NOT NULL,
    stream  INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (rid, seq)
) WITHOUT ROWID;
