//! Secrets found by scanners are kept only in redacted form.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A secret value reduced to what a reviewer needs to recognise it and nothing that would let
/// anyone use it: a short prefix (at most 4 characters, at most a quarter of the value), the
/// length, and the first 16 hex digits of its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RedactedSecret {
    pub prefix: String,
    pub length: usize,
    pub sha256_prefix: String,
}

impl RedactedSecret {
    pub fn new(secret: &str) -> Self {
        let chars = secret.chars().count();
        let keep = (chars / 4).min(4);
        let prefix: String = secret.chars().take(keep).collect();
        let digest = Sha256::digest(secret.as_bytes());
        let mut sha = String::with_capacity(16);
        for b in &digest[..8] {
            let _ = write!(sha, "{b:02x}");
        }
        RedactedSecret {
            prefix,
            length: chars,
            sha256_prefix: sha,
        }
    }

    /// The text that stands in for the secret wherever it appeared: `AKIA…[redacted 20 chars sha256:1a2b…]`.
    pub fn placeholder(&self) -> String {
        format!(
            "{}…[redacted {} chars sha256:{}]",
            self.prefix, self.length, self.sha256_prefix
        )
    }
}

/// Replaces every occurrence of `secret` in `text` with its placeholder. Returns the text
/// unchanged when the secret is empty.
pub fn redact_in(text: &str, secret: &str) -> String {
    if secret.is_empty() || !contains(text, secret) {
        return text.to_string();
    }
    text.replace(secret, &RedactedSecret::new(secret).placeholder())
}

/// `text.contains(needle)`. Scanner messages and snippets are short and a secret rarely occurs
/// in them: comparing at each place its first byte occurs beats preparing a two-way search
/// (whose set-up alone costs more); long inputs, where that could go quadratic, take the latter.
fn contains(text: &str, needle: &str) -> bool {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    let (Some(&first), Some(last_start)) = (n.first(), t.len().checked_sub(n.len())) else {
        return n.is_empty();
    };
    if t.len().saturating_mul(n.len()) > 1 << 16 {
        return text.contains(needle);
    }
    t[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &b)| b == first && &t[i..i + n.len()] == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_little_and_hides_the_rest() {
        let r = RedactedSecret::new("AKIAIOSFODNN7EXAMPLE");
        assert_eq!(r.prefix, "AKIA");
        assert_eq!(r.length, 20);
        assert_eq!(r.sha256_prefix.len(), 16);
        assert!(!r.placeholder().contains("IOSFODNN7EXAMPLE"));
        // Short secrets reveal at most a quarter.
        assert_eq!(RedactedSecret::new("abc").prefix, "");
        assert_eq!(RedactedSecret::new("abcdefgh").prefix, "ab");
    }

    #[test]
    fn contains_is_str_contains() {
        let texts = [
            "",
            "a",
            "ab",
            "aab",
            "abab",
            "xxabcxx",
            "abc",
            "ab\u{e9}c",
            "\u{e9}\u{e9}",
        ];
        let needles = [
            "", "a", "b", "ab", "abc", "bab", "xx", "\u{e9}", "c", "abcd",
        ];
        for t in texts {
            for n in needles {
                assert_eq!(contains(t, n), t.contains(n), "{t:?} {n:?}");
            }
        }
        let long = "x".repeat(100_000) + "needle";
        assert!(contains(&long, "needle") && !contains(&long, "needles"));
    }

    #[test]
    fn redact_in_replaces_every_occurrence() {
        let out = redact_in("key=s3cr3tvalue; again s3cr3tvalue", "s3cr3tvalue");
        assert!(!out.contains("s3cr3tvalue"));
        assert!(out.starts_with("key=s3…[redacted 11 chars"));
    }
}
