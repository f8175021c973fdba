//! What every handler shares: the store, the token keys, the Aadhaar keys, limits and metrics.

use chrono::{FixedOffset, NaiveDate};
use domain::TokenKey;
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
    /// Seals new Aadhaar numbers; follows `shramsetu vault rotate` while serving.
    pub vault_key: crate::keys::ActiveVault,
    pub limits: Limits,
    pub limiter: ClientLimiter,
    /// External identity providers whose tokens are accepted.
    pub external: crate::external::ExternalIssuers,
    pub audit: AuditLog,
    /// Field rules by purpose name.
    pub policies: BTreeMap<String, FieldPolicy>,
    pub metrics: PrometheusHandle,
    /// The record-matching model and thresholds of `POST /v1/match`.
    pub matcher: Matcher,
    /// The six scheme adapters.
    pub schemes: crate::schemes::Adapters,
    pub enrolment_key_stale_secs: i64,
    /// What "today" is for dated rules (the system clock when serving).
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

/// What `POST /v1/match` scores with.
pub struct Matcher {
    pub model: matching::Model,
    pub link: f64,
    pub review: f64,
    pub max_records: usize,
    pub candidates_per_record: i64,
}

/// The model shipped in the binary (trained on the synthetic 1,000,000 x 100,000 set).
const BUILT_IN_MODEL: &str = include_str!("../data/match-model.json");

impl Matcher {
    pub fn from_settings(m: &crate::config::Matching) -> anyhow::Result<Matcher> {
        let text = if m.model_file.as_os_str().is_empty() {
            BUILT_IN_MODEL.to_owned()
        } else {
            std::fs::read_to_string(&m.model_file).map_err(|e| {
                anyhow::anyhow!("matching.model_file {}: {e}", m.model_file.display())
            })?
        };
        let model = matching::Model::from_json(&text)
            .map_err(|e| anyhow::anyhow!("matching.model_file: {e}"))?;
        Ok(Matcher {
            model,
            link: m.link_threshold,
            review: m.review_threshold,
            max_records: m.max_records,
            candidates_per_record: m.candidates_per_record,
        })
    }
}

/// Indian Standard Time, UTC+05:30: ages are counted on the date in India.
const IST_SECONDS: i32 = 5 * 3600 + 1800;

impl AppState {
    /// Today's date in India, for age rules.
    pub fn today(&self) -> NaiveDate {
        let ist =
            FixedOffset::east_opt(IST_SECONDS).unwrap_or_else(|| unreachable!("valid offset"));
        self.clock.now().with_timezone(&ist).date_naive()
    }

    /// The record as the caller's purpose may see it.
    pub fn minimise(&self, purpose: &str, record: serde_json::Value) -> serde_json::Value {
        match self.policies.get(purpose) {
            Some(p) => p.apply(record),
            // Unknown purposes are refused before any handler runs; show nothing if one slips by.
            None => serde_json::Value::Object(Default::default()),
        }
    }

    /// Refuses a view derived from `fields` of a worker (scheme eligibility, job matches) to a
    /// purpose that may not see all of them whole: minimisation cannot cut a derived answer down.
    pub fn require_fields(
        &self,
        purpose: &str,
        fields: &[&'static str],
    ) -> Result<(), crate::problem::ApiError> {
        let missing: Vec<&'static str> = match self.policies.get(purpose) {
            Some(p) => fields
                .iter()
                .copied()
                .filter(|f| !p.sees_whole(f))
                .collect(),
            None => fields.to_vec(),
        };
        if missing.is_empty() {
            Ok(())
        } else {
            Err(crate::problem::ApiError::PurposeNotAllowed {
                purpose: purpose.to_owned(),
                missing,
            })
        }
    }

    /// A fresh 96-bit nonce for AES-GCM, from the system CSPRNG.
    pub fn nonce(&self) -> [u8; 12] {
        crate::keys::nonce()
    }
}
