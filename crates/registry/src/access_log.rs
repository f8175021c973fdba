//! A worker's access log: who read or changed their record, when and why — the data
//! principal's right under the DPDP Act (s.11). Reading it is itself logged.

use chrono::{DateTime, Utc};
use domain::Uan;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::Result;

const ROUTE: &str = "/v1/workers/{uan}/access-log";

/// One access to the worker's record. Other workers named by the same entry (a list) are not shown.
#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    /// Position in the audit log's hash chain.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The partner system that made the request.
    #[schema(example = "bihar-labour-portal")]
    pub client_id: String,
    #[schema(example = "scheme-enrolment")]
    pub purpose: String,
    /// `read`, `list`, `create`, `update`, `verify`, `duplicate_check`, `access_log`.
    #[schema(example = "read")]
    pub action: String,
    pub route: String,
    /// Fields served or changed.
    pub fields: Vec<String>,
    pub status: u16,
    pub request_id: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"seq": 2, "at": "2026-12-01T20:37:23.453Z", "client_id": "bihar-labour-portal",
    "purpose": "scheme-enrolment", "action": "read", "route": "/v1/workers/{uan}",
    "fields": ["uan", "name", "date_of_birth", "mobile", "bank_account"], "status": 200,
    "request_id": "01a23353-8d7b-75a1-9af7-0db0d6fd5ff9"}], "next_before_seq": null}))]
pub struct AccessLog {
    pub items: Vec<AccessEntry>,
    /// Pass as `before_seq` for older entries; absent at the oldest.
    pub next_before_seq: Option<i64>,
}

impl Registry {
    /// Entries older than `before` (newest first), at most `limit`.
    pub async fn access_log(
        &self,
        caller: &Caller,
        uan: &Uan,
        before: i64,
        limit: i64,
    ) -> Result<AccessLog> {
        self.visible_worker(caller, uan, "access_log", ROUTE)
            .await?;
        let rows = self
            .store
            .audit_for_uan(uan.as_str(), before, limit)
            .await?;
        let next_before_seq = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.seq))
            .flatten();
        let items: Vec<AccessEntry> = rows
            .into_iter()
            .map(|r| AccessEntry {
                seq: r.seq,
                at: r.entry.at,
                client_id: r.entry.client_id,
                purpose: r.entry.purpose,
                action: r.entry.action,
                route: r.entry.route,
                fields: r.entry.fields,
                status: r.entry.status,
                request_id: r.entry.request_id,
            })
            .collect();
        self.record(
            caller,
            "access_log",
            ROUTE,
            vec![uan.to_string()],
            vec![],
            200,
        )
        .await?;
        Ok(AccessLog {
            items,
            next_before_seq,
        })
    }
}
