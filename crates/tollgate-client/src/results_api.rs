//! Reads every page of `security_findings` from a Results API shaped like Data Theorem's Mobile
//! Security Results API v2 (Data Theorem's own, or a Tollgate hub), failing closed: a page without
//! `pagination_information`, a cursor seen twice or an HTTP failure after retries is an error,
//! never "0 findings".

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{http_client, snippet, ClientError, RetryPolicy};

/// The path of the list endpoint under an API's base URL.
const LIST_PATH: &str = "/apis/mobile_security/results/v2/security_findings";

/// At most this many pages: a server that never stops paging is refused, not followed forever.
pub const MAX_PAGES: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct PullQuery {
    pub mobile_app_id: Option<String>,
    pub status_group: Option<String>,
    pub results_since: Option<String>,
}

/// Every finding of every page, as the API gave them, and what the pages said.
#[derive(Debug)]
pub struct Pulled {
    pub findings: Vec<Value>,
    pub pages: usize,
    /// The last `total_count` the server announced, when it did.
    pub total_count: Option<u64>,
}

impl Pulled {
    /// One list page holding everything: the report `parse`, `gate` and `upload` read.
    pub fn to_report(&self) -> Vec<u8> {
        let doc = json!({
            "security_findings": self.findings,
            "pagination_information": {
                "total_count": self.findings.len().to_string(),
                "next_cursor": Value::Null,
            },
        });
        let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// The list endpoint for a base URL, an API root, or the endpoint itself.
pub fn list_url(base: &str) -> String {
    let b = base.trim_end_matches('/');
    if b.ends_with("/security_findings") {
        b.to_string()
    } else if let Some(root) = b.strip_suffix("/apis/mobile_security/results/v2") {
        format!("{root}{LIST_PATH}")
    } else {
        format!("{b}{LIST_PATH}")
    }
}

/// Data errors are told apart from transport errors so the caller can exit accordingly.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Http(#[from] ClientError),
    #[error("{0}")]
    Protocol(String),
}

pub fn pull(
    base: &str,
    api_key: &str,
    query: &PullQuery,
    retry: &RetryPolicy,
    timeout: Duration,
    mut log: impl FnMut(&str),
) -> Result<Pulled, PullError> {
    let client = http_client(timeout)?;
    let url = list_url(base);
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(v) = &query.mobile_app_id {
        params.push(("mobile_app_id", v.clone()));
    }
    if let Some(v) = &query.status_group {
        params.push(("status_group", v.clone()));
    }
    if let Some(v) = &query.results_since {
        params.push(("results_since", v.clone()));
    }
    let mut findings = Vec::new();
    let mut seen_cursors: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    for page in 1..=MAX_PAGES {
        let mut page_url = reqwest::Url::parse(&url)
            .map_err(|e| ClientError::Input(format!("{url}: not a URL: {e}")))?;
        {
            let mut q = page_url.query_pairs_mut();
            for (k, v) in &params {
                q.append_pair(k, v);
            }
            if let Some(c) = &cursor {
                q.append_pair("cursor", c);
            }
        }
        let resp = retry.run(
            &url,
            || {
                client
                    .get(page_url.clone())
                    .header(reqwest::header::AUTHORIZATION, format!("APIKey {api_key}"))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
            },
            &mut log,
        )?;
        let text = resp
            .text()
            .map_err(|e| ClientError::Request(format!("{url}: cannot read page {page}: {e}")))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            PullError::Protocol(format!(
                "page {page} is not JSON ({e}): {}",
                snippet(&text, 200)
            ))
        })?;
        let items = v
            .get("security_findings")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                PullError::Protocol(format!("page {page} has no security_findings list"))
            })?;
        let info = v.get("pagination_information").and_then(Value::as_object).ok_or_else(|| {
            PullError::Protocol(format!(
                "page {page} has no pagination_information: refusing to guess whether more pages exist"
            ))
        })?;
        findings.extend(items.iter().cloned());
        let total_count = info.get("total_count").and_then(|t| match t {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let next = info
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        log(&format!(
            "page {page}: {} findings ({} so far)",
            items.len(),
            findings.len()
        ));
        match next {
            None => {
                return Ok(Pulled {
                    findings,
                    pages: page,
                    total_count,
                })
            }
            Some(c) => {
                if !seen_cursors.insert(c.clone()) {
                    return Err(PullError::Protocol(format!(
                        "page {page} points back to cursor {c:?}, already followed: the server's paging loops"
                    )));
                }
                cursor = Some(c);
            }
        }
    }
    Err(PullError::Protocol(format!(
        "more than {MAX_PAGES} pages: refusing to follow further"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_url_accepts_base_root_or_endpoint() {
        let want = "https://api.example.com/apis/mobile_security/results/v2/security_findings";
        assert_eq!(list_url("https://api.example.com"), want);
        assert_eq!(list_url("https://api.example.com/"), want);
        assert_eq!(
            list_url("https://api.example.com/apis/mobile_security/results/v2"),
            want
        );
        assert_eq!(list_url(want), want);
    }
}
