//! DefectDojo API v2 JSON for products, engagements, tests, test imports, findings, list pages
//! and the import-scan / reimport-scan answer, with DefectDojo's field names (its serializers in
//! `dojo/api_v2/serializers.py`). What DefectDojo has and Tollgate does not know is left out
//! rather than invented; what Tollgate knows beyond DefectDojo sits in a `tollgate` object.
//! Instants are RFC 3339 UTC, dates `YYYY-MM-DD`.

use serde_json::{json, Map, Value};
use tollgate_model::{Category, CvssVersion, Severity};
use tollgate_store::{
    Engagement, FindingStatus, ImportMode, ImportOutcome, ImportRecord, Note, Product,
    StoredFinding, Test, TestDetails,
};

use crate::scan_types::{self, ScanType};

use super::{date, rfc3339};

/// A list page: `{count, next, previous, results}`.
pub fn page(
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Value>,
) -> Value {
    json!({"count": count, "next": next, "previous": previous, "results": results})
}

pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "description": "",
        "prod_type": p.product_type_id,
        "created": rfc3339(p.created_at),
        "platform": p.platform.as_deref().and_then(platform),
        "tags": [],
        "tollgate": {"tier": p.tier, "platform": p.platform},
    })
}

/// DefectDojo's platform choices for Tollgate's free-text platform (`android` → `mobile`).
fn platform(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "android" | "ios" | "mobile" => Some("mobile"),
        "web" => Some("web"),
        "api" | "web service" => Some("web service"),
        "desktop" => Some("desktop"),
        "iot" => Some("iot"),
        _ => None,
    }
}

/// An engagement is a scan lane fed by CI: always in progress.
pub fn engagement(e: &Engagement) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "product": e.product_id,
        "created": rfc3339(e.created_at),
        "target_start": date(e.created_at),
        "status": "In Progress",
        "engagement_type": "CI/CD",
        "active": true,
        "tags": [],
    })
}

/// DefectDojo's `Test_Type` (`GET /api/v2/test_types/`): ids are [`scan_types::test_type_id`].
pub fn test_type(id: i64, t: &ScanType) -> Value {
    json!({
        "id": id,
        "name": t.name,
        "static_tool": !t.is_dynamic(),
        "dynamic_tool": t.is_dynamic(),
        "active": true,
    })
}

/// A test; `details` adds what its imports named (DefectDojo keeps the latest on the test).
pub fn test(t: &Test, details: Option<&TestDetails>) -> Value {
    let named =
        |pick: fn(&TestDetails) -> &Option<String>| json!(details.and_then(|d| pick(d).as_deref()));
    json!({
        "id": t.id,
        "engagement": t.engagement_id,
        // DefectDojo's title is null unless the import named the test.
        "title": t.titled.then_some(t.title.as_str()),
        "scan_type": t.scan_type,
        "test_type": scan_types::test_type_id(&t.scan_type),
        "test_type_name": t.scan_type,
        "version": named(|d| &d.version),
        "branch_tag": named(|d| &d.branch_tag),
        "commit_hash": named(|d| &d.commit_hash),
        "build_id": named(|d| &d.build_id),
        "created": rfc3339(t.created_at),
        "updated": rfc3339(t.updated_at),
        "target_start": rfc3339(t.created_at),
        "target_end": rfc3339(t.updated_at),
        "tags": [],
        "tollgate": {"product_id": t.product_id, "last_import_id": t.last_import_id},
    })
}

/// One row of a test's import history (DefectDojo's `Test_Import`).
pub fn test_import(r: &ImportRecord) -> Value {
    json!({
        "id": r.id,
        "test": r.test_id,
        "type": r.kind,
        "created": rfc3339(r.created_at),
        // an import record is never changed after the import
        "modified": rfc3339(r.created_at),
        "version": r.version,
        "branch_tag": r.branch_tag,
        "commit_hash": r.commit_hash,
        "build_id": r.build_id,
        "import_settings": {"scan_date": r.scan_date, "tags": r.tags},
        "tollgate": {
            "created": r.created,
            "closed": r.closed,
            "reactivated": r.reactivated,
            "untouched": r.untouched,
            "actor": r.actor,
        },
    })
}

/// DefectDojo's `numerical_severity`: S0 (Critical) … S4 (Info).
pub fn numerical_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "S0",
        Severity::High => "S1",
        Severity::Medium => "S2",
        Severity::Low => "S3",
        Severity::Info => "S4",
    }
}

/// DefectDojo's `display_status` (its `Finding.status()`).
pub fn display_status(s: &FindingStatus) -> String {
    let mut words = vec![if s.active { "Active" } else { "Inactive" }];
    if s.verified {
        words.push("Verified");
    }
    if s.is_mitigated {
        words.push("Mitigated");
    }
    if s.false_p {
        words.push("False Positive");
    }
    if s.out_of_scope {
        words.push("Out Of Scope");
    }
    if s.duplicate {
        words.push("Duplicate");
    }
    if s.risk_accepted {
        words.push("Risk Accepted");
    }
    words.join(", ")
}

/// A finding with DefectDojo's field names. `notes` are the finding's notes (others are ignored).
/// What a finding's DefectDojo form needs beyond the stored finding.
#[derive(Debug, Clone, Copy)]
pub struct FindingContext {
    /// The `Test_Type` id of its test's scan type (DefectDojo's `found_by`).
    pub test_type: Option<i64>,
    /// Now, in Unix seconds: `age` and `sla_days_remaining` count days up to it.
    pub now: i64,
}

/// Days between two instants' UTC dates.
fn days_between(from: i64, to: i64) -> i64 {
    to.div_euclid(86_400) - from.div_euclid(86_400)
}

pub fn finding(f: &StoredFinding, notes: &[Note], ctx: &FindingContext) -> Value {
    let m = &f.finding;
    let s = &f.status;
    let l = &m.location;
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("id", json!(f.id));
    put("test", json!(f.test_id));
    put("title", json!(m.title));
    put("severity", json!(m.severity.as_str()));
    put("numerical_severity", json!(numerical_severity(m.severity)));
    put("description", json!(m.description.as_deref().unwrap_or("")));
    put("mitigation", json!(m.recommendation));
    put(
        "references",
        json!((!m.references.is_empty()).then(|| m.references.join("\n"))),
    );
    // DefectDojo's `date`: the scan_date of the import that created the finding, else the day
    // it was first seen.
    let found_on = f
        .scan_date
        .as_deref()
        .and_then(super::parse_date)
        .unwrap_or(f.first_seen);
    put("date", json!(date(found_on)));
    put("sla_expiration_date", json!(f.sla_due));
    // DefectDojo counts both up to the day it was mitigated, else up to today.
    let until = match (s.is_mitigated, s.mitigated_at) {
        (true, Some(at)) => at,
        _ => ctx.now,
    };
    put("age", json!(days_between(found_on, until).max(0)));
    put(
        "sla_days_remaining",
        json!(f
            .sla_due
            .as_deref()
            .and_then(super::parse_date)
            .map(|due| days_between(until, due))),
    );
    put("active", json!(s.active));
    put("verified", json!(s.verified));
    put("false_p", json!(s.false_p));
    put("duplicate", json!(s.duplicate));
    put("out_of_scope", json!(s.out_of_scope));
    put("risk_accepted", json!(s.risk_accepted));
    put("under_review", json!(false));
    put("is_mitigated", json!(s.is_mitigated));
    put("mitigated", json!(s.mitigated_at.map(rfc3339)));
    // DefectDojo gives a user id; Tollgate has tokens, not users: no id to give (the token's
    // name is `tollgate.mitigated_by`).
    put("mitigated_by", Value::Null);
    put("display_status", json!(display_status(s)));
    put("hash_code", json!(m.fingerprint.as_str()));
    // Tollgate's fingerprint is what tracks the finding across scans, DefectDojo's meaning of it.
    put("unique_id_from_tool", json!(m.fingerprint.as_str()));
    put("vuln_id_from_tool", json!(m.rule_id));
    put("file_path", json!(l.file));
    put("line", json!(l.start_line));
    put(
        "component_name",
        json!(l
            .package
            .as_ref()
            .map(|p| p.name.as_str())
            .or(l.component.as_deref())),
    );
    put(
        "component_version",
        json!(l
            .package
            .as_ref()
            .and_then(|p| p.installed_version.as_deref())),
    );
    let fix_version = l.package.as_ref().and_then(|p| p.fixed_version.as_deref());
    put("fix_available", json!(fix_version.map(|_| true)));
    put("fix_version", json!(fix_version));
    put("param", json!(l.parameter));
    put("cwe", json!(m.cwe.first().copied().unwrap_or(0)));
    put("cve", json!(m.vulnerability_ids.first()));
    put(
        "vulnerability_ids",
        json!(m
            .vulnerability_ids
            .iter()
            .map(|v| json!({"vulnerability_id": v}))
            .collect::<Vec<_>>()),
    );
    let best = |versions: &[CvssVersion]| {
        m.cvss
            .iter()
            .filter(|c| versions.contains(&c.version))
            .max_by(|a, b| a.score.unwrap_or(-1.0).total_cmp(&b.score.unwrap_or(-1.0)))
    };
    let v3 = best(&[CvssVersion::V30, CvssVersion::V31]);
    put("cvssv3", json!(v3.and_then(|c| c.vector.as_deref())));
    put("cvssv3_score", json!(v3.and_then(|c| c.score)));
    let v4 = best(&[CvssVersion::V40]);
    put("cvssv4", json!(v4.and_then(|c| c.vector.as_deref())));
    put("cvssv4_score", json!(v4.and_then(|c| c.score)));
    put("static_finding", json!(m.category != Category::Dast));
    put("dynamic_finding", json!(m.category == Category::Dast));
    // Test_Type ids, as DefectDojo (`GET /api/v2/test_types/{id}/` names them).
    put(
        "found_by",
        json!(ctx.test_type.into_iter().collect::<Vec<_>>()),
    );
    put("url", json!(l.url));
    // The hub keeps no Endpoint objects: a DAST finding's URL is `url`.
    put("endpoints", json!([]));
    put("tags", json!(m.tags));
    put(
        "notes",
        Value::Array(
            notes
                .iter()
                .filter(|n| n.finding_id == f.id)
                .map(note)
                .collect(),
        ),
    );
    put("created", json!(rfc3339(f.first_seen)));
    put("last_status_update", json!(rfc3339(f.updated_at)));
    put("updated", json!(rfc3339(f.updated_at)));
    put(
        "tollgate",
        json!({
            "fingerprint": m.fingerprint.as_str(),
            "scanner": m.scanner,
            "rule_id": m.rule_id,
            "category": m.category.as_str(),
            "location": m.location,
            "product_id": f.product_id,
            "engagement_id": f.engagement_id,
            "is_new": f.is_new,
            "is_open": s.is_open(),
            "closed_as": s.closed_as.map(|c| c.as_str()),
            "mitigated_by": s.mitigated_by,
            "permanently_closed": s.permanently_closed,
            "priority": s.priority.map(|p| p.as_str()),
            "risk_accepted_until": s.risk_accepted_until,
            "first_seen": rfc3339(f.first_seen),
            "last_seen": rfc3339(f.last_seen),
        }),
    );
    Value::Object(o)
}

/// A note as DefectDojo's NoteSerializer shows it (the author is a token name, not a user).
pub fn note(n: &Note) -> Value {
    json!({
        "id": n.id,
        "author": {"username": n.author, "first_name": "", "last_name": ""},
        "editor": null,
        "entry": n.text,
        "date": rfc3339(n.created_at),
        "private": false,
        "edited": false,
        "note_type": null,
        "history": [],
        "tollgate": {"kind": n.kind},
    })
}

/// The 201 body of `import-scan` / `reimport-scan`: DefectDojo's ids and statistics (`after`
/// only for an import; `before`, `delta` and `after` for a reimport).
///
/// `warnings` says where a real DefectDojo would have answered otherwise (a loose scan_type name,
/// a report format its parser does not read, a product type it would have asked for).
///
/// `echo` holds the call's settings as DefectDojo repeats them (`scan_type` is the canonical name).
pub fn import_response(
    o: &ImportOutcome,
    mode: ImportMode,
    echo: serde_json::Map<String, Value>,
    warnings: &[String],
) -> Value {
    let mut out = echo;
    let answer = json!({
        "test": o.test_id,
        "test_id": o.test_id,
        "engagement": o.engagement_id,
        "engagement_id": o.engagement_id,
        "product_id": o.product_id,
        "product_type_id": o.product_type_id,
        "scan_type": o.scan_type,
        "test_title": o.test_title,
        "statistics": o.statistics,
        "tollgate": {
            "import_id": o.import_id,
            "mode": match mode {
                ImportMode::Import => "import",
                ImportMode::Reimport => "reimport",
            },
            "below_minimum_severity": o.below_minimum_severity,
            "duplicates_in_report": o.duplicates_in_report,
            "not_reactivated": o.not_reactivated,
            "warnings": warnings,
        },
        // The hub deduplicates within the call: nothing is left to do in the background.
        "deduplication_complete": true,
    });
    if let Value::Object(fields) = answer {
        out.extend(fields);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::{Cvss, Finding, FingerprintBuilder, Location, Package, Scanner, Tag};
    use tollgate_store::{
        ClosedAs, ImportDelta, ImportStatistics, NoteKind, Priority, SeverityCounts,
    };

    // 2026-01-02T03:04:05Z
    const T: i64 = 1_767_323_045;

    fn sample() -> StoredFinding {
        let mut m = Finding::new(
            Scanner::new("trivy", Some("0.50.0".into())),
            "CVE-2024-0001",
            "openssl: buffer overflow",
        );
        m.severity = Severity::High;
        m.category = Category::Container;
        m.fingerprint = FingerprintBuilder::new("test").part("a").finish();
        m.description = Some("A flaw.".into());
        m.recommendation = Some("Upgrade.".into());
        m.add_reference("https://nvd.nist.gov/vuln/detail/CVE-2024-0001");
        m.add_reference("https://example.org/advisory");
        m.add_cwe(120);
        m.add_cwe(787);
        m.add_vulnerability_id("CVE-2024-0001");
        m.add_vulnerability_id("GHSA-xxxx-yyyy-zzzz");
        m.cvss.push(
            Cvss::new(
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                None,
                None,
            )
            .unwrap(),
        );
        m.tag(Tag::VulnerableDependency);
        m.location = Location {
            file: Some("usr/lib/libssl.so.3".into()),
            start_line: Some(3),
            package: Some(Package {
                name: "openssl".into(),
                installed_version: Some("3.0.1".into()),
                fixed_version: Some("3.0.2".into()),
                ..Package::default()
            }),
            target: Some("shop:1.2".into()),
            ..Location::default()
        };
        StoredFinding {
            id: 42,
            product_id: 7,
            engagement_id: 3,
            test_id: 11,
            finding: m,
            status: FindingStatus {
                active: true,
                verified: true,
                ..FindingStatus::default()
            },
            is_new: true,
            triaged: false,
            first_seen: T,
            last_seen: T + 86_400,
            updated_at: T + 60,
            sla_due: Some("2026-02-01".into()),
            scan_date: None,
        }
    }

    #[test]
    fn finding_uses_defectdojo_names() {
        let note = Note {
            id: 9,
            finding_id: 42,
            author: "ci-shop".into(),
            text: "seen".into(),
            kind: NoteKind::Question,
            created_at: T,
        };
        let stray = Note {
            finding_id: 1,
            ..note.clone()
        };
        // 2026-01-12: ten days after it was first seen, twenty before its SLA date.
        let ctx = FindingContext {
            test_type: Some(7),
            now: T + 10 * 86_400,
        };
        let v = finding(&sample(), &[note, stray], &ctx);
        assert_eq!(v["id"], 42);
        assert_eq!(v["test"], 11);
        assert_eq!(v["title"], "openssl: buffer overflow");
        assert_eq!(v["severity"], "High");
        assert_eq!(v["numerical_severity"], "S1");
        assert_eq!(v["description"], "A flaw.");
        assert_eq!(v["mitigation"], "Upgrade.");
        assert_eq!(
            v["references"],
            "https://nvd.nist.gov/vuln/detail/CVE-2024-0001\nhttps://example.org/advisory"
        );
        assert_eq!(v["date"], "2026-01-02");
        assert_eq!(v["created"], "2026-01-02T03:04:05Z");
        assert_eq!(v["last_status_update"], "2026-01-02T03:05:05Z");
        assert_eq!(v["sla_expiration_date"], "2026-02-01");
        assert_eq!(v["active"], true);
        assert_eq!(v["verified"], true);
        for k in [
            "false_p",
            "duplicate",
            "out_of_scope",
            "risk_accepted",
            "is_mitigated",
        ] {
            assert_eq!(v[k], false, "{k}");
        }
        assert_eq!(v["mitigated"], Value::Null);
        assert_eq!(v["mitigated_by"], Value::Null);
        assert_eq!(v["display_status"], "Active, Verified");
        assert_eq!(v["hash_code"], sample().finding.fingerprint.as_str());
        assert_eq!(v["unique_id_from_tool"], v["hash_code"]);
        assert_eq!(v["vuln_id_from_tool"], "CVE-2024-0001");
        assert_eq!(v["file_path"], "usr/lib/libssl.so.3");
        assert_eq!(v["line"], 3);
        assert_eq!(v["component_name"], "openssl");
        assert_eq!(v["component_version"], "3.0.1");
        assert_eq!(v["fix_available"], true);
        assert_eq!(v["fix_version"], "3.0.2");
        assert_eq!(v["cwe"], 120);
        assert_eq!(v["cve"], "CVE-2024-0001");
        assert_eq!(
            v["vulnerability_ids"],
            json!([{"vulnerability_id": "CVE-2024-0001"}, {"vulnerability_id": "GHSA-xxxx-yyyy-zzzz"}])
        );
        assert_eq!(v["cvssv3"], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        assert_eq!(v["cvssv3_score"], 9.8);
        assert_eq!(v["cvssv4"], Value::Null);
        assert_eq!(v["static_finding"], true);
        assert_eq!(v["dynamic_finding"], false);
        assert_eq!(v["found_by"], json!([7]));
        assert_eq!(v["age"], 10);
        assert_eq!(v["sla_days_remaining"], 20);
        assert_eq!(v["updated"], "2026-01-02T03:05:05Z");
        assert_eq!(v["url"], Value::Null);
        assert_eq!(v["endpoints"], json!([]));
        assert_eq!(v["tags"], json!(["vulnerable-dependency"]));
        let notes = v["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["entry"], "seen");
        assert_eq!(notes[0]["author"]["username"], "ci-shop");
        assert_eq!(notes[0]["date"], "2026-01-02T03:04:05Z");
        assert_eq!(notes[0]["tollgate"]["kind"], "question");
        let t = &v["tollgate"];
        assert_eq!(t["product_id"], 7);
        assert_eq!(t["engagement_id"], 3);
        assert_eq!(t["is_new"], true);
        assert_eq!(t["is_open"], true);
        assert_eq!(t["location"]["target"], "shop:1.2");
    }

    #[test]
    fn finding_lifecycle_fields() {
        let mut f = sample();
        f.finding.severity = Severity::Info;
        f.finding.cwe.clear();
        f.finding.vulnerability_ids.clear();
        f.finding.references.clear();
        f.finding.category = Category::Dast;
        f.finding.location = Location {
            url: Some("https://shop.example/".into()),
            parameter: Some("q".into()),
            component: Some("search".into()),
            ..Location::default()
        };
        f.status.active = false;
        f.status.verified = false;
        f.status.is_mitigated = true;
        f.status.mitigated_at = Some(T + 7200);
        f.status.mitigated_by = Some("ci-shop".into());
        f.status.closed_as = Some(ClosedAs::ClosedWontFix);
        f.status.priority = Some(Priority::P2);
        // Mitigated two hours after it was seen: age and SLA count to that day, not to now.
        let v = finding(
            &f,
            &[],
            &FindingContext {
                test_type: None,
                now: T + 100 * 86_400,
            },
        );
        assert_eq!(v["severity"], "Info");
        assert_eq!(v["numerical_severity"], "S4");
        assert_eq!(v["cwe"], 0);
        assert_eq!(v["cve"], Value::Null);
        assert_eq!(v["vulnerability_ids"], json!([]));
        assert_eq!(v["references"], Value::Null);
        assert_eq!(v["is_mitigated"], true);
        assert_eq!(v["mitigated"], "2026-01-02T05:04:05Z");
        // A user id in DefectDojo; the hub has token names only, kept beside.
        assert_eq!(v["mitigated_by"], Value::Null);
        assert_eq!(v["tollgate"]["mitigated_by"], "ci-shop");
        assert_eq!(v["age"], 0);
        assert_eq!(v["sla_days_remaining"], 30);
        assert_eq!(v["found_by"], json!([]));
        assert_eq!(v["url"], "https://shop.example/");
        assert_eq!(v["display_status"], "Inactive, Mitigated");
        assert_eq!(v["static_finding"], false);
        assert_eq!(v["dynamic_finding"], true);
        assert_eq!(v["param"], "q");
        assert_eq!(v["component_name"], "search");
        assert_eq!(v["fix_available"], Value::Null);
        assert_eq!(v["tollgate"]["closed_as"], "CLOSED_WONT_FIX");
        assert_eq!(v["tollgate"]["priority"], "P2");
        assert_eq!(v["tollgate"]["is_open"], false);
    }

    #[test]
    fn numerical_severities() {
        let got: Vec<&str> = Severity::ALL
            .iter()
            .map(|s| numerical_severity(*s))
            .collect();
        assert_eq!(got, ["S0", "S1", "S2", "S3", "S4"]);
    }

    #[test]
    fn product_engagement_test() {
        let p = Product {
            id: 1,
            product_type_id: 2,
            name: "shop".into(),
            tier: Some("tier-1".into()),
            platform: Some("Android".into()),
            created_at: T,
        };
        let v = product(&p);
        assert_eq!(v["id"], 1);
        assert_eq!(v["name"], "shop");
        assert_eq!(v["prod_type"], 2);
        assert_eq!(v["created"], "2026-01-02T03:04:05Z");
        assert_eq!(v["platform"], "mobile");
        assert_eq!(v["tollgate"]["tier"], "tier-1");
        assert_eq!(v["tollgate"]["platform"], "Android");
        let v = product(&Product {
            platform: Some("mainframe".into()),
            tier: None,
            ..p
        });
        assert_eq!(v["platform"], Value::Null);

        let e = Engagement {
            id: 3,
            product_id: 1,
            name: "mobile-sast".into(),
            created_at: T,
        };
        let v = engagement(&e);
        assert_eq!(v["id"], 3);
        assert_eq!(v["name"], "mobile-sast");
        assert_eq!(v["product"], 1);
        assert_eq!(v["target_start"], "2026-01-02");
        assert_eq!(v["engagement_type"], "CI/CD");

        let t = Test {
            id: 11,
            engagement_id: 3,
            product_id: 1,
            title: "zap-main".into(),
            titled: true,
            scan_type: "ZAP Scan".into(),
            created_at: T,
            updated_at: T + 86_400,
            last_import_id: Some(5),
        };
        let details = TestDetails {
            test_id: 11,
            scan_type: "ZAP Scan".into(),
            version: Some("1.2.0".into()),
            commit_hash: Some("abc123".into()),
            ..TestDetails::default()
        };
        let v = test(&t, Some(&details));
        assert_eq!(
            v["test_type"],
            crate::scan_types::test_type_id("ZAP Scan").unwrap()
        );
        assert_eq!(v["version"], "1.2.0");
        assert_eq!(v["commit_hash"], "abc123");
        assert_eq!(v["branch_tag"], Value::Null);
        assert_eq!(v["id"], 11);
        assert_eq!(v["engagement"], 3);
        assert_eq!(v["title"], "zap-main");
        let untitled = test(
            &Test {
                titled: false,
                ..t.clone()
            },
            None,
        );
        assert_eq!(untitled["title"], Value::Null);
        assert_eq!(untitled["test_type"], v["test_type"]);
        assert_eq!(v["scan_type"], "ZAP Scan");
        assert_eq!(v["test_type_name"], "ZAP Scan");
        assert_eq!(v["updated"], "2026-01-03T03:04:05Z");
        assert_eq!(v["tollgate"]["last_import_id"], 5);
    }

    #[test]
    fn test_import_row() {
        let r = ImportRecord {
            id: 5,
            test_id: 11,
            kind: "reimport".into(),
            created_at: T,
            scan_date: Some("2026-01-01".into()),
            created: 1,
            closed: 2,
            reactivated: 0,
            untouched: 4,
            version: Some("1.2.3".into()),
            branch_tag: Some("main".into()),
            commit_hash: Some("abc123".into()),
            build_id: None,
            tags: vec!["nightly".into()],
            actor: Some("ci-shop".into()),
        };
        let v = test_import(&r);
        assert_eq!(v["id"], 5);
        assert_eq!(v["test"], 11);
        assert_eq!(v["type"], "reimport");
        assert_eq!(v["created"], "2026-01-02T03:04:05Z");
        assert_eq!(v["version"], "1.2.3");
        assert_eq!(v["branch_tag"], "main");
        assert_eq!(v["commit_hash"], "abc123");
        assert_eq!(v["build_id"], Value::Null);
        assert_eq!(v["import_settings"]["scan_date"], "2026-01-01");
        assert_eq!(v["import_settings"]["tags"], json!(["nightly"]));
        assert_eq!(
            v["tollgate"],
            json!({"created": 1, "closed": 2, "reactivated": 0, "untouched": 4, "actor": "ci-shop"})
        );
    }

    #[test]
    fn list_page() {
        let v = page(
            3,
            Some("https://hub/api/v2/tests/?limit=1&offset=2".into()),
            None,
            vec![json!({"id": 1})],
        );
        assert_eq!(
            v,
            json!({
                "count": 3,
                "next": "https://hub/api/v2/tests/?limit=1&offset=2",
                "previous": null,
                "results": [{"id": 1}],
            })
        );
    }

    fn outcome(statistics: ImportStatistics) -> ImportOutcome {
        ImportOutcome {
            import_id: 5,
            product_type_id: 1,
            product_id: 2,
            engagement_id: 3,
            test_id: 4,
            test_title: "zap-main".into(),
            scan_type: "ZAP Scan".into(),
            statistics,
            below_minimum_severity: 6,
            duplicates_in_report: 1,
            not_reactivated: 2,
            warnings: Vec::new(),
        }
    }

    const STATUS_KEYS: [&str; 8] = [
        "active",
        "verified",
        "duplicate",
        "false_p",
        "out_of_scope",
        "is_mitigated",
        "risk_accepted",
        "total",
    ];
    const SEVERITY_KEYS: [&str; 6] = ["info", "low", "medium", "high", "critical", "total"];

    fn assert_severity_counts(v: &Value, what: &str) {
        let o = v
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not an object"));
        assert_eq!(o.len(), SEVERITY_KEYS.len(), "{what}");
        for s in SEVERITY_KEYS {
            let inner = o[s].as_object().unwrap();
            assert_eq!(inner.len(), STATUS_KEYS.len(), "{what}.{s}");
            for k in STATUS_KEYS {
                assert!(inner[k].is_i64(), "{what}.{s}.{k}");
            }
        }
    }

    #[test]
    fn import_answers_with_after_only() {
        let mut after = SeverityCounts::default();
        let open = FindingStatus {
            active: true,
            ..FindingStatus::default()
        };
        after.add(Severity::High, &open);
        after.add(Severity::Info, &open);
        let v = import_response(
            &outcome(ImportStatistics {
                before: None,
                delta: None,
                after,
            }),
            ImportMode::Import,
            serde_json::Map::new(),
            &["DefectDojo would reject scan_type \"zap\"; its name is \"ZAP Scan\"".into()],
        );
        assert_eq!(
            v["tollgate"]["warnings"],
            json!(["DefectDojo would reject scan_type \"zap\"; its name is \"ZAP Scan\""])
        );
        assert_eq!(v["tollgate"]["not_reactivated"], 2);
        assert_eq!(v["test"], 4);
        assert_eq!(v["test_id"], 4);
        assert_eq!(v["engagement"], 3);
        assert_eq!(v["engagement_id"], 3);
        assert_eq!(v["product_id"], 2);
        assert_eq!(v["product_type_id"], 1);
        assert_eq!(v["scan_type"], "ZAP Scan");
        assert_eq!(v["test_title"], "zap-main");
        let stats = v["statistics"].as_object().unwrap();
        assert_eq!(stats.keys().collect::<Vec<_>>(), ["after"]);
        assert_severity_counts(&stats["after"], "after");
        assert_eq!(stats["after"]["high"]["active"], 1);
        assert_eq!(stats["after"]["total"]["total"], 2);
        assert_eq!(v["tollgate"]["mode"], "import");
        assert_eq!(v["tollgate"]["below_minimum_severity"], 6);
    }

    #[test]
    fn reimport_answers_with_before_delta_after() {
        let mut delta = ImportDelta::default();
        let closed = FindingStatus {
            is_mitigated: true,
            ..FindingStatus::default()
        };
        delta.closed.add(Severity::Medium, &closed);
        let v = import_response(
            &outcome(ImportStatistics {
                before: Some(SeverityCounts::default()),
                delta: Some(delta),
                after: SeverityCounts::default(),
            }),
            ImportMode::Reimport,
            serde_json::Map::new(),
            &[],
        );
        assert_eq!(v["tollgate"]["warnings"], json!([]));
        let stats = &v["statistics"];
        assert_severity_counts(&stats["before"], "before");
        assert_severity_counts(&stats["after"], "after");
        let d = stats["delta"].as_object().unwrap();
        let mut keys: Vec<&String> = d.keys().collect();
        keys.sort();
        assert_eq!(keys, ["closed", "created", "reactivated", "untouched"]);
        for k in keys {
            assert_severity_counts(&d[k], k);
        }
        assert_eq!(d["closed"]["medium"]["is_mitigated"], 1);
        assert_eq!(d["closed"]["total"]["total"], 1);
        assert_eq!(v["tollgate"]["mode"], "reimport");
    }
}
