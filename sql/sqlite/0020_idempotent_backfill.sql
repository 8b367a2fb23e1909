-- sked store, version 20: the Idempotency-Key of backfills. A backfill's key is recorded with its
-- answer (the windows and the runs it started, as JSON), so that the same request sent again
-- answers with those runs instead of starting them twice; NULL for a run request's key, whose
-- run_id says it all.
ALTER TABLE idempotency ADD COLUMN response TEXT;
