-- sked store, version 22: the notification outbox. One row per delivery (an e-mail to one
-- address, a webhook call to one URL) not yet sent or given up, written in the transaction of
-- what calls for it (a run's end, a job's overdue_at), so that a crash or a shutdown keeps both
-- or neither; deleted when the delivery succeeds or is given up. It holds what is sent, exactly
-- (a resend is the same text: an alert keeps its alert_id), and never a secret: the SMTP URL
-- and the webhook key are read from the settings when it is sent. AUTOINCREMENT: ids never
-- come back, so the rows after the last one taken up are the ones still waiting.
CREATE TABLE notify_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created INTEGER NOT NULL,
    channel TEXT NOT NULL,               -- 'email' or 'webhook'
    target TEXT NOT NULL,                -- the address, or the URL
    hook INTEGER,                        -- a webhook's place in its job's list, from 1
    event TEXT NOT NULL,                 -- run.finished, job.overdue or job.recovered
    ref_id TEXT NOT NULL,                -- the run's id, or the alert's
    job_id TEXT NOT NULL,                -- no foreign key: a deleted job's alert closes after it
    subject TEXT,                        -- an e-mail's
    body TEXT NOT NULL,                  -- the e-mail's text, or the webhook's JSON document
    attempts INTEGER NOT NULL DEFAULT 0  -- made so far
);
