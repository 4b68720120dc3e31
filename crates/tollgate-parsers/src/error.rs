use std::fmt;

/// Why a report could not be parsed, and where. The caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    /// 1-based line and column of the offending byte, when known.
    pub line_column: Option<(usize, usize)>,
    /// JSON path (`$.runs[0].results[3].level`) or XML path (`/OWASPZAPReport/site[1]`), when known.
    pub path: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file has no content (or only white space).
    Empty,
    /// Bytes that are not UTF-8.
    Encoding,
    /// Not well-formed JSON / XML, including a file cut short.
    Syntax,
    /// Well-formed, but not the shape of the format (missing or mistyped fields).
    Shape,
    /// Nesting deeper than the parser accepts.
    TooDeep,
    /// XML that declares entities or a DTD (entity-expansion bombs are refused outright).
    Entities,
    /// No parser recognises the content.
    UnknownFormat,
    /// A document that names no scanner (`null`, `[]`, `{}`, empty lists): several formats
    /// could have written it, so it is never guessed; the caller must name the format.
    Ambiguous,
}

impl ParseError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            line_column: None,
            path: None,
            message: message.into(),
        }
    }

    /// A well-formed report that lacks what its format requires, at `path`.
    pub fn shape(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError {
            kind: ErrorKind::Shape,
            line_column: None,
            path: Some(path.into()),
            message: message.into(),
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line_column = Some((line, column));
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line_column, &self.path) {
            (Some((l, c)), Some(p)) => write!(f, "line {l}, column {c} (at {p}): ")?,
            (Some((l, c)), None) => write!(f, "line {l}, column {c}: ")?,
            (None, Some(p)) => write!(f, "at {p}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// 1-based line and column of byte `offset` in `input` (column counts characters).
pub fn line_column(input: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(input.len());
    let before = &input[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
