//! The inbound email path: any bytes must parse or be refused, never panic or hang, and what
//! comes out keeps its promises (safe HTML, a visible part drawn from the text, a thread only
//! through a token we signed).
#![no_main]

use layan_channels::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = email::parse(data) {
        if let Some(html) = &mail.html {
            let lower = html.to_lowercase();
            assert!(!lower.contains("<script"), "script survived: {html}");
            assert!(!lower.contains("javascript:"), "javascript: survived: {html}");
        }
        assert!(mail.visible.len() <= mail.text.len() + 1);
        assert_eq!(email::conversation_from_references(b"fuzz-secret", &mail), None);
        let _ = email::ticket_number_in_subject(&mail.subject);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = email::visible_part(text);
        let _ = email::safe_html(text);
    }
});
