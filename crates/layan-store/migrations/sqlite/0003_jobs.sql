-- The job queue: everything asynchronous (automations after a customer message, later outbound
-- email and webhooks, SLA timers, surveys). At least once: a worker leases a job; a lease that
-- runs out (the worker died) makes the job claimable again. Handlers are idempotent.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,                 -- JSON
    dedupe_key   TEXT UNIQUE,                   -- enqueueing the same key twice is one job
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    locked_by    TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
