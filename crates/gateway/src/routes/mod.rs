//! HTTP routes. Handlers are thin: read the request, call one use case, write the answer.

pub mod audit;
pub mod batches;
pub mod dashboard;
pub mod eligibility;
pub mod matching;
pub mod oauth;
pub mod ops;
pub mod reports;
pub mod reviews;
pub mod schemes;
pub mod sync;
pub mod unregistered;
pub mod verify;
pub mod webhooks;
pub mod workers;

use adapter_core::SchemeId;

use crate::problem::ApiError;

/// A scheme named in a path (`{id}`).
pub(crate) fn parse_scheme(s: &str) -> Result<SchemeId, ApiError> {
    SchemeId::parse(s).map_err(|e| ApiError::Validation(vec![e.at("id")]))
}
