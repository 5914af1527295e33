//! Order actions an agent takes from the sidebar — refund (full or partial), cancel, resend —
//! carried out by the store through its API. `ShopifyAdmin` speaks Shopify's Admin REST API
//! (`X-Shopify-Access-Token`; `orders/{id}/cancel.json`, `orders/{id}/transactions.json` then
//! `orders/{id}/refunds.json`, and `orders.json` for a replacement order). A store error is shown
//! to the agent and nothing is recorded as done; a success is written into the conversation as a
//! note and audited.

use std::time::Duration;

use layan_core::{
    Author, ConversationId, Direction, InvalidValue, MessageBody, NewMessage, Order, OrderId,
    Target,
};
use serde::Deserialize;

use crate::outbound::{NetError, OutboundPolicy};
use crate::{Access, Engine, EngineError, EngineResult};

/// The Admin API version Layan speaks.
pub const SHOPIFY_API_VERSION: &str = "2024-10";
const TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to the shop's Shopify Admin API.
#[derive(Clone)]
pub struct ShopifyAdmin {
    base: String,
    token: String,
    http: reqwest::Client,
    outbound: OutboundPolicy,
}

impl std::fmt::Debug for ShopifyAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyAdmin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a store call can answer besides success: its own words, for the agent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreApiError(pub String);

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
    /// Requests go through `outbound` (a loopback or private store address needs allowing).
    pub fn new(base: &str, token: &str, outbound: &OutboundPolicy) -> Result<Self, String> {
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
            http: outbound.http_client(TIMEOUT),
            outbound: outbound.clone(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/admin/api/{SHOPIFY_API_VERSION}/{path}", self.base)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, StoreApiError> {
        let url = self.url(path);
        self.outbound
            .check_url(&url)
            .map_err(|e| StoreApiError(format!("the store could not be reached ({e})")))?;
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
            StoreApiError(format!(
                "the store could not be reached ({})",
                NetError::of_http(&e)
            ))
        })?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return Ok(json);
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
        Err(StoreApiError(format!(
            "the store refused ({}): {said}",
            status.as_u16()
        )))
    }

    pub async fn cancel(&self, order: &Order) -> Result<String, StoreApiError> {
        self.call(
            reqwest::Method::POST,
            &format!("orders/{}/cancel.json", order.external_id),
            Some(serde_json::json!({"reason": "customer", "email": true, "restock": true})),
        )
        .await?;
        Ok(format!("cancelled {}", order.number))
    }

    pub async fn refund(&self, order: &Order, amount: &str) -> Result<String, StoreApiError> {
        let txs = self
            .call(
                reqwest::Method::GET,
                &format!("orders/{}/transactions.json", order.external_id),
                None,
            )
            .await?;
        let txs: Vec<Transaction> = serde_json::from_value(txs["transactions"].clone())
            .map_err(|e| StoreApiError(format!("the store's transactions were unreadable: {e}")))?;
        let parent = txs
            .iter()
            .find(|t| (t.kind == "sale" || t.kind == "capture") && t.status == "success")
            .ok_or_else(|| StoreApiError("the order has no captured payment to refund".into()))?;
        let body = serde_json::json!({"refund": {
            "currency": order.currency,
            "notify": true,
            "note": format!("Refund from Layan for {}", order.number),
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
        let id = res["refund"]["id"].to_string();
        Ok(format!("refund {id}"))
    }

    pub async fn resend(&self, order: &Order) -> Result<String, StoreApiError> {
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
            return Err(StoreApiError("the order has no items to send again".into()));
        }
        let body = serde_json::json!({"order": {
            "email": order.email,
            "currency": order.currency,
            "line_items": lines,
            "financial_status": "paid",
            "note": format!("Replacement for {} (sent from Layan)", order.number),
            "tags": "layan-resend",
        }});
        let res = self
            .call(reqwest::Method::POST, "orders.json", Some(body))
            .await?;
        let name = res["order"]["name"]
            .as_str()
            .unwrap_or("a new order")
            .to_string();
        Ok(format!("replacement order {name}"))
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
    /// then notes it in the conversation. Admins and supervisors. A store error is
    /// `EngineError::Upstream` with the store's words; nothing is recorded then.
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
        let done = match action {
            OrderAction::Cancel => {
                if o.cancelled_at.is_some() {
                    return Err(EngineError::Conflict("already_cancelled"));
                }
                admin.cancel(&o).await
            }
            OrderAction::Refund { amount } => {
                let amount = refund_amount(amount.as_deref(), &o)?;
                admin
                    .refund(&o, &amount)
                    .await
                    .map(|r| format!("refunded {} {amount} ({r})", o.currency))
            }
            OrderAction::Resend => admin.resend(&o).await,
        }
        .map_err(|e| EngineError::Upstream(e.0))?;
        let text = format!(
            "{} {done} on {} through the store",
            access.agent.name, o.number
        );
        self.ingest(NewMessage {
            target: Target::Conversation(c.id),
            direction: Direction::Note,
            author: Author::System,
            author_name: None,
            body: MessageBody::parse(&text)?,
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: None,
        })
        .await?;
        self.audit(
            Some(&access.agent),
            "order_action",
            Some(&o.number),
            Some(&done),
            ip,
        )
        .await;
        Ok(text)
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
