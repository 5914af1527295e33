//! Order actions' outcomes of record (`order_actions`): an action is written *pending* before
//! the store is called, so an answer that never came (a timeout after sending) leaves a record
//! the next attempt finds — the store is asked whether it was done before the same action can
//! be sent again. A confirmed action updates the order at once (cancelled, refunded), newest
//! store time winning as for webhooks. `order_action_queries!` is compiled per backend like
//! `queries.rs`.

use layan_core::{AgentId, Millis, OrderId};

use crate::{Store, StoreResult};

/// An action as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderActionRecord {
    pub id: i64,
    pub order_id: OrderId,
    pub agent_id: Option<AgentId>,
    /// `refund`, `cancel` or `resend`.
    pub kind: String,
    /// A refund's amount.
    pub amount: Option<String>,
    /// Sent with the request so the store's records can be searched for it.
    pub reference: String,
    /// `pending`, `checking`, `done`, `failed` or `unknown`.
    pub state: String,
    /// The store's id for what it did (a refund's id, a replacement order's name), or why not.
    pub result: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What a confirmed action changes on the order, as of the store's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChange {
    pub financial_status: Option<String>,
    pub cancelled_at: Option<Millis>,
    pub store_updated_at: Millis,
}

impl Store {
    /// Records an action as pending. `Err(existing)` when an action of this kind is pending or
    /// in doubt for the order already (at most one at a time). With `replacing`, that earlier
    /// action (claimed by this request: `checking`) is recorded as not done by the store in the
    /// same transaction — only if it is still this request's claim.
    pub async fn begin_order_action(
        &self,
        order: OrderId,
        agent: AgentId,
        kind: &str,
        amount: Option<&str>,
        reference: &str,
        replacing: Option<i64>,
    ) -> StoreResult<Result<i64, Option<OrderActionRecord>>> {
        dispatch!(self, s => s.begin_order_action(order, agent, kind, amount, reference, replacing).await)
    }

    /// Claims an open action to ask the store about it: `checking`, only if it is still as it
    /// was read (`state` and `updated_at`); whether this request won the claim.
    pub async fn claim_order_action(
        &self,
        id: i64,
        seen_state: &str,
        seen_updated_at: Millis,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.claim_order_action(id, seen_state, seen_updated_at).await)
    }

    /// The action of this kind pending or in doubt for the order, if any.
    pub async fn open_order_action(
        &self,
        order: OrderId,
        kind: &str,
    ) -> StoreResult<Option<OrderActionRecord>> {
        dispatch!(self, s => s.open_order_action(order, kind).await)
    }

    /// The order's actions, newest first.
    pub async fn order_actions(&self, order: OrderId) -> StoreResult<Vec<OrderActionRecord>> {
        dispatch!(self, s => s.order_actions(order).await)
    }

    /// Records an action's outcome (only while it is `pending` or `checking`: whether it was)
    /// and, in the same transaction, what it changed on the order (applied only if no newer
    /// store version is recorded).
    pub async fn finish_order_action(
        &self,
        id: i64,
        state: &str,
        result: Option<&str>,
        change: Option<&OrderChange>,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.finish_order_action(id, state, result, change).await)
    }
}

macro_rules! order_action_queries {
    ($store:ident, $db:ty, $row:ty) => {
const ORDER_ACTION_COLS: &str = "id, order_id, agent_id, kind, amount, reference, state, result, created_at, updated_at";

fn order_action_from_row(row: &$row) -> StoreResult<crate::order_actions::OrderActionRecord> {
    Ok(crate::order_actions::OrderActionRecord {
        id: row.try_get("id").map_err(db)?,
        order_id: layan_core::OrderId(row.try_get("order_id").map_err(db)?),
        agent_id: row.try_get::<Option<i64>, _>("agent_id").map_err(db)?.map(layan_core::AgentId),
        kind: row.try_get("kind").map_err(db)?,
        amount: row.try_get("amount").map_err(db)?,
        reference: row.try_get("reference").map_err(db)?,
        state: row.try_get("state").map_err(db)?,
        result: row.try_get("result").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
    })
}

impl $store {
    pub async fn begin_order_action(&self, order: layan_core::OrderId, agent: layan_core::AgentId, kind: &str, amount: Option<&str>, reference: &str, replacing: Option<i64>) -> StoreResult<Result<i64, Option<crate::order_actions::OrderActionRecord>>> {
        let now = now_millis();
        let mut tx = self.writer.begin().await.map_err(db)?;
        if let Some(old) = replacing {
            let done = sqlx::query(&q(
                "UPDATE order_actions SET state = 'failed', result = 'not done by the store', updated_at = ? \
                 WHERE id = ? AND state = 'checking'",
            ))
            .bind(now)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if done.rows_affected() == 0 {
                // Someone else's now.
                return Ok(Err(None));
            }
        }
        let inserted = sqlx::query(&q(
            "INSERT INTO order_actions (order_id, agent_id, kind, amount, reference, state, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        ))
        .bind(order.0)
        .bind(agent.0)
        .bind(kind)
        .bind(amount)
        .bind(reference)
        .bind(now)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = inserted else {
            drop(tx);
            return Ok(Err(self.open_order_action(order, kind).await?));
        };
        let id: i64 = row.try_get("id").map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Ok(id))
    }

    pub async fn claim_order_action(&self, id: i64, seen_state: &str, seen_updated_at: i64) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "UPDATE order_actions SET state = 'checking', updated_at = ? \
             WHERE id = ? AND state = ? AND updated_at = ?",
        ))
        .bind(now_millis().max(seen_updated_at + 1))
        .bind(id)
        .bind(seen_state)
        .bind(seen_updated_at)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn open_order_action(&self, order: layan_core::OrderId, kind: &str) -> StoreResult<Option<crate::order_actions::OrderActionRecord>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {ORDER_ACTION_COLS} FROM order_actions WHERE order_id = ? AND kind = ? \
             AND state IN ('pending', 'checking', 'unknown')"
        )))
        .bind(order.0)
        .bind(kind)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        row.as_ref().map(order_action_from_row).transpose()
    }

    pub async fn order_actions(&self, order: layan_core::OrderId) -> StoreResult<Vec<crate::order_actions::OrderActionRecord>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {ORDER_ACTION_COLS} FROM order_actions WHERE order_id = ? ORDER BY id DESC"
        )))
        .bind(order.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(order_action_from_row).collect()
    }

    pub async fn finish_order_action(&self, id: i64, state: &str, result: Option<&str>, change: Option<&crate::order_actions::OrderChange>) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let order: Option<i64> = sqlx::query_scalar(&q(
            "UPDATE order_actions SET state = ?, result = ?, updated_at = ? \
             WHERE id = ? AND state IN ('pending', 'checking') RETURNING order_id",
        ))
        .bind(state)
        .bind(result)
        .bind(now_millis())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(order) = order else {
            // Gone (the order was erased) or decided by another request meanwhile.
            return Ok(false);
        };
        if let Some(c) = change {
            sqlx::query(&q(
                "UPDATE orders SET financial_status = COALESCE(?, financial_status), \
                 cancelled_at = COALESCE(?, cancelled_at), store_updated_at = ? \
                 WHERE id = ? AND store_updated_at <= ?",
            ))
            .bind(&c.financial_status)
            .bind(c.cancelled_at)
            .bind(c.store_updated_at)
            .bind(order)
            .bind(c.store_updated_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }
}
    };
}

pub(crate) use order_action_queries;
