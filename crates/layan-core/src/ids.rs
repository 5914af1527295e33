//! Typed identifiers. Each wraps the database's integer key so that a conversation id can never be
//! passed where an agent id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An agent user (admin or agent).
    AgentId
);
id_type!(
    /// An inbox: one channel instance (a website's chat widget, later a mailbox, a WhatsApp number…).
    InboxId
);
id_type!(
    /// A contact: the person on the customer's side.
    ContactId
);
id_type!(
    /// A conversation (a ticket). Internal key; people see [`crate::TicketNumber`].
    ConversationId
);
id_type!(
    /// A stored message.
    MessageId
);
id_type!(
    /// A team of agents (e.g. "Billing", "Thai support").
    TeamId
);
id_type!(
    /// A canned response.
    CannedId
);
id_type!(
    /// A help-center article (all its translations).
    ArticleId
);
id_type!(
    /// A help-center category.
    CategoryId
);
id_type!(
    /// An order from the shop's store (Shopify, WooCommerce, an import).
    OrderId
);
id_type!(
    /// A product from the shop's store.
    ProductId
);
