//! Storage for the agent workspace: accounts and permissions (inbox membership, teams, API tokens,
//! login throttling, the audit log), ticket work (labels, merge, snooze wake-up, read marks,
//! routing), notifications and canned responses. The SQL is shared by both backends through
//! `workspace_queries!`, like `queries.rs`.

use layan_core::{
    Agent, AgentId, ApiTokenInfo, AuditEntry, CannedId, CannedResponse, Contact, Conversation,
    ConversationId, InboxId, Locale, Millis, Notification, Role, Team, TeamId, ViewCounts,
};

use crate::{Store, StoreResult};

#[derive(Debug, Default)]
pub struct AgentChanges<'a> {
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub locale: Option<Locale>,
    pub capacity: Option<i64>,
    pub away: Option<bool>,
}

#[derive(Debug)]
pub struct NewCanned<'a> {
    pub owner_id: Option<AgentId>,
    pub shortcut: &'a str,
    pub locale: Option<Locale>,
    pub title: &'a str,
    pub body: &'a str,
}

#[derive(Debug, Default)]
pub struct NewAudit<'a> {
    pub actor_id: Option<AgentId>,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// One agent a routing decision may pick, with what they carry now.
#[derive(Debug, Clone, Copy)]
pub struct RoutingMember {
    pub agent: AgentId,
    pub capacity: i64,
    pub away: bool,
    /// Open conversations assigned to them.
    pub load: i64,
}

/// Failed logins for an email address after a failure was recorded.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub failures: i64,
    pub locked_until: Option<Millis>,
}

impl Store {
    // ---- accounts ------------------------------------------------------------------------

    pub async fn update_agent(&self, id: AgentId, changes: AgentChanges<'_>) -> StoreResult<Agent> {
        dispatch!(self, s => s.update_agent(id, changes).await)
    }

    /// Stores a new password hash and ends every session of the agent, in one transaction.
    /// Sets the password; every session of the account ends, and every API token except,
    /// with `keep_surviving_tokens`, those marked to survive a password change.
    pub async fn set_password(
        &self,
        id: AgentId,
        hash: &str,
        keep_surviving_tokens: bool,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.set_password(id, hash, keep_surviving_tokens).await)
    }

    pub async fn delete_agent_sessions(&self, id: AgentId) -> StoreResult<()> {
        dispatch!(self, s => s.delete_agent_sessions(id).await)
    }

    /// Deactivates (`Some(now)`: sessions and API tokens deleted in the same transaction, open
    /// conversations unassigned and returned) or reactivates (`None`) an account.
    pub async fn set_agent_deactivated(
        &self,
        id: AgentId,
        at: Option<layan_core::Millis>,
    ) -> StoreResult<(Agent, Vec<Conversation>)> {
        dispatch!(self, s => s.set_agent_deactivated(id, at).await)
    }

    /// The inboxes the agent is a member of.
    pub async fn agent_inbox_ids(&self, id: AgentId) -> StoreResult<Vec<InboxId>> {
        dispatch!(self, s => s.agent_inbox_ids(id).await)
    }

    pub async fn inbox_member_ids(&self, inbox: InboxId) -> StoreResult<Vec<AgentId>> {
        dispatch!(self, s => s.inbox_member_ids(inbox).await)
    }

    /// Every (agent, inbox) membership, for listing all agents at once.
    pub async fn inbox_memberships(&self) -> StoreResult<Vec<(AgentId, InboxId)>> {
        dispatch!(self, s => s.inbox_memberships().await)
    }

    /// Replaces the inbox's members.
    pub async fn set_inbox_members(&self, inbox: InboxId, agents: &[AgentId]) -> StoreResult<()> {
        dispatch!(self, s => s.set_inbox_members(inbox, agents).await)
    }

    pub async fn create_team(&self, name: &str) -> StoreResult<Team> {
        dispatch!(self, s => s.create_team(name).await)
    }

    pub async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        dispatch!(self, s => s.list_teams().await)
    }

    pub async fn set_team_members(&self, team: TeamId, agents: &[AgentId]) -> StoreResult<()> {
        dispatch!(self, s => s.set_team_members(team, agents).await)
    }

    pub async fn delete_team(&self, team: TeamId) -> StoreResult<()> {
        dispatch!(self, s => s.delete_team(team).await)
    }

    pub async fn agent_team_ids(&self, id: AgentId) -> StoreResult<Vec<TeamId>> {
        dispatch!(self, s => s.agent_team_ids(id).await)
    }

    pub async fn create_api_token(
        &self,
        agent: AgentId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        survives_password_change: bool,
    ) -> StoreResult<ApiTokenInfo> {
        dispatch!(self, s => s.create_api_token(agent, name, token_hash, prefix, survives_password_change).await)
    }

    pub async fn list_api_tokens(&self, agent: AgentId) -> StoreResult<Vec<ApiTokenInfo>> {
        dispatch!(self, s => s.list_api_tokens(agent).await)
    }

    /// `NotFound` unless the token exists and belongs to `agent`.
    pub async fn revoke_api_token(&self, agent: AgentId, id: i64) -> StoreResult<()> {
        dispatch!(self, s => s.revoke_api_token(agent, id).await)
    }

    /// The agent owning the token with this hash (and notes its use, at most once a minute).
    pub async fn agent_by_api_token(&self, token_hash: &str) -> StoreResult<Option<Agent>> {
        dispatch!(self, s => s.agent_by_api_token(token_hash).await)
    }

    /// When this (lower-cased) email may try again, if it is locked now.
    pub async fn login_locked_until(
        &self,
        email: &str,
        now: Millis,
    ) -> StoreResult<Option<Millis>> {
        dispatch!(self, s => s.login_locked_until(email, now).await)
    }

    /// Counts a failed login; after `max_failures` within `window_ms` the email is locked for
    /// `lock_ms`.
    pub async fn record_login_failure(
        &self,
        email: &str,
        now: Millis,
        max_failures: i64,
        window_ms: Millis,
        lock_ms: Millis,
    ) -> StoreResult<Throttle> {
        dispatch!(self, s => s.record_login_failure(email, now, max_failures, window_ms, lock_ms).await)
    }

    pub async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
        dispatch!(self, s => s.clear_login_failures(email).await)
    }

    pub async fn audit(&self, entry: NewAudit<'_>) -> StoreResult<()> {
        dispatch!(self, s => s.audit(entry).await)
    }

    /// Newest first; `before` is the last id of the previous page.
    pub async fn list_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        dispatch!(self, s => s.list_audit(before, limit).await)
    }

    // ---- ticket work ---------------------------------------------------------------------

    pub async fn add_label(&self, conversation: ConversationId, label: &str) -> StoreResult<()> {
        dispatch!(self, s => s.add_label(conversation, label).await)
    }

    pub async fn remove_label(&self, conversation: ConversationId, label: &str) -> StoreResult<()> {
        dispatch!(self, s => s.remove_label(conversation, label).await)
    }

    /// Every label in use with how many conversations carry it.
    /// Labels in use in these inboxes (`None`: all), with how many conversations carry each.
    pub async fn list_labels(
        &self,
        inboxes: Option<&[InboxId]>,
    ) -> StoreResult<Vec<(String, i64)>> {
        dispatch!(self, s => s.list_labels(inboxes).await)
    }

    /// Merges `source` into `target` (same contact only: `Conflict("different_customers")`):
    /// the source is closed and points to the target; its labels are copied. Messages stay
    /// where they were written.
    pub async fn merge_conversations(
        &self,
        source: ConversationId,
        target: ConversationId,
    ) -> StoreResult<(Conversation, Conversation)> {
        dispatch!(self, s => s.merge_conversations(source, target).await)
    }

    /// Conversations merged into this one.
    pub async fn merged_into(&self, target: ConversationId) -> StoreResult<Vec<Conversation>> {
        dispatch!(self, s => s.merged_into(target).await)
    }

    /// Reopens snoozed conversations whose time has come; each id is returned by one caller only,
    /// so several nodes may sweep at once.
    pub async fn wake_snoozed(&self, now: Millis) -> StoreResult<Vec<ConversationId>> {
        dispatch!(self, s => s.wake_snoozed(now).await)
    }

    /// Remembers that the agent has read the conversation up to `seq` (never moves back).
    pub async fn mark_read(
        &self,
        agent: AgentId,
        conversation: ConversationId,
        seq: i64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.mark_read(agent, conversation, seq).await)
    }

    /// Open-conversation counts for the agent's views; `inboxes` `None` means every inbox.
    pub async fn view_counts(
        &self,
        agent: AgentId,
        inboxes: Option<&[InboxId]>,
        teams: &[TeamId],
    ) -> StoreResult<ViewCounts> {
        dispatch!(self, s => s.view_counts(agent, inboxes, teams).await)
    }

    /// The inbox's members with their capacity, availability and load, and who got the last
    /// automatic assignment.
    pub async fn routing_members(
        &self,
        inbox: InboxId,
    ) -> StoreResult<(Vec<RoutingMember>, Option<AgentId>)> {
        dispatch!(self, s => s.routing_members(inbox).await)
    }

    /// Assigns the conversation only if it is open and nobody has it (two nodes routing at once
    /// cannot both win, and one resolved meanwhile is not routed), and remembers the agent for
    /// round-robin. `None` when someone else had it or it is no longer open.
    pub async fn assign_if_unassigned(
        &self,
        conversation: ConversationId,
        agent: AgentId,
    ) -> StoreResult<Option<Conversation>> {
        dispatch!(self, s => s.assign_if_unassigned(conversation, agent).await)
    }

    /// Unassigns the agent's open conversations in inboxes that reassign when an agent goes
    /// offline; returns them.
    pub async fn release_offline_agent(&self, agent: AgentId) -> StoreResult<Vec<Conversation>> {
        dispatch!(self, s => s.release_offline_agent(agent).await)
    }

    /// Open, unassigned conversations of an inbox, longest waiting first.
    pub async fn unassigned_open(
        &self,
        inbox: InboxId,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        dispatch!(self, s => s.unassigned_open(inbox, limit).await)
    }

    /// Contacts whose name or email contains `text`, with a conversation in one of `inboxes`
    /// (`None`: any).
    pub async fn search_contacts(
        &self,
        text: &str,
        inboxes: Option<&[InboxId]>,
        limit: u32,
    ) -> StoreResult<Vec<Contact>> {
        dispatch!(self, s => s.search_contacts(text, inboxes, limit).await)
    }

    pub async fn message_by_id(
        &self,
        id: layan_core::MessageId,
    ) -> StoreResult<Option<layan_core::Message>> {
        dispatch!(self, s => s.message_by_id(id).await)
    }

    /// A message with its conversation, in one read.
    pub async fn message_with_conversation(
        &self,
        id: layan_core::MessageId,
    ) -> StoreResult<Option<(layan_core::Message, layan_core::Conversation)>> {
        dispatch!(self, s => s.message_with_conversation(id).await)
    }

    // ---- notifications -------------------------------------------------------------------

    pub async fn create_notification(
        &self,
        agent: AgentId,
        kind: &str,
        conversation: ConversationId,
        actor_name: Option<&str>,
        excerpt: &str,
    ) -> StoreResult<Notification> {
        dispatch!(self, s => s.create_notification(agent, kind, conversation, actor_name, excerpt).await)
    }

    pub async fn list_notifications(
        &self,
        agent: AgentId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        dispatch!(self, s => s.list_notifications(agent, limit).await)
    }

    /// Marks one (or, with `None`, every) notification of the agent read.
    pub async fn read_notifications(&self, agent: AgentId, id: Option<i64>) -> StoreResult<()> {
        dispatch!(self, s => s.read_notifications(agent, id).await)
    }

    // ---- canned responses ----------------------------------------------------------------

    /// `Conflict("shortcut_taken")` when the owner (or the shared set) has this shortcut in
    /// this language already.
    pub async fn create_canned(&self, new: NewCanned<'_>) -> StoreResult<CannedResponse> {
        dispatch!(self, s => s.create_canned(new).await)
    }

    pub async fn update_canned(
        &self,
        id: CannedId,
        new: NewCanned<'_>,
    ) -> StoreResult<CannedResponse> {
        dispatch!(self, s => s.update_canned(id, new).await)
    }

    pub async fn delete_canned(&self, id: CannedId) -> StoreResult<()> {
        dispatch!(self, s => s.delete_canned(id).await)
    }

    pub async fn canned(&self, id: CannedId) -> StoreResult<Option<CannedResponse>> {
        dispatch!(self, s => s.canned(id).await)
    }

    /// The shared responses and the agent's own, by shortcut.
    pub async fn list_canned(&self, agent: AgentId) -> StoreResult<Vec<CannedResponse>> {
        dispatch!(self, s => s.list_canned(agent).await)
    }
}

macro_rules! workspace_queries {
    ($store:ident, $db:ty, $row:ty) => {
fn canned_from_row(row: &$row) -> StoreResult<CannedResponse> {
    let locale: String = row.try_get("locale").map_err(db)?;
    Ok(CannedResponse {
        id: CannedId(row.try_get("id").map_err(db)?),
        owner_id: row.try_get::<Option<i64>, _>("owner_id").map_err(db)?.map(AgentId),
        shortcut: row.try_get("shortcut").map_err(db)?,
        locale: if locale.is_empty() { None } else { Locale::from_tag(&locale) },
        title: row.try_get("title").map_err(db)?,
        body: row.try_get("body").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
    })
}

fn notification_from_row(row: &$row) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.try_get("id").map_err(db)?,
        agent_id: AgentId(row.try_get("agent_id").map_err(db)?),
        kind: row.try_get("kind").map_err(db)?,
        conversation_id: ConversationId(row.try_get("conversation_id").map_err(db)?),
        conversation_number: TicketNumber(row.try_get("number").map_err(db)?),
        actor_name: row.try_get("actor_name").map_err(db)?,
        excerpt: row.try_get("excerpt").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
        read_at: row.try_get("read_at").map_err(db)?,
    })
}

fn token_from_row(row: &$row) -> StoreResult<ApiTokenInfo> {
    Ok(ApiTokenInfo {
        id: row.try_get("id").map_err(db)?,
        name: row.try_get("name").map_err(db)?,
        prefix: row.try_get("prefix").map_err(db)?,
        created_at: row.try_get("created_at").map_err(db)?,
        last_used_at: row.try_get("last_used_at").map_err(db)?,
        survives_password_change: row.try_get("survives_password_change").map_err(db)?,
    })
}

const CANNED_COLS: &str = "id, owner_id, shortcut, locale, title, body, updated_at";
const NOTIFICATION_COLS: &str = "n.id, n.agent_id, n.kind, n.conversation_id, c.number, \
     n.actor_name, n.excerpt, n.created_at, n.read_at";

impl $store {
    pub async fn update_agent(&self, id: AgentId, changes: AgentChanges<'_>) -> StoreResult<Agent> {
        let row = sqlx::query(&q(&format!(
            "UPDATE agents SET name = COALESCE(?, name), role = COALESCE(?, role), \
             locale = COALESCE(?, locale), capacity = COALESCE(?, capacity), \
             away = COALESCE(?, away) WHERE id = ? RETURNING {AGENT_RET}"
        )))
        .bind(changes.name)
        .bind(changes.role.map(Role::as_str))
        .bind(changes.locale.map(Locale::as_str))
        .bind(changes.capacity)
        .bind(changes.away)
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        agent_from_row(&row)
    }

    pub async fn set_password(&self, id: AgentId, hash: &str, keep_surviving_tokens: bool) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let done = sqlx::query(&q("UPDATE agents SET password_hash = ? WHERE id = ?"))
            .bind(hash)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(&q("DELETE FROM sessions WHERE agent_id = ?"))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // API tokens end with the password, unless marked to survive it (and kept).
        sqlx::query(&q(
            "DELETE FROM api_tokens WHERE agent_id = ? AND (NOT survives_password_change OR ?)",
        ))
        .bind(id.0)
        .bind(!keep_surviving_tokens)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub async fn set_agent_deactivated(
        &self,
        id: AgentId,
        at: Option<i64>,
    ) -> StoreResult<(Agent, Vec<Conversation>)> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "UPDATE agents SET deactivated_at = ? WHERE id = ? RETURNING {AGENT_RET}"
        )))
        .bind(at)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        let agent = agent_from_row(&row)?;
        let mut released = Vec::new();
        if at.is_some() {
            for table in ["sessions", "api_tokens"] {
                sqlx::query(&q(&format!("DELETE FROM {table} WHERE agent_id = ?")))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            let rows = sqlx::query(&q(&format!(
                "UPDATE conversations SET assignee_id = NULL, updated_at = ? \
                 WHERE assignee_id = ? AND status NOT IN ('resolved', 'closed') RETURNING {CONV_RET}"
            )))
            .bind(now_millis())
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            released = rows
                .iter()
                .map(conversation_from_row)
                .collect::<StoreResult<_>>()?;
        }
        tx.commit().await.map_err(db)?;
        Ok((agent, released))
    }

    pub async fn delete_agent_sessions(&self, id: AgentId) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM sessions WHERE agent_id = ?"))
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn agent_inbox_ids(&self, id: AgentId) -> StoreResult<Vec<InboxId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT inbox_id FROM inbox_members WHERE agent_id = ? ORDER BY inbox_id",
        ))
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(InboxId).collect())
    }

    pub async fn inbox_member_ids(&self, inbox: InboxId) -> StoreResult<Vec<AgentId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT agent_id FROM inbox_members WHERE inbox_id = ? ORDER BY agent_id",
        ))
        .bind(inbox.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(AgentId).collect())
    }

    pub async fn inbox_memberships(&self) -> StoreResult<Vec<(AgentId, InboxId)>> {
        let rows = sqlx::query(&q(
            "SELECT agent_id, inbox_id FROM inbox_members ORDER BY agent_id, inbox_id",
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    AgentId(r.try_get("agent_id").map_err(db)?),
                    InboxId(r.try_get("inbox_id").map_err(db)?),
                ))
            })
            .collect()
    }

    pub async fn set_inbox_members(&self, inbox: InboxId, agents: &[AgentId]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        sqlx::query(&q("DELETE FROM inbox_members WHERE inbox_id = ?"))
            .bind(inbox.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for a in agents {
            sqlx::query(&q(
                "INSERT INTO inbox_members (inbox_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ))
            .bind(inbox.0)
            .bind(a.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub async fn create_team(&self, name: &str) -> StoreResult<Team> {
        let id: i64 = sqlx::query_scalar(&q(
            "INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id",
        ))
        .bind(name)
        .bind(now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict("team_name_taken"),
            other => other,
        })?;
        Ok(Team {
            id: TeamId(id),
            name: name.to_owned(),
            members: Vec::new(),
        })
    }

    pub async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        let rows = sqlx::query(&q("SELECT id, name FROM teams ORDER BY name"))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let members = sqlx::query(&q(
            "SELECT team_id, agent_id FROM team_members ORDER BY agent_id",
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut teams = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id").map_err(db)?;
            let mut team = Team {
                id: TeamId(id),
                name: r.try_get("name").map_err(db)?,
                members: Vec::new(),
            };
            for m in &members {
                if m.try_get::<i64, _>("team_id").map_err(db)? == id {
                    team.members.push(AgentId(m.try_get("agent_id").map_err(db)?));
                }
            }
            teams.push(team);
        }
        Ok(teams)
    }

    pub async fn set_team_members(&self, team: TeamId, agents: &[AgentId]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let exists: Option<i64> = sqlx::query_scalar(&q("SELECT id FROM teams WHERE id = ?"))
            .bind(team.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(&q("DELETE FROM team_members WHERE team_id = ?"))
            .bind(team.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for a in agents {
            sqlx::query(&q(
                "INSERT INTO team_members (team_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ))
            .bind(team.0)
            .bind(a.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub async fn delete_team(&self, team: TeamId) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM teams WHERE id = ?"))
            .bind(team.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn agent_team_ids(&self, id: AgentId) -> StoreResult<Vec<TeamId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT team_id FROM team_members WHERE agent_id = ? ORDER BY team_id",
        ))
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(TeamId).collect())
    }

    pub async fn create_api_token(
        &self,
        agent: AgentId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        survives_password_change: bool,
    ) -> StoreResult<ApiTokenInfo> {
        let row = sqlx::query(&q(
            "INSERT INTO api_tokens (agent_id, name, token_hash, prefix, created_at, \
             survives_password_change) VALUES (?, ?, ?, ?, ?, ?) \
             RETURNING id, name, prefix, created_at, last_used_at, survives_password_change",
        ))
        .bind(agent.0)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now_millis())
        .bind(survives_password_change)
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        token_from_row(&row)
    }

    pub async fn list_api_tokens(&self, agent: AgentId) -> StoreResult<Vec<ApiTokenInfo>> {
        let rows = sqlx::query(&q(
            "SELECT id, name, prefix, created_at, last_used_at, survives_password_change \
             FROM api_tokens WHERE agent_id = ? ORDER BY id",
        ))
        .bind(agent.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn revoke_api_token(&self, agent: AgentId, id: i64) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM api_tokens WHERE id = ? AND agent_id = ?"))
            .bind(id)
            .bind(agent.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn agent_by_api_token(&self, token_hash: &str) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {AGENT_COLS}, t.last_used_at AS token_used FROM api_tokens t \
             JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ? AND a.deactivated_at IS NULL"
        )))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let agent = agent_from_row(&row)?;
        let used: Option<i64> = row.try_get("token_used").map_err(db)?;
        let now = now_millis();
        if used.is_none_or(|u| u < now - 60_000) {
            sqlx::query(&q("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?"))
                .bind(now)
                .bind(token_hash)
                .execute(&self.writer)
                .await
                .map_err(db)?;
        }
        Ok(Some(agent))
    }

    pub async fn login_locked_until(&self, email: &str, now: Millis) -> StoreResult<Option<Millis>> {
        let until: Option<Option<i64>> = sqlx::query_scalar(&q(
            "SELECT locked_until FROM login_throttle WHERE email = ?",
        ))
        .bind(email)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        Ok(until.flatten().filter(|u| *u > now))
    }

    pub async fn record_login_failure(
        &self,
        email: &str,
        now: Millis,
        max_failures: i64,
        window_ms: Millis,
        lock_ms: Millis,
    ) -> StoreResult<Throttle> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let row = sqlx::query(&q(
            "SELECT failures, locked_until, updated_at FROM login_throttle WHERE email = ?",
        ))
        .bind(email)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let previous = match &row {
            Some(r) => {
                let updated: i64 = r.try_get("updated_at").map_err(db)?;
                let failures: i64 = r.try_get("failures").map_err(db)?;
                if updated < now - window_ms { 0 } else { failures }
            }
            None => 0,
        };
        let failures = previous + 1;
        let locked_until = (failures >= max_failures).then_some(now + lock_ms);
        // A lockout starts a fresh count for when it ends.
        let stored_failures = if locked_until.is_some() { 0 } else { failures };
        sqlx::query(&q(
            "INSERT INTO login_throttle (email, failures, locked_until, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (email) DO UPDATE SET failures = excluded.failures, \
             locked_until = excluded.locked_until, updated_at = excluded.updated_at",
        ))
        .bind(email)
        .bind(stored_failures)
        .bind(locked_until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Throttle {
            failures,
            locked_until,
        })
    }

    pub async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM login_throttle WHERE email = ?"))
            .bind(email)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub async fn audit(&self, entry: NewAudit<'_>) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO audit_log (at, actor_id, actor, action, target, detail, ip) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(now_millis())
        .bind(entry.actor_id.map(|a| a.0))
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.detail)
        .bind(entry.ip)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn list_audit(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(&q(
            "SELECT id, at, actor_id, actor, action, target, detail, ip FROM audit_log \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id").map_err(db)?,
                    at: r.try_get("at").map_err(db)?,
                    actor_id: r.try_get::<Option<i64>, _>("actor_id").map_err(db)?.map(AgentId),
                    actor: r.try_get("actor").map_err(db)?,
                    action: r.try_get("action").map_err(db)?,
                    target: r.try_get("target").map_err(db)?,
                    detail: r.try_get("detail").map_err(db)?,
                    ip: r.try_get("ip").map_err(db)?,
                })
            })
            .collect()
    }

    pub async fn add_label(&self, conversation: ConversationId, label: &str) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO conversation_labels (conversation_id, label) VALUES (?, ?) ON CONFLICT DO NOTHING",
        ))
        .bind(conversation.0)
        .bind(label)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn remove_label(&self, conversation: ConversationId, label: &str) -> StoreResult<()> {
        sqlx::query(&q(
            "DELETE FROM conversation_labels WHERE conversation_id = ? AND label = ?",
        ))
        .bind(conversation.0)
        .bind(label)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn list_labels(&self, inboxes: Option<&[InboxId]>) -> StoreResult<Vec<(String, i64)>> {
        if inboxes.is_some_and(<[InboxId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
            "SELECT l.label, COUNT(*) AS n FROM conversation_labels l \
             JOIN conversations c ON c.id = l.conversation_id WHERE 1 = 1",
        );
        if let Some(inboxes) = inboxes {
            qb.push(" AND c.inbox_id IN (");
            let mut list = qb.separated(", ");
            for i in inboxes {
                list.push_bind(i.0);
            }
            list.push_unseparated(")");
        }
        qb.push(" GROUP BY l.label ORDER BY l.label");
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        rows.iter()
            .map(|r| Ok((r.try_get("label").map_err(db)?, r.try_get("n").map_err(db)?)))
            .collect()
    }

    pub async fn merge_conversations(
        &self,
        source: ConversationId,
        target: ConversationId,
    ) -> StoreResult<(Conversation, Conversation)> {
        if source == target {
            return Err(StoreError::Conflict("same_conversation"));
        }
        let mut tx = self.writer.begin().await.map_err(db)?;
        let mut found = Vec::with_capacity(2);
        // Lock both rows (in id order, so two opposite merges cannot deadlock).
        let (first, second) = if source.0 < target.0 { (source, target) } else { (target, source) };
        for id in [first, second] {
            let row = sqlx::query(&q(&format!(
                "UPDATE conversations SET updated_at = updated_at WHERE id = ? RETURNING {CONV_RET}"
            )))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
            found.push(conversation_from_row(&row)?);
        }
        let (src, tgt) = if found[0].id == source {
            (&found[0], &found[1])
        } else {
            (&found[1], &found[0])
        };
        if src.contact_id != tgt.contact_id {
            return Err(StoreError::Conflict("different_customers"));
        }
        if src.merged_into_id.is_some() || tgt.merged_into_id.is_some() {
            return Err(StoreError::Conflict("already_merged"));
        }
        let row = sqlx::query(&q(&format!(
            "UPDATE conversations SET status = 'closed', merged_into_id = ?, snoozed_until = NULL, \
             waiting_since = NULL, updated_at = ? WHERE id = ? RETURNING {CONV_RET}"
        )))
        .bind(target.0)
        .bind(now_millis())
        .bind(source.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let merged = conversation_from_row(&row)?;
        sqlx::query(&q(
            "INSERT INTO conversation_labels (conversation_id, label) \
             SELECT ?, label FROM conversation_labels WHERE conversation_id = ? \
             ON CONFLICT DO NOTHING",
        ))
        .bind(target.0)
        .bind(source.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let survivor = tgt.clone();
        tx.commit().await.map_err(db)?;
        Ok((merged, survivor))
    }

    pub async fn merged_into(&self, target: ConversationId) -> StoreResult<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.merged_into_id = ? ORDER BY c.id"
        )))
        .bind(target.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(conversation_from_row).collect()
    }

    pub async fn wake_snoozed(&self, now: Millis) -> StoreResult<Vec<ConversationId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&q(
            "UPDATE conversations SET status = 'open', snoozed_until = NULL, updated_at = ? \
             WHERE status = 'snoozed' AND snoozed_until <= ? RETURNING id",
        ))
        .bind(now)
        .bind(now)
        .fetch_all(&self.writer)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(ConversationId).collect())
    }

    pub async fn mark_read(&self, agent: AgentId, conversation: ConversationId, seq: i64) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO agent_reads (agent_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
             ON CONFLICT (agent_id, conversation_id) DO UPDATE SET last_read_seq = \
             CASE WHEN excluded.last_read_seq > agent_reads.last_read_seq \
             THEN excluded.last_read_seq ELSE agent_reads.last_read_seq END",
        ))
        .bind(agent.0)
        .bind(conversation.0)
        .bind(seq)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn view_counts(
        &self,
        agent: AgentId,
        inboxes: Option<&[InboxId]>,
        teams: &[TeamId],
    ) -> StoreResult<ViewCounts> {
        if inboxes.is_some_and(<[InboxId]>::is_empty) {
            return Ok(ViewCounts::default());
        }
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
            "SELECT COUNT(*) AS all_open, \
             COALESCE(SUM(CASE WHEN c.assignee_id = ",
        );
        qb.push_bind(agent.0)
            .push(" THEN 1 ELSE 0 END), 0) AS mine, \
                   COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned, \
                   COALESCE(SUM(CASE WHEN c.team_id IN (");
        {
            let mut list = qb.separated(", ");
            list.push_bind(-1_i64);
            for t in teams {
                list.push_bind(t.0);
            }
        }
        qb.push(") THEN 1 ELSE 0 END), 0) AS team, \
                 COALESCE(SUM(CASE WHEN (c.assignee_id IS NULL OR c.assignee_id = ")
            .push_bind(agent.0)
            .push(") AND c.last_incoming_seq > COALESCE(r.last_read_seq, 0) THEN 1 ELSE 0 END), 0) AS unread \
                   FROM conversations c LEFT JOIN agent_reads r ON r.conversation_id = c.id AND r.agent_id = ")
            .push_bind(agent.0)
            .push(" WHERE c.status = 'open'");
        if let Some(inboxes) = inboxes {
            qb.push(" AND c.inbox_id IN (");
            let mut list = qb.separated(", ");
            for i in inboxes {
                list.push_bind(i.0);
            }
            list.push_unseparated(")");
        }
        let row = qb.build().fetch_one(&self.reader).await.map_err(db)?;
        Ok(ViewCounts {
            mine: row.try_get("mine").map_err(db)?,
            unassigned: row.try_get("unassigned").map_err(db)?,
            team: row.try_get("team").map_err(db)?,
            all: row.try_get("all_open").map_err(db)?,
            unread: row.try_get("unread").map_err(db)?,
        })
    }

    pub async fn routing_members(&self, inbox: InboxId) -> StoreResult<(Vec<RoutingMember>, Option<AgentId>)> {
        let rows = sqlx::query(&q(
            "SELECT a.id, a.capacity, a.away, \
             (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = a.id AND c.status = 'open') AS load \
             FROM inbox_members m JOIN agents a ON a.id = m.agent_id \
             WHERE m.inbox_id = ? AND a.deactivated_at IS NULL ORDER BY a.id",
        ))
        .bind(inbox.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let members = rows
            .iter()
            .map(|r| {
                Ok(RoutingMember {
                    agent: AgentId(r.try_get("id").map_err(db)?),
                    capacity: r.try_get("capacity").map_err(db)?,
                    away: r.try_get("away").map_err(db)?,
                    load: r.try_get("load").map_err(db)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let last: Option<Option<i64>> = sqlx::query_scalar(&q(
            "SELECT last_assigned_agent_id FROM inboxes WHERE id = ?",
        ))
        .bind(inbox.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        Ok((members, last.flatten().map(AgentId)))
    }

    pub async fn assign_if_unassigned(
        &self,
        conversation: ConversationId,
        agent: AgentId,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.writer.begin().await.map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "UPDATE conversations SET assignee_id = ?, updated_at = ? \
             WHERE id = ? AND assignee_id IS NULL AND status = 'open' RETURNING {CONV_RET}"
        )))
        .bind(agent.0)
        .bind(now_millis())
        .bind(conversation.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let assigned = conversation_from_row(&row)?;
        sqlx::query(&q("UPDATE inboxes SET last_assigned_agent_id = ? WHERE id = ?"))
            .bind(agent.0)
            .bind(assigned.inbox_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(assigned))
    }

    pub async fn release_offline_agent(&self, agent: AgentId) -> StoreResult<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "UPDATE conversations SET assignee_id = NULL, updated_at = ? \
             WHERE assignee_id = ? AND status = 'open' \
             AND inbox_id IN (SELECT id FROM inboxes WHERE reassign_on_offline) RETURNING {CONV_RET}"
        )))
        .bind(now_millis())
        .bind(agent.0)
        .fetch_all(&self.writer)
        .await
        .map_err(db)?;
        rows.iter().map(conversation_from_row).collect()
    }

    pub async fn unassigned_open(&self, inbox: InboxId, limit: u32) -> StoreResult<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.inbox_id = ? AND c.status = 'open' \
             AND c.assignee_id IS NULL ORDER BY COALESCE(c.waiting_since, c.last_message_at), c.id LIMIT ?"
        )))
        .bind(inbox.0)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(conversation_from_row).collect()
    }

    pub async fn search_contacts(
        &self,
        text: &str,
        inboxes: Option<&[InboxId]>,
        limit: u32,
    ) -> StoreResult<Vec<Contact>> {
        let text = text.trim();
        if text.is_empty() || inboxes.is_some_and(<[InboxId]>::is_empty) {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
            "SELECT {CONTACT_COLS} FROM contacts ct WHERE (LOWER(ct.name) LIKE "
        ));
        qb.push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(ct.email) LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
        if let Some(inboxes) = inboxes {
            qb.push(" AND EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = ct.id AND c.inbox_id IN (");
            let mut list = qb.separated(", ");
            for i in inboxes {
                list.push_bind(i.0);
            }
            list.push_unseparated("))");
        }
        qb.push(" ORDER BY ct.id DESC LIMIT ").push_bind(i64::from(limit.clamp(1, 100)));
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db)?;
        rows.iter().map(contact_from_row).collect()
    }

    pub async fn message_by_id(&self, id: layan_core::MessageId) -> StoreResult<Option<layan_core::Message>> {
        let row = sqlx::query(&q(&format!("SELECT {MSG_COLS} FROM messages m WHERE m.id = ?")))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(required_message).transpose()
    }

    pub async fn create_notification(
        &self,
        agent: AgentId,
        kind: &str,
        conversation: ConversationId,
        actor_name: Option<&str>,
        excerpt: &str,
    ) -> StoreResult<Notification> {
        let id: i64 = sqlx::query_scalar(&q(
            "INSERT INTO notifications (agent_id, kind, conversation_id, actor_name, excerpt, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        ))
        .bind(agent.0)
        .bind(kind)
        .bind(conversation.0)
        .bind(actor_name)
        .bind(excerpt)
        .bind(now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        let row = sqlx::query(&q(&format!(
            "SELECT {NOTIFICATION_COLS} FROM notifications n JOIN conversations c ON c.id = n.conversation_id \
             WHERE n.id = ?"
        )))
        .bind(id)
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        notification_from_row(&row)
    }

    pub async fn list_notifications(&self, agent: AgentId, limit: u32) -> StoreResult<Vec<Notification>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {NOTIFICATION_COLS} FROM notifications n JOIN conversations c ON c.id = n.conversation_id \
             WHERE n.agent_id = ? ORDER BY n.id DESC LIMIT ?"
        )))
        .bind(agent.0)
        .bind(i64::from(limit.clamp(1, 200)))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(notification_from_row).collect()
    }

    pub async fn read_notifications(&self, agent: AgentId, id: Option<i64>) -> StoreResult<()> {
        sqlx::query(&q(
            "UPDATE notifications SET read_at = ? WHERE agent_id = ? AND read_at IS NULL \
             AND (? OR id = ?)",
        ))
        .bind(now_millis())
        .bind(agent.0)
        .bind(id.is_none())
        .bind(id.unwrap_or(-1))
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn create_canned(&self, new: NewCanned<'_>) -> StoreResult<CannedResponse> {
        let now = now_millis();
        let row = sqlx::query(&q(&format!(
            "INSERT INTO canned_responses (owner_id, shortcut, locale, title, body, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {CANNED_COLS}"
        )))
        .bind(new.owner_id.map(|a| a.0))
        .bind(new.shortcut)
        .bind(new.locale.map_or("", Locale::as_str))
        .bind(new.title)
        .bind(new.body)
        .bind(now)
        .bind(now)
        .fetch_one(&self.writer)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict("shortcut_taken"),
            other => other,
        })?;
        canned_from_row(&row)
    }

    pub async fn update_canned(&self, id: CannedId, new: NewCanned<'_>) -> StoreResult<CannedResponse> {
        let row = sqlx::query(&q(&format!(
            "UPDATE canned_responses SET shortcut = ?, locale = ?, title = ?, body = ?, updated_at = ? \
             WHERE id = ? RETURNING {CANNED_COLS}"
        )))
        .bind(new.shortcut)
        .bind(new.locale.map_or("", Locale::as_str))
        .bind(new.title)
        .bind(new.body)
        .bind(now_millis())
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict("shortcut_taken"),
            other => other,
        })?
        .ok_or(StoreError::NotFound)?;
        canned_from_row(&row)
    }

    pub async fn delete_canned(&self, id: CannedId) -> StoreResult<()> {
        let done = sqlx::query(&q("DELETE FROM canned_responses WHERE id = ?"))
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn canned(&self, id: CannedId) -> StoreResult<Option<CannedResponse>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {CANNED_COLS} FROM canned_responses WHERE id = ?"
        )))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(canned_from_row).transpose()
    }

    pub async fn list_canned(&self, agent: AgentId) -> StoreResult<Vec<CannedResponse>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {CANNED_COLS} FROM canned_responses WHERE owner_id IS NULL OR owner_id = ? \
             ORDER BY shortcut, locale, id"
        )))
        .bind(agent.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(canned_from_row).collect()
    }
}
    };
}

pub(crate) use workspace_queries;
