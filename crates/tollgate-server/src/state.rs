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
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The hub's URL as users reach it (portal links, paging links), without a trailing slash.
    pub public_url: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
