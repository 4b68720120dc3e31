//! The gate's outputs as GitLab's readers see them: JUnit cases keyed by classname + name, Code
//! Quality entries keyed by fingerprint (GitLab keeps one per key), and a Markdown comment whose
//! scanner text cannot break out of its structure.

use std::collections::HashSet;

use tollgate_model::{Finding, FingerprintBuilder, Package, Scanner, Severity};
use tollgate_policy::*;
use tollgate_report::{write_gitlab_codequality, write_junit, write_markdown, GateRun};

fn finding(scanner: &str, rule: &str, title: &str, severity: Severity, fp: &str) -> Finding {
    let mut f = Finding::new(Scanner::new(scanner, None), rule, title);
    f.severity = severity;
    f.fingerprint = FingerprintBuilder::new("test").part(fp).finish();
    f.source.file = Some("report.json".into());
    f
}

fn at(mut f: Finding, file: &str, line: u32) -> Finding {
    f.location.file = Some(file.into());
    f.location.start_line = Some(line);
    f
}

/// Runs the default policy on `findings` and hands the run to `write`.
fn with_run<T>(findings: &[Finding], write: impl FnOnce(&GateRun<'_>) -> T) -> T {
    let policy = Policy::default_policy();
    let mut context = Context::default();
    context.set_build(Build::Release);
    let inputs = vec![InputReport {
        file: "report.json".into(),
        format: Some("generic".into()),
        scanners: vec![Scanner::new("bandit", None)],
        sha256: Some("ab".repeat(32)),
        findings: findings.len() as u64,
        incomplete: vec![],
        error: None,
        counted_in: None,
    }];
    let decision = evaluate(&GateInput {
        findings,
        reports: &inputs,
        policy: &policy,
        context: &context,
        baseline: None,
        today: Date::parse("2026-11-22").unwrap(),
        on_error: OnError::Closed,
    });
    let run = GateRun {
        decision: &decision,
        findings: findings.into(),
        policy: &policy,
        context: &context,
        inputs: &inputs,
        baseline: None,
        generated_at: "2026-11-22T12:00:00Z".into(),
        tool_version: "0.1.0",
        exit_code: 1,
    };
    write(&run)
}

/// `attr="value"` of every `<tag …>` in `xml`, in order (our writer puts one element per line).
fn attrs(xml: &str, tag: &str, attr: &str) -> Vec<String> {
    xml.lines()
        .filter(|l| l.trim_start().starts_with(&format!("<{tag} ")))
        .map(|l| {
            let key = format!(" {attr}=\"");
            let from = l.find(&key).map(|i| i + key.len());
            from.map(|i| l[i..i + l[i..].find('"').unwrap()].to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn junit_cases_have_unique_names_and_the_attributes_junit10_requires() {
    // Three distinct Bandit B105 findings on one line (galaxy.py:36 in ansible), one of them
    // reported twice (two reports of the same scan), all blocking as hardcoded secrets.
    let b105 = |fp| {
        let mut f = at(
            finding(
                "bandit",
                "B105",
                "Possible hardcoded password",
                Severity::Critical,
                fp,
            ),
            "./test/galaxy.py",
            36,
        );
        f.tag(tollgate_model::Tag::HardcodedSecret);
        f
    };
    let findings = vec![b105("a"), b105("b"), b105("c"), b105("c")];
    let xml = with_run(&findings, |run| {
        let mut out = Vec::new();
        write_junit(run, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    });
    let names = attrs(&xml, "testcase", "name");
    let classes = attrs(&xml, "testcase", "classname");
    assert_eq!(names.len(), 4, "{xml}");
    let keys: HashSet<_> = classes.iter().zip(&names).collect();
    assert_eq!(keys.len(), 4, "GitLab would show fewer cases:\n{xml}");
    for n in &names {
        assert!(
            n.contains("B105") && n.contains("galaxy.py:36"),
            "readable: {n}"
        );
    }
    // junit-10 requires name, tests, failures and errors on every testsuite.
    for attr in ["name", "tests", "failures", "errors"] {
        assert!(
            attrs(&xml, "testsuite", attr).iter().all(|v| !v.is_empty()),
            "testsuite without {attr}:\n{xml}"
        );
    }
    assert_eq!(attrs(&xml, "testsuite", "failures"), ["4"]);
    assert_eq!(attrs(&xml, "testsuite", "errors"), ["0"]);
}

#[test]
fn codequality_fingerprints_are_unique_and_paths_repository_relative() {
    let mut dep = finding(
        "dependency-check",
        "CVE-2023-1",
        "mysql driver",
        Severity::Medium,
        "dep",
    );
    dep.location.file = Some("go.mod:github.com/go-sql-driver/mysql/1.6.0".into());
    dep.location.package = Some(Package {
        name: "github.com/go-sql-driver/mysql".into(),
        installed_version: Some("1.6.0".into()),
        ..Default::default()
    });
    let mut zap = finding(
        "zap",
        "10038",
        "CSP header not set",
        Severity::Medium,
        "zap",
    );
    zap.location.url = Some("http://localhost:8080/login".into());
    let mut zap_as_file = finding("zap", "10039", "No X-Frame-Options", Severity::Medium, "z2");
    zap_as_file.location.file = Some("https://mainsite.com/a".into());
    let mut image = finding("trivy", "CVE-2024-2", "openssl", Severity::High, "img");
    image.location.target = Some("alpine:3.18 (alpine 3.18.4)".into());
    let findings = vec![
        // One identity at two places (two scans of the same project at different commits).
        at(
            finding("gitleaks", "aws", "AWS key", Severity::Medium, "aws"),
            "README.md",
            5,
        ),
        at(
            finding("gitleaks", "aws", "AWS key", Severity::Medium, "aws"),
            "README.md",
            7,
        ),
        // The same finding reported twice, and once more in a third report.
        at(
            finding("bandit", "B108", "tmp", Severity::Medium, "tmp"),
            "./a/b.py",
            86,
        ),
        at(
            finding("bandit", "B108", "tmp", Severity::Medium, "tmp"),
            "./a/b.py",
            86,
        ),
        at(
            finding("bandit", "B108", "tmp", Severity::Medium, "tmp"),
            "a/b.py",
            86,
        ),
        at(
            finding("semgrep", "r", "x", Severity::Medium, "w"),
            "/builds/grp/proj/src/x.js",
            3,
        ),
        at(
            finding("semgrep", "r", "x", Severity::Medium, "o"),
            "/home/dev/elsewhere.js",
            3,
        ),
        at(
            finding("codescanner", "c", "x", Severity::Medium, "c"),
            "C:/code/file4.c",
            3,
        ),
        dep,
        zap,
        zap_as_file,
        image,
    ];
    let items: Vec<serde_json::Value> = with_run(&findings, |run| {
        let mut out = Vec::new();
        write_gitlab_codequality(run, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    });
    let fps: HashSet<&str> = items
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), items.len(), "a fingerprint repeats: {items:#?}");
    let paths: Vec<&str> = items
        .iter()
        .map(|i| i["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "README.md",
            "a/b.py",
            "a/b.py",
            "a/b.py",
            "src/x.js",
            "go.mod"
        ],
        "{items:#?}"
    );
    // The first entry of an identity keeps the finding's own fingerprint (it links to the summary).
    assert_eq!(items[0]["fingerprint"], findings[0].fingerprint.as_str());
    assert!(items[6]["description"]
        .as_str()
        .unwrap()
        .contains("github.com/go-sql-driver/mysql@1.6.0"));
}

/// Scanner text that tries to close our `<details>`, add HTML, links, images and mentions.
const HOSTILE: &str = "</details></details><details open><summary>pwned</summary> <img src=x onerror=alert(1)> \
    [click](https://evil.example/p) ![px](https://evil.example/i.png) see https://evil.example and \
    www.evil.example, mail a@evil.example, cc @all **bold** `tick` | cell |\n\n# heading\n<script>x</script>";

#[test]
fn markdown_neutralizes_scanner_text_everywhere() {
    let mut blocker = at(
        finding("semgrep", HOSTILE, HOSTILE, Severity::Critical, "h1"),
        "src/</details>`x`.py",
        3,
    );
    blocker.description = Some(HOSTILE.into());
    blocker.recommendation = Some(HOSTILE.into());
    blocker.scanner = Scanner::new(HOSTILE, Some(HOSTILE.into()));
    let mut warned = at(
        finding("semgrep", "rule", HOSTILE, Severity::High, "h2"),
        "a.py",
        1,
    );
    warned.description = Some(HOSTILE.into());
    let md = with_run(&[blocker, warned], |run| {
        let mut out = Vec::new();
        write_markdown(run, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    });
    // Code spans are inert (GFM shows their text as is); everything else must hold only our own
    // tags: every <details> we open closed on its own line, no tag, link, image or autolink.
    let outside_code = outside_code_spans(&md);
    let opens = outside_code.matches("<details>").count();
    let closes = md.lines().filter(|l| l.trim() == "</details>").count();
    assert_eq!(outside_code.matches("</details>").count(), closes, "{md}");
    assert_eq!(opens, closes, "{md}");
    for raw in [
        "<details open>",
        "<img",
        "<script",
        "<summary>pwned",
        "](https://",
        "![",
        "[click]",
        "https://",
        "www.evil",
        "@all",
        "a@evil",
        "**bold**",
        "\n# heading",
    ] {
        assert!(
            !outside_code.contains(raw),
            "{raw:?} outside code spans:\n{md}"
        );
    }
    // The text is still there for a reader, only inert.
    assert!(md.contains("pwned") && md.contains("evil"), "{md}");
}

/// `md` without its code spans (an unescaped backtick opens and closes one).
fn outside_code_spans(md: &str) -> String {
    let (mut out, mut in_code, mut escaped) = (String::new(), false, false);
    for c in md.chars() {
        if c == '`' && !escaped {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
        escaped = c == '\\' && !escaped && !in_code;
    }
    out
}
