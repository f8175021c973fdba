//! How a request proves who sends it: an API key header (or several, as API Setu wants), OAuth2
//! client credentials with the token cached until shortly before it expires, or an HMAC-SHA256
//! signature over the method, path, timestamp and body.

use std::collections::BTreeMap;

use aws_lc_rs::{digest, hmac};
use domain::crypto::{hex, unhex};
use serde::Deserialize;

#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum AuthConfig {
    #[default]
    None,
    /// Fixed headers, e.g. `X-API-Key`, or `X-APISETU-APIKEY` with `X-APISETU-CLIENTID`.
    ApiKey { headers: BTreeMap<String, String> },
    /// RFC 6749 client credentials; `token_url` may be relative to the upstream's base URL.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scope: String,
    },
    /// `X-Key-Id`, `X-Timestamp` and `X-Signature` = hex HMAC-SHA256 of [`string_to_sign`].
    Hmac { key_id: String, secret: String },
}

// Keys and secrets never reach a log line through `{:?}` of the settings.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::None => f.write_str("None"),
            AuthConfig::ApiKey { headers } => f
                .debug_struct("ApiKey")
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .finish_non_exhaustive(),
            AuthConfig::Oauth2 {
                token_url,
                client_id,
                ..
            } => f
                .debug_struct("Oauth2")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            AuthConfig::Hmac { key_id, .. } => f
                .debug_struct("Hmac")
                .field("key_id", key_id)
                .finish_non_exhaustive(),
        }
    }
}

/// What an HMAC signature covers: method, path with query, Unix time, SHA-256 of the body.
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "{method}\n{path_and_query}\n{timestamp}\n{}",
        hex(digest::digest(&digest::SHA256, body).as_ref())
    )
}

/// The hex HMAC-SHA256 of `message` under `secret`.
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex(hmac::sign(&key, message.as_bytes()).as_ref())
}

/// Checks a hex signature in constant time.
pub fn hmac_verify(secret: &str, message: &str, signature_hex: &str) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    match unhex(signature_hex) {
        Some(sig) => hmac::verify(&key, message.as_bytes(), &sig).is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let a = AuthConfig::Oauth2 {
            token_url: "/t".into(),
            client_id: "c".into(),
            client_secret: "topsecret".into(),
            scope: String::new(),
        };
        let h = AuthConfig::Hmac {
            key_id: "k".into(),
            secret: "topsecret".into(),
        };
        let k = AuthConfig::ApiKey {
            headers: [("X-API-Key".to_string(), "topsecret".to_string())].into(),
        };
        for c in [a, h, k] {
            assert!(!format!("{c:?}").contains("topsecret"));
        }
    }

    #[test]
    fn signatures_verify_and_bind_every_part() {
        let m = string_to_sign("GET", "/pmjay/v2/x?cursor=a", 1_700_000_000, b"");
        let sig = hmac_hex("s3cret", &m);
        assert!(hmac_verify("s3cret", &m, &sig));
        assert!(!hmac_verify("other", &m, &sig));
        let m2 = string_to_sign("GET", "/pmjay/v2/x?cursor=b", 1_700_000_000, b"");
        assert!(!hmac_verify("s3cret", &m2, &sig));
        assert!(!hmac_verify("s3cret", &m, "zz"));
    }
}
