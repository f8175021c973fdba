//! The scheme routes: the catalogue of scheme systems and their health, a worker's one-stop view
//! of the six schemes, enrolment through a scheme's adapter, and NCS vacancies for a worker. The
//! use cases are the registry's (`schemes`, `one_stop`, `enrol`, `jobs`).

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post};
use registry::enrol::{EnrolmentRequest, EnrolmentResponse, check_enrolment};
use registry::jobs::Jobs;
use registry::one_stop::WorkerSchemes;
use registry::schemes::SchemeList;
use registry::workers::Idempotent;
use serde_json::{Value, json};

use crate::authorize::{Authorized, SchemesEnrol, SchemesRead};
use crate::body::{parse_form, read_limited, request_hash, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::{idempotency_key, parse_uan};
use crate::state::AppState;

/// List the scheme systems, with each one's health and circuit state.
///
/// One entry per scheme behind the gateway (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY):
/// who runs it, what it offers, whether the gateway can enrol workers in it, and how its system
/// is doing — `health` from the background checks and recent calls (`up`, `degraded`, `down`,
/// `unknown`), the circuit breaker's state, and the last success and failure.
#[utoipa::path(
    tag = "Schemes",
    responses(
        CommonErrors,
        (status = 200, description = "The six schemes.", body = SchemeList),
        (status = 403, description = "The token lacks `schemes:read`.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/schemes")]
pub async fn list_schemes(
    _auth: Authorized<SchemesRead>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list: SchemeList = state.registry.scheme_list().await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A worker's one-stop view of the six schemes.
///
/// For each scheme: enrolled or not, with the scheme's own references and status (from records
/// linked to the worker: enrolments made through this gateway now, matched scheme records once the
/// sync engine links them), and whether the registry record meets the scheme's rules today. Also the
/// myScheme catalogue schemes the worker may qualify for.
#[utoipa::path(
    tag = "Schemes",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$")),
    responses(
        CommonErrors,
        (status = 200, description = "The worker's schemes.", body = WorkerSchemes),
        (status = 403, description = "The token lacks `schemes:read`, or its purpose may not see the worker fields this view is built from (`purpose_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/workers/{uan}/schemes")]
pub async fn worker_schemes(
    auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    let view: WorkerSchemes = state.registry.worker_schemes(&auth.caller, &uan).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Enrol a worker in a scheme through its adapter.
///
/// Checks the scheme's rules against the registry record first (a worker the rules exclude gets a
/// 422 naming each rule broken, e.g. `age`), then forwards the enrolment and records the outcome.
/// An `Idempotency-Key` is required: the same key and body answer the first answer again (even
/// after the gateway restarts mid-call: the scheme receives a key derived from yours and never
/// enrols twice); the same key with another body is a 422. The worker's personal data sent to the
/// scheme is entered in the audit log.
#[utoipa::path(
    tag = "Schemes",
    params(
        ("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$"),
        ("Idempotency-Key" = String, Header, description = "1-255 printable ASCII characters, unique per enrolment; scoped to your client id.", pattern = r"^[!-~]{1,255}$"),
    ),
    request_body(content = EnrolmentRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 201, description = "Enrolled: the scheme's reference and money terms.", body = EnrolmentResponse),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `schemes:enrol`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this key is still running.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed field, a missing Idempotency-Key or one reused with another body, a scheme that does not take enrolments here, or the worker breaks the scheme's rules (each rule named in `errors`; `already_enrolled` when the scheme holds them already).", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The scheme answered something unusable or refused the gateway's credentials.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:enrol"]))
)]
#[post("/workers/{uan}/enrolments")]
pub async fn enrol(
    auth: Authorized<SchemesEnrol>,
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
            "enrolments change another ministry's system: send an Idempotency-Key so a retry never enrols twice",
        )
    })?;
    let body = read_limited(&req, payload, state.limits.enrolment_body_bytes).await?;
    let uan = parse_uan(&path)?;
    let (request, scheme) = parse_form::<EnrolmentRequest>(&body)?.validate(check_enrolment)?;
    let registry = &state.registry;
    let key = Idempotent {
        key,
        request_hash: request_hash(&body, &registry.token_key),
    };
    let answer = registry
        .enrol(&auth.caller, &uan, scheme, request, key)
        .await?;
    answered(answer)
}

/// An enrolment's answer; a replay says so, and a problem answered again names this request (the
/// one whose logs to look in).
fn answered(answer: registry::enrol::Answer) -> Result<HttpResponse, ApiError> {
    let mut body = answer.body;
    if answer.replayed
        && let Some(id) = body.get_mut("request_id")
    {
        *id = json!(registry::request::id());
    }
    let mut res = respond(answer.status, body)?;
    if answer.replayed {
        res.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

/// The answer as the use case stored it: a problem document for a refusal.
fn respond(status: u16, body: Value) -> Result<HttpResponse, ApiError> {
    let code = StatusCode::from_u16(status).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut res = HttpResponse::build(code);
    if code.is_client_error() {
        res.content_type(crate::problem::PROBLEM_JSON);
    }
    Ok(res.json(body))
}

/// NCS vacancies for the worker's district and occupation.
///
/// Asks the National Career Service for open vacancies in the worker's district with the
/// worker's NCO-2015 occupation code. Only the district and occupation leave for NCS, and that is
/// written to the worker's access log first. A 502 or 503 means NCS could not answer; nothing is
/// cached.
#[utoipa::path(
    tag = "Schemes",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$")),
    responses(
        CommonErrors,
        (status = 200, description = "Vacancies from NCS.", body = Jobs),
        (status = 403, description = "The token lacks `schemes:read`, or its purpose may not see the worker fields this view is built from (`purpose_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "NCS answered something unusable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/workers/{uan}/jobs")]
pub async fn worker_jobs(
    auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    let jobs: Jobs = state.registry.jobs(&auth.caller, &uan).await?;
    Ok(HttpResponse::Ok().json(jobs))
}
