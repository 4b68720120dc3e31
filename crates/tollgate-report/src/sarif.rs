//! SARIF 2.1.0 for GitHub code scanning: one run, one rule per scanner rule id, waived findings
//! and scanner-suppressed findings carried as suppressions.
//!
//! What GitHub's upload demands (docs/cli.md, "SARIF for GitHub code scanning"):
//! - every rule has a short and a full description, a help text, the `security` tag beside
//!   `security-severity`, and its CWEs as `external/cwe/cwe-NNN` tags;
//! - `artifactLocation.uri` is a repository-relative, percent-encoded URI reference with no
//!   scheme. Only files go there ([`file_place`]); packages, URLs, app components and the like go to
//!   `logicalLocations`;
//! - at most [`GITHUB_MAX_RESULTS`] results per run (GitHub keeps [`DEFAULT_MAX_RESULTS`]): the run
//!   is capped, blockers first, then warnings, notes dropped first ([`plan_cap`]), and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::{json, Map, Value};
use tollgate_model::{Finding, Location, Severity};
use tollgate_policy::{Disposition, Evaluated};

use crate::GateRun;

/// GitHub rejects a SARIF run with more results than this.
pub const GITHUB_MAX_RESULTS: usize = 25_000;
/// GitHub keeps (displays) at most this many results of a run: the default cap.
pub const DEFAULT_MAX_RESULTS: usize = 5_000;
/// Longest rule description written, in UTF-16 code units (GitHub documents 1,024).
const MAX_DESCRIPTION: usize = 1_024;
/// Longest help text written, in UTF-16 code units.
const MAX_HELP: usize = 8_192;
/// Tags of a rule GitHub keeps (it rejects more than 20): `security` and the CWEs come first.
const MAX_TAGS: usize = 10;

/// How the SARIF is written.
#[derive(Debug, Clone)]
pub struct SarifOptions {
    /// Results beyond this are left out (blockers kept first); at most [`GITHUB_MAX_RESULTS`].
    pub max_results: usize,
    /// Checkout directories (absolute, `/` separated): an absolute path under one of them is
    /// written relative to it.
    pub checkout_roots: Vec<String>,
}

impl Default for SarifOptions {
    fn default() -> Self {
        SarifOptions {
            max_results: DEFAULT_MAX_RESULTS,
            checkout_roots: Vec::new(),
        }
    }
}

impl SarifOptions {
    /// The checkout roots a CI job makes known: `GITHUB_WORKSPACE`, `CI_PROJECT_DIR`, the
    /// current directory, and `/github/workspace` (where GitHub mounts the checkout into a
    /// container action).
    pub fn checkout_roots_from_env() -> Vec<String> {
        let mut roots: Vec<String> = ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .chain(
                std::env::current_dir()
                    .ok()
                    .and_then(|d| d.to_str().map(str::to_string)),
            )
            .chain(std::iter::once("/github/workspace".to_string()))
            .map(|r| r.replace('\\', "/").trim_end_matches('/').to_string())
            .filter(|r| !r.is_empty())
            .collect();
        roots.dedup();
        roots
    }
}

/// The SARIF level of a disposition: blockers are errors, warnings warnings, the rest notes.
fn level(d: Disposition) -> &'static str {
    match d {
        Disposition::Block => "error",
        Disposition::Warn => "warning",
        _ => "note",
    }
}

fn level_rank(d: Disposition) -> usize {
    match d {
        Disposition::Block => 0,
        Disposition::Warn => 1,
        _ => 2,
    }
}

/// Which results a capped run keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SarifCap {
    /// Indexes of the findings written, in their original order.
    pub kept: Vec<usize>,
    /// Results in all (one per finding).
    pub total: usize,
    /// Left out: errors (blockers), warnings, notes.
    pub left_out: [usize; 3],
}

impl SarifCap {
    pub fn left_out_total(&self) -> usize {
        self.left_out.iter().sum()
    }

    /// The sentence that says what was left out (None when nothing was).
    pub fn notice(&self, max: usize) -> Option<String> {
        let n = self.left_out_total();
        (n > 0).then(|| {
            format!(
                "the SARIF output holds {} of {} results: {} left out ({} notes, {} warnings, {} \
                 blockers), notes first; GitHub code scanning keeps {} results of a run and \
                 rejects more than {} (--sarif-max-results {max})",
                self.kept.len(),
                self.total,
                n,
                self.left_out[2],
                self.left_out[1],
                self.left_out[0],
                DEFAULT_MAX_RESULTS,
                GITHUB_MAX_RESULTS,
            )
        })
    }
}

/// Chooses the results of a run capped at `max` (itself capped at [`GITHUB_MAX_RESULTS`]):
/// blockers first, then warnings, then notes; within a level the more severe first, then the
/// report order.
pub fn plan_cap(findings: &[Finding], evaluated: &[Evaluated], max: usize) -> SarifCap {
    let max = max.min(GITHUB_MAX_RESULTS);
    let total = findings.len().min(evaluated.len());
    let mut order: Vec<usize> = (0..total).collect();
    let mut left_out = [0; 3];
    if total > max {
        order.sort_by_key(|&i| {
            (
                level_rank(evaluated[i].disposition),
                std::cmp::Reverse(findings[i].severity),
                i,
            )
        });
        for &i in &order[max..] {
            left_out[level_rank(evaluated[i].disposition)] += 1;
        }
        order.truncate(max);
        order.sort_unstable();
    }
    SarifCap {
        kept: order,
        total,
        left_out,
    }
}

/// A trimmed text of at most `max` UTF-16 code units, `…` ending a cut one.
fn clip(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.encode_utf16().count() <= max {
        return t.to_string();
    }
    let mut units = 0;
    let mut end = 0;
    for (at, c) in t.char_indices() {
        units += c.len_utf16();
        if units > max - 1 {
            break;
        }
        end = at + c.len_utf8();
    }
    format!("{}…", &t[..end])
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The reporting descriptor of a rule, from its first finding and the CWEs of all its findings.
fn rule_descriptor(id: &str, f: &Finding, cwes: &BTreeSet<u32>) -> Value {
    let title = non_empty(Some(&f.title)).unwrap_or(&f.rule_id);
    let title = non_empty(Some(title)).unwrap_or(id);
    let description = non_empty(f.description.as_deref()).unwrap_or(title);
    let help = non_empty(f.recommendation.as_deref()).unwrap_or(description);
    let mut tags: Vec<String> = vec!["security".to_string()];
    tags.extend(cwes.iter().map(|c| format!("external/cwe/cwe-{c:03}")));
    tags.extend(f.tags.iter().map(|t| t.as_str().to_string()));
    tags.truncate(MAX_TAGS);
    let score = match f.cvss_score() {
        Some(score) => format!("{score:.1}"),
        None => match f.severity {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "2.0",
            Severity::Info => "0.0",
        }
        .to_string(),
    };
    let mut rule = json!({
        "id": id,
        "name": f.rule_id,
        "shortDescription": {"text": clip(title, MAX_DESCRIPTION)},
        "fullDescription": {"text": clip(description, MAX_DESCRIPTION)},
        "help": {"text": clip(help, MAX_HELP)},
        "properties": {"tags": tags, "security-severity": score},
    });
    if let Some(uri) = f
        .references
        .iter()
        .find(|r| r.starts_with("https://") && !r.contains(char::is_whitespace))
    {
        rule["helpUri"] = json!(uri);
    }
    rule
}

/// Where a finding's `location.file` puts it, for SARIF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePlace {
    /// A repository-relative, percent-encoded URI reference; `rewritten` when it names the file
    /// differently from the scanner (an absolute path or `file:` URI made relative, or a
    /// pseudo-path cut to its file; not for a mere `./`, `\` or encoding);
    /// `cut` when a `manifest:package` pseudo-path was cut to its manifest.
    File {
        uri: String,
        rewritten: bool,
        cut: bool,
    },
    /// Not a file: a URL, or nothing left once normalized (`./`).
    NotAFile,
}

/// Turns the path a scanner gave into a repository-relative, percent-encoded URI reference:
/// - `\` becomes `/`; a `file:` URI is decoded to its path;
/// - an absolute path (`/…`, `C:/…`) under a checkout root loses that root, any other loses its
///   leading `/` (and drive letter): it is written relative to the repository either way;
/// - `.` segments go, `a/..` collapses (a `..` above the root is dropped);
/// - a pseudo-path that names a package after its manifest (`go.mod:github.com/x/y/1.0`,
///   `package-lock.json?yargs-parser`, when the finding names a package) is cut to the manifest;
/// - a URL (`scheme://…`) is not a file.
///
/// Every byte outside RFC 3986's unreserved set, `/`, `@` and the sub-delimiters is
/// percent-encoded, `:` included, so the result never parses as having a scheme.
pub fn file_place(path: &str, has_package: bool, roots: &[String]) -> FilePlace {
    let mut p = path.trim().replace('\\', "/");
    let mut rewritten = false;
    if let Some(rest) = p.strip_prefix("file://") {
        rewritten = true;
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        p = tollgate_model::percent_decode(rest);
        if has_drive(p.trim_start_matches('/')) {
            p = p.trim_start_matches('/').to_string();
        }
    } else if p.contains("://") {
        return FilePlace::NotAFile;
    }
    let mut cut = false;
    if has_package {
        // `manifest:package` and `manifest?package` (Dependency-Check): the file is the manifest.
        let at = p.find('?').into_iter().chain(first_segment_colon(&p)).min();
        if let Some(at) = at {
            p.truncate(at);
            cut = true;
            rewritten = true;
        }
    }
    let mut absolute = p.starts_with('/');
    if has_drive(&p) {
        absolute = true;
    }
    if absolute {
        rewritten = true;
        let under_root = roots.iter().find_map(|r| {
            let rest = p.strip_prefix(r.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| rest.to_string())
        });
        p = match under_root {
            Some(rest) => rest,
            None if has_drive(&p) => p[2..].to_string(),
            None => p,
        };
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return FilePlace::NotAFile;
    }
    let relative = segments.join("/");
    let uri = percent_encode_path(&relative);
    FilePlace::File {
        rewritten,
        uri,
        cut,
    }
}

/// `C:` at the start.
fn has_drive(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b.len() == 2 || b[2] == b'/')
}

/// The byte offset of a `:` in the first path segment (not a drive letter's).
fn first_segment_colon(p: &str) -> Option<usize> {
    if has_drive(p) {
        return None;
    }
    let first = p.split('/').next().unwrap_or("");
    first.find(':').filter(|&at| at > 0)
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b'-' | b'.' | b'_' | b'~' | b'/' | b'@' => out.push(b as char),
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The places of a finding that are not files, as SARIF logical locations.
fn logical_locations(l: &Location, pseudo_path: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(p) = pseudo_path {
        out.push(json!({"fullyQualifiedName": p, "kind": "resource"}));
    }
    if let Some(pkg) = &l.package {
        let version = non_empty(pkg.installed_version.as_deref());
        let fqn = match (&pkg.purl, version) {
            (Some(purl), _) if !purl.trim().is_empty() => purl.trim().to_string(),
            (_, Some(v)) => format!("{}@{v}", pkg.name),
            _ => pkg.name.clone(),
        };
        out.push(json!({"name": pkg.name, "fullyQualifiedName": fqn, "kind": "module"}));
    }
    if let Some(url) = non_empty(l.url.as_deref()) {
        let fqn = match non_empty(l.method.as_deref()) {
            Some(m) => format!("{m} {url}"),
            None => url.to_string(),
        };
        out.push(json!({"name": url, "fullyQualifiedName": fqn, "kind": "resource"}));
    }
    if let Some(c) = non_empty(l.component.as_deref()) {
        out.push(json!({"fullyQualifiedName": c, "kind": if c.contains('/') { "resource" } else { "type" }}));
    }
    out
}

pub fn write_sarif(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_sarif_with(run, &SarifOptions::default(), out)
}

pub fn write_sarif_with(
    run: &GateRun<'_>,
    options: &SarifOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let max = options.max_results.min(GITHUB_MAX_RESULTS);
    let findings = run.findings.all()?;
    let cap = plan_cap(findings, &run.decision.evaluated, max);
    // Rule key → (index, first finding, CWEs of all its findings).
    let mut rules: BTreeMap<String, (usize, usize, BTreeSet<u32>)> = BTreeMap::new();
    let mut results = Vec::with_capacity(cap.kept.len());
    for &i in &cap.kept {
        let (f, e) = (&findings[i], &run.decision.evaluated[i]);
        let rule_key = format!("{}/{}", f.scanner.name, f.rule_id);
        let next = rules.len();
        let rule = rules
            .entry(rule_key.clone())
            .or_insert_with(|| (next, i, BTreeSet::new()));
        rule.2.extend(f.cwe.iter().copied());
        let rule_index = rule.0;
        let mut props = Map::new();
        props.insert("tollgate-disposition".into(), json!(e.disposition.as_str()));
        props.insert("severity".into(), json!(f.severity.as_str()));
        let mut result = json!({
            "ruleId": rule_key,
            "ruleIndex": rule_index,
            "level": level(e.disposition),
            "message": {"text": match &f.description {
                Some(d) if !d.trim().is_empty() => format!("{}: {}", f.title, d.trim()),
                _ if !f.title.trim().is_empty() => f.title.clone(),
                _ => rule_key.clone(),
            }},
            "partialFingerprints": {"tollgate/v1": f.fingerprint.as_str()},
        });
        let l = &f.location;
        let place = l.file.as_deref().filter(|p| !p.trim().is_empty()).map(|p| {
            (
                p,
                file_place(p, l.package.is_some(), &options.checkout_roots),
            )
        });
        let mut location = Map::new();
        let mut pseudo_path = None;
        match &place {
            Some((
                path,
                FilePlace::File {
                    uri,
                    rewritten,
                    cut,
                },
            )) => {
                let mut physical = json!({"artifactLocation": {"uri": uri}});
                if let Some(start) = l.start_line.filter(|l| *l > 0) {
                    let mut region = json!({"startLine": start});
                    if let Some(end) = l.end_line.filter(|e| *e >= start) {
                        region["endLine"] = json!(end);
                    }
                    physical["region"] = region;
                }
                location.insert("physicalLocation".into(), physical);
                if *rewritten {
                    props.insert("tollgate-path".into(), json!(path));
                    // A `manifest:package` pseudo-path names a place besides its file.
                    if *cut {
                        pseudo_path = Some(*path);
                    }
                }
            }
            Some((path, FilePlace::NotAFile)) => pseudo_path = Some(*path),
            None => {}
        }
        let mut logical = logical_locations(l, pseudo_path);
        if let Some(t) = non_empty(l.target.as_deref()) {
            props.insert("tollgate-target".into(), json!(t));
            if logical.is_empty() && !location.contains_key("physicalLocation") {
                logical.push(json!({"fullyQualifiedName": t, "kind": "module"}));
            }
        }
        if let Some(p) = non_empty(l.parameter.as_deref()) {
            props.insert("tollgate-parameter".into(), json!(p));
        }
        if let Some(s) = non_empty(f.source.file.as_deref()) {
            props.insert("tollgate-report".into(), json!(s));
            // A finding with no place at all: GitHub wants a location, the report is the only
            // place known (a logical one: it is no file of the repository).
            if logical.is_empty() && !location.contains_key("physicalLocation") {
                logical.push(json!({"fullyQualifiedName": s, "kind": "resource"}));
            }
        }
        if logical.is_empty() && !location.contains_key("physicalLocation") {
            logical.push(json!({"fullyQualifiedName": rule_key, "kind": "resource"}));
        }
        if !logical.is_empty() {
            location.insert("logicalLocations".into(), Value::Array(logical));
        }
        result["locations"] = json!([location]);
        result["properties"] = Value::Object(props);
        match e.disposition {
            Disposition::Waived => {
                let w = e.waiver.and_then(|w| run.policy.waivers.get(w));
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": w.map(|w| format!(
                        "{} (owner {}, expires {})",
                        w.spec.reason.as_deref().unwrap_or(""),
                        w.spec.owner.as_deref().unwrap_or(""),
                        w.expires
                    )).unwrap_or_default(),
                }]);
            }
            Disposition::Suppressed => {
                result["suppressions"] = json!([{"kind": "inSource", "status": "accepted"}]);
            }
            _ => {}
        }
        results.push(result);
    }
    let mut rule_list: Vec<(usize, Value)> = rules
        .into_iter()
        .map(|(id, (index, first, cwes))| (index, rule_descriptor(&id, &findings[first], &cwes)))
        .collect();
    rule_list.sort_by_key(|(i, _)| *i);
    let mut sarif_run = json!({
        "tool": {"driver": {
            "name": "tollgate",
            "version": run.tool_version,
            "rules": rule_list.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        }},
        "results": results,
        "properties": {
            "tollgate-results-total": cap.total,
            "tollgate-results-written": cap.kept.len(),
            "tollgate-results-left-out": cap.left_out_total(),
            "tollgate-results-max": max,
        },
    });
    if let Some(notice) = cap.notice(max) {
        sarif_run["invocations"] = json!([{
            "executionSuccessful": true,
            "toolExecutionNotifications": [{
                "level": "warning",
                "descriptor": {"id": "tollgate/results-capped"},
                "message": {"text": notice},
            }],
        }]);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [sarif_run],
    });
    serde_json::to_writer(&mut *out, &doc)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str) -> String {
        uri_with(path, false, &[])
    }

    fn uri_with(path: &str, package: bool, roots: &[&str]) -> String {
        let roots: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
        match file_place(path, package, &roots) {
            FilePlace::File { uri, .. } => uri,
            FilePlace::NotAFile => "<not a file>".to_string(),
        }
    }

    #[test]
    fn descriptions_are_clipped_to_githubs_limit() {
        assert_eq!(clip("  short  ", 1024), "short");
        let long = "é".repeat(2000);
        let c = clip(&long, MAX_DESCRIPTION);
        assert_eq!(c.encode_utf16().count(), MAX_DESCRIPTION);
        assert!(c.ends_with('…'));
        // A character outside the BMP (two UTF-16 units) is never split.
        let emoji = "😀".repeat(600);
        let c = clip(&emoji, MAX_DESCRIPTION);
        assert!(c.encode_utf16().count() <= MAX_DESCRIPTION, "{}", c.len());
        assert!(c.starts_with('😀') && c.ends_with('…'));
    }

    #[test]
    fn uris_are_relative_and_percent_encoded() {
        assert_eq!(uri("src/app.py"), "src/app.py");
        assert_eq!(uri("./src/app.py"), "src/app.py");
        assert_eq!(
            uri("DVIA-v2/Sensitive Information in Memory/x.swift"),
            "DVIA-v2/Sensitive%20Information%20in%20Memory/x.swift"
        );
        assert_eq!(
            uri("node_modules/@babel/core/x.js"),
            "node_modules/@babel/core/x.js"
        );
        assert_eq!(uri("a/100%.txt"), "a/100%25.txt");
        assert_eq!(uri("a/b#c?d"), "a/b%23c%3Fd");
        assert_eq!(uri("été/ü.kt"), "%C3%A9t%C3%A9/%C3%BC.kt");
        assert_eq!(uri("src\\win\\file.cs"), "src/win/file.cs");
        assert_eq!(uri("a/./b/../c.txt"), "a/c.txt");
        assert_eq!(uri("../../etc/passwd"), "etc/passwd");
        assert_eq!(uri("./"), "<not a file>");
        assert_eq!(uri("http://localhost:8080/x"), "<not a file>");
    }

    #[test]
    fn a_colon_never_makes_a_scheme() {
        // Dependency-Check's pseudo-path: `go.mod` is the file, the rest names the package.
        assert_eq!(
            uri_with("go.mod:github.com/go-sql-driver/mysql/1.6.0", true, &[]),
            "go.mod"
        );
        assert_eq!(
            uri_with("package-lock.json?yargs-parser", true, &[]),
            "package-lock.json"
        );
        // Without a package, the colon is encoded: still no scheme.
        assert_eq!(uri("go.mod:github.com/x"), "go.mod%3Agithub.com/x");
        assert_eq!(uri("a:b"), "a%3Ab");
    }

    #[test]
    fn absolute_paths_become_repository_relative() {
        assert_eq!(uri("C:/code/file1.c"), "code/file1.c");
        assert_eq!(uri("C:\\code\\file1.c"), "code/file1.c");
        assert_eq!(uri("/home/damien/dd/setEnv.sh"), "home/damien/dd/setEnv.sh");
        let roots = ["/builds/group/project", "/github/workspace"];
        assert_eq!(
            uri_with("/builds/group/project/src/a.py", false, &roots),
            "src/a.py"
        );
        assert_eq!(
            uri_with("/github/workspace/app/b.kt", false, &roots),
            "app/b.kt"
        );
        // A root is a whole directory, not a prefix of a name.
        assert_eq!(
            uri_with("/builds/group/project2/a.py", false, &roots),
            "builds/group/project2/a.py"
        );
        assert_eq!(uri_with("C:/ci/repo/a.c", false, &["C:/ci/repo"]), "a.c");
        assert_eq!(uri("file:///C:/code/my%20file.c"), "code/my%20file.c");
        assert_eq!(uri("file:///src/x.py"), "src/x.py");
    }

    #[test]
    fn every_uri_is_a_relative_reference_without_a_scheme() {
        for p in [
            "go.mod:github.com/go-sql-driver/mysql/1.6.0",
            "C:/x",
            "/x y",
            "x?y",
            "a:b/c",
            "-:-",
            "ñ:ñ",
        ] {
            for package in [false, true] {
                let u = uri_with(p, package, &[]);
                assert!(!u.starts_with('/'), "{p} → {u}");
                let first = u.split('/').next().unwrap();
                assert!(!first.contains(':'), "{p} → {u}");
                assert!(
                    u.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'),
                    "{p} → {u}"
                );
            }
        }
    }
}
