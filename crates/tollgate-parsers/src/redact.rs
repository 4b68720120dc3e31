//! Defence in depth for secrets: credentials that sit in ordinary code snippets (IaC with a
//! `password = "…"`, a shell line exporting an AWS key) are redacted wherever a parser copies
//! code, not only in findings that are about secrets.

use tollgate_model::{redact_in, RedactedSecret};

/// Redacts credentials in every line of `text`; `None` when nothing changed.
pub fn scrub_credentials(text: &str) -> Option<String> {
    let suspicious = text.contains('=')
        || text.contains(':')
        || text.contains("AKIA")
        || text.contains("ASIA")
        || text.contains("PRIVATE KEY");
    if !suspicious {
        return None;
    }
    let scrubbed: Vec<String> = text.split('\n').map(scrub_line).collect();
    let joined = scrubbed.join("\n");
    (joined != text).then_some(joined)
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
    if line.contains("PRIVATE KEY") {
        return RedactedSecret::new(line.trim()).placeholder();
    }
    let mut out = line.to_string();
    if let Some(at) = line.find(['=', ':']) {
        let key = line[..at]
            .trim()
            .trim_start_matches("export ")
            .trim_matches(|c| c == '"' || c == '\'')
            .to_ascii_lowercase();
        let value = line[at + 1..].trim();
        let literal = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next(),
            // Unquoted: only the shell/env form `KEY=value`.
            Some(_) if !line[..at].ends_with(' ') && !value.contains(' ') => Some(value),
            _ => None,
        };
        // Only `name = value` lines: a key that is a plain identifier (not `Log.v(TAG, "token`).
        let identifier = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
        let credential = identifier && SECRET_KEYS.iter().any(|k| key.contains(k));
        if let Some(v) = literal.filter(|v| {
            credential
                && !v.is_empty()
                && !v.contains("${")
                && !v.contains("[redacted ")
                && *v != "REDACTED"
                && !v.chars().all(|c| c == '*')
        }) {
            out = redact_in(&out, v);
        }
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
            out = redact_in(&out, &id);
            search = 0;
        }
    }
    out
}
