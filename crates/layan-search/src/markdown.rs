//! Article markdown: rendered to HTML that is safe to put in any page (sanitised by ammonia: no
//! script, no event handlers, no `javascript:` or `data:` links, no inline styles), and to plain
//! text for the index and for excerpts.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Safe HTML for `markdown`. Raw HTML in the source passes through the sanitiser like the rest;
/// links get `rel="noopener noreferrer nofollow"`.
pub fn to_html(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options()));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

/// The text of `markdown` without markup, one block per line; raw HTML is dropped.
pub fn to_plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(text) | Event::Code(text) => out.push_str(&text),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableRow,
            ) => out.push('\n'),
            Event::Start(Tag::TableCell) => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// The first `max` characters of the plain text, cut at a word, with "…" when cut.
pub fn excerpt(plain: &str, max: usize) -> String {
    let flat: String = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let at = cut
        .rfind(' ')
        .filter(|at| *at > max / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_handlers_never_survive() {
        let nasty = "Hi <script>alert(1)</script> <img src=x onerror=alert(2)> \
            [click](javascript:alert(3)) <a href=\"data:text/html,x\">d</a> \
            <div style=\"background:url(x)\" onclick=\"y()\">z</div> <iframe src=//e.vil></iframe>";
        let html = to_html(nasty);
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "data:",
            "onclick",
            "style=",
            "<iframe",
        ] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("Hi"));
    }

    #[test]
    fn markdown_renders_and_links_are_safe() {
        let html = to_html("# Returns\n\n**30 days**, see [policy](https://shop.example/returns).");
        assert!(html.contains("<h1>Returns</h1>"));
        assert!(html.contains("<strong>30 days</strong>"));
        assert!(html.contains("href=\"https://shop.example/returns\""));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
    }

    #[test]
    fn plain_text_and_excerpts() {
        let plain = to_plain("# Title\n\nSome *bold* text.\n\n- one\n- two <b>x</b>");
        assert_eq!(plain, "Title\nSome bold text.\none\ntwo x");
        assert_eq!(excerpt("one two three four", 9), "one two…");
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("สินค้าทั้งหมด", 6), "สินค้า…");
    }
}
