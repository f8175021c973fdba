//! Who qualifies for what, as dated data: one table of every programme's terms, each version with
//! the day it took effect, the day it ended, and its source, so that a decision can be made **as of
//! any date** and names the rule and version that made it. The registration rules, the enrolment
//! checks (`schemes::pmsym::check`, `schemes::pmjjby::check`), the eligibility view and the coverage
//! reports all read this table; none keeps its own copy of an age band, a ceiling or a premium.
//! Every number here is quoted in `shared/domain/SCHEMES.md` with its source, and the tests below
//! type the sources' numbers again rather than read them from the table.
//!
//! A decision is `eligible`, `not_eligible` (each unmet condition named) or `unknown` (a fact the
//! registry does not hold, named: whether a family is on the SECC 2011 lists that AB PM-JAY draws
//! from is not in e-Shram). Whether the worker is enrolled is the caller's to add: it is a fact of
//! the links, not of the rules.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// Completed years between `dob` and `on`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// The programmes the rules cover: e-Shram itself, the six schemes the gateway reaches and PMSBY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Programme {
    Eshram,
    Ncs,
    Sidh,
    Myscheme,
    Pmsym,
    Pmjay,
    Pmjjby,
    Pmsby,
}

impl Programme {
    /// The seven a worker's eligibility lists (e-Shram is where they are registered already).
    pub const SCHEMES: [Programme; 7] = [
        Programme::Ncs,
        Programme::Sidh,
        Programme::Myscheme,
        Programme::Pmsym,
        Programme::Pmjay,
        Programme::Pmjjby,
        Programme::Pmsby,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Programme::Eshram => "eshram",
            Programme::Ncs => "ncs",
            Programme::Sidh => "sidh",
            Programme::Myscheme => "myscheme",
            Programme::Pmsym => "pmsym",
            Programme::Pmjay => "pmjay",
            Programme::Pmjjby => "pmjjby",
            Programme::Pmsby => "pmsby",
        }
    }

    pub fn parse(s: &str) -> Option<Programme> {
        [Programme::Eshram]
            .into_iter()
            .chain(Programme::SCHEMES)
            .find(|p| p.as_str() == s)
    }
}

/// One version of a programme's terms.
#[derive(Debug)]
pub struct Terms {
    pub programme: Programme,
    /// The day this version took effect, as `YYYY-MM-DD`: the version's name.
    pub version: &'static str,
    pub effective_from: NaiveDate,
    /// The last day it was in force (`None`: in force now).
    pub effective_until: Option<NaiveDate>,
    /// Where the numbers come from.
    pub source: &'static str,
    /// Completed years, inclusive; `None`: age decides nothing.
    pub age: Option<(u32, Option<u32>)>,
    pub max_monthly_income_inr: Option<i64>,
    /// A savings account to debit (contributions, premiums).
    pub needs_bank_account: bool,
    /// Members of EPFO, ESIC or the government-funded NPS and income-tax payers are excluded.
    pub excludes_formal_sector: bool,
    pub annual_premium_inr: Option<u32>,
    /// The first policy year's premium by the quarter of enrolment (June-August, September-November,
    /// December-February, March-May), where the terms make it pro-rata.
    pub first_year_premium_by_quarter_inr: Option<[u32; 4]>,
    /// A fact outside the registry that qualifies a person when the age rule does not: the
    /// decision is then `unknown`, naming it.
    pub otherwise_needs: Option<&'static str>,
}

const fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("a rule's date is not a day"),
    }
}

/// The table. Versions of one programme follow each other without gap or overlap (a test checks).
pub static RULES: &[Terms] = &[
    Terms {
        programme: Programme::Eshram,
        version: "2021-08-26",
        effective_from: day(2021, 8, 26),
        effective_until: None,
        source: "e-Shram portal, launched 26 Aug 2021 (PIB): unorganised workers aged 16-59, not in EPFO, ESIC or government-funded NPS, not income-tax payers",
        age: Some((16, Some(59))),
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: true,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Ncs,
        version: "2015-07-20",
        effective_from: day(2015, 7, 20),
        effective_until: None,
        source: "National Career Service portal (Ministry of Labour, launched 20 Jul 2015): job seekers aged 14 and over",
        age: Some((14, None)),
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: false,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Sidh,
        version: "2023-09-13",
        effective_from: day(2023, 9, 13),
        effective_until: None,
        source: "Skill India Digital Hub, launched 13 Sep 2023; the age band is PMKVY 4.0's (15-59): SIDH publishes none of its own (unverified)",
        age: Some((15, Some(59))),
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: false,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Myscheme,
        version: "2021-08-26",
        effective_from: day(2021, 8, 26),
        effective_until: None,
        source: "myScheme (MeitY/NeGD): a discovery service open to everyone; dated from the registry's own start, not myScheme's launch",
        age: None,
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: false,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Pmsym,
        version: "2019-02-15",
        effective_from: day(2019, 2, 15),
        effective_until: None,
        source: "PM-SYM scheme (labour.gov.in, launched 15 Feb 2019): entry age 18-40, monthly income up to 15,000 rupees, not in EPFO/ESIC/NPS, not an income-tax payer, a savings account; the contribution chart by entry age",
        age: Some((18, Some(40))),
        max_monthly_income_inr: Some(15_000),
        needs_bank_account: true,
        excludes_formal_sector: true,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Pmjay,
        version: "2018-09-23",
        effective_from: day(2018, 9, 23),
        effective_until: Some(day(2024, 10, 28)),
        source: "AB PM-JAY (National Health Authority, launched 23 Sep 2018): families of the SECC 2011 deprivation and occupational lists",
        age: None,
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: false,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: Some("secc_2011_household"),
    },
    Terms {
        programme: Programme::Pmjay,
        version: "2024-10-29",
        effective_from: day(2024, 10, 29),
        effective_until: None,
        source: "AB PM-JAY senior cover (Cabinet decision of 11 Sep 2024, in force from its launch on 29 Oct 2024): everyone aged 70 or more, whatever the income; under 70, the SECC 2011 lists as before",
        age: Some((70, None)),
        max_monthly_income_inr: None,
        needs_bank_account: false,
        excludes_formal_sector: false,
        annual_premium_inr: None,
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: Some("secc_2011_household"),
    },
    Terms {
        programme: Programme::Pmjjby,
        version: "2015-05-09",
        effective_from: day(2015, 5, 9),
        effective_until: Some(day(2022, 5, 31)),
        source: "PMJJBY (Department of Financial Services, launched 9 May 2015): entry age 18-50, 330 rupees a year by auto-debit",
        age: Some((18, Some(50))),
        max_monthly_income_inr: None,
        needs_bank_account: true,
        excludes_formal_sector: false,
        annual_premium_inr: Some(330),
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Pmjjby,
        version: "2022-06-01",
        effective_from: day(2022, 6, 1),
        effective_until: None,
        source: "PMJJBY premium revision (DFS letter of 30 May 2022): 436 rupees a year from 1 Jun 2022, pro-rata in the first year by quarter",
        age: Some((18, Some(50))),
        max_monthly_income_inr: None,
        needs_bank_account: true,
        excludes_formal_sector: false,
        annual_premium_inr: Some(436),
        first_year_premium_by_quarter_inr: Some([436, 342, 228, 114]),
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Pmsby,
        version: "2015-05-09",
        effective_from: day(2015, 5, 9),
        effective_until: Some(day(2022, 5, 31)),
        source: "PMSBY (Department of Financial Services, launched 9 May 2015): age 18-70, 12 rupees a year by auto-debit",
        age: Some((18, Some(70))),
        max_monthly_income_inr: None,
        needs_bank_account: true,
        excludes_formal_sector: false,
        annual_premium_inr: Some(12),
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
    Terms {
        programme: Programme::Pmsby,
        version: "2022-06-01",
        effective_from: day(2022, 6, 1),
        effective_until: None,
        source: "PMSBY premium revision (DFS, 2022): 20 rupees a year from 1 Jun 2022",
        age: Some((18, Some(70))),
        max_monthly_income_inr: None,
        needs_bank_account: true,
        excludes_formal_sector: false,
        annual_premium_inr: Some(20),
        first_year_premium_by_quarter_inr: None,
        otherwise_needs: None,
    },
];

/// The programme's terms in force on `day` (`None`: it did not exist yet).
pub fn in_force(programme: Programme, day: NaiveDate) -> Option<&'static Terms> {
    RULES.iter().find(|t| {
        t.programme == programme
            && t.effective_from <= day
            && t.effective_until.is_none_or(|u| day <= u)
    })
}

/// The terms in force now for a programme that has always had terms since the registry began
/// (e-Shram, PM-SYM, PMJJBY, PMSBY): for the checks that run on today's date.
pub fn current(programme: Programme, today: NaiveDate) -> &'static Terms {
    in_force(programme, today)
        .or_else(|| RULES.iter().rev().find(|t| t.programme == programme))
        .unwrap_or(&RULES[0])
}

impl Terms {
    /// `YYYY`-style rule id of one condition of this version: `pmsym.age@2019-02-15`.
    pub fn rule_id(&self, condition: &str) -> String {
        format!("{}.{condition}@{}", self.programme.as_str(), self.version)
    }

    /// Whether `age` is inside the age band (no band: yes).
    pub fn age_allowed(&self, age: u32) -> bool {
        match self.age {
            None => true,
            Some((min, max)) => age >= min && max.is_none_or(|m| age <= m),
        }
    }
}

/// What the rules look at, as the registry knows it (`None`: the registry does not hold it).
#[derive(Debug, Clone)]
pub struct Facts {
    pub date_of_birth: NaiveDate,
    pub monthly_income_inr: Option<i64>,
    pub has_bank_account: Option<bool>,
    /// A member of EPFO, ESIC or the government-funded NPS, or an income-tax payer (as declared).
    pub formal_sector: Option<bool>,
}

/// The rules' answer for one programme on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Eligible,
    NotEligible,
    Unknown,
}

/// One condition that decided: the rule (with its version), and a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// `pmsym.age@2019-02-15`: the programme, the condition and the version of the terms.
    #[cfg_attr(feature = "openapi", schema(example = "pmsym.age@2019-02-15"))]
    pub rule: String,
    /// `met`, `outside_age_band`, `income_above_ceiling`, `no_bank_account`, `excluded`,
    /// `not_in_force`, `fact_unknown`.
    #[cfg_attr(feature = "openapi", schema(example = "outside_age_band"))]
    pub code: &'static str,
    /// For `fact_unknown`: the fact the registry lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fact: Option<&'static str>,
}

/// A decision and what made it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub programme: Programme,
    pub status: Status,
    /// The version of the terms applied (`None`: none in force on the day).
    pub terms: Option<&'static Terms>,
    pub reasons: Vec<Reason>,
    /// The worker's age on the day, in completed years.
    pub age: u32,
}

/// Decides `programme` for `facts` as of `day`: every condition checked, each unmet one named.
pub fn decide(programme: Programme, facts: &Facts, day: NaiveDate) -> Decision {
    let age = age_on(facts.date_of_birth, day);
    let Some(t) = in_force(programme, day) else {
        let first = RULES.iter().find(|t| t.programme == programme);
        return Decision {
            programme,
            status: Status::NotEligible,
            terms: None,
            reasons: vec![Reason {
                rule: first.map_or_else(
                    || format!("{}.in_force", programme.as_str()),
                    |t| t.rule_id("in_force"),
                ),
                code: "not_in_force",
                fact: None,
            }],
            age,
        };
    };
    let mut unmet = vec![];
    let mut unknown = vec![];
    let mut met = vec![];
    let mut check = |condition: &'static str, ok: Option<bool>, code: &'static str| match ok {
        Some(true) => met.push(reason(t, condition, "met", None)),
        Some(false) => unmet.push(reason(t, condition, code, None)),
        None => unknown.push(reason(t, condition, "fact_unknown", Some(condition))),
    };
    let age_ok = t.age_allowed(age);
    if t.age.is_some() && (t.otherwise_needs.is_none() || age_ok) {
        check("age", Some(age_ok), "outside_age_band");
    }
    if let Some(ceiling) = t.max_monthly_income_inr {
        check(
            "monthly_income_inr",
            facts.monthly_income_inr.map(|i| i <= ceiling),
            "income_above_ceiling",
        );
    }
    if t.needs_bank_account {
        check("bank_account", facts.has_bank_account, "no_bank_account");
    }
    if t.excludes_formal_sector {
        check("formal_sector", facts.formal_sector.map(|f| !f), "excluded");
    }
    // Not qualified by age, but perhaps by a fact the registry does not hold.
    if let Some(fact) = t.otherwise_needs.filter(|_| t.age.is_none() || !age_ok) {
        unknown.push(reason(t, fact, "fact_unknown", Some(fact)));
    }
    let status = if !unmet.is_empty() {
        Status::NotEligible
    } else if !unknown.is_empty() {
        Status::Unknown
    } else {
        Status::Eligible
    };
    let reasons = match status {
        Status::NotEligible => unmet,
        Status::Unknown => unknown,
        Status::Eligible => met,
    };
    Decision {
        programme,
        status,
        terms: Some(t),
        reasons,
        age,
    }
}

fn reason(t: &Terms, condition: &str, code: &'static str, fact: Option<&'static str>) -> Reason {
    Reason {
        rule: t.rule_id(condition),
        code,
        fact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(dob: NaiveDate) -> Facts {
        Facts {
            date_of_birth: dob,
            monthly_income_inr: Some(9_000),
            has_bank_account: Some(true),
            formal_sector: Some(false),
        }
    }

    #[test]
    fn each_programmes_versions_follow_without_gap_or_overlap() {
        for p in [Programme::Eshram].into_iter().chain(Programme::SCHEMES) {
            let versions: Vec<&Terms> = RULES.iter().filter(|t| t.programme == p).collect();
            assert!(!versions.is_empty(), "{p:?}");
            for w in versions.windows(2) {
                let until = w[0].effective_until.expect("only the last version is open");
                assert_eq!(until.succ_opt().unwrap(), w[1].effective_from, "{p:?}");
            }
            assert!(versions.last().unwrap().effective_until.is_none());
            for v in &versions {
                assert_eq!(v.version, v.effective_from.format("%Y-%m-%d").to_string());
                assert!(!v.source.is_empty());
            }
        }
    }

    #[test]
    fn premiums_change_on_the_sources_dates() {
        // DFS, 30 May 2022: PMJJBY 330 -> 436 and PMSBY 12 -> 20 from 1 June 2022.
        let before = day(2022, 5, 31);
        let after = day(2022, 6, 1);
        let premium = |p, d| in_force(p, d).unwrap().annual_premium_inr.unwrap();
        assert_eq!(premium(Programme::Pmjjby, before), 330);
        assert_eq!(premium(Programme::Pmjjby, after), 436);
        assert_eq!(premium(Programme::Pmsby, before), 12);
        assert_eq!(premium(Programme::Pmsby, after), 20);
        // Not yet launched (PMJJBY and PMSBY: 9 May 2015).
        assert!(in_force(Programme::Pmjjby, day(2015, 5, 8)).is_none());
        let d = decide(Programme::Pmjjby, &facts(day(1990, 1, 1)), day(2015, 5, 8));
        assert_eq!(d.status, Status::NotEligible);
        assert_eq!(d.reasons[0].code, "not_in_force");
    }

    #[test]
    fn age_bands_are_the_sources_in_completed_years() {
        // (programme, youngest, oldest) as SCHEMES.md quotes them.
        let bands = [
            (Programme::Eshram, 16, Some(59)),
            (Programme::Pmsym, 18, Some(40)),
            (Programme::Pmjjby, 18, Some(50)),
            (Programme::Pmsby, 18, Some(70)),
            (Programme::Ncs, 14, None),
        ];
        let today = day(2026, 12, 2);
        for (p, min, max) in bands {
            let born = |age: u32| day(2026 - age as i32, 12, 2);
            assert_eq!(
                decide(p, &facts(born(min)), today).status,
                Status::Eligible,
                "{p:?} {min}"
            );
            assert_eq!(
                decide(p, &facts(born(min - 1)), today).status,
                Status::NotEligible,
                "{p:?}"
            );
            // The day before the birthday: still the younger age.
            let eve = born(min).succ_opt().unwrap();
            assert_eq!(
                decide(p, &facts(eve), today).status,
                Status::NotEligible,
                "{p:?} eve"
            );
            if let Some(max) = max {
                assert_eq!(decide(p, &facts(born(max)), today).status, Status::Eligible);
                let d = decide(p, &facts(born(max + 1)), today);
                assert_eq!(d.status, Status::NotEligible);
                assert_eq!(d.reasons[0].code, "outside_age_band");
                assert_eq!(
                    d.reasons[0].rule,
                    format!("{}.age@{}", p.as_str(), d.terms.unwrap().version)
                );
            }
        }
    }

    #[test]
    fn pmsym_names_every_unmet_condition_and_what_is_unknown() {
        let today = day(2026, 12, 2);
        let mut f = facts(day(1996, 1, 1));
        f.monthly_income_inr = Some(15_001);
        f.has_bank_account = Some(false);
        f.formal_sector = Some(true);
        let d = decide(Programme::Pmsym, &f, today);
        let codes: Vec<_> = d
            .reasons
            .iter()
            .map(|r| (r.rule.as_str(), r.code))
            .collect();
        assert_eq!(
            codes,
            [
                (
                    "pmsym.monthly_income_inr@2019-02-15",
                    "income_above_ceiling"
                ),
                ("pmsym.bank_account@2019-02-15", "no_bank_account"),
                ("pmsym.formal_sector@2019-02-15", "excluded"),
            ]
        );
        f.monthly_income_inr = Some(15_000);
        f.has_bank_account = None;
        f.formal_sector = Some(false);
        let d = decide(Programme::Pmsym, &f, today);
        assert_eq!(d.status, Status::Unknown);
        assert_eq!(d.reasons[0].fact, Some("bank_account"));
    }

    #[test]
    fn pmjay_covers_everyone_of_70_from_29_october_2024_and_otherwise_asks_for_the_secc_lists() {
        let senior = facts(day(1950, 1, 1));
        let before = decide(Programme::Pmjay, &senior, day(2024, 10, 28));
        assert_eq!(before.status, Status::Unknown);
        assert_eq!(before.reasons[0].fact, Some("secc_2011_household"));
        let after = decide(Programme::Pmjay, &senior, day(2024, 10, 29));
        assert_eq!(after.status, Status::Eligible);
        assert_eq!(after.reasons[0].rule, "pmjay.age@2024-10-29");
        let young = decide(Programme::Pmjay, &facts(day(1990, 1, 1)), day(2026, 12, 2));
        assert_eq!(young.status, Status::Unknown);
        assert_eq!(young.reasons.len(), 1);
        assert_eq!(
            young.reasons[0].rule,
            "pmjay.secc_2011_household@2024-10-29"
        );
    }
}
