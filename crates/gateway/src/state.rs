//! What every handler shares: the registry's use cases, the token keys, limits and metrics.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use registry::Registry;

use crate::auth::Tokens;
use crate::config::Limits;
use crate::limits::ClientLimiter;

pub struct AppState {
    /// The use cases, and what they share (the store, the Aadhaar keys, the audit log, the field
    /// policies, the matcher, the scheme adapters, the clock).
    pub registry: Arc<Registry>,
    pub tokens: Tokens,
    /// Seals new Aadhaar numbers; follows `shramsetu vault rotate` while serving.
    pub vault_key: Arc<crate::keys::ActiveVault>,
    pub limits: Limits,
    pub limiter: ClientLimiter,
    /// External identity providers whose tokens are accepted.
    pub external: crate::external::ExternalIssuers,
    pub metrics: PrometheusHandle,
    /// This process's part of the sync engine (runs queued through the API are worked by any).
    pub sync: Arc<sync::Engine>,
    /// This process's part of the state-portal batches (any process applies any batch).
    pub batches: Arc<batches::Batches>,
    /// PM-SYM's change events are signed with it; `None`: its webhook route is closed.
    pub pmsym_webhook_secret: Option<String>,
    pub webhook_window: std::time::Duration,
}

impl AppState {
    /// The database.
    pub fn store(&self) -> &store::Store {
        &self.registry.store
    }
}
