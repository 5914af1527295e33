//! The demo shop: a batik shop with four agents in two teams, two website chat inboxes (Asia
//! and Europe, each with its own automatic assignment), canned responses in four languages and
//! conversations in Indonesian, Thai, Dutch and English, and a help center in the four languages
//! (`demo/help_center.toml`). Seeded once into an empty database.

use layan_core::{
    Author, AutoAssign, ConversationStatus, Direction, Locale, MessageBody, NewMessage, Role,
    Target,
};
use layan_engine::{Engine, EngineError};
use layan_store::{InboxChanges, NewCanned, NewContact, NewInbox};

/// The demo's password for every agent (printed at start-up; the demo is for clicking through).
pub const DEMO_PASSWORD: &str = "layan-demo-2026";
/// The demo inbox's widget key, fixed so the demo shop page and docs can name it.
pub const DEMO_WIDGET_KEY: &str = "lw_demo_batik_sari";
/// The European shop's widget key.
pub const DEMO_WIDGET_KEY_EU: &str = "lw_demo_batik_sari_eu";
/// The demo's inbox where the answer bot answers first (`/demo?bot=1`).
pub const DEMO_WIDGET_KEY_BOT: &str = "lw_demo_batik_sari_bot";

pub const DEMO_AGENTS: &[(&str, &str, Role)] = &[
    ("Ana Wijaya", "ana@demo.layan.test", Role::Admin),
    ("Budi Santoso", "budi@demo.layan.test", Role::Agent),
    ("Nok Srisuk", "nok@demo.layan.test", Role::Agent),
    ("Sanne de Vries", "sanne@demo.layan.test", Role::Agent),
];

struct Sample {
    contact: &'static str,
    email: &'static str,
    locale: &'static str,
    /// (from the customer?, text)
    lines: &'static [(bool, &'static str)],
    agent: Option<usize>,
    status: ConversationStatus,
    /// Into the European inbox (otherwise the Asian one).
    europe: bool,
    labels: &'static [&'static str],
}

const SAMPLES: &[Sample] = &[
    Sample {
        contact: "Sari Lestari",
        email: "sari.lestari@example.co.id",
        locale: "id",
        lines: &[
            (
                true,
                "Halo, pesanan saya #A1042 belum sampai, padahal estimasinya kemarin. Bisa dicek?",
            ),
            (
                false,
                "Halo Kak Sari, mohon maaf atas keterlambatannya. Saya cek ke kurir dulu ya.",
            ),
            (true, "Baik, terima kasih 🙏"),
        ],
        agent: Some(1),
        status: ConversationStatus::Open,
        europe: false,
        labels: &["delivery"],
    },
    Sample {
        contact: "Somchai Phongsri",
        email: "somchai@example.co.th",
        locale: "th",
        lines: &[(
            true,
            "สวัสดีครับ เสื้อบาติกลายปารังมีไซซ์ L ไหมครับ ส่งไปเชียงใหม่กี่วันครับ",
        )],
        agent: None,
        status: ConversationStatus::Open,
        europe: false,
        labels: &["product"],
    },
    Sample {
        contact: "Jeroen Bakker",
        email: "jeroen.bakker@example.nl",
        locale: "nl",
        lines: &[
            (
                true,
                "Hoi! Kan ik de sjaal nog retourneren? Ik heb hem vorige week ontvangen.",
            ),
            (
                false,
                "Hoi Jeroen, ja hoor: je hebt 30 dagen. Ik stuur je zo het retourlabel.",
            ),
            (true, "Top, dank je wel!"),
        ],
        agent: Some(3),
        status: ConversationStatus::Resolved,
        europe: true,
        labels: &["returns"],
    },
    Sample {
        contact: "Emma Clarke",
        email: "emma.clarke@example.com",
        locale: "en",
        lines: &[(
            true,
            "Hi, do you ship to Singapore? And is the songket tote available in blue?",
        )],
        agent: None,
        status: ConversationStatus::Open,
        europe: true,
        labels: &["shipping"],
    },
];

/// Shared canned responses: (shortcut, title, [(language, text)]).
/// Language variants of one canned response: (language or default, text).
type Variants = &'static [(Option<Locale>, &'static str)];

const CANNED: &[(&str, &str, Variants)] = &[
    (
        "thanks",
        "Thank you",
        &[
            (
                None,
                "Thank you, {{contact.first_name|there}}! Is there anything else I can help you with? — {{agent.first_name}}",
            ),
            (
                Some(Locale::Id),
                "Terima kasih, Kak {{contact.first_name|}}! Ada lagi yang bisa saya bantu? — {{agent.first_name}}",
            ),
            (
                Some(Locale::Th),
                "ขอบคุณค่ะคุณ{{contact.first_name|}} มีอะไรให้ช่วยเพิ่มเติมไหมคะ — {{agent.first_name}}",
            ),
            (
                Some(Locale::Nl),
                "Dank je wel, {{contact.first_name|}}! Kan ik je nog ergens anders mee helpen? — {{agent.first_name}}",
            ),
        ],
    ),
    (
        "ticket",
        "Your ticket number",
        &[
            (
                None,
                "Your ticket number is {{conversation.number}}. Mention it whenever you write to us.",
            ),
            (
                Some(Locale::Id),
                "Nomor tiket Anda {{conversation.number}}. Sebutkan nomor ini setiap kali menghubungi kami.",
            ),
            (
                Some(Locale::Th),
                "หมายเลขตั๋วของคุณคือ {{conversation.number}} กรุณาแจ้งหมายเลขนี้ทุกครั้งที่ติดต่อเรา",
            ),
            (
                Some(Locale::Nl),
                "Je ticketnummer is {{conversation.number}}. Noem het als je ons weer schrijft.",
            ),
        ],
    ),
    (
        "returns",
        "Returns policy",
        &[
            (
                None,
                "You can return any item within 30 days of delivery, unworn and with its tags. Reply here and I will send you a return label.",
            ),
            (
                Some(Locale::Id),
                "Barang bisa dikembalikan dalam 30 hari setelah diterima, belum dipakai dan labelnya masih ada. Balas di sini, nanti saya kirim label retur.",
            ),
            (
                Some(Locale::Nl),
                "Je kunt elk artikel binnen 30 dagen na levering retourneren, ongedragen en met label. Antwoord hier en ik stuur je een retourlabel.",
            ),
        ],
    ),
];

/// The demo help center's source.
pub const HELP_CENTER_TOML: &str = include_str!("../demo/help_center.toml");

#[derive(Debug, serde::Deserialize)]
pub struct HelpCenter {
    pub category: Vec<HelpCategory>,
    pub article: Vec<HelpArticle>,
}

#[derive(Debug, serde::Deserialize)]
pub struct HelpCategory {
    pub slug: String,
    pub position: i64,
    /// Locale → (name, description).
    #[serde(flatten)]
    pub texts: std::collections::BTreeMap<String, (String, String)>,
}

#[derive(Debug, serde::Deserialize)]
pub struct HelpArticle {
    pub slug: String,
    pub category: Option<String>,
    /// Locale → title and markdown body.
    #[serde(flatten)]
    pub translations: std::collections::BTreeMap<String, HelpText>,
}

#[derive(Debug, serde::Deserialize)]
pub struct HelpText {
    pub title: String,
    pub body: String,
}

/// The demo help center, parsed (a unit test keeps the file valid).
pub fn help_center() -> Result<HelpCenter, toml::de::Error> {
    toml::from_str(HELP_CENTER_TOML)
}

fn demo_locale(tag: &str) -> Result<Locale, EngineError> {
    Locale::from_tag(tag).ok_or_else(|| EngineError::Internal(format!("demo locale {tag}")))
}

/// Seeds the demo help center (every translation published) unless there are articles already.
pub async fn seed_help_center(engine: &Engine) -> Result<(), EngineError> {
    let store = engine.store();
    if !store.articles().await?.is_empty() {
        return Ok(());
    }
    let help = help_center().map_err(|e| EngineError::Internal(e.to_string()))?;
    let mut categories = std::collections::HashMap::new();
    for c in &help.category {
        let id = store.create_category(&c.slug, c.position).await?;
        for (tag, (name, description)) in &c.texts {
            store
                .put_category_text(id, demo_locale(tag)?, name, description)
                .await?;
        }
        categories.insert(c.slug.clone(), id);
    }
    for (position, a) in help.article.iter().enumerate() {
        let category = a.category.as_ref().and_then(|c| categories.get(c)).copied();
        let id = store
            .create_article(category, &a.slug, i64::try_from(position).unwrap_or(0))
            .await?;
        for (tag, t) in &a.translations {
            store
                .put_article_translation(
                    id,
                    demo_locale(tag)?,
                    &t.title,
                    t.body.trim(),
                    layan_core::ArticleStatus::Published,
                )
                .await?;
        }
    }
    Ok(())
}

/// The demo shop's shipping and returns policy (a unit test keeps it valid).
pub fn shipping_policy() -> Result<layan_core::ShippingPolicy, EngineError> {
    let policy: layan_core::ShippingPolicy =
        serde_json::from_str(include_str!("../demo/shipping_policy.json"))
            .map_err(|e| EngineError::Internal(format!("demo shipping policy: {e}")))?;
    policy.check()?;
    Ok(policy)
}

/// The demo store's orders, delivered through the same Shopify webhook path a real store uses
/// (each event once: seeding again changes nothing).
pub async fn seed_orders(engine: &Engine) -> Result<(), EngineError> {
    let deliveries: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../demo/shopify_orders.json"))
            .map_err(|e| EngineError::Internal(format!("demo orders: {e}")))?;
    for d in deliveries {
        let body =
            serde_json::to_vec(&d["payload"]).map_err(|e| EngineError::Internal(e.to_string()))?;
        let topic = d["topic"].as_str().unwrap_or_default();
        engine
            .shopify_webhook(topic, d["event"].as_str(), None, &body)
            .await?
            .map_err(|bad| EngineError::Internal(format!("demo order: {}", bad.0)))?;
    }
    Ok(())
}

/// Seeds the demo shop unless the database already has agents.
pub async fn seed(engine: &Engine) -> Result<(), EngineError> {
    seed_help_center(engine).await?;
    if engine.shipping_policy().await?.is_none() {
        let json = serde_json::to_string(&shipping_policy()?)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        engine
            .store()
            .put_document("shipping_policy", &json)
            .await?;
    }
    let store = engine.store();
    if store.agent_count().await? > 0 {
        return Ok(());
    }
    let mut agents = Vec::new();
    for (name, email, role) in DEMO_AGENTS {
        agents.push(
            engine
                .create_agent(email, name, *role, DEMO_PASSWORD)
                .await?,
        );
    }
    let asia = match store.inbox_by_widget_key(DEMO_WIDGET_KEY).await? {
        Some(inbox) => inbox,
        None => {
            store
                .create_inbox(NewInbox {
                    name: "Toko Batik Sari",
                    widget_key: DEMO_WIDGET_KEY,
                    greeting: "Hi! 👋 Questions about an order, sizes or shipping? We usually answer within minutes.",
                    color: "#b45309",
                })
                .await?
        }
    };
    let europe =
        match store.inbox_by_widget_key(DEMO_WIDGET_KEY_EU).await? {
            Some(inbox) => inbox,
            None => store
                .create_inbox(NewInbox {
                    name: "Batik Sari Europe",
                    widget_key: DEMO_WIDGET_KEY_EU,
                    greeting: "Hoi! 👋 Vragen over je bestelling of retour? We helpen je graag.",
                    color: "#0f766e",
                })
                .await?,
        };
    // Asia: Budi and Nok, round-robin, acknowledged with the ticket number.
    // Europe: Sanne, least-loaded, released to the queue when she goes offline.
    store
        .update_inbox(
            asia.id,
            InboxChanges {
                auto_assign: Some(AutoAssign::RoundRobin),
                auto_ack: Some(true),
                response_minutes: Some(30),
                ..InboxChanges::default()
            },
        )
        .await?;
    store
        .update_inbox(
            europe.id,
            InboxChanges {
                auto_assign: Some(AutoAssign::LeastLoaded),
                reassign_on_offline: Some(true),
                auto_ack: Some(true),
                response_minutes: Some(120),
                ..InboxChanges::default()
            },
        )
        .await?;
    store
        .set_inbox_members(asia.id, &[agents[1].id, agents[2].id])
        .await?;
    seed_bot(engine, &agents).await?;
    store.set_inbox_members(europe.id, &[agents[3].id]).await?;
    let team_asia = store.create_team("Team Asia").await?;
    store
        .set_team_members(team_asia.id, &[agents[1].id, agents[2].id])
        .await?;
    let team_europe = store.create_team("Team Europe").await?;
    store
        .set_team_members(team_europe.id, &[agents[3].id])
        .await?;
    for (shortcut, title, variants) in CANNED {
        for (locale, body) in *variants {
            store
                .create_canned(NewCanned {
                    owner_id: None,
                    shortcut,
                    locale: *locale,
                    title,
                    body,
                })
                .await?;
        }
    }
    let admin = engine.access(&agents[0]).await?;
    for sample in SAMPLES {
        let contact = store
            .create_contact_with_identity(
                NewContact {
                    name: Some(sample.contact),
                    email: Some(sample.email),
                    locale: Some(sample.locale),
                },
                "email",
                sample.email,
            )
            .await?;
        let mut conversation = None;
        for (from_customer, text) in sample.lines {
            let body = MessageBody::parse(text)?;
            let appended = if *from_customer {
                engine
                    .ingest(NewMessage {
                        target: Target::CurrentOrNew {
                            inbox_id: if sample.europe { europe.id } else { asia.id },
                            contact_id: contact.id,
                        },
                        direction: Direction::Incoming,
                        author: Author::Contact(contact.id),
                        author_name: Some(sample.contact.to_owned()),
                        body,
                        client_message_id: None,
                        automations: false,
                        attachments: Vec::new(),
                        extras: None,
                    })
                    .await?
            } else {
                let agent = engine.access(&agents[sample.agent.unwrap_or(0)]).await?;
                let id = conversation.ok_or(EngineError::NotFound)?;
                engine.agent_message(&agent, id, text, None, false).await?
            };
            conversation = Some(appended.conversation.id);
        }
        if let Some(id) = conversation {
            for label in sample.labels {
                engine.add_label(&admin, id, label).await?;
            }
            engine
                .set_team(
                    &admin,
                    id,
                    Some(if sample.europe {
                        team_europe.id
                    } else {
                        team_asia.id
                    }),
                )
                .await?;
            if sample.status != ConversationStatus::Open {
                let agent = engine.access(&agents[sample.agent.unwrap_or(0)]).await?;
                engine.set_status(&agent, id, sample.status, None).await?;
            }
        }
    }
    seed_orders(engine).await?;
    seed_late_shipment(engine).await?;
    seed_products(engine).await?;
    seed_email(engine, &admin.agent).await?;
    Ok(())
}

/// The demo's email inbox (no mail servers: replies show that none is set) with one customer's
/// HTML mail, read at once: a Dutch mail with a script and a tracking pixel that agents never
/// get, and an attachment.
/// The answer bot's inbox: the same shop, with Sekar (the bot) answering first and handing over
/// to Budi and Nok; people answer Monday to Saturday, 08:00–21:00 in Jakarta.
async fn seed_bot(engine: &Engine, agents: &[layan_core::Agent]) -> Result<(), EngineError> {
    let store = engine.store();
    let inbox = match store.inbox_by_widget_key(DEMO_WIDGET_KEY_BOT).await? {
        Some(inbox) => inbox,
        None => store
            .create_inbox(NewInbox {
                name: "Toko Batik Sari",
                widget_key: DEMO_WIDGET_KEY_BOT,
                greeting: "Hi! 👋 Ask Sekar, our assistant, about your order, shipping or returns.",
                color: "#7c2d12",
            })
            .await?,
    };
    store
        .update_inbox(
            inbox.id,
            InboxChanges {
                auto_assign: Some(AutoAssign::RoundRobin),
                auto_ack: Some(false),
                response_minutes: Some(30),
                ..InboxChanges::default()
            },
        )
        .await?;
    store
        .set_inbox_members(inbox.id, &[agents[1].id, agents[2].id])
        .await?;
    let settings = layan_bot::BotSettings {
        inboxes: vec![inbox.id.0],
        name: "Sekar".into(),
        ..layan_bot::BotSettings::default()
    };
    let hours = layan_bot::BusinessHours {
        utc_offset_minutes: 420,
        days: ["mon", "tue", "wed", "thu", "fri", "sat"]
            .iter()
            .map(|d| layan_bot::settings::DayHours {
                day: (*d).into(),
                open: "08:00".into(),
                close: "21:00".into(),
            })
            .collect(),
    };
    // Through the engine as Ana (the admin): checked like any admin's change.
    engine.set_bot_settings(&agents[0], settings, None).await?;
    engine.set_business_hours(&agents[0], hours, None).await
}

async fn seed_email(engine: &Engine, admin: &layan_core::Agent) -> Result<(), EngineError> {
    let settings: layan_core::EmailSettings = serde_json::from_value(serde_json::json!({
        "address": "help@batik-demo.test",
        "from_name": "Toko Batik Sari",
    }))
    .map_err(|e| EngineError::Internal(e.to_string()))?;
    let inbox = engine
        .create_email_inbox(admin, "Email", settings, None)
        .await?;
    let (id, _) = engine
        .receive_email(inbox.id, include_bytes!("../demo/email_femke.eml"))
        .await?;
    engine.read_inbound_email_now(id).await
}

/// The demo shop's products (`demo/products.json`, the import format), for the product finder.
pub async fn seed_products(engine: &Engine) -> Result<(), EngineError> {
    let products: Vec<layan_engine::products::ImportProduct> =
        serde_json::from_str(include_str!("../demo/products.json"))
            .map_err(|e| EngineError::Internal(format!("demo products: {e}")))?;
    for p in products {
        engine
            .import_product(p)
            .await?
            .map_err(|bad| EngineError::Internal(format!("demo product: {}", bad.0)))?;
    }
    Ok(())
}

/// Proactive messages on, and the carrier reporting that Sari's parcel (#A1042) should have
/// arrived yesterday: the first sweep after start-up writes to her about it.
async fn seed_late_shipment(engine: &Engine) -> Result<(), EngineError> {
    let mut rules = layan_core::ProactiveRules::default();
    rules.late_shipment.enabled = true;
    rules.late_shipment.grace_hours = 12;
    rules.unfulfilled.enabled = true;
    rules.after_delivery.enabled = true;
    let json = serde_json::to_string(&rules).map_err(|e| EngineError::Internal(e.to_string()))?;
    engine
        .store()
        .put_document("proactive_rules", &json)
        .await?;
    let now = time::OffsetDateTime::now_utc();
    let at = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| EngineError::Internal(e.to_string()))
    };
    let event = serde_json::json!({
        "id": 6600000001001u64, "fulfillment_id": 6600000001u64, "order_id": 5400000001042u64,
        "status": "in_transit", "happened_at": at(now)?,
        "estimated_delivery_at": at(now - time::Duration::days(1))?,
    });
    let body = serde_json::to_vec(&event).map_err(|e| EngineError::Internal(e.to_string()))?;
    engine
        .shopify_webhook(
            "fulfillment_events/create",
            Some("demo-late-a1042"),
            None,
            &body,
        )
        .await?
        .map_err(|bad| EngineError::Internal(format!("demo event: {}", bad.0)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_help_center_file_is_complete() {
        let help = super::help_center().expect("demo/help_center.toml parses");
        assert!(help.article.len() >= 10);
        for a in &help.article {
            for locale in ["en", "id", "th", "nl"] {
                assert!(
                    a.translations.contains_key(locale),
                    "{} lacks {locale}",
                    a.slug
                );
            }
            let category = a
                .category
                .as_deref()
                .expect("every demo article has a category");
            assert!(
                help.category.iter().any(|c| c.slug == category),
                "{category}"
            );
        }
    }

    #[test]
    fn the_shipping_policy_is_valid_and_in_four_languages() {
        let policy = super::shipping_policy().expect("demo/shipping_policy.json is valid");
        for option in &policy.delivery_options {
            assert_eq!(option.name.len(), 4, "{:?}", option.name);
        }
        for step in &policy.returns.steps {
            assert_eq!(step.len(), 4, "{step:?}");
        }
    }
}
