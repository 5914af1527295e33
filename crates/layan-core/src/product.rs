//! Products from the shop's store (title, price, link, stock), for the bot's product finder and
//! agents' answers.

use serde::Serialize;

use crate::{Millis, ProductId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: ProductId,
    /// "shopify", "woocommerce", "import".
    pub source: String,
    pub external_id: String,
    pub title: String,
    /// Words that describe it (product type, tags, vendor), searched with the title.
    pub keywords: String,
    /// The product page, a web link.
    pub url: Option<String>,
    /// The lowest price of its variants, a decimal string.
    pub price: String,
    pub currency: Option<String>,
    /// Units in stock over all variants; `None` when the store does not track it.
    pub stock: Option<i64>,
    /// Shown to shoppers (active in the store).
    pub active: bool,
    pub store_updated_at: Millis,
}

impl Product {
    pub fn in_stock(&self) -> bool {
        self.stock.is_none_or(|s| s > 0)
    }
}

/// An amount ("15000", "4.95", "4.9") in hundredths, for comparing prices; `None` when it is not
/// a plain non-negative decimal with at most two places.
pub fn amount_minor(amount: &str) -> Option<i64> {
    let amount = amount.trim();
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || whole.len() > 15
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (amount.contains('.') && fraction.is_empty())
    {
        return None;
    }
    format!("{whole}{fraction:0<2}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_hundredths() {
        assert_eq!(amount_minor("15000"), Some(1_500_000));
        assert_eq!(amount_minor("4.95"), Some(495));
        assert_eq!(amount_minor("4.9"), Some(490));
        assert_eq!(amount_minor("0"), Some(0));
        for bad in ["", "-1", "1.", "1.234", "1e3", "abc", " . "] {
            assert_eq!(amount_minor(bad), None, "{bad}");
        }
    }
}
