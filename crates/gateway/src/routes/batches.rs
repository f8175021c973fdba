//! `/v1/batches`: a state's roll pushed as one file (CSV or NDJSON, gzip or not), its progress,
//! its errors and its results (streamed as CSV or NDJSON while it runs), and its cancellation.
//! The reading and applying are `crates/batches`.

use actix_web::http::header;
use actix_web::web::{self, Bytes, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, delete, get, post};
use batches::{Charset, Format, Mode, OnExisting, Options, Received, UploadError};
use chrono::{DateTime, Utc};
use domain::Invalid;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::authorize::{Authorized, BatchesWrite};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::idempotency_key;
use crate::state::AppState;

/// A batch: what it is and how far it got. Once finished, `registered + updated + skipped +
/// refused + queued_for_review + cancelled = rows_received`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a1c4-7f7e-7d1a-9c55-3f0b6d1e2a10", "status": "running",
    "format": "csv", "mode": "apply", "on_existing": "refuse", "rows_received": 250000,
    "validated": 249120, "registered": 118400, "updated": 0, "skipped": 0, "refused": 1012,
    "queued_for_review": 0, "cancelled": 0, "pending": 130588, "rows_per_sec": 1480.5,
    "created_at": "2026-12-02T09:00:00Z", "stored_at": "2026-12-02T09:00:41Z",
    "started_at": "2026-12-02T09:00:41Z", "finished_at": null,
    "errors_url": "/v1/batches/0193a1c4-7f7e-7d1a-9c55-3f0b6d1e2a10/errors",
    "results_url": "/v1/batches/0193a1c4-7f7e-7d1a-9c55-3f0b6d1e2a10/results"}))]
pub struct BatchView {
    pub id: Uuid,
    /// `queued` (stored, waiting), `running`, `finished` or `cancelled`.
    #[schema(example = "running")]
    pub status: String,
    /// `csv` or `ndjson`.
    pub format: String,
    /// `apply`, or `validate` (a dry run: nothing written).
    pub mode: String,
    /// `update`, `skip` or `refuse`: what a row whose Aadhaar is registered already does.
    pub on_existing: String,
    /// Rows in the file (empty lines are not rows).
    pub rows_received: i64,
    /// Rows that passed the row checks (shape, encoding, the registration rules, the token's
    /// states, a repeated Aadhaar in the file).
    pub validated: i64,
    pub registered: i64,
    pub updated: i64,
    pub skipped: i64,
    /// Rows refused, each with its errors (`errors_url`).
    pub refused: i64,
    pub queued_for_review: i64,
    pub cancelled: i64,
    /// Rows not applied yet.
    pub pending: i64,
    /// Rows applied per second since the batch started (to its end once finished).
    pub rows_per_sec: Option<f64>,
    pub created_at: DateTime<Utc>,
    /// When every row was stored (the upload's answer).
    pub stored_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub errors_url: String,
    pub results_url: String,
}

impl BatchView {
    fn of(b: store::batches::Batch) -> BatchView {
        let accounted = b.accounted();
        let pending = if b.mode == "validate" {
            0
        } else {
            (b.rows_received - accounted).max(0)
        };
        let applied = accounted - (b.rows_received - b.validated);
        let rows_per_sec = b.started_at.map(|s| {
            let end = b.finished_at.unwrap_or_else(Utc::now);
            let secs = ((end - s).num_milliseconds() as f64 / 1000.0).max(0.001);
            (applied.max(0) as f64 / secs * 10.0).round() / 10.0
        });
        BatchView {
            errors_url: format!("/v1/batches/{}/errors", b.id),
            results_url: format!("/v1/batches/{}/results", b.id),
            id: b.id,
            status: b.status,
            format: b.format,
            mode: b.mode,
            on_existing: b.on_existing,
            rows_received: b.rows_received,
            validated: b.validated,
            registered: b.registered,
            updated: b.updated,
            skipped: b.skipped,
            refused: b.refused,
            queued_for_review: b.queued_for_review,
            cancelled: b.cancelled,
            pending,
            rows_per_sec,
            created_at: b.created_at,
            stored_at: b.stored_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}

/// Push a file of registrations.
///
/// The body is a CSV file (a header row; the registration's fields as columns, nested ones
/// flattened: `declarations.epfo_member`, `bank_account.ifsc`, `address.line1`, `nominee.name` …;
/// columns in any order; optional groups may be left out) or NDJSON (one `POST /v1/workers` body
/// per line), either one gzip-compressed (`Content-Encoding: gzip`, or `Content-Type:
/// application/gzip` with `format`). UTF-8 with or without a BOM; Windows-1252 or Latin-1 when
/// declared (`Content-Type: text/csv; charset=windows-1252`). Dates as `YYYY-MM-DD`, `DD-MM-YYYY`
/// or `DD/MM/YYYY`. Each row is checked and stored as it arrives (the Aadhaar number only as a
/// keyed token and a ciphertext); the answer comes once every row is stored, and the rows are then
/// registered in the background exactly as `POST /v1/workers` registers. A header with an unknown
/// or missing column is refused before any row is stored. `Idempotency-Key` is required: the same
/// key and file answer the same batch (`Idempotent-Replayed: true`); the same key with another file
/// is a 422.
#[utoipa::path(
    tag = "States",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes, sent with `Content-Type: text/csv` (optionally `; charset=windows-1252`), `application/x-ndjson` or `application/gzip`, and `Content-Encoding: gzip` when compressed."),
    params(
        ("Idempotency-Key" = String, Header, description = "Required. 1-255 printable ASCII characters; the same key and file are the same batch. `shramsetu import` derives it from the file.", pattern = r"^[!-~]{1,255}$"),
        ("mode" = Option<String>, Query, description = "`apply` (default) or `validate`: a dry run, every row checked (and whether its Aadhaar is registered already), no worker written."),
        ("on_existing" = Option<String>, Query, description = "A row whose Aadhaar is registered already: `refuse` (default; the UAN is named when the worker is in your states), `skip`, or `update` (the row's changeable fields written as a merge patch, as `PATCH /v1/workers/{uan}` does)."),
        ("format" = Option<String>, Query, description = "`csv` or `ndjson`; by default from `Content-Type`."),
    ),
    responses(
        CommonErrors,
        (status = 202, description = "Stored; the rows are being applied. `Location` names the batch.", body = BatchView),
        (status = 403, description = "The token lacks `batches:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An upload with this key is being received.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the size limit (1 GiB by default, as sent and after decompression); the rest of the body is not read.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not CSV, NDJSON or gzip, or a charset other than UTF-8, Windows-1252 or Latin-1.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A column unknown, missing or repeated (each named), a corrupt or truncated gzip stream, over the row limit (2,000,000 by default), no `Idempotency-Key`, the key used with another file, or a bad parameter.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["batches:write"]))
)]
#[post("/batches")]
pub async fn push_batch(
    auth: Authorized<BatchesWrite>,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?.ok_or_else(|| {
        ApiError::field(
            "Idempotency-Key",
            "required",
            "a batch needs a key, so that a retried upload is the same batch",
        )
    })?;
    let options = parse_options(&req)?;
    let max_bytes = state.batches.settings().max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(ApiError::PayloadTooLarge {
            limit: max_bytes as usize,
        });
    }
    let received = state
        .batches
        .receive(&auth.caller, &key, options, payload)
        .await
        .map_err(upload_error)?;
    let (batch, replayed) = match received {
        Received::New(b) => (b, false),
        Received::Same(b) => (b, true),
    };
    let mut res = HttpResponse::Accepted();
    res.insert_header((header::LOCATION, format!("/v1/batches/{}", batch.id)));
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(BatchView::of(*batch)))
}

/// A batch's progress.
///
/// Its status and counts: rows received, validated, registered, updated, skipped, refused, queued
/// for review, cancelled, pending, and rows per second. Only the client that pushed it sees it.
#[utoipa::path(
    tag = "States",
    params(("id" = Uuid, Path, description = "The batch.")),
    responses(
        CommonErrors,
        (status = 200, description = "The batch.", body = BatchView),
        (status = 403, description = "The token lacks `batches:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch of yours.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["batches:write"]))
)]
#[get("/batches/{id}")]
pub async fn get_batch(
    auth: Authorized<BatchesWrite>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let batch = state.batches.batch(&auth.caller, id).await?;
    Ok(HttpResponse::Ok().json(BatchView::of(batch)))
}

/// Cancel a batch.
///
/// Rows not applied yet are counted as `cancelled` and never applied; rows applied stay applied.
/// A finished batch is left as it is. Answers the batch after the cancellation.
#[utoipa::path(
    tag = "States",
    params(("id" = Uuid, Path, description = "The batch.")),
    responses(
        CommonErrors,
        (status = 200, description = "The batch.", body = BatchView),
        (status = 403, description = "The token lacks `batches:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch of yours.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["batches:write"]))
)]
#[delete("/batches/{id}")]
pub async fn cancel_batch(
    auth: Authorized<BatchesWrite>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let batch = state.batches.cancel(&auth.caller, id).await?;
    Ok(HttpResponse::Ok().json(BatchView::of(batch)))
}

/// One error of one refused line (a report line).
#[derive(Serialize, ToSchema)]
pub struct BatchError {
    /// The line of the file the row starts on (a CSV file's header is line 1).
    pub line: i64,
    /// The column (empty: the row as a whole).
    #[schema(example = "date_of_birth")]
    pub field: String,
    #[schema(example = "age_out_of_range")]
    pub code: String,
    /// Never the value (it may be an Aadhaar number).
    pub message: String,
}

/// What one line came to (a report line).
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub line: i64,
    /// `registered`, `updated`, `skipped`, `refused`, `queued`, `cancelled`, `pending` (not applied
    /// yet), or `valid` (a dry run's row that would be applied).
    #[schema(example = "registered")]
    pub outcome: String,
    /// The worker's UAN (when registered, updated, or skipped in your states).
    pub uan: Option<String>,
}

/// A batch's errors, line by line.
///
/// Every error of every refused row: line, field, code and message (never the value). Streamed as
/// CSV (default) or NDJSON (`Accept: application/x-ndjson`), while the batch runs too (what is refused
/// so far).
#[utoipa::path(
    tag = "States",
    params(("id" = Uuid, Path, description = "The batch.")),
    responses(
        CommonErrors,
        (status = 200, description = "The errors, one per line of the report: CSV with the header `line,field,code,message`, or with `Accept: application/x-ndjson` one JSON object (`BatchError`) a line.", content(
            (String = "text/csv", example = "line,field,code,message\n7,date_of_birth,age_out_of_range,e-Shram registers workers aged 16 to 59; this date of birth gives age 61\n"))),
        (status = 403, description = "The token lacks `batches:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch of yours.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["batches:write"]))
)]
#[get("/batches/{id}/errors")]
pub async fn batch_errors(
    auth: Authorized<BatchesWrite>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    state.batches.batch(&auth.caller, id).await?;
    let csv = wants_csv(&req);
    let store = state.store().clone();
    let page = move |after: i64| {
        let store = store.clone();
        async move {
            let errors = store.batch_errors(id, after, REPORT_PAGE).await?;
            let next = errors.last().map(|e| e.line);
            let rows: Vec<[String; 4]> = errors
                .into_iter()
                .map(|e| [e.line.to_string(), e.field, e.code, e.message])
                .collect();
            Ok::<_, store::StoreError>((rows, next))
        }
    };
    Ok(report(csv, ["line", "field", "code", "message"], page))
}

/// A batch's results, line by line.
///
/// Each line's outcome and the UAN it became. Streamed as CSV (default) or NDJSON (`Accept:
/// application/x-ndjson`), while the batch runs too (lines not applied yet are `pending`).
#[utoipa::path(
    tag = "States",
    params(("id" = Uuid, Path, description = "The batch.")),
    responses(
        CommonErrors,
        (status = 200, description = "The results, one per line of the file: CSV with the header `line,outcome,uan`, or with `Accept: application/x-ndjson` one JSON object (`BatchResult`) a line.", content(
            (String = "text/csv", example = "line,outcome,uan\n2,registered,483920175560\n3,refused,\n"))),
        (status = 403, description = "The token lacks `batches:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch of yours.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["batches:write"]))
)]
#[get("/batches/{id}/results")]
pub async fn batch_results(
    auth: Authorized<BatchesWrite>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    state.batches.batch(&auth.caller, id).await?;
    let csv = wants_csv(&req);
    let store = state.store().clone();
    let page = move |after: i64| {
        let store = store.clone();
        async move {
            let results = store.batch_results(id, after, REPORT_PAGE).await?;
            let next = results.last().map(|r| r.line);
            let rows: Vec<[String; 3]> = results
                .into_iter()
                .map(|r| [r.line.to_string(), r.outcome, r.uan.unwrap_or_default()])
                .collect();
            Ok::<_, store::StoreError>((rows, next))
        }
    };
    Ok(report(csv, ["line", "outcome", "uan"], page))
}

/// Lines of a report read from the database at a time.
const REPORT_PAGE: i64 = 5000;

/// A report streamed page by page (`page(after)` gives the rows after a line and the last line),
/// as CSV with a header or as NDJSON objects of the same names. The first line is integers in
/// both: `line` is written as a number in NDJSON.
fn report<const N: usize, P, F>(csv: bool, names: [&'static str; N], page: P) -> HttpResponse
where
    P: Fn(i64) -> F + 'static,
    F: std::future::Future<Output = Result<(Vec<[String; N]>, Option<i64>), store::StoreError>>
        + 'static,
{
    let header = csv.then(|| encode_csv(&[names.map(str::to_owned)]));
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let next = after.map(&page);
        async move {
            let (rows, last) = match next?.await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "A batch report stopped early.");
                    return Some((
                        Err(actix_web::error::ErrorServiceUnavailable("report")),
                        None,
                    ));
                }
            };
            if rows.is_empty() {
                return None;
            }
            let chunk = if csv {
                encode_csv(&rows)
            } else {
                encode_ndjson(&names, &rows)
            };
            Some((Ok(chunk), last))
        }
    });
    let body = futures_util::stream::iter(header.map(Ok)).chain(pages);
    HttpResponse::Ok()
        .content_type(if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/x-ndjson"
        })
        .streaming(body)
}

use futures_util::StreamExt;

fn encode_csv<const N: usize>(rows: &[[String; N]]) -> Bytes {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        // Writing to memory does not fail.
        let _ = w.write_record(r);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

fn encode_ndjson<const N: usize>(names: &[&str; N], rows: &[[String; N]]) -> Bytes {
    let mut out = Vec::new();
    for r in rows {
        let mut o = serde_json::Map::new();
        for (name, value) in names.iter().zip(r) {
            let v = match (*name, value.as_str()) {
                ("line", v) => serde_json::json!(v.parse::<i64>().unwrap_or(0)),
                ("uan", "") => serde_json::Value::Null,
                (_, v) => serde_json::json!(v),
            };
            o.insert((*name).to_owned(), v);
        }
        let _ = serde_json::to_writer(&mut out, &o);
        out.push(b'\n');
    }
    Bytes::from(out)
}

/// CSV unless NDJSON is asked for.
fn wants_csv(req: &HttpRequest) -> bool {
    !req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("ndjson"))
}

fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::field("id", "invalid_format", "a batch id (a UUID)"))
}

/// The file's format, encoding and compression from the headers, and the query's options.
fn parse_options(req: &HttpRequest) -> Result<Options, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).map_err(|_| ApiError::BadRequest {
            code: "malformed_query",
            detail: "the query string could not be decoded".into(),
        })?;
    let mut e = domain::Errors::default();
    let (mut mode, mut on_existing, mut format) = (Mode::Apply, OnExisting::Refuse, None);
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &pairs {
        if !seen.insert(k.as_str()) {
            e.push(
                Invalid::new(
                    "duplicate_parameter",
                    "this parameter appears more than once",
                )
                .at(k),
            );
            continue;
        }
        let bad = |allowed: &str| Invalid::new("invalid_value", format!("one of {allowed}")).at(k);
        match (k.as_str(), v.as_str()) {
            ("mode", "apply") => mode = Mode::Apply,
            ("mode", "validate") => mode = Mode::Validate,
            ("mode", _) => e.push(bad("apply, validate")),
            ("on_existing", "refuse") => on_existing = OnExisting::Refuse,
            ("on_existing", "skip") => on_existing = OnExisting::Skip,
            ("on_existing", "update") => on_existing = OnExisting::Update,
            ("on_existing", _) => e.push(bad("refuse, skip, update")),
            ("format", "csv") => format = Some(Format::Csv),
            ("format", "ndjson") => format = Some(Format::Ndjson),
            ("format", _) => e.push(bad("csv, ndjson")),
            _ => {
                e.push(Invalid::new("unknown_parameter", "this route has no such parameter").at(k))
            }
        }
    }
    if !e.is_empty() {
        return Err(ApiError::Validation(e.into_vec()));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim().to_owned();
    let charset = parts
        .filter_map(|p| {
            p.trim()
                .strip_prefix("charset=")
                .map(|c| c.trim_matches('"').to_owned())
        })
        .next();
    let unsupported = ApiError::UnsupportedMediaType {
        expected: "text/csv, application/x-ndjson or application/gzip",
    };
    let (typed, gzip_type) = match media.as_str() {
        "text/csv" | "application/csv" => (Some(Format::Csv), false),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            (Some(Format::Ndjson), false)
        }
        "application/gzip" | "application/x-gzip" => (None, true),
        _ => return Err(unsupported),
    };
    let charset = match charset {
        None => Charset::Utf8,
        Some(c) => Charset::from_label(&c).ok_or(ApiError::UnsupportedMediaType {
            expected: "charset utf-8, windows-1252 or iso-8859-1",
        })?,
    };
    let encoded = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let gzip = match encoded.as_deref() {
        None | Some("identity") => gzip_type,
        Some("gzip") | Some("x-gzip") => true,
        Some(_) => {
            return Err(ApiError::UnsupportedMediaType {
                expected: "Content-Encoding gzip (or none)",
            });
        }
    };
    Ok(Options {
        format: format.or(typed).unwrap_or(Format::Csv),
        charset,
        gzip,
        mode,
        on_existing,
    })
}

fn upload_error(e: UploadError) -> ApiError {
    match e {
        UploadError::Invalid(errors) => ApiError::Validation(errors),
        UploadError::TooLarge { max_bytes } => ApiError::PayloadTooLarge {
            limit: max_bytes as usize,
        },
        UploadError::TooManyRows { max_rows } => ApiError::Validation(vec![
            Invalid::new(
                "too_many_rows",
                format!("a batch holds at most {max_rows} rows: split the file"),
            )
            .at("body"),
        ]),
        UploadError::KeyReused => registry::Error::KeyReused.into(),
        UploadError::KeyInFlight => registry::Error::KeyInFlight.into(),
        UploadError::Aborted(why) => ApiError::BadRequest {
            code: "upload_aborted",
            detail: format!("the body stopped arriving: {why}"),
        },
        UploadError::Registry(e) => e.into(),
    }
}
