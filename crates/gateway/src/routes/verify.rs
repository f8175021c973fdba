//! `POST /v1/workers/verify`: a partner confirms that the person in front of it is the worker with
//! this UAN, and learns match / no match and a score, never the record.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, post};
use registry::verify::{VerifyRequest, VerifyResponse, claims};

use crate::authorize::{Authorized, WorkersVerify};
use crate::body::{parse_form, read_limited, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::state::AppState;

/// Verify a worker's identity without receiving the record.
///
/// For a counter or a field officer with a person in front of them: send the UAN with the name
/// and date of birth, or the mobile, or all three, and learn whether they agree with the registry.
/// Names are compared after normalisation (scripts, honorifics, spelling variants); dates and
/// mobiles exactly. On no match the score is 0, whatever agreed, so the call cannot be used to
/// guess a field one value at a time. Each call is written to the worker's access log.
#[utoipa::path(
    tag = "Partners",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 200, description = "Match or no match, with a score.", body = VerifyResponse),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `workers:verify`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed field, or neither name and date of birth nor mobile.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:verify"]))
)]
#[post("/workers/verify")]
pub async fn verify(
    auth: Authorized<WorkersVerify>,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &["application/json"])?;
    let body = read_limited(&req, payload, state.limits.verify_body_bytes).await?;
    let (_, claims) = parse_form::<VerifyRequest>(&body)?.validate(claims)?;
    let answer = state.registry.verify(&auth.caller, claims).await?;
    Ok(HttpResponse::Ok().json(answer))
}
