//! Intent recognition: TF-IDF vectors of words (stemmed per language, stop words out) and of
//! character trigrams (typos, Thai without spaces, Indonesian affixes), compared by cosine with
//! every training phrase and with each intent's centroid. One model for all four languages, so a
//! shopper who mixes them ("mau cancel order saya") still matches.
//!
//! The method was chosen by measurement (`layan bot eval`, see BENCHMARKS.md): nearest phrase
//! alone over-trusts one lucky phrase, the centroid alone blurs intents with varied phrasing;
//! their mean scored best on the team's test sets.

use std::collections::HashMap;

use layan_core::Locale;
use layan_search::analysis::{Lang, analyze, fold, has_thai, words};

use crate::intents::Intent;

/// One training phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub intent: Intent,
    pub locale: Locale,
    pub text: String,
}

/// How the intent scores are combined (kept selectable for `layan bot eval --method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The most similar single phrase.
    Nearest,
    /// The intent's mean vector.
    Centroid,
    /// The mean of both.
    Mixed,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nearest" => Some(Self::Nearest),
            "centroid" => Some(Self::Centroid),
            "mixed" => Some(Self::Mixed),
            _ => None,
        }
    }
}

/// What the classifier made of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The best intent, or `OutOfScope` when nothing scored above the threshold.
    pub intent: Intent,
    /// The best intent even when it was below the threshold.
    pub best: Intent,
    /// 0–1: the best intent's similarity.
    pub confidence: f32,
    /// The language the message is in.
    pub locale: Locale,
}

type Vector = Vec<(u32, f32)>;

pub struct Classifier {
    vocab: HashMap<String, u32>,
    idf: Vec<f32>,
    phrases: Vec<(Intent, Vector)>,
    centroids: Vec<(Intent, Vector)>,
    language: LanguageModel,
    method: Method,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("phrases", &self.phrases.len())
            .field("features", &self.vocab.len())
            .finish()
    }
}

/// The features of a text analysed as `locale`: words and trigrams, with counts.
fn features(text: &str, locale: Locale) -> Vec<String> {
    let mut out = Vec::new();
    for term in analyze(text, Lang::Known(locale)) {
        out.push(format!("w:{}", term.text));
    }
    for (word, _, _) in words(text) {
        let padded: Vec<char> = if has_thai(&word) {
            word.chars().collect()
        } else {
            format!(" {word} ").chars().collect()
        };
        if padded.len() < 3 {
            continue;
        }
        for w in padded.windows(3) {
            out.push(format!("g:{}", w.iter().collect::<String>()));
        }
    }
    out
}

/// A feature counts once however often it occurs: a word repeated a hundred times ("blah blah
/// …") must not drown the few that carry the intent.
fn presence(count: f32) -> f32 {
    if count > 0.0 { 1.0 } else { 0.0 }
}

fn normalise(v: &mut Vector) {
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in v.iter_mut() {
            *x /= norm;
        }
    }
}

fn dot(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

impl Classifier {
    /// A classifier trained on `phrases` (the built-in ones plus the shop's).
    pub fn train(phrases: &[Phrase], method: Method) -> Self {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut df: Vec<u32> = Vec::new();
        let mut raw: Vec<(Intent, HashMap<u32, f32>)> = Vec::with_capacity(phrases.len());
        for p in phrases {
            let mut counts: HashMap<u32, f32> = HashMap::new();
            for f in features(&p.text, p.locale) {
                let next = vocab.len() as u32;
                let id = *vocab.entry(f).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                *counts.entry(id).or_default() += 1.0;
            }
            for id in counts.keys() {
                df[*id as usize] += 1;
            }
            raw.push((p.intent, counts));
        }
        let n = phrases.len().max(1) as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let vector = |counts: &HashMap<u32, f32>| -> Vector {
            let mut v: Vector = counts
                .iter()
                .map(|(&id, &c)| (id, presence(c) * idf[id as usize]))
                .collect();
            v.sort_unstable_by_key(|(id, _)| *id);
            normalise(&mut v);
            v
        };
        let phrase_vectors: Vec<(Intent, Vector)> =
            raw.iter().map(|(i, c)| (*i, vector(c))).collect();
        let mut sums: HashMap<Intent, HashMap<u32, f32>> = HashMap::new();
        for (intent, v) in &phrase_vectors {
            let sum = sums.entry(*intent).or_default();
            for (id, x) in v {
                *sum.entry(*id).or_default() += x;
            }
        }
        let mut centroids: Vec<(Intent, Vector)> = sums
            .into_iter()
            .map(|(intent, sum)| {
                let mut v: Vector = sum.into_iter().collect();
                v.sort_unstable_by_key(|(id, _)| *id);
                normalise(&mut v);
                (intent, v)
            })
            .collect();
        centroids.sort_by_key(|(i, _)| *i);
        Self {
            vocab,
            idf,
            phrases: phrase_vectors,
            centroids,
            language: LanguageModel::train(phrases),
            method,
        }
    }

    pub fn phrase_count(&self) -> usize {
        self.phrases.len()
    }

    fn vector(&self, text: &str, locale: Locale) -> Vector {
        let mut counts: HashMap<u32, f32> = HashMap::new();
        for f in features(text, locale) {
            if let Some(&id) = self.vocab.get(&f) {
                *counts.entry(id).or_default() += 1.0;
            }
        }
        let mut v: Vector = counts
            .into_iter()
            .map(|(id, c)| (id, presence(c) * self.idf[id as usize]))
            .collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        normalise(&mut v);
        v
    }

    /// The language `text` is written in: Thai by its script; otherwise the training phrases'
    /// words decide between English, Indonesian and Dutch; `fallback` when nothing tells.
    pub fn language(&self, text: &str, fallback: Locale) -> Locale {
        self.language.detect(text, fallback)
    }

    /// Every intent's score for `text`, best first.
    pub fn scores(&self, text: &str, locale: Locale) -> Vec<(Intent, f32)> {
        let v = self.vector(text, locale);
        let mut nearest: HashMap<Intent, f32> = HashMap::new();
        if v.is_empty() {
            return Vec::new();
        }
        if self.method != Method::Centroid {
            for (intent, p) in &self.phrases {
                let s = dot(&v, p);
                let e = nearest.entry(*intent).or_default();
                if s > *e {
                    *e = s;
                }
            }
        }
        let mut out: Vec<(Intent, f32)> = self
            .centroids
            .iter()
            .map(|(intent, c)| {
                let near = nearest.get(intent).copied().unwrap_or(0.0);
                let score = match self.method {
                    Method::Nearest => near,
                    Method::Centroid => dot(&v, c),
                    Method::Mixed => (near + dot(&v, c)) / 2.0,
                };
                (*intent, score)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The intent of `text`; `OutOfScope` when the best score is under `threshold` (0–1).
    pub fn classify(&self, text: &str, fallback: Locale, threshold: f32) -> Prediction {
        let locale = self.language(text, fallback);
        let scores = self.scores(text, locale);
        let (best, confidence) = scores.first().copied().unwrap_or((Intent::OutOfScope, 0.0));
        let intent = if confidence < threshold {
            Intent::OutOfScope
        } else {
            best
        };
        Prediction {
            intent,
            best,
            confidence: confidence.clamp(0.0, 1.0),
            locale,
        }
    }
}

/// Word-level naive Bayes over the training phrases' languages (Latin-script ones).
struct LanguageModel {
    counts: HashMap<Locale, HashMap<String, f32>>,
    totals: HashMap<Locale, f32>,
}

const LATIN: [Locale; 3] = [Locale::En, Locale::Id, Locale::Nl];

impl LanguageModel {
    fn train(phrases: &[Phrase]) -> Self {
        let mut counts: HashMap<Locale, HashMap<String, f32>> = HashMap::new();
        let mut totals: HashMap<Locale, f32> = HashMap::new();
        for p in phrases.iter().filter(|p| LATIN.contains(&p.locale)) {
            for (w, _, _) in words(&p.text) {
                *counts.entry(p.locale).or_default().entry(w).or_default() += 1.0;
                *totals.entry(p.locale).or_default() += 1.0;
            }
        }
        Self { counts, totals }
    }

    fn detect(&self, text: &str, fallback: Locale) -> Locale {
        let thai = text
            .chars()
            .filter(|c| ('\u{0E00}'..='\u{0E7F}').contains(c))
            .count();
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        if thai > 0 && thai * 2 >= letters {
            return Locale::Th;
        }
        // Only words some language knows count: a word none has seen says nothing about the
        // language (and a long run of them would favour the smallest vocabulary).
        let words: Vec<String> = words(text)
            .into_iter()
            .map(|(w, _, _)| fold(&w))
            .filter(|w| LATIN.iter().any(|l| self.count(*l, w) > 0.0))
            .collect();
        if words.is_empty() {
            return fallback;
        }
        let mut best = (fallback, f32::MIN);
        for locale in LATIN {
            let total = self.totals.get(&locale).copied().unwrap_or(0.0);
            let vocabulary = self.counts.get(&locale).map_or(0, |c| c.len()) as f32;
            let mut score = 0.0;
            for w in &words {
                score += ((self.count(locale, w) + 0.1) / (total + 0.1 * vocabulary + 1.0)).ln();
            }
            // The shopper's known language wins a tie.
            if locale == fallback {
                score += 0.5;
            }
            if score > best.1 {
                best = (locale, score);
            }
        }
        best.0
    }

    fn count(&self, locale: Locale, word: &str) -> f32 {
        self.counts
            .get(&locale)
            .and_then(|c| c.get(word))
            .copied()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(intent: Intent, locale: Locale, text: &str) -> Phrase {
        Phrase {
            intent,
            locale,
            text: text.into(),
        }
    }

    #[test]
    fn a_small_model_separates_its_intents_and_rejects_nonsense() {
        let c = Classifier::train(
            &[
                phrase(Intent::TrackOrder, Locale::En, "where is my order"),
                phrase(Intent::TrackOrder, Locale::En, "track my parcel"),
                phrase(Intent::CancelOrder, Locale::En, "cancel my order please"),
                phrase(
                    Intent::CancelOrder,
                    Locale::En,
                    "I want to cancel the purchase",
                ),
            ],
            Method::Mixed,
        );
        assert_eq!(
            c.classify("where's my parcel?", Locale::En, 0.2).intent,
            Intent::TrackOrder
        );
        assert_eq!(
            c.classify("please cancel it", Locale::En, 0.2).intent,
            Intent::CancelOrder
        );
        let p = c.classify("zzzz qqqq", Locale::En, 0.2);
        assert_eq!(p.intent, Intent::OutOfScope);
        assert_eq!(p.confidence, 0.0);
        assert_eq!(c.classify("", Locale::En, 0.2).intent, Intent::OutOfScope);
    }
}
