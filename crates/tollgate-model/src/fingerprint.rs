//! Stable finding identities. The recipes per scanner live in docs/fingerprints.md; this module
//! holds the shared pieces: the hash and the normalization of paths and snippets.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A finding's stable identity: 128 bits of SHA-256 over normalized parts, as 32 hex digits.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts a fingerprint written earlier (a baseline): 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Fingerprint> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Fingerprint(text.to_string()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hashes the parts of a fingerprint recipe. Each part is length-prefixed, so `("ab","c")` and
/// `("a","bc")` differ.
///
/// Parts are gathered in a buffer of a few SHA-256 blocks and hashed a buffer at a time: a recipe
/// is a dozen short parts, and each `update` of the hasher on its own costs more than hashing.
#[derive(Clone)]
pub struct FingerprintBuilder {
    hasher: Sha256,
    pending: [u8; PENDING],
    pending_len: usize,
}

/// Bytes gathered before they are hashed: two SHA-256 blocks (most recipes; the builder is
/// moved by value at every part, so it stays small).
const PENDING: usize = 128;

impl FingerprintBuilder {
    /// `family` names the recipe (e.g. `sarif`, `sca`, `mobsf`): identical parts from two recipes
    /// never collide.
    #[inline]
    pub fn new(family: &str) -> Self {
        let mut b = FingerprintBuilder {
            hasher: Sha256::new(),
            pending: [0; PENDING],
            pending_len: 0,
        };
        b.push(family);
        b
    }

    #[inline]
    fn push(&mut self, part: &str) {
        self.write(&(part.len() as u64).to_le_bytes());
        self.write(part.as_bytes());
    }

    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        loop {
            let room = PENDING - self.pending_len;
            if bytes.len() <= room {
                self.pending[self.pending_len..self.pending_len + bytes.len()]
                    .copy_from_slice(bytes);
                self.pending_len += bytes.len();
                return;
            }
            let (now, later) = bytes.split_at(room);
            self.pending[self.pending_len..].copy_from_slice(now);
            self.hasher.update(self.pending);
            self.pending_len = 0;
            bytes = later;
        }
    }

    #[inline]
    pub fn part(mut self, part: &str) -> Self {
        self.push(part);
        self
    }

    #[inline]
    pub fn opt(mut self, part: Option<&str>) -> Self {
        self.push(part.unwrap_or(""));
        self
    }

    /// A path part, normalized with [`normalize_path`].
    #[inline]
    pub fn path(self, path: Option<&str>) -> Self {
        match path.map(|p| already_normal_path(p).ok_or(p)) {
            None => self.opt(None),
            Some(Ok(normal)) => self.part(normal),
            Some(Err(p)) => self.part(&normalize_path(p)),
        }
    }

    /// A code/context part, normalized with [`normalize_snippet`].
    #[inline]
    pub fn snippet(self, snippet: Option<&str>) -> Self {
        let normalized = snippet.map(normalize_snippet);
        self.opt(normalized.as_deref())
    }

    pub fn finish(self) -> Fingerprint {
        let mut hasher = self.hasher;
        hasher.update(&self.pending[..self.pending_len]);
        let digest = hasher.finalize();
        let mut hex = [0u8; 32];
        for (pair, b) in hex.chunks_exact_mut(2).zip(&digest[..16]) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        // Hex digits are ASCII: never the empty fallback.
        Fingerprint(String::from_utf8(hex.to_vec()).unwrap_or_default())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// CI workspaces and container mount points that differ between machines, not between builds.
const WORKSPACE_MARKERS: &[&str] = &[
    "/builds/",           // GitLab runner: /builds/<group>/<project>/
    "/home/runner/work/", // GitHub hosted: /home/runner/work/<repo>/<repo>/
    "/github/workspace/", // GitHub container actions
    "/var/lib/jenkins/workspace/",
    "/bitbucket/pipelines/agent/build/",
];

/// `path` trimmed when that is already its [`normalize_path`] form (relative, no `\\`, `:`,
/// `//`, `/./` or trailing `/`): most paths, checked in one pass over the bytes.
pub fn already_normal_path(path: &str) -> Option<&str> {
    let trimmed = path.trim();
    let bytes = trimmed.as_bytes();
    let (first, last) = (bytes.first()?, bytes.last()?);
    if matches!(first, b'/' | b'.' | b'%') || *last == b'/' {
        return None;
    }
    let (mut before, mut before_that) = (0u8, 0u8);
    for &b in bytes {
        let double_slash = b == b'/' && before == b'/';
        let dot_segment = b == b'/' && before == b'.' && before_that == b'/';
        if b == b'\\' || b == b':' || double_slash || dot_segment {
            return None;
        }
        (before_that, before) = (before, b);
    }
    Some(trimmed)
}

/// Normalizes a path for fingerprints: forward slashes, no `file://`, no `./`, no CI workspace
/// prefix, no `%SRCROOT%`-style base, and for other absolute paths only the last four segments
/// (enough to tell files apart, few enough to survive a different checkout directory).
pub fn normalize_path(path: &str) -> String {
    // Fast path (most paths): already relative and clean.
    if let Some(normal) = already_normal_path(path) {
        return normal.to_string();
    }
    let trimmed = path.trim();
    let mut p = trimmed.replace('\\', "/");
    if let Some(rest) = p.strip_prefix("file://") {
        p = rest.to_string();
    }
    // Windows drive letters: C:/src/... -> /src/...
    if p.len() > 2 && p.as_bytes()[1] == b':' && p.as_bytes()[0].is_ascii_alphabetic() {
        p = p[2..].to_string();
    }
    let mut s: &str = &p;
    for marker in WORKSPACE_MARKERS {
        if let Some(at) = s.find(marker) {
            let rest = &s[at + marker.len()..];
            // Skip the owner/project (two segments) of the workspace layout.
            let skip = match *marker {
                "/builds/" | "/home/runner/work/" => 2,
                "/var/lib/jenkins/workspace/" => 1,
                _ => 0,
            };
            s = skip_segments(rest, skip);
            break;
        }
    }
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    let s = s.trim_start_matches('%');
    let s = if s.starts_with("SRCROOT%/") || s.starts_with("srcroot%/") {
        &s[9..]
    } else {
        s
    };
    if s.starts_with('/') {
        let segments: Vec<&str> = s.split('/').filter(|x| !x.is_empty()).collect();
        let keep = segments.len().min(4);
        return segments[segments.len() - keep..].join("/");
    }
    let mut out = String::with_capacity(s.len());
    for seg in s.split('/').filter(|x| !x.is_empty() && *x != ".") {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(seg);
    }
    out
}

fn skip_segments(s: &str, n: usize) -> &str {
    let mut rest = s;
    for _ in 0..n {
        match rest.find('/') {
            Some(i) => rest = &rest[i + 1..],
            None => return rest,
        }
    }
    rest
}

/// Normalizes code or context for fingerprints: whitespace runs become one space, ends trimmed.
pub fn normalize_snippet(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len());
    for word in snippet.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffering is invisible: a fingerprint is SHA-256 over the length-prefixed parts, for
    /// parts of every length around the buffer's size, cloned builders included.
    #[test]
    fn fingerprints_hash_the_length_prefixed_parts() {
        let text: String = (0..700)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        for first in [0, 1, 7, 100, 231, 239, 240, 247, 248, 255, 256, 300, 600] {
            for second in [0, 3, 8, 250, 257, 700] {
                let (a, b) = (&text[..first], &text[..second]);
                let mut expected = Sha256::new();
                for part in ["fam", a, b, "end"] {
                    expected.update((part.len() as u64).to_le_bytes());
                    expected.update(part.as_bytes());
                }
                let expected: String = expected.finalize()[..16]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let prefix = FingerprintBuilder::new("fam").part(a);
                let got = prefix.clone().part(b).part("end").finish();
                assert_eq!(
                    got.as_str(),
                    expected,
                    "parts of {first} and {second} bytes"
                );
                // The prefix is unchanged by its clone's use.
                assert_eq!(prefix.part(b).part("end").finish(), got);
            }
        }
    }

    #[test]
    fn paths_lose_machine_specific_prefixes() {
        assert_eq!(normalize_path("./src/app.py"), "src/app.py");
        assert_eq!(normalize_path("src\\app.py"), "src/app.py");
        assert_eq!(
            normalize_path("/builds/group/project/src/app.py"),
            "src/app.py"
        );
        assert_eq!(
            normalize_path("/home/runner/work/repo/repo/src/app.py"),
            "src/app.py"
        );
        assert_eq!(normalize_path("file:///github/workspace/a/b.js"), "a/b.js");
        assert_eq!(
            normalize_path("/home/alice/code/shop/src/main/App.java"),
            normalize_path("/tmp/ci-1234/shop/src/main/App.java")
        );
        assert_eq!(normalize_path("%SRCROOT%/lib/x.rb"), "lib/x.rb");
    }

    /// The one-pass check is the old predicate (five searches), on every path of up to five
    /// characters from an alphabet of the characters that matter.
    #[test]
    fn already_normal_paths_are_the_ones_normalizing_leaves_alone() {
        fn old_predicate(path: &str) -> bool {
            let t = path.trim();
            !t.is_empty()
                && !t.starts_with(['/', '.', '%'])
                && !t.contains(['\\', ':'])
                && !t.contains("//")
                && !t.contains("/./")
                && !t.ends_with('/')
        }
        let alphabet = ['a', '/', '.', '\\', ':', '%', ' '];
        let mut paths = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for p in &paths {
                for c in alphabet {
                    let q = format!("{p}{c}");
                    let fast = already_normal_path(&q);
                    assert_eq!(fast.is_some(), old_predicate(&q), "{q:?}");
                    if let Some(normal) = fast {
                        assert_eq!(normal, normalize_path(&q), "{q:?}");
                    }
                    checked += 1;
                    longer.push(q);
                }
            }
            paths = longer;
        }
        assert!(checked > 19_000);
    }

    #[test]
    fn snippets_ignore_indentation() {
        assert_eq!(normalize_snippet("  a =\tb\n  + c "), "a = b + c");
    }

    #[test]
    fn fingerprint_parts_are_length_prefixed() {
        let a = FingerprintBuilder::new("x").part("ab").part("c").finish();
        let b = FingerprintBuilder::new("x").part("a").part("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(Fingerprint::parse(a.as_str()), Some(a));
        assert_eq!(Fingerprint::parse("XYZ"), None);
    }
}
