//! `layan bot eval`: how well the classifier does on a labelled file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use layan_core::Locale;

use crate::{Classifier, Intent};

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub utterance: String,
    pub intent: Intent,
    pub language: Option<Locale>,
}

/// A file that is not `utterance,intent[,language]` CSV.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct CsvError {
    pub line: usize,
    pub reason: String,
}

/// Splits one CSV record (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => return Err("a quote inside an unquoted field"),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("an unclosed quote");
    }
    out.push(field);
    Ok(out)
}

/// Reads `utterance,intent[,language]` with a header line naming the columns (in any order).
pub fn read_csv(text: &str) -> Result<Vec<Row>, CsvError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let bad = |line: usize, reason: String| CsvError {
        line: line + 1,
        reason,
    };
    let (n, header) = lines
        .next()
        .ok_or_else(|| bad(0, "the file is empty".into()))?;
    let header = fields(header.trim_start_matches('\u{feff}')).map_err(|e| bad(n, e.into()))?;
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(u), Some(i)) = (column("utterance"), column("intent")) else {
        return Err(bad(
            n,
            "the header must name the columns utterance and intent".into(),
        ));
    };
    let l = column("language");
    let mut rows = Vec::new();
    for (n, line) in lines {
        let f = fields(line).map_err(|e| bad(n, e.into()))?;
        let get = |k: usize| f.get(k).map(|s| s.trim()).unwrap_or("");
        let utterance = get(u);
        if utterance.is_empty() {
            return Err(bad(n, "an empty utterance".into()));
        }
        let intent =
            Intent::parse(get(i)).ok_or_else(|| bad(n, format!("unknown intent {:?}", get(i))))?;
        let language = match l.map(get).filter(|s| !s.is_empty()) {
            None => None,
            Some(tag) => Some(
                Locale::from_tag(tag).ok_or_else(|| bad(n, format!("unknown language {tag:?}")))?,
            ),
        };
        rows.push(Row {
            utterance: utterance.to_string(),
            intent,
            language,
        });
    }
    if rows.is_empty() {
        return Err(bad(n, "no rows after the header".into()));
    }
    Ok(rows)
}

/// The figures `layan bot eval` prints.
#[derive(Debug, Clone)]
pub struct Report {
    pub total: usize,
    pub correct: usize,
    /// Per language: (rows, correct).
    pub by_language: BTreeMap<&'static str, (usize, usize)>,
    /// Per intent: (true positives, predicted, actual).
    pub per_intent: BTreeMap<Intent, (usize, usize, usize)>,
    /// (expected, predicted) → count, mistakes only.
    pub confusions: BTreeMap<(Intent, Intent), usize>,
    /// Out-of-scope rows rejected / all out-of-scope rows.
    pub oos_rejected: usize,
    pub oos_total: usize,
    /// Per-utterance classification time, microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Report {
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    fn percentile(&self, p: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let at = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[at]
    }

    /// The printed report; its last line is `accuracy=0.NNN`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "utterances: {}", self.total);
        for (lang, (n, ok)) in &self.by_language {
            let _ = writeln!(
                s,
                "accuracy[{lang}]: {:.3} ({ok}/{n})",
                *ok as f64 / *n as f64
            );
        }
        let _ = writeln!(
            s,
            "\nintent                      precision  recall  support"
        );
        for (intent, (tp, predicted, actual)) in &self.per_intent {
            if *actual == 0 && *predicted == 0 {
                continue;
            }
            let p = if *predicted == 0 {
                0.0
            } else {
                *tp as f64 / *predicted as f64
            };
            let r = if *actual == 0 {
                0.0
            } else {
                *tp as f64 / *actual as f64
            };
            let _ = writeln!(s, "{:<27} {p:>9.3} {r:>7.3} {actual:>8}", intent.as_str());
        }
        let mut pairs: Vec<_> = self.confusions.iter().collect();
        pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(s, "\nconfusions (expected -> predicted: count)");
        for ((expected, predicted), n) in pairs.iter().take(20) {
            let _ = writeln!(s, "  {expected} -> {predicted}: {n}");
        }
        if pairs.is_empty() {
            let _ = writeln!(s, "  none");
        }
        let _ = writeln!(
            s,
            "\nout-of-scope rejection: {:.3} ({}/{})",
            self.oos_rejected as f64 / self.oos_total.max(1) as f64,
            self.oos_rejected,
            self.oos_total
        );
        let _ = writeln!(
            s,
            "latency: p50 {} µs, p99 {} µs",
            self.percentile(0.50),
            self.percentile(0.99)
        );
        let _ = write!(s, "accuracy={:.3}", self.accuracy());
        s
    }
}

/// Classifies every row (`fallback` language when a row has none and the text does not tell).
pub fn evaluate(classifier: &Classifier, rows: &[Row], threshold: f32, fallback: Locale) -> Report {
    let mut report = Report {
        total: rows.len(),
        correct: 0,
        by_language: BTreeMap::new(),
        per_intent: BTreeMap::new(),
        confusions: BTreeMap::new(),
        oos_rejected: 0,
        oos_total: 0,
        latencies_us: Vec::with_capacity(rows.len()),
    };
    for row in rows {
        let started = Instant::now();
        let prediction =
            classifier.classify(&row.utterance, row.language.unwrap_or(fallback), threshold);
        report
            .latencies_us
            .push(started.elapsed().as_micros() as u64);
        let ok = prediction.intent == row.intent;
        let lang = row.language.unwrap_or(prediction.locale).as_str();
        let entry = report.by_language.entry(lang).or_default();
        entry.0 += 1;
        report.per_intent.entry(row.intent).or_default().2 += 1;
        report.per_intent.entry(prediction.intent).or_default().1 += 1;
        if ok {
            report.correct += 1;
            entry.1 += 1;
            report.per_intent.entry(row.intent).or_default().0 += 1;
        } else {
            *report
                .confusions
                .entry((row.intent, prediction.intent))
                .or_default() += 1;
        }
        if row.intent == Intent::OutOfScope {
            report.oos_total += 1;
            if prediction.intent == Intent::OutOfScope {
                report.oos_rejected += 1;
            }
        }
    }
    report.latencies_us.sort_unstable();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_columns_and_errors() {
        let rows = read_csv("intent,utterance\ntrack_order,\"where, and \"\"when\"\"\"\n").unwrap();
        assert_eq!(rows[0].utterance, "where, and \"when\"");
        assert_eq!(rows[0].language, None);
        assert_eq!(read_csv("").unwrap_err().reason, "the file is empty");
        assert_eq!(read_csv("a,b\nx,y").unwrap_err().line, 1);
        let e = read_csv("utterance,intent\nhello,flying").unwrap_err();
        assert_eq!(
            (e.line, e.reason.as_str()),
            (2, "unknown intent \"flying\"")
        );
        assert_eq!(
            read_csv("utterance,intent,language\nhi,greeting,fr")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            read_csv("utterance,intent\n\"open,greeting")
                .unwrap_err()
                .reason,
            "an unclosed quote"
        );
        assert_eq!(
            read_csv("utterance,intent\n").unwrap_err().reason,
            "no rows after the header"
        );
    }
}
