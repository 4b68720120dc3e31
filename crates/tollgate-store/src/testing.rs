//! Test support shared by the store's and the server's tests (not for production use).

use sqlx::{Connection, Executor};

/// Creates a new, empty database on the PostgreSQL server of `base_url` (e.g.
/// `postgres://postgres@127.0.0.1:5432/test`) and returns its URL. Each test gets its own, so
/// tests run in parallel without seeing each other's rows.
pub async fn fresh_postgres_database(base_url: &str) -> Result<String, sqlx::Error> {
    sqlx::any::install_default_drivers();
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!(
        "tollgate_t_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::AnyConnection::connect(base_url).await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    conn.close().await?;
    let (prefix, rest) = match base_url.rfind('/') {
        Some(i) if i > base_url.find("://").map_or(0, |s| s + 2) => base_url.split_at(i),
        _ => (base_url, ""),
    };
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    Ok(format!("{prefix}/{name}{query}"))
}
