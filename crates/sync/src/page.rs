//! One page of a scheme's feed turned into what it means for the registry: each record linked to
//! its worker, queued for review beside the workers it may be, kept as unregistered, or refused
//! as unusable (with why). Matching is the registry's own (`Registry::score`, as `POST /v1/match`
//! scores), through the stored blocking keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use adapter_core::{Person, SchemeRecord};
use chrono::NaiveDate;
use registry::Registry;
use registry::matcher::MatchResult;
use serde_json::{Value, json};
use store::sync::{NewLink, NewReview, NewUnregistered, PageOutcome, RejectedPair};

/// Candidates kept per record: the best, and enough beside it to see that it is the only one.
const CANDIDATES: usize = 3;
/// The comparisons of the model, every one explained in what the engine stores.
const COMPARISONS: usize = matching::compare::COMPARISONS.len();

/// What `records` come to. `cursor` is where the feed resumes after them. `previous`: the links
/// of the page before, which may still be committing; a record they link counts as linked.
pub async fn outcome(
    registry: &Arc<Registry>,
    records: &[SchemeRecord],
    cursor: String,
    today: NaiveDate,
    previous: &[NewLink],
) -> registry::Result<PageOutcome> {
    // The model, and the registry size its prior was scaled to: what a link's score means.
    let model_version = format!(
        "{} n={}",
        registry.matcher.model_version,
        registry.registry_size().await?
    );
    let mut out = PageOutcome {
        records: records.len() as i64,
        model_version,
        cursor,
        ..PageOutcome::default()
    };
    // The last copy of a record within the page wins: one link, one review, one row.
    let mut latest: BTreeMap<&str, &SchemeRecord> = BTreeMap::new();
    for r in records {
        latest.insert(r.reference.as_str(), r);
    }
    // A record linked already keeps its worker: the scheme's news (status, details, an end)
    // updates the link, never a new score.
    let references: Vec<String> = latest.keys().map(|r| (*r).to_owned()).collect();
    let mut linked = registry
        .store
        .linked_records(scheme_of(records), &references)
        .await?;
    // What is stored wins: a commit keeps a linked record's worker.
    for l in previous {
        if latest.contains_key(l.reference.as_str()) {
            linked
                .entry(l.reference.clone())
                .or_insert_with(|| l.uan.clone());
        }
    }
    // The UANs the scheme recorded, looked up at once.
    let recorded: Vec<String> = latest
        .values()
        .filter_map(|r| r.person.as_ref())
        .filter_map(|p| domain::Uan::parse(p.eshram_uan.trim()).ok())
        .map(|u| u.to_string())
        .collect();
    let known = registry.store.existing_uans(&recorded).await?;
    // What people decided about these records' pairs stands against any score, and against
    // the UAN a scheme recorded.
    let (unlinked, persons): (Vec<String>, Vec<Value>) = latest
        .values()
        .filter(|r| !linked.contains_key(&r.reference))
        .filter_map(|r| {
            let person = serde_json::to_value(r.person.as_ref()?).ok()?;
            Some((r.reference.clone(), person))
        })
        .unzip();
    let rejected = registry
        .store
        .rejected_pairs(scheme_of(records), &unlinked, &persons)
        .await?;
    let mut to_score = Vec::new();
    for r in latest.into_values() {
        if let Some(uan) = linked.get(&r.reference) {
            out.links.push(NewLink {
                reference: r.reference.clone(),
                uan: uan.clone(),
                status: r.status.clone(),
                details: Value::Object(r.facts.clone()),
                score: 1.0,
                explanation: json!([]),
            });
            continue;
        }
        let Some(person) = &r.person else {
            continue;
        };
        if let Some(reason) = unusable(person, today) {
            out.errors.push((r.reference.clone(), reason.to_owned()));
            continue;
        }
        if let Some(link) = recorded_uan(&known, r, person)
            && decided(&rejected, &link.reference, &link.uan).is_none()
        {
            out.links.push(link);
            continue;
        }
        to_score.push((
            r,
            matching::Prepared::new(&registry::matcher::person_record(&r.reference, person)),
        ));
    }
    if to_score.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = to_score.iter().map(|(r, _)| r.reference.clone()).collect();
    let prepared: Vec<_> = to_score.iter().map(|(_, p)| p.clone()).collect();
    let results = registry
        .score(ids, prepared, None, CANDIDATES, vec![true; COMPARISONS])
        .await?;
    for ((r, p), mut result) in to_score.into_iter().zip(results) {
        respect_decisions(&mut result, &r.reference, &rejected);
        decide(&mut out, r, &p, result);
    }
    Ok(out)
}

/// The scheme of a page's records.
fn scheme_of(records: &[SchemeRecord]) -> &'static str {
    records
        .first()
        .map(|r| r.scheme.as_str())
        .unwrap_or_default()
}

/// A record the engine cannot match, and why (counted in the run, listed with its reference).
fn unusable(p: &Person, today: NaiveDate) -> Option<&'static str> {
    if p.full_name.trim().is_empty() {
        return Some("no name");
    }
    match p.date_of_birth {
        Some(d) if d > today => Some("date of birth in the future"),
        Some(d) if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d) => {
            Some("date of birth before 1900")
        }
        _ => None,
    }
}

/// A record that names its worker's UAN (the scheme recorded it at enrolment): linked to that
/// worker when the registry has them (`known`), without scoring.
fn recorded_uan(
    known: &std::collections::HashSet<String>,
    r: &SchemeRecord,
    p: &Person,
) -> Option<NewLink> {
    let uan = domain::Uan::parse(p.eshram_uan.trim()).ok()?.to_string();
    known.contains(&uan).then(|| NewLink {
        reference: r.reference.clone(),
        uan,
        status: r.status.clone(),
        details: Value::Object(r.facts.clone()),
        score: 1.0,
        explanation: json!([{"comparison": "eshram_uan", "level": "recorded by the scheme"}]),
    })
}

/// The pair of `reference` and `uan` if a person decided it was not a match.
fn decided<'a>(
    rejected: &'a [RejectedPair],
    reference: &str,
    uan: &str,
) -> Option<&'a RejectedPair> {
    rejected
        .iter()
        .find(|p| p.reference == reference && p.uan == uan)
}

/// A pair decided not_a_match is dropped while neither side has changed since, and is never
/// linked without a person when one has: it can only be queued again.
fn respect_decisions(result: &mut MatchResult, reference: &str, rejected: &[RejectedPair]) {
    result
        .candidates
        .retain(|c| decided(rejected, reference, &c.uan).is_none_or(|p| p.changed));
    for c in &mut result.candidates {
        if decided(rejected, reference, &c.uan).is_some() && c.decision == "link" {
            c.decision = "review".into();
        }
    }
}

/// Link the only strong candidate; queue every candidate when the best is doubtful or two are
/// strong; otherwise keep the record as unregistered.
fn decide(out: &mut PageOutcome, r: &SchemeRecord, p: &matching::Prepared, result: MatchResult) {
    let explanation = |c: &registry::matcher::MatchCandidate| {
        serde_json::to_value(&c.explanation).unwrap_or_default()
    };
    let strong: Vec<_> = result
        .candidates
        .iter()
        .filter(|c| c.decision == "link")
        .collect();
    match (strong.as_slice(), result.candidates.first()) {
        ([only], _) => out.links.push(NewLink {
            reference: r.reference.clone(),
            uan: only.uan.clone(),
            status: r.status.clone(),
            details: Value::Object(r.facts.clone()),
            score: only.score,
            explanation: explanation(only),
        }),
        (_, Some(_)) => {
            let record = serde_json::to_value(r).unwrap_or_default();
            for c in &result.candidates {
                out.reviews.push(NewReview {
                    reference: r.reference.clone(),
                    uan: c.uan.clone(),
                    score: c.score,
                    explanation: explanation(c),
                    record: record.clone(),
                });
            }
        }
        (_, None) => {
            let person = r.person.clone().unwrap_or_default();
            out.unregistered.push(NewUnregistered {
                reference: r.reference.clone(),
                status: r.status.clone(),
                state_code: person.state_code.clone(),
                district_code: person.district_code.clone(),
                person: serde_json::to_value(&person).unwrap_or_default(),
                facts: Value::Object(r.facts.clone()),
                match_keys: store::match_keys::stored_keys(p),
            });
        }
    }
}
