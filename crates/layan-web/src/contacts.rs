//! Customers: the profile in the conversation sidebar (identities, timeline of conversations
//! and orders, lifetime value), editing it, identities, suggested duplicates and the merge, and
//! privacy (export, erasure); the shop's proactive-message rules.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use layan_core::{ContactId, ConversationId, Identity, MergeOutcome, ProactiveRules};
use layan_engine::{
    EngineError,
    contacts::{ContactProfile, DuplicateContact, ProfileEdit},
};
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::Work,
    error::{ApiError, ApiResult, ErrorBody, JsonBody, not_found_as},
};

fn contact_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound => ApiError::not_found("contact"),
        EngineError::Conflict("identity_taken") => ApiError::new(
            StatusCode::CONFLICT,
            "identity_taken",
            "another customer has this identity: merge the two customers instead",
        ),
        EngineError::Conflict("identity_exists") => ApiError::new(
            StatusCode::CONFLICT,
            "identity_exists",
            "this customer already has this identity",
        ),
        other => other.into(),
    }
}

/// The customer's profile: identities, order count and lifetime value, the newest orders, and
/// a timeline of conversations (in the agent's inboxes) and orders.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, description = "the profile"), (status = 404, body = ErrorBody)))]
pub async fn profile(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<ContactProfile>> {
    Ok(Json(
        state
            .engine
            .contact_profile(&work.access, ContactId(id))
            .await
            .map_err(contact_error)?,
    ))
}

/// The profile of a conversation's customer.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/contact", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, description = "the profile"), (status = 404, body = ErrorBody)))]
pub async fn conversation_contact(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<ContactProfile>> {
    let c = state
        .engine
        .conversation_for(&work.access, ConversationId(id))
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(
        state
            .engine
            .contact_profile(&work.access, c.contact_id)
            .await
            .map_err(contact_error)?,
    ))
}

/// Changes to a profile: a field left out stays, an empty string clears it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditContact {
    pub name: Option<String>,
    /// en, id, th or nl.
    pub locale: Option<String>,
    /// Any common way of writing it; stored in E.164.
    pub phone: Option<String>,
    pub notes: Option<String>,
    /// A flat object of short keys and scalar values.
    #[schema(value_type = Object)]
    pub attributes: Option<serde_json::Value>,
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    request_body = EditContact,
    responses((status = 200, body = layan_core::Contact), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<EditContact>,
) -> ApiResult<Json<layan_core::Contact>> {
    let edit = ProfileEdit {
        name: body.name.as_deref(),
        locale: body.locale.as_deref(),
        phone: body.phone.as_deref(),
        notes: body.notes.as_deref(),
        attributes: body.attributes.as_ref(),
    };
    Ok(Json(
        state
            .engine
            .edit_contact(
                &work.access,
                ContactId(id),
                &edit,
                state.config.phone_country,
            )
            .await
            .map_err(contact_error)?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdentity {
    /// email, phone, whatsapp, telegram, line, messenger or store_customer.
    pub kind: String,
    pub value: String,
}

/// Adds an identity (normalised: emails in lower case, phone numbers in E.164). 409
/// `identity_taken` when another customer has it: merge them instead.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/identities", tag = "contacts", params(("id" = i64, Path)),
    request_body = NewIdentity,
    responses((status = 201, body = Identity), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_identity(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<NewIdentity>,
) -> ApiResult<(StatusCode, Json<Identity>)> {
    let identity = state
        .engine
        .add_identity(
            &work.access,
            ContactId(id),
            &body.kind,
            &body.value,
            state.config.phone_country,
        )
        .await
        .map_err(contact_error)?;
    Ok((StatusCode::CREATED, Json(identity)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}/identities/{kind}/{value}", tag = "contacts",
    params(("id" = i64, Path), ("kind" = String, Path), ("value" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_identity(
    State(state): State<AppState>,
    work: Work,
    Path((id, kind, value)): Path<(i64, String, String)>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .remove_identity(&work.access, ContactId(id), &kind, &value)
        .await
        .map_err(contact_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Customers who may be the same person: the same email or phone number (as a field or an
/// identity), or the same name.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/duplicates", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, description = "suggested duplicates"), (status = 404, body = ErrorBody)))]
pub async fn duplicates(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<DuplicateContact>>> {
    Ok(Json(
        state
            .engine
            .duplicates(&work.access, ContactId(id))
            .await
            .map_err(contact_error)?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeContact {
    /// The customer merged into this one (and deleted).
    pub from: i64,
}

/// Merges another customer into this one: conversations, identities and orders move; the other
/// is deleted; the audit log keeps what it was. Admins and supervisors.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/merge", tag = "contacts", params(("id" = i64, Path)),
    request_body = MergeContact,
    responses((status = 200, body = MergeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<MergeContact>,
) -> ApiResult<Json<MergeOutcome>> {
    Ok(Json(
        state
            .engine
            .merge_contacts(&work.access, ContactId(id), ContactId(body.from), work.ip)
            .await
            .map_err(contact_error)?,
    ))
}

/// Everything stored about the customer (a data request). Admins and supervisors; audited.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/export", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, description = "the export"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<(
    [(axum::http::HeaderName, String); 1],
    Json<serde_json::Value>,
)> {
    let export = state
        .engine
        .export_contact(&work.access, ContactId(id), work.ip)
        .await
        .map_err(contact_error)?;
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"customer-{id}.json\""),
        )],
        Json(export),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseContact {
    /// Must be `true`: erasure cannot be undone.
    pub confirm: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasedReply {
    pub conversations: usize,
    pub messages: u64,
    pub identities: u64,
    pub orders: u64,
}

/// Erases the customer: messages redacted, identities and orders deleted, profile emptied,
/// search index purged. Admins only; audited. Cannot be undone.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/erase", tag = "contacts", params(("id" = i64, Path)),
    request_body = EraseContact,
    responses((status = 200, body = ErasedReply), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn erase(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<EraseContact>,
) -> ApiResult<Json<ErasedReply>> {
    if !body.confirm {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirm_required",
            "erasure cannot be undone: send {\"confirm\": true}",
        ));
    }
    let erased = state
        .engine
        .erase_contact(Some(&work.access), ContactId(id), work.ip)
        .await
        .map_err(contact_error)?;
    Ok(Json(ErasedReply {
        conversations: erased.conversations.len(),
        messages: erased.messages,
        identities: erased.identities,
        orders: erased.orders,
    }))
}

/// The shop's proactive-message rules.
#[utoipa::path(get, path = "/api/v1/proactive", tag = "orders",
    responses((status = 200, body = ProactiveRules)))]
pub async fn get_rules(
    State(state): State<AppState>,
    _work: Work,
) -> ApiResult<Json<ProactiveRules>> {
    Ok(Json(state.engine.proactive_rules().await?))
}

/// Replaces the proactive-message rules (admins). 422 names the bad field.
#[utoipa::path(put, path = "/api/v1/proactive", tag = "orders", request_body = ProactiveRules,
    responses((status = 200, body = ProactiveRules), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    work: Work,
    JsonBody(rules): JsonBody<ProactiveRules>,
) -> ApiResult<Json<ProactiveRules>> {
    state
        .engine
        .set_proactive_rules(work.agent(), &rules, work.ip)
        .await?;
    Ok(Json(rules))
}
