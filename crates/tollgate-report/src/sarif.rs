//! SARIF 2.1.0 for GitHub code scanning: one run, one rule per scanner rule id, waived findings
//! and scanner-suppressed findings carried as suppressions.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};
use tollgate_model::Severity;
use tollgate_policy::Disposition;

use crate::GateRun;

pub fn write_sarif(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut rules: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    let mut results = Vec::with_capacity(run.findings.len());
    for (f, e) in run.findings.iter().zip(&run.decision.evaluated) {
        let rule_key = format!("{}/{}", f.scanner.name, f.rule_id);
        let next = rules.len();
        let rule_index = rules
            .entry(rule_key.clone())
            .or_insert_with(|| {
                let mut props = json!({"tags": f.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()});
                if let Some(score) = f.cvss_score() {
                    props["security-severity"] = json!(format!("{score:.1}"));
                } else {
                    props["security-severity"] = json!(match f.severity {
                        Severity::Critical => "9.5",
                        Severity::High => "8.0",
                        Severity::Medium => "5.5",
                        Severity::Low => "2.0",
                        Severity::Info => "0.0",
                    });
                }
                (
                    next,
                    json!({
                        "id": rule_key,
                        "name": f.rule_id,
                        "shortDescription": {"text": f.title},
                        "help": {"text": f.recommendation.clone().unwrap_or_else(|| f.title.clone())},
                        "properties": props,
                    }),
                )
            })
            .0;
        let level = match e.disposition {
            Disposition::Block => "error",
            Disposition::Warn => "warning",
            _ => "note",
        };
        let mut result = json!({
            "ruleId": rule_key,
            "ruleIndex": rule_index,
            "level": level,
            "message": {"text": match &f.description {
                Some(d) if !d.trim().is_empty() => format!("{}: {}", f.title, d.trim()),
                _ => f.title.clone(),
            }},
            "partialFingerprints": {"tollgate/v1": f.fingerprint.as_str()},
            "properties": {"tollgate-disposition": e.disposition.as_str(), "severity": f.severity.as_str()},
        });
        let uri = f
            .location
            .file
            .clone()
            .or_else(|| f.source.file.clone())
            .unwrap_or_else(|| "unknown".to_string());
        let mut region = json!({});
        if let Some(l) = f.location.start_line.filter(|l| *l > 0) {
            region["startLine"] = json!(l);
            if let Some(end) = f.location.end_line.filter(|e| *e >= l) {
                region["endLine"] = json!(end);
            }
        }
        let mut physical = json!({"artifactLocation": {"uri": uri}});
        if region.as_object().is_some_and(|o| !o.is_empty()) {
            physical["region"] = region;
        }
        result["locations"] = json!([{"physicalLocation": physical}]);
        match e.disposition {
            Disposition::Waived => {
                let w = e.waiver.and_then(|w| run.policy.waivers.get(w));
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": w.map(|w| format!(
                        "{} (owner {}, expires {})",
                        w.spec.reason.as_deref().unwrap_or(""),
                        w.spec.owner.as_deref().unwrap_or(""),
                        w.expires
                    )).unwrap_or_default(),
                }]);
            }
            Disposition::Suppressed => {
                result["suppressions"] = json!([{"kind": "inSource", "status": "accepted"}]);
            }
            _ => {}
        }
        results.push(result);
    }
    let mut rule_list: Vec<(usize, Value)> = rules.into_values().collect();
    rule_list.sort_by_key(|(i, _)| *i);
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tollgate",
                "version": run.tool_version,
                "rules": rule_list.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    serde_json::to_writer(&mut *out, &doc)?;
    out.write_all(b"\n")
}
