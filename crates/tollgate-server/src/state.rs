//! What every handler shares: the store, the settings, the metrics. Nothing here is state a
//! second replica would need to see.

use crate::metrics::Metrics;
use std::sync::Arc;
use tollgate_store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub tokens: Arc<TokenCache>,
}

/// Tokens recently read from the database, for a few seconds: one query less per API call. A
/// revoked token stops working on every replica within [`TokenCache::TTL`].
#[derive(Default)]
pub struct TokenCache {
    entries: std::sync::Mutex<
        std::collections::HashMap<String, (tollgate_store::Token, std::time::Instant)>,
    >,
}

impl TokenCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(10);
    const MAX_ENTRIES: usize = 10_000;

    pub fn get(&self, secret: &str) -> Option<tollgate_store::Token> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(secret)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(t, _)| t.clone())
    }

    pub fn put(&self, secret: &str, token: &tollgate_store::Token) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            secret.to_string(),
            (token.clone(), std::time::Instant::now()),
        );
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The hub's URL as users reach it (portal links, paging links), without a trailing slash.
    pub public_url: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// `--public-metrics`: `/metrics` answers without a token.
    pub public_metrics: bool,
    /// The product type a product is created in when an import with `auto_create_context`
    /// names none (DefectDojo refuses such a call; the answer warns). None: refuse it too.
    pub default_product_type: Option<String>,
    /// Signs Results API cursors; shared by every replica through the database.
    pub cursor_key: crate::routes::results::CursorKey,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
