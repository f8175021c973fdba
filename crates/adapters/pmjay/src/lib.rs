//! AB PM-JAY: beneficiary families, one CSV row per member, by an opaque cursor in the
//! `X-Next-Cursor` header; HMAC-signed requests (configured on the upstream). A member's record
//! keeps the family id, so family-level matching can group them.

use adapter_core::{
    AdapterError, Call, Cursor, Page, Person, SchemeAdapter, SchemeId, SchemeRecord, Upstream,
    UpstreamConfig,
};
use async_trait::async_trait;
use serde::Deserialize;

pub struct Pmjay {
    up: Upstream,
}

impl Pmjay {
    pub fn new(config: UpstreamConfig) -> Result<Pmjay, AdapterError> {
        Ok(Pmjay {
            up: Upstream::new("pmjay", config)?,
        })
    }
}

#[derive(Deserialize)]
struct Row {
    family_id: String,
    member_id: String,
    relation: String,
    name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    year_of_birth: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    state_code: String,
    #[serde(default)]
    district_code: String,
    #[serde(default)]
    pincode: String,
    card_status: String,
}

#[async_trait]
impl SchemeAdapter for Pmjay {
    fn id(&self) -> SchemeId {
        SchemeId::Pmjay
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let limit = limit.clamp(1, 2000);
        let path = match cursor {
            Some(c) if !c.0.is_empty() => format!(
                "/v2/beneficiaries?cursor={}&limit={limit}",
                adapter_core::record::url_encode(&c.0)
            ),
            _ => format!("/v2/beneficiaries?limit={limit}"),
        };
        let reply = self.up.send(&Call::get(path)).await?;
        if !reply.is_success() {
            return Err(reply.error("pmjay"));
        }
        let next = reply.header("x-next-cursor").map(str::to_owned);
        let mut reader = csv::ReaderBuilder::new().from_reader(reply.body.as_ref());
        let mut seen = std::collections::HashSet::new();
        let mut records = Vec::new();
        for (i, row) in reader.deserialize::<Row>().enumerate() {
            // csv's message may quote a field's value (a name): say where only.
            let row = row.map_err(|_| {
                AdapterError::malformed(
                    "pmjay",
                    format!("line {} is not in the expected columns", i + 2),
                )
            })?;
            if seen.insert(row.member_id.clone()) {
                records.push(record(row));
            }
        }
        Ok(Page {
            records,
            more: next.is_some(),
            // The last page has no next cursor: it is asked for again next time, never skipped.
            cursor: next
                .map(Cursor)
                .or_else(|| cursor.cloned())
                .unwrap_or(Cursor(String::new())),
        })
    }
}

fn record(r: Row) -> SchemeRecord {
    let full = chrono::NaiveDate::parse_from_str(&r.date_of_birth, "%Y-%m-%d").ok();
    let year = r
        .year_of_birth
        .parse::<i32>()
        .ok()
        .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, 1, 1));
    let mut facts = serde_json::Map::new();
    facts.insert("family_id".into(), r.family_id.into());
    facts.insert("relation".into(), r.relation.to_lowercase().into());
    SchemeRecord {
        scheme: SchemeId::Pmjay,
        reference: r.member_id,
        status: r.card_status.to_lowercase(),
        person: Some(Person {
            full_name: r.name,
            gender: adapter_core::record::gender_code(&r.gender),
            date_of_birth: full.or(year),
            year_only: full.is_none() && year.is_some(),
            mobile: r.mobile,
            state_code: r.state_code,
            district_code: r.district_code,
            pincode: r.pincode,
            ..Person::default()
        }),
        facts,
        updated_at: None,
    }
}
