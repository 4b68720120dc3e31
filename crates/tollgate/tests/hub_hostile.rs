//! `tollgate serve` under hostile clients (issue 12 §4): slow and idle connections, the
//! connection cap, the request timeout, forged Results API cursors, paging parameters at the
//! edges of i64, non-UTF-8 form fields and impossible dates, and the JSON shape of every error.

use crate::hub::{generic_report, Hub};
use crate::util::temp_dir;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const RESULTS: &str = "/apis/mobile_security/results/v2/security_findings";

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Status, content type and body (JSON, or the text as a JSON string).
fn call(r: reqwest::blocking::RequestBuilder) -> (u16, String, Value) {
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ct, v)
}

/// The API's error shape: JSON, exactly `{"detail": "<text>"}`.
fn assert_error(what: &str, got: &(u16, String, Value), status: u16) {
    let (s, ct, v) = got;
    assert_eq!(*s, status, "{what}: {v}");
    assert!(
        ct.starts_with("application/json"),
        "{what}: content-type {ct:?}, body {v}"
    );
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not a JSON object: {v}"));
    assert!(
        obj.len() == 1 && obj["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: not {{\"detail\": …}}: {v}"
    );
}

fn addr(hub: &Hub) -> String {
    hub.url.trim_start_matches("http://").to_string()
}

/// A client that sends half a request head and then nothing.
fn half_header(hub: &Hub) -> TcpStream {
    let mut s = TcpStream::connect(addr(hub)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    s
}

/// Seconds (since `t0`) at which each stream was closed by the server; `None` if still open
/// at `until`.
fn closed_at(streams: &mut [TcpStream], t0: Instant, until: Duration) -> Vec<Option<f64>> {
    let mut out = vec![None; streams.len()];
    for s in streams.iter() {
        s.set_nonblocking(true).unwrap();
    }
    while t0.elapsed() < until && out.iter().any(Option::is_none) {
        for (i, s) in streams.iter_mut().enumerate() {
            if out[i].is_some() {
                continue;
            }
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => out[i] = Some(t0.elapsed().as_secs_f64()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => out[i] = Some(t0.elapsed().as_secs_f64()),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    out
}

#[test]
fn slow_header_clients_are_cut_at_the_header_timeout_while_normal_requests_succeed() {
    let hub = Hub::sqlite(
        "hostile-slow",
        &["--header-timeout", "1s", "--idle-timeout", "3s"],
    );
    let t0 = Instant::now();
    let mut slow: Vec<TcpStream> = (0..50).map(|_| half_header(&hub)).collect();
    // A client that connects and sends nothing owes its first request head too.
    slow.push(TcpStream::connect(addr(&hub)).unwrap());
    // Meanwhile normal requests are served at once.
    let c = client();
    for _ in 0..10 {
        let started = Instant::now();
        let (s, _, v) = call(c.get(format!("{}/healthz", hub.url)));
        assert_eq!(s, 200, "{v}");
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "a normal request waited {:?} behind slow clients",
            started.elapsed()
        );
    }
    let closed = closed_at(&mut slow, t0, Duration::from_secs(10));
    for (i, at) in closed.iter().enumerate() {
        let at = at.unwrap_or_else(|| panic!("slow client {i} still open after 10 s"));
        assert!(
            (0.9..4.0).contains(&at),
            "slow client {i} closed after {at:.2} s, not at the 1 s header timeout"
        );
    }

    // A kept-alive connection between requests is governed by the idle timeout (3 s), not the
    // header timeout: still open at 1.8 s, closed by 6 s.
    let mut idle = TcpStream::connect(addr(&hub)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t1 = Instant::now();
    let mut streams = [idle];
    let early = closed_at(&mut streams, t1, Duration::from_millis(1800));
    assert_eq!(
        early,
        [None],
        "an idle kept-alive connection was cut at the header timeout"
    );
    let late = closed_at(&mut streams, t1, Duration::from_secs(8));
    let at = late[0].expect("an idle kept-alive connection outlived the idle timeout");
    assert!(
        (2.5..6.0).contains(&at),
        "idle connection closed at {at:.2} s"
    );
}

#[test]
fn the_connection_cap_queues_clients_beyond_it_without_losing_normal_requests() {
    let hub = Hub::sqlite(
        "hostile-cap",
        &["--header-timeout", "1s", "--connection-limit", "4"],
    );
    let t0 = Instant::now();
    let mut slow: Vec<TcpStream> = (0..10).map(|_| half_header(&hub)).collect();
    // A normal request behind them waits its turn in the backlog, and is answered.
    let c = client();
    let (s, _, v) = call(c.get(format!("{}/healthz", hub.url)));
    assert_eq!(s, 200, "{v}");
    let closed = closed_at(&mut slow, t0, Duration::from_secs(10));
    let times: Vec<f64> = closed
        .iter()
        .map(|t| t.expect("a slow client outlived every round of the cap"))
        .collect();
    // At most 4 at a time were let in: only 4 can have been cut in the first round.
    let first_round = times.iter().filter(|t| **t < 1.5).count();
    assert!(
        first_round <= 4,
        "{first_round} connections were open at once past a cap of 4: {times:?}"
    );
    assert!(
        times.iter().any(|t| *t >= 1.5),
        "no client waited for a free slot: {times:?}"
    );
    // And once they are gone the hub answers at once.
    let started = Instant::now();
    let (s, _, _) = call(c.get(format!("{}/healthz", hub.url)));
    assert_eq!(s, 200);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_request_past_the_request_timeout_gets_a_json_503() {
    let hub = Hub::sqlite("hostile-request-timeout", &["--request-timeout", "1s"]);
    let token = hub.token("ci", "import", None);
    // A body announced and never sent in full.
    let mut s = TcpStream::connect(addr(&hub)).unwrap();
    let started = Instant::now();
    write!(
        s,
        "POST /api/v2/tollgate/gate-runs/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"product_name\":"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("}") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"detail\""), "{text}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
}

#[test]
fn forged_truncated_negative_and_swapped_cursors_are_400_and_real_ones_page() {
    for hub in Hub::each("hostile-cursor") {
        let admin = hub.token("admin", "admin", None);
        let dir = temp_dir("hostile-cursor-files");
        let report = generic_report(&dir, "shop.json", "c", 7);
        let (s, v) = hub.import(
            "import-scan",
            &admin,
            &report,
            &[
                ("scan_type", "Generic Findings Import"),
                ("product_type_name", "web"),
                ("product_name", "shop"),
                ("engagement_name", "ci"),
                ("auto_create_context", "true"),
            ],
        );
        assert_eq!(s, 201, "{v}");
        let c = client();
        let get = |q: &str| {
            call(
                c.get(format!("{}{RESULTS}{q}", hub.url))
                    .header("Authorization", format!("APIKey {admin}")),
            )
        };
        // A real cursor pages through all 7, and the total stays the hub's.
        let mut seen = 0;
        let mut cursor: Option<String> = None;
        let mut first_cursor = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("?page_size=3&cursor={c}"),
                None => "?page_size=3".to_string(),
            };
            let (s, _, page) = get(&q);
            assert_eq!(s, 200, "{page}");
            assert_eq!(page["pagination_information"]["total_count"], 7);
            seen += page["security_findings"].as_array().unwrap().len();
            match page["pagination_information"]["next_cursor"].as_str() {
                Some(next) => {
                    first_cursor.get_or_insert(next.to_string());
                    cursor = Some(next.to_string());
                }
                None => break,
            }
        }
        assert_eq!(seen, 7);
        // The two: a made-up total, and a negative one.
        assert_error("cursor 0.ffffff", &get("?cursor=0.ffffff"), 400);
        assert_error("cursor -1.-1", &get("?cursor=-1.-1"), 400);
        let real = first_cursor.unwrap();
        let parts: Vec<&str> = real.split('.').collect();
        assert_eq!(parts.len(), 3, "{real}");
        // What a client could make up: the two, a changed total, a truncated tag,
        // an extra part, a tag from another cursor.
        let (_, _, open_page) = get("?page_size=3&status_group=OPEN");
        let open_cursor = open_page["pagination_information"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        let forged = [
            format!("{}.ffffff.{}", parts[0], parts[2]),
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                &parts[2][..parts[2].len() - 2]
            ),
            format!("{real}.0"),
            format!("-{real}"),
            format!("{}.{}.{}", parts[0], parts[1], "0".repeat(parts[2].len())),
        ];
        for bad in &forged {
            assert_error(
                &format!("cursor {bad}"),
                &get(&format!("?cursor={bad}")),
                400,
            );
        }
        // A cursor of the OPEN list is no cursor of the whole list, and vice versa.
        assert_error(
            "swapped cursor",
            &get(&format!("?cursor={open_cursor}")),
            400,
        );
        assert_error(
            "swapped cursor",
            &get(&format!("?status_group=OPEN&cursor={real}")),
            400,
        );
        // A second replica shares the key through the database: it reads the first's cursor.
        let replica = hub.replica();
        let (s, _, page) = call(
            c.get(format!(
                "{}{RESULTS}?page_size=3&cursor={real}",
                replica.url
            ))
            .header("Authorization", format!("APIKey {admin}")),
        );
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["pagination_information"]["total_count"], 7);
    }
}

#[test]
fn paging_parameters_never_wrap_and_bad_ones_are_400() {
    for hub in Hub::each("hostile-paging") {
        let admin = hub.token("admin", "admin", None);
        let dir = temp_dir("hostile-paging-files");
        let report = generic_report(&dir, "shop.json", "p", 3);
        let (s, v) = hub.import(
            "import-scan",
            &admin,
            &report,
            &[
                ("scan_type", "Generic Findings Import"),
                ("product_type_name", "web"),
                ("product_name", "shop"),
                ("engagement_name", "ci"),
                ("auto_create_context", "true"),
            ],
        );
        assert_eq!(s, 201, "{v}");
        let test_id = v["test"].as_i64().unwrap();
        let c = client();
        let get = |path: &str| {
            call(
                c.get(format!("{}{path}", hub.url))
                    .header("Authorization", format!("Token {admin}")),
            )
        };
        let lists = [
            "/api/v2/products/?".to_string(),
            "/api/v2/engagements/?".to_string(),
            "/api/v2/tests/?".to_string(),
            "/api/v2/test_types/?".to_string(),
            "/api/v2/findings/?".to_string(),
            format!("/api/v2/test_imports/?test={test_id}&"),
        ];
        for list in &lists {
            let (s, _, page) = get(&format!("{list}offset=9223372036854775807"));
            assert_eq!(s, 200, "{list}: {page}");
            assert_eq!(page["next"], Value::Null, "{list}: {page}");
            let prev = page["previous"].as_str().unwrap();
            let offset: i64 = prev.rsplit("offset=").next().unwrap().parse().unwrap();
            assert!(offset >= 0, "{list}: previous link {prev}");
            let (s, _, page) = get(&format!("{list}limit=2&offset=9223372036854775806"));
            assert_eq!(s, 200, "{list}: {page}");
            assert_eq!(page["next"], Value::Null, "{list}: {page}");
            // A limit past the largest page is the largest page.
            let (s, _, page) = get(&format!("{list}limit=99999999&offset=1"));
            assert_eq!(s, 200, "{list}: {page}");
            assert!(
                page["previous"].as_str().unwrap().contains("limit=5000&"),
                "{list}: {page}"
            );
            for bad in [
                "offset=-1",
                "offset=-9223372036854775808",
                "offset=9223372036854775808",
                "limit=0",
                "limit=-5",
                "limit=99999999999999999999",
                "limit=ten",
            ] {
                assert_error(&format!("{list}{bad}"), &get(&format!("{list}{bad}")), 400);
            }
        }
        for bad in ["0", "-1", "1001", "99999999999999999999", "x"] {
            let q = format!("{RESULTS}?page_size={bad}");
            assert_error(&q, &get(&q), 400);
        }
    }
}

#[test]
fn non_utf8_form_fields_and_impossible_dates_are_400_naming_the_field() {
    for hub in Hub::each("hostile-form") {
        let admin = hub.token("admin", "admin", None);
        let dir = temp_dir("hostile-form-files");
        let report = generic_report(&dir, "shop.json", "f", 2);
        let c = client();
        let send = |fields: Vec<(&'static str, Vec<u8>)>| {
            let mut form = reqwest::blocking::multipart::Form::new()
                .file("file", &report)
                .unwrap();
            for (k, v) in fields {
                form = form.part(k, reqwest::blocking::multipart::Part::bytes(v));
            }
            call(
                c.post(format!("{}/api/v2/import-scan/", hub.url))
                    .header("Authorization", format!("Token {admin}"))
                    .multipart(form),
            )
        };
        let base = |over: &[(&'static str, &[u8])]| {
            let mut v: Vec<(&'static str, Vec<u8>)> = [
                ("scan_type", &b"Generic Findings Import"[..]),
                ("product_type_name", b"web"),
                ("product_name", b"shop"),
                ("engagement_name", b"ci"),
                ("auto_create_context", b"true"),
            ]
            .iter()
            .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
            .map(|(k, v)| (*k, v.to_vec()))
            .collect();
            v.extend(over.iter().map(|(k, v)| (*k, v.to_vec())));
            v
        };
        for field in [
            "product_name",
            "engagement_name",
            "product_type_name",
            "scan_type",
            "tags",
            "version",
            "test_title",
        ] {
            let got = send(base(&[(field, b"bad\xff\xfename")]));
            assert_error(field, &got, 400);
            let detail = got.2["detail"].as_str().unwrap();
            assert!(detail.contains(field), "{field}: {detail}");
            assert!(detail.contains("UTF-8"), "{field}: {detail}");
        }
        for date in [
            "2023-02-31",
            "2023-02-29",
            "2023-04-31",
            "2023-13-01",
            "2023-1-01",
        ] {
            let got = send(base(&[("scan_date", date.as_bytes())]));
            assert_error(date, &got, 400);
            assert!(got.2["detail"].as_str().unwrap().contains("scan_date"));
        }
        // Nothing of that was stored: no product at all yet.
        let (s, _, products) = call(
            c.get(format!("{}/api/v2/products/", hub.url))
                .header("Authorization", format!("Token {admin}")),
        );
        assert_eq!(s, 200);
        assert_eq!(products["count"], 0, "{products}");
        // A leap day is a date.
        let (s, _, v) = send(base(&[("scan_date", b"2024-02-29")]));
        assert_eq!(s, 201, "{v}");
        // The Results API's date filter reads calendar dates too.
        let (s, _, v) = call(
            c.get(format!("{}{RESULTS}?results_since=2023-02-31", hub.url))
                .header("Authorization", format!("APIKey {admin}")),
        );
        assert_eq!(s, 400, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("results_since"));
    }
}

#[test]
fn every_error_axum_used_to_answer_itself_is_json_detail() {
    let hub = Hub::sqlite("hostile-errors", &[]);
    let token = hub.token("admin", "admin", None);
    let c = client();
    let auth =
        |r: reqwest::blocking::RequestBuilder| r.header("Authorization", format!("Token {token}"));
    let url = |p: &str| format!("{}{p}", hub.url);
    // A multipart body without a boundary.
    assert_error(
        "multipart without boundary",
        &call(auth(
            c.post(url("/api/v2/import-scan/"))
                .header("Content-Type", "multipart/form-data")
                .body("x"),
        )),
        400,
    );
    // Not multipart at all.
    assert_error(
        "import as JSON",
        &call(auth(
            c.post(url("/api/v2/import-scan/"))
                .json(&serde_json::json!({})),
        )),
        400,
    );
    // Unparsable path ids name nothing: 404.
    for p in [
        "/api/v2/findings/abc/",
        "/api/v2/products/9223372036854775808/",
        "/api/v2/tests/-/",
        "/api/v2/engagements/1.5/",
    ] {
        assert_error(p, &call(auth(c.get(url(p)))), 404);
    }
    assert_error(
        "PATCH bad id",
        &call(auth(
            c.patch(url("/api/v2/products/abc/"))
                .json(&serde_json::json!({"tier": "tier-1"})),
        )),
        404,
    );
    // Repeated query keys and bad values.
    for p in [
        "/api/v2/findings/?test=1&test=2",
        "/api/v2/products/?offset=1&offset=2",
        &format!("{RESULTS}?status_group=OPEN&status_group=CLOSED"),
        "/api/v2/tollgate/baseline/?product_name=a&product_name=b",
        "/api/v2/findings/?active=maybe",
        "/api/v2/findings/?severity=urgent",
        "/api/v2/findings/?test=%FF",
        "/api/v2/products/?name=bad%FF%FEname",
        "/api/v2/tollgate/baseline/?product_name=bad%FFname",
    ] {
        assert_error(p, &call(auth(c.get(url(p)))), 400);
    }
    // Bad JSON bodies: syntax, wrong type, wrong content type.
    assert_error(
        "JSON syntax",
        &call(auth(
            c.patch(url("/api/v2/products/1/"))
                .header("Content-Type", "application/json")
                .body("{"),
        )),
        400,
    );
    assert_error(
        "JSON type",
        &call(auth(
            c.post(url("/api/v2/tollgate/gate-runs/"))
                .json(&serde_json::json!({"product_name": 5})),
        )),
        400,
    );
    assert_error(
        "JSON without content type",
        &call(auth(c.post(url(&format!("{RESULTS}/1/notes"))).body("{}"))),
        415,
    );
    // Unknown routes and methods.
    assert_error("unknown route", &call(auth(c.get(url("/nope")))), 404);
    assert_error(
        "unknown API route",
        &call(auth(c.get(url("/api/v2/users/")))),
        404,
    );
    let got = c.delete(url("/api/v2/findings/")).send().unwrap();
    let allow = got
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(allow.as_deref(), Some("GET,HEAD"));
    let got = call(c.delete(url("/api/v2/findings/")));
    assert_error("DELETE", &got, 405);
    assert_error("PUT", &call(auth(c.put(url("/api/v2/import-scan/")))), 405);
    // A bad sign-in form.
    assert_error(
        "login without token",
        &call(
            c.post(url("/ui/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("user=x"),
        ),
        400,
    );
    assert_error(
        "login as text",
        &call(
            c.post(url("/ui/login"))
                .header("Content-Type", "text/plain")
                .body("token=x"),
        ),
        415,
    );
}
