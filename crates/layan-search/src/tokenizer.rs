//! [`crate::analysis`] as tantivy tokenizers, registered under one name per language.

use tantivy::{
    Index,
    tokenizer::{Token, TokenStream, Tokenizer},
};

use crate::LOCALES;
use crate::analysis::{self, Lang};

/// The name of the Thai character-bigram tokenizer.
pub const GRAMS: &str = "layan_grams";

/// The tokenizer name for a language.
pub fn name(lang: Lang) -> String {
    format!("layan_{}", lang.name())
}

/// Registers every Layan tokenizer on `index`.
pub fn register(index: &Index) {
    let manager = index.tokenizers();
    for locale in LOCALES {
        let lang = Lang::Known(locale);
        manager.register(&name(lang), LayanTokenizer::new(lang, false));
    }
    manager.register(
        &name(Lang::Neutral),
        LayanTokenizer::new(Lang::Neutral, false),
    );
    manager.register(GRAMS, LayanTokenizer::new(Lang::Neutral, true));
}

#[derive(Clone)]
pub struct LayanTokenizer {
    lang: Lang,
    grams: bool,
    tokens: Vec<Token>,
}

impl LayanTokenizer {
    pub fn new(lang: Lang, grams: bool) -> Self {
        Self {
            lang,
            grams,
            tokens: Vec::new(),
        }
    }
}

pub struct Stream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl Tokenizer for LayanTokenizer {
    type TokenStream<'a> = Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        self.tokens.clear();
        let terms = if self.grams {
            analysis::thai_grams(text)
        } else {
            analysis::analyze(text, self.lang)
        };
        self.tokens.extend(terms.into_iter().map(|t| Token {
            offset_from: t.from,
            offset_to: t.to,
            position: t.position,
            text: t.text,
            position_length: 1,
        }));
        Stream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

impl TokenStream for Stream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        let at = self.next.saturating_sub(1);
        &mut self.tokens[at]
    }
}
