//! Built-in shop vocabulary: words shoppers use for the same thing ("terugsturen" for
//! "retourneren", "ongkir" for "ongkos kirim", "ส่งของ" for "จัดส่ง"). A query term also looks for
//! the other words of its group, counting a little less than the word itself. Groups are written
//! as plain words and analysed like everything else, so they meet stemmed text.

use std::{collections::HashMap, sync::LazyLock};

use layan_core::Locale;

use crate::analysis::{Lang, analyze};

const GROUPS: &[(Locale, &[&str])] = &[
    (Locale::En, &["parcel", "package", "shipment"]),
    (Locale::En, &["delivery", "shipping", "ship"]),
    (Locale::En, &["refund", "reimbursement", "money"]),
    (Locale::En, &["return", "exchange", "swap"]),
    (Locale::En, &["cancel", "cancellation"]),
    (Locale::En, &["password", "login", "signin"]),
    (Locale::En, &["wash", "clean", "laundry"]),
    (Locale::En, &["size", "fit", "measurement"]),
    (Locale::Id, &["ongkir", "ongkos", "biaya"]),
    (Locale::Id, &["resi", "lacak", "tracking"]),
    (Locale::Id, &["paket", "barang", "kiriman"]),
    (Locale::Id, &["retur", "kembali", "tukar"]),
    (Locale::Id, &["refund", "dana", "uang"]),
    (Locale::Id, &["password", "sandi"]),
    (Locale::Id, &["batal", "cancel"]),
    (Locale::Id, &["ukuran", "size"]),
    (
        Locale::Nl,
        &["terugsturen", "retourneren", "retour", "terugzenden"],
    ),
    (
        Locale::Nl,
        &[
            "levering",
            "bezorging",
            "levertijd",
            "verzending",
            "verzenden",
        ],
    ),
    (Locale::Nl, &["pakket", "zending", "pakje"]),
    (Locale::Nl, &["geld", "terugbetaling", "terugbetalen"]),
    (Locale::Nl, &["annuleren", "annulering"]),
    (Locale::Nl, &["wachtwoord", "inloggen"]),
    (Locale::Nl, &["maat", "maten", "maattabel"]),
    (Locale::Th, &["จ่าย", "ชำระ"]),
    (Locale::Th, &["พัสดุ", "สินค้า"]),
];

/// Analysed term → the analysed terms of its groups, per locale.
static TABLE: LazyLock<HashMap<(&'static str, String), Vec<String>>> = LazyLock::new(|| {
    let mut table: HashMap<(&'static str, String), Vec<String>> = HashMap::new();
    for (locale, words) in GROUPS {
        // Only words that stay one term (a Thai phrase the segmenter splits would make its
        // parts synonyms of each other).
        let terms: Vec<String> = words
            .iter()
            .filter_map(|w| {
                let mut terms = analyze(w, Lang::Known(*locale));
                (terms.len() == 1).then(|| terms.remove(0).text)
            })
            .collect();
        for term in &terms {
            let entry = table.entry((locale.as_str(), term.clone())).or_default();
            for other in &terms {
                if other != term && !entry.contains(other) {
                    entry.push(other.clone());
                }
            }
        }
    }
    table
});

/// The other terms that mean what `term` (already analysed) means in `locale`.
pub fn of(locale: Locale, term: &str) -> &'static [String] {
    TABLE
        .get(&(locale.as_str(), term.to_string()))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_meet_analysed_terms() {
        let nl = analyze("terugsturen", Lang::Known(Locale::Nl))[0]
            .text
            .clone();
        let retour = analyze("retourneren", Lang::Known(Locale::Nl))[0]
            .text
            .clone();
        assert!(of(Locale::Nl, &nl).contains(&retour));
        assert!(of(Locale::Th, "จ่าย").iter().any(|t| t == "ชำระ"));
        assert!(of(Locale::En, "unrelated").is_empty());
    }
}
