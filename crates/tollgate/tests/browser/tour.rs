//! The UI tour of docs/ui.md: a screenshot of each page of the URL contract, on a hub of its own
//! seeded with the corpus. Ignored in test runs; `scripts/ui-tour.sh` runs it. A page this build
//! does not have (its path answers the API's "no such route") is said and left out.

use crate::harness::{
    driver, h1, in_browser, page_is_clean, sign_in, text, Seed, SeededHub, ADA, PASSWORD, WINDOW,
};
use crate::util::corpus_dir;
use anyhow::{Context, Result};
use fantoccini::{Client, Locator};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the screenshots go: `TOLLGATE_UI_TOUR_DIR`, else `docs/ui/`.
fn out_dir() -> PathBuf {
    std::env::var_os("TOLLGATE_UI_TOUR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui"))
}

/// Makes the page's viewport exactly [`WINDOW`] (the window's own frame comes on top).
async fn size_viewport(c: &Client) -> Result<()> {
    c.set_window_size(WINDOW.0, WINDOW.1).await?;
    let v = c
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
            vec![],
        )
        .await?;
    let frame = |i: usize| v[i].as_u64().unwrap_or(0) as u32;
    c.set_window_size(WINDOW.0 + frame(0), WINDOW.1 + frame(1))
        .await?;
    Ok(())
}

/// Opens `path` and saves its screenshot as `name`.png; false (said) when this build has no
/// such page.
async fn shoot(c: &Client, hub: &SeededHub, name: &str, path: &str) -> Result<bool> {
    c.goto(&format!("{}{path}", hub.url)).await?;
    // An unrouted path answers the API's JSON 404: not a page of this build.
    if text(c).await?.trim_start().starts_with('{') || h1(c).await.is_err() {
        eprintln!("ui-tour: {path} is not a page of this build; no {name}.png");
        return Ok(false);
    }
    page_is_clean(c)
        .await
        .with_context(|| format!("on {path}"))?;
    let png = c.screenshot().await?;
    let file = out_dir().join(format!("{name}.png"));
    std::fs::write(&file, &png).with_context(|| format!("write {}", file.display()))?;
    eprintln!(
        "ui-tour: {path} -> {} ({} KB)",
        file.display(),
        png.len() / 1024
    );
    Ok(true)
}

async fn first_link(c: &Client, prefix: &str) -> Option<String> {
    c.find(Locator::Css(&format!("a[href^='{prefix}']")))
        .await
        .ok()?
        .attr("href")
        .await
        .ok()?
}

#[test]
#[ignore = "writes docs/ui/*.png: run by scripts/ui-tour.sh"]
fn ui_tour() {
    let Some(driver) = driver("ui_tour") else {
        return;
    };
    let Some(corpus) = corpus_dir("ui_tour") else {
        return;
    };
    std::fs::create_dir_all(out_dir()).unwrap();
    let hub = Arc::new(SeededHub::start("sqlite", &corpus, Seed::Tour));
    let engagement = hub.api(&format!("/api/v2/engagements/?product={}", hub.shop))["results"][0]
        ["id"]
        .as_i64()
        .unwrap();
    let test = hub.api(&format!("/api/v2/tests/?engagement={engagement}"))["results"][0]["id"]
        .as_i64()
        .unwrap();
    let h = hub.clone();
    in_browser(driver, "ui-tour", move |c| async move {
        let hub = &*h;
        size_viewport(&c).await?;
        shoot(&c, hub, "sign-in", "/ui/login").await?;
        sign_in(&c, hub, ADA, PASSWORD).await?;
        let (closed, _) = hub.shop_findings[0];
        let pages = [
            ("dashboard", "/".to_string()),
            ("products", "/ui/products".to_string()),
            ("product", format!("/ui/products/{}", hub.shop)),
            ("engagement", format!("/ui/engagements/{engagement}")),
            ("test", format!("/ui/tests/{test}")),
            (
                "findings",
                "/ui/findings?severity=high&severity=critical".to_string(),
            ),
            ("finding", format!("/ui/findings/{closed}")),
            ("gate-runs", "/ui/gate-runs".to_string()),
            ("risk-acceptances", "/ui/risk-acceptances".to_string()),
            ("metrics", "/ui/metrics".to_string()),
        ];
        for (name, path) in pages {
            let shown = shoot(&c, hub, name, &path).await?;
            if shown && name == "gate-runs" {
                if let Some(run) = first_link(&c, "/ui/gate-runs/").await {
                    shoot(&c, hub, "gate-run", &run).await?;
                }
            }
        }
        shoot(&c, hub, "sign-out", "/ui/logout").await?;
        Ok(())
    });
    drop(hub);
}
