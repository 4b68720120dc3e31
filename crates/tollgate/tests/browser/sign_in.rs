//! Signing in and out as a browser does it: the forms with their CSRF field, the session cookie,
//! and what another site can not do.

use crate::harness::{
    csp_of_page, each_hub, h1, leaving, open, page_is_clean, path, sign_in, text, wait_for_path,
    ADA, PASSWORD,
};
use anyhow::{ensure, Context, Result};
use fantoccini::cookies::Cookie;
use fantoccini::{Client, Locator};
use std::io::{Read, Write};

const SESSION: &str = "tollgate_session";

async fn session_cookie(c: &Client) -> Result<Option<Cookie<'static>>> {
    Ok(c.get_all_cookies()
        .await?
        .into_iter()
        .find(|k| k.name() == SESSION))
}

async fn csrf_field(c: &Client) -> Result<String> {
    let v = c
        .find(Locator::Css("form input[name=csrf]"))
        .await
        .context("the form has no CSRF field")?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(
        v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
        "the CSRF field holds {v:?}"
    );
    Ok(v)
}

#[test]
fn a_person_signs_in_through_the_form_and_out_and_the_old_session_cookie_then_opens_nothing() {
    each_hub("sign-in-and-out", |c, hub| async move {
        open(&c, hub, "/ui/login").await?;
        ensure!(h1(&c).await? == "Sign in");
        csrf_field(&c).await?;
        ensure!(
            csp_of_page(&c).await?.contains("script-src 'self'"),
            "no CSP on the sign-in page"
        );

        sign_in(&c, hub, ADA, PASSWORD).await?;
        let home = text(&c).await?;
        ensure!(
            home.contains(&format!("signed in as {ADA}")) && !home.contains("(token)"),
            "the home page does not say who is signed in: {home}"
        );
        let session = session_cookie(&c).await?.context("no session cookie")?;
        ensure!(
            session.http_only() == Some(true)
                && format!("{:?}", session.same_site()) == "Some(Lax)"
                && session.path() == Some("/")
                && session.expires().is_some_and(|e| e.is_datetime())
                && session.secure() != Some(true),
            "the session cookie is not HttpOnly, SameSite=Lax, Path=/, with an expiry, not \
             Secure on http: {session:?}"
        );
        for k in c.get_all_cookies().await? {
            ensure!(!k.value().contains("horse"), "a cookie holds the password");
        }

        // Sign out through the nav's link and the sign-out form.
        c.find(Locator::LinkText("Sign out")).await?.click().await?;
        wait_for_path(&c, "/ui/logout").await?;
        page_is_clean(&c).await?;
        csrf_field(&c).await?;
        leaving(&c).await?;
        c.find(Locator::Css("form button")).await?.click().await?;
        wait_for_path(&c, "/ui/login").await?;
        ensure!(
            session_cookie(&c).await?.is_none(),
            "signing out left the session cookie"
        );
        open(&c, hub, "/").await?;
        ensure!(
            path(&c).await? == "/ui/login",
            "after signing out / opens {}",
            path(&c).await?
        );

        // The ended session's cookie, put back, opens nothing either: the hub ended it.
        c.add_cookie(session.clone()).await?;
        ensure!(
            session_cookie(&c).await?.is_some(),
            "the old cookie was not put back"
        );
        for page in ["/".to_string(), format!("/ui/products/{}", hub.shop)] {
            open(&c, hub, &page).await?;
            ensure!(
                path(&c).await? == "/ui/login" && h1(&c).await? == "Sign in",
                "the ended session's cookie still opens {page}"
            );
        }
        Ok(())
    });
}

#[test]
fn a_wrong_password_or_a_form_without_its_csrf_field_signs_nobody_in() {
    each_hub("sign-in-refused", |c, hub| async move {
        open(&c, hub, "/ui/login").await?;
        c.find(Locator::Css("input[name=name]"))
            .await?
            .send_keys(ADA)
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys("not the password at all")
            .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form button")).await?.click().await?;
        wait_for_path(&c, "/ui/login").await?;
        page_is_clean(&c).await?;
        ensure!(
            text(&c).await?.contains("Unknown name or wrong password"),
            "a wrong password: {}",
            text(&c).await?
        );
        ensure!(
            session_cookie(&c).await?.is_none(),
            "a wrong password set a session"
        );

        // The right password, but the form's CSRF field removed: refused.
        open(&c, hub, "/ui/login").await?;
        c.execute(
            "document.querySelector('form input[name=csrf]').remove()",
            vec![],
        )
        .await?;
        c.find(Locator::Css("input[name=name]"))
            .await?
            .send_keys(ADA)
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        leaving(&c).await?;
        c.find(Locator::Css("form button")).await?.click().await?;
        wait_for_path(&c, "/ui/login").await?;
        ensure!(
            h1(&c).await? == "Forbidden",
            "a sign-in without its CSRF field: {}",
            text(&c).await?
        );
        ensure!(session_cookie(&c).await?.is_none(), "it set a session");
        Ok(())
    });
}

#[test]
fn a_token_signs_in_through_its_form_and_the_browser_never_holds_the_token() {
    each_hub("token-sign-in", |c, hub| async move {
        let token = hub.read_token("browser-token", None);
        open(&c, hub, "/ui/login").await?;
        c.find(Locator::Css("input[name=token]"))
            .await?
            .send_keys(&token)
            .await?;
        c.find(Locator::XPath("//button[contains(., 'token')]"))
            .await?
            .click()
            .await?;
        wait_for_path(&c, "/").await?;
        page_is_clean(&c).await?;
        ensure!(
            text(&c)
                .await?
                .contains("signed in as browser-token (token)"),
            "{}",
            text(&c).await?
        );
        ensure!(session_cookie(&c).await?.is_some(), "no session cookie");
        for k in c.get_all_cookies().await? {
            ensure!(
                !k.value().contains(&token),
                "the cookie {} holds the token",
                k.name()
            );
        }
        Ok(())
    });
}

/// Serves `page` to every request on a port of its own (another site to the browser than the
/// hub's 127.0.0.1: it is opened as `localhost`), for at most `answers` requests.
fn attacker_site(page: String, answers: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(answers) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    port
}

#[test]
fn a_sign_in_posted_from_another_site_is_refused_even_with_a_valid_token_and_csrf_value() {
    each_hub("cross-site-sign-in", |c, hub| async move {
        let token = hub.read_token("cross-site", None);
        // The browser holds the hub's CSRF cookie, and the attacker even knows its value.
        open(&c, hub, "/ui/login").await?;
        let csrf = csrf_field(&c).await?;
        let page = format!(
            "<!doctype html><form method=post action='{}/ui/login'>\
             <input name=token value='{token}'><input name=csrf value='{csrf}'></form>\
             <script>document.forms[0].submit()</script>",
            hub.url
        );
        let port = attacker_site(page, 4);
        c.goto(&format!("http://localhost:{port}/")).await?;
        wait_for_path(&c, "/ui/login").await?;
        ensure!(
            c.current_url().await?.origin().ascii_serialization() == hub.url,
            "the post did not reach the hub"
        );
        ensure!(
            h1(&c).await? == "Forbidden",
            "a cross-site sign-in was not refused: {}",
            text(&c).await?
        );
        ensure!(
            session_cookie(&c).await?.is_none(),
            "a cross-site sign-in set a session cookie"
        );
        open(&c, hub, "/").await?;
        ensure!(
            path(&c).await? == "/ui/login",
            "signed in from another site"
        );
        Ok(())
    });
}
