//! Server-rendered pages: first-run setup, login, logout, the agent inbox shell, the demo shop, and
//! the static assets (agent UI script and styles, the widget script).
//!
//! Everything customer-written reaches the page only through the agent UI script, which puts it in
//! the DOM as text (`textContent`), never as HTML; the Content-Security-Policy forbids inline
//! scripts as a second wall.

use axum::{
    Form,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use layan_core::Role;
use layan_engine::{EngineError, SESSION_LIFETIME_MS, auth};
use layan_store::NewInbox;
use serde::Deserialize;

use crate::{
    AppState,
    auth::{ClientIp, SESSION_COOKIE, cookie, session_from_headers},
    error::ApiError,
};

const FORM_CSRF_COOKIE: &str = "layan_form_csrf";
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const WIDGET_JS: &str = include_str!("../../../widget/widget.js");

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Layan</title><link rel=\"stylesheet\" href=\"/assets/app.css\"><link rel=\"icon\" href=\"/favicon.svg\"></head>\
         <body class=\"auth\">{body}</body></html>",
        escape(title)
    )
}

pub(crate) fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_s: i64,
    same_site: &str,
) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_s}{secure}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A form page with a fresh double-submit CSRF token (cookie + hidden field).
fn form_page(state: &AppState, status: StatusCode, title: &str, inner: &str) -> Response {
    let token = auth::random_token();
    let body = inner.replace("{csrf}", &token);
    let mut res = (status, Html(page(title, &body))).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, FORM_CSRF_COOKIE, &token, 3600, "Strict"),
    );
    res
}

fn form_csrf_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, FORM_CSRF_COOKIE)
        .is_some_and(|c| !c.is_empty() && auth::constant_time_eq(c, sent))
}

fn login_form(error: Option<&str>, email: &str) -> String {
    let error = error
        .map(|e| format!("<p class=\"form-error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "<main class=\"auth-card\"><div class=\"brand\"><span class=\"logo\">L</span> Layan</div>\
         <h1>Sign in to your inbox</h1>{error}\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\
         <label>Email<input type=\"email\" name=\"email\" autocomplete=\"username\" required autofocus value=\"{}\"></label>\
         <label>Password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\" class=\"primary\">Sign in</button></form></main>",
        escape(email)
    )
}

pub async fn root() -> Redirect {
    Redirect::to("/app")
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if session_from_headers(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/app").into_response());
    }
    if state.engine.store().agent_count().await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    Ok(form_page(
        &state,
        StatusCode::OK,
        "Sign in",
        &login_form(None, ""),
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(form_page(
            &state,
            StatusCode::FORBIDDEN,
            "Sign in",
            &login_form(Some("Your form expired. Please try again."), &form.email),
        ));
    }
    match state.engine.login(&form.email, &form.password, ip).await {
        Ok(login) => Ok(start_session(&state, &headers, &login.token).await),
        Err(EngineError::InvalidCredentials) => Ok(form_page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &login_form(Some("Wrong email or password."), &form.email),
        )),
        Err(e @ (EngineError::Locked { .. } | EngineError::RateLimited { .. })) => {
            // The same words for known and unknown addresses: a lockout reveals nothing.
            let minutes = match e {
                EngineError::Locked { until } => (until - layan_core::now_millis()) / 60_000 + 1,
                EngineError::RateLimited { retry_after_s } => (retry_after_s / 60 + 1) as i64,
                _ => 15,
            };
            let text = format!("Too many failed sign-ins. Try again in {minutes} minutes.");
            Ok(form_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                "Sign in",
                &login_form(Some(&text), &form.email),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets the new session cookie (a fresh token on every login) and ends the old session, if any.
async fn start_session(state: &AppState, headers: &HeaderMap, token: &str) -> Response {
    if let Some(old) = cookie(headers, SESSION_COOKIE)
        && let Err(e) = state.engine.logout(old).await
    {
        tracing::warn!(error = %e, "could not end the previous session");
    }
    let mut res = Redirect::to("/app").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(
            state,
            SESSION_COOKIE,
            token,
            SESSION_LIFETIME_MS / 1000,
            "Lax",
        ),
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, FORM_CSRF_COOKIE, "", 0, "Strict"),
    );
    res
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, ApiError> {
    if let Some(session) = session_from_headers(&state, &headers).await? {
        if !auth::constant_time_eq(&form.csrf, &session.csrf_token) {
            return Err(ApiError::forbidden("missing or wrong CSRF token"));
        }
        if let Some(token) = cookie(&headers, SESSION_COOKIE) {
            state.engine.logout(token).await?;
        }
        state
            .engine
            .audit(Some(&session.agent), "logout", None, None, ip)
            .await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, SESSION_COOKIE, "", 0, "Lax"),
    );
    Ok(res)
}

fn setup_form(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"form-error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "<main class=\"auth-card\"><div class=\"brand\"><span class=\"logo\">L</span> Layan</div>\
         <h1>Welcome! Set up your shop</h1><p class=\"muted\">Create the first administrator account. \
         You can invite your team afterwards.</p>{error}\
         <form method=\"post\" action=\"/setup\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\
         <label>Shop name<input name=\"shop\" required maxlength=\"120\" placeholder=\"Toko Sari\"></label>\
         <label>Your name<input name=\"name\" required maxlength=\"120\" autocomplete=\"name\"></label>\
         <label>Email<input type=\"email\" name=\"email\" required autocomplete=\"username\"></label>\
         <label>Password (at least 10 characters)<input type=\"password\" name=\"password\" minlength=\"10\" required autocomplete=\"new-password\"></label>\
         <button type=\"submit\" class=\"primary\">Create account</button></form></main>"
    )
}

pub async fn setup_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.engine.store().agent_count().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(form_page(
        &state,
        StatusCode::OK,
        "Set up",
        &setup_form(None),
    ))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    shop: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn setup_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, ApiError> {
    if state.engine.store().agent_count().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(form_page(
            &state,
            StatusCode::FORBIDDEN,
            "Set up",
            &setup_form(Some("Your form expired. Please try again.")),
        ));
    }
    let shop = match layan_core::PersonName::parse(&form.shop) {
        Ok(s) => s,
        Err(_) => {
            return Ok(form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Set up",
                &setup_form(Some("Give your shop a name (1-120 characters).")),
            ));
        }
    };
    match state
        .engine
        .create_agent(&form.email, &form.name, Role::Admin, &form.password)
        .await
    {
        Ok(_) => {}
        Err(EngineError::Invalid(e)) => {
            return Ok(form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Set up",
                &setup_form(Some(&e.message)),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    ensure_default_inbox(&state, shop.as_str()).await?;
    let login = state.engine.login(&form.email, &form.password, ip).await?;
    Ok(start_session(&state, &headers, &login.token).await)
}

/// Creates the website chat inbox on first run, so the widget works straight away.
pub async fn ensure_default_inbox(state: &AppState, shop: &str) -> Result<(), ApiError> {
    if state.engine.store().list_inboxes().await?.is_empty() {
        state
            .engine
            .store()
            .create_inbox(NewInbox {
                name: shop,
                widget_key: &auth::random_key("lw_"),
                greeting: "Hi! How can we help you today?",
                color: "#1f6feb",
            })
            .await?;
    }
    Ok(())
}

pub async fn app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(session) = session_from_headers(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    // The shell; app.js translates every `data-i18n` text into the agent's language.
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"csrf-token\" content=\"{csrf}\">\
         <title>Inbox · Layan</title><link rel=\"stylesheet\" href=\"/assets/app.css\"><link rel=\"icon\" href=\"/favicon.svg\">\
         <script src=\"/assets/app.js\" defer></script></head><body class=\"app\">\
         <header class=\"topbar\"><div class=\"brand\"><span class=\"logo\">L</span> Layan</div>\
         <div class=\"topbar-right\"><span id=\"conn\" class=\"conn\" title=\"Live connection\" data-i18n=\"connecting\">connecting…</span>\
         <button id=\"notify-btn\" class=\"ghost\" hidden data-i18n=\"enableNotifications\">Enable notifications</button>\
         <button id=\"bell\" class=\"ghost bell\" aria-label=\"Notifications\">🔔 <span class=\"count\" id=\"bell-count\"></span></button>\
         <button id=\"away-btn\" class=\"ghost presence\" data-i18n=\"online\">Online</button>\
         <select id=\"lang-select\" aria-label=\"Language\"><option value=\"en\">English</option><option value=\"id\">Bahasa Indonesia</option>\
         <option value=\"th\">ไทย</option><option value=\"nl\">Nederlands</option></select>\
         <button id=\"settings-btn\" class=\"ghost\" data-i18n=\"settings\">Settings</button>\
         <span class=\"me\">{name}</span>\
         <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button class=\"ghost\" type=\"submit\" data-i18n=\"signOut\">Sign out</button></form></div></header>\
         <div class=\"layout\"><aside class=\"sidebar\">\
         <nav class=\"filters\" aria-label=\"Views\">\
         <button data-view=\"mine\"><span data-i18n=\"mine\">Mine</span> <span class=\"count\" id=\"count-mine\"></span></button>\
         <button data-view=\"unassigned\"><span data-i18n=\"unassigned\">Unassigned</span> <span class=\"count\" id=\"count-unassigned\"></span></button>\
         <button data-view=\"team\"><span data-i18n=\"myTeam\">My team</span> <span class=\"count\" id=\"count-team\"></span></button>\
         <button data-view=\"all\" class=\"active\"><span data-i18n=\"all\">All</span> <span class=\"count\" id=\"count-all\"></span></button></nav>\
         <div class=\"list-tools\"><input id=\"search\" type=\"search\" placeholder=\"Search\" aria-label=\"Search conversations\" maxlength=\"200\"></div>\
         <div class=\"list-tools\"><select id=\"status-filter\" aria-label=\"Status\"><option value=\"open\">open</option><option value=\"pending\">pending</option>\
         <option value=\"snoozed\">snoozed</option><option value=\"resolved\">resolved</option><option value=\"closed\">closed</option><option value=\"all\">all</option></select>\
         <select id=\"sort\" aria-label=\"Sort\"><option value=\"recent\" data-i18n=\"newest\">Newest</option><option value=\"waiting\" data-i18n=\"longestWaiting\">Longest waiting</option></select>\
         <select id=\"label-filter\" aria-label=\"Label\"><option value=\"\">#</option></select>\
         <select id=\"priority-filter\" aria-label=\"Priority\"><option value=\"\">!</option><option value=\"urgent\">urgent</option>\
         <option value=\"high\">high</option><option value=\"medium\">medium</option><option value=\"low\">low</option></select></div>\
         <div id=\"bulk\" class=\"bulk\" hidden><span id=\"bulk-count\"></span>\
         <button class=\"ghost\" data-bulk=\"resolve\" data-i18n=\"resolve\">Resolve</button>\
         <button class=\"ghost\" data-bulk=\"assign\" data-i18n=\"assignToMe\">Assign to me</button>\
         <button class=\"ghost\" data-bulk=\"label\" data-i18n=\"addLabel\">Label</button></div>\
         <ul id=\"conversations\" class=\"conv-list\" aria-live=\"polite\"></ul></aside>\
         <main id=\"conversation\" class=\"conversation empty\"><div class=\"placeholder\">\
         <h2 data-i18n=\"selectConversation\">Select a conversation</h2><p data-i18n=\"newChatsAppear\">New chats appear on the left the moment a shopper writes.</p></div></main>\
         </div><dialog id=\"settings\"></dialog><dialog id=\"notifications\"></dialog></body></html>",
        csrf = escape(&session.csrf_token),
        name = escape(&session.agent.name),
        lang = session.agent.locale.as_str(),
    );
    Ok(Html(html).into_response())
}

/// A demo shop page with the widget embedded, as a shop would do it (demo mode only).
/// `?as=sari`: the demo shopper Sari Lestari is signed in at the shop.
#[derive(serde::Deserialize)]
pub struct DemoQuery {
    #[serde(rename = "as")]
    pub signed_in: Option<String>,
    /// Any value: the inbox where the answer bot answers.
    pub bot: Option<String>,
}

pub async fn demo_page(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<DemoQuery>,
) -> Result<Response, ApiError> {
    if !state.config.demo {
        return Err(ApiError::not_found("page"));
    }
    let inboxes = state.engine.store().list_inboxes().await?;
    // `?bot=1`: the inbox where the answer bot answers first.
    let bot_inboxes = if q.bot.is_some() {
        state.engine.bot_settings().await?.inboxes
    } else {
        Vec::new()
    };
    let inbox = match bot_inboxes.first() {
        Some(id) => inboxes.iter().find(|i| i.id.0 == *id),
        None => inboxes.first(),
    };
    let Some(inbox) = inbox else {
        return Err(ApiError::not_found("inbox"));
    };
    let bot_param = if q.bot.is_some() { "&amp;bot=1" } else { "" };
    // As a shop's server would do for its signed-in customer: sign who she is for the widget.
    let identity = match (
        q.signed_in.as_deref(),
        state.config.widget_identity_secret.as_deref(),
    ) {
        (Some("sari"), Some(secret)) => Some(layan_engine::identity::sign_identity(
            secret,
            "sari.lestari@example.co.id",
            Some("Sari Lestari"),
            layan_core::now_millis() / 1000 + 3600,
        )),
        _ => None,
    };
    let bot_only = if q.bot.is_some() { "?bot=1" } else { "" };
    let account = match &identity {
        Some(_) => format!(
            "<p class=\"account\">Signed in as <b>Sari Lestari</b> · <a href=\"/demo{bot_only}\">sign out</a></p>"
        ),
        None => format!(
            "<p class=\"account\"><a href=\"/demo?as=sari{bot_param}\">Sign in as Sari Lestari</a> (a customer with orders)</p>"
        ),
    };
    let switch = if q.bot.is_some() {
        "<p class=\"account\">Sekar, the answer bot, answers first here · <a href=\"/demo\">the shop without the bot</a></p>"
    } else {
        "<p class=\"account\"><a href=\"/demo?bot=1\">The same shop with the answer bot</a> (ask where your order is, in any of four languages)</p>"
    };
    let identity_attr = identity
        .map(|t| format!(" data-identity=\"{}\"", escape(&t)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{shop} — demo shop</title><link rel=\"stylesheet\" href=\"/assets/app.css\"><link rel=\"icon\" href=\"/favicon.svg\"></head>\
         <body class=\"shop\"><header class=\"shop-head\"><strong>{shop}</strong><nav>Batik · Tenun · Sale</nav></header>\
         <main class=\"shop-main\"><h1>Handmade batik, shipped across Indonesia, Thailand and the Netherlands</h1>\
         <p>This is Layan's demo shop. Open the chat at the bottom right and write something; then answer \
         it from the <a href=\"/app\" target=\"_blank\">agent inbox</a>.</p>{account}{switch}\
         <div class=\"products\"><div class=\"product\"><div class=\"ph\">🧵</div><h3>Batik Parang shirt</h3><p>Rp 349.000</p></div>\
         <div class=\"product\"><div class=\"ph\">🧣</div><h3>Tenun scarf</h3><p>Rp 189.000</p></div>\
         <div class=\"product\"><div class=\"ph\">👜</div><h3>Songket tote</h3><p>Rp 259.000</p></div></div>\
         <p class=\"muted\">Embed code: <code>&lt;script src=\"/widget.js\" data-inbox=\"{key}\" async&gt;&lt;/script&gt;</code></p></main>\
         <script src=\"/widget.js\" data-inbox=\"{key}\"{identity_attr} async></script></body></html>",
        shop = escape(&inbox.name),
        key = escape(&inbox.widget_key),
    );
    Ok(Html(html).into_response())
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

pub async fn favicon() -> Response {
    asset(
        "image/svg+xml",
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='8' fill='#1f6feb'/><text x='16' y='23' font-size='20' text-anchor='middle' fill='#fff' font-family='sans-serif' font-weight='700'>L</text></svg>",
    )
}

pub async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

pub async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

pub async fn widget_js() -> Response {
    let mut res = asset("text/javascript; charset=utf-8", WIDGET_JS);
    // Shops load this from their own pages.
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<img src=x onerror=\"alert('x')\">&"),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
    }
}
