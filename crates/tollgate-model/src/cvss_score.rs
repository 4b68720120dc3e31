//! CVSS vectors and base scores (v2, v3.0, v3.1, v4.0), scored with the RustSec `cvss` crate.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    #[serde(rename = "2.0")]
    V2,
    #[serde(rename = "3.0")]
    V30,
    #[serde(rename = "3.1")]
    V31,
    #[serde(rename = "4.0")]
    V40,
}

/// A CVSS vector with its base score. `score` is the scanner's when it gave one, else computed
/// from the vector; `None` only when neither is available.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    pub version: CvssVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl Cvss {
    /// Reads a vector (with or without its `CVSS:3.1/` prefix) and an optional given score.
    /// Returns `None` when there is neither a usable vector nor a score.
    pub fn new(vector: Option<&str>, given_score: Option<f64>, hint: Option<CvssVersion>) -> Option<Cvss> {
        let given_score = given_score.filter(|s| s.is_finite() && (0.0..=10.0).contains(s));
        let vector = vector.map(str::trim).filter(|v| !v.is_empty());
        if let Some(v) = vector {
            if let Some((version, canonical, computed)) = score_vector(v, hint) {
                return Some(Cvss {
                    version,
                    vector: Some(canonical),
                    score: given_score.or(Some(computed)),
                });
            }
        }
        let score = given_score?;
        Some(Cvss {
            version: hint.unwrap_or(CvssVersion::V31),
            vector: vector.map(str::to_string),
            score: Some(score),
        })
    }
}

/// Parses and scores a vector. Bare v3 vectors (`AV:N/AC:L/PR:N/…`, as some APIs give them) are
/// read as 3.1 (or as `hint`), bare v2 vectors (`AV:N/AC:L/Au:N/…`) as 2.0.
fn score_vector(vector: &str, hint: Option<CvssVersion>) -> Option<(CvssVersion, String, f64)> {
    let v = vector.strip_prefix('(').and_then(|v| v.strip_suffix(')')).unwrap_or(vector);
    let full = if v.starts_with("CVSS:") {
        v.to_string()
    } else if v.contains("Au:") {
        v.to_string()
    } else if v.contains("AT:") {
        format!("CVSS:4.0/{v}")
    } else {
        let prefix = if hint == Some(CvssVersion::V30) { "3.0" } else { "3.1" };
        format!("CVSS:{prefix}/{v}")
    };
    let parsed: cvss::Cvss = full.parse().ok()?;
    let version = match parsed {
        cvss::Cvss::CvssV20(_) => CvssVersion::V2,
        cvss::Cvss::CvssV30(_) => CvssVersion::V30,
        cvss::Cvss::CvssV31(_) => CvssVersion::V31,
        cvss::Cvss::CvssV40(_) => CvssVersion::V40,
        _ => return None,
    };
    let score = parsed.score();
    score.is_finite().then(|| (version, full, (score * 10.0).round() / 10.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_v31_score_from_vector() {
        let c = Cvss::new(Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), None, None).unwrap();
        assert_eq!(c.version, CvssVersion::V31);
        assert_eq!(c.score, Some(9.8));
    }

    #[test]
    fn reads_bare_v3_vector() {
        let c = Cvss::new(Some("AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N"), None, None).unwrap();
        assert_eq!(c.version, CvssVersion::V31);
        assert_eq!(c.score, Some(4.3));
    }

    #[test]
    fn computes_v4_score_from_vector() {
        let c = Cvss::new(
            Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.version, CvssVersion::V40);
        assert_eq!(c.score, Some(9.3));
    }

    #[test]
    fn scores_v2_and_keeps_given_score() {
        let c = Cvss::new(Some("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None, None).unwrap();
        assert_eq!((c.version, c.score), (CvssVersion::V2, Some(7.5)));
        let c = Cvss::new(Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some(9.1), None).unwrap();
        assert_eq!(c.score, Some(9.1));
        assert!(Cvss::new(Some("garbage"), None, None).is_none());
        assert_eq!(Cvss::new(Some("garbage"), Some(5.0), None).unwrap().score, Some(5.0));
    }
}
