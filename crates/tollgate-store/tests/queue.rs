//! The findings queue's filter SQL, paging, exports' reads and bulk triage, on SQLite (through
//! both read paths) and on PostgreSQL when TOLLGATE_TEST_POSTGRES_URL is set. Every filter's
//! SQL is checked against the same filter written in Rust over all stored findings.

use std::path::PathBuf;
use tollgate_model::{Category, Finding, Fingerprint, Package, Scanner, Severity, Tag};
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

async fn backends(test: &str) -> Vec<Db> {
    let dir =
        std::env::temp_dir().join(format!("tollgate-queue-test-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let mut v = vec![Db {
        store: Store::open(&url, StoreOptions::default()).await.unwrap(),
        dir: Some(dir),
        name: "sqlite",
    }];
    if let Some(url) = postgres_url(test).await {
        v.push(Db {
            store: Store::open(&url, StoreOptions::default()).await.unwrap(),
            dir: None,
            name: "postgres",
        });
    }
    v
}

/// A fresh database on the test PostgreSQL server, or None (said as skipped) without
/// `TOLLGATE_TEST_POSTGRES_URL`.
async fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        Ok(base) => Some(testing::fresh_postgres_database(&base).await.unwrap()),
        Err(_) => {
            eprintln!("{test}: SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// The PostgreSQL backend alone, for tests of what only it does (None, said as skipped, without
/// `TOLLGATE_TEST_POSTGRES_URL`).
async fn postgres_only(test: &str) -> Option<Db> {
    backends(test)
        .await
        .into_iter()
        .find(|db| db.name == "postgres")
}

const DAY: i64 = 86_400;
/// 2026-01-01.
const T0: i64 = 20_454 * DAY;

fn finding(n: usize, scanner: &str) -> Finding {
    let mut f = Finding::new(
        Scanner {
            name: scanner.into(),
            version: Some("1.0".into()),
        },
        format!("rule-{}", n % 4),
        format!("Issue {n} in 50%_module"),
    );
    f.fingerprint = Fingerprint::parse(&format!("{n:0>32x}")).unwrap();
    f.severity = Severity::ALL[n % 5];
    f.category = if n % 3 == 0 {
        Category::Sca
    } else {
        Category::Sast
    };
    if n % 2 == 0 {
        f.tags.push(Tag::Xss);
    }
    if n % 3 == 1 {
        f.tags.push(Tag::Injection);
        f.cwe.push(89);
    }
    if n % 4 == 0 {
        f.cwe.push(79);
        f.cwe.push(79);
    }
    if n % 5 == 2 {
        f.vulnerability_ids.push("CVE-2021-44228".into());
    }
    if n % 3 == 0 {
        f.location.package = Some(Package {
            name: format!("lib{n}"),
            installed_version: Some("2.0".into()),
            fixed_version: None,
            purl: None,
            ecosystem: None,
        });
    } else {
        f.location.file = Some(format!("src/Module{n}.java"));
        f.location.start_line = Some(n as u32);
    }
    f
}

fn request(product: &str, scan_type: &str, now: i64) -> ImportRequest {
    let mut r = ImportRequest::new(ImportMode::Import, scan_type, now);
    r.auto_create_context = true;
    r.target = ImportTarget {
        product_type_name: Some("web".into()),
        product_name: Some(product.into()),
        engagement_name: Some("ci".into()),
        ..ImportTarget::default()
    };
    r
}

/// Two products: "shop" (ZAP, 30 findings, first seen at T0) and "app" (Semgrep, 20 findings,
/// 40 days later, labelled tier-1 / android); some of them closed.
async fn seed(s: &Store) -> (i64, i64) {
    let shop = s
        .import(
            request("shop", "ZAP Scan", T0),
            (0..30).map(|n| finding(n, "zap")).collect(),
        )
        .await
        .unwrap();
    let app = s
        .import(
            request("app", "Semgrep JSON Report", T0 + 40 * DAY),
            (100..120).map(|n| finding(n, "semgrep")).collect(),
        )
        .await
        .unwrap();
    s.label_product(app.product_id, Some("tier-1"), Some("android"), None)
        .await
        .unwrap();
    let all = everything(s, None).await;
    let pick = |k: usize| {
        all.iter()
            .filter(move |f| f.id % 7 == k as i64)
            .map(|f| f.id)
    };
    let out = s
        .bulk_triage(
            &BulkTarget::Ids(pick(1).collect()),
            &BulkAction::FalsePositive,
            "not reachable",
            "alice",
            None,
            T0 + 41 * DAY,
        )
        .await
        .unwrap();
    assert!(out.changed > 0);
    s.bulk_triage(
        &BulkTarget::Ids(pick(2).collect()),
        &BulkAction::CloseRiskAccepted {
            until: "2026-12-31".into(),
        },
        "accepted for now",
        "alice",
        None,
        T0 + 41 * DAY,
    )
    .await
    .unwrap();
    (shop.product_id, app.product_id)
}

async fn everything(s: &Store, restrict: Option<i64>) -> Vec<StoredFinding> {
    let filter = FindingFilter {
        status: StatusFilter::All,
        restrict_to_product: restrict,
        ..FindingFilter::default()
    };
    let QueuePage {
        findings: rows,
        total,
        ..
    } = s
        .queue_page(&filter, QueueSort::Severity, 1, 500, T0)
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, total);
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let found = s.queue_findings(&ids, None).await.unwrap();
    assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), ids);
    found
}

/// The filter, written in Rust over a stored finding (what the SQL must agree with).
fn matches(f: &FindingFilter, x: &StoredFinding, products: &[Product], now: i64) -> bool {
    let p = products.iter().find(|p| p.id == x.product_id).unwrap();
    let today = tollgate_policy::Date::from_days(now / DAY).to_string();
    let soon = tollgate_policy::Date::from_days(now / DAY + 7).to_string();
    let open = x.status.is_open();
    let due = x.sla_due.clone();
    let breached = open && due.as_deref().is_some_and(|d| d < today.as_str());
    let due_soon = open
        && due
            .as_deref()
            .is_some_and(|d| d >= today.as_str() && d <= soon.as_str());
    let m = &x.finding;
    f.restrict_to_product.is_none_or(|r| r == x.product_id)
        && (f.products.is_empty() || f.products.contains(&x.product_id))
        && f.tier.as_ref().is_none_or(|t| p.tier.as_ref() == Some(t))
        && f.platform
            .as_ref()
            .is_none_or(|t| p.platform.as_ref() == Some(t))
        && (f.severities.is_empty() || f.severities.contains(&m.severity))
        && match f.status {
            StatusFilter::Open => open,
            StatusFilter::Closed => !open,
            StatusFilter::FalsePositive => x.status.false_p,
            StatusFilter::RiskAccepted => x.status.risk_accepted,
            StatusFilter::Mitigated => x.status.is_mitigated,
            StatusFilter::All => true,
        }
        && f.scanner.as_ref().is_none_or(|s| &m.scanner.name == s)
        && f.category.as_ref().is_none_or(|c| m.category.as_str() == c)
        && f.tag
            .as_ref()
            .is_none_or(|t| m.tags.iter().any(|g| g.as_str() == t))
        && f.cwe.is_none_or(|c| m.cwe.contains(&c))
        && f.vulnerability_id
            .as_ref()
            .is_none_or(|v| m.vulnerability_ids.contains(v))
        && f.first_seen_since_day
            .is_none_or(|d| x.first_seen >= d * DAY)
        && f.sla.is_none_or(|s| match s {
            SlaState::Breached => breached,
            SlaState::DueSoon => due_soon,
            SlaState::Ok => !breached && !due_soon,
        })
        && f.text.as_ref().is_none_or(|t| {
            let t = t.to_lowercase();
            m.title.to_lowercase().contains(&t) || location_text(m).to_lowercase().contains(&t)
        })
}

#[tokio::test]
async fn every_filter_matches_its_rust_twin_and_the_count_equals_the_list() {
    for db in backends("filters").await {
        let s = &db.store;
        let (shop, app) = seed(s).await;
        let products = s
            .products(&ListQuery {
                limit: 100,
                ..ListQuery::default()
            })
            .await
            .unwrap()
            .results;
        let all = everything(s, None).await;
        assert_eq!(all.len(), 50, "{}", db.name);
        // SLA: shop's critical findings were due at T0 + 7 days (breached), its high ones at T0 + 30 (soon).
        let now = T0 + 25 * DAY;
        let base = FindingFilter::default();
        let filters: Vec<(&str, FindingFilter)> = vec![
            ("open (default)", base.clone()),
            (
                "all",
                FindingFilter {
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "closed",
                FindingFilter {
                    status: StatusFilter::Closed,
                    ..base.clone()
                },
            ),
            (
                "false positive",
                FindingFilter {
                    status: StatusFilter::FalsePositive,
                    ..base.clone()
                },
            ),
            (
                "risk accepted",
                FindingFilter {
                    status: StatusFilter::RiskAccepted,
                    ..base.clone()
                },
            ),
            (
                "mitigated",
                FindingFilter {
                    status: StatusFilter::Mitigated,
                    ..base.clone()
                },
            ),
            (
                "product",
                FindingFilter {
                    products: vec![app],
                    ..base.clone()
                },
            ),
            (
                "both products",
                FindingFilter {
                    products: vec![app, shop],
                    ..base.clone()
                },
            ),
            (
                "restricted",
                FindingFilter {
                    restrict_to_product: Some(shop),
                    ..base.clone()
                },
            ),
            (
                "restricted, asking for the other",
                FindingFilter {
                    restrict_to_product: Some(shop),
                    products: vec![app],
                    ..base.clone()
                },
            ),
            (
                "tier",
                FindingFilter {
                    tier: Some("tier-1".into()),
                    ..base.clone()
                },
            ),
            (
                "platform",
                FindingFilter {
                    platform: Some("android".into()),
                    ..base.clone()
                },
            ),
            (
                "a label with a quote (bound, not written)",
                FindingFilter {
                    tier: Some("tier'1".into()),
                    ..base.clone()
                },
            ),
            (
                "severities",
                FindingFilter {
                    severities: vec![Severity::Critical, Severity::High],
                    ..base.clone()
                },
            ),
            (
                "scanner",
                FindingFilter {
                    scanner: Some("semgrep".into()),
                    ..base.clone()
                },
            ),
            (
                "category",
                FindingFilter {
                    category: Some("sca".into()),
                    ..base.clone()
                },
            ),
            (
                "tag",
                FindingFilter {
                    tag: Some("xss".into()),
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "cwe",
                FindingFilter {
                    cwe: Some(79),
                    ..base.clone()
                },
            ),
            (
                "cwe 89",
                FindingFilter {
                    cwe: Some(89),
                    ..base.clone()
                },
            ),
            (
                "vuln",
                FindingFilter {
                    vulnerability_id: Some("CVE-2021-44228".into()),
                    ..base.clone()
                },
            ),
            (
                "since",
                FindingFilter {
                    first_seen_since_day: Some(T0 / DAY + 20),
                    ..base.clone()
                },
            ),
            (
                "sla breached",
                FindingFilter {
                    sla: Some(SlaState::Breached),
                    ..base.clone()
                },
            ),
            (
                "sla due soon",
                FindingFilter {
                    sla: Some(SlaState::DueSoon),
                    ..base.clone()
                },
            ),
            (
                "sla ok",
                FindingFilter {
                    sla: Some(SlaState::Ok),
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "text in title",
                FindingFilter {
                    text: Some("ISSUE 10".into()),
                    ..base.clone()
                },
            ),
            (
                "text in location",
                FindingFilter {
                    text: Some("module4.java".into()),
                    ..base.clone()
                },
            ),
            (
                "text with LIKE characters",
                FindingFilter {
                    text: Some("50%_m".into()),
                    ..base.clone()
                },
            ),
            (
                "a lone %",
                FindingFilter {
                    text: Some("%".into()),
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "text with FTS syntax and a double quote",
                FindingFilter {
                    text: Some("issue\" OR \"module".into()),
                    ..base.clone()
                },
            ),
            (
                "three characters across a space",
                FindingFilter {
                    text: Some("E 1".into()),
                    ..base.clone()
                },
            ),
            (
                "two characters (no trigram)",
                FindingFilter {
                    text: Some("11".into()),
                    ..base.clone()
                },
            ),
            (
                "text, closed, in one product (counted from the text table on PostgreSQL)",
                FindingFilter {
                    text: Some("Module".into()),
                    status: StatusFilter::Closed,
                    restrict_to_product: Some(app),
                    ..base.clone()
                },
            ),
            (
                "text in a tier, any status",
                FindingFilter {
                    text: Some("Issue 1".into()),
                    status: StatusFilter::All,
                    tier: Some("tier-1".into()),
                    ..base.clone()
                },
            ),
            (
                "text across the end of the title and the location",
                FindingFilter {
                    text: Some("_module\nsrc/module".into()),
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "text in one severity",
                FindingFilter {
                    text: Some("issue".into()),
                    severities: vec![Severity::High],
                    ..base.clone()
                },
            ),
            (
                "text in two severities, any status",
                FindingFilter {
                    text: Some("module".into()),
                    severities: vec![Severity::Critical, Severity::Low],
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
            (
                "text matching nothing",
                FindingFilter {
                    text: Some("n%o".into()),
                    ..base.clone()
                },
            ),
            (
                "combined",
                FindingFilter {
                    scanner: Some("zap".into()),
                    tag: Some("xss".into()),
                    severities: vec![Severity::Info, Severity::Medium, Severity::Critical],
                    ..base.clone()
                },
            ),
            // PostgreSQL walks a facet's own rows in severity order (migration 0019): one
            // severity (said on the facet rows and not on the findings), a product limit, a
            // second facet and text tested on each finding the walk meets.
            (
                "a facet in one severity, in one product",
                FindingFilter {
                    cwe: Some(79),
                    severities: vec![Severity::High],
                    restrict_to_product: Some(app),
                    ..base.clone()
                },
            ),
            (
                "two facets and text, any status",
                FindingFilter {
                    tag: Some("xss".into()),
                    cwe: Some(79),
                    text: Some("issue".into()),
                    status: StatusFilter::All,
                    ..base.clone()
                },
            ),
        ];
        let mut readers = vec![("direct reads", s.clone())];
        if db.name == "sqlite" {
            readers.push(("sqlx reads", s.without_direct_reads()));
        }
        // A page may walk its order with a budget and be gathered when the budget runs out:
        // both ways, against the twin; and on PostgreSQL a text page walks the text's own rows
        // (here on every text page, however few findings a walk of their order would pass).
        let forms: &[(Option<u64>, Option<i64>)] =
            &[(None, None), (Some(0), None), (None, Some(0))];
        for ((budget, text_walk_from), (what, f)) in forms
            .iter()
            .flat_map(|b| filters.iter().map(move |f| (b, f)))
        {
            testing::set_walk_budget(s, *budget);
            testing::set_text_walk_from(s, *text_walk_from);
            let what =
                format!("{what} (walk budget {budget:?}, text walk from {text_walk_from:?})");
            let mut expected: Vec<i64> = all
                .iter()
                .filter(|x| matches(f, x, &products, now))
                .map(|x| x.id)
                .collect();
            expected.sort_unstable();
            for (path, reader) in &readers {
                let QueuePage {
                    findings: rows,
                    total,
                    ..
                } = reader
                    .queue_page(f, QueueSort::SeverityDesc, 1, 500, now)
                    .await
                    .unwrap();
                let mut got: Vec<i64> = rows.iter().map(|x| x.id).collect();
                got.sort_unstable();
                assert_eq!(got, expected, "{} {path}: {what}", db.name);
                assert_eq!(total, expected.len() as i64, "{} {path}: {what}", db.name);
                let mut ids = reader.queue_ids(f, QueueSort::Title, now).await.unwrap();
                ids.sort_unstable();
                assert_eq!(ids, expected, "{} {path}: {what} (ids)", db.name);
            }
        }
        // The interesting filters do narrow (the seed is not degenerate).
        for (what, f) in &filters[1..] {
            let n = all.iter().filter(|x| matches(f, x, &products, now)).count();
            if !matches!(*what, "all" | "a lone %") {
                assert!(n < all.len(), "{}: {what} does not narrow", db.name);
            }
            if !what.starts_with("restricted, asking")
                && *what != "text matching nothing"
                && !what.starts_with("text across")
                && !what.starts_with("a label with a quote")
                && !what.contains("double quote")
                && *what != "mitigated"
            {
                assert!(n > 0, "{}: {what} matches nothing", db.name);
            }
        }
    }
}

#[tokio::test]
async fn sorting_and_paging_walk_the_whole_list_once() {
    for db in backends("paging").await {
        let s = &db.store;
        seed(s).await;
        let f = FindingFilter {
            status: StatusFilter::All,
            ..FindingFilter::default()
        };
        // A facet's first pages walk the order probing the facet, later ones read the facet's
        // findings (facet_form_for_page): both must page the same list.
        let xss = FindingFilter {
            tag: Some("xss".into()),
            ..f.clone()
        };
        let open_cwe = FindingFilter {
            cwe: Some(79),
            ..FindingFilter::default()
        };
        // Text, a first-seen day and an SLA state: a page walks the order or gathers (and a walk
        // that runs out of budget gathers).
        let text = FindingFilter {
            text: Some("module".into()),
            ..f.clone()
        };
        // Open findings only: on PostgreSQL a text page in severity order walks the text table
        // and tests each match's open state (migration 0020).
        let open_text = FindingFilter {
            text: Some("module".into()),
            ..FindingFilter::default()
        };
        let since = FindingFilter {
            first_seen_since_day: Some(T0.div_euclid(86_400) + 20),
            ..f.clone()
        };
        let sla = FindingFilter {
            sla: Some(SlaState::Ok),
            ..f.clone()
        };
        // A budget of 12 cuts a walk part way through the list: a page of 7 found within it,
        // the next one gathered.
        // A text page on PostgreSQL walks its text's own rows when a walk of the findings would
        // be long (never on this small hub) or, with the threshold at 0, always.
        let budgets: &[Option<u64>] = &[None, Some(0), Some(12)];
        let filters = [&f, &xss, &open_cwe, &text, &open_text, &since, &sla];
        let mut cases = Vec::new();
        for budget in budgets {
            for text_walk_from in [None, Some(0)] {
                for sort in QueueSort::ALL {
                    for f in filters {
                        cases.push((budget, text_walk_from, f, sort));
                    }
                }
            }
        }
        for (budget, text_walk_from, f, sort) in cases {
            testing::set_walk_budget(s, *budget);
            testing::set_text_walk_from(s, text_walk_from);
            let QueuePage {
                findings: full,
                total,
                ..
            } = s.queue_page(f, sort, 1, 500, T0).await.unwrap();
            let mut paged = Vec::new();
            for page in 1..=8 {
                let QueuePage {
                    findings: rows,
                    total: t,
                    ..
                } = s.queue_page(f, sort, page, 7, T0).await.unwrap();
                assert_eq!(t, total);
                paged.extend(rows.into_iter().map(|x| x.id));
            }
            let full: Vec<i64> = full.iter().map(|x| x.id).collect();
            assert_eq!(paged, full, "{} {}", db.name, sort.as_str());
            assert_eq!(
                s.queue_ids(f, sort, T0).await.unwrap(),
                full,
                "{}",
                sort.as_str()
            );
            let chunk = s.queue_findings(&full, None).await.unwrap();
            assert_eq!(chunk.iter().map(|x| x.id).collect::<Vec<_>>(), full);
        }
        let QueuePage { findings: rows, .. } = s
            .queue_page(&f, QueueSort::SeverityDesc, 1, 500, T0)
            .await
            .unwrap();
        assert!(rows.windows(2).all(|w| w[0].severity >= w[1].severity));
        let QueuePage { findings: rows, .. } = s
            .queue_page(&f, QueueSort::AgeDesc, 1, 500, T0)
            .await
            .unwrap();
        assert!(rows.windows(2).all(|w| w[0].first_seen <= w[1].first_seen));
        assert_eq!(rows[0].scanner, "zap");
        let QueuePage { findings: rows, .. } =
            s.queue_page(&f, QueueSort::Age, 1, 500, T0).await.unwrap();
        assert_eq!(rows[0].scanner, "semgrep");
        // Past the end: an empty page, the same total.
        let QueuePage {
            findings: rows,
            total,
            ..
        } = s.queue_page(&f, QueueSort::Sla, 99, 50, T0).await.unwrap();
        assert!(rows.is_empty());
        assert_eq!(total, 50);
    }
}

#[tokio::test]
async fn bulk_triage_logs_each_change_skips_closed_and_respects_the_product_limit() {
    for db in backends("bulk").await {
        let s = &db.store;
        let (shop, app) = seed(s).await;
        let open_shop = FindingFilter {
            products: vec![shop],
            ..FindingFilter::default()
        };
        let QueuePage {
            findings: before,
            total: n_before,
            ..
        } = s
            .queue_page(&open_shop, QueueSort::SeverityDesc, 1, 500, T0)
            .await
            .unwrap();
        let closed_shop: Vec<i64> = everything(s, Some(shop))
            .await
            .iter()
            .filter(|x| !x.status.is_open())
            .map(|x| x.id)
            .collect();
        assert!(!closed_shop.is_empty());
        let app_ids: Vec<i64> = everything(s, Some(app))
            .await
            .iter()
            .map(|x| x.id)
            .collect();
        // Three open shop findings, one closed, one of the other product: limited to shop.
        let mut ids: Vec<i64> = before.iter().take(3).map(|x| x.id).collect();
        ids.push(closed_shop[0]);
        ids.push(app_ids[0]);
        ids.push(99_999_999);
        let out = s
            .bulk_triage(
                &BulkTarget::Ids(ids.clone()),
                &BulkAction::CloseWontFix,
                "  fixed upstream  ",
                "bob",
                Some(shop),
                T0 + 50 * DAY,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            BulkOutcome {
                changed: 3,
                skipped: 1,
                missing: 2
            },
            "{}",
            db.name
        );
        let QueuePage { total: n_after, .. } = s
            .queue_page(&open_shop, QueueSort::SeverityDesc, 1, 500, T0)
            .await
            .unwrap();
        assert_eq!(n_after, n_before - 3);
        for id in &ids[..3] {
            let events = s.finding_events(*id).await.unwrap();
            let last = events.last().unwrap();
            assert_eq!(last.kind, EventKind::Closed);
            assert_eq!(last.actor.as_deref(), Some("bob"));
            assert_eq!(
                last.detail.as_deref(),
                Some("Closed as CLOSED_WONT_FIX: fixed upstream")
            );
            assert_eq!(last.status, "closed_wont_fix");
            assert!(!last.is_open);
            let notes = s.notes(&[*id]).await.unwrap();
            assert_eq!(notes.last().unwrap().author, "bob");
        }
        // The closed one was not closed again; the other product's finding untouched.
        let untouched = s.finding_events(closed_shop[0]).await.unwrap();
        assert!(untouched.iter().all(|e| e.actor.as_deref() != Some("bob")));
        let other = s.finding(app_ids[0]).await.unwrap().unwrap();
        assert!(s
            .finding_events(other.id)
            .await
            .unwrap()
            .iter()
            .all(|e| e.actor.as_deref() != Some("bob")));
        // A limited caller's filter naming the other product reaches nothing.
        let out = s
            .bulk_triage(
                &BulkTarget::Filter(Box::new(FindingFilter {
                    products: vec![app],
                    ..FindingFilter::default()
                })),
                &BulkAction::FalsePositive,
                "x",
                "bob",
                Some(shop),
                T0 + 50 * DAY,
            )
            .await
            .unwrap();
        assert_eq!(out, BulkOutcome::default(), "{}", db.name);
        // The product's counters follow (the Results API's totals read them).
        let (_, open_total) = s
            .security_findings(&ResultsQuery {
                product_id: Some(shop),
                status_group: Some(StatusGroup::Open),
                page_size: 1,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(open_total, n_after);
        // By filter: priority on every open critical finding of app; then a note.
        let crit = FindingFilter {
            products: vec![app],
            severities: vec![Severity::Critical],
            ..FindingFilter::default()
        };
        let QueuePage {
            findings: rows,
            total: n,
            ..
        } = s
            .queue_page(&crit, QueueSort::SeverityDesc, 1, 500, T0)
            .await
            .unwrap();
        assert!(n > 0);
        let out = s
            .bulk_triage(
                &BulkTarget::Filter(Box::new(crit.clone())),
                &BulkAction::Priority(Priority::P0),
                "",
                "carol",
                None,
                T0 + 51 * DAY,
            )
            .await
            .unwrap();
        assert_eq!(out.changed, n);
        for x in &rows {
            let f = s.finding(x.id).await.unwrap().unwrap();
            assert_eq!(f.status.priority, Some(Priority::P0));
            let e = s.finding_events(x.id).await.unwrap();
            assert_eq!(e.last().unwrap().kind, EventKind::Priority);
            assert_eq!(e.last().unwrap().actor.as_deref(), Some("carol"));
        }
        let out = s
            .bulk_triage(
                &BulkTarget::Filter(Box::new(crit.clone())),
                &BulkAction::Note,
                "see ticket 7",
                "carol",
                None,
                T0 + 51 * DAY,
            )
            .await
            .unwrap();
        assert_eq!(out.changed, n);
        assert_eq!(
            s.finding_events(rows[0].id)
                .await
                .unwrap()
                .last()
                .unwrap()
                .detail
                .as_deref(),
            Some("see ticket 7")
        );
        // Refusals change nothing.
        let too_many = BulkTarget::Ids((1..=BULK_CAP + 1).collect());
        match s
            .bulk_triage(&too_many, &BulkAction::CloseWontFix, "r", "bob", None, T0)
            .await
        {
            Err(StoreError::Invalid(m)) => assert!(m.contains("at most 10000"), "{m}"),
            other => panic!("{other:?}"),
        }
        for (action, reason) in [
            (BulkAction::CloseWontFix, " "),
            (
                BulkAction::CloseRiskAccepted {
                    until: "next year".into(),
                },
                "r",
            ),
        ] {
            assert!(matches!(
                s.bulk_triage(
                    &BulkTarget::Filter(Box::default()),
                    &action,
                    reason,
                    "bob",
                    None,
                    T0
                )
                .await,
                Err(StoreError::Invalid(_))
            ));
        }
        let QueuePage { total: still, .. } = s
            .queue_page(&FindingFilter::default(), QueueSort::SeverityDesc, 1, 1, T0)
            .await
            .unwrap();
        let (_, open_all) = s
            .security_findings(&ResultsQuery {
                status_group: Some(StatusGroup::Open),
                page_size: 1,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(still, open_all);
    }
}

/// Migration 0007 fills the queue's columns and facets of findings stored before it exactly as
/// imports write them: every facet filter answers the same after the backfill.
#[tokio::test]
async fn the_migration_backfill_writes_what_imports_write() {
    for db in backends("backfill").await {
        let s = &db.store;
        seed(s).await;
        let filters = [
            FindingFilter {
                scanner: Some("zap".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                tag: Some("injection".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                cwe: Some(79),
                ..FindingFilter::default()
            },
            FindingFilter {
                vulnerability_id: Some("CVE-2021-44228".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                text: Some("lib102 2.0".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                text: Some("module4.java:4".into()),
                ..FindingFilter::default()
            },
        ];
        let mut before = Vec::new();
        for f in &filters {
            let ids = s.queue_ids(f, QueueSort::SeverityDesc, T0).await.unwrap();
            assert!(!ids.is_empty(), "{} {f:?}", db.name);
            before.push(ids);
        }
        let facets = testing::facet_rows(s).await.unwrap();
        assert!(
            facets.iter().any(|r| r.starts_with("cwe:79:")),
            "{}: {facets:?}",
            db.name
        );
        testing::rerun_queue_backfill(s).await.unwrap();
        assert_eq!(testing::facet_rows(s).await.unwrap(), facets, "{}", db.name);
        for (f, was) in filters.iter().zip(&before) {
            let ids = s.queue_ids(f, QueueSort::SeverityDesc, T0).await.unwrap();
            assert_eq!(&ids, was, "{} {f:?}", db.name);
        }
    }
}

/// The planner's statistics of SQLite (`sqlite_stat1`) are written by the store itself, after an
/// import grew the findings (docs/benchmarks.md: without them SQLite walked every open finding
/// for a vulnerability id no finding has). PostgreSQL's autovacuum analyzes by itself.
#[tokio::test]
async fn sqlite_statistics_follow_imports() {
    let dbs = backends("stats").await;
    let db = dbs.iter().find(|d| d.name == "sqlite").unwrap();
    seed(&db.store).await;
    let file = db.dir.as_ref().unwrap().join("hub.db");
    let conn = rusqlite::Connection::open(&file).unwrap();
    let stat: String = conn
        .query_row(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'findings' AND idx = 'findings_queue'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // The first number is the index's row count when it was analyzed: the first import's 30.
    let rows: i64 = stat.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(rows, 30, "sqlite_stat1 of findings_queue: {stat}");
}

async fn no_tally_drift(s: &Store, name: &str, step: &str) {
    let drift = testing::tally_drift(s).await.unwrap();
    assert!(drift.is_empty(), "{name}, after {step}: {drift:#?}");
}

/// The tallies the queue's counts read (migration 0012, kept by triggers) stay equal to
/// counting the findings through every kind of write: imports, reimports that close, reactivate
/// and re-rate findings, triage, bulk triage by ids and by filter, priority, and the queue's
/// backfill rewriting scanner columns and facets. The check itself fails on a skewed tally.
#[tokio::test]
async fn the_tallies_stay_equal_to_counting_the_findings_through_every_write() {
    for db in backends("tallies").await {
        let s = &db.store;
        let name = db.name;
        no_tally_drift(s, name, "the migrations").await;
        let (shop, app) = seed(s).await;
        no_tally_drift(s, name, "imports and bulk triage by ids").await;
        let reimport = |now: i64, findings: Vec<Finding>| {
            let mut r = request("shop", "ZAP Scan", now);
            r.mode = ImportMode::Reimport;
            r.close_old_findings = true;
            s.import(r, findings)
        };
        // 0..10 gone (mitigated), 30..40 new, 10..15 re-rated critical.
        let mut later: Vec<Finding> = (10..40).map(|n| finding(n, "zap")).collect();
        for f in later.iter_mut().take(5) {
            f.severity = Severity::Critical;
        }
        reimport(T0 + 42 * DAY, later.clone()).await.unwrap();
        no_tally_drift(s, name, "a reimport that closes, adds and re-rates").await;
        let mitigated = FindingFilter {
            status: StatusFilter::Mitigated,
            ..FindingFilter::default()
        };
        let QueuePage { total: n, .. } = s
            .queue_page(&mitigated, QueueSort::SeverityDesc, 1, 50, T0)
            .await
            .unwrap();
        let listed = s
            .queue_ids(&mitigated, QueueSort::SeverityDesc, T0)
            .await
            .unwrap();
        assert_eq!(n, listed.len() as i64, "{name}: mitigated");
        assert!(n > 0, "{name}: the reimport mitigated nothing");
        // 0..5 back: reactivated.
        later.extend((0..5).map(|n| finding(n, "zap")));
        reimport(T0 + 43 * DAY, later).await.unwrap();
        no_tally_drift(s, name, "a reimport that reactivates").await;
        let open = s
            .queue_ids(&FindingFilter::default(), QueueSort::SeverityDesc, T0)
            .await
            .unwrap();
        s.close_finding(
            open[0],
            ClosedAs::ClosedWontFix,
            false,
            "not ours",
            None,
            "bob",
            None,
            T0 + 44 * DAY,
        )
        .await
        .unwrap();
        s.set_priority(open[1], Priority::P1, "bob", None, T0 + 44 * DAY)
            .await
            .unwrap();
        no_tally_drift(s, name, "triage of one finding").await;
        let by_filter = |f: FindingFilter| BulkTarget::Filter(Box::new(f));
        s.bulk_triage(
            &by_filter(FindingFilter {
                products: vec![app],
                cwe: Some(89),
                ..FindingFilter::default()
            }),
            &BulkAction::CloseCompensatingControl,
            "WAF rule 12",
            "carol",
            None,
            T0 + 45 * DAY,
        )
        .await
        .unwrap();
        s.bulk_triage(
            &by_filter(FindingFilter {
                tag: Some("xss".into()),
                ..FindingFilter::default()
            }),
            &BulkAction::Priority(Priority::P0),
            "",
            "carol",
            Some(shop),
            T0 + 45 * DAY,
        )
        .await
        .unwrap();
        no_tally_drift(s, name, "bulk triage by filter").await;
        testing::rerun_queue_backfill(s).await.unwrap();
        no_tally_drift(s, name, "the queue backfill run again").await;
        // Counts from the tallies equal the lists, with closed, mitigated and reactivated
        // findings in them.
        let filters = [
            FindingFilter::default(),
            mitigated.clone(),
            FindingFilter {
                status: StatusFilter::Closed,
                category: Some("sast".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                cwe: Some(79),
                status: StatusFilter::All,
                severities: vec![Severity::Critical, Severity::Info],
                ..FindingFilter::default()
            },
            FindingFilter {
                tag: Some("injection".into()),
                scanner: Some("semgrep".into()),
                status: StatusFilter::Closed,
                ..FindingFilter::default()
            },
            FindingFilter {
                vulnerability_id: Some("CVE-2021-44228".into()),
                restrict_to_product: Some(shop),
                ..FindingFilter::default()
            },
        ];
        for f in &filters {
            let QueuePage { total, .. } = s
                .queue_page(f, QueueSort::SeverityDesc, 1, 50, T0)
                .await
                .unwrap();
            let ids = s.queue_ids(f, QueueSort::SeverityDesc, T0).await.unwrap();
            assert_eq!(total, ids.len() as i64, "{name}: {f:?}");
            assert!(total > 0, "{name}: {f:?} matches nothing");
        }
        // The check can fail: a tally moved by hand is reported.
        testing::execute(s, "UPDATE facet_tallies SET n = n + 1 WHERE kind = 'cwe'")
            .await
            .unwrap();
        assert!(
            !testing::tally_drift(s).await.unwrap().is_empty(),
            "{name}: a skewed tally went unnoticed"
        );
    }
}

/// Writers at once (on PostgreSQL several hub replicas share one database, and one hub runs
/// imports and triage side by side): imports into three products, a reimport and bulk triage
/// across every product run concurrently through the pool, several rounds. Every call succeeds
/// and the tallies, kept by their triggers, equal the findings after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_imports_and_bulk_triage_keep_the_tallies() {
    for db in backends("concurrent").await {
        let s = &db.store;
        let name = db.name;
        seed(s).await;
        for round in 0..3i64 {
            let now = T0 + (50 + round) * DAY;
            let mut tasks = Vec::new();
            for p in 0..3usize {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let mut r = request(&format!("svc{p}"), "ZAP Scan", now);
                    r.mode = ImportMode::Reimport;
                    r.close_old_findings = true;
                    let first = 1000 * (p + 1) + round as usize * 50;
                    s.import(r, (first..first + 300).map(|n| finding(n, "zap")).collect())
                        .await
                        .map(|_| ())
                }));
            }
            for (action, filter) in [
                (
                    BulkAction::Priority(Priority::P2),
                    FindingFilter {
                        tag: Some("xss".into()),
                        ..FindingFilter::default()
                    },
                ),
                (
                    BulkAction::Note,
                    FindingFilter {
                        cwe: Some(89),
                        ..FindingFilter::default()
                    },
                ),
            ] {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    s.bulk_triage(
                        &BulkTarget::Filter(Box::new(filter)),
                        &action,
                        "seen in review",
                        "carol",
                        None,
                        now,
                    )
                    .await
                    .map(|_| ())
                }));
            }
            {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let ids = s
                        .queue_ids(
                            &FindingFilter {
                                severities: vec![Severity::Low],
                                ..FindingFilter::default()
                            },
                            QueueSort::SeverityDesc,
                            now,
                        )
                        .await?;
                    s.bulk_triage(
                        &BulkTarget::Ids(ids.into_iter().take(40).collect()),
                        &BulkAction::CloseWontFix,
                        "not reachable",
                        "carol",
                        None,
                        now,
                    )
                    .await
                    .map(|_| ())
                }));
            }
            for t in tasks {
                t.await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{name}, round {round}: {e}"));
            }
            no_tally_drift(s, name, &format!("concurrent round {round}")).await;
        }
    }
}

/// A count that reads the findings (text, an SLA state) is remembered by the data it was counted
/// on; every kind of change moves that data: a triage, an import, a product's label. After each,
/// the count still equals the list (read whole, never remembered).
#[tokio::test]
async fn a_remembered_count_follows_every_change_it_counts() {
    for db in backends("remembered").await {
        let s = &db.store;
        let (shop, app) = seed(s).await;
        let module = FindingFilter {
            text: Some("module".into()),
            ..FindingFilter::default()
        };
        let tiered = FindingFilter {
            tier: Some("tier-1".into()),
            sla: Some(SlaState::Ok),
            ..module.clone()
        };
        let check = |what: &'static str| {
            let (s, module, tiered) = (s.clone(), module.clone(), tiered.clone());
            async move {
                let mut totals = Vec::new();
                for f in [&module, &tiered] {
                    // Twice: the second count is the remembered one.
                    for _ in 0..2 {
                        let QueuePage {
                            findings: rows,
                            total,
                            ..
                        } = s
                            .queue_page(f, QueueSort::SeverityDesc, 1, 500, T0)
                            .await
                            .unwrap();
                        assert_eq!(total, rows.len() as i64, "{what}: {f:?}");
                    }
                    totals.push(
                        s.queue_ids(f, QueueSort::SeverityDesc, T0)
                            .await
                            .unwrap()
                            .len(),
                    );
                }
                totals
            }
        };
        let before = check("seeded").await;
        assert!(before[0] > 0 && before[1] > 0, "{}: {before:?}", db.name);
        // Eight at once on data none of them counted yet: one counts, the others wait for it
        // (PostgreSQL) or count the same (SQLite); all agree with the list.
        s.label_product(app, Some("tier-1"), Some("ios"), None)
            .await
            .unwrap();
        let mut at_once = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (s, f) = (s.clone(), module.clone());
            at_once.spawn(async move {
                s.queue_page(&f, QueueSort::SeverityDesc, 1, 500, T0)
                    .await
                    .unwrap()
            });
        }
        while let Some(done) = at_once.join_next().await {
            let QueuePage {
                findings: rows,
                total,
                ..
            } = done.unwrap();
            assert_eq!(total, rows.len() as i64, "{}: at once", db.name);
            assert_eq!(total, before[0] as i64, "{}: at once", db.name);
        }

        // A triage closes one of them.
        let QueuePage { findings: open, .. } = s
            .queue_page(&module, QueueSort::SeverityDesc, 1, 1, T0)
            .await
            .unwrap();
        s.bulk_triage(
            &BulkTarget::Ids(vec![open[0].id]),
            &BulkAction::CloseWontFix,
            "later",
            "alice",
            None,
            T0 + 42 * DAY,
        )
        .await
        .unwrap();
        let closed = check("after a triage").await;
        assert_eq!(closed[0], before[0] - 1, "{}", db.name);

        // An import adds two.
        s.import(
            request("shop", "ZAP Scan", T0 + 43 * DAY),
            [7001, 7004].map(|n| finding(n, "zap")).to_vec(),
        )
        .await
        .unwrap();
        let imported = check("after an import").await;
        assert_eq!(imported[0], closed[0] + 2, "{}", db.name);

        // The shop becomes tier-1 too: the tier's count grows by the shop's matches.
        s.label_product(shop, Some("tier-1"), None, None)
            .await
            .unwrap();
        let labelled = check("after a label").await;
        assert!(labelled[1] > imported[1], "{}: {labelled:?}", db.name);
        s.label_product(app, Some("tier-2"), None, None)
            .await
            .unwrap();
        let relabelled = check("after a second label").await;
        assert!(relabelled[1] < labelled[1], "{}: {relabelled:?}", db.name);
    }
}

/// PostgreSQL remembers a count per product under the product's number of changes, which a
/// writer moves in its own transaction: a writer that has begun does not change what a reader's
/// snapshot sees of it (nor does another that commits first without touching these findings), its
/// commit does.
#[tokio::test]
async fn a_count_remembered_while_a_writer_runs_is_counted_again_at_its_commit() {
    if let Some(db) = postgres_only("writer").await {
        let s = &db.store;
        seed(s).await;
        let module = FindingFilter {
            text: Some("module".into()),
            ..FindingFilter::default()
        };
        let page = || async {
            let QueuePage {
                findings: rows,
                total,
                ..
            } = s
                .queue_page(&module, QueueSort::SeverityDesc, 1, 500, T0)
                .await
                .unwrap();
            assert_eq!(total, rows.len() as i64);
            rows
        };
        let before = page().await;
        assert!(before.len() > 1);
        // A writer closes one of them and has not committed yet; a second one starts after it
        // and commits first.
        let closing = before[0].id;
        let writer = testing::begin_write(
            s,
            &format!("UPDATE findings SET is_open = FALSE, active = FALSE WHERE id = {closing}"),
        )
        .await
        .unwrap();
        // (It takes a transaction id, after the first writer's, and changes nothing.)
        let later = testing::begin_write(s, "SELECT CAST(pg_current_xact_id() AS TEXT)")
            .await
            .unwrap();
        for _ in 0..2 {
            assert_eq!(page().await.len(), before.len());
        }
        later.commit().await.unwrap();
        assert_eq!(page().await.len(), before.len());
        writer.commit().await.unwrap();
        let after = page().await;
        assert_eq!(after.len(), before.len() - 1);
        assert!(after.iter().all(|f| f.id != closing));
    }
}

/// The open findings holding "module": their count as a page shows it.
async fn module_count(s: &Store) -> i64 {
    s.queue_page(&module_filter(), QueueSort::SeverityDesc, 1, 1, T0)
        .await
        .unwrap()
        .total
}

/// The open findings holding "module": how many the full list has.
async fn module_listed(s: &Store) -> i64 {
    s.queue_ids(&module_filter(), QueueSort::SeverityDesc, T0)
        .await
        .unwrap()
        .len() as i64
}

fn module_filter() -> FindingFilter {
    FindingFilter {
        text: Some("module".into()),
        ..FindingFilter::default()
    }
}

/// Closes the first open "module" finding of `product` with the products' trigger disabled for
/// that one statement: a change whose product's number of changes does not move, committed.
async fn close_behind_the_products_trigger(s: &Store, product: i64) {
    let QueuePage { findings, .. } = s
        .queue_page(
            &FindingFilter {
                products: vec![product],
                ..module_filter()
            },
            QueueSort::SeverityDesc,
            1,
            1,
            T0,
        )
        .await
        .unwrap();
    testing::begin_write(
        s,
        &format!(
            "ALTER TABLE findings DISABLE TRIGGER products_changed_update; \
             UPDATE findings SET is_open = FALSE, active = FALSE WHERE id = {}; \
             ALTER TABLE findings ENABLE TRIGGER products_changed_update",
            findings[0].id
        ),
    )
    .await
    .unwrap()
    .commit()
    .await
    .unwrap();
}

/// PostgreSQL counts again only the products whose findings changed: a write to one product leaves
/// the other products' parts of a remembered count as they were. Shown by a change the products'
/// trigger does not see (it is disabled for that one statement): the count keeps the untouched
/// product's part from before it, while the written product's part is counted again.
#[tokio::test]
async fn a_write_to_one_product_counts_only_that_product_again() {
    if let Some(db) = postgres_only("per-product").await {
        let s = &db.store;
        let (shop, _app) = seed(s).await;
        let count = || module_count(s);
        let listed = || module_listed(s);
        let before = count().await;
        assert_eq!(before, listed().await);
        close_behind_the_products_trigger(s, shop).await;
        assert_eq!(listed().await, before - 1);
        assert_eq!(count().await, before, "the shop's part is remembered");
        // An import into the app: its part is counted again, with its two new findings; the
        // shop's stays as it was remembered.
        s.import(
            request("app", "Semgrep JSON Report", T0 + 43 * DAY),
            [7101, 7104].map(|n| finding(n, "semgrep")).to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(listed().await, before + 1);
        assert_eq!(
            count().await,
            before + 2,
            "the app's part counted again, the shop's remembered"
        );
        // A write to the shop: its part too.
        s.import(
            request("shop", "ZAP Scan", T0 + 44 * DAY),
            [7201].map(|n| finding(n, "zap")).to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(count().await, listed().await);
        assert_eq!(count().await, before + 2);
    }
}

/// Scanner text has no bound, and PostgreSQL's text walk reads texts from an index whose entries
/// hold at most ~2.7 kB (migration 0020): a finding whose title and location are longer is stored,
/// counted and listed in its place on every page, whichever way the page is read.
#[tokio::test]
async fn a_text_longer_than_an_index_entry_is_found_in_its_place() {
    for db in backends("long-text").await {
        let s = &db.store;
        seed(s).await;
        let mut long = finding(7301, "semgrep");
        long.title = format!("needle in a long title {}", "x".repeat(3000));
        long.location.file = Some(format!("src/{}/needle.java", "deep/".repeat(700)));
        let mut findings = vec![long];
        findings.extend((7302..7330).map(|n| {
            let mut f = finding(n, "semgrep");
            f.title = format!("needle {n}");
            f
        }));
        s.import(
            request("app", "Semgrep JSON Report", T0 + 43 * DAY),
            findings,
        )
        .await
        .unwrap();
        if db.name == "postgres" {
            let long_rows = testing::execute(
                s,
                "SELECT 1 FROM finding_text WHERE octet_length(text) > 2000",
            )
            .await
            .unwrap();
            assert_eq!(long_rows, 1, "the long text is the long index's");
        }
        for status in [StatusFilter::Open, StatusFilter::All] {
            let needle = FindingFilter {
                text: Some("NEEDLE".into()),
                status,
                ..FindingFilter::default()
            };
            for (budget, text_walk_from) in [(None, Some(0)), (Some(12), Some(0)), (Some(0), None)]
            {
                testing::set_walk_budget(s, budget);
                testing::set_text_walk_from(s, text_walk_from);
                for sort in [QueueSort::SeverityDesc, QueueSort::Severity] {
                    let listed = s.queue_ids(&needle, sort, T0).await.unwrap();
                    assert_eq!(listed.len(), 29, "{} {status:?}", db.name);
                    let mut paged = Vec::new();
                    for page in 1..=5 {
                        let QueuePage {
                            findings, total, ..
                        } = s.queue_page(&needle, sort, page, 7, T0).await.unwrap();
                        assert_eq!(total, 29, "{} {status:?} {budget:?}", db.name);
                        paged.extend(findings.into_iter().map(|f| f.id));
                    }
                    assert_eq!(
                        paged,
                        listed,
                        "{} {status:?} {budget:?} {}",
                        db.name,
                        sort.as_str()
                    );
                }
            }
        }
        testing::set_walk_budget(s, None);
        testing::set_text_walk_from(s, None);
    }
}

/// On PostgreSQL a writer counts its products' parts of the counts read lately again before it
/// commits, so that the first reader after an import finds the count ready. Shown by a change the
/// products' trigger does not see, made after the import committed: the count read next is the
/// one the import counted in its transaction. A count that fails there leaves the write whole,
/// and its readers count.
#[tokio::test]
async fn a_writer_counts_again_the_counts_read_lately_before_it_commits() {
    if let Some(db) = postgres_only("recount").await {
        let s = &db.store;
        let (_shop, app) = seed(s).await;
        let count = || module_count(s);
        let listed = || module_listed(s);
        let before = count().await;
        assert_eq!(before, listed().await);
        let numbers = testing::product_changes(s).await.unwrap();

        // The import adds two matches to the app, and counts the app's part as it commits.
        s.import(
            request("app", "Semgrep JSON Report", T0 + 43 * DAY),
            [7101, 7104].map(|n| finding(n, "semgrep")).to_vec(),
        )
        .await
        .unwrap();
        let moved = testing::product_changes(s).await.unwrap();
        assert_ne!(moved, numbers, "the import moved the app's number");
        close_behind_the_products_trigger(s, app).await;
        assert_eq!(testing::product_changes(s).await.unwrap(), moved);
        assert_eq!(listed().await, before + 1);
        assert_eq!(
            count().await,
            before + 2,
            "the app's part as the import counted it, before the unseen change"
        );

        // A count read lately that fails: the import still commits, and the readers count.
        testing::remember_failing_count(s, app);
        s.import(
            request("app", "Semgrep JSON Report", T0 + 44 * DAY),
            [7201, 7204].map(|n| finding(n, "semgrep")).to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(listed().await, before + 3);
        assert_eq!(count().await, listed().await);
    }
}

/// On PostgreSQL every write to a product's findings or their facets moves that product's number
/// of changes, and only that product's: a triage, an import, a facet written or removed on its
/// own, a finding moved between products (both).
#[tokio::test]
async fn every_write_moves_the_number_of_the_products_it_touches() {
    if let Some(db) = postgres_only("product-changes").await {
        let s = &db.store;
        let (shop, app) = seed(s).await;
        let changes = || async { testing::product_changes(s).await.unwrap() };
        let moved = |before: &std::collections::BTreeMap<i64, i64>,
                     after: &std::collections::BTreeMap<i64, i64>| {
            let mut ids: Vec<i64> = after
                .iter()
                .filter(|(id, n)| before.get(id) != Some(n))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let in_app = s
            .queue_ids(
                &FindingFilter {
                    products: vec![app],
                    ..FindingFilter::default()
                },
                QueueSort::SeverityDesc,
                T0,
            )
            .await
            .unwrap();
        let (one, other) = (in_app[0], in_app[1]);

        let before = changes().await;
        s.bulk_triage(
            &BulkTarget::Ids(vec![one]),
            &BulkAction::CloseWontFix,
            "later",
            "alice",
            None,
            T0 + 42 * DAY,
        )
        .await
        .unwrap();
        let after = changes().await;
        assert_eq!(moved(&before, &after), vec![app], "a triage");

        let before = after;
        s.import(
            request("shop", "ZAP Scan", T0 + 43 * DAY),
            [7301].map(|n| finding(n, "zap")).to_vec(),
        )
        .await
        .unwrap();
        let after = changes().await;
        assert_eq!(moved(&before, &after), vec![shop], "an import");

        for (what, sql) in [
            (
                "a facet written",
                format!("INSERT INTO finding_facets (kind, value, finding_id, severity) VALUES ('tag', 'x', {other}, 2)"),
            ),
            (
                "a facet removed",
                format!("DELETE FROM finding_facets WHERE finding_id = {other} AND value = 'x'"),
            ),
            (
                "a facet changed",
                format!("UPDATE finding_facets SET value = 'y' WHERE finding_id = {other}"),
            ),
        ] {
            let before = changes().await;
            testing::execute(s, &sql).await.unwrap();
            let after = changes().await;
            assert_eq!(moved(&before, &after), vec![app], "{what}");
        }

        let before = changes().await;
        testing::execute(
            s,
            &format!("UPDATE findings SET product_id = {shop} WHERE id = {other}"),
        )
        .await
        .unwrap();
        let after = changes().await;
        let mut both = vec![shop, app];
        both.sort_unstable();
        assert_eq!(moved(&before, &after), both, "a finding moved");
    }
}

#[tokio::test]
async fn a_page_names_the_products_its_viewer_may_see_on_every_read_path() {
    for db in backends("page-products").await {
        let s = &db.store;
        let (shop, _app) = seed(s).await;
        // A name JSON or SQL would have to escape.
        let odd = r#"Ünï "quoted", with:colons\ and ] [brackets]"#;
        s.import(
            request(odd, "ZAP Scan", T0),
            (200..203).map(|n| finding(n, "zap")).collect(),
        )
        .await
        .unwrap();
        for restriction in [None, Some(shop)] {
            let expected = s.product_names_by_id(restriction).await.unwrap();
            assert_eq!(expected.len(), if restriction.is_some() { 1 } else { 3 });
            assert!(restriction.is_some() || expected.iter().any(|(_, name)| name == odd));
            // Counts from the tallies (PostgreSQL: one statement) and counts that read findings
            // (a transaction), each on a page with findings and on one past the end.
            let filters = [
                FindingFilter::default(),
                FindingFilter {
                    text: Some("module".into()),
                    ..FindingFilter::default()
                },
                FindingFilter {
                    sla: Some(SlaState::Ok),
                    ..FindingFilter::default()
                },
            ];
            for mut filter in filters {
                filter.restrict_to_product = restriction;
                for page in [1, 99] {
                    let got = s
                        .queue_page(&filter, QueueSort::SeverityDesc, page, 5, T0)
                        .await
                        .unwrap();
                    assert_eq!(
                        got.findings.is_empty(),
                        page == 99,
                        "{}: {filter:?} page {page}",
                        db.name
                    );
                    assert_eq!(
                        got.products, expected,
                        "{}: {filter:?} page {page}",
                        db.name
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_view_read_again_shows_its_own_count_and_page_after_its_matches_move() {
    for db in backends("page-hints").await {
        let s = &db.store;
        seed(s).await;
        let views = [
            FindingFilter {
                cwe: Some(79),
                ..FindingFilter::default()
            },
            FindingFilter {
                tag: Some("xss".into()),
                ..FindingFilter::default()
            },
        ];
        // Each view is read three times per page (what a store keeps between reads must not
        // change a page), with a walk that reaches far, one that stops after five findings (it
        // comes up short and the page is gathered) and none. Half the findings are tagged xss:
        // its first pages walk; cwe 79 is sparser, and gathered.
        let check = |label: &'static str| {
            let views = views.clone();
            async move {
                for view in &views {
                    let all = s
                        .queue_ids(view, QueueSort::SeverityDesc, T0)
                        .await
                        .unwrap();
                    assert!(all.len() > 6, "{}: {view:?} matches enough", db.name);
                    for budget in [None, Some(5), Some(0)] {
                        testing::set_walk_budget(s, budget);
                        for page in 1..=4 {
                            for _ in 0..3 {
                                let got = s
                                    .queue_page(view, QueueSort::SeverityDesc, page, 3, T0)
                                    .await
                                    .unwrap();
                                let ids: Vec<i64> = got.findings.iter().map(|f| f.id).collect();
                                let from = ((page - 1) * 3) as usize;
                                let expected: Vec<i64> =
                                    all.iter().copied().skip(from).take(3).collect();
                                assert_eq!(
                                    ids, expected,
                                    "{} {label}: {view:?} page {page}, walk budget {budget:?}",
                                    db.name
                                );
                                assert_eq!(got.total, all.len() as i64, "{} {label}", db.name);
                            }
                        }
                    }
                    testing::set_walk_budget(s, None);
                }
            }
        };
        check("seeded").await;
        // New findings come first in the order and hold none of the matches: the matches are
        // now sparser near the top than they were.
        let mut flood: Vec<Finding> = (300..420).map(|n| finding(n, "zap")).collect();
        for f in &mut flood {
            f.severity = Severity::Critical;
            f.cwe.clear();
            f.tags.clear();
        }
        s.import(request("flood", "ZAP Scan", T0), flood)
            .await
            .unwrap();
        check("after an import").await;
    }
}

#[tokio::test]
async fn a_page_read_in_a_transaction_leaves_its_connection_outside_it() {
    // PostgreSQL reads a page on its own typed connections (`postgres_read`), and a page read in
    // a read-only transaction ends it before its connection is given back. With one connection
    // (`max_connections: 1`), every later page and `testing::postgres_setting` (which reads the
    // pool's connection and the pages' one) run on the page's connection, so a transaction left
    // open would show here (a repeatable-read, read-only setting; counts from the old snapshot).
    let Some(url) = postgres_url("page-transaction").await else {
        return;
    };
    let options = StoreOptions {
        max_connections: Some(1),
        ..StoreOptions::default()
    };
    let s = &Store::open(&url, options).await.unwrap();
    seed(s).await;
    // Views read in more than one statement: a facet's page (two statements, or a transaction
    // when a write lands between them) and a text or SLA count (a transaction), on a page with
    // findings and one past the end, walked and gathered.
    let views = [
        FindingFilter {
            tag: Some("xss".into()),
            ..FindingFilter::default()
        },
        FindingFilter {
            cwe: Some(79),
            ..FindingFilter::default()
        },
        FindingFilter {
            text: Some("module".into()),
            ..FindingFilter::default()
        },
        FindingFilter {
            sla: Some(SlaState::Ok),
            ..FindingFilter::default()
        },
    ];
    let mut n = 500;
    for view in &views {
        for budget in [None, Some(0)] {
            testing::set_walk_budget(s, budget);
            for page in [1, 99] {
                let before = s
                    .queue_page(view, QueueSort::SeverityDesc, page, 3, T0)
                    .await
                    .unwrap();
                for (setting, outside) in [
                    ("transaction_isolation", "read committed"),
                    ("transaction_read_only", "off"),
                ] {
                    assert_eq!(
                        testing::postgres_setting(s, setting).await.unwrap(),
                        outside,
                        "{view:?} page {page}, budget {budget:?}: the next statement is outside the page's transaction"
                    );
                }
                // A write on the same connection, and the next page sees it.
                let mut f = finding(n, "zap");
                f.tags = vec![Tag::Xss];
                f.cwe = vec![79];
                f.severity = Severity::High;
                n += 1;
                let mut req = request("shop", "ZAP Scan", T0 + DAY);
                req.target.test_title = Some(format!("extra {n}"));
                s.import(req, vec![f]).await.unwrap();
                let after = s
                    .queue_page(view, QueueSort::SeverityDesc, page, 3, T0)
                    .await
                    .unwrap();
                assert!(
                    after.total > before.total,
                    "{view:?} page {page}, budget {budget:?}: the page after a write counts it ({} then {})",
                    before.total,
                    after.total
                );
            }
        }
    }
}

#[tokio::test]
async fn the_findings_list_counts_what_it_lists_from_the_tallies_or_the_findings() {
    for db in backends("list-count").await {
        let s = &db.store;
        let (shop, app) = seed(s).await;
        let every = s
            .findings(&ListQuery {
                limit: MAX_LIST_PAGE,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(every.count, 50, "{}", db.name);
        assert_eq!(every.results.len(), 50, "{}", db.name);
        // Counts the tallies give (product, severity, a product-limited token) and counts that
        // read the findings (active), alone and together.
        let mut queries = Vec::new();
        for product in [None, Some(shop), Some(app)] {
            for severity in [None, Some(Severity::Critical), Some(Severity::Low)] {
                for restrict in [None, Some(app)] {
                    for active in [None, Some(false)] {
                        queries.push(ListQuery {
                            limit: MAX_LIST_PAGE,
                            product_id: product,
                            severity,
                            restrict_to_product: restrict,
                            active,
                            ..ListQuery::default()
                        });
                    }
                }
            }
        }
        for q in &queries {
            let got = s.findings(q).await.unwrap();
            let expected = every
                .results
                .iter()
                .filter(|f| q.product_id.is_none_or(|p| f.product_id == p))
                .filter(|f| q.restrict_to_product.is_none_or(|p| f.product_id == p))
                .filter(|f| q.severity.is_none_or(|s| f.finding.severity == s))
                .filter(|f| q.active.is_none_or(|a| f.status.active == a))
                .count();
            assert_eq!(got.results.len(), expected, "{}: {q:?}", db.name);
            assert_eq!(got.count, expected as i64, "{}: {q:?}", db.name);
        }
        // A page of the list says the count of the whole list.
        let first = s
            .findings(&ListQuery {
                limit: 7,
                offset: 7,
                product_id: Some(shop),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(first.results.len(), 7, "{}", db.name);
        assert_eq!(first.count, 30, "{}", db.name);
    }
}

#[tokio::test]
async fn a_queue_row_says_what_its_finding_says_on_every_read_path() {
    let mut dbs = backends("queue-rows").await;
    // SQLite without its direct reader: the page through sqlx.
    dbs.push(Db {
        store: Store::open("sqlite::memory:", StoreOptions::default())
            .await
            .unwrap(),
        dir: None,
        name: "sqlite in memory",
    });
    for db in dbs {
        let s = &db.store;
        seed(s).await;
        // Places worded otherwise (a URL, a component, nowhere at all), a title with markup and
        // a title and a path with what a driver or an escape could mangle.
        let mut odd: Vec<Finding> = (200..205).map(|n| finding(n, "zap")).collect();
        for f in &mut odd {
            f.location = Default::default();
        }
        odd[0].location.url = Some("https://shop.example/login?next=%2F".into());
        odd[1].location.component = Some("com.example.app.ExportedActivity".into());
        odd[3].title = "<b>XSS</b> in \"search\" & 'sort'".into();
        odd[4].title = "C:\\temp\\x.txt\t\"quoted\"\u{1}\u{7f} caf\u{e9} \u{1f512} \u{2028}".into();
        odd[4].location.file = Some("src/\"weird\\path\"/\u{e9}.rs".into());
        s.import(request("odd", "ZAP Scan", T0 + 2 * DAY), odd)
            .await
            .unwrap();
        let open = s
            .queue_ids(&FindingFilter::default(), QueueSort::SeverityDesc, T0)
            .await
            .unwrap();
        s.set_priority(open[0], Priority::P1, "bob", None, T0 + 44 * DAY)
            .await
            .unwrap();
        let filters = [
            // Counted from the tallies (PostgreSQL: one statement).
            FindingFilter::default(),
            FindingFilter {
                status: StatusFilter::All,
                ..FindingFilter::default()
            },
            // A facet (walked, or gathered when the walk's budget is nil), a text and an SLA
            // state (read in a transaction).
            FindingFilter {
                tag: Some("xss".into()),
                status: StatusFilter::All,
                ..FindingFilter::default()
            },
            FindingFilter {
                text: Some("module".into()),
                ..FindingFilter::default()
            },
            FindingFilter {
                sla: Some(SlaState::Ok),
                ..FindingFilter::default()
            },
        ];
        let mut seen = std::collections::HashSet::new();
        let (mut prioritized, mut marked_up) = (false, false);
        for filter in &filters {
            for budget in [None, Some(0)] {
                testing::set_walk_budget(s, budget);
                for sort in [QueueSort::SeverityDesc, QueueSort::Title] {
                    let all = s.queue_ids(filter, sort, T0).await.unwrap();
                    assert!(!all.is_empty(), "{}: {filter:?}", db.name);
                    let expected: Vec<QueueRow> = s
                        .queue_findings(&all, None)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|f| QueueRow {
                            id: f.id,
                            product_id: f.product_id,
                            title: f.finding.title.clone(),
                            severity: f.finding.severity,
                            scanner: f.finding.scanner.name.clone(),
                            location: location_text(&f.finding),
                            status: f.status.clone(),
                            first_seen: f.first_seen,
                            sla_due: f.sla_due.clone(),
                        })
                        .collect();
                    let mut got = Vec::new();
                    for page in 1..=(all.len() as i64 + 6) / 7 {
                        got.extend(
                            s.queue_page(filter, sort, page, 7, T0)
                                .await
                                .unwrap()
                                .findings,
                        );
                    }
                    assert_eq!(
                        got, expected,
                        "{}: {filter:?} {sort:?}, walk budget {budget:?}",
                        db.name
                    );
                    prioritized |= got.iter().any(|r| r.status.priority == Some(Priority::P1));
                    marked_up |= got.iter().any(|r| r.title.starts_with("<b>XSS</b>"));
                    seen.extend(got.into_iter().map(|r| (r.location, r.status.word())));
                }
            }
        }
        testing::set_walk_budget(s, None);
        // The rows compared held every kind of place, status and title seeded.
        let places = [
            "https://shop.example/login?next=%2F",
            "com.example.app.ExportedActivity",
            "",
        ];
        for place in places {
            assert!(
                seen.iter().any(|(p, _)| p == place),
                "{}: {place:?}",
                db.name
            );
        }
        assert!(seen
            .iter()
            .any(|(p, _)| p.starts_with("lib") && p.ends_with(" 2.0")));
        assert!(seen
            .iter()
            .any(|(p, _)| p.starts_with("src/Module") && p.contains(".java:")));
        for word in ["open", "false_positive", "closed_risk_accepted"] {
            assert!(seen.iter().any(|(_, w)| *w == word), "{}: {word}", db.name);
        }
        assert!(prioritized && marked_up, "{}", db.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facet_page_read_in_two_statements_never_mixes_two_states() {
    // PostgreSQL reads a facet's page in two statements without a transaction, checking that no
    // write to its products landed between them; SQLite reads every page in one snapshot.
    let Some(db) = postgres_only("facet-two-statements").await else {
        return;
    };
    seed(&db.store).await;
    let view = FindingFilter {
        cwe: Some(79),
        ..FindingFilter::default()
    };
    two_statement_pages_never_mix(&db.store, &view).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_count_page_read_in_two_statements_never_mixes_two_states() {
    // A text's count is remembered under the products' numbers of changes; while every part of it
    // is remembered, PostgreSQL reads its page in checked statements too (no `BEGIN`, no `COMMIT`).
    let Some(db) = postgres_only("remembered-two-statements").await else {
        return;
    };
    let s = &db.store;
    seed(s).await;
    let view = FindingFilter {
        text: Some("module".into()),
        ..FindingFilter::default()
    };
    let total = s
        .queue_page(&view, QueueSort::SeverityDesc, 1, 3, T0)
        .await
        .unwrap()
        .total;
    assert!(total > 1);
    let before = testing::snapshot_pages(s);
    for _ in 0..5 {
        let page = s
            .queue_page(&view, QueueSort::SeverityDesc, 1, 3, T0)
            .await
            .unwrap();
        assert_eq!(page.total, total);
    }
    assert_eq!(
        testing::snapshot_pages(s),
        before,
        "a remembered count's pages read without a snapshot of their own"
    );
    let view = FindingFilter {
        text: Some("flood".into()),
        ..FindingFilter::default()
    };
    two_statement_pages_never_mix(s, &view).await;
}

/// Imports, one at a time, a critical CWE-79 finding "Flood k" that comes first in `view`'s
/// order, while pages of `view` are read: a page's count says how many had landed, its first row
/// must be the last of them.
async fn two_statement_pages_never_mix(s: &Store, view: &FindingFilter) {
    let s = s.clone();
    let base = s
        .queue_page(view, QueueSort::SeverityDesc, 1, 3, T0)
        .await
        .unwrap()
        .total;
    // Each import adds one critical CWE-79 finding, "Flood k", first in the view's order: a
    // page's count says how many had landed, its first row which was last.
    const IMPORTS: usize = 80;
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for k in 1..=IMPORTS {
                let mut f = finding(1000 + k, "zap");
                f.severity = Severity::Critical;
                f.cwe = vec![79];
                f.title = format!("Flood {k}");
                s.import(request("shop", "ZAP Scan", T0 + DAY), vec![f])
                    .await
                    .unwrap();
            }
        })
    };
    let snapshots = testing::snapshot_pages(&s);
    let mut reads = 0;
    while !writer.is_finished() {
        let page = s
            .queue_page(view, QueueSort::SeverityDesc, 1, 3, T0)
            .await
            .unwrap();
        let landed = page.total - base;
        let first = page
            .findings
            .first()
            .map(|f| f.title.as_str())
            .unwrap_or("");
        if landed == 0 {
            assert!(!first.starts_with("Flood"), "read {reads}: {first}");
        } else {
            assert_eq!(first, format!("Flood {landed}"), "read {reads}");
        }
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 100, "only {reads} reads ran beside the imports");
    // Most pages read in checked statements: a snapshot only when a write landed between them
    // or (a remembered count) its changed product's part was to be counted.
    let snapshots = testing::snapshot_pages(&s) - snapshots;
    assert!(
        snapshots < reads as u64 / 2,
        "{snapshots} of {reads} pages read in a snapshot of their own"
    );
}
