//! Settings: the compiled-in `config/default.toml`, an optional overlay file, `SHRAMSETU_…`
//! environment variables and `DATABASE_URL`. The environment is read here and nowhere else.

use std::collections::BTreeMap;
use std::path::PathBuf;

use adapter_core::SchemeId;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: Server,
    pub database: Database,
    pub auth: Auth,
    pub limits: Limits,
    pub log: Log,
    pub audit: Audit,
    pub matching: Matching,
    pub schemes: Schemes,
    pub sync: Sync,
    pub batches: Batches,
    pub purposes: BTreeMap<String, Purpose>,
}

/// `[batches]`: state-portal pushes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batches {
    /// Whether `serve` applies batches' chunks.
    pub run_in_serve: bool,
    pub max_rows: u64,
    pub max_bytes: u64,
    pub chunk_rows: i64,
    pub group_rows: usize,
    pub concurrency: usize,
    pub workers: usize,
    pub lease_secs: u64,
    pub poll_ms: u64,
}

impl Batches {
    pub fn settings(&self) -> batches::Settings {
        batches::Settings {
            max_rows: self.max_rows,
            max_bytes: self.max_bytes,
            chunk_rows: self.chunk_rows,
            group_rows: self.group_rows,
            concurrency: self.concurrency,
            lease: std::time::Duration::from_secs(self.lease_secs),
            poll: std::time::Duration::from_millis(self.poll_ms),
        }
    }
}

/// `[sync]`: the sync engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// Whether `serve` works queued runs (and queues scheduled ones).
    pub run_in_serve: bool,
    pub page_size: usize,
    pub lease_secs: u64,
    pub poll_ms: u64,
    /// The secret PM-SYM signs its change events with (empty: its webhook route is closed,
    /// unless the in-process simulators stand in for PM-SYM).
    pub pmsym_webhook_secret: String,
    /// An event whose `occurred_at` is further than this from now is refused.
    pub webhook_window_secs: u64,
    pub ncs: Option<SyncSchedule>,
    pub sidh: Option<SyncSchedule>,
    pub pmsym: Option<SyncSchedule>,
    pub pmjay: Option<SyncSchedule>,
    pub pmjjby: Option<SyncSchedule>,
}

/// `[sync.<scheme>]`: how often the scheme is synced by itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSchedule {
    /// `30s`, `15m`, `6h`, `1d`.
    pub every: String,
}

impl Sync {
    /// Each scheme's interval, checked.
    pub fn schedules(&self) -> Result<BTreeMap<SchemeId, std::time::Duration>, String> {
        let mut out = BTreeMap::new();
        for (id, s) in [
            (SchemeId::Ncs, &self.ncs),
            (SchemeId::Sidh, &self.sidh),
            (SchemeId::Pmsym, &self.pmsym),
            (SchemeId::Pmjay, &self.pmjay),
            (SchemeId::Pmjjby, &self.pmjjby),
        ] {
            if let Some(s) = s {
                let every = parse_interval(&s.every).ok_or_else(|| {
                    format!(
                        "sync.{id}.every: `{}` is not like 30s, 15m, 6h or 1d",
                        s.every
                    )
                })?;
                out.insert(id, every);
            }
        }
        Ok(out)
    }

    /// The same schedule for every scheme (the demo's).
    pub fn every_scheme(&mut self, every: &str) {
        let s = || {
            Some(SyncSchedule {
                every: every.to_owned(),
            })
        };
        (self.ncs, self.sidh, self.pmsym, self.pmjay, self.pmjjby) = (s(), s(), s(), s(), s());
    }
}

/// `30s`, `15m`, `6h`, `1d`: at least one second, at most a year.
fn parse_interval(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    // At most a year: a schedule is for feeds, and a date that far off is a typo.
    (1..=366 * 86_400)
        .contains(&secs)
        .then(|| std::time::Duration::from_secs(secs))
}

/// The scheme systems: where each is and how to reach it. A scheme without a `base_url` is reached
/// at `simulators_url/<scheme>`; with that empty too, `serve` runs the simulators in-process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schemes {
    pub simulators_url: String,
    /// Whether the gateway runs the simulators itself for the schemes with no URL: `serve --demo`
    /// and the tests turn it on; off, such a scheme is "not configured" (503
    /// `scheme_not_configured`), never a fake answering for a real scheme. Refused in production.
    pub allow_local_simulators: bool,
    /// Where the in-process PM-SYM simulator posts its change events (empty: this gateway's
    /// own `/v1/webhooks/pmsym`).
    #[serde(default)]
    pub simulator_webhook_url: String,
    /// Records per scheme of the in-process simulators (0: each scheme's demo share of the
    /// population), for benchmarks.
    #[serde(default)]
    pub simulator_records: u64,
    /// The in-process simulators' population: seed (the demo registry's is 42) and size.
    pub simulator_seed: u64,
    pub simulator_population: u64,
    /// How long the myScheme catalogue is reused before it is fetched again.
    pub catalogue_cache_secs: u64,
    /// Every this many seconds each scheme is asked for one record, so that `GET /v1/schemes`
    /// shows its health without waiting for traffic (and an open circuit gets its probe); 0: never.
    pub health_check_secs: u64,
    /// An enrolment key claimed this long ago without an answer (the gateway died mid-call) may be
    /// taken over by a retry; the scheme gets the same key and does not enrol twice.
    pub enrolment_key_stale_secs: i64,
    #[serde(default)]
    pub ncs: adapter_core::UpstreamConfig,
    #[serde(default)]
    pub sidh: adapter_core::UpstreamConfig,
    #[serde(default)]
    pub myscheme: adapter_core::UpstreamConfig,
    #[serde(default)]
    pub pmsym: adapter_core::UpstreamConfig,
    #[serde(default)]
    pub pmjay: adapter_core::UpstreamConfig,
    #[serde(default)]
    pub pmjjby: adapter_core::UpstreamConfig,
}

impl Schemes {
    pub fn upstream(&self, id: domain::schemes::SchemeId) -> &adapter_core::UpstreamConfig {
        use domain::schemes::SchemeId as S;
        match id {
            S::Ncs => &self.ncs,
            S::Sidh => &self.sidh,
            S::Myscheme => &self.myscheme,
            S::Pmsym => &self.pmsym,
            S::Pmjay => &self.pmjay,
            S::Pmjjby => &self.pmjjby,
        }
    }

    pub fn upstream_mut(
        &mut self,
        id: domain::schemes::SchemeId,
    ) -> &mut adapter_core::UpstreamConfig {
        use domain::schemes::SchemeId as S;
        match id {
            S::Ncs => &mut self.ncs,
            S::Sidh => &mut self.sidh,
            S::Myscheme => &mut self.myscheme,
            S::Pmsym => &mut self.pmsym,
            S::Pmjay => &mut self.pmjay,
            S::Pmjjby => &mut self.pmjjby,
        }
    }

    /// Whether `serve` must run the simulators itself.
    pub fn needs_local_simulators(&self) -> bool {
        self.simulators_url.is_empty()
            && domain::schemes::SchemeId::ALL
                .iter()
                .any(|id| self.upstream(*id).base_url.is_empty())
    }
}

/// `[matching]`: the model and thresholds of matching.
pub use registry::matcher::{IndexKind, Settings as Matching};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub environment: Environment,
    pub bind: String,
    pub workers: usize,
    pub client_request_timeout_ms: u64,
    pub keep_alive_secs: u64,
    pub request_timeout_ms: u64,
    /// `POST /v1/batches` instead: the time a state's file may take to arrive and be stored.
    pub upload_timeout_secs: u64,
}

/// Where the gateway runs: production keeps the rules that development may relax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: String,
    pub embedded_dir: PathBuf,
    /// Where the local cluster's `initdb` and `postgres` are (`SHRAMSETU_PG_BIN`); unset: the
    /// newest `/usr/lib/postgresql/*/bin`, else `PATH`.
    #[serde(default)]
    pub pg_bin: Option<PathBuf>,
    pub embedded_database: String,
    pub pool_max_size: usize,
    pub pool_wait_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub statement_timeout_ms: u64,
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field(
                "url",
                &if self.url.is_empty() {
                    "(embedded)"
                } else {
                    "(set)"
                },
            )
            .field("embedded_dir", &self.embedded_dir)
            .field("pool_max_size", &self.pool_max_size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub issuer: String,
    pub audience: String,
    pub token_ttl_secs: u64,
    pub leeway_secs: u64,
    pub max_token_ttl_secs: u64,
    pub keys_dir: PathBuf,
    /// Identity providers (Keycloak and the like) whose tokens are accepted too.
    #[serde(default)]
    pub external_issuers: Vec<ExternalIssuer>,
}

/// An external identity provider: its tokens are verified with the keys at `jwks_url`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuer {
    /// The `iss` its tokens carry.
    pub issuer: String,
    pub jwks_url: String,
    /// The `aud` its tokens must carry for this gateway.
    pub audience: String,
    /// Signature algorithms accepted from it, e.g. ["RS256", "ES256"]; never "none" or HS*.
    pub algorithms: Vec<String>,
    /// The claim naming the calling client (Keycloak: `azp`).
    #[serde(default = "default_client_id_claim")]
    pub client_id_claim: String,
    /// Purpose of its tokens that carry no `purpose` claim.
    #[serde(default = "default_external_purpose")]
    pub default_purpose: String,
    /// Keys are re-fetched after this long, and at most this often when a token names an unknown key.
    #[serde(default = "default_jwks_cache_secs")]
    pub jwks_cache_secs: u64,
    #[serde(default = "default_refetch_secs")]
    pub refetch_min_secs: u64,
    /// Purposes its tokens may name in a `purpose` claim (the default purpose is always allowed).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Whether its tokens without a `states` claim may see every state. Default: they are refused.
    #[serde(default)]
    pub all_states: bool,
}

fn default_client_id_claim() -> String {
    "azp".into()
}
fn default_external_purpose() -> String {
    "operations".into()
}
fn default_jwks_cache_secs() -> u64 {
    300
}
fn default_refetch_secs() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Registration and PATCH.
    pub body_bytes: usize,
    /// `POST /v1/workers/verify`.
    pub verify_body_bytes: usize,
    /// `POST /v1/workers/{uan}/enrolments`.
    pub enrolment_body_bytes: usize,
    /// `POST /oauth/token`.
    pub token_body_bytes: usize,
    pub default_page_size: i64,
    pub max_page_size: i64,
    pub rate_limit_rps: u32,
    pub rate_limit_burst: u32,
    /// How often a serving gateway reads a client's own rate again, in seconds.
    pub client_refresh_secs: u64,
    pub max_concurrent_per_client: usize,
    pub token_endpoint_rps: u32,
}

/// `[audit]`: the writer's own settings.
pub use registry::audit::Settings as Audit;

/// The worker fields one purpose may see.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub level: String,
    pub format: String,
    /// `RUST_LOG`, when set: it wins over `level` and over a command's own quieter level.
    #[serde(default)]
    pub rust_log: Option<String>,
}

impl Log {
    /// `fallback`, unless `RUST_LOG` says otherwise.
    pub fn level_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        self.rust_log.as_deref().unwrap_or(fallback)
    }
}

impl Settings {
    /// Loads every layer. Errors name the offending key.
    pub fn load() -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Ok(path) = std::env::var("SHRAMSETU_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        } else if let Ok(env) = std::env::var("SHRAMSETU_ENV") {
            figment = figment.merge(Toml::file_exact(format!("config/{env}.toml")));
        }
        figment = figment.merge(
            Env::prefixed("SHRAMSETU_")
                .ignore(&["ENV", "CONFIG", "PG_BIN", "RATE_LIMIT_RPS"])
                .split("__"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(("database.url", url));
        }
        if let Some(bin) = std::env::var_os("SHRAMSETU_PG_BIN") {
            figment = figment.merge(("database.pg_bin", PathBuf::from(bin)));
        }
        // RUST_LOG, the Rust ecosystem's usual switch, overrides every log level chosen.
        if let Ok(level) = std::env::var("RUST_LOG") {
            figment = figment.merge(("log.rust_log", level));
        }
        if let Ok(rps) = std::env::var("SHRAMSETU_RATE_LIMIT_RPS") {
            let rps: u32 = rps.parse().map_err(|_| {
                Box::new(figment::Error::from(
                    "SHRAMSETU_RATE_LIMIT_RPS must be a whole number".to_owned(),
                ))
            })?;
            figment = figment.merge(("limits.rate_limit_rps", rps));
        }
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings
            .validate()
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(settings)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), String> {
        self.sync.schedules()?;
        let b = &self.batches;
        if b.max_rows == 0
            || b.max_bytes == 0
            || b.chunk_rows < 1
            || b.group_rows == 0
            || b.concurrency == 0
            || b.lease_secs < 3
        {
            return Err(
                "batches: max_rows, max_bytes, chunk_rows, group_rows and concurrency at least 1, lease_secs at least 3"
                    .into(),
            );
        }
        if self.sync.page_size == 0 || self.sync.lease_secs < 3 {
            return Err("sync: page_size at least 1, lease_secs at least 3".into());
        }
        let l = &self.limits;
        if l.max_page_size < 1 || l.default_page_size < 1 || l.default_page_size > l.max_page_size {
            return Err("limits: 1 <= default_page_size <= max_page_size".into());
        }
        for (key, bytes) in [
            ("body_bytes", l.body_bytes),
            ("verify_body_bytes", l.verify_body_bytes),
            ("enrolment_body_bytes", l.enrolment_body_bytes),
            ("token_body_bytes", l.token_body_bytes),
        ] {
            if bytes < 1024 {
                return Err(format!("limits.{key}: at least 1024"));
            }
        }
        if self.auth.token_ttl_secs > self.auth.max_token_ttl_secs {
            return Err("auth.token_ttl_secs must not exceed auth.max_token_ttl_secs".into());
        }
        if self.database.statement_timeout_ms >= self.server.request_timeout_ms {
            return Err(
                "database.statement_timeout_ms must be below server.request_timeout_ms".into(),
            );
        }
        for x in &self.auth.external_issuers {
            if x.issuer == self.auth.issuer {
                return Err(format!(
                    "auth.external_issuers: {} is this gateway's own issuer",
                    x.issuer
                ));
            }
            if x.algorithms.is_empty()
                || x.algorithms
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case("none") || a.starts_with("HS"))
            {
                return Err(format!(
                    "auth.external_issuers {}: algorithms must be asymmetric (RS*, PS*, ES*, EdDSA)",
                    x.issuer
                ));
            }
            if !self.purposes.contains_key(&x.default_purpose) {
                return Err(format!(
                    "auth.external_issuers {}: unknown default_purpose",
                    x.issuer
                ));
            }
        }
        let m = &self.matching;
        if !(0.0 <= m.review_threshold
            && m.review_threshold <= m.link_threshold
            && m.link_threshold <= 1.0)
        {
            return Err("matching: 0 <= review_threshold <= link_threshold <= 1".into());
        }
        if m.max_records == 0 || m.max_bucket < 1 {
            return Err("matching: max_records and max_bucket at least 1".into());
        }
        for id in domain::schemes::SchemeId::ALL {
            let u = self.schemes.upstream(id);
            if !(u.base_url.is_empty()
                || u.base_url.starts_with("https://")
                || u.base_url.starts_with("http://"))
            {
                return Err(format!("schemes.{id}.base_url: an http(s) URL"));
            }
            if u.request_timeout_ms == 0 || u.connect_timeout_ms == 0 || u.rate_limit_rps == 0 {
                return Err(format!(
                    "schemes.{id}: timeouts and rate_limit_rps must be above 0"
                ));
            }
        }
        if self.audit.max_batch == 0 {
            return Err("audit.max_batch: at least 1".into());
        }
        if self.limits.client_refresh_secs == 0 {
            return Err(
                "limits.client_refresh_secs: at least 1 (0 would read the client's row on every request)"
                    .into(),
            );
        }
        if self.audit.linger_us > 100_000 {
            return Err(
                "audit.linger_us: at most 100000 (every audited request may wait this long)".into(),
            );
        }
        if !self.purposes.contains_key("operations") {
            return Err("purposes.operations must be configured".into());
        }
        if self.server.environment == Environment::Production {
            if !self.audit.enabled {
                return Err("audit.enabled = false is refused in production: every access to a worker's data must be on the record (DPDP Rules 2025, rule 6)".into());
            }
            if self.schemes.allow_local_simulators {
                return Err("schemes.allow_local_simulators = true is refused in production: a simulator must never answer for a real scheme".into());
            }
            if !self.schemes.simulators_url.is_empty() {
                return Err("schemes.simulators_url is refused in production: a simulator must never answer for a real scheme".into());
            }
        }
        Ok(())
    }

    /// The defaults alone, for tests and the `openapi` command.
    pub fn defaults() -> Settings {
        Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .unwrap_or_else(|e| panic!("config/default.toml is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_intervals_read_as_written_and_nonsense_is_refused() {
        let secs = |s: &str| parse_interval(s).map(|d| d.as_secs());
        assert_eq!(secs("30s"), Some(30));
        assert_eq!(secs("15m"), Some(900));
        assert_eq!(secs(" 6h "), Some(21_600));
        assert_eq!(secs("1d"), Some(86_400));
        for bad in [
            "",
            "15",
            "m",
            "0s",
            "-5m",
            "1.5h",
            "15 minutes",
            "9999999999999999999d",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
        let mut s = Settings::defaults();
        assert!(s.sync.schedules().unwrap().is_empty(), "off by default");
        s.sync.every_scheme("10m");
        assert_eq!(s.sync.schedules().unwrap().len(), 5);
        s.sync.pmjay = Some(SyncSchedule {
            every: "soon".into(),
        });
        assert!(s.validate().unwrap_err().starts_with("sync.pmjay.every"));
    }

    /// Loads the settings in a child process of this test binary with `env` set, so that no
    /// variable of this (multi-threaded) process changes. The child is the ignored test below.
    fn load_in_child(env: &[(&str, &str)]) -> (bool, String) {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "config::tests::child_loads_settings",
                "--ignored",
                "--nocapture",
            ])
            .env("GATEWAY_CONFIG_TEST_CHILD", "1")
            .env_remove("SHRAMSETU_RATE_LIMIT_RPS")
            .env_remove("SHRAMSETU_LIMITS__RATE_LIMIT_RPS")
            .envs(env.iter().copied())
            .output()
            .expect("child test");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    #[test]
    #[ignore = "run by load_in_child with its environment"]
    fn child_loads_settings() {
        if std::env::var("GATEWAY_CONFIG_TEST_CHILD").is_err() {
            return;
        }
        match Settings::load() {
            Ok(s) => println!("rate_limit_rps={}", s.limits.rate_limit_rps),
            Err(e) => panic!("refused: {e}"),
        }
    }

    #[test]
    fn the_default_rate_limit_is_set_in_config_or_by_its_environment_variable() {
        let default = Settings::defaults().limits.rate_limit_rps;
        let (ok, out) = load_in_child(&[]);
        assert!(
            ok && out.contains(&format!("rate_limit_rps={default}")),
            "{out}"
        );
        let (ok, out) = load_in_child(&[("SHRAMSETU_LIMITS__RATE_LIMIT_RPS", "9")]);
        assert!(ok && out.contains("rate_limit_rps=9"), "{out}");
        // The short variable wins over the config key.
        let (ok, out) = load_in_child(&[
            ("SHRAMSETU_LIMITS__RATE_LIMIT_RPS", "9"),
            ("SHRAMSETU_RATE_LIMIT_RPS", "7"),
        ]);
        assert!(ok && out.contains("rate_limit_rps=7"), "{out}");
        let (ok, out) = load_in_child(&[("SHRAMSETU_RATE_LIMIT_RPS", "seven")]);
        assert!(
            !ok && out.contains("SHRAMSETU_RATE_LIMIT_RPS must be a whole number"),
            "{out}"
        );
    }

    #[test]
    fn defaults_parse_and_are_safe() {
        let s = Settings::defaults();
        assert!(s.server.bind.starts_with("127.0.0.1"));
        assert_eq!(s.limits.body_bytes, 1 << 20);
        assert_eq!(s.limits.max_page_size, 1000);
        assert!(s.database.url.is_empty());
        assert!(!format!("{:?}", s.database).contains("postgresql://"));
        assert!(s.audit.enabled);
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.purposes["operations"].fields, ["*"]);
        assert!(
            s.purposes["verification"]
                .fields
                .contains(&"mobile:masked".to_owned())
        );
        // No scheme URL by default, and no simulators unless asked for (`serve --demo`).
        assert!(!s.schemes.allow_local_simulators && s.schemes.needs_local_simulators());
    }

    #[test]
    fn an_audit_linger_past_a_tenth_of_a_second_is_refused() {
        let mut s = Settings::defaults();
        assert_eq!(s.audit.linger_us, 500);
        s.audit.linger_us = 100_000;
        assert_eq!(s.validate(), Ok(()));
        s.audit.linger_us = 100_001;
        assert!(s.validate().unwrap_err().starts_with("audit.linger_us"));
    }

    #[test]
    fn a_client_rate_refresh_of_zero_is_refused() {
        let mut s = Settings::defaults();
        assert_eq!(s.limits.client_refresh_secs, 30);
        s.limits.client_refresh_secs = 0;
        assert!(
            s.validate()
                .unwrap_err()
                .starts_with("limits.client_refresh_secs")
        );
    }

    #[test]
    fn production_refuses_simulators_and_scheme_secrets_never_print() {
        let s: Settings = Figment::from(Toml::string(DEFAULT_TOML))
            .merge(Toml::string(include_str!("../../../config/production.toml")))
            .merge(Toml::string(
                "[schemes.pmsym]\nbase_url = \"https://pmsym.example.gov.in/api\"\n\
                 auth = { mode = \"oauth2\", token_url = \"/oauth/token\", client_id = \"shramsetu\", client_secret = \"s3cr3t-value\" }",
            ))
            .extract()
            .unwrap();
        assert!(!s.schemes.allow_local_simulators);
        assert_eq!(s.schemes.pmsym.base_url, "https://pmsym.example.gov.in/api");
        assert_eq!(
            s.schemes.pmsym.max_retries, 4,
            "unset keys keep their defaults"
        );
        assert_eq!(s.validate(), Ok(()));
        assert!(!format!("{s:?}").contains("s3cr3t-value"));
        let mut bad = s.clone();
        bad.schemes.ncs.base_url = "ftp://ncs".into();
        assert!(bad.validate().unwrap_err().contains("schemes.ncs.base_url"));
        // Production refuses to serve unaudited, or with fakes allowed to answer.
        assert_eq!(s.server.environment, Environment::Production);
        let mut unaudited = s.clone();
        unaudited.audit.enabled = false;
        assert!(
            unaudited
                .validate()
                .unwrap_err()
                .starts_with("audit.enabled = false is refused in production")
        );
        let mut faked = s.clone();
        faked.schemes.allow_local_simulators = true;
        assert!(
            faked
                .validate()
                .unwrap_err()
                .starts_with("schemes.allow_local_simulators")
        );
        let mut pointed = s.clone();
        pointed.schemes.simulators_url = "http://127.0.0.1:8090".into();
        assert!(
            pointed
                .validate()
                .unwrap_err()
                .starts_with("schemes.simulators_url")
        );
        // Development may measure the log's cost.
        let mut dev = Settings::defaults();
        dev.audit.enabled = false;
        assert_eq!(dev.validate(), Ok(()));
    }
}
