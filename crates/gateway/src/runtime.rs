//! Starting the gateway: find or start the database, migrate, load keys, serve. Shared by the
//! `shramsetu` command and the end-to-end tests, so the tests run what ships.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Data;
use anyhow::{Context, Result};
use store::embedded::{Durability, LocalCluster};
use store::{PoolOptions, Store};

use crate::auth::Tokens;
use crate::config::Settings;
use crate::keys::Keys;
use crate::state::AppState;

/// The registry database: a configured URL, or a local cluster we run (stopped when dropped).
pub struct Database {
    pub url: String,
    pub cluster: Option<LocalCluster>,
}

impl Database {
    /// `database.url` when set; otherwise the local cluster under `database.embedded_dir`.
    pub fn open(settings: &Settings) -> Result<Database> {
        if !settings.database.url.is_empty() {
            return Ok(Database {
                url: settings.database.url.clone(),
                cluster: None,
            });
        }
        let cluster = LocalCluster::start(
            &settings.database.embedded_dir,
            Durability::Durable,
            settings.database.pg_bin.as_deref(),
        )?;
        cluster.ensure_database(&settings.database.embedded_database, None)?;
        Ok(Database {
            url: cluster.url(&settings.database.embedded_database),
            cluster: Some(cluster),
        })
    }
}

pub fn pool_options(settings: &Settings) -> PoolOptions {
    PoolOptions {
        max_size: settings.database.pool_max_size,
        wait_timeout: Duration::from_millis(settings.database.pool_wait_timeout_ms),
        connect_timeout: Duration::from_millis(settings.database.connect_timeout_ms),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
    }
}

/// Connects to `url` and applies pending migrations.
pub async fn open_store(settings: &Settings, url: &str) -> Result<Store> {
    let store = Store::connect(url, &pool_options(settings))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Tokens backed by the keys directory (rotation takes effect without a restart).
pub fn tokens(settings: &Settings) -> Result<Tokens> {
    Tokens::from_dir(
        &settings.auth.keys_dir,
        &settings.auth.issuer,
        &settings.auth.audience,
        settings.auth.token_ttl_secs,
        settings.auth.leeway_secs,
        settings.auth.max_token_ttl_secs,
    )
}

/// A running gateway.
pub struct Running {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    pub state: Data<AppState>,
    /// The scheme simulators, when no scheme URL was configured and they run in-process.
    pub simulators: Option<Simulators>,
}

/// Simulators running in-process (a build without the `simulators` feature has none).
#[cfg(feature = "simulators")]
pub type Simulators = simulators::Running;
#[cfg(not(feature = "simulators"))]
pub enum Simulators {}

/// Starts every simulator on a loopback port.
#[cfg(feature = "simulators")]
fn start_simulators(s: &crate::config::Schemes) -> Result<Simulators> {
    let config = simulators::SimConfig {
        seed: s.simulator_seed,
        population: s.simulator_population,
        webhook_url: s.simulator_webhook_url.clone(),
        records: (s.simulator_records > 0).then_some(s.simulator_records),
        ..Default::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let running = simulators::start(&config, &domain::schemes::SchemeId::ALL, listener)?;
    tracing::warn!(addr = %running.addr, "No scheme URL configured: the scheme SIMULATORS answer for the schemes (demo data, fake references).");
    Ok(running)
}

#[cfg(not(feature = "simulators"))]
fn start_simulators(_: &crate::config::Schemes) -> Result<Simulators> {
    anyhow::bail!(
        "schemes.allow_local_simulators: this build has no simulators (built without the `simulators` feature)"
    )
}

#[cfg(feature = "simulators")]
fn simulators_url(s: &Simulators) -> String {
    format!("http://{}", s.addr)
}

#[cfg(not(feature = "simulators"))]
fn simulators_url(s: &Simulators) -> String {
    match *s {}
}

/// Starts the simulators on a loopback port when some scheme has no URL, and builds the adapters.
pub fn scheme_adapters(
    settings: &Settings,
) -> Result<(crate::schemes::Adapters, Option<Simulators>)> {
    let s = &settings.schemes;
    // Simulators answer only when asked for (`serve --demo`, the tests); otherwise a scheme with no
    // URL is not configured, and says so.
    let local = if s.needs_local_simulators() && s.allow_local_simulators {
        Some(start_simulators(s)?)
    } else {
        None
    };
    let url = local.as_ref().map(simulators_url);
    let adapters = crate::schemes::adapters(s, url.as_deref())?;
    let missing: Vec<&str> = adapters
        .not_configured()
        .iter()
        .map(|id| id.as_str())
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            schemes = %missing.join(", "),
            "Schemes not configured (no schemes.<id>.base_url): their routes answer 503 scheme_not_configured."
        );
    }
    Ok((adapters, local))
}

/// Loads keys, builds the state over `store` and starts serving on `listener`.
pub async fn start(settings: &Settings, store: Store, listener: TcpListener) -> Result<Running> {
    start_with_clock(
        settings,
        store,
        listener,
        Arc::new(crate::clock::SystemClock),
    )
    .await
}

/// The registry's use cases as `serve` and the commands that act on the registry build them.
pub struct Built {
    pub registry: Arc<registry::Registry>,
    /// The sealing key, which follows `vault rotate` while serving.
    pub vault: Arc<crate::keys::ActiveVault>,
    /// The scheme simulators, when they stand in for schemes with no URL.
    pub simulators: Option<Simulators>,
}

/// Loads the keys (checked against the registry's record of them), compiles the purposes, starts
/// the audit writer and builds the scheme adapters and the matcher, over `store`.
pub async fn build_registry(
    settings: &Settings,
    store: Store,
    clock: Arc<dyn crate::clock::Clock>,
) -> Result<Built> {
    let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
    keys.check_against(&store).await?;
    let policies =
        crate::purpose::compile_all(settings.purposes.iter().map(|(name, p)| (name, &p.fields)))
            .map_err(|e| anyhow::anyhow!(e))?;
    if !policies.contains_key(crate::auth::DEFAULT_PURPOSE) {
        anyhow::bail!(
            "purposes.{} must be configured",
            crate::auth::DEFAULT_PURPOSE
        );
    }
    // The writer has connections of its own: writes hold one of the main pool while their entry
    // is appended, and must never wait for the writer to get one.
    let audit = crate::audit::AuditLog::start(store.dedicated(2)?, &settings.audit, keys.audit);
    let (adapters, simulators) = scheme_adapters(settings)?;
    let vault = Arc::new(crate::keys::ActiveVault::new(
        &settings.auth.keys_dir,
        keys.vault,
    ));
    let registry = Arc::new(registry::Registry {
        store,
        token_key: keys.token,
        vault: vault.clone(),
        audit,
        policies,
        matcher: registry::matcher::Matcher::from_settings(&settings.matching)?,
        schemes: adapters,
        enrolment_key_stale_secs: settings.schemes.enrolment_key_stale_secs,
        clock,
        answers: crate::problem::answer,
    });
    Ok(Built {
        registry,
        vault,
        simulators,
    })
}

/// As [`start`], with dated rules evaluated on `clock`'s time (tests pass a fixed one).
pub async fn start_with_clock(
    settings: &Settings,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn crate::clock::Clock>,
) -> Result<Running> {
    // The in-process PM-SYM simulator posts its change events to this gateway.
    let addr = listener.local_addr()?;
    let mut settings = settings.clone();
    if settings.schemes.simulator_webhook_url.is_empty() {
        settings.schemes.simulator_webhook_url = format!("http://{addr}/v1/webhooks/pmsym");
    }
    let settings = &settings;
    let Built {
        registry,
        vault,
        simulators,
    } = build_registry(settings, store, clock).await?;
    let webhook_secret = webhook_secret(settings, simulators.is_some());
    let sync = Arc::new(sync::Engine::new(
        registry.clone(),
        sync_owner(),
        sync_settings(&settings.sync)?,
    ));
    let batches = Arc::new(batches::Batches::new(
        registry.clone(),
        sync_owner(),
        settings.batches.settings(),
    ));
    let state = Data::new(AppState {
        batches,
        registry,
        tokens: tokens(settings)?,
        vault_key: vault,
        limits: settings.limits.clone(),
        limiter: crate::limits::ClientLimiter::new(&settings.limits),
        external: crate::external::ExternalIssuers::new(
            &settings.auth.external_issuers,
            settings.auth.leeway_secs,
        )?,
        metrics: crate::telemetry::metrics_handle(),
        sync,
        pmsym_webhook_secret: webhook_secret,
        webhook_window: Duration::from_secs(settings.sync.webhook_window_secs),
    });
    // The sync engine starts once every stored key is of this version: a run against workers
    // still keyed the old way would miss them and keep their records as unregistered.
    let (keys_ready, keys_current) = tokio::sync::oneshot::channel::<()>();
    let store = state.store().clone();
    tokio::spawn(async move {
        backfill_match_keys(store).await;
        let _ = keys_ready.send(());
    });
    actix_web::rt::spawn(follow_vault_rotation(state.clone()));
    if settings.schemes.health_check_secs > 0 {
        let every = Duration::from_secs(settings.schemes.health_check_secs);
        actix_web::rt::spawn(check_schemes(state.clone(), every));
    }
    if settings.sync.run_in_serve {
        // On this thread, beside the HTTP workers (its futures are not all `Send`); scoring runs
        // on the blocking pool.
        let sync = state.sync.clone();
        actix_web::rt::spawn(async move {
            if keys_current.await.is_ok() {
                sync.serve().await;
            }
        });
    }
    if settings.batches.run_in_serve {
        let (batches, workers) = (state.batches.clone(), settings.batches.workers);
        tokio::spawn(batches.serve(workers));
    }
    if let Some(index) = state.registry.matcher.index.clone() {
        let store = state.registry.store.clone();
        tokio::spawn(async move { load_candidate_index(&index, &store).await });
    }
    // Counted before the first call is served, so no registration is counted without terms.
    if let Err(e) = state.registry.refresh_coverage().await {
        tracing::warn!(error = %e, "Coverage could not be counted as of today; retried.");
    }
    tokio::spawn(count_coverage_daily(state.registry.clone()));
    let server = crate::app::serve(state.clone(), listener, &settings.server)?;
    Ok(Running {
        addr,
        server,
        state,
        simulators,
    })
}

/// Loads the candidate index in memory (`matching.index = "memory"`), trying again every 30 s
/// until it is loaded; the database answers until then.
pub async fn load_candidate_index(
    index: &registry::candidate_index::CandidateIndex,
    store: &Store,
) {
    loop {
        let started = std::time::Instant::now();
        match index.load(store).await {
            Ok(workers) => {
                tracing::info!(
                    workers,
                    secs = started.elapsed().as_secs_f64(),
                    "Candidate index loaded in memory."
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "The candidate index could not be loaded; the database answers meanwhile; retried in 30 s.")
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// Coverage's eligibility counted again once the date turns, and once more when the writes in
/// flight at the turn have ended (a report does both too when it finds them due); each check is
/// one read when nothing is due.
async fn count_coverage_daily(registry: std::sync::Arc<registry::Registry>) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        if let Err(e) = registry.refresh_coverage().await {
            tracing::warn!(error = %e, "Coverage could not be counted as of today; retried.");
        }
    }
}

/// The secret PM-SYM's change events are signed with: the configured one, else the simulators'
/// when they stand in for PM-SYM; `None` closes the route.
fn webhook_secret(settings: &Settings, simulated: bool) -> Option<String> {
    let configured = &settings.sync.pmsym_webhook_secret;
    if !configured.is_empty() {
        return Some(configured.clone());
    }
    #[cfg(feature = "simulators")]
    if simulated && settings.schemes.pmsym.base_url.is_empty() {
        return Some(simulators::Credentials::default().webhook_secret);
    }
    let _ = simulated;
    None
}

/// The sync engine's settings from `[sync]`.
pub fn sync_settings(s: &crate::config::Sync) -> Result<sync::Settings> {
    Ok(sync::Settings {
        page_size: s.page_size,
        lease: Duration::from_secs(s.lease_secs),
        poll: Duration::from_millis(s.poll_ms),
        every: s.schedules().map_err(|e| anyhow::anyhow!(e))?,
    })
}

/// Names this process in the sync runs it leases: host, process id and a random part.
pub fn sync_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let tag = crate::keys::random_bytes::<4>()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
        .unwrap_or_default();
    format!("{host}:{}:{tag}", std::process::id())
}

/// Switches new seals to a vault key added by `shramsetu vault rotate`, so that old keys can be
/// retired without restarting the gateway.
async fn follow_vault_rotation(state: Data<AppState>) {
    let mut tick = tokio::time::interval(crate::keys::VAULT_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.vault_key.refresh(state.store()).await {
            Ok(Some(id)) => {
                tracing::info!(key = %id, "New Aadhaar numbers are now sealed with this vault key.")
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "Could not switch to the newest vault key."),
        }
    }
}

/// Asks each scheme for one record every `every`, so its health and circuit state are known
/// without traffic. Outcomes are recorded by the adapters' client; failures are logged there.
async fn check_schemes(state: Data<AppState>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for id in domain::schemes::SchemeId::ALL {
            let Ok(adapter) = state.registry.schemes.get(id) else {
                continue;
            };
            if let Err(e) = adapter.pull(None, 1).await {
                tracing::warn!(scheme = id.as_str(), error = %e, "Scheme health check failed.");
            }
        }
    }
}

/// Computes the blocking keys of workers registered before the registry kept them, or kept with an
/// older key version, a batch at a time in UAN order, until none is left; then those of the scheme
/// records kept as unregistered, the same way.
async fn backfill_match_keys(store: Store) {
    let workers = until_done("workers'", String::new(), |after| {
        let store = store.clone();
        async move { store.backfill_match_keys(&after, 1000).await }
    })
    .await;
    if workers > 0 {
        tracing::info!(
            workers,
            "Matching keys computed for workers registered before them."
        );
    }
    let records = until_done(
        "kept records'",
        Default::default(),
        |after: (String, String)| {
            let store = store.clone();
            async move {
                let keys_of = registry::matcher::stored_keys_of_person;
                store
                    .backfill_unregistered_keys(&after, 1000, keys_of)
                    .await
            }
        },
    )
    .await;
    if records > 0 {
        tracing::info!(
            records,
            "Matching keys recomputed for scheme records kept as unregistered."
        );
    }
}

/// Calls `batch` from `start` with where the last call stopped until it says it is done, waiting
/// 10 s after a failure; the total it looked at.
async fn until_done<P, F>(what: &str, start: P, batch: impl Fn(P) -> F) -> u64
where
    P: Clone,
    F: std::future::Future<Output = store::Result<(u64, Option<P>)>>,
{
    let (mut total, mut after) = (0u64, start);
    loop {
        match batch(after.clone()).await {
            Ok((n, Some(last))) => {
                total += n;
                after = last;
            }
            Ok((_, None)) => return total,
            Err(e) => {
                tracing::warn!(error = %e, "Computing {what} matching keys failed; trying again in 10 s.");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
}

/// Re-encrypts every vault row not yet under the active vault key, in batches of `batch`, calling
/// `progress` with the running total. Safe to interrupt and run again.
pub async fn reseal_vault(
    store: &Store,
    keys: &Keys,
    batch: i64,
    progress: impl Fn(usize),
) -> Result<usize> {
    let reseal = |uan: &domain::Uan, sealed: &domain::Sealed| {
        let old = keys.vault_key(&sealed.key_id).ok_or_else(|| {
            domain::Invalid::new("unknown_key", format!("no vault key {}", sealed.key_id))
        })?;
        let aadhaar = old.open(sealed, uan)?;
        let nonce = crate::keys::random_bytes::<12>()
            .map_err(|e| domain::Invalid::new("rng", e.to_string()))?;
        Ok(keys.vault.seal(&aadhaar, uan, nonce))
    };
    let mut total = 0;
    loop {
        let n = store
            .reseal_vault_batch(keys.vault.id(), batch.max(1), &reseal)
            .await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
        progress(total);
    }
}
