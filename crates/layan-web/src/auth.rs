//! Who is calling: an agent (session cookie, CSRF header on every state-changing request) or a
//! widget visitor (inbox key + visitor token headers).

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, Method, header, request::Parts},
};
use layan_core::{Contact, Inbox};
use layan_engine::{Access, AgentSession, EngineError, auth::constant_time_eq};

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

/// A logged-in agent: by session cookie, or by a personal API token
/// (`Authorization: Bearer lyt_…`). With the cookie, any method but GET/HEAD/OPTIONS must also
/// carry the session's CSRF token in `X-CSRF-Token` (the agent UI reads it from a `<meta>` tag),
/// so a page on another site cannot make the agent's browser act. A token is not sent by
/// browsers on their own, so it needs no CSRF token.
pub struct CurrentAgent(pub AgentSession);

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return match state.engine.authenticate_api_token(token.trim()).await? {
                Some(session) => Ok(Self(session)),
                None => Err(ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "unknown or revoked API token",
                )),
            };
        }
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

/// A logged-in agent with what they may see (roles, inbox membership, teams).
pub struct Work {
    pub session: AgentSession,
    pub access: Access,
    /// The caller's address, for the audit log.
    pub ip: Option<IpAddr>,
}

impl Work {
    pub fn agent(&self) -> &layan_core::Agent {
        &self.access.agent
    }
}

impl FromRequestParts<AppState> for Work {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentAgent(session) = CurrentAgent::from_request_parts(parts, state).await?;
        let access = state.engine.access(&session.agent).await?;
        Ok(Self {
            session,
            access,
            ip: client_ip(parts, state.config.trust_forwarded_for),
        })
    }
}

/// The caller's address, when known (an extractor that never fails).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts, state.config.trust_forwarded_for)))
    }
}

/// The caller's address: the peer of the connection (set by `serve`) or, behind a reverse proxy
/// that the settings say to trust, the last address in `X-Forwarded-For` (the one the proxy
/// itself appended; earlier entries are whatever the client claimed).
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(forwarded: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder();
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        parts
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_only_its_last_hop() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let p = parts(Some("203.0.113.9, 198.51.100.7"));
        assert_eq!(client_ip(&p, false), Some(peer));
        // The first entry is whatever the client claimed; the proxy appended the last one.
        assert_eq!(client_ip(&p, true), "198.51.100.7".parse().ok());
        assert_eq!(client_ip(&parts(Some("not an address")), true), Some(peer));
        // A garbled last hop does not fall back to what the client claimed before it.
        assert_eq!(
            client_ip(&parts(Some("203.0.113.9, junk")), true),
            Some(peer)
        );
        assert_eq!(client_ip(&parts(None), true), Some(peer));
    }
}
