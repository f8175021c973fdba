//! The sync engine's state: runs of a scheme's feed (queued, leased by one process with an expiry
//! it extends, finished), each page's outcome committed in one transaction with the run's counters
//! and cursor, the links it writes (one per scheme record), the pairs it queues for review, and the
//! scheme's people it found no worker for.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Result;

/// One run of a scheme's feed.
#[derive(Debug, Clone)]
pub struct SyncRun {
    pub id: i64,
    pub scheme: String,
    pub full: bool,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Where the run started and where it resumes (after the last page committed).
    pub cursor_from: Option<String>,
    pub cursor: Option<String>,
    pub pages: i64,
    pub records: i64,
    pub linked: i64,
    pub queued: i64,
    pub unregistered: i64,
    pub errors: i64,
    pub error: Option<String>,
}

const RUN_COLUMNS: &str = "id, scheme, full_run, status, requested_by, created_at, started_at, \
     finished_at, cursor_from, cursor, pages, records, linked, queued, unregistered, errors, error";

fn run_from_row(r: &tokio_postgres::Row) -> SyncRun {
    SyncRun {
        id: r.get(0),
        scheme: r.get(1),
        full: r.get(2),
        status: r.get(3),
        requested_by: r.get(4),
        created_at: r.get(5),
        started_at: r.get(6),
        finished_at: r.get(7),
        cursor_from: r.get(8),
        cursor: r.get(9),
        pages: r.get(10),
        records: r.get(11),
        linked: r.get(12),
        queued: r.get(13),
        unregistered: r.get(14),
        errors: r.get(15),
        error: r.get(16),
    }
}

/// A scheme record linked to a worker.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub reference: String,
    pub uan: String,
    pub status: String,
    pub details: Value,
    pub score: f64,
    pub explanation: Value,
}

/// A scheme record and a worker who may be the same person.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub reference: String,
    pub uan: String,
    pub score: f64,
    pub explanation: Value,
    pub record: Value,
}

/// A scheme record that matches no worker.
#[derive(Debug, Clone)]
pub struct NewUnregistered {
    pub reference: String,
    pub status: String,
    pub state_code: String,
    pub district_code: String,
    pub person: Value,
    pub facts: Value,
    pub match_keys: Vec<i64>,
}

/// What one page came to, committed together with the run's counters and cursor.
#[derive(Debug, Default)]
pub struct PageOutcome {
    pub records: i64,
    pub links: Vec<NewLink>,
    pub reviews: Vec<NewReview>,
    pub unregistered: Vec<NewUnregistered>,
    /// A record that could not be used: its reference and why.
    pub errors: Vec<(String, String)>,
    pub model_version: String,
    /// Where the feed resumes after this page.
    pub cursor: String,
}

/// What a committed page counted (links new to the registry, pairs newly queued...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub linked: i64,
    pub queued: i64,
    pub unregistered: i64,
}

/// Statuses that end a link: the scheme says the person left (kept, with the date).
/// The statuses with which a scheme says a person left it.
pub(crate) const ENDING: &[&str] = &["withdrawn", "exited", "cancelled", "closed"];

impl crate::Store {
    /// Queues a run of `scheme`, or answers the one already queued. A run under way does not
    /// stop another being queued: it follows, and pulls what changed meanwhile.
    pub async fn request_sync(&self, scheme: &str, full: bool, by: &str) -> Result<SyncRun> {
        let conn = self.conn().await?;
        // The open run may finish between the insert refused and the look: then insert again.
        loop {
            let inserted = conn
                .query_opt(
                    &format!(
                        "INSERT INTO sync_runs (scheme, full_run, requested_by) VALUES ($1, $2, $3) \
                          ON CONFLICT (scheme) WHERE status = 'queued' DO NOTHING \
                         RETURNING {RUN_COLUMNS}"
                    ),
                    &[&scheme, &full, &by],
                )
                .await?;
            if let Some(row) = inserted {
                return Ok(run_from_row(&row));
            }
            let open = conn
                .query_opt(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE scheme = $1 AND status = 'queued'"
                    ),
                    &[&scheme],
                )
                .await?;
            if let Some(row) = open {
                return Ok(run_from_row(&row));
            }
        }
    }

    /// Which of `uans` the registry holds.
    pub async fn existing_uans(
        &self,
        uans: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        if uans.is_empty() {
            return Ok(Default::default());
        }
        let conn = self.conn().await?;
        let rows = conn
            .query("SELECT uan FROM workers WHERE uan = ANY($1)", &[&uans])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The worker each of `references` is linked to already, if any.
    pub async fn linked_records(
        &self,
        scheme: &str,
        references: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT reference, uan FROM scheme_links WHERE scheme = (SELECT $1::text) AND reference = ANY($2)",
                &[&scheme, &references],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Takes the oldest run that is running under a lease that expired (its process died), or
    /// queued with no run of its scheme under way, for `owner` until `lease_secs` from now. Skips
    /// runs another process is taking.
    pub async fn claim_sync_run(&self, owner: &str, lease_secs: f64) -> Result<Option<SyncRun>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!(
                    "WITH next AS ( \
                       SELECT id FROM sync_runs s \
                       WHERE (status = 'queued' AND NOT EXISTS (SELECT 1 FROM sync_runs o \
                                WHERE o.scheme = s.scheme AND o.status = 'running')) \
                          OR (status = 'running' AND lease_until < now()) \
                       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     UPDATE sync_runs r SET \
                       lease_owner = $1, lease_until = now() + make_interval(secs => $2), \
                       started_at = COALESCE(r.started_at, now()), \
                       cursor_from = CASE WHEN r.status = 'queued' AND NOT r.full_run \
                         THEN (SELECT cursor FROM scheme_sync_state s WHERE s.scheme = r.scheme) \
                         ELSE r.cursor_from END, \
                       cursor = CASE WHEN r.status = 'queued' AND NOT r.full_run \
                         THEN (SELECT cursor FROM scheme_sync_state s WHERE s.scheme = r.scheme) \
                         ELSE r.cursor END, \
                       status = 'running' \
                     FROM next WHERE r.id = next.id \
                     RETURNING {}",
                    RUN_COLUMNS
                        .split(", ")
                        .map(|c| format!("r.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &[&owner, &lease_secs],
            )
            .await?;
        Ok(row.as_ref().map(run_from_row))
    }

    /// Extends `owner`'s lease of the run; `false` when it is no longer theirs.
    pub async fn heartbeat_sync_run(&self, id: i64, owner: &str, lease_secs: f64) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE sync_runs SET lease_until = now() + make_interval(secs => $3) \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                &[&id, &owner, &lease_secs],
            )
            .await?;
        Ok(n == 1)
    }

    /// Commits one page: links, reviews, unregistered records, record errors, the run's counters
    /// and cursor (and the scheme's), in one transaction, only while `owner` holds the run.
    /// `None`: the lease was lost (another process took the run over) and nothing was written.
    pub async fn commit_sync_page(
        &self,
        run: &SyncRun,
        owner: &str,
        lease_secs: f64,
        page: &PageOutcome,
    ) -> Result<Option<PageCounts>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM sync_runs WHERE id = $1 AND lease_owner = $2 AND status = 'running' \
                 FOR UPDATE",
                &[&run.id, &owner],
            )
            .await?;
        if held.is_none() {
            return Ok(None);
        }
        let scheme = run.scheme.as_str();
        let mut references: Vec<String> = (page.links.iter().map(|l| l.reference.clone()))
            .chain(page.reviews.iter().map(|r| r.reference.clone()))
            .chain(page.unregistered.iter().map(|u| u.reference.clone()))
            .collect();
        references.sort_unstable();
        references.dedup();
        lock_records(&tx, scheme, &references).await?;
        let linked = upsert_links(&tx, scheme, &page.model_version, &page.links).await?;
        let queued = queue_reviews(&tx, scheme, &page.reviews).await?;
        let unregistered = keep_unregistered(&tx, scheme, &page.unregistered).await?;
        for (reference, reason) in &page.errors {
            tx.execute(
                "INSERT INTO sync_record_errors (run_id, reference, reason) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&run.id, reference, reason],
            )
            .await?;
        }
        tx.execute(
            "UPDATE sync_runs SET pages = pages + 1, records = records + $2, linked = linked + $3, \
               queued = queued + $4, unregistered = unregistered + $5, errors = errors + $6, \
               cursor = $7, lease_until = now() + make_interval(secs => $8) \
             WHERE id = $1",
            &[
                &run.id,
                &page.records,
                &linked,
                &queued,
                &unregistered,
                &(page.errors.len() as i64),
                &page.cursor,
                &lease_secs,
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO scheme_sync_state (scheme, cursor) VALUES ($1, $2) \
             ON CONFLICT (scheme) DO UPDATE SET cursor = EXCLUDED.cursor",
            &[&scheme, &page.cursor],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(PageCounts {
            linked,
            queued,
            unregistered,
        }))
    }

    /// Ends `owner`'s run: succeeded, or failed with `error` (the cursor stays where the last
    /// committed page left it, for the next run to resume from). `lease_owner` stays: the process
    /// that finished it.
    pub async fn finish_sync_run(
        &self,
        id: i64,
        owner: &str,
        error: Option<&str>,
    ) -> Result<Option<SyncRun>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE sync_runs SET status = $3, error = $4, finished_at = now(), \
                       lease_until = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'running' \
                     RETURNING {RUN_COLUMNS}"
                ),
                &[
                    &id,
                    &owner,
                    &if error.is_some() {
                        "failed"
                    } else {
                        "succeeded"
                    },
                    &error,
                ],
            )
            .await?;
        if let Some(row) = &row {
            let run = run_from_row(row);
            tx.execute(
                "INSERT INTO scheme_sync_state (scheme, last_sync_at, last_error) \
                 VALUES ($1, CASE WHEN $2::text IS NULL THEN now() END, $2) \
                 ON CONFLICT (scheme) DO UPDATE SET \
                   last_sync_at = COALESCE(EXCLUDED.last_sync_at, scheme_sync_state.last_sync_at), \
                   last_error = EXCLUDED.last_error",
                &[&run.scheme, &error],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(row.as_ref().map(run_from_row))
    }

    /// The scheme's runs, newest first.
    pub async fn sync_runs(&self, scheme: &str, limit: i64) -> Result<Vec<SyncRun>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM sync_runs WHERE scheme = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&scheme, &limit],
            )
            .await?;
        Ok(rows.iter().map(run_from_row).collect())
    }

    /// One run.
    pub async fn sync_run(&self, id: i64) -> Result<Option<SyncRun>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(run_from_row))
    }

    /// The records a run could not use: reference and why, at most `limit`.
    pub async fn sync_run_errors(&self, id: i64, limit: i64) -> Result<Vec<(String, String)>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT reference, reason FROM sync_record_errors WHERE run_id = $1 \
                 ORDER BY reference LIMIT $2",
                &[&id, &limit],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Serialises the writers of these scheme records (a page's commit, a review decision, a new
/// worker's claim): each takes the records' transaction-scoped advisory locks, in key order so
/// two writers never wait on each other, before reading where a record is. Without them, two
/// transactions under READ COMMITTED could each miss the other's uncommitted rows and leave a
/// record both open for review and unregistered.
pub(crate) async fn lock_records(
    tx: &tokio_postgres::Transaction<'_>,
    scheme: &str,
    references: &[String],
) -> Result<()> {
    if references.is_empty() {
        return Ok(());
    }
    tx.execute(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT \
           hashtextextended($1 || ' ' || r, 0) AS k FROM unnest($2::text[]) AS r ORDER BY 1) x",
        &[&scheme, &references],
    )
    .await?;
    Ok(())
}

// The statements that look for a page's records in `scheme_links`, `review_items` or
// `unregistered_records` name the scheme as `(SELECT $1::text)`, a value the planner does not see,
// and bound the look-up by the page's references (`reference = ANY(...)`, the same rows). A
// scheme's first run begins with statistics that say it has no rows; planned for that value, each
// statement read every row of the scheme written so far and filtered them, a cost that grew with
// every page committed (bench/RESULTS.md).

/// Links each record to its worker; a record linked before keeps its worker (a link never moves
/// by itself) and takes the scheme's new status, an ending status closing it with the date.
/// Returns how many records were linked for the first time.
async fn upsert_links(
    tx: &tokio_postgres::Transaction<'_>,
    scheme: &str,
    model_version: &str,
    links: &[NewLink],
) -> Result<i64> {
    if links.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewLink) -> String| links.iter().map(f).collect::<Vec<_>>();
    let references = col(|l| l.reference.clone());
    let uans = col(|l| l.uan.clone());
    let statuses = col(|l| l.status.clone());
    let details: Vec<Value> = links.iter().map(|l| l.details.clone()).collect();
    let scores: Vec<f64> = links.iter().map(|l| l.score).collect();
    let explanations: Vec<Value> = links.iter().map(|l| l.explanation.clone()).collect();
    let ending: Vec<String> = ENDING.iter().map(|s| (*s).to_owned()).collect();
    let rows = tx
        .query(
            "INSERT INTO scheme_links (uan, scheme, reference, status, source, details, score, \
               model_version, explanation, ended_at) \
             SELECT u, $1, r, s, 'sync', d, sc, $2, e, CASE WHEN s = ANY($9) THEN now() END \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[], $7::float8[], $8::jsonb[]) \
               AS t(r, u, s, d, sc, e) \
             WHERE NOT EXISTS (SELECT 1 FROM review_items i WHERE i.scheme = (SELECT $1::text) AND i.reference = t.r \
               AND i.reference = ANY($3) AND i.uan = t.u AND i.status = 'not_a_match') \
             ON CONFLICT (scheme, reference) DO UPDATE SET \
               status = EXCLUDED.status, details = EXCLUDED.details, updated_at = now(), \
               ended_at = CASE WHEN EXCLUDED.status = ANY($9) \
                 THEN COALESCE(scheme_links.ended_at, now()) END \
             RETURNING (xmax = 0)",
            &[
                &scheme,
                &model_version,
                &references,
                &uans,
                &statuses,
                &details,
                &scores,
                &explanations,
                &ending,
            ],
        )
        .await?;
    // A record now linked is no longer among the unregistered, nor open for review.
    tx.execute(
        "DELETE FROM unregistered_records WHERE scheme = (SELECT $1::text) AND reference = ANY($2)",
        &[&scheme, &references],
    )
    .await?;
    tx.execute(
        "UPDATE review_items SET status = 'superseded', decided_at = now(), decided_by = 'sync', \
           note = 'linked by a sync run' \
         WHERE scheme = (SELECT $1::text) AND reference = ANY($2) AND status = 'open'",
        &[&scheme, &references],
    )
    .await?;
    Ok(rows.iter().filter(|r| r.get::<_, bool>(0)).count() as i64)
}

/// The SQL for the digest of a scheme's person, `person` a `jsonb` expression: SHA-256 of its
/// canonical text, as `review_items.record_digest` holds it. Of the person alone, so a change of
/// the scheme's status or facts is no change of identity.
fn person_digest(person: &str) -> String {
    format!("encode(sha256(convert_to(({person})::text, 'UTF8')), 'hex')")
}

/// Queues each pair for review unless its record is linked already. A pair still open takes the
/// record as it is now; one decided not_a_match is asked again (open, `requeued_at`) only when the
/// scheme's person or the worker changed since, and so is one a run closed (`superseded` by
/// `sync`) that is found again; a pair a person decided otherwise stays as decided. The
/// records with a pair open leave the unregistered (a record whose every pair was decided
/// not_a_match stays there). Returns how many pairs were queued, for the first time or again.
async fn queue_reviews(
    tx: &tokio_postgres::Transaction<'_>,
    scheme: &str,
    reviews: &[NewReview],
) -> Result<i64> {
    if reviews.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewReview) -> String| reviews.iter().map(f).collect::<Vec<_>>();
    let references = col(|r| r.reference.clone());
    let rows = tx
        .query(
            &format!(
                "INSERT INTO review_items (scheme, reference, uan, state_code, score, explanation, \
                   record, record_digest, worker_seq) \
                 SELECT $1, r, u, w.state_code, sc, e, rec, {digest}, w.change_seq \
                 FROM unnest($2::text[], $3::text[], $4::float8[], $5::jsonb[], $6::jsonb[]) \
                   AS t(r, u, sc, e, rec) JOIN workers w ON w.uan = t.u \
                 WHERE NOT EXISTS (SELECT 1 FROM scheme_links l WHERE l.scheme = (SELECT $1::text) AND l.reference = t.r \
                   AND l.reference = ANY($2)) \
                 ON CONFLICT (scheme, reference, uan) DO UPDATE SET score = EXCLUDED.score, \
                   explanation = EXCLUDED.explanation, record = EXCLUDED.record, \
                   state_code = EXCLUDED.state_code, record_digest = EXCLUDED.record_digest, \
                   worker_seq = EXCLUDED.worker_seq, status = 'open', \
                   requeued_at = CASE WHEN review_items.status = 'open' THEN review_items.requeued_at \
                     ELSE now() END, \
                   decided_at = NULL, \
                   decided_by = NULL, \
                   note = NULL \
                 WHERE review_items.status = 'open' \
                   OR (review_items.status = 'superseded' AND review_items.decided_by = 'sync') \
                   OR (review_items.status = 'not_a_match' \
                   AND (review_items.record_digest IS DISTINCT FROM EXCLUDED.record_digest \
                     OR review_items.worker_seq IS DISTINCT FROM EXCLUDED.worker_seq)) \
                 RETURNING (xmax = 0 OR requeued_at IS NOT DISTINCT FROM now())",
                digest = person_digest("rec -> 'person'")
            ),
            &[
                &scheme,
                &references,
                &col(|r| r.uan.clone()),
                &reviews.iter().map(|r| r.score).collect::<Vec<f64>>(),
                &reviews
                    .iter()
                    .map(|r| r.explanation.clone())
                    .collect::<Vec<Value>>(),
                &reviews
                    .iter()
                    .map(|r| r.record.clone())
                    .collect::<Vec<Value>>(),
            ],
        )
        .await?;
    tx.execute(
        "DELETE FROM unregistered_records u WHERE scheme = (SELECT $1::text) AND reference = ANY($2) \
           AND EXISTS (SELECT 1 FROM review_items i WHERE i.scheme = u.scheme \
             AND i.reference = u.reference AND i.reference = ANY($2) AND i.status = 'open')",
        &[&scheme, &references],
    )
    .await?;
    Ok(rows.iter().filter(|r| r.get::<_, bool>(0)).count() as i64)
}

/// Keeps (or refreshes) each record that matched no worker, unless it is linked already.
/// Returns how many were new.
async fn keep_unregistered(
    tx: &tokio_postgres::Transaction<'_>,
    scheme: &str,
    records: &[NewUnregistered],
) -> Result<i64> {
    if records.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewUnregistered) -> String| records.iter().map(f).collect::<Vec<_>>();
    let persons: Vec<Value> = records.iter().map(|r| r.person.clone()).collect();
    // An open pair whose scheme person has changed since it was queued, and who no longer
    // resembles its worker, is closed; a pair open on the same person stays open, and its record
    // waits for the decision rather than among the unregistered.
    tx.execute(
        &format!(
            "UPDATE review_items i SET status = 'superseded', decided_at = now(), \
               decided_by = 'sync', note = 'the scheme changed the record; no worker resembles it now' \
             FROM unnest($2::text[], $3::jsonb[]) AS t(r, rec) \
             WHERE i.scheme = (SELECT $1::text) AND i.reference = t.r AND i.status = 'open' \
               AND i.record_digest IS DISTINCT FROM {}",
            person_digest("rec")
        ),
        &[&scheme, &col(|r| r.reference.clone()), &persons],
    )
    .await?;
    // Keys as text (`{1,2}`): a bigint[][] would need every array the same length.
    let keys: Vec<String> = records
        .iter()
        .map(|r| {
            let inner: Vec<String> = r.match_keys.iter().map(i64::to_string).collect();
            format!("{{{}}}", inner.join(","))
        })
        .collect();
    let rows = tx
        .query(
            "INSERT INTO unregistered_records (scheme, reference, status, state_code, \
               district_code, person, facts, match_keys, match_keys_version) \
             SELECT $1, r, s, NULLIF(st, ''), NULLIF(d, ''), p, f, k::bigint[], $9 \
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], \
               $8::jsonb[]) AS t(r, s, st, d, p, k, f) \
             WHERE NOT EXISTS (SELECT 1 FROM scheme_links l WHERE l.scheme = (SELECT $1::text) AND l.reference = t.r \
                 AND l.reference = ANY($2)) \
               AND NOT EXISTS (SELECT 1 FROM review_items i WHERE i.scheme = (SELECT $1::text) AND i.reference = t.r \
                 AND i.reference = ANY($2) AND i.status = 'open') \
             ON CONFLICT (scheme, reference) DO UPDATE SET status = EXCLUDED.status, \
               state_code = EXCLUDED.state_code, district_code = EXCLUDED.district_code, \
               person = EXCLUDED.person, facts = EXCLUDED.facts, match_keys = EXCLUDED.match_keys, \
               match_keys_version = EXCLUDED.match_keys_version, updated_at = now() \
             RETURNING (xmax = 0)",
            &[
                &scheme,
                &col(|r| r.reference.clone()),
                &col(|r| r.status.clone()),
                &col(|r| r.state_code.clone()),
                &col(|r| r.district_code.clone()),
                &persons,
                &keys,
                &records
                    .iter()
                    .map(|r| r.facts.clone())
                    .collect::<Vec<Value>>(),
                &matching::prepare::KEYS_VERSION,
            ],
        )
        .await?;
    Ok(rows.iter().filter(|r| r.get::<_, bool>(0)).count() as i64)
}

impl crate::Store {
    /// Recomputes the keys of up to `batch` kept records after `after` (scheme, reference; empty
    /// to start) whose keys are of an older [`matching::prepare::KEYS_VERSION`], in that order, with
    /// `keys_of(reference, person)`. Returns how many were looked at and where to continue (`None`:
    /// done).
    pub async fn backfill_unregistered_keys(
        &self,
        after: &(String, String),
        batch: i64,
        keys_of: impl Fn(&str, &Value) -> Vec<i64>,
    ) -> Result<(u64, Option<(String, String)>)> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let version = matching::prepare::KEYS_VERSION;
        let rows = tx
            .query(
                "SELECT scheme, reference, person FROM unregistered_records \
                 WHERE (scheme, reference) > ($1, $2) AND match_keys_version IS DISTINCT FROM $3 \
                 ORDER BY scheme, reference LIMIT $4 FOR UPDATE SKIP LOCKED",
                &[&after.0, &after.1, &version, &batch],
            )
            .await?;
        let update = tx
            .prepare_cached(
                "UPDATE unregistered_records SET match_keys = $3, match_keys_version = $4 \
                 WHERE scheme = $1 AND reference = $2",
            )
            .await?;
        let mut last = None;
        for row in &rows {
            let (scheme, reference, person): (String, String, Value) =
                (row.get(0), row.get(1), row.get(2));
            let keys = keys_of(&reference, &person);
            tx.execute(&update, &[&scheme, &reference, &keys, &version])
                .await?;
            last = Some((scheme, reference));
        }
        tx.commit().await?;
        Ok((rows.len() as u64, last))
    }
}

/// A pair a person decided was not a match, as the engine meets it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedPair {
    pub reference: String,
    pub uan: String,
    /// The scheme's person or the worker changed since the decision: the pair may be asked
    /// again, never linked without a person.
    pub changed: bool,
}

impl crate::Store {
    /// The pairs of these records (`persons[i]` is the scheme's person of `references[i]`, as
    /// JSON) decided not_a_match, and whether either side changed since.
    pub async fn rejected_pairs(
        &self,
        scheme: &str,
        references: &[String],
        persons: &[Value],
    ) -> Result<Vec<RejectedPair>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT i.reference, i.uan, (i.record_digest IS DISTINCT FROM {} \
                       OR i.worker_seq IS DISTINCT FROM w.change_seq) \
                     FROM unnest($2::text[], $3::jsonb[]) AS t(r, rec) \
                     JOIN review_items i ON i.scheme = (SELECT $1::text) AND i.reference = t.r \
                       AND i.status = 'not_a_match' \
                     JOIN workers w ON w.uan = i.uan",
                    person_digest("rec")
                ),
                &[&scheme, &references, &persons],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| RejectedPair {
                reference: r.get(0),
                uan: r.get(1),
                changed: r.get(2),
            })
            .collect())
    }
}

/// A scheme record kept because it matched no worker.
#[derive(Debug, Clone)]
pub struct Unregistered {
    pub scheme: String,
    pub reference: String,
    pub status: String,
    /// The person as the scheme holds them (`adapter_core::Person` as JSON).
    pub person: Value,
    pub facts: Value,
}

impl crate::Store {
    /// The kept records sharing keys with `keys` (a new worker's), by the same rule as
    /// [`crate::Store::match_candidates`] (an identifier, a strong key, or two weak keys), a key
    /// kept by more than `max_bucket` records skipped.
    pub async fn unregistered_candidates(
        &self,
        keys: &crate::match_keys::CandidateKeys,
        max_bucket: i64,
    ) -> Result<Vec<Unregistered>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT scheme, reference, status, person, facts FROM unregistered_records \
                 WHERE (scheme, reference) IN (SELECT * FROM unregistered_candidates($1, $2))",
            )
            .await?;
        let rows = conn.query(&stmt, &[&keys.0, &max_bucket]).await?;
        Ok(rows
            .iter()
            .map(|r| Unregistered {
                scheme: r.get(0),
                reference: r.get(1),
                status: r.get(2),
                person: r.get(3),
                facts: r.get(4),
            })
            .collect())
    }

    /// Moves a kept record to its worker: linked (`review` false) or queued for review beside
    /// them, in one transaction, unless another process took it meanwhile. `true` when moved.
    pub async fn claim_unregistered(
        &self,
        record: &Unregistered,
        uan: &str,
        score: f64,
        explanation: &Value,
        model_version: &str,
        review: bool,
    ) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_records(&tx, &record.scheme, std::slice::from_ref(&record.reference)).await?;
        let gone = tx
            .query_opt(
                "DELETE FROM unregistered_records WHERE scheme = $1 AND reference = $2 \
                 RETURNING person",
                &[&record.scheme, &record.reference],
            )
            .await?;
        if gone.is_none() {
            return Ok(false);
        }
        if review {
            let kept = serde_json::json!({"scheme": record.scheme, "reference": record.reference,
                "status": record.status, "person": record.person, "facts": record.facts});
            tx.execute(
                &format!(
                    "INSERT INTO review_items (scheme, reference, uan, state_code, score, \
                       explanation, record, record_digest, worker_seq) \
                     SELECT $1, $2, $3, w.state_code, $4, $5, rec, {digest}, w.change_seq \
                     FROM workers w, (SELECT $6::jsonb AS rec) r WHERE w.uan = $3 \
                     ON CONFLICT (scheme, reference, uan) DO NOTHING",
                    digest = person_digest("rec -> 'person'")
                ),
                &[
                    &record.scheme,
                    &record.reference,
                    &uan,
                    &score,
                    explanation,
                    &kept,
                ],
            )
            .await?;
        } else {
            tx.execute(
                "INSERT INTO scheme_links (uan, scheme, reference, status, source, details, score, \
                   model_version, explanation) \
                 VALUES ($1, $2, $3, $4, 'sync', $8, $5, $6, $7) \
                 ON CONFLICT (scheme, reference) DO NOTHING",
                &[
                    &uan,
                    &record.scheme,
                    &record.reference,
                    &record.status,
                    &score,
                    &model_version,
                    explanation,
                    &record.facts,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Which kept records to list.
#[derive(Debug, Clone, Default)]
pub struct UnregisteredFilter {
    pub scheme: String,
    pub state_code: Option<String>,
    pub district_code: Option<String>,
    /// `None`: every state.
    pub allowed_states: Option<Vec<String>>,
    /// Records after this reference (keyset pages).
    pub after: String,
    pub limit: i64,
}

/// A kept record as listed.
#[derive(Debug, Clone)]
pub struct UnregisteredRow {
    pub reference: String,
    pub status: String,
    pub state_code: Option<String>,
    pub district_code: Option<String>,
    pub person: Value,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::Store {
    /// The scheme's kept records in reference order, within the allowed states.
    pub async fn unregistered(&self, f: &UnregisteredFilter) -> Result<Vec<UnregisteredRow>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT reference, status, state_code, district_code, person, first_seen_at, updated_at \
                 FROM unregistered_records WHERE scheme = $1 AND reference > $2 \
                 AND ($3::text IS NULL OR state_code = $3) AND ($4::text IS NULL OR district_code = $4) \
                 AND ($5::text[] IS NULL OR state_code = ANY($5)) ORDER BY reference LIMIT $6",
                &[
                    &f.scheme,
                    &f.after,
                    &f.state_code,
                    &f.district_code,
                    &f.allowed_states,
                    &f.limit,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| UnregisteredRow {
                reference: r.get(0),
                status: r.get(1),
                state_code: r.get(2),
                district_code: r.get(3),
                person: r.get(4),
                first_seen_at: r.get(5),
                updated_at: r.get(6),
            })
            .collect())
    }

    /// How many kept records each state and district has (`None`: the scheme did not say).
    pub async fn unregistered_counts(
        &self,
        scheme: &str,
        allowed_states: Option<&[String]>,
    ) -> Result<Vec<(Option<String>, Option<String>, i64)>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT state_code, district_code, count(*) FROM unregistered_records \
                 WHERE scheme = $1 AND ($2::text[] IS NULL OR state_code = ANY($2)) \
                 GROUP BY state_code, district_code ORDER BY state_code, district_code",
                &[&scheme, &allowed_states],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }
}

impl crate::Store {
    /// Keeps a scheme's change event by the digest of its body; `false` when it was received
    /// before (a replay).
    pub async fn record_webhook_event(
        &self,
        scheme: &str,
        digest: &str,
        event: &Value,
    ) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "INSERT INTO webhook_events (scheme, digest, event) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&scheme, &digest, event],
            )
            .await?;
        Ok(n == 1)
    }
}
