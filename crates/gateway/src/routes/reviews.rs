//! `/v1/reviews`: the pairs the sync engine found doubtful, and a person's decision on each (the
//! use cases are `registry::reviews`).

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post};
use domain::{Errors, StateCode};
use registry::reviews::{
    DecisionAnswer, DecisionRequest, ReviewDetail, ReviewPage, check_decision,
};
use registry::workers::Idempotent;

use crate::authorize::{Authorized, ReviewsRead, ReviewsWrite};
use crate::body::{parse_form, read_limited, request_hash, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::query;
use crate::routes::workers::idempotency_key;
use crate::state::AppState;

const CURSOR: &str = "rv1:";

/// The review queue.
///
/// Open pairs, oldest first: a scheme's record and the registry worker it may be (the match
/// probability was between the review and link thresholds, or two workers scored as links).
/// Filter by `scheme` and `state_code`; a token limited to some states sees only theirs. The
/// workers listed are written to their access logs.
#[utoipa::path(
    tag = "Reviews",
    params(
        ("scheme" = Option<String>, Query, description = "`ncs`, `sidh`, `pmsym`, `pmjay` or `pmjjby`.", pattern = r"^(ncs|sidh|myscheme|pmsym|pmjay|pmjjby)$"),
        ("state_code" = Option<String>, Query, description = "2-digit LGD state code.", example = "10", pattern = r"^(0[1-9]|1[0-9]|2[0-4]|2[7-9]|3[0-8])$"),
        ("limit" = Option<i64>, Query, description = "1-500 (larger values are capped), default 100.", minimum = 1),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "A page of open pairs.", body = ReviewPage),
        (status = 403, description = "The token lacks `reviews:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`state_code` is outside your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is malformed or unknown (each is named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["reviews:read"]))
)]
#[get("/reviews")]
pub async fn list_reviews(
    auth: Authorized<ReviewsRead>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (scheme, state_code, after, limit) = parse_list(req.query_string())?;
    let (items, next) = state
        .registry
        .reviews(&auth.caller, scheme, state_code, after, limit)
        .await?;
    Ok(HttpResponse::Ok().json(ReviewPage {
        items,
        next_cursor: next.map(|id| query::encode_cursor(CURSOR, &id.to_string())),
    }))
}

/// One pair, side by side.
///
/// The registry's worker and the scheme's record of the person, each cut to the fields the
/// token's purpose may see (the scheme's person named as a worker's fields), and the explanation:
/// each comparison's level and weight, for the fields the purpose sees whole. Another state's
/// pair answers 404, exactly like one that does not exist. Written to the worker's access log.
#[utoipa::path(
    tag = "Reviews",
    params(("id" = i64, Path, description = "The pair's id.", example = 41, minimum = 1)),
    responses(
        CommonErrors,
        (status = 200, description = "The pair.", body = ReviewDetail),
        (status = 403, description = "The token lacks `reviews:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pair in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a pair id.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["reviews:read"]))
)]
#[get("/reviews/{id}")]
pub async fn get_review(
    auth: Authorized<ReviewsRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let detail = state.registry.review(&auth.caller, id).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Decide a pair.
///
/// `link`: the scheme's record is this worker's (the link's source is `review`; the record's
/// other candidates are superseded). `not_a_match`: they are different people (when no candidate
/// of the record is left, it returns to the scheme's unregistered people). A decision is final: a
/// later sync run neither overturns it nor queues the pair again; deciding a decided pair is a 409.
/// An `Idempotency-Key` is required: the same key and body answer the first answer again.
#[utoipa::path(
    tag = "Reviews",
    params(
        ("id" = i64, Path, description = "The pair's id.", example = 41, minimum = 1),
        ("Idempotency-Key" = String, Header, description = "1-255 printable ASCII characters, unique per decision; scoped to your client id.", pattern = r"^[!-~]{1,255}$"),
    ),
    request_body(content = DecisionRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 200, description = "Decided.", body = DecisionAnswer),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reviews:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pair in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The pair was decided already (`review_already_decided`), or the key's first request is still running.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed field, a missing Idempotency-Key, or one reused with another body.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["reviews:write"]))
)]
#[post("/reviews/{id}/decision")]
pub async fn decide_review(
    auth: Authorized<ReviewsWrite>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &["application/json"])?;
    let key = idempotency_key(&req)?.ok_or_else(|| {
        ApiError::field(
            "Idempotency-Key",
            "required",
            "a decision changes a worker's links: send an Idempotency-Key so a retry is safe",
        )
    })?;
    let id = parse_id(&path)?;
    let body = read_limited(&req, payload, state.limits.enrolment_body_bytes).await?;
    let (_, checked) = parse_form::<DecisionRequest>(&body)?.validate(check_decision)?;
    let registry = &state.registry;
    let key = Idempotent {
        key,
        request_hash: request_hash(&body, &registry.token_key),
    };
    let (status, answer) = registry.decide(&auth.caller, id, checked, key).await?;
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::build(status).json(answer))
}

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::field("id", "invalid_format", "a whole number, 1 or more"))
}

type ListQuery = (Option<String>, Option<String>, i64, i64);

fn parse_list(q: &str) -> Result<ListQuery, ApiError> {
    let mut e = Errors::default();
    let pairs = query::pairs(q, &["scheme", "state_code", "limit", "cursor"], &mut e)?;
    let (mut scheme, mut state_code, mut after, mut limit) = (None, None, 0, 100);
    for (k, v) in &pairs {
        match k.as_str() {
            "scheme" => {
                scheme = e
                    .check(k, domain::schemes::SchemeId::parse(v))
                    .map(|s| s.as_str().to_owned())
            }
            "state_code" => {
                state_code = e.check(k, StateCode::parse(v)).map(|s| s.code().to_owned())
            }
            "limit" => limit = e.check(k, query::limit(v, 500)).unwrap_or(limit),
            _ => {
                after = e
                    .check(
                        k,
                        query::decode_cursor(CURSOR, v).and_then(|s| {
                            s.parse::<i64>().map_err(|_| {
                                domain::Invalid::new(
                                    "invalid_cursor",
                                    "not a cursor this API issued",
                                )
                            })
                        }),
                    )
                    .unwrap_or(0)
            }
        }
    }
    if e.is_empty() {
        Ok((scheme, state_code, after, limit))
    } else {
        Err(ApiError::Validation(e.into_vec()))
    }
}
