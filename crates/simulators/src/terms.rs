//! The schemes' terms as the simulators state them, typed from the schemes' own publications and
//! not read from the gateway's rule table (`domain::eligibility`): where the two disagree, a test
//! that sets the gateway's decisions beside the simulators' answers fails, which is how a wrong
//! rule in the gateway is caught.

use chrono::{Datelike, NaiveDate};

/// PM-SYM: entry at 18 to 40 (completed years), income up to 15,000 rupees a month, no EPFO, ESIC
/// or NPS membership, no income tax, a savings account (labour.gov.in, scheme guidelines).
pub mod pmsym {
    pub const YOUNGEST: u32 = 18;
    pub const OLDEST: u32 = 40;
    pub const INCOME_CEILING_INR: i64 = 15_000;
    pub const PENSION_INR: u32 = 3_000;

    /// labour.gov.in's contribution chart, rupees a month, entry ages 18 to 40 in order.
    const CHART: [u32; 23] = [
        55, 58, 61, 64, 68, 72, 76, 80, 85, 90, 95, 100, 105, 110, 120, 130, 140, 150, 160, 170,
        180, 190, 200,
    ];

    pub fn contribution_inr(entry_age: u32) -> Option<u32> {
        entry_age
            .checked_sub(YOUNGEST)
            .and_then(|i| CHART.get(i as usize))
            .copied()
    }

    /// What a subscriber gives, as the simulator's enrolment reads it.
    pub struct Applicant {
        pub age: u32,
        pub monthly_income_inr: i64,
        pub has_bank_account: bool,
        pub epfo_member: bool,
        pub esic_member: bool,
        pub nps_member: bool,
        pub income_tax_payer: bool,
    }

    /// The reasons the scheme refuses `a` (field, code, message), or the contribution.
    pub fn decide(a: &Applicant) -> Result<u32, Vec<(&'static str, &'static str, String)>> {
        let mut refused = vec![];
        if !(YOUNGEST..=OLDEST).contains(&a.age) {
            refused.push((
                "age",
                "outside_age_band",
                format!(
                    "PM-SYM takes entry ages {YOUNGEST} to {OLDEST}; the applicant is {}",
                    a.age
                ),
            ));
        }
        if a.monthly_income_inr > INCOME_CEILING_INR {
            refused.push((
                "monthly_income_inr",
                "income_above_ceiling",
                format!("PM-SYM is for monthly incomes up to {INCOME_CEILING_INR} rupees"),
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
                refused.push((field, "excluded", format!("PM-SYM excludes {who}")));
            }
        }
        if !a.has_bank_account {
            refused.push((
                "bank_account",
                "missing",
                "PM-SYM contributions are auto-debited from a savings account".into(),
            ));
        }
        match contribution_inr(a.age) {
            Some(inr) if refused.is_empty() => Ok(inr),
            _ => Err(refused),
        }
    }
}

/// NCS takes job seekers of 14 and over (ncs.gov.in).
pub mod ncs {
    pub const YOUNGEST: u32 = 14;
}

/// PMJJBY's policy year runs 1 June to 31 May (DFS).
pub fn pmjjby_policy_year(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = if day.month() >= 6 {
        day.year()
    } else {
        day.year() - 1
    };
    let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(day);
    (ymd(start, 6, 1), ymd(start + 1, 5, 31))
}

/// Completed years on `day`, as the schemes count age.
pub fn age_on(dob: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - dob.year();
    if (day.month(), day.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// PMJJBY: entry at 18 to 50, cover of 2 lakh rupees to 55, a savings account and consent to its
/// auto-debit; 436 rupees a year from 1 June 2022 (330 before), the first year pro-rata by quarter
/// of enrolment: 436, 342, 228, 114 (DFS letter of 30 May 2022).
pub mod pmjjby {
    use chrono::{Datelike, NaiveDate};

    pub const YOUNGEST: u32 = 18;
    pub const OLDEST: u32 = 50;
    pub const COVER_INR: u32 = 200_000;

    pub struct Cover {
        pub annual_premium_inr: u32,
        pub first_year_premium_inr: u32,
        pub cover_inr: u32,
        pub policy_year_ends: NaiveDate,
        pub cover_ends_by_age: NaiveDate,
    }

    pub fn decide(
        dob: NaiveDate,
        has_bank_account: bool,
        consent: bool,
        today: NaiveDate,
    ) -> Result<Cover, Vec<(&'static str, &'static str, String)>> {
        let age = super::age_on(dob, today);
        let mut refused = vec![];
        if !(YOUNGEST..=OLDEST).contains(&age) {
            refused.push((
                "age",
                "outside_age_band",
                format!("PMJJBY takes entry ages {YOUNGEST} to {OLDEST}; the applicant is {age}"),
            ));
        }
        if !has_bank_account {
            refused.push((
                "bank_account",
                "missing",
                "PMJJBY premiums are auto-debited".into(),
            ));
        }
        if !consent {
            refused.push((
                "auto_debit_consent",
                "consent_required",
                "PMJJBY renews by auto-debit: consent is required".into(),
            ));
        }
        if !refused.is_empty() {
            return Err(refused);
        }
        let revised = today >= NaiveDate::from_ymd_opt(2022, 6, 1).unwrap_or(today);
        let annual = if revised { 436 } else { 330 };
        let first = match (revised, today.month()) {
            (false, _) => 330,
            (true, 6..=8) => 436,
            (true, 9..=11) => 342,
            (true, 12 | 1 | 2) => 228,
            (true, _) => 114,
        };
        let year = dob.year() + 55;
        let turns_55 = dob
            .with_year(year)
            .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
            .unwrap_or(dob);
        Ok(Cover {
            annual_premium_inr: annual,
            first_year_premium_inr: first,
            cover_inr: COVER_INR,
            policy_year_ends: super::pmjjby_policy_year(today).1,
            cover_ends_by_age: super::pmjjby_policy_year(turns_55).1,
        })
    }
}
