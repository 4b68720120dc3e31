//! Taxonomy tags every parser gets for free, from CWE ids and categories (docs/taxonomy.md).
//! Parsers add the tags only they can know (MobSF rule ids, Gitleaks rules …) themselves.

use tollgate_model::{Category, Finding, Tag};

/// CWE → tag. Only CWEs whose meaning is unambiguous for the tag.
const CWE_TAGS: &[(u32, Tag)] = &[
    (532, Tag::SensitiveLogging),
    (117, Tag::SensitiveLogging),
    (798, Tag::HardcodedSecret),
    (259, Tag::HardcodedSecret),
    (321, Tag::HardcodedSecret),
    (327, Tag::WeakCrypto),
    (328, Tag::WeakCrypto),
    (326, Tag::WeakCrypto),
    (329, Tag::WeakCrypto),
    (916, Tag::WeakCrypto),
    (319, Tag::CleartextTraffic),
    (295, Tag::InsecureTls),
    (297, Tag::InsecureTls),
    (89, Tag::Injection),
    (78, Tag::Injection),
    (77, Tag::Injection),
    (94, Tag::Injection),
    (90, Tag::Injection),
    (943, Tag::Injection),
    (1336, Tag::Injection),
    (79, Tag::Xss),
    (330, Tag::InsecureRandom),
    (338, Tag::InsecureRandom),
    (312, Tag::InsecureStorage),
    (922, Tag::InsecureStorage),
    (276, Tag::InsecureStorage),
    (749, Tag::InsecureWebview),
    (926, Tag::ExportedComponent),
    (489, Tag::Debuggable),
    (530, Tag::BackupEnabled),
];

pub fn apply_common_tags(f: &mut Finding) {
    for i in 0..f.cwe.len() {
        let cwe = f.cwe[i];
        if let Some((_, tag)) = CWE_TAGS.iter().find(|(c, _)| *c == cwe) {
            if *tag == Tag::InsecureTls && is_missing_hardening(f) {
                continue;
            }
            f.tag(*tag);
        }
    }
    match f.category {
        Category::Secret => f.tag(Tag::HardcodedSecret),
        Category::Sca | Category::Container
            if f.location.package.is_some() && !f.vulnerability_ids.is_empty() =>
        {
            f.tag(Tag::VulnerableDependency)
        }
        Category::Iac => f.tag(Tag::Misconfiguration),
        _ => {}
    }
    if f.secret.is_some() {
        f.tag(Tag::HardcodedSecret);
    }
}

/// Scanners give CWE-295 to "no certificate pinning / transparency" too: a missing extra
/// protection, not disabled verification, so it must not carry `insecure-tls`.
fn is_missing_hardening(f: &Finding) -> bool {
    let mentions = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("pinning")
            || s.contains("pinned")
            || s.contains("_pin")
            || s.contains("transparency")
    };
    mentions(&f.rule_id) || mentions(&f.title)
}
