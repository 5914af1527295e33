//! Layan's storage: one narrow async API, dispatched by a concrete enum to a backend (SQLite now;
//! PostgreSQL is added beside it without touching the layers above). Each backend owns its SQL and
//! its embedded migrations under `migrations/<backend>/`; migrations are never edited once released.

/// Calls the same method on whichever backend the store is (every `impl Store` block uses it;
/// defined before the modules so theirs can too).
macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match &$self.db {
            $crate::Db::Sqlite($s) => $e,
            $crate::Db::Postgres($s) => $e,
        }
    };
}

mod append;
mod bot;
mod cache;
mod contacts;
mod email;
mod jobs;
mod kb;
mod order_actions;
mod orders;
mod postgres;
mod proactive;
mod products;
mod queries;
mod rows;
mod search;
mod sqlite;
mod sqlite_append;
mod sqlite_read;
#[doc(hidden)]
pub mod testing;
mod workspace;

use layan_core::{
    Agent, AgentId, ChannelKind, Contact, ContactId, Conversation, ConversationId,
    ConversationStatus, ConversationSummary, Inbox, InboxId, Message, Millis, NewMessage, Priority,
    Role, TeamId,
};

pub use bot::{BotSession, BotStats};
pub use contacts::{ContactConversation, Erased, ProfileChanges};
pub use email::{EmailInboxRow, InboundEmailRow, NewAttachment, NewEmailMeta};
pub use jobs::{JobCounts, NewJob};
pub use order_actions::{OrderActionRecord, OrderChange};
pub use orders::{Applied, NewOrder, StoreEvent};
pub use postgres::{PostgresOptions, PostgresStore};
pub use proactive::ProactiveRule;
pub use products::{NewProduct, ProductApplied, ProductQuery};
pub use search::IndexableMessage;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use workspace::*;

/// What can go wrong in storage. Small on purpose: callers branch on `NotFound` and `Conflict`;
/// everything else is a 5xx for the web layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names it (e.g. `email_taken`).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database cannot be reached right now (connection refused or lost, pool exhausted).
    /// Nothing was written; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which uniqueness rule a database's error message names (SQLite names the columns,
/// `agents.email`; PostgreSQL the constraint or index).
pub(crate) fn unique_rule(what: &str) -> &'static str {
    if what.contains("agents.email") || what.contains("agents_email") {
        "email_taken"
    } else if what.contains("widget_key") {
        "widget_key_taken"
    } else if what.contains("contact_identities") {
        "identity_taken"
    } else if what.contains("slug") {
        "slug_taken"
    } else if what.contains("client_message_id") || what.contains("messages_client_id") {
        "duplicate_client_message"
    } else {
        "duplicate"
    }
}

/// Hands `write` to a backend's group-commit task and waits for its result, which comes after
/// the commit.
pub(crate) async fn group_committed<W, R>(
    queue: &tokio::sync::mpsc::Sender<(W, tokio::sync::oneshot::Sender<StoreResult<R>>)>,
    write: W,
) -> StoreResult<R> {
    let (reply, result) = tokio::sync::oneshot::channel();
    let closed = || StoreError::Unavailable("the store is closed".into());
    queue.send((write, reply)).await.map_err(|_| closed())?;
    result.await.map_err(|_| closed())?
}

/// The same failure for every message of a batch (a `StoreError` is not `Clone`).
pub(crate) fn batch_error<T>(n: usize, e: &StoreError) -> Vec<StoreResult<T>> {
    (0..n)
        .map(|_| {
            Err(match e {
                StoreError::Unavailable(inner) => StoreError::Unavailable(inner.to_string().into()),
                other => StoreError::Database(other.to_string().into()),
            })
        })
        .collect()
}

/// Which database to use.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    Sqlite(SqliteOptions),
    Postgres(PostgresOptions),
}

pub struct NewAgent<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

pub struct NewInbox<'a> {
    pub name: &'a str,
    pub widget_key: &'a str,
    pub greeting: &'a str,
    pub color: &'a str,
}

#[derive(Default)]
pub struct InboxChanges<'a> {
    pub name: Option<&'a str>,
    pub greeting: Option<&'a str>,
    pub color: Option<&'a str>,
    pub auto_assign: Option<layan_core::AutoAssign>,
    pub reassign_on_offline: Option<bool>,
    pub auto_ack: Option<bool>,
    pub response_minutes: Option<i64>,
}

#[derive(Default)]
pub struct NewContact<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub locale: Option<&'a str>,
}

/// A new session for an agent; the token itself stays with the browser, we keep its hash.
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub agent_id: AgentId,
    pub csrf_token: &'a str,
    pub expires_at: Millis,
}

pub struct SessionRecord {
    pub agent: Agent,
    pub csrf_token: String,
}

/// The result of storing a message.
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    pub conversation: Conversation,
    /// True when this call opened the conversation.
    pub created_conversation: bool,
    /// True when a message with the same author and client message id was already stored: nothing
    /// was written and `message` is the stored one.
    pub duplicate: bool,
    /// The status before this message, when it changed it (e.g. `resolved` → `open`).
    pub previous_status: Option<ConversationStatus>,
}

/// What the notification listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// A notification's payload.
    Payload(String),
    /// The listening connection dropped and came back: notifications sent in between are lost,
    /// so whatever follows them should catch up from the database.
    Gap,
}

/// Which conversations to list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub statuses: Vec<ConversationStatus>,
    /// `None`: all inboxes.
    pub inbox_ids: Option<Vec<InboxId>>,
    /// `Some(None)`: unassigned only; `Some(Some(a))`: assigned to `a`.
    pub assignee: Option<Option<AgentId>>,
    /// Only conversations of these teams.
    pub team_ids: Option<Vec<TeamId>>,
    pub priority: Option<Priority>,
    pub label: Option<String>,
    pub channel: Option<ChannelKind>,
    /// Words to find in the contact's name or email, the ticket number or any message.
    pub search: Option<String>,
    /// With `search`: what the search index found (instead of a `LIKE` over every message).
    pub message_hits: Option<IndexedSearch>,
    pub sort: ConversationSort,
    /// Fill `read_seq` for this agent.
    pub reader: Option<AgentId>,
    /// Conversations whose last message is older than this (the previous page's last one;
    /// only with [`ConversationSort::Recent`]).
    pub before: Option<(Millis, ConversationId)>,
    pub limit: u32,
}

/// A search index's answer: the conversations with a matching message among those indexed,
/// and up to which message id it has indexed (later messages are searched with a `LIKE` over
/// that unindexed tail only).
#[derive(Debug, Clone)]
pub struct IndexedSearch {
    pub conversations: Vec<ConversationId>,
    pub through: layan_core::MessageId,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConversationSort {
    /// Newest activity first.
    #[default]
    Recent,
    /// The customer waiting longest first.
    Waiting,
}

/// Changes an agent makes to a conversation.
#[derive(Debug, Clone, Default)]
pub struct ConversationChanges {
    pub status: Option<ConversationStatus>,
    /// With `status: Some(Snoozed)`: when it wakes up.
    pub snoozed_until: Option<Millis>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<AgentId>>,
    /// `Some(None)` removes the team.
    pub team: Option<Option<TeamId>>,
    pub priority: Option<Priority>,
}

/// The storage API. Every method is one transaction; handlers are not generic over the backend.
/// Clones share the database and the settings cache.
#[derive(Clone)]
pub struct Store {
    db: Db,
    settings: std::sync::Arc<cache::Settings>,
}

#[derive(Clone)]
enum Db {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn open(config: &DatabaseConfig) -> StoreResult<Self> {
        match config {
            DatabaseConfig::Sqlite(opts) => {
                Ok(Self::with(Db::Sqlite(SqliteStore::open(opts).await?)))
            }
            DatabaseConfig::Postgres(opts) => {
                Ok(Self::with(Db::Postgres(PostgresStore::open(opts).await?)))
            }
        }
    }

    fn with(db: Db) -> Self {
        Self {
            db,
            settings: std::sync::Arc::default(),
        }
    }

    /// A short name of the backend for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Checks the database answers (for readiness probes).
    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, s => s.ping().await)
    }

    /// Waits for in-flight writes and closes the pools; on SQLite this also checkpoints the WAL.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    /// Refreshes the query planner's statistics (`ANALYZE`). PostgreSQL's autovacuum does this by
    /// itself after enough changes; a bulk load (an import, a benchmark's seed) wants it at once.
    pub async fn analyze(&self) -> StoreResult<()> {
        dispatch!(self, s => s.analyze().await)
    }

    /// Tells every node on this database (PostgreSQL `NOTIFY`), in this order, in one
    /// transaction; SQLite has one node: a no-op. Payloads must stay under 8,000 bytes.
    pub async fn notify_all(&self, payloads: &[String]) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(s) => s.notify_all(payloads).await,
        }
    }

    /// Notifications from every node, this one included; `None` on SQLite.
    pub async fn listen(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<Notified>>> {
        match &self.db {
            Db::Sqlite(_) => Ok(None),
            Db::Postgres(s) => Ok(Some(s.listen().await?)),
        }
    }

    // ---- agents and sessions -------------------------------------------------------------

    pub async fn agent_count(&self) -> StoreResult<i64> {
        dispatch!(self, s => s.agent_count().await)
    }

    /// Fails with `Conflict("email_taken")` when the (lower-cased) email exists.
    pub async fn create_agent(&self, new: NewAgent<'_>) -> StoreResult<Agent> {
        dispatch!(self, s => s.create_agent(new).await)
    }

    /// The agent with this lower-cased email and their password hash.
    pub async fn agent_credentials(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        dispatch!(self, s => s.agent_credentials(email).await)
    }

    pub async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        dispatch!(self, s => s.agent(id).await)
    }

    pub async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        dispatch!(self, s => s.list_agents().await)
    }

    pub async fn create_session(&self, new: NewSession<'_>) -> StoreResult<()> {
        dispatch!(self, s => s.create_session(new).await)
    }

    /// The live (unexpired at `now`) session with this token hash.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<SessionRecord>> {
        dispatch!(self, s => s.session(token_hash, now).await)
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        dispatch!(self, s => s.delete_session(token_hash).await)
    }

    // ---- inboxes -------------------------------------------------------------------------

    /// (A new inbox makes nothing cached stale: only inboxes that exist are kept.)
    pub async fn create_inbox(&self, new: NewInbox<'_>) -> StoreResult<Inbox> {
        dispatch!(self, s => s.create_inbox(new).await)
    }

    pub async fn update_inbox(&self, id: InboxId, changes: InboxChanges<'_>) -> StoreResult<Inbox> {
        let updated = dispatch!(self, s => s.update_inbox(id, changes).await);
        self.settings.forget();
        updated
    }

    /// An inbox (from the settings cache when read within the last second; see `cache.rs`).
    pub async fn inbox(&self, id: InboxId) -> StoreResult<Option<Inbox>> {
        let cached = self.settings.inbox(id);
        self.inbox_through_cache(cached, async { dispatch!(self, s => s.inbox(id).await) })
            .await
    }

    /// The inbox a widget key names (cached as [`Store::inbox`]; unknown keys are not).
    pub async fn inbox_by_widget_key(&self, key: &str) -> StoreResult<Option<Inbox>> {
        let cached = self.settings.inbox_by_key(key);
        self.inbox_through_cache(cached, async {
            dispatch!(self, s => s.inbox_by_widget_key(key).await)
        })
        .await
    }

    /// `cached`, or what `read` finds (kept when it exists and no write came in meanwhile).
    async fn inbox_through_cache(
        &self,
        cached: Option<Inbox>,
        read: impl std::future::Future<Output = StoreResult<Option<Inbox>>>,
    ) -> StoreResult<Option<Inbox>> {
        if cached.is_some() {
            return Ok(cached);
        }
        // Taken before `read` runs (a future does nothing until awaited).
        let seen = self.settings.generation();
        let inbox = read.await?;
        if let Some(i) = &inbox {
            self.settings.keep_inbox(seen, i);
        }
        Ok(inbox)
    }

    pub async fn list_inboxes(&self) -> StoreResult<Vec<Inbox>> {
        dispatch!(self, s => s.list_inboxes().await)
    }

    // ---- contacts ------------------------------------------------------------------------

    /// Creates a contact together with one identity, atomically.
    pub async fn create_contact_with_identity(
        &self,
        new: NewContact<'_>,
        kind: &str,
        value: &str,
    ) -> StoreResult<Contact> {
        dispatch!(self, s => s.create_contact_with_identity(new, kind, value).await)
    }

    pub async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        dispatch!(self, s => s.contact(id).await)
    }

    /// Another way to recognise the contact; `Conflict` when it already names a contact.
    pub async fn add_contact_identity(
        &self,
        contact: ContactId,
        kind: &str,
        value: &str,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.add_contact_identity(contact, kind, value).await)
    }

    pub async fn contact_by_identity(
        &self,
        kind: &str,
        value: &str,
    ) -> StoreResult<Option<Contact>> {
        dispatch!(self, s => s.contact_by_identity(kind, value).await)
    }

    /// Sets the given fields (others are kept).
    pub async fn update_contact(
        &self,
        id: ContactId,
        changes: NewContact<'_>,
    ) -> StoreResult<Contact> {
        dispatch!(self, s => s.update_contact(id, changes).await)
    }

    // ---- conversations and messages ------------------------------------------------------

    /// Stores a message in one transaction: recognises a retried send by its client message id,
    /// finds or opens the conversation, moves its status, allocates the next sequence number.
    pub async fn append_message(&self, new: &NewMessage) -> StoreResult<Appended> {
        dispatch!(self, s => s.append_message(new).await)
    }

    /// Stores several messages in one transaction (one commit); one that fails fails alone (the
    /// batch is then stored again with each message in a savepoint); results in order, returned
    /// after the commit. SQLite's `append_message`
    /// goes through this (group commit); imports may use it directly.
    pub async fn append_batch(&self, batch: &[NewMessage]) -> Vec<StoreResult<Appended>> {
        match &self.db {
            Db::Sqlite(s) => s.append_batch(batch.to_vec()).await,
            Db::Postgres(s) => {
                let batch: Vec<&NewMessage> = batch.iter().collect();
                s.append_batch(&batch).await
            }
        }
    }

    pub async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        dispatch!(self, s => s.conversation(id).await)
    }

    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        dispatch!(self, s => s.conversation_summary(id).await)
    }

    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<ConversationSummary>> {
        dispatch!(self, s => s.list_conversations(filter).await)
    }

    /// The contact's newest conversation in the inbox that is not closed.
    pub async fn current_conversation(
        &self,
        inbox_id: InboxId,
        contact_id: ContactId,
    ) -> StoreResult<Option<Conversation>> {
        dispatch!(self, s => s.current_conversation(inbox_id, contact_id).await)
    }

    pub async fn update_conversation(
        &self,
        id: ConversationId,
        changes: &ConversationChanges,
    ) -> StoreResult<Conversation> {
        dispatch!(self, s => s.update_conversation(id, changes).await)
    }

    /// Messages with `seq > after_seq`, oldest first, at most `limit`. Private notes only when
    /// `include_notes`.
    pub async fn messages_after(
        &self,
        conversation_id: ConversationId,
        after_seq: i64,
        limit: u32,
        include_notes: bool,
    ) -> StoreResult<Vec<Message>> {
        dispatch!(self, s => s.messages_after(conversation_id, after_seq, limit, include_notes).await)
    }

    /// Messages with `after_seq < seq < before_seq` (a gap a live connection must fill).
    pub async fn messages_between(
        &self,
        conversation_id: ConversationId,
        after_seq: i64,
        before_seq: i64,
        include_notes: bool,
    ) -> StoreResult<Vec<Message>> {
        dispatch!(self, s => s.messages_between(conversation_id, after_seq, before_seq, include_notes).await)
    }
}
