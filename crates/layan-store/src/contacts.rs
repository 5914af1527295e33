//! Contacts' storage beyond the pipeline's needs: identities, the profile, suggested duplicates,
//! the merge (one transaction: conversations, identities and orders move, the other contact is
//! deleted), the timeline's conversations, and erasure. `contact_queries!` is compiled per backend
//! like `queries.rs`.

use layan_core::{
    Contact, ContactId, ConversationId, ConversationStatus, DuplicateReason, Identity, InboxId,
    MergeOutcome, Millis, TicketNumber,
};

use crate::{Store, StoreResult};

/// Profile fields to change; `None` leaves a field as it is, `Some("")` clears it.
#[derive(Debug, Default, Clone)]
pub struct ProfileChanges<'a> {
    pub name: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub notes: Option<&'a str>,
    /// A checked JSON object.
    pub attributes: Option<&'a str>,
}

/// A contact's conversation as the timeline shows it.
#[derive(Debug, Clone)]
pub struct ContactConversation {
    pub id: ConversationId,
    pub number: TicketNumber,
    pub inbox_id: InboxId,
    pub inbox: String,
    pub channel: String,
    pub status: ConversationStatus,
    pub last_message_at: Millis,
    pub last_body: Option<String>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversations: Vec<ConversationId>,
    pub messages: u64,
    pub identities: u64,
    pub orders: u64,
}

impl Store {
    /// Every identity of the contact, oldest first.
    pub async fn contact_identities(&self, contact: ContactId) -> StoreResult<Vec<Identity>> {
        dispatch!(self, s => s.contact_identities(contact).await)
    }

    /// Removes one identity; false when the contact has no such identity.
    pub async fn remove_identity(
        &self,
        contact: ContactId,
        kind: &str,
        value: &str,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.remove_identity(contact, kind, value).await)
    }

    pub async fn update_profile(
        &self,
        contact: ContactId,
        changes: &ProfileChanges<'_>,
    ) -> StoreResult<Contact> {
        dispatch!(self, s => s.update_profile(contact, changes).await)
    }

    /// Other contacts that share an email address or phone number with this one (as a field or
    /// an identity), or its exact name.
    pub async fn duplicate_contacts(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<(Contact, DuplicateReason)>> {
        dispatch!(self, s => s.duplicate_contacts(contact).await)
    }

    /// Moves everything of `from` to `into` and deletes `from`, in one transaction.
    pub async fn merge_contacts(
        &self,
        into: ContactId,
        from: ContactId,
    ) -> StoreResult<MergeOutcome> {
        dispatch!(self, s => s.merge_contacts(into, from).await)
    }

    /// The contact's conversations (in these inboxes, when given), newest first.
    pub async fn contact_conversations(
        &self,
        contact: ContactId,
        inboxes: Option<&[InboxId]>,
        limit: u32,
    ) -> StoreResult<Vec<ContactConversation>> {
        dispatch!(self, s => s.contact_conversations(contact, inboxes, limit).await)
    }

    /// Every message of the contact's conversations, oldest first (for an export).
    pub async fn contact_messages(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<layan_core::Message>> {
        dispatch!(self, s => s.contact_messages(contact).await)
    }

    /// Erases a contact: every message body of their conversations replaced by `redacted`, their
    /// identities and orders deleted, the profile emptied (the row stays, so ticket history keeps
    /// its shape). One transaction.
    /// Erases a customer: their messages redacted, identities, orders and mail removed, the
    /// profile emptied — in one transaction. Then what the database keeps on disk of it goes
    /// too: on SQLite the deleted content was zeroed (`secure_delete`) and the write-ahead log,
    /// which still holds the old pages, is checkpointed and truncated; on PostgreSQL the
    /// touched tables are vacuumed in the background (see ARCHITECTURE.md for what that does
    /// and does not remove).
    pub async fn erase_contact(&self, contact: ContactId, redacted: &str) -> StoreResult<Erased> {
        let erased = dispatch!(self, s => s.erase_contact(contact, redacted).await)?;
        dispatch!(self, s => s.after_erase().await);
        Ok(erased)
    }

    /// The ids of the messages of these conversations (to purge them from the search index).
    pub async fn message_ids_of(
        &self,
        conversations: &[ConversationId],
    ) -> StoreResult<Vec<layan_core::MessageId>> {
        dispatch!(self, s => s.message_ids_of(conversations).await)
    }
}

macro_rules! contact_queries {
    ($store:ident, $db:ty, $row:ty) => {
impl $store {
    pub async fn contact_identities(&self, contact: ContactId) -> StoreResult<Vec<layan_core::Identity>> {
        let rows = sqlx::query(&q(
            "SELECT kind, value, created_at FROM contact_identities WHERE contact_id = ? ORDER BY created_at, kind, value",
        ))
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.try_get("kind").map_err(db)?;
            let Some(kind) = layan_core::IdentityKind::parse(&kind) else { continue };
            let value: String = r.try_get("value").map_err(db)?;
            out.push(layan_core::Identity {
                kind,
                value: (!kind.is_session()).then_some(value),
                created_at: r.try_get("created_at").map_err(db)?,
            });
        }
        Ok(out)
    }

    pub async fn remove_identity(&self, contact: ContactId, kind: &str, value: &str) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "DELETE FROM contact_identities WHERE contact_id = ? AND kind = ? AND value = ?",
        ))
        .bind(contact.0)
        .bind(kind)
        .bind(value)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn update_profile(&self, contact: ContactId, c: &crate::contacts::ProfileChanges<'_>) -> StoreResult<Contact> {
        let row = sqlx::query(&q(&format!(
            "UPDATE contacts SET \
             name = CASE WHEN ? IS NULL THEN name ELSE NULLIF(?, '') END, \
             locale = CASE WHEN ? IS NULL THEN locale ELSE NULLIF(?, '') END, \
             phone = CASE WHEN ? IS NULL THEN phone ELSE NULLIF(?, '') END, \
             notes = CASE WHEN ? IS NULL THEN notes ELSE NULLIF(?, '') END, \
             attributes = COALESCE(?, attributes) \
             WHERE id = ? RETURNING {CONTACT_RET}"
        )))
        .bind(c.name).bind(c.name)
        .bind(c.locale).bind(c.locale)
        .bind(c.phone).bind(c.phone)
        .bind(c.notes).bind(c.notes)
        .bind(c.attributes)
        .bind(contact.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        contact_from_row(&row)
    }

    pub async fn duplicate_contacts(&self, contact: ContactId) -> StoreResult<Vec<(Contact, layan_core::DuplicateReason)>> {
        // What this contact is known by: verified addresses (email identities: a store's
        // order, a signed identity, a mail received, an agent's entry — never an address typed
        // into the widget, which anyone can type), and numbers as fields and as identities.
        // Each way of matching is its own indexed lookup; the union is grouped per contact
        // with the strongest reason (1 email, 2 phone, 3 name).
        let rows = sqlx::query(&q(&format!(
            "WITH me AS (SELECT id, phone, LOWER(name) AS name FROM contacts WHERE id = ?), \
             emails(v) AS (SELECT value FROM contact_identities WHERE contact_id = ? AND kind = 'email'), \
             phones(v) AS (SELECT phone FROM me WHERE phone IS NOT NULL \
                 UNION SELECT value FROM contact_identities WHERE contact_id = ? AND kind IN ('phone', 'whatsapp')), \
             cand(id, reason) AS ( \
                 SELECT ci.contact_id, 1 FROM contact_identities ci \
                     WHERE ci.kind = 'email' AND ci.value IN (SELECT v FROM emails) \
                 UNION ALL SELECT ct.id, 2 FROM contacts ct WHERE ct.phone IN (SELECT v FROM phones) \
                 UNION ALL SELECT ci.contact_id, 2 FROM contact_identities ci \
                     WHERE ci.kind IN ('phone', 'whatsapp') AND ci.value IN (SELECT v FROM phones) \
                 UNION ALL SELECT ct.id, 3 FROM contacts ct \
                     WHERE LOWER(ct.name) = (SELECT name FROM me WHERE name <> '')) \
             SELECT {CONTACT_COLS}, MIN(cand.reason) AS reason FROM cand JOIN contacts ct ON ct.id = cand.id \
             WHERE ct.id <> ? GROUP BY ct.id ORDER BY ct.id LIMIT 20"
        )))
        .bind(contact.0)
        .bind(contact.0)
        .bind(contact.0)
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let reason: i32 = r.try_get("reason").map_err(db)?;
                let reason = match reason {
                    1 => layan_core::DuplicateReason::SameEmail,
                    2 => layan_core::DuplicateReason::SamePhone,
                    _ => layan_core::DuplicateReason::SameName,
                };
                Ok((contact_from_row(r)?, reason))
            })
            .collect()
    }

    pub async fn merge_contacts(&self, into: ContactId, from: ContactId) -> StoreResult<layan_core::MergeOutcome> {
        if into == from {
            return Err(StoreError::Conflict("merge_self"));
        }
        let mut tx = self.writer.begin().await.map_err(db)?;
        // Both rows locked (PostgreSQL) in id order, so two merges of the same pair cannot deadlock.
        let (first, second) = if into.0 < from.0 { (into, from) } else { (from, into) };
        Self::lock_contact(&mut tx, first).await?;
        Self::lock_contact(&mut tx, second).await?;
        let from_row = sqlx::query(&q(&format!("SELECT {CONTACT_RET} FROM contacts WHERE id = ?")))
            .bind(from.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        let old = contact_from_row(&from_row)?;
        let into_row = sqlx::query(&q(&format!("SELECT {CONTACT_RET} FROM contacts WHERE id = ?")))
            .bind(into.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        let kept = contact_from_row(&into_row)?;
        let conversations = sqlx::query(&q(
            "UPDATE conversations SET contact_id = ? WHERE contact_id = ? RETURNING id",
        ))
        .bind(into.0)
        .bind(from.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map(ConversationId).map_err(db))
        .collect::<StoreResult<Vec<_>>>()?;
        // Anonymous widget sessions are not carried into the kept contact: whoever holds one
        // (possibly a stranger who typed the customer's address) would see the customer's
        // history. They end; the browser starts a new anonymous session.
        // Nor does the kept contact's keep its own: after the merge it opens the other's
        // history too, and an agent may merge a real customer into a stranger's contact.
        sqlx::query(&q("DELETE FROM contact_identities WHERE contact_id IN (?, ?) AND kind = 'widget_visitor'"))
            .bind(from.0)
            .bind(into.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let identities = sqlx::query(&q("UPDATE contact_identities SET contact_id = ? WHERE contact_id = ?"))
            .bind(into.0)
            .bind(from.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        let orders = sqlx::query(&q("UPDATE orders SET contact_id = ? WHERE contact_id = ?"))
            .bind(into.0)
            .bind(from.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        // The kept contact's fields win; the other's fill the gaps; notes are kept both.
        let notes = match (kept.notes.as_deref(), old.notes.as_deref()) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}\n\n{b}")),
            (a, b) => a.or(b).map(str::to_string),
        };
        let mut attributes = old.attributes.as_object().cloned().unwrap_or_default();
        if let Some(k) = kept.attributes.as_object() {
            for (key, v) in k {
                attributes.insert(key.clone(), v.clone());
            }
        }
        let attributes = serde_json::Value::Object(attributes).to_string();
        sqlx::query(&q(
            "UPDATE contacts SET name = COALESCE(name, ?), email = COALESCE(email, ?), \
             locale = COALESCE(locale, ?), phone = COALESCE(phone, ?), notes = ?, attributes = ? WHERE id = ?",
        ))
        .bind(&old.name)
        .bind(&old.email)
        .bind(&old.locale)
        .bind(&old.phone)
        .bind(notes)
        .bind(attributes)
        .bind(into.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(&q("DELETE FROM contacts WHERE id = ?"))
            .bind(from.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(layan_core::MergeOutcome {
            into,
            from,
            conversations,
            identities: usize::try_from(identities).unwrap_or(usize::MAX),
            orders: usize::try_from(orders).unwrap_or(usize::MAX),
        })
    }

    pub async fn contact_conversations(
        &self,
        contact: ContactId,
        inboxes: Option<&[InboxId]>,
        limit: u32,
    ) -> StoreResult<Vec<crate::contacts::ContactConversation>> {
        if inboxes.is_some_and(<[InboxId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
            "SELECT c.id, c.number, c.inbox_id, i.name AS inbox_name, i.channel, c.status, c.last_message_at, \
             (SELECT m.body FROM messages m WHERE m.conversation_id = c.id AND m.direction <> 'note' \
              ORDER BY m.seq DESC LIMIT 1) AS last_body \
             FROM conversations c JOIN inboxes i ON i.id = c.inbox_id WHERE c.contact_id = ",
        );
        qb.push_bind(contact.0);
        if let Some(inboxes) = inboxes {
            qb.push(" AND c.inbox_id IN (");
            let mut list = qb.separated(", ");
            for i in inboxes {
                list.push_bind(i.0);
            }
            list.push_unseparated(")");
        }
        qb.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
            .push_bind(i64::from(limit.clamp(1, 500)));
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status").map_err(db)?;
                Ok(crate::contacts::ContactConversation {
                    id: ConversationId(r.try_get("id").map_err(db)?),
                    number: TicketNumber(r.try_get("number").map_err(db)?),
                    inbox_id: InboxId(r.try_get("inbox_id").map_err(db)?),
                    inbox: r.try_get("inbox_name").map_err(db)?,
                    channel: r.try_get("channel").map_err(db)?,
                    status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                    last_message_at: r.try_get("last_message_at").map_err(db)?,
                    last_body: r.try_get("last_body").map_err(db)?,
                })
            })
            .collect()
    }

    pub async fn contact_messages(&self, contact: ContactId) -> StoreResult<Vec<layan_core::Message>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {MSG_COLS} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.contact_id = ? ORDER BY m.conversation_id, m.seq"
        )))
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(required_message).collect()
    }

    pub async fn message_ids_of(&self, conversations: &[ConversationId]) -> StoreResult<Vec<layan_core::MessageId>> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT id FROM messages WHERE conversation_id IN (");
        let mut list = qb.separated(", ");
        for c in conversations {
            list.push_bind(c.0);
        }
        list.push_unseparated(") ORDER BY id");
        let rows = qb.build().fetch_all(&self.writer).await.map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("id").map(layan_core::MessageId).map_err(db))
            .collect()
    }

    pub async fn erase_contact(&self, contact: ContactId, redacted: &str) -> StoreResult<crate::contacts::Erased> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        Self::lock_contact(&mut tx, contact).await?;
        let exists = sqlx::query(&q("SELECT id FROM contacts WHERE id = ?"))
            .bind(contact.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let conversations = sqlx::query(&q("SELECT id FROM conversations WHERE contact_id = ? ORDER BY id"))
            .bind(contact.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.try_get::<i64, _>("id").map(ConversationId).map_err(db))
            .collect::<StoreResult<Vec<_>>>()?;
        let messages = sqlx::query(&q(
            "UPDATE messages SET body = ?, extras = NULL, author_name = CASE WHEN author_kind = 'contact' THEN NULL ELSE author_name END \
             WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?)",
        ))
        .bind(redacted)
        .bind(contact.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        // The email side: the raw mails, their HTML and full text, addresses and attachments.
        for sql in [
            "DELETE FROM attachments WHERE message_id IN (SELECT m.id FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = ?)",
            "DELETE FROM attachments WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?)",
            "DELETE FROM inbound_emails WHERE message_id IN (SELECT m.id FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = ?)",
            "DELETE FROM inbound_emails WHERE sender IN (SELECT value FROM contact_identities \
             WHERE contact_id = ? AND kind = 'email')",
            // The bot's memory of the conversation (order numbers and emails the shopper gave).
            "DELETE FROM bot_sessions WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?)",
            "UPDATE email_messages SET subject = '', from_address = '', to_addresses = '', cc_addresses = '', \
             html = NULL, full_text = NULL, delivery_detail = NULL \
             WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?)",
        ] {
            sqlx::query(&q(sql)).bind(contact.0).execute(&mut *tx).await.map_err(db)?;
        }
        let identities = sqlx::query(&q("DELETE FROM contact_identities WHERE contact_id = ?"))
            .bind(contact.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        let orders = sqlx::query(&q("DELETE FROM orders WHERE contact_id = ?"))
            .bind(contact.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        sqlx::query(&q(
            "UPDATE contacts SET name = NULL, email = NULL, locale = NULL, phone = NULL, notes = NULL, \
             attributes = '{}' WHERE id = ?",
        ))
        .bind(contact.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(crate::contacts::Erased { conversations, messages, identities, orders })
    }
}
    };
}

pub(crate) use contact_queries;
