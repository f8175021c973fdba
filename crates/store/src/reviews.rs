//! The review queue: a scheme record and a worker the sync engine found doubtful, and a person's
//! decision on them. A decision links the record (source `review`) or says "not a match"; it is
//! final: a later automatic run never overturns it, and queues a pair decided "not a match" again
//! only when one of its records has changed since (see `sync::queue_reviews`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Result;
use crate::idempotency::{self, Claim, IdempotencyKey};

/// One pair in the queue.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub id: i64,
    pub scheme: String,
    pub reference: String,
    pub uan: String,
    pub state_code: String,
    pub score: f64,
    pub explanation: Value,
    /// The scheme's record when queued: `status`, `person`, `facts`.
    pub record: Value,
    /// `open`, `linked`, `not_a_match` or `superseded` (another worker was linked).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// When a pair decided not_a_match was asked again because one of its records changed.
    pub requeued_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, scheme, reference, uan, state_code, score, explanation, record, status, \
     created_at, decided_at, decided_by, note, requeued_at";

fn item_from_row(r: &tokio_postgres::Row) -> ReviewItem {
    ReviewItem {
        id: r.get(0),
        scheme: r.get(1),
        reference: r.get(2),
        uan: r.get(3),
        state_code: r.get(4),
        score: r.get(5),
        explanation: r.get(6),
        record: r.get(7),
        status: r.get(8),
        created_at: r.get(9),
        decided_at: r.get(10),
        decided_by: r.get(11),
        note: r.get(12),
        requeued_at: r.get(13),
    }
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    pub scheme: Option<String>,
    pub state_code: Option<String>,
    /// `None`: every state.
    pub allowed_states: Option<Vec<String>>,
    /// Items after this id (keyset pages).
    pub after_id: i64,
    pub limit: i64,
}

/// A person's decision on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Link,
    NotAMatch,
}

/// What deciding came to.
#[derive(Debug)]
pub enum Decided {
    /// The item as decided, and the answer stored under the key.
    Done(ReviewItem),
    Replayed {
        status: u16,
        response: Value,
    },
    NotFound,
    /// Decided before (by another request): as it stands.
    AlreadyDecided(ReviewItem),
    KeyReused,
    KeyInFlight,
}

impl crate::Store {
    /// Open items in id order, within the allowed states.
    pub async fn open_reviews(&self, f: &ReviewFilter) -> Result<Vec<ReviewItem>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM review_items WHERE status = 'open' AND id > $1 \
                     AND ($2::text IS NULL OR scheme = $2) AND ($3::text IS NULL OR state_code = $3) \
                     AND ($4::text[] IS NULL OR state_code = ANY($4)) ORDER BY id LIMIT $5"
                ),
                &[
                    &f.after_id,
                    &f.scheme,
                    &f.state_code,
                    &f.allowed_states,
                    &f.limit,
                ],
            )
            .await?;
        Ok(rows.iter().map(item_from_row).collect())
    }

    /// One item, if it is in the allowed states.
    pub async fn review(
        &self,
        id: i64,
        allowed_states: Option<&[String]>,
    ) -> Result<Option<ReviewItem>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM review_items WHERE id = $1 \
                     AND ($2::text[] IS NULL OR state_code = ANY($2))"
                ),
                &[&id, &allowed_states],
            )
            .await?;
        Ok(row.as_ref().map(item_from_row))
    }

    /// Decides an open item under `key` in one transaction: the link (or, when no candidate of
    /// the record is left, the record back among the unregistered, with `unregistered_keys`), the
    /// other candidates superseded, the item's status, and the answer `respond` makes, stored for
    /// the key's retries.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_review(
        &self,
        id: i64,
        allowed_states: Option<&[String]>,
        decision: Decision,
        note: &str,
        by: &str,
        key: &IdempotencyKey,
        unregistered_keys: impl FnOnce(&ReviewItem) -> Vec<i64>,
        respond: impl FnOnce(&ReviewItem) -> Value,
    ) -> Result<Decided> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        match idempotency::claim(&tx, key).await? {
            Claim::Fresh => {}
            Claim::Replay { status, response } => {
                return Ok(Decided::Replayed { status, response });
            }
            Claim::Mismatch => return Ok(Decided::KeyReused),
            Claim::InFlight => return Ok(Decided::KeyInFlight),
        }
        // Where the record is may change only through one writer at a time: its lock first,
        // then the item's row (a page's commit takes them in that order too).
        if let Some(r) = tx
            .query_opt(
                "SELECT scheme, reference FROM review_items WHERE id = $1",
                &[&id],
            )
            .await?
        {
            let (scheme, reference): (String, String) = (r.get(0), r.get(1));
            crate::sync::lock_records(&tx, &scheme, &[reference]).await?;
        }
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM review_items WHERE id = $1 \
                     AND ($2::text[] IS NULL OR state_code = ANY($2)) FOR UPDATE"
                ),
                &[&id, &allowed_states],
            )
            .await?;
        let Some(item) = row.as_ref().map(item_from_row) else {
            return Ok(Decided::NotFound);
        };
        if item.status != "open" {
            return Ok(Decided::AlreadyDecided(item));
        }
        let status = match decision {
            Decision::Link => "linked",
            Decision::NotAMatch => "not_a_match",
        };
        let row = tx
            .query_one(
                &format!(
                    "UPDATE review_items SET status = $2, decided_at = now(), decided_by = $3, \
                     note = NULLIF($4, ''), \
                     worker_seq = (SELECT change_seq FROM workers w WHERE w.uan = review_items.uan) \
                     WHERE id = $1 RETURNING {COLUMNS}"
                ),
                &[&id, &status, &by, &note],
            )
            .await?;
        let decided = item_from_row(&row);
        let record_status = item.record["status"]
            .as_str()
            .unwrap_or("active")
            .to_owned();
        let facts = item.record.get("facts").cloned().unwrap_or(Value::Null);
        let facts = if facts.is_object() {
            facts
        } else {
            serde_json::json!({})
        };
        match decision {
            Decision::Link => {
                // A person's decision takes the record over, whatever a run linked before.
                tx.execute(
                    "INSERT INTO scheme_links (uan, scheme, reference, status, source, details, \
                       score, model_version, explanation) \
                     VALUES ($1, $2, $3, $4, 'review', $5, $6, 'review', $7) \
                     ON CONFLICT (scheme, reference) DO UPDATE SET uan = EXCLUDED.uan, \
                       source = 'review', score = EXCLUDED.score, explanation = EXCLUDED.explanation, \
                       model_version = 'review', ended_at = NULL, updated_at = now()",
                    &[
                        &item.uan,
                        &item.scheme,
                        &item.reference,
                        &record_status,
                        &facts,
                        &item.score,
                        &item.explanation,
                    ],
                )
                .await?;
                tx.execute(
                    "UPDATE review_items SET status = 'superseded', decided_at = now(), decided_by = $3 \
                     WHERE scheme = $1 AND reference = $2 AND status = 'open'",
                    &[&item.scheme, &item.reference, &by],
                )
                .await?;
                tx.execute(
                    "DELETE FROM unregistered_records WHERE scheme = $1 AND reference = $2",
                    &[&item.scheme, &item.reference],
                )
                .await?;
                // A state's row without an Aadhaar number: its result names the worker it is.
                if item.scheme == "batch"
                    && let Some((batch, line)) = item.reference.split_once(':')
                    && let (Ok(batch), Ok(line)) =
                        (batch.parse::<uuid::Uuid>(), line.parse::<i64>())
                {
                    tx.execute(
                        "UPDATE batch_rows SET uan = $3 WHERE batch_id = $1 AND line = $2",
                        &[&batch, &line, &item.uan],
                    )
                    .await?;
                }
            }
            Decision::NotAMatch => {
                // No candidate left and no link: the record waits among the unregistered again.
                let left: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM review_items WHERE scheme = $1 AND reference = $2 \
                           AND status IN ('open', 'linked')) \
                         OR EXISTS (SELECT 1 FROM scheme_links WHERE scheme = $1 AND reference = $2)",
                        &[&item.scheme, &item.reference],
                    )
                    .await?
                    .get(0);
                // A batch row is not a scheme's record: it does not wait among the unregistered.
                if !left && item.scheme != "batch" {
                    let person = item.record.get("person").cloned().unwrap_or(Value::Null);
                    let text = |k: &str| {
                        person[k]
                            .as_str()
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                    };
                    tx.execute(
                        "INSERT INTO unregistered_records (scheme, reference, status, state_code, \
                           district_code, person, facts, match_keys, match_keys_version) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                        &[
                            &item.scheme,
                            &item.reference,
                            &record_status,
                            &text("state_code"),
                            &text("district_code"),
                            &person,
                            &facts,
                            &unregistered_keys(&item),
                            &matching::prepare::KEYS_VERSION,
                        ],
                    )
                    .await?;
                }
            }
        }
        idempotency::complete(&tx, key, 200, &respond(&decided)).await?;
        tx.commit().await?;
        Ok(Decided::Done(decided))
    }
}
