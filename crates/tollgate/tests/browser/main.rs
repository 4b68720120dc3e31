//! The hub's web UI in a real browser (issue 15 §5): headless Chromium driven over WebDriver by
//! chromedriver, against a real `tollgate serve` on SQLite and (with `TOLLGATE_TEST_POSTGRES_URL`)
//! PostgreSQL, seeded by imports of corpus reports, hostile fixture reports and a gate run.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`). Without
//! them every test says SKIPPED on stderr and passes, unless `TOLLGATE_REQUIRE_BROWSER=1` (CI), which
//! makes a missing browser a failure. A failing test saves a screenshot under
//! `target/browser-screenshots/` and prints its path.
//!
//! One chromedriver and one seeded hub per backend serve all the tests of this binary; each test
//! opens its own browser session with a fresh profile.

mod harness;
mod navigation;
mod sign_in;
mod tour;
#[path = "../util.rs"]
#[allow(dead_code)]
mod util;
mod xss;
