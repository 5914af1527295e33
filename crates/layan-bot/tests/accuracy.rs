//! The classifier on the team's test sets (never used for training): a floor per language under
//! which a change to the method or the phrases is a regression. The figures themselves are in
//! BENCHMARKS.md (`layan bot eval`).
#![allow(clippy::unwrap_used)]

use layan_bot::{Classifier, Intent, Method, data, eval, settings::DEFAULT_THRESHOLD};

#[test]
fn every_language_stays_above_its_floor_and_out_of_scope_is_rejected() {
    let classifier = Classifier::train(&data::builtin_phrases(), Method::Mixed);
    let mut oos = (0, 0);
    for (locale, csv) in data::TEST_SETS {
        let rows = eval::read_csv(csv).unwrap();
        let report = eval::evaluate(&classifier, &rows, DEFAULT_THRESHOLD, locale);
        assert!(
            report.accuracy() >= 0.72,
            "{}: {}",
            locale.as_str(),
            report.render()
        );
        // The language is recognised for nearly every row (Thai by script, the rest by words).
        let detected = rows
            .iter()
            .filter(|r| classifier.language(&r.utterance, layan_core::Locale::En) == locale)
            .count();
        assert!(
            detected * 10 >= rows.len() * 9,
            "{}: language {detected}/{}",
            locale.as_str(),
            rows.len()
        );
        oos.0 += report.oos_rejected;
        oos.1 += report.oos_total;
    }
    assert!(
        oos.0 * 4 >= oos.1 * 3,
        "out of scope rejected {}/{}",
        oos.0,
        oos.1
    );
}

#[test]
fn the_same_text_gets_the_same_answer_and_nonsense_is_out_of_scope() {
    let c = Classifier::train(&data::builtin_phrases(), Method::Mixed);
    let a = c.classify(
        "where is my parcel",
        layan_core::Locale::En,
        DEFAULT_THRESHOLD,
    );
    let b = c.classify(
        "where is my parcel",
        layan_core::Locale::En,
        DEFAULT_THRESHOLD,
    );
    assert_eq!(a, b);
    assert_eq!(a.intent, Intent::TrackOrder);
    for text in ["", "🙂🙂", "xq zv kw", "1234 5678"] {
        assert_eq!(
            c.classify(text, layan_core::Locale::En, DEFAULT_THRESHOLD)
                .intent,
            Intent::OutOfScope,
            "{text:?}"
        );
    }
}
