//! State-portal batches: a file's rows staged (the Aadhaar number only as a token and a
//! ciphertext), then applied in chunks leased like sync runs (`FOR UPDATE SKIP LOCKED`, a lease a
//! dead process loses), each group of rows committed with its outcomes and the batch's counters,
//! so that the counts always add up to the rows and a row's outcome is written once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use domain::worker::NewWorker;
use domain::{AadhaarToken, Sealed, Uan, Worker};

use crate::rows::{COLUMNS, worker_from_row};
use crate::{Result, StoreError};

/// A batch and its counts.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: Uuid,
    #[serde(skip)]
    pub client_id: String,
    #[serde(skip)]
    pub file_sha256: String,
    /// Who pushed it (scopes, states, purpose): the batch acts for them.
    #[serde(skip)]
    pub caller: Value,
    pub format: String,
    pub mode: String,
    pub on_existing: String,
    /// `receiving`, `queued`, `running`, `finished` or `cancelled`.
    pub status: String,
    pub rows_received: i64,
    pub validated: i64,
    pub registered: i64,
    pub updated: i64,
    pub skipped: i64,
    pub refused: i64,
    pub queued_for_review: i64,
    pub cancelled: i64,
    pub created_at: DateTime<Utc>,
    pub stored_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Batch {
    /// Rows with an outcome: once a batch that applies has finished, all of them.
    pub fn accounted(&self) -> i64 {
        self.registered
            + self.updated
            + self.skipped
            + self.refused
            + self.queued_for_review
            + self.cancelled
    }
}

const BATCH_COLUMNS: &str = "id, client_id, file_sha256, caller, format, mode, on_existing, status, \
     rows_received, validated, registered, updated, skipped, refused, queued, cancelled, created_at, \
     stored_at, started_at, finished_at";

fn batch_from_row(r: &tokio_postgres::Row) -> Batch {
    Batch {
        id: r.get(0),
        client_id: r.get(1),
        file_sha256: r.get(2),
        caller: r.get(3),
        format: r.get(4),
        mode: r.get(5),
        on_existing: r.get(6),
        status: r.get(7),
        rows_received: r.get(8),
        validated: r.get(9),
        registered: r.get(10),
        updated: r.get(11),
        skipped: r.get(12),
        refused: r.get(13),
        queued_for_review: r.get(14),
        cancelled: r.get(15),
        created_at: r.get(16),
        stored_at: r.get(17),
        started_at: r.get(18),
        finished_at: r.get(19),
    }
}

/// What a new batch is, before its rows.
pub struct NewBatch<'a> {
    pub client_id: &'a str,
    pub idempotency_key: &'a str,
    pub file_sha256: &'a str,
    pub caller: Value,
    pub format: &'a str,
    pub mode: &'a str,
    pub on_existing: &'a str,
}

/// Why a row was refused: the field, a stable code and a sentence (never the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// An Aadhaar number as a staged row keeps it: the keyed token, and a ciphertext under the vault
/// key `key_id` bound to the batch and line.
#[derive(Debug, Clone)]
pub struct StagedAadhaar {
    pub token: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// One row of the file as staged.
#[derive(Debug, Clone)]
pub struct StagedRow {
    pub line: i64,
    /// The row's fields by column name, without the Aadhaar number.
    pub fields: Value,
    pub aadhaar: Option<StagedAadhaar>,
    /// Not empty: refused as it was read (shape, encoding, rules).
    pub errors: Vec<RowError>,
}

/// What became of a row.
#[derive(Debug, Clone)]
pub struct RowOutcome {
    pub line: i64,
    /// `registered`, `updated`, `skipped`, `refused`, `queued` or `cancelled`.
    pub outcome: &'static str,
    pub uan: Option<String>,
    pub errors: Vec<RowError>,
}

/// A chunk of a batch's rows, leased to one process.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub batch: Batch,
    pub first_line: i64,
    pub last_line: i64,
}

/// One line of the results.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub line: i64,
    /// `pending` while not applied yet.
    pub outcome: String,
    pub uan: Option<String>,
}

/// One error of one line.
#[derive(Debug, Clone, Serialize)]
pub struct LineError {
    pub line: i64,
    pub field: String,
    pub code: String,
    pub message: String,
}

impl crate::Store {
    /// The client's batch of this (digested) idempotency key.
    pub async fn batch_by_key(&self, client_id: &str, key: &str) -> Result<Option<Batch>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {BATCH_COLUMNS} FROM batches WHERE client_id = $1 AND idempotency_key = $2"
                ),
                &[&client_id, &key],
            )
            .await?;
        Ok(row.as_ref().map(batch_from_row))
    }

    pub async fn batch(&self, id: Uuid) -> Result<Option<Batch>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(batch_from_row))
    }

    /// Starts receiving a batch under the key, or takes over the key's batch whose upload died
    /// before it was stored (its staged rows discarded). `None`: the key's batch is stored
    /// already (the caller compares the files).
    pub async fn begin_batch(&self, new: &NewBatch<'_>) -> Result<Option<Batch>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "INSERT INTO batches (id, client_id, idempotency_key, file_sha256, caller, format, mode, on_existing) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (client_id, idempotency_key) DO UPDATE SET \
                       file_sha256 = EXCLUDED.file_sha256, caller = EXCLUDED.caller, format = EXCLUDED.format, \
                       mode = EXCLUDED.mode, on_existing = EXCLUDED.on_existing, created_at = now() \
                     WHERE batches.status = 'receiving' \
                     RETURNING {BATCH_COLUMNS}"
                ),
                &[
                    &Uuid::now_v7(),
                    &new.client_id,
                    &new.idempotency_key,
                    &new.file_sha256,
                    &new.caller,
                    &new.format,
                    &new.mode,
                    &new.on_existing,
                ],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let batch = batch_from_row(&row);
        tx.execute("DELETE FROM batch_rows WHERE batch_id = $1", &[&batch.id])
            .await?;
        tx.commit().await?;
        Ok(Some(batch))
    }

    /// Forgets a batch whose upload failed before it was stored (nothing was accepted).
    pub async fn abandon_batch(&self, id: Uuid) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM batches WHERE id = $1 AND status = 'receiving'",
            &[&id],
        )
        .await?;
        Ok(())
    }

    /// Writes staged rows (those with errors refused as they stand).
    pub async fn stage_rows(&self, batch: Uuid, rows: &[StagedRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let lines: Vec<i64> = rows.iter().map(|r| r.line).collect();
        let fields: Vec<&Value> = rows.iter().map(|r| &r.fields).collect();
        let a = |f: fn(&StagedAadhaar) -> &str| -> Vec<Option<&str>> {
            rows.iter().map(|r| r.aadhaar.as_ref().map(f)).collect()
        };
        let tokens = a(|s| &s.token);
        let keys = a(|s| &s.key_id);
        let nonces: Vec<Option<&[u8]>> = rows
            .iter()
            .map(|r| r.aadhaar.as_ref().map(|s| &s.nonce[..]))
            .collect();
        let sealed: Vec<Option<&[u8]>> = rows
            .iter()
            .map(|r| r.aadhaar.as_ref().map(|s| &s.ciphertext[..]))
            .collect();
        let outcomes: Vec<Option<&str>> = rows
            .iter()
            .map(|r| (!r.errors.is_empty()).then_some("refused"))
            .collect();
        let errors: Vec<Option<Value>> = rows
            .iter()
            .map(|r| (!r.errors.is_empty()).then(|| serde_json::json!(r.errors)))
            .collect();
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO batch_rows (batch_id, line, fields, aadhaar_token, aadhaar_key, aadhaar_nonce, \
                   aadhaar_sealed, outcome, errors) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::jsonb[], $4::text[], $5::text[], $6::bytea[], \
                   $7::bytea[], $8::text[], $9::jsonb[])",
            )
            .await?;
        conn.execute(
            &stmt,
            &[
                &batch, &lines, &fields, &tokens, &keys, &nonces, &sealed, &outcomes, &errors,
            ],
        )
        .await?;
        Ok(())
    }

    /// Ends the upload: a second row with an Aadhaar number of the file refused (naming the
    /// first's line), the counts taken, and the rest cut into chunks of `chunk_rows` to apply (a
    /// dry run instead checks which Aadhaar numbers are registered already, and finishes).
    /// `states`: the caller's (`None`: every state), to name an existing worker's UAN only to a
    /// caller who may see them.
    pub async fn store_batch(
        &self,
        id: Uuid,
        file_sha256: &str,
        chunk_rows: i64,
        states: Option<&[String]>,
    ) -> Result<Batch> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "UPDATE batch_rows r SET outcome = 'refused', errors = jsonb_build_array(jsonb_build_object( \
               'field', 'aadhaar', 'code', 'duplicate_in_file', \
               'message', 'the same Aadhaar number as line ' || d.first || ' of this file')) \
             FROM (SELECT line, min(line) OVER (PARTITION BY aadhaar_token) AS first FROM batch_rows \
                   WHERE batch_id = $1 AND aadhaar_token IS NOT NULL AND outcome IS NULL) d \
             WHERE r.batch_id = $1 AND r.line = d.line AND d.line <> d.first",
            &[&id],
        )
        .await?;
        let row = tx
            .query_one(
                "UPDATE batches SET file_sha256 = $2 WHERE id = $1 RETURNING mode, on_existing",
                &[&id, &file_sha256],
            )
            .await?;
        let (mode, on_existing): (String, String) = (row.get(0), row.get(1));
        let states: Option<Vec<String>> = states.map(|s| s.to_vec());
        let counts = tx
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE outcome = 'refused') FROM batch_rows WHERE batch_id = $1",
                &[&id],
            )
            .await?;
        let (received, refused): (i64, i64) = (counts.get(0), counts.get(1));
        if mode == "validate" {
            tx.execute(
                "UPDATE batch_rows r SET \
                   outcome = CASE $2::text WHEN 'refuse' THEN 'refused' WHEN 'skip' THEN 'skipped' ELSE 'valid' END, \
                   uan = CASE WHEN $3::text[] IS NULL OR w.state_code = ANY($3) THEN w.uan END, \
                   errors = CASE WHEN $2::text = 'refuse' THEN jsonb_build_array(jsonb_build_object( \
                     'field', 'aadhaar', 'code', 'aadhaar_registered', \
                     'message', 'this Aadhaar number is already registered')) END \
                 FROM workers w \
                 WHERE r.batch_id = $1 AND r.outcome IS NULL AND w.aadhaar_token = r.aadhaar_token",
                &[&id, &on_existing, &states],
            )
            .await?;
            tx.execute(
                "UPDATE batch_rows SET outcome = 'valid' WHERE batch_id = $1 AND outcome IS NULL",
                &[&id],
            )
            .await?;
            let c = tx
                .query_one(
                    "SELECT count(*) FILTER (WHERE outcome = 'refused'), count(*) FILTER (WHERE outcome = 'skipped') \
                     FROM batch_rows WHERE batch_id = $1",
                    &[&id],
                )
                .await?;
            let (refused_all, skipped): (i64, i64) = (c.get(0), c.get(1));
            tx.execute(
                "UPDATE batches SET status = 'finished', rows_received = $2, validated = $3, refused = $4, \
                   skipped = $5, stored_at = now(), started_at = now(), finished_at = now() WHERE id = $1",
                &[&id, &received, &(received - refused), &refused_all, &skipped],
            )
            .await?;
        } else {
            let chunks = tx
                .execute(
                    "INSERT INTO batch_chunks (batch_id, first_line, last_line) \
                     SELECT $1, min(line), max(line) FROM ( \
                       SELECT line, (row_number() OVER (ORDER BY line) - 1) / $2 AS c \
                       FROM batch_rows WHERE batch_id = $1 AND outcome IS NULL) x GROUP BY c",
                    &[&id, &chunk_rows],
                )
                .await?;
            tx.execute(
                "UPDATE batches SET status = CASE WHEN $4::bigint = 0 THEN 'finished' ELSE 'queued' END, \
                   rows_received = $2::bigint, validated = $2::bigint - $3::bigint, refused = $3::bigint, \
                   stored_at = now(), started_at = CASE WHEN $4::bigint = 0 THEN now() END, \
                   finished_at = CASE WHEN $4::bigint = 0 THEN now() END WHERE id = $1",
                &[&id, &received, &refused, &(chunks as i64)],
            )
            .await?;
        }
        let batch = tx
            .query_one(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"),
                &[&id],
            )
            .await?;
        tx.commit().await?;
        Ok(batch_from_row(&batch))
    }

    /// Takes the oldest chunk waiting (or abandoned under an expired lease) of a batch being
    /// applied, for `owner` until `lease_secs` from now.
    pub async fn claim_batch_chunk(&self, owner: &str, lease_secs: f64) -> Result<Option<Chunk>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "WITH next AS ( \
                   SELECT c.batch_id, c.first_line FROM batch_chunks c JOIN batches b ON b.id = c.batch_id \
                   WHERE (c.status = 'pending' AND b.status IN ('queued', 'running')) \
                      OR (c.status = 'running' AND c.lease_until < now()) \
                   ORDER BY b.created_at, c.first_line LIMIT 1 FOR UPDATE OF c SKIP LOCKED) \
                 UPDATE batch_chunks c SET status = 'running', lease_owner = $1, \
                   lease_until = now() + make_interval(secs => $2) \
                 FROM next WHERE c.batch_id = next.batch_id AND c.first_line = next.first_line \
                 RETURNING c.batch_id, c.first_line, c.last_line",
                &[&owner, &lease_secs],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: Uuid = row.get(0);
        let batch = conn
            .query_one(
                &format!(
                    "UPDATE batches SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END, \
                       started_at = COALESCE(started_at, now()) WHERE id = $1 RETURNING {BATCH_COLUMNS}"
                ),
                &[&id],
            )
            .await?;
        Ok(Some(Chunk {
            batch: batch_from_row(&batch),
            first_line: row.get(1),
            last_line: row.get(2),
        }))
    }

    /// Extends `owner`'s lease of the chunk; `false` when it is no longer theirs.
    pub async fn heartbeat_batch_chunk(
        &self,
        chunk: &Chunk,
        owner: &str,
        lease_secs: f64,
    ) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE batch_chunks SET lease_until = now() + make_interval(secs => $4) \
                 WHERE batch_id = $1 AND first_line = $2 AND lease_owner = $3 AND status = 'running'",
                &[&chunk.batch.id, &chunk.first_line, &owner, &lease_secs],
            )
            .await?;
        Ok(n == 1)
    }

    /// Gives a chunk back to be taken again at once (its process could not go on).
    pub async fn release_batch_chunk(&self, chunk: &Chunk, owner: &str) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE batch_chunks SET status = 'pending', lease_owner = NULL, lease_until = NULL \
             WHERE batch_id = $1 AND first_line = $2 AND lease_owner = $3 AND status = 'running'",
            &[&chunk.batch.id, &chunk.first_line, &owner],
        )
        .await?;
        Ok(())
    }

    /// The chunk's rows not applied yet, in line order, and the batch's status now.
    pub async fn pending_rows(&self, chunk: &Chunk) -> Result<(String, Vec<StagedRow>)> {
        let conn = self.conn().await?;
        let status: String = conn
            .query_one(
                "SELECT status FROM batches WHERE id = $1",
                &[&chunk.batch.id],
            )
            .await?
            .get(0);
        let stmt = conn
            .prepare_cached(
                "SELECT line, fields, aadhaar_token, aadhaar_key, aadhaar_nonce, aadhaar_sealed \
                 FROM batch_rows WHERE batch_id = $1 AND line BETWEEN $2 AND $3 AND outcome IS NULL \
                 ORDER BY line",
            )
            .await?;
        let rows = conn
            .query(
                &stmt,
                &[&chunk.batch.id, &chunk.first_line, &chunk.last_line],
            )
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let token: Option<String> = r.get(2);
                StagedRow {
                    line: r.get(0),
                    fields: r.get(1),
                    aadhaar: token.map(|token| StagedAadhaar {
                        token,
                        key_id: r.get(3),
                        nonce: r.get(4),
                        ciphertext: r.get(5),
                    }),
                    errors: vec![],
                }
            })
            .collect();
        Ok((status, rows))
    }

    /// Writes rows' outcomes (a row that has one already keeps it) and adds them to the batch's
    /// counts, in one transaction, only while `owner` holds the chunk; `last` ends the chunk, and
    /// the batch with its last chunk. `false`: the lease was lost and nothing was written.
    pub async fn commit_batch_rows(
        &self,
        chunk: &Chunk,
        owner: &str,
        lease_secs: f64,
        outcomes: &[RowOutcome],
        last: bool,
    ) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        if !hold_lease(&tx, chunk, owner, lease_secs, last).await? {
            return Ok(false);
        }
        write_outcomes(&tx, chunk.batch.id, outcomes, last).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A group of a batch's rows registered in one transaction with their outcomes and the
    /// batch's counters, only while `owner` holds the chunk's lease: one Aadhaar number at a time
    /// (the same advisory lock as a single registration), UANs issued, `before_write` run with
    /// them (the audit entries), workers and vault rows written by `COPY`, then `settled` (rows
    /// decided without a registration) and the registered rows' outcomes. A row whose Aadhaar
    /// number was registered meanwhile (by another path) writes nothing: its lines are answered.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_batch_group(
        &self,
        chunk: &Chunk,
        owner: &str,
        lease_secs: f64,
        rows: &[GroupRow<'_>],
        seal: &(dyn Fn(&NewWorker, &Uan) -> Sealed + Sync),
        settled: &[RowOutcome],
        last: bool,
        before_write: impl AsyncFnOnce(&[Uan]) -> std::result::Result<(), String>,
    ) -> Result<GroupWrite> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        if !hold_lease(&tx, chunk, owner, lease_secs, last).await? {
            return Ok(GroupWrite::LeaseLost);
        }
        let tokens: Vec<&str> = rows.iter().map(|r| r.token.as_str()).collect();
        // In one order, so that two groups sharing tokens cannot deadlock (PostgreSQL evaluates
        // a volatile select list after ORDER BY).
        tx.execute(
            "SELECT pg_advisory_xact_lock(7271002, h) \
             FROM (SELECT DISTINCT hashtext(t) AS h FROM unnest($1::text[]) t) s ORDER BY h",
            &[&tokens],
        )
        .await?;
        let taken: Vec<String> = tx
            .query(
                "SELECT aadhaar_token FROM workers WHERE aadhaar_token = ANY($1)",
                &[&tokens],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !taken.is_empty() {
            let lines = rows
                .iter()
                .filter(|r| taken.iter().any(|t| t == r.token.as_str()))
                .map(|r| r.line)
                .collect();
            return Ok(GroupWrite::RegisteredMeanwhile(lines));
        }
        let uans = crate::workers::next_uans(&tx, rows.len()).await?;
        // Dropping the transaction rolls it back.
        before_write(&uans).await.map_err(StoreError::Unavailable)?;
        let new: Vec<_> = rows
            .iter()
            .zip(&uans)
            .map(|(r, uan)| (r.worker, r.token.as_str(), uan))
            .collect();
        crate::workers::copy_workers(&tx, &new).await?;
        let sealed: Vec<_> = new.iter().map(|(w, _, uan)| (*uan, seal(w, uan))).collect();
        crate::workers::copy_vault(&tx, &sealed).await?;
        let mut outcomes = settled.to_vec();
        outcomes.extend(rows.iter().zip(&uans).map(|(r, uan)| RowOutcome {
            line: r.line,
            outcome: "registered",
            uan: Some(uan.to_string()),
            errors: vec![],
        }));
        write_outcomes(&tx, chunk.batch.id, &outcomes, last).await?;
        let uan_texts: Vec<&str> = uans.iter().map(|u| u.as_str()).collect();
        let written = tx
            .query(
                &format!("SELECT {COLUMNS} FROM workers WHERE uan = ANY($1)"),
                &[&uan_texts],
            )
            .await?
            .iter()
            .map(worker_from_row)
            .collect::<Result<Vec<Worker>>>()?;
        tx.commit().await?;
        let mut by_uan: std::collections::HashMap<String, Worker> = written
            .into_iter()
            .map(|w| (w.uan.to_string(), w))
            .collect();
        Ok(GroupWrite::Written(
            rows.iter()
                .zip(&uans)
                .filter_map(|(r, uan)| by_uan.remove(uan.as_str()).map(|w| (r.line, w)))
                .collect(),
        ))
    }

    /// A batch row without an Aadhaar number and the workers it may be, as pairs in the review
    /// queue (side `batch`, reference `{batch}:{line}`); queued again, nothing changes.
    pub async fn queue_batch_review(
        &self,
        reference: &str,
        record: &Value,
        candidates: &[(String, f64, Value)],
    ) -> Result<()> {
        let conn = self.conn().await?;
        for (uan, score, explanation) in candidates {
            conn.execute(
                "INSERT INTO review_items (scheme, reference, uan, state_code, score, explanation, \
                   record, record_digest, worker_seq) \
                 SELECT 'batch', $1, w.uan, w.state_code, $3, $4, $5, \
                        encode(sha256(convert_to(($5::jsonb -> 'person')::text, 'UTF8')), 'hex'), w.change_seq \
                   FROM workers w WHERE w.uan = $2 \
                 ON CONFLICT (scheme, reference, uan) DO NOTHING",
                &[&reference, uan, score, explanation, record],
            )
            .await?;
        }
        Ok(())
    }

    /// Which of these Aadhaar tokens are registered, with the worker's UAN and state.
    pub async fn registered_tokens(
        &self,
        tokens: &[&str],
    ) -> Result<std::collections::HashMap<String, (Uan, String)>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT aadhaar_token, uan, state_code FROM workers WHERE aadhaar_token = ANY($1)",
                &[&tokens],
            )
            .await?;
        let mut found = std::collections::HashMap::new();
        for r in rows {
            let uan: String = r.get(1);
            let uan = crate::rows::parse(Uan::parse(&uan))?;
            found.insert(r.get(0), (uan, r.get(2)));
        }
        Ok(found)
    }

    /// Cancels what of a batch has not been applied: its waiting chunks' rows are counted as
    /// cancelled at once; a chunk being applied stops at its next group of rows. `None`: no such
    /// batch of this client. A finished batch stays as it is.
    pub async fn cancel_batch(&self, id: Uuid, client_id: &str) -> Result<Option<Batch>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let found = tx
            .query_opt(
                "SELECT status FROM batches WHERE id = $1 AND client_id = $2 FOR UPDATE",
                &[&id, &client_id],
            )
            .await?;
        let Some(found) = found else {
            return Ok(None);
        };
        let status: String = found.get(0);
        if matches!(status.as_str(), "queued" | "running") {
            let n = tx
                .execute(
                    "WITH c AS (UPDATE batch_chunks SET status = 'cancelled' \
                                WHERE batch_id = $1 AND status = 'pending' RETURNING first_line, last_line) \
                     UPDATE batch_rows r SET outcome = 'cancelled' FROM c \
                     WHERE r.batch_id = $1 AND r.line BETWEEN c.first_line AND c.last_line AND r.outcome IS NULL",
                    &[&id],
                )
                .await?;
            tx.execute(
                "UPDATE batches SET status = 'cancelled', cancelled = cancelled + $2::bigint, \
                   finished_at = CASE WHEN EXISTS (SELECT 1 FROM batch_chunks \
                     WHERE batch_id = $1 AND status = 'running') THEN NULL ELSE now() END \
                 WHERE id = $1",
                &[&id, &(n as i64)],
            )
            .await?;
        }
        let batch = tx
            .query_one(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"),
                &[&id],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(batch_from_row(&batch)))
    }

    /// The outcome of each line after `after_line`, at most `limit` (`pending`: not applied yet).
    pub async fn batch_results(
        &self,
        id: Uuid,
        after_line: i64,
        limit: i64,
    ) -> Result<Vec<RowResult>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT line, COALESCE(outcome, 'pending'), uan FROM batch_rows \
                 WHERE batch_id = $1 AND line > $2 ORDER BY line LIMIT $3",
            )
            .await?;
        let rows = conn.query(&stmt, &[&id, &after_line, &limit]).await?;
        Ok(rows
            .iter()
            .map(|r| RowResult {
                line: r.get(0),
                outcome: r.get(1),
                uan: r.get(2),
            })
            .collect())
    }

    /// The errors of refused lines after `after_line` (at most `limit` lines), line by line.
    pub async fn batch_errors(
        &self,
        id: Uuid,
        after_line: i64,
        limit: i64,
    ) -> Result<Vec<LineError>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT line, errors FROM batch_rows \
                 WHERE batch_id = $1 AND line > $2 AND errors IS NOT NULL ORDER BY line LIMIT $3",
            )
            .await?;
        let rows = conn.query(&stmt, &[&id, &after_line, &limit]).await?;
        let mut out = vec![];
        for r in &rows {
            let line: i64 = r.get(0);
            let errors: Vec<RowError> = serde_json::from_value(r.get(1)).unwrap_or_default();
            out.extend(errors.into_iter().map(|e| LineError {
                line,
                field: e.field,
                code: e.code,
                message: e.message,
            }));
        }
        Ok(out)
    }
}

/// A batch key held by one upload; released when dropped (its connection is closed, not pooled,
/// so the session lock ends with it even when the upload's task is cancelled).
pub struct KeyLock(Option<deadpool_postgres::Object>);

impl Drop for KeyLock {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(deadpool_postgres::Object::take(conn));
        }
    }
}

impl crate::Store {
    /// Holds the client's batch key for one upload; `None` while another upload holds it.
    pub async fn lock_batch_key(&self, client_id: &str, key: &str) -> Result<Option<KeyLock>> {
        let conn = self.conn().await?;
        let locked: bool = conn
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1 || ' ' || $2, 7271015))",
                &[&client_id, &key],
            )
            .await?
            .get(0);
        Ok(locked.then(|| KeyLock(Some(conn))))
    }
}

/// A row of a group to register: its line, the worker, the Aadhaar token.
pub struct GroupRow<'a> {
    pub line: i64,
    pub worker: &'a NewWorker,
    pub token: &'a AadhaarToken,
}

/// What became of a group.
pub enum GroupWrite {
    /// Registered: each line with its worker.
    Written(Vec<(i64, Worker)>),
    /// Nothing written: these lines' Aadhaar numbers were registered by another path meanwhile.
    RegisteredMeanwhile(Vec<i64>),
    /// Nothing written: another process holds the chunk now.
    LeaseLost,
}

/// Renews the chunk's lease inside `tx` (its row then stays locked until the commit), marking it
/// done when `last`; `false` if `owner` no longer holds it.
async fn hold_lease(
    tx: &tokio_postgres::Transaction<'_>,
    chunk: &Chunk,
    owner: &str,
    lease_secs: f64,
    last: bool,
) -> Result<bool> {
    let held = tx
        .execute(
            "UPDATE batch_chunks SET lease_until = now() + make_interval(secs => $4), \
               status = CASE WHEN $5 THEN 'done' ELSE status END \
             WHERE batch_id = $1 AND first_line = $2 AND lease_owner = $3 AND status = 'running'",
            &[
                &chunk.batch.id,
                &chunk.first_line,
                &owner,
                &lease_secs,
                &last,
            ],
        )
        .await?;
    Ok(held == 1)
}

/// Rows' outcomes and the batch's counters (a row with an outcome is never counted again); when
/// `last` and no chunk is left, the batch finished.
async fn write_outcomes(
    tx: &deadpool_postgres::Transaction<'_>,
    id: Uuid,
    outcomes: &[RowOutcome],
    last: bool,
) -> Result<()> {
    let lines: Vec<i64> = outcomes.iter().map(|o| o.line).collect();
    let kinds: Vec<&str> = outcomes.iter().map(|o| o.outcome).collect();
    let uans: Vec<Option<&str>> = outcomes.iter().map(|o| o.uan.as_deref()).collect();
    let errors: Vec<Option<Value>> = outcomes
        .iter()
        .map(|o| (!o.errors.is_empty()).then(|| serde_json::json!(o.errors)))
        .collect();
    let stmt = tx
        .prepare_cached(
            "WITH o AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::jsonb[]) \
                        AS o (line, outcome, uan, errors)), \
             u AS (UPDATE batch_rows r SET outcome = o.outcome, uan = o.uan, errors = o.errors \
                   FROM o WHERE r.batch_id = $1 AND r.line = o.line AND r.outcome IS NULL \
                   RETURNING r.outcome) \
             UPDATE batches SET \
               registered = registered + (SELECT count(*) FROM u WHERE outcome = 'registered'), \
               updated = updated + (SELECT count(*) FROM u WHERE outcome = 'updated'), \
               skipped = skipped + (SELECT count(*) FROM u WHERE outcome = 'skipped'), \
               refused = refused + (SELECT count(*) FROM u WHERE outcome = 'refused'), \
               queued = queued + (SELECT count(*) FROM u WHERE outcome = 'queued'), \
               cancelled = cancelled + (SELECT count(*) FROM u WHERE outcome = 'cancelled') \
             WHERE id = $1",
        )
        .await?;
    tx.execute(&stmt, &[&id, &lines, &kinds, &uans, &errors])
        .await?;
    if last {
        tx.execute(
            "UPDATE batches SET finished_at = now(), \
               status = CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'finished' END \
             WHERE id = $1 AND finished_at IS NULL AND NOT EXISTS ( \
               SELECT 1 FROM batch_chunks WHERE batch_id = $1 AND status IN ('pending', 'running'))",
            &[&id],
        )
        .await?;
    }
    Ok(())
}
