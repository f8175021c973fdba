//! [`Upstream`]: the HTTP client of one scheme system. Every call passes the circuit breaker and
//! the rate limit, carries the configured auth, and is retried with full-jitter exponential backoff
//! (or after the upstream's `Retry-After`) when it is idempotent and failed with a timeout, a
//! connection error, a 5xx or a 429. Nothing else is retried: a 4xx is the caller's to handle.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::auth::{self, AuthConfig};
use crate::breaker::{Breaker, CircuitState};
use crate::error::AdapterError;

/// One upstream's address, limits and credentials (`[schemes.<id>]` in the gateway's config).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct UpstreamConfig {
    /// e.g. `https://ncs.example.gov.in/api`; paths are appended to it.
    pub base_url: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Retries after the first attempt, for idempotent calls only.
    pub max_retries: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// A `Retry-After` longer than this is not waited for: the call fails as rate limited.
    pub max_retry_after_ms: u64,
    /// Consecutive outages (timeouts, connection errors, 5xx) that open the circuit.
    pub breaker_failures: u32,
    pub breaker_cooldown_ms: u64,
    pub rate_limit_rps: u32,
    pub auth: AuthConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            base_url: String::new(),
            connect_timeout_ms: 2_000,
            request_timeout_ms: 15_000,
            max_retries: 4,
            backoff_base_ms: 100,
            backoff_max_ms: 5_000,
            max_retry_after_ms: 30_000,
            breaker_failures: 8,
            breaker_cooldown_ms: 15_000,
            rate_limit_rps: 50,
            auth: AuthConfig::None,
        }
    }
}

/// A request, relative to the upstream's base URL.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: reqwest::Method,
    /// Path and query, starting with `/`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
    /// Safe to send twice: reads, and writes the upstream de-duplicates by idempotency key.
    pub idempotent: bool,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: reqwest::Method::GET,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            idempotent: true,
        }
    }

    /// A JSON POST; not retried unless marked idempotent.
    pub fn post_json(path: impl Into<String>, body: &impl Serialize) -> Call {
        Call {
            method: reqwest::Method::POST,
            path: path.into(),
            headers: Vec::new(),
            body: Some((
                "application/json".into(),
                serde_json::to_vec(body).unwrap_or_default(),
            )),
            idempotent: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Call {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Marks the call safe to retry because it carries this idempotency key.
    pub fn idempotency_key(mut self, key: &str) -> Call {
        self.headers
            .push(("Idempotency-Key".into(), key.to_owned()));
        self.idempotent = true;
        self
    }
}

/// An answer that was neither retried away nor an outage: 2xx, or a 4xx for the adapter to read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses a JSON body, or says what was wrong with it (without quoting it).
    pub fn json<T: serde::de::DeserializeOwned>(&self, upstream: &str) -> Result<T, AdapterError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| AdapterError::malformed(upstream, json_error(&e)))
    }

    /// The receipt in a JSON answer: the reference under `reference_key`, the status, and the
    /// `terms` keys present. An answer without a reference is malformed.
    pub fn receipt(
        &self,
        upstream: &str,
        reference_key: &str,
        terms: &[&str],
    ) -> Result<crate::PushReceipt, AdapterError> {
        let v: serde_json::Map<String, serde_json::Value> = self.json(upstream)?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let reference = text(reference_key);
        if reference.is_empty() {
            return Err(AdapterError::malformed(
                upstream,
                format!("the answer has no {reference_key}"),
            ));
        }
        Ok(crate::PushReceipt {
            reference,
            status: text("status").to_lowercase(),
            terms: terms
                .iter()
                .filter_map(|k| v.get(*k).map(|x| ((*k).to_owned(), x.clone())))
                .collect(),
        })
    }

    /// The error for a non-2xx answer: 401 and 403 are auth failures, the rest a status error. The
    /// detail names the status, the body's length and its error code if it has a short one: never
    /// the body itself, which may hold a person's data.
    pub fn error(&self, upstream: &str) -> AdapterError {
        let detail = format!(
            "{} bytes{}",
            self.body.len(),
            error_code(&self.body)
                .map(|c| format!(", code {c}"))
                .unwrap_or_default()
        );
        match self.status {
            401 | 403 => AdapterError::Auth {
                upstream: upstream.to_owned(),
                detail,
            },
            status => AdapterError::Status {
                upstream: upstream.to_owned(),
                status,
                detail,
            },
        }
    }
}

/// What `GET /v1/schemes` shows about an upstream.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub circuit: CircuitState,
    pub consecutive_failures: u32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Requests sent, retries included.
    pub requests: u64,
}

#[derive(Debug, Default)]
struct Outcomes {
    last_success_at: Option<DateTime<Utc>>,
    last_failure_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    requests: u64,
}

/// The HTTP client of one upstream. Cheap to share behind an `Arc`.
pub struct Upstream {
    name: String,
    config: UpstreamConfig,
    http: reqwest::Client,
    breaker: Mutex<Breaker>,
    limiter: DefaultDirectRateLimiter,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    outcomes: Mutex<Outcomes>,
}

impl Upstream {
    pub fn new(name: &str, config: UpstreamConfig) -> Result<Upstream, AdapterError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shramsetu/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AdapterError::Connect {
                upstream: name.to_owned(),
                detail: e.to_string(),
            })?;
        let rps = NonZeroU32::new(config.rate_limit_rps).unwrap_or(NonZeroU32::MIN);
        Ok(Upstream {
            name: name.to_owned(),
            breaker: Mutex::new(Breaker::new(
                config.breaker_failures,
                Duration::from_millis(config.breaker_cooldown_ms),
            )),
            limiter: RateLimiter::direct(Quota::per_second(rps)),
            token: tokio::sync::Mutex::new(None),
            outcomes: Mutex::new(Outcomes::default()),
            http,
            config,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn health(&self) -> Health {
        let breaker = lock(&self.breaker);
        let o = lock(&self.outcomes);
        Health {
            circuit: breaker.state(Instant::now()),
            consecutive_failures: breaker.consecutive_failures(),
            last_success_at: o.last_success_at,
            last_failure_at: o.last_failure_at,
            last_error: o.last_error.clone(),
            requests: o.requests,
        }
    }

    /// Sends `call` with retries, breaker, rate limit and auth. A 2xx or a 4xx other than 429 is
    /// returned as a [`Reply`]; everything else as an error.
    pub async fn send(&self, call: &Call) -> Result<Reply, AdapterError> {
        let mut attempt = 0u32;
        loop {
            if let Err(retry_in) = lock(&self.breaker).allow(Instant::now()) {
                ::metrics::counter!("scheme_requests_total", "scheme" => self.name.clone(), "outcome" => "circuit_open").increment(1);
                return Err(AdapterError::CircuitOpen {
                    upstream: self.name.clone(),
                    retry_in,
                });
            }
            self.limiter.until_ready().await;
            let started = Instant::now();
            let result = self.attempt(call).await;
            ::metrics::histogram!("scheme_request_duration_seconds", "scheme" => self.name.clone())
                .record(started.elapsed().as_secs_f64());
            let error = match result {
                Ok(reply) => {
                    self.succeeded();
                    return Ok(reply);
                }
                Err(e) => e,
            };
            self.failed(&error);
            if !(call.idempotent && error.retryable()) || attempt >= self.config.max_retries {
                return Err(error);
            }
            let wait = match &error {
                AdapterError::RateLimited {
                    retry_after: Some(after),
                    ..
                } => {
                    if after.as_millis() as u64 > self.config.max_retry_after_ms {
                        return Err(error);
                    }
                    *after
                }
                _ => self.backoff(attempt),
            };
            tracing::debug!(upstream = %self.name, attempt, wait_ms = wait.as_millis() as u64, error = %error, "Retrying.");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Full jitter: a uniform wait in `[0, min(max, base * 2^attempt)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .config
            .backoff_base_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.config.backoff_max_ms);
        Duration::from_millis(rand::rng().random_range(0..=cap))
    }

    fn succeeded(&self) {
        ::metrics::counter!("scheme_requests_total", "scheme" => self.name.clone(), "outcome" => "answered").increment(1);
        ::metrics::gauge!("scheme_circuit_open", "scheme" => self.name.clone()).set(0.0);
        lock(&self.breaker).success();
        let mut o = lock(&self.outcomes);
        o.last_success_at = Some(Utc::now());
        o.requests += 1;
    }

    fn failed(&self, error: &AdapterError) {
        ::metrics::counter!("scheme_requests_total", "scheme" => self.name.clone(), "outcome" => error.kind()).increment(1);
        if error.is_outage() {
            let mut breaker = lock(&self.breaker);
            breaker.failure(Instant::now());
            let open = breaker.state(Instant::now()) == CircuitState::Open;
            ::metrics::gauge!("scheme_circuit_open", "scheme" => self.name.clone()).set(if open {
                1.0
            } else {
                0.0
            });
        } else {
            // A 429 or a refusal of our credentials still proves the upstream is up.
            lock(&self.breaker).success();
        }
        let mut o = lock(&self.outcomes);
        o.last_failure_at = Some(Utc::now());
        o.last_error = Some(error.to_string());
        o.requests += 1;
    }

    /// One request. A 401 under OAuth2 drops the cached token and tries once more with a new one.
    async fn attempt(&self, call: &Call) -> Result<Reply, AdapterError> {
        let reply = self.attempt_once(call).await?;
        if reply.status == 401 && matches!(self.config.auth, AuthConfig::Oauth2 { .. }) {
            *self.token.lock().await = None;
            return self.attempt_once(call).await;
        }
        Ok(reply)
    }

    async fn attempt_once(&self, call: &Call) -> Result<Reply, AdapterError> {
        let url = format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            call.path
        );
        let mut req = self.http.request(call.method.clone(), &url);
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        let body = call.body.as_ref().map(|(_, b)| b.as_slice()).unwrap_or(&[]);
        if let Some((content_type, bytes)) = &call.body {
            req = req.header("content-type", content_type).body(bytes.clone());
        }
        match &self.config.auth {
            AuthConfig::None => {}
            AuthConfig::ApiKey { headers } => {
                for (k, v) in headers {
                    req = req.header(k, v);
                }
            }
            AuthConfig::Oauth2 { .. } => {
                req = req.bearer_auth(self.access_token().await?);
            }
            AuthConfig::Hmac { key_id, secret } => {
                let path = url_path_and_query(&url);
                let ts = Utc::now().timestamp();
                let sig = auth::hmac_hex(
                    secret,
                    &auth::string_to_sign(call.method.as_str(), &path, ts, body),
                );
                req = req
                    .header("X-Key-Id", key_id)
                    .header("X-Timestamp", ts.to_string())
                    .header("X-Signature", sig);
            }
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        let reply = Reply {
            status,
            headers,
            body,
        };
        match status {
            429 => Err(AdapterError::RateLimited {
                upstream: self.name.clone(),
                retry_after: retry_after(&reply.headers),
            }),
            500.. => Err(reply.error(&self.name)),
            _ => Ok(reply),
        }
    }

    fn transport(&self, e: reqwest::Error) -> AdapterError {
        if e.is_timeout() {
            AdapterError::Timeout {
                upstream: self.name.clone(),
            }
        } else {
            // Includes a body cut short: the whole call is tried again.
            AdapterError::Connect {
                upstream: self.name.clone(),
                detail: error_chain(&e),
            }
        }
    }

    /// The cached OAuth2 access token, fetched again 30 s before it expires. A refused client
    /// (wrong or expired secret) is an auth error and is not retried.
    async fn access_token(&self) -> Result<String, AdapterError> {
        let AuthConfig::Oauth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.config.auth
        else {
            return Err(AdapterError::malformed(
                &self.name,
                "not an OAuth2 upstream",
            ));
        };
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(token.clone());
        }
        let url = if token_url.starts_with("http") {
            token_url.clone()
        } else {
            format!(
                "{}{}",
                self.config.base_url.trim_end_matches('/'),
                token_url
            )
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            expires_in: Option<u64>,
        }
        #[derive(Deserialize)]
        struct TokenError {
            error: String,
            #[serde(default)]
            error_description: String,
        }
        match status {
            200 => {
                let t: TokenAnswer = serde_json::from_slice(&body)
                    .map_err(|e| AdapterError::malformed(&self.name, json_error(&e)))?;
                let life = Duration::from_secs(t.expires_in.unwrap_or(300).saturating_sub(30));
                *cached = Some((t.access_token.clone(), Instant::now() + life));
                Ok(t.access_token)
            }
            400 | 401 | 403 => {
                // RFC 6749 error bodies describe the client, never a person: safe to pass on.
                let detail = match serde_json::from_slice::<TokenError>(&body) {
                    Ok(e) => format!(
                        "token endpoint: {} {}",
                        e.error,
                        e.error_description.chars().take(200).collect::<String>()
                    ),
                    Err(_) => format!("token endpoint answered {status}"),
                };
                Err(AdapterError::Auth {
                    upstream: self.name.clone(),
                    detail: detail.trim().to_owned(),
                })
            }
            429 => Err(AdapterError::RateLimited {
                upstream: self.name.clone(),
                retry_after: None,
            }),
            _ => Err(AdapterError::Status {
                upstream: self.name.clone(),
                status,
                detail: "token endpoint".into(),
            }),
        }
    }
}

/// Where a JSON body failed to parse, without serde's message (it quotes the offending value,
/// which may be a name or a mobile number).
pub fn json_error(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "unexpected fields or types",
        serde_json::error::Category::Eof => "body ends early",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

/// A short machine code from an error body (`error`, `code`): ASCII word characters, 40 at most.
fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["error", "code"].iter().find_map(|k| {
        v.get(*k)
            .and_then(|c| c.as_str())
            .filter(|c| c.len() <= 40 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .map(str::to_owned)
    })
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the schemes we reach).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn url_path_and_query(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::RETRY_AFTER,
            retry_after.parse().expect("header value"),
        );
        h
    }

    #[test]
    fn retry_after_parses_seconds_and_refuses_nonsense_without_panicking() {
        assert_eq!(retry_after(&headers("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(&headers("0.5")),
            Some(Duration::from_millis(500))
        );
        for bad in ["1e30", "-1", "NaN", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(retry_after(&headers(bad)), None, "{bad}");
        }
    }

    #[test]
    fn errors_never_quote_the_upstream_body() {
        let reply = Reply {
            status: 422,
            headers: HeaderMap::new(),
            body: Bytes::from_static(
                br#"{"code":"NOT_ELIGIBLE","name":"Sunita Devi","mobile":"9876543210"}"#,
            ),
        };
        let e = reply.error("pmsym").to_string();
        assert!(
            e.contains("NOT_ELIGIBLE") && !e.contains("Sunita") && !e.contains("98765"),
            "{e}"
        );
        let bad = Reply {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"spn": 12, "name": "Sunita Devi"}"#),
        };
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Wire {
            spn: String,
        }
        let e = bad.json::<Wire>("pmsym").unwrap_err().to_string();
        assert!(!e.contains("Sunita") && e.contains("line 1"), "{e}");
    }
}
