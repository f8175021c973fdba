//! Validation errors. Each names a stable `code` and a sentence for a person; the field name is
//! attached by whoever knows where the value came from.

use std::fmt;

/// Why one value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Stable, machine-readable reason (`invalid_check_digit`, `out_of_range`, ...).
    pub code: &'static str,
    /// A sentence for the person who sent the value. Never contains the value itself.
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            code,
            message: message.into(),
        }
    }

    /// Attach the field name (a JSON pointer-like dotted path such as `bank_account.ifsc`).
    pub fn at(self, field: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            code: self.code,
            message: self.message,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// A refused value and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Collects every field error of one request, so the caller hears about all of them at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keep the value when it parsed, or record where and why it did not.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e.at(field));
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// What a serde error says was expected, without the value it found: serde quotes the offending
/// value ("invalid type: integer `999941057058`, expected a string"), which may be an Aadhaar number.
pub fn serde_expectation(message: &str) -> String {
    message
        .rsplit_once(", expected ")
        .map(|(_, e)| format!("expected {}", e.split(" at line ").next().unwrap_or(e)))
        .unwrap_or_else(|| "invalid value".to_owned())
}
