//! Compact JSON into a byte buffer, byte for byte what `serde_json::to_writer` writes, with
//! strings escaped 32 bytes at a time.
//!
//! `tollgate parse` writes a few hundred megabytes of finding JSON for a large report, almost all
//! of it long scanner texts that need no escaping. serde_json looks at every byte on its own;
//! here a word of eight bytes is tested at once for a quote, a backslash or a control character,
//! and clean runs are copied whole. Everything that is not a string or an integer (floats above
//! all) is handed to serde_json itself, so the output cannot drift from it; a test compares the
//! two on generated documents.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

/// Appends the compact JSON of `value` to `out`. On error `out` may hold part of the value.
pub fn write_compact<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// The compact JSON of `value` as bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(256);
    write_compact(&mut out, value)?;
    Ok(out)
}

/// A value that has no JSON form (a map key that is not a string or a number, a custom error
/// from a `Serialize` implementation).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<M: Display>(msg: M) -> Self {
        Error(msg.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

struct Writer<'o> {
    out: &'o mut Vec<u8>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of a byte of the result is set where that byte of `word` is a control character, `"`
/// or `\\`. The lowest set bit is exact; bytes above a hit may be flagged spuriously (borrows),
/// which is all a scan for the first hit needs.
#[inline]
fn needs_escape(word: u64) -> u64 {
    let control = word.wrapping_sub(LO * 0x20) & !word;
    let quote = word ^ (LO * u64::from(b'"'));
    let backslash = word ^ (LO * u64::from(b'\\'));
    let quote = quote.wrapping_sub(LO) & !quote;
    let backslash = backslash.wrapping_sub(LO) & !backslash;
    (control | quote | backslash) & HI
}

/// Bytes tested at once by [`block_is_clean`]: two SSE2 registers.
const BLOCK: usize = 32;

/// Whether no byte of `block` needs an escape. Written as a plain loop over a fixed-size array
/// so that the compiler turns it into vector compares (SSE2, the x86-64 baseline); a block with
/// a hit is then searched word by word.
#[inline]
fn block_is_clean(block: &[u8; BLOCK]) -> bool {
    let mut hit = false;
    for &b in block {
        hit |= (b < 0x20) | (b == b'"') | (b == b'\\');
    }
    !hit
}

#[inline]
fn needs_escape_byte(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// For the last `bytes.len() - at` (1 to 7) bytes of a string of at least eight: the
/// [`needs_escape`] flags of the string's last word with the bytes before `at` shifted out
/// (spaces shifted in), so the lowest flag is again exact. `None` for a shorter string.
#[inline]
fn last_word_hits(bytes: &[u8], at: usize) -> Option<u64> {
    let word = bytes.last_chunk::<8>()?;
    let skip = 8 - (bytes.len() - at); // 1..=7 bytes already checked
    let word = (u64::from_le_bytes(*word) >> (8 * skip)) | (LO * 0x20) << (64 - 8 * skip);
    Some(needs_escape(word))
}

/// Whether no byte of `s` needs an escape (struct field names, almost always).
#[inline]
fn is_plain(s: &[u8]) -> bool {
    match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        // Two words that may overlap cover up to 16 bytes.
        (Some(head), Some(tail)) if s.len() <= 16 => {
            needs_escape(u64::from_le_bytes(*head)) | needs_escape(u64::from_le_bytes(*tail)) == 0
        }
        _ => !s.iter().any(|&b| needs_escape_byte(b)),
    }
}

/// Appends `s` as a JSON string, escaping as serde_json does.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0; // bytes before this are copied
    let mut at = 0; // bytes before this are checked
    while at < bytes.len() {
        let rest = &bytes[at..];
        if let Some(block) = rest.first_chunk::<BLOCK>() {
            if block_is_clean(block) {
                at += BLOCK;
                continue;
            }
        }
        let hit = match rest.first_chunk::<8>() {
            Some(word) => {
                let hits = needs_escape(u64::from_le_bytes(*word));
                if hits == 0 {
                    at += 8;
                    continue;
                }
                // The lowest flagged byte is exact: it needs an escape.
                at + (hits.trailing_zeros() / 8) as usize
            }
            // The last few bytes: the string's last word, its checked bytes shifted out.
            None => match last_word_hits(bytes, at) {
                Some(0) => break,
                Some(hits) => at + (hits.trailing_zeros() / 8) as usize,
                None => match rest.iter().position(|&b| needs_escape_byte(b)) {
                    Some(i) => at + i,
                    None => break,
                },
            },
        };
        out.extend_from_slice(&bytes[start..hit]);
        push_escape(out, bytes[hit]);
        at = hit + 1;
        start = at;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The escape of a control character, `"` or `\\` (serde_json's choice of forms).
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        0..=0x1f => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xf) as usize],
        ]),
        other => out.push(other),
    }
}

impl<'o> Writer<'o> {
    /// `{"variant":` and the opening of its content; `close` ends both.
    fn variant<'a>(
        &'a mut self,
        variant: &str,
        open: u8,
        close: &'static [u8],
    ) -> Compound<'a, 'o> {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.extend_from_slice(&[b':', open]);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    fn integer(&mut self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn float<F: Serialize>(&mut self, n: F) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &n)?;
        Ok(())
    }
}

impl<'a, 'o> ser::Serializer for &'a mut Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.out.push(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.variant(variant, b'[', b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.out.push(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        Ok(self.variant(variant, b'{', b"}}"))
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
}

/// An array, object or variant being written; `close` ends it.
pub struct Compound<'a, 'o> {
    w: &'a mut Writer<'o>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn separate(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.separate();
        value.serialize(&mut *self.w)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.separate();
        // A struct's field names are short and (from derive) plain: copied in one piece.
        let out = &mut *self.w.out;
        if is_plain(key.as_bytes()) {
            out.reserve(key.len() + 3);
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        } else {
            push_str(out, key);
            out.push(b':');
        }
        value.serialize(&mut *self.w)
    }

    fn close(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// Arrays, tuples and the like: elements separated by commas.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.separate();
        let start = self.w.out.len();
        key.serialize(&mut *self.w)?;
        if self.w.out.get(start) != Some(&b'"') {
            // Not a string: numbers and booleans become quoted keys, anything else is an
            // error. Rare, so serde_json decides (and words the error).
            self.w.out.truncate(start);
            let text = serde_json::to_vec(&OneEntry(key))?;
            let end = text.len() - b":null}".len();
            self.w.out.extend_from_slice(&text[1..end]);
        }
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// `{key: null}`, for serde_json to format a map key that is not a string.
struct OneEntry<'k, K: ?Sized>(&'k K);

impl<K: Serialize + ?Sized> Serialize for OneEntry<'_, K> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &())?;
        map.end()
    }
}

/// Structs: `"field":value` members.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;
    use serde_json::{json, Value};

    use super::to_vec;

    fn same<T: Serialize + ?Sized>(value: &T) {
        let ours = to_vec(value).expect("ours");
        let theirs = serde_json::to_vec(value).expect("serde_json");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_escape_at_every_place_in_a_word() {
        let specials = [
            '\0', '\u{1}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1f}', '"', '\\',
            '\u{7f}', '/', 'é', '\u{2028}', '😀', ' ', '!', '#', '[', ']', '^',
        ];
        // Up to two 32-byte blocks, words after them and every tail length.
        for len in 0..80 {
            for at in 0..len {
                for c in specials {
                    let mut s: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
                    s.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                    same(&s);
                    // Two hits in one word.
                    if at + 2 < s.len() && s.is_char_boundary(at + 2) {
                        let mut two = s.clone();
                        two.insert(at + 2, '"');
                        same(&two);
                    }
                }
            }
        }
        for b in 0u8..=0x7f {
            same(&String::from(b as char));
            same(&(b as char));
        }
    }

    /// Field names are copied whole when plain, escaped when not (renamed fields).
    #[test]
    fn field_names_that_need_escapes_are_escaped() {
        #[derive(Serialize)]
        struct Renamed {
            #[serde(rename = "a\"b")]
            quote: u8,
            #[serde(rename = "tab\there")]
            tab: u8,
            #[serde(rename = "back\\slash and a long name")]
            backslash: u8,
            #[serde(rename = "sixteen_bytes_ok")]
            plain: u8,
            #[serde(rename = "fifteen_bytes_\n")]
            newline_last: u8,
            #[serde(rename = "\u{1}")]
            control: u8,
            #[serde(rename = "")]
            empty: u8,
        }
        same(&Renamed {
            quote: 1,
            tab: 2,
            backslash: 3,
            plain: 4,
            newline_last: 5,
            control: 6,
            empty: 7,
        });
    }

    /// xorshift64*: deterministic documents without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn text(rng: &mut Rng) -> String {
        const PALETTE: &[&str] = &[
            "a",
            "Z",
            " ",
            "\"",
            "\\",
            "\n",
            "\r",
            "\t",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "é",
            "€",
            "😀",
            "/",
            "<",
            "{",
            "0",
            "the quick brown fox ",
        ];
        let len = rng.below(40);
        (0..len)
            .map(|_| PALETTE[rng.below(PALETTE.len() as u64) as usize])
            .collect()
    }

    fn value(rng: &mut Rng, depth: u32) -> Value {
        match rng.below(if depth > 4 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 1),
            2 => json!(rng.next() as i64),
            3 => json!(rng.next()),
            4 => {
                let floats = [0.1, -0.0, 1e300, 5e-324, 123456.789, f64::MAX, 1.0, -2.5e-7];
                json!(floats[rng.below(floats.len() as u64) as usize])
            }
            5 => Value::String(text(rng)),
            6 => Value::Array((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
            _ => Value::Object(
                (0..rng.below(5))
                    .map(|_| (text(rng), value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn generated_documents_match_serde_json() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            same(&value(&mut rng, 0));
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<f32>, b: Vec<char> },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Meters(f64);

    #[derive(Serialize)]
    struct Pair(u16, &'static str);

    #[derive(Serialize)]
    struct Everything {
        shapes: Vec<Shape>,
        unit: Unit,
        meters: Meters,
        pair: Pair,
        tuple: (i8, u128, i128, bool),
        nothing: (),
        missing: Option<String>,
        nan: f64,
        infinite: f32,
        #[serde(with = "bytes")]
        raw: Vec<u8>,
        int_keys: BTreeMap<i64, &'static str>,
        bool_keys: BTreeMap<bool, u8>,
        char_keys: BTreeMap<char, u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        flattened: HashMap<String, u8>,
    }

    mod bytes {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn every_serde_shape_matches_serde_json() {
        let value = Everything {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "x\"y".into()),
                Shape::Struct {
                    a: Some(1.5),
                    b: vec!['a', '\n', '"'],
                },
                Shape::Struct { a: None, b: vec![] },
            ],
            unit: Unit,
            meters: Meters(0.30000000000000004),
            pair: Pair(65535, "\u{0}"),
            tuple: (i8::MIN, u128::MAX, i128::MIN, true),
            nothing: (),
            missing: None,
            nan: f64::NAN,
            infinite: f32::INFINITY,
            raw: vec![0, 1, 255],
            int_keys: [(-1, "a"), (i64::MAX, "b")].into(),
            bool_keys: [(false, 0), (true, 1)].into(),
            char_keys: [('k', 1)].into(),
            skipped: None,
            flattened: [("only".to_string(), 1)].into(),
        };
        same(&value);
    }

    impl PartialEq for Pair {
        fn eq(&self, o: &Self) -> bool {
            self.0 == o.0
        }
    }
    impl Eq for Pair {}
    impl PartialOrd for Pair {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Pair {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.cmp(&o.0)
        }
    }

    #[test]
    fn keys_serde_json_refuses_are_refused() {
        let mut map = BTreeMap::new();
        map.insert(Pair(1, "a"), 1);
        assert!(serde_json::to_vec(&map).is_err());
        let err = to_vec(&map).expect_err("a sequence is not a key");
        assert!(err.to_string().contains("key must be a string"), "{err}");
    }
}
