//! What a use case can refuse or fail with, typed: the gateway maps each to an answer in its
//! `problem` module, a batch to a row's outcome, the sync engine to a retry or a skip. No status
//! codes in the errors themselves.

use adapter_core::{AdapterError, SchemeId};
use domain::{FieldError, Uan};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke one or more rules, each named.
    #[error("validation failed: {}", fields(.0))]
    Invalid(Vec<FieldError>),
    /// The worker does not meet a scheme's rules; each broken rule is named.
    #[error("scheme rules not met: {}", fields(.0))]
    RulesNotMet(Vec<FieldError>),
    /// Absent, or outside the caller's states: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    /// This Aadhaar number is registered already; the UAN only when the caller may see it.
    #[error("aadhaar already registered")]
    AadhaarRegistered { existing_uan: Option<Uan> },
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused with another request")]
    KeyReused,
    /// The review item was decided before (its status now given).
    #[error("review already decided: {status}")]
    AlreadyDecided { status: String },
    /// The idempotency key's first request is still being processed.
    #[error("idempotency key in flight")]
    KeyInFlight,
    /// The caller's purpose may not see fields a derived view is built from.
    #[error("purpose {purpose} may not see {missing:?}")]
    PurposeNotAllowed {
        purpose: String,
        missing: Vec<&'static str>,
    },
    /// The database or the audit log is unavailable: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The scheme has no URL here: it will not come back by itself.
    #[error("scheme {0} not configured")]
    SchemeNotConfigured(SchemeId),
    /// A scheme system failed (unreachable, failing, circuit open, or an answer that cannot be used).
    #[error("scheme {scheme}: {error}")]
    Scheme {
        scheme: SchemeId,
        error: AdapterError,
    },
    /// A bug or an unexpected failure; the detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `field: message; …` (the messages name rules, never the values that broke them).
fn fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        }])
    }
}

impl From<store::StoreError> for Error {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Unavailable(d) => Error::Unavailable(d),
            e @ store::StoreError::Database(_) if is_connection_error(&e) => {
                Error::Unavailable(e.to_string())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

fn is_connection_error(e: &store::StoreError) -> bool {
    match e {
        store::StoreError::Database(db) => {
            db.is_closed() || db.as_db_error().is_none() || e.is_overload()
        }
        _ => false,
    }
}
