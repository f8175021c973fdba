//! The review queue: the pairs the sync engine (or a registration) found doubtful, listed and
//! shown side by side under the caller's purpose, and a person's decision on each. State-limited
//! (another state's item is a miss) and on the record.

use chrono::{DateTime, Utc};
use domain::{FieldError, Invalid, Uan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::idempotency::IdempotencyKey;
use store::reviews::{Decided, Decision, ReviewFilter, ReviewItem};
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::matcher::FieldWeight;
use crate::purpose::FieldPolicy;
use crate::workers::Idempotent;

const ROUTE_REVIEWS: &str = "/v1/reviews";
const ROUTE_REVIEW: &str = "/v1/reviews/{id}";
const ROUTE_DECISION: &str = "/v1/reviews/{id}/decision";

/// A pair waiting for a decision.
#[derive(Serialize, ToSchema)]
pub struct ReviewSummary {
    pub id: i64,
    #[schema(example = "pmjay")]
    pub scheme: String,
    /// The scheme's own reference of its record.
    #[schema(example = "PMJAY-M0000000417")]
    pub reference: String,
    /// The worker it may be.
    #[schema(example = "483920175560")]
    pub uan: String,
    #[schema(example = "10")]
    pub state_code: String,
    /// The match probability (0-1).
    #[schema(example = 0.31)]
    pub score: f64,
    pub created_at: DateTime<Utc>,
    /// Set when the pair had been decided not_a_match and is asked again because the scheme's
    /// person or the worker changed since.
    pub requeued_at: Option<DateTime<Utc>>,
}

/// One page of the queue, oldest first.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": 41, "scheme": "pmjay", "reference": "PMJAY-M0000000417",
    "uan": "483920175560", "state_code": "10", "score": 0.31, "created_at": "2026-12-01T10:00:04Z",
    "requeued_at": null}],
    "next_cursor": null}))]
pub struct ReviewPage {
    pub items: Vec<ReviewSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The scheme's side of a pair.
#[derive(Serialize, ToSchema)]
pub struct SchemeSide {
    pub reference: String,
    /// The record's status at the scheme.
    pub status: String,
    /// The person as the scheme holds them, named as a worker's fields and cut for the caller's
    /// purpose (`name`, `gender`, `date_of_birth`, `mobile`, `state_code`, `district_code`,
    /// `pincode`, `relative_name`).
    #[schema(value_type = Object)]
    pub person: Value,
}

/// Both records of a pair side by side, and why they may be one person.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 41, "scheme": "pmjay", "status": "open", "score": 0.31,
    "created_at": "2026-12-01T10:00:04Z", "decided_at": null, "decided_by": null, "note": null,
    "requeued_at": null,
    "worker": {"uan": "483920175560", "name": "Manoj Kurmi", "date_of_birth": "1970-11-25", "mobile": "9622942213",
      "state_code": "10", "district_code": "636", "pincode": "310361"},
    "scheme_record": {"reference": "PMJAY-M0000000417", "status": "issued",
      "person": {"name": "Manoj Kurmi", "date_of_birth": "1970-01-01", "mobile": "9622942213",
        "state_code": "10", "district_code": "636", "pincode": "3103610"}},
    "explanation": [{"comparison": "name", "level": "exact after normalisation", "weight": 12.81},
      {"comparison": "place", "level": "same district, other pincode", "weight": -18.32}]}))]
pub struct ReviewDetail {
    pub id: i64,
    pub scheme: String,
    /// `open`, `linked`, `not_a_match`, or `superseded` (another worker was linked to the record).
    #[schema(example = "open")]
    pub status: String,
    pub score: f64,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The client that decided.
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// Set when the pair had been decided not_a_match and is asked again because the scheme's
    /// person or the worker changed since (the earlier decision is on the audit log).
    pub requeued_at: Option<DateTime<Utc>>,
    /// The registry's worker, cut for the caller's purpose.
    #[schema(value_type = Object)]
    pub worker: Value,
    pub scheme_record: SchemeSide,
    /// Each comparison's level and weight, for the fields the purpose sees whole.
    pub explanation: Vec<FieldWeight>,
}

/// A decision on a pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "link", "note": "same mobile, card shows the same father's name"}))]
pub struct DecisionRequest {
    /// `link` (the scheme's record is this worker's) or `not_a_match`.
    #[schema(example = "link", pattern = r"^(link|not_a_match)$")]
    pub decision: String,
    /// Why, for whoever reads the decision later (at most 500 characters).
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// A decision's request, checked.
pub struct CheckedDecision {
    decision: Decision,
    note: String,
}

/// Every problem of a decision at once.
pub fn check_decision(r: &DecisionRequest) -> Result<CheckedDecision, Vec<FieldError>> {
    let mut errors = Vec::new();
    let decision = match r.decision.as_str() {
        "link" => Some(Decision::Link),
        "not_a_match" => Some(Decision::NotAMatch),
        _ => {
            errors.push(Invalid::new("invalid_value", "link or not_a_match").at("decision"));
            None
        }
    };
    let note = r.note.clone().unwrap_or_default();
    if note.chars().count() > 500 || note.contains('\0') {
        errors.push(Invalid::new("too_long", "at most 500 characters, no NUL").at("note"));
    }
    match decision {
        Some(decision) if errors.is_empty() => Ok(CheckedDecision { decision, note }),
        _ => Err(errors),
    }
}

impl Registry {
    /// Open pairs oldest first, within the caller's states (another state asked for is a miss),
    /// at most `limit`, after `after_id`. The workers named are on their access logs.
    pub async fn reviews(
        &self,
        caller: &Caller,
        scheme: Option<String>,
        state_code: Option<String>,
        after_id: i64,
        limit: i64,
    ) -> Result<(Vec<ReviewSummary>, Option<i64>)> {
        if let Some(s) = &state_code
            && !caller.may_see_state(s)
        {
            return Err(Error::NotFound);
        }
        let filter = ReviewFilter {
            scheme,
            state_code,
            allowed_states: caller.states.clone(),
            after_id,
            limit,
        };
        let items = self.store.open_reviews(&filter).await?;
        let next = (items.len() as i64 == limit)
            .then(|| items.last().map(|i| i.id))
            .flatten();
        let mut uans: Vec<String> = items.iter().map(|i| i.uan.clone()).collect();
        uans.sort();
        uans.dedup();
        let fields = vec!["uan".into(), "match_score".into()];
        self.record(caller, "review_list", ROUTE_REVIEWS, uans, fields, 200)
            .await?;
        let summaries = items
            .into_iter()
            .map(|i| ReviewSummary {
                id: i.id,
                scheme: i.scheme,
                reference: i.reference,
                uan: i.uan,
                state_code: i.state_code,
                score: i.score,
                created_at: i.created_at,
                requeued_at: i.requeued_at,
            })
            .collect();
        Ok((summaries, next))
    }

    /// One pair, both records under the caller's purpose, and the explanation.
    pub async fn review(&self, caller: &Caller, id: i64) -> Result<ReviewDetail> {
        let item = self
            .visible_review(caller, id, "review_read", ROUTE_REVIEW)
            .await?;
        let uan = Uan::parse(&item.uan).map_err(|e| Error::Internal(e.message))?;
        // The pair's state is the worker's when it was queued: the worker may have moved since.
        let worker = self
            .visible_worker(caller, &uan, "review_read", ROUTE_REVIEW)
            .await?;
        let worker = self.minimise(&caller.purpose, crate::workers::to_json(&worker));
        let fields = FieldPolicy::served_fields(&worker);
        let detail = self.detail(caller, item, worker);
        self.record(
            caller,
            "review_read",
            ROUTE_REVIEW,
            vec![uan.to_string()],
            fields,
            200,
        )
        .await?;
        Ok(detail)
    }

    /// Decides an open pair (the key required: a retry answers the first answer). Linking makes
    /// the scheme's record this worker's (source `review`) and supersedes its other candidates;
    /// "not a match" sends the record back among the unregistered when no candidate is left. A
    /// decision is final: a later run neither overturns it nor queues the pair again.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: i64,
        checked: CheckedDecision,
        key: Idempotent,
    ) -> Result<(u16, Value)> {
        let item = self
            .visible_review(caller, id, "review_decision", ROUTE_DECISION)
            .await?;
        let uan = Uan::parse(&item.uan).map_err(|e| Error::Internal(e.message))?;
        self.visible_worker(caller, &uan, "review_decision", ROUTE_DECISION)
            .await?;
        // The decision names the worker beside the scheme's record: on the record first.
        let fields = vec!["uan".into(), "match_score".into()];
        let uans = vec![item.uan.clone()];
        self.record(caller, "review_decision", ROUTE_DECISION, uans, fields, 200)
            .await?;
        let idem = IdempotencyKey {
            client_id: caller.client_id.clone(),
            key: self.token_key.request_digest(key.key.as_bytes()),
            route: format!("POST {ROUTE_DECISION} {id}"),
            request_hash: key.request_hash,
        };
        let keys_of = |i: &ReviewItem| {
            crate::matcher::stored_keys_of_person(&i.reference, &i.record["person"])
        };
        let decided = self
            .store
            .decide_review(
                id,
                caller.states.as_deref(),
                checked.decision,
                &checked.note,
                &caller.client_id,
                &idem,
                keys_of,
                decision_answer,
            )
            .await?;
        match decided {
            Decided::Done(i) => Ok((200, decision_answer(&i))),
            Decided::Replayed { status, response } => Ok((status, response)),
            Decided::NotFound => Err(Error::NotFound),
            Decided::AlreadyDecided(i) => Err(Error::AlreadyDecided { status: i.status }),
            Decided::KeyReused => Err(Error::KeyReused),
            Decided::KeyInFlight => Err(Error::KeyInFlight),
        }
    }

    /// The item if the caller may see its state; a miss is recorded as `action` at `route`.
    async fn visible_review(
        &self,
        caller: &Caller,
        id: i64,
        action: &'static str,
        route: &'static str,
    ) -> Result<ReviewItem> {
        match self.store.review(id, caller.states.as_deref()).await? {
            Some(item) => Ok(item),
            None => {
                let status = self.status_of(&Error::NotFound);
                self.record(caller, action, route, vec![], vec![], status)
                    .await?;
                Err(Error::NotFound)
            }
        }
    }

    fn detail(&self, caller: &Caller, item: ReviewItem, worker: Value) -> ReviewDetail {
        let as_worker = crate::unregistered::person_as_worker(&item.record["person"]);
        let explanation: Vec<FieldWeight> =
            serde_json::from_value(item.explanation.clone()).unwrap_or_default();
        let explanation = explanation
            .into_iter()
            .filter(|f| {
                crate::matcher::field_of(&f.comparison)
                    .is_some_and(|field| self.sees_whole(&caller.purpose, field))
            })
            .collect();
        ReviewDetail {
            id: item.id,
            scheme: item.scheme,
            status: item.status,
            score: item.score,
            created_at: item.created_at,
            decided_at: item.decided_at,
            decided_by: item.decided_by,
            note: item.note,
            requeued_at: item.requeued_at,
            worker,
            scheme_record: SchemeSide {
                reference: item.reference,
                status: item.record["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                person: self.minimise(&caller.purpose, as_worker),
            },
            explanation,
        }
    }
}

/// What a decision answers (and its key's retries): the pair as decided.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 41, "scheme": "pmjay", "reference": "PMJAY-M0000000417",
    "uan": "483920175560", "status": "linked", "decided_at": "2026-12-01T11:02:13Z",
    "decided_by": "bihar-labour-portal", "note": "same mobile"}))]
pub struct DecisionAnswer {
    pub id: i64,
    pub scheme: String,
    pub reference: String,
    pub uan: String,
    /// `linked` or `not_a_match`.
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

fn decision_answer(i: &ReviewItem) -> Value {
    serde_json::to_value(DecisionAnswer {
        id: i.id,
        scheme: i.scheme.clone(),
        reference: i.reference.clone(),
        uan: i.uan.clone(),
        status: i.status.clone(),
        decided_at: i.decided_at,
        decided_by: i.decided_by.clone(),
        note: i.note.clone(),
    })
    .unwrap_or_default()
}
