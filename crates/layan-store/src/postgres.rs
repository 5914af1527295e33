//! The PostgreSQL backend: one connection pool shared by several Layan nodes. Sequence numbers are
//! allocated under the conversation row's lock (`UPDATE … RETURNING`), and a contact's current
//! conversation is chosen under the contact row's lock, so concurrent writers on any node agree.
//! Migrations take PostgreSQL's advisory lock, so nodes starting together migrate once.

use std::{borrow::Cow, str::FromStr, time::Duration};

use layan_core::{
    Agent, AgentId, ApiTokenInfo, Article, ArticleId, ArticleStatus, AuditEntry, Author,
    AutoAssign, CannedId, CannedResponse, Category, CategoryId, ChannelKind, Contact, ContactId,
    Conversation, ConversationId, ConversationStatus, ConversationSummary, Direction, Inbox,
    InboxId, Job, JobStatus, Locale, Message, MessageId, Millis, NewMessage, Notification,
    Priority, Role, Target, Team, TeamId, TicketNumber, ViewCounts, now_millis,
};
use sqlx::{
    PgPool, Postgres, QueryBuilder, Row,
    postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow},
};

use crate::{
    AgentChanges, Appended, ConversationChanges, ConversationFilter, ConversationSort,
    InboxChanges, JobCounts, NewAgent, NewAudit, NewCanned, NewContact, NewInbox, NewJob,
    NewSession, RoutingMember, SessionRecord, StoreError, StoreResult, Throttle, append,
    batch_error, kb::ArticleFilter,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The LISTEN/NOTIFY channel nodes relay events on.
const NOTIFY_CHANNEL: &str = "layan_events";

#[derive(Clone)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database?…`
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("PostgresOptions")
            .field("url", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
        }
    }
}

mod group;

#[derive(Clone)]
pub struct PostgresStore {
    /// The same pool as `reader`: PostgreSQL handles concurrent writers itself. Two names keep the
    /// shared queries backend-neutral.
    writer: PgPool,
    reader: PgPool,
    /// Messages to store, handed to the group-commit task (`group.rs`).
    appends: tokio::sync::mpsc::Sender<Pending>,
}

impl PostgresStore {
    /// After an erasure: the old row versions stay in the tables' files until vacuumed (and
    /// in WAL segments until recycled). A targeted `VACUUM` of the tables an erasure touches
    /// removes the dead rows, in the background (it may take a while on big tables; the
    /// erasure itself is done). Space VACUUM frees is reused, not zeroed: see ARCHITECTURE.md.
    pub async fn after_erase(&self) {
        let pool = self.writer.clone();
        tokio::spawn(async move {
            let vacuum = "VACUUM messages, contacts, contact_identities, orders, order_lines, \
                          shipments, attachments, inbound_emails, email_messages, bot_sessions";
            if let Err(e) = sqlx::query(vacuum).execute(&pool).await {
                tracing::warn!(error = %e, "vacuum after an erasure failed");
            }
        });
    }

    pub async fn open(opts: &PostgresOptions) -> StoreResult<Self> {
        // A schema other than `public` can be chosen with `?options=-c search_path=NAME`.
        let connect = PgConnectOptions::from_str(&opts.url).map_err(db)?;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            // When the database is down, fail requests with 503 after a few seconds rather than hang.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(connect)
            .await
            .map_err(db)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let (appends, queue) = tokio::sync::mpsc::channel(4 * group::MAX_BATCH);
        let store = Self {
            writer: pool.clone(),
            reader: pool,
            appends,
        };
        tokio::spawn(store.clone().group_commit(queue));
        Ok(store)
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
    }

    /// One statement for all: `unnest` yields the array in order, and notifications sent in
    /// one transaction are delivered in the order sent.
    pub async fn notify_all(&self, payloads: &[String]) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(NOTIFY_CHANNEL)
            .bind(payloads)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn listen(&self) -> StoreResult<tokio::sync::mpsc::Receiver<crate::Notified>> {
        let mut listener = PgListener::connect_with(&self.reader).await.map_err(db)?;
        listener.listen(NOTIFY_CHANNEL).await.map_err(db)?;
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        tokio::spawn(async move {
            let mut gap = false;
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        // After a reconnect, say so first: what was sent in between is lost.
                        if std::mem::take(&mut gap) && tx.send(crate::Notified::Gap).await.is_err()
                        {
                            return;
                        }
                        if tx
                            .send(crate::Notified::Payload(n.payload().to_owned()))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    // The connection dropped and was re-established (try_recv reconnects).
                    Ok(None) => {
                        tracing::warn!("PostgreSQL notification listener reconnected");
                        gap = true;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL notification listener failed; retrying");
                        gap = true;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(rx)
    }

    /// Stores a message through the group commit (`group.rs`): alone when nothing else is
    /// waiting, else with the messages that arrived meanwhile, set-based.
    pub async fn append_message(&self, new: &NewMessage) -> StoreResult<Appended> {
        crate::group_committed(&self.appends, new.clone()).await
    }

    /// A new contact and its identity in one statement (one round trip, atomic on its own);
    /// `Conflict("identity_taken")` when the identity names another contact already.
    pub async fn create_contact_with_identity(
        &self,
        new: NewContact<'_>,
        kind: &str,
        value: &str,
    ) -> StoreResult<Contact> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH ct AS ({}), ci AS (INSERT INTO contact_identities \
                 (kind, value, contact_id, created_at) SELECT $5, $6, id, $4 FROM ct) \
                 SELECT * FROM ct",
                q(&crate::append::INSERT_CONTACT)
            )
        });
        let row = sqlx::query(&SQL)
            .bind(new.name)
            .bind(new.email)
            .bind(new.locale)
            .bind(now_millis())
            .bind(kind)
            .bind(value)
            .fetch_one(&self.writer)
            .await
            .map_err(db)?;
        crate::rows::contact(&row)
    }

    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        static SQL: std::sync::LazyLock<String> =
            // Rows another node is claiming are skipped, not waited for.
            std::sync::LazyLock::new(|| {
                q(&crate::jobs::claim_sql(" FOR UPDATE SKIP LOCKED")).into_owned()
            });
        let rows = sqlx::query(&SQL)
            .bind(now + lease_ms)
            .bind(worker)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await
            .map_err(db)?;
        rows.iter().map(crate::rows::job).collect()
    }

    /// Records a worker's batch done in one statement.
    pub async fn complete_jobs(&self, ids: &[i64]) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', lease_until = NULL, updated_at = $1 \
             WHERE id = ANY($2)",
        )
        .bind(now_millis())
        .bind(ids)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn lock_contact(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        contact: ContactId,
    ) -> StoreResult<()> {
        sqlx::query("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
            .bind(contact.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// Storing messages one transaction each: a batch of one, and whatever the set path of
/// `group.rs` does not cover.
impl PostgresStore {
    /// Stores a message in its own transaction (the contact's row lock serialises "find or
    /// open the current conversation" across nodes); a retry that raced another send of the
    /// same client message id finds the stored one.
    pub async fn append_direct(&self, new: &NewMessage) -> StoreResult<Appended> {
        for _ in 0..2 {
            let mut tx = self.writer.begin().await.map_err(db)?;
            match Self::append_in(&mut tx, new).await {
                Ok(appended) => {
                    if !appended.duplicate {
                        tx.commit().await.map_err(db)?;
                    }
                    return Ok(appended);
                }
                // A retried send met the stored one at insert: undo this attempt and return
                // that one. (If it is not there, the send it raced rolled back: try again.)
                Err(StoreError::Conflict("duplicate_client_message")) => {
                    tx.rollback().await.map_err(db)?;
                    let mut conn = self.writer.acquire().await.map_err(db)?;
                    if let Some(stored) = Self::stored(&mut conn, new).await? {
                        return Ok(stored);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("duplicate_client_message"))
    }

    /// Stores several messages in one transaction — one commit (one fsync) for all — each in
    /// its own savepoint, so one bad message fails alone. Results are in the batch's order and
    /// are only returned once the commit is done: nobody is acknowledged before their message
    /// is durable. If the commit fails, every message of the batch fails.
    pub async fn append_batch(&self, batch: &[&NewMessage]) -> Vec<StoreResult<Appended>> {
        let mut tx = match self.writer.begin().await.map_err(db) {
            Ok(tx) => tx,
            Err(e) => return batch_error(batch.len(), &e),
        };
        let mut results = Vec::with_capacity(batch.len());
        for new in batch {
            let mut sp = match sqlx::Connection::begin(&mut *tx).await.map_err(db) {
                Ok(sp) => sp,
                Err(e) => return batch_error(batch.len(), &e),
            };
            let outcome = match Self::append_in(&mut sp, new).await {
                Ok(a) => sp.commit().await.map_err(db).map(|()| Ok(a)),
                // The same send earlier in this batch, or stored before: that one.
                Err(StoreError::Conflict("duplicate_client_message")) => {
                    match sp.rollback().await.map_err(db) {
                        Ok(()) => Self::stored(&mut tx, new).await.map(|found| {
                            found.ok_or(StoreError::Conflict("duplicate_client_message"))
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => sp.rollback().await.map_err(db).map(|()| Err(e)),
            };
            match outcome {
                Ok(result) => results.push(result),
                Err(e) => return batch_error(batch.len(), &e),
            }
        }
        match tx.commit().await.map_err(db) {
            Ok(()) => results,
            Err(e) => batch_error(batch.len(), &e),
        }
    }

    /// The message `new`'s author already stored with its client message id, if any.
    async fn stored(
        conn: &mut sqlx::PgConnection,
        new: &NewMessage,
    ) -> StoreResult<Option<Appended>> {
        let Some(client_id) = &new.client_message_id else {
            return Ok(None);
        };
        let Some(row) = sqlx::query(&q(&append::BY_CLIENT_ID))
            .bind(new.author.kind_str())
            .bind(new.author.id())
            .bind(client_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let message = required_message(&row)?;
        let conv_row = sqlx::query(&q(&append::CONVERSATION))
            .bind(message.conversation_id.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        Ok(Some(Appended {
            message,
            conversation: conversation_from_row(&conv_row)?,
            created_conversation: false,
            duplicate: true,
            previous_status: None,
        }))
    }

    /// Stores one message inside the caller's transaction (see `append_message`).
    async fn append_in(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        new: &NewMessage,
    ) -> StoreResult<Appended> {
        let now = now_millis();
        let author_kind = new.author.kind_str();
        let author_id = new.author.id();

        // A retried send is found by the unique index when the message is inserted; authors
        // without an id (the bot, the system) are not covered by it (NULLs are distinct).
        if author_id.is_none()
            && let Some(found) = Self::stored(tx, new).await?
        {
            return Ok(found);
        }

        let (conversation, created) = match new.target {
            Target::Conversation(id) => {
                let row = sqlx::query(&q(&append::CONVERSATION))
                    .bind(id.0)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db)?
                    .ok_or(StoreError::NotFound)?;
                (conversation_from_row(&row)?, false)
            }
            Target::CurrentOrNew {
                inbox_id,
                contact_id,
            } => {
                // One "current conversation" per contact, even with concurrent first messages.
                Self::lock_contact(tx, contact_id).await?;
                let current = sqlx::query(&q(&append::CURRENT_CONVERSATION))
                    .bind(contact_id.0)
                    .bind(inbox_id.0)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db)?
                    .as_ref()
                    .map(conversation_from_row)
                    .transpose()?;
                match current {
                    Some(c) if c.status.accepts_customer_messages() => (c, false),
                    _ => (
                        Self::open_conversation(tx, inbox_id, contact_id, now).await?,
                        true,
                    ),
                }
            }
            Target::New {
                inbox_id,
                contact_id,
            } => (
                Self::open_conversation(tx, inbox_id, contact_id, now).await?,
                true,
            ),
        };

        let (status, waiting_since) = append::advance(&conversation, new.direction, now);
        let row = sqlx::query(&q(&append::ADVANCE))
            .bind(status.as_str())
            .bind(waiting_since)
            .bind(status == ConversationStatus::Snoozed)
            .bind(new.direction == Direction::Incoming)
            .bind(now)
            .bind(now)
            .bind(conversation.id.0)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
        let updated = conversation_from_row(&row)?;

        let id: i64 = sqlx::query_scalar(&q(append::INSERT_MESSAGE))
            .bind(updated.id.0)
            .bind(updated.last_seq)
            .bind(new.direction.as_str())
            .bind(author_kind)
            .bind(author_id)
            .bind(new.author_name.as_deref())
            .bind(new.body.as_str())
            .bind(new.client_message_id.as_ref().map(|c| c.as_str()))
            .bind(now)
            .bind(
                new.extras
                    .as_ref()
                    .and_then(|e| serde_json::to_string(e).ok()),
            )
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::Conflict("duplicate_client_message"))?;
        if !new.attachments.is_empty() {
            // The author's own uploads to this conversation, not attached yet — all or nothing.
            let Author::Agent(agent) = new.author else {
                return Err(StoreError::Conflict("attachment_unavailable"));
            };
            for attachment in &new.attachments {
                let done = sqlx::query(&q(append::ATTACH))
                    .bind(id)
                    .bind(attachment)
                    .bind(updated.id.0)
                    .bind(agent.0)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("attachment_unavailable"));
                }
            }
        }
        let channel: Option<String> = if append::needs_channel(new) {
            sqlx::query_scalar(&q(append::INBOX_CHANNEL))
                .bind(updated.inbox_id.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?
        } else {
            None
        };
        for job in append::MessageJob::for_message(new, id, channel.as_deref()) {
            insert_job(tx, &job.job(now)).await?;
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

    /// A new open conversation with the next ticket number.
    async fn open_conversation(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        inbox_id: InboxId,
        contact_id: ContactId,
        now: Millis,
    ) -> StoreResult<Conversation> {
        let number: i64 = sqlx::query_scalar(&q(append::NEXT_TICKET_NUMBER))
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
        let row = sqlx::query(&q(&append::OPEN_CONVERSATION))
            .bind(number)
            .bind(inbox_id.0)
            .bind(contact_id.0)
            .bind(now)
            .bind(now)
            .bind(now)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
        conversation_from_row(&row)
    }
}

/// The point reads (SQLite runs them on the calling thread; see `sqlite_read.rs`).
impl PostgresStore {
    async fn point_read<T>(
        &self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
        read: impl FnOnce(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = query.fetch_optional(&self.reader).await.map_err(db)?;
        row.as_ref().map(read).transpose()
    }

    pub async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        let sql = q(&CONTACT_BY_ID);
        self.point_read(sqlx::query(&sql).bind(id.0), contact_from_row)
            .await
    }

    pub async fn contact_by_identity(
        &self,
        kind: &str,
        value: &str,
    ) -> StoreResult<Option<Contact>> {
        let sql = q(&CONTACT_BY_IDENTITY);
        self.point_read(sqlx::query(&sql).bind(kind).bind(value), contact_from_row)
            .await
    }

    pub async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        let sql = q(&append::CONVERSATION);
        self.point_read(sqlx::query(&sql).bind(id.0), conversation_from_row)
            .await
    }

    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        let sql = q(&SUMMARY_BY_ID);
        self.point_read(sqlx::query(&sql).bind(id.0), summary_from_row)
            .await
    }

    pub async fn message_with_conversation(
        &self,
        id: MessageId,
    ) -> StoreResult<Option<(Message, Conversation)>> {
        let sql = q(&MESSAGE_WITH_CONVERSATION);
        self.point_read(sqlx::query(&sql).bind(id.0), |row| {
            Ok((required_message(row)?, conversation_from_row(row)?))
        })
        .await
    }
}

/// A message waiting for the next group commit (`postgres/group.rs`), and where its result goes.
type Pending = (
    NewMessage,
    tokio::sync::oneshot::Sender<StoreResult<Appended>>,
);

/// Turns `?` placeholders into PostgreSQL's `$1, $2, …` (outside quoted literals).
fn q(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The labels of a conversation as one comma-separated string (labels never contain commas).
const LABELS_AGG: &str = "string_agg(l.label, ',' ORDER BY l.label)";

crate::queries::shared_queries!(PostgresStore, Postgres, PgRow);
crate::workspace::workspace_queries!(PostgresStore, Postgres, PgRow);
crate::jobs::job_queries!(PostgresStore, Postgres, PgRow);
crate::kb::kb_queries!(PostgresStore, Postgres, PgRow);
crate::search::search_queries!(PostgresStore, Postgres, PgRow);
crate::orders::order_queries!(PostgresStore, Postgres, PgRow);
crate::order_actions::order_action_queries!(PostgresStore, Postgres, PgRow);
crate::contacts::contact_queries!(PostgresStore, Postgres, PgRow);
crate::products::product_queries!(PostgresStore, Postgres, PgRow);
crate::email::email_queries!(PostgresStore, Postgres, PgRow);
crate::bot::bot_queries!(PostgresStore, Postgres, PgRow);

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        assert_eq!(
            super::q("SELECT ? WHERE a = '?' AND b IN (?, ?)"),
            "SELECT $1 WHERE a = '?' AND b IN ($2, $3)"
        );
        assert_eq!(super::q("SELECT 1"), "SELECT 1");
    }
}
