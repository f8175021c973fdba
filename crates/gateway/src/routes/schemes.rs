//! The scheme routes: the catalogue of scheme systems and their health, a worker's one-stop view
//! of the six schemes, enrolment through a scheme's adapter, and NCS vacancies for a worker.

use actix_web::web::{self, Data, Payload};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, post};
use adapter_core::{AdapterError, Enrolment, Person, SchemeAction, SchemeId};
use chrono::{DateTime, Utc};
use domain::schemes::{Applicant, Profile, pmjay, pmjjby, pmsym};
use domain::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::idempotency::IdempotencyKey;
use store::schemes::{EnrolmentClaim, EnrolmentOutcome};
use utoipa::ToSchema;

use crate::authorize::{Authorized, SchemesEnrol, SchemesRead};
use crate::body::sha256_b64;
use crate::body::{parse_form, read_limited, require_content_type};
use crate::problem::{ApiError, CommonErrors, Problem};
use crate::routes::workers::{idempotency_key, parse_uan, record, visible_worker};
use crate::schemes::upstream_error;
use crate::state::AppState;

const ROUTE_SCHEMES: &str = "/v1/workers/{uan}/schemes";

/// The worker fields a purpose must see whole to be shown a worker's schemes: enrolments,
/// eligibility by each scheme's rules, and the myScheme catalogue matches are built from them.
const SCHEMES_VIEW_FIELDS: &[&str] = &[
    "date_of_birth",
    "gender",
    "state_code",
    "social_category",
    "monthly_income_inr",
    "occupation_nco",
    "bank_account",
];

/// The worker fields a purpose must see whole to be shown a worker's job matches.
const JOBS_VIEW_FIELDS: &[&str] = &["district_code", "occupation_nco"];

const ROUTE_ENROL: &str = "/v1/workers/{uan}/enrolments";
const ROUTE_JOBS: &str = "/v1/workers/{uan}/jobs";

/// A scheme system and how the gateway's link to it is doing.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "pmsym", "name": "Pradhan Mantri Shram Yogi Maan-dhan (PM-SYM)",
    "ministry": "Ministry of Labour and Employment",
    "offers": "Pension of 3,000 rupees a month from age 60, contributions matched 50:50 by the Centre",
    "enrols": true, "health": "up", "circuit": "closed", "consecutive_failures": 0,
    "last_success_at": "2026-11-23T10:15:02Z", "last_failure_at": null, "last_sync_at": null
}))]
pub struct SchemeInfo {
    pub id: SchemeId,
    pub name: &'static str,
    pub ministry: &'static str,
    pub offers: &'static str,
    /// Whether `POST /v1/workers/{uan}/enrolments` takes this scheme.
    pub enrols: bool,
    /// `up` (last call succeeded), `degraded` (last call failed), `down` (circuit open),
    /// `unknown` (not called since the gateway started) or `not_configured` (no URL here: its
    /// routes answer 503 `scheme_not_configured`).
    #[schema(example = "up")]
    pub health: &'static str,
    /// `closed`, `open` or `half_open`; `none` when the scheme is not configured.
    #[schema(example = "closed")]
    pub circuit: &'static str,
    pub consecutive_failures: u32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// When the sync engine last pulled this scheme's changes (null until it has).
    pub last_sync_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"schemes": [{"id": "ncs", "name": "National Career Service",
    "ministry": "Ministry of Labour and Employment",
    "offers": "Job-seeker registration and vacancies by district and NCO occupation code",
    "enrols": true, "health": "up", "circuit": "closed", "consecutive_failures": 0,
    "last_success_at": "2026-12-01T20:37:26.719Z", "last_failure_at": null, "last_sync_at": null}]}))]
pub struct SchemeList {
    pub schemes: Vec<SchemeInfo>,
}

/// List the scheme systems, with each one's health and circuit state.
///
/// One entry per scheme behind the gateway (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY):
/// who runs it, what it offers, whether the gateway can enrol workers in it, and how its system
/// is doing — `health` from the background checks and recent calls (`up`, `degraded`, `down`,
/// `unknown`), the circuit breaker's state, and the last success and failure.
#[utoipa::path(
    tag = "Schemes",
    responses(
        CommonErrors,
        (status = 200, description = "The six schemes.", body = SchemeList),
        (status = 403, description = "The token lacks `schemes:read`.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/schemes")]
pub async fn list_schemes(
    _auth: Authorized<SchemesRead>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let syncs = state.store.scheme_sync_states().await?;
    let schemes = SchemeId::ALL
        .into_iter()
        .map(|id| {
            let facts = id.facts();
            let Ok(adapter) = state.schemes.get(id) else {
                return SchemeInfo {
                    id,
                    name: facts.name,
                    ministry: facts.ministry,
                    offers: facts.offers,
                    enrols: facts.enrols,
                    health: "not_configured",
                    circuit: "none",
                    consecutive_failures: 0,
                    last_success_at: None,
                    last_failure_at: None,
                    last_sync_at: None,
                };
            };
            let h = adapter.upstream().health();
            let circuit = match h.circuit {
                adapter_core::CircuitState::Closed => "closed",
                adapter_core::CircuitState::Open => "open",
                adapter_core::CircuitState::HalfOpen => "half_open",
            };
            let health = match (h.circuit, h.last_success_at, h.last_failure_at) {
                (adapter_core::CircuitState::Open, _, _) => "down",
                (_, None, None) => "unknown",
                (_, Some(ok), Some(bad)) if bad > ok => "degraded",
                (_, None, Some(_)) => "degraded",
                _ => "up",
            };
            SchemeInfo {
                id,
                name: facts.name,
                ministry: facts.ministry,
                offers: facts.offers,
                enrols: facts.enrols,
                health,
                circuit,
                consecutive_failures: h.consecutive_failures,
                last_success_at: h.last_success_at,
                last_failure_at: h.last_failure_at,
                last_sync_at: syncs
                    .iter()
                    .find(|s| s.scheme == id.as_str())
                    .and_then(|s| s.last_sync_at),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(SchemeList { schemes }))
}

/// One of a worker's records in a scheme.
#[derive(Serialize, ToSchema)]
pub struct LinkedRecord {
    /// The scheme's own reference (SPN, policy number, NCS id...).
    #[schema(example = "PMSYM4000000123")]
    pub reference: String,
    #[schema(example = "active")]
    pub status: String,
    /// `enrolment` (made through this gateway) or `sync` (found by matching the scheme's records).
    #[schema(example = "enrolment")]
    pub source: String,
    pub details: Value,
    pub linked_at: DateTime<Utc>,
}

/// Whether the registry record meets the scheme's rules today.
#[derive(Serialize, ToSchema)]
pub struct Eligibility {
    pub eligible: bool,
    /// Each rule not met.
    pub unmet: Vec<RuleBreach>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleBreach {
    #[schema(example = "age")]
    pub rule: String,
    #[schema(example = "outside_age_band")]
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkerScheme {
    pub scheme: SchemeId,
    pub name: &'static str,
    pub enrolled: bool,
    pub records: Vec<LinkedRecord>,
    /// For schemes whose rules the gateway knows (PM-SYM, PMJJBY, AB PM-JAY by age); absent for
    /// the others.
    pub eligibility: Option<Eligibility>,
}

/// A myScheme catalogue scheme whose criteria the worker meets.
#[derive(Serialize, ToSchema)]
pub struct CatalogueMatch {
    #[schema(example = "pmsby")]
    pub slug: String,
    pub title: String,
    pub ministry: String,
    pub benefits: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"uan": "483920175560", "schemes": [
    {"scheme": "pmsym", "name": "Pradhan Mantri Shram Yogi Maan-dhan (PM-SYM)", "enrolled": true,
     "records": [{"reference": "PMSYM4000002001", "status": "active", "source": "enrolment",
       "details": {"monthly_contribution_inr": 100, "entry_age": 29}, "linked_at": "2026-11-23T10:20:11.204Z"}],
     "eligibility": {"eligible": true, "unmet": []}},
    {"scheme": "pmjjby", "name": "Pradhan Mantri Jeevan Jyoti Bima Yojana (PMJJBY)", "enrolled": false,
     "records": [], "eligibility": {"eligible": false, "unmet": [{"rule": "age", "code": "outside_age_band",
     "message": "PMJJBY takes entry ages 18 to 50; the worker is 55"}]}}],
    "may_qualify": [{"slug": "pmsby", "title": "Pradhan Mantri Suraksha Bima Yojana", "ministry": "Ministry of Finance",
     "benefits": "Accident cover of 2 lakh rupees for 20 rupees a year"}],
    "catalogue_error": null}))]
pub struct WorkerSchemes {
    pub uan: String,
    pub schemes: Vec<WorkerScheme>,
    /// Schemes of the myScheme catalogue whose machine-readable criteria the worker meets; null
    /// when myScheme could not be reached (see `catalogue_error`).
    pub may_qualify: Option<Vec<CatalogueMatch>>,
    pub catalogue_error: Option<String>,
}

/// A worker's one-stop view of the six schemes.
///
/// For each scheme: enrolled or not, with the scheme's own references and status (from records
/// linked to the worker: enrolments made through this gateway now, matched scheme records once the
/// sync engine links them), and whether the registry record meets the scheme's rules today. Also the
/// myScheme catalogue schemes the worker may qualify for.
#[utoipa::path(
    tag = "Schemes",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$")),
    responses(
        CommonErrors,
        (status = 200, description = "The worker's schemes.", body = WorkerSchemes),
        (status = 403, description = "The token lacks `schemes:read`, or its purpose may not see the worker fields this view is built from (`purpose_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/workers/{uan}/schemes")]
pub async fn worker_schemes(
    auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    state.require_fields(&auth.caller.purpose, SCHEMES_VIEW_FIELDS)?;
    let worker = visible_worker(&state, &auth.caller, &uan, "read_schemes", ROUTE_SCHEMES).await?;
    let links = state.store.scheme_links(uan.as_str()).await?;
    let today = state.today();
    let applicant = applicant(&worker, &Declarations::default());
    let age = domain::worker::age_on(worker.date_of_birth, today);
    let schemes = SchemeId::ALL
        .into_iter()
        .map(|id| {
            let records: Vec<LinkedRecord> = links
                .iter()
                .filter(|l| l.scheme == id.as_str())
                .map(|l| LinkedRecord {
                    reference: l.reference.clone(),
                    status: l.status.clone(),
                    source: l.source.clone(),
                    details: l.details.clone(),
                    linked_at: l.linked_at,
                })
                .collect();
            let eligibility = match id {
                SchemeId::Pmsym => Some(eligibility(pmsym::check(&applicant, today).map(|_| ()))),
                SchemeId::Pmjjby => Some(eligibility(
                    pmjjby::check(&applicant, true, today).map(|_| ()),
                )),
                SchemeId::Pmjay if pmjay::senior(age) => Some(eligibility(Ok(()))),
                _ => None,
            };
            WorkerScheme {
                scheme: id,
                name: id.facts().name,
                enrolled: records
                    .iter()
                    .any(|r| r.status != "exited" && r.status != "cancelled"),
                records,
                eligibility,
            }
        })
        .collect();
    let (may_qualify, catalogue_error) = match state.schemes.catalogue().await {
        Ok(list) => {
            let profile = Profile {
                age,
                gender: worker.gender.as_str(),
                state_code: worker.state_code.code(),
                social_category: worker.social_category.as_str(),
                monthly_income_inr: worker.monthly_income_inr,
                occupation_nco: worker.occupation_nco.as_str(),
            };
            let matches = list
                .iter()
                .filter(|e| e.criteria.unmet(&profile).is_empty())
                .map(|e| CatalogueMatch {
                    slug: e.slug.clone(),
                    title: e.title.clone(),
                    ministry: e.ministry.clone(),
                    benefits: e.benefits.clone(),
                })
                .collect();
            (Some(matches), None)
        }
        Err(e) => (None, Some(e.summary())),
    };
    record(
        &state,
        &auth.caller,
        "read_schemes",
        ROUTE_SCHEMES,
        vec![uan.to_string()],
        SCHEMES_VIEW_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .collect(),
        200,
    )
    .await?;
    Ok(HttpResponse::Ok().json(WorkerSchemes {
        uan: uan.to_string(),
        schemes,
        may_qualify,
        catalogue_error,
    }))
}

fn eligibility(r: Result<(), Vec<FieldError>>) -> Eligibility {
    match r {
        Ok(()) => Eligibility {
            eligible: true,
            unmet: vec![],
        },
        Err(broken) => Eligibility {
            eligible: false,
            unmet: broken
                .into_iter()
                .map(|b| RuleBreach {
                    rule: b.field,
                    code: b.code.to_owned(),
                    message: b.message,
                })
                .collect(),
        },
    }
}

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

/// Enrol a worker in a scheme through its adapter.
///
/// Checks the scheme's rules against the registry record first (a worker the rules exclude gets a
/// 422 naming each rule broken, e.g. `age`), then forwards the enrolment and records the outcome.
/// An `Idempotency-Key` is required: the same key and body answer the first answer again (even
/// after the gateway restarts mid-call: the scheme receives a key derived from yours and never
/// enrols twice); the same key with another body is a 422. The worker's personal data sent to the
/// scheme is entered in the audit log.
#[utoipa::path(
    tag = "Schemes",
    params(
        ("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$"),
        ("Idempotency-Key" = String, Header, description = "1-255 printable ASCII characters, unique per enrolment; scoped to your client id.", pattern = r"^[!-~]{1,255}$"),
    ),
    request_body(content = EnrolmentRequest, content_type = "application/json"),
    responses(
        CommonErrors,
        (status = 201, description = "Enrolled: the scheme's reference and money terms.", body = EnrolmentResponse),
        (status = 400, description = "The body is not valid JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `schemes:enrol`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this key is still running.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed field, a missing Idempotency-Key or one reused with another body, a scheme that does not take enrolments here, or the worker breaks the scheme's rules (each rule named in `errors`; `already_enrolled` when the scheme holds them already).", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The scheme answered something unusable or refused the gateway's credentials.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:enrol"]))
)]
#[post("/workers/{uan}/enrolments")]
pub async fn enrol(
    auth: Authorized<SchemesEnrol>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_content_type(&req, &["application/json"])?;
    let key = idempotency_key(&req)?.ok_or_else(|| {
        ApiError::field(
            "Idempotency-Key",
            "required",
            "enrolments change another ministry's system: send an Idempotency-Key so a retry never enrols twice",
        )
    })?;
    let body = read_limited(&req, payload, state.limits.enrolment_body_bytes).await?;
    let uan = parse_uan(&path)?;
    let form = parse_form::<EnrolmentRequest>(&body)?;
    let (r, scheme) = form.validate(|r| {
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
    })?;
    // A scheme with no URL here: 503 before any key is claimed or anything recorded.
    state.schemes.get(scheme)?;
    let worker = visible_worker(&state, &auth.caller, &uan, "enrol", ROUTE_ENROL).await?;
    let idem = IdempotencyKey {
        client_id: auth.caller.client_id.clone(),
        key: state.token_key.request_digest(key.as_bytes()),
        route: format!("POST {ROUTE_ENROL} {uan}"),
        request_hash: crate::body::request_hash(&body, &state.token_key),
    };
    let claim = match state
        .store
        .claim_enrolment_key(&idem, state.enrolment_key_stale_secs)
        .await?
    {
        EnrolmentClaim::Fresh(claim) => claim,
        EnrolmentClaim::Replay { status, response } => {
            record(
                &state,
                &auth.caller,
                "enrol_replayed",
                ROUTE_ENROL,
                vec![uan.to_string()],
                vec![],
                status,
            )
            .await?;
            return replay(status, response);
        }
        EnrolmentClaim::Mismatch => {
            return Err(ApiError::field(
                "Idempotency-Key",
                "idempotency_key_reused",
                "this key was already used with a different request",
            ));
        }
        EnrolmentClaim::InFlight => {
            return Err(ApiError::Conflict {
                code: "idempotency_key_in_flight",
                detail: "the first request with this key is still being processed; retry shortly"
                    .into(),
                existing_uan: None,
            });
        }
    };
    // The rest runs as a task of its own: a client that hangs up does not cut an enrolment off
    // between the scheme's answer and its record.
    let job = Enrol {
        state: state.clone(),
        caller: auth.caller.clone(),
        worker,
        scheme,
        declarations: r.declarations.unwrap_or_default(),
        consent: r.auto_debit_consent.unwrap_or(false),
        idem,
        claim,
    };
    // The task keeps the request's id (audit entries and log lines carry it) and its log span.
    let request_id = crate::problem::REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_default();
    let task = crate::problem::REQUEST_ID.scope(request_id, job.run());
    let (status, response) = actix_web::rt::spawn(tracing::Instrument::in_current_span(task))
        .await
        .map_err(|e| ApiError::internal(format!("enrolment task: {e}")))??;
    respond(status, response)
}

/// An enrolment whose idempotency key is claimed: rules, the scheme, the record, the audit.
struct Enrol {
    state: Data<AppState>,
    caller: crate::caller::Caller,
    worker: domain::Worker,
    scheme: SchemeId,
    declarations: Declarations,
    consent: bool,
    idem: IdempotencyKey,
    claim: uuid::Uuid,
}

impl Enrol {
    async fn run(self) -> Result<(u16, Value), ApiError> {
        let Enrol {
            state,
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
        let today = state.today();
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
            Err(broken) => (
                422u16,
                refusal_problem(&broken),
                None,
                json!({}),
                reasons_json(&broken),
            ),
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
                    idempotency_key: sha256_b64(
                        format!(
                            "{}:{}:{}:{}",
                            idem.client_id, idem.key, idem.route, idem.request_hash
                        )
                        .as_bytes(),
                    ),
                });
                // Checked before anything is claimed too; a scheme's URL does not change while
                // serving, but nothing is sent, recorded or kept claimed without an adapter.
                let adapter = match state.schemes.get(scheme) {
                    Ok(a) => a,
                    Err(e) => {
                        state.store.release_enrolment_key(&idem, claim).await?;
                        return Err(e);
                    }
                };
                // The worker's data leaves for the scheme: on the record before it goes.
                // If the log cannot take it, nothing is sent and the key is freed for a retry.
                if let Err(e) = record(
                    &state,
                    &caller,
                    "enrol_send",
                    ROUTE_ENROL,
                    vec![uan.clone()],
                    shared_fields(scheme),
                    102,
                )
                .await
                {
                    state.store.release_enrolment_key(&idem, claim).await?;
                    return Err(e);
                }
                // Bounded well inside the time after which another request may take the key over.
                let limit = Duration::from_secs((state.enrolment_key_stale_secs / 2).max(1) as u64);
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
                        (
                            422,
                            refusal_problem(&broken),
                            None,
                            json!({}),
                            reasons_json(&broken),
                        )
                    }
                    Err(e) => {
                        // Nothing is known to have happened at the scheme: free the key for a
                        // retry (which sends the scheme the same key).
                        let error = upstream_error(scheme, e);
                        state.store.release_enrolment_key(&idem, claim).await?;
                        let status = actix_web::ResponseError::status_code(&error).as_u16();
                        record(
                            &state,
                            &caller,
                            "enrol",
                            ROUTE_ENROL,
                            vec![uan],
                            vec![],
                            status,
                        )
                        .await?;
                        return Err(error);
                    }
                }
            }
        };
        let enrolled = reference.as_ref().map(|(r, s)| (r.as_str(), s.as_str()));
        let owned = state
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
        record(
            &state,
            &caller,
            "enrol",
            ROUTE_ENROL,
            vec![uan],
            vec![],
            status,
        )
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

/// The problem document of a refusal, stored under the idempotency key and replayed as is.
/// The refusal as stored for the key's replays: the problem the mapper makes of it.
fn refusal_problem(broken: &[FieldError]) -> Value {
    let problem = ApiError::RulesNotMet(broken.to_vec())
        .problem(crate::problem::REQUEST_ID.try_with(Clone::clone).ok());
    serde_json::to_value(problem).unwrap_or_default()
}

fn reasons_json(broken: &[FieldError]) -> Value {
    Value::Array(
        broken
            .iter()
            .map(|b| json!({"field": b.field, "code": b.code, "message": b.message}))
            .collect(),
    )
}

fn replay(status: u16, mut response: Value) -> Result<HttpResponse, ApiError> {
    // A problem answered again names this request, the one whose logs to look in.
    if let Some(id) = response.get_mut("request_id") {
        *id = json!(crate::problem::REQUEST_ID.try_with(Clone::clone).ok());
    }
    let mut res = respond(status, response)?;
    res.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
        actix_web::http::header::HeaderValue::from_static("true"),
    );
    Ok(res)
}

fn respond(status: u16, response: Value) -> Result<HttpResponse, ApiError> {
    let code = actix_web::http::StatusCode::from_u16(status)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut res = HttpResponse::build(code);
    if code.is_client_error() {
        res.content_type(crate::problem::PROBLEM_JSON);
    }
    Ok(res.json(response))
}

/// Vacancies near the worker.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"uan": "483920175560", "district_code": "230", "occupation_nco": "9313.0100",
    "vacancies": [{"vacancy_id": "NCSV-970393-1", "title": "Building construction labourer",
    "employer": "Tata Projects", "nco_code": "9313.0100", "district_code": "230", "openings": 25,
    "wage_inr_month": 15000, "posted_on": "2025-03-13"}]}))]
pub struct Jobs {
    pub uan: String,
    #[schema(example = "164")]
    pub district_code: String,
    #[schema(example = "9313.0100")]
    pub occupation_nco: String,
    pub vacancies: Vec<Vacancy>,
}

/// A vacancy as NCS lists it.
#[derive(Serialize, ToSchema)]
pub struct Vacancy {
    #[schema(example = "NCSV-482913-1")]
    pub vacancy_id: String,
    #[schema(example = "Building construction labourer")]
    pub title: String,
    pub employer: String,
    pub nco_code: String,
    pub district_code: String,
    pub openings: u32,
    pub wage_inr_month: u32,
    pub posted_on: chrono::NaiveDate,
}

/// NCS vacancies for the worker's district and occupation.
///
/// Asks the National Career Service for open vacancies in the worker's district with the
/// worker's NCO-2015 occupation code. Only the district and occupation leave for NCS, and that is
/// written to the worker's access log first. A 502 or 503 means NCS could not answer; nothing is
/// cached.
#[utoipa::path(
    tag = "Schemes",
    params(("uan" = String, Path, description = "12-digit e-Shram UAN.", example = "483920175560", pattern = r"^[0-9]{12}$")),
    responses(
        CommonErrors,
        (status = 200, description = "Vacancies from NCS.", body = Jobs),
        (status = 403, description = "The token lacks `schemes:read`, or its purpose may not see the worker fields this view is built from (`purpose_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such worker in your states.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a well-formed UAN.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "NCS answered something unusable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["schemes:read"]))
)]
#[get("/workers/{uan}/jobs")]
pub async fn worker_jobs(
    auth: Authorized<SchemesRead>,
    path: web::Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let uan = parse_uan(&path)?;
    state.require_fields(&auth.caller.purpose, JOBS_VIEW_FIELDS)?;
    let ncs = state.schemes.ncs()?;
    let worker = visible_worker(&state, &auth.caller, &uan, "read_jobs", ROUTE_JOBS).await?;
    let district = worker.district_code.as_str().to_owned();
    let nco = worker.occupation_nco.as_str().to_owned();
    let fields: Vec<String> = JOBS_VIEW_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    // The district and occupation leave for NCS: on the record before they go, as an enrolment's
    // fields are. If the log cannot take the entry, nothing is sent.
    record(
        &state,
        &auth.caller,
        "jobs_send",
        ROUTE_JOBS,
        vec![uan.to_string()],
        fields.clone(),
        102,
    )
    .await?;
    let list = match ncs.vacancies(&district, &nco).await {
        Ok(list) => list,
        Err(e) => {
            let error = upstream_error(SchemeId::Ncs, e);
            record(
                &state,
                &auth.caller,
                "read_jobs",
                ROUTE_JOBS,
                vec![uan.to_string()],
                fields,
                actix_web::ResponseError::status_code(&error).as_u16(),
            )
            .await?;
            return Err(error);
        }
    };
    record(
        &state,
        &auth.caller,
        "read_jobs",
        ROUTE_JOBS,
        vec![uan.to_string()],
        fields,
        200,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Jobs {
        uan: uan.to_string(),
        district_code: district,
        occupation_nco: nco,
        vacancies: list
            .into_iter()
            .map(|v| Vacancy {
                vacancy_id: v.vacancy_id,
                title: v.title,
                employer: v.employer,
                nco_code: v.nco_code,
                district_code: v.district_code,
                openings: v.openings,
                wage_inr_month: v.wage_inr_month,
                posted_on: v.posted_on,
            })
            .collect(),
    }))
}

fn applicant(w: &domain::Worker, d: &Declarations) -> Applicant {
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

fn person(w: &domain::Worker) -> Person {
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
