//! `layan orders import`: orders from a JSON or CSV file (formats in README), each applied like
//! a store webhook — checked, matched to a contact by email, newest `updated_at` winning — with
//! progress on standard error. A bad row is reported by its number and skipped; the others are
//! imported; running the same file again changes nothing.

use std::path::Path;

use anyhow::Context;
use layan_engine::{
    Engine,
    orders::{BadPayload, ImportOrder, ImportShipment, WebhookOutcome},
    products::ImportProduct,
};
use serde::Deserialize;

/// One CSV row: an order without its lines, with at most one shipment.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    id: String,
    number: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    currency: String,
    total: String,
    #[serde(default)]
    financial_status: Option<String>,
    #[serde(default)]
    fulfillment_status: Option<String>,
    placed_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    cancelled_at: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    tracking_url: Option<String>,
    #[serde(default)]
    shipment_status: Option<String>,
    #[serde(default)]
    expected_delivery_at: Option<String>,
    #[serde(default)]
    delivered_at: Option<String>,
}

fn filled(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl From<CsvRow> for ImportOrder {
    fn from(r: CsvRow) -> Self {
        let shipment = ImportShipment {
            carrier: filled(r.carrier),
            tracking_number: filled(r.tracking_number),
            tracking_url: filled(r.tracking_url),
            status: filled(r.shipment_status),
            expected_delivery_at: filled(r.expected_delivery_at),
            delivered_at: filled(r.delivered_at),
        };
        let has_shipment = shipment.carrier.is_some()
            || shipment.tracking_number.is_some()
            || shipment.tracking_url.is_some();
        ImportOrder {
            id: r.id,
            number: r.number,
            email: filled(r.email),
            name: filled(r.name),
            currency: r.currency,
            total: r.total,
            financial_status: filled(r.financial_status),
            fulfillment_status: filled(r.fulfillment_status),
            placed_at: r.placed_at,
            updated_at: filled(r.updated_at),
            cancelled_at: filled(r.cancelled_at),
            lines: Vec::new(),
            shipments: if has_shipment {
                vec![shipment]
            } else {
                Vec::new()
            },
        }
    }
}

/// A product CSV row: the import format's fields, flat.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRow {
    id: String,
    title: String,
    price: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default)]
    keywords: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<ProductRow> for ImportProduct {
    fn from(r: ProductRow) -> Self {
        ImportProduct {
            id: r.id,
            title: r.title,
            price: r.price,
            currency: filled(r.currency),
            url: filled(r.url),
            stock: r.stock,
            keywords: filled(r.keywords),
            active: r.active,
            updated_at: filled(r.updated_at),
        }
    }
}

/// One record read from the file, or why it could not be read; `at` says where ("row 4").
pub struct Item<T> {
    pub at: String,
    pub record: Result<T, String>,
}

/// Reads the file into records of `T` (JSON: an array of `T`; CSV: rows of `Row`, turned into
/// `T`), or per-row errors (row numbers count from 1; for CSV the header is row 1). `what`
/// names a record in messages ("order").
fn read_items<T, Row>(path: &Path, format: Option<&str>, what: &str) -> anyhow::Result<Vec<Item<T>>>
where
    T: serde::de::DeserializeOwned,
    Row: serde::de::DeserializeOwned + Into<T>,
{
    let format = match format {
        Some(f) => f.to_owned(),
        None => path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .context("give --format json or csv (the file has no extension)")?,
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match format.as_str() {
        "json" => {
            let items: Vec<serde_json::Value> = serde_json::from_str(&text)
                .with_context(|| format!("the file must be a JSON array of {what}s"))?;
            Ok(items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Item {
                    at: format!("{what} {}", i + 1),
                    record: serde_json::from_value::<T>(v).map_err(|e| e.to_string()),
                })
                .collect())
        }
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            Ok(reader
                .deserialize::<Row>()
                .enumerate()
                .map(|(i, row)| Item {
                    at: format!("row {}", i + 2),
                    record: row.map(Into::into).map_err(|e| e.to_string()),
                })
                .collect())
        }
        other => anyhow::bail!("unknown format {other:?}: json or csv"),
    }
}

/// Reads an order file.
pub fn read(path: &Path, format: Option<&str>) -> anyhow::Result<Vec<Item<ImportOrder>>> {
    read_items::<ImportOrder, CsvRow>(path, format, "order")
}

/// Reads a product file.
pub fn read_products(
    path: &Path,
    format: Option<&str>,
) -> anyhow::Result<Vec<Item<ImportProduct>>> {
    read_items::<ImportProduct, ProductRow>(path, format, "product")
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub applied: u64,
    pub unchanged: u64,
    pub failed: Vec<String>,
}

/// Applies every record with `apply`, reporting (done, total) as it goes.
async fn run_items<T>(
    items: Vec<Item<T>>,
    mut apply: impl AsyncFnMut(T) -> anyhow::Result<Result<WebhookOutcome, BadPayload>>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    let total = items.len() as u64;
    let mut summary = Summary::default();
    progress(0, total);
    for (done, item) in (1u64..).zip(items) {
        match item.record {
            Err(e) => summary.failed.push(format!("{}: {e}", item.at)),
            Ok(record) => match apply(record).await? {
                Ok(WebhookOutcome::Stale | WebhookOutcome::Duplicate) => summary.unchanged += 1,
                Ok(_) => summary.applied += 1,
                Err(bad) => summary.failed.push(format!("{}: {}", item.at, bad.0)),
            },
        }
        progress(done, total);
    }
    Ok(summary)
}

/// Applies every order, reporting (done, total) as it goes.
pub async fn run(
    engine: &Engine,
    orders: Vec<Item<ImportOrder>>,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    run_items(
        orders,
        async |o| {
            engine
                .import_order(o)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        },
        progress,
    )
    .await
}

/// Applies every product, reporting (done, total) as it goes.
pub async fn run_products(
    engine: &Engine,
    products: Vec<Item<ImportProduct>>,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    run_items(
        products,
        async |p| {
            engine
                .import_product(p)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        },
        progress,
    )
    .await
}
