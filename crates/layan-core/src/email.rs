//! An email inbox's settings (the shop's support address, its IMAP and SMTP servers) and the
//! email side of a message (headers, delivery status). Checked here, used by the engine's
//! transports and the store.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, InboxId, InvalidValue, MessageId, Millis};

pub use crate::jobs::{JOB_EMAIL_INGEST, JOB_EMAIL_SEND};

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    #[default]
    Tls,
    /// Plain first, then STARTTLS, required (IMAP 143, submission 587).
    Starttls,
    /// No encryption: only for a server on this machine (127.0.0.1 / localhost), e.g. a local
    /// relay or tests. Refused for any other host.
    None,
}

/// One mail server and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    /// Empty for a server that needs no login (a local relay).
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

impl MailServer {
    fn check(&self, field: &str) -> Result<(), InvalidValue> {
        let bad = |m: String| Err(InvalidValue::new("invalid_email_settings", m));
        let host = self.host.trim();
        if host.is_empty()
            || host.len() > 253
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return bad(format!("{field}.host: a host name or IP address"));
        }
        if self.port == 0 {
            return bad(format!("{field}.port: 1 to 65535"));
        }
        if self.security == Security::None && !is_local(host) {
            return bad(format!(
                "{field}.security: \"none\" only for a server on this machine; use \"tls\" or \"starttls\""
            ));
        }
        if self.username.len() > 320 || self.password.len() > 1024 {
            return bad(format!("{field}.username: too long"));
        }
        if self.username.is_empty() != self.password.is_empty() {
            return bad(format!(
                "{field}.password: give both a username and a password, or neither"
            ));
        }
        Ok(())
    }
}

fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") || host.starts_with("127.")
}

/// An email inbox's settings, as an admin writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The shop's support address customers write to (lower-cased when stored).
    pub address: String,
    /// The name on replies, after the agent's: "Rina (Toko Batik)".
    pub from_name: String,
    /// Where mail is fetched from; `None` when mail only arrives by forwarding to Layan's SMTP.
    #[serde(default)]
    pub imap: Option<MailServer>,
    /// The mailbox folder to read, `INBOX` by default.
    #[serde(default = "default_folder")]
    pub imap_folder: String,
    /// Where replies are sent through; without it replies cannot go out (shown on each one).
    #[serde(default)]
    pub smtp: Option<MailServer>,
    /// More mails than this from one sender in an hour are held for an admin instead of becoming
    /// messages (mail loops, floods). 1 to 1,000; 30 by default.
    #[serde(default = "default_rate")]
    pub max_per_sender_per_hour: u32,
}

fn default_folder() -> String {
    "INBOX".to_string()
}

fn default_rate() -> u32 {
    30
}

impl EmailSettings {
    /// Checks every field; the error names the first bad one by path.
    pub fn check(&mut self) -> Result<(), InvalidValue> {
        let bad = |m: &str| Err(InvalidValue::new("invalid_email_settings", m.to_string()));
        let address = crate::EmailAddress::parse(&self.address).map_err(|_| {
            InvalidValue::new("invalid_email_settings", "address: an email address")
        })?;
        self.address = address.as_str().to_lowercase();
        self.from_name = self.from_name.trim().to_string();
        if self.from_name.is_empty() || self.from_name.chars().count() > 100 {
            return bad("from_name: 1 to 100 characters");
        }
        if self
            .from_name
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"'))
        {
            return bad("from_name: no quotes, angle brackets or control characters");
        }
        self.imap_folder = self.imap_folder.trim().to_string();
        if self.imap_folder.is_empty()
            || self.imap_folder.len() > 200
            || self.imap_folder.chars().any(|c| c.is_control() || c == '"')
        {
            return bad("imap_folder: a folder name");
        }
        if let Some(s) = &self.imap {
            s.check("imap")?;
        }
        if let Some(s) = &self.smtp {
            s.check("smtp")?;
        }
        if !(1..=1000).contains(&self.max_per_sender_per_hour) {
            return bad("max_per_sender_per_hour: 1 to 1000");
        }
        Ok(())
    }

    /// The domain of the shop's address (for our Message-IDs).
    pub fn domain(&self) -> &str {
        self.address.rsplit('@').next().unwrap_or("localhost")
    }

    /// The settings as an admin may read them back: passwords replaced by a mark.
    pub fn redacted(&self) -> Self {
        let hide = |s: &Option<MailServer>| {
            s.clone().map(|mut m| {
                if !m.password.is_empty() {
                    m.password = KEEP_PASSWORD.to_string();
                }
                m
            })
        };
        Self {
            imap: hide(&self.imap),
            smtp: hide(&self.smtp),
            ..self.clone()
        }
    }

    /// An admin who sends back [`KEEP_PASSWORD`] keeps the stored password — for the same
    /// server only: with another host or port the password must be given again, so a stored
    /// password never follows a changed address to a server it was not meant for.
    pub fn keep_passwords_from(&mut self, old: &Self) -> Result<(), InvalidValue> {
        fn keep(
            which: &str,
            new: &mut Option<MailServer>,
            old: &Option<MailServer>,
        ) -> Result<(), InvalidValue> {
            let Some(n) = new.as_mut() else { return Ok(()) };
            if n.password != KEEP_PASSWORD {
                return Ok(());
            }
            match old {
                Some(o)
                    if o.host.eq_ignore_ascii_case(n.host.trim())
                        && o.port == n.port
                        && o.security == n.security =>
                {
                    n.password = o.password.clone();
                    Ok(())
                }
                _ => Err(InvalidValue::new(
                    "password_required",
                    format!("{which}: the server changed, give its password again"),
                )),
            }
        }
        keep("imap", &mut self.imap, &old.imap)?;
        keep("smtp", &mut self.smtp, &old.smtp)
    }
}

/// What the API shows instead of a stored password; sent back, it keeps the password.
pub const KEEP_PASSWORD: &str = "********";

/// Where an email inbox's fetching stands, for the admin page.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailInbox {
    pub inbox_id: InboxId,
    pub settings: EmailSettings,
    /// The last fetch's error, `None` when it went well.
    pub fetch_error: Option<String>,
    pub fetched_at: Option<Millis>,
}

/// What happened to a mail we received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InboundStatus {
    /// Stored; the ingest job has not run yet.
    Received,
    /// A message (or a bounce recorded on one).
    Processed,
    /// Could not be read; kept raw for an admin to look at and reprocess.
    Failed,
    /// Over the sender's hourly limit; kept for an admin to reprocess.
    Held,
    /// From one of our own addresses (a loop); kept, not answered.
    Ignored,
}

impl InboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::Held => "held",
            Self::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => Self::Received,
            "processed" => Self::Processed,
            "failed" => Self::Failed,
            "held" => Self::Held,
            "ignored" => Self::Ignored,
            _ => return None,
        })
    }
}

/// A received mail as the admin page lists it (without its bytes).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboundEmailInfo {
    pub id: i64,
    pub inbox_id: InboxId,
    pub sender: Option<String>,
    pub size: i64,
    pub status: InboundStatus,
    pub error: Option<String>,
    pub message_id: Option<MessageId>,
    pub received_at: Millis,
}

/// Where an outgoing mail stands, or that a message came in by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Received,
    Queued,
    Sent,
    Failed,
    Bounced,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Bounced => "bounced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => Self::Received,
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "bounced" => Self::Bounced,
            _ => return None,
        })
    }
}

/// The email side of one message.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailMeta {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// Without angle brackets.
    pub rfc_message_id: String,
    pub subject: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Sanitised HTML of an inbound mail (no script, handlers or remote images).
    pub html: Option<String>,
    /// The whole text, quotes included (the message body is the part the customer wrote).
    pub full_text: Option<String>,
    pub delivery: Delivery,
    /// Why a delivery failed or bounced, in the server's words.
    pub delivery_detail: Option<String>,
    pub attachments: Vec<AttachmentMeta>,
}

/// An attachment's description; its bytes are served by id.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentMeta {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Set for an inline image referenced from the HTML.
    pub content_id: Option<String>,
}

/// Largest attachment stored; larger ones are listed in the message's text, not kept.
pub const MAX_ATTACHMENT_BYTES: usize = 15 * 1024 * 1024;

/// A file name safe to offer as a download: no path, no control characters, at most 150
/// characters, never empty.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        // No control characters, and no bidirectional controls: `\u{202E}gpj.exe` would show
        // as `exe.jpg`.
        .filter(|c| {
            !crate::unsafe_in_line(*c) && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|')
        })
        .take(150)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned.to_string()
    }
}

/// The subject of a reply: "Re: " once, and the ticket number so replies thread even when a
/// mail client drops the references.
pub fn reply_subject(first_subject: &str, number: crate::TicketNumber) -> String {
    let s = first_subject.trim();
    let tag = format!("[{number}]");
    let base = if s.is_empty() {
        String::new()
    } else if ["re:", "aw:", "antw:", "balas:", "ตอบกลับ:"]
        .iter()
        .any(|p| s.to_lowercase().starts_with(p))
    {
        s.to_string()
    } else {
        format!("Re: {s}")
    };
    match (base.is_empty(), base.contains(&tag)) {
        (true, _) => tag,
        (false, true) => base,
        (false, false) => format!("{base} {tag}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EmailSettings {
        serde_json::from_value(serde_json::json!({
            "address": "Help@Shop.Test",
            "from_name": "Toko Batik",
            "imap": {"host": "imap.shop.test", "port": 993, "username": "u", "password": "p"},
            "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none"}
        }))
        .unwrap()
    }

    #[test]
    fn settings_are_checked_by_field() {
        let mut s = settings();
        s.check().unwrap();
        assert_eq!(s.address, "help@shop.test");
        assert_eq!(s.imap_folder, "INBOX");
        assert_eq!(s.domain(), "shop.test");

        let mut remote_plain = settings();
        remote_plain.imap.as_mut().unwrap().security = Security::None;
        let e = remote_plain.check().unwrap_err();
        assert!(e.message.starts_with("imap.security"), "{}", e.message);

        let mut half_login = settings();
        half_login.smtp.as_mut().unwrap().username = "x".into();
        assert!(
            half_login
                .check()
                .unwrap_err()
                .message
                .starts_with("smtp.password")
        );

        let mut bad_name = settings();
        bad_name.from_name = "Evil <x@y>".into();
        assert!(
            bad_name
                .check()
                .unwrap_err()
                .message
                .starts_with("from_name")
        );

        let mut bad_address = settings();
        bad_address.address = "nope".into();
        assert!(
            bad_address
                .check()
                .unwrap_err()
                .message
                .starts_with("address")
        );

        assert!(
            serde_json::from_value::<EmailSettings>(serde_json::json!({
                "address": "a@b.test", "from_name": "x", "colour": 1
            }))
            .is_err()
        );
    }

    #[test]
    fn passwords_are_hidden_and_kept() {
        let s = settings();
        let shown = s.redacted();
        assert_eq!(shown.imap.as_ref().unwrap().password, KEEP_PASSWORD);
        // No password set: nothing to hide.
        assert_eq!(shown.smtp.as_ref().unwrap().password, "");
        let mut back = shown.clone();
        back.keep_passwords_from(&s).unwrap();
        assert_eq!(back.imap.unwrap().password, "p");
        // Another host (or port) with the password left hidden: refused, nothing sent there.
        for (host, port) in [("evil.example.test", 993), ("imap.example.test", 1993)] {
            let mut moved = shown.clone();
            let imap = moved.imap.as_mut().unwrap();
            imap.host = host.into();
            imap.port = port;
            assert_eq!(
                moved.keep_passwords_from(&s).unwrap_err().code,
                "password_required"
            );
        }
    }

    #[test]
    fn reply_subjects() {
        let n = crate::TicketNumber(1042);
        assert_eq!(
            reply_subject("Where is my order", n),
            "Re: Where is my order [#1042]"
        );
        assert_eq!(reply_subject("RE: Where [#1042]", n), "RE: Where [#1042]");
        assert_eq!(reply_subject("", n), "[#1042]");
        assert_eq!(reply_subject("Balas: pesanan", n), "Balas: pesanan [#1042]");
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\x\\factuur.pdf"), "factuur.pdf");
        assert_eq!(safe_filename("\"a\r\nb\".txt"), "ab.txt");
        assert_eq!(safe_filename(".."), "attachment");
        assert_eq!(safe_filename("ใบเสร็จ.pdf"), "ใบเสร็จ.pdf");
        // A right-to-left override would show "invoice\u{202E}fdp.exe" as "invoiceexe.pdf".
        assert_eq!(safe_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_filename("a\u{2066}b\u{2069}.pdf"), "ab.pdf");
    }
}
