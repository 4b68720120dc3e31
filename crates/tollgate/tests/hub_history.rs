//! A finding's history on its page: every change the status-change log holds — created, mitigated
//! and reactivated by imports, re-prioritized and closed by triage — with when, by whom and why.

use crate::hub::{generic_report, with, Hub};
use crate::util::temp_dir;
use serde_json::json;

const RESULTS: &str = "/apis/mobile_security/results/v2/security_findings";

#[test]
fn a_findings_page_shows_its_history_in_order_with_who_and_why() {
    for hub in Hub::each("history") {
        let b = hub.backend;
        let admin = hub.token("ci-admin", "admin", None);
        let dir = temp_dir("history-files");
        let two = generic_report(&dir, "two.json", "h", 2);
        let one = generic_report(&dir, "one.json", "h", 1);
        let form = with(&[("scan_type", "Generic Findings Import")]);
        for (report, endpoint) in [
            (&two, "import-scan"),
            (&one, "reimport-scan"),
            (&two, "reimport-scan"),
        ] {
            let (s, v) = hub.import(endpoint, &admin, report, &form);
            assert_eq!(s, 201, "{b}: {v}");
        }
        // Finding h-1 was created, left out of the second report (mitigated), back in the third.
        let (_, page) = hub.get(&admin, "/api/v2/findings/?title=Finding%20h-1");
        let id = page["results"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{b}: {page}"));
        let path = format!("{RESULTS}/{id}");
        let (s, v) = hub.send_json("PATCH", &admin, &path, json!({"priority": "P1"}));
        assert_eq!(s, 200, "{b}: {v}");
        let (s, v) = hub.send_json(
            "POST",
            &admin,
            &format!("{path}/close"),
            json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "legacy <b>endpoint</b>, removed in Q3"}),
        );
        assert_eq!(s, 200, "{b}: {v}");

        let r = crate::hub::client()
            .get(format!("{}/ui/findings/{id}", hub.url))
            .header("Cookie", format!("tollgate_token={admin}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{b}");
        let html = r.text().unwrap();
        let history = html
            .split("<h2>History</h2>")
            .nth(1)
            .unwrap_or_else(|| panic!("{b}: no history on the page: {html}"));
        let history = history.split("</table>").next().unwrap();
        let rows: Vec<&str> = history.split("<tr><td>").skip(1).collect();
        let kinds: Vec<&str> = rows
            .iter()
            .map(|r| r.split("</td><td>").nth(1).unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["created", "mitigated", "reactivated", "priority", "closed"],
            "{b}: {history}"
        );
        assert!(
            rows[0].contains("ci-admin"),
            "{b}: who imported: {}",
            rows[0]
        );
        assert!(
            rows[3].contains("<td>ci-admin</td>") && rows[3].contains("P1"),
            "{b}: who set the priority: {}",
            rows[3]
        );
        assert!(rows[4].contains("closed_wont_fix"), "{b}: {}", rows[4]);
        // The reason is shown, escaped.
        assert!(
            rows[4].contains("legacy &lt;b&gt;endpoint&lt;/b&gt;, removed in Q3"),
            "{b}: {}",
            rows[4]
        );

        // Finding h-0 was in all three reports: created by the first import, and the two
        // reimports that reported it unchanged are on its history too, the last one as `seen`.
        let (_, page) = hub.get(&admin, "/api/v2/findings/?title=Finding%20h-0");
        let id = page["results"][0]["id"].as_i64().unwrap();
        let html = crate::hub::client()
            .get(format!("{}/ui/findings/{id}", hub.url))
            .header("Cookie", format!("tollgate_token={admin}"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let history = html
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
        assert_eq!(kinds, ["created", "no change", "seen"], "{b}: {history}");
        assert!(
            rows[1].contains(" reimport")
                && rows[2].contains(" reimport")
                && rows[2].contains("ci-admin"),
            "{b}: {history}"
        );
    }
}
