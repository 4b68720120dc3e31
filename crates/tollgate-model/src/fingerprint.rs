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
#[derive(Clone)]
pub struct FingerprintBuilder {
    hasher: Sha256,
}

impl FingerprintBuilder {
    /// `family` names the recipe (e.g. `sarif`, `sca`, `mobsf`): identical parts from two recipes
    /// never collide.
    pub fn new(family: &str) -> Self {
        let mut b = FingerprintBuilder {
            hasher: Sha256::new(),
        };
        b.push(family);
        b
    }

    fn push(&mut self, part: &str) {
        self.hasher.update((part.len() as u64).to_le_bytes());
        self.hasher.update(part.as_bytes());
    }

    pub fn part(mut self, part: &str) -> Self {
        self.push(part);
        self
    }

    pub fn opt(mut self, part: Option<&str>) -> Self {
        self.push(part.unwrap_or(""));
        self
    }

    /// A path part, normalized with [`normalize_path`].
    pub fn path(self, path: Option<&str>) -> Self {
        let normalized = path.map(normalize_path);
        self.opt(normalized.as_deref())
    }

    /// A code/context part, normalized with [`normalize_snippet`].
    pub fn snippet(self, snippet: Option<&str>) -> Self {
        let normalized = snippet.map(normalize_snippet);
        self.opt(normalized.as_deref())
    }

    pub fn finish(self) -> Fingerprint {
        let digest = self.hasher.finalize();
        let mut out = String::with_capacity(32);
        for b in &digest[..16] {
            out.push(char::from(HEX[(b >> 4) as usize]));
            out.push(char::from(HEX[(b & 15) as usize]));
        }
        Fingerprint(out)
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

/// Normalizes a path for fingerprints: forward slashes, no `file://`, no `./`, no CI workspace
/// prefix, no `%SRCROOT%`-style base, and for other absolute paths only the last four segments
/// (enough to tell files apart, few enough to survive a different checkout directory).
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim();
    // Fast path (most paths): already relative and clean.
    if !trimmed.is_empty()
        && !trimmed.starts_with(['/', '.', '%'])
        && !trimmed.contains(['\\', ':'])
        && !trimmed.contains("//")
        && !trimmed.contains("/./")
        && !trimmed.ends_with('/')
    {
        return trimmed.to_string();
    }
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
