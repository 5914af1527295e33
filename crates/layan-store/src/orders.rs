//! Orders storage: an order with its lines and shipments written in one transaction together
//! with the store event that carried it, so a redelivered event changes nothing and a half-applied
//! one cannot exist. The store's `updated_at` decides: an older version never overwrites a newer
//! one (webhooks arrive out of order). `order_queries!` is compiled per backend like `queries.rs`.

use layan_core::{ContactId, Millis, OrderId, OrderLine, Shipment};

use crate::{Store, StoreResult};

/// An order as a store event describes it.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub source: String,
    pub external_id: String,
    pub number: String,
    pub contact_id: Option<ContactId>,
    pub email: Option<String>,
    pub currency: String,
    pub total: String,
    pub financial_status: String,
    pub fulfillment_status: Option<String>,
    pub cancelled_at: Option<Millis>,
    pub placed_at: Millis,
    pub store_updated_at: Millis,
    pub lines: Vec<OrderLine>,
    /// Shipments the event lists (each kept by its own `store_updated_at`; none removed).
    pub shipments: Vec<Shipment>,
}

/// The store event that carried a change, to apply it once.
#[derive(Debug, Clone, Copy)]
pub struct StoreEvent<'a> {
    pub source: &'a str,
    pub key: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written (created or updated).
    Written(OrderId),
    /// Older than what is stored: the order is unchanged (newer shipments still apply).
    Stale(OrderId),
    /// This event was applied before.
    Duplicate,
    /// A shipment for an order not stored yet.
    UnknownOrder,
}

impl Store {
    /// Whether a store's event was recorded (applied) before.
    pub async fn store_event_seen(&self, event: &StoreEvent<'_>) -> StoreResult<bool> {
        dispatch!(self, s => s.store_event_seen(event).await)
    }

    /// Records a store's event as applied, for events applied outside `apply_order` (a
    /// privacy webhook): false when it was recorded before.
    pub async fn record_store_event(&self, event: &StoreEvent<'_>) -> StoreResult<bool> {
        dispatch!(self, s => s.record_store_event(event).await)
    }

    pub async fn apply_order(
        &self,
        event: Option<StoreEvent<'_>>,
        order: &NewOrder,
    ) -> StoreResult<Applied> {
        dispatch!(self, s => s.apply_order(event, order).await)
    }

    /// A shipment of the order `order_external_id` from `source`.
    pub async fn apply_shipment(
        &self,
        event: Option<StoreEvent<'_>>,
        source: &str,
        order_external_id: &str,
        shipment: &Shipment,
    ) -> StoreResult<Applied> {
        dispatch!(self, s => s.apply_shipment(event, source, order_external_id, shipment).await)
    }

    /// The contact's orders, newest first, with lines and shipments.
    pub async fn orders_of_contact(
        &self,
        contact: ContactId,
        limit: u32,
    ) -> StoreResult<Vec<layan_core::Order>> {
        dispatch!(self, s => s.orders_of_contact(contact, limit).await)
    }

    /// Deletes these orders of `source` (by the store's ids); how many there were.
    pub async fn delete_orders(&self, source: &str, external_ids: &[String]) -> StoreResult<u64> {
        dispatch!(self, s => s.delete_orders(source, external_ids).await)
    }

    /// Orders that may need a proactive message under `rule` (see `crate::ProactiveRule`).
    pub async fn proactive_candidates(
        &self,
        rule: crate::ProactiveRule,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<layan_core::Order>> {
        dispatch!(self, s => s.proactive_candidates(rule, now, limit).await)
    }

    /// Records that `rule`'s message for the order was sent (in `conversation`); false when it
    /// had been recorded before.
    pub async fn record_proactive(
        &self,
        order: OrderId,
        rule: &str,
        conversation: Option<layan_core::ConversationId>,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.record_proactive(order, rule, conversation).await)
    }

    /// One order by id, with lines and shipments.
    pub async fn order(&self, id: OrderId) -> StoreResult<Option<layan_core::Order>> {
        dispatch!(self, s => s.order(id).await)
    }

    /// The contact whose verified email this is (an `email` identity: from the store, an import
    /// or a signed widget identity — never an address typed into a form).
    pub async fn contact_by_email(&self, email: &str) -> StoreResult<Option<layan_core::Contact>> {
        dispatch!(self, s => s.contact_by_email(email).await)
    }
}

macro_rules! order_queries {
    ($store:ident, $db:ty, $row:ty) => {
/// Records the event; false when it was recorded before.
async fn record_event(tx: &mut sqlx::Transaction<'_, $db>, event: Option<crate::orders::StoreEvent<'_>>) -> StoreResult<bool> {
    let Some(e) = event else { return Ok(true) };
    let done = sqlx::query(&q(
        "INSERT INTO store_events (source, event_key, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ))
    .bind(e.source)
    .bind(e.key)
    .bind(now_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

/// A shipment written or merged. Each field follows the newer store time, except that a
/// delivery is undone only by a newer failure or cancellation — never by an in-transit report,
/// whenever dated or received (carriers' events arrive out of order; the after-delivery
/// follow-up depends on it) — and the delivery time kept is the earliest reported.
async fn upsert_shipment(tx: &mut sqlx::Transaction<'_, $db>, order: i64, s: &layan_core::Shipment) -> StoreResult<()> {
    sqlx::query(&q(
        "INSERT INTO shipments (order_id, external_id, carrier, tracking_number, tracking_url, status, \
         expected_delivery_at, delivered_at, store_updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id, external_id) DO UPDATE SET \
         carrier = CASE WHEN shipments.store_updated_at <= excluded.store_updated_at \
             THEN COALESCE(excluded.carrier, shipments.carrier) ELSE COALESCE(shipments.carrier, excluded.carrier) END, \
         tracking_number = CASE WHEN shipments.store_updated_at <= excluded.store_updated_at \
             THEN COALESCE(excluded.tracking_number, shipments.tracking_number) ELSE COALESCE(shipments.tracking_number, excluded.tracking_number) END, \
         tracking_url = CASE WHEN shipments.store_updated_at <= excluded.store_updated_at \
             THEN COALESCE(excluded.tracking_url, shipments.tracking_url) ELSE COALESCE(shipments.tracking_url, excluded.tracking_url) END, \
         status = CASE \
             WHEN excluded.status = 'delivered' THEN 'delivered' \
             WHEN shipments.status = 'delivered' AND NOT (shipments.store_updated_at <= excluded.store_updated_at \
                 AND excluded.status IN ('failure', 'cancelled', 'error')) THEN 'delivered' \
             WHEN shipments.store_updated_at <= excluded.store_updated_at THEN COALESCE(excluded.status, shipments.status) \
             ELSE COALESCE(shipments.status, excluded.status) END, \
         expected_delivery_at = CASE WHEN shipments.store_updated_at <= excluded.store_updated_at \
             THEN COALESCE(excluded.expected_delivery_at, shipments.expected_delivery_at) ELSE COALESCE(shipments.expected_delivery_at, excluded.expected_delivery_at) END, \
         delivered_at = CASE WHEN shipments.delivered_at IS NULL THEN excluded.delivered_at \
             WHEN excluded.delivered_at IS NULL THEN shipments.delivered_at \
             WHEN excluded.delivered_at < shipments.delivered_at THEN excluded.delivered_at ELSE shipments.delivered_at END, \
         store_updated_at = CASE WHEN shipments.store_updated_at <= excluded.store_updated_at \
             THEN excluded.store_updated_at ELSE shipments.store_updated_at END",
    ))
    .bind(order)
    .bind(&s.external_id)
    .bind(&s.carrier)
    .bind(&s.tracking_number)
    .bind(&s.tracking_url)
    .bind(&s.status)
    .bind(s.expected_delivery_at)
    .bind(s.delivered_at)
    .bind(s.store_updated_at)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

fn order_from_row(row: &$row) -> StoreResult<layan_core::Order> {
    Ok(layan_core::Order {
        id: layan_core::OrderId(row.try_get("id").map_err(db)?),
        source: row.try_get("source").map_err(db)?,
        external_id: row.try_get("external_id").map_err(db)?,
        number: row.try_get("number").map_err(db)?,
        contact_id: row.try_get::<Option<i64>, _>("contact_id").map_err(db)?.map(ContactId),
        email: row.try_get("email").map_err(db)?,
        currency: row.try_get("currency").map_err(db)?,
        total: row.try_get("total").map_err(db)?,
        financial_status: row.try_get("financial_status").map_err(db)?,
        fulfillment_status: row.try_get("fulfillment_status").map_err(db)?,
        cancelled_at: row.try_get("cancelled_at").map_err(db)?,
        placed_at: row.try_get("placed_at").map_err(db)?,
        store_updated_at: row.try_get("store_updated_at").map_err(db)?,
        lines: Vec::new(),
        shipments: Vec::new(),
    })
}

impl $store {
    pub async fn store_event_seen(&self, e: &crate::orders::StoreEvent<'_>) -> StoreResult<bool> {
        let row = sqlx::query(&q("SELECT 1 AS one FROM store_events WHERE source = ? AND event_key = ?"))
            .bind(e.source)
            .bind(e.key)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    pub async fn record_store_event(&self, e: &crate::orders::StoreEvent<'_>) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let fresh = record_event(&mut tx, Some(*e)).await?;
        tx.commit().await.map_err(db)?;
        Ok(fresh)
    }

    pub async fn apply_order(&self, event: Option<crate::orders::StoreEvent<'_>>, o: &crate::orders::NewOrder) -> StoreResult<crate::orders::Applied> {
        use crate::orders::Applied;
        let mut tx = self.writer.begin().await.map_err(db)?;
        if !record_event(&mut tx, event).await? {
            return Ok(Applied::Duplicate);
        }
        // "Newest wins" is a condition of the writes themselves, not of a read before them: two
        // deliveries of one order applied at once (on PostgreSQL, in two transactions) cannot
        // let the older overwrite the newer. A new order is inserted unless it exists (then the
        // conditional update decides); the update changes the row only when it is not newer
        // than this version (PostgreSQL re-checks the condition after a concurrent commit).
        let inserted = sqlx::query(&q(
            "INSERT INTO orders (source, external_id, number, contact_id, email, currency, total, financial_status, \
             fulfillment_status, cancelled_at, placed_at, store_updated_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
        ))
        .bind(&o.source)
        .bind(&o.external_id)
        .bind(&o.number)
        .bind(o.contact_id.map(|c| c.0))
        .bind(&o.email)
        .bind(&o.currency)
        .bind(&o.total)
        .bind(&o.financial_status)
        .bind(&o.fulfillment_status)
        .bind(o.cancelled_at)
        .bind(o.placed_at)
        .bind(o.store_updated_at)
        .bind(now_millis())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let (id, applied) = if let Some(row) = inserted {
            let id: i64 = row.try_get("id").map_err(db)?;
            (id, Applied::Written(layan_core::OrderId(id)))
        } else {
            let updated = sqlx::query(&q(
                "UPDATE orders SET number = ?, contact_id = COALESCE(?, contact_id), email = ?, currency = ?, total = ?, \
                 financial_status = ?, fulfillment_status = ?, cancelled_at = ?, placed_at = ?, store_updated_at = ? \
                 WHERE source = ? AND external_id = ? AND store_updated_at <= ? RETURNING id",
            ))
            .bind(&o.number)
            .bind(o.contact_id.map(|c| c.0))
            .bind(&o.email)
            .bind(&o.currency)
            .bind(&o.total)
            .bind(&o.financial_status)
            .bind(&o.fulfillment_status)
            .bind(o.cancelled_at)
            .bind(o.placed_at)
            .bind(o.store_updated_at)
            .bind(&o.source)
            .bind(&o.external_id)
            .bind(o.store_updated_at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            match updated {
                Some(row) => {
                    let id: i64 = row.try_get("id").map_err(db)?;
                    sqlx::query(&q("DELETE FROM order_lines WHERE order_id = ?"))
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    (id, Applied::Written(layan_core::OrderId(id)))
                }
                None => {
                    let row = sqlx::query(&q("SELECT id FROM orders WHERE source = ? AND external_id = ?"))
                        .bind(&o.source)
                        .bind(&o.external_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                    let id: i64 = row.try_get("id").map_err(db)?;
                    (id, Applied::Stale(layan_core::OrderId(id)))
                }
            }
        };
        if matches!(applied, Applied::Written(_)) {
            for (position, line) in o.lines.iter().enumerate() {
                sqlx::query(&q(
                    "INSERT INTO order_lines (order_id, position, title, variant, quantity, price) VALUES (?, ?, ?, ?, ?, ?)",
                ))
                .bind(id)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&line.title)
                .bind(&line.variant)
                .bind(line.quantity)
                .bind(&line.price)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        for s in &o.shipments {
            upsert_shipment(&mut tx, id, s).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(applied)
    }

    pub async fn apply_shipment(&self, event: Option<crate::orders::StoreEvent<'_>>, source: &str, order_external_id: &str, s: &layan_core::Shipment) -> StoreResult<crate::orders::Applied> {
        use crate::orders::Applied;
        let mut tx = self.writer.begin().await.map_err(db)?;
        let order = sqlx::query(&q("SELECT id FROM orders WHERE source = ? AND external_id = ?"))
            .bind(source)
            .bind(order_external_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(order) = order else {
            // Not recorded as seen: the store retries, and by then the order is here.
            return Ok(Applied::UnknownOrder);
        };
        let id: i64 = order.try_get("id").map_err(db)?;
        if !record_event(&mut tx, event).await? {
            return Ok(Applied::Duplicate);
        }
        upsert_shipment(&mut tx, id, s).await?;
        tx.commit().await.map_err(db)?;
        Ok(Applied::Written(layan_core::OrderId(id)))
    }

    pub async fn orders_of_contact(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<layan_core::Order>> {
        let rows = sqlx::query(&q("SELECT * FROM orders WHERE contact_id = ? ORDER BY placed_at DESC, id DESC LIMIT ?"))
            .bind(contact.0)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let orders = rows.iter().map(order_from_row).collect::<StoreResult<Vec<_>>>()?;
        self.with_details(orders).await
    }

    pub async fn order(&self, id: layan_core::OrderId) -> StoreResult<Option<layan_core::Order>> {
        let row = sqlx::query(&q("SELECT * FROM orders WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        Ok(self.with_details(vec![order_from_row(&row)?]).await?.pop())
    }

    pub async fn delete_orders(&self, source: &str, external_ids: &[String]) -> StoreResult<u64> {
        if external_ids.is_empty() {
            return Ok(0);
        }
        let mut qb = sqlx::QueryBuilder::<$db>::new("DELETE FROM orders WHERE source = ");
        qb.push_bind(source).push(" AND external_id IN (");
        let mut list = qb.separated(", ");
        for e in external_ids {
            list.push_bind(e.as_str());
        }
        list.push_unseparated(")");
        Ok(qb.build().execute(&self.writer).await.map_err(db)?.rows_affected())
    }

    pub async fn proactive_candidates(&self, rule: crate::ProactiveRule, now: Millis, limit: u32) -> StoreResult<Vec<layan_core::Order>> {
        // Orders with a customer, not cancelled, without this rule's message yet.
        let base = "SELECT o.* FROM orders o WHERE o.contact_id IS NOT NULL AND o.cancelled_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM proactive_sends p WHERE p.order_id = o.id AND p.rule = ?) AND ";
        let (sql, a, b) = match rule {
            // A shipment past its expected delivery (plus grace), not delivered.
            crate::ProactiveRule::LateShipment { grace_ms, since } => (
                format!("{base} EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id AND s.delivered_at IS NULL \
                 AND s.expected_delivery_at IS NOT NULL AND s.expected_delivery_at + ? < ? AND s.expected_delivery_at > ?)"),
                grace_ms, since,
            ),
            // Placed longer ago than the processing time and still unfulfilled.
            crate::ProactiveRule::Unfulfilled { after_ms, since } => (
                format!("{base} o.fulfillment_status IS NULL AND o.placed_at + ? < ? AND o.placed_at > ?"),
                after_ms, since,
            ),
            // Every shipment delivered, the last more than N days ago.
            crate::ProactiveRule::AfterDelivery { after_ms, since } => (
                format!("{base} EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id) \
                 AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id AND s.delivered_at IS NULL) \
                 AND (SELECT MAX(s.delivered_at) FROM shipments s WHERE s.order_id = o.id) + ? < ? \
                 AND (SELECT MAX(s.delivered_at) FROM shipments s WHERE s.order_id = o.id) > ?"),
                after_ms, since,
            ),
        };
        let rows = sqlx::query(&q(&format!("{sql} ORDER BY o.id LIMIT ?")))
            .bind(rule.name())
            .bind(a)
            .bind(now)
            .bind(b)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let orders = rows.iter().map(order_from_row).collect::<StoreResult<Vec<_>>>()?;
        self.with_details(orders).await
    }

    pub async fn record_proactive(&self, order: layan_core::OrderId, rule: &str, conversation: Option<layan_core::ConversationId>) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "INSERT INTO proactive_sends (order_id, rule, conversation_id, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        ))
        .bind(order.0)
        .bind(rule)
        .bind(conversation.map(|c| c.0))
        .bind(now_millis())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    /// Fills in the orders' lines and shipments: one query each.
    async fn with_details(&self, mut orders: Vec<layan_core::Order>) -> StoreResult<Vec<layan_core::Order>> {
        if orders.is_empty() {
            return Ok(orders);
        }
        // Lines and shipments of all the page's orders: one query each.
        let position: std::collections::HashMap<i64, usize> =
            orders.iter().enumerate().map(|(i, o)| (o.id.0, i)).collect();
        let in_list = |select: &str, order_by: &str| {
            let mut qb = sqlx::QueryBuilder::<$db>::new(select);
            let mut list = qb.separated(", ");
            for o in &orders {
                list.push_bind(o.id.0);
            }
            list.push_unseparated(format!(") ORDER BY {order_by}"));
            qb
        };
        let lines = in_list(
            "SELECT order_id, title, variant, quantity, price FROM order_lines WHERE order_id IN (",
            "order_id, position",
        )
        .build()
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let shipments = in_list(
            "SELECT order_id, external_id, carrier, tracking_number, tracking_url, status, expected_delivery_at, \
             delivered_at, store_updated_at \
             FROM shipments WHERE order_id IN (",
            "order_id, store_updated_at, external_id",
        )
        .build()
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        for r in &lines {
            let at = position[&r.try_get::<i64, _>("order_id").map_err(db)?];
            orders[at].lines.push(layan_core::OrderLine {
                title: r.try_get("title").map_err(db)?,
                variant: r.try_get("variant").map_err(db)?,
                quantity: r.try_get("quantity").map_err(db)?,
                price: r.try_get("price").map_err(db)?,
            });
        }
        for r in &shipments {
            let at = position[&r.try_get::<i64, _>("order_id").map_err(db)?];
            orders[at].shipments.push(layan_core::Shipment {
                external_id: r.try_get("external_id").map_err(db)?,
                carrier: r.try_get("carrier").map_err(db)?,
                tracking_number: r.try_get("tracking_number").map_err(db)?,
                tracking_url: r.try_get("tracking_url").map_err(db)?,
                status: r.try_get("status").map_err(db)?,
                expected_delivery_at: r.try_get("expected_delivery_at").map_err(db)?,
                delivered_at: r.try_get("delivered_at").map_err(db)?,
                store_updated_at: r.try_get("store_updated_at").map_err(db)?,
            });
        }
        Ok(orders)
    }

    pub async fn contact_by_email(&self, email: &str) -> StoreResult<Option<layan_core::Contact>> {
        let email = email.trim().to_lowercase();
        let row = sqlx::query(&q(
            "SELECT contact_id AS id FROM contact_identities WHERE kind = 'email' AND value = ?",
        ))
        .bind(&email)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        match row {
            Some(r) => self.contact(ContactId(r.try_get("id").map_err(db)?)).await,
            None => Ok(None),
        }
    }
}
    };
}

pub(crate) use order_queries;
