//! `GET /v1/workers/{uan}/access-log`: who read or changed a worker's record, when and why — the
//! data principal's right under the DPDP Act (s.11).

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::authorize::{AuditRead, Authorized};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::{parse_uan, record};
use crate::state::AppState;

/// One access to the worker's record. Other workers named by the same entry (a list) are not shown.
#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    /// Position in the audit log's hash chain.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The partner system that made the request.
    #[schema(example = "bihar-labour-portal")]
    pub client_id: String,
    #[schema(example = "scheme-enrolment")]
    pub purpose: String,
    /// `read`, `list`, `create`, `update`, `verify`, `duplicate_check`, `access_log`.
    #[schema(example = "read")]
    pub action: String,
    pub route: String,
    /// Fields served or changed.
    pub fields: Vec<String>,
    pub status: u16,
    pub request_id: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"seq": 2, "at": "2026-12-01T20:37:23.453Z", "client_id": "bihar-labour-portal",
    "purpose": "scheme-enrolment", "action": "read", "route": "/v1/workers/{uan}",
    "fields": ["uan", "name", "date_of_birth", "mobile", "bank_account"], "status": 200,
    "request_id": "01a23353-8d7b-75a1-9af7-0db0d6fd5ff9"}], "next_before_seq": null}))]
pub struct AccessLog {
    pub items: Vec<AccessEntry>,
    /// Pass as `before_seq` for older entries; absent at the oldest.
    pub next_before_seq: Option<i64>,
}

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
    if state
        .store
        .worker(&uan, auth.caller.states.as_deref())
        .await?
        .is_none()
    {
        record(
            &state,
            &auth.caller,
            "access_log",
            ROUTE,
            vec![uan.to_string()],
            vec![],
            404,
        )
        .await?;
        return Err(ApiError::NotFound);
    }
    let rows = state
        .store
        .audit_for_uan(uan.as_str(), before, limit)
        .await?;
    let next_before_seq = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let items: Vec<AccessEntry> = rows
        .into_iter()
        .map(|r| AccessEntry {
            seq: r.seq,
            at: r.entry.at,
            client_id: r.entry.client_id,
            purpose: r.entry.purpose,
            action: r.entry.action,
            route: r.entry.route,
            fields: r.entry.fields,
            status: r.entry.status,
            request_id: r.entry.request_id,
        })
        .collect();
    record(
        &state,
        &auth.caller,
        "access_log",
        ROUTE,
        vec![uan.to_string()],
        vec![],
        200,
    )
    .await?;
    Ok(HttpResponse::Ok().json(AccessLog {
        items,
        next_before_seq,
    }))
}

const ROUTE: &str = "/v1/workers/{uan}/access-log";

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
