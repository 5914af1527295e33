//! Layan's domain: identifiers, checked values, conversations, messages and the events the
//! pipeline emits. This crate does no I/O and knows nothing of HTTP, JSON framing or SQL; every
//! other crate speaks in these types.

pub mod contact;
pub mod email;
pub mod ids;
pub mod jobs;
pub mod kb;
pub mod model;
pub mod order;
pub mod order_action;
pub mod policy;
pub mod proactive;
pub mod product;
pub mod values;
pub mod workspace;

pub use contact::{
    DuplicateReason, Identity, IdentityKind, MergeOutcome, PhoneCountry, PhoneNumber, Spend,
    TimelineEntry,
};
pub use email::{
    AttachmentMeta, Delivery, EmailInbox, EmailMeta, EmailSettings, InboundEmailInfo,
    InboundStatus, MailServer, Security,
};
pub use ids::*;
pub use jobs::*;
pub use kb::*;
pub use model::*;
pub use order::{Order, OrderLine, Shipment};
pub use order_action::{ActionOutcome, OrderActionKind, action_note};
pub use policy::{
    DayRange, DeliveryOption, Duties, Fee, ReturnPolicy, ReturnShipping, ShippingPolicy, Texts,
};
pub use proactive::{ProactiveKind, ProactiveRules, Survey};
pub use product::{Product, amount_minor};
pub use values::*;
pub use workspace::*;

/// Milliseconds since the Unix epoch (UTC). Stored as a plain integer in every backend so that
/// SQLite and PostgreSQL sort and compare it the same way.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
