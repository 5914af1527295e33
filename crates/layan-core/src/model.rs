//! Records and the rules between them: what a conversation is, what a message is, how a
//! conversation's status moves, and the events the pipeline emits after it has stored something.

use serde::{Deserialize, Serialize};

use crate::{
    AgentId, AutoAssign, ClientMessageId, ContactId, ConversationId, InboxId, Locale, MessageBody,
    MessageId, Millis, Priority, TeamId, TicketNumber,
};

/// Which way a message goes, and who can see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Incoming,
    /// From an agent to the customer.
    Outgoing,
    /// From the answer bot to the customer.
    Bot,
    /// A private note between agents: never shown to the customer.
    Note,
    /// Something that happened (resolved, reopened…), shown to both sides.
    System,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
            Self::Bot => "bot",
            Self::Note => "note",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "incoming" => Self::Incoming,
            "outgoing" => Self::Outgoing,
            "bot" => Self::Bot,
            "note" => Self::Note,
            "system" => Self::System,
            _ => return None,
        })
    }

    /// Whether the customer may see a message of this direction.
    pub fn visible_to_customer(self) -> bool {
        !matches!(self, Self::Note)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Author {
    Contact(ContactId),
    Agent(AgentId),
    Bot,
    System,
}

impl Author {
    pub fn kind_str(self) -> &'static str {
        match self {
            Self::Contact(_) => "contact",
            Self::Agent(_) => "agent",
            Self::Bot => "bot",
            Self::System => "system",
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            Self::Contact(id) => Some(id.0),
            Self::Agent(id) => Some(id.0),
            Self::Bot | Self::System => None,
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Self> {
        Some(match (kind, id) {
            ("contact", Some(id)) => Self::Contact(ContactId(id)),
            ("agent", Some(id)) => Self::Agent(AgentId(id)),
            ("bot", _) => Self::Bot,
            ("system", _) => Self::System,
            _ => return None,
        })
    }
}

/// The status of a conversation (a ticket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Pending,
    Snoozed,
    Resolved,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "pending" => Self::Pending,
            "snoozed" => Self::Snoozed,
            "resolved" => Self::Resolved,
            "closed" => Self::Closed,
            _ => return None,
        })
    }

    /// The status after the customer writes: anything but closed comes back to the queue as open.
    /// A closed conversation is final; the customer's next message starts a new one (decided by
    /// [`Self::accepts_customer_messages`]).
    pub fn after_customer_message(self) -> Self {
        match self {
            Self::Closed => Self::Closed,
            _ => Self::Open,
        }
    }

    pub fn accepts_customer_messages(self) -> bool {
        self != Self::Closed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: people, teams, inboxes, settings, the audit log.
    Admin,
    /// Sees and works every inbox's conversations and assigns anyone; no settings.
    Supervisor,
    /// Sees and works only the conversations of the inboxes they are a member of.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "supervisor" => Some(Self::Supervisor),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }

    /// Admins and supervisors see every inbox; agents only those they belong to.
    pub fn sees_all_inboxes(self) -> bool {
        matches!(self, Self::Admin | Self::Supervisor)
    }

    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The agent's UI language (`en`, `id`, `th`, `nl`).
    pub locale: Locale,
    /// How many open conversations automatic assignment gives this agent at most.
    pub capacity: i64,
    /// Set by the agent: connected but not taking new conversations.
    pub away: bool,
    pub created_at: Millis,
    /// When an admin deactivated the account (it cannot sign in; its sessions and API tokens
    /// ended); `None`: active.
    pub deactivated_at: Option<Millis>,
}

/// Which kind of channel an inbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    WebWidget,
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebWidget => "web_widget",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web_widget" => Some(Self::WebWidget),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub id: InboxId,
    pub name: String,
    pub channel: ChannelKind,
    /// The public key a shop puts in its widget `<script>` tag. Not a secret: it only names the
    /// inbox a visitor writes to.
    pub widget_key: String,
    /// The greeting the widget shows before anyone has written.
    pub greeting: String,
    /// The colour of the widget's launcher and header, `#rrggbb`.
    pub color: String,
    /// How new conversations get an agent.
    pub auto_assign: AutoAssign,
    /// When an assigned agent goes offline, their open conversations go back to the queue.
    pub reassign_on_offline: bool,
    /// Answer the first customer message at once with the ticket number and expected reply time.
    pub auto_ack: bool,
    /// The reply time the acknowledgement promises, in minutes.
    pub response_minutes: i64,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub locale: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// Agents' notes about the customer.
    pub notes: Option<String>,
    /// Custom attributes: a flat JSON object (`contact::check_attributes`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: serde_json::Value,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub number: TicketNumber,
    pub inbox_id: InboxId,
    pub contact_id: ContactId,
    pub status: ConversationStatus,
    pub assignee_id: Option<AgentId>,
    /// The sequence number of the newest message; 0 when there is none.
    pub last_seq: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_message_at: Millis,
    /// When the customer's oldest unanswered message arrived; `None` when the last word is ours.
    pub waiting_since: Option<Millis>,
    pub priority: Priority,
    pub team_id: Option<TeamId>,
    /// For `snoozed`: when it comes back as open.
    pub snoozed_until: Option<Millis>,
    /// Set when this conversation was merged into another one (it is then closed).
    pub merged_into_id: Option<ConversationId>,
    /// The sequence number of the customer's newest message (for unread marks).
    pub last_incoming_seq: i64,
}

/// A conversation as the agents' list shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSummary {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub inbox_name: String,
    pub assignee_name: Option<String>,
    pub team_name: Option<String>,
    pub labels: Vec<String>,
    /// The newest message a person wrote (customer, agent or note; automatic and system
    /// messages are left out so the list shows what the conversation is about).
    pub last_message: Option<Message>,
    /// The last sequence number the asking agent has read; only in lists made for one agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// Position in the conversation, from 1, without gaps. Clients resume from the last one they saw.
    pub seq: i64,
    pub direction: Direction,
    pub author: Author,
    /// The author's display name at the time of writing.
    pub author_name: Option<String>,
    pub body: String,
    pub client_message_id: Option<String>,
    pub created_at: Millis,
    /// What the bot added to its message: quick replies, links, and (for agents) why it said it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras: Option<MessageExtras>,
}

/// A link the bot offers (a help-center article, a product, a tracking page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageLink {
    pub title: String,
    pub url: String,
}

/// The bot's reasons, for agents only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotTrace {
    /// The intent it recognised (`track_order`, …, `out_of_scope`).
    pub intent: String,
    /// 0–1.
    pub confidence: f32,
    /// The language it answered in.
    pub language: Locale,
    /// Set when the bot handed the conversation to a person: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<String>,
    /// The answer was written by the shop's language model from these sources.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated: bool,
}

/// Extra parts of a bot message, stored with it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageExtras {
    /// Quick replies: tapping one sends its words as the shopper's message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<MessageLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotTrace>,
    /// Files that came with the message but were not kept (over the size limit): named to the
    /// agent, so nothing disappears silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files_not_kept: Vec<FileNotKept>,
    /// What a system message or note records, for agents' screens to say in their language
    /// (the body holds the English text).
    /// Boxed: rare, and it would make every message larger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Box<EventNote>>,
}

/// A recorded event: its kind (`mail_answers_other_ticket`, …) and what it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventNote {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A file received and not kept: its name and size in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileNotKept {
    pub name: String,
    pub size: u64,
}

/// Where an inbound or outbound message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An existing conversation.
    Conversation(ConversationId),
    /// The contact's current conversation in the inbox (reopened if resolved), or a new one when
    /// there is none or it is closed.
    CurrentOrNew {
        inbox_id: InboxId,
        contact_id: ContactId,
    },
    /// Always a new conversation (a new email that threads into none).
    New {
        inbox_id: InboxId,
        contact_id: ContactId,
    },
}

/// The one shape every channel turns what it receives into, and every agent reply too: the
/// pipeline stores it, then emits [`Event::MessageCreated`].
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub target: Target,
    pub direction: Direction,
    pub author: Author,
    pub author_name: Option<String>,
    pub body: MessageBody,
    pub client_message_id: Option<ClientMessageId>,
    /// Queue the automations that follow a customer message (acknowledgement, routing) as a job
    /// in the same transaction, so a crash after the commit cannot lose them.
    pub automations: bool,
    /// Files the author uploaded to this conversation beforehand (agents' email replies),
    /// attached in the same transaction; one that is not theirs, not in this conversation or
    /// already attached makes the whole message fail.
    pub attachments: Vec<i64>,
    /// The bot's quick replies, links and reasons (bot messages only).
    pub extras: Option<MessageExtras>,
}

/// A customer's language preference, as far as we know it.
pub fn preferred_locale(contact: &Contact) -> Locale {
    contact
        .locale
        .as_deref()
        .and_then(Locale::from_tag)
        .unwrap_or(Locale::En)
}

/// What happened, after it was stored. Realtime fan-out, and later bot, rules, routing and SLA
/// timers, react to these.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A message was stored. `conversation` is the conversation as it is after the message.
    MessageCreated {
        conversation: Box<ConversationSummary>,
        message: Message,
    },
    /// A conversation changed (status, assignee) without a new message.
    ConversationUpdated {
        conversation: Box<ConversationSummary>,
    },
    /// Someone is typing (not stored).
    Typing {
        conversation_id: ConversationId,
        inbox_id: InboxId,
        contact_id: ContactId,
        who: TypingWho,
        on: bool,
    },
    /// The number of agents online changed.
    Presence { agents_online: usize },
    /// An agent opened or left a conversation (collision warnings; not stored).
    Viewing {
        conversation_id: ConversationId,
        inbox_id: InboxId,
        agent_id: AgentId,
        agent_name: String,
        on: bool,
    },
    /// Something for one agent: a mention in a note, a conversation assigned to them.
    Notification { notification: Notification },
    /// The agent's role, inboxes or account changed: live connections re-read what they may see
    /// (or close, when the account's sessions ended).
    AccessChanged { agent_id: AgentId },
    /// Contact `from` was merged into `into`: its live widget connections reconnect as `into`.
    ContactMerged { from: ContactId, into: ContactId },
}

/// A notification for one agent (stored; shown until read).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: i64,
    pub agent_id: AgentId,
    /// `mention` or `assigned`.
    pub kind: String,
    pub conversation_id: ConversationId,
    pub conversation_number: TicketNumber,
    /// Who caused it, e.g. the note's author.
    pub actor_name: Option<String>,
    /// A short excerpt (the note's text).
    pub excerpt: String,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypingWho {
    Contact,
    Agent { id: AgentId, name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_message_reopens_all_but_closed() {
        use ConversationStatus::*;
        for s in [Open, Pending, Snoozed, Resolved] {
            assert_eq!(s.after_customer_message(), Open);
            assert!(s.accepts_customer_messages());
        }
        assert!(!Closed.accepts_customer_messages());
    }

    #[test]
    fn notes_are_private() {
        assert!(!Direction::Note.visible_to_customer());
        assert!(Direction::Outgoing.visible_to_customer());
        for d in ["incoming", "outgoing", "bot", "note", "system"] {
            assert_eq!(Direction::parse(d).map(Direction::as_str), Some(d));
        }
    }

    #[test]
    fn author_round_trips() {
        let a = Author::Agent(AgentId(7));
        assert_eq!(Author::from_parts(a.kind_str(), a.id()), Some(a));
        assert_eq!(Author::from_parts("contact", None), None);
    }
}
