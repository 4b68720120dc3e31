//! The reads of the web UI's hub pages (`tollgate_store::pages`) on both backends: SQLite (its
//! direct read path and sqlx, which must agree) and PostgreSQL when TOLLGATE_TEST_POSTGRES_URL is
//! set — their numbers against what was stored.

use std::path::PathBuf;
use tollgate_model::{Category, Finding, Fingerprint, Scanner, Severity};
use tollgate_store::pages::GateRunFilter;
use tollgate_store::*;

struct Db {
    store: Store,
    dir: Option<PathBuf>,
    name: &'static str,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

async fn backends() -> Vec<Db> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "tollgate-pages-test-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let mut v = vec![Db {
        store: Store::open(&url, StoreOptions::default()).await.unwrap(),
        dir: Some(dir),
        name: "sqlite",
    }];
    match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        Ok(base) => {
            let url = tollgate_store::testing::fresh_postgres_database(&base)
                .await
                .expect("create a test database");
            v.push(Db {
                store: Store::open(&url, StoreOptions::default()).await.unwrap(),
                dir: None,
                name: "postgres",
            });
        }
        Err(_) => eprintln!("SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set"),
    }
    v
}

fn finding(fp: &str, severity: Severity) -> Finding {
    let mut f = Finding::new(
        Scanner {
            name: "zap".into(),
            version: None,
        },
        format!("rule-{fp}"),
        format!("Title {fp}"),
    );
    f.fingerprint = Fingerprint::parse(&format!("{fp:0>32}")).unwrap();
    f.severity = severity;
    f.category = Category::Dast;
    f
}

fn request(product: &str, now: i64) -> ImportRequest {
    let mut r = ImportRequest::new(ImportMode::Reimport, "ZAP Scan", now);
    r.auto_create_context = true;
    r.target = ImportTarget {
        product_type_name: Some("web".into()),
        product_name: Some(product.into()),
        engagement_name: Some("dast".into()),
        ..ImportTarget::default()
    };
    r
}

const DAY: i64 = 86_400;

#[tokio::test]
async fn page_reads_count_what_was_stored_on_every_read_path() {
    // Day 1000: a1..a5 into "shop"; day 1009: a1..a3 again (a4, a5 closed), b1 into "blog".
    let now = 1_010 * DAY;
    for db in backends().await {
        let s = &db.store;
        let first = s
            .import(
                request("shop", 1_000 * DAY),
                vec![
                    finding("a1", Severity::Critical),
                    finding("a2", Severity::High),
                    finding("a3", Severity::High),
                    finding("a4", Severity::Low),
                    finding("a5", Severity::Info),
                ],
            )
            .await
            .unwrap();
        s.import(
            request("shop", 1_009 * DAY),
            vec![
                finding("a1", Severity::Critical),
                finding("a2", Severity::High),
                finding("a3", Severity::High),
            ],
        )
        .await
        .unwrap();
        let blog = s
            .import(
                request("blog", 1_009 * DAY),
                vec![finding("b1", Severity::Medium)],
            )
            .await
            .unwrap();
        let shop = first.product_id;
        // a3 risk accepted until day 1020 (within 30 days of day 1010).
        let page = s
            .findings(&ListQuery {
                product_id: Some(shop),
                limit: 100,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let id_of = |fp: &str| {
            page.results
                .iter()
                .find(|f| f.finding.rule_id == format!("rule-{fp}"))
                .unwrap()
                .id
        };
        let until = tollgate_store::pages::day_after(now, 10);
        s.close_finding(
            id_of("a3"),
            ClosedAs::ClosedRiskAccepted,
            false,
            "later",
            Some(&until),
            "alice",
            None,
            now,
        )
        .await
        .unwrap();
        let run = s
            .record_gate_run(NewGateRun {
                product_name: "shop".into(),
                engagement_name: Some("dast".into()),
                outcome: "FAIL".into(),
                commit_hash: Some("c1".into()),
                release_tag: None,
                artifact_sha256: None,
                body: serde_json::json!({
                    "context": {"branch": "main"},
                    "reasons": [{"kind": "rule", "verdict": "block", "rule": "r",
                                 "fingerprints": [format!("{:0>32}", "a1"), "f".repeat(32)]}],
                    "inputs": [{"file": "x.json", "incomplete": ["half"]}],
                    "waivers": {"applied": [{"expires": "2030-01-01"}]}
                }),
                restrict_to_product: None,
                now,
            })
            .await
            .unwrap();

        let direct = s;
        let pooled = s.without_direct_reads();
        for (path, s) in [("direct", direct), ("pooled", &pooled)] {
            let what = format!("{} {path}", db.name);
            // Open: shop a1 (critical), a2 (high); blog b1 (medium).
            let open = s.open_by_product(None, now).await.unwrap();
            assert_eq!(open.len(), 2, "{what}");
            let shop_row = open.iter().find(|p| p.product_id == shop).unwrap();
            assert_eq!(shop_row.open, [0, 0, 0, 1, 1], "{what}");
            assert_eq!(shop_row.new_this_week, 0, "{what}: first seen 10 days ago");
            // The default SLA of a critical is shorter than 10 days, of a high longer or not.
            let sla = SlaDays::default();
            let past = |sev: Severity| i64::from(sla.for_severity(sev).is_some_and(|d| d < 10));
            assert_eq!(
                shop_row.breached,
                [0, 0, 0, past(Severity::High), past(Severity::Critical)],
                "{what}"
            );
            let blog_row = open
                .iter()
                .find(|p| p.product_id == blog.product_id)
                .unwrap();
            assert_eq!(
                (blog_row.open, blog_row.new_this_week),
                ([0, 0, 1, 0, 0], 1)
            );
            let limited = s.open_by_product(Some(blog.product_id), now).await.unwrap();
            assert_eq!(limited, vec![blog_row.clone()], "{what}");

            let tree = s.product_tree(shop).await.unwrap();
            assert_eq!(tree.len(), 1, "{what}");
            assert_eq!(tree[0].1.len(), 1, "{what}");
            assert_eq!(
                (tree[0].1[0].open, tree[0].1[0].total),
                ([0, 0, 0, 1, 1], 5)
            );
            let tests = s.engagement_tests(&tree[0].0.item).await.unwrap();
            assert_eq!(tests, tree[0].1, "{what}");

            // After the import 5 open, after the reimport 3 (the risk acceptance came later).
            let after = s.open_after_imports(first.test_id).await.unwrap();
            assert_eq!(
                after.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
                [5, 3],
                "{what}"
            );

            let (runs, total) = s
                .gate_runs(&GateRunFilter {
                    limit: 10,
                    ..GateRunFilter::default()
                })
                .await
                .unwrap();
            assert_eq!((runs.len(), total), (1, 1), "{what}");
            assert_eq!(runs[0].branch.as_deref(), Some("main"), "{what}");
            let (none, total) = s
                .gate_runs(&GateRunFilter {
                    limit: 10,
                    restrict_to_product: Some(blog.product_id),
                    ..GateRunFilter::default()
                })
                .await
                .unwrap();
            assert!(none.is_empty() && total == 0, "{what}");
            let d = s.gate_run(run.id).await.unwrap().unwrap();
            assert_eq!(d.run, runs[0], "{what}");
            assert_eq!(d.body["inputs"][0]["incomplete"][0], "half");
            let prints = vec![format!("{:0>32}", "a1"), "f".repeat(32)];
            let found = s.findings_by_fingerprint(shop, &prints).await.unwrap();
            assert_eq!(found.len(), 1, "{what}");
            assert_eq!(found[&prints[0]], id_of("a1"), "{what}");
            assert!(s
                .findings_by_fingerprint(blog.product_id, &prints)
                .await
                .unwrap()
                .is_empty());

            let ending = s
                .risk_acceptances_ending(None, &tollgate_store::pages::day_after(now, 30), 10)
                .await
                .unwrap();
            assert_eq!(ending.len(), 1, "{what}");
            assert_eq!(
                (ending[0].finding_id, &ending[0].until),
                (id_of("a3"), &until)
            );
            let sooner = s
                .risk_acceptances_ending(None, &tollgate_store::pages::day_after(now, 5), 10)
                .await
                .unwrap();
            assert!(sooner.is_empty(), "{what}");

            let parts = s.latest_run_parts(None, "inputs").await.unwrap();
            assert_eq!(parts.len(), 1, "{what}");
            assert_eq!(parts[0].part[0]["file"], "x.json", "{what}");
            assert_eq!(parts[0].reasons[0]["rule"], "r", "{what}");
            let waivers = s.latest_run_parts(None, "waivers").await.unwrap();
            assert_eq!(waivers[0].part["applied"][0]["expires"], "2030-01-01");
            assert!(s
                .latest_run_parts(Some(blog.product_id), "inputs")
                .await
                .unwrap()
                .is_empty());
            assert!(s.latest_run_parts(None, "x'; --").await.is_err(), "{what}");
        }
    }
}
