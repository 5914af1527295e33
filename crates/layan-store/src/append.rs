//! Storing a message, the parts both backends share: the statements (written with `?`;
//! PostgreSQL's `q()` numbers them), how a message moves its conversation, the jobs committed
//! with it and the result. SQLite runs them through rusqlite on the writer's own handle
//! (`sqlite_append.rs`), PostgreSQL through sqlx (`postgres.rs`).

use std::sync::LazyLock;

use layan_core::{
    Conversation, ConversationStatus, Direction, Message, MessageId, Millis, NewMessage,
};

use crate::{
    Appended, NewJob,
    rows::{CONTACT_RET, CONV_COLS, CONV_RET, MSG_COLS},
};

/// A new contact: binds name, email, locale, now.
pub(crate) static INSERT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO contacts (name, email, locale, created_at) VALUES (?, ?, ?, ?) \
         RETURNING {CONTACT_RET}"
    )
});

/// Another way to recognise a contact: binds kind, value, the contact, now.
pub(crate) const INSERT_IDENTITY: &str =
    "INSERT INTO contact_identities (kind, value, contact_id, created_at) VALUES (?, ?, ?, ?)";

/// The message an author already sent with this client message id (a retried send).
pub(crate) static BY_CLIENT_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {MSG_COLS} FROM messages m WHERE m.author_kind = ? \
         AND m.author_id IS NOT DISTINCT FROM ? AND m.client_message_id = ?"
    )
});

pub(crate) static CONVERSATION: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {CONV_COLS} FROM conversations c WHERE c.id = ?"));

/// A contact's newest conversation in an inbox; one merged into another is not current (its
/// survivor is).
pub(crate) static CURRENT_CONVERSATION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {CONV_COLS} FROM conversations c WHERE c.contact_id = ? AND c.inbox_id = ? \
         AND c.merged_into_id IS NULL ORDER BY c.id DESC LIMIT 1"
    )
});

/// Takes the next sequence number and moves the status: binds status, waiting since, whether
/// snoozed (keeps the wake-up time), whether incoming, now, now, the conversation.
pub(crate) static ADVANCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE conversations SET last_seq = last_seq + 1, status = ?, waiting_since = ?, \
         snoozed_until = CASE WHEN ? THEN snoozed_until ELSE NULL END, \
         last_incoming_seq = CASE WHEN ? THEN last_seq + 1 ELSE last_incoming_seq END, \
         updated_at = ?, last_message_at = ? WHERE id = ? RETURNING {CONV_RET}"
    )
});

/// Stores the message; no row back when its author already stored this client message id (a
/// retried send: the caller rolls back and returns the stored one).
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (conversation_id, seq, direction, \
     author_kind, author_id, author_name, body, client_message_id, created_at, extras) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id";

/// Attaches one of the author's own uploads to this conversation that is not attached yet:
/// binds the message, the attachment, the conversation, the agent.
pub(crate) const ATTACH: &str = "UPDATE attachments SET message_id = ? WHERE id = ? \
     AND message_id IS NULL AND conversation_id = ? AND uploaded_by = ?";

pub(crate) const INBOX_CHANNEL: &str = "SELECT channel FROM inboxes WHERE id = ?";

pub(crate) const NEXT_TICKET_NUMBER: &str = "UPDATE counters SET value = value + 1 \
     WHERE name = 'conversation_number' RETURNING value";

/// A new open conversation: binds the number, inbox, contact, now three times.
pub(crate) static OPEN_CONVERSATION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO conversations (number, inbox_id, contact_id, status, created_at, \
         updated_at, last_message_at) VALUES (?, ?, ?, 'open', ?, ?, ?) RETURNING {CONV_RET}"
    )
});

/// The conversation's status and waiting-since time after a message in this direction.
pub(crate) fn advance(
    conversation: &Conversation,
    direction: Direction,
    now: Millis,
) -> (ConversationStatus, Option<Millis>) {
    let status = match direction {
        Direction::Incoming => conversation.status.after_customer_message(),
        _ => conversation.status,
    };
    let waiting_since = match direction {
        Direction::Incoming => Some(conversation.waiting_since.unwrap_or(now)),
        Direction::Outgoing | Direction::Bot => None,
        Direction::Note | Direction::System => conversation.waiting_since,
    };
    (status, waiting_since)
}

/// What [`ADVANCE`] does, done in memory: PostgreSQL's set-based append computes a batch's
/// conversation states here and writes the results.
pub(crate) fn advance_in_place(conversation: &mut Conversation, direction: Direction, now: Millis) {
    let (status, waiting_since) = advance(conversation, direction, now);
    conversation.last_seq += 1;
    if status != ConversationStatus::Snoozed {
        conversation.snoozed_until = None;
    }
    if direction == Direction::Incoming {
        conversation.last_incoming_seq = conversation.last_seq;
    }
    conversation.status = status;
    conversation.waiting_since = waiting_since;
    conversation.updated_at = now;
    conversation.last_message_at = now;
}

/// Whether the jobs of `new` depend on its inbox's channel (replies and bot answers).
pub(crate) fn needs_channel(new: &NewMessage) -> bool {
    layan_core::JobWork::needs_channel(new)
}

/// A job committed with a message, decided by `layan_core::JobWork::for_message` (the domain
/// decides which jobs a message brings; storage only writes them in the same transaction).
pub(crate) struct MessageJob {
    kind: &'static str,
    payload: String,
    key: String,
    max_attempts: i64,
}

impl MessageJob {
    /// The jobs committed with message `id`; `channel` is the inbox's, read only when
    /// [`needs_channel`] says so.
    pub(crate) fn for_message(new: &NewMessage, id: i64, channel: Option<&str>) -> Vec<Self> {
        let channel = channel.and_then(layan_core::ChannelKind::parse);
        layan_core::JobWork::for_message(new, MessageId(id), channel)
            .into_iter()
            .map(|spec| Self {
                kind: spec.work.kind(),
                payload: spec.work.payload(),
                key: spec.dedupe_key,
                max_attempts: spec.max_attempts,
            })
            .collect()
    }

    pub(crate) fn job(&self, now: Millis) -> NewJob<'_> {
        NewJob {
            kind: self.kind,
            payload: &self.payload,
            dedupe_key: Some(&self.key),
            run_at: now,
            max_attempts: self.max_attempts,
        }
    }
}

/// What storing `new` as message `id` in `updated` (which was `before`) returns.
pub(crate) fn appended(
    new: &NewMessage,
    id: i64,
    before: &Conversation,
    updated: Conversation,
    created: bool,
    now: Millis,
) -> Appended {
    Appended {
        message: Message {
            id: MessageId(id),
            conversation_id: updated.id,
            seq: updated.last_seq,
            direction: new.direction,
            author: new.author,
            author_name: new.author_name.clone(),
            body: new.body.as_str().to_owned(),
            client_message_id: new
                .client_message_id
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            created_at: now,
            extras: new.extras.clone(),
        },
        previous_status: (before.status != updated.status).then_some(before.status),
        conversation: updated,
        created_conversation: created,
        duplicate: false,
    }
}
