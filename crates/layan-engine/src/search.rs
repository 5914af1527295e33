//! Conversation search: the message index kept current by an indexer task. The database is the
//! truth; the index follows it by message id (its watermark), woken by every message stored on
//! this node (at most one commit per `GATHER`) and polling for the rest (other nodes'
//! messages). On PostgreSQL a transaction can commit after one with a higher id: ids the
//! indexer saw skipped are looked up again for a minute before they count as rolled back.

use std::sync::Arc;
use std::time::Duration;

use layan_core::{ConversationId, InboxId, MessageId, Millis, now_millis};
use layan_search::{IndexedMessage, MessageIndex};
use layan_store::{IndexableMessage, IndexedSearch};

use crate::{Engine, EngineResult};

/// How often the indexer looks for messages stored elsewhere.
const POLL: Duration = Duration::from_secs(1);
/// After a commit, the indexer waits this long before the next one (at most a few commits a
/// second under load instead of one per message).
const GATHER: Duration = Duration::from_millis(250);
/// Messages per database read and index commit.
const BATCH: u32 = 2_000;
/// How long a skipped id is looked for again.
const GAP_PATIENCE_MS: Millis = 60_000;
/// At most this many skipped ids are remembered.
const MAX_GAPS: usize = 10_000;
/// At most this many conversations come back from one search.
pub const MAX_SEARCH_CONVERSATIONS: usize = 1_000;

/// Where the indexer is: the last id indexed and the ids it saw skipped (with when).
#[derive(Default)]
pub(crate) struct IndexerState {
    watermark: Option<i64>,
    gaps: Vec<(i64, Millis)>,
}

pub(crate) fn indexed(m: IndexableMessage) -> IndexedMessage {
    IndexedMessage {
        id: m.id.0,
        conversation_id: m.conversation_id.0,
        inbox_id: m.inbox_id.0,
        created_at: m.created_at,
        body: m.body,
    }
}

impl Engine {
    /// Uses `index` for conversation search (default: one in memory).
    pub fn with_message_index(mut self, index: MessageIndex) -> Self {
        self.messages = Arc::new(index);
        self
    }

    /// Starts this node's indexer (one task).
    pub fn start_indexer(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                let indexed = match engine.index_new_messages().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "indexing messages failed; retrying");
                        0
                    }
                };
                if indexed < BATCH as usize {
                    // A commit costs several fsyncs and a new segment: after one, let messages
                    // gather for a moment (searches read the not yet indexed ones from the
                    // database meanwhile), then wait for the next.
                    if indexed > 0 {
                        tokio::time::sleep(GATHER).await;
                    }
                    tokio::select! {
                        () = engine.index_wake.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
            }
        });
    }

    /// Indexes one batch of messages stored since the last time (and skipped ids that turned
    /// up); returns how many.
    pub async fn index_new_messages(&self) -> EngineResult<usize> {
        let _one_at_a_time = self.indexer.lock().await;
        let (watermark, gap_ids) = {
            let mut state = self.indexer_state.lock().expect("indexer state");
            let watermark = *state
                .watermark
                .get_or_insert_with(|| self.messages.watermark());
            let now = now_millis();
            state.gaps.retain(|(_, seen)| now - seen < GAP_PATIENCE_MS);
            let ids: Vec<MessageId> = state.gaps.iter().map(|(id, _)| MessageId(*id)).collect();
            (watermark, ids)
        };
        let fresh = self
            .store
            .indexable_messages_after(MessageId(watermark), BATCH)
            .await?;
        let late = self.store.indexable_messages_by_ids(&gap_ids).await?;
        if fresh.is_empty() && late.is_empty() {
            return Ok(0);
        }
        // Ids between the watermark and the newest one read that were not there.
        let mut skipped = Vec::new();
        let mut expected = watermark + 1;
        for m in &fresh {
            if m.id.0 > expected {
                skipped.extend((expected..m.id.0).take(MAX_GAPS));
            }
            expected = m.id.0 + 1;
        }
        let top = fresh.last().map_or(watermark, |m| m.id.0);
        let found: Vec<i64> = late.iter().map(|m| m.id.0).collect();
        let docs: Vec<IndexedMessage> = fresh.into_iter().chain(late).map(indexed).collect();
        let n = docs.len();
        self.index_batch(docs, top).await?;
        let mut state = self.indexer_state.lock().expect("indexer state");
        state.watermark = Some(top);
        state.gaps.retain(|(id, _)| !found.contains(id));
        let now = now_millis();
        for id in skipped {
            if state.gaps.len() < MAX_GAPS {
                state.gaps.push((id, now));
            }
        }
        Ok(n)
    }

    /// Adds messages to the index and commits them with `watermark`.
    async fn index_batch(&self, docs: Vec<IndexedMessage>, watermark: i64) -> EngineResult<()> {
        let index = self.messages.clone();
        crate::blocking(move || {
            index.add(&docs)?;
            index.commit(watermark)
        })
        .await
    }

    /// Empties the message index and indexes every message again, reporting (done, total).
    pub async fn rebuild_message_index(
        &self,
        mut progress: impl FnMut(u64, u64),
    ) -> EngineResult<u64> {
        let _one_at_a_time = self.indexer.lock().await;
        let (total, _) = self.store.message_totals().await?;
        let index = self.messages.clone();
        crate::blocking(move || {
            index.clear()?;
            index.commit(0)
        })
        .await?;
        let mut done = 0u64;
        let mut watermark = 0;
        progress(0, total);
        loop {
            let batch = self
                .store
                .indexable_messages_after(MessageId(watermark), 10 * BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            watermark = last.id.0;
            done += batch.len() as u64;
            self.index_batch(batch.into_iter().map(indexed).collect(), watermark)
                .await?;
            progress(done, total.max(done));
        }
        *self.indexer_state.lock().expect("indexer state") = IndexerState {
            watermark: Some(watermark),
            gaps: Vec::new(),
        };
        Ok(done)
    }

    /// Conversations with an indexed message matching `text`, newest first, and how far the
    /// index goes; `inboxes`: only these (`None`: all).
    pub async fn search_conversations(
        &self,
        text: &str,
        inboxes: Option<&[InboxId]>,
    ) -> EngineResult<IndexedSearch> {
        // Read before searching: the searcher holds at least this much.
        let through = {
            let state = self.indexer_state.lock().expect("indexer state");
            state.watermark
        }
        .unwrap_or_else(|| self.messages.watermark());
        let index = self.messages.clone();
        let text = text.to_owned();
        let inboxes: Option<Vec<i64>> = inboxes.map(|l| l.iter().map(|i| i.0).collect());
        let ids = crate::blocking(move || {
            index.search(&text, inboxes.as_deref(), MAX_SEARCH_CONVERSATIONS)
        })
        .await?;
        Ok(IndexedSearch {
            conversations: ids.into_iter().map(ConversationId).collect(),
            through: MessageId(through),
        })
    }

    /// How many messages the conversation index holds.
    pub fn indexed_messages(&self) -> u64 {
        self.messages.len()
    }
}
