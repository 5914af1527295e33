//! Conversation search through the message index: agents find old conversations by words inside
//! their messages in four languages, a message is findable the moment it is stored, and the
//! index only ever answers within the inboxes an agent may see.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn ids(list: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn conversation_of(app: &TestApp, body: &str, client: &str) -> i64 {
    let token = app.visitor().await;
    let res = app.visitor_send(&token, body, client).await;
    assert!(res.status().is_success(), "{}", res.status());
    let v: Value = res.json().await.unwrap();
    v["message"]["conversation_id"].as_i64().unwrap()
}

async fn indexed(app: &TestApp, at_least: u64) {
    for _ in 0..200 {
        if app.running.engine.indexed_messages() >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "the index holds {} messages, expected {at_least}",
        app.running.engine.indexed_messages()
    );
}

fn url(q: &str) -> String {
    let mut out = String::new();
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn agents_find_old_conversations_by_words_inside_them() {
    let app = spawn_app().await;
    let nl = conversation_of(
        &app,
        "Mijn bestelling is nog niet bezorgd in Utrecht",
        "nl-1",
    )
    .await;
    let th = conversation_of(&app, "ส่งของไปเชียงใหม่ใช้เวลากี่วันคะ", "th-1").await;
    let id = conversation_of(&app, "Paket saya belum sampai di Surabaya", "id-1").await;
    let en = conversation_of(&app, "The café mug arrived broken, I want a refund", "en-1").await;
    indexed(&app, 4).await;

    let ana = app.login("ana@shop.test").await;
    let search = |q: &str| {
        let path = format!("/api/v1/conversations?status=all&q={}", url(q));
        let ana = &ana;
        async move { ids(&ana.json(&path).await) }
    };
    assert_eq!(search("bezorgd").await, vec![nl]);
    assert_eq!(search("utrech").await, vec![nl], "the start of a word");
    assert_eq!(search("bestleling").await, vec![nl], "one typo");
    assert_eq!(
        search("ใช้เวลา").await,
        vec![th],
        "a Thai word inside a longer string"
    );
    assert_eq!(search("เชียงใหม่").await, vec![th]);
    assert_eq!(search("surabaya sampai").await, vec![id]);
    assert_eq!(
        search("CAFE refund").await,
        vec![en],
        "case and accents folded"
    );
    assert_eq!(
        search("refund utrecht").await,
        Vec::<i64>::new(),
        "all words in one message"
    );
    for noise in ["?!", "a:b OR (c", ".*", "\\"] {
        let res = ana
            .get(&format!(
                "/api/v1/conversations?status=all&q={}",
                url(noise)
            ))
            .await;
        assert_eq!(res.status(), 200, "{noise:?}");
    }

    // A message is found the moment it is stored, indexed yet or not.
    let token = app.visitor().await;
    app.visitor_send(&token, "ik wacht op mijn retourlabel", "nl-2")
        .await;
    let fresh = search("retourlabel").await;
    assert_eq!(fresh.len(), 1, "found before the indexer ran: {fresh:?}");

    // An agent outside the inbox finds nothing in it, by index or otherwise.
    let outsider = app
        .running
        .engine
        .create_agent(
            "citra@shop.test",
            "Citra",
            layan_core::Role::Agent,
            PASSWORD,
        )
        .await
        .unwrap();
    assert!(outsider.id.0 > 0);
    let citra = app.login("citra@shop.test").await;
    let seen = ids(&citra
        .json("/api/v1/conversations?status=all&q=bezorgd")
        .await);
    assert_eq!(seen, Vec::<i64>::new());
    let budi = app.login("budi@shop.test").await;
    let seen = ids(&budi
        .json("/api/v1/conversations?status=all&q=bezorgd")
        .await);
    assert_eq!(seen, vec![nl], "a member of the inbox finds it");
}

#[tokio::test]
async fn a_rebuild_indexes_everything_again_and_reports_progress() {
    let app = spawn_app().await;
    for i in 0..25 {
        conversation_of(
            &app,
            &format!("vraag nummer {i} over levering"),
            &format!("c-{i}"),
        )
        .await;
    }
    indexed(&app, 25).await;
    let mut reports = Vec::new();
    let done = app
        .running
        .engine
        .rebuild_message_index(|done, total| reports.push((done, total)))
        .await
        .unwrap();
    assert_eq!(done, 25);
    assert_eq!(reports.first(), Some(&(0, 25)));
    assert_eq!(reports.last(), Some(&(25, 25)));
    assert_eq!(app.running.engine.indexed_messages(), 25);
    let ana = app.login("ana@shop.test").await;
    let found = ana
        .json("/api/v1/conversations?status=all&q=levering")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 25);
    // The indexer goes on from where the rebuild ended: nothing twice, nothing missed.
    conversation_of(&app, "nog een vraag over levering", "c-last").await;
    indexed(&app, 26).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.running.engine.indexed_messages(), 26);
}
