//! `POST /v1/match`: incremental record matching against the live registry (the use case is
//! `registry::matcher`).

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, post};
use registry::matcher::{MatchRequest, MatchResponse};

use crate::authorize::{Authorized, WorkersMatch};
use crate::body::{parse_form, read_limited, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::state::AppState;

/// Match records against the registry.
///
/// Send up to 1,000 people as your database holds them (names in any script, partial dates,
/// old mobiles); each answer lists the registry workers who are probably the same person, best
/// first, with a probability, a decision (`link` or `review`) and the weight of every field
/// compared, so a reviewer can see why. Candidates are found through the registry's blocking keys
/// (Aadhaar token, mobile, name and birth year, place), never by a scan; no worker record is
/// returned, and the match is written to each candidate's access log.
#[utoipa::path(
    tag = "Partners",
    request_body(content = MatchRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 200, description = "Each record's candidates with score, decision and explanation.", body = MatchResponse),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `workers:match`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many records, or malformed fields (each named, e.g. `records[3].dob`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:match"]))
)]
#[post("/match")]
pub async fn match_records(
    auth: Authorized<WorkersMatch>,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &["application/json"])?;
    let registry = &state.registry;
    // Six text fields of 200 characters, in an Indic script written as \uXXXX escapes, come to
    // about 7 KB a record.
    let limit = 64 * 1024 + registry.matcher.max_records * 8 * 1024;
    let body = read_limited(&req, payload, limit).await?;
    let (_, checked) = parse_form::<MatchRequest>(&body)?.validate(|r| registry.check_match(r))?;
    let answer = registry.match_records(&auth.caller, checked).await?;
    Ok(HttpResponse::Ok().json(answer))
}
