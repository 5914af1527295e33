//! Checked values: parse, don't validate. Input from any edge (HTTP, WebSocket, a channel) is turned
//! into one of these at the boundary; inside, the type carries the guarantee.

use serde::Serialize;

/// The longest message body we accept, in characters (Unicode scalar values). Chat and email
/// replies longer than this are almost always pasted logs or attacks; the limit is documented in
/// the API and the widget refuses to send more.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Why a value was refused. `code` is stable and snake_case: clients may branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub code: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Whether `c` must never stand in a one-line field (a name, a subject, a file name): control
/// characters (CR and LF above all — in a mail header they start a new header — TAB, the other
/// C0 and C1 controls) and the bidirectional embedding, override, isolate and mark characters,
/// which make text display in another order than it is stored (`gpj.exe` shown as `exe.jpg`).
pub fn unsafe_in_line(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `raw` made safe for a one-line field: every run of [`unsafe_in_line`] characters and
/// whitespace becomes one space, and the ends are trimmed. For text from outside that is kept
/// rather than refused (a mail's sender name, a store's customer name, a signed identity).
pub fn one_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.chars() {
        if unsafe_in_line(c) || c.is_whitespace() {
            gap = true;
        } else {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    }
    out
}

/// Refuses a one-line field that holds [`unsafe_in_line`] characters (what a person types in a
/// form never does): `code` and a message naming the field.
pub fn check_one_line(raw: &str, code: &'static str, field: &str) -> Result<(), InvalidValue> {
    if raw.chars().any(unsafe_in_line) {
        return Err(InvalidValue::new(
            code,
            format!("{field} must be one line without control characters"),
        ));
    }
    Ok(())
}

/// The text of a message: not blank, at most [`MAX_MESSAGE_CHARS`] characters, no NUL bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        // Normalise line endings so the same text from a browser and a mail client compares equal.
        let text = raw.replace("\r\n", "\n");
        if text.trim().is_empty() {
            return Err(InvalidValue::new(
                "empty_message",
                "the message is empty; write some text",
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(InvalidValue::new(
                "message_too_long",
                format!("the message has {chars} characters; the limit is {MAX_MESSAGE_CHARS}"),
            ));
        }
        if text.contains('\0') {
            return Err(InvalidValue::new(
                "invalid_message",
                "the message contains a NUL character",
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An id chosen by the sending client for one message, so a retried send is recognised and not
/// stored twice. 1–64 characters from `[A-Za-z0-9_.:-]` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok_len = (1..=64).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "invalid_client_message_id",
                "client_message_id must be 1-64 characters of letters, digits, '_', '-', '.', ':'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked for shape only (RFC 5322 addr-spec without comments or quoted local
/// parts, which real shoppers never type). The domain is lower-cased; the local part is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let bad = || InvalidValue::new("invalid_email", "that is not a valid email address");
        let raw = raw.trim();
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = raw.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.contains(['<', '>', '"', '(', ')', ',', ';', '\\', '[', ']']);
        if !(domain_ok && local_ok) {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The form used to look people up: fully lower-cased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: trimmed, 1–120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim();
        let len = name.chars().count();
        if len == 0 || len > 120 || name.chars().any(unsafe_in_line) {
            return Err(InvalidValue::new(
                "invalid_name",
                "a name must be 1-120 characters without control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 10 characters, at most 256 bytes (argon2 input stays cheap).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.chars().count() < 10 || raw.len() > 256 {
            return Err(InvalidValue::new(
                "weak_password",
                "a password must be 10-256 characters long",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// The human-readable number of a conversation, unique per shop, shown as `#1042`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TicketNumber(pub i64);

impl std::fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A language tag we have UI text for. Anything else falls back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Id,
    Th,
    Nl,
}

impl Locale {
    /// Every locale, English first.
    pub const ALL: [Locale; 4] = [Self::En, Self::Id, Self::Th, Self::Nl];

    /// Picks the best supported locale from a BCP 47 tag such as `id-ID` or `nl`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "id" | "in" => Some(Self::Id),
            "th" => Some(Self::Th),
            "nl" => Some(Self::Nl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Id => "id",
            Self::Th => "th",
            Self::Nl => "nl",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_lose_header_breaks_and_bidi_controls() {
        assert_eq!(
            one_line("x\r\nBcc: victim@example.com"),
            "x Bcc: victim@example.com"
        );
        assert_eq!(one_line(" Sari\u{202E}gpj.exe \t"), "Sari gpj.exe");
        assert_eq!(one_line("\u{0085}\u{0007}"), "");
        assert_eq!(one_line("สมชาย  ใจดี"), "สมชาย ใจดี");
        assert!(check_one_line("Budi Santoso", "invalid_name", "a name").is_ok());
        for bad in ["a\nb", "a\rb", "a\u{2066}b", "a\u{0085}b", "a\tb"] {
            assert_eq!(
                check_one_line(bad, "invalid_name", "a name")
                    .unwrap_err()
                    .code,
                "invalid_name"
            );
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn message_body_limits() {
        assert_eq!(
            MessageBody::parse("  \n ").unwrap_err().code,
            "empty_message"
        );
        let long = "ก".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            MessageBody::parse(&long).unwrap_err().code,
            "message_too_long"
        );
        // The limit counts characters, not bytes: Thai text at the limit is accepted.
        let thai = "ก".repeat(MAX_MESSAGE_CHARS);
        assert!(MessageBody::parse(&thai).is_ok());
        assert_eq!(MessageBody::parse("a\r\nb").unwrap().as_str(), "a\nb");
        assert_eq!(
            MessageBody::parse("a\0").unwrap_err().code,
            "invalid_message"
        );
    }

    #[test]
    fn client_message_ids() {
        assert!(ClientMessageId::parse("3f2a9c1e-7b1d-4e5f-9a0b-1c2d3e4f5a6b").is_ok());
        assert!(ClientMessageId::parse("").is_err());
        assert!(ClientMessageId::parse("has space").is_err());
        assert!(ClientMessageId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse(" Sari@Toko.CO.id ").unwrap().as_str(),
            "Sari@toko.co.id"
        );
        for bad in [
            "", "a", "a@b", "a@@b.c", "a b@c.d", "<a@b.c>", "a@.b.c", "a@b..c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn locales() {
        assert_eq!(Locale::from_tag("id-ID"), Some(Locale::Id));
        assert_eq!(Locale::from_tag("nl_BE"), Some(Locale::Nl));
        assert_eq!(Locale::from_tag("th"), Some(Locale::Th));
        assert_eq!(Locale::from_tag("de"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(NewPassword::parse("short").is_err());
    }
}
