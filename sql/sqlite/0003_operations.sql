-- sked store, version 3: operations - retries (a queued run may wait until not_before),
-- per-job retry policy and log retention.

ALTER TABLE run ADD COLUMN not_before INTEGER;
CREATE INDEX run_delayed ON run(not_before) WHERE status = 'Q' AND not_before IS NOT NULL;
CREATE INDEX run_finished ON run(finished_at) WHERE finished_at IS NOT NULL;

ALTER TABLE job ADD COLUMN max_retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job ADD COLUMN retry_backoff_ms INTEGER NOT NULL DEFAULT 30000;
ALTER TABLE job ADD COLUMN retention_ms INTEGER;
