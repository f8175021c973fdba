//! The six scheme adapters as the gateway holds them: built from `[schemes.*]`, pointed at the
//! simulators when a scheme has no URL of its own, and the translation of adapter errors into
//! answers (a scheme that is down is a 503 with `Retry-After`, never a 500).

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_core::{AdapterError, SchemeAdapter, SchemeId};
use adapter_myscheme::{CatalogueEntry, MyScheme};
use adapter_ncs::Ncs;
use adapter_pmjay::Pmjay;
use adapter_pmjjby::Pmjjby;
use adapter_pmsym::Pmsym;
use adapter_sidh::Sidh;

use crate::config;
use crate::problem::ApiError;

pub struct Adapters {
    ncs: Option<Ncs>,
    sidh: Option<Sidh>,
    myscheme: Option<MyScheme>,
    pmsym: Option<Pmsym>,
    pmjay: Option<Pmjay>,
    pmjjby: Option<Pmjjby>,
    /// Held only to read or store the copy, never across a fetch.
    catalogue: std::sync::Mutex<Catalogue>,
    /// Held by the one refresh in flight.
    catalogue_refresh: tokio::sync::Mutex<()>,
    catalogue_ttl: Duration,
}

/// The last catalogue fetched, and when a fetch last failed (not tried again for a while).
#[derive(Default)]
struct Catalogue {
    fetched: Option<(Instant, Arc<Vec<CatalogueEntry>>)>,
    failed_at: Option<Instant>,
}

/// How long a failed catalogue fetch is not repeated, and how long one may take.
const CATALOGUE_RETRY_AFTER: Duration = Duration::from_secs(30);
const CATALOGUE_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

impl Adapters {
    /// The adapters of `s`. `simulators` is the base URL of running simulators, for schemes with
    /// no `base_url` (their demo credentials are used unless the scheme's auth is configured).
    pub fn new(s: &config::Schemes, simulators: Option<&str>) -> anyhow::Result<Adapters> {
        let simulators = simulators
            .map(str::to_owned)
            .unwrap_or_else(|| s.simulators_url.clone());
        // A scheme with no URL, and no simulators to stand in, is not configured: its routes
        // answer 503 `scheme_not_configured`, never a fake.
        #[cfg(not(feature = "simulators"))]
        if !simulators.is_empty() {
            anyhow::bail!(
                "schemes.simulators_url: this build has no simulators (built without the `simulators` feature)"
            );
        }
        let cfg = |id: SchemeId| -> Option<adapter_core::UpstreamConfig> {
            let c = s.upstream(id).clone();
            if !c.base_url.is_empty() {
                return Some(c);
            }
            if simulators.is_empty() {
                return None;
            }
            Some(simulated(id, c, &simulators))
        };
        let err = |e: AdapterError| anyhow::anyhow!("{e}");
        Ok(Adapters {
            ncs: cfg(SchemeId::Ncs).map(Ncs::new).transpose().map_err(err)?,
            sidh: cfg(SchemeId::Sidh)
                .map(Sidh::new)
                .transpose()
                .map_err(err)?,
            myscheme: cfg(SchemeId::Myscheme)
                .map(MyScheme::new)
                .transpose()
                .map_err(err)?,
            pmsym: cfg(SchemeId::Pmsym)
                .map(Pmsym::new)
                .transpose()
                .map_err(err)?,
            pmjay: cfg(SchemeId::Pmjay)
                .map(Pmjay::new)
                .transpose()
                .map_err(err)?,
            pmjjby: cfg(SchemeId::Pmjjby)
                .map(Pmjjby::new)
                .transpose()
                .map_err(err)?,
            catalogue: std::sync::Mutex::new(Catalogue::default()),
            catalogue_refresh: tokio::sync::Mutex::new(()),
            catalogue_ttl: Duration::from_secs(s.catalogue_cache_secs),
        })
    }

    /// The scheme's adapter, or `scheme_not_configured` (503) when it has no URL here.
    pub fn get(&self, id: SchemeId) -> Result<&dyn SchemeAdapter, ApiError> {
        let adapter: Option<&dyn SchemeAdapter> = match id {
            SchemeId::Ncs => self.ncs.as_ref().map(|a| a as _),
            SchemeId::Sidh => self.sidh.as_ref().map(|a| a as _),
            SchemeId::Myscheme => self.myscheme.as_ref().map(|a| a as _),
            SchemeId::Pmsym => self.pmsym.as_ref().map(|a| a as _),
            SchemeId::Pmjay => self.pmjay.as_ref().map(|a| a as _),
            SchemeId::Pmjjby => self.pmjjby.as_ref().map(|a| a as _),
        };
        adapter.ok_or(ApiError::SchemeNotConfigured {
            scheme: id.as_str(),
        })
    }

    /// NCS, for its vacancies.
    pub fn ncs(&self) -> Result<&Ncs, ApiError> {
        self.ncs
            .as_ref()
            .ok_or(ApiError::SchemeNotConfigured { scheme: "ncs" })
    }

    /// The schemes with no URL here.
    pub fn not_configured(&self) -> Vec<SchemeId> {
        SchemeId::ALL
            .into_iter()
            .filter(|id| self.get(*id).is_err())
            .collect()
    }

    /// The myScheme catalogue, fetched at most once per `catalogue_cache_secs`. One refresh runs at
    /// a time, made by the request that found the copy stale (it waits for it, at most 10 s);
    /// every other request is served the last copy meanwhile, and while myScheme is down. A failed
    /// fetch is not repeated for 30 s. A caller with no copy at all waits for the refresh in flight.
    pub async fn catalogue(&self) -> Result<Arc<Vec<CatalogueEntry>>, ApiError> {
        let Some(myscheme) = &self.myscheme else {
            return Err(ApiError::SchemeNotConfigured { scheme: "myscheme" });
        };
        let (copy, due) = self.cached_catalogue();
        if !due {
            return copy.ok_or_else(catalogue_unavailable);
        }
        let _refreshing = match self.catalogue_refresh.try_lock() {
            Ok(guard) => {
                // Another refresh may have ended between the look and the lock.
                let (copy, due) = self.cached_catalogue();
                if !due {
                    return copy.ok_or_else(catalogue_unavailable);
                }
                guard
            }
            Err(_) => {
                if let Some(copy) = copy {
                    return Ok(copy);
                }
                // Nothing to serve yet: wait for the refresh in flight, then take what it left.
                drop(self.catalogue_refresh.lock().await);
                return self.cached_catalogue().0.ok_or_else(catalogue_unavailable);
            }
        };
        let fetched = tokio::time::timeout(CATALOGUE_FETCH_TIMEOUT, myscheme.catalogue()).await;
        let mut c = self.catalogue.lock().unwrap_or_else(|p| p.into_inner());
        match fetched {
            Ok(Ok(list)) => {
                let list = Arc::new(list);
                c.fetched = Some((Instant::now(), list.clone()));
                c.failed_at = None;
                return Ok(list);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "myScheme catalogue fetch failed."),
            Err(_) => tracing::warn!("myScheme catalogue fetch timed out."),
        }
        c.failed_at = Some(Instant::now());
        c.fetched
            .as_ref()
            .map(|(_, list)| list.clone())
            .ok_or_else(catalogue_unavailable)
    }

    /// The copy held, and whether a fetch is due (stale or none, and no failure in the last 30 s).
    fn cached_catalogue(&self) -> (Option<Arc<Vec<CatalogueEntry>>>, bool) {
        let c = self.catalogue.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = c
            .fetched
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.catalogue_ttl);
        let recently_failed = c
            .failed_at
            .is_some_and(|t| t.elapsed() < CATALOGUE_RETRY_AFTER);
        let copy = c.fetched.as_ref().map(|(_, list)| list.clone());
        (copy, !fresh && !recently_failed)
    }
}

/// A scheme reached at the simulators' `base/<id>`, with their demo credentials unless the
/// scheme's own auth is configured.
#[cfg(feature = "simulators")]
fn simulated(
    id: SchemeId,
    mut c: adapter_core::UpstreamConfig,
    base: &str,
) -> adapter_core::UpstreamConfig {
    let sim = simulators::upstream_config(
        id,
        &format!("{}/{id}", base.trim_end_matches('/')),
        &simulators::Credentials::default(),
    );
    c.base_url = sim.base_url;
    if c.auth == adapter_core::AuthConfig::None {
        c.auth = sim.auth;
    }
    c
}

#[cfg(not(feature = "simulators"))]
fn simulated(
    _: SchemeId,
    c: adapter_core::UpstreamConfig,
    _: &str,
) -> adapter_core::UpstreamConfig {
    c
}

fn catalogue_unavailable() -> ApiError {
    upstream_error(
        SchemeId::Myscheme,
        AdapterError::Timeout {
            upstream: "myscheme".into(),
        },
    )
}

/// The answer for an adapter failure (refusals are handled by the caller, which knows the rules).
pub fn upstream_error(scheme: SchemeId, e: AdapterError) -> ApiError {
    let scheme = scheme.as_str();
    match e {
        AdapterError::CircuitOpen { retry_in, .. } => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: retry_in.as_secs().max(1),
        },
        AdapterError::RateLimited { retry_after, .. } => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: retry_after.map(|d| d.as_secs().max(1)).unwrap_or(5),
        },
        ref transient if transient.retryable() => ApiError::SchemeUnavailable {
            scheme,
            detail: e.to_string(),
            retry_after: 5,
        },
        other => ApiError::BadGateway {
            scheme,
            detail: other.to_string(),
        },
    }
}
