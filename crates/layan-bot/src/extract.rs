//! Pieces the bot reads out of a shopper's message: an order number, an email address, a
//! rating, a price limit.

/// An order number as shoppers write it: `#1042`, `1042`, `order 1042`, `SB-1042`. Digits (3–12)
/// with an optional `#` or a short letter prefix; the first one in the text, as written.
pub fn order_number(text: &str) -> Option<String> {
    for raw in text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '?' | '!' | ':' | ';' | '(' | ')'))
    {
        let written = raw.trim_matches(|c: char| c == '.' || c == '"' || c == '\'');
        let token = written.strip_prefix('#').unwrap_or(written);
        let digits: String = token.chars().filter(|c| c.is_ascii_digit()).collect();
        if !(3..=12).contains(&digits.len()) {
            continue;
        }
        // Letters allowed only as a prefix (`SB-1042`, `INV1042`), not inside an amount like 300k.
        let (prefix, rest) = token.split_at(token.find(|c: char| c.is_ascii_digit()).unwrap_or(0));
        let prefix_ok =
            prefix.len() <= 5 && prefix.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
        if prefix_ok && rest.chars().all(|c| c.is_ascii_digit()) {
            return Some(written.to_string());
        }
    }
    None
}

/// The digits of an order number, for comparing `#1042` with `1042`.
pub fn order_digits(number: &str) -> String {
    number.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// The first email address in `text`, lower-cased.
pub fn email(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')'))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '"' | '\'' | ':' | '?' | '!')))
        .find(|t| {
            let Some((local, domain)) = t.split_once('@') else {
                return false;
            };
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && t.len() <= 254
                && !domain.contains('@')
        })
        .map(|t| t.to_lowercase())
}

/// A rating 1–5: a lone digit, or that many stars.
pub fn rating(text: &str) -> Option<u8> {
    let t = text.trim();
    let stars = t.chars().filter(|c| *c == '⭐' || *c == '★').count();
    if stars > 0
        && t.chars()
            .all(|c| c == '⭐' || c == '★' || c.is_whitespace() || c == '\u{fe0f}')
    {
        return u8::try_from(stars).ok().filter(|n| (1..=5).contains(n));
    }
    let digits: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '/')
        .collect();
    match digits.as_str() {
        "1" | "2" | "3" | "4" | "5" => digits.parse().ok(),
        d if d.len() == 2 && d.ends_with('5') && d.starts_with(['1', '2', '3', '4', '5']) => {
            d[..1].parse().ok()
        }
        _ => None,
    }
}

/// A price limit in the text: "under 300000", "< 300k", "di bawah 300 ribu", "onder de 20 euro",
/// "ไม่เกิน 500 บาท". Returns the amount as a whole number (k/rb/ribu ×1,000, jt/juta ×1,000,000).
pub fn max_price(text: &str) -> Option<u64> {
    let lower = text.to_lowercase();
    let markers = [
        "under",
        "below",
        "less than",
        "max",
        "<",
        "di bawah",
        "dibawah",
        "maksimal",
        "kurang dari",
        "onder",
        "minder dan",
        "maximaal",
        "ไม่เกิน",
        "ต่ำกว่า",
    ];
    let at = markers
        .iter()
        .filter_map(|m| lower.find(m).map(|i| i + m.len()))
        .min()?;
    let rest = &lower[at..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let tail = &rest[start..];
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(tail.len());
    let digits: String = tail[..end].chars().filter(|c| c.is_ascii_digit()).collect();
    let mut n: u64 = digits.parse().ok()?;
    let unit = tail[end..].trim_start();
    if unit.starts_with("jt") || unit.starts_with("juta") {
        n = n.saturating_mul(1_000_000);
    } else if unit.starts_with('k') || unit.starts_with("rb") || unit.starts_with("ribu") {
        n = n.saturating_mul(1_000);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers() {
        assert_eq!(order_number("where is #1042?").as_deref(), Some("#1042"));
        assert_eq!(order_number("order 1043 please").as_deref(), Some("1043"));
        assert_eq!(
            order_number("pesanan SB-20931 saya").as_deref(),
            Some("SB-20931")
        );
        assert_eq!(order_number("under 300k"), None);
        assert_eq!(order_number("I have 2 questions"), None);
        assert_eq!(order_digits("#SB-1042"), "1042");
    }

    #[test]
    fn emails_ratings_prices() {
        assert_eq!(
            email("it's Sari@Example.com.").as_deref(),
            Some("sari@example.com")
        );
        assert_eq!(email("no at sign"), None);
        assert_eq!(email("x@y"), None);
        assert_eq!(rating(" 4 "), Some(4));
        assert_eq!(rating("⭐⭐⭐"), Some(3));
        assert_eq!(rating("5/5"), Some(5));
        assert_eq!(rating("6"), None);
        assert_eq!(rating("order 4"), None);
        assert_eq!(max_price("sarong under 300k"), Some(300_000));
        assert_eq!(max_price("sarung di bawah 300 ribu"), Some(300_000));
        assert_eq!(max_price("jurk onder de 20 euro"), Some(20));
        assert_eq!(max_price("ผ้าซิ่นราคาไม่เกิน 500 บาท"), Some(500));
        assert_eq!(max_price("batik shirts"), None);
    }
}
