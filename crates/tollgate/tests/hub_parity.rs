//! Where the hub answers as DefectDojo does, and where it knowingly does not (issue 14 §1, §3):
//! `do_not_reactivate` buckets, ZAP rule variants, `scan_date`, loose `scan_type` names, first
//! runs without a product type, "MobSF Scorecard Scan" with a report_json. Each on SQLite and
//! PostgreSQL.

use crate::hub::{delta, generic_report, with, Hub};
use crate::util::{corpus_dir, stderr, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tollgate-parsers/tests/fixtures")
        .join(path)
}

fn warnings(v: &Value) -> Vec<String> {
    v["tollgate"]["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no tollgate.warnings in {v}"))
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// DefectDojo's reimporter skips a mitigated finding under `do_not_reactivate` before it reaches
/// any list: not reactivated, not untouched, and not closed (it is closed already).
#[test]
fn do_not_reactivate_counts_a_returning_mitigated_finding_in_no_bucket() {
    for hub in Hub::each("parity-dnr") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("hub-parity-dnr-files");
        let three = generic_report(&dir, "three.json", "f", 3);
        let two = generic_report(&dir, "two.json", "f", 2);
        let generic = [("scan_type", "Generic Findings Import")];

        let (s, v) = hub.import("reimport-scan", &t, &three, &with(&generic));
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        let test = v["test_id"].as_i64().unwrap();
        // f-2 is gone: mitigated.
        let (s, v) = hub.import("reimport-scan", &t, &two, &with(&generic));
        assert_eq!(s, 201, "{v}");
        assert_eq!(delta(&v), (0, 1, 0, 2), "{}: {v}", hub.backend);

        // f-2 is back, do_not_reactivate: it stays mitigated and is in no bucket.
        let mut fields = with(&generic);
        fields.push(("do_not_reactivate", "true"));
        let (s, v) = hub.import("reimport-scan", &t, &three, &fields);
        assert_eq!(s, 201, "{v}");
        assert_eq!(delta(&v), (0, 0, 0, 2), "{}: {v}", hub.backend);
        assert_eq!(v["tollgate"]["not_reactivated"], 1, "{v}");
        assert_eq!(v["statistics"]["after"]["total"]["is_mitigated"], 1, "{v}");
        let (_, history) = hub.get(&t, &format!("/api/v2/test_imports/?test={test}"));
        let last = &history["results"][0]; // newest first
        assert_eq!(last["tollgate"]["untouched"], 2, "{history}");

        // Without it, the same call reactivates.
        let (s, v) = hub.import("reimport-scan", &t, &three, &with(&generic));
        assert_eq!(s, 201, "{v}");
        assert_eq!(delta(&v), (0, 0, 1, 2), "{}: {v}", hub.backend);
        assert_eq!(v["tollgate"]["not_reactivated"], 0, "{v}");
    }
}

/// DefectDojo's `5_zap_sample_one.xml`: two items of plugin 10011 with one `<name>` and two
/// `<alert>` texts are two findings; after `0_zap_sample.xml` the first keeps its identity.
#[test]
fn zap_variants_of_one_rule_are_two_findings_as_in_defectdojo() {
    let Some(corpus) = corpus_dir("zap_variants_of_one_rule_are_two_findings_as_in_defectdojo")
    else {
        return;
    };
    for hub in Hub::each("parity-zap-variants") {
        let t = hub.token("ci", "import,read", None);
        let zap = [("scan_type", "ZAP Scan")];
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &corpus.join("zap-xml/dd-5_zap_sample_one.xml"),
            &with(&[("scan_type", "ZAP Scan"), ("engagement_name", "alone")]),
        );
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        assert_eq!(v["statistics"]["after"]["total"]["total"], 2, "{v}");
        assert_eq!(v["tollgate"]["duplicates_in_report"], 0, "{v}");

        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &corpus.join("zap-xml/dd-0_zap_sample.xml"),
            &with(&zap),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["statistics"]["after"]["total"]["total"], 4, "{v}");
        // DefectDojo (hash_code = title, cwe, severity): zap1 is matched, zap2's variant is new,
        // the other three are closed.
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &corpus.join("zap-xml/dd-5_zap_sample_one.xml"),
            &with(&zap),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(delta(&v), (1, 3, 0, 1), "{}: {v}", hub.backend);
        assert_eq!(v["statistics"]["before"]["total"]["total"], 4, "{v}");
        assert_eq!(v["statistics"]["after"]["total"]["total"], 5, "{v}");
    }
}

/// DefectDojo dates the findings a call creates by its `scan_date`; their SLA runs from it.
#[test]
fn scan_date_dates_the_created_findings() {
    for hub in Hub::each("parity-scan-date") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("hub-parity-scan-date-files");
        let one = generic_report(&dir, "one.json", "d", 1);
        let two = generic_report(&dir, "two.json", "d", 2);
        let generic = ("scan_type", "Generic Findings Import");
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &one,
            &with(&[generic, ("scan_date", "2024-03-01")]),
        );
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        let test = v["test_id"].as_i64().unwrap();
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &two,
            &with(&[generic, ("scan_date", "2024-04-02")]),
        );
        assert_eq!(s, 201, "{v}");
        let (_, page) = hub.get(&t, &format!("/api/v2/findings/?test={test}"));
        let results = page["results"].as_array().unwrap();
        let by_title = |title: &str| {
            results
                .iter()
                .find(|f| f["title"] == title)
                .unwrap_or_else(|| panic!("no {title} in {page}"))
        };
        let first = by_title("Finding d-0");
        let second = by_title("Finding d-1");
        assert_eq!(first["date"], "2024-03-01", "{}: {first}", hub.backend);
        assert_eq!(second["date"], "2024-04-02", "{}: {second}", hub.backend);
        // d-0 is Critical (7 days), d-1 High (30 days), from the scan date.
        assert_eq!(first["sla_expiration_date"], "2024-03-08", "{first}");
        assert_eq!(second["sla_expiration_date"], "2024-05-02", "{second}");
        // Without scan_date, the date is the day of the call.
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &one,
            &with(&[generic, ("engagement_name", "today")]),
        );
        assert_eq!(s, 201, "{v}");
        let (_, page) = hub.get(&t, &format!("/api/v2/findings/?test={}", v["test_id"]));
        let created = page["results"][0]["created"].as_str().unwrap();
        assert_eq!(page["results"][0]["date"], created[..10], "{page}");
    }
}

/// The seed-001 snippets: loose names a real DefectDojo rejects with 400, and no product type for
/// a new product. The hub takes them, and says what DefectDojo would have said.
#[test]
fn loose_scan_types_and_a_missing_product_type_are_taken_with_warnings() {
    for hub in Hub::each("parity-names") {
        let t = hub.token("ci", "import,read", None);
        let bandit = fixture("bandit/basic.json");
        // The Bandit snippet verbatim: no product_type_name, a new product.
        let snippet = [
            ("scan_type", "Bandit"),
            ("product_name", "payments"),
            ("engagement_name", "python-sast"),
            ("test_title", "bandit-main"),
            ("auto_create_context", "true"),
        ];
        let (s, v) = hub.import("reimport-scan", &t, &bandit, &snippet);
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        assert_eq!(v["scan_type"], "Bandit Scan");
        let w = warnings(&v);
        assert!(
            w.contains(
                &"DefectDojo would reject scan_type \"Bandit\"; its name is \"Bandit Scan\""
                    .to_string()
            ),
            "{w:?}"
        );
        assert!(
            w.iter().any(|w| w.contains("no product_type_name")
                && w.contains("\"payments\"")
                && w.contains("\"Tollgate\"")),
            "{w:?}"
        );
        // The product exists now: the same call warns about the name only.
        let (s, v) = hub.import("reimport-scan", &t, &bandit, &snippet);
        assert_eq!(s, 201, "{v}");
        assert_eq!(warnings(&v).len(), 1, "{v}");

        // DefectDojo's own names: no warning.
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &bandit,
            &with(&[("scan_type", "Bandit Scan")]),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(warnings(&v), Vec::<String>::new());

        // Lower case, a format id, ZAP JSON as "ZAP Scan".
        for (scan_type, file, expect) in [
            ("bandit scan", "bandit/basic.json", "would reject scan_type"),
            (
                "zap-json",
                "zap-json/multi-site.json",
                "would reject scan_type",
            ),
            ("ZAP Scan", "zap-json/multi-site.json", "XML report only"),
            (
                "Zed Attack Proxy",
                "zap-xml/multi-site.xml",
                "its name is \"ZAP Scan\"",
            ),
        ] {
            let (s, v) = hub.import(
                "reimport-scan",
                &t,
                &fixture(file),
                &with(&[("scan_type", scan_type)]),
            );
            assert_eq!(s, 201, "{scan_type}: {v}");
            let w = warnings(&v);
            assert!(w.iter().any(|w| w.contains(expect)), "{scan_type}: {w:?}");
        }
        // A product of another type: DefectDojo refuses the product_type_name.
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &bandit,
            &[
                ("scan_type", "Bandit Scan"),
                ("product_name", "payments"),
                ("engagement_name", "python-sast"),
                ("product_type_name", "web"),
                ("auto_create_context", "true"),
            ],
        );
        assert_eq!(s, 201, "{v}");
        let w = warnings(&v);
        assert!(
            w.iter()
                .any(|w| w.contains("is in product type \"Tollgate\", not \"web\"")),
            "{w:?}"
        );
    }
}

/// `--default-product-type ""`: a new product without product_type_name is refused, as
/// DefectDojo refuses it; `tollgate upload` then sends the CI namespace as the product type.
#[test]
fn without_a_default_product_type_upload_names_one_on_the_first_run() {
    for hub in Hub::each_with("parity-first-run", &["--default-product-type", ""]) {
        let t = hub.token("ci", "import,read", None);
        let bandit = fixture("bandit/basic.json");
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &bandit,
            &[
                ("scan_type", "Bandit Scan"),
                ("product_name", "fresh"),
                ("engagement_name", "python-sast"),
                ("auto_create_context", "true"),
            ],
        );
        assert_eq!(s, 400, "{}: {v}", hub.backend);
        assert!(
            v["detail"].as_str().unwrap().contains("product_type_name"),
            "{v}"
        );

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        for k in [
            "CI_PROJECT_NAMESPACE",
            "GITHUB_REPOSITORY_OWNER",
            "GITHUB_REPOSITORY",
            "DD_PRODUCT_TYPE",
        ] {
            cmd.env_remove(k);
        }
        let out = cmd
            .env("CI_PROJECT_NAMESPACE", "acme/payments")
            .args([
                "upload",
                bandit.to_str().unwrap(),
                "--url",
                &hub.url,
                "--token",
                &t,
                "--product",
                "fresh",
                "--attempts",
                "1",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", hub.backend, stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("product_type_name=\"acme/payments\""), "{err}");
        // A first upload is an import: "N created", counted from `after`.
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("created, 0 closed") && !said.contains("? created"),
            "{said}"
        );
        let (_, products) = hub.get(&t, "/api/v2/products/?name=fresh");
        assert_eq!(products["count"], 1, "{products}");
    }
}

/// DefectDojo's "MobSF Scorecard Scan" parser reads a report_json (its `appsec` section): the hub
/// takes a report under that name too, and says how the two differ.
#[test]
fn mobsf_scorecard_scan_takes_a_report_json() {
    for hub in Hub::each("parity-mobsf-scorecard") {
        let t = hub.token("ci", "import,read", None);
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &fixture("mobsf/android-4x-complete.json"),
            &with(&[("scan_type", "MobSF Scorecard Scan")]),
        );
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        assert_eq!(v["scan_type"], "MobSF Scorecard Scan");
        assert!(
            v["statistics"]["after"]["total"]["total"].as_i64().unwrap() > 0,
            "{v}"
        );
        let w = warnings(&v);
        assert!(w.iter().any(|w| w.contains("appsec")), "{w:?}");

        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &fixture("mobsf-scorecard/scorecard.json"),
            &with(&[
                ("scan_type", "MobSF Scorecard Scan"),
                ("engagement_name", "card"),
            ]),
        );
        assert_eq!(s, 201, "{v}");
        let w = warnings(&v);
        assert!(w.iter().any(|w| w.contains("no findings")), "{w:?}");
    }
}

/// DefectDojo's answer repeats the call's settings next to `statistics`: for an import naming its
/// context, these 19 (its serializer's booleans, defaults and the fields sent); a reimport adds
/// `do_not_reactivate`.
#[test]
fn the_answer_echoes_the_settings_as_defectdojo_does() {
    const IMPORT_SETTINGS: [&str; 19] = [
        "scan_type",
        "minimum_severity",
        "active",
        "verified",
        "endpoint_to_add",
        "product_type_name",
        "product_name",
        "engagement_name",
        "auto_create_context",
        "deduplication_on_engagement",
        "lead",
        "push_to_jira",
        "deduplication_execution_mode",
        "api_scan_configuration",
        "create_finding_groups_for_all_findings",
        "apply_tags_to_findings",
        "apply_tags_to_endpoints",
        "close_old_findings",
        "close_old_findings_product_scope",
    ];
    for hub in Hub::each("parity-echo") {
        let t = hub.token("ci", "import,read", None);
        let bandit = fixture("bandit/basic.json");
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &bandit,
            &with(&[("scan_type", "Bandit Scan")]),
        );
        assert_eq!(s, 201, "{}: {v}", hub.backend);
        for k in IMPORT_SETTINGS {
            assert!(v.get(k).is_some(), "{k} missing from {v}");
        }
        assert_eq!(v["minimum_severity"], "Info");
        assert_eq!(v["active"], false, "absent booleans read as false: {v}");
        assert_eq!(v["auto_create_context"], true);
        assert_eq!(v["close_old_findings"], false);
        assert_eq!(v["create_finding_groups_for_all_findings"], true);
        assert_eq!(v["lead"], Value::Null);
        assert_eq!(v["product_name"], "shop");
        assert_eq!(v["deduplication_complete"], true);
        assert!(v.get("do_not_reactivate").is_none(), "{v}");
        assert!(v.get("scan_date").is_none(), "not sent, not echoed: {v}");

        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &bandit,
            &with(&[
                ("scan_type", "Bandit Scan"),
                ("minimum_severity", "low"),
                ("scan_date", "2024-01-02"),
                ("tags", "a,b"),
                ("active", "true"),
            ]),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["do_not_reactivate"], false);
        assert_eq!(v["close_old_findings"], true);
        assert_eq!(v["minimum_severity"], "Low");
        assert_eq!(v["scan_date"], "2024-01-02");
        assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(v["active"], true);
    }
}

/// A result the scanner marked suppressed is created as DefectDojo's SARIF reader creates one: a
/// false positive, inactive — not an open finding (and the statistics say so).
#[test]
fn a_suppressed_result_is_created_as_a_false_positive() {
    let dir = temp_dir("suppressed-sarif-files");
    let sarif = dir.join("s.sarif");
    let result = |rule: &str, file: &str, suppressed: bool| {
        let mut r = serde_json::json!({
            "ruleId": rule,
            "level": "error",
            "message": {"text": format!("{rule} in {file}")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": file},
                "region": {"startLine": 3}
            }}]
        });
        if suppressed {
            r["suppressions"] = serde_json::json!([{"kind": "inSource"}]);
        }
        r
    };
    std::fs::write(
        &sarif,
        serde_json::to_vec(&serde_json::json!({
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "demo", "rules": []}},
                "results": [result("R1", "a.py", false), result("R2", "b.py", true)]
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    for hub in Hub::each("parity-suppressed") {
        let b = hub.backend;
        let t = hub.token("ci", "import,read", None);
        let (s, v) = hub.import("import-scan", &t, &sarif, &with(&[("scan_type", "SARIF")]));
        assert_eq!(s, 201, "{b}: {v}");
        let created = &v["statistics"]["after"];
        assert_eq!(created["total"]["active"], 1, "{b}: {v}");
        assert_eq!(created["total"]["false_p"], 1, "{b}: {v}");
        let (_, page) = hub.get(&t, &format!("/api/v2/findings/?test={}", v["test"]));
        let by_rule = |rule: &str| {
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["vuln_id_from_tool"] == rule)
                .unwrap_or_else(|| panic!("{b}: no {rule}: {page}"))
                .clone()
        };
        let (open, suppressed) = (by_rule("R1"), by_rule("R2"));
        assert_eq!(open["active"], true, "{b}: {open}");
        assert_eq!(open["false_p"], false);
        assert_eq!(suppressed["active"], false, "{b}: {suppressed}");
        assert_eq!(suppressed["false_p"], true, "{b}: {suppressed}");
        // Open lists leave it out.
        let (_, active) = hub.get(
            &t,
            &format!("/api/v2/findings/?test={}&active=true", v["test"]),
        );
        assert_eq!(active["count"], 1, "{b}: {active}");
    }
}
