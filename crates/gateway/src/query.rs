//! Query strings: the pairs read strictly (a parameter twice or unknown is named), page sizes,
//! and opaque cursors (what a page's `next_cursor` carries, base64url of a prefixed value).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{Errors, Invalid};

use crate::problem::ApiError;

/// The query's pairs; `known` parameters only, each at most once (every problem named at once
/// in `errors`, which the caller goes on filling).
pub fn pairs(
    query: &str,
    known: &[&str],
    errors: &mut Errors,
) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| ApiError::BadRequest {
            code: "malformed_query",
            detail: "the query string could not be decoded".into(),
        })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (k, v) in pairs {
        if !known.contains(&k.as_str()) {
            errors
                .push(Invalid::new("unknown_parameter", "this route has no such parameter").at(&k));
        } else if !seen.insert(k.clone()) {
            errors.push(
                Invalid::new(
                    "duplicate_parameter",
                    "this parameter appears more than once",
                )
                .at(&k),
            );
        } else {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// A page size from 1 to `max` (larger values are capped).
pub fn limit(v: &str, max: i64) -> Result<i64, Invalid> {
    match v.parse::<u64>() {
        Ok(0) => Err(Invalid::new("out_of_range", "at least 1")),
        Ok(n) => Ok((n.min(max as u64)) as i64),
        Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => Ok(max),
        Err(_) => Err(Invalid::new("invalid_format", "a whole number, 1 or more")),
    }
}

/// The cursor carrying `value` for pages of kind `prefix`.
pub fn encode_cursor(prefix: &str, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{prefix}{value}"))
}

/// The value a cursor of kind `prefix` carries.
pub fn decode_cursor(prefix: &str, v: &str) -> Result<String, Invalid> {
    URL_SAFE_NO_PAD
        .decode(v)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(prefix).map(str::to_owned))
        .ok_or_else(|| Invalid::new("invalid_cursor", "not a cursor this API issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_another_kind() {
        let c = encode_cursor("rv1:", "42");
        assert_eq!(decode_cursor("rv1:", &c).unwrap(), "42");
        assert!(decode_cursor("ur1:", &c).is_err());
        assert!(decode_cursor("rv1:", "not base64!").is_err());
        assert_eq!(limit("5", 100), Ok(5));
        assert_eq!(limit("99999999999999999999999", 100), Ok(100));
        assert!(limit("0", 100).is_err() && limit("-1", 100).is_err());
        let mut e = Errors::default();
        let p = pairs("a=1&b=2&a=3&c=4", &["a", "b"], &mut e).unwrap();
        assert_eq!(p.len(), 2);
        let named: Vec<_> = e.into_vec().into_iter().map(|f| f.field).collect();
        assert_eq!(named, ["a", "c"]);
    }
}
