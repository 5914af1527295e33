//! Order actions an agent takes from the sidebar — refund (full or partial), cancel, resend —
//! carried out by the store through its API. `ShopifyAdmin` speaks Shopify's Admin REST API
//! (`X-Shopify-Access-Token`; `orders/{id}/cancel.json`, `orders/{id}/transactions.json` then
//! `orders/{id}/refunds.json`, and `orders.json` for a replacement order).
//!
//! Every action has an outcome of record (`order_actions`): written *pending* before the call
//! with a reference of ours that travels with it (in a refund's note, as a replacement order's
//! `source_identifier`); then *done* (the order in Layan updated at once: cancelled, refunded),
//! *failed* (the store refused, or the request never left: the agent reads why) or *unknown*
//! (sent, and no answer: the store may have done it). The same action on that order is then
//! allowed only after asking the store whether it was done (its refunds, the order, recent
//! orders), so a retry never refunds or sends twice. Each outcome is a note in the
//! conversation, in the acting agent's language, and audited.

use std::time::Duration;

use layan_core::{
    Author, ConversationId, Direction, InvalidValue, MessageBody, NewMessage, Order, OrderId,
    Target,
};
use serde::Deserialize;

use layan_core::{ActionOutcome, OrderActionKind};
use layan_store::OrderChange;

use crate::outbound::{NetError, OutboundPolicy};
use crate::{Access, Engine, EngineError, EngineResult};

/// The Admin API version Layan speaks.
pub const SHOPIFY_API_VERSION: &str = "2024-10";
/// How long a request to the store may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to the shop's Shopify Admin API.
#[derive(Clone)]
pub struct ShopifyAdmin {
    base: String,
    token: String,
    http: reqwest::Client,
    outbound: OutboundPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for ShopifyAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyAdmin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a store call can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum StoreApiError {
    /// The store refused, or the request never left: nothing was done. Its words, for the agent.
    #[error("{0}")]
    Refused(String),
    /// The request was sent and no answer came (a timeout, a dropped connection, a server
    /// error): the store may have done it.
    #[error("{0}")]
    NoAnswer(String),
}

/// What the store did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDone {
    /// The store's id for it: the refund's id, the replacement order's number, "cancelled".
    pub result: String,
    /// Its number as shown in a note ("#509562969", "#1043"), when the store gave one.
    pub id: Option<String>,
    /// The store's time of it, when it says.
    pub at: Option<layan_core::Millis>,
}

/// A refund the store made (its answer, or one listed).
fn refund_done(r: &serde_json::Value) -> StoreDone {
    let id = r["id"].as_u64().map(|i| i.to_string());
    StoreDone {
        result: format!("refund {}", id.as_deref().unwrap_or("?")),
        id: id.map(|i| format!("#{i}")),
        at: store_time(&r["created_at"]),
    }
}

/// A replacement order the store made.
fn replacement_done(o: &serde_json::Value) -> StoreDone {
    let name = o["name"].as_str().map(str::to_owned);
    StoreDone {
        result: name.clone().unwrap_or_else(|| "a new order".into()),
        id: name,
        at: None,
    }
}

/// A time in the store's answer (RFC 3339), if it is one.
fn store_time(v: &serde_json::Value) -> Option<layan_core::Millis> {
    v.as_str()
        .and_then(|t| crate::orders::millis("store time", t).ok())
}

/// An order action as the agent asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderAction {
    /// `None`: the whole order.
    Refund {
        amount: Option<String>,
    },
    Cancel,
    /// A replacement order with the same items at no charge.
    Resend,
}

#[derive(Deserialize)]
struct Transaction {
    id: serde_json::Number,
    kind: String,
    status: String,
    gateway: Option<String>,
}

impl ShopifyAdmin {
    /// `base`: the shop's address (`https://batik-sari.myshopify.com`).
    /// Requests go through `outbound` (a loopback or private store address needs allowing) and
    /// may take `timeout` each.
    pub fn new(
        base: &str,
        token: &str,
        outbound: &OutboundPolicy,
        timeout: Duration,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("{base:?} is not an http(s) address"));
        }
        if reqwest::Url::parse(&base).is_err() {
            return Err(format!("{base:?} is not an address"));
        }
        Ok(Self {
            base,
            token: token.to_string(),
            http: outbound.http_client(timeout),
            outbound: outbound.clone(),
            timeout,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/admin/api/{SHOPIFY_API_VERSION}/{path}", self.base)
    }

    /// One request. A state-changing request (not GET) that was sent and got no answer, or a
    /// server error, is `NoAnswer`; one the store refused (4xx, including a rate limit, which
    /// Shopify answers before doing anything) or that never left is `Refused`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, StoreApiError> {
        let url = self.url(path);
        let changes = method != reqwest::Method::GET;
        self.outbound
            .check_url(&url)
            .map_err(|e| StoreApiError::Refused(format!("the store could not be reached ({e})")))?;
        let mut req = self
            .http
            .request(method, url)
            .header("X-Shopify-Access-Token", &self.token)
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| {
            tracing::warn!(error = %e, "the store's API");
            let said = format!("the store could not be reached ({})", NetError::of_http(&e));
            // Not connected: the request never left. Anything later: it may have arrived.
            if e.is_connect() || !changes {
                StoreApiError::Refused(said)
            } else {
                StoreApiError::NoAnswer(said)
            }
        })?;
        let status = res.status();
        let text = match res.text().await {
            Ok(t) => t,
            Err(e) if changes && status.is_success() => {
                // Done, with an answer cut short.
                tracing::warn!(error = %e, "the store's answer was cut short");
                String::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "the store's answer was cut short");
                let said = format!("the store's answer was cut short ({status})");
                return Err(if changes {
                    StoreApiError::NoAnswer(said)
                } else {
                    StoreApiError::Refused(said)
                });
            }
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        if status.is_server_error() && changes {
            tracing::warn!(status = %status, "the store answered a change with a server error");
            return Err(StoreApiError::NoAnswer(format!(
                "the store answered with an error of its own ({})",
                status.as_u16()
            )));
        }
        // Shopify's errors: {"errors": "…"} or {"errors": {"field": ["…"]}}.
        let said = match &json["errors"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| {
                    let msgs = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_else(|| v.to_string());
                    if k == "base" {
                        msgs
                    } else {
                        format!("{k}: {msgs}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            // Not Shopify's error format: its status only (the body is logged, not shown).
            _ => {
                tracing::warn!(status = %status, body = %text.chars().take(500).collect::<String>(), "the store's answer is not an API error");
                String::from("no error in the API's format")
            }
        };
        Err(StoreApiError::Refused(format!(
            "the store refused ({}): {said}",
            status.as_u16()
        )))
    }

    async fn get(&self, path: &str) -> Result<serde_json::Value, StoreApiError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn cancel(&self, order: &Order) -> Result<StoreDone, StoreApiError> {
        let res = self
            .call(
                reqwest::Method::POST,
                &format!("orders/{}/cancel.json", order.external_id),
                Some(serde_json::json!({"reason": "customer", "email": true, "restock": true})),
            )
            .await?;
        Ok(StoreDone {
            result: "cancelled".into(),
            id: None,
            at: store_time(&res["order"]["cancelled_at"])
                .or_else(|| store_time(&res["order"]["updated_at"])),
        })
    }

    /// Refunds `amount` of the captured payment; `reference` goes into the refund's note.
    pub async fn refund(
        &self,
        order: &Order,
        amount: &str,
        reference: &str,
    ) -> Result<StoreDone, StoreApiError> {
        let txs = self
            .call(
                reqwest::Method::GET,
                &format!("orders/{}/transactions.json", order.external_id),
                None,
            )
            .await?;
        let txs: Vec<Transaction> =
            serde_json::from_value(txs["transactions"].clone()).map_err(|e| {
                StoreApiError::Refused(format!("the store's transactions were unreadable: {e}"))
            })?;
        let parent = txs
            .iter()
            .find(|t| (t.kind == "sale" || t.kind == "capture") && t.status == "success")
            .ok_or_else(|| {
                StoreApiError::Refused("the order has no captured payment to refund".into())
            })?;
        let body = serde_json::json!({"refund": {
            "currency": order.currency,
            "notify": true,
            "note": format!("Refund from Layan for {} (ref {reference})", order.number),
            "transactions": [{
                "parent_id": parent.id,
                "amount": amount,
                "kind": "refund",
                "gateway": parent.gateway,
            }],
        }});
        let res = self
            .call(
                reqwest::Method::POST,
                &format!("orders/{}/refunds.json", order.external_id),
                Some(body),
            )
            .await?;
        Ok(refund_done(&res["refund"]))
    }

    /// A replacement order with the same items at no charge; `reference` is its
    /// `source_identifier`.
    pub async fn resend(&self, order: &Order, reference: &str) -> Result<StoreDone, StoreApiError> {
        let lines: Vec<serde_json::Value> = order
            .lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "title": match &l.variant { Some(v) => format!("{} ({v})", l.title), None => l.title.clone() },
                    "quantity": l.quantity,
                    "price": "0.00",
                })
            })
            .collect();
        if lines.is_empty() {
            return Err(StoreApiError::Refused(
                "the order has no items to send again".into(),
            ));
        }
        let body = serde_json::json!({"order": {
            "email": order.email,
            "currency": order.currency,
            "line_items": lines,
            "financial_status": "paid",
            "note": format!("Replacement for {} (sent from Layan)", order.number),
            // The reference twice: as the source identifier, and as a tag.
            "tags": format!("layan-resend, {reference}"),
            "source_identifier": reference,
        }});
        let res = self
            .call(reqwest::Method::POST, "orders.json", Some(body))
            .await?;
        Ok(replacement_done(&res["order"]))
    }

    /// The order as the store has it now: its payment status, cancellation and time (to
    /// apply after an action the store confirmed).
    pub async fn order_state(&self, order: &Order) -> Result<OrderChange, StoreApiError> {
        let res = self
            .get(&format!(
                "orders/{}.json?fields=financial_status,cancelled_at,updated_at",
                order.external_id
            ))
            .await?;
        let o = &res["order"];
        let at = store_time(&o["updated_at"])
            .ok_or_else(|| StoreApiError::Refused("the store's order has no updated_at".into()))?;
        Ok(OrderChange {
            financial_status: o["financial_status"].as_str().map(str::to_owned),
            cancelled_at: store_time(&o["cancelled_at"]),
            store_updated_at: at,
        })
    }

    /// How long after an unanswered request the store is trusted to have finished it: a
    /// request it received is done (or not) by then, so "not found" means "not done".
    pub fn settle(&self) -> Duration {
        self.timeout * 8
    }

    /// Asks the store whether an action sent with `reference` (at `since`) was done: the
    /// order's refunds for the reference, whether the order is cancelled, recent orders for a
    /// replacement with that source identifier. `Err`: the store cannot tell now.
    pub async fn find(
        &self,
        order: &Order,
        kind: OrderActionKind,
        reference: &str,
        since: layan_core::Millis,
    ) -> Result<Option<StoreDone>, StoreApiError> {
        match kind {
            OrderActionKind::Refund => {
                let res = self
                    .get(&format!("orders/{}/refunds.json", order.external_id))
                    .await?;
                Ok(res["refunds"].as_array().and_then(|list| {
                    list.iter()
                        .find(|r| r["note"].as_str().is_some_and(|n| n.contains(reference)))
                        .map(refund_done)
                }))
            }
            OrderActionKind::Cancel => {
                let res = self
                    .get(&format!("orders/{}.json", order.external_id))
                    .await?;
                Ok(
                    store_time(&res["order"]["cancelled_at"]).map(|at| StoreDone {
                        result: "cancelled".into(),
                        id: None,
                        at: Some(at),
                    }),
                )
            }
            OrderActionKind::Resend => {
                let from = time::OffsetDateTime::from_unix_timestamp((since / 1000) - 600)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                let res = self
                    .get(&format!(
                        "orders.json?status=any&limit=250&created_at_min={from}&fields=id,name,source_identifier,tags"
                    ))
                    .await?;
                Ok(res["orders"].as_array().and_then(|list| {
                    list.iter()
                        .find(|o| {
                            o["source_identifier"].as_str() == Some(reference)
                                || o["tags"]
                                    .as_str()
                                    .is_some_and(|t| t.split(',').any(|t| t.trim() == reference))
                        })
                        .map(replacement_done)
                }))
            }
        }
    }
}

/// Checks a refund amount: a positive decimal no larger than the order's total.
fn refund_amount(amount: Option<&str>, order: &Order) -> Result<String, InvalidValue> {
    let Some(a) = amount.map(str::trim) else {
        return Ok(order.total.clone());
    };
    let bad = || {
        InvalidValue::new(
            "invalid_amount",
            "amount: a positive decimal like 25000 or 4.95, at most the order's total",
        )
    };
    let asked = layan_core::amount_minor(a).ok_or_else(bad)?;
    let total = layan_core::amount_minor(&order.total).ok_or_else(bad)?;
    if asked == 0 || asked > total {
        return Err(bad());
    }
    Ok(a.to_string())
}

impl Engine {
    /// Connects order actions to the shop's Shopify Admin API.
    pub fn with_shopify_admin(mut self, admin: ShopifyAdmin) -> Self {
        self.shopify_admin = Some(admin);
        self
    }

    /// Whether order actions are available.
    pub fn order_actions_enabled(&self) -> bool {
        self.shopify_admin.is_some()
    }

    /// Refunds, cancels or resends an order of the conversation's customer through the store,
    /// then notes it in the conversation (in the agent's language). Admins and supervisors.
    /// The outcome is recorded before and after the call (see the module's documentation):
    /// a refusal is `EngineError::Upstream` with the store's words and changes nothing; no
    /// answer is `Conflict("store_no_answer")`; an earlier unanswered request the store turns
    /// out to have carried out is `Conflict("already_done")`, and the new one is not sent.
    pub async fn order_action(
        &self,
        access: &Access,
        conversation: ConversationId,
        order: OrderId,
        action: &OrderAction,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<String> {
        let c = self.conversation_for(access, conversation).await?;
        let o = self
            .store
            .order(order)
            .await?
            .ok_or(EngineError::NotFound)?;
        if o.contact_id != Some(c.contact_id) {
            return Err(EngineError::NotFound);
        }
        if !access.supervises() {
            return Err(EngineError::Forbidden(
                "only admins and supervisors refund, cancel or resend orders",
            ));
        }
        let Some(admin) = &self.shopify_admin else {
            return Err(EngineError::Conflict("store_not_connected"));
        };
        if o.source != "shopify" {
            return Err(EngineError::Conflict("not_a_shopify_order"));
        }
        let kind = match action {
            OrderAction::Refund { .. } => OrderActionKind::Refund,
            OrderAction::Cancel => OrderActionKind::Cancel,
            OrderAction::Resend => OrderActionKind::Resend,
        };
        let amount = match action {
            OrderAction::Refund { amount } => Some(refund_amount(amount.as_deref(), &o)?),
            _ => None,
        };
        let agent = &access.agent;
        let shown_amount = |a: Option<&str>| {
            a.map(|a| layan_core::policy::format_amount(a, &o.currency, agent.locale))
                .unwrap_or_default()
        };
        // An earlier one in flight, or in doubt: ask the store before sending another.
        let mut replacing = None;
        if let Some(open) = self.store.open_order_action(o.id, kind.as_str()).await? {
            let now = layan_core::now_millis();
            let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            // A request still within its time (a refund makes two) — or another request asking
            // the store about this one — is under way: wait for it.
            let in_flight = ms(admin.timeout) * 2 + 5_000;
            if open.state != "unknown" && now - open.updated_at < in_flight {
                return Err(EngineError::Conflict("action_in_progress"));
            }
            // Only one request asks the store about it (two agents, two nodes).
            if !self
                .store
                .claim_order_action(open.id, &open.state, open.updated_at)
                .await?
            {
                return Err(EngineError::Conflict("action_in_progress"));
            }
            let settled = now - open.created_at >= ms(admin.settle());
            let back_in_doubt = || {
                self.store
                    .finish_order_action(open.id, "unknown", open.result.as_deref(), None)
            };
            match admin.find(&o, kind, &open.reference, open.created_at).await {
                Ok(Some(done)) => {
                    let change = self
                        .confirmed_change(admin, &o, kind, open.amount.as_deref(), &done)
                        .await;
                    if self
                        .store
                        .finish_order_action(open.id, "done", Some(&done.result), change.as_ref())
                        .await?
                    {
                        let text = layan_core::action_note(
                            kind,
                            ActionOutcome::DoneEarlier {
                                id: done.id.as_deref(),
                            },
                            &agent.name,
                            &o.number,
                            &shown_amount(open.amount.as_deref()),
                            agent.locale,
                        );
                        self.note_after_done(c.id, &text).await;
                        self.audit(
                            Some(agent),
                            "order_action_confirmed",
                            Some(&o.number),
                            Some(&format!("{} {}", kind.as_str(), done.result)),
                            ip,
                        )
                        .await;
                    }
                    return Err(EngineError::Conflict("already_done"));
                }
                // Not there, and the store has had time to finish anything it received: not
                // done. Recorded so in the same transaction as the new attempt.
                Ok(None) if settled => replacing = Some(open.id),
                // Not there yet: it may still appear. Nothing is sent.
                Ok(None) => {
                    back_in_doubt().await?;
                    return Err(EngineError::Conflict("still_in_doubt"));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the store cannot tell whether an earlier action was done");
                    back_in_doubt().await?;
                    return Err(EngineError::Conflict("store_no_answer"));
                }
            }
        }
        if kind == OrderActionKind::Cancel && o.cancelled_at.is_some() {
            if let Some(old) = replacing {
                self.store
                    .finish_order_action(old, "failed", Some("not done by the store"), None)
                    .await?;
            }
            return Err(EngineError::Conflict("already_cancelled"));
        }
        let reference = format!("layan-{}", crate::auth::random_key(""));
        let id = match self
            .store
            .begin_order_action(
                o.id,
                agent.id,
                kind.as_str(),
                amount.as_deref(),
                &reference,
                replacing,
            )
            .await?
        {
            Ok(id) => id,
            Err(_) => return Err(EngineError::Conflict("action_in_progress")),
        };
        let outcome = match kind {
            OrderActionKind::Cancel => admin.cancel(&o).await,
            OrderActionKind::Refund => {
                admin
                    .refund(&o, amount.as_deref().unwrap_or(&o.total), &reference)
                    .await
            }
            OrderActionKind::Resend => admin.resend(&o, &reference).await,
        };
        match outcome {
            Ok(done) => {
                let change = self
                    .confirmed_change(admin, &o, kind, amount.as_deref(), &done)
                    .await;
                // Done by the store: from here on nothing may turn into an error answer (the
                // agent would try again). What fails is logged.
                if let Err(e) = self
                    .store
                    .finish_order_action(id, "done", Some(&done.result), change.as_ref())
                    .await
                {
                    tracing::error!(error = %e, action = id, "an order action the store did could not be recorded as done");
                }
                let text = layan_core::action_note(
                    kind,
                    ActionOutcome::Done {
                        replacement: done.id.as_deref(),
                    },
                    &agent.name,
                    &o.number,
                    &shown_amount(amount.as_deref()),
                    agent.locale,
                );
                self.note_after_done(c.id, &text).await;
                self.audit(
                    Some(agent),
                    "order_action",
                    Some(&o.number),
                    Some(&format!(
                        "{} {}{}",
                        kind.as_str(),
                        amount
                            .as_deref()
                            .map(|a| format!("{} {a} ", o.currency))
                            .unwrap_or_default(),
                        done.result
                    )),
                    ip,
                )
                .await;
                Ok(text)
            }
            Err(StoreApiError::Refused(said)) => {
                self.store
                    .finish_order_action(id, "failed", Some(&said), None)
                    .await?;
                Err(EngineError::Upstream(said))
            }
            Err(StoreApiError::NoAnswer(said)) => {
                self.store
                    .finish_order_action(id, "unknown", Some(&said), None)
                    .await?;
                let text = layan_core::action_note(
                    kind,
                    ActionOutcome::InDoubt,
                    &agent.name,
                    &o.number,
                    &shown_amount(amount.as_deref()),
                    agent.locale,
                );
                self.note(c.id, &text).await?;
                self.audit(
                    Some(agent),
                    "order_action_unknown",
                    Some(&o.number),
                    Some(&format!("{} {said}", kind.as_str())),
                    ip,
                )
                .await;
                Err(EngineError::Conflict("store_no_answer"))
            }
        }
    }

    /// What a confirmed action changes on the order in Layan at once: the order as the store
    /// has it now (its payment status, cancellation and time), or when the store cannot be
    /// read, cancelled / refunded in full or in part as of the store's time of the action
    /// (every confirmed refund counted). A replacement order arrives as an order of its own.
    async fn confirmed_change(
        &self,
        admin: &ShopifyAdmin,
        o: &Order,
        kind: OrderActionKind,
        amount: Option<&str>,
        done: &StoreDone,
    ) -> Option<OrderChange> {
        if kind == OrderActionKind::Resend {
            return None;
        }
        match admin.order_state(o).await {
            Ok(state) => return Some(state),
            Err(e) => tracing::warn!(error = %e, "the order could not be read back from the store"),
        }
        // The store's time of the action; without one, the order's as it is (never this
        // machine's clock, which a webhook's store time cannot be compared with).
        let at = done.at.unwrap_or(o.store_updated_at);
        match kind {
            OrderActionKind::Cancel => Some(OrderChange {
                financial_status: None,
                cancelled_at: Some(done.at.unwrap_or_else(layan_core::now_millis)),
                store_updated_at: at.max(o.store_updated_at),
            }),
            OrderActionKind::Refund => {
                let earlier: i64 = match self.store.order_actions(o.id).await {
                    Ok(list) => list
                        .iter()
                        .filter(|a| a.kind == "refund" && a.state == "done")
                        .filter_map(|a| a.amount.as_deref().and_then(layan_core::amount_minor))
                        .sum(),
                    Err(_) => 0,
                };
                let refunded = earlier + amount.and_then(layan_core::amount_minor).unwrap_or(0);
                let total = layan_core::amount_minor(&o.total).unwrap_or(i64::MAX);
                Some(OrderChange {
                    financial_status: Some(
                        if refunded >= total {
                            "refunded"
                        } else {
                            "partially_refunded"
                        }
                        .into(),
                    ),
                    cancelled_at: None,
                    store_updated_at: at.max(o.store_updated_at),
                })
            }
            OrderActionKind::Resend => None,
        }
    }

    /// A note after the store did something: a failure to write it is logged, never answered
    /// as an error (the agent would try again and the store would do it twice).
    async fn note_after_done(&self, conversation: ConversationId, text: &str) {
        if let Err(e) = self.note(conversation, text).await {
            tracing::error!(error = %e, "the note of a done order action could not be written");
        }
    }

    /// A private note in the conversation.
    async fn note(&self, conversation: ConversationId, text: &str) -> EngineResult<()> {
        self.ingest(NewMessage {
            target: Target::Conversation(conversation),
            direction: Direction::Note,
            author: Author::System,
            author_name: None,
            body: MessageBody::parse(text)?,
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: None,
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(total: &str) -> Order {
        Order {
            id: OrderId(1),
            source: "shopify".into(),
            external_id: "1".into(),
            number: "#1".into(),
            contact_id: None,
            email: None,
            currency: "IDR".into(),
            total: total.into(),
            financial_status: "paid".into(),
            fulfillment_status: None,
            cancelled_at: None,
            placed_at: 0,
            store_updated_at: 0,
            lines: vec![],
            shipments: vec![],
        }
    }

    #[test]
    fn refund_amounts_are_positive_and_within_the_total() {
        let o = order("450000.00");
        assert_eq!(refund_amount(None, &o).unwrap(), "450000.00");
        assert_eq!(refund_amount(Some("100000"), &o).unwrap(), "100000");
        assert_eq!(refund_amount(Some("450000.00"), &o).unwrap(), "450000.00");
        for bad in ["0", "450000.01", "-5", "1e3", "12.345", "", "abc"] {
            assert!(refund_amount(Some(bad), &o).is_err(), "{bad}");
        }
    }
}
