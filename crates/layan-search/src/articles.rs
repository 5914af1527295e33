//! The help-center index: every published article translation, one tantivy document each, with
//! title and body analysed in the translation's language. Kept in memory (articles are few and
//! small; it is rebuilt from the database at start-up in well under a second for thousands) and
//! updated on every change.

use std::sync::Mutex;

use layan_core::Locale;
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
    collector::TopDocs,
    query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RegexQuery,
        TermQuery,
    },
    schema::{
        Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
        TextOptions, Value,
    },
};

use crate::analysis::{self, Lang};
use crate::tokenizer;
use crate::{LOCALES, SearchError, regex_escape, synonyms};

/// One published translation of an article, as the index sees it.
#[derive(Debug, Clone)]
pub struct ArticleText {
    pub article_id: i64,
    pub locale: Locale,
    pub slug: String,
    pub title: String,
    /// Plain text (markdown already stripped).
    pub body: String,
}

/// A search result: which article, in which language, how well it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleHit {
    pub article_id: i64,
    pub locale: Locale,
    pub slug: String,
    pub title: String,
    /// The start of the article's text.
    pub excerpt: String,
    pub score: f32,
}

/// How long an excerpt is, in characters.
const EXCERPT_CHARS: usize = 160;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    locale: Field,
    title: [Field; 4],
    body: [Field; 4],
    grams: Field,
    slug: Field,
    shown_title: Field,
    excerpt: Field,
}

pub struct ArticleIndex {
    index: Index,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    f: Fields,
}

/// Queries longer than this many terms use only the first ones.
const MAX_QUERY_TERMS: usize = 32;

fn slot(locale: Locale) -> usize {
    LOCALES.iter().position(|l| *l == locale).unwrap_or(0)
}

impl ArticleIndex {
    pub fn new() -> Result<Self, SearchError> {
        let mut schema = Schema::builder();
        let id = schema.add_i64_field("id", NumericOptions::default().set_indexed().set_stored());
        let locale = schema.add_text_field("locale", STRING);
        let text = |name: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(name)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let title = LOCALES.map(|l| {
            schema.add_text_field(
                &format!("title_{}", l.as_str()),
                text(&tokenizer::name(Lang::Known(l))),
            )
        });
        let body = LOCALES.map(|l| {
            schema.add_text_field(
                &format!("body_{}", l.as_str()),
                text(&tokenizer::name(Lang::Known(l))),
            )
        });
        let grams = schema.add_text_field("grams", text(tokenizer::GRAMS));
        let slug = schema.add_text_field("slug", STORED);
        let shown_title = schema.add_text_field("shown_title", STORED);
        let excerpt = schema.add_text_field("excerpt", STORED);
        let index = Index::create_in_ram(schema.build());
        tokenizer::register(&index);
        let writer = index.writer_with_num_threads(1, 15_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            writer: Mutex::new(writer),
            reader,
            f: Fields {
                id,
                locale,
                title,
                body,
                grams,
                slug,
                shown_title,
                excerpt,
            },
        })
    }

    fn document(&self, text: &ArticleText) -> TantivyDocument {
        let s = slot(text.locale);
        let mut doc = TantivyDocument::new();
        doc.add_i64(self.f.id, text.article_id);
        doc.add_text(self.f.locale, text.locale.as_str());
        doc.add_text(self.f.title[s], &text.title);
        doc.add_text(self.f.body[s], &text.body);
        doc.add_text(self.f.slug, &text.slug);
        doc.add_text(self.f.shown_title, &text.title);
        doc.add_text(
            self.f.excerpt,
            crate::markdown::excerpt(&text.body, EXCERPT_CHARS),
        );
        if text.locale == Locale::Th {
            doc.add_text(self.f.grams, &text.title);
            doc.add_text(self.f.grams, &text.body);
        }
        doc
    }

    fn write(
        &self,
        change: impl FnOnce(&mut IndexWriter) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        change(&mut writer)?;
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Puts an article's published translations in the index, replacing what it had (an empty
    /// list removes the article: unpublished or deleted).
    pub fn replace(&self, article_id: i64, texts: &[ArticleText]) -> Result<(), SearchError> {
        self.write(|writer| {
            writer.delete_term(Term::from_field_i64(self.f.id, article_id));
            for text in texts {
                writer.add_document(self.document(text))?;
            }
            Ok(())
        })
    }

    /// Empties the index and adds every text, calling `progress` with the count so far.
    pub fn rebuild(
        &self,
        texts: impl IntoIterator<Item = ArticleText>,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, SearchError> {
        let mut count = 0;
        self.write(|writer| {
            writer.delete_all_documents()?;
            for text in texts {
                writer.add_document(self.document(&text))?;
                count += 1;
                if count % 1000 == 0 {
                    progress(count);
                }
            }
            Ok(())
        })?;
        progress(count);
        Ok(count)
    }

    /// How many translations are indexed.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best articles in `locale` for `query`, best first. A query with nothing searchable in
    /// it (punctuation, stop words only) finds nothing; query syntax has no meaning here.
    pub fn search(
        &self,
        locale: Locale,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ArticleHit>, SearchError> {
        let Some(query) = self.build_query(locale, query) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let stored = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            if let Some(article_id) = doc.get_first(self.f.id).and_then(|v| v.as_i64()) {
                hits.push(ArticleHit {
                    article_id,
                    locale,
                    slug: stored(self.f.slug),
                    title: stored(self.f.shown_title),
                    excerpt: stored(self.f.excerpt),
                    score,
                });
            }
        }
        Ok(hits)
    }

    fn build_query(&self, locale: Locale, text: &str) -> Option<Box<dyn Query>> {
        let s = slot(locale);
        let mut terms: Vec<String> = Vec::new();
        for term in analysis::analyze(text, Lang::Known(locale)) {
            if !terms.contains(&term.text) {
                terms.push(term.text);
            }
            if terms.len() == MAX_QUERY_TERMS {
                break;
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let boosted = |q: Box<dyn Query>, by: f32| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(q, by)))
        };
        let last = terms.len().saturating_sub(1);
        for (at, term) in terms.iter().enumerate() {
            let title = Term::from_field_text(self.f.title[s], term);
            let body = Term::from_field_text(self.f.body[s], term);
            clauses.push(boosted(
                Box::new(TermQuery::new(title.clone(), IndexRecordOption::WithFreqs)),
                2.5,
            ));
            clauses.push(boosted(
                Box::new(TermQuery::new(body.clone(), IndexRecordOption::WithFreqs)),
                1.0,
            ));
            let latin = !analysis::has_thai(term);
            let chars = term.chars().count();
            // One typo forgiven in longer Latin words ("retrun", "pengirman"); a fuzzy match
            // counts for less than the word itself.
            if chars >= 5 && latin {
                clauses.push(boosted(Box::new(FuzzyTermQuery::new(title, 1, true)), 0.8));
                clauses.push(boosted(Box::new(FuzzyTermQuery::new(body, 1, true)), 0.3));
            }
            // A word as the start of a longer one: Dutch and Indonesian compounds
            // ("levering" → "levertijd") and the word the shopper is still typing.
            if latin && (chars >= 4 || (at == last && chars >= 2)) {
                let pattern = format!("{}.+", regex_escape(term));
                for (field, boost) in [(self.f.title[s], 0.6), (self.f.body[s], 0.25)] {
                    if let Ok(q) = RegexQuery::from_pattern(&pattern, field) {
                        clauses.push(boosted(Box::new(q), boost));
                    }
                }
            }
            for synonym in synonyms::of(locale, term) {
                let title = Term::from_field_text(self.f.title[s], synonym);
                let body = Term::from_field_text(self.f.body[s], synonym);
                clauses.push(boosted(
                    Box::new(TermQuery::new(title, IndexRecordOption::WithFreqs)),
                    1.5,
                ));
                clauses.push(boosted(
                    Box::new(TermQuery::new(body, IndexRecordOption::WithFreqs)),
                    0.6,
                ));
            }
        }
        if locale == Locale::Th {
            let mut grams: Vec<String> = Vec::new();
            for gram in analysis::thai_grams(text) {
                if !grams.contains(&gram.text) && grams.len() < 4 * MAX_QUERY_TERMS {
                    grams.push(gram.text);
                }
            }
            for gram in grams {
                let term = Term::from_field_text(self.f.grams, &gram);
                clauses.push(boosted(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    0.15,
                ));
            }
        }
        if clauses.is_empty() {
            return None;
        }
        let in_locale = Box::new(ConstScoreQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(self.f.locale, locale.as_str()),
                IndexRecordOption::Basic,
            )),
            0.0,
        ));
        Some(Box::new(BooleanQuery::new(vec![
            (Occur::Must, in_locale),
            (Occur::Must, Box::new(BooleanQuery::new(clauses))),
        ])))
    }

    #[doc(hidden)]
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(id: i64, locale: Locale, title: &str, body: &str) -> ArticleText {
        ArticleText {
            article_id: id,
            locale,
            slug: format!("a{id}"),
            title: title.into(),
            body: body.into(),
        }
    }

    fn ids(index: &ArticleIndex, locale: Locale, q: &str) -> Vec<i64> {
        index
            .search(locale, q, 5)
            .expect("search")
            .into_iter()
            .map(|h| h.article_id)
            .collect()
    }

    fn sample() -> ArticleIndex {
        let index = ArticleIndex::new().expect("index");
        index
            .replace(
                1,
                &[
                    text(
                        1,
                        Locale::En,
                        "Returns and refunds",
                        "Send the item back within 30 days for a refund.",
                    ),
                    text(
                        1,
                        Locale::Th,
                        "การคืนสินค้าและการคืนเงิน",
                        "ส่งสินค้าคืนภายใน 30 วันเพื่อรับเงินคืน",
                    ),
                ],
            )
            .expect("replace");
        index
            .replace(
                2,
                &[
                    text(
                        2,
                        Locale::En,
                        "Shipping times",
                        "Orders are delivered in 2 to 5 days.",
                    ),
                    text(2, Locale::Th, "ระยะเวลาจัดส่ง", "สินค้าจะถูกจัดส่งภายใน 2 ถึง 5 วัน"),
                ],
            )
            .expect("replace");
        index
    }

    #[test]
    fn finds_by_stem_typo_and_inside_thai_strings() {
        let index = sample();
        assert_eq!(ids(&index, Locale::En, "refunding")[0], 1);
        let hit = &index.search(Locale::En, "refund", 1).expect("search")[0];
        assert_eq!(
            (hit.slug.as_str(), hit.title.as_str()),
            ("a1", "Returns and refunds")
        );
        assert!(hit.excerpt.starts_with("Send the item back"));
        assert_eq!(ids(&index, Locale::En, "shiping times")[0], 2);
        // The word still being typed.
        assert_eq!(ids(&index, Locale::En, "refu")[0], 1);
        assert_eq!(ids(&index, Locale::Th, "คืนเงิน")[0], 1);
        assert_eq!(ids(&index, Locale::Th, "จัดส่งกี่วัน")[0], 2);
        // Only the shopper's language is searched.
        assert!(ids(&index, Locale::Nl, "refund").is_empty());
    }

    #[test]
    fn replace_and_remove_update_the_index() {
        let index = sample();
        assert_eq!(index.len(), 4);
        index
            .replace(1, &[text(1, Locale::En, "Exchanges", "Swap a size.")])
            .expect("replace");
        assert!(ids(&index, Locale::En, "refund").is_empty());
        assert_eq!(ids(&index, Locale::En, "exchange"), [1]);
        index.replace(1, &[]).expect("remove");
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn query_syntax_and_noise_are_plain_text() {
        let index = sample();
        for q in [
            "",
            "???",
            "title:refund AND (",
            "*",
            "\\",
            "+-&&||!(){}[]^\"~*?:/",
            "the and of",
        ] {
            assert!(index.search(Locale::En, q, 5).is_ok(), "{q}");
        }
        assert!(ids(&index, Locale::En, "\"refund\"~2^5").contains(&1));
        let long = "refund ".repeat(10_000);
        assert_eq!(ids(&index, Locale::En, &long)[0], 1);
    }

    #[test]
    fn rebuild_reports_progress() {
        let index = sample();
        let mut seen = Vec::new();
        let texts = (10..2510).map(|i| text(i, Locale::En, &format!("Article {i}"), "Body"));
        let count = index.rebuild(texts, |n| seen.push(n)).expect("rebuild");
        assert_eq!(count, 2500);
        assert_eq!(seen, [1000, 2000, 2500]);
        assert_eq!(index.len(), 2500);
    }
}
