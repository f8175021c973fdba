//! The sync engine over HTTP: queue a run of a scheme, and watch its runs. The engine itself is
//! `crates/sync`; any gateway process on the database may work the run.

use actix_web::http::header;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::authorize::{Authorized, SchemesRead, SchemesSync};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::parse_scheme;
use crate::state::AppState;

/// One run of a scheme's feed.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "scheme": "pmjay", "full": false, "status": "succeeded",
    "requested_by": "schedule", "created_at": "2026-12-01T10:00:00Z", "started_at": "2026-12-01T10:00:01Z",
    "finished_at": "2026-12-01T10:00:09Z", "duration_secs": 8.2, "pages": 5, "records": 2500,
    "linked": 1890, "queued": 41, "unregistered": 566, "errors": 3, "error": null,
    "cursor_from": null, "cursor": "p:6"}))]
pub struct SyncRunView {
    pub id: i64,
    pub scheme: String,
    /// From the feed's start (`true`) or from where the last run left it.
    pub full: bool,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[schema(example = "running")]
    pub status: String,
    /// The client that asked for it, or `schedule`.
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From start to finish (to now while it runs).
    pub duration_secs: Option<f64>,
    /// Pages committed, and what their records came to.
    pub pages: i64,
    pub records: i64,
    /// Scheme records linked to a worker for the first time.
    pub linked: i64,
    /// Pairs queued for a person to review.
    pub queued: i64,
    /// Records no worker was found for (newly kept).
    pub unregistered: i64,
    /// Records that could not be used (no name, an impossible date): see the run's `record_errors`.
    pub errors: i64,
    /// Why the run failed; the next run resumes from `cursor`.
    pub error: Option<String>,
    /// The scheme's cursor where the run started and where it is now (after the last page
    /// committed): opaque, the adapter's.
    pub cursor_from: Option<String>,
    pub cursor: Option<String>,
}

impl SyncRunView {
    fn of(r: store::sync::SyncRun) -> SyncRunView {
        let end = r.finished_at.unwrap_or_else(Utc::now);
        SyncRunView {
            duration_secs: r
                .started_at
                .map(|s| ((end - s).num_milliseconds() as f64 / 1000.0).max(0.0)),
            id: r.id,
            scheme: r.scheme,
            full: r.full,
            status: r.status,
            requested_by: r.requested_by,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            pages: r.pages,
            records: r.records,
            linked: r.linked,
            queued: r.queued,
            unregistered: r.unregistered,
            errors: r.errors,
            error: r.error,
            cursor_from: r.cursor_from,
            cursor: r.cursor,
        }
    }
}

/// A scheme's runs, newest first.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": 12, "scheme": "pmjay", "full": false, "status": "succeeded",
    "requested_by": "schedule", "created_at": "2026-12-01T10:00:00Z", "started_at": "2026-12-01T10:00:01Z",
    "finished_at": "2026-12-01T10:00:09Z", "duration_secs": 8.2, "pages": 5, "records": 2500,
    "linked": 1890, "queued": 41, "unregistered": 566, "errors": 3, "error": null,
    "cursor_from": null, "cursor": "p:6"}]}))]
pub struct SyncRuns {
    pub items: Vec<SyncRunView>,
}

/// A record a run could not use.
#[derive(Serialize, ToSchema)]
pub struct RecordError {
    /// The scheme's own reference of the record.
    #[schema(example = "PMJAY-000123")]
    pub reference: String,
    #[schema(example = "no name")]
    pub reason: String,
}

/// One run, with the records it could not use.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "scheme": "pmjay", "full": false, "status": "succeeded",
    "requested_by": "schedule", "created_at": "2026-12-01T10:00:00Z", "started_at": "2026-12-01T10:00:01Z",
    "finished_at": "2026-12-01T10:00:09Z", "duration_secs": 8.2, "pages": 5, "records": 2500,
    "linked": 1890, "queued": 41, "unregistered": 566, "errors": 3, "error": null,
    "cursor_from": null, "cursor": "p:6", "record_errors": [{"reference": "PMJAY-M0000000417", "reason": "no name"}]}))]
pub struct SyncRunDetail {
    #[serde(flatten)]
    pub run: SyncRunView,
    /// At most 1,000.
    pub record_errors: Vec<RecordError>,
}

/// Sync a scheme now.
///
/// Queues a run of the scheme's feed: every record pulled since the last run (from the feed's start
/// with `full=true`) is matched against the registry through the stored blocking keys, and linked
/// to its worker, queued for review, or kept as unregistered, one page per transaction. Answers at
/// once with the run (`Location` names it); any gateway process on this database works it. One run
/// of a scheme runs at a time and one more waits to follow it: asking while one waits answers that
/// one; asking while one runs queues the next.
#[utoipa::path(
    tag = "Schemes",
    params(
        ("id" = String, Path, description = "`ncs`, `sidh`, `pmsym`, `pmjay` or `pmjjby` (the myScheme catalogue has no people to link).", example = "pmjay", pattern = r"^(ncs|sidh|pmsym|pmjay|pmjjby)$"),
        ("full" = Option<bool>, Query, description = "From the feed's start instead of the last run's cursor. Default false."),
    ),
    responses(
        CommonErrors,
        (status = 202, description = "The run queued (or the one already waiting).", body = SyncRunView),
        (status = 403, description = "The token lacks `schemes:sync`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a scheme with people to link, or a bad parameter.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:sync"]))
)]
#[post("/schemes/{id}/sync")]
pub async fn request_sync(
    auth: Authorized<SchemesSync>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let scheme = parse_scheme(&path)?;
    let full = parse_full(req.query_string())?;
    let run = state
        .sync
        .request(scheme, full, &auth.caller.client_id)
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/v1/schemes/{scheme}/sync-runs/{}", run.id),
        ))
        .json(SyncRunView::of(run)))
}

/// A scheme's sync runs.
///
/// Newest first, at most 50: when each started and finished, pages and records, how many were
/// linked, queued for review, kept as unregistered or could not be used, why a run failed, and the
/// cursor it reached.
#[utoipa::path(
    tag = "Schemes",
    params(("id" = String, Path, description = "The scheme.", example = "pmjay", pattern = r"^(ncs|sidh|myscheme|pmsym|pmjay|pmjjby)$")),
    responses(
        CommonErrors,
        (status = 200, description = "The runs.", body = SyncRuns),
        (status = 403, description = "The token lacks `schemes:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a scheme.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/schemes/{id}/sync-runs")]
pub async fn sync_runs(
    _auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let scheme = parse_scheme(&path)?;
    let runs = state.sync.runs(scheme, 50).await?;
    Ok(HttpResponse::Ok().json(SyncRuns {
        items: runs.into_iter().map(SyncRunView::of).collect(),
    }))
}

/// One sync run, with the records it could not use.
///
/// The run's counters and cursor as in the list, and each record it counted as an error (no name,
/// a date of birth in the future or before 1900) by the scheme's own reference, with why: what to
/// take up with the scheme's data team. At most 1,000 are listed.
#[utoipa::path(
    tag = "Schemes",
    params(
        ("id" = String, Path, description = "The scheme.", example = "pmjay", pattern = r"^(ncs|sidh|myscheme|pmsym|pmjay|pmjjby)$"),
        ("run" = i64, Path, description = "The run's id.", example = 12, minimum = 1),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "The run.", body = SyncRunDetail),
        (status = 403, description = "The token lacks `schemes:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run of this scheme.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a scheme, or not a run id.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/schemes/{id}/sync-runs/{run}")]
pub async fn sync_run(
    _auth: Authorized<SchemesRead>,
    path: web::Path<(String, String)>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, run) = path.into_inner();
    let scheme = parse_scheme(&id)?;
    let run: i64 = run
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::field("run", "invalid_format", "a whole number, 1 or more"))?;
    let (run, errors) = state.sync.run(scheme, run, 1000).await?;
    Ok(HttpResponse::Ok().json(SyncRunDetail {
        run: SyncRunView::of(run),
        record_errors: errors
            .into_iter()
            .map(|(reference, reason)| RecordError { reference, reason })
            .collect(),
    }))
}

fn parse_full(q: &str) -> Result<bool, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q).map_err(|_| ApiError::BadRequest {
            code: "malformed_query",
            detail: "the query string could not be decoded".into(),
        })?;
    let mut full = false;
    for (k, v) in pairs {
        match (k.as_str(), v.as_str()) {
            ("full", "true") => full = true,
            ("full", "false") => full = false,
            ("full", _) => {
                return Err(ApiError::field("full", "invalid_value", "true or false"));
            }
            (other, _) => {
                return Err(ApiError::field(
                    other,
                    "unknown_parameter",
                    "this route has no such parameter",
                ));
            }
        }
    }
    Ok(full)
}
