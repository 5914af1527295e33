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
    /// Do each change, then answer only after Layan stopped waiting (a store that is slow).
    slow: Arc<AtomicBool>,
    /// Take each change and lose it, answering too late (a request that never arrived).
    lose: Arc<AtomicBool>,
    /// Do each change only after Layan stopped waiting (a slow payment gateway).
    late: Arc<AtomicBool>,
    /// What the store did: refunds (id, note), cancelled, replacement orders (name, source id).
    refunds: Arc<Mutex<Vec<(u64, String)>>>,
    cancelled: Arc<AtomicBool>,
    created: Arc<Mutex<Vec<(String, String)>>>,
}

/// Longer than the 1 s the tests' server waits for the store.
const SLOW: std::time::Duration = std::time::Duration::from_millis(2_500);
/// How long after an unanswered request "not found" means "not done" (8 × the 1 s timeout),
/// with a margin.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(8_300);

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
    /// Before a change: in `lose` mode, wait and do nothing (`true`: do not apply it); in
    /// `late` mode, wait, then apply it.
    async fn lost(&self) -> bool {
        if self.lose.load(Ordering::SeqCst) {
            tokio::time::sleep(SLOW).await;
            return true;
        }
        if self.late.load(Ordering::SeqCst) {
            tokio::time::sleep(SLOW).await;
        }
        false
    }
    /// After a change: in `slow` mode, answer too late.
    async fn late(&self) {
        if self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(SLOW).await;
        }
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
    if shop.lost().await {
        return Err((
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({"errors": "timeout"})),
        ));
    }
    shop.cancelled.store(true, Ordering::SeqCst);
    shop.late().await;
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
    shop.record(format!("POST refunds {id}"), body.clone());
    if shop.lost().await {
        return Err((
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({"errors": "timeout"})),
        ));
    }
    let refund_id = {
        let mut refunds = shop.refunds.lock().unwrap();
        let refund_id = 509562969u64 + refunds.len() as u64;
        refunds.push((
            refund_id,
            body["refund"]["note"].as_str().unwrap_or("").to_owned(),
        ));
        refund_id
    };
    shop.late().await;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"refund": {"id": refund_id, "order_id": 1, "created_at": "2026-11-23T10:00:00+07:00"}}),
        ),
    ))
}

async fn create_order(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    authorised(&headers)?;
    shop.record("POST orders".into(), body.clone());
    // The store goes on with a request whose client stopped waiting: the work runs apart from
    // the connection.
    let work = tokio::spawn(async move {
        if shop.lost().await {
            return None;
        }
        let name = {
            let mut created = shop.created.lock().unwrap();
            let name = format!("#{}", 1043 + created.len());
            created.push((
                name.clone(),
                body["order"]["source_identifier"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            ));
            name
        };
        shop.late().await;
        Some(name)
    });
    match work.await.unwrap() {
        Some(name) => Ok((
            StatusCode::CREATED,
            Json(json!({"order": {"id": 1073459999u64, "name": name}})),
        )),
        None => Err((
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({"errors": "timeout"})),
        )),
    }
}

/// `GET orders/{id}/refunds.json`: the refunds made, with their notes.
async fn list_refunds(State(shop): State<Shop>, headers: HeaderMap) -> Reply {
    authorised(&headers)?;
    let refunds: Vec<Value> = shop
        .refunds
        .lock()
        .unwrap()
        .iter()
        .map(
            |(id, note)| json!({"id": id, "note": note, "created_at": "2026-11-23T10:00:00+07:00"}),
        )
        .collect();
    Ok((StatusCode::OK, Json(json!({"refunds": refunds}))))
}

/// `GET orders/{id}.json`: the order, cancelled or not.
async fn one_order(State(shop): State<Shop>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    authorised(&headers)?;
    let id: u64 = id.trim_end_matches(".json").parse().unwrap();
    let cancelled = shop
        .cancelled
        .load(Ordering::SeqCst)
        .then_some("2026-11-23T10:00:00+07:00");
    let refunds = shop.refunds.lock().unwrap().len();
    let financial = match refunds {
        0 => "paid",
        1 => "partially_refunded",
        _ => "refunded",
    };
    Ok((
        StatusCode::OK,
        Json(
            json!({"order": {"id": id, "cancelled_at": cancelled, "financial_status": financial,
            "updated_at": format!("2026-11-23T10:0{refunds}:00+07:00")}}),
        ),
    ))
}

/// `GET orders.json?status=any&created_at_min=…&fields=…`: recent orders.
async fn list_orders(State(shop): State<Shop>, headers: HeaderMap) -> Reply {
    authorised(&headers)?;
    let orders: Vec<Value> = shop
        .created
        .lock()
        .unwrap()
        .iter()
        .map(|(name, source)| json!({"id": 1073459999u64, "name": name, "source_identifier": source}))
        .collect();
    Ok((StatusCode::OK, Json(json!({"orders": orders}))))
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
        .route(
            "/admin/api/2024-10/orders/{id}/refunds.json",
            post(refunds).get(list_refunds),
        )
        .route("/admin/api/2024-10/orders/{id}", get(one_order))
        .route(
            "/admin/api/2024-10/orders.json",
            post(create_order).get(list_orders),
        )
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
            .any(|n| n == "Ana refunded Rp100,000 on order #1042 through the store."),
        "{:?}",
        notes(&ana, conv).await
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
    assert!(
        all.iter()
            .any(|n| n == "Ana cancelled order #1042 through the store."),
        "{all:?}"
    );
    assert!(
        all.iter().any(
            |n| n == "Ana sent order #1042 again as replacement order #1043 through the store."
        )
    );
    // The order in Layan follows at once: cancelled and partly refunded.
    let orders = ana
        .json(&format!("/api/v1/conversations/{conv}/orders"))
        .await;
    assert!(orders[0]["cancelled_at"].is_i64(), "{orders}");
    assert_eq!(orders[0]["financial_status"], "partially_refunded");
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

/// The store does the refund, cancellation or replacement but answers only after Layan stopped
/// waiting: the agent is told it may have been done (504, a note, the order marked in doubt),
/// and trying again asks the store first — it finds the earlier one and sends nothing twice.
/// One the store carries out later still is not sent again while it may appear; one the store
/// never got is sent again once the store has had time. Two agents at once: one waits. An
/// older webhook never rolls back what a confirmed action changed.
#[tokio::test]
async fn an_action_the_store_did_without_answering_is_never_done_twice() {
    let (url, shop) = stand_in().await;
    let app = spawn_app_with(|s| {
        s.shopify_admin_url = Some(url.clone());
        s.shopify_admin_token = Some(ADMIN_TOKEN.to_owned().into());
        s.shopify_admin_timeout_seconds = 1;
    })
    .await;
    let ana = app.login("ana@shop.test").await;
    let (conv, order) = sari_with_order(&app, &ana).await;
    let path = format!("/api/v1/conversations/{conv}/orders/{order}/actions");
    let orders = || async {
        ana.json(&format!("/api/v1/conversations/{conv}/orders"))
            .await[0]
            .clone()
    };
    let posts = |what: &str| {
        shop.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w.starts_with(what))
            .count()
    };

    // A refund the store makes and answers too late.
    shop.slow.store(true, Ordering::SeqCst);
    let res = ana
        .post(&path, json!({"action": "refund", "amount": "100000"}))
        .await;
    assert_eq!(res.status(), 504);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "store_no_answer"
    );
    assert_eq!(orders().await["in_doubt"], json!(["refund"]));
    assert!(
        notes(&ana, conv)
            .await
            .iter()
            .any(|n| n.contains("did not answer in time") && n.contains("Rp100,000")),
        "{:?}",
        notes(&ana, conv).await
    );
    // The agent tries again: the store is asked, the earlier refund is found, none is sent.
    shop.slow.store(false, Ordering::SeqCst);
    let res = ana
        .post(&path, json!({"action": "refund", "amount": "100000"}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "already_done"
    );
    assert_eq!(shop.refunds.lock().unwrap().len(), 1, "refunded once");
    assert_eq!(posts("POST refunds"), 1);
    let o = orders().await;
    assert_eq!(o["in_doubt"], json!([]));
    assert_eq!(o["financial_status"], "partially_refunded");
    assert!(
        notes(&ana, conv)
            .await
            .iter()
            .any(|n| n == "The store confirms the earlier refund of Rp100,000 on order #1042 was made (#509562969); Ana's new request was not sent, so nothing was refunded twice.")
    );
    // A second refund, meant: sent, and the order is refunded in full.
    let res = ana
        .post(&path, json!({"action": "refund", "amount": "350000"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(shop.refunds.lock().unwrap().len(), 2);
    assert_eq!(orders().await["financial_status"], "refunded");

    // A replacement the store makes only after Layan stopped waiting: asked at once, it is
    // not there yet — nothing is sent; asked once the store has had time, it is found.
    shop.late.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let res = ana.post(&path, json!({"action": "resend"})).await;
    assert_eq!(res.status(), 504);
    shop.late.store(false, Ordering::SeqCst);
    let res = ana.post(&path, json!({"action": "resend"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "still_in_doubt"
    );
    assert_eq!(posts("POST orders"), 1);
    // (The settle time is eight times the 1 s timeout.)
    tokio::time::sleep(SETTLE.saturating_sub(started.elapsed())).await;
    let res = ana.post(&path, json!({"action": "resend"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "already_done"
    );
    assert_eq!(shop.created.lock().unwrap().len(), 1, "one replacement");
    assert_eq!(posts("POST orders"), 1);

    // A cancellation the store never receives, while a second agent tries too: one is sent,
    // the other waits; retries at the same moment send nothing (one of them asks the store);
    // once the store has had time and has nothing, it is sent again, once.
    shop.lose.store(true, Ordering::SeqCst);
    let budi = app.login("ana@shop.test").await;
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(ana.post(&path, json!({"action": "cancel"})), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        budi.post(&path, json!({"action": "cancel"})).await
    });
    assert_eq!(first.status(), 504);
    assert_eq!(second.status(), 409);
    assert_eq!(
        second.json::<Value>().await.unwrap()["error"]["code"],
        "action_in_progress"
    );
    shop.lose.store(false, Ordering::SeqCst);
    let (a, b) = tokio::join!(
        ana.post(&path, json!({"action": "cancel"})),
        budi.post(&path, json!({"action": "cancel"}))
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (409, 409));
    assert_eq!(posts("POST cancel"), 1);
    tokio::time::sleep(SETTLE.saturating_sub(started.elapsed())).await;
    let res = ana.post(&path, json!({"action": "cancel"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(posts("POST cancel"), 2);
    let res = budi.post(&path, json!({"action": "cancel"})).await;
    assert_eq!(res.status(), 409, "cancelled already");
    assert_eq!(posts("POST cancel"), 2);
    let o = orders().await;
    assert!(o["cancelled_at"].is_i64(), "{o}");
    assert_eq!(o["status"], "cancelled");

    // An older orders/updated webhook (before the cancellation) does not roll it back.
    let old = json!({
        "id": 820982911946154508u64, "name": "#1042", "email": "sari@example.test", "currency": "IDR",
        "total_price": "450000.00", "financial_status": "paid", "fulfillment_status": null,
        "cancelled_at": null, "created_at": "2026-11-20T10:00:00+07:00",
        "updated_at": "2026-11-21T10:00:00+07:00",
        "customer": {"id": 7, "email": "sari@example.test", "first_name": "Sari"},
        "line_items": [{"title": "Batik tulis Parang", "variant_title": "M", "quantity": 2, "price": "225000.00"}],
        "fulfillments": []
    });
    deliver(&app, "orders/updated", "o-old", &old, None).await;
    let o = orders().await;
    assert!(o["cancelled_at"].is_i64(), "rolled back: {o}");
    assert_eq!(o["financial_status"], "refunded");
    // The audit log has each outcome.
    let audit = ana.json("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("order_action"))
        .collect();
    assert!(
        actions.contains(&"order_action_unknown") && actions.contains(&"order_action_confirmed")
    );
}
