//! JSON shapes the hub returns, built from store types (pure functions, no I/O).
//!
//! `defectdojo` speaks DefectDojo API v2 (docs/hub-api.md), `security_finding` the Results API
//! shaped like Data Theorem's (docs/results-api.md). Instants are RFC 3339 in UTC, dates
//! `YYYY-MM-DD`.

pub mod defectdojo;
pub mod security_finding;

pub use crate::time::{date, parse_date, rfc3339};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const OPENAPI: &str = include_str!("../../openapi.json");

    #[test]
    fn instants_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-01-02T03:04:05Z, computed by hand: 20455 days + 3h 4m 5s
        assert_eq!(
            rfc3339(20_455 * 86_400 + 3 * 3600 + 4 * 60 + 5),
            "2026-01-02T03:04:05Z"
        );
        // leap day and the day after it
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(951_868_800), "2000-03-01");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    /// The paths `tollgate serve` implements, with the methods each must document.
    const PATHS: &[(&str, &[&str])] = &[
        ("/api/v2/import-scan/", &["post"]),
        ("/api/v2/reimport-scan/", &["post"]),
        ("/api/v2/products/", &["get"]),
        ("/api/v2/products/{id}/", &["get", "patch"]),
        ("/api/v2/engagements/", &["get"]),
        ("/api/v2/engagements/{id}/", &["get"]),
        ("/api/v2/tests/", &["get"]),
        ("/api/v2/tests/{id}/", &["get"]),
        ("/api/v2/test_imports/", &["get"]),
        ("/api/v2/test_types/", &["get"]),
        ("/api/v2/test_types/{id}/", &["get"]),
        ("/api/v2/findings/", &["get"]),
        ("/api/v2/findings/{id}/", &["get"]),
        ("/api/v2/tollgate/baseline/", &["get"]),
        ("/api/v2/tollgate/gate-runs/", &["post"]),
        (
            "/apis/mobile_security/results/v2/security_findings",
            &["get"],
        ),
        (
            "/apis/mobile_security/results/v2/security_findings/{id}",
            &["get", "patch"],
        ),
        (
            "/apis/mobile_security/results/v2/security_findings/{id}/close",
            &["post"],
        ),
        (
            "/apis/mobile_security/results/v2/security_findings/{id}/notes",
            &["post"],
        ),
        ("/healthz", &["get"]),
        ("/metrics", &["get"]),
        ("/api/openapi.json", &["get"]),
        ("/", &["get"]),
        ("/ui/login", &["get", "post"]),
        ("/ui/logout", &["get", "post"]),
        ("/ui/products", &["get"]),
        ("/ui/products/{id}", &["get"]),
        ("/ui/engagements/{id}", &["get"]),
        ("/ui/tests/{id}", &["get"]),
        ("/ui/gate-runs", &["get"]),
        ("/ui/gate-runs/{id}", &["get"]),
        ("/ui/risk-acceptances", &["get"]),
        ("/ui/metrics", &["get"]),
        ("/ui/findings", &["get"]),
        ("/ui/findings.csv", &["get"]),
        ("/ui/findings.json", &["get"]),
        ("/ui/findings/bulk", &["post"]),
        ("/ui/findings/{id}", &["get"]),
        ("/ui/findings/{id}/notes", &["post"]),
        ("/ui/findings/{id}/close", &["post"]),
        ("/ui/findings/{id}/priority", &["post"]),
        ("/ui/static/tollgate.css", &["get"]),
        ("/api/v2/tollgate/promotions/", &["post"]),
        ("/api/v2/tollgate/metrics/", &["get"]),
        ("/api/v2/tollgate/metrics/promoted-scanned/", &["get"]),
        ("/api/v2/tollgate/metrics/promoted-scanned.svg", &["get"]),
        ("/api/v2/tollgate/metrics/scans-imported/", &["get"]),
        ("/api/v2/tollgate/metrics/scans-imported.svg", &["get"]),
        (
            "/api/v2/tollgate/metrics/critical-mobile-by-tier/",
            &["get"],
        ),
        (
            "/api/v2/tollgate/metrics/critical-mobile-by-tier.svg",
            &["get"],
        ),
        ("/api/v2/tollgate/metrics/open-age/", &["get"]),
        ("/api/v2/tollgate/metrics/open-age.svg", &["get"]),
        ("/api/v2/tollgate/metrics/blocking-by-quarter/", &["get"]),
        ("/api/v2/tollgate/metrics/blocking-by-quarter.svg", &["get"]),
        ("/api/v2/tollgate/metrics/remediation/", &["get"]),
        ("/api/v2/tollgate/metrics/remediation.svg", &["get"]),
        ("/api/v2/tollgate/metrics/open-findings/", &["get"]),
        ("/api/v2/tollgate/metrics/open-findings.svg", &["get"]),
        ("/api/v2/tollgate/metrics/gate-outcomes/", &["get"]),
        ("/api/v2/tollgate/metrics/gate-outcomes.svg", &["get"]),
    ];

    #[test]
    fn openapi_documents_every_path() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().expect("paths");
        for (path, methods) in PATHS {
            let item = paths
                .get(*path)
                .unwrap_or_else(|| panic!("openapi.json lacks {path}"));
            for m in *methods {
                let op = &item[*m];
                assert!(
                    op.is_object(),
                    "openapi.json lacks {} {path}",
                    m.to_uppercase()
                );
                assert!(
                    op["responses"].is_object(),
                    "{} {path} has no responses",
                    m.to_uppercase()
                );
            }
        }
        assert_eq!(
            paths.len(),
            PATHS.len(),
            "openapi.json documents paths the server does not serve: {:?}",
            paths
                .keys()
                .filter(|k| !PATHS.iter().any(|(p, _)| p == k))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn openapi_refs_resolve() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{r}: only local references"));
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => collect_refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }
}
