//! Reading conversations and messages out of a row, once for every kind of row: sqlx's SQLite
//! and PostgreSQL rows and rusqlite's (SQLite's message append, `sqlite_append.rs`).

use layan_core::{
    AgentId, Author, Contact, ContactId, Conversation, ConversationId, ConversationStatus,
    ConversationSummary, Direction, InboxId, Job, JobStatus, Message, MessageId, Priority, TeamId,
    TicketNumber,
};

use crate::{StoreError, StoreResult};

/// A conversation's columns (`c.` is the conversations table).
pub(crate) const CONV_COLS: &str = "c.id, c.number, c.inbox_id, c.contact_id, c.status, c.assignee_id, \
     c.last_seq, c.created_at, c.updated_at, c.last_message_at, c.waiting_since, c.priority, \
     c.team_id, c.snoozed_until, c.merged_into_id, c.last_incoming_seq";
/// The same columns unqualified (SQLite's RETURNING clause cannot name a table alias).
pub(crate) const CONV_RET: &str = "id, number, inbox_id, contact_id, status, assignee_id, last_seq, \
     created_at, updated_at, last_message_at, waiting_since, priority, team_id, snoozed_until, \
     merged_into_id, last_incoming_seq";
/// A contact's columns, unqualified.
pub(crate) const CONTACT_RET: &str =
    "id, name, email, locale, phone, notes, attributes, created_at";
/// A message's columns, `m_`-prefixed so they can sit beside a conversation's.
pub(crate) const MSG_COLS: &str = "m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, \
     m.direction AS m_direction, m.author_kind AS m_author_kind, m.author_id AS m_author_id, \
     m.author_name AS m_author_name, m.body AS m_body, m.client_message_id AS m_client_message_id, \
     m.created_at AS m_created_at, m.extras AS m_extras";

/// A row's columns by name, as the few types conversations and messages use.
pub(crate) trait Columns {
    fn int(&self, name: &str) -> StoreResult<Option<i64>>;
    fn text(&self, name: &str) -> StoreResult<Option<String>>;

    fn req_int(&self, name: &str) -> StoreResult<i64> {
        self.int(name)?.ok_or_else(|| null(name))
    }
    fn req_text(&self, name: &str) -> StoreResult<String> {
        self.text(name)?.ok_or_else(|| null(name))
    }
}

fn null(name: &str) -> StoreError {
    StoreError::Database(format!("unexpected NULL in column {name}").into())
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("unexpected {what} in database: {value:?}").into())
}

/// Implements [`Columns`] for a sqlx row type.
macro_rules! sqlx_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, name: &str) -> StoreResult<Option<i64>> {
                sqlx::Row::try_get(self, name).map_err(|e| StoreError::Database(Box::new(e)))
            }
            fn text(&self, name: &str) -> StoreResult<Option<String>> {
                sqlx::Row::try_get(self, name).map_err(|e| StoreError::Database(Box::new(e)))
            }
        }
    };
}
sqlx_columns!(sqlx::sqlite::SqliteRow);
sqlx_columns!(sqlx::postgres::PgRow);

/// The names of [`CONV_RET`]'s columns, in its order (and [`CONV_COLS`]'s, without `c.`).
pub(crate) const CONV_NAMES: [&str; 16] = [
    "id",
    "number",
    "inbox_id",
    "contact_id",
    "status",
    "assignee_id",
    "last_seq",
    "created_at",
    "updated_at",
    "last_message_at",
    "waiting_since",
    "priority",
    "team_id",
    "snoozed_until",
    "merged_into_id",
    "last_incoming_seq",
];

/// A rusqlite row whose columns are `names`, in that order, read by position. rusqlite finds a
/// column by name by asking SQLite for every column's name in turn (a call, a `strlen` and a
/// comparison each): that was a tenth of the message writer's time.
pub(crate) struct Positional<'r, 's, 'n> {
    pub row: &'r rusqlite::Row<'s>,
    pub names: &'n [&'n str],
}

impl Positional<'_, '_, '_> {
    fn at(&self, name: &str) -> StoreResult<usize> {
        self.names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| StoreError::Database(format!("no column {name} here").into()))
    }
}

impl Columns for Positional<'_, '_, '_> {
    fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.row
            .get(self.at(name)?)
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
    fn text(&self, name: &str) -> StoreResult<Option<String>> {
        self.row
            .get(self.at(name)?)
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.get(name)
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
    fn text(&self, name: &str) -> StoreResult<Option<String>> {
        self.get(name)
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
}

/// A conversation from its columns (`CONV_COLS` or `CONV_RET`).
pub(crate) fn conversation(row: &impl Columns) -> StoreResult<Conversation> {
    let status = row.req_text("status")?;
    let priority = row.req_text("priority")?;
    Ok(Conversation {
        id: ConversationId(row.req_int("id")?),
        number: TicketNumber(row.req_int("number")?),
        inbox_id: InboxId(row.req_int("inbox_id")?),
        contact_id: ContactId(row.req_int("contact_id")?),
        status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        assignee_id: row.int("assignee_id")?.map(AgentId),
        last_seq: row.req_int("last_seq")?,
        created_at: row.req_int("created_at")?,
        updated_at: row.req_int("updated_at")?,
        last_message_at: row.req_int("last_message_at")?,
        waiting_since: row.int("waiting_since")?,
        priority: Priority::parse(&priority).ok_or_else(|| corrupt("priority", &priority))?,
        team_id: row.int("team_id")?.map(TeamId),
        snoozed_until: row.int("snoozed_until")?,
        merged_into_id: row.int("merged_into_id")?.map(ConversationId),
        last_incoming_seq: row.req_int("last_incoming_seq")?,
    })
}

/// A job from its columns (`jobs::JOB_COLS`).
pub(crate) fn job(row: &impl Columns) -> StoreResult<Job> {
    let status = row.req_text("status")?;
    Ok(Job {
        id: row.req_int("id")?,
        kind: row.req_text("kind")?,
        payload: row.req_text("payload")?,
        status: JobStatus::parse(&status).ok_or_else(|| corrupt("job status", &status))?,
        attempts: row.req_int("attempts")?,
        max_attempts: row.req_int("max_attempts")?,
        run_at: row.req_int("run_at")?,
        last_error: row.text("last_error")?,
        created_at: row.req_int("created_at")?,
        updated_at: row.req_int("updated_at")?,
    })
}

/// A contact from its columns (`CONTACT_COLS`).
pub(crate) fn contact(row: &impl Columns) -> StoreResult<Contact> {
    Ok(Contact {
        id: ContactId(row.req_int("id")?),
        name: row.text("name")?,
        email: row.text("email")?,
        locale: row.text("locale")?,
        phone: row.text("phone")?,
        notes: row.text("notes")?,
        attributes: serde_json::from_str(&row.req_text("attributes")?)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
        created_at: row.req_int("created_at")?,
    })
}

/// A conversation as the inbox lists it, from the summary query's columns (its conversation's,
/// names, labels joined by commas, the last visible message's `m_` columns, `read_seq`).
pub(crate) fn summary(row: &impl Columns) -> StoreResult<ConversationSummary> {
    let mut labels: Vec<String> = row
        .text("labels")?
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    labels.sort();
    Ok(ConversationSummary {
        conversation: conversation(row)?,
        contact_name: row.text("contact_name")?,
        contact_email: row.text("contact_email")?,
        inbox_name: row.req_text("inbox_name")?,
        assignee_name: row.text("assignee_name")?,
        team_name: row.text("team_name")?,
        labels,
        last_message: message(row)?,
        read_seq: row.int("read_seq")?,
    })
}

/// A message from its `m_`-prefixed columns (`MSG_COLS`); `None` when `m_id` is NULL (a left
/// join that found no message).
pub(crate) fn message(row: &impl Columns) -> StoreResult<Option<Message>> {
    let Some(id) = row.int("m_id")? else {
        return Ok(None);
    };
    let direction = row.req_text("m_direction")?;
    let author_kind = row.req_text("m_author_kind")?;
    Ok(Some(Message {
        id: MessageId(id),
        conversation_id: ConversationId(row.req_int("m_conversation_id")?),
        seq: row.req_int("m_seq")?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        author: Author::from_parts(&author_kind, row.int("m_author_id")?)
            .ok_or_else(|| corrupt("author", &author_kind))?,
        author_name: row.text("m_author_name")?,
        body: row.req_text("m_body")?,
        client_message_id: row.text("m_client_message_id")?,
        created_at: row.req_int("m_created_at")?,
        extras: match row.text("m_extras")? {
            None => None,
            Some(json) => Some(serde_json::from_str(&json).map_err(|_| corrupt("extras", &json))?),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_column_names_follow_both_column_lists() {
        assert_eq!(CONV_NAMES.join(", "), CONV_RET);
        let qualified: Vec<String> = CONV_NAMES.iter().map(|n| format!("c.{n}")).collect();
        assert_eq!(qualified.join(", "), CONV_COLS);
    }
}
