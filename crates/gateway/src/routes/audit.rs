//! `GET /v1/workers/{uan}/access-log`: who read or changed a worker's record, when and why — the
//! data principal's right under the DPDP Act (s.11). The use case is `registry::access_log`.

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, get};
use registry::access_log::AccessLog;

use crate::authorize::{AuditRead, Authorized};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::parse_uan;
use crate::state::AppState;

/// Who accessed a worker's record.
///
/// Newest first. Every read, list, change and verification that named this worker, by which client,
/// for which purpose, with which fields. Reading the access log is itself logged.
#[utoipa::path(
    tag = "Partners",
    params(
        ("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$"),
        ("before_seq" = Option<i64>, Query, description = "Only entries older than this position.", minimum = 1),
        ("limit" = Option<i64>, Query, description = "1-500, default 100.", minimum = 1, maximum = 500),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "The accesses, newest first.", body = AccessLog),
        (status = 403, description = "The token lacks `audit:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed UAN or parameter.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:read"]))
)]
#[get("/workers/{uan}/access-log")]
pub async fn access_log(
    auth: Authorized<AuditRead>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    let (before, limit) = parse_query(req.query_string())?;
    let log: AccessLog = state
        .registry
        .access_log(&auth.caller, &uan, before, limit)
        .await?;
    Ok(HttpResponse::Ok().json(log))
}

fn parse_query(q: &str) -> Result<(i64, i64), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q).map_err(|_| ApiError::BadRequest {
            code: "malformed_query",
            detail: "the query string could not be decoded".into(),
        })?;
    let (mut before, mut limit) = (i64::MAX, 100);
    for (k, v) in pairs {
        match k.as_str() {
            "before_seq" => {
                before = v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ApiError::field("before_seq", "invalid_format", "a whole number, 1 or more")
                })?
            }
            "limit" => {
                limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| {
                        ApiError::field("limit", "out_of_range", "a whole number from 1 to 500")
                    })?
            }
            other => {
                return Err(ApiError::field(
                    other,
                    "unknown_parameter",
                    "this route has no such parameter",
                ));
            }
        }
    }
    Ok((before, limit))
}
