//! Products storage: written with the store event that carried them (a redelivery changes
//! nothing), the newest store version winning; a word-and-price search for the product finder.
//! `product_queries!` is compiled per backend like `queries.rs`.

use layan_core::{Millis, Product};

use crate::{Store, StoreResult, orders::StoreEvent};

/// A product as a store event or an import describes it.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub source: String,
    pub external_id: String,
    pub title: String,
    pub keywords: String,
    pub url: Option<String>,
    pub price: String,
    pub price_minor: i64,
    pub currency: Option<String>,
    pub stock: Option<i64>,
    pub active: bool,
    pub store_updated_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductApplied {
    Written,
    /// Older than what is stored or the same, or deleted already.
    Stale,
    /// This event was applied before.
    Duplicate,
}

/// What the product finder asks for.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Every word must be in the title or the keywords (lower case).
    pub words: Vec<String>,
    /// In hundredths.
    pub max_price_minor: Option<i64>,
    pub min_price_minor: Option<i64>,
    pub in_stock_only: bool,
    pub limit: u32,
}

impl Store {
    pub async fn apply_product(
        &self,
        event: Option<StoreEvent<'_>>,
        product: &NewProduct,
    ) -> StoreResult<ProductApplied> {
        dispatch!(self, s => s.apply_product(event, product).await)
    }

    /// Deletes the store's product (a `products/delete` event).
    pub async fn delete_product(
        &self,
        event: Option<StoreEvent<'_>>,
        source: &str,
        external_id: &str,
    ) -> StoreResult<ProductApplied> {
        dispatch!(self, s => s.delete_product(event, source, external_id).await)
    }

    /// Active products matching the query: in stock first, then cheapest first.
    pub async fn search_products(&self, query: &ProductQuery) -> StoreResult<Vec<Product>> {
        dispatch!(self, s => s.search_products(query).await)
    }
}

macro_rules! product_queries {
    ($store:ident, $db:ty, $row:ty) => {
fn product_from_row(row: &$row) -> StoreResult<layan_core::Product> {
    Ok(layan_core::Product {
        id: layan_core::ProductId(row.try_get("id").map_err(db)?),
        source: row.try_get("source").map_err(db)?,
        external_id: row.try_get("external_id").map_err(db)?,
        title: row.try_get("title").map_err(db)?,
        keywords: row.try_get("keywords").map_err(db)?,
        url: row.try_get("url").map_err(db)?,
        price: row.try_get("price").map_err(db)?,
        currency: row.try_get("currency").map_err(db)?,
        stock: row.try_get("stock").map_err(db)?,
        active: row.try_get("active").map_err(db)?,
        store_updated_at: row.try_get("store_updated_at").map_err(db)?,
    })
}

impl $store {
    pub async fn apply_product(&self, event: Option<crate::orders::StoreEvent<'_>>, p: &crate::products::NewProduct) -> StoreResult<crate::products::ProductApplied> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        if !record_event(&mut tx, event).await? {
            return Ok(crate::products::ProductApplied::Duplicate);
        }
        let done = sqlx::query(&q(
            "INSERT INTO products (source, external_id, title, keywords, url, price, price_minor, currency, stock, \
             active, store_updated_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (source, external_id) DO UPDATE SET title = excluded.title, keywords = excluded.keywords, \
             url = excluded.url, price = excluded.price, price_minor = excluded.price_minor, currency = excluded.currency, \
             stock = excluded.stock, active = excluded.active, store_updated_at = excluded.store_updated_at \
             WHERE products.store_updated_at < excluded.store_updated_at \
             OR (products.store_updated_at = excluded.store_updated_at AND (products.title <> excluded.title \
                 OR products.keywords <> excluded.keywords OR products.url IS DISTINCT FROM excluded.url \
                 OR products.price <> excluded.price OR products.currency IS DISTINCT FROM excluded.currency \
                 OR products.stock IS DISTINCT FROM excluded.stock OR products.active <> excluded.active))",
        ))
        .bind(&p.source)
        .bind(&p.external_id)
        .bind(&p.title)
        .bind(&p.keywords)
        .bind(&p.url)
        .bind(&p.price)
        .bind(p.price_minor)
        .bind(&p.currency)
        .bind(p.stock)
        .bind(p.active)
        .bind(p.store_updated_at)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(if done.rows_affected() == 1 {
            crate::products::ProductApplied::Written
        } else {
            crate::products::ProductApplied::Stale
        })
    }

    pub async fn delete_product(&self, event: Option<crate::orders::StoreEvent<'_>>, source: &str, external_id: &str) -> StoreResult<crate::products::ProductApplied> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        if !record_event(&mut tx, event).await? {
            return Ok(crate::products::ProductApplied::Duplicate);
        }
        let done = sqlx::query(&q("DELETE FROM products WHERE source = ? AND external_id = ?"))
            .bind(source)
            .bind(external_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(if done.rows_affected() == 1 {
            crate::products::ProductApplied::Written
        } else {
            crate::products::ProductApplied::Stale
        })
    }

    pub async fn search_products(&self, query: &crate::products::ProductQuery) -> StoreResult<Vec<layan_core::Product>> {
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT * FROM products WHERE active");
        for w in &query.words {
            let pattern = format!("%{}%", like_escape(&w.to_lowercase()));
            qb.push(" AND (LOWER(title) LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR LOWER(keywords) LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        if let Some(max) = query.max_price_minor {
            qb.push(" AND price_minor <= ").push_bind(max);
        }
        if let Some(min) = query.min_price_minor {
            qb.push(" AND price_minor >= ").push_bind(min);
        }
        if query.in_stock_only {
            qb.push(" AND (stock IS NULL OR stock > 0)");
        }
        qb.push(" ORDER BY CASE WHEN stock IS NULL OR stock > 0 THEN 0 ELSE 1 END, price_minor, id LIMIT ")
            .push_bind(i64::from(query.limit.clamp(1, 100)));
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        rows.iter().map(product_from_row).collect()
    }
}
    };
}

pub(crate) use product_queries;
