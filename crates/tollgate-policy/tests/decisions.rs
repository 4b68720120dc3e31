//! Gate decisions on our own findings: each default blocker, new vs existing, release vs debug,
//! waivers (expiry with an injected clock, stale), fail-closed conditions.

use tollgate_model::{Category, Finding, FingerprintBuilder, Scanner, Severity, Tag};
use tollgate_policy::*;

fn finding(id: &str, severity: Severity, tags: &[Tag]) -> Finding {
    let mut f = Finding::new(
        Scanner::new("mobsf", Some("4.4.1".into())),
        id,
        format!("Finding {id}"),
    );
    f.severity = severity;
    f.category = Category::Mobile;
    for t in tags {
        f.tag(*t);
    }
    f.location.file = Some(format!("src/{id}.java"));
    f.fingerprint = FingerprintBuilder::new("test").part(id).finish();
    f
}

fn today() -> Date {
    Date::parse("2026-11-22").unwrap()
}

fn context(build: Build, env: Option<&str>) -> Context {
    let mut c = Context::default();
    c.set_build(build);
    c.environment = env.map(String::from);
    c
}

fn decide(
    findings: &[Finding],
    policy: &Policy,
    ctx: &Context,
    baseline: Option<&Baseline>,
    reports: &[InputReport],
) -> Decision {
    evaluate(&GateInput {
        findings,
        reports,
        policy,
        context: ctx,
        baseline,
        today: today(),
        on_error: OnError::Closed,
    })
}

fn report(file: &str, scanner: &str) -> InputReport {
    InputReport {
        file: file.into(),
        format: Some(scanner.into()),
        scanners: vec![Scanner::new(scanner, None)],
        ..InputReport::default()
    }
}

fn rules_fired(d: &Decision, verdict: Verdict) -> Vec<String> {
    d.reasons
        .iter()
        .filter(|r| r.verdict == verdict)
        .filter_map(|r| r.rule.clone())
        .collect()
}

#[test]
fn each_default_blocker_blocks_a_release_to_production() {
    let p = Policy::default_policy();
    let ctx = context(Build::Release, Some("production"));
    let cases = [
        (Tag::Debuggable, "debuggable-release"),
        (Tag::ExportedComponent, "exported-component-release"),
        (Tag::HardcodedSecret, "hardcoded-secret-release"),
        (Tag::CleartextTraffic, "cleartext-traffic-production"),
    ];
    for (tag, rule) in cases {
        let f = [finding("x", Severity::Medium, &[tag])];
        let d = decide(&f, &p, &ctx, None, &[]);
        assert_eq!(d.outcome, Outcome::Fail, "{tag} must block");
        assert_eq!(rules_fired(&d, Verdict::Block), vec![rule.to_string()]);
        assert_eq!(d.evaluated[0].disposition, Disposition::Block);
    }
    let mut title = finding("rce", Severity::High, &[]);
    title.title = "Remote Code Execution via deserialization".into();
    let d = decide(&[title], &p, &ctx, None, &[]);
    assert_eq!(
        rules_fired(&d, Verdict::Block),
        vec!["high-risk-title".to_string()]
    );
}

#[test]
fn debug_builds_and_other_environments_do_not_block_mobile_flags() {
    let p = Policy::default_policy();
    let f = [
        finding("dbg", Severity::High, &[Tag::Debuggable]),
        finding("ct", Severity::Medium, &[Tag::CleartextTraffic]),
    ];
    let d = decide(&f, &p, &context(Build::Debug, Some("staging")), None, &[]);
    assert_eq!(d.outcome, Outcome::Warn, "{:?}", d.reasons);
    assert!(rules_fired(&d, Verdict::Block).is_empty());
    // Release to staging: debuggable blocks, cleartext only in production.
    let d = decide(&f, &p, &context(Build::Release, Some("staging")), None, &[]);
    assert_eq!(
        rules_fired(&d, Verdict::Block),
        vec!["debuggable-release".to_string()]
    );
    assert_eq!(d.evaluated[1].disposition, Disposition::Warn);
}

#[test]
fn a_release_without_a_named_environment_is_taken_for_production() {
    let p = Policy::default_policy();
    let f = [finding("ct", Severity::Medium, &[Tag::CleartextTraffic])];
    let assumed = |d: &Decision| d.notes.iter().any(|n| n.contains("assumed `production`"));
    // Nobody named the environment of a release build: cleartext traffic blocks, and says why.
    let d = decide(&f, &p, &context(Build::Release, None), None, &[]);
    assert_eq!(
        rules_fired(&d, Verdict::Block),
        vec!["cleartext-traffic-production".to_string()]
    );
    assert!(assumed(&d), "{:?}", d.notes);
    // A named environment is taken as named, and nothing is assumed.
    let d = decide(&f, &p, &context(Build::Release, Some("staging")), None, &[]);
    assert!(rules_fired(&d, Verdict::Block).is_empty());
    assert!(!assumed(&d), "{:?}", d.notes);
    // A debug build has no production environment to assume.
    let d = decide(&f, &p, &context(Build::Debug, None), None, &[]);
    assert!(rules_fired(&d, Verdict::Block).is_empty());
    assert!(!assumed(&d), "{:?}", d.notes);
    // A policy without environment-bound rules needs no such note.
    let mut plain = Policy::default_policy();
    plain.rules.retain(|r| {
        r.spec
            .context
            .as_ref()
            .is_none_or(|c| c.environments.is_empty())
    });
    let d = decide(&f, &plain, &context(Build::Release, None), None, &[]);
    assert!(!assumed(&d), "{:?}", d.notes);
}

#[test]
fn new_critical_blocks_existing_critical_warns() {
    let p = Policy::default_policy();
    let ctx = context(Build::Release, None);
    let old = finding("old", Severity::Critical, &[]);
    let new = finding("new", Severity::Critical, &[]);
    let baseline = Baseline {
        fingerprints: [old.fingerprint.to_string()].into_iter().collect(),
        source: "prev.json".into(),
    };
    let f = [old, new];
    let d = decide(&f, &p, &ctx, Some(&baseline), &[]);
    assert_eq!(d.evaluated[0].state, State::Existing);
    assert_eq!(d.evaluated[0].disposition, Disposition::Warn);
    assert_eq!(d.evaluated[1].state, State::New);
    assert_eq!(d.evaluated[1].disposition, Disposition::Block);
    assert_eq!(d.outcome, Outcome::Fail);
    // Without a baseline both are new, and the decision says so.
    let d = decide(&f, &p, &ctx, None, &[]);
    assert!(d.evaluated.iter().all(|e| e.state == State::New));
    assert!(d.notes.iter().any(|n| n.contains("no baseline")));
}

#[test]
fn info_trackers_and_low_findings_pass() {
    let p = Policy::default_policy();
    let f = [
        finding("t", Severity::Info, &[Tag::Tracker]),
        finding("i", Severity::Info, &[]),
        finding("l", Severity::Low, &[]),
    ];
    let d = decide(
        &f,
        &p,
        &context(Build::Release, Some("production")),
        None,
        &[],
    );
    assert_eq!(d.outcome, Outcome::Pass);
    let disp: Vec<Disposition> = d.evaluated.iter().map(|e| e.disposition).collect();
    assert_eq!(
        disp,
        vec![Disposition::Info, Disposition::Info, Disposition::Advisory]
    );
}

fn policy_with_waivers(waivers: &str) -> Policy {
    let mut p = Policy::default_policy();
    p.add_waivers(waivers, "waivers.toml").unwrap();
    p
}

#[test]
fn waivers_apply_until_they_expire_and_stale_ones_are_reported() {
    let secret = finding("secret", Severity::High, &[Tag::HardcodedSecret]);
    let fp = secret.fingerprint.to_string();
    let text = format!(
        "[[waiver]]\nfingerprint = \"{fp}\"\nreason = \"test key\"\nowner = \"appsec\"\nexpires = \"2026-11-22\"\n\
         [[waiver]]\nrule = \"nothing-*\"\npath = \"**\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2027-01-01\"\n"
    );
    let p = policy_with_waivers(&text);
    let ctx = context(Build::Release, None);
    let f = [secret];
    let d = decide(&f, &p, &ctx, None, &[]);
    assert_eq!(
        d.outcome,
        Outcome::Pass,
        "waived on its last day: {:?}",
        d.reasons
    );
    assert_eq!(d.evaluated[0].disposition, Disposition::Waived);
    assert_eq!(d.waivers.applied.len(), 1);
    assert_eq!(d.waivers.stale, vec![1]);
    // The day after, the waiver has expired: the finding blocks and the waiver is reported.
    let later = evaluate(&GateInput {
        findings: &f,
        reports: &[],
        policy: &p,
        context: &ctx,
        baseline: None,
        today: Date::parse("2026-11-23").unwrap(),
        on_error: OnError::Closed,
    });
    assert_eq!(later.outcome, Outcome::Fail);
    assert_eq!(later.waivers.expired.len(), 1);
    assert_eq!(later.waivers.expired[0].findings, vec![0]);
}

#[test]
fn waiver_by_rule_and_path() {
    let p = policy_with_waivers(
        "[[waiver]]\nrule = \"dbg*\"\npath = \"src/**\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2030-01-01\"\n",
    );
    let f = [finding("dbg", Severity::High, &[Tag::Debuggable])];
    let d = decide(&f, &p, &context(Build::Release, None), None, &[]);
    assert_eq!(d.evaluated[0].disposition, Disposition::Waived);
    assert_eq!(d.outcome, Outcome::Pass);
}

#[test]
fn broken_incomplete_and_missing_inputs_fail_closed() {
    let p =
        Policy::from_toml("[require]\nscanners = [\"mobsf\", \"semgrep\"]\n", "p.toml").unwrap();
    let ctx = context(Build::Release, None);
    let mut broken = report("bad.json", "sarif");
    broken.error = Some("line 1, column 2: truncated".into());
    let mut incomplete = report("mobsf.json", "mobsf");
    incomplete.incomplete = vec!["decompilation failed".into()];
    let d = decide(&[], &p, &ctx, None, &[broken.clone(), incomplete.clone()]);
    assert_eq!(d.outcome, Outcome::Fail);
    let kinds: Vec<ReasonKind> = d.reasons.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ReasonKind::BrokenReport,
            ReasonKind::IncompleteScan,
            ReasonKind::MissingScanner
        ]
    );
    assert!(d.reasons[2].message.contains("semgrep"));
    // Fail-open turns them into warnings and says so loudly.
    let open = evaluate(&GateInput {
        findings: &[],
        reports: &[broken, incomplete],
        policy: &p,
        context: &ctx,
        baseline: None,
        today: today(),
        on_error: OnError::Open,
    });
    assert_eq!(open.outcome, Outcome::Warn);
    assert!(open.notes[0].starts_with("FAIL-OPEN"));
    // A required scanner that is provided passes.
    let d = decide(
        &[],
        &p,
        &ctx,
        None,
        &[report("m.json", "mobsf"), report("s.json", "semgrep")],
    );
    assert_eq!(d.outcome, Outcome::Pass);
}

#[test]
fn scanner_suppressed_findings_never_block() {
    let p = Policy::default_policy();
    let mut f = finding("dbg", Severity::Critical, &[Tag::Debuggable]);
    f.suppressed = true;
    let d = decide(&[f], &p, &context(Build::Release, None), None, &[]);
    assert_eq!(d.outcome, Outcome::Pass);
    assert_eq!(d.evaluated[0].disposition, Disposition::Suppressed);
    assert_eq!(d.evaluated[0].rule, Some(0));
}

#[test]
fn first_matching_rule_wins_and_match_fields_work() {
    let p = Policy::from_toml(
        r#"
[[rule]]
name = "sqli-in-api"
verdict = "block"
[rule.match]
cwe = [89]
path = ["api/**"]
scanner = ["semgrep"]

[[rule]]
name = "fixable-cves"
verdict = "warn"
[rule.match]
vulnerability_id = ["CVE-2024-*"]
fix_available = true
cvss_at_least = 7.0
"#,
        "p.toml",
    )
    .unwrap();
    let mut sqli = Finding::new(Scanner::new("semgrep", None), "sqli", "SQL injection");
    sqli.cwe = vec![89];
    sqli.location.file = Some("api/orders.py".into());
    let mut other_path = sqli.clone();
    other_path.location.file = Some("web/orders.py".into());
    let mut cve = Finding::new(Scanner::new("trivy", None), "CVE-2024-1", "x");
    cve.vulnerability_ids = vec!["CVE-2024-1".into()];
    cve.cvss = vec![tollgate_model::Cvss::new(
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        None,
        None,
    )
    .unwrap()];
    cve.location.package = Some(tollgate_model::Package {
        name: "p".into(),
        fixed_version: Some("2".into()),
        ..Default::default()
    });
    let mut unfixable = cve.clone();
    unfixable.location.package.as_mut().unwrap().fixed_version = None;
    let d = decide(
        &[sqli, other_path, cve, unfixable],
        &p,
        &context(Build::Release, None),
        None,
        &[],
    );
    let disp: Vec<Disposition> = d.evaluated.iter().map(|e| e.disposition).collect();
    assert_eq!(
        disp,
        vec![
            Disposition::Block,
            Disposition::Advisory,
            Disposition::Warn,
            Disposition::Advisory
        ]
    );
}

#[test]
fn incremental_evaluation_matches_and_truncate_forgets() {
    let p = Policy::default_policy();
    let ctx = context(Build::Release, Some("production"));
    let keep = [
        finding("a", Severity::Critical, &[]),
        finding("b", Severity::Medium, &[Tag::BackupEnabled]),
    ];
    let dropped = [finding("c", Severity::High, &[Tag::Debuggable])];
    let mut ev = Evaluator::new(&p, &ctx, None, today());
    for f in keep.iter().chain(&dropped) {
        ev.push(f);
    }
    ev.truncate(keep.len());
    let incremental = ev.finish(&[], OnError::Closed);
    let whole = decide(&keep, &p, &ctx, None, &[]);
    assert_eq!(incremental, whole);
    assert!(!rules_fired(&incremental, Verdict::Block).contains(&"debuggable-release".to_string()));
}
