//! Signed shopper identity in the widget: a valid token attaches the session to the customer;
//! a signed-out browser, another shopper, an expired or forged token never reach her
//! conversations.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use layan_engine::identity::sign_identity;
use serde_json::{Value, json};

async fn session(app: &TestApp, token: Option<&str>, identity: Option<&str>) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "token": token, "identity": identity}))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_identity_attaches_the_widget_to_the_customer_and_nothing_else_does() {
    let app = spawn_app().await;
    let now = layan_core::now_millis() / 1000;
    let sari = sign_identity(
        IDENTITY_SECRET,
        "sari@example.test",
        Some("Sari"),
        now + 600,
    );

    let (status, first) = session(&app, None, Some(&sari)).await;
    assert_eq!(status, 200);
    let t1 = first["token"].as_str().unwrap().to_owned();
    let res = app.visitor_send(&t1, "halo, pesanan saya?", "i-1").await;
    let conv = res.json::<Value>().await.unwrap()["message"]["conversation_id"]
        .as_i64()
        .unwrap();

    // Signed in again (another page, a new token minted by the shop): the same session.
    let sari_again = sign_identity(IDENTITY_SECRET, "SARI@example.test", None, now + 900);
    let (_, again) = session(&app, Some(&t1), Some(&sari_again)).await;
    assert_eq!(again["token"], t1.as_str());
    assert_eq!(again["conversation"]["id"], conv);
    // On another device, signed in: her conversation too.
    let (_, other_device) = session(&app, None, Some(&sari)).await;
    assert_ne!(other_device["token"], t1.as_str());
    assert_eq!(other_device["conversation"]["id"], conv);

    // Signed out on this browser: a fresh anonymous visitor who sees nothing of hers.
    let (_, out) = session(&app, Some(&t1), None).await;
    assert_ne!(out["token"], t1.as_str());
    assert_eq!(out["conversation"], Value::Null);
    // Her signed-in token was revoked with the sign-out: it reads nothing any more.
    assert_eq!(app.visitor_messages(&t1, conv).await.status(), 401);
    // The other device's session stays.
    let t2 = other_device["token"].as_str().unwrap();
    assert_eq!(app.visitor_messages(t2, conv).await.status(), 200);
    // Someone else signs in on the same browser (which still had her other-device token).
    let budi = sign_identity(IDENTITY_SECRET, "budi@example.test", None, now + 600);
    let (_, other) = session(&app, Some(t2), Some(&budi)).await;
    assert_eq!(
        app.visitor_messages(t2, conv).await.status(),
        401,
        "revoked when someone else signs in"
    );
    assert_ne!(other["token"], t1.as_str());
    assert_eq!(other["conversation"], Value::Null);
    let res = app
        .visitor_messages(other["token"].as_str().unwrap(), conv)
        .await;
    assert_eq!(res.status(), 404, "not her conversation");

    // Refused tokens: expired, forged, unsigned, not a JWT.
    use base64::Engine as _;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let unsigned = format!(
        "{}.{}.",
        enc(br#"{"alg":"none","typ":"JWT"}"#),
        enc(format!(r#"{{"email":"sari@example.test","exp":{}}}"#, now + 600).as_bytes())
    );
    for (token, why) in [
        (
            sign_identity(IDENTITY_SECRET, "sari@example.test", None, now - 1),
            "expired",
        ),
        (
            sign_identity("guessed", "sari@example.test", None, now + 600),
            "signature",
        ),
        (unsigned, "HS256"),
        ("sari@example.test".to_owned(), "not a JWT"),
    ] {
        let (status, e) = session(&app, None, Some(&token)).await;
        assert_eq!(status, 401, "{why}");
        assert_eq!(e["error"]["code"], "invalid_identity");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {e}"
        );
    }
    // Signed in again, she reads her conversation.
    let (_, back) = session(&app, None, Some(&sari)).await;
    assert_eq!(
        app.visitor_messages(back["token"].as_str().unwrap(), conv)
            .await
            .status(),
        200
    );
}

/// A signed-in widget session ends when its identity does: an open chat is closed with
/// `identity_expired`, the token reads nothing any more, and a fresh identity from the page
/// renews the session as the same shopper (her conversation, `renewed`), while no identity
/// makes an anonymous visitor. A token whose expiry was edited is nobody's.
#[tokio::test]
async fn a_signed_in_session_ends_with_its_identity_and_is_renewed_by_a_fresh_one() {
    let app = spawn_app().await;
    let now = layan_core::now_millis() / 1000;
    let short = sign_identity(IDENTITY_SECRET, "sari@example.test", None, now + 4);
    let (_, first) = session(&app, None, Some(&short)).await;
    let t1 = first["token"].as_str().unwrap().to_owned();
    let (_, second) = session(&app, None, Some(&short)).await;
    let t2 = second["token"].as_str().unwrap().to_owned();
    let res = app.visitor_send(&t1, "pesanan saya?", "exp-1").await;
    assert!(res.status().is_success());
    let conv = res.json::<Value>().await.unwrap()["message"]["conversation_id"]
        .as_i64()
        .unwrap();
    // An edited expiry: the token is no longer anyone's.
    let (base, _) = t1.rsplit_once('.').unwrap();
    let edited = format!("{base}.{}", now + 100_000);
    assert_eq!(app.visitor_messages(&edited, conv).await.status(), 401);

    // The open chat is closed when the identity expires.
    let mut ws = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut ws,
        json!({"type": "hello", "key": KEY, "token": t1, "conversation_id": conv, "after_seq": 0}),
    )
    .await;
    let (ready, _) = ws_until(&mut ws, "ready").await;
    assert_eq!(ready["conversation"]["id"], conv);
    let (err, _) = ws_until(&mut ws, "error").await;
    assert_eq!(err["code"], "identity_expired", "{err}");
    // …and its token reads and sends nothing, over HTTP or a new socket.
    let res = app.visitor_messages(&t1, conv).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "identity_expired"
    );
    assert_eq!(app.visitor_send(&t1, "masih?", "exp-2").await.status(), 401);
    let mut again = ws_connect(&app.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut again,
        json!({"type": "hello", "key": KEY, "token": t1, "conversation_id": conv, "after_seq": 0}),
    )
    .await;
    assert_eq!(ws_next(&mut again).await["code"], "identity_expired");

    // The page gives a fresh identity: the same shopper, a new token.
    let fresh = sign_identity(IDENTITY_SECRET, "sari@example.test", None, now + 600);
    let (status, renewed) = session(&app, Some(&t1), Some(&fresh)).await;
    assert_eq!(status, 200);
    assert_ne!(renewed["token"], t1.as_str());
    assert_eq!(renewed["renewed"], true);
    assert_eq!(renewed["conversation"]["id"], conv);
    let t3 = renewed["token"].as_str().unwrap();
    assert_eq!(app.visitor_messages(t3, conv).await.status(), 200);
    // The page has none (signed out meanwhile): an anonymous visitor, nothing of hers.
    let (_, anonymous) = session(&app, Some(&t2), None).await;
    assert_eq!(anonymous["renewed"], false);
    assert_eq!(anonymous["conversation"], Value::Null);
    assert_eq!(app.visitor_messages(&t2, conv).await.status(), 401);
    // The expired identity itself is refused.
    let (status, _) = session(&app, Some(&t2), Some(&short)).await;
    assert_eq!(status, 401);
}
