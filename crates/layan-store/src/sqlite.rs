//! The SQLite backend: one file in the data directory, WAL journal, one writer connection (SQLite
//! allows one writer at a time; a single connection turns lock contention into a queue) and a small
//! pool of readers.

use std::{path::PathBuf, str::FromStr, time::Duration};

use layan_core::{
    Agent, AgentId, Author, ChannelKind, Contact, ContactId, Conversation, ConversationId,
    ConversationStatus, ConversationSummary, Direction, Inbox, InboxId, Message, MessageId,
    NewMessage, Role, Target, TicketNumber, now_millis,
};
use sqlx::{
    QueryBuilder, Row, Sqlite, SqlitePool,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
};

use crate::{
    Appended, ConversationChanges, ConversationFilter, InboxChanges, NewAgent, NewContact,
    NewInbox, NewSession, SessionRecord, StoreError, StoreResult,
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
}

impl SqliteStore {
    pub async fn open(opts: &SqliteOptions) -> StoreResult<Self> {
        if let Some(dir) = opts.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(Box::new(e)))?;
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
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(base.clone())
            .await
            .map_err(db)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(opts.readers.max(1))
            .connect_with(base.read_only(true))
            .await
            .map_err(db)?;
        Ok(Self { writer, reader })
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn close(&self) {
        self.reader.close().await;
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

/// SQLite takes `?` placeholders as they are.
fn q(sql: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(sql)
}

crate::queries::shared_queries!(SqliteStore, Sqlite, SqliteRow);
