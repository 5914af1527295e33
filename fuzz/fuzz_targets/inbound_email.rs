//! The inbound email path: any bytes must parse or be refused, never panic or hang, and what
//! comes out keeps its promises (safe HTML, a visible part drawn from the text, a thread only
//! through a token we signed).
#![no_main]

use layan_channels::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = email::parse(data) {
        if let Some(html) = &mail.html {
            // Text is escaped, so every literal '<' opens a real tag: check the tags.
            for tag in html.split('<').skip(1) {
                let tag = tag.split('>').next().unwrap_or("").to_lowercase();
                assert!(!tag.starts_with("script") && !tag.starts_with("iframe"), "{html}");
                for attr in tag.split_whitespace().skip(1) {
                    assert!(
                        !(attr.starts_with("on") && attr.contains('=')),
                        "an event handler survived: {html}"
                    );
                    let link = attr.starts_with("href=") || attr.starts_with("src=");
                    assert!(
                        !(link && attr.contains("javascript:")),
                        "a javascript: link survived: {html}"
                    );
                }
            }
        }
        assert!(mail.visible.len() <= mail.text.len() + 1);
        assert_eq!(email::conversation_from_references(b"fuzz-secret", &mail), None);
        for a in &mail.attachments {
            assert_eq!(a.size, a.data.len());
        }
        let _ = email::ticket_number_in_subject(&mail.subject);
    }
    // A bounce names our mails by signed Message-ID; bytes from outside never verify.
    assert!(email::signed_ids_in(b"fuzz-secret", data).is_empty());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = email::visible_part(text);
        let _ = email::safe_html(text);
    }
});
