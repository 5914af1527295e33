//! PostgreSQL's group commit. Messages that arrive while earlier ones are being stored wait and
//! go together: one transaction for the batch, each step one set-based statement over all of
//! its messages (about ten round trips for the batch instead of six for every message — the
//! cost on PostgreSQL is the round trips, not the commits). The steps, and the order they take
//! row locks in, which is what keeps two nodes' batches from deadlocking:
//!
//! 1. the contacts of customer messages, locked in id order (one current conversation per
//!    contact, as in the per-message path);
//! 2. each such contact's current conversation in its inbox;
//! 3. new conversations where there is none (ticket numbers taken together);
//! 4. every conversation written to, locked in id order and read again under the lock;
//! 5. the conversations' new sequence numbers and states, computed here in the messages' order
//!    and written with one `UPDATE … FROM UNNEST`;
//! 6. the messages, one `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING`;
//! 7. the jobs they commit, one insert likewise; then the commit.
//!
//! Anything unusual — a retried send (the unique index skips its row), an unknown conversation,
//! a current conversation closed between 2 and 4, a deadlock with other work — rolls the batch
//! back and stores its messages one transaction each (`append_direct`), which handles every case
//! and lets a bad message fail alone. Messages that the set path does not cover (with
//! attachments; the bot's or the system's with a client message id) go that way from the start.
//! Callers get their result after the commit. A failed commit is not retried that way (it may
//! have happened): the batch's callers get the error, and their retries are idempotent.

use std::{
    collections::{BTreeSet, HashMap},
    sync::LazyLock,
};

use layan_core::{Conversation, NewMessage, Target, now_millis};
use sqlx::Row;

use super::{Pending, PostgresStore, db};
use crate::{
    Appended, StoreError, StoreResult, append,
    rows::{CONV_COLS, CONV_RET},
};

/// The most messages stored in one batch.
pub(super) const MAX_BATCH: usize = 64;
/// Batches stored at the same time (each on its own connection): one fills while one commits.
const IN_FLIGHT: usize = 2;

/// The batch's customer messages' contacts, locked in id order.
const LOCK_CONTACTS: &str = "SELECT id FROM contacts WHERE id = ANY($1) ORDER BY id FOR UPDATE";

/// The current conversation of each (contact, inbox) pair, as `append::CURRENT_CONVERSATION`.
static CURRENT_CONVERSATIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT c.* FROM UNNEST($1::bigint[], $2::bigint[]) AS t(contact_id, inbox_id) \
         CROSS JOIN LATERAL (SELECT {CONV_COLS} FROM conversations c \
         WHERE c.contact_id = t.contact_id AND c.inbox_id = t.inbox_id \
         AND c.merged_into_id IS NULL ORDER BY c.id DESC LIMIT 1) c"
    )
});

/// Takes `$1` ticket numbers at once; returns the last.
const TAKE_TICKET_NUMBERS: &str = "UPDATE counters SET value = value + $1 \
     WHERE name = 'conversation_number' RETURNING value";

/// New open conversations: binds numbers, inboxes, contacts (arrays) and now.
static OPEN_CONVERSATIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO conversations (number, inbox_id, contact_id, status, created_at, \
         updated_at, last_message_at) \
         SELECT t.number, t.inbox_id, t.contact_id, 'open', $4, $4, $4 \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS t(number, inbox_id, contact_id) \
         RETURNING {CONV_RET}"
    )
});

/// The conversations a batch writes to, locked in id order.
static LOCK_CONVERSATIONS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CONV_COLS} FROM conversations c WHERE c.id = ANY($1) ORDER BY c.id FOR UPDATE")
});

/// Writes each conversation's state after the batch (what `append::ADVANCE` does per message).
const WRITE_CONVERSATIONS: &str = "UPDATE conversations c SET last_seq = v.last_seq, \
     status = v.status, waiting_since = v.waiting_since, snoozed_until = v.snoozed_until, \
     last_incoming_seq = v.last_incoming_seq, updated_at = v.at, last_message_at = v.at \
     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], \
     $6::bigint[], $7::bigint[]) \
     AS v(id, last_seq, status, waiting_since, snoozed_until, last_incoming_seq, at) \
     WHERE c.id = v.id";

/// The messages (as `append::INSERT_MESSAGE`); a retried send's row is skipped.
const INSERT_MESSAGES: &str = "INSERT INTO messages (conversation_id, seq, direction, \
     author_kind, author_id, author_name, body, client_message_id, created_at, extras) \
     SELECT t.conversation_id, t.seq, t.direction, t.author_kind, t.author_id, t.author_name, \
     t.body, t.client_message_id, $9, t.extras \
     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], \
     $7::text[], $8::text[], $10::text[]) AS t(conversation_id, seq, direction, author_kind, \
     author_id, author_name, body, client_message_id, extras) \
     ON CONFLICT DO NOTHING RETURNING id, conversation_id, seq";

const INBOX_CHANNELS: &str = "SELECT id, channel FROM inboxes WHERE id = ANY($1)";

/// The jobs (as `jobs::INSERT_JOB`); one already queued under the same dedupe key is kept.
const INSERT_JOBS: &str = "INSERT INTO jobs (kind, payload, dedupe_key, status, max_attempts, \
     run_at, created_at, updated_at) \
     SELECT t.kind, t.payload, t.dedupe_key, 'queued', t.max_attempts, t.run_at, $6, $6 \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) \
     AS t(kind, payload, dedupe_key, max_attempts, run_at) ON CONFLICT DO NOTHING";

/// Whether the set path stores `new` (see the module's documentation).
fn settable(new: &NewMessage) -> bool {
    new.attachments.is_empty() && (new.author.id().is_some() || new.client_message_id.is_none())
}

/// The batch had something only the per-message path handles; nothing of it was kept.
#[derive(Debug)]
struct Unusual(StoreError);

impl From<StoreError> for Unusual {
    fn from(e: StoreError) -> Self {
        Self(e)
    }
}

impl PostgresStore {
    /// The group-commit task: takes what has queued whenever a batch slot is free.
    pub(super) async fn group_commit(self, mut queue: tokio::sync::mpsc::Receiver<Pending>) {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
            let store = self.clone();
            tokio::spawn(async move {
                let (messages, replies): (Vec<NewMessage>, Vec<_>) = batch.into_iter().unzip();
                let results = store.append_grouped(&messages).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    // The caller may have gone (a dropped request); the message is stored anyway.
                    let _ = reply.send(result);
                }
                drop(slot);
            });
        }
    }

    /// Stores a batch: the set path for what it covers, one transaction each for the rest (at
    /// the same time, on other connections). Results in the batch's order.
    pub(super) async fn append_grouped(&self, batch: &[NewMessage]) -> Vec<StoreResult<Appended>> {
        let (set, alone): (Vec<usize>, Vec<usize>) =
            (0..batch.len()).partition(|&i| settable(&batch[i]));
        let set_messages: Vec<&NewMessage> = set.iter().map(|&i| &batch[i]).collect();
        let (set_results, alone_results) = tokio::join!(
            self.append_set_or_each(&set_messages),
            futures_util::future::join_all(alone.iter().map(|&i| self.append_direct(&batch[i])))
        );
        let mut results: Vec<Option<StoreResult<Appended>>> =
            (0..batch.len()).map(|_| None).collect();
        for (i, r) in set.into_iter().zip(set_results) {
            results[i] = Some(r);
        }
        for (i, r) in alone.into_iter().zip(alone_results) {
            results[i] = Some(r);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Database("a batch lost a result".into()))))
            .collect()
    }

    async fn append_set_or_each(&self, batch: &[&NewMessage]) -> Vec<StoreResult<Appended>> {
        if batch.len() > 1 {
            match self.append_set(batch).await {
                Ok(Ok(stored)) => return stored.into_iter().map(Ok).collect(),
                // The commit failed: it may or may not have happened, so nothing is stored
                // again (a caller retries with its client message id, which is idempotent).
                Ok(Err(e)) => return crate::batch_error(batch.len(), &e),
                Err(Unusual(e)) => {
                    tracing::debug!(error = %e, messages = batch.len(), "a batch of messages is stored one by one");
                }
            }
        }
        futures_util::future::join_all(batch.iter().map(|new| self.append_direct(new))).await
    }

    /// The set path: every message of `batch` stored in one transaction, or none. `Err` when
    /// it was rolled back (the per-message path may take the batch); `Ok(Err)` when the commit
    /// itself failed (whether it happened is unknown).
    async fn append_set(
        &self,
        batch: &[&NewMessage],
    ) -> Result<StoreResult<Vec<Appended>>, Unusual> {
        let now = now_millis();
        let mut tx = self.writer.begin().await.map_err(db)?;

        // 1. Contacts, in id order.
        let contacts: BTreeSet<i64> = batch
            .iter()
            .filter_map(|new| match new.target {
                Target::CurrentOrNew { contact_id, .. } => Some(contact_id.0),
                _ => None,
            })
            .collect();
        if !contacts.is_empty() {
            sqlx::query(LOCK_CONTACTS)
                .bind(contacts.into_iter().collect::<Vec<_>>())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        }

        // 2. Their current conversations.
        let pairs: BTreeSet<(i64, i64)> = batch
            .iter()
            .filter_map(|new| match new.target {
                Target::CurrentOrNew {
                    inbox_id,
                    contact_id,
                } => Some((contact_id.0, inbox_id.0)),
                _ => None,
            })
            .collect();
        let mut current: HashMap<(i64, i64), i64> = HashMap::new();
        if !pairs.is_empty() {
            let (contact_ids, inbox_ids): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
            let rows = sqlx::query(&CURRENT_CONVERSATIONS)
                .bind(contact_ids)
                .bind(inbox_ids)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            for row in &rows {
                let c = crate::rows::conversation(row)?;
                if c.status.accepts_customer_messages() {
                    current.insert((c.contact_id.0, c.inbox_id.0), c.id.0);
                }
            }
        }

        // 3. New conversations: one per pair without a current one, one per `Target::New`.
        let mut opening: Vec<(i64, i64)> = pairs
            .iter()
            .filter(|pair| !current.contains_key(pair))
            .copied()
            .collect();
        let fresh_pairs = opening.len();
        for new in batch {
            if let Target::New {
                inbox_id,
                contact_id,
            } = new.target
            {
                opening.push((contact_id.0, inbox_id.0));
            }
        }
        // Every conversation the batch writes to, as it stands (id → state).
        let mut state: HashMap<i64, Conversation> = HashMap::new();
        let mut created: BTreeSet<i64> = BTreeSet::new();
        let mut new_targets: Vec<i64> = Vec::new();
        if !opening.is_empty() {
            let count = i64::try_from(opening.len()).unwrap_or(i64::MAX);
            let last: i64 = sqlx::query_scalar(TAKE_TICKET_NUMBERS)
                .bind(count)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            let numbers: Vec<i64> = (last - count + 1..=last).collect();
            let rows = sqlx::query(&OPEN_CONVERSATIONS)
                .bind(&numbers)
                .bind(opening.iter().map(|p| p.1).collect::<Vec<_>>())
                .bind(opening.iter().map(|p| p.0).collect::<Vec<_>>())
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            let mut by_number: HashMap<i64, Conversation> = HashMap::new();
            for row in &rows {
                let c = crate::rows::conversation(row)?;
                by_number.insert(c.number.0, c);
            }
            for (k, n) in numbers.iter().enumerate() {
                let c = by_number.remove(n).ok_or_else(|| {
                    StoreError::Database("an opened conversation did not come back".into())
                })?;
                if k < fresh_pairs {
                    current.insert(opening[k], c.id.0);
                } else {
                    new_targets.push(c.id.0);
                }
                created.insert(c.id.0);
                state.insert(c.id.0, c);
            }
        }

        // 4. Every other conversation written to, locked in id order, read under the lock.
        let mut locking: BTreeSet<i64> = current
            .values()
            .copied()
            .filter(|id| !created.contains(id))
            .collect();
        for new in batch {
            if let Target::Conversation(id) = new.target {
                locking.insert(id.0);
            }
        }
        if !locking.is_empty() {
            let rows = sqlx::query(&LOCK_CONVERSATIONS)
                .bind(locking.iter().copied().collect::<Vec<_>>())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            for row in &rows {
                let c = crate::rows::conversation(row)?;
                state.insert(c.id.0, c);
            }
        }
        // A current conversation merged or closed between steps 2 and 4 (the contacts' locks
        // keep out other appends, not an agent's close) is left to the per-message path.
        for (pair, id) in &current {
            let still = state.get(id).is_some_and(|c| {
                c.merged_into_id.is_none()
                    && c.status.accepts_customer_messages()
                    && (c.contact_id.0, c.inbox_id.0) == *pair
            });
            if !still {
                return Err(Unusual(StoreError::Conflict(
                    "current_conversation_changed",
                )));
            }
        }

        // 5. Sequence numbers and states, in the batch's order.
        let mut new_targets = new_targets.into_iter();
        let mut planned = Vec::with_capacity(batch.len());
        for new in batch {
            let id = match new.target {
                Target::Conversation(id) => id.0,
                Target::CurrentOrNew {
                    inbox_id,
                    contact_id,
                } => current
                    .get(&(contact_id.0, inbox_id.0))
                    .copied()
                    .ok_or(StoreError::NotFound)?,
                Target::New { .. } => new_targets.next().ok_or(StoreError::NotFound)?,
            };
            let conversation = state.get_mut(&id).ok_or(StoreError::NotFound)?;
            let before = conversation.clone();
            append::advance_in_place(conversation, new.direction, now);
            // Opened for its first message only, as in the per-message path.
            let opened = created.remove(&id);
            planned.push((before, conversation.clone(), opened));
        }
        let touched: BTreeSet<i64> = planned.iter().map(|p| p.1.id.0).collect();
        let written: Vec<&Conversation> = touched.iter().filter_map(|id| state.get(id)).collect();
        sqlx::query(WRITE_CONVERSATIONS)
            .bind(written.iter().map(|c| c.id.0).collect::<Vec<_>>())
            .bind(written.iter().map(|c| c.last_seq).collect::<Vec<_>>())
            .bind(
                written
                    .iter()
                    .map(|c| c.status.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(written.iter().map(|c| c.waiting_since).collect::<Vec<_>>())
            .bind(written.iter().map(|c| c.snoozed_until).collect::<Vec<_>>())
            .bind(
                written
                    .iter()
                    .map(|c| c.last_incoming_seq)
                    .collect::<Vec<_>>(),
            )
            .bind(written.iter().map(|c| c.updated_at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;

        // 6. The messages.
        let rows = sqlx::query(INSERT_MESSAGES)
            .bind(planned.iter().map(|p| p.1.id.0).collect::<Vec<_>>())
            .bind(planned.iter().map(|p| p.1.last_seq).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|n| n.direction.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                batch
                    .iter()
                    .map(|n| n.author.kind_str())
                    .collect::<Vec<_>>(),
            )
            .bind(batch.iter().map(|n| n.author.id()).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|n| n.author_name.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(batch.iter().map(|n| n.body.as_str()).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|n| n.client_message_id.as_ref().map(|c| c.as_str()))
                    .collect::<Vec<_>>(),
            )
            .bind(now)
            .bind(
                batch
                    .iter()
                    .map(|n| {
                        n.extras
                            .as_ref()
                            .and_then(|e| serde_json::to_string(e).ok())
                    })
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        if rows.len() != batch.len() {
            // A retried send (or the same send twice in this batch): one by one.
            return Err(Unusual(StoreError::Conflict("duplicate_client_message")));
        }
        let mut ids: HashMap<(i64, i64), i64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id").map_err(db)?;
            let conversation: i64 = row.try_get("conversation_id").map_err(db)?;
            let seq: i64 = row.try_get("seq").map_err(db)?;
            ids.insert((conversation, seq), id);
        }

        // 7. The jobs they commit.
        let needs: BTreeSet<i64> = batch
            .iter()
            .zip(&planned)
            .filter(|(new, _)| append::needs_channel(new))
            .map(|(_, p)| p.1.inbox_id.0)
            .collect();
        let mut channels: HashMap<i64, String> = HashMap::new();
        if !needs.is_empty() {
            let rows = sqlx::query(INBOX_CHANNELS)
                .bind(needs.into_iter().collect::<Vec<_>>())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            for row in &rows {
                channels.insert(
                    row.try_get("id").map_err(db)?,
                    row.try_get("channel").map_err(db)?,
                );
            }
        }
        let mut jobs = Vec::new();
        let mut message_ids = Vec::with_capacity(batch.len());
        for (new, (_, after, _)) in batch.iter().zip(&planned) {
            let id = *ids
                .get(&(after.id.0, after.last_seq))
                .ok_or_else(|| StoreError::Database("a stored message did not come back".into()))?;
            message_ids.push(id);
            let channel = channels.get(&after.inbox_id.0).map(String::as_str);
            jobs.extend(append::MessageJob::for_message(new, id, channel));
        }
        if !jobs.is_empty() {
            let jobs: Vec<_> = jobs.iter().map(|j| j.job(now)).collect();
            sqlx::query(INSERT_JOBS)
                .bind(jobs.iter().map(|j| j.kind).collect::<Vec<_>>())
                .bind(jobs.iter().map(|j| j.payload).collect::<Vec<_>>())
                .bind(jobs.iter().map(|j| j.dedupe_key).collect::<Vec<_>>())
                .bind(jobs.iter().map(|j| j.max_attempts).collect::<Vec<_>>())
                .bind(jobs.iter().map(|j| j.run_at).collect::<Vec<_>>())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if let Err(e) = tx.commit().await {
            return Ok(Err(db(e)));
        }
        Ok(Ok(batch
            .iter()
            .zip(planned)
            .zip(message_ids)
            .map(|((new, (before, after, opened)), id)| {
                append::appended(new, id, &before, after, opened, now)
            })
            .collect()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use layan_core::{
        AgentId, Author, Contact, ConversationId, ConversationStatus, Direction, Inbox,
        MessageBody, NewMessage, Role, Target,
    };

    use crate::{
        Appended, ConversationChanges, Db, NewAgent, NewContact, NewInbox, Store,
        testing::{self, Backend},
    };

    struct Shop {
        store: Store,
        inbox: Inbox,
        contacts: Vec<Contact>,
        agent: AgentId,
        _dir: tempfile::TempDir,
    }

    /// A fresh schema with an inbox, three contacts (the first with an open conversation, the
    /// second with a resolved one, the third with none; the first snoozed) and an agent.
    async fn shop() -> Option<Shop> {
        let dir = tempfile::tempdir().unwrap();
        let (config, _) = testing::fresh(Backend::Postgres, dir.path()).await?;
        let store = Store::open(&config).await.unwrap();
        let inbox = store
            .create_inbox(NewInbox {
                name: "Website",
                widget_key: "key_batch",
                greeting: "Hi!",
                color: "#123456",
            })
            .await
            .unwrap();
        let mut contacts = Vec::new();
        for i in 0..3 {
            contacts.push(
                store
                    .create_contact_with_identity(
                        NewContact::default(),
                        "widget_visitor",
                        &format!("h{i}"),
                    )
                    .await
                    .unwrap(),
            );
        }
        let agent = store
            .create_agent(NewAgent {
                email: "a@x.io",
                name: "Ayu",
                role: Role::Agent,
                password_hash: "h",
            })
            .await
            .unwrap()
            .id;
        for contact in &contacts[..2] {
            store
                .append_message(&incoming(&inbox, contact, "earlier"))
                .await
                .unwrap();
        }
        let resolved = ConversationChanges {
            status: Some(ConversationStatus::Resolved),
            ..Default::default()
        };
        store
            .update_conversation(ConversationId(2), &resolved)
            .await
            .unwrap();
        let snoozed = ConversationChanges {
            status: Some(ConversationStatus::Snoozed),
            // The same in both shops (2100-01-01), so their outlines can be compared.
            snoozed_until: Some(4_102_444_800_000),
            ..Default::default()
        };
        store
            .update_conversation(ConversationId(1), &snoozed)
            .await
            .unwrap();
        Some(Shop {
            store,
            inbox,
            contacts,
            agent,
            _dir: dir,
        })
    }

    fn incoming(inbox: &Inbox, contact: &Contact, body: &str) -> NewMessage {
        NewMessage {
            target: Target::CurrentOrNew {
                inbox_id: inbox.id,
                contact_id: contact.id,
            },
            direction: Direction::Incoming,
            author: Author::Contact(contact.id),
            author_name: None,
            body: MessageBody::parse(body).unwrap(),
            client_message_id: None,
            automations: true,
            attachments: Vec::new(),
            extras: None,
        }
    }

    fn by_agent(agent: AgentId, conversation: i64, direction: Direction) -> NewMessage {
        NewMessage {
            target: Target::Conversation(ConversationId(conversation)),
            direction,
            author: Author::Agent(agent),
            author_name: Some("Ayu".into()),
            body: MessageBody::parse("On its way").unwrap(),
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: None,
        }
    }

    /// Every kind of target and direction the set path covers, in one batch.
    fn batch(shop: &Shop) -> Vec<NewMessage> {
        let [a, b, c] = [&shop.contacts[0], &shop.contacts[1], &shop.contacts[2]];
        vec![
            // A note keeps the first conversation snoozed; the shopper's message wakes it.
            by_agent(shop.agent, 1, Direction::Note),
            incoming(&shop.inbox, a, "where is my order?"),
            incoming(&shop.inbox, c, "hello"),
            incoming(&shop.inbox, c, "anyone there?"),
            by_agent(shop.agent, 1, Direction::Outgoing),
            by_agent(shop.agent, 2, Direction::Note),
            incoming(&shop.inbox, b, "it broke again"),
            NewMessage {
                target: Target::New {
                    inbox_id: shop.inbox.id,
                    contact_id: a.id,
                },
                ..incoming(&shop.inbox, a, "a new matter")
            },
        ]
    }

    /// What a result says, without times and message ids.
    fn outline(a: &Appended) -> String {
        let c = &a.conversation;
        format!(
            "conversation {} #{} seq {} {} (was {:?}) opened {} waiting {} last incoming {} snoozed {:?}",
            c.id.0,
            c.number.0,
            a.message.seq,
            c.status.as_str(),
            a.previous_status.map(ConversationStatus::as_str),
            a.created_conversation,
            c.waiting_since.is_some(),
            c.last_incoming_seq,
            c.snoozed_until,
        )
    }

    async fn stored(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for id in 1..=4 {
            let c = store
                .conversation(ConversationId(id))
                .await
                .unwrap()
                .unwrap();
            let seqs: Vec<i64> = store
                .messages_after(c.id, 0, 50, true)
                .await
                .unwrap()
                .iter()
                .map(|m| m.seq)
                .collect();
            out.push(format!(
                "{} #{} {} seq {} incoming {} waiting {} messages {seqs:?}",
                c.id.0,
                c.number.0,
                c.status.as_str(),
                c.last_seq,
                c.last_incoming_seq,
                c.waiting_since.is_some()
            ));
        }
        out.push(format!("{:?}", store.job_counts().await.unwrap()));
        out
    }

    /// The set path stores a batch exactly as the per-message path stores its messages one
    /// after another.
    #[tokio::test]
    async fn the_set_path_stores_what_the_per_message_path_stores() {
        let (Some(one_by_one), Some(together)) = (shop().await, shop().await) else {
            return;
        };
        let mut expected = Vec::new();
        for new in batch(&one_by_one) {
            let Db::Postgres(pg) = &one_by_one.store.db else {
                unreachable!()
            };
            expected.push(outline(&pg.append_direct(&new).await.unwrap()));
        }
        let messages = batch(&together);
        let refs: Vec<&NewMessage> = messages.iter().collect();
        let Db::Postgres(pg) = &together.store.db else {
            unreachable!()
        };
        let got: Vec<String> = pg
            .append_set(&refs)
            .await
            .expect("the set path took the batch")
            .expect("committed")
            .iter()
            .map(outline)
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            stored(&together.store).await,
            stored(&one_by_one.store).await
        );
        assert!(expected[0].contains("snoozed Some") && expected[1].contains("snoozed None"));
        assert!(expected[2].contains("opened true") && expected[3].contains("opened false"));
    }

    /// A retried send in a batch sends the batch one by one: nothing stored twice, every
    /// caller answered.
    #[tokio::test]
    async fn a_retried_send_in_a_batch_is_stored_once() {
        let Some(shop) = shop().await else { return };
        let mut first = incoming(&shop.inbox, &shop.contacts[2], "hello");
        first.client_message_id = Some(layan_core::ClientMessageId::parse("r-1").unwrap());
        let retried = first.clone();
        let other = incoming(&shop.inbox, &shop.contacts[0], "and me");
        let Db::Postgres(pg) = &shop.store.db else {
            unreachable!()
        };
        let results = pg.append_grouped(&[first, retried, other]).await;
        let results: Vec<Appended> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results[0].message.id, results[1].message.id);
        assert_eq!(results.iter().filter(|r| r.duplicate).count(), 1);
        let conv = results[0].conversation.id;
        assert_eq!(
            shop.store
                .messages_after(conv, 0, 10, true)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(results[2].message.seq, 2);
    }
}
