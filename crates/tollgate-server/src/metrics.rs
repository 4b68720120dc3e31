//! Prometheus text exposition, kept by hand: a few counters and one histogram per process
//! (each replica is scraped on its own).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the import duration histogram.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route, status) → count
    requests: BTreeMap<(String, String, u16), u64>,
    /// (kind) → (bucket counts, sum, count)
    imports: BTreeMap<String, ([u64; BUCKETS.len()], f64, u64)>,
    findings_imported: u64,
}

/// The `method` label: HTTP's own methods by name, anything a client made up as `other`, so
/// no client can add a series.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The `route` label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

impl Metrics {
    /// Counts one request. `route` must be a route pattern of the router (or [`UNMATCHED`]),
    /// never a path as sent: labels stay a bounded set.
    pub fn request(&self, method: &'static str, route: &str, status: u16) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    pub fn import(&self, kind: &str, seconds: f64, findings: u64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.findings_imported += findings;
        let e = m.imports.entry(kind.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                e.0[i] += 1;
            }
        }
        e.1 += seconds;
        e.2 += 1;
    }

    /// The exposition text; `stored` = (open, closed) findings in the database.
    pub fn render(&self, stored: Option<(i64, i64)>) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP tollgate_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE tollgate_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "tollgate_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                route.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        out.push_str("# HELP tollgate_import_duration_seconds Time to parse and store one import or reimport.\n");
        out.push_str("# TYPE tollgate_import_duration_seconds histogram\n");
        for (kind, (buckets, sum, count)) in &m.imports {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tollgate_import_duration_seconds_bucket{{kind=\"{kind}\",le=\"{b}\"}} {}",
                    buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "tollgate_import_duration_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "tollgate_import_duration_seconds_sum{{kind=\"{kind}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "tollgate_import_duration_seconds_count{{kind=\"{kind}\"}} {count}"
            );
        }
        out.push_str("# HELP tollgate_findings_received_total Findings received by imports on this replica.\n");
        out.push_str("# TYPE tollgate_findings_received_total counter\n");
        let _ = writeln!(
            out,
            "tollgate_findings_received_total {}",
            m.findings_imported
        );
        if let Some((open, closed)) = stored {
            out.push_str("# HELP tollgate_findings_stored Findings in the database, by state.\n");
            out.push_str("# TYPE tollgate_findings_stored gauge\n");
            let _ = writeln!(out, "tollgate_findings_stored{{state=\"open\"}} {open}");
            let _ = writeln!(out, "tollgate_findings_stored{{state=\"closed\"}} {closed}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.request("GET", "/healthz", 200);
        m.request("GET", "/healthz", 200);
        m.import("reimport", 0.3, 12);
        let text = m.render(Some((5, 2)));
        assert!(text.contains(
            "tollgate_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text
            .contains("tollgate_import_duration_seconds_bucket{kind=\"reimport\",le=\"0.25\"} 0"));
        assert!(text
            .contains("tollgate_import_duration_seconds_bucket{kind=\"reimport\",le=\"0.5\"} 1"));
        assert!(text.contains("tollgate_findings_received_total 12"));
        assert!(text.contains("tollgate_findings_stored{state=\"open\"} 5"));
    }
}
