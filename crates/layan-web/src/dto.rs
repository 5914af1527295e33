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
    /// The signed-in shopper, vouched for by the shop: a JWT (HS256, `widget_identity_secret`)
    /// with `email`, optional `name`, and `exp`. 401 `invalid_identity` when it does not verify.
    #[serde(default)]
    pub identity: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetSession {
    /// Keep this secret in the browser: it is the visitor's identity. Same as sent when it was valid.
    pub token: String,
    pub inbox: WidgetInbox,
    pub agents_online: usize,
    /// The visitor's current conversation, if any.
    pub conversation: Option<WidgetConversation>,
    /// The token is new but the shopper is the same (a signed-in session renewed with a fresh
    /// identity after the last one expired): messages not yet sent are still theirs.
    pub renewed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetInbox {
    pub name: String,
    pub greeting: String,
    pub color: String,
    /// The answer bot's name when it answers here (the widget then shows "Talk to a person").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
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
    /// The bot's quick replies: tapping one sends its words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    /// The bot's links (help-center paths are relative to the Layan server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<layan_core::MessageLink>,
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
            // Only the shopper-facing parts: the bot's reasons stay with the agents.
            buttons: m
                .extras
                .as_ref()
                .map(|e| e.buttons.clone())
                .unwrap_or_default(),
            links: m
                .extras
                .as_ref()
                .map(|e| e.links.clone())
                .unwrap_or_default(),
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
    /// Files uploaded to this conversation first (`POST …/attachments`); an email reply carries
    /// them. 409 `attachment_unavailable` when one is not the agent's own unsent upload here.
    #[serde(default)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentSent {
    pub message: Message,
    pub duplicate: bool,
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
    /// `none`, `round_robin` or `least_loaded`.
    pub auto_assign: Option<String>,
    /// Put an agent's open conversations back in the queue when they go offline.
    pub reassign_on_offline: Option<bool>,
    /// Acknowledge a new conversation's first message with the ticket number.
    pub auto_ack: Option<bool>,
    /// The reply time the acknowledgement promises (1–10080 minutes).
    pub response_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub agent: layan_core::Agent,
    pub agents_online: usize,
}

#[derive(Deserialize, ToSchema)]
pub struct StatusChangeRequest {
    /// `open`, `pending`, `snoozed`, `resolved` or `closed`.
    pub status: String,
    /// For `snoozed`: when it opens again (milliseconds since the epoch, in the future).
    #[serde(default)]
    pub until: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct TeamChange {
    /// The team, or null for none.
    pub team_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct PriorityChange {
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LabelRequest {
    pub label: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The conversation that survives; this one is closed and points to it.
    pub into: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct ReadRequest {
    /// The sequence number read up to.
    pub seq: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct BulkRequest {
    /// 1–100 conversation ids.
    pub ids: Vec<i64>,
    /// `assign`, `label`, `resolve`, `status` or `priority`.
    pub action: String,
    /// For `assign`: the agent (null unassigns).
    #[serde(default)]
    pub agent_id: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub done: Vec<i64>,
    pub failed: Vec<BulkFailure>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkFailure {
    pub id: i64,
    pub code: String,
}

/// An agent as colleagues see them, with presence.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    #[serde(flatten)]
    pub agent: layan_core::Agent,
    /// `online`, `away` or `offline`.
    #[schema(value_type = String)]
    pub presence: layan_engine::Presence,
    pub inbox_ids: Vec<i64>,
    pub team_ids: Vec<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewAgentRequest {
    pub email: String,
    pub name: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    pub password: String,
    /// Inboxes the agent works.
    #[serde(default)]
    pub inbox_ids: Vec<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    /// `en`, `id`, `th` or `nl`.
    pub locale: Option<String>,
    pub capacity: Option<i64>,
    pub away: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordReset {
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MembersRequest {
    pub agent_ids: Vec<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewTeamRequest {
    pub name: String,
    #[serde(default)]
    pub agent_ids: Vec<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewTokenRequest {
    pub name: String,
    /// Keep the token working when the owner changes their password (an integration's
    /// token); needs `current_password`. An admin's password reset and a deactivation end
    /// every token.
    #[serde(default)]
    pub survives_password_change: bool,
    /// The owner's current password (only with `survives_password_change`).
    #[serde(default)]
    pub current_password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ActiveRequest {
    pub active: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NewToken {
    /// Shown once: keep it safe. Send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: layan_core::ApiTokenInfo,
}

#[derive(Deserialize, ToSchema)]
pub struct CannedRequest {
    pub shortcut: String,
    /// `en`, `id`, `th`, `nl`, or absent for the default variant.
    #[serde(default)]
    pub locale: Option<String>,
    pub title: String,
    pub body: String,
    /// Shared with every agent (supervisors and admins only); otherwise personal.
    #[serde(default)]
    pub shared: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RenderedCanned {
    pub canned: layan_core::CannedResponse,
    /// The text with variables filled in. Plain text: insert it as text.
    pub text: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NotificationRead {
    /// One notification, or absent for all.
    #[serde(default)]
    pub id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LabelCount {
    pub label: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub summary: layan_core::ConversationSummary,
    /// Ticket numbers and ids merged into this conversation.
    pub merged_from: Vec<MergedRef>,
    /// The ticket number this one was merged into.
    pub merged_into_number: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MergedRef {
    pub id: i64,
    pub number: i64,
}
