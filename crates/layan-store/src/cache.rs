//! The shop's settings that every widget request and every customer message reads — inboxes
//! (by id and by widget key) and shop documents (the bot's settings, business hours, …) — kept
//! in memory for a second. Writes through this `Store` forget everything at once, so this node
//! sees its own changes immediately; another node sharing the database sees them within
//! [`FRESH`]. Only rows that exist are kept (an unknown widget key is asked again every time, so
//! nobody can fill the cache by guessing keys).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use layan_core::{Inbox, InboxId};

/// How long a read value is used before it is read again.
pub(crate) const FRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Settings {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every write: a value read before it is not kept (the read may have raced the
    /// write and seen the old row).
    generation: u64,
    inboxes: HashMap<InboxId, (Instant, Inbox)>,
    keys: HashMap<String, InboxId>,
    documents: HashMap<String, (Instant, Option<String>)>,
}

/// What a reader saw before reading the database; [`Settings::keep_inbox`] and
/// [`Settings::keep_document`] keep a value only if no write came in between.
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl Settings {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it leaves nothing half-written that matters: values are
        // replaced whole.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    pub(crate) fn inbox(&self, id: InboxId) -> Option<Inbox> {
        let inner = self.lock();
        let (at, inbox) = inner.inboxes.get(&id)?;
        (at.elapsed() < FRESH).then(|| inbox.clone())
    }

    pub(crate) fn inbox_by_key(&self, key: &str) -> Option<Inbox> {
        let inner = self.lock();
        let id = inner.keys.get(key)?;
        let (at, inbox) = inner.inboxes.get(id)?;
        (at.elapsed() < FRESH && inbox.widget_key == key).then(|| inbox.clone())
    }

    pub(crate) fn keep_inbox(&self, seen: Generation, inbox: &Inbox) {
        let mut inner = self.lock();
        if inner.generation != seen.0 {
            return;
        }
        inner.keys.insert(inbox.widget_key.clone(), inbox.id);
        inner
            .inboxes
            .insert(inbox.id, (Instant::now(), inbox.clone()));
    }

    /// `Some(body)` when fresh (`body` is `None` for a document never saved).
    pub(crate) fn document(&self, key: &str) -> Option<Option<String>> {
        let inner = self.lock();
        let (at, body) = inner.documents.get(key)?;
        (at.elapsed() < FRESH).then(|| body.clone())
    }

    /// Keys are the application's own (a handful), never the client's.
    pub(crate) fn keep_document(&self, seen: Generation, key: &str, body: Option<&str>) {
        let mut inner = self.lock();
        if inner.generation != seen.0 {
            return;
        }
        inner
            .documents
            .insert(key.to_owned(), (Instant::now(), body.map(str::to_owned)));
    }

    /// After a write to inboxes or documents: nothing read before is used again.
    pub(crate) fn forget(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.inboxes.clear();
        inner.keys.clear();
        inner.documents.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbox(id: i64, key: &str, name: &str) -> Inbox {
        Inbox {
            id: InboxId(id),
            name: name.into(),
            channel: layan_core::ChannelKind::WebWidget,
            widget_key: key.into(),
            greeting: String::new(),
            color: "#000000".into(),
            auto_assign: layan_core::AutoAssign::None,
            reassign_on_offline: false,
            auto_ack: false,
            response_minutes: 5,
            created_at: 0,
        }
    }

    #[test]
    fn a_kept_inbox_is_found_by_id_and_key_until_a_write() {
        let cache = Settings::default();
        assert!(cache.inbox(InboxId(1)).is_none());
        cache.keep_inbox(cache.generation(), &inbox(1, "k1", "Shop"));
        assert_eq!(cache.inbox(InboxId(1)).unwrap().name, "Shop");
        assert_eq!(cache.inbox_by_key("k1").unwrap().id, InboxId(1));
        assert!(cache.inbox_by_key("k2").is_none());
        cache.forget();
        assert!(cache.inbox(InboxId(1)).is_none());
        assert!(cache.inbox_by_key("k1").is_none());
    }

    #[test]
    fn a_value_read_before_a_write_is_not_kept() {
        let cache = Settings::default();
        let before = cache.generation();
        cache.forget(); // a write lands while the read was under way
        cache.keep_inbox(before, &inbox(1, "k1", "Old name"));
        cache.keep_document(before, "bot", Some("{}"));
        assert!(cache.inbox(InboxId(1)).is_none());
        assert!(cache.document("bot").is_none());
        let now = cache.generation();
        cache.keep_document(now, "bot", None);
        assert_eq!(
            cache.document("bot"),
            Some(None),
            "a missing document is kept as missing"
        );
    }

    /// Another node's change is seen once the kept value is older than `FRESH`.
    #[test]
    fn kept_values_are_read_again_after_a_second() {
        let cache = Settings::default();
        cache.keep_inbox(cache.generation(), &inbox(1, "k1", "Shop"));
        cache.keep_document(cache.generation(), "bot", Some("{}"));
        std::thread::sleep(FRESH + Duration::from_millis(50));
        assert!(cache.inbox(InboxId(1)).is_none());
        assert!(cache.inbox_by_key("k1").is_none());
        assert!(cache.document("bot").is_none());
    }
}
