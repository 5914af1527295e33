//! Knowledge-base storage: categories, articles and their translations, helpfulness votes, and
//! shop documents (JSON by key, e.g. the shipping and returns policy). `kb_queries!` is compiled
//! per backend like `queries.rs`.

use layan_core::{Article, ArticleId, ArticleStatus, Category, CategoryId, Locale};

use crate::{Store, StoreResult};

impl Store {
    /// `Conflict("slug_taken")` when another category has the slug.
    pub async fn create_category(&self, slug: &str, position: i64) -> StoreResult<CategoryId> {
        dispatch!(self, s => s.create_category(slug, position).await)
    }

    pub async fn update_category(
        &self,
        id: CategoryId,
        slug: &str,
        position: i64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.update_category(id, slug, position).await)
    }

    /// Sets the category's name and description in one language.
    pub async fn put_category_text(
        &self,
        id: CategoryId,
        locale: Locale,
        name: &str,
        description: &str,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.put_category_text(id, locale, name, description).await)
    }

    /// Deletes a category; its articles stay, uncategorised.
    pub async fn delete_category(&self, id: CategoryId) -> StoreResult<()> {
        dispatch!(self, s => s.delete_category(id).await)
    }

    /// Every category with its texts, by position.
    pub async fn categories(&self) -> StoreResult<Vec<Category>> {
        dispatch!(self, s => s.categories().await)
    }

    /// `Conflict("slug_taken")` when another article has the slug; `NotFound` for an unknown
    /// category.
    pub async fn create_article(
        &self,
        category: Option<CategoryId>,
        slug: &str,
        position: i64,
    ) -> StoreResult<ArticleId> {
        dispatch!(self, s => s.create_article(category, slug, position).await)
    }

    pub async fn update_article(
        &self,
        id: ArticleId,
        category: Option<CategoryId>,
        slug: &str,
        position: i64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.update_article(id, category, slug, position).await)
    }

    /// Creates or replaces the translation of an article in one language.
    pub async fn put_article_translation(
        &self,
        id: ArticleId,
        locale: Locale,
        title: &str,
        body: &str,
        status: ArticleStatus,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.put_article_translation(id, locale, title, body, status).await)
    }

    pub async fn delete_article_translation(
        &self,
        id: ArticleId,
        locale: Locale,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.delete_article_translation(id, locale).await)
    }

    pub async fn delete_article(&self, id: ArticleId) -> StoreResult<()> {
        dispatch!(self, s => s.delete_article(id).await)
    }

    pub async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        dispatch!(self, s => s.article(id).await)
    }

    pub async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        dispatch!(self, s => s.article_by_slug(slug).await)
    }

    /// Every article with its translations, by category and position.
    pub async fn articles(&self) -> StoreResult<Vec<Article>> {
        dispatch!(self, s => s.articles().await)
    }

    /// Records a visitor's "was this helpful?" answer; answering again changes it.
    pub async fn vote_article(&self, id: ArticleId, voter: &str, helpful: bool) -> StoreResult<()> {
        dispatch!(self, s => s.vote_article(id, voter, helpful).await)
    }

    /// A shop document (JSON text) by key (from the settings cache when read within the last
    /// second; see `cache.rs`).
    pub async fn document(&self, key: &str) -> StoreResult<Option<String>> {
        if let Some(body) = self.settings.document(key) {
            return Ok(body);
        }
        let seen = self.settings.generation();
        let body = dispatch!(self, s => s.document(key).await)?;
        self.settings.keep_document(seen, key, body.as_deref());
        Ok(body)
    }

    pub async fn put_document(&self, key: &str, body: &str) -> StoreResult<()> {
        let put = dispatch!(self, s => s.put_document(key, body).await);
        self.settings.forget();
        put
    }

    /// A document read from the database itself (not this node's cache).
    pub async fn document_uncached(&self, key: &str) -> StoreResult<Option<String>> {
        dispatch!(self, s => s.document(key).await)
    }

    /// Replaces a document only if it is still `old` (a change made meanwhile wins); whether
    /// it was replaced.
    pub async fn replace_document(&self, key: &str, old: &str, new: &str) -> StoreResult<bool> {
        let done = dispatch!(self, s => s.replace_document(key, old, new).await);
        self.settings.forget();
        done
    }
}

/// Which articles `articles_where` reads.
#[derive(Clone, Copy)]
pub(crate) enum ArticleFilter<'a> {
    All,
    Id(i64),
    Slug(&'a str),
}

macro_rules! kb_queries {
    ($store:ident, $db:ty, $row:ty) => {
const ARTICLE_COLS: &str = "a.id, a.category_id, a.slug, a.position, a.created_at, a.updated_at, \
     (SELECT COUNT(*) FROM kb_votes v WHERE v.article_id = a.id AND v.helpful = 1) AS helpful, \
     (SELECT COUNT(*) FROM kb_votes v WHERE v.article_id = a.id AND v.helpful = 0) AS unhelpful";

fn kb_locale(raw: &str) -> StoreResult<Locale> {
    Locale::from_tag(raw).ok_or_else(|| corrupt("locale", raw))
}

fn article_from_row(row: &$row) -> StoreResult<Article> {
    Ok(Article {
        id: ArticleId(row.try_get("id").map_err(db)?),
        category_id: row.try_get::<Option<i64>, _>("category_id").map_err(db)?.map(CategoryId),
        slug: row.try_get("slug").map_err(db)?,
        position: row.try_get("position").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
        helpful: row.try_get("helpful").map_err(db)?,
        unhelpful: row.try_get("unhelpful").map_err(db)?,
        translations: Vec::new(),
    })
}

impl $store {
    pub async fn create_category(&self, slug: &str, position: i64) -> StoreResult<CategoryId> {
        let row = sqlx::query(&q("INSERT INTO kb_categories (slug, position, created_at) VALUES (?, ?, ?) RETURNING id"))
            .bind(slug)
            .bind(position)
            .bind(now_millis())
            .fetch_one(&self.writer)
            .await
            .map_err(db)?;
        Ok(CategoryId(row.try_get("id").map_err(db)?))
    }

    pub async fn update_category(&self, id: CategoryId, slug: &str, position: i64) -> StoreResult<()> {
        let done = sqlx::query(&q("UPDATE kb_categories SET slug = ?, position = ? WHERE id = ?"))
            .bind(slug)
            .bind(position)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn put_category_text(&self, id: CategoryId, locale: Locale, name: &str, description: &str) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO kb_category_texts (category_id, locale, name, description) VALUES (?, ?, ?, ?) \
             ON CONFLICT (category_id, locale) DO UPDATE SET name = excluded.name, description = excluded.description",
        ))
        .bind(id.0)
        .bind(locale.as_str())
        .bind(name)
        .bind(description)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn delete_category(&self, id: CategoryId) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM kb_categories WHERE id = ?"))
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn categories(&self) -> StoreResult<Vec<Category>> {
        let rows = sqlx::query(&q("SELECT id, slug, position FROM kb_categories ORDER BY position, id"))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(Category {
                id: CategoryId(row.try_get("id").map_err(db)?),
                slug: row.try_get("slug").map_err(db)?,
                position: row.try_get("position").map_err(db)?,
                texts: Vec::new(),
            });
        }
        let texts = sqlx::query(&q("SELECT category_id, locale, name, description FROM kb_category_texts ORDER BY locale"))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        for row in &texts {
            let id: i64 = row.try_get("category_id").map_err(db)?;
            let locale: String = row.try_get("locale").map_err(db)?;
            if let Some(category) = out.iter_mut().find(|c| c.id.0 == id) {
                category.texts.push(layan_core::CategoryText {
                    locale: kb_locale(&locale)?,
                    name: row.try_get("name").map_err(db)?,
                    description: row.try_get("description").map_err(db)?,
                });
            }
        }
        Ok(out)
    }

    pub async fn create_article(&self, category: Option<CategoryId>, slug: &str, position: i64) -> StoreResult<ArticleId> {
        let now = now_millis();
        let row = sqlx::query(&q(
            "INSERT INTO kb_articles (category_id, slug, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        ))
        .bind(category.map(|c| c.0))
        .bind(slug)
        .bind(position)
        .bind(now)
        .bind(now)
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        Ok(ArticleId(row.try_get("id").map_err(db)?))
    }

    pub async fn update_article(&self, id: ArticleId, category: Option<CategoryId>, slug: &str, position: i64) -> StoreResult<()> {
        let done = sqlx::query(&q(
            "UPDATE kb_articles SET category_id = ?, slug = ?, position = ?, updated_at = ? WHERE id = ?",
        ))
        .bind(category.map(|c| c.0))
        .bind(slug)
        .bind(position)
        .bind(now_millis())
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn put_article_translation(&self, id: ArticleId, locale: Locale, title: &str, body: &str, status: ArticleStatus) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.writer.begin().await.map_err(db)?;
        let done = sqlx::query(&q("UPDATE kb_articles SET updated_at = ? WHERE id = ?"))
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(&q(
            "INSERT INTO kb_article_texts (article_id, locale, title, body, status, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (article_id, locale) DO UPDATE SET title = excluded.title, body = excluded.body, \
             status = excluded.status, updated_at = excluded.updated_at",
        ))
        .bind(id.0)
        .bind(locale.as_str())
        .bind(title)
        .bind(body)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub async fn delete_article_translation(&self, id: ArticleId, locale: Locale) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM kb_article_texts WHERE article_id = ? AND locale = ?"))
            .bind(id.0)
            .bind(locale.as_str())
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_article(&self, id: ArticleId) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM kb_articles WHERE id = ?"))
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn articles_where(&self, filter: ArticleFilter<'_>) -> StoreResult<Vec<Article>> {
        let condition = match filter {
            ArticleFilter::All => "",
            ArticleFilter::Id(_) => "WHERE a.id = ?",
            ArticleFilter::Slug(_) => "WHERE a.slug = ?",
        };
        let sql = format!("SELECT {ARTICLE_COLS} FROM kb_articles a {condition} ORDER BY a.position, a.id");
        let sql = q(&sql);
        let query = sqlx::query(&sql);
        let query = match filter {
            ArticleFilter::All => query,
            ArticleFilter::Id(id) => query.bind(id),
            ArticleFilter::Slug(slug) => query.bind(slug),
        };
        let rows = query.fetch_all(&self.reader).await.map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(article_from_row(row)?);
        }
        if out.is_empty() {
            return Ok(out);
        }
        let text_sql = if out.len() == 1 {
            "SELECT article_id, locale, title, body, status, updated_at FROM kb_article_texts WHERE article_id = ? ORDER BY locale"
        } else {
            "SELECT article_id, locale, title, body, status, updated_at FROM kb_article_texts ORDER BY locale"
        };
        let text_sql = q(text_sql);
        let mut texts = sqlx::query(&text_sql);
        if out.len() == 1 {
            texts = texts.bind(out[0].id.0);
        }
        let rows = texts.fetch_all(&self.reader).await.map_err(db)?;
        let index: std::collections::HashMap<i64, usize> =
            out.iter().enumerate().map(|(i, a)| (a.id.0, i)).collect();
        for row in &rows {
            let id: i64 = row.try_get("article_id").map_err(db)?;
            let Some(&at) = index.get(&id) else { continue };
            let locale: String = row.try_get("locale").map_err(db)?;
            let status: String = row.try_get("status").map_err(db)?;
            out[at].translations.push(layan_core::ArticleTranslation {
                locale: kb_locale(&locale)?,
                title: row.try_get("title").map_err(db)?,
                body: row.try_get("body").map_err(db)?,
                status: ArticleStatus::parse(&status).ok_or_else(|| corrupt("article status", &status))?,
                updated_at: row.try_get("updated_at").map_err(db)?,
            });
        }
        Ok(out)
    }

    pub async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        Ok(self.articles_where(ArticleFilter::Id(id.0)).await?.pop())
    }

    pub async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        Ok(self.articles_where(ArticleFilter::Slug(slug)).await?.pop())
    }

    pub async fn articles(&self) -> StoreResult<Vec<Article>> {
        self.articles_where(ArticleFilter::All).await
    }

    pub async fn vote_article(&self, id: ArticleId, voter: &str, helpful: bool) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO kb_votes (article_id, voter, helpful, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (article_id, voter) DO UPDATE SET helpful = excluded.helpful",
        ))
        .bind(id.0)
        .bind(voter)
        .bind(i64::from(helpful))
        .bind(now_millis())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn document(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(&q("SELECT body FROM shop_documents WHERE key = ?"))
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.map(|r| r.try_get("body").map_err(db)).transpose()
    }

    pub async fn replace_document(&self, key: &str, old: &str, new: &str) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "UPDATE shop_documents SET body = ?, updated_at = ? WHERE key = ? AND body = ?",
        ))
        .bind(new)
        .bind(now_millis())
        .bind(key)
        .bind(old)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn put_document(&self, key: &str, body: &str) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO shop_documents (key, body, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        ))
        .bind(key)
        .bind(body)
        .bind(now_millis())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }
}
    };
}

pub(crate) use kb_queries;
