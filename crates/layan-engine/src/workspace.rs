//! The agent workspace: who may see what (roles, inbox membership, teams), ticket work (status
//! with snooze, priority, labels, teams, merge, read marks), routing (round-robin and
//! least-loaded with capacities, reassignment when an agent goes offline), @mentions and
//! notifications, canned responses, and the automatic acknowledgement.

use std::{collections::HashSet, net::IpAddr, sync::Arc, time::Duration};

use layan_core::{
    Agent, AgentId, Author, AutoAssign, Candidate, CannedId, CannedResponse, Conversation,
    ConversationId, ConversationStatus, Direction, Event, Inbox, InboxId, Locale, MessageBody,
    Millis, NewMessage, Notification, PersonName, Priority, Role, Target, TeamId, TemplateValues,
    TypingWho, ViewCounts, now_millis,
};
use layan_store::{AgentChanges, Appended, ConversationChanges, NewCanned};

use crate::{Engine, EngineError, EngineResult, Topic, lock, relay::Relayed};

/// What one agent may see: every inbox (admins, supervisors) or the inboxes they are a member
/// of. Anything outside is reported as not found, never as forbidden, so existence does not leak.
#[derive(Debug, Clone)]
pub struct Access {
    pub agent: Agent,
    /// `None`: every inbox.
    pub inboxes: Option<Vec<InboxId>>,
    pub teams: Vec<TeamId>,
}

impl Access {
    pub fn can_see(&self, inbox: InboxId) -> bool {
        self.inboxes.as_ref().is_none_or(|i| i.contains(&inbox))
    }

    /// Supervisors and admins manage shared canned responses and assign anyone.
    pub fn supervises(&self) -> bool {
        matches!(self.agent.role, Role::Admin | Role::Supervisor)
    }
}

/// A new account as an admin creates it.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password: &'a str,
    pub inboxes: &'a [InboxId],
}

/// An agent's presence as colleagues see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    /// Online when connected (on any node) and not away.
    pub fn of(agent: &Agent, online: &HashSet<AgentId>) -> Self {
        if !online.contains(&agent.id) {
            Self::Offline
        } else if agent.away {
            Self::Away
        } else {
            Self::Online
        }
    }
}

impl Engine {
    // ---- access --------------------------------------------------------------------------

    pub async fn access(&self, agent: &Agent) -> EngineResult<Access> {
        let inboxes = if agent.role.sees_all_inboxes() {
            None
        } else {
            Some(self.store.agent_inbox_ids(agent.id).await?)
        };
        Ok(Access {
            agent: agent.clone(),
            inboxes,
            teams: self.store.agent_team_ids(agent.id).await?,
        })
    }

    /// The conversation, if the agent may see it.
    pub async fn conversation_for(
        &self,
        access: &Access,
        id: ConversationId,
    ) -> EngineResult<Conversation> {
        match self.store.conversation(id).await? {
            Some(c) if access.can_see(c.inbox_id) => Ok(c),
            _ => Err(EngineError::NotFound),
        }
    }

    /// The inboxes the agent may see.
    pub async fn visible_inboxes(&self, access: &Access) -> EngineResult<Vec<Inbox>> {
        Ok(self
            .store
            .list_inboxes()
            .await?
            .into_iter()
            .filter(|i| access.can_see(i.id))
            .collect())
    }

    pub fn presence_of(&self, agent: &Agent) -> Presence {
        Presence::of(agent, &self.online_agents())
    }

    /// Agents with a live connection on any node.
    pub fn online_agents(&self) -> HashSet<AgentId> {
        let mut agents: HashSet<AgentId> = lock(&self.presence).keys().copied().collect();
        agents.extend(lock(&self.remote_presence).agents().copied());
        agents
    }

    // ---- people (admins) -----------------------------------------------------------------

    pub(crate) fn require_admin(agent: &Agent) -> EngineResult<()> {
        if agent.role.is_admin() {
            Ok(())
        } else {
            Err(EngineError::Forbidden("only admins can do this"))
        }
    }

    /// An admin creates an account and chooses its inboxes.
    pub async fn admin_create_agent(
        &self,
        admin: &Agent,
        new: NewAccount<'_>,
        ip: Option<IpAddr>,
    ) -> EngineResult<Agent> {
        let NewAccount {
            email,
            name,
            role,
            password,
            inboxes,
        } = new;
        Self::require_admin(admin)?;
        let agent = self.create_agent(email, name, role, password).await?;
        for inbox in inboxes {
            let mut members = self.store.inbox_member_ids(*inbox).await?;
            members.push(agent.id);
            self.store.set_inbox_members(*inbox, &members).await?;
        }
        self.audit(
            Some(admin),
            "agent_created",
            Some(&agent.email),
            Some(role.as_str()),
            ip,
        )
        .await;
        Ok(agent)
    }

    /// Changes an account. Admins may change anyone's role, name and capacity; everyone may
    /// change their own name, language, capacity and away flag — but not their own role.
    pub async fn update_agent(
        &self,
        actor: &Agent,
        target: AgentId,
        changes: AgentChanges<'_>,
        ip: Option<IpAddr>,
    ) -> EngineResult<Agent> {
        let own = actor.id == target;
        if !own {
            Self::require_admin(actor)?;
        }
        if own && changes.role.is_some_and(|r| r != actor.role) {
            return Err(EngineError::Forbidden("you cannot change your own role"));
        }
        if let Some(name) = changes.name {
            PersonName::parse(name)?;
        }
        if let Some(c) = changes.capacity
            && !(0..=1000).contains(&c)
        {
            return Err(
                layan_core::InvalidValue::new("invalid_capacity", "capacity is 0-1000").into(),
            );
        }
        let role_changed = changes.role;
        let away_changed = changes.away;
        let updated = self.store.update_agent(target, changes).await?;
        if let Some(role) = role_changed {
            self.audit(
                Some(actor),
                "role_changed",
                Some(&updated.email),
                Some(role.as_str()),
                ip,
            )
            .await;
            self.access_changed(target);
        }
        if away_changed == Some(false) {
            // Back from away: take waiting conversations.
            self.route_waiting_for(target).await;
        }
        self.publish_agents_changed();
        Ok(updated)
    }

    pub async fn set_inbox_members(
        &self,
        admin: &Agent,
        inbox: InboxId,
        agents: &[AgentId],
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_admin(admin)?;
        let before = self.store.inbox_member_ids(inbox).await?;
        self.store
            .inbox(inbox)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.store.set_inbox_members(inbox, agents).await?;
        let detail = agents
            .iter()
            .map(|a| a.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.audit(
            Some(admin),
            "inbox_members_set",
            Some(&format!("inbox {inbox}")),
            Some(&detail),
            ip,
        )
        .await;
        let changed: HashSet<AgentId> = before
            .iter()
            .chain(agents.iter())
            .copied()
            .filter(|a| before.contains(a) != agents.contains(a))
            .collect();
        for a in changed {
            self.access_changed(a);
        }
        Ok(())
    }

    pub async fn create_team(
        &self,
        admin: &Agent,
        name: &str,
        members: &[AgentId],
        ip: Option<IpAddr>,
    ) -> EngineResult<layan_core::Team> {
        Self::require_admin(admin)?;
        let name = PersonName::parse(name)?;
        let mut team = self.store.create_team(name.as_str()).await?;
        self.store.set_team_members(team.id, members).await?;
        team.members = members.to_vec();
        self.audit(Some(admin), "team_created", Some(name.as_str()), None, ip)
            .await;
        for a in members {
            self.access_changed(*a);
        }
        Ok(team)
    }

    pub async fn set_team_members(
        &self,
        admin: &Agent,
        team: TeamId,
        members: &[AgentId],
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        Self::require_admin(admin)?;
        self.store.set_team_members(team, members).await?;
        let detail = members
            .iter()
            .map(|a| a.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.audit(
            Some(admin),
            "team_members_set",
            Some(&format!("team {team}")),
            Some(&detail),
            ip,
        )
        .await;
        Ok(())
    }

    // ---- ticket work ---------------------------------------------------------------------

    /// Sets the status (`until` is required for snoozed and must lie ahead); records it as a
    /// system message both sides see for resolve/reopen/close, and as an internal note for
    /// pending and snoozed (the customer does not need to know).
    pub async fn set_status(
        &self,
        access: &Access,
        id: ConversationId,
        status: ConversationStatus,
        until: Option<Millis>,
    ) -> EngineResult<Conversation> {
        let before = self.conversation_for(access, id).await?;
        let snoozed_until = match status {
            ConversationStatus::Snoozed => Some(layan_core::check_snooze_until(
                until.ok_or_else(|| {
                    layan_core::InvalidValue::new(
                        "snooze_until_required",
                        "say until when to snooze",
                    )
                })?,
                now_millis(),
            )?),
            _ => None,
        };
        if before.merged_into_id.is_some() {
            return Err(EngineError::Conflict("merged"));
        }
        if before.status == status && before.snoozed_until == snoozed_until {
            return Ok(before);
        }
        let updated = self
            .change_conversation(
                id,
                ConversationChanges {
                    status: Some(status),
                    snoozed_until,
                    ..ConversationChanges::default()
                },
            )
            .await?;
        let name = &access.agent.name;
        let (text, direction) = match status {
            ConversationStatus::Open => (
                format!("{name} reopened the conversation"),
                Direction::System,
            ),
            ConversationStatus::Resolved => (
                format!("{name} resolved the conversation"),
                Direction::System,
            ),
            ConversationStatus::Closed => {
                (format!("{name} closed the conversation"), Direction::System)
            }
            ConversationStatus::Pending => (
                format!("{name} set the conversation to pending"),
                Direction::Note,
            ),
            ConversationStatus::Snoozed => {
                (format!("{name} snoozed the conversation"), Direction::Note)
            }
        };
        self.system_message(id, direction, &text).await?;
        Ok(updated)
    }

    async fn system_message(
        &self,
        id: ConversationId,
        direction: Direction,
        text: &str,
    ) -> EngineResult<Appended> {
        self.ingest(NewMessage {
            target: Target::Conversation(id),
            direction,
            author: Author::System,
            author_name: None,
            body: MessageBody::parse(text)?,
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: None,
        })
        .await
    }

    /// Assigns (or with `None` unassigns) a conversation. The assignee must be able to see it.
    /// The assignee is notified unless they assigned themselves.
    pub async fn assign(
        &self,
        access: &Access,
        id: ConversationId,
        assignee: Option<AgentId>,
    ) -> EngineResult<Conversation> {
        let c = self.conversation_for(access, id).await?;
        if let Some(a) = assignee {
            let agent = self.store.agent(a).await?.ok_or(EngineError::NotFound)?;
            if agent.deactivated_at.is_some() {
                return Err(EngineError::Conflict("assignee_deactivated"));
            }
            if !self.access(&agent).await?.can_see(c.inbox_id) {
                return Err(EngineError::Conflict("assignee_not_in_inbox"));
            }
        }
        let updated = self
            .change_conversation(
                id,
                ConversationChanges {
                    assignee: Some(assignee),
                    ..ConversationChanges::default()
                },
            )
            .await?;
        if let Some(a) = assignee
            && a != access.agent.id
        {
            self.notify_agent(
                a,
                "assigned",
                &updated,
                Some(&access.agent.name),
                "assigned this conversation to you",
            )
            .await;
        }
        Ok(updated)
    }

    /// Gives the conversation to a team (or none).
    pub async fn set_team(
        &self,
        access: &Access,
        id: ConversationId,
        team: Option<TeamId>,
    ) -> EngineResult<Conversation> {
        self.conversation_for(access, id).await?;
        if let Some(t) = team
            && !self.store.list_teams().await?.iter().any(|x| x.id == t)
        {
            return Err(EngineError::NotFound);
        }
        self.change_conversation(
            id,
            ConversationChanges {
                team: Some(team),
                ..ConversationChanges::default()
            },
        )
        .await
    }

    pub async fn set_priority(
        &self,
        access: &Access,
        id: ConversationId,
        priority: Priority,
    ) -> EngineResult<Conversation> {
        self.conversation_for(access, id).await?;
        self.change_conversation(
            id,
            ConversationChanges {
                priority: Some(priority),
                ..ConversationChanges::default()
            },
        )
        .await
    }

    pub async fn add_label(
        &self,
        access: &Access,
        id: ConversationId,
        label: &str,
    ) -> EngineResult<()> {
        let label = layan_core::parse_label(label)?;
        self.conversation_for(access, id).await?;
        self.store.add_label(id, &label).await?;
        self.publish_conversation(id).await
    }

    pub async fn remove_label(
        &self,
        access: &Access,
        id: ConversationId,
        label: &str,
    ) -> EngineResult<()> {
        let label = layan_core::parse_label(label)?;
        self.conversation_for(access, id).await?;
        self.store.remove_label(id, &label).await?;
        self.publish_conversation(id).await
    }

    /// Merges `source` into `target` (same customer only). History stays where it was written;
    /// both get an internal note; the source is closed and points at the target.
    pub async fn merge(
        &self,
        access: &Access,
        source: ConversationId,
        target: ConversationId,
    ) -> EngineResult<Conversation> {
        self.conversation_for(access, source).await?;
        self.conversation_for(access, target).await?;
        let (merged, survivor) = self.store.merge_conversations(source, target).await?;
        let name = &access.agent.name;
        self.system_message(
            source,
            Direction::Note,
            &format!("{name} merged this conversation into {}", survivor.number),
        )
        .await?;
        self.system_message(
            target,
            Direction::Note,
            &format!("{name} merged {} into this conversation", merged.number),
        )
        .await?;
        self.audit(
            Some(&access.agent),
            "conversations_merged",
            Some(&format!("{} -> {}", merged.number, survivor.number)),
            None,
            None,
        )
        .await;
        Ok(merged)
    }

    /// Marks the conversation read up to `seq` for this agent.
    pub async fn mark_read(
        &self,
        access: &Access,
        id: ConversationId,
        seq: i64,
    ) -> EngineResult<()> {
        self.conversation_for(access, id).await?;
        Ok(self
            .store
            .mark_read(access.agent.id, id, seq.max(0))
            .await?)
    }

    pub async fn view_counts(&self, access: &Access) -> EngineResult<ViewCounts> {
        Ok(self
            .store
            .view_counts(access.agent.id, access.inboxes.as_deref(), &access.teams)
            .await?)
    }

    /// The agent opened (or left) a conversation: colleagues see who else is looking.
    pub fn viewing(&self, conversation: &Conversation, agent: &Agent, on: bool) {
        self.relay(Relayed::Viewing {
            node: self.node,
            conversation_id: conversation.id.0,
            agent: (agent.id.0, agent.name.clone()),
            on,
        });
        self.publish_viewing(conversation, agent.id, &agent.name, on);
    }

    pub(crate) fn publish_viewing(
        &self,
        conversation: &Conversation,
        agent: AgentId,
        name: &str,
        on: bool,
    ) {
        {
            // Who has which conversation open (on any node), so an agent who opens it later
            // is told at once. Counted per agent: two tabs, one viewer.
            let mut viewers = lock(&self.viewers);
            let entry = viewers.entry(conversation.id).or_default();
            let n = entry.entry(agent).or_insert((name.to_owned(), 0));
            if on {
                n.1 += 1;
            } else {
                n.1 -= 1;
                if n.1 <= 0 {
                    entry.remove(&agent);
                }
            }
            if entry.is_empty() {
                viewers.remove(&conversation.id);
            }
        }
        self.hub.publish(
            Topic::Inbox(conversation.inbox_id),
            Arc::new(Event::Viewing {
                conversation_id: conversation.id,
                inbox_id: conversation.inbox_id,
                agent_id: agent,
                agent_name: name.to_owned(),
                on,
            }),
        );
    }

    /// The agents who have this conversation open now (any node), with their names.
    pub fn viewers_of(&self, id: ConversationId) -> Vec<(AgentId, String)> {
        lock(&self.viewers)
            .get(&id)
            .map(|m| m.iter().map(|(a, (n, _))| (*a, n.clone())).collect())
            .unwrap_or_default()
    }

    pub(crate) async fn publish_conversation(&self, id: ConversationId) -> EngineResult<()> {
        if let Some(summary) = self.store.conversation_summary(id).await? {
            self.hub.publish(
                Topic::Inbox(summary.conversation.inbox_id),
                Arc::new(Event::ConversationUpdated {
                    conversation: Box::new(summary),
                }),
            );
        }
        self.relay(Relayed::Conversation {
            node: self.node,
            conversation_id: id.0,
        });
        Ok(())
    }

    pub(crate) fn publish_agents_changed(&self) {
        // Presence counts double as "the agent list changed" for widgets and inboxes.
        self.refresh_presence();
    }

    // ---- mentions and notifications ------------------------------------------------------

    /// Notifies the agents @mentioned in a note who can see the conversation.
    pub(crate) async fn notify_mentions(
        &self,
        author: &Agent,
        conversation: &Conversation,
        body: &str,
    ) -> EngineResult<()> {
        let handles = layan_core::mentions(body);
        if handles.is_empty() {
            return Ok(());
        }
        let agents = self.store.list_agents().await?;
        for agent in agents {
            if agent.id == author.id {
                continue;
            }
            let local = agent.email.split('@').next().unwrap_or("").to_lowercase();
            let first = agent
                .name
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_lowercase();
            let joined: String = agent
                .name
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(".")
                .to_lowercase();
            let named = handles
                .iter()
                .any(|h| *h == local || *h == first || *h == joined);
            if named && self.access(&agent).await?.can_see(conversation.inbox_id) {
                let excerpt: String = body.chars().take(140).collect();
                self.notify_agent(
                    agent.id,
                    "mention",
                    conversation,
                    Some(&author.name),
                    &excerpt,
                )
                .await;
            }
        }
        Ok(())
    }

    /// Stores a notification and pushes it to the agent's open inboxes on every node.
    async fn notify_agent(
        &self,
        agent: AgentId,
        kind: &str,
        conversation: &Conversation,
        actor: Option<&str>,
        excerpt: &str,
    ) {
        match self
            .store
            .create_notification(agent, kind, conversation.id, actor, excerpt)
            .await
        {
            Ok(n) => {
                self.relay(Relayed::Notification {
                    node: self.node,
                    agent_id: agent.0,
                    id: n.id,
                });
                self.publish_notification(n);
            }
            Err(e) => tracing::warn!(error = %e, "could not store a notification"),
        }
    }

    pub(crate) fn publish_notification(&self, notification: Notification) {
        self.hub.publish(
            Topic::Agent(notification.agent_id),
            Arc::new(Event::Notification { notification }),
        );
    }

    // ---- routing -------------------------------------------------------------------------

    /// Gives an unassigned conversation to an agent by the inbox's strategy, among its members
    /// who are online, not away and under capacity. Does nothing when nobody qualifies (the
    /// conversation waits; it is routed when someone comes online).
    pub async fn route(&self, conversation: &Conversation) -> EngineResult<Option<AgentId>> {
        if conversation.assignee_id.is_some() || conversation.status != ConversationStatus::Open {
            return Ok(None);
        }
        let Some(inbox) = self.store.inbox(conversation.inbox_id).await? else {
            return Ok(None);
        };
        if inbox.auto_assign == AutoAssign::None {
            return Ok(None);
        }
        let online = self.online_agents();
        if online.is_empty() {
            // Nobody online, nobody to route to (they are routed when someone comes online).
            return Ok(None);
        }
        let (members, last) = self.store.routing_members(inbox.id).await?;
        let candidates: Vec<Candidate> = members
            .iter()
            .filter(|m| online.contains(&m.agent) && !m.away)
            .map(|m| Candidate {
                agent: m.agent,
                load: m.load,
                capacity: m.capacity,
            })
            .collect();
        let Some(agent) = layan_core::pick_agent(inbox.auto_assign, &candidates, last) else {
            return Ok(None);
        };
        let Some(assigned) = self
            .store
            .assign_if_unassigned(conversation.id, agent)
            .await?
        else {
            return Ok(None);
        };
        self.publish_conversation(assigned.id).await?;
        self.notify_agent(
            agent,
            "assigned",
            &assigned,
            None,
            inbox.auto_assign.as_str(),
        )
        .await;
        Ok(Some(agent))
    }

    /// Routes waiting conversations of the inboxes this agent works (they came online or back
    /// from away).
    pub(crate) async fn route_waiting_for(&self, agent: AgentId) {
        let result: EngineResult<()> = async {
            for inbox in self.store.agent_inbox_ids(agent).await? {
                for c in self.store.unassigned_open(inbox, 50).await? {
                    if self.route(&c).await?.is_none() {
                        break;
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "routing waiting conversations failed");
        }
    }

    /// After the agent's last connection closed: wait for the grace period (a page reload is
    /// not going offline), then, if they are still offline everywhere, put their open
    /// conversations in inboxes that ask for it back in the queue and route them again.
    pub(crate) fn agent_went_offline(&self, agent: AgentId) {
        let engine = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(engine.offline_grace).await;
            if engine.online_agents().contains(&agent) {
                return;
            }
            let released = match engine.store.release_offline_agent(agent).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "could not release an offline agent's conversations");
                    return;
                }
            };
            for c in released {
                let _ = engine.publish_conversation(c.id).await;
                if let Err(e) = engine.route(&c).await {
                    tracing::warn!(error = %e, "rerouting failed");
                }
            }
        });
    }

    /// Reopens snoozed conversations whose time has come, every `every`, for as long as the
    /// runtime lives. Safe on several nodes: each conversation wakes once.
    pub fn start_timers(&self, every: Duration) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match engine.store.wake_snoozed(now_millis()).await {
                    Ok(ids) => {
                        for id in ids {
                            if let Err(e) = engine
                                .system_message(
                                    id,
                                    Direction::Note,
                                    "The snooze ended; the conversation is open again",
                                )
                                .await
                            {
                                tracing::warn!(error = %e, "could not record a snooze end");
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "snooze sweep failed"),
                }
            }
        });
    }

    // ---- canned responses ----------------------------------------------------------------

    /// Creates a canned response: shared ones (`shared`) by supervisors and admins only.
    pub async fn create_canned(
        &self,
        access: &Access,
        shared: bool,
        shortcut: &str,
        locale: Option<&str>,
        title: &str,
        body: &str,
    ) -> EngineResult<CannedResponse> {
        if shared && !access.supervises() {
            return Err(EngineError::Forbidden(
                "only supervisors and admins share canned responses",
            ));
        }
        let new = canned_input(
            if shared { None } else { Some(access.agent.id) },
            shortcut,
            locale,
            title,
            body,
        )?;
        Ok(self
            .store
            .create_canned(NewCanned {
                owner_id: new.0,
                shortcut: &new.1,
                locale: new.2,
                title: &new.3,
                body: &new.4,
            })
            .await?)
    }

    /// A canned response the agent may change: their own, or a shared one if they supervise.
    async fn editable_canned(&self, access: &Access, id: CannedId) -> EngineResult<CannedResponse> {
        let c = self.store.canned(id).await?.ok_or(EngineError::NotFound)?;
        match c.owner_id {
            Some(owner) if owner == access.agent.id => Ok(c),
            None if access.supervises() => Ok(c),
            None => Err(EngineError::Forbidden(
                "only supervisors and admins change shared canned responses",
            )),
            Some(_) => Err(EngineError::NotFound),
        }
    }

    pub async fn update_canned(
        &self,
        access: &Access,
        id: CannedId,
        shortcut: &str,
        locale: Option<&str>,
        title: &str,
        body: &str,
    ) -> EngineResult<CannedResponse> {
        let existing = self.editable_canned(access, id).await?;
        let new = canned_input(existing.owner_id, shortcut, locale, title, body)?;
        Ok(self
            .store
            .update_canned(
                id,
                NewCanned {
                    owner_id: new.0,
                    shortcut: &new.1,
                    locale: new.2,
                    title: &new.3,
                    body: &new.4,
                },
            )
            .await?)
    }

    pub async fn delete_canned(&self, access: &Access, id: CannedId) -> EngineResult<()> {
        self.editable_canned(access, id).await?;
        Ok(self.store.delete_canned(id).await?)
    }

    /// The text of the canned response `shortcut` for this conversation: the variant in the
    /// customer's language (the agent's own before a shared one), variables filled in.
    pub async fn render_canned(
        &self,
        access: &Access,
        conversation: ConversationId,
        shortcut: &str,
    ) -> EngineResult<(CannedResponse, String)> {
        let c = self.conversation_for(access, conversation).await?;
        let shortcut = layan_core::parse_shortcut(shortcut)?;
        let all = self.store.list_canned(access.agent.id).await?;
        let own: Vec<CannedResponse> = all
            .iter()
            .filter(|r| r.shortcut == shortcut && r.owner_id.is_some())
            .cloned()
            .collect();
        let shared: Vec<CannedResponse> = all
            .iter()
            .filter(|r| r.shortcut == shortcut && r.owner_id.is_none())
            .cloned()
            .collect();
        let contact = self.store.contact(c.contact_id).await?;
        let locale = contact
            .as_ref()
            .and_then(|ct| ct.locale.as_deref())
            .and_then(Locale::from_tag);
        let chosen = layan_core::pick_variant(&own, locale)
            .or_else(|| layan_core::pick_variant(&shared, locale))
            .cloned()
            .ok_or(EngineError::NotFound)?;
        let inbox = self.store.inbox(c.inbox_id).await?;
        // The latest order, read only for a template that may speak of it ("order." anywhere:
        // a cheap superset of `{{ order.… }}` however it is spaced).
        let order = if chosen.body.contains("order.") {
            self.store.orders_of_contact(c.contact_id, 1).await?
        } else {
            Vec::new()
        };
        let order = order.into_iter().next().map(|o| {
            let shipment = o
                .shipments
                .iter()
                .rev()
                .find(|s| s.tracking_url.is_some() || s.tracking_number.is_some());
            layan_core::OrderValues {
                number: o.number.clone(),
                status: o.status().to_owned(),
                tracking_url: o.tracking_url().map(str::to_owned),
                tracking_number: shipment.and_then(|s| s.tracking_number.clone()),
                carrier: shipment.and_then(|s| s.carrier.clone()),
                total: layan_core::policy::format_amount(
                    &o.total,
                    &o.currency,
                    locale.unwrap_or(Locale::En),
                ),
            }
        });
        let values = TemplateValues {
            order,
            contact_name: contact.as_ref().and_then(|ct| ct.name.clone()),
            contact_email: contact.as_ref().and_then(|ct| ct.email.clone()),
            agent_name: access.agent.name.clone(),
            agent_email: access.agent.email.clone(),
            conversation_number: Some(c.number),
            inbox_name: inbox.map(|i| i.name),
        };
        let text = layan_core::render_template(&chosen.body, &values);
        Ok((chosen, text))
    }

    /// Typing by an agent, when they may see the conversation.
    pub async fn agent_typing(
        &self,
        access: &Access,
        id: ConversationId,
        on: bool,
    ) -> EngineResult<()> {
        let c = self.conversation_for(access, id).await?;
        self.typing(
            &c,
            TypingWho::Agent {
                id: access.agent.id,
                name: access.agent.name.clone(),
            },
            on,
        );
        Ok(())
    }
}

type CannedInput = (Option<AgentId>, String, Option<Locale>, String, String);

fn canned_input(
    owner: Option<AgentId>,
    shortcut: &str,
    locale: Option<&str>,
    title: &str,
    body: &str,
) -> EngineResult<CannedInput> {
    let shortcut = layan_core::parse_shortcut(shortcut)?;
    let locale = match locale.map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(Locale::from_tag(l).ok_or_else(|| {
            layan_core::InvalidValue::new("invalid_locale", "language must be en, id, th or nl")
        })?),
    };
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 120 {
        return Err(
            layan_core::InvalidValue::new("invalid_title", "a title has 1-120 characters").into(),
        );
    }
    let body = MessageBody::parse(body)?;
    Ok((
        owner,
        shortcut,
        locale,
        title.to_owned(),
        body.into_string(),
    ))
}
