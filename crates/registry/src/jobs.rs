//! NCS vacancies for a worker: only the district and occupation leave for NCS, on the record
//! before they go.

use adapter_core::SchemeId;
use domain::Uan;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};

const ROUTE_JOBS: &str = "/v1/workers/{uan}/jobs";

/// The worker fields a purpose must see whole to be shown a worker's job matches.
const JOBS_VIEW_FIELDS: &[&str] = &["district_code", "occupation_nco"];

/// Vacancies near the worker.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"uan": "483920175560", "district_code": "230", "occupation_nco": "9313.0100",
    "vacancies": [{"vacancy_id": "NCSV-970393-1", "title": "Building construction labourer",
    "employer": "Tata Projects", "nco_code": "9313.0100", "district_code": "230", "openings": 25,
    "wage_inr_month": 15000, "posted_on": "2025-03-13"}]}))]
pub struct Jobs {
    pub uan: String,
    #[schema(example = "164")]
    pub district_code: String,
    #[schema(example = "9313.0100")]
    pub occupation_nco: String,
    pub vacancies: Vec<Vacancy>,
}

/// A vacancy as NCS lists it.
#[derive(Serialize, ToSchema)]
pub struct Vacancy {
    #[schema(example = "NCSV-482913-1")]
    pub vacancy_id: String,
    #[schema(example = "Building construction labourer")]
    pub title: String,
    pub employer: String,
    pub nco_code: String,
    pub district_code: String,
    pub openings: u32,
    pub wage_inr_month: u32,
    pub posted_on: chrono::NaiveDate,
}

impl Registry {
    /// Open vacancies in the worker's district with the worker's NCO-2015 code, for a purpose
    /// that sees both whole.
    pub async fn jobs(&self, caller: &Caller, uan: &Uan) -> Result<Jobs> {
        self.require_fields(&caller.purpose, JOBS_VIEW_FIELDS)?;
        let ncs = self.schemes.ncs()?;
        let worker = self
            .visible_worker(caller, uan, "read_jobs", ROUTE_JOBS)
            .await?;
        let district = worker.district_code.as_str().to_owned();
        let nco = worker.occupation_nco.as_str().to_owned();
        let fields: Vec<String> = JOBS_VIEW_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        let uans = || vec![uan.to_string()];
        // The district and occupation leave for NCS: on the record before they go, as an
        // enrolment's fields are. If the log cannot take the entry, nothing is sent.
        self.record(caller, "jobs_send", ROUTE_JOBS, uans(), fields.clone(), 102)
            .await?;
        let list = match ncs.vacancies(&district, &nco).await {
            Ok(list) => list,
            Err(e) => {
                let error = Error::Scheme {
                    scheme: SchemeId::Ncs,
                    error: e,
                };
                let status = self.status_of(&error);
                self.record(caller, "read_jobs", ROUTE_JOBS, uans(), fields, status)
                    .await?;
                return Err(error);
            }
        };
        self.record(caller, "read_jobs", ROUTE_JOBS, uans(), fields, 200)
            .await?;
        Ok(Jobs {
            uan: uan.to_string(),
            district_code: district,
            occupation_nco: nco,
            vacancies: list
                .into_iter()
                .map(|v| Vacancy {
                    vacancy_id: v.vacancy_id,
                    title: v.title,
                    employer: v.employer,
                    nco_code: v.nco_code,
                    district_code: v.district_code,
                    openings: v.openings,
                    wage_inr_month: v.wage_inr_month,
                    posted_on: v.posted_on,
                })
                .collect(),
        })
    }
}
