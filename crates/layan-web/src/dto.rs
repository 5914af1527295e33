//! JSON shapes of the API that are not domain types: request bodies, and what a widget visitor may
//! see (never another customer's data, never agents' private notes).

use layan_core::{Conversation, ConversationStatus, Direction, Message, Millis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct WidgetSessionRequest {
    /// The inbox key from the `<script>` tag.
    pub key: String,
    /// The visitor token from an earlier session, if the browser kept one.
    #[serde(default)]
    pub token: Option<String>,
    /// The page's or browser's language (BCP 47), remembered for new visitors.
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetSession {
    /// Keep this secret in the browser: it is the visitor's identity. Same as sent when it was valid.
    pub token: String,
    pub inbox: WidgetInbox,
    pub agents_online: usize,
    /// The visitor's current conversation, if any.
    pub conversation: Option<WidgetConversation>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetInbox {
    pub name: String,
    pub greeting: String,
    pub color: String,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetConversation {
    pub id: i64,
    /// The ticket number, e.g. 1042 (shown as #1042).
    pub number: i64,
    pub status: ConversationStatus,
    pub last_seq: i64,
}

impl From<&Conversation> for WidgetConversation {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.0,
            number: c.number.0,
            status: c.status,
            last_seq: c.last_seq,
        }
    }
}

/// A message as the shopper sees it.
#[derive(Serialize, ToSchema)]
pub struct WidgetMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub seq: i64,
    /// `incoming` (the shopper), `outgoing` (a person), `bot`, or `system`.
    pub direction: Direction,
    /// The agent's name for `outgoing`; absent otherwise.
    pub author_name: Option<String>,
    pub body: String,
    /// Echoed for the shopper's own messages so the widget can match its pending bubble.
    pub client_message_id: Option<String>,
    pub created_at: Millis,
}

impl WidgetMessage {
    /// `None` for messages the shopper must not see.
    pub fn from_message(m: &Message) -> Option<Self> {
        m.direction.visible_to_customer().then(|| Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            seq: m.seq,
            direction: m.direction,
            author_name: match m.direction {
                Direction::Outgoing | Direction::Bot => m.author_name.clone(),
                _ => None,
            },
            body: m.body.clone(),
            client_message_id: match m.direction {
                Direction::Incoming => m.client_message_id.clone(),
                _ => None,
            },
            created_at: m.created_at,
        })
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SendMessage {
    /// The text, 1–10,000 characters.
    pub body: String,
    /// An id the client chooses (a UUID) so that a retry is not stored twice.
    #[serde(default)]
    pub client_message_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetSent {
    pub message: WidgetMessage,
    pub conversation: WidgetConversation,
    /// True when this retry matched a message already stored.
    pub duplicate: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct OfflineMessage {
    pub name: String,
    pub email: String,
    pub body: String,
    #[serde(default)]
    pub client_message_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct AgentReply {
    pub body: String,
    #[serde(default)]
    pub client_message_id: Option<String>,
    /// A private note for colleagues instead of a reply.
    #[serde(default)]
    pub private: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AgentSent {
    pub message: Message,
    pub duplicate: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct StatusChange {
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
pub struct AssigneeChange {
    /// The agent to assign, or null to unassign.
    pub agent_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct InboxUpdate {
    pub name: Option<String>,
    pub greeting: Option<String>,
    /// `#rrggbb`
    pub color: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub agent: layan_core::Agent,
    pub agents_online: usize,
}
