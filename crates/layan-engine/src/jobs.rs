//! The job worker: claims due jobs from the database queue, runs their handler, and records the
//! outcome — done, retried later with backoff, or failed for good after its last attempt. A
//! worker that dies leaves its leases to expire; another worker (on any node) then takes the
//! jobs. Delivery is at least once, so every handler is idempotent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use layan_core::{
    Author, Direction, Job, JobWork, Locale, MessageBody, MessageId, NewMessage, Target, now_millis,
};

use crate::{Engine, EngineError, EngineResult};

/// How long a claimed job is ours; a handler must finish well within it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often an idle worker looks for due jobs (a local enqueue wakes it at once).
const POLL: Duration = Duration::from_millis(500);
/// Jobs claimed at once (run concurrently).
const BATCH: usize = 16;
/// How often a worker parks the jobs whose last attempt died with its worker.
const PARK_EVERY_MS: i64 = 10_000;
/// Finished jobs are kept this long for the admin page, then swept.
const KEEP_DONE_MS: i64 = 7 * 24 * 3600 * 1000;

/// A running job worker (see [`Engine::start_workers`]).
pub struct JobWorker {
    engine: Engine,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl JobWorker {
    /// At shutdown: lets the job in hand finish (for at most `grace`; after that it is dropped
    /// mid-way, and being idempotent, runs again elsewhere), claims nothing more, and hands this
    /// node's leased jobs back to the queue, so another node — or this one after a restart —
    /// picks them up at once instead of after the lease.
    pub async fn stop(mut self, grace: Duration) {
        self.stop.store(true, Ordering::Release);
        self.engine.jobs_wake.notify_one();
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("a job did not finish within {grace:?}; stopping it");
            self.task.abort();
            let _ = (&mut self.task).await;
        }
        match self
            .engine
            .store
            .release_jobs(&self.engine.worker_id())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "handed leased jobs back to the queue"),
            Err(e) => {
                tracing::warn!(error = %e, "could not hand back leased jobs; their leases will expire")
            }
        }
    }
}

/// What a handler can say about a job it could not do.
#[derive(Debug)]
pub enum JobError {
    /// Try again later (with backoff), until the attempts run out.
    Retry(String),
    /// Retrying cannot help (bad payload, unknown kind).
    Permanent(String),
    /// Not now (quiet hours): run again at this time. Not a failure.
    RetryAt(layan_core::Millis),
}

impl From<EngineError> for JobError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(_) | EngineError::NotFound => Self::Permanent(e.to_string()),
            other => Self::Retry(other.to_string()),
        }
    }
}

impl From<layan_store::StoreError> for JobError {
    fn from(e: layan_store::StoreError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<layan_core::InvalidValue> for JobError {
    fn from(e: layan_core::InvalidValue) -> Self {
        Self::Permanent(e.message)
    }
}

impl Engine {
    /// Starts this node's worker (one task running each claimed batch of up to 16 jobs
    /// concurrently). Stop it with
    /// [`JobWorker::stop`] before the process exits, so that it claims nothing more and hands
    /// back what it holds.
    pub fn start_workers(&self) -> JobWorker {
        let engine = self.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let (mut last_sweep, mut last_park) = (0, 0);
            while !stopping.load(Ordering::Acquire) {
                let now = now_millis();
                if now - last_park >= PARK_EVERY_MS {
                    last_park = now;
                    engine.park_exhausted_jobs(now).await;
                }
                let worked = engine.run_due_jobs_until(&stopping).await;
                let now = now_millis();
                if now - last_sweep > 3_600_000 {
                    last_sweep = now;
                    if let Err(e) = engine.store.sweep_jobs(now - KEEP_DONE_MS).await {
                        tracing::debug!(error = %e, "job sweep failed");
                    }
                }
                // A batch that was not full took every due job: wait for the next enqueue (a
                // wake-up that came while the batch ran is kept by `Notify`) or the poll,
                // rather than claiming again at once for nothing (a write on SQLite).
                if worked < BATCH && !stopping.load(Ordering::Acquire) {
                    tokio::select! {
                        () = engine.jobs_wake.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
            }
        });
        JobWorker {
            engine: self.clone(),
            stop,
            task,
        }
    }

    /// Parks the jobs whose lease ran out with their last attempt used (their worker died
    /// running them, perhaps because of them) instead of letting anyone claim them again: a
    /// job that kills the process cannot crash-loop the nodes. An admin sees it and may retry.
    pub async fn park_exhausted_jobs(&self, now: layan_core::Millis) {
        match self.store.park_exhausted_jobs(now).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "parked jobs whose worker stopped during their last attempt"
            ),
            Err(e) => tracing::debug!(error = %e, "parking exhausted jobs failed"),
        }
    }

    /// Wakes this node's worker (something was enqueued or retried).
    pub fn wake_jobs(&self) {
        self.jobs_wake.notify_one();
    }

    /// Claims and runs one batch of due jobs; returns how many ran.
    pub async fn run_due_jobs(&self) -> usize {
        self.run_due_jobs_until(&AtomicBool::new(false)).await
    }

    /// As [`Engine::run_due_jobs`], leaving the rest of the batch claimed (to be handed back)
    /// once `stop` is set.
    async fn run_due_jobs_until(&self, stop: &AtomicBool) -> usize {
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(30_000);
        let jobs = match self
            .store
            .claim_jobs(&self.worker_id(), now_millis(), lease_ms, BATCH as u32)
            .await
        {
            Ok(j) => j,
            Err(e) => {
                tracing::debug!(error = %e, "claiming jobs failed");
                return 0;
            }
        };
        // The batch runs concurrently: a slow job (a mail server, a language model) does not hold
        // up the others, and their writes share SQLite's group commits. Handlers are idempotent
        // and race-safe; the bot serialises turns per conversation itself.
        let mut running = Vec::with_capacity(jobs.len());
        for job in jobs {
            if stop.load(Ordering::Acquire) {
                break;
            }
            running.push(self.run_job(job));
        }
        let ran = running.len();
        // The jobs done are recorded together (one commit for the batch): the worker claims
        // its next batch only after the slowest job of this one anyway, well within the lease.
        // Should the node die before this, they run again: handlers are idempotent.
        let done: Vec<i64> = futures_util::future::join_all(running)
            .await
            .into_iter()
            .flatten()
            .collect();
        if let Err(e) = self.store.complete_jobs(&done).await {
            // The leases run out and the jobs are claimed again: at least once.
            tracing::warn!(error = %e, jobs = done.len(), "could not record jobs done");
        }
        ran
    }

    fn worker_id(&self) -> String {
        format!("node-{:016x}", self.node)
    }

    /// Runs `job`; its id when it is done (the caller records that), a failure is recorded here.
    /// A handler that panics is a failure like any other (an attempt counted, retried with
    /// backoff, parked as failed after its last attempt): one bad job never stops the worker
    /// or the other jobs of its batch.
    async fn run_job(&self, job: Job) -> Option<i64> {
        use futures_util::FutureExt as _;
        let handled = std::panic::AssertUnwindSafe(self.handle_job(&job)).catch_unwind();
        let outcome = match tokio::time::timeout(LEASE / 2, handled).await {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(job = job.id, kind = %job.kind, panic = %what, "a job handler panicked");
                Err(JobError::Retry(format!(
                    "the handler failed unexpectedly: {what}"
                )))
            }
            Err(_) => Err(JobError::Retry("timed out".into())),
        };
        let result = match outcome {
            Ok(()) => return Some(job.id),
            Err(JobError::RetryAt(at)) => self.store.fail_job(job.id, "postponed", Some(at)).await,
            Err(e) => {
                self.job_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (error, retry) = match e {
                    JobError::Retry(m) if job.attempts < job.max_attempts => {
                        let jitter = f64::from(rand::random::<u8>()) / 255.0;
                        (
                            m,
                            Some(now_millis() + layan_core::backoff_ms(job.attempts, jitter)),
                        )
                    }
                    JobError::Retry(m) | JobError::Permanent(m) => (m, None),
                    JobError::RetryAt(at) => ("postponed".into(), Some(at)),
                };
                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job failed");
                self.store.fail_job(job.id, &error, retry).await
            }
        };
        if let Err(e) = result {
            // The lease runs out and the job is claimed again: at least once.
            tracing::warn!(error = %e, job = job.id, "could not record a job's outcome");
        }
        None
    }

    /// Runs one job: its work read back typed, then the one handler for that work.
    async fn handle_job(&self, job: &Job) -> Result<(), JobError> {
        #[cfg(test)]
        match job.kind.as_str() {
            tests::PANICS => panic!("poisoned job {}", job.id),
            tests::SUCCEEDS => return Ok(()),
            _ => {}
        }
        match job.work().map_err(JobError::Permanent)? {
            JobWork::MessageFollowup { message } => Ok(self.message_followup(message).await?),
            JobWork::EmailSend { message } => self.email_send(message).await,
            JobWork::EmailIngest { inbound, again } => self.email_ingest(inbound, again).await,
            JobWork::ProactiveSend { order, rule } => self.proactive_send(order, &rule).await,
        }
    }

    /// After a customer message: the acknowledgement of a new conversation (sent once, even when
    /// this runs twice: its client message id is derived from the message), then routing
    /// (which only assigns a conversation nobody has).
    pub(crate) async fn message_followup(&self, message: MessageId) -> EngineResult<()> {
        let (m, conversation) = self
            .store
            .message_with_conversation(message)
            .await?
            .ok_or(EngineError::NotFound)?;
        let inbox = self
            .store
            .inbox(conversation.inbox_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        // The answer bot, where it answers and nobody has the conversation yet: it greets (no
        // acknowledgement) and routes only when it hands over.
        match self.bot_turn(&m, &conversation, &inbox).await? {
            crate::bot::BotTurn::Answered => return Ok(()),
            crate::bot::BotTurn::HandedOver => {
                let current = self
                    .store
                    .conversation(conversation.id)
                    .await?
                    .ok_or(EngineError::NotFound)?;
                self.route(&current).await?;
                return Ok(());
            }
            crate::bot::BotTurn::NotMine => {}
        }
        // The conversation as routing should see it: as read above, or as the acknowledgement
        // left it (routing assigns only a conversation nobody has, whatever it is handed).
        let mut current = conversation;
        let first = m.seq == 1;
        if first && inbox.auto_ack {
            let contact = self.store.contact(current.contact_id).await?;
            let locale = contact
                .as_ref()
                .and_then(|c| c.locale.as_deref())
                .and_then(Locale::from_tag)
                .unwrap_or(Locale::En);
            let text = layan_core::acknowledgement(current.number, inbox.response_minutes, locale);
            current = self
                .ingest(NewMessage {
                    target: Target::Conversation(current.id),
                    direction: Direction::Bot,
                    author: Author::Bot,
                    author_name: Some(inbox.name.clone()),
                    body: MessageBody::parse(&text)?,
                    client_message_id: Some(layan_core::ClientMessageId::parse(&format!(
                        "ack-{}",
                        m.id
                    ))?),
                    automations: false,
                    attachments: Vec::new(),
                    extras: None,
                })
                .await?
                .conversation;
        }
        self.route(&current).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use layan_core::JobStatus;
    use layan_store::NewJob;

    /// Job kinds only tests have: one whose handler panics, one that succeeds.
    pub(super) const PANICS: &str = "test.panics";
    pub(super) const SUCCEEDS: &str = "test.succeeds";

    /// A handler that panics counts an attempt, is retried, and ends parked as failed with the
    /// panic's words; the jobs around it — in the same batches — are done, and the worker keeps
    /// taking jobs after it.
    #[tokio::test]
    async fn a_panicking_job_is_parked_and_stops_nothing_else() {
        let (_dir, store, engine) = crate::tests::sqlite_engine().await;
        let enqueue = |kind: &'static str, key: String| {
            let store = store.clone();
            async move {
                store
                    .enqueue_job(NewJob {
                        kind,
                        payload: "{}",
                        dedupe_key: Some(&key),
                        run_at: layan_core::now_millis(),
                        max_attempts: 3,
                    })
                    .await
                    .unwrap();
            }
        };
        for i in 0..20 {
            enqueue(SUCCEEDS, format!("a{i}")).await;
        }
        enqueue(PANICS, "poison".into()).await;
        for i in 0..20 {
            enqueue(SUCCEEDS, format!("b{i}")).await;
        }
        let worker = engine.start_workers();
        // The poison's retries back off (2 s, then 4 s); its attempts run out within ~10 s.
        let mut parked = Vec::new();
        for _ in 0..300 {
            parked = store.list_jobs(Some(JobStatus::Failed), 10).await.unwrap();
            if !parked.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(parked.len(), 1, "the poisoned job is parked");
        assert_eq!(parked[0].kind, PANICS);
        assert_eq!(parked[0].attempts, 3);
        let error = parked[0].last_error.clone().unwrap();
        assert!(error.contains("poisoned job"), "{error}");
        let done = store.list_jobs(Some(JobStatus::Done), 100).await.unwrap();
        assert_eq!(done.len(), 40, "every other job ran");
        // The worker still works after the panics.
        enqueue(SUCCEEDS, "after".into()).await;
        engine.wake_jobs();
        let mut counts = store.job_counts().await.unwrap();
        for _ in 0..100 {
            if counts.done == 41 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            counts = store.job_counts().await.unwrap();
        }
        assert_eq!((counts.done, counts.failed, counts.queued), (41, 1, 0));
        worker.stop(std::time::Duration::from_secs(1)).await;
    }
}
