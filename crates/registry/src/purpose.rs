//! Purpose limitation and data minimisation: a token names one purpose, and worker records are cut
//! down to the fields that purpose may see before they leave the gateway.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How one field is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Show {
    Whole,
    /// Mobile numbers: `XXXXXX1234`.
    Masked,
    /// Dates: the year only.
    Year,
}

/// The compiled field rules of one purpose.
#[derive(Debug, Clone)]
pub struct FieldPolicy {
    all: bool,
    fields: BTreeMap<String, Show>,
}

impl FieldPolicy {
    /// The rules of one purpose from its field list (`name`, `name:masked`, `name:year`, `*`).
    pub fn compile(field_list: &[String]) -> Result<FieldPolicy, String> {
        let mut fields = BTreeMap::new();
        let mut all = false;
        for f in field_list {
            match f.split_once(':') {
                None if f == "*" => all = true,
                None => {
                    fields.insert(f.clone(), Show::Whole);
                }
                Some((name, "masked")) => {
                    fields.insert(name.to_owned(), Show::Masked);
                }
                Some((name, "year")) => {
                    fields.insert(name.to_owned(), Show::Year);
                }
                Some((_, other)) => return Err(format!("unknown field rule `{other}` in `{f}`")),
            }
        }
        Ok(FieldPolicy { all, fields })
    }

    /// Whether this purpose sees `field` whole (not masked, not the year only).
    pub fn sees_whole(&self, field: &str) -> bool {
        self.all || self.fields.get(field) == Some(&Show::Whole)
    }

    /// The record as this purpose may see it. The Aadhaar number is never in a record to begin with.
    pub fn apply(&self, record: Value) -> Value {
        if self.all {
            return record;
        }
        let Value::Object(m) = record else {
            return record;
        };
        let mut out = Map::new();
        for (k, v) in m {
            match self.fields.get(&k) {
                Some(Show::Whole) => {
                    out.insert(k, v);
                }
                Some(Show::Masked) => {
                    out.insert(k, mask(&v));
                }
                Some(Show::Year) => {
                    let year = v
                        .as_str()
                        .and_then(|s| s.get(..4))
                        .map(Value::from)
                        .unwrap_or(Value::Null);
                    out.insert(k, year);
                }
                None => {}
            }
        }
        Value::Object(out)
    }

    /// Names of the top-level fields in an answer, for the audit log.
    pub fn served_fields(record: &Value) -> Vec<String> {
        record
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn mask(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if s.len() > 4 => {
            Value::from(format!("{}{}", "X".repeat(s.len() - 4), &s[s.len() - 4..]))
        }
        Some(_) => Value::from("XXXX"),
        None => Value::Null,
    }
}

/// Every configured purpose, compiled.
pub fn compile_all<'a>(
    purposes: impl IntoIterator<Item = (&'a String, &'a Vec<String>)>,
) -> Result<BTreeMap<String, FieldPolicy>, String> {
    purposes
        .into_iter()
        .map(|(name, fields)| {
            FieldPolicy::compile(fields)
                .map(|c| (name.clone(), c))
                .map_err(|e| format!("purposes.{name}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(fields: &[&str]) -> FieldPolicy {
        FieldPolicy::compile(&fields.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn verification_sees_name_dob_and_a_masked_mobile_only() {
        let record = serde_json::json!({"uan": "1", "name": "A", "date_of_birth": "1991-04-12", "mobile": "9876543210",
            "aadhaar_masked": "XXXX-XXXX-1234", "bank_account": {"account_number": "1"}});
        let v = policy(&["uan", "name", "date_of_birth", "mobile:masked"]).apply(record.clone());
        assert_eq!(
            v,
            serde_json::json!({"uan": "1", "name": "A", "date_of_birth": "1991-04-12", "mobile": "XXXXXX3210"})
        );
        let v = policy(&["date_of_birth:year"]).apply(record.clone());
        assert_eq!(v, serde_json::json!({"date_of_birth": "1991"}));
        assert_eq!(policy(&["*"]).apply(record.clone()), record);
        assert!(FieldPolicy::compile(&["x:blur".to_owned()]).is_err());
    }
}
