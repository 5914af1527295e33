//! The shop's shipping and returns policy as structured data: what a shopper asks about most
//! (how long, how much, weekends, duties, PO boxes, how to return) in fields the help center
//! renders as a clear page and the answer bot can quote exactly. Texts the shop writes come per
//! language; amounts are decimal strings in the policy's currency (never floating point).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{InvalidValue, Locale};

/// Text in several languages: locale tag → text. At least one language; the page shows the
/// shopper's, else English, else any.
pub type Texts = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DayRange {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryOption {
    pub name: Texts,
    /// e.g. "JNE", "PostNL".
    #[serde(default)]
    pub carrier: Option<String>,
    /// Business days in transit after dispatch.
    pub days: DayRange,
    /// A decimal amount, "0" for free.
    pub cost: String,
    /// Where it is offered, when not everywhere ("Java and Bali").
    #[serde(default)]
    pub regions: Option<Texts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub name: Texts,
    pub amount: String,
}

/// Import duties on international orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Duties {
    /// The shop does not ship abroad.
    NotApplicable,
    /// Included in the price (delivered duty paid).
    Included,
    /// The shopper pays them on delivery.
    PaidByCustomer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReturnShipping {
    Free,
    CustomerPays,
    /// Free for faulty or wrong items only.
    FreeIfFaulty,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReturnPolicy {
    /// Days after delivery a return may be started; 0: no returns (faulty items aside).
    pub window_days: u32,
    /// The state items must be in.
    #[serde(default)]
    pub condition: Option<Texts>,
    /// How to return, in order.
    #[serde(default)]
    pub steps: Vec<Texts>,
    pub return_shipping: ReturnShipping,
    /// Days from receiving the return to the refund.
    pub refund_days: DayRange,
    /// What cannot be returned.
    #[serde(default)]
    pub exceptions: Option<Texts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShippingPolicy {
    /// ISO 4217 code, e.g. "IDR", "THB", "EUR".
    pub currency: String,
    /// Business days from order to dispatch.
    pub processing_days: DayRange,
    /// Orders before this local time ("14:00") are dispatched the same business day.
    #[serde(default)]
    pub order_cutoff: Option<String>,
    /// Whether orders are dispatched on Saturdays and Sundays.
    pub weekend_dispatch: bool,
    pub delivery_options: Vec<DeliveryOption>,
    /// Orders from this amount ship free.
    #[serde(default)]
    pub free_shipping_over: Option<String>,
    /// Prices include VAT / sales tax.
    pub taxes_included: bool,
    pub duties: Duties,
    #[serde(default)]
    pub extra_fees: Vec<Fee>,
    pub po_boxes: bool,
    pub military_addresses: bool,
    /// Remote areas, islands: extra time or cost.
    #[serde(default)]
    pub remote_areas: Option<Texts>,
    pub returns: ReturnPolicy,
}

const MAX_TEXT: usize = 2_000;
const MAX_DAYS: u32 = 365;
const MAX_OPTIONS: usize = 20;

fn bad(code: &'static str, message: String) -> InvalidValue {
    InvalidValue::new(code, message)
}

fn check_texts(texts: &Texts, field: &str) -> Result<(), InvalidValue> {
    if texts.is_empty() {
        return Err(bad(
            "invalid_policy",
            format!("{field}: give the text in at least one language"),
        ));
    }
    for (tag, text) in texts {
        if Locale::from_tag(tag).map(Locale::as_str) != Some(tag.as_str()) {
            return Err(bad(
                "unknown_locale",
                format!("{field}: {tag:?} is not a language Layan knows (en, id, th, nl, …)"),
            ));
        }
        if text.trim().is_empty() {
            return Err(bad("invalid_policy", format!("{field}.{tag}: empty text")));
        }
        if text.chars().count() > MAX_TEXT {
            return Err(bad(
                "invalid_policy",
                format!("{field}.{tag}: at most {MAX_TEXT} characters"),
            ));
        }
    }
    Ok(())
}

fn check_days(days: &DayRange, field: &str) -> Result<(), InvalidValue> {
    if days.min > days.max {
        return Err(bad(
            "invalid_policy",
            format!("{field}: min {} is above max {}", days.min, days.max),
        ));
    }
    if days.max > MAX_DAYS {
        return Err(bad(
            "invalid_policy",
            format!("{field}: at most {MAX_DAYS} days"),
        ));
    }
    Ok(())
}

/// Checks a decimal amount: digits, optionally a point and at most two more digits.
pub fn check_amount(amount: &str, field: &str) -> Result<(), InvalidValue> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(amount.contains('.') && fraction.is_empty());
    if ok {
        Ok(())
    } else {
        Err(bad(
            "invalid_amount",
            format!("{field}: {amount:?} is not an amount like \"15000\" or \"4.95\""),
        ))
    }
}

impl ShippingPolicy {
    /// Every field checked; the first problem is named by its path.
    pub fn check(&self) -> Result<(), InvalidValue> {
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(
                "invalid_currency",
                format!(
                    "currency: {:?} is not an ISO 4217 code like \"IDR\"",
                    self.currency
                ),
            ));
        }
        check_days(&self.processing_days, "processing_days")?;
        if let Some(cutoff) = &self.order_cutoff {
            let valid = cutoff.len() == 5
                && cutoff.as_bytes()[2] == b':'
                && cutoff[..2].parse::<u8>().is_ok_and(|h| h < 24)
                && cutoff[3..].parse::<u8>().is_ok_and(|m| m < 60);
            if !valid {
                return Err(bad(
                    "invalid_policy",
                    format!("order_cutoff: {cutoff:?} is not a time like \"14:00\""),
                ));
            }
        }
        if self.delivery_options.is_empty() || self.delivery_options.len() > MAX_OPTIONS {
            return Err(bad(
                "invalid_policy",
                format!("delivery_options: between 1 and {MAX_OPTIONS}"),
            ));
        }
        for (i, o) in self.delivery_options.iter().enumerate() {
            let at = format!("delivery_options[{i}]");
            check_texts(&o.name, &format!("{at}.name"))?;
            check_days(&o.days, &format!("{at}.days"))?;
            check_amount(&o.cost, &format!("{at}.cost"))?;
            if let Some(r) = &o.regions {
                check_texts(r, &format!("{at}.regions"))?;
            }
            if o.carrier
                .as_ref()
                .is_some_and(|c| c.trim().is_empty() || c.chars().count() > 100)
            {
                return Err(bad(
                    "invalid_policy",
                    format!("{at}.carrier: 1 to 100 characters"),
                ));
            }
        }
        if let Some(a) = &self.free_shipping_over {
            check_amount(a, "free_shipping_over")?;
        }
        if self.extra_fees.len() > MAX_OPTIONS {
            return Err(bad(
                "invalid_policy",
                format!("extra_fees: at most {MAX_OPTIONS}"),
            ));
        }
        for (i, f) in self.extra_fees.iter().enumerate() {
            check_texts(&f.name, &format!("extra_fees[{i}].name"))?;
            check_amount(&f.amount, &format!("extra_fees[{i}].amount"))?;
        }
        if let Some(r) = &self.remote_areas {
            check_texts(r, "remote_areas")?;
        }
        let r = &self.returns;
        if r.window_days > MAX_DAYS {
            return Err(bad(
                "invalid_policy",
                format!("returns.window_days: at most {MAX_DAYS}"),
            ));
        }
        check_days(&r.refund_days, "returns.refund_days")?;
        if let Some(c) = &r.condition {
            check_texts(c, "returns.condition")?;
        }
        if let Some(e) = &r.exceptions {
            check_texts(e, "returns.exceptions")?;
        }
        if r.steps.len() > MAX_OPTIONS {
            return Err(bad(
                "invalid_policy",
                format!("returns.steps: at most {MAX_OPTIONS}"),
            ));
        }
        for (i, s) in r.steps.iter().enumerate() {
            check_texts(s, &format!("returns.steps[{i}]"))?;
        }
        Ok(())
    }
}

/// The text for `locale`, else English, else the first one.
pub fn text_in(texts: &Texts, locale: Locale) -> &str {
    texts
        .get(locale.as_str())
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .map_or("", String::as_str)
}

/// An amount as a shopper in `locale` reads it: "Rp15.000", "฿1,250.50", "€ 4,95", "USD 12.00".
pub fn format_amount(amount: &str, currency: &str, locale: Locale) -> String {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let (thousands, decimal) = match locale {
        Locale::Id | Locale::Nl => ('.', ','),
        _ => (',', '.'),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(thousands);
        }
        grouped.push(c);
    }
    // Rupiah amounts are whole; other currencies show cents when there are any.
    let cents = match (currency, fraction) {
        ("IDR", _) | (_, "") | (_, "0" | "00") => String::new(),
        (_, f) => format!("{decimal}{f:0<2}"),
    };
    let number = format!("{grouped}{cents}");
    match currency {
        "IDR" => format!("Rp{number}"),
        "THB" => format!("฿{number}"),
        "EUR" => format!("€ {number}"),
        "USD" => format!("${number}"),
        other => format!("{other} {number}"),
    }
}

/// Whether an amount is zero ("0", "0.00").
pub fn is_zero(amount: &str) -> bool {
    amount.bytes().all(|b| b == b'0' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(en: &str) -> Texts {
        BTreeMap::from([("en".to_owned(), en.to_owned())])
    }

    pub(crate) fn sample() -> ShippingPolicy {
        ShippingPolicy {
            currency: "IDR".into(),
            processing_days: DayRange { min: 1, max: 2 },
            order_cutoff: Some("14:00".into()),
            weekend_dispatch: false,
            delivery_options: vec![DeliveryOption {
                name: texts("Regular"),
                carrier: Some("JNE".into()),
                days: DayRange { min: 2, max: 4 },
                cost: "15000".into(),
                regions: None,
            }],
            free_shipping_over: Some("300000".into()),
            taxes_included: true,
            duties: Duties::NotApplicable,
            extra_fees: vec![],
            po_boxes: false,
            military_addresses: false,
            remote_areas: None,
            returns: ReturnPolicy {
                window_days: 14,
                condition: None,
                steps: vec![texts("Write to us")],
                return_shipping: ReturnShipping::FreeIfFaulty,
                refund_days: DayRange { min: 3, max: 7 },
                exceptions: None,
            },
        }
    }

    #[test]
    fn checks_every_field_by_path() {
        assert!(sample().check().is_ok());
        type Breaker = fn(&mut ShippingPolicy);
        let cases: Vec<(Breaker, &str)> = vec![
            (|p| p.currency = "rupiah".into(), "currency"),
            (
                |p| p.processing_days = DayRange { min: 3, max: 1 },
                "processing_days",
            ),
            (|p| p.order_cutoff = Some("25:00".into()), "order_cutoff"),
            (|p| p.delivery_options.clear(), "delivery_options"),
            (
                |p| p.delivery_options[0].cost = "-5".into(),
                "delivery_options[0].cost",
            ),
            (
                |p| p.delivery_options[0].cost = "1.234".into(),
                "delivery_options[0].cost",
            ),
            (
                |p| p.delivery_options[0].name = Texts::new(),
                "delivery_options[0].name",
            ),
            (
                |p| p.delivery_options[0].name = BTreeMap::from([("xx".into(), "a".into())]),
                "delivery_options[0].name",
            ),
            (|p| p.returns.steps[0] = texts("  "), "returns.steps[0].en"),
            (|p| p.returns.window_days = 1000, "returns.window_days"),
        ];
        for (break_it, path) in cases {
            let mut p = sample();
            break_it(&mut p);
            let e = p.check().expect_err(path);
            assert!(e.message.starts_with(path), "{path}: {}", e.message);
        }
    }

    #[test]
    fn amounts_read_as_shoppers_expect() {
        assert_eq!(format_amount("15000", "IDR", Locale::Id), "Rp15.000");
        assert_eq!(format_amount("1250.5", "THB", Locale::Th), "฿1,250.50");
        assert_eq!(format_amount("4.95", "EUR", Locale::Nl), "€ 4,95");
        assert_eq!(format_amount("12.00", "USD", Locale::En), "$12");
        assert_eq!(format_amount("0", "SGD", Locale::En), "SGD 0");
        assert!(is_zero("0.00") && !is_zero("0.01"));
        assert!(check_amount("4.", "x").is_err() && check_amount("", "x").is_err());
    }

    #[test]
    fn text_falls_back_to_english_then_any() {
        let t = BTreeMap::from([("nl".to_owned(), "Hallo".to_owned())]);
        assert_eq!(text_in(&t, Locale::Th), "Hallo");
        let t = BTreeMap::from([("nl".into(), "Hallo".into()), ("en".into(), "Hello".into())]);
        assert_eq!(text_in(&t, Locale::Th), "Hello");
        assert_eq!(text_in(&t, Locale::Nl), "Hallo");
    }
}
