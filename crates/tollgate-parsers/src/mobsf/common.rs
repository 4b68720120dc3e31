//! Pieces shared by the MobSF report and scorecard parsers: severity words, the tag mapping,
//! text clean-up, secret scrubbing and small JSON accessors.

use serde_json::Value;
use tollgate_model::{redact_in, RedactedSecret, Severity, Tag};

/// MobSF severity word → normalized severity. `None` means "not an issue" (`secure`, `good`):
/// those entries are skipped.
pub(crate) fn severity(word: Option<&str>) -> Option<Severity> {
    let w = word.unwrap_or("").trim().to_ascii_lowercase();
    match w.as_str() {
        "secure" | "good" | "pass" | "passed" | "ok" => None,
        // iOS ATS analysis of MobSF 3.x says `insecure` where later versions say `high`.
        "insecure" | "bad" => Some(Severity::High),
        "" => Some(Severity::Info),
        _ => Some(Severity::from_word(&w).unwrap_or(Severity::Info)),
    }
}

/// JSON pointer token escaping (RFC 6901).
pub(crate) fn esc(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A string (or number/bool as text) field of an object.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first present text field among `keys`.
pub(crate) fn first_text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(v, k))
}

/// A number, or a string holding one.
pub(crate) fn number(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// MobSF titles carry HTML (`<br>`, `<strong>`): tags become spaces, white space is collapsed.
pub(crate) fn clean_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for w in out.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(w);
    }
    // "is not Protected. [android:exported=true]" reads fine; "Protected ." does not.
    collapsed.replace(" .", ".")
}

/// Lower-case ASCII slug: `Application signed with debug certificate` →
/// `application_signed_with_debug_certificate` (at most 80 characters).
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
        if out.len() >= 80 {
            break;
        }
    }
    out
}

/// The first sentence of a description (titles of code rules), with the second one too when
/// the first is only a heading ("Insecure WebView Implementation."), at most 200 characters.
pub(crate) fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let mut end = s.find(". ").map_or(s.len(), |i| i + 1);
    if end < 40 && end < s.len() {
        end = s[end..].find(". ").map_or(s.len(), |i| end + i + 1);
    }
    let head = &s[..end];
    let mut t: String = head.chars().take(200).collect();
    if t.ends_with('.') && !head.ends_with("etc.") {
        t.pop();
    }
    t
}

/// `(com.example.app.Activity)` inside a title: the component it names, when it looks like a
/// class name.
pub(crate) fn component_in_parens(title: &str) -> Option<String> {
    let open = title.find('(')?;
    let close = title[open..].find(')')? + open;
    let inner = title[open + 1..close].trim();
    (inner.contains('.') && !inner.contains(char::is_whitespace) && !inner.contains('='))
        .then(|| inner.to_string())
}

/// Tags implied by a MobSF rule id (manifest rules, code-analysis rules).
pub(crate) fn tags_from_rule(rule: &str) -> Vec<Tag> {
    let r = rule.to_ascii_lowercase();
    let has = |s: &str| r.contains(s);
    let mut tags = Vec::new();
    if r == "app_is_debuggable" || r == "a_debuggable" || has("get_task_allow") {
        tags.push(Tag::Debuggable);
    }
    if has("allowbackup") || has("allow_backup") {
        tags.push(Tag::BackupEnabled);
    }
    if has("clear_text") || has("cleartext") || has("insecure_http") || has("arbitrary_loads") {
        tags.push(Tag::CleartextTraffic);
    }
    if matches!(
        r.as_str(),
        "explicitly_exported" | "exported_intent_filter_exists" | "exported_provider"
    ) {
        tags.push(Tag::ExportedComponent);
    }
    if has("logging") || r.ends_with("_log") || has("_log_") || has("nslog") {
        tags.push(Tag::SensitiveLogging);
    }
    if has("hardcod") || has("api_key") || has("secret") || has("password") {
        tags.push(Tag::HardcodedSecret);
    }
    if has("md5")
        || has("sha1")
        || has("md4")
        || has("md2")
        || has("_collision")
        || has("ecb")
        || has("weak_hash")
        || has("weak_cipher")
        || has("weak_iv")
        || has("weak_crypto")
        || has("rsa_no_oaep")
        || has("cbc_padding")
        || has("insecure_hash")
    {
        tags.push(Tag::WeakCrypto);
    }
    if has("webview") {
        tags.push(Tag::InsecureWebview);
    }
    if has("insecure_ssl")
        || has("ignore_ssl")
        || has("ssl_bypass")
        || has("trust_all")
        || has("trustall")
        || has("hostname_verif")
        || has("insecure_tls")
        || has("ssl_error")
    {
        tags.push(Tag::InsecureTls);
    }
    if has("insecure_random") || has("weak_random") {
        tags.push(Tag::InsecureRandom);
    }
    tags
}

/// Tags implied by MobSF's own wording (3.x manifest entries without rule ids, network-security,
/// ATS, certificate and binary findings, scorecard items). Only phrases MobSF uses for the issue
/// itself, never for its absence ("disallow clear text traffic" does not match).
pub(crate) fn tags_from_text(title: &str, description: &str) -> Vec<Tag> {
    let t = format!("{title}\n{description}").to_ascii_lowercase();
    let has = |s: &str| t.contains(s);
    let mut tags = Vec::new();
    if has("debug enabled for app") || has("android:debuggable=true") || has("get-task-allow") {
        tags.push(Tag::Debuggable);
    }
    if has("can be backed up") || has("android:allowbackup=true") {
        tags.push(Tag::BackupEnabled);
    }
    if has("clear text traffic is enabled")
        || has("permit clear text traffic")
        || has("usescleartexttraffic=true")
        || has("allowsarbitraryloads is allowed")
        || has("ats restrictions are disabled")
        || has("restrictions are disabled for all network connections")
        || has("insecure communication to")
        || has("allows insecure http loads")
    {
        tags.push(Tag::CleartextTraffic);
    }
    if has("is not protected") && !has("would not be protected") {
        tags.push(Tag::ExportedComponent);
    }
    if has("app logs information") || has("sensitive information should never be logged") {
        tags.push(Tag::SensitiveLogging);
    }
    if has("hardcoded sensitive information")
        || has("contain hardcoded secrets")
        || has("hardcoded secret")
        || has("hardcoded api key")
        || has("hardcoded password")
        || has("hardcoded credential")
    {
        tags.push(Tag::HardcodedSecret);
    }
    if has("weak hash")
        || has("is a weak hash")
        || has("ecb mode")
        || has("weak encryption algorithm")
        || has("weak ivs")
        || has("vulnerable to hash collision")
        || has("without oaep padding")
    {
        tags.push(Tag::WeakCrypto);
    }
    if has("insecure webview") || has("webview load files") || has("remote webview debugging") {
        tags.push(Tag::InsecureWebview);
    }
    if has("trusting all the certificates")
        || has("insecure implementation of ssl")
        || has("ignores ssl certificate errors")
        || has("trust user installed certificates")
        || has("bypass certificate pinning")
        || has("minimumtlsversion")
    {
        tags.push(Tag::InsecureTls);
    }
    tags
}

/// One entry of MobSF's `secrets` list: `"name" : "value"` (string resources) or a bare value
/// (high-entropy strings from code, MobSF 4.x).
pub(crate) struct SecretEntry {
    pub name: Option<String>,
    pub value: String,
}

pub(crate) fn split_secret(entry: &str) -> SecretEntry {
    let e = entry.trim();
    if let Some(rest) = e.strip_prefix('"') {
        if let Some(sep) = rest.find("\" : \"").or_else(|| rest.find("\": \"")) {
            let name = &rest[..sep];
            let after = &rest[sep..];
            let vstart = after.find(": \"").map_or(after.len(), |i| i + 3);
            let value = after[vstart..]
                .strip_suffix('"')
                .unwrap_or(&after[vstart..]);
            if !value.is_empty() {
                return SecretEntry {
                    name: Some(name.to_string()),
                    value: value.to_string(),
                };
            }
        }
    }
    SecretEntry {
        name: None,
        value: e.to_string(),
    }
}

/// The entry with its value replaced by the redaction placeholder.
pub(crate) fn redacted_entry(entry: &str, s: &SecretEntry) -> String {
    if s.name.is_some() {
        redact_in(entry.trim(), &s.value)
    } else {
        RedactedSecret::new(&s.value).placeholder()
    }
}

/// Replaces every known secret value (and `key=` query values) in `text`.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = redact_in(&out, s);
        }
    }
    scrub_key_params(&out)
}

/// `…?key=AIza…&x` → the value of `key=` / `api_key=` / `token=` query parameters redacted
/// (MobSF 4.x firebase findings print the Remote Config URL with the Google API key).
fn scrub_key_params(text: &str) -> String {
    const PARAMS: [&str; 4] = ["?key=", "&key=", "api_key=", "token="];
    if !PARAMS.iter().any(|p| text.contains(p)) {
        return text.to_string();
    }
    let mut out = text.to_string();
    for p in PARAMS {
        let mut from = 0;
        while let Some(i) = out[from..].find(p) {
            let start = from + i + p.len();
            let len = out[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | '"' | '\'' | ')' | ','))
                .unwrap_or(out.len() - start);
            if len == 0 || out[start..start + len].contains("…[redacted") {
                from = start;
                continue;
            }
            let placeholder = RedactedSecret::new(&out[start..start + len]).placeholder();
            out.replace_range(start..start + len, &placeholder);
            from = start + placeholder.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_titles_are_cleaned() {
        assert_eq!(
            clean_html(
                "<strong>Activity</strong> (a.B) is not Protected. <br>[android:exported=true]"
            ),
            "Activity (a.B) is not Protected. [android:exported=true]"
        );
        assert_eq!(
            component_in_parens("Activity (a.B) is x"),
            Some("a.B".into())
        );
        assert_eq!(component_in_parens("Thing (with space)"), None);
    }

    #[test]
    fn secrets_split_and_redact() {
        let s = split_secret("\"api_key\" : \"abcd1234efgh\"");
        assert_eq!(s.name.as_deref(), Some("api_key"));
        assert_eq!(s.value, "abcd1234efgh");
        let r = redacted_entry("\"api_key\" : \"abcd1234efgh\"", &s);
        assert!(r.starts_with("\"api_key\" : \"abc"));
        assert!(!r.contains("1234efgh"));
        let bare = split_secret("AIzaSyEXAMPLE");
        assert!(bare.name.is_none());
        assert!(!redacted_entry("AIzaSyEXAMPLE", &bare).contains("EXAMPLE"));
        let t = scrub("https://x/y?key=AIzaSyEXAMPLE123&a=b", &[]);
        assert!(!t.contains("EXAMPLE123"), "{t}");
        assert!(t.ends_with("&a=b"));
    }

    #[test]
    fn text_tags_ignore_the_secure_wording() {
        assert!(tags_from_text(
            "",
            "Base config is configured to disallow clear text traffic to all domains."
        )
        .is_empty());
        assert_eq!(
            tags_from_text(
                "",
                "Base config is insecurely configured to permit clear text traffic to all domains."
            ),
            vec![Tag::CleartextTraffic]
        );
        assert!(tags_from_rule("exported_protected_permission_normal").is_empty());
        assert!(tags_from_text("Activity (a.B) is Protected by a permission.", "").is_empty());
    }
}
