//! `/v1/reports`: coverage counts for state nodal officers and the public dashboard, and the
//! outreach worklist (the use cases are `registry::coverage`).

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};
use domain::eligibility::Programme;
use domain::{DistrictCode, Errors, Invalid, StateCode};
use registry::coverage::{CoverageAsk, CoverageLine, CoverageReport};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::authorize::{Authorized, ReportsRead, ReportsWorklist};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::query;

use crate::state::AppState;

const DIMENSIONS: &[&str] = &[
    "state",
    "district",
    "gender",
    "social_category",
    "occupation_division",
];
const SCHEMES: &str = "ncs, sidh, myscheme, pmsym, pmjay, pmjjby or pmsby";
const CURSOR: &str = "gap1:";

/// Coverage: registered, enrolled, eligible but not enrolled.
///
/// For each scheme (or `scheme`), the counts over the filters (`totals`) and by the groups of
/// `group_by` (any of `state`, `district`, `gender`, `social_category`, `occupation_division`,
/// comma-separated): workers registered, enrolled (a linked record the scheme has not ended),
/// eligible under the rules in force on `as_of` and not enrolled, and the shares. Counts under 10
/// are `"<10"`, and so is any second count that would let one be recovered by subtraction. A
/// token limited to some states counts only theirs. Counts are kept up to date as workers and
/// links change, with eligibility under the rules in force today; `as_of` an earlier day gives that
/// day's counts as they stood at its end (kept each day when the date turns). `Accept:
/// text/csv` gives the rows as CSV.
#[utoipa::path(
    tag = "Reports",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated dimensions.", example = "state,gender"),
        ("scheme" = Option<String>, Query, description = "One scheme (default: every one).", example = "pmsym"),
        ("as_of" = Option<String>, Query, description = "`YYYY-MM-DD`: today (the default), or an earlier day whose counts were kept."),
        ("state_code" = Option<String>, Query, description = "2-digit LGD state code.", example = "10"),
        ("district_code" = Option<String>, Query, description = "LGD district code (needs `state_code`)."),
        ("gender" = Option<String>, Query, description = "`male`, `female` or `transgender`."),
        ("social_category" = Option<String>, Query, description = "`general`, `obc`, `sc` or `st`."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "The counts (JSON, or CSV with `Accept: text/csv`: columns scheme, the dimensions, registered, enrolled, eligible_not_enrolled, enrolled_share, saturation).", body = CoverageReport),
        (status = 403, description = "The token lacks `reports:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`state_code` is outside your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is malformed or unknown, or no counts were kept for `as_of` (each named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["reports:read"]))
)]
#[get("/reports/coverage")]
pub async fn coverage(
    auth: Authorized<ReportsRead>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ask = parse_coverage(req.query_string())?;
    let report = state.registry.coverage(&auth.caller, &ask).await?;
    if wants_csv(&req) {
        return Ok(csv_response(coverage_csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// A page of the outreach worklist.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"uan": "483920175560", "name": "Sunita Devi", "gender": "female",
    "date_of_birth": "1997-12-01", "state_code": "10", "district_code": "230", "monthly_income_inr": 9000}],
    "next_cursor": "Z2FwMTo0ODM5MjAxNzU1NjA"}))]
pub struct GapsPage {
    /// Workers eligible for the scheme and not enrolled, cut to the fields the token's purpose sees.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// Outreach worklist: eligible workers not yet enrolled.
///
/// Workers the rules in force today make eligible for `scheme` who are not enrolled in it, in UAN
/// order, with the fields the token's purpose allows: whom to reach at the next camp. Filter by
/// `state_code` and `district_code`; a token limited to some states lists only theirs. Every
/// worker listed is on the audit log. `Accept: text/csv` gives the page as CSV.
#[utoipa::path(
    tag = "Reports",
    params(
        ("scheme" = String, Query, description = "The scheme.", example = "pmsym"),
        ("state_code" = Option<String>, Query, description = "2-digit LGD state code.", example = "10"),
        ("district_code" = Option<String>, Query, description = "LGD district code (needs `state_code`)."),
        ("limit" = Option<i64>, Query, description = "1-1000 (larger values are capped), default 100.", minimum = 1),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        CommonErrors,
        (status = 200, description = "A page of workers (JSON, or CSV with `Accept: text/csv`).", body = GapsPage),
        (status = 403, description = "The token lacks `reports:worklist`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`state_code` is outside your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is missing, malformed or unknown (each named).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["reports:worklist"]))
)]
#[get("/reports/gaps")]
pub async fn gaps(
    auth: Authorized<ReportsWorklist>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut e = Errors::default();
    let known = ["scheme", "state_code", "district_code", "limit", "cursor"];
    let pairs = query::pairs(req.query_string(), &known, &mut e)?;
    let (mut scheme, mut st, mut district, mut limit, mut after) =
        (None, None, None, 100, String::new());
    for (k, v) in &pairs {
        match k.as_str() {
            "scheme" => scheme = e.check(k, parse_programme(v)),
            "state_code" => st = e.check(k, StateCode::parse(v)).map(|s| s.code().to_owned()),
            "district_code" => {
                district = e
                    .check(k, DistrictCode::parse(v))
                    .map(|d| d.as_str().to_owned())
            }
            "limit" => limit = e.check(k, query::limit(v, 1000)).unwrap_or(limit),
            _ => {
                after = e
                    .check(k, query::decode_cursor(CURSOR, v))
                    .unwrap_or_default()
            }
        }
    }
    if scheme.is_none() && !pairs.iter().any(|(k, _)| k == "scheme") {
        e.push(Invalid::new("required", format!("one of {SCHEMES}")).at("scheme"));
    }
    need_state(&pairs, &district, &mut e);
    if !e.is_empty() {
        return Err(ApiError::Validation(e.into_vec()));
    }
    let Some(scheme) = scheme else {
        return Err(ApiError::Validation(vec![]));
    };
    let items = state
        .registry
        .gaps(
            &auth.caller,
            scheme,
            st.as_deref(),
            district.as_deref(),
            &after,
            limit,
        )
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().and_then(|w| w["uan"].as_str()))
        .flatten()
        .map(|u| query::encode_cursor(CURSOR, u));
    if wants_csv(&req) {
        let mut res = csv_response(gaps_csv(&items));
        if let Some(c) = &next_cursor
            && let Ok(v) = header::HeaderValue::from_str(c)
        {
            res.headers_mut()
                .insert(header::HeaderName::from_static("x-next-cursor"), v);
        }
        return Ok(res);
    }
    Ok(HttpResponse::Ok().json(GapsPage { items, next_cursor }))
}

fn parse_programme(v: &str) -> Result<Programme, Invalid> {
    Programme::parse(v)
        .filter(|p| *p != Programme::Eshram)
        .ok_or_else(|| Invalid::new("unknown_scheme", format!("one of {SCHEMES}")))
}

fn need_state(pairs: &[(String, String)], district: &Option<String>, e: &mut Errors) {
    if district.is_some() && !pairs.iter().any(|(k, _)| k == "state_code") {
        e.push(
            Invalid::new(
                "required",
                "district codes are unique only within a state: give state_code too",
            )
            .at("state_code"),
        );
    }
}

pub fn parse_coverage(q: &str) -> Result<CoverageAsk, ApiError> {
    let mut e = Errors::default();
    let known = [
        "group_by",
        "scheme",
        "as_of",
        "state_code",
        "district_code",
        "gender",
        "social_category",
    ];
    let pairs = query::pairs(q, &known, &mut e)?;
    let mut ask = CoverageAsk::default();
    for (k, v) in &pairs {
        match k.as_str() {
            "group_by" => {
                for d in v.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    if !DIMENSIONS.contains(&d) {
                        e.push(
                            Invalid::new(
                                "unknown_dimension",
                                format!("group by {}", DIMENSIONS.join(", ")),
                            )
                            .at(k),
                        );
                    } else if !ask.group_by.iter().any(|g| g == d) {
                        ask.group_by.push(d.to_owned());
                    }
                }
            }
            "scheme" => ask.scheme = e.check(k, parse_programme(v)),
            "as_of" => ask.as_of = e.check(k, domain::worker::parse_date(v)),
            "state_code" => {
                ask.state_code = e.check(k, StateCode::parse(v)).map(|s| s.code().to_owned())
            }
            "district_code" => {
                ask.district_code = e
                    .check(k, DistrictCode::parse(v))
                    .map(|d| d.as_str().to_owned())
            }
            "gender" => {
                ask.gender = e.check(
                    k,
                    domain::worker::Gender::parse(v).map(|g| g.as_str().to_owned()),
                )
            }
            _ => {
                ask.social_category = e.check(
                    k,
                    domain::worker::SocialCategory::parse(v).map(|c| c.as_str().to_owned()),
                )
            }
        }
    }
    need_state(&pairs, &ask.district_code, &mut e);
    if e.is_empty() {
        Ok(ask)
    } else {
        Err(ApiError::Validation(e.into_vec()))
    }
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

fn csv_response(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(body)
}

fn coverage_csv(r: &CoverageReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    let mut head = vec!["scheme".to_owned()];
    head.extend(r.group_by.iter().cloned());
    head.extend(
        [
            "registered",
            "enrolled",
            "eligible_not_enrolled",
            "enrolled_share",
            "saturation",
        ]
        .map(str::to_owned),
    );
    let _ = w.write_record(&head);
    let write = |w: &mut csv::Writer<Vec<u8>>, l: &CoverageLine, total: bool| {
        let mut rec = vec![l.scheme.to_owned()];
        for d in &r.group_by {
            rec.push(if total {
                "total".to_owned()
            } else {
                l.group.get(d).cloned().unwrap_or_default()
            });
        }
        rec.push(l.registered.text());
        rec.push(l.enrolled.text());
        rec.push(l.eligible_not_enrolled.text());
        rec.push(l.enrolled_share.map(|s| s.to_string()).unwrap_or_default());
        rec.push(l.saturation.map(|s| s.to_string()).unwrap_or_default());
        let _ = w.write_record(&rec);
    };
    for l in &r.rows {
        write(&mut w, l, false);
    }
    for l in &r.totals {
        write(&mut w, l, true);
    }
    w.into_inner().unwrap_or_default()
}

fn gaps_csv(items: &[Value]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    let columns: Vec<String> = items
        .first()
        .and_then(|i| i.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_else(|| vec!["uan".into()]);
    let _ = w.write_record(&columns);
    for i in items {
        let rec: Vec<String> = columns
            .iter()
            .map(|c| match &i[c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let _ = w.write_record(&rec);
    }
    w.into_inner().unwrap_or_default()
}
