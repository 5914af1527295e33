//! Proactive messages: the rules a shop turns on (a late shipment, an order unfulfilled past
//! the processing time, a follow-up after delivery with a CSAT or NPS question), quiet hours,
//! and the messages' words in four languages. Pure: the engine finds the orders and sends.

use serde::{Deserialize, Serialize};

use crate::{InvalidValue, Locale, Millis, Order};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LateShipmentRule {
    pub enabled: bool,
    /// Hours after the expected delivery before the customer is told (default 24).
    #[serde(default = "default_grace")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 720))]
    pub grace_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UnfulfilledRule {
    pub enabled: bool,
    /// Days after the order before the customer is told; unset: one day more than the
    /// shipping policy's longest processing time (or 3 without a policy).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60))]
    pub after_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Survey {
    /// "How did it go? 1–5."
    Csat,
    /// "How likely are you to recommend us? 0–10."
    Nps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AfterDeliveryRule {
    pub enabled: bool,
    /// Days after delivery (default 3).
    #[serde(default = "default_days_after")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60))]
    pub days: u32,
    #[serde(default = "default_survey")]
    pub survey: Survey,
}

/// Hours in which no proactive message is sent, in the shop's time (`utc_offset_minutes`:
/// +420 for Jakarta and Bangkok, +60 or +120 for Amsterdam). `start` after `end` spans midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// "21:00"
    pub start: String,
    /// "08:00"
    pub end: String,
    #[cfg_attr(feature = "openapi", schema(minimum = -720, maximum = 840))]
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProactiveRules {
    pub late_shipment: LateShipmentRule,
    pub unfulfilled: UnfulfilledRule,
    pub after_delivery: AfterDeliveryRule,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Only orders from the last N days are considered (default 30), so turning a rule on
    /// does not write to every customer of past years.
    #[serde(default = "default_lookback")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub lookback_days: u32,
}

fn default_grace() -> u32 {
    24
}
fn default_days_after() -> u32 {
    3
}
fn default_survey() -> Survey {
    Survey::Csat
}
fn default_lookback() -> u32 {
    30
}

impl Default for ProactiveRules {
    /// Everything off until the shop turns it on.
    fn default() -> Self {
        Self {
            late_shipment: LateShipmentRule {
                enabled: false,
                grace_hours: default_grace(),
            },
            unfulfilled: UnfulfilledRule {
                enabled: false,
                after_days: None,
            },
            after_delivery: AfterDeliveryRule {
                enabled: false,
                days: default_days_after(),
                survey: Survey::Csat,
            },
            quiet_hours: None,
            lookback_days: default_lookback(),
        }
    }
}

/// Minutes after midnight of "HH:MM".
fn minutes(field: &str, hhmm: &str) -> Result<i64, InvalidValue> {
    let bad = || InvalidValue::new("invalid_rules", format!("{field}: a time like \"21:00\""));
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

impl ProactiveRules {
    /// Names the first bad field.
    pub fn check(&self) -> Result<(), InvalidValue> {
        let bad = |m: &str| Err(InvalidValue::new("invalid_rules", m.to_string()));
        if self.late_shipment.grace_hours > 24 * 30 {
            return bad("late_shipment.grace_hours: at most 720");
        }
        if self
            .unfulfilled
            .after_days
            .is_some_and(|d| d == 0 || d > 60)
        {
            return bad("unfulfilled.after_days: 1 to 60");
        }
        if self.after_delivery.days == 0 || self.after_delivery.days > 60 {
            return bad("after_delivery.days: 1 to 60");
        }
        if self.lookback_days == 0 || self.lookback_days > 365 {
            return bad("lookback_days: 1 to 365");
        }
        if let Some(q) = &self.quiet_hours {
            minutes("quiet_hours.start", &q.start)?;
            minutes("quiet_hours.end", &q.end)?;
            if q.start == q.end {
                return bad("quiet_hours: start and end differ");
            }
            if !(-12 * 60..=14 * 60).contains(&q.utc_offset_minutes) {
                return bad("quiet_hours.utc_offset_minutes: -720 to 840");
            }
        }
        Ok(())
    }

    pub fn any_enabled(&self) -> bool {
        self.late_shipment.enabled || self.unfulfilled.enabled || self.after_delivery.enabled
    }

    /// When quiet hours hold at `now`, the time they end; `None` when messages may go out.
    pub fn quiet_until(&self, now: Millis) -> Option<Millis> {
        let q = self.quiet_hours.as_ref()?;
        let start = minutes("start", &q.start).ok()?;
        let end = minutes("end", &q.end).ok()?;
        let local = now + i64::from(q.utc_offset_minutes) * MINUTE_MS;
        let minute_of_day = local.rem_euclid(DAY_MS) / MINUTE_MS;
        let quiet = if start < end {
            (start..end).contains(&minute_of_day)
        } else {
            minute_of_day >= start || minute_of_day < end
        };
        if !quiet {
            return None;
        }
        let wait_minutes = (end - minute_of_day).rem_euclid(24 * 60);
        // To the start of the ending minute.
        Some(now - local.rem_euclid(MINUTE_MS) + wait_minutes * MINUTE_MS)
    }

    /// How long after the order an unfulfilled one is reported.
    pub fn unfulfilled_after_ms(&self, policy_max_processing_days: Option<u32>) -> i64 {
        let days = self
            .unfulfilled
            .after_days
            .or(policy_max_processing_days.map(|d| d + 1))
            .unwrap_or(3);
        i64::from(days) * DAY_MS
    }
}

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProactiveKind {
    LateShipment,
    Unfulfilled,
    AfterDelivery(Survey),
}

/// The message for this order in the customer's language.
pub fn proactive_text(
    kind: ProactiveKind,
    order: &Order,
    name: Option<&str>,
    locale: Locale,
) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let first = name.map(|n| n.split_whitespace().next().unwrap_or(n));
    let hello = match (locale, first) {
        (Locale::En, Some(n)) => format!("Hi {n},"),
        (Locale::En, None) => "Hi,".to_string(),
        (Locale::Id, Some(n)) => format!("Halo {n},"),
        (Locale::Id, None) => "Halo,".to_string(),
        (Locale::Th, Some(n)) => format!("สวัสดีค่ะ คุณ{n}"),
        (Locale::Th, None) => "สวัสดีค่ะ".to_string(),
        (Locale::Nl, Some(n)) => format!("Hoi {n},"),
        (Locale::Nl, None) => "Hoi,".to_string(),
    };
    let number = &order.number;
    match kind {
        ProactiveKind::LateShipment => {
            let late = order
                .shipments
                .iter()
                .find(|s| s.delivered_at.is_none() && s.expected_delivery_at.is_some());
            let carrier = late.and_then(|s| s.carrier.clone());
            let tracking = late.and_then(|s| s.tracking_url.clone());
            let carrier = carrier.unwrap_or_else(|| {
                match locale {
                    Locale::En => "the carrier",
                    Locale::Id => "kurir",
                    Locale::Th => "บริษัทขนส่ง",
                    Locale::Nl => "de vervoerder",
                }
                .to_string()
            });
            let track = tracking.map(|u| match locale {
                Locale::En => format!(" You can follow it here: {u}"),
                Locale::Id => format!(" Lacak paket Anda di sini: {u}"),
                Locale::Th => format!(" ติดตามพัสดุได้ที่ {u}"),
                Locale::Nl => format!(" Volg je pakket hier: {u}"),
            });
            let track = track.unwrap_or_default();
            match locale {
                Locale::En => format!(
                    "{hello} your order {number} is taking longer to arrive than we expected. We're sorry — we're checking with {carrier} now.{track} Just reply here if you have any questions."
                ),
                Locale::Id => format!(
                    "{hello} pesanan {number} Anda butuh waktu lebih lama dari perkiraan kami untuk sampai. Mohon maaf — kami sedang mengeceknya dengan {carrier}.{track} Balas saja pesan ini jika ada pertanyaan."
                ),
                Locale::Th => format!(
                    "{hello} คำสั่งซื้อ {number} ของคุณใช้เวลาจัดส่งนานกว่าที่เราคาดไว้ ขออภัยด้วยนะคะ เรากำลังตรวจสอบกับ{carrier}อยู่ค่ะ{track} หากมีคำถาม ตอบกลับข้อความนี้ได้เลยค่ะ"
                ),
                Locale::Nl => format!(
                    "{hello} je bestelling {number} doet er langer over dan we hadden verwacht. Sorry daarvoor — we zoeken het nu uit met {carrier}.{track} Heb je vragen? Reageer gewoon op dit bericht."
                ),
            }
        }
        ProactiveKind::Unfulfilled => match locale {
            Locale::En => format!(
                "{hello} your order {number} hasn't shipped yet — it's taking us longer than usual. We're sorry for the wait, and we'll let you know as soon as it's on its way. Reply here if you have any questions."
            ),
            Locale::Id => format!(
                "{hello} pesanan {number} Anda belum dikirim — prosesnya lebih lama dari biasanya. Mohon maaf atas keterlambatannya; kami akan mengabari Anda begitu pesanan dikirim. Balas pesan ini jika ada pertanyaan."
            ),
            Locale::Th => format!(
                "{hello} คำสั่งซื้อ {number} ของคุณยังไม่ได้จัดส่ง เนื่องจากใช้เวลานานกว่าปกติ ขออภัยที่ต้องรอนะคะ เราจะแจ้งให้ทราบทันทีที่จัดส่ง หากมีคำถาม ตอบกลับข้อความนี้ได้เลยค่ะ"
            ),
            Locale::Nl => format!(
                "{hello} je bestelling {number} is nog niet verzonden — het duurt bij ons langer dan normaal. Sorry voor het wachten; we laten het je weten zodra hij onderweg is. Vragen? Reageer gewoon op dit bericht."
            ),
        },
        ProactiveKind::AfterDelivery(survey) => {
            let question = match (survey, locale) {
                (Survey::Csat, Locale::En) => {
                    "How did it go? Reply with a number from 1 (poor) to 5 (great), and tell us anything we could do better."
                }
                (Survey::Csat, Locale::Id) => {
                    "Bagaimana pengalaman Anda? Balas dengan angka 1 (buruk) sampai 5 (sangat baik), dan ceritakan apa yang bisa kami perbaiki."
                }
                (Survey::Csat, Locale::Th) => {
                    "เป็นอย่างไรบ้างคะ ตอบกลับด้วยตัวเลข 1 (ไม่พอใจ) ถึง 5 (พอใจมาก) และบอกเราได้เลยว่าควรปรับปรุงอะไร"
                }
                (Survey::Csat, Locale::Nl) => {
                    "Hoe is het bevallen? Antwoord met een cijfer van 1 (slecht) tot 5 (top), en laat ons weten wat we beter kunnen doen."
                }
                (Survey::Nps, Locale::En) => {
                    "How likely are you to recommend us to a friend? Reply with a number from 0 to 10."
                }
                (Survey::Nps, Locale::Id) => {
                    "Seberapa besar kemungkinan Anda merekomendasikan kami kepada teman? Balas dengan angka 0 sampai 10."
                }
                (Survey::Nps, Locale::Th) => {
                    "คุณจะแนะนำร้านเราให้เพื่อนมากน้อยแค่ไหนคะ ตอบกลับด้วยตัวเลข 0 ถึง 10"
                }
                (Survey::Nps, Locale::Nl) => {
                    "Hoe waarschijnlijk is het dat je ons aanraadt aan een vriend? Antwoord met een cijfer van 0 tot 10."
                }
            };
            match locale {
                Locale::En => {
                    format!("{hello} your order {number} arrived a few days ago. {question}")
                }
                Locale::Id => format!(
                    "{hello} pesanan {number} Anda sudah sampai beberapa hari lalu. {question}"
                ),
                Locale::Th => format!("{hello} คำสั่งซื้อ {number} ของคุณส่งถึงเมื่อไม่กี่วันก่อน {question}"),
                Locale::Nl => format!(
                    "{hello} je bestelling {number} is een paar dagen geleden aangekomen. {question}"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrderId, Shipment};

    fn order() -> Order {
        Order {
            id: OrderId(1),
            source: "shopify".into(),
            external_id: "1".into(),
            number: "#1042".into(),
            contact_id: None,
            email: None,
            currency: "IDR".into(),
            total: "150000".into(),
            financial_status: "paid".into(),
            fulfillment_status: Some("fulfilled".into()),
            cancelled_at: None,
            placed_at: 0,
            store_updated_at: 0,
            lines: vec![],
            shipments: vec![Shipment {
                external_id: "9".into(),
                carrier: Some("JNE".into()),
                tracking_number: Some("JNE1".into()),
                tracking_url: Some("https://track.example/JNE1".into()),
                status: Some("in_transit".into()),
                expected_delivery_at: Some(1),
                delivered_at: None,
                store_updated_at: 0,
            }],
        }
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_shops_time() {
        let rules = ProactiveRules {
            quiet_hours: Some(QuietHours {
                start: "21:00".into(),
                end: "08:00".into(),
                utc_offset_minutes: 420,
            }),
            ..ProactiveRules::default()
        };
        assert!(rules.check().is_ok());
        // 2026-11-23 15:30 UTC is 22:30 in Jakarta: quiet until 08:00 Jakarta = 01:00 UTC.
        let t = 1_795_392_000_000 + (15 * 60 + 30) * MINUTE_MS;
        assert_eq!(
            rules.quiet_until(t),
            Some(1_795_392_000_000 + 25 * 60 * MINUTE_MS)
        );
        // 05:00 UTC is 12:00 in Jakarta: not quiet.
        assert_eq!(
            rules.quiet_until(1_795_392_000_000 + 5 * 60 * MINUTE_MS),
            None
        );
        // 00:59 UTC is 07:59 in Jakarta: one minute to go.
        assert_eq!(
            rules.quiet_until(1_795_392_000_000 + 59 * MINUTE_MS),
            Some(1_795_392_000_000 + 60 * MINUTE_MS)
        );
        assert_eq!(ProactiveRules::default().quiet_until(t), None);
    }

    #[test]
    fn rules_are_checked_by_field() {
        let mut r = ProactiveRules::default();
        r.after_delivery.days = 0;
        assert!(
            r.check()
                .unwrap_err()
                .message
                .starts_with("after_delivery.days")
        );
        let r = ProactiveRules {
            quiet_hours: Some(QuietHours {
                start: "25:00".into(),
                end: "08:00".into(),
                utc_offset_minutes: 0,
            }),
            ..ProactiveRules::default()
        };
        assert!(
            r.check()
                .unwrap_err()
                .message
                .starts_with("quiet_hours.start")
        );
        assert!(serde_json::from_str::<ProactiveRules>(r#"{"late_shipment":{"enabled":true,"typo":1},"unfulfilled":{"enabled":false},"after_delivery":{"enabled":false}}"#).is_err());
        assert_eq!(
            ProactiveRules::default().unfulfilled_after_ms(Some(2)),
            3 * DAY_MS
        );
    }

    #[test]
    fn messages_speak_the_customers_language() {
        let o = order();
        let en = proactive_text(
            ProactiveKind::LateShipment,
            &o,
            Some("Sari Wulandari"),
            Locale::En,
        );
        assert!(en.starts_with("Hi Sari,"), "{en}");
        assert!(
            en.contains("#1042") && en.contains("JNE") && en.contains("https://track.example/JNE1")
        );
        let id = proactive_text(ProactiveKind::Unfulfilled, &o, None, Locale::Id);
        assert!(
            id.starts_with("Halo,") && id.contains("belum dikirim"),
            "{id}"
        );
        let th = proactive_text(
            ProactiveKind::AfterDelivery(Survey::Csat),
            &o,
            Some("Somchai"),
            Locale::Th,
        );
        assert!(
            th.contains("คุณSomchai") && th.contains("1") && th.contains("5"),
            "{th}"
        );
        let nl = proactive_text(
            ProactiveKind::AfterDelivery(Survey::Nps),
            &o,
            None,
            Locale::Nl,
        );
        assert!(nl.contains("0 tot 10"), "{nl}");
    }
}
