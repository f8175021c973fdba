//! Every error answer: RFC 9457 `application/problem+json` with a stable `code`, a `type` URI per
//! code, the request id, and for validation an `errors` list naming each field. The only place
//! that knows HTTP status codes for errors. Internals go to the log, never into a body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or a parameter broke one or more rules (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The worker does not meet a scheme's rules; each broken rule is named (422).
    #[error("scheme rules not met")]
    RulesNotMet(Vec<FieldError>),
    /// The request could not be read at all: malformed JSON, bad query string (400).
    #[error("bad request: {detail}")]
    BadRequest { code: &'static str, detail: String },
    /// No token, or a token that does not verify (401). The reason goes to `WWW-Authenticate`.
    #[error("unauthorized")]
    Unauthorized(Option<&'static str>),
    #[error("missing scope {scope}")]
    Forbidden { scope: &'static str },
    /// The token names a purpose this gateway does not know (403).
    #[error("unknown purpose")]
    UnknownPurpose,
    /// The token's purpose may not see fields a derived view is built from (403).
    #[error("purpose {purpose} may not see {missing:?}")]
    PurposeNotAllowed {
        purpose: String,
        missing: Vec<&'static str>,
    },
    /// Absent, or outside the caller's states: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("conflict: {detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        existing_uan: Option<String>,
    },
    #[error("body too large")]
    PayloadTooLarge { limit: usize },
    /// Over the client's request rate or in-flight cap (429 with Retry-After).
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error("unsupported media type")]
    UnsupportedMediaType { expected: &'static str },
    /// A dependency (the database) is unavailable: retry later (503 with Retry-After).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A scheme system cannot be reached, is failing, or its circuit is open (503 with Retry-After).
    #[error("scheme {scheme} unavailable: {detail}")]
    SchemeUnavailable {
        scheme: &'static str,
        detail: String,
        retry_after: u64,
    },
    /// The scheme has no URL on this gateway (503, no `Retry-After`: it will not come back by itself).
    #[error("scheme {scheme} not configured")]
    SchemeNotConfigured { scheme: &'static str },
    /// A scheme system answered something the gateway cannot use, or refused the gateway's own
    /// credentials (502): an operator's problem, not the caller's.
    #[error("scheme {scheme} answered badly: {detail}")]
    BadGateway {
        scheme: &'static str,
        detail: String,
    },
    /// A bug or an unexpected failure: 500 with no detail; the detail is logged.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal(detail.into())
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        }])
    }

    /// The problem document this error answers with (the OpenAPI document's error examples are
    /// made by this too).
    pub fn problem(&self, request_id: Option<String>) -> Problem {
        Problem {
            type_uri: format!("{PROBLEM_BASE}{}", self.code()),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            code: self.code().to_owned(),
            detail: self.detail(),
            request_id,
            errors: match self {
                ApiError::Validation(errs) | ApiError::RulesNotMet(errs) => Some(
                    errs.iter()
                        .map(|e| ProblemField {
                            field: e.field.clone(),
                            code: e.code.to_owned(),
                            message: e.message.clone(),
                        })
                        .collect(),
                ),
                _ => None,
            },
            existing_uan: match self {
                ApiError::Conflict { existing_uan, .. } => existing_uan.clone(),
                _ => None,
            },
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::RulesNotMet(_) => "validation_failed",
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden { .. } => "insufficient_scope",
            ApiError::UnknownPurpose => "unknown_purpose",
            ApiError::PurposeNotAllowed { .. } => "purpose_not_allowed",
            ApiError::NotFound => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::SchemeUnavailable { .. } => "scheme_unavailable",
            ApiError::SchemeNotConfigured { .. } => "scheme_not_configured",
            ApiError::BadGateway { .. } => "scheme_bad_gateway",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "The request has invalid fields",
            ApiError::RulesNotMet(_) => "The worker does not meet the scheme's rules",
            ApiError::BadRequest { .. } => "The request could not be read",
            ApiError::Unauthorized(_) => "A valid bearer token is required",
            ApiError::Forbidden { .. } => "The token lacks the scope this route needs",
            ApiError::UnknownPurpose => "The token's purpose is not one this gateway serves",
            ApiError::PurposeNotAllowed { .. } => "The token's purpose does not cover this view",
            ApiError::NotFound => "No such resource",
            ApiError::Conflict { .. } => "The request conflicts with the registry's state",
            ApiError::PayloadTooLarge { .. } => "The request body is too large",
            ApiError::UnsupportedMediaType { .. } => "Unsupported content type",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Temporarily unavailable",
            ApiError::SchemeUnavailable { .. } => "The scheme system is unavailable",
            ApiError::SchemeNotConfigured { .. } => "The scheme is not configured on this gateway",
            ApiError::BadGateway { .. } => "The scheme system's answer could not be used",
            ApiError::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Validation(errs) => {
                Some(format!("{} field(s) failed validation", errs.len()))
            }
            ApiError::RulesNotMet(broken) => Some(format!("{} rule(s) not met", broken.len())),
            ApiError::BadRequest { detail, .. } | ApiError::Conflict { detail, .. } => {
                Some(detail.clone())
            }
            ApiError::Unauthorized(reason) => reason.map(str::to_owned),
            ApiError::Forbidden { scope } => Some(format!("this route needs the `{scope}` scope")),
            ApiError::PurposeNotAllowed { purpose, missing } => Some(format!(
                "this view is built from {}, which purpose `{purpose}` may not see whole; ask for a token with a purpose that may",
                missing
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            ApiError::PayloadTooLarge { limit } => {
                Some(format!("the limit for this route is {limit} bytes"))
            }
            ApiError::UnsupportedMediaType { expected } => {
                Some(format!("send Content-Type: {expected}"))
            }
            ApiError::TooManyRequests { retry_after } => Some(format!(
                "over this client's request limits; retry in {retry_after} s"
            )),
            ApiError::Unavailable(_) => {
                Some("the registry database or its audit log is unavailable; retry shortly".into())
            }
            ApiError::UnknownPurpose => {
                Some("ask for a token with one of the configured purposes".into())
            }
            ApiError::SchemeUnavailable {
                scheme,
                retry_after,
                ..
            } => Some(format!(
                "{scheme} cannot be reached or is failing; retry in {retry_after} s (with the same Idempotency-Key for an enrolment: it is never made twice)"
            )),
            ApiError::SchemeNotConfigured { scheme } => Some(format!(
                "this gateway has no URL for {scheme} (schemes.{scheme}.base_url); ask its operators"
            )),
            ApiError::BadGateway { scheme, .. } => Some(format!(
                "{scheme} answered in a way the gateway could not use; the operators have been alerted in the logs"
            )),
            ApiError::NotFound | ApiError::Internal(_) => None,
        }
    }
}

/// The problem document (RFC 9457), as served and as described in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://shramsetu.local/problems/validation_failed",
    "title": "The request has invalid fields", "status": 422, "code": "validation_failed",
    "detail": "1 field(s) failed validation", "request_id": "0193c1c5-6f1e-7c2a-9d4b-2f8e1a7b3c4d",
    "errors": [{"field": "aadhaar", "code": "invalid_check_digit",
                "message": "the last digit of this Aadhaar number is not its Verhoeff check digit (mistyped?)"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; stable per `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Quote it when reporting a problem: it finds the request's log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For validation problems: every field that failed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// For a duplicate Aadhaar: the UAN it is registered under, when the caller may see that worker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_uan: Option<String>,
}

/// The errors every authenticated `/v1` route can answer, described once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // A description, never constructed.
pub enum CommonErrors {
    #[response(
        status = 401,
        description = "No valid bearer token; `WWW-Authenticate` says why.",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 429,
        description = "Over this client's request rate or in-flight cap; retry after `Retry-After` seconds.",
        content_type = "application/problem+json"
    )]
    TooManyRequests(Problem),
    #[response(
        status = 503,
        description = "The database or the audit log is unavailable; retry after `Retry-After` seconds.",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// Dotted path of the field, e.g. `bank_account.ifsc`.
    pub field: String,
    pub code: String,
    pub message: String,
}

pub const PROBLEM_BASE: &str = "https://shramsetu.local/problems/";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::RulesNotMet(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. }
            | ApiError::UnknownPurpose
            | ApiError::PurposeNotAllowed { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_)
            | ApiError::SchemeUnavailable { .. }
            | ApiError::SchemeNotConfigured { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "Request failed."),
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "Dependency unavailable.")
            }
            ApiError::SchemeUnavailable { scheme, detail, .. } => {
                tracing::warn!(scheme, error = %detail, "Scheme system unavailable.")
            }
            ApiError::BadGateway { scheme, detail } => {
                tracing::error!(scheme, error = %detail, "Scheme system answered badly.")
            }
            _ => {}
        }
        let status = self.status_code();
        let problem = self.problem(registry::request::id());
        let mut res = HttpResponse::build(status);
        res.content_type(PROBLEM_JSON);
        match self {
            ApiError::Unauthorized(reason) => {
                let value = match reason {
                    None => r#"Bearer realm="shramsetu""#.to_owned(),
                    Some(r) => format!(
                        r#"Bearer realm="shramsetu", error="invalid_token", error_description="{r}""#
                    ),
                };
                if let Ok(v) = HeaderValue::from_str(&value) {
                    res.insert_header((header::WWW_AUTHENTICATE, v));
                }
            }
            ApiError::Forbidden { scope } => {
                let value = format!(
                    r#"Bearer realm="shramsetu", error="insufficient_scope", scope="{scope}""#
                );
                if let Ok(v) = HeaderValue::from_str(&value) {
                    res.insert_header((header::WWW_AUTHENTICATE, v));
                }
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::SchemeUnavailable { retry_after, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::TooManyRequests { retry_after } => {
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        res.json(problem)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        registry::Error::from(e).into()
    }
}

impl From<registry::Error> for ApiError {
    fn from(e: registry::Error) -> Self {
        from_registry(&e)
    }
}

/// How the registry's use cases learn what an error answers (`registry::Answers`): the status
/// their audit entries record, and the refusal an enrolment stores for its key's replays.
pub fn answer(e: &registry::Error) -> (u16, serde_json::Value) {
    let api = from_registry(e);
    let problem = api.problem(registry::request::id());
    (
        api.status_code().as_u16(),
        serde_json::to_value(problem).unwrap_or_default(),
    )
}

/// The answer to each of the registry's errors.
fn from_registry(e: &registry::Error) -> ApiError {
    use registry::Error as E;
    match e {
        E::Invalid(errors) => ApiError::Validation(errors.clone()),
        E::RulesNotMet(broken) => ApiError::RulesNotMet(broken.clone()),
        E::NotFound => ApiError::NotFound,
        E::AadhaarRegistered { existing_uan } => ApiError::Conflict {
            code: "aadhaar_already_registered",
            detail: "a worker with this Aadhaar number is already registered".into(),
            existing_uan: existing_uan.as_ref().map(ToString::to_string),
        },
        E::KeyReused => ApiError::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used with a different request body",
        ),
        E::AlreadyDecided { status } => ApiError::Conflict {
            code: "review_already_decided",
            detail: format!("this pair was decided already: {status}; a decision is final"),
            existing_uan: None,
        },
        E::KeyInFlight => ApiError::Conflict {
            code: "idempotency_key_in_flight",
            detail: "the first request with this key is still being processed; retry shortly"
                .into(),
            existing_uan: None,
        },
        E::PurposeNotAllowed { purpose, missing } => ApiError::PurposeNotAllowed {
            purpose: purpose.clone(),
            missing: missing.clone(),
        },
        E::Unavailable(detail) => ApiError::Unavailable(detail.clone()),
        E::SchemeNotConfigured(scheme) => ApiError::SchemeNotConfigured {
            scheme: scheme.as_str(),
        },
        E::Scheme { scheme, error } => upstream_error(*scheme, error),
        E::Internal(detail) => ApiError::Internal(detail.clone()),
    }
}

/// The answer for an adapter failure (refusals are the use case's: it knows the rules).
fn upstream_error(scheme: adapter_core::SchemeId, e: &adapter_core::AdapterError) -> ApiError {
    use adapter_core::AdapterError;
    let scheme = scheme.as_str();
    match e {
        AdapterError::CircuitOpen { retry_in, .. } => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: retry_in.as_secs().max(1),
        },
        AdapterError::RateLimited { retry_after, .. } => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: retry_after.map(|d| d.as_secs().max(1)).unwrap_or(5),
        },
        transient if transient.retryable() => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: 5,
        },
        other => ApiError::BadGateway {
            scheme,
            detail: other.to_string(),
        },
    }
}

/// Turns a JSON body error into a problem that names the field, without echoing values: serde's
/// messages quote the offending value, which could be an Aadhaar number.
pub fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    use serde_json::error::Category;
    match inner.classify() {
        Category::Data => {
            let msg = inner.to_string();
            let (field, code, message) = if let Some(name) = quoted(&msg, "unknown field `") {
                (
                    join_path(&path, &name),
                    "unknown_field",
                    "this field is not part of the request".to_owned(),
                )
            } else if let Some(name) = quoted(&msg, "missing field `") {
                (
                    join_path(&path, &name),
                    "required",
                    "this field is required".to_owned(),
                )
            } else if let Some(name) = quoted(&msg, "duplicate field `") {
                (
                    join_path(&path, &name),
                    "duplicate_field",
                    "this field appears more than once".to_owned(),
                )
            } else {
                (path, "invalid_type", domain::error::serde_expectation(&msg))
            };
            ApiError::Validation(vec![FieldError {
                field,
                code,
                message,
            }])
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest {
            code: "malformed_json",
            detail: format!(
                "the body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ),
        },
    }
}

/// serde_path_to_error's path already ends with the field for unknown fields, not for missing ones.
/// The field a serde message names after `prefix` (e.g. "unknown field `x`, expected …").
pub(crate) fn quoted(message: &str, prefix: &str) -> Option<String> {
    message
        .strip_prefix(prefix)
        .map(|rest| rest.split('`').next().unwrap_or_default().to_owned())
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == name || parent.ends_with(&format!(".{name}")) {
        parent.to_owned()
    } else if parent.is_empty() || parent == "." {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        aadhaar: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i64,
    }

    fn parse(body: &str) -> ApiError {
        let de = &mut serde_json::Deserializer::from_str(body);
        json_error(serde_path_to_error::deserialize::<_, Form>(de).unwrap_err())
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str, String)> {
        match e {
            ApiError::Validation(v) => v
                .into_iter()
                .map(|f| (f.field, f.code, f.message))
                .collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field_and_never_echo_the_value() {
        let f = fields(parse(r#"{"aadhaar": 999941057058}"#));
        assert_eq!(f[0].0, "aadhaar");
        assert_eq!(f[0].1, "invalid_type");
        assert!(!f[0].2.contains("999941057058"), "{}", f[0].2);
        assert_eq!(
            fields(parse(r#"{"aadhaar": "x", "colour": 1}"#))[0].0,
            "colour"
        );
        assert_eq!(
            fields(parse(r#"{"inner": {"n": 1, "m": 2}, "aadhaar": "x"}"#))[0].0,
            "inner.m"
        );
        assert_eq!(
            fields(parse(r#"{"inner": {"n": "999941057058"}, "aadhaar": "x"}"#))[0].0,
            "inner.n"
        );
        assert_eq!(
            fields(parse(r#"{}"#))[0],
            (
                "aadhaar".into(),
                "required",
                "this field is required".into()
            )
        );
        assert_eq!(
            fields(parse(r#"{"aadhaar": "a", "aadhaar": "b"}"#))[0].1,
            "duplicate_field"
        );
        assert!(matches!(
            parse(r#"{"aadhaar": "#),
            ApiError::BadRequest {
                code: "malformed_json",
                ..
            }
        ));
    }
}
