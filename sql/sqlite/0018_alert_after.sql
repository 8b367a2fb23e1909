-- sked store, version 18: a job's alert when it stops succeeding. alert_after_ms: how long a job
-- may go without a successful run before the people its notifications name are told (NULL:
-- never); overdue_at: when they were told, until a success tells them it recovered.
ALTER TABLE job ADD COLUMN alert_after_ms INTEGER;
ALTER TABLE job ADD COLUMN overdue_at INTEGER;
