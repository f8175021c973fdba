//! NCS (National Career Service): job seekers by page number, job-seeker registration, vacancies
//! by district and NCO code. API key auth (configured on the upstream).

use adapter_core::{
    AdapterError, Call, Cursor, Page, Person, PushReceipt, SchemeAction, SchemeAdapter, SchemeId,
    SchemeRecord, Upstream, UpstreamConfig,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub struct Ncs {
    up: Upstream,
}

impl Ncs {
    pub fn new(config: UpstreamConfig) -> Result<Ncs, AdapterError> {
        Ok(Ncs {
            up: Upstream::new("ncs", config)?,
        })
    }

    /// Vacancies in `district` for the NCO occupation `nco` (`9313.0100`).
    pub async fn vacancies(&self, district: &str, nco: &str) -> Result<Vec<Vacancy>, AdapterError> {
        let q = query_string(&[("district", district), ("nco", nco)]);
        let reply = self
            .up
            .send(&Call::get(format!("/api/v1/vacancies?{q}")))
            .await?;
        if !reply.is_success() {
            return Err(reply.error("ncs"));
        }
        #[derive(Deserialize)]
        struct Wire {
            vacancies: Vec<Vacancy>,
        }
        Ok(reply.json::<Wire>("ncs")?.vacancies)
    }
}

/// A vacancy as NCS lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vacancy {
    pub vacancy_id: String,
    pub title: String,
    pub employer: String,
    pub nco_code: String,
    pub district_code: String,
    pub openings: u32,
    pub wage_inr_month: u32,
    pub posted_on: chrono::NaiveDate,
}

#[derive(Deserialize)]
struct WirePage {
    page: u64,
    /// The page size the server used (it may cap the one asked for).
    size: u64,
    total_pages: u64,
    data: Vec<WireSeeker>,
}

#[derive(Deserialize)]
struct WireSeeker {
    ncs_id: String,
    name: String,
    gender: String,
    dob: Option<String>,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    state_code: String,
    #[serde(default)]
    district_code: String,
    #[serde(default)]
    pincode: String,
    #[serde(default)]
    father_name: String,
    eshram_uan: Option<String>,
    registered_on: Option<String>,
    status: String,
}

/// The cursor is the next page and the page size it was counted in: a page is passed only once
/// it came back whole, so a short last page is asked for again next time.
fn parse_cursor(c: Option<&Cursor>, limit: usize) -> Result<(u64, u64), AdapterError> {
    let Some(c) = c else {
        return Ok((1, limit.clamp(1, 1000) as u64));
    };
    let bad = || AdapterError::malformed("ncs", "cursor is not an NCS cursor");
    let (p, s) =
        c.0.strip_prefix('p')
            .and_then(|r| r.split_once('s'))
            .ok_or_else(bad)?;
    Ok((p.parse().map_err(|_| bad())?, s.parse().map_err(|_| bad())?))
}

#[async_trait]
impl SchemeAdapter for Ncs {
    fn id(&self) -> SchemeId {
        SchemeId::Ncs
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let (page, size) = parse_cursor(cursor, limit)?;
        let reply = self
            .up
            .send(&Call::get(format!(
                "/api/v1/jobseekers?page={page}&size={size}"
            )))
            .await?;
        if !reply.is_success() {
            return Err(reply.error("ncs"));
        }
        let wire: WirePage = reply.json("ncs")?;
        if wire.page != page {
            return Err(AdapterError::malformed("ncs", "answered another page"));
        }
        // Pages are counted in the size the server used. A page is passed once it came back whole
        // (duplicates of the page's own records do not count towards it).
        let size = if wire.size > 0 { wire.size } else { size };
        let mut seen = std::collections::HashSet::new();
        let records: Vec<SchemeRecord> = wire
            .data
            .into_iter()
            .filter(|s| seen.insert(s.ncs_id.clone()))
            .map(record)
            .collect();
        let whole = records.len() as u64 >= size;
        let next = if whole { page + 1 } else { page };
        Ok(Page {
            records,
            cursor: Cursor(format!("p{next}s{size}")),
            more: whole && page < wire.total_pages,
        })
    }

    async fn push(&self, action: &SchemeAction) -> Result<PushReceipt, AdapterError> {
        let SchemeAction::Enrol(e) = action;
        let body = serde_json::json!({
            "name": e.person.full_name,
            "gender": e.person.gender,
            "dob": e.person.date_of_birth,
            "mobile": e.person.mobile,
            "eshram_uan": e.uan,
            "state_code": e.person.state_code,
            "district_code": e.person.district_code,
            "nco_code": e.occupation_nco,
        });
        // NCS keeps one registration per UAN, so sending it again is safe.
        let mut call = Call::post_json("/api/v1/jobseekers", &body);
        call.idempotent = true;
        let reply = self.up.send(&call).await?;
        match reply.status {
            200 | 201 => reply.receipt("ncs", "ncs_id", &[]),
            422 => Err(adapter_core::error::refused_from(
                "ncs",
                &reply.body,
                "errors",
            )),
            _ => Err(reply.error("ncs")),
        }
    }
}

fn record(s: WireSeeker) -> SchemeRecord {
    let mut facts = serde_json::Map::new();
    if let Some(on) = &s.registered_on {
        facts.insert("registered_on".into(), on.clone().into());
    }
    SchemeRecord {
        scheme: SchemeId::Ncs,
        reference: s.ncs_id,
        status: s.status.to_lowercase(),
        person: Some(Person {
            full_name: s.name,
            gender: adapter_core::record::gender_code(&s.gender),
            date_of_birth: s
                .dob
                .as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            year_only: false,
            mobile: s.mobile,
            state_code: s.state_code,
            district_code: s.district_code,
            pincode: s.pincode,
            relative_name: s.father_name,
            eshram_uan: s.eshram_uan.unwrap_or_default(),
        }),
        facts,
        updated_at: None,
    }
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", adapter_core::record::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
