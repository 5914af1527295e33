//! What the message search index reads: messages in id order from a point on (the indexer's
//! watermark), and particular ids again (ids the indexer saw skipped, in case their transaction
//! commits late). `search_queries!` is compiled per backend like `queries.rs`.

use layan_core::{ConversationId, InboxId, MessageId, Millis};

use crate::{Store, StoreResult};

/// A message as the search index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexableMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    pub created_at: Millis,
    pub body: String,
}

impl Store {
    /// Messages with an id above `after`, in id order, at most `limit`.
    pub async fn indexable_messages_after(
        &self,
        after: MessageId,
        limit: u32,
    ) -> StoreResult<Vec<IndexableMessage>> {
        dispatch!(self, s => s.indexable_messages_after(after, limit).await)
    }

    /// These messages, those that exist.
    pub async fn indexable_messages_by_ids(
        &self,
        ids: &[MessageId],
    ) -> StoreResult<Vec<IndexableMessage>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, s => s.indexable_messages_by_ids(ids).await)
    }

    /// How many messages there are and the highest id (for a rebuild's progress).
    pub async fn message_totals(&self) -> StoreResult<(u64, MessageId)> {
        dispatch!(self, s => s.message_totals().await)
    }
}

macro_rules! search_queries {
    ($store:ident, $db:ty, $row:ty) => {
        const INDEXABLE_COLS: &str = "m.id, m.conversation_id, c.inbox_id, m.created_at, m.body \
     FROM messages m JOIN conversations c ON c.id = m.conversation_id";

        fn indexable_from_row(row: &$row) -> StoreResult<crate::search::IndexableMessage> {
            Ok(crate::search::IndexableMessage {
                id: MessageId(row.try_get("id").map_err(db)?),
                conversation_id: ConversationId(row.try_get("conversation_id").map_err(db)?),
                inbox_id: InboxId(row.try_get("inbox_id").map_err(db)?),
                created_at: row.try_get("created_at").map_err(db)?,
                body: row.try_get("body").map_err(db)?,
            })
        }

        impl $store {
            pub async fn indexable_messages_after(
                &self,
                after: MessageId,
                limit: u32,
            ) -> StoreResult<Vec<crate::search::IndexableMessage>> {
                let sql = format!("SELECT {INDEXABLE_COLS} WHERE m.id > ? ORDER BY m.id LIMIT ?");
                let rows = sqlx::query(&q(&sql))
                    .bind(after.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(db)?;
                rows.iter().map(indexable_from_row).collect()
            }

            pub async fn indexable_messages_by_ids(
                &self,
                ids: &[MessageId],
            ) -> StoreResult<Vec<crate::search::IndexableMessage>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {INDEXABLE_COLS} WHERE m.id IN ("
                ));
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(id.0);
                }
                list.push_unseparated(") ORDER BY m.id");
                let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
                rows.iter().map(indexable_from_row).collect()
            }

            pub async fn message_totals(&self) -> StoreResult<(u64, MessageId)> {
                let row =
                    sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS top FROM messages")
                        .fetch_one(&self.reader)
                        .await
                        .map_err(db)?;
                let n: i64 = row.try_get("n").map_err(db)?;
                Ok((
                    u64::try_from(n).unwrap_or(0),
                    MessageId(row.try_get("top").map_err(db)?),
                ))
            }
        }
    };
}

pub(crate) use search_queries;
