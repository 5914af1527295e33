//! The SQL both backends share, written once and compiled per backend by `shared_queries!`.
//! Statements use `?` placeholders; each backend's `q` turns them into its own syntax. What differs
//! between backends (connection set-up, per-contact locking) lives in the backend modules.

macro_rules! shared_queries {
    ($store:ident, $db:ty, $row:ty) => {
fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        // SQLite names the columns ("agents.email"), PostgreSQL the constraint or index.
        let what = format!("{} {}", d.message(), d.constraint().unwrap_or_default());
        let rule = if what.contains("agents.email") || what.contains("agents_email") {
            "email_taken"
        } else if what.contains("widget_key") {
            "widget_key_taken"
        } else if what.contains("contact_identities") {
            "identity_taken"
        } else if what.contains("slug") {
            "slug_taken"
        } else if what.contains("client_message_id") || what.contains("messages_client_id") {
            "duplicate_client_message"
        } else {
            "duplicate"
        };
        return StoreError::Conflict(rule);
    }
    if matches!(e, sqlx::Error::RowNotFound) {
        return StoreError::NotFound;
    }
    // A row referring to one that does not exist (a membership for an unknown agent, a label
    // on an unknown conversation): what was named is not found.
    if let sqlx::Error::Database(d) = &e
        && d.is_foreign_key_violation()
    {
        return StoreError::NotFound;
    }
    if matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    ) {
        return StoreError::Unavailable(Box::new(e));
    }
    StoreError::Database(Box::new(e))
}

/// Escapes `%`, `_` and the backslash for a `LIKE … ESCAPE` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The same failure for every message of a batch (a `StoreError` is not `Clone`).
fn batch_error<T>(n: usize, e: &StoreError) -> Vec<StoreResult<T>> {
    (0..n)
        .map(|_| {
            Err(match e {
                StoreError::Unavailable(inner) => StoreError::Unavailable(inner.to_string().into()),
                other => StoreError::Database(other.to_string().into()),
            })
        })
        .collect()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("unexpected {what} in database: {value:?}").into())
}

const AGENT_COLS: &str =
    "a.id, a.email, a.name, a.role, a.locale, a.capacity, a.away, a.created_at";
const INBOX_COLS: &str = "i.id, i.name, i.channel, i.widget_key, i.greeting, i.color, \
     i.auto_assign, i.reassign_on_offline, i.auto_ack, i.response_minutes, i.created_at";
const CONTACT_COLS: &str =
    "ct.id, ct.name, ct.email, ct.locale, ct.phone, ct.notes, ct.attributes, ct.created_at";
const CONV_COLS: &str = "c.id, c.number, c.inbox_id, c.contact_id, c.status, c.assignee_id, \
     c.last_seq, c.created_at, c.updated_at, c.last_message_at, c.waiting_since, c.priority, \
     c.team_id, c.snoozed_until, c.merged_into_id, c.last_incoming_seq";
// SQLite's RETURNING clause cannot name a table alias: the same columns, unqualified.
const AGENT_RET: &str = "id, email, name, role, locale, capacity, away, created_at";
const INBOX_RET: &str = "id, name, channel, widget_key, greeting, color, auto_assign, \
     reassign_on_offline, auto_ack, response_minutes, created_at";
const CONTACT_RET: &str = "id, name, email, locale, phone, notes, attributes, created_at";
const CONV_RET: &str = "id, number, inbox_id, contact_id, status, assignee_id, last_seq, \
     created_at, updated_at, last_message_at, waiting_since, priority, team_id, snoozed_until, \
     merged_into_id, last_incoming_seq";
const MSG_COLS: &str = "m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, \
     m.direction AS m_direction, m.author_kind AS m_author_kind, m.author_id AS m_author_id, \
     m.author_name AS m_author_name, m.body AS m_body, m.client_message_id AS m_client_message_id, \
     m.created_at AS m_created_at, m.extras AS m_extras";

fn agent_from_row(row: &$row) -> StoreResult<Agent> {
    let role: String = row.try_get("role").map_err(db)?;
    Ok(Agent {
        id: AgentId(row.try_get("id").map_err(db)?),
        email: row.try_get("email").map_err(db)?,
        name: row.try_get("name").map_err(db)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        locale: {
            let l: String = row.try_get("locale").map_err(db)?;
            Locale::from_tag(&l).ok_or_else(|| corrupt("locale", &l))?
        },
        capacity: row.try_get("capacity").map_err(db)?,
        away: row.try_get("away").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
    })
}

fn inbox_from_row(row: &$row) -> StoreResult<Inbox> {
    let channel: String = row.try_get("channel").map_err(db)?;
    Ok(Inbox {
        id: InboxId(row.try_get("id").map_err(db)?),
        name: row.try_get("name").map_err(db)?,
        channel: ChannelKind::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        widget_key: row.try_get("widget_key").map_err(db)?,
        greeting: row.try_get("greeting").map_err(db)?,
        color: row.try_get("color").map_err(db)?,
        auto_assign: {
            let a: String = row.try_get("auto_assign").map_err(db)?;
            AutoAssign::parse(&a).ok_or_else(|| corrupt("auto_assign", &a))?
        },
        reassign_on_offline: row.try_get("reassign_on_offline").map_err(db)?,
        auto_ack: row.try_get("auto_ack").map_err(db)?,
        response_minutes: row.try_get("response_minutes").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
    })
}

fn contact_from_row(row: &$row) -> StoreResult<Contact> {
    Ok(Contact {
        id: ContactId(row.try_get("id").map_err(db)?),
        name: row.try_get("name").map_err(db)?,
        email: row.try_get("email").map_err(db)?,
        locale: row.try_get("locale").map_err(db)?,
        phone: row.try_get("phone").map_err(db)?,
        notes: row.try_get("notes").map_err(db)?,
        attributes: serde_json::from_str(&row.try_get::<String, _>("attributes").map_err(db)?)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
        created_at: row.try_get("created_at").map_err(db)?,
    })
}

fn conversation_from_row(row: &$row) -> StoreResult<Conversation> {
    let status: String = row.try_get("status").map_err(db)?;
    Ok(Conversation {
        id: ConversationId(row.try_get("id").map_err(db)?),
        number: TicketNumber(row.try_get("number").map_err(db)?),
        inbox_id: InboxId(row.try_get("inbox_id").map_err(db)?),
        contact_id: ContactId(row.try_get("contact_id").map_err(db)?),
        status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        assignee_id: row
            .try_get::<Option<i64>, _>("assignee_id")
            .map_err(db)?
            .map(AgentId),
        last_seq: row.try_get("last_seq").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
        last_message_at: row.try_get("last_message_at").map_err(db)?,
        waiting_since: row.try_get("waiting_since").map_err(db)?,
        priority: {
            let p: String = row.try_get("priority").map_err(db)?;
            Priority::parse(&p).ok_or_else(|| corrupt("priority", &p))?
        },
        team_id: row.try_get::<Option<i64>, _>("team_id").map_err(db)?.map(TeamId),
        snoozed_until: row.try_get("snoozed_until").map_err(db)?,
        merged_into_id: row
            .try_get::<Option<i64>, _>("merged_into_id")
            .map_err(db)?
            .map(ConversationId),
        last_incoming_seq: row.try_get("last_incoming_seq").map_err(db)?,
    })
}

/// Reads the `m_`-prefixed message columns; `None` when a LEFT JOIN found no message.
fn message_from_row(row: &$row) -> StoreResult<Option<Message>> {
    let Some(id) = row.try_get::<Option<i64>, _>("m_id").map_err(db)? else {
        return Ok(None);
    };
    let direction: String = row.try_get("m_direction").map_err(db)?;
    let author_kind: String = row.try_get("m_author_kind").map_err(db)?;
    let author_id: Option<i64> = row.try_get("m_author_id").map_err(db)?;
    Ok(Some(Message {
        id: MessageId(id),
        conversation_id: ConversationId(row.try_get("m_conversation_id").map_err(db)?),
        seq: row.try_get("m_seq").map_err(db)?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        author: Author::from_parts(&author_kind, author_id)
            .ok_or_else(|| corrupt("author", &author_kind))?,
        author_name: row.try_get("m_author_name").map_err(db)?,
        body: row.try_get("m_body").map_err(db)?,
        client_message_id: row.try_get("m_client_message_id").map_err(db)?,
        created_at: row.try_get("m_created_at").map_err(db)?,
        extras: match row.try_get::<Option<String>, _>("m_extras").map_err(db)? {
            None => None,
            Some(json) => Some(serde_json::from_str(&json).map_err(|_| corrupt("extras", &json))?),
        },
    }))
}

fn required_message(row: &$row) -> StoreResult<Message> {
    message_from_row(row)?.ok_or(StoreError::NotFound)
}

fn summary_from_row(row: &$row) -> StoreResult<ConversationSummary> {
    Ok(ConversationSummary {
        conversation: conversation_from_row(row)?,
        contact_name: row.try_get("contact_name").map_err(db)?,
        contact_email: row.try_get("contact_email").map_err(db)?,
        inbox_name: row.try_get("inbox_name").map_err(db)?,
        assignee_name: row.try_get("assignee_name").map_err(db)?,
        team_name: row.try_get("team_name").map_err(db)?,
        labels: {
            let joined: Option<String> = row.try_get("labels").map_err(db)?;
            let mut labels: Vec<String> = joined
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            labels.sort();
            labels
        },
        last_message: message_from_row(row)?,
        read_seq: row.try_get("read_seq").map_err(db)?,
    })
}

/// The list's SELECT up to the joins; `read_join` is either empty (`read_seq` is NULL) or the
/// join on `agent_reads` that the caller completes with the agent id.
fn summary_select(reads: bool) -> String {
    let (read_col, read_join) = if reads {
        (
            "r.last_read_seq AS read_seq",
            " LEFT JOIN agent_reads r ON r.conversation_id = c.id AND r.agent_id = ",
        )
    } else {
        ("CAST(NULL AS BIGINT) AS read_seq", "")
    };
    format!(
        "SELECT {CONV_COLS}, ct.name AS contact_name, ct.email AS contact_email, \
         i.name AS inbox_name, a.name AS assignee_name, t.name AS team_name, \
         (SELECT {LABELS_AGG} FROM conversation_labels l WHERE l.conversation_id = c.id) AS labels, \
         {read_col}, {MSG_COLS} \
         FROM conversations c \
         JOIN contacts ct ON ct.id = c.contact_id \
         JOIN inboxes i ON i.id = c.inbox_id \
         LEFT JOIN agents a ON a.id = c.assignee_id \
         LEFT JOIN teams t ON t.id = c.team_id \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = (SELECT MAX(pm.seq) \
           FROM messages pm WHERE pm.conversation_id = c.id \
           AND pm.direction IN ('incoming', 'outgoing', 'note')){read_join}"
    )
}


impl $store {
    pub async fn analyze(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.writer).await.map_err(db)?;
        Ok(())
    }

    pub async fn agent_count(&self) -> StoreResult<i64> {
        sqlx::query_scalar(&q("SELECT COUNT(*) FROM agents"))
            .fetch_one(&self.reader)
            .await
            .map_err(db)
    }

    pub async fn create_agent(&self, new: NewAgent<'_>) -> StoreResult<Agent> {
        let row = sqlx::query(&q(&format!(
            "INSERT INTO agents (email, name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING {AGENT_RET}"
        )))
        .bind(new.email.to_lowercase())
        .bind(new.name)
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        agent_from_row(&row)
    }

    pub async fn agent_credentials(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {AGENT_COLS}, a.password_hash FROM agents a WHERE a.email = ?"
        )))
        .bind(email.to_lowercase())
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(|r| Ok((agent_from_row(&r)?, r.try_get("password_hash").map_err(db)?)))
            .transpose()
    }

    pub async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(&q(&format!("SELECT {AGENT_COLS} FROM agents a WHERE a.id = ?")))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(agent_from_row).transpose()
    }

    pub async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {AGENT_COLS} FROM agents a ORDER BY a.name"
        )))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(agent_from_row).collect()
    }

    pub async fn create_session(&self, new: NewSession<'_>) -> StoreResult<()> {
        let now = now_millis();
        // Expired sessions are swept on login so the table does not grow without bound.
        sqlx::query(&q("DELETE FROM sessions WHERE expires_at <= ?"))
            .bind(now)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        sqlx::query(&q("INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",))
        .bind(new.token_hash)
        .bind(new.agent_id.0)
        .bind(new.csrf_token)
        .bind(now)
        .bind(new.expires_at)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {AGENT_COLS}, s.csrf_token FROM sessions s JOIN agents a ON a.id = s.agent_id \
             WHERE s.token_hash = ? AND s.expires_at > ?"
        )))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(SessionRecord {
                agent: agent_from_row(&r)?,
                csrf_token: r.try_get("csrf_token").map_err(db)?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM sessions WHERE token_hash = ?"))
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn create_inbox(&self, new: NewInbox<'_>) -> StoreResult<Inbox> {
        let row = sqlx::query(&q(&format!(
            "INSERT INTO inboxes (name, channel, widget_key, greeting, color, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {INBOX_RET}"
        )))
        .bind(new.name)
        .bind(ChannelKind::WebWidget.as_str())
        .bind(new.widget_key)
        .bind(new.greeting)
        .bind(new.color)
        .bind(now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        inbox_from_row(&row)
    }

    pub async fn update_inbox(&self, id: InboxId, changes: InboxChanges<'_>) -> StoreResult<Inbox> {
        let row = sqlx::query(&q(&format!(
            "UPDATE inboxes SET name = COALESCE(?, name), greeting = COALESCE(?, greeting), \
             color = COALESCE(?, color), auto_assign = COALESCE(?, auto_assign), \
             reassign_on_offline = COALESCE(?, reassign_on_offline), \
             auto_ack = COALESCE(?, auto_ack), response_minutes = COALESCE(?, response_minutes) \
             WHERE id = ? RETURNING {INBOX_RET}"
        )))
        .bind(changes.name)
        .bind(changes.greeting)
        .bind(changes.color)
        .bind(changes.auto_assign.map(AutoAssign::as_str))
        .bind(changes.reassign_on_offline)
        .bind(changes.auto_ack)
        .bind(changes.response_minutes)
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        inbox_from_row(&row)
    }

    pub async fn inbox(&self, id: InboxId) -> StoreResult<Option<Inbox>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {INBOX_COLS} FROM inboxes i WHERE i.id = ?"
        )))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(inbox_from_row).transpose()
    }

    pub async fn inbox_by_widget_key(&self, key: &str) -> StoreResult<Option<Inbox>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {INBOX_COLS} FROM inboxes i WHERE i.widget_key = ?"
        )))
        .bind(key)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(inbox_from_row).transpose()
    }

    pub async fn list_inboxes(&self) -> StoreResult<Vec<Inbox>> {
        let rows = sqlx::query(&q(&format!("SELECT {INBOX_COLS} FROM inboxes i ORDER BY i.id")))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        rows.iter().map(inbox_from_row).collect()
    }

    pub async fn create_contact_with_identity(
        &self,
        new: NewContact<'_>,
        kind: &str,
        value: &str,
    ) -> StoreResult<Contact> {
        let now = now_millis();
        let mut tx = self.writer.begin().await.map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "INSERT INTO contacts (name, email, locale, created_at) VALUES (?, ?, ?, ?) \
             RETURNING {CONTACT_RET}"
        )))
        .bind(new.name)
        .bind(new.email)
        .bind(new.locale)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let contact = contact_from_row(&row)?;
        sqlx::query(&q("INSERT INTO contact_identities (kind, value, contact_id, created_at) VALUES (?, ?, ?, ?)",))
        .bind(kind)
        .bind(value)
        .bind(contact.id.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(contact)
    }

    pub async fn add_contact_identity(&self, contact: ContactId, kind: &str, value: &str) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO contact_identities (kind, value, contact_id, created_at) VALUES (?, ?, ?, ?)"))
            .bind(kind)
            .bind(value)
            .bind(contact.0)
            .bind(now_millis())
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {CONTACT_COLS} FROM contacts ct WHERE ct.id = ?"
        )))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(contact_from_row).transpose()
    }

    pub async fn contact_by_identity(
        &self,
        kind: &str,
        value: &str,
    ) -> StoreResult<Option<Contact>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {CONTACT_COLS} FROM contact_identities ci JOIN contacts ct ON ct.id = ci.contact_id \
             WHERE ci.kind = ? AND ci.value = ?"
        )))
        .bind(kind)
        .bind(value)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(contact_from_row).transpose()
    }

    pub async fn update_contact(
        &self,
        id: ContactId,
        changes: NewContact<'_>,
    ) -> StoreResult<Contact> {
        let row = sqlx::query(&q(&format!(
            "UPDATE contacts SET name = COALESCE(?, name), email = COALESCE(?, email), \
             locale = COALESCE(?, locale) WHERE id = ? RETURNING {CONTACT_RET}"
        )))
        .bind(changes.name)
        .bind(changes.email)
        .bind(changes.locale)
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        contact_from_row(&row)
    }

    /// Stores a message in its own transaction; a retry that raced another send of the same
    /// client message id finds the stored one.
    pub async fn append_direct(&self, new: &NewMessage) -> StoreResult<Appended> {
        match self.append_once(new).await {
            // Two concurrent sends of the same retry raced past the duplicate check; the second
            // attempt finds the first one's message and returns it.
            Err(StoreError::Conflict("duplicate_client_message")) => self.append_once(new).await,
            other => other,
        }
    }

    async fn append_once(&self, new: &NewMessage) -> StoreResult<Appended> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let appended = Self::append_in(&mut tx, new).await?;
        if !appended.duplicate {
            tx.commit().await.map_err(db)?;
        }
        Ok(appended)
    }

    /// Stores several messages in one transaction — one commit (one fsync) for all — each in
    /// its own savepoint, so one bad message fails alone. Results are in the batch's order and
    /// are only returned once the commit is done: nobody is acknowledged before their message
    /// is durable. If the commit fails, every message of the batch fails.
    pub async fn append_batch(&self, batch: &[&NewMessage]) -> Vec<StoreResult<Appended>> {
        let mut tx = match self.writer.begin().await.map_err(db) {
            Ok(tx) => tx,
            Err(e) => return batch_error(batch.len(), &e),
        };
        let mut results = Vec::with_capacity(batch.len());
        for new in batch {
            let mut outcome = None;
            for _ in 0..2 {
                let mut sp = match sqlx::Connection::begin(&mut *tx).await.map_err(db) {
                    Ok(sp) => sp,
                    Err(e) => return batch_error(batch.len(), &e),
                };
                match Self::append_in(&mut sp, new).await {
                    Ok(a) => {
                        if let Err(e) = sp.commit().await.map_err(db) {
                            return batch_error(batch.len(), &e);
                        }
                        outcome = Some(Ok(a));
                        break;
                    }
                    // The same client message id earlier in this batch: the second pass finds it.
                    Err(StoreError::Conflict("duplicate_client_message")) if outcome.is_none() => {
                        let _ = sp.rollback().await;
                        outcome = Some(Err(StoreError::Conflict("duplicate_client_message")));
                    }
                    Err(e) => {
                        let _ = sp.rollback().await;
                        outcome = Some(Err(e));
                        break;
                    }
                }
            }
            results.push(outcome.unwrap_or(Err(StoreError::Conflict("duplicate_client_message"))));
        }
        match tx.commit().await.map_err(db) {
            Ok(()) => results,
            Err(e) => batch_error(batch.len(), &e),
        }
    }

    /// Stores one message inside the caller's transaction (see `append_message`).
    async fn append_in(
        tx: &mut sqlx::Transaction<'_, $db>,
        new: &NewMessage,
    ) -> StoreResult<Appended> {
        let now = now_millis();
        let author_kind = new.author.kind_str();
        let author_id = new.author.id();

        if let Some(client_id) = &new.client_message_id {
            let existing = sqlx::query(&q(&format!(
                "SELECT {MSG_COLS} FROM messages m WHERE m.author_kind = ? AND m.author_id IS NOT DISTINCT FROM ? \
                 AND m.client_message_id = ?"
            )))
            .bind(author_kind)
            .bind(author_id)
            .bind(client_id.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
            if let Some(row) = existing {
                let message = required_message(&row)?;
                let conv_row = sqlx::query(&q(&format!(
                    "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ?"
                )))
                .bind(message.conversation_id.0)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?;
                return Ok(Appended {
                    message,
                    conversation: conversation_from_row(&conv_row)?,
                    created_conversation: false,
                    duplicate: true,
                    previous_status: None,
                });
            }
        }

        let (conversation, created) = match new.target {
            Target::Conversation(id) => {
                let row = sqlx::query(&q(&format!(
                    "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ?"
                )))
                .bind(id.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?
                .ok_or(StoreError::NotFound)?;
                (conversation_from_row(&row)?, false)
            }
            Target::CurrentOrNew {
                inbox_id,
                contact_id,
            } => {
                // One "current conversation" per contact, even with concurrent first messages.
                Self::lock_contact(tx, contact_id).await?;
                // A conversation merged into another one is not current: its survivor is.
                let current = sqlx::query(&q(&format!(
                    "SELECT {CONV_COLS} FROM conversations c WHERE c.contact_id = ? AND c.inbox_id = ? \
                     AND c.merged_into_id IS NULL ORDER BY c.id DESC LIMIT 1"
                )))
                .bind(contact_id.0)
                .bind(inbox_id.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?
                .as_ref()
                .map(conversation_from_row)
                .transpose()?;
                match current {
                    Some(c) if c.status.accepts_customer_messages() => (c, false),
                    _ => (Self::open_conversation(tx, inbox_id, contact_id, now).await?, true),
                }
            }
            Target::New {
                inbox_id,
                contact_id,
            } => (Self::open_conversation(tx, inbox_id, contact_id, now).await?, true),
        };

        let status = match new.direction {
            Direction::Incoming => conversation.status.after_customer_message(),
            _ => conversation.status,
        };
        let waiting_since = match new.direction {
            Direction::Incoming => Some(conversation.waiting_since.unwrap_or(now)),
            Direction::Outgoing | Direction::Bot => None,
            Direction::Note | Direction::System => conversation.waiting_since,
        };
        let row = sqlx::query(&q(&format!(
            "UPDATE conversations SET last_seq = last_seq + 1, status = ?, waiting_since = ?, \
             snoozed_until = CASE WHEN ? THEN snoozed_until ELSE NULL END, \
             last_incoming_seq = CASE WHEN ? THEN last_seq + 1 ELSE last_incoming_seq END, \
             updated_at = ?, last_message_at = ? WHERE id = ? RETURNING {CONV_RET}"
        )))
        .bind(status.as_str())
        .bind(waiting_since)
        .bind(status == ConversationStatus::Snoozed)
        .bind(new.direction == Direction::Incoming)
        .bind(now)
        .bind(now)
        .bind(conversation.id.0)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        let updated = conversation_from_row(&row)?;

        let id: i64 = sqlx::query_scalar(&q("INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id, \
             author_name, body, client_message_id, created_at, extras) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING id",))
        .bind(updated.id.0)
        .bind(updated.last_seq)
        .bind(new.direction.as_str())
        .bind(author_kind)
        .bind(author_id)
        .bind(new.author_name.as_deref())
        .bind(new.body.as_str())
        .bind(new.client_message_id.as_ref().map(|c| c.as_str()))
        .bind(now)
        .bind(new.extras.as_ref().and_then(|e| serde_json::to_string(e).ok()))
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        if !new.attachments.is_empty() {
            // The author's own uploads to this conversation, not attached yet — all or nothing.
            let Author::Agent(agent) = new.author else {
                return Err(StoreError::Conflict("attachment_unavailable"));
            };
            for attachment in &new.attachments {
                let done = sqlx::query(&q("UPDATE attachments SET message_id = ? WHERE id = ? AND message_id IS NULL \
                     AND conversation_id = ? AND uploaded_by = ?"))
                .bind(id)
                .bind(attachment)
                .bind(updated.id.0)
                .bind(agent.0)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("attachment_unavailable"));
                }
            }
        }
        if matches!(new.direction, Direction::Outgoing | Direction::Bot) {
            // A reply in an email inbox goes out by mail: the delivery job is committed with the
            // message, so a crash cannot lose it.
            let channel: Option<String> =
                sqlx::query_scalar(&q("SELECT channel FROM inboxes WHERE id = ?"))
                    .bind(updated.inbox_id.0)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db)?;
            if channel.as_deref() == Some("email") {
                let payload = format!("{{\"message_id\":{id}}}");
                let key = format!("email-out:{id}");
                insert_job(
                    tx,
                    &NewJob {
                        kind: layan_core::email::JOB_EMAIL_SEND,
                        payload: &payload,
                        dedupe_key: Some(&key),
                        run_at: now,
                        max_attempts: 10,
                    },
                )
                .await?;
            }
        }
        if new.automations {
            // Committed with the message, or not at all: a crash cannot lose the follow-up.
            let payload = format!("{{\"message_id\":{id}}}");
            let key = format!("followup:{id}");
            insert_job(
                tx,
                &NewJob {
                    kind: layan_core::JOB_MESSAGE_FOLLOWUP,
                    payload: &payload,
                    dedupe_key: Some(&key),
                    run_at: now,
                    max_attempts: 8,
                },
            )
            .await?;
        }

        Ok(Appended {
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
            previous_status: (conversation.status != updated.status).then_some(conversation.status),
            conversation: updated,
            created_conversation: created,
            duplicate: false,
        })
    }

    /// A new open conversation with the next ticket number.
    async fn open_conversation(
        tx: &mut sqlx::Transaction<'_, $db>,
        inbox_id: InboxId,
        contact_id: ContactId,
        now: Millis,
    ) -> StoreResult<Conversation> {
        let number: i64 = sqlx::query_scalar(&q("UPDATE counters SET value = value + 1 \
             WHERE name = 'conversation_number' RETURNING value"))
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "INSERT INTO conversations (number, inbox_id, contact_id, status, \
             created_at, updated_at, last_message_at) \
             VALUES (?, ?, ?, 'open', ?, ?, ?) RETURNING {CONV_RET}"
        )))
        .bind(number)
        .bind(inbox_id.0)
        .bind(contact_id.0)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        conversation_from_row(&row)
    }

    pub async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ?"
        )))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    pub async fn conversation_summary(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        let row = sqlx::query(&q(&format!("{} WHERE c.id = ?", summary_select(false))))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(summary_from_row).transpose()
    }

    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<ConversationSummary>> {
        // Two steps: the page's ids (filters, order and limit over the conversation rows only),
        // then the summaries of just those rows. Ordering the full summaries would compute every
        // row's last message and labels before the limit applies.
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
            "SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id \
             JOIN inboxes i ON i.id = c.inbox_id WHERE 1 = 1",
        );
        if !filter.statuses.is_empty() {
            qb.push(" AND c.status IN (");
            let mut list = qb.separated(", ");
            for s in &filter.statuses {
                list.push_bind(s.as_str());
            }
            list.push_unseparated(")");
        }
        if let Some(inboxes) = &filter.inbox_ids {
            if inboxes.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" AND c.inbox_id IN (");
            let mut list = qb.separated(", ");
            for i in inboxes {
                list.push_bind(i.0);
            }
            list.push_unseparated(")");
        }
        match filter.assignee {
            None => {}
            Some(None) => {
                qb.push(" AND c.assignee_id IS NULL");
            }
            Some(Some(a)) => {
                qb.push(" AND c.assignee_id = ").push_bind(a.0);
            }
        }
        if let Some(teams) = &filter.team_ids {
            if teams.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" AND c.team_id IN (");
            let mut list = qb.separated(", ");
            for t in teams {
                list.push_bind(t.0);
            }
            list.push_unseparated(")");
        }
        if let Some(p) = filter.priority {
            qb.push(" AND c.priority = ").push_bind(p.as_str());
        }
        if let Some(label) = &filter.label {
            qb.push(" AND EXISTS (SELECT 1 FROM conversation_labels fl WHERE fl.conversation_id = c.id AND fl.label = ")
                .push_bind(label.clone())
                .push(")");
        }
        if let Some(channel) = filter.channel {
            qb.push(" AND i.channel = ").push_bind(channel.as_str());
        }
        if let Some(text) = filter.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            // Substring search over the contact's name and email, the ticket number, and the
            // messages (notes included: agents only) — through the search index's hits when
            // the caller has them, else a `LIKE` over every message.
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            let number: Option<i64> = text.trim_start_matches('#').parse().ok();
            if let (true, Some(n)) = (text.starts_with('#'), number) {
                // "#1042" is a ticket number: the unique index answers it.
                qb.push(" AND c.number = ").push_bind(n);
            } else {
            qb.push(" AND (LOWER(ct.name) LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR LOWER(ct.email) LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR c.number = ")
                .push_bind(number.unwrap_or(-1));
            match &filter.message_hits {
                Some(hits) => {
                    if !hits.conversations.is_empty() {
                        qb.push(" OR c.id IN (");
                        let mut list = qb.separated(", ");
                        for id in &hits.conversations {
                            list.push_bind(id.0);
                        }
                        list.push_unseparated(")");
                    }
                    // Messages the index has not taken in yet (a range of the primary key).
                    qb.push(" OR c.id IN (SELECT sm.conversation_id FROM messages sm WHERE sm.id > ")
                        .push_bind(hits.through.0)
                        .push(" AND LOWER(sm.body) LIKE ")
                        .push_bind(pattern.clone())
                        .push(" ESCAPE '\\')");
                }
                None => {
                    qb.push(" OR EXISTS (SELECT 1 FROM messages sm WHERE sm.conversation_id = c.id AND LOWER(sm.body) LIKE ")
                        .push_bind(pattern)
                        .push(" ESCAPE '\\'");
                }
            }
            qb.push(")");
            }
        }
        match filter.sort {
            ConversationSort::Recent => {
                if let Some((at, id)) = filter.before {
                    qb.push(" AND (c.last_message_at < ")
                        .push_bind(at)
                        .push(" OR (c.last_message_at = ")
                        .push_bind(at)
                        .push(" AND c.id < ")
                        .push_bind(id.0)
                        .push("))");
                }
                qb.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ");
            }
            ConversationSort::Waiting => {
                // Longest-waiting customer first; conversations nobody waits on last.
                qb.push(" ORDER BY CASE WHEN c.waiting_since IS NULL THEN 1 ELSE 0 END, \
                          c.waiting_since ASC, c.id ASC LIMIT ");
            }
        }
        qb.push_bind(i64::from(filter.limit.clamp(1, 500)));
        let ids: Vec<i64> = qb
            .build_query_scalar()
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<'_, $db> =
            QueryBuilder::new(summary_select(filter.reader.is_some()));
        if let Some(agent) = filter.reader {
            qb.push_bind(agent.0);
        }
        qb.push(" WHERE c.id IN (");
        let mut list = qb.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let summary = summary_from_row(row)?;
            by_id.insert(summary.conversation.id.0, summary);
        }
        // Back in the page's order (a row deleted in between is simply left out).
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    pub async fn current_conversation(
        &self,
        inbox_id: InboxId,
        contact_id: ContactId,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.contact_id = ? AND c.inbox_id = ? \
             AND c.status <> 'closed' AND c.merged_into_id IS NULL ORDER BY c.id DESC LIMIT 1"
        )))
        .bind(contact_id.0)
        .bind(inbox_id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    pub async fn update_conversation(
        &self,
        id: ConversationId,
        changes: &ConversationChanges,
    ) -> StoreResult<Conversation> {
        let (set_assignee, assignee) = match changes.assignee {
            None => (false, None),
            Some(a) => (true, a.map(|a| a.0)),
        };
        let (set_team, team) = match changes.team {
            None => (false, None),
            Some(t) => (true, t.map(|t| t.0)),
        };
        // A status other than snoozed clears the snooze time.
        let (set_snooze, snoozed_until) = match changes.status {
            None => (false, None),
            Some(ConversationStatus::Snoozed) => (true, changes.snoozed_until),
            Some(_) => (true, None),
        };
        let row = sqlx::query(&q(&format!(
            "UPDATE conversations SET status = COALESCE(?, status), \
             assignee_id = CASE WHEN ? THEN ? ELSE assignee_id END, \
             team_id = CASE WHEN ? THEN ? ELSE team_id END, \
             snoozed_until = CASE WHEN ? THEN ? ELSE snoozed_until END, \
             priority = COALESCE(?, priority), updated_at = ? \
             WHERE id = ? RETURNING {CONV_RET}"
        )))
        .bind(changes.status.map(ConversationStatus::as_str))
        .bind(set_assignee)
        .bind(assignee)
        .bind(set_team)
        .bind(team)
        .bind(set_snooze)
        .bind(snoozed_until)
        .bind(changes.priority.map(Priority::as_str))
        .bind(now_millis())
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        conversation_from_row(&row)
    }

    pub async fn messages_after(
        &self,
        conversation_id: ConversationId,
        after_seq: i64,
        limit: u32,
        include_notes: bool,
    ) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {MSG_COLS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? \
             AND (? OR m.direction <> 'note') ORDER BY m.seq LIMIT ?"
        )))
        .bind(conversation_id.0)
        .bind(after_seq)
        .bind(include_notes)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(required_message).collect()
    }

    pub async fn messages_between(
        &self,
        conversation_id: ConversationId,
        after_seq: i64,
        before_seq: i64,
        include_notes: bool,
    ) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {MSG_COLS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? \
             AND m.seq < ? AND (? OR m.direction <> 'note') ORDER BY m.seq"
        )))
        .bind(conversation_id.0)
        .bind(after_seq)
        .bind(before_seq)
        .bind(include_notes)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(required_message).collect()
    }
}
    };
}

pub(crate) use shared_queries;
