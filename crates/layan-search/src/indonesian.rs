//! Indonesian affix stripping, after the rules of Nazief and Adriani without their dictionary:
//! particles (-lah, -kah, -tah, -pun), possessives (-ku, -mu, -nya), derivational suffixes
//! (-kan, -an, -i) and up to two prefixes (di-, ke-, se-, ter-, ber-, per-, me(N)-, pe(N)-).
//!
//! Without a dictionary a nasal prefix is ambiguous: "menulis" is me- + tulis (the t melted into
//! n) while "menanti" is me- + nanti. Where a prefix can melt a letter away both readings are
//! returned; the index keeps both at the same position, so either spelling of the root matches.

/// A stem is never cut below this many letters.
const MIN_STEM: usize = 3;

/// The stem or stems of a lower-case word: the word with its particles and possessives removed,
/// with and without a derivational suffix, each with and without one prefix. Without a
/// dictionary a rule cannot tell "kembali" (a root) from ke- + mbali; keeping the unstripped
/// readings as well means a root always meets its own derived forms.
pub fn stems(word: &str) -> Vec<String> {
    let mut base = word.to_string();
    strip_suffix_any(&mut base, &["lah", "kah", "tah", "pun"]);
    strip_suffix_any(&mut base, &["nya", "ku", "mu"]);
    let unsuffixed = base.clone();
    strip_suffix_any(&mut base, &["kan", "an", "i"]);
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for reading in [base, unsuffixed] {
        for stripped in strip_one_prefix(&reading) {
            add(stripped);
        }
        add(reading);
    }
    out
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn strip_suffix_any(word: &mut String, suffixes: &[&str]) {
    for suffix in suffixes {
        if let Some(rest) = word.strip_suffix(suffix)
            && len(rest) > MIN_STEM
        {
            word.truncate(rest.len());
            return;
        }
    }
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// The readings after removing one prefix, or none when the word has no prefix.
fn strip_one_prefix(word: &str) -> Vec<String> {
    let ok = |rest: &str| len(rest) >= MIN_STEM;
    let first_after = |rest: &str| rest.chars().next().unwrap_or(' ');
    for compound in ["memper", "diper"] {
        if let Some(rest) = word.strip_prefix(compound)
            && ok(rest)
        {
            return vec![rest.to_string()];
        }
    }
    // Nasal prefixes: meng-/peng-, meny-/peny-, mem-/pem-, men-/pen-, me-/pe-.
    for (nasal, melted) in [
        ("meng", Some('k')),
        ("peng", Some('k')),
        ("meny", Some('s')),
        ("peny", Some('s')),
        ("mem", Some('p')),
        ("pem", Some('p')),
        ("men", Some('t')),
        ("pen", Some('t')),
    ] {
        if let Some(rest) = word.strip_prefix(nasal)
            && ok(rest)
        {
            let mut readings = Vec::new();
            if is_vowel(first_after(rest)) {
                if let Some(letter) = melted {
                    readings.push(format!("{letter}{rest}"));
                }
                // meny- only ever replaces s; the others may also stand before a vowel-initial root.
                if nasal != "meny" && nasal != "peny" {
                    readings.push(rest.to_string());
                }
            } else {
                readings.push(rest.to_string());
            }
            return readings;
        }
    }
    for prefix in ["ber", "ter", "per", "di", "ke", "se", "be", "me", "pe"] {
        if let Some(rest) = word.strip_prefix(prefix)
            && ok(rest)
        {
            return vec![rest.to_string()];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::stems;

    fn has(word: &str, stem: &str) -> bool {
        stems(word).iter().any(|s| s == stem)
    }

    #[test]
    fn common_shop_words_meet_their_roots() {
        assert!(has("pengiriman", "kirim"));
        assert!(has("dikirim", "kirim"));
        assert!(has("mengirimkan", "kirim"));
        assert!(has("pesanan", "pesan"));
        assert!(has("memesan", "pesan"));
        assert!(has("pengembalian", "kembali"));
        assert!(has("dikembalikan", "kembali"));
        assert!(has("pembayaran", "bayar"));
        assert!(has("membayar", "bayar"));
        assert!(has("menulis", "tulis"));
        assert!(has("penukaran", "tukar"));
        assert!(has("bukunya", "buku"));
        assert!(has("barangnya", "barang"));
        assert!(has("bagaimanakah", "bagaimana"));
        assert!(has("menyimpan", "simpan"));
    }

    #[test]
    fn short_words_and_roots_stay_whole() {
        assert_eq!(stems("beli"), ["beli"]);
        assert_eq!(stems("uang"), ["uang"]);
        assert!(has("kembali", "kembali"));
        assert!(has("memperbaiki", "baik"));
        assert!(has("ganti", "ganti"));
        assert!(has("pakai", "pakai"));
    }
}
