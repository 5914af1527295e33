//! The answer bot's settings and the shop's business hours (admins change them; every agent may
//! read them and try a sentence), and the bot's figures.

use axum::{
    Json,
    extract::{Query, State},
};
use layan_bot::{BotSettings, BusinessHours, Intent};
use layan_core::Locale;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    auth::Work,
    error::{ApiResult, ErrorBody, JsonBody},
};

/// The bot's settings (the language model's API key shown as `********`).
#[utoipa::path(get, path = "/api/v1/bot", tag = "bot",
    responses((status = 200, description = "the bot's settings: inboxes, name, tone, greeting, handoff_threshold, phrases, llm")))]
pub async fn get_settings(
    State(state): State<AppState>,
    _work: Work,
) -> ApiResult<Json<BotSettings>> {
    Ok(Json(state.engine.bot_settings().await?.redacted()))
}

/// Replaces the bot's settings (admins). A problem answers 422 naming the field; an API key
/// sent back as `********` keeps the stored one.
#[utoipa::path(put, path = "/api/v1/bot", tag = "bot",
    responses((status = 200, description = "the saved settings"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    work: Work,
    JsonBody(settings): JsonBody<BotSettings>,
) -> ApiResult<Json<BotSettings>> {
    Ok(Json(
        state
            .engine
            .set_bot_settings(work.agent(), settings, work.ip)
            .await?,
    ))
}

/// The shop's business hours (no days: always open).
#[utoipa::path(get, path = "/api/v1/business-hours", tag = "bot",
    responses((status = 200, description = "utc_offset_minutes and days [{day, open, close}]")))]
pub async fn get_hours(
    State(state): State<AppState>,
    _work: Work,
) -> ApiResult<Json<BusinessHours>> {
    Ok(Json(state.engine.business_hours().await?))
}

/// Replaces the business hours (admins); 422 names the bad field.
#[utoipa::path(put, path = "/api/v1/business-hours", tag = "bot",
    responses((status = 200, description = "the saved hours"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_hours(
    State(state): State<AppState>,
    work: Work,
    JsonBody(hours): JsonBody<BusinessHours>,
) -> ApiResult<Json<BusinessHours>> {
    state
        .engine
        .set_business_hours(work.agent(), hours.clone(), work.ip)
        .await?;
    Ok(Json(hours))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TryRequest {
    pub text: String,
    /// The language to assume when the text does not tell (default English).
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IntentScore {
    pub intent: String,
    pub score: f32,
}

#[derive(Serialize, ToSchema)]
pub struct TryResult {
    /// What the bot would act on (`out_of_scope` under the handoff threshold).
    pub intent: String,
    pub confidence: f32,
    pub language: Locale,
    /// The five best intents.
    pub top: Vec<IntentScore>,
}

/// What the bot makes of a sentence, with the shop's phrases (for the settings page).
#[utoipa::path(post, path = "/api/v1/bot/try", tag = "bot", request_body = TryRequest,
    responses((status = 200, body = TryResult), (status = 422, body = ErrorBody)))]
pub async fn try_sentence(
    State(state): State<AppState>,
    _work: Work,
    JsonBody(req): JsonBody<TryRequest>,
) -> ApiResult<Json<TryResult>> {
    let text = layan_core::MessageBody::parse(&req.text)?;
    let fallback = req
        .language
        .as_deref()
        .and_then(Locale::from_tag)
        .unwrap_or(Locale::En);
    let (p, scores) = state.engine.bot_classify(text.as_str(), fallback).await?;
    let top = scores
        .into_iter()
        .take(5)
        .map(|(i, s)| IntentScore {
            intent: i.as_str().into(),
            score: (s * 1000.0).round() / 1000.0,
        })
        .collect();
    Ok(Json(TryResult {
        intent: p.intent.as_str().into(),
        confidence: (p.confidence * 1000.0).round() / 1000.0,
        language: p.locale,
        top,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct IntentInfo {
    pub intent: String,
    /// How the bot answers it: order, policy, knowledge, products, handoff, social, out_of_scope.
    pub answer: String,
    /// The built-in training phrases in each language.
    pub builtin: std::collections::BTreeMap<String, Vec<String>>,
}

/// The intent catalogue with its built-in phrases (shops add their own in the settings).
#[utoipa::path(get, path = "/api/v1/bot/intents", tag = "bot",
    responses((status = 200, body = [IntentInfo])))]
pub async fn intents(_work: Work) -> Json<Vec<IntentInfo>> {
    let phrases = layan_bot::data::builtin_phrases();
    Json(
        Intent::ALL
            .iter()
            .map(|&intent| {
                let mut builtin = std::collections::BTreeMap::<String, Vec<String>>::new();
                for p in phrases.iter().filter(|p| p.intent == intent) {
                    builtin
                        .entry(p.locale.as_str().to_string())
                        .or_default()
                        .push(p.text.clone());
                }
                IntentInfo {
                    intent: intent.as_str().into(),
                    answer: intent.kind().as_str().into(),
                    builtin,
                }
            })
            .collect(),
    )
}

#[derive(Deserialize, IntoParams)]
pub struct StatsQuery {
    /// The last this many days (1–366, default 30).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct BotStatsBody {
    pub conversations: i64,
    pub handed_over: i64,
    pub ended: i64,
    pub rated: i64,
    pub mean_rating: Option<f64>,
}

/// How the bot did: conversations it took part in, handed over, ended by the shopper, ratings.
#[utoipa::path(get, path = "/api/v1/bot/stats", tag = "bot", params(StatsQuery),
    responses((status = 200, body = BotStatsBody)))]
pub async fn stats(
    State(state): State<AppState>,
    _work: Work,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<BotStatsBody>> {
    let s = state.engine.bot_stats(q.days.unwrap_or(30)).await?;
    Ok(Json(BotStatsBody {
        conversations: s.conversations,
        handed_over: s.handed_over,
        ended: s.ended,
        rated: s.rated,
        mean_rating: s.mean_rating.map(|m| (m * 100.0).round() / 100.0),
    }))
}
