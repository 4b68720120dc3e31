//! The gate's side of a Tollgate hub (`tollgate serve`): the baseline of a product (every
//! fingerprint the hub knows, open or closed) and the record of a gate run.
//!
//! Reading the baseline fails closed: anything but a well-formed answer is an error, except a
//! JSON 404 (`{"detail": …}`), which means the product or engagement does not exist yet. The
//! token is never part of an error or a log line, even when a server echoes it back.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tollgate_model::Fingerprint;

use crate::{http_client, snippet, ClientError, RetryPolicy};

const BASELINE_PATH: &str = "/api/v2/tollgate/baseline/";
const GATE_RUNS_PATH: &str = "/api/v2/tollgate/gate-runs/";
const PROMOTIONS_PATH: &str = "/api/v2/tollgate/promotions/";

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Transport failure or an error status, after retries where they apply.
    #[error(transparent)]
    Http(#[from] ClientError),
    /// 401 / 403: retrying cannot fix a refused token.
    #[error("{url}: the hub refused the token (HTTP {status}): {body}")]
    Refused {
        status: u16,
        url: String,
        body: String,
    },
    /// The hub answered, but not with what the contract says.
    #[error("{url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{0}")]
    Input(String),
}

/// A finding's state at the hub, as the hub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    Mitigated,
    FalsePositive,
    RiskAccepted,
    OutOfScope,
    ClosedWontFix,
    ClosedRiskAccepted,
    ClosedCompensatingControl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineFinding {
    pub fingerprint: Fingerprint,
    pub open: bool,
    pub status: FindingStatus,
}

/// The hub's answer for a product that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubBaseline {
    pub product_id: u64,
    pub engagement_id: Option<u64>,
    pub findings: Vec<BaselineFinding>,
}

impl HubBaseline {
    /// Every fingerprint the hub knows, open or closed: all of them are "existing" to the gate.
    pub fn fingerprints(&self) -> HashSet<String> {
        self.findings
            .iter()
            .map(|f| f.fingerprint.as_str().to_string())
            .collect()
    }
}

/// What the baseline endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineAnswer {
    Found(HubBaseline),
    /// The product (or engagement) does not exist yet: an empty baseline, every finding is new.
    NotFound {
        detail: String,
    },
}

/// Who asks, and how patiently.
#[derive(Debug, Clone)]
pub struct Hub<'a> {
    /// The hub's base URL (`https://hub.example.com`).
    pub base_url: &'a str,
    pub token: &'a str,
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

/// `GET {base}/api/v2/tollgate/baseline/?product_name=P[&engagement_name=E]`, as a URL.
pub fn baseline_url(
    base: &str,
    product: &str,
    engagement: Option<&str>,
) -> Result<String, HubError> {
    let raw = format!("{}{BASELINE_PATH}", base.trim_end_matches('/'));
    let mut url = reqwest::Url::parse(&raw)
        .map_err(|e| HubError::Input(format!("{base}: not a URL: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("product_name", product);
        if let Some(e) = engagement {
            q.append_pair("engagement_name", e);
        }
    }
    Ok(url.to_string())
}

/// Refuses a base URL that is not http(s), before anything is sent.
pub fn check_base_url(base: &str) -> Result<(), HubError> {
    let url = reqwest::Url::parse(base.trim_end_matches('/'))
        .map_err(|e| HubError::Input(format!("{base}: not a URL: {e}")))?;
    if matches!(url.scheme(), "http" | "https") && url.has_host() {
        Ok(())
    } else {
        Err(HubError::Input(format!(
            "{base}: not an http(s) URL of a hub"
        )))
    }
}

pub fn gate_runs_url(base: &str) -> String {
    format!("{}{GATE_RUNS_PATH}", base.trim_end_matches('/'))
}

/// Reads the baseline of a product (and engagement, when given).
pub fn fetch_baseline(
    hub: &Hub<'_>,
    product: &str,
    engagement: Option<&str>,
    mut log: impl FnMut(&str),
) -> Result<BaselineAnswer, HubError> {
    let url = baseline_url(hub.base_url, product, engagement)?;
    let result = (|| {
        let client = client(hub.timeout, &url)?;
        let sent = hub.retry.run(
            &url,
            || {
                client
                    .get(&url)
                    .header(reqwest::header::AUTHORIZATION, auth(hub.token))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
            },
            |m| log(&redact(m, hub.token)),
        );
        match sent {
            Ok(resp) => {
                let text = resp.text().map_err(|e| {
                    ClientError::Request(format!("{url}: cannot read the answer: {e}"))
                })?;
                parse_baseline(&text)
                    .map(BaselineAnswer::Found)
                    .map_err(|message| HubError::Protocol {
                        url: url.clone(),
                        message,
                    })
            }
            Err(ClientError::Status { status: 404, body, .. }) => match not_found_detail(&body) {
                Some(detail) => Ok(BaselineAnswer::NotFound { detail }),
                // A 404 that is not the hub's own (a proxy, a wrong URL, a hub without this
                // endpoint) must not pass for "new product": that would silently drop the baseline.
                None => Err(HubError::Protocol {
                    url: url.clone(),
                    message: format!(
                        "HTTP 404 without the hub's {{\"detail\": …}} answer (is this a Tollgate hub URL?): {body}"
                    ),
                }),
            },
            Err(e) => Err(refused_or(e)),
        }
    })();
    result.map_err(|e| redact_error(e, hub.token))
}

/// Parses the baseline endpoint's 200 answer; the message says what is wrong with it.
pub fn parse_baseline(text: &str) -> Result<HubBaseline, String> {
    // Unknown fields are ignored, so the hub can add some without breaking older gates.
    #[derive(Deserialize)]
    struct Doc {
        product_id: u64,
        engagement_id: Option<u64>,
        findings: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        fingerprint: String,
        open: bool,
        status: FindingStatus,
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a baseline answer (line {}, column {}: {e}): {}",
            e.line(),
            e.column(),
            snippet(text, 200)
        )
    })?;
    let findings = doc
        .findings
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let fingerprint = Fingerprint::parse(&f.fingerprint).ok_or_else(|| {
                format!(
                    "findings[{i}].fingerprint {:?} is not 32 lower-case hex digits",
                    snippet(&f.fingerprint, 80)
                )
            })?;
            Ok(BaselineFinding {
                fingerprint,
                open: f.open,
                status: f.status,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(HubBaseline {
        product_id: doc.product_id,
        engagement_id: doc.engagement_id,
        findings,
    })
}

/// The `detail` of the hub's JSON 404, `None` when the 404 is not in the hub's shape.
fn not_found_detail(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("detail").and_then(Value::as_str).map(str::to_string)
}

/// What a gate run sends to be recorded, besides the summary itself.
#[derive(Debug, Clone, Default)]
pub struct GateRunRecord {
    pub product_name: String,
    pub engagement_name: Option<String>,
    /// `PASS`, `WARN` or `FAIL`.
    pub outcome: String,
    pub commit_hash: Option<String>,
    pub release_tag: Option<String>,
    pub artifact_sha256: Option<String>,
}

/// The request body: the record's fields and `summary`, the summary document byte for byte.
pub fn gate_run_body(record: &GateRunRecord, summary_json: &[u8]) -> Result<Vec<u8>, HubError> {
    let summary_json = summary_json.trim_ascii();
    // Embedding the bytes (rather than re-serializing a parsed copy) keeps the document the
    // hub stores identical to the file; checking it is JSON keeps the body valid.
    serde_json::from_slice::<serde::de::IgnoredAny>(summary_json)
        .map_err(|e| HubError::Input(format!("the summary is not JSON: {e}")))?;
    let head = json!({
        "product_name": record.product_name,
        "engagement_name": record.engagement_name,
        "outcome": record.outcome,
        "commit_hash": record.commit_hash,
        "release_tag": record.release_tag,
        "artifact_sha256": record.artifact_sha256,
    });
    let mut body = serde_json::to_vec(&head).map_err(|e| HubError::Input(e.to_string()))?;
    body.pop(); // the closing brace
    body.extend_from_slice(b",\"summary\":");
    body.extend_from_slice(summary_json);
    body.push(b'}');
    Ok(body)
}

/// `POST {base}/api/v2/tollgate/gate-runs/`; returns the id the hub gave the run.
pub fn record_gate_run(
    hub: &Hub<'_>,
    record: &GateRunRecord,
    summary_json: &[u8],
    mut log: impl FnMut(&str),
) -> Result<u64, HubError> {
    let url = gate_runs_url(hub.base_url);
    let result = (|| {
        let body = gate_run_body(record, summary_json)
            .map_err(|e| HubError::Input(format!("{url}: {e}")))?;
        let text = post_json(hub, &url, body, &mut log)?;
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_u64))
            .ok_or_else(|| HubError::Protocol {
                url: url.clone(),
                message: format!(
                    "the hub accepted the run but did not answer {{\"id\": N}}: {}",
                    snippet(&text, 200)
                ),
            })
    })();
    result.map_err(|e| redact_error(e, hub.token))
}

/// A release artifact promoted to an environment (`tollgate promote`).
#[derive(Debug, Clone, Default)]
pub struct PromotionRecord {
    pub product: String,
    /// 64 lowercase hex digits.
    pub artifact_sha256: String,
    pub release_tag: Option<String>,
    pub environment: String,
}

/// What the hub answered: the promotion's id, and whether a gate run of the product had named
/// the artifact before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromotionAnswer {
    pub id: u64,
    pub scanned: bool,
}

pub fn promotions_url(base: &str) -> String {
    format!("{}{PROMOTIONS_PATH}", base.trim_end_matches('/'))
}

/// `POST {base}/api/v2/tollgate/promotions/`, retried like the other hub calls.
pub fn record_promotion(
    hub: &Hub<'_>,
    record: &PromotionRecord,
    mut log: impl FnMut(&str),
) -> Result<PromotionAnswer, HubError> {
    let url = promotions_url(hub.base_url);
    let result = (|| {
        let body = serde_json::to_vec(&json!({
            "product": record.product,
            "artifact_sha256": record.artifact_sha256,
            "release_tag": record.release_tag,
            "environment": record.environment,
        }))
        .map_err(|e| HubError::Input(format!("{url}: {e}")))?;
        let text = post_json(hub, &url, body, &mut log)?;
        let v: Option<Value> = serde_json::from_str(&text).ok();
        let id = v.as_ref().and_then(|v| v.get("id")).and_then(Value::as_u64);
        let scanned = v
            .as_ref()
            .and_then(|v| v.get("scanned"))
            .and_then(Value::as_bool);
        match (id, scanned) {
            (Some(id), Some(scanned)) => Ok(PromotionAnswer { id, scanned }),
            _ => Err(HubError::Protocol {
                url: url.clone(),
                message: format!(
                    "the hub accepted the promotion but did not answer {{\"id\": N, \"scanned\": …}}: {}",
                    snippet(&text, 200)
                ),
            }),
        }
    })();
    result.map_err(|e| redact_error(e, hub.token))
}

/// POSTs a JSON body to the hub, retried by `hub.retry`, and returns the answer's text.
fn post_json(
    hub: &Hub<'_>,
    url: &str,
    body: Vec<u8>,
    log: &mut impl FnMut(&str),
) -> Result<String, HubError> {
    let client = client(hub.timeout, url)?;
    let resp = hub
        .retry
        .run(
            url,
            || {
                client
                    .post(url)
                    .header(reqwest::header::AUTHORIZATION, auth(hub.token))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
            },
            |m| log(&redact(m, hub.token)),
        )
        .map_err(refused_or)?;
    Ok(resp
        .text()
        .map_err(|e| ClientError::Request(format!("{url}: cannot read the answer: {e}")))?)
}

/// Every error names the URL, this one included.
fn client(timeout: Duration, url: &str) -> Result<reqwest::blocking::Client, HubError> {
    http_client(timeout).map_err(|e| HubError::Input(format!("{url}: {e}")))
}

fn auth(token: &str) -> String {
    format!("Token {token}")
}

fn refused_or(e: ClientError) -> HubError {
    match e {
        ClientError::Status { status, url, body } if status == 401 || status == 403 => {
            HubError::Refused { status, url, body }
        }
        e => HubError::from(e),
    }
}

/// Hides the token in text that may quote a server's answer.
fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "[token]")
    }
}

fn redact_error(e: HubError, token: &str) -> HubError {
    let r = |s: String| redact(&s, token);
    match e {
        HubError::Http(ClientError::Request(m)) => HubError::Http(ClientError::Request(r(m))),
        HubError::Http(ClientError::Status { status, url, body }) => {
            HubError::Http(ClientError::Status {
                status,
                url: r(url),
                body: r(body),
            })
        }
        HubError::Http(ClientError::Input(m)) => HubError::Http(ClientError::Input(r(m))),
        HubError::Refused { status, url, body } => HubError::Refused {
            status,
            url: r(url),
            body: r(body),
        },
        HubError::Protocol { url, message } => HubError::Protocol {
            url: r(url),
            message: r(message),
        },
        HubError::Input(m) => HubError::Input(r(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_a_baseline_with_open_and_closed_findings() {
        let text = format!(
            r#"{{"product_id": 1, "engagement_id": null, "findings": [
                {{"fingerprint": "{FP}", "open": true, "status": "open"}},
                {{"fingerprint": "ffffffffffffffffffffffffffffffff", "open": false, "status": "closed_compensating_control"}}
            ]}}"#
        );
        let b = parse_baseline(&text).unwrap();
        assert_eq!((b.product_id, b.engagement_id), (1, None));
        assert_eq!(b.findings.len(), 2);
        assert_eq!(
            b.findings[1].status,
            FindingStatus::ClosedCompensatingControl
        );
        assert!(!b.findings[1].open);
        let fps = b.fingerprints();
        assert!(fps.contains(FP) && fps.contains("ffffffffffffffffffffffffffffffff"));

        let b = parse_baseline(r#"{"product_id": 4, "engagement_id": 9, "findings": []}"#).unwrap();
        assert_eq!((b.engagement_id, b.findings.len()), (Some(9), 0));
    }

    #[test]
    fn every_documented_status_is_read() {
        for s in [
            "open",
            "mitigated",
            "false_positive",
            "risk_accepted",
            "out_of_scope",
            "closed_wont_fix",
            "closed_risk_accepted",
            "closed_compensating_control",
        ] {
            let text = format!(
                r#"{{"product_id": 1, "engagement_id": null, "findings": [{{"fingerprint": "{FP}", "open": false, "status": "{s}"}}]}}"#
            );
            assert!(parse_baseline(&text).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_malformed_baselines() {
        let bad = [
            ("", "not a baseline answer"),
            ("<html>502 Bad Gateway</html>", "not a baseline answer"),
            (r#"{"product_id": 1, "engagement_id": null}"#, "findings"),
            (
                r#"{"product_id": 1, "engagement_id": null, "findings": [}"#,
                "line 1",
            ),
            (
                r#"{"product_id": 1, "engagement_id": null, "findings": {}}"#,
                "invalid type",
            ),
            (
                r#"{"product_id": 1, "engagement_id": null, "findings": [{"fingerprint": "abc", "open": true, "status": "open"}]}"#,
                "findings[0].fingerprint",
            ),
            (
                r#"{"product_id": 1, "engagement_id": null, "findings": [{"fingerprint": "0123456789ABCDEF0123456789ABCDEF", "open": true, "status": "open"}]}"#,
                "lower-case hex",
            ),
            (
                &format!(
                    r#"{{"product_id": 1, "engagement_id": null, "findings": [{{"fingerprint": "{FP}", "open": true, "status": "fixed"}}]}}"#
                ),
                "unknown variant",
            ),
            (
                &format!(
                    r#"{{"product_id": 1, "engagement_id": null, "findings": [{{"fingerprint": "{FP}", "status": "open"}}]}}"#
                ),
                "open",
            ),
            (
                r#"{"product_id": "1", "engagement_id": null, "findings": []}"#,
                "invalid type",
            ),
        ];
        for (text, want) in bad {
            let e = parse_baseline(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn only_the_hubs_own_404_means_not_found() {
        assert_eq!(
            not_found_detail(r#"{"detail": "No Product matches the given query."}"#).as_deref(),
            Some("No Product matches the given query.")
        );
        assert_eq!(not_found_detail("<h1>Not Found</h1>"), None);
        assert_eq!(not_found_detail(""), None);
        assert_eq!(not_found_detail(r#"{"error": "x"}"#), None);
    }

    #[test]
    fn urls_are_built_under_the_base() {
        assert_eq!(
            baseline_url("https://hub.example.com/", "my shop", Some("a&b")).unwrap(),
            "https://hub.example.com/api/v2/tollgate/baseline/?product_name=my+shop&engagement_name=a%26b"
        );
        assert_eq!(
            baseline_url("https://hub.example.com", "shop", None).unwrap(),
            "https://hub.example.com/api/v2/tollgate/baseline/?product_name=shop"
        );
        assert!(baseline_url("not a url", "shop", None).is_err());
        assert!(check_base_url("https://hub.example.com/").is_ok());
        assert!(check_base_url("hub.example.com").is_err());
        assert!(check_base_url("file:///etc").is_err());
        assert_eq!(
            gate_runs_url("http://h:8080/"),
            "http://h:8080/api/v2/tollgate/gate-runs/"
        );
    }

    #[test]
    fn gate_run_body_embeds_the_summary_as_written() {
        let record = GateRunRecord {
            product_name: "shop".into(),
            engagement_name: None,
            outcome: "FAIL".into(),
            commit_hash: Some("abc".into()),
            release_tag: None,
            artifact_sha256: Some("00".repeat(32)),
        };
        let summary = b"{\n  \"decision\": \"FAIL\",\n  \"findings\": [\n  ]\n}\n";
        let body = gate_run_body(&record, summary).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["product_name"], "shop");
        assert_eq!(v["engagement_name"], Value::Null);
        assert_eq!(v["outcome"], "FAIL");
        assert_eq!(v["commit_hash"], "abc");
        assert_eq!(v["release_tag"], Value::Null);
        assert_eq!(v["summary"]["decision"], "FAIL");
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.ends_with(",\"summary\":{\n  \"decision\": \"FAIL\",\n  \"findings\": [\n  ]\n}}")
        );
        assert!(gate_run_body(&record, b"{\"decision\": ").is_err());
    }

    #[test]
    fn the_token_is_redacted_from_errors() {
        let e = redact_error(
            HubError::Refused {
                status: 401,
                url: "http://h/x".into(),
                body: "bad token s3cr3t".into(),
            },
            "s3cr3t",
        );
        let text = e.to_string();
        assert!(
            !text.contains("s3cr3t") && text.contains("[token]"),
            "{text}"
        );
    }
}
