//! The email channel over HTTP: connecting a mailbox (admins), its settings and "check now",
//! received mail for admins (failed, held or ignored mails can be downloaded raw and read again),
//! the email side of a conversation's messages, and attachments as downloads.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::BytesRejection},
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use layan_core::{
    AttachmentMeta, ConversationId, EmailInbox, EmailMeta, EmailSettings, InboundEmailInfo,
    InboundStatus, Inbox, InboxId,
};
use layan_engine::EngineError;
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::Work,
    error::{ApiError, ApiResult, ErrorBody, JsonBody, not_found_as},
};

fn email_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound => ApiError::not_found("email inbox"),
        EngineError::Conflict("address_taken") => ApiError::new(
            StatusCode::CONFLICT,
            "address_taken",
            "another inbox already uses this address",
        ),
        EngineError::Upstream(said) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "mail_server_error", said)
        }
        EngineError::Net(e) => ApiError::outside_server(e),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmailInbox {
    /// The inbox's name in the agent UI, e.g. "Email".
    pub name: String,
    pub settings: EmailSettings,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEmailInbox {
    pub inbox: Inbox,
    pub email: EmailInbox,
}

/// Connects a mailbox: a new inbox of channel `email` (admins). Passwords are never shown
/// again; reading the settings gives `********`, and sending that back keeps the password.
#[utoipa::path(post, path = "/api/v1/email-inboxes", tag = "email", request_body = NewEmailInbox,
    responses((status = 201, body = CreatedEmailInbox), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    work: Work,
    JsonBody(body): JsonBody<NewEmailInbox>,
) -> ApiResult<(StatusCode, Json<CreatedEmailInbox>)> {
    let inbox = state
        .engine
        .create_email_inbox(work.agent(), &body.name, body.settings, work.ip)
        .await
        .map_err(email_error)?;
    let email = state
        .engine
        .email_inbox(work.agent(), inbox.id)
        .await
        .map_err(email_error)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEmailInbox { inbox, email }),
    ))
}

/// An email inbox's settings (passwords hidden) and the last fetch's outcome (admins).
#[utoipa::path(get, path = "/api/v1/inboxes/{id}/email", tag = "email", params(("id" = i64, Path)),
    responses((status = 200, body = EmailInbox), (status = 404, body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<EmailInbox>> {
    Ok(Json(
        state
            .engine
            .email_inbox(work.agent(), InboxId(id))
            .await
            .map_err(email_error)?,
    ))
}

/// Changes an email inbox's settings (admins; audited).
#[utoipa::path(put, path = "/api/v1/inboxes/{id}/email", tag = "email", params(("id" = i64, Path)),
    request_body = EmailSettings,
    responses((status = 200, body = EmailInbox), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<EmailSettings>,
) -> ApiResult<Json<EmailInbox>> {
    Ok(Json(
        state
            .engine
            .update_email_inbox(work.agent(), InboxId(id), body, work.ip)
            .await
            .map_err(email_error)?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Fetched {
    /// New mails stored by this check.
    pub fetched: usize,
}

/// Checks the mailbox now instead of waiting for the next poll (admins). 502
/// `mail_server_error` carries the server's words.
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/email/fetch", tag = "email", params(("id" = i64, Path)),
    responses((status = 200, body = Fetched), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn fetch_now(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Fetched>> {
    // Admins only, and the inbox must be an email inbox.
    state
        .engine
        .email_inbox(work.agent(), InboxId(id))
        .await
        .map_err(email_error)?;
    let fetched = state
        .engine
        .fetch_mailbox(InboxId(id))
        .await
        .map_err(email_error)?;
    Ok(Json(Fetched { fetched }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InboundQuery {
    /// `received`, `processed`, `failed`, `held` or `ignored`.
    pub status: Option<String>,
}

/// Received mails, newest first (admins): what failed to read, what was held by the hourly
/// sender limit, what came from our own addresses.
#[utoipa::path(get, path = "/api/v1/inbound-emails", tag = "email", params(InboundQuery),
    responses((status = 200, body = Vec<InboundEmailInfo>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inbound(
    State(state): State<AppState>,
    work: Work,
    Query(q): Query<InboundQuery>,
) -> ApiResult<Json<Vec<InboundEmailInfo>>> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(InboundStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_status",
                "status: received, processed, failed, held or ignored",
            )
        })?),
    };
    Ok(Json(
        state
            .engine
            .inbound_emails(work.agent(), status)
            .await
            .map_err(email_error)?,
    ))
}

/// A received mail exactly as it arrived, as a download (admins).
#[utoipa::path(get, path = "/api/v1/inbound-emails/{id}/raw", tag = "email", params(("id" = i64, Path)),
    responses((status = 200, description = "message/rfc822"), (status = 404, body = ErrorBody)))]
pub async fn inbound_raw(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let raw = state
        .engine
        .inbound_email_raw(work.agent(), id)
        .await
        .map_err(not_found_as("mail"))?;
    Ok(download(
        raw,
        "application/octet-stream",
        &format!("mail-{id}.eml"),
    ))
}

/// Reads a failed, held or ignored mail again (admins; audited). 409 `already_processed`.
#[utoipa::path(post, path = "/api/v1/inbound-emails/{id}/reprocess", tag = "email", params(("id" = i64, Path)),
    responses((status = 202, description = "queued"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reprocess(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    match state
        .engine
        .reprocess_inbound_email(work.agent(), id, work.ip)
        .await
    {
        Ok(()) => Ok(StatusCode::ACCEPTED),
        Err(EngineError::Conflict("already_processed")) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_processed",
            "this mail is a message already",
        )),
        Err(e) => Err(not_found_as("mail")(e)),
    }
}

/// The email side of a conversation's messages: subject, addresses, CC, sanitised HTML, full
/// text, attachments and each reply's delivery (queued, sent, failed with the server's words,
/// bounced).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/emails", tag = "email", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<EmailMeta>), (status = 404, body = ErrorBody)))]
pub async fn conversation_emails(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<EmailMeta>>> {
    Ok(Json(
        state
            .engine
            .conversation_emails(&work.access, ConversationId(id))
            .await
            .map_err(not_found_as("conversation"))?,
    ))
}

/// Content types shown inline (images only); everything else downloads as bytes.
fn safe_content_type(declared: &str) -> &'static str {
    match declared {
        "image/png" => "image/png",
        "image/jpeg" | "image/jpg" => "image/jpeg",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        _ => "application/octet-stream",
    }
}

fn download(data: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    // RFC 6266 / 5987: an ASCII fallback and the UTF-8 name.
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = (StatusCode::OK, data).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    // Even opened directly, nothing in it may run.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    response
}

/// An attachment's bytes, as a download with a safe content type (images may show inline in
/// the agent UI; anything else is `application/octet-stream`). 404 outside the agent's inboxes.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "email", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
pub async fn attachment(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (meta, data) = state
        .engine
        .attachment_for(&work.access, id)
        .await
        .map_err(not_found_as("attachment"))?;
    Ok(download(
        data,
        safe_content_type(&meta.content_type),
        &meta.filename,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_keep_their_type() {
        assert_eq!(safe_content_type("image/png"), "image/png");
        assert_eq!(safe_content_type("text/html"), "application/octet-stream");
        assert_eq!(
            safe_content_type("image/svg+xml"),
            "application/octet-stream"
        );
        let r = download(vec![1], "application/octet-stream", "ใบเสร็จ \"x\".pdf");
        let d = r.headers()[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(d.starts_with("attachment; filename=\""), "{d}");
        assert!(d.contains("filename*=UTF-8''%E0%B9%83"), "{d}");
        assert!(!d.contains("\"x\""));
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name as the customer will see it.
    pub filename: String,
}

/// Uploads a file for a reply in this conversation (the body is the file; `Content-Type` its
/// type; at most 10 MB); the reply names it in `attachment_ids`. 404 outside the agent's
/// inboxes, 413 `file_too_large`, 422 `empty_file`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/attachments", tag = "email",
    params(("id" = i64, Path), UploadQuery),
    responses((status = 201, body = AttachmentMeta), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentMeta>)> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!(
                "a file may be at most {} MB",
                layan_engine::email::MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        )
    };
    let body = body.map_err(|_| too_large())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    match state
        .engine
        .upload_attachment(
            &work.access,
            ConversationId(id),
            &q.filename,
            content_type,
            Vec::from(body),
        )
        .await
    {
        Ok(meta) => Ok((StatusCode::CREATED, Json(meta))),
        Err(EngineError::Invalid(v)) if v.code == "file_too_large" => Err(too_large()),
        Err(e) => Err(not_found_as("conversation")(e)),
    }
}
