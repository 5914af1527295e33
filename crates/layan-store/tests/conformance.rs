//! Storage conformance: the behaviour every backend must have. Each test runs on a fresh SQLite
//! file and on a fresh PostgreSQL schema (`layan_store::testing`).

// Test bodies are plain async fns run by the macro below, so clippy does not see them as tests.
#![allow(clippy::unwrap_used)]

use layan_core::{
    Author, ClientMessageId, ConversationStatus, Direction, MessageBody, NewMessage, Role, Target,
};
use layan_store::{
    ConversationChanges, ConversationFilter, DatabaseConfig, NewAgent, NewContact, NewInbox,
    NewSession, Store, StoreError,
    testing::{self, Backend},
};

/// Runs one conformance test on a fresh database of the given backend.
async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(DatabaseConfig) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some((config, _url)) = testing::fresh(backend, dir.path()).await {
        test(config).await;
    }
}

/// Every test runs on SQLite and on PostgreSQL.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::run(super::Backend::Sqlite, super::$name).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::run(super::Backend::Postgres, super::$name).await
            })*
        }
    };
}

on_every_backend!(
    agents_and_sessions,
    messages_get_sequences_and_retries_are_not_duplicated,
    notes_are_hidden_from_customer_reads_and_replies_stop_waiting,
    resolved_reopens_and_closed_starts_a_new_conversation,
    listing_filters_and_pages,
    unknown_ids_are_not_found,
    data_survives_reopening_the_store,
    concurrent_senders_get_gap_free_sequences_and_one_conversation,
    two_nodes_starting_together_migrate_once,
);

async fn open(config: &DatabaseConfig) -> Store {
    Store::open(config).await.expect("open store")
}

async fn inbox_and_contact(store: &Store) -> (layan_core::Inbox, layan_core::Contact) {
    let inbox = store
        .create_inbox(NewInbox {
            name: "Website",
            widget_key: "key_test",
            greeting: "Hi!",
            color: "#123456",
        })
        .await
        .expect("inbox");
    let contact = store
        .create_contact_with_identity(NewContact::default(), "widget_visitor", "hash1")
        .await
        .expect("contact");
    (inbox, contact)
}

fn incoming(
    inbox: &layan_core::Inbox,
    contact: &layan_core::Contact,
    body: &str,
    cid: Option<&str>,
) -> NewMessage {
    NewMessage {
        target: Target::CurrentOrNew {
            inbox_id: inbox.id,
            contact_id: contact.id,
        },
        direction: Direction::Incoming,
        author: Author::Contact(contact.id),
        author_name: None,
        body: MessageBody::parse(body).expect("body"),
        client_message_id: cid.map(|c| ClientMessageId::parse(c).expect("cid")),
    }
}

async fn agents_and_sessions(config: DatabaseConfig) {
    let store = open(&config).await;
    assert_eq!(store.agent_count().await.unwrap(), 0);
    let agent = store
        .create_agent(NewAgent {
            email: "Ana@Example.com",
            name: "Ana",
            role: Role::Admin,
            password_hash: "hash",
        })
        .await
        .unwrap();
    assert_eq!(agent.email, "ana@example.com");
    let dup = store
        .create_agent(NewAgent {
            email: "ana@example.COM",
            name: "Other",
            role: Role::Agent,
            password_hash: "hash",
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict("email_taken"))));
    let (found, hash) = store
        .agent_credentials("ANA@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, hash.as_str()), (agent.id, "hash"));

    store
        .create_session(NewSession {
            token_hash: "t1",
            agent_id: agent.id,
            csrf_token: "c1",
            expires_at: 2_000,
        })
        .await
        .unwrap();
    let s = store.session("t1", 1_000).await.unwrap().unwrap();
    assert_eq!((s.agent.id, s.csrf_token.as_str()), (agent.id, "c1"));
    assert!(
        store.session("t1", 2_000).await.unwrap().is_none(),
        "expired"
    );
    store.delete_session("t1").await.unwrap();
    assert!(store.session("t1", 1_000).await.unwrap().is_none());
}

async fn messages_get_sequences_and_retries_are_not_duplicated(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;

    let first = store
        .append_message(&incoming(&inbox, &contact, "halo", Some("c-1")))
        .await
        .unwrap();
    assert!(first.created_conversation && !first.duplicate);
    assert_eq!(first.message.seq, 1);
    assert_eq!(first.conversation.number.0, 1001);
    assert_eq!(first.conversation.status, ConversationStatus::Open);
    assert!(first.conversation.waiting_since.is_some());

    let retry = store
        .append_message(&incoming(&inbox, &contact, "halo", Some("c-1")))
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.message.id, first.message.id);

    let second = store
        .append_message(&incoming(&inbox, &contact, "apa kabar", Some("c-2")))
        .await
        .unwrap();
    assert!(!second.created_conversation);
    assert_eq!(
        (second.message.seq, second.conversation.id),
        (2, first.conversation.id)
    );

    let all = store
        .messages_after(first.conversation.id, 0, 100, true)
        .await
        .unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    let later = store
        .messages_after(first.conversation.id, 1, 100, true)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].body, "apa kabar");
}

async fn notes_are_hidden_from_customer_reads_and_replies_stop_waiting(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let agent = store
        .create_agent(NewAgent {
            email: "b@x.io",
            name: "Budi",
            role: Role::Agent,
            password_hash: "h",
        })
        .await
        .unwrap();
    let first = store
        .append_message(&incoming(&inbox, &contact, "hi", None))
        .await
        .unwrap();
    let conv = first.conversation.id;
    let note = NewMessage {
        target: Target::Conversation(conv),
        direction: Direction::Note,
        author: Author::Agent(agent.id),
        author_name: Some("Budi".into()),
        body: MessageBody::parse("VIP customer").unwrap(),
        client_message_id: None,
    };
    let n = store.append_message(&note).await.unwrap();
    assert!(
        n.conversation.waiting_since.is_some(),
        "a note does not answer the customer"
    );
    let reply = NewMessage {
        direction: Direction::Outgoing,
        body: MessageBody::parse("hello!").unwrap(),
        ..note
    };
    let r = store.append_message(&reply).await.unwrap();
    assert_eq!(r.message.seq, 3);
    assert!(r.conversation.waiting_since.is_none());

    let public = store.messages_after(conv, 0, 10, false).await.unwrap();
    assert_eq!(public.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 3]);
    let gap = store.messages_between(conv, 0, 3, true).await.unwrap();
    assert_eq!(gap.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);

    let summary = store.conversation_summary(conv).await.unwrap().unwrap();
    assert_eq!(summary.last_message.unwrap().body, "hello!");
    assert_eq!(summary.inbox_name, "Website");
}

async fn resolved_reopens_and_closed_starts_a_new_conversation(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let first = store
        .append_message(&incoming(&inbox, &contact, "one", None))
        .await
        .unwrap();
    let conv = first.conversation.id;
    store
        .update_conversation(
            conv,
            &ConversationChanges {
                status: Some(ConversationStatus::Resolved),
                assignee: None,
            },
        )
        .await
        .unwrap();
    let again = store
        .append_message(&incoming(&inbox, &contact, "two", None))
        .await
        .unwrap();
    assert_eq!(again.conversation.id, conv);
    assert_eq!(again.conversation.status, ConversationStatus::Open);
    assert_eq!(again.previous_status, Some(ConversationStatus::Resolved));

    store
        .update_conversation(
            conv,
            &ConversationChanges {
                status: Some(ConversationStatus::Closed),
                assignee: None,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .current_conversation(inbox.id, contact.id)
            .await
            .unwrap()
            .is_none()
    );
    let fresh = store
        .append_message(&incoming(&inbox, &contact, "three", None))
        .await
        .unwrap();
    assert!(fresh.created_conversation);
    assert_ne!(fresh.conversation.id, conv);
    assert_eq!(fresh.conversation.number.0, 1002);
    assert_eq!(fresh.message.seq, 1);
}

async fn listing_filters_and_pages(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, _) = inbox_and_contact(&store).await;
    let agent = store
        .create_agent(NewAgent {
            email: "c@x.io",
            name: "Citra",
            role: Role::Agent,
            password_hash: "h",
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let contact = store
            .create_contact_with_identity(
                NewContact {
                    name: Some("Sari"),
                    ..Default::default()
                },
                "widget_visitor",
                &format!("v{i}"),
            )
            .await
            .unwrap();
        let a = store
            .append_message(&incoming(&inbox, &contact, "hi", None))
            .await
            .unwrap();
        ids.push(a.conversation.id);
    }
    store
        .update_conversation(
            ids[0],
            &ConversationChanges {
                status: Some(ConversationStatus::Resolved),
                assignee: Some(Some(agent.id)),
            },
        )
        .await
        .unwrap();

    let open = store
        .list_conversations(&ConversationFilter {
            statuses: vec![ConversationStatus::Open],
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 4);
    assert!(
        open.iter()
            .all(|c| c.conversation.status == ConversationStatus::Open)
    );

    let mine = store
        .list_conversations(&ConversationFilter {
            assignee: Some(Some(agent.id)),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].assignee_name.as_deref(), Some("Citra"));

    let page1 = store
        .list_conversations(&ConversationFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page1.len(), 2);
    let last = &page1[1].conversation;
    let page2 = store
        .list_conversations(&ConversationFilter {
            limit: 10,
            before: Some((last.last_message_at, last.id)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page2.len(), 3);
    let seen: std::collections::HashSet<_> = page1
        .iter()
        .chain(&page2)
        .map(|c| c.conversation.id)
        .collect();
    assert_eq!(seen.len(), 5, "pages neither overlap nor skip");

    let none = store
        .list_conversations(&ConversationFilter {
            inbox_ids: Some(vec![]),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn unknown_ids_are_not_found(config: DatabaseConfig) {
    let store = open(&config).await;
    let msg = NewMessage {
        target: Target::Conversation(layan_core::ConversationId(999)),
        direction: Direction::Outgoing,
        author: Author::Bot,
        author_name: None,
        body: MessageBody::parse("x").unwrap(),
        client_message_id: None,
    };
    assert!(matches!(
        store.append_message(&msg).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .conversation(layan_core::ConversationId(999))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.inbox_by_widget_key("nope").await.unwrap().is_none());
}

async fn data_survives_reopening_the_store(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let a = store
        .append_message(&incoming(&inbox, &contact, "persist me", Some("p-1")))
        .await
        .unwrap();
    store.close().await;
    let reopened = open(&config).await;
    let msgs = reopened
        .messages_after(a.conversation.id, 0, 10, true)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].client_message_id.as_deref(), Some("p-1"));
}

async fn concurrent_senders_get_gap_free_sequences_and_one_conversation(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let agent = store
        .create_agent(NewAgent {
            email: "d@x.io",
            name: "Dewi",
            role: Role::Agent,
            password_hash: "h",
        })
        .await
        .unwrap();
    // The shopper and an agent write at once, and the shopper retries some sends concurrently.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (store, inbox, contact) = (store.clone(), inbox.clone(), contact.clone());
        tasks.push(tokio::spawn(async move {
            let cid = format!("c-{}", i % 20); // every id is sent twice
            store
                .append_message(&incoming(&inbox, &contact, "hi", Some(&cid)))
                .await
                .unwrap()
        }));
    }
    let results: Vec<_> = futures_join(tasks).await;
    let conv = results[0].conversation.id;
    assert!(
        results.iter().all(|r| r.conversation.id == conv),
        "one current conversation"
    );
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 20);
    let mut replies = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        let agent_id = agent.id;
        replies.push(tokio::spawn(async move {
            store
                .append_message(&NewMessage {
                    target: Target::Conversation(conv),
                    direction: Direction::Outgoing,
                    author: Author::Agent(agent_id),
                    author_name: None,
                    body: MessageBody::parse("ok").unwrap(),
                    client_message_id: None,
                })
                .await
                .unwrap()
        }));
    }
    futures_join(replies).await;
    let all = store.messages_after(conv, 0, 500, true).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

async fn two_nodes_starting_together_migrate_once(config: DatabaseConfig) {
    // Two nodes open the same fresh database at the same moment: both must come up, on one schema.
    let (a, b) = tokio::join!(Store::open(&config), Store::open(&config));
    let (a, b) = (a.expect("node a"), b.expect("node b"));
    let (inbox, contact) = inbox_and_contact(&a).await;
    let sent = b
        .append_message(&incoming(&inbox, &contact, "from b", None))
        .await
        .unwrap();
    let seen = a
        .messages_after(sent.conversation.id, 0, 10, true)
        .await
        .unwrap();
    assert_eq!(seen.len(), 1, "both nodes see the same data");
}
