//! A state's batch through the registration use case, a group of rows to a transaction: the same
//! rules (checked when the row was staged and again here: the caller's states), the same duplicate
//! rule and its audit entry, one audit entry "create" at `/v1/workers` per worker as
//! `POST /v1/workers` writes, the same match keys and vault rows, and the same claim of waiting
//! scheme records once the workers exist. What differs is the unit of work: the group's workers,
//! their vault rows and the rows' outcomes commit together, so a batch needs no idempotency key
//! per row (a group either happened, outcomes and all, or did not).

use std::collections::HashMap;

use domain::{NewWorker, Uan};
use futures_util::StreamExt;
use store::batches::{Chunk, GroupRow, GroupWrite, RowError, RowOutcome};

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::workers::ROUTE_WORKERS;

/// A row ready to register: its line, the worker, the fields it gave (for the audit entry).
pub struct Member {
    pub line: i64,
    pub worker: NewWorker,
    pub written: Vec<String>,
}

/// A row with no Aadhaar number: its line and what it states.
pub struct Unidentified {
    pub line: i64,
    pub form: domain::Registration,
}

/// The review queue's name for a batch row's side of a pair (`reference` is `{batch}:{line}`).
pub const BATCH_REVIEWS: &str = "batch";

/// What a group came to.
pub enum GroupRegistered {
    /// Committed: each registered line with its UAN.
    Registered(Vec<(i64, Uan)>),
    /// Nothing committed: some rows' Aadhaar numbers were registered by another path meanwhile;
    /// take the group again (they are then existing workers).
    Again,
    /// Nothing committed: another process holds the chunk now.
    LeaseLost,
}

/// A chunk and the lease it is applied under.
pub struct Lease<'a> {
    pub chunk: &'a Chunk,
    pub owner: &'a str,
    pub secs: f64,
}

impl Registry {
    /// Rows without an Aadhaar number, each matched against the registry in the caller's states
    /// (the use case of `POST /v1/match`, audited as a match): a probable worker — at or above the
    /// review threshold, even at the link threshold, since without the Aadhaar number a person
    /// decides — puts the pair in the review queue (`queued`); no one like the row: refused, as it
    /// cannot be registered without one. Their outcomes.
    pub async fn probe_unidentified(
        self: &std::sync::Arc<Self>,
        caller: &Caller,
        batch: uuid::Uuid,
        rows: Vec<Unidentified>,
    ) -> Result<Vec<RowOutcome>> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let gender = |g: &str| match g.trim() {
            "male" => Some("M".to_owned()),
            "female" => Some("F".to_owned()),
            "transgender" => Some("T".to_owned()),
            _ => None,
        };
        let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let request = crate::matcher::MatchRequest {
            records: rows
                .iter()
                .map(|r| crate::matcher::IncomingRecord {
                    id: r.line.to_string(),
                    full_name: r.form.name.clone(),
                    gender: gender(&r.form.gender),
                    dob: given(&r.form.date_of_birth),
                    mobile: given(&r.form.mobile),
                    state_code: given(&r.form.state_code),
                    district_code: given(&r.form.district_code),
                    pincode: given(&r.form.pincode),
                    relative_name: given(&r.form.relative_name),
                    aadhaar: None,
                    address: None,
                })
                .collect(),
            limit: Some(3),
        };
        let refused = |line: i64, message: &str| RowOutcome {
            line,
            outcome: "refused",
            uan: None,
            errors: vec![RowError {
                field: "aadhaar".into(),
                code: "required".into(),
                message: message.into(),
            }],
        };
        let checked = match self.check_match(&request) {
            Ok(c) => c,
            Err(_) => {
                return Ok(rows
                    .iter()
                    .map(|r| {
                        refused(
                            r.line,
                            "no Aadhaar number, and the row's fields cannot be matched",
                        )
                    })
                    .collect());
            }
        };
        let found = self.match_records(caller, checked).await?;
        let mut outcomes = vec![];
        for (row, result) in rows.iter().zip(found.results) {
            if result.candidates.is_empty() {
                outcomes.push(refused(
                    row.line,
                    "no Aadhaar number, and no registered worker is like this row: it cannot be registered without one",
                ));
                continue;
            }
            let person = adapter_core::Person {
                full_name: row.form.name.clone(),
                gender: gender(&row.form.gender).unwrap_or_default(),
                date_of_birth: domain::worker::parse_date(&row.form.date_of_birth).ok(),
                year_only: false,
                mobile: row.form.mobile.clone(),
                state_code: row.form.state_code.clone(),
                district_code: row.form.district_code.clone(),
                pincode: row.form.pincode.clone(),
                relative_name: row.form.relative_name.clone(),
                eshram_uan: String::new(),
            };
            let record = serde_json::json!({
                "status": "active",
                "person": person,
                "facts": {"batch": batch, "line": row.line},
            });
            let candidates: Vec<(String, f64, serde_json::Value)> = result
                .candidates
                .iter()
                .map(|c| (c.uan.clone(), c.score, serde_json::json!(c.explanation)))
                .collect();
            self.store
                .queue_batch_review(&format!("{batch}:{}", row.line), &record, &candidates)
                .await?;
            outcomes.push(RowOutcome {
                line: row.line,
                outcome: "queued",
                uan: None,
                errors: vec![],
            });
        }
        Ok(outcomes)
    }

    /// Which of these Aadhaar numbers (by token) are registered, each with the UAN when the caller
    /// may read that worker (naming it is logged like a read, as for a single registration).
    pub async fn registered_already(
        &self,
        caller: &Caller,
        tokens: &[&str],
    ) -> Result<HashMap<String, Option<Uan>>> {
        let found = self.store.registered_tokens(tokens).await?;
        let refusal = Error::AadhaarRegistered { existing_uan: None };
        let status = self.status_of(&refusal);
        let logged = futures_util::stream::iter(found)
            .map(|(token, (uan, state))| async move {
                let visible = caller.may_see_state(&state) && caller.has_scope("workers:read");
                let fields = if visible {
                    vec!["uan".to_owned()]
                } else {
                    vec![]
                };
                let uans = vec![uan.to_string()];
                self.record(
                    caller,
                    "duplicate_check",
                    ROUTE_WORKERS,
                    uans,
                    fields,
                    status,
                )
                .await
                .map(|_| (token, visible.then_some(uan)))
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        logged.into_iter().collect()
    }

    /// Registers `members` and commits them with `settled` (the group's other rows' outcomes)
    /// under the chunk's lease; `last` ends the chunk. A member outside the caller's states is
    /// refused (its outcome committed with the rest).
    pub async fn register_group(
        &self,
        caller: &Caller,
        lease: Lease<'_>,
        members: Vec<Member>,
        mut settled: Vec<RowOutcome>,
        last: bool,
    ) -> Result<GroupRegistered> {
        let (members, outside): (Vec<Member>, Vec<Member>) = members
            .into_iter()
            .partition(|m| caller.may_see_state(m.worker.state.code()));
        settled.extend(outside.into_iter().map(|m| RowOutcome {
            line: m.line,
            outcome: "refused",
            uan: None,
            errors: vec![RowError {
                field: "state_code".into(),
                code: "outside_your_states".into(),
                message: "your token may not write workers of this state".into(),
            }],
        }));
        let tokens: Vec<_> = members
            .iter()
            .map(|m| self.token_key.token(&m.worker.aadhaar))
            .collect();
        let rows: Vec<GroupRow> = members
            .iter()
            .zip(&tokens)
            .map(|(m, token)| GroupRow {
                line: m.line,
                worker: &m.worker,
                token,
            })
            .collect();
        let vault = self.vault.current();
        let seal = |w: &NewWorker, uan: &Uan| vault.seal(&w.aadhaar, uan, crate::random::nonce());
        // The entries are appended inside the group's transaction: no worker without its entry.
        let audited = async |uans: &[Uan]| {
            let entries = members.iter().zip(uans).map(|(m, uan)| {
                self.record(
                    caller,
                    "create",
                    ROUTE_WORKERS,
                    vec![uan.to_string()],
                    m.written.clone(),
                    201,
                )
            });
            let results = futures_util::future::join_all(entries).await;
            match results.into_iter().all(|r| r.is_ok()) {
                true => Ok(()),
                false => Err(crate::workers::AUDIT_UNWRITABLE.to_owned()),
            }
        };
        let written = self
            .store
            .register_batch_group(
                lease.chunk,
                lease.owner,
                lease.secs,
                &rows,
                &seal,
                &settled,
                last,
                audited,
            )
            .await?;
        let workers = match written {
            GroupWrite::Written(w) => w,
            GroupWrite::RegisteredMeanwhile(_) => return Ok(GroupRegistered::Again),
            GroupWrite::LeaseLost => return Ok(GroupRegistered::LeaseLost),
        };
        tracing::info!(batch = %lease.chunk.batch.id, registered = workers.len(),
            "Batch rows registered.");
        // A scheme's record of one of them may be waiting (a PM-JAY card or a PM-SYM account the
        // sync engine found no worker for). The registrations stand either way.
        let by_uan: HashMap<String, &str> = rows
            .iter()
            .zip(&tokens)
            .filter_map(|(r, t)| {
                workers
                    .iter()
                    .find(|(line, _)| *line == r.line)
                    .map(|(_, w)| (w.uan.to_string(), t.as_str()))
            })
            .collect();
        futures_util::stream::iter(workers.iter())
            .for_each_concurrent(4, |(_, worker)| {
                let token = by_uan.get(worker.uan.as_str()).copied().unwrap_or_default();
                async move {
                    if let Err(e) = self.claim_waiting_records(caller, worker, token).await {
                        tracing::warn!(uan = %worker.uan, error = %e,
                            "Waiting scheme records could not be matched to the new worker.");
                    }
                }
            })
            .await;
        Ok(GroupRegistered::Registered(
            workers.into_iter().map(|(line, w)| (line, w.uan)).collect(),
        ))
    }
}
