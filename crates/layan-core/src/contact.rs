//! Contacts' identities and profile fields: every way a customer can be recognised, each kind with
//! its one normal form, so the same person reaching out twice matches the same row.

use crate::values::{EmailAddress, InvalidValue};
use crate::{ContactId, ConversationId, ConversationStatus, Millis, OrderId, TicketNumber};
use serde::Serialize;

/// A country whose local phone numbers we can read: its calling code and whether national numbers
/// start with a trunk `0` that the international form drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneCountry {
    pub iso: &'static str,
    pub calling_code: &'static str,
    trunk_zero: bool,
}

/// The countries our shops and their shoppers are in first; `PhoneNumber::parse` reads local
/// numbers for these. International numbers (`+…` or `00…`) work for every country.
pub const PHONE_COUNTRIES: &[PhoneCountry] = &[
    PhoneCountry {
        iso: "ID",
        calling_code: "62",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "TH",
        calling_code: "66",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "NL",
        calling_code: "31",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "BE",
        calling_code: "32",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "DE",
        calling_code: "49",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "GB",
        calling_code: "44",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "MY",
        calling_code: "60",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "PH",
        calling_code: "63",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "VN",
        calling_code: "84",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "AU",
        calling_code: "61",
        trunk_zero: true,
    },
    PhoneCountry {
        iso: "SG",
        calling_code: "65",
        trunk_zero: false,
    },
    PhoneCountry {
        iso: "US",
        calling_code: "1",
        trunk_zero: false,
    },
];

impl PhoneCountry {
    pub fn by_iso(iso: &str) -> Option<PhoneCountry> {
        PHONE_COUNTRIES
            .iter()
            .copied()
            .find(|c| c.iso.eq_ignore_ascii_case(iso.trim()))
    }
}

/// A phone number in E.164 (`+628123456789`): a `+`, the country code and at most 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as people write it: `+62 812-3456-789`, `0812 3456 789` (with the shop's
    /// country), `0062…`, `+31 (0)6 1234 5678`, `+62 0812…`, or `62812…` (the country code
    /// without `+`, as messaging apps give it) when it is the default country's.
    pub fn parse(raw: &str, default_country: Option<PhoneCountry>) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let bad = |m: &str| InvalidValue::new("invalid_phone", m.to_string());
        if raw.is_empty() {
            return Err(bad("a phone number is required"));
        }
        if raw.len() > 40 {
            return Err(bad("a phone number has at most 15 digits"));
        }
        let mut plus = false;
        let mut digits = String::new();
        let mut rest = raw;
        if let Some(r) = rest.strip_prefix('+') {
            plus = true;
            rest = r;
        }
        // "(0)" after a country code is the trunk prefix some people keep: "+31 (0)6 …".
        let cleaned = rest.replace("(0)", "");
        for c in cleaned.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => {
                    return Err(bad(
                        "a phone number holds digits, spaces, dashes and a leading +",
                    ));
                }
            }
        }
        if !plus && let Some(d) = digits.strip_prefix("00") {
            plus = true;
            digits = d.to_string();
        }
        let international = if plus {
            // "+62 0812…": a trunk zero written after the country code.
            match PHONE_COUNTRIES
                .iter()
                .find(|c| c.trunk_zero && digits.starts_with(c.calling_code))
            {
                Some(c) if digits[c.calling_code.len()..].starts_with('0') => {
                    format!("{}{}", c.calling_code, &digits[c.calling_code.len() + 1..])
                }
                _ => digits,
            }
        } else {
            let country = default_country.ok_or_else(|| {
                bad("a local phone number needs the country code (+62, +66, +31, …)")
            })?;
            if country.trunk_zero && digits.starts_with('0') {
                format!("{}{}", country.calling_code, &digits[1..])
            } else if digits.starts_with(country.calling_code) && digits.len() >= 10 {
                digits
            } else if !country.trunk_zero {
                format!("{}{}", country.calling_code, digits)
            } else {
                return Err(bad(
                    "a local phone number starts with 0, or write it with the country code",
                ));
            }
        };
        if international.starts_with('0') {
            return Err(bad("a country code never starts with 0"));
        }
        if !(8..=15).contains(&international.len()) {
            return Err(bad(
                "a phone number has 8 to 15 digits with its country code",
            ));
        }
        Ok(Self(format!("+{international}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kinds of identity a contact can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IdentityKind {
    /// An anonymous widget visitor (the value is a hash of the visitor's secret token).
    WidgetVisitor,
    /// A widget session of a signed-in shopper (a hash, like the above).
    WidgetIdentified,
    Email,
    Phone,
    Whatsapp,
    Telegram,
    Line,
    Messenger,
    /// The store's customer id, as `shopify:123` or `woocommerce:45`.
    StoreCustomer,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 9] = [
        IdentityKind::WidgetVisitor,
        IdentityKind::WidgetIdentified,
        IdentityKind::Email,
        IdentityKind::Phone,
        IdentityKind::Whatsapp,
        IdentityKind::Telegram,
        IdentityKind::Line,
        IdentityKind::Messenger,
        IdentityKind::StoreCustomer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::WidgetVisitor => "widget_visitor",
            IdentityKind::WidgetIdentified => "widget_identified",
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::Whatsapp => "whatsapp",
            IdentityKind::Telegram => "telegram",
            IdentityKind::Line => "line",
            IdentityKind::Messenger => "messenger",
            IdentityKind::StoreCustomer => "store_customer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Widget sessions are created by the widget only, never typed by an agent.
    pub fn is_session(self) -> bool {
        matches!(
            self,
            IdentityKind::WidgetVisitor | IdentityKind::WidgetIdentified
        )
    }

    /// The normal form of a value of this kind, or why it is not one.
    pub fn normalize(
        self,
        raw: &str,
        default_country: Option<PhoneCountry>,
    ) -> Result<String, InvalidValue> {
        let raw = raw.trim();
        let bad = |m: &str| InvalidValue::new("invalid_identity", m.to_string());
        match self {
            IdentityKind::WidgetVisitor | IdentityKind::WidgetIdentified => {
                Err(bad("widget sessions are created by the widget"))
            }
            IdentityKind::Email => Ok(EmailAddress::parse(raw)?.as_str().to_lowercase()),
            IdentityKind::Phone | IdentityKind::Whatsapp => {
                Ok(PhoneNumber::parse(raw, default_country)?.0)
            }
            IdentityKind::Telegram | IdentityKind::Messenger => {
                if (1..=20).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(raw.to_string())
                } else {
                    Err(bad("a Telegram or Messenger id is a number"))
                }
            }
            IdentityKind::Line => {
                // LINE user ids: "U" and 32 hexadecimal characters.
                if raw.len() == 33
                    && raw.starts_with('U')
                    && raw[1..].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    Ok(raw.to_string())
                } else {
                    Err(bad(
                        "a LINE user id is U followed by 32 hexadecimal characters",
                    ))
                }
            }
            IdentityKind::StoreCustomer => match raw.split_once(':') {
                Some((store, id))
                    if matches!(store, "shopify" | "woocommerce" | "import")
                        && (1..=64).contains(&id.len())
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
                {
                    Ok(raw.to_string())
                }
                _ => Err(bad(
                    "a store customer id is written store:id, e.g. shopify:207119551",
                )),
            },
        }
    }
}

/// One identity of a contact as agents see it (session hashes are never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    pub kind: IdentityKind,
    /// The normal form; `None` for widget sessions.
    pub value: Option<String>,
    pub created_at: Millis,
}

/// Custom attributes: a flat JSON object of short keys and scalar values.
pub fn check_attributes(value: &serde_json::Value) -> Result<(), InvalidValue> {
    let bad = |m: String| InvalidValue::new("invalid_attributes", m);
    let map = value
        .as_object()
        .ok_or_else(|| bad("attributes are a JSON object".into()))?;
    if map.len() > 50 {
        return Err(bad("at most 50 attributes".into()));
    }
    for (k, v) in map {
        if k.is_empty()
            || k.len() > 64
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(bad(format!(
                "attribute name {k:?}: 1–64 characters of a–z, 0–9 and _"
            )));
        }
        match v {
            serde_json::Value::String(s) if s.chars().count() <= 1000 => {}
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
            }
            _ => {
                return Err(bad(format!(
                    "attribute {k}: a string of at most 1,000 characters, a number or true/false"
                )));
            }
        }
    }
    Ok(())
}

/// Why another contact may be the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DuplicateReason {
    SameEmail,
    SamePhone,
    SameName,
}

/// One entry of a contact's timeline: a conversation on any channel, or an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TimelineEntry {
    Conversation {
        id: ConversationId,
        number: TicketNumber,
        inbox: String,
        channel: String,
        status: ConversationStatus,
        at: Millis,
        preview: Option<String>,
    },
    Order {
        id: OrderId,
        number: String,
        total: String,
        currency: String,
        status: String,
        at: Millis,
    },
}

impl TimelineEntry {
    pub fn at(&self) -> Millis {
        match self {
            TimelineEntry::Conversation { at, .. } | TimelineEntry::Order { at, .. } => *at,
        }
    }
}

/// Adds decimal amounts exactly ("12.50" + "3" = "15.50"); `None` when one is not a plain
/// non-negative decimal.
pub fn sum_amounts<'a>(amounts: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut scale = 0usize;
    let parsed: Vec<(u128, usize)> = amounts
        .into_iter()
        .map(|a| {
            let (int, frac) = a.trim().split_once('.').unwrap_or((a.trim(), ""));
            if int.is_empty()
                || !int.bytes().all(|b| b.is_ascii_digit())
                || !frac.bytes().all(|b| b.is_ascii_digit())
                || frac.len() > 6
            {
                return None;
            }
            let v: u128 = format!("{int}{frac}").parse().ok()?;
            Some((v, frac.len()))
        })
        .collect::<Option<_>>()?;
    for (_, s) in &parsed {
        scale = scale.max(*s);
    }
    let mut total: u128 = 0;
    for (v, s) in parsed {
        total = total.checked_add(v.checked_mul(10u128.pow((scale - s) as u32))?)?;
    }
    if scale == 0 {
        return Some(total.to_string());
    }
    let p = 10u128.pow(scale as u32);
    Some(format!(
        "{}.{:0width$}",
        total / p,
        total % p,
        width = scale
    ))
}

/// What a contact's profile says about their orders: how many and how much, per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spend {
    pub currency: String,
    pub total: String,
}

/// The lifetime value of these orders per currency (cancelled and fully refunded ones left out).
pub fn lifetime_value(orders: &[crate::Order]) -> Vec<Spend> {
    let mut by: Vec<(String, Vec<&str>)> = Vec::new();
    for o in orders {
        if o.cancelled_at.is_some()
            || o.financial_status == "refunded"
            || o.financial_status == "voided"
        {
            continue;
        }
        match by.iter_mut().find(|(c, _)| *c == o.currency) {
            Some((_, v)) => v.push(&o.total),
            None => by.push((o.currency.clone(), vec![&o.total])),
        }
    }
    by.into_iter()
        .filter_map(|(currency, v)| sum_amounts(v).map(|total| Spend { currency, total }))
        .collect()
}

/// The merged contact's id, kept for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeOutcome {
    pub into: ContactId,
    pub from: ContactId,
    pub conversations: Vec<ConversationId>,
    pub identities: usize,
    pub orders: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Option<PhoneCountry> {
        PhoneCountry::by_iso("ID")
    }

    #[test]
    fn phone_numbers_as_people_write_them() {
        let p = |s: &str, c: Option<PhoneCountry>| PhoneNumber::parse(s, c).map(|p| p.0);
        assert_eq!(p("+62 812-3456-7890", None).unwrap(), "+6281234567890");
        assert_eq!(p("0812 3456 7890", id()).unwrap(), "+6281234567890");
        assert_eq!(p("6281234567890", id()).unwrap(), "+6281234567890");
        assert_eq!(p("+62 0812 3456 7890", None).unwrap(), "+6281234567890");
        assert_eq!(p("0062 812 3456 7890", None).unwrap(), "+6281234567890");
        assert_eq!(p("+31 (0)6 1234 5678", None).unwrap(), "+31612345678");
        assert_eq!(
            p("06-12345678", PhoneCountry::by_iso("nl")).unwrap(),
            "+31612345678"
        );
        assert_eq!(
            p("081 234 5678", PhoneCountry::by_iso("TH")).unwrap(),
            "+66812345678"
        );
        assert_eq!(
            p("9123 4567", PhoneCountry::by_iso("SG")).unwrap(),
            "+6591234567"
        );
        // A local number without a country to read it in.
        assert_eq!(p("0812 3456 7890", None).unwrap_err().code, "invalid_phone");
        assert!(p("812345", id()).is_err());
        assert!(p("+62 812 abc", None).is_err());
        assert!(p("+1234567890123456", None).is_err());
        assert!(p("", None).is_err());
        assert!(p("+0812345678", None).is_err());
    }

    #[test]
    fn identities_have_one_normal_form() {
        let n = |k: IdentityKind, s: &str| k.normalize(s, id());
        assert_eq!(
            n(IdentityKind::Email, " Sari@Example.COM ").unwrap(),
            "sari@example.com"
        );
        assert_eq!(
            n(IdentityKind::Whatsapp, "0812-3456-7890").unwrap(),
            "+6281234567890"
        );
        assert_eq!(n(IdentityKind::Telegram, "123456789").unwrap(), "123456789");
        assert!(n(IdentityKind::Telegram, "@sari").is_err());
        assert!(n(IdentityKind::Line, "U4af4980629").is_err());
        assert!(n(IdentityKind::Line, &format!("U{}", "a".repeat(32))).is_ok());
        assert!(n(IdentityKind::StoreCustomer, "shopify:207119551").is_ok());
        assert!(n(IdentityKind::StoreCustomer, "207119551").is_err());
        assert!(n(IdentityKind::WidgetVisitor, "x").is_err());
        assert_eq!(
            IdentityKind::parse("store_customer"),
            Some(IdentityKind::StoreCustomer)
        );
        assert_eq!(IdentityKind::parse("fax"), None);
    }

    #[test]
    fn amounts_add_up_exactly() {
        assert_eq!(sum_amounts(["12.50", "3", "0.05"]).unwrap(), "15.55");
        assert_eq!(sum_amounts(["150000", "89000"]).unwrap(), "239000");
        assert_eq!(sum_amounts(["0.1", "0.2"]).unwrap(), "0.3");
        assert_eq!(sum_amounts([]).unwrap(), "0");
        assert!(sum_amounts(["-1"]).is_none());
        assert!(sum_amounts(["1e3"]).is_none());
    }

    #[test]
    fn attributes_are_flat_and_small() {
        assert!(
            check_attributes(&serde_json::json!({"vip": true, "size": "M", "age": 31})).is_ok()
        );
        assert!(check_attributes(&serde_json::json!({"Bad Key": 1})).is_err());
        assert!(check_attributes(&serde_json::json!({"nested": {"a": 1}})).is_err());
        assert!(check_attributes(&serde_json::json!([1])).is_err());
    }
}
