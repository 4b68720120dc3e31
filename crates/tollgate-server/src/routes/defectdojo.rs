//! The DefectDojo-compatible API: `import-scan`, `reimport-scan` and the list endpoints, with
//! DefectDojo's field names, defaults and response shapes, so existing curl lines work unchanged.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Multipart, Path, Query};
use crate::scan_types;
use crate::state::{now, AppState};
use crate::views::defectdojo as view;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;
use tollgate_model::Severity;
use tollgate_store::{ImportMode, ImportRequest, ImportTarget, Incoming, ListQuery, Scope};

/// The fields of an import-scan / reimport-scan form, as sent.
#[derive(Default)]
struct Form {
    fields: HashMap<String, String>,
    tags: Vec<String>,
    file: Option<(Option<String>, axum::body::Bytes)>,
}

async fn read_form(Multipart(mut multipart): Multipart) -> ApiResult<Form> {
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.map_err(multipart_error)?;
            form.file = Some((file_name, bytes));
        } else {
            // Bytes, not `text()`: that decodes lossily, and a name with invalid UTF-8 became a
            // product called "bad\u{FFFD}\u{FFFD}name".
            let bytes = field.bytes().await.map_err(multipart_error)?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::bad_request(format!("{name}: the value is not UTF-8 text"))
            })?;
            if name == "tags" {
                form.tags.extend(
                    text.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string),
                );
            } else {
                form.fields.insert(name, text);
            }
        }
    }
    Ok(form)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(
        e.status(),
        format!("malformed multipart body: {}", e.body_text()),
    )
}

impl Form {
    fn text(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str, default: bool) -> ApiResult<bool> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ApiError::bad_request(format!(
                    "{name}: {v:?} is not a boolean (true or false)"
                ))),
            },
        }
    }

    fn id(&self, name: &str) -> ApiResult<Option<i64>> {
        self.text(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{name}: {v:?} is not an id (an integer)"))
                })
            })
            .transpose()
    }
}

/// DefectDojo's answer repeats the call's settings next to `statistics` (its serializer renders
/// the validated request): every setting sent, and those it fills in when absent — its booleans
/// (a multipart form without one reads as `false`: `active` and `verified` among them, whatever
/// the findings got), its defaults, and `null` for a few references. 19 keys for an import that
/// names its context, 20 for a reimport (`do_not_reactivate`). Scripts read them back.
/// The hub reads only some of them (checked before); the others are echoed, a value that is no
/// boolean or id as its default.
fn settings_echo(
    form: &Form,
    mode: ImportMode,
    req: &ImportRequest,
) -> serde_json::Map<String, Value> {
    use serde_json::json;
    let mut out = serde_json::Map::new();
    out.insert(
        "minimum_severity".into(),
        json!(req.minimum_severity.as_str()),
    );
    let mut booleans = vec![
        ("active", false),
        ("verified", false),
        ("auto_create_context", false),
        ("deduplication_on_engagement", false),
        ("push_to_jira", false),
        ("create_finding_groups_for_all_findings", true),
        ("apply_tags_to_findings", false),
        ("apply_tags_to_endpoints", false),
        ("close_old_findings", mode == ImportMode::Reimport),
        ("close_old_findings_product_scope", false),
    ];
    if mode == ImportMode::Reimport {
        booleans.push(("do_not_reactivate", false));
    }
    for (name, default) in booleans {
        out.insert(
            name.into(),
            json!(form.flag(name, default).unwrap_or(default)),
        );
    }
    // References DefectDojo resolves to ids, `null` when absent.
    for name in ["endpoint_to_add", "lead", "api_scan_configuration"] {
        out.insert(name.into(), json!(form.id(name).ok().flatten()));
    }
    out.insert(
        "deduplication_execution_mode".into(),
        json!(form.text("deduplication_execution_mode")),
    );
    // Text settings: only when sent.
    for name in [
        "product_type_name",
        "product_name",
        "engagement_name",
        "engagement_end_date",
        "source_code_management_uri",
        "test_title",
        "environment",
        "build_id",
        "branch_tag",
        "commit_hash",
        "service",
        "group_by",
        "version",
        "scan_date",
    ] {
        if let Some(v) = form.text(name) {
            out.insert(name.into(), json!(v));
        }
    }
    if !req.tags.is_empty() {
        out.insert("tags".into(), json!(req.tags));
    }
    out
}

pub(crate) fn parse_severity(name: &str, v: &str) -> ApiResult<Severity> {
    match v.trim().to_ascii_lowercase().as_str() {
        "info" | "informational" => Ok(Severity::Info),
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        _ => Err(ApiError::bad_request(format!(
            "{name}: {v:?} is not one of Info, Low, Medium, High, Critical"
        ))),
    }
}

pub async fn import_scan(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import(state, caller, multipart, ImportMode::Import).await
}

pub async fn reimport_scan(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import(state, caller, multipart, ImportMode::Reimport).await
}

async fn import(
    state: AppState,
    caller: Caller,
    multipart: Multipart,
    mode: ImportMode,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Import, "import scans")?;
    let started = Instant::now();
    let mut form = read_form(multipart).await?;

    let scan_type_text = form.text("scan_type").ok_or_else(|| {
        ApiError::bad_request(format!(
            "scan_type is required; one of: {}",
            scan_types::valid_names()
        ))
    })?;
    let scan_type = scan_types::lookup(&scan_type_text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown scan_type {scan_type_text:?}; valid: {}",
            scan_types::valid_names()
        ))
    })?;
    let (file_name, bytes) = form.file.clone().ok_or_else(|| {
        ApiError::bad_request("file is required: attach the report as the multipart field 'file'")
    })?;
    let sent_scan_type = form.fields.get("scan_type").cloned().unwrap_or_default();
    let shown = file_name.clone().unwrap_or_else(|| "file".into());

    let mut req = ImportRequest::new(mode, scan_type.name, now());
    req.target = ImportTarget {
        test_id: form.id("test")?,
        engagement_id: form.id("engagement")?,
        product_type_name: form.text("product_type_name"),
        product_name: form.text("product_name"),
        engagement_name: form.text("engagement_name"),
        test_title: form.text("test_title"),
    };
    req.auto_create_context = form.flag("auto_create_context", false)?;
    req.default_product_type = state.settings.default_product_type.clone();
    req.close_old_findings = form.flag("close_old_findings", mode == ImportMode::Reimport)?;
    req.do_not_reactivate = form.flag("do_not_reactivate", false)?;
    req.active = form.flag("active", true)?;
    req.verified = form.flag("verified", false)?;
    if let Some(v) = form.text("minimum_severity") {
        req.minimum_severity = parse_severity("minimum_severity", &v)?;
    }
    if let Some(d) = form.text("scan_date") {
        if crate::time::parse_date(&d).is_some() {
            req.scan_date = Some(d);
        } else {
            return Err(ApiError::bad_request(format!(
                "scan_date: {d:?} is not a calendar date (YYYY-MM-DD)"
            )));
        }
    }
    req.version = form.text("version");
    req.branch_tag = form.text("branch_tag");
    req.commit_hash = form.text("commit_hash");
    req.build_id = form.text("build_id");
    req.service = form.text("service");
    req.tags = std::mem::take(&mut form.tags);
    let echo = settings_echo(&form, mode, &req);
    req.actor = Some(caller.0.name.clone());
    req.restrict_to_product = caller.restriction();

    // The format is checked first (cheap), then the report is parsed on a blocking thread that
    // hands findings over in batches while the store writes the previous ones: parse and writes
    // overlap. A report that breaks half-way aborts the transaction: nothing is stored.
    let formats = scan_type.formats;
    let scan_name = scan_type.name;
    let (bytes, format) = tokio::task::spawn_blocking(move || {
        let detected = tollgate_parsers::detect(&bytes);
        (bytes, detected)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("parser crashed: {e}"),
        )
    })?;
    let format = match format {
        Ok(f) if formats.contains(&f) => f,
        // A document that names no scanner (`null`, `[]`: a clean scan) is never guessed; the
        // scan_type names it here, and its parser reads it (or says why not).
        Err(e) if e.kind == tollgate_parsers::ErrorKind::Ambiguous && !formats.is_empty() => {
            formats[0]
        }
        Ok(other) => {
            return Err(ApiError::bad_request(format!(
                "{shown}: this is a {} report, not {scan_name:?}; nothing was imported",
                other.description(),
            )))
        }
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "{shown}: not a readable {scan_name:?} report: {e}; nothing was imported"
            )))
        }
    };
    let mut warnings =
        scan_types::defectdojo_warnings(&sent_scan_type, scan_type, format, file_name.as_deref());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<Incoming>, String>>(4);
    let producer = tokio::task::spawn_blocking(move || {
        const BATCH: usize = 2000;
        let mut batch = Vec::with_capacity(BATCH);
        let mut count = 0u64;
        let mut receiver_gone = false;
        let result = tollgate_parsers::parse(&bytes, Some(format), &mut |f| {
            count += 1;
            if receiver_gone {
                return;
            }
            batch.push(Incoming::new(f));
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                receiver_gone = tx.blocking_send(Ok(full)).is_err();
            }
        });
        let last = match result {
            Ok(_) => Ok(batch),
            Err(e) => Err(format!(
                "{shown}: not a readable {scan_name:?} report: {e}; nothing was imported"
            )),
        };
        let _ = tx.blocking_send(last);
        count
    });
    let stored = state.store.import_stream(req, rx).await;
    let received = producer.await.unwrap_or(0);
    let outcome = stored?;
    warnings.extend(outcome.warnings.iter().cloned());
    for w in &warnings {
        tracing::warn!(
            token = %caller.0.name,
            test = outcome.test_id,
            "defectdojo parity: {w}"
        );
    }
    let kind = match mode {
        ImportMode::Import => "import",
        ImportMode::Reimport => "reimport",
    };
    state
        .metrics
        .import(kind, started.elapsed().as_secs_f64(), received);
    tracing::info!(
        kind,
        test = outcome.test_id,
        product = outcome.product_id,
        findings = received,
        ms = started.elapsed().as_millis() as u64,

        token = %caller.0.name,
        "scan imported"
    );
    Ok((
        StatusCode::CREATED,
        Json(view::import_response(&outcome, mode, echo, &warnings)),
    ))
}

/// The query parameters of DefectDojo's list endpoints that Tollgate reads.
#[derive(serde::Deserialize, Default)]
pub struct ListParams {
    limit: Option<String>,
    offset: Option<String>,
    name: Option<String>,
    title: Option<String>,
    id: Option<String>,
    product: Option<String>,
    engagement: Option<String>,
    test: Option<String>,
    active: Option<String>,
    severity: Option<String>,
}

const DEFAULT_LIMIT: i64 = 25;
/// DefectDojo's paginator has no largest page; the hub's is 5000 items, so one answer stays a
/// few MB (docs/hub-api.md).
const MAX_LIMIT: i64 = tollgate_store::MAX_LIST_PAGE;

fn int_param(name: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name}: {s:?} is not an integer")))
        })
        .transpose()
}

impl ListParams {
    fn query(&self, caller: &Caller) -> ApiResult<ListQuery> {
        Ok(ListQuery {
            limit: match int_param("limit", &self.limit)? {
                None => DEFAULT_LIMIT,
                // Like DefectDojo's paginator: a limit past the largest page is the largest page.
                Some(n) if n > MAX_LIMIT => MAX_LIMIT,
                Some(n) if n >= 1 => n,
                Some(n) => {
                    return Err(ApiError::bad_request(format!(
                        "limit: {n} is not a page size from 1 to {MAX_LIMIT}"
                    )))
                }
            },
            offset: match int_param("offset", &self.offset)? {
                None => 0,
                Some(n) if n >= 0 => n,
                Some(n) => {
                    return Err(ApiError::bad_request(format!(
                        "offset: {n} is negative; the first page is offset 0"
                    )))
                }
            },
            restrict_to_product: caller.restriction(),
            name: self.name.clone().or(self.title.clone()),
            product_id: int_param("product", &self.product)?,
            engagement_id: int_param("engagement", &self.engagement)?,
            test_id: int_param("test", &self.test)?,
            active: match self.active.as_deref() {
                None | Some("") => None,
                Some("true") | Some("1") => Some(true),
                Some("false") | Some("0") => Some(false),
                Some(v) => {
                    return Err(ApiError::bad_request(format!(
                        "active: {v:?} is not a boolean"
                    )))
                }
            },
            severity: self
                .severity
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_severity("severity", s))
                .transpose()?,
        })
    }
}

/// `next` / `previous` links like DefectDojo's paginator.
fn links(
    state: &AppState,
    path: &str,
    q: &ListQuery,
    count: i64,
) -> (Option<String>, Option<String>) {
    let url = |offset: i64| {
        format!(
            "{}{path}?limit={}&offset={offset}",
            state.settings.public_url, q.limit
        )
    };
    // Saturating: an offset near i64::MAX must not wrap into a negative link.
    let next_offset = q.offset.saturating_add(q.limit);
    let next = (next_offset < count).then(|| url(next_offset));
    let previous = (q.offset > 0).then(|| url(q.offset.saturating_sub(q.limit).max(0)));
    (next, previous)
}

pub async fn products(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let mut q = p.query(&caller)?;
    q.product_id = int_param("id", &p.id)?;
    let page = state.store.products(&q).await?;
    let (next, prev) = links(&state, "/api/v2/products/", &q, page.count);
    let results = page.results.iter().map(view::product).collect();
    Ok(Json(view::page(page.count, next, prev, results)))
}

pub async fn product(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let p = caller
        .visible(state.store.product(id).await?, |p| p.id)
        .ok_or_else(|| ApiError::not_found(format!("product {id} does not exist")))?;
    Ok(Json(view::product(&p)))
}

#[derive(serde::Deserialize)]
pub struct ProductLabels {
    /// A tier label such as `tier-1` (program metrics group critical findings by it).
    tier: Option<String>,
    /// DefectDojo's product field: `mobile`, `web service`, … free text.
    platform: Option<String>,
}

/// `PATCH /api/v2/products/{id}/`: sets the tier and platform labels (admin scope).
pub async fn label_product(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<ProductLabels>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Admin, "label products")?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let missing = || ApiError::not_found(format!("product {id} does not exist"));
    // A restricted admin token labels its own product only; another one does not exist to it.
    caller
        .visible(state.store.product(id).await?, |p| p.id)
        .ok_or_else(missing)?;
    state
        .store
        .label_product(
            id,
            clean(b.tier).as_deref(),
            clean(b.platform).as_deref(),
            caller.restriction(),
        )
        .await?;
    let p = caller
        .visible(state.store.product(id).await?, |p| p.id)
        .ok_or_else(missing)?;
    Ok(Json(view::product(&p)))
}

pub async fn engagements(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let mut q = p.query(&caller)?;
    if let Some(id) = int_param("id", &p.id)? {
        q.engagement_id = Some(id);
    }
    let page = state.store.engagements(&q).await?;
    let (next, prev) = links(&state, "/api/v2/engagements/", &q, page.count);
    let results = page.results.iter().map(view::engagement).collect();
    Ok(Json(view::page(page.count, next, prev, results)))
}

pub async fn engagement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let q = ListQuery {
        limit: 1,
        engagement_id: Some(id),
        ..ListQuery::default()
    };
    let e = caller
        .visible(state.store.engagements(&q).await?.results.pop(), |e| {
            e.product_id
        })
        .ok_or_else(|| ApiError::not_found(format!("engagement {id} does not exist")))?;
    Ok(Json(view::engagement(&e)))
}

pub async fn tests(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let mut q = p.query(&caller)?;
    if let Some(id) = int_param("id", &p.id)? {
        q.test_id = Some(id);
    }
    let page = state.store.tests(&q).await?;
    let ids: Vec<i64> = page.results.iter().map(|t| t.id).collect();
    let details = state.store.test_details(&ids).await?;
    let (next, prev) = links(&state, "/api/v2/tests/", &q, page.count);
    let results = page
        .results
        .iter()
        .map(|t| view::test(t, details.iter().find(|d| d.test_id == t.id)))
        .collect();
    Ok(Json(view::page(page.count, next, prev, results)))
}

pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let t = load_test(&state, &caller, id).await?;
    let details = state.store.test_details(&[t.id]).await?;
    Ok(Json(view::test(&t, details.first())))
}

/// `GET /api/v2/test_types/`: the scan types the hub reads, with the ids `found_by` and a test's
/// `test_type` give. Not product data: any valid token may read it.
pub async fn test_types(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let q = p.query(&caller)?;
    let all: Vec<(i64, &scan_types::ScanType)> = scan_types::SCAN_TYPES
        .iter()
        .enumerate()
        .map(|(i, t)| (i as i64 + 1, t))
        .filter(|(_, t)| q.name.as_deref().is_none_or(|n| n == t.name))
        .collect();
    let count = all.len() as i64;
    let results = all
        .iter()
        .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .map(|(id, t)| view::test_type(*id, t))
        .collect();
    let (next, prev) = links(&state, "/api/v2/test_types/", &q, count);
    Ok(Json(view::page(count, next, prev, results)))
}

pub async fn test_type(caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    scan_types::test_type(id)
        .map(|t| Json(view::test_type(id, t)))
        .ok_or_else(|| ApiError::not_found(format!("test type {id} does not exist")))
}

async fn load_test(state: &AppState, caller: &Caller, id: i64) -> ApiResult<tollgate_store::Test> {
    let q = ListQuery {
        limit: 1,
        test_id: Some(id),
        ..ListQuery::default()
    };
    caller
        .visible(state.store.tests(&q).await?.results.pop(), |t| t.product_id)
        .ok_or_else(|| ApiError::not_found(format!("test {id} does not exist")))
}

pub async fn test_imports(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let test_id = int_param("test", &p.test)?
        .ok_or_else(|| ApiError::bad_request("test is required: /api/v2/test_imports/?test=ID"))?;
    load_test(&state, &caller, test_id).await?;
    let all = state.store.imports(test_id).await?;
    let q = p.query(&caller)?;
    let count = all.len() as i64;
    let results = all
        .iter()
        .skip(q.offset as usize)
        .take(q.limit as usize)
        .map(view::test_import)
        .collect();
    let (next, prev) = links(&state, "/api/v2/test_imports/", &q, count);
    Ok(Json(view::page(count, next, prev, results)))
}

pub async fn findings(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let q = p.query(&caller)?;
    let page = state.store.findings(&q).await?;
    let ids: Vec<i64> = page.results.iter().map(|f| f.id).collect();
    let notes = state.store.notes(&ids).await?;
    let test_ids: Vec<i64> = page.results.iter().map(|f| f.test_id).collect();
    let tests = state.store.test_details(&test_ids).await?;
    let now = now();
    let (next, prev) = links(&state, "/api/v2/findings/", &q, page.count);
    let results = page
        .results
        .iter()
        .map(|f| {
            let mine: Vec<_> = notes
                .iter()
                .filter(|n| n.finding_id == f.id)
                .cloned()
                .collect();
            view::finding(f, &mine, &finding_context(&tests, f.test_id, now))
        })
        .collect();
    Ok(Json(view::page(page.count, next, prev, results)))
}

pub async fn finding(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read findings")?;
    let f = caller
        .visible(state.store.finding(id).await?, |f| f.product_id)
        .ok_or_else(|| ApiError::not_found(format!("finding {id} does not exist")))?;
    let notes = state.store.notes(&[id]).await?;
    let tests = state.store.test_details(&[f.test_id]).await?;
    let ctx = finding_context(&tests, f.test_id, now());
    Ok(Json(view::finding(&f, &notes, &ctx)))
}

fn finding_context(
    tests: &[tollgate_store::TestDetails],
    test_id: i64,
    now: i64,
) -> view::FindingContext {
    view::FindingContext {
        test_type: tests
            .iter()
            .find(|t| t.test_id == test_id)
            .and_then(|t| scan_types::test_type_id(&t.scan_type)),
        now,
    }
}
