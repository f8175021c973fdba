//! A batch row's columns: the registration's fields, nested ones flattened (`bank_account.ifsc`),
//! and how a row of text becomes the same `Registration` that `POST /v1/workers` reads.

use std::collections::BTreeMap;

use domain::worker::{AddressInput, BankAccountInput, Declarations, NomineeInput};
use domain::{FieldError, Invalid, Registration};
use store::batches::RowError;

/// Columns every file must have (a value may still be empty, and is then refused by the rules).
pub const REQUIRED: &[&str] = &[
    "name",
    "gender",
    "date_of_birth",
    "mobile",
    "aadhaar",
    "state_code",
    "district_code",
    "pincode",
    "relative_name",
    "social_category",
    "occupation_nco",
    "monthly_income_inr",
    "declarations.epfo_member",
    "declarations.esic_member",
    "declarations.nps_member",
    "declarations.income_tax_payer",
];

/// Columns a file may leave out (an empty group, such as no bank account, is no group).
pub const OPTIONAL: &[&str] = &[
    "address.line1",
    "address.line2",
    "address.locality",
    "education",
    "bank_account.account_number",
    "bank_account.ifsc",
    "nominee.name",
    "nominee.relation",
];

/// The column the Aadhaar number is in (never staged in clear).
pub const AADHAAR: &str = "aadhaar";

/// A header's problems, all at once: unknown, repeated and missing columns, each named.
pub fn check_header(header: &[String]) -> Result<(), Vec<FieldError>> {
    let mut errors = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for h in header {
        if !REQUIRED.contains(&h.as_str()) && !OPTIONAL.contains(&h.as_str()) {
            errors.push(
                Invalid::new(
                    "unknown_column",
                    "no registration field has this name (nested fields are written as bank_account.ifsc)",
                )
                .at(h),
            );
        } else if !seen.insert(h.as_str()) {
            errors.push(Invalid::new("duplicate_column", "this column appears twice").at(h));
        }
    }
    for r in REQUIRED {
        if !header.iter().any(|h| h == r) {
            errors.push(Invalid::new("missing_column", "the file has no such column").at(*r));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The registration a row states, with its Aadhaar number (`aadhaar`, given apart: the staged
/// fields never hold it). Values that cannot be the field's type are named; the rules are left to
/// `NewWorker::validate`, as for `POST /v1/workers`.
pub fn registration(
    fields: &BTreeMap<String, String>,
    aadhaar: &str,
) -> Result<Registration, Vec<RowError>> {
    let mut errors = vec![];
    let text = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let optional = |name: &str| Some(text(name)).filter(|v| !v.is_empty());
    let mut flag = |name: &str| match parse_bool(&text(name)) {
        Some(b) => b,
        None => {
            errors.push(row_error(
                name,
                "invalid_format",
                "true or false (also accepted: yes/no, y/n, 1/0)",
            ));
            false
        }
    };
    let declarations = Declarations {
        epfo_member: flag("declarations.epfo_member"),
        esic_member: flag("declarations.esic_member"),
        nps_member: flag("declarations.nps_member"),
        income_tax_payer: flag("declarations.income_tax_payer"),
    };
    let income = text("monthly_income_inr").replace(',', "");
    let monthly_income_inr = match income.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errors.push(row_error(
                "monthly_income_inr",
                "invalid_format",
                "whole rupees, digits only",
            ));
            0
        }
    };
    let address = group(
        &["address.line1", "address.line2", "address.locality"],
        fields,
    )
    .map(|_| AddressInput {
        line1: text("address.line1"),
        line2: optional("address.line2"),
        locality: optional("address.locality"),
    });
    let bank_account = group(
        &["bank_account.account_number", "bank_account.ifsc"],
        fields,
    )
    .map(|_| BankAccountInput {
        account_number: text("bank_account.account_number"),
        ifsc: text("bank_account.ifsc"),
    });
    let nominee = group(&["nominee.name", "nominee.relation"], fields).map(|_| NomineeInput {
        name: text("nominee.name"),
        relation: text("nominee.relation"),
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Registration {
        name: text("name"),
        gender: text("gender").to_lowercase(),
        date_of_birth: iso_date(&text("date_of_birth")),
        mobile: text("mobile"),
        aadhaar: aadhaar.trim().to_owned(),
        state_code: text("state_code"),
        district_code: text("district_code"),
        pincode: text("pincode"),
        relative_name: text("relative_name"),
        social_category: text("social_category").to_lowercase(),
        occupation_nco: text("occupation_nco"),
        monthly_income_inr,
        declarations,
        address,
        education: optional("education").map(|e| e.to_lowercase()),
        bank_account,
        nominee,
    })
}

/// A group of columns is given when any of them has a value.
fn group(columns: &[&str], fields: &BTreeMap<String, String>) -> Option<()> {
    columns
        .iter()
        .any(|c| fields.get(*c).is_some_and(|v| !v.trim().is_empty()))
        .then_some(())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Dates as state files write them: `YYYY-MM-DD`, `DD-MM-YYYY` or `DD/MM/YYYY` (day first, as
/// in India; never month first). Anything else is passed on for the rules to refuse.
pub fn iso_date(v: &str) -> String {
    for format in ["%d-%m-%Y", "%d/%m/%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(v, format)
            && v.len() == 10
        {
            return d.format("%Y-%m-%d").to_string();
        }
    }
    v.to_owned()
}

pub fn row_error(field: &str, code: &str, message: &str) -> RowError {
    RowError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// The rules' errors as a row's.
pub fn row_errors(errors: Vec<FieldError>) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError {
            field: e.field,
            code: e.code.to_owned(),
            message: e.message,
        })
        .collect()
}

/// An NDJSON object's fields by the same column names (nested objects flattened with dots):
/// unknown ones are named.
pub fn flatten(
    object: &serde_json::Map<String, serde_json::Value>,
) -> (BTreeMap<String, String>, Vec<RowError>) {
    let mut fields = BTreeMap::new();
    let mut errors = vec![];
    flatten_into("", object, &mut fields, &mut errors);
    for r in REQUIRED {
        if !fields.contains_key(*r) {
            errors.push(row_error(r, "required", "this field is missing"));
        }
    }
    (fields, errors)
}

fn flatten_into(
    prefix: &str,
    object: &serde_json::Map<String, serde_json::Value>,
    fields: &mut BTreeMap<String, String>,
    errors: &mut Vec<RowError>,
) {
    use serde_json::Value;
    for (k, v) in object {
        let name = format!("{prefix}{k}");
        match v {
            Value::Object(inner) => flatten_into(&format!("{name}."), inner, fields, errors),
            // An optional group left out (`"bank_account": null`).
            Value::Null if OPTIONAL.iter().any(|c| c.starts_with(&format!("{name}."))) => {}
            _ if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) => errors
                .push(row_error(
                    &name,
                    "unknown_field",
                    "no registration field has this name",
                )),
            Value::Null => {
                fields.insert(name, String::new());
            }
            Value::String(s) => {
                fields.insert(name, s.clone());
            }
            Value::Array(_) => errors.push(row_error(&name, "invalid_type", "a single value")),
            other => {
                fields.insert(name, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dates_are_read_day_first_and_iso_passes_through() {
        assert_eq!(iso_date("12-04-1991"), "1991-04-12");
        assert_eq!(iso_date("12/04/1991"), "1991-04-12");
        assert_eq!(iso_date("1991-04-12"), "1991-04-12");
        // Month first is not a date format of Indian files: left for the rules to refuse.
        assert_eq!(iso_date("04/31/1991"), "04/31/1991");
        assert_eq!(iso_date("1-4-1991"), "1-4-1991");
    }

    #[test]
    fn a_header_names_every_unknown_missing_and_repeated_column() {
        let mut header: Vec<String> = REQUIRED.iter().map(|s| s.to_string()).collect();
        assert!(check_header(&header).is_ok());
        header.retain(|h| h != "pincode");
        header.push("bank_account.ifsc".into());
        header.push("bank_account.ifsc".into());
        header.push("pan".into());
        let errors = check_header(&header).unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            named,
            [
                ("bank_account.ifsc", "duplicate_column"),
                ("pan", "unknown_column"),
                ("pincode", "missing_column")
            ]
        );
    }

    #[test]
    fn empty_groups_are_absent_and_bad_types_are_named() {
        let mut fields = row(&[
            ("name", "Sunita Devi"),
            ("monthly_income_inr", "9,000"),
            ("declarations.epfo_member", "No"),
            ("declarations.esic_member", "0"),
            ("declarations.nps_member", "false"),
            ("declarations.income_tax_payer", "N"),
            ("bank_account.account_number", ""),
            ("bank_account.ifsc", " "),
            ("nominee.name", "Ramesh"),
            ("nominee.relation", ""),
        ]);
        let r = registration(&fields, "2345 6789 0124").unwrap();
        assert_eq!(r.monthly_income_inr, 9000);
        assert!(r.bank_account.is_none() && r.address.is_none());
        assert_eq!(r.nominee.unwrap().relation, "");
        assert!(!r.declarations.epfo_member);
        fields.insert("declarations.nps_member".into(), "maybe".into());
        fields.insert("monthly_income_inr".into(), "9k".into());
        let Err(errors) = registration(&fields, "") else {
            panic!("bad types are refused")
        };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["declarations.nps_member", "monthly_income_inr"]);
    }

    #[test]
    fn ndjson_objects_flatten_to_the_same_columns() {
        let v: serde_json::Value = serde_json::json!({
            "name": "Mohd. Irfan", "monthly_income_inr": 9000,
            "declarations": {"epfo_member": false}, "bank_account": {"ifsc": "SBIN0001234"},
            "pan": "ABCDE1234F", "address": null
        });
        let (fields, errors) = flatten(v.as_object().unwrap());
        assert_eq!(fields["monthly_income_inr"], "9000");
        assert_eq!(fields["declarations.epfo_member"], "false");
        assert_eq!(fields["bank_account.ifsc"], "SBIN0001234");
        assert!(
            errors
                .iter()
                .any(|e| e.field == "pan" && e.code == "unknown_field")
        );
        assert!(!errors.iter().any(|e| e.field == "address"));
        assert!(
            errors
                .iter()
                .any(|e| e.field == "pincode" && e.code == "required")
        );
    }
}
