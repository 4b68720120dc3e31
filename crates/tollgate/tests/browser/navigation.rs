//! Getting around by clicking: from the product list to a product and on to a finding; and what a
//! person limited to one product can reach.

use crate::harness::{each_hub, h1, open, sign_in, text, BANK, HOSTILE, LENA, PASSWORD, SHOP};
use anyhow::{ensure, Result};
use fantoccini::Locator;

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
