-- sked store, version 16: the Idempotency-Key of run requests. A request to start a run that
-- carries one is recorded with the run it started, in the run's transaction, so that the same
-- request sent again (a client that lost the answer) gets that run instead of a second one.
-- fingerprint: SHA-256 of the job id and the request body, to tell a retry from a reuse of the
-- key for another request. Kept 24 hours.
CREATE TABLE idempotency (
    actor       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency(created);
