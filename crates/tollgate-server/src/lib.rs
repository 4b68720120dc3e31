//! Tollgate's findings hub over HTTP: the DefectDojo-compatible import/reimport and list API, the
//! Results API shaped like Data Theorem's, gate baselines and records, health, metrics and a small
//! web UI. Thin over `tollgate-store`; it never holds state a second replica could miss.

pub mod auth;
pub mod conn;
pub mod error;
pub mod extract;
pub mod markdown;
pub mod metrics;
pub mod routes;
pub mod scan_types;
pub mod state;
pub mod svg;
pub mod time;
pub mod views;

use anyhow::Context as _;
use state::{AppState, Settings};
use std::net::SocketAddr;
use std::sync::Arc;
use tollgate_store::{Scope, Store, StoreOptions, Token};

pub use conn::ConnectionLimits;
pub use routes::router;
pub use time::rfc3339;

/// Everything `tollgate serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Public base URL (portal links); default `http://<listen>`.
    pub public_url: Option<String>,
    /// `/metrics` without a token (else a token with the `metrics` scope).
    pub public_metrics: bool,
    pub body_limit: usize,
    /// Database connections in the pool; None: the store's default for the database.
    pub max_connections: Option<u32>,
    /// Header, idle and request timeouts; the cap on open connections.
    pub limits: ConnectionLimits,
    /// Days to fix per severity, for findings' SLA due dates.
    pub sla: tollgate_store::SlaDays,
    /// The product type of products created by imports that name none; None refuses them.
    pub default_product_type: Option<String>,
}

/// The default of [`ServeConfig::default_product_type`] (`tollgate serve --default-product-type`).
pub const DEFAULT_PRODUCT_TYPE: &str = "Tollgate";

impl ServeConfig {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        ServeConfig {
            listen,
            database_url: database_url.into(),
            public_url: None,
            public_metrics: false,
            body_limit: 512 * 1024 * 1024,
            max_connections: None,
            limits: ConnectionLimits::default(),
            sla: tollgate_store::SlaDays::default(),
            default_product_type: Some(DEFAULT_PRODUCT_TYPE.to_string()),
        }
    }
}

/// Opens the store and builds the app state for `config`.
pub async fn app(config: &ServeConfig, bound: SocketAddr) -> anyhow::Result<AppState> {
    let store = Store::open(
        &config.database_url,
        StoreOptions {
            max_connections: config.max_connections,
            sla: config.sla,
        },
    )
    .await
    .with_context(|| {
        format!(
            "cannot open the database {}",
            tollgate_store::redact_url(&config.database_url)
        )
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_string();
    let cursor_key = routes::results::CursorKey(
        store
            .shared_secret("results-cursor-key")
            .await
            .context("cannot read the cursor key from the database")?,
    );
    Ok(AppState {
        store,
        settings: Arc::new(Settings {
            public_url,
            body_limit: config.body_limit,
            public_metrics: config.public_metrics,
            default_product_type: config.default_product_type.clone(),
            cursor_key,
        }),
        metrics: Arc::default(),
        tokens: Arc::default(),
    })
}

/// Runs the hub until SIGINT / SIGTERM, then drains in-flight requests and closes the pool.
/// `on_ready` is called with the bound address once the hub accepts connections.
pub async fn serve(config: ServeConfig, on_ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let bound = listener.local_addr()?;
    let state = app(&config, bound).await?;
    let store = state.store.clone();
    tracing::info!(
        listen = %bound,
        database = %tollgate_store::redact_url(&config.database_url),
        "tollgate hub ready"
    );
    if config.public_metrics {
        tracing::warn!(
            "--public-metrics: /metrics answers anyone without a token, with counts across every product"
        );
    }
    on_ready(bound);
    conn::serve(listener, router(state), config.limits, shutdown_signal()).await;
    store.close().await;
    tracing::info!("tollgate hub stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// A runtime for the blocking CLI commands (`serve`, `token`).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `tollgate token create`: the token and its secret (shown once).
pub async fn create_token(
    database_url: &str,
    name: &str,
    scopes: &[Scope],
    product: Option<&str>,
) -> anyhow::Result<(Token, String)> {
    let store = Store::open(database_url, StoreOptions::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                tollgate_store::redact_url(database_url)
            )
        })?;
    let out = store
        .create_token(name, scopes, product, state::now())
        .await?;
    store.close().await;
    Ok(out)
}

/// `tollgate token revoke`.
pub async fn revoke_token(database_url: &str, name: &str) -> anyhow::Result<bool> {
    let store = Store::open(database_url, StoreOptions::default()).await?;
    let done = store.revoke_token(name, state::now()).await?;
    store.close().await;
    Ok(done)
}

/// `tollgate user create`.
pub async fn create_user(
    database_url: &str,
    name: &str,
    password: &str,
    scopes: &[Scope],
    product: Option<&str>,
) -> anyhow::Result<tollgate_store::User> {
    let store = open_for_cli(database_url).await?;
    let out = store
        .create_user(name, password, scopes, product, state::now())
        .await;
    store.close().await;
    Ok(out?)
}

/// `tollgate user list`: every user with their product's name.
pub async fn users(
    database_url: &str,
) -> anyhow::Result<Vec<(tollgate_store::User, Option<String>)>> {
    let store = open_for_cli(database_url).await?;
    let users = store.users().await;
    let mut out = Vec::new();
    let mut failed = None;
    if let Ok(users) = &users {
        for u in users {
            let product = match u.product_id {
                Some(id) => match store.product(id).await {
                    Ok(p) => p.map(|p| p.name),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                },
                None => None,
            };
            out.push((u.clone(), product));
        }
    }
    store.close().await;
    users?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(out)
}

/// `tollgate user disable`.
pub async fn disable_user(database_url: &str, name: &str) -> anyhow::Result<bool> {
    let store = open_for_cli(database_url).await?;
    let done = store.disable_user(name, state::now()).await;
    store.close().await;
    Ok(done?)
}

async fn open_for_cli(database_url: &str) -> anyhow::Result<Store> {
    Store::open(database_url, StoreOptions::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                tollgate_store::redact_url(database_url)
            )
        })
}

/// Logs to stderr: text, or one JSON object per line (`json`), filtered by `RUST_LOG`.
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
