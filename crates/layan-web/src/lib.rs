//! Layan's web layer: the only crate that knows HTTP, cookies, WebSockets and JSON framing.
//! Handlers parse input into domain types, call the engine, and turn results into responses.

pub mod admin;
pub mod api;
pub mod auth;
pub mod bot;
pub mod contacts;
pub mod dto;
pub mod email;
pub mod error;
pub mod help;
pub mod kb;
pub mod limits;
pub mod metrics;
pub mod orders;
pub mod policy;
pub mod ui;
pub mod ws;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, Method, header},
    routing::{delete, get, patch, post, put},
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
/// The largest webhook body a store may send (an order with hundreds of lines).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// What the web layer needs to know from the settings.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub cookie_secure: bool,
    /// Take the caller's address from `X-Forwarded-For` (behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// Serve the demo shop page at `/demo`.
    pub demo: bool,
    /// The Shopify webhook signing secret; `None`: the webhook endpoint is off.
    pub shopify_webhook_secret: Option<String>,
    /// The WooCommerce webhook secret; `None`: the webhook endpoint is off.
    pub woocommerce_webhook_secret: Option<String>,
    /// The secret shops sign widget identities with; `None`: identities are refused.
    pub widget_identity_secret: Option<String>,
    /// Local phone numbers (`0812…`) are read as this country's.
    pub phone_country: Option<layan_core::PhoneCountry>,
    /// The Shopify shop served (`your-shop.myshopify.com`, lower case): privacy webhooks for
    /// another shop are refused, products link to it. `None`: privacy webhooks are refused.
    pub shopify_shop_domain: Option<String>,
    /// Time to send a request's headers, longest pause in a body, idle keep-alive.
    pub http_timeout: std::time::Duration,
    /// Open connections per client IP address; 0: no limit.
    pub max_connections_per_ip: u32,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("cookie_secure", &self.cookie_secure)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("demo", &self.demo)
            .field("phone_country", &self.phone_country.map(|c| c.iso))
            .field(
                "shopify_webhook_secret",
                &self.shopify_webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "woocommerce_webhook_secret",
                &self
                    .woocommerce_webhook_secret
                    .as_ref()
                    .map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<WebConfig>,
    /// Cancelled on shutdown: live sockets close with 1001, the server stops accepting.
    pub shutdown: CancellationToken,
    pub metrics: Arc<metrics::Metrics>,
    /// Limits on the public endpoints (see `limits.rs`).
    pub limits: Arc<limits::Limits>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Layan API", description = "Customer service for online stores. Errors are always `{\"error\":{\"code\",\"message\"}}` with a stable snake_case code."),
    paths(
        api::widget_session, api::widget_messages, api::widget_send, api::widget_offline,
        admin::me, admin::update_me, admin::change_password, admin::agents, admin::create_agent, admin::set_active,
        admin::update_agent, admin::reset_password, admin::inboxes, admin::update_inbox,
        admin::inbox_members, admin::set_inbox_members, admin::teams, admin::create_team,
        admin::set_team_members, admin::tokens, admin::create_token, admin::revoke_token, admin::audit,
        admin::jobs, admin::retry_job,
        api::conversations, api::counts, api::conversation, api::conversation_messages, api::reply,
        api::set_status, api::set_assignee, api::set_team, api::set_priority, api::add_label,
        api::remove_label, api::merge, api::mark_read, api::bulk, api::labels, api::contacts,
        api::canned_list, api::canned_create, api::canned_update, api::canned_delete, api::canned_render,
        api::notifications, api::notifications_read, healthz,
        help::widget_search, help::widget_article,
        kb::categories, kb::create_category, kb::update_category, kb::delete_category, kb::articles,
        kb::create_article, kb::article, kb::update_article, kb::delete_article, kb::put_translation,
        kb::delete_translation, kb::search, policy::get_policy, policy::put_policy,
        policy::widget_policy, bot::get_settings, bot::put_settings, bot::get_hours, bot::put_hours,
        bot::try_sentence, bot::intents, bot::stats, orders::shopify_webhook, orders::woocommerce_webhook, orders::conversation_orders,
        contacts::profile, contacts::conversation_contact, contacts::edit, contacts::add_identity,
        contacts::remove_identity, contacts::duplicates, contacts::merge, contacts::export,
        contacts::erase, contacts::get_rules, contacts::put_rules, orders::order_action,
        orders::products, email::create, email::get_settings, email::put_settings,
        email::fetch_now, email::inbound, email::inbound_raw, email::reprocess,
        email::conversation_emails, email::attachment, email::upload,
    ),
    tags((name = "widget", description = "Called by the chat widget on the shop's pages: `X-Layan-Inbox` and `Authorization: Bearer <visitor token>` headers."),
         (name = "conversations", description = "Agent inbox; session cookie plus `X-CSRF-Token` on changes, or `Authorization: Bearer lyt_…` (a personal API token). An agent sees only the conversations of the inboxes they work (admins and supervisors: all); anything else is 404."))
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
        .route("/api/v1/widget/help/search", get(help::widget_search))
        .route(
            "/api/v1/widget/help/articles/{slug}",
            get(help::widget_article),
        )
        .route("/api/v1/widget/help/policy", get(policy::widget_policy))
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
        .route("/api/v1/me", get(admin::me).patch(admin::update_me))
        .route("/api/v1/me/password", post(admin::change_password))
        .route(
            "/api/v1/agents",
            get(admin::agents).post(admin::create_agent),
        )
        .route("/api/v1/agents/{id}", patch(admin::update_agent))
        .route("/api/v1/agents/{id}/password", post(admin::reset_password))
        .route("/api/v1/agents/{id}/active", put(admin::set_active))
        .route("/api/v1/inboxes", get(admin::inboxes))
        .route("/api/v1/inboxes/{id}", patch(admin::update_inbox))
        .route(
            "/api/v1/inboxes/{id}/members",
            get(admin::inbox_members).put(admin::set_inbox_members),
        )
        .route("/api/v1/teams", get(admin::teams).post(admin::create_team))
        .route("/api/v1/teams/{id}/members", put(admin::set_team_members))
        .route(
            "/api/v1/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
        .route("/api/v1/audit", get(admin::audit))
        .route("/api/v1/jobs", get(admin::jobs))
        .route("/api/v1/jobs/{id}/retry", post(admin::retry_job))
        .route("/api/v1/labels", get(api::labels))
        .route("/api/v1/contacts", get(api::contacts))
        .route(
            "/api/v1/contacts/{id}",
            get(contacts::profile).patch(contacts::edit),
        )
        .route(
            "/api/v1/contacts/{id}/identities",
            post(contacts::add_identity),
        )
        .route(
            "/api/v1/contacts/{id}/identities/{kind}/{value}",
            delete(contacts::remove_identity),
        )
        .route(
            "/api/v1/contacts/{id}/duplicates",
            get(contacts::duplicates),
        )
        .route("/api/v1/contacts/{id}/merge", post(contacts::merge))
        .route("/api/v1/contacts/{id}/export", get(contacts::export))
        .route("/api/v1/contacts/{id}/erase", post(contacts::erase))
        .route(
            "/api/v1/conversations/{id}/contact",
            get(contacts::conversation_contact),
        )
        .route(
            "/api/v1/conversations/{id}/orders/{order_id}/actions",
            post(orders::order_action),
        )
        .route("/api/v1/products", get(orders::products))
        .route("/api/v1/bot", get(bot::get_settings).put(bot::put_settings))
        .route("/api/v1/bot/try", post(bot::try_sentence))
        .route("/api/v1/bot/intents", get(bot::intents))
        .route("/api/v1/bot/stats", get(bot::stats))
        .route(
            "/api/v1/business-hours",
            get(bot::get_hours).put(bot::put_hours),
        )
        .route("/api/v1/email-inboxes", post(email::create))
        .route(
            "/api/v1/inboxes/{id}/email",
            get(email::get_settings).put(email::put_settings),
        )
        .route("/api/v1/inboxes/{id}/email/fetch", post(email::fetch_now))
        .route("/api/v1/inbound-emails", get(email::inbound))
        .route("/api/v1/inbound-emails/{id}/raw", get(email::inbound_raw))
        .route(
            "/api/v1/inbound-emails/{id}/reprocess",
            post(email::reprocess),
        )
        .route(
            "/api/v1/conversations/{id}/emails",
            get(email::conversation_emails),
        )
        .route("/api/v1/attachments/{id}", get(email::attachment))
        .route(
            "/api/v1/conversations/{id}/attachments",
            // A file is larger than the API's usual 64 KiB (base64 would make it larger still).
            post(email::upload).layer(DefaultBodyLimit::max(
                layan_engine::email::MAX_UPLOAD_BYTES + 1,
            )),
        )
        .route(
            "/api/v1/proactive",
            get(contacts::get_rules).put(contacts::put_rules),
        )
        .route(
            "/api/v1/canned",
            get(api::canned_list).post(api::canned_create),
        )
        .route(
            "/api/v1/canned/{id}",
            put(api::canned_update).delete(api::canned_delete),
        )
        .route("/api/v1/notifications", get(api::notifications))
        .route("/api/v1/notifications/read", post(api::notifications_read))
        .route("/api/v1/conversations", get(api::conversations))
        .route("/api/v1/conversations/counts", get(api::counts))
        .route("/api/v1/conversations/bulk", post(api::bulk))
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
        .route("/api/v1/conversations/{id}/team", post(api::set_team))
        .route(
            "/api/v1/conversations/{id}/priority",
            post(api::set_priority),
        )
        .route("/api/v1/conversations/{id}/labels", post(api::add_label))
        .route(
            "/api/v1/conversations/{id}/labels/{label}",
            delete(api::remove_label),
        )
        .route("/api/v1/conversations/{id}/merge", post(api::merge))
        .route("/api/v1/conversations/{id}/read", post(api::mark_read))
        .route(
            "/api/v1/conversations/{id}/canned/{shortcut}",
            get(api::canned_render),
        )
        .route("/api/v1/agent/ws", get(ws::agent_ws))
        .route("/help", get(help::help_root))
        .route("/help/{locale}", get(help::help_home))
        .route("/help/{locale}/search", get(help::help_search))
        .route("/help/{locale}/shipping-returns", get(policy::policy_page))
        .route("/help/{locale}/c/{slug}", get(help::help_category))
        .route("/help/{locale}/a/{slug}", get(help::help_article))
        .route("/help/{locale}/a/{slug}/vote", post(help::help_vote))
        .route("/assets/help.css", get(help::help_css))
        .route(
            "/api/v1/kb/categories",
            get(kb::categories).post(kb::create_category),
        )
        .route(
            "/api/v1/kb/categories/{id}",
            put(kb::update_category).delete(kb::delete_category),
        )
        .route(
            "/api/v1/kb/articles",
            get(kb::articles).post(kb::create_article),
        )
        .route(
            "/api/v1/kb/articles/{id}",
            get(kb::article)
                .put(kb::update_article)
                .delete(kb::delete_article),
        )
        .route(
            "/api/v1/kb/articles/{id}/translations/{locale}",
            put(kb::put_translation).delete(kb::delete_translation),
        )
        .route("/api/v1/kb/search", get(kb::search))
        // A store's order with many lines is larger than an API request: 1 MiB for webhooks.
        .route(
            "/api/v1/webhooks/shopify",
            post(orders::shopify_webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .route(
            "/api/v1/webhooks/woocommerce",
            post(orders::woocommerce_webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .route(
            "/api/v1/conversations/{id}/orders",
            get(orders::conversation_orders),
        )
        .route(
            "/api/v1/policies/shipping",
            get(policy::get_policy).put(policy::put_policy),
        )
        .merge(widget)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_413))
        // Agent pages and API answers hold customers' data: never kept by a browser or proxy
        // (assets, the widget script and the help center set their own caching).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
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

/// A body over the limit refused by an extractor other than JSON's (raw webhook bodies,
/// uploads) answers in the one JSON error format too.
async fn json_413(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !json {
        return error::payload_too_large().into_response();
    }
    res
}

/// Serves until `state.shutdown` is cancelled, then stops accepting, lets in-flight requests
/// finish (live sockets close themselves with 1001) and returns. Each connection must send its
/// request headers within `http_timeout` (which also closes idle kept-alive connections) and
/// may pause at most that long within a body; one IP address holds at most
/// `max_connections_per_ip` connections at once (a slow-client attack needs many).
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;
    let shutdown = state.shutdown.clone();
    let timeout = state.config.http_timeout;
    let per_ip = limits::OpenCount::new(state.config.max_connections_per_ip);
    let app = router(state).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(timeout));
    // HTTP/1.1 only (a reverse proxy speaks it to us; WebSockets upgrade from it): every byte a
    // client sends before its headers are complete is under the header timeout, which also
    // closes an idle kept-alive connection.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(true);
    // Every connection task holds a sender; when all are gone, every connection has finished.
    let (running, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        let (tcp, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_ip.take(limits::client_key(addr.ip())) else {
            tracing::debug!(ip = %addr.ip(), "too many connections from one address; closed");
            continue;
        };
        // The slot goes with each request too: a connection that becomes a WebSocket keeps
        // counting for its address as long as the socket lives.
        let slot = std::sync::Arc::new(slot);
        // Chat frames are small: send them at once instead of letting Nagle's algorithm wait
        // for an ACK (up to 40 ms with delayed ACKs on the other side).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let request_slot = slot.clone();
        let service =
            app.clone()
                .map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(addr));
                    req.extensions_mut().insert(request_slot.clone());
                    req
                });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = builder
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let (stop, running) = (shutdown.clone(), running.clone());
        tokio::spawn(async move {
            let _running = running;
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop.cancelled() => {
                    // Let the request in flight finish, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(running);
    let _ = all_done.recv().await;
    Ok(())
}

/// One open connection counted against its address (an IPv6 address: its /64); held by the
/// connection and, for a WebSocket, by the socket.
pub type ConnectionSlot = limits::OpenSlot<std::net::IpAddr>;
