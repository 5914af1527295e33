//! The agent workspace's rules: priorities, labels, routing strategies, @mentions, canned
//! responses and their variables, the automatic acknowledgement's text. Pure functions; no I/O.

use serde::Serialize;

use crate::{AgentId, CannedId, InvalidValue, Locale, Millis, TeamId, TicketNumber};

/// How urgent a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "urgent" => Self::Urgent,
            _ => return None,
        })
    }
}

/// How an inbox gives new conversations to agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AutoAssign {
    /// Conversations wait unassigned; the first agent to reply takes it.
    #[default]
    None,
    /// In turn among the inbox's online agents with room under their capacity.
    RoundRobin,
    /// To the online agent with the fewest open conversations (under capacity).
    LeastLoaded,
}

impl AutoAssign {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::RoundRobin => "round_robin",
            Self::LeastLoaded => "least_loaded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "round_robin" => Self::RoundRobin,
            "least_loaded" => Self::LeastLoaded,
            _ => return None,
        })
    }
}

/// One agent a routing decision may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub agent: AgentId,
    /// Open conversations assigned now.
    pub load: i64,
    pub capacity: i64,
}

/// Picks the agent for a new conversation among `candidates` (online, available members of the
/// inbox), or `None` when everyone is at capacity. Round-robin takes the next agent id after
/// `last` (wrapping); least-loaded the smallest load, ties broken round-robin from `last`.
pub fn pick_agent(
    strategy: AutoAssign,
    candidates: &[Candidate],
    last: Option<AgentId>,
) -> Option<AgentId> {
    let mut free: Vec<&Candidate> = candidates.iter().filter(|c| c.load < c.capacity).collect();
    if free.is_empty() || strategy == AutoAssign::None {
        return None;
    }
    // Agents in round-robin order starting after `last`.
    free.sort_by_key(|c| c.agent);
    let start = last
        .and_then(|l| free.iter().position(|c| c.agent > l))
        .unwrap_or(0);
    free.rotate_left(start);
    match strategy {
        AutoAssign::None => None,
        AutoAssign::RoundRobin => free.first().map(|c| c.agent),
        AutoAssign::LeastLoaded => free.iter().min_by_key(|c| c.load).map(|c| c.agent),
    }
}

/// A letter, digit or combining mark (Thai vowel and tone marks are marks, not letters).
fn word_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !c.is_ascii_punctuation() && !is_other_punctuation(c)
}

/// Punctuation outside ASCII that ends a word (quotes, dashes, CJK/Thai punctuation).
fn is_other_punctuation(c: char) -> bool {
    matches!(c, '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{303F}' | '\u{0E2F}' | '\u{0E46}' | '\u{0E4F}' | '\u{0E5A}' | '\u{0E5B}' | '\u{FF00}'..='\u{FF0F}')
}

/// A label: lower-case letters, digits, `-` and `_` in any script, 1–40 characters.
pub fn parse_label(raw: &str) -> Result<String, InvalidValue> {
    let label = raw.trim().to_lowercase();
    let n = label.chars().count();
    if n == 0 || n > 40 {
        return Err(InvalidValue::new(
            "invalid_label",
            "a label has 1-40 characters",
        ));
    }
    if !label.chars().all(|c| word_char(c) || c == '-' || c == '_') {
        return Err(InvalidValue::new(
            "invalid_label",
            "a label may contain letters, digits, - and _ only",
        ));
    }
    Ok(label)
}

/// A snooze must end in the future (and within a year).
pub fn check_snooze_until(until: Millis, now: Millis) -> Result<Millis, InvalidValue> {
    const YEAR: Millis = 366 * 24 * 3600 * 1000;
    if until <= now {
        return Err(InvalidValue::new(
            "snooze_in_past",
            "snooze until a time in the future",
        ));
    }
    if until > now + YEAR {
        return Err(InvalidValue::new(
            "snooze_too_long",
            "snooze for at most a year",
        ));
    }
    Ok(until)
}

/// The `@handles` in a note. A handle is what follows `@` up to a space or punctuation other
/// than `.`, `-` and `_`; the caller matches handles to agents (by the email's local part or the
/// first name, case-insensitively).
pub fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let at_word_start = prev.is_none_or(|p| !word_char(p));
        prev = Some(c);
        if c != '@' || !at_word_start {
            continue;
        }
        let rest = &text[i + 1..];
        let end = rest
            .char_indices()
            .find(|(_, ch)| !(word_char(*ch) || matches!(ch, '.' | '-' | '_')))
            .map_or(rest.len(), |(j, _)| j);
        let handle = rest[..end].trim_end_matches('.').to_lowercase();
        if !handle.is_empty() && !out.contains(&handle) {
            out.push(handle);
        }
    }
    out
}

/// The values a canned response may use.
#[derive(Debug, Clone, Default)]
pub struct TemplateValues {
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub agent_name: String,
    pub agent_email: String,
    pub conversation_number: Option<TicketNumber>,
    pub inbox_name: Option<String>,
    /// The customer's latest order, when the store sent any.
    pub order: Option<OrderValues>,
}

/// What canned responses may say about the customer's latest order.
#[derive(Debug, Clone, Default)]
pub struct OrderValues {
    pub number: String,
    pub status: String,
    pub tracking_url: Option<String>,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// Already formatted with its currency.
    pub total: String,
}

/// The variables a canned response may use, for the editor's help text.
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "contact.email",
    "agent.name",
    "agent.first_name",
    "agent.email",
    "conversation.number",
    "inbox.name",
    "order.number",
    "order.status",
    "order.total",
    "order.tracking_url",
    "order.tracking_number",
    "order.carrier",
];

fn first_name(full: &str) -> &str {
    full.split_whitespace().next().unwrap_or(full)
}

/// Fills `{{variable}}` placeholders. The result is plain text (the agent UI inserts it as text);
/// nothing in a value is interpreted again, so a customer named `{{agent.email}}` stays that.
/// An unknown variable is left as written, so the agent sees it and fixes it; a known one
/// without a value (an anonymous visitor's name) becomes the fallback after `|`, or nothing:
/// `Hi {{contact.first_name|there}}`.
pub fn render_template(template: &str, values: &TemplateValues) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = after[..end].trim();
        let (name, fallback) = match inner.split_once('|') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (inner, None),
        };
        let value: Option<Option<String>> = match name {
            "contact.name" => Some(values.contact_name.clone()),
            "contact.first_name" => Some(
                values
                    .contact_name
                    .as_deref()
                    .map(|n| first_name(n).to_owned()),
            ),
            "contact.email" => Some(values.contact_email.clone()),
            "agent.name" => Some(Some(values.agent_name.clone())),
            "agent.first_name" => Some(Some(first_name(&values.agent_name).to_owned())),
            "agent.email" => Some(Some(values.agent_email.clone())),
            "conversation.number" => Some(values.conversation_number.map(|n| n.to_string())),
            "inbox.name" => Some(values.inbox_name.clone()),
            "order.number" => Some(values.order.as_ref().map(|o| o.number.clone())),
            "order.status" => Some(values.order.as_ref().map(|o| o.status.clone())),
            "order.total" => Some(values.order.as_ref().map(|o| o.total.clone())),
            "order.tracking_url" => {
                Some(values.order.as_ref().and_then(|o| o.tracking_url.clone()))
            }
            "order.tracking_number" => Some(
                values
                    .order
                    .as_ref()
                    .and_then(|o| o.tracking_number.clone()),
            ),
            "order.carrier" => Some(values.order.as_ref().and_then(|o| o.carrier.clone())),
            _ => None,
        };
        match value {
            Some(Some(v)) if !v.is_empty() => out.push_str(&v),
            Some(_) => out.push_str(fallback.unwrap_or("")),
            // Unknown: shown as written.
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A canned response's shortcut: 1–32 lower-case letters, digits, `-`, `_`.
pub fn parse_shortcut(raw: &str) -> Result<String, InvalidValue> {
    let s = raw.trim().trim_start_matches('/').to_lowercase();
    let n = s.chars().count();
    if n == 0 || n > 32 || !s.chars().all(|c| word_char(c) || c == '-' || c == '_') {
        return Err(InvalidValue::new(
            "invalid_shortcut",
            "a shortcut has 1-32 letters, digits, - or _",
        ));
    }
    Ok(s)
}

/// A saved reply agents insert with `/shortcut`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedResponse {
    pub id: CannedId,
    /// `None`: shared with everyone; otherwise the agent it belongs to.
    pub owner_id: Option<AgentId>,
    pub shortcut: String,
    /// The language of this variant; `None` for the default variant.
    pub locale: Option<Locale>,
    pub title: String,
    pub body: String,
    pub updated_at: Millis,
}

/// Picks the variant for a customer's language: exact language, else the default (no language),
/// else English, else any.
pub fn pick_variant(
    variants: &[CannedResponse],
    locale: Option<Locale>,
) -> Option<&CannedResponse> {
    variants
        .iter()
        .find(|v| locale.is_some() && v.locale == locale)
        .or_else(|| variants.iter().find(|v| v.locale.is_none()))
        .or_else(|| variants.iter().find(|v| v.locale == Some(Locale::En)))
        .or_else(|| variants.first())
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub members: Vec<AgentId>,
}

/// An entry of the audit log.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: Millis,
    pub actor_id: Option<AgentId>,
    /// Who did it (an email for failed logins by unknown people).
    pub actor: Option<String>,
    /// e.g. `login`, `login_failed`, `login_locked`, `password_changed`, `agent_created`.
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

/// Open-conversation counts for one agent's views (within what they may see).
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewCounts {
    pub mine: i64,
    pub unassigned: i64,
    pub team: i64,
    pub all: i64,
    /// Open conversations (mine or unassigned) with customer messages this agent has not read.
    pub unread: i64,
}

/// An API token as listed (the secret is shown once, at creation).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters, to recognise it.
    pub prefix: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    /// Kept when the owner's password changes (an integration's token); other tokens end then.
    pub survives_password_change: bool,
}

/// "Within 2 hours" in the customer's language.
pub fn response_time_text(minutes: i64, locale: Locale) -> String {
    let (n, hours) = if minutes >= 60 && minutes % 60 == 0 {
        (minutes / 60, true)
    } else {
        (minutes.max(1), false)
    };
    match (locale, hours) {
        (Locale::En, true) => format!("within {n} hour{}", if n == 1 { "" } else { "s" }),
        (Locale::En, false) => format!("within {n} minute{}", if n == 1 { "" } else { "s" }),
        (Locale::Id, true) => format!("dalam {n} jam"),
        (Locale::Id, false) => format!("dalam {n} menit"),
        (Locale::Th, true) => format!("ภายใน {n} ชั่วโมง"),
        (Locale::Th, false) => format!("ภายใน {n} นาที"),
        (Locale::Nl, true) => format!("binnen {n} uur"),
        (Locale::Nl, false) => format!("binnen {n} minuten"),
    }
}

/// The automatic acknowledgement of a first message.
pub fn acknowledgement(number: TicketNumber, minutes: i64, locale: Locale) -> String {
    let when = response_time_text(minutes, locale);
    match locale {
        Locale::En => format!(
            "Thanks for your message! Your ticket number is {number}. We usually reply {when}."
        ),
        Locale::Id => format!(
            "Terima kasih atas pesan Anda! Nomor tiket Anda {number}. Kami biasanya membalas {when}."
        ),
        Locale::Th => {
            format!("ขอบคุณสำหรับข้อความของคุณ! หมายเลขตั๋วของคุณคือ {number} โดยปกติเราจะตอบกลับ{when}")
        }
        Locale::Nl => format!(
            "Bedankt voor je bericht! Je ticketnummer is {number}. We antwoorden meestal {when}."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(agent: i64, load: i64, capacity: i64) -> Candidate {
        Candidate {
            agent: AgentId(agent),
            load,
            capacity,
        }
    }

    #[test]
    fn round_robin_takes_turns_and_skips_full_agents() {
        let cands = [c(1, 0, 5), c(2, 9, 5), c(3, 0, 5)];
        let rr = AutoAssign::RoundRobin;
        assert_eq!(pick_agent(rr, &cands, None), Some(AgentId(1)));
        assert_eq!(pick_agent(rr, &cands, Some(AgentId(1))), Some(AgentId(3)));
        assert_eq!(pick_agent(rr, &cands, Some(AgentId(3))), Some(AgentId(1)));
        assert_eq!(pick_agent(rr, &[c(1, 5, 5)], None), None);
        assert_eq!(pick_agent(AutoAssign::None, &cands, None), None);
    }

    #[test]
    fn least_loaded_prefers_the_emptiest() {
        let cands = [c(1, 3, 5), c(2, 1, 5), c(3, 1, 5), c(4, 0, 0)];
        let ll = AutoAssign::LeastLoaded;
        assert_eq!(pick_agent(ll, &cands, None), Some(AgentId(2)));
        // A tie is broken in turn.
        assert_eq!(pick_agent(ll, &cands, Some(AgentId(2))), Some(AgentId(3)));
    }

    #[test]
    fn templates_fill_known_variables_and_show_unknown_ones() {
        let v = TemplateValues {
            contact_name: Some("Siti Rahma".into()),
            agent_name: "Budi Santoso".into(),
            conversation_number: Some(TicketNumber(1042)),
            ..TemplateValues::default()
        };
        assert_eq!(
            render_template(
                "Hi {{contact.first_name}}, {{ agent.first_name }} here about {{conversation.number}}.",
                &v
            ),
            "Hi Siti, Budi here about #1042."
        );
        assert_eq!(
            render_template("{{order.nummer}} {{x", &v),
            "{{order.nummer}} {{x",
            "unknown variables and unclosed braces stay as written"
        );
        assert_eq!(
            render_template(
                "{{order.number|your order}} is {{order.status|on its way}}",
                &v
            ),
            "your order is on its way",
            "no order yet: the fallbacks"
        );
        let with_order = TemplateValues {
            order: Some(OrderValues {
                number: "#1042".into(),
                status: "shipped".into(),
                tracking_url: Some("https://t.test/1".into()),
                total: "Rp450.000".into(),
                ..OrderValues::default()
            }),
            ..v.clone()
        };
        assert_eq!(
            render_template(
                "{{order.number}} {{order.status}} {{order.total}}: {{order.tracking_url}}",
                &with_order
            ),
            "#1042 shipped Rp450.000: https://t.test/1"
        );
        assert_eq!(
            render_template("{{contact.email|no email}}", &v),
            "no email"
        );
        let sneaky = TemplateValues {
            contact_name: Some("{{agent.email}} <script>".into()),
            agent_email: "secret@shop.test".into(),
            ..TemplateValues::default()
        };
        assert_eq!(
            render_template("Hi {{contact.name}}", &sneaky),
            "Hi {{agent.email}} <script>"
        );
    }

    #[test]
    fn mentions_are_found_at_word_starts() {
        assert_eq!(
            mentions("@budi can you check? cc @Nok.Srisuk, mail me at a@b.c"),
            vec!["budi", "nok.srisuk"]
        );
        assert!(mentions("no mentions here @ all").is_empty());
    }

    #[test]
    fn labels_and_snoozes() {
        assert_eq!(parse_label(" VIP ").unwrap(), "vip");
        assert_eq!(parse_label("ส่งช้า").unwrap(), "ส่งช้า");
        assert!(parse_label("a,b").is_err());
        assert!(parse_label("").is_err());
        assert_eq!(
            check_snooze_until(10, 20).unwrap_err().code,
            "snooze_in_past"
        );
        assert!(check_snooze_until(30, 20).is_ok());
    }

    #[test]
    fn acknowledgements_in_four_languages() {
        let n = TicketNumber(1042);
        assert!(acknowledgement(n, 120, Locale::En).contains("#1042"));
        assert!(acknowledgement(n, 120, Locale::En).contains("within 2 hours"));
        assert!(acknowledgement(n, 30, Locale::Id).contains("30 menit"));
        assert!(acknowledgement(n, 60, Locale::Th).contains("1 ชั่วโมง"));
        assert!(acknowledgement(n, 60, Locale::Nl).contains("binnen 1 uur"));
    }
}
