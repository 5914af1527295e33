//! Test helpers: a real server on port 0 with a fresh data directory, an agent client that logs in
//! through the real login form, and WebSocket helpers.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use layan::{Running, Settings};
use layan_core::Role;
use layan_store::NewInbox;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message, client::IntoClientRequest},
};

pub const PASSWORD: &str = "correct-horse-battery";
pub const KEY: &str = "lw_test_key";

pub struct TestApp {
    pub running: Running,
    pub site: Site,
    pub dir: tempfile::TempDir,
    /// The database it runs on (for commands run against it).
    pub database_url: String,
}

impl std::ops::Deref for TestApp {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

/// A client of one running server.
pub struct Site {
    pub base: String,
    pub http: reqwest::Client,
    /// The widget key of the inbox visitors write to.
    pub key: String,
}

impl Site {
    pub fn new(base: &str) -> Self {
        Self::with_key(base, KEY)
    }

    pub fn with_key(base: &str, key: &str) -> Self {
        Self {
            key: key.to_owned(),
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }
}

/// The Shopify webhook secret test servers are started with.
pub const SHOPIFY_SECRET: &str = "shpss_test_secret";
/// The widget identity secret test servers are started with.
pub const IDENTITY_SECRET: &str = "identity_test_secret";
/// The WooCommerce webhook secret test servers are started with.
pub const WOO_SECRET: &str = "wc_test_secret";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// As [`spawn_app`], with settings changed by `tweak` first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = layan_store::testing::selected();
    let (_, url) = layan_store::testing::fresh(backend, dir.path())
        .await
        .expect("LAYAN_TEST_DATABASE=postgres needs a reachable PostgreSQL");
    let settings = Settings {
        data: dir.path().to_path_buf(),
        database_url: Some(url.clone().into()),
        // Tests do not need power-cut durability; the crash test uses the default.
        sqlite_fsync: false,
        // Offline release after one second, so routing tests do not wait a minute.
        offline_grace_seconds: 1,
        shopify_webhook_secret: Some(SHOPIFY_SECRET.to_owned().into()),
        woocommerce_webhook_secret: Some(WOO_SECRET.to_owned().into()),
        widget_identity_secret: Some(IDENTITY_SECRET.to_owned().into()),
        phone_country: Some("ID".into()),
        shopify_shop_domain: Some("batik-sari.myshopify.com".into()),
        // Proactive rules look for orders every second.
        proactive_sweep_seconds: 1,
        email_poll_seconds: 1,
        // The mail servers and API stand-ins run on this machine.
        outbound_allow: vec!["127.0.0.1".into(), "::1".into()],
        ..Settings::default()
    };
    let mut settings = settings;
    tweak(&mut settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = layan::start(&settings, listener, false)
        .await
        .expect("start");
    let engine = &running.engine;
    engine
        .create_agent("ana@shop.test", "Ana", Role::Admin, PASSWORD)
        .await
        .expect("admin");
    let budi = engine
        .create_agent("budi@shop.test", "Budi", Role::Agent, PASSWORD)
        .await
        .expect("agent");
    let inbox = engine
        .store()
        .create_inbox(NewInbox {
            name: "Test shop",
            widget_key: KEY,
            greeting: "Halo!",
            color: "#123456",
        })
        .await
        .expect("inbox");
    // Budi works the shop's inbox (an agent sees only the inboxes they are a member of).
    engine
        .store()
        .set_inbox_members(inbox.id, &[budi.id])
        .await
        .expect("membership");
    let site = Site::new(&format!("http://{}", running.addr));
    TestApp {
        running,
        site,
        dir,
        database_url: url,
    }
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The value of `name="..." value="..."` in a page.
pub fn attr_after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    // Whichever of `value="` and `content="` comes first after the marker.
    let v = [rest.find("value=\""), rest.find("content=\"")]
        .into_iter()
        .flatten()
        .min()?;
    let rest = &rest[v..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_owned())
}

/// An agent logged in through the real form.
pub struct Agent {
    pub cookie: String,
    pub csrf: String,
    pub base: String,
    pub http: reqwest::Client,
}

impl Site {
    pub async fn login(&self, email: &str) -> Agent {
        self.try_login(email, PASSWORD).await.expect("login")
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Result<Agent, reqwest::Response> {
        let page = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .expect("login page");
        let form_cookie = set_cookie(&page, "layan_form_csrf").expect("form csrf cookie");
        let html = page.text().await.expect("html");
        let csrf = attr_after(&html, "name=\"csrf\"").expect("csrf field");
        let res = self
            .http
            .post(format!("{}/login", self.base))
            .header("cookie", format!("layan_form_csrf={form_cookie}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("login post");
        let Some(cookie) = set_cookie(&res, "layan_session").filter(|c| !c.is_empty()) else {
            return Err(res);
        };
        let app = self
            .http
            .get(format!("{}/app", self.base))
            .header("cookie", format!("layan_session={cookie}"))
            .send()
            .await
            .expect("app");
        let html = app.text().await.expect("app html");
        let csrf = attr_after(&html, "name=\"csrf-token\"").expect("csrf meta");
        Ok(Agent {
            cookie,
            csrf,
            base: self.base.clone(),
            http: self.http.clone(),
        })
    }

    /// Starts a widget session; returns the visitor token.
    pub async fn visitor(&self) -> String {
        let res: Value = self
            .http
            .post(format!("{}/api/v1/widget/session", self.base))
            .json(&json!({"key": self.key}))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        res["token"].as_str().expect("token").to_owned()
    }

    pub async fn visitor_send(
        &self,
        token: &str,
        body: &str,
        client_id: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/widget/messages", self.base))
            .header("x-layan-inbox", &self.key)
            .bearer_auth(token)
            .json(&json!({"body": body, "client_message_id": client_id}))
            .send()
            .await
            .expect("send")
    }

    /// "Leave a message": the offline form's name, email and text.
    pub async fn visitor_leaves_message(
        &self,
        token: &str,
        name: &str,
        email: &str,
        body: &str,
        client_id: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/widget/offline-messages", self.base))
            .header("x-layan-inbox", &self.key)
            .bearer_auth(token)
            .json(&json!({"name": name, "email": email, "body": body, "client_message_id": client_id}))
            .send()
            .await
            .expect("offline message")
    }

    pub async fn visitor_messages(&self, token: &str, conversation: i64) -> reqwest::Response {
        self.http
            .get(format!(
                "{}/api/v1/widget/conversations/{conversation}/messages",
                self.base
            ))
            .header("x-layan-inbox", &self.key)
            .bearer_auth(token)
            .send()
            .await
            .expect("messages")
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replace("http://", "ws://"), path)
    }
}

impl Agent {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("layan_session={}", self.cookie))
            .send()
            .await
            .expect("get")
    }

    /// Any method, with the session cookie and CSRF header, and a JSON body when given.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", format!("layan_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request")
    }

    pub async fn json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("json")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("layan_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("post")
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn ws_connect(url: &str, cookie: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = url.into_client_request()?;
    if let Some(c) = cookie {
        req.headers_mut().insert(
            "cookie",
            format!("layan_session={c}").parse().expect("header"),
        );
    }
    connect_async(req).await.map(|(ws, _)| ws)
}

pub async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("ws send");
}

/// The next JSON text frame, within 5 s.
pub async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("frame within 5 s")
            .expect("stream open")
            .expect("frame ok");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json frame");
        }
    }
}

/// Frames until one of `ty` arrives (others are returned too, in order).
pub async fn ws_until(ws: &mut Ws, ty: &str) -> (Value, Vec<Value>) {
    let mut seen = Vec::new();
    loop {
        let f = ws_next(ws).await;
        if f["type"] == ty {
            return (f, seen);
        }
        seen.push(f);
    }
}

/// Asserts no frame of type `ty` arrives within `ms`.
pub async fn ws_quiet(ws: &mut Ws, ty: &str, ms: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("json");
            assert_ne!(v["type"], ty, "unexpected frame {v}");
        }
    }
}

/// The `X-Shopify-Hmac-Sha256` of a body.
pub fn sign(body: &[u8], secret: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Delivers a Shopify webhook (signed with the test secret unless `signature` is given; an
/// empty one sends none); returns the status and the JSON answer.
pub async fn deliver(
    app: &TestApp,
    topic: &str,
    event: &str,
    body: &Value,
    signature: Option<String>,
) -> (u16, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    let mut req = app
        .http
        .post(format!("{}/api/v1/webhooks/shopify", app.base))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-event-id", event)
        .header("x-shopify-shop-domain", "batik-sari.myshopify.com");
    if let Some(s) = signature
        .or_else(|| Some(sign(&raw, SHOPIFY_SECRET)))
        .filter(|s| !s.is_empty())
    {
        req = req.header("x-shopify-hmac-sha256", s);
    }
    let res = req.body(raw).send().await.expect("webhook delivery");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
