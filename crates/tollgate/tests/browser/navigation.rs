//! Getting around by clicking: from the product list to a product and on to a finding; and what a
//! person limited to one product can reach.

use crate::harness::{
    each_hub, h1, open, page_is_clean, path, sign_in, text, wait_for_path, ADA, BANK, HOSTILE,
    LENA, PASSWORD, SHOP,
};
use anyhow::{ensure, Context, Result};
use fantoccini::{Client, Locator};

async fn click_link(c: &Client, text: &str) -> Result<String> {
    let here = path(c).await?;
    let link = c
        .find(Locator::LinkText(text))
        .await
        .with_context(|| format!("no link {text:?} on {here}"))?;
    let href = link.attr("href").await?.unwrap_or_default();
    link.click().await?;
    wait_for_path(c, &href).await?;
    page_is_clean(c).await?;
    Ok(href)
}

#[test]
fn a_person_opens_a_product_and_one_of_its_findings_by_clicking_links() {
    each_hub("navigation", |c, hub| async move {
        sign_in(&c, hub, ADA, PASSWORD).await?;
        ensure!(h1(&c).await? == "Products");
        let href = click_link(&c, SHOP).await?;
        ensure!(href == format!("/ui/products/{}", hub.shop), "{href}");
        ensure!(h1(&c).await? == SHOP);
        let count = hub.shop_findings.len();
        ensure!(
            text(&c).await?.contains(&format!("{count} findings")),
            "the product page does not count the API's {count} findings: {}",
            text(&c).await?
        );
        let rows = c.find_all(Locator::Css("a[href^='/ui/findings/']")).await?;
        ensure!(
            rows.len() == count,
            "{} finding links, the API lists {count}",
            rows.len()
        );
        // The first listed finding (open first, most severe first) is one of the shop's.
        let first = &rows[0];
        let title = first.text().await?;
        let href = first.attr("href").await?.unwrap_or_default();
        let location = first
            .find(Locator::XPath("./ancestor::tr/td[3]"))
            .await?
            .text()
            .await?;
        // "file:line": the finding page shows the file (its line may stand apart).
        let file = location
            .rsplit_once(':')
            .map_or(location.as_str(), |(f, _)| f);
        ensure!(
            !file.is_empty(),
            "the product page gives no location for {href}"
        );
        let id: i64 = href.trim_start_matches("/ui/findings/").parse()?;
        ensure!(
            hub.shop_findings.contains(&(id, title.clone())),
            "the link {href} {title:?} is not a finding of the shop"
        );
        first.click().await?;
        wait_for_path(&c, &href).await?;
        page_is_clean(&c).await?;
        ensure!(h1(&c).await? == title, "the finding page's heading");
        let t = text(&c).await?;
        for field in ["Severity", "Status", "Scanner / rule", "Fingerprint", file] {
            ensure!(t.contains(field), "the finding page has no {field:?}: {t}");
        }
        ensure!(
            t.contains("semgrep"),
            "the finding page does not name its scanner: {t}"
        );
        // And back home by the header link.
        click_link(&c, "Tollgate hub").await?;
        ensure!(path(&c).await? == "/");
        Ok(())
    });
}

#[test]
fn a_person_limited_to_one_product_sees_nothing_of_the_others() {
    each_hub("product-limited", |c, hub| async move {
        sign_in(&c, hub, LENA, PASSWORD).await?;
        let others = [SHOP, HOSTILE, "NodeGoat", "<script>"];
        let hidden = |page: String, text: String, source: String| -> Result<()> {
            for other in others {
                ensure!(
                    !text.contains(other),
                    "{page} shows another product's {other:?}: {text}"
                );
            }
            for other in [SHOP, "hostile"] {
                ensure!(
                    !source.contains(other),
                    "{page}'s HTML names another product's {other:?}"
                );
            }
            Ok(())
        };
        let links = c.find_all(Locator::Css("a[href^='/ui/products/']")).await?;
        ensure!(!links.is_empty(), "no product listed");
        for link in links {
            ensure!(
                link.attr("href").await?.as_deref() == Some(&format!("/ui/products/{}", hub.bank))
                    && link.text().await? == BANK,
                "a link to another product than {BANK}"
            );
        }
        hidden("/".into(), text(&c).await?, c.source().await?)?;

        let own = vec![
            format!("/ui/products/{}", hub.bank),
            format!("/ui/findings/{}", hub.bank_findings[0].0),
        ];
        for page in own {
            open(&c, hub, &page).await?;
            ensure!(
                h1(&c).await? != "Not found",
                "{page} is not found for its own user"
            );
            hidden(page, text(&c).await?, c.source().await?)?;
        }

        // Another product's pages answer exactly like missing ones.
        open(&c, hub, "/ui/findings/999999999").await?;
        let missing_finding = c.source().await?;
        open(&c, hub, "/ui/products/999999999").await?;
        let missing_product = c.source().await?;
        let mut theirs = vec![];
        for id in [hub.shop, hub.hostile] {
            theirs.push((format!("/ui/products/{id}"), &missing_product));
        }
        for (id, _) in hub
            .shop_findings
            .iter()
            .take(3)
            .chain(&hub.hostile_findings)
        {
            theirs.push((format!("/ui/findings/{id}"), &missing_finding));
        }
        for (page, missing) in theirs {
            open(&c, hub, &page).await?;
            ensure!(h1(&c).await? == "Not found", "{page} opens for {LENA}");
            let source = c.source().await?;
            ensure!(
                source == *missing,
                "{page} does not answer exactly like a missing one"
            );
            hidden(page, text(&c).await?, source)?;
        }
        Ok(())
    });
}
