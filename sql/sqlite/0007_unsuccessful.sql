-- sked store, version 7: the runs that ended without success (FAILED, WARNING, CANCELLED,
-- PARTIAL_SUCCESS), by job and by status, so that a list filtered by those statuses pages and
-- counts them without walking every run, and a list of SUCCESS runs is counted as all runs
-- less the others. A successful run never enters them: they cost the run path nothing but
-- the evaluation of their condition (comparisons, not an IN list: see 0006).
-- Queries that use them repeat the condition exactly (store/sqlite.c: UNSUCCESSFUL).
CREATE INDEX run_unsuccessful_job ON run(job_id, status, rid)
    WHERE status <> 'S' AND status <> 'Q' AND status <> 'R' AND status <> 'C';
CREATE INDEX run_unsuccessful ON run(status, rid)
    WHERE status <> 'S' AND status <> 'Q' AND status <> 'R' AND status <> 'C';
