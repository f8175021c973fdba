//! The uncovered: a scheme's people the sync engine found no worker for — the worklist of a
//! registration drive. Listed by state and district, cut for the caller's purpose and on the
//! record; counted by state and district.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use store::sync::UnregisteredFilter;
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::purpose::FieldPolicy;

const ROUTE: &str = "/v1/schemes/{id}/unregistered";

/// A scheme's person not found in the registry.
#[derive(Serialize, ToSchema)]
pub struct UnregisteredPerson {
    /// The scheme's own reference.
    #[schema(example = "PMJAY-M0000000417")]
    pub reference: String,
    /// The record's status at the scheme.
    #[schema(example = "issued")]
    pub status: String,
    #[schema(example = "10")]
    pub state_code: Option<String>,
    #[schema(example = "230")]
    pub district_code: Option<String>,
    /// The person as the scheme holds them, named as a worker's fields and cut for the caller's
    /// purpose (`name`, `gender`, `date_of_birth`, `mobile`, `state_code`, `district_code`,
    /// `pincode`, `relative_name`).
    #[schema(value_type = Object)]
    pub person: Value,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of the scheme's unregistered people, by reference.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"reference": "PMJAY-M0000000417", "status": "issued",
    "state_code": "10", "district_code": "230",
    "person": {"name": "Sunita Devi", "gender": "F", "date_of_birth": "1987-01-01", "mobile": "9876501234",
      "state_code": "10", "district_code": "230", "pincode": "800001"},
    "first_seen_at": "2026-12-01T10:00:04Z", "updated_at": "2026-12-01T10:00:04Z"}], "next_cursor": null}))]
pub struct UnregisteredPage {
    pub items: Vec<UnregisteredPerson>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// How many of the scheme's people are not in the registry, in one district.
#[derive(Serialize, ToSchema)]
pub struct DistrictCount {
    /// Absent when the scheme did not say.
    pub state_code: Option<String>,
    pub district_code: Option<String>,
    pub unregistered: i64,
}

/// The scheme's people not in the registry, counted by state and district.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"scheme": "pmjay", "unregistered": 197, "by_district": [
    {"state_code": "10", "district_code": "230", "unregistered": 41}]}))]
pub struct UnregisteredSummary {
    pub scheme: String,
    pub unregistered: i64,
    pub by_district: Vec<DistrictCount>,
}

impl Registry {
    /// The scheme's unregistered people in the caller's states (another state asked for is a
    /// miss), at most `limit` after reference `after`; on the record with the fields served.
    pub async fn unregistered(
        &self,
        caller: &Caller,
        mut filter: UnregisteredFilter,
    ) -> Result<(Vec<UnregisteredPerson>, Option<String>)> {
        if let Some(s) = &filter.state_code
            && !caller.may_see_state(s)
        {
            return Err(Error::NotFound);
        }
        filter.allowed_states = caller.states.clone();
        let rows = self.store.unregistered(&filter).await?;
        let next = (rows.len() as i64 == filter.limit)
            .then(|| rows.last().map(|r| r.reference.clone()))
            .flatten();
        let items: Vec<UnregisteredPerson> = rows
            .into_iter()
            .map(|r| UnregisteredPerson {
                person: self.minimise(&caller.purpose, person_as_worker(&r.person)),
                reference: r.reference,
                status: r.status,
                state_code: r.state_code,
                district_code: r.district_code,
                first_seen_at: r.first_seen_at,
                updated_at: r.updated_at,
            })
            .collect();
        let fields = items
            .first()
            .map(|i| FieldPolicy::served_fields(&i.person))
            .unwrap_or_default();
        // Not workers (no UAN to index them by): the entry names the fields served.
        self.record(caller, "unregistered_list", ROUTE, vec![], fields, 200)
            .await?;
        Ok((items, next))
    }

    /// The counts by state and district, in the caller's states.
    pub async fn unregistered_summary(
        &self,
        caller: &Caller,
        scheme: &str,
    ) -> Result<UnregisteredSummary> {
        let counts = self
            .store
            .unregistered_counts(scheme, caller.states.as_deref())
            .await?;
        Ok(UnregisteredSummary {
            scheme: scheme.to_owned(),
            unregistered: counts.iter().map(|c| c.2).sum(),
            by_district: counts
                .into_iter()
                .map(|(state_code, district_code, n)| DistrictCount {
                    state_code,
                    district_code,
                    unregistered: n,
                })
                .collect(),
        })
    }
}

/// A scheme's person (`adapter_core::Person` as JSON) named as a worker's fields, so that a
/// purpose's field policy cuts it as it cuts a worker.
pub fn person_as_worker(person: &Value) -> Value {
    json!({
        "name": person["full_name"], "gender": person["gender"],
        "date_of_birth": person["date_of_birth"], "mobile": person["mobile"],
        "state_code": person["state_code"], "district_code": person["district_code"],
        "pincode": person["pincode"], "relative_name": person["relative_name"],
    })
}
