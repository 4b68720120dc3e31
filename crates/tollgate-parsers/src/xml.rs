//! XML plumbing: a small, safe element tree for the XML report formats (ZAP, Dependency-Check).
//!
//! Safety: a document that declares entities (`<!ENTITY`) is refused before anything is expanded,
//! only the five predefined entities and character references are decoded, and nesting is capped.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::{line_column, ErrorKind, ParseError};

/// Elements nested deeper than this are refused.
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Default, Clone)]
pub struct Element {
    /// Local name (namespace prefix removed).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// Concatenated text and CDATA directly inside this element, trimmed.
    pub text: String,
    /// Path like `/OWASPZAPReport/site[1]/alerts/alertitem[3]` (1-based sibling index of the name).
    pub path: String,
    /// 1-based line of the start tag.
    pub line: usize,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child called `name`, if present and non-empty.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }

    /// An error about this element's shape, placed at its line and path.
    pub fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::shape(self.path.clone(), message).at(self.line, 1)
    }
}

/// Parses a whole XML document into its root element.
pub fn parse(input: &str) -> Result<Element, ParseError> {
    let bytes = input.as_bytes();
    let mut reader = Reader::from_str(input);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let place = |pos: u64| line_column(bytes, pos as usize);
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            let (l, c) = place(reader.error_position());
            ParseError::new(ErrorKind::Syntax, format!("malformed XML: {e}")).at(l, c)
        })?;
        match ev {
            Event::DocType(d) => {
                let text = String::from_utf8_lossy(&d);
                if text.contains("<!ENTITY") || text.contains("[") {
                    let (l, c) = place(pos);
                    return Err(ParseError::new(
                        ErrorKind::Entities,
                        "XML with a DTD internal subset or entity declarations is refused (entity expansion is unsafe)",
                    )
                    .at(l, c));
                }
            }
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let (l, c) = place(pos);
                let _ = e;
                return Err(ParseError::new(
                    ErrorKind::Syntax,
                    "malformed XML: content after the root element",
                )
                .at(l, c));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                if stack.len() >= MAX_DEPTH {
                    let (l, c) = place(pos);
                    return Err(ParseError::new(
                        ErrorKind::TooDeep,
                        format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
                    )
                    .at(l, c));
                }
                let local = e.local_name();
                let name = String::from_utf8_lossy(local.as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| {
                        let (l, c) = place(pos);
                        ParseError::new(ErrorKind::Syntax, format!("malformed XML attribute: {err}"))
                            .at(l, c)
                    })?;
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let value = a
                        .unescape_value()
                        .map_err(|err| {
                            let (l, c) = place(pos);
                            ParseError::new(ErrorKind::Syntax, format!("malformed XML attribute: {err}"))
                                .at(l, c)
                        })?
                        .into_owned();
                    attrs.push((key, value));
                }
                let path = match stack.last() {
                    None => format!("/{name}"),
                    Some(parent) => {
                        let n = parent.children.iter().filter(|c| c.name == name).count() + 1;
                        format!("{}/{name}[{n}]", parent.path)
                    }
                };
                let el = Element {
                    name,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                    path,
                    line: place(pos).0,
                };
                if is_empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or_else(|| {
                    let (l, c) = place(pos);
                    ParseError::new(ErrorKind::Syntax, "malformed XML: unexpected end tag").at(l, c)
                })?;
                let trimmed = el.text.trim();
                if trimmed.len() != el.text.len() {
                    el.text = trimmed.to_string();
                }
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t.unescape().map_err(|err| {
                        let (l, c) = place(pos);
                        let kind = if err.to_string().contains("entity") {
                            ErrorKind::Entities
                        } else {
                            ErrorKind::Syntax
                        };
                        ParseError::new(kind, format!("malformed XML text: {err}")).at(l, c)
                    })?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        let (l, c) = place(bytes.len() as u64);
        return Err(ParseError::new(
            ErrorKind::Syntax,
            format!(
                "the XML ends before </{}> (the file is truncated or incomplete)",
                stack.last().map(|e| e.name.as_str()).unwrap_or("")
            ),
        )
        .at(l, c));
    }
    root.ok_or_else(|| ParseError::new(ErrorKind::Syntax, "no XML root element"))
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tree_with_paths_and_text() {
        let root = parse("<?xml version=\"1.0\"?>\n<a x=\"1\">\n<b>hi &amp; bye</b><b><![CDATA[<c>]]></b></a>").unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.attr("x"), Some("1"));
        let bs: Vec<_> = root.children_named("b").collect();
        assert_eq!(bs[0].text, "hi & bye");
        assert_eq!(bs[1].text, "<c>");
        assert_eq!(bs[1].path, "/a/b[2]");
        assert_eq!(bs[0].line, 3);
    }

    #[test]
    fn refuses_entity_bombs_and_truncation() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>";
        assert_eq!(parse(bomb).unwrap_err().kind, ErrorKind::Entities);
        let e = parse("<a><b>text</b>").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.message.contains("truncated"), "{e}");
        let deep = "<a>".repeat(1000);
        assert_eq!(parse(&deep).unwrap_err().kind, ErrorKind::TooDeep);
        assert!(parse("<a>&undefined;</a>").is_err());
    }
}
