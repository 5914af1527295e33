//! The one HTTP error type. Every handler returns `Result<_, ApiError>`; every error leaves as
//! `{"error": {"code": "snake_case", "message": "…"}}` with a fitting status. Codes are stable —
//! clients branch on them. A 5xx is logged with its cause and says only "internal error".

use axum::{
    Json,
    extract::{FromRequest, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use layan_core::InvalidValue;
use layan_engine::EngineError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (on 429 and 503).
    pub retry_after: Option<u64>,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `malformed_json`, `empty_message`, `message_too_long`, `not_found`…
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// With a `Retry-After` header of `seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// An outside server (mail, the store) could not be reached or used: 502 with the
    /// classification as the code (`net_refused`, `net_blocked`…), never the server's words.
    pub fn outside_server(e: layan_engine::outbound::NetError) -> Self {
        use layan_engine::outbound::NetError as N;
        let message = match e {
            N::Blocked => {
                "the server's address is a private or local one, which Layan does not connect to unless the outbound_allow setting names it"
            }
            N::NotFound => "the server's name was not found",
            N::Refused => "the server refused or closed the connection",
            N::TimedOut => "the server did not answer in time",
            N::Tls => "a secure (TLS) connection to the server could not be made",
            N::Auth => "the server refused the user name or password",
            N::Protocol => "the server's answer was not what was expected",
        };
        Self::new(StatusCode::BAD_GATEWAY, e.code(), message)
    }

    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> Self {
        let status = match e.code {
            "message_too_long" => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, e.code, e.message)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound => Self::not_found("resource"),
            EngineError::Invalid(v) => v.into(),
            EngineError::Conflict(code) => {
                Self::new(StatusCode::CONFLICT, code, format!("conflict: {code}"))
            }
            EngineError::Forbidden(why) => Self::forbidden(why),
            EngineError::Locked { until } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "account_locked",
                format!(
                    "too many failed attempts; try again in {} minutes",
                    ((until - layan_core::now_millis()) / 60_000).max(1)
                ),
            ),
            EngineError::RateLimited { retry_after_s } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many attempts from your address; try again in {retry_after_s} s"),
            )
            .retry_after(retry_after_s),
            EngineError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong email or password",
            ),
            // Busy (SQLite locked by another process, a backup) or unreachable: a short wait
            // and the same request again.
            EngineError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database cannot be reached right now; nothing was saved, try again shortly",
            )
            .retry_after(5),
            EngineError::Upstream(said) => Self::new(StatusCode::BAD_GATEWAY, "store_error", said),
            EngineError::Net(e) => Self::outside_server(e),
            EngineError::IdentityExpired => Self::new(
                StatusCode::UNAUTHORIZED,
                "identity_expired",
                "the signed-in chat session has ended with its identity; start a new widget session with a fresh identity",
            ),
            other => Self::internal(&other),
        }
    }
}

/// Maps an engine error, naming `what` was not found (`.map_err(not_found_as("conversation"))`).
pub fn not_found_as(what: &'static str) -> impl Fn(EngineError) -> ApiError {
    move |e| match e {
        EngineError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

impl From<layan_store::StoreError> for ApiError {
    fn from(e: layan_store::StoreError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.body_text(),
            ),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                payload_too_large()
            }
            JsonRejection::BytesRejection(e) if stalled(&e) => Self::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body stopped arriving; send it again",
            ),
            other => Self::bad_request("bad_request", other.body_text()),
        }
    }
}

/// Whether a body could not be read because it stopped arriving (the server's body timeout).
fn stalled(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the request body is larger than {} bytes",
            crate::MAX_BODY_BYTES
        ),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}

/// `axum::Json`, with rejections turned into [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;
