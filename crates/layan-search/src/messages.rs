//! The conversation search index: every message (notes included — only agents search it), one
//! tantivy document each, its text analysed language-neutrally (Thai segmented into words, case
//! and accents folded, no stemming: a conversation mixes languages) plus Thai character bigrams,
//! so that a Thai word is found inside a longer Thai string.
//!
//! It lives in a directory of its own (the node's data directory) and is derived data: the
//! database is the truth. Each commit records the highest message id indexed (the watermark), so
//! a node that restarts — or crashed — indexes only what came after. Adding a message that is
//! already there replaces it, so indexing twice is harmless.

use std::path::Path;
use std::sync::Mutex;

use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
    collector::TopDocs,
    directory::MmapDirectory,
    query::{BooleanQuery, FuzzyTermQuery, Occur, Query, RegexQuery, TermQuery, TermSetQuery},
    schema::{
        Field, INDEXED, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    },
};

use crate::analysis::{self, Lang};
use crate::tokenizer;
use crate::{SearchError, regex_escape};

/// A message as the index takes it.
#[derive(Debug, Clone)]
pub struct IndexedMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub inbox_id: i64,
    pub created_at: i64,
    pub body: String,
}

/// Bumped when the schema or the analysis changes: an index of another version is rebuilt.
const VERSION: &str = "messages-v1";
/// Queries longer than this many words use only the first ones.
const MAX_QUERY_TERMS: usize = 16;
/// At most this many matching messages are looked at per search (the newest).
const MAX_MESSAGES: usize = 5_000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    conversation: Field,
    inbox: Field,
    created_at: Field,
    body: Field,
    grams: Field,
}

pub struct MessageIndex {
    index: Index,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    f: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut schema = Schema::builder();
    let id = schema.add_i64_field("id", INDEXED);
    let fast = || NumericOptions::default().set_fast();
    let conversation = schema.add_i64_field("conversation_id", fast());
    let inbox = schema.add_i64_field("inbox_id", fast().set_indexed());
    let created_at = schema.add_i64_field("created_at", fast());
    let text = |name: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(name)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let body = schema.add_text_field("body", text(&tokenizer::name(Lang::Neutral)));
    let grams = schema.add_text_field("grams", text(tokenizer::GRAMS));
    (
        schema.build(),
        Fields {
            id,
            conversation,
            inbox,
            created_at,
            body,
            grams,
        },
    )
}

impl MessageIndex {
    /// Opens the index in `dir`, creating it (or recreating it, when it was written by another
    /// version) as needed. `SearchError::Busy` when another process has it open for writing.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir).map_err(SearchError::Io)?;
        let (schema, f) = schema();
        let directory =
            MmapDirectory::open(dir).map_err(|e| SearchError::Io(std::io::Error::other(e)))?;
        let exists =
            Index::exists(&directory).map_err(|e| SearchError::Io(std::io::Error::other(e)))?;
        let index = match exists {
            true => {
                let existing = Index::open(directory.clone())?;
                let current = existing.load_metas()?.payload.unwrap_or_default();
                if existing.schema() == schema && current.starts_with(&format!("{VERSION}:")) {
                    existing
                } else {
                    drop(existing);
                    wipe(dir)?;
                    Index::create(directory, schema, tantivy::IndexSettings::default())?
                }
            }
            false => Index::create(directory, schema, tantivy::IndexSettings::default())?,
        };
        Self::with_index(index, f)
    }

    /// An index in memory (tests, or a node whose directory is taken).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, f) = schema();
        Self::with_index(Index::create_in_ram(schema), f)
    }

    fn with_index(index: Index, f: Fields) -> Result<Self, SearchError> {
        tokenizer::register(&index);
        let writer = index
            .writer_with_num_threads(1, 15_000_000)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => SearchError::Busy,
                other => other.into(),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            writer: Mutex::new(writer),
            reader,
            f,
        })
    }

    /// The highest message id the last commit covered (0 for a new index).
    pub fn watermark(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.strip_prefix(&format!("{VERSION}:"))?.parse().ok())
            .unwrap_or(0)
    }

    /// Adds messages, replacing any already indexed under the same id. Visible after
    /// [`MessageIndex::commit`].
    pub fn add(&self, messages: &[IndexedMessage]) -> Result<(), SearchError> {
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        for m in messages {
            writer.delete_term(Term::from_field_i64(self.f.id, m.id));
            let mut doc = TantivyDocument::new();
            doc.add_i64(self.f.id, m.id);
            doc.add_i64(self.f.conversation, m.conversation_id);
            doc.add_i64(self.f.inbox, m.inbox_id);
            doc.add_i64(self.f.created_at, m.created_at);
            doc.add_text(self.f.body, &m.body);
            if analysis::has_thai(&m.body) {
                doc.add_text(self.f.grams, &m.body);
            }
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Empties the index (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        writer.delete_all_documents()?;
        Ok(())
    }

    /// Makes what was added durable and searchable, recording `watermark`.
    pub fn commit(&self, watermark: i64) -> Result<(), SearchError> {
        {
            let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&format!("{VERSION}:{watermark}"));
            commit.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Rewrites the segments that hold deleted documents without them and removes the files
    /// that are no longer used, so words that were erased (a customer's erasure replaces their
    /// messages) are gone from the files on disk, not only marked deleted.
    pub fn purge_deleted(&self) -> Result<(), SearchError> {
        {
            let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
            let with_deletes: Vec<_> = self
                .index
                .searchable_segment_metas()?
                .into_iter()
                .filter(tantivy::index::SegmentMeta::has_deletes)
                .map(|m| m.id())
                .collect();
            if !with_deletes.is_empty() {
                writer.merge(&with_deletes).wait()?;
            }
            writer.garbage_collect_files().wait()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// How many messages are indexed (as of the last commit).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The conversations with a message that has every word of `text` (a word may also be the
    /// start of a longer one, or one typo away when long; a Thai word may sit inside a longer
    /// Thai string), newest message first, at most `limit`. `inboxes`: only these inboxes
    /// (`None`: all). Text with nothing searchable finds nothing; query syntax means nothing.
    pub fn search(
        &self,
        text: &str,
        inboxes: Option<&[i64]>,
        limit: usize,
    ) -> Result<Vec<i64>, SearchError> {
        let Some(query) = self.build_query(text, inboxes) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top: Vec<(Option<i64>, DocAddress)> = searcher.search(
            &query,
            &TopDocs::with_limit(MAX_MESSAGES).order_by_fast_field("created_at", Order::Desc),
        )?;
        conversations_of(&searcher, &top, limit)
    }

    fn build_query(&self, text: &str, inboxes: Option<&[i64]>) -> Option<Box<dyn Query>> {
        let mut words: Vec<String> = Vec::new();
        for term in analysis::analyze(text, Lang::Neutral) {
            if !words.contains(&term.text) {
                words.push(term.text);
            }
            if words.len() == MAX_QUERY_TERMS {
                break;
            }
        }
        if words.is_empty() {
            return None;
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &words {
            let exact = Term::from_field_text(self.f.body, word);
            let mut any: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Should,
                Box::new(TermQuery::new(exact.clone(), IndexRecordOption::Basic)),
            )];
            let chars = word.chars().count();
            if analysis::has_thai(word) {
                // Every pair of the word's clusters in the message: the word inside a longer
                // string the segmenter cut differently.
                let grams: Vec<(Occur, Box<dyn Query>)> = analysis::thai_grams(word)
                    .into_iter()
                    .map(|g| {
                        let q: Box<dyn Query> = Box::new(TermQuery::new(
                            Term::from_field_text(self.f.grams, &g.text),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Must, q)
                    })
                    .collect();
                if !grams.is_empty() {
                    any.push((Occur::Should, Box::new(BooleanQuery::new(grams))));
                }
            } else {
                if chars >= 3 {
                    let pattern = format!("{}.+", regex_escape(word));
                    if let Ok(q) = RegexQuery::from_pattern(&pattern, self.f.body) {
                        any.push((Occur::Should, Box::new(q)));
                    }
                }
                if chars >= 5 {
                    any.push((Occur::Should, Box::new(FuzzyTermQuery::new(exact, 1, true))));
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if let Some(inboxes) = inboxes {
            let terms = inboxes
                .iter()
                .map(|i| Term::from_field_i64(self.f.inbox, *i));
            must.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        Some(Box::new(BooleanQuery::new(must)))
    }
}

/// The distinct conversations of `top` in order, at most `limit`.
fn conversations_of(
    searcher: &Searcher,
    top: &[(Option<i64>, DocAddress)],
    limit: usize,
) -> Result<Vec<i64>, SearchError> {
    let mut columns = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        columns.push(segment.fast_fields().i64("conversation_id")?);
    }
    let mut out: Vec<i64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, address) in top {
        let column = &columns[address.segment_ord as usize];
        if let Some(c) = column.first(address.doc_id)
            && seen.insert(c)
        {
            out.push(c);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Removes an index written by another version (its files only).
fn wipe(dir: &Path) -> Result<(), SearchError> {
    for entry in std::fs::read_dir(dir).map_err(SearchError::Io)? {
        let path = entry.map_err(SearchError::Io)?.path();
        if path.is_file() {
            std::fs::remove_file(&path).map_err(SearchError::Io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: i64, conversation: i64, inbox: i64, body: &str) -> IndexedMessage {
        IndexedMessage {
            id,
            conversation_id: conversation,
            inbox_id: inbox,
            created_at: id * 1000,
            body: body.into(),
        }
    }

    fn sample() -> MessageIndex {
        let index = MessageIndex::in_memory().unwrap();
        index
            .add(&[
                msg(1, 10, 1, "Waar is mijn pakket? Bestelling #1042"),
                msg(2, 10, 1, "Uw pakket is onderweg met PostNL"),
                msg(3, 11, 1, "Paket saya belum sampai di Surabaya"),
                msg(4, 12, 2, "ส่งของไปเชียงใหม่ใช้เวลากี่วันคะ"),
                msg(5, 13, 2, "The refund for order 1042 was approved"),
                msg(6, 14, 1, "Café au lait mug arrived broken"),
            ])
            .unwrap();
        index.commit(6).unwrap();
        index
    }

    #[test]
    fn finds_words_prefixes_typos_accents_and_thai_inside_strings() {
        let index = sample();
        let find = |q: &str| index.search(q, None, 10).unwrap();
        assert_eq!(find("onderweg"), vec![10]);
        assert_eq!(
            find("pakket"),
            vec![11, 10],
            "one letter off: the Indonesian spelling too"
        );
        assert_eq!(find("PAKKET onderweg"), vec![10], "every word, any case");
        assert_eq!(find("pak"), vec![11, 10], "a prefix; newest message first");
        assert_eq!(find("surabya"), vec![11], "one letter missing");
        assert_eq!(find("srabya"), Vec::<i64>::new(), "two are too many");
        assert_eq!(find("surabay"), vec![11], "a prefix");
        assert_eq!(find("refnud"), vec![13], "swapped letters are one typo");
        assert_eq!(find("rafnxd"), Vec::<i64>::new());
        assert_eq!(find("approvd"), vec![13], "one typo");
        assert_eq!(find("cafe"), vec![14], "accents folded");
        assert_eq!(find("เชียงใหม่"), vec![12]);
        assert_eq!(find("ใช้เวลา"), vec![12], "inside a longer Thai string");
        assert_eq!(
            find("pakket refund"),
            Vec::<i64>::new(),
            "all words in one message"
        );
    }

    #[test]
    fn restricted_to_inboxes_and_replacing_by_id() {
        let index = sample();
        assert_eq!(index.search("1042", Some(&[2]), 10).unwrap(), vec![13]);
        assert_eq!(
            index.search("1042", Some(&[]), 10).unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(index.search("1042", None, 10).unwrap(), vec![13, 10]);
        assert_eq!(index.search("1042", None, 1).unwrap(), vec![13], "limit");
        index.add(&[msg(5, 13, 2, "changed text")]).unwrap();
        index.commit(6).unwrap();
        assert_eq!(index.len(), 6, "replaced, not added");
        assert_eq!(index.search("1042", None, 10).unwrap(), vec![10]);
    }

    #[test]
    fn noise_and_query_syntax_find_nothing_without_errors() {
        let index = sample();
        for q in [
            "",
            "   ",
            "?!*",
            "a:b OR (c",
            ".*",
            "\\",
            "[",
            &"ab ".repeat(5000),
        ] {
            assert!(index.search(q, None, 10).is_ok(), "{q:?}");
        }
        assert_eq!(index.search("onderweg)", None, 10).unwrap(), vec![10]);
    }

    /// A replaced message's old words stay in the index's files (its segment only marks the
    /// document deleted) until `purge_deleted` merges that segment away.
    #[test]
    fn purging_removes_the_words_of_replaced_messages_from_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let index = MessageIndex::open(dir.path()).unwrap();
        index
            .add(&[msg(1, 30, 1, "kode saya zq7kanari"), msg(2, 31, 1, "halo")])
            .unwrap();
        index.commit(2).unwrap();
        let holds = |word: &str| {
            index.reader.searcher().segment_readers().iter().any(|seg| {
                seg.inverted_index(index.f.body)
                    .unwrap()
                    .terms()
                    .get(word.as_bytes())
                    .unwrap()
                    .is_some()
            })
        };
        assert!(holds("zq7kanari"));
        index.add(&[msg(1, 30, 1, "[removed]")]).unwrap();
        index.commit(2).unwrap();
        assert_eq!(
            index.search("zq7kanari", None, 10).unwrap(),
            Vec::<i64>::new()
        );
        assert!(holds("zq7kanari"), "only marked deleted so far");
        index.purge_deleted().unwrap();
        assert!(!holds("zq7kanari"), "gone from the segments");
        assert_eq!(index.search("halo", None, 10).unwrap(), vec![31]);
        assert_eq!(index.len(), 2);
        // And from the directory's files (no segment file of the old version is left).
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        index.purge_deleted().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            files,
            "nothing left to collect"
        );
    }

    #[test]
    fn on_disk_it_keeps_the_watermark_and_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = MessageIndex::open(dir.path()).unwrap();
            assert_eq!(index.watermark(), 0);
            index.add(&[msg(7, 20, 1, "hello there")]).unwrap();
            index.commit(7).unwrap();
            assert!(matches!(
                MessageIndex::open(dir.path()),
                Err(SearchError::Busy)
            ));
        }
        let index = MessageIndex::open(dir.path()).unwrap();
        assert_eq!(index.watermark(), 7);
        assert_eq!(index.search("hello", None, 10).unwrap(), vec![20]);
    }
}
