//! `POST /v1/webhooks/pmsym`: PM-SYM's signed change events. No bearer token: the body's HMAC is
//! the proof. A bad or missing signature is refused with nothing stored; a fresh event, taken once,
//! queues a PM-SYM sync run (the same pipeline as every other pull).

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, post};
use adapter_core::SchemeId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::body::read_limited;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// An event's body is small; a larger one is not PM-SYM's.
const MAX_EVENT_BYTES: usize = 16 * 1024;

/// What became of an event.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"received": true, "run": 17}))]
pub struct EventReceived {
    pub received: bool,
    /// The PM-SYM sync run that will pull the change.
    pub run: i64,
}

/// Receive PM-SYM's change events.
///
/// PM-SYM posts `{"event": "subscriber.enrolled", "spn": …, "eshram_uan": …, "status": …,
/// "occurred_at": …}` with `X-PMSYM-Signature`, the hex HMAC-SHA256 of the body under the shared
/// secret (`sync.pmsym_webhook_secret`). A signature that does not verify is a 401 and nothing is
/// kept. An event whose `occurred_at` is more than `sync.webhook_window_secs` (300) from now is a
/// 401 too, and one received before is a 409: a captured delivery cannot be replayed. A fresh event
/// queues a PM-SYM sync run, which links the subscriber through the same pipeline as a scheduled
/// pull (202).
#[utoipa::path(
    tag = "Schemes",
    request_body(content = serde_json::Value, content_type = "application/json",
        example = json!({"event": "subscriber.enrolled", "spn": "PMSYM4000000500", "eshram_uan": "483920175560",
            "status": "ACTIVE", "occurred_at": "2026-12-01T10:15:00Z"})),
    params(("X-PMSYM-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body.", pattern = "^[0-9a-f]{64}$")),
    responses(
        (status = 202, description = "Taken: a PM-SYM run is queued.", body = EventReceived),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature does not verify, or the event is outside the window.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No webhook secret is configured: the route is closed.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This event was received before.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 16 KiB.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`occurred_at` is missing or malformed.", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/webhooks/pmsym")]
pub async fn pmsym_event(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(secret) = &state.pmsym_webhook_secret else {
        return Err(ApiError::NotFound);
    };
    let body = read_limited(&req, payload, MAX_EVENT_BYTES).await?;
    let event = verified(&req, &body, secret)?;
    let digest = registry::random::sha256_b64(&body);
    let window = state.webhook_window;
    match state
        .sync
        .receive_event(SchemeId::Pmsym, &digest, &event, window)
        .await?
    {
        sync::Received::Queued(run) => Ok(HttpResponse::Accepted().json(EventReceived {
            received: true,
            run: run.id,
        })),
        sync::Received::Stale => Err(ApiError::Unauthorized(Some(
            "event outside the replay window",
        ))),
        sync::Received::Replayed => Err(ApiError::Conflict {
            code: "webhook_replayed",
            detail: "this event was received before".into(),
            existing_uan: None,
        }),
    }
}

/// The event, if the body's signature verifies under `secret` (nothing is read before it does).
fn verified(req: &HttpRequest, body: &[u8], secret: &str) -> Result<serde_json::Value, ApiError> {
    let signature = req
        .headers()
        .get("X-PMSYM-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let text = std::str::from_utf8(body).unwrap_or_default();
    if text.is_empty() || !adapter_core::auth::hmac_verify(secret, text, signature) {
        return Err(ApiError::Unauthorized(Some("bad signature")));
    }
    serde_json::from_str(text).map_err(|_| ApiError::BadRequest {
        code: "malformed_json",
        detail: "the event is not valid JSON".into(),
    })
}
