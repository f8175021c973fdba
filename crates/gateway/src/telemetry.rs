//! Logs, metrics and request ids. One JSON object per log line; every line written while serving a
//! request carries its `request_id`. Headers and bodies are never logged (they hold tokens and
//! Aadhaar numbers).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, prelude::*};

use crate::authorize::ClientId;
use registry::request::REQUEST_ID;

use crate::problem::ApiError;

/// Installs the global log subscriber writing to `writer`. `format` is `json` or `text`; `level`
/// comes from the settings (`Log::level_or`, where `RUST_LOG` wins).
pub fn init_logging<W>(level: &str, format: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    init_logging_at(level, format, writer)
}

/// As [`init_logging`], with exactly this filter (tests that read the logs must see them all).
pub fn init_logging_at<W>(level: &str, format: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // The database driver logs statement parameters (names, mobiles) at debug: never.
        .add_directive(
            "tokio_postgres=warn"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
    let registry = tracing_subscriber::registry().with(filter);
    let result = if format == "text" {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(writer))
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init()
    };
    // A second init (tests start several apps in one process) keeps the first subscriber.
    let _ = result;
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .unwrap_or_else(|e| panic!("histogram buckets: {e}"));
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (embedding process): keep a private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Per request: a request id (the caller's `X-Request-Id` when it is short and plain, else a new
/// UUIDv7), a span carrying it, a time limit (`upload_timeout` for a state's file, read as it
/// arrives, `timeout` for anything else), one access log line, and the metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    timeout: Duration,
    upload_timeout: Duration,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = if req.method() == actix_web::http::Method::POST && req.path() == "/v1/batches" {
        upload_timeout
    } else {
        timeout
    };
    // Always our own: a caller's id could carry personal data (an Aadhaar number) into every log
    // line, or collide with another request's.
    let request_id = uuid::Uuid::now_v7().to_string();
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %request_id);
    let started = Instant::now();
    let outcome = REQUEST_ID
        .scope(
            request_id.clone(),
            tokio::time::timeout(timeout, next.call(req)),
        )
        .instrument(span.clone())
        .await;
    let mut res = match outcome {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            span.in_scope(|| tracing::warn!(method = %method, status = 503, "Request timed out."));
            metrics::counter!("http_requests_total", "method" => method, "route" => "timeout", "status" => "503").increment(1);
            // The request went into the handler and cannot be had back, so the prebuilt answer
            // travels inside the error; it carries the request id like every other.
            let mut answer = REQUEST_ID.sync_scope(request_id.clone(), || {
                actix_web::ResponseError::error_response(&ApiError::Unavailable(
                    "request timed out".into(),
                ))
            });
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                answer.headers_mut().insert(REQUEST_ID_HEADER.clone(), v);
            }
            return Err(actix_web::error::InternalError::from_response(
                "request timed out",
                answer,
            )
            .into());
        }
    };
    let elapsed = started.elapsed();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let client_id = res
        .request()
        .extensions()
        .get::<ClientId>()
        .map(|c| c.0.clone());
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            client_id = client_id.as_deref().unwrap_or("-"),
            "Request served."
        )
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER.clone(), v);
    }
    Ok(res)
}
