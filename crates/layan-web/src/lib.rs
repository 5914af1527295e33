//! Layan's web layer: the only crate that knows HTTP, cookies, WebSockets and JSON framing.
//! Handlers parse input into domain types, call the engine, and turn results into responses.

pub mod api;
pub mod auth;
pub mod dto;
pub mod error;
pub mod metrics;
pub mod ui;
pub mod ws;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, Method, header},
    routing::{get, patch, post},
};
use layan_engine::Engine;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{
    cors::{Any, CorsLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;

use crate::error::ApiError;

/// The largest request body we read (64 KiB): a message is at most 10,000 characters.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the web layer needs to know from the settings.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub cookie_secure: bool,
    /// Serve the demo shop page at `/demo`.
    pub demo: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<WebConfig>,
    /// Cancelled on shutdown: live sockets close with 1001, the server stops accepting.
    pub shutdown: CancellationToken,
    pub metrics: Arc<metrics::Metrics>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Layan API", description = "Customer service for online stores. Errors are always `{\"error\":{\"code\",\"message\"}}` with a stable snake_case code."),
    paths(
        api::widget_session, api::widget_messages, api::widget_send, api::widget_offline,
        api::me, api::agents, api::inboxes, api::update_inbox,
        api::conversations, api::conversation, api::conversation_messages, api::reply,
        api::set_status, api::set_assignee, healthz,
    ),
    tags((name = "widget", description = "Called by the chat widget on the shop's pages: `X-Layan-Inbox` and `Authorization: Bearer <visitor token>` headers."),
         (name = "conversations", description = "Agent inbox; session cookie plus `X-CSRF-Token` on changes."))
)]
pub struct ApiDoc;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.engine.store().ping().await?;
    Ok(Json(Health { status: "ready" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

pub fn router(state: AppState) -> Router {
    // The widget runs on the shop's own domain: its API answers any origin. It uses headers, not
    // cookies, so CORS grants nothing an attacker could not do with curl.
    let widget_cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static(auth::VISITOR_KEY_HEADER),
        ]);
    let widget = Router::new()
        .route("/api/v1/widget/session", post(api::widget_session))
        .route("/api/v1/widget/messages", post(api::widget_send))
        .route("/api/v1/widget/offline-messages", post(api::widget_offline))
        .route(
            "/api/v1/widget/conversations/{id}/messages",
            get(api::widget_messages),
        )
        .route("/api/v1/widget/ws", get(ws::widget_ws))
        .route("/widget.js", get(ui::widget_js))
        .layer(widget_cors);

    let csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
               img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
               form-action 'self'";

    Router::new()
        .route("/", get(ui::root))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/login", get(ui::login_page).post(ui::login_submit))
        .route("/logout", post(ui::logout))
        .route("/setup", get(ui::setup_page).post(ui::setup_submit))
        .route("/app", get(ui::app_page))
        .route("/demo", get(ui::demo_page))
        .route("/assets/app.js", get(ui::app_js))
        .route("/favicon.svg", get(ui::favicon))
        .route("/assets/app.css", get(ui::app_css))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/agents", get(api::agents))
        .route("/api/v1/inboxes", get(api::inboxes))
        .route("/api/v1/inboxes/{id}", patch(api::update_inbox))
        .route("/api/v1/conversations", get(api::conversations))
        .route("/api/v1/conversations/{id}", get(api::conversation))
        .route(
            "/api/v1/conversations/{id}/messages",
            get(api::conversation_messages).post(api::reply),
        )
        .route("/api/v1/conversations/{id}/status", post(api::set_status))
        .route(
            "/api/v1/conversations/{id}/assignee",
            post(api::set_assignee),
        )
        .route("/api/v1/agent/ws", get(ws::agent_ws))
        .merge(widget)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `state.shutdown` is cancelled, then stops accepting, lets in-flight requests
/// finish (live sockets close themselves with 1001) and returns.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let shutdown = state.shutdown.clone();
    // Chat frames are small: send them at once instead of letting Nagle's algorithm wait for an
    // ACK (up to 40 ms with delayed ACKs on the other side).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
