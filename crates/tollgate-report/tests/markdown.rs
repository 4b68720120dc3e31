//! Snapshot of the merge-request comment for a gate run with a blocker, a waiver (applied, expired,
//! stale), an incomplete scan and triage items.

use tollgate_model::{Category, Finding, FingerprintBuilder, Scanner, Severity, Tag};
use tollgate_policy::*;
use tollgate_report::{write_markdown, write_summary_json, GateRun};

fn finding(id: &str, title: &str, severity: Severity, tags: &[Tag], file: &str) -> Finding {
    let mut f = Finding::new(Scanner::new("mobsf", Some("4.4.1".into())), id, title);
    f.severity = severity;
    f.category = Category::Mobile;
    for t in tags {
        f.tag(*t);
    }
    f.location.file = Some(file.into());
    f.description = Some(format!("MobSF says: {title}."));
    f.recommendation = Some("Follow the MASVS guidance.".into());
    f.fingerprint = FingerprintBuilder::new("test").part(id).finish();
    f.source.file = Some("mobsf-report.json".into());
    f
}

#[test]
fn markdown_summary_snapshot() {
    let findings = vec![
        finding(
            "app_is_debuggable",
            "App is debuggable",
            Severity::High,
            &[Tag::Debuggable],
            "AndroidManifest.xml",
        ),
        finding(
            "app_allowbackup",
            "Application data can be backed up",
            Severity::Medium,
            &[Tag::BackupEnabled],
            "AndroidManifest.xml",
        ),
        finding(
            "android_logging",
            "The App logs information",
            Severity::Info,
            &[Tag::SensitiveLogging],
            "com/example/Api.java",
        ),
        finding(
            "hardcoded_secret",
            "Hardcoded secret in strings.xml",
            Severity::Medium,
            &[Tag::HardcodedSecret],
            "res/values/strings.xml",
        ),
        finding(
            "trackers",
            "Google Firebase Analytics",
            Severity::Info,
            &[Tag::Tracker],
            "classes.dex",
        ),
    ];
    let secret_fp = findings[3].fingerprint.to_string();
    let mut policy = Policy::default_policy();
    policy
        .add_waivers(
            &format!(
                "[[waiver]]\nfingerprint = \"{secret_fp}\"\nreason = \"Public demo key\"\nowner = \"appsec@example.com\"\nexpires = \"2026-12-31\"\n\
                 [[waiver]]\nrule = \"old_rule\"\npath = \"legacy/**\"\nreason = \"Legacy module\"\nowner = \"mobile-team\"\nexpires = \"2026-01-31\"\n\
                 [[waiver]]\nrule = \"gone_rule\"\npath = \"**\"\nreason = \"Fixed long ago\"\nowner = \"mobile-team\"\nexpires = \"2027-06-30\"\n"
            ),
            "waivers.toml",
        )
        .unwrap();
    let mut context = Context::default();
    context.set_build(Build::Release);
    context.environment = Some("staging".into());
    context.branch = Some("feature/login".into());
    context.commit = Some("0123456789abcdef0123".into());
    context.merge_request = Some("42".into());
    let inputs = vec![InputReport {
        file: "mobsf-report.json".into(),
        format: Some("mobsf".into()),
        scanners: vec![Scanner::new("mobsf", Some("4.4.1".into()))],
        sha256: Some("ab".repeat(32)),
        findings: 5,
        incomplete: vec![
            "MobSF could not decompile the app (JADX failed): code analysis is missing".into(),
        ],
        error: None,
        counted_in: None,
    }];
    let decision = evaluate(&GateInput {
        findings: &findings,
        reports: &inputs,
        policy: &policy,
        context: &context,
        baseline: None,
        today: Date::parse("2026-11-22").unwrap(),
        on_error: OnError::Closed,
    });
    let run = GateRun {
        decision: &decision,
        findings: (&findings).into(),
        policy: &policy,
        context: &context,
        inputs: &inputs,
        baseline: None,
        generated_at: "2026-11-22T12:00:00Z".into(),
        tool_version: "0.1.0",
        exit_code: 1,
    };
    let mut md = Vec::new();
    write_markdown(&run, &mut md).unwrap();
    insta::assert_snapshot!(String::from_utf8(md).unwrap());

    // The JSON summary of the same run is valid and carries every fingerprint.
    let mut json = Vec::new();
    write_summary_json(&run, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["decision"], "FAIL");
    assert_eq!(v["findings"].as_array().unwrap().len(), 5);
    assert_eq!(
        v["waivers"]["applied"][0]["fingerprints"][0],
        secret_fp.as_str()
    );
    assert_eq!(v["waivers"]["expired"].as_array().unwrap().len(), 1);
    assert_eq!(v["waivers"]["stale"].as_array().unwrap().len(), 1);
}

/// A fail-open run of a clean app whose scan is incomplete: it warns only for the broken
/// evidence, so the headline must not send anyone to triage zero findings; a release build whose
/// environment nobody named shows the assumed one, as it shows an assumed build.
#[test]
fn a_fail_open_warning_without_findings_says_what_it_is() {
    let findings: Vec<Finding> = Vec::new();
    let policy = Policy::default_policy();
    let context = Context::default();
    let inputs = vec![InputReport {
        file: "mobsf-report.json".into(),
        format: Some("mobsf".into()),
        scanners: vec![Scanner::new("mobsf", Some("4.4.1".into()))],
        sha256: None,
        findings: 0,
        incomplete: vec!["MobSF could not decompile the app (JADX failed)".into()],
        error: None,
        counted_in: None,
    }];
    let decision = evaluate(&GateInput {
        findings: &findings,
        reports: &inputs,
        policy: &policy,
        context: &context,
        baseline: None,
        today: Date::parse("2026-11-22").unwrap(),
        on_error: OnError::Open,
    });
    assert_eq!(decision.outcome, Outcome::Warn);
    let run = GateRun {
        decision: &decision,
        findings: (&findings).into(),
        policy: &policy,
        context: &context,
        inputs: &inputs,
        baseline: None,
        generated_at: "2026-11-22T12:00:00Z".into(),
        tool_version: "0.1.0",
        exit_code: 0,
    };
    let mut md = Vec::new();
    write_markdown(&run, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(!md.contains("need triage"), "{md}");
    assert!(
        md.contains("its evidence is broken or incomplete (the gate ran with --on-error open)"),
        "{md}"
    );
    assert!(md.contains("environment `production` (assumed)"), "{md}");
    // Nothing blocks: the advice box must not explain why it blocks, nor suggest the very
    // option the run already used.
    assert!(!md.contains("Why this blocks"), "{md}");
    assert!(md.contains("Why this only warns"), "{md}");
}
