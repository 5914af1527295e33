//! Language-aware analysis: the same function turns an article, a message and a query into terms,
//! so that what a shopper types meets what the shop wrote.
//!
//! Steps: word segmentation by ICU4X (UAX #29 for spaced scripts; a dictionary for Thai, which has
//! no spaces between words; compiled into the binary, no data files at run time), lower-casing,
//! accent folding for Latin letters only (Thai vowel and tone marks are combining characters too
//! and carry meaning), stop words, then stemming: Snowball for English and Dutch, our own affix
//! rules for Indonesian, none for Thai. For Thai text there is also a character-bigram stream
//! ([`thai_grams`]) that finds words even where the segmenter cut a long string differently
//! from the query.

use std::sync::LazyLock;

use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed, options::WordBreakInvariantOptions};
use layan_core::Locale;
use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

/// How a text is analysed: by the language it is written in, or language-neutral (segmentation
/// and folding, no stop words or stemming) when the language is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Known(Locale),
    Neutral,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Self::Known(locale) => locale.as_str(),
            Self::Neutral => "any",
        }
    }
}

/// One term with the byte range of the word it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub from: usize,
    pub to: usize,
    /// The word's position; terms from one word (Indonesian stem alternatives) share it.
    pub position: usize,
}

/// Queries and texts are cut to this many bytes before analysis (a pasted essay in the search box
/// costs no more than a long question).
pub const MAX_ANALYSED_BYTES: usize = 64 * 1024;

static SEGMENTER: LazyLock<WordSegmenterBorrowed<'static>> =
    LazyLock::new(|| WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()));
static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static DUTCH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Dutch));

/// The words of `text` (segmented, lower-cased, folded), with byte offsets; no stop words removed,
/// nothing stemmed.
pub fn words(text: &str) -> Vec<(String, usize, usize)> {
    let text = cut(text, MAX_ANALYSED_BYTES);
    let mut out = Vec::new();
    let mut breaks = SEGMENTER.segment_str(text);
    let mut previous = 0;
    while let Some(at) = breaks.next() {
        if at > previous {
            if breaks.is_word_like() {
                let word = fold(&text[previous..at]);
                if !word.is_empty() {
                    out.push((word, previous, at));
                }
            }
            previous = at;
        }
    }
    out
}

/// The terms of `text` analysed as `lang`.
pub fn analyze(text: &str, lang: Lang) -> Vec<Term> {
    let mut out = Vec::new();
    for (position, (word, from, to)) in words(text).into_iter().enumerate() {
        if is_stop_word(&word, lang) {
            continue;
        }
        for stem in stems(&word, lang) {
            out.push(Term {
                text: stem,
                from,
                to,
                position,
            });
        }
    }
    out
}

/// Overlapping pairs of Thai character clusters (a consonant with its vowel and tone marks), for
/// each run of Thai letters in `text`.
pub fn thai_grams(text: &str) -> Vec<Term> {
    let text = cut(text, MAX_ANALYSED_BYTES);
    let mut out = Vec::new();
    // (start byte, end byte) of each cluster in the current run of Thai letters.
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize)>, out: &mut Vec<Term>| {
        for pair in run.windows(2) {
            let (from, to) = (pair[0].0, pair[1].1);
            out.push(Term {
                text: text[from..to].to_string(),
                from,
                to,
                position: out.len(),
            });
        }
        if run.len() == 1 {
            let (from, to) = run[0];
            out.push(Term {
                text: text[from..to].to_string(),
                from,
                to,
                position: out.len(),
            });
        }
        run.clear();
    };
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if is_thai_mark(c) {
            if let Some(last) = run.last_mut() {
                last.1 = end;
            }
        } else if is_thai_letter(c) {
            run.push((at, end));
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Whether the text has any Thai letter.
pub fn has_thai(text: &str) -> bool {
    text.chars().any(is_thai_letter)
}

fn is_thai_letter(c: char) -> bool {
    matches!(c, '\u{0E01}'..='\u{0E30}' | '\u{0E32}'..='\u{0E33}' | '\u{0E40}'..='\u{0E46}')
}

fn is_thai_mark(c: char) -> bool {
    matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}')
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lower-case, strip Latin accents (é → e, ö → o), drop apostrophes and similar marks inside a
/// word ("auto's" → "autos", "don't" → "dont") so that typing without them still matches.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfd() {
        match c {
            '\u{0300}'..='\u{036F}' => {}
            '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{00B4}' => {}
            'ß' => out.push_str("ss"),
            'ø' | 'Ø' => out.push('o'),
            'æ' | 'Æ' => out.push_str("ae"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn stems(word: &str, lang: Lang) -> Vec<String> {
    // Numbers, codes and mixed tokens ("3.5kg", "ord1042") are kept as they are.
    if !word.chars().all(char::is_alphabetic) {
        return vec![word.to_string()];
    }
    match lang {
        Lang::Known(Locale::En) => vec![ENGLISH.stem(word).into_owned()],
        Lang::Known(Locale::Nl) => vec![DUTCH.stem(word).into_owned()],
        Lang::Known(Locale::Id) => crate::indonesian::stems(word),
        Lang::Known(Locale::Th) | Lang::Neutral => vec![word.to_string()],
    }
}

fn is_stop_word(word: &str, lang: Lang) -> bool {
    let list: &[&str] = match lang {
        Lang::Known(Locale::En) => &[
            "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "is", "are", "was",
            "be", "do", "does", "did", "i", "im", "my", "me", "you", "your", "we", "our", "us",
            "it", "its", "this", "that", "with", "how", "what", "when", "where", "which", "can",
            "could", "would", "will", "please", "from", "by", "as", "there", "have", "has", "hi",
            "hello", "get",
        ],
        Lang::Known(Locale::Id) => &[
            "yang",
            "dan",
            "di",
            "ke",
            "dari",
            "untuk",
            "dengan",
            "saya",
            "aku",
            "kami",
            "kita",
            "anda",
            "kamu",
            "ini",
            "itu",
            "apa",
            "apakah",
            "bagaimana",
            "gimana",
            "kapan",
            "berapa",
            "bisa",
            "tolong",
            "mohon",
            "ada",
            "adalah",
            "atau",
            "juga",
            "sudah",
            "akan",
            "pada",
            "ya",
            "halo",
            "kak",
            "min",
            "dong",
            "nya",
            "mau",
            "ingin",
        ],
        Lang::Known(Locale::Nl) => &[
            "de", "het", "een", "en", "of", "van", "in", "op", "te", "voor", "is", "zijn", "was",
            "ik", "mijn", "me", "je", "jouw", "u", "uw", "we", "wij", "ons", "onze", "dit", "dat",
            "met", "hoe", "wat", "wanneer", "waar", "kan", "kunnen", "wil", "graag", "er", "aan",
            "bij", "naar", "om", "hallo", "hoi", "mag", "moet",
        ],
        Lang::Known(Locale::Th) => &[
            "ที่",
            "และ",
            "ของ",
            "ใน",
            "การ",
            "ได้",
            "ไหม",
            "ครับ",
            "ค่ะ",
            "คะ",
            "จะ",
            "เป็น",
            "มี",
            "ให้",
            "ว่า",
            "ผม",
            "ฉัน",
            "ดิฉัน",
            "อย่างไร",
            "ยังไง",
            "บ้าง",
            "หรือ",
            "กับ",
            "นะ",
            "ความ",
            "อยาก",
            "ต้องการ",
            "คุณ",
            "เรา",
            "จ้า",
            "หน่อย",
            "สวัสดี",
        ],
        Lang::Neutral => &[],
    };
    list.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, lang: Lang) -> Vec<String> {
        analyze(text, lang).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn thai_is_segmented_into_words() {
        let words: Vec<String> = words("นโยบายการคืนสินค้า").into_iter().map(|w| w.0).collect();
        assert_eq!(words, ["นโยบาย", "การ", "คืน", "สินค้า"]);
        // The stop word การ goes; the others stay unstemmed.
        assert_eq!(
            texts("นโยบายการคืนสินค้า", Lang::Known(Locale::Th)),
            ["นโยบาย", "คืน", "สินค้า"]
        );
    }

    #[test]
    fn latin_accents_fold_but_thai_marks_stay() {
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("Überweisung"), "uberweisung");
        assert_eq!(fold("สินค้า"), "สินค้า");
        assert_eq!(fold("auto's"), "autos");
    }

    #[test]
    fn english_and_dutch_are_stemmed() {
        assert_eq!(
            texts("Returning my orders", Lang::Known(Locale::En)),
            ["return", "order"]
        );
        let nl = Lang::Known(Locale::Nl);
        assert_eq!(texts("bestellingen", nl), texts("bestelling", nl));
        assert_eq!(texts("retourneren", nl), texts("retourneer", nl));
    }

    #[test]
    fn offsets_point_at_the_original_words() {
        let text = "Wáár is mijn pakket?";
        let terms = analyze(text, Lang::Known(Locale::Nl));
        let pakket = terms.iter().find(|t| t.text == "pakket").expect("pakket");
        assert_eq!(&text[pakket.from..pakket.to], "pakket");
    }

    #[test]
    fn punctuation_only_and_huge_inputs_are_harmless() {
        assert!(analyze("?!…—()[]{}*+\\^$|", Lang::Known(Locale::En)).is_empty());
        let long = "ข้อความ".repeat(50_000);
        assert!(!analyze(&long, Lang::Known(Locale::Th)).is_empty());
        let cut_mid_char = cut("สินค้า", 4);
        assert!(cut_mid_char.len() <= 4);
    }

    #[test]
    fn thai_grams_cover_clusters() {
        let grams: Vec<String> = thai_grams("คืนเงิน").into_iter().map(|t| t.text).collect();
        assert_eq!(grams, ["คืน", "นเ", "เงิ", "งิน"]);
        let single: Vec<String> = thai_grams("ก ข").into_iter().map(|t| t.text).collect();
        assert_eq!(single, ["ก", "ข"]);
    }
}
