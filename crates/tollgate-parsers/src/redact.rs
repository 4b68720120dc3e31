//! Defence in depth for secrets: credentials that sit in ordinary code snippets (IaC with a
//! `password = "…"`, a shell line exporting an AWS key) are redacted wherever a parser copies
//! code, not only in findings that are about secrets.

use std::borrow::Cow;

use tollgate_model::{redact_in, RedactedSecret};

/// Redacts credentials in every line of `text`; `None` when nothing changed. Cheap when there
/// is nothing to do: it runs on every snippet of every finding.
pub fn scrub_credentials(text: &str) -> Option<String> {
    let suspicious = text.bytes().any(|c| matches!(c, b'=' | b':'))
        || contains_aws_key_prefix(text)
        || text.contains("PRIVATE KEY");
    if !suspicious {
        return None;
    }
    let mut out: Option<String> = None;
    let mut done = 0; // bytes of `text` already accounted for in `out`
    let mut start = 0;
    for line in text.split('\n') {
        if let Cow::Owned(clean) = scrub_line_cow(line) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
            o.push_str(&text[done..start]);
            o.push_str(&clean);
            done = start + line.len();
        }
        start += line.len() + 1;
    }
    out.map(|mut o| {
        o.push_str(&text[done..]);
        o
    })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `str::contains` looks for a literal with vector instructions (a window loop did not).
fn contains_aws_key_prefix(text: &str) -> bool {
    text.contains("AKIA") || text.contains("ASIA")
}

/// Key words whose assigned literal is a credential (`password = "…"`, `AWS_SECRET_ACCESS_KEY=…`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "credential",
    "connection_string",
];

/// Misconfiguration code is not masked by Trivy, and IaC often holds credentials (Terraform
/// `administrator_login_password = "…"`, `export AWS_ACCESS_KEY_ID=AKIA…`). Literal values
/// assigned to credential-like keys, AWS access key ids and private key blocks are replaced by
/// their redaction placeholder.
pub fn scrub_line(line: &str) -> String {
    scrub_line_cow(line).into_owned()
}

/// Whether the text before a line's `=` or `:` names a credential: a plain identifier (not
/// `Log.v(TAG, "token`) that contains one of [`SECRET_KEYS`].
fn is_credential_key(before: &str) -> bool {
    let mut key = before.trim();
    while let Some(rest) = key.strip_prefix("export ") {
        key = rest;
    }
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        && SECRET_KEYS.iter().any(|k| contains_ignore_case(key, k))
}

fn scrub_line_cow(line: &str) -> Cow<'_, str> {
    if line.contains("PRIVATE KEY") {
        return Cow::Owned(RedactedSecret::new(line.trim()).placeholder());
    }
    let mut out = Cow::Borrowed(line);
    if let Some(at) = line.find(['=', ':']) {
        let value = line[at + 1..].trim();
        let literal = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next(),
            // Unquoted: only the shell/env form `KEY=value`.
            Some(_) if !line[..at].ends_with(' ') && !value.contains(' ') => Some(value),
            _ => None,
        };
        if let Some(v) = literal.filter(|v| {
            is_credential_key(&line[..at])
                && !v.is_empty()
                && !v.contains("${")
                && !v.contains("[redacted ")
                && *v != "REDACTED"
                && !v.chars().all(|c| c == '*')
        }) {
            out = Cow::Owned(redact_in(&out, v));
        }
    }
    if !contains_aws_key_prefix(&out) {
        return out;
    }
    // AWS access key ids anywhere in the line.
    let mut search = 0;
    while let Some(found) = out[search..].find(['A']) {
        let at = search + found;
        let candidate = out.get(at..at + 20);
        search = at + 1;
        if let Some(id) = candidate.filter(|c| {
            (c.starts_with("AKIA") || c.starts_with("ASIA"))
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }) {
            let id = id.to_string();
            out = Cow::Owned(redact_in(&out, &id));
            search = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_code_are_redacted_and_the_rest_kept() {
        let code =
            "resource \"x\" {\n  admin_password = \"Hunter2-very-secret\"\n  name = \"web\"\n}";
        let out = scrub_credentials(code).expect("changed");
        assert!(!out.contains("Hunter2-very-secret"));
        assert!(out.starts_with("resource \"x\" {\n  admin_password = \""));
        assert!(out.ends_with("\"\n  name = \"web\"\n}"), "{out}");
        let shell = scrub_credentials("export AWS_ACCESS_KEY_ID=AKIAFAKETOLLGATE0042").unwrap();
        assert!(!shell.contains("AKIAFAKETOLLGATE0042"));
        let pem = scrub_credentials("a\n-----BEGIN RSA PRIVATE KEY-----\nb").unwrap();
        assert!(!pem.contains("BEGIN RSA"));
        assert!(pem.starts_with("a\n") && pem.ends_with("\nb"));
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        assert_eq!(scrub_credentials("x = f(y)"), None);
        assert_eq!(
            scrub_credentials("Log.v(TAG, \"token=\" + session.token());"),
            None
        );
        assert_eq!(scrub_credentials("password = \"${var.db_password}\""), None);
        assert_eq!(scrub_credentials("no assignment here"), None);
    }
}
