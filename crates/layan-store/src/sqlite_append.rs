//! SQLite's group commit: messages, the contacts new widget visitors become, and the job
//! worker's claims and completions. SQLite has one writer, and through sqlx every statement is a
//! round trip to the connection's own thread (about 50 µs; a message is six to eight statements):
//! that was the whole cost of a message. Here a group commit runs synchronously on a connection
//! of its own, on a thread of its own, through rusqlite, with its statements prepared once — the
//! same statements as PostgreSQL's (`append.rs`) — and without a savepoint per write unless one
//! of the batch fails. A new visitor's contact and a job claim go the same way: each was a
//! transaction and an fsync of its own, one after another on the one writer, which capped new
//! conversations at about one per fsync. It writes only while holding the sqlx writer connection
//! (see `SqliteStore::write_batch`), so the two never wait on SQLite's lock for each other.

use layan_core::{
    Author, Contact, ConversationStatus, Direction, Job, Millis, NewMessage, Target, now_millis,
};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode, Statement, params};

use crate::{
    Appended, NewJob, StoreError, StoreResult, append, batch_error,
    rows::{self, Positional},
};

/// The thread that stores the group commit's writes, with its connection: the batch runs
/// synchronously there, never on the async runtime's workers (and works the same on a
/// current-thread runtime).
#[derive(Clone)]
pub(crate) struct Appender {
    /// Where batches go; `None` once closed.
    jobs: Arc<Mutex<Option<std::sync::mpsc::Sender<Batch>>>>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

type Batch = (
    Vec<Write>,
    tokio::sync::oneshot::Sender<Vec<StoreResult<Written>>>,
);

/// What the group commit stores.
pub(crate) enum Write {
    Message(NewMessage),
    /// A new contact known by one identity (a new widget visitor, by their token's hash).
    Contact(IdentifiedContact),
    /// A worker leases due jobs (see `jobs::claim_sql`).
    ClaimJobs {
        worker: String,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    },
    /// A worker's jobs done.
    CompleteJobs(Vec<i64>),
}

/// A new contact with the identity that finds it again.
pub(crate) struct IdentifiedContact {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) kind: String,
    pub(crate) value: String,
}

/// What a [`Write`] stored. (Nearly every write is a message: boxing it to shrink the rarer
/// variants would cost an allocation per message.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Written {
    Message(Appended),
    Contact(Contact),
    /// The jobs claimed (none for a completion).
    Jobs(Vec<Job>),
}

impl Appender {
    /// Opens the append connection (after the migrations: the same file and settings as sqlx's)
    /// on its thread, prepares its statements there, and returns once both are done; the thread
    /// ends when the last `Appender` is dropped.
    pub(crate) fn start(path: &std::path::Path, fsync_every_commit: bool) -> StoreResult<Self> {
        let path = path.to_owned();
        let (jobs, queue) = std::sync::mpsc::channel::<Batch>();
        let (ready, started) = std::sync::mpsc::channel::<StoreResult<()>>();
        let thread = std::thread::Builder::new()
            .name("layan-sqlite-append".into())
            .spawn(move || {
                let conn = match open(&path, fsync_every_commit) {
                    Ok(conn) => conn,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                let mut statements = match Statements::prepare(&conn) {
                    Ok(statements) => statements,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                let _ = ready.send(Ok(()));
                for (batch, reply) in queue {
                    // The caller may have gone; what was stored stays stored.
                    let _ = reply.send(write_batch(&mut statements, &batch));
                }
            })
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        started
            .recv()
            .map_err(|_| StoreError::Unavailable("the message writer did not start".into()))??;
        Ok(Self {
            jobs: Arc::new(Mutex::new(Some(jobs))),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Stores the batch on the thread (see [`write_batch`]).
    pub(crate) async fn write(&self, batch: Vec<Write>) -> Vec<StoreResult<Written>> {
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

fn open(path: &std::path::Path, fsync_every_commit: bool) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(error)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(error)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(error)?;
    // As the sqlx connections: deleted content is zeroed (see `sqlite.rs`).
    conn.pragma_update(None, "secure_delete", true)
        .map_err(error)?;
    let synchronous = if fsync_every_commit { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(error)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        crate::sqlite::WAL_AUTOCHECKPOINT,
    )
    .map_err(error)?;
    Ok(conn)
}

/// The writer's statements, prepared once when its thread starts (rusqlite's statement cache
/// hashes the whole SQL text on every use).
struct Statements<'c> {
    begin: Statement<'c>,
    commit: Statement<'c>,
    rollback: Statement<'c>,
    savepoint: Statement<'c>,
    rollback_to: Statement<'c>,
    release: Statement<'c>,
    by_client_id: Statement<'c>,
    conversation: Statement<'c>,
    current: Statement<'c>,
    advance: Statement<'c>,
    insert_message: Statement<'c>,
    attach: Statement<'c>,
    inbox_channel: Statement<'c>,
    next_number: Statement<'c>,
    open_conversation: Statement<'c>,
    insert_job: Statement<'c>,
    insert_contact: Statement<'c>,
    insert_identity: Statement<'c>,
    claim_jobs: Statement<'c>,
    complete_jobs: Statement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> StoreResult<Self> {
        let p = |sql: &str| conn.prepare(sql).map_err(error);
        Ok(Self {
            begin: p("BEGIN IMMEDIATE")?,
            commit: p("COMMIT")?,
            rollback: p("ROLLBACK")?,
            savepoint: p("SAVEPOINT message")?,
            rollback_to: p("ROLLBACK TO message")?,
            release: p("RELEASE message")?,
            by_client_id: p(&append::BY_CLIENT_ID)?,
            conversation: p(&append::CONVERSATION)?,
            current: p(&append::CURRENT_CONVERSATION)?,
            advance: p(&append::ADVANCE)?,
            insert_message: p(append::INSERT_MESSAGE)?,
            attach: p(append::ATTACH)?,
            inbox_channel: p(append::INBOX_CHANNEL)?,
            next_number: p(append::NEXT_TICKET_NUMBER)?,
            open_conversation: p(&append::OPEN_CONVERSATION)?,
            insert_job: p(crate::jobs::INSERT_JOB)?,
            insert_contact: p(&append::INSERT_CONTACT)?,
            insert_identity: p(append::INSERT_IDENTITY)?,
            // One writer: nothing to skip.
            claim_jobs: p(&crate::jobs::claim_sql(""))?,
            complete_jobs: p("UPDATE jobs SET status = 'done', lease_until = NULL, \
                 updated_at = ? WHERE id IN (SELECT value FROM json_each(?))")?,
        })
    }
}

/// Runs a statement that returns no rows.
fn run(statement: &mut Statement<'_>) -> StoreResult<()> {
    statement.execute([]).map(drop).map_err(error)
}

/// Stores the batch in one transaction (one commit, one fsync). Optimistically first: every
/// write straight into the transaction; if any of them fails (a retried send, an unknown
/// conversation, an attachment that is not the author's…), the transaction is rolled back and
/// the batch stored again with each write in a savepoint of its own (see [`write_each`]), so
/// one that fails fails alone. A savepoint per write costs two statements and a copy of every
/// page it touches; failures are rare. Results are in the batch's order; if the commit fails,
/// every write fails and nothing was stored.
fn write_batch(st: &mut Statements<'_>, batch: &[Write]) -> Vec<StoreResult<Written>> {
    if let Err(e) = run(&mut st.begin) {
        return batch_error(batch.len(), &e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for write in batch {
        match write_one(st, write) {
            Ok(written) => results.push(Ok(written)),
            Err(_) => {
                let _ = run(&mut st.rollback);
                return write_each(st, batch);
            }
        }
    }
    finish(st, results)
}

fn write_one(st: &mut Statements<'_>, write: &Write) -> StoreResult<Written> {
    match write {
        Write::Message(new) => append_one(st, new).map(Written::Message),
        Write::Contact(new) => insert_contact(st, new).map(Written::Contact),
        Write::ClaimJobs {
            worker,
            now,
            lease_ms,
            limit,
        } => {
            let mut rows = st
                .claim_jobs
                .query(params![now + lease_ms, worker, now, now, now, limit])
                .map_err(error)?;
            let mut jobs = Vec::new();
            while let Some(row) = rows.next().map_err(error)? {
                jobs.push(rows::job(row)?);
            }
            Ok(Written::Jobs(jobs))
        }
        Write::CompleteJobs(ids) => {
            let ids = serde_json::to_string(ids).map_err(|e| StoreError::Database(Box::new(e)))?;
            st.complete_jobs
                .execute(params![now_millis(), ids])
                .map_err(error)?;
            Ok(Written::Jobs(Vec::new()))
        }
    }
}

/// Commits, or rolls back and fails the whole batch.
fn finish(
    st: &mut Statements<'_>,
    results: Vec<StoreResult<Written>>,
) -> Vec<StoreResult<Written>> {
    match run(&mut st.commit) {
        Ok(()) => results,
        Err(e) => {
            let _ = run(&mut st.rollback);
            batch_error(results.len(), &e)
        }
    }
}

/// The batch in one transaction with each write in a savepoint: a write that fails is rolled
/// back alone and gets its own error; a retried send gets the stored message.
fn write_each(st: &mut Statements<'_>, batch: &[Write]) -> Vec<StoreResult<Written>> {
    if let Err(e) = run(&mut st.begin) {
        return batch_error(batch.len(), &e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for write in batch {
        let outcome = savepoint(st, |st| write_one(st, write)).map(|r| match (r, write) {
            // A retried send: the insert met the stored one (its changes are rolled back).
            (Err(StoreError::Conflict("duplicate_client_message")), Write::Message(new)) => {
                match stored(st, new) {
                    Ok(Some(found)) => Ok(Written::Message(found)),
                    Ok(None) => Err(StoreError::Conflict("duplicate_client_message")),
                    Err(e) => Err(e),
                }
            }
            (other, _) => other,
        });
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                let _ = run(&mut st.rollback);
                return batch_error(batch.len(), &e);
            }
        }
    }
    finish(st, results)
}

/// Runs `f` in a savepoint, rolled back when it fails. The outer error is the savepoint's own
/// failure (the transaction is unusable); the inner one is `f`'s.
fn savepoint<'c, T>(
    st: &mut Statements<'c>,
    f: impl FnOnce(&mut Statements<'c>) -> StoreResult<T>,
) -> StoreResult<StoreResult<T>> {
    run(&mut st.savepoint)?;
    let result = f(st);
    if result.is_err() {
        run(&mut st.rollback_to)?;
    }
    run(&mut st.release)?;
    Ok(result)
}

/// A conversation from a row of `CONV_COLS` or `CONV_RET`, read by position.
fn conversation_row(row: &rusqlite::Row<'_>) -> StoreResult<layan_core::Conversation> {
    rows::conversation(&Positional {
        row,
        names: &rows::CONV_NAMES,
    })
}

fn append_one(st: &mut Statements<'_>, new: &NewMessage) -> StoreResult<Appended> {
    let now = now_millis();
    let author_kind = new.author.kind_str();
    let author_id = new.author.id();

    // A retried send is found by the unique index when the message is inserted; authors
    // without an id (the bot, the system) are not covered by it (NULLs are distinct).
    if author_id.is_none()
        && let Some(found) = stored(st, new)?
    {
        return Ok(found);
    }

    let (conversation, created) = match new.target {
        Target::Conversation(id) => (
            one(&mut st.conversation, params![id.0], conversation_row)?
                .ok_or(StoreError::NotFound)?,
            false,
        ),
        // One writer: nothing else can open the contact's conversation meanwhile.
        Target::CurrentOrNew {
            inbox_id,
            contact_id,
        } => match one(
            &mut st.current,
            params![contact_id.0, inbox_id.0],
            conversation_row,
        )? {
            Some(c) if c.status.accepts_customer_messages() => (c, false),
            _ => (open_conversation(st, inbox_id.0, contact_id.0, now)?, true),
        },
        Target::New {
            inbox_id,
            contact_id,
        } => (open_conversation(st, inbox_id.0, contact_id.0, now)?, true),
    };

    let (status, waiting_since) = append::advance(&conversation, new.direction, now);
    let updated = one(
        &mut st.advance,
        params![
            status.as_str(),
            waiting_since,
            status == ConversationStatus::Snoozed,
            new.direction == Direction::Incoming,
            now,
            now,
            conversation.id.0
        ],
        conversation_row,
    )?
    .ok_or(StoreError::NotFound)?;

    let extras = new
        .extras
        .as_ref()
        .and_then(|e| serde_json::to_string(e).ok());
    let id = one(
        &mut st.insert_message,
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
        |row| row.get::<_, i64>(0).map_err(error),
    )?
    .ok_or(StoreError::Conflict("duplicate_client_message"))?;
    if !new.attachments.is_empty() {
        // The author's own uploads to this conversation, not attached yet — all or nothing.
        let Author::Agent(agent) = new.author else {
            return Err(StoreError::Conflict("attachment_unavailable"));
        };
        for attachment in &new.attachments {
            let done = st
                .attach
                .execute(params![id, attachment, updated.id.0, agent.0])
                .map_err(error)?;
            if done != 1 {
                return Err(StoreError::Conflict("attachment_unavailable"));
            }
        }
    }
    let channel = if append::needs_channel(new) {
        one(&mut st.inbox_channel, params![updated.inbox_id.0], |row| {
            row.get::<_, Option<String>>(0).map_err(error)
        })?
        .flatten()
    } else {
        None
    };
    for job in append::MessageJob::for_message(new, id, channel.as_deref()) {
        insert_job(st, &job.job(now))?;
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
fn stored(st: &mut Statements<'_>, new: &NewMessage) -> StoreResult<Option<Appended>> {
    let Some(client_id) = &new.client_message_id else {
        return Ok(None);
    };
    let params = params![new.author.kind_str(), new.author.id(), client_id.as_str()];
    let Some(message) = one(&mut st.by_client_id, params, |row| rows::message(row))?.flatten()
    else {
        return Ok(None);
    };
    let conversation = one(
        &mut st.conversation,
        params![message.conversation_id.0],
        conversation_row,
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
    st: &mut Statements<'_>,
    inbox_id: i64,
    contact_id: i64,
    now: i64,
) -> StoreResult<layan_core::Conversation> {
    let number = one(&mut st.next_number, [], |row| {
        row.get::<_, i64>(0).map_err(error)
    })?
    .ok_or(StoreError::NotFound)?;
    one(
        &mut st.open_conversation,
        params![number, inbox_id, contact_id, now, now, now],
        conversation_row,
    )?
    .ok_or(StoreError::NotFound)
}

/// A new contact and its identity (`Conflict("identity_taken")` when the identity names
/// another contact already).
fn insert_contact(st: &mut Statements<'_>, new: &IdentifiedContact) -> StoreResult<Contact> {
    let now = now_millis();
    let contact = one(
        &mut st.insert_contact,
        params![new.name, new.email, new.locale, now],
        |row| rows::contact(row),
    )?
    .ok_or(StoreError::NotFound)?;
    st.insert_identity
        .execute(params![new.kind, new.value, contact.id.0, now])
        .map_err(error)?;
    Ok(contact)
}

fn insert_job(st: &mut Statements<'_>, job: &NewJob<'_>) -> StoreResult<()> {
    let now = now_millis();
    st.insert_job
        .execute(params![
            job.kind,
            job.payload,
            job.dedupe_key,
            job.max_attempts,
            job.run_at,
            now,
            now
        ])
        .map_err(error)?;
    Ok(())
}

/// The first row of a prepared statement, read by `read`; `None` when there is none.
fn one<T>(
    statement: &mut Statement<'_>,
    params: impl rusqlite::Params,
    read: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut rows = statement.query(params).map_err(error)?;
    match rows.next().map_err(error)? {
        Some(row) => read(row).map(Some),
        None => Ok(None),
    }
}

/// rusqlite's errors as the store's: a uniqueness rule broken is a conflict named like sqlx's
/// (see `queries.rs`), a busy or unopenable database is unavailable.
pub(crate) fn error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        match failure.code {
            // A primary key is a uniqueness rule too (as sqlx's `is_unique_violation` has it).
            ErrorCode::ConstraintViolation
                if matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The message writer's connection checkpoints at the same WAL size as sqlx's.
    #[test]
    fn the_writer_connection_checkpoints_at_the_configured_wal_size() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::open(&dir.path().join("layan.db"), true).unwrap();
        let pages: i64 = conn
            .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
            .unwrap();
        assert_eq!(pages, crate::sqlite::WAL_AUTOCHECKPOINT);
        let secure: i64 = conn
            .pragma_query_value(None, "secure_delete", |row| row.get(0))
            .unwrap();
        assert_eq!(
            secure, 1,
            "deleted content is zeroed on this connection too"
        );
    }
}
