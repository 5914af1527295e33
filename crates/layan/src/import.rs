//! `layan orders import`: orders from a JSON or CSV file (formats in README), each applied like
//! a store webhook — checked, matched to a contact by email, newest `updated_at` winning — with
//! progress on standard error. A bad row is reported by its number and skipped; the others are
//! imported; running the same file again changes nothing.

use std::path::Path;

use anyhow::Context;
use layan_engine::{
    Engine,
    orders::{ImportOrder, ImportShipment, WebhookOutcome},
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

/// One order read from the file, or why it could not be read; `at` says where ("row 4").
pub struct Item {
    pub at: String,
    pub order: Result<ImportOrder, String>,
}

/// Reads the file into orders, or per-row errors (row numbers count from 1; for CSV the header
/// is row 1).
pub fn read(path: &Path, format: Option<&str>) -> anyhow::Result<Vec<Item>> {
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
            let items: Vec<serde_json::Value> =
                serde_json::from_str(&text).context("the file must be a JSON array of orders")?;
            Ok(items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Item {
                    at: format!("order {}", i + 1),
                    order: serde_json::from_value::<ImportOrder>(v).map_err(|e| e.to_string()),
                })
                .collect())
        }
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            Ok(reader
                .deserialize::<CsvRow>()
                .enumerate()
                .map(|(i, row)| Item {
                    at: format!("row {}", i + 2),
                    order: row.map(ImportOrder::from).map_err(|e| e.to_string()),
                })
                .collect())
        }
        other => anyhow::bail!("unknown format {other:?}: json or csv"),
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub applied: u64,
    pub unchanged: u64,
    pub failed: Vec<String>,
}

/// Applies every order, reporting (done, total) as it goes.
pub async fn run(
    engine: &Engine,
    orders: Vec<Item>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    let total = orders.len() as u64;
    let mut summary = Summary::default();
    progress(0, total);
    for (done, item) in (1u64..).zip(orders) {
        match item.order {
            Err(e) => summary.failed.push(format!("{}: {e}", item.at)),
            Ok(order) => {
                match engine
                    .import_order(order)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                {
                    Ok(WebhookOutcome::Stale | WebhookOutcome::Duplicate) => summary.unchanged += 1,
                    Ok(_) => summary.applied += 1,
                    Err(bad) => summary.failed.push(format!("{}: {}", item.at, bad.0)),
                }
            }
        }
        progress(done, total);
    }
    Ok(summary)
}
