-- sked store, version 13: the index of queued runs holds only those this node's workers run
-- (executor NULL). Every reader of it asked for those and read each entry's row to drop the
-- runs another executor holds (a Celery run waits QUEUED until its worker starts it): the
-- depths of the queues (/api/queues, /metrics) counted a backlog of 200,000 runs in about
-- 100 ms on the loop, reading every row; they are counted in the index now.
DROP INDEX run_queued;
CREATE INDEX run_queued ON run(queue, rid) WHERE status = 'Q' AND executor IS NULL;
