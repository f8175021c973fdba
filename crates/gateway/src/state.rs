//! What every handler shares: the store, the token keys, the Aadhaar keys, limits and metrics.

use chrono::{FixedOffset, NaiveDate, Utc};
use domain::{TokenKey, VaultKey};
use metrics_exporter_prometheus::PrometheusHandle;

use std::collections::BTreeMap;

use crate::audit::AuditLog;
use crate::auth::Tokens;
use crate::config::Limits;
use crate::limits::ClientLimiter;
use crate::purpose::FieldPolicy;

pub struct AppState {
    pub store: store::Store,
    pub tokens: Tokens,
    pub token_key: TokenKey,
    pub vault_key: VaultKey,
    pub limits: Limits,
    pub limiter: ClientLimiter,
    /// External identity providers whose tokens are accepted.
    pub external: crate::external::ExternalIssuers,
    pub audit: AuditLog,
    /// Field rules by purpose name.
    pub policies: BTreeMap<String, FieldPolicy>,
    pub metrics: PrometheusHandle,
}

/// Indian Standard Time, UTC+05:30: ages are counted on the date in India.
const IST_SECONDS: i32 = 5 * 3600 + 1800;

impl AppState {
    /// Today's date in India, for age rules.
    pub fn today(&self) -> NaiveDate {
        let ist =
            FixedOffset::east_opt(IST_SECONDS).unwrap_or_else(|| unreachable!("valid offset"));
        Utc::now().with_timezone(&ist).date_naive()
    }

    /// The record as the caller's purpose may see it.
    pub fn minimise(&self, purpose: &str, record: serde_json::Value) -> serde_json::Value {
        match self.policies.get(purpose) {
            Some(p) => p.apply(record),
            // Unknown purposes are refused before any handler runs; show nothing if one slips by.
            None => serde_json::Value::Object(Default::default()),
        }
    }

    /// A fresh 96-bit nonce for AES-GCM, from the system CSPRNG.
    pub fn nonce(&self) -> [u8; 12] {
        crate::keys::nonce()
    }
}
