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
    many_shoppers_at_once_each_get_one_conversation_and_their_jobs,
    two_nodes_starting_together_migrate_once,
    jobs_lease_retry_and_survive_a_dead_worker,
    workers_claiming_at_once_never_get_the_same_job,
    a_worker_s_batch_is_recorded_done_together,
    a_job_whose_worker_dies_every_time_is_parked,
    a_customer_message_and_its_follow_up_job_commit_together,
    a_batch_commits_together_and_one_bad_message_fails_alone,
    new_visitors_arriving_together_are_stored_and_a_taken_identity_fails_alone,
    a_retry_after_the_conversation_closed_returns_the_stored_message,
    routing_assigns_only_an_open_conversation_nobody_has,
    references_to_unknown_rows_are_not_found,
    knowledge_base_articles_translations_votes_and_documents,
    orders_apply_once_newest_wins_and_shipments_merge,
    the_newer_order_wins_when_two_versions_arrive_together,
    contacts_merge_moves_everything_and_duplicates_are_suggested,
    proactive_candidates_follow_the_rules_and_are_sent_once,
    notifications_sent_together_arrive_in_order,
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
        automations: false,
        attachments: Vec::new(),
        extras: None,
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
        automations: false,
        attachments: Vec::new(),
        extras: None,
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
                ..ConversationChanges::default()
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
                ..ConversationChanges::default()
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
                ..ConversationChanges::default()
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

    store.add_label(ids[0], "vip").await.unwrap();
    store.add_label(ids[0], "alpha").await.unwrap();
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

    // One conversation's summary (a point read; on SQLite through rusqlite) is the list's.
    let one = store.conversation_summary(ids[0]).await.unwrap().unwrap();
    assert_eq!(one.labels, ["alpha", "vip"]);
    assert_eq!(one.contact_name.as_deref(), Some("Sari"));
    assert_eq!(
        serde_json::to_value(&one).unwrap(),
        serde_json::to_value(&mine[0]).unwrap()
    );
    assert!(
        store
            .conversation_summary(layan_core::ConversationId(999_999))
            .await
            .unwrap()
            .is_none()
    );

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
        automations: false,
        attachments: Vec::new(),
        extras: None,
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
                    automations: false,
                    attachments: Vec::new(),
                    extras: None,
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

/// Many shoppers write at once (on PostgreSQL their messages go together in set-based batches,
/// on SQLite in group commits): each gets one conversation with gap-free sequences, ticket
/// numbers are unique, and every message committed its follow-up job.
async fn many_shoppers_at_once_each_get_one_conversation_and_their_jobs(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, _) = inbox_and_contact(&store).await;
    let mut shoppers = Vec::new();
    for i in 0..24 {
        shoppers.push(
            store
                .create_contact_with_identity(
                    NewContact::default(),
                    "widget_visitor",
                    &format!("m{i}"),
                )
                .await
                .unwrap(),
        );
    }
    let mut tasks = Vec::new();
    for round in 0..3 {
        for shopper in &shoppers {
            let (store, inbox, shopper) = (store.clone(), inbox.clone(), shopper.clone());
            tasks.push(tokio::spawn(async move {
                let mut msg = incoming(&inbox, &shopper, "halo", None);
                msg.automations = true;
                // Rounds overlap: a shopper's next message may join a batch with their last.
                tokio::time::sleep(std::time::Duration::from_millis(round * 2)).await;
                store.append_message(&msg).await.unwrap()
            }));
        }
    }
    let results = futures_join(tasks).await;
    let mut numbers: Vec<i64> = Vec::new();
    for shopper in &shoppers {
        let mine: Vec<_> = results
            .iter()
            .filter(|r| r.conversation.contact_id == shopper.id)
            .collect();
        assert_eq!(mine.len(), 3);
        let conv = mine[0].conversation.id;
        assert!(
            mine.iter().all(|r| r.conversation.id == conv),
            "one conversation each"
        );
        assert_eq!(mine.iter().filter(|r| r.created_conversation).count(), 1);
        let seqs: Vec<i64> = store
            .messages_after(conv, 0, 10, true)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        let stored = store.conversation(conv).await.unwrap().unwrap();
        assert_eq!((stored.last_seq, stored.last_incoming_seq), (3, 3));
        numbers.push(stored.number.0);
    }
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), shoppers.len(), "ticket numbers are unique");
    let jobs = store.list_jobs(None, 500).await.unwrap();
    assert_eq!(jobs.len(), results.len(), "one follow-up job per message");
    let mut payloads: Vec<String> = jobs.into_iter().map(|j| j.payload).collect();
    payloads.sort();
    let mut expected: Vec<String> = results
        .iter()
        .map(|r| format!("{{\"message_id\":{}}}", r.message.id))
        .collect();
    expected.sort();
    assert_eq!(payloads, expected);
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

/// Workers claiming at the same moment (on SQLite their claims share a group commit, on
/// PostgreSQL they skip each other's locked rows) get each due job once between them, and a
/// completion recorded with other writes sticks.
async fn workers_claiming_at_once_never_get_the_same_job(config: DatabaseConfig) {
    use layan_core::JobStatus;
    use layan_store::NewJob;
    let store = open(&config).await;
    let t0 = layan_core::now_millis();
    for i in 0..10 {
        let key = format!("c{i}");
        store
            .enqueue_job(NewJob {
                kind: "test.kind",
                payload: "{}",
                dedupe_key: Some(&key),
                run_at: t0,
                max_attempts: 3,
            })
            .await
            .unwrap();
    }
    let claims = (0..4).map(|w| {
        let store = &store;
        async move { store.claim_jobs(&format!("w{w}"), t0, 60_000, 3).await }
    });
    let mut claimed: Vec<i64> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .flat_map(|jobs| jobs.unwrap())
        .map(|job| job.id)
        .collect();
    claimed.sort_unstable();
    let mut distinct = claimed.clone();
    distinct.dedup();
    assert_eq!(distinct, claimed, "a job claimed twice: {claimed:?}");
    assert_eq!(claimed.len(), 10, "4 workers × 3 take all 10: {claimed:?}");
    // Completions of two workers at once, with a message stored meanwhile.
    let (inbox, contact) = inbox_and_contact(&store).await;
    let m = incoming(&inbox, &contact, "halo", Some("cj-1"));
    let (a, b, sent) = futures_util::future::join3(
        store.complete_jobs(&claimed[..5]),
        store.complete_jobs(&claimed[5..]),
        store.append_message(&m),
    )
    .await;
    a.unwrap();
    b.unwrap();
    sent.unwrap();
    let done = store.list_jobs(Some(JobStatus::Done), 100).await.unwrap();
    let mut done: Vec<i64> = done.iter().map(|j| j.id).collect();
    done.sort_unstable();
    assert_eq!(done, claimed);
    assert!(
        store
            .claim_jobs("w9", t0 + 120_000, 60_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.kind != "test.kind"),
        "done jobs are not claimed again, even after their leases would have run out"
    );
}

async fn jobs_lease_retry_and_survive_a_dead_worker(config: DatabaseConfig) {
    use layan_core::JobStatus;
    use layan_store::NewJob;
    let store = open(&config).await;
    let t0 = layan_core::now_millis();
    let job = |key: &'static str| NewJob {
        kind: "test.kind",
        payload: "{}",
        dedupe_key: Some(key),
        run_at: t0,
        max_attempts: 3,
    };
    assert!(store.enqueue_job(job("k1")).await.unwrap());
    assert!(
        !store.enqueue_job(job("k1")).await.unwrap(),
        "same key, one job"
    );
    assert!(store.enqueue_job(job("k2")).await.unwrap());
    // A job for later is not due yet.
    store
        .enqueue_job(NewJob {
            run_at: t0 + 60_000,
            ..job("later")
        })
        .await
        .unwrap();

    // Worker A claims both due jobs, then "dies" holding the leases.
    let a = store.claim_jobs("a", t0, 1_000, 10).await.unwrap();
    assert_eq!(a.len(), 2);
    assert!(
        a.iter()
            .all(|j| j.status == JobStatus::Running && j.attempts == 1)
    );
    // While the leases hold, nobody else gets them.
    assert!(
        store
            .claim_jobs("b", t0 + 500, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // After they run out, worker B does: the jobs run elsewhere.
    let b = store.claim_jobs("b", t0 + 1_001, 1_000, 10).await.unwrap();
    assert_eq!(b.len(), 2);
    assert!(b.iter().all(|j| j.attempts == 2));
    store.complete_job(b[0].id).await.unwrap();
    // A failure with a retry time comes back then, not before.
    store
        .fail_job(b[1].id, "smtp timeout", Some(t0 + 5_000))
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs("b", t0 + 4_000, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_jobs("b", t0 + 5_000, 1_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 3);
    assert_eq!(again[0].last_error.as_deref(), Some("smtp timeout"));
    // Out of attempts: failed, visible, retryable.
    store
        .fail_job(again[0].id, "still down", None)
        .await
        .unwrap();
    let failed = store.list_jobs(Some(JobStatus::Failed), 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    let counts = store.job_counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running, counts.failed, counts.done),
        (1, 0, 1, 1)
    );
    assert!(
        matches!(store.retry_job(b[0].id).await, Err(StoreError::NotFound)),
        "only failed jobs"
    );
    store.retry_job(failed[0].id).await.unwrap();
    let retried = store
        .claim_jobs("c", layan_core::now_millis(), 1_000, 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1, "fresh attempts");
}

/// A job that kills its worker every time (a panic that aborts, an out-of-memory) is claimed
/// again after each lease only while it has attempts left; then it is parked as failed for an
/// admin, not claimed forever.
async fn a_job_whose_worker_dies_every_time_is_parked(config: DatabaseConfig) {
    use layan_core::JobStatus;
    use layan_store::NewJob;
    let store = open(&config).await;
    let t0 = layan_core::now_millis();
    store
        .enqueue_job(NewJob {
            kind: "test.poison",
            payload: "{}",
            dedupe_key: Some("poison"),
            run_at: t0,
            max_attempts: 3,
        })
        .await
        .unwrap();
    let mut now = t0;
    for attempt in 1..=3 {
        assert_eq!(store.park_exhausted_jobs(now).await.unwrap(), 0);
        let got = store.claim_jobs("w", now, 1_000, 10).await.unwrap();
        assert_eq!(got.len(), 1, "attempt {attempt}");
        assert_eq!(got[0].attempts, attempt);
        // The worker dies holding it; the lease runs out.
        now += 1_001;
    }
    assert!(
        store
            .claim_jobs("w", now, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "no fourth claim"
    );
    assert_eq!(store.park_exhausted_jobs(now).await.unwrap(), 1);
    let failed = store.list_jobs(Some(JobStatus::Failed), 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("worker stopped")
    );
    // The admin's retry gives it fresh attempts.
    store.retry_job(failed[0].id).await.unwrap();
    let again = store
        .claim_jobs("w", layan_core::now_millis(), 1_000, 10)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
}

async fn a_worker_s_batch_is_recorded_done_together(config: DatabaseConfig) {
    use layan_core::JobStatus;
    use layan_store::NewJob;
    let store = open(&config).await;
    let t0 = layan_core::now_millis();
    let keys: Vec<String> = (0..5).map(|i| format!("batch-{i}")).collect();
    for key in &keys {
        store
            .enqueue_job(NewJob {
                kind: "test.kind",
                payload: "{}",
                dedupe_key: Some(key),
                run_at: t0,
                max_attempts: 3,
            })
            .await
            .unwrap();
    }
    let claimed = store.claim_jobs("a", t0, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 5);
    // Three done, one to retry, one still running: only the three are done.
    let mut done: Vec<i64> = claimed[..3].iter().map(|j| j.id).collect();
    done.sort_unstable();
    store.complete_jobs(&done).await.unwrap();
    store
        .fail_job(claimed[3].id, "later", Some(t0))
        .await
        .unwrap();
    store.complete_jobs(&[]).await.unwrap();
    let counts = store.job_counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running, counts.failed, counts.done),
        (1, 1, 0, 3)
    );
    let listed = store.list_jobs(Some(JobStatus::Done), 10).await.unwrap();
    let mut listed: Vec<i64> = listed.iter().map(|j| j.id).collect();
    listed.sort_unstable();
    assert_eq!(listed, done);
    // Done jobs are not claimed again, even after their lease would have run out.
    let again = store
        .claim_jobs("b", t0 + 120_000, 60_000, 10)
        .await
        .unwrap();
    let mut again: Vec<i64> = again.iter().map(|j| j.id).collect();
    again.sort_unstable();
    let mut rest = vec![claimed[3].id, claimed[4].id];
    rest.sort_unstable();
    assert_eq!(again, rest);
}

async fn a_customer_message_and_its_follow_up_job_commit_together(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let mut msg = incoming(&inbox, &contact, "hello", Some("f-1"));
    msg.automations = true;
    let first = store.append_message(&msg).await.unwrap();
    // What the job reads: the message with its conversation.
    let (m, c) = store
        .message_with_conversation(first.message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.id, m.body.as_str()), (first.message.id, "hello"));
    assert_eq!((c.id, c.last_seq), (first.conversation.id, 1));
    assert!(
        store
            .message_with_conversation(layan_core::MessageId(999_999))
            .await
            .unwrap()
            .is_none()
    );
    // A retry of the same send stores nothing and queues nothing.
    let again = store.append_message(&msg).await.unwrap();
    assert!(again.duplicate);
    let jobs = store.list_jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, layan_core::JOB_MESSAGE_FOLLOWUP);
    assert_eq!(
        jobs[0].payload,
        format!("{{\"message_id\":{}}}", first.message.id)
    );
}

async fn a_batch_commits_together_and_one_bad_message_fails_alone(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let first = store
        .append_message(&incoming(&inbox, &contact, "one", Some("b-1")))
        .await
        .unwrap();
    let conv = first.conversation.id;
    let mut bad = incoming(&inbox, &contact, "to nowhere", Some("b-x"));
    bad.target = Target::Conversation(layan_core::ConversationId(999_999));
    let batch = vec![
        incoming(&inbox, &contact, "two", Some("b-2")),
        bad,
        incoming(&inbox, &contact, "three", Some("b-3")),
        // The same send twice in one batch: stored once.
        incoming(&inbox, &contact, "three", Some("b-3")),
        // A retry of a message stored before.
        incoming(&inbox, &contact, "one", Some("b-1")),
    ];
    let results = store.append_batch(&batch).await;
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().unwrap().message.seq, 2);
    assert!(matches!(results[1], Err(StoreError::NotFound)));
    assert_eq!(results[2].as_ref().unwrap().message.seq, 3);
    assert!(results[3].as_ref().unwrap().duplicate);
    assert_eq!(results[3].as_ref().unwrap().message.seq, 3);
    assert!(results[4].as_ref().unwrap().duplicate);
    let stored = store.messages_after(conv, 0, 10, true).await.unwrap();
    let bodies: Vec<_> = stored.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["one", "two", "three"], "gap-free, each once");
}

/// Visitors' contacts and messages arriving at once (on SQLite they share group commits): each
/// is stored with what it was given, and a second contact for an identity already taken fails
/// alone, leaving the others and the first one's contact as they were.
async fn new_visitors_arriving_together_are_stored_and_a_taken_identity_fails_alone(
    config: DatabaseConfig,
) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let locales = ["id", "th", "nl", "en"];
    let visitors = (0..12).map(|i| {
        let store = &store;
        // Visitor 5's token twice: one of the two gets it.
        let value = format!("v-{}", if i == 6 { 5 } else { i });
        async move {
            let (name, email) = (format!("Visitor {i}"), format!("v{i}@example.test"));
            let new = NewContact {
                name: Some(&name),
                email: Some(&email),
                locale: Some(locales[i % 4]),
            };
            (
                i,
                store
                    .create_contact_with_identity(new, "widget_visitor", &value)
                    .await,
            )
        }
    });
    let messages = (0..4).map(|i| {
        let store = &store;
        let m = incoming(&inbox, &contact, "halo", Some(&format!("nv-{i}")));
        async move { store.append_message(&m).await }
    });
    let (created, sent) = futures_util::future::join(
        futures_util::future::join_all(visitors),
        futures_util::future::join_all(messages),
    )
    .await;
    let seqs: Vec<i64> = sent.into_iter().map(|m| m.unwrap().message.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2, 3, 4], "every message stored once: {seqs:?}");
    let mut taken = 0;
    for (i, result) in created {
        let value = format!("v-{}", if i == 6 { 5 } else { i });
        match result {
            Ok(c) => {
                assert_eq!(c.locale.as_deref(), Some(locales[i % 4]));
                assert_eq!(c.name, Some(format!("Visitor {i}")));
                assert_eq!(c.email, Some(format!("v{i}@example.test")));
                let found = store
                    .contact_by_identity("widget_visitor", &value)
                    .await
                    .unwrap()
                    .expect("stored");
                assert_eq!(found.id, c.id, "visitor {i}");
                assert_eq!(found.locale, c.locale);
            }
            Err(StoreError::Conflict("identity_taken")) if i == 5 || i == 6 => taken += 1,
            Err(e) => panic!("visitor {i}: {e}"),
        }
    }
    assert_eq!(taken, 1, "exactly one of the two with the same token fails");
}

async fn a_retry_after_the_conversation_closed_returns_the_stored_message(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let first = store
        .append_message(&incoming(&inbox, &contact, "halo", Some("r-1")))
        .await
        .unwrap();
    let conv = first.conversation.id;
    store
        .update_conversation(
            conv,
            &ConversationChanges {
                status: Some(ConversationStatus::Closed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The retry would open a new conversation (the current one is closed): it gets the stored
    // message, and nothing of the would-be conversation is left (not even its ticket number).
    let retry = store
        .append_message(&incoming(&inbox, &contact, "halo", Some("r-1")))
        .await
        .unwrap();
    assert!(retry.duplicate && !retry.created_conversation);
    assert_eq!(retry.message.id, first.message.id);
    assert_eq!(retry.conversation.id, conv);
    let next = store
        .append_message(&incoming(&inbox, &contact, "lagi", Some("r-2")))
        .await
        .unwrap();
    assert!(next.created_conversation);
    assert_eq!(next.conversation.number.0, first.conversation.number.0 + 1);

    // The bot has no author id: its retries are found all the same.
    let bot = |cid: &str| NewMessage {
        target: Target::Conversation(next.conversation.id),
        direction: Direction::Bot,
        author: Author::Bot,
        author_name: Some("Sekar".into()),
        body: MessageBody::parse("Halo! Ada yang bisa dibantu?").expect("body"),
        client_message_id: Some(ClientMessageId::parse(cid).expect("cid")),
        automations: false,
        attachments: Vec::new(),
        extras: None,
    };
    let said = store.append_message(&bot("bot-1")).await.unwrap();
    let again = store.append_message(&bot("bot-1")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.id, said.message.id);
    let all = store
        .messages_after(next.conversation.id, 0, 10, true)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "the customer's message and the bot's, once");
}

async fn routing_assigns_only_an_open_conversation_nobody_has(config: DatabaseConfig) {
    let store = open(&config).await;
    let (inbox, contact) = inbox_and_contact(&store).await;
    let mut agents = Vec::new();
    for email in ["r1@x.io", "r2@x.io"] {
        let agent = store
            .create_agent(NewAgent {
                email,
                name: "Rina",
                role: Role::Agent,
                password_hash: "h",
            })
            .await
            .unwrap();
        agents.push(agent.id);
    }
    let conv = store
        .append_message(&incoming(&inbox, &contact, "halo", None))
        .await
        .unwrap()
        .conversation
        .id;
    let assigned = store.assign_if_unassigned(conv, agents[0]).await.unwrap();
    assert_eq!(assigned.and_then(|c| c.assignee_id), Some(agents[0]));
    // Someone has it: the second router loses.
    assert!(
        store
            .assign_if_unassigned(conv, agents[1])
            .await
            .unwrap()
            .is_none()
    );
    // Unassigned and resolved meanwhile: not routed.
    let released = ConversationChanges {
        assignee: Some(None),
        status: Some(ConversationStatus::Resolved),
        ..Default::default()
    };
    store.update_conversation(conv, &released).await.unwrap();
    assert!(
        store
            .assign_if_unassigned(conv, agents[1])
            .await
            .unwrap()
            .is_none()
    );
    let stored = store.conversation(conv).await.unwrap().unwrap();
    assert_eq!(stored.assignee_id, None);
    assert_eq!(stored.status, ConversationStatus::Resolved);
}

async fn references_to_unknown_rows_are_not_found(config: DatabaseConfig) {
    use layan_core::{AgentId, ConversationId, TeamId};
    let store = open(&config).await;
    let (inbox, _) = inbox_and_contact(&store).await;
    let nowhere = ConversationId(999_999);
    assert!(matches!(
        store.set_inbox_members(inbox.id, &[AgentId(999_999)]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_team_members(TeamId(999_999), &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.add_label(nowhere, "vip").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.mark_read(AgentId(999_999), nowhere, 1).await,
        Err(StoreError::NotFound)
    ));
}

async fn knowledge_base_articles_translations_votes_and_documents(config: DatabaseConfig) {
    use layan_core::{ArticleId, ArticleStatus, CategoryId, Locale};
    let store = open(&config).await;
    let shipping = store.create_category("shipping", 1).await.unwrap();
    store
        .put_category_text(shipping, Locale::En, "Shipping", "Times and costs")
        .await
        .unwrap();
    store
        .put_category_text(shipping, Locale::Th, "การจัดส่ง", "")
        .await
        .unwrap();
    store
        .put_category_text(
            shipping,
            Locale::En,
            "Shipping & delivery",
            "Times and costs",
        )
        .await
        .unwrap();
    let categories = store.categories().await.unwrap();
    assert_eq!(categories.len(), 1);
    assert_eq!(categories[0].texts.len(), 2);
    assert_eq!(
        categories[0].text(Locale::En).unwrap().name,
        "Shipping & delivery"
    );
    assert_eq!(
        categories[0].text(Locale::Nl).unwrap().name,
        "Shipping & delivery"
    );

    let article = store
        .create_article(Some(shipping), "delivery-times", 1)
        .await
        .unwrap();
    assert!(matches!(
        store.create_article(None, "delivery-times", 2).await,
        Err(StoreError::Conflict("slug_taken"))
    ));
    assert!(matches!(
        store
            .create_article(Some(CategoryId(9999)), "other", 2)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .put_article_translation(
            article,
            Locale::En,
            "Delivery times",
            "2–5 days",
            ArticleStatus::Published,
        )
        .await
        .unwrap();
    store
        .put_article_translation(
            article,
            Locale::Th,
            "ระยะเวลาจัดส่ง",
            "2–5 วัน",
            ArticleStatus::Draft,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_article_translation(ArticleId(9999), Locale::En, "x", "y", ArticleStatus::Draft)
            .await,
        Err(StoreError::NotFound)
    ));
    let read = store
        .article_by_slug("delivery-times")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.id, article);
    assert_eq!(read.translations.len(), 2);
    assert_eq!(read.published(Locale::En).unwrap().body, "2–5 days");
    assert!(
        read.published(Locale::Th).is_none(),
        "a draft is not published"
    );

    store
        .vote_article(article, "visitor-1", true)
        .await
        .unwrap();
    store
        .vote_article(article, "visitor-2", true)
        .await
        .unwrap();
    store
        .vote_article(article, "visitor-1", false)
        .await
        .unwrap();
    let read = store.article(article).await.unwrap().unwrap();
    assert_eq!(
        (read.helpful, read.unhelpful),
        (1, 1),
        "one vote per visitor, changeable"
    );

    let second = store.create_article(None, "payment", 0).await.unwrap();
    let all = store.articles().await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        [second, article]
    );
    store.delete_category(shipping).await.unwrap();
    assert_eq!(
        store.article(article).await.unwrap().unwrap().category_id,
        None
    );
    store
        .delete_article_translation(article, Locale::Th)
        .await
        .unwrap();
    store.delete_article(article).await.unwrap();
    assert!(store.article(article).await.unwrap().is_none());
    assert!(matches!(
        store.delete_article(article).await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(store.document("policy").await.unwrap(), None);
    store.put_document("policy", "{\"a\":1}").await.unwrap();
    store.put_document("policy", "{\"a\":2}").await.unwrap();
    assert_eq!(
        store.document("policy").await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
}

/// Two versions of one order applied at the same moment (on PostgreSQL, two transactions): the
/// newer always stays, whichever commits last — "newest wins" is a condition of the write.
async fn the_newer_order_wins_when_two_versions_arrive_together(config: DatabaseConfig) {
    use layan_store::{Applied, NewOrder};
    let store = open(&config).await;
    let version = |round: usize, status: &str, at: i64| NewOrder {
        source: "shopify".into(),
        external_id: format!("race-{round}"),
        number: format!("#{round}"),
        contact_id: None,
        email: None,
        currency: "IDR".into(),
        total: "1000".into(),
        financial_status: status.into(),
        fulfillment_status: None,
        cancelled_at: None,
        placed_at: 1_000,
        store_updated_at: at,
        lines: vec![],
        shipments: vec![],
    };
    for round in 0..40 {
        let older = version(round, "pending", 10);
        let newer = version(round, "paid", 20);
        // Both orders of arrival, with and without the order existing already.
        if round % 2 == 0 {
            store
                .apply_order(None, &version(round, "pending", 5))
                .await
                .unwrap();
        }
        let (a, b) = if round % 4 < 2 {
            futures_util::future::join(
                store.apply_order(None, &older),
                store.apply_order(None, &newer),
            )
            .await
        } else {
            let (b, a) = futures_util::future::join(
                store.apply_order(None, &newer),
                store.apply_order(None, &older),
            )
            .await;
            (a, b)
        };
        let (a, b) = (a.unwrap(), b.unwrap());
        let Applied::Written(id) = b else {
            panic!("round {round}: the newer is written: {b:?}")
        };
        assert!(
            matches!(a, Applied::Written(_) | Applied::Stale(_)),
            "{a:?}"
        );
        let stored = store.order(id).await.unwrap().unwrap();
        assert_eq!(
            (stored.financial_status.as_str(), stored.store_updated_at),
            ("paid", 20),
            "round {round}"
        );
    }
}

async fn orders_apply_once_newest_wins_and_shipments_merge(config: DatabaseConfig) {
    use layan_core::{OrderLine, Shipment};
    use layan_store::{Applied, NewOrder, StoreEvent};
    let store = open(&config).await;
    let (_, contact) = inbox_and_contact(&store).await;
    let shipment = |id: &str, status: &str, at: i64| Shipment {
        external_id: id.into(),
        carrier: Some("JNE".into()),
        tracking_number: Some(format!("JNE{id}")),
        tracking_url: Some(format!("https://track.test/{id}")),
        status: Some(status.into()),
        expected_delivery_at: None,
        delivered_at: None,
        store_updated_at: at,
    };
    let order = |status: &str, at: i64, lines: usize| NewOrder {
        source: "shopify".into(),
        external_id: "820982911946154508".into(),
        number: "#1042".into(),
        contact_id: Some(contact.id),
        email: Some("sari@example.test".into()),
        currency: "IDR".into(),
        total: "450000".into(),
        financial_status: status.into(),
        fulfillment_status: None,
        cancelled_at: None,
        placed_at: 1_000,
        store_updated_at: at,
        lines: (0..lines)
            .map(|i| OrderLine {
                title: format!("Batik {i}"),
                variant: None,
                quantity: 1,
                price: "150000".into(),
            })
            .collect(),
        shipments: vec![],
    };
    let ev = |key| {
        Some(StoreEvent {
            source: "shopify",
            key,
        })
    };

    let first = store
        .apply_order(ev("e1"), &order("pending", 10, 3))
        .await
        .unwrap();
    let Applied::Written(id) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        store
            .apply_order(ev("e1"), &order("paid", 50, 1))
            .await
            .unwrap(),
        Applied::Duplicate
    );
    assert_eq!(
        store
            .apply_order(ev("e2"), &order("paid", 30, 2))
            .await
            .unwrap(),
        Applied::Written(id)
    );
    // An older version arriving late changes nothing.
    assert_eq!(
        store
            .apply_order(ev("e3"), &order("pending", 20, 5))
            .await
            .unwrap(),
        Applied::Stale(id)
    );
    assert_eq!(
        store
            .apply_shipment(
                ev("s1"),
                "shopify",
                "unknown-order",
                &shipment("a", "in_transit", 40)
            )
            .await
            .unwrap(),
        Applied::UnknownOrder
    );
    assert_eq!(
        store
            .apply_shipment(
                ev("s1"),
                "shopify",
                "820982911946154508",
                &shipment("a", "in_transit", 40)
            )
            .await
            .unwrap(),
        Applied::Written(id),
        "the unknown-order attempt did not use up the event"
    );
    store
        .apply_shipment(
            ev("s2"),
            "shopify",
            "820982911946154508",
            &shipment("a", "delivered", 60),
        )
        .await
        .unwrap();
    store
        .apply_shipment(
            ev("s3"),
            "shopify",
            "820982911946154508",
            &shipment("a", "in_transit", 50),
        )
        .await
        .unwrap();
    let orders = store.orders_of_contact(contact.id, 10).await.unwrap();
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!(
        (
            o.financial_status.as_str(),
            o.store_updated_at,
            o.lines.len()
        ),
        ("paid", 30, 2)
    );
    assert_eq!(o.shipments.len(), 1);
    assert_eq!(
        o.shipments[0].status.as_deref(),
        Some("delivered"),
        "the newest shipment state wins"
    );
    assert_eq!(o.status(), "delivered");
    assert!(
        store
            .orders_of_contact(layan_core::ContactId(contact.id.0 + 999), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn contacts_merge_moves_everything_and_duplicates_are_suggested(config: DatabaseConfig) {
    use layan_core::DuplicateReason;
    let store = open(&config).await;
    let (inbox, sari) = inbox_and_contact(&store).await;
    store
        .add_contact_identity(sari.id, "email", "sari@example.test")
        .await
        .unwrap();
    store
        .update_profile(
            sari.id,
            &layan_store::ProfileChanges {
                name: Some("Sari"),
                notes: Some("VIP"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Typed the same address in a form (proves nothing: not a duplicate by it); another one
    // shares her WhatsApp number; a third only her name.
    let typed = store
        .create_contact_with_identity(
            NewContact {
                name: Some("S."),
                email: Some("Sari@example.test"),
                locale: Some("id"),
            },
            "widget_visitor",
            "hash2",
        )
        .await
        .unwrap();
    let wa = store
        .create_contact_with_identity(NewContact::default(), "whatsapp", "+6281234567890")
        .await
        .unwrap();
    store
        .update_profile(
            sari.id,
            &layan_store::ProfileChanges {
                phone: Some("+6281234567890"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let namesake = store
        .create_contact_with_identity(
            NewContact {
                name: Some("SARI"),
                ..Default::default()
            },
            "widget_visitor",
            "hash3",
        )
        .await
        .unwrap();
    let stranger = store
        .create_contact_with_identity(
            NewContact {
                name: Some("Budi"),
                ..Default::default()
            },
            "widget_visitor",
            "hash4",
        )
        .await
        .unwrap();
    let dups = store.duplicate_contacts(sari.id).await.unwrap();
    let found: Vec<_> = dups.iter().map(|(c, r)| (c.id, *r)).collect();
    assert_eq!(
        found,
        vec![
            (wa.id, DuplicateReason::SamePhone),
            (namesake.id, DuplicateReason::SameName)
        ]
    );
    assert!(!found.iter().any(|(id, _)| *id == stranger.id));
    // A verified address (an identity: a store's order, a mail) belongs to one contact only.
    let proven = store
        .create_contact_with_identity(NewContact::default(), "email", "sari@example.test")
        .await;
    assert!(
        matches!(proven, Err(StoreError::Conflict(_))),
        "one contact per verified address"
    );

    // The typed one has a conversation and an attribute; merged, all of it is Sari's.
    let m = store
        .append_message(&incoming(&inbox, &typed, "halo", Some("t-1")))
        .await
        .unwrap();
    store
        .update_profile(
            typed.id,
            &layan_store::ProfileChanges {
                notes: Some("asked about COD"),
                attributes: Some("{\"size\":\"M\"}"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store.merge_contacts(sari.id, sari.id).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .add_contact_identity(sari.id, "widget_visitor", "sari-anon")
        .await
        .unwrap();
    let out = store.merge_contacts(sari.id, typed.id).await.unwrap();
    assert_eq!(out.conversations, vec![m.conversation.id]);
    assert!(
        store
            .contact_by_identity("widget_visitor", "sari-anon")
            .await
            .unwrap()
            .is_none(),
        "the kept contact's anonymous sessions end too (a customer merged into a stranger's \
         contact must not be opened by the stranger's browser)"
    );
    assert_eq!(
        out.identities, 0,
        "an anonymous widget session is not carried over"
    );
    assert_eq!(
        store
            .conversation(m.conversation.id)
            .await
            .unwrap()
            .unwrap()
            .contact_id,
        sari.id
    );
    assert!(
        store
            .contact_by_identity("widget_visitor", "hash2")
            .await
            .unwrap()
            .is_none(),
        "the merged visitor's anonymous session ended"
    );
    assert!(store.contact(typed.id).await.unwrap().is_none());
    let kept = store.contact(sari.id).await.unwrap().unwrap();
    assert_eq!(
        kept.name.as_deref(),
        Some("Sari"),
        "the kept contact's fields win"
    );
    assert_eq!(
        kept.locale.as_deref(),
        Some("id"),
        "the merged one's fill the gaps"
    );
    assert_eq!(kept.notes.as_deref(), Some("VIP\n\nasked about COD"));
    assert_eq!(kept.attributes["size"], "M");
    assert!(matches!(
        store.merge_contacts(sari.id, typed.id).await,
        Err(StoreError::NotFound)
    ));
    let convs = store
        .contact_conversations(sari.id, Some(&[inbox.id]), 10)
        .await
        .unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].last_body.as_deref(), Some("halo"));
    assert!(
        store
            .contact_conversations(sari.id, Some(&[]), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn proactive_candidates_follow_the_rules_and_are_sent_once(config: DatabaseConfig) {
    use layan_core::Shipment;
    use layan_store::{NewOrder, ProactiveRule};
    let store = open(&config).await;
    let (_, contact) = inbox_and_contact(&store).await;
    let day = 86_400_000;
    let now = 100 * day;
    let order =
        |id: &str, placed: i64, fulfilled: bool, expected: Option<i64>, delivered: Option<i64>| {
            NewOrder {
                source: "shopify".into(),
                external_id: id.into(),
                number: format!("#{id}"),
                contact_id: Some(contact.id),
                email: None,
                currency: "IDR".into(),
                total: "1".into(),
                financial_status: "paid".into(),
                fulfillment_status: fulfilled.then(|| "fulfilled".into()),
                cancelled_at: None,
                placed_at: placed,
                store_updated_at: placed,
                lines: vec![],
                shipments: expected
                    .map(|e| Shipment {
                        external_id: format!("s{id}"),
                        carrier: None,
                        tracking_number: None,
                        tracking_url: None,
                        status: None,
                        expected_delivery_at: Some(e),
                        delivered_at: delivered,
                        store_updated_at: placed,
                    })
                    .into_iter()
                    .collect(),
            }
        };
    for o in [
        order("late", now - 6 * day, true, Some(now - 2 * day), None),
        order("on-time", now - 2 * day, true, Some(now + day), None),
        order(
            "delivered",
            now - 9 * day,
            true,
            Some(now - 5 * day),
            Some(now - 4 * day),
        ),
        order("waiting", now - 5 * day, false, None, None),
        order("ancient", now - 90 * day, false, None, None),
    ] {
        store.apply_order(None, &o).await.unwrap();
    }
    let since = now - 30 * day;
    let numbers = |v: Vec<layan_core::Order>| v.into_iter().map(|o| o.number).collect::<Vec<_>>();
    let late = ProactiveRule::LateShipment {
        grace_ms: day,
        since,
    };
    assert_eq!(
        numbers(store.proactive_candidates(late, now, 10).await.unwrap()),
        vec!["#late"]
    );
    let unfulfilled = ProactiveRule::Unfulfilled {
        after_ms: 3 * day,
        since,
    };
    assert_eq!(
        numbers(
            store
                .proactive_candidates(unfulfilled, now, 10)
                .await
                .unwrap()
        ),
        vec!["#waiting"]
    );
    let after = ProactiveRule::AfterDelivery {
        after_ms: 3 * day,
        since,
    };
    assert_eq!(
        numbers(store.proactive_candidates(after, now, 10).await.unwrap()),
        vec!["#delivered"]
    );
    let after_longer = ProactiveRule::AfterDelivery {
        after_ms: 5 * day,
        since,
    };
    assert!(
        store
            .proactive_candidates(after_longer, now, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let id = store.proactive_candidates(late, now, 10).await.unwrap()[0].id;
    assert!(
        store
            .record_proactive(id, "late_shipment", None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_proactive(id, "late_shipment", None)
            .await
            .unwrap()
    );
    assert!(
        store
            .proactive_candidates(late, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Another rule for the same order is its own.
    assert!(
        store
            .record_proactive(id, "after_delivery", None)
            .await
            .unwrap()
    );
}

/// Events for other nodes go out several in one statement: each arrives, in the order sent.
/// SQLite has one node: nothing to listen to, and sending is a no-op.
async fn notifications_sent_together_arrive_in_order(config: DatabaseConfig) {
    let store = open(&config).await;
    let Some(mut rx) = store.listen().await.unwrap() else {
        assert!(matches!(config, DatabaseConfig::Sqlite(_)));
        store.notify_all(&["x".to_owned()]).await.unwrap();
        return;
    };
    let sent: Vec<String> = (0..50).map(|i| format!("{{\"n\":{i}}}")).collect();
    store.notify_all(&sent[..20]).await.unwrap();
    store.notify_all(&sent[20..]).await.unwrap();
    let mut got = Vec::new();
    // Other tests on this server notify on the same channel: keep only this test's payloads.
    while got.len() < sent.len() {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("notifications within 10 s")
            .expect("listening");
        if let layan_store::Notified::Payload(p) = next
            && sent.contains(&p)
        {
            got.push(p);
        }
    }
    assert_eq!(got, sent);
}
