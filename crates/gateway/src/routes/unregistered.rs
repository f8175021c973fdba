//! `/v1/schemes/{id}/unregistered`: a scheme's people the registry has no worker for, the worklist
//! of a registration drive (the use cases are `registry::unregistered`).

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, get};
use adapter_core::SchemeId;
use domain::{DistrictCode, Errors, StateCode};
use registry::unregistered::{UnregisteredPage, UnregisteredSummary};
use store::sync::UnregisteredFilter;

use crate::authorize::{Authorized, SchemesRead, WorkersRead};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::query;
use crate::routes::parse_scheme;
use crate::state::AppState;

const CURSOR: &str = "ur1:";

/// A scheme's people not found in e-Shram.
///
/// The records the sync engine matched to no registry worker, by reference: who to reach in a
/// registration drive. Filter by `state_code` and `district_code`; a token limited to some states
/// sees only theirs. Each person is cut to the fields the token's purpose may see (named as a
/// worker's fields), and the list is written to the audit log.
#[utoipa::path(
    tag = "Schemes",
    params(
        ("id" = String, Path, description = "The scheme.", example = "pmjay", pattern = r"^(ncs|sidh|myscheme|pmsym|pmjay|pmjjby)$"),
        ("state_code" = Option<String>, Query, description = "2-digit LGD state code.", example = "10", pattern = r"^(0[1-9]|1[0-9]|2[0-4]|2[7-9]|3[0-8])$"),
        ("district_code" = Option<String>, Query, description = "LGD district code (needs `state_code`)."),
        ("limit" = Option<i64>, Query, description = "1-1000 (larger values are capped), default 100.", minimum = 1),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "A page of people.", body = UnregisteredPage),
        (status = 403, description = "The token lacks `workers:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`state_code` is outside your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a scheme, or a parameter is malformed or unknown (each is named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:read"]))
)]
#[get("/schemes/{id}/unregistered")]
pub async fn unregistered(
    auth: Authorized<WorkersRead>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let scheme = parse_scheme(&path)?;
    let filter = parse_filter(scheme, req.query_string())?;
    let (items, next) = state.registry.unregistered(&auth.caller, filter).await?;
    Ok(HttpResponse::Ok().json(UnregisteredPage {
        items,
        next_cursor: next.map(|r| query::encode_cursor(CURSOR, &r)),
    }))
}

/// How many of a scheme's people are not in e-Shram, by state and district.
///
/// Counts only, no personal data: where a registration drive has most to do. A token limited to
/// some states counts only theirs.
#[utoipa::path(
    tag = "Schemes",
    params(("id" = String, Path, description = "The scheme.", example = "pmjay", pattern = r"^(ncs|sidh|myscheme|pmsym|pmjay|pmjjby)$")),
    responses(
        CommonErrors,
        (status = 200, description = "The counts.", body = UnregisteredSummary),
        (status = 403, description = "The token lacks `schemes:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a scheme.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/schemes/{id}/unregistered/summary")]
pub async fn unregistered_summary(
    auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let scheme = parse_scheme(&path)?;
    let summary = state
        .registry
        .unregistered_summary(&auth.caller, scheme.as_str())
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

fn parse_filter(scheme: SchemeId, q: &str) -> Result<UnregisteredFilter, ApiError> {
    let mut e = Errors::default();
    let known = ["state_code", "district_code", "limit", "cursor"];
    let pairs = query::pairs(q, &known, &mut e)?;
    let mut f = UnregisteredFilter {
        scheme: scheme.as_str().to_owned(),
        limit: 100,
        ..Default::default()
    };
    for (k, v) in &pairs {
        match k.as_str() {
            "state_code" => {
                f.state_code = e.check(k, StateCode::parse(v)).map(|s| s.code().to_owned())
            }
            "district_code" => {
                f.district_code = e
                    .check(k, DistrictCode::parse(v))
                    .map(|d| d.as_str().to_owned())
            }
            "limit" => f.limit = e.check(k, query::limit(v, 1000)).unwrap_or(f.limit),
            _ => {
                f.after = e
                    .check(k, query::decode_cursor(CURSOR, v))
                    .unwrap_or_default()
            }
        }
    }
    if f.district_code.is_some() && !pairs.iter().any(|(k, _)| k == "state_code") {
        e.push(
            domain::Invalid::new(
                "required",
                "district codes are unique only within a state: give state_code too",
            )
            .at("state_code"),
        );
    }
    if e.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Validation(e.into_vec()))
    }
}
