//! The welfare schemes the gateway reaches and their rules, as dated data. Every number here is
//! quoted in `shared/domain/SCHEMES.md` with its source, and a test below repeats it.
//!
//! A rule check never stops at the first broken rule: it returns every [`FieldError`] at once, each
//! naming the rule (`field`) and why (`code`, `message`), so a 422 can list them all.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Invalid};
use crate::worker::age_on;

/// The six scheme systems, in the order the API lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SchemeId {
    Ncs,
    Sidh,
    Myscheme,
    Pmsym,
    Pmjay,
    Pmjjby,
}

impl SchemeId {
    pub const ALL: [SchemeId; 6] = [
        SchemeId::Ncs,
        SchemeId::Sidh,
        SchemeId::Myscheme,
        SchemeId::Pmsym,
        SchemeId::Pmjay,
        SchemeId::Pmjjby,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SchemeId::Ncs => "ncs",
            SchemeId::Sidh => "sidh",
            SchemeId::Myscheme => "myscheme",
            SchemeId::Pmsym => "pmsym",
            SchemeId::Pmjay => "pmjay",
            SchemeId::Pmjjby => "pmjjby",
        }
    }

    pub fn parse(s: &str) -> Result<SchemeId, Invalid> {
        SchemeId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    "unknown_scheme",
                    "must be one of ncs, sidh, myscheme, pmsym, pmjay, pmjjby",
                )
            })
    }

    pub fn facts(self) -> &'static SchemeFacts {
        &FACTS[self as usize]
    }
}

impl std::fmt::Display for SchemeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person reads about a scheme in `GET /v1/schemes`.
#[derive(Debug)]
pub struct SchemeFacts {
    pub name: &'static str,
    pub ministry: &'static str,
    pub offers: &'static str,
    /// Whether the gateway forwards enrolments to it (`POST /v1/workers/{uan}/enrolments`).
    pub enrols: bool,
}

const FACTS: [SchemeFacts; 6] = [
    SchemeFacts {
        name: "National Career Service",
        ministry: "Ministry of Labour and Employment",
        offers: "Job-seeker registration and vacancies by district and NCO occupation code",
        enrols: true,
    },
    SchemeFacts {
        name: "Skill India Digital Hub",
        ministry: "Ministry of Skill Development and Entrepreneurship",
        offers: "Skilling courses, their completions and NSDC certificates",
        enrols: false,
    },
    SchemeFacts {
        name: "myScheme",
        ministry: "Ministry of Electronics and Information Technology (NeGD)",
        offers: "The catalogue of central and state schemes with eligibility criteria",
        enrols: false,
    },
    SchemeFacts {
        name: "Pradhan Mantri Shram Yogi Maan-dhan (PM-SYM)",
        ministry: "Ministry of Labour and Employment",
        offers: "Pension of 3,000 rupees a month from age 60, contributions matched 50:50 by the Centre",
        enrols: true,
    },
    SchemeFacts {
        name: "Ayushman Bharat Pradhan Mantri Jan Arogya Yojana (AB PM-JAY)",
        ministry: "National Health Authority",
        offers: "Health cover of 5 lakh rupees per family per year",
        enrols: false,
    },
    SchemeFacts {
        name: "Pradhan Mantri Jeevan Jyoti Bima Yojana (PMJJBY)",
        ministry: "Department of Financial Services",
        offers: "Life cover of 2 lakh rupees for a yearly premium by auto-debit",
        enrols: true,
    },
];

/// What the rules look at: the registry record plus what the worker declares when enrolling.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub date_of_birth: NaiveDate,
    pub monthly_income_inr: i64,
    pub has_bank_account: bool,
    pub epfo_member: bool,
    pub esic_member: bool,
    pub nps_member: bool,
    pub income_tax_payer: bool,
}

fn breach(rule: &str, code: &'static str, message: String) -> FieldError {
    Invalid::new(code, message).at(rule)
}

/// PM-SYM, the pension for unorganised workers (labour.gov.in chart).
pub mod pmsym {
    use super::*;

    use crate::eligibility::{Programme, current};

    pub const PENSION_INR: u32 = 3_000;

    /// Monthly worker contribution in rupees by entry age 18..=40 (labour.gov.in chart).
    pub const CONTRIBUTION_BY_AGE: [(u32, u32); 23] = [
        (18, 55),
        (19, 58),
        (20, 61),
        (21, 64),
        (22, 68),
        (23, 72),
        (24, 76),
        (25, 80),
        (26, 85),
        (27, 90),
        (28, 95),
        (29, 100),
        (30, 105),
        (31, 110),
        (32, 120),
        (33, 130),
        (34, 140),
        (35, 150),
        (36, 160),
        (37, 170),
        (38, 180),
        (39, 190),
        (40, 200),
    ];

    /// The chart's contribution at `entry_age` (completed years), `None` outside 18-40.
    pub fn monthly_contribution_inr(entry_age: u32) -> Option<u32> {
        CONTRIBUTION_BY_AGE
            .iter()
            .find(|(age, _)| *age == entry_age)
            .map(|(_, inr)| *inr)
    }

    /// The terms of an accepted enrolment.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Terms {
        pub entry_age: u32,
        pub monthly_contribution_inr: u32,
    }

    /// Every rule `a` breaks on `today` (the terms in force then, from [`crate::eligibility`]),
    /// or the terms. Entry age is in completed years.
    pub fn check(a: &Applicant, today: NaiveDate) -> Result<Terms, Vec<FieldError>> {
        let rules = current(Programme::Pmsym, today);
        let (min, max) = rules.age.unwrap_or((0, None));
        let max = max.unwrap_or(u32::MAX);
        let ceiling = rules.max_monthly_income_inr.unwrap_or(i64::MAX);
        let mut broken = Vec::new();
        let age = age_on(a.date_of_birth, today);
        if !rules.age_allowed(age) {
            broken.push(breach(
                "age",
                "outside_age_band",
                format!("PM-SYM takes entry ages {min} to {max}; the worker is {age}"),
            ));
        }
        if a.monthly_income_inr > ceiling {
            broken.push(breach(
                "monthly_income_inr",
                "income_above_ceiling",
                format!("PM-SYM is for monthly incomes up to {ceiling} rupees"),
            ));
        }
        for (excluded, field, who) in [
            (a.epfo_member, "declarations.epfo_member", "EPFO members"),
            (a.esic_member, "declarations.esic_member", "ESIC members"),
            (a.nps_member, "declarations.nps_member", "NPS subscribers"),
            (
                a.income_tax_payer,
                "declarations.income_tax_payer",
                "income-tax payers",
            ),
        ] {
            if excluded {
                broken.push(breach(field, "excluded", format!("PM-SYM excludes {who}")));
            }
        }
        if !a.has_bank_account {
            broken.push(breach(
                "bank_account",
                "missing",
                "PM-SYM contributions are auto-debited: the registry has no savings account for the worker".into(),
            ));
        }
        match monthly_contribution_inr(age) {
            Some(inr) if broken.is_empty() => Ok(Terms {
                entry_age: age,
                monthly_contribution_inr: inr,
            }),
            _ => Err(broken),
        }
    }
}

/// PMJJBY, life cover through banks (DFS letter of 30 May 2022).
pub mod pmjjby {
    use super::*;

    use crate::eligibility::{Programme, current};

    /// Cover continues to this age once enrolled.
    pub const COVER_UNTIL_AGE: u32 = 55;
    pub const COVER_INR: u32 = 200_000;

    /// The policy year (1 June to 31 May) that `day` falls in, as its first and last days.
    pub fn policy_year(day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let start_year = if day.month() >= 6 {
            day.year()
        } else {
            day.year() - 1
        };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(day);
        (ymd(start_year, 6, 1), ymd(start_year + 1, 5, 31))
    }

    /// The yearly premium in force on `day` (the rule table's; before the scheme, its first).
    pub fn annual_premium_inr(day: NaiveDate) -> u32 {
        current(Programme::Pmjjby, day)
            .annual_premium_inr
            .unwrap_or_default()
    }

    /// The first year's premium: pro-rata by the quarter of the policy year of enrolment where the
    /// terms in force say so (from 1 June 2022: June-August 436, September-November 342,
    /// December-February 228, March-May 114), the whole year's otherwise.
    pub fn first_year_premium_inr(enrolled_on: NaiveDate) -> u32 {
        let terms = current(Programme::Pmjjby, enrolled_on);
        let quarter = match enrolled_on.month() {
            6..=8 => 0,
            9..=11 => 1,
            12 | 1 | 2 => 2,
            _ => 3,
        };
        terms
            .first_year_premium_by_quarter_inr
            .map(|q| q[quarter])
            .or(terms.annual_premium_inr)
            .unwrap_or_default()
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Terms {
        pub annual_premium_inr: u32,
        pub first_year_premium_inr: u32,
        pub cover_inr: u32,
        pub policy_year_ends: NaiveDate,
        /// The last day of cover: the policy year in which the worker turns 55.
        pub cover_ends_by_age: NaiveDate,
    }

    /// Every rule `a` breaks on `today` (auto-debit consent is the enrolment's own field), or the terms.
    pub fn check(
        a: &Applicant,
        auto_debit_consent: bool,
        today: NaiveDate,
    ) -> Result<Terms, Vec<FieldError>> {
        let rules = current(Programme::Pmjjby, today);
        let (min, max) = rules.age.unwrap_or((0, None));
        let max = max.unwrap_or(u32::MAX);
        let mut broken = Vec::new();
        let age = age_on(a.date_of_birth, today);
        if !rules.age_allowed(age) {
            broken.push(breach(
                "age",
                "outside_age_band",
                format!("PMJJBY takes entry ages {min} to {max}; the worker is {age}"),
            ));
        }
        if !a.has_bank_account {
            broken.push(breach(
                "bank_account",
                "missing",
                "PMJJBY premiums are auto-debited: the registry has no savings account for the worker".into(),
            ));
        }
        if !auto_debit_consent {
            broken.push(breach(
                "auto_debit_consent",
                "consent_required",
                "PMJJBY renews by auto-debit: the worker's consent must be true".into(),
            ));
        }
        if !broken.is_empty() {
            return Err(broken);
        }
        // Born on 29 February: the 55th birthday is kept on 1 March in a common year.
        let year = a.date_of_birth.year() + COVER_UNTIL_AGE as i32;
        let turns_55 = a
            .date_of_birth
            .with_year(year)
            .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
            .unwrap_or(a.date_of_birth);
        Ok(Terms {
            annual_premium_inr: annual_premium_inr(today),
            first_year_premium_inr: first_year_premium_inr(today),
            cover_inr: COVER_INR,
            policy_year_ends: policy_year(today).1,
            cover_ends_by_age: policy_year(turns_55).1,
        })
    }
}

/// AB PM-JAY's cover (who qualifies is in [`crate::eligibility`]).
pub mod pmjay {
    pub const FAMILY_COVER_INR: u32 = 500_000;
}

/// myScheme's machine-readable eligibility criteria (the simulator's catalogue carries them; the
/// real catalogue has only prose). An empty list or `None` means "no condition".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criteria {
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
    /// `M`, `F`, `T`.
    #[serde(default)]
    pub genders: Vec<String>,
    /// LGD state codes.
    #[serde(default)]
    pub states: Vec<String>,
    /// `general`, `obc`, `sc`, `st`.
    #[serde(default)]
    pub social_categories: Vec<String>,
    pub max_monthly_income_inr: Option<i64>,
    /// NCO-2015 code prefixes (`9313` matches `9313.0100`).
    #[serde(default)]
    pub occupations: Vec<String>,
}

/// The profile criteria are evaluated against.
#[derive(Debug, Clone)]
pub struct Profile<'a> {
    pub age: u32,
    pub gender: &'a str,
    pub state_code: &'a str,
    pub social_category: &'a str,
    pub monthly_income_inr: i64,
    pub occupation_nco: &'a str,
}

impl Criteria {
    /// The criteria `p` fails, by name (empty: may qualify).
    pub fn unmet(&self, p: &Profile) -> Vec<&'static str> {
        let mut unmet = Vec::new();
        if self.min_age.is_some_and(|m| p.age < m) || self.max_age.is_some_and(|m| p.age > m) {
            unmet.push("age");
        }
        let listed = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        if !listed(&self.genders, p.gender) {
            unmet.push("gender");
        }
        if !listed(&self.states, p.state_code) {
            unmet.push("state");
        }
        if !listed(&self.social_categories, p.social_category) {
            unmet.push("social_category");
        }
        if self
            .max_monthly_income_inr
            .is_some_and(|m| p.monthly_income_inr > m)
        {
            unmet.push("monthly_income_inr");
        }
        if !self.occupations.is_empty()
            && !self
                .occupations
                .iter()
                .any(|o| p.occupation_nco.starts_with(o.as_str()))
        {
            unmet.push("occupation");
        }
        unmet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn applicant(dob: NaiveDate) -> Applicant {
        Applicant {
            date_of_birth: dob,
            monthly_income_inr: 9_000,
            has_bank_account: true,
            epfo_member: false,
            esic_member: false,
            nps_member: false,
            income_tax_payer: false,
        }
    }

    const TODAY: (i32, u32, u32) = (2026, 11, 23);

    fn born_years_ago(years: i32) -> NaiveDate {
        day(TODAY.0 - years, TODAY.1, TODAY.2)
    }

    fn today() -> NaiveDate {
        day(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn pmsym_contribution_follows_the_chart_at_every_entry_age() {
        // labour.gov.in's chart as SCHEMES.md quotes it, column by column (18-23, 24-29, 30-35,
        // 36-40), typed again here rather than read from the table under test.
        let chart = [
            55, 58, 61, 64, 68, 72, 76, 80, 85, 90, 95, 100, 105, 110, 120, 130, 140, 150, 160,
            170, 180, 190, 200,
        ];
        for (age, inr) in (18..=40).zip(chart) {
            let terms = pmsym::check(&applicant(born_years_ago(age)), today()).unwrap();
            assert_eq!(terms.entry_age, age as u32);
            assert_eq!(terms.monthly_contribution_inr, inr, "age {age}");
        }
        // Completed years: the day before the 19th birthday is still 18.
        let dob = day(TODAY.0 - 19, TODAY.1, TODAY.2 + 1);
        assert_eq!(
            pmsym::check(&applicant(dob), today())
                .unwrap()
                .monthly_contribution_inr,
            55
        );
        // The chart rises every year.
        assert!(
            pmsym::CONTRIBUTION_BY_AGE
                .windows(2)
                .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 > w[0].1)
        );
    }

    #[test]
    fn pmsym_refuses_each_excluded_worker_with_every_reason() {
        for age in [17, 41, 59] {
            let e = pmsym::check(&applicant(born_years_ago(age)), today()).unwrap_err();
            assert_eq!(e.len(), 1);
            assert_eq!(
                (e[0].field.as_str(), e[0].code),
                ("age", "outside_age_band")
            );
        }
        let mut a = applicant(born_years_ago(45));
        a.monthly_income_inr = 15_001;
        a.epfo_member = true;
        a.income_tax_payer = true;
        a.has_bank_account = false;
        let fields: Vec<_> = pmsym::check(&a, today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "age",
                "monthly_income_inr",
                "declarations.epfo_member",
                "declarations.income_tax_payer",
                "bank_account"
            ]
        );
        let mut at_ceiling = applicant(born_years_ago(30));
        at_ceiling.monthly_income_inr = 15_000;
        assert!(pmsym::check(&at_ceiling, today()).is_ok());
    }

    #[test]
    fn pmjjby_age_band_premium_and_policy_year() {
        assert!(pmjjby::check(&applicant(born_years_ago(18)), true, today()).is_ok());
        assert!(pmjjby::check(&applicant(born_years_ago(50)), true, today()).is_ok());
        for age in [17, 51] {
            let e = pmjjby::check(&applicant(born_years_ago(age)), true, today()).unwrap_err();
            assert_eq!(e[0].field, "age");
        }
        let e = pmjjby::check(&applicant(born_years_ago(30)), false, today()).unwrap_err();
        assert_eq!(e[0].field, "auto_debit_consent");
        let t = pmjjby::check(&applicant(day(1990, 3, 10)), true, today()).unwrap();
        assert_eq!(t.annual_premium_inr, 436);
        assert_eq!(t.first_year_premium_inr, 342); // November
        assert_eq!(t.cover_inr, 200_000);
        assert_eq!(t.policy_year_ends, day(2027, 5, 31));
        // Turns 55 on 10 Mar 2045: cover runs to the end of that policy year.
        assert_eq!(t.cover_ends_by_age, day(2045, 5, 31));
        for (m, inr) in [
            (6, 436),
            (8, 436),
            (9, 342),
            (12, 228),
            (2, 228),
            (3, 114),
            (5, 114),
        ] {
            assert_eq!(
                pmjjby::first_year_premium_inr(day(2025, m, 15)),
                inr,
                "month {m}"
            );
        }
        assert_eq!(pmjjby::annual_premium_inr(day(2022, 5, 31)), 330);
        // Born on 29 February 1980: turns 55 on 1 March 2035, cover to 31 May 2035.
        let leap = pmjjby::check(&applicant(day(1980, 2, 29)), true, today()).unwrap();
        assert_eq!(leap.cover_ends_by_age, day(2035, 5, 31));
        assert_eq!(
            pmjjby::policy_year(day(2026, 5, 31)),
            (day(2025, 6, 1), day(2026, 5, 31))
        );
    }

    #[test]
    fn criteria_name_each_unmet_condition() {
        let c = Criteria {
            min_age: Some(18),
            max_age: Some(60),
            genders: vec!["F".into()],
            states: vec!["09".into()],
            max_monthly_income_inr: Some(10_000),
            occupations: vec!["9313".into()],
            ..Default::default()
        };
        let p = Profile {
            age: 30,
            gender: "F",
            state_code: "09",
            social_category: "obc",
            monthly_income_inr: 9_000,
            occupation_nco: "9313.0100",
        };
        assert!(c.unmet(&p).is_empty());
        let q = Profile {
            age: 65,
            gender: "M",
            occupation_nco: "5211.0100",
            monthly_income_inr: 12_000,
            ..p
        };
        assert_eq!(
            c.unmet(&q),
            ["age", "gender", "monthly_income_inr", "occupation"]
        );
    }

    #[test]
    fn scheme_ids_round_trip() {
        for id in SchemeId::ALL {
            assert_eq!(SchemeId::parse(id.as_str()).unwrap(), id);
            assert!(!id.facts().name.is_empty());
        }
        assert!(SchemeId::parse("pmsby").is_err());
    }
}
