//! Synthetic workers for `serve --demo` and the load benchmark: deterministic from a seed, valid
//! under every registration rule, spread over the states with plausible names.

use chrono::{Datelike, NaiveDate};
use domain::worker::{
    Address, BankAccount, Education, Gender, NewWorker, Nominee, Relation, SocialCategory,
};
use domain::{Aadhaar, DistrictCode, Ifsc, Mobile, NcoCode, Pincode, StateCode};

/// splitmix64: small, fast and good enough for test data; not for anything secret.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const OCCUPATIONS: &[&str] = &[
    "9313.0100",
    "9312.0200",
    "5211.0100",
    "9111.0100",
    "6111.0200",
    "8322.0100",
    "7112.0100",
    "9621.0100",
];
const BANKS: &[&str] = &["SBIN", "PUNB", "BARB", "CNRB", "UBIN", "BKID"];

const MALE_RELATIVES: &[&str] = &[
    "Ramesh", "Suresh", "Abdul", "Murugan", "Gurpreet", "Prakash",
];
const FEMALE_NOMINEES: &[&str] = &["Sunita", "Laxmi", "Shabana", "Kamala", "Radha", "Jyoti"];

/// The `n`-th synthetic worker of population `seed`, registered on `today`: the person
/// `population::registry_person(seed, n)` (whom the scheme simulators also serve), with the
/// registry's other fields drawn from the same seed.
pub fn worker(seed: u64, n: u64, today: NaiveDate) -> NewWorker {
    let p = population::registry_person(seed, n);
    let mut r = Rng::new(seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407));
    let female = p.gender == "F";
    let state = StateCode::parse(&p.state_code).unwrap_or_else(|e| unreachable!("{e}"));
    let dob = registrable_dob(&p.dob, today);
    let mobile = if p.mobile.is_empty() {
        format!("{}{:09}", 6 + r.below(4), r.below(1_000_000_000))
    } else {
        p.mobile.clone()
    };
    let pin: String = p.pincode.chars().take(6).collect();
    let account = format!("{:011}", r.below(100_000_000_000));
    let ifsc = format!("{}0{:06}", r.pick(BANKS), r.below(1_000_000));
    let surname = p.full_name.rsplit(' ').next().unwrap_or("Kumar").to_owned();
    NewWorker {
        name: p.full_name.clone(),
        gender: if female { Gender::Female } else { Gender::Male },
        date_of_birth: dob,
        mobile: Mobile::parse(&mobile).unwrap_or_else(|e| unreachable!("{e}")),
        aadhaar: aadhaar(seed, n),
        state,
        district: DistrictCode::parse(&p.district_code).unwrap_or_else(|e| unreachable!("{e}")),
        pincode: Pincode::parse(&pin).unwrap_or_else(|e| unreachable!("{e}")),
        relative_name: if p.relative_name.is_empty() {
            format!("{} {surname}", r.pick(MALE_RELATIVES))
        } else {
            p.relative_name.clone()
        },
        social_category: *r.pick(&[
            SocialCategory::General,
            SocialCategory::Obc,
            SocialCategory::Sc,
            SocialCategory::St,
        ]),
        occupation: NcoCode::parse(r.pick::<&str>(OCCUPATIONS))
            .unwrap_or_else(|e| unreachable!("{e}")),
        monthly_income_inr: 3000 + r.below(17_000) as i64,
        address: Some(Address {
            line1: format!("House {}, Ward {}", 1 + r.below(400), 1 + r.below(40)),
            line2: None,
            locality: Some(state.name().to_owned()),
        }),
        education: Some(*r.pick(&[
            Education::None,
            Education::Primary,
            Education::Middle,
            Education::Secondary,
        ])),
        bank_account: Some(BankAccount {
            account_number: account,
            ifsc: Ifsc::parse(&ifsc).unwrap_or_else(|e| unreachable!("{e}")),
        }),
        nominee: Some(Nominee {
            name: format!(
                "{} {surname}",
                if female {
                    r.pick(MALE_RELATIVES)
                } else {
                    r.pick(FEMALE_NOMINEES)
                }
            ),
            relation: Relation::Spouse,
        }),
    }
}

/// The population's date of birth, moved by whole years into the registry's 16-59 band on `today`.
fn registrable_dob(dob: &str, today: NaiveDate) -> NaiveDate {
    let mut d = NaiveDate::parse_from_str(dob, "%Y-%m-%d")
        .unwrap_or_else(|_| NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(today));
    while domain::worker::age_on(d, today) > 59 {
        d = d
            .with_year(d.year() + 1)
            .unwrap_or(d + chrono::Duration::days(365));
    }
    while domain::worker::age_on(d, today) < 16 {
        d = d
            .with_year(d.year() - 1)
            .unwrap_or(d - chrono::Duration::days(365));
    }
    d
}

/// A synthetic Aadhaar number, distinct for every `n` below 10^10 within a seed. Made by the
/// population's own Verhoeff generator, not by the validator that checks it here.
pub fn aadhaar(seed: u64, n: u64) -> Aadhaar {
    let number = population::aadhaar::synthetic(seed, n);
    Aadhaar::parse(&number).unwrap_or_else(|e| unreachable!("{e}"))
}

/// Workers `serve --demo` puts into an empty registry.
pub const DEMO_WORKERS: u64 = 2_000;

/// Adds `count` synthetic workers of population `seed` after those already there, in batches.
pub async fn seed(
    store: &store::Store,
    keys: &crate::keys::Keys,
    seed: u64,
    count: u64,
) -> anyhow::Result<u64> {
    const BATCH: u64 = 10_000;
    keys.check_against(store).await?;
    let start = store.count_workers().await? as u64;
    let today = chrono::Utc::now().date_naive();
    let seal =
        |w: &NewWorker, uan: &domain::Uan| keys.vault.seal(&w.aadhaar, uan, crate::keys::nonce());
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let batch: Vec<_> = (start + done..start + done + n)
            .map(|i| {
                let w = worker(seed, i, today);
                let token = keys.token.token(&w.aadhaar);
                (w, token)
            })
            .collect();
        done += store.insert_workers_bulk(&batch, &seal).await?;
    }
    store.after_bulk_load().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_workers_pass_registration_rules_and_are_deterministic() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        for n in 0..2000 {
            let w = worker(42, n, today);
            let age = domain::worker::age_on(w.date_of_birth, today);
            assert!((16..=59).contains(&age), "age {age}");
            assert_eq!(w.name, worker(42, n, today).name);
        }
        let distinct: std::collections::HashSet<_> = (0..10_000)
            .map(|n| aadhaar(42, n).expose_digits().to_owned())
            .collect();
        assert_eq!(distinct.len(), 10_000);
        assert_ne!(aadhaar(42, 1), aadhaar(42, 2));
    }
}
