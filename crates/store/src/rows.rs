//! A `workers` row read back into a [`Worker`]: the columns selected and their parsing. Shared by
//! the registry's reads (`workers`) and the matcher's candidate queries (`match_keys`), which
//! otherwise would import each other.

use domain::worker::{Address, BankAccount, Education, Gender, Nominee, Relation, SocialCategory};
use domain::{DistrictCode, Ifsc, Invalid, Mobile, NcoCode, Pincode, StateCode, Uan, Worker};
use serde_json::Value;
use tokio_postgres::Row;

use crate::{Result, StoreError};

pub(crate) const COLUMNS: &str = "uan, aadhaar_last4, name, gender, date_of_birth, mobile, state_code, district_code, \
    pincode, relative_name, social_category, occupation_nco, monthly_income_inr, address, education, \
    bank_account, nominee, change_seq, created_at, updated_at";

pub(crate) fn worker_from_row(r: &Row) -> Result<Worker> {
    let state_code = parse(StateCode::parse(r.get("state_code")))?;
    let address: Option<Value> = r.get("address");
    let address = address
        .map(|a| {
            Ok::<_, StoreError>(Address {
                line1: json_str(&a, "line1")
                    .ok_or_else(|| corrupt("address.line1"))?
                    .to_owned(),
                line2: json_str(&a, "line2").map(str::to_owned),
                locality: json_str(&a, "locality").map(str::to_owned),
            })
        })
        .transpose()?;
    let bank: Option<Value> = r.get("bank_account");
    let bank_account = bank
        .map(|b| {
            Ok::<_, StoreError>(BankAccount {
                account_number: json_str(&b, "account_number")
                    .ok_or_else(|| corrupt("bank_account.account_number"))?
                    .to_owned(),
                ifsc: parse(Ifsc::parse(json_str(&b, "ifsc").unwrap_or_default()))?,
            })
        })
        .transpose()?;
    let nominee: Option<Value> = r.get("nominee");
    let nominee = nominee
        .map(|n| {
            Ok::<_, StoreError>(Nominee {
                name: json_str(&n, "name")
                    .ok_or_else(|| corrupt("nominee.name"))?
                    .to_owned(),
                relation: parse(Relation::parse(
                    json_str(&n, "relation").unwrap_or_default(),
                ))?,
            })
        })
        .transpose()?;
    let education: Option<&str> = r.get("education");
    Ok(Worker {
        uan: parse(Uan::parse(r.get("uan")))?,
        name: r.get("name"),
        gender: parse(Gender::parse(r.get("gender")))?,
        date_of_birth: r.get("date_of_birth"),
        mobile: parse(Mobile::parse(r.get("mobile")))?,
        aadhaar_masked: format!("XXXX-XXXX-{}", r.get::<_, &str>("aadhaar_last4")),
        state_name: state_code.name(),
        state_code,
        district_code: parse(DistrictCode::parse(r.get("district_code")))?,
        pincode: parse(Pincode::parse(r.get("pincode")))?,
        relative_name: r.get("relative_name"),
        social_category: parse(SocialCategory::parse(r.get("social_category")))?,
        occupation_nco: parse(NcoCode::parse(r.get("occupation_nco")))?,
        monthly_income_inr: r.get("monthly_income_inr"),
        address,
        education: education
            .map(Education::parse)
            .transpose()
            .map_err(|e| corrupt(&e.message))?,
        bank_account,
        nominee,
        change_seq: r.get("change_seq"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

pub(crate) fn parse<T>(r: std::result::Result<T, Invalid>) -> Result<T> {
    r.map_err(|e| StoreError::Corrupt {
        table: "workers",
        detail: e.message,
    })
}

fn json_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn corrupt(detail: &str) -> StoreError {
    StoreError::Corrupt {
        table: "workers",
        detail: detail.into(),
    }
}
