//! Layan's text handling: language-aware analysis (Thai word segmentation, stemming for English,
//! Dutch and Indonesian, accent folding, typo tolerance), the full-text indexes built on tantivy,
//! and article markdown rendered safely. No database and no HTTP here: the engine feeds the
//! indexes and asks them.

pub mod analysis;
pub mod articles;
mod indonesian;
pub mod markdown;
pub mod messages;
pub mod synonyms;
pub mod tokenizer;

pub use articles::{ArticleHit, ArticleIndex, ArticleText};
pub use messages::{IndexedMessage, MessageIndex};

use layan_core::Locale;

/// The languages articles are written in, in index slot order.
pub const LOCALES: [Locale; 4] = [Locale::En, Locale::Id, Locale::Th, Locale::Nl];

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index lock poisoned")]
    Poisoned,
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("the search index is open in another process")]
    Busy,
}

/// Escapes every character that has a meaning in a regular expression.
pub(crate) fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if !c.is_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
