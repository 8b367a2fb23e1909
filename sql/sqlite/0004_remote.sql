-- sked store, version 4: runs executed elsewhere (a Celery worker). executor is NULL for runs
-- sked executes itself (a process or a builtin) and 'celery' for the others; remote holds what
-- following such a run needs across restarts (JSON: the message as sent, the worker, ...).

ALTER TABLE run ADD COLUMN executor TEXT;
ALTER TABLE run ADD COLUMN remote TEXT;
CREATE INDEX run_remote ON run(executor, rid) WHERE executor IS NOT NULL AND status IN ('Q', 'R', 'C');
