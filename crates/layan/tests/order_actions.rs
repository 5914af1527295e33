//! Order actions from the conversation — refund (full or partial), cancel, resend — carried out
//! through the store's API (a local stand-in speaking Shopify's Admin REST format), noted in the
//! conversation; a store that refuses is shown to the agent and nothing is recorded as done.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use common::*;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "shpat_test_token";
const CAPTURED: &str = "450000.00";

#[derive(Clone, Default)]
struct Shop {
    /// (method and path, body) of every authorised call.
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// Refuse the next state-changing call, as Shopify does when an order cannot be cancelled.
    refuse: Arc<AtomicBool>,
}

fn authorised(headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    if headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        == Some(ADMIN_TOKEN)
    {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
            ),
        ))
    }
}

type Reply = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

impl Shop {
    fn record(&self, what: String, body: Value) {
        self.calls.lock().unwrap().push((what, body));
    }
    fn refused(&self) -> Option<(StatusCode, Json<Value>)> {
        self.refuse.swap(false, Ordering::SeqCst).then(|| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(
                    json!({"errors": {"base": ["Cannot cancel an order that has been fulfilled"]}}),
                ),
            )
        })
    }
}

async fn cancel(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    authorised(&headers)?;
    if let Some(r) = shop.refused() {
        return Err(r);
    }
    let id = id.trim_end_matches(".json").to_owned();
    shop.record(format!("POST cancel {id}"), body);
    Ok((
        StatusCode::OK,
        Json(
            json!({"order": {"id": id.parse::<u64>().unwrap(), "cancelled_at": "2026-11-23T10:00:00+07:00"}}),
        ),
    ))
}

async fn transactions(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    authorised(&headers)?;
    shop.record(format!("GET transactions {id}"), Value::Null);
    Ok((
        StatusCode::OK,
        Json(json!({"transactions": [
            {"id": 389404468u64, "order_id": 1, "kind": "authorization", "gateway": "midtrans", "status": "success", "amount": CAPTURED},
            {"id": 389404469u64, "order_id": 1, "kind": "capture", "gateway": "midtrans", "status": "success", "amount": CAPTURED}
        ]})),
    ))
}

async fn refunds(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    authorised(&headers)?;
    if let Some(r) = shop.refused() {
        return Err(r);
    }
    shop.record(format!("POST refunds {id}"), body);
    Ok((
        StatusCode::CREATED,
        Json(json!({"refund": {"id": 509562969u64, "order_id": 1}})),
    ))
}

async fn create_order(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    authorised(&headers)?;
    shop.record("POST orders".into(), body);
    Ok((
        StatusCode::CREATED,
        Json(json!({"order": {"id": 1073459999u64, "name": "#1043"}})),
    ))
}

async fn stand_in() -> (String, Shop) {
    let shop = Shop::default();
    // Shopify's paths end in ".json" after the id, which one path segment captures.
    let app = Router::new()
        .route("/admin/api/2024-10/orders/{id}/cancel.json", post(cancel))
        .route(
            "/admin/api/2024-10/orders/{id}/transactions.json",
            get(transactions),
        )
        .route("/admin/api/2024-10/orders/{id}/refunds.json", post(refunds))
        .route("/admin/api/2024-10/orders.json", post(create_order))
        .with_state(shop.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), shop)
}

fn order(id: u64, number: &str, email: &str) -> Value {
    json!({
        "id": id, "name": number, "email": email, "currency": "IDR", "total_price": "450000.00",
        "financial_status": "paid", "fulfillment_status": null, "cancelled_at": null,
        "created_at": "2026-11-20T10:00:00+07:00", "updated_at": "2026-11-20T10:00:00+07:00",
        "customer": {"id": 7, "email": email, "first_name": "Sari"},
        "line_items": [{"title": "Batik tulis Parang", "variant_title": "M", "quantity": 2, "price": "225000.00"}],
        "fulfillments": []
    })
}

/// Sari's conversation (signed-in widget session) and her order's id in Layan.
async fn sari_with_order(app: &TestApp, agent: &Agent) -> (i64, i64) {
    deliver(
        app,
        "orders/create",
        "o-1",
        &order(820982911946154508, "#1042", "sari@example.test"),
        None,
    )
    .await;
    deliver(
        app,
        "orders/create",
        "o-2",
        &order(820982911946154599, "#1099", "joko@example.test"),
        None,
    )
    .await;
    let now = layan_core::now_millis() / 1000;
    let identity = layan_engine::identity::sign_identity(
        IDENTITY_SECRET,
        "sari@example.test",
        None,
        now + 600,
    );
    let s: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "identity": identity}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent: Value = app
        .visitor_send(
            s["token"].as_str().unwrap(),
            "tolong batalkan pesanan saya",
            "a-1",
        )
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["message"]["conversation_id"].as_i64().unwrap();
    let orders = agent
        .json(&format!("/api/v1/conversations/{conv}/orders"))
        .await;
    (conv, orders[0]["id"].as_i64().unwrap())
}

async fn notes(agent: &Agent, conv: i64) -> Vec<String> {
    agent
        .json(&format!("/api/v1/conversations/{conv}/messages"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "note")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn refunds_cancellations_and_resends_go_through_the_store_and_are_noted() {
    let (url, shop) = stand_in().await;
    let app = spawn_app_with(|s| {
        s.shopify_admin_url = Some(url.clone());
        s.shopify_admin_token = Some(ADMIN_TOKEN.to_owned().into());
    })
    .await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;
    let (conv, order) = sari_with_order(&app, &ana).await;
    let path = format!("/api/v1/conversations/{conv}/orders/{order}/actions");
    let orders = ana
        .json(&format!("/api/v1/conversations/{conv}/orders"))
        .await;
    assert_eq!(orders[0]["actions"], true);
    assert_eq!(
        budi.json(&format!("/api/v1/conversations/{conv}/orders"))
            .await[0]["actions"],
        false
    );

    // Agents cannot; bad requests never reach the store.
    assert_eq!(
        budi.post(&path, json!({"action": "refund"})).await.status(),
        403
    );
    for bad in [
        json!({"action": "explode"}),
        json!({"action": "refund", "amount": "500000"}),
        json!({"action": "refund", "amount": "-1"}),
        json!({"action": "cancel", "amount": "1"}),
        json!({"action": "refund", "amount": 5}),
    ] {
        assert_eq!(ana.post(&path, bad.clone()).await.status(), 422, "{bad}");
    }
    assert!(shop.calls.lock().unwrap().is_empty());
    // Someone else's order, through this conversation: not found.
    let joko = app
        .running
        .engine
        .store()
        .contact_by_email("joko@example.test")
        .await
        .unwrap()
        .unwrap();
    let joko_order = app
        .running
        .engine
        .store()
        .orders_of_contact(joko.id, 1)
        .await
        .unwrap()[0]
        .id
        .0;
    let res = ana
        .post(
            &format!("/api/v1/conversations/{conv}/orders/{joko_order}/actions"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(res.status(), 404);

    // A partial refund: the captured payment is refunded by the amount asked.
    let res = ana
        .post(&path, json!({"action": "refund", "amount": "100000"}))
        .await;
    assert_eq!(res.status(), 200);
    {
        let calls = shop.calls.lock().unwrap();
        assert_eq!(calls[0].0, "GET transactions 820982911946154508");
        assert_eq!(calls[1].0, "POST refunds 820982911946154508");
        let tx = &calls[1].1["refund"]["transactions"][0];
        assert_eq!(
            (
                tx["parent_id"].as_u64(),
                tx["amount"].as_str(),
                tx["kind"].as_str()
            ),
            (Some(389404469), Some("100000"), Some("refund"))
        );
        assert_eq!(calls[1].1["refund"]["currency"], "IDR");
    }
    assert!(
        notes(&ana, conv)
            .await
            .iter()
            .any(|n| n.contains("Ana refunded IDR 100000") && n.contains("#1042"))
    );

    // The store refuses a cancellation: the agent reads why, nothing is noted or audited.
    let before = notes(&ana, conv).await.len();
    shop.refuse.store(true, Ordering::SeqCst);
    let res = ana.post(&path, json!({"action": "cancel"})).await;
    assert_eq!(res.status(), 502);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "store_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Cannot cancel an order that has been fulfilled"),
        "{err}"
    );
    assert_eq!(notes(&ana, conv).await.len(), before);
    let audit = ana.json("/api/v1/audit").await;
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "order_action")
            .count(),
        1
    );

    // Cancelled, then sent again as a free replacement with the same items.
    assert_eq!(
        ana.post(&path, json!({"action": "cancel"})).await.status(),
        200
    );
    assert_eq!(
        ana.post(&path, json!({"action": "resend"})).await.status(),
        200
    );
    {
        let calls = shop.calls.lock().unwrap();
        let (what, body) = calls.last().unwrap();
        assert_eq!(what, "POST orders");
        assert_eq!(body["order"]["line_items"][0]["quantity"], 2);
        assert_eq!(body["order"]["line_items"][0]["price"], "0.00");
        assert_eq!(
            body["order"]["line_items"][0]["title"],
            "Batik tulis Parang (M)"
        );
        assert_eq!(body["order"]["email"], "sari@example.test");
    }
    let all = notes(&ana, conv).await;
    assert!(all.iter().any(|n| n.contains("cancelled #1042")));
    assert!(all.iter().any(|n| n.contains("replacement order #1043")));
}

#[tokio::test]
async fn without_the_stores_api_or_with_a_wrong_token_nothing_is_done() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let (conv, order) = sari_with_order(&app, &ana).await;
    let path = format!("/api/v1/conversations/{conv}/orders/{order}/actions");
    let res = ana.post(&path, json!({"action": "cancel"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "store_not_connected"
    );

    let (url, shop) = stand_in().await;
    let app = spawn_app_with(|s| {
        s.shopify_admin_url = Some(url);
        s.shopify_admin_token = Some("shpat_wrong".to_owned().into());
    })
    .await;
    let ana = app.login("ana@shop.test").await;
    let (conv, order) = sari_with_order(&app, &ana).await;
    let res = ana
        .post(
            &format!("/api/v1/conversations/{conv}/orders/{order}/actions"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(res.status(), 502);
    assert!(
        res.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid API key")
    );
    assert!(shop.calls.lock().unwrap().is_empty());
    assert!(notes(&ana, conv).await.is_empty());
}
