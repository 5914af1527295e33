//! The bot's settings (a shop document, `bot_settings`) and the shop's business hours
//! (`business_hours`), checked field by field.

use std::collections::BTreeMap;

use layan_core::{InvalidValue, Locale, Millis};
use serde::{Deserialize, Serialize};

use crate::Intent;

/// How the bot speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    #[default]
    Friendly,
    Formal,
}

/// A shop's own training phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopPhrase {
    pub intent: Intent,
    /// `en`, `id`, `th` or `nl`.
    pub language: String,
    pub text: String,
}

/// An OpenAI-compatible chat-completions endpoint the shop chose. Off unless set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// The API's base URL, e.g. `https://api.openai.com/v1` or a local server's.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer`; shown as `********`, kept when sent back so.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Give up and answer from retrieval after this long.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_timeout() -> u64 {
    8_000
}

pub const HIDDEN: &str = "********";

/// A URL's scheme, host and port (the default port made explicit), lower case: where a secret
/// sent to it goes. Anything before an `@` in the authority is a user name, not the host.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '\\', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 literal's colons are inside its brackets.
        Some((h, p)) if !p.contains(']') => (h, p.parse().ok()?),
        _ => (host_port, default),
    };
    Some((scheme, host.to_ascii_lowercase(), port))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    /// The inboxes (website chat) the bot answers in.
    #[serde(default)]
    pub inboxes: Vec<i64>,
    /// The bot's name in the conversation ("Sari's assistant").
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default)]
    pub tone: Tone,
    /// The shop's own first words per language, replacing the built-in greeting
    /// (`{name}` is the shopper's first name when known).
    #[serde(default)]
    pub greeting: BTreeMap<String, String>,
    /// Below this confidence (0–1) the bot does not guess: it asks again, then hands over.
    #[serde(default = "default_threshold")]
    pub handoff_threshold: f32,
    /// The shop's training phrases, added to the built-in ones.
    #[serde(default)]
    pub phrases: Vec<ShopPhrase>,
    #[serde(default)]
    pub llm: Option<LlmSettings>,
}

fn default_name() -> String {
    "Assistant".into()
}

/// Measured on the team's test sets (BENCHMARKS.md): the best accuracy with in-scope recall
/// kept high.
pub const DEFAULT_THRESHOLD: f32 = 0.25;

fn default_threshold() -> f32 {
    DEFAULT_THRESHOLD
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            inboxes: Vec::new(),
            name: default_name(),
            tone: Tone::default(),
            greeting: BTreeMap::new(),
            handoff_threshold: DEFAULT_THRESHOLD,
            phrases: Vec::new(),
            llm: None,
        }
    }
}

/// At most this many shop phrases.
pub const MAX_PHRASES: usize = 2_000;

impl BotSettings {
    /// Checks and tidies every field; the error names the first bad one by path.
    pub fn check(&mut self) -> Result<(), InvalidValue> {
        let bad = |m: String| Err(InvalidValue::new("invalid_bot_settings", m));
        self.name = self.name.trim().to_string();
        if self.name.is_empty()
            || self.name.chars().count() > 60
            || self.name.chars().any(char::is_control)
        {
            return bad("name: 1 to 60 characters".into());
        }
        self.inboxes.sort_unstable();
        self.inboxes.dedup();
        for (tag, text) in &self.greeting {
            if Locale::from_tag(tag).is_none_or(|l| l.as_str() != tag) {
                return bad(format!("greeting.{tag}: a language of en, id, th, nl"));
            }
            if text.trim().is_empty() || text.chars().count() > 500 {
                return bad(format!("greeting.{tag}: 1 to 500 characters"));
            }
        }
        if !(0.05..=0.95).contains(&self.handoff_threshold) || self.handoff_threshold.is_nan() {
            return bad("handoff_threshold: 0.05 to 0.95".into());
        }
        if self.phrases.len() > MAX_PHRASES {
            return bad(format!("phrases: at most {MAX_PHRASES}"));
        }
        for (i, p) in self.phrases.iter_mut().enumerate() {
            if Locale::from_tag(&p.language).is_none_or(|l| l.as_str() != p.language) {
                return bad(format!("phrases[{i}].language: en, id, th or nl"));
            }
            p.text = p.text.trim().to_string();
            if p.text.is_empty() || p.text.chars().count() > 300 || p.text.contains('\n') {
                return bad(format!(
                    "phrases[{i}].text: 1 to 300 characters on one line"
                ));
            }
        }
        if let Some(llm) = &mut self.llm {
            llm.base_url = llm.base_url.trim().trim_end_matches('/').to_string();
            let url_ok = (llm.base_url.starts_with("https://")
                || llm.base_url.starts_with("http://"))
                && llm.base_url.len() <= 500
                && !llm
                    .base_url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
                // No user name in the address: `https://a@b/` sends to b, and a reader (or
                // the check that keeps a stored key for the same host) could take it for a.
                && !llm
                    .base_url
                    .split_once("://")
                    .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""))
                    .contains('@');
            if !url_ok {
                return bad("llm.base_url: an http(s) URL".into());
            }
            llm.model = llm.model.trim().to_string();
            if llm.model.is_empty() || llm.model.len() > 200 {
                return bad("llm.model: 1 to 200 characters".into());
            }
            if !(500..=60_000).contains(&llm.timeout_ms) {
                return bad("llm.timeout_ms: 500 to 60000".into());
            }
            if llm
                .api_key
                .as_deref()
                .is_some_and(|k| k.len() > 500 || k.contains(['\n', '\r']))
            {
                return bad("llm.api_key: at most 500 characters on one line".into());
            }
        }
        Ok(())
    }

    /// A copy safe to show: the API key hidden.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        if let Some(llm) = &mut copy.llm
            && llm.api_key.is_some()
        {
            llm.api_key = Some(HIDDEN.into());
        }
        copy
    }

    /// A key sent back hidden keeps the stored one — for the same server only (scheme, host
    /// and port of `base_url`): a changed address needs the key given again, so the stored key
    /// never goes to a host it was not meant for.
    pub fn keep_secrets_from(&mut self, stored: &BotSettings) -> Result<(), InvalidValue> {
        let Some(llm) = &mut self.llm else {
            return Ok(());
        };
        if llm.api_key.as_deref() != Some(HIDDEN) {
            return Ok(());
        }
        match &stored.llm {
            Some(old)
                if origin(&old.base_url).is_some()
                    && origin(&old.base_url) == origin(&llm.base_url) =>
            {
                llm.api_key = old.api_key.clone();
                Ok(())
            }
            _ => Err(InvalidValue::new(
                "api_key_required",
                "llm: the server changed, give its API key again",
            )),
        }
    }

    pub fn answers_in(&self, inbox: i64) -> bool {
        self.inboxes.contains(&inbox)
    }

    /// The shop's phrases as training phrases.
    pub fn training(&self) -> Vec<crate::Phrase> {
        self.phrases
            .iter()
            .filter_map(|p| {
                Some(crate::Phrase {
                    intent: p.intent,
                    locale: Locale::from_tag(&p.language)?,
                    text: p.text.clone(),
                })
            })
            .collect()
    }
}

/// One day's opening hours, `HH:MM` in the shop's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    /// `mon` … `sun`.
    pub day: String,
    pub open: String,
    pub close: String,
}

/// When people answer. No days: always open.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The shop's time zone as an offset from UTC (Jakarta 420, Bangkok 420, Amsterdam 60/120).
    pub utc_offset_minutes: i32,
    pub days: Vec<DayHours>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn minutes(field: &str, hhmm: &str) -> Result<u32, InvalidValue> {
    let bad = || {
        InvalidValue::new(
            "invalid_business_hours",
            format!("{field}: HH:MM, 00:00 to 24:00"),
        )
    };
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl BusinessHours {
    pub fn check(&self) -> Result<(), InvalidValue> {
        let bad = |m: String| Err(InvalidValue::new("invalid_business_hours", m));
        if !(-12 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return bad("utc_offset_minutes: -720 to 840".into());
        }
        let mut seen = [false; 7];
        for (i, d) in self.days.iter().enumerate() {
            let Some(k) = DAYS.iter().position(|x| *x == d.day) else {
                return bad(format!(
                    "days[{i}].day: mon, tue, wed, thu, fri, sat or sun"
                ));
            };
            if std::mem::replace(&mut seen[k], true) {
                return bad(format!("days[{i}].day: {} twice", d.day));
            }
            let open = minutes(&format!("days[{i}].open"), &d.open)?;
            let close = minutes(&format!("days[{i}].close"), &d.close)?;
            if close <= open {
                return bad(format!("days[{i}].close: after open"));
            }
        }
        Ok(())
    }

    /// Opening spans as (minute of the week from Monday 00:00 local, end).
    fn spans(&self) -> Vec<(i64, i64)> {
        self.days
            .iter()
            .filter_map(|d| {
                let k = DAYS.iter().position(|x| *x == d.day)? as i64;
                let open = minutes("", &d.open).ok()? as i64;
                let close = minutes("", &d.close).ok()? as i64;
                Some((k * 1440 + open, k * 1440 + close))
            })
            .collect()
    }

    /// Local minute of the week (Monday 00:00 = 0) at `now`.
    fn week_minute(&self, now: Millis) -> i64 {
        let local = now / 60_000 + i64::from(self.utc_offset_minutes);
        // 1970-01-01 was a Thursday (index 3 from Monday).
        (local + 3 * 1440).rem_euclid(7 * 1440)
    }

    pub fn is_open(&self, now: Millis) -> bool {
        if self.days.is_empty() {
            return true;
        }
        let m = self.week_minute(now);
        self.spans().iter().any(|(a, b)| (*a..*b).contains(&m))
    }

    /// The next opening after `now` (`None` when always open or never).
    pub fn next_opening(&self, now: Millis) -> Option<Millis> {
        let m = self.week_minute(now);
        let wait = self
            .spans()
            .iter()
            .map(|(a, _)| (a - m).rem_euclid(7 * 1440))
            .filter(|w| *w > 0)
            .min()?;
        // Whole minutes: round `now` down to its minute first.
        Some((now / 60_000 + wait) * 60_000)
    }

    /// The local weekday (0 = Monday) and `HH:MM` of an instant, for the shopper.
    pub fn local_time(&self, at: Millis) -> (usize, String) {
        let m = self.week_minute(at);
        (
            (m / 1440) as usize,
            format!("{:02}:{:02}", (m % 1440) / 60, m % 60),
        )
    }

    /// `UTC+07:00`.
    pub fn zone(&self) -> String {
        let o = self.utc_offset_minutes;
        let sign = if o < 0 { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        BusinessHours {
            utc_offset_minutes: 420,
            days: vec![
                DayHours {
                    day: "mon".into(),
                    open: "09:00".into(),
                    close: "17:00".into(),
                },
                DayHours {
                    day: "fri".into(),
                    open: "09:00".into(),
                    close: "12:00".into(),
                },
            ],
        }
    }

    // 2026-11-23 is a Monday.
    const MONDAY_0000_UTC: Millis = 1_795_392_000_000;

    #[test]
    fn open_closed_and_the_next_opening_in_the_shops_zone() {
        let h = hours();
        h.check().unwrap();
        // Monday 03:00 UTC = 10:00 in Jakarta: open.
        assert!(h.is_open(MONDAY_0000_UTC + 3 * 3_600_000));
        // Monday 11:00 UTC = 18:00 in Jakarta: closed, next Friday 09:00 local.
        let evening = MONDAY_0000_UTC + 11 * 3_600_000;
        assert!(!h.is_open(evening));
        let next = h.next_opening(evening).unwrap();
        assert_eq!(h.local_time(next), (4, "09:00".to_string()));
        assert_eq!(h.zone(), "UTC+07:00");
        assert!(BusinessHours::default().is_open(evening));
        assert_eq!(BusinessHours::default().next_opening(evening), None);
    }

    #[test]
    fn bad_hours_and_settings_name_their_field() {
        let mut h = hours();
        h.days[1].close = "08:00".into();
        assert_eq!(h.check().unwrap_err().message, "days[1].close: after open");
        h.days[1].day = "mon".into();
        assert_eq!(h.check().unwrap_err().message, "days[1].day: mon twice");
        h.days[0].open = "9am".into();
        assert_eq!(
            h.check().unwrap_err().message,
            "days[0].open: HH:MM, 00:00 to 24:00"
        );

        let mut s = BotSettings {
            handoff_threshold: 2.0,
            ..BotSettings::default()
        };
        assert_eq!(
            s.check().unwrap_err().message,
            "handoff_threshold: 0.05 to 0.95"
        );
        s.handoff_threshold = 0.3;
        s.phrases.push(ShopPhrase {
            intent: Intent::TrackOrder,
            language: "fr".into(),
            text: "où".into(),
        });
        assert_eq!(
            s.check().unwrap_err().message,
            "phrases[0].language: en, id, th or nl"
        );
        s.phrases[0].language = "nl".into();
        s.llm = Some(LlmSettings {
            base_url: "ftp://x".into(),
            model: "m".into(),
            api_key: Some("k".into()),
            timeout_ms: 1000,
        });
        assert_eq!(
            s.check().unwrap_err().message,
            "llm.base_url: an http(s) URL"
        );
        s.llm.as_mut().unwrap().base_url = "http://127.0.0.1:9/v1/".into();
        s.check().unwrap();
        assert_eq!(s.llm.as_ref().unwrap().base_url, "http://127.0.0.1:9/v1");
        let shown = s.redacted();
        assert_eq!(shown.llm.as_ref().unwrap().api_key.as_deref(), Some(HIDDEN));
        let mut back = shown.clone();
        back.keep_secrets_from(&s).unwrap();
        assert_eq!(back.llm.unwrap().api_key.as_deref(), Some("k"));
    }

    #[test]
    fn a_hidden_key_stays_only_with_the_same_server() {
        let s = BotSettings {
            llm: Some(LlmSettings {
                base_url: "https://llm.example.test/v1".into(),
                model: "m".into(),
                api_key: Some("k".into()),
                timeout_ms: 2000,
            }),
            ..BotSettings::default()
        };
        let mut same = s.redacted();
        same.llm.as_mut().unwrap().base_url = "https://LLM.example.test:443/other/v1".into();
        same.keep_secrets_from(&s).unwrap();
        assert_eq!(same.llm.unwrap().api_key.as_deref(), Some("k"));
        for url in [
            "https://attacker.example.test/v1",
            "http://llm.example.test/v1",
            "https://llm.example.test:8443/v1",
            "https://llm.example.test@attacker.example.test/v1",
            "https://attacker.example.test\\@llm.example.test/v1",
        ] {
            let mut moved = s.redacted();
            moved.llm.as_mut().unwrap().base_url = url.into();
            assert_eq!(
                moved.keep_secrets_from(&s).unwrap_err().code,
                "api_key_required",
                "{url}"
            );
        }
    }
}
