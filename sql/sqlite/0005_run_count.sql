-- sked store, version 5: how many runs each job has, kept by triggers (whoever writes the run
-- table), so a page of a job's runs does not walk a million index entries to say how many
-- there are. A job's row goes with the job.

CREATE TABLE run_count (
    job_id TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO run_count (job_id, n) SELECT job_id, count(*) FROM run GROUP BY job_id;

CREATE TRIGGER run_count_insert AFTER INSERT ON run BEGIN
    INSERT INTO run_count (job_id, n) VALUES (new.job_id, 1)
        ON CONFLICT (job_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER run_count_delete AFTER DELETE ON run BEGIN
    UPDATE run_count SET n = n - 1 WHERE job_id = old.job_id;
END;
CREATE TRIGGER run_count_job_delete AFTER DELETE ON job BEGIN
    DELETE FROM run_count WHERE job_id = old.id;
END;
