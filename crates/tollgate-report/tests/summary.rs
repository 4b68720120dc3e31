//! `security-gate-summary.json` is written field by field, its head streamed: byte for byte what
//! it was when the head was built as one `serde_json::Value` and pretty-printed (kept here as the
//! reference), for runs with every part of the head present and absent.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};
use tollgate_model::{Category, Finding, Fingerprint, FingerprintBuilder, Scanner, Severity, Tag};
use tollgate_policy::*;
use tollgate_report::{
    write_compact_finding, write_summary_json, write_summary_json_from, Findings, GateRun,
};

/// The summary as it was written before the head was streamed.
fn reference(run: &GateRun<'_>) -> Vec<u8> {
    let d = run.decision;
    let fingerprints = |findings: &[usize]| -> Vec<&str> {
        findings
            .iter()
            .filter_map(|i| run.findings.fingerprint(*i))
            .collect()
    };
    let mut counts: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, u64>>> = BTreeMap::new();
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for ((sev, state, disp), n) in &d.counts {
        let state = match state {
            State::New => "new",
            State::Existing => "existing",
        };
        *counts
            .entry(sev.as_str())
            .or_default()
            .entry(state)
            .or_default()
            .entry(disp.as_str())
            .or_insert(0) += n;
        *totals.entry(disp.as_str()).or_insert(0) += n;
    }
    totals.insert("findings", run.findings.len() as u64);
    let waiver = |w: usize, findings: &[usize]| {
        let wv = &run.policy.waivers[w];
        json!({
            "declared_in": wv.origin,
            "matches": wv.target(),
            "reason": wv.spec.reason,
            "owner": wv.spec.owner,
            "expires": wv.expires.to_string(),
            "fingerprints": fingerprints(findings),
        })
    };
    let reasons: Vec<Value> = d
        .reasons
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind,
                "verdict": r.verdict,
                "rule": r.rule,
                "message": r.message,
                "fingerprints": fingerprints(&r.findings),
            })
        })
        .collect();
    let head = json!({
        "schema": "tollgate/security-gate-summary",
        "schema_version": tollgate_report::SUMMARY_SCHEMA_VERSION,
        "tool": {"name": "tollgate", "version": run.tool_version},
        "generated_at": run.generated_at,
        "decision": d.outcome,
        "exit_code": run.exit_code,
        "reasons": reasons,
        "notes": d.notes,
        "counts": counts,
        "totals": totals,
        "waivers": {
            "applied": d.waivers.applied.iter().map(|u| waiver(u.waiver, &u.findings)).collect::<Vec<_>>(),
            "expired": d.waivers.expired.iter().map(|u| waiver(u.waiver, &u.findings)).collect::<Vec<_>>(),
            "stale": d.waivers.stale.iter().map(|w| waiver(*w, &[])).collect::<Vec<_>>(),
        },
        "context": run.context,
        "baseline": run.baseline.map(|b| json!({"source": b.source, "fingerprints": b.fingerprints.len()})),
        "inputs": run.inputs,
    });
    let mut head_text = serde_json::to_string_pretty(&head).unwrap();
    head_text.truncate(head_text.trim_end().len() - 1);
    let mut out = head_text.trim_end().as_bytes().to_vec();
    out.extend_from_slice(b",\n  \"findings\": [");
    let all = run.findings.all().unwrap();
    for (i, (f, e)) in all.iter().zip(&d.evaluated).enumerate() {
        write_compact_finding(&mut out, run.policy, i, f, e).unwrap();
    }
    out.extend_from_slice(b"\n  ]\n}\n");
    out
}

fn finding(id: &str, title: &str, severity: Severity, tags: &[Tag], file: Option<&str>) -> Finding {
    let mut f = Finding::new(Scanner::new("mobsf", Some("4.4.1".into())), id, title);
    f.severity = severity;
    f.category = Category::Mobile;
    for t in tags {
        f.tag(*t);
    }
    f.location.file = file.map(str::to_string);
    f.fingerprint = FingerprintBuilder::new("test").part(id).finish();
    f.source.file = Some("mobsf-report.json".into());
    f
}

fn findings() -> Vec<Finding> {
    let mut all = vec![
        finding(
            "app_is_debuggable",
            "App is debuggable",
            Severity::High,
            &[Tag::Debuggable],
            Some("AndroidManifest.xml"),
        ),
        finding(
            "rce",
            "Remote code execution in \"parser\"\n\t\\ é 😀",
            Severity::Critical,
            &[],
            Some("src/a b/ü.c"),
        ),
        finding(
            "hardcoded_secret",
            "Hardcoded secret",
            Severity::Medium,
            &[Tag::HardcodedSecret],
            Some("legacy/strings.xml"),
        ),
        finding("trackers", "Tracker", Severity::Info, &[Tag::Tracker], None),
        finding("low", "Low", Severity::Low, &[], Some("x")),
    ];
    // Many findings of one reason: long fingerprint lists (a head of ~170 KB, written in several
    // of the summary writer's 64 KiB blocks).
    for i in 0..2_000 {
        all.push(finding(
            &format!("many-{i}"),
            "App is debuggable",
            Severity::High,
            &[Tag::Debuggable],
            Some("AndroidManifest.xml"),
        ));
    }
    all[4].suppressed = true;
    all
}

fn policy(secret_fp: &str) -> Policy {
    let mut policy = Policy::default_policy();
    policy
        .add_waivers(
            &format!(
                "[[waiver]]\nfingerprint = \"{secret_fp}\"\nreason = \"Public \\\"demo\\\" key\"\nowner = \"appsec@example.com\"\nexpires = \"2026-12-31\"\n\
                 [[waiver]]\nrule = \"hardcoded_secret\"\npath = \"legacy/**\"\nreason = \"Legacy\"\nowner = \"mobile-team\"\nexpires = \"2026-01-31\"\n\
                 [[waiver]]\nrule = \"gone_rule\"\npath = \"**\"\nreason = \"Fixed long ago\"\nowner = \"mobile-team\"\nexpires = \"2027-06-30\"\n"
            ),
            "waivers.toml",
        )
        .unwrap();
    policy
}

fn inputs(findings: u64) -> Vec<InputReport> {
    vec![
        InputReport {
            file: "mobsf-report.json".into(),
            format: Some("mobsf".into()),
            scanners: vec![Scanner::new("mobsf", Some("4.4.1".into()))],
            sha256: Some("ab".repeat(32)),
            findings,
            incomplete: vec!["code analysis is missing".into()],
            error: None,
            counted_in: None,
        },
        InputReport {
            file: "broken.json".into(),
            error: Some("line 1: expected value".into()),
            ..InputReport::default()
        },
        InputReport {
            file: "report.scorecard.json".into(),
            format: Some("mobsf-scorecard".into()),
            counted_in: Some("mobsf-report.json".into()),
            ..InputReport::default()
        },
    ]
}

fn check(run: &GateRun<'_>) {
    let want = reference(run);
    let mut got = Vec::new();
    write_summary_json(run, &mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    // The gate's way: entries written beforehand, read back, only the fingerprints kept.
    let all = run.findings.all().unwrap();
    let mut entries = Vec::new();
    for (i, (f, e)) in all.iter().zip(&run.decision.evaluated).enumerate() {
        write_compact_finding(&mut entries, run.policy, i, f, e).unwrap();
    }
    let fingerprints: Vec<Fingerprint> = all.iter().map(|f| f.fingerprint.clone()).collect();
    let listed = GateRun {
        findings: Findings::Listed {
            fingerprints: &fingerprints,
            kept: &[],
        },
        generated_at: run.generated_at.clone(),
        ..*run
    };
    let mut got = Vec::new();
    write_summary_json_from(&listed, &mut entries.as_slice(), &mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn the_summary_is_byte_for_byte_what_the_value_built_head_gave() {
    let findings = findings();
    let policy = policy(findings[2].fingerprint.as_str());
    let mut context = Context::default();
    context.set_build(Build::Release);
    context.environment = Some("production".into());
    context.commit = Some("0123456789abcdef0123".into());
    context
        .extra
        .insert("release \"x\"".into(), "1.4.2\n\u{1}".into());
    context.extra.insert("a".into(), String::new());
    let baseline = Baseline {
        fingerprints: [findings[0].fingerprint.to_string(), "f".repeat(32)]
            .into_iter()
            .collect::<HashSet<_>>(),
        source: "baseline/security-gate-summary.json".into(),
    };
    let inputs = inputs(findings.len() as u64);
    for (baseline, on_error) in [(None, OnError::Closed), (Some(&baseline), OnError::Open)] {
        let decision = evaluate(&GateInput {
            findings: &findings,
            reports: &inputs,
            policy: &policy,
            context: &context,
            baseline,
            today: Date::parse("2026-11-22").unwrap(),
            on_error,
        });
        assert!(decision.reasons.len() >= 3, "{:?}", decision.reasons);
        assert!(!decision.waivers.applied.is_empty());
        assert!(!decision.waivers.expired.is_empty());
        assert!(!decision.waivers.stale.is_empty());
        check(&GateRun {
            decision: &decision,
            findings: (&findings).into(),
            policy: &policy,
            context: &context,
            inputs: &inputs,
            baseline,
            generated_at: "2026-11-22T12:00:00Z".into(),
            tool_version: "0.1.0",
            exit_code: 1,
        });
    }
}

#[test]
fn an_empty_run_and_a_policy_without_waivers() {
    let findings: Vec<Finding> = Vec::new();
    let policy = Policy::default_policy();
    let context = Context::default();
    let inputs: Vec<InputReport> = Vec::new();
    let decision = evaluate(&GateInput {
        findings: &findings,
        reports: &inputs,
        policy: &policy,
        context: &context,
        baseline: None,
        today: Date::parse("2026-11-22").unwrap(),
        on_error: OnError::Closed,
    });
    check(&GateRun {
        decision: &decision,
        findings: (&findings).into(),
        policy: &policy,
        context: &context,
        inputs: &inputs,
        baseline: None,
        generated_at: "2026-11-22T12:00:00Z".into(),
        tool_version: "0.1.0",
        exit_code: 0,
    });
}
