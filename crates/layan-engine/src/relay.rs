//! Relaying events between nodes that share one PostgreSQL database, over its LISTEN/NOTIFY.
//!
//! Why PostgreSQL and not NATS: a shop that runs several nodes already runs PostgreSQL; NOTIFY adds
//! no service to install, secure and monitor, and it is transactional with the data it announces.
//! Its limits fit: payloads under 8 kB (we send pointers, not messages) and no delivery guarantee
//! across a dropped listener connection — which the realtime layer already tolerates, because every
//! connection fills gaps from the database by sequence number.
//!
//! A notification says *what* changed ("conversation 12 has message 7"); the receiving node reads
//! it from the database and publishes the event on its own hub, exactly as if it had stored it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use layan_core::{AgentId, ConversationId, Event, TypingWho};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineResult, Topic, lock};

/// How often a node repeats which agents it has online, and after how long silence a node's
/// agents stop counting (it was killed or lost its database connection).
const PRESENCE_HEARTBEAT: Duration = Duration::from_secs(10);
const PRESENCE_EXPIRY: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Relayed {
    Message {
        node: u64,
        conversation_id: i64,
        seq: i64,
    },
    Conversation {
        node: u64,
        conversation_id: i64,
    },
    Typing {
        node: u64,
        conversation_id: i64,
        /// `None`: the customer.
        agent: Option<(i64, String)>,
        on: bool,
    },
    Presence {
        node: u64,
        agents: Vec<i64>,
    },
    Viewing {
        node: u64,
        conversation_id: i64,
        agent: (i64, String),
        on: bool,
    },
    Notification {
        node: u64,
        agent_id: i64,
        id: i64,
    },
    Access {
        node: u64,
        agent_id: i64,
    },
    /// A knowledge-base article changed: re-read it into this node's index.
    Article {
        node: u64,
        article_id: i64,
    },
    /// A contact was merged into another.
    ContactMerged {
        node: u64,
        from: i64,
        into: i64,
    },
    /// A customer was erased: purge their messages from this node's search index.
    Erased {
        node: u64,
        contact: i64,
    },
}

impl Relayed {
    fn node(&self) -> u64 {
        match self {
            Self::Message { node, .. }
            | Self::Conversation { node, .. }
            | Self::Typing { node, .. }
            | Self::Presence { node, .. }
            | Self::Viewing { node, .. }
            | Self::Notification { node, .. }
            | Self::Access { node, .. }
            | Self::Article { node, .. }
            | Self::ContactMerged { node, .. }
            | Self::Erased { node, .. } => *node,
        }
    }
}

/// Notifications waiting to go out, at most (about 100 bytes each).
const RELAY_QUEUE: usize = 65_536;
/// Notifications sent in one statement, at most.
const RELAY_BATCH: usize = 256;

/// Sends the queued notifications, whatever has queued while the previous statement ran going
/// together in the next: one transaction for many (each `NOTIFY` transaction is a commit, and a
/// busy shop relays two or three events per message), in the order they were queued.
/// PostgreSQL delivers identical payloads of one transaction once: identical events say the
/// same thing (the receiver reads what changed from the database), so once is enough.
async fn send_relayed(store: layan_store::Store, mut queue: tokio::sync::mpsc::Receiver<String>) {
    let mut batch = Vec::with_capacity(RELAY_BATCH);
    while queue.recv_many(&mut batch, RELAY_BATCH).await > 0 {
        if let Err(e) = store.notify_all(&batch).await {
            tracing::warn!(error = %e, events = batch.len(), "could not relay events to other nodes");
        }
        batch.clear();
    }
}

/// Agents online on other nodes, by node, with when we last heard.
#[derive(Default)]
pub(crate) struct RemotePresence {
    nodes: HashMap<u64, (HashSet<AgentId>, Instant)>,
}

impl RemotePresence {
    pub(crate) fn agents(&self) -> impl Iterator<Item = &AgentId> {
        self.nodes
            .values()
            .filter(|(_, seen)| seen.elapsed() < PRESENCE_EXPIRY)
            .flat_map(|(agents, _)| agents.iter())
    }
}

impl Engine {
    /// Sends a notification to the other nodes, without making the caller wait for it: it
    /// goes out with whatever else is waiting (see [`send_relayed`]). When the queue is full
    /// (the database has been unreachable for a while) it is dropped, as a lost notification
    /// is: the other nodes catch up from the database.
    pub(crate) fn relay(&self, relayed: Relayed) {
        let Some(out) = &self.relay_out else {
            return;
        };
        let Ok(payload) = serde_json::to_string(&relayed) else {
            return;
        };
        if out.try_send(payload).is_err() {
            tracing::warn!("could not relay an event to other nodes: too many waiting");
        }
    }

    /// Starts listening to the other nodes (PostgreSQL only) and announcing this node's presence.
    /// Returns at once; the work goes on in background tasks.
    pub async fn start_relay(&mut self) -> EngineResult<()> {
        let Some(mut rx) = self.store.listen().await? else {
            return Ok(());
        };
        let (out, queue) = tokio::sync::mpsc::channel(RELAY_QUEUE);
        self.relay_out = Some(out);
        tokio::spawn(send_relayed(self.store.clone(), queue));
        let engine = self.clone();
        tokio::spawn(async move {
            while let Some(notified) = rx.recv().await {
                match notified {
                    layan_store::Notified::Payload(payload) => engine.on_relayed(&payload).await,
                    layan_store::Notified::Gap => engine.catch_up_after_gap().await,
                }
            }
        });
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PRESENCE_HEARTBEAT);
            loop {
                tick.tick().await;
                engine.relay_presence();
                engine.refresh_presence();
            }
        });
        Ok(())
    }

    /// Relayed events were lost (the listener reconnected): re-read what this node keeps in
    /// memory from the database. Conversations catch up by themselves (each connection fills
    /// gaps from the database at its next message; the message index polls), presence at the
    /// next heartbeat; the help-center index is rebuilt here.
    async fn catch_up_after_gap(&self) {
        match self.rebuild_article_index(|_| {}).await {
            Ok(n) => tracing::info!(
                articles = n,
                "help-center index rebuilt after lost notifications"
            ),
            Err(e) => tracing::warn!(error = %e, "could not rebuild the help-center index"),
        }
        self.relay_presence();
    }

    pub(crate) fn relay_presence(&self) {
        let agents = lock(&self.presence).keys().map(|a| a.0).collect();
        self.relay(Relayed::Presence {
            node: self.node,
            agents,
        });
    }

    async fn on_relayed(&self, payload: &str) {
        let relayed: Relayed = match serde_json::from_str(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable notification");
                return;
            }
        };
        if relayed.node() == self.node {
            return;
        }
        if let Err(e) = self.apply_relayed(relayed).await {
            tracing::warn!(error = %e, "could not apply a relayed event");
        }
    }

    async fn apply_relayed(&self, relayed: Relayed) -> EngineResult<()> {
        let store = &self.store;
        match relayed {
            Relayed::Message {
                conversation_id,
                seq,
                ..
            } => {
                let id = ConversationId(conversation_id);
                let message = store.messages_between(id, seq - 1, seq + 1, true).await?;
                let summary = store.conversation_summary(id).await?;
                if let (Some(message), Some(summary)) = (message.into_iter().next(), summary) {
                    self.publish_message(summary, &message);
                }
            }
            Relayed::Conversation {
                conversation_id, ..
            } => {
                if let Some(summary) = store
                    .conversation_summary(ConversationId(conversation_id))
                    .await?
                {
                    self.hub.publish(
                        Topic::Inbox(summary.conversation.inbox_id),
                        Arc::new(Event::ConversationUpdated {
                            conversation: Box::new(summary),
                        }),
                    );
                }
            }
            Relayed::Typing {
                conversation_id,
                agent,
                on,
                ..
            } => {
                if let Some(c) = store.conversation(ConversationId(conversation_id)).await? {
                    let who = match agent {
                        Some((id, name)) => TypingWho::Agent {
                            id: AgentId(id),
                            name,
                        },
                        None => TypingWho::Contact,
                    };
                    self.publish_typing(&c, who, on);
                }
            }
            Relayed::Viewing {
                conversation_id,
                agent,
                on,
                ..
            } => {
                if let Some(c) = store.conversation(ConversationId(conversation_id)).await? {
                    self.publish_viewing(&c, AgentId(agent.0), &agent.1, on);
                }
            }
            Relayed::Notification { agent_id, id, .. } => {
                let recent = store.list_notifications(AgentId(agent_id), 50).await?;
                if let Some(n) = recent.into_iter().find(|n| n.id == id) {
                    self.publish_notification(n);
                }
            }
            Relayed::Access { agent_id, .. } => {
                self.hub.publish(
                    Topic::Agent(AgentId(agent_id)),
                    Arc::new(Event::AccessChanged {
                        agent_id: AgentId(agent_id),
                    }),
                );
            }
            Relayed::ContactMerged { from, into, .. } => {
                self.contact_moved(layan_core::ContactId(from), layan_core::ContactId(into));
            }
            Relayed::Erased { contact, .. } => {
                self.erased_elsewhere(layan_core::ContactId(contact))
                    .await?;
            }
            Relayed::Article { article_id, .. } => {
                self.reindex_article(layan_core::ArticleId(article_id))
                    .await?;
            }
            Relayed::Presence { node, agents } => {
                lock(&self.remote_presence).nodes.insert(
                    node,
                    (agents.into_iter().map(AgentId).collect(), Instant::now()),
                );
                self.refresh_presence();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_small_and_round_trip() {
        let r = Relayed::Typing {
            node: 7,
            conversation_id: 3,
            agent: Some((2, "Nok Srisuk".into())),
            on: true,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.len() < 200);
        let back: Relayed = serde_json::from_str(&json).unwrap();
        assert_eq!(back.node(), 7);
    }

    #[test]
    fn silent_nodes_stop_counting() {
        let mut p = RemotePresence::default();
        p.nodes
            .insert(1, ([AgentId(5)].into_iter().collect(), Instant::now()));
        if let Some(old) = Instant::now().checked_sub(PRESENCE_EXPIRY + Duration::from_secs(1)) {
            p.nodes.insert(2, ([AgentId(6)].into_iter().collect(), old));
        }
        assert_eq!(p.agents().collect::<Vec<_>>(), vec![&AgentId(5)]);
    }
}
