//! Tokens of external identity providers (Keycloak and the like): keys from each issuer's JWKS URL,
//! cached, re-fetched on an unknown key id at most every `refetch_min_secs`, and served from the
//! cache while the provider is down. The same claim checks as for our own tokens: signature with an
//! allowed asymmetric algorithm fixed by the key, `iss`, `aud`, `exp`, and `nbf` when present.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::caller::Caller;
use crate::config::ExternalIssuer;

const MAX_JWKS_BYTES: usize = 256 * 1024;

struct Cache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

struct Issuer {
    cfg: ExternalIssuer,
    allowed: Vec<Algorithm>,
    cache: RwLock<Cache>,
    fetching: tokio::sync::Mutex<()>,
}

pub struct ExternalIssuers {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    leeway: u64,
}

impl ExternalIssuers {
    pub fn new(cfgs: &[ExternalIssuer], leeway: u64) -> anyhow::Result<ExternalIssuers> {
        let issuers = cfgs
            .iter()
            .map(|cfg| {
                let allowed = cfg
                    .algorithms
                    .iter()
                    .map(|a| {
                        a.parse::<Algorithm>()
                            .map_err(|_| anyhow::anyhow!("{}: unknown algorithm {a}", cfg.issuer))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(Issuer {
                    cfg: cfg.clone(),
                    allowed,
                    cache: RwLock::new(Cache {
                        keys: HashMap::new(),
                        fetched: None,
                        attempted: None,
                    }),
                    fetching: tokio::sync::Mutex::new(()),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(ExternalIssuers {
            issuers,
            http,
            leeway,
        })
    }

    /// Whether `iss` is one of the configured providers.
    pub fn handles(&self, iss: &str) -> bool {
        self.issuers.iter().any(|i| i.cfg.issuer == iss)
    }

    /// Verifies a token of the provider `iss`.
    pub async fn verify(&self, iss: &str, token: &str) -> Result<Caller, &'static str> {
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.cfg.issuer == iss)
            .ok_or("unknown issuer")?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        let kid = header.kid.ok_or("token has no key id")?;
        let (key, alg) = self.key(issuer, &kid).await.ok_or("unknown key id")?;
        if header.alg != alg {
            return Err("algorithm not allowed");
        }
        let mut v = Validation::new(alg);
        v.set_issuer(&[&issuer.cfg.issuer]);
        v.set_audience(&[&issuer.cfg.audience]);
        v.validate_nbf = true;
        v.leeway = self.leeway;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &v)
            .map_err(|e| crate::caller::rejection_reason(&e))?;
        let c = data.claims;
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        // Namespaced by the issuer: an external `bihar-portal` is not our client of that name (its
        // own rate bucket, its own audit identity).
        let client_id = text(&issuer.cfg.client_id_claim)
            .or_else(|| text("sub"))
            .map(|id| format!("{}|{id}", issuer.cfg.issuer))
            .ok_or("no client id claim")?;
        let states = match c.get("states") {
            // A missing claim never means every state, unless the issuer is configured so.
            None | Some(Value::Null) if issuer.cfg.all_states => None,
            None | Some(Value::Null) => return Err("states claim required"),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("states must be a list of LGD codes")?,
            ),
            Some(_) => return Err("states must be a list of LGD codes"),
        };
        Ok(Caller {
            client_id,
            jti: text("jti"),
            scopes: text("scope")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            states,
            purpose: match text("purpose") {
                None => issuer.cfg.default_purpose.clone(),
                Some(p) if issuer.cfg.purposes.contains(&p) => p,
                Some(_) => return Err("purpose not allowed for this issuer"),
            },
        })
    }

    async fn key(&self, issuer: &Issuer, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let lookup = || {
            issuer
                .cache
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .keys
                .get(kid)
                .cloned()
        };
        let (stale, may_fetch) = {
            let c = issuer.cache.read().unwrap_or_else(|e| e.into_inner());
            let stale = c
                .fetched
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(issuer.cfg.jwks_cache_secs));
            let may = c
                .attempted
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(issuer.cfg.refetch_min_secs));
            (stale, may)
        };
        let found = lookup();
        if (found.is_none() || stale) && may_fetch {
            let _one_at_a_time = issuer.fetching.lock().await;
            self.fetch(issuer).await;
            return lookup();
        }
        found
    }

    /// Fetches the provider's keys; on failure the cached ones stay.
    async fn fetch(&self, issuer: &Issuer) {
        issuer
            .cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .attempted = Some(Instant::now());
        let keys = match self.download(&issuer.cfg.jwks_url).await {
            Ok(set) => usable_keys(&set, &issuer.allowed),
            Err(e) => {
                tracing::warn!(error = %e, issuer = %issuer.cfg.issuer, "JWKS fetch failed; keeping cached keys.");
                return;
            }
        };
        let mut c = issuer.cache.write().unwrap_or_else(|e| e.into_inner());
        c.keys = keys;
        c.fetched = Some(Instant::now());
    }

    async fn download(&self, url: &str) -> anyhow::Result<JwkSet> {
        let mut res = self.http.get(url).send().await?.error_for_status()?;
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                anyhow::bail!("JWKS larger than {MAX_JWKS_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

/// Signing keys with a key id and an allowed algorithm (from the key's `alg`, else its type).
fn usable_keys(set: &JwkSet, allowed: &[Algorithm]) -> HashMap<String, (DecodingKey, Algorithm)> {
    let mut out = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
        {
            continue;
        }
        let alg = match jwk
            .common
            .key_algorithm
            .and_then(|a| a.to_string().parse::<Algorithm>().ok())
        {
            Some(a) => a,
            None => match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                    Algorithm::ES384
                }
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                _ => continue,
            },
        };
        if !allowed.contains(&alg) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            out.insert(kid, (key, alg));
        }
    }
    out
}

/// The `iss` claim of a token, read without verifying it, to choose who verifies it.
pub fn peek_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}
