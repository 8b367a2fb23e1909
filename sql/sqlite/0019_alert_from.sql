-- sked store, version 19: where a job's alert counts from when it has had no success since: the
-- instant it was (re)activated or given its alert_after (NULL: its creation), so that time spent
-- inactive is not held against it.
ALTER TABLE job ADD COLUMN alert_from INTEGER;
