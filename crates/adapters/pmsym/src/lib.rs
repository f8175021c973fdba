//! PM-SYM: subscribers by `since` timestamp and last id (OAuth2 client credentials on the
//! upstream), and enrolment carrying an idempotency key.

use adapter_core::{
    AdapterError, Call, Cursor, Page, Person, PushReceipt, SchemeAction, SchemeAdapter, SchemeId,
    SchemeRecord, Upstream, UpstreamConfig,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub struct Pmsym {
    up: Upstream,
}

impl Pmsym {
    pub fn new(config: UpstreamConfig) -> Result<Pmsym, AdapterError> {
        Ok(Pmsym {
            up: Upstream::new("pmsym", config)?,
        })
    }
}

#[derive(Deserialize)]
struct WirePage {
    subscribers: Vec<WireSubscriber>,
    has_more: bool,
}

#[derive(Deserialize)]
struct WireSubscriber {
    spn: String,
    subscriber_name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    mobile_no: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    spouse_name: String,
    #[serde(default)]
    eshram_uan: String,
    entry_age: Option<u32>,
    monthly_contribution: Option<u32>,
    status: String,
    enrolled_on: Option<String>,
    updated_at: DateTime<Utc>,
}

/// `<RFC 3339 time>|<spn>` of the newest record returned so far.
fn parse_cursor(c: Option<&Cursor>) -> Result<Option<(DateTime<Utc>, String)>, AdapterError> {
    let Some(c) = c.filter(|c| !c.0.is_empty()) else {
        return Ok(None);
    };
    let bad = || AdapterError::malformed("pmsym", "cursor is not a PM-SYM cursor");
    let (t, id) = c.0.split_once('|').ok_or_else(bad)?;
    let t = DateTime::parse_from_rfc3339(t).map_err(|_| bad())?;
    Ok(Some((t.with_timezone(&Utc), id.to_owned())))
}

#[async_trait]
impl SchemeAdapter for Pmsym {
    fn id(&self) -> SchemeId {
        SchemeId::Pmsym
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let from = parse_cursor(cursor)?;
        let limit = limit.clamp(1, 1000);
        let path = match &from {
            None => format!("/api/subscribers?limit={limit}"),
            Some((t, id)) => format!(
                "/api/subscribers?since={}&after={}&limit={limit}",
                adapter_core::record::url_encode(&t.to_rfc3339()),
                adapter_core::record::url_encode(id)
            ),
        };
        let reply = self.up.send(&Call::get(path)).await?;
        if !reply.is_success() {
            return Err(reply.error("pmsym"));
        }
        let wire: WirePage = reply.json("pmsym")?;
        // Records may come out of order: resume after the newest one, whatever its position.
        let newest = wire
            .subscribers
            .iter()
            .map(|s| (s.updated_at, s.spn.clone()))
            .max();
        let cursor = match newest.or(from) {
            Some((t, id)) => Cursor(format!("{}|{id}", t.to_rfc3339())),
            None => Cursor(String::new()),
        };
        let mut seen = std::collections::HashSet::new();
        let records = wire
            .subscribers
            .into_iter()
            .filter(|s| seen.insert(s.spn.clone()))
            .map(record)
            .collect();
        Ok(Page {
            records,
            cursor,
            more: wire.has_more,
        })
    }

    async fn push(&self, action: &SchemeAction) -> Result<PushReceipt, AdapterError> {
        let SchemeAction::Enrol(e) = action;
        let body = serde_json::json!({
            "eshram_uan": e.uan,
            "name": e.person.full_name,
            "gender": e.person.gender,
            "date_of_birth": e.person.date_of_birth,
            "mobile": e.person.mobile,
            "monthly_income_inr": e.monthly_income_inr,
            "account_number": e.bank_account_number,
            "ifsc": e.ifsc,
            "nominee_name": e.nominee_name,
        });
        let call = Call::post_json("/api/enrolments", &body).idempotency_key(&e.idempotency_key);
        let reply = self.up.send(&call).await?;
        match reply.status {
            200 | 201 => reply.receipt(
                "pmsym",
                "spn",
                &[
                    "monthly_contribution_inr",
                    "entry_age",
                    "pension_from_age_60_inr",
                ],
            ),
            409 => Err(adapter_core::error::already_enrolled(
                "pmsym",
                &reply.body,
                "spn",
                "the worker is already enrolled: reference",
            )),
            422 => Err(adapter_core::error::refused_from(
                "pmsym",
                &reply.body,
                "reasons",
            )),
            _ => Err(reply.error("pmsym")),
        }
    }
}

fn record(s: WireSubscriber) -> SchemeRecord {
    let mut facts = serde_json::Map::new();
    if let Some(a) = s.entry_age {
        facts.insert("entry_age".into(), a.into());
    }
    if let Some(c) = s.monthly_contribution {
        facts.insert("monthly_contribution_inr".into(), c.into());
    }
    if let Some(on) = s.enrolled_on {
        facts.insert("enrolled_on".into(), on.into());
    }
    SchemeRecord {
        scheme: SchemeId::Pmsym,
        reference: s.spn,
        status: s.status.to_lowercase(),
        person: Some(Person {
            full_name: s.subscriber_name,
            gender: adapter_core::record::gender_code(&s.gender),
            date_of_birth: chrono::NaiveDate::parse_from_str(&s.date_of_birth, "%Y-%m-%d").ok(),
            year_only: false,
            mobile: s.mobile_no,
            state_code: s.state,
            district_code: s.district,
            pincode: s.pin,
            relative_name: s.spouse_name,
            eshram_uan: s.eshram_uan,
        }),
        facts,
        updated_at: Some(s.updated_at),
    }
}
