//! The answer bot's storage: its per-conversation state (`bot_sessions`, JSON the engine owns),
//! order lookup by number for shoppers who prove it is theirs, and the bot's figures.
//! `bot_queries!` is compiled per backend like `queries.rs`.

use layan_core::ConversationId;

use crate::{Store, StoreResult};

/// A conversation's bot session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSession {
    pub state: String,
    pub outcome: Option<String>,
    pub rating: Option<i64>,
}

/// The bot's figures over a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotStats {
    pub conversations: i64,
    pub handed_over: i64,
    pub ended: i64,
    pub rated: i64,
    /// Mean rating 1–5, when any.
    pub mean_rating: Option<f64>,
}

impl Store {
    pub async fn bot_session(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<BotSession>> {
        dispatch!(self, s => s.bot_session(conversation).await)
    }

    /// Writes a conversation's bot session (insert or replace).
    pub async fn save_bot_session(
        &self,
        conversation: ConversationId,
        session: &BotSession,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.save_bot_session(conversation, session).await)
    }

    /// Orders whose number is one of `numbers` (the shopper may write `#1042` or `1042`).
    pub async fn orders_by_number(
        &self,
        numbers: &[String],
    ) -> StoreResult<Vec<layan_core::Order>> {
        dispatch!(self, s => s.orders_by_number(numbers).await)
    }

    /// The bot's figures for sessions updated since `since`.
    pub async fn bot_stats(&self, since: layan_core::Millis) -> StoreResult<BotStats> {
        dispatch!(self, s => s.bot_stats(since).await)
    }
}

macro_rules! bot_queries {
    ($store:ident, $db:ty, $row:ty) => {
impl $store {
    pub async fn bot_session(&self, conversation: ConversationId) -> StoreResult<Option<crate::bot::BotSession>> {
        let row = sqlx::query(&q("SELECT state, outcome, rating FROM bot_sessions WHERE conversation_id = ?"))
            .bind(conversation.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(crate::bot::BotSession {
                state: r.try_get("state").map_err(db)?,
                outcome: r.try_get("outcome").map_err(db)?,
                rating: r.try_get::<Option<i32>, _>("rating").map_err(db)?.map(i64::from),
            })
        })
        .transpose()
    }

    pub async fn save_bot_session(&self, conversation: ConversationId, session: &crate::bot::BotSession) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO bot_sessions (conversation_id, state, outcome, rating, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, outcome = excluded.outcome, \
             rating = excluded.rating, updated_at = excluded.updated_at",
        ))
        .bind(conversation.0)
        .bind(&session.state)
        .bind(session.outcome.as_deref())
        .bind(session.rating.map(|r| r as i32))
        .bind(now_millis())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn orders_by_number(&self, numbers: &[String]) -> StoreResult<Vec<layan_core::Order>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: sqlx::QueryBuilder<'_, $db> = sqlx::QueryBuilder::new("SELECT * FROM orders WHERE number IN (");
        let mut list = qb.separated(", ");
        for n in numbers.iter().take(10) {
            list.push_bind(n.clone());
        }
        qb.push(") ORDER BY placed_at DESC LIMIT 20");
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        let orders = rows.iter().map(order_from_row).collect::<StoreResult<Vec<_>>>()?;
        self.with_details(orders).await
    }

    pub async fn bot_stats(&self, since: layan_core::Millis) -> StoreResult<crate::bot::BotStats> {
        let row = sqlx::query(&q(
            "SELECT COUNT(*) AS n, \
             COALESCE(SUM(CASE WHEN outcome = 'handed_over' THEN 1 ELSE 0 END), 0) AS handed, \
             COALESCE(SUM(CASE WHEN outcome = 'ended' THEN 1 ELSE 0 END), 0) AS ended, \
             COUNT(rating) AS rated, AVG(CAST(rating AS DOUBLE PRECISION)) AS mean \
             FROM bot_sessions WHERE updated_at >= ?",
        ))
        .bind(since)
        .fetch_one(&self.reader)
        .await
        .map_err(db)?;
        Ok(crate::bot::BotStats {
            conversations: row.try_get("n").map_err(db)?,
            handed_over: row.try_get("handed").map_err(db)?,
            ended: row.try_get("ended").map_err(db)?,
            rated: row.try_get("rated").map_err(db)?,
            mean_rating: row.try_get("mean").map_err(db)?,
        })
    }
}
    };
}

pub(crate) use bot_queries;
