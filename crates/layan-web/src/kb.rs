//! The knowledge-base API for the agent side: everyone signed in reads and searches; admins and
//! supervisors write (others get 403). Changes are audited and reach the help-center index at once.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use layan_core::{Article, ArticleId, ArticleStatus, Category, CategoryId, Locale};
use layan_engine::kb::{ArticlePlace, CategoryTextInput, TranslationInput};
use serde::Deserialize;

use crate::{
    AppState,
    auth::Work,
    error::{ApiError, ApiResult, ErrorBody, JsonBody, not_found_as},
    help::{SearchResults, exact_locale},
};

fn locale(tag: &str) -> Result<Locale, ApiError> {
    exact_locale(tag).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_locale",
            "locale is one of en, id, th, nl",
        )
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CategoryTextRequest {
    pub locale: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CategoryRequest {
    pub slug: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default)]
    pub texts: Vec<CategoryTextRequest>,
}

fn category_texts(texts: &[CategoryTextRequest]) -> Result<Vec<CategoryTextInput>, ApiError> {
    texts
        .iter()
        .map(|t| {
            Ok(CategoryTextInput {
                locale: locale(&t.locale)?,
                name: t.name.clone(),
                description: t.description.clone(),
            })
        })
        .collect()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TranslationRequest {
    pub locale: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub status: ArticleStatus,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TranslationBody {
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub status: ArticleStatus,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ArticleRequest {
    #[serde(default)]
    pub category_id: Option<i64>,
    pub slug: String,
    #[serde(default)]
    pub position: i64,
    /// On create only; later, one language at a time under `/translations/{locale}`.
    #[serde(default)]
    pub translations: Vec<TranslationRequest>,
}

impl ArticleRequest {
    fn place(&self) -> ArticlePlace {
        ArticlePlace {
            category_id: self.category_id.map(CategoryId),
            slug: self.slug.clone(),
            position: self.position,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/kb/categories", tag = "knowledge base",
    responses((status = 200, body = Vec<Category>)))]
pub async fn categories(
    State(state): State<AppState>,
    _work: Work,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(state.engine.kb_categories().await?))
}

#[utoipa::path(post, path = "/api/v1/kb/categories", tag = "knowledge base", request_body = CategoryRequest,
    responses((status = 201, body = Category), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_category(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<CategoryRequest>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    let texts = category_texts(&req.texts)?;
    let category = state
        .engine
        .kb_create_category(work.agent(), &req.slug, req.position, &texts, work.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(category)))
}

#[utoipa::path(put, path = "/api/v1/kb/categories/{id}", tag = "knowledge base", params(("id" = i64, Path)), request_body = CategoryRequest,
    responses((status = 200, body = Category), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_category(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<CategoryRequest>,
) -> ApiResult<Json<Category>> {
    let texts = category_texts(&req.texts)?;
    let category = state
        .engine
        .kb_update_category(
            work.agent(),
            CategoryId(id),
            &req.slug,
            req.position,
            &texts,
            work.ip,
        )
        .await
        .map_err(not_found_as("category"))?;
    Ok(Json(category))
}

#[utoipa::path(delete, path = "/api/v1/kb/categories/{id}", tag = "knowledge base", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_category(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .kb_delete_category(work.agent(), CategoryId(id), work.ip)
        .await
        .map_err(not_found_as("category"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/kb/articles", tag = "knowledge base",
    responses((status = 200, body = Vec<Article>)))]
pub async fn articles(State(state): State<AppState>, _work: Work) -> ApiResult<Json<Vec<Article>>> {
    Ok(Json(state.engine.kb_articles().await?))
}

#[utoipa::path(post, path = "/api/v1/kb/articles", tag = "knowledge base", request_body = ArticleRequest,
    responses((status = 201, body = Article), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_article(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<ArticleRequest>,
) -> ApiResult<(StatusCode, Json<Article>)> {
    let translations = req
        .translations
        .iter()
        .map(|t| {
            Ok(TranslationInput {
                locale: locale(&t.locale)?,
                title: t.title.clone(),
                body: t.body.clone(),
                status: t.status,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let article = state
        .engine
        .kb_create_article(work.agent(), req.place(), &translations, work.ip)
        .await
        .map_err(not_found_as("category"))?;
    Ok((StatusCode::CREATED, Json(article)))
}

#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", params(("id" = i64, Path)),
    responses((status = 200, body = Article), (status = 404, body = ErrorBody)))]
pub async fn article(
    State(state): State<AppState>,
    _work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Article>> {
    let article = state
        .engine
        .kb_article(ArticleId(id))
        .await
        .map_err(not_found_as("article"))?;
    Ok(Json(article))
}

#[utoipa::path(put, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", params(("id" = i64, Path)), request_body = ArticleRequest,
    responses((status = 200, body = Article), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_article(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<ArticleRequest>,
) -> ApiResult<Json<Article>> {
    let article = state
        .engine
        .kb_update_article(work.agent(), ArticleId(id), req.place(), work.ip)
        .await
        .map_err(not_found_as("article"))?;
    Ok(Json(article))
}

#[utoipa::path(delete, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_article(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .kb_delete_article(work.agent(), ArticleId(id), work.ip)
        .await
        .map_err(not_found_as("article"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/kb/articles/{id}/translations/{locale}", tag = "knowledge base",
    params(("id" = i64, Path), ("locale" = String, Path)), request_body = TranslationBody,
    responses((status = 200, body = Article), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_translation(
    State(state): State<AppState>,
    work: Work,
    Path((id, tag)): Path<(i64, String)>,
    JsonBody(req): JsonBody<TranslationBody>,
) -> ApiResult<Json<Article>> {
    let input = TranslationInput {
        locale: locale(&tag)?,
        title: req.title,
        body: req.body,
        status: req.status,
    };
    let article = state
        .engine
        .kb_put_translation(work.agent(), ArticleId(id), &input, work.ip)
        .await
        .map_err(not_found_as("article"))?;
    Ok(Json(article))
}

#[utoipa::path(delete, path = "/api/v1/kb/articles/{id}/translations/{locale}", tag = "knowledge base",
    params(("id" = i64, Path), ("locale" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_translation(
    State(state): State<AppState>,
    work: Work,
    Path((id, tag)): Path<(i64, String)>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .kb_delete_translation(work.agent(), ArticleId(id), locale(&tag)?, work.ip)
        .await
        .map_err(not_found_as("translation"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AgentSearch {
    #[serde(default)]
    q: String,
    locale: String,
}

/// Published articles for agents (to link in a reply), in one language.
#[utoipa::path(get, path = "/api/v1/kb/search", tag = "knowledge base",
    params(("q" = String, Query), ("locale" = String, Query)),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    _work: Work,
    Query(q): Query<AgentSearch>,
) -> ApiResult<Json<SearchResults>> {
    let locale = locale(&q.locale)?;
    let query: String = q.q.chars().take(500).collect();
    let hits = state.engine.kb_search(locale, &query, 10).await?;
    Ok(Json(SearchResults {
        locale: locale.as_str().into(),
        results: hits
            .into_iter()
            .map(|h| crate::help::ArticleResult {
                url: format!("/help/{}/a/{}", locale.as_str(), h.slug),
                slug: h.slug,
                title: h.title,
                excerpt: h.excerpt,
            })
            .collect(),
    }))
}
