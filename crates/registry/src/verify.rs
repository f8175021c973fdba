//! Verifying a worker's identity: a partner confirms that the person in front of it is the worker
//! with this UAN, and learns match / no match and a score, never the record.

use chrono::NaiveDate;
use domain::error::{Errors, FieldError, Invalid};
use domain::{Mobile, Uan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::Result;

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

/// Where the audit log says a verification came from.
const ROUTE: &str = "/v1/workers/verify";

/// What the partner claims, each part checked.
pub struct Claims {
    name: Option<String>,
    uan: Uan,
    dob: Option<NaiveDate>,
    mobile: Option<Mobile>,
}

/// Every problem of the request at once.
pub fn claims(r: &VerifyRequest) -> Result<Claims, Vec<FieldError>> {
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
        (Some(uan), Some(dob), Some(mobile)) if e.is_empty() => Ok(Claims {
            name: r.name.clone(),
            uan,
            dob,
            mobile,
        }),
        _ => Err(e.into_vec()),
    }
}

impl Registry {
    /// Whether the claims agree with the worker in the caller's states. Names are compared after
    /// normalisation; dates and mobiles exactly. Each call is on the worker's access log.
    pub async fn verify(&self, caller: &Caller, claims: Claims) -> Result<VerifyResponse> {
        let Claims {
            name,
            uan,
            dob,
            mobile,
        } = claims;
        let worker = self.visible_worker(caller, &uan, "verify", ROUTE).await?;
        let mut scores = Vec::new();
        let mut checked = Vec::new();
        let mut agrees = true;
        if let Some(name) = &name {
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
        // The score says how strong a match is. On no match it is 0, whatever agreed: a per-field
        // score would let a caller hold the name fixed and enumerate dates of birth one call at a
        // time.
        let score = if agrees {
            (scores.iter().sum::<f64>() / scores.len() as f64 * 100.0).round() / 100.0
        } else {
            0.0
        };
        let uans = vec![uan.to_string()];
        self.record(caller, "verify", ROUTE, uans, checked.clone(), 200)
            .await?;
        Ok(VerifyResponse {
            matched: agrees,
            score,
            checked,
        })
    }
}
