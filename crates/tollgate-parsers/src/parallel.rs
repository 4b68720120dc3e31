//! Reading one large JSON array of results on several threads.
//!
//! A report's results array is cut into chunks of about `chunk_bytes` without reading it first:
//! each cut is a *guess*, the first place after a multiple of `chunk_bytes` that looks like the
//! start of an element (`}`, `,`, `{` and the first key every element so far started with). A
//! worker reads its chunk element by element from its guess until it reaches the next guess.
//! Guesses are checked, never trusted: chunk 0 starts at the array's real first element, and a
//! chunk's output is used only when the chunk before it, read from a checked start, ended
//! exactly on its guess. A wrong guess (inside a string, inside a nested array) is overrun by the
//! chunk before it, which then reads on to the next guess; the wrong chunk's work is dropped.
//! Output therefore equals a sequential read, whatever the guesses; only the speed depends on
//! them. Chunks are handed to the caller in report order, at most `window` ahead of it.
//!
//! Element indexes inside a chunk are local to it (a chunk cannot know how many elements come
//! before it); the caller gets the index of each chunk's first element with its output.
//!
//! One known difference: each element (and each envelope value) is read by its own serde_json
//! deserializer, with the full nesting budget of 128 levels, where the sequential reader has
//! already spent three or four levels on the envelope. A result nested 125 to 128 levels deep is
//! therefore accepted here and refused ("nesting is too deep") by the sequential reader. No
//! scanner writes such results; the limit still bounds the stack.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

use serde::Deserialize;
use tollgate_model::Finding;

/// How the work is spread.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub workers: usize,
    pub chunk_bytes: usize,
    /// Chunks read ahead of the one the caller waits for (bounds memory).
    pub window: usize,
}

/// Why a parallel read stopped early. The report must then be read again sequentially for the
/// exact error (this module does not locate errors).
#[derive(Debug)]
pub enum Stop {
    /// The JSON is not what the reader expected (a syntax or shape error somewhere).
    Broken,
    /// The caller's `consume` asked to stop (its output failed).
    Consumer,
}

/// Why a parallel read of a report did not reach its end.
pub enum Parallel {
    /// Nothing was handed over: read the report sequentially (a layout or an error the parallel
    /// walk leaves to the sequential reader, which words errors exactly).
    Declined,
    /// Findings were handed over, then the read stopped.
    Stopped(Stop),
}

impl Stop {
    /// What a walk that stopped means for the caller: before anything was handed over, the
    /// sequential reader takes the report from the start.
    pub fn after(self, handed_over: bool) -> Parallel {
        match (handed_over, self) {
            (false, Stop::Broken) => Parallel::Declined,
            (_, stop) => Parallel::Stopped(stop),
        }
    }
}

/// Where a chunk's read ended.
enum End {
    /// On the guessed start of chunk `n` (which is thereby checked).
    Reached(usize),
    /// At the array's end; the offset after its `]`.
    Array(usize),
}

struct Outcome<O> {
    end: End,
    output: O,
    elements: usize,
}

/// The caller's side of a parallel read.
pub struct Work<'w, O> {
    /// Turns a chunk's findings (in order) into the caller's output, on a worker thread.
    pub render: &'w (dyn Fn(&mut Vec<Finding>, Option<O>) -> O + Sync),
    /// Takes each chunk's output in report order, with the array index of the chunk's first
    /// element; `false` stops the read.
    pub consume: &'w mut dyn FnMut(O, usize) -> bool,
}

/// Reads the array whose first element starts at `first` (its `[` already passed; the array is
/// not empty). `states` holds one converter state per worker. Returns the offset after the `]`
/// and the number of elements.
pub fn read_array<'a, T, S, O>(
    input: &'a str,
    first: usize,
    split: Split,
    states: Vec<S>,
    convert: &(dyn Fn(&mut S, usize, T) -> Finding + Sync),
    work: &mut Work<'_, O>,
) -> Result<(usize, usize), Stop>
where
    T: Deserialize<'a>,
    S: Send,
    O: Send,
{
    let starts = guess_starts(input.as_bytes(), first, split.chunk_bytes);
    let shared = Mutex::new(Schedule {
        next: 0,
        expected: 0,
        done: false,
    });
    let wake = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, Result<Outcome<O>, Stop>)>();
    let render = work.render;
    let result = std::thread::scope(|scope| {
        for mut state in states {
            let tx = tx.clone();
            let (shared, wake, starts) = (&shared, &wake, &starts);
            scope.spawn(move || {
                // Reused from chunk to chunk (a fresh one would be fresh pages each time).
                let mut findings = Vec::new();
                while let Some(k) = take_chunk(shared, wake, starts.len(), split.window) {
                    findings.clear();
                    // A panic (a bug: parsers must not panic on input) becomes a broken chunk,
                    // so the sequential reader reports it as it would; this worker stops.
                    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        read_chunk(input, starts, k, &mut state, convert, &mut findings, render)
                    }));
                    let panicked = outcome.is_err();
                    let outcome = outcome.unwrap_or(Err(Stop::Broken));
                    if tx.send((k, outcome)).is_err() || panicked {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let result = collect(&rx, &shared, &wake, work.consume);
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.done = true;
        drop(s);
        wake.notify_all();
        result
    });
    result
}

struct Schedule {
    /// The next chunk no worker has taken.
    next: usize,
    /// The chunk whose output the caller waits for.
    expected: usize,
    done: bool,
}

fn take_chunk(
    shared: &Mutex<Schedule>,
    wake: &Condvar,
    chunks: usize,
    window: usize,
) -> Option<usize> {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if s.done {
            return None;
        }
        // Chunks before the awaited one were overrun: nobody needs them.
        s.next = s.next.max(s.expected);
        if s.next >= chunks {
            return None;
        }
        if s.next < s.expected + window.max(1) {
            s.next += 1;
            return Some(s.next - 1);
        }
        s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
    }
}

/// Hands outputs to `consume` in order; returns the array's end and element count.
fn collect<O>(
    rx: &mpsc::Receiver<(usize, Result<Outcome<O>, Stop>)>,
    shared: &Mutex<Schedule>,
    wake: &Condvar,
    consume: &mut dyn FnMut(O, usize) -> bool,
) -> Result<(usize, usize), Stop> {
    let mut pending: HashMap<usize, Result<Outcome<O>, Stop>> = HashMap::new();
    let mut expected = 0;
    let mut base = 0;
    loop {
        let outcome = match pending.remove(&expected) {
            Some(o) => o,
            None => {
                // All workers gone without the awaited chunk cannot happen; treat it as broken.
                let (k, o) = rx.recv().map_err(|_| Stop::Broken)?;
                if k != expected {
                    if k > expected {
                        pending.insert(k, o);
                    }
                    continue;
                }
                o
            }
        };
        let outcome = outcome?;
        if !consume(outcome.output, base) {
            return Err(Stop::Consumer);
        }
        base += outcome.elements;
        match outcome.end {
            End::Array(end) => return Ok((end, base)),
            End::Reached(next) => {
                expected = next;
                pending.retain(|k, _| *k >= next);
                shared.lock().unwrap_or_else(|e| e.into_inner()).expected = next;
                wake.notify_all();
            }
        }
    }
}

/// Reads chunk `k` from its (guessed) start to the next guess it lands on, or the array's end.
fn read_chunk<'a, T, S, O>(
    input: &'a str,
    starts: &[usize],
    k: usize,
    state: &mut S,
    convert: &(dyn Fn(&mut S, usize, T) -> Finding + Sync),
    findings: &mut Vec<Finding>,
    render: &(dyn Fn(&mut Vec<Finding>, Option<O>) -> O + Sync),
) -> Result<Outcome<O>, Stop>
where
    T: Deserialize<'a>,
{
    let bytes = input.as_bytes();
    let mut pos = starts[k];
    let mut next = k + 1;
    let mut elements = 0;
    let mut output = None;
    let done = |end, elements, findings: &mut Vec<Finding>, output: Option<O>| Outcome {
        end,
        elements,
        output: render(findings, output),
    };
    loop {
        while next < starts.len() && pos > starts[next] {
            next += 1; // that guess was wrong: read on through its chunk
        }
        if next < starts.len() && pos == starts[next] {
            return Ok(done(End::Reached(next), elements, findings, output));
        }
        let rest = input.get(pos..).ok_or(Stop::Broken)?;
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let element = match stream.next() {
            Some(Ok(v)) => v,
            _ => return Err(Stop::Broken),
        };
        let after = pos + stream.byte_offset();
        findings.push(convert(state, elements, element));
        elements += 1;
        if findings.len() == RENDER_EVERY {
            // Rendered while the findings are still in this core's cache.
            output = Some(render(findings, output.take()));
        }
        let at = skip_ws(bytes, after);
        match bytes.get(at) {
            Some(b',') => pos = skip_ws(bytes, at + 1),
            Some(b']') => return Ok(done(End::Array(at + 1), elements, findings, output)),
            _ => return Err(Stop::Broken),
        }
    }
}

/// Findings are rendered in groups this small.
const RENDER_EVERY: usize = 16;

pub fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        at += 1;
    }
    at
}

fn skip_ws_back(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match bytes.get(at)? {
            b' ' | b'\n' | b'\r' | b'\t' => at = at.checked_sub(1)?,
            _ => return Some(at),
        }
    }
}

/// Chunk starts: `first`, then one guess per `chunk_bytes` (strictly increasing).
fn guess_starts(bytes: &[u8], first: usize, chunk_bytes: usize) -> Vec<usize> {
    let mut starts = vec![first];
    let Some(key) = first_key(bytes, first) else {
        return starts;
    };
    let chunk_bytes = chunk_bytes.max(1);
    let mut from = first + chunk_bytes;
    while from < bytes.len() {
        let limit = (from + chunk_bytes).min(bytes.len());
        match guess_at(bytes, from, limit, key) {
            Some(at) => {
                // The brace is before the key found at or after `from`: keep starts increasing.
                if starts.last().is_some_and(|last| at > *last) {
                    starts.push(at);
                }
                from = (at + chunk_bytes).max(limit);
            }
            None => from = limit,
        }
    }
    starts
}

/// `"key"` (with its quotes) of the object at `at`, when it has no escapes.
fn first_key(bytes: &[u8], at: usize) -> Option<&[u8]> {
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let open = skip_ws(bytes, at + 1);
    if bytes.get(open) != Some(&b'"') {
        return None;
    }
    let len = bytes
        .get(open + 1..)?
        .iter()
        .position(|b| *b == b'"' || *b == b'\\')?;
    (bytes[open + 1 + len] == b'"').then(|| &bytes[open..open + len + 2])
}

/// The first `{` in `from..limit` that follows `}` `,` and starts with `key`.
fn guess_at(bytes: &[u8], from: usize, limit: usize, key: &[u8]) -> Option<usize> {
    let mut at = from;
    while at < limit {
        let q = at + bytes[at..limit].iter().position(|b| *b == b'"')?;
        if bytes[q..].starts_with(key) {
            let brace = skip_ws_back(bytes, q.checked_sub(1)?)?;
            if bytes[brace] == b'{' {
                let comma = skip_ws_back(bytes, brace.checked_sub(1)?)?;
                if bytes[comma] == b',' {
                    let close = skip_ws_back(bytes, comma.checked_sub(1)?)?;
                    if bytes[close] == b'}' {
                        return Some(brace);
                    }
                }
            }
        }
        at = q + 1;
    }
    None
}

/// Walks the envelope of a report value by value (serde_json reads each value, this reads the
/// punctuation between them), so that a large array inside it can go to [`read_array`]. Any
/// surprise is [`Stop::Broken`]: the sequential reader then words the error.
#[derive(Clone, Copy)]
pub struct Cursor<'a> {
    input: &'a str,
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
        }
        d.deserialize_str(V).map(Key)
    }
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a str) -> Self {
        Cursor { input }
    }

    pub fn input(&self) -> &'a str {
        self.input
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    /// The value at `at` and the offset after it.
    pub fn value<T: Deserialize<'a>>(&self, at: usize) -> Result<(T, usize), Stop> {
        let rest = self.input.get(at..).ok_or(Stop::Broken)?;
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        match stream.next() {
            Some(Ok(v)) => Ok((v, at + stream.byte_offset())),
            _ => Err(Stop::Broken),
        }
    }

    /// The offset after the value at `at`.
    pub fn skip(&self, at: usize) -> Result<usize, Stop> {
        self.value::<serde::de::IgnoredAny>(at).map(|(_, end)| end)
    }

    /// `byte` (after white space) at `at`; the offset of what follows it.
    pub fn expect(&self, at: usize, byte: u8) -> Result<usize, Stop> {
        let at = skip_ws(self.bytes(), at);
        if self.bytes().get(at) == Some(&byte) {
            Ok(skip_ws(self.bytes(), at + 1))
        } else {
            Err(Stop::Broken)
        }
    }

    /// The byte at `at` (after white space).
    pub fn peek(&self, at: usize) -> Option<u8> {
        self.bytes().get(skip_ws(self.bytes(), at)).copied()
    }

    /// After a member or element: `Ok(Some(next))` after a comma, `Ok(None)` at `close`.
    fn separator(&self, at: usize, close: u8) -> Result<(Option<usize>, usize), Stop> {
        let at = skip_ws(self.bytes(), at);
        match self.bytes().get(at) {
            Some(b',') => Ok((Some(skip_ws(self.bytes(), at + 1)), at)),
            Some(b) if *b == close => Ok((None, at + 1)),
            _ => Err(Stop::Broken),
        }
    }

    /// The members of the object whose `{` is before `at`: `member(state, key, value_at)`
    /// reads one value and returns the offset after it. Returns the offset after the `}`.
    pub fn members<S>(
        self,
        state: &mut S,
        at: usize,
        member: &mut dyn FnMut(&mut S, &str, usize) -> Result<usize, Stop>,
    ) -> Result<usize, Stop> {
        let mut at = skip_ws(self.bytes(), at);
        if self.bytes().get(at) == Some(&b'}') {
            return Ok(at + 1);
        }
        loop {
            if self.bytes().get(at) != Some(&b'"') {
                return Err(Stop::Broken);
            }
            let (key, after) = self.value::<Key<'a>>(at)?;
            let value_at = self.expect(after, b':')?;
            at = member(state, &key.0, value_at)?;
            match self.separator(at, b'}')? {
                (Some(next), _) => at = next,
                (None, end) => return Ok(end),
            }
        }
    }

    /// The elements of the array whose `[` is before `at`: `element(state, index, at)` reads
    /// one and returns the offset after it. Returns the offset after the `]`.
    pub fn elements<S>(
        self,
        state: &mut S,
        at: usize,
        element: &mut dyn FnMut(&mut S, usize, usize) -> Result<usize, Stop>,
    ) -> Result<usize, Stop> {
        let mut at = skip_ws(self.bytes(), at);
        if self.bytes().get(at) == Some(&b']') {
            return Ok(at + 1);
        }
        let mut index = 0;
        loop {
            at = element(state, index, at)?;
            index += 1;
            match self.separator(at, b']')? {
                (Some(next), _) => at = next,
                (None, end) => return Ok(end),
            }
        }
    }

    /// Whether the value at `at` is `null`.
    pub fn is_null(&self, at: usize) -> bool {
        self.bytes()
            .get(skip_ws(self.bytes(), at)..)
            .is_some_and(|rest| rest.starts_with(b"null"))
    }
}
