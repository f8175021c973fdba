//! Operations routes: liveness, readiness, Prometheus metrics, the JWKS.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
///
/// Answers without touching the database, so a load balancer or an orchestrator can tell a hung
/// process from a database outage (for that, `/readyz`). Needs no token.
#[utoipa::path(
    tag = "Operations",
    responses((status = 200, description = "The process is up.", body = Health)),
    security(())
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers and every migration is applied.
///
/// Route traffic to this process only while it answers 200. A 503 names no internals; the log
/// line of the same `request_id` says what failed. Needs no token.
#[utoipa::path(
    tag = "Operations",
    responses(
        (status = 200, description = "Ready to serve: the database answers and is migrated.", body = Health),
        (status = 503, description = "Database unreachable or not migrated.", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store().is_ready().await {
        Ok(true) => Ok(HttpResponse::Ok().json(Health { status: "ok" })),
        Ok(false) => Err(ApiError::Unavailable("migrations not applied".into())),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// Prometheus metrics: requests by route and status, latency histograms, database pool figures.
///
/// In the Prometheus text format (0.0.4), for a scraper: `http_requests_total` and
/// `http_request_duration_seconds` by route template (never by UAN), `scheme_requests_total` by
/// scheme and outcome, `db_pool_*` gauges, and the audit writer's figures. Needs no token: bind it
/// to an internal interface or filter it at the proxy.
#[utoipa::path(
    tag = "Operations",
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String,
        example = "# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",route=\"/v1/workers/{uan}\",status=\"200\"} 1024\n# TYPE db_pool_max_connections gauge\ndb_pool_max_connections 16\n")),
    security(())
)]
#[get("/metrics")]
pub async fn metrics_text(state: Data<AppState>) -> HttpResponse {
    let pool = state.store().pool_status();
    ::metrics::gauge!("db_pool_connections", "state" => "open").set(pool.size as f64);
    ::metrics::gauge!("db_pool_connections", "state" => "idle").set(pool.available as f64);
    ::metrics::gauge!("db_pool_max_connections").set(pool.max_size as f64);
    ::metrics::gauge!("db_pool_waiting_requests").set(pool.waiting as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// The public keys that verify this gateway's tokens (RFC 7517).
///
/// Ed25519 keys (`OKP`), each named by the `kid` in a token's header. A rotated-out key is kept
/// here until every token it signed has expired, so a verifier that caches this set for its
/// `Cache-Control` lifetime (5 minutes) never refuses a valid token. Needs no token.
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
