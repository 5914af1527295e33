//! The HTTP API against a real server: the chat round trip, idempotent retries, permissions, and
//! every kind of bad input the foundation promises to refuse clearly.

mod common;

use common::*;
use serde_json::{Value, json};

async fn code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("error body is JSON");
    (
        status,
        body["error"]["code"]
            .as_str()
            .expect("error.code")
            .to_owned(),
    )
}

#[tokio::test]
async fn widget_to_agent_and_back() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let res = app
        .visitor_send(&token, "Pesanan saya belum sampai", "c-1")
        .await;
    assert_eq!(res.status(), 201);
    let sent: Value = res.json().await.unwrap();
    let conv = sent["conversation"]["id"].as_i64().unwrap();
    assert_eq!(sent["message"]["seq"], 1);
    assert_eq!(sent["conversation"]["number"], 1001);

    let agent = app.login("budi@shop.test").await;
    let list: Value = agent
        .get("/api/v1/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["last_message"]["body"], "Pesanan saya belum sampai");
    assert_eq!(list[0]["status"], "open");

    let reply = agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "Saya cek dulu ya", "client_message_id": "r-1"}),
        )
        .await;
    assert_eq!(reply.status(), 201);
    let note = agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "secret: VIP", "private": true}),
        )
        .await;
    assert_eq!(note.status(), 201);

    // The reply assigned the conversation to Budi.
    let c: Value = agent
        .get(&format!("/api/v1/conversations/{conv}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["assignee_name"], "Budi");
    assert!(c["waiting_since"].is_null(), "answered");

    let seen: Value = app
        .visitor_messages(&token, conv)
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<_> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        bodies,
        vec!["Pesanan saya belum sampai", "Saya cek dulu ya"],
        "notes never reach the shopper"
    );
    assert_eq!(seen[1]["author_name"], "Budi");

    let all: Value = agent
        .get(&format!("/api/v1/conversations/{conv}/messages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3, "agents see the note");
}

#[tokio::test]
async fn retried_sends_are_stored_once() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let first: Value = app
        .visitor_send(&token, "hello", "same-id")
        .await
        .json()
        .await
        .unwrap();
    let retry = app.visitor_send(&token, "hello", "same-id").await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["message"]["id"], first["message"]["id"]);
    let conv = first["conversation"]["id"].as_i64().unwrap();
    let msgs: Value = app
        .visitor_messages(&token, conv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(msgs.as_array().unwrap().len(), 1);

    let agent = app.login("ana@shop.test").await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let a = agent
        .post(&path, json!({"body": "hi", "client_message_id": "agent-1"}))
        .await;
    let b = agent
        .post(&path, json!({"body": "hi", "client_message_id": "agent-1"}))
        .await;
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (201, 200));
    let all: Value = agent.get(&path).await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn resolve_and_reopen_when_the_customer_writes_again() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let sent: Value = app
        .visitor_send(&token, "one", "a")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation"]["id"].as_i64().unwrap();
    let agent = app.login("ana@shop.test").await;
    let r: Value = agent
        .post(
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "resolved"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "resolved");
    let open: Value = agent
        .get("/api/v1/conversations?status=open")
        .await
        .json()
        .await
        .unwrap();
    assert!(open.as_array().unwrap().is_empty());

    let again: Value = app
        .visitor_send(&token, "two", "b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["conversation"]["id"].as_i64(),
        Some(conv),
        "same ticket"
    );
    assert_eq!(again["conversation"]["status"], "open");
    let msgs: Value = app
        .visitor_messages(&token, conv)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .any(|m| m["direction"] == "system"),
        "the shopper sees it was resolved"
    );

    let bad = agent
        .post(
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(code(bad).await, (422, "invalid_status".into()));
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let url = format!("{}/api/v1/widget/messages", app.base);
    let post = |body: Vec<u8>| {
        app.http
            .post(&url)
            .header("x-layan-inbox", KEY)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    assert_eq!(
        code(post(b"{\"body\": ".to_vec()).await.unwrap()).await,
        (400, "malformed_json".into())
    );
    assert_eq!(
        code(post(b"[1,2]".to_vec()).await.unwrap()).await,
        (422, "invalid_body".into())
    );
    // Invalid UTF-8 inside a JSON string.
    let mut invalid = b"{\"body\": \"".to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    invalid.extend_from_slice(b"\"}");
    assert_eq!(
        code(post(invalid).await.unwrap()).await,
        (400, "malformed_json".into())
    );
    assert_eq!(
        code(app.visitor_send(&token, "   ", "e").await).await,
        (422, "empty_message".into())
    );
    let long = "a".repeat(10_001);
    assert_eq!(
        code(app.visitor_send(&token, &long, "l").await).await,
        (413, "message_too_long".into())
    );
    let huge = json!({"body": "x".repeat(70_000)}).to_string().into_bytes();
    assert_eq!(
        code(post(huge).await.unwrap()).await,
        (413, "payload_too_large".into())
    );
    let wrong_type = app
        .http
        .post(&url)
        .header("x-layan-inbox", KEY)
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(wrong_type).await,
        (415, "unsupported_media_type".into())
    );
    assert_eq!(
        code(app.visitor_send(&token, "x", "bad id!").await).await,
        (422, "invalid_client_message_id".into())
    );

    // Unknown inbox key, unknown visitor token.
    let unknown = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(unknown).await, (404, "unknown_inbox".into()));
    let forged = app
        .http
        .post(&url)
        .header("x-layan-inbox", KEY)
        .bearer_auth("forged")
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(forged).await, (401, "unknown_visitor".into()));
    let no_key = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(no_key).await, (400, "missing_inbox_key".into()));

    // Nothing of the refused input was stored.
    let agent = app.login("ana@shop.test").await;
    let list: Value = agent
        .get("/api/v1/conversations?status=all")
        .await
        .json()
        .await
        .unwrap();
    assert!(list.as_array().unwrap().is_empty(), "{list}");

    // Unknown conversation id, unknown route.
    assert_eq!(
        code(agent.get("/api/v1/conversations/999").await).await,
        (404, "not_found".into())
    );
    assert_eq!(
        code(
            agent
                .post("/api/v1/conversations/999/messages", json!({"body": "x"}))
                .await
        )
        .await,
        (404, "not_found".into())
    );
    assert_eq!(
        code(agent.get("/api/v1/nope").await).await,
        (404, "not_found".into())
    );
    assert_eq!(
        code(agent.get("/api/v1/conversations?status=weird").await).await,
        (400, "invalid_status".into())
    );
}

#[tokio::test]
async fn a_visitor_cannot_read_another_visitors_conversation() {
    let app = spawn_app().await;
    let alice = app.visitor().await;
    let mallory = app.visitor().await;
    let sent: Value = app
        .visitor_send(&alice, "my address is Jl. Merdeka 1", "a1")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation"]["id"].as_i64().unwrap();
    let res = app.visitor_messages(&mallory, conv).await;
    assert_eq!(code(res).await, (404, "not_found".into()));
    assert_eq!(app.visitor_messages(&alice, conv).await.status(), 200);
    // A new session with Alice's token is Alice; without it, a new anonymous visitor.
    let again: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "token": alice}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["conversation"]["id"].as_i64(), Some(conv));
    let fresh: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "token": "guessed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fresh["conversation"].is_null());
    assert_ne!(fresh["token"], "guessed");
}

#[tokio::test]
async fn agents_need_a_session_and_csrf_token() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(format!("{}/api/v1/conversations", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (401, "unauthenticated".into()));

    let agent = app.login("budi@shop.test").await;
    let no_csrf = app
        .http
        .post(format!("{}/api/v1/conversations/1/status", app.base))
        .header("cookie", format!("layan_session={}", agent.cookie))
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(no_csrf).await, (403, "forbidden".into()));

    // Agents (not admins) cannot change inboxes.
    let res = agent
        .http
        .patch(format!("{}/api/v1/inboxes/1", app.base))
        .header("cookie", format!("layan_session={}", agent.cookie))
        .header("x-csrf-token", &agent.csrf)
        .json(&json!({"greeting": "hacked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (403, "forbidden".into()));

    // Wrong password and unknown email look the same.
    let wrong = app
        .try_login("budi@shop.test", "not-the-password")
        .await
        .err()
        .expect("refused");
    let unknown = app
        .try_login("nobody@shop.test", "not-the-password")
        .await
        .err()
        .expect("refused");
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(a.contains("Wrong email or password.") && b.contains("Wrong email or password."));

    // A login form posted without its CSRF cookie is refused.
    let res = app
        .http
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", "x"),
            ("email", "budi@shop.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn admins_edit_the_widget_and_bad_values_are_refused() {
    let app = spawn_app().await;
    let admin = app.login("ana@shop.test").await;
    let patch = |body: Value| {
        admin
            .http
            .patch(format!("{}/api/v1/inboxes/1", app.base))
            .header("cookie", format!("layan_session={}", admin.cookie))
            .header("x-csrf-token", &admin.csrf)
            .json(&body)
            .send()
    };
    let ok: Value = patch(json!({"greeting": "Selamat datang!", "color": "#aa3300"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["greeting"], "Selamat datang!");
    assert_eq!(
        code(patch(json!({"color": "red"})).await.unwrap()).await,
        (422, "invalid_color".into())
    );
    let session: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["inbox"]["greeting"], "Selamat datang!");
}

#[tokio::test]
async fn health_and_openapi() {
    let app = spawn_app().await;
    let h: Value = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/widget/session",
        "/api/v1/widget/messages",
        "/api/v1/widget/offline-messages",
        "/api/v1/widget/conversations/{id}/messages",
        "/api/v1/conversations",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{id}/status",
        "/api/v1/conversations/{id}/assignee",
        "/api/v1/inboxes/{id}",
        "/api/v1/me",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn offline_messages_remember_the_shopper() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let url = format!("{}/api/v1/widget/offline-messages", app.base);
    let bad = app
        .http
        .post(&url)
        .header("x-layan-inbox", KEY)
        .bearer_auth(&token)
        .json(&json!({"name": "Sari", "email": "not-an-email", "body": "halo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(bad).await, (422, "invalid_email".into()));
    let ok = app.http.post(&url).header("x-layan-inbox", KEY).bearer_auth(&token)
        .json(&json!({"name": "Sari", "email": "sari@example.co.id", "body": "Tolong hubungi saya", "client_message_id": "o1"})).send().await.unwrap();
    assert_eq!(ok.status(), 201);
    let agent = app.login("ana@shop.test").await;
    let list: Value = agent
        .get("/api/v1/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["contact_name"], "Sari");
    assert_eq!(list[0]["contact_email"], "sari@example.co.id");
    assert_eq!(list[0]["last_message"]["body"], "Tolong hubungi saya");
}

#[tokio::test]
async fn pages_render_and_escape() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(format!("{}/app", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the inbox needs a login");
    let login = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        login.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let widget = app
        .http
        .get(format!("{}/widget.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(widget.status(), 200);
    assert!(widget.text().await.unwrap().contains("attachShadow"));
    // Setup is closed once an admin exists.
    let setup = app
        .http
        .get(format!("{}/setup", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 303);
    // The demo page exists only in demo mode.
    assert_eq!(
        app.http
            .get(format!("{}/demo", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn metrics_count_requests_sockets_and_messages() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    app.visitor_send(&token, "halo", "m-1").await;
    app.http
        .get(format!("{}/api/v1/nope", app.base))
        .send()
        .await
        .unwrap();
    let mut ws = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut ws,
        json!({"type": "hello", "key": KEY, "token": token}),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "ready");
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    };
    assert_eq!(value("layan_messages_stored_total"), 1.0);
    assert_eq!(value("layan_websocket_connections{kind=\"widget\"}"), 1.0);
    assert!(value("layan_http_responses_total{class=\"4xx\"}") >= 1.0);
    assert!(value("layan_http_responses_total{class=\"2xx\"}") >= 2.0);
    assert!(value("layan_http_request_duration_seconds_count") >= 3.0);
}

/// Agent pages and API answers are never cached (`no-store`), the help center's pages keep their
/// own caching; a body over the limit answers 413 in the JSON error format on every endpoint,
/// raw-body webhooks too (whose own limit is 1 MiB, for orders with many lines).
#[tokio::test]
async fn answers_are_not_cached_and_every_413_is_json() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let res = ana.get("/api/v1/conversations").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = ana.get("/app").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = app
        .http
        .get(format!("{}/assets/app.js", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let res = app
        .http
        .post(format!("{}/api/v1/webhooks/shopify", app.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

/// Slow clients cannot hold connections: headers not sent in time close the connection, a body
/// that stalls is answered 408, and one address holds at most `max_connections_per_ip`
/// connections (more are closed at once; the slots come back when those close).
#[tokio::test]
async fn slow_clients_are_cut_off_and_one_address_holds_few_connections() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app_with(|s| {
        s.http_timeout_seconds = 1;
        s.max_connections_per_ip = 4;
    })
    .await;
    let addr = app.running.addr;
    // Reads what the server sends until it closes (or 5 s pass: then the test fails).
    async fn until_closed(tcp: &mut tokio::net::TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&got).into_owned(),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Err(_) => panic!("still open after 5 s: {:?}", String::from_utf8_lossy(&got)),
            }
        }
    }
    // Half a request's headers, then nothing: closed after the timeout.
    let started = std::time::Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut slow).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // A body that stops half-way: 408.
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /api/v1/widget/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"key\":",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // A connection that sends nothing at all is closed by the same timeout.
    let quiet = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let answer = until_closed(&mut silent).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(quiet.elapsed() < Duration::from_secs(4));

    // WebSockets count for their address as long as they are open.
    let mut sockets = Vec::new();
    for _ in 0..4 {
        sockets.push(
            ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
                .await
                .unwrap(),
        );
    }
    let mut over = tokio::net::TcpStream::connect(addr).await.unwrap();
    over.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .ok();
    assert_eq!(
        until_closed(&mut over).await,
        "",
        "a fifth connection while four sockets are open"
    );
    drop(sockets);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Four idle connections from this address are all it may hold: the fifth is closed at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut fifth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let quick = std::time::Instant::now();
    fifth
        .write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .ok();
    assert_eq!(
        until_closed(&mut fifth).await,
        "",
        "closed without an answer"
    );
    assert!(
        quick.elapsed() < Duration::from_millis(900),
        "at once, not by the timeout"
    );
    // The idle ones time out; their slots come back.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The public endpoints have limits: new chat sessions per address, messages per visitor (over
/// HTTP and over the socket, where the widget is told when to send again), offline-form
/// messages per address, sockets per visitor. Each answers 429 with `Retry-After` (or an error
/// frame saying when), stores nothing, and other visitors are not affected.
#[tokio::test]
async fn public_endpoints_answer_429_with_retry_after_past_their_limits() {
    let app = spawn_app_with(|s| {
        s.widget_sessions_per_hour = 3;
        s.widget_messages_per_minute = 2;
        s.widget_offline_per_hour = 1;
        s.widget_sockets_per_visitor = 2;
    })
    .await;
    let a = app.visitor().await;
    let _b = app.visitor().await;
    let _c = app.visitor().await;
    let res = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    // A made-up token starts a new visitor too: counted the same.
    let res = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "token": "made-up-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    // A returning visitor (with a token) is not a new session.
    let res = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "token": a}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Two messages a minute for visitor a: the third is refused and not stored.
    for i in 0..2 {
        let res = app
            .visitor_send(&a, &format!("hello {i}"), &format!("m-{i}"))
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = app.visitor_send(&a, "one too many", "m-2").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    // Over the socket too: an error frame naming the message and when to try again.
    let mut ws = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(&mut ws, json!({"type": "hello", "key": KEY, "token": a})).await;
    let (ready, _) = ws_until(&mut ws, "ready").await;
    let conv = ready["conversation"]["id"].as_i64().unwrap();
    ws_send(
        &mut ws,
        json!({"type": "send", "client_message_id": "m-3", "body": "still too many"}),
    )
    .await;
    let (err, _) = ws_until(&mut ws, "error").await;
    assert_eq!(err["code"], "rate_limited");
    assert_eq!(err["client_message_id"], "m-3");
    assert!(err["retry_after"].as_u64().unwrap() >= 1);
    let stored: Value = app.visitor_messages(&a, conv).await.json().await.unwrap();
    let bodies: Vec<&str> = stored
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "incoming")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec!["hello 0", "hello 1"],
        "nothing over the limit stored"
    );

    // A second socket for the same visitor is fine; a third is closed.
    let mut second = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut second,
        json!({"type": "hello", "key": KEY, "token": a}),
    )
    .await;
    ws_until(&mut second, "ready").await;
    let mut third = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(&mut third, json!({"type": "hello", "key": KEY, "token": a})).await;
    let (err, _) = ws_until(&mut third, "error").await;
    assert_eq!(err["code"], "rate_limited");

    // One offline message an hour from this address.
    for (token, id, status) in [(&_b, "o-1", 201), (&_c, "o-2", 429)] {
        let res = app
            .visitor_leaves_message(token, "Rina", "rina@example.test", "halo", id)
            .await;
        assert_eq!(res.status(), status, "{id}");
    }
}
