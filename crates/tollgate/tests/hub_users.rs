//! People at the hub (issue 15 §1): `tollgate user create|list|disable`, sign-in with a name and
//! a password, session cookies, sign-out, and a product-limited user who never sees another
//! product's name or numbers — the real binary, on SQLite and PostgreSQL.

use crate::hub::{client, generic_report, Hub};
use crate::hub_authz::csrf_form_named;
use crate::util::{stderr, temp_dir};
use reqwest::blocking::Response;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const B_NAME: &str = "bravo-secret";
const B_MARKER: &str = "Finding bravo";
const PASSWORD: &str = "correct horse battery staple";

fn no_redirects() -> reqwest::blocking::Client {
    let _ = client();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `tollgate user ARGS… --database DB`, with `stdin` piped in.
fn user(hub: &Hub, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("user")
        .args(args)
        .args(["--database", &hub.database])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Signs in with `name` and `password`; the response (303 with the session cookie, or 401).
fn sign_in(hub: &Hub, csrf_cookie: &str, csrf: &str, name: &str, password: &str) -> Response {
    no_redirects()
        .post(format!("{}/ui/login", hub.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Cookie", csrf_cookie)
        .body(format!(
            "name={}&password={}&csrf={csrf}",
            name.replace(' ', "+"),
            password.replace(' ', "+")
        ))
        .send()
        .unwrap()
}

/// The `name=value` of the session cookie a sign-in set.
fn session_of(r: &Response, cookie_name: &str) -> String {
    set_cookies(r)
        .into_iter()
        .find(|c| c.starts_with(&format!("{cookie_name}=")) && !c.contains("Max-Age=0"))
        .unwrap_or_else(|| panic!("no {cookie_name} cookie in {:?}", set_cookies(r)))
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn get(hub: &Hub, path: &str, cookie: &str) -> (u16, String) {
    let r = no_redirects()
        .get(format!("{}{path}", hub.url))
        .header("Cookie", cookie)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn import(hub: &Hub, token: &str, report: &Path, product: &str) -> serde_json::Value {
    let (s, v) = hub.import(
        "import-scan",
        token,
        report,
        &[
            ("scan_type", "Generic Findings Import"),
            ("product_type_name", "web"),
            ("product_name", product),
            ("engagement_name", "ci"),
            ("auto_create_context", "true"),
        ],
    );
    assert_eq!(s, 201, "{v}");
    v
}

#[test]
fn a_product_limited_person_signs_in_sees_only_their_product_and_signs_out() {
    for hub in Hub::each("users-sign-in") {
        let n = hub.backend;
        let dir = temp_dir(&format!("hub-users-{n}"));
        let admin = hub.token("root", "admin", None);
        let a = import(
            &hub,
            &admin,
            &generic_report(&dir, "a.json", "alpha", 3),
            "alpha",
        );
        let b = import(
            &hub,
            &admin,
            &generic_report(&dir, "b.json", "bravo", 4),
            B_NAME,
        );
        let (a_product, b_product) = (
            a["product_id"].as_i64().unwrap(),
            b["product_id"].as_i64().unwrap(),
        );
        let (_, bf) = hub.get(&admin, &format!("/api/v2/findings/?product={b_product}"));
        let b_finding = bf["results"][0]["id"].as_i64().unwrap();
        let (s, run) = hub.send_json(
            "POST",
            &admin,
            "/api/v2/tollgate/gate-runs/",
            serde_json::json!({"product_name": B_NAME, "outcome": "FAIL", "release_tag": B_NAME}),
        );
        assert_eq!(s, 201, "{run}");
        let b_gate_run = run["id"].as_i64().unwrap();
        let (b_engagement, b_test) = (
            b["engagement_id"].as_i64().unwrap(),
            b["test_id"].as_i64().unwrap(),
        );

        // The password never rides on argv; the policy is checked; the file's first line is it.
        let argv = user(
            &hub,
            &[
                "create",
                "--name",
                "mallory",
                "--scope",
                "read",
                "--password",
                PASSWORD,
            ],
            PASSWORD,
        );
        assert_eq!(argv.status.code(), Some(2), "{n}: {}", stderr(&argv));
        assert!(stderr(&argv).contains("`ps`"), "{}", stderr(&argv));
        let short = user(
            &hub,
            &["create", "--name", "mallory", "--scope", "read"],
            "short\n",
        );
        assert_eq!(short.status.code(), Some(2), "{n}");
        assert!(stderr(&short).contains("at least 12"), "{}", stderr(&short));
        let pw_file = dir.join("alice.pw");
        std::fs::write(&pw_file, format!("{PASSWORD}\nignored second line\n")).unwrap();
        let alice = user(
            &hub,
            &[
                "create",
                "--name",
                "alice",
                "--scope",
                "read,triage",
                "--product",
                "alpha",
                "--password-file",
                pw_file.to_str().unwrap(),
            ],
            "",
        );
        assert!(alice.status.success(), "{n}: {}", stderr(&alice));
        let bob = user(
            &hub,
            &["create", "--name", "bob", "--scope", "read"],
            &format!("{PASSWORD}\n"),
        );
        assert!(bob.status.success(), "{n}: {}", stderr(&bob));
        let missing = user(
            &hub,
            &[
                "create",
                "--name",
                "x",
                "--scope",
                "read",
                "--password-file",
                "/no/such.pw",
            ],
            "",
        );
        assert!(
            stderr(&missing).contains("/no/such.pw"),
            "{}",
            stderr(&missing)
        );

        // Sign in: a session cookie, HttpOnly, SameSite=Lax, Path=/, bounded, not Secure on http.
        let (csrf_cookie, csrf) = csrf_form_named(&hub, "tollgate_csrf");
        let r = sign_in(&hub, &csrf_cookie, &csrf, "alice", PASSWORD);
        assert_eq!(r.status().as_u16(), 303, "{n}");
        assert_eq!(r.headers()["location"], "/");
        let set = set_cookies(&r);
        let session_cookie = set
            .iter()
            .find(|c| c.starts_with("tollgate_session="))
            .unwrap();
        assert!(
            session_cookie.contains("; HttpOnly; SameSite=Lax; Path=/; Max-Age=43200")
                && !session_cookie.contains("Secure"),
            "{session_cookie}"
        );
        assert!(
            set.iter()
                .any(|c| c.starts_with("tollgate_token=;") && c.contains("Max-Age=0")),
            "a person's sign-in clears a token sign-in: {set:?}"
        );
        let alice_session = session_of(&r, "tollgate_session");
        assert_eq!(alice_session.len(), "tollgate_session=".len() + 64);

        // Alice sees alpha, and nothing of bravo-secret: not its name, not its findings.
        let (s, home) = get(&hub, "/", &alice_session);
        assert_eq!(s, 200, "{n}");
        assert!(
            home.contains("alpha") && home.contains("signed in as alice"),
            "{home}"
        );
        assert!(!home.contains(B_NAME), "{n}: {home}");
        let (s, page) = get(&hub, &format!("/ui/products/{a_product}"), &alice_session);
        assert_eq!(s, 200, "{n}");
        assert!(
            page.contains("alpha") && page.contains(&format!("/ui/findings?product={a_product}")),
            "{page}"
        );
        let (missing_status, missing_page) = get(&hub, "/ui/products/99999999", &alice_session);
        let (s, page) = get(&hub, &format!("/ui/products/{b_product}"), &alice_session);
        assert_eq!(
            (s, &page),
            (missing_status, &missing_page),
            "{n}: like a missing one"
        );
        assert_eq!(s, 404);
        let (_, missing_finding) = get(&hub, "/ui/findings/99999999", &alice_session);
        let (s, page) = get(&hub, &format!("/ui/findings/{b_finding}"), &alice_session);
        assert_eq!((s, &page), (404, &missing_finding), "{n}");
        // Every UI page there is (the metrics pages too, when they come), aimed at bravo.
        for (m, pattern) in tollgate_server::routes::route_table() {
            if m.as_str() != "GET" || !(pattern == "/" || pattern.starts_with("/ui/")) {
                continue;
            }
            let path = if pattern.starts_with("/ui/products/") {
                pattern.replace("{id}", &b_product.to_string())
            } else if pattern.starts_with("/ui/findings/") {
                pattern.replace("{id}", &b_finding.to_string())
            } else if pattern.starts_with("/ui/engagements/") {
                pattern.replace("{id}", &b_engagement.to_string())
            } else if pattern.starts_with("/ui/tests/") {
                pattern.replace("{id}", &b_test.to_string())
            } else if pattern.starts_with("/ui/gate-runs/") {
                pattern.replace("{id}", &b_gate_run.to_string())
            } else if pattern.contains('{') {
                panic!("tests/hub_users.rs does not know how to aim {pattern} at another product: teach it");
            } else {
                format!("{pattern}?product={b_product}&product_id={b_product}")
            };
            let (s, text) = get(&hub, &path, &alice_session);
            assert!(s < 500, "{n}: {path} → {s}");
            assert!(
                !text.contains(B_NAME) && !text.contains(B_MARKER),
                "{n}: {path} shows bravo to a user limited to alpha"
            );
        }
        // The API is deaf to the UI's cookie.
        let api = no_redirects()
            .get(format!("{}/api/v2/findings/", hub.url))
            .header("Cookie", &alice_session)
            .send()
            .unwrap();
        assert_eq!(api.status().as_u16(), 401, "{n}");

        // One answer for an unknown name and a wrong password.
        let wrong = sign_in(&hub, &csrf_cookie, &csrf, "alice", "wrong horse battery");
        let unknown = sign_in(&hub, &csrf_cookie, &csrf, "nobody", PASSWORD);
        assert_eq!(wrong.status().as_u16(), 401, "{n}");
        assert_eq!(unknown.status().as_u16(), 401, "{n}");
        assert!(set_cookies(&wrong).is_empty() && set_cookies(&unknown).is_empty());
        assert_eq!(wrong.text().unwrap(), unknown.text().unwrap(), "{n}");
        // Without the CSRF field: refused before any password is looked at.
        let forged = no_redirects()
            .post(format!("{}/ui/login", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "name=alice&password={}",
                PASSWORD.replace(' ', "+")
            ))
            .send()
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403, "{n}");

        // `user list`: who, what, when — never a hash.
        let list = user(&hub, &["list"], "");
        let text = String::from_utf8(list.stdout).unwrap();
        assert!(list.status.success(), "{n}");
        let alice_row = text.lines().find(|l| l.starts_with("alice\t")).unwrap();
        assert!(
            alice_row.starts_with("alice\tread,triage\talpha\t"),
            "{alice_row}"
        );
        assert!(
            !alice_row.ends_with("\t-\t-"),
            "last sign-in shown: {alice_row}"
        );
        assert!(
            !text.contains("argon2") && !text.contains("mallory"),
            "{text}"
        );

        // Sign-out needs the CSRF field, deletes the session, clears the cookie.
        let refused = no_redirects()
            .post(format!("{}/ui/logout", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("Cookie", &alice_session)
            .body("")
            .send()
            .unwrap();
        assert_eq!(refused.status().as_u16(), 403, "{n}");
        assert_eq!(
            get(&hub, "/", &alice_session).0,
            200,
            "{n}: still signed in"
        );
        let out = no_redirects()
            .post(format!("{}/ui/logout", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("Cookie", format!("{alice_session}; {csrf_cookie}"))
            .body(format!("csrf={csrf}"))
            .send()
            .unwrap();
        assert_eq!(out.status().as_u16(), 303, "{n}");
        assert_eq!(out.headers()["location"], "/ui/login");
        assert!(
            set_cookies(&out)
                .iter()
                .any(|c| c.starts_with("tollgate_session=;") && c.contains("Max-Age=0")),
            "{:?}",
            set_cookies(&out)
        );
        // A copy of the old cookie is worthless: the session is gone from the database.
        assert_eq!(get(&hub, "/", &alice_session).0, 303, "{n}");

        // Disabling a user ends their sessions at once and refuses their sign-in.
        let r = sign_in(&hub, &csrf_cookie, &csrf, "bob", PASSWORD);
        let bob_session = session_of(&r, "tollgate_session");
        let (s, home) = get(&hub, "/", &bob_session);
        assert_eq!(s, 200);
        assert!(
            home.contains(B_NAME) && home.contains("alpha"),
            "bob is not limited"
        );
        let disabled = user(&hub, &["disable", "bob"], "");
        assert!(disabled.status.success(), "{n}: {}", stderr(&disabled));
        assert_eq!(get(&hub, "/", &bob_session).0, 303, "{n}: session ended");
        let again = sign_in(&hub, &csrf_cookie, &csrf, "bob", PASSWORD);
        assert_eq!(again.status().as_u16(), 401, "{n}");
        assert_eq!(
            again.text().unwrap(),
            missing_text(&hub, &csrf_cookie, &csrf)
        );
        let twice = user(&hub, &["disable", "bob"], "");
        assert_eq!(twice.status.code(), Some(2), "{n}");

        // The token sign-in stays, for automation: the browser gets a session, never the token,
        // and revoking the token signs it out at once.
        let t = hub.token("robot", "read", Some("alpha"));
        let r = no_redirects()
            .post(format!("{}/ui/login", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("Cookie", &csrf_cookie)
            .body(format!("token={t}&csrf={csrf}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{n}");
        assert!(
            !set_cookies(&r).iter().any(|c| c.contains(&t)),
            "{n}: the token is not handed to the browser"
        );
        let robot_session = session_of(&r, "tollgate_session");
        let (s, home) = get(&hub, "/", &robot_session);
        assert_eq!(s, 200);
        assert!(home.contains("signed in as robot (token)") && !home.contains(B_NAME));
        let (s, _) = get(&hub, &format!("/ui/products/{b_product}"), &robot_session);
        assert_eq!(
            s, 404,
            "{n}: the token's product limit holds in its session"
        );
        // A script may still send the token itself as a cookie.
        assert_eq!(get(&hub, "/", &format!("tollgate_token={t}")).0, 200);
        let revoked = crate::util::tollgate(&[
            "token",
            "revoke",
            "--name",
            "robot",
            "--database",
            &hub.database,
        ]);
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        assert_eq!(get(&hub, "/", &robot_session).0, 303, "{n}: signed out");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The page of a refused sign-in for a name that does not exist.
fn missing_text(hub: &Hub, csrf_cookie: &str, csrf: &str) -> String {
    sign_in(hub, csrf_cookie, csrf, "no-such-person", PASSWORD)
        .text()
        .unwrap()
}

#[test]
fn behind_https_the_session_cookie_is_secure_and_host_prefixed() {
    let hub = Hub::sqlite("users-https", &["--public-url", "https://hub.example"]);
    let out = user(
        &hub,
        &["create", "--name", "dana", "--scope", "read"],
        PASSWORD,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (csrf_cookie, csrf) = csrf_form_named(&hub, "__Host-tollgate_csrf");
    let r = sign_in(&hub, &csrf_cookie, &csrf, "dana", PASSWORD);
    assert_eq!(r.status().as_u16(), 303);
    let set = set_cookies(&r);
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-tollgate_session="))
        .unwrap_or_else(|| panic!("{set:?}"));
    assert!(
        session.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=43200; Secure"),
        "{session}"
    );
    let cookie = session_of(&r, "__Host-tollgate_session");
    assert_eq!(get(&hub, "/", &cookie).0, 200);
    // Signing in again from that browser ends its old session (no session fixation).
    let again = sign_in(
        &hub,
        &format!("{csrf_cookie}; {cookie}"),
        &csrf,
        "dana",
        PASSWORD,
    );
    let fresh = session_of(&again, "__Host-tollgate_session");
    assert_ne!(fresh, cookie);
    assert_eq!(get(&hub, "/", &cookie).0, 303, "the old session ended");
    assert_eq!(get(&hub, "/", &fresh).0, 200);
    let cookie = fresh;
    // The plain name is not read behind HTTPS (a sibling domain could have planted it).
    let plain = cookie.replacen("__Host-", "", 1);
    assert_eq!(get(&hub, "/", &plain).0, 303);
}
