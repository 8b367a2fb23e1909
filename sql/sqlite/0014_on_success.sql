-- sked store, version 14: jobs that start other jobs. on_success holds a JSON array of job ids
-- whose runs start when a run of this job succeeds (NULL: none); a job's deletion takes its id
-- out of every list.
ALTER TABLE job ADD COLUMN on_success TEXT;
