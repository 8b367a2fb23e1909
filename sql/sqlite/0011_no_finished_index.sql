-- sked store, version 11: the index of runs by finish time goes. Only the retention prune used
-- it, and every run's end wrote a leaf of it (6,700 of 172,000 instructions of a no-op run); the
-- prune now walks the runs in the order they were made, a window at a time.
DROP INDEX run_finished;
