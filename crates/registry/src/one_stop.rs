//! A worker's one-stop view of the six schemes: the records linked to them in each, whether the
//! registry record meets the rules the registry knows, and the myScheme catalogue schemes their
//! profile meets.

use adapter_core::SchemeId;
use chrono::{DateTime, Utc};
use domain::schemes::{Profile, pmjjby, pmsym};
use domain::{FieldError, Uan};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::enrol::applicant;
use crate::error::Result;

const ROUTE_SCHEMES: &str = "/v1/workers/{uan}/schemes";

/// The worker fields a purpose must see whole to be shown a worker's schemes: enrolments,
/// eligibility by each scheme's rules, and the myScheme catalogue matches are built from them.
const SCHEMES_VIEW_FIELDS: &[&str] = &[
    "date_of_birth",
    "gender",
    "state_code",
    "social_category",
    "monthly_income_inr",
    "occupation_nco",
    "bank_account",
];

/// One of a worker's records in a scheme.
#[derive(Serialize, ToSchema)]
pub struct LinkedRecord {
    /// The scheme's own reference (SPN, policy number, NCS id...).
    #[schema(example = "PMSYM4000000123")]
    pub reference: String,
    #[schema(example = "active")]
    pub status: String,
    /// `enrolment` (made through this gateway), `sync` (found by matching the scheme's records)
    /// or `review` (decided by a person).
    #[schema(example = "enrolment")]
    pub source: String,
    pub details: Value,
    pub linked_at: DateTime<Utc>,
    /// When the scheme said the person left (withdrawn, exited): the link is kept, not enrolled.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Whether the registry record meets the scheme's rules today.
#[derive(Serialize, ToSchema)]
pub struct Eligibility {
    pub eligible: bool,
    /// Each rule not met.
    pub unmet: Vec<RuleBreach>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleBreach {
    #[schema(example = "age")]
    pub rule: String,
    #[schema(example = "outside_age_band")]
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkerScheme {
    pub scheme: SchemeId,
    pub name: &'static str,
    pub enrolled: bool,
    pub records: Vec<LinkedRecord>,
    /// For schemes whose rules the gateway knows (PM-SYM, PMJJBY, AB PM-JAY by age); absent for
    /// the others.
    pub eligibility: Option<Eligibility>,
}

/// A myScheme catalogue scheme whose criteria the worker meets.
#[derive(Serialize, ToSchema)]
pub struct CatalogueMatch {
    #[schema(example = "pmsby")]
    pub slug: String,
    pub title: String,
    pub ministry: String,
    pub benefits: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"uan": "483920175560", "schemes": [
    {"scheme": "pmsym", "name": "Pradhan Mantri Shram Yogi Maan-dhan (PM-SYM)", "enrolled": true,
     "records": [{"reference": "PMSYM4000002001", "status": "active", "source": "enrolment",
       "details": {"monthly_contribution_inr": 100, "entry_age": 29}, "linked_at": "2026-11-23T10:20:11.204Z"}],
     "eligibility": {"eligible": true, "unmet": []}},
    {"scheme": "pmjjby", "name": "Pradhan Mantri Jeevan Jyoti Bima Yojana (PMJJBY)", "enrolled": false,
     "records": [], "eligibility": {"eligible": false, "unmet": [{"rule": "age", "code": "outside_age_band",
     "message": "PMJJBY takes entry ages 18 to 50; the worker is 55"}]}}],
    "may_qualify": [{"slug": "pmsby", "title": "Pradhan Mantri Suraksha Bima Yojana", "ministry": "Ministry of Finance",
     "benefits": "Accident cover of 2 lakh rupees for 20 rupees a year"}],
    "catalogue_error": null}))]
pub struct WorkerSchemes {
    pub uan: String,
    pub schemes: Vec<WorkerScheme>,
    /// Schemes of the myScheme catalogue whose machine-readable criteria the worker meets; null
    /// when myScheme could not be reached (see `catalogue_error`).
    pub may_qualify: Option<Vec<CatalogueMatch>>,
    pub catalogue_error: Option<String>,
}

impl Registry {
    /// The view, for a purpose that sees whole every field it is built from.
    pub async fn worker_schemes(&self, caller: &Caller, uan: &Uan) -> Result<WorkerSchemes> {
        self.require_fields(&caller.purpose, SCHEMES_VIEW_FIELDS)?;
        let worker = self
            .visible_worker(caller, uan, "read_schemes", ROUTE_SCHEMES)
            .await?;
        let links = self.store.scheme_links(uan.as_str()).await?;
        let today = self.today();
        let applicant = applicant(&worker, &Default::default());
        let age = domain::worker::age_on(worker.date_of_birth, today);
        let schemes = SchemeId::ALL
            .into_iter()
            .map(|id| {
                let enrolled = links
                    .iter()
                    .any(|l| l.scheme == id.as_str() && l.enrolled());
                let records: Vec<LinkedRecord> = links
                    .iter()
                    .filter(|l| l.scheme == id.as_str())
                    .map(|l| LinkedRecord {
                        reference: l.reference.clone(),
                        status: l.status.clone(),
                        source: l.source.clone(),
                        details: l.details.clone(),
                        linked_at: l.linked_at,
                        ended_at: l.ended_at,
                    })
                    .collect();
                let eligibility = match id {
                    SchemeId::Pmsym => {
                        Some(eligibility(pmsym::check(&applicant, today).map(|_| ())))
                    }
                    SchemeId::Pmjjby => Some(eligibility(
                        pmjjby::check(&applicant, true, today).map(|_| ()),
                    )),
                    SchemeId::Pmjay
                        if domain::eligibility::decide(
                            domain::eligibility::Programme::Pmjay,
                            &crate::eligibility::facts(&worker),
                            today,
                        )
                        .status
                            == domain::eligibility::Status::Eligible =>
                    {
                        Some(eligibility(Ok(())))
                    }
                    _ => None,
                };
                WorkerScheme {
                    scheme: id,
                    name: id.facts().name,
                    enrolled,
                    records,
                    eligibility,
                }
            })
            .collect();
        let (may_qualify, catalogue_error) = match self.schemes.catalogue().await {
            Ok(list) => {
                let profile = Profile {
                    age,
                    gender: worker.gender.as_str(),
                    state_code: worker.state_code.code(),
                    social_category: worker.social_category.as_str(),
                    monthly_income_inr: worker.monthly_income_inr,
                    occupation_nco: worker.occupation_nco.as_str(),
                };
                let matches = list
                    .iter()
                    .filter(|e| e.criteria.unmet(&profile).is_empty())
                    .map(|e| CatalogueMatch {
                        slug: e.slug.clone(),
                        title: e.title.clone(),
                        ministry: e.ministry.clone(),
                        benefits: e.benefits.clone(),
                    })
                    .collect();
                (Some(matches), None)
            }
            Err(e) => (None, Some(self.summary(&e))),
        };
        self.record(
            caller,
            "read_schemes",
            ROUTE_SCHEMES,
            vec![uan.to_string()],
            SCHEMES_VIEW_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            200,
        )
        .await?;
        Ok(WorkerSchemes {
            uan: uan.to_string(),
            schemes,
            may_qualify,
            catalogue_error,
        })
    }
}

fn eligibility(r: Result<(), Vec<FieldError>>) -> Eligibility {
    match r {
        Ok(()) => Eligibility {
            eligible: true,
            unmet: vec![],
        },
        Err(broken) => Eligibility {
            eligible: false,
            unmet: broken
                .into_iter()
                .map(|b| RuleBreach {
                    rule: b.field,
                    code: b.code.to_owned(),
                    message: b.message,
                })
                .collect(),
        },
    }
}
