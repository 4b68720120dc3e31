//! Format detection without parsing the whole file: a tolerant scan of the first bytes that
//! records which keys exist (by path) and the values of short string fields, or the XML root.

use std::borrow::Cow;

/// How many bytes of a report detection reads.
pub const SNIFF_BYTES: usize = 1 << 20;
/// Keys deeper than this are not recorded.
const MAX_DEPTH: usize = 6;

/// What detection knows about a report.
#[derive(Debug, Default)]
pub struct Sniff {
    shape: Shape,
    /// Key paths (`runs[].tool.driver.name`, `[].RuleID`) → the value when it is a short string.
    /// foldhash: detection runs before any parsing, on the first MiB; SipHash cost a quarter of it.
    keys: foldhash::HashMap<String, Option<String>>,
    xml_root: Option<String>,
    xml_root_tag: Option<String>,
    empty_array: bool,
    /// The keys of a top-level object, in the order seen.
    top_keys: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    JsonObject,
    JsonArray,
    /// The document is the JSON literal `null` (Gitleaks v7 writes it for "no leaks").
    JsonNull,
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
            Some(b'n') if head[start.unwrap_or(0)..].trim_ascii() == b"null" => {
                sniff.shape = Shape::JsonNull;
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

    /// True when some key path below `path` was seen (`has_under("results")`: the `results`
    /// object or list has at least one entry with keys).
    pub fn has_under(&self, path: &str) -> bool {
        self.keys.keys().any(|k| {
            k.strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]."))
        })
    }

    /// The keys of a top-level object (those within the sniffed head).
    pub fn top_keys(&self) -> impl Iterator<Item = &str> {
        self.top_keys.iter().map(String::as_str)
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

/// An open container: whether it is an object, the length of `path` before it was entered, and
/// (objects) the key whose value comes next.
struct Frame {
    object: bool,
    parent_len: usize,
    key: String,
}

fn scan_json(s: &[u8], sniff: &mut Sniff) {
    let mut stack: Vec<Frame> = Vec::new();
    // The key path of the innermost open container (`runs[].results[]`).
    let mut path = String::new();
    // Scratch for the key path of one key.
    let mut full = String::new();
    let mut i = 0;
    // In an object: true when the next string is a key.
    let mut expect_key = false;
    while i < s.len() {
        let b = s[i];
        match b {
            b'{' | b'[' => {
                let parent_len = path.len();
                match stack.last() {
                    Some(Frame {
                        object: true, key, ..
                    }) => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    Some(_) => path.push_str("[]"),
                    None => {}
                }
                stack.push(Frame {
                    object: b == b'{',
                    parent_len,
                    key: String::new(),
                });
                expect_key = b == b'{';
                i += 1;
            }
            b'}' | b']' => {
                if let Some(frame) = stack.pop() {
                    path.truncate(frame.parent_len);
                }
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = stack.last().is_some_and(|f| f.object);
                i += 1;
            }
            b':' => {
                expect_key = false;
                i += 1;
            }
            b'"' => {
                let (text, next) = read_string(s, i);
                i = next;
                let depth = stack.len();
                let Some(frame) = stack.last_mut().filter(|f| f.object) else {
                    continue;
                };
                if expect_key {
                    frame.key.clear();
                    frame.key.push_str(&text);
                    if depth == 1 {
                        sniff.top_keys.push(frame.key.clone());
                    }
                    if depth <= MAX_DEPTH {
                        key_path(&mut full, &path, &frame.key);
                        if !sniff.keys.contains_key(full.as_str()) {
                            sniff.keys.insert(full.clone(), None);
                        }
                    }
                    expect_key = false;
                } else if depth <= MAX_DEPTH && text.len() <= 200 && !frame.key.is_empty() {
                    key_path(&mut full, &path, &frame.key);
                    match sniff.keys.get_mut(full.as_str()) {
                        Some(Some(_)) => {}
                        Some(slot) => *slot = Some(text.into_owned()),
                        None => {
                            sniff.keys.insert(full.clone(), Some(text.into_owned()));
                        }
                    }
                }
            }
            _ => i += 1,
        }
    }
}

/// `path.key` (or `key` at the top) into `out`.
fn key_path(out: &mut String, path: &str, key: &str) {
    out.clear();
    out.push_str(path);
    if !path.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

/// Reads a JSON string starting at the quote at `start`; returns its (unescaped enough) text and
/// the index after the closing quote. A string cut off by the end of the sniff ends there.
fn read_string(s: &[u8], start: usize) -> (Cow<'_, str>, usize) {
    let body = &s[start + 1..];
    // The usual case: no escapes, short enough; borrowed.
    if let Some(end) = body.iter().position(|b| *b == b'"' || *b == b'\\') {
        if body[end] == b'"' && end <= 256 {
            let text = match std::str::from_utf8(&body[..end]) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(&body[..end]),
            };
            return (text, start + 1 + end + 1);
        }
    }
    let mut i = start + 1;
    let mut out = Vec::new();
    while i < s.len() {
        match s[i] {
            b'"' => {
                return (
                    Cow::Owned(String::from_utf8_lossy(&out).into_owned()),
                    i + 1,
                )
            }
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
    (Cow::Owned(String::from_utf8_lossy(&out).into_owned()), i)
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
    fn top_keys_and_entries_below_a_path() {
        let s = Sniff::new(
            br#"{"version": "15.0.4", "vulnerabilities": [], "scan": {"type": "sast"}}"#,
        );
        assert_eq!(
            s.top_keys().collect::<Vec<_>>(),
            ["version", "vulnerabilities", "scan"]
        );
        assert!(s.has_under("scan"));
        assert!(!s.has_under("vulnerabilities"));
        assert!(!s.has_under("sca"));
        let s = Sniff::new(br#"{"results": {"rule": {"files": []}}}"#);
        assert!(s.has_under("results"));
    }

    #[test]
    fn xml_root_skips_prolog_and_comments() {
        let s =
            Sniff::new(b"<?xml version=\"1.0\"?>\n<!-- x -->\n<ns:analysis xmlns:ns=\"a\"><x/>");
        assert_eq!(s.shape(), Shape::Xml);
        assert_eq!(s.xml_root(), Some("analysis"));
    }
}
