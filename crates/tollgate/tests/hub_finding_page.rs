//! The finding page (issue 15 §2 "Finding"), the real binary on SQLite and PostgreSQL: scanner
//! text and notes full of hostile HTML and Markdown render with nothing executable; a triager
//! closes with a reason, sets the priority and adds notes through the page's forms (CSRF-checked,
//! recorded with their name); a read-only person gets no forms and a 403; a person limited to
//! another product gets exactly the 404 of a missing finding, for the page and every form.

use crate::hub::{client, Hub};
use crate::hub_authz::csrf_form;
use crate::util::{stderr, temp_dir};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const PASSWORD: &str = "correct horse battery staple";
/// What the hostile finding's texts try to run: none of these may reach the page as markup.
const HOSTILE_TITLE: &str = "<script>alert('title')</script> SQL injection";
const HOSTILE_DESCRIPTION: &str = "Found **SQL injection**.\n\n\
    <script>alert('desc')</script>\n\n\
    <img src=x onerror=alert('img')> and <svg onload=alert('svg')>\n\n\
    [click me](javascript:alert('link')) [case](JaVaScRiPt:alert(1)) [tab](java\tscript:alert(1)) \
    [entity](jav&#x09;ascript:alert(1)) <javascript:alert('autolink')> [ref][evil]\n\n\
    [**nested _markdown_**](javascript:alert('nested')) ![pixel](https://tracker.example/p.png)\n\n\
    </details><details open ontoggle=alert('details')>\n\n\
    [evil]: javascript:alert('reference')\n";
const HOSTILE_RECOMMENDATION: &str =
    "Use [parameterized queries](https://owasp.example/sqli).\n\n<a href=\"javascript:alert('rec')\" onclick=\"alert('rec')\">fix</a>";
const HOSTILE_NOTE: &str =
    "Reproduced. [proof](javascript:alert('note')) <img src=x onerror=alert('note')> **confirmed**";
const SECRET: &str = "AKIAIOSFODNN7EXAMPLEKEY";

fn no_redirects() -> reqwest::blocking::Client {
    let _ = client();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `tollgate user create --name NAME --scope SCOPES [--product P]`, the password on stdin.
fn create_user(hub: &Hub, name: &str, scopes: &str, product: Option<&str>) {
    let mut args = vec![
        "user",
        "create",
        "--name",
        name,
        "--scope",
        scopes,
        "--database",
        &hub.database,
    ];
    if let Some(p) = product {
        args.extend(["--product", p]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user create {name}: {}", stderr(&out));
}

/// A browser of `name`: its cookies (the session and the CSRF pair) and the CSRF value.
struct Browser {
    cookies: String,
    csrf: String,
}

fn sign_in(hub: &Hub, name: &str) -> Browser {
    let (csrf_cookie, csrf) = csrf_form(hub);
    let r = no_redirects()
        .post(format!("{}/ui/login", hub.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Cookie", &csrf_cookie)
        .body(format!(
            "name={name}&password={}&csrf={csrf}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{name} signs in");
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("tollgate_session=") && !c.contains("Max-Age=0"))
        .unwrap();
    Browser {
        cookies: format!("{}; {csrf_cookie}", session.split(';').next().unwrap()),
        csrf,
    }
}

fn get(hub: &Hub, b: &Browser, path: &str) -> (u16, String) {
    let r = no_redirects()
        .get(format!("{}{path}", hub.url))
        .header("Cookie", &b.cookies)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn urlencoded(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs `form` (urlencoded pairs) with the browser's cookies; (status, Location, body).
fn post(hub: &Hub, cookies: &str, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = no_redirects()
        .post(format!("{}{path}", hub.url))
        .header("Cookie", cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(urlencoded(form))
        .send()
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), location, r.text().unwrap())
}

fn import(
    hub: &Hub,
    token: &str,
    report: &Path,
    scan_type: &str,
    product: &str,
    eng: &str,
) -> Value {
    let (s, v) = hub.import(
        "import-scan",
        token,
        report,
        &[
            ("scan_type", scan_type),
            ("product_type_name", "web"),
            ("product_name", product),
            ("engagement_name", eng),
            ("auto_create_context", "true"),
        ],
    );
    assert_eq!(s, 201, "{}: {v}", hub.backend);
    v
}

/// The id of the one finding of `product` whose title contains `needle`.
fn finding_id(hub: &Hub, token: &str, product: i64, needle: &str) -> i64 {
    let (_, page) = hub.get(
        token,
        &format!("/api/v2/findings/?product={product}&limit=100"),
    );
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"].as_str().unwrap().contains(needle))
        .unwrap_or_else(|| panic!("no finding {needle:?} in {page}"))["id"]
        .as_i64()
        .unwrap()
}

/// `&…;` entities of an attribute value decoded, as a browser reads it.
fn decode(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let e = &rest[1..end];
            let c = match e {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "colon" => Some(':'),
                "Tab" => Some('\t'),
                _ if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                _ if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What is wrong with `html` for a browser, if anything: a script element, an element outside the
/// UI's own set, an event-handler attribute, or a URL attribute that is not http(s), mailto or
/// relative. The page is ours: every `<` in it opens one of our elements (scanner text is
/// escaped), so reading tags by splitting at `<` is exact.
fn executable(html: &str) -> Option<String> {
    const ELEMENTS: &[&str] = &[
        "html",
        "head",
        "meta",
        "title",
        "link",
        "body",
        "p",
        "a",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "nav",
        "section",
        "table",
        "thead",
        "tr",
        "th",
        "td",
        "form",
        "fieldset",
        "legend",
        "label",
        "input",
        "textarea",
        "select",
        "option",
        "button",
        "code",
        "pre",
        "div",
        "span",
        "ul",
        "ol",
        "li",
        "b",
        "em",
        "strong",
        "del",
        "br",
        "hr",
        "blockquote",
    ];
    for piece in html.split('<').skip(1) {
        if piece.starts_with("!doctype") {
            continue;
        }
        let tag = piece.split('>').next().unwrap();
        let body = tag.trim_start_matches('/');
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !ELEMENTS.contains(&name.as_str()) {
            return Some(format!("element <{tag}>"));
        }
        // Attribute names are outside the quoted values.
        let outside: Vec<&str> = body[name.len()..].split('"').collect();
        for (i, part) in outside.iter().enumerate() {
            if i % 2 == 1 {
                continue;
            }
            for word in part.split_whitespace() {
                let key = word.trim_end_matches('=').to_ascii_lowercase();
                if key.starts_with("on") || key == "style" || key == "srcdoc" {
                    return Some(format!("attribute {key} in <{tag}>"));
                }
                if ["href", "src", "action", "formaction"].contains(&key.as_str()) {
                    let value = decode(outside.get(i + 1).copied().unwrap_or(""));
                    let squeezed: String = value
                        .chars()
                        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                        .collect();
                    let end = squeezed.find(['/', '?', '#']).unwrap_or(squeezed.len());
                    if let Some(colon) = squeezed[..end].find(':') {
                        let scheme = squeezed[..colon].to_ascii_lowercase();
                        if !["http", "https", "mailto"].contains(&scheme.as_str()) {
                            return Some(format!("{key}={value:?} in <{tag}>"));
                        }
                    }
                }
            }
        }
    }
    if html.to_ascii_lowercase().contains("<script") {
        return Some("a script element".into());
    }
    None
}

/// The hidden CSRF value of the form posting to `action`.
fn form_csrf<'a>(page: &'a str, action: &str) -> Option<&'a str> {
    let form = page.split(&format!("action=\"{action}\"")).nth(1)?;
    let form = form.split("</form>").next()?;
    form.split("name=\"csrf\" value=\"")
        .nth(1)?
        .split('"')
        .next()
}

fn notes_of(hub: &Hub, token: &str, id: i64) -> Vec<String> {
    let (s, v) = hub.results(token, &format!("/{id}"));
    assert_eq!(s, 200, "{v}");
    v["notes"]
        .as_array()
        .map(|n| {
            n.iter()
                .map(|n| n["text"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_executable_check_catches_live_markup() {
    for live in [
        "<p><script>alert(1)</script></p>",
        "<p><img src=x onerror=alert(1)></p>",
        "<p><a href=\"javascript:alert(1)\">x</a></p>",
        "<p><a href=\"jav&#x09;ascript:alert(1)\">x</a></p>",
        "<p><a href=\" JAVASCRIPT:alert(1)\">x</a></p>",
        "<p onclick=\"alert(1)\">x</p>",
        "<p><svg onload=alert(1)></p>",
        "<p><details open ontoggle=alert(1)></p>",
    ] {
        assert!(executable(live).is_some(), "not caught: {live}");
    }
    assert_eq!(
        executable(
            "<p><a href=\"https://ok.example/?a=1&amp;b=2\" rel=\"x\">&lt;script&gt;</a></p>"
        ),
        None
    );
}

#[test]
fn the_finding_page_renders_hostile_text_inert_and_triages_by_scope_and_product() {
    for hub in Hub::each("finding-page") {
        let n = hub.backend;
        let dir = temp_dir(&format!("finding-page-{n}"));
        let admin = hub.token("root", "admin", None);

        let hostile = dir.join("hostile.json");
        std::fs::write(
            &hostile,
            serde_json::to_vec(&json!({"findings": [{
                "title": HOSTILE_TITLE,
                "severity": "High",
                "description": HOSTILE_DESCRIPTION,
                "mitigation": HOSTILE_RECOMMENDATION,
                "references": "javascript:alert('ref')\nhttps://ok.example/advisory\n<img src=x onerror=alert('ref')>",
                "file_path": "src/\"><svg onload=alert('path')>.py",
                "line": 42,
                "cwe": 89,
                "vulnerability_ids": ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "<script>alert('id')</script>"],
                "unique_id_from_tool": "hostile-1",
            }]}))
            .unwrap(),
        )
        .unwrap();
        let shop = import(
            &hub,
            &admin,
            &hostile,
            "Generic Findings Import",
            "shop",
            "ci",
        );
        let shop_id = shop["product_id"].as_i64().unwrap();
        let leaks = dir.join("gitleaks.json");
        std::fs::write(
            &leaks,
            serde_json::to_vec(&json!([{
                "Description": "AWS", "StartLine": 2, "EndLine": 2, "StartColumn": 1, "EndColumn": 24,
                "Match": format!("key = {SECRET}"), "Secret": SECRET, "File": "conf/aws.tf",
                "Commit": "74d53286c550630f80847d37f68aa3065554ac81", "Entropy": 4.1,
                "Author": "a", "Email": "a@example.org", "Date": "2021-10-14T17:05:15Z",
                "Message": "m", "Tags": [], "RuleID": "aws-access-token",
            }]))
            .unwrap(),
        )
        .unwrap();
        import(&hub, &admin, &leaks, "Gitleaks Scan", "shop", "secrets");
        let other_report = crate::hub::generic_report(&dir, "other.json", "other", 1);
        let other = import(
            &hub,
            &admin,
            &other_report,
            "Generic Findings Import",
            "other",
            "ci",
        );
        let other_id = other["product_id"].as_i64().unwrap();
        let id = finding_id(&hub, &admin, shop_id, "SQL injection");
        let secret_id = finding_id(&hub, &admin, shop_id, "AWS");
        let other_finding = finding_id(&hub, &admin, other_id, "Finding other");

        create_user(&hub, "tina", "read,comment,triage", None);
        create_user(&hub, "rita", "read", None);
        create_user(&hub, "lena", "read,comment,triage", Some("other"));
        let tina = sign_in(&hub, "tina");
        let page_path = format!("/ui/findings/{id}");

        // The page: everything there, nothing of the scanner's markup live.
        let (s, page) = get(&hub, &tina, &page_path);
        assert_eq!(s, 200, "{n}");
        assert_eq!(executable(&page), None, "{n}: {page}");
        for shown in [
            "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; SQL injection",
            "<strong>SQL injection</strong>",
            "&lt;img src=x onerror=alert(&#39;img&#39;)&gt;",
            "click me",
            "<a href=\"https://owasp.example/sqli\" rel=\"noopener noreferrer nofollow\">parameterized queries</a>",
            "<a href=\"https://tracker.example/p.png\" rel=\"noopener noreferrer nofollow\">image: pixel</a>",
            "<a href=\"https://ok.example/advisory\" rel=\"noopener noreferrer nofollow\">",
            "javascript:alert(&#39;ref&#39;)",
            "src/&quot;&gt;&lt;svg onload=alert(&#39;path&#39;)&gt;.py:42",
            "href=\"https://cwe.mitre.org/data/definitions/89.html\"",
            "href=\"https://nvd.nist.gov/vuln/detail/CVE-2021-44228\"",
            "href=\"https://github.com/advisories/GHSA-jfh8-c2jp-5v3q\"",
            "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;",
            &format!("<a href=\"/ui/products/{shop_id}\">shop</a>"),
            "<a href=\"/ui/engagements/",
            "<a href=\"/ui/tests/",
            "<td class=\"high\">High",
            "<td class=\"status\">open</td>",
        ] {
            assert!(page.contains(shown), "{n}: {shown:?} not on the page: {page}");
        }
        // Links only where safe: no anchor carries the hostile schemes in any spelling.
        assert!(!page.contains("href=\"javascript"), "{n}");
        assert!(!page.contains("href=\"jav"), "{n}");
        // Forms of a triager: close, priority, note — each carrying the browser's CSRF value.
        for action in ["close", "priority", "notes"] {
            assert_eq!(
                form_csrf(&page, &format!("/ui/findings/{id}/{action}")),
                Some(tina.csrf.as_str()),
                "{n}: the {action} form and its CSRF field"
            );
        }

        // The secret: redacted and hashed, never in clear.
        let (s, secret_page) = get(&hub, &tina, &format!("/ui/findings/{secret_id}"));
        assert_eq!(s, 200, "{n}");
        let redacted = tollgate_model::RedactedSecret::new(SECRET);
        assert!(
            secret_page.contains(&redacted.placeholder())
                && secret_page.contains(&redacted.sha256_prefix),
            "{n}: {secret_page}"
        );
        assert!(!secret_page.contains(SECRET), "{n}: the secret in clear");

        // A note with hostile Markdown: recorded with tina's name, shown inert.
        let (s, location, _) = post(
            &hub,
            &tina.cookies,
            &format!("{page_path}/notes"),
            &[("csrf", &tina.csrf), ("text", HOSTILE_NOTE)],
        );
        assert_eq!((s, location.as_str()), (303, page_path.as_str()), "{n}");
        let (_, page) = get(&hub, &tina, &page_path);
        assert_eq!(executable(&page), None, "{n}: {page}");
        let notes = page.split("<h2>Notes</h2>").nth(1).expect("notes shown");
        assert!(
            notes.contains("<b>tina</b>")
                && notes.contains("<strong>confirmed</strong>")
                && notes.contains("proof")
                && notes.contains("&lt;img src=x onerror=alert(&#39;note&#39;)&gt;"),
            "{n}: {notes}"
        );

        // Closing: refused without a reason, with a bad or past date; then done, by tina.
        let close = format!("{page_path}/close");
        for (form, why) in [
            (
                vec![("how", "wont_fix"), ("reason", "  ")],
                "reason is required",
            ),
            (vec![("reason", "x")], "Choose how to close it"),
            (
                vec![
                    ("how", "risk_accepted"),
                    ("until", "2099-02-30"),
                    ("reason", "x"),
                ],
                "is not a date",
            ),
            (
                vec![
                    ("how", "risk_accepted"),
                    ("until", "2001-01-01"),
                    ("reason", "x"),
                ],
                "in the past",
            ),
            (
                vec![("how", "risk_accepted"), ("reason", "x")],
                "needs the date",
            ),
        ] {
            let mut fields = vec![("csrf", tina.csrf.as_str())];
            fields.extend(form);
            let (s, _, body) = post(&hub, &tina.cookies, &close, &fields);
            assert_eq!(s, 400, "{n}: {fields:?} → {body}");
            assert!(
                body.contains(why) && body.contains("<!doctype html>"),
                "{n}: {body}"
            );
        }
        // Without the CSRF field, or without the cookie: refused, nothing changed.
        let (s, _, _) = post(
            &hub,
            &tina.cookies,
            &close,
            &[("how", "wont_fix"), ("reason", "forged")],
        );
        assert_eq!(s, 403, "{n}: no CSRF field");
        let session_only = tina.cookies.split("; ").next().unwrap();
        let (s, _, _) = post(
            &hub,
            session_only,
            &close,
            &[
                ("csrf", &tina.csrf),
                ("how", "wont_fix"),
                ("reason", "forged"),
            ],
        );
        assert_eq!(s, 403, "{n}: no CSRF cookie");
        let (s, _, _) = post(
            &hub,
            &tina.cookies,
            &format!("{page_path}/notes"),
            &[("text", "forged")],
        );
        assert_eq!(s, 403, "{n}: a note without the CSRF field");
        assert_eq!(notes_of(&hub, &admin, id).len(), 1, "{n}: only tina's note");

        let (s, location, _) = post(
            &hub,
            &tina.cookies,
            &close,
            &[
                ("csrf", &tina.csrf),
                ("how", "risk_accepted"),
                ("until", "2099-12-31"),
                ("reason", "accepted until the <b>rewrite</b>"),
            ],
        );
        assert_eq!((s, location.as_str()), (303, page_path.as_str()), "{n}");
        let (s, location, _) = post(
            &hub,
            &tina.cookies,
            &format!("{page_path}/priority"),
            &[("csrf", &tina.csrf), ("priority", "P1")],
        );
        assert_eq!((s, location.as_str()), (303, page_path.as_str()), "{n}");
        let (s, _, body) = post(
            &hub,
            &tina.cookies,
            &format!("{page_path}/priority"),
            &[("csrf", &tina.csrf), ("priority", "P9")],
        );
        assert_eq!(s, 400, "{n}: {body}");
        let (_, page) = get(&hub, &tina, &page_path);
        assert_eq!(executable(&page), None, "{n}: {page}");
        assert!(
            page.contains("risk accepted until 2099-12-31") && page.contains("<td>P1</td>"),
            "{n}: {page}"
        );
        assert!(
            !page.contains(&format!("action=\"{close}\"")),
            "{n}: no close form for a closed finding"
        );
        let history = page
            .split("<h2>History</h2>")
            .nth(1)
            .unwrap()
            .split("</table>")
            .next()
            .unwrap();
        let rows: Vec<&str> = history.split("<tr><td>").skip(1).collect();
        let kinds: Vec<&str> = rows
            .iter()
            .map(|r| r.split("</td><td>").nth(1).unwrap())
            .collect();
        assert_eq!(kinds, ["created", "closed", "priority"], "{n}: {history}");
        assert!(
            rows[0].contains("root") && rows[0].contains("#"),
            "{n}: {}",
            rows[0]
        );
        assert!(
            rows[1].contains("<td>tina</td>")
                && rows[1].contains("closed_risk_accepted")
                && rows[1]
                    .contains("until 2099-12-31: accepted until the &lt;b&gt;rewrite&lt;/b&gt;"),
            "{n}: {}",
            rows[1]
        );
        assert!(
            rows[2].contains("<td>tina</td>") && rows[2].contains("P1"),
            "{n}: {}",
            rows[2]
        );
        let notes = page.split("<h2>Notes</h2>").nth(1).unwrap();
        assert!(
            notes.contains("Closed as CLOSED_RISK_ACCEPTED until 2099-12-31: accepted until the &lt;b&gt;rewrite&lt;/b&gt;"),
            "{n}: the closing note: {notes}"
        );
        // Closing it again: 409, a page, not a 500.
        let (s, _, body) = post(
            &hub,
            &tina.cookies,
            &close,
            &[
                ("csrf", &tina.csrf),
                ("how", "wont_fix"),
                ("reason", "again"),
            ],
        );
        assert_eq!(s, 409, "{n}: {body}");
        assert!(body.contains("is not open"), "{n}: {body}");

        // A read-only person: the page, no forms; the forms' POSTs are 403.
        let rita = sign_in(&hub, "rita");
        let (s, page) = get(&hub, &rita, &format!("/ui/findings/{secret_id}"));
        assert_eq!(s, 200, "{n}");
        assert!(!page.contains("<form"), "{n}: forms for a reader: {page}");
        for (action, form) in [
            ("notes", vec![("text", "hi")]),
            ("close", vec![("how", "wont_fix"), ("reason", "x")]),
            ("priority", vec![("priority", "P0")]),
        ] {
            let mut fields = vec![("csrf", rita.csrf.as_str())];
            fields.extend(form);
            let (s, _, body) = post(
                &hub,
                &rita.cookies,
                &format!("/ui/findings/{secret_id}/{action}"),
                &fields,
            );
            assert_eq!(s, 403, "{n}: {action} → {body}");
        }

        // A person limited to `other`: shop's finding is a missing one, page and forms alike.
        let lena = sign_in(&hub, "lena");
        let (s, own) = get(&hub, &lena, &format!("/ui/findings/{other_finding}"));
        assert_eq!(s, 200, "{n}");
        assert!(
            own.contains("action=\"/ui/findings/"),
            "{n}: lena triages her own"
        );
        let missing = get(&hub, &lena, "/ui/findings/99999999");
        assert_eq!(missing.0, 404);
        let shown = get(&hub, &lena, &format!("/ui/findings/{secret_id}"));
        assert_eq!(
            shown, missing,
            "{n}: another product's finding reads as missing"
        );
        for (action, form) in [
            ("notes", vec![("text", "pwned")]),
            ("close", vec![("how", "wont_fix"), ("reason", "pwned")]),
            (
                "close",
                vec![("how", "risk_accepted"), ("until", "bad"), ("reason", "")],
            ),
            ("priority", vec![("priority", "P0")]),
            ("priority", vec![("priority", "P9")]),
        ] {
            let mut fields = vec![("csrf", lena.csrf.as_str())];
            fields.extend(form);
            let on_missing = post(
                &hub,
                &lena.cookies,
                &format!("/ui/findings/99999999/{action}"),
                &fields,
            );
            let on_shop = post(
                &hub,
                &lena.cookies,
                &format!("/ui/findings/{secret_id}/{action}"),
                &fields,
            );
            assert_eq!(on_missing.0, 404, "{n}: {action} {fields:?}");
            assert_eq!(on_shop, on_missing, "{n}: {action} {fields:?}");
        }
        assert!(notes_of(&hub, &admin, secret_id).is_empty(), "{n}");
        let (_, v) = hub.results(&admin, &format!("/{secret_id}"));
        assert!(
            v["priority"].is_null() && v["tollgate"]["status"] == "open",
            "{n}: {v}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
