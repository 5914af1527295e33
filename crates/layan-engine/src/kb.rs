//! The knowledge base: admins and supervisors write categories and articles (markdown, a
//! translation per locale, each draft or published); everyone finds published articles through
//! the help-center index, which follows every change on this node and, relayed, on the others.

use std::net::IpAddr;

use layan_core::{
    Agent, Article, ArticleId, ArticleStatus, Category, CategoryId, InvalidValue, Locale, Role,
    check_article_body, check_slug, check_title,
};
use layan_search::{ArticleHit, ArticleText, markdown};
use sha2::{Digest, Sha256};

use crate::{Engine, EngineError, EngineResult, relay::Relayed};

/// An article's place: its category, slug and position in the category.
#[derive(Debug, Clone)]
pub struct ArticlePlace {
    pub category_id: Option<CategoryId>,
    pub slug: String,
    pub position: i64,
}

/// One language of an article.
#[derive(Debug, Clone)]
pub struct TranslationInput {
    pub locale: Locale,
    pub title: String,
    pub body: String,
    pub status: ArticleStatus,
}

/// One language of a category.
#[derive(Debug, Clone)]
pub struct CategoryTextInput {
    pub locale: Locale,
    pub name: String,
    pub description: String,
}

/// The most results a search returns.
pub const MAX_SEARCH_RESULTS: usize = 20;

impl Engine {
    fn require_editor(agent: &Agent) -> EngineResult<()> {
        match agent.role {
            Role::Admin | Role::Supervisor => Ok(()),
            Role::Agent => Err(EngineError::Forbidden(
                "only admins and supervisors edit the knowledge base",
            )),
        }
    }

    /// Fills the help-center index from the database, reporting progress.
    pub async fn rebuild_article_index(&self, progress: impl FnMut(usize)) -> EngineResult<usize> {
        let articles = self.store.articles().await?;
        let texts: Vec<ArticleText> = articles.iter().flat_map(index_texts).collect();
        let index = self.articles.clone();
        // Indexing is CPU work: keep it off the request threads.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::task::spawn_blocking(move || {
            index.rebuild(texts, |n| {
                let _ = tx.send(n);
            })
        });
        let mut progress = progress;
        while let Some(n) = rx.recv().await {
            progress(n);
        }
        let count = task
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(count)
    }

    /// Brings one article's index entries up to date with the database.
    pub(crate) async fn reindex_article(&self, id: ArticleId) -> EngineResult<()> {
        let texts = match self.store.article(id).await? {
            Some(article) => index_texts(&article),
            None => Vec::new(),
        };
        let index = self.articles.clone();
        crate::blocking(move || index.replace(id.0, &texts)).await
    }

    async fn article_changed(&self, id: ArticleId) -> EngineResult<()> {
        self.reindex_article(id).await?;
        self.relay(Relayed::Article {
            node: self.node,
            article_id: id.0,
        });
        Ok(())
    }

    pub async fn kb_categories(&self) -> EngineResult<Vec<Category>> {
        Ok(self.store.categories().await?)
    }

    pub async fn kb_create_category(
        &self,
        who: &Agent,
        slug: &str,
        position: i64,
        texts: &[CategoryTextInput],
        ip: Option<IpAddr>,
    ) -> EngineResult<Category> {
        Self::require_editor(who)?;
        let slug = check_slug(slug)?;
        let texts = check_category_texts(texts)?;
        let id = self.store.create_category(&slug, position).await?;
        for t in &texts {
            self.store
                .put_category_text(id, t.locale, &t.name, &t.description)
                .await?;
        }
        self.audit(Some(who), "kb_category_created", Some(&slug), None, ip)
            .await;
        self.category(id).await
    }

    pub async fn kb_update_category(
        &self,
        who: &Agent,
        id: CategoryId,
        slug: &str,
        position: i64,
        texts: &[CategoryTextInput],
        ip: Option<IpAddr>,
    ) -> EngineResult<Category> {
        Self::require_editor(who)?;
        let slug = check_slug(slug)?;
        let texts = check_category_texts(texts)?;
        self.store.update_category(id, &slug, position).await?;
        for t in &texts {
            self.store
                .put_category_text(id, t.locale, &t.name, &t.description)
                .await?;
        }
        self.audit(Some(who), "kb_category_updated", Some(&slug), None, ip)
            .await;
        self.category(id).await
    }

    pub async fn kb_delete_category(
        &self,
        who: &Agent,
        id: CategoryId,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_editor(who)?;
        self.store.delete_category(id).await?;
        self.audit(
            Some(who),
            "kb_category_deleted",
            Some(&id.to_string()),
            None,
            ip,
        )
        .await;
        Ok(())
    }

    async fn category(&self, id: CategoryId) -> EngineResult<Category> {
        self.store
            .categories()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(EngineError::NotFound)
    }

    /// Every article, drafts included (for editors and agents).
    pub async fn kb_articles(&self) -> EngineResult<Vec<Article>> {
        Ok(self.store.articles().await?)
    }

    pub async fn kb_article(&self, id: ArticleId) -> EngineResult<Article> {
        self.store.article(id).await?.ok_or(EngineError::NotFound)
    }

    pub async fn kb_article_by_slug(&self, slug: &str) -> EngineResult<Article> {
        self.store
            .article_by_slug(slug)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn kb_create_article(
        &self,
        who: &Agent,
        place: ArticlePlace,
        translations: &[TranslationInput],
        ip: Option<IpAddr>,
    ) -> EngineResult<Article> {
        Self::require_editor(who)?;
        let slug = check_slug(&place.slug)?;
        let translations = translations
            .iter()
            .map(check_translation)
            .collect::<Result<Vec<_>, _>>()?;
        let id = self
            .store
            .create_article(place.category_id, &slug, place.position)
            .await?;
        for t in &translations {
            self.store
                .put_article_translation(id, t.locale, &t.title, &t.body, t.status)
                .await?;
        }
        self.audit(Some(who), "kb_article_created", Some(&slug), None, ip)
            .await;
        self.article_changed(id).await?;
        self.kb_article(id).await
    }

    pub async fn kb_update_article(
        &self,
        who: &Agent,
        id: ArticleId,
        place: ArticlePlace,
        ip: Option<IpAddr>,
    ) -> EngineResult<Article> {
        Self::require_editor(who)?;
        let slug = check_slug(&place.slug)?;
        self.store
            .update_article(id, place.category_id, &slug, place.position)
            .await?;
        self.audit(Some(who), "kb_article_updated", Some(&slug), None, ip)
            .await;
        self.article_changed(id).await?;
        self.kb_article(id).await
    }

    pub async fn kb_put_translation(
        &self,
        who: &Agent,
        id: ArticleId,
        translation: &TranslationInput,
        ip: Option<IpAddr>,
    ) -> EngineResult<Article> {
        Self::require_editor(who)?;
        let t = check_translation(translation)?;
        self.store
            .put_article_translation(id, t.locale, &t.title, &t.body, t.status)
            .await?;
        let detail = format!("{} {}", t.locale.as_str(), t.status.as_str());
        self.audit(
            Some(who),
            "kb_translation_saved",
            Some(&id.to_string()),
            Some(&detail),
            ip,
        )
        .await;
        self.article_changed(id).await?;
        self.kb_article(id).await
    }

    pub async fn kb_delete_translation(
        &self,
        who: &Agent,
        id: ArticleId,
        locale: Locale,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_editor(who)?;
        self.store.delete_article_translation(id, locale).await?;
        self.audit(
            Some(who),
            "kb_translation_deleted",
            Some(&id.to_string()),
            Some(locale.as_str()),
            ip,
        )
        .await;
        self.article_changed(id).await
    }

    pub async fn kb_delete_article(
        &self,
        who: &Agent,
        id: ArticleId,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_editor(who)?;
        self.store.delete_article(id).await?;
        self.audit(
            Some(who),
            "kb_article_deleted",
            Some(&id.to_string()),
            None,
            ip,
        )
        .await;
        self.article_changed(id).await
    }

    /// Published articles in `locale` for `query`, best first.
    pub async fn kb_search(
        &self,
        locale: Locale,
        query: &str,
        limit: usize,
    ) -> EngineResult<Vec<ArticleHit>> {
        let index = self.articles.clone();
        let query = query.to_string();
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        crate::blocking(move || index.search(locale, &query, limit)).await
    }

    /// A visitor's "was this helpful?" answer for a published article. The visitor is kept
    /// only as a hash (one vote each, changeable).
    pub async fn kb_vote(&self, id: ArticleId, visitor: &str, helpful: bool) -> EngineResult<()> {
        let article = self.kb_article(id).await?;
        if article.published_all().next().is_none() {
            return Err(EngineError::NotFound);
        }
        let voter = hex(&Sha256::digest(visitor.as_bytes()));
        self.store.vote_article(id, &voter, helpful).await?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the index holds for an article: its published translations, as plain text.
fn index_texts(article: &Article) -> Vec<ArticleText> {
    article
        .published_all()
        .map(|t| ArticleText {
            article_id: article.id.0,
            locale: t.locale,
            slug: article.slug.clone(),
            title: t.title.clone(),
            body: markdown::to_plain(&t.body),
        })
        .collect()
}

fn check_translation(t: &TranslationInput) -> Result<TranslationInput, InvalidValue> {
    Ok(TranslationInput {
        locale: t.locale,
        title: check_title(&t.title)?,
        body: check_article_body(&t.body)?,
        status: t.status,
    })
}

fn check_category_texts(
    texts: &[CategoryTextInput],
) -> Result<Vec<CategoryTextInput>, InvalidValue> {
    texts
        .iter()
        .map(|t| {
            let description = t.description.trim();
            if description.chars().count() > 500 {
                return Err(InvalidValue::new(
                    "invalid_description",
                    "a description is at most 500 characters",
                ));
            }
            Ok(CategoryTextInput {
                locale: t.locale,
                name: check_title(&t.name)?,
                description: description.to_string(),
            })
        })
        .collect()
}

/// The shop document key of the shipping and returns policy.
const SHIPPING_POLICY: &str = "shipping_policy";

impl Engine {
    /// The shop's shipping and returns policy, when it has written one.
    pub async fn shipping_policy(&self) -> EngineResult<Option<layan_core::ShippingPolicy>> {
        let Some(raw) = self.store.document(SHIPPING_POLICY).await? else {
            return Ok(None);
        };
        serde_json::from_str(&raw)
            .map(Some)
            .map_err(|e| EngineError::Internal(format!("stored shipping policy: {e}")))
    }

    /// Replaces the shipping and returns policy (admins and supervisors; audited).
    pub async fn set_shipping_policy(
        &self,
        who: &Agent,
        policy: &layan_core::ShippingPolicy,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_editor(who)?;
        policy.check()?;
        let json =
            serde_json::to_string(policy).map_err(|e| EngineError::Internal(e.to_string()))?;
        self.store.put_document(SHIPPING_POLICY, &json).await?;
        self.audit(Some(who), "shipping_policy_updated", None, None, ip)
            .await;
        Ok(())
    }
}
