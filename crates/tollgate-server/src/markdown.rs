//! Markdown from scanner reports and notes, rendered to HTML that cannot run anything.
//!
//! Scanner text is attacker-controlled: whoever can put a string in a scanned repository, a
//! dependency's advisory or an HTTP response can put it in a description. So the renderer is
//! our own walk over [`pulldown_cmark`]'s events, writing only the elements it knows, with no
//! attributes but `href`, `title`, `rel` and `start`:
//!
//! - raw HTML, block or inline, is shown as escaped text, never passed through;
//! - a link keeps its `href` only for `http`, `https` and `mailto` URLs and relative or
//!   fragment ones (see [`safe_url`]); any other link (`javascript:`, `data:`, `vbscript:`, and
//!   every spelling a browser would still read as one) becomes its plain text;
//! - an image becomes a link to it (the page loads nothing from scanner text);
//! - every link carries `rel="noopener noreferrer nofollow"`;
//! - headings move down two levels (the page's own are `h1` and `h2`).

use crate::routes::ui::esc;
use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag};

/// What every link written from untrusted text carries.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// `text` (CommonMark, with tables and strikethrough) as sanitized HTML.
pub fn render(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // What each open element closes with (an unsafe link closes with nothing).
    let mut closers: Vec<&'static str> = Vec::new();
    let mut in_table_head = false;
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(tag) => {
                let (open, close) = open_tag(&tag, in_table_head);
                if matches!(tag, Tag::TableHead) {
                    in_table_head = true;
                }
                out.push_str(&open);
                closers.push(close);
            }
            Event::End(end) => {
                if matches!(end, pulldown_cmark::TagEnd::TableHead) {
                    in_table_head = false;
                }
                if let Some(close) = closers.pop() {
                    out.push_str(close);
                }
            }
            Event::Text(t) => out.push_str(&esc(&t)),
            Event::Code(t) => {
                out.push_str("<code>");
                out.push_str(&esc(&t));
                out.push_str("</code>");
            }
            // Raw HTML: shown as what it is, text.
            Event::Html(t) | Event::InlineHtml(t) => out.push_str(&esc(&t)),
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                out.push_str(&esc(&t))
            }
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>"),
            Event::Rule => out.push_str("<hr>"),
            Event::TaskListMarker(done) => out.push_str(if done { "[x] " } else { "[ ] " }),
        }
    }
    // The parser balances its events; should it not, nothing is left open.
    while let Some(close) = closers.pop() {
        out.push_str(close);
    }
    out
}

/// The opening HTML of `tag` and what closes it.
fn open_tag(tag: &Tag<'_>, in_table_head: bool) -> (String, &'static str) {
    let fixed = |open: &str, close: &'static str| (open.to_string(), close);
    match tag {
        Tag::Paragraph => fixed("<p>", "</p>\n"),
        Tag::Heading { level, .. } => match *level as usize {
            1 => fixed("<h3>", "</h3>\n"),
            2 => fixed("<h4>", "</h4>\n"),
            3 => fixed("<h5>", "</h5>\n"),
            _ => fixed("<h6>", "</h6>\n"),
        },
        Tag::BlockQuote(_) => fixed("<blockquote>", "</blockquote>\n"),
        // The info string (a language) is dropped: it would only be a class name.
        Tag::CodeBlock(CodeBlockKind::Fenced(_) | CodeBlockKind::Indented) => {
            fixed("<pre><code>", "</code></pre>\n")
        }
        // Its lines come as `Html` events, escaped: a paragraph of text.
        Tag::HtmlBlock => fixed("<p class=\"raw\">", "</p>\n"),
        Tag::List(Some(start)) if *start != 1 => (format!("<ol start=\"{start}\">\n"), "</ol>\n"),
        Tag::List(Some(_)) => fixed("<ol>\n", "</ol>\n"),
        Tag::List(None) => fixed("<ul>\n", "</ul>\n"),
        Tag::Item => fixed("<li>", "</li>\n"),
        // Alignment would need a style attribute, which the CSP forbids anyway.
        Tag::Table(_) => fixed("<table>", "</table>\n"),
        Tag::TableHead => fixed("<thead><tr>", "</tr></thead>\n"),
        Tag::TableRow => fixed("<tr>", "</tr>\n"),
        Tag::TableCell if in_table_head => fixed("<th>", "</th>"),
        Tag::TableCell => fixed("<td>", "</td>"),
        Tag::Emphasis => fixed("<em>", "</em>"),
        Tag::Strong => fixed("<strong>", "</strong>"),
        Tag::Strikethrough => fixed("<del>", "</del>"),
        Tag::Link {
            link_type,
            dest_url,
            title,
            ..
        } => {
            let href = if *link_type == LinkType::Email {
                format!("mailto:{dest_url}")
            } else {
                dest_url.to_string()
            };
            if safe_url(&href) {
                (anchor_open(&href, title), "</a>")
            } else {
                // Its text stays, as text.
                fixed("", "")
            }
        }
        // An image is a link to it, its alt text the link's text: nothing loads by itself.
        Tag::Image {
            dest_url, title, ..
        } => {
            if safe_url(dest_url) {
                (format!("{}image: ", anchor_open(dest_url, title)), "</a>")
            } else {
                fixed("", "")
            }
        }
        // Not enabled (footnotes, definition lists, metadata, super/subscript): their text stays.
        _ => fixed("", ""),
    }
}

fn anchor_open(href: &str, title: &str) -> String {
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(" title=\"{}\"", esc(title))
    };
    format!(
        "<a href=\"{}\" rel=\"{LINK_REL}\"{title}>",
        esc(href.trim())
    )
}

/// Whether a browser following `url` goes to an `http`, `https` or `mailto` URL, or stays
/// relative to the page (a path, a query, a fragment). The parser has already decoded entities
/// (`jav&#x09;ascript:` is `jav\tascript:` here); browsers drop ASCII tabs and newlines anywhere
/// in a URL and spaces and controls around it, so all of those are dropped before the scheme is
/// read, and a scheme is compared without case. Anything else with a scheme is refused.
pub fn safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !(c.is_ascii_whitespace() || c.is_ascii_control() || *c == '\u{0}'))
        .collect();
    // The scheme is what comes before a `:` that precedes any `/`, `?` or `#`.
    let end = cleaned.find(['/', '?', '#']).unwrap_or(cleaned.len());
    match cleaned[..end].find(':') {
        None => true,
        Some(colon) => {
            let scheme = &cleaned[..colon];
            ["http", "https", "mailto"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
        }
    }
}

/// `text` as a link to `url` when [`safe_url`] and absolute `http(s)`, else as text: for URLs a
/// scanner names (references, a DAST target).
pub fn web_link(url: &str, text: &str) -> String {
    let u = url.trim();
    // `get`: the first bytes of scanner text may cut a character in two.
    let starts = |prefix: &str| {
        u.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let web = u.len() > 8 && (starts("http://") || starts("https://"));
    if web && !u.chars().any(|c| c.is_whitespace() || c.is_control()) && safe_url(u) {
        format!("{}{}</a>", anchor_open(u, ""), esc(text))
    } else {
        esc(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `href`/`src`-like attribute value of `html`, entity-decoded as a browser would.
    fn urls(html: &str) -> Vec<String> {
        let mut out = Vec::new();
        for attr in ["href=\"", "src=\"", "action=\"", "formaction=\""] {
            for piece in html.split(attr).skip(1) {
                let v = piece.split('"').next().unwrap();
                out.push(decode_entities(v));
            }
        }
        out
    }

    /// `&amp;`, `&quot;`, `&#39;`, `&lt;`, `&gt;`, `&#NN;` and `&#xHH;` decoded, as a browser
    /// decodes an attribute value.
    fn decode_entities(v: &str) -> String {
        let mut out = String::new();
        let mut rest = v;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            let Some(end) = rest.find(';') else { break };
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "colon" => Some(':'),
                e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            match c {
                Some(c) => {
                    out.push(c);
                    rest = &rest[end + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Nothing in `html` that a browser would run: no script element, no event handler
    /// attribute, no other element than the renderer's own, and no link but to a safe URL.
    fn assert_inert(input: &str, html: &str) {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{input:?} → {html}");
        for tag in [
            "<img", "<svg", "<iframe", "<object", "<embed", "<details", "<style", "<math", "<body",
            "<form", "<input", "<meta", "<link", "<base",
        ] {
            assert!(!lower.contains(tag), "{tag} in {input:?} → {html}");
        }
        // Every `<` starts one of the renderer's elements; so no attribute can be smuggled in.
        let allowed = [
            "p",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "code",
            "ol",
            "ul",
            "li",
            "table",
            "thead",
            "tr",
            "th",
            "td",
            "em",
            "strong",
            "del",
            "a",
            "br",
            "hr",
        ];
        for piece in html.split('<').skip(1) {
            let name: String = piece
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                allowed.contains(&name.as_str()),
                "element {name:?} in {input:?} → {html}"
            );
            let tag = piece.split('>').next().unwrap();
            let after_name = &tag.trim_start_matches('/')[name.len()..];
            // Attributes (outside the quoted values): only the ones the renderer writes.
            let attrs = after_name
                .split('"')
                .step_by(2)
                .collect::<Vec<_>>()
                .join(" ");
            for word in attrs.split_whitespace() {
                let key = word.trim_start_matches('/').trim_end_matches('=');
                assert!(
                    key.is_empty() || ["href", "rel", "title", "start", "class"].contains(&key),
                    "attribute {key:?} in {input:?} → {html}"
                );
            }
        }
        for u in urls(html) {
            assert!(safe_url(&u), "unsafe URL {u:?} in {input:?} → {html}");
            let squeezed: String = u
                .chars()
                .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                .collect::<String>()
                .to_ascii_lowercase();
            for bad in ["javascript:", "data:", "vbscript:"] {
                assert!(!squeezed.starts_with(bad), "{u:?} in {input:?} → {html}");
            }
        }
        // Every link is rel=noopener noreferrer nofollow.
        assert_eq!(
            html.matches("<a ").count(),
            html.matches(&format!("rel=\"{LINK_REL}\"")).count(),
            "{input:?} → {html}"
        );
    }

    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
        "text <script>alert(1)</script> inline",
        "<img src=x onerror=alert(1)>",
        "inline <img src=x onerror=alert(1)> image",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<svg onload=alert(1)>",
        "<svg/onload=alert(1)>",
        "<body onload=alert('XSS')>",
        "<iframe src=\"javascript:alert(1)\"></iframe>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<details open ontoggle=alert(1)>",
        "</details><script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](<java\nscript:alert(1)>)",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](jav&#9;ascript:alert(1))",
        "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x]( javascript:alert(1))",
        "[x](\u{1}javascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](DATA:text/html,<script>alert(1)</script>)",
        "[x](javascript:alert(1) \"title\")",
        "[x](https://ok.example \"a\\\" onmouseover=\\\"alert(1)\")",
        "[x](https://ok.example/\"onmouseover=\"alert(1))",
        "<javascript:alert(1)>",
        "<JAVASCRIPT:alert(1)>",
        "<vbscript:msgbox(1)>",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "[ref]\n\n[ref]: javascript:alert(1)",
        "[x][ref]\n\n[ref]: <javascript:alert(1)> \"t\"",
        "![x](javascript:alert(1))",
        "![x](https://tracker.example/pixel.png)",
        "![<img src=x onerror=alert(1)>](https://ok.example/a.png)",
        "[**bold _and_ [inner](javascript:alert(2))**](javascript:alert(1))",
        "[[x](javascript:alert(1))](https://ok.example)",
        "[`code`<script>alert(1)</script>](https://ok.example)",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "\\<script>alert(1)\\</script>",
        "`<script>alert(1)</script>`",
        "```html\n<script>alert(1)</script>\n```",
        "    <script>alert(1)</script>",
        "> <script>alert(1)</script>",
        "* <img src=x onerror=alert(1)>\n* [x](javascript:alert(1))",
        "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
        "# <svg onload=alert(1)>",
        "<!-- <script>alert(1)</script> -->",
        "<style>body{background:url(javascript:alert(1))}</style>",
        "<math><mtext></p><script>alert(1)</script>",
        "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
        "<div style=\"background:url(javascript:alert(1))\">",
        "<form action=javascript:alert(1)><input type=submit>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<base href=\"javascript:alert(1)//\">",
        "<object data=\"data:text/html,<script>alert(1)</script>\"></object>",
        "\"><script>alert(1)</script>",
        "'';!--\"<XSS>=&{()}",
        "[x](https://ok.example)<img src=x onerror=alert(1)>",
        "<https://ok.example/\"onmouseover=\"alert(1)>",
        "<<script>alert(1);//<</script>",
    ];

    #[test]
    fn hostile_input_renders_inert() {
        for input in HOSTILE {
            let html = render(input);
            assert_inert(input, &html);
        }
    }

    #[test]
    fn the_inertness_check_catches_what_it_must() {
        // The check itself fails on live constructs (so a pass above means something).
        for live in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\" rel=\"noopener noreferrer nofollow\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\" rel=\"noopener noreferrer nofollow\">x</a>",
            "<a href=\"https://ok.example\">x</a>",
            "<p onclick=\"alert(1)\">x</p>",
        ] {
            let caught = std::panic::catch_unwind(|| assert_inert("live", live)).is_err();
            assert!(caught, "not caught: {live}");
        }
    }

    #[test]
    fn unsafe_links_keep_their_text_safe_ones_their_href() {
        assert_eq!(render("[x](javascript:alert(1))"), "<p>x</p>\n");
        assert_eq!(
            render("<javascript:alert(1)>"),
            "<p>javascript:alert(1)</p>\n"
        );
        assert_eq!(
            render("[docs](https://ok.example/a?b=1&c=2 \"T\")"),
            "<p><a href=\"https://ok.example/a?b=1&amp;c=2\" rel=\"noopener noreferrer nofollow\" title=\"T\">docs</a></p>\n"
        );
        assert_eq!(
            render("[up](../x#y) [frag](#top) <me@example.org>"),
            "<p><a href=\"../x#y\" rel=\"noopener noreferrer nofollow\">up</a> \
             <a href=\"#top\" rel=\"noopener noreferrer nofollow\">frag</a> \
             <a href=\"mailto:me@example.org\" rel=\"noopener noreferrer nofollow\">me@example.org</a></p>\n"
        );
        assert_eq!(
            render("![logo](https://img.example/l.png)"),
            "<p><a href=\"https://img.example/l.png\" rel=\"noopener noreferrer nofollow\">image: logo</a></p>\n"
        );
        // Reference-style links are checked like inline ones.
        assert_eq!(
            render("[a][1] [b][2]\n\n[1]: https://ok.example\n[2]: javascript:alert(1)"),
            "<p><a href=\"https://ok.example\" rel=\"noopener noreferrer nofollow\">a</a> b</p>\n"
        );
    }

    #[test]
    fn raw_html_shows_as_text() {
        assert_eq!(
            render("a <b onclick=x>bold</b>"),
            "<p>a &lt;b onclick=x&gt;bold&lt;/b&gt;</p>\n"
        );
        assert_eq!(
            render("<script>alert(1)</script>"),
            "<p class=\"raw\">&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        );
    }

    #[test]
    fn markdown_renders() {
        assert_eq!(
            render("# Title\n\nSome *em* and **strong** and `code`.\n\n1. one\n2. two"),
            "<h3>Title</h3>\n<p>Some <em>em</em> and <strong>strong</strong> and <code>code</code>.</p>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"
        );
        assert_eq!(
            render("```rust\nfn a() {}\n```"),
            "<pre><code>fn a() {}\n</code></pre>\n"
        );
        assert_eq!(
            render("3. three"),
            "<ol start=\"3\">\n<li>three</li>\n</ol>\n"
        );
        assert_eq!(
            render("| a |\n|---|\n| b |"),
            "<table><thead><tr><th>a</th></tr></thead>\n<tr><td>b</td></tr>\n</table>\n"
        );
    }

    #[test]
    fn safe_url_allows_only_web_mail_and_relative() {
        for ok in [
            "https://a.example",
            "HTTP://a.example",
            "mailto:x@y.example",
            "/ui/findings/1",
            "../a",
            "a/b:c",
            "#frag",
            "?q=1",
            "page.html",
            "//cdn.example/x",
        ] {
            assert!(safe_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "java\u{0}script:alert(1)",
            "\u{1f}javascript:alert(1)",
            "vbscript:x",
            "data:text/html,x",
            "file:///etc/passwd",
            ":x",
            "jav ascript:x",
        ] {
            assert!(!safe_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn web_link_links_only_http_urls() {
        assert_eq!(
            web_link("https://ok.example/a", "https://ok.example/a"),
            "<a href=\"https://ok.example/a\" rel=\"noopener noreferrer nofollow\">https://ok.example/a</a>"
        );
        assert_eq!(
            web_link("javascript:alert(1)", "javascript:alert(1)"),
            "javascript:alert(1)"
        );
        assert_eq!(web_link("/relative", "<x>"), "&lt;x&gt;");
        // Characters of several bytes where a scheme would end: text, no panic.
        assert_eq!(web_link("ééééééééé", "é"), "é");
        assert_eq!(web_link("httpé://x.example", "x"), "x");
        assert_eq!(
            web_link("https://a.example/ b", "t"),
            "t",
            "not one URL: text"
        );
    }
}
