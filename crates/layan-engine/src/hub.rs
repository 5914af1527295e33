//! The realtime hub: in-process publish/subscribe of [`Event`]s by topic.
//!
//! Each live connection (a widget, an agent's browser) owns one [`Subscription`] with one bounded
//! queue, fed by any number of topics. Publishing never waits: when a connection's queue is full it
//! is marked *lagged* and catches up from the database (which holds everything, by sequence
//! number), so a slow browser can neither block the pipeline nor miss a message.
//!
//! This hub is per process. Several nodes on one PostgreSQL will relay events between hubs (a
//! later issue); the connections' catch-up-from-the-database logic already makes that safe.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use layan_core::{AgentId, ContactId, Event, InboxId};
use tokio::sync::mpsc;

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Agents working an inbox: every message (including notes), conversation change and typing.
    Inbox(InboxId),
    /// One customer's widget tabs: their public messages, agents typing.
    Contact(ContactId),
    /// Every widget: agent presence.
    Visitors,
    /// One agent's connections: their notifications, changes to their access.
    Agent(AgentId),
}

/// How many events a connection may have queued before it is marked lagged.
const QUEUE: usize = 512;

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    topics: Mutex<HashMap<Topic, Vec<Subscriber>>>,
    next_id: AtomicU64,
}

#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new subscription with no topics yet.
    pub fn subscribe(&self) -> Subscription {
        let (tx, rx) = mpsc::channel(QUEUE);
        Subscription {
            inner: Arc::clone(&self.inner),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            topics: Vec::new(),
            tx,
            rx,
            lagged: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Delivers `event` to every subscriber of `topic` without waiting.
    pub fn publish(&self, topic: Topic, event: Arc<Event>) {
        let mut topics = lock(&self.inner.topics);
        let Some(subs) = topics.get_mut(&topic) else {
            return;
        };
        subs.retain(|s| match s.tx.try_send(Arc::clone(&event)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.lagged.store(true, Ordering::Release);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if subs.is_empty() {
            topics.remove(&topic);
        }
    }

    /// How many subscriptions listen to `topic` (for tests and metrics).
    pub fn subscribers(&self, topic: Topic) -> usize {
        lock(&self.inner.topics).get(&topic).map_or(0, Vec::len)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map inconsistent (every operation is a
    // single insert/retain), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection's stream of events. Dropping it unsubscribes from every topic.
pub struct Subscription {
    inner: Arc<Inner>,
    id: u64,
    topics: Vec<Topic>,
    tx: mpsc::Sender<Arc<Event>>,
    rx: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// Starts receiving `topic` (no-op when already subscribed).
    pub fn add(&mut self, topic: Topic) {
        if self.topics.contains(&topic) {
            return;
        }
        self.topics.push(topic);
        lock(&self.inner.topics)
            .entry(topic)
            .or_default()
            .push(Subscriber {
                id: self.id,
                tx: self.tx.clone(),
                lagged: Arc::clone(&self.lagged),
            });
    }

    /// Stops receiving `topic`.
    pub fn remove(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            return;
        }
        self.topics.retain(|t| *t != topic);
        let mut topics = lock(&self.inner.topics);
        if let Some(subs) = topics.get_mut(&topic) {
            subs.retain(|s| s.id != self.id);
            if subs.is_empty() {
                topics.remove(&topic);
            }
        }
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The next event. `None` only if the hub is gone.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.rx.recv().await
    }

    /// True (once) when events were dropped because the queue was full: the caller must catch up
    /// from the database.
    pub fn take_lagged(&self) -> bool {
        self.lagged.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = lock(&self.inner.topics);
        for topic in &self.topics {
            if let Some(subs) = topics.get_mut(topic) {
                subs.retain(|s| s.id != self.id);
                if subs.is_empty() {
                    topics.remove(topic);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(n: usize) -> Arc<Event> {
        Arc::new(Event::Presence { agents_online: n })
    }

    #[tokio::test]
    async fn delivers_by_topic_and_unsubscribes_on_drop() {
        let hub = Hub::new();
        let mut a = hub.subscribe();
        a.add(Topic::Visitors);
        a.add(Topic::Visitors);
        let mut b = hub.subscribe();
        b.add(Topic::Inbox(InboxId(1)));
        hub.publish(Topic::Visitors, presence(1));
        assert!(matches!(
            *a.recv().await.unwrap(),
            Event::Presence { agents_online: 1 }
        ));
        assert!(b.rx.try_recv().is_err(), "b is not on that topic");
        assert_eq!(hub.subscribers(Topic::Visitors), 1);
        drop(a);
        assert_eq!(hub.subscribers(Topic::Visitors), 0);
    }

    #[tokio::test]
    async fn a_full_queue_marks_lagged_instead_of_blocking() {
        let hub = Hub::new();
        let mut s = hub.subscribe();
        s.add(Topic::Visitors);
        for i in 0..QUEUE + 10 {
            hub.publish(Topic::Visitors, presence(i));
        }
        assert!(s.take_lagged());
        assert!(!s.take_lagged(), "the flag is taken once");
        let mut n = 0;
        while s.rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, QUEUE);
    }
}
