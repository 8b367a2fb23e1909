-- sked store, version 9: a run started by hand or over the API (run.started, most of the trail)
-- is no longer in the index by action, which every run's start wrote a leaf of. A filter by
-- run.started reads the trail newest first, where nearly every entry matches, and counts the
-- others through this index; a filter by any other action names this condition to use it.
DROP INDEX audit_action;
CREATE INDEX audit_action ON audit(action, id) WHERE action <> 'run.started';
