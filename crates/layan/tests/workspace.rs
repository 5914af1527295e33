//! The agent workspace against a real server: who sees what (a permission matrix over roles and
//! inboxes, over HTTP, search and WebSocket), login throttling, password changes, API tokens,
//! the audit log, ticket work (snooze, merge, labels, bulk), routing, mentions, canned
//! responses and the automatic acknowledgement. Runs on SQLite and on PostgreSQL.

// Helpers outside `#[test]` functions unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use layan_core::{InboxId, Role};
use layan_store::NewInbox;
use serde_json::{Value, json};

/// Two inboxes: the test shop (A: Budi) and a second shop (B: Nok); Sari supervises; Ana admins.
struct World {
    app: TestApp,
    b: Site,
    inbox_a: InboxId,
    inbox_b: InboxId,
}

async fn world() -> World {
    let app = spawn_app().await;
    let engine = &app.running.engine;
    let store = engine.store();
    let nok = engine
        .create_agent("nok@shop.test", "Nok Srisuk", Role::Agent, PASSWORD)
        .await
        .unwrap();
    engine
        .create_agent("sari@shop.test", "Sari", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    let inbox_b = store
        .create_inbox(NewInbox {
            name: "Second shop",
            widget_key: "lw_second",
            greeting: "Hi",
            color: "#000000",
        })
        .await
        .unwrap();
    store
        .set_inbox_members(inbox_b.id, &[nok.id])
        .await
        .unwrap();
    let inbox_a = store.inbox_by_widget_key(KEY).await.unwrap().unwrap().id;
    let b = Site::with_key(&app.base, "lw_second");
    World {
        app,
        b,
        inbox_a,
        inbox_b: inbox_b.id,
    }
}

/// A visitor writes in the site's inbox; returns (visitor token, conversation id).
async fn customer(site: &Site, text: &str) -> (String, i64) {
    let token = site.visitor().await;
    let res = site.visitor_send(&token, text, &uuid()).await;
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    (token, v["conversation"]["id"].as_i64().unwrap())
}

fn uuid() -> String {
    format!("t-{}", rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn permission_matrix_over_roles_and_inboxes() {
    let w = world().await;
    let (_, conv_a) = customer(&w.app, "order A1 is late").await;
    let (_, conv_b) = customer(&w.b, "order B1 is late").await;
    // (who, sees A, sees B)
    let who = [
        ("ana@shop.test", true, true),
        ("sari@shop.test", true, true),
        ("budi@shop.test", true, false),
        ("nok@shop.test", false, true),
    ];
    for (email, sees_a, sees_b) in who {
        let agent = w.app.login(email).await;
        for (conv, visible, word) in [(conv_a, sees_a, "A1"), (conv_b, sees_b, "B1")] {
            let expect = |ok: u16| if visible { ok } else { 404 };
            let c = format!("/api/v1/conversations/{conv}");
            let checks: Vec<(&str, String, Option<Value>, u16)> = vec![
                ("GET", c.clone(), None, 200),
                ("GET", format!("{c}/messages"), None, 200),
                (
                    "POST",
                    format!("{c}/messages"),
                    Some(json!({"body": "note", "private": true})),
                    201,
                ),
                (
                    "POST",
                    format!("{c}/priority"),
                    Some(json!({"priority": "high"})),
                    200,
                ),
                (
                    "POST",
                    format!("{c}/labels"),
                    Some(json!({"label": "vip"})),
                    200,
                ),
                ("DELETE", format!("{c}/labels/vip"), None, 200),
                ("POST", format!("{c}/read"), Some(json!({"seq": 1})), 204),
                (
                    "POST",
                    format!("{c}/team"),
                    Some(json!({"team_id": null})),
                    200,
                ),
                (
                    "POST",
                    format!("{c}/assignee"),
                    Some(json!({"agent_id": null})),
                    200,
                ),
                (
                    "POST",
                    format!("{c}/status"),
                    Some(json!({"status": "pending"})),
                    200,
                ),
                (
                    "POST",
                    format!("{c}/status"),
                    Some(json!({"status": "open"})),
                    200,
                ),
                ("GET", format!("{c}/canned/nothing"), None, 404),
                (
                    "POST",
                    format!("{c}/merge"),
                    Some(json!({"into": conv})),
                    409,
                ),
            ];
            for (method, path, body, ok) in checks {
                let res = agent.call(method, &path, body).await;
                let want = if ok == 404 { 404 } else { expect(ok) };
                assert_eq!(res.status().as_u16(), want, "{email} {method} {path}");
            }
            // Lists and search only show what the agent may see.
            let list = agent.json("/api/v1/conversations?status=all").await;
            let ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids.contains(&conv), visible, "{email} list");
            let found = agent
                .json(&format!("/api/v1/conversations?status=all&q={word}"))
                .await;
            assert_eq!(
                found.as_array().unwrap().len(),
                usize::from(visible),
                "{email} search {word}"
            );
            let inbox = if word == "A1" { w.inbox_a } else { w.inbox_b };
            let in_inbox = agent
                .json(&format!(
                    "/api/v1/conversations?status=all&inbox_id={inbox}"
                ))
                .await;
            assert_eq!(
                !in_inbox.as_array().unwrap().is_empty(),
                visible,
                "{email} inbox filter"
            );
        }
        let inboxes = agent.json("/api/v1/inboxes").await;
        assert_eq!(
            inboxes.as_array().unwrap().len(),
            usize::from(sees_a) + usize::from(sees_b),
            "{email} inboxes"
        );
    }
    // Bulk actions fail one by one for what is not visible.
    let budi = w.app.login("budi@shop.test").await;
    let res: Value = budi
        .post(
            "/api/v1/conversations/bulk",
            json!({"ids": [conv_a, conv_b], "action": "resolve"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["done"], json!([conv_a]));
    assert_eq!(res["failed"][0]["id"], conv_b);
    assert_eq!(res["failed"][0]["code"], "not_found");
    // Budi cannot assign B's conversation, nor give A's to Nok (not a member of A).
    let nok_id = w.app.login("nok@shop.test").await.json("/api/v1/me").await["agent"]["id"].clone();
    let res = budi
        .post(
            &format!("/api/v1/conversations/{conv_a}/assignee"),
            json!({"agent_id": nok_id}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (409, "assignee_not_in_inbox".to_owned())
    );
    // Labels are listed only from conversations the agent may see.
    budi.post(
        &format!("/api/v1/conversations/{conv_a}/labels"),
        json!({"label": "only-a"}),
    )
    .await;
    let nok = w.app.login("nok@shop.test").await;
    let labels = nok.json("/api/v1/labels").await.to_string();
    assert!(!labels.contains("only-a"), "{labels}");
    assert!(
        budi.json("/api/v1/labels")
            .await
            .to_string()
            .contains("only-a")
    );
    // Admin-only actions are refused to others.
    let res = budi.call("GET", "/api/v1/audit", None).await;
    assert_eq!(res.status(), 403);
    let res = budi
        .call(
            "PATCH",
            &format!("/api/v1/inboxes/{}", w.inbox_a),
            Some(json!({"auto_ack": true})),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = budi
        .call("PATCH", "/api/v1/me", Some(json!({"role": "admin"})))
        .await;
    assert_eq!(res.status(), 403, "no promoting oneself");
}

#[tokio::test]
async fn websocket_subscriptions_follow_permissions_and_membership_changes() {
    let w = world().await;
    let (_, conv_b) = customer(&w.b, "first in B").await;
    let budi = w.app.login("budi@shop.test").await;
    let mut ws = ws_connect(&w.app.ws_url("/api/v1/agent/ws"), Some(&budi.cookie))
        .await
        .unwrap();
    ws_until(&mut ws, "hello").await;
    // Following B's conversation is refused like an unknown one.
    ws_send(
        &mut ws,
        json!({"type": "follow", "conversation_id": conv_b, "after_seq": 0}),
    )
    .await;
    let (err, _) = ws_until(&mut ws, "error").await;
    assert_eq!(err["code"], "not_found");
    // B's traffic does not reach Budi.
    customer(&w.b, "second in B").await;
    ws_quiet(&mut ws, "conversation", 500).await;
    // An admin adds Budi to B: his live connection picks it up without reconnecting.
    let ana = w.app.login("ana@shop.test").await;
    let budi_id = budi.json("/api/v1/me").await["agent"]["id"].clone();
    let nok_id = w.app.login("nok@shop.test").await.json("/api/v1/me").await["agent"]["id"].clone();
    let res = ana
        .call(
            "PUT",
            &format!("/api/v1/inboxes/{}/members", w.inbox_b),
            Some(json!({"agent_ids": [budi_id, nok_id]})),
        )
        .await;
    assert_eq!(res.status(), 204);
    ws_until(&mut ws, "access").await;
    customer(&w.b, "third in B").await;
    let (frame, _) = ws_until(&mut ws, "conversation").await;
    assert_eq!(frame["new_message"]["body"], "third in B");
    // The audit log recorded the change.
    let audit = ana.json("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "inbox_members_set")
    );
}

#[tokio::test]
async fn brute_force_login_locks_the_address_for_known_and_unknown_emails_alike() {
    let app = spawn_app().await;
    let mut last = Vec::new();
    for email in ["budi@shop.test", "nobody@shop.test"] {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let res = app
                .try_login(email, "wrong-password-here")
                .await
                .err()
                .expect("refused");
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses, vec![401, 401, 401, 401, 429], "{email}");
        // Locked: even the right password is refused now, with the same answer.
        let res = app.try_login(email, PASSWORD).await.err().expect("locked");
        assert_eq!(res.status(), 429);
        let text = res.text().await.unwrap();
        assert!(text.contains("Too many failed sign-ins"), "{text}");
        let alert = text
            .split("role=\"alert\">")
            .nth(1)
            .unwrap()
            .split("</p>")
            .next()
            .unwrap();
        last.push(alert.to_owned());
    }
    assert_eq!(
        last[0], last[1],
        "a lockout reveals nothing about the account"
    );
    // Others are not affected.
    app.login("ana@shop.test").await;
    let ana = app.login("ana@shop.test").await;
    let audit = ana.json("/api/v1/audit?limit=50").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"login_locked"));
    assert!(actions.contains(&"login_failed"));
    assert!(actions.contains(&"login"));
}

#[tokio::test]
async fn a_password_change_ends_every_session_and_live_connection() {
    let app = spawn_app().await;
    let first = app.login("budi@shop.test").await;
    let second = app.login("budi@shop.test").await;
    let mut ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&second.cookie))
        .await
        .unwrap();
    ws_until(&mut ws, "hello").await;
    let res = first
        .post(
            "/api/v1/me/password",
            json!({"current_password": "wrong", "new_password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(res.status(), 422, "the session is fine: not 401");
    let res = first
        .post(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = first
        .post(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert!(
        res.headers().get("set-cookie").is_some(),
        "this browser gets a new session"
    );
    assert_eq!(first.get("/api/v1/me").await.status(), 401);
    assert_eq!(second.get("/api/v1/me").await.status(), 401);
    // The other browser's socket is closed.
    use futures_util::StreamExt;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(c) = m {
                return c.map(|c| u16::from(c.code));
            }
        }
        None
    })
    .await
    .expect("closed in time");
    assert_eq!(closed, Some(4401));
    assert!(
        app.try_login("budi@shop.test", "a-new-long-password")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn api_tokens_work_without_csrf_and_stop_when_revoked() {
    let app = spawn_app().await;
    let (_, conv) = customer(&app, "token test").await;
    let budi = app.login("budi@shop.test").await;
    let created: Value = budi
        .post("/api/v1/tokens", json!({"name": "order sync script"}))
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("lyt_"));
    let listed = budi.json("/api/v1/tokens").await;
    assert!(
        !listed.to_string().contains(&token),
        "the secret is shown once only"
    );
    let res = app
        .http
        .post(format!("{}/api/v1/conversations/{conv}/messages", app.base))
        .bearer_auth(&token)
        .json(&json!({"body": "sent by a script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth("lyt_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (401, "invalid_token".to_owned()));
    let id = created["info"]["id"].as_i64().unwrap();
    assert_eq!(
        budi.call("DELETE", &format!("/api/v1/tokens/{id}"), None)
            .await
            .status(),
        204
    );
    let res = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn snooze_merge_labels_and_priority() {
    let w = world().await;
    let ana = w.app.login("ana@shop.test").await;
    let (token, conv) = customer(&w.app, "first question").await;
    let c = format!("/api/v1/conversations/{conv}");
    let now = layan_core::now_millis();
    let res = ana
        .post(
            &format!("{c}/status"),
            json!({"status": "snoozed", "until": now - 1000}),
        )
        .await;
    assert_eq!(error_code(res).await, (422, "snooze_in_past".to_owned()));
    let res = ana
        .post(&format!("{c}/status"), json!({"status": "snoozed"}))
        .await;
    assert_eq!(
        error_code(res).await,
        (422, "snooze_until_required".to_owned())
    );
    let res = ana
        .post(
            &format!("{c}/status"),
            json!({"status": "snoozed", "until": now + 1500}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "snoozed");
    // It wakes up by itself.
    let mut status = Value::Null;
    for _ in 0..40 {
        status = ana.json(&c).await["status"].clone();
        if status == "open" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, "open", "the snooze ended");

    // Labels and priority, and filters by them.
    ana.post(&format!("{c}/labels"), json!({"label": "Refund"}))
        .await;
    let res = ana
        .post(&format!("{c}/labels"), json!({"label": "bad,label"}))
        .await;
    assert_eq!(error_code(res).await, (422, "invalid_label".to_owned()));
    ana.post(&format!("{c}/priority"), json!({"priority": "urgent"}))
        .await;
    let res = ana
        .post(&format!("{c}/priority"), json!({"priority": "whenever"}))
        .await;
    assert_eq!(res.status(), 422);
    let by_label = ana.json("/api/v1/conversations?label=refund").await;
    assert_eq!(by_label[0]["id"], conv);
    assert_eq!(by_label[0]["labels"], json!(["refund"]));
    assert_eq!(
        ana.json("/api/v1/conversations?priority=urgent")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ana.json("/api/v1/conversations?priority=low")
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Merge: the same customer's second conversation (after closing the first).
    ana.post(&format!("{c}/status"), json!({"status": "closed"}))
        .await;
    let res = w
        .app
        .visitor_send(&token, "another question", "second-1")
        .await;
    let second = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    assert_ne!(second, conv);
    let (_, stranger) = customer(&w.app, "someone else").await;
    let res = ana
        .post(
            &format!("/api/v1/conversations/{second}/merge"),
            json!({"into": stranger}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (409, "different_customers".to_owned())
    );
    let res = ana
        .post(
            &format!("/api/v1/conversations/{second}/merge"),
            json!({"into": conv}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let merged = ana.json(&format!("/api/v1/conversations/{second}")).await;
    assert_eq!(merged["status"], "closed");
    assert_eq!(merged["merged_into_id"], conv);
    let survivor = ana.json(&c).await;
    assert_eq!(survivor["merged_from"][0]["id"], second);
    // History is kept on both sides, with notes saying what happened.
    let msgs = ana
        .json(&format!("/api/v1/conversations/{second}/messages"))
        .await;
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "another question")
    );
    // The customer's next message goes to the survivor, not a new conversation.
    let res = w.app.visitor_send(&token, "still there?", "third-1").await;
    let into = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    assert!(
        into == conv || into != second,
        "never the merged conversation"
    );
}

#[tokio::test]
async fn canned_responses_fill_variables_per_language_and_stay_text() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;
    // Shared responses need a supervisor or admin.
    let res = budi
        .post(
            "/api/v1/canned",
            json!({"shortcut": "hi", "title": "Hi", "body": "x", "shared": true}),
        )
        .await;
    assert_eq!(res.status(), 403);
    for (locale, body) in [
        (
            None,
            "Hi {{contact.first_name|there}}, {{agent.first_name}} here about {{conversation.number}}. {{order.nummer}}",
        ),
        (
            Some("id"),
            "Halo {{contact.first_name|Kak}}, saya {{agent.first_name}}.",
        ),
    ] {
        let res = ana
            .post("/api/v1/canned", json!({"shortcut": "/hi", "locale": locale, "title": "Greeting", "body": body, "shared": true}))
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = ana
        .post(
            "/api/v1/canned",
            json!({"shortcut": "hi", "title": "Again", "body": "dup", "shared": true}),
        )
        .await;
    assert_eq!(error_code(res).await, (409, "shortcut_taken".to_owned()));
    let res = ana
        .post(
            "/api/v1/canned",
            json!({"shortcut": "has space", "title": "x", "body": "x"}),
        )
        .await;
    assert_eq!(error_code(res).await, (422, "invalid_shortcut".to_owned()));

    // An anonymous English-speaking visitor.
    let (_, conv) = customer(&app, "hello").await;
    let r = budi
        .json(&format!("/api/v1/conversations/{conv}/canned/hi"))
        .await;
    assert_eq!(
        r["text"], "Hi there, Budi here about #1001. {{order.nummer}}",
        "unknown variables are shown as written"
    );
    // A named visitor who writes Indonesian, with a name that looks like a template and markup.
    let token = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "locale": "id-ID"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .http
        .post(format!("{}/api/v1/widget/offline-messages", app.base))
        .header("x-layan-inbox", KEY)
        .bearer_auth(&token)
        .json(&json!({"name": "{{agent.email}}<img src=x onerror=alert(1)>", "email": "x@example.com", "body": "halo"}))
        .send()
        .await
        .unwrap();
    let conv2 = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let r = budi
        .json(&format!("/api/v1/conversations/{conv2}/canned/hi"))
        .await;
    assert_eq!(r["canned"]["locale"], "id");
    assert_eq!(
        r["text"], "Halo {{agent.email}}<img, saya Budi.",
        "values are not expanded again"
    );
    // A personal response wins over the shared one for its owner only.
    budi.post(
        "/api/v1/canned",
        json!({"shortcut": "hi", "title": "Mine", "body": "Yo {{contact.first_name|friend}}"}),
    )
    .await;
    let r = budi
        .json(&format!("/api/v1/conversations/{conv}/canned/hi"))
        .await;
    assert_eq!(r["text"], "Yo friend");
    let r = ana
        .json(&format!("/api/v1/conversations/{conv}/canned/hi"))
        .await;
    assert!(r["text"].as_str().unwrap().starts_with("Hi there"));
}

#[tokio::test]
async fn routing_round_robin_least_loaded_capacity_and_offline_release() {
    let w = world().await;
    let ana = w.app.login("ana@shop.test").await;
    let inbox = format!("/api/v1/inboxes/{}", w.inbox_a);
    // Both Budi and Nok work inbox A; Nok has room for one conversation only.
    let budi = w.app.login("budi@shop.test").await;
    let nok = w.app.login("nok@shop.test").await;
    let budi_id = budi.json("/api/v1/me").await["agent"]["id"]
        .as_i64()
        .unwrap();
    let nok_id = nok.json("/api/v1/me").await["agent"]["id"]
        .as_i64()
        .unwrap();
    ana.call(
        "PUT",
        &format!("{inbox}/members"),
        Some(json!({"agent_ids": [budi_id, nok_id]})),
    )
    .await;
    nok.call("PATCH", "/api/v1/me", Some(json!({"capacity": 1})))
        .await;
    let res = ana
        .call("PATCH", &inbox, Some(json!({"auto_assign": "round_robin", "reassign_on_offline": true, "auto_ack": true, "response_minutes": 30})))
        .await;
    assert_eq!(res.status(), 200);
    let res = ana
        .call("PATCH", &inbox, Some(json!({"auto_assign": "sometimes"})))
        .await;
    assert_eq!(
        error_code(res).await,
        (422, "invalid_auto_assign".to_owned())
    );

    // Nobody online: conversations wait unassigned.
    let (_, waiting) = customer(&w.app, "anyone?").await;
    assert!(ana.json(&format!("/api/v1/conversations/{waiting}")).await["assignee_id"].is_null());

    // Both come online: the waiting one is routed, then new ones take turns until Nok is full.
    let mut budi_ws = ws_connect(&w.app.ws_url("/api/v1/agent/ws"), Some(&budi.cookie))
        .await
        .unwrap();
    ws_until(&mut budi_ws, "hello").await;
    let mut nok_ws = ws_connect(&w.app.ws_url("/api/v1/agent/ws"), Some(&nok.cookie))
        .await
        .unwrap();
    ws_until(&mut nok_ws, "hello").await;
    let mut assignees = Vec::new();
    for i in 0..4 {
        let (_, conv) = customer(&w.app, &format!("question {i}")).await;
        let mut a = Value::Null;
        for _ in 0..20 {
            a = ana.json(&format!("/api/v1/conversations/{conv}")).await["assignee_id"].clone();
            if !a.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assignees.push(a.as_i64().expect("assigned"));
    }
    let to_nok = assignees.iter().filter(|a| **a == nok_id).count();
    let routed_waiting =
        ana.json(&format!("/api/v1/conversations/{waiting}")).await["assignee_id"].as_i64();
    let nok_total = to_nok + usize::from(routed_waiting == Some(nok_id));
    assert_eq!(
        nok_total, 1,
        "Nok's capacity is one: {assignees:?} waiting→{routed_waiting:?}"
    );
    assert!(assignees.iter().all(|a| *a == budi_id || *a == nok_id));
    // The assignment reached Budi as a notification.
    let (n, _) = ws_until(&mut budi_ws, "notification").await;
    assert_eq!(n["notification"]["kind"], "assigned");

    // The first message was acknowledged with the ticket number.
    let msgs = ana
        .json(&format!("/api/v1/conversations/{waiting}/messages"))
        .await;
    let ack = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "bot")
        .expect("acknowledged");
    assert!(ack["body"].as_str().unwrap().contains("#1001"));
    assert!(ack["body"].as_str().unwrap().contains("30 minutes"));

    // Least-loaded: the next goes to whoever has fewer (Nok is full, so Budi).
    ana.call(
        "PATCH",
        &inbox,
        Some(json!({"auto_assign": "least_loaded"})),
    )
    .await;
    let (_, conv) = customer(&w.app, "least loaded please").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        ana.json(&format!("/api/v1/conversations/{conv}")).await["assignee_id"],
        budi_id
    );

    // Budi goes offline: after the grace period his open conversations return to the queue
    // (and Nok, at capacity, takes none of them).
    drop(budi_ws);
    let mut mine = usize::MAX;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        mine = budi
            .json("/api/v1/conversations?view=mine")
            .await
            .as_array()
            .unwrap()
            .len();
        if mine == 0 {
            break;
        }
    }
    assert_eq!(mine, 0, "released to the queue");
    let counts = ana.json("/api/v1/conversations/counts").await;
    assert!(counts["unassigned"].as_i64().unwrap() >= 1);
    drop(nok_ws);
}

#[tokio::test]
async fn mentions_notify_and_unread_counts_follow_reading() {
    let app = spawn_app().await;
    let engine = &app.running.engine;
    engine
        .create_agent("nok@shop.test", "Nok Srisuk", Role::Agent, PASSWORD)
        .await
        .unwrap();
    let (_, conv) = customer(&app, "where is my parcel").await;
    let budi = app.login("budi@shop.test").await;
    let ana = app.login("ana@shop.test").await;
    let counts = budi.json("/api/v1/conversations/counts").await;
    assert_eq!(counts["unread"], 1);
    assert_eq!(counts["unassigned"], 1);
    let list = budi.json("/api/v1/conversations").await;
    assert_eq!(list[0]["read_seq"], Value::Null);
    assert_eq!(list[0]["last_incoming_seq"], 1);
    budi.post(
        &format!("/api/v1/conversations/{conv}/read"),
        json!({"seq": 1}),
    )
    .await;
    assert_eq!(budi.json("/api/v1/conversations/counts").await["unread"], 0);
    assert_eq!(budi.json("/api/v1/conversations").await[0]["read_seq"], 1);

    // @budi in Ana's note notifies Budi; @nok does not (Nok cannot see this inbox).
    let mut ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&budi.cookie))
        .await
        .unwrap();
    ws_until(&mut ws, "hello").await;
    ana.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"body": "@budi can you check? cc @nok", "private": true}),
    )
    .await;
    let (n, _) = ws_until(&mut ws, "notification").await;
    assert_eq!(n["notification"]["kind"], "mention");
    assert_eq!(n["notification"]["conversation_number"], 1001);
    assert_eq!(n["notification"]["actor_name"], "Ana");
    let nok = app.login("nok@shop.test").await;
    assert_eq!(
        nok.json("/api/v1/notifications")
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let listed = budi.json("/api/v1/notifications").await;
    assert!(listed[0]["read_at"].is_null());
    budi.post("/api/v1/notifications/read", json!({})).await;
    assert!(!budi.json("/api/v1/notifications").await[0]["read_at"].is_null());
}

#[tokio::test]
async fn collisions_show_who_else_is_viewing_and_typing() {
    let app = spawn_app().await;
    let (_, conv) = customer(&app, "collide").await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;
    let mut a = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&ana.cookie))
        .await
        .unwrap();
    ws_until(&mut a, "hello").await;
    let mut b = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&budi.cookie))
        .await
        .unwrap();
    ws_until(&mut b, "hello").await;
    ws_send(
        &mut b,
        json!({"type": "follow", "conversation_id": conv, "after_seq": 0}),
    )
    .await;
    let (v, _) = ws_until(&mut a, "viewing").await;
    assert_eq!(v["name"], "Budi");
    assert_eq!(v["on"], true);
    ws_send(
        &mut b,
        json!({"type": "typing", "conversation_id": conv, "on": true}),
    )
    .await;
    let (t, _) = ws_until(&mut a, "typing").await;
    assert_eq!(t["who"]["name"], "Budi");
    // Ana opens it after Budi: she is told at once that Budi is there.
    ws_send(
        &mut a,
        json!({"type": "follow", "conversation_id": conv, "after_seq": 0}),
    )
    .await;
    let (v, _) = ws_until(&mut a, "viewing").await;
    assert_eq!(
        (v["name"].as_str(), v["on"].as_bool()),
        (Some("Budi"), Some(true))
    );
    ws_send(&mut b, json!({"type": "unfollow", "conversation_id": conv})).await;
    let (v, _) = ws_until(&mut a, "viewing").await;
    assert_eq!(v["on"], false);
}

#[tokio::test]
async fn admins_manage_people_and_teams() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let inbox = ana.json("/api/v1/inboxes").await[0]["id"].clone();
    let res = ana
        .post("/api/v1/agents", json!({"email": "dewi@shop.test", "name": "Dewi", "role": "supervisor", "password": PASSWORD, "inbox_ids": [inbox]}))
        .await;
    assert_eq!(res.status(), 201);
    let dewi: Value = res.json().await.unwrap();
    assert_eq!(dewi["role"], "supervisor");
    assert_eq!(dewi["presence"], "offline");
    let res = ana
        .post("/api/v1/agents", json!({"email": "dewi@shop.test", "name": "Dewi", "role": "agent", "password": PASSWORD}))
        .await;
    assert_eq!(error_code(res).await, (409, "email_taken".to_owned()));
    let res = ana
        .post(
            "/api/v1/agents",
            json!({"email": "x@shop.test", "name": "X", "role": "owner", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(res).await, (422, "invalid_role".to_owned()));
    let res = ana
        .post(
            "/api/v1/teams",
            json!({"name": "Billing", "agent_ids": [dewi["id"]]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let team: Value = res.json().await.unwrap();
    let res = ana.post("/api/v1/teams", json!({"name": "Billing"})).await;
    assert_eq!(error_code(res).await, (409, "team_name_taken".to_owned()));
    let (_, conv) = customer(&app, "invoice please").await;
    ana.post(
        &format!("/api/v1/conversations/{conv}/team"),
        json!({"team_id": team["id"]}),
    )
    .await;
    let dewi_session = app.login("dewi@shop.test").await;
    let mine = dewi_session.json("/api/v1/conversations?view=team").await;
    assert_eq!(mine[0]["id"], conv);
    assert_eq!(mine[0]["team_name"], "Billing");
    // Own language.
    let res = dewi_session
        .call("PATCH", "/api/v1/me", Some(json!({"locale": "th"})))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        dewi_session.json("/api/v1/me").await["agent"]["locale"],
        "th"
    );
    let res = dewi_session
        .call("PATCH", "/api/v1/me", Some(json!({"locale": "fr"})))
        .await;
    assert_eq!(res.status(), 422);
    // A role change takes effect at once and is audited.
    let id = dewi["id"].as_i64().unwrap();
    ana.call(
        "PATCH",
        &format!("/api/v1/agents/{id}"),
        Some(json!({"role": "agent"})),
    )
    .await;
    let audit = ana.json("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"role_changed")
            && actions.contains(&"agent_created")
            && actions.contains(&"team_created")
    );
}

#[tokio::test]
async fn follow_up_jobs_are_idempotent_and_failed_jobs_are_retryable() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let inbox = ana.json("/api/v1/inboxes").await[0]["id"].clone();
    ana.call(
        "PATCH",
        &format!("/api/v1/inboxes/{inbox}"),
        Some(json!({"auto_ack": true})),
    )
    .await;
    let (_, conv) = customer(&app, "halo").await;
    let acks = || async {
        ana.json(&format!("/api/v1/conversations/{conv}/messages"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "bot")
            .count()
    };
    let mut n = 0;
    for _ in 0..40 {
        n = acks().await;
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(n, 1, "acknowledged by the job");
    // The same follow-up delivered again (at least once): still one acknowledgement.
    let store = app.running.engine.store();
    let first = ana
        .json(&format!("/api/v1/conversations/{conv}/messages"))
        .await[0]["id"]
        .clone();
    store
        .enqueue_job(layan_store::NewJob {
            kind: layan_core::JOB_MESSAGE_FOLLOWUP,
            payload: &json!({"message_id": first}).to_string(),
            dedupe_key: None,
            run_at: layan_core::now_millis(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    app.running.engine.wake_jobs();
    let mut done = false;
    for _ in 0..40 {
        let jobs = ana.json("/api/v1/jobs?status=done").await;
        if jobs.as_array().unwrap().len() >= 2 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the repeated job ran");
    assert_eq!(acks().await, 1, "no second acknowledgement");

    // A job that cannot succeed ends as failed, is shown to admins and can be retried.
    store
        .enqueue_job(layan_store::NewJob {
            kind: "no.such.kind",
            payload: "{}",
            dedupe_key: Some("bad-1"),
            run_at: layan_core::now_millis(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    app.running.engine.wake_jobs();
    let mut failed = Value::Null;
    for _ in 0..40 {
        failed = ana.json("/api/v1/jobs?status=failed").await;
        if !failed.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed[0]["kind"], "no.such.kind");
    assert!(
        failed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("unknown job kind")
    );
    let budi = app.login("budi@shop.test").await;
    assert_eq!(budi.call("GET", "/api/v1/jobs", None).await.status(), 403);
    let id = failed[0]["id"].as_i64().unwrap();
    assert_eq!(
        budi.post(&format!("/api/v1/jobs/{id}/retry"), json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(
        ana.post(&format!("/api/v1/jobs/{id}/retry"), json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(
        ana.post("/api/v1/jobs/999999/retry", json!({}))
            .await
            .status(),
        404
    );
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("layan_jobs{status=\"failed\"}"),
        "{metrics}"
    );
    let failures: u64 = metrics
        .lines()
        .find(|l| l.starts_with("layan_job_failures_total "))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no failure counter in {metrics}"));
    assert!(failures >= 1);
}

/// Logging out closes that session's live sockets at once (4401): the agent's inbox in another
/// tab stops receiving conversations; another session of the same agent stays open.
#[tokio::test]
async fn logout_closes_the_sessions_sockets() {
    use futures_util::StreamExt;
    let app = spawn_app().await;
    let tab = app.login("budi@shop.test").await;
    let other = app.login("budi@shop.test").await;
    let mut ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&tab.cookie))
        .await
        .unwrap();
    ws_until(&mut ws, "hello").await;
    let mut other_ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&other.cookie))
        .await
        .unwrap();
    ws_until(&mut other_ws, "hello").await;
    let res = app
        .http
        .post(format!("{}/logout", app.base))
        .header("cookie", format!("layan_session={}", tab.cookie))
        .form(&[("csrf", tab.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    assert_eq!(tab.get("/api/v1/me").await.status(), 401);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(c) = m {
                return c.map(|c| u16::from(c.code));
            }
        }
        None
    })
    .await
    .expect("closed in time");
    assert_eq!(closed, Some(4401));
    // The other session's socket still works.
    ws_send(&mut other_ws, json!({"type": "ping"})).await;
    ws_until(&mut other_ws, "pong").await;
}

/// Guessing the current password through an open session is throttled like logins: after five
/// wrong tries the account is locked (429) — even the right password waits — and the login page
/// says the same.
#[tokio::test]
async fn wrong_current_passwords_on_password_change_lock_the_account() {
    let app = spawn_app().await;
    let budi = app.login("budi@shop.test").await;
    for i in 0..5 {
        let res = budi
            .post(
                "/api/v1/me/password",
                json!({"current_password": format!("guess-number-{i}"), "new_password": "a-new-long-password"}),
            )
            .await;
        let expected = if i < 4 { 422 } else { 429 };
        assert_eq!(res.status(), expected, "try {i}");
    }
    let res = budi
        .post(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "account_locked"
    );
    assert!(app.try_login("budi@shop.test", PASSWORD).await.is_err());
}

/// API tokens end with their owner's password unless marked to survive it (an integration's),
/// and every token, session and socket ends when an admin deactivates the account: it cannot
/// sign in, its open conversations go back to the queue, and it works again once activated.
/// Nobody but an admin deactivates, and an admin cannot deactivate themselves.
#[tokio::test]
async fn tokens_end_with_the_password_or_the_account_unless_marked_to_survive() {
    let app = spawn_app().await;
    let budi = app.login("budi@shop.test").await;
    let make = |survives: bool| {
        let budi = &budi;
        async move {
            let v: Value = budi
                .post(
                    "/api/v1/tokens",
                    json!({"name": format!("t{survives}"), "survives_password_change": survives,
                           "current_password": PASSWORD}),
                )
                .await
                .json()
                .await
                .unwrap();
            v["token"].as_str().unwrap().to_owned()
        }
    };
    // A surviving token needs the current password (a stolen session cannot make one).
    for body in [
        json!({"name": "x", "survives_password_change": true}),
        json!({"name": "x", "survives_password_change": true, "current_password": "wrong-one"}),
    ] {
        let res = budi.post("/api/v1/tokens", body).await;
        assert_eq!(res.status(), 422);
    }
    let plain = make(false).await;
    let kept = make(true).await;
    let me = |token: String| {
        let app = &app;
        async move {
            app.http
                .get(format!("{}/api/v1/me", app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(plain.clone()).await, 200);
    let listed = budi.json("/api/v1/tokens").await;
    assert_eq!(listed[1]["survives_password_change"], true, "{listed}");

    // The password changes: the plain token ends, the marked one works.
    let res = budi
        .post(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "a-new-long-password"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(me(plain.clone()).await, 401);
    assert_eq!(me(kept.clone()).await, 200);
    // An admin's reset (account recovery) ends every token, the marked one too.
    let budi = app
        .try_login("budi@shop.test", "a-new-long-password")
        .await
        .unwrap();
    let v: Value = budi
        .post("/api/v1/tokens", json!({"name": "later"}))
        .await
        .json()
        .await
        .unwrap();
    let later = v["token"].as_str().unwrap().to_owned();
    let ana = app.login("ana@shop.test").await;
    let budi_id = budi.json("/api/v1/me").await["agent"]["id"]
        .as_i64()
        .unwrap();
    let res = ana
        .post(
            &format!("/api/v1/agents/{budi_id}/password"),
            json!({"new_password": "another-long-password"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(me(later).await, 401);
    assert_eq!(me(kept.clone()).await, 401);

    // Deactivated: every token ends, even a marked one; sign-in is refused; the open
    // conversation assigned to him goes back to the queue and is not routed to him again,
    // nor can it be assigned to him.
    let budi = app
        .try_login("budi@shop.test", "another-long-password")
        .await
        .unwrap();
    let v: Value = budi
        .post(
            "/api/v1/tokens",
            json!({"name": "kept", "survives_password_change": true,
                   "current_password": "another-long-password"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let kept = v["token"].as_str().unwrap().to_owned();
    assert_eq!(me(kept.clone()).await, 200);
    let inbox = app.running.engine.store().list_inboxes().await.unwrap()[0].id;
    let res = ana
        .call(
            "PATCH",
            &format!("/api/v1/inboxes/{}", inbox.0),
            Some(json!({"auto_assign": "least_loaded"})),
        )
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let (_, conv) = customer(&app, "who answers me?").await;
    let res = ana
        .post(
            &format!("/api/v1/conversations/{conv}/assignee"),
            json!({"agent_id": budi_id}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let mut budi_ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&budi.cookie))
        .await
        .unwrap();
    ws_next(&mut budi_ws).await;
    // Only an admin, and not on themselves.
    let ana_id = ana.json("/api/v1/me").await["agent"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(set_active(&budi, ana_id, false).await.status(), 403);
    assert_eq!(set_active(&ana, ana_id, false).await.status(), 403);
    let res = set_active(&ana, budi_id, false).await;
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["deactivated_at"].is_i64());
    assert_eq!(me(kept.clone()).await, 401);
    assert_eq!(budi.get("/api/v1/me").await.status(), 401);
    use futures_util::StreamExt;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = budi_ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(c) = m {
                return c.map(|c| u16::from(c.code));
            }
        }
        None
    })
    .await
    .expect("closed in time");
    assert_eq!(closed, Some(4401));
    let c = ana.json(&format!("/api/v1/conversations/{conv}")).await;
    assert_eq!(c["assignee_id"], Value::Null, "{c}");
    let res = ana
        .post(
            &format!("/api/v1/conversations/{conv}/assignee"),
            json!({"agent_id": budi_id}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        app.try_login("budi@shop.test", "another-long-password")
            .await
            .is_err()
    );
    let agents = ana.json("/api/v1/agents").await;
    assert!(
        agents
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == budi_id && a["deactivated_at"].is_i64())
    );

    // Activated again: he signs in; the tokens stay gone.
    assert_eq!(set_active(&ana, budi_id, true).await.status(), 200);
    assert!(
        app.try_login("budi@shop.test", "another-long-password")
            .await
            .is_ok()
    );
    assert_eq!(me(kept).await, 401);
}

/// The secrets an admin saves — mail passwords, the reply-token secret, the language model's
/// key — are sealed in the database with the key file in the data directory (0600): the
/// database alone does not give them away. `layan secrets rotate` seals them with a new key
/// while the server runs (it reads the new key file), and a value stored in the clear before
/// sealing existed is sealed on the next pass.
#[tokio::test]
async fn stored_secrets_are_sealed_and_the_key_rotates_while_the_server_runs() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let res = ana
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "Mail", "settings": {
                "address": "help@shop.test", "from_name": "Toko",
                "imap": {"host": "127.0.0.1", "port": 1, "security": "none",
                         "username": "u", "password": "imap-PLAIN-secret"},
                "smtp": {"host": "127.0.0.1", "port": 1, "security": "none",
                         "username": "u", "password": "smtp-PLAIN-secret"}}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let inbox = InboxId(
        res.json::<Value>().await.unwrap()["inbox"]["id"]
            .as_i64()
            .unwrap(),
    );
    let mut bot = ana.json("/api/v1/bot").await;
    bot["llm"] =
        json!({"base_url": "https://llm.example.com/v1", "model": "m", "api_key": "sk-PLAIN-key"});
    assert_eq!(
        ana.call("PUT", "/api/v1/bot", Some(bot)).await.status(),
        200
    );

    let engine = &app.running.engine;
    let store = engine.store();
    let stored = || async {
        let row = store.email_inbox(inbox).await.unwrap().unwrap();
        let doc = store
            .document(layan_engine::bot::BOT_SETTINGS)
            .await
            .unwrap()
            .unwrap();
        (row.settings, row.secret, doc)
    };
    let (settings, secret, doc) = stored().await;
    for plain in ["imap-PLAIN-secret", "smtp-PLAIN-secret", "sk-PLAIN-key"] {
        assert!(
            !settings.contains(plain) && !doc.contains(plain),
            "{plain} stored in the clear"
        );
    }
    assert!(secret.starts_with("enc:v1:"), "{secret}");
    let sealed: Value = serde_json::from_str(&settings).unwrap();
    let imap = sealed["imap"]["password"].as_str().unwrap().to_owned();
    assert!(imap.starts_with("enc:v1:"));
    let secrets = engine.secrets();
    assert_eq!(
        secrets.open("email.imap.password", &imap).unwrap(),
        "imap-PLAIN-secret"
    );
    assert_eq!(
        engine
            .bot_settings()
            .await
            .unwrap()
            .llm
            .unwrap()
            .api_key
            .as_deref(),
        Some("sk-PLAIN-key")
    );
    // On SQLite, nowhere in the database's files either. (Read by another process: closing a
    // descriptor of the database file in this one would drop SQLite's POSIX locks.)
    if app.database_url.starts_with("sqlite://") {
        for file in ["layan.db", "layan.db-wal"] {
            let path = app.dir.path().join(file);
            if !path.exists() {
                continue;
            }
            for plain in ["imap-PLAIN-secret", "sk-PLAIN-key"] {
                let found = std::process::Command::new("grep")
                    .args(["-a", "-q", plain])
                    .arg(&path)
                    .status()
                    .unwrap();
                assert_eq!(found.code(), Some(1), "{plain} in {file}");
            }
        }
    }
    let key_file = app.dir.path().join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_before = std::fs::read_to_string(&key_file).unwrap();

    // Rotated by the command while the server runs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
        .args(["secrets", "rotate", "--data"])
        .arg(app.dir.path())
        .args(["--database-url", &app.database_url])
        .env("LAYAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Rotated"));
    let key_after = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(key_before, key_after);
    assert_eq!(
        key_after.lines().filter(|l| !l.starts_with('#')).count(),
        1,
        "the old key is gone"
    );
    // (A node re-reads cached shop documents after a second.)
    let mut again = stored().await;
    for _ in 0..40 {
        if again.2 != doc {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        again = stored().await;
    }
    let (settings2, secret2, doc2) = again;
    assert_ne!(settings2, settings);
    assert_ne!(secret2, secret);
    assert_ne!(doc2, doc);
    // The running server opens what the new key sealed.
    assert_eq!(
        engine
            .bot_settings()
            .await
            .unwrap()
            .llm
            .unwrap()
            .api_key
            .as_deref(),
        Some("sk-PLAIN-key")
    );
    let sealed: Value = serde_json::from_str(&settings2).unwrap();
    assert_eq!(
        secrets
            .open(
                "email.smtp.password",
                sealed["smtp"]["password"].as_str().unwrap()
            )
            .unwrap(),
        "smtp-PLAIN-secret"
    );
    // A password kept as shown ("********") survives a save after the rotation.
    let mut shown = ana
        .json(&format!("/api/v1/inboxes/{}/email", inbox.0))
        .await["settings"]
        .clone();
    shown["from_name"] = json!("Toko Batik");
    assert_eq!(
        ana.call(
            "PUT",
            &format!("/api/v1/inboxes/{}/email", inbox.0),
            Some(shown)
        )
        .await
        .status(),
        200
    );
    let (settings3, _, _) = stored().await;
    let sealed: Value = serde_json::from_str(&settings3).unwrap();
    assert_eq!(
        secrets
            .open(
                "email.imap.password",
                sealed["imap"]["password"].as_str().unwrap()
            )
            .unwrap(),
        "imap-PLAIN-secret"
    );

    // A key stored in the clear (before sealing existed) is sealed on the next pass.
    let legacy = doc2.replace(
        &serde_json::from_str::<Value>(&doc2).unwrap()["llm"]["api_key"]
            .as_str()
            .unwrap()
            .to_owned(),
        "sk-LEGACY-key",
    );
    store
        .put_document(layan_engine::bot::BOT_SETTINGS, &legacy)
        .await
        .unwrap();
    assert_eq!(
        engine
            .bot_settings()
            .await
            .unwrap()
            .llm
            .unwrap()
            .api_key
            .as_deref(),
        Some("sk-LEGACY-key")
    );
    assert_eq!(engine.reseal_secrets().await.unwrap().changed, 1);
    let (_, _, doc4) = stored().await;
    assert!(!doc4.contains("sk-LEGACY-key"));
    assert_eq!(
        engine
            .bot_settings()
            .await
            .unwrap()
            .llm
            .unwrap()
            .api_key
            .as_deref(),
        Some("sk-LEGACY-key")
    );
}

/// An admin (or someone trying) deactivates or activates account `id`.
async fn set_active(by: &Agent, id: i64, active: bool) -> reqwest::Response {
    by.call(
        "PUT",
        &format!("/api/v1/agents/{id}/active"),
        Some(json!({ "active": active })),
    )
    .await
}
