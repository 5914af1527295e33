//! SQLite's message append. SQLite has one writer, and through sqlx every statement is a round
//! trip to the connection's own thread (about 50 µs; a message is six to eight statements): that
//! was the whole cost of a message. Here a group commit runs synchronously on a connection of its
//! own, on a thread of its own, through rusqlite, with its statements prepared once — the same statements as
//! PostgreSQL's (`append.rs`). It writes only while holding the sqlx writer connection (see
//! `SqliteStore::append_batch`), so the two never wait on SQLite's lock for each other.

use layan_core::{Author, ConversationStatus, Direction, NewMessage, Target, now_millis};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode, params};

use crate::{
    Appended, NewJob, StoreError, StoreResult, append, batch_error,
    rows::{self, Columns},
};

/// The thread that stores messages, with its connection: the batch runs synchronously there,
/// never on the async runtime's workers (and works the same on a current-thread runtime).
#[derive(Clone)]
pub(crate) struct Appender {
    /// Where batches go; `None` once closed.
    jobs: Arc<Mutex<Option<std::sync::mpsc::Sender<Batch>>>>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

type Batch = (
    Vec<NewMessage>,
    tokio::sync::oneshot::Sender<Vec<StoreResult<Appended>>>,
);

impl Appender {
    /// Opens the append connection (after the migrations: the same file and settings as sqlx's)
    /// and starts its thread, which ends when the last `Appender` is dropped.
    pub(crate) fn start(path: &std::path::Path, fsync_every_commit: bool) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(error)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(error)?;
        let synchronous = if fsync_every_commit { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(32);
        let (jobs, queue) = std::sync::mpsc::channel::<Batch>();
        let thread = std::thread::Builder::new()
            .name("layan-sqlite-append".into())
            .spawn(move || {
                for (batch, reply) in queue {
                    let batch: Vec<&NewMessage> = batch.iter().collect();
                    // The caller may have gone; what was stored stays stored.
                    let _ = reply.send(append_batch(&conn, &batch));
                }
            })
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self {
            jobs: Arc::new(Mutex::new(Some(jobs))),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Stores the batch on the thread (see [`append_batch`]).
    pub(crate) async fn append(&self, batch: Vec<NewMessage>) -> Vec<StoreResult<Appended>> {
        let n = batch.len();
        let (reply, result) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Unavailable("the message writer stopped".into());
        let jobs = self.jobs.lock().ok().and_then(|jobs| jobs.clone());
        if jobs.is_none_or(|jobs| jobs.send((batch, reply)).is_err()) {
            return batch_error(n, &gone());
        }
        result.await.unwrap_or_else(|_| batch_error(n, &gone()))
    }

    /// Stops taking batches, lets the thread finish the one it is storing and closes its
    /// connection — so that sqlx's, closed after it, is the last one and checkpoints the WAL
    /// into the database file (a stopped server leaves only `layan.db`, as the README's backup
    /// section says).
    pub(crate) async fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Stores the batch in one transaction (one commit, one fsync), each message in a savepoint so
/// one that fails fails alone. Results are in the batch's order; if the commit fails, every
/// message fails and nothing was stored.
fn append_batch(conn: &Connection, batch: &[&NewMessage]) -> Vec<StoreResult<Appended>> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return batch_error(batch.len(), &error(e));
    }
    let mut results = Vec::with_capacity(batch.len());
    for new in batch {
        let outcome = savepoint(conn, |conn| append_one(conn, new)).map(|r| match r {
            // A retried send: the insert met the stored one (its changes are rolled back).
            Err(StoreError::Conflict("duplicate_client_message")) => {
                stored(conn, new).transpose().unwrap_or(r)
            }
            other => other,
        });
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return batch_error(batch.len(), &e);
            }
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => results,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            batch_error(batch.len(), &error(e))
        }
    }
}

/// Runs `f` in a savepoint, rolled back when it fails. The outer error is the savepoint's own
/// failure (the transaction is unusable); the inner one is `f`'s.
fn savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<StoreResult<T>> {
    let run = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
    run("SAVEPOINT message").map_err(error)?;
    let result = f(conn);
    if result.is_err() {
        run("ROLLBACK TO message").map_err(error)?;
    }
    run("RELEASE message").map_err(error)?;
    Ok(result)
}

fn append_one(conn: &Connection, new: &NewMessage) -> StoreResult<Appended> {
    let now = now_millis();
    let author_kind = new.author.kind_str();
    let author_id = new.author.id();

    // A retried send is found by the unique index when the message is inserted; authors
    // without an id (the bot, the system) are not covered by it (NULLs are distinct).
    if author_id.is_none()
        && let Some(found) = stored(conn, new)?
    {
        return Ok(found);
    }

    let (conversation, created) = match new.target {
        Target::Conversation(id) => (
            one(conn, &append::CONVERSATION, params![id.0], |row| {
                rows::conversation(row)
            })?
            .ok_or(StoreError::NotFound)?,
            false,
        ),
        // One writer: nothing else can open the contact's conversation meanwhile.
        Target::CurrentOrNew {
            inbox_id,
            contact_id,
        } => match one(
            conn,
            &append::CURRENT_CONVERSATION,
            params![contact_id.0, inbox_id.0],
            |row| rows::conversation(row),
        )? {
            Some(c) if c.status.accepts_customer_messages() => (c, false),
            _ => (
                open_conversation(conn, inbox_id.0, contact_id.0, now)?,
                true,
            ),
        },
        Target::New {
            inbox_id,
            contact_id,
        } => (
            open_conversation(conn, inbox_id.0, contact_id.0, now)?,
            true,
        ),
    };

    let (status, waiting_since) = append::advance(&conversation, new.direction, now);
    let updated = one(
        conn,
        &append::ADVANCE,
        params![
            status.as_str(),
            waiting_since,
            status == ConversationStatus::Snoozed,
            new.direction == Direction::Incoming,
            now,
            now,
            conversation.id.0
        ],
        |row| rows::conversation(row),
    )?
    .ok_or(StoreError::NotFound)?;

    let extras = new
        .extras
        .as_ref()
        .and_then(|e| serde_json::to_string(e).ok());
    let id = one(
        conn,
        append::INSERT_MESSAGE,
        params![
            updated.id.0,
            updated.last_seq,
            new.direction.as_str(),
            author_kind,
            author_id,
            new.author_name.as_deref(),
            new.body.as_str(),
            new.client_message_id.as_ref().map(|c| c.as_str()),
            now,
            extras
        ],
        |row| row.req_int("id"),
    )?
    .ok_or(StoreError::Conflict("duplicate_client_message"))?;
    if !new.attachments.is_empty() {
        // The author's own uploads to this conversation, not attached yet — all or nothing.
        let Author::Agent(agent) = new.author else {
            return Err(StoreError::Conflict("attachment_unavailable"));
        };
        let mut attach = conn.prepare_cached(append::ATTACH).map_err(error)?;
        for attachment in &new.attachments {
            let done = attach
                .execute(params![id, attachment, updated.id.0, agent.0])
                .map_err(error)?;
            if done != 1 {
                return Err(StoreError::Conflict("attachment_unavailable"));
            }
        }
    }
    let channel = if append::needs_channel(new) {
        one(
            conn,
            append::INBOX_CHANNEL,
            params![updated.inbox_id.0],
            |row| row.text("channel"),
        )?
        .flatten()
    } else {
        None
    };
    for job in append::MessageJob::for_message(new, id, channel.as_deref()) {
        insert_job(conn, &job.job(now))?;
    }
    Ok(append::appended(
        new,
        id,
        &conversation,
        updated,
        created,
        now,
    ))
}

/// The message `new`'s author already stored with its client message id, if any.
fn stored(conn: &Connection, new: &NewMessage) -> StoreResult<Option<Appended>> {
    let Some(client_id) = &new.client_message_id else {
        return Ok(None);
    };
    let params = params![new.author.kind_str(), new.author.id(), client_id.as_str()];
    let Some(message) = one(conn, &append::BY_CLIENT_ID, params, |row| {
        rows::message(row)
    })?
    .flatten() else {
        return Ok(None);
    };
    let conversation = one(
        conn,
        &append::CONVERSATION,
        params![message.conversation_id.0],
        |row| rows::conversation(row),
    )?
    .ok_or(StoreError::NotFound)?;
    Ok(Some(Appended {
        message,
        conversation,
        created_conversation: false,
        duplicate: true,
        previous_status: None,
    }))
}

fn open_conversation(
    conn: &Connection,
    inbox_id: i64,
    contact_id: i64,
    now: i64,
) -> StoreResult<layan_core::Conversation> {
    let number = one(conn, append::NEXT_TICKET_NUMBER, [], |row| {
        row.req_int("value")
    })?
    .ok_or(StoreError::NotFound)?;
    one(
        conn,
        &append::OPEN_CONVERSATION,
        params![number, inbox_id, contact_id, now, now, now],
        |row| rows::conversation(row),
    )?
    .ok_or(StoreError::NotFound)
}

fn insert_job(conn: &Connection, job: &NewJob<'_>) -> StoreResult<()> {
    let now = now_millis();
    conn.prepare_cached(crate::jobs::INSERT_JOB)
        .and_then(|mut st| {
            st.execute(params![
                job.kind,
                job.payload,
                job.dedupe_key,
                job.max_attempts,
                job.run_at,
                now,
                now
            ])
        })
        .map_err(error)?;
    Ok(())
}

/// The first row of a cached statement, read by `read`; `None` when there is none.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(error)?;
    let mut rows = statement.query(params).map_err(error)?;
    match rows.next().map_err(error)? {
        Some(row) => read(row).map(Some),
        None => Ok(None),
    }
}

/// rusqlite's errors as the store's: a uniqueness rule broken is a conflict named like sqlx's
/// (see `queries.rs`), a busy or unopenable database is unavailable.
fn error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        match failure.code {
            ErrorCode::ConstraintViolation
                if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                return StoreError::Conflict(crate::unique_rule(
                    message.as_deref().unwrap_or_default(),
                ));
            }
            ErrorCode::ConstraintViolation
                if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                return StoreError::NotFound;
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull => return StoreError::Unavailable(Box::new(e)),
            _ => {}
        }
    }
    StoreError::Database(Box::new(e))
}
