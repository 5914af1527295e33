//! The demo shop: a batik shop with four agents, a website chat inbox and conversations in
//! Indonesian, Thai, Dutch and English. Seeded once into an empty database.

use layan_core::{Author, ConversationStatus, Direction, MessageBody, NewMessage, Role, Target};
use layan_engine::{Engine, EngineError};
use layan_store::{NewContact, NewInbox};

/// The demo's password for every agent (printed at start-up; the demo is for clicking through).
pub const DEMO_PASSWORD: &str = "layan-demo-2026";
/// The demo inbox's widget key, fixed so the demo shop page and docs can name it.
pub const DEMO_WIDGET_KEY: &str = "lw_demo_batik_sari";

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
    },
];

/// Seeds the demo shop unless the database already has agents.
pub async fn seed(engine: &Engine) -> Result<(), EngineError> {
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
    let inbox = match store.inbox_by_widget_key(DEMO_WIDGET_KEY).await? {
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
                            inbox_id: inbox.id,
                            contact_id: contact.id,
                        },
                        direction: Direction::Incoming,
                        author: Author::Contact(contact.id),
                        author_name: Some(sample.contact.to_owned()),
                        body,
                        client_message_id: None,
                    })
                    .await?
            } else {
                let agent = &agents[sample.agent.unwrap_or(0)];
                let id = conversation.ok_or(EngineError::NotFound)?;
                engine.agent_message(agent, id, text, None, false).await?
            };
            conversation = Some(appended.conversation.id);
        }
        if let Some(id) = conversation
            && sample.status != ConversationStatus::Open
        {
            let agent = &agents[sample.agent.unwrap_or(0)];
            engine.set_status(agent, id, sample.status).await?;
        }
    }
    Ok(())
}
