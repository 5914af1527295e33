//! Inbound email, parsed (RFC 5322 and MIME by `mail-parser`, with every charset our shoppers'
//! mail clients use: UTF-8, ISO-8859-x, Windows-125x, TIS-620 and Windows-874 for Thai), and the
//! rules that keep a helpdesk's email sane: which conversation a reply belongs to (a reply token
//! we sign into our own Message-IDs, so outsiders cannot join a ticket by guessing; then the ticket
//! number in the subject), which mail is automatic (no auto-reply to it), the part of a reply the
//! customer actually wrote (quotes and signature trimmed; the full text is kept), and HTML that is
//! safe to show an agent.

use hmac::{Hmac, Mac};
use mail_parser::{MessageParser, MimeHeaders};
use sha2::Sha256;

/// Mail larger than this is not parsed (it is stored raw for an admin to look at).
pub const MAX_EMAIL_BYTES: usize = 30 * 1024 * 1024;

/// An address with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Lower-cased.
    pub address: String,
    pub name: Option<String>,
}

/// An attachment: its description and bytes (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// The file name as sent, or "attachment" when none.
    pub name: String,
    /// `type/subtype`, lower case.
    pub content_type: String,
    pub size: usize,
    /// Referenced from the HTML (`cid:`), e.g. an inline image.
    pub content_id: Option<String>,
    pub data: Vec<u8>,
}

/// Why a mail is automatic: no acknowledgement or auto-reply may answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    /// `Auto-Submitted:` other than `no` (RFC 3834).
    AutoSubmitted,
    /// `Precedence: bulk`, `list` or `junk`.
    Precedence,
    /// From a mailer daemon or postmaster (bounces), or with an empty return path.
    MailerDaemon,
    /// A mailing list (`List-Id`, `List-Unsubscribe`).
    MailingList,
    /// Microsoft's and others' out-of-office markers.
    OutOfOffice,
}

/// One inbound mail, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    /// Milliseconds since the epoch, when the Date header is readable.
    pub date: Option<i64>,
    /// The whole text (the plain part, or the HTML part turned into text).
    pub text: String,
    /// What the customer wrote in this mail: quoted replies and the signature trimmed.
    pub visible: String,
    /// The HTML part made safe to show (no script, handlers, styles that hide or remote
    /// images); `None` for plain mail.
    pub html: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
    pub automatic: Option<Automatic>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("the mail is larger than {MAX_EMAIL_BYTES} bytes")]
    TooLarge,
    #[error("this is not an email message")]
    Unparseable,
}

fn strip_brackets(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![strip_brackets(t)],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| strip_brackets(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|i| !i.is_empty() && i.len() <= 998)
    .collect()
}

fn mailboxes(a: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|m| {
            let address = m.address()?.trim().to_lowercase();
            address.contains('@').then(|| Mailbox {
                address,
                // A decoded name may hold CR/LF or bidi controls (`=?utf-8?q?x=0D=0ABcc:...?=`):
                // it ends up in reply headers and the agent's screen, so it is made one line.
                name: m.name().map(layan_core::one_line).filter(|n| !n.is_empty()),
            })
        })
        .collect()
}

/// The sender's address and the Message-ID, read from the headers alone (no body decoding):
/// enough to recognise a mail fetched or delivered again.
pub fn sender_and_id(raw: &[u8]) -> (Option<String>, Option<String>) {
    let Some(m) = MessageParser::default().parse_headers(raw) else {
        return (None, None);
    };
    (
        mailboxes(m.from()).into_iter().next().map(|f| f.address),
        m.message_id().map(strip_brackets).filter(|i| !i.is_empty()),
    )
}

/// Parses a raw mail.
pub fn parse(raw: &[u8]) -> Result<InboundEmail, EmailError> {
    if raw.len() > MAX_EMAIL_BYTES {
        return Err(EmailError::TooLarge);
    }
    let m = MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::Unparseable)?;
    // Something with no header we recognise and no body is not a mail.
    if m.from().is_none() && m.message_id().is_none() && m.subject().is_none() {
        return Err(EmailError::Unparseable);
    }
    let html_raw = m.body_html(0).map(|h| h.into_owned());
    let text = m
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let from = mailboxes(m.from()).into_iter().next();
    let header_text = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    };
    let automatic = automatic(
        header_text("Auto-Submitted").as_deref(),
        header_text("Precedence").as_deref(),
        m.header_raw("List-Id").is_some() || m.header_raw("List-Unsubscribe").is_some(),
        m.header_raw("X-Autoreply").is_some()
            || m.header_raw("X-Autorespond").is_some()
            || header_text("X-Auto-Response-Suppress")
                .is_some_and(|v| v.contains("all") || v.contains("oof")),
        from.as_ref().map(|f| f.address.as_str()),
        header_text("Return-Path").as_deref(),
    );
    let attachments = m
        .attachments()
        .map(|a| AttachmentInfo {
            name: a
                .attachment_name()
                .map(layan_core::one_line)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "attachment".to_string()),
            content_type: a
                .content_type()
                .map(|c| match c.subtype() {
                    Some(s) => format!("{}/{}", c.ctype(), s),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_string())
                .to_ascii_lowercase(),
            size: a.contents().len(),
            content_id: a.content_id().map(strip_brackets),
            data: a.contents().to_vec(),
        })
        .collect();
    Ok(InboundEmail {
        message_id: m.message_id().map(strip_brackets).filter(|i| !i.is_empty()),
        in_reply_to: ids(m.in_reply_to()),
        references: ids(m.references()),
        reply_to: mailboxes(m.reply_to()).into_iter().next(),
        to: mailboxes(m.to()),
        cc: mailboxes(m.cc()),
        subject: layan_core::one_line(m.subject().unwrap_or("")),
        date: m.date().map(|d| d.to_timestamp().saturating_mul(1000)),
        visible: visible_part(&text),
        text,
        html: html_raw.as_deref().map(safe_html),
        attachments,
        automatic,
        from,
    })
}

fn automatic(
    auto_submitted: Option<&str>,
    precedence: Option<&str>,
    list: bool,
    out_of_office: bool,
    from: Option<&str>,
    return_path: Option<&str>,
) -> Option<Automatic> {
    if auto_submitted.is_some_and(|v| v != "no") {
        return Some(Automatic::AutoSubmitted);
    }
    if precedence.is_some_and(|p| matches!(p, "bulk" | "list" | "junk")) {
        return Some(Automatic::Precedence);
    }
    let local = from.and_then(|f| f.split('@').next()).unwrap_or("");
    if matches!(local, "mailer-daemon" | "postmaster" | "mail-daemon")
        || local.starts_with("no-reply")
        || local.starts_with("noreply")
        || return_path.is_some_and(|r| r == "<>")
    {
        return Some(Automatic::MailerDaemon);
    }
    if list {
        return Some(Automatic::MailingList);
    }
    if out_of_office {
        return Some(Automatic::OutOfOffice);
    }
    None
}

/// The lines that begin a quoted earlier message, in the languages our shoppers write in.
fn starts_quote(line: &str) -> bool {
    let l = line.trim();
    let lower = l.to_lowercase();
    // "On Mon, 3 Nov 2026 at 10:00, Toko <x@y> wrote:" (wrapped onto two lines, see
    // `quote_starts_at`).
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("op ") && lower.contains(" schreef") && lower.ends_with(':'))
        || (lower.starts_with("pada ")
            && (lower.contains(" menulis") || lower.contains(" wrote"))
            && lower.ends_with(':'))
        || (l.starts_with("เมื่อ") && l.contains("เขียน") && l.ends_with(':'))
        || lower.starts_with("-----original message-----")
        || lower.starts_with("-----oorspronkelijk bericht-----")
        || lower.starts_with("-----pesan asli-----")
        || l.starts_with("-----ข้อความต้นฉบับ-----")
        || lower.starts_with("________________________________")
        || (header_label(&lower, FROM_LABELS) && lower.contains('@'))
}

/// "From:" as Outlook writes it in our four languages.
const FROM_LABELS: &[&str] = &["from:", "van:", "dari:", "จาก:"];
/// "Sent:" / "Date:", the line Outlook puts after "From:".
const SENT_LABELS: &[&str] = &[
    "sent:",
    "date:",
    "verzonden:",
    "datum:",
    "dikirim:",
    "tanggal:",
    "ส่ง:",
    "วันที่:",
];

fn header_label(lower: &str, labels: &[&str]) -> bool {
    labels.iter().any(|l| lower.starts_with(l))
}

/// Whether a quote starts at `lines[i]`, looking at the next line too: Outlook's header block
/// without an address ("From: Toko" then "Sent: …"), and a Gmail attribution wrapped onto two
/// lines ("Op ma 3 nov … <" then "cs@toko.test>:").
fn quote_starts_at(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if starts_quote(line) {
        return true;
    }
    let Some(next) = lines.get(i + 1) else {
        return false;
    };
    let lower = line.trim().to_lowercase();
    if header_label(&lower, FROM_LABELS) && header_label(&next.trim().to_lowercase(), SENT_LABELS) {
        return true;
    }
    let attribution = ["on ", "op ", "pada ", "เมื่อ"]
        .iter()
        .any(|p| lower.starts_with(p));
    let joined = format!("{} {}", line.trim(), next.trim());
    attribution && joined.ends_with(':') && starts_quote(&joined)
}

/// What the customer wrote: the text before a quoted earlier message, without `>` lines and
/// without a signature after "-- ". Never empty when the text is not (a mail that is only a
/// quote shows whole).
pub fn visible_part(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().copied().enumerate() {
        if quote_starts_at(&lines, i) || line == "-- " || line == "--" {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        out.push(line);
    }
    let visible = out.join("\n").trim().to_string();
    if visible.is_empty() {
        text.trim().to_string()
    } else {
        visible
    }
}

/// HTML from a mail made safe for the agent's screen: no script, event handlers, forms, frames,
/// styles or remote resources (images only from the mail itself, `cid:`), links open outside.
pub fn safe_html(html: &str) -> String {
    let mut tags: std::collections::HashSet<&str> = ammonia::Builder::default().clone_tags();
    for t in [
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "font", "center",
    ] {
        tags.insert(t);
    }
    ammonia::Builder::default()
        .tags(tags)
        .add_tag_attributes("td", &["colspan", "rowspan", "align"])
        .add_tag_attributes("th", &["colspan", "rowspan", "align"])
        .url_schemes(["http", "https", "mailto", "cid"].into_iter().collect())
        .attribute_filter(|element, attribute, value| {
            // Remote images track the reader: only images carried in the mail.
            if element == "img" && attribute == "src" && !value.starts_with("cid:") {
                return None;
            }
            Some(value.into())
        })
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// A ticket number written in a subject: "[#1042]", "Re: Pesanan #1042", "(#1042)".
pub fn ticket_number_in_subject(subject: &str) -> Option<i64> {
    let bytes = subject.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#' {
            let digits: String = subject[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if (1..=12).contains(&digits.len()) {
                return digits.parse().ok();
            }
        }
        i += 1;
    }
    None
}

/// Signs a conversation into the local part of our outgoing Message-IDs:
/// `layan.c{conversation}.{nonce}.{mac}@{domain}`; only we can make one that verifies.
pub fn reply_token(secret: &[u8], conversation: i64, nonce: &str) -> String {
    let body = format!("c{conversation}.{nonce}");
    format!("layan.{body}.{}", mac_hex(secret, &body))
}

fn mac_hex(secret: &[u8], body: &str) -> String {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The conversation a reply's `In-Reply-To`/`References` point at through one of our signed
/// Message-IDs (the newest reference first); a forged or altered id is ignored.
pub fn conversation_from_references(secret: &[u8], email: &InboundEmail) -> Option<i64> {
    email
        .in_reply_to
        .iter()
        .chain(email.references.iter().rev())
        .find_map(|id| verify_token(secret, id.split('@').next().unwrap_or("")))
}

/// The conversations named by our signed Message-IDs anywhere in a raw mail — a bounce carries
/// the original mail's headers in its body, not in its own references. Only ids that verify.
pub fn signed_ids_in(secret: &[u8], raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<String> = Vec::new();
    for (start, _) in text.match_indices("layan.c") {
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c == '>' || c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        let id = &rest[..end];
        if id.len() > 300 {
            continue;
        }
        let local = id.split('@').next().unwrap_or("");
        if verify_token(secret, local).is_some() && !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

fn verify_token(secret: &[u8], local: &str) -> Option<i64> {
    let rest = local.strip_prefix("layan.")?;
    let (body, mac) = rest.rsplit_once('.')?;
    let expected = mac_hex(secret, body);
    if expected.is_empty() || mac.len() != expected.len() {
        return None;
    }
    // Constant time.
    let same = mac
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        return None;
    }
    body.strip_prefix('c')?.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_one_line_whatever_it_decodes_to() {
        let raw = b"From: =?utf-8?q?x=0D=0ABcc:_victim@example.com?= <poison@example.test>\r\n\
            Cc: =?utf-8?b?QW5hDQpYOiB5?= <ana@example.test>\r\n\
            Subject: =?utf-8?q?hi=0D=0ABcc:_v@x.test?=\r\nMessage-ID: <p1@example.test>\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
            Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/plain\r\n\
            Content-Disposition: attachment; filename*=utf-8''gpj%E2%80%AE%0D%0A.exe\r\n\r\nx\r\n--b--\r\n";
        let m = parse(raw).unwrap();
        let from = m.from.unwrap();
        assert_eq!(from.address, "poison@example.test");
        assert_eq!(from.name.as_deref(), Some("x Bcc: victim@example.com"));
        assert_eq!(m.cc[0].name.as_deref(), Some("Ana X: y"));
        assert_eq!(m.subject, "hi Bcc: v@x.test");
        assert_eq!(m.attachments[0].name, "gpj .exe");
    }

    #[test]
    fn thai_tis620_and_dutch_latin1_mail_read_correctly() {
        // "สวัสดีครับ" in TIS-620, subject as an encoded word.
        let mut thai = b"From: =?TIS-620?B?ydLB0ai1?= <somchai@example.test>\r\nTo: help@shop.test\r\nSubject: =?UTF-8?B?4Liq4Lit4Lia4LiW4Liy4Lih?=\r\nMessage-ID: <a1@example.test>\r\nContent-Type: text/plain; charset=TIS-620\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
        thai.extend_from_slice(&[0xca, 0xc7, 0xd1, 0xca, 0xb4, 0xd5, 0xa4, 0xc3, 0xd1, 0xba]);
        thai.extend_from_slice(b"\r\n");
        let m = parse(&thai).unwrap();
        assert_eq!(m.text.trim(), "สวัสดีครับ");
        assert_eq!(m.subject, "สอบถาม");
        assert_eq!(m.from.as_ref().unwrap().address, "somchai@example.test");
        assert_eq!(m.message_id.as_deref(), Some("a1@example.test"));

        let mut dutch = b"From: Jeroen <Jeroen@Example.NL>\r\nSubject: =?ISO-8859-1?Q?Bestelling_niet_ontvangen_=E9=E9n?=\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".to_vec();
        dutch.extend_from_slice(b"Mijn pakket is niet aangekomen, co=F6rdinatie graag.\r\n");
        let m = parse(&dutch).unwrap();
        assert_eq!(
            m.text.trim(),
            "Mijn pakket is niet aangekomen, coördinatie graag."
        );
        assert_eq!(m.subject, "Bestelling niet ontvangen één");
        assert_eq!(m.from.unwrap().address, "jeroen@example.nl");
    }

    #[test]
    fn windows_874_is_read_too() {
        let mut raw = b"From: a@example.test\r\nSubject: x\r\nContent-Type: text/plain; charset=windows-874\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0xa2, 0xcd, 0xba, 0xa4, 0xd8, 0xb3, 0x20, 0x85]);
        let m = parse(&raw).unwrap();
        assert_eq!(m.text.trim(), "ขอบคุณ …");
    }

    #[test]
    fn html_mail_is_made_harmless_and_has_a_text_version() {
        let raw = b"From: x@example.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onclick=\"steal()\">Halo <b>kak</b><script>alert(1)</script><img src=\"https://tracker.test/p.gif\"><img src=\"cid:logo\"><a href=\"javascript:alert(2)\">x</a><iframe src=\"https://evil.test\"></iframe></p>\r\n";
        let m = parse(raw).unwrap();
        let html = m.html.unwrap();
        for bad in ["script", "onclick", "tracker.test", "javascript:", "iframe"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(
            html.contains("<b>kak</b>") && html.contains("cid:logo"),
            "{html}"
        );
        assert!(
            m.text.contains("Halo") && !m.text.contains("alert(1)"),
            "{}",
            m.text
        );
    }

    #[test]
    fn automatic_mail_is_recognised() {
        let mail = |headers: &str| {
            parse(format!("{headers}\r\nSubject: x\r\n\r\nbody\r\n").as_bytes())
                .unwrap()
                .automatic
        };
        assert_eq!(
            mail("From: a@example.test\r\nAuto-Submitted: auto-replied"),
            Some(Automatic::AutoSubmitted)
        );
        assert_eq!(mail("From: a@example.test\r\nAuto-Submitted: no"), None);
        assert_eq!(
            mail("From: a@example.test\r\nPrecedence: bulk"),
            Some(Automatic::Precedence)
        );
        assert_eq!(
            mail("From: MAILER-DAEMON@mx.example.test"),
            Some(Automatic::MailerDaemon)
        );
        assert_eq!(
            mail("From: a@example.test\r\nReturn-Path: <>"),
            Some(Automatic::MailerDaemon)
        );
        assert_eq!(
            mail("From: a@example.test\r\nList-Id: <news.example.test>"),
            Some(Automatic::MailingList)
        );
        assert_eq!(
            mail("From: a@example.test\r\nX-Auto-Response-Suppress: OOF"),
            Some(Automatic::OutOfOffice)
        );
        assert_eq!(mail("From: a@example.test"), None);
    }

    #[test]
    fn the_visible_part_drops_quotes_and_signatures_in_four_languages() {
        for (text, expect) in [
            (
                "Sudah sampai, terima kasih!\n\nPada Sen, 3 Nov 2026 10.00, Toko <cs@toko.test> menulis:\n> Pesanan #1042 dikirim",
                "Sudah sampai, terima kasih!",
            ),
            (
                "Top, bedankt.\n\nOp ma 3 nov. 2026 om 10:00 schreef Toko <cs@toko.test>:\n> Je bestelling",
                "Top, bedankt.",
            ),
            (
                "ได้รับแล้วค่ะ\n\nเมื่อ จ. 3 พ.ย. 2026 Toko <cs@toko.test> เขียนว่า:\n> คำสั่งซื้อ",
                "ได้รับแล้วค่ะ",
            ),
            ("Thanks!\n-- \nJoko\nSent from my phone", "Thanks!"),
            (
                "Yes please\n\nOn Mon, 3 Nov 2026 at 10:00, Toko <cs@toko.test> wrote:\n> Shall we refund?",
                "Yes please",
            ),
            ("> only a quote", "> only a quote"),
            // A customer's own sentence that merely looks like the start of one is kept.
            (
                "Hi,\nOn Monday I ordered, my email is sari@example.test,\nplease check it.",
                "Hi,\nOn Monday I ordered, my email is sari@example.test,\nplease check it.",
            ),
            // Thai Outlook: its header block, with or without the address, and its separator.
            (
                "ได้รับของแล้วครับ\n\nจาก: Toko Batik <cs@toko.test>\nส่ง: 3 พฤศจิกายน 2569 10:00\nถึง: ลูกค้า\nเรื่อง: คำสั่งซื้อ\n\nคำสั่งซื้อ #1042",
                "ได้รับของแล้วครับ",
            ),
            (
                "ขอบคุณค่ะ\n\nจาก: Toko Batik\nส่ง: วันจันทร์ที่ 3 พฤศจิกายน 2569 10:00\nถึง: somying@example.test\n\nคำสั่งซื้อ",
                "ขอบคุณค่ะ",
            ),
            (
                "เรียบร้อยค่ะ\n\n-----ข้อความต้นฉบับ-----\nจาก: Toko\nคำสั่งซื้อ",
                "เรียบร้อยค่ะ",
            ),
            // Gmail attributions wrapped onto two lines.
            (
                "Oke, makasih.\n\nPada tanggal Sen, 3 Nov 2026 pukul 10.00 Toko Batik Sari <\ncs@toko.test> menulis:\n\n> Pesanan dikirim",
                "Oke, makasih.",
            ),
            (
                "Prima, dank je.\n\nOp ma 3 nov 2026 om 10:00 schreef Toko Batik Sari <\ncs@toko.test>:\n\n> Je bestelling",
                "Prima, dank je.",
            ),
            (
                "โอเคค่ะ\n\nเมื่อ จ. 3 พ.ย. 2026 เวลา 10:00 Toko Batik Sari <cs@toko.test>\nเขียนว่า:\n\n> คำสั่งซื้อ",
                "โอเคค่ะ",
            ),
            (
                "Great, thanks.\n\nOn Mon, 3 Nov 2026 at 10:00 Toko Batik Sari <\ncs@toko.test> wrote:\n\n> Your order",
                "Great, thanks.",
            ),
            // Outlook's Dutch and Indonesian header blocks without an address.
            (
                "Dank je!\n\nVan: Toko Batik\nVerzonden: maandag 3 november 2026 10:00\nAan: Jeroen\nOnderwerp: Bestelling\n\nJe bestelling",
                "Dank je!",
            ),
            (
                "Terima kasih.\n\nDari: Toko Batik\nDikirim: Senin, 3 November 2026 10.00\nKepada: Budi\n\nPesanan",
                "Terima kasih.",
            ),
        ] {
            assert_eq!(visible_part(text), expect, "{text}");
        }
    }

    /// An Outlook reply with only an HTML part (Dutch): the quoted header block after the
    /// separator line is not part of what the customer wrote.
    #[test]
    fn an_html_only_outlook_reply_is_trimmed_too() {
        let raw = "From: Jeroen <jeroen@example.nl>\r\nSubject: RE: Bestelling\r\n\
            MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
            <html><body><div>Bedankt, ik wacht af.</div><div><br></div>\
            <div id=\"divRplyFwdMsg\" dir=\"ltr\"><hr style=\"display:inline-block;width:98%\">\
            <font face=\"Calibri\"><b>Van:</b> Toko Batik &lt;cs@toko.test&gt;<br>\
            <b>Verzonden:</b> maandag 3 november 2026 10:00<br><b>Aan:</b> Jeroen<br>\
            <b>Onderwerp:</b> Bestelling</font><div>&nbsp;</div></div>\
            <div>Je bestelling is verzonden.</div></body></html>\r\n";
        let m = parse(raw.as_bytes()).unwrap();
        assert_eq!(m.visible, "Bedankt, ik wacht af.", "{:?}", m.text);
    }

    #[test]
    fn threads_follow_signed_ids_only() {
        let secret = b"k3y";
        let token = reply_token(secret, 1042, "7f3a");
        let reply = |in_reply_to: &str| {
            parse(format!("From: a@example.test\r\nSubject: Re: x\r\nIn-Reply-To: <{in_reply_to}>\r\nReferences: <other@mail.test> <{in_reply_to}>\r\n\r\nok\r\n").as_bytes()).unwrap()
        };
        assert_eq!(
            conversation_from_references(secret, &reply(&format!("{token}@shop.test"))),
            Some(1042)
        );
        // Guessing or altering the conversation number breaks the signature.
        let forged = token.replace("c1042", "c1043");
        assert_eq!(
            conversation_from_references(secret, &reply(&format!("{forged}@shop.test"))),
            None
        );
        assert_eq!(
            conversation_from_references(
                secret,
                &reply("layan.c1042.0.000000000000000000000000@shop.test")
            ),
            None
        );
        assert_eq!(
            conversation_from_references(b"other", &reply(&format!("{token}@shop.test"))),
            None
        );
        assert_eq!(
            ticket_number_in_subject("Re: [#1042] Pesanan saya"),
            Some(1042)
        );
        assert_eq!(ticket_number_in_subject("Order # shipped"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(parse(b""), Err(EmailError::Unparseable));
        assert!(parse(&[0xff; 64]).is_err());
        assert!(parse(b"\r\n\r\n\r\n").is_err());
    }
}
