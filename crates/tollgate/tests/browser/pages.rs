//! The pages built on the UI's URL contract, in the browser: the queue `/ui/findings` (filters and
//! their count against the API, CSV/JSON exports, bulk triage with a reason), the dashboard `/`,
//! `/ui/products`, engagements, tests, gate runs, `/ui/metrics` (every number against its JSON
//! endpoint), the finding page's note form, a product-limited person, and hostile text on the new
//! pages.

use crate::harness::{
    each_hub, h1, leaving, open, page_is_clean, path, sign_in, text, wait_for_path, SeededHub, ADA,
    BANK, HOSTILE, LENA, PASSWORD, SHOP, TESS,
};
use crate::xss::{nothing_ran, shows};
use anyhow::{bail, ensure, Context, Result};
use fantoccini::{elements::Element, Client, Locator};
use serde_json::Value;
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs `f` (blocking HTTP: reqwest's blocking client, the CLI) off the browser's runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("a blocking call panicked")
}

/// GET `path` of the API with `token` (from async code).
async fn api(hub: &'static SeededHub, token: &str, path: &str) -> Value {
    let (token, path) = (token.to_string(), path.to_string());
    blocking(move || api_as(hub, &token, &path)).await
}

/// The `count` of an API list (`/api/v2/findings/?…`) as the seeding admin (from async code).
async fn open_count_api(hub: &'static SeededHub, query: String) -> i64 {
    blocking(move || api_count(hub, &query)).await
}

/// GET `path` of the API with `token`.
fn api_as(hub: &SeededHub, token: &str, path: &str) -> Value {
    let r = crate::harness::http()
        .get(format!("{}{path}", hub.url))
        .header("Authorization", format!("Token {token}"))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().unwrap()
}

/// The `count` of an API list (`/api/v2/findings/?…`) as the seeding admin.
fn api_count(hub: &SeededHub, query: &str) -> i64 {
    hub.api(&format!("/api/v2/findings/?{query}&limit=1"))["count"]
        .as_i64()
        .unwrap()
}

/// The number the queue's count line gives ("N findings").
async fn queue_count(c: &Client) -> Result<i64> {
    let t = c
        .find(Locator::Css(".queue-count strong"))
        .await
        .context("the queue has no count")?
        .text()
        .await?;
    t.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("the count reads {t:?}"))
}

/// The finding ids the queue's page lists.
async fn queue_ids(c: &Client) -> Result<Vec<i64>> {
    let mut ids = vec![];
    for a in c
        .find_all(Locator::Css("table.queue a[href^='/ui/findings/']"))
        .await?
    {
        let href = a.attr("href").await?.unwrap_or_default();
        ids.push(href.trim_start_matches("/ui/findings/").parse()?);
    }
    Ok(ids)
}

/// `href` fetched by the page itself (its cookies): status, content type and body.
async fn fetch(c: &Client, href: &str) -> Result<(u16, String, String)> {
    let v = c
        .execute_async(
            r#"const [href, done] = [arguments[0], arguments[arguments.length - 1]];
               fetch(href, {credentials: 'same-origin'})
                 .then(r => r.text().then(t => done([r.status, r.headers.get('content-type') || '', t])))
                 .catch(e => done([0, '', String(e)]));"#,
            vec![Value::String(href.to_string())],
        )
        .await?;
    Ok((
        v[0].as_u64().unwrap_or(0) as u16,
        v[1].as_str().unwrap_or("").to_string(),
        v[2].as_str().unwrap_or("").to_string(),
    ))
}

/// The records of a CSV document (quoted fields may hold commas, quotes and line breaks).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (vec![], vec![], String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, ch) => field.push(ch),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, ch) => field.push(ch),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

async fn click_link(c: &Client, text: &str) -> Result<String> {
    let link = c
        .find(Locator::LinkText(text))
        .await
        .with_context(|| format!("no link {text:?}"))?;
    follow(c, link).await
}

/// Clicks `link`, waits for the page of its `href` and checks that page: its `href`.
async fn follow(c: &Client, link: Element) -> Result<String> {
    let href = link.attr("href").await?.unwrap_or_default();
    link.click().await?;
    wait_for_path(c, href.split('?').next().unwrap()).await?;
    page_is_clean(c).await?;
    Ok(href)
}

// ---------------------------------------------------------------------------------------------
// The queue

#[test]
fn the_queue_counts_what_the_api_counts_for_each_filter() {
    each_hub("queue-count", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        let shop = hub.shop;
        // Only the shop: the bulk test closes bank findings meanwhile.
        let cases = [
            (
                format!("product={shop}"),
                open_count_api(hub, format!("product={shop}&active=true")).await,
            ),
            (
                format!("product={shop}&severity=high"),
                open_count_api(hub, format!("product={shop}&severity=High&active=true")).await,
            ),
            (
                format!("product={shop}&severity=high&severity=medium"),
                open_count_api(hub, format!("product={shop}&severity=High&active=true")).await
                    + open_count_api(hub, format!("product={shop}&severity=Medium&active=true"))
                        .await,
            ),
            (
                format!("product={shop}&status=all"),
                open_count_api(hub, format!("product={shop}")).await,
            ),
            (
                format!("product={shop}&status=all&per_page=5"),
                open_count_api(hub, format!("product={shop}")).await,
            ),
        ];
        for (query, want) in cases {
            let page = format!("/ui/findings?{query}");
            open(&c, hub, &page).await?;
            let count = queue_count(&c).await?;
            ensure!(
                count == want,
                "{page}: the queue counts {count}, the API {want}"
            );
            let per_page = if query.contains("per_page=5") { 5 } else { 50 };
            let ids = queue_ids(&c).await?;
            ensure!(
                ids.len() as i64 == want.min(per_page),
                "{page}: {} rows for a count of {want}",
                ids.len()
            );
            for id in ids {
                ensure!(
                    hub.shop_findings.iter().any(|(f, _)| *f == id),
                    "{page} lists {id}, not a finding of the shop"
                );
            }
        }

        // The same through the filter form: tick High, pick the shop, Show.
        open(&c, hub, "/ui/findings").await?;
        c.find(Locator::Css("input[name=severity][value=high]"))
            .await?
            .click()
            .await?;
        c.find(Locator::Css(&format!(
            "select[name=product] option[value='{shop}']"
        )))
        .await?
        .click()
        .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form.queue-filter button"))
            .await?
            .click()
            .await?;
        wait_for_path(&c, "/ui/findings").await?;
        let url = c.current_url().await?;
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        ensure!(
            query.contains(&("severity".into(), "high".into()))
                && query.contains(&("product".into(), shop.to_string())),
            "the filter form's URL does not hold the filter: {url}"
        );
        let want = open_count_api(hub, format!("product={shop}&severity=High&active=true")).await;
        ensure!(
            queue_count(&c).await? == want,
            "the form's filter counts differently"
        );
        // The URL is the view: opened afresh, it shows the same.
        let shared = url.to_string();
        c.goto(&shared).await?;
        ensure!(
            queue_count(&c).await? == want,
            "the shared URL shows another count"
        );
        Ok(())
    });
}

#[test]
fn the_exports_hold_exactly_the_filtered_list() {
    each_hub("queue-export", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        let page = format!(
            "/ui/findings?product={}&severity=medium&status=all&per_page=5",
            hub.shop
        );
        open(&c, hub, &page).await?;
        let count = queue_count(&c).await?;
        ensure!(count > 5, "the filter should span pages (count {count})");
        let want = open_count_api(hub, format!("product={}&severity=Medium", hub.shop)).await;
        ensure!(count == want, "queue {count}, API {want}");
        let page_ids: BTreeSet<i64> = queue_ids(&c).await?.into_iter().collect();
        for (label, kind) in [("CSV", "text/csv"), ("JSON", "application/json")] {
            let href = c
                .find(Locator::LinkText(label))
                .await?
                .attr("href")
                .await?
                .unwrap_or_default();
            ensure!(
                href.contains(&format!("product={}", hub.shop)) && href.contains("severity=medium"),
                "the {label} link drops the filter: {href}"
            );
            let (status, content_type, body) = fetch(&c, &href).await?;
            ensure!(
                status == 200 && content_type.starts_with(kind),
                "{href}: {status} {content_type}"
            );
            let ids: BTreeSet<i64> = match label {
                "CSV" => {
                    let records = csv_records(&body);
                    let header = records.first().context("an empty CSV")?;
                    let col = header
                        .iter()
                        .position(|h| h == "id")
                        .context("the CSV has no id column")?;
                    records[1..]
                        .iter()
                        .map(|r| r[col].parse().unwrap())
                        .collect()
                }
                _ => {
                    let v: Value = serde_json::from_str(&body)?;
                    v.as_array()
                        .context("the JSON export is not an array")?
                        .iter()
                        .map(|f| f["id"].as_i64().unwrap())
                        .collect()
                }
            };
            ensure!(
                ids.len() as i64 == count,
                "the {label} export has {} findings, the queue counts {count}",
                ids.len()
            );
            ensure!(
                page_ids.is_subset(&ids),
                "the {label} export lacks the page's findings"
            );
        }
        Ok(())
    });
}

#[test]
fn bulk_closing_a_selection_with_a_reason_takes_it_off_the_open_list_and_into_each_history() {
    const REASON: &str = "Dead code since the 2.0 rewrite (bulk triage in the browser test)";
    each_hub("queue-bulk", |c, hub| async move {
        sign_in(&c, hub, TESS, PASSWORD).await?;
        let page = format!("/ui/findings?product={}&sort=title", hub.bank);
        open(&c, hub, &page).await?;
        let before = queue_count(&c).await?;
        let boxes = c
            .find_all(Locator::Css("form.queue-bulk input[name=id]"))
            .await?;
        ensure!(boxes.len() >= 3, "too few findings to select");
        let mut chosen = vec![];
        for b in &boxes[..2] {
            chosen.push(b.attr("value").await?.unwrap_or_default().parse::<i64>()?);
            b.click().await?;
        }

        // Without a reason: refused, nothing changes.
        c.find(Locator::Css(
            "select[name=action] option[value=close_wont_fix]",
        ))
        .await?
        .click()
        .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form.queue-bulk button"))
            .await?
            .click()
            .await?;
        wait_for_path(&c, "/ui/findings/bulk").await?;
        open(&c, hub, &page).await?;
        ensure!(
            queue_count(&c).await? == before,
            "a close without a reason changed the queue"
        );

        // With the reason.
        for b in c
            .find_all(Locator::Css("form.queue-bulk input[name=id]"))
            .await?
        {
            let id: i64 = b.attr("value").await?.unwrap_or_default().parse()?;
            if chosen.contains(&id) {
                b.click().await?;
            }
        }
        c.find(Locator::Css(
            "select[name=action] option[value=close_wont_fix]",
        ))
        .await?
        .click()
        .await?;
        c.find(Locator::Css("form.queue-bulk input[name=reason]"))
            .await?
            .send_keys(REASON)
            .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form.queue-bulk button"))
            .await?
            .click()
            .await?;
        wait_for_path(&c, "/ui/findings").await?;
        page_is_clean(&c).await?;
        ensure!(
            text(&c).await?.contains("2 changed"),
            "the bulk close does not say it changed 2: {}",
            text(&c).await?
        );
        open(&c, hub, &page).await?;
        ensure!(
            queue_count(&c).await? == before - 2,
            "the open count did not drop by 2"
        );
        let open_ids = queue_ids(&c).await?;
        for id in &chosen {
            ensure!(!open_ids.contains(id), "{id} is still on the open list");
            let finding = format!("/ui/findings/{id}");
            open(&c, hub, &finding).await?;
            let t = text(&c).await?;
            ensure!(
                t.contains(REASON) && t.contains(TESS),
                "{finding}'s history does not show the close by {TESS} with its reason: {t}"
            );
        }
        // And the closed list has them.
        open(
            &c,
            hub,
            &format!("/ui/findings?product={}&status=closed", hub.bank),
        )
        .await?;
        let closed = queue_ids(&c).await?;
        ensure!(
            chosen.iter().all(|id| closed.contains(id)),
            "not on the closed list"
        );
        Ok(())
    });
}

#[test]
fn a_note_added_through_the_finding_page_shows_in_its_notes_with_its_author() {
    const NOTE: &str = "Checked with the mobile team: fixed in 4.2 (note from the browser test)";
    each_hub("finding-note", |c, hub| async move {
        sign_in(&c, hub, TESS, PASSWORD).await?;
        let (id, _) = hub.bank_findings[hub.bank_findings.len() - 1];
        let page = format!("/ui/findings/{id}");
        open(&c, hub, &page).await?;
        c.find(Locator::Css("form.note textarea[name=text]"))
            .await?
            .send_keys(NOTE)
            .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form.note button"))
            .await?
            .click()
            .await?;
        wait_for_path(&c, &page).await?;
        page_is_clean(&c).await?;
        let t = text(&c).await?;
        ensure!(
            t.contains(NOTE) && t.contains(TESS),
            "the note is not shown: {t}"
        );
        // A person with read only has no note form.
        c.delete_all_cookies().await?;
        sign_in(&c, hub, ADA, PASSWORD).await?;
        open(&c, hub, &page).await?;
        ensure!(
            c.find_all(Locator::Css("form.note")).await?.is_empty(),
            "a read-only person is offered the note form"
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Dashboard, products → engagements → tests, gate runs, metrics

#[test]
fn from_the_dashboard_to_a_product_its_queue_and_a_finding_by_clicking_links() {
    each_hub("dashboard-navigation", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        ensure!(h1(&c).await? == "Dashboard");
        click_link(&c, SHOP).await?;
        ensure!(path(&c).await? == format!("/ui/products/{}", hub.shop));
        ensure!(h1(&c).await? == SHOP);
        click_link(&c, "its findings in the queue").await?;
        let want = open_count_api(hub, format!("product={}&active=true", hub.shop)).await;
        ensure!(
            queue_count(&c).await? == want,
            "the product's queue counts differently"
        );
        let first = c
            .find(Locator::Css("table.queue a[href^='/ui/findings/']"))
            .await?;
        let title = first.text().await?;
        follow(&c, first).await?;
        ensure!(h1(&c).await? == title);
        Ok(())
    });
}

#[test]
fn a_test_page_shows_its_import_history_and_draws_its_trend() {
    each_hub("test-page", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        open(&c, hub, &format!("/ui/products/{}", hub.shop)).await?;
        let test = c.find(Locator::Css("a[href^='/ui/tests/']")).await?;
        let href = follow(&c, test).await?;
        ensure!(
            !c.find_all(Locator::Css("svg")).await?.is_empty(),
            "{href} draws no trend chart"
        );
        ensure!(
            text(&c).await?.contains(SHOP),
            "{href} does not name its product"
        );
        Ok(())
    });
}

#[test]
fn gate_runs_list_and_detail_show_the_seeded_run_and_its_artifact() {
    each_hub("gate-runs", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        open(&c, hub, "/ui/gate-runs").await?;
        let row = format!("tr[data-gate-run='{}']", hub.gate_run);
        ensure!(
            !c.find_all(Locator::Css(&row)).await?.is_empty(),
            "the list has no row for gate run {}",
            hub.gate_run
        );
        let href = format!("/ui/gate-runs/{}", hub.gate_run);
        follow(
            &c,
            c.find(Locator::Css(&format!("a[href='{href}']"))).await?,
        )
        .await?;
        let t = text(&c).await?;
        ensure!(
            t.contains(&hub.artifact_sha256),
            "the run's artifact digest is not shown: {t}"
        );
        ensure!(t.contains(SHOP), "the run's product is not shown");
        let outcome = c
            .find(Locator::Css("[data-outcome]"))
            .await?
            .attr("data-outcome")
            .await?
            .unwrap_or_default();
        ensure!(
            ["pass", "warn", "block"].contains(&outcome.as_str()),
            "{outcome}"
        );
        // The findings its reasons cite open (the first few).
        let mut cited = vec![];
        for a in c
            .find_all(Locator::Css("table.reasons a[href^='/ui/findings/']"))
            .await?
        {
            cited.push(a.attr("href").await?.unwrap_or_default());
        }
        if outcome == "block" {
            ensure!(!cited.is_empty(), "a blocking run cites no finding");
        }
        for f in cited.iter().take(3) {
            open(&c, hub, f).await?;
            ensure!(
                h1(&c).await? != "Not found",
                "{f}, cited by the run, is not found"
            );
        }
        // The outcome filter lists the run under its outcome only.
        for o in ["pass", "warn", "block"] {
            open(
                &c,
                hub,
                &format!("/ui/gate-runs?product={}&outcome={o}", hub.shop),
            )
            .await?;
            let listed = !c.find_all(Locator::Css(&row)).await?.is_empty();
            ensure!(
                listed == (o == outcome),
                "outcome={o} lists the {outcome} run: {listed}"
            );
        }
        Ok(())
    });
}

/// The metrics page's `[data-path]` cells against the JSON endpoints' answers (`token`'s view).
async fn metrics_page_matches_the_api(
    c: &Client,
    hub: &'static SeededHub,
    token: &str,
) -> Result<()> {
    let list = api(hub, token, "/api/v2/tollgate/metrics/").await;
    let names: Vec<String> = list
        .as_array()
        .or_else(|| list["results"].as_array())
        .or_else(|| list["metrics"].as_array())
        .context("the metrics list")?
        .iter()
        .map(|m| {
            m.as_str()
                .or_else(|| m["name"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    ensure!(
        names.len() == 8,
        "{} metrics listed: {names:?}",
        names.len()
    );
    'attempt: for attempt in 0..3 {
        let mut answers: Vec<Value> = vec![];
        for n in &names {
            answers.push(api(hub, token, &format!("/api/v2/tollgate/metrics/{n}/")).await);
        }
        open(c, hub, "/ui/metrics").await?;
        for (name, answer) in names.iter().zip(&answers) {
            let section = format!("section.metric[id='{name}']");
            ensure!(
                !c.find_all(Locator::Css(&format!("{section} .chart svg")))
                    .await?
                    .is_empty(),
                "{name}: no chart"
            );
            let cells = c
                .execute(
                    "return Array.from(document.querySelectorAll(arguments[0] + ' [data-path]'))\
                       .map(e => [e.getAttribute('data-path'), e.textContent]);",
                    vec![Value::String(section.clone())],
                )
                .await?;
            let cells = cells.as_array().context("cells")?;
            ensure!(!cells.is_empty(), "{name}: no numbers on the page");
            for cell in cells {
                let (path, shown) = (cell[0].as_str().unwrap(), cell[1].as_str().unwrap());
                let pointer = path.strip_prefix(name.as_str()).unwrap_or(path);
                let want = match answer.pointer(pointer) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) => String::new(),
                    Some(v) => v.to_string(),
                    None => bail!("{name}: the page shows {path}, the API has no such value"),
                };
                if shown != want {
                    // The hub may have changed between the two reads (another test triages).
                    let again = api(hub, token, &format!("/api/v2/tollgate/metrics/{name}/")).await;
                    if again != *answer && attempt < 2 {
                        continue 'attempt;
                    }
                    bail!("{name}: the page shows {shown:?} at {path}, the API {want:?}");
                }
            }
        }
        return Ok(());
    }
    unreachable!()
}

#[test]
fn the_metrics_page_shows_each_metrics_chart_with_the_numbers_of_its_json_endpoint() {
    each_hub("metrics-page", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        metrics_page_matches_the_api(&c, hub, &hub.admin).await
    });
}

// ---------------------------------------------------------------------------------------------
// Product limits and hostile text on the new pages

#[test]
fn a_person_limited_to_one_product_sees_nothing_of_the_others_on_the_new_pages() {
    each_hub("product-limited-pages", |c, hub| async move {
        let name = format!("bank-only-{}", hub.backend);
        let token = blocking(move || hub.read_token(&name, Some(BANK))).await;
        sign_in(&c, hub, LENA, PASSWORD).await?;
        let engagement = api(
            hub,
            &hub.admin,
            &format!("/api/v2/engagements/?product={}", hub.shop),
        )
        .await["results"][0]["id"]
            .as_i64()
            .unwrap();
        for page in [
            "/",
            "/ui/products",
            "/ui/findings",
            "/ui/findings?status=all",
            "/ui/gate-runs",
            "/ui/risk-acceptances",
            "/ui/metrics",
        ] {
            open(&c, hub, page).await?;
            let (t, source) = (text(&c).await?, c.source().await?);
            for other in [SHOP, "hostile", "NodeGoat"] {
                ensure!(
                    !t.contains(other) && !source.contains(other),
                    "{page} shows {other:?}"
                );
            }
        }
        // The queue counts the bank's open findings, as the bank-limited API does. The bulk test
        // closes bank findings meanwhile: a count read while the API's moved is read again.
        let open_count = || async {
            api(hub, &token, "/api/v2/findings/?active=true&limit=1").await["count"]
                .as_i64()
                .unwrap()
        };
        for attempt in 0..3 {
            let before = open_count().await;
            open(&c, hub, "/ui/findings").await?;
            let shown = queue_count(&c).await?;
            let after = open_count().await;
            if before != after && attempt < 2 {
                continue;
            }
            ensure!(
                shown == before || shown == after,
                "lena's queue counts {shown}, the API {before} then {after}"
            );
            break;
        }
        open(&c, hub, &format!("/ui/findings?product={}", hub.shop)).await?;
        ensure!(
            h1(&c).await? == "Not found" || queue_count(&c).await? == 0,
            "filtering by another product shows findings"
        );
        let (_, _, csv) = fetch(&c, "/ui/findings.csv?status=all").await?;
        ensure!(
            !csv.contains(SHOP),
            "the export holds another product's findings"
        );
        // Other products' objects answer like missing ones.
        open(&c, hub, "/ui/gate-runs/999999999").await?;
        let missing_run = c.source().await?;
        open(&c, hub, &format!("/ui/gate-runs/{}", hub.gate_run)).await?;
        ensure!(
            c.source().await? == missing_run,
            "the shop's gate run opens for {LENA}"
        );
        open(&c, hub, "/ui/engagements/999999999").await?;
        let missing_engagement = c.source().await?;
        open(&c, hub, &format!("/ui/engagements/{engagement}")).await?;
        ensure!(
            c.source().await? == missing_engagement,
            "the shop's engagement opens"
        );
        // Her metrics are the bank-limited token's.
        metrics_page_matches_the_api(&c, hub, &token).await
    });
}

#[test]
fn hostile_text_runs_nothing_on_the_dashboard_queue_and_hierarchy_pages() {
    each_hub("xss-pages", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        let engagement = api(
            hub,
            &hub.admin,
            &format!("/api/v2/engagements/?product={}", hub.hostile),
        )
        .await["results"][0]["id"]
            .as_i64()
            .unwrap();
        let tests = api(
            hub,
            &hub.admin,
            &format!("/api/v2/tests/?engagement={engagement}"),
        )
        .await;
        let mut pages = vec![
            "/".to_string(),
            "/ui/products".to_string(),
            format!("/ui/products/{}", hub.hostile),
            format!("/ui/engagements/{engagement}"),
            format!("/ui/findings?product={}&status=all", hub.hostile),
            "/ui/findings?q=%3Cscript%3E".to_string(),
            "/ui/risk-acceptances".to_string(),
            "/ui/gate-runs".to_string(),
        ];
        for t in tests["results"].as_array().unwrap() {
            pages.push(format!("/ui/tests/{}", t["id"]));
        }
        for page in &pages {
            open(&c, hub, page).await?;
            nothing_ran(&c).await?;
        }
        open(&c, hub, "/").await?;
        shows(&c, HOSTILE, "the dashboard").await?;
        let queue = format!("/ui/findings?product={}&status=all", hub.hostile);
        open(&c, hub, &queue).await?;
        for (_, title) in &hub.hostile_findings {
            shows(&c, title, &queue).await?;
        }
        ensure!(queue_count(&c).await? == hub.hostile_findings.len() as i64);
        // The queue's text search finds the payload as text.
        open(&c, hub, "/ui/findings?q=%3Cscript%3E&status=all").await?;
        ensure!(
            queue_count(&c).await? >= 1,
            "searching for <script> finds nothing"
        );
        // The JSON export carries the titles as data, unchanged.
        let (_, _, json) = fetch(
            &c,
            &format!("/ui/findings.json?product={}&status=all", hub.hostile),
        )
        .await?;
        let exported: Vec<Value> = serde_json::from_str(&json)?;
        for (_, title) in &hub.hostile_findings {
            ensure!(
                exported.iter().any(|f| f["title"] == *title),
                "the JSON export changed the title {title:?}"
            );
        }
        Ok(())
    });
}
