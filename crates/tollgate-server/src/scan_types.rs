//! DefectDojo's scan_type strings, the loose names people write, and the formats each accepts.

use tollgate_parsers::Format;

pub struct ScanType {
    /// DefectDojo's exact string.
    pub name: &'static str,
    /// What the uploaded file may be.
    pub formats: &'static [Format],
    /// Other names accepted (compared case-insensitively, like the canonical name).
    pub aliases: &'static [&'static str],
}

pub static SCAN_TYPES: &[ScanType] = &[
    ScanType {
        name: "MobSF Scan",
        formats: &[Format::Mobsf, Format::MobsfScorecard],
        aliases: &["MobSF", "Mobile Security Framework", "MobSF Report"],
    },
    ScanType {
        name: "MobSF Scorecard Scan",
        // DefectDojo reads a `report_json` under this name (its `appsec` scorecard); a scorecard
        // answer gives it nothing. The hub reads either.
        formats: &[Format::MobsfScorecard, Format::Mobsf],
        aliases: &["MobSF Scorecard"],
    },
    ScanType {
        name: "Mobsfscan Scan",
        formats: &[Format::Mobsfscan],
        aliases: &["mobsfscan"],
    },
    ScanType {
        name: "Semgrep JSON Report",
        formats: &[Format::Semgrep],
        aliases: &["Semgrep", "Semgrep Scan"],
    },
    ScanType {
        name: "Bandit Scan",
        formats: &[Format::Bandit],
        aliases: &["Bandit"],
    },
    ScanType {
        name: "ZAP Scan",
        formats: &[Format::ZapXml, Format::ZapJson],
        aliases: &[
            "ZAP",
            "OWASP ZAP",
            "Zed Attack Proxy",
            "Zed Attack Proxy Scan",
        ],
    },
    ScanType {
        name: "Trivy Scan",
        formats: &[Format::Trivy],
        aliases: &["Trivy"],
    },
    ScanType {
        name: "Dependency Check Scan",
        formats: &[Format::DependencyCheckXml, Format::DependencyCheckJson],
        aliases: &[
            "Dependency Check",
            "Dependency-Check",
            "OWASP Dependency Check",
            "OWASP Dependency-Check",
        ],
    },
    ScanType {
        name: "Gitleaks Scan",
        formats: &[Format::Gitleaks],
        aliases: &["Gitleaks"],
    },
    ScanType {
        name: "SARIF",
        formats: &[Format::Sarif],
        aliases: &["SARIF Scan", "SARIF Report"],
    },
    ScanType {
        name: "GitLab SAST Report",
        formats: &[Format::GitlabSast],
        aliases: &["GitLab SAST"],
    },
    ScanType {
        name: "GitLab Secret Detection Report",
        formats: &[Format::GitlabSecretDetection],
        aliases: &["GitLab Secret Detection"],
    },
    ScanType {
        name: "Generic Findings Import",
        formats: &[Format::Generic],
        aliases: &["Generic", "Generic Findings"],
    },
    ScanType {
        name: "Data Theorem Results API",
        formats: &[Format::DataTheorem],
        aliases: &[
            "Data Theorem",
            "Data Theorem Scan",
            "Data Theorem Mobile Security",
        ],
    },
];

/// The scan type called `name` (exact, loose alias, or one of its format ids), ignoring case
/// and surrounding white space.
pub fn lookup(name: &str) -> Option<&'static ScanType> {
    let name = name.trim();
    SCAN_TYPES
        .iter()
        .find(|t| {
            t.name.eq_ignore_ascii_case(name)
                || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .or_else(|| {
            // A format id (`zap-xml`, `trivy`) names the scan type that reads it first.
            let format = Format::from_id(&name.to_ascii_lowercase())?;
            SCAN_TYPES.iter().find(|t| t.formats.contains(&format))
        })
}

/// Where a real DefectDojo would answer this call otherwise: `sent` is the scan_type as the
/// client wrote it, `format` what the file is, `file_name` its name in the form. The hub takes
/// the call all the same; the answer carries these (`tollgate.warnings`) and the hub logs them,
/// so a pipeline tried against a hub does not break later on DefectDojo.
pub fn defectdojo_warnings(
    sent: &str,
    scan_type: &ScanType,
    format: Format,
    file_name: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let name = scan_type.name;
    if name == DATA_THEOREM {
        out.push(format!(
            "DefectDojo has no scan_type {name:?}: it is the hub's own (tollgate upload sends such a report to DefectDojo as \"Generic Findings Import\")"
        ));
    } else if sent != name {
        // DefectDojo's scan_type is a choice: the exact string, case and spaces included.
        out.push(format!(
            "DefectDojo would reject scan_type {sent:?}; its name is {name:?}"
        ));
    }
    match (name, format) {
        ("ZAP Scan", Format::ZapJson) => out.push(
            "DefectDojo's \"ZAP Scan\" reads ZAP's XML report only: it would reject this JSON report (have ZAP write XML, e.g. zap-baseline.py -x report.xml)"
                .into(),
        ),
        ("ZAP Scan", Format::ZapXml)
            if !file_name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".xml")) =>
        {
            out.push(format!(
                "DefectDojo's \"ZAP Scan\" rejects a file whose name does not end in .xml (this one is {:?})",
                file_name.unwrap_or("")
            ))
        }
        ("Dependency Check Scan", Format::DependencyCheckJson) => out.push(
            "DefectDojo's \"Dependency Check Scan\" reads Dependency-Check's XML report only: it would fail on this JSON report (use --format XML)"
                .into(),
        ),
        ("MobSF Scorecard Scan", Format::MobsfScorecard) => out.push(
            "DefectDojo's \"MobSF Scorecard Scan\" reads a report_json's appsec section: it finds no findings in a scorecard (api/v1/scorecard) answer"
                .into(),
        ),
        ("MobSF Scorecard Scan", Format::Mobsf) => out.push(
            "DefectDojo's \"MobSF Scorecard Scan\" takes only the report's appsec scorecard entries; the hub reads the whole report, as for \"MobSF Scan\""
                .into(),
        ),
        _ => {}
    }
    out
}

const DATA_THEOREM: &str = "Data Theorem Results API";

/// "A, B, …" of every accepted DefectDojo scan_type, for error messages.
pub fn valid_names() -> String {
    SCAN_TYPES
        .iter()
        .map(|t| format!("{:?}", t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The id of a scan type's DefectDojo `Test_Type` at the hub (`found_by`, a test's `test_type`,
/// `GET /api/v2/test_types/`): its place in [`SCAN_TYPES`], from 1. New scan types are added at
/// the end of the table, so an id never changes.
pub fn test_type_id(scan_type: &str) -> Option<i64> {
    SCAN_TYPES
        .iter()
        .position(|t| t.name == scan_type)
        .map(|i| i as i64 + 1)
}

/// The scan type of a [`test_type_id`].
pub fn test_type(id: i64) -> Option<&'static ScanType> {
    usize::try_from(id)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| SCAN_TYPES.get(i))
}

impl ScanType {
    /// A dynamic (DAST) tool in DefectDojo's `Test_Type` terms; every other one is static.
    pub fn is_dynamic(&self) -> bool {
        self.formats
            .iter()
            .all(|f| matches!(f, Format::ZapXml | Format::ZapJson))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defectdojo_names_and_loose_names_resolve() {
        assert_eq!(lookup("ZAP Scan").unwrap().name, "ZAP Scan");
        assert_eq!(lookup("Zed Attack Proxy").unwrap().name, "ZAP Scan");
        assert_eq!(lookup(" bandit ").unwrap().name, "Bandit Scan");
        assert_eq!(lookup("Trivy").unwrap().name, "Trivy Scan");
        assert_eq!(lookup("Gitleaks").unwrap().name, "Gitleaks Scan");
        assert_eq!(
            lookup("Dependency Check").unwrap().name,
            "Dependency Check Scan"
        );
        assert_eq!(lookup("zap-xml").unwrap().name, "ZAP Scan");
        assert!(lookup("Nessus Scan").is_none());
    }

    #[test]
    fn names_defectdojo_would_reject_are_warned_about() {
        let warn = |sent: &str, format: Format, file: &str| {
            defectdojo_warnings(sent, lookup(sent).unwrap(), format, Some(file))
        };
        assert_eq!(
            warn("Bandit", Format::Bandit, "bandit.json"),
            ["DefectDojo would reject scan_type \"Bandit\"; its name is \"Bandit Scan\""]
        );
        assert!(warn("Bandit Scan", Format::Bandit, "bandit.json").is_empty());
        assert!(warn("ZAP Scan", Format::ZapXml, "zap.xml").is_empty());
        assert_eq!(warn("zap scan", Format::ZapXml, "zap.xml").len(), 1);
        assert_eq!(warn("zap-xml", Format::ZapXml, "zap.xml").len(), 1);
        let zap_json = warn("ZAP Scan", Format::ZapJson, "zap.json");
        assert!(zap_json[0].contains("XML report only"), "{zap_json:?}");
        assert!(warn("ZAP Scan", Format::ZapXml, "report")[0].contains(".xml"));
        let dc = warn("Dependency Check", Format::DependencyCheckJson, "dc.json");
        assert_eq!(dc.len(), 2, "{dc:?}");
        assert!(
            warn("MobSF Scorecard Scan", Format::MobsfScorecard, "s.json")[0]
                .contains("no findings")
        );
        assert!(
            warn("Data Theorem Results API", Format::DataTheorem, "p.json")[0]
                .contains("has no scan_type")
        );
    }

    #[test]
    fn a_mobsf_report_is_read_under_the_scorecard_name_as_defectdojo_does() {
        let t = lookup("MobSF Scorecard Scan").unwrap();
        assert!(t.formats.contains(&Format::Mobsf));
        assert!(t.formats.contains(&Format::MobsfScorecard));
        assert_eq!(lookup("mobsf").unwrap().name, "MobSF Scan");
    }

    #[test]
    fn every_format_has_a_scan_type() {
        for f in Format::ALL {
            assert!(
                SCAN_TYPES.iter().any(|t| t.formats.contains(&f)),
                "{f:?} cannot be imported"
            );
        }
    }

    #[test]
    fn test_type_ids_are_places_in_the_table() {
        for (i, t) in SCAN_TYPES.iter().enumerate() {
            assert_eq!(test_type_id(t.name), Some(i as i64 + 1));
            assert_eq!(test_type(i as i64 + 1).map(|x| x.name), Some(t.name));
        }
        assert_eq!(test_type(0).map(|t| t.name), None);
        assert_eq!(test_type(-1).map(|t| t.name), None);
        assert_eq!(
            test_type_id("Bandit"),
            None,
            "ids are for DefectDojo's exact names"
        );
        assert!(lookup("ZAP Scan").unwrap().is_dynamic());
        assert!(!lookup("Trivy Scan").unwrap().is_dynamic());
    }
}
