//! Reading request bodies: content type checked, size capped while streaming (413 before the limit
//! is buffered), JSON parsed strictly (duplicate keys refused, fields named in errors).

use std::collections::HashSet;
use std::fmt;

use actix_web::HttpRequest;
use actix_web::web::{Bytes, BytesMut, Payload};
use domain::error::FieldError;
use futures_util::StreamExt;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::problem::{ApiError, json_error, quoted};

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
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|_| ApiError::BadRequest {
        code: "malformed_json",
        detail: "trailing characters after the JSON document".into(),
    })?;
    Ok(value)
}

/// Field errors one body reports at most; past that the list ends with `too_many_errors`.
const MAX_FIELD_ERRORS: usize = 100;

/// A request body read into `T` with every problem of its shape collected, not only the first:
/// an unknown field is dropped, and a missing or mistyped one given a stand-in, until `T` reads, so
/// the rules can still be checked on everything else ([`Form::validate`]).
pub struct Form<T> {
    value: T,
    errors: Vec<FieldError>,
    /// Where stand-ins were put: the rules' findings there are about the stand-in, not the request.
    stand_ins: Vec<String>,
}

/// Reads `bytes` as JSON into a [`Form`]. Syntax errors (400) and duplicate keys (422) are final.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<Form<T>, ApiError> {
    let mut doc = parse_strict_value(bytes)?;
    let mut errors: Vec<FieldError> = Vec::new();
    let mut stand_ins: Vec<String> = Vec::new();
    // Stand-ins tried at each path, so a path that takes none ends the search.
    let mut tried: Vec<(String, usize)> = Vec::new();
    // Each pass reads the whole document again: a big body with many problems gets fewer passes
    // (at most MAX_REREAD_BYTES read in all), so no body costs more than a fraction of a second.
    let passes = (MAX_REREAD_BYTES / bytes.len().max(1)).clamp(8, MAX_PASSES);
    for _ in 0..passes {
        let err = match serde_path_to_error::deserialize::<_, T>(&doc) {
            Ok(value) => {
                return Ok(Form {
                    value,
                    errors,
                    stand_ins,
                });
            }
            Err(err) => err,
        };
        let mut at: Vec<Segment> = err.path().iter().filter_map(Segment::of).collect();
        let message = err.into_inner().to_string();
        let (fix, code, text) = if let Some(name) = quoted(&message, "unknown field `") {
            if at.last() != Some(&Segment::Key(name.clone())) {
                at.push(Segment::Key(name));
            }
            (
                Fix::Remove,
                "unknown_field",
                "this field is not part of the request".to_owned(),
            )
        } else if let Some(name) = quoted(&message, "missing field `") {
            // Reported at the object that lacks it.
            at.push(Segment::Key(name));
            (
                Fix::StandIn,
                "required",
                "this field is required".to_owned(),
            )
        } else {
            (
                Fix::StandIn,
                "invalid_type",
                domain::error::serde_expectation(&message),
            )
        };
        let field = Segment::display(&at);
        let attempt = match tried.iter_mut().find(|(p, _)| *p == field) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                tried.push((field.clone(), 0));
                0
            }
        };
        if !stand_ins.iter().any(|s| under(&field, s)) {
            errors.push(FieldError {
                field: field.clone(),
                code,
                message: text,
            });
        }
        let applied = match fix {
            Fix::Remove => remove(&mut doc, &at),
            Fix::StandIn => STAND_INS
                .get(attempt)
                .is_some_and(|v| replace(&mut doc, &at, v.clone())),
        };
        if matches!(fix, Fix::StandIn) && !stand_ins.contains(&field) {
            stand_ins.push(field);
        }
        if !applied || errors.len() >= MAX_FIELD_ERRORS {
            return Err(ApiError::Validation(capped(errors)));
        }
    }
    errors.push(too_many());
    Err(ApiError::Validation(errors))
}

/// Passes over one body at most, and bytes read again over all passes.
const MAX_PASSES: usize = 4 * MAX_FIELD_ERRORS;
const MAX_REREAD_BYTES: usize = 64 * 1024 * 1024;

fn too_many() -> FieldError {
    FieldError {
        field: String::new(),
        code: "too_many_errors",
        message: format!("only the first {MAX_FIELD_ERRORS} problems are listed"),
    }
}

/// At most [`MAX_FIELD_ERRORS`], then `too_many_errors`.
fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    if errors.len() >= MAX_FIELD_ERRORS {
        errors.truncate(MAX_FIELD_ERRORS);
        errors.push(too_many());
    }
    errors
}

impl<T> Form<T> {
    /// Runs `rules` on the value read and answers every problem at once: the shape's, then the
    /// rules' (but for fields that were stood in for). On success, the value and what the rules
    /// made of it.
    pub fn validate<U>(
        self,
        rules: impl FnOnce(&T) -> Result<U, Vec<FieldError>>,
    ) -> Result<(T, U), ApiError> {
        let Form {
            value,
            mut errors,
            stand_ins,
        } = self;
        match rules(&value) {
            Ok(u) if errors.is_empty() => Ok((value, u)),
            Ok(_) => Err(ApiError::Validation(errors)),
            Err(found) => {
                errors.extend(
                    found
                        .into_iter()
                        .filter(|e| !stand_ins.iter().any(|s| under(&e.field, s))),
                );
                if errors.len() > MAX_FIELD_ERRORS {
                    errors = capped(errors);
                }
                Err(ApiError::Validation(errors))
            }
        }
    }
}

/// What a stand-in may be, tried in turn until the field reads.
static STAND_INS: std::sync::LazyLock<[Value; 6]> = std::sync::LazyLock::new(|| {
    [
        Value::String(String::new()),
        Value::from(0),
        Value::Bool(false),
        Value::Object(Map::new()),
        Value::Array(Vec::new()),
        Value::Null,
    ]
});

enum Fix {
    Remove,
    StandIn,
}

#[derive(Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    fn of(s: &serde_path_to_error::Segment) -> Option<Segment> {
        match s {
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            _ => None,
        }
    }

    /// `records[3].dob`, as the rules name fields.
    fn display(path: &[Segment]) -> String {
        let mut s = String::new();
        for seg in path {
            match seg {
                Segment::Key(k) if s.is_empty() => s.push_str(k),
                Segment::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

/// True when `field` is `parent` or inside it.
fn under(field: &str, parent: &str) -> bool {
    field == parent
        || field
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn parent_of<'a>(doc: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Segment::Key(k) => v.as_object_mut()?.get_mut(k),
        Segment::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

fn remove(doc: &mut Value, path: &[Segment]) -> bool {
    let Some((Segment::Key(last), parent)) = path.split_last() else {
        return false;
    };
    parent_of(doc, parent)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.shift_remove(last))
        .is_some()
}

fn replace(doc: &mut Value, path: &[Segment], with: Value) -> bool {
    match path.split_last() {
        None => false,
        Some((Segment::Key(last), parent)) => {
            match parent_of(doc, parent).and_then(Value::as_object_mut) {
                Some(m) => {
                    m.insert(last.clone(), with);
                    true
                }
                None => false,
            }
        }
        Some((Segment::Index(i), parent)) => {
            match parent_of(doc, parent)
                .and_then(Value::as_array_mut)
                .and_then(|a| a.get_mut(*i))
            {
                Some(slot) => {
                    *slot = with;
                    true
                }
                None => false,
            }
        }
    }
}

/// The digest an idempotency key is held to: of the body's canonical JSON (object keys sorted, no
/// whitespace), so a retry that re-serialises the same request with other spacing or key order is
/// the same request, as payment APIs compare parameters rather than bytes. Keyed (HMAC with the
/// token key), because a body may carry an Aadhaar number. A body that is not JSON is taken as sent.
pub fn request_hash(body: &[u8], key: &domain::TokenKey) -> String {
    let canonical = match parse_strict_value(body) {
        Ok(v) => {
            let mut out = String::with_capacity(body.len());
            canonical_json(&v, &mut out);
            out.into_bytes()
        }
        Err(_) => body.to_vec(),
    };
    key.request_digest(&canonical)
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
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

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        n: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        #[allow(dead_code)]
        inner: Inner,
        #[allow(dead_code)]
        list: Vec<Inner>,
        #[allow(dead_code)]
        maybe: Option<Inner>,
    }

    fn shape(body: &str) -> Vec<(String, &'static str)> {
        let rule = |o: &Outer| -> Result<(), Vec<FieldError>> {
            if o.name.is_empty() {
                Err(vec![domain::Invalid::new("required", "x").at("name")])
            } else {
                Ok(())
            }
        };
        match parse_form::<Outer>(body.as_bytes()).and_then(|f| f.validate(rule)) {
            Ok(_) => vec![],
            Err(ApiError::Validation(errs)) => {
                errs.into_iter().map(|e| (e.field, e.code)).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_form_reports_every_problem_of_its_shape_once() {
        assert_eq!(
            shape(r#"{"name": "a", "inner": {"n": 1}, "list": []}"#),
            vec![]
        );
        let mut found = shape(
            r#"{"inner": {"n": "x", "m": 1}, "list": [{"n": 1}, {}, {"n": -1}], "maybe": 3, "z": 0}"#,
        );
        found.sort();
        assert_eq!(
            found,
            [
                ("inner.m".to_owned(), "unknown_field"),
                ("inner.n".to_owned(), "invalid_type"),
                ("list[1].n".to_owned(), "required"),
                ("list[2].n".to_owned(), "invalid_type"),
                ("maybe".to_owned(), "invalid_type"),
                ("name".to_owned(), "required"),
                ("z".to_owned(), "unknown_field"),
            ]
        );
        // A missing object is one error, not one per field inside it; a rule's finding about a
        // stand-in is not reported (the `name` rule would say `required` twice).
        assert_eq!(
            shape(r#"{"list": []}"#),
            [
                ("name".to_owned(), "required"),
                ("inner".to_owned(), "required")
            ]
        );
        // Not an object at all: one error, at the top.
        assert_eq!(shape("[]"), [(String::new(), "invalid_type")]);
    }

    #[test]
    fn a_body_costs_a_bounded_number_of_passes_and_answers_a_bounded_list() {
        // Thousands of silent problems under stand-ins (a missing object per element) end the
        // search after MAX_PASSES passes, with the list marked as cut.
        let many = format!(
            r#"{{"name": "a", "inner": {{"n": 1}}, "list": [{}]}}"#,
            vec![r#"{"n": "x"}"#; 5_000].join(",")
        );
        match parse_form::<Outer>(many.as_bytes()) {
            Err(ApiError::Validation(errs)) => {
                assert!(errs.len() <= MAX_FIELD_ERRORS + 1);
                assert_eq!(errs.last().unwrap().code, "too_many_errors");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        // The rules' findings are capped too.
        let form = parse_form::<Outer>(br#"{"name": "a", "inner": {"n": 1}, "list": []}"#).unwrap();
        let found = (0..500)
            .map(|i| domain::Invalid::new("x", "y").at(format!("f{i}")))
            .collect();
        match form.validate(|_| -> Result<(), Vec<FieldError>> { Err(found) }) {
            Err(ApiError::Validation(errs)) => {
                assert_eq!(errs.len(), MAX_FIELD_ERRORS + 1);
                assert_eq!(errs[MAX_FIELD_ERRORS].code, "too_many_errors");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn the_same_request_reserialised_hashes_the_same() {
        let key = domain::TokenKey::new(&[7u8; 32]).unwrap();
        let h = |body: &[u8]| request_hash(body, &key);
        let a = h(br#"{"b": [1, {"y": 2, "x": "\u00e9"}], "a": null}"#);
        let b = h("{\"a\":null,\"b\":[1,{\"x\":\"é\",\"y\":2}]}".as_bytes());
        assert_eq!(a, b);
        assert_ne!(
            a,
            h(r#"{"a": null, "b": [{"x": "é", "y": 2}, 1]}"#.as_bytes())
        );
        assert_ne!(a, h(r#"{"a": 0, "b": [1, {"x": "é", "y": 2}]}"#.as_bytes()));
        // Keyed: without the key, the digest cannot be recomputed from a guessed body.
        let other = domain::TokenKey::new(&[8u8; 32]).unwrap();
        assert_ne!(
            a,
            request_hash(br#"{"a": null, "b": [1, {"x": "\u00e9", "y": 2}]}"#, &other)
        );
    }

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
