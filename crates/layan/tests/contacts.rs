//! One customer across channels: the profile with identities, orders, lifetime value and a
//! timeline; identities in their normal form; suggested duplicates and the audited merge;
//! proactive messages (once per order, quiet hours); privacy (export, erasure, Shopify's
//! privacy webhooks).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use layan_engine::identity::sign_identity;
use serde_json::{Value, json};

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

const DAY: i64 = 86_400_000;

/// A Shopify order of `email`, placed `placed_days_ago`, fulfilled by JNE with a shipment that
/// was expected `expected_days_ago` (negative: in the future).
fn order(
    id: u64,
    number: &str,
    email: &str,
    placed_days_ago: i64,
    expected_days_ago: Option<i64>,
) -> Value {
    let now = layan_core::now_millis();
    let fulfillments = match expected_days_ago {
        Some(d) => json!([{
            "id": id + 1, "order_id": id, "status": "success", "tracking_company": "JNE",
            "tracking_number": format!("JNE{id}"),
            "tracking_url": format!("https://www.jne.co.id/tracking?awb=JNE{id}"),
            "shipment_status": "in_transit",
            "estimated_delivery_at": rfc3339(now - d * DAY),
            "updated_at": rfc3339(now - placed_days_ago * DAY + 3_600_000),
        }]),
        None => json!([]),
    };
    json!({
        "id": id, "name": number, "email": email, "currency": "IDR", "total_price": "450000.00",
        "financial_status": "paid",
        "fulfillment_status": if expected_days_ago.is_some() { json!("fulfilled") } else { Value::Null },
        "cancelled_at": null,
        "created_at": rfc3339(now - placed_days_ago * DAY),
        "updated_at": rfc3339(now - placed_days_ago * DAY + 3_600_000),
        "customer": {"id": id + 7, "email": email, "first_name": "Sari", "last_name": "Wulandari"},
        "line_items": [{"title": "Batik tulis Parang", "variant_title": "M", "quantity": 1, "price": "450000.00"}],
        "fulfillments": fulfillments,
    })
}

/// Sari's signed-in widget session: her first message; returns (token, conversation id).
async fn sari_chats(app: &TestApp, text: &str) -> (String, i64) {
    let now = layan_core::now_millis() / 1000;
    let identity = sign_identity(
        IDENTITY_SECRET,
        "sari@example.test",
        Some("Sari"),
        now + 600,
    );
    let res: Value = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": KEY, "identity": identity}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = res["token"].as_str().unwrap().to_owned();
    let sent: Value = app
        .visitor_send(&token, text, "s-1")
        .await
        .json()
        .await
        .unwrap();
    (token, sent["message"]["conversation_id"].as_i64().unwrap())
}

async fn messages(agent: &Agent, conversation: i64) -> Vec<String> {
    agent
        .json(&format!("/api/v1/conversations/{conversation}/messages"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_customer_across_widget_and_store_with_duplicates_merged() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;

    // The store tells us about Sari's order; she chats as a signed-in shopper.
    let (status, _) = deliver(
        &app,
        "orders/create",
        "e-1",
        &order(5001, "#1042", "sari@example.test", 2, None),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, conv) = sari_chats(&app, "Halo, kapan pesanan saya dikirim?").await;

    // Someone also wrote through the offline form with her name and address (typed,
    // unverified): a separate customer, suggested by the name only — a typed address proves
    // nothing and never suggests a merge.
    let anonymous = app.visitor().await;
    let res = app
        .visitor_leaves_message(
            &anonymous,
            "sari wulandari",
            "Sari@Example.test",
            "Saya sudah transfer kemarin",
            "o-1",
        )
        .await;
    assert_eq!(res.status(), 201);
    let offline_conv = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();

    let profile = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await;
    let sari = profile["contact"]["id"].as_i64().unwrap();
    assert_eq!(profile["order_count"], 1);
    assert_eq!(
        profile["lifetime_value"],
        json!([{"currency": "IDR", "total": "450000.00"}])
    );
    let kinds: Vec<&str> = profile["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"email") && kinds.contains(&"widget_identified"),
        "{kinds:?}"
    );
    // Session identities never show their hashes.
    assert!(
        profile["identities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] == "email" || i["value"].is_null())
    );
    let timeline = profile["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert_eq!(timeline[0]["kind"], "conversation");
    assert_eq!(timeline[0]["preview"], "Halo, kapan pesanan saya dikirim?");
    assert_eq!(timeline[1]["kind"], "order");
    assert_eq!(timeline[1]["number"], "#1042");

    let dups = budi
        .json(&format!("/api/v1/contacts/{sari}/duplicates"))
        .await;
    let dups = dups.as_array().unwrap();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups[0]["reason"], "same_name");
    let other = dups[0]["contact"]["id"].as_i64().unwrap();
    assert_ne!(other, sari);

    // Agents do not merge; nobody merges a customer with itself or with someone unknown.
    let res = budi
        .post(
            &format!("/api/v1/contacts/{sari}/merge"),
            json!({"from": other}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/merge"),
            json!({"from": sari}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "merge_self"
    );
    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/merge"),
            json!({"from": 999_999}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/merge"),
            json!({"from": "x"}),
        )
        .await;
    assert_eq!(res.status(), 422);

    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/merge"),
            json!({"from": other}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(outcome["conversations"][0], offline_conv);
    // The merged visitor's anonymous widget session ended with the merge: whoever typed her
    // address does not get her history through it.
    assert_eq!(app.visitor_messages(&anonymous, conv).await.status(), 401);
    assert_eq!(
        app.visitor_messages(&anonymous, offline_conv)
            .await
            .status(),
        401
    );

    // One customer with both conversations and the order; the other is gone.
    let profile = budi.json(&format!("/api/v1/contacts/{sari}")).await;
    let convs = profile["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "conversation")
        .count();
    assert_eq!(convs, 2);
    assert_eq!(profile["contact"]["name"], "Sari Wulandari");
    assert_eq!(
        budi.get(&format!("/api/v1/contacts/{other}"))
            .await
            .status(),
        404
    );
    assert!(
        budi.json(&format!("/api/v1/contacts/{sari}/duplicates"))
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Audited with what the merged customer was.
    let audit = ana.json("/api/v1/audit").await;
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "contacts_merged")
        .unwrap();
    assert!(
        entry["detail"].as_str().unwrap().contains("sari wulandari"),
        "{entry}"
    );

    // An agent outside the inbox does not see the customer at all.
    app.running
        .engine
        .create_agent("cici@shop.test", "Cici", layan_core::Role::Agent, PASSWORD)
        .await
        .unwrap();
    let cici = app.login("cici@shop.test").await;
    assert_eq!(
        cici.get(&format!("/api/v1/contacts/{sari}")).await.status(),
        404
    );
    assert_eq!(
        cici.get(&format!("/api/v1/contacts/{sari}/duplicates"))
            .await
            .status(),
        404
    );
    let res = cici
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{sari}"),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn identities_and_profile_fields_have_one_normal_form() {
    let app = spawn_app().await;
    let budi = app.login("budi@shop.test").await;
    let (_, conv) = sari_chats(&app, "halo").await;
    let sari = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();

    // A local number is read with the shop's country (ID): stored in E.164.
    let res = budi
        .post(
            &format!("/api/v1/contacts/{sari}/identities"),
            json!({"kind": "whatsapp", "value": "0812-3456-7890"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.unwrap()["value"],
        "+6281234567890"
    );
    // Written another way, it is the same identity.
    let res = budi
        .post(
            &format!("/api/v1/contacts/{sari}/identities"),
            json!({"kind": "whatsapp", "value": "+62 812 3456 7890"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "identity_exists"
    );

    // Another customer cannot take it: that is a merge.
    let t2 = app.visitor().await;
    let c2 = app
        .visitor_send(&t2, "hi", "x-1")
        .await
        .json::<Value>()
        .await
        .unwrap()["message"]["conversation_id"]
        .as_i64()
        .unwrap();
    let other = budi
        .json(&format!("/api/v1/conversations/{c2}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    let res = budi
        .post(
            &format!("/api/v1/contacts/{other}/identities"),
            json!({"kind": "whatsapp", "value": "6281234567890"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "identity_taken"
    );

    for (kind, value) in [
        ("phone", "12ab"),
        ("phone", "0812"),
        ("fax", "123"),
        ("line", "sari"),
        ("widget_visitor", "x"),
        ("email", "not-an-address"),
    ] {
        let res = budi
            .post(
                &format!("/api/v1/contacts/{sari}/identities"),
                json!({"kind": kind, "value": value}),
            )
            .await;
        assert_eq!(res.status(), 422, "{kind} {value}");
    }

    // The profile: phone in E.164, language checked, attributes flat.
    let res = budi
        .call("PATCH", &format!("/api/v1/contacts/{sari}"), Some(json!({"phone": "+31 (0)6 1234 5678", "locale": "nl", "notes": "Prefers JNE", "attributes": {"vip": true, "size": "M"}})))
        .await;
    assert_eq!(res.status(), 200);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["phone"], "+31612345678");
    assert_eq!(c["locale"], "nl");
    assert_eq!(c["attributes"]["vip"], true);
    for bad in [
        json!({"phone": "call me"}),
        json!({"locale": "fr"}),
        json!({"attributes": {"a": {"b": 1}}}),
        json!({"attributes": {"Bad Key": 1}}),
        json!({"colour": "red"}),
    ] {
        let res = budi
            .call(
                "PATCH",
                &format!("/api/v1/contacts/{sari}"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    // Nothing of the refused edits was written.
    let c = budi.json(&format!("/api/v1/contacts/{sari}")).await;
    assert_eq!(c["contact"]["phone"], "+31612345678");
    // Clearing a field.
    let res = budi
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{sari}"),
            Some(json!({"phone": ""})),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["phone"], Value::Null);

    // Removing an identity; session identities are not the agent's to remove.
    let res = budi
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{sari}/identities/whatsapp/%2B6281234567890"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = budi
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{sari}/identities/whatsapp/%2B6281234567890"),
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
}

async fn wait_for_message(agent: &Agent, conversation: i64, needle: &str) -> Vec<String> {
    for _ in 0..100 {
        let bodies = messages(agent, conversation).await;
        if bodies.iter().any(|b| b.contains(needle)) {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message with {needle:?} in conversation {conversation}");
}

#[tokio::test]
async fn a_late_shipment_and_a_delivery_each_bring_one_message_in_the_customers_language() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;

    // Rules are checked by field, and only admins change them.
    let mut rules = json!({
        "late_shipment": {"enabled": true, "grace_hours": 0},
        "unfulfilled": {"enabled": true, "after_days": 5},
        "after_delivery": {"enabled": true, "days": 3, "survey": "csat"},
        "lookback_days": 30
    });
    assert_eq!(
        budi.call("PUT", "/api/v1/proactive", Some(rules.clone()))
            .await
            .status(),
        403
    );
    let mut bad = rules.clone();
    bad["after_delivery"]["days"] = json!(0);
    let res = ana.call("PUT", "/api/v1/proactive", Some(bad)).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("after_delivery.days")
    );
    assert_eq!(
        ana.call("PUT", "/api/v1/proactive", Some(rules.clone()))
            .await
            .status(),
        200
    );

    // Sari speaks Indonesian with us; her order's shipment was expected two days ago.
    let (_, conv) = sari_chats(&app, "Halo").await;
    let sari = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    budi.call(
        "PATCH",
        &format!("/api/v1/contacts/{sari}"),
        Some(json!({"locale": "id"})),
    )
    .await;
    let (status, _) = deliver(
        &app,
        "orders/create",
        "p-1",
        &order(6001, "#2001", "sari@example.test", 6, Some(2)),
        None,
    )
    .await;
    assert_eq!(status, 200);

    let bodies = wait_for_message(&budi, conv, "#2001").await;
    let late: Vec<&String> = bodies.iter().filter(|b| b.contains("#2001")).collect();
    assert_eq!(late.len(), 1);
    assert!(
        late[0].starts_with("Halo Sari,")
            && late[0].contains("JNE")
            && late[0].contains("https://www.jne.co.id/tracking?awb=JNE6001"),
        "{}",
        late[0]
    );
    // Several sweeps later still one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        messages(&budi, conv)
            .await
            .iter()
            .filter(|b| b.contains("#2001"))
            .count(),
        1
    );

    // The carrier reports delivery four days ago: the follow-up asks how it went (once).
    let event = json!({"id": 1, "fulfillment_id": 6002, "order_id": 6001, "status": "delivered",
        "happened_at": rfc3339(layan_core::now_millis() - 4 * DAY)});
    let (status, _) = deliver(&app, "fulfillment_events/create", "p-2", &event, None).await;
    assert_eq!(status, 200);
    let bodies = wait_for_message(&budi, conv, "1 (buruk) sampai 5").await;
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.contains("1 (buruk) sampai 5"))
            .count(),
        1
    );
    let orders = budi
        .json(&format!("/api/v1/conversations/{conv}/orders"))
        .await;
    assert_eq!(orders[0]["status"], "delivered");

    // A customer who never wrote: an order unfulfilled for a week opens a conversation agents see.
    let (status, _) = deliver(
        &app,
        "orders/create",
        "p-3",
        &order(7001, "#2002", "joko@example.test", 7, None),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut opened = None;
    for _ in 0..100 {
        let list = budi.json("/api/v1/conversations?view=all").await;
        if let Some(c) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["contact_email"] == "joko@example.test")
        {
            opened = Some(c["id"].as_i64().unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opened = opened.expect("a conversation for the unfulfilled order");
    let bodies = wait_for_message(&budi, opened, "#2002").await;
    assert!(
        bodies[0].starts_with("Hi Sari,") && bodies[0].contains("hasn't shipped"),
        "{bodies:?}"
    );

    // Quiet hours around now: a new late order waits, its job postponed to their end.
    let now_minute = (layan_core::now_millis() / 60_000) % (24 * 60);
    let hhmm = |m: i64| {
        format!(
            "{:02}:{:02}",
            m.rem_euclid(1440) / 60,
            m.rem_euclid(1440) % 60
        )
    };
    rules["quiet_hours"] = json!({"start": hhmm(now_minute - 60), "end": hhmm(now_minute + 60), "utc_offset_minutes": 0});
    assert_eq!(
        ana.call("PUT", "/api/v1/proactive", Some(rules))
            .await
            .status(),
        200
    );
    deliver(
        &app,
        "orders/create",
        "p-4",
        &order(8001, "#2003", "sari@example.test", 6, Some(2)),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !messages(&budi, conv)
            .await
            .iter()
            .any(|b| b.contains("#2003"))
    );
    let jobs = ana.json("/api/v1/jobs?status=queued").await;
    let waiting = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == "proactive.send")
        .expect("a postponed job");
    assert!(
        waiting["run_at"].as_i64().unwrap() > layan_core::now_millis() + 30 * 60_000,
        "{waiting}"
    );
}

#[tokio::test]
async fn a_customer_is_exported_and_erased_and_cannot_be_found_any_more() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;
    deliver(
        &app,
        "orders/create",
        "x-1",
        &order(9001, "#3001", "sari@example.test", 1, None),
        None,
    )
    .await;
    let (token, conv) = sari_chats(&app, "Alamat saya Jalan Kenanga nomor tujuh").await;
    budi.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"body": "Baik, kami catat Kenanga"}),
    )
    .await;
    let sari = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();

    // Found by search, through the index.
    for _ in 0..100 {
        if app.running.engine.indexed_messages() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = budi.json("/api/v1/conversations?view=all&q=kenanga").await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    // Export: admins and supervisors; everything but private notes.
    assert_eq!(
        budi.get(&format!("/api/v1/contacts/{sari}/export"))
            .await
            .status(),
        403
    );
    let export = ana.json(&format!("/api/v1/contacts/{sari}/export")).await;
    assert_eq!(export["orders"][0]["number"], "#3001");
    let bodies: Vec<&str> = export["conversations"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&"Alamat saya Jalan Kenanga nomor tujuh"),
        "{bodies:?}"
    );

    // Erasure: admins only, confirmed.
    let res = budi
        .post(
            &format!("/api/v1/contacts/{sari}/erase"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/erase"),
            json!({"confirm": false}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = ana
        .post(
            &format!("/api/v1/contacts/{sari}/erase"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let erased: Value = res.json().await.unwrap();
    assert_eq!(erased["orders"], 1);
    assert!(erased["messages"].as_u64().unwrap() >= 2);

    let bodies = messages(&budi, conv).await;
    assert!(bodies.iter().all(|b| !b.contains("Kenanga")), "{bodies:?}");
    assert!(bodies.iter().any(|b| b == layan_engine::contacts::REDACTED));
    assert!(
        budi.json("/api/v1/conversations?view=all&q=kenanga")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let hits = app
        .running
        .engine
        .search_conversations("kenanga", None)
        .await
        .unwrap();
    assert!(
        hits.conversations.is_empty(),
        "the index still finds the erased words"
    );
    let profile = budi.json(&format!("/api/v1/contacts/{sari}")).await;
    assert_eq!(profile["contact"]["name"], Value::Null);
    assert_eq!(profile["order_count"], 0);
    assert!(profile["identities"].as_array().unwrap().is_empty());
    // Her old widget session is gone with her identities.
    assert_eq!(app.visitor_messages(&token, conv).await.status(), 401);
    let audit = ana.json("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "contact_erased")
    );
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "contact_exported")
    );
}

#[tokio::test]
async fn shopifys_privacy_webhooks_erase_and_record() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    deliver(
        &app,
        "orders/create",
        "r-1",
        &order(9101, "#4001", "rina@example.test", 1, None),
        None,
    )
    .await;
    deliver(
        &app,
        "orders/create",
        "r-2",
        &order(9102, "#4002", "rina@example.test", 1, None),
        None,
    )
    .await;

    let request = json!({"shop_id": 1, "shop_domain": "batik-sari.myshopify.com",
        "customer": {"id": 9108, "email": "rina@example.test", "phone": null},
        "orders_requested": [9101, 9102], "data_request": {"id": 77}});
    let (status, _) = deliver(&app, "customers/data_request", "r-3", &request, None).await;
    assert_eq!(status, 200);
    let audit = ana.json("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "data_request_received")
    );

    // Tampered and malformed: refused, nothing erased.
    let redact = json!({"shop_id": 1, "shop_domain": "batik-sari.myshopify.com",
        "customer": {"id": 9108, "email": "rina@example.test"}, "orders_to_redact": [9101, 9102]});
    let (status, _) = deliver(
        &app,
        "customers/redact",
        "r-4",
        &redact,
        Some("bm90IHRoZSBzaWduYXR1cmU=".into()),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = deliver(
        &app,
        "customers/redact",
        "r-5",
        &json!({"customer": "rina"}),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let contact = app
        .running
        .engine
        .store()
        .contact_by_email("rina@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.running
            .engine
            .store()
            .orders_of_contact(contact.id, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let (status, _) = deliver(&app, "customers/redact", "r-6", &redact, None).await;
    assert_eq!(status, 200);
    assert!(
        app.running
            .engine
            .store()
            .contact_by_email("rina@example.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.running
            .engine
            .store()
            .orders_of_contact(contact.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Delivered again: still fine.
    let (status, _) = deliver(&app, "customers/redact", "r-7", &redact, None).await;
    assert_eq!(status, 200);
    // The same event again: recognised, nothing done twice.
    let (status, body) = deliver(&app, "customers/redact", "r-7", &redact, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
}

/// Headers are outside the signature. A captured, correctly signed `orders/create` replayed
/// with `X-Shopify-Topic: customers/redact` (or `products/delete`) erases nothing: the body is
/// not that topic's shape (400). A genuine redact body signed for another shop is refused, and
/// so is a delivery naming another shop in `X-Shopify-Shop-Domain`; product links come from the
/// configured shop, never the header.
#[tokio::test]
async fn replayed_shopify_webhooks_with_other_headers_do_no_harm() {
    let app = spawn_app().await;
    let store = app.running.engine.store();
    let body = order(9201, "#4101", "sinta@example.test", 1, None);
    let (status, _) = deliver(&app, "orders/create", "o-1", &body, None).await;
    assert_eq!(status, 200);
    let contact = store
        .contact_by_email("sinta@example.test")
        .await
        .unwrap()
        .expect("the order's customer");
    for topic in [
        "customers/redact",
        "customers/data_request",
        "products/delete",
    ] {
        let (status, answer) = deliver(&app, topic, "o-1", &body, None).await;
        assert_eq!(status, 400, "{topic}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_payload");
    }
    assert_eq!(
        store.orders_of_contact(contact.id, 10).await.unwrap().len(),
        1,
        "nothing erased"
    );
    assert!(
        store
            .contact_by_email("sinta@example.test")
            .await
            .unwrap()
            .is_some()
    );

    // A real redact body, for another shop (the same app's secret signs every shop's hooks).
    let other = json!({"shop_id": 2, "shop_domain": "other-shop.myshopify.com",
        "customer": {"id": 1, "email": "sinta@example.test"}, "orders_to_redact": [9201]});
    let (status, _) = deliver(&app, "customers/redact", "x-1", &other, None).await;
    assert_eq!(status, 400);
    assert!(
        store
            .contact_by_email("sinta@example.test")
            .await
            .unwrap()
            .is_some()
    );

    // Any topic delivered under another shop's name writes nothing.
    let raw = serde_json::to_vec(&order(9202, "#4102", "sinta@example.test", 1, None)).unwrap();
    let res = app
        .http
        .post(format!("{}/api/v1/webhooks/shopify", app.base))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-event-id", "o-2")
        .header("x-shopify-shop-domain", "evil.example.test")
        .header("x-shopify-hmac-sha256", sign(&raw, SHOPIFY_SECRET))
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        store.orders_of_contact(contact.id, 10).await.unwrap().len(),
        1
    );

    // A product's link is on the configured shop, whatever a header says.
    let product = json!({"id": 77, "title": "Batik Kawung", "handle": "batik-kawung",
        "status": "active", "updated_at": "2026-11-01T10:00:00+07:00",
        "variants": [{"price": "250000"}]});
    let raw = serde_json::to_vec(&product).unwrap();
    let res = app
        .http
        .post(format!("{}/api/v1/webhooks/shopify", app.base))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-event-id", "p-1")
        .header("x-shopify-hmac-sha256", sign(&raw, SHOPIFY_SECRET))
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ana = app.login("ana@shop.test").await;
    let found = ana.json("/api/v1/products?q=kawung").await;
    assert_eq!(
        found[0]["url"], "https://batik-sari.myshopify.com/products/batik-kawung",
        "{found}"
    );
}

/// A stranger types a customer's address into "leave a message": the address stays unverified
/// (the contact is not suggested as the customer's duplicate by it, the customer's orders are
/// not matched to it), and the customer's profile has no suggestion to merge the stranger in.
#[tokio::test]
async fn a_typed_email_suggests_no_merge_and_matches_no_orders() {
    let app = spawn_app().await;
    let budi = app.login("budi@shop.test").await;
    let (status, _) = deliver(
        &app,
        "orders/create",
        "t-1",
        &order(5101, "#2042", "dewi@example.test", 1, None),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let stranger = app.visitor().await;
    let res = app
        .visitor_leaves_message(
            &stranger,
            "Mallory",
            "dewi@example.test",
            "where is my order #2042",
            "s-1",
        )
        .await;
    assert_eq!(res.status(), 201);
    let conv = res.json::<Value>().await.unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let profile = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await;
    let mallory = profile["contact"]["id"].as_i64().unwrap();
    assert_eq!(profile["contact"]["email"], "dewi@example.test");
    assert_eq!(profile["order_count"], 0, "no orders by a typed address");
    assert!(
        profile["identities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "email"),
        "a typed address is no identity: {profile}"
    );
    let dups = budi
        .json(&format!("/api/v1/contacts/{mallory}/duplicates"))
        .await;
    assert_eq!(dups, json!([]), "no merge suggested by a typed address");
    let dewi = app
        .running
        .engine
        .store()
        .contact_by_email("dewi@example.test")
        .await
        .unwrap()
        .unwrap();
    let ana = app.login("ana@shop.test").await;
    let dups = ana
        .json(&format!("/api/v1/contacts/{}/duplicates", dewi.id.0))
        .await;
    assert_eq!(dups, json!([]));
}

/// An erasure leaves no trace on disk: a word written by the customer, quoted by the agent, in
/// the name of a file and in its content, in the contact's name and notes, in an order's email
/// and in the search index, is in no file under the data directory once the server stopped
/// (SQLite zeroes deleted content and the log is checkpointed; the index's segments holding
/// the old messages are merged away). SQLite only: PostgreSQL's files are the server's.
#[tokio::test]
async fn an_erased_customer_leaves_no_trace_in_the_data_directory() {
    if layan_store::testing::selected() != layan_store::testing::Backend::Sqlite {
        eprintln!("!!! SKIPPING the on-disk erasure check: it reads SQLite's files");
        return;
    }
    const CANARY: &str = "Zq7kanari";
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let email = "pelanggan.zq7kanari@example.test";
    let now = layan_core::now_millis() / 1000;
    let identity = sign_identity(IDENTITY_SECRET, email, Some("Zq7kanari Putri"), now + 600);
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
    let sent: Value = app
        .visitor_send(&token, "kode rahasia saya Zq7kanari tolong dicek", "c-1")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["message"]["conversation_id"].as_i64().unwrap();
    let (status, _) = deliver(
        &app,
        "orders/create",
        "k-1",
        &order(5301, "#5301", email, 1, None),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let upload = app
        .http
        .post(format!(
            "{}/api/v1/conversations/{conv}/attachments?filename=Zq7kanari-bukti.txt",
            app.base
        ))
        .header("cookie", format!("layan_session={}", ana.cookie))
        .header("x-csrf-token", &ana.csrf)
        .header("content-type", "text/plain")
        .body("isi file Zq7kanari rahasia")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    let file: Value = upload.json().await.unwrap();
    let res = ana
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "Anda menulis: Zq7kanari. Terlampir.", "attachment_ids": [file["id"]]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let contact = ana
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    let res = ana
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{contact}"),
            Some(json!({"name": "Zq7kanari Putri Baru", "notes": "catatan Zq7kanari"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut found = Value::Null;
    for _ in 0..200 {
        found = ana.json("/api/v1/conversations?view=all&q=zq7kanari").await;
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.as_array().unwrap().len(), 1, "indexed first");

    let res = ana
        .post(
            &format!("/api/v1/contacts/{contact}/erase"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let TestApp { running, dir, .. } = app;
    running.stop().await.unwrap();

    let mut files = vec![dir.path().to_path_buf()];
    let mut holding = Vec::new();
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        read += 1;
        let lower = bytes.to_ascii_lowercase();
        if lower
            .windows(CANARY.len())
            .any(|w| w == CANARY.to_ascii_lowercase().as_bytes())
        {
            holding.push(path.display().to_string());
        }
    }
    assert!(
        read > 3,
        "the database and the index were read ({read} files)"
    );
    assert!(
        holding.is_empty(),
        "the erased word is still in {holding:?}"
    );
}

/// The OpenAPI document's bounds for the proactive rules are the server's: for every bounded
/// number, the document's minimum and maximum are accepted and one beyond each is refused.
#[tokio::test]
async fn the_proactive_rules_bounds_in_the_api_document_are_the_servers() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let doc: Value = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let base = json!({
        "late_shipment": {"enabled": true, "grace_hours": 24},
        "unfulfilled": {"enabled": true, "after_days": 5},
        "after_delivery": {"enabled": true, "days": 3, "survey": "csat"},
        "quiet_hours": {"start": "21:00", "end": "08:00", "utc_offset_minutes": 420},
        "lookback_days": 30
    });
    let fields = [
        (
            "LateShipmentRule",
            "grace_hours",
            &["late_shipment", "grace_hours"][..],
        ),
        (
            "UnfulfilledRule",
            "after_days",
            &["unfulfilled", "after_days"][..],
        ),
        ("AfterDeliveryRule", "days", &["after_delivery", "days"][..]),
        (
            "QuietHours",
            "utc_offset_minutes",
            &["quiet_hours", "utc_offset_minutes"][..],
        ),
        ("ProactiveRules", "lookback_days", &["lookback_days"][..]),
    ];
    for (schema, field, path) in fields {
        let prop = &schemas[schema]["properties"][field];
        let (Some(min), Some(max)) = (prop["minimum"].as_i64(), prop["maximum"].as_i64()) else {
            panic!("{schema}.{field} has no bounds in the document: {prop}");
        };
        for (value, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
            // Below zero is not even a number the field takes (an unsigned one): refused too.
            let mut rules = base.clone();
            let mut at = &mut rules;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = json!(value);
            let status = ana
                .call("PUT", "/api/v1/proactive", Some(rules))
                .await
                .status()
                .as_u16();
            assert_eq!(
                status == 200,
                ok,
                "{schema}.{field} = {value}: the server answered {status}"
            );
        }
    }
}

/// Carriers' events arrive out of order: a "delivered" event dated before the fulfilment's last
/// update still marks the shipment delivered, and in-transit reports after it (older, or even
/// newer) do not undo it — so the after-delivery follow-up goes.
#[tokio::test]
async fn a_delivered_event_dated_before_the_fulfilments_update_still_counts() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;
    let rules = json!({
        "late_shipment": {"enabled": false, "grace_hours": 24},
        "unfulfilled": {"enabled": false},
        "after_delivery": {"enabled": true, "days": 3, "survey": "csat"},
        "lookback_days": 30
    });
    assert_eq!(
        ana.call("PUT", "/api/v1/proactive", Some(rules))
            .await
            .status(),
        200
    );
    let (_, conv) = sari_chats(&app, "Halo").await;
    let sari = budi
        .json(&format!("/api/v1/conversations/{conv}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    budi.call(
        "PATCH",
        &format!("/api/v1/contacts/{sari}"),
        Some(json!({"locale": "id"})),
    )
    .await;
    // The fulfilment was last updated an hour ago (in transit).
    let now = layan_core::now_millis();
    let mut o = order(6101, "#2101", "sari@example.test", 6, Some(1));
    o["fulfillments"][0]["updated_at"] = json!(rfc3339(now - 3_600_000));
    o["updated_at"] = json!(rfc3339(now - 3_600_000));
    let (status, _) = deliver(&app, "orders/create", "d-1", &o, None).await;
    assert_eq!(status, 200);
    // Delivered four days ago, reported now; then in-transit reports older and newer.
    for (key, status, at) in [
        ("d-2", "delivered", now - 4 * DAY),
        ("d-3", "in_transit", now - 5 * DAY),
        ("d-4", "in_transit", now - 60_000),
    ] {
        let event = json!({"id": 1, "fulfillment_id": 6102, "order_id": 6101, "status": status,
            "happened_at": rfc3339(at)});
        let (code, _) = deliver(&app, "fulfillment_events/create", key, &event, None).await;
        assert_eq!(code, 200);
    }
    let orders = budi
        .json(&format!("/api/v1/conversations/{conv}/orders"))
        .await;
    assert_eq!(orders[0]["status"], "delivered", "{orders}");
    wait_for_message(&budi, conv, "1 (buruk) sampai 5").await;
}
