//! The proof for issue 12 §2: a seeded, randomized sequence of API calls against real
//! `tollgate serve` processes — imports and reimports with every optional field present and absent,
//! reports of every severity (Info-only ones too), every triage action of the Results API, product
//! label changes, list filters with and without values, U+0000 in report and request text. A pool
//! of 4 connections per process; on PostgreSQL the calls alternate between two processes on one
//! database. Any 5xx (or an answer the call cannot give) fails, with the seed and the call.
//!
//! Replay a run: `TOLLGATE_SEQ_SEED=<seed> cargo test -p tollgate --test tests hub_sequence`.

use crate::hub::Hub;
use crate::util::temp_dir;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const RESULTS: &str = "/apis/mobile_security/results/v2/security_findings";
/// Calls per backend.
const CALLS: usize = 800;
const DEFAULT_SEED: u64 = 20_261_204;

/// splitmix64: small, seedable, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    match std::env::var("TOLLGATE_SEQ_SEED") {
        Ok(s) => {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            }
            .unwrap_or_else(|_| panic!("TOLLGATE_SEQ_SEED: {s:?} is not a number"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

/// What the sequence has learnt of the hub so far (ids to aim the next calls at).
#[derive(Default)]
struct World {
    products: Vec<i64>,
    tests: Vec<i64>,
    findings: Vec<String>,
    /// Of those, the ones last seen open (closing aims at them, so closes mostly succeed).
    open: Vec<String>,
    /// The last `next_cursor` and the filters of the list it came from (a cursor is signed for
    /// its list: it is sent back with the same filters).
    cursor: Option<(String, String)>,
}

impl World {
    fn learn(list: &mut Vec<i64>, v: &Value) {
        if let Some(id) = v.as_i64() {
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
}

/// One call: what it was (printed on failure), and the statuses it may answer.
struct Call {
    /// The kind of call, for the tally.
    kind: &'static str,
    what: String,
    allowed: &'static [u16],
    status: u16,
    body: Value,
}

#[test]
fn randomized_api_sequence_never_answers_5xx() {
    let seed = seed();
    eprintln!("hub_sequence: seed {seed} (replay with TOLLGATE_SEQ_SEED={seed})");
    let mut failures = Vec::new();
    let mut tallies = Vec::new();
    for hub in Hub::each_with("sequence", &["--max-connections", "4"]) {
        // PostgreSQL: a second process on the same database (the same flags), calls alternate.
        let replica = (hub.backend == "postgres").then(|| hub.replica());
        let hubs: Vec<&Hub> = std::iter::once(&hub).chain(replica.as_ref()).collect();
        let started = Instant::now();
        let (calls, bad, tally) = run(seed, &hubs);
        eprintln!(
            "hub_sequence: {}: {calls} calls over {} process(es) in {:.1} s, {} failed",
            hub.backend,
            hubs.len(),
            started.elapsed().as_secs_f64(),
            bad.len()
        );
        failures.extend(bad.into_iter().map(|b| format!("{}: {b}", hub.backend)));
        tallies.push((hub.backend, tally));
    }
    // One answer on both backends: the same calls on the same data answer alike.
    if let [(a, first), (b, second)] = tallies.as_slice() {
        if first != second {
            failures.push(format!(
                "{a} and {b} answered the same sequence differently:\n    {a}: {first:?}\n    {b}: {second:?}"
            ));
        }
    }
    if !failures.is_empty() {
        let fives = failures.iter().filter(|f| f.contains(" -> 5")).count();
        let mut text = format!(
            "seed {seed}: {} calls answered wrongly ({fives} with a 5xx); replay with TOLLGATE_SEQ_SEED={seed}\n",
            failures.len()
        );
        for f in failures.iter().take(25) {
            let _ = writeln!(text, "  {f}");
        }
        panic!("{text}");
    }
}

/// Statuses answered, by kind of call.
type Tally = BTreeMap<(&'static str, u16), usize>;

/// Runs the sequence; the number of calls, the ones that answered wrongly, and the tally.
fn run(seed: u64, hubs: &[&Hub]) -> (usize, Vec<String>, Tally) {
    let mut rng = Rng(seed);
    let dir = temp_dir(&format!("hub-sequence-files-{}", hubs[0].backend));
    let admin = hubs[0].token("sequence", "admin", None);
    let mut world = World::default();
    let mut bad = Vec::new();
    let mut tally = Tally::new();
    for i in 0..CALLS {
        let hub = hubs[i % hubs.len()];
        let roll = rng.below(100);
        // The first calls (and any call before a product exists) import, so later ones have targets.
        let call = if i < 3
            || world.products.is_empty()
            || roll < 25
            || (world.findings.is_empty() && roll < 60)
        {
            import(&mut rng, &mut world, hub, &admin, &dir, i)
        } else if roll < 50 {
            list(&mut rng, &mut world, hub, &admin)
        } else if roll < 83 {
            triage(&mut rng, &mut world, hub, &admin, i)
        } else if roll < 95 {
            label(&mut rng, &world, hub, &admin, i)
        } else {
            single(&mut rng, &world, hub, &admin)
        };
        *tally.entry((call.kind, call.status)).or_default() += 1;
        if call.status >= 500 || !call.allowed.contains(&call.status) {
            let mut body = call.body.to_string();
            body.truncate(300);
            bad.push(format!(
                "call {i} on process {}: {} -> {} (expected one of {:?}): {body}",
                i % hubs.len(),
                call.what,
                call.status,
                call.allowed
            ));
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    eprintln!(
        "hub_sequence: {}: answers by call: {tally:?}",
        hubs[0].backend
    );
    // The sequence did what it is for: every kind of call succeeded at least once (a kind's
    // first word: `close` covers each closing reason).
    for kind in [
        "import", "list", "results", "priority", "close", "note", "label", "single",
    ] {
        let ok = tally
            .iter()
            .any(|((k, s), _)| k.split(' ').next() == Some(kind) && (200..300).contains(s));
        if !ok {
            bad.push(format!("no {kind} call succeeded"));
        }
    }
    (CALLS, bad, tally)
}

const PRODUCTS: [&str; 3] = ["shop", "app", "svc"];
const ENGAGEMENTS: [&str; 2] = ["ci", "nightly"];
const SEVERITIES: [&str; 5] = ["Info", "Low", "Medium", "High", "Critical"];

/// A Generic Findings Import report of `n` findings drawn from a pool of 24 stable ids (so
/// reimports match, close and reactivate), or one Info finding; U+0000 in some titles.
fn report(rng: &mut Rng, dir: &Path, i: usize) -> (PathBuf, String) {
    let info_only = rng.chance(15);
    let n = if info_only { 1 } else { 1 + rng.below(6) };
    let mut shown = Vec::new();
    let findings: Vec<Value> = (0..n)
        .map(|_| {
            let id = rng.below(24);
            let severity = if info_only {
                "Info"
            } else {
                *rng.pick(&SEVERITIES)
            };
            let nul = rng.chance(8);
            let title = if nul {
                format!("Finding\u{0}{id}")
            } else {
                format!("Finding f{id}")
            };
            shown.push(format!("f{id}/{severity}{}", if nul { "/NUL" } else { "" }));
            let mut f = json!({
                "title": title,
                "severity": severity,
                "unique_id_from_tool": format!("f{id}"),
                "file_path": format!("src/f{id}.py"),
                "line": id + 1,
            });
            if rng.chance(50) {
                f["description"] = json!(if nul { "with a \u{0} inside" } else { "plain" });
            }
            f
        })
        .collect();
    let path = dir.join(format!("r{i}.json"));
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({ "findings": findings })).unwrap(),
    )
    .unwrap();
    (path, shown.join(","))
}

fn import(rng: &mut Rng, world: &mut World, hub: &Hub, token: &str, dir: &Path, i: usize) -> Call {
    let endpoint = if rng.chance(60) {
        "reimport-scan"
    } else {
        "import-scan"
    };
    let mut fields: Vec<(String, String)> =
        vec![("scan_type".into(), "Generic Findings Import".into())];
    let mut field = |k: &str, v: String| fields.push((k.to_string(), v));
    if !world.tests.is_empty() && rng.chance(15) {
        field("test", rng.pick(&world.tests).to_string());
    } else {
        field("product_type_name", "web".into());
        field("product_name", rng.pick(&PRODUCTS).to_string());
        field("engagement_name", rng.pick(&ENGAGEMENTS).to_string());
        field("auto_create_context", "true".into());
    }
    // Every optional field, present or absent.
    if rng.chance(50) {
        field(
            "scan_date",
            format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
        );
    }
    if rng.chance(50) {
        field("version", format!("1.{}", rng.below(50)));
    }
    if rng.chance(50) {
        field("branch_tag", rng.pick(&["main", "release/2"]).to_string());
    }
    if rng.chance(50) {
        field("commit_hash", format!("{:040x}", rng.next()));
    }
    if rng.chance(50) {
        field("build_id", format!("build-{}", rng.below(1000)));
    }
    if rng.chance(50) {
        field("service", rng.pick(&["api", "web"]).to_string());
    }
    if rng.chance(50) {
        field("test_title", rng.pick(&["sast", "deps"]).to_string());
    }
    if rng.chance(50) {
        field(
            "tags",
            rng.pick(&["ci", "ci,nightly", "team-a"]).to_string(),
        );
    }
    for flag in [
        "close_old_findings",
        "do_not_reactivate",
        "active",
        "verified",
    ] {
        if rng.chance(50) {
            field(flag, rng.pick(&["true", "false"]).to_string());
        }
    }
    if rng.chance(40) {
        field("minimum_severity", rng.pick(&SEVERITIES).to_string());
    }
    // Request text with U+0000: refused.
    let nul = rng.chance(4);
    if nul {
        let k = *rng.pick(&["version", "branch_tag", "service", "build_id", "tags"]);
        fields.retain(|(name, _)| name != k);
        fields.push((k.to_string(), "bad\u{0}value".into()));
    }
    let (file, shown) = report(rng, dir, i);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = hub.import(endpoint, token, &file, &form);
    let kind = match endpoint {
        "reimport-scan" => "import reimport",
        _ => "import new-test",
    };
    let _ = std::fs::remove_file(&file);
    if status == 201 {
        World::learn(&mut world.products, &body["product_id"]);
        World::learn(&mut world.tests, &body["test_id"]);
    }
    Call {
        kind,
        what: format!("POST {endpoint} {fields:?} report [{shown}]"),
        allowed: if nul { &[400] } else { &[201] },
        status,
        body,
    }
}

/// `key=value` pairs, each present (with a value, or empty) or absent.
fn query(rng: &mut Rng, pairs: &[(&str, String)]) -> (String, bool) {
    let mut q = Vec::new();
    let mut nul = false;
    for (k, v) in pairs {
        match rng.below(4) {
            0 | 1 => {}
            2 => q.push(format!("{k}=")),
            _ => {
                if v == "NUL" {
                    nul = true;
                    q.push(format!("{k}=a%00b"));
                } else {
                    q.push(format!("{k}={v}"));
                }
            }
        }
    }
    (format!("?{}", q.join("&")), nul)
}

fn list(rng: &mut Rng, world: &mut World, hub: &Hub, token: &str) -> Call {
    let product = || world.products.first().map_or("1".into(), i64::to_string);
    let some_test = world.tests.first().map_or("1".into(), i64::to_string);
    let title = |rng: &mut Rng| {
        if rng.chance(15) {
            "NUL".to_string()
        } else {
            format!("Finding%20f{}", rng.below(24))
        }
    };
    let (path, nul) = match rng.below(7) {
        0 | 1 => {
            let pairs = [
                ("product", product()),
                ("engagement", "1".into()),
                ("test", some_test),
                ("active", rng.pick(&["true", "false"]).to_string()),
                ("severity", rng.pick(&SEVERITIES).to_string()),
                ("title", title(rng)),
                ("limit", (1 + rng.below(30)).to_string()),
                ("offset", rng.below(10).to_string()),
            ];
            let (q, nul) = query(rng, &pairs);
            (format!("/api/v2/findings/{q}"), nul)
        }
        2 => {
            let name = if rng.chance(20) {
                "NUL".to_string()
            } else {
                rng.pick(&PRODUCTS).to_string()
            };
            let (q, nul) = query(rng, &[("name", name), ("limit", "2".into())]);
            (format!("/api/v2/products/{q}"), nul)
        }
        3 => {
            let name = if rng.chance(20) {
                "NUL".to_string()
            } else {
                rng.pick(&ENGAGEMENTS).to_string()
            };
            let (q, nul) = query(rng, &[("product", product()), ("name", name)]);
            (format!("/api/v2/engagements/{q}"), nul)
        }
        4 => {
            let name = if rng.chance(20) {
                "NUL".to_string()
            } else {
                rng.pick(&["sast", "deps", "Generic Findings Import"])
                    .to_string()
            };
            let (q, nul) = query(rng, &[("engagement", "1".into()), ("title", name)]);
            (format!("/api/v2/tests/{q}"), nul)
        }
        5 if !world.tests.is_empty() => {
            let t = rng.pick(&world.tests);
            (format!("/api/v2/test_imports/?test={t}"), false)
        }
        _ => return results_list(rng, world, hub, token),
    };
    let (status, body) = hub.get(token, &path);
    Call {
        kind: "list",
        what: format!("GET {path}"),
        allowed: if nul { &[400] } else { &[200] },
        status,
        body,
    }
}

/// A page of the Results API (learning finding ids and a cursor from it).
fn results_list(rng: &mut Rng, world: &mut World, hub: &Hub, token: &str) -> Call {
    // No open finding known: look for some.
    let mut filters = None;
    let q = match world.cursor.take().filter(|_| rng.chance(40)) {
        _ if world.open.is_empty() && rng.chance(50) => "?status_group=OPEN&page_size=20".into(),
        Some((list, c)) => {
            let q = format!("{list}&cursor={c}");
            filters = Some(list);
            q
        }
        None => {
            let product = world.products.first().map_or("1".into(), i64::to_string);
            let pairs = [
                ("page_size", (1 + rng.below(20)).to_string()),
                ("status_group", rng.pick(&["OPEN", "CLOSED"]).to_string()),
                ("mobile_app_id", product),
                ("results_since", "2020-01-01T00:00:00Z".into()),
            ];
            query(rng, &pairs).0
        }
    };
    let (status, body) = hub.results(token, &q);
    if status == 200 {
        for f in body["security_findings"].as_array().into_iter().flatten() {
            if let Some(id) = f["id"].as_str() {
                if !world.findings.iter().any(|k| k == id) {
                    world.findings.push(id.to_string());
                }
                world.open.retain(|k| k != id);
                if matches!(f["aggregated_status"].as_str(), Some("NEW" | "OPEN")) {
                    world.open.push(id.to_string());
                }
            }
        }
        let list = filters.unwrap_or_else(|| q.clone());
        world.cursor = body["pagination_information"]["next_cursor"]
            .as_str()
            .map(|c| (list, c.to_string()));
    }
    Call {
        kind: "results list",
        what: format!("GET {RESULTS}{q}"),
        allowed: &[200],
        status,
        body,
    }
}

fn triage(rng: &mut Rng, world: &mut World, hub: &Hub, token: &str, i: usize) -> Call {
    if world.findings.is_empty() {
        // Nothing to triage known yet: a page of findings first.
        return results_list(rng, world, hub, token);
    }
    let id = rng.pick(&world.findings).clone();
    let open = (!world.open.is_empty()).then(|| rng.pick(&world.open).clone());
    let finding = format!("{RESULTS}/{id}");
    let nul = rng.chance(5);
    let text = |what: &str| {
        if nul {
            format!("{what} {i}\u{0}")
        } else {
            format!("{what} {i}")
        }
    };
    let (kind, method, path, body, allowed): (&str, &str, String, Value, &'static [u16]) =
        match rng.below(4) {
            0 => {
                let body = match rng.below(3) {
                    0 => json!({}),
                    1 => json!({"priority": null}),
                    _ => json!({"priority": rng.pick(&["P0", "P1", "P2", "P3", "P4"])}),
                };
                ("priority", "PATCH", finding, body, &[200])
            }
            1 => {
                let status = *rng.pick(&[
                    "CLOSED_WONT_FIX",
                    "CLOSED_RISK_ACCEPTED",
                    "CLOSED_COMPENSATING_CONTROL",
                ]);
                let mut kind = match status {
                    "CLOSED_WONT_FIX" => "close wont-fix",
                    "CLOSED_RISK_ACCEPTED" => "close risk-accepted",
                    _ => "close compensating-control",
                };
                let id = open.filter(|_| rng.chance(85)).unwrap_or(id);
                world.open.retain(|k| *k != id);
                let mut body = json!({"aggregated_status": status, "reason": text("closed")});
                if rng.chance(60) {
                    body["is_permanently_closed"] = json!(rng.chance(50));
                }
                let mut allowed: &'static [u16] = if nul { &[400, 409] } else { &[200, 409] };
                // Mostly acceptances with and without an end date; now and then an end date on
                // another status (refused).
                let wants_until = if status == "CLOSED_RISK_ACCEPTED" {
                    rng.chance(50)
                } else {
                    rng.chance(10)
                };
                if wants_until {
                    let until = format!(
                        "20{}-0{}-1{}",
                        26 + rng.below(6),
                        1 + rng.below(9),
                        rng.below(10)
                    );
                    body["risk_accepted_until"] = json!(until);
                    kind = "close risk-accepted-until";
                    if status != "CLOSED_RISK_ACCEPTED" {
                        kind = "close until-without-acceptance";
                        // Only an acceptance has an end date.
                        allowed = &[400];
                    }
                } else if rng.chance(20) {
                    body["risk_accepted_until"] = json!(null);
                }
                (kind, "POST", format!("{RESULTS}/{id}/close"), body, allowed)
            }
            2 => {
                let mut body = json!({"text": text("note")});
                if rng.chance(50) {
                    body["is_question_for_datatheorem"] = json!(rng.chance(50));
                }
                let allowed: &'static [u16] = if nul { &[400] } else { &[204] };
                ("note", "POST", format!("{finding}/notes"), body, allowed)
            }
            _ => {
                let (status, body) = hub.results(token, &format!("/{id}"));
                return Call {
                    kind: "results get",
                    what: format!("GET {finding}"),
                    allowed: &[200],
                    status,
                    body,
                };
            }
        };
    let (status, answer) = hub.send_json(method, token, &path, body.clone());
    Call {
        kind,
        what: format!("{method} {path} {body}"),
        allowed,
        status,
        body: answer,
    }
}

fn label(rng: &mut Rng, world: &World, hub: &Hub, token: &str, i: usize) -> Call {
    let id = world.products.first().copied().unwrap_or(1);
    let tier = json!(format!("tier-{}", i % 3));
    let platform = json!(*rng.pick(&["android", "ios", "web"]));
    let (kind, body, allowed): (&'static str, Value, &'static [u16]) = match rng.below(7) {
        0 => ("label tier", json!({"tier": tier}), &[200]),
        1 => ("label platform", json!({"platform": platform}), &[200]),
        2 => (
            "label both",
            json!({"tier": tier, "platform": platform}),
            &[200],
        ),
        3 => ("label none", json!({}), &[200]),
        4 => (
            "label null-tier",
            json!({"tier": null, "platform": platform}),
            &[200],
        ),
        5 => ("label empty", json!({"tier": "", "platform": "  "}), &[200]),
        _ => ("label nul", json!({"tier": "t\u{0}"}), &[400]),
    };
    let id = if world.products.len() > 1 && rng.chance(50) {
        *rng.pick(&world.products)
    } else {
        id
    };
    let path = format!("/api/v2/products/{id}/");
    let (status, answer) = hub.send_json("PATCH", token, &path, body.clone());
    Call {
        kind,
        what: format!("PATCH {path} {body}"),
        allowed,
        status,
        body: answer,
    }
}

fn single(rng: &mut Rng, world: &World, hub: &Hub, token: &str) -> Call {
    let path = match rng.below(3) {
        0 if !world.products.is_empty() => {
            format!("/api/v2/products/{}/", rng.pick(&world.products))
        }
        1 if !world.tests.is_empty() => format!("/api/v2/tests/{}/", rng.pick(&world.tests)),
        _ if !world.findings.is_empty() => {
            format!("/api/v2/findings/{}/", rng.pick(&world.findings))
        }
        _ => "/api/v2/products/".to_string(),
    };
    let (status, body) = hub.get(token, &path);
    Call {
        kind: "single",
        what: format!("GET {path}"),
        allowed: &[200],
        status,
        body,
    }
}
