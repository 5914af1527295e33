//! Products from the shop's store: Shopify `products/*` webhooks and Layan's import format read
//! into products (the lowest variant price, stock summed over tracked variants, a web link), and
//! the product finder (`find_products`: words and a price range).

use layan_core::{Product, amount_minor};
use layan_store::{NewProduct, ProductApplied, ProductQuery, StoreEvent};
use serde::Deserialize;

use crate::{
    Engine, EngineResult,
    orders::{BadPayload, WebhookOutcome, millis, web_link},
};

#[derive(Deserialize)]
struct ShopifyVariant {
    price: String,
    #[serde(default)]
    inventory_quantity: Option<i64>,
    #[serde(default)]
    inventory_management: Option<String>,
}

#[derive(Deserialize)]
struct ShopifyProduct {
    id: serde_json::Number,
    title: String,
    #[serde(default)]
    handle: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    variants: Vec<ShopifyVariant>,
    updated_at: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopifyDeleted {
    id: serde_json::Number,
}

/// One product of an import file (formats in README).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportProduct {
    pub id: String,
    pub title: String,
    pub price: String,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub keywords: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    /// RFC 3339; the newest version wins.
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn shopify_product(p: ShopifyProduct, shop: Option<&str>) -> Result<NewProduct, BadPayload> {
    if p.title.trim().is_empty() {
        return Err(BadPayload("title is required".into()));
    }
    let mut cheapest: Option<(i64, String)> = None;
    for (i, v) in p.variants.iter().enumerate() {
        let minor = amount_minor(&v.price).ok_or_else(|| {
            BadPayload(format!(
                "variants[{i}].price: {:?} is not an amount",
                v.price
            ))
        })?;
        if cheapest.as_ref().is_none_or(|(m, _)| minor < *m) {
            cheapest = Some((minor, v.price.clone()));
        }
    }
    let (price_minor, price) =
        cheapest.ok_or_else(|| BadPayload("a product has at least one variant".into()))?;
    let tracked: Vec<i64> = p
        .variants
        .iter()
        .filter(|v| v.inventory_management.as_deref() == Some("shopify"))
        .map(|v| v.inventory_quantity.unwrap_or(0))
        .collect();
    let url = match (shop, p.handle.as_deref()) {
        (Some(shop), Some(handle))
            if !handle.is_empty()
                && handle
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(format!("https://{shop}/products/{handle}"))
        }
        _ => None,
    };
    let keywords = [p.product_type, p.vendor, p.tags]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(NewProduct {
        source: "shopify".into(),
        external_id: p.id.to_string(),
        title: p.title.trim().to_string(),
        keywords,
        url,
        price,
        price_minor,
        currency: None,
        stock: (!tracked.is_empty()).then(|| tracked.iter().map(|q| (*q).max(0)).sum()),
        active: p.status.as_deref().is_none_or(|s| s == "active"),
        store_updated_at: millis("updated_at", &p.updated_at)?,
    })
}

fn outcome(a: ProductApplied) -> WebhookOutcome {
    match a {
        ProductApplied::Written => WebhookOutcome::Applied,
        ProductApplied::Stale => WebhookOutcome::Stale,
        ProductApplied::Duplicate => WebhookOutcome::Duplicate,
    }
}

impl Engine {
    /// Shopify's `products/create`, `products/update` and `products/delete`. `shop` is the
    /// configured shop's domain, for the product's link (never a request header, which is
    /// outside the signature). A delete body is exactly `{"id": …}`: another topic's signed
    /// body replayed as a delete is refused.
    pub async fn shopify_product_webhook(
        &self,
        topic: &str,
        event: Option<&str>,
        shop: Option<&str>,
        body: &[u8],
    ) -> EngineResult<Result<WebhookOutcome, BadPayload>> {
        let key = event.map(|e| format!("{topic}:{e}"));
        let event = key.as_deref().map(|key| StoreEvent {
            source: "shopify",
            key,
        });
        let shop = shop.filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
        match topic {
            "products/create" | "products/update" => {
                let p: ShopifyProduct = match serde_json::from_slice(body) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(BadPayload(format!("not a Shopify product: {e}")))),
                };
                let product = match shopify_product(p, shop) {
                    Ok(p) => p,
                    Err(bad) => return Ok(Err(bad)),
                };
                Ok(Ok(outcome(
                    self.store.apply_product(event, &product).await?,
                )))
            }
            "products/delete" => {
                let d: ShopifyDeleted = match serde_json::from_slice(body) {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(BadPayload(format!("not a Shopify product: {e}")))),
                };
                Ok(Ok(outcome(
                    self.store
                        .delete_product(event, "shopify", &d.id.to_string())
                        .await?,
                )))
            }
            _ => Ok(Ok(WebhookOutcome::Ignored)),
        }
    }

    /// Applies one imported product (source `import`); the newest `updated_at` wins, so
    /// importing a file again changes nothing.
    pub async fn import_product(
        &self,
        p: ImportProduct,
    ) -> EngineResult<Result<WebhookOutcome, BadPayload>> {
        let checked = (|| {
            if p.id.trim().is_empty() || p.title.trim().is_empty() {
                return Err(BadPayload("id and title are required".into()));
            }
            let price_minor = amount_minor(&p.price).ok_or_else(|| {
                BadPayload(format!(
                    "price: {:?} is not an amount like \"150000\" or \"4.95\"",
                    p.price
                ))
            })?;
            if let Some(c) = &p.currency
                && (c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                return Err(BadPayload(format!(
                    "currency: {c:?} is not a code like \"IDR\""
                )));
            }
            if p.url
                .as_deref()
                .is_some_and(|u| web_link(Some(u.to_string())).is_none())
            {
                return Err(BadPayload("url: a web address (https://…)".into()));
            }
            let updated = match &p.updated_at {
                Some(u) => millis("updated_at", u)?,
                None => 0,
            };
            Ok((price_minor, updated))
        })();
        let (price_minor, updated) = match checked {
            Ok(x) => x,
            Err(bad) => return Ok(Err(bad)),
        };
        let product = NewProduct {
            source: "import".into(),
            external_id: p.id.trim().to_string(),
            title: p.title.trim().to_string(),
            keywords: p.keywords.unwrap_or_default(),
            url: web_link(p.url),
            price: p.price.trim().to_string(),
            price_minor,
            currency: p.currency.map(|c| c.to_uppercase()),
            stock: p.stock.map(|s| s.max(0)),
            active: p.active.unwrap_or(true),
            store_updated_at: updated,
        };
        Ok(Ok(outcome(self.store.apply_product(None, &product).await?)))
    }

    /// The product finder: active products whose title or keywords hold every word of `text`
    /// (at most six words), within the price range (decimal strings), in stock first, cheapest
    /// first.
    pub async fn find_products(
        &self,
        text: &str,
        min_price: Option<&str>,
        max_price: Option<&str>,
        limit: u32,
    ) -> EngineResult<Vec<Product>> {
        let bad = |f: &str| {
            layan_core::InvalidValue::new(
                "invalid_amount",
                format!("{f}: an amount like 150000 or 4.95"),
            )
        };
        let min = min_price
            .map(|m| amount_minor(m).ok_or_else(|| bad("min_price")))
            .transpose()?;
        let max = max_price
            .map(|m| amount_minor(m).ok_or_else(|| bad("max_price")))
            .transpose()?;
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '-')
            .filter(|w| w.chars().count() >= 2)
            .take(6)
            .map(str::to_lowercase)
            .collect();
        Ok(self
            .store
            .search_products(&ProductQuery {
                words,
                max_price_minor: max,
                min_price_minor: min,
                in_stock_only: false,
                limit,
            })
            .await?)
    }
}
