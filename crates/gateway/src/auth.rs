//! Bearer tokens: issuing (Ed25519-signed JWTs) and verifying per RFC 8725, with their keys, and
//! client secrets. The extractor that uses them on requests is `authorize`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::caller::{Caller, rejection_reason};
use crate::keys::SigningKey;

/// Claims of the tokens this gateway signs.
#[derive(Debug, Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    states: Option<&'a [String]>,
    purpose: &'a str,
}

/// What the API reads from a verified token (`iss`, `aud`, `exp`, `nbf` are checked by the library).
#[derive(Debug, Deserialize)]
struct VerifiedClaims {
    sub: String,
    exp: u64,
    nbf: u64,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    states: Option<Vec<String>>,
    #[serde(default)]
    purpose: Option<String>,
}

/// Signs tokens and verifies them. One `Validation` per key, built from the key's own algorithm:
/// the token's `alg` header never chooses. The keys come from the keys directory and are reloaded
/// when a token names a key id not yet known (another process rotated) and every 30 s, so a
/// `shramsetu keys rotate` takes effect without a restart.
pub struct Tokens {
    issuer: String,
    audience: String,
    default_ttl: u64,
    leeway: u64,
    /// Longest lifetime any token of ours may have: how long a retired key stays published.
    max_ttl: u64,
    keys_dir: Option<PathBuf>,
    keys: RwLock<KeySet>,
    /// When the keys were last read, and the directory's modification time then.
    last_load: Mutex<(Instant, Vec<String>)>,
    /// Tokens already verified, by SHA-256 of the token, until they expire: repeat callers skip the
    /// signature check (about 40 µs of CPU each).
    verified: RwLock<HashMap<[u8; 32], Verified>>,
}

/// The signing key and every key still trusted for verification.
struct KeySet {
    signing_kid: String,
    encoding: EncodingKey,
    verifying: HashMap<String, (DecodingKey, Validation)>,
    jwks: serde_json::Value,
}

struct Verified {
    caller: Caller,
    /// The key that signed it: a cached token dies with its key.
    kid: String,
    nbf: u64,
    exp: u64,
}

/// Every scope the gateway knows. Tokens asking for others are refused at issue time.
pub const SCOPES: &[&str] = &[
    "workers:read",
    "workers:write",
    "workers:verify",
    "workers:match",
    "schemes:read",
    "schemes:enrol",
    "schemes:sync",
    "reviews:read",
    "reviews:write",
    "batches:write",
    "reports:read",
    "reports:worklist",
    "audit:read",
];

/// The purpose of tokens that do not name one: every field (Aadhaar masked as always).
pub const DEFAULT_PURPOSE: &str = "operations";

/// Bound on the verified-token cache; when full it is emptied (simple, and refilled at once).
const VERIFIED_CACHE_MAX: usize = 100_000;
/// How often keys are re-read from the directory even when no file was added.
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The key files present, by name: a new key is a new file. (Names, not the directory's
/// modification time, whose granularity some file systems make a whole second.)
fn key_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("signing-"))
        .collect();
    names.sort();
    names
}

impl Tokens {
    /// Tokens signed with `key` alone (tests, tools).
    pub fn new(
        key: &SigningKey,
        issuer: &str,
        audience: &str,
        default_ttl: u64,
        leeway: u64,
    ) -> anyhow::Result<Tokens> {
        let set = KeySet::build(std::slice::from_ref(key), issuer, audience, leeway)?;
        Ok(Tokens::with_keys(
            set,
            None,
            issuer,
            audience,
            default_ttl,
            leeway,
            default_ttl,
        ))
    }

    /// Tokens backed by the keys directory: the newest signing key signs; older ones verify until
    /// every token they signed has expired.
    pub fn from_dir(
        dir: &Path,
        issuer: &str,
        audience: &str,
        default_ttl: u64,
        leeway: u64,
        max_ttl: u64,
    ) -> anyhow::Result<Tokens> {
        let keys = crate::keys::trusted_signing_keys(dir, max_ttl + leeway)?;
        let set = KeySet::build(&keys, issuer, audience, leeway)?;
        Ok(Tokens::with_keys(
            set,
            Some(dir.to_owned()),
            issuer,
            audience,
            default_ttl,
            leeway,
            max_ttl,
        ))
    }

    fn with_keys(
        set: KeySet,
        keys_dir: Option<PathBuf>,
        issuer: &str,
        audience: &str,
        default_ttl: u64,
        leeway: u64,
        max_ttl: u64,
    ) -> Tokens {
        let loaded_files = keys_dir.as_deref().map(key_files).unwrap_or_default();
        Tokens {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            default_ttl,
            leeway,
            max_ttl,
            keys_dir,
            keys: RwLock::new(set),
            last_load: Mutex::new((Instant::now(), loaded_files)),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// Re-reads the keys directory now.
    pub fn reload(&self) {
        let Some(dir) = &self.keys_dir else { return };
        *self.last_load.lock().unwrap_or_else(|e| e.into_inner()) =
            (Instant::now(), key_files(dir));
        let loaded = crate::keys::trusted_signing_keys(dir, self.max_ttl + self.leeway)
            .and_then(|keys| KeySet::build(&keys, &self.issuer, &self.audience, self.leeway));
        match loaded {
            Ok(set) => *self.keys.write().unwrap_or_else(|e| e.into_inner()) = set,
            Err(e) => {
                tracing::error!(error = %e, "Reloading the signing keys failed; keeping the loaded ones.")
            }
        }
    }

    /// Reloads when a key file was added since the last load, or when the
    /// last load is older than 30 s (keys retire with time).
    fn refresh(&self) {
        let Some(dir) = &self.keys_dir else { return };
        let stale = {
            let last = self.last_load.lock().unwrap_or_else(|e| e.into_inner());
            last.0.elapsed() >= RELOAD_EVERY || key_files(dir) != last.1
        };
        if stale {
            self.reload();
        }
    }

    pub fn default_ttl(&self) -> u64 {
        self.default_ttl
    }

    pub fn max_ttl(&self) -> u64 {
        self.max_ttl
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        self.refresh();
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .jwks
            .clone()
    }

    /// A signed access token. `now` is seconds since the Unix epoch.
    pub fn issue(
        &self,
        client_id: &str,
        scopes: &[String],
        states: Option<&[String]>,
        purpose: &str,
        ttl: u64,
        now: u64,
    ) -> anyhow::Result<String> {
        self.refresh();
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some("at+jwt".into());
        let claims = IssuedClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: client_id,
            client_id,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scopes.join(" "),
            states,
            purpose,
        };
        Ok(jsonwebtoken::encode(&header, &claims, &keys.encoding)?)
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp` and `nbf`, using the cache of tokens already
    /// verified (whose time window is still checked on every use). The reason is for the
    /// `WWW-Authenticate` header and never repeats the token.
    pub fn verify(&self, token: &str) -> Result<Caller, &'static str> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// As [`Tokens::verify`], with a cached token's time window checked at `now` (seconds since
    /// the epoch). A token not yet cached is checked by the JWT library on the system clock.
    fn verify_at(&self, token: &str, now: u64) -> Result<Caller, &'static str> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        if let Some(v) = self
            .verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if now > v.exp + self.leeway {
                return Err("token expired");
            }
            if now + self.leeway < v.nbf {
                return Err("token not yet valid");
            }
            if !self
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .verifying
                .contains_key(&v.kid)
            {
                return Err("unknown key id");
            }
            return Ok(v.caller.clone());
        }
        let (caller, kid, nbf, exp) = self.verify_signed(token)?;
        let mut cache = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= VERIFIED_CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            key,
            Verified {
                caller: caller.clone(),
                kid,
                nbf,
                exp,
            },
        );
        Ok(caller)
    }

    /// The full check without the cache (for measuring its cost).
    pub fn verify_uncached(&self, token: &str) -> Result<Caller, &'static str> {
        self.verify_signed(token).map(|(caller, ..)| caller)
    }

    fn verify_signed(&self, token: &str) -> Result<(Caller, String, u64, u64), &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        let kid = header.kid.ok_or("token has no key id")?;
        if !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verifying
            .contains_key(&kid)
        {
            // Perhaps rotated by another process since we last looked.
            self.refresh();
        }
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let (key, validation) = keys.verifying.get(&kid).ok_or("unknown key id")?;
        if header.alg != Algorithm::EdDSA {
            return Err("algorithm not allowed");
        }
        // RFC 9068 access tokens: an ID token or another JWT of ours is not an access token.
        if header.typ.as_deref() != Some("at+jwt") {
            return Err("not an access token (typ must be at+jwt)");
        }
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, key, validation)
            .map_err(|e| rejection_reason(&e))?;
        let c = data.claims;
        let caller = Caller {
            client_id: c.client_id.unwrap_or(c.sub),
            jti: c.jti,
            scopes: c.scope.split_whitespace().map(str::to_owned).collect(),
            states: c.states,
            purpose: c.purpose.unwrap_or_else(|| DEFAULT_PURPOSE.to_owned()),
        };
        Ok((caller, kid.clone(), c.nbf, c.exp))
    }
}

impl KeySet {
    /// `keys` oldest first; the last one signs.
    fn build(
        keys: &[SigningKey],
        issuer: &str,
        audience: &str,
        leeway: u64,
    ) -> anyhow::Result<KeySet> {
        let active = keys
            .last()
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for key in keys {
            let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(&key.public))?;
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.validate_nbf = true;
            validation.validate_exp = true;
            validation.leeway = leeway;
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            verifying.insert(key.kid.clone(), (decoding, validation));
            jwks.push(key.jwk());
        }
        Ok(KeySet {
            signing_kid: active.kid.clone(),
            encoding: EncodingKey::from_ed_der(&active.pkcs8_der),
            verifying,
            jwks: serde_json::json!({ "keys": jwks }),
        })
    }
}

/// A new client secret: 256 random bits, shown once, stored only as its SHA-256.
pub fn new_client_secret() -> anyhow::Result<String> {
    Ok(format!(
        "sss_{}",
        URL_SAFE_NO_PAD.encode(crate::keys::random_bytes::<32>()?)
    ))
}

/// Client secrets are 256-bit random values, so a fast hash suffices (as for API tokens): there is
/// nothing to brute-force that a slow password hash would protect.
pub fn hash_client_secret(secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    let h = hash_client_secret(secret);
    aws_lc_rs::constant_time::verify_slices_are_equal(h.as_bytes(), stored_hash.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let dir = std::env::temp_dir().join(format!("ss-keys-{}", uuid::Uuid::new_v4()));
        let keys = crate::keys::Keys::load_or_create(&dir).unwrap();
        Tokens::new(&keys.signing, "https://iss", "api", 900, 0).unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn issued_tokens_verify_and_carry_claims() {
        let t = tokens();
        let states = vec!["10".to_owned()];
        let jwt = t
            .issue(
                "bihar-portal",
                &["workers:read".into()],
                Some(&states),
                "verification",
                60,
                now(),
            )
            .unwrap();
        let c = t.verify(&jwt).unwrap();
        assert_eq!(c.client_id, "bihar-portal");
        assert!(c.has_scope("workers:read") && !c.has_scope("workers:write"));
        assert!(c.may_see_state("10") && !c.may_see_state("09"));
        assert_eq!(c.purpose, "verification");
    }

    #[test]
    fn expired_future_and_tampered_tokens_fail() {
        let t = tokens();
        let old = t
            .issue("c", &[], None, "operations", 60, now() - 3600)
            .unwrap();
        assert_eq!(t.verify(&old).unwrap_err(), "token expired");
        let future = t
            .issue("c", &[], None, "operations", 60, now() + 3600)
            .unwrap();
        assert_eq!(t.verify(&future).unwrap_err(), "token not yet valid");
        let good = t.issue("c", &[], None, "operations", 60, now()).unwrap();
        let mut bytes = good.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(t.verify(&String::from_utf8(bytes).unwrap()).is_err());
        // Another key pair's token, even with the same claims, fails.
        assert!(
            tokens()
                .verify(&t.issue("c", &[], None, "operations", 60, now()).unwrap())
                .is_err()
        );
    }

    #[test]
    fn a_cached_token_still_expires() {
        let t = tokens();
        let issued = now();
        let jwt = t.issue("c", &[], None, "operations", 2, issued).unwrap();
        assert!(t.verify(&jwt).is_ok(), "valid for two seconds");
        assert!(t.verify(&jwt).is_ok(), "now from the cache");
        let last_valid = issued + 2 + t.leeway;
        assert!(
            t.verify_at(&jwt, last_valid).is_ok(),
            "the cache keeps the leeway"
        );
        assert_eq!(
            t.verify_at(&jwt, last_valid + 1).unwrap_err(),
            "token expired"
        );
        assert_eq!(
            t.verified.read().unwrap().len(),
            1,
            "the rejection came from the cache"
        );
    }

    #[test]
    fn client_secret_hash_matches_only_itself() {
        let s = new_client_secret().unwrap();
        let h = hash_client_secret(&s);
        assert!(secret_matches(&s, &h));
        assert!(!secret_matches(&format!("{s}x"), &h));
        assert!(!h.contains(&s));
    }
}
