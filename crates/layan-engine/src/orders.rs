//! Orders from the shop's store. Shopify-format webhooks: the signature is checked by the web
//! layer (HMAC-SHA256 of the raw body, base64, with the shop's webhook secret — see
//! [`webhook_signature_ok`]); here the payload is read, its customer matched to a contact (by
//! email, creating one when new), and the order or shipment applied once, newest version winning.

use hmac::{Hmac, Mac};
use layan_core::{ContactId, Millis, Order, OrderLine, Shipment, policy::check_amount};
use layan_store::{Applied, NewContact, NewOrder, StoreError, StoreEvent};
use serde::Deserialize;

use crate::{Engine, EngineResult};

/// Whether `signature` (base64; Shopify's `X-Shopify-Hmac-Sha256`, WooCommerce's
/// `X-WC-Webhook-Signature`) is the HMAC-SHA256 of `body` under `secret`. Constant-time.
pub fn webhook_signature_ok(secret: &str, body: &[u8], signature: &str) -> bool {
    use base64::Engine as _;
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    /// Older than what is stored; nothing changed.
    Stale,
    /// Delivered before; nothing changed.
    Duplicate,
    /// A topic Layan does not use.
    Ignored,
    /// A shipment for an order not seen yet: the store should deliver it again later.
    UnknownOrder,
}

fn outcome(applied: Applied) -> WebhookOutcome {
    match applied {
        Applied::Written(_) => WebhookOutcome::Applied,
        Applied::Stale(_) => WebhookOutcome::Stale,
        Applied::Duplicate => WebhookOutcome::Duplicate,
        Applied::UnknownOrder => WebhookOutcome::UnknownOrder,
    }
}

/// A payload Layan cannot read: the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPayload(pub String);

#[derive(Deserialize)]
struct ShopifyCustomer {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct ShopifyLine {
    title: String,
    variant_title: Option<String>,
    quantity: i64,
    price: String,
}

#[derive(Deserialize)]
struct ShopifyFulfillment {
    id: serde_json::Number,
    #[serde(default)]
    order_id: Option<serde_json::Number>,
    tracking_company: Option<String>,
    tracking_number: Option<String>,
    tracking_url: Option<String>,
    shipment_status: Option<String>,
    status: Option<String>,
    #[serde(default)]
    estimated_delivery_at: Option<String>,
    updated_at: String,
}

/// A carrier's report on a fulfilment (`fulfillment_events/create`): in transit, delayed,
/// delivered, with the expected delivery time when the carrier gives one.
#[derive(Deserialize)]
struct ShopifyFulfillmentEvent {
    fulfillment_id: serde_json::Number,
    order_id: serde_json::Number,
    status: String,
    happened_at: Option<String>,
    #[serde(default)]
    estimated_delivery_at: Option<String>,
    updated_at: Option<String>,
}

fn fulfillment_event(e: &ShopifyFulfillmentEvent) -> Result<Shipment, BadPayload> {
    let at = match (&e.happened_at, &e.updated_at) {
        (Some(h), _) => millis("happened_at", h)?,
        (None, Some(u)) => millis("updated_at", u)?,
        (None, None) => return Err(BadPayload("happened_at is required".into())),
    };
    Ok(Shipment {
        external_id: e.fulfillment_id.to_string(),
        carrier: None,
        tracking_number: None,
        tracking_url: None,
        status: Some(e.status.clone()).filter(|s| !s.is_empty()),
        expected_delivery_at: e
            .estimated_delivery_at
            .as_deref()
            .map(|t| millis("estimated_delivery_at", t))
            .transpose()?,
        delivered_at: (e.status == "delivered").then_some(at),
        store_updated_at: at,
    })
}

#[derive(Deserialize)]
struct ShopifyOrder {
    id: serde_json::Number,
    name: String,
    email: Option<String>,
    currency: String,
    total_price: String,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    cancelled_at: Option<String>,
    created_at: String,
    updated_at: String,
    customer: Option<ShopifyCustomer>,
    #[serde(default)]
    line_items: Vec<ShopifyLine>,
    #[serde(default)]
    fulfillments: Vec<ShopifyFulfillment>,
}

/// Only web links are shown to agents and shoppers as links.
pub(crate) fn web_link(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

pub(crate) fn millis(field: &str, value: &str) -> Result<Millis, BadPayload> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| BadPayload(format!("{field}: {value:?} is not an RFC 3339 time ({e})")))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| BadPayload(format!("{field}: out of range")))
}

fn shipment(f: &ShopifyFulfillment) -> Result<Shipment, BadPayload> {
    Ok(Shipment {
        external_id: f.id.to_string(),
        carrier: f.tracking_company.clone().filter(|s| !s.is_empty()),
        tracking_number: f.tracking_number.clone().filter(|s| !s.is_empty()),
        tracking_url: web_link(f.tracking_url.clone()),
        // The carrier's state when known ("in_transit", "delivered"), else the fulfilment's.
        status: f.shipment_status.clone().or_else(|| f.status.clone()),
        expected_delivery_at: f
            .estimated_delivery_at
            .as_deref()
            .map(|t| millis("fulfillment.estimated_delivery_at", t))
            .transpose()?,
        delivered_at: (f.shipment_status.as_deref() == Some("delivered"))
            .then(|| millis("fulfillment.updated_at", &f.updated_at))
            .transpose()?,
        store_updated_at: millis("fulfillment.updated_at", &f.updated_at)?,
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BadPayload> {
    serde_json::from_slice(body).map_err(|e| BadPayload(format!("not a Shopify payload: {e}")))
}

#[derive(Deserialize)]
struct WooBilling {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct WooLine {
    name: String,
    quantity: i64,
    /// A number in WooCommerce's JSON (unit price).
    price: serde_json::Number,
}

#[derive(Deserialize)]
struct WooOrder {
    id: serde_json::Number,
    number: Option<String>,
    status: String,
    currency: String,
    total: String,
    date_created_gmt: String,
    date_modified_gmt: String,
    billing: Option<WooBilling>,
    #[serde(default)]
    line_items: Vec<WooLine>,
}

/// WooCommerce's `…_gmt` times have no offset: they are UTC.
fn gmt_millis(field: &str, value: &str) -> Result<Millis, BadPayload> {
    let with_zone = if value.ends_with('Z') || value.contains('+') {
        value.to_owned()
    } else {
        format!("{value}Z")
    };
    millis(field, &with_zone)
}

/// A decimal amount from a JSON number ("150000", "4.95"), at most two decimals kept.
fn number_amount(n: &serde_json::Number) -> String {
    let s = n.to_string();
    match s.split_once('.') {
        Some((w, f)) => format!("{w}.{}", &f[..f.len().min(2)]),
        None => s,
    }
}

/// One order in Layan's import format (`layan orders import`; documented in README).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOrder {
    /// The store's id of the order.
    pub id: String,
    /// What the shopper knows it by ("#1042").
    pub number: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub currency: String,
    pub total: String,
    /// pending, paid, refunded, …
    #[serde(default)]
    pub financial_status: Option<String>,
    /// none, partial or fulfilled.
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// RFC 3339.
    pub placed_at: String,
    /// RFC 3339; the placing time when absent.
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub lines: Vec<ImportLine>,
    #[serde(default)]
    pub shipments: Vec<ImportShipment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLine {
    pub title: String,
    #[serde(default)]
    pub variant: Option<String>,
    pub quantity: i64,
    pub price: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportShipment {
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub expected_delivery_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub delivered_at: Option<String>,
}

impl Engine {
    /// Applies one imported order (source `import`): checked like a webhook's, matched to a
    /// contact by email, newest `updated_at` winning, so importing a file again changes nothing.
    pub async fn import_order(
        &self,
        o: ImportOrder,
    ) -> EngineResult<Result<WebhookOutcome, BadPayload>> {
        let checked = (|| {
            if o.id.trim().is_empty() || o.number.trim().is_empty() {
                return Err(BadPayload("id and number are required".into()));
            }
            check_amount(&o.total, "total").map_err(|e| BadPayload(e.message))?;
            if o.currency.len() != 3 || !o.currency.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(BadPayload(format!(
                    "currency: {:?} is not a code like \"IDR\"",
                    o.currency
                )));
            }
            let mut lines = Vec::with_capacity(o.lines.len());
            for (i, l) in o.lines.iter().enumerate() {
                check_amount(&l.price, &format!("lines[{i}].price"))
                    .map_err(|e| BadPayload(e.message))?;
                if l.quantity < 1 {
                    return Err(BadPayload(format!("lines[{i}].quantity: at least 1")));
                }
                lines.push(OrderLine {
                    title: l.title.clone(),
                    variant: l.variant.clone().filter(|v| !v.is_empty()),
                    quantity: l.quantity,
                    price: l.price.clone(),
                });
            }
            let placed_at = millis("placed_at", &o.placed_at)?;
            let updated_at = match &o.updated_at {
                Some(u) => millis("updated_at", u)?,
                None => placed_at,
            };
            let cancelled_at = o
                .cancelled_at
                .as_deref()
                .map(|c| millis("cancelled_at", c))
                .transpose()?;
            if let Some(f) = o.fulfillment_status.as_deref()
                && !matches!(f, "none" | "partial" | "fulfilled")
            {
                return Err(BadPayload(format!(
                    "fulfillment_status: {f:?} is none, partial or fulfilled"
                )));
            }
            let shipments = o
                .shipments
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let at = |name: &str, v: &Option<String>| {
                        v.as_deref()
                            .map(|t| millis(&format!("shipments[{i}].{name}"), t))
                            .transpose()
                    };
                    Ok(Shipment {
                        external_id: format!("{}-{i}", o.id),
                        carrier: s.carrier.clone().filter(|c| !c.is_empty()),
                        tracking_number: s.tracking_number.clone().filter(|c| !c.is_empty()),
                        tracking_url: web_link(s.tracking_url.clone()),
                        status: s.status.clone().filter(|c| !c.is_empty()),
                        expected_delivery_at: at("expected_delivery_at", &s.expected_delivery_at)?,
                        delivered_at: at("delivered_at", &s.delivered_at)?,
                        store_updated_at: updated_at,
                    })
                })
                .collect::<Result<Vec<_>, BadPayload>>()?;
            Ok((lines, shipments, placed_at, updated_at, cancelled_at))
        })();
        let (lines, shipments, placed_at, updated_at, cancelled_at) = match checked {
            Ok(x) => x,
            Err(bad) => return Ok(Err(bad)),
        };
        let email = o
            .email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'));
        let contact_id = match &email {
            Some(e) => Some(self.contact_for_email(e, o.name.as_deref()).await?),
            None => None,
        };
        let order = NewOrder {
            source: "import".into(),
            external_id: o.id,
            number: o.number,
            contact_id,
            email,
            currency: o.currency.to_uppercase(),
            total: o.total,
            financial_status: o
                .financial_status
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "pending".into()),
            fulfillment_status: o.fulfillment_status.filter(|f| f != "none"),
            cancelled_at,
            placed_at,
            store_updated_at: updated_at,
            lines,
            shipments,
        };
        Ok(Ok(outcome(self.store.apply_order(None, &order).await?)))
    }

    /// Applies a WooCommerce webhook (`order.created`, `order.updated`; other topics and the
    /// ping sent when a webhook is created are ignored) whose signature was checked.
    pub async fn woocommerce_webhook(
        &self,
        topic: &str,
        delivery: Option<&str>,
        body: &[u8],
    ) -> EngineResult<Result<WebhookOutcome, BadPayload>> {
        if !matches!(topic, "order.created" | "order.updated" | "order.restored") {
            return Ok(Ok(WebhookOutcome::Ignored));
        }
        let o: WooOrder = match parse(body) {
            Ok(o) => o,
            Err(bad) => return Ok(Err(bad)),
        };
        let checked = (|| {
            check_amount(&o.total, "total").map_err(|e| BadPayload(e.message))?;
            for (i, l) in o.line_items.iter().enumerate() {
                check_amount(&number_amount(&l.price), &format!("line_items[{i}].price"))
                    .map_err(|e| BadPayload(e.message))?;
            }
            if o.currency.len() != 3 {
                return Err(BadPayload(format!("currency: {:?}", o.currency)));
            }
            Ok((
                gmt_millis("date_created_gmt", &o.date_created_gmt)?,
                gmt_millis("date_modified_gmt", &o.date_modified_gmt)?,
            ))
        })();
        let (placed_at, updated_at) = match checked {
            Ok(x) => x,
            Err(bad) => return Ok(Err(bad)),
        };
        let (financial, fulfillment, cancelled) = match o.status.as_str() {
            "completed" => ("paid", Some("fulfilled"), false),
            "processing" | "on-hold" => ("paid", None, false),
            "refunded" => ("refunded", None, false),
            "cancelled" => ("voided", None, true),
            "failed" => ("failed", None, false),
            _ => ("pending", None, false),
        };
        let billing = o.billing.as_ref();
        let email = billing
            .and_then(|b| b.email.clone())
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'));
        let name = billing.map(|b| {
            [b.first_name.as_deref(), b.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let contact_id = match &email {
            Some(e) => Some(self.contact_for_email(e, name.as_deref()).await?),
            None => None,
        };
        let order = NewOrder {
            source: "woocommerce".into(),
            external_id: o.id.to_string(),
            number: format!("#{}", o.number.unwrap_or_else(|| o.id.to_string())),
            contact_id,
            email,
            currency: o.currency.to_uppercase(),
            total: o.total,
            financial_status: financial.into(),
            fulfillment_status: fulfillment.map(str::to_owned),
            cancelled_at: cancelled.then_some(updated_at),
            placed_at,
            store_updated_at: updated_at,
            lines: o
                .line_items
                .iter()
                .map(|l| OrderLine {
                    title: l.name.clone(),
                    variant: None,
                    quantity: l.quantity,
                    price: number_amount(&l.price),
                })
                .collect(),
            shipments: Vec::new(),
        };
        let key = delivery.map(|d| format!("{topic}:{d}"));
        let event = key.as_deref().map(|key| StoreEvent {
            source: "woocommerce",
            key,
        });
        Ok(Ok(outcome(self.store.apply_order(event, &order).await?)))
    }

    /// Applies a Shopify-format webhook whose signature was checked. `event`: its event id, so a
    /// redelivery is recognised.
    /// `shop`: the shop this server serves (privacy webhooks must name it).
    pub async fn shopify_webhook(
        &self,
        topic: &str,
        event: Option<&str>,
        shop: Option<&str>,
        body: &[u8],
    ) -> EngineResult<Result<WebhookOutcome, BadPayload>> {
        let event_id = event;
        let key = event.map(|e| format!("{topic}:{e}"));
        let event = key.as_deref().map(|key| StoreEvent {
            source: "shopify",
            key,
        });
        let applied = match topic {
            "orders/create"
            | "orders/updated"
            | "orders/cancelled"
            | "orders/paid"
            | "orders/fulfilled"
            | "orders/partially_fulfilled"
            | "orders/edited" => {
                let order = match self.read_shopify_order(body).await? {
                    Ok(o) => o,
                    Err(bad) => return Ok(Err(bad)),
                };
                self.store.apply_order(event, &order).await?
            }
            "fulfillments/create" | "fulfillments/update" => {
                let f: ShopifyFulfillment = match parse(body) {
                    Ok(f) => f,
                    Err(bad) => return Ok(Err(bad)),
                };
                let Some(order_id) = f.order_id.as_ref().map(ToString::to_string) else {
                    return Ok(Err(BadPayload("fulfillment without order_id".into())));
                };
                let s = match shipment(&f) {
                    Ok(s) => s,
                    Err(bad) => return Ok(Err(bad)),
                };
                self.store
                    .apply_shipment(event, "shopify", &order_id, &s)
                    .await?
            }
            "customers/redact" | "customers/data_request" => {
                return self.shopify_privacy(topic, event_id, shop, body).await;
            }
            "fulfillment_events/create" => {
                let e: ShopifyFulfillmentEvent = match parse(body) {
                    Ok(e) => e,
                    Err(bad) => return Ok(Err(bad)),
                };
                let s = match fulfillment_event(&e) {
                    Ok(s) => s,
                    Err(bad) => return Ok(Err(bad)),
                };
                self.store
                    .apply_shipment(event, "shopify", &e.order_id.to_string(), &s)
                    .await?
            }
            _ => return Ok(Ok(WebhookOutcome::Ignored)),
        };
        Ok(Ok(outcome(applied)))
    }

    async fn read_shopify_order(&self, body: &[u8]) -> EngineResult<Result<NewOrder, BadPayload>> {
        let o: ShopifyOrder = match parse(body) {
            Ok(o) => o,
            Err(bad) => return Ok(Err(bad)),
        };
        let checked = (|| {
            check_amount(&o.total_price, "total_price").map_err(|e| BadPayload(e.message))?;
            if o.currency.len() != 3 {
                return Err(BadPayload(format!("currency: {:?}", o.currency)));
            }
            let mut lines = Vec::with_capacity(o.line_items.len());
            for (i, l) in o.line_items.iter().enumerate() {
                check_amount(&l.price, &format!("line_items[{i}].price"))
                    .map_err(|e| BadPayload(e.message))?;
                lines.push(OrderLine {
                    title: l.title.clone(),
                    variant: l.variant_title.clone().filter(|v| !v.is_empty()),
                    quantity: l.quantity,
                    price: l.price.clone(),
                });
            }
            let shipments = o
                .fulfillments
                .iter()
                .map(shipment)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((
                lines,
                shipments,
                millis("created_at", &o.created_at)?,
                millis("updated_at", &o.updated_at)?,
                o.cancelled_at
                    .as_deref()
                    .map(|c| millis("cancelled_at", c))
                    .transpose()?,
            ))
        })();
        let (lines, shipments, placed_at, updated_at, cancelled_at) = match checked {
            Ok(x) => x,
            Err(bad) => return Ok(Err(bad)),
        };
        let email = o
            .email
            .clone()
            .or_else(|| o.customer.as_ref().and_then(|c| c.email.clone()))
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'));
        let name = o.customer.as_ref().map(|c| {
            [c.first_name.as_deref(), c.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let contact_id = match &email {
            Some(e) => Some(self.contact_for_email(e, name.as_deref()).await?),
            None => None,
        };
        Ok(Ok(NewOrder {
            source: "shopify".into(),
            external_id: o.id.to_string(),
            number: o.name,
            contact_id,
            email,
            currency: o.currency.to_uppercase(),
            total: o.total_price,
            financial_status: o.financial_status.unwrap_or_else(|| "pending".into()),
            fulfillment_status: o.fulfillment_status,
            cancelled_at,
            placed_at,
            store_updated_at: updated_at,
            lines,
            shipments,
        }))
    }

    /// The contact with this email, created (with the email as an identity) when there is none.
    pub async fn contact_for_email(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> EngineResult<ContactId> {
        if let Some(c) = self.store.contact_by_email(email).await? {
            return Ok(c.id);
        }
        // Names from a store, a mail or a signed identity are kept, made one line (they reach
        // mail headers); 200 characters at most.
        let name = name
            .map(|n| {
                layan_core::one_line(n)
                    .chars()
                    .take(200)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        let name = name.as_deref();
        match self
            .store
            .create_contact_with_identity(
                NewContact {
                    name,
                    email: Some(email),
                    locale: None,
                },
                "email",
                email,
            )
            .await
        {
            Ok(c) => Ok(c.id),
            // Created meanwhile by another request: use that one.
            Err(StoreError::Conflict(_)) => self
                .store
                .contact_by_email(email)
                .await?
                .map(|c| c.id)
                .ok_or(crate::EngineError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The contact's orders, newest first.
    pub async fn orders_of(&self, contact: ContactId) -> EngineResult<Vec<Order>> {
        Ok(self.store.orders_of_contact(contact, 20).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_body() {
        use base64::Engine as _;
        let body = br#"{"id":1}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(body);
        let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert!(webhook_signature_ok("secret", body, &good));
        assert!(!webhook_signature_ok("other", body, &good));
        assert!(!webhook_signature_ok("secret", br#"{"id":2}"#, &good));
        assert!(!webhook_signature_ok("secret", body, "not base64!"));
        assert!(!webhook_signature_ok("secret", body, ""));
    }

    #[test]
    fn times_are_rfc3339_with_offsets() {
        assert_eq!(millis("t", "1970-01-01T07:00:01+07:00").unwrap(), 1_000);
        assert!(millis("t", "yesterday").is_err());
        assert_eq!(
            gmt_millis("t", "1970-01-01T00:00:02").unwrap(),
            2_000,
            "WooCommerce GMT"
        );
    }

    #[test]
    fn woocommerce_prices_become_decimal_strings() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(number_amount(&n("150000")), "150000");
        assert_eq!(number_amount(&n("4.95")), "4.95");
        assert_eq!(number_amount(&n("4.999")), "4.99");
    }
}
