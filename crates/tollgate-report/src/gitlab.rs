//! The two files GitLab reads into a merge request: JUnit XML (`artifacts:reports:junit`) and
//! Code Quality (`artifacts:reports:codequality`). GitLab keys a JUnit case by suite + classname +
//! name and a Code Quality entry by `fingerprint`, keeping one per key: every key written here is
//! unique, or GitLab silently shows fewer findings than the gate counted.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use serde_json::json;
use tollgate_model::{Finding, FingerprintBuilder, Severity};
use tollgate_policy::{Disposition, Verdict};

use crate::{describe_location, GateRun};

/// JUnit XML (the Jenkins junit-10 dialect GitLab reads): one failing test case per blocked
/// finding and per fail-closed condition, each with a name no other case of the file has.
pub fn write_junit(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<()> {
    let d = run.decision;
    // (classname, name, failure text)
    let mut cases: Vec<(String, String, String)> = Vec::new();
    let mut taken: HashSet<(String, String)> = HashSet::new();
    let mut add = |class: String, name: String, fp: Option<&str>, detail: String| {
        let name = unique_case_name(&mut taken, &class, name, fp);
        cases.push((class, name, detail));
    };
    for r in d
        .reasons
        .iter()
        .filter(|r| r.verdict == Verdict::Block && r.findings.is_empty())
    {
        add(
            format!("tollgate.{}", format!("{:?}", r.kind).to_lowercase()),
            r.message.clone(),
            None,
            r.message.clone(),
        );
    }
    for (f, e) in run.findings.all()?.iter().zip(&d.evaluated) {
        if e.disposition != Disposition::Block {
            continue;
        }
        let rule = run.rule_name(e.rule).unwrap_or("");
        let place = describe_location(f);
        let detail = format!(
            "{} [{}] {} at {} (rule {}, fingerprint {})",
            f.severity, f.scanner.name, f.title, place, f.rule_id, f.fingerprint
        );
        let name = if place.is_empty() {
            format!("{} {}", f.rule_id, f.title)
        } else {
            format!("{} {} at {place}", f.rule_id, f.title)
        };
        add(
            format!("tollgate.{rule}"),
            name,
            Some(f.fingerprint.as_str()),
            detail,
        );
    }
    let (tests, failures) = (cases.len().max(1), cases.len());
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"tollgate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"0\">"
    )?;
    writeln!(
        out,
        "  <testsuite name=\"security gate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"{}\">",
        xml_escape(&run.generated_at)
    )?;
    if cases.is_empty() {
        writeln!(
            out,
            "    <testcase classname=\"tollgate\" name=\"no blocking findings\" time=\"0\"/>"
        )?;
    }
    for (class, name, detail) in &cases {
        writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n      <failure type=\"blocked\" message=\"{}\">{}</failure>\n    </testcase>",
            xml_escape(class),
            xml_escape(name),
            xml_escape(name),
            xml_escape(detail)
        )?;
    }
    writeln!(out, "  </testsuite>\n</testsuites>")
}

/// `name` when no case of `class` has it yet; else `name [fingerprint prefix]` (two findings at
/// one place, e.g. three Bandit B105 hits on one line); else a running number (the same finding
/// reported twice, by two reports).
fn unique_case_name(
    taken: &mut HashSet<(String, String)>,
    class: &str,
    name: String,
    fingerprint: Option<&str>,
) -> String {
    let mut candidates = Vec::with_capacity(2);
    candidates.push(name.clone());
    if let Some(fp) = fingerprint {
        candidates.push(format!("{name} [{}]", &fp[..fp.len().min(8)]));
    }
    let base = candidates.last().cloned().unwrap_or_default();
    for c in candidates {
        if taken.insert((class.to_string(), c.clone())) {
            return c;
        }
    }
    (2..)
        .map(|n| format!("{base} #{n}"))
        .find(|c| taken.insert((class.to_string(), c.clone())))
        .unwrap_or(base)
}

pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all, even escaped.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// GitLab Code Quality report (`artifacts:reports:codequality`): every finding the gate did not
/// waive or see suppressed whose place is a file of the repository ([`codequality_path`]).
/// Returns how many findings were left out for having no such place (URLs, packages without a
/// manifest file, mobile components, absolute paths outside a known CI checkout).
pub fn write_gitlab_codequality(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<usize> {
    let mut items = Vec::new();
    let mut left_out = 0;
    // Fingerprints already used, and how often each (fingerprint, path, line) was seen.
    let mut used: HashSet<String> = HashSet::new();
    let mut seen_at: HashMap<(&str, String, u32), u32> = HashMap::new();
    for (f, e) in run.findings.all()?.iter().zip(&run.decision.evaluated) {
        if matches!(e.disposition, Disposition::Waived | Disposition::Suppressed) {
            continue;
        }
        let Some(path) = codequality_path(f) else {
            left_out += 1;
            continue;
        };
        let severity = match (e.disposition, f.severity) {
            (Disposition::Block, _) => "blocker",
            (_, Severity::Critical) => "critical",
            (_, Severity::High) => "major",
            (_, Severity::Medium) => "minor",
            _ => "info",
        };
        let line = f.location.start_line.unwrap_or(1).max(1);
        let fp = f.fingerprint.as_str();
        let n = seen_at.entry((fp, path.clone(), line)).or_insert(0);
        *n += 1;
        // The finding's own fingerprint (so the entry links to the summary and the hub) unless an
        // entry already has it: the same identity at another place, or reported twice.
        let fingerprint = if used.contains(fp) {
            let mut derived = FingerprintBuilder::new("codequality")
                .part(fp)
                .part(&path)
                .part(&line.to_string())
                .part(&n.to_string())
                .finish()
                .to_string();
            let mut extra = 0u32;
            while used.contains(&derived) {
                extra += 1;
                derived = FingerprintBuilder::new("codequality")
                    .part(&derived)
                    .part(&extra.to_string())
                    .finish()
                    .to_string();
            }
            derived
        } else {
            fp.to_string()
        };
        used.insert(fingerprint.clone());
        let mut description = format!("[{}] {}", f.scanner.name, f.title);
        if let Some(p) = &f.location.package {
            description.push_str(&format!(" ({})", describe_package(p)));
        }
        items.push(json!({
            "type": "issue",
            "check_name": f.rule_id,
            "description": description,
            "categories": ["Security"],
            "fingerprint": fingerprint,
            "severity": severity,
            "location": {"path": path, "lines": {"begin": line}},
        }));
    }
    serde_json::to_writer_pretty(&mut *out, &items)?;
    out.write_all(b"\n")?;
    Ok(left_out)
}

fn describe_package(p: &tollgate_model::Package) -> String {
    match &p.installed_version {
        Some(v) => format!("{}@{v}", p.name),
        None => p.name.clone(),
    }
}

/// CI checkouts whose prefix (and the named number of segments after it) is the repository root.
const CHECKOUTS: &[(&str, usize)] = &[
    ("/builds/", 2),           // GitLab runners: /builds/<group>/<project>/
    ("/home/runner/work/", 2), // GitHub-hosted runners: /home/runner/work/<repo>/<repo>/
    ("/github/workspace/", 0), // GitHub container actions
];

/// The repository-relative path GitLab can match against a merge request's diff, or `None` when
/// the finding's place is not a file of the repository: no file (a URL, a package, a component,
/// a cloud resource), a URL given as a file, or an absolute path outside a known CI checkout.
/// Pseudo-paths of dependency scanners keep their manifest file: `go.mod:github.com/x/y/1.0`
/// and `package-lock.json?yargs-parser` are findings in `go.mod` and `package-lock.json`.
pub fn codequality_path(f: &Finding) -> Option<String> {
    let raw = f.location.file.as_deref()?.trim();
    let mut p = raw.replace('\\', "/");
    if let Some(rest) = p.strip_prefix("file://") {
        p = rest.to_string();
    }
    if p.contains("://") {
        return None;
    }
    // A Windows drive letter: absolute, and not in a checkout we know.
    let b = p.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return None;
    }
    if let Some(i) = p.find(['?', ':']) {
        p.truncate(i);
    }
    let mut s = p.as_str();
    if s.starts_with('/') {
        let (marker, skip) = CHECKOUTS.iter().find(|(m, _)| s.starts_with(m))?;
        s = &s[marker.len()..];
        for _ in 0..*skip {
            s = &s[s.find('/')? + 1..];
        }
    }
    let mut out = String::with_capacity(s.len());
    for seg in s.split('/').filter(|x| !x.is_empty() && *x != ".") {
        if seg == ".." {
            return None;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(seg);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::Scanner;

    fn path_of(file: &str) -> Option<String> {
        let mut f = Finding::new(Scanner::new("s", None), "r", "t");
        f.location.file = Some(file.into());
        codequality_path(&f)
    }

    #[test]
    fn codequality_paths_are_repository_files_or_nothing() {
        for (file, want) in [
            ("./src/a.py", Some("src/a.py")),
            ("././src//./a.py", Some("src/a.py")),
            ("src\\win\\a.cs", Some("src/win/a.cs")),
            ("file://./lib/x.js", Some("lib/x.js")),
            ("/builds/group/project/app/x.go", Some("app/x.go")),
            ("/home/runner/work/repo/repo/x.ts", Some("x.ts")),
            ("/github/workspace/Dockerfile", Some("Dockerfile")),
            ("go.mod:github.com/minio/md5-simd/1.1.0", Some("go.mod")),
            ("package-lock.json?yargs-parser", Some("package-lock.json")),
            (
                "SmartQwering copy.app/Frameworks/p",
                Some("SmartQwering copy.app/Frameworks/p"),
            ),
            ("http://localhost:8080/login", None),
            ("C:/code/file4.c", None),
            ("/home/dev/dd/setEnv.sh", None),
            ("/builds/group", None),
            ("../outside.py", None),
            ("./", None),
            ("", None),
        ] {
            assert_eq!(path_of(file).as_deref(), want, "{file:?}");
        }
        let no_file = Finding::new(Scanner::new("zap", None), "10038", "CSP");
        assert_eq!(codequality_path(&no_file), None);
    }
}
