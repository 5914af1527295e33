//! WebSockets against a real server: live delivery both ways, resume by sequence number, retried
//! sends, and bad frames that must not take anything down.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

async fn widget_ws(
    app: &TestApp,
    token: &str,
    conversation: Option<i64>,
    after_seq: i64,
) -> (Ws, Value) {
    let mut ws = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .expect("connect");
    ws_send(&mut ws, json!({"type": "hello", "key": KEY, "token": token, "conversation_id": conversation, "after_seq": after_seq})).await;
    let ready = ws_next(&mut ws).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    (ws, ready)
}

async fn agent_ws(app: &TestApp, agent: &Agent) -> Ws {
    let mut ws = ws_connect(&app.ws_url("/api/v1/agent/ws"), Some(&agent.cookie))
        .await
        .expect("agent connect");
    let hello = ws_next(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    ws
}

#[tokio::test]
async fn a_widget_message_reaches_the_agent_and_the_reply_comes_back() {
    let app = spawn_app().await;
    let agent = app.login("budi@shop.test").await;
    let mut agent_socket = agent_ws(&app, &agent).await;
    let token = app.visitor().await;
    let (mut widget, ready) = widget_ws(&app, &token, None, 0).await;
    assert_eq!(ready["agents_online"], 1, "Budi is online");
    assert!(ready["conversation"].is_null());

    ws_send(&mut widget, json!({"type": "send", "client_message_id": "w-1", "body": "<script>alert(1)</script> สวัสดีค่ะ"})).await;
    let (ack, before) = ws_until(&mut widget, "ack").await;
    assert_eq!(ack["client_message_id"], "w-1");
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ack["message"]["seq"], 1);
    assert!(
        before
            .iter()
            .any(|f| f["type"] == "message" && f["message"]["seq"] == 1)
    );
    let conv = ack["conversation"]["id"].as_i64().unwrap();

    // The agent's list updates live with the new conversation.
    let (update, _) = ws_until(&mut agent_socket, "conversation").await;
    assert_eq!(update["conversation"]["id"].as_i64(), Some(conv));
    assert_eq!(
        update["new_message"]["body"], "<script>alert(1)</script> สวัสดีค่ะ",
        "stored verbatim, escaped on display"
    );

    // Following the conversation sends its history, then live messages.
    ws_send(
        &mut agent_socket,
        json!({"type": "follow", "conversation_id": conv, "after_seq": 0}),
    )
    .await;
    let (history, _) = ws_until(&mut agent_socket, "message").await;
    assert_eq!(history["message"]["seq"], 1);

    // Typing reaches the other side.
    ws_send(&mut widget, json!({"type": "typing", "on": true})).await;
    let (typing, _) = ws_until(&mut agent_socket, "typing").await;
    assert_eq!(typing["who"]["kind"], "contact");
    ws_send(
        &mut agent_socket,
        json!({"type": "typing", "conversation_id": conv, "on": true}),
    )
    .await;
    let (typing, _) = ws_until(&mut widget, "typing").await;
    assert_eq!(typing["name"], "Budi");

    let reply = agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "Halo! Ada yang bisa dibantu?"}),
        )
        .await;
    assert_eq!(reply.status(), 201);
    let (msg, _) = ws_until(&mut widget, "message").await;
    assert_eq!(msg["message"]["body"], "Halo! Ada yang bisa dibantu?");
    assert_eq!(msg["message"]["direction"], "outgoing");
    assert_eq!(msg["message"]["author_name"], "Budi");
    assert_eq!(msg["message"]["seq"], 2);

    // A private note reaches agents, never the widget.
    agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "internal only", "private": true}),
        )
        .await;
    let (note, _) = ws_until(&mut agent_socket, "message").await;
    let note = if note["message"]["seq"] == 2 {
        ws_until(&mut agent_socket, "message").await.0
    } else {
        note
    };
    assert_eq!(note["message"]["direction"], "note");
    ws_quiet(&mut widget, "message", 300).await;
}

#[tokio::test]
async fn a_reconnecting_widget_gets_exactly_what_it_missed() {
    let app = spawn_app().await;
    let agent = app.login("ana@shop.test").await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;
    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "m1", "body": "first"}),
    )
    .await;
    let (ack, _) = ws_until(&mut widget, "ack").await;
    let conv = ack["conversation"]["id"].as_i64().unwrap();
    widget.close(None).await.ok();
    drop(widget);

    // While the widget is away: three replies and a note.
    for body in ["one", "two"] {
        agent
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"body": body}),
            )
            .await;
    }
    agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "note", "private": true}),
        )
        .await;
    agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "three"}),
        )
        .await;

    let (mut widget, ready) = widget_ws(&app, &token, Some(conv), 1).await;
    assert_eq!(ready["conversation"]["id"].as_i64(), Some(conv));
    let mut got = Vec::new();
    for _ in 0..3 {
        let f = ws_next(&mut widget).await;
        assert_eq!(f["type"], "message");
        got.push((
            f["message"]["seq"].as_i64().unwrap(),
            f["message"]["body"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        got,
        vec![(2, "one".into()), (3, "two".into()), (5, "three".into())]
    );
    ws_quiet(&mut widget, "message", 300).await;

    // A page reload (after_seq 0) gets the whole visible history.
    let (mut reloaded, _) = widget_ws(&app, &token, Some(conv), 0).await;
    let mut seqs = Vec::new();
    for _ in 0..4 {
        seqs.push(
            ws_next(&mut reloaded).await["message"]["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(seqs, vec![1, 2, 3, 5]);
}

#[tokio::test]
async fn a_retried_websocket_send_is_not_duplicated() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;
    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "dup", "body": "once"}),
    )
    .await;
    let (first, _) = ws_until(&mut widget, "ack").await;
    // The client never saw the ack (say), reconnects and sends again with the same id.
    let (mut again, _) = widget_ws(&app, &token, None, 0).await;
    ws_send(
        &mut again,
        json!({"type": "send", "client_message_id": "dup", "body": "once"}),
    )
    .await;
    let (second, _) = ws_until(&mut again, "ack").await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["message"]["id"], first["message"]["id"]);
    let conv = first["conversation"]["id"].as_i64().unwrap();
    let msgs: Value = app
        .visitor_messages(&token, conv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(msgs.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_lives_on() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;

    widget
        .send(Message::Text("this is not json".into()))
        .await
        .unwrap();
    let err = ws_next(&mut widget).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("invalid_frame"))
    );
    widget
        .send(Message::Text(r#"{"type":"launch_missiles"}"#.into()))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut widget).await["code"], "invalid_frame");
    widget
        .send(Message::Binary(vec![0, 159, 146, 150].into()))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut widget).await["code"], "binary_not_supported");
    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "e1", "body": ""}),
    )
    .await;
    let err = ws_next(&mut widget).await;
    assert_eq!(
        (err["code"].as_str(), err["client_message_id"].as_str()),
        (Some("empty_message"), Some("e1"))
    );
    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "e2", "body": "x".repeat(10_001)}),
    )
    .await;
    assert_eq!(ws_next(&mut widget).await["code"], "message_too_long");
    ws_send(
        &mut widget,
        json!({"type": "hello", "key": KEY, "token": token}),
    )
    .await;
    assert_eq!(ws_next(&mut widget).await["code"], "already_greeted");

    // Still alive: ping, and a real message goes through.
    ws_send(&mut widget, json!({"type": "ping"})).await;
    assert_eq!(ws_next(&mut widget).await["type"], "pong");
    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "ok", "body": "still here"}),
    )
    .await;
    let (ack, _) = ws_until(&mut widget, "ack").await;
    assert_eq!(ack["message"]["seq"], 1, "refused frames stored nothing");
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_connection() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;
    let huge = json!({"type": "send", "client_message_id": "big", "body": "x".repeat(200_000)})
        .to_string();
    let _ = widget.send(Message::Text(huge.into())).await;
    // The server drops the connection (tungstenite refuses frames over the limit).
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match widget.next().await {
                None | Some(Err(_)) => return true,
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(Message::Text(t))) => assert!(!t.contains("\"ack\""), "nothing stored"),
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("closed within 5 s");
    assert!(closed);
    // The server and other connections are fine.
    let (mut other, _) = widget_ws(&app, &token, None, 0).await;
    ws_send(&mut other, json!({"type": "ping"})).await;
    assert_eq!(ws_next(&mut other).await["type"], "pong");
    let h = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
}

#[tokio::test]
async fn sockets_refuse_strangers() {
    let app = spawn_app().await;
    // A widget that does not say hello properly is closed with 4401.
    let mut ws = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut ws,
        json!({"type": "hello", "key": KEY, "token": "forged"}),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["code"], "unknown_visitor");
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::from(4401)),
        other => panic!("expected close 4401, got {other:?}"),
    }
    // The agent socket needs a session, and refuses other sites' pages (cross-site hijacking).
    assert!(
        ws_connect(&app.ws_url("/api/v1/agent/ws"), None)
            .await
            .is_err()
    );
    let agent = app.login("budi@shop.test").await;
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        app.ws_url("/api/v1/agent/ws"),
    )
    .unwrap();
    req.headers_mut().insert(
        "cookie",
        format!("layan_session={}", agent.cookie).parse().unwrap(),
    );
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
}

#[tokio::test]
async fn presence_reaches_widgets() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, ready) = widget_ws(&app, &token, None, 0).await;
    assert_eq!(ready["agents_online"], 0);
    let agent = app.login("ana@shop.test").await;
    let agent_socket = agent_ws(&app, &agent).await;
    let (p, _) = ws_until(&mut widget, "presence").await;
    assert_eq!(p["agents_online"], 1);
    drop(agent_socket);
    let (p, _) = ws_until(&mut widget, "presence").await;
    assert_eq!(p["agents_online"], 0);
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;
    let shutdown = app.running.shutdown.clone();
    shutdown.cancel();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match widget.next().await {
                Some(Ok(Message::Close(f))) => return f,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed");
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::Away));
    app.running.wait().await.expect("clean stop");
}

#[tokio::test]
async fn an_invalid_utf8_text_frame_closes_only_that_connection() {
    use tokio_tungstenite::tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    let app = spawn_app().await;
    let token = app.visitor().await;
    let (mut widget, _) = widget_ws(&app, &token, None, 0).await;
    let bad = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    let _ = widget.send(Message::Frame(bad)).await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match widget.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server ends a connection that breaks the protocol"
    );
    let (mut other, _) = widget_ws(&app, &token, None, 0).await;
    ws_send(&mut other, json!({"type": "ping"})).await;
    assert_eq!(ws_next(&mut other).await["type"], "pong");
}
