-- sked store, version 8: the runs that have a title, by job, so that a text search of runs
-- (`q`: the start of a run's id, or a part of its title) reads the id index and the titled
-- runs instead of every run. Runs without a title (scheduled runs, retries, most manual ones)
-- never enter it.
CREATE INDEX run_titled ON run(job_id, rid) WHERE title IS NOT NULL;
