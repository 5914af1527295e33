//! The catalogue of intents the bot knows, and what kind of answer each one gets.

use serde::{Deserialize, Serialize};

/// How the bot answers an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// The customer's own order (after knowing who they are).
    Order,
    /// The shop's structured shipping and returns policy.
    Policy,
    /// The best passage of the help center.
    Knowledge,
    /// The product finder.
    Products,
    /// A person takes over.
    Handoff,
    /// Small talk: a greeting, thanks or goodbye.
    Social,
    /// Nothing the bot knows.
    OutOfScope,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Policy => "policy",
            Self::Knowledge => "knowledge",
            Self::Products => "products",
            Self::Handoff => "handoff",
            Self::Social => "social",
            Self::OutOfScope => "out_of_scope",
        }
    }
}

macro_rules! intents {
    ($($variant:ident => $name:literal, $kind:ident;)*) => {
        /// An e-commerce intent (what the shopper wants), or [`Intent::OutOfScope`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Intent { $($variant,)* }

        impl Intent {
            /// Every intent, in catalogue order.
            pub const ALL: &'static [Intent] = &[$(Intent::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Intent::$variant => $name,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($name => Some(Intent::$variant),)* _ => None }
            }

            pub fn kind(self) -> AnswerKind {
                match self { $(Intent::$variant => AnswerKind::$kind,)* }
            }
        }
    };
}

intents! {
    TrackOrder => "track_order", Order;
    CancelOrder => "cancel_order", Order;
    ChangeOrder => "change_order", Order;
    ChangeShippingAddress => "change_shipping_address", Order;
    SetUpShippingAddress => "set_up_shipping_address", Knowledge;
    DeliveryOptions => "delivery_options", Policy;
    DeliveryPeriod => "delivery_period", Policy;
    GetRefund => "get_refund", Policy;
    TrackRefund => "track_refund", Order;
    CheckRefundPolicy => "check_refund_policy", Policy;
    CheckCancellationFee => "check_cancellation_fee", Knowledge;
    PaymentIssue => "payment_issue", Knowledge;
    CheckPaymentMethods => "check_payment_methods", Knowledge;
    CheckInvoice => "check_invoice", Order;
    GetInvoice => "get_invoice", Order;
    PlaceOrder => "place_order", Knowledge;
    CreateAccount => "create_account", Knowledge;
    DeleteAccount => "delete_account", Knowledge;
    EditAccount => "edit_account", Knowledge;
    SwitchAccount => "switch_account", Knowledge;
    RecoverPassword => "recover_password", Knowledge;
    RegistrationProblems => "registration_problems", Knowledge;
    NewsletterSubscription => "newsletter_subscription", Knowledge;
    Complaint => "complaint", Handoff;
    Review => "review", Knowledge;
    ContactCustomerService => "contact_customer_service", Handoff;
    ContactHumanAgent => "contact_human_agent", Handoff;
    FindProduct => "find_product", Products;
    Greeting => "greeting", Social;
    Goodbye => "goodbye", Social;
    OutOfScope => "out_of_scope", OutOfScope;
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &i in Intent::ALL {
            assert_eq!(Intent::parse(i.as_str()), Some(i));
            assert!(seen.insert(i.as_str()), "{i} twice");
        }
        assert_eq!(Intent::parse("nonsense"), None);
        // The issue's catalogue: 27 intents plus out of scope, and ours.
        assert!(Intent::ALL.len() >= 28);
    }
}
