//! What scripts read from the hub's DefectDojo list endpoints, with DefectDojo's names and types
//! (issue "DefectDojo parity", §2): a test's type and what its imports named, a finding's
//! `found_by` as Test_Type ids, `age`, `sla_days_remaining`, `url`, `endpoints`, `updated`,
//! `mitigated_by`, and pages of up to 5000.

use crate::hub::{generic_report, Hub};
use crate::util::{corpus_dir, temp_dir};
use serde_json::Value;

#[test]
fn lists_give_defectdojos_fields_and_types() {
    let Some(corpus) = corpus_dir("lists_give_defectdojos_fields_and_types") else {
        return;
    };
    for hub in Hub::each("dd-lists") {
        let b = hub.backend;
        let t = hub.token("ci", "import,read", None);
        let context = [
            ("product_type_name", "web"),
            ("product_name", "shop"),
            ("engagement_name", "dast"),
            ("auto_create_context", "true"),
            ("scan_type", "ZAP Scan"),
        ];
        let mut first = context.to_vec();
        first.extend([
            ("version", "1.2.0"),
            ("branch_tag", "main"),
            ("commit_hash", "abc123"),
        ]);
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &corpus.join("zap-xml/dd-0_zap_sample.xml"),
            &first,
        );
        assert_eq!(s, 201, "{b}: {v}");
        let test_id = v["test_id"].as_i64().unwrap();
        // A reimport that names another branch only: DefectDojo keeps the rest on the test.
        let mut second = context.to_vec();
        second.push(("branch_tag", "release/1.2"));
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &corpus.join("zap-xml/dd-0_zap_sample.xml"),
            &second,
        );
        assert_eq!(s, 201, "{b}: {v}");

        let (s, test) = hub.get(&t, &format!("/api/v2/tests/{test_id}/"));
        assert_eq!(s, 200, "{b}: {test}");
        assert_eq!(test["version"], "1.2.0", "{b}: {test}");
        assert_eq!(test["branch_tag"], "release/1.2", "{b}: {test}");
        assert_eq!(test["commit_hash"], "abc123", "{b}: {test}");
        assert_eq!(test["build_id"], Value::Null, "{b}: {test}");
        // No test_title was given: DefectDojo's title is null (not the scan type).
        assert_eq!(test["title"], Value::Null, "{b}: {test}");
        let test_type = test["test_type"].as_i64().expect("test_type is an id");
        let (_, listed) = hub.get(&t, &format!("/api/v2/tests/?id={test_id}"));
        assert_eq!(listed["results"][0], test, "{b}: list and detail agree");

        let (s, tt) = hub.get(&t, &format!("/api/v2/test_types/{test_type}/"));
        assert_eq!(s, 200, "{b}: {tt}");
        assert_eq!(tt["name"], "ZAP Scan");
        assert_eq!(tt["dynamic_tool"], true);
        assert_eq!(tt["static_tool"], false);
        let (_, by_name) = hub.get(&t, "/api/v2/test_types/?name=ZAP%20Scan");
        assert_eq!(by_name["count"], 1, "{b}: {by_name}");
        assert_eq!(by_name["results"][0], tt);
        let (s, _) = hub.get(&t, "/api/v2/test_types/99999/");
        assert_eq!(s, 404);

        let (s, page) = hub.get(&t, &format!("/api/v2/findings/?test={test_id}&limit=100"));
        assert_eq!(s, 200, "{b}: {page}");
        let findings = page["results"].as_array().unwrap();
        assert!(!findings.is_empty());
        for f in findings {
            assert_eq!(f["found_by"], serde_json::json!([test_type]), "{b}: {f}");
            assert_eq!(f["age"], 0, "{b}: seen today: {f}");
            assert!(f["sla_days_remaining"].is_i64() || f["sla_days_remaining"].is_null());
            assert_eq!(f["endpoints"], serde_json::json!([]));
            assert_eq!(f["mitigated_by"], Value::Null);
            assert!(f["updated"].is_string(), "{b}: {f}");
            assert!(
                f["url"].as_str().is_some_and(|u| u.starts_with("http")),
                "{b}: {f}"
            );
        }
        // An SLA counts from today: the Critical/High/Medium ones have days left.
        assert!(
            findings
                .iter()
                .any(|f| f["sla_days_remaining"].as_i64().is_some_and(|d| d > 0)),
            "{b}: {page}"
        );
    }
}

#[test]
fn a_page_holds_up_to_5000_findings() {
    for hub in Hub::each("dd-page-5000") {
        let b = hub.backend;
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("dd-page-5000-files");
        let report = generic_report(&dir, "g.json", "p", 1200);
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &report,
            &[
                ("product_type_name", "web"),
                ("product_name", "shop"),
                ("engagement_name", "ci"),
                ("auto_create_context", "true"),
                ("scan_type", "Generic Findings Import"),
            ],
        );
        assert_eq!(s, 201, "{b}: {v}");
        let (s, page) = hub.get(&t, "/api/v2/findings/?limit=5000");
        assert_eq!(s, 200, "{b}");
        assert_eq!(page["count"], 1200, "{b}");
        assert_eq!(page["results"].as_array().unwrap().len(), 1200, "{b}");
        assert_eq!(page["next"], Value::Null, "{b}");
    }
}
