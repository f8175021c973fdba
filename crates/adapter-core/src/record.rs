//! The canonical record every adapter produces, and the actions it may push.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::SchemeId;

/// Where a feed resumes. Opaque to callers: each adapter encodes its scheme's own paging (page
/// number, opaque token or `since` timestamp) in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// One page of a feed.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<SchemeRecord>,
    /// Resumes right after the last record of this page.
    pub cursor: Cursor,
    /// Whether the scheme said more records follow now (a `since` feed may grow later).
    pub more: bool,
}

/// The identity fields a scheme holds about a person, for matching against the registry. Empty
/// strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub full_name: String,
    /// `M`, `F`, `T` or empty.
    pub gender: String,
    pub date_of_birth: Option<NaiveDate>,
    /// Only the year of birth is known (`date_of_birth` is then 1 January of it).
    pub year_only: bool,
    pub mobile: String,
    pub state_code: String,
    pub district_code: String,
    pub pincode: String,
    pub relative_name: String,
    /// The e-Shram UAN, when the scheme recorded it.
    pub eshram_uan: String,
}

/// A scheme's record in canonical form: its own reference and status, the person (absent for
/// catalogue entries), and the scheme's own facts (contribution, policy year, certificates...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemeRecord {
    pub scheme: SchemeId,
    pub reference: String,
    /// Lower case: `active`, `lapsed`, `completed`, `enrolled`...
    pub status: String,
    pub person: Option<Person>,
    pub facts: serde_json::Map<String, serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What the gateway asks a scheme to do.
#[derive(Debug, Clone)]
pub enum SchemeAction {
    Enrol(Enrolment),
}

/// An enrolment or registration, with everything any of the schemes asks for.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub uan: String,
    pub person: Person,
    pub monthly_income_inr: i64,
    pub occupation_nco: String,
    pub bank_account_number: String,
    pub ifsc: String,
    pub nominee_name: String,
    pub auto_debit_consent: bool,
    /// Sent to the scheme so that a retried enrolment is not made twice.
    pub idempotency_key: String,
}

/// What a scheme answered to an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushReceipt {
    pub reference: String,
    pub status: String,
    /// Money terms and dates as the scheme stated them (`monthly_contribution_inr`...).
    pub terms: serde_json::Map<String, serde_json::Value>,
}

/// `M`, `F`, `T` from the spellings schemes use (`Male`, `female`, `F`...), or empty.
pub fn gender_code(s: &str) -> String {
    match s.trim().to_ascii_uppercase().chars().next() {
        Some('M') => "M".into(),
        Some('F') | Some('W') => "F".into(),
        Some('T') => "T".into(),
        _ => String::new(),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
