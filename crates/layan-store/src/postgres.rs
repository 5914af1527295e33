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
    NewSession, RoutingMember, SessionRecord, StoreError, StoreResult, Throttle, kb::ArticleFilter,
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

#[derive(Clone)]
pub struct PostgresStore {
    /// The same pool as `reader`: PostgreSQL handles concurrent writers itself. Two names keep the
    /// shared queries backend-neutral.
    writer: PgPool,
    reader: PgPool,
}

impl PostgresStore {
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
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
        })
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

    pub async fn notify(&self, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(payload)
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

    /// Serialises "find or open the current conversation" per contact across all nodes.
    /// On PostgreSQL each message is its own transaction: batching several writers' messages
    /// into one transaction could take row locks in conflicting orders across nodes (deadlocks);
    /// PostgreSQL already groups concurrent commits' WAL flushes.
    pub async fn append_message(&self, new: &NewMessage) -> StoreResult<Appended> {
        self.append_direct(new).await
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

/// How the job claim skips rows another node is claiming (nothing to skip with one writer).
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// The labels of a conversation as one comma-separated string (labels never contain commas).
const LABELS_AGG: &str = "string_agg(l.label, ',' ORDER BY l.label)";

crate::queries::shared_queries!(PostgresStore, Postgres, PgRow);
crate::workspace::workspace_queries!(PostgresStore, Postgres, PgRow);
crate::jobs::job_queries!(PostgresStore, Postgres, PgRow);
crate::kb::kb_queries!(PostgresStore, Postgres, PgRow);
crate::search::search_queries!(PostgresStore, Postgres, PgRow);
crate::orders::order_queries!(PostgresStore, Postgres, PgRow);
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
