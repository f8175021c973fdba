//! Matching a partner's records against the live registry: a partner (or the sync engine) gives
//! the people of its own database (a scheme's beneficiaries, a state roll) and learns, for each,
//! the registry workers who are probably the same person, with a score, a decision and why,
//! without receiving their records. Candidates come through the workers' stored blocking keys (an
//! index), never by scanning the registry.

use std::path::PathBuf;
use std::sync::Arc;

use domain::error::{Errors, FieldError, Invalid};
use domain::{Aadhaar, StateCode};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};

/// Where the audit log says a match came from.
const ROUTE: &str = "/v1/match";

/// Characters a text field may hold.
const MAX_TEXT: usize = 200;
/// Candidates answered per record at most.
const MAX_LIMIT: usize = 10;
/// The worker field behind each comparison of `matching::compare::COMPARISONS`, in order: a
/// comparison is explained only to purposes that see its field.
const COMPARED_FIELDS: [&str; 8] = [
    "name",
    "date_of_birth",
    "mobile",
    "aadhaar_masked",
    "gender",
    "pincode",
    "relative_name",
    "address",
];

/// Candidate queries of one request in flight at once.
const CONCURRENT_QUERIES: usize = 4;
/// Records whose candidates one statement looks up.
const RECORDS_PER_LOOKUP: usize = 125;

/// The records to match, in the canonical matching schema.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"records": [{"id": "pmjay-7781", "full_name": "MOHD IRFAN", "gender": "M",
    "dob": "1991-04-12", "state_code": "09", "district_code": "164", "pincode": "226001",
    "relative_name": "Salim Khan"}]}))]
pub struct MatchRequest {
    /// At most `matching.max_records` (1,000 by default).
    #[schema(min_items = 1, max_items = 1000)]
    pub records: Vec<IncomingRecord>,
    /// Candidates to answer per record, best first (default 3, at most 10).
    #[schema(minimum = 1, maximum = 10)]
    pub limit: Option<usize>,
}

/// One person as the partner's database holds them. Every field but `id` and `full_name` may be
/// left out.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingRecord {
    /// The partner's own identifier, echoed in the answer.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub id: String,
    /// In any script (Devanagari and other Indic scripts are transliterated).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub full_name: String,
    /// `M`, `F` or `T`.
    #[schema(pattern = r"^ *[MFT] *$")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`; `YYYY-01-01` is read as "born that year".
    #[schema(format = Date)]
    pub dob: Option<String>,
    /// 10 digits from 6-9, with or without `+91` or `0`.
    #[schema(pattern = r"^(\+91[ -]?|91|0)?[6-9][0-9]{4}[ -]?[0-9]{5}$")]
    pub mobile: Option<String>,
    /// 2-digit LGD state code.
    #[schema(pattern = r"^(0[1-9]|1[0-9]|2[0-4]|2[7-9]|3[0-8])$")]
    pub state_code: Option<String>,
    #[schema(max_length = 200)]
    pub district_code: Option<String>,
    #[schema(max_length = 200)]
    pub pincode: Option<String>,
    #[schema(max_length = 200)]
    pub relative_name: Option<String>,
    /// The 12-digit Aadhaar number, if the partner holds it: turned into the registry's token at
    /// once and compared as that, never stored or logged.
    #[schema(pattern = r"^[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}$")]
    pub aadhaar: Option<String>,
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"results": [{"id": "pmjay-7781", "candidates": [{"uan": "483920175560", "score": 0.999991,
    "decision": "link", "explanation": [
        {"comparison": "name", "level": "exact after normalisation", "weight": 12.81},
        {"comparison": "dob", "level": "same year, one side year-only (YYYY-01-01)", "weight": 4.86},
        {"comparison": "mobile", "level": "exact", "weight": 16.52},
        {"comparison": "aadhaar", "level": "missing", "weight": 0.0},
        {"comparison": "gender", "level": "same", "weight": 0.3},
        {"comparison": "place", "level": "same pincode", "weight": 2.84},
        {"comparison": "relative_name", "level": "missing", "weight": 0.0},
        {"comparison": "address", "level": "missing", "weight": 0.0}]}]}]}))]
pub struct MatchResponse {
    /// One result per record sent, in the same order.
    pub results: Vec<MatchResult>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchResult {
    pub id: String,
    /// Registry workers at or above the review threshold, best first; empty when none.
    pub candidates: Vec<MatchCandidate>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchCandidate {
    #[schema(example = "483920175560")]
    pub uan: String,
    /// The match probability.
    #[schema(example = 0.998)]
    pub score: f64,
    /// `link` (at or above `matching.link_threshold`) or `review`.
    #[schema(example = "link")]
    pub decision: String,
    /// How each field compared, for the fields the token's purpose may see (the score counts
    /// every field).
    pub explanation: Vec<FieldWeight>,
}

/// One field's part in a score.
#[derive(Serialize, Deserialize, Clone, ToSchema)]
pub struct FieldWeight {
    #[schema(example = "name")]
    pub comparison: String,
    /// The comparison level, or `missing` when either side lacks the field.
    #[schema(example = "same tokens, reordered or with initials")]
    pub level: String,
    /// log2(m/u) of the level: positive is evidence for the same person.
    #[schema(example = 3.1)]
    pub weight: f64,
}

/// `[matching]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A model written by `shramsetu match --train --model`; empty: the built-in one.
    pub model_file: PathBuf,
    pub link_threshold: f64,
    pub review_threshold: f64,
    pub max_records: usize,
    pub max_bucket: i64,
    /// Where candidates are looked up: `database` (any size) or `memory` (about 2 GB a million
    /// workers, loaded at start; [`crate::candidate_index`]).
    pub index: IndexKind,
}

/// Where a record's candidates are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    Database,
    Memory,
}

/// What matching scores with.
pub struct Matcher {
    pub model: matching::Model,
    /// Names the model a link was scored with: its format version and a digest of the file.
    pub model_version: String,
    pub link: f64,
    pub review: f64,
    pub max_records: usize,
    pub max_bucket: i64,
    /// The candidate index in memory, when configured (the database's until it is loaded).
    pub index: Option<Arc<crate::candidate_index::CandidateIndex>>,
    /// The registry's size when last counted, and when: the model's prior is rescaled to it.
    registry_size: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
}

/// How long a count of the registry's workers is reused.
const RECOUNT_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// The model shipped in the binary (trained on the synthetic 1,000,000 x 100,000 set).
const BUILT_IN_MODEL: &str = include_str!("../data/match-model.json");

impl Matcher {
    pub fn from_settings(m: &Settings) -> anyhow::Result<Matcher> {
        let text = if m.model_file.as_os_str().is_empty() {
            BUILT_IN_MODEL.to_owned()
        } else {
            std::fs::read_to_string(&m.model_file).map_err(|e| {
                anyhow::anyhow!("matching.model_file {}: {e}", m.model_file.display())
            })?
        };
        let model = matching::Model::from_json(&text)
            .map_err(|e| anyhow::anyhow!("matching.model_file: {e}"))?;
        let digest = crate::random::sha256_b64(text.as_bytes());
        Ok(Matcher {
            model_version: format!("v{}-{}", model.version, &digest[..12]),
            model,
            link: m.link_threshold,
            review: m.review_threshold,
            max_records: m.max_records,
            max_bucket: m.max_bucket,
            index: (m.index == IndexKind::Memory).then(Default::default),
            registry_size: std::sync::Mutex::new(None),
        })
    }
}

/// A match request that passed its checks: its ids, its records prepared, the answer's size.
pub struct CheckedMatch {
    ids: Vec<String>,
    prepared: Vec<matching::Prepared>,
    limit: usize,
}

impl Registry {
    /// Every problem of a match request at once: the number of records, the limit, each record's
    /// fields. On success, the records prepared for matching.
    pub fn check_match(&self, r: &MatchRequest) -> Result<CheckedMatch, Vec<FieldError>> {
        let max = self.matcher.max_records;
        let mut errors = Errors::default();
        if r.records.is_empty() || r.records.len() > max {
            errors.push(
                Invalid::new("out_of_range", format!("send 1 to {max} records")).at("records"),
            );
        }
        let limit = r.limit.unwrap_or(3);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(Invalid::new("out_of_range", format!("1 to {MAX_LIMIT}")).at("limit"));
        }
        // Past the cap the records are not read: the count is the problem.
        let records = &r.records[..r.records.len().min(max)];
        let prepared = self.prepare_all(records, &mut errors);
        if errors.is_empty() {
            Ok(CheckedMatch {
                ids: records.iter().map(|r| r.id.clone()).collect(),
                prepared,
                limit,
            })
        } else {
            Err(errors.into_vec())
        }
    }

    /// Each record's candidates in the caller's states, scored, and the match on the record of
    /// every candidate named.
    pub async fn match_records(
        self: &Arc<Self>,
        caller: &Caller,
        checked: CheckedMatch,
    ) -> Result<MatchResponse> {
        let CheckedMatch {
            ids,
            prepared,
            limit,
        } = checked;
        // How a field compared is shown only to purposes that see the field whole: "same date of
        // birth" would tell a purpose that sees the birth year the whole date.
        let shown: Vec<bool> = COMPARED_FIELDS
            .iter()
            .map(|f| self.sees_whole(&caller.purpose, f))
            .collect();
        let states = caller.states.as_deref();
        let results = self.score(ids, prepared, states, limit, shown).await?;
        let mut uans: Vec<String> = results
            .iter()
            .flat_map(|r| r.candidates.iter().map(|c| c.uan.clone()))
            .collect();
        // The partner learns which workers resemble its people, and how: on the record.
        uans.sort();
        uans.dedup();
        let fields = vec!["uan".into(), "match_score".into()];
        self.record(caller, "match", ROUTE, uans, fields, 200)
            .await?;
        Ok(MatchResponse { results })
    }

    /// Each prepared record's candidates in `states`, found through the stored blocking keys
    /// (never a scan) and scored, best first, at most `limit`: the one scoring of
    /// `POST /v1/match` and the sync engine. `shown[i]`: whether comparison `i` is explained.
    pub async fn score(
        self: &Arc<Self>,
        ids: Vec<String>,
        prepared: Vec<matching::Prepared>,
        states: Option<&[String]>,
        limit: usize,
        shown: Vec<bool>,
    ) -> Result<Vec<MatchResult>> {
        let keys: Vec<_> = prepared
            .iter()
            .map(store::match_keys::CandidateKeys::of)
            .collect();
        let max_bucket = self.matcher.max_bucket;
        let model = self.model_for_registry().await?;
        let states: Option<Vec<String>> = states.map(<[String]>::to_vec);
        let scorer = self.clone();
        // Where the candidates are: the index in memory once loaded, else found in the database.
        let found = match self.matcher.index.clone().filter(|i| i.is_ready()) {
            Some(index) => {
                index.keep_up(&self.store).await?;
                Found::InMemory(index, keys, states)
            }
            None => Found::Database(self.candidates_in_database(keys, states).await?),
        };
        // Lookups and scoring of up to 400,000 pairs are CPU work: off the async threads.
        tokio::task::spawn_blocking(move || {
            let score = |found: Vec<Vec<(&str, &matching::Prepared)>>| {
                let m = &scorer.matcher;
                score_all(m, &model, ids, &prepared, found, limit, &shown)
            };
            match found {
                Found::InMemory(index, keys, states) => {
                    index.with_candidates(&keys, states.as_deref(), max_bucket, score)
                }
                Found::Database(found) => {
                    let found: Vec<Vec<(String, matching::Prepared)>> = found
                        .iter()
                        .map(|list| list.iter().map(prepare_candidate).collect())
                        .collect();
                    score(
                        found
                            .iter()
                            .map(|list| list.iter().map(|(u, p)| (u.as_str(), p)).collect())
                            .collect(),
                    )
                }
            }
        })
        .await
        .map_err(|e| Error::Unavailable(format!("matching: {e}")))
    }

    /// Each record's candidates through the database's index of the stored keys.
    async fn candidates_in_database(
        &self,
        mut keys: Vec<store::match_keys::CandidateKeys>,
        states: Option<Vec<String>>,
    ) -> Result<Vec<Vec<store::match_keys::Candidate>>> {
        // A few hundred records per statement, a few statements at once: one request must not
        // take every pooled connection, nor one backend all the work. Owned chunks and states:
        // the lookups' futures then borrow nothing, and stay `Send` for callers on any runtime
        // thread (a batch's workers).
        let max_bucket = self.matcher.max_bucket;
        let mut chunks = vec![];
        while !keys.is_empty() {
            let rest = keys.split_off(keys.len().min(RECORDS_PER_LOOKUP));
            chunks.push(std::mem::replace(&mut keys, rest));
        }
        let found: Vec<Vec<_>> = futures_util::stream::iter(chunks.into_iter().map(|chunk| {
            let store = self.store.clone();
            let states = states.clone();
            async move {
                store
                    .match_candidates(&chunk, states.as_deref(), max_bucket)
                    .await
            }
        }))
        .buffered(CONCURRENT_QUERIES)
        .try_collect()
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The model with its prior for the registry's size now (counted at most once a minute): a
    /// random pair's prior is the share of records with a match over the registry's size, so the
    /// same evidence weighs more in a registry of 2,000 than in one of 30 crore.
    async fn model_for_registry(&self) -> Result<matching::Model> {
        let size = self.registry_size().await?;
        Ok(self.matcher.model.for_registry_of(size))
    }

    /// The registry's size as the model's prior sees it: counted (or estimated, once large) at
    /// most once a minute.
    pub async fn registry_size(&self) -> Result<u64> {
        let cached = *self
            .matcher
            .registry_size
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((at, n)) = cached
            && at.elapsed() < RECOUNT_AFTER
        {
            return Ok(n);
        }
        let n = self.store.estimated_workers().await?.max(1) as u64;
        *self
            .matcher
            .registry_size
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), n));
        Ok(n)
    }

    /// Checks every record (all errors at once, each named by its place) and prepares it.
    fn prepare_all(
        &self,
        records: &[IncomingRecord],
        errors: &mut Errors,
    ) -> Vec<matching::Prepared> {
        let mut prepared = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let at = |field: &str| format!("records[{i}].{field}");
            let text =
                |errors: &mut Errors, field: &str, value: Option<&str>, required: bool| match value
                    .map(str::trim)
                {
                    None | Some("") if required => errors.push(FieldError {
                        field: at(field),
                        code: "required",
                        message: "required".into(),
                    }),
                    Some(v) if v.chars().count() > MAX_TEXT => errors.push(FieldError {
                        field: at(field),
                        code: "too_long",
                        message: format!("at most {MAX_TEXT} characters"),
                    }),
                    _ => {}
                };
            text(errors, "id", Some(&r.id), true);
            text(errors, "full_name", Some(&r.full_name), true);
            for (field, value) in [
                ("relative_name", &r.relative_name),
                ("address", &r.address),
                ("district_code", &r.district_code),
                ("pincode", &r.pincode),
            ] {
                text(errors, field, value.as_deref(), false);
            }
            if let Some(g) = &r.gender
                && !matches!(g.trim(), "M" | "F" | "T")
            {
                errors.push(Invalid::new("invalid_value", "M, F or T").at(at("gender")));
            }
            // Read as a date, then written back canonically (chrono also takes `1991-4-12`).
            let dob = r
                .dob
                .as_deref()
                .and_then(|d| errors.check(&at("dob"), domain::worker::parse_date(d)))
                .map(|d| d.format("%Y-%m-%d").to_string());
            if let Some(m) = &r.mobile
                && matching::normalise::mobile(m).is_none()
            {
                errors.push(
                    Invalid::new("invalid_format", "a 10-digit Indian mobile number")
                        .at(at("mobile")),
                );
            }
            if let Some(s) = &r.state_code {
                errors.check(&at("state_code"), StateCode::parse(s));
            }
            let token = r
                .aadhaar
                .as_deref()
                .and_then(|a| errors.check(&at("aadhaar"), Aadhaar::parse(a)))
                .map(|a| self.token_key.token(&a).as_str().to_owned());
            prepared.push(matching::Prepared::new(&matching::Record {
                id: r.id.clone(),
                full_name: r.full_name.clone(),
                gender: r.gender.clone().unwrap_or_default(),
                dob: dob.unwrap_or_default(),
                mobile: r.mobile.clone().unwrap_or_default(),
                state_code: r.state_code.clone().unwrap_or_default(),
                district_code: r.district_code.clone().unwrap_or_default(),
                pincode: r.pincode.clone().unwrap_or_default(),
                relative_name: r.relative_name.clone().unwrap_or_default(),
                aadhaar_hash: token.unwrap_or_default(),
                address: r.address.clone().unwrap_or_default(),
            }));
        }
        prepared
    }
}

impl FieldWeight {
    /// A comparison's part as answered: its weight to two decimals.
    fn of(f: &matching::engine::FieldWeight) -> FieldWeight {
        FieldWeight {
            comparison: f.comparison.into(),
            level: f.level.into(),
            weight: (f.weight * 100.0).round() / 100.0,
        }
    }
}

/// The worker field behind a comparison of the model (by its name), for showing it only to
/// purposes that see that field whole.
pub fn field_of(comparison: &str) -> Option<&'static str> {
    matching::compare::COMPARISONS
        .iter()
        .position(|c| c.name == comparison)
        .and_then(|i| COMPARED_FIELDS.get(i).copied())
}

/// A scheme's person in the matcher's canonical form (`reference` as its id).
pub fn person_record(reference: &str, p: &adapter_core::Person) -> matching::Record {
    matching::Record {
        id: reference.to_owned(),
        full_name: p.full_name.clone(),
        gender: p.gender.clone(),
        dob: p
            .date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        mobile: p.mobile.clone(),
        state_code: p.state_code.clone(),
        district_code: p.district_code.clone(),
        pincode: p.pincode.clone(),
        relative_name: p.relative_name.clone(),
        aadhaar_hash: String::new(),
        address: String::new(),
    }
}

/// The stored keys of a kept scheme record, its person as JSON (`adapter_core::Person`): none
/// when the JSON no longer reads as a person.
pub fn stored_keys_of_person(reference: &str, person: &serde_json::Value) -> Vec<i64> {
    serde_json::from_value::<adapter_core::Person>(person.clone())
        .map(|p| {
            store::match_keys::stored_keys(&matching::Prepared::new(&person_record(reference, &p)))
        })
        .unwrap_or_default()
}

/// What a new worker found among the records the sync engine kept as unregistered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    pub linked: usize,
    pub queued: usize,
}

impl Registry {
    /// Matches a worker just registered against the scheme records no worker was found for
    /// (through the same keys, scored by the same model): a record at `link` is linked to them, one
    /// at `review` queued for review beside them; either leaves the unregistered. On the worker's
    /// access log when anything was found.
    pub async fn claim_waiting_records(
        &self,
        caller: &Caller,
        worker: &domain::Worker,
        aadhaar_token: &str,
    ) -> Result<Claimed> {
        let fields = store::match_keys::worker_fields(worker, aadhaar_token);
        let me = matching::Prepared::new(&fields.record());
        let keys = store::match_keys::CandidateKeys::of(&me);
        let waiting = self
            .store
            .unregistered_candidates(&keys, self.matcher.max_bucket)
            .await?;
        if waiting.is_empty() {
            return Ok(Claimed::default());
        }
        let model = self.model_for_registry().await?;
        let mut found = Vec::new();
        for record in waiting {
            let Ok(person) = serde_json::from_value::<adapter_core::Person>(record.person.clone())
            else {
                continue;
            };
            let theirs = matching::Prepared::new(&person_record(&record.reference, &person));
            let why = matching::explain_pair(&model, &theirs, &me);
            if why.probability < self.matcher.review {
                continue;
            }
            let explanation: Vec<FieldWeight> = why.fields.iter().map(FieldWeight::of).collect();
            let score = (why.probability * 1e6).round() / 1e6;
            let review = why.probability < self.matcher.link;
            found.push((record, score, explanation, review));
        }
        if found.is_empty() {
            return Ok(Claimed::default());
        }
        // The worker is named beside the scheme's records: on the record before it is written.
        let fields = vec!["uan".into(), "match_score".into()];
        let uan = worker.uan.to_string();
        self.record(
            caller,
            "sync_link",
            ROUTE_WAITING,
            vec![uan.clone()],
            fields,
            200,
        )
        .await?;
        let mut claimed = Claimed::default();
        let version = &format!(
            "{} n={}",
            self.matcher.model_version,
            self.registry_size().await?
        );
        for (record, score, explanation, review) in found {
            let explanation = serde_json::to_value(explanation).unwrap_or_default();
            if self
                .store
                .claim_unregistered(&record, &uan, score, &explanation, version, review)
                .await?
            {
                if review {
                    claimed.queued += 1;
                } else {
                    claimed.linked += 1;
                }
            }
        }
        Ok(claimed)
    }
}

/// Where the audit log says a registration's claim of waiting records came from.
const ROUTE_WAITING: &str = "/v1/workers";

/// Where a request's candidates are: to be looked up in the index in memory (with the records'
/// keys and the caller's states), or found in the database already.
enum Found {
    InMemory(
        Arc<crate::candidate_index::CandidateIndex>,
        Vec<store::match_keys::CandidateKeys>,
        Option<Vec<String>>,
    ),
    Database(Vec<Vec<store::match_keys::Candidate>>),
}

/// A worker found in the database, prepared as the matcher reads it.
fn prepare_candidate(c: &store::match_keys::Candidate) -> (String, matching::Prepared) {
    let fields = store::match_keys::worker_fields(&c.worker, &c.aadhaar_token);
    (
        c.worker.uan.to_string(),
        matching::Prepared::new(&fields.record()),
    )
}

/// Each record's candidates (UAN, prepared) at or above the review threshold, best first, at most
/// `limit`.
fn score_all(
    matcher: &Matcher,
    model: &matching::Model,
    ids: Vec<String>,
    prepared: &[matching::Prepared],
    found: Vec<Vec<(&str, &matching::Prepared)>>,
    limit: usize,
    shown: &[bool],
) -> Vec<MatchResult> {
    // Pairs that cannot reach the review threshold are dropped before their names are compared.
    let scorer = matching::PairScorer::new(model, matcher.review);
    ids.into_iter()
        .zip(prepared)
        .zip(found)
        .map(|((id, p), candidates)| {
            let mut scored: Vec<MatchCandidate> = candidates
                .into_iter()
                .filter_map(|(uan, b)| {
                    let why = scorer.explain(p, b)?;
                    (why.probability >= matcher.review).then(|| MatchCandidate {
                        uan: uan.to_owned(),
                        score: (why.probability * 1e6).round() / 1e6,
                        decision: if why.probability >= matcher.link {
                            "link"
                        } else {
                            "review"
                        }
                        .into(),
                        explanation: why
                            .fields
                            .iter()
                            .zip(shown)
                            .filter(|(_, shown)| **shown)
                            .map(|(f, _)| FieldWeight::of(f))
                            .collect(),
                    })
                })
                .collect();
            scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.uan.cmp(&b.uan)));
            scored.truncate(limit);
            MatchResult {
                id,
                candidates: scored,
            }
        })
        .collect()
}
