//! Enrolling a worker in a scheme through its adapter: the scheme's rules checked against the
//! registry record first, the worker's data on the record before it leaves, the scheme told a key
//! derived from the caller's so that a retry never enrols twice, and the outcome kept under the
//! caller's idempotency key.

use std::sync::Arc;
use std::time::Duration;

use adapter_core::{AdapterError, Enrolment, Person, SchemeAction, SchemeId};
use domain::schemes::{Applicant, pmjjby, pmsym};
use domain::{FieldError, Invalid, Uan};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::idempotency::IdempotencyKey;
use store::schemes::{EnrolmentClaim, EnrolmentOutcome};
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::workers::Idempotent;

/// Where the audit log says an enrolment came from.
const ROUTE_ENROL: &str = "/v1/workers/{uan}/enrolments";

/// What a worker declares when enrolling (the registry does not keep it: it may have changed
/// since registration). Absent fields are false.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Declarations {
    pub epfo_member: bool,
    pub esic_member: bool,
    pub nps_member: bool,
    pub income_tax_payer: bool,
}

/// An enrolment: the scheme, and what that scheme needs beyond the registry record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scheme": "pmjjby", "auto_debit_consent": true}))]
pub struct EnrolmentRequest {
    /// `pmsym`, `pmjjby` or `ncs` (registers the worker as a job seeker).
    #[schema(example = "pmsym", pattern = r"^(pmsym|pmjjby|ncs)$")]
    pub scheme: String,
    /// PMJJBY: the worker agrees to the yearly auto-debit of the premium. Required true for PMJJBY.
    pub auto_debit_consent: Option<bool>,
    /// PM-SYM: the worker's current declarations (exclusions).
    pub declarations: Option<Declarations>,
}

/// The scheme's answer to an enrolment.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "uan": "483920175560", "scheme": "pmsym", "reference": "PMSYM4000002001", "status": "active",
    "monthly_contribution_inr": 100, "terms": {"entry_age": 29, "monthly_contribution_inr": 100, "pension_from_age_60_inr": 3000}
}))]
pub struct EnrolmentResponse {
    pub uan: String,
    pub scheme: SchemeId,
    /// The scheme's own reference for the enrolment.
    pub reference: String,
    pub status: String,
    /// PM-SYM: the worker's monthly contribution from the official age chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_contribution_inr: Option<u64>,
    /// PMJJBY: the yearly premium (the first year's is pro-rata: `terms.first_year_premium_inr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_premium_inr: Option<u64>,
    /// Everything the scheme stated: ages, cover, dates.
    pub terms: Map<String, Value>,
}

/// How an enrolment was answered: as stored under its key (the first answer again on a retry).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

/// The scheme an enrolment request names, if it takes enrolments here.
pub fn check_enrolment(r: &EnrolmentRequest) -> Result<SchemeId, Vec<FieldError>> {
    let scheme = SchemeId::parse(&r.scheme).map_err(|e| vec![e.at("scheme")])?;
    if !scheme.facts().enrols {
        return Err(vec![
            Invalid::new(
                "not_enrollable",
                "enrolments through the gateway go to pmsym, pmjjby and ncs",
            )
            .at("scheme"),
        ]);
    }
    Ok(scheme)
}

impl Registry {
    /// Enrols the worker in `scheme` (checked by [`check_enrolment`]). The key is required: an
    /// enrolment changes another ministry's system.
    pub async fn enrol(
        self: &Arc<Self>,
        caller: &Caller,
        uan: &Uan,
        scheme: SchemeId,
        request: EnrolmentRequest,
        key: Idempotent,
    ) -> Result<Answer> {
        // A scheme with no URL here: refused before any key is claimed or anything recorded.
        self.schemes.get(scheme)?;
        let worker = self
            .visible_worker(caller, uan, "enrol", ROUTE_ENROL)
            .await?;
        let idem = IdempotencyKey {
            client_id: caller.client_id.clone(),
            key: self.token_key.request_digest(key.key.as_bytes()),
            route: format!("POST {ROUTE_ENROL} {uan}"),
            request_hash: key.request_hash,
        };
        let claim = match self
            .store
            .claim_enrolment_key(&idem, self.enrolment_key_stale_secs)
            .await?
        {
            EnrolmentClaim::Fresh(claim) => claim,
            EnrolmentClaim::Replay { status, response } => {
                let uans = vec![uan.to_string()];
                self.record(caller, "enrol_replayed", ROUTE_ENROL, uans, vec![], status)
                    .await?;
                return Ok(Answer {
                    status,
                    body: response,
                    replayed: true,
                });
            }
            EnrolmentClaim::Mismatch => return Err(Error::KeyReused),
            EnrolmentClaim::InFlight => return Err(Error::KeyInFlight),
        };
        // The rest runs as a task of its own: a caller that hangs up does not cut an enrolment
        // off between the scheme's answer and its record.
        let job = Enrol {
            registry: self.clone(),
            caller: caller.clone(),
            worker,
            scheme,
            declarations: request.declarations.unwrap_or_default(),
            consent: request.auto_debit_consent.unwrap_or(false),
            idem,
            claim,
        };
        // The task keeps the request's id (audit entries and log lines carry it) and its span.
        let request_id = crate::request::id().unwrap_or_default();
        let task = crate::request::REQUEST_ID.scope(request_id, job.run());
        let (status, body) = tokio::spawn(tracing::Instrument::in_current_span(task))
            .await
            .map_err(|e| Error::Internal(format!("enrolment task: {e}")))??;
        Ok(Answer {
            status,
            body,
            replayed: false,
        })
    }
}

/// An enrolment whose idempotency key is claimed: rules, the scheme, the record, the audit.
struct Enrol {
    registry: Arc<Registry>,
    caller: Caller,
    worker: domain::Worker,
    scheme: SchemeId,
    declarations: Declarations,
    consent: bool,
    idem: IdempotencyKey,
    claim: uuid::Uuid,
}

impl Enrol {
    async fn run(self) -> Result<(u16, Value)> {
        let Enrol {
            registry,
            caller,
            worker,
            scheme,
            declarations,
            consent,
            idem,
            claim,
        } = self;
        let uan = worker.uan.to_string();
        let applicant = applicant(&worker, &declarations);
        let today = registry.today();
        let rules = match scheme {
            SchemeId::Pmsym => pmsym::check(&applicant, today).map(|t| {
                json!({"entry_age": t.entry_age, "monthly_contribution_inr": t.monthly_contribution_inr})
            }),
            SchemeId::Pmjjby => pmjjby::check(&applicant, consent, today).map(|t| {
                json!({"annual_premium_inr": t.annual_premium_inr, "first_year_premium_inr": t.first_year_premium_inr})
            }),
            _ => Ok(json!({})),
        };
        let (status, response, reference, terms, reasons) = match rules {
            Err(broken) => {
                let (status, problem) = refusal(&registry, &broken);
                (status, problem, None, json!({}), reasons_json(&broken))
            }
            Ok(expected) => {
                let action = SchemeAction::Enrol(Enrolment {
                    uan: uan.clone(),
                    person: person(&worker),
                    monthly_income_inr: worker.monthly_income_inr,
                    occupation_nco: worker.occupation_nco.as_str().to_owned(),
                    bank_account_number: worker
                        .bank_account
                        .as_ref()
                        .map(|b| b.account_number.clone())
                        .unwrap_or_default(),
                    ifsc: worker
                        .bank_account
                        .as_ref()
                        .map(|b| b.ifsc.as_str().to_owned())
                        .unwrap_or_default(),
                    nominee_name: worker
                        .nominee
                        .as_ref()
                        .map(|n| n.name.clone())
                        .unwrap_or_default(),
                    auto_debit_consent: consent,
                    // Derived from the client's key and this exact request: a retry sends the
                    // same one, a reused key with another worker or body never does.
                    idempotency_key: crate::random::sha256_b64(
                        format!(
                            "{}:{}:{}:{}",
                            idem.client_id, idem.key, idem.route, idem.request_hash
                        )
                        .as_bytes(),
                    ),
                });
                // Checked before anything is claimed too; a scheme's URL does not change while
                // serving, but nothing is sent, recorded or kept claimed without an adapter.
                let adapter = match registry.schemes.get(scheme) {
                    Ok(a) => a,
                    Err(e) => {
                        registry.store.release_enrolment_key(&idem, claim).await?;
                        return Err(e);
                    }
                };
                // The worker's data leaves for the scheme: on the record before it goes.
                // If the log cannot take it, nothing is sent and the key is freed for a retry.
                if let Err(e) = registry
                    .record(
                        &caller,
                        "enrol_send",
                        ROUTE_ENROL,
                        vec![uan.clone()],
                        shared_fields(scheme),
                        102,
                    )
                    .await
                {
                    registry.store.release_enrolment_key(&idem, claim).await?;
                    return Err(e);
                }
                // Bounded well inside the time after which another request may take the key over.
                let limit =
                    Duration::from_secs((registry.enrolment_key_stale_secs / 2).max(1) as u64);
                let pushed = match tokio::time::timeout(limit, adapter.push(&action)).await {
                    Ok(r) => r,
                    Err(_) => Err(AdapterError::Timeout {
                        upstream: scheme.to_string(),
                    }),
                };
                match pushed {
                    Ok(receipt) => {
                        let mut terms = match expected {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        };
                        terms.extend(receipt.terms.clone());
                        let money = |k: &str| terms.get(k).and_then(Value::as_u64);
                        let answer = EnrolmentResponse {
                            uan: uan.clone(),
                            scheme,
                            reference: receipt.reference.clone(),
                            status: receipt.status.clone(),
                            monthly_contribution_inr: money("monthly_contribution_inr")
                                .filter(|_| scheme == SchemeId::Pmsym),
                            annual_premium_inr: money("annual_premium_inr")
                                .filter(|_| scheme == SchemeId::Pmjjby),
                            terms: terms.clone(),
                        };
                        let response = serde_json::to_value(&answer).unwrap_or_default();
                        (
                            201,
                            response,
                            Some((receipt.reference, receipt.status)),
                            Value::Object(terms),
                            json!([]),
                        )
                    }
                    Err(AdapterError::Refused { reasons, .. }) => {
                        let broken: Vec<FieldError> = reasons
                            .iter()
                            .map(|r| FieldError {
                                field: if r.field.is_empty() {
                                    "scheme".into()
                                } else {
                                    r.field.clone()
                                },
                                code: if r.code == "already_enrolled" {
                                    "already_enrolled"
                                } else {
                                    "refused_by_scheme"
                                },
                                message: if r.message.is_empty() {
                                    r.code.clone()
                                } else {
                                    r.message.clone()
                                },
                            })
                            .collect();
                        let (status, problem) = refusal(&registry, &broken);
                        (status, problem, None, json!({}), reasons_json(&broken))
                    }
                    Err(e) => {
                        // Nothing is known to have happened at the scheme: free the key for a
                        // retry (which sends the scheme the same key).
                        let error = Error::Scheme { scheme, error: e };
                        registry.store.release_enrolment_key(&idem, claim).await?;
                        let status = registry.status_of(&error);
                        registry
                            .record(&caller, "enrol", ROUTE_ENROL, vec![uan], vec![], status)
                            .await?;
                        return Err(error);
                    }
                }
            }
        };
        let enrolled = reference.as_ref().map(|(r, s)| (r.as_str(), s.as_str()));
        let owned = registry
            .store
            .record_enrolment(
                &EnrolmentOutcome {
                    uan: &uan,
                    scheme: scheme.as_str(),
                    client_id: &caller.client_id,
                    enrolled,
                    terms: &terms,
                    reasons: &reasons,
                },
                &idem,
                claim,
                status,
                &response,
            )
            .await?;
        if !owned {
            // Another request took the key over (this one outlived the stale period); it sent the
            // scheme the same key and records the same enrolment.
            tracing::warn!(
                scheme = scheme.as_str(),
                "Enrolment key taken over while in flight; its new holder records the outcome."
            );
        }
        registry
            .record(&caller, "enrol", ROUTE_ENROL, vec![uan], vec![], status)
            .await?;
        Ok((status, response))
    }
}

/// The worker's fields an enrolment sends to `scheme` (for the audit log).
fn shared_fields(scheme: SchemeId) -> Vec<String> {
    let mut f = vec!["name", "gender", "date_of_birth", "mobile"];
    match scheme {
        SchemeId::Ncs => f.extend(["state_code", "district_code", "occupation_nco"]),
        SchemeId::Pmsym => f.extend(["monthly_income_inr", "bank_account", "nominee"]),
        SchemeId::Pmjjby => f.extend(["bank_account", "nominee"]),
        _ => {}
    }
    f.into_iter().map(str::to_owned).collect()
}

/// A refusal as answered, and stored for the key's replays: what the gateway answers
/// [`Error::RulesNotMet`] with.
fn refusal(registry: &Registry, broken: &[FieldError]) -> (u16, Value) {
    (registry.answers)(&Error::RulesNotMet(broken.to_vec()))
}

fn reasons_json(broken: &[FieldError]) -> Value {
    Value::Array(
        broken
            .iter()
            .map(|b| json!({"field": b.field, "code": b.code, "message": b.message}))
            .collect(),
    )
}

pub(crate) fn applicant(w: &domain::Worker, d: &Declarations) -> Applicant {
    Applicant {
        date_of_birth: w.date_of_birth,
        monthly_income_inr: w.monthly_income_inr,
        has_bank_account: w.bank_account.is_some(),
        epfo_member: d.epfo_member,
        esic_member: d.esic_member,
        nps_member: d.nps_member,
        income_tax_payer: d.income_tax_payer,
    }
}

pub(crate) fn person(w: &domain::Worker) -> Person {
    Person {
        full_name: w.name.clone(),
        gender: w
            .gender
            .as_str()
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase().to_string())
            .unwrap_or_default(),
        date_of_birth: Some(w.date_of_birth),
        year_only: false,
        mobile: w.mobile.as_str().to_owned(),
        state_code: w.state_code.code().to_owned(),
        district_code: w.district_code.as_str().to_owned(),
        pincode: w.pincode.as_str().to_owned(),
        relative_name: w.relative_name.clone(),
        eshram_uan: w.uan.to_string(),
    }
}
