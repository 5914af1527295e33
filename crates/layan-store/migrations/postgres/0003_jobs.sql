-- The job queue: everything asynchronous (automations after a customer message, later outbound
-- email and webhooks, SLA timers, surveys). At least once: a worker leases a job; a lease that
-- runs out (the worker died) makes the job claimable again. Handlers are idempotent.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,                 -- JSON
    dedupe_key   TEXT UNIQUE,                   -- enqueueing the same key twice is one job
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at       BIGINT NOT NULL,
    lease_until  BIGINT,
    locked_by    TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
