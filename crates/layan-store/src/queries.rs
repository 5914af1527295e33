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
        let rule = crate::unique_rule(&what);
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
    // SQLite busy or locked (another process holds the write lock past the busy timeout: a
    // backup, a second server on the same file): nothing was written, try again.
    if let sqlx::Error::Database(d) = &e
        && d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && d.code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
    {
        return StoreError::Unavailable(Box::new(e));
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


use crate::rows::{corrupt, CONTACT_RET, CONV_COLS, CONV_RET, MSG_COLS};

const AGENT_COLS: &str =
    "a.id, a.email, a.name, a.role, a.locale, a.capacity, a.away, a.created_at, a.deactivated_at";
const INBOX_COLS: &str = "i.id, i.name, i.channel, i.widget_key, i.greeting, i.color, \
     i.auto_assign, i.reassign_on_offline, i.auto_ack, i.response_minutes, i.created_at";
const CONTACT_COLS: &str =
    "ct.id, ct.name, ct.email, ct.locale, ct.phone, ct.notes, ct.attributes, ct.created_at";
/// The point reads SQLite runs on the calling thread (`sqlite_read.rs`) and PostgreSQL through
/// sqlx (`postgres.rs`); the conversation by id is `append::CONVERSATION`.
static CONTACT_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {CONTACT_COLS} FROM contacts ct WHERE ct.id = ?")
});
static CONTACT_BY_IDENTITY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        format!(
            "SELECT {CONTACT_COLS} FROM contact_identities ci \
             JOIN contacts ct ON ct.id = ci.contact_id WHERE ci.kind = ? AND ci.value = ?"
        )
    });
static MESSAGE_WITH_CONVERSATION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        format!(
            "SELECT {MSG_COLS}, {CONV_COLS} FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?"
        )
    });
/// One conversation's summary (the list's columns and joins).
static SUMMARY_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} WHERE c.id = ?", summary_select(false)));

// SQLite's RETURNING clause cannot name a table alias: the same columns, unqualified.
const AGENT_RET: &str =
    "id, email, name, role, locale, capacity, away, created_at, deactivated_at";
const INBOX_RET: &str = "id, name, channel, widget_key, greeting, color, auto_assign, \
     reassign_on_offline, auto_ack, response_minutes, created_at";

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
        deactivated_at: row.try_get("deactivated_at").map_err(db)?,
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
    crate::rows::contact(row)
}

fn conversation_from_row(row: &$row) -> StoreResult<Conversation> {
    crate::rows::conversation(row)
}

/// The message of a row with `MSG_COLS`; `None` when a left join found none.
fn message_from_row(row: &$row) -> StoreResult<Option<Message>> {
    crate::rows::message(row)
}

fn required_message(row: &$row) -> StoreResult<Message> {
    message_from_row(row)?.ok_or(StoreError::NotFound)
}

fn summary_from_row(row: &$row) -> StoreResult<ConversationSummary> {
    crate::rows::summary(row)
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
             WHERE s.token_hash = ? AND s.expires_at > ? AND a.deactivated_at IS NULL"
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

    pub async fn add_contact_identity(&self, contact: ContactId, kind: &str, value: &str) -> StoreResult<()> {
        sqlx::query(&q(crate::append::INSERT_IDENTITY))
            .bind(kind)
            .bind(value)
            .bind(contact.0)
            .bind(now_millis())
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
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
