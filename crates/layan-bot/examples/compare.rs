//! Compares the classifier's methods and thresholds on the team's test sets:
//! `cargo run --release -p layan-bot --example compare`.
use layan_bot::{Classifier, Method, data, eval};

fn main() {
    let phrases = data::builtin_phrases();
    let mut rows = Vec::new();
    for (_, csv) in data::TEST_SETS {
        rows.extend(eval::read_csv(csv).expect("test set"));
    }
    if std::env::args().any(|a| a == "--detail") {
        let c = Classifier::train(&phrases, Method::Mixed);
        for row in &rows {
            let p = c.classify(
                &row.utterance,
                row.language.unwrap_or(layan_core::Locale::En),
                0.25,
            );
            if p.intent != row.intent {
                println!(
                    "{:?} {} -> {} ({:.2}) {}",
                    row.language, row.intent, p.intent, p.confidence, row.utterance
                );
            }
        }
        return;
    }
    for method in [Method::Nearest, Method::Centroid, Method::Mixed] {
        let c = Classifier::train(&phrases, method);
        for threshold in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4] {
            let r = eval::evaluate(&c, &rows, threshold, layan_core::Locale::En);
            let langs: Vec<String> = r
                .by_language
                .iter()
                .map(|(l, (n, ok))| format!("{l} {:.3}", *ok as f64 / *n as f64))
                .collect();
            println!(
                "{method:?} t={threshold:.2}: accuracy {:.3} [{}] oos rejected {}/{}",
                r.accuracy(),
                langs.join(", "),
                r.oos_rejected,
                r.oos_total
            );
        }
    }
}
