-- sked store, version 15: the runs that succeeded whose job starts others (on_success) and
-- whose chained runs are not created yet. A row is written with the run's outcome, in its
-- transaction, and deleted with the chained runs it led to, in theirs: a stop or a crash
-- between the two leaves the row, and the next start creates the runs.
CREATE TABLE chain_pending (
    run_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL
) WITHOUT ROWID;
