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
