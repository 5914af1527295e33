//! The knowledge base end to end: articles written through the agent API, found by the widget's
//! search in four languages (the relevance test set in `demo/relevance.csv`), shown by the
//! public help center, and every kind of bad input refused or made harmless.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use layan_core::Role;
use serde_json::{Value, json};

/// Writes the demo help center through the API as `admin`; returns article ids by slug.
async fn write_demo_help_center(admin: &Agent) -> std::collections::HashMap<String, i64> {
    let help = layan::demo::help_center().unwrap();
    let mut categories = std::collections::HashMap::new();
    for c in &help.category {
        let texts: Vec<Value> = c
            .texts
            .iter()
            .map(|(l, (name, description))| {
                json!({"locale": l, "name": name, "description": description})
            })
            .collect();
        let res = admin
            .call(
                "POST",
                "/api/v1/kb/categories",
                Some(json!({"slug": c.slug, "position": c.position, "texts": texts})),
            )
            .await;
        assert_eq!(res.status(), 201, "category {}", c.slug);
        let body: Value = res.json().await.unwrap();
        categories.insert(c.slug.clone(), body["id"].as_i64().unwrap());
    }
    let mut ids = std::collections::HashMap::new();
    for a in &help.article {
        let translations: Vec<Value> = a
            .translations
            .iter()
            .map(|(l, t)| json!({"locale": l, "title": t.title, "body": t.body, "status": "published"}))
            .collect();
        let category = a.category.as_ref().map(|c| categories[c]);
        let res = admin
            .call(
                "POST",
                "/api/v1/kb/articles",
                Some(
                    json!({"slug": a.slug, "category_id": category, "translations": translations}),
                ),
            )
            .await;
        assert_eq!(res.status(), 201, "article {}", a.slug);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["translations"].as_array().unwrap().len(), 4);
        ids.insert(a.slug.clone(), body["id"].as_i64().unwrap());
    }
    ids
}

async fn widget_search(site: &Site, locale: &str, q: &str) -> Vec<String> {
    let res = site
        .http
        .get(format!("{}/api/v1/widget/help/search", site.base))
        .query(&[("locale", locale), ("q", q), ("limit", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "search {locale} {q}");
    let body: Value = res.json().await.unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap().to_string())
        .collect()
}

async fn page(site: &Site, path: &str) -> (u16, String) {
    let res = site
        .http
        .get(format!("{}{path}", site.base))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_relevance_test_set_finds_the_right_article_in_the_top_three() {
    let app = spawn_app().await;
    let admin = app.login("ana@shop.test").await;
    write_demo_help_center(&admin).await;

    let csv = include_str!("../demo/relevance.csv");
    let mut failures = Vec::new();
    let (mut total, mut first) = (0, 0);
    let mut per_locale: std::collections::BTreeMap<&str, (u32, u32)> = Default::default();
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut cols = line.splitn(3, ',');
        let (locale, query, expected) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap(),
        );
        let found = widget_search(&app, locale, query).await;
        total += 1;
        let entry = per_locale.entry(locale).or_default();
        entry.1 += 1;
        if found.first().map(String::as_str) == Some(expected) {
            first += 1;
        }
        if found.iter().take(3).any(|s| s == expected) {
            entry.0 += 1;
        } else {
            failures.push(format!(
                "[{locale}] {query:?}: wanted {expected}, got {found:?}"
            ));
        }
    }
    println!("relevance: {first}/{total} first, top-3 by locale {per_locale:?}");
    assert!(total >= 56, "the test set has {total} queries");
    assert!(
        failures.is_empty(),
        "{} of {total} queries missed the top 3:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_help_center_shows_published_articles_per_language() {
    let app = spawn_app().await;
    let admin = app.login("ana@shop.test").await;
    let ids = write_demo_help_center(&admin).await;

    let (status, html) = page(&app, "/help/th").await;
    assert_eq!(status, 200);
    assert!(html.starts_with("<!doctype html><html lang=\"th\">"));
    assert!(html.contains("ศูนย์ช่วยเหลือ"));
    assert!(html.contains("href=\"/help/th/a/returns-and-exchanges\""));
    assert!(
        html.contains("Test shop"),
        "the shop's name brands the page"
    );
    assert!(!html.contains("<script"), "the help center runs no script");

    let (status, html) = page(&app, "/help/nl/a/returns-and-exchanges").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"nl\">"));
    assert!(html.contains("<h1>Retourneren en ruilen</h1>"));
    assert!(
        html.contains("<strong>30 dagen</strong>"),
        "markdown is rendered"
    );
    for l in ["en", "id", "th"] {
        assert!(
            html.contains(&format!(
                "<link rel=\"alternate\" hreflang=\"{l}\" href=\"/help/{l}/a/returns-and-exchanges\">"
            )),
            "links to the {l} translation"
        );
    }

    let (status, html) = page(&app, "/help/id/search?q=lupa+password").await;
    assert_eq!(status, 200);
    assert!(html.contains("/help/id/a/account-and-password"));
    assert!(html.contains("value=\"lupa password\""));

    let (status, html) = page(&app, "/help/nl/c/returns-payments").await;
    assert_eq!(status, 200);
    assert!(html.contains("Retour, terugbetaling &amp; betalen"));

    // A draft translation is not public: not on the page, not in search, not in the widget.
    let id = ids["size-guide"];
    let res = admin
        .call(
            "PUT",
            &format!("/api/v1/kb/articles/{id}/translations/nl"),
            Some(json!({"title": "Maattabel (concept)", "body": "geheime maattabel", "status": "draft"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (status, html) = page(&app, "/help/nl/a/size-guide").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("href=\"/help/en/a/size-guide\""),
        "offers the published languages"
    );
    assert!(!html.contains("geheime"));
    assert!(
        !widget_search(&app, "nl", "geheime maattabel")
            .await
            .contains(&"size-guide".to_string()),
        "a draft is not searchable"
    );
    let res = app
        .http
        .get(format!(
            "{}/api/v1/widget/help/articles/size-guide?locale=nl",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Published again: back at once (the index follows every change).
    admin
        .call(
            "PUT",
            &format!("/api/v1/kb/articles/{id}/translations/nl"),
            Some(json!({"title": "Maattabel", "body": "Kies de grotere maat bij twijfel.", "status": "published"})),
        )
        .await;
    assert_eq!(
        widget_search(&app, "nl", "twijfel maat").await[0],
        "size-guide"
    );

    // Deleting an article removes it from search and the site.
    let res = admin
        .call(
            "DELETE",
            &format!("/api/v1/kb/articles/{}", ids["caring-for-batik"]),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert!(
        !widget_search(&app, "en", "wash batik")
            .await
            .contains(&"caring-for-batik".to_string())
    );
    assert_eq!(page(&app, "/help/en/a/caring-for-batik").await.0, 404);

    // The widget reads an article as sanitised HTML.
    let res = app
        .http
        .get(format!(
            "{}/api/v1/widget/help/articles/payment-methods?locale=id",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        "*",
        "the widget calls it from the shop's origin"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["title"], "Metode pembayaran");
    assert!(body["html"].as_str().unwrap().contains("<p>"));
    assert_eq!(body["url"], "/help/id/a/payment-methods");
}

#[tokio::test]
async fn votes_count_once_per_visitor() {
    let app = spawn_app().await;
    let admin = app.login("ana@shop.test").await;
    let ids = write_demo_help_center(&admin).await;
    let vote = |cookie: Option<String>, helpful: &'static str| {
        let mut req = app
            .http
            .post(format!("{}/help/en/a/payment-methods/vote", app.base))
            .form(&[("helpful", helpful)]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let res = vote(None, "yes").await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/help/en/a/payment-methods?voted=1"
    );
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The same visitor changes their mind; another says yes.
    vote(Some(cookie), "no").await.unwrap();
    vote(None, "yes").await.unwrap();
    let bad = vote(None, "maybe").await.unwrap();
    assert_eq!(bad.status(), 400);
    let article = admin
        .json(&format!("/api/v1/kb/articles/{}", ids["payment-methods"]))
        .await;
    assert_eq!(
        (article["helpful"].as_i64(), article["unhelpful"].as_i64()),
        (Some(1), Some(1))
    );
    let (_, html) = page(&app, "/help/en/a/payment-methods?voted=1").await;
    assert!(html.contains("Thank you for your feedback!"));
    // Another site's form posting votes with its visitors' browsers: refused, not counted.
    for (name, value) in [
        ("origin", "https://votes.example.test"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .http
            .post(format!("{}/help/en/a/payment-methods/vote", app.base))
            .header(name, value)
            .form(&[("helpful", "no")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}");
    }
    let article = admin
        .json(&format!("/api/v1/kb/articles/{}", ids["payment-methods"]))
        .await;
    assert_eq!(article["unhelpful"].as_i64(), Some(1));
}

#[tokio::test]
async fn bad_input_is_refused_or_harmless() {
    let app = spawn_app().await;
    let admin = app.login("ana@shop.test").await;
    write_demo_help_center(&admin).await;

    // Script in markdown and in the title: rendered harmless on the page and in the widget.
    let res = admin
        .call(
            "POST",
            "/api/v1/kb/articles",
            Some(json!({"slug": "xss", "translations": [{
                "locale": "en",
                "title": "<img src=x onerror=alert(1)> Gift wrapping",
                "body": "Wrap <script>alert(2)</script> it. <a href=\"javascript:alert(3)\">x</a> \
                         <p onclick=\"alert(4)\">p</p> [y](javascript:alert(5))",
                "status": "published"}]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (status, html) = page(&app, "/help/en/a/xss").await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; Gift wrapping"));
    for bad in ["<script", "<img", "javascript:", "onclick"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    let res = app
        .http
        .get(format!(
            "{}/api/v1/widget/help/articles/xss?locale=en",
            app.base
        ))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let article_html = body["html"].as_str().unwrap();
    assert!(!article_html.contains("<script") && !article_html.contains("javascript:"));
    assert!(!article_html.contains("onclick"));

    // Queries: punctuation only, query syntax, regex characters, very long — 200, no error.
    for q in [
        "???!!!",
        "title:refund AND (returns OR",
        ".*[a-z]+$ \\d{3} (?i)",
        "\"unterminated",
        "+-&&||!(){}[]^~*?:\\/",
        "",
    ] {
        for l in ["en", "th"] {
            widget_search(&app, l, q).await;
            assert_eq!(
                page(&app, &format!("/help/{l}/search?q={}", url(q)))
                    .await
                    .0,
                200,
                "{q}"
            );
        }
    }
    let long = "refund ".repeat(5_000);
    assert_eq!(
        widget_search(&app, "en", &long).await[0],
        "when-do-i-get-my-refund"
    );

    // A locale that does not exist: a clear 404 offering the ones that do.
    let (status, html) = page(&app, "/help/fr").await;
    assert_eq!(status, 404);
    assert!(html.contains("href=\"/help/th\""));
    assert_eq!(page(&app, "/help/fr/a/payment-methods").await.0, 404);
    let res = app
        .http
        .get(format!(
            "{}/api/v1/widget/help/search?locale=xx&q=refund",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_locale");
    assert_eq!(page(&app, "/help/en/a/no-such-article").await.0, 404);

    // Writes with bad fields: clear 422s naming the field's rule, and nothing half-written.
    for (body, code) in [
        (json!({"slug": "Bad Slug"}), "invalid_slug"),
        (
            json!({"slug": "ok-slug", "translations": [{"locale": "fr", "title": "t", "status": "published"}]}),
            "unknown_locale",
        ),
        (
            json!({"slug": "ok-slug", "translations": [{"locale": "en", "title": " ", "status": "published"}]}),
            "invalid_title",
        ),
    ] {
        let res = admin.call("POST", "/api/v1/kb/articles", Some(body)).await;
        assert_eq!(res.status(), 422, "{code}");
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["error"]["code"], code);
    }
    let res = admin
        .call(
            "POST",
            "/api/v1/kb/articles",
            Some(json!({"slug": "payment-methods"})),
        )
        .await;
    assert_eq!(res.status(), 409);
    let res = admin
        .call(
            "POST",
            "/api/v1/kb/articles",
            Some(json!({"slug": "x", "translations": [{"locale": "en", "title": "t", "status": "maybe"}]})),
        )
        .await;
    assert_eq!(res.status(), 422);
    let slugs: Vec<String> = admin
        .json("/api/v1/kb/articles")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !slugs.contains(&"ok-slug".to_string()),
        "a refused article is not stored"
    );
}

fn url(q: &str) -> String {
    q.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn only_admins_and_supervisors_write_the_knowledge_base() {
    let app = spawn_app().await;
    let engine = &app.running.engine;
    engine
        .create_agent("sari@shop.test", "Sari", Role::Supervisor, PASSWORD)
        .await
        .unwrap();
    let budi = app.login("budi@shop.test").await;
    let sari = app.login("sari@shop.test").await;
    let article = json!({"slug": "gift-cards", "translations": [
        {"locale": "en", "title": "Gift cards", "body": "Gift cards never expire.", "status": "published"}]});
    let res = budi
        .call("POST", "/api/v1/kb/articles", Some(article.clone()))
        .await;
    assert_eq!(res.status(), 403);
    let res = sari
        .call("POST", "/api/v1/kb/articles", Some(article))
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Agents read and search (to link an article in a reply) but do not change.
    let hits = budi.json("/api/v1/kb/search?locale=en&q=gift+card").await;
    assert_eq!(hits["results"][0]["slug"], "gift-cards");
    let res = budi
        .call("DELETE", &format!("/api/v1/kb/articles/{id}"), None)
        .await;
    assert_eq!(res.status(), 403);
    // Without a session: 401; the changes are in the audit log.
    let res = app
        .http
        .get(format!("{}/api/v1/kb/articles", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let admin = app.login("ana@shop.test").await;
    let audit = admin.json("/api/v1/audit").await;
    assert!(audit.to_string().contains("kb_article_created"));
}

#[tokio::test]
async fn the_shipping_and_returns_policy_is_structured_checked_and_rendered_per_language() {
    let app = spawn_app().await;
    let ana = app.login("ana@shop.test").await;
    let budi = app.login("budi@shop.test").await;

    // None yet: clear 404s, no link on the home page.
    assert_eq!(ana.get("/api/v1/policies/shipping").await.status(), 404);
    let (status, html) = page(&app, "/help/en/shipping-returns").await;
    assert_eq!(status, 404);
    assert!(html.contains("has not published its shipping and returns policy"));
    assert!(!page(&app, "/help/en").await.1.contains("shipping-returns"));

    let mut policy = serde_json::to_value(layan::demo::shipping_policy().unwrap()).unwrap();
    policy["returns"]["exceptions"]["en"] =
        json!("<script>alert(1)</script> <img src=x onerror=alert(2)>");
    let res = budi
        .call("PUT", "/api/v1/policies/shipping", Some(policy.clone()))
        .await;
    assert_eq!(res.status(), 403, "agents do not edit the policy");
    let res = ana
        .call("PUT", "/api/v1/policies/shipping", Some(policy.clone()))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(ana.json("/api/v1/policies/shipping").await, policy);

    // Bad input: a clear 4xx naming the field, and the stored policy unchanged.
    let broken: Vec<(Value, u16, &str)> = vec![
        (
            {
                let mut p = policy.clone();
                p["processing_days"] = json!({"min": 5, "max": 2});
                p
            },
            422,
            "processing_days",
        ),
        (
            {
                let mut p = policy.clone();
                p["delivery_options"][1]["cost"] = json!("15,000");
                p
            },
            422,
            "delivery_options[1].cost",
        ),
        (
            {
                let mut p = policy.clone();
                p["currency"] = json!("rp");
                p
            },
            422,
            "currency",
        ),
        (
            {
                let mut p = policy.clone();
                p["delivery_options"] = json!([]);
                p
            },
            422,
            "delivery_options",
        ),
        (
            {
                let mut p = policy.clone();
                p["remote_areas"] = json!({"fr": "Loin"});
                p
            },
            422,
            "remote_areas",
        ),
        (
            {
                let mut p = policy.clone();
                p["returns"]["window_days"] = json!(-1);
                p
            },
            422,
            "window_days",
        ),
        (
            {
                let mut p = policy.clone();
                p["surprise"] = json!(true);
                p
            },
            422,
            "surprise",
        ),
        (
            {
                let mut p = policy.clone();
                p["duties"] = json!("maybe");
                p
            },
            422,
            "duties",
        ),
    ];
    for (body, status, field) in broken {
        let res = ana
            .call("PUT", "/api/v1/policies/shipping", Some(body))
            .await;
        assert_eq!(res.status().as_u16(), status, "{field}");
        let e: Value = res.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
    }
    assert_eq!(ana.json("/api/v1/policies/shipping").await, policy);

    // The page, per language: times, costs in the reader's number format, weekends, duties,
    // PO boxes, the return steps; the shop's text escaped.
    let expectations = [
        (
            "en",
            vec![
                "Orders are dispatched within 1–2 business days.",
                "before 14:00",
                "Rp15,000",
                "Free shipping on orders from Rp300,000.",
                "We do not dispatch on Saturdays and Sundays",
                "paid by you on delivery",
                "We cannot deliver to PO boxes.",
                "Drop the parcel at any JNE office.",
                "Cash on delivery: Rp5,000",
                "within 14 days of delivery",
                "<td>Same day</td>",
            ],
        ),
        (
            "id",
            vec![
                "Pesanan dikirim dalam 1–2 hari kerja.",
                "Rp15.000",
                "Gratis ongkir untuk pesanan mulai Rp300.000.",
                "Kami tidak dapat mengirim ke PO box.",
                "Antar paket ke kantor JNE mana saja.",
            ],
        ),
        (
            "th",
            vec![
                "เราจัดส่งคำสั่งซื้อภายใน 1–2 วันทำการ",
                "Rp15,000",
                "นำพัสดุไปส่งที่สาขา JNE ใดก็ได้",
                "เราไม่สามารถจัดส่งถึงตู้ ปณ. ได้",
            ],
        ),
        (
            "nl",
            vec![
                "Bestellingen worden binnen 1–2 werkdagen verzonden.",
                "Rp15.000",
                "Gratis verzending vanaf Rp300.000.",
                "We kunnen niet op postbussen bezorgen.",
                "Lever het pakket af bij een JNE-kantoor.",
                "<td>Dezelfde dag</td>",
            ],
        ),
    ];
    for (locale, wanted) in expectations {
        let (status, html) = page(&app, &format!("/help/{locale}/shipping-returns")).await;
        assert_eq!(status, 200, "{locale}");
        assert!(
            html.contains(&format!("<html lang=\"{locale}\"")),
            "{locale}"
        );
        assert!(
            html.contains("hreflang=\"th\" href=\"/help/th/shipping-returns\""),
            "{locale}"
        );
        for w in wanted {
            assert!(html.contains(w), "{locale}: {w:?} missing");
        }
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{locale}"
        );
        let home = page(&app, &format!("/help/{locale}")).await.1;
        assert!(
            home.contains(&format!("/help/{locale}/shipping-returns")),
            "{locale} home links it"
        );
    }
    assert!(
        page(&app, "/help/en/shipping-returns")
            .await
            .1
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert_eq!(page(&app, "/help/fr/shipping-returns").await.0, 404);

    // The same data for the widget and the bot, without signing in.
    let res = app
        .http
        .get(format!("{}/api/v1/widget/help/policy", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let data: Value = res.json().await.unwrap();
    assert_eq!(data["returns"]["window_days"], 14);
    assert_eq!(
        data["delivery_options"][2]["days"],
        json!({"min": 0, "max": 0})
    );
}
