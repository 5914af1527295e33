//! Is the shopper angry? Words of anger and abuse in four languages, shouting in capitals, and
//! a row of exclamation marks. An angry shopper goes to a person at once.

use layan_search::analysis::{fold, words};

/// Whole words (folded) that signal anger.
const ANGRY_WORDS: &[&str] = &[
    // English
    "angry",
    "furious",
    "terrible",
    "horrible",
    "worst",
    "scam",
    "scammer",
    "fraud",
    "ridiculous",
    "useless",
    "unacceptable",
    "disgusting",
    "pathetic",
    "wtf",
    "damn",
    "stupid",
    "idiot",
    "idiots",
    "rubbish",
    "lawyer",
    "sue",
    "liars",
    "thieves",
    // Indonesian
    "marah",
    "kesal",
    "kecewa",
    "parah",
    "penipu",
    "nipu",
    "tipu",
    "bohong",
    "payah",
    "bodoh",
    "goblok",
    "anjing",
    "brengsek",
    "sialan",
    "lapor",
    "polisi",
    "keterlaluan",
    "kapok",
    // Dutch
    "boos",
    "woedend",
    "belachelijk",
    "waardeloos",
    "oplichters",
    "oplichter",
    "schandalig",
    "bedrogen",
    "klote",
    "kut",
    "idioot",
    "advocaat",
    "onacceptabel",
    "walgelijk",
];

/// Thai words, matched as substrings (Thai has no spaces).
const ANGRY_THAI: &[&str] = &[
    "โกง",
    "แย่มาก",
    "ห่วย",
    "โมโห",
    "โกรธ",
    "มิจฉาชีพ",
    "เลว",
    "ไร้สาระ",
    "ผิดหวังมาก",
    "ฟ้อง",
    "รับไม่ได้",
    "ควาย",
    "เหี้ย",
];

/// True when `text` reads as angry.
pub fn is_angry(text: &str) -> bool {
    if ANGRY_THAI.iter().any(|w| text.contains(w)) {
        return true;
    }
    let ws = words(text);
    if ws
        .iter()
        .any(|(w, _, _)| ANGRY_WORDS.contains(&fold(w).as_str()))
    {
        return true;
    }
    // Shouting: a message of at least ten letters, nearly all capitals.
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let capitals = letters.iter().filter(|c| c.is_uppercase()).count();
    (letters.len() >= 10 && capitals * 10 >= letters.len() * 8) || text.contains("!!!")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anger_in_four_languages_and_shouting() {
        assert!(is_angry("This is a SCAM, where is my money"));
        assert!(is_angry("kalian penipu ya"));
        assert!(is_angry("Dit is belachelijk"));
        assert!(is_angry("ร้านนี้โกงเงิน"));
        assert!(is_angry("WHERE IS MY ORDER"));
        assert!(is_angry("hello??!!!"));
        assert!(!is_angry("Where is my order? I ordered on Monday"));
        assert!(!is_angry("Pesanan saya di mana ya kak"));
        assert!(!is_angry("พัสดุถึงไหนแล้วคะ"));
        // A word that merely contains an angry one is not anger ("sued" ≠ "sue" aside, "sunday").
        assert!(!is_angry("Is it delivered on Sunday? PT ABC"));
    }
}
