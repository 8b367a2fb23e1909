-- sked store, version 23: whether a run's since is sked's to choose (since_auto = 1): the run
-- was made without a since of its own (none given, none saved with its job, no custom
-- arguments, no window's end) and sked runs it. Such a run that waited in its queue takes, as
-- it starts, the start of a successful run of its job that ended meanwhile, so that runs made
-- while others ran process windows that meet rather than overlap. The runs held for their
-- job's active run (overlap queue_one) of a job that saves no since are such runs: theirs was
-- settled as they were released.
ALTER TABLE run ADD COLUMN since_auto INTEGER NOT NULL DEFAULT 0;
UPDATE run SET since_auto = 1
 WHERE status = 'Q' AND not_before = 253402300800000000 AND executor IS NULL
   AND window_end IS NULL
   AND job_id IN (SELECT id FROM job
                   WHERE coalesce(json_extract(run_args, '$.since'), '') = ''
                     AND json_type(run_args, '$.custom_args') IS NULL);
