//! Each worker's blocking keys for incremental matching: computed by the matching crate from the
//! registry record on every insert and update, kept in `workers.match_keys` (GIN-indexed), and the
//! candidates an incoming record finds through them.

use chrono::NaiveDate;
use domain::worker::{Address, Gender, Worker};
use matching::prepare::KEYS_VERSION;
use tokio_postgres::Row;

use crate::rows::{COLUMNS, worker_from_row};
use crate::{Result, Store};

/// The fields of a worker the matcher reads.
pub struct MatchFields<'a> {
    pub name: &'a str,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    pub mobile: &'a str,
    pub state_code: &'a str,
    pub district_code: &'a str,
    pub pincode: &'a str,
    pub relative_name: &'a str,
    /// The worker's Aadhaar token (HMAC), never the number.
    pub aadhaar_token: &'a str,
    pub address: Option<&'a Address>,
}

impl MatchFields<'_> {
    /// The worker as a record in the matcher's canonical schema.
    pub fn record(&self) -> matching::Record {
        matching::Record {
            id: String::new(),
            full_name: self.name.to_owned(),
            gender: match self.gender {
                Gender::Male => "M",
                Gender::Female => "F",
                Gender::Transgender => "T",
            }
            .to_owned(),
            dob: self.date_of_birth.format("%Y-%m-%d").to_string(),
            mobile: self.mobile.to_owned(),
            state_code: self.state_code.to_owned(),
            district_code: self.district_code.to_owned(),
            pincode: self.pincode.to_owned(),
            relative_name: self.relative_name.to_owned(),
            aadhaar_hash: self.aadhaar_token.to_owned(),
            address: self.address.map(address_text).unwrap_or_default(),
        }
    }

    /// The keys PostgreSQL indexes for the worker ([`stored_keys`]).
    pub fn keys(&self) -> Vec<i64> {
        stored_keys(&matching::Prepared::new(&self.record()))
    }
}

/// The match fields of a stored worker with its Aadhaar token.
pub fn worker_fields<'a>(w: &'a Worker, aadhaar_token: &'a str) -> MatchFields<'a> {
    MatchFields {
        name: &w.name,
        gender: w.gender,
        date_of_birth: w.date_of_birth,
        mobile: w.mobile.as_str(),
        state_code: w.state_code.code(),
        district_code: w.district_code.as_str(),
        pincode: w.pincode.as_str(),
        relative_name: &w.relative_name,
        aadhaar_token,
        address: w.address.as_ref(),
    }
}

fn address_text(a: &Address) -> String {
    [
        Some(a.line1.as_str()),
        a.line2.as_deref(),
        a.locality.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// A record's keys as PostgreSQL stores them, in `workers.match_keys` and
/// `unregistered_records.match_keys`: [`matching::Prepared::index_keys`], every one selective
/// enough to be looked up on its own.
pub fn stored_keys(p: &matching::Prepared) -> Vec<i64> {
    p.index_keys().into_iter().map(|k| k as i64).collect()
}

/// An incoming record's keys as PostgreSQL stores them, each looked up on its own.
pub struct CandidateKeys(pub Vec<i64>);

impl CandidateKeys {
    pub fn of(p: &matching::Prepared) -> CandidateKeys {
        CandidateKeys(stored_keys(p))
    }
}

/// A registry worker found as a candidate, with the Aadhaar token the matcher compares.
#[derive(Clone)]
pub struct Candidate {
    pub worker: Worker,
    pub aadhaar_token: String,
}

impl Store {
    /// Each record's candidates in `allowed_states` (`None`: any): the workers sharing any of its
    /// keys (an identifier, another strong key, or a pair of weak ones: the engine's rule, a rare
    /// weak key aside), each once. A key shared by more than `max_bucket` workers is skipped, as
    /// the engine skips it: it tells no one apart, and scoring its crowd would cost more than the
    /// rest. Two statements for all the records: the keys looked up one by one in the index
    /// (migration V14's `worker_candidates`), then the workers found, by UAN.
    pub async fn match_candidates(
        &self,
        records: &[CandidateKeys],
        allowed_states: Option<&[String]>,
        max_bucket: i64,
    ) -> Result<Vec<Vec<Candidate>>> {
        let (mut keys, mut owners) = (Vec::new(), Vec::new());
        for (i, r) in records.iter().enumerate() {
            keys.extend_from_slice(&r.0);
            owners.extend(std::iter::repeat_n(i as i32, r.0.len()));
        }
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT owner, uan FROM worker_candidates($1, $2, $3, $4)")
            .await?;
        let hits = conn
            .query(&stmt, &[&keys, &owners, &allowed_states, &max_bucket])
            .await?;
        let mut uans: Vec<String> = hits.iter().map(|h| h.get(1)).collect();
        uans.sort_unstable();
        uans.dedup();
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS}, aadhaar_token FROM workers WHERE uan = ANY($1)"
            ))
            .await?;
        let found: std::collections::HashMap<String, Candidate> = conn
            .query(&stmt, &[&uans])
            .await?
            .iter()
            .map(|r| candidate_from_row(r).map(|c| (c.worker.uan.to_string(), c)))
            .collect::<Result<_>>()?;
        let mut out: Vec<Vec<Candidate>> = (0..records.len()).map(|_| Vec::new()).collect();
        for h in &hits {
            let (owner, uan): (i32, String) = (h.get(0), h.get(1));
            // A worker gone between the two statements is no candidate.
            if let (Some(list), Some(c)) = (out.get_mut(owner as usize), found.get(&uan)) {
                list.push(c.clone());
            }
        }
        Ok(out)
    }

    /// Up to `limit` workers written after change `after`, in change order, each with its change
    /// number and Aadhaar token: what an in-memory candidate index loads and then follows.
    /// Writers commit in change order (V1), so having read up to N is having read everything
    /// before N.
    pub async fn workers_changed_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Candidate)>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS}, aadhaar_token FROM workers WHERE change_seq > $1 \
                 ORDER BY change_seq LIMIT $2"
            ))
            .await?;
        conn.query(&stmt, &[&after, &limit])
            .await?
            .iter()
            .map(|r| Ok((r.get("change_seq"), candidate_from_row(r)?)))
            .collect()
    }

    /// Computes the keys of up to `batch` workers after `after` (a UAN; "" to start) whose keys
    /// are missing or of an older [`KEYS_VERSION`], in UAN order. Returns how many were looked at
    /// and the last UAN, to continue from (`None`: done). Does not move the workers in the change
    /// order. A row that no longer reads as a worker is reported and marked (no keys), never
    /// retried forever.
    pub async fn backfill_match_keys(
        &self,
        after: &str,
        batch: i64,
    ) -> Result<(u64, Option<String>)> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS}, aadhaar_token FROM workers WHERE uan > $1 \
                     AND match_keys_version IS DISTINCT FROM $2 ORDER BY uan LIMIT $3 \
                     FOR UPDATE SKIP LOCKED"
                ),
                &[&after, &KEYS_VERSION, &batch],
            )
            .await?;
        let update = tx
            .prepare_cached(
                "UPDATE workers SET match_keys = $2, match_keys_version = $3 WHERE uan = $1",
            )
            .await?;
        let mut last = None;
        for row in &rows {
            let uan: String = row.get("uan");
            let keys = match candidate_from_row(row) {
                Ok(c) => worker_fields(&c.worker, &c.aadhaar_token).keys(),
                Err(e) => {
                    tracing::error!(error = %e, uan = %uan, "A worker row is unreadable; it gets no matching keys.");
                    Vec::new()
                }
            };
            tx.execute(&update, &[&uan, &keys, &KEYS_VERSION]).await?;
            last = Some(uan);
        }
        tx.commit().await?;
        Ok((rows.len() as u64, last))
    }
}

fn candidate_from_row(row: &Row) -> Result<Candidate> {
    Ok(Candidate {
        worker: worker_from_row(row)?,
        aadhaar_token: row.get("aadhaar_token"),
    })
}
