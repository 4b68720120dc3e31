//! JSON plumbing shared by the JSON parsers: input checks, typed deserialization with precise
//! error places, streaming over large arrays, and lenient field readers for the loose types real
//! scanners write (numbers as strings, booleans as strings, one-or-many).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{line_column, ErrorKind, ParseError};

/// Checks what every text report must be: non-empty, UTF-8. Strips a UTF-8 byte-order mark.
pub fn text(input: &[u8]) -> Result<&str, ParseError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let s = match std::str::from_utf8(input) {
        Ok(s) => s,
        Err(e) => {
            let (l, c) = line_column(input, e.valid_up_to());
            return Err(ParseError::new(
                ErrorKind::Encoding,
                "invalid UTF-8: reports must be UTF-8 text",
            )
            .at(l, c));
        }
    };
    if s.trim().is_empty() {
        return Err(ParseError::new(ErrorKind::Empty, "the file is empty"));
    }
    Ok(s)
}

/// Deserializes a whole document into `T`. On failure, re-reads the input with path tracking so
/// the error names the JSON path as well as line and column (the fast path pays nothing for it).
pub fn from_str<'de, T: Deserialize<'de>>(input: &'de str) -> Result<T, ParseError> {
    match serde_json::from_str::<T>(input) {
        Ok(v) => Ok(v),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(input);
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Ok(_) => Err(ParseError::new(ErrorKind::Syntax, "inconsistent JSON")),
                Err(e) => Err(json_error(e.path().to_string(), e.inner())),
            }
        }
    }
}

/// Like [`from_str`] for a [`DeserializeSeed`] (streaming parsers). `make_seed(true)` is called
/// for the diagnostic second pass after a failure: the seed must then emit nothing.
pub fn from_str_seed<'de, S, F>(input: &'de str, mut make_seed: F) -> Result<S::Value, ParseError>
where
    S: DeserializeSeed<'de>,
    F: FnMut(bool) -> S,
{
    let mut de = serde_json::Deserializer::from_str(input);
    let first = make_seed(false).deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match first {
        Ok(v) => Ok(v),
        Err(first_err) => {
            let mut de = serde_json::Deserializer::from_str(input);
            let mut track = serde_path_to_error::Track::new();
            let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
            match make_seed(true).deserialize(tracked) {
                Ok(_) => Err(json_error(String::new(), &first_err)),
                Err(e) => Err(json_error(track.path().to_string(), &e)),
            }
        }
    }
}

fn json_error(path: String, e: &serde_json::Error) -> ParseError {
    use serde_json::error::Category;
    let mut msg = e.to_string();
    // serde_json appends " at line X column Y"; we report the place ourselves.
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let kind = match e.classify() {
        Category::Data => ErrorKind::Shape,
        Category::Eof => {
            msg = format!("{msg} (the file is truncated or incomplete)");
            ErrorKind::Syntax
        }
        Category::Syntax | Category::Io => {
            if msg.contains("recursion limit") {
                msg = "nesting is too deep (more than 128 levels)".to_string();
                ErrorKind::TooDeep
            } else {
                ErrorKind::Syntax
            }
        }
    };
    let mut err = ParseError::new(kind, msg);
    if e.line() > 0 {
        err = err.at(e.line(), e.column());
    }
    if !path.is_empty() && path != "." && kind == ErrorKind::Shape {
        err = err.with_path(format!("$.{path}").replace(".[", "["));
    }
    err
}

/// A seed that walks a JSON array and hands each element, with its index, to `f` without ever
/// holding the whole array. Use it as the value seed of the large array field of a streaming
/// parser's `visit_map`.
pub struct ForEach<'f, T, F> {
    f: &'f mut F,
    _t: PhantomData<fn() -> T>,
}

impl<'f, T, F> ForEach<'f, T, F> {
    pub fn new(f: &'f mut F) -> Self {
        ForEach { f, _t: PhantomData }
    }
}

impl<'de, 'f, T, F> DeserializeSeed<'de> for ForEach<'f, T, F>
where
    T: Deserialize<'de>,
    F: FnMut(usize, T),
{
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'f, T, F> Visitor<'de> for ForEach<'f, T, F>
where
    T: Deserialize<'de>,
    F: FnMut(usize, T),
{
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<usize, E> {
        Ok(0) // null where an array is expected: treated as empty, as the scanners mean it
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element::<T>()? {
            (self.f)(i, item);
            i += 1;
        }
        Ok(i)
    }
}

/// Skips a value of any shape (used by hand-written `visit_map`s for unknown keys).
pub fn skip<'de, A: de::MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Lenient field readers for `#[serde(deserialize_with = "…")]`.
pub mod lenient {
    use std::borrow::Cow;

    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar<'a> {
        #[serde(borrow)]
        Str(Cow<'a, str>),
        Int(i64),
        Float(f64),
        Bool(bool),
    }

    /// A string, number or boolean, as text; `null` and absence give `None`.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(other) => Some(other.to_string()),
        })
    }

    /// A number, or a string holding one (`"7.5"`); anything else gives `None`.
    pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match Option::<Scalar>::deserialize(d).ok().flatten() {
            Some(Scalar::Int(i)) => Some(i as f64),
            Some(Scalar::Float(f)) => Some(f),
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        })
    }

    /// A boolean, or `"true"`/`"false"` (any case), `"1"`/`"0"`, `1`/`0`; else `None`.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Option::<Scalar>::deserialize(d).ok().flatten() {
            Some(Scalar::Bool(b)) => Some(b),
            Some(Scalar::Int(i)) => Some(i != 0),
            Some(Scalar::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    /// A list of strings, a single string, or null; non-string items are written as text.
    pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .collect(),
            Some(other) => vec![other.to_string()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Doc {
        runs: Vec<Run>,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Run {
        level: String,
    }

    #[test]
    fn shape_errors_name_the_json_path_and_line() {
        let e = from_str::<Doc>("{\"runs\": [{\"level\": \"x\"},\n {\"level\": 3}]}").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(e.path.as_deref(), Some("$.runs[1].level"));
        assert_eq!(e.line_column.map(|p| p.0), Some(2));
    }

    #[test]
    fn truncated_and_deep_and_bad_bytes_are_distinct() {
        let e = from_str::<Doc>("{\"runs\": [").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.message.contains("truncated"));
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        let e = from_str::<serde_json::Value>(&deep).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooDeep);
        let e = text(b"{\"a\":\n\"\xff\"}").unwrap_err();
        assert_eq!((e.kind, e.line_column), (ErrorKind::Encoding, Some((2, 2))));
        assert_eq!(text(b" \n").unwrap_err().kind, ErrorKind::Empty);
    }

    #[test]
    fn lenient_readers_accept_loose_types() {
        #[derive(Deserialize)]
        struct L {
            #[serde(default, deserialize_with = "lenient::opt_bool")]
            b: Option<bool>,
            #[serde(default, deserialize_with = "lenient::opt_f64")]
            f: Option<f64>,
            #[serde(default, deserialize_with = "lenient::opt_string")]
            s: Option<String>,
        }
        let l: L = serde_json::from_str(r#"{"b":"True","f":"7.5","s":12}"#).unwrap();
        assert_eq!((l.b, l.f, l.s.as_deref()), (Some(true), Some(7.5), Some("12")));
    }
}
