//! Each worker's blocking keys for incremental matching: computed by the matching crate from the
//! registry record on every insert and update, kept in `workers.match_keys` (GIN-indexed), and the
//! candidates an incoming record finds through them.

use chrono::NaiveDate;
use domain::worker::{Address, Gender, Worker};
use tokio_postgres::Row;

use crate::workers::{COLUMNS, worker_from_row};
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

    /// The blocking keys, as PostgreSQL stores them.
    pub fn keys(&self) -> Vec<i64> {
        matching::Prepared::new(&self.record())
            .blocking_keys()
            .into_iter()
            .map(|k| k as i64)
            .collect()
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

/// A registry worker found as a candidate, with the Aadhaar token the matcher compares.
pub struct Candidate {
    pub worker: Worker,
    pub aadhaar_token: String,
}

impl Store {
    /// Workers sharing any of `keys`, in `allowed_states` (`None`: any), at most `limit`; the
    /// workers sharing a strong key (an identifier, the whole name with the year of birth, the
    /// date of birth with an initial or the pincode) first.
    pub async fn match_candidates(
        &self,
        strong: &[i64],
        weak: &[i64],
        allowed_states: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<Candidate>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "(SELECT {COLUMNS}, aadhaar_token FROM workers WHERE match_keys && $1::bigint[] \
                   AND ($3::text[] IS NULL OR state_code = ANY($3)) LIMIT $4) \
                 UNION \
                 (SELECT {COLUMNS}, aadhaar_token FROM workers WHERE match_keys && $2::bigint[] \
                   AND ($3::text[] IS NULL OR state_code = ANY($3)) LIMIT $4)"
            ))
            .await?;
        let rows = conn
            .query(&stmt, &[&strong, &weak, &allowed_states, &limit])
            .await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// Computes the keys of up to `batch` workers that have none yet (rows older than the
    /// column); returns how many. Does not move the workers in the change order.
    pub async fn backfill_match_keys(&self, batch: i64) -> Result<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS}, aadhaar_token FROM workers WHERE match_keys IS NULL \
                     LIMIT $1 FOR UPDATE SKIP LOCKED"
                ),
                &[&batch],
            )
            .await?;
        let update = tx
            .prepare_cached("UPDATE workers SET match_keys = $2 WHERE uan = $1")
            .await?;
        for row in &rows {
            let c = candidate_from_row(row)?;
            let keys = worker_fields(&c.worker, &c.aadhaar_token).keys();
            tx.execute(&update, &[&c.worker.uan.as_str(), &keys])
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

fn candidate_from_row(row: &Row) -> Result<Candidate> {
    Ok(Candidate {
        worker: worker_from_row(row)?,
        aadhaar_token: row.get("aadhaar_token"),
    })
}
