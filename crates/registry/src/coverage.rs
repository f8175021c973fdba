//! Coverage: how far each scheme has reached — registered, enrolled, eligible but not enrolled —
//! by state, district, gender, social category and occupation division, from counts the store
//! keeps in step with workers and links; and the outreach worklist of eligible workers not yet
//! enrolled. Eligibility is the rule table's (`domain::eligibility`), written for the store's
//! triggers as the terms in force today.
//!
//! **Suppression**: a count under 10 is shown as `"<10"`, and so is any second count that would let
//! a suppressed one be recovered by subtraction from a total the report (or the same report grouped
//! by one dimension fewer) shows: within every set of rows that differ in one dimension only, a
//! column never has exactly one suppressed count. A share is shown only when both its counts are.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::eligibility::{self, Programme};
use serde::Serialize;
use serde_json::Value;
use store::coverage::{CoverageQuery, CoverageRow, CoverageTerms};
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::{Error, Result};
use crate::workers::to_json;

/// Counts below this are not shown.
pub const SUPPRESS_BELOW: i64 = 10;
const ROUTE_GAPS: &str = "/v1/reports/gaps";

/// The bit of a programme in the store's masks (migration V16's `programme_bit`).
pub fn bit(p: Programme) -> i32 {
    match p {
        Programme::Ncs => 0,
        Programme::Sidh => 1,
        Programme::Myscheme => 2,
        Programme::Pmsym => 3,
        Programme::Pmjay => 4,
        Programme::Pmjjby => 5,
        Programme::Pmsby => 6,
        Programme::Eshram => 7,
    }
}

/// The terms in force on `day` that a registry record decides alone, as the store's triggers
/// read them: a programme whose terms need a fact the registry lacks counts only those its age
/// rule qualifies (AB PM-JAY: 70 and over from 29 Oct 2024; nobody before).
pub fn terms_on(day: NaiveDate) -> Vec<CoverageTerms> {
    Programme::SCHEMES
        .into_iter()
        .filter_map(|p| eligibility::in_force(p, day))
        .filter(|t| t.age.is_some() || t.otherwise_needs.is_none())
        .map(|t| CoverageTerms {
            programme: t.programme.as_str().to_owned(),
            version: t.version.to_owned(),
            min_age: t.age.map(|(min, _)| min as i32),
            max_age: t.age.and_then(|(_, max)| max.map(|m| m as i32)),
            max_monthly_income_inr: t.max_monthly_income_inr,
            needs_bank_account: t.needs_bank_account,
        })
        .collect()
}

/// A count as shown: the number, or `"<10"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Count(i64),
    Suppressed,
}

impl Shown {
    fn value(self) -> Value {
        match self {
            Shown::Count(n) => Value::from(n),
            Shown::Suppressed => Value::from("<10"),
        }
    }

    pub fn text(self) -> String {
        match self {
            Shown::Count(n) => n.to_string(),
            Shown::Suppressed => "<10".into(),
        }
    }
}

impl Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

/// One group of one scheme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageLine {
    #[schema(example = "pmsym")]
    pub scheme: &'static str,
    /// The group's value of each dimension grouped by (`state`: `10`, `gender`: `F` …).
    #[schema(value_type = Object, example = json!({"state": "10", "gender": "F"}))]
    pub group: BTreeMap<String, String>,
    /// Registered workers (a number, or `"<10"`).
    #[schema(value_type = Object, example = 15234)]
    pub registered: Shown,
    #[schema(value_type = Object, example = 2310)]
    pub enrolled: Shown,
    /// Eligible under the rules in force on `as_of`, and not enrolled.
    #[schema(value_type = Object, example = 7120)]
    pub eligible_not_enrolled: Shown,
    /// enrolled / registered, 4 decimals; null when either is suppressed or none is registered.
    #[schema(example = 0.1516)]
    pub enrolled_share: Option<f64>,
    /// enrolled / (enrolled + eligible_not_enrolled): how much of the reachable has been reached.
    #[schema(example = 0.2449)]
    pub saturation: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"as_of": "2026-12-02", "group_by": ["state"], "rules": {"pmsym": "2019-02-15"},
    "totals": [{"scheme": "pmsym", "group": {}, "registered": 47, "enrolled": 12, "eligible_not_enrolled": 32,
                "enrolled_share": 0.2553, "saturation": 0.2727}],
    "rows": [{"scheme": "pmsym", "group": {"state": "10"}, "registered": 25, "enrolled": 12,
              "eligible_not_enrolled": "<10", "enrolled_share": 0.48, "saturation": null},
             {"scheme": "pmsym", "group": {"state": "20"}, "registered": "<10", "enrolled": "<10",
              "eligible_not_enrolled": "<10", "enrolled_share": null, "saturation": null}]}))]
pub struct CoverageReport {
    #[schema(value_type = String, format = Date, example = "2026-12-02")]
    pub as_of: NaiveDate,
    #[schema(example = json!(["state"]))]
    pub group_by: Vec<String>,
    /// The rule version each scheme's eligibility was counted under (null: not counted).
    #[schema(value_type = Object, example = json!({"pmsym": "2019-02-15"}))]
    pub rules: BTreeMap<&'static str, Option<String>>,
    /// Each scheme's total over the filters, then its groups.
    pub totals: Vec<CoverageLine>,
    pub rows: Vec<CoverageLine>,
}

/// What a coverage report asks.
#[derive(Debug, Default)]
pub struct CoverageAsk {
    /// Dimension names (`state`, `district`, `gender`, `social_category`, `occupation_division`).
    pub group_by: Vec<String>,
    /// `None`: every scheme.
    pub scheme: Option<Programme>,
    pub as_of: Option<NaiveDate>,
    pub state_code: Option<String>,
    pub district_code: Option<String>,
    pub gender: Option<String>,
    pub social_category: Option<String>,
}

impl Registry {
    /// Writes the terms in force today for the store's triggers when they are not those already
    /// there (a new day, a new rule version): the workers whose eligibility changed, moved. Once
    /// the writes that were in flight at such a change have ended, counts once more (they read
    /// the old terms).
    pub async fn refresh_coverage(&self) -> Result<NaiveDate> {
        let today = self.today();
        if self.store.coverage_as_of().await? != Some(today) {
            let moved = self
                .store
                .set_coverage_terms(today, &terms_on(today))
                .await?;
            tracing::info!(as_of = %today, moved, "Coverage eligibility counted as of today.");
        }
        if let Some(moved) = self.store.settle_coverage().await? {
            tracing::info!(as_of = %today, moved, "Coverage eligibility counted again for the writes in flight at the change.");
        }
        Ok(today)
    }

    /// The coverage report for the caller's states.
    pub async fn coverage(&self, caller: &Caller, ask: &CoverageAsk) -> Result<CoverageReport> {
        if let Some(s) = &ask.state_code
            && !caller.may_see_state(s)
        {
            return Err(Error::NotFound);
        }
        let today = self.refresh_coverage().await?;
        // An earlier day: its end-of-day counts, kept when the date turned.
        let snapshot = match ask.as_of.filter(|d| *d != today) {
            None => None,
            Some(day) if day > today => {
                return Err(Error::Invalid(vec![
                    domain::Invalid::new("in_future", "coverage is counted up to today")
                        .at("as_of"),
                ]));
            }
            Some(day) => {
                if !self.store.coverage_snapshot_kept(day).await? {
                    let kept = match self.store.coverage_snapshot_days().await? {
                        Some((first, last)) => {
                            format!("the days kept are {first} to {last} and today")
                        }
                        None => "only today's are kept so far".to_owned(),
                    };
                    return Err(Error::Invalid(vec![
                        domain::Invalid::new(
                            "not_kept",
                            format!("no counts were kept for {day}: {kept}"),
                        )
                        .at("as_of"),
                    ]));
                }
                Some(day)
            }
        };
        let day = snapshot.unwrap_or(today);
        let columns: Vec<&str> = ask
            .group_by
            .iter()
            .filter_map(|d| {
                store::coverage::DIMENSIONS
                    .iter()
                    .find(|(name, _)| name == d)
                    .map(|(_, col)| *col)
            })
            .collect();
        let schemes: Vec<Programme> = match ask.scheme {
            Some(p) => vec![p],
            None => Programme::SCHEMES.to_vec(),
        };
        let terms = terms_on(day);
        let mut rules = BTreeMap::new();
        let mut totals = vec![];
        let mut rows = vec![];
        for p in schemes {
            rules.insert(
                p.as_str(),
                terms
                    .iter()
                    .find(|t| t.programme == p.as_str())
                    .map(|t| t.version.clone()),
            );
            let q = CoverageQuery {
                group_by: &columns,
                bit: bit(p),
                states: caller.states.as_deref(),
                state_code: ask.state_code.as_deref(),
                district_code: ask.district_code.as_deref(),
                gender: ask.gender.as_deref(),
                social_category: ask.social_category.as_deref(),
                snapshot,
            };
            let groups = self.store.coverage(&q).await?;
            // The groups partition the filtered workers: their sum is the total.
            let total = if columns.is_empty() {
                groups.first().cloned()
            } else {
                None
            }
            .unwrap_or_else(|| CoverageRow {
                key: vec![],
                registered: groups.iter().map(|g| g.registered).sum(),
                enrolled: groups.iter().map(|g| g.enrolled).sum(),
                eligible_not_enrolled: groups.iter().map(|g| g.eligible_not_enrolled).sum(),
            });
            let groups = if columns.is_empty() { vec![] } else { groups };
            let (total, groups) = suppress(&total, &groups);
            totals.push(line(p, &[], &[], total));
            rows.extend(
                groups
                    .into_iter()
                    .map(|(key, shown)| line(p, &ask.group_by, &key, shown)),
            );
        }
        Ok(CoverageReport {
            as_of: day,
            group_by: ask.group_by.clone(),
            rules,
            totals,
            rows,
        })
    }

    /// Eligible workers not enrolled in `scheme`, a page in UAN order after `after`, each cut for
    /// the caller's purpose; every worker listed is on the audit log.
    pub async fn gaps(
        &self,
        caller: &Caller,
        scheme: Programme,
        state_code: Option<&str>,
        district_code: Option<&str>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Value>> {
        if let Some(s) = state_code
            && !caller.may_see_state(s)
        {
            return Err(Error::NotFound);
        }
        self.refresh_coverage().await?;
        let workers = self
            .store
            .coverage_gaps(
                bit(scheme),
                caller.states.as_deref(),
                state_code,
                district_code,
                after,
                limit,
            )
            .await?;
        let items: Vec<Value> = workers
            .iter()
            .map(|w| self.minimise(&caller.purpose, to_json(w)))
            .collect();
        let fields = items
            .first()
            .map(crate::purpose::FieldPolicy::served_fields)
            .unwrap_or_default();
        let uans = workers.iter().map(|w| w.uan.to_string()).collect();
        self.record(caller, "worklist", ROUTE_GAPS, uans, fields, 200)
            .await?;
        Ok(items)
    }
}

type Cells = [Shown; 3];

fn line(p: Programme, dims: &[String], key: &[String], c: Cells) -> CoverageLine {
    let ratio = |a: Shown, b: Option<i64>| match (a, b) {
        (Shown::Count(a), Some(b)) if b > 0 => Some((a as f64 / b as f64 * 1e4).round() / 1e4),
        _ => None,
    };
    let count = |s: Shown| match s {
        Shown::Count(n) => Some(n),
        Shown::Suppressed => None,
    };
    let reach = match (count(c[1]), count(c[2])) {
        (Some(e), Some(g)) => Some(e + g),
        _ => None,
    };
    CoverageLine {
        scheme: p.as_str(),
        group: dims.iter().cloned().zip(key.iter().cloned()).collect(),
        registered: c[0],
        enrolled: c[1],
        eligible_not_enrolled: c[2],
        enrolled_share: ratio(c[1], count(c[0])),
        saturation: ratio(c[1], reach),
    }
}

/// Primary suppression (under 10), then secondary: in every set of rows that differ in one
/// dimension only (they add up to a total shown elsewhere), no column has exactly one suppressed
/// count — the smallest shown one joins it — repeated until nothing changes.
pub fn suppress(total: &CoverageRow, rows: &[CoverageRow]) -> (Cells, Vec<(Vec<String>, Cells)>) {
    let primary = |n: i64| {
        if n < SUPPRESS_BELOW {
            Shown::Suppressed
        } else {
            Shown::Count(n)
        }
    };
    let cells = |r: &CoverageRow| {
        [
            primary(r.registered),
            primary(r.enrolled),
            primary(r.eligible_not_enrolled),
        ]
    };
    let total_cells = cells(total);
    let mut out: Vec<(Vec<String>, Cells)> =
        rows.iter().map(|r| (r.key.clone(), cells(r))).collect();
    let dims = rows.first().map_or(0, |r| r.key.len());
    loop {
        let mut changed = false;
        for d in 0..dims {
            // Rows alike but for dimension d.
            let mut sets: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
            for (i, (key, _)) in out.iter().enumerate() {
                let mut rest = key.clone();
                rest.remove(d);
                sets.entry(rest).or_default().push(i);
            }
            for members in sets.values() {
                for col in 0..3 {
                    let hidden = members
                        .iter()
                        .filter(|&&i| out[i].1[col] == Shown::Suppressed)
                        .count();
                    if hidden != 1 || members.len() < 2 {
                        continue;
                    }
                    let smallest = members
                        .iter()
                        .filter_map(|&i| match out[i].1[col] {
                            Shown::Count(n) => Some((n, i)),
                            Shown::Suppressed => None,
                        })
                        .min();
                    if let Some((_, i)) = smallest {
                        out[i].1[col] = Shown::Suppressed;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    (total_cells, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &[&str], r: i64, e: i64, g: i64) -> CoverageRow {
        CoverageRow {
            key: key.iter().map(|s| s.to_string()).collect(),
            registered: r,
            enrolled: e,
            eligible_not_enrolled: g,
        }
    }

    #[test]
    fn a_lone_small_count_takes_the_smallest_other_with_it() {
        let total = row(&[], 120, 33, 60);
        let rows = [
            row(&["10"], 50, 4, 30),
            row(&["09"], 40, 12, 20),
            row(&["20"], 30, 17, 10),
        ];
        let (t, out) = suppress(&total, &rows);
        assert_eq!(t, [Shown::Count(120), Shown::Count(33), Shown::Count(60)]);
        // enrolled: 4 is under 10; 12 (the smallest other) goes too, so 33 - 17 leaves two unknowns.
        assert_eq!(out[0].1[1], Shown::Suppressed);
        assert_eq!(out[1].1[1], Shown::Suppressed);
        assert_eq!(out[2].1[1], Shown::Count(17));
        // No count under 10 elsewhere: nothing else hidden.
        assert!(
            out.iter()
                .all(|(_, c)| c[0] != Shown::Suppressed && c[2] != Shown::Suppressed)
        );
    }

    #[test]
    fn two_dimensions_are_protected_along_each() {
        // state x gender: a small cell is protected within its state and within its gender.
        let rows = [
            row(&["10", "F"], 5, 20, 20),
            row(&["10", "M"], 40, 20, 20),
            row(&["09", "F"], 30, 20, 20),
            row(&["09", "M"], 50, 20, 20),
        ];
        let (_, out) = suppress(&row(&[], 125, 80, 80), &rows);
        let hidden: Vec<bool> = out.iter().map(|(_, c)| c[0] == Shown::Suppressed).collect();
        // (10,F) alone; then (10,M) for state 10 and (09,F) for gender F; then (09,M) for both.
        assert_eq!(hidden, [true, true, true, true]);
        for (_, c) in &out {
            assert_eq!(c[1], Shown::Count(20));
        }
    }

    #[test]
    fn shares_need_both_counts() {
        let l = line(
            Programme::Pmsym,
            &[],
            &[],
            [Shown::Count(100), Shown::Suppressed, Shown::Count(40)],
        );
        assert_eq!(l.enrolled_share, None);
        assert_eq!(l.saturation, None);
        let l = line(
            Programme::Pmsym,
            &[],
            &[],
            [Shown::Count(100), Shown::Count(25), Shown::Count(50)],
        );
        assert_eq!(l.enrolled_share, Some(0.25));
        assert_eq!(l.saturation, Some(0.3333));
    }
}
