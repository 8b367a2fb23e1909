-- sked store, version 6: the partial indexes of runs still moving say which runs they hold
-- without a three-value IN list. SQLite evaluates an index's condition for every row written,
-- and a constant IN list of three or more values is built as a temporary table each time a
-- statement runs: two such tables for each insert of a run and four for each status change,
-- a tenth of the work of a no-op run. Up to two values it compares directly.
-- Queries that use these indexes repeat the condition exactly (store/sqlite.c: ACTIVE).

DROP INDEX run_active;
CREATE INDEX run_active ON run(status, rid) WHERE status IN ('Q', 'R') OR status = 'C';
DROP INDEX run_remote;
CREATE INDEX run_remote ON run(executor, rid)
    WHERE executor IS NOT NULL AND (status IN ('Q', 'R') OR status = 'C');
