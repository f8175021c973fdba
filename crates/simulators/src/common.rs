//! What every simulator shares: its configuration, fault knobs, request counters and the
//! helpers that turn a page of records into a (possibly faulty) answer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, TimeZone, Utc};
use domain::schemes::SchemeId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Fault knobs of one simulator; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Share of requests answered 503.
    pub error_rate: f64,
    /// Added to every request.
    pub latency_ms: u64,
    /// Every this-many requests a burst of `burst_429_len` 429s starts (0: never).
    pub burst_429_every: u64,
    pub burst_429_len: u64,
    /// Sent as `Retry-After` with each 429.
    pub retry_after_secs: u64,
    /// Share of answers whose body is cut off mid-way (the connection is dropped).
    pub truncate_rate: f64,
    /// Share of answers with a 200 and a body that does not parse.
    pub malformed_rate: f64,
    /// Share of records sent twice within their page.
    pub duplicate_rate: f64,
    /// Records of a page come in shuffled order.
    pub out_of_order: bool,
}

/// The credentials the simulators accept (and the gateway's defaults use): demo values, public in
/// this code, never for a real system.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub ncs_api_key: String,
    pub sidh_api_key: String,
    pub sidh_client_id: String,
    pub myscheme_api_key: String,
    pub pmsym_client_id: String,
    pub pmsym_client_secret: String,
    pub pmjay_key_id: String,
    pub pmjay_secret: String,
    pub pmjjby_key_id: String,
    pub pmjjby_secret: String,
    pub webhook_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        let s = |v: &str| v.to_owned();
        Credentials {
            ncs_api_key: s("sim-ncs-key"),
            sidh_api_key: s("sim-sidh-key"),
            sidh_client_id: s("shramsetu"),
            myscheme_api_key: s("sim-myscheme-key"),
            pmsym_client_id: s("shramsetu"),
            pmsym_client_secret: s("sim-pmsym-secret"),
            pmjay_key_id: s("shramsetu"),
            pmjay_secret: s("sim-pmjay-secret"),
            pmjjby_key_id: s("shramsetu"),
            pmjjby_secret: s("sim-pmjjby-secret"),
            webhook_secret: s("sim-webhook-secret"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The population seed; the demo registry uses 42 too.
    pub seed: u64,
    /// People in the world; scheme records are drawn from them (without repeats).
    pub population: u64,
    /// Records per scheme; `None`: each scheme's demo size (a share of the population).
    pub records: Option<u64>,
    pub faults: Faults,
    pub credentials: Credentials,
    /// Where PM-SYM posts its change events (empty: nowhere).
    pub webhook_url: String,
    pub workers: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            population: 2_500,
            records: None,
            faults: Faults::default(),
            credentials: Credentials::default(),
            webhook_url: String::new(),
            workers: 1,
        }
    }
}

/// One scheme's simulator.
pub struct Sim {
    pub scheme: SchemeId,
    pub seed: u64,
    pub population: u64,
    /// Records generated from the population (pushed ones come after).
    pub records: u64,
    pub credentials: Credentials,
    pub webhook_url: String,
    /// PM-SYM: the client secret has expired (the token endpoint refuses it).
    pub secret_expired: AtomicBool,
    faults: Mutex<Faults>,
    rng: Mutex<ChaCha8Rng>,
    requests: AtomicU64,
    token_requests: AtomicU64,
    /// Scheme-specific state written by pushes (enrolments, registrations, idempotency answers).
    pub state: Mutex<PushState>,
}

/// What pushes added: rows in arrival order and answers by idempotency key.
#[derive(Default)]
pub struct PushState {
    pub rows: Vec<serde_json::Value>,
    pub answers: std::collections::HashMap<String, (String, u16, serde_json::Value)>,
}

/// Demo record counts as shares of the population.
fn demo_share(scheme: SchemeId) -> f64 {
    match scheme {
        SchemeId::Ncs => 0.30,
        SchemeId::Sidh => 0.25,
        SchemeId::Myscheme => 0.0,
        SchemeId::Pmsym => 0.20,
        SchemeId::Pmjay => 0.36,
        SchemeId::Pmjjby => 0.28,
    }
}

impl Sim {
    pub fn new(scheme: SchemeId, c: &SimConfig) -> Sim {
        let population = c.population.max(1);
        let records = c
            .records
            .unwrap_or((population as f64 * demo_share(scheme)) as u64)
            .min(population);
        Sim {
            scheme,
            seed: c.seed,
            population,
            records,
            credentials: c.credentials.clone(),
            webhook_url: c.webhook_url.clone(),
            secret_expired: AtomicBool::new(false),
            faults: Mutex::new(c.faults.clone()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(c.seed ^ scheme as u64)),
            requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            state: Mutex::new(PushState::default()),
        }
    }

    pub fn set_faults(&self, f: Faults) {
        *lock(&self.faults) = f;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    /// Requests answered (token requests not included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub(crate) fn count_token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The population index of the scheme's `k`-th record: a fixed permutation, so no person is
    /// in one scheme twice.
    pub fn person_index(&self, k: u64) -> u64 {
        let p = self.population;
        let stride = [1_000_003u64, 999_983, 7_919, 104_729]
            .into_iter()
            .find(|s| !p.is_multiple_of(*s))
            .unwrap_or(1);
        let offset = (self.scheme as u64 * 7_919) % p;
        ((k as u128 * stride as u128 + offset as u128) % p as u128) as u64
    }

    /// The `k`-th record's person as this scheme wrote them.
    pub fn person(&self, k: u64) -> matching::Record {
        population::held_elsewhere(self.seed, self.person_index(k), self.scheme as u64 + 1)
    }

    /// A number in `0..n` fixed for record `k` and `what`.
    pub fn pick(&self, k: u64, what: u64, n: u64) -> u64 {
        let mut z = self.seed
            ^ (self.scheme as u64) << 56
            ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ what.wrapping_mul(0xD1B5_4A32_D192_ED03);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }

    /// Counts the request and applies latency, 429 bursts and errors; `Some` is the answer to send.
    pub async fn gate(&self) -> Option<HttpResponse> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let f = self.faults();
        if f.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
        }
        if f.burst_429_every > 0 && (n - 1) % f.burst_429_every < f.burst_429_len {
            return Some(
                HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", f.retry_after_secs.to_string()))
                    .json(serde_json::json!({"error": "rate_limited"})),
            );
        }
        if f.error_rate > 0.0 && lock(&self.rng).random_bool(f.error_rate.min(1.0)) {
            return Some(
                HttpResponse::ServiceUnavailable()
                    .json(serde_json::json!({"error": "service_unavailable"})),
            );
        }
        None
    }

    /// Duplicates and shuffles a page's records as the knobs say.
    pub fn disorder<T: Clone>(&self, records: &mut Vec<T>) {
        let f = self.faults();
        let mut rng = lock(&self.rng);
        if f.duplicate_rate > 0.0 {
            let mut out = Vec::with_capacity(records.len() + 4);
            for r in records.drain(..) {
                if rng.random_bool(f.duplicate_rate.min(1.0)) {
                    out.push(r.clone());
                }
                out.push(r);
            }
            *records = out;
        }
        if f.out_of_order {
            for i in (1..records.len()).rev() {
                let j = rng.random_range(0..=i);
                records.swap(i, j);
            }
        }
    }

    /// A 200 with `body`, cut off or garbled as the knobs say.
    pub fn answer(&self, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
        let f = self.faults();
        let (truncate, malform) = {
            let mut rng = lock(&self.rng);
            (
                f.truncate_rate > 0.0 && rng.random_bool(f.truncate_rate.min(1.0)),
                f.malformed_rate > 0.0 && rng.random_bool(f.malformed_rate.min(1.0)),
            )
        };
        if truncate {
            let half = bytes::Bytes::from(body[..body.len() / 2].to_vec());
            let stream = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(half),
                Err(std::io::Error::other("connection dropped")),
            ]);
            return HttpResponse::Ok()
                .content_type(content_type)
                .streaming(stream);
        }
        if malform {
            let mut garbled = body[..body.len() / 3].to_vec();
            garbled.extend_from_slice(b"\"<html><body>502 Bad Gateway</body></html>");
            return HttpResponse::Ok().content_type(content_type).body(garbled);
        }
        HttpResponse::Ok().content_type(content_type).body(body)
    }

    /// `answer` for a JSON value.
    pub fn json(&self, value: &impl Serialize) -> HttpResponse {
        self.answer(
            "application/json",
            serde_json::to_vec(value).unwrap_or_default(),
        )
    }
}

/// When the scheme's `k`-th generated record last changed: one minute apart from 1 Jan 2025.
pub fn updated_at(k: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::minutes(k as i64)
}

/// The generated record whose time is the latest at or before `t` (for `since` feeds).
pub fn index_at(t: DateTime<Utc>) -> i64 {
    (t - updated_at(0)).num_minutes()
}

/// `/_sim/faults` (GET, PUT) and `/_sim/stats`: for tests and people trying the knobs.
pub fn admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/faults", web::get().to(get_faults))
        .route("/_sim/faults", web::put().to(put_faults))
        .route("/_sim/stats", web::get().to(stats));
}

async fn get_faults(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.faults())
}

async fn put_faults(sim: web::Data<Sim>, f: web::Json<Faults>) -> HttpResponse {
    sim.set_faults(f.into_inner());
    HttpResponse::Ok().json(sim.faults())
}

async fn stats(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "scheme": sim.scheme,
        "records": sim.records,
        "pushed": lock(&sim.state).rows.len(),
        "requests": sim.requests(),
        "token_requests": sim.token_requests(),
    }))
}

/// An idempotent push: the same key and body answer what they answered first; the same key with
/// another body is a 422. `make` runs once per key.
pub fn idempotent(
    sim: &Sim,
    key: Option<&str>,
    body: &[u8],
    make: impl FnOnce(&mut PushState) -> (u16, serde_json::Value),
) -> HttpResponse {
    let digest = format!("{:x}", fnv(body));
    let mut st = lock(&sim.state);
    if let Some(k) = key
        && let Some((d, status, v)) = st.answers.get(k)
    {
        if *d != digest {
            return HttpResponse::UnprocessableEntity()
                .json(serde_json::json!({"code": "IDEMPOTENCY_KEY_REUSED"}));
        }
        return respond(*status, v.clone());
    }
    let (status, v) = make(&mut st);
    if let Some(k) = key {
        st.answers.insert(k.to_owned(), (digest, status, v.clone()));
    }
    respond(status, v)
}

/// An enrolment body of PM-SYM or PMJJBY, or their 400 answer.
pub fn enrolment_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<HttpResponse>> {
    serde_json::from_slice(body).map_err(|err| {
        Box::new(
            HttpResponse::BadRequest()
                .json(serde_json::json!({"code": "INVALID_REQUEST", "message": err.to_string()})),
        )
    })
}

/// PM-SYM's and PMJJBY's refusal of a worker the scheme's rules exclude, naming each rule.
pub fn not_eligible(broken: &[(&str, &str, String)]) -> (u16, serde_json::Value) {
    let reasons: Vec<serde_json::Value> = broken
        .iter()
        .map(|(field, code, message)| serde_json::json!({"code": code, "field": field, "message": message}))
        .collect();
    (
        422,
        serde_json::json!({"code": "NOT_ELIGIBLE", "reasons": reasons}),
    )
}

pub fn respond(status: u16, v: serde_json::Value) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(v)
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ *x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The header's value, or empty.
pub fn header<'a>(req: &'a actix_web::HttpRequest, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `"M"`/`"F"` from the population, as a scheme spells it.
pub fn gender_word(g: &str) -> &'static str {
    match g {
        "M" => "Male",
        "F" => "Female",
        "T" => "Transgender",
        _ => "",
    }
}

/// Checks an HMAC-signed request (timestamp within five minutes).
pub fn hmac_ok(req: &actix_web::HttpRequest, body: &[u8], key_id: &str, secret: &str) -> bool {
    let ts: i64 = header(req, "X-Timestamp").parse().unwrap_or(0);
    if header(req, "X-Key-Id") != key_id || (Utc::now().timestamp() - ts).abs() > 300 {
        return false;
    }
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    let message = adapter_core::auth::string_to_sign(req.method().as_str(), path, ts, body);
    adapter_core::auth::hmac_verify(secret, &message, header(req, "X-Signature"))
}
