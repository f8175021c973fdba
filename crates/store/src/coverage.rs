//! Coverage counts (migrations V16-V19): cells of workers by state, district, gender, social category
//! and occupation division, each with its registered count and, per programme, the enrolled and
//! the eligible-but-not-enrolled, kept by triggers in the transactions that change workers and
//! links. A report folds the
//! triggers' deltas into the cells and sums cells, never workers.

use chrono::NaiveDate;
use domain::Worker;

use crate::rows::{COLUMNS, worker_from_row};
use crate::{Result, Store};

/// The terms of one programme in force on a day, as the triggers read them.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageTerms {
    pub programme: String,
    pub version: String,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub max_monthly_income_inr: Option<i64>,
    pub needs_bank_account: bool,
}

/// The dimensions a report may group by, as the cells' columns.
pub const DIMENSIONS: &[(&str, &str)] = &[
    ("state", "state_code"),
    ("district", "district_code"),
    ("gender", "gender"),
    ("social_category", "social_category"),
    ("occupation_division", "division"),
];

/// One group's counts for one programme.
#[derive(Debug, Clone)]
pub struct CoverageRow {
    /// The group's values, in the order grouped by.
    pub key: Vec<String>,
    pub registered: i64,
    pub enrolled: i64,
    pub eligible_not_enrolled: i64,
}

/// What a report counts.
pub struct CoverageQuery<'a> {
    /// Columns of [`DIMENSIONS`] (validated by the caller).
    pub group_by: &'a [&'a str],
    pub bit: i32,
    pub states: Option<&'a [String]>,
    pub state_code: Option<&'a str>,
    pub district_code: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub social_category: Option<&'a str>,
    /// A day whose end-of-day cells to read (`None`: the cells now).
    pub snapshot: Option<NaiveDate>,
}

impl Store {
    /// The day the counts' eligibility is as of (`None`: no terms written yet).
    pub async fn coverage_as_of(&self) -> Result<Option<NaiveDate>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt("SELECT max(as_of) FROM coverage_terms", &[])
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// Writes the terms in force on `as_of` and, when they differ from those there, every
    /// worker's eligibility again (the number of workers whose eligibility changed).
    pub async fn set_coverage_terms(
        &self,
        as_of: NaiveDate,
        terms: &[CoverageTerms],
    ) -> Result<i64> {
        crate::again_on_conflict("coverage terms", || {
            self.set_coverage_terms_once(as_of, terms)
        })
        .await
    }

    async fn set_coverage_terms_once(
        &self,
        as_of: NaiveDate,
        terms: &[CoverageTerms],
    ) -> Result<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7271016)", &[])
            .await?;
        let now: Vec<(NaiveDate, CoverageTerms)> = tx
            .query(
                "SELECT as_of, programme, version, min_age, max_age, max_monthly_income_inr, needs_bank_account \
                 FROM coverage_terms ORDER BY programme",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    CoverageTerms {
                        programme: r.get(1),
                        version: r.get(2),
                        min_age: r.get(3),
                        max_age: r.get(4),
                        max_monthly_income_inr: r.get(5),
                        needs_bank_account: r.get(6),
                    },
                )
            })
            .collect();
        let mut wanted = terms.to_vec();
        wanted.sort_by(|a, b| a.programme.cmp(&b.programme));
        if now.len() == wanted.len()
            && now
                .iter()
                .zip(&wanted)
                .all(|((day, have), want)| *day == as_of && have == want)
        {
            return Ok(0);
        }
        // The day ends: its cells are kept as they stand, for reports as on that day.
        if let Some((day, _)) = now.first()
            && *day != as_of
        {
            tx.execute("SELECT coverage_fold()", &[]).await?;
            tx.execute(
                "INSERT INTO coverage_snapshots SELECT $1::date, c.* FROM coverage_cells c \
                 ON CONFLICT DO NOTHING",
                &[day],
            )
            .await?;
        }
        tx.execute("DELETE FROM coverage_terms", &[]).await?;
        for t in &wanted {
            tx.execute(
                "INSERT INTO coverage_terms (programme, version, as_of, min_age, max_age, \
                   max_monthly_income_inr, needs_bank_account) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &t.programme,
                    &t.version,
                    &as_of,
                    &t.min_age,
                    &t.max_age,
                    &t.max_monthly_income_inr,
                    &t.needs_bank_account,
                ],
            )
            .await?;
        }
        let moved = recompute(&tx).await?;
        // Writers in flight read the old terms: a second count once they end (V17).
        tx.execute("DELETE FROM coverage_settle", &[]).await?;
        tx.execute("INSERT INTO coverage_settle VALUES (NULL)", &[])
            .await?;
        tx.commit().await?;
        // A transaction id assigned now is above every one assigned before: once no transaction
        // below it runs, none that could have read the old terms does.
        conn.execute(
            "UPDATE coverage_settle SET bound = pg_current_xact_id() WHERE bound IS NULL",
            &[],
        )
        .await?;
        Ok(moved)
    }

    /// Counts every worker's eligibility once more when the transactions that were running as
    /// the terms last changed have all ended (they may have counted their workers under the old
    /// terms); `None` while some still run or when nothing is left to settle, else the number
    /// moved.
    pub async fn settle_coverage(&self) -> Result<Option<i64>> {
        crate::again_on_conflict("coverage settle", || self.settle_coverage_once()).await
    }

    async fn settle_coverage_once(&self) -> Result<Option<i64>> {
        let mut conn = self.conn().await?;
        // A mark without its bound: the process stopped between the change and its bound, so
        // the bound is taken now, later than needed and so still safe.
        conn.execute(
            "UPDATE coverage_settle SET bound = pg_current_xact_id() WHERE bound IS NULL",
            &[],
        )
        .await?;
        let ready: Option<bool> = conn
            .query_opt(
                "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= bound FROM coverage_settle",
                &[],
            )
            .await?
            .map(|r| r.get(0));
        if ready != Some(true) {
            return Ok(None);
        }
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7271016)", &[])
            .await?;
        if tx
            .execute(
                "DELETE FROM coverage_settle \
                  WHERE pg_snapshot_xmin(pg_current_snapshot()) >= bound",
                &[],
            )
            .await?
            == 0
        {
            return Ok(None);
        }
        let moved = recompute(&tx).await?;
        tx.commit().await?;
        Ok(Some(moved))
    }

    /// The counts by the query's groups: the deltas folded into the cells first.
    pub async fn coverage(&self, q: &CoverageQuery<'_>) -> Result<Vec<CoverageRow>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT coverage_fold()", &[]).await?;
        let key = if q.group_by.is_empty() {
            "'all'".to_owned()
        } else {
            q.group_by.join(", ")
        };
        let group = if q.group_by.is_empty() {
            String::new()
        } else {
            format!("GROUP BY {key} ORDER BY {key}")
        };
        // The programme's counters: `e<bit>` enrolled, `g<bit>` eligible and not enrolled.
        let bit = q.bit.clamp(0, 6);
        let table = match q.snapshot {
            Some(day) => format!("coverage_snapshots WHERE as_of = '{day}' AND TRUE"),
            None => "coverage_cells WHERE TRUE".to_owned(),
        };
        let sql = format!(
            "SELECT {key}, sum(n)::bigint, sum(e{bit})::bigint, sum(g{bit})::bigint \
               FROM {table} \
                AND ($1::text[] IS NULL OR state_code = ANY($1)) \
                AND ($2::text IS NULL OR state_code = $2) AND ($3::text IS NULL OR district_code = $3) \
                AND ($4::text IS NULL OR gender = $4) AND ($5::text IS NULL OR social_category = $5) \
              {group}"
        );
        let rows = tx
            .query(
                &sql,
                &[
                    &q.states,
                    &q.state_code,
                    &q.district_code,
                    &q.gender,
                    &q.social_category,
                ],
            )
            .await?;
        tx.commit().await?;
        let dims = q.group_by.len().max(1);
        Ok(rows
            .iter()
            .filter(|r| r.get::<_, Option<i64>>(dims).is_some())
            .map(|r| CoverageRow {
                key: (0..q.group_by.len())
                    .map(|i| r.get::<_, String>(i))
                    .collect(),
                registered: r.get(dims),
                enrolled: r.get(dims + 1),
                eligible_not_enrolled: r.get(dims + 2),
            })
            .collect())
    }

    /// The days whose end-of-day counts are kept: the first and the last.
    pub async fn coverage_snapshot_days(&self) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let conn = self.conn().await?;
        let row = conn
            .query_one("SELECT min(as_of), max(as_of) FROM coverage_snapshots", &[])
            .await?;
        Ok(match (row.get(0), row.get(1)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        })
    }

    /// Whether the end-of-day counts of `day` are kept.
    pub async fn coverage_snapshot_kept(&self, day: NaiveDate) -> Result<bool> {
        let conn = self.conn().await?;
        Ok(conn
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM coverage_snapshots WHERE as_of = $1)",
                &[&day],
            )
            .await?
            .get(0))
    }

    /// Workers eligible for the programme (`bit`) and not enrolled in it, in UAN order after
    /// `after`, in the allowed states and the state or district asked for.
    pub async fn coverage_gaps(
        &self,
        bit: i32,
        states: Option<&[String]>,
        state_code: Option<&str>,
        district_code: Option<&str>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Worker>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM workers w JOIN worker_coverage c USING (uan) \
                      WHERE c.eligible & $1 <> 0 AND c.enrolled & $1 = 0 \
                        AND ($2::text[] IS NULL OR w.state_code = ANY($2)) \
                        AND ($3::text IS NULL OR w.state_code = $3) \
                        AND ($4::text IS NULL OR w.district_code = $4) \
                        AND w.uan > $5 ORDER BY w.uan LIMIT $6"
                ),
                &[
                    &(1i32 << bit),
                    &states,
                    &state_code,
                    &district_code,
                    &after,
                    &limit,
                ],
            )
            .await?;
        rows.iter().map(worker_from_row).collect()
    }
}

/// Every worker's eligibility again (`coverage_recompute`), the masks of the workers it moves
/// locked first (V19): a trigger changing one of those workers' masks or cell meanwhile waits, and
/// one in flight is waited for, so that neither counts from what the other is changing. Workers
/// whose eligibility stays are not locked; a writer in flight on other workers is not waited for.
async fn recompute(tx: &deadpool_postgres::Transaction<'_>) -> Result<i64> {
    tx.execute(
        "SELECT coverage_lock_masks(ARRAY( \
           SELECT c.uan FROM workers w JOIN worker_coverage c USING (uan) \
            WHERE coverage_eligible(w.date_of_birth, w.monthly_income_inr, \
                                    w.bank_account IS NOT NULL) <> c.eligible))",
        &[],
    )
    .await?;
    Ok(tx
        .query_one("SELECT coverage_recompute()", &[])
        .await?
        .get(0))
}
