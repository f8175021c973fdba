//! Operations routes: liveness, readiness, Prometheus metrics, the JWKS.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(tag = "Operations", responses((status = 200, body = Health)), security(()))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(
    tag = "Operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Database unreachable or not migrated.", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store.is_ready().await {
        Ok(true) => Ok(HttpResponse::Ok().json(Health { status: "ok" })),
        Ok(false) => Err(ApiError::Unavailable("migrations not applied".into())),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// Prometheus metrics: requests by route and status, latency histograms, database pool figures.
#[utoipa::path(
    tag = "Operations",
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String)),
    security(())
)]
#[get("/metrics")]
pub async fn metrics_text(state: Data<AppState>) -> HttpResponse {
    let pool = state.store.pool_status();
    ::metrics::gauge!("db_pool_connections", "state" => "open").set(pool.size as f64);
    ::metrics::gauge!("db_pool_connections", "state" => "idle").set(pool.available as f64);
    ::metrics::gauge!("db_pool_max_connections").set(pool.max_size as f64);
    ::metrics::gauge!("db_pool_waiting_requests").set(pool.waiting as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// The public keys that verify this gateway's tokens (RFC 7517). Keys are kept here until every
/// token they signed has expired.
#[utoipa::path(
    tag = "Operations",
    path = "/.well-known/jwks.json",
    responses((status = 200, description = "A JWK set.", body = Object,
        example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "Zm9v…", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}))),
    security(())
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=300",
        ))
        .json(state.tokens.jwks())
}
