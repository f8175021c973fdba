//! `/dashboard`: the coverage dashboard, served from the binary (no CDN, no build step). The
//! public view reads `/dashboard/coverage.json`, the coverage report with no token: national
//! aggregates only (no district), suppressed as every report is. A nodal officer signs in with a
//! token of their state, and the page then reads `/v1/reports/coverage` and `/v1/reports/gaps`
//! with it.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use registry::caller::Caller;

use crate::problem::ApiError;
use crate::state::AppState;

const PAGE: &str = include_str!("../../assets/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /dashboard`.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// `GET /dashboard/app.js`.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(SCRIPT)
}

/// `GET /dashboard/coverage.json`: the coverage report for everyone — no token, no district, the
/// same suppression as `/v1/reports/coverage`.
pub async fn public_coverage(
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ask = crate::routes::reports::parse_coverage(req.query_string())?;
    if ask.district_code.is_some() || ask.group_by.iter().any(|g| g == "district") {
        return Err(ApiError::Validation(vec![
            domain::Invalid::new(
                "not_public",
                "district figures are for the state's nodal officers: sign in with a token",
            )
            .at("district_code"),
        ]));
    }
    let public = Caller {
        client_id: "public-dashboard".into(),
        jti: None,
        scopes: vec![],
        states: None,
        purpose: "analytics".into(),
    };
    let report = state.registry.coverage(&public, &ask).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(report))
}
