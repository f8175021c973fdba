//! Workers: register, read, change by merge patch, list in change order. Every access goes on the
//! record; a write's entry is appended inside its transaction, so there is no change without it.

use domain::{FieldError, Invalid, NewWorker, Registration, Uan, Worker};
use serde_json::Value;
use store::idempotency::IdempotencyKey;
use store::workers::NewWorkerRow;
use store::{FeedItem, ListFilter, RegisterOutcome, UpdateOutcome};

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::purpose::FieldPolicy;

/// Where the audit log says these accesses came from (whichever door: a batch row is registered
/// as `POST /v1/workers` registers).
pub const ROUTE_WORKERS: &str = "/v1/workers";
pub const ROUTE_WORKER: &str = "/v1/workers/{uan}";
/// The idempotency keys of registrations are scoped to this.
const REGISTER: &str = "POST /v1/workers";

/// Why a write was not made: its audit entry could not be appended.
pub(crate) const AUDIT_UNWRITABLE: &str =
    "audit log: the entry could not be written, so nothing was changed";

/// A retried write's key and what it is held to: the same key with another request is refused.
pub struct Idempotent {
    /// The caller's key, as sent.
    pub key: String,
    /// A digest of the request (the gateway's is of its canonical JSON).
    pub request_hash: String,
}

/// What a registration came to.
pub enum Registered {
    /// A new worker, and the record as the caller's purpose may see it.
    Created { worker: Box<Worker>, body: Value },
    /// The same key and request again: the first answer, cut for this caller's purpose.
    Replayed { status: u16, body: Value },
}

/// One page of workers in change order, each cut for the caller's purpose.
pub struct Page {
    pub items: Vec<Value>,
    /// The `change_seq` to continue after, when the page was full (more may follow).
    pub continue_after: Option<i64>,
}

impl Registry {
    /// A registration's rules, as of today (all problems at once).
    pub fn check_registration(&self, r: &Registration) -> Result<NewWorker, Vec<FieldError>> {
        NewWorker::validate(r, self.today())
    }

    /// Registers a worker: the caller may write only its own states; the Aadhaar number is kept
    /// only as a keyed token and a vault ciphertext; one Aadhaar number is one worker (the
    /// duplicate is refused, naming the UAN only to a caller who may read that worker); a key
    /// retried with the same request answers the first answer again. `written` names the fields
    /// the request gave, for the audit log (never their values).
    pub async fn register(
        &self,
        caller: &Caller,
        new: &NewWorker,
        written: Vec<String>,
        idempotent: Option<Idempotent>,
    ) -> Result<Registered> {
        if !caller.may_see_state(new.state.code()) {
            return Err(Error::Invalid(vec![outside_states("state_code")]));
        }
        let idem = idempotent.map(|i| IdempotencyKey {
            client_id: caller.client_id.clone(),
            key: self.token_key.request_digest(i.key.as_bytes()),
            route: REGISTER.into(),
            request_hash: i.request_hash,
        });
        let token = self.token_key.token(&new.aadhaar);
        let vault = self.vault.current();
        let seal = |uan: &Uan| vault.seal(&new.aadhaar, uan, crate::random::nonce());
        let row = NewWorkerRow {
            worker: new,
            token: &token,
            seal: &seal,
        };
        // The entry is appended inside the registration's transaction: no worker without it.
        let audited = async |uan: &Uan| {
            let uans = vec![uan.to_string()];
            self.record(caller, "create", ROUTE_WORKERS, uans, written, 201)
                .await
                .map_err(|_| AUDIT_UNWRITABLE.to_owned())
        };
        let outcome = self
            .store
            .register(
                row,
                idem.as_ref(),
                |w| self.minimise(&caller.purpose, to_json(w)),
                audited,
            )
            .await?;
        match outcome {
            RegisterOutcome::Created { worker, response } => {
                tracing::info!(uan = %worker.uan, state_code = worker.state_code.code(), "Worker registered.");
                // A scheme's record of this person may be waiting: a PM-JAY card or a PM-SYM
                // account the sync engine found no worker for. The registration stands either way.
                match self
                    .claim_waiting_records(caller, &worker, token.as_str())
                    .await
                {
                    Ok(c) if c.linked + c.queued > 0 => {
                        tracing::info!(uan = %worker.uan, linked = c.linked, queued = c.queued,
                            "Waiting scheme records matched the new worker.")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(uan = %worker.uan, error = %e,
                        "Waiting scheme records could not be matched to the new worker."),
                }
                Ok(Registered::Created {
                    worker,
                    body: response,
                })
            }
            RegisterOutcome::Replayed { status, response } => {
                self.replayed(caller, status, response).await
            }
            RegisterOutcome::DuplicateAadhaar { uan, state_code } => {
                let visible = caller.may_see_state(&state_code) && caller.has_scope("workers:read");
                // Naming the UAN of an Aadhaar number discloses personal data: logged like a read.
                let fields = if visible {
                    vec!["uan".to_owned()]
                } else {
                    vec![]
                };
                let uans = vec![uan.to_string()];
                let refusal = Error::AadhaarRegistered {
                    existing_uan: visible.then_some(uan),
                };
                let status = self.status_of(&refusal);
                self.record(
                    caller,
                    "duplicate_check",
                    ROUTE_WORKERS,
                    uans,
                    fields,
                    status,
                )
                .await?;
                Err(refusal)
            }
            RegisterOutcome::KeyReused => Err(Error::KeyReused),
            RegisterOutcome::KeyInFlight => Err(Error::KeyInFlight),
        }
    }

    /// The first answer of a retried registration, but only while the caller may still see that
    /// worker, and cut for this caller's purpose, which may be narrower than the first's.
    async fn replayed(&self, caller: &Caller, status: u16, response: Value) -> Result<Registered> {
        let uan = response
            .get("uan")
            .and_then(|u| u.as_str())
            .and_then(|u| Uan::parse(u).ok());
        let visible = match &uan {
            Some(uan) => self
                .store
                .worker(uan, caller.states.as_deref())
                .await?
                .is_some(),
            None => false,
        };
        let Some(uan) = uan.filter(|_| visible) else {
            return Err(Error::NotFound);
        };
        let body = self.minimise(&caller.purpose, response);
        let fields = FieldPolicy::served_fields(&body);
        let uans = vec![uan.to_string()];
        self.record(
            caller,
            "create_replayed",
            ROUTE_WORKERS,
            uans,
            fields,
            status,
        )
        .await?;
        Ok(Registered::Replayed { status, body })
    }

    /// A worker's record as the caller's purpose may see it.
    pub async fn read(&self, caller: &Caller, uan: &Uan) -> Result<Value> {
        let worker = self
            .visible_worker(caller, uan, "read", ROUTE_WORKER)
            .await?;
        let body = self.minimise(&caller.purpose, to_json(&worker));
        let fields = FieldPolicy::served_fields(&body);
        self.record(
            caller,
            "read",
            ROUTE_WORKER,
            vec![uan.to_string()],
            fields,
            200,
        )
        .await?;
        Ok(body)
    }

    /// Changes a worker by JSON merge patch (RFC 7386) of the changeable fields; a move to a
    /// state outside the caller's is refused. The record after the change, minimised.
    pub async fn change(&self, caller: &Caller, uan: &Uan, patch: &Value) -> Result<Value> {
        // In a fixed order, not the body's: one set of fields is one stored list.
        let mut changed: Vec<String> = patch
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        changed.sort_unstable();
        // The entry is appended inside the update's transaction: no change without it.
        let audited = async |_: &Worker| {
            let uans = vec![uan.to_string()];
            self.record(caller, "update", ROUTE_WORKER, uans, changed, 200)
                .await
                .map_err(|_| AUDIT_UNWRITABLE.to_owned())
        };
        let outcome = self
            .store
            .update_worker(
                uan,
                caller.states.as_deref(),
                |current| {
                    let next = current.apply_merge_patch(patch)?;
                    if !caller.may_see_state(next.state_code.code()) {
                        return Err(vec![outside_states("state_code")]);
                    }
                    Ok(next)
                },
                audited,
            )
            .await?;
        match outcome {
            UpdateOutcome::Updated(worker) => Ok(self.minimise(&caller.purpose, to_json(&worker))),
            UpdateOutcome::NotFound => {
                let uans = vec![uan.to_string()];
                let status = self.status_of(&Error::NotFound);
                self.record(caller, "update", ROUTE_WORKER, uans, vec![], status)
                    .await?;
                Err(Error::NotFound)
            }
            UpdateOutcome::Rejected(errors) => Err(Error::Invalid(errors)),
        }
    }

    /// One page of workers in change order, in the caller's states only (asking for another
    /// state's is a miss).
    pub async fn list(&self, caller: &Caller, mut filter: ListFilter) -> Result<Page> {
        if let Some(s) = &filter.state_code
            && !caller.may_see_state(s)
        {
            return Err(Error::NotFound);
        }
        filter.allowed_states = caller.states.clone();
        let feed = self.store.list_workers(&filter).await?;
        let continue_after = (feed.len() as i64 == filter.limit)
            .then(|| feed.last().map(FeedItem::change_seq))
            .flatten();
        let uans = feed
            .iter()
            .map(|item| match item {
                FeedItem::Worker(w) => w.uan.to_string(),
                FeedItem::MovedOut { uan, .. } => uan.clone(),
            })
            .collect();
        let items: Vec<Value> = feed
            .iter()
            .map(|item| match item {
                FeedItem::Worker(w) => self.minimise(&caller.purpose, to_json(w)),
                FeedItem::MovedOut { uan, change_seq } => serde_json::json!({
                    "uan": uan, "change_seq": change_seq, "status": "moved_out"
                }),
            })
            .collect();
        let fields = items
            .iter()
            .find(|i| i.get("status").is_none())
            .map(FieldPolicy::served_fields)
            .unwrap_or_default();
        self.record(caller, "list", ROUTE_WORKERS, uans, fields, 200)
            .await?;
        Ok(Page {
            items,
            continue_after,
        })
    }

    /// The worker with this UAN if the caller may see them. A miss (no such worker, or another
    /// state's) is [`Error::NotFound`], and the probe is on the record too, as `action` at `route`.
    pub async fn visible_worker(
        &self,
        caller: &Caller,
        uan: &Uan,
        action: &'static str,
        route: &'static str,
    ) -> Result<Worker> {
        match self.store.worker(uan, caller.states.as_deref()).await? {
            Some(worker) => Ok(worker),
            None => {
                let status = self.status_of(&Error::NotFound);
                self.record(caller, action, route, vec![uan.to_string()], vec![], status)
                    .await?;
                Err(Error::NotFound)
            }
        }
    }
}

pub fn to_json(w: &Worker) -> Value {
    serde_json::to_value(w).unwrap_or_default()
}

fn outside_states(field: &str) -> FieldError {
    Invalid::new(
        "outside_your_states",
        "your token may not write workers of this state",
    )
    .at(field)
}
