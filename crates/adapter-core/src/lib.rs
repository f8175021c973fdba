//! What every scheme adapter shares: the [`SchemeAdapter`] trait, the canonical [`SchemeRecord`]
//! it maps its scheme's wire format to, the typed [`AdapterError`], and [`Upstream`], the one
//! resilient HTTP client (timeouts, jittered retries of idempotent calls on 429/5xx/connection
//! errors, `Retry-After`, a circuit breaker, a rate limit and the three auth modes).
//!
//! Adapters never touch the database; they map wire formats and nothing else.

pub mod auth;
pub mod breaker;
pub mod client;
pub mod error;
pub mod record;

pub use auth::AuthConfig;
pub use breaker::CircuitState;
pub use client::{Call, Health, Reply, Upstream, UpstreamConfig};
pub use domain::schemes::SchemeId;
pub use error::AdapterError;
pub use record::{Cursor, Enrolment, Page, Person, PushReceipt, SchemeAction, SchemeRecord};

use async_trait::async_trait;

/// One scheme system, reached over HTTP.
#[async_trait]
pub trait SchemeAdapter: Send + Sync {
    fn id(&self) -> SchemeId;

    /// The HTTP client of this scheme (its health and circuit state).
    fn upstream(&self) -> &Upstream;

    /// The next page after `cursor` (`None`: from the start). The page's cursor resumes after the
    /// records it returned, never further.
    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError>;

    /// Sends an action (enrol, register) to the scheme.
    async fn push(&self, action: &SchemeAction) -> Result<PushReceipt, AdapterError> {
        let _ = action;
        Err(AdapterError::NotSupported {
            upstream: self.id().to_string(),
        })
    }
}

/// Pulls every page from the start, dropping records seen already (same reference and version):
/// for tests, benchmarks and `shramsetu pull`. The last cursor is returned for resuming.
pub async fn pull_all(
    adapter: &dyn SchemeAdapter,
    limit: usize,
) -> Result<(Vec<SchemeRecord>, Option<Cursor>), AdapterError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = adapter.pull(cursor.as_ref(), limit).await?;
        for r in page.records {
            if seen.insert((r.reference.clone(), r.updated_at)) {
                out.push(r);
            }
        }
        if page.more && cursor.as_ref() == Some(&page.cursor) {
            return Err(AdapterError::malformed(
                adapter.id().as_str(),
                "the feed says more records follow but its cursor did not move",
            ));
        }
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((out, cursor));
        }
    }
}
