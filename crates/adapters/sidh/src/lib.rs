//! SIDH (Skill India Digital Hub), reached in API Setu's manner: learners with their courses and
//! NSDC certificates, by opaque cursor; `DD-MM-YYYY` dates.

use adapter_core::{
    AdapterError, Call, Cursor, Page, Person, SchemeAdapter, SchemeId, SchemeRecord, Upstream,
    UpstreamConfig,
};
use async_trait::async_trait;
use serde::Deserialize;

pub struct Sidh {
    up: Upstream,
}

impl Sidh {
    pub fn new(config: UpstreamConfig) -> Result<Sidh, AdapterError> {
        Ok(Sidh {
            up: Upstream::new("sidh", config)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePage {
    learners: Vec<WireLearner>,
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLearner {
    learner_id: String,
    full_name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    mobile_number: String,
    #[serde(default)]
    state_code: String,
    #[serde(default)]
    district_code: String,
    #[serde(default)]
    courses: Vec<serde_json::Value>,
}

#[async_trait]
impl SchemeAdapter for Sidh {
    fn id(&self) -> SchemeId {
        SchemeId::Sidh
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let limit = limit.clamp(1, 500);
        let path = match cursor {
            Some(c) if !c.0.is_empty() => format!(
                "/v1/learners?cursor={}&limit={limit}",
                adapter_core::record::url_encode(&c.0)
            ),
            _ => format!("/v1/learners?limit={limit}"),
        };
        let reply = self.up.send(&Call::get(path)).await?;
        if !reply.is_success() {
            return Err(reply.error("sidh"));
        }
        let wire: WirePage = reply.json("sidh")?;
        let mut seen = std::collections::HashSet::new();
        let records = wire
            .learners
            .into_iter()
            .filter(|l| seen.insert(l.learner_id.clone()))
            .map(record)
            .collect();
        Ok(Page {
            records,
            more: wire.has_more && wire.next_cursor.is_some(),
            // Without a next cursor the page is asked for again next time, never skipped.
            cursor: match wire.next_cursor {
                Some(n) => Cursor(n),
                None => cursor.cloned().unwrap_or(Cursor(String::new())),
            },
        })
    }
}

fn record(l: WireLearner) -> SchemeRecord {
    let completed = l
        .courses
        .iter()
        .filter(|c| c["status"] == "COMPLETED")
        .count();
    let mut facts = serde_json::Map::new();
    facts.insert("courses".into(), serde_json::Value::Array(l.courses));
    SchemeRecord {
        scheme: SchemeId::Sidh,
        reference: l.learner_id,
        status: if completed > 0 {
            "certified"
        } else {
            "learning"
        }
        .into(),
        person: Some(Person {
            full_name: l.full_name,
            gender: adapter_core::record::gender_code(&l.gender),
            date_of_birth: chrono::NaiveDate::parse_from_str(&l.date_of_birth, "%d-%m-%Y").ok(),
            year_only: false,
            mobile: l.mobile_number,
            state_code: l.state_code,
            district_code: l.district_code,
            ..Person::default()
        }),
        facts,
        updated_at: None,
    }
}
