//! PMJJBY: policies as banks and insurers report them, by `modified_after` and the last policy
//! number; enrolment with auto-debit consent. HMAC-signed requests (configured on the upstream).

use adapter_core::{
    AdapterError, Call, Cursor, Page, Person, PushReceipt, SchemeAction, SchemeAdapter, SchemeId,
    SchemeRecord, Upstream, UpstreamConfig,
};
use async_trait::async_trait;
use serde::Deserialize;

pub struct Pmjjby {
    up: Upstream,
}

impl Pmjjby {
    pub fn new(config: UpstreamConfig) -> Result<Pmjjby, AdapterError> {
        Ok(Pmjjby {
            up: Upstream::new("pmjjby", config)?,
        })
    }
}

#[derive(Deserialize)]
struct WirePage {
    policies: Vec<WirePolicy>,
    next: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WirePolicy {
    policy_no: String,
    #[serde(default)]
    insurer: String,
    #[serde(default)]
    bank_ifsc: String,
    insured_name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    dob: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    nominee_name: String,
    #[serde(default)]
    eshram_uan: String,
    #[serde(default)]
    policy_year: String,
    premium_inr: Option<u32>,
    status: String,
    modified_at: i64,
}

/// `<Unix ms>|<policy number>` of the newest record returned so far.
fn parse_cursor(c: Option<&Cursor>) -> Result<Option<(i64, String)>, AdapterError> {
    let Some(c) = c.filter(|c| !c.0.is_empty()) else {
        return Ok(None);
    };
    let bad = || AdapterError::malformed("pmjjby", "cursor is not a PMJJBY cursor");
    let (ms, id) = c.0.split_once('|').ok_or_else(bad)?;
    Ok(Some((ms.parse().map_err(|_| bad())?, id.to_owned())))
}

#[async_trait]
impl SchemeAdapter for Pmjjby {
    fn id(&self) -> SchemeId {
        SchemeId::Pmjjby
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let from = parse_cursor(cursor)?;
        let limit = limit.clamp(1, 1000);
        let path = match &from {
            None => format!("/api/policies?limit={limit}"),
            Some((ms, id)) => format!(
                "/api/policies?modified_after={ms}&after_policy={}&limit={limit}",
                adapter_core::record::url_encode(id)
            ),
        };
        let reply = self.up.send(&Call::get(path)).await?;
        if !reply.is_success() {
            return Err(reply.error("pmjjby"));
        }
        let wire: WirePage = reply.json("pmjjby")?;
        let newest = wire
            .policies
            .iter()
            .map(|p| (p.modified_at, p.policy_no.clone()))
            .max();
        let cursor = match newest.or(from) {
            Some((ms, id)) => Cursor(format!("{ms}|{id}")),
            None => Cursor(String::new()),
        };
        let mut seen = std::collections::HashSet::new();
        let records = wire
            .policies
            .into_iter()
            .filter(|p| seen.insert(p.policy_no.clone()))
            .map(record)
            .collect();
        Ok(Page {
            records,
            cursor,
            more: wire.next.is_some_and(|n| !n.is_null()),
        })
    }

    async fn push(&self, action: &SchemeAction) -> Result<PushReceipt, AdapterError> {
        let SchemeAction::Enrol(e) = action;
        let body = serde_json::json!({
            "eshram_uan": e.uan,
            "name": e.person.full_name,
            "gender": e.person.gender,
            "dob": e.person.date_of_birth,
            "mobile": e.person.mobile,
            "account_number": e.bank_account_number,
            "ifsc": e.ifsc,
            "nominee_name": e.nominee_name,
            "auto_debit_consent": e.auto_debit_consent,
        });
        let call = Call::post_json("/api/enrolments", &body).idempotency_key(&e.idempotency_key);
        let reply = self.up.send(&call).await?;
        match reply.status {
            200 | 201 => reply.receipt(
                "pmjjby",
                "policy_no",
                &[
                    "annual_premium_inr",
                    "first_year_premium_inr",
                    "cover_inr",
                    "cover_until",
                    "cover_ends_by_age",
                ],
            ),
            409 => Err(adapter_core::error::already_enrolled(
                "pmjjby",
                &reply.body,
                "policy_no",
                "one PMJJBY cover per person: the worker already holds policy",
            )),
            422 => Err(adapter_core::error::refused_from(
                "pmjjby",
                &reply.body,
                "reasons",
            )),
            _ => Err(reply.error("pmjjby")),
        }
    }
}

fn record(p: WirePolicy) -> SchemeRecord {
    let mut facts = serde_json::Map::new();
    for (k, v) in [
        ("insurer", p.insurer),
        ("bank_ifsc", p.bank_ifsc),
        ("policy_year", p.policy_year),
    ] {
        facts.insert(k.into(), v.into());
    }
    if let Some(inr) = p.premium_inr {
        facts.insert("annual_premium_inr".into(), inr.into());
    }
    SchemeRecord {
        scheme: SchemeId::Pmjjby,
        reference: p.policy_no,
        status: p.status.to_lowercase(),
        person: Some(Person {
            full_name: p.insured_name,
            gender: adapter_core::record::gender_code(&p.gender),
            date_of_birth: chrono::NaiveDate::parse_from_str(&p.dob, "%Y-%m-%d").ok(),
            year_only: false,
            mobile: p.mobile,
            relative_name: p.nominee_name,
            eshram_uan: p.eshram_uan,
            ..Person::default()
        }),
        facts,
        updated_at: chrono::DateTime::from_timestamp_millis(p.modified_at),
    }
}
