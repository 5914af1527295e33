//! The team's training phrases, compiled into the binary (`data/<locale>.txt`: `intent | phrase`).
//! The test sets (`eval/<locale>.csv`) are separate files, never used for training.

use layan_core::Locale;

use crate::{Intent, Phrase};

const FILES: [(Locale, &str); 4] = [
    (Locale::En, include_str!("../data/en.txt")),
    (Locale::Id, include_str!("../data/id.txt")),
    (Locale::Th, include_str!("../data/th.txt")),
    (Locale::Nl, include_str!("../data/nl.txt")),
];

/// The team's test sets (`utterance,intent,language`), for `layan bot eval` and the tests.
pub const TEST_SETS: [(Locale, &str); 4] = [
    (Locale::En, include_str!("../eval/en.csv")),
    (Locale::Id, include_str!("../eval/id.csv")),
    (Locale::Th, include_str!("../eval/th.csv")),
    (Locale::Nl, include_str!("../eval/nl.csv")),
];

/// A line of a phrase file that is not `intent | phrase` with a known intent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

/// Reads `intent | phrase` lines (blank lines and `#` comments skipped).
pub fn parse_phrases(locale: Locale, text: &str) -> Result<Vec<Phrase>, BadLine> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| BadLine {
            line: n + 1,
            reason: reason.to_string(),
        };
        let (intent, phrase) = line
            .split_once('|')
            .ok_or_else(|| bad("expected `intent | phrase`"))?;
        let intent = Intent::parse(intent).ok_or_else(|| bad("unknown intent"))?;
        let phrase = phrase.trim();
        if phrase.is_empty() {
            return Err(bad("empty phrase"));
        }
        out.push(Phrase {
            intent,
            locale,
            text: phrase.to_string(),
        });
    }
    Ok(out)
}

/// Every built-in training phrase.
pub fn builtin_phrases() -> Vec<Phrase> {
    let mut out = Vec::new();
    for (locale, text) in FILES {
        // The files are ours and checked by a test; a bad line there is a build mistake.
        match parse_phrases(locale, text) {
            Ok(p) => out.extend(p),
            Err(e) => panic!("data/{}.txt: {e}", locale.as_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_has_phrases_in_every_language_and_tests_are_not_training() {
        let phrases = builtin_phrases();
        for &intent in Intent::ALL {
            for locale in Locale::ALL {
                let n = phrases
                    .iter()
                    .filter(|p| p.intent == intent && p.locale == locale)
                    .count();
                assert!(n >= 4, "{intent} has {n} phrases in {locale:?}");
            }
        }
        let training: std::collections::HashSet<String> =
            phrases.iter().map(|p| p.text.to_lowercase()).collect();
        for (_, csv) in TEST_SETS {
            let rows = crate::eval::read_csv(csv).expect("test set reads");
            assert!(rows.len() > 80);
            for row in rows {
                let text = row
                    .utterance
                    .trim_end_matches(['?', '!', '.'])
                    .to_lowercase();
                assert!(
                    !training.contains(&text),
                    "test utterance {text:?} is a training phrase"
                );
            }
        }
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            parse_phrases(Locale::En, "# ok\ntrack_order | where\nnope").unwrap_err(),
            BadLine {
                line: 3,
                reason: "expected `intent | phrase`".into()
            }
        );
        assert_eq!(
            parse_phrases(Locale::En, "flying | x").unwrap_err().reason,
            "unknown intent"
        );
        assert_eq!(
            parse_phrases(Locale::En, "track_order |  ")
                .unwrap_err()
                .reason,
            "empty phrase"
        );
    }
}
