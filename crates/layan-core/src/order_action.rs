//! Order actions an agent takes from a conversation (refund, cancel, resend) and the notes that
//! record them, as sentences in the acting agent's language.

use crate::Locale;

/// What the agent asked the store to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderActionKind {
    Refund,
    Cancel,
    /// A replacement order with the same items at no charge.
    Resend,
}

impl OrderActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Cancel => "cancel",
            Self::Resend => "resend",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "refund" => Some(Self::Refund),
            "cancel" => Some(Self::Cancel),
            "resend" => Some(Self::Resend),
            _ => None,
        }
    }
}

/// How an action ended, for its note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOutcome<'a> {
    /// The store did it; for a resend, the replacement order's number.
    Done { replacement: Option<&'a str> },
    /// Sent, and the store did not answer: it may have done it.
    InDoubt,
    /// An earlier request that went unanswered turns out to have been done (`id`: the store's
    /// number for it, "#509562969", when it gives one); the new one was not sent.
    DoneEarlier { id: Option<&'a str> },
}

/// The conversation note for an action: `agent` (a name), the order's `number`, a refund's
/// `amount` already formatted for `locale` ("Rp100.000").
pub fn action_note(
    kind: OrderActionKind,
    outcome: ActionOutcome<'_>,
    agent: &str,
    number: &str,
    amount: &str,
    locale: Locale,
) -> String {
    use ActionOutcome as O;
    use Locale as L;
    use OrderActionKind as K;
    match (outcome, kind, locale) {
        (O::Done { .. }, K::Refund, L::En) => {
            format!("{agent} refunded {amount} on order {number} through the store.")
        }
        (O::Done { .. }, K::Refund, L::Id) => {
            format!("{agent} mengembalikan dana {amount} untuk pesanan {number} melalui toko.")
        }
        (O::Done { .. }, K::Refund, L::Th) => {
            format!("{agent} คืนเงิน {amount} สำหรับคำสั่งซื้อ {number} ผ่านร้านค้าแล้ว")
        }
        (O::Done { .. }, K::Refund, L::Nl) => {
            format!("{agent} heeft {amount} terugbetaald voor bestelling {number} via de winkel.")
        }
        (O::Done { .. }, K::Cancel, L::En) => {
            format!("{agent} cancelled order {number} through the store.")
        }
        (O::Done { .. }, K::Cancel, L::Id) => {
            format!("{agent} membatalkan pesanan {number} melalui toko.")
        }
        (O::Done { .. }, K::Cancel, L::Th) => {
            format!("{agent} ยกเลิกคำสั่งซื้อ {number} ผ่านร้านค้าแล้ว")
        }
        (O::Done { .. }, K::Cancel, L::Nl) => {
            format!("{agent} heeft bestelling {number} geannuleerd via de winkel.")
        }
        (O::Done { replacement }, K::Resend, locale) => {
            let new = replacement.unwrap_or("?");
            match locale {
                L::En => format!(
                    "{agent} sent order {number} again as replacement order {new} through the store."
                ),
                L::Id => format!(
                    "{agent} mengirim ulang pesanan {number} sebagai pesanan pengganti {new} melalui toko."
                ),
                L::Th => format!("{agent} ส่งคำสั่งซื้อ {number} อีกครั้งเป็นคำสั่งซื้อทดแทน {new} ผ่านร้านค้าแล้ว"),
                L::Nl => format!(
                    "{agent} heeft bestelling {number} opnieuw verstuurd als vervangende bestelling {new} via de winkel."
                ),
            }
        }
        (O::InDoubt, K::Refund, L::En) => format!(
            "{agent} asked the store to refund {amount} on order {number}; the store did not answer in time and may have done it. Trying again first asks the store, so nothing is refunded twice."
        ),
        (O::InDoubt, K::Refund, L::Id) => format!(
            "{agent} meminta toko mengembalikan dana {amount} untuk pesanan {number}; toko tidak menjawab tepat waktu dan mungkin sudah melakukannya. Mencoba lagi akan menanyakan toko dulu, jadi dana tidak dikembalikan dua kali."
        ),
        (O::InDoubt, K::Refund, L::Th) => format!(
            "{agent} ขอให้ร้านค้าคืนเงิน {amount} สำหรับคำสั่งซื้อ {number} แต่ร้านค้าไม่ตอบกลับทันเวลาและอาจดำเนินการไปแล้ว การลองอีกครั้งจะสอบถามร้านค้าก่อน จึงไม่คืนเงินซ้ำ"
        ),
        (O::InDoubt, K::Refund, L::Nl) => format!(
            "{agent} vroeg de winkel {amount} terug te betalen voor bestelling {number}; de winkel antwoordde niet op tijd en heeft het misschien gedaan. Opnieuw proberen vraagt het eerst aan de winkel, dus er wordt niets dubbel terugbetaald."
        ),
        (O::InDoubt, K::Cancel, L::En) => format!(
            "{agent} asked the store to cancel order {number}; the store did not answer in time and may have done it. Trying again first asks the store."
        ),
        (O::InDoubt, K::Cancel, L::Id) => format!(
            "{agent} meminta toko membatalkan pesanan {number}; toko tidak menjawab tepat waktu dan mungkin sudah melakukannya. Mencoba lagi akan menanyakan toko dulu."
        ),
        (O::InDoubt, K::Cancel, L::Th) => format!(
            "{agent} ขอให้ร้านค้ายกเลิกคำสั่งซื้อ {number} แต่ร้านค้าไม่ตอบกลับทันเวลาและอาจดำเนินการไปแล้ว การลองอีกครั้งจะสอบถามร้านค้าก่อน"
        ),
        (O::InDoubt, K::Cancel, L::Nl) => format!(
            "{agent} vroeg de winkel bestelling {number} te annuleren; de winkel antwoordde niet op tijd en heeft het misschien gedaan. Opnieuw proberen vraagt het eerst aan de winkel."
        ),
        (O::InDoubt, K::Resend, L::En) => format!(
            "{agent} asked the store to send order {number} again; the store did not answer in time and may have done it. Trying again first asks the store, so nothing is sent twice."
        ),
        (O::InDoubt, K::Resend, L::Id) => format!(
            "{agent} meminta toko mengirim ulang pesanan {number}; toko tidak menjawab tepat waktu dan mungkin sudah melakukannya. Mencoba lagi akan menanyakan toko dulu, jadi tidak ada yang terkirim dua kali."
        ),
        (O::InDoubt, K::Resend, L::Th) => format!(
            "{agent} ขอให้ร้านค้าส่งคำสั่งซื้อ {number} อีกครั้ง แต่ร้านค้าไม่ตอบกลับทันเวลาและอาจดำเนินการไปแล้ว การลองอีกครั้งจะสอบถามร้านค้าก่อน จึงไม่ส่งซ้ำ"
        ),
        (O::InDoubt, K::Resend, L::Nl) => format!(
            "{agent} vroeg de winkel bestelling {number} opnieuw te versturen; de winkel antwoordde niet op tijd en heeft het misschien gedaan. Opnieuw proberen vraagt het eerst aan de winkel, dus er wordt niets dubbel verstuurd."
        ),
        (O::DoneEarlier { id }, kind, locale) => {
            let r = id.map(|i| format!(" ({i})")).unwrap_or_default();
            match (kind, locale) {
                (K::Refund, L::En) => format!(
                    "The store confirms the earlier refund of {amount} on order {number} was made{r}; {agent}'s new request was not sent, so nothing was refunded twice."
                ),
                (K::Refund, L::Id) => format!(
                    "Toko memastikan pengembalian dana {amount} sebelumnya untuk pesanan {number} sudah dilakukan{r}; permintaan baru {agent} tidak dikirim, jadi dana tidak dikembalikan dua kali."
                ),
                (K::Refund, L::Th) => format!(
                    "ร้านค้ายืนยันว่าการคืนเงิน {amount} ครั้งก่อนสำหรับคำสั่งซื้อ {number} ทำไปแล้ว{r} คำขอใหม่ของ {agent} จึงไม่ถูกส่ง เพื่อไม่ให้คืนเงินซ้ำ"
                ),
                (K::Refund, L::Nl) => format!(
                    "De winkel bevestigt dat de eerdere terugbetaling van {amount} voor bestelling {number} is gedaan{r}; het nieuwe verzoek van {agent} is niet verstuurd, dus er is niets dubbel terugbetaald."
                ),
                (K::Cancel, L::En) => format!(
                    "The store confirms order {number} was cancelled by the earlier request; {agent}'s new request was not sent."
                ),
                (K::Cancel, L::Id) => format!(
                    "Toko memastikan pesanan {number} sudah dibatalkan oleh permintaan sebelumnya; permintaan baru {agent} tidak dikirim."
                ),
                (K::Cancel, L::Th) => format!(
                    "ร้านค้ายืนยันว่าคำสั่งซื้อ {number} ถูกยกเลิกแล้วจากคำขอก่อนหน้า คำขอใหม่ของ {agent} จึงไม่ถูกส่ง"
                ),
                (K::Cancel, L::Nl) => format!(
                    "De winkel bevestigt dat bestelling {number} door het eerdere verzoek is geannuleerd; het nieuwe verzoek van {agent} is niet verstuurd."
                ),
                (K::Resend, L::En) => format!(
                    "The store confirms the earlier replacement for order {number} was made{r}; {agent}'s new request was not sent, so nothing was sent twice."
                ),
                (K::Resend, L::Id) => format!(
                    "Toko memastikan pengganti sebelumnya untuk pesanan {number} sudah dibuat{r}; permintaan baru {agent} tidak dikirim, jadi tidak ada yang terkirim dua kali."
                ),
                (K::Resend, L::Th) => format!(
                    "ร้านค้ายืนยันว่าคำสั่งซื้อทดแทนครั้งก่อนสำหรับ {number} สร้างแล้ว{r} คำขอใหม่ของ {agent} จึงไม่ถูกส่ง เพื่อไม่ให้ส่งซ้ำ"
                ),
                (K::Resend, L::Nl) => format!(
                    "De winkel bevestigt dat de eerdere vervanging voor bestelling {number} is gemaakt{r}; het nieuwe verzoek van {agent} is niet verstuurd, dus er is niets dubbel verstuurd."
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_sentences_in_the_agents_language() {
        let done = ActionOutcome::Done { replacement: None };
        assert_eq!(
            action_note(
                OrderActionKind::Refund,
                done,
                "Ana",
                "#5031",
                "Rp100.000",
                Locale::En
            ),
            "Ana refunded Rp100.000 on order #5031 through the store."
        );
        assert_eq!(
            action_note(
                OrderActionKind::Cancel,
                done,
                "Ana",
                "#5031",
                "",
                Locale::Nl
            ),
            "Ana heeft bestelling #5031 geannuleerd via de winkel."
        );
        let resend = action_note(
            OrderActionKind::Resend,
            ActionOutcome::Done {
                replacement: Some("#1043"),
            },
            "Ana Wijaya",
            "#5032",
            "",
            Locale::Id,
        );
        assert_eq!(
            resend,
            "Ana Wijaya mengirim ulang pesanan #5032 sebagai pesanan pengganti #1043 melalui toko."
        );
        // Every kind and outcome has its own words in every language (no English leaking).
        for kind in [
            OrderActionKind::Refund,
            OrderActionKind::Cancel,
            OrderActionKind::Resend,
        ] {
            for outcome in [
                done,
                ActionOutcome::InDoubt,
                ActionOutcome::DoneEarlier { id: Some("#9") },
            ] {
                let en = action_note(kind, outcome, "A", "#1", "Rp1", Locale::En);
                for l in [Locale::Id, Locale::Th, Locale::Nl] {
                    let other = action_note(kind, outcome, "A", "#1", "Rp1", l);
                    assert_ne!(other, en, "{kind:?} {outcome:?} {l:?}");
                    assert!(other.contains("#1"));
                }
            }
        }
    }
}
