//! The store on both backends: SQLite always, PostgreSQL when TOLLGATE_TEST_POSTGRES_URL is set
//! (each test gets its own fresh database there).

use std::path::PathBuf;
use tollgate_model::{Category, Finding, Fingerprint, Scanner, Severity};
use tollgate_store::*;

struct Db {
    store: Store,
    _dir: Option<TempDir>,
    name: &'static str,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sqlite() -> Db {
    sqlite_with(StoreOptions::default()).await
}

async fn sqlite_with(options: StoreOptions) -> Db {
    let dir = std::env::temp_dir().join(format!(
        "tollgate-store-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    Db {
        store: Store::open(&url, options).await.unwrap(),
        _dir: Some(TempDir(dir)),
        name: "sqlite",
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The URL of a fresh database on the test PostgreSQL server, or None (said loudly) when not
/// configured.
async fn fresh_postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("TOLLGATE_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = tollgate_store::testing::fresh_postgres_database(&base)
        .await
        .expect("create a test database");
    Some(url)
}

/// A fresh database on the test PostgreSQL server, or None (said loudly) when not configured.
async fn postgres() -> Option<Db> {
    let url = fresh_postgres_url().await?;
    Some(Db {
        store: Store::open(&url, StoreOptions::default()).await.unwrap(),
        _dir: None,
        name: "postgres",
    })
}

async fn backends() -> Vec<Db> {
    let mut v = vec![sqlite().await];
    v.extend(postgres().await);
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

fn reimport(now: i64) -> ImportRequest {
    let mut r = ImportRequest::new(ImportMode::Reimport, "ZAP Scan", now);
    r.auto_create_context = true;
    r.target = ImportTarget {
        product_type_name: Some("web".into()),
        product_name: Some("shop".into()),
        engagement_name: Some("dast".into()),
        ..ImportTarget::default()
    };
    r
}

#[tokio::test]
async fn reimport_creates_untouches_closes_and_reactivates() {
    for db in backends().await {
        let s = &db.store;
        let first = s
            .import(
                reimport(1_000),
                vec![
                    finding("a1", Severity::High),
                    finding("b2", Severity::Low),
                    finding("c3", Severity::Critical),
                ],
            )
            .await
            .unwrap();
        let stats = &first.statistics;
        assert!(
            stats.before.is_none(),
            "{}: first call is an import",
            db.name
        );
        assert_eq!(stats.after.total.total, 3);
        assert_eq!(stats.after.critical.active, 1);

        // b2 gone, d4 new.
        let second = s
            .import(
                reimport(2_000),
                vec![
                    finding("a1", Severity::High),
                    finding("c3", Severity::Critical),
                    finding("d4", Severity::Medium),
                ],
            )
            .await
            .unwrap();
        assert_eq!(second.test_id, first.test_id, "{}", db.name);
        let d = second.statistics.delta.as_ref().unwrap();
        assert_eq!(
            (
                d.created.total.total,
                d.closed.total.total,
                d.reactivated.total.total,
                d.untouched.total.total
            ),
            (1, 1, 0, 2),
            "{}",
            db.name
        );
        assert_eq!(d.closed.low.is_mitigated, 1);

        // b2 comes back: reactivated.
        let third = s
            .import(
                reimport(3_000),
                vec![
                    finding("a1", Severity::High),
                    finding("b2", Severity::Low),
                    finding("c3", Severity::Critical),
                    finding("d4", Severity::Medium),
                ],
            )
            .await
            .unwrap();
        let d = third.statistics.delta.unwrap();
        assert_eq!(d.reactivated.total.total, 1, "{}", db.name);
        assert_eq!(d.untouched.total.total, 3, "{}", db.name);
        assert_eq!(third.statistics.after.total.active, 4);

        // Lists and counters agree.
        let (page, total) = s
            .security_findings(&ResultsQuery {
                page_size: 2,
                status_group: Some(StatusGroup::Open),
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(total, 4, "{}", db.name);
        assert_eq!(page.len(), 2);
        assert!(page.iter().all(|f| f.status.is_open()));
    }
}

/// Each finding's `last_seen` by title, from the list and from the single-finding read.
async fn last_seen_by_title(s: &Store, test_id: i64) -> std::collections::BTreeMap<String, i64> {
    let q = ListQuery {
        limit: 100,
        test_id: Some(test_id),
        ..ListQuery::default()
    };
    let mut out = std::collections::BTreeMap::new();
    for f in s.findings(&q).await.unwrap().results {
        let one = s.finding(f.id).await.unwrap().unwrap();
        assert_eq!(one.last_seen, f.last_seen, "{}", f.finding.title);
        out.insert(f.finding.title.replace("Title ", ""), f.last_seen);
    }
    out
}

/// `last_seen` is the time of the last import that reported the finding. An import writes it
/// only when it misses a finding its test's last import reported, or reports one that import
/// missed (migration 0016): every way in and out of "seen by the last import" is here.
#[tokio::test]
async fn last_seen_is_the_time_of_the_last_import_that_reported_the_finding() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let all = || {
            vec![
                finding("a1", Severity::High),
                finding("b2", Severity::Low),
                finding("c3", Severity::Critical),
            ]
        };
        let first = s.import(reimport(1_000), all()).await.unwrap();
        let t = first.test_id;
        let expect = |pairs: &[(&str, i64)]| -> std::collections::BTreeMap<String, i64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 1_000), ("b2", 1_000), ("c3", 1_000)]),
            "{n}"
        );
        // c3 missed and left open (no close_old_findings): it keeps 1000.
        let mut keep_open = reimport(2_000);
        keep_open.close_old_findings = false;
        s.import(
            keep_open,
            vec![finding("a1", Severity::High), finding("b2", Severity::Low)],
        )
        .await
        .unwrap();
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 2_000), ("b2", 2_000), ("c3", 1_000)]),
            "{n}"
        );
        // b2 missed and closed: it keeps 2000; c3, missed twice, still 1000.
        s.import(reimport(3_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 3_000), ("b2", 2_000), ("c3", 1_000)]),
            "{n}"
        );
        // Both back (reactivated): seen now.
        s.import(reimport(4_000), all()).await.unwrap();
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 4_000), ("b2", 4_000), ("c3", 4_000)]),
            "{n}"
        );
        // Untouched by an identical reimport: each one moves to its time, written or not.
        s.import(reimport(5_000), all()).await.unwrap();
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 5_000), ("b2", 5_000), ("c3", 5_000)]),
            "{n}"
        );
        // A row as migration 0016 found it (its time stored, not flagged): read as stored, and
        // the next import that reports it moves it on.
        tollgate_store::testing::execute(
            s,
            &format!(
                "UPDATE findings SET last_seen = 4500, seen_in_last_import = {} WHERE fingerprint = '{:0>32}'",
                if n == "postgres" { "FALSE" } else { "0" },
                "a1"
            ),
        )
        .await
        .unwrap();
        assert_eq!(last_seen_by_title(s, t).await["a1"], 4_500, "{n}");
        // A triage-closed finding the scan no longer reports keeps the time it was last seen.
        let b2 = s
            .findings(&ListQuery {
                limit: 100,
                test_id: Some(t),
                ..ListQuery::default()
            })
            .await
            .unwrap()
            .results
            .into_iter()
            .find(|f| f.finding.title == "Title b2")
            .unwrap();
        tollgate_store::testing::execute(
            s,
            &format!(
                "UPDATE findings SET false_p = {0}, active = {1}, is_open = {1} WHERE id = {2}",
                if n == "postgres" { "TRUE" } else { "1" },
                if n == "postgres" { "FALSE" } else { "0" },
                b2.id
            ),
        )
        .await
        .unwrap();
        s.import(
            reimport(6_000),
            vec![
                finding("a1", Severity::High),
                finding("c3", Severity::Critical),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 6_000), ("b2", 5_000), ("c3", 6_000)]),
            "{n}"
        );
        // An import into a new test that closes what the earlier test had: the earlier test's
        // findings keep their times (their test's last import did not change).
        let mut new_test = reimport(7_000);
        new_test.mode = ImportMode::Import;
        let second = s
            .import(new_test, vec![finding("c3", Severity::Critical)])
            .await
            .unwrap();
        assert_ne!(second.test_id, t, "{n}");
        assert_eq!(
            last_seen_by_title(s, t).await,
            expect(&[("a1", 6_000), ("b2", 5_000), ("c3", 6_000)]),
            "{n}"
        );
        assert_eq!(
            last_seen_by_title(s, second.test_id).await,
            expect(&[("c3", 7_000)]),
            "{n}"
        );
    }
}

/// PostgreSQL plans the hub's reads with a random page read at 1.1 sequential ones, unless the
/// operator set a value (server, database or role): then theirs stands.
#[tokio::test]
async fn postgres_random_page_cost_is_lowered_unless_the_operator_set_it() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let cost = tollgate_store::testing::postgres_setting(&store, "random_page_cost")
        .await
        .unwrap();
    assert_eq!(cost, "1.1");
    let db = url.rsplit('/').next().unwrap();
    tollgate_store::testing::execute(
        &store,
        &format!("ALTER DATABASE \"{db}\" SET random_page_cost = 3"),
    )
    .await
    .unwrap();
    let again = Store::open(&url, StoreOptions::default()).await.unwrap();
    let cost = tollgate_store::testing::postgres_setting(&again, "random_page_cost")
        .await
        .unwrap();
    assert_eq!(cost, "3", "the database's own setting stands");
}

/// PostgreSQL: the store's vacuums after writes go at autovacuum's pace (a 2 ms rest after each
/// `vacuum_cost_limit` of work), on their connection only, unless the operator set a pace.
#[tokio::test]
async fn postgres_vacuums_after_writes_are_paced_unless_the_operator_set_it() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    // One connection: the vacuum's is the one read afterwards.
    let one = StoreOptions {
        max_connections: Some(1),
        ..StoreOptions::default()
    };
    let store = Store::open(&url, one).await.unwrap();
    let (paced, after) = tollgate_store::testing::vacuum_pace(&store).await.unwrap();
    assert_eq!(paced, "2ms");
    assert_eq!(after, "0", "the pool's connection keeps the server's pace");
    let db = url.rsplit('/').next().unwrap();
    tollgate_store::testing::execute(
        &store,
        &format!("ALTER DATABASE \"{db}\" SET vacuum_cost_delay = 0"),
    )
    .await
    .unwrap();
    let again = Store::open(&url, StoreOptions::default()).await.unwrap();
    let (paced, _) = tollgate_store::testing::vacuum_pace(&again).await.unwrap();
    assert_eq!(paced, "0", "the database's own setting stands");
}

/// PostgreSQL reads the queue's pages on connections of its own (`postgres_read`): the most
/// recently used is reused, one idle a while is checked first (a server that closed it is not a
/// failed page), and one a read gave up part way is closed, never reused mid-exchange.
#[tokio::test]
async fn postgres_page_connections_are_reused_checked_when_idle_and_closed_when_abandoned() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let s = &store;
    s.import(reimport(1_000), vec![finding("a1", Severity::High)])
        .await
        .unwrap();
    let page = |s: &Store| {
        let s = s.clone();
        async move {
            s.queue_page(
                &FindingFilter {
                    text: Some("title a1".into()),
                    ..FindingFilter::default()
                },
                QueueSort::SeverityDesc,
                1,
                10,
                2_000,
            )
            .await
            .unwrap()
            .total
        }
    };
    assert_eq!(page(s).await, 1);
    let first = testing::page_connection_pid(s).await.unwrap();
    assert_eq!(page(s).await, 1);
    assert_eq!(
        testing::page_connection_pid(s).await.unwrap(),
        first,
        "the connection given back is the one used next"
    );
    // Closed by the server while idle: the next page checks it, opens another, and is answered.
    testing::execute(s, &format!("SELECT pg_terminate_backend({first})"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(
        page(s).await,
        1,
        "a page after the server closed its idle connection"
    );
    let second = testing::page_connection_pid(s).await.unwrap();
    assert_ne!(second, first);
    // Taken and dropped without being given back: closed, and the next read opens another.
    testing::abandon_page_connection(s).await.unwrap();
    let third = testing::page_connection_pid(s).await.unwrap();
    assert_ne!(third, second, "an abandoned connection is not reused");
    assert_eq!(page(s).await, 1);
}

#[tokio::test]
async fn postgres_on_this_machine_is_reached_without_tls_unless_the_url_asks_for_it() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let loopback = ["@127.", "@localhost", "@[::1]"]
        .iter()
        .any(|h| url.contains(h));
    if !loopback || url.contains("sslmode") || std::env::var_os("PGSSLMODE").is_some() {
        eprintln!("SKIPPED: the test server's URL is not a loopback one without sslmode");
        return;
    }
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let ssl_on = tollgate_store::testing::postgres_setting(&store, "ssl")
        .await
        .unwrap()
        == "on";
    if !ssl_on {
        eprintln!(
            "NOTE: the test server has ssl off: that a loopback URL connects without TLS is not \
             shown here, only that the URL's own sslmode is kept"
        );
    }
    assert!(
        !tollgate_store::testing::postgres_connection_uses_tls(&store)
            .await
            .unwrap(),
        "a loopback URL without sslmode connects without TLS"
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    let asked = format!(
        "{url}{sep}sslmode={}",
        if ssl_on { "require" } else { "prefer" }
    );
    let store = Store::open(&asked, StoreOptions::default()).await.unwrap();
    assert_eq!(
        tollgate_store::testing::postgres_connection_uses_tls(&store)
            .await
            .unwrap(),
        ssl_on,
        "the URL's own sslmode is kept (the server has ssl {})",
        if ssl_on { "on" } else { "off" }
    );
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_while_idle_is_replaced() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let options = StoreOptions {
        max_connections: Some(1),
        ..StoreOptions::default()
    };
    let store = Store::open(&url, options.clone()).await.unwrap();
    store.ping().await.unwrap();
    // A restart, a failover or a firewall's idle timeout: the server end of the pool's one
    // connection goes away while it sits idle.
    let other = Store::open(&url, options).await.unwrap();
    let ended = tollgate_store::testing::execute(
        &other,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .unwrap();
    assert_eq!(ended, 1, "the store's one idle connection was ended");
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    store
        .ping()
        .await
        .expect("an idle connection is checked and replaced before use");
}

#[tokio::test]
async fn triage_closed_findings_never_reopen_and_titles_stay() {
    for db in backends().await {
        let s = &db.store;
        let out = s
            .import(reimport(1_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 10,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        let id = page[0].id;
        assert!(page[0].is_new);
        let closed = s
            .close_finding(
                id,
                ClosedAs::ClosedRiskAccepted,
                true,
                "accepted until the rewrite",
                None,
                "alice",
                None,
                1_500,
            )
            .await
            .unwrap();
        assert!(!closed.status.is_open());
        assert!(closed.status.permanently_closed);
        let again = s
            .close_finding(
                id,
                ClosedAs::ClosedWontFix,
                false,
                "x",
                None,
                "bob",
                None,
                1_600,
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{}", db.name);

        let mut changed = finding("a1", Severity::Critical);
        changed.title = "Rewritten title".into();
        let out2 = s.import(reimport(2_000), vec![changed]).await.unwrap();
        assert_eq!(out2.test_id, out.test_id);
        let f = s.finding(id).await.unwrap().unwrap();
        assert!(
            !f.status.is_open(),
            "{}: permanently closed stays closed",
            db.name
        );
        assert_eq!(f.finding.title, "Title a1");
        assert_eq!(f.finding.severity, Severity::High);
        let notes = s.notes(&[id]).await.unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].text.contains("accepted until the rewrite"));
        let (open, closed) = s.finding_totals().await.unwrap();
        assert_eq!((open, closed), (0, 1), "{}", db.name);
    }
}

#[tokio::test]
async fn unknown_product_without_auto_create_is_refused_and_nothing_is_stored() {
    for db in backends().await {
        let s = &db.store;
        let mut r = reimport(1_000);
        r.auto_create_context = false;
        let err = s
            .import(r, vec![finding("a1", Severity::High)])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(ref m) if m.contains("shop")),
            "{err}"
        );
        let products = s
            .products(&ListQuery {
                limit: 10,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(products.count, 0, "{}", db.name);
    }
}

#[tokio::test]
async fn concurrent_auto_create_makes_one_product_and_one_test() {
    for db in backends().await {
        let s = db.store.clone();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.import(
                    reimport(1_000 + i),
                    vec![finding("a1", Severity::High), finding("b2", Severity::Low)],
                )
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let q = ListQuery {
            limit: 100,
            ..ListQuery::default()
        };
        assert_eq!(s.products(&q).await.unwrap().count, 1, "{}", db.name);
        assert_eq!(s.engagements(&q).await.unwrap().count, 1, "{}", db.name);
        assert_eq!(s.tests(&q).await.unwrap().count, 1, "{}", db.name);
        assert_eq!(s.findings(&q).await.unwrap().count, 2, "{}", db.name);
    }
}

#[tokio::test]
async fn tokens_are_hashed_scoped_and_revocable() {
    for db in backends().await {
        let s = &db.store;
        let (token, secret) = s
            .create_token("ci", &[Scope::Import, Scope::Read], None, 1)
            .await
            .unwrap();
        assert!(secret.starts_with("tgk_"));
        let found = s.authenticate(&secret).await.unwrap().unwrap();
        assert_eq!(found.id, token.id);
        assert!(found.allows(Scope::Import) && !found.allows(Scope::Triage));
        assert!(s.authenticate("tgk_wrong").await.unwrap().is_none());
        assert!(s.create_token("ci", &[Scope::Read], None, 2).await.is_err());
        assert!(s.revoke_token("ci", 3).await.unwrap());
        assert!(
            s.authenticate(&secret).await.unwrap().is_none(),
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn an_expired_risk_acceptance_reopens_when_the_finding_is_still_there() {
    const DAY: i64 = 86_400;
    for db in backends().await {
        let s = &db.store;
        s.import(
            reimport(DAY),
            vec![finding("a1", Severity::High), finding("b2", Severity::Low)],
        )
        .await
        .unwrap();
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 10,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        // Accepted until 1970-01-03 (day 2 after the epoch).
        for f in &page {
            s.close_finding(
                f.id,
                ClosedAs::ClosedRiskAccepted,
                false,
                "until the fix ships",
                Some("1970-01-03"),
                "alice",
                None,
                DAY,
            )
            .await
            .unwrap();
        }
        assert!(s
            .close_finding(
                page[0].id,
                ClosedAs::ClosedWontFix,
                false,
                "x",
                Some("1970-01-03"),
                "a",
                None,
                DAY
            )
            .await
            .is_err());
        // Still accepted on the expiry day itself.
        let out = s
            .import(reimport(2 * DAY), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        assert_eq!(
            out.statistics
                .delta
                .as_ref()
                .unwrap()
                .reactivated
                .total
                .total,
            0,
            "{}",
            db.name
        );
        // The day after: a1 (still reported) reopens; b2 (gone) stays closed.
        let out = s
            .import(reimport(3 * DAY), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        let d = out.statistics.delta.unwrap();
        assert_eq!(d.reactivated.total.total, 1, "{}", db.name);
        let a1 = s.finding(page[0].id).await.unwrap().unwrap();
        assert!(
            a1.status.is_open() && !a1.status.risk_accepted,
            "{}",
            db.name
        );
        let b2 = s.finding(page[1].id).await.unwrap().unwrap();
        assert!(!b2.status.is_open(), "{}", db.name);
        assert_eq!(s.finding_totals().await.unwrap(), (1, 1), "{}", db.name);
    }
}

#[tokio::test]
async fn import_with_close_old_findings_closes_what_earlier_tests_of_the_scan_type_had() {
    for db in backends().await {
        let s = &db.store;
        let mut first = reimport(1_000);
        first.mode = ImportMode::Import;
        first.close_old_findings = false;
        let a = s
            .import(
                first.clone(),
                vec![finding("a1", Severity::High), finding("b2", Severity::Low)],
            )
            .await
            .unwrap();
        let mut second = first.clone();
        second.now = 2_000;
        second.close_old_findings = true;
        let b = s
            .import(second, vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        assert_ne!(a.test_id, b.test_id, "{}: import makes a new test", db.name);
        let q = ListQuery {
            limit: 10,
            test_id: Some(a.test_id),
            ..ListQuery::default()
        };
        let old = s.findings(&q).await.unwrap().results;
        let b2 = old.iter().find(|f| f.finding.title == "Title b2").unwrap();
        let a1 = old.iter().find(|f| f.finding.title == "Title a1").unwrap();
        assert!(b2.status.is_mitigated, "{}", db.name);
        assert!(
            a1.status.is_open(),
            "{}: still reported, stays open",
            db.name
        );
        assert_eq!(s.finding_totals().await.unwrap(), (2, 1), "{}", db.name);
    }
}

/// SQLite files read finding pages on a direct path (rusqlite); PostgreSQL and SQLite in memory
/// through one sqlx aggregate. Both must give every field of every finding exactly as the
/// single-finding read does, under every filter and across cursors.
#[tokio::test]
async fn finding_pages_agree_on_every_read_path() {
    for db in backends().await {
        let s = &db.store;
        let names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"];
        let all: Vec<Finding> = names
            .iter()
            .zip([Severity::Critical, Severity::High, Severity::Low])
            .map(|(n, sev)| finding(n, sev))
            .chain(names[3..].iter().map(|n| finding(n, Severity::Medium)))
            .collect();
        s.import(reimport(1_000), all.clone()).await.unwrap();
        // a2 fixed (absent from the second reimport); a3 risk accepted with an expiry and a
        // priority; a4 closed for good; the rest open, one of them still NEW.
        let second: Vec<Finding> = all
            .iter()
            .filter(|f| f.rule_id != "rule-a2")
            .cloned()
            .collect();
        s.import(reimport(2_000), second).await.unwrap();
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 100,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        let id_of = |rule: &str| page.iter().find(|f| f.finding.rule_id == rule).unwrap().id;
        s.set_priority(id_of("rule-a3"), Priority::P1, "triager", None, 2_100)
            .await
            .unwrap();
        s.close_finding(
            id_of("rule-a3"),
            ClosedAs::ClosedRiskAccepted,
            false,
            "until the rewrite",
            Some("2030-01-01"),
            "alice",
            None,
            2_200,
        )
        .await
        .unwrap();
        s.close_finding(
            id_of("rule-a4"),
            ClosedAs::ClosedWontFix,
            true,
            "never",
            None,
            "bob",
            None,
            2_300,
        )
        .await
        .unwrap();
        let product = page[0].product_id;

        let aggregate = s.without_direct_reads();
        for status_group in [None, Some(StatusGroup::Open), Some(StatusGroup::Closed)] {
            for product_id in [None, Some(product), Some(product + 1000)] {
                for page_size in [1, 2, 3, 100] {
                    let mut q = ResultsQuery {
                        page_size,
                        product_id,
                        status_group,
                        ..ResultsQuery::default()
                    };
                    let mut seen = 0;
                    loop {
                        let direct = s.security_findings(&q).await.unwrap();
                        let other = aggregate.security_findings(&q).await.unwrap();
                        assert_eq!(direct, other, "{}: {q:?}", db.name);
                        for f in &direct.0 {
                            let one = s.finding(f.id).await.unwrap().unwrap();
                            assert_eq!(f, &one, "{}: finding {}", db.name, f.id);
                        }
                        seen += direct.0.len();
                        match direct.0.last() {
                            Some(last) if direct.0.len() as i64 == page_size => {
                                q.after_id = Some(last.id);
                                q.known_total = Some(direct.1);
                            }
                            _ => break,
                        }
                    }
                    let expected = match (status_group, product_id) {
                        (_, Some(p)) if p != product => 0,
                        (None, _) => 7,
                        (Some(StatusGroup::Open), _) => 4,
                        (Some(StatusGroup::Closed), _) => 3,
                    };
                    assert_eq!(
                        seen, expected,
                        "{}: {status_group:?} {product_id:?}",
                        db.name
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values that are sometimes absent (issue 12 §2). PostgreSQL caches each statement per connection
// with the types of its first arguments, so a NULL bound with the wrong type poisons the next
// call with a value on that connection. A fresh connection hides it: these tests run every shape
// more times than the pool has connections, absent first, so each connection that cached the
// absent shape serves a present one after it.

/// A pool of four connections (the shape of a small `serve`), on both backends.
async fn pooled_backends() -> Vec<Db> {
    let options = || StoreOptions {
        max_connections: Some(4),
        ..StoreOptions::default()
    };
    let mut v = vec![sqlite_with(options()).await];
    if let Ok(base) = std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        let url = tollgate_store::testing::fresh_postgres_database(&base)
            .await
            .expect("create a test database");
        v.push(Db {
            store: Store::open(&url, options()).await.unwrap(),
            _dir: None,
            name: "postgres",
        });
    } else {
        eprintln!("SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set");
    }
    v
}

/// Calls per shape: more than the pool's connections.
const ROUNDS: i64 = 8;

#[tokio::test]
async fn imports_without_then_with_every_optional_field_on_a_pool() {
    for db in pooled_backends().await {
        let s = &db.store;
        let mut test_id = 0;
        for round in 0..2 * ROUNDS {
            let present = round >= ROUNDS;
            let mut r = reimport(1_000 + round);
            if present {
                r.scan_date = Some("2026-11-20".into());
                r.version = Some(format!("1.{round}"));
                r.branch_tag = Some("main".into());
                r.commit_hash = Some(format!("{round:040x}"));
                r.build_id = Some(format!("build-{round}"));
                r.service = Some("api".into());
                r.tags = vec!["ci".into()];
                r.actor = Some("ci-token".into());
            }
            let out = s
                .import(r, vec![finding("a1", Severity::High)])
                .await
                .unwrap_or_else(|e| {
                    panic!("{}: import {round} (present: {present}): {e}", db.name)
                });
            test_id = out.test_id;
        }
        let history = s.imports(test_id).await.unwrap();
        assert_eq!(history.len() as i64, 2 * ROUNDS, "{}", db.name);
        // Newest first: the last one carries every field, the first none.
        let last = &history[0];
        assert_eq!(last.scan_date.as_deref(), Some("2026-11-20"), "{}", db.name);
        assert_eq!(last.branch_tag.as_deref(), Some("main"));
        assert_eq!(last.build_id.as_deref(), Some("build-15"));
        assert_eq!(last.tags, vec!["ci".to_string()]);
        let first = history.last().unwrap();
        assert_eq!(first.version, None, "{}", db.name);
        assert_eq!(first.commit_hash, None);
    }
}

#[tokio::test]
async fn an_info_finding_without_an_sla_then_a_high_one_on_a_pool() {
    for db in pooled_backends().await {
        let s = &db.store;
        for round in 0..2 * ROUNDS {
            // Info has no SLA by default (sla_due NULL); High has one.
            let severity = if round < ROUNDS {
                Severity::Info
            } else {
                Severity::High
            };
            let mut r = reimport(1_000 + round);
            r.mode = ImportMode::Import;
            r.close_old_findings = false;
            s.import(r, vec![finding(&format!("f{round}"), severity)])
                .await
                .unwrap_or_else(|e| panic!("{}: import {round} ({severity:?}): {e}", db.name));
        }
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 100,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len() as i64, 2 * ROUNDS, "{}", db.name);
        for f in &page {
            match f.finding.severity {
                Severity::Info => assert_eq!(f.sla_due, None, "{}", db.name),
                _ => assert!(f.sla_due.is_some(), "{}", db.name),
            }
        }
    }
}

#[tokio::test]
async fn risk_acceptances_without_then_with_an_end_date_on_a_pool() {
    for db in pooled_backends().await {
        let s = &db.store;
        let all: Vec<Finding> = (0..2 * ROUNDS)
            .map(|i| finding(&format!("e{i}"), Severity::Medium))
            .collect();
        s.import(reimport(1_000), all).await.unwrap();
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 100,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        for (i, f) in page.iter().enumerate() {
            let until = (i as i64 >= ROUNDS).then_some("2031-01-31");
            let closed = s
                .close_finding(
                    f.id,
                    ClosedAs::ClosedRiskAccepted,
                    false,
                    "accepted",
                    until,
                    "alice",
                    None,
                    2_000,
                )
                .await
                .unwrap_or_else(|e| panic!("{}: close {i} (until {until:?}): {e}", db.name));
            assert_eq!(closed.status.risk_accepted_until.as_deref(), until);
        }
        assert_eq!(
            s.finding_totals().await.unwrap(),
            (0, 2 * ROUNDS),
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn product_labels_one_at_a_time_on_a_pool() {
    for db in pooled_backends().await {
        let s = &db.store;
        let out = s
            .import(reimport(1_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        let id = out.product_id;
        for round in 0..ROUNDS {
            let tier = format!("tier-{round}");
            let platform = format!("platform-{round}");
            // Tier only, platform only, both, none: each leaves the other label as it was.
            for (t, p) in [
                (Some(tier.as_str()), None),
                (None, Some(platform.as_str())),
                (Some(tier.as_str()), Some(platform.as_str())),
                (None, None),
            ] {
                s.label_product(id, t, p, None)
                    .await
                    .unwrap_or_else(|e| panic!("{}: label {t:?} {p:?}: {e}", db.name));
            }
            let p = s.product(id).await.unwrap().unwrap();
            assert_eq!(p.tier.as_deref(), Some(tier.as_str()), "{}", db.name);
            assert_eq!(p.platform.as_deref(), Some(platform.as_str()));
        }
        assert!(matches!(
            s.label_product(id + 100, Some("x"), None, None).await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn gate_runs_and_tokens_without_then_with_their_optional_fields_on_a_pool() {
    for db in pooled_backends().await {
        let s = &db.store;
        s.import(reimport(1_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        for round in 0..2 * ROUNDS {
            let present = round >= ROUNDS;
            let text = |v: &str| present.then(|| format!("{v}-{round}"));
            let run = s
                .record_gate_run(NewGateRun {
                    product_name: "shop".into(),
                    engagement_name: present.then(|| "dast".into()),
                    outcome: "PASS".into(),
                    commit_hash: text("c"),
                    release_tag: text("v"),
                    artifact_sha256: text("sha"),
                    body: serde_json::json!({"round": round}),
                    restrict_to_product: None,
                    now: 2_000 + round,
                })
                .await
                .unwrap_or_else(|e| panic!("{}: gate run {round}: {e}", db.name));
            assert_eq!(run.release_tag, text("v"));
            let product = present.then_some("shop");
            s.create_token(&format!("t{round}"), &[Scope::Read], product, 3_000)
                .await
                .unwrap_or_else(|e| panic!("{}: token {round}: {e}", db.name));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// U+0000 (issue 12 §2): PostgreSQL's text cannot hold it, SQLite's can. One answer on both: text
// from a report is stored with U+FFFD in its place (a finding is never lost for it); text a
// client sends is refused (400), whatever it is for.

#[tokio::test]
async fn nul_characters_in_report_text_become_replacement_characters() {
    for db in backends().await {
        let s = &db.store;
        let mut f = finding("a1", Severity::High);
        f.title = "SQL\0injection".into();
        f.description = Some("a\0b".into());
        f.references = vec!["https://x/\0".into()];
        // A backslash-u that is text, not an escape, stays as it is.
        f.recommendation = Some("write \\u0000 literally".into());
        s.import(reimport(1_000), vec![f, finding("b2", Severity::Low)])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name));
        let page = s
            .findings(&ListQuery {
                limit: 10,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.count, 2, "{}: no finding lost", db.name);
        let a1 = &page.results[0].finding;
        assert_eq!(a1.title, "SQL\u{FFFD}injection", "{}", db.name);
        assert_eq!(a1.description.as_deref(), Some("a\u{FFFD}b"));
        assert_eq!(a1.references, vec!["https://x/\u{FFFD}".to_string()]);
        assert_eq!(
            a1.recommendation.as_deref(),
            Some("write \\u0000 literally")
        );
        // The title column (list filter) holds the same text as the finding.
        let by_title = s
            .findings(&ListQuery {
                limit: 10,
                name: Some("SQL\u{FFFD}injection".into()),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(by_title.count, 1, "{}", db.name);
        let (results, _) = s
            .security_findings(&ResultsQuery {
                page_size: 10,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            results[0].finding.title, "SQL\u{FFFD}injection",
            "{}",
            db.name
        );
    }
}

fn refused_for_nul<T: std::fmt::Debug>(what: &str, db: &str, r: Result<T, StoreError>) {
    match r {
        Err(StoreError::Invalid(m)) => {
            assert!(m.contains("NUL character (U+0000)"), "{db}: {what}: {m}")
        }
        other => panic!("{db}: {what}: expected a refusal for U+0000, got {other:?}"),
    }
}

#[tokio::test]
async fn nul_characters_in_request_text_are_refused_on_both_backends() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let out = s
            .import(reimport(1_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        let id = s
            .security_findings(&ResultsQuery {
                page_size: 1,
                ..ResultsQuery::default()
            })
            .await
            .unwrap()
            .0[0]
            .id;
        let list = |name: &str| ListQuery {
            limit: 10,
            name: Some(name.into()),
            ..ListQuery::default()
        };
        refused_for_nul("findings filter", n, s.findings(&list("a\0")).await);
        refused_for_nul("products filter", n, s.products(&list("a\0")).await);
        refused_for_nul("tests filter", n, s.tests(&list("a\0")).await);
        refused_for_nul("engagements filter", n, s.engagements(&list("\0")).await);
        refused_for_nul(
            "note",
            n,
            s.add_note(id, "alice", "see\0here", NoteKind::Internal, None, 2_000)
                .await,
        );
        refused_for_nul(
            "close reason",
            n,
            s.close_finding(
                id,
                ClosedAs::ClosedWontFix,
                false,
                "no\0",
                None,
                "alice",
                None,
                2_000,
            )
            .await,
        );
        refused_for_nul(
            "label",
            n,
            s.label_product(out.product_id, Some("t\0"), None, None)
                .await,
        );
        let mut named = reimport(2_000);
        named.target.product_name = Some("shop\0two".into());
        refused_for_nul(
            "product name",
            n,
            s.import(named, vec![finding("b2", Severity::Low)]).await,
        );
        let mut tagged = reimport(2_000);
        tagged.tags = vec!["ok".into(), "bad\0tag".into()];
        refused_for_nul(
            "import tag",
            n,
            s.import(tagged, vec![finding("b2", Severity::Low)]).await,
        );
        let mut versioned = reimport(2_000);
        versioned.version = Some("1\0".into());
        refused_for_nul(
            "version",
            n,
            s.import(versioned, vec![finding("b2", Severity::Low)])
                .await,
        );
        refused_for_nul(
            "baseline product",
            n,
            s.baseline("shop\0", None, None).await,
        );
        refused_for_nul(
            "token name",
            n,
            s.create_token("t\0", &[Scope::Read], None, 1).await,
        );
        // Nothing of it was stored: the finding is open, untriaged, without notes; one import.
        let f = s.finding(id).await.unwrap().unwrap();
        assert!(f.status.is_open() && !f.triaged, "{n}");
        assert!(s.notes(&[id]).await.unwrap().is_empty(), "{n}");
        assert_eq!(s.imports(out.test_id).await.unwrap().len(), 1, "{n}");
        assert_eq!(s.product(out.product_id).await.unwrap().unwrap().tier, None);
    }
}

/// Every change of a finding's state is appended to its log, in the transaction that makes it:
/// created, mitigated and reactivated by imports, re-prioritized and closed by triage. A call
/// that changes nothing writes nothing.
#[tokio::test]
async fn the_status_change_log_records_every_change_and_nothing_else() {
    for db in pooled_backends().await {
        let s = &db.store;
        let all = || vec![finding("a1", Severity::High), finding("b2", Severity::Low)];
        let mut first = reimport(1_000);
        first.actor = Some("ci-shop".into());
        let mut with_suppressed = all();
        let mut s9 = finding("e9", Severity::Medium);
        s9.suppressed = true;
        with_suppressed.push(s9);
        s.import(first, with_suppressed).await.unwrap();
        // Unchanged: no event.
        s.import(reimport(1_500), all()).await.unwrap();
        // b2 gone: mitigated; back: reactivated.
        s.import(reimport(2_000), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        s.import(reimport(3_000), all()).await.unwrap();
        let (page, _) = s
            .security_findings(&ResultsQuery {
                page_size: 10,
                ..ResultsQuery::default()
            })
            .await
            .unwrap();
        let id = |fp: &str| {
            page.iter()
                .find(|f| f.finding.title == format!("Title {fp}"))
                .unwrap()
                .id
        };
        let (a1, b2) = (id("a1"), id("b2"));
        // Suppressed by the scanner: created a false positive, not open.
        let s9 = log_of(s, id("e9")).await;
        assert_eq!(
            s9.len(),
            1,
            "{}: created, and nothing since (an inactive finding is not mitigated again): {s9:?}",
            db.name
        );
        assert_eq!(
            (s9[0].kind, s9[0].status.as_str(), s9[0].is_open),
            (EventKind::Created, "false_positive", false)
        );
        s.set_priority(a1, Priority::P1, "triager", None, 3_500)
            .await
            .unwrap();
        s.close_finding(
            a1,
            ClosedAs::ClosedWontFix,
            false,
            "legacy endpoint, removed next quarter",
            None,
            "alice",
            None,
            4_000,
        )
        .await
        .unwrap();

        let log = |id: i64| {
            let s = s.clone();
            async move { s.finding_events(id).await.unwrap() }
        };
        let b = log(b2).await;
        let kinds: Vec<(EventKind, i64, &str, bool)> = b
            .iter()
            .map(|e| (e.kind, e.at, e.status.as_str(), e.is_open))
            .collect();
        assert_eq!(
            kinds,
            [
                (EventKind::Created, 1_000, "open", true),
                (EventKind::Mitigated, 2_000, "mitigated", false),
                (EventKind::Reactivated, 3_000, "open", true),
            ],
            "{}",
            db.name
        );
        assert_eq!(b[0].actor.as_deref(), Some("ci-shop"), "{}", db.name);
        assert!(b
            .iter()
            .all(|e| e.import_id.is_some() && e.severity == Severity::Low));
        let a = log(a1).await;
        let kinds: Vec<(EventKind, i64, &str, bool)> = a
            .iter()
            .map(|e| (e.kind, e.at, e.status.as_str(), e.is_open))
            .collect();
        assert_eq!(
            kinds,
            [
                (EventKind::Created, 1_000, "open", true),
                (EventKind::Priority, 3_500, "open", true),
                (EventKind::Closed, 4_000, "closed_wont_fix", false),
            ],
            "{}",
            db.name
        );
        assert_eq!(a[1].detail.as_deref(), Some("P1"));
        assert_eq!(
            a[1].actor.as_deref(),
            Some("triager"),
            "who set the priority"
        );
        assert_eq!(a[2].actor.as_deref(), Some("alice"));
        assert!(a[2]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("legacy endpoint")));
        assert!(a
            .iter()
            .all(|e| e.import_id.is_none() || e.kind == EventKind::Created));
    }
}

async fn log_of(s: &Store, id: i64) -> Vec<FindingEvent> {
    s.finding_events(id).await.unwrap()
}

#[tokio::test]
async fn users_keep_an_argon2id_hash_and_follow_the_password_policy() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let read = &[Scope::Read];
        // The policy: 12 characters, not the name, some scope, the read scope.
        let short = s.create_user("alice", "short-pass1", read, None, 1).await;
        assert!(
            matches!(&short, Err(StoreError::Invalid(m)) if m.contains("at least 12")),
            "{n}: {short:?}"
        );
        let same = s
            .create_user("alice.example", "Alice.Example", read, None, 1)
            .await;
        assert!(
            matches!(&same, Err(StoreError::Invalid(m)) if m.contains("name")),
            "{n}: {same:?}"
        );
        let none = s
            .create_user("alice", "a long passphrase", &[], None, 1)
            .await;
        assert!(matches!(none, Err(StoreError::Invalid(_))), "{n}");
        let no_read = s
            .create_user("alice", "a long passphrase", &[Scope::Import], None, 1)
            .await;
        assert!(matches!(no_read, Err(StoreError::Invalid(_))), "{n}");
        let no_product = s
            .create_user("alice", "a long passphrase", read, Some("shop"), 1)
            .await;
        assert!(matches!(no_product, Err(StoreError::NotFound(_))), "{n}");

        s.import(reimport(1), vec![finding("a1", Severity::High)])
            .await
            .unwrap();
        let alice = s
            .create_user(
                "alice",
                "a long passphrase",
                &[Scope::Read, Scope::Triage],
                Some("shop"),
                5,
            )
            .await
            .unwrap();
        assert!(
            alice.product_id.is_some() && alice.allows(Scope::Triage),
            "{n}"
        );
        assert!(!alice.allows(Scope::Admin), "{n}");
        // One namespace with tokens, both ways: a name in the status log says who it was.
        assert!(
            matches!(
                s.create_user("alice", "another passphrase", read, None, 6)
                    .await,
                Err(StoreError::Conflict(_))
            ),
            "{n}"
        );
        assert!(
            matches!(
                s.create_token("alice", read, None, 6).await,
                Err(StoreError::Conflict(_))
            ),
            "{n}"
        );
        s.create_token("ci", read, None, 6).await.unwrap();
        assert!(
            matches!(
                s.create_user("ci", "a long passphrase", read, None, 6)
                    .await,
                Err(StoreError::Conflict(_))
            ),
            "{n}"
        );
        let listed = s.users().await.unwrap();
        assert_eq!(listed, vec![alice.clone()], "{n}");

        if let Some(dir) = &db._dir {
            let conn = rusqlite::Connection::open(dir.0.join("hub.db")).unwrap();
            let hash: String = conn
                .query_row(
                    "SELECT password_hash FROM users WHERE name = 'alice'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{hash}"
            );
            assert!(!hash.contains("passphrase"));
        }
    }
}

/// A request of a signed-in person does not wait for an import to touch its session (SQLite's
/// writers take turns; an import holds the turn for seconds): the touch is skipped, and made by a
/// later request.
#[tokio::test]
async fn a_session_is_read_without_waiting_for_a_writer() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let pw = "correct horse battery";
        s.create_user("bob", pw, &[Scope::Read], None, 0)
            .await
            .unwrap();
        let t0 = 1_000_000;
        let (_, held) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        let (_, free) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        let writer = tollgate_store::testing::hold_writers_turn(s).await;
        let t1 = t0 + 600;
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.session(&held, t1))
            .await
            .unwrap_or_else(|_| panic!("{n}: the session waited for the writer"));
        assert!(read.unwrap().is_some(), "{n}");
        let skipped = writer.is_some();
        drop(writer);
        assert!(s.session(&free, t1).await.unwrap().is_some(), "{n}");
        // Idle since its last touch: `free` was touched at t1, `held` only if nobody wrote.
        let t2 = t0 + SESSION_IDLE_SECS + 1;
        assert!(s.session(&free, t2).await.unwrap().is_some(), "{n}");
        assert_eq!(
            s.session(&held, t2).await.unwrap().is_none(),
            skipped,
            "{n}"
        );
    }
}

#[tokio::test]
async fn sessions_end_on_sign_out_idle_absolute_expiry_and_disable() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let pw = "correct horse battery";
        s.create_user("bob", pw, &[Scope::Read], None, 0)
            .await
            .unwrap();
        let t0 = 1_000_000;
        // Unknown name, wrong password: the same None.
        assert!(s.sign_in("nobody", pw, t0).await.unwrap().is_none(), "{n}");
        assert!(
            s.sign_in("bob", "wrong horse battery", t0)
                .await
                .unwrap()
                .is_none(),
            "{n}"
        );
        let (user, sid) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        assert_eq!(user.last_sign_in, Some(t0), "{n}");
        assert_eq!(sid.len(), 64, "{n}: 256 bits in hex");
        assert!(
            matches!(s.session(&sid, t0 + 10).await.unwrap(), Some(SessionOf::User(u)) if u.name == "bob"),
            "{n}"
        );
        assert!(
            s.session(&"0".repeat(64), t0).await.unwrap().is_none(),
            "{n}"
        );
        assert_eq!(
            s.users().await.unwrap()[0].last_sign_in,
            Some(t0),
            "{n}: list shows the last sign-in"
        );

        // Sign-out ends it.
        assert!(s.end_session(&sid).await.unwrap(), "{n}");
        assert!(s.session(&sid, t0 + 20).await.unwrap().is_none(), "{n}");

        // Idle: alive while used, dead after SESSION_IDLE_SECS without a request.
        let (_, sid) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        let mut t = t0;
        while t + SESSION_IDLE_SECS / 2 < t0 + SESSION_ABSOLUTE_SECS {
            t += SESSION_IDLE_SECS / 2;
            assert!(s.session(&sid, t).await.unwrap().is_some(), "{n}: at {t}");
        }
        // Absolute: used all along, still dead after SESSION_ABSOLUTE_SECS.
        assert!(
            s.session(&sid, t0 + SESSION_ABSOLUTE_SECS)
                .await
                .unwrap()
                .is_none(),
            "{n}: absolute expiry"
        );
        let (_, sid) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        assert!(
            s.session(&sid, t0 + SESSION_IDLE_SECS)
                .await
                .unwrap()
                .is_none(),
            "{n}: idle expiry"
        );

        // Disabling ends every session of the user and refuses sign-in.
        let (_, a) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        let (_, b) = s.sign_in("bob", pw, t0).await.unwrap().unwrap();
        assert!(s.disable_user("bob", t0 + 1).await.unwrap(), "{n}");
        assert!(
            !s.disable_user("bob", t0 + 2).await.unwrap(),
            "{n}: already"
        );
        for sid in [a, b] {
            assert!(s.session(&sid, t0 + 3).await.unwrap().is_none(), "{n}");
        }
        assert!(s.sign_in("bob", pw, t0 + 4).await.unwrap().is_none(), "{n}");
        assert_eq!(s.users().await.unwrap()[0].disabled_at, Some(t0 + 1), "{n}");
    }
}

#[tokio::test]
async fn wrong_passwords_in_a_row_lock_a_user_out_for_a_while() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let pw = "correct horse battery";
        s.create_user("carol", pw, &[Scope::Read], None, 0)
            .await
            .unwrap();
        let t0 = 1_000_000;
        for i in 0..5 {
            assert!(s.sign_in("carol", "guess", t0 + i).await.unwrap().is_none());
        }
        // Locked: even the right password is refused, the same way.
        assert!(
            s.sign_in("carol", pw, t0 + 5).await.unwrap().is_none(),
            "{n}: locked"
        );
        assert!(
            s.sign_in("carol", pw, t0 + 40).await.unwrap().is_some(),
            "{n}: lock over"
        );
        // Success starts the count again.
        for i in 0..4 {
            assert!(s
                .sign_in("carol", "guess", t0 + 50 + i)
                .await
                .unwrap()
                .is_none());
        }
        assert!(
            s.sign_in("carol", pw, t0 + 60).await.unwrap().is_some(),
            "{n}"
        );
    }
}

#[tokio::test]
async fn a_token_sign_in_is_a_session_that_ends_with_the_token() {
    for db in backends().await {
        let s = &db.store;
        let n = db.name;
        let (token, _secret) = s
            .create_token("robot", &[Scope::Read], None, 0)
            .await
            .unwrap();
        let t0 = 1_000_000;
        let sid = s.start_token_session(&token, t0).await.unwrap();
        assert_eq!(sid.len(), 64, "{n}");
        assert_eq!(
            s.session(&sid, t0 + 1).await.unwrap(),
            Some(SessionOf::Token(token.clone())),
            "{n}"
        );
        assert!(
            s.session(&sid, t0 + SESSION_ABSOLUTE_SECS)
                .await
                .unwrap()
                .is_none(),
            "{n}"
        );
        let a = s.start_token_session(&token, t0).await.unwrap();
        let b = s.start_token_session(&token, t0).await.unwrap();
        assert!(s.end_session(&a).await.unwrap(), "{n}");
        assert!(s.session(&a, t0 + 1).await.unwrap().is_none(), "{n}");
        assert!(
            s.session(&b, t0 + 1).await.unwrap().is_some(),
            "{n}: only that one ended"
        );
        // Revoking the token signs its browsers out at once.
        assert!(s.revoke_token("robot", t0 + 2).await.unwrap(), "{n}");
        assert!(s.session(&b, t0 + 3).await.unwrap().is_none(), "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Program metrics (docs/metrics.md), every number worked out by hand from one story.

mod program_metrics {
    use super::*;
    use serde_json::json;
    use tollgate_store::metrics::{day_number, Date};

    /// 2026-10-01, the first day of a quarter.
    fn d0() -> i64 {
        day_number(Date::parse("2026-10-01").unwrap())
    }
    /// One hour into day `d` of the story.
    fn t(d: i64) -> i64 {
        (d0() + d) * 86_400 + 3_600
    }
    fn window(product: Option<i64>, from: i64, to: i64) -> MetricWindow {
        MetricWindow {
            product,
            from_day: d0() + from,
            to_day: d0() + to,
        }
    }
    fn f(fp: &str, severity: Severity, category: Category) -> Finding {
        let mut f = finding(fp, severity);
        f.category = category;
        f
    }
    fn request(product: &str, scan_type: &str, now: i64, commit: &str) -> ImportRequest {
        let mut r = ImportRequest::new(ImportMode::Reimport, scan_type, now);
        r.auto_create_context = true;
        r.commit_hash = Some(commit.into());
        r.target = ImportTarget {
            product_type_name: Some("apps".into()),
            product_name: Some(product.into()),
            engagement_name: Some("ci".into()),
            ..ImportTarget::default()
        };
        r
    }
    fn sha(c: char) -> String {
        c.to_string().repeat(64)
    }
    fn gate(
        product: &str,
        day: i64,
        outcome: &str,
        commit: Option<&str>,
        artifact: Option<char>,
        reasons: serde_json::Value,
    ) -> NewGateRun {
        NewGateRun {
            product_name: product.into(),
            engagement_name: None,
            outcome: outcome.into(),
            commit_hash: commit.map(str::to_string),
            release_tag: Some("v1".into()),
            artifact_sha256: artifact.map(sha),
            body: json!({"decision": outcome, "reasons": reasons}),
            restrict_to_product: None,
            now: t(day),
        }
    }
    fn promotion(product: &str, day: i64, artifact: char, environment: &str) -> NewPromotion {
        NewPromotion {
            product_name: product.into(),
            artifact_sha256: sha(artifact),
            release_tag: Some("v1".into()),
            environment: environment.into(),
            actor: Some("ci".into()),
            restrict_to_product: None,
            now: t(day),
        }
    }
    fn counts(p: &tollgate_store::metrics::OpenPoint) -> [i64; 6] {
        [p.critical, p.high, p.medium, p.low, p.info, p.total]
    }

    /// Imports into many tests of one product at once (what parallel CI jobs do): every one
    /// succeeds (no deadlock on PostgreSQL over `open_daily`'s rows), and the open findings
    /// `open_daily` adds up to are the open findings.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_imports_of_one_product_keep_the_daily_aggregate_exact() {
        use Severity::*;
        for db in pooled_backends().await {
            let s = db.store.clone();
            let sevs = [Critical, High, Medium, Low, Info];
            let mut tasks = Vec::new();
            for i in 0..12usize {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let scan = |n: usize| {
                        (0..n)
                            .map(|k| {
                                let sev = sevs[(i + k * 3) % 5];
                                f(&format!("{:x}{k:02x}", i + 1), sev, Category::Sast)
                            })
                            .collect::<Vec<_>>()
                    };
                    let mut first = request("shop", "ZAP Scan", t(0), "c");
                    first.target.engagement_name = Some(format!("e{i}"));
                    s.import(first, scan(7)).await?;
                    let mut second = request("shop", "ZAP Scan", t(1), "c");
                    second.target.engagement_name = Some(format!("e{i}"));
                    s.import(second, scan(3 + i % 4)).await
                }));
            }
            for task in tasks {
                task.await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{}: {e}", db.name));
            }
            let open = s.open_age(None, t(2)).await.unwrap().all.open;
            let series = s
                .open_over_time(window(None, 0, 2), Interval::Day)
                .await
                .unwrap();
            let totals: Vec<i64> = series.points.iter().map(|p| p.total).collect();
            let second: i64 = (0..12).map(|i| 3 + i % 4).sum();
            assert_eq!(
                (open, totals),
                (second, vec![12 * 7, second, second]),
                "{}",
                db.name
            );
        }
    }

    #[tokio::test]
    async fn every_metric_matches_the_hand_count() {
        use Category::*;
        use Severity::*;
        for db in pooled_backends().await {
            let s = &db.store;
            let name = db.name;
            // shop (tier-2, no platform): a1 High, b2 Low, c3 Critical on day 0; b2 gone on
            // day 5 and back on day 10; b2 and c3 gone on day 20, when d4 Medium and e5
            // Critical (a mobile finding) appear; a1 closed by triage on day 30.
            let shop = s
                .import(
                    request("shop", "ZAP Scan", t(0), "c1"),
                    vec![
                        f("a1", High, Dast),
                        f("b2", Low, Dast),
                        f("c3", Critical, Dast),
                    ],
                )
                .await
                .unwrap()
                .product_id;
            // app (tier-1, android): m1 Critical, m2 Medium on day 0, open throughout.
            let app = s
                .import(
                    request("app", "MobSF Scan", t(0), "m1"),
                    vec![f("ee1", Critical, Mobile), f("ee2", Medium, Sast)],
                )
                .await
                .unwrap()
                .product_id;
            s.label_product(shop, Some("tier-2"), None, None)
                .await
                .unwrap();
            s.label_product(app, Some("tier-1"), Some("Android"), None)
                .await
                .unwrap();
            let shop_scan = |fps: &[&str]| {
                fps.iter()
                    .map(|fp| match *fp {
                        "a1" => f("a1", High, Dast),
                        "b2" => f("b2", Low, Dast),
                        "c3" => f("c3", Critical, Dast),
                        "d4" => f("d4", Medium, Dast),
                        _ => f("e5", Critical, Mobile),
                    })
                    .collect::<Vec<_>>()
            };
            s.import(
                request("shop", "ZAP Scan", t(5), "c2"),
                shop_scan(&["a1", "c3"]),
            )
            .await
            .unwrap();
            s.import(
                request("shop", "ZAP Scan", t(10), "c3"),
                shop_scan(&["a1", "b2", "c3"]),
            )
            .await
            .unwrap();
            s.import(
                request("shop", "ZAP Scan", t(20), "c4"),
                shop_scan(&["a1", "d4", "e5"]),
            )
            .await
            .unwrap();
            let (page, _) = s
                .security_findings(&ResultsQuery {
                    page_size: 20,
                    ..ResultsQuery::default()
                })
                .await
                .unwrap();
            let a1 = page
                .iter()
                .find(|x| x.finding.title == "Title a1")
                .unwrap()
                .id;
            s.close_finding(
                a1,
                ClosedAs::ClosedWontFix,
                false,
                "legacy",
                None,
                "alice",
                None,
                t(30),
            )
            .await
            .unwrap();

            // Gate runs and promotions.
            let block = |rule: &str, n: usize| {
                json!({"kind": "rule", "verdict": "block", "rule": rule, "message": "…",
                       "fingerprints": vec!["x"; n]})
            };
            s.record_gate_run(gate("shop", 1, "PASS", Some("c1"), Some('a'), json!([])))
                .await
                .unwrap();
            s.record_gate_run(gate(
                "shop",
                6,
                "FAIL",
                Some("c2"),
                Some('b'),
                json!([block("new-critical", 2), block("secrets", 1),
                       {"kind": "rule", "verdict": "warn", "rule": "medium", "message": "…"}]),
            ))
            .await
            .unwrap();
            s.record_gate_run(gate("app", 12, "WARN", Some("m1"), Some('c'), json!([])))
                .await
                .unwrap();
            // Commit c1 was imported, but into shop: not this product's import.
            s.record_gate_run(gate(
                "app",
                25,
                "FAIL",
                Some("c1"),
                None,
                json!([{"kind": "broken-report", "verdict": "block", "message": "…"}]),
            ))
            .await
            .unwrap();
            // Day 95 is 2027-01-04: the next quarter.
            s.record_gate_run(gate(
                "shop",
                95,
                "FAIL",
                None,
                None,
                json!([block("new-critical", 1)]),
            ))
            .await
            .unwrap();
            let mut scanned = Vec::new();
            for p in [
                promotion("shop", 2, 'a', "production"),
                promotion("shop", 3, 'b', "production"),
                promotion("shop", 7, 'b', "beta"),
                promotion("app", 13, 'a', "production"),
            ] {
                scanned.push(s.record_promotion(p).await.unwrap().scanned);
            }
            assert_eq!(scanned, [true, false, true, false], "{name}");

            // 1. Promotions scanned first: 2 of 4.
            let r = s.promotion_coverage(window(None, 0, 30)).await.unwrap();
            assert_eq!(
                (r.total.promotions, r.total.scanned, r.total.percent),
                (4, 2, Some(50.0)),
                "{name}"
            );
            let by: Vec<_> = r
                .by_product
                .iter()
                .map(|p| {
                    (
                        p.product.as_str(),
                        p.count.promotions,
                        p.count.scanned,
                        p.count.percent,
                    )
                })
                .collect();
            assert_eq!(
                by,
                [("app", 1, 0, Some(0.0)), ("shop", 3, 2, Some(66.7))],
                "{name}"
            );
            let by: Vec<_> = r
                .by_environment
                .iter()
                .map(|p| (p.environment.as_str(), p.count.promotions, p.count.percent))
                .collect();
            assert_eq!(
                by,
                [("beta", 1, Some(100.0)), ("production", 3, Some(33.3))],
                "{name}"
            );
            let r = s
                .promotion_coverage(window(Some(shop), 4, 30))
                .await
                .unwrap();
            assert_eq!((r.total.promotions, r.total.scanned), (1, 1), "{name}");

            // 2. Gate runs with an import of the same product and commit: 3 of 4.
            let r = s.import_coverage(window(None, 0, 30)).await.unwrap();
            assert_eq!(
                (
                    r.total.gate_runs,
                    r.total.with_commit,
                    r.total.imported,
                    r.total.percent
                ),
                (4, 4, 3, Some(75.0)),
                "{name}"
            );
            let by: Vec<_> = r
                .by_product
                .iter()
                .map(|p| {
                    (
                        p.product.as_str(),
                        p.count.gate_runs,
                        p.count.imported,
                        p.count.percent,
                    )
                })
                .collect();
            assert_eq!(
                by,
                [("app", 2, 1, Some(50.0)), ("shop", 2, 2, Some(100.0))],
                "{name}"
            );
            let r = s.import_coverage(window(None, 0, 100)).await.unwrap();
            assert_eq!(
                (r.total.gate_runs, r.total.with_commit, r.total.imported),
                (5, 4, 3),
                "{name}"
            );

            // 3. Open critical mobile findings by tier: m1 (android app), e5 (mobile finding).
            let r = s.critical_mobile_by_tier(None).await.unwrap();
            let by: Vec<_> = r
                .tiers
                .iter()
                .map(|x| (x.tier.as_deref(), x.open_critical, x.products_affected))
                .collect();
            assert_eq!(
                (r.open_critical, by),
                (2, vec![(Some("tier-1"), 1, 1), (Some("tier-2"), 1, 1)]),
                "{name}"
            );
            let r = s.critical_mobile_by_tier(Some(shop)).await.unwrap();
            assert_eq!(r.tiers.len(), 1, "{name}: one product, one tier");

            // 4. Ages at day 30: m1 30 days, m2 30, d4 10, e5 10.
            let r = s.open_age(None, t(30) + 100).await.unwrap();
            assert_eq!(r.as_of, Date::from_days(d0() + 30).to_string());
            assert_eq!(
                (r.all.open, r.all.median_age_days),
                (4, Some(20.0)),
                "{name}"
            );
            assert_eq!(
                (r.mobile.open, r.mobile.median_age_days),
                (3, Some(30.0)),
                "{name}"
            );
            let sev = |set: &tollgate_store::metrics::AgeSet, i: usize| {
                let x = &set.by_severity[i];
                (
                    x.severity,
                    x.open,
                    x.median_age_days,
                    x.buckets.under_half_sla,
                    x.buckets.past_sla,
                )
            };
            assert_eq!(sev(&r.all, 0), ("critical", 2, Some(20.0), 0, 2), "{name}");
            assert_eq!(sev(&r.all, 2), ("medium", 2, Some(20.0), 2, 0), "{name}");
            assert_eq!(
                sev(&r.mobile, 0),
                ("critical", 2, Some(20.0), 0, 2),
                "{name}"
            );
            assert_eq!(sev(&r.mobile, 2), ("medium", 1, Some(30.0), 1, 0), "{name}");
            assert_eq!(sev(&r.all, 1), ("high", 0, None, 0, 0), "{name}");

            // 5. Blocking reasons by quarter.
            let r = s.blocking_by_quarter(window(None, 0, 181)).await.unwrap();
            let q: Vec<_> = r
                .quarters
                .iter()
                .map(|q| (q.quarter.as_str(), q.blocked_runs, q.blocking_issues))
                .collect();
            assert_eq!(q, [("2026-Q4", 2, 3), ("2027-Q1", 1, 1)], "{name}");
            let rules: Vec<_> = r.quarters[0]
                .by_rule
                .iter()
                .map(|b| (b.rule.as_str(), b.blocked_runs, b.findings))
                .collect();
            assert_eq!(
                rules,
                [
                    ("broken-report", 1, 0),
                    ("new-critical", 1, 2),
                    ("secrets", 1, 1)
                ],
                "{name}"
            );
            assert_eq!(
                (r.quarters[1].from.as_str(), r.quarters[1].to.as_str()),
                ("2027-01-01", "2027-03-31")
            );

            // 6. Remediation: b2 after 5 and 10 days (Low, within 120), c3 after 20 (Critical,
            // past 7); open past their SLA now: m1, e5.
            let r = s
                .remediation(window(None, 0, 30), t(30) + 100)
                .await
                .unwrap();
            let row = |x: &tollgate_store::metrics::SeverityRemediation| {
                (
                    x.severity,
                    x.remediated,
                    x.mttr_days,
                    x.within_sla,
                    x.sla_compliance_percent,
                    x.overdue_open,
                )
            };
            assert_eq!(
                row(&r.overall),
                ("all", 3, Some(11.67), 2, Some(66.7), 2),
                "{name}"
            );
            assert_eq!(
                row(&r.by_severity[0]),
                ("critical", 1, Some(20.0), 0, Some(0.0), 2),
                "{name}"
            );
            assert_eq!(
                row(&r.by_severity[3]),
                ("low", 2, Some(7.5), 2, Some(100.0), 0),
                "{name}"
            );
            let by: Vec<_> = r
                .by_product
                .iter()
                .map(|p| {
                    (
                        p.product.as_str(),
                        p.overall.remediated,
                        p.overall.overdue_open,
                    )
                })
                .collect();
            assert_eq!(by, [("app", 0, 1), ("shop", 3, 1)], "{name}");
            let r = s
                .remediation(window(Some(shop), 6, 30), t(30) + 100)
                .await
                .unwrap();
            assert_eq!(
                row(&r.by_severity[3]),
                ("low", 1, Some(10.0), 1, Some(100.0), 0),
                "{name}"
            );

            // 7. Open findings at the end of days 0, 7, 14, 21, 28 and 30.
            let r = s
                .open_over_time(window(None, 0, 30), Interval::Week)
                .await
                .unwrap();
            let points: Vec<_> = r.points.iter().map(counts).collect();
            assert_eq!(
                points,
                [
                    [2, 1, 1, 1, 0, 5],
                    [2, 1, 1, 0, 0, 4],
                    [2, 1, 1, 1, 0, 5],
                    [2, 1, 2, 0, 0, 5],
                    [2, 1, 2, 0, 0, 5],
                    [2, 0, 2, 0, 0, 4]
                ],
                "{name}"
            );
            let r = s
                .open_over_time(window(Some(shop), 0, 30), Interval::Week)
                .await
                .unwrap();
            let totals: Vec<i64> = r.points.iter().map(|p| p.total).collect();
            assert_eq!(totals, [3, 2, 3, 3, 3, 2], "{name}");
            // Before the story nothing was open; long after, what is open now.
            let r = s
                .open_over_time(window(None, -10, -1), Interval::Month)
                .await
                .unwrap();
            assert!(r.points.iter().all(|p| p.total == 0), "{name}");
            let r = s
                .open_over_time(window(Some(app), 200, 200), Interval::Day)
                .await
                .unwrap();
            assert_eq!(counts(&r.points[0]), [1, 0, 1, 0, 0, 2], "{name}");

            // 8. Gate outcomes and blocking rules.
            let r = s.gate_outcomes(window(None, 0, 30)).await.unwrap();
            let t8 = &r.total;
            assert_eq!(
                (
                    t8.runs,
                    t8.pass,
                    t8.warn,
                    t8.block,
                    t8.pass_rate,
                    t8.block_rate
                ),
                (4, 1, 1, 2, Some(25.0), Some(50.0)),
                "{name}"
            );
            let by: Vec<_> = r
                .by_product
                .iter()
                .map(|p| {
                    (
                        p.product.as_str(),
                        p.count.runs,
                        p.count.warn_rate,
                        p.count.block_rate,
                    )
                })
                .collect();
            assert_eq!(
                by,
                [
                    ("app", 2, Some(50.0), Some(50.0)),
                    ("shop", 2, Some(0.0), Some(50.0))
                ],
                "{name}"
            );
            let rules: Vec<_> = r
                .by_rule
                .iter()
                .map(|b| (b.rule.as_str(), b.blocked_runs, b.rate))
                .collect();
            assert_eq!(
                rules,
                [
                    ("broken-report", 1, Some(25.0)),
                    ("new-critical", 1, Some(25.0)),
                    ("secrets", 1, Some(25.0))
                ],
                "{name}"
            );

            // A product-limited caller: another product is as missing as an unknown one.
            assert!(s.metric_product(app, Some(app)).await.is_ok());
            for (id, restrict) in [(app, Some(shop)), (9_999, None)] {
                match s.metric_product(id, restrict).await {
                    Err(StoreError::NotFound(m)) => {
                        assert_eq!(m, format!("product {id} does not exist"))
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
            // Migration 0006 derives the same tables from the log and the summaries as the
            // store keeps while it runs.
            let kept = tollgate_store::testing::metric_tables(s).await.unwrap();
            assert!(!kept.0.is_empty() && kept.1.len() == 4, "{name}: {kept:?}");
            assert!(kept.2.iter().any(|(_, c)| c.as_deref() == Some("mobile")));
            assert!(
                kept.3.iter().any(|(_, _, m, _, n)| *m == 1 && *n == 1),
                "{kept:?}"
            );
            tollgate_store::testing::rerun_metric_backfill(s)
                .await
                .unwrap();
            let derived = tollgate_store::testing::metric_tables(s).await.unwrap();
            assert_eq!(kept, derived, "{name}");

            let mut hidden = promotion("app", 14, 'a', "production");
            hidden.restrict_to_product = Some(shop);
            assert!(
                matches!(
                    s.record_promotion(hidden).await,
                    Err(StoreError::NotFound(_))
                ),
                "{name}"
            );
        }
    }
}

/// Migration 0011: autovacuum visits the findings' tables after 5% of them changed (the queue's
/// counts are index-only scans, which need the visibility map VACUUM keeps).
#[tokio::test]
async fn autovacuum_comes_early_for_the_findings_tables_on_postgres() {
    let Some(db) = postgres().await else {
        return;
    };
    for table in ["findings", "finding_facets"] {
        let options = tollgate_store::testing::table_options(&db.store, table)
            .await
            .unwrap()
            .unwrap_or_default();
        for setting in [
            "autovacuum_vacuum_scale_factor=0.05",
            "autovacuum_vacuum_insert_scale_factor=0.05",
            "autovacuum_analyze_scale_factor=0.02",
        ] {
            assert!(
                options.contains(setting),
                "{table}: {setting} not in {options:?}"
            );
        }
    }
}

/// An import that writes a large share of the hub's findings is followed by `VACUUM (ANALYZE)`
/// of the findings' tables on PostgreSQL (the queue's index-only counts need the visibility map;
/// this machine's server runs with autovacuum off).
#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_is_vacuumed_on_postgres() {
    let Some(db) = postgres().await else {
        return;
    };
    let findings: Vec<Finding> = (0..1_200)
        .map(|i| finding(&format!("{i:x}"), Severity::High))
        .collect();
    assert_eq!(
        tollgate_store::testing::vacuum_count(&db.store, "findings")
            .await
            .unwrap(),
        0
    );
    db.store.import(reimport(1_000), findings).await.unwrap();
    wait_for_vacuums(&db.store, 1).await;
}

/// Waits (30 s at most) until the store has vacuumed the findings `n` times and is not vacuuming.
async fn wait_for_vacuums(store: &Store, n: i64) {
    for _ in 0..60 {
        let count = tollgate_store::testing::vacuum_count(store, "findings")
            .await
            .unwrap();
        if count >= n && !tollgate_store::testing::vacuum_state(store).1 {
            assert_eq!(count, n, "vacuumed more often than expected");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("findings were not vacuumed {n} times within 30 s");
}

/// The store's vacuums on `table` once none is running (30 s at most).
async fn vacuums_when_settled(store: &Store, table: &str) -> i64 {
    for _ in 0..60 {
        if !tollgate_store::testing::vacuum_state(store).1 {
            return tollgate_store::testing::vacuum_count(store, table)
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("a vacuum ran for more than 30 s");
}

/// The rows that call for a vacuum of the findings are the rows an import wrote, not the
/// findings its report had (a reimport leaves the findings it saw again unwritten, migration
/// 0016), and they add up over imports: a reimport that changes 3% of the hub does not vacuum
/// them, the next one that changes as much does. The tallies, whose few rows every write
/// rewrites, are vacuumed (not analyzed) after each write.
#[tokio::test(flavor = "multi_thread")]
async fn the_rows_imports_write_add_up_to_a_vacuum_on_postgres() {
    let Some(db) = postgres().await else {
        return;
    };
    let all: Vec<Finding> = (0..20_000)
        .map(|i| finding(&format!("{i:x}"), Severity::Medium))
        .collect();
    db.store.import(reimport(1_000), all.clone()).await.unwrap();
    wait_for_vacuums(&db.store, 1).await;
    assert_eq!(tollgate_store::testing::vacuum_state(&db.store), (0, false));
    let tallies = vacuums_when_settled(&db.store, "facet_tallies").await;
    assert_eq!(tallies, 1, "the tallies with the findings");

    // 600 closed of 20,000: under the 5% (1,000 rows) that call for a vacuum of the findings.
    let o = db
        .store
        .import(reimport(2_000), all[600..].to_vec())
        .await
        .unwrap();
    assert_eq!(o.statistics.delta.as_ref().unwrap().closed.total.total, 600);
    assert_eq!(
        tollgate_store::testing::vacuum_state(&db.store).0,
        600,
        "the 19,400 findings seen again were not written"
    );
    assert_eq!(
        vacuums_when_settled(&db.store, "facet_tallies").await,
        2,
        "the tallies after every write"
    );
    // Without ANALYZE: the findings' vacuum analyzes, the tallies' only vacuums.
    assert_eq!(
        tollgate_store::testing::maintenance_counts(&db.store, "facet_tallies")
            .await
            .unwrap()
            .1,
        1,
        "analyzed only with the findings"
    );
    assert_eq!(vacuums_when_settled(&db.store, "findings").await, 1);
    // An identical reimport writes no finding.
    db.store
        .import(reimport(3_000), all[600..].to_vec())
        .await
        .unwrap();
    assert_eq!(tollgate_store::testing::vacuum_state(&db.store).0, 600);
    assert_eq!(vacuums_when_settled(&db.store, "findings").await, 1);
    // 600 reopened: 1,200 rows since the last vacuum of the findings.
    let o = db.store.import(reimport(4_000), all).await.unwrap();
    assert_eq!(
        o.statistics.delta.as_ref().unwrap().reactivated.total.total,
        600
    );
    wait_for_vacuums(&db.store, 2).await;
    assert_eq!(tollgate_store::testing::vacuum_state(&db.store), (0, false));
}
