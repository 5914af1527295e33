//! Who is calling: an agent (session cookie, CSRF header on every state-changing request) or a
//! widget visitor (inbox key + visitor token headers).

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, header, request::Parts},
};
use layan_core::{Contact, Inbox};
use layan_engine::{AgentSession, EngineError, auth::constant_time_eq};

use crate::{AppState, error::ApiError};

pub const SESSION_COOKIE: &str = "layan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const VISITOR_KEY_HEADER: &str = "x-layan-inbox";

/// Reads one cookie's value.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The agent behind the session cookie, or `None`.
pub async fn session_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<AgentSession>, ApiError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) if !token.is_empty() => Ok(state.engine.authenticate(token).await?),
        _ => Ok(None),
    }
}

/// A logged-in agent. For any method but GET/HEAD/OPTIONS the request must also carry the
/// session's CSRF token in `X-CSRF-Token` (the agent UI reads it from a `<meta>` tag), so a page on
/// another site cannot make the agent's browser act.
pub struct CurrentAgent(pub AgentSession);

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = session_from_headers(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent, &session.csrf_token) {
                return Err(ApiError::forbidden("missing or wrong X-CSRF-Token header"));
            }
        }
        Ok(Self(session))
    }
}

/// A widget visitor: `X-Layan-Inbox: <inbox key>` and `Authorization: Bearer <visitor token>`.
pub struct CurrentVisitor {
    pub inbox: Inbox,
    pub contact: Contact,
}

impl FromRequestParts<AppState> for CurrentVisitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(VISITOR_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::bad_request("missing_inbox_key", "send the X-Layan-Inbox header")
            })?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthenticated)?;
        match state.engine.visitor_by_token(key, token).await {
            Ok((inbox, contact)) => Ok(Self { inbox, contact }),
            Err(EngineError::NotFound) => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unknown_visitor",
                "unknown inbox key or visitor token; start a new widget session",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// True when the request's `Origin` (if any) is this server itself. WebSocket upgrades carry
/// cookies from any site, so the agent socket checks this (cross-site WebSocket hijacking).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Non-browser clients send no Origin; they still need the session cookie.
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}
