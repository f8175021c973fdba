//! A worker of the registry: the registration form as it arrives, the rules it must pass, the
//! record as stored and shown, and the changes a merge patch may make.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Errors, FieldError, Invalid};
use crate::ids::{Aadhaar, DistrictCode, Ifsc, Mobile, NcoCode, Pincode, StateCode, Uan};

const MAX_NAME_CHARS: usize = 100;
const MAX_TEXT_CHARS: usize = 200;
/// A ceiling that catches unit mistakes (paise for rupees); no e-Shram rule sets one.
const MAX_MONTHLY_INCOME_INR: i64 = 10_000_000;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Invalid::new("unknown_value", format!("must be one of: {}", Self::ALL.join(", ")))),
                }
            }

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

text_enum!(
    /// Gender as e-Shram records it.
    Gender { Male = "male", Female = "female", Transgender = "transgender" }
);
text_enum!(
    /// Social category.
    SocialCategory { General = "general", Obc = "obc", Sc = "sc", St = "st" }
);
text_enum!(
    /// Highest education completed.
    Education {
        None = "none",
        Primary = "primary",
        Middle = "middle",
        Secondary = "secondary",
        HigherSecondary = "higher_secondary",
        DiplomaIti = "diploma_iti",
        Graduate = "graduate",
        Postgraduate = "postgraduate",
    }
);
text_enum!(
    /// The nominee's relation to the worker.
    Relation {
        Spouse = "spouse",
        Son = "son",
        Daughter = "daughter",
        Father = "father",
        Mother = "mother",
        Brother = "brother",
        Sister = "sister",
        Other = "other",
    }
);

/// The registration form as sent. Everything is text so that every field's problem can be reported
/// at once; [`NewWorker::validate`] turns it into typed values. Deliberately not `Debug`: it holds
/// the Aadhaar number in clear.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "Mohd. Irfan", "gender": "male", "date_of_birth": "1991-04-12", "mobile": "+91 98765 43210",
    "aadhaar": "999941057058", "state_code": "09", "district_code": "164", "pincode": "226001",
    "relative_name": "Abdul Rashid", "social_category": "obc", "occupation_nco": "9313.0100",
    "monthly_income_inr": 9000,
    "declarations": {"epfo_member": false, "esic_member": false, "nps_member": false, "income_tax_payer": false},
    "address": {"line1": "House 12, Aminabad", "locality": "Lucknow"}, "education": "middle",
    "bank_account": {"account_number": "30412345678", "ifsc": "SBIN0001234"},
    "nominee": {"name": "Shabana", "relation": "spouse"}
})))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Full name as on Aadhaar, in any script.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// `male`, `female` or `transgender`.
    #[cfg_attr(feature = "openapi", schema(value_type = Gender))]
    pub gender: String,
    /// `YYYY-MM-DD`; the worker must be 16 to 59 years old.
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "1991-04-12"))]
    pub date_of_birth: String,
    /// 10 digits starting 6-9; `+91` or `0` prefixes are stripped.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^(\+91[ -]?|91|0)?[6-9][0-9]{4}[ -]?[0-9]{5}$",
            example = "+91 98765 43210"
        )
    )]
    pub mobile: String,
    /// 12 digits, Verhoeff-valid. Stored only as a keyed token and a vault ciphertext, never shown.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}$",
            example = "999941057058"
        )
    )]
    pub aadhaar: String,
    /// 2-digit LGD state code.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^(0[1-9]|1[0-9]|2[0-4]|2[7-9]|3[0-8])$", example = "10")
    )]
    pub state_code: String,
    /// LGD (or 3-digit Census) district code, digits only.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^0*[1-9][0-9]{0,5}$", max_length = 6, example = "230")
    )]
    pub district_code: String,
    /// 6-digit PIN code.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[1-9][0-9]{5}$", example = "800001")
    )]
    pub pincode: String,
    /// Father's or spouse's name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub relative_name: String,
    /// `general`, `obc`, `sc` or `st`.
    #[cfg_attr(feature = "openapi", schema(value_type = SocialCategory))]
    pub social_category: String,
    /// NCO-2015 occupation code, `NNNN.NNNN`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[0-9]{4}\.[0-9]{4}$", example = "9313.0100")
    )]
    pub occupation_nco: String,
    /// Monthly income in whole rupees.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10_000_000))]
    pub monthly_income_inr: i64,
    pub declarations: Declarations,
    pub address: Option<AddressInput>,
    /// Highest education completed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Education>))]
    pub education: Option<String>,
    pub bank_account: Option<BankAccountInput>,
    pub nominee: Option<NomineeInput>,
}

/// The self-declarations e-Shram asks for: any `true` makes the worker ineligible (organised-sector
/// members and income-tax payers are not unorganised workers).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    pub epfo_member: bool,
    pub esic_member: bool,
    pub nps_member: bool,
    pub income_tax_payer: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub line1: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub line2: Option<String>,
    /// Village, town or city.
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub locality: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BankAccountInput {
    /// 9 to 18 digits.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[0-9]{9,18}$", example = "30412345678")
    )]
    pub account_number: String,
    /// RBI's IFSC, `AAAA0XXXXXX` (lower case is upper-cased).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z]{4}0[A-Za-z0-9]{6}$", example = "SBIN0001234")
    )]
    pub ifsc: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NomineeInput {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// `spouse`, `son`, `daughter`, `father`, `mother`, `brother`, `sister` or `other`.
    #[cfg_attr(feature = "openapi", schema(value_type = Relation))]
    pub relation: String,
}

/// A postal address (besides the state, district and PIN code, which are fields of their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub locality: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankAccount {
    pub account_number: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "SBIN0001234"))]
    pub ifsc: Ifsc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nominee {
    pub name: String,
    pub relation: Relation,
}

/// A registration that passed every rule.
#[derive(Debug, Clone)]
pub struct NewWorker {
    pub name: String,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    pub mobile: Mobile,
    pub aadhaar: Aadhaar,
    pub state: StateCode,
    pub district: DistrictCode,
    pub pincode: Pincode,
    pub relative_name: String,
    pub social_category: SocialCategory,
    pub occupation: NcoCode,
    pub monthly_income_inr: i64,
    pub address: Option<Address>,
    pub education: Option<Education>,
    pub bank_account: Option<BankAccount>,
    pub nominee: Option<Nominee>,
}

impl NewWorker {
    /// Applies every registration rule, reporting all broken ones. `today` is the registration date.
    pub fn validate(r: &Registration, today: NaiveDate) -> Result<NewWorker, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e.check("name", parse_name(&r.name));
        let gender = e.check("gender", Gender::parse(&r.gender));
        let date_of_birth = e.check(
            "date_of_birth",
            parse_dob_for_registration(&r.date_of_birth, today),
        );
        let mobile = e.check("mobile", Mobile::parse(&r.mobile));
        let aadhaar = e.check("aadhaar", Aadhaar::parse(&r.aadhaar));
        let state = e.check("state_code", StateCode::parse(&r.state_code));
        let district = e.check("district_code", DistrictCode::parse(&r.district_code));
        let pincode = e.check("pincode", Pincode::parse(&r.pincode));
        let relative_name = e.check("relative_name", parse_name(&r.relative_name));
        let social_category = e.check("social_category", SocialCategory::parse(&r.social_category));
        let occupation = e.check("occupation_nco", NcoCode::parse(&r.occupation_nco));
        let income = e.check("monthly_income_inr", parse_income(r.monthly_income_inr));
        check_declarations(&r.declarations, &mut e);
        let address = r.address.as_ref().and_then(|a| parse_address(a, &mut e));
        let education = match &r.education {
            Some(s) => e.check("education", Education::parse(s)).map(Some),
            None => Some(None),
        };
        let bank_account = r.bank_account.as_ref().and_then(|b| parse_bank(b, &mut e));
        let nominee = r.nominee.as_ref().and_then(|n| parse_nominee(n, &mut e));
        let all_present = (|| {
            Some(NewWorker {
                name: name?,
                gender: gender?,
                date_of_birth: date_of_birth?,
                mobile: mobile?,
                aadhaar: aadhaar?,
                state: state?,
                district: district?,
                pincode: pincode?,
                relative_name: relative_name?,
                social_category: social_category?,
                occupation: occupation?,
                monthly_income_inr: income?,
                address,
                education: education?,
                bank_account,
                nominee,
            })
        })();
        match all_present {
            Some(w) if e.is_empty() => Ok(w),
            _ => Err(e.into_vec()),
        }
    }
}

/// A worker as the registry holds and shows it: the Aadhaar reduced to its masked form. A token
/// sees only its purpose's fields of it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "uan": "483920175560", "name": "Mohd. Irfan", "gender": "male", "date_of_birth": "1991-04-12",
    "mobile": "9876543210", "aadhaar_masked": "XXXX-XXXX-7058", "state_code": "10", "state_name": "Bihar",
    "district_code": "230", "pincode": "800001", "relative_name": "Abdul Rashid", "social_category": "obc",
    "occupation_nco": "9313.0100", "monthly_income_inr": 9000,
    "address": {"line1": "House 12, Ward 7", "line2": null, "locality": "Patna"}, "education": "middle",
    "bank_account": {"account_number": "30412345678", "ifsc": "SBIN0001234"},
    "nominee": {"name": "Shabana", "relation": "spouse"}, "change_seq": 2001,
    "created_at": "2026-11-23T10:15:04.512Z", "updated_at": "2026-11-23T10:15:04.512Z"
})))]
pub struct Worker {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "483920175560"))]
    pub uan: Uan,
    pub name: String,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "9876543210"))]
    pub mobile: Mobile,
    /// Always masked, `XXXX-XXXX-1234`: the number itself is never returned.
    #[cfg_attr(feature = "openapi", schema(example = "XXXX-XXXX-7058"))]
    pub aadhaar_masked: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09"))]
    pub state_code: StateCode,
    #[cfg_attr(feature = "openapi", schema(example = "Uttar Pradesh"))]
    pub state_name: &'static str,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "164"))]
    pub district_code: DistrictCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "226001"))]
    pub pincode: Pincode,
    pub relative_name: String,
    pub social_category: SocialCategory,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "9313.0100"))]
    pub occupation_nco: NcoCode,
    pub monthly_income_inr: i64,
    pub address: Option<Address>,
    pub education: Option<Education>,
    pub bank_account: Option<BankAccount>,
    pub nominee: Option<Nominee>,
    /// Position in the registry's change order: pull `?changed_since_seq=` from the highest you hold.
    pub change_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields a merge patch may change: contact, address and location, occupation, bank, nominee.
pub const CHANGEABLE: &[&str] = &[
    "mobile",
    "address",
    "state_code",
    "district_code",
    "pincode",
    "occupation_nco",
    "bank_account",
    "nominee",
];

/// The Aadhaar-verified identity and the registry's own bookkeeping: never changed by a patch.
pub const IMMUTABLE: &[&str] = &[
    "uan",
    "aadhaar",
    "aadhaar_masked",
    "aadhaar_token",
    "name",
    "gender",
    "date_of_birth",
    "relative_name",
    "social_category",
    "monthly_income_inr",
    "declarations",
    "education",
    "state_name",
    "change_seq",
    "created_at",
    "updated_at",
];

impl Worker {
    /// Applies an RFC 7386 JSON merge patch to the changeable fields and re-validates them. Fields
    /// that may not change, and fields the record does not have, are errors naming the field.
    pub fn apply_merge_patch(&self, patch: &Value) -> Result<Worker, Vec<FieldError>> {
        let Some(patch) = patch.as_object() else {
            return Err(vec![
                Invalid::new("invalid_type", "a merge patch is a JSON object").at(""),
            ]);
        };
        let mut e = Errors::default();
        for key in patch.keys() {
            if IMMUTABLE.contains(&key.as_str()) {
                e.push(
                    Invalid::new("immutable", "this field cannot be changed through the API")
                        .at(key),
                );
            } else if !CHANGEABLE.contains(&key.as_str()) {
                e.push(
                    Invalid::new("unknown_field", "the worker record has no such field").at(key),
                );
            }
        }
        if !e.is_empty() {
            return Err(e.into_vec());
        }
        let mut doc = self.changeable_json();
        merge_patch(&mut doc, &Value::Object(patch.clone()));
        let doc = doc.as_object().cloned().unwrap_or_default();
        let mut next = self.clone();
        let required = |e: &mut Errors, field: &str| -> Option<String> {
            match doc.get(field) {
                Some(Value::String(s)) => Some(s.clone()),
                None | Some(Value::Null) => {
                    e.push(Invalid::new("required", "this field cannot be removed").at(field));
                    None
                }
                Some(_) => {
                    e.push(Invalid::new("invalid_type", "must be a string").at(field));
                    None
                }
            }
        };
        if let Some(s) = required(&mut e, "mobile") {
            next.mobile = e.check("mobile", Mobile::parse(&s)).unwrap_or(next.mobile);
        }
        if let Some(s) = required(&mut e, "state_code") {
            next.state_code = e
                .check("state_code", StateCode::parse(&s))
                .unwrap_or(next.state_code);
            next.state_name = next.state_code.name();
        }
        if let Some(s) = required(&mut e, "district_code") {
            next.district_code = e
                .check("district_code", DistrictCode::parse(&s))
                .unwrap_or(next.district_code);
        }
        if let Some(s) = required(&mut e, "pincode") {
            next.pincode = e
                .check("pincode", Pincode::parse(&s))
                .unwrap_or(next.pincode);
        }
        if let Some(s) = required(&mut e, "occupation_nco") {
            next.occupation_nco = e
                .check("occupation_nco", NcoCode::parse(&s))
                .unwrap_or(next.occupation_nco);
        }
        if next.state_code != self.state_code && !patch.contains_key("district_code") {
            e.push(
                Invalid::new(
                    "required",
                    "district codes are unique only within a state: send the new district_code too",
                )
                .at("district_code"),
            );
        }
        next.address = optional_object(&doc, "address", &mut e, parse_address);
        next.bank_account = optional_object(&doc, "bank_account", &mut e, parse_bank);
        next.nominee = optional_object(&doc, "nominee", &mut e, parse_nominee);
        if e.is_empty() {
            Ok(next)
        } else {
            Err(e.into_vec())
        }
    }

    fn changeable_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("mobile".into(), Value::from(self.mobile.as_str()));
        m.insert("state_code".into(), Value::from(self.state_code.code()));
        m.insert(
            "district_code".into(),
            Value::from(self.district_code.as_str()),
        );
        m.insert("pincode".into(), Value::from(self.pincode.as_str()));
        m.insert(
            "occupation_nco".into(),
            Value::from(self.occupation_nco.as_str()),
        );
        if let Some(a) = &self.address {
            m.insert(
                "address".into(),
                serde_json::to_value(a).unwrap_or(Value::Null),
            );
        }
        if let Some(b) = &self.bank_account {
            m.insert(
                "bank_account".into(),
                serde_json::to_value(b).unwrap_or(Value::Null),
            );
        }
        if let Some(n) = &self.nominee {
            let v = serde_json::json!({"name": n.name, "relation": n.relation.as_str()});
            m.insert("nominee".into(), v);
        }
        Value::Object(m)
    }
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn optional_object<I: serde::de::DeserializeOwned, T>(
    doc: &Map<String, Value>,
    field: &str,
    e: &mut Errors,
    parse: fn(&I, &mut Errors) -> Option<T>,
) -> Option<T> {
    let v = doc.get(field)?;
    match serde_json::from_value::<I>(v.clone()) {
        Ok(input) => parse(&input, e),
        Err(err) => {
            let message = crate::error::serde_expectation(&err.to_string());
            e.push(Invalid::new("invalid_type", message).at(field));
            None
        }
    }
}

pub use crate::eligibility::age_on;

pub fn parse_date(s: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new("invalid_format", "a date is YYYY-MM-DD, e.g. 1991-04-12"))
}

fn parse_dob_for_registration(s: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let dob = parse_date(s)?;
    if dob > today {
        return Err(Invalid::new(
            "in_future",
            "the date of birth is in the future",
        ));
    }
    let age = age_on(dob, today);
    let rules = crate::eligibility::current(crate::eligibility::Programme::Eshram, today);
    let (min, max) = rules.age.unwrap_or((0, None));
    let max = max.unwrap_or(u32::MAX);
    if !rules.age_allowed(age) {
        return Err(Invalid::new(
            "age_out_of_range",
            format!(
                "e-Shram registers workers aged {min} to {max}; this date of birth gives age {age}"
            ),
        ));
    }
    Ok(dob)
}

/// Trims, folds runs of white space, and allows letters of any script with `.`, `'` and `-`.
pub fn parse_name(s: &str) -> Result<String, Invalid> {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        return Err(Invalid::new("required", "must not be empty"));
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(Invalid::new(
            "too_long",
            format!("at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if !v.chars().any(char::is_alphabetic) {
        return Err(Invalid::new("invalid_format", "a name has letters"));
    }
    let allowed = |c: char| c.is_alphabetic() || is_mark(c) || matches!(c, ' ' | '.' | '\'' | '-');
    if !v.chars().all(allowed) {
        return Err(Invalid::new(
            "invalid_format",
            "a name has only letters (any script), spaces, dots, apostrophes and hyphens",
        ));
    }
    Ok(v)
}

/// Combining marks (Indic vowel signs, viramas, nuktas) and the zero-width joiners Indic scripts use.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0900..=0x0DFF | 0x200C | 0x200D)
}

fn parse_text(s: &str, max: usize) -> Result<String, Invalid> {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        return Err(Invalid::new("required", "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Invalid::new(
            "invalid_format",
            "control characters are not allowed",
        ));
    }
    Ok(v)
}

fn parse_income(v: i64) -> Result<i64, Invalid> {
    if !(0..=MAX_MONTHLY_INCOME_INR).contains(&v) {
        return Err(Invalid::new(
            "out_of_range",
            format!("monthly income is whole rupees from 0 to {MAX_MONTHLY_INCOME_INR}"),
        ));
    }
    Ok(v)
}

fn check_declarations(d: &Declarations, e: &mut Errors) {
    let rule = |who: &str| {
        Invalid::new(
            "not_eligible",
            format!("e-Shram registers unorganised workers only: {who} cannot register"),
        )
    };
    if d.epfo_member {
        e.push(rule("members of EPFO").at("declarations.epfo_member"));
    }
    if d.esic_member {
        e.push(rule("members of ESIC").at("declarations.esic_member"));
    }
    if d.nps_member {
        e.push(rule("members of the government-funded NPS").at("declarations.nps_member"));
    }
    if d.income_tax_payer {
        e.push(rule("income-tax payers").at("declarations.income_tax_payer"));
    }
}

fn parse_address(a: &AddressInput, e: &mut Errors) -> Option<Address> {
    let line1 = e.check("address.line1", parse_text(&a.line1, MAX_TEXT_CHARS));
    let line2 = match &a.line2 {
        Some(s) => e
            .check("address.line2", parse_text(s, MAX_TEXT_CHARS))
            .map(Some),
        None => Some(None),
    };
    let locality = match &a.locality {
        Some(s) => e
            .check("address.locality", parse_text(s, MAX_NAME_CHARS))
            .map(Some),
        None => Some(None),
    };
    Some(Address {
        line1: line1?,
        line2: line2?,
        locality: locality?,
    })
}

fn parse_bank(b: &BankAccountInput, e: &mut Errors) -> Option<BankAccount> {
    let n = b.account_number.trim();
    let number = if (9..=18).contains(&n.len()) && n.bytes().all(|c| c.is_ascii_digit()) {
        Some(n.to_owned())
    } else {
        e.push(
            Invalid::new("invalid_format", "a bank account number is 9 to 18 digits")
                .at("bank_account.account_number"),
        );
        None
    };
    let ifsc = e.check("bank_account.ifsc", Ifsc::parse(&b.ifsc));
    Some(BankAccount {
        account_number: number?,
        ifsc: ifsc?,
    })
}

fn parse_nominee(n: &NomineeInput, e: &mut Errors) -> Option<Nominee> {
    let name = e.check("nominee.name", parse_name(&n.name));
    let relation = e.check("nominee.relation", Relation::parse(&n.relation));
    Some(Nominee {
        name: name?,
        relation: relation?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn form() -> Registration {
        serde_json::from_value(serde_json::json!({
            "name": "  Mohd.  Irfan ", "gender": "male", "date_of_birth": "1991-04-12",
            "mobile": "+91 98765 43210", "aadhaar": "999941057058", "state_code": "09",
            "district_code": "164", "pincode": "226001", "relative_name": "Abdul Rashid",
            "social_category": "obc", "occupation_nco": "9313.0100", "monthly_income_inr": 9000,
            "declarations": {"epfo_member": false, "esic_member": false, "nps_member": false, "income_tax_payer": false},
            "bank_account": {"account_number": "30412345678", "ifsc": "sbin0001234"},
            "nominee": {"name": "शबाना", "relation": "spouse"}
        }))
        .unwrap()
    }

    fn codes(errs: &[FieldError]) -> Vec<(&str, &str)> {
        errs.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_good_form_passes_and_is_normalised() {
        let w = NewWorker::validate(&form(), today()).unwrap();
        assert_eq!(w.name, "Mohd. Irfan");
        assert_eq!(w.mobile.as_str(), "9876543210");
        assert_eq!(w.bank_account.unwrap().ifsc.as_str(), "SBIN0001234");
        assert_eq!(w.nominee.unwrap().name, "शबाना");
    }

    #[test]
    fn every_broken_rule_is_named() {
        let mut f = form();
        f.aadhaar = "999941057059".into();
        f.mobile = "987654321".into();
        f.state_code = "99".into();
        f.district_code = "abc".into();
        f.declarations.epfo_member = true;
        f.declarations.income_tax_payer = true;
        let errs = NewWorker::validate(&f, today()).unwrap_err();
        assert_eq!(
            codes(&errs),
            vec![
                ("mobile", "invalid_format"),
                ("aadhaar", "invalid_check_digit"),
                ("state_code", "unknown_code"),
                ("district_code", "invalid_format"),
                ("declarations.epfo_member", "not_eligible"),
                ("declarations.income_tax_payer", "not_eligible"),
            ]
        );
        assert!(errs.iter().all(|e| !e.message.contains("99994105705")));
    }

    #[test]
    fn age_rule_is_16_to_59_in_completed_years() {
        let mut f = form();
        for (dob, ok) in [
            ("2010-11-23", true),  // 16 today
            ("2010-11-24", false), // 15 until tomorrow
            ("1966-11-24", true),  // 59, turns 60 tomorrow
            ("1966-11-23", false), // 60 today
        ] {
            f.date_of_birth = dob.into();
            let r = NewWorker::validate(&f, today());
            assert_eq!(r.is_ok(), ok, "{dob}");
            if let Err(errs) = r {
                assert_eq!(codes(&errs), vec![("date_of_birth", "age_out_of_range")]);
                assert!(errs[0].message.contains("16 to 59"));
            }
        }
        f.date_of_birth = "2027-01-01".into();
        assert_eq!(
            codes(&NewWorker::validate(&f, today()).unwrap_err()),
            vec![("date_of_birth", "in_future")]
        );
        f.date_of_birth = "12-04-1991".into();
        assert_eq!(
            codes(&NewWorker::validate(&f, today()).unwrap_err()),
            vec![("date_of_birth", "invalid_format")]
        );
    }

    #[test]
    fn names_allow_indic_scripts_but_not_digits() {
        assert_eq!(parse_name("मोहम्मद इरफान").unwrap(), "मोहम्मद इरफान");
        assert_eq!(
            parse_name("R. K. D'Souza-Pai").unwrap(),
            "R. K. D'Souza-Pai"
        );
        assert!(parse_name("Irfan 2").is_err());
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"a".repeat(101)).is_err());
    }

    fn worker() -> Worker {
        let n = NewWorker::validate(&form(), today()).unwrap();
        Worker {
            uan: Uan::from_serial(1),
            name: n.name,
            gender: n.gender,
            date_of_birth: n.date_of_birth,
            mobile: n.mobile,
            aadhaar_masked: n.aadhaar.masked(),
            state_code: n.state,
            state_name: n.state.name(),
            district_code: n.district,
            pincode: n.pincode,
            relative_name: n.relative_name,
            social_category: n.social_category,
            occupation_nco: n.occupation,
            monthly_income_inr: n.monthly_income_inr,
            address: n.address,
            education: n.education,
            bank_account: n.bank_account,
            nominee: n.nominee,
            change_seq: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn merge_patch_changes_only_changeable_fields() {
        let w = worker();
        let next = w
            .apply_merge_patch(&serde_json::json!({
                "mobile": "07654321098", "nominee": null,
                "address": {"line1": "Plot 4, Sector 9", "locality": "Noida"},
                "bank_account": {"ifsc": "HDFC0000001"}
            }))
            .unwrap();
        assert_eq!(next.mobile.as_str(), "7654321098");
        assert!(next.nominee.is_none());
        assert_eq!(
            next.address.as_ref().unwrap().locality.as_deref(),
            Some("Noida")
        );
        let bank = next.bank_account.unwrap();
        assert_eq!(
            (bank.account_number.as_str(), bank.ifsc.as_str()),
            ("30412345678", "HDFC0000001")
        );

        let errs = w
            .apply_merge_patch(&serde_json::json!({"uan": "x", "change_seq": 9, "colour": "red"}))
            .unwrap_err();
        assert_eq!(
            codes(&errs),
            vec![
                ("uan", "immutable"),
                ("change_seq", "immutable"),
                ("colour", "unknown_field")
            ]
        );
        let errs = w
            .apply_merge_patch(&serde_json::json!({"nominee": {"name": 999941057058u64}}))
            .unwrap_err();
        assert_eq!(codes(&errs), vec![("nominee", "invalid_type")]);
        assert!(
            !errs[0].message.contains("999941057058"),
            "{}",
            errs[0].message
        );
        let errs = w
            .apply_merge_patch(&serde_json::json!({"mobile": null, "pincode": "1"}))
            .unwrap_err();
        assert_eq!(
            codes(&errs),
            vec![("mobile", "required"), ("pincode", "invalid_format")]
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7386_examples() {
        let mut t = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        let mut t = serde_json::json!({"a": ["b"]});
        merge_patch(&mut t, &serde_json::json!({"a": "c"}));
        assert_eq!(t, serde_json::json!({"a": "c"}));
    }
}
