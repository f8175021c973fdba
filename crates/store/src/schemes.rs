//! A worker's links to scheme records, the outcomes of enrolments forwarded to schemes, and the
//! idempotency of those enrolments (whose work happens outside any database transaction).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Result;
use crate::idempotency::{Claim, IdempotencyKey};

/// One of a worker's records in a scheme system.
#[derive(Debug, Clone)]
pub struct SchemeLink {
    pub scheme: String,
    pub reference: String,
    pub status: String,
    pub source: String,
    pub details: Value,
    pub linked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the scheme said the person left (the link is kept).
    pub ended_at: Option<DateTime<Utc>>,
}

impl SchemeLink {
    /// Enrolled: the scheme has not said the person left (a lapsed PM-SYM account is still the
    /// worker's, to revive).
    pub fn enrolled(&self) -> bool {
        self.ended_at.is_none() && !crate::sync::ENDING.contains(&self.status.as_str())
    }
}

/// What happened to an enrolment the scheme answered (transport failures are not recorded: the
/// caller retries them with the same key).
#[derive(Debug, Clone)]
pub struct EnrolmentOutcome<'a> {
    pub uan: &'a str,
    pub scheme: &'a str,
    pub client_id: &'a str,
    /// `Some` when enrolled: the scheme's reference and status.
    pub enrolled: Option<(&'a str, &'a str)>,
    pub terms: &'a Value,
    pub reasons: &'a Value,
}

/// The state of an idempotency key before an enrolment goes out.
#[derive(Debug)]
pub enum EnrolmentClaim {
    /// Ours, under this claim id: go ahead (a key abandoned mid-call is taken over after the
    /// stale period, which is safe because the scheme receives the same key and de-duplicates).
    Fresh(uuid::Uuid),
    Replay {
        status: u16,
        response: Value,
    },
    Mismatch,
    InFlight,
}

/// A scheme feed's sync position, for `GET /v1/schemes`.
#[derive(Debug, Clone)]
pub struct SyncState {
    pub scheme: String,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl crate::Store {
    pub async fn scheme_links(&self, uan: &str) -> Result<Vec<SchemeLink>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query(
                "SELECT scheme, reference, status, source, details, linked_at, updated_at, ended_at \
                 FROM scheme_links WHERE uan = $1 ORDER BY scheme, linked_at",
                &[&uan],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SchemeLink {
                scheme: r.get(0),
                reference: r.get(1),
                status: r.get(2),
                source: r.get(3),
                details: r.get(4),
                linked_at: r.get(5),
                updated_at: r.get(6),
                ended_at: r.get(7),
            })
            .collect())
    }

    /// Claims `key` for an enrolment in a short transaction of its own. A claim left without an
    /// answer for `stale_secs` (the gateway died mid-call) may be taken over.
    pub async fn claim_enrolment_key(
        &self,
        key: &IdempotencyKey,
        stale_secs: i64,
    ) -> Result<EnrolmentClaim> {
        let conn = self.pool.get().await?;
        let claim = uuid::Uuid::new_v4();
        let inserted = conn
            .execute(
                "INSERT INTO idempotency_keys (client_id, key, route, request_hash, claim_id) VALUES ($1, $2, $3, $4, $6) \
                 ON CONFLICT (client_id, key) DO UPDATE SET created_at = now(), claim_id = EXCLUDED.claim_id \
                 WHERE idempotency_keys.status_code IS NULL \
                   AND idempotency_keys.route = EXCLUDED.route \
                   AND idempotency_keys.request_hash = EXCLUDED.request_hash \
                   AND idempotency_keys.created_at < now() - make_interval(secs => $5)",
                &[
                    &key.client_id,
                    &key.key,
                    &key.route,
                    &key.request_hash,
                    &(stale_secs as f64),
                    &claim,
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(EnrolmentClaim::Fresh(claim));
        }
        Ok(match crate::idempotency::existing(&**conn, key).await? {
            Claim::Replay { status, response } => EnrolmentClaim::Replay { status, response },
            Claim::Mismatch => EnrolmentClaim::Mismatch,
            Claim::Fresh | Claim::InFlight => EnrolmentClaim::InFlight,
        })
    }

    /// Lets a claimed key go without an answer (the scheme could not be reached): the same key
    /// may be sent again at once.
    pub async fn release_enrolment_key(
        &self,
        key: &IdempotencyKey,
        claim: uuid::Uuid,
    ) -> Result<()> {
        let conn = self.pool.get().await?;
        conn.execute(
            "DELETE FROM idempotency_keys \
             WHERE client_id = $1 AND key = $2 AND claim_id = $3 AND status_code IS NULL",
            &[&key.client_id, &key.key, &claim],
        )
        .await?;
        Ok(())
    }

    /// Stores the answer under the key, records the outcome and links the worker when enrolled,
    /// in one transaction, if `claim` still holds the key. `false`: another request took the key
    /// over, and nothing was written (its holder records the outcome).
    pub async fn record_enrolment(
        &self,
        outcome: &EnrolmentOutcome<'_>,
        key: &IdempotencyKey,
        claim: uuid::Uuid,
        status: u16,
        response: &Value,
    ) -> Result<bool> {
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await?;
        let held = tx
            .execute(
                "UPDATE idempotency_keys SET status_code = $3, response = $4 \
                 WHERE client_id = $1 AND key = $2 AND claim_id = $5 AND status_code IS NULL",
                &[&key.client_id, &key.key, &(status as i32), response, &claim],
            )
            .await?;
        if held == 0 {
            return Ok(false);
        }
        let (label, reference) = match outcome.enrolled {
            Some((reference, _)) => ("enrolled", Some(reference)),
            None => ("refused", None),
        };
        tx.execute(
            "INSERT INTO scheme_enrolments (id, uan, scheme, client_id, outcome, reference, terms, reasons) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &uuid::Uuid::now_v7(),
                &outcome.uan,
                &outcome.scheme,
                &outcome.client_id,
                &label,
                &reference,
                outcome.terms,
                outcome.reasons,
            ],
        )
        .await?;
        if let Some((reference, status)) = outcome.enrolled {
            tx.execute(
                "INSERT INTO scheme_links (uan, scheme, reference, status, source, details) \
                 VALUES ($1, $2, $3, $4, 'enrolment', $5) \
                 ON CONFLICT (scheme, reference) DO UPDATE \
                 SET uan = EXCLUDED.uan, source = 'enrolment', status = EXCLUDED.status, \
                   details = EXCLUDED.details, updated_at = now(), ended_at = NULL",
                &[
                    &outcome.uan,
                    &outcome.scheme,
                    &reference,
                    &status,
                    outcome.terms,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn scheme_sync_states(&self) -> Result<Vec<SyncState>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query(
                "SELECT scheme, last_sync_at, last_error FROM scheme_sync_state",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SyncState {
                scheme: r.get(0),
                last_sync_at: r.get(1),
                last_error: r.get(2),
            })
            .collect())
    }
}
