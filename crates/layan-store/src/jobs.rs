//! The job queue's storage. A worker claims due jobs (and jobs whose lease ran out) in one
//! statement — `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several nodes claim different jobs;
//! SQLite's single writer makes the statement atomic by itself. On SQLite, claims and
//! completions go through the group commit with messages (`sqlite_append.rs`): a worker's
//! batches used to be two transactions and two fsyncs of their own on the one writer.

use layan_core::{Job, JobStatus, Millis};

use crate::{Store, StoreResult};

/// Queues a job unless its dedupe key is taken: binds kind, payload, dedupe key, max attempts,
/// run at, now, now.
pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs (kind, payload, dedupe_key, status, \
     max_attempts, run_at, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?) \
     ON CONFLICT DO NOTHING";

/// A job's columns.
pub(crate) const JOB_COLS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, \
     last_error, created_at, updated_at";

/// Leases due jobs (queued and due, or running with an expired lease) to a worker: binds lease
/// until, worker, now, now, now, limit. `skip_locked` is PostgreSQL's `FOR UPDATE SKIP LOCKED`
/// (several nodes claim different jobs); SQLite's single writer makes the statement atomic by
/// itself.
pub(crate) fn claim_sql(skip_locked: &str) -> String {
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, \
         locked_by = ?, updated_at = ? WHERE id IN (SELECT id FROM jobs \
         WHERE (status = 'queued' AND run_at <= ?) \
         OR (status = 'running' AND lease_until < ? AND attempts < max_attempts) \
         ORDER BY run_at, id LIMIT ?{skip_locked}) RETURNING {JOB_COLS}"
    )
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// Enqueueing the same key again adds nothing.
    pub dedupe_key: Option<&'a str>,
    pub run_at: Millis,
    pub max_attempts: i64,
}

/// Jobs by status, for the metrics and the admin page.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub done: i64,
}

impl Store {
    /// Adds a job (nothing when its dedupe key exists); returns whether it was added.
    pub async fn enqueue_job(&self, job: NewJob<'_>) -> StoreResult<bool> {
        dispatch!(self, s => s.enqueue_job(job).await)
    }

    /// Leases up to `limit` due jobs (queued with `run_at <= now`, or running with an expired
    /// lease) to `worker` until `now + lease_ms`, counting an attempt each.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        dispatch!(self, s => s.claim_jobs(worker, now, lease_ms, limit).await)
    }

    pub async fn complete_job(&self, id: i64) -> StoreResult<()> {
        self.complete_jobs(&[id]).await
    }

    /// Records several jobs done in one statement (one commit): a worker's batch.
    pub async fn complete_jobs(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.complete_jobs(ids).await)
    }

    /// Records a failure: queued again at `retry_at`, or failed for good when `retry_at` is `None`.
    pub async fn fail_job(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Millis>,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.fail_job(id, error, retry_at).await)
    }

    /// Parks as failed the jobs whose lease ran out during their last attempt (the worker
    /// holding them died, perhaps because of them), so they are not claimed again; returns how
    /// many. An admin sees them and may retry.
    pub async fn park_exhausted_jobs(&self, now: Millis) -> StoreResult<u64> {
        dispatch!(self, s => s.park_exhausted_jobs(now).await)
    }

    /// An admin retries a failed job: queued now, with fresh attempts. `NotFound` unless failed.
    pub async fn retry_job(&self, id: i64) -> StoreResult<()> {
        dispatch!(self, s => s.retry_job(id).await)
    }

    pub async fn list_jobs(&self, status: Option<JobStatus>, limit: u32) -> StoreResult<Vec<Job>> {
        dispatch!(self, s => s.list_jobs(status, limit).await)
    }

    pub async fn job_counts(&self) -> StoreResult<JobCounts> {
        dispatch!(self, s => s.job_counts().await)
    }

    /// Gives back the jobs `worker` holds (at shutdown), so another worker need not wait for
    /// the leases to run out. A handler still finishing may then run twice: handlers are
    /// idempotent.
    pub async fn release_jobs(&self, worker: &str) -> StoreResult<u64> {
        dispatch!(self, s => s.release_jobs(worker).await)
    }

    /// Deletes finished jobs older than `before`.
    pub async fn sweep_jobs(&self, before: Millis) -> StoreResult<u64> {
        dispatch!(self, s => s.sweep_jobs(before).await)
    }
}

macro_rules! job_queries {
    ($store:ident, $db:ty, $row:ty) => {
use $crate::jobs::JOB_COLS;

/// Inserts a job inside a caller's transaction.
async fn insert_job(conn: &mut <$db as sqlx::Database>::Connection, job: &NewJob<'_>) -> StoreResult<bool> {
    let now = now_millis();
    let done = sqlx::query(&q($crate::jobs::INSERT_JOB))
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.dedupe_key)
    .bind(job.max_attempts)
    .bind(job.run_at)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

impl $store {
    pub async fn enqueue_job(&self, job: NewJob<'_>) -> StoreResult<bool> {
        let mut conn = self.writer.acquire().await.map_err(db)?;
        insert_job(&mut conn, &job).await
    }

    pub async fn fail_job(&self, id: i64, error: &str, retry_at: Option<Millis>) -> StoreResult<()> {
        let error: String = error.chars().take(2000).collect();
        sqlx::query(&q(
            "UPDATE jobs SET status = ?, run_at = COALESCE(?, run_at), lease_until = NULL, \
             last_error = ?, updated_at = ? WHERE id = ?",
        ))
        .bind(if retry_at.is_some() { "queued" } else { "failed" })
        .bind(retry_at)
        .bind(error)
        .bind(now_millis())
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn park_exhausted_jobs(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query(&q(
            "UPDATE jobs SET status = 'failed', lease_until = NULL, locked_by = NULL, \
             last_error = ?, updated_at = ? \
             WHERE status = 'running' AND lease_until < ? AND attempts >= max_attempts",
        ))
        .bind("the worker stopped while running this job's last attempt")
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    pub async fn retry_job(&self, id: i64) -> StoreResult<()> {
        let now = now_millis();
        let done = sqlx::query(&q(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?, updated_at = ? \
             WHERE id = ? AND status = 'failed'",
        ))
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn list_jobs(&self, status: Option<JobStatus>, limit: u32) -> StoreResult<Vec<Job>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE (? OR status = ?) ORDER BY id DESC LIMIT ?"
        )))
        .bind(status.is_none())
        .bind(status.map_or("", JobStatus::as_str))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(|row| $crate::rows::job(row)).collect()
    }

    pub async fn job_counts(&self) -> StoreResult<JobCounts> {
        let rows = sqlx::query(&q("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let mut c = JobCounts::default();
        for r in &rows {
            let status: String = r.try_get("status").map_err(db)?;
            let n: i64 = r.try_get("n").map_err(db)?;
            match status.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "failed" => c.failed = n,
                "done" => c.done = n,
                _ => {}
            }
        }
        Ok(c)
    }

    pub async fn release_jobs(&self, worker: &str) -> StoreResult<u64> {
        let done = sqlx::query(&q(
            "UPDATE jobs SET status = 'queued', lease_until = NULL, locked_by = NULL, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = ? \
             WHERE status = 'running' AND locked_by = ?",
        ))
        .bind(now_millis())
        .bind(worker)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    pub async fn sweep_jobs(&self, before: Millis) -> StoreResult<u64> {
        let done = sqlx::query(&q("DELETE FROM jobs WHERE status = 'done' AND updated_at < ?"))
            .bind(before)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
    };
}

pub(crate) use job_queries;
