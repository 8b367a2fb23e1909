-- sked store, version 12: one index of the runs that are not SUCCESS, by status, instead of
-- three: the moving runs' (run_active), the unsuccessful runs' (run_unsuccessful) and the
-- moving runs executed elsewhere (run_remote). Every statement that changes a run's status
-- opens and checks each index whose condition names the status, whether or not the run is in
-- it: a run's insert and its outcome spent 4,200 of 154,700 instructions on the two dropped.
-- A filter by statuses other than SUCCESS names the condition (store/sqlite.c: NOT_SUCCESS);
-- the runs of another executor, read once at start, are found among the moving ones.
-- Building it reads every run once.
DROP INDEX run_active;
DROP INDEX run_unsuccessful;
DROP INDEX run_remote;
CREATE INDEX run_state ON run(status, rid) WHERE status <> 'S';
