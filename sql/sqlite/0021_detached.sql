-- sked store, version 21: the runs of deleted jobs whose tasks were still ending. A job's
-- deletion takes its runs' rows at once while their tasks are stopped (SIGTERM, then SIGKILL
-- after the stop grace); a row here says that the task of that run is still to end, so that a
-- start after a crash in the meantime kills what is left of it as it kills the tasks of
-- interrupted runs. Removed when the task ends, or by that start.
CREATE TABLE detached (
    run_id TEXT PRIMARY KEY,
    node TEXT,
    since INTEGER NOT NULL
);
