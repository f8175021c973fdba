//! `/v1/workers/{uan}/eligibility`: a worker's standing in each scheme as of a date, with the
//! rules that decided and the next step in English or Hindi (the use case is
//! `registry::eligibility`).

use actix_web::http::header;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, get};
use domain::{Errors, Invalid};
use registry::eligibility::{Language, WorkerEligibility};

use crate::authorize::{Authorized, WorkersRead};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::query;
use crate::routes::workers::parse_uan;
use crate::state::AppState;

/// A worker's eligibility for each scheme, as of a date.
///
/// For NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY and PMSBY: `enrolled` (a linked record the
/// scheme has not ended), `eligible`, `not_eligible` or `unknown` (a fact the registry does not
/// hold, named — AB PM-JAY below 70 depends on the family's SECC 2011 listing). Each answer names
/// the rules that decided it (`pmsym.age@2019-02-15`: the scheme, the condition, the version of
/// the terms), their source, and the next step in words a worker understands. `as_of` evaluates
/// the terms in force on that day (default today): the PMJJBY premium is 330 rupees before
/// 1 June 2022 and 436 from then, the AB PM-JAY senior cover starts on 29 October 2024.
/// `Accept-Language: hi` gives the next steps in Hindi. The token's purpose must see the date of
/// birth, income and bank account whole; the read is on the audit log.
#[utoipa::path(
    tag = "Partners",
    params(
        ("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$"),
        ("as_of" = Option<String>, Query, description = "The day to evaluate the rules on, `YYYY-MM-DD` (default today).", example = "2026-12-02"),
        ("Accept-Language" = Option<String>, Header, description = "`hi` for Hindi next steps; English otherwise."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "The worker's standing in each scheme.", body = WorkerEligibility),
        (status = 403, description = "The token lacks `workers:read`, or its purpose may not see the fields the rules read (`purpose_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN, or `as_of` is not a date (each named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:read"]))
)]
#[get("/workers/{uan}/eligibility")]
pub async fn worker_eligibility(
    auth: Authorized<WorkersRead>,
    req: HttpRequest,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    let mut e = Errors::default();
    let pairs = query::pairs(req.query_string(), &["as_of"], &mut e)?;
    let mut as_of = None;
    for (k, v) in &pairs {
        as_of = e.check(k, parse_day(v));
    }
    if !e.is_empty() {
        return Err(ApiError::Validation(e.into_vec()));
    }
    let language = language(&req);
    let view = state
        .registry
        .eligibility(&auth.caller, &uan, as_of, language)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, language.as_str()))
        .insert_header((header::VARY, "Accept-Language"))
        .json(view))
}

fn parse_day(v: &str) -> Result<chrono::NaiveDate, Invalid> {
    let d = domain::worker::parse_date(v)?;
    if d.year_ce().1 < 1900 || d.year_ce().1 > 2200 {
        return Err(Invalid::new("out_of_range", "a day between 1900 and 2200"));
    }
    Ok(d)
}

use chrono::Datelike;

/// Hindi when the caller's first acceptable language is Hindi, English otherwise.
pub fn language(req: &HttpRequest) -> Language {
    let accepted = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut best: Option<(f32, Language)> = None;
    for part in accepted.split(',') {
        let mut bits = part.trim().split(';');
        let tag = bits.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = bits
            .find_map(|b| {
                b.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = match tag.split('-').next().unwrap_or_default() {
            "hi" => Language::Hi,
            "en" => Language::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Language::En, |(_, l)| l)
}
