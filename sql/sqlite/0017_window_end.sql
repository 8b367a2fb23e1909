-- sked store, version 17: the end of a run's window. A run's window is [since, end): without
-- window_end it ends where the run started (started_at), and a success moves the job's since
-- there; a run given an end (a backfill window) covers that window alone and moves nothing.
ALTER TABLE run ADD COLUMN window_end INTEGER;
