//! Reading request bodies: content type checked, size capped while streaming (413 before the limit
//! is buffered), JSON parsed strictly (duplicate keys refused, fields named in errors).

use std::collections::HashSet;
use std::fmt;

use actix_web::HttpRequest;
use actix_web::web::{Bytes, BytesMut, Payload};
use futures_util::StreamExt;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::problem::{ApiError, json_error};

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest {
            code: "body_unreadable",
            detail: "the request body could not be read".into(),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Refuses a body whose `Content-Type` (parameters aside) is not one of `accepted`.
pub fn require_content_type(req: &HttpRequest, accepted: &[&'static str]) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match ct {
        Some(ct) if accepted.contains(&ct.as_str()) => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType {
            expected: accepted[0],
        }),
    }
}

/// Parses JSON into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|_| ApiError::BadRequest {
        code: "malformed_json",
        detail: "trailing characters after the JSON document".into(),
    })?;
    Ok(value)
}

/// Parses JSON into a `Value`, refusing duplicate object keys (which `serde_json::Value` would
/// silently resolve to the last one).
pub fn parse_strict_value(bytes: &[u8]) -> Result<Value, ApiError> {
    Ok(parse_json::<StrictValue>(bytes)?.0)
}

struct StrictValue(Value);

impl<'de> de::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(StrictValue(x)) = seq.next_element()? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let StrictValue(v) = map.next_value()?;
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_value_refuses_duplicate_keys_at_any_depth() {
        assert!(parse_strict_value(br#"{"a": {"b": 1}, "c": [1, {"d": null}]}"#).is_ok());
        for body in [&br#"{"a": 1, "a": 2}"#[..], br#"{"x": {"b": 1, "b": 1}}"#] {
            match parse_strict_value(body).unwrap_err() {
                ApiError::Validation(errs) => assert_eq!(errs[0].code, "duplicate_field"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            parse_strict_value(b"{} x"),
            Err(ApiError::BadRequest { .. })
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_strict_value(deep.as_bytes()),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_strict_value(b"{\"a\": \"\xff\"}"),
            Err(ApiError::BadRequest { .. })
        ));
    }
}
