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
        formats: &[Format::MobsfScorecard],
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
