//! Format detection without parsing the whole file: a tolerant scan of the first bytes that
//! records which keys exist (by path) and the values of short string fields, or the XML root.

use std::collections::HashMap;

/// How many bytes of a report detection reads.
pub const SNIFF_BYTES: usize = 1 << 20;
/// Keys deeper than this are not recorded.
const MAX_DEPTH: usize = 6;

/// What detection knows about a report.
#[derive(Debug, Default)]
pub struct Sniff {
    shape: Shape,
    /// Key paths (`runs[].tool.driver.name`, `[].RuleID`) → the value when it is a short string.
    keys: HashMap<String, Option<String>>,
    xml_root: Option<String>,
    xml_root_tag: Option<String>,
    empty_array: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    JsonObject,
    JsonArray,
    Xml,
    #[default]
    Other,
}

impl Sniff {
    pub fn new(input: &[u8]) -> Sniff {
        let head = &input[..input.len().min(SNIFF_BYTES)];
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let start = head.iter().position(|b| !b.is_ascii_whitespace());
        let mut sniff = Sniff::default();
        match start.map(|i| head[i]) {
            Some(b'{') => {
                sniff.shape = Shape::JsonObject;
                scan_json(&head[start.unwrap_or(0)..], &mut sniff);
            }
            Some(b'[') => {
                sniff.shape = Shape::JsonArray;
                let rest = &head[start.unwrap_or(0) + 1..];
                sniff.empty_array = rest
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b']');
                scan_json(&head[start.unwrap_or(0)..], &mut sniff);
            }
            Some(b'<') => {
                sniff.shape = Shape::Xml;
                scan_xml(head, &mut sniff);
            }
            _ => {}
        }
        sniff
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// True when the key path was seen: `has("runs")`, `has("[].RuleID")`, `has("scan.type")`.
    pub fn has(&self, path: &str) -> bool {
        self.keys.contains_key(path)
    }

    /// The value of a short string field at `path`.
    pub fn value(&self, path: &str) -> Option<&str> {
        self.keys.get(path).and_then(|v| v.as_deref())
    }

    /// `[]` and nothing else.
    pub fn is_empty_array(&self) -> bool {
        self.empty_array
    }

    /// Local name of the XML root element.
    pub fn xml_root(&self) -> Option<&str> {
        self.xml_root.as_deref()
    }

    /// The whole start tag of the XML root (for namespace checks).
    pub fn xml_root_tag(&self) -> Option<&str> {
        self.xml_root_tag.as_deref()
    }
}

enum Frame {
    Object { path: String, key: Option<String> },
    Array { path: String },
}

fn scan_json(s: &[u8], sniff: &mut Sniff) {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    // In an object: true when the next string is a key.
    let mut expect_key = false;
    while i < s.len() {
        let b = s[i];
        match b {
            b'{' | b'[' => {
                let path = current_value_path(&stack);
                if b == b'{' {
                    stack.push(Frame::Object { path, key: None });
                    expect_key = true;
                } else {
                    stack.push(Frame::Array { path });
                    expect_key = false;
                }
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = matches!(stack.last(), Some(Frame::Object { .. }));
                i += 1;
            }
            b':' => {
                expect_key = false;
                i += 1;
            }
            b'"' => {
                let (text, next) = read_string(s, i);
                i = next;
                if expect_key {
                    let depth = stack.len();
                    if let Some(Frame::Object { path, key }) = stack.last_mut() {
                        let full = if path.is_empty() {
                            text.clone()
                        } else {
                            format!("{path}.{text}")
                        };
                        if depth <= MAX_DEPTH {
                            sniff.keys.entry(full).or_insert(None);
                        }
                        *key = Some(text);
                    }
                    expect_key = false;
                } else if let Some(Frame::Object {
                    path,
                    key: Some(key),
                }) = stack.last()
                {
                    if stack.len() <= MAX_DEPTH && text.len() <= 200 {
                        let full = if path.is_empty() {
                            key.clone()
                        } else {
                            format!("{path}.{key}")
                        };
                        let slot = sniff.keys.entry(full).or_insert(None);
                        if slot.is_none() {
                            *slot = Some(text);
                        }
                    }
                }
            }
            _ => i += 1,
        }
    }
}

/// The path a value opened at this point gets: `key` inside an object, `path[]` inside an array.
fn current_value_path(stack: &[Frame]) -> String {
    match stack.last() {
        None => String::new(),
        Some(Frame::Object { path, key }) => {
            let k = key.as_deref().unwrap_or("");
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        }
        Some(Frame::Array { path }) => format!("{path}[]"),
    }
}

/// Reads a JSON string starting at the quote at `start`; returns its (unescaped enough) text and
/// the index after the closing quote. A string cut off by the end of the sniff ends there.
fn read_string(s: &[u8], start: usize) -> (String, usize) {
    let mut i = start + 1;
    let mut out = Vec::new();
    while i < s.len() {
        match s[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\\' if i + 1 < s.len() => {
                out.push(s[i + 1]);
                i += 2;
            }
            c => {
                if out.len() < 256 {
                    out.push(c);
                }
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), i)
}

fn scan_xml(s: &[u8], sniff: &mut Sniff) {
    let text = String::from_utf8_lossy(s);
    let mut rest: &str = &text;
    loop {
        let Some(lt) = rest.find('<') else { return };
        rest = &rest[lt..];
        if rest.starts_with("<?") {
            match rest.find("?>") {
                Some(e) => rest = &rest[e + 2..],
                None => return,
            }
        } else if rest.starts_with("<!--") {
            match rest.find("-->") {
                Some(e) => rest = &rest[e + 3..],
                None => return,
            }
        } else if rest.starts_with("<!") {
            match rest.find('>') {
                Some(e) => rest = &rest[e + 1..],
                None => return,
            }
        } else {
            let end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[1..end];
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or(name);
            sniff.xml_root = Some(local.to_string());
            sniff.xml_root_tag = Some(tag.to_string());
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_key_paths_and_short_values() {
        let s = Sniff::new(
            br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}, "results": []}]}"#,
        );
        assert_eq!(s.shape(), Shape::JsonObject);
        assert_eq!(s.value("version"), Some("2.1.0"));
        assert!(s.has("runs"));
        assert_eq!(s.value("runs[].tool.driver.name"), Some("CodeQL"));
        assert!(s.has("runs[].results"));
    }

    #[test]
    fn top_level_arrays_and_truncation() {
        let s = Sniff::new(br#"[{"RuleID": "aws", "Secret": "AKIA"#);
        assert_eq!(s.shape(), Shape::JsonArray);
        assert!(s.has("[].RuleID"));
        assert!(Sniff::new(b" [ ] ").is_empty_array());
    }

    #[test]
    fn xml_root_skips_prolog_and_comments() {
        let s = Sniff::new(b"<?xml version=\"1.0\"?>\n<!-- x -->\n<ns:analysis xmlns:ns=\"a\"><x/>");
        assert_eq!(s.shape(), Shape::Xml);
        assert_eq!(s.xml_root(), Some("analysis"));
    }
}
