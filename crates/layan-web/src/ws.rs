//! WebSockets for the widget (`/api/v1/widget/ws`) and the agent inbox (`/api/v1/agent/ws`).
//!
//! Delivery rule, the same on both: a connection remembers, per conversation it follows, the last
//! sequence number it has sent. A live message with a lower or equal number is skipped (no
//! duplicates); one that skips ahead first pulls the gap from the database (no holes). Resuming
//! after a reconnect is the same rule starting from the number the client last saw. Messages are
//! only ever published after they are stored, so the database always has what the gap needs.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message as WsMessage, WebSocket},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use layan_channels::realtime::{
    AgentFrame, MAX_FRAME_BYTES, WidgetFrame, parse_agent_frame, parse_widget_frame,
};
use layan_core::{Contact, ConversationId, Event, Inbox, Message, TypingWho};
use layan_engine::{Access, EngineError, Subscription, Topic};
use serde_json::{Value, json};

use crate::{
    AppState,
    auth::{same_origin, session_from_headers},
    dto::{WidgetConversation, WidgetMessage},
    error::ApiError,
};

type Sink = SplitSink<WebSocket, WsMessage>;

/// Close code 1001: the server is going away (shutdown).
const GOING_AWAY: u16 = 1001;
/// Close code 4401 (application range): the first frame did not authenticate.
const UNAUTHENTICATED: u16 = 4401;
/// Closed for too many sockets of one visitor.
const TOO_MANY: u16 = 4429;
/// How long a widget has to send its `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an agent socket checks its session is still alive (expiry).
const SESSION_RECHECK: Duration = Duration::from_secs(60);
/// How many messages one catch-up sends at most per round.
const CATCH_UP_PAGE: u32 = 500;

async fn send_json(sink: &mut Sink, value: &Value) -> bool {
    sink.send(WsMessage::Text(value.to_string().into()))
        .await
        .is_ok()
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let _ = sink
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}

/// Per-connection bookkeeping of what was sent.
struct Followed {
    last_sent: HashMap<ConversationId, i64>,
    include_notes: bool,
    widget: bool,
}

impl Followed {
    fn frame(&self, m: &Message) -> Option<Value> {
        if self.widget {
            WidgetMessage::from_message(m).map(|w| json!({"type": "message", "message": w}))
        } else {
            Some(json!({"type": "message", "message": m}))
        }
    }

    /// Sends everything after `after_seq` from the database and remembers the last one.
    async fn catch_up(
        &mut self,
        state: &AppState,
        sink: &mut Sink,
        id: ConversationId,
        mut after_seq: i64,
    ) -> Result<(), ()> {
        loop {
            let page = state
                .engine
                .store()
                .messages_after(id, after_seq, CATCH_UP_PAGE, self.include_notes)
                .await
                .map_err(|e| tracing::error!(error = %e, "catch-up read failed"))?;
            for m in &page {
                if let Some(frame) = self.frame(m)
                    && !send_json(sink, &frame).await
                {
                    return Err(());
                }
                after_seq = m.seq;
            }
            self.last_sent.insert(id, after_seq.max(self.last(id)));
            if page.len() < CATCH_UP_PAGE as usize {
                return Ok(());
            }
        }
    }

    fn last(&self, id: ConversationId) -> i64 {
        self.last_sent.get(&id).copied().unwrap_or(0)
    }

    /// Delivers one live message: skip if already sent, fill the gap if one is missing.
    async fn deliver(&mut self, state: &AppState, sink: &mut Sink, m: &Message) -> Result<(), ()> {
        let last = self.last(m.conversation_id);
        if m.seq <= last {
            return Ok(());
        }
        if m.seq > last + 1 {
            let gap = state
                .engine
                .store()
                .messages_between(m.conversation_id, last, m.seq, self.include_notes)
                .await
                .map_err(|e| tracing::error!(error = %e, "gap read failed"))?;
            for g in &gap {
                if let Some(frame) = self.frame(g)
                    && !send_json(sink, &frame).await
                {
                    return Err(());
                }
            }
        }
        self.last_sent.insert(m.conversation_id, m.seq);
        match self.frame(m) {
            Some(frame) if !send_json(sink, &frame).await => Err(()),
            _ => Ok(()),
        }
    }

    /// After the hub dropped events for this connection: re-read every followed conversation.
    async fn resync(&mut self, state: &AppState, sink: &mut Sink) -> Result<(), ()> {
        let followed: Vec<_> = self.last_sent.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, last) in followed {
            self.catch_up(state, sink, id, last).await?;
        }
        Ok(())
    }
}

/// What differs between the widget's and the agent's connection; [`pump`] does the rest.
trait Side {
    /// Sent before catching up when the hub dropped events for this connection.
    const LAGGED_FRAME: Option<&'static str>;
    /// How often the connection checks it may still be open ([`Side::recheck`]).
    const RECHECK: Option<std::time::Duration> = None;
    fn followed(&mut self) -> &mut Followed;
    /// When the connection's session ends by itself ([`Side::on_expired`] then closes it).
    fn expires(&self) -> Option<tokio::time::Instant> {
        None
    }
    async fn on_expired(&mut self, _sink: &mut Sink) {}
    /// Checks the connection may stay open (its session has not ended); `Err` closed it.
    async fn recheck(&mut self, _state: &AppState, _sink: &mut Sink) -> Result<(), ()> {
        Ok(())
    }
    /// Handles one text frame; `false` ends the connection.
    async fn on_text(&mut self, state: &AppState, sink: &mut Sink, text: &str) -> bool;
    async fn on_event(
        &mut self,
        state: &AppState,
        sink: &mut Sink,
        event: &Arc<Event>,
    ) -> Result<(), ()>;
}

/// The connection loop: frames from the client, events from the hub, shutdown.
async fn pump<S: Side>(
    state: &AppState,
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
    sub: &mut Subscription,
    side: &mut S,
) {
    let shutdown = state.shutdown.clone();
    let mut recheck =
        S::RECHECK.map(|p| tokio::time::interval_at(tokio::time::Instant::now() + p, p));
    let expires = side.expires();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                close(sink, GOING_AWAY, "server shutting down").await;
                break;
            }
            () = async {
                match expires {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            } => {
                side.on_expired(sink).await;
                break;
            }
            () = async {
                match recheck.as_mut() {
                    Some(i) => { i.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                if side.recheck(state, sink).await.is_err() { break; }
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                let ok = match frame {
                    WsMessage::Text(text) => side.on_text(state, sink, &text).await,
                    WsMessage::Binary(_) => send_json(sink, &error_frame("binary_not_supported", "send JSON text frames")).await,
                    WsMessage::Close(_) => break,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => true,
                };
                if !ok { break; }
            }
            event = sub.recv() => {
                let Some(event) = event else { break };
                if sub.take_lagged() {
                    if let Some(frame) = S::LAGGED_FRAME
                        && sink.send(WsMessage::Text(frame.into())).await.is_err()
                    {
                        break;
                    }
                    if side.followed().resync(state, sink).await.is_err() { break; }
                }
                if side.on_event(state, sink, &event).await.is_err() { break; }
            }
        }
    }
}

/// Frame limits and buffers for every socket. tungstenite's default 128 KiB read buffer per
/// connection would cost 640 MB at 5,000 widgets; chat frames are small, so start at 4 KiB (the
/// buffer still grows up to the frame limit when needed) and write each frame out at once.
fn sized(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

// ---- widget ------------------------------------------------------------------------------------

/// The shopper's live connection. The first frame must be `hello` with the inbox key and visitor
/// token (kept out of the URL so they do not end up in access logs).
pub async fn widget_ws(
    State(state): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    slot: Option<axum::Extension<ConnectionSlot>>,
    ws: WebSocketUpgrade,
) -> Response {
    sized(ws).on_upgrade(move |socket| async move {
        // The socket counts against its address's connections while it lives.
        let _slot = slot;
        widget_socket(state, ip, socket).await;
    })
}

/// The connection's place in its address's count (see `serve`).
type ConnectionSlot = std::sync::Arc<crate::ConnectionSlot>;

async fn next_text(stream: &mut SplitStream<WebSocket>) -> Option<String> {
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            WsMessage::Text(t) => return Some(t.to_string()),
            WsMessage::Close(_) => return None,
            _ => continue,
        }
    }
    None
}

async fn widget_socket(state: AppState, ip: Option<std::net::IpAddr>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, next_text(&mut stream)).await {
        Ok(Some(text)) => parse_widget_frame(&text),
        _ => return,
    };
    let (key, token, conversation_id, after_seq) = match hello {
        Ok(WidgetFrame::Hello {
            key,
            token,
            conversation_id,
            after_seq,
        }) => (key, token, conversation_id, after_seq),
        _ => {
            send_json(
                &mut sink,
                &error_frame("hello_required", "the first frame must be a hello"),
            )
            .await;
            close(&mut sink, UNAUTHENTICATED, "hello required").await;
            return;
        }
    };
    let (inbox, contact) = match state.engine.visitor_by_token(&key, &token).await {
        Ok(v) => v,
        Err(EngineError::IdentityExpired) => {
            identity_expired(&mut sink).await;
            return;
        }
        Err(e) => {
            if !matches!(e, EngineError::NotFound) {
                tracing::error!(error = %e, "widget hello failed");
            }
            send_json(
                &mut sink,
                &error_frame("unknown_visitor", "unknown inbox key or visitor token"),
            )
            .await;
            close(&mut sink, UNAUTHENTICATED, "unknown visitor").await;
            return;
        }
    };
    // A signed-in session ends with its identity, open or not.
    let expires = layan_engine::identity::session_expiry(&token).map(|exp| {
        let left = exp.saturating_mul(1000) - layan_core::now_millis();
        tokio::time::Instant::now() + std::time::Duration::from_millis(left.max(0) as u64)
    });
    // A visitor's tabs each hold a socket; hundreds for one token is a script.
    let Some(_slot) = state.limits.socket(contact.id.0) else {
        send_json(
            &mut sink,
            &error_frame("rate_limited", "too many open chats for this visitor"),
        )
        .await;
        close(&mut sink, TOO_MANY, "too many sockets").await;
        return;
    };
    let _gauge = crate::metrics::SocketGauge::widget(&state.metrics);
    let mut sub = state.engine.hub().subscribe();
    sub.add(Topic::Contact(contact.id));
    sub.add(Topic::Visitors);
    let mut followed = Followed {
        last_sent: HashMap::new(),
        include_notes: false,
        widget: true,
    };
    // Subscribed before reading, so nothing published in between is missed; duplicates are
    // skipped by sequence number.
    let current = match state
        .engine
        .store()
        .current_conversation(inbox.id, contact.id)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "widget hello read failed");
            close(&mut sink, 1011, "internal error").await;
            return;
        }
    };
    let ready = json!({
        "type": "ready",
        "agents_online": state.engine.agents_online(),
        "conversation": current.as_ref().map(WidgetConversation::from),
    });
    if !send_json(&mut sink, &ready).await {
        return;
    }
    if let Some(c) = &current {
        let from = if conversation_id == Some(c.id.0) {
            after_seq.max(0)
        } else {
            0
        };
        if followed
            .catch_up(&state, &mut sink, c.id, from)
            .await
            .is_err()
        {
            return;
        }
    }

    let mut side = WidgetSide {
        inbox,
        contact,
        followed,
        ip,
        expires,
    };
    pump(&state, &mut sink, &mut stream, &mut sub, &mut side).await;
}

struct WidgetSide {
    inbox: Inbox,
    contact: Contact,
    followed: Followed,
    ip: Option<std::net::IpAddr>,
    /// When a signed-in session's identity expires.
    expires: Option<tokio::time::Instant>,
}

/// Tells the widget its signed-in session ended with its identity (it asks the page for a fresh
/// one) and closes.
async fn identity_expired(sink: &mut Sink) {
    send_json(
        sink,
        &error_frame(
            "identity_expired",
            "the signed-in session has ended with its identity",
        ),
    )
    .await;
    close(sink, UNAUTHENTICATED, "identity expired").await;
}

impl Side for WidgetSide {
    const LAGGED_FRAME: Option<&'static str> = None;

    fn expires(&self) -> Option<tokio::time::Instant> {
        self.expires
    }

    async fn on_expired(&mut self, sink: &mut Sink) {
        identity_expired(sink).await;
    }

    fn followed(&mut self) -> &mut Followed {
        &mut self.followed
    }

    async fn on_text(&mut self, state: &AppState, sink: &mut Sink, text: &str) -> bool {
        widget_frame(
            state,
            (&self.inbox, &self.contact, self.ip),
            &mut self.followed,
            sink,
            text,
        )
        .await
    }

    async fn on_event(
        &mut self,
        state: &AppState,
        sink: &mut Sink,
        event: &Arc<Event>,
    ) -> Result<(), ()> {
        widget_event(state, &mut self.followed, sink, event).await
    }
}

async fn widget_frame(
    state: &AppState,
    (inbox, contact, ip): (&Inbox, &Contact, Option<std::net::IpAddr>),
    followed: &mut Followed,
    sink: &mut Sink,
    text: &str,
) -> bool {
    match parse_widget_frame(text) {
        Err(e) => send_json(sink, &error_frame(e.code, &e.message)).await,
        Ok(WidgetFrame::Hello { .. }) => {
            send_json(
                sink,
                &error_frame("already_greeted", "hello is only the first frame"),
            )
            .await
        }
        Ok(WidgetFrame::Ping) => send_json(sink, &json!({"type": "pong"})).await,
        Ok(WidgetFrame::Typing { on }) => {
            if let Ok(Some(c)) = state
                .engine
                .store()
                .current_conversation(inbox.id, contact.id)
                .await
            {
                state.engine.typing(&c, TypingWho::Contact, on);
            }
            true
        }
        Ok(WidgetFrame::Send {
            client_message_id,
            body,
        }) => {
            // Too many: nothing stored; the widget keeps the message and sends it again after
            // `retry_after` seconds.
            if let Err(limited) = state.limits.message(ip, contact.id.0) {
                let frame = json!({
                    "type": "error",
                    "code": limited.code,
                    "message": limited.message,
                    "client_message_id": client_message_id,
                    "retry_after": limited.retry_after,
                });
                return send_json(sink, &frame).await;
            }
            match state
                .engine
                .visitor_message(inbox, contact, &body, Some(&client_message_id))
                .await
            {
                Ok(appended) => {
                    // Deliver first (fills any gap before it), then acknowledge.
                    if followed
                        .deliver(state, sink, &appended.message)
                        .await
                        .is_err()
                    {
                        return false;
                    }
                    let ack = json!({
                        "type": "ack",
                        "client_message_id": client_message_id,
                        "duplicate": appended.duplicate,
                        "message": WidgetMessage::from_message(&appended.message),
                        "conversation": WidgetConversation::from(&appended.conversation),
                    });
                    send_json(sink, &ack).await
                }
                Err(e) => {
                    let api = ApiError::from(e);
                    let frame = json!({
                        "type": "error",
                        "code": api.code,
                        "message": api.message,
                        "client_message_id": client_message_id,
                    });
                    send_json(sink, &frame).await
                }
            }
        }
    }
}

async fn widget_event(
    state: &AppState,
    followed: &mut Followed,
    sink: &mut Sink,
    event: &Arc<Event>,
) -> Result<(), ()> {
    match event.as_ref() {
        Event::MessageCreated {
            message,
            conversation,
        } => {
            followed.deliver(state, sink, message).await?;
            let frame = json!({"type": "conversation", "conversation": WidgetConversation::from(&conversation.conversation)});
            if send_json(sink, &frame).await {
                Ok(())
            } else {
                Err(())
            }
        }
        Event::Typing {
            who: TypingWho::Agent { name, .. },
            on,
            conversation_id,
            ..
        } => {
            let frame = json!({"type": "typing", "on": on, "name": name, "conversation_id": conversation_id});
            if send_json(sink, &frame).await {
                Ok(())
            } else {
                Err(())
            }
        }
        Event::Presence { agents_online } => {
            let frame = json!({"type": "presence", "agents_online": agents_online});
            if send_json(sink, &frame).await {
                Ok(())
            } else {
                Err(())
            }
        }
        // This shopper was merged into another customer: the widget reconnects (its token now
        // belongs to that customer) and resumes by sequence number.
        Event::ContactMerged { .. } => {
            send_json(sink, &json!({"type": "reconnect"})).await;
            Err(())
        }
        _ => Ok(()),
    }
}

// ---- agents ------------------------------------------------------------------------------------

/// The agent inbox's live connection: list updates for the inboxes the agent may see, messages
/// for the conversation they have open (`follow`), who else is viewing or typing there, and
/// the agent's own notifications. When the agent's access changes (role, inbox membership,
/// password) the connection re-reads it, or closes when the session has ended.
pub async fn agent_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    slot: Option<axum::Extension<ConnectionSlot>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::forbidden("cross-origin WebSocket refused"));
    }
    let token = crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let session = session_from_headers(&state, &headers)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let access = state.engine.access(&session.agent).await?;
    let inboxes = state.engine.visible_inboxes(&access).await?;
    Ok(sized(ws)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            agent_socket(state, token, access, inboxes, socket).await;
        })
        .into_response())
}

async fn agent_socket(
    state: AppState,
    token: String,
    access: Access,
    inboxes: Vec<Inbox>,
    socket: WebSocket,
) {
    let (mut sink, mut stream) = socket.split();
    let _gauge = crate::metrics::SocketGauge::agent(&state.metrics);
    let mut sub = state.engine.hub().subscribe();
    for inbox in &inboxes {
        sub.add(Topic::Inbox(inbox.id));
    }
    sub.add(Topic::Visitors);
    sub.add(Topic::Agent(access.agent.id));
    let _online = state.engine.agent_online(access.agent.id);
    let followed = Followed {
        last_sent: HashMap::new(),
        include_notes: true,
        widget: false,
    };
    let hello = json!({"type": "hello", "agent": access.agent, "agents_online": state.engine.agents_online()});
    if !send_json(&mut sink, &hello).await {
        return;
    }
    let mut side = AgentSide {
        state: state.clone(),
        token,
        access,
        followed,
        viewing: None,
        resubscribe: None,
    };
    loop {
        pump(&state, &mut sink, &mut stream, &mut sub, &mut side).await;
        // The pump stops for good, or to change what this connection listens to.
        match side.resubscribe.take() {
            Some(inboxes) => {
                for topic in sub.topics().to_vec() {
                    if matches!(topic, Topic::Inbox(_)) && !inboxes.contains(&topic) {
                        sub.remove(topic);
                    }
                }
                for topic in inboxes {
                    sub.add(topic);
                }
                if !send_json(&mut sink, &json!({"type": "access"})).await {
                    return;
                }
            }
            None => return,
        }
    }
}

struct AgentSide {
    state: AppState,
    /// The session cookie, to check the session is still alive when access changes.
    token: String,
    access: Access,
    followed: Followed,
    /// The conversation this connection has open (colleagues are told).
    viewing: Option<layan_core::Conversation>,
    /// Set when the pump must stop so the subscription can change to these inbox topics.
    resubscribe: Option<Vec<Topic>>,
}

impl AgentSide {
    fn set_viewing(&mut self, next: Option<layan_core::Conversation>) {
        if let Some(prev) = self.viewing.take()
            && next.as_ref().is_none_or(|n| n.id != prev.id)
        {
            self.state.engine.viewing(&prev, &self.access.agent, false);
        }
        if let Some(n) = &next {
            self.state.engine.viewing(n, &self.access.agent, true);
        }
        self.viewing = next;
    }
}

impl Drop for AgentSide {
    fn drop(&mut self) {
        self.set_viewing(None);
    }
}

impl Side for AgentSide {
    /// The agent UI reloads its conversation list on this.
    const LAGGED_FRAME: Option<&'static str> = Some(r#"{"type":"resync"}"#);
    /// A session that expired (or ended where no event reached this node) closes the socket
    /// within a minute; logout, a password change and deactivation close it at once.
    const RECHECK: Option<std::time::Duration> = Some(SESSION_RECHECK);

    async fn recheck(&mut self, state: &AppState, sink: &mut Sink) -> Result<(), ()> {
        match state.engine.authenticate(&self.token).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                close(sink, UNAUTHENTICATED, "session ended").await;
                Err(())
            }
            // The database is unreachable for a moment: check again next time.
            Err(_) => Ok(()),
        }
    }

    fn followed(&mut self) -> &mut Followed {
        &mut self.followed
    }

    async fn on_text(&mut self, state: &AppState, sink: &mut Sink, text: &str) -> bool {
        match parse_agent_frame(text) {
            Err(e) => send_json(sink, &error_frame(e.code, &e.message)).await,
            Ok(AgentFrame::Ping) => send_json(sink, &json!({"type": "pong"})).await,
            Ok(AgentFrame::Follow {
                conversation_id,
                after_seq,
            }) => {
                let id = ConversationId(conversation_id);
                match state.engine.conversation_for(&self.access, id).await {
                    Ok(c) => {
                        self.set_viewing(Some(c));
                        // Colleagues already in this conversation (collision warning).
                        for (agent, name) in state.engine.viewers_of(id) {
                            if agent == self.access.agent.id {
                                continue;
                            }
                            let frame = json!({"type": "viewing", "conversation_id": id, "agent_id": agent, "name": name, "on": true});
                            if !send_json(sink, &frame).await {
                                return false;
                            }
                        }
                        self.followed
                            .catch_up(state, sink, id, after_seq.max(0))
                            .await
                            .is_ok()
                    }
                    Err(EngineError::NotFound) => {
                        send_json(sink, &error_frame("not_found", "conversation not found")).await
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "follow failed");
                        send_json(sink, &error_frame("internal", "internal error")).await
                    }
                }
            }
            Ok(AgentFrame::Unfollow { conversation_id }) => {
                let id = ConversationId(conversation_id);
                self.followed.last_sent.remove(&id);
                if self.viewing.as_ref().is_some_and(|v| v.id == id) {
                    self.set_viewing(None);
                }
                true
            }
            Ok(AgentFrame::Typing {
                conversation_id,
                on,
            }) => {
                // A conversation the agent may not see is ignored, like an unknown one.
                let _ = state
                    .engine
                    .agent_typing(&self.access, ConversationId(conversation_id), on)
                    .await;
                true
            }
        }
    }

    async fn on_event(
        &mut self,
        state: &AppState,
        sink: &mut Sink,
        event: &Arc<Event>,
    ) -> Result<(), ()> {
        let visible = |inbox| self.access.can_see(inbox);
        let frame = match event.as_ref() {
            Event::MessageCreated {
                conversation,
                message,
            } => {
                if !visible(conversation.conversation.inbox_id) {
                    return Ok(());
                }
                if self
                    .followed
                    .last_sent
                    .contains_key(&message.conversation_id)
                {
                    self.followed.deliver(state, sink, message).await?;
                }
                json!({"type": "conversation", "conversation": conversation, "new_message": message})
            }
            Event::ConversationUpdated { conversation } => {
                if !visible(conversation.conversation.inbox_id) {
                    return Ok(());
                }
                json!({"type": "conversation", "conversation": conversation})
            }
            Event::Typing {
                conversation_id,
                inbox_id,
                who,
                on,
                ..
            } => {
                if !visible(*inbox_id)
                    || matches!(who, TypingWho::Agent { id, .. } if *id == self.access.agent.id)
                {
                    return Ok(());
                }
                json!({"type": "typing", "conversation_id": conversation_id, "who": who, "on": on})
            }
            Event::Viewing {
                conversation_id,
                inbox_id,
                agent_id,
                agent_name,
                on,
            } => {
                if !visible(*inbox_id) || *agent_id == self.access.agent.id {
                    return Ok(());
                }
                json!({"type": "viewing", "conversation_id": conversation_id, "agent_id": agent_id, "name": agent_name, "on": on})
            }
            Event::Presence { agents_online } => {
                json!({"type": "presence", "agents_online": agents_online})
            }
            Event::Notification { notification } => {
                json!({"type": "notification", "notification": notification})
            }
            Event::AccessChanged { .. } => {
                return self.access_changed(state, sink).await;
            }
            // Agents are not subscribed to customers' topics.
            Event::ContactMerged { .. } => return Ok(()),
        };
        if send_json(sink, &frame).await {
            Ok(())
        } else {
            Err(())
        }
    }
}

impl AgentSide {
    /// Re-reads the agent's session and access; closes the socket when the session has ended
    /// (logout everywhere, password change), otherwise asks the loop to resubscribe.
    async fn access_changed(&mut self, state: &AppState, sink: &mut Sink) -> Result<(), ()> {
        let session = match state.engine.authenticate(&self.token).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                close(sink, UNAUTHENTICATED, "session ended").await;
                return Err(());
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read a session");
                return Ok(());
            }
        };
        let Ok(access) = state.engine.access(&session.agent).await else {
            return Ok(());
        };
        let Ok(inboxes) = state.engine.visible_inboxes(&access).await else {
            return Ok(());
        };
        if let Some(v) = &self.viewing
            && !access.can_see(v.inbox_id)
        {
            self.followed.last_sent.remove(&v.id);
            self.set_viewing(None);
        }
        self.access = access;
        self.resubscribe = Some(inboxes.iter().map(|i| Topic::Inbox(i.id)).collect());
        // Ending the pump lets the loop change the subscription and come back.
        Err(())
    }
}
