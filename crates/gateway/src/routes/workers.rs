//! `/v1/workers`: register, read, change by merge patch, and pull in change order.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, get, patch, post};
use domain::{Invalid, Registration, StateCode, Uan, Worker};
use registry::workers::{Idempotent, Registered};
use serde::Serialize;
use store::ListFilter;
use utoipa::ToSchema;

use crate::authorize::{Authorized, WorkersRead, WorkersWrite};
use crate::body::{
    parse_form, parse_strict_value, read_limited, request_hash, require_content_type,
};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::query;
use crate::state::AppState;

const JSON: &str = "application/json";
const MERGE_PATCH: &str = "application/merge-patch+json";

/// Register a worker.
///
/// Validates every field (all problems are reported at once), issues a UAN, stores the Aadhaar only
/// as a keyed token and a vault ciphertext, and answers with the masked record. Send an
/// `Idempotency-Key` to retry safely: the same key with the same body answers the first answer
/// again; with another body it is a 422.
#[utoipa::path(
    tag = "Partners",
    request_body(content = Registration, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 printable ASCII characters, unique per write; scoped to your client id.", pattern = r"^[!-~]{1,255}$")),
    responses(
        CommonErrors,
        (status = 201, description = "Registered. `Location` names the new record.", body = Worker),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `workers:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This Aadhaar is already registered (`existing_uan` is given when you hold `workers:read` and may see that worker's state), or the idempotency key's first request is still running.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit (1 MiB by default).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (each is named in `errors`), the worker is outside your states, or the idempotency key was used with another body.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:write"]))
)]
#[post("/workers")]
pub async fn register(
    auth: Authorized<WorkersWrite>,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &[JSON])?;
    let idem_key = idempotency_key(&req)?;
    let body = read_limited(&req, payload, state.limits.body_bytes).await?;
    let registry = &state.registry;
    let (_, new) =
        parse_form::<Registration>(&body)?.validate(|r| registry.check_registration(r))?;
    let idempotent = idem_key.map(|key| Idempotent {
        key,
        request_hash: request_hash(&body, &registry.token_key),
    });
    let written = registration_fields(&body);
    match registry
        .register(&auth.caller, &new, written, idempotent)
        .await?
    {
        Registered::Created { worker, body } => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/v1/workers/{}", worker.uan)))
            .json(body)),
        Registered::Replayed { status, body } => {
            let status =
                StatusCode::from_u16(status).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut res = HttpResponse::build(status);
            res.insert_header(("Idempotent-Replayed", "true"));
            if let Some(uan) = body.get("uan").and_then(|u| u.as_str()) {
                res.insert_header((header::LOCATION, format!("/v1/workers/{uan}")));
            }
            Ok(res.json(body))
        }
    }
}

/// Read a worker's record.
///
/// The Aadhaar number is never returned, only its masked form. A worker outside the token's states
/// answers 404, exactly like a UAN that does not exist.
#[utoipa::path(
    tag = "Partners",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN (last digit a Verhoeff check digit).", example = "483920175560", pattern = r"^[0-9]{12}$")),
    responses(
        CommonErrors,
        (status = 200, description = "The record.", body = Worker),
        (status = 403, description = "The token lacks `workers:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:read"]))
)]
#[get("/workers/{uan}")]
pub async fn get_worker(
    auth: Authorized<WorkersRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    let body = state.registry.read(&auth.caller, &uan).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Change a worker's record (JSON merge patch, RFC 7386).
///
/// Changeable: `mobile`, `address`, `state_code`, `district_code`, `pincode`, `occupation_nco`,
/// `bank_account`, `nominee` (`null` removes an optional one). Aadhaar-verified identity and the
/// registry's bookkeeping (`uan`, `aadhaar`, `name`, `date_of_birth`, `created_at`, `change_seq` …)
/// are refused with 422, never silently ignored. Applying the same patch twice changes nothing the
/// second time, so retries are safe.
#[utoipa::path(
    tag = "Partners",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$")),
    request_body(content = serde_json::Value, content_type = "application/merge-patch+json",
        description = "A merge patch of the changeable fields; `application/json` is accepted too.",
        example = json!({"mobile": "9123456780", "address": {"line1": "Plot 4, Sector 9", "locality": "Noida"}, "nominee": null})),
    responses(
        CommonErrors,
        (status = 200, description = "The record after the change.", body = Worker),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `workers:write`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Wrong Content-Type.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field may not change, does not exist, or breaks a rule.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:write"]))
)]
#[patch("/workers/{uan}")]
pub async fn patch_worker(
    auth: Authorized<WorkersWrite>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    require_content_type(&req, &[MERGE_PATCH, JSON])?;
    let body = read_limited(&req, payload, state.limits.body_bytes).await?;
    let patch = parse_strict_value(&body)?;
    let changed = state.registry.change(&auth.caller, &uan, &patch).await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// One page of workers in change order.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"uan": "483920175560", "name": "Mohd. Irfan", "gender": "male",
    "date_of_birth": "1991-04-12", "mobile": "9876543210", "aadhaar_masked": "XXXX-XXXX-7058",
    "state_code": "10", "state_name": "Bihar", "district_code": "230", "pincode": "800001",
    "relative_name": "Abdul Rashid", "social_category": "obc", "occupation_nco": "9313.0100",
    "monthly_income_inr": 9000, "address": null, "education": "middle", "bank_account": null, "nominee": null,
    "change_seq": 2001, "created_at": "2026-11-23T10:15:04.512Z", "updated_at": "2026-11-23T10:15:04.512Z"}],
    "next_cursor": "djE6MjAwMQ"}))]
pub struct WorkerPage {
    /// Each record cut down to the fields the token's purpose may see.
    #[schema(value_type = Vec<Worker>)]
    pub items: Vec<serde_json::Value>,
    /// Pass as `cursor` for the next page; absent when this page is the last one for now. To pull
    /// changes later, keep the highest `change_seq` you received and pass it as `changed_since_seq`.
    pub next_cursor: Option<String>,
}

/// List workers in change order (keyset pages).
///
/// Ordered by `change_seq`, which every insert and update advances. Writers commit in
/// `change_seq` order, so pulling with `changed_since_seq` set to the highest value you hold never
/// misses a change, even under concurrent writes. A token limited to some states sees only those;
/// asking for another state's workers answers 404. A worker who moved out of the view (to a state,
/// or with `district_code` a district, the feed leaves out) appears once as a tombstone:
/// `{"uan": "…", "change_seq": N, "status": "moved_out"}`, with no personal data: delete your copy.
#[utoipa::path(
    tag = "States",
    params(
        ("state_code" = Option<String>, Query, description = "2-digit LGD state code.", example = "10", pattern = r"^(0[1-9]|1[0-9]|2[0-4]|2[7-9]|3[0-8])$"),
        ("district_code" = Option<String>, Query, description = "LGD district code (needs `state_code`)."),
        ("changed_since_seq" = Option<i64>, Query, description = "Only workers whose `change_seq` is greater.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1-1000 (larger values are capped at 1000). Default 100.", minimum = 1),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page; takes precedence over `changed_since_seq`."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "A page.", body = WorkerPage),
        (status = 403, description = "The token lacks `workers:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`state_code` is outside your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is malformed or unknown (each is named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:read"]))
)]
#[get("/workers")]
pub async fn list_workers(
    auth: Authorized<WorkersRead>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = parse_list_query(req.query_string(), &state.limits)?;
    let page = state.registry.list(&auth.caller, filter).await?;
    Ok(HttpResponse::Ok().json(WorkerPage {
        items: page.items,
        next_cursor: page.continue_after.map(encode_cursor),
    }))
}

fn parse_list_query(query: &str, limits: &crate::config::Limits) -> Result<ListFilter, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| ApiError::BadRequest {
            code: "malformed_query",
            detail: "the query string could not be decoded".into(),
        })?;
    let mut e = domain::Errors::default();
    let mut f = ListFilter {
        limit: limits.default_page_size,
        ..ListFilter::default()
    };
    let mut cursor = None;
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
        match k.as_str() {
            "state_code" => {
                f.state_code = e.check(k, StateCode::parse(v)).map(|s| s.code().to_owned())
            }
            "district_code" => {
                f.district_code = e
                    .check(k, domain::DistrictCode::parse(v))
                    .map(|d| d.as_str().to_owned())
            }
            "changed_since_seq" => f.after_seq = e.check(k, parse_non_negative(v)).unwrap_or(0),
            "limit" => {
                f.limit = e
                    .check(k, query::limit(v, limits.max_page_size))
                    .unwrap_or(f.limit)
            }
            "cursor" => cursor = e.check(k, decode_cursor(v)),
            _ => {
                e.push(Invalid::new("unknown_parameter", "this route has no such parameter").at(k))
            }
        }
    }
    if f.district_code.is_some()
        && f.state_code.is_none()
        && !pairs.iter().any(|(k, _)| k == "state_code")
    {
        e.push(
            Invalid::new(
                "required",
                "district codes are unique only within a state: give state_code too",
            )
            .at("state_code"),
        );
    }
    if let Some(seq) = cursor {
        f.after_seq = seq;
    }
    if e.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Validation(e.into_vec()))
    }
}

fn parse_non_negative(v: &str) -> Result<i64, Invalid> {
    v.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Invalid::new("invalid_format", "a whole number, 0 or more"))
}

const CURSOR_PREFIX: &str = "v1:";

fn encode_cursor(seq: i64) -> String {
    query::encode_cursor(CURSOR_PREFIX, &seq.to_string())
}

fn decode_cursor(v: &str) -> Result<i64, Invalid> {
    query::decode_cursor(CURSOR_PREFIX, v)?
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Invalid::new("invalid_cursor", "not a cursor this API issued"))
}

/// The top-level fields a registration wrote (never their values), sorted: one set of fields is
/// one stored list however the body ordered them.
fn registration_fields(body: &[u8]) -> Vec<String> {
    let mut fields: Vec<String> =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
    fields.sort_unstable();
    fields
}

pub(crate) fn parse_uan(s: &str) -> Result<Uan, ApiError> {
    Uan::parse(s).map_err(|e| ApiError::Validation(vec![e.at("uan")]))
}

pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s)
            if !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            Ok(Some(s.to_owned()))
        }
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "invalid_format",
            "1 to 255 printable ASCII characters without spaces",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> crate::config::Limits {
        crate::config::Settings::defaults().limits
    }

    #[test]
    fn list_query_caps_and_names_bad_parameters() {
        let f =
            parse_list_query("state_code=10&limit=999999999999999999999999", &limits()).unwrap();
        assert_eq!((f.state_code.as_deref(), f.limit), (Some("10"), 1000));
        let f = parse_list_query(
            &format!("cursor={}&changed_since_seq=5", encode_cursor(42)),
            &limits(),
        )
        .unwrap();
        assert_eq!(f.after_seq, 42);
        let Err(ApiError::Validation(errs)) = parse_list_query(
            "limit=-1&cursor=-5&changed_since_seq=abc&state_code=%27%3B--&x=1",
            &limits(),
        ) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["limit", "cursor", "changed_since_seq", "state_code", "x"]
        );
        assert!(parse_list_query("limit=0", &limits()).is_err());
        assert!(parse_list_query("district_code=188", &limits()).is_err());
    }
}
