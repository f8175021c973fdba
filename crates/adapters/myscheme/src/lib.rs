//! myScheme: the scheme catalogue with machine-readable eligibility criteria, by offset. The
//! gateway evaluates the criteria (`domain::schemes::Criteria`) against a worker.

use adapter_core::{
    AdapterError, Call, Cursor, Page, SchemeAdapter, SchemeId, SchemeRecord, Upstream,
    UpstreamConfig,
};
use async_trait::async_trait;
use domain::schemes::Criteria;
use serde::{Deserialize, Serialize};

pub struct MyScheme {
    up: Upstream,
}

/// A catalogue scheme with its criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub slug: String,
    pub title: String,
    pub ministry: String,
    pub benefits: String,
    pub criteria: Criteria,
}

impl MyScheme {
    pub fn new(config: UpstreamConfig) -> Result<MyScheme, AdapterError> {
        Ok(MyScheme {
            up: Upstream::new("myscheme", config)?,
        })
    }

    /// The whole catalogue.
    pub async fn catalogue(&self) -> Result<Vec<CatalogueEntry>, AdapterError> {
        let (records, _) = adapter_core::pull_all(self, 100).await?;
        records.iter().map(entry).collect()
    }
}

/// The typed catalogue entry of a pulled record.
pub fn entry(r: &SchemeRecord) -> Result<CatalogueEntry, AdapterError> {
    let text = |k: &str| {
        r.facts
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let criteria = serde_json::from_value(r.facts.get("eligibility").cloned().unwrap_or_default())
        .map_err(|e| {
            AdapterError::malformed(
                "myscheme",
                format!(
                    "{}: eligibility: {}",
                    r.reference,
                    adapter_core::client::json_error(&e)
                ),
            )
        })?;
    Ok(CatalogueEntry {
        slug: r.reference.clone(),
        title: text("title"),
        ministry: text("ministry"),
        benefits: text("benefits"),
        criteria,
    })
}

#[derive(Deserialize)]
struct WirePage {
    total: u64,
    offset: u64,
    items: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[async_trait]
impl SchemeAdapter for MyScheme {
    fn id(&self) -> SchemeId {
        SchemeId::Myscheme
    }

    fn upstream(&self) -> &Upstream {
        &self.up
    }

    async fn pull(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, AdapterError> {
        let offset: u64 = match cursor {
            None => 0,
            Some(c) => {
                c.0.parse()
                    .map_err(|_| AdapterError::malformed("myscheme", "cursor is not an offset"))?
            }
        };
        let limit = limit.clamp(1, 100);
        let reply = self
            .up
            .send(&Call::get(format!(
                "/api/v2/schemes?offset={offset}&limit={limit}"
            )))
            .await?;
        if !reply.is_success() {
            return Err(reply.error("myscheme"));
        }
        let wire: WirePage = reply.json("myscheme")?;
        if wire.offset != offset {
            return Err(AdapterError::malformed(
                "myscheme",
                "answered another offset",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        let mut records = Vec::new();
        for mut item in wire.items {
            let slug = item
                .remove("slug")
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| AdapterError::malformed("myscheme", "an item has no slug"))?;
            if !seen.insert(slug.clone()) {
                continue;
            }
            let updated_at = item
                .get("lastUpdated")
                .and_then(|v| v.as_str())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            records.push(SchemeRecord {
                scheme: SchemeId::Myscheme,
                reference: slug,
                status: "listed".into(),
                person: None,
                facts: item,
                updated_at,
            });
        }
        let next = offset + records.len() as u64;
        Ok(Page {
            more: next < wire.total && !records.is_empty(),
            records,
            cursor: Cursor(next.to_string()),
        })
    }
}
