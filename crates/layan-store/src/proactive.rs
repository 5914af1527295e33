//! Which orders a proactive rule looks for (the queries are in `orders.rs`).

/// A proactive rule as the store searches for it. `since` bounds the search to recent orders,
/// so turning a rule on does not message every customer of the past years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProactiveRule {
    /// A shipment whose expected delivery passed more than `grace_ms` ago, not delivered.
    LateShipment { grace_ms: i64, since: i64 },
    /// An order unfulfilled more than `after_ms` after it was placed.
    Unfulfilled { after_ms: i64, since: i64 },
    /// All shipments delivered, the last more than `after_ms` ago.
    AfterDelivery { after_ms: i64, since: i64 },
}

impl ProactiveRule {
    /// The name recorded per order (one message per order and name, ever).
    pub fn name(self) -> &'static str {
        match self {
            ProactiveRule::LateShipment { .. } => "late_shipment",
            ProactiveRule::Unfulfilled { .. } => "unfulfilled",
            ProactiveRule::AfterDelivery { .. } => "after_delivery",
        }
    }
}
