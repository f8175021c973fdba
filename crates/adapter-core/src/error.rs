//! What can go wrong talking to a scheme, typed so callers can tell "try later" from "fix this".

use std::time::Duration;

/// A reason a scheme gave for refusing an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    /// The rule or field the scheme named, when it named one.
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{upstream}: circuit open after repeated failures; next try in {retry_in:?}")]
    CircuitOpen {
        upstream: String,
        retry_in: Duration,
    },
    #[error("{upstream}: timed out")]
    Timeout { upstream: String },
    #[error("{upstream}: connection failed: {detail}")]
    Connect { upstream: String, detail: String },
    #[error("{upstream}: answered {status}: {detail}")]
    Status {
        upstream: String,
        status: u16,
        detail: String,
    },
    #[error("{upstream}: rate limited; retry after {retry_after:?}")]
    RateLimited {
        upstream: String,
        retry_after: Option<Duration>,
    },
    #[error("{upstream}: authentication refused: {detail}")]
    Auth { upstream: String, detail: String },
    #[error("{upstream}: refused the action")]
    Refused {
        upstream: String,
        reasons: Vec<Refusal>,
    },
    #[error("{upstream}: answer not in the expected format: {detail}")]
    Malformed { upstream: String, detail: String },
    #[error("{upstream}: does not support this action")]
    NotSupported { upstream: String },
}

impl AdapterError {
    /// Worth another try of an idempotent call: transport faults, 5xx and 429.
    pub fn retryable(&self) -> bool {
        match self {
            AdapterError::Timeout { .. }
            | AdapterError::Connect { .. }
            | AdapterError::RateLimited { .. } => true,
            AdapterError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Counts against the circuit breaker: the upstream looks down, not merely busy or picky.
    pub fn is_outage(&self) -> bool {
        match self {
            AdapterError::Timeout { .. } | AdapterError::Connect { .. } => true,
            AdapterError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            AdapterError::CircuitOpen { .. } => "circuit_open",
            AdapterError::Timeout { .. } => "timeout",
            AdapterError::Connect { .. } => "connect_error",
            AdapterError::Status { status, .. } if *status >= 500 => "server_error",
            AdapterError::Status { .. } => "client_error",
            AdapterError::RateLimited { .. } => "rate_limited",
            AdapterError::Auth { .. } => "auth_refused",
            AdapterError::Refused { .. } => "refused",
            AdapterError::Malformed { .. } => "malformed",
            AdapterError::NotSupported { .. } => "not_supported",
        }
    }

    pub fn malformed(upstream: &str, detail: impl std::fmt::Display) -> AdapterError {
        AdapterError::Malformed {
            upstream: upstream.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// A refusal from a JSON body listing reasons under `key` (`[{code, message}]`); a body that does
/// not have them still gives one reason, so a refusal never comes back empty.
pub fn refused_from(upstream: &str, body: &[u8], key: &str) -> AdapterError {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_owned();
    let mut reasons: Vec<Refusal> = value[key]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| Refusal {
                    code: text(r, "code"),
                    field: text(r, "field"),
                    message: text(r, "message"),
                })
                .collect()
        })
        .unwrap_or_default();
    if reasons.is_empty() {
        reasons.push(Refusal {
            code: value["code"].as_str().unwrap_or("refused").to_lowercase(),
            field: String::new(),
            message: format!("{upstream} refused the action"),
        });
    }
    AdapterError::Refused {
        upstream: upstream.to_owned(),
        reasons,
    }
}

/// A 409 naming the reference the person is already enrolled under (under `key` in the body).
pub fn already_enrolled(upstream: &str, body: &[u8], key: &str, what: &str) -> AdapterError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    AdapterError::Refused {
        upstream: upstream.to_owned(),
        reasons: vec![Refusal {
            code: "already_enrolled".into(),
            field: String::new(),
            message: format!("{what} {}", v[key].as_str().unwrap_or("unknown")),
        }],
    }
}
