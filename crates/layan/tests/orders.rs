//! Orders from Shopify-format webhooks: signatures checked over the raw body, each event applied
//! once, the newest version winning, shipments merged, the customer matched by email — and an
//! agent sees the customer's orders next to the conversation, only in inboxes they work.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn order(updated_at: &str, financial: &str) -> Value {
    json!({
        "id": 820982911946154508u64,
        "name": "#1042",
        "order_number": 1042,
        "email": "Sari@Example.test",
        "currency": "IDR",
        "total_price": "450000.00",
        "financial_status": financial,
        "fulfillment_status": null,
        "cancelled_at": null,
        "created_at": "2026-11-20T10:00:00+07:00",
        "updated_at": updated_at,
        "customer": {"id": 115310627314723954u64, "email": "sari@example.test", "first_name": "Sari", "last_name": "Wulandari"},
        "line_items": [
            {"id": 1, "title": "Batik tulis Parang", "variant_title": "M", "quantity": 1, "price": "300000.00", "sku": "BT-1"},
            {"id": 2, "title": "Selendang", "variant_title": "", "quantity": 1, "price": "150000.00"}
        ],
        "fulfillments": []
    })
}

fn fulfillment(status: &str, updated_at: &str) -> Value {
    json!({
        "id": 255858046,
        "order_id": 820982911946154508u64,
        "status": "success",
        "tracking_company": "JNE",
        "tracking_number": "JNE0042",
        "tracking_url": "https://www.jne.co.id/tracking?awb=JNE0042",
        "shipment_status": status,
        "updated_at": updated_at
    })
}

#[tokio::test]
async fn orders_arrive_once_newest_wins_and_show_next_to_the_conversation() {
    let app = spawn_app().await;
    // Someone who is not signed in leaves a message giving her email: that identifies nobody.
    let stranger = app.visitor().await;
    let res = app
        .http
        .post(format!("{}/api/v1/widget/offline-messages", app.base))
        .header("x-layan-inbox", KEY)
        .bearer_auth(&stranger)
        .json(&json!({"name": "Sari?", "email": "sari@example.test", "body": "What did I order?", "client_message_id": "o-1"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let strangers = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();

    // Sari herself, signed in at the shop: the widget carries the shop's signed identity.
    let exp = layan_core::now_millis() / 1000 + 600;
    let identity = layan_engine::identity::sign_identity(
        IDENTITY_SECRET,
        "sari@example.test",
        Some("Sari Wulandari"),
        exp,
    );
    let session: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "identity": identity}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let res = app
        .visitor_send(&token, "Where is my order #1042?", "s-1")
        .await;
    assert!(res.status().is_success());
    let conversation = res.json::<Value>().await.unwrap()["message"]["conversation_id"]
        .as_i64()
        .unwrap();
    assert_ne!(conversation, strangers);

    // Bad signatures change nothing.
    let body = order("2026-11-20T10:00:00+07:00", "pending");
    assert_eq!(
        deliver(&app, "orders/create", "e-0", &body, Some(String::new()))
            .await
            .0,
        401
    );
    assert_eq!(
        deliver(
            &app,
            "orders/create",
            "e-0",
            &body,
            Some(sign(b"other body", SHOPIFY_SECRET))
        )
        .await
        .0,
        401
    );
    assert_eq!(
        deliver(
            &app,
            "orders/create",
            "e-0",
            &body,
            Some(sign(&serde_json::to_vec(&body).unwrap(), "wrong"))
        )
        .await
        .0,
        401
    );
    // A signed but unreadable payload: 400, nothing written.
    let mut broken = body.clone();
    broken["total_price"] = json!("lots");
    let (status, e) = deliver(&app, "orders/create", "e-bad", &broken, None).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("invalid_payload"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("total_price"),
        "{e}"
    );
    let (status, _) = deliver(&app, "orders/create", "e-bad2", &json!({"id": "x"}), None).await;
    assert_eq!(status, 400);

    let ana = app.login("ana@shop.test").await;
    let path = format!("/api/v1/conversations/{conversation}/orders");
    assert_eq!(ana.json(&path).await, json!([]));

    // A shipment before its order: 409, Shopify delivers it again later.
    let ship = fulfillment("in_transit", "2026-11-21T09:00:00+07:00");
    assert_eq!(
        deliver(&app, "fulfillments/create", "f-1", &ship, None)
            .await
            .0,
        409
    );

    assert_eq!(
        deliver(&app, "orders/create", "e-1", &body, None).await,
        (200, json!({"status": "applied"}))
    );
    assert_eq!(
        deliver(&app, "orders/create", "e-1", &body, None).await,
        (200, json!({"status": "duplicate"}))
    );
    let paid = order("2026-11-20T12:00:00+07:00", "paid");
    assert_eq!(
        deliver(&app, "orders/updated", "e-2", &paid, None).await.1["status"],
        "applied"
    );
    // A late, older update is recognised and ignored.
    let late = order("2026-11-20T11:00:00+07:00", "pending");
    assert_eq!(
        deliver(&app, "orders/updated", "e-3", &late, None).await.1["status"],
        "stale"
    );
    assert_eq!(
        deliver(&app, "fulfillments/create", "f-1", &ship, None)
            .await
            .1["status"],
        "applied"
    );
    assert_eq!(
        deliver(&app, "app/uninstalled", "x-1", &json!({}), None)
            .await
            .1["status"],
        "ignored"
    );

    let list = ana.json(&path).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let o = &list[0];
    assert_eq!(o["number"], "#1042");
    assert_eq!(o["financial_status"], "paid");
    assert_eq!(o["status"], "paid");
    assert_eq!(o["email"], "sari@example.test");
    assert_eq!(o["lines"][0]["title"], "Batik tulis Parang");
    assert_eq!(o["lines"][1]["variant"], Value::Null);
    assert_eq!(
        o["tracking_url"],
        "https://www.jne.co.id/tracking?awb=JNE0042"
    );
    assert_eq!(o["shipments"][0]["status"], "in_transit");

    let delivered = fulfillment("delivered", "2026-11-22T15:00:00+07:00");
    deliver(&app, "fulfillments/update", "f-2", &delivered, None).await;
    assert_eq!(ana.json(&path).await[0]["status"], "delivered");

    // Not next to the stranger's conversation.
    let theirs = ana
        .json(&format!("/api/v1/conversations/{strangers}/orders"))
        .await;
    assert_eq!(
        theirs,
        json!([]),
        "typing an email does not bring the customer's orders"
    );

    // Canned responses speak about the latest order.
    let res = ana
        .post(
            "/api/v1/canned",
            json!({"shortcut": "track", "title": "Tracking", "shared": true,
                "body": "Hi {{contact.first_name}}, {{order.number}} ({{order.total}}) is {{order.status}} with {{order.carrier}}: {{order.tracking_url}}"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let filled = ana
        .json(&format!(
            "/api/v1/conversations/{conversation}/canned/track"
        ))
        .await;
    assert_eq!(
        filled["text"],
        "Hi Sari, #1042 (Rp450,000) is delivered with JNE: https://www.jne.co.id/tracking?awb=JNE0042",
        "{filled}"
    );

    // Agents see orders only next to conversations they may see.
    let budi = app.login("budi@shop.test").await;
    assert_eq!(budi.json(&path).await[0]["number"], "#1042");
    app.running
        .engine
        .create_agent(
            "citra@shop.test",
            "Citra",
            layan_core::Role::Agent,
            PASSWORD,
        )
        .await
        .unwrap();
    let citra = app.login("citra@shop.test").await;
    let res = citra
        .get(&format!("/api/v1/conversations/{conversation}/orders"))
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_new_customer_becomes_a_contact_once_even_with_concurrent_deliveries() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let mut body = order("2026-11-20T10:00:00+07:00", "paid");
        body["id"] = json!(1000 + i);
        body["name"] = json!(format!("#{}", 2000 + i));
        body["email"] = json!("new.shopper@example.test");
        let app_base = app.base.clone();
        let http = app.http.clone();
        tasks.push(tokio::spawn(async move {
            let raw = serde_json::to_vec(&body).unwrap();
            http.post(format!("{app_base}/api/v1/webhooks/shopify"))
                .header("x-shopify-topic", "orders/create")
                .header("x-shopify-event-id", format!("c-{i}"))
                .header("x-shopify-hmac-sha256", sign(&raw, SHOPIFY_SECRET))
                .body(raw)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let contact = app
        .running
        .engine
        .store()
        .contact_by_email("new.shopper@example.test")
        .await
        .unwrap()
        .expect("a contact for the new customer");
    assert_eq!(contact.name.as_deref(), Some("Sari Wulandari"));
    let orders = app.running.engine.orders_of(contact.id).await.unwrap();
    assert_eq!(orders.len(), 6, "every order on the one contact");
}

async fn woo(
    app: &TestApp,
    topic: Option<&str>,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/api/v1/webhooks/woocommerce", app.base))
        .header("x-wc-webhook-delivery-id", delivery)
        .header("x-wc-webhook-source", "https://toko.example.test/")
        .header("x-wc-webhook-signature", sign(body, secret));
    if let Some(t) = topic {
        req = req.header("x-wc-webhook-topic", t);
    }
    let res = req.body(body.to_vec()).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn woocommerce_orders_are_signed_applied_once_and_matched_by_email() {
    let app = spawn_app().await;
    // The ping WooCommerce sends when the webhook is created.
    assert_eq!(
        woo(&app, None, "p", b"webhook_id=7", WOO_SECRET).await,
        (200, json!({"status": "ignored"}))
    );
    // WooCommerce sends it unsigned: still acknowledged (a 401 would get the webhook disabled).
    let res = app
        .http
        .post(format!("{}/api/v1/webhooks/woocommerce", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Anything else without a valid signature is refused.
    assert_eq!(woo(&app, None, "p", b"{}", "wrong").await.0, 401);
    let order = |status: &str, modified: &str| {
        serde_json::to_vec(&json!({
            "id": 727, "number": "727", "status": status, "currency": "EUR", "total": "89.95",
            "date_created_gmt": "2026-11-21T19:15:00", "date_modified_gmt": modified,
            "billing": {"first_name": "Jeroen", "last_name": "Bakker", "email": "Jeroen.Bakker@example.test"},
            "line_items": [{"id": 1, "name": "Batik sjaal", "quantity": 1, "price": 89.95, "total": "89.95"}]
        }))
        .unwrap()
    };
    let first = order("processing", "2026-11-21T19:15:00");
    assert_eq!(
        woo(&app, Some("order.created"), "d-1", &first, "wrong")
            .await
            .0,
        401
    );
    assert_eq!(
        woo(&app, Some("order.created"), "d-1", &first, WOO_SECRET)
            .await
            .1["status"],
        "applied"
    );
    assert_eq!(
        woo(&app, Some("order.created"), "d-1", &first, WOO_SECRET)
            .await
            .1["status"],
        "duplicate"
    );
    let done = order("completed", "2026-11-22T08:00:00");
    assert_eq!(
        woo(&app, Some("order.updated"), "d-2", &done, WOO_SECRET)
            .await
            .1["status"],
        "applied"
    );
    let late = order("processing", "2026-11-21T20:00:00");
    assert_eq!(
        woo(&app, Some("order.updated"), "d-3", &late, WOO_SECRET)
            .await
            .1["status"],
        "stale"
    );
    let (status, e) = woo(
        &app,
        Some("order.updated"),
        "d-4",
        br#"{"id": 727}"#,
        WOO_SECRET,
    )
    .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("invalid_payload"))
    );

    let store = app.running.engine.store();
    let contact = store
        .contact_by_email("jeroen.bakker@example.test")
        .await
        .unwrap()
        .expect("the customer became a contact");
    let orders = app.running.engine.orders_of(contact.id).await.unwrap();
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!(
        (o.number.as_str(), o.source.as_str(), o.status()),
        ("#727", "woocommerce", "shipped")
    );
    assert_eq!(o.lines[0].price, "89.95");
    assert_eq!(o.placed_at, 1_795_288_500_000, "GMT times read as UTC");
}

fn product(updated_at: &str, price: &str, qty: i64, status: &str) -> Value {
    json!({
        "id": 632910392, "title": "Batik tulis Parang", "handle": "batik-tulis-parang", "status": status,
        "product_type": "Kemeja", "vendor": "Batik Sari", "tags": "batik, tulis, solo",
        "updated_at": updated_at,
        "variants": [
            {"id": 1, "price": price, "inventory_quantity": qty, "inventory_management": "shopify"},
            {"id": 2, "price": "450000.00", "inventory_quantity": 1, "inventory_management": "shopify"}
        ]
    })
}

#[tokio::test]
async fn products_arrive_from_the_store_and_the_finder_searches_words_and_price() {
    let app = spawn_app().await;
    let budi = app.login("budi@shop.test").await;
    let (status, reply) = deliver(
        &app,
        "products/create",
        "p-1",
        &product("2026-11-20T10:00:00+07:00", "300000.00", 4, "active"),
        None,
    )
    .await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("applied")));
    let found = budi
        .json("/api/v1/products?q=parang%20batik&max_price=300000")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let p = &found[0];
    assert_eq!(p["price"], "300000.00", "the cheapest variant");
    assert_eq!(p["stock"], 5, "summed over tracked variants");
    assert_eq!(
        p["url"],
        "https://batik-sari.myshopify.com/products/batik-tulis-parang"
    );
    // Keywords count; the price range and every word must match.
    assert_eq!(
        budi.json("/api/v1/products?q=kemeja")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        budi.json("/api/v1/products?q=batik&max_price=299999.99")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        budi.json("/api/v1/products?q=batik%20sarung")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        budi.get("/api/v1/products?q=batik&max_price=cheap")
            .await
            .status(),
        422
    );

    // Replayed, older, tampered, malformed: nothing changes.
    let (_, reply) = deliver(
        &app,
        "products/create",
        "p-1",
        &product("2026-11-20T10:00:00+07:00", "1.00", 0, "active"),
        None,
    )
    .await;
    assert_eq!(reply["status"], "duplicate");
    let (_, reply) = deliver(
        &app,
        "products/update",
        "p-2",
        &product("2026-11-19T10:00:00+07:00", "1.00", 0, "active"),
        None,
    )
    .await;
    assert_eq!(reply["status"], "stale");
    let (status, _) = deliver(
        &app,
        "products/update",
        "p-3",
        &product("2026-11-21T10:00:00+07:00", "1.00", 0, "active"),
        Some("AAAA".into()),
    )
    .await;
    assert_eq!(status, 401);
    let mut no_variants = product("2026-11-21T10:00:00+07:00", "1.00", 0, "active");
    no_variants["variants"] = json!([]);
    let (status, body) = deliver(&app, "products/update", "p-4", &no_variants, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("variant"),
        "{body}"
    );
    assert_eq!(
        budi.json("/api/v1/products?q=batik").await[0]["price"],
        "300000.00"
    );

    // Archived: no longer offered; deleted: gone.
    deliver(
        &app,
        "products/update",
        "p-5",
        &product("2026-11-22T10:00:00+07:00", "300000.00", 4, "archived"),
        None,
    )
    .await;
    assert!(
        budi.json("/api/v1/products?q=batik")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    deliver(
        &app,
        "products/update",
        "p-6",
        &product("2026-11-23T10:00:00+07:00", "300000.00", 0, "active"),
        None,
    )
    .await;
    let sold_out = budi.json("/api/v1/products?q=batik").await;
    assert_eq!(sold_out[0]["stock"], 1);
    let (status, _) = deliver(
        &app,
        "products/delete",
        "p-7",
        &json!({"id": 632910392}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        budi.json("/api/v1/products?q=batik")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}
