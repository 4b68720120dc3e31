//! Reports for the hub benchmark (`bench/hub.sh`): a CodeQL-style SARIF report of N findings over
//! a few hundred rules, every finding with its own fingerprint, and a variant of it in which a given
//! percentage of the findings changed (new fingerprint, line, message and snippet: the code moved
//! under them) while the rest are byte-for-byte the same results.
//!
//! Reimporting the variant over the first must give `created` = `closed` = the changed count and
//! `untouched` = the rest. Fingerprints: SARIF findings with `partialFingerprints` are fingerprinted
//! by tool + rule + path + `primaryLocationLineHash` (docs/fingerprints.md); each result's hash is a
//! bijective mix of its index, so no two results share one, and a changed result's hash is the mix
//! of an index outside the base range.

use crate::{sentence, Lcg};
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What `hub-generate` wrote.
pub struct HubReports {
    pub base: PathBuf,
    pub changed: PathBuf,
    pub findings: usize,
    pub changed_findings: usize,
}

/// SplitMix64's finalizer: a bijection on u64, so distinct inputs give distinct hashes.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Is result `i` one of the changed ones? `percent` of every hundred, spread over the report.
fn is_changed(i: usize, percent: usize) -> bool {
    (i * 37) % 100 < percent
}

/// Writes (or keeps, when already there with the same name) both reports in `dir`.
pub fn generate(dir: &Path, findings: usize, rules: usize, percent: usize) -> HubReports {
    std::fs::create_dir_all(dir).expect("create bench dir");
    let base = dir.join(format!("hub-{findings}-r{rules}.sarif"));
    let changed = dir.join(format!("hub-{findings}-r{rules}-changed{percent}.sarif"));
    if !base.exists() {
        write(&base, findings, rules, None);
    }
    if !changed.exists() {
        write(&changed, findings, rules, Some(percent));
    }
    HubReports {
        base,
        changed,
        findings,
        changed_findings: (0..findings).filter(|&i| is_changed(i, percent)).count(),
    }
}

const LANGS: &[(&str, &str)] = &[
    ("java", "src/main/java/com/example"),
    ("js", "web/src"),
    ("python", "services"),
    ("go", "cmd"),
];

const CATEGORIES: &[&str] = &[
    "sql-injection",
    "path-injection",
    "xss",
    "command-line-injection",
    "hardcoded-credentials",
    "weak-cryptographic-algorithm",
    "unsafe-deserialization",
    "ssrf",
    "xxe",
    "open-redirect",
    "log-injection",
    "insecure-randomness",
];

fn write(path: &Path, findings: usize, rules: usize, changed: Option<usize>) {
    let tmp = path.with_extension("sarif.partial");
    let mut out = BufWriter::new(std::fs::File::create(&tmp).expect("create hub sarif"));
    // The same seed for both files: the rules and every unchanged result come out identical.
    let mut rng = Lcg(2026);
    let mut s = String::from("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"CodeQL\",\"organization\":\"GitHub\",\"semanticVersion\":\"2.19.3\",\"rules\":[");
    let mut rule_ids = Vec::with_capacity(rules);
    let mut rule_levels = Vec::with_capacity(rules);
    for r in 0..rules {
        if r > 0 {
            s.push(',');
        }
        let (lang, _) = LANGS[r % LANGS.len()];
        let category = CATEGORIES[(r / LANGS.len()) % CATEGORIES.len()];
        let id = format!("{lang}/{category}-{r}");
        let sev = [9.8, 8.8, 7.5, 6.1, 5.3, 4.3, 3.1, 2.0][r % 8];
        let level = ["error", "error", "warning", "warning", "note"][r % 5];
        let _ = write!(
            s,
            "\n{{\"id\":\"{id}\",\"name\":\"{lang}/{category}\",\"shortDescription\":{{\"text\":\"{category} ({}): {}\"}},\"fullDescription\":{{\"text\":\"{}\"}},\"help\":{{\"text\":\"# {category}\\n\\n{}\\n\\n## Recommendation\\n\\n{}\",\"markdown\":\"# {category}\\n\\n{}\"}},\"defaultConfiguration\":{{\"level\":\"{level}\"}},\"properties\":{{\"tags\":[\"security\",\"external/cwe/cwe-{}\"],\"kind\":\"path-problem\",\"precision\":\"high\",\"problem.severity\":\"{level}\",\"security-severity\":\"{sev}\"}}}}",
            r,
            sentence(&mut rng, 6),
            sentence(&mut rng, 30),
            sentence(&mut rng, 60),
            sentence(&mut rng, 25),
            sentence(&mut rng, 40),
            [89, 22, 79, 78, 798, 327, 502, 918, 611, 601, 117, 330][(r / LANGS.len()) % 12],
        );
        rule_ids.push(id);
        rule_levels.push(level);
    }
    s.push_str("]}},\"columnKind\":\"utf16CodeUnits\",\"results\":[");
    out.write_all(s.as_bytes()).unwrap();
    for i in 0..findings {
        s.clear();
        if i > 0 {
            s.push(',');
        }
        // Draw the same random values for every result, changed or not, so that the stream stays
        // aligned and unchanged results are identical in both files.
        let rule = (rng.next() % rules as u64) as usize;
        let mut line = 1 + rng.next() % 4000;
        let col = 1 + rng.next() % 60;
        let mut message = sentence(&mut rng, 10);
        let mut callee = sentence(&mut rng, 2).replace(' ', "_");
        let args = sentence(&mut rng, 3).replace(' ', ", ");
        let mut hash = mix(i as u64);
        if changed.is_some_and(|p| is_changed(i, p)) {
            line += 4000;
            message.push_str(" after refactoring");
            callee.push_str("_v2");
            hash = mix(i as u64 | 1 << 40);
        }
        let (lang, root) = LANGS[rule % LANGS.len()];
        let ext = match lang {
            "java" => "java",
            "js" => "ts",
            "python" => "py",
            _ => "go",
        };
        let _ = write!(
            s,
            "\n{{\"ruleId\":\"{}\",\"ruleIndex\":{rule},\"level\":\"{}\",\"message\":{{\"text\":\"{message} (flow {i})\"}},\"locations\":[{{\"physicalLocation\":{{\"artifactLocation\":{{\"uri\":\"{root}/module{}/pkg{}/File{}.{ext}\",\"uriBaseId\":\"%SRCROOT%\",\"index\":{}}},\"region\":{{\"startLine\":{line},\"startColumn\":{col},\"endColumn\":{},\"snippet\":{{\"text\":\"    var{i} = {callee}({args});\"}}}}}}}}],\"partialFingerprints\":{{\"primaryLocationLineHash\":\"{hash:016x}:1\",\"primaryLocationStartColumnFingerprint\":\"{}\"}}}}",
            rule_ids[rule],
            rule_levels[rule],
            i % 89,
            i % 17,
            i % 1500,
            i % 1500,
            col + 24,
            col % 8,
        );
        out.write_all(s.as_bytes()).unwrap();
    }
    out.write_all(b"]}]}\n").unwrap();
    out.flush().unwrap();
    drop(out);
    std::fs::rename(&tmp, path).expect("rename hub sarif");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_injective_on_the_ranges_used() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000u64 {
            assert!(seen.insert(mix(i)));
            assert!(seen.insert(mix(i | 1 << 40)));
        }
    }

    #[test]
    fn exactly_the_percentage_changes() {
        assert_eq!((0..100_000).filter(|&i| is_changed(i, 10)).count(), 10_000);
        assert_eq!((0..1_000).filter(|&i| is_changed(i, 0)).count(), 0);
    }

    #[test]
    fn unchanged_results_are_identical_in_both_files() {
        let dir = std::env::temp_dir().join(format!("tollgate-hub-gen-{}", std::process::id()));
        let r = generate(&dir, 200, 30, 10);
        let base = std::fs::read_to_string(&r.base).unwrap();
        let changed = std::fs::read_to_string(&r.changed).unwrap();
        let _: serde_json::Value = serde_json::from_str(&base).unwrap();
        let _: serde_json::Value = serde_json::from_str(&changed).unwrap();
        let (a, b): (Vec<_>, Vec<_>) = (base.lines().collect(), changed.lines().collect());
        assert_eq!(a.len(), b.len());
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(differing, r.changed_findings);
        assert_eq!(r.changed_findings, 20);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
