//! The HTTP application: the route table (which is also the OpenAPI path list), the middleware, and
//! the server with its limits.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::config;
use crate::openapi::ApiDoc;
use crate::problem::ApiError;
use crate::routes::{
    audit, batches, dashboard, eligibility, matching, oauth, ops, reports, reviews, schemes, sync,
    unregistered, verify, webhooks, workers,
};
use crate::state::AppState;
use crate::telemetry::observe;

/// Every route. Registering a handler here is what puts it in the OpenAPI document.
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics_text)
        .service(ops::jwks)
        .service(oauth::token)
        .service(
            utoipa_actix_web::scope("/v1")
                .service(verify::verify)
                .service(matching::match_records)
                .service(workers::register)
                .service(workers::list_workers)
                .service(workers::get_worker)
                .service(workers::patch_worker)
                .service(audit::access_log)
                .service(schemes::list_schemes)
                .service(schemes::worker_schemes)
                .service(eligibility::worker_eligibility)
                .service(schemes::enrol)
                .service(schemes::worker_jobs)
                .service(sync::request_sync)
                .service(sync::sync_runs)
                .service(sync::sync_run)
                .service(unregistered::unregistered_summary)
                .service(unregistered::unregistered)
                .service(reviews::list_reviews)
                .service(reviews::get_review)
                .service(reviews::decide_review)
                .service(webhooks::pmsym_event)
                .service(batches::push_batch)
                .service(batches::get_batch)
                .service(batches::cancel_batch)
                .service(batches::batch_errors)
                .service(batches::batch_results)
                .service(reports::coverage)
                .service(reports::gaps),
        );
}

/// The OpenAPI document, built from the route table.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    doc
}

/// `shramsetu openapi`: the document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut doc =
        serde_json::to_value(openapi()).unwrap_or_else(|e| panic!("OpenAPI serialisation: {e}"));
    crate::openapi::finish(&mut doc);
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| panic!("OpenAPI serialisation: {e}"));
    s.push('\n');
    s
}

/// `GET /openapi.json`: the document byte for byte as `shramsetu openapi` prints it and as
/// `openapi/openapi.json` holds it.
async fn openapi_document(doc: Data<DocumentText>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

struct DocumentText(web::Bytes);

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Starts serving on `listener`. The returned server runs until stopped or signalled.
pub fn serve(
    state: Data<AppState>,
    listener: TcpListener,
    s: &config::Server,
) -> std::io::Result<actix_web::dev::Server> {
    let doc = Data::new(DocumentText(web::Bytes::from(openapi_json())));
    let timeout = Duration::from_millis(s.request_timeout_ms);
    let upload_timeout = Duration::from_secs(s.upload_timeout_secs);
    let mut server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .configure(routes)
            .split_for_parts();
        app.app_data(state.clone())
            .app_data(doc.clone())
            .route("/openapi.json", web::get().to(openapi_document))
            .route("/dashboard", web::get().to(dashboard::page))
            .route("/dashboard/app.js", web::get().to(dashboard::script))
            .route(
                "/dashboard/coverage.json",
                web::get().to(dashboard::public_coverage),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::from("/openapi.json")),
            )
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(not_found))
            .wrap(from_fn(move |req, next| {
                observe(req, next, timeout, upload_timeout)
            }))
    })
    .client_request_timeout(Duration::from_millis(s.client_request_timeout_ms))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(s.keep_alive_secs))
    .shutdown_timeout(10)
    .listen(listener)?;
    if s.workers > 0 {
        server = server.workers(s.workers);
    }
    Ok(server.run())
}
