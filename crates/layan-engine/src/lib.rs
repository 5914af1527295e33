//! Layan's engine: the one pipeline every message goes through (store first, then emit an event),
//! agent authentication, widget visitors and agent presence. It knows storage and the hub, not HTTP.

pub mod auth;
pub mod bot;
pub mod contacts;
pub mod email;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod kb;
mod llm;
pub mod orders;
pub mod outbound;
pub mod proactive;
pub mod products;
mod relay;
pub mod search;
pub mod secrets;
pub mod security;
pub mod store_api;
pub mod workspace;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use layan_core::{
    Agent, AgentId, Author, ClientMessageId, Contact, ContactId, Conversation, ConversationId,
    ConversationSummary, Direction, EmailAddress, Event, Inbox, InvalidValue, Message, MessageBody,
    Millis, NewMessage, NewPassword, PersonName, Role, Target, TypingWho, now_millis,
};
use layan_store::{
    Appended, ConversationChanges, NewAgent, NewContact, SessionRecord, Store, StoreError,
};

pub use hub::{Hub, Subscription, Topic};
pub use workspace::{Access, NewAccount, Presence};

/// The identity kind under which a widget visitor's token hash is stored.
pub const WIDGET_VISITOR: &str = "widget_visitor";

/// How long an agent stays logged in without logging in again.
pub const SESSION_LIFETIME_MS: Millis = 14 * 24 * 60 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The agent's role does not allow this (used only where the thing itself is visible).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Too many failed logins for this email: locked until then.
    #[error("locked")]
    Locked { until: Millis },
    /// Too many failed logins from this address.
    #[error("rate limited")]
    RateLimited { retry_after_s: u64 },
    /// The database cannot be reached; nothing was written.
    #[error("database unavailable")]
    Unavailable,
    /// A signed-in widget session whose identity has expired: the page gives a fresh one.
    #[error("identity expired")]
    IdentityExpired,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
    /// The shop's store (or another outside service) refused or failed; its words.
    #[error("{0}")]
    Upstream(String),
    /// An outside server (mail, the store's API) could not be reached or used.
    #[error("{0}")]
    Net(outbound::NetError),
}

impl From<secrets::SecretError> for EngineError {
    fn from(e: secrets::SecretError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(c) => Self::Conflict(c),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            other => Self::Store(other),
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

type ViewerMap = HashMap<ConversationId, HashMap<AgentId, (String, i64)>>;

/// A logged-in agent, as handlers see them.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub agent: Agent,
    pub csrf_token: String,
}

/// What the browser keeps after a login.
pub struct Login {
    pub agent: Agent,
    pub token: String,
    pub csrf_token: String,
    pub expires_at: Millis,
}

/// A widget visitor after the handshake.
pub struct Visitor {
    pub inbox: Inbox,
    pub contact: Contact,
    /// Present when a new visitor was created: the browser must keep it.
    pub new_token: Option<String>,
    pub conversation: Option<Conversation>,
    /// The new token continues the same shopper's session (a signed-in session renewed with a
    /// fresh identity): what the browser had not sent yet is still theirs.
    pub renewed: bool,
}

#[derive(Clone)]
pub struct Engine {
    store: Store,
    hub: Hub,
    /// Agents with live connections on this node, and how many each has.
    presence: Arc<Mutex<HashMap<AgentId, usize>>>,
    /// Agents online on other nodes (multi-node only).
    remote_presence: Arc<Mutex<relay::RemotePresence>>,
    /// The agents-online count last told to widgets.
    presence_published: Arc<std::sync::atomic::AtomicUsize>,
    /// This node's id in relayed notifications.
    node: u64,
    /// Where events for the other nodes go, once [`Engine::start_relay`] found a database that
    /// relays between nodes (see `relay.rs`).
    relay_out: Option<tokio::sync::mpsc::Sender<String>>,
    /// Messages stored through this engine (for metrics).
    stored: Arc<std::sync::atomic::AtomicU64>,
    /// Wakes this node's job worker when something was enqueued here.
    jobs_wake: Arc<tokio::sync::Notify>,
    /// Job attempts that failed (for metrics).
    job_failures: Arc<std::sync::atomic::AtomicU64>,
    /// Agents viewing each conversation (from this node and relayed), with a count per agent.
    viewers: Arc<Mutex<ViewerMap>>,
    /// Failed logins per IP address on this node.
    ip_failures: Arc<Mutex<security::IpFailures>>,
    /// How long an agent may be disconnected before they count as gone offline (a page reload
    /// is not going offline).
    offline_grace: std::time::Duration,
    /// The help-center index (in memory; rebuilt at start-up, kept current on every change).
    articles: Arc<layan_search::ArticleIndex>,
    /// The conversation search index and its indexer's state.
    messages: Arc<layan_search::MessageIndex>,
    index_wake: Arc<tokio::sync::Notify>,
    indexer: Arc<tokio::sync::Mutex<()>>,
    indexer_state: Arc<Mutex<search::IndexerState>>,
    /// The shop's Shopify Admin API, for order actions; `None`: not connected.
    shopify_admin: Option<store_api::ShopifyAdmin>,
    /// Extra certificate authorities (PEM) trusted for mail servers, besides the public ones.
    mail_ca: Option<Arc<Vec<u8>>>,
    /// Which non-public hosts outbound connections may reach, and the HTTP client (the
    /// language model) that resolves through it.
    outbound: outbound::OutboundPolicy,
    http: reqwest::Client,
    /// Seals the secrets stored in the database (see `secrets`).
    secrets: Arc<secrets::SecretBox>,
    /// The bot's classifier for the current training phrases.
    bot_cache: Arc<Mutex<bot::BotCache>>,
    /// One bot turn at a time per conversation on this node (jobs run concurrently).
    bot_turns: Arc<Mutex<HashMap<ConversationId, Arc<tokio::sync::Mutex<()>>>>>,
}

/// The longest an HTTP request to an outside service may take (each request may set less).
const OUTBOUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Engine {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            hub: Hub::new(),
            presence: Arc::default(),
            remote_presence: Arc::default(),
            presence_published: Arc::default(),
            node: rand::random(),
            relay_out: None,
            stored: Arc::default(),
            ip_failures: Arc::default(),
            viewers: Arc::default(),
            jobs_wake: Arc::default(),
            job_failures: Arc::default(),
            offline_grace: std::time::Duration::from_secs(60),
            // Creating an empty in-memory index fails only on a schema bug, caught by every test.
            articles: Arc::new(
                layan_search::ArticleIndex::new().expect("the in-memory help-center index"),
            ),
            messages: Arc::new(
                layan_search::MessageIndex::in_memory().expect("the in-memory message index"),
            ),
            index_wake: Arc::default(),
            indexer: Arc::default(),
            indexer_state: Arc::default(),
            shopify_admin: None,
            mail_ca: None,
            outbound: outbound::OutboundPolicy::public_only(),
            http: outbound::OutboundPolicy::public_only().http_client(OUTBOUND_TIMEOUT),
            secrets: Arc::new(secrets::SecretBox::ephemeral()),
            bot_cache: Arc::default(),
            bot_turns: Arc::default(),
        }
    }

    /// Sets which non-public hosts (loopback, private networks) outbound connections may reach;
    /// by default none.
    pub fn with_outbound(mut self, policy: outbound::OutboundPolicy) -> Self {
        self.http = policy.http_client(OUTBOUND_TIMEOUT);
        self.outbound = policy;
        self
    }

    /// Seals stored secrets with these keys (by default a key held in memory only).
    pub fn with_secrets(mut self, secrets: Arc<secrets::SecretBox>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The keys stored secrets are sealed with.
    pub fn secrets(&self) -> &Arc<secrets::SecretBox> {
        &self.secrets
    }

    /// The outbound policy (for clients built outside the engine).
    pub fn outbound(&self) -> &outbound::OutboundPolicy {
        &self.outbound
    }

    /// Sets how long an agent may be disconnected before their conversations are released
    /// (in inboxes that ask for it). Default 60 s.
    pub fn with_offline_grace(mut self, grace: std::time::Duration) -> Self {
        self.offline_grace = grace;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Job attempts that failed on this node since it started.
    pub fn job_failures(&self) -> u64 {
        self.job_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many messages this node has stored since it started.
    pub fn messages_stored(&self) -> u64 {
        self.stored.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    // ---- agents ----------------------------------------------------------------------------

    /// Creates an agent account. Used by the first-run page, the `layan agent create` command and
    /// the demo.
    pub async fn create_agent(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> EngineResult<Agent> {
        let email = EmailAddress::parse(email)?;
        let name = PersonName::parse(name)?;
        let password = NewPassword::parse(password)?;
        let hash = hash_blocking(password).await?;
        Ok(self
            .store
            .create_agent(NewAgent {
                email: &email.normalized(),
                name: name.as_str(),
                role,
                password_hash: &hash,
            })
            .await?)
    }

    /// The agent behind a session cookie, if the session is live.
    pub async fn authenticate(&self, token: &str) -> EngineResult<Option<AgentSession>> {
        let record = self
            .store
            .session(&auth::token_hash(token), now_millis())
            .await?;
        Ok(record.map(|SessionRecord { agent, csrf_token }| AgentSession { agent, csrf_token }))
    }

    /// Ends a session; its live sockets (on every node) close at once.
    pub async fn logout(&self, token: &str) -> EngineResult<()> {
        let session = self.authenticate(token).await?;
        self.store.delete_session(&auth::token_hash(token)).await?;
        if let Some(s) = session {
            self.access_changed(s.agent.id);
        }
        Ok(())
    }

    // ---- presence --------------------------------------------------------------------------

    /// Marks the agent online for as long as the returned guard lives (one per open connection).
    pub fn agent_online(&self, agent: AgentId) -> PresenceGuard {
        let changed = {
            let mut map = lock(&self.presence);
            let n = map.entry(agent).or_insert(0);
            *n += 1;
            *n == 1
        };
        if changed {
            self.relay_presence();
            self.refresh_presence();
            let engine = self.clone();
            tokio::spawn(async move { engine.route_waiting_for(agent).await });
        }
        PresenceGuard {
            engine: self.clone(),
            agent,
        }
    }

    /// How many agents have at least one live connection, on any node.
    pub fn agents_online(&self) -> usize {
        self.online_agents().len()
    }

    /// Tells widgets the number of agents online when it changed.
    pub(crate) fn refresh_presence(&self) {
        use std::sync::atomic::Ordering;
        let agents_online = self.agents_online();
        if self
            .presence_published
            .swap(agents_online, Ordering::AcqRel)
            != agents_online
        {
            self.hub
                .publish(Topic::Visitors, Arc::new(Event::Presence { agents_online }));
        }
    }

    // ---- widget visitors -------------------------------------------------------------------

    /// Recognises a returning visitor by their token, or creates a new anonymous contact.
    pub async fn widget_visitor(
        &self,
        widget_key: &str,
        token: Option<&str>,
        locale: Option<&str>,
        identity: Option<&identity::ShopperIdentity>,
    ) -> EngineResult<Visitor> {
        let inbox = self
            .store
            .inbox_by_widget_key(widget_key)
            .await?
            .filter(Self::is_widget_inbox)
            .ok_or(EngineError::NotFound)?;
        let known = match token {
            Some(t) if !t.is_empty() => self.visitor_contact(t).await?,
            _ => None,
        };
        // A signed-in session's token, in case this request leaves it (signed out, someone
        // else signed in, or its identity expired): it is revoked, so it never opens her
        // conversations again.
        let identified_before = known
            .as_ref()
            .filter(|(_, identified)| *identified)
            .map(|(c, _)| c.id);
        let expired = identified_before.is_some()
            && token.is_none_or(|t| Self::identity_expired(t, layan_core::now_millis() / 1000));
        // A contact created just now has no conversation yet (no need to look).
        let mut fresh = false;
        let mut renewed = false;
        let (contact, new_token) = match (identity, known) {
            // The same signed-in shopper again, within the session's time.
            (Some(who), Some((c, true))) if !expired && self.is_identified_as(&c, who).await? => {
                (c, None)
            }
            // Signed in (now, again after the session expired, or as someone else): a token
            // for that customer, ending when this identity does.
            (Some(who), before) => {
                let id = self
                    .contact_for_email(&who.email, who.name.as_deref())
                    .await?;
                renewed = before.is_some_and(|(c, identified)| identified && c.id == id);
                let token = identity::session_token(who.expires_at);
                self.store
                    .add_contact_identity(
                        id,
                        identity::WIDGET_IDENTIFIED,
                        &auth::token_hash(&token),
                    )
                    .await?;
                let c = self.store.contact(id).await?.ok_or(EngineError::NotFound)?;
                (c, Some(token))
            }
            // Anonymous, as before.
            (None, Some((c, false))) => (c, None),
            // New, signed out, or the signed-in session expired: a fresh anonymous visitor.
            (None, _) => {
                let token = auth::random_token();
                let locale = locale
                    .and_then(layan_core::Locale::from_tag)
                    .map(|l| l.as_str());
                let contact = self
                    .store
                    .create_contact_with_identity(
                        NewContact {
                            locale,
                            ..NewContact::default()
                        },
                        WIDGET_VISITOR,
                        &auth::token_hash(&token),
                    )
                    .await?;
                fresh = true;
                (contact, Some(token))
            }
        };
        if let (Some(before), Some(_), Some(old)) = (identified_before, &new_token, token) {
            self.store
                .remove_identity(before, identity::WIDGET_IDENTIFIED, &auth::token_hash(old))
                .await?;
        }
        let conversation = if fresh {
            None
        } else {
            self.store
                .current_conversation(inbox.id, contact.id)
                .await?
        };
        Ok(Visitor {
            inbox,
            contact,
            new_token,
            conversation,
            renewed,
        })
    }

    /// The contact behind a visitor token, and whether a signed identity vouched for it.
    async fn visitor_contact(&self, token: &str) -> EngineResult<Option<(Contact, bool)>> {
        let hash = auth::token_hash(token);
        if let Some(c) = self
            .store
            .contact_by_identity(WIDGET_VISITOR, &hash)
            .await?
        {
            return Ok(Some((c, false)));
        }
        Ok(self
            .store
            .contact_by_identity(identity::WIDGET_IDENTIFIED, &hash)
            .await?
            .map(|c| (c, true)))
    }

    /// Whether the contact is the verified owner of the identity's email.
    async fn is_identified_as(
        &self,
        contact: &Contact,
        who: &identity::ShopperIdentity,
    ) -> EngineResult<bool> {
        Ok(self
            .store
            .contact_by_identity(identity::EMAIL, &who.email)
            .await?
            .is_some_and(|c| c.id == contact.id))
    }

    /// The contact behind a visitor token, for a given inbox key.
    pub async fn visitor_by_token(
        &self,
        widget_key: &str,
        token: &str,
    ) -> EngineResult<(Inbox, Contact)> {
        let inbox = self
            .store
            .inbox_by_widget_key(widget_key)
            .await?
            .filter(Self::is_widget_inbox)
            .ok_or(EngineError::NotFound)?;
        let (contact, identified) = self
            .visitor_contact(token)
            .await?
            .ok_or(EngineError::NotFound)?;
        if identified && Self::identity_expired(token, layan_core::now_millis() / 1000) {
            return Err(EngineError::IdentityExpired);
        }
        Ok((inbox, contact))
    }

    /// Whether a signed-in session's token has passed its identity's expiry at `now`.
    fn identity_expired(token: &str, now: i64) -> bool {
        identity::session_expiry(token).is_none_or(|exp| exp <= now)
    }

    /// A message from the shopper in the widget: into their current conversation (reopened if
    /// resolved) or a new one.
    pub async fn visitor_message(
        &self,
        inbox: &Inbox,
        contact: &Contact,
        body: &str,
        client_message_id: Option<&str>,
    ) -> EngineResult<Appended> {
        let message = NewMessage {
            target: Target::CurrentOrNew {
                inbox_id: inbox.id,
                contact_id: contact.id,
            },
            direction: Direction::Incoming,
            author: Author::Contact(contact.id),
            author_name: contact.name.clone(),
            body: MessageBody::parse(body)?,
            client_message_id: client_message_id.map(ClientMessageId::parse).transpose()?,
            // Acknowledgement and routing: a job committed with the message.
            automations: true,
            attachments: Vec::new(),
            extras: None,
        };
        let appended = self.ingest(message).await?;
        if !appended.duplicate {
            self.jobs_wake.notify_one();
        }
        Ok(appended)
    }

    /// "Leave a message" when no agent is online: remembers the shopper's name and email, then
    /// stores the message like any other.
    pub async fn offline_message(
        &self,
        inbox: &Inbox,
        contact: &Contact,
        name: &str,
        email: &str,
        body: &str,
        client_message_id: Option<&str>,
    ) -> EngineResult<Appended> {
        let name = PersonName::parse(name)?;
        let email = EmailAddress::parse(email)?;
        // Check the body before touching the contact, so bad input changes nothing.
        MessageBody::parse(body)?;
        let contact = self
            .store
            .update_contact(
                contact.id,
                NewContact {
                    name: Some(name.as_str()),
                    email: Some(email.as_str()),
                    locale: None,
                },
            )
            .await?;
        self.visitor_message(inbox, &contact, body, client_message_id)
            .await
    }

    /// The shopper (or an agent) is typing. Not stored; dropped when nobody listens.
    pub fn typing(&self, conversation: &Conversation, who: TypingWho, on: bool) {
        self.relay(relay::Relayed::Typing {
            node: self.node,
            conversation_id: conversation.id.0,
            agent: match &who {
                TypingWho::Agent { id, name } => Some((id.0, name.clone())),
                TypingWho::Contact => None,
            },
            on,
        });
        self.publish_typing(conversation, who, on);
    }

    fn publish_typing(&self, conversation: &Conversation, who: TypingWho, on: bool) {
        let event = Arc::new(Event::Typing {
            conversation_id: conversation.id,
            inbox_id: conversation.inbox_id,
            contact_id: conversation.contact_id,
            who: who.clone(),
            on,
        });
        match who {
            TypingWho::Contact => self.hub.publish(Topic::Inbox(conversation.inbox_id), event),
            TypingWho::Agent { .. } => {
                self.hub
                    .publish(Topic::Inbox(conversation.inbox_id), Arc::clone(&event));
                self.hub
                    .publish(Topic::Contact(conversation.contact_id), event);
            }
        }
    }

    // ---- agents working conversations ------------------------------------------------------

    /// An agent's reply (or private note when `note`). An unassigned conversation is assigned to
    /// the agent who first answers it; @mentions in a note notify the agents named.
    pub async fn agent_message(
        &self,
        access: &Access,
        conversation_id: ConversationId,
        body: &str,
        client_message_id: Option<&str>,
        note: bool,
    ) -> EngineResult<Appended> {
        self.agent_message_with(access, conversation_id, body, client_message_id, note, &[])
            .await
    }

    /// As [`Engine::agent_message`], carrying files the agent uploaded to the conversation
    /// (`upload_attachment`); they go out with an email reply.
    pub async fn agent_message_with(
        &self,
        access: &Access,
        conversation_id: ConversationId,
        body: &str,
        client_message_id: Option<&str>,
        note: bool,
        attachments: &[i64],
    ) -> EngineResult<Appended> {
        let body = MessageBody::parse(body)?;
        let client_message_id = client_message_id.map(ClientMessageId::parse).transpose()?;
        let conversation = self.conversation_for(access, conversation_id).await?;
        let agent = &access.agent;
        let appended = self
            .ingest(NewMessage {
                target: Target::Conversation(conversation_id),
                direction: if note {
                    Direction::Note
                } else {
                    Direction::Outgoing
                },
                author: Author::Agent(agent.id),
                author_name: Some(agent.name.clone()),
                body,
                client_message_id,
                automations: false,
                attachments: attachments.to_vec(),
                extras: None,
            })
            .await?;
        if appended.duplicate {
            return Ok(appended);
        }
        if note {
            self.notify_mentions(agent, &conversation, &appended.message.body)
                .await?;
        } else if appended.conversation.assignee_id.is_none() {
            self.change_conversation(
                conversation_id,
                ConversationChanges {
                    assignee: Some(Some(agent.id)),
                    ..ConversationChanges::default()
                },
            )
            .await?;
        }
        let _ = self
            .store
            .mark_read(agent.id, conversation_id, appended.message.seq)
            .await;
        Ok(appended)
    }

    async fn change_conversation(
        &self,
        id: ConversationId,
        changes: ConversationChanges,
    ) -> EngineResult<Conversation> {
        let updated = self.store.update_conversation(id, &changes).await?;
        self.publish_conversation(id).await?;
        Ok(updated)
    }

    /// The one pipeline: persist, then tell whoever listens. A retried send (same author and
    /// client message id) returns the stored message and emits nothing new.
    pub async fn ingest(&self, message: NewMessage) -> EngineResult<Appended> {
        let appended = self.store.append_message(&message).await?;
        if appended.duplicate {
            return Ok(appended);
        }
        self.stored
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.index_wake.notify_one();
        let summary = self
            .store
            .conversation_summary(appended.conversation.id)
            .await;
        Ok(self.announce(appended, summary))
    }

    /// After a message committed: publishes it with its conversation's summary and tells the
    /// other nodes. The message is stored whatever happens here, so the caller is told so: a
    /// summary that cannot be read (the pool closing at shutdown, the database gone a moment
    /// after the commit) is logged, and live screens catch up from the database by sequence
    /// number (the pointer still goes to the other nodes).
    fn announce(
        &self,
        appended: Appended,
        summary: layan_store::StoreResult<Option<ConversationSummary>>,
    ) -> Appended {
        match summary {
            Ok(Some(s)) => self.publish_message(s, &appended.message),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                error = %e,
                message = appended.message.id.0,
                "a stored message could not be published; screens catch up from the database"
            ),
        }
        self.relay(relay::Relayed::Message {
            node: self.node,
            conversation_id: appended.message.conversation_id.0,
            seq: appended.message.seq,
        });
        appended
    }

    /// Publishes a stored message on this node's hub.
    fn publish_message(&self, summary: ConversationSummary, message: &Message) {
        let (inbox, contact) = (
            summary.conversation.inbox_id,
            summary.conversation.contact_id,
        );
        let event = Arc::new(Event::MessageCreated {
            conversation: Box::new(summary),
            message: message.clone(),
        });
        if message.direction.visible_to_customer() {
            self.hub
                .publish(Topic::Contact(contact), Arc::clone(&event));
        }
        self.hub.publish(Topic::Inbox(inbox), event);
    }

    /// The conversation if it belongs to this contact; otherwise `NotFound` (never "forbidden":
    /// a visitor must not learn that someone else's conversation exists).
    pub async fn visitor_conversation(
        &self,
        contact: ContactId,
        id: ConversationId,
    ) -> EngineResult<Conversation> {
        match self.store.conversation(id).await? {
            Some(c) if c.contact_id == contact => Ok(c),
            _ => Err(EngineError::NotFound),
        }
    }
}

/// Keeps an agent counted as online; dropping the last one for an agent makes them offline.
pub struct PresenceGuard {
    engine: Engine,
    agent: AgentId,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let changed = {
            let mut map = lock(&self.engine.presence);
            match map.get_mut(&self.agent) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    map.remove(&self.agent);
                    true
                }
                None => false,
            }
        };
        if changed {
            self.engine.relay_presence();
            self.engine.refresh_presence();
            self.engine.agent_went_offline(self.agent);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Checks a password off the async threads (argon2 takes tens of milliseconds on purpose).
async fn verify_blocking(password: &str, hash: String) -> EngineResult<bool> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))
}

async fn hash_blocking(password: NewPassword) -> EngineResult<String> {
    blocking(move || auth::hash_password(password.expose())).await
}

/// Runs CPU-bound or blocking work (hashing, index writes and searches) off the async threads;
/// its failure, or a panic in it, is an internal error.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> EngineResult<T>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| EngineError::Internal(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use layan_store::{DatabaseConfig, SqliteOptions, Store};

    use crate::Engine;

    /// An engine on a fresh SQLite file (keep the directory for the test's length).
    pub(crate) async fn sqlite_engine() -> (tempfile::TempDir, Store, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseConfig::Sqlite(SqliteOptions::new(
            dir.path().join("layan.db"),
        )))
        .await
        .unwrap();
        let engine = Engine::new(store.clone());
        (dir, store, engine)
    }

    /// Once a message has committed, a failure to read its summary for publishing (the pool
    /// closing at shutdown) still answers success: an error answer must mean nothing was
    /// stored. Published when the summary is there.
    #[tokio::test]
    async fn a_committed_message_is_a_success_even_when_it_cannot_be_published() {
        let (_dir, store, engine) = crate::tests::sqlite_engine().await;
        let inbox = store
            .create_inbox(layan_store::NewInbox {
                name: "Shop",
                widget_key: "k",
                greeting: "Hi",
                color: "#123456",
            })
            .await
            .unwrap();
        let contact = store
            .create_contact_with_identity(layan_store::NewContact::default(), "visitor", "v1")
            .await
            .unwrap();
        let mut sub = engine.hub().subscribe();
        sub.add(crate::hub::Topic::Inbox(inbox.id));
        let message = |text: &str| layan_core::NewMessage {
            target: layan_core::Target::CurrentOrNew {
                inbox_id: inbox.id,
                contact_id: contact.id,
            },
            direction: layan_core::Direction::Incoming,
            author: layan_core::Author::Contact(contact.id),
            author_name: None,
            body: layan_core::MessageBody::parse(text).unwrap(),
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: None,
        };
        let appended = store.append_message(&message("one")).await.unwrap();
        let gone = layan_store::StoreError::Unavailable("pool closed".into());
        let answered = engine.announce(appended.clone(), Err(gone));
        assert_eq!(answered.message.id, appended.message.id);
        let summary = store
            .conversation_summary(appended.conversation.id)
            .await
            .unwrap();
        let appended = store.append_message(&message("two")).await.unwrap();
        engine.announce(appended.clone(), Ok(summary));
        let event = tokio::time::timeout(std::time::Duration::from_secs(1), sub.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(&*event, layan_core::Event::MessageCreated { message, .. } if message.id == appended.message.id),
            "only the second was published: {event:?}"
        );
        // And through `ingest` itself a stored message answers Ok.
        assert!(engine.ingest(message("three")).await.is_ok());
    }
}
