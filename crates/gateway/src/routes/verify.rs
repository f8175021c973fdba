//! `POST /v1/workers/verify`: a partner confirms that the person in front of it is the worker with
//! this UAN, and learns match / no match and a score, never the record.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, post};
use chrono::NaiveDate;
use domain::error::{Errors, FieldError, Invalid};
use domain::{Mobile, Uan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::authorize::{Authorized, WorkersVerify};
use crate::body::{parse_form, read_limited, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::record;
use crate::state::AppState;

/// Name similarity (Jaro-Winkler over normalised names) at or above which names agree.
const NAME_AGREES: f64 = 0.88;

/// What the partner holds: the UAN plus name and date of birth, or a mobile number, or all three.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"uan": "483920175560", "name": "Mohd Irfan", "date_of_birth": "1991-04-12"}))]
pub struct VerifyRequest {
    /// 12-digit e-Shram UAN.
    #[schema(pattern = r"^[0-9]{12}$")]
    pub uan: String,
    /// The name as the partner holds it, in any script.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// 10 digits from 6-9, with or without `+91` or `0`.
    #[schema(pattern = r"^(\+91[ -]?|91|0)?[6-9][0-9]{4}[ -]?[0-9]{5}$")]
    pub mobile: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"match": true, "score": 1.0, "checked": ["name", "date_of_birth"]}))]
pub struct VerifyResponse {
    /// True when every field sent agrees with the registry.
    #[serde(rename = "match")]
    #[schema(rename = "match")]
    pub matched: bool,
    /// How strong the match is (0 to 1, two decimals); 0 when there is no match.
    #[schema(example = 0.97)]
    pub score: f64,
    /// The fields compared.
    pub checked: Vec<String>,
}

/// Verify a worker's identity without receiving the record.
///
/// For a counter or a field officer with a person in front of them: send the UAN with the name
/// and date of birth, or the mobile, or all three, and learn whether they agree with the registry.
/// Names are compared after normalisation (scripts, honorifics, spelling variants); dates and
/// mobiles exactly. On no match the score is 0, whatever agreed, so the call cannot be used to
/// guess a field one value at a time. Each call is written to the worker's access log.
#[utoipa::path(
    tag = "Partners",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 200, description = "Match or no match, with a score.", body = VerifyResponse),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `workers:verify`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed field, or neither name and date of birth nor mobile.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["workers:verify"]))
)]
#[post("/workers/verify")]
pub async fn verify(
    auth: Authorized<WorkersVerify>,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &["application/json"])?;
    let body = read_limited(&req, payload, state.limits.verify_body_bytes).await?;
    let (r, Claims { uan, dob, mobile }) = parse_form::<VerifyRequest>(&body)?.validate(claims)?;
    let Some(worker) = state
        .store
        .worker(&uan, auth.caller.states.as_deref())
        .await?
    else {
        record(
            &state,
            &auth.caller,
            "verify",
            ROUTE,
            vec![uan.to_string()],
            vec![],
            404,
        )
        .await?;
        return Err(ApiError::NotFound);
    };
    let mut scores = Vec::new();
    let mut checked = Vec::new();
    let mut agrees = true;
    if let Some(name) = &r.name {
        let s = domain::names::similarity(name, &worker.name);
        agrees &= s >= NAME_AGREES;
        scores.push(s);
        checked.push("name".to_owned());
    }
    if let Some(dob) = dob {
        let same = dob == worker.date_of_birth;
        agrees &= same;
        scores.push(if same { 1.0 } else { 0.0 });
        checked.push("date_of_birth".to_owned());
    }
    if let Some(m) = mobile {
        let same = m == worker.mobile;
        agrees &= same;
        scores.push(if same { 1.0 } else { 0.0 });
        checked.push("mobile".to_owned());
    }
    // The score says how strong a match is. On no match it is 0, whatever agreed: a per-field score
    // would let a caller hold the name fixed and enumerate dates of birth one call at a time.
    let score = if agrees {
        (scores.iter().sum::<f64>() / scores.len() as f64 * 100.0).round() / 100.0
    } else {
        0.0
    };
    record(
        &state,
        &auth.caller,
        "verify",
        ROUTE,
        vec![uan.to_string()],
        checked.clone(),
        200,
    )
    .await?;
    Ok(HttpResponse::Ok().json(VerifyResponse {
        matched: agrees,
        score,
        checked,
    }))
}

const ROUTE: &str = "/v1/workers/verify";

/// What the partner claims, each part checked.
struct Claims {
    uan: Uan,
    dob: Option<NaiveDate>,
    mobile: Option<Mobile>,
}

/// Every problem of the request at once.
fn claims(r: &VerifyRequest) -> Result<Claims, Vec<FieldError>> {
    let mut e = Errors::default();
    let uan = e.check("uan", Uan::parse(&r.uan));
    if !(r.name.is_some() && r.date_of_birth.is_some()) && r.mobile.is_none() {
        e.push(
            Invalid::new(
                "required",
                "send name and date_of_birth, or mobile (or all three)",
            )
            .at("name"),
        );
    }
    let dob = match &r.date_of_birth {
        Some(d) => e
            .check("date_of_birth", domain::worker::parse_date(d))
            .map(Some),
        None => Some(None),
    };
    let mobile = match &r.mobile {
        Some(m) => e.check("mobile", Mobile::parse(m)).map(Some),
        None => Some(None),
    };
    match (uan, dob, mobile) {
        (Some(uan), Some(dob), Some(mobile)) if e.is_empty() => Ok(Claims { uan, dob, mobile }),
        _ => Err(e.into_vec()),
    }
}
