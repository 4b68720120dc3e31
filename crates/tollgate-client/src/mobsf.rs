//! A MobSF REST client: upload → scan → report_json (and the scorecard), the steps of seed 000's
//! curl lines, with clear errors (a wrong key, an app MobSF refuses, a scan that fails).

use std::time::Duration;

use serde_json::Value;

use crate::{http_client, snippet, ClientError, RetryPolicy};

pub struct MobsfClient {
    base: String,
    key: String,
    http: reqwest::blocking::Client,
    retry: RetryPolicy,
}

/// What a finished scan produced.
pub struct ScanResult {
    pub hash: String,
    pub report_json: Vec<u8>,
    pub scorecard: Option<Vec<u8>>,
}

impl MobsfClient {
    /// `timeout` bounds each call; MobSF's `scan` is synchronous and can take minutes.
    pub fn new(
        base: &str,
        key: &str,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, ClientError> {
        Ok(MobsfClient {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http: http_client(timeout)?,
            retry,
        })
    }

    fn post(
        &self,
        endpoint: &str,
        form: impl Fn() -> reqwest::blocking::multipart::Form,
        log: &mut dyn FnMut(&str),
    ) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/api/v1/{endpoint}", self.base);
        let resp = self
            .retry
            .run(
                &url,
                || {
                    self.http
                        .post(&url)
                        .header(reqwest::header::AUTHORIZATION, &self.key)
                        .multipart(form())
                        .send()
                },
                |m| log(m),
            )
            .map_err(|e| match e {
                ClientError::Status {
                    status: 401, url, ..
                } => ClientError::Status {
                    status: 401,
                    url,
                    body: "MobSF refused the API key (check MOBSF_API_KEY)".into(),
                },
                other => other,
            })?;
        resp.bytes()
            .map(|b| b.to_vec())
            .map_err(|e| ClientError::Request(format!("{url}: cannot read the answer: {e}")))
    }

    /// Uploads, scans and fetches the report (and the scorecard when the server has it).
    pub fn scan(
        &self,
        file_name: &str,
        app: Vec<u8>,
        log: &mut dyn FnMut(&str),
    ) -> Result<ScanResult, ClientError> {
        let name = file_name.to_string();
        let upload = self.post(
            "upload",
            || {
                // MobSF checks the part's content type as well as the extension.
                let part =
                    reqwest::blocking::multipart::Part::bytes(app.clone()).file_name(name.clone());
                let part = part.mime_str(mime_for(&name)).unwrap_or_else(|_| {
                    reqwest::blocking::multipart::Part::bytes(app.clone()).file_name(name.clone())
                });
                reqwest::blocking::multipart::Form::new().part("file", part)
            },
            log,
        )?;
        let up: Value = serde_json::from_slice(&upload).map_err(|_| {
            ClientError::Request(format!(
                "MobSF upload answered something that is not JSON: {}",
                snippet(&String::from_utf8_lossy(&upload), 200)
            ))
        })?;
        let field = |k: &str| up.get(k).and_then(Value::as_str).map(str::to_string);
        let hash = field("hash").ok_or_else(|| {
            ClientError::Request(format!(
                "MobSF upload gave no hash: {}",
                snippet(&up.to_string(), 200)
            ))
        })?;
        let scan_type = field("scan_type").unwrap_or_default();
        let stored_name = field("file_name").unwrap_or_else(|| file_name.to_string());
        log(&format!(
            "uploaded {file_name}: hash {hash}, type {scan_type}; scanning (this can take minutes)"
        ));
        let form = |extra: &[(&str, &str)]| {
            let mut f = reqwest::blocking::multipart::Form::new().text("hash", hash.clone());
            for (k, v) in extra {
                f = f.text(k.to_string(), v.to_string());
            }
            f
        };
        let scan = self.post(
            "scan",
            || {
                form(&[
                    ("scan_type", scan_type.as_str()),
                    ("file_name", stored_name.as_str()),
                ])
            },
            log,
        )?;
        if let Ok(v) = serde_json::from_slice::<Value>(&scan) {
            if let Some(err) = v.get("error").and_then(Value::as_str) {
                return Err(ClientError::Request(format!(
                    "MobSF could not scan {file_name}: {err}"
                )));
            }
        }
        let report_json = self.post("report_json", || form(&[]), log)?;
        serde_json::from_slice::<Value>(&report_json).map_err(|_| {
            ClientError::Request(format!(
                "MobSF report_json is not JSON: {}",
                snippet(&String::from_utf8_lossy(&report_json), 200)
            ))
        })?;
        // Older servers have no scorecard endpoint: its absence is not a failure.
        let scorecard = self.post("scorecard", || form(&[]), &mut |_| {}).ok();
        Ok(ScanResult {
            hash,
            report_json,
            scorecard,
        })
    }
}

/// The content type MobSF expects for an app file.
fn mime_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".apk") {
        "application/vnd.android.package-archive"
    } else if lower.ends_with(".zip") {
        "application/zip"
    } else {
        "application/octet-stream"
    }
}
