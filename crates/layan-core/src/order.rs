//! Orders from the shop's store, as agents (and later the bot) see them next to a conversation:
//! number, status, what was bought, and where the parcel is. Orders arrive from store webhooks;
//! the store's own `updated_at` decides which version is newest, so a late or replayed delivery
//! never overwrites a newer one.

use serde::Serialize;

use crate::{ContactId, Millis, OrderId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub title: String,
    pub variant: Option<String>,
    pub quantity: i64,
    /// Unit price, a decimal string in the order's currency.
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shipment {
    /// The store's id of the fulfilment.
    pub external_id: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The store's shipment status ("in_transit", "delivered", …).
    pub status: Option<String>,
    /// When the carrier or store expects it to arrive.
    pub expected_delivery_at: Option<Millis>,
    /// When it was delivered (the first report of delivery).
    pub delivered_at: Option<Millis>,
    pub store_updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    /// Where it came from: "shopify", "woocommerce", "import".
    pub source: String,
    /// The store's id.
    pub external_id: String,
    /// What the shopper knows it by ("#1042").
    pub number: String,
    pub contact_id: Option<ContactId>,
    pub email: Option<String>,
    pub currency: String,
    /// A decimal string.
    pub total: String,
    /// "pending", "paid", "refunded", …
    pub financial_status: String,
    /// None (unfulfilled), "partial", "fulfilled".
    pub fulfillment_status: Option<String>,
    pub cancelled_at: Option<Millis>,
    pub placed_at: Millis,
    pub store_updated_at: Millis,
    pub lines: Vec<OrderLine>,
    pub shipments: Vec<Shipment>,
}

impl Order {
    /// One word for the order's state, for lists and canned responses: cancelled, delivered,
    /// shipped, partially shipped, paid, or the payment status.
    pub fn status(&self) -> &str {
        if self.cancelled_at.is_some() {
            return "cancelled";
        }
        if !self.shipments.is_empty()
            && self
                .shipments
                .iter()
                .all(|s| s.status.as_deref() == Some("delivered"))
        {
            return "delivered";
        }
        match self.fulfillment_status.as_deref() {
            Some("fulfilled") => "shipped",
            Some("partial") => "partially shipped",
            _ => self.financial_status.as_str(),
        }
    }

    /// The tracking link of the newest shipment that has one.
    pub fn tracking_url(&self) -> Option<&str> {
        self.shipments
            .iter()
            .rev()
            .find_map(|s| s.tracking_url.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            id: OrderId(1),
            source: "shopify".into(),
            external_id: "1".into(),
            number: "#1001".into(),
            contact_id: None,
            email: None,
            currency: "IDR".into(),
            total: "150000".into(),
            financial_status: "paid".into(),
            fulfillment_status: None,
            cancelled_at: None,
            placed_at: 0,
            store_updated_at: 0,
            lines: vec![],
            shipments: vec![],
        }
    }

    fn shipment(status: &str, url: Option<&str>) -> Shipment {
        Shipment {
            external_id: "s".into(),
            carrier: None,
            tracking_number: None,
            tracking_url: url.map(str::to_owned),
            status: Some(status.into()),
            expected_delivery_at: None,
            delivered_at: None,
            store_updated_at: 0,
        }
    }

    #[test]
    fn status_and_tracking_follow_the_order() {
        let mut o = order();
        assert_eq!(o.status(), "paid");
        o.fulfillment_status = Some("fulfilled".into());
        o.shipments = vec![
            shipment("in_transit", Some("https://t/1")),
            shipment("in_transit", None),
        ];
        assert_eq!(o.status(), "shipped");
        assert_eq!(o.tracking_url(), Some("https://t/1"));
        o.shipments = vec![shipment("delivered", None)];
        assert_eq!(o.status(), "delivered");
        o.cancelled_at = Some(5);
        assert_eq!(o.status(), "cancelled");
    }
}
