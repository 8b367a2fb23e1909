-- sked store, version 10: a job's run count without a write for every run. The trigger that
-- added each new run to its job's row wrote a page of run_count in every run's commit (17,000
-- of 190,000 instructions of a no-op run). Now run_count holds the runs up to a mark, the rid
-- of run_count_upto: a job's count is its row plus its runs above the mark, found through the
-- run_job index, and the server folds those into the rows every few thousand runs and at start.
-- New runs are numbered above every run (SQLite's rowids: the largest plus one), so above the
-- mark; a delete takes a run at or below the mark off its job's row, and, if no run above the
-- mark is left, brings the mark down to the largest rid left, so that a new run's number
-- (which may be a deleted run's) is above it again.
CREATE TABLE run_count_upto (
    k   INTEGER PRIMARY KEY CHECK (k = 0),
    rid INTEGER NOT NULL
);
INSERT INTO run_count_upto (k, rid) VALUES (0, coalesce((SELECT max(rid) FROM run), 0));
DROP TRIGGER run_count_insert;
DROP TRIGGER run_count_delete;
CREATE TRIGGER run_count_delete AFTER DELETE ON run BEGIN
    UPDATE run_count SET n = n - 1
        WHERE job_id = old.job_id AND old.rid <= (SELECT rid FROM run_count_upto WHERE k = 0);
    UPDATE run_count_upto SET rid = coalesce((SELECT max(rid) FROM run), 0)
        WHERE k = 0 AND rid > coalesce((SELECT max(rid) FROM run), 0);
END;
