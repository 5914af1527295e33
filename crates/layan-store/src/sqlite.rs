//! The SQLite backend: one file in the data directory, WAL journal, one writer connection (SQLite
//! allows one writer at a time; a single connection turns lock contention into a queue) and a small
//! pool of readers.

use std::{path::PathBuf, str::FromStr, time::Duration};

use layan_core::{
    Agent, AgentId, ApiTokenInfo, Article, ArticleId, ArticleStatus, AuditEntry, AutoAssign,
    CannedId, CannedResponse, Category, CategoryId, ChannelKind, Contact, ContactId, Conversation,
    ConversationId, ConversationStatus, ConversationSummary, Inbox, InboxId, Job, JobStatus,
    Locale, Message, MessageId, Millis, NewMessage, Notification, Priority, Role, Team, TeamId,
    TicketNumber, ViewCounts, now_millis,
};
use sqlx::{
    QueryBuilder, Row, Sqlite, SqlitePool,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
};

use crate::sqlite_append::{IdentifiedContact, Write, Written};
use crate::{
    AgentChanges, Appended, ConversationChanges, ConversationFilter, ConversationSort,
    InboxChanges, JobCounts, NewAgent, NewAudit, NewCanned, NewContact, NewInbox, NewJob,
    NewSession, RoutingMember, SessionRecord, StoreError, StoreResult, Throttle, kb::ArticleFilter,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file.
    pub path: PathBuf,
    /// `synchronous=FULL` (fsync on every commit: an acknowledged message survives a power cut)
    /// when true; `NORMAL` (survives a process crash, not a power cut) when false.
    pub fsync_every_commit: bool,
    /// How many read connections to keep.
    pub readers: u32,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fsync_every_commit: true,
            readers: 4,
        }
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The connection the group commit writes on (rusqlite; see `sqlite_append.rs`).
    appender: crate::sqlite_append::Appender,
    /// Messages, new contacts and job claims to store, handed to the group-commit task.
    appends: tokio::sync::mpsc::Sender<Pending>,
    /// The hottest reads, on the calling thread (rusqlite; see `sqlite_read.rs`).
    point: std::sync::Arc<crate::sqlite_read::PointReads>,
}

/// An exclusive advisory lock on `<database file>.lock`, held while a process opens (and
/// migrates) the database; released on drop.
struct OpenLock(std::fs::File);

impl OpenLock {
    async fn acquire(database: &std::path::Path) -> StoreResult<Self> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?
        .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self(file))
    }
}

impl Drop for OpenLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// The WAL is copied back into the database file (a checkpoint, run by whichever connection
/// commits past it) once it holds this many pages — 40 MB at 4 KiB pages, not SQLite's 1,000.
/// A checkpoint writes each page once however often the WAL has it, and the pages messages touch
/// (their conversations, the list indexes) are rewritten over and over: ten times fewer
/// checkpoints took the message writer from 17,000 to 19,500 messages/s (BENCHMARKS.md).
pub(crate) const WAL_AUTOCHECKPOINT: i64 = 10_000;

/// At most this many messages share one commit.
const MAX_BATCH: usize = 256;

impl SqliteStore {
    pub async fn open(opts: &SqliteOptions) -> StoreResult<Self> {
        if let Some(dir) = opts.path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(Box::new(e)))?;
            // A data directory we make is the server's alone.
            private(dir, 0o700)?;
            // (A directory the shop made keeps the permissions it chose.)
        }
        let base = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db)?
            .filename(&opts.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if opts.fsync_every_commit {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            // Deleted and overwritten content is zeroed in the file, free pages included
            // (`fast` would leave it on free pages): an erased customer leaves nothing behind.
            .pragma("secure_delete", "on")
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT.to_string())
            .busy_timeout(Duration::from_secs(10));
        // SQLite's migrator takes no lock across processes, and switching a fresh file to WAL
        // needs an exclusive lock that is not always waited for: two processes opening a new
        // file together could fail with "database is locked". An advisory lock on a side file
        // (`<file>.lock`, held only while opening) puts them one after the other; the second
        // then finds the schema made and applies nothing.
        let guard = OpenLock::acquire(&opts.path).await?;
        // No ping before handing out a connection (sqlx's default, meant for networked
        // databases): an SQLite connection is a file handle on its own thread and cannot drop,
        // and the ping is one more round trip to that thread for every query.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(base.clone())
            .await
            .map_err(db)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        // The database holds customers' data: readable by the server's user only (SQLite
        // gives new -wal and -shm files the database file's permissions; the ones just made
        // are set too).
        for suffix in ["", "-wal", "-shm"] {
            let mut name = opts.path.as_os_str().to_owned();
            name.push(suffix);
            let path = std::path::PathBuf::from(name);
            if path.exists() {
                private(&path, 0o600)?;
            }
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(opts.readers.max(1))
            .test_before_acquire(false)
            .connect_with(base.read_only(true))
            .await
            .map_err(db)?;
        let appender = crate::sqlite_append::Appender::start(&opts.path, opts.fsync_every_commit)?;
        drop(guard);
        let (appends, queue) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
        let store = Self {
            appender,
            writer,
            reader,
            appends,
            point: std::sync::Arc::new(crate::sqlite_read::PointReads::new(&opts.path)),
        };
        tokio::spawn(store.clone().group_commit(queue));
        Ok(store)
    }

    /// Group commit: SQLite has one writer and every commit is an fsync, so writes (messages,
    /// new visitors' contacts, the job worker's claims and completions) that arrive while a
    /// commit is running wait and go together in the next transaction (one fsync for all). Each
    /// caller gets its result after that commit. With one sender at a time this is one write
    /// per transaction, as before.
    async fn group_commit(self, mut queue: tokio::sync::mpsc::Receiver<Pending>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (writes, replies): (Vec<Write>, Vec<_>) = batch.drain(..).unzip();
            let results = self.write_batch(writes).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // The caller may have gone (a dropped request); the write is stored anyway.
                let _ = reply.send(result);
            }
        }
    }

    /// Stores several writes in one transaction (see `sqlite_append.rs`). The sqlx writer
    /// connection is held meanwhile, unused: SQLite has one writer at a time, and holding it
    /// keeps every other write waiting in the pool's queue instead of on SQLite's busy lock.
    async fn write_batch(&self, batch: Vec<Write>) -> Vec<StoreResult<Written>> {
        let _writer = match self.writer.acquire().await {
            Ok(conn) => conn,
            Err(e) => return crate::batch_error(batch.len(), &db(e)),
        };
        self.appender.write(batch).await
    }

    /// Stores several messages in one transaction (see [`Self::write_batch`]).
    pub async fn append_batch(&self, batch: Vec<NewMessage>) -> Vec<StoreResult<Appended>> {
        let writes = batch.into_iter().map(Write::Message).collect();
        self.write_batch(writes)
            .await
            .into_iter()
            .map(|r| r.and_then(Written::into_message))
            .collect()
    }

    /// Stores a message through the group commit.
    pub async fn append_message(&self, new: &NewMessage) -> StoreResult<Appended> {
        crate::group_committed(&self.appends, Write::Message(new.clone()))
            .await?
            .into_message()
    }

    /// A new contact and its identity, through the group commit (a new widget visitor's, on
    /// every first visit); `Conflict("identity_taken")` when the identity names another
    /// contact already.
    pub async fn create_contact_with_identity(
        &self,
        new: NewContact<'_>,
        kind: &str,
        value: &str,
    ) -> StoreResult<Contact> {
        let write = Write::Contact(IdentifiedContact {
            name: new.name.map(str::to_owned),
            email: new.email.map(str::to_owned),
            locale: new.locale.map(str::to_owned),
            kind: kind.to_owned(),
            value: value.to_owned(),
        });
        match crate::group_committed(&self.appends, write).await? {
            Written::Contact(contact) => Ok(contact),
            _ => Err(mismatch()),
        }
    }

    /// Leases due jobs to `worker`, through the group commit (see `jobs::claim_sql`).
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        let write = Write::ClaimJobs {
            worker: worker.to_owned(),
            now,
            lease_ms,
            limit,
        };
        match crate::group_committed(&self.appends, write).await? {
            Written::Jobs(jobs) => Ok(jobs),
            _ => Err(mismatch()),
        }
    }

    /// Records a worker's jobs done, through the group commit.
    pub async fn complete_jobs(&self, ids: &[i64]) -> StoreResult<()> {
        match crate::group_committed(&self.appends, Write::CompleteJobs(ids.to_vec())).await? {
            Written::Jobs(_) => Ok(()),
            _ => Err(mismatch()),
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn close(&self) {
        self.appender.close().await;
        self.point.close();
        self.reader.close().await;
        // Everything into the database file now, whichever connection closes last (a
        // read-only one cannot checkpoint, and sqlx finishes closing handles in the background).
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "checkpointing the WAL at close failed");
        }
        self.writer.close().await;
    }

    /// SQLite has one writer connection: transactions are already serialised.
    async fn lock_contact(
        _tx: &mut sqlx::Transaction<'_, Sqlite>,
        _contact: ContactId,
    ) -> StoreResult<()> {
        Ok(())
    }
}

impl SqliteStore {
    /// After an erasure: the write-ahead log still holds the pages as they were before it (and
    /// before `secure_delete` zeroed them in the database file). Checkpointed into the file and
    /// truncated, it holds nothing of them. Failing that (a long read holds an old snapshot),
    /// the next automatic checkpoint writes them over; logged.
    ///
    /// The checkpoint needs the write lock and no reader on an older snapshot: it waits for
    /// them at most 200 ms at a time (never the 10 s busy timeout, which would hold every
    /// writer), and tries again in the background a few times, so the erasure's answer does
    /// not wait for it. The log is deleted at shutdown in any case.
    pub async fn after_erase(&self) {
        if self.checkpoint_truncate().await {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            for attempt in 1..=10 {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                if store.checkpoint_truncate().await {
                    return;
                }
            }
            tracing::warn!(
                "the checkpoint after an erasure was kept waiting by readers; the next automatic one writes the old pages over"
            );
        });
    }

    /// `wal_checkpoint(TRUNCATE)` waiting at most 200 ms for others; whether it completed.
    async fn checkpoint_truncate(&self) -> bool {
        let Ok(mut conn) = self.writer.acquire().await else {
            return false;
        };
        let done = async {
            sqlx::query("PRAGMA busy_timeout = 200")
                .execute(&mut *conn)
                .await?;
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut *conn)
                .await;
            sqlx::query("PRAGMA busy_timeout = 10000")
                .execute(&mut *conn)
                .await?;
            row
        }
        .await;
        match done {
            Ok(row) => row.try_get::<i64, _>(0).unwrap_or(1) == 0,
            Err(e) => {
                tracing::debug!(error = %e, "checkpoint after an erasure");
                false
            }
        }
    }
}

/// The point reads, on the calling thread (see `sqlite_read.rs`); the same SQL and row readers
/// as PostgreSQL's.
impl SqliteStore {
    pub async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        self.point
            .one(&CONTACT_BY_ID, [id.0], |row| crate::rows::contact(row))
    }

    pub async fn contact_by_identity(
        &self,
        kind: &str,
        value: &str,
    ) -> StoreResult<Option<Contact>> {
        self.point.one(&CONTACT_BY_IDENTITY, [kind, value], |row| {
            crate::rows::contact(row)
        })
    }

    pub async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.point.one(&crate::append::CONVERSATION, [id.0], |row| {
            crate::rows::conversation(row)
        })
    }

    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        self.point
            .one(&SUMMARY_BY_ID, [id.0], |row| crate::rows::summary(row))
    }

    pub async fn message_with_conversation(
        &self,
        id: MessageId,
    ) -> StoreResult<Option<(Message, Conversation)>> {
        self.point.one(&MESSAGE_WITH_CONVERSATION, [id.0], |row| {
            Ok((
                crate::rows::message(row)?.ok_or(StoreError::NotFound)?,
                crate::rows::conversation(row)?,
            ))
        })
    }
}

/// A write waiting for the next group commit, and where its result goes.
type Pending = (Write, tokio::sync::oneshot::Sender<StoreResult<Written>>);

fn mismatch() -> StoreError {
    StoreError::Database("the group commit returned another kind of write".into())
}

impl Written {
    fn into_message(self) -> StoreResult<Appended> {
        match self {
            Written::Message(appended) => Ok(appended),
            _ => Err(mismatch()),
        }
    }
}

/// SQLite takes `?` placeholders as they are.
fn q(sql: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(sql)
}

/// The labels of a conversation as one comma-separated string (labels never contain commas).
const LABELS_AGG: &str = "group_concat(l.label, ',')";

crate::queries::shared_queries!(SqliteStore, Sqlite, SqliteRow);
crate::workspace::workspace_queries!(SqliteStore, Sqlite, SqliteRow);
crate::jobs::job_queries!(SqliteStore, Sqlite, SqliteRow);
crate::kb::kb_queries!(SqliteStore, Sqlite, SqliteRow);
crate::search::search_queries!(SqliteStore, Sqlite, SqliteRow);
crate::orders::order_queries!(SqliteStore, Sqlite, SqliteRow);
crate::order_actions::order_action_queries!(SqliteStore, Sqlite, SqliteRow);
crate::contacts::contact_queries!(SqliteStore, Sqlite, SqliteRow);
crate::products::product_queries!(SqliteStore, Sqlite, SqliteRow);
crate::email::email_queries!(SqliteStore, Sqlite, SqliteRow);
crate::bot::bot_queries!(SqliteStore, Sqlite, SqliteRow);

/// Sets `path`'s permission bits (on Unix; elsewhere nothing). A file this user may not
/// change (a volume shared with a group that owns it) is left as it is, with a warning.
fn private(path: &std::path::Path, mode: u32) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(path = %path.display(), error = %e, "could not make the file private");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection that writes checkpoints at the same, larger WAL size.
    #[tokio::test]
    async fn connections_checkpoint_at_the_configured_wal_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::new(dir.path().join("layan.db")))
            .await
            .unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(pages, WAL_AUTOCHECKPOINT);
        let secure: i64 = sqlx::query_scalar("PRAGMA secure_delete")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(secure, 1, "deleted content is zeroed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("layan.db"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "the database file is the server's alone"
            );
        }
        store.close().await;
    }

    /// Closing leaves everything in the database file: the message writer's connection is
    /// closed first and the WAL checkpointed, so a copy of the file alone is a full backup.
    #[tokio::test]
    async fn closing_checkpoints_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layan.db");
        let store = SqliteStore::open(&SqliteOptions::new(&path)).await.unwrap();
        let inbox = store
            .create_inbox(NewInbox {
                name: "i",
                widget_key: "k",
                greeting: "g",
                color: "#000000",
            })
            .await
            .unwrap();
        let contact = store
            .create_contact_with_identity(NewContact::default(), "visitor", "v1")
            .await
            .unwrap();
        let stored = store
            .append_message(&NewMessage {
                target: layan_core::Target::CurrentOrNew {
                    inbox_id: inbox.id,
                    contact_id: contact.id,
                },
                direction: layan_core::Direction::Incoming,
                author: layan_core::Author::Contact(contact.id),
                author_name: None,
                body: layan_core::MessageBody::parse("halo").unwrap(),
                client_message_id: None,
                automations: false,
                attachments: Vec::new(),
                extras: None,
            })
            .await
            .unwrap();
        let wal = dir.path().join("layan.db-wal");
        assert!(wal.exists(), "a running store writes to its WAL");
        store.close().await;
        // A stopped server's database file alone holds everything (the README's backup): the
        // WAL is gone or empty, and a copy of the file without it has the message.
        let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(wal_len, 0, "closed: the WAL was checkpointed");
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();
        assert!(matches!(
            store
                .append_message(&NewMessage {
                    target: layan_core::Target::Conversation(stored.conversation.id),
                    direction: layan_core::Direction::Incoming,
                    author: layan_core::Author::Contact(contact.id),
                    author_name: None,
                    body: layan_core::MessageBody::parse("late").unwrap(),
                    client_message_id: None,
                    automations: false,
                    attachments: Vec::new(),
                    extras: None,
                })
                .await,
            Err(StoreError::Unavailable(_))
        ));
        let again = SqliteStore::open(&SqliteOptions::new(&copy)).await.unwrap();
        let messages = again
            .messages_after(stored.conversation.id, 0, 10, true)
            .await
            .unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].body, "halo");
    }

    /// A shop that ran the foundation schema upgrades without losing sessions or assignments,
    /// although SQLite has to rebuild the agents table to allow the supervisor role.
    #[tokio::test]
    async fn upgrading_from_the_foundation_schema_keeps_sessions_and_assignees() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .unwrap()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        let mut first = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(MIGRATOR.migrations[..1].to_vec()),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        first.set_locking(false);
        first.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO agents (email, name, role, password_hash, created_at) VALUES ('a@x.test', 'A', 'agent', 'h', 1)",
            "INSERT INTO sessions VALUES ('t', 1, 'c', 1, 99999999999999)",
            "INSERT INTO inboxes (name, channel, widget_key, greeting, color, created_at) VALUES ('i', 'web_widget', 'k', 'g', '#000000', 1)",
            "INSERT INTO contacts (created_at) VALUES (1)",
            "INSERT INTO conversations (number, inbox_id, contact_id, status, assignee_id, created_at, updated_at, last_message_at) VALUES (1001, 1, 1, 'open', 1, 1, 1, 1)",
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id, body, created_at) VALUES (1, 1, 'incoming', 'contact', 1, 'hi', 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let store = SqliteStore::open(&SqliteOptions::new(&path)).await.unwrap();
        let session = store.session("t", 2).await.unwrap().expect("session kept");
        assert_eq!(session.agent.email, "a@x.test");
        assert_eq!(session.agent.capacity, 10);
        let c = store
            .conversation(ConversationId(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.assignee_id, Some(AgentId(1)));
        assert_eq!(c.last_incoming_seq, 1);
        // The agent keeps working the inbox that existed.
        assert_eq!(
            store.agent_inbox_ids(AgentId(1)).await.unwrap(),
            vec![InboxId(1)]
        );
    }
}
