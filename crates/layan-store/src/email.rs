//! Email storage (`0008_email.sql`): email inboxes and their settings, every received mail raw
//! (stored before the IMAP server hears it was read; the ingest job committed with it), the
//! email side of messages (threading headers, sanitised HTML, delivery), and attachments.
//! `email_queries!` is compiled per backend like `queries.rs`.

use layan_core::{
    AttachmentMeta, ConversationId, Delivery, EmailMeta, InboundEmailInfo, InboxId, MessageId,
    Millis,
};

use crate::{Store, StoreResult};

/// An email inbox's stored row: its settings as JSON (read by the engine) and signing secret.
#[derive(Debug, Clone)]
pub struct EmailInboxRow {
    pub inbox_id: InboxId,
    pub settings: String,
    pub secret: String,
    pub fetch_error: Option<String>,
    pub fetched_at: Option<Millis>,
}

/// A received mail with its bytes.
#[derive(Debug, Clone)]
pub struct InboundEmailRow {
    pub info: InboundEmailInfo,
    pub raw: Vec<u8>,
}

/// The email side of a message, to store.
#[derive(Debug, Clone)]
pub struct NewEmailMeta<'a> {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub rfc_message_id: &'a str,
    pub subject: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub html: Option<&'a str>,
    pub full_text: Option<&'a str>,
    pub delivery: Delivery,
}

/// A file to store with a message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub content_id: Option<String>,
    pub data: Vec<u8>,
}

impl Store {
    /// Creates an inbox of channel `email` with its settings (one transaction).
    pub async fn create_email_inbox(
        &self,
        name: &str,
        address: &str,
        settings: &str,
        secret: &str,
        key: &str,
    ) -> StoreResult<layan_core::Inbox> {
        dispatch!(self, s => s.create_email_inbox(name, address, settings, secret, key).await)
    }

    pub async fn update_email_settings(
        &self,
        inbox: InboxId,
        address: &str,
        settings: &str,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.update_email_settings(inbox, address, settings).await)
    }

    pub async fn email_inbox(&self, inbox: InboxId) -> StoreResult<Option<EmailInboxRow>> {
        dispatch!(self, s => s.email_inbox(inbox).await)
    }

    /// Replaces an inbox's reply-token secret.
    pub async fn set_email_secret(&self, inbox: InboxId, secret: &str) -> StoreResult<()> {
        dispatch!(self, s => s.set_email_secret(inbox, secret).await)
    }

    /// Replaces an inbox's stored settings and secret (sealed again) only if they are still
    /// `old` (a change made meanwhile wins); whether they were replaced.
    pub async fn reseal_email_inbox(
        &self,
        inbox: InboxId,
        old: (&str, &str),
        new: (&str, &str),
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.reseal_email_inbox(inbox, old, new).await)
    }

    pub async fn email_inboxes(&self) -> StoreResult<Vec<EmailInboxRow>> {
        dispatch!(self, s => s.email_inboxes().await)
    }

    /// Records how the last fetch went (`None`: well).
    pub async fn set_fetch_status(&self, inbox: InboxId, error: Option<&str>) -> StoreResult<()> {
        dispatch!(self, s => s.set_fetch_status(inbox, error).await)
    }

    /// Stores a received mail and, in the same transaction, the job that reads it. The same
    /// dedupe key again stores nothing: `(id, false)`.
    pub async fn store_inbound_email(
        &self,
        inbox: InboxId,
        dedupe_key: &str,
        sender: Option<&str>,
        raw: &[u8],
    ) -> StoreResult<(i64, bool)> {
        dispatch!(self, s => s.store_inbound_email(inbox, dedupe_key, sender, raw).await)
    }

    pub async fn inbound_email(&self, id: i64) -> StoreResult<Option<InboundEmailRow>> {
        dispatch!(self, s => s.inbound_email(id).await)
    }

    /// Received mails, newest first; `status` filters.
    pub async fn inbound_emails(
        &self,
        status: Option<layan_core::InboundStatus>,
        limit: u32,
    ) -> StoreResult<Vec<InboundEmailInfo>> {
        dispatch!(self, s => s.inbound_emails(status, limit).await)
    }

    pub async fn set_inbound_status(
        &self,
        id: i64,
        status: layan_core::InboundStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.set_inbound_status(id, status, error).await)
    }

    /// Queues a stored mail to be read again (an admin's "reprocess").
    pub async fn requeue_inbound_email(&self, id: i64) -> StoreResult<()> {
        dispatch!(self, s => s.requeue_inbound_email(id).await)
    }

    /// How many mails this sender sent to the inbox since `since`, up to and including the
    /// mail `up_to` (the hourly limit: mails stored later do not count against earlier ones).
    pub async fn inbound_count_from(
        &self,
        inbox: InboxId,
        sender: &str,
        since: Millis,
        up_to: i64,
    ) -> StoreResult<i64> {
        dispatch!(self, s => s.inbound_count_from(inbox, sender, since, up_to).await)
    }

    /// Conversations of this inbox holding a mail with one of these Message-IDs, newest first.
    pub async fn conversations_by_rfc_ids(
        &self,
        inbox: InboxId,
        ids: &[String],
    ) -> StoreResult<Vec<ConversationId>> {
        dispatch!(self, s => s.conversations_by_rfc_ids(inbox, ids).await)
    }

    /// The message an outgoing Message-ID belongs to, and its conversation (bounces).
    pub async fn message_by_rfc_id(
        &self,
        rfc: &str,
    ) -> StoreResult<Option<(MessageId, ConversationId)>> {
        dispatch!(self, s => s.message_by_rfc_id(rfc).await)
    }

    /// The conversation with this ticket number in this inbox.
    pub async fn conversation_by_number(
        &self,
        inbox: InboxId,
        number: i64,
    ) -> StoreResult<Option<layan_core::Conversation>> {
        dispatch!(self, s => s.conversation_by_number(inbox, number).await)
    }

    /// After an inbound mail became a message: its email side and attachments, and the mail
    /// marked processed — one transaction; running it again adds nothing.
    pub async fn record_inbound_message(
        &self,
        inbound: i64,
        meta: &NewEmailMeta<'_>,
        attachments: &[NewAttachment],
    ) -> StoreResult<()> {
        dispatch!(self, s => s.record_inbound_message(inbound, meta, attachments).await)
    }

    /// Records an outgoing mail before it is sent (nothing when it is recorded already).
    pub async fn queue_outbound_email(&self, meta: &NewEmailMeta<'_>) -> StoreResult<()> {
        dispatch!(self, s => s.queue_outbound_email(meta).await)
    }

    pub async fn set_delivery(
        &self,
        message: MessageId,
        delivery: Delivery,
        detail: Option<&str>,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.set_delivery(message, delivery, detail).await)
    }

    /// The email side of every message of a conversation, in order.
    pub async fn conversation_emails(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Vec<EmailMeta>> {
        dispatch!(self, s => s.conversation_emails(conversation).await)
    }

    pub async fn email_meta(&self, message: MessageId) -> StoreResult<Option<EmailMeta>> {
        dispatch!(self, s => s.email_meta(message).await)
    }

    /// An attachment's description, where it belongs (the conversation of its message, or of
    /// an upload not sent yet), and its bytes.
    pub async fn attachment(
        &self,
        id: i64,
    ) -> StoreResult<Option<(AttachmentMeta, ConversationId, Vec<u8>)>> {
        dispatch!(self, s => s.attachment(id).await)
    }

    /// An agent's upload to a conversation, waiting for the reply that carries it.
    pub async fn upload_attachment(
        &self,
        conversation: ConversationId,
        agent: layan_core::AgentId,
        file: &NewAttachment,
    ) -> StoreResult<AttachmentMeta> {
        dispatch!(self, s => s.upload_attachment(conversation, agent, file).await)
    }

    /// The files attached to a message, with their bytes (for sending).
    pub async fn message_files(
        &self,
        message: MessageId,
    ) -> StoreResult<Vec<(AttachmentMeta, Vec<u8>)>> {
        dispatch!(self, s => s.message_files(message).await)
    }
}

pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

macro_rules! email_queries {
    ($store:ident, $db:ty, $row:ty) => {
const EMAIL_COLS: &str = "e.message_id, e.conversation_id, e.rfc_message_id, e.subject, e.from_address, \
    e.to_addresses, e.cc_addresses, e.html, e.full_text, e.delivery, e.delivery_detail";

fn email_meta_from_row(row: &$row) -> StoreResult<layan_core::EmailMeta> {
    let delivery: String = row.try_get("delivery").map_err(db)?;
    Ok(layan_core::EmailMeta {
        message_id: MessageId(row.try_get("message_id").map_err(db)?),
        conversation_id: ConversationId(row.try_get("conversation_id").map_err(db)?),
        rfc_message_id: row.try_get("rfc_message_id").map_err(db)?,
        subject: row.try_get("subject").map_err(db)?,
        from: row.try_get("from_address").map_err(db)?,
        to: crate::email::split_list(&row.try_get::<String, _>("to_addresses").map_err(db)?),
        cc: crate::email::split_list(&row.try_get::<String, _>("cc_addresses").map_err(db)?),
        html: row.try_get("html").map_err(db)?,
        full_text: row.try_get("full_text").map_err(db)?,
        delivery: layan_core::Delivery::parse(&delivery)
            .ok_or_else(|| StoreError::Database(format!("unknown delivery {delivery:?}").into()))?,
        delivery_detail: row.try_get("delivery_detail").map_err(db)?,
        attachments: Vec::new(),
    })
}

fn attachment_from_row(row: &$row) -> StoreResult<layan_core::AttachmentMeta> {
    Ok(layan_core::AttachmentMeta {
        id: row.try_get("id").map_err(db)?,
        filename: row.try_get("filename").map_err(db)?,
        content_type: row.try_get("content_type").map_err(db)?,
        size: row.try_get("size").map_err(db)?,
        content_id: row.try_get("content_id").map_err(db)?,
    })
}

fn email_inbox_from_row(row: &$row) -> StoreResult<crate::email::EmailInboxRow> {
    Ok(crate::email::EmailInboxRow {
        inbox_id: InboxId(row.try_get("inbox_id").map_err(db)?),
        settings: row.try_get("settings").map_err(db)?,
        secret: row.try_get("secret").map_err(db)?,
        fetch_error: row.try_get("fetch_error").map_err(db)?,
        fetched_at: row.try_get("fetched_at").map_err(db)?,
    })
}

const INBOUND_COLS: &str = "id, inbox_id, sender, status, error, message_id, received_at";

fn inbound_from_row(row: &$row, size: i64) -> StoreResult<layan_core::InboundEmailInfo> {
    let status: String = row.try_get("status").map_err(db)?;
    Ok(layan_core::InboundEmailInfo {
        id: row.try_get("id").map_err(db)?,
        inbox_id: InboxId(row.try_get("inbox_id").map_err(db)?),
        sender: row.try_get("sender").map_err(db)?,
        size,
        status: layan_core::InboundStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown status {status:?}").into()))?,
        error: row.try_get("error").map_err(db)?,
        message_id: row.try_get::<Option<i64>, _>("message_id").map_err(db)?.map(MessageId),
        received_at: row.try_get("received_at").map_err(db)?,
    })
}

impl $store {
    pub async fn create_email_inbox(&self, name: &str, address: &str, settings: &str, secret: &str, key: &str) -> StoreResult<layan_core::Inbox> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "INSERT INTO inboxes (name, channel, widget_key, greeting, color, created_at) \
             VALUES (?, 'email', ?, '', '#4f46e5', ?) RETURNING {INBOX_RET}"
        )))
        .bind(name)
        .bind(key)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let inbox = inbox_from_row(&row)?;
        sqlx::query(&q("INSERT INTO email_inboxes (inbox_id, address, settings, secret) VALUES (?, ?, ?, ?)"))
            .bind(inbox.id.0)
            .bind(address)
            .bind(settings)
            .bind(secret)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(inbox)
    }

    pub async fn set_email_secret(&self, inbox: InboxId, secret: &str) -> StoreResult<()> {
        sqlx::query(&q("UPDATE email_inboxes SET secret = ? WHERE inbox_id = ?"))
            .bind(secret)
            .bind(inbox.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn reseal_email_inbox(&self, inbox: InboxId, old: (&str, &str), new: (&str, &str)) -> StoreResult<bool> {
        let done = sqlx::query(&q("UPDATE email_inboxes SET settings = ?, secret = ? WHERE inbox_id = ? AND settings = ? AND secret = ?"))
            .bind(new.0)
            .bind(new.1)
            .bind(inbox.0)
            .bind(old.0)
            .bind(old.1)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn update_email_settings(&self, inbox: InboxId, address: &str, settings: &str) -> StoreResult<()> {
        let done = sqlx::query(&q("UPDATE email_inboxes SET address = ?, settings = ?, fetch_error = NULL WHERE inbox_id = ?"))
            .bind(address)
            .bind(settings)
            .bind(inbox.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn email_inbox(&self, inbox: InboxId) -> StoreResult<Option<crate::email::EmailInboxRow>> {
        sqlx::query(&q("SELECT * FROM email_inboxes WHERE inbox_id = ?"))
            .bind(inbox.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(email_inbox_from_row)
            .transpose()
    }

    pub async fn email_inboxes(&self) -> StoreResult<Vec<crate::email::EmailInboxRow>> {
        sqlx::query(&q("SELECT * FROM email_inboxes ORDER BY inbox_id"))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .iter()
            .map(email_inbox_from_row)
            .collect()
    }

    pub async fn set_fetch_status(&self, inbox: InboxId, error: Option<&str>) -> StoreResult<()> {
        sqlx::query(&q("UPDATE email_inboxes SET fetch_error = ?, fetched_at = ? WHERE inbox_id = ?"))
            .bind(error)
            .bind(now_millis())
            .bind(inbox.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn store_inbound_email(&self, inbox: InboxId, dedupe_key: &str, sender: Option<&str>, raw: &[u8]) -> StoreResult<(i64, bool)> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let now = now_millis();
        let inserted: Option<i64> = sqlx::query_scalar(&q(
            "INSERT INTO inbound_emails (inbox_id, dedupe_key, sender, raw, status, received_at) \
             VALUES (?, ?, ?, ?, 'received', ?) ON CONFLICT (inbox_id, dedupe_key) DO NOTHING RETURNING id",
        ))
        .bind(inbox.0)
        .bind(dedupe_key)
        .bind(sender)
        .bind(raw)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(id) = inserted else {
            let id: i64 = sqlx::query_scalar(&q("SELECT id FROM inbound_emails WHERE inbox_id = ? AND dedupe_key = ?"))
                .bind(inbox.0)
                .bind(dedupe_key)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return Ok((id, false));
        };
        let work = layan_core::JobWork::EmailIngest { inbound: id, again: false };
        let payload = work.payload();
        let key = format!("email-in:{id}");
        insert_job(&mut tx, &crate::jobs::NewJob {
            kind: work.kind(),
            payload: &payload,
            dedupe_key: Some(&key),
            run_at: now,
            max_attempts: 8,
        })
        .await?;
        tx.commit().await.map_err(db)?;
        Ok((id, true))
    }

    pub async fn inbound_email(&self, id: i64) -> StoreResult<Option<crate::email::InboundEmailRow>> {
        let Some(row) = sqlx::query(&q(&format!("SELECT {INBOUND_COLS}, raw FROM inbound_emails WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let raw: Vec<u8> = row.try_get("raw").map_err(db)?;
        let info = inbound_from_row(&row, i64::try_from(raw.len()).unwrap_or(i64::MAX))?;
        Ok(Some(crate::email::InboundEmailRow { info, raw }))
    }

    pub async fn inbound_emails(&self, status: Option<layan_core::InboundStatus>, limit: u32) -> StoreResult<Vec<layan_core::InboundEmailInfo>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {INBOUND_COLS}, CAST(LENGTH(raw) AS BIGINT) AS size FROM inbound_emails \
             WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?"
        )))
        .bind(status.map(|s| s.as_str()))
        .bind(status.map(|s| s.as_str()))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let size: i64 = r.try_get::<Option<i64>, _>("size").map_err(db)?.unwrap_or(0);
                inbound_from_row(r, size)
            })
            .collect()
    }

    pub async fn set_inbound_status(&self, id: i64, status: layan_core::InboundStatus, error: Option<&str>) -> StoreResult<()> {
        sqlx::query(&q("UPDATE inbound_emails SET status = ?, error = ? WHERE id = ?"))
            .bind(status.as_str())
            .bind(error)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn requeue_inbound_email(&self, id: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let done = sqlx::query(&q("UPDATE inbound_emails SET status = 'received', error = NULL WHERE id = ? AND status <> 'processed'"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let now = now_millis();
        let work = layan_core::JobWork::EmailIngest { inbound: id, again: true };
        let payload = work.payload();
        let key = format!("email-in:{id}:{now}");
        insert_job(&mut tx, &crate::jobs::NewJob {
            kind: work.kind(),
            payload: &payload,
            dedupe_key: Some(&key),
            run_at: now,
            max_attempts: 8,
        })
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    pub async fn inbound_count_from(&self, inbox: InboxId, sender: &str, since: Millis, up_to: i64) -> StoreResult<i64> {
        sqlx::query_scalar(&q("SELECT COUNT(*) FROM inbound_emails WHERE inbox_id = ? AND sender = ? AND received_at >= ? AND id <= ?"))
            .bind(inbox.0)
            .bind(sender)
            .bind(since)
            .bind(up_to)
            .fetch_one(&self.reader)
            .await
            .map_err(db)
    }

    pub async fn conversations_by_rfc_ids(&self, inbox: InboxId, ids: &[String]) -> StoreResult<Vec<ConversationId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
            "SELECT e.conversation_id FROM email_messages e JOIN conversations c ON c.id = e.conversation_id \
             WHERE c.inbox_id = ",
        );
        qb.push_bind(inbox.0).push(" AND e.rfc_message_id IN (");
        let mut sep = qb.separated(", ");
        for id in ids.iter().take(100) {
            sep.push_bind(id.clone());
        }
        qb.push(") ORDER BY e.message_id DESC");
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        let mut out: Vec<ConversationId> = Vec::new();
        for r in &rows {
            let id = ConversationId(r.try_get("conversation_id").map_err(db)?);
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub async fn message_by_rfc_id(&self, rfc: &str) -> StoreResult<Option<(MessageId, ConversationId)>> {
        let Some(row) = sqlx::query(&q("SELECT message_id, conversation_id FROM email_messages WHERE rfc_message_id = ? ORDER BY message_id LIMIT 1"))
            .bind(rfc)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        Ok(Some((
            MessageId(row.try_get("message_id").map_err(db)?),
            ConversationId(row.try_get("conversation_id").map_err(db)?),
        )))
    }

    pub async fn conversation_by_number(&self, inbox: InboxId, number: i64) -> StoreResult<Option<layan_core::Conversation>> {
        sqlx::query(&q(&format!("SELECT {CONV_COLS} FROM conversations c WHERE c.number = ? AND c.inbox_id = ?")))
            .bind(number)
            .bind(inbox.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(conversation_from_row)
            .transpose()
    }

    pub async fn record_inbound_message(&self, inbound: i64, meta: &crate::email::NewEmailMeta<'_>, attachments: &[crate::email::NewAttachment]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let inserted = Self::insert_email_meta(&mut tx, meta).await?;
        if inserted {
            let now = now_millis();
            for a in attachments {
                sqlx::query(&q(
                    "INSERT INTO attachments (message_id, filename, content_type, size, content_id, data, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(meta.message_id.0)
                .bind(&a.filename)
                .bind(&a.content_type)
                .bind(i64::try_from(a.data.len()).unwrap_or(i64::MAX))
                .bind(&a.content_id)
                .bind(&a.data)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        sqlx::query(&q("UPDATE inbound_emails SET status = 'processed', error = NULL, message_id = ? WHERE id = ?"))
            .bind(meta.message_id.0)
            .bind(inbound)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn insert_email_meta(tx: &mut sqlx::Transaction<'_, $db>, meta: &crate::email::NewEmailMeta<'_>) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "INSERT INTO email_messages (message_id, conversation_id, rfc_message_id, subject, from_address, \
             to_addresses, cc_addresses, html, full_text, delivery, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
        ))
        .bind(meta.message_id.0)
        .bind(meta.conversation_id.0)
        .bind(meta.rfc_message_id)
        .bind(meta.subject)
        .bind(meta.from)
        .bind(meta.to.join(","))
        .bind(meta.cc.join(","))
        .bind(meta.html)
        .bind(meta.full_text)
        .bind(meta.delivery.as_str())
        .bind(now_millis())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn queue_outbound_email(&self, meta: &crate::email::NewEmailMeta<'_>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        Self::insert_email_meta(&mut tx, meta).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    pub async fn set_delivery(&self, message: MessageId, delivery: layan_core::Delivery, detail: Option<&str>) -> StoreResult<()> {
        sqlx::query(&q("UPDATE email_messages SET delivery = ?, delivery_detail = ?, updated_at = ? WHERE message_id = ?"))
            .bind(delivery.as_str())
            .bind(detail)
            .bind(now_millis())
            .bind(message.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn conversation_emails(&self, conversation: ConversationId) -> StoreResult<Vec<layan_core::EmailMeta>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {EMAIL_COLS} FROM email_messages e WHERE e.conversation_id = ? ORDER BY e.message_id"
        )))
        .bind(conversation.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut metas = rows.iter().map(email_meta_from_row).collect::<StoreResult<Vec<_>>>()?;
        let files = sqlx::query(&q(
            "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.content_id FROM attachments a \
             JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? ORDER BY a.id",
        ))
        .bind(conversation.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        for f in &files {
            let message = MessageId(f.try_get("message_id").map_err(db)?);
            if let Some(m) = metas.iter_mut().find(|m| m.message_id == message) {
                m.attachments.push(attachment_from_row(f)?);
            }
        }
        Ok(metas)
    }

    pub async fn email_meta(&self, message: MessageId) -> StoreResult<Option<layan_core::EmailMeta>> {
        sqlx::query(&q(&format!("SELECT {EMAIL_COLS} FROM email_messages e WHERE e.message_id = ?")))
            .bind(message.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(email_meta_from_row)
            .transpose()
    }

    pub async fn attachment(&self, id: i64) -> StoreResult<Option<(layan_core::AttachmentMeta, ConversationId, Vec<u8>)>> {
        let Some(row) = sqlx::query(&q(
            "SELECT a.*, COALESCE(m.conversation_id, a.conversation_id) AS owner FROM attachments a \
             LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = ?",
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?
        else {
            return Ok(None);
        };
        let Some(owner) = row.try_get::<Option<i64>, _>("owner").map_err(db)? else {
            return Ok(None);
        };
        Ok(Some((
            attachment_from_row(&row)?,
            ConversationId(owner),
            row.try_get("data").map_err(db)?,
        )))
    }

    pub async fn upload_attachment(&self, conversation: ConversationId, agent: layan_core::AgentId, file: &crate::email::NewAttachment) -> StoreResult<layan_core::AttachmentMeta> {
        let row = sqlx::query(&q(
            "INSERT INTO attachments (conversation_id, uploaded_by, filename, content_type, size, content_id, data, created_at) \
             VALUES (?, ?, ?, ?, ?, NULL, ?, ?) RETURNING id, filename, content_type, size, content_id",
        ))
        .bind(conversation.0)
        .bind(agent.0)
        .bind(&file.filename)
        .bind(&file.content_type)
        .bind(i64::try_from(file.data.len()).unwrap_or(i64::MAX))
        .bind(&file.data)
        .bind(now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        attachment_from_row(&row)
    }

    pub async fn message_files(&self, message: MessageId) -> StoreResult<Vec<(layan_core::AttachmentMeta, Vec<u8>)>> {
        let rows = sqlx::query(&q("SELECT * FROM attachments WHERE message_id = ? ORDER BY id"))
            .bind(message.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| Ok((attachment_from_row(r)?, r.try_get("data").map_err(db)?)))
            .collect()
    }
}
    };
}

pub(crate) use email_queries;
