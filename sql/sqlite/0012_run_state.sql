-- sked store, version 12: fewer indexes that a change of a run's status writes or checks. Every
-- statement that changes a run's status opens and checks each partial index whose condition
-- names the status, whether or not the run is in it.
-- One index of the runs that are not SUCCESS, by status, instead of three: the moving runs'
-- (run_active), the unsuccessful runs' (run_unsuccessful) and the moving runs executed
-- elsewhere (run_remote). A filter by statuses other than SUCCESS names its condition
-- (store/sqlite.c: NOT_SUCCESS); the runs of another executor, read once at start, are found
-- among the moving ones. And the index of waiting runs by the time they wait for holds every
-- run that has one, whatever its status: the next wait is looked for from now on, where only
-- runs still waiting are, save those cancelled while they waited.
-- Together 6,000 of a no-op run's 154,500 instructions (B5: 99,400 -> 94,900 a run). Building
-- them reads every run once.
DROP INDEX run_active;
DROP INDEX run_unsuccessful;
DROP INDEX run_remote;
CREATE INDEX run_state ON run(status, rid) WHERE status <> 'S';
DROP INDEX run_delayed;
CREATE INDEX run_delayed ON run(not_before) WHERE not_before IS NOT NULL;
-- The index of a job's unsuccessful runs by status holds its QUEUED and CANCELLING ones too
-- (every run neither SUCCESS nor RUNNING): a job's queued runs, its newest of each status and
-- its moving runs' count (each scheduled fire of a job that does not overlap asks it) are found
-- by job, not among every queued run of every job (a backlog of 200,000 made a job's document
-- 141 ms and the jobs list 236 ms). A run submitted over the API never enters it: it is made
-- RUNNING and goes on to its end.
DROP INDEX run_unsuccessful_job;
CREATE INDEX run_job_state ON run(job_id, status, rid) WHERE status <> 'S' AND status <> 'R';
